"""Lambda tasks run by local Python handlers, with AWS Lambda's shapes.

Both ways a state machine calls Lambda work:

* ``"Resource": "arn:aws:lambda:us-east-1:123456789012:function:name"``: the handler
  receives the effective input and its return value is the task result;
* ``"Resource": "arn:aws:states:::lambda:invoke"`` with ``FunctionName`` (a name, a
  partial or full ARN, optionally ``:alias``) and ``Payload``: the result is Lambda's
  Invoke response, ``{"ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata",
  "StatusCode"}``.

A handler is ``handler(event, context)``; a plain function runs in the clock's bounded
executor (so a slow handler does not stall other branches), an ``async def`` handler runs
on the event loop itself (and may ``await asyncio.sleep(...)``, which the virtual clock
skips).  The event is a fresh copy of the payload (it went through JSON, as on AWS).
``context`` is a :class:`LambdaContext` with the attributes of Lambda's Python context;
``get_remaining_time_in_millis()`` reads the engine's clock.

A handler that raises fails the task the way Lambda's Python runtime reports it: error =
the exception's class name, cause = the JSON error object
``{"errorMessage", "errorType", "requestId", "stackTrace"}``.  Lambda's Python runtime
catches only ``Exception``: a handler that calls ``sys.exit()``, raises ``KeyboardInterrupt``
or any other ``BaseException`` ends the runtime process, and Lambda fails the invocation with
``Runtime.ExitError`` (``RequestId: <id> Error: Runtime exited without providing a reason``
for status 0, ``... Runtime exited with error: exit status 3``, ``... signal: interrupt``);
locally the task fails the same way and the process goes on.  (A ``KeyboardInterrupt`` in an
``inline`` or ``async`` handler, which run on the main thread, is taken for the user's Ctrl-C
and stops the run.)

A handler may return ``bytes`` (sent as the raw response, as Lambda's Python runtime does,
then parsed as JSON; bytes that are not UTF-8 text fail with ``Runtime.MarshalError``) or any
JSON value.  Anything else fails with ``Runtime.MarshalError`` and the runtime's cause,
``Unable to marshal response: <reason>``: objects JSON cannot hold (``Object of type set is
not JSON serializable``), and, where AWS's runtime would send text that is not JSON or that
Step Functions cannot keep, ``NaN``/``Infinity`` and strings with lone surrogates (a local
rule: the failure shows at the handler rather than as an engine error downstream).  Lambda's
own errors are :class:`StatesFailure` values with AWS's names and wording:

* ``Lambda.ResourceNotFoundException`` for a function nobody defined;
* ``Lambda.TooManyRequestsException`` (cause ``Rate Exceeded. (Service: AWSLambda; Status
  Code: 429; Error Code: TooManyRequestsException; ...)``) for an invocation over the
  function's ``concurrency`` cap: see *Concurrency* below;
* ``Sandbox.Timedout`` (cause ``{"errorMessage":"RequestId: <id> Error: Task timed out after
  3.00 seconds","errorType":"Sandbox.Timedout"}``, the Invoke response of a Lambda runtime
  that reports timeouts with an error type) for an invocation that outlives the function's
  ``timeout``.

**Time.**  A function's timeout runs on the engine's clock for everything that takes
modelled time: an ``async`` handler awaiting ``asyncio.sleep``, and a function's modelled
``duration_seconds``.  A synchronous handler runs in a thread while virtual time stands
still, so on the virtual clock its timeout is measured in wall time: at the deadline the
invocation fails with ``Sandbox.Timedout`` and the handler is *abandoned*: its thread, a
daemon thread of the clock's executor (:class:`~flowengine.engine.clock.HandlerThreads`), is
left to finish on its own (its result is dropped; Python cannot stop a thread), frees its
place in the executor at once, and never keeps the process alive.  ``inline`` handlers
cannot be interrupted at all.  On the real clock both are the same deadline.

**Concurrency.**  A function's ``concurrency`` (ReservedConcurrentExecutions) bounds its
invocations in flight across every execution of one engine.  An invocation is in flight
from the moment Lambda accepts it until its handler returns and its modelled
``duration_seconds`` (if any) has passed on the engine's clock.  An invocation that finds
the function at its cap is throttled at once, as a synchronous Invoke is on AWS, so the
flow's Retry and backoff absorb it.  Virtual time stands still while synchronous handlers
run, so with a plain ``def`` handler invocations overlap only while their threads run
together; give the function a ``duration_seconds`` (or write the handler ``async`` and
``await asyncio.sleep(...)``) to model how long an invocation really keeps its slot.  Each
engine counts, per function, the peak in flight and the throttles
(``engine.peak_concurrency``, ``engine.throttles``), and each execution its own
(``result.peak_concurrency``, ``result.throttles``).

**Environment.**  A function's ``environment`` is set in ``os.environ`` while its handler
runs and restored afterwards.  ``os.environ`` is one per process, so invocations whose
variables agree run side by side, while an invocation that needs a different value for a
variable another one holds waits until that one has finished (first come, first served):
two functions that give the same variable different values never overlap.  (On AWS each
function has its own process; code that reads its configuration at import time sees only
the variables of the process.)
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import importlib
import importlib.machinery
import inspect
import itertools
import json
import os
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from email.utils import formatdate
from typing import Any

from flowengine.engine.context import current_execution
from flowengine.model.failure import DATA_LIMIT_EXCEEDED, StatesFailure
from flowengine.engine.options import new_uuid
from flowengine.errors import HandlerError
from flowengine.engine.tasks import TaskRequest, TaskTarget

LAMBDA_INVOKE = "invoke"
_INVOKE_RESOURCES = ("lambda:invoke", "lambda:invoke.waitForTaskToken")
TOO_MANY_REQUESTS = "Lambda.TooManyRequestsException"
SANDBOX_TIMEDOUT = "Sandbox.Timedout"
RUNTIME_EXIT_ERROR = "Runtime.ExitError"
MARSHAL_ERROR = "Runtime.MarshalError"

Handler = Callable[[Any, Any], Any]


@dataclass(slots=True)
class LambdaFunction:
    """A local function: its handler and the settings Lambda would give it.

    * ``timeout_seconds``: the function's own timeout (``Sandbox.Timedout``; see the module
      docstring for synchronous handlers); None: no timeout;
    * ``memory_mb``: what ``context.memory_limit_in_mb`` reports (default 128);
    * ``concurrency``: the reserved concurrency cap; None: no cap (0 throttles every call);
    * ``duration_seconds``: how long an invocation takes in modelled time at least (it keeps
      its concurrency slot that long; the engine's clock skips the wait);
    * ``environment``: variables set while the handler runs.

    Given to ``Engine(handlers={name: LambdaFunction(...)})`` for a function the app also
    declares, the fields left None take the app's values, ``handler`` included: so
    ``LambdaFunction("Reserve", duration_seconds=0.2)`` keeps the app's handler, timeout and
    cap, and only models the duration.

    Tests import it from :mod:`flowengine.testing` (``handlers=`` of ``run_flow``,
    ``TestRuntime``, ``AppRuntime``; docs/testing.md, "Concurrency caps and throttling").  In
    an app file the same settings are a function's ``timeout``, ``memory``, ``concurrency``,
    ``local_duration`` and ``environment``.
    """

    name: str
    handler: Handler | None = None
    timeout_seconds: float | None = None
    memory_mb: int | None = None
    concurrency: int | None = None
    duration_seconds: float | None = None
    environment: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.handler is not None and not callable(self.handler):
            raise TypeError(f"the handler of function '{self.name}' must be callable, not {self.handler!r}")
        if self.concurrency is not None and (isinstance(self.concurrency, bool) or self.concurrency < 0):
            raise ValueError(f"the concurrency of function '{self.name}' must be 0 or more, not {self.concurrency!r}")
        for what in ("timeout_seconds", "duration_seconds"):
            value = getattr(self, what)
            if value is not None and value < 0:
                raise ValueError(f"the {what} of function '{self.name}' must be 0 or more, not {value!r}")

    def over(self, base: "LambdaFunction") -> "LambdaFunction":
        """This function's settings, with the ones left None taken from ``base``."""
        return LambdaFunction(**{f.name: (getattr(self, f.name) if getattr(self, f.name) is not None
                                          else getattr(base, f.name)) for f in fields(self)})


@dataclass(slots=True)
class LambdaContext:
    """The ``context`` argument of a handler (the attributes of Lambda's Python context).

    ``get_remaining_time_in_millis()`` counts down on the engine's clock to the function's
    timeout (on the virtual clock it stands still while a synchronous handler runs).
    """

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float | None = None
    _now: Callable[[], float] | None = None
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        if self.deadline is None or self._now is None:
            return 900_000  # no timeout: Lambda's longest
        return max(0, int((self.deadline - self._now()) * 1000))


def parse_function_name(value: str) -> tuple[str, str | None]:
    """``name`` | ``name:alias`` | ``123456789012:function:name[:alias]`` |
    ``arn:aws:lambda:region:acct:function:name[:alias]`` → (name, qualifier)."""
    parts = value.split(":")
    if value.startswith("arn:") and len(parts) >= 7:
        return parts[6], (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], (parts[3] if len(parts) > 3 else None)
    if len(parts) == 2:
        return parts[0], parts[1]
    return value, None


@contextlib.contextmanager
def _import_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """``variables`` in ``os.environ`` for the duration of an import, then as they were."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: Top-level module names imported from some app's code paths (safe to re-import from another app's).
_APP_MODULES: set[str] = set()


def import_handler(spec: str, code_paths: tuple[str, ...] | list[str], function: str = "",
                   environment: Mapping[str, str] | None = None) -> Handler:
    """Import ``package.module.function`` from the app's code paths only.

    The code paths go to the front of ``sys.path`` for the import (and stay there, so the
    handler's own imports keep working).  A module of the same name imported earlier from
    somewhere else (another app) is replaced.  Raises :class:`HandlerError` naming the
    function and the paths tried when the handler does not resolve there.

    ``environment`` (the function's variables) is in ``os.environ`` while the module
    imports, as on Lambda, where module-level code reads its configuration.  A module that
    fails to import (a syntax error, an exception at import time) is a :class:`HandlerError`
    too, located in the user's file.
    """
    module_name, _, attr = spec.rpartition(".")
    # As Lambda's Python runtime: ``dir/module`` is the module ``dir.module``, and a file name that
    # is no identifier (``buy-sell.py``) imports under that name.
    module_name = module_name.replace("/", ".")
    who = f"function '{function}' " if function else ""
    if not module_name or not attr or "" in module_name.split("."):
        raise HandlerError(f"the handler of {who}must be 'module.function', got {spec!r}")
    roots = [os.path.abspath(p) for p in code_paths]

    def inside(module: Any) -> bool:
        file = getattr(module, "__file__", None)
        if not file:
            return False
        where = os.path.abspath(file)
        return any(where.startswith(r + os.sep) for r in roots)

    top = module_name.split(".")[0]
    searched = ", ".join(roots) if roots else "none: the app declares no code paths"
    already = sys.modules.get(module_name)
    known = already is not None and inside(already)  # imported before, from the app's code
    if not known:
        importlib.invalidate_caches()  # a fresh search (costs ~1 ms: not for every bind)
    if not known and importlib.machinery.PathFinder.find_spec(top, roots) is None:
        # Not in the app's code: do not touch sys.modules (the name may be json, boto3 ...).
        owner = f" of function '{function}'" if function else ""
        installed = sys.modules.get(top)
        where = f"; '{top}' is {getattr(installed, '__file__', 'a built-in module')}, outside them" if installed else ""
        raise HandlerError(f"cannot import the handler {spec!r}{owner}: no module '{top}' in the app's code paths "
                           f"(searched the app's code paths: {searched}){where}")
    cached = sys.modules.get(module_name) or sys.modules.get(top)
    if cached is not None and not inside(cached):
        if top not in _APP_MODULES:
            raise HandlerError(
                f"the handler {spec!r} of {who}is in a module named like an installed one "
                f"({getattr(cached, '__file__', top)}): rename the app's module '{top}'")
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            if not inside(sys.modules[name]):
                del sys.modules[name]  # the same name from another app's code: this app's wins
    for p in reversed(roots):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    _APP_MODULES.add(top)
    owner = f" of function '{function}'" if function else ""
    try:
        with _import_environment(environment or {}):
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerError(f"cannot import the handler {spec!r}{owner}: {exc} "
                           f"(searched the app's code paths: {searched})") from exc
    except SyntaxError as exc:
        raise HandlerError(f"the handler module of {spec!r}{owner} does not parse: {exc.filename}:{exc.lineno}:"
                           f"{exc.offset or 1}: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - module-level code of the user's handler failed
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if any(f.filename.startswith(r) for r in roots)]
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        raise HandlerError(f"the handler module of {spec!r}{owner} raised while importing{where}: "
                           f"{type(exc).__name__}: {exc}") from None
    if not inside(module):
        raise HandlerError(
            f"the handler {spec!r} of {who}resolved to {getattr(module, '__file__', module_name)}, "
            f"outside the app's code paths ({searched})"
        )
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise HandlerError(
            f"the handler {spec!r} of {who}was not found: module {module_name!r} "
            f"({getattr(module, '__file__', '?')}) has no callable {attr!r} (searched the app's code paths: {searched})"
        )
    return handler



# -- the environment of running handlers ------------------------------------------------------


class _Environment:
    """``os.environ`` while handlers run: each invocation holds its function's variables.

    Holders of equal values share a variable (counted); an invocation needing a different
    value waits, first come first served, until the holders are gone.  Safe from the loop
    and from executor threads (a synchronous handler releases when its thread ends).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, list[Any]] = {}  # name → [value, holders]
        self._saved: dict[str, str | None] = {}  # name → the value before the first holder
        self._waiters: list[tuple[dict[str, str], asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def _fits(self, env: Mapping[str, str]) -> bool:
        held = self._held
        return all(k not in held or held[k][0] == v for k, v in env.items())

    def _take(self, env: Mapping[str, str]) -> None:
        for k, v in env.items():
            slot = self._held.get(k)
            if slot is None:
                self._saved[k] = os.environ.get(k)
                os.environ[k] = v
                self._held[k] = [v, 1]
            else:
                slot[1] += 1

    async def acquire(self, env: dict[str, str]) -> None:
        """Set ``env`` (waiting while another invocation holds different values)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._waiters and self._fits(env):
                self._take(env)
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((env, loop, future))
        try:
            await future
        except asyncio.CancelledError:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[2] is not future]
            if future.done() and not future.cancelled():
                self.release(env)  # granted just as we were cancelled: give it back
            raise

    def release(self, env: Mapping[str, str]) -> None:
        with self._lock:
            for k in env:
                slot = self._held[k]
                slot[1] -= 1
                if slot[1] == 0:
                    del self._held[k]
                    before = self._saved.pop(k)
                    if before is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = before
            while self._waiters and self._fits(self._waiters[0][0]):
                env_w, loop, future = self._waiters.pop(0)
                self._take(env_w)
                loop.call_soon_threadsafe(_grant, future, self, env_w)


def _grant(future: asyncio.Future[None], environment: _Environment, env: dict[str, str]) -> None:
    if future.done():  # the waiter was cancelled meanwhile
        environment.release(env)
    else:
        future.set_result(None)


ENVIRONMENT = _Environment()


# -- wall-clock deadlines for handlers running in threads -------------------------------------


class _WallDeadlines:
    """One daemon thread firing wall-clock deadlines into event loops.

    Virtual time stands still while a synchronous handler runs in a thread, so its timeout
    cannot be a timer of the virtual loop: this measures the thread's real running time.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, list[Any]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> list[Any]:
        entry = [loop, callback]
        when = time.monotonic() + seconds
        with self._cond:
            # Wake the thread only for a deadline earlier than the one it sleeps towards.
            wake = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._seq), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="flowengine-lambda-deadlines", daemon=True)
                self._thread.start()
            if wake:
                self._cond.notify()
        return entry

    @staticmethod
    def cancel(entry: list[Any]) -> None:
        entry.clear()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and not self._heap[0][2]:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                _, _, entry = heapq.heappop(self._heap)
                if entry:
                    loop, callback = entry
                    try:
                        loop.call_soon_threadsafe(callback)
                    except RuntimeError:  # the loop is closed
                        pass


_DEADLINES = _WallDeadlines()


class _WallTimeout(Exception):
    """A synchronous handler outlived its function's timeout in wall time."""


# -- the integration --------------------------------------------------------------------------


class LambdaIntegration:
    """Runs Lambda tasks with local handlers.  ``functions`` maps function names to
    :class:`LambdaFunction` (or bare callables).

    ``run_sync`` runs a synchronous handler off the loop (the clock's executor; None: call it
    inline); ``now`` is the engine's clock; ``wall_timeouts``: measure synchronous handlers'
    timeouts in wall time (the virtual clock, where time stands still while they run).
    """

    def __init__(self, functions: Mapping[str, LambdaFunction | Handler] | None = None, *,
                 run_sync: Callable[..., Any] | None = None, now: Callable[[], float] | None = None,
                 max_payload_bytes: int = 256 * 1024, wall_timeouts: bool = False) -> None:
        self.functions: dict[str, LambdaFunction] = {}
        self._is_async: dict[str, tuple[Handler, bool]] = {}
        for name, f in (functions or {}).items():
            self.add(name, f)
        self._run_sync = run_sync
        self._now = now
        self.max_payload_bytes = max_payload_bytes
        self.wall_timeouts = wall_timeouts
        #: per function: invocations in flight now, the most at once, throttled invocations
        self.in_flight: Counter[str] = Counter()
        self.peak_concurrency: Counter[str] = Counter()
        self.throttles: Counter[str] = Counter()

    def add(self, name: str, function: LambdaFunction | Handler) -> None:
        if not isinstance(function, LambdaFunction):
            function = LambdaFunction(name=name, handler=function)
        self.functions[name] = function
        self._is_async.pop(name, None)

    def _asynchronous(self, name: str, handler: Handler) -> bool:
        hit = self._is_async.get(name)
        if hit is None or hit[0] is not handler:
            hit = self._is_async[name] = (handler, inspect.iscoroutinefunction(handler)
                                          or inspect.iscoroutinefunction(type(handler).__call__))
        return hit[1]

    # -- TaskIntegration -----------------------------------------------------------------

    def describe(self, resource: str) -> TaskTarget | None:
        if resource.startswith("arn:") and ":states:::" in resource:
            action = resource.split(":::", 1)[1]
            if action in _INVOKE_RESOURCES:
                pattern = "waitForTaskToken" if action.endswith("waitForTaskToken") else ""
                return TaskTarget(resource_type="lambda", resource=LAMBDA_INVOKE, pattern=pattern)
            return None
        parts = resource.split(":")
        if resource.startswith("arn:") and len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
            return TaskTarget(resource_type="lambda", resource=resource, legacy_lambda=True)
        return None

    async def invoke(self, request: TaskRequest) -> Any:
        target = request.target
        if target is not None and target.legacy_lambda:
            name, _ = parse_function_name(request.resource)
            raw, _ = await self._call(name, request.payload, request, compact=False)
            return self._parse(raw, request.resource)
        params = request.payload if isinstance(request.payload, dict) else {}
        fn = params.get("FunctionName")
        if not isinstance(fn, str):
            raise StatesFailure("States.Runtime", "The lambda:invoke parameters must include a FunctionName string.")
        name, _ = parse_function_name(fn)
        payload = params.get("Payload")
        if payload is None:
            payload = {}  # an empty Invoke payload reaches a Python handler as {}
        elif isinstance(payload, str):
            # A string Payload is the request body itself: the function parses it as JSON.
            try:
                payload = json.loads(payload)
            except ValueError as exc:
                rid = new_uuid(request.rng)
                error = {"errorMessage": f"Unable to unmarshal input: {exc}", "errorType": "Runtime.UnmarshalError",
                         "requestId": rid, "stackTrace": []}
                raise StatesFailure("Runtime.UnmarshalError", _dumps(error, True)) from None
        raw, rid = await self._call(name, payload, request, compact=True)
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": self._parse(raw, "lambda"),
            "SdkHttpMetadata": _http_metadata(len(raw), rid, self._date(), request.rng),
            "SdkResponseMetadata": {"RequestId": rid},
            "StatusCode": 200,
        }

    # -- the call ------------------------------------------------------------------------

    def _date(self) -> str:
        return formatdate(self._now(), usegmt=True) if self._now is not None else formatdate(0, usegmt=True)

    def _parse(self, raw: bytes, resource_name: str) -> Any:
        if len(raw) > self.max_payload_bytes:
            raise StatesFailure(
                DATA_LIMIT_EXCEEDED,
                f"The state/task '{resource_name}' returned a result with a size exceeding the maximum number "
                "of bytes service limit.",
            )
        text = raw.decode("utf-8")  # checked by _marshal
        try:
            return json.loads(text, parse_constant=_not_json)
        except ValueError:
            return text

    async def _call(self, name: str, payload: Any, request: TaskRequest, *, compact: bool) -> tuple[bytes, str]:
        """Run the function; returns (raw response bytes, request id)."""
        function = self.functions.get(name)
        rid = new_uuid(request.rng)
        if function is None:
            arn = request.account.lambda_arn(name)
            raise StatesFailure(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: "
                f"ResourceNotFoundException; Request ID: {rid}; Proxy: null)",
            )
        if function.handler is None:
            raise HandlerError(f"function '{name}' has no handler")
        execution = current_execution.get()
        if execution is not None and execution.arn != request.execution_arn:
            execution = None  # not this execution's own call (an event source invoking, say)
        # Concurrency: the function's invocations in flight across every execution of the engine.
        in_flight = self.in_flight[name]
        if function.concurrency is not None and in_flight >= function.concurrency:
            self.throttles[name] += 1
            if execution is not None:
                if execution.throttles is None:
                    execution.throttles = Counter()
                execution.throttles[name] += 1
            raise StatesFailure(
                TOO_MANY_REQUESTS,
                f"Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; "
                f"Request ID: {rid}; Proxy: null)",
            )
        in_flight += 1
        self.in_flight[name] = in_flight
        if in_flight > self.peak_concurrency[name]:
            self.peak_concurrency[name] = in_flight
        if execution is not None:
            if execution.functions_in_flight is None:
                execution.functions_in_flight, execution.peak_concurrency = Counter(), Counter()
                if execution.throttles is None:
                    execution.throttles = Counter()
            mine = execution.functions_in_flight[name] + 1
            execution.functions_in_flight[name] = mine
            if mine > execution.peak_concurrency[name]:  # type: ignore[index]
                execution.peak_concurrency[name] = mine  # type: ignore[index]
        try:
            return await self._invocation(function, payload, request, rid, compact)
        finally:
            self.in_flight[name] -= 1
            if execution is not None:
                execution.functions_in_flight[name] -= 1  # type: ignore[index]

    async def _invocation(self, function: LambdaFunction, event: Any, request: TaskRequest, rid: str,
                          compact: bool) -> tuple[bytes, str]:
        now = self._now
        timeout = function.timeout_seconds
        start = now() if now is not None else 0.0
        context = LambdaContext(
            function_name=function.name,
            invoked_function_arn=request.account.lambda_arn(function.name),
            aws_request_id=rid,
            memory_limit_in_mb=function.memory_mb or 128,
            log_group_name=f"/aws/lambda/{function.name}",
            log_stream_name=_log_stream(start, rid),
            deadline=start + timeout if timeout is not None and now is not None else None,
            _now=now,
        )
        is_async = self._asynchronous(function.name, function.handler)  # type: ignore[arg-type]
        duration = function.duration_seconds
        modelled = is_async or bool(duration)  # takes time on the engine's clock
        # (the event is the engine's fresh copy: it went through JSON, as on AWS)
        try:
            if timeout is not None and modelled:
                try:
                    async with asyncio.timeout(timeout) as deadline:
                        ok, value = await self._run(function, event, context, is_async, timeout, start)
                except TimeoutError:
                    if not deadline.expired():
                        raise
                    raise _sandbox_timeout(rid, timeout, compact) from None
            else:
                ok, value = await self._run(function, event, context, is_async, timeout, start)
        except _WallTimeout:
            raise _sandbox_timeout(rid, timeout or 0.0, compact) from None
        if ok:
            return _marshal(value, rid, compact), rid
        if isinstance(value, _RuntimeExit):
            error = {"errorMessage": f"RequestId: {rid} Error: {value.reason}", "errorType": RUNTIME_EXIT_ERROR}
            raise StatesFailure(RUNTIME_EXIT_ERROR, _dumps(error, compact))
        error_type, message, stack = value
        error = {"errorMessage": message, "errorType": error_type, "requestId": rid, "stackTrace": stack}
        raise StatesFailure(error_type, _dumps(error, compact))

    async def _run(self, function: LambdaFunction, event: Any, context: LambdaContext, is_async: bool,
                   timeout: float | None, start: float) -> tuple[bool, Any]:
        """The handler's outcome ``(ok, value)``, then the rest of its modelled duration."""
        handler = function.handler
        env = function.environment
        if is_async:
            if env:
                await ENVIRONMENT.acquire(env)
            try:
                outcome = await _call_async(handler, event, context)  # type: ignore[arg-type]
            finally:
                if env:
                    ENVIRONMENT.release(env)
        elif self._run_sync is not None:
            if env:
                await ENVIRONMENT.acquire(env)  # released by the thread when the handler returns
            outcome = await self._in_thread(handler, event, context, env, timeout)  # type: ignore[arg-type]
        else:
            if env:
                await ENVIRONMENT.acquire(env)
            try:
                outcome = _call_sync(handler, event, context)  # type: ignore[arg-type]
            finally:
                if env:
                    ENVIRONMENT.release(env)
        duration = function.duration_seconds
        if duration and self._now is not None:
            rest = duration - (self._now() - start)
            if rest > 0:
                await asyncio.sleep(rest)
        return outcome

    async def _in_thread(self, handler: Handler, event: Any, context: LambdaContext, env: dict[str, str] | None,
                         timeout: float | None) -> tuple[bool, Any]:
        assert self._run_sync is not None
        thread_call = _ThreadCall(handler, event, context, env)
        try:
            return await self._await_thread(self._run_sync(thread_call), timeout)
        except BaseException:
            thread_call.abandon()  # the handler never started: give its environment back
            raise

    async def _await_thread(self, call: Any, timeout: float | None) -> tuple[bool, Any]:
        if timeout is None:
            return await call
        if not self.wall_timeouts:
            # A real clock: the timeout is an ordinary timer of the loop.
            try:
                async with asyncio.timeout(timeout) as deadline:
                    return await call
            except TimeoutError:
                if deadline.expired():
                    raise _WallTimeout() from None
                raise
        # The virtual clock: a wall-clock deadline cancels this task, as asyncio.timeout does.
        current = asyncio.current_task()
        assert current is not None
        fired = waiting = False

        def expire() -> None:  # on the loop
            nonlocal fired
            if waiting:
                fired = True
                current.cancel()

        entry = _DEADLINES.add(timeout, asyncio.get_running_loop(), expire)
        waiting = True
        try:
            return await call
        except asyncio.CancelledError:
            if fired and current.uncancel() == 0:  # our deadline, not a cancellation of the execution
                raise _WallTimeout() from None
            raise
        finally:
            waiting = False
            _DEADLINES.cancel(entry)


def _dumps(value: Any, compact: bool) -> str:
    return json.dumps(value, separators=(",", ":")) if compact else json.dumps(value)


#: flowengine's own package: its frames are left out of a handler's stack trace, as Lambda's
#: Python runtime leaves out its bootstrap's (a stand-in handler, such as the one of a function
#: on another runtime, then fails with its message alone).
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _error_tuple(exc: BaseException) -> tuple[str, str, list[str]]:
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop the runtime's own call frame
    frames = [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    return type(exc).__name__, str(exc), traceback.format_list(frames)


class _RuntimeExit:
    """A handler ended the runtime process (``sys.exit``, ``KeyboardInterrupt``, another
    ``BaseException``): what Lambda says about it (``Runtime.ExitError``)."""

    __slots__ = ("reason",)

    def __init__(self, exc: BaseException) -> None:
        if isinstance(exc, SystemExit):
            code = exc.code
            # What the interpreter does with it: None is 0, an int is the status (the OS keeps
            # its low byte), anything else is printed and the status is 1.
            status = 0 if code is None else (code & 0xFF if isinstance(code, int) else 1)
        elif isinstance(exc, KeyboardInterrupt):
            self.reason = "Runtime exited with error: signal: interrupt"  # Python re-raises SIGINT
            return
        else:
            status = 1  # an uncaught exception: traceback, exit status 1
        self.reason = ("Runtime exited without providing a reason" if status == 0
                       else f"Runtime exited with error: exit status {status}")


def _exit_outcome(exc: BaseException) -> tuple[bool, Any]:
    """The outcome of a handler that raised a ``BaseException`` other than ``Exception``."""
    if isinstance(exc, KeyboardInterrupt) and threading.current_thread() is threading.main_thread():
        raise exc  # on the main thread, most likely the user's Ctrl-C: stop the run
    return False, _RuntimeExit(exc)


def _call_sync(handler: Handler, event: Any, context: LambdaContext) -> tuple[bool, Any]:
    try:
        return True, handler(event, context)
    except Exception as exc:  # the handler's failure is the task's failure
        return False, _error_tuple(exc)
    except BaseException as exc:  # noqa: BLE001 - sys.exit() & co. end the runtime, not the engine
        return _exit_outcome(exc)


class _ThreadCall:
    """A synchronous handler call for the executor.  It releases the function's environment
    when the handler returns; if the caller stops waiting before the thread picks it up
    (:meth:`abandon`), it never runs and the environment is released at once."""

    __slots__ = ("_lock", "_state", "context", "env", "event", "handler")

    def __init__(self, handler: Handler, event: Any, context: LambdaContext, env: dict[str, str] | None) -> None:
        self.handler, self.event, self.context, self.env = handler, event, context, env
        self._lock = threading.Lock()
        self._state = 0  # 0 waiting for a thread, 1 running, 2 abandoned

    def __call__(self) -> tuple[bool, Any]:
        with self._lock:
            if self._state == 2:
                return False, ("Abandoned", "the invocation was abandoned before it started", [])
            self._state = 1
        try:
            return _call_sync(self.handler, self.event, self.context)
        finally:
            if self.env:
                ENVIRONMENT.release(self.env)

    def abandon(self) -> None:
        with self._lock:
            if self._state != 0:
                return
            self._state = 2
        if self.env:
            ENVIRONMENT.release(self.env)


async def _call_async(handler: Handler, event: Any, context: LambdaContext) -> tuple[bool, Any]:
    try:
        return True, await handler(event, context)
    except Exception as exc:
        return False, _error_tuple(exc)
    except asyncio.CancelledError:
        raise  # a timeout or the execution stopping, not the handler's doing
    except BaseException as exc:  # noqa: BLE001 - sys.exit() & co. end the runtime, not the engine
        return _exit_outcome(exc)


def _log_stream(ts: float, rid: str, _days: dict[int, str] = {}) -> str:  # noqa: B006 (a cache)
    """Lambda's stream name: ``2024/01/01/[$LATEST]`` and 32 hex digits."""
    day = int(ts // 86400)
    prefix = _days.get(day)
    if prefix is None:
        prefix = _days[day] = time.strftime("%Y/%m/%d", time.gmtime(day * 86400)) + "/[$LATEST]"
    return prefix + rid.replace("-", "")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _marshal(value: Any, rid: str, compact: bool) -> bytes:
    """The response bytes of a handler's return value, or ``Runtime.MarshalError`` (the Python
    runtime's ``Unable to marshal response: ...``) when it cannot be JSON the engine can keep."""
    try:
        if isinstance(value, (bytes, bytearray)):
            raw = bytes(value)  # sent as they are, as Lambda's Python runtime does
            text = raw.decode("utf-8")
            if "\\u" in text:  # escapes in JSON text may spell lone surrogates
                parsed: Any = None
                with contextlib.suppress(ValueError, RecursionError):  # not JSON: taken as a string
                    parsed = json.loads(text, parse_constant=_not_json)
                _check_text(parsed)
            return raw
        text = json.dumps(value, allow_nan=False)
        if "\\u" in text:  # non-ASCII text: every string must also be valid UTF-8
            _check_text(value)
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        error = {"errorMessage": f"Unable to marshal response: {exc}", "errorType": MARSHAL_ERROR,
                 "requestId": rid, "stackTrace": []}
        raise StatesFailure(MARSHAL_ERROR, _dumps(error, compact)) from None


def _check_text(value: Any) -> None:
    """Raise UnicodeEncodeError when a string in ``value`` holds a lone surrogate."""
    json.dumps(value, ensure_ascii=False).encode("utf-8")


def _sandbox_timeout(rid: str, seconds: float, compact: bool) -> StatesFailure:
    error = {"errorMessage": f"RequestId: {rid} Error: Task timed out after {seconds:.2f} seconds",
             "errorType": SANDBOX_TIMEDOUT}
    return StatesFailure(SANDBOX_TIMEDOUT, _dumps(error, compact))


def _http_metadata(length: int, rid: str, date: str, rng: Any) -> dict[str, Any]:
    trace = (f"Root=1-{rng.getrandbits(32):08x}-{rng.getrandbits(96):024x};Sampled=0;"
             f"Lineage=1:{rng.getrandbits(32):08x}:0")
    return {
        "AllHttpHeaders": {
            "X-Amz-Executed-Version": ["$LATEST"],
            "x-amzn-Remapped-Content-Length": ["0"],
            "Connection": ["keep-alive"],
            "x-amzn-RequestId": [rid],
            "Content-Length": [str(length)],
            "Date": [date],
            "X-Amzn-Trace-Id": [trace],
            "Content-Type": ["application/json"],
        },
        "HttpHeaders": {
            "Connection": "keep-alive",
            "Content-Length": str(length),
            "Content-Type": "application/json",
            "Date": date,
            "X-Amz-Executed-Version": "$LATEST",
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": rid,
            "X-Amzn-Trace-Id": trace,
        },
        "HttpStatusCode": 200,
    }

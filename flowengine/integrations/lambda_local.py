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

A handler that raises fails the task the way Lambda's Python runtime reports it: error =
the exception's class name, cause = the JSON error object
``{"errorMessage", "errorType", "requestId", "stackTrace"}``.  A handler may return
``bytes`` (sent as the raw response, then parsed as JSON) or any JSON value; anything
else fails with ``Runtime.MarshalError``.  Lambda's own errors
(``Lambda.ResourceNotFoundException`` for an unknown function, ``Lambda.TooManyRequestsException``
...) are :class:`StatesFailure` values with those names.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from flowengine.engine.failure import DATA_LIMIT_EXCEEDED, StatesFailure
from flowengine.engine.options import new_uuid
from flowengine.errors import HandlerError
from flowengine.integrations.base import TaskRequest, TaskTarget

LAMBDA_INVOKE = "invoke"
_INVOKE_RESOURCES = ("lambda:invoke", "lambda:invoke.waitForTaskToken")

Handler = Callable[[Any, Any], Any]


@dataclass(slots=True)
class LambdaFunction:
    """A local function: its handler and the settings Lambda would give it.

    ``timeout_seconds`` is the function's own timeout: an ``async`` handler that runs longer
    fails with ``Sandbox.Timedout`` as on AWS (a synchronous handler cannot be interrupted).
    """

    name: str
    handler: Handler
    timeout_seconds: float | None = None
    memory_mb: int = 128
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class LambdaContext:
    """The ``context`` argument of a handler (the attributes of Lambda's Python context)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float | None = None
    _now: Callable[[], float] | None = None

    def get_remaining_time_in_millis(self) -> int:
        if self.deadline is None or self._now is None:
            return 900_000
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


def import_handler(spec: str, code_paths: tuple[str, ...] | list[str], function: str = "") -> Handler:
    """Import ``package.module.function`` from the app's code paths only.

    The code paths go to the front of ``sys.path`` for the import (and stay there, so the
    handler's own imports keep working).  A module of the same name imported earlier from
    somewhere else (another app) is replaced.  Raises :class:`HandlerError` naming the
    function and the paths tried when the handler does not resolve there.
    """
    module_name, _, attr = spec.rpartition(".")
    who = f"function '{function}' " if function else ""
    if not module_name or not attr:
        raise HandlerError(f"the handler of {who}must be 'module.function', got {spec!r}")
    roots = [os.path.abspath(p) for p in code_paths]

    def inside(module: Any) -> bool:
        file = getattr(module, "__file__", None)
        if not file:
            return False
        where = os.path.abspath(file)
        return any(where.startswith(r + os.sep) for r in roots)

    top = module_name.split(".")[0]
    cached = sys.modules.get(module_name)
    if cached is not None and not inside(cached):
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            if not inside(sys.modules[name]):
                del sys.modules[name]
    for p in reversed(roots):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerError(f"cannot import the handler {spec!r} of {who}from {roots}: {exc}") from exc
    if not inside(module):
        raise HandlerError(
            f"the handler {spec!r} of {who}resolved to {getattr(module, '__file__', module_name)}, "
            f"outside the app's code paths {roots}"
        )
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise HandlerError(
            f"the handler {spec!r} of {who}was not found: module {module_name!r} "
            f"({getattr(module, '__file__', '?')}) has no callable {attr!r} (code paths: {roots})"
        )
    return handler


class LambdaIntegration:
    """Runs Lambda tasks with local handlers.  ``functions`` maps function names to
    :class:`LambdaFunction` (or bare callables)."""

    def __init__(self, functions: Mapping[str, LambdaFunction | Handler] | None = None, *,
                 run_sync: Callable[..., Any] | None = None, now: Callable[[], float] | None = None,
                 max_payload_bytes: int = 256 * 1024) -> None:
        self.functions: dict[str, LambdaFunction] = {}
        for name, f in (functions or {}).items():
            self.add(name, f)
        self._run_sync = run_sync
        self._now = now
        self.max_payload_bytes = max_payload_bytes

    def add(self, name: str, function: LambdaFunction | Handler) -> None:
        if not isinstance(function, LambdaFunction):
            function = LambdaFunction(name=name, handler=function)
        self.functions[name] = function

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
        text = raw.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
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
        event = payload  # the engine hands over a fresh copy (it went through JSON, as on AWS)
        now = self._now
        deadline = None
        if function.timeout_seconds is not None and now is not None:
            deadline = now() + function.timeout_seconds
        context = LambdaContext(
            function_name=function.name,
            invoked_function_arn=request.account.lambda_arn(function.name),
            aws_request_id=rid,
            memory_limit_in_mb=function.memory_mb,
            log_group_name=f"/aws/lambda/{function.name}",
            log_stream_name=f"{rid[:8]}/[$LATEST]{rid.replace('-', '')}",
            deadline=deadline,
            _now=now,
        )
        handler = function.handler
        if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__):
            coro = _call_async(handler, event, context)
            if function.timeout_seconds is not None:
                try:
                    ok, value = await asyncio.wait_for(coro, function.timeout_seconds)
                except asyncio.TimeoutError:
                    raise _sandbox_timeout(rid, function.timeout_seconds, compact) from None
            else:
                ok, value = await coro
        elif self._run_sync is not None:
            ok, value = await self._run_sync(_call_sync, handler, event, context)
        else:
            ok, value = _call_sync(handler, event, context)
        if ok:
            return _marshal(value, rid, compact), rid
        error_type, message, stack = value
        error = {"errorMessage": message, "errorType": error_type, "requestId": rid, "stackTrace": stack}
        raise StatesFailure(error_type, _dumps(error, compact))


def _dumps(value: Any, compact: bool) -> str:
    return json.dumps(value, separators=(",", ":")) if compact else json.dumps(value)


def _error_tuple(exc: BaseException) -> tuple[str, str, list[str]]:
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop the runtime's own call frame
    return type(exc).__name__, str(exc), traceback.format_list(frames)


def _call_sync(handler: Handler, event: Any, context: LambdaContext) -> tuple[bool, Any]:
    try:
        return True, handler(event, context)
    except Exception as exc:  # the handler's failure is the task's failure
        return False, _error_tuple(exc)


async def _call_async(handler: Handler, event: Any, context: LambdaContext) -> tuple[bool, Any]:
    try:
        return True, await handler(event, context)
    except Exception as exc:
        return False, _error_tuple(exc)


def _marshal(value: Any, rid: str, compact: bool) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return json.dumps(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        error = {"errorMessage": f"Unable to marshal response: {exc}", "errorType": "Runtime.MarshalError",
                 "requestId": rid, "stackTrace": []}
        raise StatesFailure("Runtime.MarshalError", _dumps(error, compact)) from None


def _sandbox_timeout(rid: str, seconds: float, compact: bool) -> StatesFailure:
    error = {"errorMessage": f"RequestId: {rid} Error: Task timed out after {seconds:.2f} seconds",
             "errorType": "Sandbox.Timedout"}
    return StatesFailure("Sandbox.Timedout", _dumps(error, compact))


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

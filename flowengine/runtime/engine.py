"""The bare interpreter with its default Task integrations: :class:`Engine`.

An :class:`Engine` owns a clock (virtual by default), one seeded random source, the task
integrations (local Lambda handlers first) and AWS-style limits.  Several executions
started on one engine run together on its clock: executions parked in Waits or backoffs
advance in timer order, instantly on the virtual clock::

    engine = Engine(handlers={"charge": charge})
    result = engine.run("app.yaml", input={"order": 1}, flow="checkout")

    async def scenario():
        a = await engine.start_execution(definition, {"n": 1})
        b = await engine.start_execution(definition, {"n": 2})
        return await a.result(), await b.result()
    engine.run_async(scenario())

:func:`flowengine.run` is the one-call form; it runs in an app runtime
(:class:`~flowengine.runtime.app.AppRuntime`), with the emulation that the bare engine lacks.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flowengine.dsl import files
from flowengine.dsl.app import (LoadedApp, from_value, load, substitute,
                                 substitution_names)
from flowengine.dsl.asl import build_state_machine
from flowengine.dsl.names import physical_name
from flowengine.engine.clock import Clock, VirtualClock
from flowengine.engine.compiler import Program, compile_machine
from flowengine.engine.context import current_execution
from flowengine.engine.execution import Execution, Listener
from flowengine.lang.jsonpath import dumps
from flowengine.engine.options import AccountInfo, EngineLimits, check_execution_name, new_uuid
from flowengine.engine.result import ExecutionResult
from flowengine.engine.scope import byte_size
from flowengine.errors import ExecutionInputError, FlowengineError, HandlerError, MockConfigError, ValidationError
from flowengine.engine.tasks import Integrations, TaskIntegration
from flowengine.engine.callbacks import PendingTask, TaskTokens
from flowengine.integrations.lambda_local import LambdaFunction, LambdaIntegration, import_handler
from flowengine.integrations.nested import NestedExecutions
from flowengine.model.app import App, Function
from flowengine.model.asl import StateMachine
from flowengine.model.runtimes import module_home
from flowengine.runtime import offline as offline_guard

T = TypeVar("T")
Source = Any  # path | dict | LoadedApp | App | StateMachine

@dataclass(frozen=True)
class Prepared:
    """A definition ready to run: its compiled program and how executions are named."""

    program: Program
    name: str
    express: bool
    app: App | None = None


class ExecutionHandle:
    """A started execution.  ``await handle.result()`` waits for it to finish."""

    def __init__(self, execution: Execution) -> None:
        self.execution = execution

    @property
    def arn(self) -> str:
        return self.execution.arn

    @property
    def status(self) -> str:
        return self.execution.status

    def done(self) -> bool:
        return self.execution.task is not None and self.execution.task.done()

    async def result(self) -> ExecutionResult:
        assert self.execution.task is not None
        return await asyncio.shield(self.execution.task)

    def stop(self, error: str | None = None, cause: str | None = None) -> bool:
        """Abort the execution (status ABORTED); False if it had already finished."""
        return self.execution.stop(error, cause)

    def snapshot(self) -> ExecutionResult:
        return self.execution.snapshot()


class Engine:
    """Runs executions locally.

    * ``clock``: :class:`VirtualClock` (default) or :class:`RealClock`.
    * ``seed``: seeds the one random source behind jitter, ``States.UUID``,
      ``States.MathRandom``, JSONata ``$random``/``$uuid`` and generated ids (execution
      names, request ids).  The default 0 makes every run reproducible; None draws a fresh seed.
    * ``handlers``: Lambda function names → Python callables or :class:`LambdaFunction`
      (they take precedence over an app's own handlers, so a test can stand one in).
    * ``sync_handlers``: ``"executor"`` (default) runs plain-function handlers in the clock's
      bounded thread pool, so a blocking handler does not stall other branches; virtual
      time stands still while one runs.  ``"inline"`` calls them on the loop: fastest, and
      the order of concurrent iterations is then fully deterministic.  ``async def``
      handlers always run on the loop.
    * ``limits``, ``account``: AWS's quotas and the account/region the run pretends to be in.
    * ``integrations``: extra Task integrations, tried before the local Lambda handlers (e.g.
      :class:`~flowengine.integrations.services.LocalServices` for emulated AWS services); one
      with a ``bind(engine)`` method is bound to this engine (its clock, account).
    * ``listeners``: :class:`~flowengine.engine.execution.Listener` observers of every execution.
    * ``validate``: run :func:`flowengine.validate.validate_app` on a source before its first run.
    * ``substitutions``: DefinitionSubstitutions values for ``${Name}`` placeholders (an app's
      ``${FunctionArn}``, ``${FlowArn}`` and ``${Flow}`` placeholders are filled in already).
    * ``mocks``: Task mocks by state name or path (a :class:`~flowengine.integrations.mocks.MockSet`,
      e.g. a MockConfigFile test case, or a dict of mocks) for every execution; ``mocks=`` on
      :meth:`run`/:meth:`start_execution` gives one execution its own.  A mocked Task never
      runs its integration (:mod:`flowengine.integrations.mock`).  A key naming no Task of
      the flow stops the run before it starts (``MockConfigError``); mocks an execution never
      used are ``result.warnings``.  ``require_all_mocks``: every Task must have a mock.
    * ``record``: keep a trace of each execution (``result.path``, ``result.state(...)``,
      ``result.retries``); off by default, since it costs a little on every state.
    * ``offline``: while this engine runs, a handler's AWS call is refused
      (:class:`~flowengine.runtime.offline.OfflineError`) unless an emulation answers it, as
      it does in an :class:`~flowengine.runtime.app.AppRuntime`.  Only hybrid runs
      (:func:`~flowengine.runtime.hybrid.run_hybrid`) pass False, on purpose.

    The bare engine emulates no resources: choose :class:`~flowengine.runtime.app.AppRuntime`
    (or :func:`flowengine.run`, ``run_flow``, ``TestRuntime``, which all sit on it) to run an
    app whose handlers or Tasks use AWS services.

    An app's functions run with their settings (timeout, memory, ``concurrency``, environment
    with ``${Resource}`` resolved by :func:`local_references`); ``handlers`` may replace a
    function's handler (a bare callable keeps the app's settings) or its settings
    (a :class:`LambdaFunction`, whose fields left None keep the app's).
    ``peak_concurrency``/``throttles`` count every execution's invocations per function.

    Built in: ``states:startExecution`` (``.sync``, ``.sync:2``, ``.waitForTaskToken``) starts
    flows of the apps this engine has run, or definitions given to
    :meth:`register_state_machine`, as nested executions on the same clock (``nested``);
    ``.waitForTaskToken`` tasks wait for :meth:`send_task_success` / :meth:`send_task_failure`
    / :meth:`send_task_heartbeat` (``callbacks``).
    """

    def __init__(self, *, clock: Clock | None = None, seed: int | None = 0,
                 handlers: Mapping[str, Callable[..., Any] | LambdaFunction] | None = None,
                 limits: EngineLimits | None = None, account: AccountInfo | None = None,
                 integrations: Sequence[TaskIntegration] = (), listeners: Sequence[Listener] = (),
                 sync_handlers: Literal["executor", "inline"] = "executor", validate: bool = True,
                 substitutions: Mapping[str, str] | None = None, mocks: Any = None,
                 require_all_mocks: bool = False, record: bool = False, offline: bool = True) -> None:
        self.offline = offline
        if offline:
            offline_guard.install()  # before any handler module is imported and makes its clients
        self._own_clock = clock is None
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.rng = random.Random(seed)
        self.limits = limits or EngineLimits()
        self.account = account or AccountInfo()
        self.listeners = list(listeners)
        self.validate = validate
        self.substitutions = dict(substitutions or {})
        self.lambdas = LambdaIntegration(
            run_sync=self.clock.run_sync if sync_handlers == "executor" else None,
            now=self.clock.now, max_payload_bytes=self.limits.max_payload_bytes,
            wall_timeouts=isinstance(self.clock, VirtualClock),
        )
        self._user_handlers: dict[str, Callable[..., Any] | LambdaFunction] = {}
        for name, fn in (handlers or {}).items():
            self.lambdas.add(name, fn)
            self._user_handlers[name] = fn
        self.record = record
        self.require_all_mocks = require_all_mocks
        self.mocks = _mock_set(mocks)
        self._mocked: dict[int, tuple[Any, Any]] = {}
        self._mocks_checked: dict[tuple[int, int], tuple[Any, Any]] = {}
        self.callbacks = TaskTokens()
        self.nested = NestedExecutions(self)
        for integration in integrations:
            bind = getattr(integration, "bind", None)
            if callable(bind):
                bind(self)
        self.integrations = Integrations([*integrations, self.nested, self.lambdas])
        self._prepared: dict[Any, tuple[Any, Prepared]] = {}
        self._bound: dict[int, App] = {}

    # -- definitions ---------------------------------------------------------------------

    def prepare(self, source: Source, flow: str | None = None) -> Prepared:
        """Load, validate and compile a source once.  The cache is keyed by the file (path
        and modification time), the definition's content (a dict), or the object itself
        (models, which are frozen)."""
        key: Any
        if isinstance(source, (str, os.PathLike)):
            path = os.path.abspath(source)
            key = ("file", path, os.stat(path).st_mtime_ns if os.path.exists(path) else 0, flow)
        elif isinstance(source, dict):
            key = ("dict", dumps(source), flow)
        else:
            key = ("object", id(source), flow)
        hit = self._prepared.get(key)
        if hit is not None and (key[0] != "object" or hit[0] is source):
            return hit[1]
        prepared = self._prepare(source, flow)
        self._prepared[key] = (source, prepared)
        if prepared.app is not None:
            # its flows can start each other (states:startExecution) by their local ARNs
            self.nested.register_app(source, prepared.app.flows)
        return prepared

    def _prepare(self, source: Source, flow: str | None) -> Prepared:
        if isinstance(source, StateMachine):
            return Prepared(compile_machine(source), "StateMachine", False)
        if isinstance(source, (str, os.PathLike)):
            loaded: LoadedApp | None = load(os.fspath(source))
        elif isinstance(source, dict):
            loaded = from_value(source, name="StateMachine")
        elif isinstance(source, LoadedApp):
            loaded = source
        elif isinstance(source, App):
            loaded = None
        else:
            raise TypeError(f"cannot run a {type(source).__name__}: give a path, a definition dict, "
                            "a LoadedApp, an App or a StateMachine")
        if loaded is not None and self.validate:
            _validate(loaded)
        app = loaded.app if loaded is not None else source
        if not app.flows:
            raise FlowengineError(f"'{app.name}' defines no flows to run")
        if flow is None:
            if len(app.flows) > 1:
                raise FlowengineError(f"'{app.name}' has several flows ({', '.join(app.flows)}): "
                                      "choose one with flow=...")
            flow = next(iter(app.flows))
        if flow not in app.flows:
            raise FlowengineError(f"'{app.name}' has no flow {flow!r} (flows: {', '.join(app.flows)})")
        f = app.flows[flow]
        self._bind_functions(app)
        machine = f.definition
        values = {f"{name}Arn": self.account.lambda_arn(name) for name in app.functions}
        for name in app.flows:
            values.setdefault(f"{name}Arn", self.account.state_machine_arn(name))
            values.setdefault(name, name)
        values.update(self.substitutions)
        names = substitution_names(f.asl)
        if any(n in values for n in names):
            machine = build_state_machine(substitute(f.asl, values))
        return Prepared(compile_machine(machine), flow, f.type == "EXPRESS", app)

    def _bind_functions(self, app: App) -> None:
        if self._bound.get(id(app)) is app:
            return  # bound already (the app runtime binds before the first run prepares)
        self._bound[id(app)] = app
        values = local_references(app, self.account)
        for name, function in app.functions.items():
            settings = LambdaFunction(
                name=name, timeout_seconds=function.timeout_seconds, memory_mb=function.memory_mb,
                concurrency=function.concurrency, duration_seconds=function.local_duration_seconds,
                environment={k: substitute(v, values) for k, v in function.environment.items()},
            )
            given = self._user_handlers.get(name)
            if isinstance(given, LambdaFunction):
                settings = given.over(settings)
            elif given is not None:
                settings.handler = given
            if settings.handler is None and not function.runtime.startswith("python"):
                settings.handler = _other_runtime(name, function.runtime)  # a template's Node.js/Java... function
            if settings.handler is None:
                try:
                    settings.handler = import_handler(function.handler, _code_paths(function, app), name,
                                                      settings.environment)
                except HandlerError as exc:
                    if self.mocks is None:
                        raise
                    # a mocked run: only a Task left unmocked reaches this function, and fails saying why
                    settings.handler = _unimportable(exc)
            self.lambdas.add(name, settings)

    @property
    def peak_concurrency(self) -> Counter[str]:
        """Per function: the most invocations in flight at once, across every execution."""
        return Counter(self.lambdas.peak_concurrency)

    @property
    def throttles(self) -> Counter[str]:
        """Per function: the invocations throttled at its concurrency cap, across every execution."""
        return Counter(self.lambdas.throttles)

    def bind_functions(self, app: App) -> None:
        """Bind an app's functions now, as the first run of one of its flows would: the app
        runtime invokes functions from triggers before (or without) any flow."""
        self._bind_functions(app)

    # -- executions ----------------------------------------------------------------------

    async def start_execution(self, source: Source, input: Any = None, *, name: str | None = None,
                              flow: str | None = None, express: bool | None = None,
                              mocks: Any = None) -> ExecutionHandle:
        """Start an execution on the engine's loop; returns at once with its handle."""
        prepared = self.prepare(source, flow)
        execution = self._new_execution(prepared, input, name, express, mocks=mocks)
        self._spawn(execution, asyncio.get_running_loop())
        return ExecutionHandle(execution)

    def submit(self, source: Source, input: Any = None, *, name: str | None = None, flow: str | None = None,
               express: bool | None = None, mocks: Any = None) -> ExecutionHandle:
        """Create an execution on the clock's loop without running the loop: it starts when the
        loop next runs (:meth:`run_async`, a ``TestRuntime``'s ``advance``).  From synchronous code."""
        prepared = self.prepare(source, flow)
        execution = self._new_execution(prepared, input, name, express, mocks=mocks)
        self._spawn(execution, self.clock.loop())
        return ExecutionHandle(execution)

    def _new_execution(self, prepared: Prepared, input: Any, name: str | None, express: bool | None, *,
                       mocks: Any = None) -> Execution:
        value, text = parse_input(input, self.limits)
        if name is not None:
            check_execution_name(name)
        # A child execution (states:startExecution) shares its parent's mocks, unchecked: their
        # keys name the parent's states as well as its own.
        parent = current_execution.get()
        nested = parent is not None
        if mocks is None and parent is not None:
            mocks = getattr(parent.integrations, "mock_set", None)
        mock_set = _mock_set(mocks) if mocks is not None else self.mocks
        if mock_set is None and self.require_all_mocks and not nested:
            mock_set = _mock_set({})  # no mocks at all: every Task is unmocked
        integrations: Any = self.integrations
        if mock_set is not None:
            if not nested:
                self._check_mocks(prepared, mock_set)
            integrations = self._mocked_integrations(mock_set)
        is_express = prepared.express if express is None else express
        rng = self.rng
        exec_name = name or new_uuid(rng)
        express_id = new_uuid(rng) if is_express else ""
        listeners = self.listeners
        trace = None
        if self.record:
            from flowengine.engine.trace import ExecutionTrace

            trace = ExecutionTrace(s.path or s.name for s in prepared.program.machine.walk())
            listeners = [*listeners, trace]
        execution = Execution(
            prepared.program, input_value=value, input_text=text, name=exec_name,
            state_machine_name=prepared.name, express=is_express, express_id=express_id,
            account=self.account, limits=self.limits, rng=rng, now=self.clock.now,
            integrations=integrations, listeners=listeners, callbacks=self.callbacks,
        )
        execution.trace = trace
        if mock_set is not None:
            # The executions whose mock calls count for "unused": the run and its children.
            family = getattr(parent, "mock_family", None) if nested else None
            if family is None:
                family = []
                if not nested:
                    execution.mock_set = mock_set  # type: ignore[attr-defined]
            family.append(execution.arn)
            execution.mock_family = family  # type: ignore[attr-defined]
        return execution

    def _spawn(self, execution: Execution, loop: asyncio.AbstractEventLoop) -> None:
        mock_set = getattr(execution, "mock_set", None)
        execution.task = loop.create_task(
            execution.run() if mock_set is None else self._run_mocked(execution, mock_set))

    async def _run_mocked(self, execution: Execution, mock_set: Any) -> ExecutionResult:
        from flowengine.integrations.mock import unused_mocks

        result = await execution.run()
        unused = unused_mocks(mock_set, getattr(execution, "mock_family", [execution.arn]))
        if not unused:
            return result
        execution.warnings.extend(unused)
        return execution.snapshot()

    def _mocked_integrations(self, mock_set: Any) -> Any:
        from flowengine.integrations.mock import MockedIntegrations

        hit = self._mocked.get(id(mock_set))
        if hit is None or hit[0] is not mock_set:
            hit = self._mocked[id(mock_set)] = (mock_set, MockedIntegrations(self.integrations, mock_set))
        return hit[1]

    def _check_mocks(self, prepared: Prepared, mock_set: Any) -> None:
        key = (id(prepared), id(mock_set))
        hit = self._mocks_checked.get(key)
        if hit is not None and hit[0] is prepared and hit[1] is mock_set:
            return
        from flowengine.integrations.mock import check_mocks

        errors = check_mocks(mock_set, prepared.program.machine, require_all=self.require_all_mocks)
        if errors:
            raise MockConfigError(errors)
        self._mocks_checked[key] = (prepared, mock_set)

    def run(self, source: Source, input: Any = None, *, name: str | None = None, flow: str | None = None,
            express: bool | None = None, mocks: Any = None) -> ExecutionResult:
        """Run one execution to its end (synchronously) and return its result."""
        prepared = self.prepare(source, flow)
        execution = self._new_execution(prepared, input, name, express, mocks=mocks)

        async def main() -> ExecutionResult:
            self._spawn(execution, asyncio.get_running_loop())
            assert execution.task is not None
            return await execution.task

        return self.run_async(main())

    # -- callbacks and nested executions ----------------------------------------------------

    def send_task_success(self, token: str, output: Any) -> None:
        """SendTaskSuccess: the token's task succeeds with ``output`` (a JSON value, or JSON
        text as AWS takes it).  Safe from any thread.  Raises ``InvalidToken``,
        ``TaskTimedOut``, ``TaskDoesNotExist`` or ``InvalidOutput``
        (:mod:`flowengine.engine.callbacks`)."""
        self.callbacks.send_success(token, output)

    def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        """SendTaskFailure: the token's task fails with ``error``/``cause``."""
        self.callbacks.send_failure(token, error, cause)

    def send_task_heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: the token's task's HeartbeatSeconds start over."""
        self.callbacks.send_heartbeat(token)

    def pending_tokens(self) -> list[PendingTask]:
        """The ``.waitForTaskToken`` tasks waiting for an answer now."""
        return self.callbacks.pending()

    def on_task_token(self, listener: Callable[[PendingTask], Any]) -> None:
        """Call ``listener(pending)`` on the loop as each ``.waitForTaskToken`` task starts waiting."""
        self.callbacks.on_token(listener)

    async def wait_for_task(self, state: str | None = None) -> PendingTask:
        """(async) The first task waiting for its token (in ``state``: name or path), waiting for one."""
        return await self.callbacks.next_pending(state)

    def register_state_machine(self, name: str, source: Source, flow: str | None = None) -> str:
        """Let ``states:startExecution`` start ``source`` as the state machine ``name`` (a name
        or a full ARN); returns its ARN.  An app's own flows are registered when it first runs."""
        arn = name if name.startswith("arn:") else self.account.state_machine_arn(name)
        self.nested.register(arn, source, flow)
        return arn

    def run_async(self, awaitable: Awaitable[T]) -> T:
        """Drive a coroutine on the engine's clock (from synchronous code)."""
        if not self.offline:
            return self.clock.run(awaitable)
        with offline_guard.guarded():
            return self.clock.run(awaitable)

    def close(self) -> None:
        """Release the engine's clock (when the engine created it)."""
        if self._own_clock:
            self.clock.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class UnsupportedRuntime(Exception):
    """Raised by a function whose runtime is not Python (from a SAM template) when invoked."""


def _other_runtime(name: str, runtime: str) -> Callable[..., Any]:
    """The local stand-in of a function flowengine cannot run: it fails every invocation,
    saying so; mock the Tasks that call it."""
    def handler(event: Any, context: Any) -> Any:
        raise UnsupportedRuntime(f"function '{name}' runs {runtime}: flowengine runs Python handlers only "
                                 "(mock the Task that calls it: flowengine mocks scaffold)")
    return handler


def _unimportable(error: HandlerError) -> Callable[..., Any]:
    """The stand-in of a handler that could not be imported, in a mocked run: it fails
    every invocation with the import problem."""
    def handler(event: Any, context: Any) -> Any:
        raise error
    return handler


def read_input_option(text: str | None) -> Any:
    """The value of a command's ``--input``: JSON text, or ``@file.json``; ``{}`` when absent.
    Raises :class:`ExecutionInputError` with a one-line message naming the option."""
    from flowengine.dsl import files

    if text is None:
        return {}
    source = None
    if text.startswith("@"):
        source = text[1:]
        try:  # regular files only, the bytes read capped
            text = files.read_text(source)
        except files.FileProblem as exc:
            raise ExecutionInputError(f"--input {source}: {'not a text file' if exc.code == 'FE102' else exc.problem}"
                                      ) from None
    try:
        return files.loads(text)  # strict: no NaN/Infinity, huge integers or lone surrogates
    except RecursionError:
        where = "--input is" if source is None else f"--input {source}:"
        raise ExecutionInputError(f"{where} nested too deeply to parse") from None
    except json.JSONDecodeError as exc:
        if source is not None:
            raise ExecutionInputError(f"--input {source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        raise ExecutionInputError(
            f"--input is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            "(hint: quote the whole object, e.g. --input '{\"orderId\": \"o-1\"}')"
        ) from None


def _code_paths(function: Function, app: App) -> tuple[str, ...]:
    """Where a function's handler imports from: its own code (a template's CodeUri, an app
    file's ``code_uri``), else the first of the app's ``code`` directories that holds its
    module, which is what compile packages for it.  Two functions whose ``app.py`` live in
    different directories each get their own, as on Lambda."""
    if function.code_paths:
        return function.code_paths
    if len(app.code_paths) > 1:
        home = module_home(function.handler, app.code_paths)
        if home is not None:
            return (home,)
    return app.code_paths


def parse_input(value: Any, limits: EngineLimits) -> tuple[Any, str]:
    """Execution input → (fresh JSON value, JSON text).  Text (``str``/``bytes``) is parsed as
    JSON, as StartExecution does; None means ``{}``.  Raises :class:`ExecutionInputError`."""
    if value is None:
        value = {}
    elif isinstance(value, (str, bytes, bytearray)):
        try:
            value = files.loads(value)  # strict, as AWS: no NaN, no lone surrogates, no giant numbers
        except RecursionError:
            raise ExecutionInputError("the execution input is nested too deeply to parse") from None
        except ValueError as exc:
            raise ExecutionInputError(f"the execution input is not valid JSON: {exc}") from None
    try:
        text = dumps(value)
        fresh = files.loads(text)  # a value given as Python objects meets the same rules
    except RecursionError:
        raise ExecutionInputError("the execution input is nested too deeply to parse") from None
    except (TypeError, ValueError) as exc:
        raise ExecutionInputError(f"the execution input is not JSON: {exc}") from None
    if byte_size(text) > limits.max_payload_bytes:
        raise ExecutionInputError(
            f"the execution input is {byte_size(text)} bytes, over the {limits.max_payload_bytes}-byte payload limit"
        )
    return fresh, text


def _validate(loaded: LoadedApp) -> None:
    from flowengine.validate import validate_app  # imported on first use (networkx)

    errors = [d for d in validate_app(loaded) if d.severity == "error"]
    if errors:
        raise ValidationError(errors)


def _mock_set(mocks: Any) -> Any:
    """``mocks=``: None, a MockSet, or a mapping of state names/paths to mocks."""
    if mocks is None:
        return None
    from flowengine.integrations.mocks import as_mock_set

    return as_mock_set(mocks)


def local_references(app: App, account: AccountInfo) -> dict[str, str]:
    """What each ``${X}`` of an app resolves to locally (docs/app-file.md, References), with
    the local names the app runtime gives its emulated resources (``<app>-<resource>``): a
    bucket, table or event bus by its name, a queue by its URL, a topic by its ARN, a
    function by its name, a flow by its state machine name, and ``${XArn}`` by X's ARN."""
    part, region, acct = account.partition, account.region, account.account
    values: dict[str, str] = {}
    for name, resource in app.resources.items():
        kind = resource.kind
        local = physical_name(app.name, name, kind, resource.properties,
                              fifo=kind == "queue" and resource.properties.get("fifo") is True)
        if kind == "bucket":
            address, arn = local, f"arn:{part}:s3:::{local}"
        elif kind == "queue":
            address, arn = f"https://sqs.{region}.amazonaws.com/{acct}/{local}", f"arn:{part}:sqs:{region}:{acct}:{local}"
        elif kind == "topic":
            address = arn = f"arn:{part}:sns:{region}:{acct}:{local}"
        elif kind == "table":
            address, arn = local, f"arn:{part}:dynamodb:{region}:{acct}:table/{local}"
        elif kind == "event_bus":
            address, arn = local, f"arn:{part}:events:{region}:{acct}:event-bus/{local}"
        else:
            continue
        values[name], values[f"{name}Arn"] = address, arn
    for name in app.flows:
        values.setdefault(name, name)
        values.setdefault(f"{name}Arn", account.state_machine_arn(name))
    for name in app.functions:
        values[name] = name
        values[f"{name}Arn"] = account.lambda_arn(name)
    return values


__all__ = ["Engine", "ExecutionHandle", "Prepared", "local_references", "parse_input", "read_input_option"]

"""The local engine's entry points: :class:`Engine` and :func:`run`.

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

:func:`run` is the one-call form (a fresh engine per call).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flowengine.dsl.app import LoadedApp, from_value, load, substitute, substitution_names
from flowengine.dsl.asl import build_state_machine
from flowengine.engine.clock import Clock, VirtualClock
from flowengine.engine.compiler import Program, compile_machine
from flowengine.engine.execution import Execution, Listener
from flowengine.engine.jsonpath import dumps
from flowengine.engine.options import AccountInfo, EngineLimits, new_uuid
from flowengine.engine.result import ExecutionResult
from flowengine.engine.scope import byte_size
from flowengine.errors import ExecutionInputError, FlowengineError, ValidationError
from flowengine.integrations.base import Integrations, TaskIntegration
from flowengine.integrations.lambda_local import LambdaFunction, LambdaIntegration, import_handler
from flowengine.model.app import App
from flowengine.model.asl import StateMachine

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
    * ``integrations``: extra Task integrations, tried before the local Lambda handlers.
    * ``listeners``: :class:`~flowengine.engine.execution.Listener` observers of every execution.
    * ``validate``: run :func:`flowengine.validate.validate_app` on a source before its first run.
    * ``substitutions``: DefinitionSubstitutions values for ``${Name}`` placeholders (an app's
      ``${FunctionArn}`` placeholders are filled in already).
    """

    def __init__(self, *, clock: Clock | None = None, seed: int | None = 0,
                 handlers: Mapping[str, Callable[..., Any] | LambdaFunction] | None = None,
                 limits: EngineLimits | None = None, account: AccountInfo | None = None,
                 integrations: Sequence[TaskIntegration] = (), listeners: Sequence[Listener] = (),
                 sync_handlers: Literal["executor", "inline"] = "executor", validate: bool = True,
                 substitutions: Mapping[str, str] | None = None) -> None:
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
        )
        self._user_handlers = set()
        for name, fn in (handlers or {}).items():
            self.lambdas.add(name, fn)
            self._user_handlers.add(name)
        self.integrations = Integrations([*integrations, self.lambdas])
        self._prepared: dict[Any, tuple[Any, Prepared]] = {}

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
        values.update(self.substitutions)
        names = substitution_names(f.asl)
        if any(n in values for n in names):
            machine = build_state_machine(substitute(f.asl, values))
        return Prepared(compile_machine(machine), flow, f.type == "EXPRESS", app)

    def _bind_functions(self, app: App) -> None:
        for name, function in app.functions.items():
            if name in self._user_handlers:
                continue
            handler = import_handler(function.handler, app.code_paths, name)
            self.lambdas.add(name, LambdaFunction(
                name=name, handler=handler, timeout_seconds=function.timeout_seconds,
                memory_mb=function.memory_mb, environment=dict(function.environment),
            ))

    # -- executions ----------------------------------------------------------------------

    async def start_execution(self, source: Source, input: Any = None, *, name: str | None = None,
                              flow: str | None = None, express: bool | None = None) -> ExecutionHandle:
        """Start an execution on the engine's loop; returns at once with its handle."""
        prepared = self.prepare(source, flow)
        execution = self._new_execution(prepared, input, name, express)
        execution.task = asyncio.get_running_loop().create_task(execution.run())
        return ExecutionHandle(execution)

    def _new_execution(self, prepared: Prepared, input: Any, name: str | None, express: bool | None) -> Execution:
        value, text = parse_input(input, self.limits)
        is_express = prepared.express if express is None else express
        rng = self.rng
        exec_name = name or new_uuid(rng)
        express_id = new_uuid(rng) if is_express else ""
        execution = Execution(
            prepared.program, input_value=value, input_text=text, name=exec_name,
            state_machine_name=prepared.name, express=is_express, express_id=express_id,
            account=self.account, limits=self.limits, rng=rng, now=self.clock.now,
            integrations=self.integrations, listeners=self.listeners,
        )
        return execution

    def run(self, source: Source, input: Any = None, *, name: str | None = None, flow: str | None = None,
            express: bool | None = None) -> ExecutionResult:
        """Run one execution to its end (synchronously) and return its result."""
        prepared = self.prepare(source, flow)
        execution = self._new_execution(prepared, input, name, express)

        async def main() -> ExecutionResult:
            execution.task = asyncio.get_running_loop().create_task(execution.run())
            return await execution.task

        return self.run_async(main())

    def run_async(self, awaitable: Awaitable[T]) -> T:
        """Drive a coroutine on the engine's clock (from synchronous code)."""
        return self.clock.run(awaitable)

    def close(self) -> None:
        """Release the engine's clock (when the engine created it)."""
        if self._own_clock:
            self.clock.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def parse_input(value: Any, limits: EngineLimits) -> tuple[Any, str]:
    """Execution input → (fresh JSON value, JSON text).  Text (``str``/``bytes``) is parsed as
    JSON, as StartExecution does; None means ``{}``.  Raises :class:`ExecutionInputError`."""
    if value is None:
        value = {}
    elif isinstance(value, (str, bytes, bytearray)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ExecutionInputError(f"the execution input is not valid JSON: {exc}") from None
    try:
        text = dumps(value)
    except (TypeError, ValueError) as exc:
        raise ExecutionInputError(f"the execution input is not JSON-serializable: {exc}") from None
    if byte_size(text) > limits.max_payload_bytes:
        raise ExecutionInputError(
            f"the execution input is {byte_size(text)} bytes, over the {limits.max_payload_bytes}-byte payload limit"
        )
    return json.loads(text), text


def _validate(loaded: LoadedApp) -> None:
    from flowengine.validate import validate_app  # imported on first use (networkx)

    errors = [d for d in validate_app(loaded) if d.severity == "error"]
    if errors:
        raise ValidationError(errors)


_ENGINE_OPTIONS = {"clock", "seed", "handlers", "limits", "account", "integrations", "listeners", "sync_handlers",
                   "validate", "substitutions"}


def run(source: Source, *, input: Any = None, flow: str | None = None, name: str | None = None,
        express: bool | None = None, **options: Any) -> ExecutionResult:
    """Run a flow locally and return its :class:`ExecutionResult`.

    ``source``: a path (app file or ASL JSON/YAML), a definition dict, a ``LoadedApp``/``App``
    or a ``StateMachine``.  ``options`` are :class:`Engine`'s (``handlers``, ``clock``,
    ``seed``, ``limits``, ``account``, ...).  Raises ``ValidationError`` for a definition
    with errors, ``DefinitionError`` for one that cannot compile (with ``validate=False``),
    ``ExecutionInputError`` for input that is not JSON, ``HandlerError`` when a function's
    handler cannot be imported.  A failed execution is not an exception: see ``status``,
    ``error`` and ``cause``.
    """
    unknown = set(options) - _ENGINE_OPTIONS
    if unknown:
        raise TypeError(f"unknown option(s) for run(): {', '.join(sorted(unknown))}")
    with Engine(**options) as engine:
        return engine.run(source, input, name=name, flow=flow, express=express)


__all__ = ["Engine", "ExecutionHandle", "Prepared", "parse_input", "run"]

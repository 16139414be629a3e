"""The app runtime: every flow, function, resource and trigger of an app, running together.

Choose :class:`AppRuntime` to test or demo an app as a whole: an object put into a bucket
starts a flow, a message on a queue invokes a function, a schedule fires, and you assert on
what happened::

    with AppRuntime("definitions/upload-pipeline.yaml") as rt:
        s3 = rt.client("s3")                                   # or plain boto3.client("s3")
        s3.put_object(Bucket=rt.name("Uploads"), Key="incoming/a.json", Body=b'{"title": "A"}')
        assert rt.run_until_idle()
        [run] = rt.executions("ProcessUpload")
        assert run.status == "SUCCEEDED"
        items = rt.client("dynamodb").scan(TableName=rt.name("Documents"))["Items"]

One clock and one :class:`~flowengine.runtime.engine.Engine` run everything, so a
function's concurrency cap holds across every execution and every trigger.  The resources
are moto's in-process emulations (:mod:`flowengine.events.emulation`); handlers use plain
boto3.  Nothing runs between calls: :meth:`AppRuntime.run_until_idle`,
:meth:`~AppRuntime.advance`, :meth:`~AppRuntime.wait` and :meth:`~AppRuntime.invoke` drive
the clock (virtual by default, so hours pass in milliseconds).

Triggers behave as on AWS (docs/runtime.md has the details): S3 notifications and S3 events
through EventBridge with their filters; SQS event source mappings with batches, the batching
window, visibility timeouts, partial batch failures and the dead-letter queue; SNS
subscriptions with filter policies; EventBridge rules on the default or a custom bus;
``rate``/``cron``/``at`` schedules; Lambda's asynchronous retries; and recursive loop
detection (:mod:`flowengine.events.recursion`).  :attr:`AppRuntime.log` records what
happened, in order, with virtual timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as _dt
import functools
import json
import math
import os
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from flowengine.dsl import files
from flowengine.dsl.app import LoadedApp, from_value, load, substitute
from flowengine.engine.clock import Clock, VirtualClock, to_datetime
from flowengine.engine.execution import Execution, Listener
from flowengine.model.failure import StatesFailure
from flowengine.engine.options import AccountInfo, EngineLimits
from flowengine.engine.result import ExecutionResult
from flowengine.runtime.engine import Engine, ExecutionHandle
from flowengine.errors import FlowengineError, ValidationError
from flowengine.events.api import ApiSource
from flowengine.events.emulation import EmulatedResource, Emulation, ObservedCall
from flowengine.events.eventbridge import EventBridgeSource
from flowengine.events.log import THROTTLED, EventLog, Invocation, LogRecord
from flowengine.events.s3 import S3Source
from flowengine.events.schedules import ScheduleSource, ScheduleState
from flowengine.events.sns import SnsSource
from flowengine.events.source import EventError
from flowengine.events.sqs import SQS_CONCURRENT_BATCHES, QueuePoller, SqsSource  # noqa: F401 (re-exported)
from flowengine.events.streams import StreamPoller, StreamSource
from flowengine.events.recursion import DEFAULT_RECURSION_LIMIT, Lineage, RecursionGuard, RecursionStop, current_lineage
from flowengine.events.routing import BusRule, Route, Router
from flowengine.engine.tasks import TaskIntegration, TaskRequest, TaskTarget
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.model.app import App
from flowengine.model.asl import StateMachine
from flowengine.runtime import offline, stepfunctions

#: Lambda's asynchronous invocation: retries after a function error (MaximumRetryAttempts).
ASYNC_RETRIES = 2
#: ... and how long it keeps retrying a throttled event (MaximumEventAgeInSeconds).
MAX_EVENT_AGE = _dt.timedelta(hours=6)
_LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


class InvocationError(FlowengineError):
    """A function invoked with :meth:`AppRuntime.invoke` failed; ``error``/``cause`` as Lambda reports them."""

    def __init__(self, function: str, error: str, cause: str | None) -> None:
        self.function, self.error, self.cause = function, error, cause
        super().__init__(f"function {function} failed: {error}" + (f": {cause}" if cause else ""))


# --- the runtime ---------------------------------------------------------------------------------


class AppRuntime(S3Source, SqsSource, SnsSource, StreamSource, EventBridgeSource, ScheduleSource, ApiSource):
    """Runs an app locally: its resources in moto, its flows and functions on one engine and
    one clock, its triggers as AWS wires them.  Use it as a context manager.

    * ``app``: what to run: an app file or a plain ASL file (JSON or YAML) path, a definition
      dict, a :class:`~flowengine.dsl.app.LoadedApp`, an :class:`~flowengine.model.app.App`,
      a :class:`~flowengine.model.asl.StateMachine`, or None (no app: start definitions with
      :meth:`start_execution`).  Whatever it is, the emulation runs: an app with no
      resources still meets moto, never a real account.
    * ``clock``: :class:`~flowengine.engine.clock.VirtualClock` (default) or ``RealClock``.
    * ``seed``: seeds the engine, the event payloads and moto's ids (None: fresh each run).
    * ``handlers``: stand-ins for the app's handlers (name → callable or
      :class:`~flowengine.integrations.lambda_local.LambdaFunction`), as for the engine.
    * ``recursion_limit``: how often a target may run in one chain (16 as on AWS; None: never stop).
    * ``async_retries``, ``max_event_age``: Lambda's asynchronous retry settings.
    * ``limits``, ``account``, ``integrations``, ``listeners``, ``sync_handlers``: the
      engine's options (:class:`~flowengine.runtime.engine.Engine`).
    * ``mocks``, ``require_all_mocks``, ``record``: as for the engine — Task mocks for every
      execution, and a trace of each execution (``result.path``, ``result.state(...)``).
    * ``validate``: refuse an app with validation errors (``ValidationError``).
    * ``substitutions``: values for ``${Name}`` placeholders, over the ones the emulation
      gives the app's resources, functions and flows (DefinitionSubstitutions of plain ASL).

    Every local entry point is a thin layer over this class: the CLI, :func:`flowengine.run`,
    :func:`flowengine.testing.run_flow`, ``TestRuntime``, the pytest fixtures and
    ``test_state``; they take these options with these meanings.
    """

    def __init__(self, app: Any = None, *, clock: Clock | None = None,
                 seed: int | None = 0, handlers: Mapping[str, Callable[..., Any] | LambdaFunction] | None = None,
                 limits: EngineLimits | None = None, account: AccountInfo | None = None,
                 integrations: Sequence[TaskIntegration] = (), listeners: Sequence[Listener] = (),
                 sync_handlers: Literal["executor", "inline"] = "executor", validate: bool = True,
                 recursion_limit: int | None = DEFAULT_RECURSION_LIMIT, async_retries: int = ASYNC_RETRIES,
                 max_event_age: _dt.timedelta = MAX_EVENT_AGE, mocks: Any = None,
                 require_all_mocks: bool = False, record: bool = False,
                 substitutions: Mapping[str, str] | None = None) -> None:
        self._source = app
        self._substitutions = dict(substitutions or {})
        self._offline = contextlib.ExitStack()
        self._own_clock = clock is None
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.seed = seed
        self.account = account or AccountInfo()
        self.rng = random.Random(None if seed is None else f"flowengine-events-{seed}")
        self.log = EventLog()
        self.guard = RecursionGuard(recursion_limit)
        self.async_retries = async_retries
        self.max_event_age = max_event_age.total_seconds()
        self._engine_options: dict[str, Any] = {
            "seed": seed, "handlers": dict(handlers or {}), "limits": limits, "integrations": list(integrations),
            "listeners": list(listeners), "sync_handlers": sync_handlers, "mocks": mocks,
            "require_all_mocks": require_all_mocks, "record": record}
        self._validate = validate
        self.invocations: list[Invocation] = []
        self._handles: list[ExecutionHandle] = []
        self._running: dict[str, Execution] = {}
        self._origin: dict[str, str] = {}  # execution ARN → what started it
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[Any]] = []  # pollers, real-clock schedule timers
        self._inbox: deque[ObservedCall] = deque()
        self._message_lineage: dict[str, Lineage] = {}
        self._pollers: dict[str, list[QueuePoller]] = {}
        self._schedules: list[ScheduleState] = []
        self._started = False
        self._closed = False
        self.app: App
        self.engine: Engine
        self.emulation: Emulation
        self.router: Router

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> AppRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> AppRuntime:
        """Create the resources and bind the functions (``with`` does it for you)."""
        if self._started:
            return self
        app = _load(self._source, self._validate)
        self._loop = self.clock.loop()
        self.started_at = self.clock.now()
        self.emulation = Emulation(app, self.account, now=self.clock.now, sink=self._observed, seed=self.seed)
        self.emulation.start()
        self._offline.enter_context(offline.emulation_active())
        self._offline.enter_context(stepfunctions.serving(self))
        try:
            self._setup(app)
            self._started = True
            self.clock.run(self._boot())
        except BaseException:
            self._started = False
            self._offline.close()
            self.emulation.stop()
            if self._own_clock:
                self.clock.close()
            raise
        return self

    def _setup(self, app: App) -> None:
        values = {**self.emulation.substitutions(), **self._substitutions}
        functions = {name: replace(f, environment={k: substitute(v, values) for k, v in f.environment.items()})
                     for name, f in app.functions.items()}
        self.app = replace(app, functions=functions)
        options = self._engine_options
        services = _service_integrations(self.emulation.client)
        self.engine = Engine(clock=self.clock, seed=options["seed"], handlers=options["handlers"],
                             limits=options["limits"], account=self.account,
                             integrations=[*options["integrations"], *services],
                             listeners=[_RuntimeListener(self), *options["listeners"]],
                             sync_handlers=options["sync_handlers"], validate=False, substitutions=values,
                             mocks=options["mocks"], require_all_mocks=options["require_all_mocks"],
                             record=options["record"])
        self.engine.bind_functions(self.app)
        nested = getattr(self.engine, "nested", None)
        if nested is not None and hasattr(nested, "register_app"):
            nested.register_app(self.app, list(self.app.flows))
        self.router = Router(self.app, {n: r.local_name for n, r in self.emulation.resources.items()
                                        if r.kind == "bucket"})
        anchor = to_datetime(self.started_at)
        for rule in self.router.schedules:
            assert rule.schedule is not None
            nxt = rule.schedule.next_after(anchor, anchor=anchor)
            self._schedules.append(ScheduleState(rule, anchor, nxt.timestamp() if nxt is not None else None))

    async def _boot(self) -> None:
        for queue, mappings in self.router.mappings.items():
            for mapping in mappings:
                poller = QueuePoller(self, mapping)
                self._pollers.setdefault(queue, []).append(poller)
                self._spawn(poller.run(), None, track=False)
        self._boot_streams()
        if not isinstance(self.clock, VirtualClock):
            for state in self._schedules:
                self._spawn(self._schedule_timer(state), None, track=False)

    def close(self) -> None:
        """Stop everything, remove the emulated resources and restore the environment."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._started:
                if self._own_clock:
                    self.clock.close()  # cancels every task of its loop
                elif not self._loop.is_closed():
                    self.clock.run(self._cancel_all())
        finally:
            if self._started:
                self._offline.close()
                self.emulation.stop()

    async def _cancel_all(self) -> None:
        tasks = [t for t in [*self._tasks, *self._background] if not t.done()]
        for execution in list(self._running.values()):
            if execution.task is not None and not execution.task.done():
                tasks.append(execution.task)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- names -----------------------------------------------------------------------------

    @property
    def resources(self) -> Mapping[str, EmulatedResource]:
        """The app's resources as emulated, by logical name."""
        return self.emulation.resources

    def name(self, resource: str) -> str:
        """The local name of a resource (a queue's name, not its URL)."""
        return self._resource(resource).local_name

    def url(self, queue: str) -> str:
        """A queue's URL."""
        r = self._resource(queue)
        if r.url is None:
            raise KeyError(f"{queue} is a {r.kind}, not a queue")
        return r.url

    def arn(self, name: str) -> str:
        """The ARN of a resource, a function or a flow."""
        if name in self.emulation.resources:
            return self.emulation.resources[name].arn
        if name in self.app.functions:
            return self.account.lambda_arn(name)
        if name in self.app.flows:
            return self.account.state_machine_arn(name)
        raise KeyError(f"the app has no resource, function or flow {name!r}")

    def _resource(self, name: str) -> EmulatedResource:
        try:
            return self.emulation.resources[name]
        except KeyError:
            raise KeyError(f"the app has no resource {name!r} (resources: {', '.join(self.emulation.resources)})") \
                from None

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated services (``boto3.client(service)`` works as well)."""
        return self.emulation.client(service)

    @property
    def now(self) -> _dt.datetime:
        """The clock's current instant (UTC)."""
        return to_datetime(self.clock.now())

    @property
    def recursion_stops(self) -> list[RecursionStop]:
        """Every delivery the recursion guard refused, oldest first."""
        return self.guard.stops

    # -- driving ---------------------------------------------------------------------------

    def run_until_idle(self, *, limit: _dt.timedelta | float | None = None) -> bool:
        """Run until nothing is left to do: executions finished, invocations and retries done,
        queues drained (time passes as they need; schedules fire meanwhile).  Schedules alone
        do not keep the runtime busy.  True when idle; False when work remains that cannot go
        on by itself (a task waiting for a token) or ``limit`` (virtual time) ran out."""
        until = None if limit is None else self.clock.now() + _seconds(limit)
        self._drive(self._run(until=until))
        return self.idle

    def advance(self, delta: _dt.timedelta | float) -> None:
        """Move time forward by ``delta``: everything due meanwhile runs, in order (schedules,
        waits, retries, visibility timeouts), then what the last instant started settles."""
        self._drive(self._run(until=self.clock.now() + _seconds(delta), jump=True))

    def serve(self, duration: _dt.timedelta | float | None = None, *,
              listen_for: str | os.PathLike[str] | None = None,
              on_listen: Callable[[int], Any] | None = None) -> None:
        """Keep the app running for ``duration`` (None: until interrupted, real clock only),
        e.g. ``flowengine up``.  On the virtual clock this is :meth:`advance`.

        ``listen_for`` (an app file path; real clock only): accept events from ``flowengine
        send`` of that app file on 127.0.0.1 while serving (:mod:`flowengine.runtime.inbox`);
        ``on_listen`` receives the port."""
        if isinstance(self.clock, VirtualClock):
            if duration is None:
                raise ValueError("serve() on the virtual clock needs a duration (it would never end)")
            self.advance(duration)
            return

        async def wait() -> None:
            if duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(_seconds(duration))

        async def forever() -> None:
            if listen_for is None:
                await wait()
                return
            from flowengine.runtime.inbox import serving

            async with serving(self, listen_for) as port:
                if on_listen is not None:
                    on_listen(port)
                await wait()

        self._drive(forever())

    def wait(self, handle: ExecutionHandle) -> ExecutionResult:
        """Run until ``handle``'s execution finishes; its result."""
        task = handle.execution.task
        assert task is not None
        self._drive(self._run(stop=task))
        if not task.done():
            raise FlowengineError(f"execution {handle.arn} cannot finish: it waits for something "
                                  "that never comes (a task token?)")
        return task.result()

    @property
    def idle(self) -> bool:
        """Nothing in flight: no execution running, no invocation or retry, no queued message."""
        return self.busy == 0

    @property
    def busy(self) -> int:
        """How many things are in flight (executions, deliveries, queued messages)."""
        return (len(self._inbox) + len(self._tasks) + len(self._running)
                + sum(max((p.outstanding for p in pollers), default=0) for pollers in self._pollers.values())
                + self._streams_busy())

    def _drive(self, coro: Any) -> Any:
        if not self._started or self._closed:
            coro.close()
            raise FlowengineError("the runtime is not running: use it as a context manager (with AppRuntime(...))")
        return self.clock.run(coro)

    async def _run(self, *, until: float | None = None, stop: asyncio.Future[Any] | None = None,
                   jump: bool = False) -> bool:
        """The driver on the virtual clock: let the loop settle up to the next schedule fire
        (or ``until``), fire what is due, repeat.

        Returns True once ``stop`` is done or the clock reached ``until``; False once nothing
        more can happen by itself (every task done or waiting for outside input).  With
        ``jump`` (``advance``), time moves on to ``until`` even when nothing is scheduled,
        firing the schedules on the way; otherwise schedules fire only while other work makes
        time pass, so they alone never keep the runtime busy.
        """
        if not isinstance(self.clock, VirtualClock):
            return await self._run_real(until=until, stop=stop)
        clock = self.clock
        while True:
            if stop is not None and stop.done():
                return True
            fire = self._next_fire()
            horizon = min((x for x in (fire, until) if x is not None), default=math.inf)
            settle = asyncio.ensure_future(clock.settle(horizon))
            if stop is not None:
                await asyncio.wait({settle, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not settle.done():
                    settle.cancel()
                    await asyncio.gather(settle, return_exceptions=True)
                    return True
            if not await settle:
                # Nothing is scheduled any more; the clock stayed where the work ended.
                if not jump or horizon == math.inf:
                    return False
                # on to the horizon; a maximum execution time on the way fires at its instant
                await clock.settle(horizon, jump=True)
            now = clock.now()
            if fire is not None and fire <= now + 1e-4:
                self._fire_due(now)
                continue
            if until is not None and now >= until - 1e-4:
                return True

    async def _run_real(self, *, until: float | None, stop: asyncio.Future[Any] | None) -> bool:
        while True:
            if stop is not None and stop.done():
                return True
            now = self.clock.now()
            if until is not None and now >= until:
                return True
            if until is None and stop is None and self.busy == 0:
                await asyncio.sleep(0)
                if self.busy == 0:
                    return False
            await asyncio.sleep(0.01 if until is None else min(0.01, max(0.0, until - now)))

    # -- flows and functions ---------------------------------------------------------------

    def start_flow(self, flow: str | None, input: Any = None, *, name: str | None = None,
                   express: bool | None = None, mocks: Any = None) -> ExecutionHandle:
        """Start an execution of ``flow`` (None: the app's only flow; it runs when the runtime
        is driven); its handle.  ``express`` overrides the flow's type; ``mocks`` gives this
        execution its own Task mocks (instead of the runtime's)."""
        if flow is not None and not isinstance(flow, str):
            raise TypeError(f"the flow is named by a string, not a {type(flow).__name__} "
                            "(pass the execution input as input=...)")
        if flow is None:
            if len(self.app.flows) != 1:
                raise FlowengineError(f"name the flow to run (flows: {', '.join(self.app.flows)})")
            flow = next(iter(self.app.flows))
        if flow not in self.app.flows:
            raise FlowengineError(f"'{self.app.name}' has no flow {flow!r} (flows: {', '.join(self.app.flows)})")
        lineage = self._root().bump(f"flow:{flow}")

        async def start() -> ExecutionHandle:
            return await self._start_execution(flow, input, name=name, origin="start_flow", express=express,
                                               mocks=mocks)

        ctx = contextvars.copy_context()
        ctx.run(current_lineage.set, lineage)
        return self._drive(_in(ctx, start()))

    def run_flow(self, flow: str | None, input: Any = None, *, name: str | None = None,
                 express: bool | None = None, mocks: Any = None) -> ExecutionResult:
        """Start ``flow`` and run until it finishes; its result."""
        return self.wait(self.start_flow(flow, input, name=name, express=express, mocks=mocks))

    def start_execution(self, source: Any, input: Any = None, *, flow: str | None = None,
                        name: str | None = None, express: bool | None = None, mocks: Any = None) -> ExecutionHandle:
        """Start an execution of another definition (a path, a dict, an app, a state machine)
        inside this runtime: on its clock, in its emulation, with its handlers and mocks.
        ``source`` None (or this runtime's own app) starts one of the app's flows."""
        if self._is_own(source):
            return self.start_flow(flow, input, name=name, express=express, mocks=mocks)
        target = self._other(source)

        async def start() -> ExecutionHandle:
            return await self._start_execution(flow, input, name=name, origin="start_execution", express=express,
                                               mocks=mocks, target=target)

        ctx = contextvars.copy_context()
        ctx.run(current_lineage.set, self._root().bump("flow:external"))
        return self._drive(_in(ctx, start()))

    def invoke(self, function: str, event: Any = None) -> Any:
        """Invoke ``function`` synchronously (RequestResponse) with ``event``; its response.
        Raises :class:`InvocationError` when the handler fails (or is throttled)."""
        if function not in self.app.functions:
            raise FlowengineError(f"'{self.app.name}' has no function {function!r}")
        lineage = self._root().bump(f"function:{function}")

        async def call() -> Invocation:
            return await self._call(function, {} if event is None else event, trigger=None)

        ctx = contextvars.copy_context()
        ctx.run(current_lineage.set, lineage)

        async def run() -> Invocation:
            task = asyncio.get_running_loop().create_task(call(), context=ctx)
            await self._run(stop=task)
            return task.result()

        inv = self._drive(run())
        if not inv.ok:
            raise InvocationError(function, inv.error or "", inv.cause)
        return inv.payload

    def executions(self, flow: str | None = None) -> list[ExecutionResult]:
        """Every execution started so far (of ``flow``), oldest first, as it stands now."""
        return [h.snapshot() for h in self._handles if flow is None or h.execution.state_machine_name == flow]

    def handles(self, flow: str | None = None) -> list[ExecutionHandle]:
        return [h for h in self._handles if flow is None or h.execution.state_machine_name == flow]

    def invocations_of(self, function: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == function]

    def submit(self, source: Any, input: Any = None, *, flow: str | None = None, name: str | None = None,
               express: bool | None = None, mocks: Any = None) -> ExecutionHandle:
        """Create an execution without running the clock: it starts when the runtime is next
        driven (``TestRuntime.advance``, :meth:`run_until_idle`, :meth:`wait`).  ``source``
        None (or the runtime's own app) means one of the app's flows."""
        if not self._started or self._closed:
            raise FlowengineError("the runtime is not running: use it as a context manager (with AppRuntime(...))")
        if self._is_own(source):
            target: Any = self.app
            if flow is None and len(self.app.flows) != 1:
                raise FlowengineError(f"name the flow to run (flows: {', '.join(self.app.flows) or 'none'})")
        else:
            target = self._other(source)
        return self._adopt(self.engine.submit(target, input, flow=flow, name=name, express=express, mocks=mocks),
                           "submit")

    def _is_own(self, source: Any) -> bool:
        """Whether ``source`` is this runtime's app (None, the object given, or the same file)."""
        if source is None or source is self._source or source is self.app:
            return True
        own = self.app.source_path
        if own is None:
            return False
        if isinstance(source, (str, os.PathLike)):
            return os.path.abspath(os.fspath(source)) == os.path.abspath(own)
        other = source.app if isinstance(source, LoadedApp) else source
        return isinstance(other, App) and other.source_path is not None and \
            os.path.abspath(other.source_path) == os.path.abspath(own)

    def _other(self, source: Any) -> Any:
        """Another definition to run in this runtime, loaded and checked.  One that declares
        resources of its own cannot: they exist only in a runtime made for its app."""
        loaded = _as_loaded(source)
        app = loaded.app if loaded is not None else source
        if isinstance(app, App) and app.resources:
            raise FlowengineError(
                f"'{app.name}' declares resources ({', '.join(app.resources)}), which only a runtime made for it "
                f"emulates; this one runs '{self.app.name}': give it its own (AppRuntime({app.name!r} path), "
                "TestRuntime(path), or start it first in a fresh TestRuntime())")
        if self._validate and loaded is not None:
            _check(loaded)
        return loaded if loaded is not None else source

    async def _start_execution(self, flow: str | None, input: Any, *, name: str | None = None,
                               origin: str, express: bool | None = None, mocks: Any = None,
                               target: Any = None) -> ExecutionHandle:
        """Start ``flow`` of the app (or of ``target``, another definition) on the loop."""
        handle = await self.engine.start_execution(self.app if target is None else target, input, flow=flow,
                                                   name=name, express=express, mocks=mocks)
        return self._adopt(handle, origin)

    def _adopt(self, handle: ExecutionHandle, origin: str) -> ExecutionHandle:
        """Keep an execution's handle, what started it, and watch it to its end."""
        self._handles.append(handle)
        self._origin[handle.arn] = origin
        self._track(handle.execution)
        return handle

    def _track(self, execution: Execution) -> None:
        if execution.arn in self._running or execution.task is None or execution.task.done():
            return
        self._running[execution.arn] = execution
        execution.task.add_done_callback(functools.partial(self._finished, execution))

    def _finished(self, execution: Execution, _task: Any = None) -> None:
        if self._running.pop(execution.arn, None) is None:
            return
        detail = f": {execution.error}" if execution.error else ""
        self._record("execution", f"{execution.state_machine_name} {execution.name} {execution.status}{detail}",
                     flow=execution.state_machine_name, execution=execution.arn, status=execution.status,
                     error=execution.error, cause=execution.cause)

    async def _call(self, function: str, event: Any, *, trigger: str | None) -> Invocation:
        """One invocation through the engine's function binding (caps and throttling included)."""
        start = self.clock.now()
        request = TaskRequest(
            resource=_LAMBDA_INVOKE, payload={"FunctionName": function, "Payload": _fresh(event)},
            state_name=trigger or "invoke", state_path="", context={}, execution_arn="",
            account=self.account, rng=self.engine.rng, target=TaskTarget("lambda", "invoke"))
        try:
            response = await self.engine.lambdas.invoke(request)
        except StatesFailure as failure:
            inv = Invocation(function, trigger, False, None, failure.error, failure.cause, start, self.clock.now(),
                             event)
        else:
            inv = Invocation(function, trigger, True, response.get("Payload"), None, None, start, self.clock.now(),
                             event)
        self.invocations.append(inv)
        outcome = "ok" if inv.ok else ("throttled" if inv.throttled else "error")
        via = f" (trigger {trigger})" if trigger else ""
        self._record("invoke", f"{function}{via}: {outcome}" + (f" {inv.error}" if not inv.ok else ""),
                     function=function, trigger=trigger, outcome=outcome, error=inv.error)
        return inv

    async def _invoke_async(self, function: str, event: Any, trigger: str) -> None:
        """Lambda's asynchronous invocation: retries after throttling (1 s doubling to 5 min,
        within the event's maximum age) and after function errors (1 min, then 2 min)."""
        first = self.clock.now()
        errors = 0
        backoff = 1.0
        while True:
            inv = await self._call(function, event, trigger=trigger)
            if inv.ok:
                return
            if inv.throttled:
                if self.clock.now() + backoff - first > self.max_event_age:
                    self._record("drop", f"{function}: event older than the maximum event age, dropped "
                                 f"(trigger {trigger})", function=function, trigger=trigger, reason="age")
                    return
                delay, backoff = backoff, min(backoff * 2, 300.0)
            else:
                errors += 1
                if errors > self.async_retries:
                    self._record("drop", f"{function}: failed {errors} times, event dropped (trigger {trigger})",
                                 function=function, trigger=trigger, reason="errors", error=inv.error)
                    return
                delay = 60.0 * errors
            self._record("retry", f"{function}: asynchronous retry in {_secs(delay)} after {inv.error}",
                         function=function, trigger=trigger, delay=delay, error=inv.error)
            await asyncio.sleep(delay)

    # -- routing ---------------------------------------------------------------------------

    def _spawn(self, coro: Any, lineage: Lineage | None, *, track: bool = True) -> asyncio.Task[Any]:
        ctx = contextvars.copy_context()
        ctx.run(current_lineage.set, lineage)
        task = self._loop.create_task(coro, context=ctx)
        if track:
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
        else:
            self._background.append(task)
        return task

    def _spawn_poller(self, poller: StreamPoller) -> None:
        self._spawn(poller.run(), None, track=False)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self._record("drop", f"internal error in the runtime: {type(exc).__name__}: {exc}", error=repr(exc))

    def _deliver(self, route: Route, event: Any, lineage: Lineage, *, what: str, constant: bool = False) -> bool:
        """Hand ``event`` to ``route``'s target, unless the chain has looped too often.
        ``constant``: ``event`` is the trigger's ``input``, where a string is JSON text."""
        admitted = self.guard.admit(lineage, route.key, trigger=route.name, now=self.clock.now(), event=event)
        if admitted is None:
            stop = self.guard.stops[-1]
            self._record("recursion", stop.message, target=route.key, trigger=route.name, count=stop.count,
                         trace=lineage.trace_id)
            return False
        self._record("route", f"{what} → {route.target_kind} {route.target} (trigger {route.name})",
                     trigger=route.name, target=route.target, target_kind=route.target_kind)
        if isinstance(route, BusRule):
            constant = "input" in route.trigger.options
            event = route.target_input(event)
        if route.target_kind == "flow":
            # JSON text, parsed once by the engine as StartExecution parses it: an event that is
            # itself a string is not JSON text, but a constant input that is a string is (compile
            # writes it verbatim as the target's Input)
            text = event if constant and isinstance(event, str) else json.dumps(event)
            self._spawn(self._start_execution(route.target, text, origin=f"trigger {route.name}"), admitted)
        else:
            self._spawn(self._invoke_async(route.target, event, route.name), admitted)
        return True

    def _observed(self, call: ObservedCall) -> None:
        """The emulation's sink (any thread): queue the call and wake the loop."""
        if call.service == "dynamodb" and not getattr(self, "_stream_pollers", None):
            return  # item writes matter only to a table stream's pollers
        self._inbox.append(call)
        loop = self._loop
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        while self._inbox:
            call = self._inbox.popleft()
            try:
                self._handle(call)
            except Exception as exc:  # noqa: BLE001 - an event the runtime cannot read must not stop the loop
                self._record("drop", f"cannot route {call.service} {call.operation}: {type(exc).__name__}: {exc}",
                             error=repr(exc))

    def _handle(self, call: ObservedCall) -> None:
        lineage = call.lineage or self._root()
        p, r = call.params, call.response
        if call.service == "s3":
            bucket = str(p.get("Bucket", ""))
            if call.operation == "DeleteObjects":
                for d in r.get("Deleted", []):
                    name = "ObjectRemoved:DeleteMarkerCreated" if d.get("DeleteMarker") else "ObjectRemoved:Delete"
                    self._s3(bucket, d.get("Key", ""), name, lineage, reason="DeleteObjects",
                             version_id=d.get("DeleteMarkerVersionId") or d.get("VersionId"))
                return
            if call.operation == "DeleteObject":
                name = "ObjectRemoved:DeleteMarkerCreated" if r.get("DeleteMarker") else "ObjectRemoved:Delete"
                self._s3(bucket, str(p.get("Key", "")), name, lineage, reason="DeleteObject",
                         version_id=r.get("VersionId"))
                return
            kind = {"PutObject": "Put", "CopyObject": "Copy",
                    "CompleteMultipartUpload": "CompleteMultipartUpload"}[call.operation]
            self._s3(bucket, str(p.get("Key", "")), f"ObjectCreated:{kind}", lineage, reason=call.operation,
                     size=call.extra.get("size"), etag=call.extra.get("etag"), version_id=r.get("VersionId"))
        elif call.service == "sqs":
            queue = self.emulation.queue_resource(str(p.get("QueueUrl", "")))
            if queue is None:
                return
            ids = [r.get("MessageId")] if call.operation == "SendMessage" else [
                e.get("MessageId") for e in r.get("Successful", [])]
            self._record("event", f"sqs {len(ids)} message(s) sent to {queue}", source="sqs", resource=queue,
                         messages=len(ids))
            pollers = self._pollers.get(queue, [])
            if pollers:  # a queue nobody consumes keeps its messages (and needs no lineage)
                for mid in ids:
                    if mid:
                        self._message_lineage[mid] = lineage.via(f"sqs:{queue}")
            for poller in pollers:
                poller.notify()
        elif call.service == "sns":
            if call.operation == "Publish":
                self._sns(p, str(r.get("MessageId", "")), lineage)
            else:
                published = {e.get("Id"): e.get("MessageId") for e in r.get("Successful", [])}
                for entry in p.get("PublishBatchRequestEntries", []):
                    if entry.get("Id") in published:
                        self._sns({**entry, "TopicArn": p.get("TopicArn")}, str(published[entry["Id"]]), lineage)
        elif call.service == "dynamodb":
            self._dynamodb(call, lineage)
        elif call.service == "events":
            results = r.get("Entries", [])
            for i, entry in enumerate(p.get("Entries", [])):
                event_id = results[i].get("EventId") if i < len(results) else None
                if event_id:
                    self._put_event(entry, str(event_id), lineage)


    # -- schedules -------------------------------------------------------------------------


    # -- sending events in -----------------------------------------------------------------


    def send(self, event: Any, *, bus: str | None = None, trigger: str | None = None) -> list[Route]:
        """Inject an event as if AWS had delivered it; the routes that receive it.

        * S3 notification records (``{"Records": [{"eventSource": "aws:s3", ...}]}``) go to the
          bucket's triggers (by bucket name, local or logical);
        * SQS records are sent to their queue as messages (the event source mapping takes them
          from there); SNS records are published to their topic's subscriptions; DynamoDB
          stream records go, as one batch, to the stream triggers of the table their
          ``eventSourceARN`` names (each trigger's ``filter`` applies);
        * an EventBridge event goes to the rules of ``bus`` (a resource name; the default bus
          when None); a ``PutEvents`` entry (``Source``, ``DetailType``, ``Detail``) is put on
          its ``EventBusName``; a Scheduled Event with a schedule rule's ARN fires that schedule's
          target; an API Gateway event goes to the matching ``api`` route;
        * with ``trigger``, the event goes as it is to that trigger's target.

        The deliveries run when the runtime is driven (:meth:`run_until_idle`).
        """
        if isinstance(event, (str, bytes, bytearray)):
            try:
                event = files.loads(event)  # strict, as AWS: no NaN, no lone surrogates
            except RecursionError:
                raise EventError("the event is nested too deeply to parse") from None
            except ValueError as exc:
                raise EventError(f"the event is not JSON: {exc}") from None
        lineage = self._root()
        if trigger is not None:
            t = self.router.trigger(trigger)
            if t is None:
                raise EventError(f"the app has no trigger {trigger!r} "
                                 f"(triggers: {', '.join(x.name for x in self.app.triggers)})")
            route = Route(t)
            self._record("event", f"event sent to trigger {trigger}", source="send", trigger=trigger)
            return [route] if self._deliver(route, event, lineage, what="sent event") else []
        if not isinstance(event, dict):
            raise EventError("an event is a JSON object")
        records = event.get("Records")
        if bus is not None:
            self._bus_name(bus)  # an unknown bus is an error, whatever the event
            if isinstance(records, list):
                raise EventError("a bus is for EventBridge events; this event is a list of records "
                                 "(S3, SQS or SNS), which go to their bucket, queue or topic")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            source = records[0].get("eventSource") or records[0].get("EventSource")
            if source == "aws:s3":
                return [r for rec in records for r in self._send_s3(rec, lineage)]
            if source == "aws:sqs":
                for rec in records:
                    self._send_sqs(rec)
                return []
            if source == "aws:sns":
                return [r for rec in records for r in self._send_sns(rec, lineage)]
            if source == "aws:dynamodb":
                return self._send_dynamodb(records, lineage)
            raise EventError(f"records of {source!r} cannot be sent (aws:s3, aws:sqs, aws:sns, aws:dynamodb)")
        if "detail-type" in event and "source" in event:
            if event.get("detail-type") == "Scheduled Event" and event.get("source") in ("aws.events", "aws.scheduler"):
                rules = [s.rule for s in self._schedules
                         if any(str(arn).rsplit("/", 1)[-1] in (s.rule.rule_name, s.rule.name)
                                for arn in event.get("resources", []))]
                if rules:
                    return [r for r in rules if self._deliver(r, event, lineage, what="scheduled event")]
            event = self._local_bucket_names(event)
            known, res = self._bus_name(bus)
            self._record("event", f"events {event.get('source')} / {event.get('detail-type')} sent to bus "
                         f"{res or 'default'}", source="events", bus=res or "default")
            return self._bus(res, event, lineage, what=f"event {event.get('detail-type')!r}")
        if "Source" in event and "DetailType" in event:
            entry = dict(event)
            if bus is not None:
                entry["EventBusName"] = self._resource(bus).local_name
            elif "EventBusName" in entry:
                _, res = self._bus_name(str(entry["EventBusName"]))
                entry["EventBusName"] = self.emulation.resources[res].local_name if res else "default"
            self.client("events").put_events(Entries=[entry])
            return []
        if "httpMethod" in event or "routeKey" in event:
            return self._send_api(event, lineage)
        raise EventError("cannot tell what kind of event this is (S3, SQS or SNS records, an EventBridge event, "
                         "a PutEvents entry, an API Gateway event): name the trigger to deliver it to as it is (trigger=..., or --trigger on the command line)")


# --- the engine listener -------------------------------------------------------------------------


class _RuntimeListener(Listener):
    """Executions (nested ones too), Task calls and retries, into the runtime's log."""

    _DONE = ("Succeeded", "Failed", "TimedOut", "StartFailed", "SubmitFailed")

    def __init__(self, runtime: AppRuntime) -> None:
        self.rt = runtime
        # per execution: event id → (what the task calls, its state) while it runs, and
        # event id → state name for the events a Task's next attempt follows
        self._pending: dict[str, dict[int, tuple[str, str]]] = {}
        self._states: dict[str, dict[int, str]] = {}

    def event(self, execution: Execution, event_id: int, event: tuple[Any, ...]) -> None:
        type_, prev, _ts, _key, details = event[:5]
        arn = execution.arn
        if type_ == "ExecutionStarted":
            origin = self.rt._origin.get(arn, "a parent execution")
            self.rt._record("execution", f"{execution.state_machine_name} {execution.name} started ({origin})",
                            flow=execution.state_machine_name, execution=arn, status="RUNNING")
            self.rt._track(execution)
        elif type_.startswith("Execution"):
            self._pending.pop(arn, None)
            self._states.pop(arn, None)
        elif type_ == "TaskStateEntered" and isinstance(details, dict):
            self._states.setdefault(arn, {})[event_id] = str(details.get("name", ""))
        elif type_ in ("TaskScheduled", "LambdaFunctionScheduled") and isinstance(details, dict):
            state = self._states.get(arn, {}).pop(prev, "")
            self._pending.setdefault(arn, {})[event_id] = (_task_name(type_, details), state)
        elif type_ in ("TaskStarted", "LambdaFunctionStarted", "TaskSubmitted"):
            pending = self._pending.get(arn, {})
            info = pending.pop(prev, None)
            if info is not None:
                pending[event_id] = info
        elif type_.startswith(("Task", "LambdaFunction")) and type_.endswith(self._DONE):
            info = self._pending.get(arn, {}).pop(prev, None)
            if info is None:
                return
            what, state = info
            self._states.setdefault(arn, {})[event_id] = state  # a retry's next attempt follows this event
            error = str(details.get("error", type_)) if isinstance(details, dict) else type_
            outcome = "ok" if type_.endswith("Succeeded") else ("throttled" if error == THROTTLED else "error")
            name = what.removeprefix("function ")
            data: dict[str, Any] = {"flow": execution.state_machine_name, "execution": arn, "state": state,
                                    "outcome": outcome}
            if what.startswith("function "):
                data["function"] = name
            else:
                data["service"] = name
            if outcome != "ok":
                data["error"] = error
            self.rt._record("invoke" if "function" in data else "task",
                            f"{name} (flow {execution.state_machine_name} {execution.name}, state {state}): "
                            + ("ok" if outcome == "ok" else error), **data)

    def retry(self, execution: Execution, scope: Any, node: Any, failure: StatesFailure, delay: float) -> None:
        self.rt._record("retry", f"{execution.state_machine_name} {execution.name} state {node.name}: "
                        f"{failure.error}, retry in {_secs(delay)}", flow=execution.state_machine_name,
                        execution=execution.arn, state=node.name, error=failure.error, delay=delay)


def _task_name(type_: str, details: Mapping[str, Any]) -> str:
    if type_ == "LambdaFunctionScheduled":
        return "function " + str(details.get("resource", "")).split(":function:")[-1].split(":")[0]
    if details.get("resourceType") == "lambda":
        try:
            params = json.loads(details.get("parameters", "{}"))
            fn = str(params.get("FunctionName", ""))
            return "function " + (fn.split(":function:")[-1].split(":")[0] if ":function:" in fn else fn.split(":")[0])
        except (ValueError, AttributeError):
            return "function ?"
    return f"{details.get('resourceType')}:{details.get('resource')}"


# --- helpers -------------------------------------------------------------------------------------


def _as_loaded(source: Any) -> LoadedApp | None:
    """A source as a LoadedApp (paths and dicts loaded, a StateMachine from its raw ASL); None
    for an App, which is already a model."""
    if isinstance(source, (str, os.PathLike)):
        return load(os.fspath(source))
    if isinstance(source, LoadedApp):
        return source
    if isinstance(source, dict):
        return from_value(source, name="StateMachine")
    if isinstance(source, StateMachine):
        if not source.raw:
            raise TypeError("this StateMachine has no ASL to run: give the definition dict or its path")
        return from_value(source.raw, name="StateMachine")
    if isinstance(source, App):
        return None
    raise TypeError(f"cannot run a {type(source).__name__}: give a path, a definition dict, a LoadedApp, "
                    "an App or a StateMachine")


def _check(loaded: LoadedApp) -> None:
    from flowengine.validate import validate_app

    errors = [d for d in validate_app(loaded) if d.severity == "error"]
    if errors:
        raise ValidationError(errors)


def _load(source: Any, validate: bool) -> App:
    if source is None:
        return App(name="flowengine")
    loaded = _as_loaded(source)
    if loaded is None:
        return source  # type: ignore[no-any-return]
    if validate:
        _check(loaded)
    return loaded.app


def _service_integrations(client_factory: Callable[[str], Any]) -> list[TaskIntegration]:
    """The flows' AWS service Tasks against the emulation, when the engine has them."""
    try:
        from flowengine.integrations.services import LocalServices  # type: ignore[import-not-found]
    except ImportError:
        return []
    return [LocalServices(client_factory)]


async def _in(ctx: contextvars.Context, coro: Any) -> Any:
    return await asyncio.get_running_loop().create_task(coro, context=ctx)


def _secs(seconds: float) -> str:
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{seconds:.3f}s"


def _seconds(value: _dt.timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, _dt.timedelta) else float(value)


def _fresh(value: Any) -> Any:
    return json.loads(json.dumps(value))


__all__ = ["AppRuntime", "EventError", "EventLog", "Invocation", "InvocationError", "LogRecord"]

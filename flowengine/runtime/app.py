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
import base64
import contextlib
import contextvars
import datetime as _dt
import functools
import json
import math
import os
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import unquote_plus

from flowengine.dsl.app import LoadedApp, from_value, load, substitute
from flowengine.engine.clock import Clock, VirtualClock, iso, to_datetime
from flowengine.engine.execution import Execution, Listener
from flowengine.model.failure import StatesFailure
from flowengine.engine.options import AccountInfo, EngineLimits, new_uuid
from flowengine.engine.result import ExecutionResult
from flowengine.runtime.engine import Engine, ExecutionHandle
from flowengine.errors import FlowengineError, ValidationError
from flowengine.events import payloads
from flowengine.events.emulation import EmulatedResource, Emulation, ObservedCall
from flowengine.events.recursion import DEFAULT_RECURSION_LIMIT, Lineage, RecursionGuard, RecursionStop, current_lineage
from flowengine.events.routing import BusRule, QueueMapping, Route, Router, ScheduledRule
from flowengine.engine.tasks import TaskIntegration, TaskRequest, TaskTarget
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.model.app import App
from flowengine.model.asl import StateMachine
from flowengine.runtime import offline

#: Lambda's asynchronous invocation: retries after a function error (MaximumRetryAttempts).
ASYNC_RETRIES = 2
#: ... and how long it keeps retrying a throttled event (MaximumEventAgeInSeconds).
MAX_EVENT_AGE = _dt.timedelta(hours=6)
#: Batches of one event source mapping in flight at once (Lambda starts with five pollers).
SQS_CONCURRENT_BATCHES = 5
_THROTTLED = "Lambda.TooManyRequestsException"
_LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_SQS_RECORD_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
                          "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader")


class InvocationError(FlowengineError):
    """A function invoked with :meth:`AppRuntime.invoke` failed; ``error``/``cause`` as Lambda reports them."""

    def __init__(self, function: str, error: str, cause: str | None) -> None:
        self.function, self.error, self.cause = function, error, cause
        super().__init__(f"function {function} failed: {error}" + (f": {cause}" if cause else ""))


class EventError(FlowengineError):
    """An event given to :meth:`AppRuntime.send` that cannot be delivered (an unknown shape,
    a bucket, queue or topic the app does not have, an unknown trigger)."""


# --- the log -------------------------------------------------------------------------------------

LogKind = Literal["event", "route", "invoke", "task", "retry", "execution", "sqs", "schedule", "recursion", "drop"]


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One thing that happened, at a (virtual) instant.

    ``kind``: ``event`` (an event occurred: an object written, a message sent or published,
    an event put on a bus, an event sent in), ``route`` (a trigger delivers it to a target),
    ``invoke`` (a function ran: ``data["outcome"]`` is ``ok``, ``error`` or ``throttled``),
    ``task`` (a flow's Task called a service), ``retry`` (a flow state or an asynchronous
    invocation is retried), ``execution`` (started or finished), ``sqs`` (batches, deletes,
    dead-lettering), ``schedule`` (a schedule fired), ``recursion`` (a loop was stopped),
    ``drop`` (an asynchronous event was given up).
    """

    time: float
    kind: str
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def when(self) -> _dt.datetime:
        return to_datetime(self.time)

    def format(self) -> str:
        return f"{iso(self.time)}  {self.kind:<9}  {self.message}"

    def __str__(self) -> str:
        return self.format()


class EventLog(Sequence[LogRecord]):
    """The runtime's records, oldest first; :meth:`of` filters, :meth:`subscribe` streams."""

    def __init__(self) -> None:
        self._records: list[LogRecord] = []
        self._subscribers: list[Callable[[LogRecord], Any]] = []

    def __getitem__(self, i: Any) -> Any:
        return self._records[i]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[LogRecord]:
        return iter(self._records)

    def append(self, record: LogRecord) -> None:
        self._records.append(record)
        for s in self._subscribers:
            s(record)

    def of(self, kind: str, **data: Any) -> list[LogRecord]:
        """The records of ``kind`` whose ``data`` holds every given item."""
        return [r for r in self._records if r.kind == kind and all(r.data.get(k) == v for k, v in data.items())]

    def subscribe(self, callback: Callable[[LogRecord], Any]) -> None:
        """Call ``callback`` with every record from now on (``flowengine up`` prints them)."""
        self._subscribers.append(callback)

    def text(self) -> str:
        return "\n".join(r.format() for r in self._records)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One run of a function by a trigger, :meth:`AppRuntime.invoke` or a retry."""

    function: str
    trigger: str | None
    ok: bool
    payload: Any = None
    error: str | None = None
    cause: str | None = None
    start: float = 0.0
    end: float = 0.0
    event: Any = field(default=None, repr=False)

    @property
    def throttled(self) -> bool:
        return self.error == _THROTTLED


# --- the runtime ---------------------------------------------------------------------------------


class AppRuntime:
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
        self._pollers: dict[str, list[_Poller]] = {}
        self._schedules: list[_ScheduleState] = []
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
            self._schedules.append(_ScheduleState(rule, anchor, nxt.timestamp() if nxt is not None else None))

    async def _boot(self) -> None:
        for queue, mappings in self.router.mappings.items():
            for mapping in mappings:
                poller = _Poller(self, mapping)
                self._pollers.setdefault(queue, []).append(poller)
                self._spawn(poller.run(), None, track=False)
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
                + sum(max((p.outstanding for p in pollers), default=0) for pollers in self._pollers.values()))

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
                clock.advance(max(0.0, horizon - clock.now()))
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
        if source is None or source is self._source:
            return self.start_flow(flow, input, name=name, express=express, mocks=mocks)
        loaded = _as_loaded(source)
        if self._validate and loaded is not None:
            _check(loaded)
        target = loaded if loaded is not None else source

        async def start() -> ExecutionHandle:
            handle = await self.engine.start_execution(target, input, flow=flow, name=name, express=express,
                                                       mocks=mocks)
            self._handles.append(handle)
            self._origin[handle.arn] = "start_execution"
            self._track(handle.execution)
            return handle

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
        if source is None or source is self._source:
            target: Any = self.app
            if flow is None and len(self.app.flows) != 1:
                raise FlowengineError(f"name the flow to run (flows: {', '.join(self.app.flows) or 'none'})")
        else:
            loaded = _as_loaded(source)
            if self._validate and loaded is not None:
                _check(loaded)
            target = loaded if loaded is not None else source
        handle = self.engine.submit(target, input, flow=flow, name=name, express=express, mocks=mocks)
        self._handles.append(handle)
        self._origin[handle.arn] = "submit"
        self._track(handle.execution)
        return handle

    async def _start_execution(self, flow: str, input: Any, *, name: str | None = None,
                               origin: str, express: bool | None = None, mocks: Any = None) -> ExecutionHandle:
        handle = await self.engine.start_execution(self.app, input, flow=flow, name=name, express=express,
                                                   mocks=mocks)
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

    def _root(self) -> Lineage:
        return Lineage(f"1-{int(self.clock.now()):08x}-{self.rng.getrandbits(96):024x}")

    def _record(self, kind: str, message: str, **data: Any) -> None:
        self.log.append(LogRecord(self.clock.now(), kind, message, data))

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
        elif call.service == "events":
            results = r.get("Entries", [])
            for i, entry in enumerate(p.get("Entries", [])):
                event_id = results[i].get("EventId") if i < len(results) else None
                if event_id:
                    self._put_event(entry, str(event_id), lineage)

    def _s3(self, bucket: str, key: str, event_name: str, lineage: Lineage, *, reason: str,
            size: int | None = None, etag: str | None = None, version_id: str | None = None) -> list[Route]:
        resource = self.emulation.bucket_resource(bucket)
        self._record("event", f"s3 {event_name} s3://{bucket}/{key}", source="s3", resource=resource,
                     bucket=bucket, key=key, event_name=event_name)
        if resource is None:
            return []
        lineage = lineage.via(f"s3:{resource}")
        now = to_datetime(self.clock.now())
        delivered: list[Route] = []
        common: dict[str, Any] = {"region": self.account.region, "account": self.account.account, "time": now,
                                  "rng": self.rng}
        for n in self.router.s3_notifications(resource, event_name, key):
            event = payloads.s3_event(bucket, key, event_name, size=size if "Created" in event_name else None,
                                      etag=etag, version_id=version_id, configuration_id=n.name,
                                      **common)  # type: ignore[arg-type]
            if self._deliver(n, event, lineage, what=f"s3://{bucket}/{key}"):
                delivered.append(n)
        if resource in self.router.eventbridge_buckets:
            created = "Created" in event_name
            event = payloads.s3_eventbridge_event(
                bucket, key, "Object Created" if created else "Object Deleted", size=size if created else None,
                etag=etag if created else None, version_id=version_id, reason=reason,
                deletion_type=("Delete Marker Created" if "DeleteMarker" in event_name else "Permanently Deleted"),
                **common)  # type: ignore[arg-type]
            delivered += self._bus(None, event, lineage, what=f"s3://{bucket}/{key}")
        return delivered

    def _bus(self, bus: str | None, event: Mapping[str, Any], lineage: Lineage, *, what: str) -> list[Route]:
        delivered: list[Route] = []
        for rule in self.router.bus_rules(bus, event):
            if self._deliver(rule, event, lineage, what=what):
                delivered.append(rule)
        return delivered

    def _put_event(self, entry: Mapping[str, Any], event_id: str, lineage: Lineage) -> list[Route]:
        known, bus = self.emulation.bus_resource(entry.get("EventBusName"))
        event = payloads.event_from_put_events_entry(entry, region=self.account.region,
                                                     account=self.account.account,
                                                     time=to_datetime(self.clock.now()), rng=self.rng)
        event["id"] = event_id
        where = bus or "default"
        self._record("event", f"events {event.get('source')} / {event.get('detail-type')} on bus {where}",
                     source="events", resource=bus, bus=where, detail_type=event.get("detail-type"))
        if not known:
            return []
        return self._bus(bus, event, lineage.via(f"events:{where}"), what=f"event {event.get('detail-type')!r}")

    def _sns(self, params: Mapping[str, Any], message_id: str, lineage: Lineage) -> list[Route]:
        topic_arn = str(params.get("TopicArn") or params.get("TargetArn") or "")
        topic = self.emulation.topic_resource(topic_arn)
        self._record("event", f"sns message published to {topic or topic_arn}", source="sns", resource=topic,
                     message_id=message_id)
        if topic is None:
            return []
        attributes = params.get("MessageAttributes") or {}
        message = params.get("Message", "")
        if params.get("MessageStructure") == "json":
            try:
                per_protocol = json.loads(message)
                message = per_protocol.get("lambda", per_protocol.get("default", message))
            except (ValueError, AttributeError):
                pass
        event = payloads.sns_event(message, topic_arn=topic_arn, subject=params.get("Subject"),
                                   message_attributes=_sns_attributes(attributes), message_id=message_id,
                                   region=self.account.region, account=self.account.account,
                                   time=to_datetime(self.clock.now()), rng=self.rng)
        lineage = lineage.via(f"sns:{topic}")
        return [s for s in self.router.topic_subscriptions(topic, attributes)
                if self._deliver(s, event, lineage, what=f"sns {topic}")]

    # -- schedules -------------------------------------------------------------------------

    def _next_fire(self) -> float | None:
        return min((s.next for s in self._schedules if s.next is not None), default=None)

    def _fire_due(self, now: float) -> None:
        for state in self._schedules:
            while state.next is not None and state.next <= now + 1e-4:
                at = state.next
                self._fire(state.rule, at)
                nxt = state.rule.schedule.next_after(to_datetime(at), anchor=state.anchor)  # type: ignore[union-attr]
                state.next = nxt.timestamp() if nxt is not None else None

    def _fire(self, rule: ScheduledRule, at: float) -> None:
        when = to_datetime(at)
        self._record("schedule", f"{rule.trigger.options.get('schedule')} fired (trigger {rule.name})",
                     trigger=rule.name, time=iso(at))
        if rule.has_input:
            event = rule.input
        else:
            region, acct = self.account.region, self.account.account
            arn = (f"arn:aws:scheduler:{region}:{acct}:schedule/default/{rule.rule_name}" if rule.scheduler
                   else f"arn:aws:events:{region}:{acct}:rule/{rule.rule_name}")
            event = payloads.schedule_event(arn, when, region=region, account=acct, rng=self.rng)
        self._deliver(rule, event, self._root().via(f"schedule:{rule.name}"), what="schedule", constant=rule.has_input)

    async def _schedule_timer(self, state: _ScheduleState) -> None:
        """Schedules on a real clock: plain timers."""
        while state.next is not None:
            await asyncio.sleep(max(0.0, state.next - self.clock.now()))
            self._fire_due(self.clock.now())

    # -- sending events in -----------------------------------------------------------------

    def stage_object(self, bucket: str, key: str, body: bytes | str) -> None:
        """Store ``body`` at ``key`` in ``bucket`` (logical or local name) without raising an
        event: the object a generated S3 event names, there before the event is sent."""
        resource = self._lookup("bucket", bucket)
        if resource is None:
            raise EventError(f"the app has no bucket {bucket!r} (buckets: {', '.join(self._names('bucket')) or 'none'})")
        with self.emulation.quietly():
            self.client("s3").put_object(Bucket=self.emulation.resources[resource].local_name, Key=key,
                                         Body=body.encode() if isinstance(body, str) else body)

    def send(self, event: Any, *, bus: str | None = None, trigger: str | None = None) -> list[Route]:
        """Inject an event as if AWS had delivered it; the routes that receive it.

        * S3 notification records (``{"Records": [{"eventSource": "aws:s3", ...}]}``) go to the
          bucket's triggers (by bucket name, local or logical);
        * SQS records are sent to their queue as messages (the event source mapping takes them
          from there); SNS records are published to their topic's subscriptions;
        * an EventBridge event goes to the rules of ``bus`` (a resource name; the default bus
          when None); a ``PutEvents`` entry (``Source``, ``DetailType``, ``Detail``) is put on
          its ``EventBusName``; a Scheduled Event with a schedule rule's ARN fires that schedule's
          target; an API Gateway event goes to the matching ``api`` route;
        * with ``trigger``, the event goes as it is to that trigger's target.

        The deliveries run when the runtime is driven (:meth:`run_until_idle`).
        """
        if isinstance(event, (str, bytes, bytearray)):
            try:
                event = json.loads(event)
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
            raise EventError(f"records of {source!r} cannot be sent (aws:s3, aws:sqs, aws:sns)")
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

    def _local_bucket_names(self, event: dict[str, Any]) -> dict[str, Any]:
        """An S3 event for EventBridge that names a bucket by its logical name (as `flowengine
        event generate s3-eventbridge --bucket Uploads` does) gets the emulated bucket's name."""
        detail = event.get("detail")
        if event.get("source") != "aws.s3" or not isinstance(detail, dict) or not isinstance(detail.get("bucket"), dict):
            return event
        name = str(detail["bucket"].get("name", ""))
        resource = self._lookup("bucket", name)
        if resource is None or self.emulation.resources[resource].local_name == name:
            return event
        local = self.emulation.resources[resource].local_name
        return {**event, "detail": {**detail, "bucket": {**detail["bucket"], "name": local}}}

    def _bus_name(self, bus: str | None) -> tuple[bool, str | None]:
        if bus is None or bus == "default":
            return True, None
        if bus in self.emulation.resources and self.emulation.resources[bus].kind == "event_bus":
            return True, bus
        known, res = self.emulation.bus_resource(bus)
        if not known:
            raise EventError(f"the app has no event bus {bus!r}")
        return known, res

    def _lookup(self, kind: str, name: str) -> str | None:
        for logical, r in self.emulation.resources.items():
            if r.kind == kind and name in (r.local_name, logical, r.arn, r.url):
                return logical
        for logical, r in self.emulation.resources.items():
            if r.kind == kind and name.lower() == logical.lower():
                return logical
        return None

    def _send_s3(self, record: Mapping[str, Any], lineage: Lineage) -> list[Route]:
        s3 = record.get("s3") or {}
        name = str((s3.get("bucket") or {}).get("name", ""))
        resource = self._lookup("bucket", name)
        if resource is None:
            raise EventError(f"the app has no bucket {name!r} "
                             f"(buckets: {', '.join(self._names('bucket')) or 'none'})")
        bucket = self.emulation.resources[resource].local_name
        obj = s3.get("object") or {}
        key = unquote_plus(str(obj.get("key", "")))
        event_name = str(record.get("eventName", "ObjectCreated:Put")).removeprefix("s3:")
        reason = {"Put": "PutObject", "Copy": "CopyObject", "Post": "PostObject",
                  "CompleteMultipartUpload": "CompleteMultipartUpload"}.get(event_name.split(":")[-1], "DeleteObject")
        return self._s3(bucket, key, event_name, lineage, reason=reason, size=obj.get("size"),
                        etag=obj.get("eTag"), version_id=obj.get("versionId"))

    def _send_sqs(self, record: Mapping[str, Any]) -> None:
        arn = str(record.get("eventSourceARN", ""))
        queue = self._lookup("queue", arn) or self._lookup("queue", arn.rsplit(":", 1)[-1])
        if queue is None:
            raise EventError(f"the app has no queue {arn.rsplit(':', 1)[-1]!r} "
                             f"(queues: {', '.join(self._names('queue')) or 'none'})")
        args: dict[str, Any] = {"QueueUrl": self.url(queue), "MessageBody": record.get("body", "")}
        attrs = record.get("messageAttributes") or {}
        if attrs:
            args["MessageAttributes"] = {k: _sqs_attribute_in(v) for k, v in attrs.items()}
        a = record.get("attributes") or {}
        if a.get("MessageGroupId"):
            args["MessageGroupId"] = a["MessageGroupId"]
            args["MessageDeduplicationId"] = a.get("MessageDeduplicationId") or record.get("messageId", "")
        self.client("sqs").send_message(**args)

    def _send_sns(self, record: Mapping[str, Any], lineage: Lineage) -> list[Route]:
        sns = record.get("Sns") or {}
        arn = str(sns.get("TopicArn", ""))
        topic = self._lookup("topic", arn) or self._lookup("topic", arn.rsplit(":", 1)[-1])
        if topic is None:
            raise EventError(f"the app has no topic {arn.rsplit(':', 1)[-1]!r} "
                             f"(topics: {', '.join(self._names('topic')) or 'none'})")
        attrs = {k: {"DataType": v.get("Type", "String"), "StringValue": v.get("Value")}
                 for k, v in (sns.get("MessageAttributes") or {}).items() if isinstance(v, dict)}
        params = {"TopicArn": self.emulation.resources[topic].arn, "Message": sns.get("Message", ""),
                  "Subject": sns.get("Subject"), "MessageAttributes": attrs}
        return self._sns(params, str(sns.get("MessageId") or new_uuid(self.rng)), lineage)

    def _send_api(self, event: Mapping[str, Any], lineage: Lineage) -> list[Route]:
        if "routeKey" in event:
            method = str((event.get("requestContext") or {}).get("http", {}).get("method", "GET"))
            path = str(event.get("rawPath", "/"))
        else:
            method, path = str(event.get("httpMethod", "GET")), str(event.get("path", "/"))
        self._record("event", f"api {method} {path}", source="api", method=method, path=path)
        delivered: list[Route] = []
        for route in self.router.api_routes(method, path):
            body: Any = event
            if route.target_kind == "flow":  # API Gateway → StartExecution: the request body is the input
                text = event.get("body")
                try:
                    body = json.loads(text) if isinstance(text, str) and text else {}
                except ValueError:
                    body = text
            if self._deliver(route, body, lineage, what=f"api {method} {path}"):
                delivered.append(route)
        return delivered

    def _names(self, kind: str) -> list[str]:
        return [n for n, r in self.emulation.resources.items() if r.kind == kind]


# --- SQS event source mappings -------------------------------------------------------------------


class _Poller:
    """One queue's event source mapping (or Pipe), polling on the runtime's clock.

    It receives with the queue's own visibility timeout, waits for the batching window when
    the batch is not full, deletes what succeeded, and leaves the rest to come back after
    the visibility timeout; moto moves a message to the dead-letter queue when it is
    received past ``maxReceiveCount``.  With nothing to receive it sleeps until the next
    message becomes visible, or until a send wakes it.
    """

    def __init__(self, runtime: AppRuntime, mapping: QueueMapping) -> None:
        self.rt = runtime
        self.mapping = mapping
        self.queue = mapping.queue
        self.resource = runtime.emulation.resources[mapping.queue]
        self.outstanding = 0
        self.in_flight = 0
        self.task: asyncio.Task[Any] | None = None
        self._wake: asyncio.Event | None = None
        self._dead_lettered: set[str] = set()
        dead = runtime.app.resources[mapping.queue].properties.get("dead_letter")
        self.max_receives = int(dead.get("max_receive_count", 3)) if isinstance(dead, dict) else None
        self.dlq = dead.get("queue") if isinstance(dead, dict) else None

    def notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        self.task = asyncio.current_task()
        self._wake = asyncio.Event()
        size = self.mapping.batch_size
        while True:
            self._count()
            if self.in_flight >= SQS_CONCURRENT_BATCHES:
                await self._sleep(None)
                continue
            messages = self._receive(size)
            if messages and len(messages) < size and self.mapping.batching_window > 0:
                deadline = self.rt.clock.now() + self.mapping.batching_window
                while len(messages) < size and self.rt.clock.now() < deadline:
                    await self._sleep(deadline)
                    messages += self._receive(size - len(messages))
            if messages:
                self.in_flight += 1
                self.rt._spawn(self._batch(messages), None)
                continue
            self._count()
            await self._sleep(self._next_visible())

    async def _sleep(self, until: float | None) -> None:
        assert self._wake is not None
        self._wake.clear()
        if until is None:
            await self._wake.wait()
            return
        try:
            await asyncio.wait_for(self._wake.wait(), max(0.0, until - self.rt.clock.now()))
        except TimeoutError:
            pass

    def _backend(self) -> Any:
        try:
            return self.rt.emulation.queue_backend(self.queue)
        except Exception:  # noqa: BLE001 - moto's internals moved: fall back to the API
            return None

    def _count(self) -> None:
        q = self._backend()
        if q is not None:
            self.outstanding = len(q._messages)
            return
        attrs = self.rt.client("sqs").get_queue_attributes(QueueUrl=self.resource.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        self.outstanding = sum(int(v) for v in attrs.values())

    def _next_visible(self) -> float | None:
        """When the next message in flight or delayed becomes visible (moto's times, in ms)."""
        q = self._backend()
        if q is None:  # without moto's model: look again in a second while messages are out
            return self.rt.clock.now() + 1.0 if self.outstanding else None
        times = []
        for m in q._messages:
            if getattr(m, "delayed", False):
                times.append(m.delayed_until / 1000.0 + 0.001)
            elif not m.visible:
                times.append(m.visible_at / 1000.0 + 0.001)
        return min(times, default=None)

    def _receive(self, n: int) -> list[dict[str, Any]]:
        self._note_dead_letters()
        sqs = self.rt.client("sqs")
        out: list[dict[str, Any]] = []
        while len(out) < n:
            got = sqs.receive_message(QueueUrl=self.resource.url, MaxNumberOfMessages=min(10, n - len(out)),
                                      AttributeNames=["All"], MessageAttributeNames=["All"],
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            out += got
        return out

    def _note_dead_letters(self) -> None:
        if self.max_receives is None:
            return
        q = self._backend()
        if q is None:
            return
        for m in q._messages:
            if m.visible and m.approximate_receive_count >= self.max_receives and m.id not in self._dead_lettered:
                self._dead_lettered.add(m.id)
                self.rt._record("sqs", f"{self.queue}: message {m.id} received {m.approximate_receive_count} times, "
                                f"moved to dead-letter queue {self.dlq}", queue=self.queue, message_id=m.id,
                                action="dead-letter", dlq=self.dlq)

    def _record_of(self, m: Mapping[str, Any]) -> dict[str, Any]:
        attributes = {k: v for k, v in (m.get("Attributes") or {}).items() if k in _SQS_RECORD_ATTRIBUTES}
        return {
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m.get("Body", ""),
            "attributes": attributes,
            "messageAttributes": {k: _sqs_attribute_out(v) for k, v in (m.get("MessageAttributes") or {}).items()},
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": self.resource.arn,
            "awsRegion": self.rt.account.region,
        }

    async def _batch(self, messages: list[dict[str, Any]]) -> None:
        try:
            await self._process(messages)
        finally:
            self.in_flight -= 1
            self.notify()

    async def _process(self, messages: list[dict[str, Any]]) -> None:
        rt, mapping = self.rt, self.mapping
        admitted: list[dict[str, Any]] = []
        lineage: Lineage | None = None
        for m in messages:
            mine = rt._message_lineage.get(m["MessageId"]) or rt._root().via(f"sqs:{self.queue}")
            if rt.guard.limit is not None and mine.count(mapping.key) >= rt.guard.limit:
                rt.guard.admit(mine, mapping.key, trigger=mapping.name, now=rt.clock.now(), event=m)
                rt._record("recursion", rt.guard.stops[-1].message, target=mapping.key, trigger=mapping.name,
                           trace=mine.trace_id)
                self._delete([m], dead_letter=True)
                continue
            admitted.append(m)
            if lineage is None or mine.count(mapping.key) > lineage.count(mapping.key):
                lineage = mine
        if not admitted or lineage is None:
            return
        run_as = lineage.bump(mapping.key)
        current_lineage.set(run_as)
        records = [self._record_of(m) for m in admitted]
        rt._record("sqs", f"{self.queue}: batch of {len(records)} → {mapping.target_kind} {mapping.target} "
                   f"(trigger {mapping.name})", queue=self.queue, action="batch", size=len(records),
                   trigger=mapping.name, receive_counts=[int(r["attributes"].get("ApproximateReceiveCount", 0))
                                                         for r in records])
        if mapping.target_kind == "flow":
            # An EventBridge Pipe starts one execution per batch (FIRE_AND_FORGET) with the records.
            await rt._start_execution(mapping.target, records, origin=f"trigger {mapping.name}")
            self._delete(admitted)
            return
        inv = await rt._call(mapping.target, {"Records": records}, trigger=mapping.name)
        if not inv.ok:
            rt._record("sqs", f"{self.queue}: batch failed ({inv.error}); {len(admitted)} message(s) return after "
                       "the visibility timeout", queue=self.queue, action="failed", size=len(admitted))
            return
        failed = self._failures(inv.payload, records) if mapping.report_batch_item_failures else set()
        if failed is None:
            rt._record("sqs", f"{self.queue}: invalid batchItemFailures response; the whole batch returns",
                       queue=self.queue, action="failed", size=len(admitted))
            return
        self._delete([m for m in admitted if m["MessageId"] not in failed])
        if failed:
            rt._record("sqs", f"{self.queue}: {len(failed)} of {len(admitted)} message(s) reported failed; they "
                       "return after the visibility timeout", queue=self.queue, action="partial",
                       failed=sorted(failed))

    @staticmethod
    def _failures(response: Any, records: list[dict[str, Any]]) -> set[str] | None:
        """The message ids a ReportBatchItemFailures response names; None for an invalid one
        (an identifier that is empty or not in the batch fails the whole batch, as on AWS)."""
        if not isinstance(response, dict):
            return set()
        items = response.get("batchItemFailures")
        if not items:
            return set()
        if not isinstance(items, list):
            return None
        ids = {r["messageId"] for r in records}
        out: set[str] = set()
        for item in items:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(ident, str) or ident not in ids:
                return None
            out.add(ident)
        return out

    def _delete(self, messages: list[dict[str, Any]], *, dead_letter: bool = False) -> None:
        if not messages:
            return
        sqs = self.rt.client("sqs")
        for i in range(0, len(messages), 10):
            chunk = messages[i:i + 10]
            if dead_letter and self.dlq is not None:
                for m in chunk:
                    sqs.send_message(QueueUrl=self.rt.url(self.dlq), MessageBody=m.get("Body", ""))
            sqs.delete_message_batch(QueueUrl=self.resource.url, Entries=[
                {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(chunk)])
        for m in messages:
            self.rt._message_lineage.pop(m["MessageId"], None)
        self._count()


@dataclass(slots=True)
class _ScheduleState:
    rule: ScheduledRule
    anchor: _dt.datetime
    next: float | None


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
            outcome = "ok" if type_.endswith("Succeeded") else ("throttled" if error == _THROTTLED else "error")
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


def _sns_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attributes.items():
        if not isinstance(v, dict):
            out[k] = v
        elif "BinaryValue" in v:
            raw = v["BinaryValue"]
            out[k] = {"Type": "Binary", "Value": base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw}
        else:
            out[k] = {"Type": v.get("DataType", "String"), "Value": v.get("StringValue")}
    return out


def _sqs_attribute_out(v: Mapping[str, Any]) -> dict[str, Any]:
    """A received message attribute (boto3's shape) → Lambda's record shape."""
    binary = v.get("BinaryValue")
    out: dict[str, Any] = {"stringValue": v.get("StringValue"),
                           "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
                           "stringListValues": list(v.get("StringListValues", [])),
                           "binaryListValues": [base64.b64encode(b).decode() if isinstance(b, bytes) else b
                                                for b in v.get("BinaryListValues", [])],
                           "dataType": v.get("DataType", "String")}
    return {k: x for k, x in out.items() if x is not None}


def _sqs_attribute_in(v: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's record shape → SendMessage's MessageAttributes shape."""
    out: dict[str, Any] = {"DataType": v.get("dataType", "String")}
    if v.get("stringValue") is not None:
        out["StringValue"] = v["stringValue"]
    if v.get("binaryValue") is not None:
        out["BinaryValue"] = base64.b64decode(v["binaryValue"])
    return out


__all__ = ["AppRuntime", "EventError", "EventLog", "Invocation", "InvocationError", "LogRecord"]

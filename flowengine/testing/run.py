"""Run flows in tests: one call (:func:`run_flow`) or several executions under a test's
control of time (:class:`TestRuntime`).

Both run on the virtual clock (a 24-hour Wait takes no time, the history keeps the
modelled timestamps), record a trace (``result.path``, ``result.state("X")``,
``result.retries``), and take mocks as a dict or a :class:`~flowengine.integrations.mocks.MockSet`
(a MockConfigFile test case is one)::

    result = run_flow("app.yaml", "checkout", input={"order": 1},
                      mocks={"Charge": mocks.returns({"paymentId": "p1"})})
    assert result.path == ["Validate", "Charge", "Done"]

    with TestRuntime() as rt:
        a = rt.start("app.yaml", {"n": 1}, flow="checkout")
        b = rt.start("app.yaml", {"n": 2}, flow="checkout")
        rt.advance(timedelta(minutes=5))     # everything due in the next five minutes runs
        rt.run_until_idle()                  # the rest
        assert a.result().succeeded and b.result().succeeded

A Python exception raised by a mock callable (``mocks.call(fn)``) is a bug in the test:
these helpers raise it, rather than returning a failed execution.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flowengine.engine.clock import Clock, VirtualClock, to_datetime
from flowengine.engine.result import ExecutionResult
from flowengine.errors import FlowengineError
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.runtime.api import check_options
from flowengine.runtime.app import AppRuntime
from flowengine.runtime.engine import ExecutionHandle

__all__ = ["RunningExecution", "TestRuntime", "run_flow"]

Handlers = Mapping[str, Callable[..., Any] | LambdaFunction]


def run_flow(app_or_path: Any, flow: str | None = None, *args: Any, input: Any = None, mocks: Any = None,
             handlers: Handlers | None = None, seed: int | None = 0, clock: Clock | None = None,
             require_all_mocks: bool = False, name: str | None = None, express: bool | None = None,
             **options: Any) -> ExecutionResult:
    """Run one execution of a flow to its end and return its :class:`ExecutionResult`, traced.

    * ``app_or_path``: an app file or ASL file path, a definition dict, a ``LoadedApp``, an
      ``App`` or a ``StateMachine``; ``flow`` names the flow when the app has several;
    * ``input``: the execution input (keyword-only: a JSON value, or JSON text);
    * ``mocks``: Task mocks by state name or path (``{"Charge": mocks.returns(...)}``, a
      ``MockSet``, ``load_mock_config(p).test_case("Machine", "HappyPath")``); a mocked Task
      never runs its function or service.  A key that names no Task of the flow raises
      ``MockConfigError`` before the run starts; mocks the run never used come back as
      ``result.warnings`` (FE716);
    * ``require_all_mocks``: raise ``MockConfigError`` naming every Task left unmocked;
    * ``handlers``: function name → callable (or :class:`LambdaFunction`), standing in for
      the app's own handlers;
    * ``seed``: the random source behind jitter, ids and ``States.UUID`` (same seed, same run);
    * ``clock``: default a fresh :class:`VirtualClock` (pass ``VirtualClock(start=...)`` to
      choose the start instant);
    * ``express``: run as EXPRESS (True) or STANDARD (False), whatever the flow declares;
    * ``options``: the rest of :class:`~flowengine.runtime.app.AppRuntime`'s options
      (``limits``, ``account``, ``sync_handlers``, ``validate``, ``substitutions``,
      ``integrations``, ``listeners``, ``recursion_limit`` ...).

    The run happens in an app runtime, like every local entry point: the app's buckets,
    tables, queues, topics and buses are emulated in-process (moto) and its triggers fire;
    a handler's AWS call never leaves the machine.  A failed execution is a result
    (``status``, ``error``, ``cause``), not an exception.
    """
    if args or (flow is not None and not isinstance(flow, str)):
        raise TypeError("run_flow() takes the input by keyword: run_flow(app, input={...}) "
                        "(or run_flow(app, 'FlowName', input={...}))")
    options.pop("record", None)
    check_options("run_flow", options)
    with AppRuntime(app_or_path, clock=clock, seed=seed, handlers=handlers, mocks=mocks,
                    require_all_mocks=require_all_mocks, record=True, **options) as runtime:
        handle = runtime.start_flow(flow, input, name=name, express=express)
        result = runtime.wait(handle)
        _raise_test_bug(handle)
        return result


def _raise_test_bug(handle: ExecutionHandle) -> None:
    error = handle.execution.internal_error
    if error is not None:
        raise error


class RunningExecution:
    """An execution started by a :class:`TestRuntime`.  It runs whenever the runtime's clock
    runs (``advance``, ``run_until_idle``, or :meth:`result`)."""

    def __init__(self, runtime: "TestRuntime", handle: ExecutionHandle) -> None:
        self.runtime = runtime
        self.handle = handle

    def __repr__(self) -> str:
        return f"<RunningExecution {self.name} {self.status}>"

    @property
    def arn(self) -> str:
        return self.handle.arn

    @property
    def name(self) -> str:
        return self.handle.execution.name

    @property
    def status(self) -> str:
        """``RUNNING`` until it ends, then ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``."""
        return self.handle.status

    def done(self) -> bool:
        return self.handle.done()

    def snapshot(self) -> ExecutionResult:
        """The execution as it stands now: history, path and attempts so far."""
        return self.handle.snapshot()

    def stop(self, error: str | None = None, cause: str | None = None) -> bool:
        """StopExecution (status ABORTED once the clock runs); False if it had already ended."""
        return self.handle.stop(error, cause)

    def result(self, timeout: timedelta | float | None = None) -> ExecutionResult:
        """Run the clock until this execution ends (other executions run along), and return
        its result.  ``timeout``: give up after that much *virtual* time.  Raises
        :class:`FlowengineError` when the execution cannot end: it waits for something no
        timer will bring (a task token nobody sends), or the timeout passed first."""
        if not self.done():
            seconds = None if timeout is None else _seconds(timeout)
            self.runtime.engine.run_async(self.runtime._until(self.handle, seconds))
            if not self.done():
                why = ("it waits for something no timer will bring (a task token nobody sends?)"
                       if seconds is None else f"it was still running {seconds:g} s (virtual) later")
                raise FlowengineError(f"execution {self.name!r} did not end: {why}; "
                                      f"it is in {self._where()} at {self.runtime.now.isoformat()}")
        result = self.handle.execution.snapshot() if self.handle.execution.task is None \
            else self.handle.execution.task.result()
        _raise_test_bug(self.handle)
        return result

    def _where(self) -> str:
        trace = self.handle.execution.trace
        if trace is not None and trace.path:
            return f"state {trace.path[-1]!r}"
        return "its first state"


class TestRuntime:
    """Several executions on one virtual clock, with time in the test's hands.

    :meth:`start` creates an execution and returns at once (nothing runs yet);
    :meth:`advance` runs everything that falls due up to now + delta (waits, backoffs,
    timeouts, ``asyncio.sleep`` in handlers), then stops with the clock at exactly that
    instant; :meth:`run_until_idle` runs until every execution has ended or waits for
    something no timer brings; ``execution.result()`` runs until that one ends.

    The options are :func:`run_flow`'s (``mocks`` and ``handlers`` apply to every
    execution; ``start(..., mocks=...)`` gives one its own).  ``start`` is the clock's
    first instant (default 2024-01-01T00:00:00Z).  Close it (or use ``with``) to release
    the loop; the ``flowengine_runtime`` pytest fixture does that for you.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, app: Any = None, *, start: datetime | float | None = None, seed: int | None = 0,
                 mocks: Any = None, handlers: Handlers | None = None, require_all_mocks: bool = False,
                 **options: Any) -> None:
        options.pop("record", None)
        check_options("TestRuntime", options)
        self.clock = VirtualClock(start)
        self._app = app
        self._options = dict(options, seed=seed, handlers=handlers, mocks=mocks, require_all_mocks=require_all_mocks)
        self._runtime: AppRuntime | None = None
        self._closed = False
        self.executions: list[RunningExecution] = []

    @property
    def runtime(self) -> AppRuntime:
        """The app runtime underneath, started on first use (so that a fixture nobody uses
        holds no emulation, and a test can run other flows before it starts this one)."""
        if self._runtime is None:
            if self._closed:
                raise FlowengineError("this TestRuntime is closed")
            runtime = AppRuntime(self._app, clock=self.clock, record=True, **self._options)
            runtime.start()
            self._runtime = runtime
        return self._runtime

    @property
    def engine(self) -> Any:
        """The runtime's :class:`~flowengine.runtime.engine.Engine` (callbacks, nested executions)."""
        return self.runtime.engine

    def __enter__(self) -> "TestRuntime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Cancel what still runs, stop the emulation and release the loop."""
        self._closed = True
        if self._runtime is not None:
            self._runtime.close()
        self.clock.close()

    @property
    def now(self) -> datetime:
        """The clock's current instant (UTC)."""
        return to_datetime(self.clock.now())

    def start(self, source: Any = None, input: Any = None, *, flow: str | None = None, name: str | None = None,
              mocks: Any = None, express: bool | None = None) -> RunningExecution:
        """Create an execution at the current instant; it runs when the clock next runs.
        ``source``: the definition to run (a path, a dict, an app ...); None runs a flow of
        the runtime's own app (``TestRuntime("app.yaml")``)."""
        if self._runtime is None and self._app is None and source is not None:
            self._app = source  # the first definition started gives the runtime its app (and resources)
        handle = self.runtime.submit(source, input, flow=flow, name=name, mocks=mocks, express=express)
        execution = RunningExecution(self, handle)
        self.executions.append(execution)
        return execution

    def advance(self, delta: timedelta | float) -> None:
        """Run everything due up to now + ``delta`` (seconds, or a timedelta), in timer order;
        then stop, with the clock at exactly now + ``delta``."""
        seconds = _seconds(delta)
        if seconds < 0:
            raise ValueError("time only moves forward: advance() takes a delta of 0 or more")
        target = self.clock.now() + seconds
        self.engine.run_async(self.clock.settle(target, jump=True))
        self._check_bugs()

    def run_until_idle(self) -> None:
        """Run until every execution has ended, or nothing more is scheduled (an execution
        waiting for a task token stays RUNNING)."""
        self.engine.run_async(self._until(None, None))
        self._check_bugs()

    async def _until(self, handle: ExecutionHandle | None, seconds: float | None) -> None:
        candidates = [e.handle.execution.task for e in self.executions if not e.done()] if handle is None \
            else [handle.execution.task]
        tasks = [t for t in candidates if t is not None]
        until = math.inf if seconds is None else self.clock.now() + seconds
        settle = asyncio.ensure_future(self.clock.settle(until))
        waiters: list[asyncio.Future[Any]] = [settle]
        if tasks:
            waiters.append(asyncio.ensure_future(asyncio.wait(tasks)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _check_bugs(self) -> None:
        for e in self.executions:
            if e.done() and not getattr(e, "_reported", False):
                e._reported = True  # type: ignore[attr-defined]
                _raise_test_bug(e.handle)


def _seconds(delta: timedelta | float) -> float:
    return delta.total_seconds() if isinstance(delta, timedelta) else float(delta)

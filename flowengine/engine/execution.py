"""One execution: its identity, history, context object, and the interpreter loop.

:func:`run_scope` is the interpreter: it walks the compiled graph, calling synchronous
states directly and awaiting the asynchronous ones (Task, Wait, Parallel, Map), so a chain
of Pass states costs no coroutine switch.  :class:`Execution` wraps the top-level scope
with the execution's timeout, its terminal events and its status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowengine.engine.clock import call_at_weakly, iso
from flowengine.engine.context import current_execution, current_map_index
from flowengine.model.failure import RUNTIME, TIMEOUT, StatesFailure
from flowengine.engine.history import NOT_TRUNCATED, History, HistoryLimitExceeded, failure_details
from flowengine.engine.options import AccountInfo, EngineLimits
from flowengine.engine.result import ExecutionResult
from flowengine.engine.scope import Scope
from flowengine.engine.callbacks import TaskTokens

if TYPE_CHECKING:
    from flowengine.engine.compiler import Program
    from flowengine.engine.states.base import Node
    from flowengine.engine.tasks import Integrations

log = logging.getLogger("flowengine.engine")

RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED = "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"


async def run_scope(program: "Program", scope: Scope, data: Any) -> Any:
    """Run a state machine scope from its StartAt to a terminal state; returns its output.
    A failure that no Catch handles propagates as :class:`StatesFailure`."""
    node: Node | None = program.start
    try:
        while node is not None:
            if node.is_async:
                current = node
                try:
                    node, data = await current.arun(scope, data)
                except asyncio.CancelledError:
                    # A sibling branch/iteration failed (or the execution stops): the state in
                    # flight is aborted.
                    if not scope.execution.stopping and scope.state is current:
                        scope.record(f"{current.type}StateAborted")
                    raise
            else:
                node, data = node.run(scope, data)
    except StatesFailure as failure:
        # ``node`` is the state that failed (no Catch took it): tell the observers.
        if scope.execution.listeners and node is not None:
            scope.execution.notify("state_failed", scope, node, failure)
        raise
    return data


class Listener:
    """Observer of an execution: override the hooks you need (all are no-ops).

    ``event`` receives every history event as it is recorded (its id and the raw
    ``(type, previousEventId, timestamp, detailsKey, details)`` tuple); the others are
    semantic moments with the scope and the compiled state:

    * ``state_entered`` / ``state_exited``: a state starts (its first attempt) and ends;
    * ``retry``: an attempt failed and a Retrier takes it; the next attempt starts after
      ``delay`` seconds, with ``retry_started``;
    * ``state_failed``: the state failed for good, before a Catch takes it (then
      ``state_exited`` follows with the catcher's output) or the failure leaves its scope;
    * ``wait``: a Wait state waits ``seconds``.

    Only an execution with a listener that overrides ``event`` pays for it on every event.
    """

    def event(self, execution: "Execution", event_id: int, event: tuple[Any, ...]) -> None: ...

    def state_entered(self, execution: "Execution", scope: Scope, node: Any, data: Any) -> None: ...

    def state_exited(self, execution: "Execution", scope: Scope, node: Any, output: Any) -> None: ...

    def retry(self, execution: "Execution", scope: Scope, node: Any, failure: StatesFailure, delay: float) -> None: ...

    def retry_started(self, execution: "Execution", scope: Scope, node: Any) -> None: ...

    def state_failed(self, execution: "Execution", scope: Scope, node: Any, failure: StatesFailure) -> None: ...

    def wait(self, execution: "Execution", scope: Scope, node: Any, seconds: float) -> None: ...


class _Overtime:
    """The maximum-execution-time bound of one execution: cancels its task when due."""

    __slots__ = ("fired", "task", "timer")

    def __init__(self, task: "asyncio.Task[Any] | None") -> None:
        self.task = task
        self.fired = False
        self.timer: Any = None

    def expire(self) -> None:
        if self.task is not None and not self.task.done():
            self.fired = True
            self.task.cancel()

    def took(self) -> bool:
        """Whether the cancellation being handled is this bound's own."""
        return self.fired and self.task is not None and self.task.uncancel() == 0


class Execution:
    """A running (then finished) execution.  Create through :class:`flowengine.runtime.engine.Engine`."""

    def __init__(self, program: "Program", *, input_value: Any, input_text: str, name: str,
                 state_machine_name: str, express: bool, express_id: str, account: AccountInfo,
                 limits: EngineLimits, rng: random.Random, now: Callable[[], float],
                 integrations: "Integrations", listeners: list[Listener] | None = None,
                 callbacks: "TaskTokens | None" = None) -> None:
        self.program = program
        self.input = input_value
        self.input_text = input_text
        self.name = name
        self.state_machine_name = state_machine_name
        self.express = express
        self.account = account
        self.limits = limits
        self.rng = rng
        self.now = now
        self.integrations = integrations
        #: the task tokens of ``.waitForTaskToken`` tasks (the engine's registry, shared by its executions)
        self.callbacks = callbacks if callbacks is not None else TaskTokens()
        self.listeners = list(listeners or [])
        #: what the testing API asks for (``Engine(record=True)``): an ExecutionTrace listener
        self.trace: Any = None
        #: per function: invocations in flight, the most at once, and throttled invocations
        #: (kept by the local Lambda runtime, created on its first call: see integrations.lambda_local)
        self.functions_in_flight: Counter[str] | None = None
        self.peak_concurrency: Counter[str] | None = None
        self.throttles: Counter[str] | None = None
        #: problems worth a look that did not fail the run (unused mocks ...): Diagnostics
        self.warnings: list[Any] = []
        self.arn = account.execution_arn(state_machine_name, name, express, express_id)
        self.state_machine_arn = account.state_machine_arn(state_machine_name)
        self.role_arn = account.role_for(state_machine_name)
        self.history = History(limits.max_history_events)
        if any(type(listener).event is not Listener.event for listener in self.listeners):
            self.history.listeners.append(self._on_event)
        self.child_histories: list[History] = []
        self.status = RUNNING
        self.output: Any = None
        self.error: str | None = None
        self.cause: str | None = None
        self.start_ts = now()
        self.stop_ts: float | None = None
        self.stopping = False
        self._began = False  # run() has taken its first step (a task cancelled before that never runs)
        self._stop_error: str | None = None
        self._stop_cause: str | None = None
        self.task: asyncio.Task[ExecutionResult] | None = None
        self.internal_error: BaseException | None = None
        self.context_execution = {
            "Id": self.arn, "Input": input_value, "StartTime": iso(self.start_ts), "Name": name,
            "RoleArn": self.role_arn, "RedriveCount": 0,
        }
        self.context_state_machine = {"Id": self.state_machine_arn, "Name": state_machine_name}

    # -- observers -----------------------------------------------------------------------

    def _on_event(self, event_id: int, event: tuple[Any, ...]) -> None:
        for listener in self.listeners:
            listener.event(self, event_id, event)

    def notify(self, hook: str, *args: Any) -> None:
        for listener in self.listeners:
            getattr(listener, hook)(self, *args)

    # -- running -------------------------------------------------------------------------

    async def run(self) -> ExecutionResult:
        """Run to a terminal status and return the result (never raises for a failed run)."""
        current_execution.set(self)
        self._began = True
        if current_map_index.get() is not None:
            current_map_index.set(None)  # a child execution started from inside a Map iteration
        add = self.history.add
        add("ExecutionStarted", 0, self.start_ts, "executionStartedEventDetails",
            {"input": self.input_text, "inputDetails": NOT_TRUNCATED, "roleArn": self.role_arn})
        scope = Scope(self, {}, "execution", 0)
        timeout = self.program.timeout_seconds
        cap = self.max_duration()
        deadline: asyncio.Timeout | None = None
        # AWS's maximum execution time is a weak timer: it ends the execution once time passes
        # it, but never makes time pass by itself (an execution waiting for a task token, with
        # nothing else to do, stays RUNNING instead of timing out a year later).
        over = _Overtime(asyncio.current_task()) if not timeout or timeout > cap else None
        if over is not None:
            loop = asyncio.get_running_loop()
            over.timer = call_at_weakly(loop, loop.time() + cap, over.expire)
        try:
            if self.stopping:  # StopExecution came before the execution's first step
                raise asyncio.CancelledError
            if timeout and over is None:
                async with asyncio.timeout(timeout) as deadline:
                    output = await run_scope(self.program, scope, self.input)
            else:
                output = await run_scope(self.program, scope, self.input)
        except TimeoutError as exc:
            if deadline is None or not deadline.expired():
                self._internal_error(exc, scope)
            else:
                self._timed_out(scope)
        except StatesFailure as failure:
            self.error, self.cause = failure.error, failure.cause
            self._finish(FAILED, scope, "ExecutionFailed", "executionFailedEventDetails",
                         failure_details(failure.error, failure.cause))
        except HistoryLimitExceeded:
            self.error = RUNTIME
            self.cause = (f"The execution reached the maximum number of history events "
                          f"({self.limits.max_history_events}).")
            self._finish(FAILED, scope, "ExecutionFailed", "executionFailedEventDetails",
                         failure_details(self.error, self.cause))
        except asyncio.CancelledError:
            if over is not None and over.took():
                self._timed_out(scope)
                return self.snapshot()
            if not self.stopping:
                raise
            self.error, self.cause = self._stop_error, self._stop_cause
            self._finish(ABORTED, scope, "ExecutionAborted", "executionAbortedEventDetails",
                         failure_details(self.error, self.cause))
        except Exception as exc:
            self._internal_error(exc, scope)
        else:
            text = scope.text(output)
            # The caller gets its own copy: engine values share constant parts of the definition.
            self.output = json.loads(text)
            self._finish(SUCCEEDED, scope, "ExecutionSucceeded", "executionSucceededEventDetails",
                         {"output": text, "outputDetails": NOT_TRUNCATED})
        finally:
            if over is not None:
                over.timer.cancel()
        return self.snapshot()

    def max_duration(self) -> float:
        """AWS's maximum execution time: one year STANDARD, five minutes EXPRESS (configurable
        in :class:`EngineLimits`).  Past it the execution ends TIMED_OUT with
        ``States.Timeout``, as its own ``TimeoutSeconds`` ends it ("If an execution runs for
        more than the 1-year maximum, it will fail with a States.Timeout error", AWS's quotas
        page; likewise for Express and its 5-minute maximum)."""
        limits = self.limits
        return limits.max_express_execution_seconds if self.express else limits.max_execution_seconds

    def _timed_out(self, scope: Scope) -> None:
        self._finish(TIMED_OUT, scope, "ExecutionTimedOut", "executionTimedOutEventDetails", {"error": TIMEOUT})

    def _internal_error(self, exc: BaseException, scope: Scope) -> None:
        # A bug in the engine: the run fails with AWS's shape; the traceback goes to the log
        # and stays on ``internal_error``.
        log.error("internal error in execution %s", self.arn, exc_info=exc)
        self.internal_error = exc
        self.error, self.cause = RUNTIME, f"Internal error: {type(exc).__name__}: {exc}"
        self._finish(FAILED, scope, "ExecutionFailed", "executionFailedEventDetails",
                     failure_details(self.error, self.cause))

    def _finish(self, status: str, scope: Scope, type_: str, key: str, details: dict[str, Any]) -> None:
        self.stop_ts = self.now()
        self.status = status
        self.history.add(type_, scope.last, self.stop_ts, key, details)

    def stop(self, error: str | None = None, cause: str | None = None) -> bool:
        """Abort the execution (AWS StopExecution): status ABORTED, an ExecutionAborted event.
        Returns False when it had already finished."""
        if self.status != RUNNING or self.task is None or self.task.done():
            return False
        self.stopping = True
        self._stop_error, self._stop_cause = error, cause
        if self._began:  # else run() ends it as ABORTED at its first step, with its history
            self.task.cancel()
        return True

    def snapshot(self) -> ExecutionResult:
        """The execution as it stands (its final result once it has finished)."""
        result = ExecutionResult(
            status=self.status, output=self.output if self.status == SUCCEEDED else None,
            error=self.error, cause=self.cause, execution_arn=self.arn, name=self.name,
            state_machine_arn=self.state_machine_arn, start_ts=self.start_ts, stop_ts=self.stop_ts,
            input=self.input, recorded=self.history, warnings=tuple(self.warnings), trace=self.trace,
        )
        if self.peak_concurrency is not None:
            result.peak_concurrency.update(self.peak_concurrency)
        if self.throttles is not None:
            result.throttles.update(self.throttles)
        return result


__all__ = ["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT", "Execution", "Listener", "run_scope"]

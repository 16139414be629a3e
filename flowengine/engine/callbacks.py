"""Task tokens: the callback pattern (``.waitForTaskToken``) on the engine's clock.

A Task whose Resource ends in ``.waitForTaskToken`` gets a fresh token in ``$$.Task.Token``
(drawn from the engine's seeded random source), makes its integration call (an SQS message,
an SNS publish, a Lambda invoke ... carrying the token), records ``TaskSubmitted`` and then
waits until someone answers with the token::

    engine.send_task_success(token, {"approved": True})      # → TaskSucceeded, the output
    engine.send_task_failure(token, "Rejected", "too big")   # → TaskFailed, error/cause
    engine.send_task_heartbeat(token)                        # → HeartbeatSeconds starts over

:class:`TaskTokens` is the engine's registry of issued tokens.  Its ``send_*`` methods are
safe from any thread and from the loop itself; they raise AWS's errors (as
:class:`TaskTokenError` subclasses) for a token that was never issued (:class:`InvalidToken`),
one whose task timed out (:class:`TaskTimedOut`) or one whose task no longer waits
(:class:`TaskDoesNotExist`: answered already, failed, or its execution ended), and
:class:`InvalidOutput` for output that is not JSON.

Finding the token in a test, on the virtual clock (respond from the loop: a reply from
another thread comes after virtual time has already skipped to the next timer):

* ``await engine.wait_for_task("Approve")`` in an async scenario returns the
  :class:`PendingTask` once the state waits;
* ``engine.on_task_token(fn)`` calls ``fn(pending)`` on the loop as each task starts
  waiting (it may answer right away);
* ``engine.pending_tokens()`` lists the tasks waiting now; or read the token from the
  message the task sent.

Expiry, as AWS records it (recorded histories: tests/aws/.../timeouts/test_heartbeats):
``HeartbeatSeconds`` without a heartbeat and ``TimeoutSeconds`` both end the attempt with a
``TaskTimedOut`` event whose error is ``States.Timeout``; a heartbeat expiry is also
matched by ``ErrorEquals: ["States.HeartbeatTimeout"]`` in Retry and Catch.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowengine.model.failure import TIMEOUT, StatesFailure
from flowengine.errors import FlowengineError

__all__ = [
    "HeartbeatTimedOut",
    "InvalidOutput",
    "InvalidToken",
    "PendingTask",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "TaskTokenError",
    "TaskTokens",
    "new_task_token",
]


class TaskTokenError(FlowengineError):
    """SendTaskSuccess/Failure/Heartbeat was refused; ``code`` is AWS's error code."""

    code = "TaskTokenError"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message


class InvalidToken(TaskTokenError):
    """The token was never issued by this engine."""

    code = "InvalidToken"


class TaskDoesNotExist(TaskTokenError):
    """The token's task no longer waits: it was answered, failed, or its execution ended."""

    code = "TaskDoesNotExist"


class TaskTimedOut(TaskTokenError):
    """The token's task timed out (TimeoutSeconds or HeartbeatSeconds) before the answer."""

    code = "TaskTimedOut"


class InvalidOutput(TaskTokenError):
    """SendTaskSuccess output that is not JSON text (or not JSON-serializable)."""

    code = "InvalidOutput"


class HeartbeatTimedOut(StatesFailure):
    """No heartbeat arrived within HeartbeatSeconds (raised inside the Task attempt).

    Its error is ``States.Timeout``, as AWS records it; ``heartbeat`` lets Retry and Catch
    match ``States.HeartbeatTimeout`` too."""

    def __init__(self) -> None:
        super().__init__(TIMEOUT, None)
        self.heartbeat = True


def new_task_token(rng: random.Random) -> str:
    """A task token drawn from ``rng``: opaque URL-safe text, like AWS's (which is longer)."""
    raw = rng.getrandbits(64 * 8).to_bytes(64, "big")
    return "AQB" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass(eq=False)
class PendingTask:
    """A Task waiting for its token (what :meth:`TaskTokens.pending` lists).

    ``submitted`` is what the integration call returned (the ``TaskSubmitted`` output), set
    once the call is made; ``heartbeat_seconds``/``timeout_seconds`` are the state's.
    """

    token: str
    execution_arn: str
    state_name: str
    state_path: str
    resource: str
    heartbeat_seconds: float | None = None
    timeout_seconds: float | None = None
    submitted: Any = None
    # -- bookkeeping (the registry's) --
    status: str = field(default="issued", repr=False)  # issued | waiting | answered | done | timed_out
    outcome: tuple[str, Any, Any] | None = field(default=None, repr=False)
    last_beat: float = field(default=0.0, repr=False)
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    wake: asyncio.Event | None = field(default=None, repr=False)


class TaskTokens:
    """The registry of task tokens one engine issued; see the module docstring.

    The Task state calls :meth:`issue` (before its integration call, so an answer that
    arrives during the call counts), :meth:`wait` after ``TaskSubmitted``, and
    :meth:`release` when the attempt ends however it ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, PendingTask] = {}
        self._listeners: list[Callable[[PendingTask], Any]] = []
        self._watchers: list[tuple[str | None, asyncio.Future[PendingTask]]] = []

    # -- the Task state's side (on the loop) -------------------------------------------------

    def issue(self, token: str, *, execution_arn: str, state_name: str, state_path: str,
              resource: str, heartbeat_seconds: float | None = None,
              timeout_seconds: float | None = None) -> PendingTask:
        """Register the token of one attempt of a Task (from :func:`new_task_token`; call on the loop)."""
        loop = asyncio.get_running_loop()
        task = PendingTask(token, execution_arn, state_name, state_path, resource, heartbeat_seconds,
                           timeout_seconds, loop=loop, wake=asyncio.Event(), last_beat=loop.time())
        with self._lock:
            self._tasks[token] = task
        return task

    async def wait(self, task: PendingTask, submitted: Any) -> Any:
        """Wait for the answer to ``task``'s token; return SendTaskSuccess's output.

        Raises :class:`StatesFailure` with SendTaskFailure's error/cause, or
        :class:`HeartbeatTimedOut` when HeartbeatSeconds pass without a heartbeat.
        TimeoutSeconds is the caller's (it cancels this wait)."""
        loop = asyncio.get_running_loop()
        assert task.wake is not None
        with self._lock:
            task.submitted = submitted
            if task.status == "issued":
                task.status = "waiting"
        self._announce(task)
        beat = task.heartbeat_seconds
        while True:
            task.wake.clear()
            with self._lock:
                outcome = task.outcome
            if outcome is not None:
                break
            if beat is None:
                await task.wake.wait()
                continue
            remaining = task.last_beat + beat - loop.time()
            if remaining <= 0:
                with self._lock:
                    if task.outcome is not None:
                        continue
                    task.status = "timed_out"
                raise HeartbeatTimedOut()
            try:
                await asyncio.wait_for(task.wake.wait(), remaining)
            except TimeoutError:
                pass
        kind, first, second = outcome
        if kind == "success":
            return first
        raise StatesFailure(first, second)

    def release(self, task: PendingTask, *, timed_out: bool = False) -> None:
        """The attempt is over: later answers get TaskTimedOut or TaskDoesNotExist."""
        with self._lock:
            if task.status != "timed_out":
                task.status = "timed_out" if timed_out else "done"

    # -- the answering side (any thread) ------------------------------------------------------

    def send_success(self, token: str, output: Any) -> None:
        """SendTaskSuccess.  ``output`` is a JSON value, or JSON text as AWS takes it."""
        value = _parse_output(output)
        self._answer(token, ("success", value, None))

    def send_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        """SendTaskFailure: the Task fails with ``error``/``cause`` (Retry and Catch apply)."""
        self._answer(token, ("failure", error, cause))

    def send_heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: HeartbeatSeconds starts over for the token's task."""
        task = self._live(token)
        loop = task.loop
        assert loop is not None
        task.last_beat = loop.time()
        self._wake(task)

    def pending(self) -> list[PendingTask]:
        """The tasks waiting for an answer now (in the order they were issued)."""
        with self._lock:
            return [t for t in self._tasks.values() if t.status == "waiting" and t.outcome is None]

    def on_token(self, listener: Callable[[PendingTask], Any]) -> None:
        """Call ``listener(pending)`` on the loop whenever a task starts waiting for its token."""
        self._listeners.append(listener)

    async def next_pending(self, state: str | None = None) -> PendingTask:
        """The first task waiting now (for ``state``: its name or path), or the next to wait."""
        for task in self.pending():
            if state is None or state in (task.state_name, task.state_path):
                return task
        future: asyncio.Future[PendingTask] = asyncio.get_running_loop().create_future()
        self._watchers.append((state, future))
        return await future

    # -- internals ----------------------------------------------------------------------------

    def _announce(self, task: PendingTask) -> None:
        for listener in list(self._listeners):
            listener(task)
        if not self._watchers:
            return
        keep: list[tuple[str | None, asyncio.Future[PendingTask]]] = []
        for state, future in self._watchers:
            if future.done():
                continue
            if state is None or state in (task.state_name, task.state_path):
                future.set_result(task)
            else:
                keep.append((state, future))
        self._watchers = keep

    def _live(self, token: str) -> PendingTask:
        with self._lock:
            return self._open_task(token)

    def _open_task(self, token: str) -> PendingTask:
        """The task still waiting for ``token``, or AWS's error for a token that is not (hold the lock)."""
        task = self._tasks.get(token) if isinstance(token, str) else None
        if task is None:
            raise InvalidToken("Invalid token")
        if task.status == "timed_out":
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
        if task.status == "done" or task.outcome is not None:
            raise TaskDoesNotExist("Task does not exist anymore")
        return task

    def _answer(self, token: str, outcome: tuple[str, Any, Any]) -> None:
        with self._lock:
            task = self._open_task(token)
            task.outcome = outcome
            task.status = "answered"
        self._wake(task)

    @staticmethod
    def _wake(task: PendingTask) -> None:
        loop, wake = task.loop, task.wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)


def _parse_output(output: Any) -> Any:
    if isinstance(output, (str, bytes, bytearray)):
        try:
            return json.loads(output)
        except ValueError as exc:
            raise InvalidOutput(f"Invalid Output: the output is not valid JSON: {exc}") from None
    try:
        return json.loads(json.dumps(output))
    except (TypeError, ValueError) as exc:
        raise InvalidOutput(f"Invalid Output: the output is not JSON-serializable: {exc}") from None

"""What an execution did, state by state: the path it took and every attempt of every state.

The history (GetExecutionHistory) tells the same story in AWS's shape; a trace tells it in
the shape a test asserts on::

    result.path                          # ["Validate", "CheckSize", "Fulfil", "Fulfil/1/Charge", ...]
    result.state("Charge").retry_delays  # [2.0, 4.0]
    result.state("Charge")[0].error      # "PaymentGatewayBusy"

Recording is a :class:`~flowengine.engine.execution.Listener`, attached only when asked
(``Engine(record=True)``; the testing API always asks), so an engine that nobody traces
pays nothing for it.

**Naming.**  A state is named by its *path*: its name at the top level, and its name
behind the scopes that hold it inside a Map (``Ship/ShipOne``) or a Parallel branch (the
branch's index: ``Fulfil/1/Charge``; nested: ``Fulfil/0/ReserveAll/Reserve``).  ASL
state names are unique across a whole state machine, so :meth:`ExecutionTrace.state`
also takes the plain name.  The iterations of a Map share their states' paths; each
attempt records ``map_index``, the index of the innermost iteration it ran in.

**Attempts.**  Every entry into a state starts attempt 0; each retry of a Task, Parallel
or Map starts the next one after its backoff.  An attempt keeps the state's input, its
output (the state output, after ResultPath/OutputPath or Output; for a caught failure the
catcher's output), its ``error``/``cause``, the backoff waited before it
(``retry_delay``), and when it started and ended on the execution's clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, overload

from flowengine.engine.clock import to_datetime
from flowengine.engine.context import current_map_index
from flowengine.engine.execution import Listener

if TYPE_CHECKING:
    from flowengine.engine.execution import Execution
    from flowengine.model.asl import StateMachine
    from flowengine.model.failure import StatesFailure
    from flowengine.engine.scope import Scope

SUCCEEDED, FAILED, CAUGHT, INCOMPLETE = "succeeded", "failed", "caught", "incomplete"


@dataclass(eq=False, slots=True)
class Attempt:
    """One attempt of one state.

    ``number`` counts the retries of this entry into the state (0: the first try);
    ``entry`` counts the entries into the state (loops and Map iterations enter again).
    ``status`` is ``succeeded``, ``failed``, ``caught`` (it failed and a Catch took it:
    ``output`` is the catcher's output) or ``incomplete`` (the execution stopped, timed
    out or failed elsewhere while the attempt ran).
    """

    state: str
    name: str
    number: int
    entry: int
    input: Any
    started_ts: float
    retry_delay: float | None = None
    map_index: int | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    ended_ts: float | None = None
    caught: bool = False

    @property
    def status(self) -> str:
        if self.error is not None:
            return CAUGHT if self.caught else FAILED
        return SUCCEEDED if self.ended_ts is not None else INCOMPLETE

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def failed(self) -> bool:
        """It ended with an error (whether or not a Catch then took it)."""
        return self.error is not None

    @property
    def started(self) -> datetime:
        return to_datetime(self.started_ts)

    @property
    def ended(self) -> datetime | None:
        return to_datetime(self.ended_ts) if self.ended_ts is not None else None

    @property
    def duration(self) -> timedelta | None:
        """How long the attempt took on the execution's clock (None while incomplete)."""
        return None if self.ended_ts is None else timedelta(seconds=round(self.ended_ts - self.started_ts, 6))

    def to_json(self) -> dict[str, Any]:
        """The attempt as JSON-ready values (timestamps as ISO-8601 text)."""
        ended = self.ended
        return {
            "state": self.state, "name": self.name, "number": self.number, "entry": self.entry,
            "mapIndex": self.map_index, "status": self.status, "input": self.input, "output": self.output,
            "error": self.error, "cause": self.cause, "retryDelay": self.retry_delay,
            "started": self.started.isoformat(), "ended": ended.isoformat() if ended is not None else None,
        }

    def __repr__(self) -> str:
        what = f"error={self.error!r}" if self.error is not None else f"output={self.output!r}"
        return f"<Attempt {self.state}#{self.entry}.{self.number} {self.status} {what}>"


class StateRecord(Sequence[Attempt]):
    """The attempts of one state (or of every state a plain name matches), in the order
    they started.  A sequence of :class:`Attempt`: ``record[0]``, ``len(record)``; empty
    when the state never ran."""

    def __init__(self, query: str, attempts: list[Attempt]) -> None:
        self.query = query
        self.attempts = attempts

    @overload
    def __getitem__(self, index: int) -> Attempt: ...

    @overload
    def __getitem__(self, index: slice) -> list[Attempt]: ...

    def __getitem__(self, index: int | slice) -> Attempt | list[Attempt]:
        return self.attempts[index]

    def __len__(self) -> int:
        return len(self.attempts)

    def __iter__(self) -> Iterator[Attempt]:
        return iter(self.attempts)

    def __bool__(self) -> bool:
        return bool(self.attempts)

    def __repr__(self) -> str:
        return f"<StateRecord {self.query!r}: {len(self.attempts)} attempt(s), {self.entries} entr(y/ies)>"

    @property
    def entries(self) -> int:
        """How many times the state was entered."""
        return sum(1 for a in self.attempts if a.number == 0)

    @property
    def retry_delays(self) -> list[float]:
        """The backoff before each retry, in order (FULL jitter included: the drawn value)."""
        return [a.retry_delay for a in self.attempts if a.retry_delay is not None]

    @property
    def retries(self) -> int:
        return sum(1 for a in self.attempts if a.number > 0)

    @property
    def errors(self) -> list[str]:
        """The error of every failed attempt, in order."""
        return [a.error for a in self.attempts if a.error is not None]

    @property
    def last(self) -> Attempt:
        if not self.attempts:
            raise IndexError(f"state {self.query!r} never ran")
        return self.attempts[-1]

    @property
    def output(self) -> Any:
        """The output of the last attempt."""
        return self.last.output


class ExecutionTrace(Listener):
    """Records the path and the attempts of one execution (see the module docstring)."""

    #: Called with each traced execution when it enters its first state: how the pytest
    #: plugin's ``--flowengine-report`` collects the executions of a test.  Append and remove
    #: your own callable; the list is shared.
    observers: ClassVar[list[Callable[["Execution"], Any]]] = []

    def __init__(self, state_paths: Iterable[str] = ()) -> None:
        #: every state path of the definition, in definition order
        self.state_paths: list[str] = list(state_paths)
        #: the path of every state entered, in order
        self.path: list[str] = []
        #: every attempt, in the order they started
        self.attempts: list[Attempt] = []
        self._open: dict[int, Attempt] = {}
        self._entries: dict[str, int] = {}
        self._delays: dict[int, float] = {}
        #: the definition that ran (the top-level state machine), known from the first state
        #: entered; the report draws it (``result.report(...)``)
        self.machine: "StateMachine | None" = None

    # -- Listener ------------------------------------------------------------------------

    def state_entered(self, execution: "Execution", scope: "Scope", node: Any, data: Any) -> None:
        if self.machine is None:
            self.machine = execution.program.machine
            for observe in self.observers:
                observe(execution)
        path = node.path or node.name
        entry = self._entries.get(path, 0)
        self._entries[path] = entry + 1
        attempt = Attempt(path, node.name, 0, entry, data, execution.now(), map_index=current_map_index.get())
        self._open[id(scope)] = attempt
        self.attempts.append(attempt)
        self.path.append(path)

    def retry(self, execution: "Execution", scope: "Scope", node: Any, failure: "StatesFailure",
              delay: float) -> None:
        attempt = self._open.get(id(scope))
        if attempt is not None:
            attempt.error, attempt.cause, attempt.ended_ts = failure.error, failure.cause, execution.now()
        self._delays[id(scope)] = delay

    def retry_started(self, execution: "Execution", scope: "Scope", node: Any) -> None:
        key = id(scope)
        previous = self._open.get(key)
        number, entry, data = (previous.number + 1, previous.entry, previous.input) if previous else (1, 0, None)
        attempt = Attempt(node.path or node.name, node.name, number, entry, data, execution.now(),
                          retry_delay=self._delays.pop(key, None), map_index=current_map_index.get())
        self._open[key] = attempt
        self.attempts.append(attempt)

    def state_failed(self, execution: "Execution", scope: "Scope", node: Any, failure: "StatesFailure") -> None:
        attempt = self._open.get(id(scope))
        if attempt is not None and attempt.error is None:
            attempt.error, attempt.cause, attempt.ended_ts = failure.error, failure.cause, execution.now()

    def state_exited(self, execution: "Execution", scope: "Scope", node: Any, output: Any) -> None:
        attempt = self._open.pop(id(scope), None)
        if attempt is None:
            return
        attempt.output = output
        if attempt.error is not None:
            attempt.caught = True
        else:
            attempt.ended_ts = execution.now()

    # -- queries -------------------------------------------------------------------------

    @property
    def path_names(self) -> list[str]:
        """The path with plain state names (``ShipOne`` rather than ``Ship/ShipOne``)."""
        return [p.rpartition("/")[2] for p in self.path]

    def state(self, name_or_path: str) -> StateRecord:
        """The attempts of a state, by path (``Fulfil/1/Charge``) or plain name (``Charge``).
        Raises KeyError for a name that is not a state of the definition."""
        exact = [a for a in self.attempts if a.state == name_or_path]
        if exact or name_or_path in self.state_paths:
            return StateRecord(name_or_path, exact)
        named = [a for a in self.attempts if a.name == name_or_path]
        if named or any(p.rpartition("/")[2] == name_or_path for p in self.state_paths):
            return StateRecord(name_or_path, named)
        known = self.state_paths or sorted({a.state for a in self.attempts})
        names = known + [p.rpartition("/")[2] for p in known]
        close = difflib.get_close_matches(name_or_path, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; its states are: {', '.join(known)}"
        raise KeyError(f"no state {name_or_path!r} in the flow{hint}")

    @property
    def retries(self) -> dict[str, list[float]]:
        """State path → the backoffs before its retries, for every state that retried."""
        out: dict[str, list[float]] = {}
        for a in self.attempts:
            if a.retry_delay is not None:
                out.setdefault(a.state, []).append(a.retry_delay)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "attempts": [a.to_json() for a in self.attempts]}


__all__ = ["Attempt", "ExecutionTrace", "StateRecord"]

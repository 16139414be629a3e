"""Execution history in AWS's GetExecutionHistory shape, recorded cheaply.

Recording is on the interpreter's hot path, so an event is stored as a small tuple
``(type, previous_event_id, timestamp, details_key, details)`` whose details already hold
JSON *text* for inputs and outputs (encoded once per value, see
:class:`~flowengine.engine.scope.Scope`).  :meth:`History.events` builds the AWS-shaped
dicts on demand::

    {"timestamp": datetime, "type": "PassStateEntered", "id": 2, "previousEventId": 0,
     "stateEnteredEventDetails": {"name": "A", "input": "{}", "inputDetails": {"truncated": false}}}
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flowengine.engine.clock import to_datetime

#: ``{"truncated": false}``; shared while recording, copied when events are built.
NOT_TRUNCATED: dict[str, bool] = {"truncated": False}


class HistoryLimitExceeded(Exception):
    """The execution reached the history event limit; it fails at once (never caught).

    AWS: "When an execution reaches 24,999 events, it waits for the next event to happen.  If
    the event number 25,000 is ExecutionSucceeded, the execution finishes successfully.  If
    [it] isn't ExecutionSucceeded, the ExecutionFailed event is logged", with error
    ``States.Runtime`` and cause "The execution reached the maximum number of history events
    (25000)."  So the event that would have been number 25,000 is never recorded, and neither
    is anything else any concurrent branch or iteration tries to record after it.
    """


EventHook = Callable[[int, tuple[Any, ...]], None]


class History:
    """The append-only event list of one execution (shared by its branches and iterations)."""

    __slots__ = ("_events", "limit", "listeners")

    def __init__(self, limit: int = 25_000) -> None:
        self._events: list[tuple[Any, ...]] = []
        self.limit = limit
        self.listeners: list[EventHook] = []

    def __len__(self) -> int:
        return len(self._events)

    def add(self, type_: str, prev: int, ts: float, key: str | None = None, details: Any = None) -> int:
        """Record an event; returns its id (1-based).

        Only an ``Execution*`` event may take the last place (``limit``): any other event that
        would take it or a later one is not recorded and raises :class:`HistoryLimitExceeded`,
        so however much concurrent work is still running, the history never grows past the
        limit (the final ExecutionFailed event then takes the last place)."""
        events = self._events
        n = len(events) + 1
        if n >= self.limit and not type_.startswith("Execution"):
            raise HistoryLimitExceeded(n)
        ev = (type_, prev, ts, key, details)
        events.append(ev)
        if self.listeners:
            for listener in self.listeners:
                listener(n, ev)
        return n

    @property
    def remaining(self) -> int:
        """How many more events other than the final ``Execution*`` one may be recorded."""
        return max(0, self.limit - 1 - len(self._events))

    def types(self) -> list[str]:
        """The event types in order (what the conformance comparison uses)."""
        return [e[0] for e in self._events]

    def event(self, event_id: int) -> dict[str, Any]:
        return _build(event_id, self._events[event_id - 1])

    def events(self) -> list[dict[str, Any]]:
        """Every event in GetExecutionHistory shape (fresh dicts: safe to modify)."""
        return [_build(i, e) for i, e in enumerate(self._events, 1)]


def _build(event_id: int, ev: tuple[Any, ...]) -> dict[str, Any]:
    type_, prev, ts, key, details = ev
    out: dict[str, Any] = {"timestamp": to_datetime(ts), "type": type_, "id": event_id, "previousEventId": prev}
    if key is not None:
        out[key] = _fresh(details) if details else {}
    return out


def _fresh(value: Any) -> Any:
    """A copy of event details (JSON-shaped: dicts, lists, strings, numbers) that the caller
    may modify; several times quicker than ``copy.deepcopy`` on these small trees."""
    if type(value) is dict:
        return {k: _fresh(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if type(value) is list:
        return [_fresh(v) if type(v) in (dict, list) else v for v in value]
    return copy.deepcopy(value) if not isinstance(value, (str, int, float, bool, type(None))) else value


def failure_details(error: str | None, cause: str | None) -> dict[str, Any]:
    """``{"cause", "error"}`` of a failure event, leaving out what is None (as AWS does)."""
    d: dict[str, Any] = {}
    if cause is not None:
        d["cause"] = cause
    if error is not None:
        d["error"] = error
    return d

"""The app runtime's record of what happened: :class:`EventLog` of :class:`LogRecord`, and
the :class:`Invocation` of a function.  ``AppRuntime.log`` is one; ``flowengine up`` prints
it live and the console serves it."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flowengine.engine.clock import iso, to_datetime

#: Lambda's throttling error (an invocation refused at the function's concurrency cap).
THROTTLED = "Lambda.TooManyRequestsException"

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
        return self.error == THROTTLED


__all__ = ["EventLog", "Invocation", "LogKind", "LogRecord"]

"""The outcome of an execution, in the shape AWS's DescribeExecution and GetExecutionHistory give."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowengine.engine.clock import to_datetime
from flowengine.engine.history import History


@dataclass(frozen=True, eq=False)
class ExecutionResult:
    """What an execution ended with.

    ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED`` (``RUNNING`` only
    for a snapshot of a live execution).  ``output`` is the JSON value of a successful run;
    ``error``/``cause`` are AWS's failure pair.  ``history`` lists the events in
    GetExecutionHistory shape (built on first access).
    """

    status: str
    output: Any
    error: str | None
    cause: str | None
    execution_arn: str
    name: str
    state_machine_arn: str = ""
    start_ts: float = 0.0
    stop_ts: float | None = None
    input: Any = None
    recorded: History | None = field(default=None, repr=False)

    @property
    def start_date(self) -> datetime:
        return to_datetime(self.start_ts)

    @property
    def stop_date(self) -> datetime | None:
        return to_datetime(self.stop_ts) if self.stop_ts is not None else None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every event, ``{"timestamp", "type", "id", "previousEventId", "<type>EventDetails"}``."""
        cached = self.__dict__.get("_history")
        if cached is None:
            cached = self.recorded.events() if self.recorded is not None else []
            object.__setattr__(self, "_history", cached)
        return cached

    @property
    def event_types(self) -> list[str]:
        """The history's event types in order."""
        return self.recorded.types() if self.recorded is not None else []

    def to_json(self) -> dict[str, Any]:
        """``{"status", "output", "error", "cause", "history"}`` with JSON-ready values
        (timestamps as ISO-8601 text)."""
        history = []
        for ev in self.history:
            ev = dict(ev)
            ev["timestamp"] = ev["timestamp"].isoformat()
            history.append(ev)
        return {"status": self.status, "output": self.output, "error": self.error, "cause": self.cause,
                "history": history}

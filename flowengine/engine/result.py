"""The outcome of an execution, in the shape AWS's DescribeExecution and GetExecutionHistory give,
plus what a test asserts on: the path, each state's attempts, retries and concurrency."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowengine.engine.clock import to_datetime
from flowengine.engine.history import History
from flowengine.errors import FlowengineError

if TYPE_CHECKING:
    from flowengine.engine.trace import ExecutionTrace, StateRecord
    from flowengine.model.diagnostics import Diagnostic


#: Writes a result's HTML report: registered by :mod:`flowengine.report` when it is imported
#: (the testing API, the pytest plugin and the CLI import it).  The report sits layers above
#: the engine, which may not import it; the layer above plugs itself in here instead.
report_writer: "Callable[..., str] | None" = None


@dataclass(frozen=True, eq=False)
class ExecutionResult:
    """What an execution ended with.

    ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED`` (``RUNNING`` only
    for a snapshot of a live execution).  ``output`` is the JSON value of a successful run;
    ``error``/``cause`` are AWS's failure pair.  ``history`` lists the events in
    GetExecutionHistory shape (built on first access).

    ``peak_concurrency[fn]`` is the most invocations of the app function ``fn`` this
    execution had in flight at once, ``throttles[fn]`` how many of its invocations were
    throttled (``Lambda.TooManyRequestsException``); both read 0 for a function it never
    called.  ``warnings`` are Diagnostics that did not fail the run (a mock never used).

    ``path``, ``state(...)`` and ``retries`` need a trace: ``Engine(record=True)``, or the
    testing API (``flowengine.testing.run_flow``, ``TestRuntime``), which always records.
    See :mod:`flowengine.engine.trace` for the naming of states inside Map and Parallel.
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
    peak_concurrency: Counter[str] = field(default_factory=Counter)
    throttles: Counter[str] = field(default_factory=Counter)
    warnings: tuple["Diagnostic", ...] = ()
    trace: "ExecutionTrace | None" = field(default=None, repr=False)

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
        return {"status": self.status, "output": self.output, "error": self.error, "cause": self.cause,
                "history": self.history_events_json()}

    def history_events_json(self) -> list[dict[str, Any]]:
        """The history with JSON-ready values (timestamps as ISO-8601 text, as the AWS CLI prints them)."""
        history = []
        for ev in self.history:
            ev = dict(ev)
            ev["timestamp"] = ev["timestamp"].isoformat()
            history.append(ev)
        return history

    def history_json(self, indent: int | None = None) -> str:
        """The history as JSON text: ``{"events": [...]}``, GetExecutionHistory's response shape."""
        return json.dumps({"events": self.history_events_json()}, indent=indent)

    def report(self, path: str, *, source: Any = None, flow: str | None = None, force: bool = True) -> str:
        """Write this execution's HTML report (graph by outcome, state details, timeline,
        history: docs/report.md) to ``path``; return the path.  The flow is drawn from the
        trace (recorded runs), or from ``source``/``flow`` (an app path or loaded app)."""
        if report_writer is None:
            raise FlowengineError("the report writer is not loaded: `import flowengine.report` first (the "
                                  "testing API and the pytest plugin load it)")
        return report_writer(self, path, source=source, flow=flow, force=force)

    # -- what the trace knows (Engine(record=True) / the testing API) ---------------------

    def _trace(self) -> "ExecutionTrace":
        if self.trace is None:
            raise FlowengineError(
                "this result has no trace of its states: run with Engine(record=True), or with "
                "flowengine.testing.run_flow / TestRuntime, which always record")
        return self.trace

    @property
    def path(self) -> list[str]:
        """The path of every state entered, in order: ``Validate``, ``Fulfil/1/Charge``
        (Parallel branch 1), ``Ship/ShipOne`` (once per Map iteration)."""
        return list(self._trace().path)

    @property
    def path_names(self) -> list[str]:
        """:attr:`path` with the plain state names."""
        return self._trace().path_names

    def state(self, name_or_path: str) -> "StateRecord":
        """The attempts of one state (by path, or by its plain name), in the order they
        started: each with ``input``, ``output``, ``error``, ``cause``, ``retry_delay``,
        ``started``/``ended``.  Empty when the state never ran; KeyError for a name that
        is no state of the flow."""
        return self._trace().state(name_or_path)

    @property
    def retries(self) -> dict[str, list[float]]:
        """State path → the backoff before each of its retries (only states that retried)."""
        return self._trace().retries

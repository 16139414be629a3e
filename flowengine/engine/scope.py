"""A running scope: the top level of an execution, a Parallel branch or a Map iteration.

A scope runs one state at a time, so it carries the *current state's* bookkeeping
(name, entered event id and time, retry count) and builds the context object ``$$`` on
demand from it.  It owns the scope's variables (inner scopes start from a copy of the
outer ones: they read outer variables, and their own assignments never leak out) and the
chain of ``previousEventId`` values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flowengine.engine.clock import iso, to_datetime
from flowengine.model.failure import DATA_LIMIT_EXCEEDED, QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from flowengine.engine.history import NOT_TRUNCATED
from flowengine.lang.jsonpath import dumps

if TYPE_CHECKING:
    from flowengine.engine.execution import Execution
    from flowengine.engine.history import History
    from flowengine.engine.states.base import Node

_SENTINEL = object()
_FIELD = re.compile(r"specified for the field '([^']+)'|^The (\w+) field ")


def _field_of(cause: str) -> str | None:
    """The field an evaluation failure names (AWS's EvaluationFailed ``location``)."""
    m = _FIELD.search(cause)
    return (m.group(1) or m.group(2)) if m else None


def data_limit_failure(name: str) -> StatesFailure:
    return StatesFailure(
        DATA_LIMIT_EXCEEDED,
        f"The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit.",
    )


def byte_size(text: str) -> int:
    """UTF-8 size of a JSON text (``str.isascii`` is O(1), so ASCII texts cost nothing)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class Scope:
    """See the module docstring.  ``kind`` is ``"execution"``, ``"branch"`` or ``"iteration"``."""

    __slots__ = (
        "execution", "variables", "rng", "kind", "last", "history", "now", "max_bytes",
        "state", "state_name", "entered_id", "entered_ts", "retry_count", "_ctx", "_enc_value", "_enc_text",
        "task_token",
    )

    def __init__(self, execution: "Execution", variables: dict[str, Any], kind: str = "execution",
                 last: int = 0, history: "History | None" = None) -> None:
        self.execution = execution
        self.variables = variables
        self.rng = execution.rng
        self.kind = kind
        self.last = last
        self.history = history if history is not None else execution.history
        self.now = execution.now
        self.max_bytes = execution.limits.max_payload_bytes
        self.state: Node | None = None
        self.state_name = ""
        self.entered_id = 0
        self.entered_ts = 0.0
        self.retry_count: int | None = None
        self.task_token: str | None = None
        self._ctx: dict[str, Any] | None = None
        self._enc_value: Any = _SENTINEL
        self._enc_text = ""

    # -- events -------------------------------------------------------------------------

    def record(self, type_: str, key: str | None = None, details: Any = None) -> int:
        eid = self.history.add(type_, self.last, self.now(), key, details)
        self.last = eid
        return eid

    def text(self, value: Any) -> str:
        """JSON text of a value, encoded once: the output of one state is the next one's input."""
        if value is self._enc_value:
            return self._enc_text
        text = dumps(value)
        self._enc_value = value
        self._enc_text = text
        return text

    def enter(self, node: "Node", data: Any) -> None:
        """Record ``<Type>StateEntered`` and make ``node`` the current state."""
        ts = self.now()
        self.state = node
        self.state_name = node.name
        self.entered_ts = ts
        self.retry_count = 0 if node.retryable else None
        self._ctx = None
        eid = self.history.add(node.entered_type, self.last, ts, "stateEnteredEventDetails",
                               {"name": node.name, "input": self.text(data), "inputDetails": NOT_TRUNCATED})
        self.last = eid
        self.entered_id = eid
        if self.execution.listeners:
            self.execution.notify("state_entered", self, node, data)

    def exit(self, node: "Node", output: Any, assigned: dict[str, Any] | None = None) -> None:
        """Record ``<Type>StateExited`` (after the payload size check) and apply ``assigned``."""
        if output is self._enc_value:
            text = self._enc_text
        else:
            text = self._enc_text = dumps(output)
            self._enc_value = output
        if (len(text) if text.isascii() else len(text.encode("utf-8"))) > self.max_bytes:
            raise data_limit_failure(node.name)
        if assigned:
            self.variables.update(assigned)
            details: dict[str, Any] = {
                "assignedVariables": {k: dumps(assigned[k]) for k in sorted(assigned)},
                "assignedVariablesDetails": NOT_TRUNCATED,
                "name": node.name, "output": text, "outputDetails": NOT_TRUNCATED,
            }
        else:
            details = {"name": node.name, "output": text, "outputDetails": NOT_TRUNCATED}
        self.last = self.history.add(node.exited_type, self.last, self.now(), "stateExitedEventDetails", details)
        if self.execution.listeners:
            self.execution.notify("state_exited", self, node, output)

    # -- context object -----------------------------------------------------------------

    def context(self) -> dict[str, Any]:
        """The context object ``$$`` for the current state (built once per state attempt)."""
        ctx = self._ctx
        if ctx is None:
            ex = self.execution
            state: dict[str, Any] = {"Name": self.state_name, "EnteredTime": iso(self.entered_ts)}
            if self.retry_count is not None:
                state["RetryCount"] = self.retry_count
            ctx = {"Execution": ex.context_execution, "StateMachine": ex.context_state_machine, "State": state}
            if self.task_token is not None:
                ctx["Task"] = {"Token": self.task_token}
            self._ctx = ctx
        return ctx

    def set_task_token(self, token: str | None) -> None:
        """``$$.Task.Token`` for the current Task attempt (None: the attempt is over)."""
        self.task_token = token
        self._ctx = None

    def retried(self) -> None:
        """A retry starts: the context's RetryCount moves on."""
        self.retry_count = (self.retry_count or 0) + 1
        self._ctx = None

    # -- failures -----------------------------------------------------------------------

    def locate(self, failure: StatesFailure) -> StatesFailure:
        """Put AWS's "An error occurred while executing the state ..." in front of an
        evaluation failure of the current state (once), and record EvaluationFailed for
        JSONata errors."""
        if failure.error not in (RUNTIME, QUERY_EVALUATION_ERROR) or getattr(failure, "located", False):
            return failure
        cause = (f"An error occurred while executing the state '{self.state_name}' "
                 f"(entered at the event id #{self.entered_id}). {failure.cause or ''}")
        located = StatesFailure(failure.error, cause)
        located.located = True  # type: ignore[attr-defined]
        if failure.error == QUERY_EVALUATION_ERROR:
            location = getattr(failure, "location", None) or _field_of(failure.cause or "")
            details: dict[str, Any] = {"cause": cause, "error": failure.error}
            if location:
                details["location"] = location
            details["state"] = self.state_name
            self.record("EvaluationFailed", "evaluationFailedEventDetails", details)
        return located

    def jsonata(self, template: Any, states: dict[str, Any]) -> Any:
        """Evaluate a JSONata template with this scope's variables, random source and clock."""
        return template.evaluate(states, self.variables, self.rng, now=to_datetime(self.now()))

    def item_env(self, index: int, value: Any) -> "ItemEnv":
        return ItemEnv(self, index, value)


class ItemEnv:
    """The evaluation environment of a Map's ItemSelector: the Map state's scope plus
    ``$$.Map.Item`` for one item."""

    __slots__ = ("scope", "variables", "rng", "index", "value")

    def __init__(self, scope: Scope, index: int, value: Any) -> None:
        self.scope = scope
        self.variables = scope.variables
        self.rng = scope.rng
        self.index = index
        self.value = value

    def context(self) -> dict[str, Any]:
        ctx = dict(self.scope.context())
        ctx["Map"] = {"Item": {"Index": self.index, "Value": self.value}}
        return ctx

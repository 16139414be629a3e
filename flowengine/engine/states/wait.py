"""Wait: delays for ``Seconds``/``SecondsPath`` or until ``Timestamp``/``TimestampPath``.

The delay is an asyncio sleep on the execution's clock, so on the virtual clock a Wait
of any length completes at once and the history shows the modelled time.  Timestamps
are RFC 3339 with an uppercase ``T`` and a ``Z`` or numeric offset; a past timestamp
does not wait.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from flowengine.model.failure import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from flowengine.lang.jsonpath import (
    JsonPath,
    PathNotFound,
    compile_path,
    dumps,
    missing_property_cause,
)
from flowengine.engine.states.base import Node, Outcome, compile_jsonata, jsonata_states
from flowengine.engine.states.choice import parse_timestamp
from flowengine.model.asl import ABSENT, WaitState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler
    from flowengine.engine.scope import Scope


_LONG = re.compile(r"[+-]?\d{1,19}")


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


class WaitNode(Node):
    type = "Wait"
    is_async = True

    def __init__(self, state: WaitState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.seconds = state.seconds
        self.seconds_path = compile_path(state.seconds_path) if state.seconds_path is not None else None
        self.timestamp = state.timestamp
        self.timestamp_path = compile_path(state.timestamp_path) if state.timestamp_path is not None else None
        self.seconds_tpl = self.timestamp_tpl = None
        if self.jsonata:
            if state.seconds is not ABSENT:
                self.seconds_tpl = compile_jsonata(state.seconds, "Seconds")
            if state.timestamp is not ABSENT:
                self.timestamp_tpl = compile_jsonata(state.timestamp, "Timestamp")

    async def arun(self, scope: "Scope", data: Any) -> Outcome:
        scope.enter(self, data)
        try:
            if self.jsonata:
                states = jsonata_states(scope, data)
                seconds = self._jsonata_seconds(scope, states)
            else:
                effective = self.input_path(data, scope) if self.input_path is not None else data
                seconds = self._seconds(scope, effective)
        except StatesFailure as failure:
            raise scope.locate(failure) from None
        if seconds > 0:
            if scope.execution.listeners:
                scope.execution.notify("wait", scope, self, seconds)
            await asyncio.sleep(seconds)
        try:
            if self.jsonata:
                assigned = scope.jsonata(self.assign, states) if self.assign is not None else None
                out = scope.jsonata(self.output, states) if self.output is not None else data
            else:
                assigned = self.assign.build(effective, scope) if self.assign is not None else None
                out = self.output_path(effective, scope) if self.output_path is not None else effective
        except StatesFailure as failure:
            raise scope.locate(failure) from None
        scope.exit(self, out, assigned)
        return self.next, out

    # -- JSONPath ------------------------------------------------------------------------

    def _seconds(self, scope: "Scope", effective: Any) -> float:
        if self.seconds is not ABSENT:
            return float(self.seconds) if isinstance(self.seconds, (int, float)) else 0.0
        if self.seconds_path is not None:
            value = _resolve(self.seconds_path, scope, effective)
            return _whole_seconds(value, "The SecondsPath parameter", f"{self.seconds_path.text} == {_shown(value)}",
                                  RUNTIME)
        if self.timestamp_path is not None:
            value = _resolve(self.timestamp_path, scope, effective)
            return self._until(scope, value, RUNTIME,
                               "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                               f"date-time format string: {self.timestamp_path.text} == {_shown(value)}")
        if self.timestamp is not ABSENT:
            return self._until(scope, self.timestamp, RUNTIME,
                               "The Timestamp parameter does not reference a valid ISO-8601 extended offset "
                               f"date-time format string: {_shown(self.timestamp)}")
        return 0.0

    def _until(self, scope: "Scope", value: Any, error: str, invalid: str) -> float:
        when = parse_timestamp(value)
        if when is None:
            raise StatesFailure(error, invalid)
        seconds = when.timestamp() - scope.now()
        if seconds > scope.execution.limits.max_wait_seconds:
            # Step Functions keeps the wait in a signed 32-bit count of seconds.
            raise StatesFailure(error, invalid)
        return max(0.0, seconds)

    # -- JSONata -------------------------------------------------------------------------

    def _jsonata_seconds(self, scope: "Scope", states: dict[str, Any]) -> float:
        if self.seconds_tpl is not None:
            value = scope.jsonata(self.seconds_tpl, states)
            return _whole_seconds(value, "The Seconds field", _shown(value), QUERY_EVALUATION_ERROR)
        if self.timestamp_tpl is not None:
            value = scope.jsonata(self.timestamp_tpl, states)
            return self._until(scope, value, QUERY_EVALUATION_ERROR,
                               "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                               f"format string: {_shown(value)}")
        return 0.0


def _resolve(path: JsonPath, scope: "Scope", effective: Any) -> Any:
    try:
        return path.resolve(effective, scope.context, scope.variables)
    except PathNotFound as exc:
        raise StatesFailure(RUNTIME, missing_property_cause(path, exc)) from None


def _whole_seconds(value: Any, what: str, shown: str, error: str) -> float:
    # AWS reads the value's text as a long: 5 and "5" pass, 1.5 (and 1.0) do not.
    text = value if isinstance(value, str) else (dumps(value) if isinstance(value, int) else "")
    if isinstance(value, bool) or not _LONG.fullmatch(text):
        raise StatesFailure(error, f"{what} cannot be parsed as a long value: {shown}")
    seconds = int(text)
    if seconds < 0:
        raise StatesFailure(error, f"{what} references a negative value: {shown}")
    return float(seconds)

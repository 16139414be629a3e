"""Fail: stops the execution (or fails the branch/iteration) with an Error and a Cause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowengine.model.failure import RUNTIME, StatesFailure
from flowengine.lang.jsonpath import dumps
from flowengine.engine.payload import compile_value_expression
from flowengine.engine.states.base import Node, Outcome, compile_jsonata, jsonata_states
from flowengine.model.asl import ABSENT, FailState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler
    from flowengine.engine.scope import Scope


class FailNode(Node):
    type = "Fail"

    def __init__(self, state: FailState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.error = state.error if isinstance(state.error, str) else None
        self.cause = state.cause if isinstance(state.cause, str) else None
        self.error_path = compile_value_expression(state.error_path, "ErrorPath") if state.error_path else None
        self.cause_path = compile_value_expression(state.cause_path, "CausePath") if state.cause_path else None
        self.error_tpl = compile_jsonata(state.error, "Error") if self.jsonata and state.error is not ABSENT else None
        self.cause_tpl = compile_jsonata(state.cause, "Cause") if self.jsonata and state.cause is not ABSENT else None

    def run(self, scope: "Scope", data: Any) -> Outcome:
        scope.enter(self, data)
        try:
            error, cause = self._values(scope, data)
        except StatesFailure as failure:
            raise scope.locate(failure) from None
        raise StatesFailure(error, cause)  # type: ignore[arg-type]

    def _values(self, scope: "Scope", data: Any) -> tuple[str | None, str | None]:
        if self.jsonata:
            states = jsonata_states(scope, data)
            error = scope.jsonata(self.error_tpl, states) if self.error_tpl else None
            cause = scope.jsonata(self.cause_tpl, states) if self.cause_tpl else None
            return _text(error), _text(cause)
        error = _text_value(self.error_path(data, scope), "ErrorPath") if self.error_path else self.error
        cause = _text_value(self.cause_path(data, scope), "CausePath") if self.cause_path else self.cause
        return error, cause


def _text_value(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise StatesFailure(RUNTIME, f"The {field} field must reference a string value, but was: {dumps(value)}")
    return value


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return dumps(value)

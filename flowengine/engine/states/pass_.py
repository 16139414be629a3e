"""Pass: passes its input to its output, optionally injecting ``Result`` or ``Parameters``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowengine.model.failure import StatesFailure
from flowengine.engine.payload import optional_payload
from flowengine.engine.states.base import Node, Outcome, ResultPath, jsonata_states
from flowengine.model.asl import ABSENT, PassState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler
    from flowengine.engine.scope import Scope


class PassNode(Node):
    type = "Pass"

    def __init__(self, state: PassState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.has_result = state.result is not ABSENT
        self.result = state.result
        self.parameters = None if self.jsonata else optional_payload(state.parameters)
        self.result_path = ResultPath(state.result_path)

    def run(self, scope: "Scope", data: Any) -> Outcome:
        scope.enter(self, data)
        try:
            if self.jsonata:
                out, assigned = self._jsonata(scope, data)
            else:
                effective = self.input_path(data, scope) if self.input_path is not None else data
                if self.has_result:
                    result = self.result
                elif self.parameters is not None:
                    result = self.parameters.build(effective, scope)
                else:
                    result = effective
                assigned = self.assign.build(result, scope) if self.assign is not None else None
                out = self.result_path.apply(data, result)
                if self.output_path is not None:
                    out = self.output_path(out, scope)
        except StatesFailure as failure:
            raise scope.locate(failure) from None
        scope.exit(self, out, assigned)
        return self.next, out

    def _jsonata(self, scope: "Scope", data: Any) -> tuple[Any, dict[str, Any] | None]:
        if self.assign is None and self.output is None:
            return data, None
        states = jsonata_states(scope, data)
        assigned = scope.jsonata(self.assign, states) if self.assign is not None else None
        out = scope.jsonata(self.output, states) if self.output is not None else data
        return out, assigned

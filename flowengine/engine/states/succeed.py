"""Succeed: ends the execution (or the branch/iteration) successfully with its input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowengine.model.failure import StatesFailure
from flowengine.engine.states.base import Node, Outcome, jsonata_states

if TYPE_CHECKING:
    from flowengine.engine.scope import Scope


class SucceedNode(Node):
    type = "Succeed"

    def run(self, scope: "Scope", data: Any) -> Outcome:
        scope.enter(self, data)
        try:
            if self.jsonata:
                out = data
                if self.output is not None:
                    out = scope.jsonata(self.output, jsonata_states(scope, data))
            else:
                out = self.input_path(data, scope) if self.input_path is not None else data
                if self.output_path is not None:
                    out = self.output_path(out, scope)
        except StatesFailure as failure:
            raise scope.locate(failure) from None
        scope.exit(self, out)
        return None, out

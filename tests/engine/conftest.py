"""Helpers for the engine tests: run a definition on a fresh virtual-clock engine."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine.engine.result import ExecutionResult
from flowengine.runtime.engine import Engine


def execute(definition: dict[str, Any], input: Any = None, **options: Any) -> ExecutionResult:
    """Run ``definition`` once (validation off: these tests target the interpreter)."""
    options.setdefault("validate", False)
    with Engine(**options) as engine:
        return engine.run(definition, input)


def chain(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition from (name, state) pairs linked in order; the last one ends."""
    out: dict[str, Any] = {}
    names = [n for n, _ in states]
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if state.get("Type") not in ("Choice", "Succeed", "Fail") and "Next" not in state and "End" not in state:
            if i + 1 < len(states):
                state["Next"] = names[i + 1]
            else:
                state["End"] = True
        out[name] = state
    return {"StartAt": names[0], "States": out, **top}


@pytest.fixture
def run():
    return execute


@pytest.fixture
def steps():
    return chain

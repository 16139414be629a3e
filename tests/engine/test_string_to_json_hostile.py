"""States.StringToJson on hostile text (issue 11, item 11): nesting deeper than the parser
can go, lone surrogates, NaN and huge integers fail the state with ``States.Runtime`` (the
error AWS gives when an intrinsic cannot evaluate), never a RecursionError or a
UnicodeEncodeError out of the run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from flowengine.lang.intrinsics import IntrinsicEnv, parse_intrinsic
from flowengine.model.failure import RUNTIME, StatesFailure
from flowengine.testing import run_flow

CALL = "States.StringToJson($.s)"


def _cause(text: str) -> str:
    with pytest.raises(StatesFailure) as info:
        parse_intrinsic(CALL).evaluate(IntrinsicEnv({"s": text}, {}, {}, random.Random(0)))
    assert info.value.error == RUNTIME
    return info.value.cause or ""


@pytest.mark.parametrize("text, detail", [
    ("[" * 100_000 + "]" * 100_000, "The argument is nested too deeply to parse as JSON"),
    ('"\\ud800"', "The argument is not a valid JSON string: a lone surrogate (\\ud800) is not Unicode text"),
    ('{"a": NaN}', "The argument is not a valid JSON string: NaN is not a JSON number"),
    ("9" * 5000, "The argument is not a valid JSON string: an integer of 5000 digits is too large"),
])
def test_hostile_text_is_a_states_runtime_failure(text: str, detail: str) -> None:
    assert _cause(text).startswith(f"The function '{CALL}' had the following error: {detail}")


def test_a_run_fails_with_states_runtime_instead_of_raising(tmp_path: Path) -> None:
    flow = tmp_path / "f.asl.json"
    flow.write_text(json.dumps({"StartAt": "A", "States": {"A": {
        "Type": "Pass", "Parameters": {"v.$": CALL}, "End": True}}}))
    for text in ("[" * 100_000 + "]" * 100_000, '"\\udfff"'):
        result = run_flow(str(flow), input=json.dumps({"s": text}))
        assert (result.status, result.error) == ("FAILED", RUNTIME)


def test_well_formed_text_still_parses() -> None:
    value = parse_intrinsic(CALL).evaluate(IntrinsicEnv({"s": '{"a": ["\\ud83d\\ude00", 1.5]}'}, {}, {},
                                                        random.Random(0)))
    assert value == {"a": ["\U0001F600", 1.5]}

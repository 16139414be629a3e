"""flowengine against statelint (peers.md §5) on the same broken definitions.

For every definition statelint flags, flowengine flags it too (with the code we expect).
For the faults statelint misses (a Task without Resource, ``States.ALL`` not last,
HeartbeatSeconds ≥ TimeoutSeconds, bad JSONata syntax, loops that never end while another
path does, ...), statelint stays silent and flowengine does not.  statelint runs with
``--ignore=FLOAT`` because it calls an integer BackoffRate a problem, which AWS accepts.
"""

from __future__ import annotations

from typing import Any

import pytest

from flowengine.validate import validate_definition

statelint = pytest.importorskip("statelint.linter")
from statelint.config import Config
from statelint.problem import ProblemType

ARN = "arn:aws:lambda:us-east-1:111111111111:function:work"


def _m(states: dict[str, Any], start: str = "A", **top: Any) -> dict[str, Any]:
    return {"StartAt": start, "States": states, **top}


def _task(**kw: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": ARN, **kw}


DONE = {"Type": "Succeed"}

#: (name, definition, a code flowengine must report).  statelint flags every one of these.
BOTH = [
    ("next_missing", _m({"A": {"Type": "Pass", "Next": "B"}}), "FE302"),
    ("default_missing", _m({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "D"}],
                                  "Default": "Nope"}, "D": DONE}), "FE302"),
    ("catch_next_missing", _m({"A": _task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Nope"}], End=True)}),
     "FE302"),
    ("unreachable", _m({"A": {"Type": "Pass", "End": True}, "B": {"Type": "Pass", "End": True}}), "FE303"),
    ("startat_missing", {"States": {"A": {"Type": "Pass", "End": True}}}, "FE202"),
    ("startat_unknown", _m({"B": {"Type": "Pass", "End": True}}), "FE301"),
    ("loop_no_terminal", _m({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}), "FE306"),
    ("no_next_no_end", _m({"A": {"Type": "Pass"}}), "FE206"),
    ("end_and_next", _m({"A": {"Type": "Pass", "Next": "B", "End": True}, "B": DONE}), "FE205"),
    ("unknown_type", _m({"A": {"Type": "Sleep", "End": True}}), "FE204"),
    ("unknown_field", _m({"A": {"Type": "Pass", "Foo": 1, "End": True}}), "FE201"),
    ("comparator_typo", _m({"A": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumLess": 3, "Next": "D"}]},
                            "D": DONE}), "FE201"),
    ("output_in_jsonpath", _m({"A": {"Type": "Pass", "Output": {}, "End": True}}), "FE408"),
    ("parameters_in_jsonata", _m({"A": {"Type": "Pass", "Parameters": {}, "End": True}}, QueryLanguage="JSONata"),
     "FE409"),
    ("wait_two_fields", _m({"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}}), "FE509"),
    ("wait_three_fields", _m({"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s",
                                    "Timestamp": "2026-01-01T00:00:00Z", "End": True}}), "FE509"),
    ("wait_negative", _m({"A": {"Type": "Wait", "Seconds": -1, "End": True}}), "FE511"),
    ("interval_negative", _m({"A": _task(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": -1}], End=True)}), "FE505"),
    ("backoff_below_one", _m({"A": _task(Retry=[{"ErrorEquals": ["X"], "BackoffRate": 0.5}], End=True)}), "FE503"),
    ("max_concurrency_negative", _m({"A": {"Type": "Map", "MaxConcurrency": -1, "End": True, "ItemProcessor":
                                           _m({"P": {"Type": "Pass", "End": True}}, "P")}}), "FE512"),
    ("timeout_zero", _m({"A": _task(TimeoutSeconds=0, End=True)}), "FE510"),
    ("resultpath_not_reference", _m({"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": True}}), "FE402"),
    ("unknown_intrinsic", _m({"A": {"Type": "Pass", "Parameters": {"x.$": "States.NoSuch($.a)"}, "End": True}}),
     "FE403"),
    ("dollar_key_not_a_path", _m({"A": {"Type": "Pass", "Parameters": {"x.$": "hello"}, "End": True}}), "FE407"),
    ("map_without_processor", _m({"A": {"Type": "Map", "End": True}}), "FE202"),
    ("branch_next_outside", _m({"A": {"Type": "Parallel", "End": True, "Branches": [
        _m({"B": {"Type": "Pass", "Next": "A"}}, "B")]}}), "FE305"),
    ("fail_with_next", _m({"A": {"Type": "Fail", "Next": "A"}}), "FE207"),
    ("resource_not_uri", _m({"A": {"Type": "Task", "Resource": "not a uri", "End": True}}), "FE213"),
    ("duplicate_across_scopes", _m({"A": {"Type": "Parallel", "End": True, "Branches": [
        _m({"A": {"Type": "Pass", "End": True}})]}}), "FE307"),
    ("choice_rule_without_next", _m({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True}],
                                           "Default": "D"}, "D": DONE}), "FE222"),
    ("string_equals_number", _m({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": 5,
                                                                      "Next": "D"}]}, "D": DONE}), "FE224"),
    ("nested_rule_with_next", _m({"A": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.x", "IsNull": True,
                                                                               "Next": "D"}, "Next": "D"}]}, "D": DONE}),
     "FE223"),
    ("jsonata_rule_without_condition", _m({"A": {"Type": "Choice", "Choices": [{"Next": "D"}]}, "D": DONE},
                                          QueryLanguage="JSONata"), "FE228"),
    ("jitter_lowercase", _m({"A": _task(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "full"}], End=True)}),
     "FE507"),
    ("error_equals_empty", _m({"A": _task(Retry=[{"ErrorEquals": []}], End=True)}), "FE501"),
    ("catch_all_not_last", _m({"A": _task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "D"},
                                                 {"ErrorEquals": ["X"], "Next": "D"}], End=True), "D": DONE}), "FE502"),
    ("query_language_bad", _m({"A": {"Type": "Pass", "End": True}}, QueryLanguage="jsonpath"), "FE208"),
    ("states_not_object", {"StartAt": "A", "States": []}, "FE203"),
    ("intrinsic_unclosed", _m({"A": {"Type": "Pass", "Parameters": {"x.$": "States.Format('{}', $.a"},
                                     "End": True}}), "FE405"),
    ("bad_jsonpath_syntax", _m({"A": {"Type": "Pass", "Parameters": {"x.$": "$.a["}, "End": True}}), "FE401"),
    ("timestamp_not_rfc3339", _m({"A": {"Type": "Wait", "Timestamp": "tomorrow", "End": True}}), "FE511"),
    ("choice_timestamp_not_rfc3339", _m({"A": {"Type": "Choice", "Choices": [
        {"Variable": "$.t", "TimestampEquals": "2026-13-01T00:00:00Z", "Next": "D"}]}, "D": DONE}), "FE225"),
    ("resultpath_into_context", _m({"A": {"Type": "Pass", "ResultPath": "$$.Execution", "End": True}}), "FE410"),
    ("tolerated_percentage_above_100", _m({"A": {"Type": "Map", "ToleratedFailurePercentage": 150, "End": True,
                                                 "ItemProcessor": _m({"P": {"Type": "Pass", "End": True}}, "P")}}),
     "FE512"),
]

#: (name, definition, code): statelint reports nothing, flowengine reports the code.
OURS_ONLY = [
    ("task_without_resource", _m({"A": {"Type": "Task", "End": True}}), "FE202"),
    ("states_all_not_last_in_retry", _m({"A": _task(Retry=[{"ErrorEquals": ["States.ALL"]},
                                                           {"ErrorEquals": ["States.Timeout"]}], End=True)}), "FE502"),
    ("heartbeat_equals_timeout", _m({"A": _task(TimeoutSeconds=30, HeartbeatSeconds=30, End=True)}), "FE508"),
    ("heartbeat_above_timeout", _m({"A": _task(TimeoutSeconds=30, HeartbeatSeconds=60, End=True)}), "FE508"),
    ("jsonata_syntax", _m({"A": {"Type": "Pass", "Output": "{% $states.input.x + %}", "End": True}},
                          QueryLanguage="JSONata"), "FE406"),
    ("jsonata_unclosed_call", _m({"A": {"Type": "Pass", "Output": {"n": "{% $count($states.input.items %}"},
                                        "End": True}}, QueryLanguage="JSONata"), "FE406"),
    ("loop_without_exit_beside_an_end", _m({
        "A": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "B"}],
              "Default": "D"},
        "B": {"Type": "Wait", "Seconds": 1, "Next": "C"}, "C": {"Type": "Pass", "Next": "B"}, "D": DONE}), "FE304"),
    ("intrinsic_wrong_arity", _m({"A": {"Type": "Pass", "Parameters": {"x.$": "States.MathAdd($.a)"}, "End": True}}),
     "FE404"),
    ("max_delay_too_large", _m({"A": _task(Retry=[{"ErrorEquals": ["X"], "MaxDelaySeconds": 40_000_000}],
                                           End=True)}), "FE506"),
]


def _statelint(definition: dict[str, Any]) -> list[str]:
    return statelint.Linter.validate(definition, Config({ProblemType.FLOAT}))


def _codes(definition: dict[str, Any]) -> list[str]:
    return [d.code for d in validate_definition(definition) if d.severity == "error"]


def test_the_comparison_is_large() -> None:
    assert len(BOTH) >= 25


@pytest.mark.parametrize(("name", "definition", "code"), BOTH, ids=[r[0] for r in BOTH])
def test_flagged_by_both(name: str, definition: dict[str, Any], code: str) -> None:
    assert _statelint(definition), f"statelint no longer flags {name}"
    assert code in _codes(definition)


@pytest.mark.parametrize(("name", "definition", "code"), OURS_ONLY, ids=[r[0] for r in OURS_ONLY])
def test_flagged_by_flowengine_only(name: str, definition: dict[str, Any], code: str) -> None:
    assert _statelint(definition) == [], f"statelint now flags {name}: move it to BOTH"
    assert code in _codes(definition)


def test_integer_backoff_rate_is_fine() -> None:
    """statelint's FLOAT false positive: AWS accepts BackoffRate: 2."""
    definition = _m({"A": _task(Retry=[{"ErrorEquals": ["X"], "BackoffRate": 2}], End=True)})
    assert statelint.Linter.validate(definition)  # without --ignore=FLOAT it complains
    assert validate_definition(definition) == []


@pytest.mark.parametrize("name", ["variables_in_jsonpath", "processor_config_in_iterator", "context_error_path",
                                  "map_label", "hyphen_in_path", "fractional_percentage"])
def test_statelint_false_positives_are_clean(name: str) -> None:
    """Definitions AWS ran (shared/conformance) that statelint rejects."""
    p = {"Type": "Pass", "End": True}
    definition = {
        "variables_in_jsonpath": _m({"A": {"Type": "Pass", "Assign": {"x.$": "$.a"}, "Next": "B"},
                                     "B": {"Type": "Pass", "InputPath": "$x", "End": True}}),
        "processor_config_in_iterator": _m({"A": {"Type": "Map", "End": True, "Iterator": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P", "States": {"P": p}}}}),
        "context_error_path": _m({"A": {"Type": "Fail", "ErrorPath": "$$.State.Name", "CausePath": "$causeVar"}}),
        "map_label": _m({"A": {"Type": "Map", "Label": "Batch", "End": True,
                               "ItemProcessor": {"StartAt": "P", "States": {"P": p}}}}),
        "hyphen_in_path": _m({"A": {"Type": "Map", "ItemsPath": "$.sub-values", "End": True,
                                    "ItemProcessor": {"StartAt": "P", "States": {"P": p}}}}),
        "fractional_percentage": _m({"A": {"Type": "Map", "ToleratedFailurePercentage": 0.5, "End": True,
                                           "ItemProcessor": {"StartAt": "P", "States": {"P": p}}}}),
    }[name]
    assert _statelint(definition)
    assert validate_definition(definition) == []

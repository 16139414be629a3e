"""JSONPath forms AWS's JsonPath (Jayway) accepts: a single '.' before '[' is no step at all
(issue 12, item 1: both forms come from AWS's own sample state machines)."""

from __future__ import annotations

import pytest

from flowengine.lang.jsonpath import compile_path, compile_reference_path, jayway_body
from flowengine.validate import validate_definition
from tests.engine.conftest import execute

SQS_BATCH = [{"messageId": "m1", "body": '{"order": 7}'}, {"messageId": "m2", "body": '{"order": 8}'}]


@pytest.mark.parametrize("dotted, plain", [
    ("$.[0].body", "$[0].body"),
    ("$.['a'].b", "$['a'].b"),
    ("$.a.[1]", "$.a[1]"),
    ("$$.[0]", "$$[0]"),
])
def test_dot_before_bracket_is_the_bracket_path(dotted: str, plain: str) -> None:
    a, b = compile_path(dotted), compile_path(plain)
    assert (a.definite, a.keys, a.root) == (b.definite, b.keys, b.root)


def test_dot_bracket_index_returns_the_value_not_a_list() -> None:
    assert compile_path("$.[0].body").find(SQS_BATCH) == '{"order": 7}'
    assert compile_reference_path("$.[1]").apply([1, 2], 5) == [1, 5]


def test_deep_scan_and_quoted_text_are_left_alone() -> None:
    assert jayway_body("..[0]") == "..[0]"
    assert jayway_body(".a['x.[y']") == ".a['x.[y']"
    assert compile_path("$..[0]").definite is False


def test_filter_after_dot_runs_like_jayway() -> None:
    ous = [{"OU": 1, "Name": "a"}, {"OU": 0, "Name": "b"}]
    assert compile_path("$.[?(@.OU > 0)]").find(ous) == [{"OU": 1, "Name": "a"}]


def test_validate_accepts_the_dotted_filter_and_index() -> None:
    definition = {"StartAt": "L", "States": {"L": {
        "Type": "Pass",
        "Parameters": {"newOU.$": "$.[?(@.OU > 0)]", "first.$": "$.[0]",
                       "parsed.$": "States.StringToJson($.[0].body)"},
        "End": True}}}
    assert [d.code for d in validate_definition(definition)] == []


def test_string_to_json_on_an_sqs_batch_behaves_like_the_bracket_path() -> None:
    def machine(path: str) -> dict:
        return {"StartAt": "P", "States": {"P": {
            "Type": "Pass", "Parameters": {"order.$": f"States.StringToJson({path})", "id.$": path.replace("body", "messageId")},
            "End": True}}}

    dotted = execute(machine("$.[0].body"), SQS_BATCH)
    plain = execute(machine("$[0].body"), SQS_BATCH)
    assert dotted.status == plain.status == "SUCCEEDED"
    assert dotted.output == plain.output == {"order": {"order": 7}, "id": "m1"}

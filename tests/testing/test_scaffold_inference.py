"""mocks scaffold's inference (flowengine.integrations.scaffold): each case is a shape real
definitions have (issue 12, item 4) and runs as scaffolded."""

from __future__ import annotations

from typing import Any

from flowengine.dsl.app import from_value
from flowengine.integrations.mockconfig import mock_config_from_dict, scaffold, scaffold_input
from flowengine.runtime.engine import Engine

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _run_scaffold(definition: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    app = from_value(definition, "m.asl.json")
    flow = next(iter(app.app.flows))
    data = scaffold(app, flow)
    given = scaffold_input(app, flow)
    with Engine(mocks=mock_config_from_dict(data).test_case(flow, "HappyPath"), validate=False) as engine:
        result = engine.run(app, given, flow=flow)
    returns = {name: r["0"]["Return"] if "0" in r else r["0-99"]["Return"] for name, r in data["MockedResponses"].items()}
    return result, returns, given


def test_choice_rules_before_the_chosen_one_are_made_false() -> None:
    definition = {"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": LAMBDA, "Next": "Status?"},
        "Status?": {"Type": "Choice", "Choices": [
            {"Variable": "$.status", "StringEquals": "FAILED", "Next": "Boom"},
            {"Variable": "$.status", "StringEquals": "RUNNING", "Next": "Get"},
            {"And": [{"Variable": "$.status", "StringEquals": "DONE"}, {"Variable": "$.count", "NumericLessThan": 3}],
             "Next": "Done"}],
            "Default": "Boom"},
        "Done": {"Type": "Succeed"}, "Boom": {"Type": "Fail"}}}
    result, returns, _ = _run_scaffold(definition)
    assert result.status == "SUCCEEDED"
    assert returns["MockedGetSuccess"]["status"] == "DONE" and returns["MockedGetSuccess"]["count"] < 3


def test_split_items_and_filters_get_values_that_select() -> None:
    definition = {"StartAt": "Labels", "States": {
        "Labels": {"Type": "Task", "Resource": LAMBDA,
                   "ResultSelector": {"es.$": "$.Items[?(@.Lang == 'es')].Text",
                                      "fr.$": "$.Items[?(@.Lang == 'fr')].Text"}, "Next": "Type"},
        "Type": {"Type": "Pass", "Parameters": {
            "es.$": "$.es[0]", "fr.$": "$.fr[0]",
            "kind.$": "States.ArrayGetItem(States.StringSplit($$.Execution.Input.key, '/'), 1)"}, "Next": "Kind?"},
        "Kind?": {"Type": "Choice", "Choices": [{"Variable": "$.kind", "StringEquals": "videos", "Next": "Ok"}],
                  "Default": "Boom"},
        "Ok": {"Type": "Succeed"}, "Boom": {"Type": "Fail"}}}
    result, returns, given = _run_scaffold(definition)
    assert result.status == "SUCCEEDED", result.cause
    assert given["key"].split("/")[1] == "videos"
    assert {item["Lang"] for item in returns["MockedLabelsSuccess"]["Items"]} == {"es", "fr"}


def test_a_parallel_result_read_by_index() -> None:
    definition = {"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": LAMBDA, "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": LAMBDA, "End": True}}}],
            "Next": "Valid?"},
        "Valid?": {"Type": "Choice", "Choices": [{"Variable": "$[0].valid", "NumericEquals": 1, "Next": "Use"}],
                   "Default": "Boom"},
        "Use": {"Type": "Pass", "InputPath": "$[1]", "Parameters": {"id.$": "$.id"}, "End": True},
        "Boom": {"Type": "Fail"}}}
    result, returns, _ = _run_scaffold(definition)
    assert result.status == "SUCCEEDED", result.cause
    assert returns["MockedASuccess"] == {"valid": 1} and "id" in returns["MockedBSuccess"]

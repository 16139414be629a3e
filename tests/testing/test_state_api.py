"""test_state: one state in isolation, each processing step reported (AWS's TestState API)."""

from __future__ import annotations

import json

import pytest

from flowengine.errors import FlowengineError
from flowengine.testing import mocks, test_state

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"

TASK = {
    "Type": "Task", "Resource": ARN + "price",
    "InputPath": "$.order",
    "Parameters": {"sku.$": "$.sku", "qty.$": "$.qty"},
    "ResultSelector": {"total.$": "$.amount"},
    "ResultPath": "$.price",
    "OutputPath": "$.price",
    "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
    "Next": "Ship",
}
ORDER = {"order": {"sku": "a", "qty": 2, "note": "x"}}


def test_every_jsonpath_step_of_a_task():
    r = test_state(TASK, "Price", input=ORDER, mock=mocks.returns({"amount": 20, "currency": "EUR"}))
    assert r.status == "SUCCEEDED" and r.next_state == "Ship"
    assert r.after_input_path == {"sku": "a", "qty": 2, "note": "x"}
    assert r.after_parameters == {"sku": "a", "qty": 2}
    assert r.result == {"amount": 20, "currency": "EUR"}
    assert r.after_result_selector == {"total": 20}
    assert r.after_result_path == {**ORDER, "price": {"total": 20}}  # ResultPath goes into the raw input
    assert r.output == {"total": 20}
    assert list(r.inspection) == ["input", "afterInputPath", "afterParameters", "result",
                                  "afterResultSelector", "afterResultPath"]


def test_a_task_runs_its_handler_without_a_mock():
    r = test_state(TASK, "Price", input=ORDER, handlers={"price": lambda e, c: {"amount": e["qty"] * 5}})
    assert r.output == {"total": 10}


def test_retriable_caught_and_failed():
    r = test_state(TASK, "Price", input=ORDER, mock=mocks.raises("Busy", "later"))
    assert (r.status, r.error, r.cause, r.retry_delay, r.retry_index, r.next_state) == (
        "RETRIABLE", "Busy", "later", 2.0, 0, "Price")
    assert test_state(TASK, "Price", input=ORDER, mock=mocks.raises("Busy"), retry_count=1).retry_delay == 6.0
    r = test_state(TASK, "Price", input=ORDER, mock=mocks.raises("Busy"), retry_count=2)
    assert (r.status, r.next_state, r.catch_index) == ("CAUGHT_ERROR", "Recover", 0)
    assert r.output == {**ORDER, "error": {"Error": "Busy", "Cause": ""}}
    no_catch = {k: v for k, v in TASK.items() if k != "Catch"}
    r = test_state(no_catch, "Price", input=ORDER, mock={"errorOutput": {"error": "Nope", "cause": "c"}})
    assert (r.status, r.error, r.cause, r.next_state) == ("FAILED", "Nope", "c", None)


def test_awss_mock_shapes_and_the_response_shape():
    r = test_state(TASK, input=ORDER, mock={"result": json.dumps({"amount": 1})})
    data = r.to_json()
    assert data["status"] == "SUCCEEDED" and data["nextState"] == "Ship"
    assert json.loads(data["inspectionData"]["afterResultSelector"]) == {"total": 1}


def test_jsonata_steps_and_assign():
    state = {"Type": "Task", "QueryLanguage": "JSONata", "Resource": ARN + "f",
             "Arguments": {"n": "{% $states.input.n + $offset %}"},
             "Assign": {"last": "{% $states.result.v %}"},
             "Output": "{% $states.result.v * 10 %}", "End": True}
    r = test_state(state, input={"n": 1}, variables={"offset": 100}, mock=mocks.call(lambda p, c: {"v": p["n"]}))
    assert r.after_arguments == {"n": 101} and r.result == {"v": 101}
    assert r.output == 1010 and r.variables == {"offset": 100, "last": 101} and r.next_state is None


def test_context_overrides_reach_the_state():
    state = {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "try.$": "$$.State.RetryCount",
                                            "item.$": "$$.Map.Item.Index"}, "End": True}
    r = test_state(state, context={"Execution": {"Id": "exec-1"}, "State": {"RetryCount": 2},
                                   "Map": {"Item": {"Index": 4}}})
    assert r.output == {"id": "exec-1", "try": 2, "item": 4}


def test_other_state_types():
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}],
              "Default": "Small"}
    assert test_state(choice, input={"n": 9}).next_state == "Big"
    assert test_state(choice, input={"n": 1}).next_state == "Small"
    r = test_state({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "N"}, input={"a": 0})
    assert (r.result, r.after_result_path, r.next_state) == ({"x": 1}, {"a": 0, "r": {"x": 1}}, "N")
    r = test_state({"Type": "Fail", "Error": "E", "Cause": "C"})
    assert (r.status, r.error, r.cause) == ("FAILED", "E", "C")
    r = test_state({"Type": "Wait", "Seconds": 86_400, "Next": "After"}, input={"k": 1})
    assert (r.output, r.next_state) == ({"k": 1}, "After")
    r = test_state({"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": True}, input={})
    assert r.status == "FAILED" and r.error == "States.Runtime"


def test_map_and_parallel_with_and_without_a_mock():
    m = {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "Dbl", "States": {
        "Dbl": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": True}}},
         "ResultSelector": {"n.$": "States.ArrayLength($)"}, "End": True}
    assert test_state(m, input={"xs": [1, 2]}).result == [{"v": 2}, {"v": 4}]
    r = test_state(m, input={"xs": [1, 2]}, mock=mocks.returns([0, 0, 0]))
    assert (r.result, r.output) == ([0, 0, 0], {"n": 3})
    p = {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
         "End": True}
    assert test_state(p, input={"q": 1}).output == [{"q": 1}]
    assert test_state(p, input={"q": 1}, mock=mocks.returns(["m"])).output == ["m"]


def test_a_state_of_an_app_flow_by_name_or_path():
    r = test_state("definitions/orders.yaml", "ShipOne", input={"sku": "s1"},
                   mock=mocks.returns({"parcel": "p"}))
    assert r.state == "Ship/ShipOne" and r.output == {"parcel": "p"}
    r = test_state("definitions/orders.yaml", "Notify", input={"orderId": "o1", "shipments": [1, 2]},
                   mock=mocks.returns({"sent": True}))
    assert r.after_parameters == {"orderId": "o1", "message": "Order o1 is on its way in 2 parcels."}
    with pytest.raises(FlowengineError, match="no state 'Nope'"):
        test_state("definitions/orders.yaml", "Nope")

"""The trace on a result: the path (with Map and Parallel scopes) and every state's attempts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import flowengine
from flowengine.runtime.engine import Engine
from flowengine.errors import FlowengineError
from flowengine.testing import mocks, run_flow

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"

NESTED = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Next": "Fan"},
        "Fan": {"Type": "Parallel", "Next": "Each", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
            {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "Next": "Inner"},
                                            "Inner": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                                                      "ItemProcessor": {"StartAt": "Deep", "States": {
                                                          "Deep": {"Type": "Pass", "End": True}}}}}},
        ]},
        "Each": {"Type": "Map", "ItemsPath": "$[1]", "MaxConcurrency": 1, "End": True,
                 "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}},
    },
}


def test_path_names_states_by_their_scopes():
    r = run_flow(NESTED, input={"items": [1, 2]}, validate=False)
    assert r.status == "SUCCEEDED", r.cause
    assert r.path == ["Start", "Fan", "Fan/0/Left", "Fan/1/Right", "Fan/1/Inner", "Fan/1/Inner/Deep",
                      "Fan/1/Inner/Deep", "Each", "Each/One", "Each/One"]
    assert r.path_names == ["Start", "Fan", "Left", "Right", "Inner", "Deep", "Deep", "Each", "One", "One"]
    # a plain name and a path name the same state; Map iterations record their index
    assert r.state("Deep").attempts == r.state("Fan/1/Inner/Deep").attempts
    assert [(a.entry, a.map_index) for a in r.state("Deep")] == [(0, 0), (1, 1)]
    assert r.state("Start")[0].map_index is None


def test_attempts_record_input_output_errors_delays_and_times():
    definition = {"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": ARN + "charge", "ResultPath": "$.payment",
                   "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 3, "BackoffRate": 2, "MaxAttempts": 2}],
                   "Catch": [{"ErrorEquals": ["Declined"], "ResultPath": "$.why", "Next": "Refused"}],
                   "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Refused": {"Type": "Fail", "Error": "Refused", "Cause": "declined"},
    }}
    ms = {"Charge": mocks.sequence(mocks.raises("Busy", "later"), mocks.returns({"id": "p1"}))}
    r = run_flow(definition, input={"order": 7}, mocks=ms, validate=False)
    first, second = r.state("Charge")
    assert (first.number, first.status, first.error, first.cause) == (0, "failed", "Busy", "later")
    assert first.input == {"order": 7} and first.output is None and first.retry_delay is None
    assert (second.number, second.status, second.retry_delay) == (1, "succeeded", 3.0)
    assert second.output == {"order": 7, "payment": {"id": "p1"}}
    assert second.started - first.ended == timedelta(seconds=3)
    assert r.state("Charge").retry_delays == [3.0] and r.retries == {"Charge": [3.0]}
    assert r.path == ["Charge", "Done"]

    # caught: the attempt keeps the error, and its output is the catcher's
    r = run_flow(definition, input={"order": 8}, mocks={"Charge": mocks.raises("Declined", "card")}, validate=False)
    (attempt,) = r.state("Charge")
    assert (attempt.status, attempt.error, attempt.output) == (
        "caught", "Declined", {"order": 8, "why": {"Error": "Declined", "Cause": "card"}})
    assert r.path == ["Charge", "Refused"]
    refused = r.state("Refused")[0]
    assert (refused.status, refused.error, refused.cause) == ("failed", "Refused", "declined")
    # a state that never ran is empty; one that does not exist is an error with a hint
    assert not r.state("Done") and r.state("Done").entries == 0
    with pytest.raises(KeyError, match="did you mean 'Charge'"):
        r.state("Chrage")


def test_uncaught_failures_inside_parallel_close_every_scope():
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E", "Cause": "c"}}}]}}}
    r = run_flow(definition, validate=False)
    assert r.status == "FAILED"
    assert [(a.state, a.status) for a in r.trace.attempts] == [("P", "failed"), ("P/0/Boom", "failed")]
    assert (r.state("P/0/Boom")[0].error, r.state("P")[0].error) == ("E", "E")


def test_results_without_a_trace_say_how_to_get_one():
    result = flowengine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    with pytest.raises(FlowengineError, match="record=True"):
        _ = result.path
    with Engine(record=True) as engine:
        assert engine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}).path == ["A"]


def test_history_exports_as_json():
    r = run_flow({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 90, "End": True}}}, validate=False)
    events = json.loads(r.history_json())["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited",
                                           "ExecutionSucceeded"]
    assert events[2]["timestamp"] == "2024-01-01T00:01:30+00:00"
    assert json.dumps(r.to_json())  # every value is JSON
    assert r.trace.to_json()["path"] == ["W"]

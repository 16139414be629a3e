"""Each state type, JSONPath and JSONata, on the virtual clock."""

from __future__ import annotations

import pytest


def test_pass_result_parameters_and_paths(run, steps):
    d = steps(
        ("A", {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r"}),
        ("B", {"Type": "Pass", "InputPath": "$.r", "Parameters": {"y.$": "$.x", "k": "v", "ctx.$": "$$.State.Name"},
               "ResultPath": "$.p"}),
        ("C", {"Type": "Pass", "OutputPath": "$.p"}),
    )
    r = run(d, {"in": True})
    assert r.status == "SUCCEEDED"
    assert r.output == {"y": 1, "k": "v", "ctx": "B"}


def test_pass_null_paths(run, steps):
    d = steps(("A", {"Type": "Pass", "InputPath": None, "ResultPath": None, "OutputPath": "$"}),
              ("B", {"Type": "Pass", "OutputPath": None}))
    assert run(d, {"a": 1}).output == {}


def test_succeed_and_fail(run, steps):
    assert run(steps(("S", {"Type": "Succeed", "OutputPath": "$.a"})), {"a": [1]}).output == [1]
    r = run(steps(("F", {"Type": "Fail", "Error": "Boom", "Cause": "because"})))
    assert (r.status, r.error, r.cause, r.output) == ("FAILED", "Boom", "because", None)
    r = run(steps(("F", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$$.State.Name"})), {"e": "E1"})
    assert (r.error, r.cause) == ("E1", "F")
    r = run(steps(("F", {"Type": "Fail"})))
    assert (r.status, r.error, r.cause) == ("FAILED", None, None)
    assert r.history[-1]["executionFailedEventDetails"] == {}


def test_fail_jsonata(run, steps):
    d = steps(("F", {"Type": "Fail", "QueryLanguage": "JSONata", "Error": "{% 'E' & $states.input.n %}",
                     "Cause": "{% $string($states.input.n * 2) %}"}))
    r = run(d, {"n": 2})
    assert (r.error, r.cause) == ("E2", "4")


@pytest.mark.parametrize("op,value,var,expected", [
    ("StringEquals", "a", "a", True), ("StringEquals", "a", 1, False),
    ("StringLessThan", "a", "b", False), ("StringGreaterThanEquals", "a", "b", True),
    ("NumericEquals", 1, 1.0, True), ("NumericLessThan", 5, 3, True), ("NumericGreaterThan", 5, True, False),
    ("NumericLessThanEquals", 3, 3, True), ("NumericGreaterThanEquals", 3, 2, False),
    ("BooleanEquals", True, True, True), ("BooleanEquals", True, 1, False),
    ("TimestampEquals", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00", True),
    ("TimestampLessThan", "2020-01-01T00:00:01Z", "2020-01-01T00:00:00.5Z", True),
    ("TimestampGreaterThan", "2020-01-01T00:00:00Z", "not a date", False),
    ("StringMatches", "log-*.txt", "log-2020.txt", True), ("StringMatches", "log-*.txt", "log.txt", False),
    ("StringMatches", "a\\*b", "a*b", True), ("StringMatches", "a\\*b", "axb", False),
    ("StringMatches", "*", "", True),
    ("IsNull", True, None, True), ("IsNull", False, 0, True), ("IsNumeric", True, 1.5, True),
    ("IsNumeric", True, True, False), ("IsString", True, "x", True), ("IsBoolean", True, False, True),
    ("IsTimestamp", True, "2016-03-14T01:59:00Z", True), ("IsTimestamp", True, "2016-03-14 01:59:00Z", False),
    ("IsTimestamp", True, "2016-03-14T01:59:00", False),
])
def test_choice_operators(run, op, value, var, expected):
    d = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", op: value, "Next": "T"}], "Default": "F"},
        "T": {"Type": "Pass", "Result": True, "End": True},
        "F": {"Type": "Pass", "Result": False, "End": True}}}
    assert run(d, {"v": var}).output is expected


def test_choice_path_operators_and_composites(run):
    d = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.a", "NumericLessThanPath": "$.b"},
                     {"Not": {"Variable": "$.s", "StringEqualsPath": "$.t"}},
                     {"Or": [{"Variable": "$.x", "IsPresent": True},
                             {"Variable": "$.flag", "BooleanEqualsPath": "$.on"}]}],
             "Next": "T"}], "Default": "F"},
        "T": {"Type": "Pass", "Result": "T", "End": True},
        "F": {"Type": "Pass", "Result": "F", "End": True}}}
    assert run(d, {"a": 1, "b": 2, "s": "x", "t": "y", "flag": True, "on": True}).output == "T"
    assert run(d, {"a": 1, "b": 2, "s": "x", "t": "x", "flag": True, "on": True}).output == "F"
    assert run(d, {"a": 1, "b": 2, "s": "x", "t": "y", "flag": True, "on": False}).output == "F"


def test_choice_no_match_and_missing_variable(run):
    d = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "T"}]},
        "T": {"Type": "Succeed"}}}
    r = run(d, {"v": 2})
    assert (r.status, r.error) == ("FAILED", "States.NoChoiceMatched")
    r = run(d, {})
    assert r.error == "States.Runtime"
    assert r.cause == ("An error occurred while executing the state 'C' (entered at the event id #2). "
                       "Invalid path '$.v': The choice state's condition path references an invalid value.")


def test_choice_jsonata_condition_output_assign(run):
    d = {"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Output": {"size": "big"},
             "Assign": {"seen": "{% $states.input.n %}"}}],
            "Default": "Small", "Output": {"size": "small"}},
        "Big": {"Type": "Pass", "Output": "{% [$states.input.size, $seen] %}", "End": True},
        "Small": {"Type": "Succeed"}}}
    assert run(d, {"n": 11}).output == ["big", 11]
    assert run(d, {"n": 1}).output == {"size": "small"}
    bad = {"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "S"}], "Default": "S"},
        "S": {"Type": "Succeed"}}}
    r = run(bad, {"n": 3})
    assert r.error == "States.QueryEvaluationError"
    assert "Expected 'boolean', but was 'number'" in r.cause


def test_wait_forms_on_virtual_clock(run, steps):
    d = steps(("W1", {"Type": "Wait", "Seconds": 86400}),
              ("W2", {"Type": "Wait", "SecondsPath": "$.s"}),
              ("W3", {"Type": "Wait", "TimestampPath": "$.until"}),
              ("W4", {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z"}))
    r = run(d, {"s": 60, "until": "2024-01-03T00:00:00Z"})
    assert r.status == "SUCCEEDED"
    stamps = {e["stateEnteredEventDetails"]["name"]: e["timestamp"] for e in r.history
              if e["type"] == "WaitStateEntered"}
    assert (stamps["W2"] - stamps["W1"]).total_seconds() == 86400
    assert (stamps["W3"] - stamps["W2"]).total_seconds() == 60
    assert stamps["W4"].isoformat() == "2024-01-03T00:00:00+00:00"
    assert (r.stop_date - r.start_date).total_seconds() == 2 * 86400


def test_wait_invalid_values(run, steps):
    d = steps(("W", {"Type": "Wait", "SecondsPath": "$.s"}))
    r = run(d, {"s": -1})
    assert r.cause.endswith("The SecondsPath parameter references a negative value: $.s == -1")
    r = run(d, {"s": 1.5})
    assert r.cause.endswith("The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5")
    d = steps(("W", {"Type": "Wait", "TimestampPath": "$.t"}))
    r = run(d, {"t": "2016-12-05T21:29:29"})
    assert r.error == "States.Runtime" and "extended offset date-time" in r.cause
    # Step Functions counts a wait in a signed 32-bit number of seconds.
    r = run(d, {"t": "2100-01-01T00:00:00Z"})
    assert r.error == "States.Runtime"
    r = run(steps(("W", {"Type": "Wait", "QueryLanguage": "JSONata", "Timestamp": "{% $states.input.t %}"})),
            {"t": "2016-13-05T21:29:29Z"})
    assert r.error == "States.QueryEvaluationError"
    assert [e["type"] for e in r.history][-2] == "EvaluationFailed"


def test_wait_jsonata_seconds(run, steps):
    r = run(steps(("W", {"Type": "Wait", "QueryLanguage": "JSONata", "Seconds": "{% $states.input.s * 2 %}"})),
            {"s": 30})
    assert r.status == "SUCCEEDED"
    assert (r.stop_date - r.start_date).total_seconds() == 60


def test_parallel_ordered_results_and_first_failure_stops_siblings(run):
    d = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "Next": "A"},
                                    "A": {"Type": "Pass", "Result": "slow", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "fast", "End": True}}}]}}}
    assert run(d).output == ["slow", "fast"]
    d["States"]["P"]["Branches"][1] = {"StartAt": "X", "States": {"X": {"Type": "Fail", "Error": "X"}}}
    r = run(d)
    assert (r.status, r.error) == ("FAILED", "X")
    types = [e["type"] for e in r.history]
    assert "WaitStateAborted" in types and "WaitStateExited" not in types
    assert types[-2:] == ["ParallelStateFailed", "ExecutionFailed"]


def test_parallel_parameters_result_selector_and_catch(run):
    d = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Parameters": {"v.$": "$.v"}, "ResultSelector": {"first.$": "$[0].v"},
              "ResultPath": "$.out", "Next": "Done",
              "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}]},
        "Done": {"Type": "Succeed"}}}
    assert run(d, {"v": 7}).output == {"v": 7, "out": {"first": 7}}
    d["States"]["P"]["Branches"] = [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}]
    d["States"]["P"]["Catch"] = [{"ErrorEquals": ["E"], "ResultPath": "$.err", "Next": "Done"}]
    assert run(d, {"v": 7}).output == {"v": 7, "err": {"Error": "E", "Cause": "C"}}


def test_map_items_selector_context_and_concurrency(run):
    d = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 2,
        "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
        "ItemProcessor": {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.v", "Next": "P"},
            "P": {"Type": "Pass", "End": True}}},
        "ResultSelector": {"n.$": "States.ArrayLength($)", "all.$": "$"}, "End": True}}}
    r = run(d, {"xs": [30, 10, 20], "k": "K"})
    assert r.output == {"n": 3, "all": [{"i": 0, "v": 30, "k": "K"}, {"i": 1, "v": 10, "k": "K"},
                                        {"i": 2, "v": 20, "k": "K"}]}
    # two workers: 30 | 10 then 20 → done at 30 s
    assert (r.stop_date - r.start_date).total_seconds() == 30
    d["States"]["M"]["MaxConcurrency"] = 1
    assert (run(d, {"xs": [30, 10, 20], "k": "K"}).stop_date - r.start_date).total_seconds() == 60
    d["States"]["M"]["MaxConcurrency"] = 0
    assert (run(d, {"xs": [30, 10, 20], "k": "K"}).stop_date - r.start_date).total_seconds() == 30


def test_map_legacy_iterator_and_parameters(run):
    d = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "Parameters": {"x.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    assert run(d, [1, 2]).output == [{"x": 1}, {"x": 2}]


def test_map_failure_and_tolerance(run):
    proc = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "F"}], "Default": "S"},
        "F": {"Type": "Fail", "Error": "Zero", "Cause": "item was 0"},
        "S": {"Type": "Succeed"}}}
    d = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": proc, "End": True}}}
    r = run(d, [1, 0, 2])
    assert (r.status, r.error) == ("FAILED", "Zero")
    d["States"]["M"]["ToleratedFailureCount"] = 1
    r = run(d, [1, 0, 2])
    assert r.status == "SUCCEEDED"
    assert r.output == [1, {"Error": "Zero", "Cause": "item was 0"}, 2]
    r = run(d, [0, 0, 2])
    assert (r.status, r.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    del d["States"]["M"]["ToleratedFailureCount"]
    d["States"]["M"]["ToleratedFailurePercentagePath"] = "$x"
    d["States"] = {"Init": {"Type": "Pass", "Assign": {"x": 50}, "Next": "M"}, "M": d["States"]["M"]}
    d["StartAt"] = "Init"
    assert run(d, [0, 1]).status == "SUCCEEDED"
    assert run(d, [0, 0, 1]).error == "States.ExceedToleratedFailureThreshold"


def test_map_item_batcher_over_inline_items(run):
    d = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
        "ItemsPath": "$.xs", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    r = run(d, {"xs": [1, 2, 3], "tag": "t"})
    assert r.output == [{"BatchInput": {"tag": "t"}, "Items": [1, 2]}, {"BatchInput": {"tag": "t"}, "Items": [3]}]


def test_distributed_map_records_map_run_events(run):
    d = {"StartAt": "M", "States": {"M": {"Type": "Map", "Label": "Run", "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    r = run(d, [1, 2])
    assert r.output == [1, 2]
    assert [e["type"] for e in r.history] == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded",
        "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    arn = r.history[3]["mapRunStartedEventDetails"]["mapRunArn"]
    assert arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:StateMachine/Run:")


def test_map_jsonata_items_and_selector(run):
    d = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "Items": "{% $states.input.xs %}", "MaxConcurrency": "{% 1 %}",
        "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}", "i": "{% $states.context.Map.Item.Index %}"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "Output": "{% $states.result.v %}", "End": True}}}
    assert run(d, {"xs": [1, 2]}).output == [10, 20]
    r = run(d, {"xs": {"a": 1}})
    assert r.error == "States.QueryEvaluationError"
    assert r.cause.endswith("The JSONata expression '$states.input.xs' specified for the field 'Items' returned an "
                            "unexpected result type. Expected 'array', but was 'object' for value: {\"a\":1}")


def test_map_item_reader_is_reported_not_ignored(run):
    d = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                                      "Parameters": {"Bucket": "b", "Key": "k"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    r = run(d, [])
    assert r.error == "States.ItemReaderFailed" and "ItemReader" in r.cause


def test_seconds_path_reads_a_long(run, steps):
    d = steps(("W", {"Type": "Wait", "SecondsPath": "$.s"}))
    assert run(d, {"s": "30"}).status == "SUCCEEDED"
    assert "cannot be parsed as a long value" in run(d, {"s": 1.0}).cause
    assert "cannot be parsed as a long value" in run(d, {"s": "soon"}).cause

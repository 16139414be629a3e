"""Dataflow (InputPath → Parameters → ResultSelector → ResultPath → OutputPath; JSONata
Arguments/Output/Assign), the context object and variable scoping."""

from __future__ import annotations

from flowengine.lang.jsonpath import PathNotFound, ReferencePath, compile_path


def test_jsonpath_definite_and_indefinite():
    data = {"a": {"b": [10, 20, 30]}, "items": [{"v": 1}, {"v": 2}, {}], "k-1": 5}
    assert compile_path("$.a.b[1]").find(data) == 20
    assert compile_path("$['a']['b'][0]").find(data) == 10
    assert compile_path("$.k-1").find(data) == 5
    assert compile_path("$.items[*].v").find(data) == [1, 2]
    assert compile_path("$.items[1:].v").find(data) == [2]
    assert compile_path("$.nothing[*]").find(data) == []
    assert compile_path("$.items[?(@.v == 2)]").find(data) == [{"v": 2}]
    try:
        compile_path("$.a.c.d").find(data)
    except PathNotFound as exc:
        assert exc.at == "$['a']['c']"
    else:
        raise AssertionError("a missing definite path raises")
    assert compile_path("$var.x").is_variable and compile_path("$$.State").is_context


def test_reference_path_is_copy_on_write():
    data = {"a": {"keep": 1}, "b": [1]}
    out = ReferencePath("$.a.new.deep").apply(data, 5)
    assert out == {"a": {"keep": 1, "new": {"deep": 5}}, "b": [1]}
    assert data == {"a": {"keep": 1}, "b": [1]}
    assert out["b"] is data["b"]


def test_task_like_dataflow_order(run):
    d = {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "InputPath": "$.in", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
        "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
        "ResultSelector": {"value.$": "$[0].doubled"}, "ResultPath": "$.in.result", "OutputPath": "$.in",
        "End": True}}}
    assert run(d, {"in": {"n": 4}, "other": 1}).output == {"n": 4, "result": {"value": 8}}


def test_context_object(run):
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": True}}}
    r = run(d, {"x": 1})
    ctx = r.output["c"]
    assert ctx["Execution"] == {
        "Id": r.execution_arn, "Input": {"x": 1}, "StartTime": "2024-01-01T00:00:00.000Z", "Name": r.name,
        "RoleArn": "arn:aws:iam::123456789012:role/StepFunctions-StateMachine-role", "RedriveCount": 0}
    assert ctx["StateMachine"] == {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine",
                                   "Name": "StateMachine"}
    assert ctx["State"] == {"Name": "A", "EnteredTime": "2024-01-01T00:00:00.000Z"}


def test_express_execution_arn(run):
    from flowengine.runtime.engine import Engine

    with Engine(validate=False) as engine:
        r = engine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id"},
                                                          "End": True}}}, express=True)
    assert ":express:StateMachine:" in r.output["id"]


def test_jsonata_arguments_output_assign(run):
    d = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"total": "{% $sum($states.input.xs) %}"},
              "Output": {"n": "{% $count($states.input.xs) %}"}, "Next": "B"},
        "B": {"Type": "Parallel", "Arguments": {"t": "{% $total %}", "n": "{% $states.input.n %}"},
              "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}],
              "Output": "{% $states.result[0] %}", "End": True}}}
    assert run(d, {"xs": [1, 2, 3]}).output == {"t": 6, "n": 3}


def test_mixed_query_languages(run):
    d = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"v.$": "$.x"}, "Next": "B"},
        "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"got": "{% $v %}"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"again.$": "$.got", "var.$": "$v"}, "End": True}}}
    assert run(d, {"x": "hello"}).output == {"again": "hello", "var": "hello"}


def test_assign_applies_after_the_state(run):
    # All expressions of a state see the variables as they were before it.
    d = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"n": 1}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"n.$": "States.MathAdd($n, 1)", "old.$": "$n"},
              "Parameters": {"seen.$": "$n"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"n.$": "$n", "old.$": "$old", "prev.$": "$.seen"}, "End": True}}}
    r = run(d)
    assert r.output == {"n": 2, "old": 1, "prev": 1}
    exited = [e for e in r.history if e["type"] == "PassStateExited"][1]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"n": "2", "old": "1"}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


def test_variable_scopes_in_map_and_parallel(run):
    d = {"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "In", "States": {
            "In": {"Type": "Pass", "Assign": {"inner": "i"}, "Parameters": {"outer.$": "$outer", "v.$": "$"},
                   "Next": "Read"},
            "Read": {"Type": "Pass", "Parameters": {"inner.$": "$inner", "v.$": "$.v", "outer.$": "$outer"},
                     "End": True}}},
              "ResultPath": "$.mapped", "Next": "P"},
        "P": {"Type": "Parallel", "ResultPath": None, "Branches": [
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"inner": "b"}, "End": True}}}],
              "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"mapped.$": "$.mapped", "outer.$": "$outer",
                                                 "inner_visible.$": "States.ArrayContains(States.Array($outer), 'x')"},
                  "End": True}}}
    r = run(d, {"xs": [1, 2]})
    assert r.output["mapped"] == [{"inner": "i", "v": 1, "outer": "o"}, {"inner": "i", "v": 2, "outer": "o"}]
    # inner assignments do not leak out of the Map or the Parallel branch
    leak = {"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemProcessor": {"StartAt": "In", "States": {
            "In": {"Type": "Pass", "Assign": {"inner": "i"}, "End": True}}}, "Next": "Read"},
        "Read": {"Type": "Pass", "Parameters": {"x.$": "$inner"}, "End": True}}}
    r = run(leak, [1])
    assert r.error == "States.Runtime"
    assert "$inner" in r.cause


def test_catch_result_path_and_jsonata_catch_output(run):
    d = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}], "Next": "Done"},
        "Done": {"Type": "Succeed"}}}
    assert run(d, {"a": 1}).output == {"a": 1, "error": {"Error": "E", "Cause": ""}}
    j = {"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E",
                                                                                 "Cause": "c"}}}],
              "Catch": [{"ErrorEquals": ["E"], "Assign": {"err": "{% $states.errorOutput.Error %}"},
                         "Output": {"in": "{% $states.input %}", "eo": "{% $states.errorOutput %}"},
                         "Next": "Done"}], "Next": "Done"},
        "Done": {"Type": "Pass", "Output": {"all": "{% $states.input %}", "err": "{% $err %}"}, "End": True}}}
    assert run(j, {"a": 1}).output == {"all": {"in": {"a": 1}, "eo": {"Error": "E", "Cause": "c"}}, "err": "E"}


def test_constant_parts_of_a_definition_never_leak_to_callers():
    from flowengine.runtime.engine import Engine

    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"cfg": {"k": 1}, "x.$": "$.x"}, "End": True}}}
    with Engine(validate=False) as engine:
        first = engine.run(d, {"x": 1})
        first.output["cfg"]["k"] = "mutated by the caller"
        assert engine.run(d, {"x": 2}).output == {"cfg": {"k": 1}, "x": 2}

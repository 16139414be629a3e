"""states:startExecution (request-response, .sync, .sync:2, .waitForTaskToken): nested executions
of the same app on the same clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.runtime.engine import Engine

from .conftest import details, events_of, machine, task

START = "arn:aws:states:::states:startExecution"
CHILD_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Child"
DOUBLE = {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
                                                      "End": True}}}
FAILS = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "SomeFailure",
                                                "Cause": "This state machine raises a 'SomeFailure' failure."}}}

APP = """\
app: nested-demo
flows:
  Parent:
    StartAt: Start
    States:
      Start:
        Type: Task
        Resource: arn:aws:states:::states:startExecution.sync:2
        Parameters:
          StateMachineArn: ${ChildArn}
          Input:
            n.$: $.n
        OutputPath: $.Output
        End: true
  Child:
    StartAt: Wait
    States:
      Wait: {Type: Wait, Seconds: 3600, Next: Double}
      Double:
        Type: Pass
        Parameters:
          doubled.$: States.MathAdd($.n, $.n)
        End: true
"""


def start(pattern: str = "", **parameters: Any) -> dict[str, Any]:
    params = {"StateMachineArn": CHILD_ARN, "Input": {"n.$": "$.n"}}
    params.update(parameters)
    return task(START + pattern, params)


def run(child: dict[str, Any], parent: dict[str, Any], input: Any = None, **options: Any) -> Any:
    options.setdefault("validate", False)
    with Engine(**options) as engine:
        engine.register_state_machine("Child", child)
        return engine.run(parent, {"n": 21} if input is None else input), engine.nested.executions


def test_sync2_child_output_is_the_task_result_as_json() -> None:
    result, [child] = run(DOUBLE, machine(("Start", start(".sync:2"))))
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    assert out["Output"] == {"doubled": 42} and out["Input"] == {"n": 21}
    assert out["Status"] == "SUCCEEDED" and out["ExecutionArn"] == child.arn
    assert out["StateMachineArn"] == CHILD_ARN
    assert list(out) == ["ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails", "StartDate",
                         "StateMachineArn", "Status", "StopDate"]
    assert out["StartDate"] == 1704067200000  # epoch milliseconds, on the virtual clock
    assert result.event_types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                                  "TaskSubmitted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    submitted = details(events_of(result, "TaskSubmitted")[0])
    assert submitted["resource"] == "startExecution.sync:2" and submitted["resourceType"] == "states"
    assert set(json.loads(submitted["output"])) == {"ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata",
                                                    "StartDate"}
    assert child.snapshot().event_types[0] == "ExecutionStarted"  # the child has its own history


def test_sync_child_output_is_json_text() -> None:
    result, _ = run(DOUBLE, machine(("Start", start(".sync"))))
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["Output"] == '{"doubled":42}'
    assert result.output["Input"] == '{"n":21}'
    assert details(events_of(result, "TaskScheduled")[0])["resource"] == "startExecution.sync"


def test_request_response_returns_at_once_and_the_child_runs_on() -> None:
    child_def = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    with Engine(validate=False) as engine:
        engine.register_state_machine("Child", child_def)

        async def scenario() -> Any:
            handle = await engine.start_execution(machine(("Start", start())), {"n": 1})
            parent = await handle.result()
            [child] = engine.nested.executions
            assert child.status == "RUNNING"
            return parent, await child.result()

        parent, child = engine.run_async(scenario())
    assert parent.status == "SUCCEEDED"
    assert set(parent.output) == {"ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"}
    assert parent.output["ExecutionArn"] == child.execution_arn
    assert "TaskSubmitted" not in parent.event_types
    assert child.status == "SUCCEEDED" and child.stop_ts - child.start_ts == 60


def test_a_failing_child_fails_the_task_with_states_task_failed() -> None:
    result, _ = run(FAILS, machine(("Start", start(".sync", Name="TestStartTarget"))))
    assert (result.status, result.error) == ("FAILED", "States.TaskFailed")
    cause = json.loads(result.cause)
    assert cause["Error"] == "SomeFailure"
    assert cause["Cause"] == "This state machine raises a 'SomeFailure' failure."
    assert cause["Status"] == "FAILED" and cause["Name"] == "TestStartTarget"
    assert cause["ExecutionArn"].endswith(":execution:Child:TestStartTarget")
    assert "Output" not in cause
    assert list(cause)[:2] == ["Cause", "Error"]
    failed = details(events_of(result, "TaskFailed")[0])
    assert failed["error"] == "States.TaskFailed" and failed["resource"] == "startExecution.sync"


def test_a_failed_child_can_be_caught() -> None:
    parent = start(".sync:2")
    parent["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Recover"}]
    definition = {"StartAt": "Start", "States": {"Start": parent, "Recover": {"Type": "Pass", "End": True}}}
    result, _ = run(FAILS, definition)
    assert result.status == "SUCCEEDED"
    assert json.loads(result.output["failure"]["Cause"])["Error"] == "SomeFailure"


def test_the_parent_task_timeout_stops_the_child() -> None:
    slow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 7200, "End": True}}}
    state = start(".sync")
    state["TimeoutSeconds"] = 60
    result, [child] = run(slow, machine(("Start", state)))
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert "TaskTimedOut" in result.event_types
    assert child.snapshot().status == "ABORTED"


def test_unknown_state_machine_and_duplicate_names() -> None:
    missing = task(START + ".sync", {"StateMachineArn": CHILD_ARN.replace("Child", "Nope")})
    result, _ = run(DOUBLE, machine(("Start", missing)))
    assert result.error == "StepFunctions.StateMachineDoesNotExistException"
    assert result.cause.startswith(f"State Machine Does Not Exist: '{CHILD_ARN.replace('Child', 'Nope')}' "
                                   "(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;")
    twice = machine(("One", dict(start(".sync", Name="same"), ResultPath="$.one")),
                    ("Two", dict(start(".sync", Name="same"), ResultPath="$.two")))
    result, children = run(DOUBLE, twice)
    assert result.error == "StepFunctions.ExecutionAlreadyExistsException"
    assert len(children) == 1


def test_input_as_text_and_absent() -> None:
    result, [_, b] = run(DOUBLE, machine(
        ("Text", dict(start(".sync:2", Input='{"n": 2}'), ResultPath="$.text")),
        ("Absent", dict(task(START + ".sync", {"StateMachineArn": CHILD_ARN}), ResultPath="$.absent",
                        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}])),
        ("Done", {"Type": "Pass", "End": True}),
    ))
    assert result.output["text"]["Output"] == {"doubled": 4}
    assert b.snapshot().input == {}  # no Input: the child gets {}
    assert json.loads(result.output["err"]["Cause"])["Input"] == "{}"


def test_flows_of_an_app_start_each_other_by_their_arn_placeholders(tmp_path: Path, wall: Any) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(APP)
    with Engine() as engine:
        result = engine.run(str(path), {"n": 21}, flow="Parent")
        [child] = engine.nested.executions
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"doubled": 42}
    assert child.arn.startswith("arn:aws:states:us-east-1:123456789012:execution:Child:")
    assert result.stop_ts - result.start_ts == 3600  # the child's Wait, on the shared virtual clock
    assert wall.elapsed() < 5


def test_wait_for_task_token_on_a_child() -> None:
    """startExecution.waitForTaskToken: the child gets the token; the parent waits for it."""
    child = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    state = task(START + ".waitForTaskToken",
                 {"StateMachineArn": CHILD_ARN, "Input": {"token.$": "$$.Task.Token"}}, HeartbeatSeconds=30)
    with Engine(validate=False) as engine:
        engine.register_state_machine("Child", child)
        answered = []

        def answer(pending: Any) -> None:
            [handle] = engine.nested.executions
            answered.append(handle.execution.input["token"] == pending.token)
            engine.send_task_success(pending.token, {"from": "child"})

        engine.on_task_token(answer)
        result = engine.run(machine(("Start", state)), {})
    assert (result.status, result.output) == ("SUCCEEDED", {"from": "child"})
    assert answered == [True]
    assert details(events_of(result, "TaskSubmitted")[0])["resource"] == "startExecution.waitForTaskToken"


def test_register_state_machine_returns_the_arn() -> None:
    with Engine(validate=False) as engine:
        assert engine.register_state_machine("Child", DOUBLE) == CHILD_ARN
        other = "arn:aws:states:eu-west-1:111111111111:stateMachine:Other"
        assert engine.register_state_machine(other, DOUBLE) == other
        assert engine.nested.known() == sorted([CHILD_ARN, other])


@pytest.mark.parametrize("pattern", [".sync", ".sync:2"])
def test_child_timed_out_reports_its_error_without_cause(pattern: str) -> None:
    slow = {"StartAt": "W", "TimeoutSeconds": 5, "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    result, _ = run(slow, machine(("Start", start(pattern))))
    assert result.error == "States.TaskFailed"
    cause = json.loads(result.cause)
    assert cause["Status"] == "TIMED_OUT" and cause["Error"] == "States.Timeout" and "Cause" not in cause

"""A handler's Step Functions calls reach the local engine (flowengine/runtime/stepfunctions.py).

The SAM patterns this serves: a function that starts a state machine whose ARN it reads from
its environment, a callback (``.waitForTaskToken``) answered by a function's
``send_task_success``/``send_task_failure``, a poller's ``describe_execution``.  Before, these
calls went to moto, which knows none of the app's flows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from flowengine.runtime.app import AppRuntime

APP = """\
app: sfnapi
functions:
  Starter:
    handler: h.start
    environment: {WORK: "${WorkArn}"}
  Approver:
    handler: h.approve
  Rejecter:
    handler: h.reject
  EarlyClient:
    handler: early.start
    environment: {WORK: "${WorkArn}"}
  SyncCaller:
    handler: h.sync_call
    environment: {QUICK: "${QuickArn}"}
flows:
  Entry:
    StartAt: Start
    States:
      Start: {Type: Task, Function: Starter, End: true}
  Work:
    StartAt: Pause
    States:
      # virtual time stands still while a handler runs: the Starter sees this execution RUNNING
      Pause: {Type: Wait, Seconds: 1, Next: Ask}
      Ask:
        Type: Task
        Resource: arn:aws:states:::lambda:invoke.waitForTaskToken
        Parameters: {FunctionName: "${ApproverArn}", Payload: {token.$: $$.Task.Token, n.$: $.n}}
        End: true
  Rejected:
    StartAt: Ask
    States:
      Ask:
        Type: Task
        Resource: arn:aws:states:::lambda:invoke.waitForTaskToken
        Parameters: {FunctionName: "${RejecterArn}", Payload: {token.$: $$.Task.Token}}
        End: true
  Lister:
    StartAt: List
    States:
      List:
        Type: Task
        Resource: arn:aws:states:::aws-sdk:sfn:listExecutions
        Parameters: {StateMachineArn: "${WorkArn}"}
        End: true
  Early:
    StartAt: Start
    States:
      Start: {Type: Task, Function: EarlyClient, End: true}
  Quick:
    type: express
    StartAt: Double
    States:
      Double: {Type: Pass, Parameters: {"n.$": "States.MathAdd($.n, $.n)"}, End: true}
  CallsSync:
    StartAt: Call
    States:
      Call: {Type: Task, Function: SyncCaller, End: true}
"""

HANDLERS = '''\
import json, os
import boto3

def start(event, context):
    sfn = boto3.client("stepfunctions")
    r = sfn.start_execution(stateMachineArn=os.environ["WORK"], name="w1", input=json.dumps({"n": 2}))
    d = sfn.describe_execution(executionArn=r["executionArn"])
    return {"arn": r["executionArn"], "status": d["status"], "input": d["input"]}

def approve(event, context):
    boto3.client("stepfunctions").send_task_success(
        taskToken=event["token"], output=json.dumps({"approved": event["n"] * 10}))
    return {}

def sync_call(event, context):
    try:
        boto3.client("stepfunctions").start_sync_execution(stateMachineArn=os.environ["QUICK"], input="{}")
    except Exception as exc:
        return exc.response["Error"]["Code"]

def reject(event, context):
    boto3.client("stepfunctions").send_task_failure(taskToken=event["token"], error="Rejected", cause="no")
    return {}
'''

#: A client made when the module is imported: before the runtime, as many handlers do.
EARLY = '''\
import json, os
import boto3

SFN = boto3.client("stepfunctions", region_name="us-east-1")

def start(event, context):
    return SFN.start_execution(stateMachineArn=os.environ["WORK"], input=json.dumps({"n": 5}))["executionArn"]
'''


@pytest.fixture()
def app(tmp_path: Path) -> Path:
    (tmp_path / "h.py").write_text(HANDLERS)
    (tmp_path / "early.py").write_text(EARLY)
    (tmp_path / "app.yaml").write_text(APP)
    return tmp_path / "app.yaml"


def _by_name(rt: AppRuntime, flow: str) -> dict[str, Any]:
    return {e.name: e for e in rt.executions(flow)}


def test_a_handler_starts_a_flow_and_answers_its_task_token(app: Path) -> None:
    with AppRuntime(app) as rt:
        entry = rt.run_flow("Entry", {})
        assert entry.status == "SUCCEEDED", entry.cause
        assert entry.output["arn"] == rt.arn("Work").replace(":stateMachine:", ":execution:") + ":w1"
        assert entry.output["status"] == "RUNNING" and json.loads(entry.output["input"]) == {"n": 2}
        rt.run_until_idle()
        work = _by_name(rt, "Work")["w1"]
    assert work.status == "SUCCEEDED" and work.output == {"approved": 20}


def test_send_task_failure_fails_the_task(app: Path) -> None:
    with AppRuntime(app) as rt:
        result = rt.run_flow("Rejected", {})
    assert (result.status, result.error, result.cause) == ("FAILED", "Rejected", "no")


def test_a_client_made_before_the_run_reaches_the_engine_too(app: Path) -> None:
    with AppRuntime(app) as rt:
        early = rt.run_flow("Early", {})
        assert early.status == "SUCCEEDED", early.cause
        rt.run_until_idle()
        (work,) = rt.executions("Work")
    assert work.execution_arn == early.output and work.output == {"approved": 50}


def test_an_aws_sdk_task_lists_the_local_executions(app: Path) -> None:
    with AppRuntime(app) as rt:
        sfn = rt.client("stepfunctions")
        sfn.start_execution(stateMachineArn=rt.arn("Work"), name="a", input='{"n": 1}')
        sfn.start_execution(stateMachineArn=rt.arn("Work"), name="b", input='{"n": 1}')
        rt.run_until_idle()
        listed = rt.run_flow("Lister", {})
    assert listed.status == "SUCCEEDED", listed.cause
    assert sorted(e["Name"] for e in listed.output["Executions"]) == ["a", "b"]
    assert {e["Status"] for e in listed.output["Executions"]} == {"SUCCEEDED"}


def test_calls_from_the_test_itself_start_executions_that_run_when_driven(app: Path) -> None:
    with AppRuntime(app) as rt:
        sfn = rt.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=rt.arn("Work"), input='{"n": 3}')["executionArn"]
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        rt.run_until_idle()
        described = sfn.describe_execution(executionArn=arn)
        machines = sfn.list_state_machines()["stateMachines"]
        definition = json.loads(sfn.describe_state_machine(stateMachineArn=rt.arn("Work"))["definition"])
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"approved": 30}
    assert "stopDate" in described
    assert sorted(m["name"] for m in machines) == ["CallsSync", "Early", "Entry", "Lister", "Quick", "Rejected", "Work"]
    assert definition["StartAt"] == "Pause"


def test_start_sync_execution_runs_an_express_flow_from_the_test_and_is_refused_in_a_handler(app: Path) -> None:
    with AppRuntime(app) as rt:
        answer = rt.client("stepfunctions").start_sync_execution(stateMachineArn=rt.arn("Quick"), input='{"n": 4}')
        from_handler = rt.run_flow("CallsSync", {})
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"n": 8}
    assert from_handler.output == "UnsupportedOperation"


def test_stop_execution_aborts(app: Path) -> None:
    with AppRuntime(app) as rt:
        sfn = rt.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=rt.arn("Rejected"))["executionArn"]
        sfn.stop_execution(executionArn=arn, error="Stopped", cause="by the test")
        rt.run_until_idle()
        described = sfn.describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("ABORTED", "Stopped")


@pytest.mark.parametrize("call, code", [
    (lambda sfn, rt: sfn.start_execution(stateMachineArn=rt.arn("Work").replace("Work", "Nope")),
     "StateMachineDoesNotExist"),
    (lambda sfn, rt: sfn.start_execution(stateMachineArn="arn:aws:lambda:us-east-1:123456789012:function:x"),
     "InvalidArn"),
    (lambda sfn, rt: sfn.start_execution(stateMachineArn=rt.arn("Work"), input="{not json"),
     "InvalidExecutionInput"),
    (lambda sfn, rt: sfn.start_execution(stateMachineArn=rt.arn("Work"), name="has space"), "InvalidName"),
    (lambda sfn, rt: sfn.describe_execution(
        executionArn=rt.arn("Work").replace(":stateMachine:", ":execution:") + ":nope"), "ExecutionDoesNotExist"),
    (lambda sfn, rt: sfn.send_task_success(taskToken="not-a-token", output="{}"), "InvalidToken"),
    (lambda sfn, rt: sfn.start_sync_execution(stateMachineArn=rt.arn("Work")), "StateMachineTypeNotSupported"),
])
def test_errors_carry_aws_codes(app: Path, call: Any, code: str) -> None:
    with AppRuntime(app) as rt:
        with pytest.raises(ClientError) as info:
            call(rt.client("stepfunctions"), rt)
    assert info.value.response["Error"]["Code"] == code


def test_execution_names_are_idempotent_for_the_same_input_only(app: Path) -> None:
    with AppRuntime(app) as rt:
        sfn = rt.client("stepfunctions")
        first = sfn.start_execution(stateMachineArn=rt.arn("Rejected"), name="once", input='{"a": 1}')
        again = sfn.start_execution(stateMachineArn=rt.arn("Rejected"), name="once", input='{"a": 1}')
        assert again["executionArn"] == first["executionArn"]
        with pytest.raises(ClientError) as info:
            sfn.start_execution(stateMachineArn=rt.arn("Rejected"), name="once", input='{"a": 2}')
    assert info.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_outside_a_runtime_moto_answers_again(app: Path) -> None:
    """The answer is in place only while a runtime serves: afterwards Step Functions calls
    under a caller's own mock_aws get moto's answers (no flow of the app exists there)."""
    from moto import mock_aws

    with AppRuntime(app) as rt:
        arn = rt.arn("Work")
    with mock_aws():
        import boto3

        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        with pytest.raises(ClientError) as info:
            sfn.start_execution(stateMachineArn=arn)
    assert info.value.response["Error"]["Code"] == "StateMachineDoesNotExist"

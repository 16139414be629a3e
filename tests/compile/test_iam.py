"""State machine permissions derived from the definition: exact actions on exact resources."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load
from flowengine.errors import ValidationError

CODE = Path(__file__).resolve().parent / "apps" / "code"
PARTITION_ARN = "arn:${AWS::Partition}"

APP = """
app: iam
code: CODE
functions:
  Fn: {handler: sink.handlers.echo}
  Canary: {handler: sink.handlers.echo, rollout: canary 10% every 5m}
resources:
  Table: {type: table, key: {id: S}}
  Queue: {type: queue}
  Topic: {type: topic}
  Bus: {type: event_bus}
  Files: {type: bucket}
flows:
  Child: {StartAt: P, States: {P: {Type: Pass, End: true}}}
  Main:
"""


def policies_of(tmp_path: Path, states: dict[str, Any], flow_type: str = "standard") -> list[Any]:
    """Compile a flow whose States are ``states`` (chained in order) and return its Policies."""
    names = list(states)
    for i, name in enumerate(names):
        states[name].setdefault("End", True) if i == len(names) - 1 else states[name].setdefault("Next", names[i + 1])
    flow = {"type": flow_type, "StartAt": names[0], "States": states}
    text = APP.replace("CODE", str(CODE)) + textwrap.indent(json.dumps(flow), "    ") + "\n"
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    compiled = compile_app(load(str(path)))
    assert check_template(compiled.template) == []
    return compiled.template["Resources"]["Main"]["Properties"]["Policies"]  # type: ignore[no-any-return]


def statements(policies: list[Any]) -> list[dict[str, Any]]:
    return [s for p in policies if "Statement" in p for s in p["Statement"]]


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def task(resource: str, **parameters: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **({"Parameters": parameters} if parameters else {})}


def test_functions_get_lambda_invoke_policy(tmp_path: Path) -> None:
    policies = policies_of(tmp_path, {
        "Direct": {"Type": "Task", "Function": "Fn"},
        "Invoke": task("arn:aws:states:::lambda:invoke", FunctionName="${CanaryArn}", **{"Payload.$": "$"}),
        "Again": {"Type": "Task", "Function": "Fn"},
        "Token": task("arn:aws:states:::lambda:invoke.waitForTaskToken", FunctionName="${FnArn}",
                      Payload={"token.$": "$$.Task.Token"}),
    })
    assert policies == [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "Fn"}}},
                        {"LambdaInvokePolicy": {"FunctionName": {"Ref": "Canary"}}}]


def test_functions_outside_the_app(tmp_path: Path) -> None:
    policies = policies_of(tmp_path, {
        "ByName": task("arn:aws:states:::lambda:invoke", FunctionName="legacy-billing"),
        "ByArn": task("arn:aws:lambda:eu-west-1:111122223333:function:report"),
    })
    assert statements(policies) == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
         "Resource": [sub(f"{PARTITION_ARN}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:legacy-billing"),
                      "arn:aws:lambda:eu-west-1:111122223333:function:report"]}]


def test_dynamodb_actions_merge_on_the_table(tmp_path: Path) -> None:
    key = {"id": {"S.$": "$.id"}}
    policies = policies_of(tmp_path, {
        "Put": task("arn:aws:states:::dynamodb:putItem", TableName="${Table}", Item=key),
        "Get": task("arn:aws:states:::dynamodb:getItem", TableName="${Table}", Key=key),
        "Update": task("arn:aws:states:::dynamodb:updateItem", TableName="${TableArn}", Key=key,
                       UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}}),
        "Delete": task("arn:aws:states:::dynamodb:deleteItem", TableName="${Table}", Key=key),
    })
    assert statements(policies) == [{
        "Effect": "Allow",
        "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}]


def test_messaging_integrations(tmp_path: Path) -> None:
    policies = policies_of(tmp_path, {
        "Send": task("arn:aws:states:::sqs:sendMessage", QueueUrl="${Queue}", MessageBody="x"),
        "Wait": task("arn:aws:states:::sqs:sendMessage.waitForTaskToken", QueueUrl="${Queue}",
                     MessageBody={"t.$": "$$.Task.Token"}),
        "Publish": task("arn:aws:states:::sns:publish", TopicArn="${TopicArn}", Message="x"),
        "Put": task("arn:aws:states:::events:putEvents", Entries=[
            {"EventBusName": "${Bus}", "Source": "s", "DetailType": "d", "Detail": {}},
            {"Source": "s", "DetailType": "d", "Detail": {}}]),
    })
    assert statements(policies) == [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}},
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": {"Ref": "Topic"}},
        {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [
            {"Fn::GetAtt": ["Bus", "Arn"]},
            sub(f"{PARTITION_ARN}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/default")]},
    ]


@pytest.mark.parametrize("pattern", ["", ".sync", ".sync:2", ".waitForTaskToken"])
def test_nested_executions(tmp_path: Path, pattern: str) -> None:
    params: dict[str, Any] = {"StateMachineArn": "${ChildArn}", "Input": {}}
    if pattern == ".waitForTaskToken":
        params["Input"] = {"token.$": "$$.Task.Token"}
    policies = policies_of(tmp_path, {"Start": task(f"arn:aws:states:::states:startExecution{pattern}", **params)})
    child = sub(f"{PARTITION_ARN}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:${{AWS::StackName}}-Child")
    expected = [{"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": child}]
    if pattern.startswith(".sync"):
        expected += [
            {"Effect": "Allow", "Action": ["states:DescribeExecution", "states:StopExecution"],
             "Resource": sub(f"{PARTITION_ARN}:states:${{AWS::Region}}:${{AWS::AccountId}}:"
                             "execution:${AWS::StackName}-Child:*")},
            {"Effect": "Allow", "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
             "Resource": sub(f"{PARTITION_ARN}:events:${{AWS::Region}}:${{AWS::AccountId}}:"
                             "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")},
        ]
    assert statements(policies) == expected


def test_sdk_integrations(tmp_path: Path) -> None:
    policies = policies_of(tmp_path, {
        "Get": task("arn:aws:states:::aws-sdk:s3:getObject", Bucket="${Files}", **{"Key.$": "$.key"}),
        "List": task("arn:aws:states:::aws-sdk:s3:listObjectsV2", Bucket="${Files}"),
        "Query": task("arn:aws:states:::aws-sdk:dynamodb:query", TableName="${Table}", IndexName="byDate",
                      KeyConditionExpression="d = :d"),
    })
    bucket = {"Fn::Sub": ["${AWS::Partition}", {}]}  # placeholder, replaced below
    got = statements(policies)
    assert [s["Action"] for s in got] == [["s3:GetObject"], ["s3:ListBucket"], ["dynamodb:Query"]]
    assert got[0]["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${BucketName}/*"
    assert got[1]["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${BucketName}"
    assert got[2]["Resource"] == [{"Fn::GetAtt": ["Table", "Arn"]},
                                  {"Fn::Sub": ["${TableArn}/index/*", {"TableArn": {"Fn::GetAtt": ["Table", "Arn"]}}]}]
    assert bucket  # the bucket ARN is built from its explicit name, never a Ref (no cycles)


def test_jsonata_arguments(tmp_path: Path) -> None:
    policies = policies_of(tmp_path, {"Call": {
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "${FnArn}", "Payload": "{% $states.input %}"}}})
    assert policies == [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "Fn"}}}]


def test_jsonata_computed_target_cannot_be_granted(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        policies_of(tmp_path, {"Call": {
            "Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "{% $states.input.fn %}", "Payload": "{% $states.input %}"}}})
    assert [d.code for d in caught.value.diagnostics] == ["FE807"]


def test_a_flow_without_tasks_needs_no_permissions(tmp_path: Path) -> None:
    assert policies_of(tmp_path, {"Only": {"Type": "Pass"}}) == []


def test_activities_need_no_grant_but_not_in_express(tmp_path: Path) -> None:
    activity = "arn:aws:states:us-east-1:123456789012:activity:approve"
    assert policies_of(tmp_path, {"Approve": task(activity)}) == []
    with pytest.raises(ValidationError) as caught:
        policies_of(tmp_path, {"Approve": task(activity)}, flow_type="express")
    assert {d.code for d in caught.value.diagnostics} & {"FE808", "FE617"}


def test_nested_states_are_walked(tmp_path: Path) -> None:
    policies = policies_of(tmp_path, {"Both": {"Type": "Parallel", "Branches": [
        {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {
            "StartAt": "Deep", "States": {"Deep": {"Type": "Task", "Function": "Canary", "End": True}}}, "End": True}}},
        {"StartAt": "Q", "States": {"Q": {**task("arn:aws:states:::sqs:sendMessage", QueueUrl="${Queue}",
                                                 MessageBody="x"), "End": True}}},
    ]}})
    assert policies[0] == {"LambdaInvokePolicy": {"FunctionName": {"Ref": "Canary"}}}
    assert statements(policies) == [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]

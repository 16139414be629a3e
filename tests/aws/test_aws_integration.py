"""AwsIntegration with a stand-in transport: request shapes, result shapes, error names."""

from __future__ import annotations

import json
from typing import Any

import pytest

import flowengine
from flowengine.integrations.aws import AwsIntegration, ServiceError


class FakeAws:
    """A transport that records calls and answers from a table (or raises ServiceError)."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def __call__(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((service, operation, params))
        answer = self.answers[(service, operation)]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


META = {"ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200, "HTTPHeaders": {"x-amzn-requestid": "r-1"}}}


def run(states: dict[str, Any], fake: FakeAws, input: Any = None, **kw: Any) -> Any:
    definition = {"StartAt": next(iter(states)), "States": states}
    return flowengine.run(definition, input=input or {}, integrations=[AwsIntegration(transport=fake, **kw)])


def test_optimized_integration_request_and_result() -> None:
    fake = FakeAws({("sqs", "SendMessage"): {"MessageId": "m-1", "MD5OfMessageBody": "x", **META}})
    result = run({"Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
                           "Parameters": {"QueueUrl": "https://q", "MessageBody.$": "$"}}}, fake, {"a": 1})
    assert result.status == "SUCCEEDED"
    assert fake.calls == [("sqs", "SendMessage", {"QueueUrl": "https://q", "MessageBody": '{"a":1}'})]
    assert result.output["MessageId"] == "m-1"
    assert result.output["SdkResponseMetadata"] == {"RequestId": "r-1"}
    assert result.output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert "ResponseMetadata" not in result.output
    assert "TaskScheduled" in result.event_types


def test_service_errors_are_named_as_step_functions_names_them() -> None:
    fake = FakeAws({("dynamodb", "PutItem"): ServiceError("ConditionalCheckFailedException", "The conditional request failed")})
    result = run({"Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True,
                          "Parameters": {"TableName": "t", "Item": {}}}}, fake)
    assert (result.status, result.error, result.cause) == (
        "FAILED", "DynamoDB.ConditionalCheckFailedException", "The conditional request failed")


def test_sdk_errors_get_the_exception_suffix() -> None:
    fake = FakeAws({("s3", "GetObject"): ServiceError("NoSuchKey", "The specified key does not exist.")})
    result = run({"Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True,
                          "Parameters": {"Bucket": "b", "Key": "k"}}}, fake)
    assert result.error == "S3.NoSuchKeyException"


def test_sdk_call_returns_plain_json() -> None:
    fake = FakeAws({("stepfunctions", "ListStateMachines"): {"stateMachines": [], **META}})
    result = run({"List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:listStateMachines",
                           "Parameters": {}, "End": True}}, fake)
    assert result.output == {"stateMachines": []}


def test_lambda_invoke_shapes_and_function_errors() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    fake = FakeAws({("lambda", "Invoke"): {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": b'{"ok": true}',
                                           **META}})
    result = run({"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
                           "Parameters": {"FunctionName": arn, "Payload.$": "$"}}}, fake, {"n": 1})
    assert result.output["Payload"] == {"ok": True} and result.output["StatusCode"] == 200
    assert json.loads(fake.calls[0][2]["Payload"]) == {"n": 1}
    error = {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}
    fake = FakeAws({("lambda", "Invoke"): {"StatusCode": 200, "FunctionError": "Unhandled",
                                           "Payload": json.dumps(error).encode(), **META}})
    result = run({"Call": {"Type": "Task", "Resource": arn, "End": True}}, fake)
    assert (result.error, json.loads(result.cause)) == ("ValueError", error)


def test_lambdas_can_be_left_to_local_handlers() -> None:
    integration = AwsIntegration(transport=FakeAws({}), lambdas=False)
    assert integration.describe("arn:aws:lambda:us-east-1:123456789012:function:f") is None
    assert integration.describe("arn:aws:states:::lambda:invoke") is None
    assert integration.describe("arn:aws:states:::sqs:sendMessage") is not None


@pytest.mark.parametrize("resource", [
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "arn:aws:states:::states:startExecution.sync",
    "arn:aws:states:::glue:startJobRun",
])
def test_patterns_nothing_local_could_resume_are_not_taken(resource: str) -> None:
    assert AwsIntegration(transport=FakeAws({})).describe(resource) is None

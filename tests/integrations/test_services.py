"""Optimized and AWS SDK service integrations against moto, with Step Functions' shapes."""

from __future__ import annotations

import json

import pytest

from flowengine.runtime.engine import Engine
from flowengine.integrations.services import LocalServices

from .conftest import Aws, details, events_of, machine, task

DDB = "arn:aws:states:::dynamodb:"
ITEM = {"id": {"S": "o-1"}, "amount": {"N": "42"}}


def test_dynamodb_put_get_update_delete(aws: Aws, engine: Engine) -> None:
    table = aws.table()
    definition = machine(
        ("Put", task(DDB + "putItem", {"TableName": table, "Item": ITEM}, ResultPath="$.put")),
        ("Update", task(DDB + "updateItem", {
            "TableName": table, "Key": {"id": {"S": "o-1"}}, "UpdateExpression": "SET amount = :t",
            "ExpressionAttributeValues": {":t": {"N": "43"}}, "ReturnValues": "UPDATED_NEW"}, ResultPath="$.update")),
        ("Get", task(DDB + "getItem", {"TableName": table, "Key": {"id": {"S": "o-1"}}}, ResultPath="$.get")),
        ("Delete", task(DDB + "deleteItem", {"TableName": table, "Key": {"id": {"S": "o-1"}}}, ResultPath="$.delete")),
    )
    result = engine.run(definition, {})
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    # putItem returns only the metadata; getItem the item plus the metadata
    assert set(out["put"]) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    assert out["update"]["Attributes"] == {"amount": {"N": "43"}}
    assert out["get"]["Item"] == {"id": {"S": "o-1"}, "amount": {"N": "43"}}
    meta = out["get"]["SdkHttpMetadata"]
    assert meta["HttpStatusCode"] == 200
    assert set(meta) == {"AllHttpHeaders", "HttpHeaders", "HttpStatusCode"}
    request_id = out["get"]["SdkResponseMetadata"]["RequestId"]
    assert meta["HttpHeaders"]["x-amzn-requestid"] == request_id
    assert meta["HttpHeaders"]["date"] == "Mon, 01 Jan 2024 00:00:00 GMT"  # the virtual clock's
    assert "Item" not in aws.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "o-1"}})
    scheduled = details(events_of(result, "TaskScheduled")[0])
    assert (scheduled["resourceType"], scheduled["resource"]) == ("dynamodb", "putItem")
    assert json.loads(scheduled["parameters"]) == {"TableName": table, "Item": ITEM}


def test_dynamodb_conditional_check_failed_is_named_as_step_functions_names_it(aws: Aws, engine: Engine) -> None:
    table = aws.table()
    aws.client("dynamodb").put_item(TableName=table, Item=ITEM)
    put = task(DDB + "putItem", {"TableName": table, "Item": ITEM, "ConditionExpression": "attribute_not_exists(id)"})
    result = engine.run(machine(("Put", put)), {})
    assert result.status == "FAILED"
    assert result.error == "DynamoDB.ConditionalCheckFailedException"
    assert result.cause.startswith("The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; "
                                   "Error Code: ConditionalCheckFailedException; Request ID: ")
    assert result.cause.endswith("; Proxy: null)")
    failed = details(events_of(result, "TaskFailed")[0])
    assert failed["error"] == result.error and failed["resourceType"] == "dynamodb"


def test_a_service_error_is_caught_and_retried_like_any_other(aws: Aws, engine: Engine) -> None:
    get = task(DDB + "getItem", {"TableName": "missing", "Key": {"id": {"S": "x"}}},
               Retry=[{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"], "MaxAttempts": 2}],
               Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Handled"}])
    definition = {"StartAt": "Get", "States": {"Get": get, "Handled": {"Type": "Pass", "End": True}}}
    result = engine.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "DynamoDB.ResourceNotFoundException"
    assert len(events_of(result, "TaskFailed")) == 3


def test_sqs_send_message(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    result = engine.run(machine(("Send", task("arn:aws:states:::sqs:sendMessage",
                                              {"QueueUrl": url, "MessageBody": {"order.$": "$.order"}}))),
                        {"order": 7})
    assert result.status == "SUCCEEDED", result.cause
    assert set(result.output) == {"MD5OfMessageBody", "MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert aws.messages(url) == [{"order": 7}]  # a JSON body is sent as JSON text


def test_sqs_missing_queue(engine: Engine) -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/nope"
    result = engine.run(machine(("Send", task("arn:aws:states:::sqs:sendMessage",
                                              {"QueueUrl": url, "MessageBody": "x"}))), {})
    assert result.error == "SQS.QueueDoesNotExistException"
    assert "(Service: AmazonSQS; Status Code: 400; " in result.cause


def test_sns_publish_and_events_put_events(aws: Aws, engine: Engine) -> None:
    topic = aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    definition = machine(
        ("Publish", task("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": {"a": 1}},
                         ResultPath="$.published")),
        ("Put", task("arn:aws:states:::events:putEvents",
                     {"Entries": [{"Source": "shop", "DetailType": "OrderPlaced", "Detail": {"id": 1}}]},
                     ResultPath="$.put")),
    )
    result = engine.run(definition, {})
    assert result.status == "SUCCEEDED", result.cause
    assert "MessageId" in result.output["published"]
    assert result.output["put"]["FailedEntryCount"] == 0
    assert len(result.output["put"]["Entries"]) == 1


def test_sdk_s3_put_and_get_object(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket()
    definition = machine(
        ("Put", task("arn:aws:states:::aws-sdk:s3:putObject",
                     {"Bucket": bucket, "Key": "a.json", "Body": {"x": 1}}, ResultPath="$.put")),
        ("Get", task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "a.json"},
                     ResultPath="$.get")),
    )
    result = engine.run(definition, {})
    assert result.status == "SUCCEEDED", result.cause
    got = result.output["get"]
    assert got["Body"] == '{"x":1}'
    assert got["ContentLength"] == 7
    assert got["ETag"] == result.output["put"]["ETag"]
    assert got["LastModified"].endswith("Z")
    assert "SdkHttpMetadata" not in got  # aws-sdk results are the API response alone
    scheduled = details(events_of(result, "TaskScheduled")[1])
    assert (scheduled["resourceType"], scheduled["resource"]) == ("aws-sdk:s3", "getObject")


def test_sdk_s3_missing_key(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket()
    result = engine.run(machine(("Get", task("arn:aws:states:::aws-sdk:s3:getObject",
                                             {"Bucket": bucket, "Key": "nope"}))), {})
    assert result.error == "S3.NoSuchKeyException"
    assert result.cause.startswith("The specified key does not exist. (Service: S3, Status Code: 404, Request ID: ")


def test_sdk_dynamodb_and_its_errors(aws: Aws, engine: Engine) -> None:
    table = aws.table()
    definition = machine(
        ("Put", task("arn:aws:states:::aws-sdk:dynamodb:putItem", {"TableName": table, "Item": ITEM},
                     ResultPath="$.put")),
        ("Get", task("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": table, "Key": {"id": {"S": "o-1"}}},
                     ResultPath="$.get")),
        ("Missing", task("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": "nope", "Key": {"id": {"S": "x"}}})),
    )
    result = engine.run(definition, {})
    assert result.error == "DynamoDb.ResourceNotFoundException"
    assert "(Service: DynamoDb, Status Code: 400, Request ID: " in result.cause
    exited = [json.loads(details(e)["output"]) for e in events_of(result, "TaskStateExited")]
    assert exited[0]["put"] == {}
    assert exited[1]["get"] == {"Item": ITEM}  # an item's attributes keep their names


def test_sdk_results_use_the_java_sdk_casing(aws: Aws, engine: Engine) -> None:
    sfn = aws.client("stepfunctions")
    sfn.create_state_machine(name="m", roleArn="arn:aws:iam::123456789012:role/r",
                             definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    result = engine.run(machine(("List", task("arn:aws:states:::aws-sdk:sfn:listStateMachines", {}))), {})
    assert result.status == "SUCCEEDED", result.cause
    [sm] = result.output["StateMachines"]
    assert set(sm) >= {"StateMachineArn", "Name", "Type", "CreationDate"}


def test_sdk_parameters_are_matched_to_the_api_and_validated(aws: Aws, engine: Engine) -> None:
    result = engine.run(machine(("Get", task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "b"}))), {})
    assert result.error == "S3.SdkClientException"
    assert "Key" in result.cause


def test_unknown_sdk_action_is_a_runtime_error(engine: Engine) -> None:
    result = engine.run(machine(("X", task("arn:aws:states:::aws-sdk:s3:frobnicate", {}))), {})
    assert result.error == "States.Runtime"
    assert "no action 'frobnicate'" in result.cause


def test_factory_is_asked_once_per_service(aws: Aws) -> None:
    aws.table()
    aws.calls.clear()
    with Engine(integrations=[LocalServices(aws.client)], validate=False) as engine:
        get = task(DDB + "getItem", {"TableName": "orders", "Key": {"id": {"S": "x"}}}, ResultPath="$.a")
        result = engine.run(machine(("A", get), ("B", dict(get, ResultPath="$.b"))), {})
    assert result.status == "SUCCEEDED"
    assert aws.calls == ["dynamodb"]


def test_resources_it_does_not_take() -> None:
    services = LocalServices(lambda name: None)
    assert services.describe("arn:aws:states:::lambda:invoke") is None
    assert services.describe("arn:aws:states:::dynamodb:getItem.waitForTaskToken") is None
    assert services.describe("arn:aws:states:::states:startExecution.sync") is None
    sqs = services.describe("arn:aws:states:::sqs:sendMessage.waitForTaskToken")
    assert sqs is not None and sqs.pattern == "waitForTaskToken"
    sdk = services.describe("arn:aws:states:::aws-sdk:s3:listBuckets")
    assert sdk is not None and (sdk.resource_type, sdk.resource) == ("aws-sdk:s3", "listBuckets")


@pytest.mark.parametrize("seed", [1, 2])
def test_results_are_reproducible_for_a_seed(aws: Aws, seed: int) -> None:
    table = aws.table()
    aws.client("dynamodb").put_item(TableName=table, Item=ITEM)
    definition = machine(("Get", task(DDB + "getItem", {"TableName": table, "Key": {"id": {"S": "o-1"}}})))
    outputs = []
    for _ in range(2):
        with Engine(integrations=[LocalServices(aws.client)], validate=False, seed=seed) as engine:
            outputs.append(engine.run(definition, {}).output)
    assert outputs[0] == outputs[1]


def test_an_error_the_api_does_not_model_has_the_generic_name(aws: Aws, engine: Engine) -> None:
    table = aws.table()
    update = task(DDB + "updateItem", {"TableName": table, "Key": {"id": {"S": "o-1"}},
                                       "UpdateExpression": "SET total = :t", "ExpressionAttributeValues": {":t": {"N": "1"}}})
    result = engine.run(machine(("Update", update)), {})
    assert result.error == "DynamoDB.AmazonDynamoDBException"
    assert "Error Code: ValidationException" in result.cause

"""Event payload factories: AWS's shapes, determinism, and the registry behind `event generate`."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from flowengine.events import compile_filter_policy, compile_pattern
from flowengine.events.payloads import (
    DEFAULT_TIME,
    KINDS,
    PayloadError,
    apigateway_event,
    apigateway_http_event,
    describe,
    event_from_put_events_entry,
    eventbridge_event,
    generate,
    generate_options,
    put_events_entry,
    s3_event,
    s3_eventbridge_event,
    schedule_event,
    sns_event,
    sqs_event,
    sqs_record,
)

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def keys(d: dict[str, Any]) -> set[str]:
    return set(d)


# --- S3 ------------------------------------------------------------------------------------------------


def test_s3_put_event_shape() -> None:
    event = s3_event("uploads", "incoming/report.csv", body=b"a,b\n1,2\n", time=WHEN)
    (record,) = event["Records"]
    assert keys(record) == {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
                            "requestParameters", "responseElements", "s3"}
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3" and record["awsRegion"] == "us-east-1"
    assert record["eventTime"] == "2024-05-06T07:08:09.123Z"
    assert record["eventName"] == "ObjectCreated:Put"
    assert keys(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])
    s3 = record["s3"]
    assert s3["s3SchemaVersion"] == "1.0" and s3["configurationId"] == "testConfigRule"
    assert s3["bucket"]["name"] == "uploads" and s3["bucket"]["arn"] == "arn:aws:s3:::uploads"
    assert keys(s3["bucket"]["ownerIdentity"]) == {"principalId"}
    obj = s3["object"]
    assert list(obj) == ["key", "size", "eTag", "sequencer"]
    assert obj["key"] == "incoming/report.csv"
    assert obj["size"] == 8 and obj["eTag"] == hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert re.fullmatch(r"[0-9A-F]{18}", obj["sequencer"])


def test_s3_delete_event_has_no_size_or_etag() -> None:
    obj = s3_event("b", "k", "ObjectRemoved:Delete")["Records"][0]["s3"]["object"]
    assert list(obj) == ["key", "sequencer"]
    obj = s3_event("b", "k", "removed", version_id="v1")["Records"][0]["s3"]["object"]
    assert obj["versionId"] == "v1"


@pytest.mark.parametrize(("name", "event_name", "version"), [
    ("created", "ObjectCreated:Put", "2.1"),
    ("s3:ObjectCreated:Copy", "ObjectCreated:Copy", "2.1"),
    ("ObjectCreated:CompleteMultipartUpload", "ObjectCreated:CompleteMultipartUpload", "2.1"),
    ("removed", "ObjectRemoved:Delete", "2.1"),
    ("ObjectRemoved:DeleteMarkerCreated", "ObjectRemoved:DeleteMarkerCreated", "2.1"),
    ("Replication:OperationFailedReplication", "Replication:OperationFailedReplication", "2.2"),
    ("LifecycleExpiration:Delete", "LifecycleExpiration:Delete", "2.3"),
])
def test_s3_event_names(name: str, event_name: str, version: str) -> None:
    record = s3_event("b", "k", name)["Records"][0]
    assert (record["eventName"], record["eventVersion"]) == (event_name, version)


@pytest.mark.parametrize("name", ["ObjectCreated:*", "ObjectUpdated", "s3:ObjectRemoved:*"])
def test_s3_event_names_must_be_concrete(name: str) -> None:
    with pytest.raises(PayloadError, match="is not an S3 event name"):
        s3_event("b", "k", name)


def test_s3_keys_are_url_encoded() -> None:
    assert s3_event("b", "my docs/red flower=1.jpg")["Records"][0]["s3"]["object"]["key"] == \
        "my+docs/red+flower%3D1.jpg"


def test_s3_size_and_etag_can_be_given() -> None:
    obj = s3_event("b", "k", size=5, etag="abc")["Records"][0]["s3"]["object"]
    assert (obj["size"], obj["eTag"]) == (5, "abc")
    obj = s3_event("b", "k")["Records"][0]["s3"]["object"]
    assert obj["size"] == 1024 and re.fullmatch(r"[0-9a-f]{32}", obj["eTag"])


def test_s3_eventbridge_object_created() -> None:
    event = s3_eventbridge_event("uploads", "in/a b.csv", body="hello", time=WHEN)
    assert keys(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                           "detail"}
    assert event["source"] == "aws.s3" and event["detail-type"] == "Object Created"
    assert event["time"] == "2024-05-06T07:08:09Z" and UUID.match(event["id"])
    assert event["resources"] == ["arn:aws:s3:::uploads"]
    d = event["detail"]
    assert keys(d) == {"version", "bucket", "object", "request-id", "requester", "source-ip-address", "reason"}
    assert d["object"]["key"] == "in/a b.csv"  # not URL-encoded in the EventBridge shape
    assert d["object"]["size"] == 5 and d["object"]["etag"] == hashlib.md5(b"hello").hexdigest()
    assert d["reason"] == "PutObject" and d["requester"] == "123456789012"


def test_s3_eventbridge_object_deleted() -> None:
    d = s3_eventbridge_event("b", "k", "Object Deleted", version_id="v")["detail"]
    assert d["reason"] == "DeleteObject" and d["deletion-type"] == "Permanently Deleted"
    assert list(d["object"]) == ["key", "version-id", "sequencer"]
    with pytest.raises(PayloadError):
        s3_eventbridge_event("b", "k", "Object Updated")


def test_s3_eventbridge_events_match_the_rule_a_bucket_trigger_compiles_to() -> None:
    rule = compile_pattern({"source": ["aws.s3"], "detail-type": ["Object Created"],
                            "detail": {"bucket": {"name": ["uploads"]}, "object": {"key": [{"prefix": "in/"}]}}})
    assert rule.matches(s3_eventbridge_event("uploads", "in/x"))
    assert not rule.matches(s3_eventbridge_event("uploads", "out/x"))
    assert not rule.matches(s3_eventbridge_event("uploads", "in/x", "Object Deleted"))


# --- SQS -----------------------------------------------------------------------------------------------


def test_sqs_event_shape() -> None:
    event = sqs_event(["first", {"order": 42}], time=WHEN)
    first, second = event["Records"]
    assert keys(first) == {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                           "eventSource", "eventSourceARN", "awsRegion"}
    assert first["body"] == "first" and second["body"] == '{"order": 42}'
    assert first["md5OfBody"] == hashlib.md5(b"first").hexdigest()
    assert UUID.match(first["messageId"]) and first["messageId"] != second["messageId"]
    assert first["receiptHandle"].startswith("AQEB")
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:my-queue"
    attrs = first["attributes"]
    assert keys(attrs) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert all(isinstance(v, str) for v in attrs.values())
    assert attrs["ApproximateReceiveCount"] == "1"
    assert attrs["SentTimestamp"] == str(int(WHEN.timestamp() * 1000))
    assert int(attrs["ApproximateFirstReceiveTimestamp"]) >= int(attrs["SentTimestamp"])
    assert int(second["attributes"]["SentTimestamp"]) == int(attrs["SentTimestamp"]) + 1


def test_sqs_region_follows_the_queue() -> None:
    (record,) = sqs_event("x", queue_arn="arn:aws:sqs:eu-west-1:111122223333:orders")["Records"]
    assert record["awsRegion"] == "eu-west-1"
    (record,) = sqs_event("x", region="ap-south-1")["Records"]
    assert record["eventSourceARN"] == "arn:aws:sqs:ap-south-1:123456789012:my-queue"


def test_sqs_fifo_records() -> None:
    (record,) = sqs_event("x", queue_arn="arn:aws:sqs:us-east-1:123456789012:q.fifo")["Records"]
    attrs = record["attributes"]
    assert {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} <= set(attrs)
    assert attrs["MessageDeduplicationId"] == hashlib.sha256(b"x").hexdigest()


def test_sqs_message_attributes() -> None:
    (record,) = sqs_event("x", message_attributes={
        "kind": "order", "n": 5, "raw": b"\x00\x01",
        "shaped": {"DataType": "String", "StringValue": "v"},
        "lambda": {"stringValue": "w", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
    })["Records"]
    attrs = record["messageAttributes"]
    assert attrs["kind"] == {"stringValue": "order", "stringListValues": [], "binaryListValues": [],
                             "dataType": "String"}
    assert attrs["n"]["dataType"] == "Number" and attrs["n"]["stringValue"] == "5"
    assert attrs["raw"]["dataType"] == "Binary" and base64.b64decode(attrs["raw"]["binaryValue"]) == b"\x00\x01"
    assert attrs["shaped"] == {"stringValue": "v", "stringListValues": [], "binaryListValues": [],
                               "dataType": "String"}
    assert attrs["lambda"]["stringValue"] == "w"


def test_sqs_records_give_full_control() -> None:
    event = sqs_event(records=[{"body": "a", "receive_count": 3}, {"body": "b", "message_id": "m-2"}])
    first, second = event["Records"]
    assert first["attributes"]["ApproximateReceiveCount"] == "3"
    assert second["messageId"] == "m-2"
    with pytest.raises(PayloadError, match="no body"):
        sqs_event(records=[{"receive_count": 2}])
    assert sqs_record("z")["body"] == "z"


# --- SNS -----------------------------------------------------------------------------------------------


def test_sns_event_shape() -> None:
    event = sns_event({"alarm": "high"}, subject="Alert", time=WHEN,
                      message_attributes={"level": "error", "count": 3, "tags": ["a", "b"], "blob": b"x"})
    (record,) = event["Records"]
    assert keys(record) == {"EventSource", "EventVersion", "EventSubscriptionArn", "Sns"}
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    sns = record["Sns"]
    assert keys(sns) == {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                         "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"}
    assert sns["Type"] == "Notification" and sns["Subject"] == "Alert"
    assert sns["Message"] == '{"alarm": "high"}'
    assert sns["Timestamp"] == "2024-05-06T07:08:09.123Z"
    assert sns["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:ExampleTopic"
    assert record["EventSubscriptionArn"].startswith(sns["TopicArn"] + ":")
    assert sns["UnsubscribeUrl"].endswith("SubscriptionArn=" + record["EventSubscriptionArn"])
    assert sns["SigningCertUrl"].startswith("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-")
    base64.b64decode(sns["Signature"], validate=True)
    assert sns["MessageAttributes"] == {
        "level": {"Type": "String", "Value": "error"}, "count": {"Type": "Number", "Value": "3"},
        "tags": {"Type": "String.Array", "Value": '["a", "b"]'}, "blob": {"Type": "Binary", "Value": "eA=="}}


def test_sns_subject_defaults_to_null_and_region_follows_the_topic() -> None:
    sns = sns_event("m", topic_arn="arn:aws:sns:eu-central-1:1:t")["Records"][0]["Sns"]
    assert sns["Subject"] is None
    assert "sns.eu-central-1.amazonaws.com" in sns["SigningCertUrl"]


def test_sns_attributes_feed_filter_policies() -> None:
    attrs = sns_event("m", message_attributes={"level": "error", "count": 3})["Records"][0]["Sns"]["MessageAttributes"]
    assert compile_filter_policy({"level": ["error"], "count": [{"numeric": [">", 2]}]}).matches(attrs)


# --- EventBridge and schedules -------------------------------------------------------------------------


def test_eventbridge_event_shape() -> None:
    event = eventbridge_event("shop.orders", "Order Placed", {"id": 7}, resources=["arn:x"], time=WHEN)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
                           "detail"]
    assert event["detail"] == {"id": 7} and event["resources"] == ["arn:x"]
    assert event["time"] == "2024-05-06T07:08:09Z" and event["account"] == "123456789012"


def test_put_events_entries_become_events() -> None:
    entry = put_events_entry("shop", "Order Placed", {"id": 1}, bus="orders", resources=["arn:r"])
    assert entry == {"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 1}', "EventBusName": "orders",
                     "Resources": ["arn:r"]}
    event = event_from_put_events_entry(entry, time=WHEN)
    assert (event["source"], event["detail-type"], event["detail"], event["resources"]) == \
        ("shop", "Order Placed", {"id": 1}, ["arn:r"])
    event = event_from_put_events_entry({**entry, "Time": datetime(2020, 1, 1, tzinfo=UTC)}, time=WHEN)
    assert event["time"] == "2020-01-01T00:00:00Z"
    for bad in ("not json", "[1]"):
        with pytest.raises(PayloadError, match="Detail is malformed"):
            event_from_put_events_entry({**entry, "Detail": bad})


def test_schedule_event() -> None:
    event = schedule_event(time=WHEN)
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/ExampleRule"]
    assert event["detail"] == {}
    rule = "arn:aws:events:eu-west-1:123456789012:rule/Nightly"
    assert schedule_event(rule)["region"] == "eu-west-1"
    scheduler = schedule_event("arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly")
    assert scheduler["source"] == "aws.scheduler" and scheduler["detail"] == "{}"


# --- API Gateway ---------------------------------------------------------------------------------------


def test_rest_api_event_shape() -> None:
    event = apigateway_event("post", "/orders/42", body={"qty": 2}, headers={"X-Trace": ["a", "b"]},
                             query={"page": "2", "tag": ["x", "y"]}, resource="/orders/{id}", time=WHEN)
    assert keys(event) == {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                           "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                           "body", "isBase64Encoded"}
    assert event["httpMethod"] == "POST" and event["resource"] == "/orders/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["headers"]["X-Trace"] == "b" and event["multiValueHeaders"]["X-Trace"] == ["a", "b"]
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["queryStringParameters"] == {"page": "2", "tag": "y"}
    assert event["multiValueQueryStringParameters"] == {"page": ["2"], "tag": ["x", "y"]}
    assert event["body"] == '{"qty": 2}' and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["requestTime"] == "06/May/2024:07:08:09 +0000"
    assert ctx["requestTimeEpoch"] == 1714979289123
    assert ctx["path"] == "/prod/orders/42" and ctx["resourcePath"] == "/orders/{id}" and ctx["stage"] == "prod"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert UUID.match(ctx["requestId"])


def test_rest_api_event_without_query_or_body() -> None:
    event = apigateway_event()
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["body"] is None


def test_rest_api_greedy_paths_and_binary_bodies() -> None:
    event = apigateway_event("GET", "/files/a/b.txt", body=b"\x00\xff", resource="/files/{proxy+}")
    assert event["pathParameters"] == {"proxy": "a/b.txt"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xff"
    with pytest.raises(PayloadError, match="does not match"):
        apigateway_event("GET", "/users/1", resource="/orders/{id}")


def test_http_api_event_shape() -> None:
    event = apigateway_http_event("post", "/orders/42", body="hi", headers={"X-Trace": ["a", "b"]},
                                  query={"tag": ["x", "y"]}, route="/orders/{id}", cookies=["c=1"], time=WHEN)
    assert event["version"] == "2.0" and event["routeKey"] == "POST /orders/{id}"
    assert event["rawPath"] == "/orders/42" and event["rawQueryString"] == "tag=x&tag=y"
    assert event["cookies"] == ["c=1"]
    assert event["headers"]["x-trace"] == "a,b"
    assert event["queryStringParameters"] == {"tag": "x,y"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["body"] == "hi" and event["isBase64Encoded"] is False
    http = event["requestContext"]["http"]
    assert http == {"method": "POST", "path": "/orders/42", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                    "userAgent": "Custom User Agent String"}
    assert event["requestContext"]["timeEpoch"] == 1714979289123


def test_http_api_event_leaves_out_what_is_empty() -> None:
    event = apigateway_http_event()
    assert event["routeKey"] == "$default" and event["rawQueryString"] == ""
    assert not {"cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"} & set(event)


# --- determinism ---------------------------------------------------------------------------------------

FACTORIES = [
    lambda **kw: s3_event("b", "k", **kw),
    lambda **kw: s3_eventbridge_event("b", "k", **kw),
    lambda **kw: sqs_event(["a", "b"], **kw),
    lambda **kw: sns_event("m", **kw),
    lambda **kw: eventbridge_event("s", "t", {}, **kw),
    lambda **kw: schedule_event(**kw),
    lambda **kw: apigateway_event("GET", "/", **kw),
    lambda **kw: apigateway_http_event("GET", "/", **kw),
]


@pytest.mark.parametrize("factory", FACTORIES)
def test_payloads_are_reproducible(factory: Any) -> None:
    assert factory() == factory()
    assert factory(rng=random.Random(7)) == factory(rng=random.Random(7))
    assert factory(rng=random.Random(7)) != factory(rng=random.Random(8))
    assert factory(time=WHEN) != factory()
    json.dumps(factory())  # plain JSON values only


def test_time_defaults_and_conversions() -> None:
    assert eventbridge_event()["time"] == "2024-01-01T00:00:00Z" == DEFAULT_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    # a naive time is UTC; an aware one is converted to UTC
    assert eventbridge_event(time=datetime(2024, 5, 1, 12))["time"] == "2024-05-01T12:00:00Z"
    paris_noon = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert eventbridge_event(time=paris_noon)["time"] == "2024-05-01T10:00:00Z"
    with pytest.raises(PayloadError):
        eventbridge_event(time="2024-05-01")  # type: ignore[arg-type]


def test_no_wall_clock_or_global_randomness_in_the_package() -> None:
    package = Path(__file__).resolve().parents[2] / "flowengine" / "events"
    source = "\n".join(p.read_text() for p in package.glob("*.py"))
    for forbidden in ("datetime.now", ".utcnow(", "time.time(", "uuid4", "uuid1", "random.random(",
                      "random.choice(", "random.randint(", "time.sleep"):
        assert forbidden not in source, forbidden


# --- the registry --------------------------------------------------------------------------------------


def test_every_kind_generates_json() -> None:
    assert KINDS == ("s3-put", "s3-delete", "s3-eventbridge", "sqs", "sns", "dynamodb", "eventbridge", "schedule",
                     "apigateway", "apigateway-http")
    for kind in KINDS:
        payload = generate(kind)
        assert json.loads(json.dumps(payload)) == payload
        assert generate(kind) == payload
        assert describe(kind)


def test_generate_matches_the_factories() -> None:
    assert generate("s3-put", bucket="B", key="K") == s3_event("B", "K")
    assert generate("s3-delete", bucket="B", key="K")["Records"][0]["eventName"] == "ObjectRemoved:Delete"
    assert generate("sqs", body=["a", "b"]) == sqs_event(["a", "b"])
    assert generate("sns", message="m", subject="s") == sns_event("m", subject="s")
    assert generate("eventbridge", source="s", detail_type="t", detail='{"a": 1}') == eventbridge_event("s", "t", {"a": 1})
    assert generate("schedule", time="2024-05-06T07:08:09Z") == schedule_event(time=WHEN.replace(microsecond=0))
    assert generate("apigateway", method="POST", path="/o/1", resource="/o/{id}") == \
        apigateway_event("POST", "/o/1", resource="/o/{id}")
    assert generate("s3-put", seed=3) == s3_event(rng=random.Random(3))
    assert generate("sqs", queue_arn="arn:aws:sqs:eu-west-1:1:q")["Records"][0]["awsRegion"] == "eu-west-1"


def test_generate_refuses_what_it_does_not_know() -> None:
    with pytest.raises(PayloadError, match="unknown event kind 'kinesis'"):
        generate("kinesis")
    with pytest.raises(PayloadError, match="has no option 'colour'"):
        generate("sqs", colour="red")
    with pytest.raises(PayloadError, match="must be one of"):
        generate("s3-put", event_name="ObjectRemoved:Delete")
    with pytest.raises(PayloadError, match="not JSON"):
        generate("eventbridge", detail="{")
    with pytest.raises(PayloadError, match="ISO 8601"):
        generate("schedule", time="yesterday")


def test_options_describe_each_kind() -> None:
    names = [o.name for o in generate_options("s3-put")]
    assert names[:2] == ["bucket", "key"] and names[-4:] == ["region", "account", "time", "seed"]
    for kind in KINDS:
        for option in generate_options(kind):
            assert option.help and option.type in ("str", "int", "json", "datetime")
            assert option.flag.startswith("--") and "_" not in option.flag


def _cli(argv: list[str]) -> dict[str, Any]:
    """The wiring proposed for `flowengine event generate`, built only from generate_options."""
    parser = argparse.ArgumentParser(prog="flowengine event generate")
    kinds = parser.add_subparsers(dest="kind", required=True)
    for kind in KINDS:
        sub = kinds.add_parser(kind, help=describe(kind))
        for option in generate_options(kind):
            sub.add_argument(option.flag, **option.argparse_kwargs())
    args = parser.parse_args(argv)
    return generate(args.kind, **{o.name: getattr(args, o.name) for o in generate_options(args.kind)})


def test_the_cli_can_be_built_from_the_options() -> None:
    assert _cli(["s3-put", "--bucket", "B", "--key", "K"]) == s3_event("B", "K")
    assert _cli(["sqs", "--body", "a", "--body", "b", "--seed", "2"]) == sqs_event(["a", "b"], rng=random.Random(2))
    assert _cli(["sqs"]) == sqs_event("Hello from SQS!")  # a repeated option does not grow its default
    assert _cli(["sqs"]) == sqs_event("Hello from SQS!")
    assert _cli(["eventbridge", "--detail", '{"id": 7}', "--time", "2024-05-06T07:08:09Z"]) == \
        eventbridge_event("com.example.app", "Example Event", {"id": 7}, time=WHEN.replace(microsecond=0))
    assert _cli(["apigateway", "--method", "POST", "--path", "/o", "--query", '{"a": "1"}'])[
        "queryStringParameters"] == {"a": "1"}
    with pytest.raises(SystemExit):
        _cli(["eventbridge", "--detail", "{"])
    with pytest.raises(SystemExit):
        _cli(["s3-put", "--event-name", "Nope"])

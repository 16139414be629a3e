"""The app runtime's parts: routing, lineage, names, the environment, sending events in, the CLI helpers."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowengine.dsl.app import load
from flowengine.engine.clock import VirtualClock
from flowengine.events import payloads
from flowengine.runtime.commands import read_event, run_event, send_command, up_command
from flowengine.events.emulation import EmulationError, local_name
from flowengine.events.recursion import Lineage, RecursionGuard
from flowengine.events.routing import Router, s3_rule_pattern
from flowengine.runtime.app import AppRuntime, EventError, InvocationError

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
UPLOAD = ROOT / "definitions" / "upload-pipeline.yaml"
ORDERS = ROOT / "definitions" / "orders.yaml"


def _calls() -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = sys.modules["misc_app_handlers"].CALLS
    return calls


# --- pure parts ---------------------------------------------------------------------------------


def test_local_names_are_deterministic_and_valid() -> None:
    assert local_name("upload-pipeline", "Uploads", "bucket") == "upload-pipeline-uploads"
    assert local_name("orders", "ShopEvents", "event_bus") == "orders-shop-events"
    assert local_name("My App", "Jobs", "queue", fifo=True) == "my-app-jobs.fifo"
    assert len(local_name("a" * 80, "Bucket", "bucket")) == 63
    assert len(local_name("a" * 100, "Q", "queue", fifo=True)) == 80


def test_lineage_counts_per_target_and_guard_stops_past_the_limit() -> None:
    guard = RecursionGuard(limit=2)
    root = Lineage("1-abc")
    one = guard.admit(root, "function:F", trigger="T", now=0.0)
    assert one is not None and one.count("function:F") == 1
    two = guard.admit(one.via("s3:B"), "function:F", trigger="T", now=0.0)
    assert two is not None and two.count("function:F") == 2 and two.path == ("function:F", "s3:B", "function:F")
    assert guard.admit(two, "flow:Other", trigger="T", now=0.0) is not None  # another target counts apart
    assert guard.admit(two, "function:F", trigger="T", now=5.0) is None
    [stop] = guard.stops
    assert (stop.target, stop.count, stop.time) == ("function:F", 2, 5.0)
    assert RecursionGuard(limit=None).admit(two, "function:F", trigger="T", now=0.0) is not None


def test_router_wires_triggers_as_compiled() -> None:
    app = load(str(APPS / "misc.yaml")).app
    router = Router(app, {"Drop": "misc-demo-drop"})
    # direct notifications use S3's filter (prefix and suffix)
    assert [n.name for n in router.s3_notifications("Drop", "ObjectCreated:Put", "in/a.csv")] == ["Csv"]
    assert router.s3_notifications("Drop", "ObjectCreated:Put", "in/a.txt") == []
    assert [n.name for n in router.s3_notifications("Drop", "ObjectRemoved:Delete", "x")] == ["Removed"]
    # via_eventbridge: a rule on the default bus, on the bucket's EventBridge events
    assert router.eventbridge_buckets == {"Drop"}
    event = payloads.s3_eventbridge_event("misc-demo-drop", "data/x.json")
    assert [r.name for r in router.bus_rules(None, event)] == ["ViaBus"]
    assert router.bus_rules(None, payloads.s3_eventbridge_event("other-bucket", "data/x.json")) == []
    # API routes match method and path templates
    assert [r.name for r in router.api_routes("GET", "/orders/42")] == ["GetOrder"]
    assert [r.name for r in router.api_routes("POST", "/orders")] == ["PostOrders"]
    assert router.api_routes("GET", "/orders") == []


def test_s3_rule_pattern_matches_the_compiler() -> None:
    assert s3_rule_pattern("b", {"events": ["created", "removed"], "prefix": "in/", "suffix": ".csv"}) == {
        "source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": ["b"]}, "object": {"key": [{"wildcard": "in/*.csv"}]}}}


# --- the runtime --------------------------------------------------------------------------------


def test_resources_names_and_substitutions() -> None:
    with AppRuntime(APPS / "sqs.yaml") as rt:
        assert rt.name("Jobs") == "sqs-demo-jobs"
        assert rt.url("Jobs").endswith("/123456789012/sqs-demo-jobs")
        assert rt.arn("Jobs") == "arn:aws:sqs:us-east-1:123456789012:sqs-demo-jobs"
        assert rt.arn("Done") == "arn:aws:dynamodb:us-east-1:123456789012:table/sqs-demo-done"
        attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=rt.url("Jobs"), AttributeNames=["All"])["Attributes"]
        assert attrs["VisibilityTimeout"] == "30"
        assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": rt.arn("JobsDlq"), "maxReceiveCount": 3}
        # a queue without visibility_timeout and no consumer gets SQS's default
        strict_dlq = boto3.client("sqs").get_queue_attributes(QueueUrl=rt.url("StrictDlq"),
                                                               AttributeNames=["VisibilityTimeout"])
        assert strict_dlq["Attributes"]["VisibilityTimeout"] == "30"
        table = boto3.client("dynamodb").describe_table(TableName=rt.name("Done"))["Table"]
        assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        # the function's environment resolves ${Done}
        assert rt.engine.lambdas.functions["ProcessJobs"].environment == {"DONE_TABLE": "sqs-demo-done"}


def test_environment_is_set_for_the_runtime_and_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with AppRuntime(APPS / "schedule.yaml"):
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert os.environ["AWS_PROFILE"] == "production"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://localhost:4566"
    assert "AWS_DEFAULT_REGION" not in os.environ


def test_one_runtime_at_a_time() -> None:
    with AppRuntime(APPS / "schedule.yaml"), pytest.raises(EmulationError, match="another app runtime"):
        AppRuntime(APPS / "schedule.yaml").start()
    with AppRuntime(APPS / "schedule.yaml"):  # the first one released it
        pass


def test_s3_direct_notifications_copy_and_delete_and_eventbridge() -> None:
    with AppRuntime(APPS / "misc.yaml") as rt:
        _calls().clear()
        s3 = boto3.client("s3")
        bucket = rt.name("Drop")
        s3.put_object(Bucket=bucket, Key="in/report.csv", Body=b"a,b\n1,2\n")
        s3.copy_object(Bucket=bucket, Key="in/copy.csv", CopySource={"Bucket": bucket, "Key": "in/report.csv"})
        s3.put_object(Bucket=bucket, Key="data/x.json", Body=b"{}")
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "in/report.csv"}, {"Key": "data/x.json"}]})
        assert rt.run_until_idle()

        by_fn: dict[str, list[Any]] = {}
        for name, event in _calls():
            by_fn.setdefault(name, []).append(event)
        csv = [e["Records"][0] for e in by_fn["OnCsv"]]
        assert [(r["eventName"], r["s3"]["object"]["key"]) for r in csv] == [
            ("ObjectCreated:Put", "in/report.csv"), ("ObjectCreated:Copy", "in/copy.csv")]
        assert csv[0]["s3"]["object"]["size"] == 8
        assert csv[0]["s3"]["bucket"]["name"] == bucket
        assert csv[0]["s3"]["configurationId"] == "Csv"
        removed = [e["Records"][0] for e in by_fn["OnRemoved"]]
        assert sorted(r["s3"]["object"]["key"] for r in removed) == ["data/x.json", "in/report.csv"]
        assert {r["eventName"] for r in removed} == {"ObjectRemoved:Delete"}
        [bus_event] = by_fn["ViaBus"]
        assert bus_event["detail-type"] == "Object Created" and bus_event["detail"]["object"]["key"] == "data/x.json"
        assert bus_event["detail"]["reason"] == "PutObject"


def test_waiting_for_a_task_token_is_not_idle_until_answered() -> None:
    with AppRuntime(APPS / "misc.yaml") as rt:
        tokens = sys.modules["misc_app_handlers"].TOKENS
        tokens.clear()
        handle = rt.start_flow("Approval", {})
        assert rt.run_until_idle() is False  # the Task waits for its token: nothing more can happen
        assert rt.busy == 1
        [token] = tokens
        rt.engine.send_task_success(token, {"approved": True})
        assert rt.wait(handle).output == {"approved": True}
        assert rt.run_until_idle()


def test_wait_raises_when_the_execution_cannot_finish() -> None:
    with AppRuntime(APPS / "misc.yaml") as rt:
        handle = rt.start_flow("Approval", {})
        with pytest.raises(Exception, match="cannot finish"):
            rt.wait(handle)


def test_run_flow_and_invoke() -> None:
    with AppRuntime(APPS / "misc.yaml") as rt:
        assert rt.run_flow("Ingest", {"x": 1}).output == {"x": 1}
        assert rt.invoke("Api", {"pathParameters": {"id": "7"}}) == {"statusCode": 200, "body": "7"}
        with pytest.raises(InvocationError) as info:
            rt.invoke("Api", ["not", "a", "request"])
        assert info.value.error == "AttributeError"


def test_send_recognises_event_shapes() -> None:
    with AppRuntime(APPS / "misc.yaml") as rt:
        _calls().clear()
        # an S3 notification for a bucket named by its logical name
        assert [r.name for r in rt.send(payloads.s3_event("Drop", "in/a.csv"))] == ["Csv"]
        # API Gateway: a function gets the proxy event, a flow the request body
        assert [r.name for r in rt.send(payloads.apigateway_event("POST", "/orders", {"n": 1}))] == ["PostOrders"]
        assert [r.name for r in rt.send(payloads.apigateway_event("GET", "/orders/9", resource="/orders/{id}"))] == [
            "GetOrder"]
        # any event, straight to a trigger's target
        assert [r.name for r in rt.send({"anything": True}, trigger="PostOrders")] == ["PostOrders"]
        assert rt.run_until_idle()
        assert sorted(json.dumps(r.output) for r in rt.executions("Ingest")) == ['{"anything": true}', '{"n": 1}']
        with pytest.raises(EventError, match="no bucket"):
            rt.send(payloads.s3_event("nope", "in/a.csv"))
        with pytest.raises(EventError, match="cannot tell"):
            rt.send({"hello": "world"})
        with pytest.raises(EventError, match="no trigger"):
            rt.send({}, trigger="Nope")


def test_send_sqs_and_eventbridge_events() -> None:
    with AppRuntime(APPS / "sqs.yaml") as rt:
        sys.modules["sqs_app_handlers"].CALLS.clear()
        rt.send(payloads.sqs_event(["one", "two"], queue_arn="arn:aws:sqs:us-east-1:123456789012:jobs"))
        assert rt.run_until_idle()
        done = boto3.client("dynamodb").scan(TableName=rt.name("Done"))["Items"]
        assert sorted(i["id"]["S"] for i in done) == ["one", "two"]
    with AppRuntime(ORDERS) as rt:
        event = payloads.eventbridge_event("shop.web", "OrderPlaced", json.loads((ROOT / "examples/orders/order.json")
                                                                                 .read_text()))
        assert rt.send(event) == []  # the default bus has no rule
        [route] = rt.send(event, bus="ShopEvents")
        assert route.target == "PlaceOrder"
        assert rt.run_until_idle()
        [run] = rt.executions("PlaceOrder")
        assert run.input == event["detail"]  # the trigger's input_path: $.detail
        assert run.status == "SUCCEEDED"


def test_scheduled_event_sent_in_fires_its_schedule() -> None:
    with AppRuntime(APPS / "schedule.yaml") as rt:
        events = sys.modules["clock_app_handlers"].EVENTS
        events.clear()
        arn = "arn:aws:events:us-east-1:123456789012:rule/clock-demo-Hourly"
        assert [r.name for r in rt.send(payloads.schedule_event(arn))] == ["Hourly"]
        assert rt.run_until_idle()
        assert len(events) == 1


def test_log_is_ordered_and_formatted() -> None:
    with AppRuntime(APPS / "schedule.yaml", clock=VirtualClock(datetime(2025, 6, 1, tzinfo=UTC))) as rt:
        lines: list[str] = []
        rt.log.subscribe(lambda r: lines.append(r.format()))
        rt.advance(timedelta(hours=2))
        assert [r.kind for r in rt.log][:3] == ["schedule", "route", "invoke"]
        assert lines[0].startswith("2025-06-01T01:00:00.000Z  schedule")
        times = [r.time for r in rt.log]
        assert times == sorted(times)


def test_validation_errors_refuse_to_start(tmp_path: Path) -> None:
    from flowengine.errors import ValidationError

    bad = tmp_path / "bad.yaml"
    bad.write_text("app: bad\nflows:\n  F: {StartAt: Nowhere, States: {A: {Type: Pass, End: true}}}\n")
    before = dict(os.environ)
    with pytest.raises(ValidationError):
        AppRuntime(bad).start()
    assert dict(os.environ) == before
    with AppRuntime(APPS / "schedule.yaml"):  # nothing was left running
        pass


# --- the CLI helpers ----------------------------------------------------------------------------


def test_send_command_prints_what_happened(tmp_path: Path) -> None:
    event = tmp_path / "order.json"
    event.write_text(json.dumps(payloads.eventbridge_event("shop.web", "OrderPlaced", {"id": "o-1", "total": 120})))
    out = io.StringIO()
    assert send_command(str(APPS / "routing.yaml"), str(event), bus="Shop", stream=out) == 0
    text = out.getvalue()
    assert "→ flow PlaceOrder (trigger BigOrders)" in text
    assert "summary: 1 execution(s) (1 SUCCEEDED)" in text

    out = io.StringIO()
    assert send_command(str(APPS / "routing.yaml"), str(event), bus="Shop", trigger=None, stream=out,
                        advance="1h") == 0
    assert "clock at 2024-01-01T01:00:00" in out.getvalue()

    out = io.StringIO()
    other = payloads.eventbridge_event("shop.mobile", "OrderPlaced", {"id": "o-1", "total": 120})
    assert send_command(str(APPS / "routing.yaml"), json.dumps(other), stream=out) == 2
    assert "no trigger matched the event" in out.getvalue()

    out = io.StringIO()
    missing = payloads.s3_event("uploads", "incoming/missing.json")  # the object is not in the bucket
    assert send_command(str(UPLOAD), json.dumps(missing), stream=out) == 1
    assert "FAILED" in out.getvalue()

    out = io.StringIO()
    assert send_command(str(UPLOAD), "{not json", stream=out) == 2
    assert send_command(str(UPLOAD), json.dumps(payloads.s3_event("nope", "k")), stream=io.StringIO()) == 2


def test_up_command_on_the_virtual_clock_streams_the_log() -> None:
    out = io.StringIO()
    assert up_command(str(APPS / "schedule.yaml"), real_time=False, duration="3h", stream=out) == 0
    text = out.getvalue()
    assert "trigger   Hourly" in text
    assert text.count("rate(1 hour) fired") == 3
    assert "Report" in text and "SUCCEEDED" in text


def test_up_command_on_the_real_clock_stops_after_its_duration() -> None:
    out = io.StringIO()
    assert up_command(str(APPS / "schedule.yaml"), real_time=True, duration=0.2, stream=out) == 0
    assert "on the real clock (Ctrl-C stops earlier)" in out.getvalue()
    assert "summary: 0 execution(s)" in out.getvalue()


def test_run_event_starts_the_matching_flow() -> None:
    event = payloads.eventbridge_event("shop.web", "OrderPlaced", {"id": 1})
    result = run_event(str(APPS / "routing.yaml"), json.dumps({**event, "detail": {"id": "o-3", "total": 300}}),
                       bus="Shop")
    assert result.status == "SUCCEEDED" and result.output == {"order": "o-3"}
    with pytest.raises(EventError, match="started no flow"):
        run_event(str(APPS / "routing.yaml"), event)


def test_read_event_accepts_values_text_and_files(tmp_path: Path) -> None:
    f = tmp_path / "e.json"
    f.write_text('{"a": 1}')
    assert read_event(str(f)) == {"a": 1}
    assert read_event('{"b": 2}') == {"b": 2}
    assert read_event({"c": 3}) == {"c": 3}


def test_inside_a_tests_own_mock_aws_clients_are_observed(tmp_path: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="the-tests-own")  # a session made before
        with AppRuntime(APPS / "misc.yaml") as rt:
            _calls().clear()
            f = tmp_path / "up.csv"
            f.write_bytes(b"a,b\n")
            boto3.client("s3").upload_file(str(f), rt.name("Drop"), "in/up.csv")  # s3transfer's own threads
            assert rt.run_until_idle()
            assert [name for name, _ in _calls()] == ["OnCsv"]
        # the enclosing mock keeps its data (and the runtime's)
        names = [b["Name"] for b in boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]]
        assert "the-tests-own" in names

"""The app runtime end to end: the bundled apps and small test apps, on the virtual clock.

Each test runs a whole app (its resources in moto, its handlers unmodified, plain boto3)
and asserts on what AWS would show: table contents, dead-letter queues, execution results,
and the runtime's log.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowengine.events import payloads
from flowengine.runtime.app import AppRuntime
from flowengine.integrations.lambda_local import LambdaFunction

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
UPLOAD = ROOT / "definitions" / "upload-pipeline.yaml"


def _module(name: str) -> Any:
    return sys.modules[name]


# --- the upload pipeline ------------------------------------------------------------------------


def test_upload_pipeline_end_to_end_with_unmodified_handlers() -> None:
    # WriteLegacy takes two writers, and the app file models each write as holding its
    # connection for a second (local_duration), so six uploads at once are throttled and the
    # flow's Retry/backoff absorbs it. Nothing is stubbed: the handlers are the app's own.
    with AppRuntime(UPLOAD) as rt:
        s3 = boto3.client("s3")  # plain boto3, as in the handlers
        bucket = rt.name("Uploads")
        for i in range(6):
            s3.put_object(Bucket=bucket, Key=f"incoming/doc{i}.json", Body=json.dumps({"title": f"Doc {i}"}).encode())
        s3.put_object(Bucket=bucket, Key="elsewhere/skip.json", Body=b"{}")  # outside the prefix filter

        assert rt.run_until_idle()

        runs = rt.executions("ProcessUpload")
        assert len(runs) == 6
        assert {r.status for r in runs} == {"SUCCEEDED"}
        assert sorted(r.output["indexed"] for r in runs) == [f"doc{i}.json" for i in range(6)]
        # the flow started from S3's EventBridge event ("Object Created")
        assert all(r.input["detail-type"] == "Object Created" and r.input["source"] == "aws.s3" for r in runs)
        # the legacy store was throttled, never over its cap, and backoff absorbed it
        throttled = rt.log.of("invoke", function="WriteLegacy", outcome="throttled")
        assert throttled
        assert rt.engine.lambdas.peak_concurrency["WriteLegacy"] == 2
        assert {r.data["error"] for r in rt.log.of("retry", state="WriteLegacy")} == {"Lambda.TooManyRequestsException"}
        # every document is in the table, read back with boto3
        table = boto3.resource("dynamodb").Table(rt.name("Documents"))
        items = sorted(table.scan()["Items"], key=lambda i: i["id"])
        assert [(i["id"], i["title"], i["key"]) for i in items] == [
            (f"doc{i}.json", f"Doc {i}", f"incoming/doc{i}.json") for i in range(6)]
        # the Wait of 5 minutes passed on the virtual clock
        assert rt.now >= datetime(2024, 1, 1, 0, 5, tzinfo=UTC)


def test_upload_pipeline_from_generated_s3_events() -> None:
    # The acceptance chain as `flowengine event generate s3-put` + `send --object` drive it:
    # generated notifications for staged objects, the same throttled legacy store.
    with AppRuntime(UPLOAD) as rt:
        for i in range(4):
            key = f"incoming/gen{i}.json"
            rt.stage_object("Uploads", key, json.dumps({"title": f"Generated {i}"}))
            kind = "s3-put" if i % 2 else "s3-eventbridge"
            [route] = rt.send(payloads.generate(kind, bucket="Uploads", key=key))
            assert route.target == "ProcessUpload"
        assert rt.run_until_idle()
        assert [r.status for r in rt.executions("ProcessUpload")] == ["SUCCEEDED"] * 4
        assert rt.log.of("invoke", function="WriteLegacy", outcome="throttled")
        assert rt.engine.lambdas.peak_concurrency["WriteLegacy"] == 2
        items = boto3.resource("dynamodb").Table(rt.name("Documents")).scan()["Items"]
        assert sorted((i["id"], i["title"]) for i in items) == [(f"gen{i}.json", f"Generated {i}") for i in range(4)]


def test_upload_pipeline_unreadable_document_is_quarantined() -> None:
    with AppRuntime(UPLOAD) as rt:
        boto3.client("s3").put_object(Bucket=rt.name("Uploads"), Key="incoming/bad.json", Body=b"not json")
        assert rt.run_until_idle()
        [run] = rt.executions("ProcessUpload")
        assert (run.status, run.error) == ("FAILED", "MetadataUnreadable")
        # ExtractMetadata was retried with exponential backoff on the virtual clock: 2 s, 4 s, 8 s
        assert [r.data["delay"] for r in rt.log.of("retry", state="ExtractMetadata")] == [2, 4, 8]
        assert boto3.client("dynamodb").scan(TableName=rt.name("Documents"))["Items"] == []


# --- SQS ----------------------------------------------------------------------------------------


def _bodies(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return sorted(out)
        out += [m["Body"] for m in got]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])


def test_sqs_partial_batch_failure_redelivers_the_poison_message_then_dead_letters_it() -> None:
    with AppRuntime(APPS / "sqs.yaml") as rt:
        calls = _module("sqs_app_handlers").CALLS
        calls.clear()
        sqs = boto3.client("sqs")
        for body in ("a", "b", "poison", "c"):
            sqs.send_message(QueueUrl=rt.url("Jobs"), MessageBody=body)

        assert rt.run_until_idle()

        # one batch of four; the poison message alone comes back after each visibility timeout
        # (30 s of virtual time), three receives in all (maxReceiveCount 3), then the DLQ
        jobs = [c for c in calls if c[0] == "ProcessJobs"]
        assert [counts for _, counts in jobs] == [[1, 1, 1, 1], [2], [3]]
        batches = rt.log.of("sqs", queue="Jobs", action="batch")
        start = batches[0].time
        assert [round(b.time - start) for b in batches] == [0, 30, 60]
        assert _bodies(rt.url("JobsDlq")) == ["poison"]
        assert _bodies(rt.url("Jobs")) == []
        [dead] = rt.log.of("sqs", queue="Jobs", action="dead-letter")
        assert dead.data["dlq"] == "JobsDlq"
        done = boto3.client("dynamodb").scan(TableName=rt.name("Done"))["Items"]
        assert sorted(i["id"]["S"] for i in done) == ["a", "b", "c"]


def test_sqs_error_without_report_batch_item_failures_fails_the_whole_batch() -> None:
    with AppRuntime(APPS / "sqs.yaml") as rt:
        calls = _module("sqs_app_handlers").CALLS
        calls.clear()
        sqs = boto3.client("sqs")
        sqs.send_message(QueueUrl=rt.url("Strict"), MessageBody="fine")
        sqs.send_message(QueueUrl=rt.url("Strict"), MessageBody="poison")

        assert rt.run_until_idle()

        # both messages fail together, twice (maxReceiveCount 2), and both reach the DLQ
        assert [counts for name, counts in calls if name == "ProcessStrict"] == [[1, 1], [2, 2]]
        assert _bodies(rt.url("StrictDlq")) == ["fine", "poison"]
        # batch_size 5 with a 10 s batching window: two messages wait for the window
        first = rt.log.of("sqs", queue="Strict", action="batch")[0]
        assert first.when == datetime(2024, 1, 1, 0, 0, 10, tzinfo=UTC)


def test_sqs_queue_to_flow_starts_one_execution_per_batch() -> None:
    with AppRuntime(APPS / "sqs.yaml") as rt:
        sqs = boto3.client("sqs")
        sqs.send_message_batch(QueueUrl=rt.url("Orders"), Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"order": i})} for i in range(7)])
        assert rt.run_until_idle()
        runs = rt.executions("HandleOrders")
        assert sorted(r.output["count"] for r in runs) == [1, 3, 3]
        assert runs[0].input[0]["eventSource"] == "aws:sqs"
        assert _bodies(rt.url("Orders")) == []


def test_sqs_records_have_lambdas_shape() -> None:
    with AppRuntime(APPS / "sqs.yaml", handlers={"ProcessJobs": lambda event, context: _SEEN.append(event)}) as rt:
        _SEEN.clear()
        boto3.client("sqs").send_message(
            QueueUrl=rt.url("Jobs"), MessageBody="hello",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}})
        assert rt.run_until_idle()
        [event] = _SEEN
        [record] = event["Records"]
        assert record["body"] == "hello"
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == rt.arn("Jobs")
        assert record["awsRegion"] == "us-east-1"
        assert record["messageAttributes"]["kind"]["stringValue"] == "greeting"
        assert record["messageAttributes"]["kind"]["dataType"] == "String"
        assert set(record["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                             "ApproximateFirstReceiveTimestamp"}
        # SQS's timestamps follow the virtual clock
        assert record["attributes"]["SentTimestamp"] == str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000))


_SEEN: list[Any] = []


# --- schedules ----------------------------------------------------------------------------------


def test_hourly_schedule_fires_24_times_in_one_virtual_day() -> None:
    with AppRuntime(APPS / "schedule.yaml") as rt:
        events = _module("clock_app_handlers").EVENTS
        events.clear()
        wall = time.perf_counter()
        rt.advance(timedelta(days=1))
        wall = time.perf_counter() - wall
        print(f"one virtual day of schedules in {wall * 1000:.1f} ms of wall time")

        hourly = [e for e in events if e.get("detail-type") == "Scheduled Event"]
        assert len(hourly) == 24
        start = datetime(2024, 1, 1, tzinfo=UTC)
        assert [e["time"] for e in hourly] == [
            (start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in range(1, 25)]
        assert hourly[0]["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/clock-demo-Hourly"]
        assert [r.when for r in rt.log.of("schedule", trigger="Hourly")] == [
            start + timedelta(hours=h) for h in range(1, 25)]
        # the at() schedule fired once with its input; the nightly cron started its flow at 03:00
        assert [e for e in events if "detail-type" not in e] == [{"once": True}]
        [report] = rt.executions("Report")
        assert report.status == "SUCCEEDED"
        assert report.start_date == datetime(2024, 1, 1, 3, tzinfo=UTC)
        assert rt.now == start + timedelta(days=1)


def test_schedules_alone_do_not_keep_the_runtime_busy() -> None:
    with AppRuntime(APPS / "schedule.yaml") as rt:
        assert rt.run_until_idle()
        assert rt.now == datetime(2024, 1, 1, tzinfo=UTC)
        assert rt.log.of("schedule") == []


# --- recursion ----------------------------------------------------------------------------------


def test_bucket_function_same_bucket_loop_is_stopped_and_reported() -> None:
    with AppRuntime(APPS / "recursion.yaml") as rt:
        s3 = boto3.client("s3")
        s3.put_object(Bucket=rt.name("Images"), Key="cat.png", Body=b"big")

        assert rt.run_until_idle()

        # AWS's limit: the function ran 16 times in the chain; the 17th invocation was stopped
        assert len(rt.invocations_of("Thumbnail")) == 16
        [stop] = rt.recursion_stops
        assert (stop.target, stop.trigger, stop.count) == ("function:Thumbnail", "NewImage", 16)
        assert "s3:Images" in stop.lineage.path
        [record] = rt.log.of("recursion")
        assert "Recursive loop detected" in record.message
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=rt.name("Images"))["Contents"]]
        assert len(keys) == 17  # the original and 16 thumbnails


def test_independent_chains_are_counted_apart() -> None:
    with AppRuntime(APPS / "recursion.yaml", recursion_limit=3) as rt:
        s3 = boto3.client("s3")
        s3.put_object(Bucket=rt.name("Images"), Key="a.png", Body=b"1")
        s3.put_object(Bucket=rt.name("Images"), Key="b.png", Body=b"2")
        assert rt.run_until_idle()
        assert len(rt.invocations_of("Thumbnail")) == 6
        assert len(rt.recursion_stops) == 2
        assert len({s.lineage.trace_id for s in rt.recursion_stops}) == 2


# --- SNS and EventBridge ------------------------------------------------------------------------


def test_sns_filter_policy_routes_only_matching_messages() -> None:
    with AppRuntime(APPS / "routing.yaml") as rt:
        calls = _module("routing_app_handlers").CALLS
        calls.clear()
        sns = boto3.client("sns")
        sns.publish(TopicArn=rt.arn("Alerts"), Message="disk full", Subject="ops",
                    MessageAttributes={"severity": {"DataType": "String", "StringValue": "critical"}})
        sns.publish(TopicArn=rt.arn("Alerts"), Message="fyi",
                    MessageAttributes={"severity": {"DataType": "String", "StringValue": "info"}})
        sns.publish(TopicArn=rt.arn("Alerts"), Message="no attributes")
        assert rt.run_until_idle()

        got = sorted((name, e["Records"][0]["Sns"]["Message"]) for name, e in calls)
        assert got == [("Audit", "disk full"), ("Audit", "fyi"), ("Audit", "no attributes"), ("Page", "disk full")]
        page = next(e for name, e in calls if name == "Page")["Records"][0]
        assert page["EventSource"] == "aws:sns"
        assert page["Sns"]["TopicArn"] == rt.arn("Alerts")
        assert page["Sns"]["Subject"] == "ops"
        assert page["Sns"]["MessageAttributes"]["severity"] == {"Type": "String", "Value": "critical"}


def test_eventbridge_patterns_route_by_bus_and_content() -> None:
    with AppRuntime(APPS / "routing.yaml") as rt:
        calls = _module("routing_app_handlers").CALLS
        calls.clear()
        events = boto3.client("events")

        def order(id_: str, total: int, bus: str | None) -> dict[str, Any]:
            entry = {"Source": "shop.web", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": id_, "total": total})}
            if bus:
                entry["EventBusName"] = bus
            return entry

        events.put_events(Entries=[order("big", 150, rt.name("Shop")), order("small", 50, rt.name("Shop")),
                                   order("default", 500, None), order("by-arn", 900, rt.arn("Shop"))])
        assert rt.run_until_idle()

        # the rule on the Shop bus wants total > 100; the default bus's rule sees only its own bus
        assert sorted(r.output["order"] for r in rt.executions("PlaceOrder")) == ["big", "by-arn"]
        assert [(name, e["detail"]["id"]) for name, e in calls] == [("OnDefault", "default")]
        run = rt.executions("PlaceOrder")[0]
        assert run.input["source"] == "shop.web" and run.input["detail-type"] == "OrderPlaced"


def test_a_handlers_side_effects_route_onward() -> None:
    with AppRuntime(APPS / "routing.yaml") as rt:
        calls = _module("routing_app_handlers").CALLS
        calls.clear()
        assert rt.invoke("Publisher", {"severity": "critical", "message": "from a handler", "order": "o-7"}) == {
            "published": True}
        assert rt.run_until_idle()
        assert sorted(name for name, _ in calls) == ["Audit", "Page"]
        [run] = rt.executions("PlaceOrder")
        assert run.output == {"order": "o-7"}


# --- async invocations -------------------------------------------------------------------------


def test_async_invocation_retries_function_errors_twice_then_drops() -> None:
    def fail(event: Any, context: Any) -> None:
        raise RuntimeError("boom")

    with AppRuntime(APPS / "recursion.yaml", handlers={"Thumbnail": fail}) as rt:
        boto3.client("s3").put_object(Bucket=rt.name("Images"), Key="x.png", Body=b"1")
        assert rt.run_until_idle()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        assert [r.when - start for r in rt.log.of("invoke", function="Thumbnail")] == [
            timedelta(0), timedelta(minutes=1), timedelta(minutes=3)]
        [drop] = rt.log.of("drop")
        assert drop.data["reason"] == "errors"


def test_async_invocation_retries_throttles_within_the_maximum_event_age() -> None:
    never = LambdaFunction("Thumbnail", handler=lambda e, c: None, concurrency=0)
    with AppRuntime(APPS / "recursion.yaml", handlers={"Thumbnail": never},
                    max_event_age=timedelta(minutes=10)) as rt:
        boto3.client("s3").put_object(Bucket=rt.name("Images"), Key="x.png", Body=b"1")
        assert rt.run_until_idle()
        delays = [r.data["delay"] for r in rt.log.of("retry", function="Thumbnail")]
        # 1 s doubling (to at most 5 minutes), as long as the event is younger than its maximum age
        assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256]
        [drop] = rt.log.of("drop")
        assert drop.data["reason"] == "age"
        assert all(r.data["outcome"] == "throttled" for r in rt.log.of("invoke", function="Thumbnail"))


@pytest.mark.parametrize("key", ["incoming/a.json", "other/a.json"])
def test_sent_s3_event_follows_the_prefix_filter(key: str) -> None:
    from flowengine.events.payloads import s3_event

    with AppRuntime(UPLOAD) as rt:
        routes = rt.send(s3_event("uploads", key))  # the logical name works too
        assert [r.target for r in routes] == (["ProcessUpload"] if key.startswith("incoming/") else [])


def test_loop_through_a_flow_and_a_service_task_is_stopped_too() -> None:
    # validation reports this loop (FE618); run it anyway to see the runtime stop it
    with AppRuntime(APPS / "flowloop.yaml", validate=False) as rt:
        boto3.client("s3").put_object(Bucket=rt.name("Inbox"), Key="a.txt", Body=b"1")
        assert rt.run_until_idle()
        assert len(rt.executions("Copy")) == 16
        assert {r.status for r in rt.executions("Copy")} == {"SUCCEEDED"}
        [stop] = rt.recursion_stops
        assert stop.target == "flow:Copy"


# --- the nightly clean-up -------------------------------------------------------------------------


def test_nightly_cleanup_runs_at_three_and_deletes_expired_sessions() -> None:
    with AppRuntime(ROOT / "definitions" / "nightly-cleanup.yaml") as rt:
        table = boto3.resource("dynamodb").Table(rt.name("Sessions"))
        for i in range(12):
            expires = f"2023-12-{20 + i % 10:02d}T00:00:00Z" if i < 8 else "2024-06-01T00:00:00Z"
            table.put_item(Item={"sessionId": f"s{i:02d}", "expiresAt": expires})

        rt.advance(timedelta(days=1))

        [run] = rt.executions("NightlyCleanup")
        assert run.status == "SUCCEEDED"
        assert run.start_date == datetime(2024, 1, 1, 3, tzinfo=UTC)
        assert sorted(i["sessionId"] for i in table.scan()["Items"]) == ["s08", "s09", "s10", "s11"]
        # the report went to the emulated topic through the sns:publish Task
        [published] = rt.log.of("event", source="sns")
        assert published.data["resource"] == "CleanupReports"


def test_a_flows_put_events_task_routes_to_the_buss_rules() -> None:
    with AppRuntime(APPS / "routing.yaml") as rt:
        assert rt.run_flow("Announce", {"order": "o-42"}).status == "SUCCEEDED"
        assert rt.run_until_idle()
        [placed] = rt.executions("PlaceOrder")
        assert placed.output == {"order": "o-42"}
        # events:putEvents adds the execution to the event's resources, as Step Functions does
        assert any(":execution:Announce:" in r for r in placed.input["resources"])

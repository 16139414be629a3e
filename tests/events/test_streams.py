"""DynamoDB stream triggers in the app runtime: what the table's writes deliver to the
function (Lambda's record shape, in order, batched, filtered), how failures retry, and an
SQS trigger's ``filter``.

Each test writes an app file into a temporary directory; handlers are stand-ins (the
``handlers=`` option) that record what they receive, and items are written with plain boto3.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowengine.events.streams import LOCAL_STREAM_RETRIES
from flowengine.runtime.app import AppRuntime


def _app(tmp_path: Path, trigger: str, *, stream: str | None = None, extra: str = "") -> Path:
    table = "{type: table, key: {id: S}" + (f", stream: {stream}" if stream else "") + "}"
    text = textwrap.dedent(f"""\
        app: streams
        functions:
          Watch: {{handler: handlers.watch}}
        resources:
          Orders: {table}
        triggers:
          - {{table: Orders, invoke: Watch{", " + trigger if trigger else ""}}}
        """) + extra
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return path


class Recorder:
    """A stand-in handler: records each event; ``fail`` decides whether an event raises."""

    def __init__(self, fail: Any = None, respond: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail
        self.respond = respond

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        if self.fail is not None and self.fail(event, len(self.events)):
            raise RuntimeError("boom")
        return self.respond(event) if self.respond else None

    @property
    def batches(self) -> list[list[tuple[str, str]]]:
        return [[(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in e["Records"]] for e in self.events]


def _put(rt: AppRuntime, item_id: str, **attrs: Any) -> None:
    item = {"id": {"S": item_id}, **{k: {"S": str(v)} for k, v in attrs.items()}}
    boto3.client("dynamodb").put_item(TableName=rt.name("Orders"), Item=item)


def test_insert_modify_remove_reach_the_function_in_order_in_lambdas_shape(tmp_path: Path) -> None:
    watch = Recorder()
    with AppRuntime(_app(tmp_path, ""), handlers={"Watch": watch}) as rt:
        ddb = boto3.client("dynamodb")
        table = rt.name("Orders")
        _put(rt, "a", status="new")
        _put(rt, "a", status="new")  # changes nothing: DynamoDB writes no stream record
        ddb.update_item(TableName=table, Key={"id": {"S": "a"}}, UpdateExpression="SET #s = :s",
                        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "paid"}})
        ddb.delete_item(TableName=table, Key={"id": {"S": "a"}})
        assert rt.run_until_idle()
        records = [r for e in watch.events for r in e["Records"]]
        assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
        insert, modify, remove = records
        stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        for r in records:
            assert r["eventSource"] == "aws:dynamodb"
            assert r["eventVersion"] == "1.1"
            assert r["awsRegion"] == rt.account.region
            assert r["eventSourceARN"] == stream_arn
            assert r["dynamodb"]["Keys"] == {"id": {"S": "a"}}
            assert r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
            assert r["dynamodb"]["ApproximateCreationDateTime"] == float(int(rt.started_at))
            assert r["dynamodb"]["SizeBytes"] > 0
        assert "OldImage" not in insert["dynamodb"]
        assert insert["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "status": {"S": "new"}}
        assert modify["dynamodb"]["OldImage"]["status"] == {"S": "new"}
        assert modify["dynamodb"]["NewImage"]["status"] == {"S": "paid"}
        assert remove["dynamodb"]["OldImage"]["status"] == {"S": "paid"} and "NewImage" not in remove["dynamodb"]
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
        json.dumps(watch.events)  # plain JSON, as Lambda delivers it


@pytest.mark.parametrize(("stream", "images"), [("keys_only", set()), ("new_image", {"NewImage"}),
                                                 ("OLD_IMAGE", {"OldImage"}),
                                                 ("new_and_old_images", {"NewImage", "OldImage"})])
def test_the_view_type_decides_which_images_a_record_carries(tmp_path: Path, stream: str, images: set[str]) -> None:
    watch = Recorder()
    with AppRuntime(_app(tmp_path, "", stream=stream), handlers={"Watch": watch}) as rt:
        _put(rt, "a", n=1)
        _put(rt, "a", n=2)
        assert rt.run_until_idle()
        [modify] = [r for e in watch.events for r in e["Records"] if r["eventName"] == "MODIFY"]
        assert set(modify["dynamodb"]) & {"NewImage", "OldImage"} == images
        assert modify["dynamodb"]["StreamViewType"] == stream.upper()


def test_batch_size_splits_the_records_and_the_batching_window_gathers_them(tmp_path: Path) -> None:
    watch = Recorder()
    with AppRuntime(_app(tmp_path, "batch_size: 2"), handlers={"Watch": watch}) as rt:
        boto3.client("dynamodb").batch_write_item(RequestItems={rt.name("Orders"): [
            {"PutRequest": {"Item": {"id": {"S": str(i)}}}} for i in range(5)]})
        assert rt.run_until_idle()
        assert [len(b) for b in watch.batches] == [2, 2, 1]
        assert [k for b in watch.batches for _, k in b] == ["0", "1", "2", "3", "4"]

    watch = Recorder()
    with AppRuntime(_app(tmp_path, "batching_window: 10s"), handlers={"Watch": watch}) as rt:
        _put(rt, "a")
        rt.advance(4)
        _put(rt, "b")
        assert rt.run_until_idle()
        assert watch.batches == [[("INSERT", "a"), ("INSERT", "b")]]
        [batch] = rt.log.of("dynamodb", action="batch")
        assert batch.time - rt.started_at == pytest.approx(10)


def test_filter_drops_the_records_that_match_no_pattern(tmp_path: Path) -> None:
    trigger = "filter: [{eventName: [INSERT], dynamodb: {NewImage: {status: {S: [paid]}}}}]"
    watch = Recorder()
    with AppRuntime(_app(tmp_path, trigger), handlers={"Watch": watch}) as rt:
        _put(rt, "a", status="new")
        _put(rt, "b", status="paid")
        _put(rt, "a", status="paid")  # MODIFY: filtered out by eventName
        assert rt.run_until_idle()
        assert [k for b in watch.batches for k in b] == [("INSERT", "b")]
        assert len(rt.log.of("dynamodb", action="filtered")) == 2


def test_a_function_error_retries_the_batch_until_it_succeeds(tmp_path: Path) -> None:
    watch = Recorder(fail=lambda event, n: n <= 2)
    with AppRuntime(_app(tmp_path, ""), handlers={"Watch": watch}) as rt:
        _put(rt, "a")
        assert rt.run_until_idle()
        assert watch.batches == [[("INSERT", "a")]] * 3
        retries = rt.log.of("retry", table="Orders")
        assert [r.data["delay"] for r in retries] == [1.0, 2.0]
        assert not rt.log.of("drop")


def test_maximum_retry_attempts_drops_the_batch_and_the_stream_moves_on(tmp_path: Path) -> None:
    watch = Recorder(fail=lambda event, n: event["Records"][0]["dynamodb"]["Keys"]["id"]["S"] == "bad")
    with AppRuntime(_app(tmp_path, "maximum_retry_attempts: 2, batch_size: 1"), handlers={"Watch": watch}) as rt:
        _put(rt, "bad")
        _put(rt, "good")
        assert rt.run_until_idle()
        assert [b[0][1] for b in watch.batches] == ["bad", "bad", "bad", "good"]
        [drop] = rt.log.of("drop", table="Orders")
        assert drop.data["reason"] == "retries" and len(drop.data["sequence_numbers"]) == 1


def test_report_batch_item_failures_checkpoints_at_the_lowest_failed_record(tmp_path: Path) -> None:
    def respond(event: dict[str, Any]) -> Any:
        failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]
                  if r["dynamodb"]["Keys"]["id"]["S"] == "b" and len(watch.events) == 1]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    watch = Recorder(respond=respond)
    with AppRuntime(_app(tmp_path, "report_batch_item_failures: true, batching_window: 1s"),
                    handlers={"Watch": watch}) as rt:
        for key in "abc":
            _put(rt, key)
        assert rt.run_until_idle()
        # a is done; the retry starts at b, the lowest failed record
        assert [[k for _, k in b] for b in watch.batches] == [["a", "b", "c"], ["b", "c"]]


def test_an_unknown_item_identifier_fails_the_whole_batch(tmp_path: Path) -> None:
    watch = Recorder(respond=lambda e: {"batchItemFailures": [{"itemIdentifier": "nope"}]} if len(watch.events) == 1
                     else None)
    with AppRuntime(_app(tmp_path, "report_batch_item_failures: true"), handlers={"Watch": watch}) as rt:
        _put(rt, "a")
        assert rt.run_until_idle()
        assert watch.batches == [[("INSERT", "a")]] * 2


def test_a_task_that_writes_an_item_reaches_the_stream_function(tmp_path: Path) -> None:
    extra = textwrap.dedent("""\
        flows:
          Record:
            StartAt: Put
            States:
              Put:
                Type: Task
                Resource: arn:aws:states:::dynamodb:putItem
                Parameters:
                  TableName: ${Orders}
                  Item: {id: {S.$: $.id}, total: {N: "12"}}
                End: true
        """)
    watch = Recorder()
    with AppRuntime(_app(tmp_path, "", extra=extra), handlers={"Watch": watch}) as rt:
        result = rt.run_flow("Record", {"id": "o-1"})
        assert result.status == "SUCCEEDED"
        assert rt.run_until_idle()
        [[record]] = [e["Records"] for e in watch.events]
        assert record["eventName"] == "INSERT"
        assert record["dynamodb"]["NewImage"] == {"id": {"S": "o-1"}, "total": {"N": "12"}}


def _subprocess(script: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_batch_that_always_fails_is_dropped_after_the_local_retry_cap(tmp_path: Path) -> None:
    # In a subprocess under a hard timeout: a regression would retry for a virtual day or forever.
    app = _app(tmp_path, "")
    out = _subprocess(f"""
        import boto3
        from flowengine.runtime.app import AppRuntime
        def watch(event, context):
            raise RuntimeError("poison")
        with AppRuntime({str(app)!r}, handlers={{"Watch": watch}}) as rt:
            boto3.client("dynamodb").put_item(TableName=rt.name("Orders"), Item={{"id": {{"S": "x"}}}})
            print(rt.run_until_idle(), len(rt.invocations_of("Watch")), len(rt.log.of("drop", table="Orders")))
    """)
    assert out.split() == ["True", str(LOCAL_STREAM_RETRIES + 1), "1"]


def test_a_function_that_rewrites_the_table_it_reads_is_stopped_by_the_recursion_guard(tmp_path: Path) -> None:
    app = _app(tmp_path, "")
    out = _subprocess(f"""
        import boto3
        from flowengine.runtime.app import AppRuntime
        def watch(event, context):
            for r in event["Records"]:
                n = int(r["dynamodb"].get("NewImage", {{}}).get("n", {{"N": "0"}})["N"])
                item = {{"id": {{"S": "x"}}, "n": {{"N": str(n + 1)}}}}
                boto3.client("dynamodb").put_item(TableName=TABLE, Item=item)
        with AppRuntime({str(app)!r}, handlers={{"Watch": watch}}) as rt:
            TABLE = rt.name("Orders")
            boto3.client("dynamodb").put_item(TableName=TABLE, Item={{"id": {{"S": "x"}}}})
            print(rt.run_until_idle(), len(rt.invocations_of("Watch")), len(rt.log.of("recursion")))
    """)
    idle, invocations, stops = out.split()
    assert idle == "True" and int(stops) == 1
    assert int(invocations) == 16  # Lambda's recursion limit


def test_sqs_filter_deletes_the_messages_that_match_no_pattern(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("""\
        app: filtered
        functions:
          Take: {handler: handlers.take}
        resources:
          Jobs: {type: queue}
        triggers:
          - {queue: Jobs, invoke: Take, filter: {body: {kind: [order]}}}
        """))
    take = Recorder()
    with AppRuntime(path, handlers={"Take": take}) as rt:
        sqs = boto3.client("sqs")
        for body in ({"kind": "order", "n": 1}, {"kind": "refund"}, "plain text"):
            sqs.send_message(QueueUrl=rt.url("Jobs"), MessageBody=json.dumps(body) if isinstance(body, dict) else body)
        assert rt.run_until_idle()
        bodies = [json.loads(r["body"]) for e in take.events for r in e["Records"]]
        assert bodies == [{"kind": "order", "n": 1}]
        # the others are gone from the queue, as Lambda deletes them
        attrs = sqs.get_queue_attributes(QueueUrl=rt.url("Jobs"), AttributeNames=["All"])["Attributes"]
        assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
        [filtered] = rt.log.of("sqs", action="filtered")
        assert len(filtered.data["message_ids"]) == 2


# --- validation ---------------------------------------------------------------------------------


def _problems(tmp_path: Path, trigger: str, *, stream: str | None = None) -> list[tuple[str, str, str]]:
    from flowengine.validate import validate_path

    path = _app(tmp_path, trigger, stream=stream)
    return [(d.code, d.message, d.hint or "") for d in validate_path(str(path)) if d.severity == "error"]


def test_a_valid_stream_trigger_validates_clean(tmp_path: Path) -> None:
    trigger = ("batch_size: 500, batching_window: 5s, starting_position: TRIM_HORIZON, "
               "filter: [{eventName: [INSERT]}], report_batch_item_failures: true, maximum_retry_attempts: 3")
    assert _problems(tmp_path, trigger, stream="new_image") == []


@pytest.mark.parametrize(("trigger", "stream", "code", "words"), [
    ("", "NEW", "FE604", "stream 'NEW' is not a stream view type"),
    ("starting_position: AT_TIMESTAMP", None, "FE604", "Kinesis"),
    ("starting_position: latest", None, "FE604", "LATEST"),
    ("batch_size: 10001", None, "FE607", "batch_size is 10001"),
    ("batching_window: 301s", None, "FE607", "batching_window"),
    ("maximum_retry_attempts: -2", None, "FE607", "maximum_retry_attempts"),
    ("filter: {eventName: INSERT}", None, "FE624", "filter"),
    ("filter: {dynamodb: {Keys: {id: {S: [{wildcard: 'a*'}]}}}}", None, "FE624", "filter"),
    ("filter: [{a: [1]}, {a: [2]}, {a: [3]}, {a: [4]}, {a: [5]}, {a: [6]}]", None, "FE607", "at most 5"),
    ("via_eventbridge: true", None, "FE601", "via_eventbridge"),
])
def test_stream_trigger_problems_are_located_with_a_hint(tmp_path: Path, trigger: str, stream: str | None,
                                                         code: str, words: str) -> None:
    problems = _problems(tmp_path, trigger, stream=stream)
    assert any(c == code and (words in m or words in h) for c, m, h in problems), problems


def test_a_flows_table_trigger_reports_no_batch_failures_and_a_table_trigger_names_a_table(tmp_path: Path) -> None:
    from flowengine.validate import validate_path

    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("""\
        app: streams
        functions:
          Watch: {handler: handlers.watch}
        resources:
          Orders: {type: table, key: {id: S}}
          Jobs: {type: queue}
        flows:
          F: {StartAt: P, States: {P: {Type: Pass, End: true}}}
        triggers:
          - {table: Orders, start: F, report_batch_item_failures: true}
          - {table: Jobs, invoke: Watch}
          - {table: Orders, start: F, batch_size: 5}
        """))
    found = {(d.code, d.message) for d in validate_path(str(path))}
    assert any(c == "FE604" and "a flow's Pipe starts executions" in m for c, m in found), found
    assert len([c for c, _ in found if c != "FE612"]) == 1  # the third trigger is fine
    assert ("FE612", "table names 'Jobs', which is a queue, not a table") in found


def test_a_function_writing_the_table_it_reads_is_an_event_loop_warning(tmp_path: Path) -> None:
    from flowengine.validate import validate_path

    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("""\
        app: streams
        functions:
          Watch: {handler: handlers.watch, writes: [Orders]}
        resources:
          Orders: {type: table, key: {id: S}}
        triggers:
          - {table: Orders, invoke: Watch}
        """))
    [loop] = [d for d in validate_path(str(path)) if d.code == "FE618"]
    assert loop.severity == "warning"
    assert "Orders (table) → Watch (function)" in loop.message and "stream" in (loop.hint or "")


def test_stream_records_sent_in_reach_the_tables_triggers_through_their_filter(tmp_path: Path) -> None:
    from flowengine.events.source import EventError

    watch = Recorder()
    with AppRuntime(_app(tmp_path, "filter: {eventName: [INSERT]}"), handlers={"Watch": watch}) as rt:
        arn = "arn:aws:dynamodb:us-west-2:123456789012:table/Orders/stream/2016-11-29T20:46:22.144"
        record = {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb", "eventSourceARN": arn,
                  "dynamodb": {"Keys": {"id": {"S": "x"}}, "SequenceNumber": "1"}}
        [route] = rt.send({"Records": [record, {**record, "eventName": "REMOVE"}]})
        assert route.target == "Watch"
        assert rt.run_until_idle()
        assert watch.batches == [[("INSERT", "x")]]
        with pytest.raises(EventError, match="names no table of the app"):
            rt.send({"Records": [{**record, "eventSourceARN": arn.replace("Orders", "Nope")}]})


def test_the_up_banner_names_the_stream_a_trigger_reads(tmp_path: Path) -> None:
    from flowengine.runtime.commands import describe

    with AppRuntime(_app(tmp_path, ""), handlers={"Watch": Recorder()}) as rt:
        assert any(line.split()[-5:] == ["Orders", "stream", "→", "function", "Watch"] for line in describe(rt))


# --- the payload factory ------------------------------------------------------------------------


def test_generated_dynamodb_events_have_lambdas_shape_and_send_to_the_table(tmp_path: Path) -> None:
    import random

    from flowengine.events.payloads import PayloadError, dynamodb_event, dynamodb_value, generate

    event = generate("dynamodb", event_name="MODIFY", table="Orders", keys='{"id": "o-1"}',
                     new_image='{"status": "paid", "total": 12.5, "tags": ["a"], "gift": false, "note": null}',
                     old_image='{"status": "new"}')
    [r] = event["Records"]
    assert (r["eventName"], r["eventSource"], r["eventVersion"]) == ("MODIFY", "aws:dynamodb", "1.1")
    assert r["eventSourceARN"] == "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000"
    d = r["dynamodb"]
    assert d["Keys"] == {"id": {"S": "o-1"}}
    assert d["NewImage"] == {"id": {"S": "o-1"}, "status": {"S": "paid"}, "total": {"N": "12.5"},
                             "tags": {"L": [{"S": "a"}]}, "gift": {"BOOL": False}, "note": {"NULL": True}}
    assert d["OldImage"] == {"id": {"S": "o-1"}, "status": {"S": "new"}}
    assert d["ApproximateCreationDateTime"] == 1704067200.0 and d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert set(dynamodb_event(event_name="INSERT", view_type="KEYS_ONLY")["Records"][0]["dynamodb"]) == {
        "ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}
    assert "NewImage" not in dynamodb_event(event_name="REMOVE")["Records"][0]["dynamodb"]
    assert dynamodb_event(rng=random.Random(1)) == dynamodb_event(rng=random.Random(1)) != dynamodb_event()
    assert dynamodb_value({"m": {"n": 1}}) == {"M": {"m": {"M": {"n": {"N": "1"}}}}}
    with pytest.raises(PayloadError):
        dynamodb_event(event_name="UPDATE")

    watch = Recorder()
    with AppRuntime(_app(tmp_path, ""), handlers={"Watch": watch}) as rt:
        [route] = rt.send(event)
        assert rt.run_until_idle()
        assert watch.events == [event]


def test_an_sqs_filter_on_anything_but_the_body_is_a_warning(tmp_path: Path) -> None:
    from flowengine.validate import validate_path

    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("""\
        app: filtered
        functions:
          Take: {handler: handlers.take}
        resources:
          Jobs: {type: queue}
        triggers:
          - {queue: Jobs, invoke: Take, filter: [{body: {kind: [order]}}, {messageAttributes: {kind: [x]}}]}
        """))
    [d] = [d for d in validate_path(str(path)) if d.code == "FE624"]
    assert d.severity == "warning" and "body only, not messageAttributes" in d.message


def test_a_poller_that_cannot_read_its_stream_says_so_and_leaves_the_runtime_idle(tmp_path: Path) -> None:
    watch = Recorder()
    with AppRuntime(_app(tmp_path, ""), handlers={"Watch": watch}) as rt:
        [poller] = rt._stream_pollers["Orders"]
        poller._iterator = "not-an-iterator"  # moto refuses it: GetRecords fails
        _put(rt, "a")
        assert rt.run_until_idle()
        assert rt.idle and watch.events == []
        [stopped] = rt.log.of("drop", reason="internal")
        assert "stream poller of trigger table1 stopped" in stopped.message


def test_a_table_trigger_of_a_flow_starts_one_execution_per_batch_with_the_records(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("""\
        app: piped
        resources:
          Orders: {type: table, key: {id: S}}
        flows:
          Count:
            StartAt: Count
            States: {Count: {Type: Pass, Parameters: {"n.$": States.ArrayLength($)}, End: true}}
        triggers:
          - {table: Orders, start: Count, batch_size: 2, filter: {eventName: [INSERT]}}
        """))
    with AppRuntime(path) as rt:
        for key in "abc":
            _put(rt, key)
        _put(rt, "a", status="x")  # a MODIFY: filtered out
        assert rt.run_until_idle()
        runs = rt.executions("Count")
        assert sorted(r.output["n"] for r in runs) == [1, 2]
        assert all(r.status == "SUCCEEDED" for r in runs)
        batches = sorted([rec["dynamodb"]["Keys"]["id"]["S"] for rec in r.input] for r in runs)
        assert batches == [["a", "b"], ["c"]]

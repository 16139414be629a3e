"""SAM/CloudFormation templates as sources: a function's ``DynamoDB`` event (and an
``AWS::Lambda::EventSourceMapping`` on a table's stream) becomes a ``table`` trigger that
fires locally, and an SQS event's ``FilterCriteria`` is applied instead of warned about."""

from __future__ import annotations

import textwrap
from pathlib import Path

import boto3

from flowengine.dsl.app import load
from flowengine.runtime.app import AppRuntime
from flowengine.validate import validate_app

HEADER = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
"""


def _template(tmp_path: Path, resources: str, *, code: str = "def handler(event, context):\n    return None\n",
              module: str = "app") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / f"{module}.py").write_text(code)
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(resources), "  "))
    return path


def _diagnostics(path: Path) -> list[tuple[str, str, str]]:
    loaded = load(str(path))
    return [(d.code, d.severity, d.message) for d in validate_app(loaded)]


WATCH = """\
Watch:
  Type: AWS::Serverless::Function
  Properties:
    Runtime: python3.12
    Handler: app.handler
    CodeUri: src/
    Events:
      Changes:
        Type: DynamoDB
        Properties:
          Stream: !GetAtt Orders.StreamArn
          StartingPosition: TRIM_HORIZON
          BatchSize: 5
          MaximumBatchingWindowInSeconds: 2
          FunctionResponseTypes: [ReportBatchItemFailures]
          MaximumRetryAttempts: 3
          FilterCriteria:
            Filters:
              - Pattern: '{"eventName": ["INSERT"]}'
"""


def test_a_dynamodb_event_becomes_a_table_trigger_with_its_settings(tmp_path: Path) -> None:
    path = _template(tmp_path, WATCH)
    loaded = load(str(path))
    assert loaded.app.resources["Orders"].properties["stream"] == "NEW_IMAGE"
    [t] = loaded.app.triggers
    assert (t.source, t.resource, t.target, t.target_kind) == ("table", "Orders", "Watch", "function")
    assert t.options == {"batch_size": 5, "batching_window": 2, "starting_position": "TRIM_HORIZON",
                         "filter": [{"eventName": ["INSERT"]}], "report_batch_item_failures": True,
                         "maximum_retry_attempts": 3}
    assert [d for d in _diagnostics(path) if d[0] == "FE909"] == []


def test_a_stream_of_a_table_outside_the_template_stays_fe909(tmp_path: Path) -> None:
    elsewhere = "arn:aws:dynamodb:us-east-1:123456789012:table/Elsewhere/stream/2024-01-01T00:00:00.000"
    path = _template(tmp_path, WATCH.replace("!GetAtt Orders.StreamArn", elsewhere))
    assert load(str(path)).app.triggers == ()
    assert any(c == "FE909" and "table outside the template" in m for c, _, m in _diagnostics(path))


def test_stream_settings_the_runtime_does_not_apply_are_warned_about(tmp_path: Path) -> None:
    path = _template(tmp_path, WATCH.replace("          BatchSize: 5\n",
                                             "          BatchSize: 5\n          BisectBatchOnFunctionError: true\n"))
    assert any(c == "FE909" and s == "warning" and "BisectBatchOnFunctionError" in m for c, s, m in _diagnostics(path))


def test_an_event_source_mapping_on_a_table_stream_becomes_a_table_trigger(tmp_path: Path) -> None:
    path = _template(tmp_path, """\
        Watch:
          Type: AWS::Serverless::Function
          Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: src/}
        WatchMapping:
          Type: AWS::Lambda::EventSourceMapping
          Properties:
            EventSourceArn: !GetAtt Orders.StreamArn
            FunctionName: !Ref Watch
            StartingPosition: LATEST
        """)
    [t] = load(str(path)).app.triggers
    assert (t.source, t.resource, t.target, t.name) == ("table", "Orders", "Watch", "WatchMapping")
    assert t.options == {"starting_position": "LATEST"}


def test_sqs_filter_criteria_becomes_the_triggers_filter_and_a_bad_pattern_is_fe624(tmp_path: Path) -> None:
    queue = """\
        Jobs: {Type: AWS::SQS::Queue}
        Take:
          Type: AWS::Serverless::Function
          Properties:
            Runtime: python3.12
            Handler: app.handler
            CodeUri: src/
            Events:
              Work:
                Type: SQS
                Properties:
                  Queue: !GetAtt Jobs.Arn
                  FilterCriteria: {Filters: [{Pattern: '{"body": {"kind": ["order"]}}'}]}
        """
    path = _template(tmp_path, queue)
    [t] = load(str(path)).app.triggers
    assert t.options["filter"] == [{"body": {"kind": ["order"]}}]
    assert [d for d in _diagnostics(path) if d[0] in ("FE909", "FE624")] == []

    bad = _template(tmp_path, queue.replace('["order"]', '"order"'))
    assert any(c == "FE624" and "FilterCriteria" in m for c, _, m in _diagnostics(bad))
    broken = _template(tmp_path, queue.replace('{"body": {"kind": ["order"]}}', '{"body": '))
    assert any(c == "FE624" and "not JSON" in m for c, _, m in _diagnostics(broken))


HANDLERS = """\
import os
import boto3


def write(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["ORDERS"])
    table.put_item(Item={"id": event["id"], "status": "new"})
    table.update_item(Key={"id": event["id"]}, UpdateExpression="SET #s = :s",
                      ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": "paid"})
    return "ok"


def watch(event, context):
    audit = boto3.resource("dynamodb").Table(os.environ["AUDIT"])
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        audit.put_item(Item={"id": record["dynamodb"]["SequenceNumber"], "what": record["eventName"],
                             "order": image["id"]["S"], "status": image["status"]["S"],
                             "source": record["eventSourceARN"]})
"""


def test_end_to_end_a_handler_writes_an_item_and_the_stream_function_sees_it(tmp_path: Path) -> None:
    env = "Environment: {Variables: {ORDERS: !Ref Orders, AUDIT: !Ref Audit}}"
    path = _template(tmp_path, f"""\
        Audit:
          Type: AWS::DynamoDB::Table
          Properties:
            BillingMode: PAY_PER_REQUEST
            AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
            KeySchema: [{{AttributeName: id, KeyType: HASH}}]
        Writer:
          Type: AWS::Serverless::Function
          Properties: {{Runtime: python3.12, Handler: stream_e2e.write, CodeUri: src/, {env}}}
        Watch:
          Type: AWS::Serverless::Function
          Properties:
            Runtime: python3.12
            Handler: stream_e2e.watch
            CodeUri: src/
            {env}
            Events:
              Changes:
                Type: DynamoDB
                Properties: {{Stream: !GetAtt Orders.StreamArn, StartingPosition: LATEST}}
        """, code=HANDLERS, module="stream_e2e")
    with AppRuntime(str(path)) as rt:
        assert rt.invoke("Writer", {"id": "o-7"}) == "ok"
        assert rt.run_until_idle()
        items = boto3.resource("dynamodb").Table(rt.name("Audit")).scan()["Items"]
        rows = sorted((i["id"], i["what"], i["order"], i["status"]) for i in items)
        assert [r[1:] for r in rows] == [("INSERT", "o-7", "new"), ("MODIFY", "o-7", "paid")]
        assert {i["source"] for i in items} == {
            boto3.client("dynamodb").describe_table(TableName=rt.name("Orders"))["Table"]["LatestStreamArn"]}


# --- import ----------------------------------------------------------------------------------------


def test_import_of_a_compiled_app_with_stream_triggers_compiles_to_the_same_template(tmp_path: Path) -> None:
    from flowengine.compile import compile_app
    from flowengine.dsl.sam_import import import_template

    code = Path(__file__).resolve().parents[1] / "compile" / "apps" / "code"
    app = tmp_path / "app.yaml"
    app.write_text(textwrap.dedent(f"""\
        app: streams
        code: {code}
        functions:
          Watch: {{handler: sink.handlers.echo}}
          Take: {{handler: sink.handlers.echo}}
        resources:
          Orders: {{type: table, key: {{id: S}}, stream: keys_only}}
          Audit: {{type: table, key: {{id: S}}}}
          Jobs: {{type: queue}}
        flows:
          F: {{StartAt: P, States: {{P: {{Type: Pass, End: true}}}}}}
        triggers:
          - {{table: Orders, invoke: Watch, batch_size: 50, batching_window: 5s, starting_position: TRIM_HORIZON,
             filter: [{{eventName: [INSERT]}}, {{eventName: [REMOVE]}}], report_batch_item_failures: true,
             maximum_retry_attempts: 4}}
          - {{table: Audit, invoke: Watch}}
          - {{queue: Jobs, invoke: Take, filter: {{body: {{kind: [order]}}}}}}
          - {{queue: Jobs, start: F, batch_size: 3, filter: {{body: {{kind: [refund]}}}}}}
          - {{table: Audit, start: F, starting_position: TRIM_HORIZON, maximum_retry_attempts: 1,
             filter: {{eventName: [REMOVE]}}}}
        """))
    original = compile_app(load(str(app)))
    original.write(tmp_path / "build")
    result = import_template(tmp_path / "build" / "template.yaml", tmp_path / "again.yaml")
    assert result.warnings == [] and result.diagnostics == []
    (tmp_path / "again.yaml").write_text(result.text)
    imported = load(str(tmp_path / "again.yaml")).app
    assert imported.resources["Orders"].properties["stream"] == "keys_only"
    assert sorted((t.source, t.target_kind) for t in imported.triggers) == [
        ("queue", "flow"), ("queue", "function"), ("table", "flow"), ("table", "function"), ("table", "function")]
    again = compile_app(load(str(tmp_path / "again.yaml")))
    out = tmp_path / "out"
    assert again.to_yaml(out) == original.to_yaml(out)


def test_import_carries_dynamodb_events_mappings_and_filter_criteria_over(tmp_path: Path) -> None:
    from flowengine.dsl.sam_import import import_template

    path = _template(tmp_path, WATCH.replace("          BatchSize: 5\n",
                                             "          BatchSize: 5\n          ParallelizationFactor: 2\n") + """\
Jobs: {Type: AWS::SQS::Queue}
Mapping:
  Type: AWS::Lambda::EventSourceMapping
  Properties: {EventSourceArn: !GetAtt Orders.StreamArn, FunctionName: !Ref Watch, StartingPosition: LATEST}
QueueMapping:
  Type: AWS::Lambda::EventSourceMapping
  Properties:
    EventSourceArn: !GetAtt Jobs.Arn
    FunctionName: !Ref Watch
    FilterCriteria: {Filters: [{Pattern: '{"body": {"kind": ["order"]}}'}]}
""")
    result = import_template(path, tmp_path / "app.yaml")
    (tmp_path / "app.yaml").write_text(result.text)
    assert result.warnings == ["Watch: event Changes (DynamoDB): ParallelizationFactor not carried over"]
    loaded = load(str(tmp_path / "app.yaml"))
    triggers = {t.name: (t.source, t.resource, t.options) for t in loaded.app.triggers}
    assert triggers == {
        "Changes": ("table", "Orders", {"batch_size": 5, "batching_window": "2s", "starting_position": "TRIM_HORIZON",
                                        "report_batch_item_failures": True, "maximum_retry_attempts": 3,
                                        "filter": {"eventName": ["INSERT"]}}),
        "Mapping": ("table", "Orders", {}),
        "QueueMapping": ("queue", "Jobs", {"filter": {"body": {"kind": ["order"]}}}),
    }
    assert loaded.app.resources["Orders"].properties["stream"] == "new_image"
    assert [d for d in validate_app(loaded) if d.severity == "error"] == []

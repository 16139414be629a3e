"""Compile of stream triggers and trigger filters: a ``table`` trigger becomes a SAM
``DynamoDB`` event on the table's ``StreamArn``, the table gets its ``StreamSpecification``,
SAM's transform gives the function's role the stream-reading policy, and the template passes
the SAM transform and cfn-lint."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import CompiledApp, check_template, compile_app
from flowengine.compile.transform import sam_transform, with_code_uris
from flowengine.dsl.app import load

CODE = Path(__file__).resolve().parent / "apps" / "code"

APP = """\
app: streams
code: CODE
functions:
  Watch: {handler: sink.handlers.echo}
  Take: {handler: sink.handlers.echo}
  Run: {handler: sink.handlers.echo}
resources:
  Orders: {type: table, key: {id: S}, stream: new_image}
  Audit: {type: table, key: {id: S}}
  Quiet: {type: table, key: {id: S}}
  Jobs: {type: queue}
triggers:
  - table: Orders
    invoke: Watch
    batch_size: 50
    batching_window: 5s
    starting_position: TRIM_HORIZON
    filter: [{eventName: [INSERT]}, {dynamodb: {NewImage: {status: {S: [paid]}}}}]
    report_batch_item_failures: true
    maximum_retry_attempts: 4
  - {table: Audit, invoke: Run}
  - {queue: Jobs, invoke: Take, filter: {body: {kind: [order]}}}
"""


def _compile(tmp_path: Path, text: str = APP) -> CompiledApp:
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent(text).replace("CODE", str(CODE)), encoding="utf-8")
    return compile_app(load(str(path)))


def _events(compiled: CompiledApp, function: str) -> dict[str, Any]:
    return compiled.template["Resources"][function]["Properties"]["Events"]  # type: ignore[no-any-return]


def test_a_table_trigger_compiles_to_a_dynamodb_event_and_a_stream_specification(tmp_path: Path) -> None:
    compiled = _compile(tmp_path)
    res = compiled.template["Resources"]
    assert res["Orders"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    # a trigger implies the stream; a table nobody reads gets none
    assert res["Audit"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "StreamSpecification" not in res["Quiet"]["Properties"]
    [event] = _events(compiled, "Watch").values()
    assert event == {"Type": "DynamoDB", "Properties": {
        "Stream": {"Fn::GetAtt": ["Orders", "StreamArn"]}, "StartingPosition": "TRIM_HORIZON", "BatchSize": 50,
        "MaximumBatchingWindowInSeconds": 5, "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumRetryAttempts": 4,
        "FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'},
                                       {"Pattern": '{"dynamodb":{"NewImage":{"status":{"S":["paid"]}}}}'}]}}}
    [audit] = _events(compiled, "Run").values()
    assert audit["Properties"] == {"Stream": {"Fn::GetAtt": ["Audit", "StreamArn"]}, "StartingPosition": "LATEST"}
    [sqs] = _events(compiled, "Take").values()
    assert json.loads(sqs["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]) == {"body": {"kind": ["order"]}}


def test_the_compiled_template_passes_the_sam_transform_and_cfn_lint(tmp_path: Path) -> None:
    pytest.importorskip("cfnlint")
    compiled = _compile(tmp_path)
    assert check_template(compiled.template) == []
    cfn = sam_transform(with_code_uris(compiled.template), "us-east-1")
    mappings = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert {json.dumps(m["EventSourceArn"]) for m in mappings} >= {json.dumps({"Fn::GetAtt": ["Orders", "StreamArn"]})}
    # SAM gives the stream reader's role AWSLambdaDynamoDBExecutionRole (DescribeStream, GetRecords,
    # GetShardIterator, ListStreams): what DynamoDBStreamReadPolicy grants, and more
    role = cfn["Resources"]["WatchRole"]["Properties"]
    assert any("AWSLambdaDynamoDBExecutionRole" in json.dumps(a) for a in role["ManagedPolicyArns"])


def test_a_queue_filter_reaches_the_pipe_of_a_flow(tmp_path: Path) -> None:
    compiled = _compile(tmp_path, """\
        app: piped
        resources:
          Jobs: {type: queue}
        flows:
          F: {StartAt: P, States: {P: {Type: Pass, End: true}}}
        triggers:
          - {queue: Jobs, start: F, filter: {body: {kind: [order]}}}
        """)
    [pipe] = [r for r in compiled.template["Resources"].values() if r["Type"] == "AWS::Pipes::Pipe"]
    assert pipe["Properties"]["SourceParameters"] == {
        "FilterCriteria": {"Filters": [{"Pattern": '{"body":{"kind":["order"]}}'}]}}
    pytest.importorskip("cfnlint")
    assert check_template(compiled.template) == []


def test_a_table_trigger_of_a_flow_compiles_to_a_pipe_from_the_stream(tmp_path: Path) -> None:
    compiled = _compile(tmp_path, """\
        app: piped
        resources:
          Orders: {type: table, key: {id: S}}
        flows:
          F: {StartAt: P, States: {P: {Type: Pass, End: true}}}
        triggers:
          - {table: Orders, start: F, batch_size: 5, starting_position: TRIM_HORIZON, maximum_retry_attempts: 2,
             filter: {eventName: [INSERT]}}
        """)
    res = compiled.template["Resources"]
    [(name, pipe)] = [(k, r) for k, r in res.items() if r["Type"] == "AWS::Pipes::Pipe"]
    assert pipe["Properties"]["Source"] == {"Fn::GetAtt": ["Orders", "StreamArn"]}
    assert pipe["Properties"]["SourceParameters"] == {
        "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 5, "MaximumRetryAttempts": 2},
        "FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]}}
    role = res[f"{name}Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert role[0]["Action"] == ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                 "dynamodb:ListStreams"]
    assert res["Orders"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    pytest.importorskip("cfnlint")
    assert check_template(compiled.template) == []

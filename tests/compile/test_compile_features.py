"""What compile emits for each construct of an app file (docs/compile.md)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import CompiledApp, check_template, compile_app
from flowengine.dsl.app import load
from flowengine.errors import OutputExistsError, ValidationError

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CODE = HERE / "apps" / "code"


def compile_text(tmp_path: Path, text: str, name: str = "app.yaml") -> CompiledApp:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).replace("CODE", str(CODE)), encoding="utf-8")
    return compile_app(load(str(path)))


def resources(compiled: CompiledApp) -> dict[str, Any]:
    return compiled.template["Resources"]  # type: ignore[no-any-return]


def props(compiled: CompiledApp, name: str) -> dict[str, Any]:
    return resources(compiled)[name]["Properties"]  # type: ignore[no-any-return]


def refs_to(value: Any, name: str) -> list[Any]:
    """Every Ref/GetAtt to ``name`` inside ``value``."""
    found = []
    if isinstance(value, dict):
        if value.get("Ref") == name or (isinstance(value.get("Fn::GetAtt"), list) and value["Fn::GetAtt"][0] == name):
            found.append(value)
        for v in value.values():
            found += refs_to(v, name)
    elif isinstance(value, list):
        for v in value:
            found += refs_to(v, name)
    return found


@pytest.fixture(scope="module")
def sink() -> CompiledApp:
    return compile_app(load(str(HERE / "apps" / "kitchen-sink.yaml")))


# --- functions -------------------------------------------------------------------------------


def test_function_settings(sink: CompiledApp) -> None:
    p = props(sink, "Extract")
    assert (p["Handler"], p["Runtime"], p["Timeout"], p["MemorySize"]) == ("sink.handlers.echo", "python3.12", 30, 512)
    assert p["ReservedConcurrentExecutions"] == 2
    assert p["CodeUri"] == "code"
    assert sink.code_dirs["Extract"] == str(CODE)


def test_rollout_becomes_alias_and_deployment_preference(sink: CompiledApp) -> None:
    p = props(sink, "Extract")
    assert p["AutoPublishAlias"] == "live"
    assert p["DeploymentPreference"] == {
        "Type": "Canary10Percent5Minutes",
        "Alarms": [{"Ref": "ExtractErrorsAlarm"}, "ExistingTeamAlarm"],
        "Hooks": {"PreTraffic": {"Ref": "CheckExtract"}},
    }
    alarm = props(sink, "ExtractErrorsAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert props(sink, "Notify")["DeploymentPreference"] == {"Type": "Linear10PercentEvery1Minute"}


def test_traffic_hook_is_named_for_the_codedeploy_role(sink: CompiledApp) -> None:
    hook = props(sink, "CheckExtract")
    assert hook["FunctionName"] == {"Fn::Sub": "CodeDeployHook_${AWS::StackName}_CheckExtract"}
    assert {"LambdaInvokePolicy": {"FunctionName": {"Ref": "Extract"}}} in hook["Policies"]
    statements = [s for p in hook["Policies"] if "Statement" in p for s in p["Statement"]]
    assert statements[0]["Action"] == ["codedeploy:PutLifecycleEventHookExecutionStatus"]


@pytest.mark.parametrize(("rollout", "expected", "warned"), [
    ("all-at-once", "AllAtOnce", False),
    ("canary 10% every 10m", "Canary10Percent10Minutes", False),
    ("canary 10% every 7m", "Canary10Percent5Minutes", True),
    ("canary 10% every 1h", "Canary10Percent30Minutes", True),
    ("linear 10% every 3m", "Linear10PercentEvery3Minutes", False),
    ("linear 10% every 5m", "Linear10PercentEvery3Minutes", True),
    ("linear 10% every 7m", "Linear10PercentEvery10Minutes", True),
])
def test_rollout_maps_to_the_nearest_predefined_config(tmp_path: Path, rollout: str, expected: str,
                                                       warned: bool) -> None:
    compiled = compile_text(tmp_path, f"""
        app: r
        code: CODE
        functions:
          F: {{handler: sink.handlers.echo, rollout: {rollout}}}
    """)
    assert props(compiled, "F")["DeploymentPreference"]["Type"] == expected
    assert [w.code for w in compiled.warnings] == (["FE805"] if warned else [])


def test_reads_and_writes_become_least_privilege_templates(sink: CompiledApp) -> None:
    policies = props(sink, "Extract")["Policies"]
    assert [next(iter(p)) for p in policies] == ["S3ReadPolicy", "DynamoDBWritePolicy", "Version"]
    # writing a table: SAM's write template (PutItem, UpdateItem, BatchWriteItem) and deleting
    # an item, no read action (DynamoDBCrudPolicy granted Scan, Query, GetItem ... too)
    assert policies[1] == {"DynamoDBWritePolicy": {"TableName": {"Ref": "Items"}}}
    assert policies[2]["Statement"] == [{"Effect": "Allow", "Action": ["dynamodb:DeleteItem"],
                                         "Resource": {"Fn::GetAtt": ["Items", "Arn"]}}]
    consume = props(sink, "Consume")["Policies"]
    assert consume[0] == {"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": ["Alerts", "TopicName"]}}}
    # reading a queue: the exact SQS actions on the queue (SAM's SQSPollerPolicy names non-IAM batch actions)
    assert consume[1]["Statement"] == [{
        "Effect": "Allow",
        "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
        "Resource": {"Fn::GetAtt": ["Jobs", "Arn"]},
    }]


def test_environment_placeholders_resolve(sink: CompiledApp) -> None:
    env = props(sink, "Extract")["Environment"]["Variables"]
    assert env["ITEMS_TABLE"] == {"Ref": "Items"}
    assert env["JOBS_URL"] == {"Fn::Sub": ["queue=${Jobs}", {"Jobs": {"Ref": "Jobs"}}]}
    assert env["UPLOADS_BUCKET"] == props(sink, "Uploads")["BucketName"]


# --- no dependency cycles by construction --------------------------------------------------------


def test_buckets_are_named_and_only_s3_events_ref_them(sink: CompiledApp) -> None:
    name = props(sink, "Uploads")["BucketName"]
    assert name["Fn::Sub"][0] == "kitchen-sink-uploads-${StackSuffix}"
    outside = {k: v for k, v in resources(sink).items() if k != "Uploads"}
    found = refs_to(outside, "Uploads")
    # the S3 event must !Ref a bucket of the template (SAM's rule); nothing else references it
    assert found == [{"Ref": "Uploads"}]
    assert props(sink, "Extract")["Events"]["RawUpload"]["Properties"]["Bucket"] == {"Ref": "Uploads"}


def test_state_machines_are_named_and_referenced_by_constructed_arn(sink: CompiledApp) -> None:
    assert props(sink, "Enrich")["Name"] == {"Fn::Sub": "${AWS::StackName}-Enrich"}
    assert props(sink, "Process")["DefinitionSubstitutions"]["EnrichArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-Enrich"}


def test_a_function_triggered_by_and_reading_its_bucket_has_no_cycle(tmp_path: Path) -> None:
    """The trap of research/sam.md §1.3, reproduced by Serverless-by-Design: cfn-lint E3004."""
    compiled = compile_text(tmp_path, """
        app: cycle
        code: CODE
        functions:
          Resize: {handler: sink.handlers.echo, reads: [Images], writes: [Thumbs]}
        resources:
          Images: {type: bucket}
          Thumbs: {type: bucket}
        triggers:
          - {bucket: Images, invoke: Resize}
    """)
    assert check_template(compiled.template) == []


# --- flows --------------------------------------------------------------------------------------


def test_substitutions_cover_every_placeholder(sink: CompiledApp) -> None:
    from flowengine.dsl.app import substitution_names

    for flow in sink.app.flows.values():
        subs = props(sink, flow.name).get("DefinitionSubstitutions", {})
        assert sorted(subs) == substitution_names(flow.asl)


def test_function_refs_use_the_alias_when_a_rollout_is_declared(sink: CompiledApp) -> None:
    subs = props(sink, "Process")["DefinitionSubstitutions"]
    assert subs["ExtractArn"] == {"Ref": "Extract.Alias"}
    assert props(sink, "Enrich")["DefinitionSubstitutions"]["WorkerArn"] == {"Fn::GetAtt": ["Worker", "Arn"]}


def test_flow_type_logging_and_tracing(sink: CompiledApp) -> None:
    p = props(sink, "Process")
    assert p["Type"] == "STANDARD" and props(sink, "Enrich")["Type"] == "EXPRESS"
    assert p["Tracing"] == {"Enabled": True}
    assert p["Logging"]["Destinations"] == [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["ProcessLogs", "Arn"]}}}]
    assert resources(sink)["ProcessLogs"]["Type"] == "AWS::Logs::LogGroup"
    logging = p["Policies"][-1]["Statement"][0]
    assert logging["Resource"] == "*" and all(a.startswith("logs:") and "*" not in a for a in logging["Action"])


def test_bucket_starting_a_flow_goes_through_eventbridge(sink: CompiledApp) -> None:
    assert props(sink, "Uploads")["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    event = props(sink, "Process")["Events"]["NewCsv"]
    assert event["Type"] == "EventBridgeRule"
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [props(sink, "Uploads")["BucketName"]]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "incoming/*.csv"}]


@pytest.mark.parametrize(("prefix", "suffix", "expected"), [
    ("in/", None, {"prefix": "in/"}),
    (None, ".csv", {"suffix": ".csv"}),
    ("a*b/", ".x", {"wildcard": "a\\*b/*.x"}),
])
def test_object_key_filters(tmp_path: Path, prefix: str | None, suffix: str | None, expected: Any) -> None:
    options = "".join(f", {k}: '{v}'" for k, v in (("prefix", prefix), ("suffix", suffix)) if v)
    compiled = compile_text(tmp_path, f"""
        app: keys
        code: CODE
        resources:
          B: {{type: bucket}}
        flows:
          F: {{StartAt: P, States: {{P: {{Type: Pass, End: true}}}}}}
        triggers:
          - {{bucket: B{options}, start: F}}
    """)
    (event,) = props(compiled, "F")["Events"].values()
    assert event["Properties"]["Pattern"]["detail"]["object"]["key"] == [expected]


def test_function_triggers(sink: CompiledApp) -> None:
    consume = props(sink, "Consume")["Events"]
    assert consume["Work"] == {"Type": "SQS", "Properties": {
        "Queue": {"Fn::GetAtt": ["Jobs", "Arn"]}, "BatchSize": 20, "MaximumBatchingWindowInSeconds": 5,
        "FunctionResponseTypes": ["ReportBatchItemFailures"]}}
    notify = props(sink, "Notify")["Events"]
    assert notify["Errors"] == {"Type": "SNS", "Properties": {"Topic": {"Ref": "Alerts"}, "FilterPolicy": {"level": ["error"]}}}
    assert notify["Orders"]["Properties"] == {"Pattern": {"source": ["orders"]}, "EventBusName": {"Ref": "Bus"}}
    worker = props(sink, "Worker")["Events"]
    assert worker["Hourly"] == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}}
    assert worker["Once"] == {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "at(2030-01-01T00:00:00)",
                                                                    "OmitName": True}}
    assert worker["Ping"] == {"Type": "Api", "Properties": {"Path": "/ping", "Method": "get"}}
    s3 = props(sink, "Extract")["Events"]["RawUpload"]["Properties"]
    assert s3["Events"] == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    assert s3["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "raw/"}]}}


def test_flow_triggers(sink: CompiledApp) -> None:
    process = props(sink, "Process")["Events"]
    assert process["Daily"] == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)",
                                                                  "Input": '{"source":"schedule"}'}}
    assert process["StartApi"] == {"Type": "Api", "Properties": {"Path": "/orders", "Method": "post"}}
    enrich = props(sink, "Enrich")["Events"]
    assert enrich["Morning"]["Properties"] == {"ScheduleExpression": "cron(0 8 * * ? *)",
                                               "ScheduleExpressionTimezone": "Europe/Paris", "OmitName": True}
    assert enrich["Default"] == {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["aws.ec2"]}}}
    pipe = props(sink, "ProcessInboxStartPipe")
    assert pipe["Source"] == {"Fn::GetAtt": ["Inbox", "Arn"]} and pipe["Target"] == {"Ref": "Process"}
    assert pipe["SourceParameters"] == {"SqsQueueParameters": {"BatchSize": 5}}
    assert sink.template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://${ServerlessRestApi}")


# --- resources --------------------------------------------------------------------------------------


def test_resources(sink: CompiledApp) -> None:
    assert props(sink, "Items") == {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                 {"AttributeName": "version", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "version", "KeyType": "RANGE"}],
    }
    assert props(sink, "Jobs")["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDLQ", "Arn"]},
                                                    "maxReceiveCount": 3}
    assert props(sink, "Ordered")["FifoQueue"] is True
    assert props(sink, "Bus") == {"Name": {"Fn::Sub": "${AWS::StackName}-Bus"}}
    assert resources(sink)["Alerts"] == {"Type": "AWS::SNS::Topic"}


def test_queue_visibility_timeout_follows_its_consumer(sink: CompiledApp, tmp_path: Path) -> None:
    assert props(sink, "Jobs")["VisibilityTimeout"] == 360  # six times Consume's 60 s, AWS's guidance
    assert props(sink, "Inbox")["VisibilityTimeout"] == 120  # as written: a Pipe, not a Lambda, consumes it
    compiled = compile_text(tmp_path, """
        app: vt
        code: CODE
        functions:
          Slow: {handler: sink.handlers.echo, timeout: 2m}
        resources:
          Q: {type: queue, visibility_timeout: 30s}
        triggers:
          - {queue: Q, invoke: Slow}
    """)
    assert props(compiled, "Q")["VisibilityTimeout"] == 120
    (warning,) = compiled.warnings
    assert warning.code == "FE813" and warning.span.line == 7 and "compiled as 120s" in warning.message


# --- errors ---------------------------------------------------------------------------------------


def test_an_invalid_app_raises_with_every_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        compile_text(tmp_path, """
            app: bad
            code: CODE
            functions:
              F: {handler: sink.handlers.echo, rollout: canary 25% every 5m}
            resources:
              T: {type: topic}
            flows:
              G: {StartAt: P, States: {P: {Type: Pass, End: true}}}
            triggers:
              - {topic: T, start: G}
        """)
    codes = sorted(d.code for d in caught.value.diagnostics)
    assert codes == ["FE804", "FE809"]
    assert "app.yaml:5:" in str(caught.value)


def test_plain_asl_compiles(tmp_path: Path) -> None:
    path = tmp_path / "hello.asl.json"
    path.write_text(json.dumps({"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello", "End": True}}}))
    compiled = compile_app(load(str(path)))
    assert props(compiled, "hello")["Policies"][0]["Statement"] == [{
        "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello"}]
    assert check_template(compiled.template) == []


# --- writing --------------------------------------------------------------------------------------


def test_write_layout_and_code_uri_relative_to_the_output(sink: CompiledApp, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "build"
    written = sink.write(out)
    assert sorted(str(p.relative_to(out)) for p in written) == [
        "statemachines/Enrich.asl.json", "statemachines/Process.asl.json", "template.yaml"]
    text = (out / "template.yaml").read_text()
    assert text.startswith("# Generated by flowengine from ")
    from samtranslator.yaml_helper import yaml_parse
    code_uri = yaml_parse(text)["Resources"]["Extract"]["Properties"]["CodeUri"]
    assert (out / code_uri).resolve() == CODE.resolve()


def test_write_refuses_files_it_did_not_write(sink: CompiledApp, tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("# mine\n")
    with pytest.raises(OutputExistsError) as caught:
        sink.write(tmp_path)
    assert caught.value.paths == [str(tmp_path / "template.yaml")]
    assert (tmp_path / "template.yaml").read_text() == "# mine\n"
    sink.write(tmp_path, force=True)
    assert (tmp_path / "template.yaml").read_text().startswith("# Generated by flowengine")


def test_write_overwrites_its_own_output_but_not_edits(sink: CompiledApp, tmp_path: Path) -> None:
    sink.write(tmp_path)
    sink.write(tmp_path)  # its own, unedited: fine
    asl = tmp_path / "statemachines" / "Process.asl.json"
    asl.write_text(asl.read_text().replace('"Extract"', '"Edited"'))
    with pytest.raises(OutputExistsError):
        sink.write(tmp_path)


def test_write_removes_output_of_flows_that_are_gone(tmp_path: Path) -> None:
    app = """
        app: gone
        flows:
          A: {StartAt: P, States: {P: {Type: Pass, End: true}}}
          B: {StartAt: P, States: {P: {Type: Pass, End: true}}}
    """
    out = tmp_path / "out"
    compile_text(tmp_path, app).write(out)
    assert (out / "statemachines" / "B.asl.json").exists()
    compile_text(tmp_path, app.replace("          B: {StartAt: P, States: {P: {Type: Pass, End: true}}}\n", "")).write(out)
    assert not (out / "statemachines" / "B.asl.json").exists()
    assert (out / "statemachines" / "A.asl.json").exists()

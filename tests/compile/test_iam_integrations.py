"""State machine permissions for the integrations real SAM projects use (issue 13): the AWS
SDK calls that name no app resource, API Gateway, ECS, Batch, Bedrock, MediaConvert and the
Distributed Map.  Every compiled template must pass ``check_template`` (the SAM transform and
cfn-lint, which knows IAM's action names), and no action may be ``*``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load
from flowengine.errors import ValidationError
from flowengine.model.diagnostics import Diagnostic

CODE = Path(__file__).resolve().parent / "apps" / "code"
REGION_ACCOUNT = "${AWS::Region}:${AWS::AccountId}"

APP = """
app: iam
code: CODE
functions:
  Fn: {handler: sink.handlers.echo}
resources:
  Table: {type: table, key: {id: S}}
  Files: {type: bucket}
flows:
  Main:
"""


def compiled(tmp_path: Path, states: dict[str, Any], **flow: Any) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Compile a flow whose States are ``states`` (chained in order): its inline statements and
    the compile warnings.  The template must pass the SAM transform and cfn-lint."""
    names = list(states)
    for i, name in enumerate(names):
        states[name].setdefault("End", True) if i == len(names) - 1 else states[name].setdefault("Next", names[i + 1])
    definition = {"type": "standard", **flow, "StartAt": names[0], "States": states}
    text = APP.replace("CODE", str(CODE)) + textwrap.indent(json.dumps(definition), "    ") + "\n"
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    result = compile_app(load(str(path)))
    assert check_template(result.template) == []
    policies = result.template["Resources"]["Main"]["Properties"]["Policies"]
    statements = [s for p in policies if "Statement" in p for s in p["Statement"]]
    for s in statements:
        assert all(a != "*" and not a.endswith(":*") for a in s["Action"]), s
    return statements, result.warnings


def task(resource: str, **parameters: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **({"Parameters": parameters} if parameters else {})}


def arn(service: str, resource: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:{REGION_ACCOUNT}:{resource}"}


def grants(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """action → the resources it is granted on."""
    out: dict[str, list[Any]] = {}
    for s in statements:
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        for action in s["Action"]:
            out.setdefault(action, []).extend(resources)
    return out


def broad(warnings: list[Diagnostic]) -> list[tuple[str | None, str]]:
    return [(d.state_path, d.message) for d in warnings if d.code == "FE816"]


# --- integration ARN forms -------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["arn:aws:states:::aws-sdk:s3:getObject",
                                      "arn:aws:states:eu-west-1:123456789012:aws-sdk:s3:getObject"])
def test_region_and_account_qualified_integration_arns_are_the_same_integration(tmp_path: Path, resource: str) -> None:
    statements, warnings = compiled(tmp_path, {"Get": task(resource, Bucket="${Files}", Key="k")})
    assert [s["Action"] for s in statements] == [["s3:GetObject"]]
    assert statements[0]["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${BucketName}/*"
    assert broad(warnings) == []


# --- AWS SDK calls that name no app resource -----------------------------------------------------


def test_sdk_call_without_a_resource_gets_its_action_on_star_and_a_warning(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {
        "Translate": task("arn:aws:states:::aws-sdk:translate:translateText", SourceLanguageCode="auto",
                          TargetLanguageCode="es", **{"Text.$": "$.text"}),
        "Describe": task("arn:aws:states:::aws-sdk:ec2:describeInstances", **{"InstanceIds.$": "$.ids"}),
    })
    assert grants(statements) == {"translate:TranslateText": ["*"], "ec2:DescribeInstances": ["*"]}
    found = broad(warnings)
    assert [path for path, _ in found] == ["Translate", "Describe"]
    assert "translate:TranslateText" in found[0][1] and "'*'" in found[0][1]
    assert all(d.hint and "${Name}" in d.hint for d in warnings if d.code == "FE816")


def test_sdk_call_on_a_literal_table_name_outside_the_app(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {
        "Scan": task("arn:aws:states:::aws-sdk:dynamodb:scan", TableName="legacy-orders", Limit=50),
        "Query": task("arn:aws:states:::aws-sdk:dynamodb:query", TableName="legacy-orders", IndexName="byDate",
                      KeyConditionExpression="d = :d"),
    })
    assert grants(statements) == {
        "dynamodb:Scan": [arn("dynamodb", "table/legacy-orders")],
        "dynamodb:Query": [arn("dynamodb", "table/legacy-orders"), arn("dynamodb", "table/legacy-orders/index/*")],
    }
    assert broad(warnings) == []


def test_sdk_s3_calls_on_literal_and_computed_buckets(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {
        "Literal": task("arn:aws:states:::aws-sdk:s3:getObject", Bucket="shared-data", Key="config/app.json"),
        "Listed": task("arn:aws:states:::aws-sdk:s3:listObjectsV2", Bucket="shared-data"),
        "Computed": task("arn:aws:states:::aws-sdk:s3:getObjectAttributes", ObjectAttributes=["ObjectSize"],
                         **{"Bucket.$": "$.bucket", "Key.$": "$.key"}),
    })
    assert grants(statements) == {
        "s3:GetObject": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::shared-data/config/app.json"}, "*"],
        "s3:ListBucket": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::shared-data"}],
        "s3:GetObjectAttributes": ["*"],
    }
    assert [path for path, _ in broad(warnings)] == ["Computed"]


def test_a_placeholder_that_is_data_of_the_call_is_not_its_resource(tmp_path: Path) -> None:
    # the Transcribe job writes to the bucket: the bucket is not what StartTranscriptionJob acts on
    statements, warnings = compiled(tmp_path, {"Transcribe": task(
        "arn:aws:states:::aws-sdk:transcribe:startTranscriptionJob", OutputBucketName="${Files}",
        LanguageCode="en-US", Media={"MediaFileUri.$": "$.uri"}, **{"TranscriptionJobName.$": "$$.Execution.Name"})})
    assert grants(statements) == {"transcribe:StartTranscriptionJob": ["*"]}
    assert [path for path, _ in broad(warnings)] == ["Transcribe"]


def test_listing_the_executions_of_the_flow_itself(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {"List": task(
        "arn:aws:states:::aws-sdk:sfn:listExecutions", StatusFilter="SUCCEEDED",
        **{"StateMachineArn.$": "$$.StateMachine.Id"})})
    assert grants(statements) == {"states:ListExecutions": [arn("states", "stateMachine:${AWS::StackName}-Main")]}
    assert broad(warnings) == []


# --- optimized integrations ------------------------------------------------------------------


def test_api_gateway_invoke_on_the_method_arn(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {
        "Rest": task("arn:aws:states:::apigateway:invoke", ApiEndpoint="a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                     Method="POST", Stage="prod", Path="/orders/new", RequestBody={"x": 1}, AuthType="IAM_ROLE"),
        "NoStage": task("arn:aws:states:::apigateway:invoke.waitForTaskToken",
                        ApiEndpoint="f6g7h8i9j0.execute-api.us-east-1.amazonaws.com", Method="POST",
                        Path="/dev/checkout", RequestBody={"token.$": "$$.Task.Token"}),
    })
    assert grants(statements) == {"execute-api:Invoke": [
        {"Fn::Sub": "arn:${AWS::Partition}:execute-api:eu-west-1:${AWS::AccountId}:a1b2c3d4e5/prod/POST/orders/new"},
        # without Stage the stage may lead the Path: any stage, any path of that method
        {"Fn::Sub": "arn:${AWS::Partition}:execute-api:us-east-1:${AWS::AccountId}:f6g7h8i9j0/*/POST/*"}]}
    assert broad(warnings) == []


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_api_gateway_posting_to_websocket_connections(tmp_path: Path, language: str) -> None:
    params = {"ApiEndpoint": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "api",
              "AuthType": "IAM_ROLE", "RequestBody": {"m": "hi"}}
    if language == "JSONPath":
        state = task("arn:aws:states:::apigateway:invoke", **params,
                     **{"Path.$": "States.Format('/@connections/{}', $.id)"})
    else:
        state = {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::apigateway:invoke",
                 "Arguments": {**params, "Path": "{% '/@connections/' & $states.input.id %}"}}
    statements, _ = compiled(tmp_path, {"Send": state})
    resource = {"Fn::Sub": "arn:${AWS::Partition}:execute-api:us-east-1:${AWS::AccountId}:a1b2c3d4e5/api/POST/*"}
    assert grants(statements) == {"execute-api:Invoke": [resource], "execute-api:ManageConnections": [resource]}


def test_api_gateway_on_a_custom_domain_is_granted_on_star_with_a_warning(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {"Call": task(
        "arn:aws:states:::apigateway:invoke", ApiEndpoint="api.example.com", Method="GET", Stage="prod")})
    assert grants(statements) == {"execute-api:Invoke": ["*"]}
    assert [path for path, _ in broad(warnings)] == ["Call"]


@pytest.mark.parametrize("definition, expected", [
    ("worker", "task-definition/worker:*"),
    ("worker:7", "task-definition/worker:7"),
])
def test_ecs_run_task_sync(tmp_path: Path, definition: str, expected: str) -> None:
    statements, warnings = compiled(tmp_path, {"Run": task(
        "arn:aws:states:::ecs:runTask.sync", LaunchType="FARGATE", Cluster="jobs", TaskDefinition=definition,
        Overrides={"TaskRoleArn": "arn:aws:iam::123456789012:role/worker-task"})})
    assert grants(statements) == {
        "ecs:RunTask": [arn("ecs", expected)],
        "ecs:DescribeTasks": ["*"], "ecs:StopTask": ["*"],
        "events:DescribeRule": [arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")],
        "events:PutRule": [arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")],
        "events:PutTargets": [arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")],
        "iam:PassRole": ["arn:aws:iam::123456789012:role/worker-task"],
    }
    # the task definition's own roles cannot be seen: said, not silently left out
    assert any("iam:PassRole" in message for _, message in broad(warnings))


def test_batch_submit_job_sync_as_aws_documents_it(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {"Submit": task(
        "arn:aws:states:::batch:submitJob.sync", JobName="j", JobQueue="queue", JobDefinition="def")})
    rule = arn("events", "rule/StepFunctionsGetEventsForBatchJobsRule")
    assert grants(statements) == {"batch:DescribeJobs": ["*"], "batch:SubmitJob": ["*"], "batch:TerminateJob": ["*"],
                                  "events:DescribeRule": [rule], "events:PutRule": [rule], "events:PutTargets": [rule]}
    assert broad(warnings) == []


def test_bedrock_invoke_model(tmp_path: Path) -> None:
    profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    statements, warnings = compiled(tmp_path, {
        "Model": task("arn:aws:states:::bedrock:invokeModel", ModelId="cohere.command-text-v14",
                      Body={"prompt.$": "$.prompt"}),
        "Profile": task("arn:aws:states:::bedrock:invokeModel", ModelId=profile, Body={"prompt.$": "$.prompt"}),
        "Computed": task("arn:aws:states:::bedrock:invokeModel", Body={"p": 1}, **{"ModelId.$": "$.model"}),
    })
    assert grants(statements) == {"bedrock:InvokeModel": [
        {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/cohere.command-text-v14"},
        profile,
        {"Fn::Sub": "arn:${AWS::Partition}:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"},
        "*"]}
    assert [path for path, _ in broad(warnings)] == ["Computed"]


def test_mediaconvert_create_job_sync_passes_its_role(tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/MediaConvertRole"
    statements, warnings = compiled(tmp_path, {"Convert": task(
        "arn:aws:states:::mediaconvert:createJob.sync", Role=role, Settings={"OutputGroups": []})})
    rule = arn("events", "rule/StepFunctionsGetEventsForMediaConvertJobRule")
    assert grants(statements) == {
        "mediaconvert:CancelJob": ["*"], "mediaconvert:CreateJob": ["*"], "mediaconvert:GetJob": ["*"],
        "events:DescribeRule": [rule], "events:PutRule": [rule], "events:PutTargets": [rule],
        "iam:PassRole": [role]}
    assert broad(warnings) == []


def test_athena_query_as_aws_documents_it(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {
        "Query": task("arn:aws:states:::athena:startQueryExecution.sync", QueryString="SELECT 1", WorkGroup="reports",
                      ResultConfiguration={"OutputLocation": "s3://results/"}),
        "Results": task("arn:aws:states:::athena:getQueryResults", **{"QueryExecutionId.$": "$.id"}),
    })
    got = grants(statements)
    assert got["athena:StartQueryExecution"] == [arn("athena", "workgroup/reports"), arn("athena", "datacatalog/*")]
    assert got["athena:StopQueryExecution"] == got["athena:StartQueryExecution"]
    assert got["athena:GetQueryResults"] == [arn("athena", "workgroup/*")]
    assert got["glue:GetTable"] == [arn("glue", "catalog"), arn("glue", "database/*"), arn("glue", "table/*"),
                                    arn("glue", "userDefinedFunction/*")]
    assert got["s3:PutObject"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}]
    assert got["lakeformation:GetDataAccess"] == ["*"]
    assert broad(warnings) == []


def test_glue_and_codebuild_jobs(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {
        "Etl": task("arn:aws:states:::glue:startJobRun.sync", JobName="nightly-etl"),
        "Build": task("arn:aws:states:::codebuild:startBuild.sync", ProjectName="site"),
        "Other": task("arn:aws:states:::glue:startJobRun", **{"JobName.$": "$.job"}),
    })
    rule = arn("events", "rule/StepFunctionsGetEventsForCodeBuildStartBuildRule")
    assert grants(statements) == {
        "glue:StartJobRun": [arn("glue", "job/nightly-etl"), "*"],
        "glue:BatchStopJobRun": [arn("glue", "job/nightly-etl")], "glue:GetJobRun": [arn("glue", "job/nightly-etl")],
        "glue:GetJobRuns": [arn("glue", "job/nightly-etl")],
        "codebuild:StartBuild": [arn("codebuild", "project/site")],
        "codebuild:BatchGetBuilds": [arn("codebuild", "project/site")],
        "codebuild:StopBuild": [arn("codebuild", "project/site")],
        "events:DescribeRule": [rule], "events:PutRule": [rule], "events:PutTargets": [rule],
    }
    assert [path for path, _ in broad(warnings)] == ["Other"]


def test_sagemaker_training_passes_its_role_only_to_sagemaker(tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/SageMakerRole"
    statements, _ = compiled(tmp_path, {"Train": task(
        "arn:aws:states:::sagemaker:createTrainingJob.sync", RoleArn=role,
        AlgorithmSpecification={"TrainingImage": "x", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://out/models"}, StoppingCondition={"MaxRuntimeInSeconds": 60},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
        **{"TrainingJobName.$": "$$.Execution.Name"})})
    assert {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}} in statements
    got = grants(statements)
    assert got["sagemaker:CreateTrainingJob"] == [arn("sagemaker", "training-job/*")]
    assert got["sagemaker:StopTrainingJob"] == [arn("sagemaker", "training-job/*")]
    assert got["sagemaker:ListTags"] == ["*"]
    assert got["events:PutRule"] == [arn("events", "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule")]


def test_sagemaker_with_a_computed_role_stops_compile(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        compiled(tmp_path, {"Model": task("arn:aws:states:::sagemaker:createModel", ModelName="m",
                                          PrimaryContainer={"Image": "x"}, **{"ExecutionRoleArn.$": "$.role"})})
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["FE807"]


def test_http_invoke(tmp_path: Path) -> None:
    connection = "arn:aws:events:us-east-1:123456789012:connection/stripe/0d5c6f1e-1111-2222-3333-444455556666"
    statements, warnings = compiled(tmp_path, {"Call": task(
        "arn:aws:states:::http:invoke", ApiEndpoint="https://api.stripe.com/v1/charges", Method="POST",
        Authentication={"ConnectionArn": connection})})
    assert grants(statements) == {
        "states:InvokeHTTPEndpoint": [arn("states", "stateMachine:${AWS::StackName}-Main")],
        "events:RetrieveConnectionCredentials": [connection],
        "secretsmanager:DescribeSecret": [{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:*:secret:events!connection/*"}],
        "secretsmanager:GetSecretValue": [{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:*:secret:events!connection/*"}],
    }
    assert broad(warnings) == []


def test_unknown_integrations_still_stop_compile(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        compiled(tmp_path, {"Emr": task("arn:aws:states:::elasticmapreduce:addStep.sync", ClusterId="j-1",
                                        Step={"Name": "s"})})
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["FE807"]
    assert "elasticmapreduce" in caught.value.diagnostics[0].message


# --- Distributed Map ---------------------------------------------------------------------------


def _map(**fields: Any) -> dict[str, Any]:
    return {"Type": "Map", **fields, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Work", "States": {"Work": {"Type": "Task", "Function": "Fn", "End": True}}}}


def test_distributed_map_starts_its_own_state_machine(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {"Each": _map(ItemsPath="$.items")})
    assert grants(statements) == {
        "states:StartExecution": [arn("states", "stateMachine:${AWS::StackName}-Main")],
        "states:DescribeExecution": [arn("states", "execution:${AWS::StackName}-Main/*")],
        "states:StopExecution": [arn("states", "execution:${AWS::StackName}-Main/*")],
    }
    assert broad(warnings) == []


def test_distributed_map_reads_and_writes_its_bucket(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {"Each": _map(
        ItemReader={"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                    "Parameters": {"Bucket": "${Files}", "Key": "in/metrics.csv"}},
        ResultWriter={"Resource": "arn:aws:states:::s3:putObject",
                      "Parameters": {"Bucket": "results-archive", "Prefix": "runs"}})})
    got = grants(statements)
    reader = got["s3:GetObject"][0]
    assert reader["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${BucketName}/in/metrics.csv"
    writer = {"Fn::Sub": "arn:${AWS::Partition}:s3:::results-archive/runs/*"}
    for action in ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"):
        assert got[action] == [writer]
    assert got["s3:GetObject"][1:] == [writer]
    assert broad(warnings) == []


def test_distributed_map_listing_a_computed_bucket(tmp_path: Path) -> None:
    statements, warnings = compiled(tmp_path, {"Each": _map(ItemReader={
        "Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"}})})
    assert grants(statements)["s3:ListBucket"] == ["*"]
    assert [path for path, _ in broad(warnings)] == ["Each"]

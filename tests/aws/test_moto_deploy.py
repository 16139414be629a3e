"""Deploy a shipped example into a moto server on 127.0.0.1 and run its flow remotely.

What this proves: the compiled template transforms and its CloudFormation graph resolves
in a second engine (Refs, GetAtts, Subs, dependency order); functions are created from the
zipped code with their concurrency caps; the schedule rule, table and topic exist; the
DefinitionSubstitutions resolve to real ARNs; and the definition runs with real Step
Functions semantics (Choice, Map, an SNS integration) through ``run_remote``, which returns
the same ExecutionResult as local runs.  What moto cannot show is listed in docs/compile.md
(no Lambda aliases, CodeDeploy, Scheduler, Pipes; function code is not executed: moto
echoes the payload or returns queued results).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowengine.dsl.app import load

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
STACK = "nightly-test"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            # moto's Step Functions engine calls Lambda, SNS ... back through this port
            mp.setenv("MOTO_PORT", str(port))
            url = f"http://{host}:{port}"
            _post(url, "/moto-api/config", {"lambda": {"use_docker": False},
                                             "stepfunctions": {"execute_state_machine": True}})
            yield url
        finally:
            server.stop()


def _post(url: str, path: str, body: dict) -> None:
    request = urllib.request.Request(url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture(scope="module")
def deployed(moto_url: str) -> dict:
    from flowengine.aws import deploy

    lines: list[str] = []
    loaded = load(str(REPO / "definitions" / "nightly-cleanup.yaml"))
    result = deploy(loaded, STACK, endpoint_url=moto_url, moto_compat=True, poll_seconds=0.1, progress=lines.append)
    return {"loaded": loaded, "result": result, "lines": lines}


def _client(moto_url: str, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, endpoint_url=moto_url, region_name=REGION)


def test_deploy_creates_the_stack(deployed: dict, moto_url: str) -> None:
    result = deployed["result"]
    assert result.status == "CREATE_COMPLETE"
    assert result.state_machines == {
        "NightlyCleanup": f"arn:aws:states:{REGION}:123456789012:stateMachine:{STACK}-NightlyCleanup"}
    assert any(line.startswith("uploaded ") for line in deployed["lines"])
    assert any("AWS::StepFunctions::StateMachine" in line and "NightlyCleanup" in line for line in deployed["lines"])
    resources = {r["LogicalResourceId"]: r for r in
                 _client(moto_url, "cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
    assert {"Sessions", "CleanupReports", "ListExpired", "DeleteSession", "NightlyCleanup",
            "NightlyCleanupNightly"} <= set(resources)
    lam = _client(moto_url, "lambda")
    delete_fn = result.functions["DeleteSession"]
    assert lam.get_function_concurrency(FunctionName=delete_fn)["ReservedConcurrentExecutions"] == 10
    assert lam.get_function(FunctionName=delete_fn)["Configuration"]["Handler"] == "cleanup.handlers.delete_session"
    rule = _client(moto_url, "events").describe_rule(Name=resources["NightlyCleanupNightly"]["PhysicalResourceId"])
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    definition = _client(moto_url, "stepfunctions").describe_state_machine(
        stateMachineArn=result.state_machines["NightlyCleanup"])["definition"]
    assert "${" not in definition, "DefinitionSubstitutions must be resolved"


def test_run_remote_executes_the_flow(deployed: dict, moto_url: str) -> None:
    from flowengine.aws import run_remote
    from flowengine.engine.result import ExecutionResult

    topic = next(r["PhysicalResourceId"] for r in
                 _client(moto_url, "cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
                 if r["LogicalResourceId"] == "CleanupReports")
    sqs = _client(moto_url, "sqs")
    inbox = sqs.create_queue(QueueName="reports-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _client(moto_url, "sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn,
                                       Attributes={"RawMessageDelivery": "true"})
    # ListExpired is the first Lambda call: queue its result (moto runs no function code)
    _post(moto_url, "/moto-api/static/lambda-simple/response",
          {"results": [json.dumps(["s-1", "s-2"])], "region": REGION})

    result = run_remote(deployed["loaded"], "NightlyCleanup", STACK, {"night": "2026-11-26"},
                        endpoint_url=moto_url, poll=0.1, timeout_seconds=20)

    assert isinstance(result, ExecutionResult)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert set(result.output) == {"MessageId"}
    assert result.execution_arn.startswith(f"arn:aws:states:{REGION}:123456789012:execution:{STACK}-NightlyCleanup:")
    entered = [e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e]
    assert entered[:3] == ["ListExpired", "AnythingToDelete", "DeleteAll"] and entered[-1] == "Publish"
    assert entered.count("Delete") == 2
    assert result.history[0]["type"] == "ExecutionStarted" and result.history[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in result.history] == list(range(1, len(result.history) + 1))
    message = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1)["Messages"][0]["Body"]
    assert message == "Deleted 2 expired sessions."


def test_redeploy_without_changes(deployed: dict, moto_url: str) -> None:
    from flowengine.aws import deploy

    again = deploy(deployed["loaded"], STACK, endpoint_url=moto_url, moto_compat=True, poll_seconds=0.1,
                   progress=None)
    assert again.status == "NO_CHANGES" and not again.executed


def test_dry_run_shows_changes_and_leaves_nothing(deployed: dict, moto_url: str) -> None:
    from flowengine.aws import deploy

    lines: list[str] = []
    dry = deploy(deployed["loaded"], "dry-run-test", endpoint_url=moto_url, moto_compat=True, dry_run=True,
                 poll_seconds=0.1, progress=lines.append)
    assert dry.status == "DRY_RUN" and not dry.executed
    assert {"action": "Add", "logical_id": "NightlyCleanup", "type": "AWS::StepFunctions::StateMachine",
            "replacement": ""} in dry.changes
    assert any("NightlyCleanup" in line for line in lines)
    stacks = _client(moto_url, "cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == "dry-run-test")


def test_run_remote_unknown_flow_is_one_line(deployed: dict, moto_url: str) -> None:
    from flowengine.aws import run_remote
    from flowengine.errors import AwsError

    with pytest.raises(AwsError, match="no flow 'Nope'"):
        run_remote(deployed["loaded"], "Nope", STACK, {}, endpoint_url=moto_url)


def test_the_cli_ships_and_runs_remotely(deployed: dict, moto_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's ship commands (compile, then deploy) and `run --remote`, through the CLI."""
    from flowengine.cli import main

    app = str(REPO / "definitions" / "nightly-cleanup.yaml")
    assert main(["deploy", app, "--stack-name", "cli-dry-run", "--endpoint-url", moto_url, "--moto-compat",
                 "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "NightlyCleanup" in captured.out + captured.err
    _post(moto_url, "/moto-api/static/lambda-simple/response", {"results": [json.dumps([])], "region": REGION})
    assert main(["run", app, "--remote", "--stack-name", STACK, "--endpoint-url", moto_url,
                 "--input", '{"night": "2026-11-27"}', "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert result["history"][0]["type"] == "ExecutionStarted"

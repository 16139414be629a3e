"""Hybrid runs: a flow runs on the local engine while its Tasks call the resources of a stack
deployed into a moto server on 127.0.0.1 (through aiobotocore)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowengine.dsl.app import load

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("aiobotocore")

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
STACK = "hybrid-test"


def _post(url: str, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    from flowengine.aws import deploy

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
            mp.setenv("MOTO_PORT", str(port))
            url = f"http://{host}:{port}"
            _post(url, "/moto-api/config", {"lambda": {"use_docker": False}})
            loaded = load(str(HERE / "apps" / "hybrid.yaml"))
            deploy(loaded, STACK, endpoint_url=url, moto_compat=True, poll_seconds=0.1, progress=None)
            yield {"url": url, "loaded": loaded}
        finally:
            server.stop()


def _physical(url: str, logical_id: str) -> str:
    cf = boto3.client("cloudformation", endpoint_url=url, region_name=REGION)
    return next(r["PhysicalResourceId"] for r in cf.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
                if r["LogicalResourceId"] == logical_id)


def test_local_flow_against_deployed_resources(stack: dict[str, Any]) -> None:
    from flowengine.runtime.hybrid import run_hybrid

    url = stack["url"]
    result = run_hybrid(stack["loaded"], "Main", STACK, {"id": "doc-1", "points": 7}, endpoint_url=url)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    out = result.output
    assert out["score"] == 14  # the local handler ran
    assert out["stored"] == {"score": "14"}  # written to and read back from the deployed table
    assert out["events"] == {"failed": 0}
    assert out["object"] == {"body": "14"}
    table = _physical(url, "Items")
    item = boto3.client("dynamodb", endpoint_url=url, region_name=REGION).get_item(
        TableName=table, Key={"id": {"S": "doc-1"}})["Item"]
    assert item == {"id": {"S": "doc-1"}, "score": {"N": "14"}}
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    message = sqs.receive_message(QueueUrl=_physical(url, "Jobs"))["Messages"][0]
    assert json.loads(message["Body"]) == {"score": "14"}
    assert message["MessageId"] == out["queue"]["sent"]
    # the history is the local engine's, with AWS's service-integration event types
    types = result.event_types
    assert types.count("TaskScheduled") == 7 and types[-1] == "ExecutionSucceeded"


def test_service_errors_carry_step_functions_names(stack: dict[str, Any]) -> None:
    from flowengine.runtime.hybrid import run_hybrid

    result = run_hybrid(stack["loaded"], "Missing", STACK, {}, endpoint_url=stack["url"])
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["error"]["Error"] == "S3.NoSuchKeyException"


def test_remote_functions(stack: dict[str, Any]) -> None:
    from flowengine.runtime.hybrid import run_hybrid

    url = stack["url"]
    _post(url, "/moto-api/static/lambda-simple/response", {"results": ["21"], "region": REGION})
    result = run_hybrid(stack["loaded"], "Main", STACK, {"id": "doc-2", "points": 7}, endpoint_url=url,
                        functions="remote")
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["score"] == 21  # moto's deployed function answered, not the local handler
    assert "LambdaFunctionScheduled" in result.event_types


def test_the_cli_runs_a_hybrid_run(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from flowengine.cli import main

    code = main(["run", str(HERE / "apps" / "hybrid.yaml"), "--flow", "Main", "--aws", "--local-functions",
                 "--stack-name", STACK, "--endpoint-url", stack["url"], "--input", '{"id": "doc-3", "points": 2}',
                 "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["output"]["stored"] == {"score": "4"}


def test_the_cli_reports_an_unknown_stack_in_one_line(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from flowengine.cli import main

    code = main(["run", str(HERE / "apps" / "hybrid.yaml"), "--flow", "Main", "--remote",
                 "--stack-name", "no-such-stack", "--endpoint-url", stack["url"]])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("flowengine run: ") and "no-such-stack" in err and err.count("\n") == 1


def test_flowengine_run_takes_the_same_way_out_explicitly(stack: dict[str, Any]) -> None:
    import flowengine

    result = flowengine.run(stack["loaded"], flow="Missing", input={},
                            aws=flowengine.Hybrid(STACK, endpoint_url=stack["url"]))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["error"]["Error"] == "S3.NoSuchKeyException"  # the deployed bucket answered

"""The AWS layer without AWS: configuration errors, retries, failure reports, packaging,
and the moto-only template rewrites."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from flowengine.errors import AwsError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def test_importing_flowengine_aws_does_not_import_boto3() -> None:
    code = ("import sys, flowengine, flowengine.aws, flowengine.compile; "
            "print(sorted(m for m in ('boto3', 'botocore', 'samtranslator', 'cfnlint') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_missing_region_is_one_line(no_aws_config: pytest.MonkeyPatch) -> None:
    from flowengine.aws._client import Aws

    with pytest.raises(AwsError) as caught:
        Aws()
    assert str(caught.value).startswith("no AWS region") and "\n" not in str(caught.value)


def test_missing_credentials_is_one_line(no_aws_config: pytest.MonkeyPatch) -> None:
    from flowengine.aws import deploy
    from flowengine.dsl.app import load

    with pytest.raises(AwsError) as caught:
        deploy(load(str(REPO / "definitions" / "orders.yaml")), "orders-dev", region="eu-west-1", progress=None)
    assert str(caught.value).startswith("no AWS credentials") and "\n" not in str(caught.value)
    assert caught.value.__cause__ is None or "botocore" in type(caught.value.__cause__).__module__


def test_unknown_profile_is_one_line(no_aws_config: pytest.MonkeyPatch) -> None:
    from flowengine.aws._client import Aws

    with pytest.raises(AwsError, match="profile 'nope' is not configured"):
        Aws(profile="nope", region="eu-west-1")


def _client_error(code: str, message: str = "slow down") -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeStacks")


def _aws(no_aws_config: pytest.MonkeyPatch, sleeps: list[float]) -> Any:
    from flowengine.aws._client import Aws

    no_aws_config.setenv("AWS_ACCESS_KEY_ID", "testing")
    no_aws_config.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Aws(region="eu-west-1", sleep=sleeps.append)


def test_throttling_is_retried_with_backoff(no_aws_config: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    aws = _aws(no_aws_config, sleeps)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _client_error("Throttling")
        return "ok"

    assert aws.guard(flaky, "cloudformation.describe_stacks") == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and all(s > 0 for s in sleeps)


def test_other_errors_are_not_retried_and_read_as_one_line(no_aws_config: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    aws = _aws(no_aws_config, sleeps)

    def denied() -> None:
        raise _client_error("AccessDenied", "User is not authorized to perform: cloudformation:DescribeStacks")

    with pytest.raises(AwsError) as caught:
        aws.guard(denied, "cloudformation.describe_stacks")
    assert str(caught.value) == ("cloudformation.describe_stacks: AccessDenied: "
                                 "User is not authorized to perform: cloudformation:DescribeStacks")
    assert sleeps == []


def test_throttling_gives_up_eventually(no_aws_config: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    aws = _aws(no_aws_config, sleeps)

    def always() -> None:
        raise _client_error("ThrottlingException", "Rate exceeded")

    with pytest.raises(AwsError, match="ThrottlingException: Rate exceeded"):
        aws.guard(always, "stepfunctions.start_execution")
    assert len(sleeps) == aws.max_attempts - 1


def test_a_failed_stack_names_the_resource_that_failed_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowengine.aws import _deploy as deploy_module

    def at(second: int) -> datetime:
        return datetime(2026, 1, 1, 0, 0, second, tzinfo=timezone.utc)

    events = [  # newest first, as CloudFormation lists them
        {"Timestamp": at(9), "LogicalResourceId": "orders-dev", "ResourceStatus": "ROLLBACK_COMPLETE"},
        {"Timestamp": at(5), "LogicalResourceId": "Charge", "ResourceType": "AWS::Lambda::Function",
         "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Resource creation cancelled"},
        {"Timestamp": at(4), "LogicalResourceId": "Shop", "ResourceType": "AWS::Events::EventBus",
         "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Event bus orders-dev-Shop already exists"},
        {"Timestamp": at(1), "LogicalResourceId": "orders-dev", "ResourceStatus": "CREATE_IN_PROGRESS"},
    ]
    monkeypatch.setattr(deploy_module, "_events", lambda aws, name: events)
    text = deploy_module._first_failure(None, "orders-dev")  # type: ignore[arg-type]
    assert text == "Shop (AWS::Events::EventBus) CREATE_FAILED: Event bus orders-dev-Shop already exists"


def test_code_zips_are_deterministic(tmp_path: Path) -> None:
    from flowengine.aws._deploy import zip_directory

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "handlers.py").write_text("def h(e, c):\n    return e\n")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "handlers.cpython-311.pyc").write_bytes(b"\0")
    first = zip_directory(str(tmp_path))
    (tmp_path / "pkg" / "handlers.py").touch()  # a new mtime must not change the bytes
    assert zip_directory(str(tmp_path)) == first
    names = zipfile.ZipFile(BytesIO(first)).namelist()
    assert names == ["pkg/__init__.py", "pkg/handlers.py"]


def test_stack_names_that_break_derived_names_are_refused(no_aws_config: pytest.MonkeyPatch) -> None:
    from flowengine.aws import DeployError, deploy
    from flowengine.dsl.app import load

    loaded = load(str(REPO / "definitions" / "orders.yaml"))
    with pytest.raises(DeployError, match="not a stack name"):
        deploy(loaded, "orders_dev", region="eu-west-1", progress=None)
    with pytest.raises(DeployError, match="longer than 80 characters"):
        deploy(loaded, "o" * 75, region="eu-west-1", progress=None)


# --- moto_compat ---------------------------------------------------------------------------


def _transformed(name: str) -> dict[str, Any]:
    from flowengine.compile import compile_app
    from flowengine.compile.transform import sam_transform, with_code_uris
    from flowengine.dsl.app import load

    return sam_transform(with_code_uris(compile_app(load(str(REPO / "definitions" / name))).template))


def test_moto_compat_rewrites_only_what_moto_needs() -> None:
    from flowengine.aws.moto_compat import adapt_template

    cfn = _transformed("orders.yaml")
    adapted = adapt_template(cfn)
    sm = adapted["Resources"]["PlaceOrder"]["Properties"]
    text, subs = sm["DefinitionString"]["Fn::Sub"]
    assert "DefinitionSubstitutions" not in sm and "${ChargePaymentArn}" in text
    # the alias (moto has none) becomes the function itself
    assert subs["ChargePaymentArn"] == {"Fn::GetAtt": ["ChargePayment", "Arn"]}
    assert subs["ValidateOrderArn"] == cfn["Resources"]["PlaceOrder"]["Properties"]["DefinitionSubstitutions"]["ValidateOrderArn"]
    rule = adapted["Resources"]["PlaceOrderOrderPlaced"]["Properties"]
    assert rule["EventBusName"] == {"Fn::GetAtt": ["ShopEvents", "Name"]}
    assert set(adapted["Resources"]) == set(cfn["Resources"])
    assert cfn["Resources"]["PlaceOrder"]["Properties"].get("DefinitionSubstitutions"), "the input is not modified"


def test_moto_compat_keeps_tolerated_failure_values() -> None:
    import json

    from flowengine.aws.moto_compat import adapt_template

    adapted = adapt_template(_transformed("nightly-cleanup.yaml"))
    text = adapted["Resources"]["NightlyCleanup"]["Properties"]["DefinitionString"]["Fn::Sub"][0]
    definition = json.loads(text)
    assert definition["States"]["DeleteAll"]["ToleratedFailurePercentage"] == 5.0


def test_aws_region_is_honoured_as_the_cli_v2_does(no_aws_config: pytest.MonkeyPatch) -> None:
    from flowengine.aws._client import Aws

    monkeypatch = no_aws_config
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert Aws().region == "eu-west-3"


def test_deploy_refuses_a_missing_handler_module_before_touching_aws(no_aws_config: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    from flowengine.aws import deploy
    from flowengine.dsl.app import load
    from flowengine.errors import ValidationError

    (tmp_path / "code").mkdir()
    app = tmp_path / "app.yaml"
    app.write_text("app: gone\ncode: code\nfunctions:\n  Work: {handler: jobs.work}\n")
    with pytest.raises(ValidationError) as caught:  # no credentials needed: it stops first
        deploy(load(str(app)), "gone", region="eu-west-1", progress=None)
    [problem] = caught.value.diagnostics
    assert (problem.code, problem.severity) == ("FE814", "error")
    assert f"{app}:4:" in problem.format()

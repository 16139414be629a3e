"""check_template: each stage catches what the others miss (research/sam.md §2.4)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return compile_app(load(str(REPO / "definitions" / "upload-pipeline.yaml"))).template


def problems_after(template: dict[str, Any], edit: Any) -> list[str]:
    t = copy.deepcopy(template)
    edit(t["Resources"])
    return check_template(t)


def test_clean_template(template: dict[str, Any]) -> None:
    assert check_template(template) == []


def test_sem_deployment_type_typo(template: dict[str, Any]) -> None:
    def edit(r: Any) -> None:
        r["WriteLegacy"]["Properties"]["DeploymentPreference"]["Type"] = "Canary10Percent5Minute"
    assert problems_after(template, edit) == [
        "[sem] WriteLegacy: DeploymentPreference.Type 'Canary10Percent5Minute' is not a CodeDeployDefault.Lambda configuration"]


def test_sem_hook_the_codedeploy_role_cannot_invoke(template: dict[str, Any]) -> None:
    def edit(r: Any) -> None:
        r["WriteLegacy"]["Properties"]["DeploymentPreference"]["Hooks"] = {"PreTraffic": {"Ref": "IndexDocument"}}
    (problem,) = problems_after(template, edit)
    assert problem.startswith("[sem] WriteLegacy: hook IndexDocument must be named CodeDeployHook_*")


def test_sem_express_with_task_token(template: dict[str, Any]) -> None:
    def edit(r: Any) -> None:
        p = r["ProcessUpload"]["Properties"]
        p["Type"] = "EXPRESS"
        p["Definition"]["States"]["Index"]["Resource"] = "arn:aws:states:::lambda:invoke.waitForTaskToken"
        p["Definition"]["States"]["Index"]["Parameters"] = {"FunctionName": "${IndexDocumentArn}"}
    assert any("EXPRESS workflows do not support" in p for p in problems_after(template, edit))


def test_sem_every_action(template: dict[str, Any]) -> None:
    def edit(r: Any) -> None:
        r["IndexDocument"]["Properties"]["Policies"].append(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]})
    assert "[sem] IndexDocument: a policy statement allows every action (['dynamodb:*'])" in problems_after(template, edit)


def test_sam_transform_errors(template: dict[str, Any]) -> None:
    def edit(r: Any) -> None:
        r["ExtractMetadata"]["Properties"]["Events"] = {
            "Up": {"Type": "S3", "Properties": {"Bucket": "someone-elses-bucket", "Events": "s3:ObjectCreated:*"}}}
    (problem,) = problems_after(template, edit)
    assert problem.startswith("[sam] ") and "S3 events must reference an S3 bucket in the same template" in problem


def test_asl_placeholder_without_substitution(template: dict[str, Any]) -> None:
    def edit(r: Any) -> None:
        del r["ProcessUpload"]["Properties"]["DefinitionSubstitutions"]["IndexDocumentArn"]
    found = problems_after(template, edit)
    assert "[asl] ProcessUpload: placeholders without a DefinitionSubstitution: IndexDocumentArn" in found


def test_lint_circular_dependency(template: dict[str, Any]) -> None:
    """The bucket trap: a !Ref to the bucket in the policy of a function it triggers."""
    def edit(r: Any) -> None:
        fn = r["ExtractMetadata"]["Properties"]
        fn["Policies"] = [{"S3ReadPolicy": {"BucketName": {"Ref": "Uploads"}}}]
        fn["Events"] = {"Up": {"Type": "S3", "Properties": {"Bucket": {"Ref": "Uploads"}, "Events": "s3:ObjectCreated:*"}}}
    assert any(p.startswith("[lint] E3004 ") for p in problems_after(template, edit))


def test_lint_sees_the_definition(template: dict[str, Any]) -> None:
    """cfn-lint's ASL rule runs because the transformed DefinitionString is re-inflated."""
    def edit(r: Any) -> None:
        r["ProcessUpload"]["Properties"]["Definition"]["States"]["SettleLegacyStore"]["Seconds"] = -1
    assert any(p.startswith("[lint] E3601 ") and "SettleLegacyStore/Seconds" in p for p in problems_after(template, edit))

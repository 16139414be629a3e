"""run_flow on an app that declares resources runs it against the in-process emulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.errors import FlowengineError
from flowengine.testing import mocks, run_flow

ROOT = Path(__file__).resolve().parents[2]
UPLOADS = ROOT / "definitions" / "upload-pipeline.yaml"
EVENT = {"detail": {"bucket": {"name": "upload-pipeline-uploads"}, "object": {"key": "incoming/r.json"}}}


def test_handlers_meet_the_emulated_bucket_not_an_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-NOT-REAL")
    result = run_flow(UPLOADS, input=EVENT)
    assert result.path == ["ExtractMetadata", "Quarantine"]
    assert result.state("ExtractMetadata").attempts[0].error == "NoSuchKey"


def test_stand_in_handlers_and_mocks_run_inside_the_emulation_too() -> None:
    seen: list[str] = []

    def extract(event, context):
        seen.append(context.function_name)
        return {"id": "r.json", "bucket": "b", "key": "k", "title": "T", "bytes": 1}

    result = run_flow(UPLOADS, input=EVENT,
                      mocks={"WriteLegacy": mocks.returns({}), "Index": mocks.returns({"indexed": "r.json"})},
                      handlers={"ExtractMetadata": extract})
    assert result.succeeded and seen == ["ExtractMetadata"]


def test_emulate_is_gone_with_a_message_that_says_what_replaced_it() -> None:
    # Every local run is emulated; the old switch would have let handlers reach an account.
    with pytest.raises(TypeError, match="every local run is emulated"):
        run_flow({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, emulate=False)


def test_an_app_without_resources_is_emulated_as_well() -> None:
    import boto3

    def handler(event, context):
        # a bucket nobody declared: AWS's own "not found", from the emulation
        boto3.client("s3").get_object(Bucket="nobody-declared-this", Key="k")

    result = run_flow({"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Reader", "End": True}}},
        input={}, handlers={"Reader": handler})
    assert result.error == "NoSuchBucket", (result.error, result.cause)


def test_flowengine_run_emulates_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import flowengine

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-NOT-REAL")
    result = flowengine.run(str(UPLOADS), input=EVENT)
    assert result.error == "MetadataUnreadable"
    assert any("NoSuchKey" in str(e) for e in result.history)  # moto's answer, not an account's


def test_flowengine_run_substitutions_fill_placeholders_inside_the_emulation() -> None:
    import flowengine

    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"t": "${Table}"}, "End": True}}}
    result = flowengine.run(definition, input={}, substitutions={"Table": "orders"})
    assert result.output == {"t": "orders"}


def test_input_passed_positionally_gets_a_clear_message() -> None:
    import flowengine

    with pytest.raises(TypeError, match="input by keyword"):
        run_flow(UPLOADS, {"detail": {}})
    with pytest.raises(TypeError, match="by keyword"):
        flowengine.run(UPLOADS, {"detail": {}})

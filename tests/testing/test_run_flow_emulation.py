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


def test_emulate_false_runs_on_the_bare_engine() -> None:
    seen: list[str] = []

    def extract(event, context):
        seen.append(context.function_name)
        return {"id": "r.json", "bucket": "b", "key": "k", "title": "T", "bytes": 1}

    result = run_flow(UPLOADS, input=EVENT, emulate=False,
                      mocks={"WriteLegacy": mocks.returns({}), "Index": mocks.returns({"indexed": "r.json"})},
                      handlers={"ExtractMetadata": extract})
    assert result.succeeded and seen == ["ExtractMetadata"]


def test_emulate_true_needs_resources() -> None:
    with pytest.raises(FlowengineError, match="declares resources"):
        run_flow({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, emulate=True)



def test_flowengine_run_emulates_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import flowengine

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-NOT-REAL")
    result = flowengine.run(str(UPLOADS), input=EVENT)
    assert result.error == "MetadataUnreadable"
    assert any("NoSuchKey" in str(e) for e in result.history)  # moto's answer, not an account's


def test_flowengine_run_with_substitutions_is_the_bare_engine() -> None:
    import flowengine

    with pytest.raises(FlowengineError, match="emulate=True cannot combine"):
        flowengine.run(str(UPLOADS), input=EVENT, emulate=True, substitutions={"Documents": "t"})

"""The same app and mocks give the same result, path and history through every entry point:
they are all thin layers over one runtime."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import flowengine
from flowengine.cli import main as cli_main
from flowengine.testing import TestRuntime, mocks, run_flow

ROOT = Path(__file__).resolve().parents[2]
ORDER = json.loads((ROOT / "examples" / "orders" / "order.json").read_text())
UPLOAD_EVENT = {"detail": {"bucket": {"name": "upload-pipeline-uploads"}, "object": {"key": "incoming/r.json"}}}

CASES = {
    "orders": (ROOT / "definitions" / "orders.yaml", "PlaceOrder", ORDER,
               {"Charge": mocks.sequence(mocks.raises("PaymentGatewayBusy"), mocks.returns({"paymentId": "p-1"}))}),
    "orders-unmocked": (ROOT / "definitions" / "orders.yaml", "PlaceOrder", ORDER, None),
    "upload-pipeline": (ROOT / "definitions" / "upload-pipeline.yaml", "ProcessUpload", UPLOAD_EVENT,
                        {"ExtractMetadata": mocks.returns({"id": "r.json", "bucket": "b", "key": "k",
                                                           "title": "T", "bytes": 1})}),
    "upload-pipeline-unmocked": (ROOT / "definitions" / "upload-pipeline.yaml", "ProcessUpload", UPLOAD_EVENT, None),
    "nightly-cleanup": (ROOT / "definitions" / "nightly-cleanup.yaml", "NightlyCleanup", {}, None),
    "plain-asl": (ROOT / "examples" / "tests" / "LambdaSQSIntegration.asl.json", None, {},
                  {"LambdaState": mocks.returns({"StatusCode": 200, "Payload": {"ok": True}}),
                   "SQSState": mocks.returns({"MessageId": "m-1"})}),
}


def _comparable(result: Any) -> dict[str, Any]:
    data = result.to_json()
    return {k: data.get(k) for k in ("status", "output", "error", "cause", "history")} | {"path": result.path}


def _via_cli(path: Path, flow: str | None, payload: Any) -> dict[str, Any]:
    out = io.StringIO()
    argv = ["run", str(path), "--input", json.dumps(payload), "--json", "--name", "parity", "--no-progress"]
    if flow:
        argv += ["--flow", flow]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(argv)
    assert code in (0, 1)
    data = json.loads(out.getvalue())
    return {k: data.get(k) for k in ("status", "output", "error", "cause", "history")}


@pytest.mark.parametrize("case", list(CASES))
def test_every_entry_point_gives_the_same_run(case: str, flowengine_runtime: Any) -> None:
    path, flow, payload, mock = CASES[case]
    runs = {
        "flowengine.run": flowengine.run(path, flow=flow, input=payload, mocks=mock, record=True, name="parity"),
        "run_flow": run_flow(path, flow, input=payload, mocks=mock, name="parity"),
    }
    with TestRuntime(mocks=mock) as rt:
        runs["TestRuntime"] = rt.start(path, payload, flow=flow, name="parity").result()
    with TestRuntime(path, mocks=mock) as rt:
        runs["TestRuntime(app)"] = rt.start(input=payload, flow=flow, name="parity").result()
    with flowengine.AppRuntime(path, mocks=mock, record=True) as app:
        runs["AppRuntime"] = app.run_flow(flow, payload, name="parity")
    # the fixture's runtime starts on first use and holds the emulation to the end of the test
    runs["fixture"] = flowengine_runtime.start(path, payload, flow=flow, name="parity", mocks=mock).result()

    reference = _comparable(runs["run_flow"])
    assert reference["history"], "the run recorded its history"
    for entry, result in runs.items():
        assert _comparable(result) == reference, entry
    if mock is None:
        flowengine_runtime.close()  # the CLI runs a runtime of its own
        cli = _via_cli(path, flow, payload)
        assert cli == {k: v for k, v in json.loads(json.dumps(reference, default=str)).items() if k != "path"}


@pytest.mark.parametrize("bad", [{"a": "\ud800"}, {"a": float("nan")}, '{"a": NaN}', '{"a": "\\ud800"}'])
def test_library_inputs_meet_the_same_strict_json_as_the_cli(bad: Any) -> None:
    from flowengine.errors import ExecutionInputError

    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    with pytest.raises(ExecutionInputError, match="not (valid )?JSON"):
        flowengine.run(definition, input=bad)
    with pytest.raises(ExecutionInputError):
        run_flow(definition, input=bad)


def test_a_library_event_meets_strict_json_too() -> None:
    from flowengine.runtime.app import EventError

    with flowengine.AppRuntime(ROOT / "definitions" / "upload-pipeline.yaml") as rt:
        with pytest.raises(EventError, match="not JSON"):
            rt.send('{"detail-type": "x", "detail": {"n": NaN}}')

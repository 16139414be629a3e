"""`flowengine run` with mocks, events and progress; `send` and `up`; option errors (exit 2)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from flowengine.cli import main
from flowengine.events import payloads

ROOT = Path(__file__).resolve().parents[1]
ORDERS = str(ROOT / "definitions" / "orders.yaml")
CLEANUP = str(ROOT / "definitions" / "nightly-cleanup.yaml")
EXAMPLES = ROOT / "examples" / "tests"
LAMBDA_SQS = str(EXAMPLES / "LambdaSQSIntegration.asl.json")
AWS_MOCKS = str(EXAMPLES / "mockfiles" / "aws_docs_example.json")


@pytest.fixture
def order_event(tmp_path: Path) -> str:
    order = json.loads((ROOT / "examples" / "orders" / "order.json").read_text())
    event = payloads.generate("eventbridge", source="shop.web", detail_type="OrderPlaced", detail=json.dumps(order))
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_run_with_a_mock_config_file_test_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", LAMBDA_SQS, "--mock", AWS_MOCKS, "--test-case", "RetryPath"]) == 0
    out = capsys.readouterr().out
    assert "path:     LambdaState -> SQSState" in out
    assert "retries:  LambdaState x3" in out


def test_run_with_an_unknown_test_case_is_a_located_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", LAMBDA_SQS, "--mock", AWS_MOCKS, "--test-case", "NoSuchCase"]) == 2
    err = capsys.readouterr().err
    assert f"{AWS_MOCKS}:" in err and "NoSuchCase" in err


def test_run_json_with_mocks_stays_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", LAMBDA_SQS, "--mock", AWS_MOCKS, "--test-case", "HappyPath", "--json", "--progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "SUCCEEDED"
    assert captured.err == ""  # --json switches the live progress off


def test_progress_goes_to_stderr_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", LAMBDA_SQS, "--mock", AWS_MOCKS, "--test-case", "RetryPath", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "> LambdaState" in err and "retry 1 in" in err


def test_progress_is_off_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", LAMBDA_SQS, "--mock", AWS_MOCKS, "--test-case", "RetryPath"]) == 0
    assert capsys.readouterr().err == ""


def test_run_event_starts_the_flow_through_its_trigger(order_event: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--event", order_event, "--bus", "ShopEvents", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["orderId"] == "o-1001"  # input_path: $.detail gave the flow the order itself


def test_run_event_on_the_wrong_bus_names_the_right_one(order_event: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--event", order_event]) == 2
    assert "--bus ShopEvents" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--input", "{}", "--event", "e.json"], "not both"),
    (["--mock", "m.json"], "go together"),
    (["--bus", "B"], "--bus goes with --event"),
    (["--remote"], "needs --stack-name"),
    (["--remote", "--aws", "--stack-name", "s"], "choose one"),
    (["--aws", "--stack-name", "s", "--event", "e.json"], "local-run options"),
])
def test_option_combinations_that_cannot_work_exit_2(argv: list[str], message: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, *argv]) == 2
    assert message in capsys.readouterr().err


def test_send_reports_what_the_event_did(order_event: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["send", ORDERS, order_event, "--bus", "ShopEvents"]) == 0
    assert "1 execution(s) (1 SUCCEEDED)" in out.getvalue()


def test_send_an_event_no_trigger_matches_exits_2(order_event: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["send", ORDERS, order_event]) == 2
    assert "no trigger matched the event" in out.getvalue()


def test_up_on_the_virtual_clock_fires_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["up", CLEANUP, "--virtual", "--duration", "3d"]) == 0
    text = out.getvalue()
    assert text.count("fired (trigger Nightly)") == 3
    assert "3 execution(s) (3 SUCCEEDED)" in text


def test_compile_prints_its_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "jobs.py").write_text("def work(event, context):\n    return None\n")
    app = tmp_path / "app.yaml"
    app.write_text("app: jobs\ncode: .\n"
                   "functions:\n  Work: {handler: jobs.work, timeout: 30s}\n"
                   "resources:\n  Jobs: {type: queue, visibility_timeout: 10s}\n"
                   "triggers:\n  - {queue: Jobs, invoke: Work}\n")
    assert main(["compile", str(app), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "template.yaml" in captured.out
    assert f"{app}:6:" in captured.err and "FE813" in captured.err


UPLOADS = str(ROOT / "definitions" / "upload-pipeline.yaml")
REPORT = str(ROOT / "examples" / "upload_pipeline" / "report.json")


@pytest.mark.parametrize("kind", ["s3-put", "s3-eventbridge"])
def test_run_event_with_the_object_it_names(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payloads.generate(kind, bucket="Uploads", key="incoming/report.json")))
    assert main(["run", UPLOADS, "--event", str(event), "--object", REPORT, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED" and result["output"] == {"indexed": "report.json"}


def test_without_the_object_the_handler_meets_the_emulated_bucket(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payloads.generate("s3-put", bucket="Uploads", key="incoming/none.json")))
    assert main(["run", UPLOADS, "--event", str(event), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["error"] == "MetadataUnreadable"
    assert "NoSuchKey" in json.dumps(result["history"])  # moto's answer, not a real account's


def test_object_with_an_event_that_is_not_s3_exits_2(order_event: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--event", order_event, "--bus", "ShopEvents", "--object", REPORT]) == 2
    assert "--object goes with an S3 event" in capsys.readouterr().err


def test_a_plain_run_of_an_app_with_resources_uses_the_emulation(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-NOT-REAL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-real")
    event = {"detail": {"bucket": {"name": "upload-pipeline-uploads"}, "object": {"key": "incoming/x.json"}}}
    assert main(["run", UPLOADS, "--input", json.dumps(event), "--json"]) == 1
    history = json.dumps(json.loads(capsys.readouterr().out)["history"])
    assert "NoSuchKey" in history and "InvalidAccessKeyId" not in history


def test_send_with_the_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payloads.generate("s3-put", bucket="Uploads", key="incoming/report.json")))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["send", UPLOADS, str(event), "--object", REPORT]) == 0
    assert "1 execution(s) (1 SUCCEEDED)" in out.getvalue()


def test_send_reaches_a_running_up(order_event: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`flowengine up` (real clock) in another process; `flowengine send` delivers into it."""
    import signal
    import subprocess
    import sys

    from flowengine.runtime.inbox import registry_path

    up = subprocess.Popen([sys.executable, "-m", "flowengine.cli", "up", ORDERS, "--duration", "60s"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert up.stdout is not None
        for line in up.stdout:  # bounded: --duration 60s ends the process
            if line.startswith("listening on 127.0.0.1:"):
                break
        else:
            pytest.fail(f"up never listened: {up.stderr.read() if up.stderr else ''}")
        assert main(["send", ORDERS, order_event, "--bus", "ShopEvents"]) == 0
        assert "delivered to flow PlaceOrder (trigger OrderPlaced)" in capsys.readouterr().out
        for line in up.stdout:
            if "execution  PlaceOrder" in line and "SUCCEEDED" in line:
                break
        else:
            pytest.fail("the running up never finished the execution")
        # an event it cannot place is refused by the running runtime, exit 2
        assert main(["send", ORDERS, '{"hello": "world"}']) == 2
        assert "flowengine send: the running `flowengine up`" in capsys.readouterr().err
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            up.kill()
            up.communicate()
    assert not registry_path(ORDERS).exists()


def test_a_handler_outside_the_apps_code_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "code").mkdir()
    app = tmp_path / "app.yaml"
    app.write_text("app: sneaky\ncode: code\nfunctions:\n  Dump: {handler: json.dumps}\n"
                   "flows:\n  Main:\n    StartAt: Call\n    States:\n      Call: {Type: Task, Function: Dump, End: true}\n")
    assert main(["run", str(app)]) == 2
    err = capsys.readouterr().err
    assert "json" in err and "code" in err and "Traceback" not in err


def _handler_app(tmp_path: Path, module_source: str) -> str:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "mod.py").write_text(module_source)
    app = tmp_path / "app.yaml"
    app.write_text("app: h\ncode: code\nfunctions:\n  F: {handler: mod.h, environment: {NEEDED: 'yes'}}\n"
                   "flows:\n  Main:\n    StartAt: Call\n    States:\n      Call: {Type: Task, Function: F, End: true}\n")
    return str(app)


def test_module_level_code_sees_the_functions_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _handler_app(tmp_path, "import os\nTABLE = os.environ['NEEDED']\ndef h(e, c):\n    return TABLE\n")
    assert main(["run", app, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == "yes"


@pytest.mark.parametrize("source, message", [
    ("def h(e, c)\n    return 1\n", "mod.py:1:"),
    ("x = 1\nraise RuntimeError('boom')\ndef h(e, c):\n    return 1\n", "raised while importing at"),
])
def test_a_module_that_cannot_import_is_one_line(tmp_path: Path, source: str, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", _handler_app(tmp_path, source)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["up", CLEANUP, "--virtual", "--duration", "1x"],
    ["up", CLEANUP, "--virtual", "--duration=-1d"],
    ["send", CLEANUP, "{}", "--advance", "0s"],
])
def test_bad_durations_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "duration" in capsys.readouterr().err


def test_compile_out_that_is_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine")
    assert main(["compile", ORDERS, "--out", str(taken)]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    assert taken.read_text() == "mine"


def test_an_input_that_is_a_json_string_stays_a_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asl = tmp_path / "pass.asl.json"
    asl.write_text('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    assert main(["run", str(asl), "--input", '"{\\"a\\": 1}"', "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == '{"a": 1}'


def test_a_bus_with_records_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payloads.generate("s3-put", bucket="Uploads", key="incoming/a.json")))
    assert main(["send", UPLOADS, str(event), "--fresh", "--bus", "Nope"]) == 2
    assert capsys.readouterr().err.startswith("flowengine send: the app has no event bus 'Nope'")


@pytest.mark.parametrize("name", ["my run", "a/b", "x*", "n" * 81])
def test_execution_names_aws_refuses_are_refused(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", LAMBDA_SQS, "--mock", AWS_MOCKS, "--test-case", "HappyPath", "--name", name]) == 2
    assert "invalid execution name" in capsys.readouterr().err

"""The command line: exit codes, output shapes, and a start-up that stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowengine.cli import main

ROOT = Path(__file__).resolve().parents[1]
ORDERS = str(ROOT / "definitions" / "orders.yaml")
ORDER_INPUT = "@" + str(ROOT / "examples" / "orders" / "order.json")


def test_help_imports_neither_boto3_nor_the_engine() -> None:
    code = ("import sys, runpy; sys.argv = ['flowengine', '--help']\n"
            "try:\n    runpy.run_module('flowengine.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('boto3', 'botocore', 'networkx', 'jsonata', 'flowengine.runtime.engine') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_validate_bundled_definitions_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, sorted((ROOT / "definitions").glob("*.yaml")))]) == 0


def test_validate_problems_exit_1_with_located_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.asl.json"
    bad.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:1:" in out and "FE302" in out


def test_validate_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.asl.json"
    bad.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    assert main(["validate", "--format", "json", str(bad)]) == 1
    diags = json.loads(capsys.readouterr().out)
    assert {"file", "line", "col", "code", "message", "state_path", "hint", "severity"} <= set(diags[0])


def test_validate_unreadable_file_exit_2(tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


def test_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "properties" in schema and "flows" in schema["properties"]


def test_run_succeeds_exit_0_and_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--input", ORDER_INPUT, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"status", "output", "error", "cause", "history"}
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["notification"]["message"] == "Order o-1001 is on its way in 2 parcels."
    assert result["history"][0]["type"] == "ExecutionStarted"


def test_run_failed_execution_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--input", '{"orderId": "x", "items": []}']) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "OrderRejected" in out


def test_run_input_not_json_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--input", "{bad"]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_run_invalid_definition_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.asl.json"
    bad.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    assert main(["run", str(bad)]) == 2
    assert "FE302" in capsys.readouterr().err


def test_event_generate_prints_an_s3_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["event", "generate", "s3-put", "--bucket", "b", "--key", "k.txt"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["Records"][0]["s3"]["bucket"]["name"] == "b"
    assert event["Records"][0]["s3"]["object"]["key"] == "k.txt"

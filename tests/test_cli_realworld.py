"""Issue 12 (part A) at the command line: what real-world definitions need from the CLI.

`run --type EXPRESS` for plain ASL (item 3), `mocks scaffold` whose HappyPath runs as
generated (item 4), `run --object s3://bucket/key=FILE` for ItemReader/ResultWriter (item 5),
and hints that name something the user can do where they are (item 6).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from flowengine.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXECUTION_ID = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
    "id.$": "$$.Execution.Id",
    "name.$": "States.ArrayGetItem(States.StringSplit($$.Execution.Id, ':'), 7)"}, "End": True}}}


def _asl(tmp_path: Path, definition: dict, name: str = "machine.asl.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(definition), encoding="utf-8")
    return str(path)


def _json_run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = main(["run", *argv, "--json"])
    out = capsys.readouterr().out
    result = json.loads(out)
    assert code == (0 if result["status"] == "SUCCEEDED" else 1)
    return result


# -- item 3: --type -----------------------------------------------------------------------------


def test_run_type_express_gives_aws_express_execution_arns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _asl(tmp_path, EXECUTION_ID)
    express = _json_run(capsys, path, "--type", "EXPRESS", "--name", "run-1")
    # arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:ID, as AWS names an Express execution
    assert re.fullmatch(r"arn:aws:states:[a-z0-9-]+:\d{12}:express:machine:run-1:[0-9a-f-]{36}",
                        express["output"]["id"]), express["output"]
    assert express["output"]["name"] == "run-1"
    standard = _json_run(capsys, path, "--name", "run-1")
    assert re.fullmatch(r"arn:aws:states:[a-z0-9-]+:\d{12}:execution:machine:run-1", standard["output"]["id"])
    assert _json_run(capsys, path, "--type", "standard")["output"]["id"].split(":")[5] == "execution"


def test_run_type_is_for_plain_asl_an_app_declares_its_flows_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "definitions" / "orders.yaml"), "--type", "EXPRESS"]) == 2
    err = capsys.readouterr().err
    assert "declared type: standard" in err and "change its type there" in err


def test_run_type_rejects_other_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", _asl(tmp_path, EXECUTION_ID), "--type", "SYNC"])
    assert exc.value.code == 2
    assert "STANDARD" in capsys.readouterr().err

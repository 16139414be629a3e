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


# -- item 4: the scaffolded HappyPath runs as generated ----------------------------------------


@pytest.mark.parametrize("app", sorted(p.name for p in (ROOT / "definitions").glob("*.yaml")))
def test_every_bundled_apps_scaffold_succeeds_as_generated(app: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from flowengine.dsl.app import load

    path = str(ROOT / "definitions" / app)
    for flow in load(path).app.flows:
        mock = tmp_path / f"{flow}.json"
        assert main(["mocks", "scaffold", path, "--flow", flow, "--out", str(mock)]) == 0
        command = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("run it: "))
        argv = shlex.split(command.removeprefix("run it: "))
        assert argv[:3] == ["flowengine", "run", path] and "--mock" in argv
        result = _json_run(capsys, *argv[2:])
        assert result["status"] == "SUCCEEDED", (flow, result["error"], result["cause"])


def test_scaffold_solves_choices_and_reads_downstream_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = {"StartAt": "Fetch", "States": {
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                  "ResultSelector": {"status.$": "$.Payload.job.status", "items.$": "$.Payload.items"},
                  "ResultPath": "$.fetched", "Next": "Done?"},
        "Done?": {"Type": "Choice", "Choices": [
            {"Variable": "$.fetched.status", "StringEquals": "FAILED", "Next": "Failed"},
            {"And": [{"Variable": "$.fetched.status", "StringEquals": "DONE"},
                     {"Variable": "$.order.total", "NumericGreaterThan": 100}], "Next": "Each"}],
            "Default": "Fetch"},
        "Each": {"Type": "Map", "ItemsPath": "$.fetched.items", "ItemProcessor": {
            "StartAt": "Ship", "States": {"Ship": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ship",
                                                   "Parameters": {"sku.$": "$.sku"}, "End": True}}},
            "End": True},
        "Failed": {"Type": "Fail", "Error": "JobFailed"}}}
    path = _asl(tmp_path, definition)
    mock = tmp_path / "mocks.json"
    assert main(["mocks", "scaffold", path, "--out", str(mock)]) == 0
    command = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("run it: "))
    argv = shlex.split(command.removeprefix("run it: "))
    assert json.loads(argv[argv.index("--input") + 1])["order"]["total"] > 100
    returned = json.loads(mock.read_text())["MockedResponses"]["MockedFetchSuccess"]["0"]["Return"]
    assert returned["StatusCode"] == 200 and returned["Payload"]["job"]["status"] == "DONE"
    assert isinstance(returned["Payload"]["items"], list) and "sku" in returned["Payload"]["items"][0]
    result = _json_run(capsys, *argv[2:])
    assert result["status"] == "SUCCEEDED", result["cause"]


# -- item 6: hints name what the user can do where they are -------------------------------------


def test_a_missing_function_hints_at_a_mock_and_a_placeholder_at_substitute(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    plain = _asl(tmp_path, {"StartAt": "B", "States": {"B": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:x", "End": True}}}, "plain.asl.json")
    assert main(["run", plain]) == 1
    hint = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("hint:"))
    assert "flowengine mocks scaffold" in hint and "--mock" in hint
    placeholder = _asl(tmp_path, {"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${Fn}", "Payload.$": "$"}, "End": True}}}, "placeholder.asl.json")
    assert main(["run", placeholder]) == 1
    hint = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("hint:"))
    assert "--substitute Fn=VALUE" in hint


def test_no_message_tells_a_cli_user_to_call_a_python_constructor() -> None:
    """String literals outside docstrings (failure causes, diagnostics' hints, CLI errors) name
    options or mocks, not Python constructors such as Engine(integrations=[...])."""
    import ast

    constructor = re.compile(r"\b(?:Engine|AppRuntime|TestRuntime|LocalServices|LambdaFunction)\([a-z_]+=|handlers=\{")
    offenders = []
    for path in (ROOT / "flowengine").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and constructor.search(node.value)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:80]}")
    # Raised only to Python code that reads result.path of an unrecorded run: the CLI always
    # records, so its users never meet it, and a Python user can do what it says.
    python_only = ("flowengine/engine/result.py",)
    assert [o for o in offenders if not o.startswith(python_only)] == []


# -- item 5: --object s3://BUCKET/KEY=FILE for ItemReader and ResultWriter ----------------------


def _distributed(reader: dict, processor_reads: str) -> dict:
    return {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "Take", "States": {"Take": {
                              "Type": "Pass", "Parameters": {"v.$": processor_reads}, "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket": "results", "Prefix": "runs"}},
        "End": True}}}


GET = "arn:aws:states:::s3:getObject"
READERS = {
    "json": ({"Resource": GET, "ReaderConfig": {"InputType": "JSON"},
              "Parameters": {"Bucket": "data", "Key": "in/items.json"}}, "$.id",
             "items.json", '[{"id": "a"}, {"id": "b"}]'),
    "jsonl": ({"Resource": GET, "ReaderConfig": {"InputType": "JSONL"},
               "Parameters": {"Bucket": "data", "Key": "in/items.jsonl"}}, "$.id",
              "items.jsonl", '{"id": "a"}\n{"id": "b"}\n'),
    "csv": ({"Resource": GET, "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
             "Parameters": {"Bucket": "data", "Key": "in/items.csv"}}, "$.id",
            "items.csv", "id,qty\na,1\nb,2\n"),
    "listing": ({"Resource": "arn:aws:states:::s3:listObjectsV2",
                 "Parameters": {"Bucket": "data", "Prefix": "in/"}}, "$.Key",
                "items.txt", "anything"),
}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_item_reader_and_result_writer_run_from_the_command_line(kind: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    reader, reads, name, content = READERS[kind]
    local = tmp_path / name
    local.write_text(content, encoding="utf-8")
    path = _asl(tmp_path, _distributed(reader, reads))
    objects = ["--object", f"s3://data/in/{name}={local}", "--object", "s3://results/"]
    if kind == "listing":  # two objects under the prefix: two items
        objects += ["--object", f"s3://data/in/second.txt={local}"]
    result = _json_run(capsys, path, *objects)
    assert result["status"] == "SUCCEEDED", result["cause"]
    details = result["output"]["ResultWriterDetails"]
    assert details["Bucket"] == "results" and details["Key"].startswith("runs/") and details["Key"].endswith("manifest.json")
    # every item read had the field the iteration selects (a missing one fails the Map Run)
    assert "MapRunSucceeded" in [e["type"] for e in result["history"]]


def test_without_the_object_the_hint_names_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reader, reads, _, _ = READERS["json"]
    path = _asl(tmp_path, _distributed(reader, reads))
    assert main(["run", path]) == 1
    out = capsys.readouterr().out
    assert "States.ItemReaderFailed" in out and "--object s3://BUCKET/KEY=LOCAL_FILE" in out


@pytest.mark.parametrize("value, message", [
    ("items.json", "goes with --event"),
    ("s3://data=items.json", "write s3://BUCKET/KEY=FILE"),
    ("s3://data/in/items.json=missing.json", "missing.json"),
])
def test_object_option_mistakes_are_usage_errors(value: str, message: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    reader, reads, _, _ = READERS["json"]
    path = _asl(tmp_path, _distributed(reader, reads))
    assert main(["run", path, "--object", value]) == 2
    assert message in capsys.readouterr().err

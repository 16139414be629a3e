"""``flowengine import`` of functions on runtimes an app file treats specially (issue 13).

* a runtime Lambda no longer accepts for new functions is imported as the oldest runtime of
  its language Lambda has not deprecated, and the report says so (the code is to be tested on
  it); the imported app validates and compiles;
* a deprecated runtime Lambda still accepts is carried over, with a note;
* another language is carried over (validate warns once; compile keeps Runtime, CodeUri and
  Handler as written);
* a handler module that is no Python identifier (``buy-sell.handler``) is carried over and
  validates;
* running the template itself keeps working on the local interpreter, said once (FE908).

The day is fixed (``runtimes.today`` replaced): where a runtime stands depends on it.
"""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowengine.compile import compile_app
from flowengine.dsl.app import load
from flowengine.dsl.sam_import import import_template
from flowengine.model import runtimes
from flowengine.testing import mocks, run_flow
from flowengine.validate import validate_app

DAY = datetime.date(2026, 12, 6)  # python3.7 refused, python3.8 deprecated, python3.11 the oldest supported


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "today", lambda: DAY)


BUY_SELL = 'def handler(event, context):\n    return {"action": "buy" if event["price"] < 50 else "sell"}\n'


def _template(tmp_path: Path, functions: str, globals_: str = "") -> Path:
    """A SAM project: the functions given (CodeUri src/) and a state machine calling ``First``."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "buy-sell.py").write_text(BUY_SELL, encoding="utf-8")
    (src / "app.py").write_text(BUY_SELL, encoding="utf-8")
    (src / "index.mjs").write_text("export const handler = async () => ({});\n", encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(textwrap.dedent("""\
        AWSTemplateFormatVersion: '2010-09-09'
        Transform: AWS::Serverless-2016-10-31
        {globals}
        Resources:
        {functions}
          Trade:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition:
                StartAt: Call
                States:
                  Call:
                    Type: Task
                    Resource: arn:aws:states:::lambda:invoke
                    Parameters:
                      FunctionName: !GetAtt First.Arn
                      Payload.$: $
                    OutputPath: $.Payload
                    End: true
              Policies:
                - LambdaInvokePolicy:
                    FunctionName: !Ref First
        """).format(globals=globals_, functions=textwrap.indent(textwrap.dedent(functions), "  ")),
        encoding="utf-8")
    return template


def _import(template: Path) -> tuple[Path, Any, dict[str, Any]]:
    out = template.parent / "app.yaml"
    result = import_template(template, out)
    assert [d.format() for d in result.diagnostics if d.severity == "error"] == []
    out.write_text(result.text, encoding="utf-8")
    return out, result, yaml.safe_load(result.text)


def _errors(app: Path) -> list[str]:
    return [d.format() for d in validate_app(load(app), check_handlers=True) if d.severity == "error"]


def test_a_python_runtime_lambda_refuses_is_imported_as_the_oldest_supported_and_said(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.7}
        """)
    app, result, doc = _import(template)
    assert doc["functions"]["First"]["runtime"] == "python3.11"
    assert ("First: runtime python3.7 is no longer accepted by Lambda (no new functions since 2024-01-09); "
            "imported as python3.11: test the code on it") in result.warnings
    assert _errors(app) == []
    compiled = compile_app(load(app))
    assert compiled.template["Resources"]["First"]["Properties"]["Runtime"] == "python3.11"


def test_a_refused_runtime_in_globals_becomes_the_defaults_and_is_said_once(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: app.handler}
        Second:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: buy-sell.handler}
        """, globals_="Globals:\n  Function:\n    Runtime: python3.7\n")
    app, result, doc = _import(template)
    assert doc["defaults"]["runtime"] == "python3.11"
    assert all("runtime" not in f for f in doc["functions"].values())
    notes = [w for w in result.warnings if "python3.7" in w]
    assert notes == ["Globals.Function: runtime python3.7 is no longer accepted by Lambda (no new functions since "
                     "2024-01-09); imported as python3.11: test the code on it"]
    assert _errors(app) == []


def test_a_deprecated_runtime_lambda_still_takes_is_carried_over_with_a_note(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.8}
        """)
    app, result, doc = _import(template)
    assert doc["functions"]["First"]["runtime"] == "python3.8"
    assert any(w.startswith("First: runtime python3.8 is deprecated by Lambda since 2024-10-14") for w in result.warnings)
    assert _errors(app) == []
    assert [d.code for d in validate_app(load(app)) if d.severity == "warning"] == ["FE628"]


def test_another_language_is_carried_over_mockable_and_compiled_unchanged(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: index.handler, Runtime: nodejs24.x}
        """)
    app, result, doc = _import(template)
    assert doc["functions"]["First"] == {"handler": "index.handler", "runtime": "nodejs24.x"}
    assert any("runtime nodejs24.x: flowengine runs Python handlers only" in w for w in result.warnings)
    warnings = [d for d in validate_app(load(app), check_handlers=True)]
    assert [(d.code, d.severity) for d in warnings] == [("FE628", "warning")]
    props = compile_app(load(app)).template["Resources"]["First"]["Properties"]
    assert (props["Runtime"], props["Handler"], props["CodeUri"]) == ("nodejs24.x", "index.handler", "src")
    assert run_flow(str(app), input={"price": 1}, mocks={"Call": mocks.returns({"Payload": {"ok": 1}})}).output == {"ok": 1}
    unmocked = run_flow(str(app), input={"price": 1})
    assert (unmocked.status, unmocked.error) == ("FAILED", "UnsupportedRuntime")


def test_a_hyphenated_handler_module_is_carried_over_and_runs(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: buy-sell.handler, Runtime: python3.12}
        """)
    app, _, doc = _import(template)
    assert doc["functions"]["First"]["handler"] == "buy-sell.handler"
    assert _errors(app) == []
    result = run_flow(str(app), input={"price": 80})
    assert (result.status, result.output) == ("SUCCEEDED", {"action": "sell"})
    assert compile_app(load(app)).template["Resources"]["First"]["Properties"]["Handler"] == "buy-sell.handler"


def test_a_runtime_lambda_does_not_know_is_carried_over_and_validate_names_it(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: app.handler, Runtime: pyhton3.12}
        """)
    app, result, doc = _import(template)
    assert doc["functions"]["First"]["runtime"] == "pyhton3.12"
    assert "First: runtime pyhton3.12 is not a Lambda runtime; carried over as written" in result.warnings
    diags = [d for d in validate_app(load(app)) if d.severity == "error"]
    assert [(d.code, d.hint) for d in diags] == [("FE604", "did you mean 'python3.12'?")]


def test_the_template_itself_runs_a_refused_python_runtime_locally_and_says_so_once(tmp_path: Path) -> None:
    template = _template(tmp_path, """\
        First:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: buy-sell.handler, Runtime: python3.7}
        Second:
          Type: AWS::Serverless::Function
          Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.7}
        """)
    notes = [d for d in validate_app(load(template)) if d.code == "FE908"]
    assert len(notes) == 1 and notes[0].severity == "warning"
    assert "runs python3.7, which Lambda no longer accepts for new functions (since 2024-01-09)" in notes[0].message
    assert "runs on this interpreter" in notes[0].message
    result = run_flow(str(template), input={"price": 20})
    assert (result.status, result.output) == ("SUCCEEDED", {"action": "buy"})

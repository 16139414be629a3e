"""A function's environment may name a flow or a function (``${Flow}``, ``${FlowArn}``,
``${Fn}``, ``${FnArn}``), the way a SAM template's ``Environment`` takes ``!Ref StateMachine``.

A handler that starts a state machine reads its ARN from the environment: the most common
reason a template's function names a state machine.  Validate accepts it, the local runtime
gives the emulated ARN, compile gives the deployed one (constructed, so no dependency cycle),
and import carries ``!Ref``/``!GetAtt`` of a state machine or function over instead of writing
a stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load
from flowengine.dsl.sam_import import import_template
from flowengine.errors import ValidationError
from flowengine.testing import run_flow
from flowengine.validate import validate_app

APP = """\
app: envrefs
functions:
  Starter:
    handler: starter.handler
    environment:
      FLOW_ARN: ${WorkArn}
      FLOW_NAME: ${Work}
      HELPER: ${Helper}
      HELPER_ARN: ${HelperArn}
  Helper:
    handler: starter.handler
flows:
  Work:
    StartAt: Go
    States:
      Go: {Type: Pass, End: true}
  Entry:
    StartAt: Start
    States:
      Start: {Type: Task, Resource: "${StarterArn}", End: true}
"""
HANDLER = """\
import os

def handler(event, context):
    names = ("FLOW_ARN", "FLOW_NAME", "MACHINE_ARN", "MACHINE_NAME", "HELPER", "HELPER_ARN")
    return {k: os.environ[k] for k in names if k in os.environ}
"""


def _write(tmp_path: Path, app: str = APP) -> Path:
    (tmp_path / "starter.py").write_text(HANDLER)
    path = tmp_path / "app.yaml"
    path.write_text(app)
    return path


def test_validate_accepts_flow_and_function_references_in_an_environment(tmp_path: Path) -> None:
    assert [d for d in validate_app(load(_write(tmp_path))) if d.severity == "error"] == []


def test_an_unknown_name_in_an_environment_is_still_fe611(tmp_path: Path) -> None:
    path = _write(tmp_path, APP.replace("${Helper}", "${Helpr}"))
    (diag,) = [d for d in validate_app(load(path)) if d.severity == "error"]
    assert diag.code == "FE611" and "${Helpr}" in diag.message and "Helper" in (diag.hint or "")


def test_the_local_runtime_gives_the_emulated_names_and_arns(tmp_path: Path) -> None:
    result = run_flow(load(_write(tmp_path)), "Entry", input={})
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    assert out["FLOW_ARN"].startswith("arn:aws:states:") and out["FLOW_ARN"].endswith(":stateMachine:Work")
    assert out["FLOW_NAME"] == "Work"
    assert out["HELPER"] == "Helper"
    assert out["HELPER_ARN"].startswith("arn:aws:lambda:") and out["HELPER_ARN"].endswith(":function:Helper")


def test_compile_gives_the_deployed_values_without_a_cycle(tmp_path: Path) -> None:
    compiled = compile_app(load(_write(tmp_path)))
    env = compiled.template["Resources"]["Starter"]["Properties"]["Environment"]["Variables"]
    text = json.dumps(env)
    assert "stateMachine:${AWS::StackName}-Work" in text  # constructed: no DependsOn on the machine
    assert env["HELPER"] == {"Ref": "Helper"}
    assert env["HELPER_ARN"] == {"Fn::GetAtt": ["Helper", "Arn"]}
    assert [p for p in check_template(compiled.template) if not p.startswith("[lint] W")] == []


def test_compile_refuses_a_function_naming_itself(tmp_path: Path) -> None:
    path = _write(tmp_path, APP.replace("HELPER: ${Helper}", "SELF: ${Starter}"))
    with pytest.raises(ValidationError) as info:
        compile_app(load(path))
    (diag,) = [d for d in info.value.diagnostics if d.severity == "error"]
    assert diag.code == "FE803" and "its own function" in diag.message
    assert "AWS_LAMBDA_FUNCTION_NAME" in (diag.hint or "")


TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  StarterFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: starter.handler
      Runtime: python3.12
      Environment:
        Variables:
          MACHINE_ARN: !Ref Machine
          MACHINE_NAME: !GetAtt Machine.Name
          HELPER: !Ref HelperFunction
          HELPER_ARN: !GetAtt HelperFunction.Arn
  HelperFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: starter.handler
      Runtime: python3.12
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Go
        States:
          Go: {Type: Pass, End: true}
  Entry:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Start
        States:
          Start: {Type: Task, Resource: "${Starter}", End: true}
      DefinitionSubstitutions:
        Starter: !GetAtt StarterFunction.Arn
"""


def _imported(tmp_path: Path) -> tuple[Any, list[str]]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "starter.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    out = tmp_path / "app.yaml"
    result = import_template(tmp_path / "template.yaml", out)
    out.write_text(result.text)
    return load(out), result.warnings


def test_import_carries_state_machine_and_function_references_in_an_environment(tmp_path: Path) -> None:
    loaded, warnings = _imported(tmp_path)
    env = loaded.app.functions["StarterFunction"].environment
    assert env == {"MACHINE_ARN": "${MachineArn}", "MACHINE_NAME": "${Machine}",
                   "HELPER": "${HelperFunction}", "HELPER_ARN": "${HelperFunctionArn}"}
    assert not [w for w in warnings if "environment" in w], warnings
    assert [d for d in validate_app(loaded) if d.severity == "error"] == []
    compiled = compile_app(loaded)
    assert [p for p in check_template(compiled.template) if not p.startswith("[lint] W")] == []


def test_the_template_and_its_import_give_a_handler_the_same_environment(tmp_path: Path) -> None:
    loaded, _ = _imported(tmp_path)
    outputs = [run_flow(source, "Entry", input={}).output for source in (loaded, load(tmp_path / "template.yaml"))]
    assert outputs[0] == outputs[1]
    assert set(outputs[0]) == {"MACHINE_ARN", "MACHINE_NAME", "HELPER", "HELPER_ARN"}
    assert outputs[0]["MACHINE_ARN"].endswith(":stateMachine:Machine")
    assert outputs[0]["HELPER_ARN"].endswith(":function:HelperFunction")

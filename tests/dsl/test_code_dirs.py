"""Each function's handler imports from its own code, as Lambda packages it.

SAM projects commonly give every function a folder of its own with an ``app.py`` in it.  An
app file imported from such a template ran every function with the first folder's ``app``
(the local runtime imported from all ``code:`` directories at once); a function now imports
from its ``code_uri`` (or, without one, from the first ``code`` directory holding its
module, which is what compile packages), on the template and on its import alike.
"""

from __future__ import annotations

from pathlib import Path

from flowengine.dsl.app import load
from flowengine.dsl.sam_import import import_template
from flowengine.testing import run_flow

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12}
Resources:
  First:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/first/, Handler: app.handler}
  Second:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/second/, Handler: app.handler}
  Third:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/third/, Handler: app.handler}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Both
        States:
          Both:
            Type: Parallel
            End: true
            Branches:
              - {StartAt: A, States: {A: {Type: Task, Resource: "${A}", End: true}}}
              - {StartAt: B, States: {B: {Type: Task, Resource: "${B}", End: true}}}
              - {StartAt: C, States: {C: {Type: Task, Resource: "${C}", End: true}}}
      DefinitionSubstitutions:
        A: !GetAtt First.Arn
        B: !GetAtt Second.Arn
        C: !GetAtt Third.Arn
"""


def _project(tmp_path: Path) -> Path:
    for name in ("first", "second", "third"):
        folder = tmp_path / "functions" / name
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(f"def handler(event, context):\n    return {name!r}\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path / "template.yaml"


def test_the_template_and_its_import_run_each_function_from_its_own_folder(tmp_path: Path) -> None:
    template = _project(tmp_path)
    result = import_template(template, tmp_path / "app.yaml")
    assert not [w for w in result.warnings if "module" in w], result.warnings
    (tmp_path / "app.yaml").write_text(result.text)
    for source in (template, tmp_path / "app.yaml"):
        run = run_flow(load(source), "Machine", input={})
        assert (run.status, run.output) == ("SUCCEEDED", ["first", "second", "third"]), (source, run.cause)


def test_an_app_file_function_imports_from_its_code_uri_or_the_first_folder_holding_its_module(
        tmp_path: Path) -> None:
    _project(tmp_path)
    (tmp_path / "functions" / "second" / "other.py").write_text("def handler(event, context):\n    return 'other'\n")
    (tmp_path / "app.yaml").write_text("""\
app: codedirs
code: [functions/first, functions/second]
functions:
  First: {handler: app.handler}
  Other: {handler: other.handler}
  Third: {handler: app.handler, code_uri: functions/third}
flows:
  Machine:
    StartAt: Both
    States:
      Both:
        Type: Parallel
        End: true
        Branches:
          - {StartAt: C, States: {C: {Type: Task, Function: Third, End: true}}}
          - {StartAt: B, States: {B: {Type: Task, Function: Other, End: true}}}
          - {StartAt: A, States: {A: {Type: Task, Function: First, End: true}}}
""")
    run = run_flow(load(tmp_path / "app.yaml"), "Machine", input={})
    assert (run.status, run.output) == ("SUCCEEDED", ["third", "other", "first"]), run.cause

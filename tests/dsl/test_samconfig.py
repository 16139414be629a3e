"""samconfig.toml beside a template gives its parameter values (flowengine/dsl/samconfig.py)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from flowengine.cli import main
from flowengine.dsl.app import load
from flowengine.dsl.sam_import import import_template
from flowengine.dsl.samconfig import parameter_overrides
from flowengine.errors import LoadError
from flowengine.testing import run_flow

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
  Greeting:
    Type: String
    Default: hello
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Say
        States:
          Say:
            Type: Pass
            Result: {stage: "${Stage}", greeting: "${Greeting}"}
            End: true
      DefinitionSubstitutions:
        Stage: !Ref Stage
        Greeting: !Ref Greeting
"""


def _project(tmp_path: Path, config: str | None, name: str = "samconfig.toml") -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    if config is not None:
        (tmp_path / name).write_text(config)
    return tmp_path / "template.yaml"


def _output(template: Path, **kw: object) -> object:
    result = run_flow(load(template, **kw), "Machine", input={})  # type: ignore[arg-type]
    assert result.status == "SUCCEEDED", result.cause
    return result.output


def test_deploy_parameter_overrides_give_a_parameter_with_no_default_its_value(tmp_path: Path) -> None:
    template = _project(tmp_path, 'version = 0.1\n[default.deploy.parameters]\n'
                                  'stack_name = "demo"\nparameter_overrides = "Stage=prod Greeting=\\"good day\\""\n')
    assert _output(template) == {"stage": "prod", "greeting": "good day"}


def test_explicit_values_win_over_the_file(tmp_path: Path) -> None:
    template = _project(tmp_path, '[default.deploy.parameters]\nparameter_overrides = "Stage=prod"\n')
    assert _output(template, parameters={"Stage": "dev"}) == {"stage": "dev", "greeting": "hello"}


def test_deploy_wins_over_global_and_lists_are_read(tmp_path: Path) -> None:
    template = _project(tmp_path, '[default.global.parameters]\nparameter_overrides = ["Stage=qa", "Greeting=hi"]\n'
                                  '[default.deploy.parameters]\nparameter_overrides = ["Stage=prod"]\n')
    assert parameter_overrides(template) == {"Stage": "prod", "Greeting": "hi"}


def test_the_yaml_form_and_other_environments(tmp_path: Path) -> None:
    template = _project(tmp_path, "version: 0.1\ndefault:\n  deploy:\n    parameters:\n"
                                  "      parameter_overrides: Stage=yaml\nstaging:\n  deploy:\n    parameters:\n"
                                  "      parameter_overrides: Stage=other\n", name="samconfig.yaml")
    assert parameter_overrides(template) == {"Stage": "yaml"}
    assert parameter_overrides(template, env="staging") == {"Stage": "other"}


def test_no_file_or_no_overrides_gives_nothing(tmp_path: Path) -> None:
    assert parameter_overrides(_project(tmp_path, None)) == {}
    assert parameter_overrides(_project(tmp_path, '[default.deploy.parameters]\nstack_name = "x"\n')) == {}


@pytest.mark.parametrize("config, code, line", [
    ('[default.deploy.parameters]\nparameter_overrides = "Stage=prod\n', "FE105", 2),
    ('[default.deploy.parameters]\nparameter_overrides = 3\n', "FE109", 1),
    ('[default.deploy.parameters]\nparameter_overrides = "Stage"\n', "FE109", 1),
    ('default = 1\n', "FE109", 1),
])
def test_a_broken_file_is_a_located_error(tmp_path: Path, config: str, code: str, line: int) -> None:
    template = _project(tmp_path, config)
    with pytest.raises(LoadError) as info:
        load(template)
    (diag,) = info.value.diagnostics
    assert diag.code == code and diag.span.file.endswith("samconfig.toml") and diag.span.line == line
    for command, exit_code in (("validate", 1), ("run", 2)):  # problems found; bad input (README)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([command, str(template)])
        assert rc == exit_code and f"samconfig.toml:{line}:" in out.getvalue() + err.getvalue()


def test_import_writes_the_values_in(tmp_path: Path) -> None:
    template = _project(tmp_path, '[default.deploy.parameters]\nparameter_overrides = "Stage=prod"\n')
    result = import_template(template, tmp_path / "app.yaml")
    assert not [w for w in result.warnings if "has no Default" in w], result.warnings
    assert "stage: prod" in result.text

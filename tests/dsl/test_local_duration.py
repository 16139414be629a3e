"""A function's local_duration: validated, modelled on the virtual clock, never compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.dsl.app import load
from flowengine.testing import run_flow
from flowengine.validate import validate_app

APP = """app: slow
code: .
functions:
  Write: {{handler: slowdb.write, timeout: 10s{extra}}}
flows:
  Main:
    StartAt: Call
    States:
      Call: {{Type: Task, Function: Write, End: true}}
"""


def _app(tmp_path: Path, extra: str) -> str:
    (tmp_path / "slowdb.py").write_text("def write(event, context):\n    return {'left': context.get_remaining_time_in_millis()}\n")
    path = tmp_path / "app.yaml"
    path.write_text(APP.format(extra=extra))
    return str(path)


@pytest.mark.parametrize("value, code", [("fast", "FE606"), ("-1", "FE607"), ("[1]", "FE603"), ("901", "FE607")])
def test_bad_values_are_located(tmp_path: Path, value: str, code: str) -> None:
    path = _app(tmp_path, f", local_duration: {value}")
    found = [(d.code, d.span.line) for d in validate_app(load(path))]
    assert found == [(code, 4)]


def test_the_invocation_takes_that_long_on_the_virtual_clock(tmp_path: Path) -> None:
    result = run_flow(_app(tmp_path, ", local_duration: 4s"))
    assert result.status == "SUCCEEDED"
    assert result.stop_ts - result.start_ts == pytest.approx(4.0)


def test_longer_than_the_timeout_times_out_as_lambda_does(tmp_path: Path) -> None:
    result = run_flow(_app(tmp_path, ", local_duration: 30s"))
    assert result.error == "Sandbox.Timedout"


def test_it_is_not_compiled(tmp_path: Path) -> None:
    from flowengine.compile import compile_app

    with_it = compile_app(load(_app(tmp_path, ", local_duration: 4s"))).template
    without = compile_app(load(_app(tmp_path, ""))).template
    assert with_it == without

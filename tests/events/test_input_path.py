"""An event_pattern trigger's input_path (EventBridge target InputPath): validated, compiled, applied."""

from __future__ import annotations

import pytest

from flowengine.dsl.app import loads
from flowengine.validate import validate_app

APP = """app: shop
flows:
  Handle:
    StartAt: Done
    States:
      Done: {Type: Pass, End: true}
triggers:
  - event_pattern: {source: [shop.web]}
    start: Handle
"""


def _diags(extra: str) -> list[str]:
    return [f"{d.code} {d.message}" for d in validate_app(loads(APP + extra, "app.yaml"))]


def test_a_jsonpath_is_accepted() -> None:
    assert _diags("    input_path: $.detail\n") == []


@pytest.mark.parametrize("value, code", [("detail", "FE40"), ("$.detail[", "FE40"), ("42", "FE603")])
def test_a_bad_input_path_is_reported(value: str, code: str) -> None:
    found = _diags(f"    input_path: '{value}'\n" if value != "42" else "    input_path: 42\n")
    assert len(found) == 1 and found[0].startswith(code) and "input_path" in found[0]


def test_input_and_input_path_are_exclusive() -> None:
    found = _diags("    input: {a: 1}\n    input_path: $.detail\n")
    assert found and found[0].startswith("FE625")


def test_input_path_compiles_to_the_rules_inputpath(tmp_path) -> None:
    from flowengine.compile import compile_app

    compiled = compile_app(loads(APP + "    input_path: $.detail\n", str(tmp_path / "app.yaml")))
    events = compiled.template["Resources"]["Handle"]["Properties"]["Events"]
    (rule,) = events.values()
    assert rule["Properties"]["InputPath"] == "$.detail"


def test_the_runtime_delivers_the_selected_part() -> None:
    from flowengine.runtime.app import AppRuntime

    with AppRuntime(loads(APP + "    input_path: $.detail\n", "app.yaml")) as runtime:
        runtime.send({"source": "shop.web", "detail-type": "X", "detail": {"orderId": "o-1"}})
        runtime.run_until_idle()
        (result,) = runtime.executions("Handle")
    assert result.output == {"orderId": "o-1"}

"""Runtimes and handler names as Lambda takes them (issue 13: FE604, FE605, FE628).

* The table of runtimes (flowengine.model.runtimes) is Lambda's: its identifiers are those of
  botocore's Lambda model, its dates those cfn-lint checks a template against.
* An app file may name any runtime Lambda still accepts for new functions.  Another language
  is a warning (it runs locally only when mocked), a deprecated runtime a warning, one Lambda
  refuses (or does not know) an error naming the runtime to move to.
* A Python handler is ``module.function`` as Lambda's Python runtime imports it: a file name
  that is no identifier (``buy-sell.handler``) and a ``dir/module`` path are fine, and the
  local runner really imports and runs them; what Lambda cannot import is still FE605.

Where a runtime stands depends on the day, as on AWS: every test that depends on it fixes the
day (``runtimes.today`` replaced).
"""

from __future__ import annotations

import datetime
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.compile import compile_app
from flowengine.dsl.app import load, loads
from flowengine.dsl.schema import app_schema
from flowengine.errors import ValidationError
from flowengine.model import runtimes
from flowengine.model.diagnostics import Diagnostic
from flowengine.testing import mocks, run_flow
from flowengine.validate import validate_app

#: A day when python3.7 is refused, python3.8 deprecated but still taken, python3.11 the oldest
#: Python runtime Lambda has not deprecated.
DAY = datetime.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "today", lambda: DAY)


def _diags(text: str, path: str = "app.yaml") -> list[Diagnostic]:
    return validate_app(loads(textwrap.dedent(text), path))


def _function(handler: str, runtime: str | None = None) -> str:
    extra = f"\n            runtime: {runtime}" if runtime else ""
    return f"""
        app: shop
        functions:
          Work:
            handler: {json.dumps(handler)}{extra}
        flows:
          Main:
            StartAt: A
            States:
              A: {{Type: Task, Function: Work, End: true}}
        """


def _found(text: str) -> list[tuple[str, str, str]]:
    return [(d.code, d.severity, d.message) for d in _diags(text)]


# --- the table is Lambda's ------------------------------------------------------------------------


def test_the_identifiers_are_those_of_lambdas_api() -> None:
    botocore_session = pytest.importorskip("botocore.session")
    model = botocore_session.get_session().get_service_model("lambda")
    assert set(runtimes.LAMBDA_RUNTIMES) == set(model.shape_for("Runtime").enum)


def test_the_dates_are_those_cfn_lint_checks_against() -> None:
    cfnlint_data = pytest.importorskip("cfnlint.data.AdditionalSpecs")
    from importlib import resources

    schedule = json.loads(resources.files(cfnlint_data).joinpath("LmbdRuntimeLifecycle.json").read_text())
    for rid, info in runtimes.LAMBDA_RUNTIMES.items():
        if rid not in schedule:
            assert info.deprecated is None, rid  # no schedule published: none invented
            continue
        dates = schedule[rid]
        assert (str(info.deprecated), str(info.block_create), str(info.block_update)) == (
            dates["deprecated"], dates["create-block"], dates["update-block"]), rid


def test_the_schema_offers_every_runtime_and_any_handler_lambda_takes() -> None:
    defs = app_schema()["$defs"]
    for section in ("function", "defaults"):
        assert defs[section]["properties"]["runtime"]["enum"] == list(runtimes.LAMBDA_RUNTIMES)
    assert defs["function"]["properties"]["handler"]["maxLength"] == runtimes.HANDLER_MAX_LENGTH


def test_stages_and_replacements_follow_the_day() -> None:
    assert runtimes.stage("python3.7") == "blocked"
    assert runtimes.stage("python3.8") == "deprecated"
    assert runtimes.stage("python3.12") == "supported"
    assert runtimes.stage("pyhton3.12") is None
    assert runtimes.replacement("python3.7") == "python3.11"
    assert runtimes.stage("python3.8", datetime.date(2027, 2, 1)) == "blocked"  # Lambda's create block
    assert runtimes.replacement("python3.7", datetime.date(2027, 7, 1)) == "python3.12"  # 3.11 deprecated
    assert runtimes.replacement("go1.x") == "provided.al2023"


# --- runtimes in an app file ----------------------------------------------------------------------


@pytest.mark.parametrize("runtime,hint", [
    ("pyhton3.12", "did you mean 'python3.12'?"),
    ("python3.12 ", "did you mean 'python3.12'?"),
    ("nodejs99.x", "did you mean"),
    ("cobol", "e.g. python3.12"),
])
def test_a_runtime_lambda_does_not_know_is_an_error(runtime: str, hint: str) -> None:
    diags = _diags(_function("app.work", json.dumps(runtime)))
    assert [d.code for d in diags] == ["FE604"]
    assert "is not a Lambda runtime" in diags[0].message
    assert diags[0].hint is not None and hint in diags[0].hint


def test_a_python_runtime_lambda_no_longer_takes_is_an_error_naming_the_one_to_move_to() -> None:
    diags = _diags(_function("app.work", "python3.7"))
    assert [(d.code, d.severity) for d in diags] == [("FE604", "error")]
    assert "python3.7 is no longer accepted by Lambda" in diags[0].message and "2024-01-09" in diags[0].message
    assert diags[0].hint == "move to python3.11 and test the code on it"
    assert (diags[0].span.line, diags[0].span.col) == (6, 14)  # the value, where it is written


def test_a_deprecated_runtime_is_a_warning_until_lambda_refuses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    diags = _diags(_function("app.work", "python3.8"))
    assert [(d.code, d.severity) for d in diags] == [("FE628", "warning")]
    assert "2024-10-14" in diags[0].message and "2027-02-01" in diags[0].message
    monkeypatch.setattr(runtimes, "today", lambda: datetime.date(2027, 2, 1))
    assert [(d.code, d.severity) for d in _diags(_function("app.work", "python3.8"))] == [("FE604", "error")]


def test_supported_python_runtimes_are_clean() -> None:
    for runtime in ("python3.11", "python3.12", "python3.13", "python3.14"):
        assert _diags(_function("app.work", runtime)) == [], runtime


@pytest.mark.parametrize("runtime,handler", [
    ("nodejs24.x", "index.handler"),
    ("nodejs22.x", "src/app.lambdaHandler"),
    ("java21", "com.example.Orders::handleRequest"),
    ("dotnet8", "Orders::Orders.Function::FunctionHandler"),
    ("provided.al2023", "bootstrap"),
    ("ruby3.4", "app.lambda_handler"),
])
def test_another_language_is_one_warning_and_its_handler_is_its_own(runtime: str, handler: str) -> None:
    diags = _diags(_function(handler, runtime))
    assert [(d.code, d.severity) for d in diags] == [("FE628", "warning")]
    assert f"runtime {runtime}: flowengine runs Python handlers only" in diags[0].message
    assert "runs locally only when mocked" in diags[0].message


def test_a_defaults_runtime_is_reported_once_where_it_is_written() -> None:
    diags = _diags("""
        app: shop
        defaults:
          runtime: nodejs24.x
        functions:
          A: {handler: index.a}
          B: {handler: index.b}
        """)
    assert [(d.code, d.span.line) for d in diags] == [("FE628", 4)]


def test_a_handler_with_whitespace_is_refused_for_every_runtime() -> None:
    diags = _diags(_function("index handler", "nodejs24.x"))
    assert sorted(d.code for d in diags) == ["FE605", "FE628"]


# --- Python handlers ------------------------------------------------------------------------------


@pytest.mark.parametrize("handler", ["buy-sell.handler", "src/app.handler", "src/buy-sell.handler",
                                     "pkg.mod.handler", "app.lambda_handler", "2fa.handler"])
def test_handlers_lambdas_python_runtime_imports_are_accepted(handler: str) -> None:
    assert _diags(_function(handler)) == []


@pytest.mark.parametrize("handler,hint", [
    ("handler", "name the module too: <module>.handler"),
    ("app:handler", "use a dot, not a colon: app.handler"),
    ("handlers/work.py", "write a module path, not a file path"),
    ("app.my-handler", "package.module.function"),
    ("/app.handler", None),
    ("src//app.handler", None),
    (".handler", None),
    ("src\\app.handler", "separate directories with / (Lambda runs on Linux): src/app.handler"),
    ("app handler.run", None),
    ("sys.handler", "rename the module: sys_handler.py"),
    ("time.handler", "rename the module"),
    ("a" * 125 + ".handler", "nearer the code directory's top"),
])
def test_handlers_lambda_would_refuse_are_fe605(handler: str, hint: str | None) -> None:
    diags = _diags(_function(handler))
    assert [d.code for d in diags] == ["FE605"], handler
    if hint is not None:
        assert diags[0].hint is not None and hint in diags[0].hint, diags[0].hint


# --- the handler check, local runs and compile ----------------------------------------------------


def _project(tmp_path: Path, handler: str, files: dict[str, str]) -> Path:
    """A trading app: a Python function on ``handler`` (its module among ``files``, under src/)
    whose result goes to a Node.js function."""
    for name, text in files.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    app = tmp_path / "app.yaml"
    app.write_text(textwrap.dedent(f"""\
        app: trader
        code: src
        functions:
          Recommend:
            handler: {handler}
          Notify:
            handler: index.handler
            runtime: nodejs24.x
        flows:
          Trade:
            StartAt: Recommend
            States:
              Recommend: {{Type: Task, Function: Recommend, Next: Notify}}
              Notify: {{Type: Task, Function: Notify, End: true}}
        """), encoding="utf-8")
    return app


BUY_SELL = 'def handler(event, context):\n    return {"action": "buy" if event["price"] < 50 else "sell"}\n'


@pytest.mark.parametrize("handler,files", [
    ("buy-sell.handler", {"buy-sell.py": BUY_SELL}),
    ("trading/buy-sell.handler", {"trading/buy-sell.py": BUY_SELL}),
])
def test_a_flow_whose_function_is_a_hyphenated_module_runs_it(tmp_path: Path, handler: str,
                                                              files: dict[str, str]) -> None:
    app = _project(tmp_path, handler, files)
    found = validate_app(load(app), check_handlers=True)
    assert [(d.code, d.severity) for d in found] == [("FE628", "warning")]  # the Node.js function only
    result = run_flow(str(app), input={"price": 20}, mocks={"Notify": mocks.returns({"sent": True})})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.path == ["Recommend", "Notify"]
    assert result.output == {"sent": True}
    assert result.state("Recommend").output == {"action": "buy"}  # the module's own handler ran


def test_the_handler_check_locates_a_hyphenated_module_and_its_function(tmp_path: Path) -> None:
    app = _project(tmp_path, "buy-sell.trade", {"buy-sell.py": BUY_SELL})
    found = [d for d in validate_app(load(app), check_handlers=True) if d.severity == "error"]
    assert [(d.code, d.message) for d in found] == [("FE621", "module 'buy-sell' defines no 'trade'")]
    app = _project(tmp_path, "sell-now.handler", {"buy-sell.py": BUY_SELL})
    found = [d for d in validate_app(load(app), check_handlers=True) if d.severity == "error"]
    assert [d.code for d in found] == ["FE620"]


def test_a_function_on_another_runtime_fails_clearly_when_invoked_unmocked(tmp_path: Path) -> None:
    app = _project(tmp_path, "buy-sell.handler", {"buy-sell.py": BUY_SELL})
    result = run_flow(str(app), input={"price": 80})
    assert result.status == "FAILED"
    assert result.path == ["Recommend", "Notify"]
    assert result.error == "UnsupportedRuntime"
    cause = json.loads(result.cause or "")
    assert cause["errorMessage"] == ("function 'Notify' runs nodejs24.x: flowengine runs Python handlers only "
                                     "(mock the Task that calls it: flowengine mocks scaffold)")
    assert cause["stackTrace"] == []  # flowengine's own frames are not the user's business


def test_mocks_scaffold_mocks_a_function_on_another_runtime(tmp_path: Path) -> None:
    from flowengine.integrations.mockconfig import scaffold

    app = _project(tmp_path, "buy-sell.handler", {"buy-sell.py": BUY_SELL})
    config = scaffold(load(app).app, "Trade")
    assert set(config["StateMachines"]["Trade"]["TestCases"]["HappyPath"]) == {"Recommend", "Notify"}


def _compiled_function(app: Path, name: str) -> dict[str, Any]:
    return compile_app(load(app)).template["Resources"][name]["Properties"]


def test_compile_keeps_another_runtime_and_a_hyphenated_handler_as_written(tmp_path: Path) -> None:
    app = _project(tmp_path, "buy-sell.handler", {"buy-sell.py": BUY_SELL, "index.mjs": "export const handler = 1;\n"})
    node = _compiled_function(app, "Notify")
    python = _compiled_function(app, "Recommend")
    assert (node["Runtime"], node["Handler"]) == ("nodejs24.x", "index.handler")
    assert python["Handler"] == "buy-sell.handler"
    assert node["CodeUri"] == python["CodeUri"]


def test_compile_refuses_a_runtime_lambda_no_longer_takes(tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "work.py").write_text(BUY_SELL, encoding="utf-8")
    app.write_text(textwrap.dedent("""\
        app: old
        code: src
        functions:
          Work: {handler: work.handler, runtime: python3.7}
        """), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        compile_app(load(app))
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["FE604"]

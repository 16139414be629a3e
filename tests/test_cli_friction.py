"""The newcomer's friction of issue 12 (items 7-12): each test fails on the behaviour the
issue reported and passes on the fix."""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from flowengine.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ORDERS = str(ROOT / "definitions" / "orders.yaml")
UPLOADS = str(ROOT / "definitions" / "upload-pipeline.yaml")


def _app(tmp_path: Path, body: str, *, handler: str | None = "def work(event, context):\n    return event\n") -> Path:
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    if handler is not None:
        (code / "jobs.py").write_text(handler)
    app = tmp_path / "app.yaml"
    app.write_text(textwrap.dedent(body))
    return app


# --- item 7: the README's commands after the quick start --------------------------------------------


def test_readme_quick_start_commands_are_unchanged() -> None:
    # CI runs the second one; both must stay exactly as they are
    assert ("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/flowengine validate definitions/*.yaml"
            in README)
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q" in README


def test_readme_says_how_to_activate_the_venv_before_any_bare_flowengine_command() -> None:
    activate = README.find(". .venv/bin/activate")
    assert activate != -1, "the README never says how to put flowengine on PATH"
    for block in re.finditer(r"```bash\n(.*?)```", README, re.DOTALL):
        bare = [line for line in block.group(1).splitlines() if line.startswith("flowengine ")]
        if bare:
            assert activate < block.start(), f"'{bare[0]}' comes before the README says how to activate the venv"


# --- item 8: compile --check --------------------------------------------------------------------------


def test_compile_check_runs_the_sam_transform_and_cfn_lint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", ORDERS, "--out", str(tmp_path / "build"), "--check"]) == 0
    assert "the SAM transform and cfn-lint found no problems" in capsys.readouterr().err


def test_compile_check_findings_exit_1_located_in_the_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import flowengine.compile

    seen: list[dict] = []

    def finding(template: dict, **_: object) -> list[str]:
        seen.append(template)
        return ["[lint] E3601 Resources/PlaceOrder/Properties/Definition: 'Next' is a required property"]

    monkeypatch.setattr(flowengine.compile, "check_template", finding)
    out = tmp_path / "build"
    assert main(["compile", ORDERS, "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    lines = (out / "template.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text == "  PlaceOrder:")
    assert f"{out / 'template.yaml'}:{line}:1: [lint] E3601 Resources/PlaceOrder" in err
    assert "Resources" in seen[0]  # the compiled template is what was checked


def test_compile_check_without_cfn_lint_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "cfnlint", None)  # as if it were not installed
    assert main(["compile", ORDERS, "--out", str(tmp_path / "build"), "--check"]) == 2
    assert "pip install 'flowengine[check]'" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()


def test_cfn_lint_is_the_check_extra_and_stays_pinned_in_test() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("cfn-lint") for req in extras["check"])
    assert "cfn-lint==1.58.0" in extras["test"]


# --- item 9: handlers checked by default; FE230 --------------------------------------------------------


MISSING_HANDLER = """\
    app: jobs
    code: src
    functions:
      Work: {handler: nowhere.work}
    flows:
      Run:
        StartAt: Do
        States:
          Do: {Type: Task, Function: Work, End: true}
    """


def test_validate_finds_a_missing_handler_module_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, MISSING_HANDLER)
    assert main(["validate", str(app)]) == 1
    assert "FE620 handler module 'nowhere' not found" in capsys.readouterr().out
    assert main(["validate", "--check-handlers", str(app)]) == 1  # the old flag still works


def test_validate_finds_a_missing_handler_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, MISSING_HANDLER.replace("nowhere.work", "jobs.missing"))
    assert main(["validate", str(app)]) == 1
    assert "FE621 module 'jobs' defines no 'missing'" in capsys.readouterr().out


def test_no_check_handlers_skips_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, MISSING_HANDLER)
    assert main(["validate", "--no-check-handlers", str(app)]) == 0
    assert "FE620" not in capsys.readouterr().out


CHOICE_WITHOUT_DEFAULT = """\
    {"StartAt": "Check", "States": {
      "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}]},
      "Big": {"Type": "Succeed"}}}
    """


def test_a_choice_without_default_is_a_warning_that_can_be_ignored(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    asl = tmp_path / "m.asl.json"
    asl.write_text(textwrap.dedent(CHOICE_WITHOUT_DEFAULT))
    assert main(["validate", str(asl)]) == 0  # a warning, not an error
    out = capsys.readouterr().out
    assert re.search(rf"{re.escape(str(asl))}:2:\d+: FE230 Choice state has no Default.*States.NoChoiceMatched", out)
    assert main(["validate", "--ignore", "FE230", str(asl)]) == 0
    assert "FE230" not in capsys.readouterr().out
    assert main(["validate", "--ignore", "fe513,FE230", "--format", "json", str(asl)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_ignore_never_hides_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asl = tmp_path / "m.asl.json"
    asl.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    assert main(["validate", "--ignore", "FE302", str(asl)]) == 1
    assert "FE302" in capsys.readouterr().out


def test_ignore_takes_codes_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--ignore", "choice-default", ORDERS]) == 2
    assert "--ignore CHOICE-DEFAULT: not a diagnostic code" in capsys.readouterr().err


def test_a_choice_with_default_gets_no_fe230(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asl = tmp_path / "m.asl.json"
    definition = json.loads(CHOICE_WITHOUT_DEFAULT)
    definition["States"]["Check"]["Default"] = "Big"
    asl.write_text(json.dumps(definition))
    assert main(["validate", str(asl)]) == 0
    assert "FE230" not in capsys.readouterr().out


# --- item 10: why no trigger took the event -----------------------------------------------------------


def test_run_event_names_the_trigger_and_the_prefix_that_refused(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "upload.json"
    assert main(["event", "generate", "s3-put", "--bucket", "Uploads", "--key", "outgoing/report.json"]) == 0
    event.write_text(capsys.readouterr().out)
    assert main(["run", UPLOADS, "--event", str(event)]) == 2
    err = capsys.readouterr().err
    assert "no trigger matched it" in err
    assert ("trigger NewUpload (flow ProcessUpload): key 'outgoing/report.json' does not start with prefix "
            "'incoming/'") in err


def test_run_event_names_the_bus_and_the_pattern_field_that_refused(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "order.json"
    assert main(["event", "generate", "eventbridge", "--source", "shop.web", "--detail-type", "OrderCreated"]) == 0
    event.write_text(capsys.readouterr().out)
    assert main(["run", ORDERS, "--event", str(event)]) == 2
    err = capsys.readouterr().err
    assert "trigger OrderPlaced (flow PlaceOrder): listens on bus ShopEvents" in err
    assert "--bus ShopEvents" in err
    assert 'the event has detail-type "OrderCreated"; the pattern wants "OrderPlaced"' in err
    assert 'source' not in err.split("trigger OrderPlaced", 1)[1]  # source matched: not named as a refusal
    assert main(["run", ORDERS, "--event", str(event), "--bus", "ShopEvents"]) == 2
    err = capsys.readouterr().err
    assert "listens on bus" not in err and 'the pattern wants "OrderPlaced"' in err


def test_explain_refusals_orders_triggers_closest_first() -> None:
    from flowengine.dsl.app import loads
    from flowengine.events.routing import Router, explain_refusals

    loaded = loads(textwrap.dedent("""\
        app: pics
        functions:
          Thumb: {handler: h.thumb}
          Audit: {handler: h.audit}
        resources:
          Images: {type: bucket}
          Other: {type: bucket}
          Jobs: {type: queue}
        triggers:
          - {name: OnPng, bucket: Images, suffix: .png, invoke: Thumb}
          - {name: OnOther, bucket: Other, invoke: Audit}
          - {name: OnJob, queue: Jobs, invoke: Audit}
        """), "app.yaml")
    router = Router(loaded.app, {"Images": "images-local", "Other": "other-local"})
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": "images-local"}, "object": {"key": "a/cat.jpg"}}}]}
    refusals = explain_refusals(router, event)
    assert [r.trigger.name for r in refusals] == ["OnPng", "OnOther", "OnJob"]
    assert refusals[0].reason == "key 'a/cat.jpg' does not end with suffix '.png'"
    assert refusals[1].reason == "listens on bucket Other; the event is for bucket images-local"
    assert refusals[2].closeness == 0
    event["Records"][0]["s3"]["object"]["key"] = "a/cat.png"
    assert [r.trigger.name for r in explain_refusals(router, event)] == ["OnOther", "OnJob"]  # OnPng takes it


@pytest.mark.parametrize("event", [
    None, "x", [], {}, {"Records": [{"eventSource": "aws:s3", "s3": "str"}]},
    {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": 5, "object": []}}]},
    {"Records": [{"eventSource": "aws:sns", "Sns": {"TopicArn": None, "MessageAttributes": "x"}}]},
    {"Records": [{"eventSource": "aws:sqs", "eventSourceARN": None}]},
    {"routeKey": "x", "requestContext": "s"}, {"Source": "a", "DetailType": "b", "Detail": "{bad"},
    {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": "x"}},
])
def test_explain_refusals_takes_events_of_any_shape(event: object) -> None:
    from flowengine.dsl.app import load
    from flowengine.events.routing import Router, describe_refusals, explain_refusals

    router = Router(load(UPLOADS).app, {"Uploads": "uploads-local"})
    assert "trigger NewUpload" in describe_refusals(explain_refusals(router, event))


def test_pattern_explain_names_the_refusing_fields_of_the_closest_alternative() -> None:
    from flowengine.lang.patterns import compile_pattern

    pattern = compile_pattern({"source": ["shop"], "$or": [{"detail": {"total": [{"numeric": [">", 100]}]}},
                                                           {"detail-type": ["Big", "Huge"]}]})
    miss = pattern.explain({"source": "shop", "detail-type": "Small", "detail": {"total": 5}})
    assert miss is not None and miss.matched == 1 and miss.total == 2
    assert len(miss.refused) == 1 and miss.refused[0][0] in ("detail.total", "detail-type")
    miss = pattern.explain({"source": "web", "detail-type": "Big"})
    assert miss is not None and miss.refused == (("source", 'the event has source "web"; the pattern wants "shop"'),)
    assert pattern.explain({"source": "shop", "detail-type": "Huge"}) is None


# --- item 11: YAML syntax errors at the line to change ------------------------------------------------


@pytest.mark.parametrize("text, line, words", [
    # PyYAML reports line 7 ("mapping values are not allowed"); the mistake is on line 6
    ("app: a\nflows:\n  F:\n    StartAt: A\n    States:\n      A:\n        Type:Pass\n        End: true\n",
     7, "no space after the colon in 'Type:Pass'"),
    ("app: a\nflows:\n  F:\n    StartAt: A\n    States:\n      A:\n        Type: Pass\n        End:true\n"
     "description: x\n", 8, "no space after the colon in 'End:true'"),
    ("app: a\ndescription: \"unclosed\nflows: {}\n", 2, "the quote (\") opened here is never closed"),
    ("app: a\nflows:\n  F:\n    StartAt: A\n     States: {}\n", 5, "indented more than the line above"),
    ("app: a\nflows:\n  F:\n    StartAt: A\n   States: {}\n", 5, "does not line up"),
    ("app: a\ndescription: Next: B\n", 2, "holds ': '"),
])
def test_yaml_syntax_errors_point_at_the_line_to_change(tmp_path: Path, text: str, line: int, words: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(text)
    assert main(["validate", str(app)]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"app\.yaml:{line}:\d+: FE105 malformed YAML: .*{re.escape(words)}", out), out
    assert "(" in out and "the YAML parser:" in out  # a hint, then PyYAML's own words


# --- item 12: help, options, messages -----------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, path: str = "flowengine") -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _parsers(child, f"{path} {name}")
    return found


def test_every_argument_has_a_description_and_every_command_an_example() -> None:
    undocumented = [f"{path} {action.option_strings or action.dest}"
                    for path, parser in _parsers(build_parser())
                    for action in parser._actions
                    if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert undocumented == []
    missing = [path for path, parser in _parsers(build_parser())[1:] if "example:" not in (parser.epilog or "")]
    assert missing == []


def test_every_example_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    monkeypatch.chdir(tmp_path)
    for name in ("detail.json", "order.json"):  # the @files the examples name
        (tmp_path / name).write_text("{}")
    parser = build_parser()
    for path, sub in _parsers(parser)[1:]:
        *before, command = sub.epilog.split("\n", 1)[1].split("&&")  # the last command is this one's
        for earlier in before:
            assert parser.parse_known_args(shlex.split(earlier.split(">", 1)[0])[1:])[1] == []
        words = shlex.split(command.split(">", 1)[0])
        assert words[0] == "flowengine", path
        args, extras = parser.parse_known_args(words[1:])
        assert extras == [] and getattr(args, "_parser").prog.startswith(sub.prog), f"{path}: {command}"


@pytest.mark.parametrize("argv, usage, guess", [
    (["validate", "--fomat", "json", ORDERS], "usage: flowengine validate", "did you mean --format?"),
    (["run", ORDERS, "--inptu", "{}"], "usage: flowengine run", "did you mean --input?"),
    (["event", "generate", "s3-put", "--buckt", "b"], "usage: flowengine event generate s3-put",
     "did you mean --bucket?"),
])
def test_a_mistyped_option_gets_the_subcommands_usage_and_a_guess(argv: list[str], usage: str, guess: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and guess in err


@pytest.mark.parametrize("argv, guess", [
    (["valdate", ORDERS], "did you mean 'validate'?"),
    (["validate", "--format", "jsn", ORDERS], "did you mean 'json'?"),
])
def test_a_mistyped_choice_gets_a_guess(argv: list[str], guess: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and guess in capsys.readouterr().err


def test_run_event_with_a_missing_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", ORDERS, "--event", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "missing.json does not exist" in err and "not JSON" not in err


def test_event_generate_detail_takes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    detail = tmp_path / "detail.json"
    detail.write_text('{"orderId": "o-1"}')
    assert main(["event", "generate", "eventbridge", "--detail", f"@{detail}"]) == 0
    assert json.loads(capsys.readouterr().out)["detail"] == {"orderId": "o-1"}
    with pytest.raises(SystemExit) as info:
        main(["event", "generate", "eventbridge", "--detail", f"@{tmp_path / 'nope.json'}"])
    assert info.value.code == 2 and "nope.json: no such file" in capsys.readouterr().err


def test_up_prints_the_duration_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, """\
        app: quiet
        flows:
          Noop:
            StartAt: A
            States:
              A: {Type: Pass, End: true}
        """)
    assert main(["up", str(app), "--virtual", "--duration", "7d"]) == 0
    out = capsys.readouterr().out
    assert "running 7d of virtual time" in out and "604800" not in out


def test_deploy_with_an_invalid_stack_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["deploy", ORDERS, "--stack-name", "orders_v2"])
    assert info.value.code == 2
    assert "'orders_v2' is not a stack name" in capsys.readouterr().err

"""App files desugar to canonical ASL; plain ASL loads through the same path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowengine.dsl.app import desugar_states, load, loads, substitute, substitution_names
from flowengine.dsl.durations import parse_duration, seconds
from flowengine.errors import LoadError

ROOT = Path(__file__).resolve().parents[2]

APP = """
app: demo
code: handlers
defaults: {timeout: 20s, memory: 512}
functions:
  Extract: {handler: h.extract, concurrency: 2, rollout: canary 10% every 5m}
  Other: {handler: h.other, timeout: 2m}
resources:
  Uploads: {type: bucket}
flows:
  Process:
    timeout: 1h
    StartAt: A
    States:
      A:
        Type: Task
        Function: Extract
        Retry: [{ErrorEquals: [States.ALL], IntervalSeconds: 2s, MaxDelaySeconds: 1m}]
        Next: W
      W: {Type: Wait, Seconds: 1h30m, End: true}
triggers:
  - {bucket: Uploads, prefix: in/, start: Process}
  - {schedule: rate(1 hour), invoke: Other}
"""


def test_app_desugars_to_canonical_asl(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(APP)
    app = load(str(path)).app
    flow = app.flows["Process"]
    assert flow.asl == {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "${ExtractArn}",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxDelaySeconds": 60}],
                "Next": "W",
            },
            "W": {"Type": "Wait", "Seconds": 5400, "End": True},
        },
        "TimeoutSeconds": 3600,
    }
    assert flow.definition.states["A"].retry[0].interval_seconds == 2
    assert app.functions["Extract"].timeout_seconds == 20
    assert app.functions["Other"].timeout_seconds == 120
    assert app.functions["Extract"].memory_mb == 512
    assert app.functions["Extract"].rollout is not None
    assert (app.functions["Extract"].rollout.strategy, app.functions["Extract"].rollout.percent,
            app.functions["Extract"].rollout.interval_minutes) == ("canary", 10, 5)
    assert app.code_paths == (str(tmp_path / "handlers"),)
    bucket, schedule = app.triggers
    assert (bucket.source, bucket.resource, bucket.target, bucket.target_kind) == ("bucket", "Uploads", "Process", "flow")
    assert bucket.options == {"prefix": "in/"}
    assert (schedule.source, schedule.target_kind, schedule.options["schedule"]) == ("schedule", "function", "rate(1 hour)")


def test_states_keep_their_source_positions(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(APP)
    state = load(str(path)).app.flows["Process"].definition.states["W"]
    assert (state.loc.span.line, state.loc.span.col) == (20, 10)
    assert state.path == "W"


def test_plain_asl_json_and_yaml_load_through_the_same_path(tmp_path: Path) -> None:
    asl = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    (tmp_path / "m.asl.json").write_text(json.dumps(asl))
    (tmp_path / "m.yaml").write_text("StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n")
    for name in ("m.asl.json", "m.yaml"):
        app = load(str(tmp_path / name)).app
        assert app.plain_asl and list(app.flows) == ["m"]
        assert app.flows["m"].asl == asl


def test_asl_is_verbatim_apart_from_shorthands() -> None:
    asl = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"}, "TimeoutSeconds": "{% 5 %}", "End": True}}}
    assert desugar_states(asl) == asl


def test_substitutions() -> None:
    asl = {"States": {"A": {"Resource": "${FArn}", "Parameters": {"TableName": "${Items}", "k": ["${Items}"]}}}}
    assert substitution_names(asl) == ["FArn", "Items"]
    out = substitute(asl, {"FArn": "arn:f", "Items": "items-table"})
    assert out["States"]["A"] == {"Resource": "arn:f", "Parameters": {"TableName": "items-table", "k": ["items-table"]}}


@pytest.mark.parametrize(("text", "secs"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("250ms", 0.25)])
def test_durations(text: str, secs: float) -> None:
    assert parse_duration(text) == secs
    assert seconds(text) == secs


def test_non_durations_are_left_alone() -> None:
    for value in (5, "5", "five minutes", "{% $x %}", None):
        assert seconds(value) == value


def test_top_level_list_is_a_located_error() -> None:
    with pytest.raises(LoadError) as info:
        loads("- a\n- b\n", "x.yaml")
    assert info.value.diagnostics[0].code == "FE109"


def test_bundled_definitions_load() -> None:
    for path in sorted((ROOT / "definitions").glob("*.yaml")):
        app = load(str(path)).app
        assert app.flows, path


def test_a_missing_definition_file_is_reported_where_it_is_named(tmp_path: Path) -> None:
    from flowengine.validate import validate_app

    (tmp_path / "app.yaml").write_text("app: x\nflows:\n  A:\n    definition_file: missing.asl.json\n"
                                       "  B:\n    definition_file: bad.json\n")
    (tmp_path / "bad.json").write_text('{"StartAt": ')
    diags = validate_app(load(str(tmp_path / "app.yaml")))
    found = [(d.code, Path(d.span.file).name, d.span.line, d.span.col) for d in diags]
    # Only the two real problems: no follow-on complaints about the empty definitions.
    assert found == [("FE101", "app.yaml", 4, 22), ("FE105", "bad.json", 1, 13)]

"""What the collected SAM projects (tests/samprojects) showed wrong in compile and its check.

* two buckets whose ``<app>-<bucket>`` labels share their first 43 characters got the same
  name (cfn-lint E3019; S3 would refuse the second);
* a template with a character outside Unicode's BMP (an emoji in a Description) failed the
  check with cfn-lint's "E0000 found invalid Unicode character escape code";
* cfn-lint's ASL schema refuses ``Parameters`` on a Parallel state, which AWS documents and
  takes: that one finding is dropped, nothing wider.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from flowengine.compile import check_template, compile_app
from flowengine.compile._cfn import bucket_name
from flowengine.dsl.app import load


def _errors(problems: list[str]) -> list[str]:
    return [p for p in problems if not p.startswith("[lint] W")]


def test_long_bucket_names_stay_apart_and_short_ones_are_unchanged() -> None:
    app = "sfn-workflows--word-filtering-script-generator"
    a, b = bucket_name(app, "TranscriptMediaBucket"), bucket_name(app, "TranscriptResultsBucket")
    (text_a, _), (text_b, _) = a["Fn::Sub"], b["Fn::Sub"]
    assert text_a != text_b
    for text in (text_a, text_b):
        label = text.removesuffix("-${StackSuffix}")
        assert len(label) <= 50 and label == label.lower()
    assert bucket_name("orders", "Uploads")["Fn::Sub"][0] == "orders-uploads-${StackSuffix}"


def _compile(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return compile_app(load(path)).template


def test_a_template_with_an_emoji_passes_the_check(tmp_path: Path) -> None:
    template = _compile(tmp_path, """\
        app: emoji
        description: "Ships orders \U0001F680 fast"
        flows:
          Main:
            StartAt: Done
            States:
              Done: {Type: Pass, Result: "\U0001F680", End: true}
        """)
    assert _errors(check_template(template)) == []


PARALLEL = """\
    app: parallelparams
    flows:
      Main:
        StartAt: Both
        States:
          Both:
            Type: Parallel
            Parameters: {"n.$": "$.n"}
            {extra}
            Branches:
              - StartAt: A
                States: {A: {Type: Pass, End: true}}
            End: true
    """


def test_parameters_on_a_parallel_state_pass_the_check(tmp_path: Path) -> None:
    template = _compile(tmp_path, PARALLEL.replace("{extra}", ""))
    assert _errors(check_template(template)) == []


def test_other_unexpected_fields_are_still_reported(tmp_path: Path) -> None:
    template = _compile(tmp_path, PARALLEL.replace("{extra}", ""))
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine")
    machine["Properties"]["Definition"]["States"]["Both"]["Bogus"] = 1  # compile itself would refuse it
    problems = _errors(check_template(template))
    assert any("E3601" in p and "Bogus" in p for p in problems), problems
    assert not any("'Parameters' was unexpected" in p for p in problems), problems

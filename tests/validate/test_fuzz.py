"""Validation never raises, whatever the input shape (hypothesis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine.dsl.app import from_value
from flowengine.errors import LoadError
from flowengine.validate import validate_app, validate_definition, validate_path

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

ASL_KEYS = [
    "StartAt", "States", "Type", "Next", "End", "Resource", "Choices", "Variable", "StringEquals", "NumericEquals",
    "TimestampEquals", "BooleanEqualsPath", "And", "Or", "Not", "Branches", "ItemProcessor", "Iterator",
    "ProcessorConfig", "Mode", "Retry", "Catch", "ErrorEquals", "Parameters", "ResultSelector", "ItemSelector",
    "x.$", "ResultPath", "InputPath", "Seconds", "SecondsPath", "Timestamp", "QueryLanguage", "Output", "Arguments",
    "Assign", "Condition", "Default", "TimeoutSeconds", "HeartbeatSeconds", "BackoffRate", "MaxAttempts",
    "IntervalSeconds", "MaxDelaySeconds", "JitterStrategy", "ItemBatcher", "ItemReader", "Items", "ItemsPath",
    "MaxConcurrency", "ToleratedFailurePercentage", "Error", "ErrorPath", "CausePath", "Comment", "A", "B",
]
APP_KEYS = [
    "app", "code", "defaults", "functions", "resources", "flows", "triggers", "handler", "runtime", "timeout",
    "memory", "concurrency", "rollout", "strategy", "percent", "interval", "hooks", "pre_traffic", "environment",
    "reads", "writes", "type", "key", "dead_letter", "queue", "bucket", "topic", "schedule", "event_pattern", "api",
    "method", "path", "start", "invoke", "bus", "prefix", "events", "batch_size", "filter_policy", "definition",
    "definition_file", "Work", "Main", "Jobs",
]
WORDS = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "JSONata", "JSONPath", "$", "$.a",
    "$$.Map.Item.Value", "$v.x", "$.a[*]", "$.a[?(@.b>1)]", "$.a[", "States.Format('{}', $.a)", "States.X(",
    "States.ALL", "States.MathAdd(1)", "{% $states.input %}", "{% 1 + %}", "{%", "A", "B", "Work", "Main", "Jobs",
    "arn:aws:states:::lambda:invoke", "arn:aws:states:::aws-sdk:s3:putObject", "${Jobs}", "${WorkArn}", "${Nope}",
    "2026-01-01T00:00:00Z", "FULL", "INLINE", "bucket", "queue", "topic", "table", "event_bus", "express",
    "rate(1 hour)", "cron(0 3 * * ? *)", "cron(bad)", "at(2026-01-01T00:00:00)", "30s", "5m", "1x", "a.b", "a",
    "canary 10% every 5m", "created", "POST", "/x", "python3.12",
]
scalars = (st.none() | st.booleans() | st.integers(-(10**10), 10**10)
           | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(WORDS) | st.text(max_size=6))


def _json(keys: list[str]) -> st.SearchStrategy[Any]:
    key = st.sampled_from(keys) | st.text(max_size=4)
    return st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(key, c, max_size=6),
                        max_leaves=50)


@SETTINGS
@given(_json(ASL_KEYS))
def test_any_json_definition(value: Any) -> None:
    for d in validate_definition(value):
        assert d.code.startswith("FE") and d.message and d.hint


@SETTINGS
@given(st.dictionaries(st.sampled_from(ASL_KEYS), _json(ASL_KEYS), max_size=5),
       st.dictionaries(st.sampled_from(ASL_KEYS), _json(ASL_KEYS), max_size=5))
def test_state_shaped_definitions(top: dict[str, Any], state: dict[str, Any]) -> None:
    for d in validate_definition({"StartAt": "A", **top, "States": {"A": state, "B": {**state, "Type": "Pass"}}}):
        assert d.hint, d.format()


@SETTINGS
@given(st.dictionaries(st.sampled_from(APP_KEYS + ASL_KEYS), _json(APP_KEYS + ASL_KEYS), max_size=8))
def test_any_app_document(doc: dict[str, Any]) -> None:
    doc = {"app": "fuzz", **doc}
    try:
        loaded = from_value(doc, "fuzz.yaml", base_dir="/nonexistent")
    except LoadError:
        return
    for d in validate_app(loaded, check_handlers=True):
        assert d.hint, d.format()


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}\n \t'\"!&*#|>%@,?$.0123")), max_size=80),
       st.sampled_from([".yaml", ".asl.json"]))
def test_any_text_file(tmp_path_factory: Any, text: str, suffix: str) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / f"f{suffix}"
    path.write_text(text, encoding="utf-8")
    validate_path(str(path))


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from([
    "States.Format(", "States.Array(", "States.UUID(", "States.MathAdd(", "States.Nope(", "States.ArrayLength(",
    ")", ",", " ", "'a'", "'{}'", "'\\''", "'x\\y'", "1", "-2.5", "1e3", "true", "null", "$", "$$", "$.a", "$.a[0]",
    "$x.y", "$.a-b", "$['q']", "$.", "..", "$.a b", "'", "\\", "(", "$a$", "States.Format",
]), max_size=12).map("".join))
def test_fast_intrinsic_check_never_accepts_what_the_engine_rejects(text: str) -> None:
    from flowengine.lang.intrinsics import parse_intrinsic
    from flowengine.validate.expressions import _plain_call_ok

    if _plain_call_ok(text):
        parse_intrinsic(text)  # must not raise

"""The published app-file JSON Schema: valid, in step with the validator, and accepting
every bundled app file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.dsl.schema import app_schema
from flowengine.dsl.source import load_file
from flowengine.validate import app as app_rules
from flowengine.validate import validate_path

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted((ROOT / "definitions").glob("*.yaml"))


def _validator() -> object:
    return jsonschema.Draft202012Validator(app_schema())


def test_the_schema_is_a_valid_schema() -> None:
    schema = app_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


def test_app_schema_returns_a_fresh_copy() -> None:
    a = app_schema()
    a["title"] = "changed"
    assert app_schema()["title"] != "changed"


def test_schema_and_validator_know_the_same_fields() -> None:
    s = app_schema()
    defs = s["$defs"]
    assert set(s["properties"]) == set(app_rules.TOP_KEYS)
    assert set(defs["function"]["properties"]) == set(app_rules.FUNCTION_KEYS)
    assert set(defs["defaults"]["properties"]) == set(app_rules.DEFAULTS_KEYS)
    assert set(defs["flow"]["properties"]) == set(app_rules.FLOW_KEYS) | set(app_rules.ASL_MACHINE_KEYS)
    trigger_keys = (set(app_rules.TRIGGER_COMMON) | set(app_rules.TRIGGER_SOURCES) | set(app_rules.TRIGGER_TARGETS)
                    | {k for keys in app_rules.TRIGGER_OPTIONS.values() for k in keys})
    assert set(defs["trigger"]["properties"]) == trigger_keys
    kinds = {sub["properties"]["type"]["const"]: set(sub["properties"]) - {"type"} for sub in defs["resource"]["oneOf"]}
    assert kinds == {k: set(v) for k, v in app_rules.RESOURCE_KEYS.items()}
    assert defs["state"]["properties"]["Type"]["enum"] == ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail",
                                                           "Parallel", "Map"]


@pytest.mark.parametrize("path", DEFINITIONS, ids=[p.name for p in DEFINITIONS])
def test_bundled_app_files_match_the_schema(path: Path) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in _validator().iter_errors(load_file(str(path)).value)]
    assert errors == []


@pytest.mark.parametrize("path", DEFINITIONS, ids=[p.name for p in DEFINITIONS])
def test_bundled_app_files_validate_clean(path: Path) -> None:
    assert [d.format() for d in validate_path(str(path), check_handlers=True)] == []


def test_schema_rejects_what_validate_rejects() -> None:
    doc = {"app": "x", "functions": {"Work": {"handler": "a.b", "memry": 1}},
           "triggers": [{"bucket": "B", "queue": "Q", "start": "F"}]}
    messages = [e.message for e in _validator().iter_errors(doc)]
    assert any("memry" in m for m in messages)
    assert len(messages) >= 2

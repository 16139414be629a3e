"""No false positives: every definition AWS accepted validates without an error.

The conformance corpus (shared/conformance, vendored into tests/conformance once it is)
holds definitions that ran on AWS Step Functions, including the ones whose executions
failed: CreateStateMachine accepted all of them.  So none may get an error-severity
diagnostic; warnings (a literal string that looks like an unclosed ``{% %}``) are allowed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.validate import validate_definition

ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = [ROOT / "tests" / "conformance", ROOT.parent / "shared" / "conformance"]
CORPUS = next((c for c in _CANDIDATES if (c / "cases").is_dir()), None)


def _definitions() -> list[tuple[str, Any]]:
    if CORPUS is None:
        return []
    out = [(p.stem, json.loads(p.read_text(encoding="utf-8"))["definition"])
           for p in sorted((CORPUS / "cases").glob("*.json"))]
    catalog = CORPUS / "lambda_catalog.json"
    if catalog.is_file():
        out += [(case["name"], case["definition"]) for case in json.loads(catalog.read_text(encoding="utf-8"))]
    return out


DEFINITIONS = _definitions()


@pytest.mark.skipif(CORPUS is None, reason="the conformance corpus is not available")
def test_corpus_is_there() -> None:
    assert len(DEFINITIONS) > 700


@pytest.mark.parametrize(("name", "definition"), DEFINITIONS, ids=[d[0] for d in DEFINITIONS])
def test_accepted_by_aws_is_clean(name: str, definition: Any) -> None:
    errors = [d.format() for d in validate_definition(definition, name) if d.severity == "error"]
    assert errors == []

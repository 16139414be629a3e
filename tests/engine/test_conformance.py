"""The vendored conformance corpus (executions recorded against real AWS Step Functions).

Runs every case through ``scripts/conformance.py`` and holds the engine to its targets:
≥ 97 % of the cases match in status/output/error/cause, ≥ 95 % of the cases with a
recorded history match its event types (exactly; as a multiset for Parallel/Map), ≥ 90 %
of the Lambda catalogue.  The known failures below may only shrink: each one names why.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "conformance"

#: Cases known not to match, with the reason.  A new failure fails the suite; a case that
#: starts passing should be removed from here.
KNOWN_FAILURES: dict[str, str] = {}
#: Cases whose status/output match but whose event types do not.
KNOWN_HISTORY_FAILURES: dict[str, str] = {}


def _runner():
    spec = importlib.util.spec_from_file_location("_conformance_script", ROOT / "scripts" / "conformance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def outcome():
    script = _runner()
    runner = script.Runner(str(CORPUS))
    rows = [runner.run_case(case) for case in script.load_cases(str(CORPUS))]
    return script.summarize(rows)


def test_corpus_results_meet_targets(outcome):
    passed, total = outcome["cases"]
    assert total >= 691
    assert passed / total >= 0.97, f"{passed}/{total} cases"


def test_lambda_catalogue_meets_target(outcome):
    passed, total = outcome["lambda"]
    assert total >= 62
    assert passed / total >= 0.90, f"{passed}/{total} catalogue cases"


def test_history_event_types_meet_target(outcome):
    passed, total = outcome["history"]
    assert passed / total >= 0.95, f"{passed}/{total} histories"


def test_known_failures_do_not_grow(outcome):
    new = sorted(set(outcome["failed"]) - set(KNOWN_FAILURES))
    assert not new, f"cases that used to pass now fail: {new}"
    new_history = sorted(set(outcome["history_failed"]) - set(KNOWN_HISTORY_FAILURES))
    assert not new_history, f"histories that used to match no longer do: {new_history}"

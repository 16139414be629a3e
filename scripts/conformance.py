#!/usr/bin/env python3
"""Run the ASL conformance corpus against the local engine.

    python scripts/conformance.py tests/conformance [--results out.jsonl] [-k SUBSTR] [-v]

Runs every case of ``CORPUS_DIR/cases`` and ``CORPUS_DIR/lambda_catalog.json`` on the
virtual clock (the catalogue's Lambda functions are bound to the local handlers of
``tests/conformance/handlers.py``), compares each result with the corpus's own
``compare.py`` rules, and prints pass rates per category, the history match rate, and a
last line ``N passed, M failed``.

Two adjustments mirror what the corpus recorded rather than what the engine computes:

* time-relative inputs (``input_time_relative``) are regenerated against the engine's
  clock, as the README asks;
* LocalStack's snapshot tool rewrote some Lambda SDK response headers by key (``Date`` →
  ``"date"``; ``X-Amzn-Trace-Id``, ``x-amzn-RequestId`` and ``RequestId`` → the key's name); compare.py
  does not model those key-value transformers, so the runner applies them to the actual
  value where the expected value shows them.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from flowengine.engine.clock import DEFAULT_START  # noqa: E402
from flowengine.runtime.engine import Engine  # noqa: E402

#: Header keys LocalStack's snapshot transformers replaced by a fixed text.
_SNAPSHOT_KEYS = {"Date": ("date",), "X-Amzn-Trace-Id": ("X-Amzn-Trace-Id",), "x-amzn-RequestId": ("x-amzn-RequestId",),
                  "RequestId": ("RequestId",)}


def _load_module(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_cases(corpus: str) -> list[dict[str, Any]]:
    """Every case: ``cases/*.json`` (kind "case") then the Lambda catalogue (kind "lambda")."""
    out = []
    cases_dir = os.path.join(corpus, "cases")
    for fname in sorted(os.listdir(cases_dir)):
        if fname.endswith(".json"):
            with open(os.path.join(cases_dir, fname), encoding="utf-8") as f:
                case = json.load(f)
            case["_kind"] = "case"
            out.append(case)
    catalog = os.path.join(corpus, "lambda_catalog.json")
    if os.path.exists(catalog):
        with open(catalog, encoding="utf-8") as f:
            for case in json.load(f):
                case["_kind"] = "lambda"
                out.append(case)
    return out


def _case_input(case: dict[str, Any]) -> Any:
    rel = case.get("input_time_relative")
    value = case["input"]
    if rel:
        def now_utc() -> datetime:
            return DEFAULT_START.astimezone(timezone.utc)

        namespace = {"now_utc": now_utc, "timedelta": timedelta, "datetime": datetime, "timezone": timezone}
        generated = eval(rel["generator"], namespace)  # noqa: S307 - the corpus's own generator expression
        value = dict(value)
        value[rel["field"]] = generated
    return value


def _snapshot_normalize(expected: Any, actual: Any) -> Any:
    """Apply the snapshot tool's header key-value replacements where ``expected`` shows them."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = {}
        for k, v in actual.items():
            e = expected.get(k)
            if k in _SNAPSHOT_KEYS and isinstance(e, str) and e in _SNAPSHOT_KEYS[k]:
                out[k] = e
            else:
                out[k] = _snapshot_normalize(e, v)
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [_snapshot_normalize(e, a) for e, a in zip(expected, actual, strict=True)]
    return actual


class Runner:
    def __init__(self, corpus: str) -> None:
        self.corpus = corpus
        self.compare = _load_module(os.path.join(corpus, "compare.py"), "_conformance_compare")
        handlers_path = os.path.join(corpus, "handlers.py")
        if not os.path.exists(handlers_path):
            handlers_path = os.path.join(ROOT, "tests", "conformance", "handlers.py")
        self.handlers = _load_module(handlers_path, "_conformance_handlers")

    def run_case(self, case: dict[str, Any]) -> dict[str, Any]:
        functions = case.get("lambda_functions") or {}
        handlers = {name: self.handlers.handler_for(path) for name, path in functions.items()}
        for path in functions.values():
            self.handlers.install_source(path)
        express = case.get("state_machine_type") == "EXPRESS"
        with Engine(seed=0, handlers=handlers, validate=False, sync_handlers="inline") as engine:
            result = engine.run(case["definition"], json.dumps(_case_input(case)), express=express)
        output = result.output
        expected = case["expected"]
        if result.status == "SUCCEEDED":
            output_for_compare = _snapshot_normalize(expected.get("output"), output)
        else:
            output_for_compare = output
        ok, why = self.compare.compare_result(case, result.status, json.dumps(output_for_compare),
                                              result.error, result.cause)
        types = result.event_types
        hist = self.compare.compare_history(case, types)
        return {
            "name": case["name"], "kind": case["_kind"], "categories": case.get("categories", []),
            "status": result.status, "output": output, "error": result.error, "cause": result.cause,
            "history": types, "ok": ok, "why": why, "history_match": hist,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", metavar="CORPUS_DIR")
    ap.add_argument("--results", metavar="FILE.jsonl", help="write one JSON line per case")
    ap.add_argument("-k", dest="substr", help="only cases whose name contains SUBSTR")
    ap.add_argument("-v", dest="verbose", action="store_true", help="print every failure with its reason")
    args = ap.parse_args(argv)

    runner = Runner(args.corpus)
    cases = load_cases(args.corpus)
    if args.substr:
        cases = [c for c in cases if args.substr in c["name"]]
    t0 = time.perf_counter()
    rows = []
    for case in cases:
        try:
            row = runner.run_case(case)
        except Exception as exc:  # a crash is a failed case, reported with its reason
            row = {"name": case["name"], "kind": case["_kind"], "categories": case.get("categories", []),
                   "status": "ERROR", "output": None, "error": type(exc).__name__, "cause": str(exc),
                   "history": [], "ok": False, "why": f"crash: {type(exc).__name__}: {exc}", "history_match": None}
        rows.append(row)
        if args.verbose and not row["ok"]:
            print(f"FAIL {row['name']}: {row['why']}")
        if args.verbose and row["ok"] and row["history_match"] is None:
            print(f"HIST {row['name']}: {row['history']}")
    elapsed = time.perf_counter() - t0

    if args.results:
        with open(args.results, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({k: r[k] for k in ("name", "status", "output", "error", "cause", "history")}) + "\n")

    report(rows, elapsed)
    passed = sum(1 for r in rows if r["ok"])
    print(f"{passed} passed, {len(rows) - passed} failed")
    return 0 if passed == len(rows) else 1


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Pass rates: cases, Lambda catalogue, history (over cases with a recorded history)."""
    cases = [r for r in rows if r["kind"] == "case"]
    lam = [r for r in rows if r["kind"] == "lambda"]
    with_history = [r for r in rows if r["history_match"] != "n/a"]
    return {
        "cases": (sum(r["ok"] for r in cases), len(cases)),
        "lambda": (sum(r["ok"] for r in lam), len(lam)),
        "history": (sum(1 for r in with_history if r["history_match"] in ("exact", "multiset")), len(with_history)),
        "failed": [r["name"] for r in rows if not r["ok"]],
        "history_failed": [r["name"] for r in with_history if r["history_match"] is None],
    }


def report(rows: list[dict[str, Any]], elapsed: float) -> None:
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        for cat in r["categories"] or ["(none)"]:
            per[cat][0] += r["ok"]
            per[cat][1] += 1
    print(f"{'category':40} {'passed':>8} {'total':>6}  rate")
    for cat in sorted(per):
        p, t = per[cat]
        print(f"{cat:40} {p:8} {t:6}  {100.0 * p / t:5.1f}%")
    s = summarize(rows)
    for label, key in (("cases (status/output/error/cause)", "cases"), ("lambda catalogue", "lambda"),
                       ("history event types (cases with a history)", "history")):
        p, t = s[key]
        if t:
            print(f"{label}: {p}/{t} = {100.0 * p / t:.1f}%")
    print(f"ran {len(rows)} cases in {elapsed:.2f}s")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: load + validate a 1000-state definition, against statelint on the same file.

Builds a realistic chain of 1000 states (Tasks with Retry/Catch, Choices, Passes with
Parameters and intrinsics, Waits, a Map and a Parallel every hundred states), each with its
own paths so nothing is served from a cache that a real definition would not hit, writes it
as JSON into a temporary directory, then times, in the same process and run:

* flowengine: ``validate_path(file)`` (read, parse, build the model, every check);
* statelint: ``Linter.validate(file, Config({FLOAT}))`` (``--ignore=FLOAT``, as peers.md says).

Each is run several times after one warm-up (imports); the median is reported. flowengine's
expression caches are cleared before every run, so each run parses every path and intrinsic
as a fresh ``flowengine validate`` would. Usage::

    python scripts/bench_validate.py [--states 1000] [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def build_definition(n: int) -> dict[str, Any]:
    """A valid ASL definition of ``n`` top-level states (plus a few nested ones)."""
    names = [f"Step{i:04d}" for i in range(n)]
    states: dict[str, Any] = {}
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < n else None
        tail: dict[str, Any] = {"Next": nxt} if nxt else {"End": True}
        kind = i % 10
        if i % 100 == 50 and nxt:
            states[name] = {
                "Type": "Map", "ItemsPath": f"$.batch{i}.items", "MaxConcurrency": 5,
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"StartAt": f"Inner{i}", "States": {
                    f"Inner{i}": {"Type": "Pass", "Parameters": {"v.$": "$.item"}, "End": True}}},
                "ResultPath": f"$.mapped{i}", **tail,
            }
        elif i % 100 == 75 and nxt:
            states[name] = {
                "Type": "Parallel", "ResultPath": f"$.par{i}", **tail,
                "Branches": [{"StartAt": f"Left{i}", "States": {f"Left{i}": {"Type": "Pass", "End": True}}},
                             {"StartAt": f"Right{i}", "States": {f"Right{i}": {"Type": "Succeed"}}}],
            }
        elif kind in (0, 3, 6):
            states[name] = {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": f"arn:aws:lambda:us-east-1:111111111111:function:fn{i}",
                               "Payload.$": f"$.input{i}"},
                "ResultSelector": {"body.$": "$.Payload"},
                "ResultPath": f"$.result{i}",
                "TimeoutSeconds": 60, "HeartbeatSeconds": 10,
                "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                           "BackoffRate": 2, "MaxAttempts": 6, "JitterStrategy": "FULL"},
                          {"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                **tail,
            }
        elif kind == 1 and nxt:
            states[name] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": f"$.result{i - 1}.body.status", "StringEquals": "DONE", "Next": nxt},
                    {"And": [{"Variable": f"$.count{i}", "NumericGreaterThan": 3},
                             {"Variable": f"$.flag{i}", "IsPresent": True}], "Next": nxt},
                ],
                "Default": nxt,
            }
        elif kind == 2:
            states[name] = {
                "Type": "Pass",
                "Parameters": {"message.$": f"States.Format('step {{}} of {{}}', $.counter{i}, $.total)",
                               "items.$": f"States.ArrayLength($.list{i})", "constant": i},
                "ResultPath": f"$.pass{i}", **tail,
            }
        elif kind == 4:
            states[name] = {"Type": "Wait", "SecondsPath": f"$.delay{i}", **tail}
        else:
            states[name] = {"Type": "Pass", "InputPath": f"$.data{i}", "OutputPath": "$", **tail}
    states["Failed"] = {"Type": "Fail", "Error": "StepFailed", "CausePath": "$.error.Cause"}
    return {"Comment": f"{n} states", "StartAt": names[0], "States": states}


def median_ms(fn: Any, runs: int) -> float:
    fn()  # warm-up: imports, caches of compiled patterns
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)

    from flowengine.validate import validate_path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.asl.json"
        path.write_text(json.dumps(build_definition(args.states), indent=2), encoding="utf-8")
        size_kib = path.stat().st_size / 1024
        diags = validate_path(str(path))
        if diags:
            print("the benchmark definition is not clean:", *(d.format() for d in diags[:5]), sep="\n  ")
            return 1
        from flowengine.validate import expressions

        def ours_once() -> None:
            # a CLI run validates a file once: start every run with cold expression caches
            for cached in (expressions.path_problem, expressions.intrinsic_problem, expressions.jsonata_problem):
                cached.cache_clear()
            validate_path(str(path))

        ours = median_ms(ours_once, args.runs)
        print(f"definition: {args.states} states, {size_kib:.0f} KiB JSON")
        print(f"flowengine load+validate: {ours:7.1f} ms (median of {args.runs})")
        try:
            from statelint.config import Config
            from statelint.linter import Linter
            from statelint.problem import ProblemType
        except ImportError:
            print("statelint: not installed")
            return 0
        problems = Linter.validate(str(path), Config({ProblemType.FLOAT}))
        theirs = median_ms(lambda: Linter.validate(str(path), Config({ProblemType.FLOAT})), args.runs)
        print(f"statelint (--ignore=FLOAT): {theirs:7.1f} ms (median of {args.runs}; {len(problems)} problems)")
        print(f"ratio flowengine/statelint: {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

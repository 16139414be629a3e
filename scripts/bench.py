#!/usr/bin/env python3
"""Side-by-side benchmark: flowengine's local engine against moto's ASL executor.

    python scripts/bench.py                 # every workload, default repetitions
    python scripts/bench.py a d --reps 5    # some workloads
    python scripts/bench.py --json out.json

Workloads (shared/research/peers.md §4, plus h):

  a   chain of 1000 Pass states, each with Parameters + ResultPath
  b   Map over 1000 items, 3 Pass states per item, MaxConcurrency 10
  c   Parallel with 10 branches x 10 Pass states
  d   Choice loop counting to 1000 (Pass + States.MathAdd, Choice NumericLessThan)
  e   Wait 5 s
  f   Retry on a Fail inside Parallel: IntervalSeconds 1, BackoffRate 2, MaxAttempts 3
  g   100 concurrent executions of a 10-state Pass chain
  h   10,000 executions parked in a 1-hour Wait at the same time (flowengine only:
      moto would need 10,000 threads sleeping for an hour)

Columns: wall time of the run (medians), µs per state transition, "+hist" the same
including rendering every recorded history event as GetExecutionHistory returns it, the
peak RSS of the child process, and the ratio of the two wall times.

Every repetition runs in a fresh child process, for both engines, so that RSS is the
run's own and nothing is shared between repetitions.  The box is noisy: we report
medians, each child's share of foreign CPU, and the ratio moto/flowengine per workload.
flowengine runs with full history (every event built, as GetExecutionHistory shows it).
moto runs with its executor switched on (`execute_state_machine`), polled every 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

POLL = 0.005


def chain(n: int) -> dict:
    states = {}
    for i in range(n):
        s: dict = {"Type": "Pass", "Parameters": {"n.$": "$.n", "step": i}, "ResultPath": "$.last"}
        if i < n - 1:
            s["Next"] = f"S{i + 1}"
        else:
            s["End"] = True
        states[f"S{i}"] = s
    return {"StartAt": "S0", "States": states}


def map_def(max_conc: int) -> dict:
    return {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": max_conc, "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P1", "States": {
            "P1": {"Type": "Pass", "Parameters": {"v.$": "$.v", "a": 1}, "Next": "P2"},
            "P2": {"Type": "Pass", "Parameters": {"v.$": "$.v", "b": 2}, "Next": "P3"},
            "P3": {"Type": "Pass", "End": True}}}}}}


def parallel_def() -> dict:
    return {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True,
                                             "Branches": [chain(10) for _ in range(10)]}}}


def choice_loop() -> dict:
    return {"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"count.$": "States.MathAdd($.count, 1)"}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.count", "NumericLessThan": 1000, "Next": "Inc"}],
                  "Default": "Done"},
        "Done": {"Type": "Succeed"}}}


def wait_def(seconds: int) -> dict:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}


def retry_def() -> dict:
    return {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}],
        "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "x"}}}]}}}


# name: (description, definition factory, input, executions, transitions per execution)
WORKLOADS = {
    "a": ("1000 Pass chain, Parameters+ResultPath", lambda: chain(1000), {"n": 1}, 1, 1000),
    "b": ("Map 1000 items x 3 Pass, MaxConcurrency 10", lambda: map_def(10),
          {"items": [{"v": i} for i in range(1000)]}, 1, 3000),
    "c": ("Parallel 10 branches x 10 Pass", parallel_def, {"n": 1}, 1, 100),
    "d": ("Choice loop to 1000 (MathAdd)", choice_loop, {"count": 0}, 1, 2000),
    "e": ("Wait 5 s", lambda: wait_def(5), {}, 1, 1),
    "f": ("Retry in Parallel, 1 s x2, 3 attempts", retry_def, {}, 1, 4),
    "g": ("100 concurrent executions, 10-state chain", lambda: chain(10), {"n": 1}, 100, 10),
    "h": ("10,000 executions parked in a 1 h Wait", lambda: wait_def(3600), {}, 10_000, 1),
}
DEFAULT_REPS = {"a": 5, "b": 3, "c": 5, "d": 3, "e": 2, "f": 2, "g": 3, "h": 2}
MOTO_SKIP = {"h": "10,000 moto executions would each hold a thread sleeping for an hour"}


def _rss_kb(field: str = "VmRSS:") -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # Linux: VmHWM := current RSS
            fh.write("5")
    except OSError:
        pass


def _cpu_busy() -> float:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _timed(run) -> dict:
    """Wall time of run(), with the share of the box's CPU used by other processes."""
    b0, c0, t0 = _cpu_busy(), time.process_time(), time.perf_counter()
    detail = run()
    wall = time.perf_counter() - t0
    busy, own = _cpu_busy() - b0, time.process_time() - c0
    foreign = max(busy - own, 0.0) / max(wall * (os.cpu_count() or 1), 1e-9)
    return {"wall_s": wall, "own_cpu_s": own, "foreign": foreign, **(detail or {})}


def child_flowengine(name: str) -> dict:
    import logging

    logging.disable(logging.CRITICAL)
    from flowengine.dsl.asl import build_state_machine
    from flowengine.runtime.engine import Engine

    _, build, payload, n_exec, _ = WORKLOADS[name]
    engine = Engine(sync_handlers="inline")
    # Like moto's create_state_machine, loading and compiling the definition happens once,
    # outside the timed run; a one-state warm-up pays first-use costs (imports, the loop).
    engine.run(build_state_machine({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}))
    machine = build_state_machine(build())
    t0 = time.perf_counter()
    engine.prepare(machine)
    create_s = time.perf_counter() - t0
    rss_before = _rss_kb()
    _reset_peak()

    async def many() -> list:
        handles = [await engine.start_execution(machine, payload) for _ in range(n_exec)]
        return [await h.result() for h in handles]

    results: list = []

    def run() -> dict:
        results.extend(engine.run_async(many()) if n_exec > 1 else [engine.run(machine, payload)])
        return {"status": ",".join(sorted({r.status for r in results}))}

    out = _timed(run)
    # Every event is recorded during the run; rendering them as GetExecutionHistory's dicts
    # (input/output as JSON text) happens on first access, like a GetExecutionHistory call,
    # and is timed separately (moto's get_execution_history is likewise outside its wall).
    t0 = time.perf_counter()
    out["events"] = sum(len(r.history) for r in results)
    out["history_s"] = time.perf_counter() - t0
    out.update(rss_before_mb=rss_before / 1024, peak_mb=_rss_kb("VmHWM:") / 1024, create_s=create_s)
    return out


def child_moto(name: str) -> dict:
    import logging

    import boto3
    from moto import mock_aws

    logging.disable(logging.CRITICAL)  # moto logs every handled failure with a huge repr
    _, build, payload, n_exec, _ = WORKLOADS[name]
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = "arn:aws:iam::123456789012:role/bench"

        def create(defn: dict, sm_name: str) -> str:
            return sfn.create_state_machine(name=sm_name, roleArn=role, definition=json.dumps(defn))["stateMachineArn"]

        def wait_all(arns: list[str]) -> list[dict]:
            pending, done = set(arns), []
            while pending:
                for arn in list(pending):
                    d = sfn.describe_execution(executionArn=arn)
                    if d["status"] != "RUNNING":
                        done.append(d)
                        pending.discard(arn)
                if pending:
                    time.sleep(POLL)
            return done

        warm = create({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "warm")
        wait_all([sfn.start_execution(stateMachineArn=warm, input="{}")["executionArn"]])
        rss_before = _rss_kb()
        _reset_peak()
        arn = create(build(), "bench")

        def run() -> dict:
            # Unique names: without one, moto names every execution "None" and answers the
            # repeats with the first execution (or ExecutionAlreadyExists).
            arns = [sfn.start_execution(stateMachineArn=arn, name=f"run-{i}", input=json.dumps(payload))["executionArn"]
                    for i in range(n_exec)]
            if len(set(arns)) != n_exec:
                raise RuntimeError(f"moto started {len(set(arns))} executions, not {n_exec}")
            done = wait_all(arns)
            return {"status": ",".join(sorted({d["status"] for d in done}))}

        out = _timed(run)
    out.update(rss_before_mb=rss_before / 1024, peak_mb=_rss_kb("VmHWM:") / 1024)
    return out


def _run_child(engine: str, name: str) -> dict | None:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", engine, name],
                          capture_output=True, text=True, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  [{engine} {name}] child failed (exit {proc.returncode}): {proc.stderr[-600:]}", file=sys.stderr)
    return None


def _summary(rows: list[dict], transitions: int) -> dict:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    wall = med("wall_s")
    return {
        "wall_s": wall, "walls": [round(r["wall_s"], 4) for r in rows],
        "us_per_transition": wall / transitions * 1e6,
        "peak_mb": med("peak_mb"), "rss_before_mb": med("rss_before_mb"),
        "foreign": [round(r["foreign"], 2) for r in rows], "status": rows[0]["status"],
        "history_s": statistics.median(r["history_s"] for r in rows) if "history_s" in rows[0] else None,
        "events": rows[0].get("events"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", metavar="WORKLOAD", help=f"some of {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--reps", type=int, default=0, help="repetitions per workload and engine (default: per workload)")
    ap.add_argument("--no-moto", action="store_true", help="run flowengine only")
    ap.add_argument("--json", help="write the summary as JSON to this file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        engine, name = args.child
        result = (child_flowengine if engine == "flowengine" else child_moto)(name)
        print("RESULT " + json.dumps(result))
        return 0

    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    args.workloads = args.workloads or list(WORKLOADS)
    import moto

    print(f"python {sys.version.split()[0]}, moto {moto.__version__}, {os.cpu_count()} cpus; medians of fresh processes")
    header = (f"{'':2} {'workload':44} {'flowengine':>12} {'µs/tr':>8} {'+hist':>8} {'peak MB':>8} "
              f"{'moto':>10} {'µs/tr':>8} {'peak MB':>8} {'moto/fe':>9}")
    print(header)
    summary = {}
    for name in args.workloads:
        desc, _, _, n_exec, per_exec = WORKLOADS[name]
        transitions = n_exec * per_exec
        reps = args.reps or DEFAULT_REPS[name]
        fe_rows = [r for r in (_run_child("flowengine", name) for _ in range(reps)) if r]
        moto_rows = []
        if not args.no_moto and name not in MOTO_SKIP:
            moto_rows = [r for r in (_run_child("moto", name) for _ in range(reps)) if r]
        fe = _summary(fe_rows, transitions) if fe_rows else None
        mo = _summary(moto_rows, transitions) if moto_rows else None
        ratio = (mo["wall_s"] / fe["wall_s"]) if fe and mo else None
        summary[name] = {"desc": desc, "flowengine": fe, "moto": mo, "ratio": ratio,
                         "moto_skipped": MOTO_SKIP.get(name)}

        def cell(s: dict | None, key: str, fmt: str, width: int, unit: str = "") -> str:
            return (format(s[key], fmt) + unit if s else "-").rjust(width)

        with_hist = f"{(fe['wall_s'] + fe['history_s']) / transitions * 1e6:8.2f}" if fe else "-"
        ratio_text = f"{ratio:.0f}x" if ratio else "n/a"
        print(f"{name:2} {desc:44} {cell(fe, 'wall_s', '.4f', 12, 's')} {cell(fe, 'us_per_transition', '.2f', 8)} "
              f"{with_hist:>8} {cell(fe, 'peak_mb', '.1f', 8)} {cell(mo, 'wall_s', '.3f', 10, 's')} "
              f"{cell(mo, 'us_per_transition', '.1f', 8)} {cell(mo, 'peak_mb', '.1f', 8)} {ratio_text:>9}",
              flush=True)
        if name in MOTO_SKIP and not mo:
            print(f"   (moto not run: {MOTO_SKIP[name]})", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

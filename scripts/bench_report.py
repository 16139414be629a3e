"""How long an execution report takes to write, how big it is, and how long a browser takes
to show it, for the two large cases of issue 14:

* ``states``: a run through a flow of 1,000 states (Pass, a Task with a retry every 20th
  state, a 1-minute Wait every 50th);
* ``map``: a Map over 1,000 items, each running a Task and a Pass.

    python scripts/bench_report.py [--repeat 3] [--browser /usr/bin/chromium] [--out DIR]

Prints, per case: the history's events, the attempts, the median time to write the report
(layout, SVG, data, file; wall and CPU time: on a busy machine the CPU time is the steadier
number), the file's size, and (with a browser) the time from navigation
to the page's load event, its script done.  The runs themselves are not timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flowengine.report.html import write_report  # noqa: E402
from flowengine.testing import mocks, run_flow  # noqa: E402

FN = "arn:aws:lambda:us-east-1:123456789012:function:Work"


def states_case(n: int = 1000) -> tuple[dict[str, Any], dict[str, Any]]:
    """A flow of ``n`` states in a row, and the mocks of its Tasks."""
    states: dict[str, Any] = {}
    task_mocks: dict[str, Any] = {}
    for i in range(n):
        name = f"Step{i:04d}"
        nxt = {"Next": f"Step{i + 1:04d}"} if i + 1 < n else {"End": True}
        if i % 50 == 25:
            states[name] = {"Type": "Wait", "Seconds": 60, **nxt}
        elif i % 20 == 10:
            states[name] = {"Type": "Task", "Resource": FN, "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2}],
                            **nxt}
            task_mocks[name] = mocks.sequence(mocks.raises("Busy", "try again"), mocks.returns({"done": i}))
        else:
            states[name] = {"Type": "Pass", "Result": {"step": i}, "ResultPath": f"$.s{i % 5}", **nxt}
    return {"StartAt": "Step0000", "States": states}, task_mocks


def map_case(n: int = 1000) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """A Map over ``n`` items (ten at a time), a Task and a Pass per item."""
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "MaxConcurrency": 10, "End": True,
        "ItemProcessor": {"StartAt": "Handle", "States": {
            "Handle": {"Type": "Task", "Resource": FN, "Next": "Tidy"},
            "Tidy": {"Type": "Pass", "End": True}}}}}}
    return definition, {"Handle": mocks.returns({"ok": True})}, list(range(n))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser"),
                        help="a Chromium to time the page load with (default: chromium on PATH)")
    parser.add_argument("--out", help="keep the reports in this directory")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="bench_report_")
    os.makedirs(out, exist_ok=True)
    definition, task_mocks = states_case()
    states_run = run_flow(definition, input={}, mocks=task_mocks)
    definition_m, map_mocks, items = map_case()
    map_run = run_flow(definition_m, input=items, mocks=map_mocks)
    rows = []
    for label, result in (("1,000 states", states_run), ("Map of 1,000 items", map_run)):
        path = os.path.join(out, label.replace(",", "").replace(" ", "_") + ".html")
        times, cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            write_report(result, path)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        rows.append((label, result, path, statistics.median(times), statistics.median(cpu)))
    load: dict[str, float] = {}
    if args.browser:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.browser)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for label, _, path, _, _ in rows:
                samples = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    page.goto("file://" + os.path.abspath(path), wait_until="load")
                    page.wait_for_selector("#timeline .tl-row")
                    samples.append(time.perf_counter() - started)
                load[label] = statistics.median(samples)
            browser.close()
    print(f"{'case':<20} {'status':<10} {'events':>7} {'attempts':>9} {'write':>9} {'(cpu)':>9} {'size':>9} "
          f"{'browser load':>13}")
    for label, result, path, t, c in rows:
        size = os.path.getsize(path) / 1e6
        shown = f"{load[label] * 1000:.0f} ms" if label in load else "-"
        print(f"{label:<20} {result.status:<10} {len(result.history):>7} {len(result.trace.attempts):>9} "
              f"{t * 1000:>6.0f} ms {c * 1000:>6.0f} ms {size:>6.2f} MB {shown:>13}")
    if not args.out:
        shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

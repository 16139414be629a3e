"""The execution report without a browser: the history reader against the engine's trace,
the page's self-containment, the layout's geometry, `graph --format svg`, the CLI entry points
(`run --report`, `report`), `result.report()` and pytest's `--flowengine-report`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.report.graph import _Drawing, _machine, draw
from flowengine.report.html import render
from flowengine.report.layout import Box, Group, layout
from flowengine.report.model import read_history

from .conftest import APPS, ORDERS, REPO, UPLOAD, bundled_runs, upload_run

ORDER = str(REPO / "examples" / "orders" / "order.json")


def all_runs() -> list[tuple[str, Any]]:
    return [(r[0], r[1]) for r in bundled_runs()] + [("upload-retried", upload_run())]


@pytest.mark.parametrize("label", [r[0] for r in bundled_runs()] + ["upload-retried"])
def test_the_history_reader_finds_the_attempts_the_trace_recorded(label: str) -> None:
    result = dict(all_runs())[label]
    attempts, rows = read_history(result.history)
    assert len(rows) == len(result.history)

    def key(a: dict[str, Any]) -> tuple[Any, ...]:
        return (a["state"], a["number"], a["status"], a["error"], a["retryDelay"], a["mapIndex"])

    from_history = Counter(key(a) for a in attempts)
    from_trace = Counter((a.name, a.number, a.status, a.error, a.retry_delay, a.map_index)
                         for a in result.trace.attempts)
    assert from_history == from_trace
    by_input = {(a["state"], a["number"], a["mapIndex"]): json.loads(rows[a["inputEvent"] - 1]["details"]["input"])
                for a in attempts}
    for a in result.trace.attempts:
        if a.number == 0:  # a retry shows the same input; its entry event is the first attempt's
            assert by_input[(a.name, 0, a.map_index)] == a.input or a.map_index is not None


def run_flow_value(value: Any) -> Any:
    from flowengine.testing import run_flow

    return run_flow({"StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "End": True}}}, input=value)


def test_the_page_is_self_contained() -> None:
    text = render(upload_run())
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in text
    assert not re.search(r"<script[^>]+src=|<link\b|@import|url\((?!#)", text)
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    # the data cannot end its script element early
    assert text.count("</script>") == 2
    hostile = run_flow_value({"note": "</script><script>alert(1)</script><!-- <i>pwn</i>"})
    text = render(hostile)
    assert text.count("</script>") == 2 and "<i>pwn" not in text and "alert(1)" in text


@pytest.mark.parametrize("app", [p.name for p in APPS])
def test_the_layout_keeps_boxes_apart_and_scopes_inside_their_state(app: str) -> None:
    loaded_path = REPO / "definitions" / app
    from flowengine.dsl.app import load

    loaded = load(loaded_path)
    for flow in loaded.app.flows:
        title, machine = _machine(loaded, flow)
        lay = layout(_Drawing(title, machine))

        def check(group: Group, width: float, height: float) -> None:
            boxes: list[Box] = group.boxes
            for i, a in enumerate(boxes):
                assert a.x >= -0.01 and a.y >= -0.01 and a.x + a.w <= group.w + 0.01 and a.y + a.h <= group.h + 0.01
                for b in boxes[i + 1:]:
                    apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
                    assert apart, (a.node.name, b.node.name)
                for inner in a.groups:
                    assert inner.x >= 0 and inner.x + inner.w <= a.w + 0.01 and inner.y + inner.h <= a.h + 0.01
                    check(inner, a.w, a.h)

        check(lay.top, lay.width, lay.height)
        assert lay.top.w <= lay.width and lay.top.h <= lay.height


def test_graph_writes_svg_with_every_state_and_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flow.svg"
    assert main(["graph", str(ORDERS), "--out", str(out), "--input", f"@{ORDER}"]) == 0
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    nodes = {g.get("data-name"): g.get("class", "").split() for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("data-name")}
    title, machine = _machine(str(ORDERS), "PlaceOrder")
    assert set(nodes) == {s.name for s in machine.walk()}
    assert "visited" in nodes["Validate"] and "visited" not in nodes["Rejected"]
    assert main(["graph", str(ORDERS), "--out", str(out)]) == 2  # no overwrite without --force
    assert "exists" in capsys.readouterr().err
    text = draw(str(UPLOAD), fmt="svg")
    assert text == draw(str(UPLOAD), fmt="svg")  # deterministic
    assert "retry x3" in text and "States.ALL" in text


def test_run_report_writes_and_replaces_only_its_own_reports(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "run.html"
    assert main(["run", str(ORDERS), "--input", f"@{ORDER}", "--report", str(report)]) == 0
    assert f"wrote the report to {report}" in capsys.readouterr().err
    first = report.read_text(encoding="utf-8")
    assert "SUCCEEDED" in first and "ManualReview" in first  # the whole flow is drawn
    assert main(["run", str(ORDERS), "--input", '{"orderId": "x", "items": []}', "--report", str(report)]) == 1
    assert "FAILED" in report.read_text(encoding="utf-8")
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>")
    assert main(["run", str(ORDERS), "--input", f"@{ORDER}", "--report", str(mine)]) == 2
    assert "not a flowengine report" in capsys.readouterr().err
    assert mine.read_text() == "<p>my notes</p>"


def test_report_command_reads_a_saved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.json"
    assert main(["run", str(ORDERS), "--input", '{"orderId": "x", "items": []}', "--json"]) == 1
    saved.write_text(capsys.readouterr().out)
    assert main(["report", str(saved)]) == 0
    html = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert "OrderRejected" in html and "ManualReview" not in html  # without the app: the states the run entered
    assert main(["report", str(saved)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    out = tmp_path / "full.html"
    assert main(["report", str(saved), "--app", str(ORDERS), "--out", str(out)]) == 0
    assert "ManualReview" in out.read_text(encoding="utf-8")
    assert main(["report", str(saved), "--app", str(ORDERS), "--out", str(out), "--force"]) == 0
    for argv, message in ((["--flow", "PlaceOrder"], "--flow goes with --app"),
                          (["--app", str(ORDERS), "--flow", "Nope"], "no flow named 'Nope'")):
        assert main(["report", str(saved), "--out", str(tmp_path / "x.html"), *argv]) == 2
        assert message in capsys.readouterr().err
    for name, content, message in (("bad.json", "{", "not JSON"), ("list.json", "[1, 2]", "expected the JSON"),
                                   ("missing.json", None, "no such file")):
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        assert main(["report", str(path), "--out", str(tmp_path / "y.html")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "y.html").exists()


def test_result_report_draws_the_definition_that_ran(tmp_path: Path) -> None:
    result = upload_run()
    path = result.report(str(tmp_path / "r.html"))
    text = Path(path).read_text(encoding="utf-8")
    assert 'data-name="Quarantine"' in text  # a state the run never reached: drawn from the definition
    assert re.search(r'class="node k-Fail[^"]*outcome-not-reached"[^>]*data-name="Quarantine"', text)


def test_pytest_option_writes_reports_of_a_failing_test_and_names_them(tmp_path: Path) -> None:
    (tmp_path / "test_flow.py").write_text(
        "from flowengine.testing import run_flow\n"
        "FLOW = {'StartAt': 'Check', 'States': {'Check': {'Type': 'Pass', 'Next': 'Stop'},\n"
        "        'Stop': {'Type': 'Fail', 'Error': 'Rejected', 'Cause': 'no items'}}}\n"
        "def test_fails():\n"
        "    run_flow(FLOW, input={'n': 1})\n"
        "    result = run_flow(FLOW, input={'n': 2})\n"
        "    assert result.status == 'SUCCEEDED'\n"
        "def test_passes():\n"
        "    run_flow(FLOW, input={})\n")
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                           "test_flow.py", "--flowengine-report", str(reports)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    written = sorted(p.name for p in reports.iterdir())
    # both runs of the failing test; the passing test writes none
    assert written == ["test_flow.py_test_fails-call-1-StateMachine.html",
                       "test_flow.py_test_fails-call-2-StateMachine.html"]
    assert "flowengine reports" in done.stdout
    for name in written:
        assert f"StateMachine FAILED: {reports / name}" in done.stdout
        assert "Rejected" in (reports / name).read_text(encoding="utf-8")


def test_the_svg_in_the_docs_is_current() -> None:
    """docs/graph.md shows docs/img/graph-orders.svg: what `flowengine graph` draws today."""
    shown = (REPO / "docs" / "img" / "graph-orders.svg").read_text(encoding="utf-8")
    assert shown == draw(str(ORDERS), "PlaceOrder", fmt="svg"), \
        "regenerate: flowengine graph definitions/orders.yaml --out docs/img/graph-orders.svg --force"


def test_a_saved_run_shows_the_throttles_its_history_holds() -> None:
    from flowengine.report.model import run_data
    from flowengine.testing import run_flow

    app = REPO / "examples" / "tests" / "apps" / "stock.yaml"
    result = run_flow(app, "ReserveAll", input={"items": [{"sku": f"sku-{i}"} for i in range(12)]})
    assert result.throttles["ReserveStock"] > 0
    saved = json.loads(json.dumps(result.to_json()))  # what `run --json` writes: no throttle counts
    assert run_data(saved)["throttles"] == dict(result.throttles)

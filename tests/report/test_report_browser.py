"""The execution report in a real browser (Chromium through Playwright): it loads with no
error and no request off the machine, shows every visited state with its outcome, the
selected state's input and output, and the retry delays on the timeline.  One test also
keeps docs/img/report-upload-pipeline.png current."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from flowengine.report.html import render, write_report

from .conftest import REPO, Page, bundled_runs, upload_run

SCREENSHOT = REPO / "docs" / "img" / "report-upload-pipeline.png"
# The hash of the page the screenshot shows: the PNG is rewritten only when the page changed,
# so a test run leaves the checked-in image alone unless the report itself looks different.
SCREENSHOT_SOURCE = SCREENSHOT.with_suffix(".sha256")


def expected_outcome(record: Any) -> str:
    """A state's outcome from the engine's trace (independent of the report's history reader)."""
    attempts = list(record)
    if attempts[-1].status == "failed":
        return "failed"
    if any(a.status == "caught" for a in attempts):
        return "caught"
    if record.retries and any(a.status == "succeeded" for a in attempts):
        return "retried"
    return "succeeded"


def open_report(page: Page, tmp_path: Path, result: Any, name: str = "run.html", **options: Any) -> Any:
    path = write_report(result, tmp_path / name, **options)
    page.page.goto(Path(path).as_uri())
    page.page.wait_for_selector("#timeline .tl-row")
    return page.page


@pytest.mark.parametrize("label", [r[0] for r in bundled_runs()])
def test_every_bundled_app_reports_without_errors_and_shows_each_visited_state(label: str, page: Page,
                                                                                tmp_path: Path) -> None:
    _, result, app, flow = next(r for r in bundled_runs() if r[0] == label)
    p = open_report(page, tmp_path, result)
    assert page.errors == []
    assert page.outside() == []
    assert p.inner_text("#status") == result.status
    for name in dict.fromkeys(result.path_names):
        node = p.locator(f'.fe-graph .node[data-name="{name}"]')
        assert node.count() == 1, name
        classes = node.get_attribute("class").split()
        assert f"outcome-{expected_outcome(result.state(name))}" in classes, (name, classes)
    drawn = p.eval_on_selector_all(".fe-graph .node", "ns => ns.map(n => n.getAttribute('data-name'))")
    for name in set(drawn) - set(result.path_names):
        assert "outcome-not-reached" in p.locator(f'.fe-graph .node[data-name="{name}"]').get_attribute("class")


def test_a_failing_run_shows_its_error_and_opens_on_the_failed_state(page: Page, tmp_path: Path) -> None:
    result = next(r[1] for r in bundled_runs() if r[0] == "orders-failing")
    p = open_report(page, tmp_path, result)
    assert page.errors == []
    assert result.error in p.inner_text("header .failure")
    assert p.inner_text("#details h2") == result.path_names[-1]  # the Fail state the run ended in
    assert result.error in p.inner_text("#details")


def test_clicking_a_state_shows_its_input_and_output(page: Page, tmp_path: Path) -> None:
    result = upload_run()
    p = open_report(page, tmp_path, result)
    p.click('.fe-graph .node[data-name="WriteLegacy"]')
    assert p.inner_text("#details h2") == "WriteLegacy"
    attempt = result.state("WriteLegacy")[0]
    blocks = p.locator("#details .att").first.locator("details.json")
    assert blocks.nth(0).locator("summary").inner_text() == "input"
    assert json.loads(blocks.nth(0).locator("pre").text_content()) == attempt.input
    assert blocks.nth(1).locator("summary").inner_text() == "output"
    assert json.loads(blocks.nth(1).locator("pre").text_content()) == attempt.output
    assert "selected" in p.locator('.fe-graph .node[data-name="WriteLegacy"]').get_attribute("class")


def test_the_timeline_shows_each_retry_delay(page: Page, tmp_path: Path) -> None:
    result = upload_run()
    assert result.retries == {"ExtractMetadata": [2.0, 4.0]}
    p = open_report(page, tmp_path, result)
    backoffs = p.eval_on_selector_all("#timeline .bar.backoff", "bs => bs.map(b => b.getAttribute('title'))")
    assert backoffs == ["backoff 2 s", "backoff 4 s"]
    notes = p.inner_text("#timeline")
    assert "backoff 2 s" in notes and "backoff 4 s" in notes
    # the 5-minute Wait is drawn as a wait bar
    assert p.locator("#timeline .bar.wait").count() == 1
    # to scale, 2 s of backoff is a sliver next to 5 minutes of Wait; with each instant an
    # equal step it is as wide as any other step
    widths = "bs => bs.map(b => b.getBoundingClientRect().width)"
    to_scale = p.eval_on_selector_all("#timeline .bar.backoff", widths)
    wait = p.eval_on_selector_all("#timeline .bar.wait", widths)[0]
    assert all(w < wait / 20 for w in to_scale)
    p.select_option("#tl-scale", "instants")
    stepped = p.eval_on_selector_all("#timeline .bar.backoff", widths)
    assert all(w > wait / 5 for w in stepped)
    assert page.errors == []
    p.click('.fe-graph .node[data-name="ExtractMetadata"]')
    delays = p.eval_on_selector_all("#details .att .delay", "ds => ds.map(d => d.textContent)")
    assert delays == ["after a 2 s backoff", "after a 4 s backoff"]


def test_the_history_filters_by_state_and_event_type(page: Page, tmp_path: Path) -> None:
    result = upload_run()
    p = open_report(page, tmp_path, result)
    assert p.locator("#history-rows tr").count() == len(result.history)
    p.select_option("#f-state", "ExtractMetadata")
    p.select_option("#f-type", "LambdaFunctionFailed")
    assert p.locator("#history-rows tr").count() == 2
    assert p.inner_text("#history-count") == f"2 of {len(result.history)} events"


def test_the_readme_screenshot_is_current(page: Page, tmp_path: Path) -> None:
    """Writes docs/img/report-upload-pipeline.png when the page it shows has changed."""
    result = upload_run()
    text = render(result)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if SCREENSHOT.exists() and SCREENSHOT_SOURCE.exists() and SCREENSHOT_SOURCE.read_text().strip() == digest:
        return
    page.page.set_viewport_size({"width": 1280, "height": 1000})
    p = open_report(page, tmp_path, result)
    assert page.errors == []
    p.click('.fe-graph .node[data-name="ExtractMetadata"]')
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1280, "height": 1000})
    SCREENSHOT_SOURCE.write_text(digest + "\n")
    assert SCREENSHOT.stat().st_size > 10_000

"""Shared by the report tests: runs of every bundled app, and one Chromium per session.

The browser is Debian's ``chromium``, driven by Playwright through ``executable_path``
(Playwright's own browser download is not available here).  ``.ci/run`` installs it.  In CI
(``CI`` set) a missing browser or Playwright fails the browser tests; on a developer's machine
without them they are skipped, saying what to install.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from flowengine.dsl.app import load
from flowengine.integrations.mockconfig import mock_config_from_dict, scaffold, scaffold_input
from flowengine.testing import mocks, run_flow

REPO = Path(__file__).resolve().parents[2]
APPS = sorted((REPO / "definitions").glob("*.yaml"))
UPLOAD = REPO / "definitions" / "upload-pipeline.yaml"
ORDERS = REPO / "definitions" / "orders.yaml"


@lru_cache(maxsize=None)
def bundled_runs() -> list[tuple[str, Any, str, str]]:
    """(label, result, app path, flow) for every flow of every bundled app, run with its
    scaffolded mocks (the HappyPath MockConfigFile `flowengine mocks scaffold` writes), plus
    the orders flow with its real handlers, succeeding and failing."""
    runs: list[tuple[str, Any, str, str]] = []
    for path in APPS:
        loaded = load(path)
        for flow in loaded.app.flows:
            config = mock_config_from_dict(scaffold(loaded, flow))
            result = run_flow(loaded, flow, input=scaffold_input(loaded, flow),
                              mocks=config.test_case(flow, "HappyPath"))
            runs.append((f"{path.stem}-{flow}-scaffolded", result, str(path), flow))
    order = json.loads((REPO / "examples" / "orders" / "order.json").read_text(encoding="utf-8"))
    runs.append(("orders-handlers", run_flow(ORDERS, "PlaceOrder", input=order), str(ORDERS), "PlaceOrder"))
    bad = run_flow(ORDERS, "PlaceOrder", input={"orderId": "o-1", "items": []})
    assert bad.status == "FAILED"
    runs.append(("orders-failing", bad, str(ORDERS), "PlaceOrder"))
    return runs


@lru_cache(maxsize=None)
def upload_run() -> Any:
    """The upload pipeline with its extraction retried twice (2 s, then 4 s of backoff)
    before it reads the document: the run the README's screenshot shows."""
    meta = {"id": "report.json", "bucket": "uploads", "key": "incoming/report.json", "title": "Q3 report",
            "bytes": 812}
    busy = mocks.raises("States.TaskFailed", "S3 read timed out")
    return run_flow(UPLOAD, "ProcessUpload",
                    input={"detail": {"bucket": {"name": "uploads"}, "object": {"key": "incoming/report.json"}}},
                    mocks={"ExtractMetadata": mocks.sequence(busy, busy, mocks.returns(meta)),
                           "WriteLegacy": mocks.returns({"stored": True, "record": "legacy-report.json"}),
                           "Index": mocks.returns({"indexed": "report.json"})})


def _browser_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason} (.ci/run installs Debian's chromium)")
    pytest.skip(f"{reason}: install Debian's chromium and `pip install -e '.[test]'` to run the browser tests")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    executable = _browser_path()
    if executable is None:
        _unavailable("no chromium on PATH")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A browser page that records console errors, page errors and every request."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning")
                else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def outside(self) -> list[str]:
        """Requests that left file: and loopback."""
        allowed = ("file://", "http://127.0.0.1", "http://localhost", "data:", "about:")
        return [u for u in self.requests if not u.startswith(allowed)]


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        yield Page(context.new_page())
    finally:
        context.close()

"""`flowengine up --console` in a real browser: an execution started by `flowengine send`
while the page is open appears without a reload, and opens its report."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .conftest import ORDERS, REPO, Page

FLOWENGINE = [sys.executable, "-m", "flowengine.cli"]


def _lines(proc: subprocess.Popen[str]) -> "queue.Queue[str]":
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: "queue.Queue[str]", prefix: str, seen: list[str]) -> str:
    while True:
        try:
            line = lines.get(timeout=60)  # a bound against a hang, not a timing assertion
        except queue.Empty:
            raise AssertionError(f"`flowengine up --console` never printed {prefix!r}; it printed:\n{''.join(seen)}")
        seen.append(line)
        if line.startswith(prefix):
            return line


def test_the_console_lists_an_execution_sent_while_it_is_open(page: Page, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    up = subprocess.Popen([*FLOWENGINE, "up", str(ORDERS), "--console"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        lines, seen = _lines(up), []
        url = _wait_for(lines, "console: ", seen).split(" ", 1)[1].strip()  # printed once the listener listens
        assert any(line.startswith("listening on") for line in seen)
        assert url.startswith("http://127.0.0.1:") and "token=" in url
        from flowengine.runtime.inbox import listener_token

        assert url.endswith("?token=" + str(listener_token(str(ORDERS))))  # the listener's own secret
        p = page.page
        p.goto(url)
        p.wait_for_function("document.getElementById('live').textContent === 'live'")
        assert p.locator("tr.execution").count() == 0
        order = json.loads((REPO / "examples" / "orders" / "order.json").read_text(encoding="utf-8"))
        event = tmp_path / "order-placed.json"
        event.write_text(json.dumps({"source": "shop.web", "detail-type": "OrderPlaced", "detail": order}))
        sent = subprocess.run([*FLOWENGINE, "send", str(ORDERS), str(event), "--bus", "ShopEvents"],
                              capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "sent to the running" in sent.stdout
        row = p.wait_for_selector('tr.execution[data-status="SUCCEEDED"]', timeout=60_000)
        assert "PlaceOrder" in row.inner_text()
        assert "OrderPlaced" in p.inner_text("#log")  # the delivery is in the event log
        with p.context.expect_page() as opened:
            p.click("tr.execution a")
        report = Page(opened.value)
        report.page.wait_for_selector("#timeline .tl-row")
        assert report.page.inner_text("#status") == "SUCCEEDED"
        assert report.page.locator('.fe-graph .node[data-name="Rejected"]').get_attribute("class").split()[-1] \
            == "outcome-not-reached"  # drawn from the definition, unreached states included
        assert page.errors == [] and report.errors == []
        assert page.outside() == [] and report.outside() == []
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()


def test_the_console_refuses_a_request_without_its_token(page: Page, tmp_path: Path) -> None:
    from flowengine.report.console import Console
    from flowengine.runtime.app import AppRuntime

    with AppRuntime(str(ORDERS)) as runtime:
        order = json.loads((REPO / "examples" / "orders" / "order.json").read_text(encoding="utf-8"))
        runtime.run_flow("PlaceOrder", order)
        with Console(runtime, "orders") as console:
            base = console.url.split("?")[0]
            for path in ("", "api/state", "events", "execution"):
                for query in ("", "?token=", "?token=" + "x" * len(console.token)):
                    response = page.page.request.get(base + path + query)
                    assert response.status == 403, (path, query)
            state = page.page.request.get(base + "api/state?token=" + console.token).json()
            assert [x["status"] for x in state["executions"]] == ["SUCCEEDED"]
            arn = state["executions"][0]["arn"]
            got = page.page.request.get(f"{base}execution?arn={arn}&token={console.token}")
            assert got.status == 200 and '<meta name="generator" content="flowengine report">' in got.text()

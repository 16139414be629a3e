"""The live console of ``flowengine up APP --console``: the app's executions as they start
and finish, each opening its report, and the runtime's event log, in a browser.

Choose it while an app runs locally and you want to watch it rather than read its log::

    flowengine up definitions/orders.yaml --console
    # console: http://127.0.0.1:51234/?token=...

**Who can see it.**  The server listens on 127.0.0.1 only, and every request must carry the
token of ``up``'s listener for ``send`` (:func:`flowengine.runtime.inbox.listener_token`: a
random 256-bit secret per run of ``up``, in a file only the user can read), printed in the
console's URL: other local users can reach the port but not the pages.  The page passes the
token on to the requests it makes.  On the virtual clock ``up`` has no listener; the console
then makes a secret of its own, printed the same way and kept nowhere.

**How it updates.**  The page holds a server-sent event stream open (``/events``); each
record the runtime logs (a delivery, an execution started or finished, a throttle, a
recursion stop) sends one event, and the page then fetches ``/api/state`` again.  No
reload, and nothing is polled while the app is quiet.

**What runs where.**  The server is the standard library's ``ThreadingHTTPServer`` in a
daemon thread; the runtime keeps its own thread and loop.  The console only reads: the
executions' snapshots and the log records it was handed (``EventLog.subscribe``).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Console", "console_hook"]

#: How long an idle event stream waits before a keep-alive comment, in seconds.
KEEPALIVE_SECONDS = 15.0
#: The log records the page receives at most (the newest).
LOG_LIMIT = 2000


class Console:
    """The console's web server for one :class:`~flowengine.runtime.app.AppRuntime`.

    ``start()`` returns the URL (with the token); ``close()`` stops the server.  ``port`` 0
    picks a free port.
    """

    def __init__(self, runtime: Any, title: str = "", *, port: int = 0, token: str | None = None) -> None:
        self.runtime = runtime
        self.title = title
        self.token = token or secrets.token_hex(32)
        self._records: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._version = 0
        self._closed = False
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        runtime.log.subscribe(self._record)
        for record in list(runtime.log):
            self._record(record, notify=False)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def start(self) -> str:
        """Serve in a daemon thread; the console's URL."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="flowengine-console", daemon=True)
        self._thread.start()
        return self.url

    def close(self) -> None:
        """Stop serving (open event streams end)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Console":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what the page reads --------------------------------------------------------------

    def _record(self, record: Any, notify: bool = True) -> None:
        entry = {"time": record.when.isoformat().replace("+00:00", "Z"), "kind": record.kind,
                 "message": record.message}
        with self._changed:
            self._records.append(entry)
            if len(self._records) > LOG_LIMIT * 2:
                del self._records[:-LOG_LIMIT]
            self._version += 1
            if notify:
                self._changed.notify_all()

    def state(self) -> dict[str, Any]:
        """The executions (newest first) and the newest log records, JSON-ready."""
        from flowengine.engine.clock import to_datetime

        executions = []
        for handle in list(self.runtime.handles()):
            snap = handle.snapshot()
            stop = snap.stop_ts
            executions.append({
                "arn": snap.execution_arn, "name": snap.name, "flow": handle.execution.state_machine_name,
                "status": snap.status, "error": snap.error,
                "start": to_datetime(snap.start_ts).isoformat().replace("+00:00", "Z"),
                "duration": round(stop - snap.start_ts, 3) if stop is not None else None,
            })
        executions.reverse()
        with self._changed:
            log = self._records[-LOG_LIMIT:]
            version = self._version
        return {"title": self.title, "version": version, "executions": executions, "log": log}

    def report(self, arn: str) -> str | None:
        """The report page of the execution ``arn`` (None when there is none)."""
        from flowengine.report.html import render

        for handle in list(self.runtime.handles()):
            if handle.arn == arn:
                execution = handle.execution  # the definition it runs, drawn whole
                return render(handle.snapshot(), source=execution.program.machine, flow=execution.state_machine_name)
        return None

    def changes(self) -> Iterator[int | None]:
        """Yield the version each time the log changes (None after a quiet keep-alive wait);
        ends when the console closes."""
        seen = -1
        while True:
            with self._changed:
                if self._version == seen and not self._closed:
                    self._changed.wait(KEEPALIVE_SECONDS)
                if self._closed:
                    return
                current = self._version
            yield current if current != seen else None
            seen = current


def _handler(console: Console) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "flowengine-console"

        def log_message(self, format: str, *args: Any) -> None:  # the runtime's log is the log
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            given = (query.get("token") or [""])[0]
            if not secrets.compare_digest(given.encode(), console.token.encode()):
                self._send(HTTPStatus.FORBIDDEN, "text/plain", b"the console's URL carries its token: "
                           b"use the one `flowengine up --console` printed\n")
                return
            if parts.path == "/":
                self._send(HTTPStatus.OK, "text/html", _page(console).encode())
            elif parts.path == "/api/state":
                self._send(HTTPStatus.OK, "application/json", json.dumps(console.state(), default=str).encode())
            elif parts.path == "/execution":
                page = console.report((query.get("arn") or [""])[0])
                if page is None:
                    self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such execution\n")
                else:
                    self._send(HTTPStatus.OK, "text/html", page.encode())
            elif parts.path == "/events":
                self._stream()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")  # the token stays on this machine
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for version in console.changes():
                    chunk = f"data: {version}\n\n" if version is not None else ": keep-alive\n\n"
                    self.wfile.write(chunk.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def _page(console: Console) -> str:
    from flowengine.report.html import _static

    title = html.escape(console.title or "flowengine up")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="flowengine console">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>{title} — flowengine console</title>
<style>{_static("report.css")}{_static("console.css")}</style></head>
<body>
<header><h1>{title} <span class="badge RUNNING" id="live">live</span></h1>
<div class="facts"><span>executions <b id="count">0</b></span><span>log records <b id="records">0</b></span></div></header>
<section><h2>Executions <small>newest first; open one for its report</small></h2>
<div class="tablewrap"><table><thead><tr><th>status</th><th>flow</th><th>execution</th><th>started</th><th>duration</th><th>error</th></tr></thead>
<tbody id="executions"></tbody></table></div></section>
<section><h2>Event log <small>deliveries, executions, throttles, recursion stops</small></h2>
<div class="filters"><select id="f-kind"><option value="">every kind</option></select></div>
<div class="tablewrap"><table><thead><tr><th>time</th><th>kind</th><th>message</th></tr></thead>
<tbody id="log"></tbody></table></div></section>
<script>{_static("console.js")}</script>
</body></html>
"""


def console_hook(app_path: str, *, stream: Any = None, keep_open: bool = False) -> Any:
    """``up_command``'s ``on_start`` for ``flowengine up --console APP``: start a console on
    the runtime, with the token of the listener ``up`` opened for ``app_path``, and print its
    URL; the returned callable closes it.  ``keep_open`` (a run on the
    virtual clock, over at once) leaves the console serving until Ctrl-C first."""
    import sys

    out = stream or sys.stdout

    def on_start(runtime: Any) -> Any:
        from flowengine.runtime.inbox import listener_token

        # the secret of this `up`'s listener for `send` (a file only the user can read); a run
        # on the virtual clock has no listener, and the console makes a secret of its own
        token = None if keep_open else listener_token(app_path)
        console = Console(runtime, f"{getattr(runtime.app, 'name', '') or app_path} · flowengine up", token=token)
        out.write(f"console: {console.start()}\n")
        out.flush()

        def stop() -> None:
            try:
                if keep_open:
                    out.write("the virtual run is over; the console stays open until Ctrl-C\n")
                    out.flush()
                    threading.Event().wait()
            except KeyboardInterrupt:
                pass
            finally:
                console.close()

        return stop

    return on_start

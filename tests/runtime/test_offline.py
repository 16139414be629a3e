"""Offline by default: no local entry point lets a handler reach the network.

The guard: fake AWS credentials, ``AWS_ENDPOINT_URL`` pointing at a loopback listener that
counts connections, and a socket guard that records every connect (and refuses any that is
not loopback).  Every entry point then runs every bundled app, and an app with no resources
whose handler calls boto3 anyway; not one connection may happen.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flowengine
from flowengine.cli import main as cli_main
from flowengine.runtime.engine import Engine
from flowengine.testing import TestRuntime, run_flow, test_state

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
UPLOAD_EVENT = {"detail": {"bucket": {"name": "upload-pipeline-uploads"}, "object": {"key": "incoming/r.json"}}}

#: (app file, flow, input, a Task state of that flow)
APPS = [
    (ROOT / "definitions" / "orders.yaml", "PlaceOrder",
     json.loads((ROOT / "examples" / "orders" / "order.json").read_text()), "Validate"),
    (ROOT / "definitions" / "upload-pipeline.yaml", "ProcessUpload", UPLOAD_EVENT, "ExtractMetadata"),
    (ROOT / "definitions" / "nightly-cleanup.yaml", "NightlyCleanup", {}, None),
    (ROOT / "examples" / "tests" / "apps" / "stock.yaml", None, {"sku": "A-1", "quantity": 1}, None),
    (HERE / "apps" / "no_resources.yaml", "Main", {}, "Fetch"),
]
IDS = [p.stem for p, *_ in APPS]


class NetworkWatch:
    """Counts connections to a loopback listener and records every socket connect."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.connects: list[Any] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.listener.close()


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkWatch]:
    watch = NetworkWatch()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake/secret/fake/secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{watch.port}")
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def record(sock: socket.socket, address: Any) -> None:
        watch.connects.append(address)
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"a test run tried to reach {address}")

    def connect(sock: socket.socket, address: Any) -> Any:
        record(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        record(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    try:
        yield watch
    finally:
        watch.close()


def assert_offline(watch: NetworkWatch) -> None:
    inet = [a for a in watch.connects if isinstance(a, tuple)]
    assert inet == [] and watch.accepted == 0, (inet, watch.accepted)


def _cli(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return cli_main(list(argv))
        except SystemExit as exc:  # pragma: no cover - main returns its code
            return int(exc.code or 0)


@pytest.mark.parametrize(("path", "flow", "payload", "state"), APPS, ids=IDS)
def test_every_entry_point_stays_on_the_machine(network: NetworkWatch, path: Path, flow: str | None,
                                                payload: Any, state: str | None) -> None:
    flow_args = ["--flow", flow] if flow else []
    assert _cli("run", str(path), *flow_args, "--input", json.dumps(payload), "--json") in (0, 1)
    flowengine.run(path, flow=flow, input=payload)
    run_flow(path, flow, input=payload)
    with TestRuntime() as rt:
        rt.start(path, payload, flow=flow).result()
    with TestRuntime(path) as rt:
        rt.start(input=payload, flow=flow).result()
    if state is not None:
        test_state(path, state, input=payload)
    assert_offline(network)


def test_the_fixture_stays_on_the_machine(network: NetworkWatch, flowengine_runtime: Any) -> None:
    path = HERE / "apps" / "no_resources.yaml"
    result = flowengine_runtime.start(path, {}).result()
    assert result.output == {"found": "NoSuchBucket,QueueDoesNotExist"}
    assert_offline(network)


def test_up_and_send_stay_on_the_machine(network: NetworkWatch, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    assert _cli("event", "generate", "s3-put", "--bucket", "Uploads", "--key", "incoming/r.json") == 0
    event.write_text(json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                              "s3": {"bucket": {"name": "Uploads"},
                                                     "object": {"key": "incoming/r.json", "size": 2}}}]}))
    app = ROOT / "definitions" / "upload-pipeline.yaml"
    assert _cli("send", str(app), str(event), "--fresh") in (0, 1)
    assert _cli("up", str(ROOT / "definitions" / "nightly-cleanup.yaml"), "--virtual", "--duration", "1d") == 0
    assert_offline(network)


def test_a_handler_meets_the_emulation_not_the_endpoint(network: NetworkWatch) -> None:
    result = run_flow(HERE / "apps" / "no_resources.yaml", input={})
    assert result.output == {"found": "NoSuchBucket,QueueDoesNotExist"}
    assert_offline(network)


def test_the_bare_engine_refuses_instead_of_sending(network: NetworkWatch) -> None:
    with Engine() as engine:
        result = engine.run(HERE / "apps" / "no_resources.yaml", {})
    assert result.status == "FAILED"
    assert result.error == "OfflineError" and "flowengine is offline" in (result.cause or "")
    assert "s3 GetObject" in (result.cause or "")
    assert_offline(network)


def test_the_guard_is_off_outside_a_run(network: NetworkWatch) -> None:
    # Code that runs outside flowengine is untouched: a plain boto3 call still goes where it
    # is pointed (here, the loopback listener).
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", config=Config(retries={"max_attempts": 0}, connect_timeout=1, read_timeout=1))
    with pytest.raises(Exception):
        client.list_buckets()
    assert network.accepted >= 1 or network.connects


def test_a_client_made_before_the_first_run_meets_the_emulation_too() -> None:
    # A fresh process: the client exists before flowengine, moto or any hook does (a handler
    # module's boto3.client(...) at import time).  Its requests must still not leave.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import os, socket
        os.environ.update(AWS_ACCESS_KEY_ID="AKIAFAKE", AWS_SECRET_ACCESS_KEY="fake", AWS_DEFAULT_REGION="us-east-1")
        attempts = []
        real_connect = socket.socket.connect
        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
                raise OSError("blocked by the test")
            return real_connect(sock, address)
        socket.socket.connect = connect
        import boto3
        early = boto3.client("sqs")
        import flowengine
        definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True,
                      "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fn"}}}
        def handler(event, context):
            try:
                return early.get_queue_url(QueueName="nobody-declared-this")
            except Exception as exc:
                return {"error": type(exc).__name__}
        r = flowengine.run(definition, input={}, handlers={"fn": handler})
        with flowengine.Engine(handlers={"fn": handler}) as engine:
            bare = engine.run(definition, {})
        print(r.output, bare.output, attempts)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "{'error': 'QueueDoesNotExist'} {'error': 'OfflineError'} []", done.stdout

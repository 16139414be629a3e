"""`flowengine up` / `send` against another local user (issue 11, items 6 and 7).

The registry lives in a private directory of the user, is never written through a planted
symlink, and a record is trusted only when no one else could have written it; the listener
asks for the run's secret token before it reads a message, hangs up on silent peers, and takes
events of AWS's full size.  The listener runs in this process, on an asyncio loop, with a
stand-in runtime: no subprocess, no sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from flowengine.errors import FlowengineError
from flowengine.runtime import inbox
from flowengine.runtime.commands import send_command

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership and modes")


class Route:
    def __init__(self, name: str) -> None:
        self.name, self.target_kind, self.target = name, "flow", "F"


class FakeRuntime:
    """What the listener needs of an AppRuntime: it records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.objects: list[tuple[str, str, bytes]] = []

    def send(self, event: Any, *, bus: str | None = None, trigger: str | None = None) -> list[Route]:
        self.sent.append(event)
        return [Route("T")]

    def stage_object(self, bucket: str, key: str, body: bytes) -> None:
        self.objects.append((bucket, key, body))


@pytest.fixture
def private_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    return run


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No runtime directory: the registry falls back to the (shared) temporary directory."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    return shared


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _serve(app: Path, scenario: Any, runtime: FakeRuntime | None = None) -> Any:
    """Run ``scenario(port)`` while the listener serves ``app``; its result.

    On a thread of its own, with a loop of its own: independent of any loop another test
    left behind on the main thread."""
    async def main() -> Any:
        async with inbox.serving(runtime or FakeRuntime(), app) as port:
            return await scenario(port)

    outcome: dict[str, Any] = {}

    def serve() -> None:
        try:
            outcome["value"] = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the listener scenario did not finish in 120 s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def _exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer


# -- the registry directory -----------------------------------------------------------------


def test_the_registry_is_a_private_directory_of_the_user(private_runtime_dir: Path) -> None:
    path = inbox.registry_dir()
    assert path == private_runtime_dir / "flowengine"
    assert _mode(path) == 0o700 and os.lstat(path).st_uid == os.getuid()


def test_without_a_runtime_directory_it_is_per_user_in_the_temp_directory(shared_tmp: Path) -> None:
    path = inbox.registry_dir()
    assert path == shared_tmp / f"flowengine-{os.getuid()}" and _mode(path) == 0o700


def test_a_directory_another_user_could_use_is_refused(shared_tmp: Path) -> None:
    planted = shared_tmp / f"flowengine-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)  # pre-created by someone else, open to all
    with pytest.raises(FlowengineError, match="can be used by other users"):
        inbox.registry_dir()


def test_a_directory_of_another_owner_is_refused(shared_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (shared_tmp / f"flowengine-{os.getuid()}").mkdir(mode=0o700)
    monkeypatch.setattr(inbox, "_uid", lambda: os.getuid() + 1)  # as seen by another user
    with pytest.raises(FlowengineError, match="belongs to uid"):
        inbox.registry_dir()


def test_a_planted_symlink_for_the_directory_is_refused(shared_tmp: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o700)
    (shared_tmp / f"flowengine-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(FlowengineError, match="is a symlink or not a directory"):
        inbox.registry_dir()


# -- records --------------------------------------------------------------------------------


def test_up_never_writes_through_a_planted_symlink(private_runtime_dir: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    victim.chmod(0o600)
    inbox.registry_path(app).symlink_to(victim)
    inbox.token_path(app).symlink_to(victim)

    async def look(port: int) -> tuple[int, int, dict[str, Any]]:
        record = inbox.registry_path(app)
        return _mode(record), _mode(inbox.token_path(app)), json.loads(record.read_text())

    record_mode, token_mode, record = _serve(app, look)
    assert victim.read_text() == "precious"
    assert (record_mode, token_mode) == (0o600, 0o600) and record["pid"] == os.getpid()
    assert not inbox.registry_path(app).exists() and not inbox.token_path(app).exists()


@pytest.mark.parametrize("plant", ["readable", "symlink", "other-owner"])
def test_a_record_someone_else_could_have_written_is_not_trusted(plant: str, private_runtime_dir: Path,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.yaml"
    app.write_text("app: a\nflows:\n  F:\n    StartAt: A\n    States:\n      A: {Type: Pass, End: true}\n"
                   "triggers:\n  - {name: T, schedule: rate(1 hour), start: F}\n")
    attacker = socket.socket()
    attacker.bind(("127.0.0.1", 0))
    attacker.listen()
    attacker.setblocking(False)
    record = {"pid": os.getpid(), "port": attacker.getsockname()[1], "app": str(app)}
    planted = tmp_path / "planted.json" if plant == "symlink" else inbox.registry_path(app)
    planted.write_text(json.dumps(record))
    inbox.token_path(app).write_text("0" * inbox.TOKEN_BYTES)
    inbox.token_path(app).chmod(0o600)
    if plant == "readable":
        planted.chmod(0o644)
    elif plant == "symlink":
        planted.chmod(0o600)
        inbox.registry_path(app).symlink_to(planted)
    else:
        planted.chmod(0o600)
        monkeypatch.setattr(inbox, "_uid", lambda: os.getuid() + 1)
    try:
        with pytest.raises(FlowengineError, match="refusing the `flowengine up` registry"):
            inbox.find_running(app)
        event = json.dumps({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
        assert send_command(str(app), event) == 2
        assert "refusing the `flowengine up` registry" in capsys.readouterr().err
        with pytest.raises(BlockingIOError):  # nothing ever connected to the attacker's port
            attacker.accept()
    finally:
        attacker.close()


# -- the listener ---------------------------------------------------------------------------


def _message(event: Any) -> bytes:
    return json.dumps({"event": event, "bus": None, "trigger": None}).encode() + b"\n"


def test_the_listener_refuses_a_message_without_the_token(private_runtime_dir: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    runtime = FakeRuntime()

    async def attempts(port: int) -> list[dict[str, Any]]:
        wrong = "f" * inbox.TOKEN_BYTES + "\n"
        return [json.loads(await _exchange(port, data)) for data in
                (_message({"a": 1}), wrong.encode() + _message({"a": 1}), b"")]

    answers = _serve(app, attempts, runtime)
    assert [a["ok"] for a in answers] == [False, False, False]
    assert all(a["error"].startswith("not authorised") for a in answers)
    assert runtime.sent == []


def test_send_delivers_an_event_of_aws_size_with_the_token(private_runtime_dir: Path, tmp_path: Path) -> None:
    """A 100 KB (and a 250 KB) event: the old 64 KiB line limit refused them."""
    app = tmp_path / "app.yaml"
    runtime = FakeRuntime()
    object_file = tmp_path / "object.bin"
    object_file.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    events = [{"detail": {"blob": "x" * 100_000}},
              {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "B"}, "object": {"key": "k"}},
                            "pad": "é" * 120_000}]}]

    async def send_all(port: int) -> list[dict[str, Any]]:
        running = inbox.find_running(app)
        assert running is not None and running["port"] == port and len(running["token"]) == inbox.TOKEN_BYTES
        assert inbox.listener_token(app) == running["token"]
        loop = asyncio.get_running_loop()
        answers = [await loop.run_in_executor(None, inbox.deliver, running,
                                              inbox.message(events[0], bus=None, trigger=None, object_file=None))]
        answers.append(await loop.run_in_executor(None, inbox.deliver, running, inbox.message(
            events[1], bus=None, trigger=None, object_file=str(object_file))))
        return answers

    answers = _serve(app, send_all, runtime)
    assert [a["ok"] for a in answers] == [True, True]
    assert runtime.sent == events
    assert runtime.objects == [("B", "k", object_file.read_bytes())]


def test_the_listener_hangs_up_on_a_silent_peer(private_runtime_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox, "IDLE_TIMEOUT_SECONDS", 0.05)
    app = tmp_path / "app.yaml"

    async def idle(port: int) -> tuple[bytes, bytes]:
        silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)
        # connected, says nothing: the listener closes its end after the idle timeout
        said = await asyncio.wait_for(silent_reader.read(), 30)
        silent_writer.close()
        token = inbox.listener_token(app)
        assert token is not None
        half_reader, half_writer = await asyncio.open_connection("127.0.0.1", port)
        half_writer.write(token.encode() + b"\n")  # the token, then silence
        said_after_token = await asyncio.wait_for(half_reader.read(), 30)
        half_writer.close()
        return said, said_after_token

    assert _serve(app, idle) == (b"", b"")


def test_the_listener_refuses_more_than_its_message_limit(private_runtime_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "app.yaml"
    assert inbox.MAX_MESSAGE_BYTES > 6 * 256 * 1024 + 4 * (inbox.files.MAX_OBJECT_BYTES // 3)
    monkeypatch.setattr(inbox, "MAX_MESSAGE_BYTES", 4096)
    runtime = FakeRuntime()

    async def big(port: int) -> dict[str, Any]:
        token = inbox.listener_token(app)
        assert token is not None
        return json.loads(await _exchange(port, token.encode() + b"\n" + _message({"x": "y" * 10_000})))

    # the limit is read when the server starts, so patching before serving applies it
    answer = _serve(app, big, runtime)
    assert answer == {"ok": False, "error": "the message is over 4096 bytes"} and runtime.sent == []


def test_an_unusable_runtime_directory_falls_back_to_the_private_temp_one(shared_tmp: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared_tmp / "missing"))
    assert inbox.registry_dir() == shared_tmp / f"flowengine-{os.getuid()}"

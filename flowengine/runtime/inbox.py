"""How ``flowengine send`` reaches a running ``flowengine up`` of the same app.

``up`` (on the real clock) listens on 127.0.0.1, on a port the system picks, and records
``{"pid", "port", "app"}`` in a small file under the system's temporary directory, named
after the app file's absolute path (nothing is written next to the user's files).  ``send``
looks for that file; when the process is alive and the port answers, it sends one JSON line
``{"event", "bus", "trigger", "object"}`` and reads one JSON line back: the routes the event
took, or the error.  The event runs in ``up``'s runtime, so its log appears there.

Nothing here is reachable from another machine: the socket is bound to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from flowengine.errors import FlowengineError

#: How long ``send`` waits for a running ``up`` to answer.
TIMEOUT_SECONDS = 10.0


def registry_path(app_path: str | os.PathLike[str]) -> Path:
    """Where a running ``up`` of ``app_path`` leaves its address."""
    digest = hashlib.sha256(os.path.abspath(app_path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "flowengine-up" / f"{digest}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to talk to
        return False
    return True


def find_running(app_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The address of a running ``up`` of this app file (``pid``, ``port``), or None."""
    path = registry_path(app_path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        pid, port = int(record["pid"]), int(record["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        with contextlib.suppress(OSError):
            path.unlink()  # left behind by an `up` that was killed
        return None
    return {"pid": pid, "port": port}


def deliver(address: dict[str, Any], message: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Send one message to a running ``up``; its answer (``{"ok": bool, ...}``)."""
    try:
        with socket.create_connection(("127.0.0.1", address["port"]), timeout=timeout) as conn:
            conn.sendall(json.dumps(message).encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
    except OSError as exc:
        raise FlowengineError(f"the running `flowengine up` (pid {address['pid']}) did not answer: {exc}; "
                              "pass --fresh to use a fresh runtime") from None
    try:
        answer = json.loads(data.decode() or "null")
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise FlowengineError(f"the running `flowengine up` (pid {address['pid']}) gave no readable answer")
    return answer


def message(event: Any, *, bus: str | None, trigger: str | None, object_file: str | None) -> dict[str, Any]:
    """The line ``send`` writes: the event, where it goes, and the object to stage first."""
    out: dict[str, Any] = {"event": event, "bus": bus, "trigger": trigger}
    if object_file is not None:
        from flowengine.runtime.commands import read_object_file, s3_object_of

        bucket, key = s3_object_of(event)
        body = read_object_file(object_file)
        out["object"] = {"bucket": bucket, "key": key, "body": base64.b64encode(body).decode()}
    return out


@contextlib.asynccontextmanager
async def serving(runtime: Any, app_path: str | os.PathLike[str]) -> AsyncIterator[int]:
    """Listen for ``send`` while the block runs (inside the runtime's loop); the port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            answer = _answer(runtime, line)
        except Exception as exc:  # noqa: BLE001 - a bad message must not stop `up`
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        writer.write(json.dumps(answer).encode() + b"\n")
        with contextlib.suppress(OSError):
            await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    path = registry_path(app_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "port": port, "app": os.path.abspath(app_path)}),
                    encoding="utf-8")
    try:
        yield port
    finally:
        server.close()
        with contextlib.suppress(OSError):
            path.unlink()


def _answer(runtime: Any, line: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(line.decode())
    except ValueError as exc:
        return {"ok": False, "error": f"not JSON: {exc}"}
    if not isinstance(msg, dict) or "event" not in msg:
        return {"ok": False, "error": "expected {\"event\": ...}"}
    try:
        staged = msg.get("object")
        if isinstance(staged, dict):
            runtime.stage_object(staged["bucket"], staged["key"], base64.b64decode(staged["body"]))
        routes = runtime.send(msg["event"], bus=msg.get("bus"), trigger=msg.get("trigger"))
    except FlowengineError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "routes": [{"trigger": r.name, "target_kind": r.target_kind, "target": r.target}
                                   for r in routes]}


__all__ = ["deliver", "find_running", "message", "registry_path", "serving"]

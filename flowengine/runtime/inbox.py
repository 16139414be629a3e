"""How ``flowengine send`` reaches a running ``flowengine up`` of the same app, safely.

``up`` (on the real clock) listens on 127.0.0.1, on a port the system picks.  Beside it, in a
**private registry directory** of the user (:func:`registry_dir`), it leaves two files named
after the app file's absolute path, both created ``0600`` without following symlinks:

* the **record** (:func:`registry_path`): ``{"pid", "port", "app"}``;
* the **token** (:func:`token_path`): a fresh random secret for this run of ``up``.

``send`` trusts a record only when the directory and both files belong to the user and no
one else can read or write them.  It connects, writes the token on the first line and one
JSON line ``{"event", "bus", "trigger", "object"}``, and reads one JSON line back: the routes
the event took, or the error.  The event runs in ``up``'s runtime, so its log appears there.

The listener checks the token on every connection before it reads the message (a peer
without it gets at most :data:`TOKEN_BYTES` + 1 bytes read), drops peers that stay silent for
:data:`IDLE_TIMEOUT_SECONDS`, serves at most :data:`MAX_PEERS` at once, and takes messages up
to :data:`MAX_MESSAGE_BYTES`: an event of AWS's largest size plus an ``--object`` file of
:data:`~flowengine.dsl.files.MAX_OBJECT_BYTES`, base64-encoded.

Nothing here is reachable from another machine: the socket is bound to 127.0.0.1 only.

**For other clients of the listener** (a live console): :func:`listener_token` returns the
secret of the ``up`` running an app file (None when none runs).  A client sends the token and
a newline before anything else.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from flowengine.dsl import files
from flowengine.errors import FlowengineError

#: How long ``send`` waits for a running ``up`` to answer.
TIMEOUT_SECONDS = 10.0
#: How long the listener waits for each line of a peer before it hangs up.
IDLE_TIMEOUT_SECONDS = 10.0
#: At most this many peers are served at once; more are turned away at once.
MAX_PEERS = 16
#: The length of a token (``secrets.token_hex(32)``).
TOKEN_BYTES = 64
#: AWS's event size limit: 256 KB for an EventBridge PutEvents entry, an SNS or SQS message
#: or an asynchronous Lambda invocation.
EVENT_LIMIT_BYTES = 256 * 1024
#: The largest message the listener reads: an event of AWS's limit written by ``json.dumps``
#: (``\\uXXXX`` escapes make a character up to 6 bytes; 12 for a surrogate pair of 4 UTF-8
#: bytes, so 6x bounds it), the ``--object`` bytes in base64, and room for the envelope.
MAX_MESSAGE_BYTES = 6 * EVENT_LIMIT_BYTES + 4 * ((files.MAX_OBJECT_BYTES + 2) // 3) + 64 * 1024

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def _check_private(path: Path, st: os.stat_result, what: str, *, directory: bool) -> None:
    """Refuse a registry path another user could have planted or could read."""
    kind_ok = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    uid = _uid()
    problem = None
    if not kind_ok:
        problem = "is a symlink or not a " + ("directory" if directory else "regular file")
    elif uid is not None and st.st_uid != uid:
        problem = f"belongs to uid {st.st_uid}, not to you (uid {uid})"
    elif uid is not None and st.st_mode & 0o077:
        problem = f"can be used by other users (mode {stat.S_IMODE(st.st_mode):o})"
    if problem:
        raise FlowengineError(f"refusing the `flowengine up` registry {what} {path}: it {problem} "
                              "(someone may have planted it); remove it if it is yours, or point XDG_RUNTIME_DIR "
                              "or TMPDIR at a private directory; `send --fresh` skips the registry")


def registry_dir() -> Path:
    """The user's private directory for ``up``'s records, created ``0700`` if missing.

    ``$XDG_RUNTIME_DIR/flowengine`` when the session has a (writable) runtime directory, else
    ``flowengine-<uid>`` in the system's temporary directory.  Either way it must be a real
    directory (not a symlink), owned by the user, with no access for anyone else:
    :class:`FlowengineError` otherwise (someone may have planted it)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime) and os.access(runtime, os.W_OK | os.X_OK):
        path = Path(runtime) / "flowengine"
    else:
        uid = _uid()
        path = Path(tempfile.gettempdir()) / (f"flowengine-{uid}" if uid is not None else "flowengine-up")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise FlowengineError(f"cannot create the `flowengine up` registry {path}: {exc.strerror or exc}") from None
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise FlowengineError(f"cannot read the `flowengine up` registry {path}: {exc.strerror or exc}") from None
    _check_private(path, st, "directory", directory=True)
    return path


def _digest(app_path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(os.path.abspath(app_path).encode()).hexdigest()[:16]


def registry_path(app_path: str | os.PathLike[str]) -> Path:
    """Where a running ``up`` of ``app_path`` leaves its address."""
    return registry_dir() / f"{_digest(app_path)}.json"


def token_path(app_path: str | os.PathLike[str]) -> Path:
    """Where a running ``up`` of ``app_path`` keeps the secret its listener asks for."""
    return registry_dir() / f"{_digest(app_path)}.token"


def _read_private(path: Path, what: str, limit: int = 4096) -> str | None:
    """A registry file's text, after checking that only the user can use it; None if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(path):
            _check_private(path, os.lstat(path), what, directory=False)
        raise FlowengineError(f"cannot read the `flowengine up` registry {what} {path}: "
                              f"{exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        _check_private(path, os.fstat(fh.fileno()), what, directory=False)
        return fh.read(limit).decode("utf-8", "replace")


def _write_private(path: Path, text: str) -> None:
    """Write a registry file ``0600``: to a fresh temporary name (``O_EXCL``, no symlink
    followed), then renamed over ``path``, which replaces whatever stood there (a planted
    symlink included) without writing through it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def listener_token(app_path: str | os.PathLike[str]) -> str | None:
    """The secret a client must send first to the listener of the ``up`` running
    ``app_path``, or None when no ``up`` of it has a listener.  Raises
    :class:`FlowengineError` when the registry is not private to the user."""
    text = _read_private(token_path(app_path), "token")
    token = (text or "").strip()
    return token if len(token) == TOKEN_BYTES else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to talk to
        return False
    return True


def find_running(app_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The address of a running ``up`` of this app file (``pid``, ``port``, ``token``), or
    None.  Raises :class:`FlowengineError` when the registry or a record in it could have
    been written by someone else."""
    path = registry_path(app_path)
    text = _read_private(path, "record")
    if text is None:
        return None
    try:
        record = files.loads(text)
        pid, port = int(record["pid"]), int(record["port"])
        app = record["app"]
    except (ValueError, KeyError, TypeError):
        return None
    if app != os.path.abspath(app_path) or not 0 < port < 65536:
        return None
    if not _alive(pid):
        with contextlib.suppress(OSError):
            path.unlink()  # left behind by an `up` that was killed
        with contextlib.suppress(OSError):
            token_path(app_path).unlink()
        return None
    token = listener_token(app_path)
    if token is None:
        return None
    return {"pid": pid, "port": port, "token": token}


def deliver(address: dict[str, Any], message: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Send one message to a running ``up``; its answer (``{"ok": bool, ...}``)."""
    body = json.dumps(message, allow_nan=False).encode()
    if len(body) > MAX_MESSAGE_BYTES:
        raise FlowengineError(f"the event and object are {len(body)} bytes, over the {MAX_MESSAGE_BYTES}-byte "
                              "limit of the running `flowengine up`")
    try:
        with socket.create_connection(("127.0.0.1", address["port"]), timeout=timeout) as conn:
            conn.sendall(str(address.get("token", "")).encode() + b"\n" + body + b"\n")
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
            data = b"".join(chunks)
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
    token = secrets.token_hex(TOKEN_BYTES // 2)
    peers = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal peers
        peers += 1
        try:
            if peers > MAX_PEERS:
                answer: dict[str, Any] | None = {"ok": False, "error": "busy: too many connections"}
            else:
                answer = await _converse(runtime, token, reader)
            if answer is not None:  # None: the peer stayed silent, hang up
                writer.write(json.dumps(answer).encode() + b"\n")
                with contextlib.suppress(OSError, asyncio.TimeoutError):
                    await asyncio.wait_for(writer.drain(), IDLE_TIMEOUT_SECONDS)
        finally:
            peers -= 1
            writer.close()

    server = await asyncio.start_server(handle, host="127.0.0.1", port=0, limit=MAX_MESSAGE_BYTES)
    port = server.sockets[0].getsockname()[1]
    record, secret = registry_path(app_path), token_path(app_path)
    _write_private(secret, token)
    _write_private(record, json.dumps({"pid": os.getpid(), "port": port, "app": os.path.abspath(app_path)}))
    try:
        yield port
    finally:
        server.close()
        for path in (record, secret):
            with contextlib.suppress(OSError):
                path.unlink()


async def _converse(runtime: Any, token: str, reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """Read the token, then the message; the answer (None: the peer went quiet, hang up)."""
    try:
        first = await asyncio.wait_for(reader.readexactly(TOKEN_BYTES + 1), IDLE_TIMEOUT_SECONDS)
    except asyncio.IncompleteReadError:
        return {"ok": False, "error": "not authorised: send the token first"}
    except (asyncio.TimeoutError, OSError):
        return None
    if not hmac.compare_digest(first, token.encode() + b"\n"):
        return {"ok": False, "error": "not authorised: wrong token"}
    try:
        line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_SECONDS)
    except ValueError:  # over the limit (asyncio's LimitOverrunError)
        return {"ok": False, "error": f"the message is over {MAX_MESSAGE_BYTES} bytes"}
    except (asyncio.TimeoutError, OSError):
        return None
    try:
        return _answer(runtime, line)
    except Exception as exc:  # noqa: BLE001 - a bad message must not stop `up`
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _answer(runtime: Any, line: bytes) -> dict[str, Any]:
    try:
        msg = files.loads(line)
    except RecursionError:
        return {"ok": False, "error": "the message is nested too deeply"}
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


__all__ = ["deliver", "find_running", "listener_token", "message", "registry_dir", "registry_path", "serving",
           "token_path"]

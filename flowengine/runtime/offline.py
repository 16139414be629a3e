"""Offline by default: while a local run is in progress, no AWS call leaves the machine.

Every entry point of the runtime (the CLI, :func:`flowengine.run`, ``run_flow``,
``TestRuntime``, the fixtures, ``test_state``) runs inside an :class:`AppRuntime`, whose
emulation (moto, in-process) answers every boto3 call a handler makes: the app's resources
exist there, anything else gets AWS's own "not found" error.  :class:`Engine`, the bare
interpreter, has no emulation; while one of its runs is in progress this guard refuses any
AWS request a handler makes (:class:`OfflineError`, naming the call) instead of sending it.

The guard is a botocore ``before-send`` hook, the hook moto itself uses, registered for
every session (existing and future).  It refuses only while a guarded run is in progress
and no emulation is active (flowengine's, or a ``moto.mock_aws`` the caller started), so it never stands between a handler and the emulation, and
code that runs outside flowengine is untouched.  The explicit ways out are hybrid runs
(``--aws`` / ``aws=``) and remote runs (``--remote``), which never arm it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

from flowengine.errors import FlowengineError

__all__ = ["OfflineError", "emulation_active", "guarded", "install"]

_lock = threading.Lock()
_guarded = 0  # runs in progress that must stay offline
_emulations = 0  # emulations active (their calls are answered in-process)
_installed = False


class OfflineError(FlowengineError):
    """A handler tried to reach AWS during a local run that has no emulation to answer it."""


def _moto_answers() -> bool:
    """Whether a ``mock_aws`` of the caller's own is on (moto answers the call in-process)."""
    core = sys.modules.get("moto.core.models")
    stubber = getattr(core, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def _refuse(request: Any = None, event_name: str = "", **_: Any) -> None:
    if _guarded and not _emulations and not _moto_answers():
        # event_name: before-send.<service>.<Operation>
        parts = event_name.split(".")
        call = f"{parts[1]} {parts[2]}" if len(parts) >= 3 else "an AWS call"
        url = getattr(request, "url", "")
        raise OfflineError(
            f"flowengine is offline: a handler's {call} to {url or 'AWS'} was not sent "
            "(a bare Engine has no emulated resources; run it with flowengine.run, run_flow or "
            "AppRuntime to meet the in-process emulation, or use a hybrid run (aws=... / --aws) "
            "to call a deployed stack on purpose)")
    return None


def install() -> None:
    """Register the hook for every botocore session, now and later (once per process)."""
    global _installed
    if _installed:
        return
    import botocore.handlers

    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", _refuse))
    _patch_send()
    try:  # sessions created before the first guarded run (boto3's default one) get it too
        import boto3

        session = boto3.DEFAULT_SESSION
        if session is not None:
            session._session.register("before-send", _refuse)  # noqa: SLF001
    except ImportError:  # pragma: no cover - boto3 is a dependency
        pass
    _installed = True


def _patch_send() -> None:
    """The last line of defence, for clients made before any hook existed.

    A botocore client copies its session's hooks when it is made, so one created before
    moto or this module registered theirs (a handler module's ``boto3.client(...)`` at import,
    before the process's first run) would send for real.  Every synchronous client ends in
    ``Endpoint._send``; while an emulation or a guarded run is active, that request goes to
    moto's stubber, or is refused.  aiobotocore's endpoint has its own ``_send`` (hybrid runs).
    """
    from botocore import endpoint

    original = endpoint.Endpoint._send
    if getattr(original, "_flowengine", False):
        return

    def _send(self: Any, request: Any) -> Any:
        emulated = bool(_emulations) or _moto_answers()
        if not emulated and not _guarded:
            return original(self, request)
        if emulated:
            core = sys.modules.get("moto.core.models")
            stubber = getattr(core, "botocore_stubber", None)
            if stubber is not None:
                was = stubber.enabled
                stubber.enabled = True
                try:
                    response = stubber("before-send", request)
                finally:
                    stubber.enabled = was
                if response is not None:
                    return response
        raise OfflineError(
            f"flowengine is offline: a request to {getattr(request, 'url', 'AWS')} was not sent (it came from a "
            "client made before the run started, which the emulation does not answer: make the client inside "
            "the handler, or after the first run)")

    _send._flowengine = True  # type: ignore[attr-defined]
    endpoint.Endpoint._send = _send  # type: ignore[method-assign]


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Refuse AWS calls for the duration (unless an emulation answers them)."""
    global _guarded
    with _lock:
        install()
        _guarded += 1
    try:
        yield
    finally:
        with _lock:
            _guarded -= 1


@contextlib.contextmanager
def emulation_active() -> Iterator[None]:
    """Mark an emulation as answering AWS calls for the duration: the guard lets them through."""
    global _emulations
    with _lock:
        _emulations += 1
    try:
        yield
    finally:
        with _lock:
            _emulations -= 1

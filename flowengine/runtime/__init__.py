"""The one way to run: every local entry point (the CLI's ``run``/``up``/``send``,
:func:`flowengine.run`, :func:`flowengine.testing.run_flow`, ``TestRuntime``, the pytest
fixtures and ``test_state``) is a thin layer over the objects here.

* :mod:`.engine`: :class:`Engine`, the bare interpreter with its default Task integrations
  (local handlers, nested executions, callbacks);
* :mod:`.app`: :class:`AppRuntime`, an app on one clock with its resources emulated
  in-process, offline by default;
* :mod:`.api`: :func:`run`, the one-call form, and the options every entry point shares;
* :mod:`.hybrid`: :func:`run_hybrid` (``aws=Hybrid(stack)``), the explicit way to let Tasks
  call a deployed stack;
* :mod:`.offline`: the guard that keeps a bare engine's handlers off the network;
* :mod:`.commands`, :mod:`.inbox`: ``flowengine up`` / ``send`` / ``run --event``.

Names are imported on first use (the runtime brings boto3 and moto).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AppRuntime", "Engine", "Hybrid", "run", "run_hybrid"]

if TYPE_CHECKING:
    from flowengine.runtime.api import run
    from flowengine.runtime.app import AppRuntime
    from flowengine.runtime.engine import Engine
    from flowengine.runtime.hybrid import Hybrid, run_hybrid

_LAZY = {
    "AppRuntime": "flowengine.runtime.app",
    "Engine": "flowengine.runtime.engine",
    "Hybrid": "flowengine.runtime.hybrid",
    "run": "flowengine.runtime.api",
    "run_hybrid": "flowengine.runtime.hybrid",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowengine.runtime' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))

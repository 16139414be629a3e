"""flowengine: AWS Step Functions-style workflows for Python teams.

Write an app file (functions, resources, flows, triggers), run it locally on a virtual
clock with AWS's semantics, and compile it to ASL plus an AWS SAM template::

    import flowengine
    result = flowengine.run("app.yaml", flow="checkout", input={"order": 1})
    assert result.status == "SUCCEEDED", (result.error, result.cause)

* :func:`run`: one execution, in an :class:`AppRuntime` (resources emulated, offline);
* :class:`AppRuntime`: an app as a whole, its triggers and resources on one clock;
* :class:`Engine`: the bare interpreter, for those who want no app runtime;
* :class:`Hybrid`: ``run(..., aws=Hybrid("stack"))``, Tasks against a deployed stack;
* :class:`ExecutionResult`: what every run returns, locally or on AWS.

The public names are imported on first use, so ``import flowengine`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AppRuntime", "Engine", "ExecutionResult", "Hybrid", "run"]

if TYPE_CHECKING:
    from flowengine.engine.result import ExecutionResult
    from flowengine.runtime.api import run
    from flowengine.runtime.app import AppRuntime
    from flowengine.runtime.engine import Engine
    from flowengine.runtime.hybrid import Hybrid

_LAZY = {
    "run": ("flowengine.runtime.api", "run"),
    "AppRuntime": ("flowengine.runtime.app", "AppRuntime"),
    "Engine": ("flowengine.runtime.engine", "Engine"),
    "Hybrid": ("flowengine.runtime.hybrid", "Hybrid"),
    "ExecutionResult": ("flowengine.engine.result", "ExecutionResult"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'flowengine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))

"""flowengine's testing API: run flows in pytest on a virtual clock, mock their Tasks, and
assert on how they ran.  docs/testing.md is the guide.

* :func:`run_flow`: one execution to its end, traced (``result.path``,
  ``result.state("X").attempts``, ``result.retries``, ``result.history``);
* :class:`TestRuntime`: several executions on one virtual clock, with ``advance(timedelta)``
  and ``run_until_idle()``;
* :func:`test_state`: one state in isolation, each dataflow step reported (AWS's TestState);
* :mod:`~flowengine.testing.mocks` (``returns``, ``raises``, ``call``, ``sequence``) and
  :func:`load_mock_config` for Step Functions Local MockConfigFiles;
* :class:`ProgressPrinter`: a listener that prints a run as it goes.

The pytest fixtures (``flowengine_runtime``, ``virtual_clock``, ``load_app``) come with the
package through its pytest plugin.  Names are imported on first use, so that the plugin
costs pytest nothing at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "ExecutionResult",
    "MockSet",
    "ProgressPrinter",
    "RunningExecution",
    "StateTestResult",
    "TestRuntime",
    "load_mock_config",
    "mocks",
    "run_flow",
    "test_state",
]

if TYPE_CHECKING:
    from flowengine.engine.result import ExecutionResult
    from flowengine.testing import mocks
    from flowengine.integrations.mockconfig import load_mock_config
    from flowengine.integrations.mocks import MockSet
    from flowengine.testing.progress import ProgressPrinter
    from flowengine.testing.run import RunningExecution, TestRuntime, run_flow
    from flowengine.testing.state import StateTestResult, test_state

_LAZY = {
    "ExecutionResult": ("flowengine.engine.result", "ExecutionResult"),
    "MockSet": ("flowengine.integrations.mocks", "MockSet"),
    "ProgressPrinter": ("flowengine.testing.progress", "ProgressPrinter"),
    "RunningExecution": ("flowengine.testing.run", "RunningExecution"),
    "StateTestResult": ("flowengine.testing.state", "StateTestResult"),
    "TestRuntime": ("flowengine.testing.run", "TestRuntime"),
    "load_mock_config": ("flowengine.integrations.mockconfig", "load_mock_config"),
    "mocks": ("flowengine.testing.mocks", None),
    "run_flow": ("flowengine.testing.run", "run_flow"),
    "test_state": ("flowengine.testing.state", "test_state"),
}

def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'flowengine.testing' has no attribute {name!r}")
    import importlib

    import flowengine.report  # noqa: F401  (registers ExecutionResult.report for what the testing API returns)

    module = importlib.import_module(target[0])
    value = module if target[1] is None else getattr(module, target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))

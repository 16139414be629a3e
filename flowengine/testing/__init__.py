"""flowengine's testing API: run flows in pytest on a virtual clock, mock their Tasks, and
assert on how they ran.  docs/testing.md is the guide.

* :func:`run_flow`: one execution to its end, traced (``result.path``,
  ``result.state("X").attempts``, ``result.retries``, ``result.history``);
* :class:`TestRuntime`: several executions on one virtual clock, with ``advance(timedelta)``
  and ``run_until_idle()``;
* :func:`test_state`: one state in isolation, each dataflow step reported (AWS's TestState);
* :mod:`~flowengine.testing.mocks` (``returns``, ``raises``, ``call``, ``sequence``) and
  :func:`load_mock_config` for Step Functions Local MockConfigFiles (a :class:`MockConfig`;
  each of its test cases is a :class:`MockSet`);
* :class:`LambdaFunction`: a function's settings for ``handlers=`` (a stand-in handler, a
  concurrency cap, a modelled ``duration_seconds``, a timeout), the fields left None keeping
  the app's values; it lives in :mod:`flowengine.integrations.lambda_local`;
* :class:`VirtualClock` (the default) and :class:`RealClock` for ``clock=``;
* :class:`StateRecord` and :class:`Attempt`: what ``result.state("X")`` returns;
* :class:`ProgressPrinter`: a listener that prints a run as it goes.

Every entry point here runs in an app runtime (:class:`flowengine.AppRuntime`): the app's
resources are emulated in-process and nothing leaves the machine.

The pytest fixtures (``flowengine_runtime``, ``virtual_clock``, ``load_app``) come with the
package through its pytest plugin.  Names are imported on first use, so that the plugin
costs pytest nothing at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Attempt",
    "ExecutionResult",
    "LambdaFunction",
    "MockConfig",
    "MockConfigError",
    "MockSet",
    "ProgressPrinter",
    "RealClock",
    "RunningExecution",
    "StateRecord",
    "StateTestResult",
    "TestRuntime",
    "VirtualClock",
    "load_mock_config",
    "mocks",
    "run_flow",
    "test_state",
]

if TYPE_CHECKING:
    from flowengine.engine.clock import RealClock, VirtualClock
    from flowengine.engine.result import ExecutionResult
    from flowengine.engine.trace import Attempt, StateRecord
    from flowengine.errors import MockConfigError
    from flowengine.integrations.lambda_local import LambdaFunction
    from flowengine.testing import mocks
    from flowengine.integrations.mockconfig import MockConfig, load_mock_config
    from flowengine.integrations.mocks import MockSet
    from flowengine.testing.progress import ProgressPrinter
    from flowengine.testing.run import RunningExecution, TestRuntime, run_flow
    from flowengine.testing.state import StateTestResult, test_state

_LAZY = {
    "Attempt": ("flowengine.engine.trace", "Attempt"),
    "ExecutionResult": ("flowengine.engine.result", "ExecutionResult"),
    "LambdaFunction": ("flowengine.integrations.lambda_local", "LambdaFunction"),
    "MockConfig": ("flowengine.integrations.mockconfig", "MockConfig"),
    "MockConfigError": ("flowengine.errors", "MockConfigError"),
    "MockSet": ("flowengine.integrations.mocks", "MockSet"),
    "ProgressPrinter": ("flowengine.testing.progress", "ProgressPrinter"),
    "RealClock": ("flowengine.engine.clock", "RealClock"),
    "RunningExecution": ("flowengine.testing.run", "RunningExecution"),
    "StateRecord": ("flowengine.engine.trace", "StateRecord"),
    "StateTestResult": ("flowengine.testing.state", "StateTestResult"),
    "TestRuntime": ("flowengine.testing.run", "TestRuntime"),
    "VirtualClock": ("flowengine.engine.clock", "VirtualClock"),
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

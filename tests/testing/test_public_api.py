"""The testing API's public names are pinned, resolve, and cost nothing until used."""

from __future__ import annotations

import subprocess
import sys

import flowengine.testing


def test_the_public_names():
    assert sorted(flowengine.testing.__all__) == [
        "ExecutionResult", "MockSet", "ProgressPrinter", "RunningExecution", "StateTestResult", "TestRuntime",
        "load_mock_config", "mocks", "run_flow", "test_state",
    ]
    for name in flowengine.testing.__all__:
        assert getattr(flowengine.testing, name) is not None
    # pytest does not mistake the helpers for tests when a test module imports them
    assert flowengine.testing.test_state.__test__ is False
    assert flowengine.testing.TestRuntime.__test__ is False


def test_the_pytest_plugin_imports_nothing_heavy():
    code = ("import sys, flowengine.testing.plugin; "
            "print(sorted(m for m in sys.modules if m.startswith(('flowengine.engine', 'boto3', 'networkx'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

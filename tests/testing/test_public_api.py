"""The public names of ``flowengine`` and ``flowengine.testing`` are pinned, resolve, and
cost nothing until used."""

from __future__ import annotations

import subprocess
import sys

import flowengine
import flowengine.testing


def test_the_package_exports():
    assert sorted(flowengine.__all__) == ["AppRuntime", "Engine", "ExecutionResult", "Hybrid", "run"]
    from flowengine.engine.result import ExecutionResult
    from flowengine.runtime.api import run
    from flowengine.runtime.app import AppRuntime
    from flowengine.runtime.engine import Engine
    from flowengine.runtime.hybrid import Hybrid

    assert (flowengine.run, flowengine.ExecutionResult, flowengine.AppRuntime, flowengine.Engine,
            flowengine.Hybrid) == (run, ExecutionResult, AppRuntime, Engine, Hybrid)
    assert set(flowengine.__all__) <= set(dir(flowengine))


def test_the_public_names():
    assert sorted(flowengine.testing.__all__) == [
        "Attempt", "ExecutionResult", "LambdaFunction", "MockConfig", "MockConfigError", "MockSet",
        "ProgressPrinter", "RealClock", "RunningExecution", "StateRecord", "StateTestResult", "TestRuntime",
        "VirtualClock", "load_mock_config", "mocks", "run_flow", "test_state",
    ]
    for name in flowengine.testing.__all__:
        assert getattr(flowengine.testing, name) is not None
    # the function settings that model a local duration are the engine's own class
    from flowengine.integrations.lambda_local import LambdaFunction

    assert flowengine.testing.LambdaFunction is LambdaFunction
    # pytest does not mistake the helpers for tests when a test module imports them
    assert flowengine.testing.test_state.__test__ is False
    assert flowengine.testing.TestRuntime.__test__ is False


def test_the_pytest_plugin_imports_nothing_heavy():
    code = ("import sys, flowengine.testing.plugin; "
            "print(sorted(m for m in sys.modules if m.startswith(('flowengine.engine', 'boto3', 'networkx'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_importing_the_package_imports_nothing_heavy():
    code = ("import sys, flowengine, flowengine.testing; "
            "print(sorted(m for m in sys.modules if m.startswith(('flowengine.engine', 'flowengine.runtime', "
            "'boto3', 'botocore', 'moto'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Handlers that end the runtime or return what is not JSON (issue 11, items 5 and 14).

* ``sys.exit()``, ``KeyboardInterrupt`` and other ``BaseException`` in a handler fail the
  invocation with ``Runtime.ExitError``, as on Lambda (whose Python runtime catches only
  ``Exception``, so the runtime process ends), instead of ending ``flowengine run`` with a
  traceback and a false exit code;
* a result that cannot be JSON fails with ``Runtime.MarshalError``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.runtime.engine import Engine

INVOKE = {"StartAt": "T", "States": {"T": {
    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "f", "Payload": {}}, "OutputPath": "$.Payload", "End": True}}}


def invoke(handler: Any, **engine: Any) -> Any:
    with Engine(handlers={"f": handler}, validate=False, **engine) as e:
        return e.run(INVOKE)


def raising(exc: BaseException) -> Any:
    def handler(event: Any, context: Any) -> Any:
        raise exc
    return handler


def exiting(code: Any) -> Any:
    def handler(event: Any, context: Any) -> Any:
        sys.exit(code)
    return handler


# -- Runtime.ExitError ----------------------------------------------------------------------------


@pytest.mark.parametrize(("handler", "reason"), [
    (exiting(0), "Runtime exited without providing a reason"),
    (exiting(None), "Runtime exited without providing a reason"),
    (exiting(3), "Runtime exited with error: exit status 3"),
    (exiting(256), "Runtime exited without providing a reason"),  # the OS keeps the low byte
    (exiting("bye"), "Runtime exited with error: exit status 1"),  # printed, then status 1
    (raising(KeyboardInterrupt()), "Runtime exited with error: signal: interrupt"),
    (raising(GeneratorExit()), "Runtime exited with error: exit status 1"),
])
def test_a_handler_that_ends_the_runtime_fails_with_runtime_exit_error(handler: Any, reason: str) -> None:
    result = invoke(handler)
    assert (result.status, result.error) == ("FAILED", "Runtime.ExitError")
    cause = json.loads(result.cause)
    assert cause["errorType"] == "Runtime.ExitError"
    assert cause["errorMessage"].startswith("RequestId: ") and cause["errorMessage"].endswith(f" Error: {reason}")


def test_an_async_handler_that_exits_fails_the_same_way() -> None:
    async def handler(event: Any, context: Any) -> Any:
        await asyncio.sleep(1)
        sys.exit(4)

    result = invoke(handler)
    assert (result.status, result.error) == ("FAILED", "Runtime.ExitError")
    assert json.loads(result.cause)["errorMessage"].endswith("Runtime exited with error: exit status 4")


def test_an_exit_error_can_be_retried_and_caught_like_any_task_failure() -> None:
    calls = []

    def flaky(event: Any, context: Any) -> Any:
        calls.append(1)
        if len(calls) < 3:
            sys.exit(1)
        return {"ok": True}

    definition = json.loads(json.dumps(INVOKE))
    definition["States"]["T"]["Retry"] = [{"ErrorEquals": ["Runtime.ExitError"], "MaxAttempts": 5}]
    with Engine(handlers={"f": flaky}, validate=False) as e:
        result = e.run(definition)
    assert (result.status, result.output, len(calls)) == ("SUCCEEDED", {"ok": True}, 3)


def _app(tmp_path: Path, module: str, body: str, timeout: str = "30s") -> str:
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(body))
    (tmp_path / "app.yaml").write_text(textwrap.dedent(f"""\
        app: exits
        code: .
        functions:
          Work:
            handler: {module}.handler
            timeout: {timeout}
        flows:
          Main:
            StartAt: Call
            States:
              Call:
                Type: Task
                Function: Work
                End: true
        """))
    return str(tmp_path / "app.yaml")


def test_run_exits_1_when_a_handler_calls_sys_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, "exit_zero_handler", """\
        import sys
        def handler(event, context):
            sys.exit(0)
        """)
    assert main(["run", app]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "Runtime.ExitError" in out and "Runtime exited without providing a reason" in out


# -- Runtime.MarshalError ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "reason"), [
    ({"a": float("nan")}, "Out of range float values are not JSON compliant"),
    (float("inf"), "Out of range float values are not JSON compliant"),
    ({"a": "\ud800"}, "surrogates not allowed"),
    ({"a": {1, 2}}, "Object of type set is not JSON serializable"),
    (b"\xff\xfe", "'utf-8' codec can't decode byte 0xff"),
    (b'{"a": "\\ud800"}', "surrogates not allowed"),
])
def test_a_result_that_is_not_json_fails_with_runtime_marshal_error(value: Any, reason: str) -> None:
    result = invoke(lambda event, context: value)
    assert (result.status, result.error) == ("FAILED", "Runtime.MarshalError")
    cause = json.loads(result.cause)
    assert cause["errorType"] == "Runtime.MarshalError"
    assert cause["errorMessage"].startswith("Unable to marshal response: ") and reason in cause["errorMessage"]


@pytest.mark.parametrize(("value", "payload"), [
    (b'{"a": 1}', {"a": 1}),  # bytes go out as they are, as Lambda's Python runtime sends them
    ("caf\u00e9 \U0001F600", "caf\u00e9 \U0001F600"),  # non-ASCII text and astral characters are fine
    ({"escaped": "\\ud800"}, {"escaped": "\\ud800"}),  # a backslash and 'ud800', not a surrogate
    (b'{"a": NaN}', '{"a": NaN}'),  # not JSON: the payload is the text, never a NaN number
])
def test_results_that_are_json_or_text_pass(value: Any, payload: Any) -> None:
    result = invoke(lambda event, context: value)
    assert (result.status, result.output) == ("SUCCEEDED", payload)

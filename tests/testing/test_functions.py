"""App functions as local handlers: the Lambda context, the environment, timeouts, handler paths."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import threading
import time

import pytest

from flowengine.runtime.engine import Engine
from flowengine.errors import HandlerError
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.testing import run_flow

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def write_app(tmp_path, functions: str, flow: str, handlers: str, resources: str = "") -> str:
    """An app file in tmp_path with its handlers in the module ``fnhandlers_<dir>``."""
    module = f"fnhandlers_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(handlers))
    app = tmp_path / "app.yaml"
    app.write_text(f"app: demo\ncode: .\nfunctions:\n{textwrap.indent(textwrap.dedent(functions), '  ')}"
                   f"{resources}flows:\n  main:\n{textwrap.indent(textwrap.dedent(flow), '    ')}"
                   .replace("MODULE", module))
    return str(app)


ONE_TASK = """\
StartAt: Do
States:
  Do:
    Type: Task
    Function: Work
    End: true
"""


def test_context_object(tmp_path):
    path = write_app(tmp_path, """\
        Work:
          handler: MODULE.handle
          memory: 512
          timeout: 10s
        """, ONE_TASK, """\
        import asyncio

        async def handle(event, context):
            before = context.get_remaining_time_in_millis()
            await asyncio.sleep(2.5)
            return {
                "name": context.function_name, "version": context.function_version,
                "arn": context.invoked_function_arn, "memory": context.memory_limit_in_mb,
                "request": context.aws_request_id, "group": context.log_group_name,
                "stream": context.log_stream_name, "before": before,
                "after": context.get_remaining_time_in_millis(),
            }
        """)
    out = run_flow(path, input={}).output
    assert (out["name"], out["version"], out["arn"], out["memory"]) == ("Work", "$LATEST", ARN + "Work", 512)
    assert out["group"] == "/aws/lambda/Work"
    assert out["stream"] == "2024/01/01/[$LATEST]" + out["request"].replace("-", "")
    # the remaining time counts down on the engine's (virtual) clock
    assert (out["before"], out["after"]) == (10_000, 7_500)
    # request ids come from the engine's seeded random source
    assert run_flow(path, input={}).output["request"] == out["request"]
    assert run_flow(path, input={}, seed=1).output["request"] != out["request"]


def test_environment_with_resources_is_set_while_the_handler_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("FE_TABLE", raising=False)
    monkeypatch.setenv("FE_KEEP", "outer")
    path = write_app(tmp_path, """\
        Work:
          handler: MODULE.handle
          environment:
            FE_TABLE: ${Items}
            FE_QUEUE: ${Jobs}
            FE_KEEP: inner
            FE_ARN: ${ItemsArn}
        """, ONE_TASK, """\
        import os

        def handle(event, context):
            return {k: os.environ.get(k) for k in ("FE_TABLE", "FE_QUEUE", "FE_KEEP", "FE_ARN")}
        """, resources="resources:\n  Items: {type: table, key: {id: S}}\n  Jobs: {type: queue}\n")
    out = run_flow(path).output
    # the names the app runtime gives its emulated resources: <app>-<resource>
    assert out == {"FE_TABLE": "demo-items", "FE_QUEUE": "https://sqs.us-east-1.amazonaws.com/123456789012/demo-jobs",
                   "FE_KEEP": "inner", "FE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/demo-items"}
    # ... and restored afterwards
    assert "FE_TABLE" not in os.environ and os.environ["FE_KEEP"] == "outer"


def test_conflicting_environments_never_overlap_equal_ones_do():
    """os.environ is one per process: functions that disagree on a variable run one at a time."""
    active: dict[str, int] = {}
    overlaps: list[tuple[str, str]] = []

    def make(tag: str):
        async def handler(event, context):
            for other, n in active.items():
                if n and other != tag:
                    overlaps.append((tag, other))
            active[tag] = active.get(tag, 0) + 1
            assert os.environ["FE_MODE"] == tag.split("-")[0]
            await asyncio.sleep(1)
            assert os.environ["FE_MODE"] == tag.split("-")[0]
            active[tag] -= 1
            return tag
        return handler

    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": n, "States": {n: {"Type": "Task", "Resource": ARN + n, "End": True}}}
        for n in ("red-1", "red-2", "blue-1")]}}}
    handlers = {n: LambdaFunction(n, make(n), environment={"FE_MODE": n.split("-")[0]})
                for n in ("red-1", "red-2", "blue-1")}
    r = run_flow(definition, handlers=handlers, validate=False)
    assert r.status == "SUCCEEDED" and r.output == ["red-1", "red-2", "blue-1"]
    assert ("red-2", "red-1") in overlaps or ("red-1", "red-2") in overlaps  # equal values share
    assert not [o for o in overlaps if "blue-1" in o]  # a conflicting value waits
    assert (r.stop_date - r.start_date).total_seconds() == 2  # reds together, then blue


def test_async_handler_times_out_with_sandbox_timedout_at_the_deadline():
    async def slow(event, context):
        await asyncio.sleep(60)

    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ARN + "slow", "End": True}}}
    r = run_flow(definition, handlers={"slow": LambdaFunction("slow", slow, timeout_seconds=3)}, validate=False)
    assert (r.status, r.error) == ("FAILED", "Sandbox.Timedout")
    cause = json.loads(r.cause)
    assert cause["errorType"] == "Sandbox.Timedout"
    assert cause["errorMessage"].startswith("RequestId: ")
    assert cause["errorMessage"].endswith(" Error: Task timed out after 3.00 seconds")
    assert r.state("T")[0].duration.total_seconds() == 3
    assert [e["type"] for e in r.history][-2] == "LambdaFunctionFailed"


def test_a_modelled_duration_longer_than_the_timeout_times_out():
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                                   "Parameters": {"FunctionName": "f"}, "End": True}}}
    fn = LambdaFunction("f", lambda e, c: "done", timeout_seconds=2, duration_seconds=5)
    r = run_flow(definition, handlers={"f": fn}, validate=False)
    assert r.error == "Sandbox.Timedout" and "Task timed out after 2.00 seconds" in r.cause
    assert '","' in r.cause  # lambda:invoke reports the compact JSON error
    fn = LambdaFunction("f", lambda e, c: "done", timeout_seconds=10, duration_seconds=5)
    r = run_flow(definition, handlers={"f": fn}, validate=False)
    assert r.output["Payload"] == "done" and (r.stop_date - r.start_date).total_seconds() == 5


def test_sync_handler_in_a_thread_fails_at_its_wall_clock_deadline_and_is_left_to_finish():
    finished = threading.Event()

    def blocking(event, context):
        time.sleep(0.6)
        finished.set()
        return "late"

    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ARN + "b", "End": True}}}
    r = run_flow(definition, handlers={"b": LambdaFunction("b", blocking, timeout_seconds=0.2)}, validate=False)
    assert r.error == "Sandbox.Timedout" and "Task timed out after 0.20 seconds" in r.cause
    # the invocation failed at the deadline, not when the thread ended (no wall-time bound:
    # the run returned while the handler was still asleep)
    assert not finished.is_set()
    assert finished.wait(5)  # the thread ran to its end on its own


def test_a_handler_given_for_an_app_function_keeps_the_functions_settings(tmp_path):
    path = write_app(tmp_path, """\
        Work:
          handler: MODULE.handle
          concurrency: 0
        """, ONE_TASK, "def handle(event, context):\n    return 'real'\n")
    # a bare callable replaces the handler only: the cap of 0 still throttles
    r = run_flow(path, handlers={"Work": lambda e, c: "stand-in"})
    assert r.error == "Lambda.TooManyRequestsException"
    # a LambdaFunction replaces the settings it gives; the rest (the handler) stays the app's
    assert run_flow(path, handlers={"Work": LambdaFunction("Work", concurrency=1)}).output == "real"


def test_unresolvable_handler_message_names_function_handler_and_paths(tmp_path):
    path = write_app(tmp_path, "Work:\n  handler: nosuchmodule.handle\n", ONE_TASK, "")
    with pytest.raises(HandlerError) as info:
        run_flow(path)
    text = str(info.value)
    assert "'nosuchmodule.handle'" in text and "function 'Work'" in text
    assert f"searched the app's code paths: {tmp_path}" in text


def test_engine_binds_functions_once_per_app(tmp_path):
    path = write_app(tmp_path, "Work:\n  handler: MODULE.handle\n", ONE_TASK,
                     "def handle(event, context):\n    return event['n'] * 2\n")
    with Engine() as engine:
        assert [engine.run(path, {"n": n}).output for n in (1, 2)] == [2, 4]


def test_local_references_match_the_app_runtimes_emulated_resources():
    pytest.importorskip("moto")
    from flowengine.dsl.app import loads
    from flowengine.engine.options import AccountInfo
    from flowengine.runtime.engine import local_references
    from flowengine.events.emulation import Emulation

    app = loads(textwrap.dedent("""\
        app: ShopFront
        resources:
          Uploads: {type: bucket}
          Jobs: {type: queue}
          Orders: {type: queue, fifo: true}
          Alerts: {type: topic}
          Items: {type: table, key: {id: S}}
          ShopEvents: {type: event_bus}
        flows:
          main: {StartAt: A, States: {A: {Type: Pass, End: true}}}
        """), "app.yaml").app
    account = AccountInfo()
    emulation = Emulation(app, account, now=lambda: 0.0, sink=lambda call: None)
    emulation.start()
    try:
        emulated = emulation.substitutions()
    finally:
        emulation.stop()
    ours = local_references(app, account)
    assert {k: ours[k] for k in emulated} == emulated


def test_a_handler_module_named_like_an_installed_one_leaves_the_process_alone(tmp_path) -> None:
    import json
    import sys

    from flowengine.errors import HandlerError
    from flowengine.integrations.lambda_local import import_handler

    (tmp_path / "json.py").write_text("def handle(event, context):\n    return 1\n")
    with pytest.raises(HandlerError, match="named like an installed one"):
        import_handler("json.handle", [str(tmp_path)], "Shadow")
    assert sys.modules["json"] is json  # nothing evicted or re-imported


def test_a_stdlib_handler_is_refused_without_touching_sys_modules(tmp_path) -> None:
    import json
    import sys

    from flowengine.errors import HandlerError
    from flowengine.integrations.lambda_local import import_handler

    with pytest.raises(HandlerError, match="no module 'json' in the app's code paths"):
        import_handler("json.dumps", [str(tmp_path)], "Dump")
    assert sys.modules["json"] is json

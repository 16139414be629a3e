"""Lambda tasks run by local handlers: both resource forms, AWS's result and error shapes."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest

import flowengine
from flowengine.errors import HandlerError
from flowengine.integrations.lambda_local import LambdaFunction, parse_function_name

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def invoke_task(params, **extra):
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                             "Parameters": params, "End": True, **extra}}}


def arn_task(name="echo", **extra):
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ARN + name, "End": True, **extra}}}


def echo(event, context):
    return {"event": event, "fn": context.function_name}


def test_function_arn_resource(run):
    r = run(arn_task(), {"a": 1}, handlers={"echo": echo})
    assert r.output == {"event": {"a": 1}, "fn": "echo"}
    assert [e["type"] for e in r.history][2:5] == [
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded"]
    assert r.history[2]["lambdaFunctionScheduledEventDetails"]["resource"] == ARN + "echo"


@pytest.mark.parametrize("name", ["echo", "echo:live", "123456789012:function:echo", ARN + "echo", ARN + "echo:3"])
def test_lambda_invoke_function_name_forms(run, name):
    r = run(invoke_task({"FunctionName": name, "Payload": {"x.$": "$.x"}}), {"x": 5}, handlers={"echo": echo})
    out = r.output
    assert out["Payload"] == {"event": {"x": 5}, "fn": "echo"}
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    assert out["SdkResponseMetadata"]["RequestId"] == out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]
    assert out["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == str(len(json.dumps(out["Payload"])))
    types = [e["type"] for e in r.history]
    assert types[2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    sched = r.history[2]["taskScheduledEventDetails"]
    assert (sched["resource"], sched["resourceType"], sched["region"]) == ("invoke", "lambda", "us-east-1")


def test_handler_exception_becomes_task_failure(run):
    def boom(event, context):
        raise KeyError("missing")

    r = run(invoke_task({"FunctionName": "boom", "Payload": {}}), handlers={"boom": boom})
    assert r.status == "FAILED" and r.error == "KeyError"
    cause = json.loads(r.cause)
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorType"] == "KeyError" and cause["errorMessage"] == "'missing'"
    assert "raise KeyError" in cause["stackTrace"][-1]
    assert "\",\"" in r.cause  # lambda:invoke reports the compact JSON error
    r = run(arn_task("boom"), handlers={"boom": boom})
    assert "\", \"" in r.cause  # a function ARN resource reports Python's json.dumps form


def test_unknown_function_and_bytes_and_marshal_errors(run):
    r = run(invoke_task({"FunctionName": "nope"}))
    assert r.error == "Lambda.ResourceNotFoundException"
    assert r.cause.startswith(f"Function not found: {ARN}nope:$LATEST (Service: AWSLambda; Status Code: 404;")
    r = run(invoke_task({"FunctionName": "b"}), handlers={"b": lambda e, c: b'"raw"'})
    assert r.output["Payload"] == "raw"
    r = run(arn_task("o"), handlers={"o": lambda e, c: object()})
    assert r.error == "Runtime.MarshalError"
    r = run(arn_task("big"), handlers={"big": lambda e, c: "x" * (300 * 1024)})
    assert r.error == "States.DataLimitExceeded"
    assert r.cause == (f"The state/task '{ARN}big' returned a result with a size exceeding the maximum number of "
                       "bytes service limit.")


def test_string_payload_is_the_request_body(run):
    r = run(invoke_task({"FunctionName": "echo", "Payload": "[1, 2]"}), handlers={"echo": lambda e, c: e})
    assert r.output["Payload"] == [1, 2]
    r = run(invoke_task({"FunctionName": "echo", "Payload": "not json"}), handlers={"echo": lambda e, c: e})
    assert r.error == "Runtime.UnmarshalError"


def test_handler_cannot_mutate_engine_data(run):
    def mutate(event, context):
        event["x"] = "changed"
        return event

    d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ARN + "m", "ResultPath": "$.r", "End": True}}}
    r = run(d, {"x": "orig"}, handlers={"m": mutate})
    assert r.output == {"x": "orig", "r": {"x": "changed"}}


def test_async_handler_task_timeout_and_sandbox_timeout(run):
    async def slow(event, context):
        await asyncio.sleep(60)
        return event

    r = run(invoke_task({"FunctionName": "slow"}, TimeoutSeconds=5), handlers={"slow": slow})
    assert (r.status, r.error, r.cause) == ("FAILED", "States.Timeout", None)
    assert [e["type"] for e in r.history][-2] == "TaskTimedOut"
    assert (r.stop_date - r.start_date).total_seconds() == 5
    r = run(arn_task("slow", TimeoutSeconds=5), handlers={"slow": slow})
    assert [e["type"] for e in r.history][-2] == "LambdaFunctionTimedOut"
    r = run(arn_task("slow"), handlers={"slow": LambdaFunction("slow", slow, timeout_seconds=3)})
    assert r.error == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in r.cause
    assert run(arn_task("slow"), {"v": 1}, handlers={"slow": slow}).output == {"v": 1}


def test_sync_handlers_inline_and_executor_agree(run):
    for mode in ("inline", "executor"):
        assert run(arn_task(), {"m": mode}, handlers={"echo": echo}, sync_handlers=mode).output["event"] == {"m": mode}


def test_timeout_seconds_path_and_heartbeat_recorded(run):
    d = invoke_task({"FunctionName": "echo"}, TimeoutSecondsPath="$.t", HeartbeatSeconds=3)
    r = run(d, {"t": 30}, handlers={"echo": echo})
    sched = r.history[2]["taskScheduledEventDetails"]
    assert (sched["timeoutInSeconds"], sched["heartbeatInSeconds"]) == (30, 3)


def test_parse_function_name():
    assert parse_function_name("f") == ("f", None)
    assert parse_function_name("f:prod") == ("f", "prod")
    assert parse_function_name("123456789012:function:f") == ("f", None)
    assert parse_function_name(ARN + "f:7") == ("f", "7")


def _app(tmp_path, handler_body: str, handler_ref: str = "handlers.work.handle") -> str:
    pkg = tmp_path / "src" / "handlers"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "work.py").write_text(textwrap.dedent(handler_body))
    app = tmp_path / "app.yaml"
    app.write_text(textwrap.dedent(f"""\
        app: demo
        code: src
        functions:
          Work:
            handler: {handler_ref}
        flows:
          main:
            StartAt: Do
            States:
              Do:
                Type: Task
                Function: Work
                End: true
        """))
    return str(app)


def test_app_functions_import_from_code_paths(tmp_path):
    path = _app(tmp_path, """
        def handle(event, context):
            return {"doubled": event["n"] * 2, "arn": context.invoked_function_arn}
        """)
    r = flowengine.run(path, input={"n": 21})
    assert r.status == "SUCCEEDED", (r.error, r.cause)
    assert r.output == {"doubled": 42, "arn": ARN + "Work"}
    assert r.history[2]["lambdaFunctionScheduledEventDetails"]["resource"] == ARN + "Work"
    # a handler given by name replaces the app's own (a mock in a test)
    assert flowengine.run(path, input={"n": 1}, handlers={"Work": lambda e, c: "mocked"}).output == "mocked"


def test_unresolvable_handler_names_function_and_paths(tmp_path):
    path = _app(tmp_path, "def other(event, context):\n    return 1\n")
    with pytest.raises(HandlerError) as info:
        flowengine.run(path)
    assert "Work" in str(info.value) and "handle" in str(info.value)
    path2 = _app(tmp_path / "b", "def handle(e, c):\n    return 1\n", handler_ref="nosuch.module.handle")
    with pytest.raises(HandlerError) as info:
        flowengine.run(path2)
    assert "Work" in str(info.value) and str(tmp_path / "b" / "src") in str(info.value)

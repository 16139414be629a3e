"""Concurrency caps modelled like AWS: throttling above the cap, counted per engine and per execution."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from flowengine.runtime.engine import Engine
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.testing import TestRuntime, run_flow

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def task(name: str = "fn", **extra):
    return {"Type": "Task", "Resource": ARN + name, **extra}


async def quarter_second(event, context):
    await asyncio.sleep(0.25)
    return event


def mapped(max_concurrency: int, retry: bool = True, **task_extra):
    inner = task(**task_extra, End=True)
    if retry:
        inner["Retry"] = [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                           "MaxAttempts": 30, "BackoffRate": 1.5, "MaxDelaySeconds": 4, "JitterStrategy": "FULL"}]
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": max_concurrency, "End": True,
                                             "ItemProcessor": {"StartAt": "T", "States": {"T": inner}}}}}


def test_throttled_invocation_fails_with_awss_error_and_cause():
    fn = LambdaFunction("fn", quarter_second, concurrency=1)
    r = run_flow(mapped(2, retry=False), input=[1, 2], handlers={"fn": fn}, validate=False)
    assert r.error == "Lambda.TooManyRequestsException"
    assert r.cause.startswith("Rate Exceeded. (Service: AWSLambda; Status Code: 429; "
                              "Error Code: TooManyRequestsException; Request ID: ")
    assert r.cause.endswith("; Proxy: null)")
    assert (r.throttles["fn"], r.peak_concurrency["fn"]) == (1, 1)


def test_cap_of_zero_throttles_every_call_and_unknown_functions_read_zero():
    r = run_flow({"StartAt": "T", "States": {"T": task(End=True)}}, validate=False,
                 handlers={"fn": LambdaFunction("fn", quarter_second, concurrency=0)})
    assert r.error == "Lambda.TooManyRequestsException"
    assert r.throttles["fn"] == 1 and r.peak_concurrency["fn"] == 0 and r.throttles["other"] == 0


def test_map_max_concurrency_and_the_cap_compose():
    items = list(range(12))
    fn = LambdaFunction("fn", quarter_second, concurrency=3)
    # MaxConcurrency under the cap: never throttled
    r = run_flow(mapped(3), input=items, handlers={"fn": fn}, validate=False)
    assert r.status == "SUCCEEDED" and r.throttles["fn"] == 0 and r.peak_concurrency["fn"] == 3
    assert (r.stop_date - r.start_date).total_seconds() == 1.0  # 12 items, 3 at a time, 0.25 s each
    # MaxConcurrency over the cap: throttled, absorbed by Retry, never more than 3 in flight
    r = run_flow(mapped(8), input=items, handlers={"fn": fn}, validate=False)
    assert r.status == "SUCCEEDED" and r.output == items
    assert r.throttles["fn"] > 0 and r.peak_concurrency["fn"] == 3


def test_the_cap_holds_across_two_concurrent_executions():
    fn = LambdaFunction("fn", quarter_second, concurrency=2)
    with TestRuntime(handlers={"fn": fn}, validate=False) as rt:
        a = rt.start(mapped(2), [1, 2, 3, 4])
        b = rt.start(mapped(2), [5, 6, 7, 8])
        rt.run_until_idle()
        ra, rb = a.result(), b.result()
        assert ra.succeeded and rb.succeeded
        # alone, each execution would stay within the cap; together they are throttled
        assert rt.engine.peak_concurrency["fn"] == 2
        assert rt.engine.throttles["fn"] == ra.throttles["fn"] + rb.throttles["fn"] > 0
        assert ra.peak_concurrency["fn"] <= 2 and rb.peak_concurrency["fn"] <= 2


def test_sync_handlers_in_the_executor_count_while_their_threads_overlap():
    barrier = threading.Barrier(2, timeout=5)

    def meet(event, context):
        barrier.wait()  # both invocations are in flight at once
        time.sleep(0.05)
        return event

    r = run_flow(mapped(2), input=[1, 2], handlers={"fn": LambdaFunction("fn", meet, concurrency=2)},
                 validate=False)
    assert r.status == "SUCCEEDED" and r.peak_concurrency["fn"] == 2 and r.throttles["fn"] == 0


def test_a_modelled_duration_keeps_a_sync_handlers_slot():
    fn = LambdaFunction("fn", lambda e, c: e, concurrency=1, duration_seconds=0.5)
    r = run_flow(mapped(4), input=[1, 2, 3, 4], handlers={"fn": fn}, validate=False, sync_handlers="inline")
    assert r.status == "SUCCEEDED" and r.throttles["fn"] > 0 and r.peak_concurrency["fn"] == 1


def test_lambda_invoke_resource_is_capped_too():
    definition = mapped(4, Resource="arn:aws:states:::lambda:invoke",
                        Parameters={"FunctionName": "fn", "Payload.$": "$"})
    r = run_flow(definition, input=[1, 2, 3, 4], validate=False,
                 handlers={"fn": LambdaFunction("fn", quarter_second, concurrency=1)})
    assert [x["Payload"] for x in r.output] == [1, 2, 3, 4]
    assert r.throttles["fn"] > 0 and r.peak_concurrency["fn"] == 1


def test_app_concurrency_applies_from_the_app_file(tmp_path):
    (tmp_path / "capped_handlers.py").write_text(
        "import asyncio\n\nasync def work(event, context):\n    await asyncio.sleep(1)\n    return event\n")
    (tmp_path / "app.yaml").write_text(json.dumps({
        "app": "capped", "code": ".",
        "functions": {"Work": {"handler": "capped_handlers.work", "concurrency": 1}},
        "flows": {"main": mapped(3, Resource="${WorkArn}")},
    }))
    with Engine(record=True) as engine:
        r = engine.run(str(tmp_path / "app.yaml"), [1, 2, 3])
        assert r.status == "SUCCEEDED" and r.peak_concurrency["Work"] == 1 and r.throttles["Work"] > 0
        assert engine.peak_concurrency["Work"] == 1

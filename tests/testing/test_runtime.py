"""TestRuntime: several executions on one virtual clock, time moved by the test; the fixtures."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from flowengine.errors import FlowengineError
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.testing import TestRuntime

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def waits(*seconds: int) -> dict:
    names = [f"W{i}" for i in range(len(seconds))]
    states = {n: {"Type": "Wait", "Seconds": s, **({"Next": names[i + 1]} if i + 1 < len(names) else {"End": True})}
              for i, (n, s) in enumerate(zip(names, seconds))}
    return {"StartAt": names[0], "States": states}


def test_start_runs_nothing_until_the_clock_runs():
    with TestRuntime(validate=False) as rt:
        execution = rt.start(waits(60))
        assert execution.status == "RUNNING" and execution.snapshot().event_types == []
        rt.advance(0)
        assert execution.snapshot().event_types == ["ExecutionStarted", "WaitStateEntered"]


def test_advance_runs_what_falls_due_and_stops_at_the_instant():
    with TestRuntime(validate=False) as rt:
        a = rt.start(waits(3600), name="a")
        b = rt.start(waits(1800, 1800, 1800), name="b")
        rt.advance(timedelta(minutes=30))
        assert rt.now == START + timedelta(minutes=30)
        assert (a.status, b.snapshot().path) == ("RUNNING", ["W0", "W1"])  # due at 30m exactly: ran
        rt.advance(timedelta(minutes=30))
        assert a.done() and a.result().stop_date == START + timedelta(hours=1)
        assert not b.done()
        rt.advance(timedelta(minutes=29))
        assert not b.done() and rt.now == START + timedelta(minutes=89)
        rt.run_until_idle()
        assert b.result().stop_date == START + timedelta(minutes=90)
        with pytest.raises(ValueError):
            rt.advance(-1)


def test_result_runs_the_clock_until_that_execution_ends():
    with TestRuntime(validate=False, start=datetime(2030, 5, 1, tzinfo=timezone.utc)) as rt:
        short, long = rt.start(waits(10)), rt.start(waits(10_000))
        assert short.result().succeeded
        assert rt.now == datetime(2030, 5, 1, 0, 0, 10, tzinfo=timezone.utc) and not long.done()
        with pytest.raises(FlowengineError, match="still running 60 s"):
            long.result(timeout=60)
        assert long.result().succeeded


def test_executions_interleave_on_one_clock():
    seen: list[tuple[str, float]] = []

    async def note(event, context):
        seen.append((event["who"], context.get_remaining_time_in_millis()))
        await asyncio.sleep(event["pause"])
        return event["who"]

    step = {"Type": "Task", "Resource": ARN + "note", "Parameters": {"who.$": "$.who", "pause.$": "$.pause"}}
    definition = {"StartAt": "A", "States": {"A": {**step, "ResultPath": None, "Next": "B"}, "B": {**step, "End": True}}}
    with TestRuntime(validate=False, handlers={"note": LambdaFunction("note", note, timeout_seconds=100)}) as rt:
        slow = rt.start(definition, {"who": "slow", "pause": 10})
        fast = rt.start(definition, {"who": "fast", "pause": 3})
        rt.run_until_idle()
        assert slow.result().output == "slow" and fast.result().output == "fast"
    assert [w for w, _ in seen] == ["slow", "fast", "fast", "slow"]


def test_an_execution_that_cannot_end_is_reported():
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}}, "End": True}}}
    with TestRuntime(validate=False, handlers={"notify": lambda e, c: None}) as rt:
        execution = rt.start(definition)
        rt.run_until_idle()
        assert execution.status == "RUNNING"
        with pytest.raises(FlowengineError, match="no timer will bring"):
            execution.result()


def test_the_runtime_fixture(flowengine_runtime):
    execution = flowengine_runtime.start(waits(5))
    flowengine_runtime.advance(5)
    assert execution.done() and execution.result().path == ["W0"]


def test_the_virtual_clock_fixture(virtual_clock):
    from flowengine.testing import run_flow

    r = run_flow(waits(86_400), clock=virtual_clock, validate=False)
    assert (r.stop_date - r.start_date) == timedelta(days=1)


def test_the_load_app_fixture(load_app):
    loaded = load_app("../../definitions/orders.yaml")
    assert "PlaceOrder" in loaded.app.flows


def test_answering_a_task_token_between_advances():
    definition = {"StartAt": "Approve", "States": {"Approve": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "TimeoutSeconds": 3600,
        "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}}, "End": True}}}
    with TestRuntime(validate=False, handlers={"ask": lambda e, c: None}) as rt:
        execution = rt.start(definition)
        rt.advance(timedelta(minutes=10))
        (pending,) = rt.engine.pending_tokens()
        assert pending.state_name == "Approve" and execution.status == "RUNNING"
        rt.engine.send_task_success(pending.token, {"approved": True})
        rt.advance(0)
        result = execution.result()
        assert result.output == {"approved": True}
        assert result.stop_date == START + timedelta(minutes=10)

"""The engine as callers use it: run/start_execution, the clock, limits, stopping, history."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

import flowengine
from flowengine.engine.clock import RealClock, VirtualClock
from flowengine.engine.execution import Listener
from flowengine.engine.options import AccountInfo, EngineLimits
from flowengine.runtime.engine import Engine
from flowengine.errors import ExecutionInputError, ValidationError

WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Done"},
                                   "Done": {"Type": "Pass", "End": True}}}


def test_public_api_is_small_and_lazy():
    assert set(flowengine.__all__) == {"run", "ExecutionResult", "AppRuntime", "Engine", "Hybrid"}
    r = flowengine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, input={"a": 1})
    assert isinstance(r, flowengine.ExecutionResult)
    assert r.to_json()["status"] == "SUCCEEDED" and r.to_json()["output"] == {"a": 1}
    assert r.start_date == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_a_24_hour_wait_takes_milliseconds(run):
    import time

    t0 = time.perf_counter()
    r = run(WAIT, {"s": 24 * 3600})
    assert time.perf_counter() - t0 < 60  # proves no real waiting, not speed
    entered, exited = (e["timestamp"] for e in r.history if e["type"].startswith("WaitState"))
    assert (exited - entered).total_seconds() == 24 * 3600


def test_many_executions_parked_in_waits_finish_in_timer_order():
    with Engine(validate=False) as engine:
        async def scenario():
            handles = [await engine.start_execution(WAIT, {"s": s}) for s in (300, 100, 200, 100)]
            results = [await h.result() for h in handles]
            return results

        results = engine.run_async(scenario())
    stops = [(r.stop_date - r.start_date).total_seconds() for r in results]
    assert stops == [300, 100, 200, 100]
    assert all(r.status == "SUCCEEDED" for r in results)


def test_stop_aborts_a_running_execution():
    with Engine(validate=False) as engine:
        async def scenario():
            h = await engine.start_execution(WAIT, {"s": 3600})
            await asyncio.sleep(10)
            assert h.stop(error="Operator", cause="stopped by test")
            r = await h.result()
            assert not h.stop()
            return r

        r = engine.run_async(scenario())
    assert (r.status, r.error, r.cause, r.output) == ("ABORTED", "Operator", "stopped by test", None)
    assert r.history[-1]["type"] == "ExecutionAborted"
    assert r.history[-1]["executionAbortedEventDetails"] == {"cause": "stopped by test", "error": "Operator"}
    assert (r.stop_date - r.start_date).total_seconds() == 10


def test_machine_timeout_times_out(run):
    d = dict(WAIT, TimeoutSeconds=5)
    r = run(d, {"s": 60})
    assert (r.status, r.error, r.cause) == ("TIMED_OUT", None, None)
    assert r.history[-1]["type"] == "ExecutionTimedOut"
    assert (r.stop_date - r.start_date).total_seconds() == 5


def test_payload_limit_and_history_limit(run):
    big = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": True}}}
    r = run(big, {"s": "é" * 300}, limits=EngineLimits(max_payload_bytes=1024))  # UTF-8: 2 bytes each
    assert (r.status, r.error) == ("FAILED", "States.DataLimitExceeded")
    assert r.cause == ("The state/task 'A' returned a result with a size exceeding the maximum number of bytes "
                       "service limit.")
    with pytest.raises(ExecutionInputError):
        run(big, {"s": "x" * 2000}, limits=EngineLimits(max_payload_bytes=1024))
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    r = run(loop, limits=EngineLimits(max_history_events=100))
    assert (r.status, r.error) == ("FAILED", "States.Runtime")
    assert len(r.history) == 100 and r.history[-1]["type"] == "ExecutionFailed"  # AWS: the last place is ExecutionFailed


def test_input_must_be_json(run):
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    with pytest.raises(ExecutionInputError):
        run(d, "{not json")
    with pytest.raises(ExecutionInputError):
        run(d, {"x": object()})
    assert run(d, '{"from": "text"}').output == {"from": "text"}
    assert run(d, None).output == {}


def test_runtime_errors_read_like_aws(run):
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"v.$": "$.missing"}, "End": True}}}
    r = run(d, {"present": 1})
    assert r.error == "States.Runtime"
    assert r.cause == ("An error occurred while executing the state 'A' (entered at the event id #2). The JSONPath "
                       "'$.missing' specified for the field 'v.$' could not be found in the input '{\"present\":1}'")
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"v.$": "States.ArrayGetItem($.a, 5)"},
                                          "End": True}}}
    r = run(d, {"a": [1]})
    assert r.error == "States.Runtime" and "States.ArrayGetItem" in r.cause
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.a.b", "End": True}}}
    r = run(d, {"a": "text"})
    assert r.cause.endswith("Invalid path '$.a.b' : Missing property in path $['a']['b']")
    d = {"QueryLanguage": "JSONata", "StartAt": "A",
         "States": {"A": {"Type": "Pass", "Output": "{% $states.input.a + 'x' %}", "End": True}}}
    r = run(d, {"a": 1})
    assert r.error == "States.QueryEvaluationError" and r.cause.startswith("An error occurred while executing")
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.x", "End": True}}}
    r = run(d, "5")
    assert r.error == "States.ResultPathMatchFailure"


def test_history_shape(run):
    r = run({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": [1, 2], "End": True}}}, {"a": 1})
    assert [e["id"] for e in r.history] == [1, 2, 3, 4]
    started, entered, exited, done = r.history
    assert started["executionStartedEventDetails"] == {
        "input": '{"a":1}', "inputDetails": {"truncated": False},
        "roleArn": "arn:aws:iam::123456789012:role/StepFunctions-StateMachine-role"}
    assert entered == {"timestamp": entered["timestamp"], "type": "PassStateEntered", "id": 2, "previousEventId": 0,
                       "stateEnteredEventDetails": {"name": "A", "input": '{"a":1}',
                                                    "inputDetails": {"truncated": False}}}
    assert exited["previousEventId"] == 2 and exited["stateExitedEventDetails"]["output"] == "[1,2]"
    assert done["executionSucceededEventDetails"] == {"output": "[1,2]", "outputDetails": {"truncated": False}}
    r.history[1]["stateEnteredEventDetails"]["inputDetails"]["truncated"] = True  # callers' copies are theirs
    assert r.history[2]["stateExitedEventDetails"]["outputDetails"] == {"truncated": False}
    json.dumps(r.to_json())


def test_seeded_randomness_is_reproducible():
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {
        "u.$": "States.UUID()", "r.$": "States.MathRandom(1, 1000)"}, "End": True}}}
    a = flowengine.run(d, seed=1, validate=False)
    b = flowengine.run(d, seed=1, validate=False)
    c = flowengine.run(d, seed=2, validate=False)
    assert a.output == b.output and a.name == b.name
    assert a.output != c.output


def test_custom_account_and_start_time():
    clock = VirtualClock(start=datetime(2030, 5, 1, tzinfo=timezone.utc))
    r = flowengine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id",
                                                                                        "t.$": "$$.State.EnteredTime"},
                                                          "End": True}}},
                       clock=clock, account=AccountInfo(account="999999999999", region="eu-west-1"),
                       name="exec-1", validate=False)
    clock.close()
    assert r.output == {"id": "arn:aws:states:eu-west-1:999999999999:execution:StateMachine:exec-1",
                        "t": "2030-05-01T00:00:00.000Z"}


def test_listeners_see_events_and_semantic_moments():
    seen: list[tuple[str, object]] = []

    class Recorder(Listener):
        def state_entered(self, execution, scope, node, data):
            seen.append(("entered", node.name))

        def retry(self, execution, scope, node, failure, delay):
            seen.append(("retry", delay))

        def wait(self, execution, scope, node, seconds):
            seen.append(("wait", seconds))

        def event(self, execution, event_id, event):
            seen.append(("event", event[0]))

    calls = []

    def flaky(event, context):
        calls.append(1)
        if len(calls) < 2:
            raise RuntimeError("once")
        return event

    d = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
              "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2}], "End": True}}}
    flowengine.run(d, listeners=[Recorder()], handlers={"f": flaky}, validate=False)
    assert ("entered", "W") in seen and ("wait", 3.0) in seen and ("retry", 2.0) in seen
    assert ("event", "ExecutionSucceeded") in seen


def test_validation_runs_before_the_first_run():
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(ValidationError):
        flowengine.run(bad)


def test_real_clock_runs_short_waits():
    clock = RealClock()
    try:
        r = flowengine.run({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0, "End": True}}},
                           clock=clock, validate=False)
    finally:
        clock.close()
    assert r.status == "SUCCEEDED"


def test_run_from_inside_a_running_loop():
    async def inside():
        return flowengine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, validate=False)

    assert asyncio.run(inside()).status == "SUCCEEDED"


def test_evaluation_failed_event_names_state_and_field(run):
    d = {"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": True}}}
    r = run(d)
    details = r.history[-2]["evaluationFailedEventDetails"]
    assert details == {
        "cause": "An error occurred while executing the state 'S' (entered at the event id #2). The JSONata "
                 "expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).",
        "error": "States.QueryEvaluationError", "location": "Output/result", "state": "S"}
    assert r.history[-1]["executionFailedEventDetails"] == {"cause": details["cause"], "error": details["error"]}


def test_definition_errors_are_raised_before_running():
    from flowengine.engine.errors import DefinitionError

    for bad in ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "not a path"}, "End": True}}},
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}},
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata",
                                                  "Output": "{% 1 + %}", "End": True}}}):
        with pytest.raises(DefinitionError) as info:
            flowengine.run(bad, validate=False)
        assert "'A'" in str(info.value)


def test_jsonata_now_reads_the_engine_clock(run):
    d = {"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "A"},
        "A": {"Type": "Pass", "Output": {"now": "{% $now() %}", "ms": "{% $millis() %}"}, "End": True}}}
    out = run(d).output
    assert out["now"].startswith("2024-01-01T01:00:00")
    assert out["ms"] == int(datetime(2024, 1, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)


def test_plain_asl_yaml_file(tmp_path):
    path = tmp_path / "flow.asl.yaml"
    path.write_text("StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {ok: true}\n    End: true\n")
    r = flowengine.run(str(path))
    assert r.output == {"ok": True}
    assert r.execution_arn.startswith("arn:aws:states:us-east-1:123456789012:execution:flow:")


def test_engine_recompiles_a_changed_definition():
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}}
    with Engine(validate=False) as engine:
        assert engine.run(d).output == 1
        d["States"]["A"]["Result"] = 2
        assert engine.run(d).output == 2

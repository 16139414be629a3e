"""``.waitForTaskToken``: tokens, SendTaskSuccess/Failure/Heartbeat, HeartbeatSeconds and
TimeoutSeconds on the virtual clock, with the history AWS records."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from flowengine.runtime.engine import Engine
from flowengine.engine.tasks import TaskRequest, TaskTarget, service_target
from flowengine.engine.callbacks import (
    InvalidOutput,
    InvalidToken,
    PendingTask,
    TaskDoesNotExist,
    TaskTimedOut,
    TaskTokenError,
)
from flowengine.integrations.services import LocalServices

from .conftest import Aws, details, events_of, machine, task

SQS_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


def ask(url: str, **fields: Any) -> dict[str, Any]:
    return task(SQS_WAIT, {"QueueUrl": url, "MessageBody": {"TaskToken.$": "$$.Task.Token", "order.$": "$.order"}},
                **fields)


def test_send_task_success_completes_the_task(aws: Aws, engine: Engine, wall: Any) -> None:
    url = aws.queue()
    definition = machine(("Approve", ask(url, HeartbeatSeconds=60, TimeoutSeconds=600)))

    async def scenario() -> Any:
        handle = await engine.start_execution(definition, {"order": 7})
        pending = await engine.wait_for_task("Approve")
        [message] = aws.messages(url)
        assert message == {"TaskToken": pending.token, "order": 7}
        assert engine.pending_tokens() == [pending]
        assert pending.submitted["MessageId"]
        engine.send_task_success(pending.token, {"approved": True})
        return await handle.result()

    result = engine.run_async(scenario())
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"approved": True}
    assert result.event_types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                                  "TaskSubmitted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    scheduled, started, submitted, succeeded = (details(e) for e in result.history[2:6])
    assert scheduled["resource"] == "sendMessage.waitForTaskToken" and scheduled["resourceType"] == "sqs"
    assert (scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]) == (60, 600)
    assert json.loads(scheduled["parameters"])["MessageBody"]["TaskToken"] == message_token(result)
    assert started == {"resource": "sendMessage.waitForTaskToken", "resourceType": "sqs"}
    assert set(json.loads(submitted["output"])) == {"MD5OfMessageBody", "MessageId", "SdkHttpMetadata",
                                                    "SdkResponseMetadata"}
    assert json.loads(succeeded["output"]) == {"approved": True}
    assert engine.pending_tokens() == []
    assert wall.elapsed() < 5


def message_token(result: Any) -> str:
    return json.loads(details(result.history[2])["parameters"])["MessageBody"]["TaskToken"]


def test_send_task_failure_fails_the_task_and_catch_takes_it(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    approve = ask(url, Catch=[{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Rejected"}])
    definition = {"StartAt": "Approve", "States": {"Approve": approve, "Rejected": {"Type": "Pass", "End": True}}}
    engine.on_task_token(lambda p: engine.send_task_failure(p.token, "Rejected", "too big"))
    result = engine.run(definition, {"order": 1})
    assert result.status == "SUCCEEDED"
    assert result.output["why"] == {"Error": "Rejected", "Cause": "too big"}
    failed = details(events_of(result, "TaskFailed")[0])
    assert failed == {"cause": "too big", "error": "Rejected", "resource": "sendMessage.waitForTaskToken",
                      "resourceType": "sqs"}


def test_send_task_failure_uncaught(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    engine.on_task_token(lambda p: engine.send_task_failure(p.token, "Rejected", "too big"))
    result = engine.run(machine(("Approve", ask(url))), {"order": 1})
    assert (result.status, result.error, result.cause) == ("FAILED", "Rejected", "too big")


def test_heartbeat_seconds_expire_on_the_virtual_clock(aws: Aws, engine: Engine, wall: Any) -> None:
    url = aws.queue()
    result = engine.run(machine(("Approve", ask(url, HeartbeatSeconds=3600, TimeoutSeconds=86400))), {"order": 1})
    assert (result.status, result.error, result.cause) == ("FAILED", "States.Timeout", None)
    assert result.event_types[-3:] == ["TaskSubmitted", "TaskTimedOut", "ExecutionFailed"]
    assert details(events_of(result, "TaskTimedOut")[0]) == {
        "error": "States.Timeout", "resource": "sendMessage.waitForTaskToken", "resourceType": "sqs"}
    assert result.stop_ts - result.start_ts == pytest.approx(3600)
    assert wall.elapsed() < 5


def test_heartbeats_keep_the_task_alive(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    definition = machine(("Approve", ask(url, HeartbeatSeconds=60)))

    async def scenario() -> Any:
        handle = await engine.start_execution(definition, {"order": 1})
        pending = await engine.wait_for_task()
        for _ in range(5):
            await asyncio.sleep(50)  # virtual: under the heartbeat each time
            engine.send_task_heartbeat(pending.token)
        engine.send_task_success(pending.token, '"done"')  # JSON text, as the API takes it
        return await handle.result()

    result = engine.run_async(scenario())
    assert (result.status, result.output) == ("SUCCEEDED", "done")
    assert result.stop_ts - result.start_ts == pytest.approx(250)


def test_a_heartbeat_timeout_is_caught_as_states_heartbeat_timeout(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    approve = ask(url, HeartbeatSeconds=10,
                  Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Expired"}])
    definition = {"StartAt": "Approve", "States": {"Approve": approve, "Expired": {"Type": "Pass", "End": True}}}
    result = engine.run(definition, {"order": 1})
    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "States.Timeout", "Cause": ""}


def test_timeout_seconds_expire_and_late_answers_are_refused(aws: Aws, engine: Engine, wall: Any) -> None:
    url = aws.queue()
    seen: list[PendingTask] = []
    engine.on_task_token(seen.append)
    result = engine.run(machine(("Approve", ask(url, TimeoutSeconds=300))), {"order": 1})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert result.stop_ts - result.start_ts == pytest.approx(300)
    assert details(events_of(result, "TaskTimedOut")[0])["error"] == "States.Timeout"
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(seen[0].token, {})
    with pytest.raises(TaskTimedOut):
        engine.send_task_heartbeat(seen[0].token)
    assert wall.elapsed() < 5


def test_each_retry_gets_a_new_token(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    seen: list[str] = []

    def answer(pending: PendingTask) -> None:
        seen.append(pending.token)
        if len(seen) == 2:
            engine.send_task_success(pending.token, {"attempt": 2})

    engine.on_task_token(answer)
    approve = ask(url, TimeoutSeconds=30, Retry=[{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}])
    result = engine.run(machine(("Approve", approve)), {"order": 1})
    assert (result.status, result.output) == ("SUCCEEDED", {"attempt": 2})
    assert len(set(seen)) == 2
    assert [m["TaskToken"] for m in aws.messages(url)] == seen


def test_refusals(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    seen: list[PendingTask] = []
    engine.on_task_token(lambda p: (seen.append(p), engine.send_task_success(p.token, {})))
    assert engine.run(machine(("Approve", ask(url))), {"order": 1}).status == "SUCCEEDED"
    with pytest.raises(TaskDoesNotExist):
        engine.send_task_success(seen[0].token, {})
    with pytest.raises(TaskDoesNotExist):
        engine.send_task_failure(seen[0].token, "E")
    with pytest.raises(InvalidToken) as info:
        engine.send_task_success("not-a-token", {})
    assert info.value.code == "InvalidToken" and isinstance(info.value, TaskTokenError)
    with pytest.raises(InvalidOutput):
        engine.send_task_success(seen[0].token, "{not json")


def test_tokens_are_reproducible_for_a_seed(aws: Aws) -> None:
    url = aws.queue()
    tokens = []
    for _ in range(2):
        with Engine(integrations=[LocalServices(aws.client)], validate=False, seed=5) as engine:
            engine.on_task_token(lambda p, e=engine: (tokens.append(p.token), e.send_task_success(p.token, 1)))
            engine.run(machine(("Approve", ask(url))), {"order": 1})
    assert tokens[0] == tokens[1] and len(tokens[0]) > 40


def test_a_lambda_that_answers_from_its_own_thread(aws: Aws) -> None:
    """lambda:invoke.waitForTaskToken: the handler runs in the executor and calls back from there."""
    engines: list[Engine] = []

    def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
        engines[0].send_task_success(event["token"], {"worker": "done"})
        return {"accepted": True}

    with Engine(handlers={"worker": worker}, validate=False) as engine:
        engines.append(engine)
        state = task("arn:aws:states:::lambda:invoke.waitForTaskToken",
                     {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}}, HeartbeatSeconds=30)
        result = engine.run(machine(("Work", state)), {})
    assert (result.status, result.output) == ("SUCCEEDED", {"worker": "done"})
    submitted = details(events_of(result, "TaskSubmitted")[0])
    assert submitted["resource"] == "invoke.waitForTaskToken"
    assert json.loads(submitted["output"])["Payload"] == {"accepted": True}


def test_heartbeat_seconds_do_not_apply_to_request_response_tasks() -> None:
    async def slow(event: Any, context: Any) -> str:
        await asyncio.sleep(100)
        return "done"

    with Engine(handlers={"slow": slow}, validate=False) as engine:
        state = task("arn:aws:states:::lambda:invoke", {"FunctionName": "slow", "Payload": {}},
                     HeartbeatSeconds=10, TimeoutSeconds=1000)
        result = engine.run(machine(("Slow", state)), {})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["Payload"] == "done"
    assert details(events_of(result, "TaskScheduled")[0])["heartbeatInSeconds"] == 10


class Canned:
    """A stand-in (like a mock) whose result is the final result of the pattern."""

    returns_final_result = True

    def describe(self, resource: str) -> TaskTarget | None:
        return service_target(resource) if ":sqs:" in resource else None

    async def invoke(self, request: TaskRequest) -> Any:
        return {"canned": request.context["Task"]["Token"][:3]}


def test_an_integration_that_returns_the_final_result_does_not_wait() -> None:
    with Engine(integrations=[Canned()], validate=False) as engine:
        result = engine.run(machine(("Approve", ask("https://queue", HeartbeatSeconds=5))), {"order": 1})
    assert (result.status, result.output) == ("SUCCEEDED", {"canned": "AQB"})
    assert "TaskSubmitted" in result.event_types
    assert result.stop_ts == result.start_ts


def test_many_tokens_at_once_in_a_map(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    approve = ask(url, HeartbeatSeconds=60)
    approve["Parameters"]["MessageBody"] = {"TaskToken.$": "$$.Task.Token", "order.$": "$"}
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.orders", "End": True,
        "ItemProcessor": {"StartAt": "Approve", "States": {"Approve": approve}}}}}

    async def scenario() -> Any:
        handle = await engine.start_execution(definition, {"orders": [1, 2, 3]})
        while len(engine.pending_tokens()) < 3:
            await engine.wait_for_task("Approve")
            await asyncio.sleep(0)
        for message in reversed(aws.messages(url)):  # answer in any order
            engine.send_task_success(message["TaskToken"], {"approved": message["order"]})
        return await handle.result()

    result = engine.run_async(scenario())
    assert result.output == [{"approved": 1}, {"approved": 2}, {"approved": 3}]


def test_a_waiting_task_aborted_by_its_sibling_refuses_answers(aws: Aws, engine: Engine) -> None:
    url = aws.queue()
    seen: list[PendingTask] = []
    engine.on_task_token(seen.append)
    definition = {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Approve", "States": {"Approve": ask(url)}},
        {"StartAt": "Later", "States": {"Later": {"Type": "Wait", "Seconds": 5, "Next": "Boom"},
                                        "Boom": {"Type": "Fail", "Error": "Boom"}}},
    ]}}}
    result = engine.run(definition, {"order": 1})
    assert (result.status, result.error) == ("FAILED", "Boom")
    assert "TaskStateAborted" in result.event_types
    with pytest.raises(TaskDoesNotExist):
        engine.send_task_success(seen[0].token, {})
    assert engine.pending_tokens() == []


def test_a_mocked_callback_state_answers_at_once() -> None:
    from flowengine.testing import mocks

    with Engine(validate=False, mocks={"Approve": mocks.returns({"mocked": True})}) as engine:
        result = engine.run(machine(("Approve", ask("https://queue", HeartbeatSeconds=5))), {"order": 1})
    assert (result.status, result.output) == ("SUCCEEDED", {"mocked": True})
    assert result.event_types[-4:] == ["TaskSubmitted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]


def test_a_mocked_sync_child_answers_at_once() -> None:
    from flowengine.testing import mocks

    state = task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": "arn:x"})
    with Engine(validate=False, mocks={"Start": mocks.returns({"Output": {"ok": 1}})}) as engine:
        result = engine.run(machine(("Start", state)), {})
    assert (result.status, result.output) == ("SUCCEEDED", {"Output": {"ok": 1}})
    assert engine.nested.executions == []

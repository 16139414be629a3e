"""$$.Task.Token in job-run (.sync) Tasks (issue 12, item 2).

AWS's API reference: SendTaskSuccess/SendTaskFailure are "used by activity workers, Task
states using the callback pattern, and optionally Task states using the job run pattern";
task tokens are generated "in the context object when a workflow enters a task state".  So a
``.sync`` Task has ``$$.Task.Token``, and an answer to it ends the Task before the job does.
"""

from __future__ import annotations

from typing import Any

from flowengine.integrations.mocks import call, returns
from flowengine.runtime.engine import Engine
from flowengine.testing.progress import ProgressPrinter

CHILD_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Child"


def parent(pattern: str) -> dict[str, Any]:
    return {"StartAt": "Start", "States": {"Start": {
        "Type": "Task", "Resource": f"arn:aws:states:::states:startExecution{pattern}",
        "Parameters": {"StateMachineArn": CHILD_ARN, "Input": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
        "End": True}}}


#: The child reports to its parent's token at once, then runs for a day.
CHILD = {"StartAt": "Report", "States": {
    "Report": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:report",
               "Parameters": {"token.$": "$.token", "n.$": "$.n"}, "Next": "Long"},
    "Long": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
    "Done": {"Type": "Pass", "Result": {"from": "job"}, "End": True}}}


def _run(pattern: str, child_mock: Any, definition: dict[str, Any] | None = None) -> Any:
    with Engine(validate=False, mocks={"Report": child_mock}) as engine:
        engine.register_state_machine("Child", CHILD)
        result = engine.run(definition or parent(pattern), {"n": 2})
        return result, engine


def test_a_sync_task_has_a_task_token_in_the_context_object() -> None:
    seen: list[Any] = []
    for pattern in (".sync", ".sync:2"):
        result, _ = _run(pattern, call(lambda payload, ctx: seen.append(payload["token"]) or {}))
        assert result.status == "SUCCEEDED", result.cause
    assert len(seen) == 2 and all(isinstance(t, str) and t.startswith("AQB") for t in seen)


def test_answering_the_token_ends_the_sync_task_before_the_job() -> None:
    holder: dict[str, Engine] = {}

    def report(payload: Any, ctx: Any) -> Any:
        holder["engine"].callbacks.send_success(payload["token"], {"early": payload["n"]})
        return {}

    with Engine(validate=False, mocks={"Report": call(report)}) as engine:
        holder["engine"] = engine
        engine.register_state_machine("Child", CHILD)
        result = engine.run(parent(".sync:2"), {"n": 2})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"early": 2}
    # the parent ended when the token was answered, not after the child's day-long Wait
    assert result.stop_ts - result.start_ts < 3600


def test_a_failure_sent_to_the_token_fails_the_sync_task() -> None:
    holder: dict[str, Engine] = {}

    def report(payload: Any, ctx: Any) -> Any:
        holder["engine"].callbacks.send_failure(payload["token"], "Child.Refused", "no")
        return {}

    with Engine(validate=False, mocks={"Report": call(report)}) as engine:
        holder["engine"] = engine
        engine.register_state_machine("Child", CHILD)
        result = engine.run(parent(".sync"), {"n": 2})
    assert (result.status, result.error, result.cause) == ("FAILED", "Child.Refused", "no")


def test_without_an_answer_the_job_result_is_the_task_result() -> None:
    result, _ = _run(".sync:2", returns({}))
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["Output"] == {"from": "job"}


def test_a_request_response_task_still_has_no_token_and_the_summary_says_context_object() -> None:
    definition = {"StartAt": "Send", "States": {"Send": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    with Engine(validate=False, mocks={"Send": returns({})}) as engine:
        result = engine.run(definition, {"a": 1})
    assert result.status == "FAILED"
    # AWS's own cause names "the input" for every root (recorded on AWS): kept verbatim
    assert "could not be found in the input" in result.cause
    summary = ProgressPrinter(_Sink(), virtual=True).summary(result, 0.0)
    assert "context object" in summary and ".waitForTaskToken" in summary


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def isatty(self) -> bool:
        return False

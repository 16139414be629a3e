"""``run_remote``: start a flow's execution on AWS Step Functions and wait for its result.

The result is the same :class:`~flowengine.engine.result.ExecutionResult` a local run
returns, with AWS's own history (GetExecutionHistory, every page), so a test or a script
can treat local and remote runs alike.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from flowengine.aws._client import Aws
from flowengine.dsl.app import LoadedApp
from flowengine.errors import AwsError

_TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def state_machine_arn(aws: Aws, stack_name: str, flow: str) -> str:
    """The ARN of ``flow``'s state machine in the stack (its logical id is the flow's name)."""
    resources = aws.paginate("cloudformation", "list_stack_resources", "StackResourceSummaries", StackName=stack_name)
    for r in resources:
        if r["LogicalResourceId"] == flow and r["ResourceType"] == "AWS::StepFunctions::StateMachine":
            arn = r.get("PhysicalResourceId")
            if arn:
                return str(arn)
    stacks = aws.call("cloudformation", "describe_stacks", StackName=stack_name)["Stacks"]
    for output in (stacks[0].get("Outputs") or []) if stacks else []:
        if output["OutputKey"] == f"{flow}Arn":
            return str(output["OutputValue"])
    raise AwsError(f"stack {stack_name} has no state machine for flow '{flow}' (was it deployed from this app?)")


def run_remote(
    loaded: LoadedApp,
    flow: str,
    stack_name: str,
    input: Any = None,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    name: str | None = None,
    poll: float = 1.0,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run ``flow`` of a deployed app on AWS and return its ExecutionResult.

    ``input`` is a JSON value (default ``{}``).  A STANDARD flow is started with
    StartExecution and polled every ``poll`` seconds until it ends (or ``timeout_seconds``
    pass: then AwsError, the execution keeps running); its history is fetched in full.  An
    EXPRESS flow runs through StartSyncExecution, which returns no history (Express
    workflows keep theirs in CloudWatch Logs only).
    """
    from flowengine.engine.result import ExecutionResult

    if flow not in loaded.app.flows:
        known = ", ".join(loaded.app.flows) or "none"
        raise AwsError(f"the app has no flow '{flow}' (flows: {known})")
    aws = Aws(region=region, profile=profile, endpoint_url=endpoint_url, sleep=sleep)
    arn = state_machine_arn(aws, stack_name, flow)
    text = json.dumps({} if input is None else input)
    # AWS names a nameless execution with a UUID; we do the same up front, because moto's
    # executor names every nameless execution "None" and refuses the second one.
    params: dict[str, Any] = {"stateMachineArn": arn, "input": text, "name": name or str(uuid.uuid4())}
    machine = aws.call("stepfunctions", "describe_state_machine", stateMachineArn=arn)
    if machine.get("type") == "EXPRESS":
        done = aws.call("stepfunctions", "start_sync_execution", **params)
        history: list[dict[str, Any]] = []
    else:
        started = aws.call("stepfunctions", "start_execution", **params)
        done = _wait(aws, started["executionArn"], poll, timeout_seconds, sleep)
        history = aws.paginate("stepfunctions", "get_execution_history", "events",
                               executionArn=started["executionArn"], includeExecutionData=True)
    output = done.get("output")
    stop = done.get("stopDate")
    return ExecutionResult(
        status=done["status"],
        output=json.loads(output) if output is not None else None,
        error=done.get("error"),
        cause=done.get("cause"),
        execution_arn=done["executionArn"],
        name=done.get("name") or done["executionArn"].rsplit(":", 1)[-1],
        state_machine_arn=arn,
        start_ts=done["startDate"].timestamp(),
        stop_ts=stop.timestamp() if stop is not None else None,
        input=input,
        recorded=_history(history),
    )


def _wait(aws: Aws, execution_arn: str, poll: float, timeout_seconds: float,
          sleep: Callable[[float], None]) -> dict[str, Any]:
    for _ in range(max(1, int(timeout_seconds / poll)) + 1):
        described = aws.call("stepfunctions", "describe_execution", executionArn=execution_arn)
        if described["status"] in _TERMINAL:
            return described  # type: ignore[no-any-return]
        sleep(poll)
    raise AwsError(f"execution {execution_arn} still running after {timeout_seconds:g}s; it keeps running on AWS")


def _history(events: list[dict[str, Any]]) -> Any:
    """AWS's events as the engine's History, so ``result.history`` reads the same for both.

    GetExecutionHistory numbers events 1, 2, 3 ... in order, exactly as History does.
    """
    from flowengine.engine.history import History

    history = History(limit=len(events) + 1)
    for event in sorted(events, key=lambda e: e["id"]):
        key = next((k for k in event if k.endswith("EventDetails")), None)
        history.add(event["type"], event.get("previousEventId", 0), event["timestamp"].timestamp(),
                    key, event.get(key) if key else None)
    return history

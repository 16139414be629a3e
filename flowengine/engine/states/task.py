"""Task: runs work through an integration (a local Lambda handler, a mock, an AWS service).

The Task owns the dataflow, the history events and the timeouts; the integration chosen
for the Resource only performs the call (:mod:`flowengine.integrations.base`).  Events:

* a Lambda function ARN as Resource: ``LambdaFunctionScheduled``/``Started`` then
  ``Succeeded``, ``Failed`` or ``TimedOut``;
* any other resource (``arn:aws:states:::lambda:invoke`` ...): ``TaskScheduled``/``TaskStarted``
  then ``TaskSucceeded``, ``TaskFailed`` or ``TaskTimedOut``.

``TimeoutSeconds``/``TimeoutSecondsPath`` bound each attempt (``States.Timeout``) on the
execution's clock.  ``HeartbeatSeconds`` is recorded; it is enforced by integrations that
have heartbeats (callbacks), not by handlers that simply return.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from flowengine.engine.failure import (
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    TIMEOUT,
    StatesFailure,
)
from flowengine.engine.history import NOT_TRUNCATED, failure_details
from flowengine.engine.jsonpath import dumps
from flowengine.engine.scope import byte_size, data_limit_failure
from flowengine.engine.states.base import NumberSetting, WorkNode, jsonata_states
from flowengine.integrations.base import TaskRequest, TaskTarget
from flowengine.model.asl import ABSENT, TaskState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler
    from flowengine.engine.scope import Scope


def _seconds(setting: NumberSetting, scope: "Scope", effective: Any, states: dict[str, Any] | None) -> int | None:
    value = setting.value(scope, effective, states)
    if value is not None and value <= 0:
        error = RUNTIME if setting.path is not None else QUERY_EVALUATION_ERROR
        raise StatesFailure(error, f"The {setting.field} value must be a positive integer, but was: {value}")
    return value


class TaskNode(WorkNode):
    type = "Task"

    def __init__(self, state: TaskState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.resource = state.resource
        self.timeout = NumberSetting("TimeoutSeconds", state.timeout_seconds, state.timeout_seconds_path,
                                     self.jsonata, "integer")
        self.heartbeat = NumberSetting("HeartbeatSeconds", state.heartbeat_seconds, state.heartbeat_seconds_path,
                                       self.jsonata, "integer")
        self.credentials = state.credentials if state.credentials is not ABSENT else None

    async def attempt(self, scope: "Scope", data: Any) -> tuple[Any, dict[str, Any] | None]:
        states = jsonata_states(scope, data) if self.jsonata else None
        effective, payload = self.state_input(scope, data, states)
        timeout = _seconds(self.timeout, scope, effective, states)
        heartbeat = _seconds(self.heartbeat, scope, effective, states)
        execution = scope.execution
        integration, target = execution.integrations.for_state(self.path, self.resource)
        payload_text = dumps(payload)
        if byte_size(payload_text) > execution.limits.max_payload_bytes:
            raise data_limit_failure(self.name)
        self._scheduled(scope, target, payload_text, timeout, heartbeat)
        request = TaskRequest(
            resource=self.resource, payload=json.loads(payload_text), state_name=self.name, state_path=self.path,
            context=scope.context(), execution_arn=execution.arn, account=execution.account, rng=scope.rng,
            timeout_seconds=timeout, heartbeat_seconds=heartbeat, credentials=self.credentials, target=target,
        )
        deadline: asyncio.Timeout | None = None
        try:
            if timeout is not None:
                async with asyncio.timeout(timeout) as deadline:
                    result = await integration.invoke(request)
            else:
                result = await integration.invoke(request)
        except TimeoutError:
            if deadline is None or not deadline.expired():
                raise  # not the Task's timeout: an integration's bug, reported as such
            self._finished(scope, target, "TimedOut", {"error": TIMEOUT})
            raise StatesFailure(TIMEOUT, None) from None
        except StatesFailure as failure:
            self._finished(scope, target, "Failed", failure_details(failure.error, failure.cause))
            raise
        self._finished(scope, target, "Succeeded", {"output": dumps(result), "outputDetails": NOT_TRUNCATED})
        return self.finish(scope, data, result)

    def _scheduled(self, scope: "Scope", target: TaskTarget, payload_text: str, timeout: int | None,
                   heartbeat: int | None) -> None:
        if target.legacy_lambda:
            details: dict[str, Any] = {"input": payload_text, "inputDetails": NOT_TRUNCATED, "resource": self.resource}
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            scope.record("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
            scope.record("LambdaFunctionStarted")
            return
        details = {"parameters": payload_text, "region": scope.execution.account.region,
                   "resource": target.resource, "resourceType": target.resource_type}
        if timeout is not None:
            details["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            details["heartbeatInSeconds"] = heartbeat
        scope.record("TaskScheduled", "taskScheduledEventDetails", details)
        scope.record("TaskStarted", "taskStartedEventDetails",
                     {"resource": target.resource, "resourceType": target.resource_type})

    @staticmethod
    def _finished(scope: "Scope", target: TaskTarget, outcome: str, details: dict[str, Any]) -> None:
        if target.legacy_lambda:
            scope.record(f"LambdaFunction{outcome}", f"lambdaFunction{outcome}EventDetails", details)
        else:
            details["resource"] = target.resource
            details["resourceType"] = target.resource_type
            scope.record(f"Task{outcome}", f"task{outcome}EventDetails", details)

    def uncaught(self, scope: "Scope", failure: StatesFailure) -> None:
        # Inside a Parallel branch, AWS records the failed Task as aborted when the branch fails.
        if scope.kind == "branch":
            scope.record("TaskStateAborted")

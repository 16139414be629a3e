"""Task: runs work through an integration (a local Lambda handler, a mock, an AWS service).

The Task owns the dataflow, the history events and the timeouts; the integration chosen
for the Resource only performs the call (:mod:`flowengine.engine.tasks`).  Events:

* a Lambda function ARN as Resource: ``LambdaFunctionScheduled``/``Started`` then
  ``Succeeded``, ``Failed`` or ``TimedOut``;
* any other resource (``arn:aws:states:::lambda:invoke`` ...): ``TaskScheduled``/``TaskStarted``
  then ``TaskSucceeded``, ``TaskFailed`` or ``TaskTimedOut``.

Integration patterns (the Resource's suffix; history names the resource with it,
``sendMessage.waitForTaskToken``, and an ``aws-sdk:s3:getObject`` call as ``aws-sdk:s3``/``getObject``):

* ``.waitForTaskToken``: each attempt draws a token into ``$$.Task.Token`` before the
  Parameters are built, makes the integration call, records ``TaskSubmitted`` with its
  result, then waits for SendTaskSuccess/Failure on the engine's
  :class:`~flowengine.engine.callbacks.TaskTokens`;
* ``.sync``/``.sync:2``: an integration with ``async complete(request, submitted)`` starts
  the job in ``invoke``; ``TaskSubmitted`` records that, then ``complete`` gives the result.
  These Tasks get a token in ``$$.Task.Token`` too: AWS's API reference names Task states
  "using the job run pattern" among the users of SendTaskSuccess/SendTaskFailure ("optionally"),
  so an answer to that token ends the attempt before the job does (a child execution
  reporting to its parent is the common case);
* an integration that stands in for the state rather than claiming its resource (its
  ``describe`` does not answer it: mocks), or whose ``returns_final_result`` is true,
  answers for the whole pattern: its result is recorded as submitted and is the task's
  result, nothing waits.

``TimeoutSeconds``/``TimeoutSecondsPath`` bound each attempt (``States.Timeout``) on the
execution's clock.  ``HeartbeatSeconds`` is enforced where AWS enforces it, on tasks that
wait for a token (activities are not run locally): without SendTaskHeartbeat for that
long the attempt ends with ``TaskTimedOut``, error ``States.Timeout``.  A request-response
task or a ``.sync`` job records it and never times out on it (nothing sends its heartbeats).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

from flowengine.model.failure import (
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    TIMEOUT,
    StatesFailure,
)
from flowengine.engine.history import NOT_TRUNCATED, failure_details
from flowengine.lang.jsonpath import dumps
from flowengine.engine.scope import byte_size, data_limit_failure
from flowengine.engine.states.base import NumberSetting, WorkNode, jsonata_states
from flowengine.engine.tasks import TaskIntegration, TaskRequest, TaskTarget
from flowengine.engine.callbacks import HeartbeatTimedOut, PendingTask, new_task_token
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


_SYNC = re.compile(r"\.sync(?::\d+)?$")


async def _answered(pending: PendingTask) -> Any:
    """SendTaskSuccess's output for a job-run Task's token (raises SendTaskFailure's error).

    Unlike :meth:`TaskTokens.wait` this does not announce the task as waiting for a
    callback: the job is what it waits for, the token only may end it sooner."""
    assert pending.wake is not None
    while pending.outcome is None:
        pending.wake.clear()
        if pending.outcome is None:
            await pending.wake.wait()
    kind, first, second = pending.outcome
    if kind == "success":
        return first
    raise StatesFailure(first, second)


async def _first_answer(*steps: Any) -> Any:
    """The result of whichever coroutine finishes first; the others are cancelled."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
            task.add_done_callback(_forget)
    first = next(t for t in tasks if t in done)
    return first.result()


def _forget(task: "asyncio.Future[Any]") -> None:
    """Retrieve a loser's outcome so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


def _history_names(target: TaskTarget) -> tuple[str, str]:
    """(resourceType, resource) as the Task* events name them: ``sqs``/``sendMessage.waitForTaskToken``,
    ``states``/``startExecution.sync:2``, ``aws-sdk:s3``/``getObject``."""
    resource_type, resource = target.resource_type, target.resource
    if resource_type == "aws-sdk" and ":" in resource:
        service, _, resource = resource.partition(":")
        resource_type = f"aws-sdk:{service}"
    if target.pattern and not resource.endswith("." + target.pattern):
        resource = f"{resource}.{target.pattern}"
    return resource_type, resource


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
        self.waits_for_token = isinstance(self.resource, str) and self.resource.endswith(".waitForTaskToken")
        #: a job-run (``.sync``) Task: it has a task token too, which may end it early
        self.runs_job = isinstance(self.resource, str) and _SYNC.search(self.resource) is not None

    async def attempt(self, scope: "Scope", data: Any) -> tuple[Any, dict[str, Any] | None]:
        if not (self.waits_for_token or self.runs_job):
            return await self._attempt(scope, data, None)
        scope.set_task_token(new_task_token(scope.rng))  # a fresh token per attempt, in $$.Task.Token
        try:
            return await self._attempt(scope, data, scope.task_token)
        finally:
            scope.set_task_token(None)

    async def _attempt(self, scope: "Scope", data: Any, token: str | None) -> tuple[Any, dict[str, Any] | None]:
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
        callbacks = execution.callbacks
        pending = None
        if token is not None:
            # HeartbeatSeconds binds a callback, not a job (nothing sends a job's heartbeats)
            pending = callbacks.issue(token, execution_arn=execution.arn, state_name=self.name, state_path=self.path,
                                      resource=self.resource, heartbeat_seconds=heartbeat if self.waits_for_token else None,
                                      timeout_seconds=timeout)
        deadline: asyncio.Timeout | None = None
        try:
            if timeout is not None:
                async with asyncio.timeout(timeout) as deadline:
                    result = await self._call(scope, integration, target, request, pending)
            else:
                result = await self._call(scope, integration, target, request, pending)
        except TimeoutError:
            if deadline is None or not deadline.expired():
                raise  # not the Task's timeout: an integration's bug, reported as such
            if pending is not None:
                callbacks.release(pending, timed_out=True)
            self._finished(scope, target, "TimedOut", {"error": TIMEOUT})
            raise StatesFailure(TIMEOUT, None) from None
        except HeartbeatTimedOut:
            self._finished(scope, target, "TimedOut", {"error": TIMEOUT})
            raise
        except StatesFailure as failure:
            self._finished(scope, target, "Failed", failure_details(failure.error, failure.cause))
            raise
        finally:
            if pending is not None:
                callbacks.release(pending)
        self._finished(scope, target, "Succeeded", {"output": dumps(result), "outputDetails": NOT_TRUNCATED})
        return self.finish(scope, data, result)

    async def _call(self, scope: "Scope", integration: TaskIntegration, target: TaskTarget, request: TaskRequest,
                    pending: PendingTask | None) -> Any:
        """The integration call, then what the Resource's pattern waits for."""
        result = await integration.invoke(request)
        if not target.pattern:
            return result
        if getattr(integration, "returns_final_result", False) or integration.describe(request.resource) is None:
            # a stand-in for this state (a mock), not the resource's own integration: its
            # result is the pattern's final result
            self._submitted(scope, target, result)
            return result
        if target.pattern == "waitForTaskToken":
            if pending is None:
                return result
            self._submitted(scope, target, result)
            return await scope.execution.callbacks.wait(pending, result)
        complete = getattr(integration, "complete", None)
        if complete is None:
            return result
        self._submitted(scope, target, result)
        if pending is None:
            return await complete(request, result)
        return await _first_answer(complete(request, result), _answered(pending))

    @staticmethod
    def _submitted(scope: "Scope", target: TaskTarget, output: Any) -> None:
        resource_type, resource = _history_names(target)
        scope.record("TaskSubmitted", "taskSubmittedEventDetails",
                     {"output": dumps(output), "outputDetails": NOT_TRUNCATED, "resource": resource,
                      "resourceType": resource_type})

    def _scheduled(self, scope: "Scope", target: TaskTarget, payload_text: str, timeout: int | None,
                   heartbeat: int | None) -> None:
        if target.legacy_lambda:
            details: dict[str, Any] = {"input": payload_text, "inputDetails": NOT_TRUNCATED, "resource": self.resource}
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            scope.record("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
            scope.record("LambdaFunctionStarted")
            return
        resource_type, resource = _history_names(target)
        details = {"parameters": payload_text, "region": scope.execution.account.region,
                   "resource": resource, "resourceType": resource_type}
        if timeout is not None:
            details["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            details["heartbeatInSeconds"] = heartbeat
        scope.record("TaskScheduled", "taskScheduledEventDetails", details)
        scope.record("TaskStarted", "taskStartedEventDetails", {"resource": resource, "resourceType": resource_type})

    @staticmethod
    def _finished(scope: "Scope", target: TaskTarget, outcome: str, details: dict[str, Any]) -> None:
        if target.legacy_lambda:
            scope.record(f"LambdaFunction{outcome}", f"lambdaFunction{outcome}EventDetails", details)
        else:
            resource_type, resource = _history_names(target)
            details["resource"] = resource
            details["resourceType"] = resource_type
            scope.record(f"Task{outcome}", f"task{outcome}EventDetails", details)

    def uncaught(self, scope: "Scope", failure: StatesFailure) -> None:
        # Inside a Parallel branch, AWS records the failed Task as aborted when the branch fails.
        if scope.kind == "branch":
            scope.record("TaskStateAborted")

"""Nested executions: ``arn:aws:states:::states:startExecution`` against the engine's own flows.

The child runs on the same engine and clock as its parent, as a separate execution with its
own ARN and history.  ``StateMachineArn`` names it: a flow of an app the engine has run (an
app's ``${FlowArn}`` placeholders become ``arn:aws:states:<region>:<account>:stateMachine:<Flow>``),
or a definition registered with :meth:`Engine.register_state_machine`.

Three patterns, with Step Functions' shapes (recorded histories: LocalStack's
``tests/aws/services/stepfunctions/v2/callback/test_callback.py``, validated against AWS):

* request-response: the result is StartExecution's response,
  ``{"ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"}``, and the child
  runs on by itself;
* ``.sync``: ``TaskSubmitted`` carries that response, then the Task waits for the child.
  A successful child gives DescribeExecution's shape, ``{"ExecutionArn", "Input",
  "InputDetails", "Name", "Output", "OutputDetails", "StartDate", "StateMachineArn",
  "Status", "StopDate"}``, with ``Input``/``Output`` as JSON **text**; a child that fails,
  times out or is aborted fails the Task with ``States.TaskFailed`` and that shape, plus
  the child's ``Error``/``Cause``, as JSON text in the cause;
* ``.sync:2``: the same with ``Input``/``Output`` as JSON **values**;
* ``.waitForTaskToken``: the child starts, then the Task waits for its token (see
  :mod:`flowengine.engine.callbacks`).

``StartDate``/``StopDate`` are epoch milliseconds.  When the waiting Task is cancelled (its
TimeoutSeconds, a failed sibling branch, the parent stopped) the child is stopped too.
Service errors have the optimized integration's names: ``StepFunctions.StateMachineDoesNotExistException``,
``StepFunctions.ExecutionAlreadyExistsException``, ``StepFunctions.InvalidExecutionInputException``.
"""

from __future__ import annotations

import asyncio
import json
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from flowengine.model.failure import TASK_FAILED, TIMEOUT, StatesFailure
from flowengine.engine.options import new_uuid
from flowengine.errors import ExecutionInputError
from flowengine.engine.tasks import TaskRequest, TaskTarget, service_target

if TYPE_CHECKING:
    from flowengine.engine.result import ExecutionResult
    from flowengine.runtime.engine import Engine, ExecutionHandle

__all__ = ["NestedExecutions"]


class NestedExecutions:
    """The TaskIntegration for ``states:startExecution[.sync|.sync:2|.waitForTaskToken]``.

    The engine creates one for itself (``engine.nested``).  ``executions`` lists the handles
    of every child started, oldest first.
    """

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self._machines: dict[str, tuple[Any, str | None]] = {}
        self._handles: dict[str, "ExecutionHandle"] = {}
        self.executions: list["ExecutionHandle"] = []

    # -- registry -------------------------------------------------------------------------

    def register(self, arn: str, source: Any, flow: str | None = None) -> None:
        """Make ``arn`` start ``source`` (``flow`` of it, for an app).  A definition dict runs
        under the ARN's state machine name, so its executions' ARNs match."""
        if isinstance(source, dict) and flow is None and "StartAt" in source:
            from flowengine.dsl.app import from_value

            flow = arn.rsplit(":", 1)[-1]
            source = from_value(source, name=flow)
        self._machines[arn] = (source, flow)

    def register_app(self, source: Any, flows: Any) -> None:
        """Register every flow of an app under its local state machine ARN (kept when already set)."""
        for flow in flows:
            self._machines.setdefault(self.engine.account.state_machine_arn(flow), (source, flow))

    def known(self) -> list[str]:
        """The state machine ARNs a startExecution task can name."""
        return sorted(self._machines)

    # -- TaskIntegration ------------------------------------------------------------------

    def describe(self, resource: str) -> TaskTarget | None:
        target = service_target(resource)
        if target is None or target.resource_type != "states" or target.resource != "startExecution":
            return None
        return target

    async def invoke(self, request: TaskRequest) -> Any:
        """StartExecution: start the child and return the API's response."""
        params = request.payload if isinstance(request.payload, dict) else {}
        arn = params.get("StateMachineArn")
        if not isinstance(arn, str) or arn not in self._machines:
            raise _service_error(request, "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        source, flow = self._machines[arn]
        raw_input = params.get("Input")
        if raw_input is None:
            raw_input = {}  # "If you don't include any JSON input data, you still must include the two braces"
        if isinstance(raw_input, str):
            try:
                json.loads(raw_input)
            except ValueError:
                raise _service_error(request, "InvalidExecutionInput",
                                     "Invalid State Machine Execution Input: 'Invalid JSON'") from None
        name = params.get("Name")
        if name is not None and not isinstance(name, str):
            raise StatesFailure("States.Runtime", "The startExecution Name parameter must be a string.")
        if name is not None:
            from flowengine.engine.options import check_execution_name

            try:
                check_execution_name(name)
            except ExecutionInputError:
                raise _service_error(request, "InvalidName", f"Invalid Name: '{name}'") from None
        name = name or new_uuid(request.rng)
        execution_arn = _execution_arn(arn, name)
        if execution_arn in self._handles:
            raise _service_error(request, "ExecutionAlreadyExists", f"Execution Already Exists: '{execution_arn}'")
        try:
            handle = await self.engine.start_execution(source, raw_input, name=name, flow=flow)
        except ExecutionInputError as exc:
            raise _service_error(request, "InvalidExecutionInput", str(exc)) from None
        self._handles[handle.arn] = handle
        self.executions.append(handle)
        return _with_metadata({"ExecutionArn": handle.arn, "StartDate": _millis(handle.execution.start_ts)},
                              request, self.engine.clock.now())

    async def complete(self, request: TaskRequest, submitted: Any) -> Any:
        """``.sync``/``.sync:2``: wait for the child; its DescribeExecution shape, or a failure."""
        handle = self._handles[submitted["ExecutionArn"]]
        try:
            result = await handle.result()
        except asyncio.CancelledError:
            handle.stop()
            raise
        as_json = request.target is not None and request.target.pattern == "sync:2"
        described = describe_execution(result, as_json)
        if result.status == "SUCCEEDED":
            return described
        raise StatesFailure(TASK_FAILED, json.dumps(described, separators=(",", ":"), ensure_ascii=False))


def describe_execution(result: "ExecutionResult", as_json: bool) -> dict[str, Any]:
    """An execution in the shape ``startExecution.sync`` returns (keys as AWS orders them)."""
    compact = (",", ":")
    out: dict[str, Any] = {}
    if result.status != "SUCCEEDED":
        error = result.error
        if error is None and result.status == "TIMED_OUT":
            error = TIMEOUT  # as the ExecutionTimedOut event has it
        if result.cause is not None:
            out["Cause"] = result.cause
        if error is not None:
            out["Error"] = error
    out["ExecutionArn"] = result.execution_arn
    out["Input"] = result.input if as_json else json.dumps(result.input, separators=compact, ensure_ascii=False)
    out["InputDetails"] = {"Included": True}
    out["Name"] = result.name
    if result.status == "SUCCEEDED":
        out["Output"] = result.output if as_json else json.dumps(result.output, separators=compact,
                                                                 ensure_ascii=False)
        out["OutputDetails"] = {"Included": True}
    out["StartDate"] = _millis(result.start_ts)
    out["StateMachineArn"] = result.state_machine_arn
    out["Status"] = result.status
    out["StopDate"] = _millis(result.stop_ts if result.stop_ts is not None else result.start_ts)
    return out


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def _millis(ts: float) -> int:
    return round(ts * 1000)


def _with_metadata(body: dict[str, Any], request: TaskRequest, now: float) -> dict[str, Any]:
    request_id = new_uuid(request.rng)
    length = str(len(json.dumps(body, separators=(",", ":"))))
    headers = {"Content-Length": length, "Content-Type": "application/x-amz-json-1.0",
               "Date": formatdate(now, usegmt=True), "x-amzn-RequestId": request_id}
    out = dict(body)
    out["SdkHttpMetadata"] = {"AllHttpHeaders": {k: [v] for k, v in headers.items()}, "HttpHeaders": headers,
                              "HttpStatusCode": 200}
    out["SdkResponseMetadata"] = {"RequestId": request_id}
    return {k: out[k] for k in sorted(out)}


def _service_error(request: TaskRequest, code: str, message: str) -> StatesFailure:
    request_id = new_uuid(request.rng)
    return StatesFailure(
        f"StepFunctions.{code}Exception",
        f"{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null)",
    )

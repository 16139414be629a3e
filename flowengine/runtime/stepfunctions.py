"""The Step Functions API of a local run: a handler's Step Functions calls reach the local engine.

A function that starts a state machine (``sfn.start_execution(stateMachineArn=os.environ[...])``),
answers a task token (``send_task_success``) or polls an execution (``describe_execution``)
is one of the commonest pieces of a SAM project.  While an :class:`~flowengine.runtime.app.AppRuntime`
runs, those boto3 calls are answered here, by the runtime's own engine, instead of by moto
(whose Step Functions knows nothing of the app's flows and runs no definitions).  An AWS SDK
Task calling ``sfn`` (``arn:aws:states:::aws-sdk:sfn:listExecutions``) is answered the same way.

Answered, with AWS's request and response fields and error codes:

==========================  =====================================================================
operation                   local behaviour
==========================  =====================================================================
StartExecution              starts the app's flow named by ``stateMachineArn`` on the runtime's
                            clock (it runs as the runtime is driven); a name already used gives
                            the same ARN for the same input while it runs (AWS's idempotency),
                            ``ExecutionAlreadyExists`` otherwise
SendTaskSuccess/Failure/    the engine's task tokens (``TaskDoesNotExist``, ``InvalidToken``,
Heartbeat                   ``TaskTimedOut``, ``InvalidOutput``)
DescribeExecution           status, input, output, error, cause, dates
StopExecution               aborts the execution (status ``ABORTED``)
ListExecutions              the flow's executions, newest first, ``statusFilter`` honoured
DescribeStateMachine,       the app's flows (definition as the engine runs it, type, status ACTIVE)
ListStateMachines
StartSyncExecution          from the test's own code (between runs): runs the EXPRESS flow to its
                            end and answers with its result; from a handler, refused with a clear
                            error, since the handler would hold the virtual clock the execution
                            needs (use StartExecution there)
==========================  =====================================================================

Any other Step Functions operation is left to moto.  The hook sits in moto's request stubber
(which answers every request while an emulation is on, including clients made before the run
started), and answers only while a runtime is serving.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from flowengine.engine.callbacks import TaskTokenError
from flowengine.engine.clock import in_handler_thread
from flowengine.engine.context import current_execution
from flowengine.errors import ExecutionInputError, FlowengineError

if TYPE_CHECKING:
    from flowengine.engine.result import ExecutionResult
    from flowengine.runtime.app import AppRuntime
    from flowengine.runtime.engine import ExecutionHandle

__all__ = ["StepFunctionsApi", "serving"]

_TARGET = "AWSStepFunctions."
_lock = threading.Lock()
_serving: list[StepFunctionsApi] = []
#: Whether the call being answered comes from inside a run (a handler, a Task), set per call.
_inside_run: contextvars.ContextVar[bool] = contextvars.ContextVar("flowengine_sfn_inside_run", default=False)
_MACHINE_ARN = re.compile(r"^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")


class ApiError(Exception):
    """An error answer: AWS's error code (``__type``) and message, with HTTP status 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@contextlib.contextmanager
def serving(runtime: AppRuntime) -> Iterator[StepFunctionsApi]:
    """Answer Step Functions calls from ``runtime`` for the duration (the newest runtime wins)."""
    api = StepFunctionsApi(runtime)
    with _lock:
        _install()
        _serving.append(api)
    try:
        yield api
    finally:
        with _lock:
            _serving.remove(api)


def _install() -> None:
    """Put the answer in front of moto's stubber (once per stubber class: code that drops moto
    from ``sys.modules`` and imports it again gets a new, unpatched class)."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    if getattr(original, "_flowengine", False):
        return

    def process_request(self: Any, request: Any) -> Any:
        api = _serving[-1] if _serving else None
        if api is not None:
            answer = api.answer_request(request)
            if answer is not None:
                return answer
        return original(self, request)

    process_request._flowengine = True  # type: ignore[attr-defined]
    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]


class StepFunctionsApi:
    """Step Functions requests answered by one runtime's engine (see the module docstring)."""

    def __init__(self, runtime: AppRuntime) -> None:
        self.runtime = runtime
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "StartExecution": self.start_execution, "StartSyncExecution": self.start_sync_execution,
            "SendTaskSuccess": self.send_task_success, "SendTaskFailure": self.send_task_failure,
            "SendTaskHeartbeat": self.send_task_heartbeat, "DescribeExecution": self.describe_execution,
            "StopExecution": self.stop_execution, "ListExecutions": self.list_executions,
            "DescribeStateMachine": self.describe_state_machine, "ListStateMachines": self.list_state_machines,
        }

    # -- the request ---------------------------------------------------------------------------

    def answer_request(self, request: Any) -> tuple[int, dict[str, str], str] | None:
        """(status, headers, body) for a Step Functions request this runtime answers, else None."""
        target = request.headers.get("X-Amz-Target") if request.headers is not None else None
        if isinstance(target, bytes):
            target = target.decode("ascii", "replace")
        if not isinstance(target, str) or not target.startswith(_TARGET):
            return None
        operation = self.operations.get(target[len(_TARGET):])
        if operation is None:
            return None
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        try:
            params = json.loads(body or b"{}")
            if not isinstance(params, dict):
                raise ApiError("ValidationException", "the request body is not a JSON object")
            out = self._on_loop(lambda: operation(params))
        except ApiError as exc:
            return _response(400, {"__type": exc.code, "message": exc.message})
        return _response(200, out)

    def _on_loop(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run ``call`` on the runtime's loop thread (executions are created there), in the
        caller's context (its lineage, for the event trace), as a call from outside any execution."""
        ctx = contextvars.copy_context()
        ctx.run(current_execution.set, None)
        loop = self.runtime._loop  # noqa: SLF001 - the runtime's own loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # a handler (in a handler thread, or an async one on the loop) is inside a run; the
        # test's own code between runs is not
        ctx.run(_inside_run.set, running is loop or in_handler_thread())
        if running is loop or not loop.is_running():
            # on the loop already (an async handler, a Task), or the loop is not driven now
            # (a test's own call between runs): executions start when it next runs
            return ctx.run(call)
        done: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(ctx.run(call))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result()

    # -- executions ----------------------------------------------------------------------------

    def _flow(self, arn: Any) -> str:
        if not isinstance(arn, str) or not _MACHINE_ARN.match(arn):
            raise ApiError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
        name = arn.rsplit(":", 1)[1]
        if name not in self.runtime.app.flows or self.runtime.account.state_machine_arn(name) != arn:
            raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return name

    def _handle(self, arn: Any) -> ExecutionHandle:
        if not isinstance(arn, str) or ":execution:" not in arn and ":express:" not in arn:
            raise ApiError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
        for handle in self.runtime.handles():
            if handle.arn == arn:
                return handle
        raise ApiError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")

    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(params.get("stateMachineArn"))
        name = params.get("name")
        text = params.get("input", "{}")
        if name is not None and isinstance(text, str):
            for handle in self.runtime.handles(flow):
                if handle.execution.name == name:
                    snapshot = handle.snapshot()
                    if handle.status == "RUNNING" and json.dumps(snapshot.input, sort_keys=True) == \
                            json.dumps(_loads(text), sort_keys=True):
                        return {"executionArn": handle.arn, "startDate": snapshot.start_ts}
                    raise ApiError("ExecutionAlreadyExists", f"Execution Already Exists: '{handle.arn}'")
        handle = self._submit(flow, text, name, "StartExecution")
        return {"executionArn": handle.arn, "startDate": handle.snapshot().start_ts}

    def _submit(self, flow: str, text: Any, name: Any, origin: str) -> ExecutionHandle:
        """A new execution of ``flow`` on the runtime, kept with its other executions."""
        if not isinstance(text, str):
            raise ApiError("InvalidExecutionInput", "input must be JSON text")
        try:
            return self.runtime._adopt(  # noqa: SLF001 - kept with the runtime's other executions
                self.runtime.engine.submit(self.runtime.app, text, flow=flow, name=name), origin)
        except ExecutionInputError as exc:
            code = "InvalidName" if "execution name" in str(exc) else "InvalidExecutionInput"
            raise ApiError(code, str(exc)) from None

    def start_sync_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(params.get("stateMachineArn"))
        if self.runtime.app.flows[flow].type != "EXPRESS":
            raise ApiError("StateMachineTypeNotSupported",
                           "This operation is not supported by this type of state machine")
        if _inside_run.get():
            raise ApiError("UnsupportedOperation",
                           "StartSyncExecution is not answered from inside a local run: the caller would hold the "
                           "virtual clock the execution runs on. Use StartExecution, or start the flow from the test")
        r = self.runtime.wait(self._submit(flow, params.get("input", "{}"), params.get("name"), "StartSyncExecution"))
        out = _described(r)
        out["stopDate"] = r.stop_ts or r.start_ts
        out["status"] = r.status if r.status in ("SUCCEEDED", "FAILED") else "TIMED_OUT"
        return out

    def describe_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        return _described(self._handle(params.get("executionArn")).snapshot())

    def stop_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        handle = self._handle(params.get("executionArn"))
        handle.stop(params.get("error"), params.get("cause"))
        return {"stopDate": self.runtime.clock.now()}

    def list_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        flow = self._flow(params.get("stateMachineArn"))
        wanted = params.get("statusFilter")
        rows = [h.snapshot() for h in self.runtime.handles(flow)]
        rows = [r for r in rows if wanted is None or r.status == wanted]
        rows.sort(key=lambda r: r.start_ts, reverse=True)
        return {"executions": [
            {"executionArn": r.execution_arn, "stateMachineArn": r.state_machine_arn, "name": r.name,
             "status": r.status, "startDate": r.start_ts, **({"stopDate": r.stop_ts} if r.stop_ts is not None else {})}
            for r in rows]}

    # -- state machines ------------------------------------------------------------------------

    def describe_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._flow(params.get("stateMachineArn"))
        flow = self.runtime.app.flows[name]
        return {"stateMachineArn": self.runtime.account.state_machine_arn(name), "name": name,
                "status": "ACTIVE", "definition": json.dumps(flow.asl),
                "roleArn": f"arn:aws:iam::{self.runtime.account.account}:role/{name}-role",
                "type": flow.type, "creationDate": self.runtime.started_at}

    def list_state_machines(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self.runtime.account
        return {"stateMachines": [
            {"stateMachineArn": account.state_machine_arn(n), "name": n, "type": f.type,
             "creationDate": self.runtime.started_at} for n, f in self.runtime.app.flows.items()]}

    # -- task tokens ---------------------------------------------------------------------------

    def send_task_success(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._token(lambda: self.runtime.engine.send_task_success(
            str(params.get("taskToken", "")), params.get("output", "")))

    def send_task_failure(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._token(lambda: self.runtime.engine.send_task_failure(
            str(params.get("taskToken", "")), params.get("error"), params.get("cause")))

    def send_task_heartbeat(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._token(lambda: self.runtime.engine.send_task_heartbeat(str(params.get("taskToken", ""))))

    @staticmethod
    def _token(call: Callable[[], None]) -> dict[str, Any]:
        try:
            call()
        except TaskTokenError as exc:
            raise ApiError(exc.code, exc.message) from None
        except FlowengineError as exc:
            raise ApiError("InvalidOutput", str(exc)) from None
        return {}


def _described(r: ExecutionResult) -> dict[str, Any]:
    """An execution as DescribeExecution (and StartSyncExecution) give it."""
    out: dict[str, Any] = {"executionArn": r.execution_arn, "stateMachineArn": r.state_machine_arn,
                           "name": r.name, "status": r.status, "startDate": r.start_ts,
                           "input": json.dumps(r.input), "inputDetails": {"included": True}}
    if r.stop_ts is not None:
        out["stopDate"] = r.stop_ts
    if r.status == "SUCCEEDED":
        out["output"] = json.dumps(r.output)
        out["outputDetails"] = {"included": True}
    if r.error is not None:
        out["error"] = r.error
    if r.cause is not None:
        out["cause"] = r.cause
    return out


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _response(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body)

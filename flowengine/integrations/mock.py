"""Mocked Task states: the engine side of :mod:`flowengine.integrations.mocks`.

An engine given mocks (``Engine(mocks=...)``, or ``mocks=`` on one run) wraps its
integrations in :class:`MockedIntegrations`: a Task whose state has a mock is answered by
the mock and never reaches its real integration.  Everything else about the Task stays as
it is: the history names the real resource (a mocked Lambda ARN still records
``LambdaFunction*`` events, a mocked ``sqs:sendMessage`` ``Task*`` events with
``sqs``/``sendMessage``), and the mocked response is the Task's *raw* result, before
ResultSelector and ResultPath (for ``lambda:invoke`` the whole ``{"StatusCode", "Payload"}``
object, as Step Functions Local has it).

Counting follows :class:`~flowengine.integrations.mocks.MockSet`: one counter per state per
execution (:meth:`MockSet.for_execution` keyed by the execution ARN), every invocation
advances it, retries and Map iterations included.

:func:`check_mocks` is what runs before an execution starts: a key that names no Task of
the flow is an error (FE710/FE711, located where the key was written; not checked for a
flow that starts other state machines, whose states its mocks may name), and with
``require_all`` every Task left unmocked is one too (FE715).  :func:`unused_mocks` is what
runs after it: the keys that neither the execution nor the child executions it started
used, as warnings (FE716).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flowengine.engine.context import current_map_index
from flowengine.engine.tasks import TaskIntegration, TaskRequest, TaskTarget
from flowengine.model.diagnostics import Diagnostic, Span

if TYPE_CHECKING:
    from flowengine.engine.tasks import Integrations
    from flowengine.model.asl import StateMachine
    from flowengine.integrations.mocks import MockSet

#: The places a Python mock "is", when a diagnostic names it.
PYTHON_MOCKS = "<mocks>"


class MockIntegration:
    """Answers a Task from the mock set (a TaskIntegration that no resource selects:
    :class:`MockedIntegrations` hands it the mocked states)."""

    def __init__(self, mock_set: "MockSet") -> None:
        self.mock_set = mock_set

    def describe(self, resource: str) -> TaskTarget | None:
        return None

    async def invoke(self, request: TaskRequest) -> Any:
        context = request.context
        execution = context.get("Execution") or {}
        state = context.get("State") or {}
        answering = self.mock_set.for_execution(request.execution_arn, execution_name=execution.get("Name"))
        return answering.respond(request.state_name, request.state_path, request.payload, current_map_index.get(),
                                 attempt=state.get("RetryCount") or 0)


class MockedIntegrations:
    """An engine's integrations with some Task states answered by mocks.

    :meth:`for_state` gives the mock for a mocked state (with the target the real
    integration would have named, so the history is unchanged), and defers to the wrapped
    integrations for everything else.
    """

    def __init__(self, base: "Integrations | MockedIntegrations", mock_set: "MockSet") -> None:
        self._base = base
        self.mock_set = mock_set
        self._mock = MockIntegration(mock_set)
        self._cache: dict[tuple[str, str], tuple[TaskIntegration, TaskTarget]] = {}

    def for_state(self, state_path: str, resource: str) -> tuple[TaskIntegration, TaskTarget]:
        key = (state_path, resource)
        hit = self._cache.get(key)
        if hit is None:
            integration, target = self._base.for_state(state_path, resource)
            if self.mock_set.key_for(state_path.rpartition("/")[2], state_path) is not None:
                integration = self._mock
            hit = self._cache[key] = (integration, target)
        return hit

    def resolve(self, resource: str) -> tuple[TaskIntegration, TaskTarget]:
        return self._base.resolve(resource)

    def __getattr__(self, name: str) -> Any:
        # Whatever else the engine's integrations offer (callbacks, nested executions ...).
        return getattr(self._base, name)


def check_mocks(mock_set: "MockSet", machine: "StateMachine", *, require_all: bool = False) -> list[Diagnostic]:
    """The errors that stop a mocked execution before it starts: keys naming no Task of the
    flow (FE710, FE711) and, with ``require_all``, each Task no key mocks (FE715)."""
    # A flow that starts other state machines may mock their states too: those keys cannot
    # be checked against this flow alone.
    errors = [] if _starts_executions(machine) else mock_set.unknown_states(machine)
    if require_all:
        for task in mock_set.unmocked_tasks(machine):
            path = task.path or task.name
            span = task.loc.key_span if task.loc.source is not None else Span(PYTHON_MOCKS)
            where = f"test case {mock_set.name}" if mock_set.name else "the mocks"
            errors.append(Diagnostic(
                "FE715", f"Task state '{path}' has no mock, and the run requires every Task to be mocked",
                span, state_path=path,
                hint=f"add '{task.name}' to {where} (mocks.returns(...), or a MockedResponses entry), "
                     "or run with require_all_mocks=False",
            ))
    return errors


def _starts_executions(machine: "StateMachine") -> bool:
    from flowengine.model.asl import TaskState

    return any(isinstance(s, TaskState) and isinstance(s.resource, str) and ":states:::states:startExecution" in s.resource
               for s in machine.walk())


def unused_mocks(mock_set: "MockSet", execution_arns: Iterable[str]) -> list[Diagnostic]:
    """A warning (FE716) for each mock that none of the executions (a run and the child
    executions it started) called, located where it was written."""
    family = set(execution_arns)
    used = {call.mock_key for call in mock_set.calls() if call.execution_id in family}
    out = []
    for key in [k for k in mock_set if k not in used]:
        out.append(Diagnostic(
            "FE716", f"the mock for '{key}' was never used", mock_set.origins.get(key, Span(PYTHON_MOCKS)),
            state_path=key, severity="warning",
            hint="the execution never ran that state: check the path it took, or drop the mock",
        ))
    return out


__all__ = ["MockIntegration", "MockedIntegrations", "check_mocks", "unused_mocks"]

"""How the engine runs a Task: the small protocol every integration implements.

The interpreter owns the dataflow, the history events, Retry/Catch and the timeouts; an
integration only *performs* the call::

    class MyIntegration:
        def describe(self, resource: str) -> TaskTarget | None: ...      # mine? how to name it
        async def invoke(self, request: TaskRequest) -> Any: ...         # result, or raise StatesFailure

:meth:`TaskIntegration.describe` is asked once per resource string and says how the
history names the call: a bare Lambda function ARN records ``LambdaFunction*`` events,
every other resource records ``Task*`` events with ``resourceType``/``resource`` (for
``arn:aws:states:::lambda:invoke``: ``lambda`` / ``invoke``).

Later integrations (mocks, AWS services, callbacks with task tokens) plug in here; the
engine tries them in order and the first whose ``describe`` answers takes the resource.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from flowengine.model.failure import StatesFailure
from flowengine.engine.options import AccountInfo

_SERVICE_ARN = re.compile(
    r"^arn:[a-z-]+:states:[a-z0-9-]*:[0-9]*:([a-zA-Z0-9-]+):([^.]+)(?:\.(sync(?::2)?|waitForTaskToken))?$"
)


@dataclass(frozen=True, slots=True)
class TaskTarget:
    """How the history names a Task's resource.

    ``legacy_lambda``: the Resource is a Lambda function ARN (``LambdaFunctionScheduled``
    ... events).  Otherwise ``resource_type``/``resource`` fill the ``Task*`` events, e.g.
    ``lambda``/``invoke`` or ``dynamodb``/``putItem``.  ``pattern`` is ``""`` (request-response),
    ``"sync"`` or ``"waitForTaskToken"``.
    """

    resource_type: str
    resource: str
    legacy_lambda: bool = False
    pattern: str = ""


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One invocation of a Task, as the integration sees it.

    ``payload`` is a fresh copy of the effective parameters (Parameters/Arguments output):
    the integration may keep or mutate it.  ``context`` is the context object ``$$``.
    """

    resource: str
    payload: Any
    state_name: str
    state_path: str
    context: Mapping[str, Any]
    execution_arn: str
    account: AccountInfo
    rng: random.Random
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    credentials: Any = None
    target: TaskTarget | None = None


@runtime_checkable
class TaskIntegration(Protocol):
    """See the module docstring."""

    def describe(self, resource: str) -> TaskTarget | None:
        """How to name ``resource`` in the history, or None when this integration does not run it."""

    async def invoke(self, request: TaskRequest) -> Any:
        """Run the task; return its result (a JSON value) or raise :class:`StatesFailure`."""


def service_target(resource: str) -> TaskTarget | None:
    """``arn:aws:states:::service:action[.pattern]`` → TaskTarget (None for other ARNs)."""
    m = _SERVICE_ARN.match(resource)
    if not m:
        return None
    service, action, pattern = m.groups()
    return TaskTarget(resource_type=service, resource=action, pattern=pattern or "")


class UnknownResource:
    """The fallback integration: any resource no other integration claims fails the task."""

    def describe(self, resource: str) -> TaskTarget | None:
        target = service_target(resource)
        if target is not None:
            return target
        if ":lambda:" in resource and ":function:" in resource:
            return TaskTarget(resource_type="lambda", resource=resource, legacy_lambda=True)
        return TaskTarget(resource_type="unknown", resource=resource)

    async def invoke(self, request: TaskRequest) -> Any:
        raise StatesFailure(
            "States.Runtime",
            f"No local integration runs the resource '{request.resource}'. "
            "Mock the state (a MockConfigFile: flowengine mocks scaffold writes one) or give it a handler.",
        )


class Integrations:
    """The engine's ordered list of integrations, with the per-resource choice cached."""

    def __init__(self, integrations: Sequence[TaskIntegration]) -> None:
        self._items = list(integrations) + [UnknownResource()]
        self._cache: dict[str, tuple[TaskIntegration, TaskTarget]] = {}

    def for_state(self, state_path: str, resource: str) -> tuple[TaskIntegration, TaskTarget]:
        """The integration for one Task state: by default chosen by its resource.  (The seam
        for per-state choices, such as mocks keyed by state name.)"""
        return self.resolve(resource)

    def resolve(self, resource: str) -> tuple[TaskIntegration, TaskTarget]:
        hit = self._cache.get(resource)
        if hit is None:
            for integration in self._items:
                target = integration.describe(resource)
                if target is not None:
                    hit = (integration, target)
                    break
            assert hit is not None  # UnknownResource always answers
            self._cache[resource] = hit
        return hit

"""Task states against real AWS services, for hybrid runs: the flow runs locally (on the
engine's clock, with its history), each Task it hands to this integration calls AWS.

Which resources it takes:

* Lambda: a function ARN as the Resource, and ``arn:aws:states:::lambda:invoke`` (request-
  response) — unless ``lambdas=False``, which leaves functions to local handlers;
* the optimized integrations ``dynamodb:getItem|putItem|updateItem|deleteItem``,
  ``sqs:sendMessage``, ``sns:publish``, ``events:putEvents``;
* ``arn:aws:states:::aws-sdk:<service>:<apiAction>``: any SDK call, parameters in
  PascalCase as Step Functions takes them.

``.sync`` and ``.waitForTaskToken`` are not taken (nothing local would resume them).

Results have Step Functions' shapes (``lambda:invoke`` → ``{"ExecutedVersion", "Payload",
"SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}``, SDK calls → the API response) and
failures its names: a function's error is its ``errorType`` with the error object as cause;
a service error is ``<Service>.<Code>``, ending in ``Exception`` as Step Functions writes it
(``DynamoDB.ConditionalCheckFailedException``, ``S3.NoSuchKeyException``).

The calls go through a *transport*, ``async (service, operation, params) -> response``
(botocore names: ``"dynamodb"``, ``"PutItem"``), always injected: hybrid runs pass
aiobotocore's from :mod:`flowengine.aws` (the only package that imports AWS libraries; this
one never imports it), tests a plain function.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from flowengine.model.failure import StatesFailure
from flowengine.integrations._shapes import (
    BOTOCORE_SERVICE,
    OPTIMIZED,
    SDK_PREFIX,
    plain,
    serialize_optimized,
    with_metadata,
)
from flowengine.engine.tasks import TaskRequest, TaskTarget, service_target

Transport = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


class ServiceError(Exception):
    """A call AWS refused: its error code and message (what a transport raises)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# Step Functions' names and shapes, shared with the in-process emulation (services.py).
_OPTIMIZED = OPTIMIZED
_SDK_PREFIX = SDK_PREFIX
_BOTOCORE_SERVICE = BOTOCORE_SERVICE
_LAMBDA_ARN = re.compile(r"^arn:[\w-]+:lambda:[\w-]+:\d+:function:[\w-]+(:[\w$-]+)?$")


class AwsIntegration:
    """The TaskIntegration that calls AWS; see the module docstring.

    ``transport`` carries the calls (``await transport(service, operation, params)``): the
    runtime's hybrid runs inject :class:`flowengine.aws._hybrid.AioTransport`, tests a plain
    function.  ``lambdas=False`` leaves Lambda tasks to other integrations (local handlers).
    """

    def __init__(self, *, transport: Transport, lambdas: bool = True) -> None:
        self.lambdas = lambdas
        self.transport = transport

    # -- TaskIntegration -------------------------------------------------------------------

    def describe(self, resource: str) -> TaskTarget | None:
        if _LAMBDA_ARN.match(resource):
            return TaskTarget("lambda", resource, legacy_lambda=True) if self.lambdas else None
        target = service_target(resource)
        if target is None or target.pattern:
            return None
        if target.resource_type == "lambda":
            return target if self.lambdas and target.resource == "invoke" else None
        if (target.resource_type, target.resource) in _OPTIMIZED:
            return target
        if target.resource_type == "aws-sdk" and ":" in resource.split("aws-sdk:", 1)[1]:
            service, _, action = resource.split("aws-sdk:", 1)[1].partition(":")
            return TaskTarget("aws-sdk", f"{service}:{action}") if action and "." not in action else None
        return None

    async def invoke(self, request: TaskRequest) -> Any:
        target = request.target or self.describe(request.resource)
        assert target is not None
        if target.resource_type == "lambda":
            return await self._lambda(request, target)
        if target.resource_type == "aws-sdk":
            service, _, action = target.resource.partition(":")
            operation = action[0].upper() + action[1:]
            prefix = _SDK_PREFIX.get(service, service[:1].upper() + service[1:])
            response = await self._call(_BOTOCORE_SERVICE.get(service, service), operation,
                                        _dict(request.payload), prefix)
            return _plain(response)
        service, operation, prefix = _OPTIMIZED[(target.resource_type, target.resource)]
        params = _serialize(service, _dict(request.payload))
        return _with_metadata(await self._call(service, operation, params, prefix))

    # -- calls ----------------------------------------------------------------------------

    async def _call(self, service: str, operation: str, params: dict[str, Any], prefix: str) -> dict[str, Any]:
        try:
            with _real_work():
                return await self.transport(service, operation, params)
        except ServiceError as exc:
            code = exc.code if exc.code.endswith("Exception") else exc.code + "Exception"
            raise StatesFailure(f"{prefix}.{code}", exc.message) from None

    async def _lambda(self, request: TaskRequest, target: TaskTarget) -> Any:
        name: Any
        if target.legacy_lambda:
            name, payload = request.resource, request.payload
        else:
            params = _dict(request.payload)
            name, payload = params.get("FunctionName"), params.get("Payload", {})
            if not isinstance(name, str):
                raise StatesFailure("States.Runtime", "The lambda:invoke parameters must include a FunctionName string.")
        body = payload if isinstance(payload, str) else json.dumps(payload)
        response = await self._call("lambda", "Invoke", {"FunctionName": name, "Payload": body.encode()}, "Lambda")
        raw = response.get("Payload", b"")
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
        try:
            value: Any = json.loads(text) if text else None
        except ValueError:
            value = text
        if response.get("FunctionError"):
            error = value.get("errorType") if isinstance(value, dict) else None
            raise StatesFailure(error or "Lambda.Unknown", text)
        if target.legacy_lambda:
            return value
        meta = _with_metadata({k: v for k, v in response.items() if k == "ResponseMetadata"})
        return {"ExecutedVersion": response.get("ExecutedVersion", "$LATEST"), "Payload": value,
                "SdkHttpMetadata": meta["SdkHttpMetadata"], "SdkResponseMetadata": meta["SdkResponseMetadata"],
                "StatusCode": response.get("StatusCode", 200)}


@contextlib.contextmanager
def _real_work() -> Iterator[None]:
    """Tell the virtual clock a real network call is in flight: virtual time stands still
    until it returns (else the loop would skip ahead to the client's own timeouts)."""
    loop = asyncio.get_running_loop()
    counted = hasattr(loop, "real_work")
    if counted:
        loop.real_work += 1  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if counted:
            loop.real_work -= 1  # type: ignore[attr-defined]


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


_serialize = serialize_optimized
_with_metadata = with_metadata
_plain = plain

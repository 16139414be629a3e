"""Service integrations against in-process AWS emulation (moto), through boto3 clients.

:class:`LocalServices` takes a ``client_factory(service_name) -> boto3 client`` (botocore
names: ``"dynamodb"``, ``"sqs"``, ``"s3"``, ``"stepfunctions"``).  The app runtime passes
clients bound to moto's in-process backends (``moto.mock_aws``); a test can do the same::

    with mock_aws():
        clients = {}
        factory = lambda name: clients.setdefault(name, boto3.client(name, region_name="us-east-1"))
        engine = Engine(integrations=[LocalServices(factory)])

Which resources it runs, and how (docs/integrations.md has the tables):

* the optimized integrations ``arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem``,
  ``sqs:sendMessage``, ``sns:publish``, ``events:putEvents`` (the last three also with
  ``.waitForTaskToken``): parameters as the API takes them, JSON values stringified where
  the API wants text (``MessageBody``, ``Message``, ``Detail``), results as the API response
  plus ``SdkHttpMetadata``/``SdkResponseMetadata``; errors ``<Service>.<Exception>``
  (``DynamoDB.ConditionalCheckFailedException``, ``SQS.QueueDoesNotExistException``, or
  ``DynamoDB.AmazonDynamoDBException`` for an error the API does not model) with the cause
  ``<message> (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ...; Request ID: ...; Proxy: null)``;
  ``events:putEvents`` adds the state machine and execution ARNs to each entry's Resources
  and fails with ``EventBridge.FailedEntry`` when an entry fails;
* ``arn:aws:states:::aws-sdk:<service>:<action>`` (also ``.waitForTaskToken``) for any
  service the factory can build: the action in camelCase names the operation, parameters
  in PascalCase as Step Functions takes them, the result with the PascalCase keys the AWS
  SDK for Java 2 gives (``executionArn`` → ``ExecutionArn``, ``ETag`` → ``ETag``), blobs and
  streams as text; errors ``<Service>.<Exception>`` (``S3.NoSuchKeyException``,
  ``DynamoDb.ResourceNotFoundException``, ``Sfn.SfnException`` for an unmodelled one) with
  ``<message> (Service: S3, Status Code: 404, Request ID: ...)``;
* ``arn:aws:states:::s3:getObject|listObjectsV2|putObject``: what a Distributed Map's
  ItemReader and ResultWriter call (:mod:`flowengine.engine.itemreader`).

The boto3 calls are synchronous and in-process; they run inline on the engine's loop by
default, where virtual time stands still until they return (``run_sync`` moves them to
an executor, e.g. the clock's ``run_sync``, for a client that really blocks).
Request ids and the ``Date`` header come from the engine's seeded random source and clock
(after :meth:`bind`), so a run's task results are reproducible, apart from ids moto
generates itself (message ids).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from flowengine.model.failure import RUNTIME, StatesFailure
from flowengine.engine.options import new_uuid
from flowengine.integrations._shapes import (
    BOTOCORE_SERVICE,
    OPTIMIZED,
    sdk_cased,
    sdk_prefix,
    serialize_optimized,
    snake,
    with_metadata,
)
from flowengine.engine.tasks import TaskRequest, TaskTarget, service_target

if TYPE_CHECKING:
    from flowengine.runtime.engine import Engine

__all__ = ["ClientFactory", "LocalServices"]

ClientFactory = Callable[[str], Any]
RunSync = Callable[..., Awaitable[Any]]

#: optimized integrations that support ``.waitForTaskToken``
_CALLBACKS = {("sqs", "sendMessage"), ("sns", "publish"), ("events", "putEvents")}
#: what a Distributed Map's ItemReader/ResultWriter call → botocore operation
_S3_MAP_IO = {"getObject": "GetObject", "listObjectsV2": "ListObjectsV2", "putObject": "PutObject"}
#: optimized integrations: the service named in an error's cause, and the exception for an
#: error the API does not model (the AWS SDK for Java's names)
_JAVA_SERVICE = {"DynamoDB": ("AmazonDynamoDBv2", "AmazonDynamoDBException"),
                 "SQS": ("AmazonSQS", "AmazonSQSException"), "SNS": ("AmazonSNS", "AmazonSNSException"),
                 "EventBridge": ("AmazonEventBridge", "AmazonEventBridgeException")}


class LocalServices:
    """The TaskIntegration for AWS services emulated in-process; see the module docstring.

    ``client_factory(service)`` returns a boto3 client (it is asked once per service and
    the client kept).  ``run_sync``: ``async run_sync(fn, *args)`` to run the blocking call
    off the loop; None (default) calls it inline.
    """

    def __init__(self, client_factory: ClientFactory, *, run_sync: RunSync | None = None) -> None:
        self._factory = client_factory
        self._clients: dict[str, Any] = {}
        self._run_sync = run_sync
        self._now: Callable[[], float] | None = None

    def bind(self, engine: "Engine") -> None:
        """Called by the engine that runs this integration: its clock dates the responses."""
        self._now = engine.clock.now

    def client(self, service: str) -> Any:
        """The boto3 client for a botocore service name (created once)."""
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = self._factory(service)
        return client

    # -- TaskIntegration --------------------------------------------------------------------

    def describe(self, resource: str) -> TaskTarget | None:
        target = service_target(resource)
        if target is None:
            return None
        kind, action, pattern = target.resource_type, target.resource, target.pattern
        if (kind, action) in OPTIMIZED:
            if pattern == "" or (pattern == "waitForTaskToken" and (kind, action) in _CALLBACKS):
                return target
            return None
        if kind == "s3" and action in _S3_MAP_IO and not pattern:
            return target
        if kind == "aws-sdk" and pattern in ("", "waitForTaskToken"):
            service, _, api = action.partition(":")
            if service and api and ":" not in api:
                return TaskTarget(f"aws-sdk:{service}", api, pattern=pattern)
        return None

    async def invoke(self, request: TaskRequest) -> Any:
        target = request.target or self.describe(request.resource)
        if target is None:
            raise StatesFailure(RUNTIME, f"LocalServices does not run the resource '{request.resource}'")
        params = dict(request.payload) if isinstance(request.payload, dict) else {}
        kind, action = target.resource_type, target.resource
        if kind.startswith("aws-sdk:"):
            return await self._sdk(request, kind.split(":", 1)[1], action, params)
        if kind == "s3":
            return await self._s3(request, action, params)
        service, operation, prefix = OPTIMIZED[(kind, action)]
        params = serialize_optimized(service, params)
        if service == "events":
            params = _with_resources(params, request)
        response = await self._call(request, service, operation, params, prefix, sdk=False)
        if service == "events" and response.get("FailedEntryCount"):
            raise StatesFailure("EventBridge.FailedEntry",
                                json.dumps(_plain(_strip(response)), separators=(",", ":")))
        return self._metadata(response, request)

    # -- the calls -------------------------------------------------------------------------

    async def _sdk(self, request: TaskRequest, service: str, action: str, params: dict[str, Any]) -> Any:
        prefix = sdk_prefix(service)
        boto_service = BOTOCORE_SERVICE.get(service, service)
        try:
            model = self.client(boto_service).meta.service_model
        except Exception as exc:  # noqa: BLE001 - the factory's own errors (botocore's UnknownServiceError ...)
            raise StatesFailure(RUNTIME, f"The aws-sdk service '{service}' is not available locally: {exc}") from None
        operation = _operation(model, action)
        if operation is None:
            raise StatesFailure(RUNTIME, f"The aws-sdk service '{service}' has no action '{action}'")
        op_model = model.operation_model(operation)
        if op_model.input_shape is not None:
            params = _to_boto(params, op_model.input_shape)
        response = await self._call(request, boto_service, operation, params, prefix, sdk=True)
        if op_model.output_shape is None:
            return {}
        return _from_boto(_strip(response), op_model.output_shape)

    async def _s3(self, request: TaskRequest, action: str, params: dict[str, Any]) -> Any:
        operation = _S3_MAP_IO[action]
        if operation == "PutObject" and "Body" in params and not isinstance(params["Body"], (bytes, bytearray)):
            body = params["Body"]
            params["Body"] = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        response = await self._call(request, "s3", operation, params, "S3", sdk=True)
        return _plain(_strip(response))

    async def _call(self, request: TaskRequest, service: str, operation: str, params: dict[str, Any],
                    prefix: str, *, sdk: bool) -> dict[str, Any]:
        from botocore import xform_name
        from botocore.exceptions import ClientError, ParamValidationError

        method = getattr(self.client(service), xform_name(operation))

        def call() -> dict[str, Any]:
            response = method(**params)
            body = response.get("Body")
            if body is not None and hasattr(body, "read"):
                response["Body"] = body.read()  # a stream: read it where the call ran
            return response

        try:
            if self._run_sync is not None:
                return await self._run_sync(call)
            return call()
        except ClientError as exc:
            raise (_sdk_error(exc, prefix, request) if sdk else _optimized_error(exc, prefix, request)) from None
        except ParamValidationError as exc:
            # the SDK refuses the request before sending it (a missing or unknown parameter)
            raise StatesFailure(f"{prefix}.SdkClientException", " ".join(str(exc).split())) from None

    def _metadata(self, response: dict[str, Any], request: TaskRequest) -> dict[str, Any]:
        """The optimized integrations' result: with the call's request id and date made reproducible."""
        meta = dict(response.get("ResponseMetadata") or {})
        headers = {k: v for k, v in (meta.get("HTTPHeaders") or {}).items()}
        request_id = new_uuid(request.rng)
        for key in list(headers):
            if key.lower() in ("x-amzn-requestid", "x-amz-request-id"):
                headers[key] = request_id
            elif key.lower() == "date" and self._now is not None:
                headers[key] = formatdate(self._now(), usegmt=True)
        meta["HTTPHeaders"] = headers
        meta["RequestId"] = request_id
        return with_metadata({**response, "ResponseMetadata": meta})


# -- errors -------------------------------------------------------------------------------


def _error_parts(exc: Any) -> tuple[str, str, int, str | None]:
    err = exc.response.get("Error") or {}
    meta = exc.response.get("ResponseMetadata") or {}
    return (str(err.get("Code", "")), str(err.get("Message", "")), int(meta.get("HTTPStatusCode", 400)),
            meta.get("HostId"))


def _exception_name(exc: Any, generic: str) -> str:
    """The modelled exception's name (botocore's class for it), else ``generic``."""
    name = type(exc).__name__
    if name == "ClientError":
        return generic
    return name if name.endswith("Exception") else name + "Exception"


def _optimized_error(exc: Any, prefix: str, request: TaskRequest) -> StatesFailure:
    code, message, status, _ = _error_parts(exc)
    service, generic = _JAVA_SERVICE.get(prefix, (f"Amazon{prefix}", f"Amazon{prefix}Exception"))
    cause = (f"{message} (Service: {service}; Status Code: {status}; Error Code: {code}; "
             f"Request ID: {new_uuid(request.rng)}; Proxy: null)")
    return StatesFailure(f"{prefix}.{_exception_name(exc, generic)}", cause)


def _sdk_error(exc: Any, prefix: str, request: TaskRequest) -> StatesFailure:
    _, message, status, host_id = _error_parts(exc)
    details = [f"Service: {prefix}", f"Status Code: {status}", f"Request ID: {new_uuid(request.rng)}"]
    if host_id:
        details.append(f"Extended Request ID: {host_id}")
    return StatesFailure(f"{prefix}.{_exception_name(exc, prefix + 'Exception')}",
                         f"{message} ({', '.join(details)})")


# -- shapes -------------------------------------------------------------------------------


def _operation(model: Any, action: str) -> str | None:
    """The botocore operation an SDK action names (``listObjectsV2`` → ``ListObjectsV2``)."""
    wanted = snake(action)
    for name in model.operation_names:
        if snake(name) == wanted:
            return str(name)
    return None


def _to_boto(value: Any, shape: Any) -> Any:
    """Step Functions' parameters → botocore's: member names matched case-insensitively
    (``StateMachineArn`` → ``stateMachineArn``), JSON values as text where the API takes a
    string, text as bytes where it takes a blob."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = {snake(name): (name, member) for name, member in shape.members.items()}
        out: dict[str, Any] = {}
        for key, item in value.items():
            hit = members.get(snake(key))
            if hit is None:
                out[key] = item  # botocore reports the unknown parameter
            else:
                out[hit[0]] = _to_boto(item, hit[1])
        return out
    if kind == "list" and isinstance(value, list):
        return [_to_boto(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _to_boto(v, shape.value) for k, v in value.items()}
    if kind == "string" and not isinstance(value, str) and value is not None:
        return json.dumps(value, separators=(",", ":"))
    if kind == "blob" and not isinstance(value, (bytes, bytearray)) and value is not None:
        return (value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))).encode("utf-8")
    return value


def _from_boto(value: Any, shape: Any) -> Any:
    """A botocore response → the aws-sdk integration's JSON: structure members renamed as the
    SDK for Java 2 names them (map keys, such as a DynamoDB item's attributes, are kept)."""
    if shape is None:
        return _plain(value)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {sdk_cased(k) if k in members else k: _from_boto(v, members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_from_boto(v, shape.member) for v in value]
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return _instant(value)
    if hasattr(value, "read"):
        return _plain(value.read())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return int(value) if value == int(value) else float(value)
    return value


def _instant(dt: datetime) -> str:
    """A timestamp as the AWS SDK for Java prints an Instant: ``2024-01-01T00:00:00Z``."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond // 1000:03d}"
    return text + "Z"


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _with_resources(params: dict[str, Any], request: TaskRequest) -> dict[str, Any]:
    """events:putEvents: Step Functions adds the state machine and execution ARNs to each
    entry's Resources."""
    entries = params.get("Entries")
    if not isinstance(entries, list):
        return params
    ctx = request.context
    machine = (ctx.get("StateMachine") or {}).get("Id")
    execution = (ctx.get("Execution") or {}).get("Id", request.execution_arn)
    out = []
    for entry in entries:
        if isinstance(entry, dict):
            resources = list(entry.get("Resources") or [])
            resources.extend(r for r in (machine, execution) if r)
            entry = {**entry, "Resources": resources}
        out.append(entry)
    return {**params, "Entries": out}

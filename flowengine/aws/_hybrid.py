"""Hybrid runs: the flow runs locally, its Tasks call the AWS resources of a deployed stack.

:func:`run_hybrid` resolves every ``${X}`` of the app against the stack (the real queue
URL, table name, function ARN ...), then runs the flow on the local engine with
:class:`~flowengine.integrations.aws.AwsIntegration` first in line.  Functions stay local
(their handlers run in-process) unless ``functions="remote"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flowengine.aws._client import Aws
from flowengine.dsl.app import LoadedApp
from flowengine.integrations.aws import AwsIntegration, ServiceError


class AioTransport:
    """The AwsIntegration transport: one aiobotocore client per call (created on the running loop)."""

    def __init__(self, *, region: str | None = None, profile: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.region = region
        self.profile = profile
        self.endpoint_url = endpoint_url
        self._session: Any = None

    async def __call__(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        from aiobotocore.session import AioSession
        from botocore import xform_name
        from botocore.exceptions import BotoCoreError, ClientError

        if self._session is None:
            self._session = AioSession(profile=self.profile)
        async with self._session.create_client(service, region_name=self.region,
                                               endpoint_url=self.endpoint_url) as client:
            try:
                response: dict[str, Any] = await getattr(client, xform_name(operation))(**params)
            except ClientError as exc:
                error = (exc.response or {}).get("Error") or {}
                status = ((exc.response or {}).get("ResponseMetadata") or {}).get("HTTPStatusCode")
                raise ServiceError(str(error.get("Code", "Unknown")), str(error.get("Message", exc)), status) from None
            except (BotoCoreError, AttributeError) as exc:  # bad parameters, unknown operation
                raise ServiceError("Validation", str(exc)) from None
            for key, value in list(response.items()):
                if hasattr(value, "read"):  # streaming bodies: Lambda's Payload, S3's Body
                    response[key] = await value.read()
            return response


def hybrid_substitutions(aws: Aws, loaded: LoadedApp, stack_name: str, *,
                         functions: bool = True) -> dict[str, str]:
    """The values of every ``${X}`` of the app in the deployed stack (what DefinitionSubstitutions
    resolve to on AWS).  ``functions=False`` leaves function placeholders to the local engine."""
    stack = aws.call("cloudformation", "describe_stacks", StackName=stack_name)["Stacks"][0]
    # arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID
    _, partition, _, region, account = stack["StackId"].split(":")[:5]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in
                aws.paginate("cloudformation", "list_stack_resources", "StackResourceSummaries", StackName=stack_name)}
    prefix = f"arn:{partition}"
    out: dict[str, str] = {}
    app = loaded.app
    for name, res in app.resources.items():
        pid = physical.get(name)
        if res.kind == "event_bus":
            pid = f"{stack_name}-{name}"  # compile names buses so (moto reports no physical id for them)
        if not pid:
            continue
        if res.kind == "bucket":
            out[name], out[f"{name}Arn"] = pid, f"{prefix}:s3:::{pid}"
        elif res.kind == "queue":
            out[name], out[f"{name}Arn"] = pid, f"{prefix}:sqs:{region}:{account}:{pid.rstrip('/').rsplit('/', 1)[-1]}"
        elif res.kind == "topic":
            out[name] = out[f"{name}Arn"] = pid
        elif res.kind == "table":
            out[name], out[f"{name}Arn"] = pid, f"{prefix}:dynamodb:{region}:{account}:table/{pid}"
        elif res.kind == "event_bus":
            out[name], out[f"{name}Arn"] = pid, f"{prefix}:events:{region}:{account}:event-bus/{pid}"
    for name in app.flows:
        pid = physical.get(name)
        if pid:
            out[name], out[f"{name}Arn"] = pid.rsplit(":", 1)[-1], pid
    if functions:
        for name in app.functions:
            pid = physical.get(name)
            if pid:
                out[name], out[f"{name}Arn"] = pid, f"{prefix}:lambda:{region}:{account}:function:{pid}"
    return out


def run_hybrid(
    loaded: LoadedApp,
    flow: str,
    stack_name: str,
    input: Any = None,
    *,
    functions: Literal["local", "remote"] = "local",
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    substitutions: Mapping[str, str] | None = None,
    **engine_options: Any,
) -> Any:
    """Run ``flow`` locally against the resources of the deployed stack ``stack_name``.

    Service integrations (DynamoDB, SQS, SNS, EventBridge, AWS SDK calls) go to AWS; Lambda
    tasks run the local handlers, or the deployed functions with ``functions="remote"``.
    ``engine_options`` are the local engine's (``handlers``, ``clock``, ``seed`` ...);
    ``substitutions`` override the values read from the stack.  Returns the ExecutionResult.
    """
    from flowengine.runtime.engine import run

    aws = Aws(region=region, profile=profile, endpoint_url=endpoint_url)
    values = hybrid_substitutions(aws, loaded, stack_name, functions=functions == "remote")
    values.update(substitutions or {})
    integration = AwsIntegration(region=aws.region, profile=profile, endpoint_url=endpoint_url,
                                 lambdas=functions == "remote")
    extra = list(engine_options.pop("integrations", ()))
    return run(loaded, flow=flow, input=input, integrations=[integration, *extra], substitutions=values,
               emulate=False, **engine_options)

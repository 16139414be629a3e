"""The AWS half of hybrid runs (the flow runs locally, its Tasks call a deployed stack).

:class:`AioTransport` carries :class:`~flowengine.integrations.aws.AwsIntegration`'s calls
with aiobotocore; :func:`hybrid_substitutions` reads what every ``${X}`` of the app is in the
stack.  :func:`flowengine.runtime.hybrid.run_hybrid` puts the two together: a hybrid run is
one of the runtime's explicit ways out of the machine, so it lives there.
"""

from __future__ import annotations

from typing import Any

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

"""Hybrid runs: the flow runs locally, its Tasks call the AWS resources of a deployed stack.

This is one of the two explicit ways out of the machine (the other is a remote run,
:func:`flowengine.aws.run_remote`).  :func:`run_hybrid` resolves every ``${X}`` of the app
against the stack (the real queue URL, table name, function ARN ...), then runs the flow on
the bare engine with :class:`~flowengine.integrations.aws.AwsIntegration` first in line and
the offline guard off.  Functions stay local (their handlers run in-process, and may call
the stack too) unless ``functions="remote"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flowengine.dsl.app import LoadedApp, load_source
from flowengine.engine.result import ExecutionResult
from flowengine.integrations.aws import AwsIntegration
from flowengine.runtime.engine import Engine

__all__ = ["Hybrid", "run_hybrid"]


@dataclass(frozen=True)
class Hybrid:
    """Where a hybrid run's Tasks go: ``flowengine.run(app, aws=Hybrid("orders-dev"))``.

    ``stack_name``: the deployed stack (``flowengine deploy``); ``functions``: ``"local"``
    (default) runs the handlers here, ``"remote"`` invokes the deployed functions;
    ``region``/``profile``/``endpoint_url``: as for the AWS CLI.
    """

    stack_name: str
    functions: Literal["local", "remote"] = "local"
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


def run_hybrid(loaded: Any, flow: str | None, stack_name: str, input: Any = None, *,
               functions: Literal["local", "remote"] = "local", region: str | None = None,
               profile: str | None = None, endpoint_url: str | None = None,
               substitutions: Mapping[str, str] | None = None, name: str | None = None,
               **engine_options: Any) -> ExecutionResult:
    """Run ``flow`` locally against the resources of the deployed stack ``stack_name``.

    Service integrations (DynamoDB, SQS, SNS, EventBridge, AWS SDK calls) go to AWS; Lambda
    tasks run the local handlers, or the deployed functions with ``functions="remote"``.
    ``engine_options`` are the local engine's (``handlers``, ``clock``, ``seed`` ...);
    ``substitutions`` override the values read from the stack.  Returns the ExecutionResult.
    """
    from flowengine.aws._client import Aws
    from flowengine.aws._hybrid import AioTransport, hybrid_substitutions

    loaded = load_source(loaded)
    if not isinstance(loaded, LoadedApp):
        raise TypeError("a hybrid run takes an app file path or a LoadedApp")
    aws = Aws(region=region, profile=profile, endpoint_url=endpoint_url)
    values = hybrid_substitutions(aws, loaded, stack_name, functions=functions == "remote")
    values.update(substitutions or {})
    transport = AioTransport(region=aws.region, profile=profile, endpoint_url=endpoint_url)
    integration = AwsIntegration(transport=transport, lambdas=functions == "remote")
    extra = list(engine_options.pop("integrations", ()))
    with Engine(integrations=[integration, *extra], substitutions=values, offline=False, **engine_options) as engine:
        return engine.run(loaded, input, flow=flow, name=name)

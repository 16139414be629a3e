"""Deploy a compiled app to AWS and run its flows there.

This package is the only one that talks to AWS, and it imports boto3 only when a function
is called, so ``import flowengine`` stays fast and works without AWS libraries configured::

    from flowengine.aws import deploy, run_remote
    result = deploy(loaded, "orders-dev", region="eu-west-1")
    execution = run_remote(loaded, "PlaceOrder", "orders-dev", {"orderId": "o-1"})

Errors are :class:`~flowengine.errors.AwsError` with a one-line message (missing
credentials or region, a refused call) or :class:`DeployError` (a failed deployment,
naming the resource and CloudFormation's reason).  Hybrid runs (a local flow whose Tasks
call the deployed stack) are :func:`flowengine.runtime.hybrid.run_hybrid`, or
``flowengine.run(..., aws=Hybrid("orders-dev"))``.
"""

from __future__ import annotations

from flowengine.aws._deploy import DeployError, DeployResult, deploy
from flowengine.aws._remote import run_remote

__all__ = ["DeployError", "DeployResult", "deploy", "run_remote"]

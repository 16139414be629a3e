"""Deploying into moto's server: the rewrites moto needs, applied only when asked for.

``deploy(..., moto_compat=True)`` exists for integration tests against a moto server on
127.0.0.1 (research/sam.md §3).  It never happens by default: every rewrite here changes
what is deployed, and only moto needs it.

Template rewrites (on the transformed CloudFormation, not on the SAM template):

1. ``DefinitionString`` (SAM's ``Fn::Join``) + ``DefinitionSubstitutions`` →
   ``DefinitionString: {Fn::Sub: [text, substitutions]}``.  Same meaning on CloudFormation;
   moto ignores DefinitionSubstitutions but resolves Fn::Sub.
2. ``Ref`` to an ``AWS::Lambda::Alias`` → ``Fn::GetAtt <function>.Arn``: moto has no Lambda
   alias model, and a Lambda permission on an alias crashes it (HTTP 500).
3. ``Ref`` to an ``AWS::StepFunctions::StateMachineVersion``/``Alias`` → the state machine.
4. ``AWS::ApiGateway::RestApi`` gets the ``Name`` moto requires; its ``Deployment`` and
   ``Stage`` are dropped (moto ignores the OpenAPI body, so the deployment would fail with
   "The REST API doesn't contain any methods").
5. ``"ToleratedFailurePercentage": 5`` → ``5.0`` in definitions: moto's ASL parser takes
   that field only as a decimal number (the same JSON value).
6. An ``AWS::Events::Rule``'s ``EventBusName: {Ref: Bus}`` → ``{Fn::GetAtt: [Bus, Name]}``
   (the same value): moto resolves that Ref to its internal object and fails (HTTP 500).

Resource types moto's CloudFormation skips (it warns and creates nothing): Lambda aliases,
CodeDeploy applications and deployment groups, EventBridge Scheduler schedules, SNS
subscriptions, CloudWatch alarms, EventBridge Pipes, ApiGatewayV2.

After the stack is up, :func:`register_state_machines` copies each state machine from moto's
mock Step Functions backend (where CloudFormation writes) into its executing backend (the
"parser" backend that ``execute_state_machine`` switches the API to), so that executions
really run the ASL.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import Any

from flowengine.compile.transform import definition_text

_TOLERATED_INT = re.compile(r'("ToleratedFailurePercentage"\s*:\s*)(\d+)(?![\d.eE])')
_DROPPED_TYPES = frozenset({"AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"})


def adapt_template(cfn: dict[str, Any]) -> dict[str, Any]:
    """A copy of transformed CloudFormation that moto's CloudFormation can create."""
    out = copy.deepcopy(cfn)
    resources: dict[str, Any] = out["Resources"]
    targets: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for lid, res in resources.items():
        props = res.get("Properties") or {}
        if res["Type"] == "AWS::Lambda::Alias" and isinstance(props.get("FunctionName"), dict) \
                and "Ref" in props["FunctionName"]:
            targets[lid] = {"Fn::GetAtt": [props["FunctionName"]["Ref"], "Arn"]}
        elif res["Type"] == "AWS::StepFunctions::StateMachineVersion":
            versions[lid] = props.get("StateMachineArn")
    for lid, res in resources.items():
        if res["Type"] == "AWS::StepFunctions::StateMachineAlias":
            props = res.get("Properties") or {}
            version = (props.get("DeploymentPreference") or {}).get("StateMachineVersionArn") \
                or ((props.get("RoutingConfiguration") or [{}])[0]).get("StateMachineVersionArn")
            if isinstance(version, dict) and version.get("Ref") in versions:
                targets[lid] = versions[version["Ref"]]
    targets.update(versions)
    dropped = {lid for lid, res in resources.items() if res["Type"] in _DROPPED_TYPES}
    for lid in dropped:
        del resources[lid]
    targets.update({lid: f"dropped-by-moto-compat-{lid}" for lid in dropped})
    out["Resources"] = {lid: (res if lid in targets else _replace_refs(res, targets)) for lid, res in resources.items()}
    if "Outputs" in out:
        out["Outputs"] = _replace_refs(out["Outputs"], targets)
    for res in out["Resources"].values():
        if "DependsOn" in res:
            deps = [d for d in (res["DependsOn"] if isinstance(res["DependsOn"], list) else [res["DependsOn"]])
                    if d not in dropped]
            if deps:
                res["DependsOn"] = deps
            else:
                del res["DependsOn"]
        props = res.get("Properties") or {}
        bus = props.get("EventBusName")
        if res["Type"] == "AWS::Events::Rule" and isinstance(bus, dict) and set(bus) == {"Ref"} \
                and (resources.get(bus["Ref"]) or {}).get("Type") == "AWS::Events::EventBus":
            props["EventBusName"] = {"Fn::GetAtt": [bus["Ref"], "Name"]}
        if res["Type"] == "AWS::ApiGateway::RestApi" and "Name" not in props:
            props["Name"] = ((props.get("Body") or {}).get("info") or {}).get("title", "api")
        if res["Type"] == "AWS::StepFunctions::StateMachine":
            substitutions = props.pop("DefinitionSubstitutions", None)
            text = definition_text(props.get("DefinitionString"))
            if "Definition" in props:
                text = json.dumps(props.pop("Definition"))
            if text is not None:
                text = _TOLERATED_INT.sub(r"\1\2.0", text)
                props["DefinitionString"] = {"Fn::Sub": [text, substitutions]} if substitutions else text
    return out


def _replace_refs(node: Any, targets: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in targets:
            return copy.deepcopy(targets[node["Ref"]])
        return {k: _replace_refs(v, targets) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_refs(v, targets) for v in node]
    return node


def set_config(endpoint_url: str, config: dict[str, Any]) -> None:
    """POST moto's ``/moto-api/config`` (e.g. ``{"stepfunctions": {"execute_state_machine": True}}``)."""
    request = urllib.request.Request(f"{endpoint_url.rstrip('/')}/moto-api/config", method="POST",
                                     data=json.dumps(config).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a loopback test server
        response.read()


def register_state_machines(endpoint_url: str, stepfunctions: Any, arns: list[str]) -> None:
    """Copy CloudFormation-made state machines into moto's executing backend (same names, so
    the ARNs stay the same).  Leaves ``execute_state_machine`` on."""
    set_config(endpoint_url, {"stepfunctions": {"execute_state_machine": False}})
    try:
        machines = [stepfunctions.describe_state_machine(stateMachineArn=arn) for arn in arns]
    finally:
        set_config(endpoint_url, {"stepfunctions": {"execute_state_machine": True}})
    existing = {m["stateMachineArn"] for m in stepfunctions.list_state_machines()["stateMachines"]}
    for m in machines:
        if m["stateMachineArn"] in existing:
            stepfunctions.update_state_machine(stateMachineArn=m["stateMachineArn"], definition=m["definition"],
                                               roleArn=m["roleArn"])
        else:
            stepfunctions.create_state_machine(name=m["name"], definition=m["definition"], roleArn=m["roleArn"],
                                               type=m.get("type", "STANDARD"))

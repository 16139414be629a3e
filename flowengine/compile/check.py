"""Offline checks of a SAM template: would it transform, and would CloudFormation take it?

No single tool is enough (research/sam.md §2.4): cfn-lint ≥ 1.54 no longer runs the SAM
transform, the transform lets deploy-time failures through, and cfn-lint's ASL rule never
sees SAM's output.  :func:`check_template` runs, in order:

1. ``sem``  checks neither tool makes: CodeDeploy configuration names, SQS visibility
   timeout against the consumer's timeout, EXPRESS workflows using ``.sync`` /
   ``.waitForTaskToken`` / activities, traffic hooks the CodeDeploy role may not invoke,
   ``*`` actions in inline policies;
2. ``sam``  the SAM transform itself (aws-sam-translator, offline);
3. ``asl``  each transformed state machine: valid JSON, at most 1 MiB, every ``${X}`` has a
   substitution, every transition lands on a state;
4. ``lint`` cfn-lint on the transformed template with the definitions re-inflated, so that
   E3601 (ASL), E3004 (circular dependencies), E1020 (undefined Refs) and the resource
   schemas all run.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from flowengine.compile.transform import TransformError, definition_text, reinflated, sam_transform, with_code_uris
from flowengine.errors import FlowengineError

LAMBDA_DEPLOYMENT_TYPES = frozenset({
    "AllAtOnce", "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes",
    "Canary10Percent30Minutes", "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes", "Linear10PercentEvery10Minutes",
})
_STANDARD_ONLY = (".sync", ".sync:2", ".waitForTaskToken")
MAX_DEFINITION_BYTES = 1024 * 1024


def check_template(template: dict[str, Any], *, region: str = "us-east-1") -> list[str]:
    """Problems with a SAM template, one line each (``[stage] ...``); ``[]`` when it is deployable
    as far as can be told offline.  Needs aws-sam-translator and cfn-lint (the ``test`` extra)."""
    problems = [f"[sem] {p}" for p in semantic_problems(template)]
    try:
        cfn = sam_transform(with_code_uris(template), region)
    except TransformError as exc:
        return problems + [f"[sam] {m}" for m in exc.messages]
    problems += [f"[asl] {p}" for p in asl_problems(cfn)]
    problems += [f"[lint] {p}" for p in lint_problems(reinflated(cfn), region)]
    return problems


# --- 1. semantics --------------------------------------------------------------------------------


def _derived_policies(resource: dict[str, Any], policies: Any) -> list[Any]:
    """A resource's policies without the ones its flow declared (``Metadata.flowengine.declared_policies``)."""
    if not isinstance(policies, list):
        return []
    meta = resource.get("Metadata")
    mine = meta.get("flowengine") if isinstance(meta, dict) else None
    declared = mine.get("declared_policies") if isinstance(mine, dict) else None
    if isinstance(declared, int) and 0 < declared <= len(policies):
        return policies[: len(policies) - declared]
    return policies


def semantic_problems(sam: dict[str, Any]) -> list[str]:
    out: list[str] = []
    resources = sam.get("Resources") or {}
    for lid, res in resources.items():
        props = (res or {}).get("Properties") or {}
        kind = (res or {}).get("Type")
        if kind == "AWS::Serverless::Function":
            pref = props.get("DeploymentPreference")
            if isinstance(pref, dict) and pref.get("Enabled", True) is not False:
                typ = pref.get("Type")
                if isinstance(typ, str) and typ not in LAMBDA_DEPLOYMENT_TYPES:
                    out.append(f"{lid}: DeploymentPreference.Type {typ!r} is not a CodeDeployDefault.Lambda configuration")
                for hook in ("PreTraffic", "PostTraffic"):
                    target = ((pref.get("Hooks") or {}).get(hook) or {})
                    hook_id = target.get("Ref") if isinstance(target, dict) else None
                    if hook_id in resources and "Role" not in pref:
                        name = ((resources[hook_id].get("Properties") or {}).get("FunctionName"))
                        text = name if isinstance(name, str) else (name or {}).get("Fn::Sub") if isinstance(name, dict) else None
                        if not (isinstance(text, str) and text.startswith("CodeDeployHook_")):
                            out.append(f"{lid}: hook {hook_id} must be named CodeDeployHook_*: the CodeDeploy role "
                                       "SAM makes (AWSCodeDeployRoleForLambda) may invoke no other function")
            timeout = props.get("Timeout", 3)
            for ename, event in (props.get("Events") or {}).items():
                if not isinstance(event, dict) or event.get("Type") != "SQS":
                    continue
                queue = (event.get("Properties") or {}).get("Queue")
                qid = queue.get("Fn::GetAtt", [None])[0] if isinstance(queue, dict) else None
                if qid in resources and isinstance(timeout, int):
                    vt = ((resources[qid].get("Properties") or {}).get("VisibilityTimeout", 30))
                    if isinstance(vt, int) and vt < timeout:
                        out.append(f"{lid}/{ename}: queue {qid} VisibilityTimeout {vt}s < function Timeout {timeout}s "
                                   "(Lambda refuses the event source mapping)")
        elif kind == "AWS::Serverless::StateMachine" and props.get("Type") == "EXPRESS":
            for resource in _task_resources(props.get("Definition")):
                if resource.endswith(_STANDARD_ONLY) or ":activity:" in resource:
                    out.append(f"{lid}: EXPRESS workflows do not support {resource!r}")
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            # least privilege holds for what compile derives; a flow's declared policies (the last
            # ones, counted in its Metadata) are its author's
            for policy in _derived_policies(res or {}, props.get("Policies") or []):
                for st in (policy.get("Statement") or []) if isinstance(policy, dict) else []:
                    actions = st.get("Action") if isinstance(st, dict) else None
                    actions = [actions] if isinstance(actions, str) else actions or []
                    if any(a == "*" or (isinstance(a, str) and a.endswith(":*")) for a in actions):
                        out.append(f"{lid}: a policy statement allows every action ({actions})")
    return out


def _task_resources(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("Type") == "Task" and isinstance(node.get("Resource"), str):
            found.append(node["Resource"])
        for v in node.values():
            found += _task_resources(v)
    elif isinstance(node, list):
        for v in node:
            found += _task_resources(v)
    return found


# --- 3. ASL of the transformed template ----------------------------------------------------------


def asl_problems(cfn: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for lid, res in (cfn.get("Resources") or {}).items():
        if res.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        props = res.get("Properties") or {}
        subs = props.get("DefinitionSubstitutions") or {}
        text = json.dumps(props["Definition"]) if "Definition" in props else definition_text(props.get("DefinitionString"))
        if text is None:
            if "DefinitionS3Location" not in props:
                out.append(f"{lid}: no definition")
            continue
        missing = sorted({p for p in re.findall(r"\$\{([^}]+)\}", text) if p not in subs})
        if missing:
            out.append(f"{lid}: placeholders without a DefinitionSubstitution: {', '.join(missing)}")
        for key in subs:
            text = text.replace("${" + key + "}", "substituted")
        if len(text.encode()) > MAX_DEFINITION_BYTES:
            out.append(f"{lid}: the definition is over Step Functions' 1 MiB limit")
        try:
            definition = json.loads(text)
        except ValueError as exc:
            out.append(f"{lid}: the definition is not JSON ({exc})")
            continue
        _graph(definition, lid, out)
    return out


def _graph(machine: Any, where: str, out: list[str]) -> None:
    states = machine.get("States") if isinstance(machine, dict) else None
    if not isinstance(states, dict) or not states:
        out.append(f"{where}: no States")
        return
    if machine.get("StartAt") not in states:
        out.append(f"{where}: StartAt {machine.get('StartAt')!r} is not a state")
    for name, st in states.items():
        if not isinstance(st, dict):
            continue
        targets = [st.get("Next"), st.get("Default")]
        targets += [c.get("Next") for c in st.get("Choices") or [] if isinstance(c, dict)]
        targets += [c.get("Next") for c in st.get("Catch") or [] if isinstance(c, dict)]
        for t in targets:
            if t is not None and t not in states:
                out.append(f"{where}/{name}: transition to unknown state {t!r}")
        if st.get("Type") not in ("Choice", "Succeed", "Fail") and not st.get("End") and not st.get("Next"):
            out.append(f"{where}/{name}: needs Next or End")
        for i, branch in enumerate(st.get("Branches") or []):
            _graph(branch, f"{where}/{name}/{i}", out)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(st.get(key), dict):
                _graph(st[key], f"{where}/{name}", out)


# --- 4. cfn-lint -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _linter(region: str) -> Any:
    """A cfn-lint runner with its rules loaded once (loading them is half of a lint's time)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=[region]))


def lint_problems(cfn: dict[str, Any], region: str = "us-east-1") -> list[str]:
    """cfn-lint errors and warnings on a CloudFormation template (not a SAM one)."""
    try:
        from cfnlint.decode.decode import decode_str
    except ImportError:
        raise FlowengineError("checking a template needs cfn-lint: pip install 'flowengine[check]' "
                              "(or pip install cfn-lint)") from None

    # non-ASCII text stays text: cfn-lint reads JSON with a YAML parser, which refuses the
    # surrogate-pair escapes json.dumps writes for characters outside the BMP (an emoji)
    template, errors = decode_str(json.dumps(cfn, ensure_ascii=False))
    matches = errors if errors or template is None else _linter(region).validate_template(template)
    out = []
    for m in matches:
        if _contradicts_aws(m, cfn):
            continue
        path = getattr(m, "path", None)
        where = "/".join(str(p) for p in path) if path else f"line {m.linenumber}"
        out.append(f"{m.rule.id} {where}: {m.message}")
    return sorted(set(out))


def _contradicts_aws(match: Any, cfn: dict[str, Any]) -> bool:
    """A cfn-lint finding that AWS's own documentation contradicts (docs/compile.md lists them).

    * E3601 on a Parallel state's ``Parameters``: cfn-lint's ASL schema leaves the field out,
      but Step Functions takes it ("Parameters (Optional, JSONPath only): used to pass
      information to the state machines defined in the Branches array", the Parallel state's
      page of the Step Functions developer guide), and AWS's own samples use it.
    """
    path = list(getattr(match, "path", None) or [])
    if match.rule.id != "E3601" or not path or path[-1] != "Parameters" or \
            "'Parameters' was unexpected" not in str(match.message):
        return False
    node: Any = cfn
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, dict) and node.get("Type") == "Parallel"

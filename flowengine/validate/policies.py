"""A flow's ``policies:``: the permissions its author declares on top of what compile derives.

A flow takes what SAM's ``Policies`` property of ``AWS::Serverless::StateMachine`` takes
(docs/app-file.md): an AWS managed policy's name or any policy's ARN (a string), a SAM policy
template (``{S3ReadPolicy: {BucketName: ${Uploads}}}``), an IAM policy document
(``{Statement: [...]}``), or a list of these.  Strings may use the app's placeholders
(``${X}``, ``${XArn}``) and the pseudo parameters (``${AWS::Region}`` ...); an app file has no
intrinsic functions.

The names of SAM's policy templates and of the AWS managed policies SAM can turn into ARNs
come from aws-sam-translator's own data, read only when a flow declares policies.

Codes, as for the rest of an app file: FE601 unknown field, FE602 missing field, FE603
wrong type, FE604 value not allowed (an unknown policy template; a managed policy name SAM
does not know is a warning), FE611 ``${X}`` names nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from flowengine.dsl.app import SUBSTITUTION
from flowengine.dsl.source import Pointer
from flowengine.validate._common import Reporter, describe, did_you_mean, shorten

#: The pseudo parameters a policy string may name; compile leaves them to ``Fn::Sub``.
PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName",
                     "AWS::URLSuffix")
DOCUMENT_KEYS = ("Version", "Id", "Statement")
STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")
_HINT = ("a policy is a managed policy name or ARN, {TemplateName: {Parameter: value}} (a SAM policy "
         "template) or {Statement: [...]} (a policy document)")


@functools.cache
def policy_templates() -> dict[str, tuple[str, ...]]:
    """SAM's policy templates and the parameters each takes (empty when aws-sam-translator's
    data cannot be read: the names are then not checked)."""
    try:
        from importlib.resources import files

        text = files("samtranslator.policy_templates_data").joinpath("policy_templates.json").read_text("utf-8")
        templates = json.loads(text)["Templates"]
        return {name: tuple((t.get("Parameters") or {})) for name, t in templates.items()}
    except Exception:  # noqa: BLE001 - an optional check: no data, no check
        return {}


@functools.cache
def managed_policy_names() -> frozenset[str]:
    """The AWS managed policies SAM turns from a name into an ARN by itself (empty when
    aws-sam-translator's data cannot be read)."""
    try:
        from importlib.resources import files

        text = files("samtranslator.internal.data").joinpath("aws_managed_policies.json").read_text("utf-8")
        return frozenset(json.loads(text).get("aws") or {})
    except Exception:  # noqa: BLE001 - an optional check: no data, no check
        return frozenset()


def check_policies(rep: Reporter, ptr: Pointer, value: Any, names: Mapping[str, str]) -> None:
    """Report every problem of a flow's ``policies:`` (at ``ptr``).  ``names`` are the
    placeholders the app defines (``X`` and ``XArn`` of its functions, resources and flows)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _policy(rep, ptr + (i,), item, names)
    elif isinstance(value, (str, dict)):
        _policy(rep, ptr, value, names)
    else:
        rep.report("FE603", f"policies must be a policy or a list of policies, not {describe(value)}", ptr, hint=_HINT)


def _policy(rep: Reporter, ptr: Pointer, value: Any, names: Mapping[str, str]) -> None:
    if isinstance(value, str):
        _managed(rep, ptr, value, names)
    elif isinstance(value, dict) and ("Statement" in value or "Version" in value):
        _document(rep, ptr, value, names)
    elif isinstance(value, dict) and len(value) == 1:
        _template(rep, ptr, value, names)
    elif isinstance(value, dict):
        rep.report("FE604", f"a policy with the keys {', '.join(map(str, value))} is neither a policy template "
                   "nor a policy document", ptr, hint=_HINT)
    else:
        rep.report("FE603", f"a policy must be a string or a mapping, not {describe(value)}", ptr, hint=_HINT)


def _managed(rep: Reporter, ptr: Pointer, value: str, names: Mapping[str, str]) -> None:
    if not value.strip():
        rep.report("FE604", "a managed policy name is empty", ptr, hint=_HINT)
        return
    _placeholders(rep, ptr, value, names)
    if value.startswith("arn:") or "${" in value:
        return
    known = managed_policy_names()
    if known and value not in known:
        rep.report("FE604", f"'{shorten(value)}' is no AWS managed policy that SAM knows by name", ptr,
                   severity="warning",
                   hint=did_you_mean(value, known)
                   or "write the policy's ARN (arn:${AWS::Partition}:iam::...:policy/...)")


def _template(rep: Reporter, ptr: Pointer, value: dict[str, Any], names: Mapping[str, str]) -> None:
    (name, params), = value.items()
    templates = policy_templates()
    tptr = ptr + (name,)
    if name == "Ref" or name.startswith("Fn::"):
        rep.report("FE603", f"a policy must be a string or a mapping, not the intrinsic function {name}", tptr,
                   key=True, hint="an app file has no intrinsic functions: write the ARN, with ${X}, ${XArn} or "
                   "${AWS::Region} where it names a thing of the app or a pseudo parameter")
        return
    if templates and name not in templates:
        rep.report("FE604", f"'{shorten(name)}' is not a SAM policy template", tptr, key=True,
                   hint=did_you_mean(name, templates) or "see SAM's policy template list, or write a policy document "
                   "({Statement: [...]})")
        return
    if params is None:
        params = {}
    if not isinstance(params, dict):
        rep.report("FE603", f"the parameters of {name} must be a mapping, not {describe(params)}", tptr,
                   hint="write {} for a template without parameters")
        return
    wanted = templates.get(name)
    if wanted is None:
        return
    for key, v in params.items():
        if key not in wanted:
            hint = did_you_mean(key, wanted) or (
                "it takes: " + ", ".join(wanted) if wanted else "it takes none: write {}")
            rep.report("FE601", f"unknown parameter '{shorten(key)}' of {name}", tptr + (key,), key=True, hint=hint)
        elif isinstance(v, str):
            _placeholders(rep, tptr + (key,), v, names)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            rep.report("FE603", f"{name} {key} must be a string, not {describe(v)}", tptr + (key,),
                       hint="an app file has no intrinsic functions: write ${X} or ${XArn} for a thing of the app")
    for key in wanted:
        if key not in params:
            rep.report("FE602", f"{name} needs the parameter {key}", tptr, hint=f"add {key}: ...")


def _document(rep: Reporter, ptr: Pointer, value: dict[str, Any], names: Mapping[str, str]) -> None:
    for key in value:
        if key not in DOCUMENT_KEYS:
            rep.report("FE601", f"unknown field '{shorten(key)}' in a policy document", ptr + (key,), key=True,
                       hint=did_you_mean(key, DOCUMENT_KEYS) or "a policy document has Version and Statement")
    if "Version" in value and value["Version"] not in POLICY_VERSIONS:
        rep.report("FE604", f"policy Version '{shorten(value['Version'])}' is not known", ptr + ("Version",),
                   hint="2012-10-17")
    if "Statement" not in value:
        rep.report("FE602", "the policy document has no Statement", ptr, hint="add Statement: [{Effect: Allow, ...}]")
        return
    statements = value["Statement"]
    if isinstance(statements, dict):
        _statement(rep, ptr + ("Statement",), statements, names)
    elif isinstance(statements, list) and statements:
        for i, st in enumerate(statements):
            _statement(rep, ptr + ("Statement", i), st, names)
    else:
        rep.report("FE603", f"Statement must be a non-empty list of statements, not {describe(statements)}",
                   ptr + ("Statement",), hint="write Statement: [{Effect: Allow, Action: [...], Resource: ...}]")


def _statement(rep: Reporter, ptr: Pointer, st: Any, names: Mapping[str, str]) -> None:
    if not isinstance(st, dict):
        rep.report("FE603", f"a statement must be a mapping, not {describe(st)}", ptr,
                   hint="write {Effect: Allow, Action: [...], Resource: ...}")
        return
    for key in st:
        if key not in STATEMENT_KEYS:
            hint = ("a state machine's policy is attached to its role: it names no Principal"
                    if key in ("Principal", "NotPrincipal") else did_you_mean(key, STATEMENT_KEYS)
                    or "allowed: " + ", ".join(STATEMENT_KEYS))
            rep.report("FE601", f"unknown field '{shorten(key)}' in a policy statement", ptr + (key,), key=True,
                       hint=hint)
    if "Effect" not in st:
        rep.report("FE602", "the statement has no Effect", ptr, hint="add Effect: Allow")
    elif st["Effect"] not in ("Allow", "Deny"):
        rep.report("FE604", f"Effect '{shorten(st['Effect'])}' is not Allow or Deny", ptr + ("Effect",),
                   hint=did_you_mean(str(st["Effect"]), ("Allow", "Deny")) or "Allow or Deny")
    for pair in (("Action", "NotAction"), ("Resource", "NotResource")):
        given = [k for k in pair if k in st]
        if not given:
            rep.report("FE602", f"the statement has no {pair[0]}", ptr, hint=f"add {pair[0]}: ...")
        elif len(given) == 2:
            rep.report("FE604", f"the statement has both {pair[0]} and {pair[1]}", ptr + (pair[1],), key=True,
                       hint="keep one")
        for key in given:
            _strings(rep, ptr + (key,), st[key], key, names)
    if "Condition" in st:
        if isinstance(st["Condition"], dict):
            _walk_strings(rep, ptr + ("Condition",), st["Condition"], names)
        else:
            rep.report("FE603", f"Condition must be a mapping, not {describe(st['Condition'])}", ptr + ("Condition",),
                       hint="write {StringEquals: {key: value}}")
    if "Sid" in st and not isinstance(st["Sid"], str):
        rep.report("FE603", f"Sid must be a string, not {describe(st['Sid'])}", ptr + ("Sid",))


def _strings(rep: Reporter, ptr: Pointer, value: Any, what: str, names: Mapping[str, str]) -> None:
    """An Action or Resource: a string or a non-empty list of strings."""
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        rep.report("FE604", f"{what} is an empty list", ptr, hint=f"name at least one {what.lower()}")
    for i, item in enumerate(items):
        where = ptr + (i,) if isinstance(value, list) else ptr
        if isinstance(item, str):
            _placeholders(rep, where, item, names)
        else:
            rep.report("FE603", f"{what} must be a string or a list of strings, not {describe(item)}", where,
                       hint="an app file has no intrinsic functions: write ${X} or ${XArn} for a thing of the app"
                       if isinstance(item, dict) else None)


def _walk_strings(rep: Reporter, ptr: Pointer, value: Any, names: Mapping[str, str]) -> None:
    if isinstance(value, str):
        _placeholders(rep, ptr, value, names)
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk_strings(rep, ptr + (k,), v, names)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk_strings(rep, ptr + (i,), v, names)


def _placeholders(rep: Reporter, ptr: Pointer, text: str, names: Mapping[str, str]) -> None:
    for m in SUBSTITUTION.finditer(text):
        name = m.group(1)
        if name in names or name in PSEUDO_PARAMETERS:
            continue
        hint = did_you_mean(name, list(names) + list(PSEUDO_PARAMETERS)) or (
            "a policy names ${X} or ${XArn} of a function, resource or flow of the app, or a pseudo parameter "
            "such as ${AWS::Region}; IAM policy variables are written ${!aws:username}")
        rep.report("FE611", f"${{{name}}} names nothing in the app", ptr, hint=hint)

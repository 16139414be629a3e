"""CloudFormation values: intrinsic functions, stack-scoped names, and the YAML they print as.

Intrinsics are plain dicts (``{"Ref": "X"}``), exactly what CloudFormation and the SAM
translator read.  :func:`dump_yaml` prints them in the short form (``!Ref X``,
``!GetAtt X.Arn``, ``!Sub ...``) so a generated template reads like a hand-written one;
``samtranslator.yaml_helper.yaml_parse`` and cfn-lint read both forms back to the same dicts.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import yaml

CFN = Any  # a CloudFormation value: a scalar, a list, a dict, or an intrinsic function

PARTITION_ARN = "arn:${AWS::Partition}"


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Fn::Sub": [text, variables] if variables else text}


def stack_suffix() -> dict[str, Any]:
    """The last 12 hex digits of the stack's id: lowercase, unique per stack, known only at deploy.

    ``AWS::StackId`` is ``arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID``; the UUID's
    last group is what this selects.
    """
    return {"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", ref("AWS::StackId")]}]}]}]}


def bucket_name(app: str, bucket: str) -> dict[str, Any]:
    """The explicit, stack-unique name of an app bucket: ``<app>-<bucket>-<stack suffix>``.

    Buckets are named rather than referenced with ``!Ref`` so that a function that both is
    triggered by a bucket and reads it does not close a dependency cycle (bucket →
    notification → permission → function → role → policy → bucket; research/sam.md §1.3).
    Bucket names are global, lowercase and at most 63 characters; the stack name may hold
    capitals, so it cannot be used, and the suffix keeps two stacks of one app apart.
    """
    limit = 63 - 13
    prefix = _dns_label(f"{app}-{bucket}", 63)
    if len(prefix) > limit:
        # cut to fit, with a digest of the whole so that two long names of one app that
        # share their first 43 characters stay apart (cfn-lint E3019, and S3 would refuse)
        digest = hashlib.sha256(f"{app}-{bucket}".encode()).hexdigest()[:6]
        prefix = prefix[: limit - 7].rstrip("-") + "-" + digest
    return sub(prefix + "-${StackSuffix}", {"StackSuffix": stack_suffix()})


def stack_scoped(name: str) -> dict[str, Any]:
    """``<stack name>-<name>``: names that must be unique per account and region."""
    return sub("${AWS::StackName}-" + name)


def _dns_label(text: str, limit: int) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", _snake(text).replace("_", "-")).strip("-")
    label = re.sub(r"-{2,}", "-", label)
    return label[:limit].rstrip("-") or "bucket"


def _snake(text: str) -> str:
    """``ProcessUpload`` → ``process_upload`` (for names that must be lowercase)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()


def arn_sub(service: str, resource: str, *, regional: bool = True) -> dict[str, Any]:
    """``arn:${AWS::Partition}:SERVICE:${AWS::Region}:${AWS::AccountId}:RESOURCE`` as a Sub."""
    scope = ":${AWS::Region}:${AWS::AccountId}:" if regional else ":::"
    return sub(f"{PARTITION_ARN}:{service}{scope}{resource}")


def with_variables(template: str, variables: dict[str, Any]) -> Any:
    """A ``${X}`` template over CloudFormation values: the value itself when the template is one
    placeholder, else a ``Fn::Sub`` with a variable map."""
    m = re.fullmatch(r"\$\{([^}]+)\}", template)
    if m and m.group(1) in variables:
        return variables[m.group(1)]
    return sub(template, variables)


# --- YAML with CloudFormation's short-form tags ---------------------------------------------

_SHORT = {
    "Ref": "!Ref",
    "Fn::Sub": "!Sub",
    "Fn::Join": "!Join",
    "Fn::Select": "!Select",
    "Fn::Split": "!Split",
    "Fn::If": "!If",
    "Fn::Equals": "!Equals",
    "Fn::ImportValue": "!ImportValue",
    "Fn::FindInMap": "!FindInMap",
    "Fn::Base64": "!Base64",
    "Fn::GetAZs": "!GetAZs",
}


_TAGS = frozenset(_SHORT.values()) | {"!GetAtt"}
#: Intrinsics short enough to read best on one line: ``!Select [4, !Split [-, ...]]``.
_FLOW = frozenset({"Fn::Select", "Fn::Split", "Fn::GetAZs", "Fn::Equals"})


class _Dumper(yaml.SafeDumper):
    """Block style, keys in insertion order, intrinsics in short form."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # indent list items under their key, as CloudFormation examples do
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # PyYAML quotes every explicitly tagged scalar; a tag already fixes the type, so
        # `!Ref Documents` can stay plain whenever plain text is unambiguous
        event = self.event
        if event.tag in _TAGS and not event.style:  # type: ignore[attr-defined]
            if self.analysis is None:  # type: ignore[has-type]
                self.analysis = self.analyze_scalar(event.value)  # type: ignore[attr-defined]
            a = self.analysis
            if not a.empty and not a.multiline and (a.allow_flow_plain if self.flow_level else a.allow_block_plain):
                return ""
        return super().choose_scalar_style()  # type: ignore[no-any-return]


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    if len(data) == 1:
        (key, value), = data.items()
        if key == "Fn::GetAtt" and isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return dumper.represent_scalar("!GetAtt", f"{value[0]}.{value[1]}")
        tag = _SHORT.get(key)
        if tag is not None:
            if isinstance(value, str):
                return dumper.represent_scalar(tag, value)
            if isinstance(value, list):
                return dumper.represent_sequence(tag, value, flow_style=key in _FLOW)
            if isinstance(value, dict):
                return dumper.represent_mapping(tag, value)
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items())


_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(value: Any) -> str:
    """A template as YAML: deterministic (insertion order), no line folding, short-form tags."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)

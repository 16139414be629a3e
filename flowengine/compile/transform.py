"""The SAM transform, run locally and offline (no credentials, no network).

aws-sam-translator turns a SAM template into plain CloudFormation exactly as the
``AWS::Serverless-2016-10-31`` transform does on AWS.  It needs a region but no
credentials: managed policy names resolve from the map the translator bundles, so the IAM
lookup callback is never needed (research/sam.md §2.1).  ``check_template`` and ``deploy``
both go through here.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from flowengine.errors import FlowengineError

#: SAM resource properties that hold local paths until they are packaged.
LOCAL_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class TransformError(FlowengineError):
    """The SAM transform refused the template; ``messages`` has one line per problem."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("; ".join(messages))


def with_code_uris(template: dict[str, Any], uris: dict[str, str] | None = None,
                   placeholder_bucket: str = "flowengine-artifacts") -> dict[str, Any]:
    """A copy of ``template`` whose local ``CodeUri``-style paths are S3 URIs.

    ``uris`` maps logical ids to the real ``s3://`` URIs (deploy); any other local path
    becomes ``s3://<placeholder_bucket>/<LogicalId>.zip``, as ``sam validate`` does.
    """
    out = copy.deepcopy(template)
    for logical_id, res in (out.get("Resources") or {}).items():
        if not isinstance(res, dict):
            continue
        key = LOCAL_URI_PROPERTIES.get(res.get("Type", ""))
        props = res.get("Properties")
        if key is None or not isinstance(props, dict):
            continue
        value = props.get(key)
        if isinstance(value, str) and not value.startswith("s3://"):
            props[key] = (uris or {}).get(logical_id, f"s3://{placeholder_bucket}/{logical_id}.zip")
    return out


def sam_transform(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """SAM → CloudFormation, offline.  Local code paths must already be S3 URIs
    (:func:`with_code_uris`).  Raises :class:`TransformError` with SAM's messages."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # feature-toggle chatter
    # the session only supplies the region (for ARNs and partition); no credentials are used
    session = boto3.session.Session(region_name=region, aws_access_key_id="unused", aws_secret_access_key="unused")
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[], boto_session=session)
    try:
        return translator.translate(sam_template=copy.deepcopy(template), parameter_values={},
                                    get_managed_policy_map=lambda: {})
    except InvalidDocumentException as exc:
        raise TransformError([str(c.message) for c in exc.causes]) from None
    except Exception as exc:  # the translator raises plain exceptions on some malformed input
        raise TransformError([f"{type(exc).__name__}: {exc}"]) from None


def definition_text(definition_string: Any) -> str | None:
    """The JSON text of a transformed ``DefinitionString`` (SAM writes ``Fn::Join`` of lines);
    None when it holds intrinsics other than the Join."""
    if isinstance(definition_string, str):
        return definition_string
    if isinstance(definition_string, dict) and set(definition_string) == {"Fn::Join"}:
        sep, parts = definition_string["Fn::Join"]
        if all(isinstance(p, str) for p in parts):
            return str(sep).join(parts)
    return None


def reinflated(cfn: dict[str, Any]) -> dict[str, Any]:
    """A copy of transformed CloudFormation with each ``DefinitionString`` turned back into
    an object ``Definition``.

    cfn-lint's ASL rule (E3601) only inspects an object ``Definition``, which SAM never
    emits; CloudFormation accepts ``Definition`` + ``DefinitionSubstitutions`` just the same.
    """
    out = copy.deepcopy(cfn)
    for res in (out.get("Resources") or {}).values():
        if not isinstance(res, dict) or res.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        props = res.get("Properties") or {}
        text = definition_text(props.get("DefinitionString"))
        if text is None:
            continue
        try:
            props["Definition"] = json.loads(text)
        except ValueError:
            continue
        del props["DefinitionString"]
    return out

"""``deploy``: compile, package, transform locally, and create or update the stack through a change set.

Steps:

1. compile the app (:func:`flowengine.compile.compile_app`; a ValidationError stops here);
2. zip each function's code directory (deterministically: same files, same bytes) and
   upload it to the artefact bucket, creating the bucket if absent; an unchanged zip is not
   uploaded again;
3. point each ``CodeUri`` at its upload and run the SAM transform locally;
4. create a change set (CREATE for a new stack, UPDATE otherwise) and wait for it;
   ``dry_run`` reports its changes, deletes it and stops;
5. execute it, reporting each new stack event while waiting; a failed stack raises
   :class:`DeployError` naming the resource that failed first and CloudFormation's reason;
6. report the outputs and each flow's state machine ARN.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowengine.aws._client import Aws, error_code
from flowengine.compile import compile_app
from flowengine.compile.sam import CompiledApp
from flowengine.compile.transform import TransformError, sam_transform, with_code_uris
from flowengine.dsl.app import LoadedApp
from flowengine.errors import AwsError, ValidationError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
#: CloudFormation takes a TemplateBody up to this size; larger templates go through S3.
MAX_TEMPLATE_BODY = 51_200
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "no changes")
_SKIP_IN_ZIP = ("__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".venv")

Progress = Callable[[str], None]


class DeployError(AwsError):
    """The deployment failed: a refused change set, or a stack that rolled back."""


@dataclass
class DeployResult:
    """What a deploy did.

    ``status`` is the stack's final status (``CREATE_COMPLETE``, ``UPDATE_COMPLETE``), or
    ``NO_CHANGES`` / ``DRY_RUN``.  ``changes`` lists the change set's resource changes
    (``action``, ``logical_id``, ``type``, ``replacement``).  ``state_machines`` maps each flow
    to its state machine ARN.
    """

    stack_name: str
    status: str
    stack_id: str | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)

    @property
    def executed(self) -> bool:
        return self.status not in ("DRY_RUN", "NO_CHANGES")

    def summary(self) -> str:
        """A few lines for people: the stack's status, its state machines, its outputs."""
        lines = [f"stack {self.stack_name}: {self.status}"
                 + (f" ({len(self.changes)} change(s))" if self.changes else "")]
        lines += [f"  flow {flow}: {arn}" for flow, arn in self.state_machines.items()]
        lines += [f"  {key}: {value}" for key, value in sorted(self.outputs.items())]
        return "\n".join(lines)


def deploy(
    loaded: LoadedApp,
    stack_name: str,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    artifact_bucket: str | None = None,
    progress: Progress | None = print,
    moto_compat: bool = False,
    poll_seconds: float = 2.0,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeployResult:
    """Deploy an app as the CloudFormation stack ``stack_name``; see the module docstring.

    ``progress`` receives one line per step and stack event (default: ``print``; None for
    silence).  ``artifact_bucket`` defaults to ``flowengine-artifacts-<account>-<region>``.
    ``moto_compat`` applies the rewrites a moto server needs (:mod:`flowengine.aws.moto_compat`);
    never use it against AWS.  Raises :class:`~flowengine.errors.ValidationError` when the
    app does not compile, and :class:`~flowengine.errors.AwsError` (:class:`DeployError` for a
    failed deployment) with a one-line message otherwise.
    """
    say = progress or (lambda _line: None)
    compiled = compile_app(loaded)
    for warning in compiled.warnings:
        say(warning.format())
    # compile may write a template whose handler module is missing (for review); shipping it
    # would fail on the first invocation, so for deploy that warning is an error
    missing = [dataclasses.replace(w, severity="error") for w in compiled.warnings if w.code == "FE814"]
    if missing:
        raise ValidationError(missing)
    _check_names(compiled, stack_name)
    aws = Aws(region=region, profile=profile, endpoint_url=endpoint_url, sleep=sleep)
    polls = max(1, int(timeout_seconds / poll_seconds))

    bucket = artifact_bucket or _default_bucket(aws)
    _ensure_bucket(aws, bucket, say)
    uris = _upload_code(aws, compiled, bucket, say)
    try:
        cfn = sam_transform(with_code_uris(compiled.template, uris), aws.region)
    except TransformError as exc:  # compile output always transforms; this is a bug if it happens
        raise DeployError(f"the SAM transform refused the template: {exc}") from None
    if moto_compat:
        from flowengine.aws import moto_compat as moto
        cfn = moto.adapt_template(cfn)
    body = json.dumps(cfn, sort_keys=True)
    template_arg = _template_argument(aws, bucket, compiled, body)

    existing = _describe_stack(aws, stack_name)
    if existing is not None and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        raise DeployError(f"stack {stack_name} is ROLLBACK_COMPLETE (its creation failed) and cannot be updated; "
                          f"delete it first (aws cloudformation delete-stack --stack-name {stack_name})")
    if existing is not None and existing["StackStatus"].endswith("_IN_PROGRESS") \
            and existing["StackStatus"] != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {stack_name} is busy ({existing['StackStatus']}); try again when it settles")
    creating = existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS"
    change_set = "flowengine-" + hashlib.sha256(body.encode()).hexdigest()[:16]
    if existing is not None:
        _delete_change_set(aws, stack_name, change_set)  # left over from an earlier, failed attempt
    say(f"creating change set {change_set} ({'CREATE' if creating else 'UPDATE'}) for stack {stack_name}")
    aws.call("cloudformation", "create_change_set", StackName=stack_name, ChangeSetName=change_set,
             ChangeSetType="CREATE" if creating else "UPDATE", Capabilities=CAPABILITIES,
             Description=f"flowengine deploy of {compiled.app.name}", **template_arg)
    described = _wait_change_set(aws, stack_name, change_set, polls, poll_seconds, sleep)
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        _delete_change_set(aws, stack_name, change_set)
        if any(text in reason for text in _NO_CHANGES):
            say(f"stack {stack_name} is up to date: no changes")
            return _result(aws, compiled, stack_name, "NO_CHANGES", [])
        raise DeployError(f"change set for stack {stack_name} failed: {reason}")
    changes = [_change(c) for c in described.get("Changes", []) if c.get("Type") == "Resource"]
    for c in changes:
        say(f"  {c['action']:<7} {c['type']:<40} {c['logical_id']}"
            + (f" (replacement: {c['replacement']})" if c["replacement"] not in ("", "False") else ""))
    if dry_run:
        _delete_change_set(aws, stack_name, change_set)
        if creating:  # a CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS
            aws.call("cloudformation", "delete_stack", StackName=stack_name)
        say(f"dry run: {len(changes)} change(s) not executed")
        return DeployResult(stack_name=stack_name, status="DRY_RUN", changes=changes)

    aws.call("cloudformation", "execute_change_set", StackName=stack_name, ChangeSetName=change_set)
    status = _wait_stack(aws, stack_name, polls, poll_seconds, sleep, say)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(f"stack {stack_name} {status}: " + _first_failure(aws, stack_name))
    result = _result(aws, compiled, stack_name, status, changes)
    if moto_compat and endpoint_url:
        from flowengine.aws import moto_compat as moto
        moto.register_state_machines(endpoint_url, aws.client("stepfunctions"), list(result.state_machines.values()))
    for key, value in sorted(result.outputs.items()):
        say(f"output {key} = {value}")
    for flow, arn in result.state_machines.items():
        say(f"flow {flow}: {arn}")
    return result


# --- names ------------------------------------------------------------------------------------


def _check_names(compiled: CompiledApp, stack_name: str) -> None:
    """Names the template derives from the stack name must fit AWS's limits."""
    if not _STACK_NAME.match(stack_name):
        raise DeployError(f"'{stack_name}' is not a stack name: letters, digits and hyphens, "
                          "starting with a letter, at most 128 characters")
    for flow in compiled.app.flows:
        if len(stack_name) + 1 + len(flow) > 80:
            raise DeployError(f"state machine name '{stack_name}-{flow}' is longer than 80 characters; "
                              "use a shorter stack name")
    for res in compiled.template["Resources"].values():
        name = (res.get("Properties") or {}).get("FunctionName")
        text = name.get("Fn::Sub") if isinstance(name, dict) else None
        if isinstance(text, str):
            full = text.replace("${AWS::StackName}", stack_name)
            if len(full) > 64:
                raise DeployError(f"function name '{full}' is longer than 64 characters; use a shorter stack name")


# --- packaging --------------------------------------------------------------------------------------


def _default_bucket(aws: Aws) -> str:
    account = aws.call("sts", "get_caller_identity")["Account"]
    return f"flowengine-artifacts-{account}-{aws.region}"


def _ensure_bucket(aws: Aws, bucket: str, say: Progress) -> None:
    import botocore.exceptions

    try:
        aws.client("s3").head_bucket(Bucket=bucket)
        return
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise AwsError(f"artefact bucket {bucket} is not usable: {error_code(exc)} "
                           "(it may belong to another account; pass --artifact-bucket)") from None
    except botocore.exceptions.BotoCoreError:
        pass  # let the create below report it
    say(f"creating artefact bucket {bucket}")
    params: dict[str, Any] = {"Bucket": bucket}
    if aws.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    aws.call("s3", "create_bucket", **params)


def zip_directory(path: str) -> bytes:
    """A deterministic zip of a directory: sorted entries, fixed timestamps, no caches."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_IN_ZIP)
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                full = os.path.join(root, name)
                info = zipfile.ZipInfo(os.path.relpath(full, path).replace(os.sep, "/"), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as fh:
                    z.writestr(info, fh.read())
    return buf.getvalue()


def _upload_code(aws: Aws, compiled: CompiledApp, bucket: str, say: Progress) -> dict[str, str]:
    import botocore.exceptions

    uris: dict[str, str] = {}
    by_dir: dict[str, str] = {}
    for function, directory in compiled.code_dirs.items():
        if directory not in by_dir:
            data = zip_directory(directory)
            key = f"{compiled.app.name}/{hashlib.sha256(data).hexdigest()[:32]}.zip"
            try:
                aws.client("s3").head_object(Bucket=bucket, Key=key)
                say(f"code {directory} unchanged (s3://{bucket}/{key})")
            except botocore.exceptions.ClientError:
                aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=data)
                say(f"uploaded {directory} ({len(data)} bytes) to s3://{bucket}/{key}")
            by_dir[directory] = f"s3://{bucket}/{key}"
        uris[compiled.logical_id(function)] = by_dir[directory]
    return uris


def _template_argument(aws: Aws, bucket: str, compiled: CompiledApp, body: str) -> dict[str, str]:
    if len(body.encode()) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": body}
    key = f"{compiled.app.name}/template-{hashlib.sha256(body.encode()).hexdigest()[:32]}.json"
    aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.{aws.region}.amazonaws.com/{key}"}


# --- CloudFormation -------------------------------------------------------------------------------------


def _describe_stack(aws: Aws, stack_name: str) -> dict[str, Any] | None:
    import botocore.exceptions

    try:
        stacks = aws.guard(aws.client("cloudformation").describe_stacks, "cloudformation.describe_stacks",
                           StackName=stack_name)["Stacks"]
    except AwsError as exc:
        cause = exc.__cause__
        if isinstance(cause, botocore.exceptions.ClientError) and "does not exist" in str(cause):
            return None
        raise
    return stacks[0] if stacks else None


def _delete_change_set(aws: Aws, stack_name: str, change_set: str) -> None:
    try:
        aws.call("cloudformation", "delete_change_set", StackName=stack_name, ChangeSetName=change_set)
    except AwsError:
        pass  # it did not exist


def _wait_change_set(aws: Aws, stack_name: str, change_set: str, polls: int, every: float,
                     sleep: Callable[[float], None]) -> dict[str, Any]:
    for _ in range(polls):
        described = aws.call("cloudformation", "describe_change_set", StackName=stack_name, ChangeSetName=change_set)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            # large change sets are paginated
            token = described.get("NextToken")
            while token:
                page = aws.call("cloudformation", "describe_change_set", StackName=stack_name,
                                ChangeSetName=change_set, NextToken=token)
                described["Changes"] = described.get("Changes", []) + page.get("Changes", [])
                token = page.get("NextToken")
            return described  # type: ignore[no-any-return]
        sleep(every)
    raise DeployError(f"change set {change_set} for stack {stack_name} did not finish in time")


def _change(c: dict[str, Any]) -> dict[str, str]:
    rc = c.get("ResourceChange", {})
    return {"action": str(rc.get("Action", "")), "logical_id": str(rc.get("LogicalResourceId", "")),
            "type": str(rc.get("ResourceType", "")), "replacement": str(rc.get("Replacement", "") or "")}


def _wait_stack(aws: Aws, stack_name: str, polls: int, every: float, sleep: Callable[[float], None],
                say: Progress) -> str:
    seen: set[str] = {e["EventId"] for e in _events(aws, stack_name)}
    for _ in range(polls):
        status = _describe_stack(aws, stack_name)
        fresh = [e for e in _events(aws, stack_name) if e["EventId"] not in seen]
        for e in sorted(fresh, key=lambda e: e["Timestamp"]):
            seen.add(e["EventId"])
            reason = e.get("ResourceStatusReason")
            say(f"{e['Timestamp']:%H:%M:%S}  {e.get('ResourceStatus', ''):<28} {e.get('ResourceType', ''):<40} "
                f"{e.get('LogicalResourceId', '')}" + (f"  {reason}" if reason else ""))
        if status is None:
            return "DELETE_COMPLETE"
        if not status["StackStatus"].endswith("_IN_PROGRESS"):
            return str(status["StackStatus"])
        sleep(every)
    raise DeployError(f"stack {stack_name} did not settle in time; see the CloudFormation console")


def _events(aws: Aws, stack_name: str) -> list[dict[str, Any]]:
    return aws.paginate("cloudformation", "describe_stack_events", "StackEvents", StackName=stack_name)


def _first_failure(aws: Aws, stack_name: str) -> str:
    """The resource that failed first and why (later failures are mostly cancellations)."""
    events = sorted(_events(aws, stack_name), key=lambda e: e["Timestamp"])
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED")
              and e.get("LogicalResourceId") != stack_name]
    meaningful = [e for e in failed if "cancelled" not in str(e.get("ResourceStatusReason", "")).lower()]
    for e in meaningful or failed:
        return (f"{e.get('LogicalResourceId')} ({e.get('ResourceType')}) {e.get('ResourceStatus')}: "
                f"{e.get('ResourceStatusReason', 'no reason given')}")
    return "no resource reported a failure"


def _result(aws: Aws, compiled: CompiledApp, stack_name: str, status: str,
            changes: list[dict[str, str]]) -> DeployResult:
    stack = _describe_stack(aws, stack_name) or {}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}
    resources = {r["LogicalResourceId"]: r for r in
                 aws.paginate("cloudformation", "list_stack_resources", "StackResourceSummaries", StackName=stack_name)}
    machines = {flow: resources[compiled.logical_id(flow)].get("PhysicalResourceId", "")
                for flow in compiled.app.flows if compiled.logical_id(flow) in resources}
    functions = {fn: resources[compiled.logical_id(fn)].get("PhysicalResourceId", "")
                 for fn in compiled.app.functions if compiled.logical_id(fn) in resources}
    return DeployResult(stack_name=stack_name, status=status, stack_id=stack.get("StackId"), changes=changes,
                        outputs=outputs, state_machines=machines, functions=functions)

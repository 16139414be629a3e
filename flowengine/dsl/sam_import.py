"""A SAM or CloudFormation template → an app file: what ``flowengine import`` does.

The way back from :mod:`flowengine.compile`.  Each template resource becomes what the app
file says for it, with the DSL's shorthands (written by :mod:`flowengine.dsl.emit`):

==================================================  =============================================
template                                            app file
==================================================  =============================================
``AWS::Serverless::Function`` (+ ``Globals``)        ``functions:`` handler, runtime, timeout, memory,
                                                    concurrency, environment, rollout, reads/writes
                                                    (from SAM policy templates), code
its ``Events`` (S3, SQS, SNS, Schedule, ScheduleV2,  ``triggers:`` with ``invoke:``
EventBridgeRule, CloudWatchEvent, Api)
``AWS::Serverless::StateMachine``,                  ``flows:`` inline ASL, or ``definition_file:``
``AWS::StepFunctions::StateMachine``                when the file needs no rewriting; type, logging,
                                                    tracing; ``Events`` → ``triggers:`` with ``start:``;
                                                    ``Policies``, or the policies of the template role
                                                    ``Role``/``RoleArn`` names → ``policies:``
``AWS::S3::Bucket``, ``AWS::SQS::Queue``,           ``resources:`` bucket, queue (fifo, visibility
``AWS::SNS::Topic``, ``AWS::DynamoDB::Table``,      timeout, dead letter), topic, table (key),
``AWS::Serverless::SimpleTable``,                   event_bus
``AWS::Events::EventBus``
==================================================  =============================================

References become the DSL's ``${Name}`` references rather than values: ``!Ref Table`` is
``${Table}``, ``!GetAtt Fn.Arn`` is ``${FnArn}``; a ``DefinitionSubstitutions`` entry that
is one such reference renames its placeholder (``${DDBTable}`` → ``${TransactionTable}``),
and one that is a value (a parameter's default, ``!Sub arn:${AWS::Partition}:...``) is
written into the definition.  The patterns compile itself generates (explicit bucket names,
``<stack>-<flow>`` names, S3 → EventBridge rules, EventBridge Pipes, rollout alarms, log
groups, hook names) are recognised, so ``import(compile(app))`` gives back ``app``.

Whatever has no place in an app file is listed once, in :attr:`ImportResult.warnings`
(and in a comment block of the written file); nothing is dropped silently.  Comments of a
YAML template are kept above the key they stood above (or beside).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from flowengine.dsl.asl import build_state_machine
from flowengine.dsl.cfn import NO_VALUE, PSEUDO_PARAMETERS, Intrinsics, load_template_text
from flowengine.dsl.emit import EmitNotes, Pointer, emit_app
from flowengine.dsl.sam import local_name
from flowengine.dsl.source import Source, load_text, read_text, source_from_value
from flowengine.dsl.substitutions import load_definition_text
from flowengine.dsl.streams import STARTING_POSITIONS, STREAM_VIEW_TYPES
from flowengine.errors import LoadError
from flowengine.model.app import RESOURCE_KINDS, App, Flow, Function, Resource, Rollout, Trigger
from flowengine.model.diagnostics import Diagnostic
from flowengine.model.runtimes import LAMBDA_RUNTIMES, is_python, replacement, stage

TRANSFORM = "AWS::Serverless-2016-10-31"
#: Template resource types that become app resources, and their kind.
RESOURCE_TYPES = {
    "AWS::S3::Bucket": "bucket",
    "AWS::SQS::Queue": "queue",
    "AWS::SNS::Topic": "topic",
    "AWS::DynamoDB::Table": "table",
    "AWS::Serverless::SimpleTable": "table",
    "AWS::Events::EventBus": "event_bus",
}
FUNCTION_TYPES = ("AWS::Serverless::Function",)
FLOW_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
#: Template resources that declare a trigger of their own, and the method that reads each.
STANDALONE_TRIGGERS = {"AWS::Events::Rule": "events_rule", "AWS::SNS::Subscription": "sns_subscription",
                       "AWS::Lambda::EventSourceMapping": "event_source_mapping"}
#: CodeDeploy's predefined Lambda configurations → (strategy, percent, minutes).
_DEPLOYMENT_TYPE = re.compile(r"^(?:CodeDeployDefault\.Lambda)?(Canary|Linear)(\d+)Percent(?:Every)?(\d+)Minutes?$")
#: SAM policy templates → (access, the parameter naming the resource).
POLICY_ACCESS = {
    "S3ReadPolicy": ("reads", "BucketName"), "S3CrudPolicy": ("writes", "BucketName"),
    "S3WritePolicy": ("writes", "BucketName"),
    "DynamoDBReadPolicy": ("reads", "TableName"), "DynamoDBCrudPolicy": ("reads+writes", "TableName"),
    "DynamoDBWritePolicy": ("writes", "TableName"),
    "SQSSendMessagePolicy": ("writes", "QueueName"), "SQSPollerPolicy": ("reads", "QueueName"),
    "SNSPublishMessagePolicy": ("writes", "TopicName"),
    "EventBridgePutEventsPolicy": ("writes", "EventBusName"),
}
#: The inline statement compile writes for a function that reads a queue.
QUEUE_READ_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                      "sqs:GetQueueAttributes"]
S3_WORDS = {"s3:ObjectCreated:*": "created", "s3:ObjectRemoved:*": "removed"}
_MARKER = re.compile(r"^\$\{([A-Za-z][A-Za-z0-9]*)\}$")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
_COMPILED_BUCKET = re.compile(r"^([a-z0-9-]+)-\$\{StackSuffix\}$")
_STACK_NAME = re.compile(r"^\$\{AWS::StackName\}-([A-Za-z][A-Za-z0-9]*)$")
_FLOW_ARN = re.compile(r"^arn:\$\{AWS::Partition\}:states:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                       r"stateMachine:\$\{AWS::StackName\}-([A-Za-z][A-Za-z0-9]*)$")
_HOOK_NAME = re.compile(r"^CodeDeployHook_\$\{AWS::StackName\}_([A-Za-z][A-Za-z0-9]*)$")
#: The lines compile writes at the top of a template (dropped: they describe the template).
COMPILE_HEADER_LINES = ("Generated by flowengine from ", "flowengine refuses to overwrite this file")
HEADER = "Imported from {template} by flowengine import."


@dataclass
class ImportResult:
    """An imported template: the app file's text, the app it describes, what could not be
    carried over (one sentence each), and located problems met on the way (intrinsics that
    could not be resolved)."""

    text: str
    app: App
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def is_template(value: Any) -> bool:
    """A SAM or CloudFormation template: the SAM transform, a format version, or ``AWS::`` types."""
    if not isinstance(value, dict):
        return False
    transform = value.get("Transform")
    if transform == TRANSFORM or (isinstance(transform, list) and TRANSFORM in transform):
        return True
    if "AWSTemplateFormatVersion" in value:
        return True
    resources = value.get("Resources")
    return isinstance(resources, dict) and any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::") for r in resources.values())


def load_template_source(path: str) -> tuple[Source, str]:
    """The template at ``path`` as a located :class:`Source` (short tags in long form), and its text."""
    text = read_text(path)
    stripped = text.lstrip()
    if path.endswith(".json") or stripped.startswith("{"):
        return load_text(text, path), text
    return load_template_text(text, path), text


def import_template(path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                    parameters: dict[str, Any] | None = None) -> ImportResult:
    """Import the template at ``path`` as an app file that will be written to ``out_path``
    (paths in it are relative to that file).  Nothing is written here.  ``parameters``
    override the template's parameter defaults (``--parameter-overrides``), and the
    ``parameter_overrides`` of the project's samconfig.toml (:mod:`flowengine.dsl.samconfig`);
    an app file has no parameters, so their values are written in where they are used.

    Raises :class:`~flowengine.errors.LoadError` when the file cannot be read, does not parse,
    or is not a SAM or CloudFormation template.
    """
    path = os.fspath(path)
    source, text = load_template_source(path)
    if not is_template(source.value):
        raise LoadError([Diagnostic(
            "FE109", "not a SAM or CloudFormation template (no Transform, AWSTemplateFormatVersion or AWS:: resources)",
            source.span(()), hint="flowengine import reads a template.yaml; an app file needs no import")])
    out_dir = os.path.dirname(os.path.abspath(os.fspath(out_path)))
    from flowengine.dsl.samconfig import parameter_overrides

    return _Importer(source, text, out_dir, {**parameter_overrides(path), **(parameters or {})}).run()


# --- the importer -----------------------------------------------------------------------------------


class _Importer:
    def __init__(self, source: Source, text: str, out_dir: str, overrides: dict[str, Any]) -> None:
        self.source = source
        self.text = text
        self.doc: dict[str, Any] = source.value
        self.template_dir = os.path.dirname(os.path.abspath(source.path))
        self.out_dir = out_dir
        self.resources: dict[str, Any] = {k: v for k, v in (self.doc.get("Resources") or {}).items()
                                          if isinstance(v, dict)}
        self.generated_by_flowengine = "# Generated by flowengine" in text[:400]
        self.warnings: list[str] = []
        self.diagnostics: list[Diagnostic] = []
        self.kinds: dict[str, str] = {}
        for lid, res in self.resources.items():
            rtype = res.get("Type")
            if rtype in FUNCTION_TYPES:
                self.kinds[lid] = "function"
            elif rtype in FLOW_TYPES:
                self.kinds[lid] = "flow"
            elif rtype in RESOURCE_TYPES:
                self.kinds[lid] = RESOURCE_TYPES[rtype]
        self.absorbed: set[str] = set()  # template resources compile regenerates from the app
        self.rollouts: set[str] = set()  # functions with a rollout (their ${FnArn} is the alias)
        self.code_dirs: dict[str, str] = {}
        self.comments: dict[Pointer, list[str]] = {}
        self.definition_files: dict[str, str] = {}
        self.triggers: list[Trigger] = []
        self.placed: dict[Pointer, Pointer] = {}  # template pointer → app pointer, for comments
        self.globals_fn: dict[str, Any] = {}
        self.context = "asl"  # where the value being resolved goes: "asl" or "env"
        self.where = ""  # what the value belongs to, for warnings ("Fn: environment X: ")
        parameters = self.parameters(overrides)
        self.stack_name = self.app_name()[0]
        # a pseudo parameter has no app-file reference: its local value is written in (noted)
        self.intrinsics = Intrinsics(source, parameters=parameters, pseudo=dict(PSEUDO_PARAMETERS),
                                     mappings=self.doc.get("Mappings") or {},
                                     conditions=self.doc.get("Conditions") or {}, reference=self.reference,
                                     diagnostics=self.diagnostics)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # --- the template's sections ------------------------------------------------------------------

    def parameters(self, overrides: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        params = self.doc.get("Parameters")
        for name, p in (params.items() if isinstance(params, dict) else ()):
            default = overrides.get(name, p.get("Default") if isinstance(p, dict) else None)
            if default is None:
                self.warn(f"Parameters: {name} has no Default; 'param-{name}' stands in for it where it is used "
                          f"(give its value with --parameter-overrides {name}=VALUE)")
                default = f"param-{name}"
            elif isinstance(p, dict) and str(p.get("Type", "")).startswith(("List<", "CommaDelimitedList")):
                default = [x.strip() for x in str(default).split(",")]
            out[name] = default
        if out:
            self.warn(f"Parameters ({', '.join(out)}): an app file has none; their values are written in where they are used")
        return out

    def run(self) -> ImportResult:
        globals_ = self.doc.get("Globals")
        if isinstance(globals_, dict):
            fn = globals_.get("Function")
            self.globals_fn = fn if isinstance(fn, dict) else {}
            others = [k for k in globals_ if k != "Function"]
            if others:
                self.warn(f"Globals ({', '.join(others)}): not carried over")
        if self.doc.get("Conditions"):
            self.warn("Conditions: evaluated with the parameters' defaults; the app keeps the values they chose")
        if self.doc.get("Outputs") and not self.generated_by_flowengine:
            self.warn("Outputs: not carried over (compile writes an output for each function, flow and resource)")
        for lid, res in self.resources.items():
            if self.kinds.get(lid) == "function" and self._prop(res, "AutoPublishAlias") is not None:
                self.rollouts.add(lid)
        resources: dict[str, Resource] = {}
        functions: dict[str, Function] = {}
        flows: dict[str, Flow] = {}
        for lid, res in self.resources.items():
            kind = self.kinds.get(lid)
            if kind == "function":
                fn = self.function(lid, res)
                if fn is not None:
                    functions[lid] = fn
            elif kind == "flow":
                flow = self.flow(lid, res)
                if flow is not None:
                    flows[lid] = flow
            elif kind is not None:
                resources[lid] = self.resource(lid, res, kind)
        for lid, res in self.resources.items():
            rtype = res.get("Type")
            if rtype == "AWS::Pipes::Pipe":
                self.pipe(lid, res)
            elif rtype in STANDALONE_TRIGGERS:
                getattr(self, STANDALONE_TRIGGERS[rtype])(lid, res)
            elif rtype == "AWS::Lambda::Permission" and self.entity(self._prop(res, "FunctionName"), (), ("function",)):
                self.absorbed.add(lid)
                self.warn("AWS::Lambda::Permission resources: compile grants each trigger the permission it needs")
        for lid, res in self.resources.items():
            if lid not in self.kinds and lid not in self.absorbed:
                self.warn(f"{res.get('Type')} {lid}: not modelled in an app file")
        name, description = self.app_name()
        app = App(name=name, functions=functions, resources=resources, flows=flows,
                  triggers=tuple(self.triggers), description=description,
                  code_paths=tuple(dict.fromkeys(self.code_dirs.values())), source_path=self.source.path)
        self.collect_comments()
        notes = EmitNotes(
            header=[HEADER.format(template=_rel(self.source.path, self.out_dir))],
            warnings=self.warnings, comments=self.comments, definition_files=self.definition_files,
            code_dirs=self.code_dirs, defaults=self.defaults())
        text = emit_app(app, self.out_dir, notes)
        return ImportResult(text, app, self.warnings, self.diagnostics)

    def defaults(self) -> dict[str, Any] | None:
        """``defaults:`` from Globals.Function (None: let the emitter find shared settings)."""
        found: dict[str, Any] = {}
        for key, app_key in (("Runtime", "runtime"), ("Timeout", "timeout"), ("MemorySize", "memory")):
            if key in self.globals_fn:
                value = self.value(self.globals_fn[key], ("Globals", "Function", key))
                found[app_key] = _int(value) if app_key != "runtime" else self.runtime(str(value), "", quiet=True)
        return found or None

    def app_name(self) -> tuple[str, str | None]:
        description = self.doc.get("Description")
        description = description.strip() if isinstance(description, str) else None
        m = re.fullmatch(r"flowengine app (\S+)", description or "")
        if m:
            return m.group(1), None
        for lid, res in self.resources.items():
            if self.kinds.get(lid) != "bucket":
                continue
            label = _compiled_bucket_label(self._prop(res, "BucketName"))
            suffix = "-" + _dns(lid)
            if label and label.endswith(suffix) and len(label) > len(suffix):
                return label[: -len(suffix)], description
        base = os.path.basename(self.template_dir) or "app"
        name = re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-") or "app"
        return name, description

    @staticmethod
    def _prop(res: dict[str, Any], key: str) -> Any:
        props = res.get("Properties")
        return props.get(key) if isinstance(props, dict) else None

    # --- values ------------------------------------------------------------------------------------

    def reference(self, name: str, attr: str | None, ptr: Pointer) -> Any:
        """Ref / Fn::GetAtt of a template resource → the DSL reference (``${X}``, ``${XArn}``)."""
        if attr is None and name.endswith((".Alias", ".Version")):
            base, _, what = name.rpartition(".")
            if self.kinds.get(base) == "function":
                if what == "Alias":
                    return "${" + base + "Arn}"
                self.warn(f"{base}.Version: a function version has no app-file reference; its ARN is used")
                return "${" + base + "Arn}"
        if name == "AWS::StackName" and attr is None:
            return self.stack_name
        if name == "AWS::StackId" and attr is None:
            return self.stack_id()
        if name.startswith("AWS::"):
            return None
        kind = self.kinds.get(name)
        if kind is None and name not in self.resources:
            return self.generated(name, attr)
        if kind is None:
            if name in self.resources:
                rtype = str(self.resources[name].get("Type"))
                value = _stand_in(rtype, name, attr)
                self.warn(f"{'Fn::GetAtt' if attr else 'Ref'} {name}{'.' + attr if attr else ''} ({rtype}, not "
                          f"modelled) is written as '{value}'")
                return value
            return None
        what = f"Fn::GetAtt {name}.{attr}" if attr else f"Ref {name}"
        stand_in = f"imported-{name}" + (f"-{attr}" if attr else "")
        if self.context == "literal":
            return self.literal("${" + name + ("Arn" if attr in ("Arn", "TopicArn") else "") + "}", ())
        if kind in ("function", "flow"):
            if self.context == "env":
                # an environment value takes a function's or a flow's name (${X}) or ARN (${XArn});
                # Ref gives a function's name but a state machine's ARN
                if attr == "Arn" or (attr is None and kind == "flow"):
                    return "${" + name + "Arn}"
                if (attr is None and kind == "function") or (attr == "Name" and kind == "flow"):
                    return "${" + name + "}"
                self.warn(f"{self.where}{what}: no app-file reference gives it; written as '{stand_in}'")
                return stand_in
            # a definition names functions and flows by ARN
            if attr in (None, "Arn"):
                if kind == "function" and attr is None:
                    self.warn(f"{what} (the function's name) becomes ${{{name}Arn}} (its ARN), which Lambda "
                              "takes wherever it takes a name")
                return "${" + name + "Arn}"
            self.warn(f"{what}: no app-file reference gives it; written as '{stand_in}'")
            return stand_in
        if attr is None:
            return "${" + name + "}"
        if attr == "Arn" or (kind == "topic" and attr == "TopicArn"):
            return "${" + name + "Arn}"
        if (kind == "queue" and attr == "QueueUrl") or (kind == "event_bus" and attr == "Name"):
            return "${" + name + "}"
        self.warn(f"{what}: no app-file reference gives it; written as '{stand_in}'")
        return stand_in

    def generated(self, name: str, attr: str | None) -> Any:
        """A reference to a resource SAM generates (``<Fn>Alias<alias>``, ``<Fn>Role``,
        ``ServerlessRestApi`` ...), or None when the name is no such thing."""
        m = re.fullmatch(r"([A-Za-z0-9]+?)Alias([A-Za-z0-9]+)", name)
        if m and self.kinds.get(m.group(1)) == "function" and attr in (None, "Arn"):
            return "${" + m.group(1) + "Arn}" if self.context != "literal" else self.literal("${" + m.group(1) + "Arn}", ())
        owner = re.fullmatch(r"([A-Za-z0-9]+?)(Role|Version[0-9a-f]*|DeploymentGroup)", name)
        if name in ("ServerlessRestApi", "ServerlessHttpApi", "ServerlessDeploymentApplication") or (
                owner and owner.group(1) in self.kinds):
            value = f"imported-{name}" + (f"-{attr}" if attr else "")
            self.warn(f"{'Fn::GetAtt' if attr else 'Ref'} {name}{'.' + attr if attr else ''} (a resource SAM "
                      f"generates) has no app-file reference; written as '{value}'")
            return value
        return None

    def known(self, raw: Any) -> str | None:
        """The DSL reference for a value compile writes as a pattern (bucket names and ARNs,
        ``<stack>-<flow>`` names and ARNs), else None."""
        for lid, kind in self.kinds.items():
            if kind == "bucket":
                name = self._prop(self.resources[lid], "BucketName")
                if name is not None and raw == name:
                    return "${" + lid + "}"
                if (isinstance(raw, dict) and list(raw) == ["Fn::Sub"] and isinstance(raw["Fn::Sub"], list)
                        and len(raw["Fn::Sub"]) == 2 and raw["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${BucketName}"
                        and isinstance(raw["Fn::Sub"][1], dict) and raw["Fn::Sub"][1].get("BucketName") == name
                        and name is not None):
                    return "${" + lid + "Arn}"
        text = raw.get("Fn::Sub") if isinstance(raw, dict) and len(raw) == 1 else None
        if isinstance(text, str):
            for pattern, suffix in ((_STACK_NAME, ""), (_FLOW_ARN, "Arn")):
                m = pattern.match(text)
                if m and self.kinds.get(m.group(1)) == "flow":
                    return "${" + m.group(1) + suffix + "}"
        return None

    def value(self, raw: Any, ptr: Pointer, *, context: str = "asl") -> Any:
        """A template value in app-file terms, evaluated.  In a definition (``asl``) and an
        environment (``env``) references become the DSL's ``${X}``; where the app file takes
        no references (trigger patterns, settings: ``literal``) they become local values."""
        found = self.known(raw)
        if found is not None:
            return self.literal(found, ptr) if context == "literal" else found
        if isinstance(raw, dict) and len(raw) > 1:
            return {k: self.value(v, ptr + (k,), context=context) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.value(v, ptr + (i,), context=context) for i, v in enumerate(raw)]
        self._pseudo_note(raw)
        self.context = context
        try:
            resolved = self.intrinsics.resolve(raw, ptr)
        finally:
            self.context = "asl"
        return None if resolved is NO_VALUE else resolved

    def literal(self, marker: str, ptr: Pointer) -> str:
        """Where the app file takes no reference: the local name the app runtime gives the
        resource a ``${X}`` marker names (its ARN for ``${XArn}``), noted as not carried over."""
        name = marker[2:-1]
        arn = name.endswith("Arn") and name[:-3] in self.kinds and name not in self.kinds
        lid = name[:-3] if arn else name
        kind = self.kinds.get(lid, "")
        local = local_name(self.stack_name, lid, kind) if kind in RESOURCE_KINDS else lid
        if arn:
            local = _local_arn(kind, local)
        self.warn(f"a reference to {lid} where an app file takes none (a trigger's pattern or setting) is written "
                  f"as its local {'ARN' if arn else 'name'} '{local}'; on AWS it is another")
        return local

    def _pseudo_note(self, raw: Any) -> None:
        if not isinstance(raw, (dict, list)):
            return
        text = json.dumps(raw)
        local = {**PSEUDO_PARAMETERS, "AWS::StackName": self.stack_name, "AWS::StackId": self.stack_id()}
        for name in ("AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId"):
            if name in text:
                self.warn(f"{name} has no app-file reference; its local value ({local[name]}) is written in")

    def stack_id(self) -> str:
        return (f"arn:aws:cloudformation:{PSEUDO_PARAMETERS['AWS::Region']}:{PSEUDO_PARAMETERS['AWS::AccountId']}:"
                f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000")

    def entity(self, raw: Any, ptr: Pointer, kinds: tuple[str, ...]) -> str | None:
        """The app name a template value points at (``!Ref X``, ``!GetAtt X.Arn``, compile's
        patterns), if it is one of ``kinds``."""
        found = self.known(raw)
        if found is None and isinstance(raw, dict) and len(raw) == 1:
            (fn, arg), = raw.items()
            if fn == "Ref" and isinstance(arg, str):
                found = "${" + arg + "}"
            elif fn == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], str):
                    found = "${" + parts[0] + "}"
        m = _MARKER.match(found) if isinstance(found, str) else None
        if m:
            name = m.group(1)
            for candidate in (name, name[:-3] if name.endswith("Arn") else None):
                if candidate and self.kinds.get(candidate) in kinds:
                    return candidate
        return None

    # --- resources ---------------------------------------------------------------------------------

    def resource(self, lid: str, res: dict[str, Any], kind: str) -> Resource:
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        out: dict[str, Any] = {}
        handled: set[str] = set()
        rtype = res.get("Type")
        if kind == "bucket":
            notifications = props.get("NotificationConfiguration")
            if isinstance(notifications, dict) and set(notifications) <= {"EventBridgeConfiguration", "LambdaConfigurations"}:
                # compile turns EventBridge on for the bucket's EventBridge triggers, and writes
                # the function notifications from the bucket triggers
                if self.bucket_notifications(lid, notifications.get("LambdaConfigurations") or []):
                    handled.add("NotificationConfiguration")
            if _compiled_bucket_label(props.get("BucketName")):
                handled.add("BucketName")
        elif kind == "queue":
            if props.get("FifoQueue") in (True, "true"):
                out["fifo"] = True
            handled.add("FifoQueue")
            vt = self.value(props["VisibilityTimeout"], ("Resources", lid, "Properties", "VisibilityTimeout"), context="literal") \
                if "VisibilityTimeout" in props else None
            if isinstance(vt, (int, str)) and str(vt).isdigit():
                out["visibility_timeout"] = _seconds_text(int(vt))
                handled.add("VisibilityTimeout")
            redrive = props.get("RedrivePolicy")
            if isinstance(redrive, dict):
                target = self.entity(redrive.get("deadLetterTargetArn"), (), ("queue",))
                count = self.value(redrive.get("maxReceiveCount", 3), ("Resources", lid, "Properties", "RedrivePolicy"), context="literal")
                if target and str(count).isdigit():
                    out["dead_letter"] = {"queue": target, "max_receive_count": int(count)}
                    handled.add("RedrivePolicy")
        elif kind == "table" and rtype == "AWS::Serverless::SimpleTable":
            pk: dict[str, Any] = props["PrimaryKey"] if isinstance(props.get("PrimaryKey"), dict) else {}
            types = {"String": "S", "Number": "N", "Binary": "B"}
            out["key"] = {str(pk.get("Name", "id")): types.get(str(pk.get("Type", "String")), "S")}
            handled.add("PrimaryKey")
            if "ProvisionedThroughput" not in props:
                handled.add("ProvisionedThroughput")
        elif kind == "table":
            schema = props.get("KeySchema")
            attrs = {a.get("AttributeName"): a.get("AttributeType") for a in props.get("AttributeDefinitions") or []
                     if isinstance(a, dict)}
            if isinstance(schema, list):
                ordered = sorted((k for k in schema if isinstance(k, dict)), key=lambda k: k.get("KeyType") != "HASH")
                out["key"] = {str(k.get("AttributeName")): attrs.get(k.get("AttributeName"), "S") for k in ordered}
                handled |= {"KeySchema"}
                if set(attrs) <= set(out["key"]):
                    handled.add("AttributeDefinitions")
            if props.get("BillingMode") == "PAY_PER_REQUEST":
                handled.add("BillingMode")
            spec = props.get("StreamSpecification")
            words = {aws: word for word, aws in STREAM_VIEW_TYPES.items()}
            if isinstance(spec, dict) and set(spec) == {"StreamViewType"} and spec["StreamViewType"] in words:
                out["stream"] = words[spec["StreamViewType"]]
                handled.add("StreamSpecification")
        elif kind == "event_bus":
            name = props.get("Name")
            if isinstance(name, dict) and _STACK_NAME.match(str(name.get("Fn::Sub", ""))):
                handled.add("Name")
        rest = [k for k in props if k not in handled]
        if rest:
            self.warn(f"{rtype} {lid}: {', '.join(rest)} not carried over (the app file's {kind.replace('_', ' ')} "
                      "has no such setting)")
        self.placed[("Resources", lid)] = ("resources", lid)
        return Resource(name=lid, kind=kind, properties=out)

    # --- functions ---------------------------------------------------------------------------------

    def function(self, lid: str, res: dict[str, Any]) -> Function | None:
        raw_props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(raw_props, dict)
        props = {**self.globals_fn, **raw_props}
        if isinstance(self.globals_fn.get("Environment"), dict) and isinstance(raw_props.get("Environment"), dict):
            variables = {**(self.globals_fn["Environment"].get("Variables") or {}),
                         **(raw_props["Environment"].get("Variables") or {})}
            props["Environment"] = {"Variables": variables}
        base: Pointer = ("Resources", lid, "Properties")
        self.placed[("Resources", lid)] = ("functions", lid)
        handled = {"Handler", "Runtime", "CodeUri", "Timeout", "MemorySize", "ReservedConcurrentExecutions",
                   "Environment", "Policies", "Events", "AutoPublishAlias", "DeploymentPreference"}
        for key, app_key in (("Handler", "handler"), ("Runtime", "runtime"), ("Timeout", "timeout"),
                             ("MemorySize", "memory"), ("ReservedConcurrentExecutions", "concurrency"),
                             ("Environment", "environment"), ("DeploymentPreference", "rollout")):
            self.placed[base + (key,)] = ("functions", lid, app_key)

        def number(key: str, default: int | None) -> int | None:
            if key not in props:
                return default
            v = self.value(props[key], base + (key,), context="literal")
            try:
                return int(v)
            except (TypeError, ValueError):
                self.warn(f"{lid}: {key} {v!r} is not a number; the default is used")
                return default

        handler = self.value(props.get("Handler", ""), base + ("Handler",), context="literal")
        runtime = str(self.value(props.get("Runtime", "python3.12"), base + ("Runtime",), context="literal"))
        runtime = self.runtime(runtime, lid if "Runtime" in raw_props else "Globals.Function")
        code = props.get("CodeUri")
        if isinstance(code, str) and not code.startswith("s3://"):
            where = os.path.normpath(os.path.join(self.template_dir, code))
            if os.path.isfile(where) and where.endswith(".py"):
                self.warn(f"{lid}: CodeUri {code} is a file; its directory is the function's code")
                where = os.path.dirname(where)
            self.code_dirs[lid] = where
        elif code is None and isinstance(props.get("InlineCode"), str):
            self.warn(f"{lid}: InlineCode not carried over (an app function's code is a module in a code directory)")
        else:
            self.warn(f"{lid}: CodeUri {code!r} is not a local directory; set code: to where the handler lives")
        environment: dict[str, str] = {}
        env = props.get("Environment")
        env_vars = env.get("Variables") if isinstance(env, dict) else None
        for k, v in (env_vars.items() if isinstance(env_vars, dict) else ()):
            self.where = f"{lid}: environment {k}: "
            resolved = self.value(v, base + ("Environment", "Variables", k), context="env")
            self.where = ""
            if resolved is not None:
                environment[str(k)] = _env_text(resolved)
                self.placed[base + ("Environment", "Variables", k)] = ("functions", lid, "environment", str(k))
        rollout = self.rollout(lid, props, base)
        hook_name = props.get("FunctionName")
        if isinstance(hook_name, dict) and _HOOK_NAME.match(str(hook_name.get("Fn::Sub", ""))):
            handled.add("FunctionName")
        reads, writes = self.policies(lid, props.get("Policies"), base + ("Policies",))
        self.function_events(lid, props.get("Events"), base + ("Events",))
        rest = [k for k in raw_props if k not in handled] + [
            f"Globals.Function.{k}" for k in self.globals_fn if k not in handled and k not in raw_props]
        if rest:
            self.warn(f"AWS::Serverless::Function {lid}: {', '.join(rest)} not carried over")
        return Function(
            name=lid, handler=str(handler), runtime=runtime, timeout_seconds=number("Timeout", 3) or 3,
            memory_mb=number("MemorySize", 128) or 128, concurrency=number("ReservedConcurrentExecutions", None),
            rollout=rollout, environment=environment, reads=tuple(reads), writes=tuple(writes))

    def runtime(self, runtime: str, who: str, *, quiet: bool = False) -> str:
        """The runtime an app file takes for ``runtime``: one Lambda no longer accepts for new
        functions becomes the oldest of its language that Lambda has not deprecated (the
        smallest step, said in the report: the code is to be tested on it); the others are
        carried over, with a note where Lambda has deprecated them or flowengine runs them
        only mocked.  ``who`` names the function (or ``Globals.Function``) in the notes."""
        where = stage(runtime)
        note = (lambda message: None) if quiet else self.warn
        if where is None:
            note(f"{who}: runtime {runtime} is not a Lambda runtime; carried over as written")
            return runtime
        info = LAMBDA_RUNTIMES[runtime]
        if where == "blocked":
            successor = replacement(runtime)
            if successor is not None:
                note(f"{who}: runtime {runtime} is no longer accepted by Lambda (no new functions since "
                     f"{info.block_create}); imported as {successor}: test the code on it")
                runtime = successor
            else:
                note(f"{who}: runtime {runtime} is no longer accepted by Lambda (no new functions since "
                     f"{info.block_create}); carried over as written")
        elif where == "deprecated":
            note(f"{who}: runtime {runtime} is deprecated by Lambda since {info.deprecated}, which refuses new "
                 f"functions on it from {info.block_create}; carried over (move to {replacement(runtime)} soon)")
        if not is_python(runtime):
            note(f"{who}: runtime {runtime}: flowengine runs Python handlers only, so this function runs locally "
                 "only when mocked; compile keeps its runtime, CodeUri and Handler")
        return runtime

    def rollout(self, lid: str, props: dict[str, Any], base: Pointer) -> Rollout | None:
        alias = props.get("AutoPublishAlias")
        pref = props.get("DeploymentPreference")
        if alias is None:
            if pref is not None:
                self.warn(f"{lid}: DeploymentPreference without AutoPublishAlias not carried over")
            return None
        if alias != "live":
            self.warn(f"{lid}: AutoPublishAlias {alias!r} becomes 'live' (the alias compile publishes)")
        if not isinstance(pref, dict):
            self.warn(f"{lid}: AutoPublishAlias without DeploymentPreference becomes an all-at-once rollout")
            return Rollout()
        typ = str(self.value(pref.get("Type", "AllAtOnce"), base + ("DeploymentPreference", "Type"), context="literal"))
        strategy, percent, minutes = "all-at-once", None, None
        m = _DEPLOYMENT_TYPE.match(typ)
        if m:
            strategy, percent, minutes = m.group(1).lower(), int(m.group(2)), int(m.group(3))
        elif typ.replace("CodeDeployDefault.Lambda", "") != "AllAtOnce":
            self.warn(f"{lid}: DeploymentPreference.Type {typ!r} is no predefined configuration; all-at-once is written")
        alarms: list[str] = []
        for i, alarm in enumerate(pref.get("Alarms") or []):
            target = alarm.get("Ref") if isinstance(alarm, dict) and list(alarm) == ["Ref"] else None
            metric = _generated_alarm(lid, target, self.resources.get(target) if isinstance(target, str) else None)
            if metric:
                alarms.append(metric)
                self.absorbed.add(str(target))
            elif isinstance(alarm, str):
                alarms.append(alarm)
            else:
                shown = f"!Ref {target}" if target else repr(alarm)
                self.warn(f"{lid}: rollout alarm {shown} not carried over (an app's rollout names an existing alarm, "
                          "or errors/throttles)")
        hooks: dict[str, Any] = pref["Hooks"] if isinstance(pref.get("Hooks"), dict) else {}
        found: dict[str, str] = {}
        for key, app_key in (("PreTraffic", "pre"), ("PostTraffic", "post")):
            target = self.entity(hooks.get(key), (), ("function",)) if key in hooks else None
            if target:
                found[app_key] = target
            elif key in hooks:
                self.warn(f"{lid}: DeploymentPreference.Hooks.{key} is not a function of the template")
        rest = [k for k in pref if k not in ("Type", "Alarms", "Hooks")]
        if rest:
            self.warn(f"{lid}: DeploymentPreference {', '.join(rest)} not carried over")
        return Rollout(strategy=strategy, percent=percent, interval_minutes=minutes,  # type: ignore[arg-type]
                       alarms=tuple(alarms), pre_traffic_hook=found.get("pre"), post_traffic_hook=found.get("post"))

    def policies(self, lid: str, policies: Any, ptr: Pointer) -> tuple[list[str], list[str]]:
        reads: list[str] = []
        writes: list[str] = []
        items = policies if isinstance(policies, list) else [policies] if policies is not None else []
        for i, policy in enumerate(items):
            access = self.policy_access(lid, policy)
            if access is None:
                label = (policy if isinstance(policy, str) else "an inline policy document"
                         if isinstance(policy, dict) and "Statement" in policy
                         else next(iter(policy), "{}") if isinstance(policy, dict) else repr(policy))
                self.warn(f"{lid}: policy {label} not carried over (compile grants from reads:/writes:)")
                continue
            for mode, name in access:
                for one in mode.split("+"):
                    target = reads if one == "reads" else writes
                    if name and name not in target:
                        target.append(name)
        return reads, writes

    def policy_access(self, lid: str, policy: Any) -> list[tuple[str, str | None]] | None:
        if isinstance(policy, dict) and len(policy) == 1:
            (key, arg), = policy.items()
            if key in POLICY_ACCESS and isinstance(arg, dict):
                mode, param = POLICY_ACCESS[key]
                kinds = {"BucketName": ("bucket",), "TableName": ("table",), "QueueName": ("queue",),
                         "TopicName": ("topic",), "EventBusName": ("event_bus",)}[param]
                target = self.entity(arg.get(param), (), kinds)
                return [(mode, target)] if target else None
            if key == "LambdaInvokePolicy" and isinstance(arg, dict):
                guarded = self.entity(arg.get("FunctionName"), (), ("function",))
                hooks = [h for h in self._hooks_of(guarded)] if guarded else []
                return [] if lid in hooks else None
        if isinstance(policy, dict) and "Statement" in policy:
            statements = policy.get("Statement")
            if not isinstance(statements, list):
                return None
            found: list[tuple[str, str | None]] = []
            for st in statements:
                access = self.statement_access(st)
                if access is None:
                    return None
                found += access
            return found
        return None

    def statement_access(self, st: Any) -> list[tuple[str, str | None]] | None:
        """The statements compile writes for a function (queue reads, a table's DeleteItem
        beside DynamoDBWritePolicy, a traffic hook's CodeDeploy call), else None."""
        if not isinstance(st, dict) or st.get("Effect") != "Allow" or not isinstance(st.get("Action"), list):
            return None
        actions = sorted(st["Action"])
        if actions == sorted(QUEUE_READ_ACTIONS):
            queue = self.entity(st.get("Resource"), (), ("queue",))
            return [("reads", queue)] if queue else None
        if actions == ["dynamodb:DeleteItem"]:
            table = self.entity(st.get("Resource"), (), ("table",))
            return [("writes", table)] if table else None
        if actions == ["codedeploy:PutLifecycleEventHookExecutionStatus"]:
            return []  # compile grants a traffic hook this itself
        return None

    def _hooks_of(self, fn: str) -> list[str]:
        pref = self._prop(self.resources.get(fn, {}), "DeploymentPreference")
        hooks: dict[str, Any] = pref["Hooks"] if isinstance(pref, dict) and isinstance(pref.get("Hooks"), dict) else {}
        return [h for h in (self.entity(v, (), ("function",)) for v in hooks.values()) if h]

    # --- triggers ----------------------------------------------------------------------------------

    def add_trigger(self, source: str, target: str, kind: str, name: str, resource: str | None,
                    options: dict[str, Any], ptr: Pointer) -> None:
        # event names are per resource in a template; trigger names are per app
        taken = {t.name for t in self.triggers}
        if name in taken:
            base, n = f"{target}{name}", 2
            name = base
            while name in taken:
                name, n = f"{base}{n}", n + 1
        self.placed[ptr] = ("triggers", len(self.triggers))
        self.triggers.append(Trigger(source=source, target=target, target_kind=kind,  # type: ignore[arg-type]
                                     resource=resource, options=options, name=name))

    def function_events(self, lid: str, events: Any, ptr: Pointer) -> None:
        for ename, event in (events.items() if isinstance(events, dict) else ()):
            self.event(lid, "function", str(ename), event, ptr + (ename,))

    def event(self, target: str, kind: str, name: str, event: Any, ptr: Pointer) -> None:
        etype = event.get("Type") if isinstance(event, dict) else None
        props = event.get("Properties") if isinstance(event, dict) and isinstance(event.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        pp = ptr + ("Properties",)
        where = f"{target}: event {name} ({etype})"
        used: set[str] = set()
        options: dict[str, Any] = {}
        if etype == "S3" and kind == "function":
            bucket = self.entity(props.get("Bucket"), (), ("bucket",))
            words = props.get("Events")
            words = words if isinstance(words, list) else [words]
            options["events"] = [S3_WORDS.get(str(w), str(w)) for w in words]
            rules = (((props.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []) if isinstance(props.get("Filter"), dict) else []
            for rule in rules:
                if isinstance(rule, dict) and str(rule.get("Name", "")).lower() in ("prefix", "suffix"):
                    options[str(rule["Name"]).lower()] = self.value(rule.get("Value"), pp + ("Filter",), context="literal")
            used |= {"Bucket", "Events", "Filter"}
            if bucket is None:
                self.warn(f"{where}: the bucket is not a bucket of the template; not carried over")
                return
            self.add_trigger("bucket", target, kind, name, bucket, options, ptr)
        elif etype == "SQS" and kind == "function":
            queue = self.entity(props.get("Queue"), (), ("queue",))
            if "BatchSize" in props:
                options["batch_size"] = _int(self.value(props["BatchSize"], pp + ("BatchSize",), context="literal"))
            if "MaximumBatchingWindowInSeconds" in props:
                options["batching_window"] = _seconds_text(
                    _int(self.value(props["MaximumBatchingWindowInSeconds"], pp + ("MaximumBatchingWindowInSeconds",), context="literal")))
            if props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]:
                options["report_batch_item_failures"] = True
            if self.filter_criteria(props, options, where):
                used.add("FilterCriteria")
            used |= {"Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes"}
            if queue is None:
                self.warn(f"{where}: the queue is not a queue of the template; not carried over")
                return
            self.add_trigger("queue", target, kind, name, queue, options, ptr)
        elif etype == "DynamoDB" and kind == "function":
            table = self.entity(props.get("Stream"), (), ("table",))
            for key, option in (("BatchSize", "batch_size"), ("MaximumRetryAttempts", "maximum_retry_attempts")):
                if key in props:
                    options[option] = _int(self.value(props[key], pp + (key,), context="literal"))
                    used.add(key)
            if "MaximumBatchingWindowInSeconds" in props:
                options["batching_window"] = _seconds_text(_int(self.value(
                    props["MaximumBatchingWindowInSeconds"], pp + ("MaximumBatchingWindowInSeconds",), context="literal")))
            position = self.value(props.get("StartingPosition"), pp + ("StartingPosition",), context="literal")
            if position in STARTING_POSITIONS:
                if position != "LATEST":
                    options["starting_position"] = position
                used.add("StartingPosition")
            if props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]:
                options["report_batch_item_failures"] = True
            if self.filter_criteria(props, options, where):
                used.add("FilterCriteria")
            used |= {"Stream", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes"}
            if table is None:
                self.warn(f"{where}: the stream is not a stream of a table of the template; not carried over")
                return
            self.add_trigger("table", target, kind, name, table, options, ptr)
        elif etype == "SNS" and kind == "function":
            topic = self.entity(props.get("Topic"), (), ("topic",))
            if "FilterPolicy" in props:
                options["filter_policy"] = self.value(props["FilterPolicy"], pp + ("FilterPolicy",), context="literal")
            used |= {"Topic", "FilterPolicy"}
            if topic is None:
                self.warn(f"{where}: the topic is not a topic of the template; not carried over")
                return
            self.add_trigger("topic", target, kind, name, topic, options, ptr)
        elif etype in ("Schedule", "ScheduleV2"):
            key = "Schedule" if etype == "Schedule" else "ScheduleExpression"
            if not isinstance(props.get(key), (str, dict)):
                self.warn(f"{where}: no {key}; not carried over")
                return
            options["schedule"] = self.value(props.get(key), pp + (key,), context="literal")
            if props.get("ScheduleExpressionTimezone"):
                options["timezone"] = self.value(props["ScheduleExpressionTimezone"], pp + ("ScheduleExpressionTimezone",), context="literal")
            if "Input" in props:
                options["input"] = _json_input(self.value(props["Input"], pp + ("Input",), context="literal"))
            used |= {key, "ScheduleExpressionTimezone", "Input", "OmitName"}
            if props.get("Enabled") is False or props.get("State") == "DISABLED":
                self.warn(f"{where}: the schedule is disabled in the template; the trigger is not")
                used |= {"Enabled", "State"}
            self.add_trigger("schedule", target, kind, name, None, options, ptr)
        elif etype in ("EventBridgeRule", "CloudWatchEvent"):
            used |= {"Pattern", "EventBusName", "Input", "InputPath"}
            if self.s3_rule(target, kind, name, props, ptr):
                pass
            else:
                options["event_pattern"] = self.value(props.get("Pattern"), pp + ("Pattern",), context="literal")
                bus = None
                if "EventBusName" in props:
                    bus = self.entity(props["EventBusName"], (), ("event_bus",))
                    if bus is None and self.value(props["EventBusName"], pp + ("EventBusName",), context="literal") != "default":
                        self.warn(f"{where}: EventBusName is not an event bus of the template; the default bus is used")
                if "Input" in props:
                    options["input"] = _json_input(self.value(props["Input"], pp + ("Input",), context="literal"))
                elif "InputPath" in props:
                    options["input_path"] = self.value(props["InputPath"], pp + ("InputPath",), context="literal")
                self.add_trigger("event_pattern", target, kind, name, bus, options, ptr)
        elif etype == "Api":
            method = self.value(props.get("Method", "post"), pp + ("Method",), context="literal")
            path = self.value(props.get("Path", "/"), pp + ("Path",), context="literal")
            used |= {"Method", "Path"}
            self.add_trigger("api", target, kind, name, None, {"api": {"method": method, "path": path}}, ptr)
        else:
            self.warn(f"{where}: not expressible as an app-file trigger; not carried over")
            return
        rest = [k for k in props if k not in used]
        if rest:
            self.warn(f"{where}: {', '.join(rest)} not carried over")

    def filter_criteria(self, props: dict[str, Any], options: dict[str, Any], where: str) -> bool:
        """An event's ``FilterCriteria`` (patterns as JSON text) → the trigger's ``filter``:
        one pattern as a mapping, several as a list.  False when it is not carried over."""
        criteria = props.get("FilterCriteria")
        if criteria is None:
            return False
        filters = criteria.get("Filters") if isinstance(criteria, dict) else None
        patterns: list[Any] = []
        for f in filters if isinstance(filters, list) else [None]:
            raw = f.get("Pattern") if isinstance(f, dict) else None
            try:
                pattern = json.loads(raw) if isinstance(raw, str) else None
            except ValueError:
                pattern = None
            if not isinstance(pattern, dict):
                self.warn(f"{where}: a FilterCriteria pattern is not JSON text of an object")
                return False
            patterns.append(pattern)
        if patterns:
            options["filter"] = patterns[0] if len(patterns) == 1 else patterns
        return True

    def s3_rule(self, target: str, kind: str, name: str, props: dict[str, Any], ptr: Pointer) -> bool:
        """An EventBridge rule on S3's object events for a bucket of the template: the bucket
        trigger compile writes that way (flows always; functions with ``via_eventbridge``)."""
        pattern = props.get("Pattern")
        if not isinstance(pattern, dict) or set(pattern) != {"source", "detail-type", "detail"}:
            return False
        if set(props) - {"Pattern", "EventBusName"} or props.get("EventBusName", "default") != "default":
            return False  # S3 sends its events to the default bus only
        if pattern["source"] != ["aws.s3"] or not isinstance(pattern["detail-type"], list):
            return False
        words = {"Object Created": "created", "Object Deleted": "removed"}
        if not pattern["detail-type"] or any(d not in words for d in pattern["detail-type"]):
            return False
        detail = pattern["detail"]
        if not isinstance(detail, dict) or set(detail) - {"bucket", "object"}:
            return False
        names = (detail.get("bucket") or {}).get("name") if isinstance(detail.get("bucket"), dict) else None
        if not (isinstance(names, list) and len(names) == 1 and set(detail["bucket"]) == {"name"}):
            return False
        bucket = self.entity(names[0], (), ("bucket",))
        notifications = self._prop(self.resources[bucket], "NotificationConfiguration") if bucket else None
        bridge = notifications.get("EventBridgeConfiguration") if isinstance(notifications, dict) else None
        if not (isinstance(bridge, dict) and bridge.get("EventBridgeEnabled") in (True, "true")):
            return False  # the bucket sends no events to EventBridge: the rule never fires
        options: dict[str, Any] = {"events": [words[d] for d in pattern["detail-type"]]}
        if "object" in detail:
            keys = detail["object"].get("key") if isinstance(detail["object"], dict) else None
            if not (isinstance(keys, list) and len(keys) == 1 and isinstance(keys[0], dict) and len(keys[0]) == 1):
                return False
            (op, arg), = keys[0].items()
            arg = self.value(arg, ptr, context="literal")
            if op in ("prefix", "suffix") and isinstance(arg, str):
                options[op] = arg
            elif op == "wildcard" and isinstance(arg, str) and len(re.findall(r"(?<!\\)\*", arg)) == 1:
                prefix, suffix = re.split(r"(?<!\\)\*", arg)
                options["prefix"], options["suffix"] = _unescape(prefix), _unescape(suffix)
            else:
                return False
        if kind == "function":
            options["via_eventbridge"] = True
        self.add_trigger("bucket", target, kind, name, bucket, options, ptr)
        return True

    def bucket_notifications(self, lid: str, configs: Any) -> bool:
        """A bucket's ``LambdaConfigurations`` → bucket triggers; False when one cannot be read."""
        if not isinstance(configs, list):
            return False
        read = []
        for i, config in enumerate(configs):
            fn = self.entity(config.get("Function"), (), ("function",)) if isinstance(config, dict) else None
            if fn is None or set(config) - {"Event", "Function", "Filter"}:
                return False
            read.append((i, fn, config))
        for i, fn, config in read:
            event = {"Type": "S3", "Properties": {"Bucket": {"Ref": lid}, "Events": config.get("Event"),
                                                  **({"Filter": config["Filter"]} if "Filter" in config else {})}}
            self.event(fn, "function", f"{lid}Notification{i + 1}", event,
                       ("Resources", lid, "Properties", "NotificationConfiguration", "LambdaConfigurations", i))
        return True

    def events_rule(self, lid: str, res: dict[str, Any]) -> None:
        """An ``AWS::Events::Rule`` whose targets are functions or state machines of the
        template: one trigger per target, as the SAM events compile writes."""
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        pp: Pointer = ("Resources", lid, "Properties")
        targets: list[Any] = props["Targets"] if isinstance(props.get("Targets"), list) else []
        found = [(t, self.entity(t.get("Arn"), (), ("function", "flow"))) for t in targets if isinstance(t, dict)]
        if not found or any(target is None for _, target in found):
            return  # listed as not modelled
        if props.get("State") == "DISABLED":
            self.warn(f"AWS::Events::Rule {lid}: disabled in the template; its triggers are not")
        rest = [k for k in props if k not in ("EventPattern", "ScheduleExpression", "EventBusName", "Targets", "State",
                                              "Description", "Name")]
        for target, name in found:
            assert name is not None
            event: dict[str, Any] = {}
            if "ScheduleExpression" in props:
                event = {"Type": "Schedule", "Properties": {"Schedule": props["ScheduleExpression"]}}
            else:
                event = {"Type": "EventBridgeRule", "Properties": {"Pattern": props.get("EventPattern")}}
                if "EventBusName" in props:
                    event["Properties"]["EventBusName"] = props["EventBusName"]
            for key in ("Input", "InputPath"):
                if key in target:
                    event["Properties"][key] = target[key]
            role = target.get("RoleArn")
            role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) and isinstance(role.get("Fn::GetAtt"), list) else None
            if isinstance(role_id, str) and self.resources.get(role_id, {}).get("Type") == "AWS::IAM::Role":
                self.absorbed.add(role_id)  # SAM makes the role a rule needs to start its target
            extra = [k for k in target if k not in ("Arn", "Id", "Input", "InputPath", "RoleArn")]
            if extra:
                self.warn(f"AWS::Events::Rule {lid}: target {target.get('Id', name)}: {', '.join(extra)} not carried over")
            label = lid if len(found) == 1 else f"{lid}{re.sub(r'[^A-Za-z0-9]', '', str(target.get('Id', name)))}"
            self.event(name, self.kinds[name], label, event, pp)
        if rest:
            self.warn(f"AWS::Events::Rule {lid}: {', '.join(rest)} not carried over")
        self.absorbed.add(lid)

    def sns_subscription(self, lid: str, res: dict[str, Any]) -> None:
        """An ``AWS::SNS::Subscription`` of a function to a topic of the template."""
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        topic = self.entity(props.get("TopicArn"), (), ("topic",))
        fn = self.entity(props.get("Endpoint"), (), ("function",))
        if topic is None or fn is None or str(props.get("Protocol", "")).lower() != "lambda":
            return
        event: dict[str, Any] = {"Type": "SNS", "Properties": {"Topic": {"Ref": topic}}}
        policy = props.get("FilterPolicy")
        if isinstance(policy, str):
            policy = _json_input(policy)
        if policy is not None:
            event["Properties"]["FilterPolicy"] = policy
        rest = [k for k in props if k not in ("TopicArn", "Endpoint", "Protocol", "FilterPolicy")]
        if rest:
            self.warn(f"AWS::SNS::Subscription {lid}: {', '.join(rest)} not carried over")
        self.event(fn, "function", lid, event, ("Resources", lid, "Properties"))
        self.absorbed.add(lid)

    def event_source_mapping(self, lid: str, res: dict[str, Any]) -> None:
        """An ``AWS::Lambda::EventSourceMapping`` from a queue of the template to a function."""
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        queue = self.entity(props.get("EventSourceArn"), (), ("queue",))
        fn = self.entity(props.get("FunctionName"), (), ("function",))
        source = props.get("EventSourceArn")
        stream = isinstance(source, dict) and "StreamArn" in json.dumps(source) or (
            isinstance(source, str) and "/stream/" in source)
        table = self.entity(source, (), ("table",)) if stream else None
        if (queue is None and table is None) or fn is None:
            return
        keep: tuple[str, ...] = ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "FilterCriteria")
        if table is not None:
            keep += ("StartingPosition", "MaximumRetryAttempts")
            event = {"Type": "DynamoDB", "Properties": {"Stream": {"Fn::GetAtt": [table, "StreamArn"]},
                                                        **{k: props[k] for k in keep if k in props}}}
        else:
            event = {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": [queue, "Arn"]},
                                                   **{k: props[k] for k in keep if k in props}}}
        rest = [k for k in props if k not in ("EventSourceArn", "FunctionName", *keep)]
        if rest:
            self.warn(f"AWS::Lambda::EventSourceMapping {lid}: {', '.join(rest)} not carried over")
        self.event(fn, "function", lid, event, ("Resources", lid, "Properties"))
        self.absorbed.add(lid)

    def pipe(self, lid: str, res: dict[str, Any]) -> None:
        """An EventBridge Pipe from a queue or a table's stream of the template to a state
        machine: the queue or table trigger compile writes that way (SAM has no SQS or
        DynamoDB event for state machines)."""
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        source = props.get("Source")
        queue = self.entity(source, (), ("queue",))
        stream = "StreamArn" in json.dumps(source) if isinstance(source, dict) else False
        table = self.entity(source, (), ("table",)) if stream else None
        flow = self.entity(props.get("Target"), (), ("flow",))
        role = props.get("RoleArn")
        role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) and isinstance(role.get("Fn::GetAtt"), list) else None
        if (queue is None and table is None) or flow is None \
                or set(props) - {"RoleArn", "Source", "SourceParameters", "Target", "TargetParameters"}:
            return  # listed as not modelled with the rest
        source_params = props.get("SourceParameters") or {}
        key = "DynamoDBStreamParameters" if table is not None else "SqsQueueParameters"
        known = {"BatchSize", "MaximumBatchingWindowInSeconds"} | (
            {"StartingPosition", "MaximumRetryAttempts"} if table is not None else set())
        params = source_params.get(key) or {}
        if not isinstance(source_params, dict) or set(source_params) - {key, "FilterCriteria"} \
                or not isinstance(params, dict) or set(params) - known:
            return  # settings a trigger has no field for: listed as not modelled with the rest
        options: dict[str, Any] = {}
        if "BatchSize" in params:
            options["batch_size"] = _int(params["BatchSize"])
        if "MaximumBatchingWindowInSeconds" in params:
            options["batching_window"] = _seconds_text(_int(params["MaximumBatchingWindowInSeconds"]))
        if params.get("StartingPosition") in STARTING_POSITIONS and params["StartingPosition"] != "LATEST":
            options["starting_position"] = params["StartingPosition"]
        if "MaximumRetryAttempts" in params:
            options["maximum_retry_attempts"] = _int(params["MaximumRetryAttempts"])
        if "FilterCriteria" in source_params and not self.filter_criteria(source_params, options, f"pipe {lid}"):
            return
        name = lid[len(flow):-len("Pipe")] if lid.startswith(flow) and lid.endswith("Pipe") else lid
        self.absorbed.add(lid)
        if isinstance(role_id, str) and self.resources.get(role_id, {}).get("Type") == "AWS::IAM::Role":
            self.absorbed.add(role_id)
        self.add_trigger("table" if table is not None else "queue", flow, "flow", name or lid, table or queue,
                         options, ("Resources", lid))

    # --- flows -------------------------------------------------------------------------------------

    def flow(self, lid: str, res: dict[str, Any]) -> Flow | None:
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        base: Pointer = ("Resources", lid, "Properties")
        self.placed[("Resources", lid)] = ("flows", lid)
        sam = res.get("Type") == "AWS::Serverless::StateMachine"
        renames, literals = self.substitutions(lid, props.get("DefinitionSubstitutions"), base + ("DefinitionSubstitutions",))
        values = {**{k: "${" + v + "}" for k, v in renames.items()}, **literals}
        handled = {"Definition", "DefinitionUri", "DefinitionString", "DefinitionSubstitutions", "Type",
                   "StateMachineType", "Logging", "Tracing", "TracingConfiguration", "LoggingConfiguration",
                   "Events", "Policies", "Role", "RoleArn"}
        asl: Any = None
        if isinstance(props.get("Definition"), dict):
            # CloudFormation evaluates intrinsics inside an inline definition, then substitutes
            asl = _fill(self.value(props["Definition"], base + ("Definition",)), values)
            self.placed[base + ("Definition",)] = ("flows", lid)
            for key in props["Definition"]:
                self.placed[base + ("Definition", key)] = ("flows", lid, key)
            for state in (props["Definition"].get("States") or {}):
                self.placed[base + ("Definition", "States", state)] = ("flows", lid, "States", state)
        elif sam and isinstance(props.get("DefinitionUri"), str) and not props["DefinitionUri"].startswith("s3://"):
            path = os.path.normpath(os.path.join(self.template_dir, props["DefinitionUri"]))
            try:
                loaded, _ = load_definition_text(read_text(path), path, values)
            except LoadError as exc:
                self.diagnostics.extend(exc.diagnostics)
                self.warn(f"{lid}: DefinitionUri {props['DefinitionUri']} could not be read; the flow is left out")
                return None
            asl = loaded.value
            inside = os.path.realpath(path).startswith(os.path.realpath(self.out_dir) + os.sep)
            if inside and all(k == v for k, v in renames.items()) and not literals and not _duration_strings(asl):
                self.definition_files[lid] = _rel(path, self.out_dir)
            elif not inside:
                self.warn(f"{lid}: {props['DefinitionUri']} is outside the app file's directory, where an app "
                          "reads definition files; its definition is written inline")
            else:
                self.warn(f"{lid}: the definition of {props['DefinitionUri']} is written inline, its placeholders "
                          "renamed to the app's names (the file itself is left as it is)")
        elif not sam and "DefinitionString" in props:
            text = self.value(props["DefinitionString"], base + ("DefinitionString",))
            text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)) if isinstance(
                values.get(m.group(1), ""), str) else json.dumps(values[m.group(1)]), str(text))
            try:
                asl = json.loads(text)
            except ValueError:
                self.warn(f"{lid}: DefinitionString is not JSON once resolved; the flow is left out")
                return None
        else:
            self.warn(f"{lid}: its definition is not inline nor a local file (S3?); the flow is left out")
            return None
        if not isinstance(asl, dict):
            self.warn(f"{lid}: the definition is not an ASL object; the flow is left out")
            return None
        self.unknown_placeholders(lid, asl)
        kind = str(props.get("Type" if sam else "StateMachineType", "STANDARD")).upper()
        logging = props.get("Logging" if sam else "LoggingConfiguration")
        if isinstance(logging, dict):
            self.logging(lid, logging)
        tracing = props.get("Tracing" if sam else "TracingConfiguration")
        name = props.get("Name") if sam else props.get("StateMachineName")
        if name is not None and not (isinstance(name, dict) and _STACK_NAME.match(str(name.get("Fn::Sub", "")))):
            self.warn(f"{lid}: Name not carried over (compile names a flow <stack>-{lid})")
        policies = self.flow_policies(lid, res, props, base)
        for ename, event in ((props.get("Events") or {}).items() if isinstance(props.get("Events"), dict) else ()):
            self.event(lid, "flow", str(ename), event, base + ("Events", ename))
        rest = [k for k in props if k not in handled and k not in ("Name", "StateMachineName")]
        if rest:
            self.warn(f"{res.get('Type')} {lid}: {', '.join(rest)} not carried over")
        return Flow(name=lid, definition=build_state_machine(asl, source_from_value(asl, lid)), asl=asl,
                    type="EXPRESS" if kind == "EXPRESS" else "STANDARD",
                    logging=isinstance(logging, dict) and logging.get("Level", "OFF") != "OFF",
                    tracing=isinstance(tracing, dict) and tracing.get("Enabled") is True,
                    policies=tuple(policies))

    # --- a state machine's permissions -------------------------------------------------------------

    def flow_policies(self, lid: str, res: dict[str, Any], props: dict[str, Any], base: Pointer) -> list[Any]:
        """What the template grants a state machine, as the flow's ``policies:``: its
        ``Policies``, or the inline policies, managed policy ARNs and attached
        ``AWS::IAM::Policy`` documents of the template role its ``Role``/``RoleArn`` names.
        References become ``${X}``/``${XArn}``, parameters their values, pseudo parameters stay;
        what names something an app file does not model is dropped, and said.  Of a template
        compile wrote, only the policies the flow declared come back (not the derived ones)."""
        out: list[Any] = []
        items = props.get("Policies")
        items = items if isinstance(items, list) else [items] if items is not None else []
        start = 0
        if self.generated_by_flowengine:
            meta = res.get("Metadata")
            mine = meta.get("flowengine") if isinstance(meta, dict) else None
            count = mine.get("declared_policies") if isinstance(mine, dict) else None
            start = len(items) - count if isinstance(count, int) and 0 < count <= len(items) else len(items)
        for i in range(start, len(items)):
            found = self.policy(lid, items[i], base + ("Policies", i), _policy_label(items[i]))
            if found is not None:
                out.append(found)
        for key in ("Role", "RoleArn"):
            if key in props:
                out += self.role_policies(lid, props[key])
        return out

    def policy(self, lid: str, raw: Any, ptr: Pointer, label: str) -> Any:
        """One policy in app-file terms, or None when it names what an app file does not model."""
        if isinstance(raw, dict) and "Statement" in raw:
            return self.policy_document(lid, raw, ptr, label)
        try:
            return self.policy_value(raw, ptr)
        except _Untranslatable as exc:
            self.warn(f"{lid}: policy {label} not carried over: it names {exc}")
            return None

    def policy_document(self, lid: str, raw: Any, ptr: Pointer, label: str) -> Any:
        """A policy document, statement by statement: an Allow statement keeps the resources
        that translate, and a statement is dropped when nothing of it is left."""
        statements = raw.get("Statement") if isinstance(raw, dict) else None
        single = isinstance(statements, dict)
        items = [statements] if single else statements if isinstance(statements, list) else None
        if items is None:
            self.warn(f"{lid}: policy {label} not carried over: its Statement is not a list of statements")
            return None
        kept = []
        for i, st in enumerate(items):
            found = self.policy_statement(lid, st, ptr + (("Statement",) if single else ("Statement", i)), label)
            if found is not None:
                kept.append(found)
        if not kept:
            return None
        assert isinstance(raw, dict)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "Statement":
                out[key] = kept[0] if single else kept
            elif isinstance(value, str):
                out[key] = value
        return out

    def policy_statement(self, lid: str, st: Any, ptr: Pointer, label: str) -> Any:
        if not isinstance(st, dict):
            return st  # validate reports the shape
        sid = f" {st['Sid']}" if isinstance(st.get("Sid"), str) else ""
        deny = st.get("Effect") != "Allow"
        out: dict[str, Any] = {}
        for key, value in st.items():
            if key == "Resource" and isinstance(value, list) and not deny:
                kept = []
                for i, item in enumerate(value):
                    try:
                        kept.append(self.policy_value(item, ptr + (key, i)))
                    except _Untranslatable as exc:
                        self.warn(f"{lid}: policy {label}, statement{sid}: a resource naming {exc} is not carried over")
                if not kept:
                    return None
                out[key] = kept
                continue
            try:
                out[key] = self.policy_value(value, ptr + (key,))
            except _Untranslatable as exc:
                broader = " (a Deny: the app grants more than the template)" if deny else ""
                self.warn(f"{lid}: policy {label}, statement{sid} not carried over{broader}: it names {exc}")
                return None
        return out

    def policy_value(self, raw: Any, ptr: Pointer) -> Any:
        """A value of a policy in app-file terms (raises :class:`_Untranslatable`)."""
        found = self.known(raw)
        if found is not None:
            return found
        if isinstance(raw, str):
            return _escape_placeholders(raw)
        if isinstance(raw, list):
            return [self.policy_value(v, ptr + (i,)) for i, v in enumerate(raw)]
        if not isinstance(raw, dict):
            return raw
        if len(raw) == 1:
            (fn, arg), = raw.items()
            if fn == "Ref" and isinstance(arg, str):
                if arg in self.intrinsics.parameters:
                    return self.policy_value(self.policy_parameter(arg), ptr)
                return self.policy_ref(arg, None)
            if fn == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if isinstance(parts, list) and len(parts) == 2 and all(isinstance(x, str) for x in parts):
                    return self.policy_ref(parts[0], parts[1])
            if fn == "Fn::Sub":
                return self.policy_sub(arg, ptr + (fn,))
            if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
                parts = [self.policy_value(x, ptr + (fn, 1, i)) for i, x in enumerate(arg[1])]
                if isinstance(arg[0], str) and all(isinstance(x, str) for x in parts):
                    return arg[0].join(parts)
            if fn == "Ref" or fn.startswith("Fn::"):
                # the others (Fn::If, Fn::FindInMap ...) evaluate as anywhere in the template
                resolved = self.policy_intrinsics().resolve(raw, ptr)
                if resolved is NO_VALUE:
                    raise _Untranslatable(f"{fn} (AWS::NoValue)")
                return resolved
        return {k: self.policy_value(v, ptr + (k,)) for k, v in raw.items()}

    def policy_sub(self, arg: Any, ptr: Pointer) -> str:
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            raise _Untranslatable("an Fn::Sub that is not a string or [string, {Name: value}]")
        values: dict[str, str] = {}
        for name, raw in variables.items():
            value = self.policy_value(raw, ptr + (1, name))
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise _Untranslatable(f"the Fn::Sub variable {name}, which is not a string")
            values[str(name)] = str(value)

        def one(m: re.Match[str]) -> str:
            inner = m.group(1).strip()
            if inner.startswith("!"):
                return m.group(0)  # ${!Literal} stays escaped: compile writes it into Fn::Sub again
            if inner in values:
                return values[inner]
            if "." in inner and not inner.startswith("AWS::"):
                res, _, attr = inner.partition(".")
                return self.policy_ref(res, attr)
            if inner in self.intrinsics.parameters:
                value = self.policy_value(self.policy_parameter(inner), ptr)
                if isinstance(value, str):
                    return value
            return self.policy_ref(inner, None)

        return _SUB_VARIABLE.sub(one, text)

    def policy_parameter(self, name: str) -> Any:
        """A parameter's value in a policy; one with no value (no Default, no override) grants
        nothing real, so what names it is not carried over."""
        value = self.intrinsics.parameters[name]
        params = self.doc.get("Parameters")
        declared = params.get(name) if isinstance(params, dict) else None
        if value == f"param-{name}" and not (isinstance(declared, dict) and "Default" in declared):
            raise _Untranslatable(f"the parameter {name}, which has no value (give it with --parameter-overrides "
                                  f"{name}=VALUE)")
        return value

    def policy_ref(self, name: str, attr: str | None) -> str:
        """``Ref name`` / ``Fn::GetAtt name.attr`` in a policy → ``${X}``, ``${XArn}`` or
        ``${AWS::...}`` (raises :class:`_Untranslatable`)."""
        if attr is None and name in _POLICY_PSEUDO:
            return "${" + name + "}"
        if attr is None and name.endswith(".Alias") and self.kinds.get(name[:-6]) == "function":
            return "${" + name[:-6] + "Arn}"
        what = f"Fn::GetAtt {name}.{attr}" if attr else f"Ref {name}"
        kind = self.kinds.get(name)
        if kind is None:
            rtype = self.resources.get(name, {}).get("Type")
            raise _Untranslatable(f"{what} ({rtype}, not modelled in an app file)" if rtype
                                  else f"{what}, which is no resource of the template")
        suffix = _POLICY_REFERENCES.get((kind, attr))
        if suffix is None:
            raise _Untranslatable(f"{what}, which no app-file reference gives")
        return "${" + name + suffix + "}"

    def policy_intrinsics(self) -> Intrinsics:
        """The template's intrinsics for a policy: pseudo parameters stay ``${AWS::...}``, and a
        reference is what :meth:`policy_ref` says."""
        return Intrinsics(self.source, parameters=self.intrinsics.parameters,
                          pseudo={p: "${" + p + "}" for p in _POLICY_PSEUDO},
                          mappings=self.doc.get("Mappings") or {}, conditions=self.doc.get("Conditions") or {},
                          reference=lambda name, attr, _ptr: self.policy_ref(name, attr), diagnostics=[])

    def role_policies(self, lid: str, raw: Any) -> list[Any]:
        """The permissions of the template role ``raw`` (a state machine's Role/RoleArn) names."""
        rid = _role_id(raw)
        role = self.resources.get(rid) if rid else None
        if role is None or role.get("Type") != "AWS::IAM::Role":
            shown = rid or (raw if isinstance(raw, str) else json.dumps(raw))
            self.warn(f"{lid}: role {shown} is not an AWS::IAM::Role of the template; its permissions are not "
                      "carried over (declare them in the flow's policies:)")
            return []
        assert rid is not None
        props = role.get("Properties") if isinstance(role.get("Properties"), dict) else {}
        assert isinstance(props, dict)
        rptr: Pointer = ("Resources", rid, "Properties")
        out: list[Any] = []
        for i, p in enumerate(props.get("Policies") or []):
            name = p.get("PolicyName") if isinstance(p, dict) else None
            try:
                name = self.policy_value(name, rptr + ("Policies", i, "PolicyName"))  # !Sub "Name"
            except _Untranslatable:
                name = None
            label = f"{name if isinstance(name, str) else i} of role {rid}"
            doc = p.get("PolicyDocument") if isinstance(p, dict) else None
            found = self.policy_document(lid, doc, rptr + ("Policies", i, "PolicyDocument"), label)
            if found is not None:
                out.append(found)
        for i, arn in enumerate(props.get("ManagedPolicyArns") or []):
            found = self.policy(lid, arn, rptr + ("ManagedPolicyArns", i), f"{i} of the ManagedPolicyArns of role {rid}")
            if found is not None:
                out.append(found)
        for pid, pres in self.resources.items():
            if pres.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            pprops = pres.get("Properties") if isinstance(pres.get("Properties"), dict) else {}
            assert isinstance(pprops, dict)
            roles = [_role_name(r) for r in pprops.get("Roles") or []]
            if rid not in roles:
                continue
            found = self.policy_document(lid, pprops.get("PolicyDocument"), ("Resources", pid, "Properties",
                                                                             "PolicyDocument"), pid)
            if found is not None:
                out.append(found)
            machine_roles = self.machine_roles()
            if all(r in machine_roles for r in roles) and not (set(pprops) & {"Users", "Groups"}):
                self.absorbed.add(pid)
        rest = [k for k in props if k not in _ROLE_CARRIED]
        if rest:
            self.warn(f"{lid}: role {rid}: {', '.join(rest)} not carried over")
        if not self.role_used_elsewhere(rid):
            self.absorbed.add(rid)  # compile writes the state machine's role (SAM generates it)
        return out

    def machine_roles(self) -> set[str]:
        """The template roles that state machines name as their Role/RoleArn."""
        found = set()
        for lid, kind in self.kinds.items():
            if kind == "flow":
                props = self.resources[lid].get("Properties")
                for key in ("Role", "RoleArn"):
                    rid = _role_id(props.get(key)) if isinstance(props, dict) else None
                    if rid:
                        found.add(rid)
        return found

    def role_used_elsewhere(self, rid: str) -> bool:
        """Whether anything but state machines (as their role) and IAM policies names ``rid``."""
        needles = (f'"{rid}"', f'"{rid}.', "${" + rid + "}", "${" + rid + ".")
        for lid, res in self.resources.items():
            if lid == rid or res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
            assert isinstance(props, dict)
            if self.kinds.get(lid) == "flow":
                props = {k: v for k, v in props.items() if k not in ("Role", "RoleArn")}
            text = json.dumps(props)
            if any(n in text for n in needles):
                return True
        return False

    def substitutions(self, lid: str, subs: Any, ptr: Pointer) -> tuple[dict[str, str], dict[str, Any]]:
        """DefinitionSubstitutions → placeholders to rename (to an app name) and values to write in."""
        renames: dict[str, str] = {}
        literals: dict[str, Any] = {}
        for key, raw in (subs.items() if isinstance(subs, dict) else ()):
            value = self.value(raw, ptr + (key,))
            m = _MARKER.match(value) if isinstance(value, str) else None
            if m:
                name = m.group(1)
                # a topic's ${T} and ${TArn} are one value (Ref gives the ARN): keep the template's word
                if key == name + "Arn" and self.kinds.get(name) == "topic" or (
                        name.endswith("Arn") and key == name[:-3] and self.kinds.get(key) == "topic"):
                    name = str(key)
                renames[str(key)] = name
            else:
                literals[str(key)] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
        return renames, literals

    def unknown_placeholders(self, lid: str, asl: Any) -> None:
        names: set[str] = set()

        def walk(v: Any) -> None:
            if isinstance(v, str):
                names.update(_PLACEHOLDER.findall(v))
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        walk(asl)
        for name in sorted(names):
            base = name[:-3] if name.endswith("Arn") else name
            if name not in self.kinds and base not in self.kinds:
                self.warn(f"{lid}: placeholder ${{{name}}} has no substitution naming a function, resource or "
                          "flow of the template; compile will refuse it (FE803)")

    def logging(self, lid: str, logging: dict[str, Any]) -> None:
        if logging.get("Level") not in ("ALL", None) or logging.get("IncludeExecutionData") is not True:
            self.warn(f"{lid}: Logging becomes logging: true (level ALL, with execution data)")
        for dest in logging.get("Destinations") or []:
            group = ((dest or {}).get("CloudWatchLogsLogGroup") or {}).get("LogGroupArn") if isinstance(dest, dict) else None
            gid = group.get("Fn::GetAtt", [None])[0] if isinstance(group, dict) and isinstance(group.get("Fn::GetAtt"), list) else None
            if isinstance(gid, str) and self.resources.get(gid, {}).get("Type") == "AWS::Logs::LogGroup":
                self.absorbed.add(gid)
                if gid != f"{lid}Logs":
                    self.warn(f"{lid}: log group {gid} becomes {lid}Logs, the one compile writes")

    # --- comments ----------------------------------------------------------------------------------

    def collect_comments(self) -> None:
        """Comments of a YAML template, placed above the app-file key that carries what they
        stood above (or beside); comments on what has no place in the app go up to the
        nearest ancestor that has one, or to the top of the file."""
        if self.source.kind != "yaml":
            return
        for tpl_ptr, lines in template_comments(self.text).items():
            # compile's own header is about the template, not the app
            lines = [c for c in lines if not c.startswith(COMPILE_HEADER_LINES)]
            if not lines:
                continue
            ptr = tpl_ptr
            while ptr and ptr not in self.placed:
                ptr = ptr[:-1]
            target = self.placed.get(ptr) if ptr else None
            if target is None:
                target = ("app",)
            self.comments.setdefault(target, []).extend(lines)


def template_comments(text: str) -> dict[Pointer, list[str]]:
    """Comment lines of a YAML document keyed by the pointer of the mapping key they stand
    above (a comment at the end of a line belongs to that line's key).  Comments after the
    last key are keyed by the document's last key."""
    try:
        tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines = text.splitlines()
    ends: dict[int, int] = {}
    covered: set[int] = set()
    for tok in tokens:
        if isinstance(tok, (yaml.StreamStartToken, yaml.StreamEndToken)):
            continue
        start, end = tok.start_mark, tok.end_mark
        covered.update(range(start.line, end.line + 1))
        ends[end.line] = max(ends.get(end.line, 0), end.column)
    keys: dict[int, Pointer] = {}

    def walk(node: yaml.Node, ptr: Pointer) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    keys.setdefault(k.start_mark.line, ptr + (str(k.value),))
                    walk(v, ptr + (str(k.value),))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, ptr + (i,))

    if root is not None:
        walk(root, ())
    key_lines = sorted(keys)
    out: dict[Pointer, list[str]] = {}
    pending: list[str] = []
    for n, line in enumerate(lines):
        stripped = line.strip()
        if n not in covered:
            if stripped.startswith("#"):
                pending.append(stripped[1:].strip() if stripped[1:2] == " " or len(stripped) == 1 else stripped[1:])
            elif not stripped and pending and not any(k > n for k in key_lines):
                continue
            continue
        trailing = line[ends.get(n, len(line)):] if n in ends else ""
        note = trailing.strip()[1:].strip() if trailing.strip().startswith("#") else None
        if n in keys:
            if pending:
                out.setdefault(keys[n], []).extend(pending)
                pending = []
            if note:
                out.setdefault(keys[n], []).append(note)
        elif note:
            above = [k for k in key_lines if k < n]
            if above:
                out.setdefault(keys[above[-1]], []).append(note)
    if pending and key_lines:
        out.setdefault(keys[key_lines[-1]], []).extend(pending)
    return out


# --- small helpers -----------------------------------------------------------------------------------


class _Untranslatable(Exception):
    """A value of a policy that names something an app file cannot reference (the message
    says what)."""


#: Pseudo parameters a policy keeps as ``${AWS::...}`` (compile leaves them to Fn::Sub).
_POLICY_PSEUDO = ("AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName",
                  "AWS::URLSuffix")
#: (kind, Fn::GetAtt attribute or None for Ref) → the placeholder suffix that gives the same value.
_POLICY_REFERENCES: dict[tuple[str, str | None], str] = {
    ("function", None): "", ("function", "Arn"): "Arn",
    ("flow", None): "Arn", ("flow", "Arn"): "Arn", ("flow", "Name"): "",
    ("bucket", None): "", ("bucket", "Arn"): "Arn", ("bucket", "BucketName"): "",
    ("queue", None): "", ("queue", "QueueUrl"): "", ("queue", "Arn"): "Arn",
    ("topic", None): "", ("topic", "TopicArn"): "Arn",
    ("table", None): "", ("table", "Arn"): "Arn",
    ("event_bus", None): "", ("event_bus", "Name"): "", ("event_bus", "Arn"): "Arn",
}
#: Properties of a state machine's role that the flow's policies carry (or need not).
_ROLE_CARRIED = ("AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns", "Path", "RoleName", "Description",
                 "MaxSessionDuration", "Tags")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _escape_placeholders(text: str) -> str:
    """A literal string of a template as an app-file string: a ``${...}`` in it (an IAM policy
    variable such as ``${aws:username}``) is no placeholder, so it is written ``${!...}``."""
    return re.sub(r"\$\{(?!!)", "${!", text) if "${" in text else text


def _policy_label(policy: Any) -> str:
    if isinstance(policy, str):
        return policy
    if isinstance(policy, dict) and "Statement" in policy:
        return "(an inline policy document)"
    if isinstance(policy, dict) and len(policy) == 1:
        return str(next(iter(policy)))
    return json.dumps(policy)[:60]


def _role_id(raw: Any) -> str | None:
    """The logical id a Role/RoleArn value names: ``!GetAtt R.Arn``, ``!Sub ${R.Arn}``."""
    if isinstance(raw, dict) and len(raw) == 1:
        (fn, arg), = raw.items()
        if fn == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and parts[1] == "Arn" and isinstance(parts[0], str):
                return parts[0]
        if fn == "Fn::Sub" and isinstance(arg, str):
            m = re.fullmatch(r"\$\{([A-Za-z0-9]+)\.Arn\}", arg.strip())
            if m:
                return m.group(1)
    return None


def _role_name(raw: Any) -> str | None:
    """The logical id an ``AWS::IAM::Policy``'s ``Roles`` entry names (``!Ref R``)."""
    if isinstance(raw, dict) and list(raw) == ["Ref"] and isinstance(raw["Ref"], str):
        return raw["Ref"]
    return None


#: What a Ref / Fn::GetAtt Arn of a resource the app file does not model is written as: the
#: shape the service gives, in the local account, so that a definition stays valid ASL.
_STAND_INS = {
    "AWS::Lambda::Function": ("{id}", "arn:aws:lambda:{region}:{account}:function:{id}"),
    "AWS::StepFunctions::Activity": ("arn:aws:states:{region}:{account}:activity:{id}",
                                     "arn:aws:states:{region}:{account}:activity:{id}"),
    "AWS::IAM::Role": ("{id}", "arn:aws:iam::{account}:role/{id}"),
    "AWS::Kinesis::Stream": ("{id}", "arn:aws:kinesis:{region}:{account}:stream/{id}"),
}


def _local_arn(kind: str, name: str) -> str:
    region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
    return {
        "bucket": f"arn:aws:s3:::{name}", "queue": f"arn:aws:sqs:{region}:{account}:{name}",
        "topic": f"arn:aws:sns:{region}:{account}:{name}", "table": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
        "event_bus": f"arn:aws:events:{region}:{account}:event-bus/{name}",
        "function": f"arn:aws:lambda:{region}:{account}:function:{name}",
        "flow": f"arn:aws:states:{region}:{account}:stateMachine:{name}",
    }.get(kind, name)


def _stand_in(rtype: str, lid: str, attr: str | None) -> str:
    shapes = _STAND_INS.get(rtype)
    if shapes is not None and attr in (None, "Arn"):
        shape = shapes[0] if attr is None else shapes[1]
        return shape.format(id=lid, region=PSEUDO_PARAMETERS["AWS::Region"], account=PSEUDO_PARAMETERS["AWS::AccountId"])
    return f"imported-{lid}" + (f"-{attr}" if attr else "")


def _fill(value: Any, values: dict[str, Any]) -> Any:
    """``${K}`` placeholders of a definition filled as CloudFormation fills its text: inside
    strings, as text."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _PLACEHOLDER.sub(lambda m: _env_text(values[m.group(1)]) if m.group(1) in values else m.group(0), value)
    if isinstance(value, dict):
        return {_fill(k, values): _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(x, values) for x in value]
    return value


def _duration_strings(asl: Any) -> bool:
    """Whether a definition has a duration-looking string where the app file reads one
    (it would change meaning if loaded as an app flow's definition_file)."""
    from flowengine.dsl.durations import is_duration

    if isinstance(asl, dict):
        return any((k in ("Seconds", "TimeoutSeconds", "HeartbeatSeconds", "IntervalSeconds", "MaxDelaySeconds")
                    and is_duration(v)) or _duration_strings(v) for k, v in asl.items())
    if isinstance(asl, list):
        return any(_duration_strings(x) for x in asl)
    return False


def _compiled_bucket_label(name: Any) -> str | None:
    """The ``<app>-<bucket>`` label of a bucket name compile writes, else None."""
    if isinstance(name, dict) and list(name) == ["Fn::Sub"] and isinstance(name["Fn::Sub"], list) and len(name["Fn::Sub"]) == 2:
        text, variables = name["Fn::Sub"]
        m = _COMPILED_BUCKET.match(text) if isinstance(text, str) else None
        if m and isinstance(variables, dict) and list(variables) == ["StackSuffix"]:
            return m.group(1)
    return None


def _generated_alarm(fn: str, target: Any, res: Any) -> str | None:
    """``errors``/``throttles`` when ``target`` is the rollout alarm compile generates for ``fn``."""
    if not isinstance(target, str) or not isinstance(res, dict) or res.get("Type") != "AWS::CloudWatch::Alarm":
        return None
    props = res.get("Properties") or {}
    for word, metric in (("errors", "Errors"), ("throttles", "Throttles")):
        if target == f"{fn}{metric}Alarm" and props.get("MetricName") == metric and props.get("Namespace") == "AWS/Lambda":
            return word
    return None


def _dns(text: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower().replace("_", "-")
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", snake)).strip("-")


def _unescape(text: str) -> str:
    return text.replace("\\*", "*").replace("\\\\", "\\")


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _json_input(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, (dict, list)) else value
    return value


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _seconds_text(value: Any) -> Any:
    """Whole seconds as the duration the app file writes (``30s``, ``5m``)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s"


def _rel(path: str, base: str) -> str:
    return os.path.relpath(os.path.abspath(path), base).replace(os.sep, "/")

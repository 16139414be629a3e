"""A SAM or CloudFormation template → the same :class:`~flowengine.model.app.App` an app file gives.

Entry point: :func:`load_template` (and :func:`from_template_source` for a source already
read).  ``flowengine.dsl.app.load`` calls it for any file that :func:`is_template` says is
a template, so every command (validate, run, up, send, graph, mocks scaffold) and the
Python API take a template as they take an app file.

What becomes what (docs/sam.md has the full table):

* ``AWS::Serverless::StateMachine`` / ``AWS::StepFunctions::StateMachine`` → a flow named
  by its logical id.  ``Definition`` (inline), ``DefinitionUri`` (a local file),
  ``DefinitionString``; ``DefinitionSubstitutions`` filled the way CloudFormation fills
  them (into the definition's text, so ``"MaxConcurrency": ${N}`` loads); ``Type`` /
  ``StateMachineType``; ``Events`` → triggers.
* ``AWS::Serverless::Function`` (with ``Globals``) and ``AWS::Lambda::Function`` → a
  function whose handler is imported from its own ``CodeUri`` (plus local ``Layers``);
  inline code (``InlineCode``, ``Code.ZipFile``) is written to a cache directory keyed by
  its content.  Runtimes other than Python are kept, reported (FE908), and fail when
  invoked unless mocked.
* Buckets, queues (``RedrivePolicy``), topics (+ subscriptions), tables (key schema),
  ``SimpleTable`` and event buses → emulated resources; ``AWS::Events::Rule``,
  ``AWS::SNS::Subscription`` and ``AWS::Lambda::EventSourceMapping`` → triggers.
* Every other resource type is listed once as an FE901 warning: read, not emulated.

References resolve to what the local emulation answers to.  Inside a definition or a
function's environment they become the app file's own placeholders (``${Table}``,
``${WorkerArn}``: docs/app-file.md, References), which the runtime fills with the emulated
resource's local name, URL or ARN; in triggers and resource settings they become those
local values directly.  ``AWS::Region`` and ``AWS::AccountId`` are the engine's default
account (us-east-1, 123456789012); ``AWS::StackName`` is the app's name.

Like :mod:`flowengine.dsl.app`, loading never stops at the first problem of a template it
could parse: problems go to :attr:`LoadedApp.load_diagnostics` (FE9xx), located in the
template or in the ``DefinitionUri`` file, for ``validate`` to report with the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowengine.dsl.app import LoadedApp, is_plain_asl, substitute
from flowengine.dsl.asl import build_state_machine
from flowengine.dsl.cfn import NO_VALUE, PSEUDO_PARAMETERS, Intrinsics, as_text, load_template_text
from flowengine.dsl.names import local_name
from flowengine.dsl.source import Pointer, Source, SubSource, load_text, read_text
from flowengine.dsl.substitutions import PLACEHOLDER, load_definition_file, load_definition_text, unresolved_diagnostics
from flowengine.dsl.streams import STARTING_POSITIONS, stream_table_arn, view_type
from flowengine.errors import LoadError
from flowengine.model.app import App, Flow, Function, Resource, Rollout, Trigger
from flowengine.model.asl import Loc
from flowengine.model.diagnostics import Diagnostic, Span
from flowengine.model.runtimes import LAMBDA_RUNTIMES, stage

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

#: Resource types that become flows, functions and emulated resources.
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
RESOURCE_TYPES = {
    "AWS::S3::Bucket": "bucket", "AWS::SQS::Queue": "queue", "AWS::SNS::Topic": "topic",
    "AWS::DynamoDB::Table": "table", "AWS::Serverless::SimpleTable": "table", "AWS::Events::EventBus": "event_bus",
}
#: Types read for the triggers they declare (they are not resources of their own).
TRIGGER_TYPES = ("AWS::Events::Rule", "AWS::SNS::Subscription", "AWS::Lambda::EventSourceMapping")
#: Types read for what other resources use (layers: import paths).
SUPPORT_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")

#: Event types of a function / a state machine that become triggers.
FUNCTION_EVENTS = ("S3", "SQS", "SNS", "DynamoDB", "EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2",
                   "Api", "HttpApi")
STATE_MACHINE_EVENTS = ("Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent", "Api")

#: Globals sections and the resource type each applies to.
GLOBALS = {"Function": "AWS::Serverless::Function", "StateMachine": "AWS::Serverless::StateMachine",
           "SimpleTable": "AWS::Serverless::SimpleTable"}

#: The property that names each emulated resource type (its physical name).
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName", "AWS::SQS::Queue": "QueueName", "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName", "AWS::Serverless::SimpleTable": "TableName", "AWS::Events::EventBus": "Name",
}
_SIMPLE_KEY_TYPES = {"String": "S", "Number": "N", "Binary": "B"}
_TEXT_HINTS = (re.compile(r"^AWSTemplateFormatVersion\s*:", re.M),
               re.compile(r"^Transform\s*:.*AWS::Serverless", re.M),
               re.compile(r"^\s+Type\s*:\s*['\"]?AWS::[A-Za-z0-9]+::", re.M))


# --- detection ---------------------------------------------------------------------------------------


def looks_like_template(text: str) -> bool:
    """A cheap look at a file's text: does it read like a CloudFormation template?  (Decides
    which YAML loader to use; :func:`is_template` decides on the parsed document.)"""
    head = text[:200_000]
    if re.search(r"^app\s*:", head, re.M) and not _TEXT_HINTS[0].search(head):
        return False
    return any(p.search(head) for p in _TEXT_HINTS[:2]) or (
        bool(re.search(r"^Resources\s*:", head, re.M)) and bool(_TEXT_HINTS[2].search(head)))


def is_template(value: Any) -> bool:
    """A SAM or CloudFormation template: ``Transform: AWS::Serverless-2016-10-31``,
    ``AWSTemplateFormatVersion``, or ``Resources`` of ``AWS::`` types (and no ``app:``)."""
    if not isinstance(value, dict) or "app" in value:
        return False
    if "AWSTemplateFormatVersion" in value:
        return True
    transform = value.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if any(isinstance(t, str) and t.startswith("AWS::Serverless") for t in transforms):
        return True
    resources = value.get("Resources")
    return isinstance(resources, dict) and bool(resources) and all(
        isinstance(r, dict) and isinstance(r.get("Type"), str) and r["Type"].startswith(("AWS::", "Custom::"))
        for r in resources.values())


# --- what the loader keeps beyond the model --------------------------------------------------------


@dataclass
class FlowOrigin:
    """How a state machine was written in the template."""

    logical_id: str
    resource_type: str
    #: ``inline`` (Definition), ``uri`` (DefinitionUri: ``definition_path``) or ``string`` (DefinitionString)
    definition_kind: str
    definition_path: str | None = None  # absolute path of the DefinitionUri file
    #: DefinitionSubstitutions as written (long-form intrinsics) and as resolved locally
    #: (with the app file's placeholders: ``${Table}``, ``${WorkerArn}``)
    substitutions_raw: dict[str, Any] = field(default_factory=dict)
    substitutions: dict[str, Any] = field(default_factory=dict)
    #: the definition before DefinitionSubstitutions were filled (placeholders as written)
    unsubstituted: dict[str, Any] = field(default_factory=dict)
    policies: Any = None
    role: Any = None
    events: dict[str, Any] = field(default_factory=dict)
    name: Any = None  # Name / StateMachineName as written


@dataclass
class FunctionOrigin:
    """How a function was written: its properties after Globals, as written (long form)."""

    logical_id: str
    resource_type: str
    properties: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the function's name in the app: FunctionName when plain, else the logical id
    code_dir: str | None = None  # absolute CodeUri directory (or the inline-code cache directory)
    inline: bool = False


@dataclass
class TemplateInfo:
    """The template a :class:`LoadedApp` came from, for tools that need more than the model
    (``flowengine import``): the document (long-form intrinsics), the values used, and
    per logical id how flows and functions were written."""

    path: str
    document: dict[str, Any]
    sam: bool  # has the SAM transform
    parameters: dict[str, Any] = field(default_factory=dict)  # the values used (Defaults + overrides)
    conditions: dict[str, bool] = field(default_factory=dict)
    flows: dict[str, FlowOrigin] = field(default_factory=dict)
    functions: dict[str, FunctionOrigin] = field(default_factory=dict)
    resource_types: dict[str, str] = field(default_factory=dict)  # every logical id → its Type
    not_modelled: dict[str, list[str]] = field(default_factory=dict)  # Type → logical ids (FE901)
    globals: dict[str, Any] = field(default_factory=dict)


# --- entry points ------------------------------------------------------------------------------------


def load_template(path: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None,
                  imports: Mapping[str, Any] | None = None) -> LoadedApp:
    """Load a SAM or CloudFormation template (YAML or JSON) as an app.

    ``parameters`` override the template's ``Parameters`` (``--parameter-overrides``); a
    name that is no parameter but an ``Fn::ImportValue`` export name gives that import's
    value (``imports`` may give them separately).  Returns a :class:`LoadedApp` whose
    ``template`` is the :class:`TemplateInfo`; raises :class:`LoadError` only when the file
    cannot be read or parsed (problems inside it are ``load_diagnostics``)."""
    path = os.fspath(path)
    text = read_text(path)
    return load_template_text_as_app(text, path, parameters=parameters, imports=imports)


def load_template_text_as_app(text: str, path: str, *, parameters: Mapping[str, Any] | None = None,
                              imports: Mapping[str, Any] | None = None) -> LoadedApp:
    """:func:`load_template` on text already read (``path`` locates it and its relative paths)."""
    stripped = text.lstrip()
    if path.endswith(".json") or (stripped.startswith("{") and not path.endswith((".yaml", ".yml"))):
        source = load_text(text, path)
    else:
        source = load_template_text(text, path)
    return from_template_source(source, parameters=parameters, imports=imports, text=text)


def from_template_source(source: Source, *, parameters: Mapping[str, Any] | None = None,
                         imports: Mapping[str, Any] | None = None, base_dir: str | None = None,
                         text: str | None = None) -> LoadedApp:
    """A template already loaded into a located :class:`Source` → :class:`LoadedApp`."""
    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(source.path)) if source.kind != "dict" else os.getcwd()
    return _TemplateBuilder(source, base_dir, dict(parameters or {}), dict(imports or {}), text).build()


def app_name_for(path: str) -> str:
    """The app name of a template: its directory's name for ``template.yaml``/``.json``
    (SAM projects keep one template per directory), else the file's stem."""
    base = os.path.basename(path)
    stem = re.sub(r"\.(ya?ml|json|template)$", "", base)
    if stem in ("template", "packaged", "sam-template", "") and path not in ("<string>", "<dict>"):
        stem = os.path.basename(os.path.dirname(os.path.abspath(path))) or stem
    name = re.sub(r"[^A-Za-z0-9-]+", "-", stem).strip("-")
    return name or "template"


# --- the builder ---------------------------------------------------------------------------------------


_ACCOUNT, _REGION, _PARTITION = (PSEUDO_PARAMETERS["AWS::AccountId"], PSEUDO_PARAMETERS["AWS::Region"],
                                 PSEUDO_PARAMETERS["AWS::Partition"])


class _TemplateBuilder:
    def __init__(self, source: Source, base_dir: str, parameters: dict[str, Any], imports: dict[str, Any],
                 text: str | None) -> None:
        self.source = source
        self.doc: dict[str, Any] = source.value if isinstance(source.value, dict) else {}
        self.base_dir = base_dir
        self.overrides = parameters
        self.text_lines = text.splitlines() if text is not None else None
        self.diagnostics: list[Diagnostic] = []
        self.name = app_name_for(source.path)
        self.resources_raw: dict[str, Any] = _dict(self.doc.get("Resources"))
        self.types: dict[str, str] = {
            k: v["Type"] for k, v in self.resources_raw.items() if isinstance(v, dict) and isinstance(v.get("Type"), str)}
        self.kinds: dict[str, str] = {k: RESOURCE_TYPES[t] for k, t in self.types.items() if t in RESOURCE_TYPES}
        self.literal = False  # reference mode: placeholders (False) or local values (True)
        self.info = TemplateInfo(source.path, self.doc, sam=self._is_sam(), resource_types=dict(self.types))
        self.flow_sources: dict[str, Source | SubSource] = {}
        self.triggers: list[Trigger] = []
        self.functions: dict[str, Function] = {}
        self.resources: dict[str, Resource] = {}
        self.flows: dict[str, Flow] = {}
        self.unloaded: set[str] = set()  # flows whose definition could not be read
        self.old_runtimes: set[str] = set()  # Python runtimes Lambda no longer takes, reported once each
        #: a function's name: its FunctionName when that is a plain name, else its logical id
        self.fn_names: dict[str, str] = {}
        values = self._parameters()
        pseudo = dict(PSEUDO_PARAMETERS)
        pseudo["AWS::StackName"] = self.name
        pseudo["AWS::StackId"] = f"arn:{_PARTITION}:cloudformation:{_REGION}:{_ACCOUNT}:stack/{self.name}/local"
        imports = dict(imports)
        for k, v in parameters.items():  # an override that is no parameter may name an export
            if k not in values:
                imports.setdefault(k, v)
        self.cfn = Intrinsics(source, parameters=values, pseudo=pseudo, mappings=self.doc.get("Mappings") or {},
                              conditions=self.doc.get("Conditions") or {}, reference=self._reference, imports=imports,
                              diagnostics=self.diagnostics, names=list(self.types))
        self.info.parameters = values
        self.literal_values: dict[str, str] = {}
        for rid, t in self.types.items():
            named = _props(self.resources_raw[rid]).get("FunctionName") if t in FUNCTION_TYPES else None
            if named is not None:
                value = self.resolve(named, ("Resources", rid, "Properties", "FunctionName"), literal=True)
                if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
                    self.fn_names[rid] = value
        #: a resource's physical name, where the template gives one (TableName, BucketName ...)
        self.physical: dict[str, str] = {}
        for rid, kind in self.kinds.items():
            key = _NAME_PROPERTY[self.types[rid]]
            named = _props(self.resources_raw[rid]).get(key)
            if named is not None:
                value = self.resolve(named, ("Resources", rid, "Properties", key), literal=True)
                if isinstance(value, str) and value:
                    self.physical[rid] = value
        self.literal_values = self._literal_table()

    # -- reporting ----------------------------------------------------------------------------------

    def report(self, code: str, message: str, ptr: Pointer, hint: str | None = None, severity: str = "error",
               source: Any = None) -> None:
        span = (source or self.source).span(ptr)
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint, severity=severity))  # type: ignore[arg-type]

    def _is_sam(self) -> bool:
        t = self.doc.get("Transform")
        return any(isinstance(x, str) and x.startswith("AWS::Serverless") for x in (t if isinstance(t, list) else [t]))

    # -- parameters -----------------------------------------------------------------------------------

    def _parameters(self) -> dict[str, Any]:
        params = _dict(self.doc.get("Parameters"))
        values: dict[str, Any] = {}
        for name, spec in params.items():
            spec = spec if isinstance(spec, dict) else {}
            kind = str(spec.get("Type", "String"))
            if name in self.overrides:
                value: Any = self.overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                self.report("FE907", f"parameter '{name}' has no Default and no value was given", ("Parameters", name),
                            hint=f"give it with --parameter-overrides {name}=VALUE; '{name}' stands in for it",
                            severity="warning")
                value = name
            if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(value, str):
                value = [v.strip() for v in value.split(",")] if value else []
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, (int, float)):
                value = str(value)
            values[name] = value
        return values

    # -- references -----------------------------------------------------------------------------------

    def _literal_table(self) -> dict[str, str]:
        """``X``/``XArn`` → the local value (as :func:`flowengine.runtime.engine.local_references`)."""
        values: dict[str, str] = {}
        for rid, kind in self.kinds.items():
            fifo = kind == "queue" and _props(self.resources_raw[rid]).get("FifoQueue") in (True, "true")
            local = self.physical.get(rid) or local_name(self.name, rid, kind, fifo=fifo)
            if kind == "bucket":
                address, arn = local, f"arn:{_PARTITION}:s3:::{local}"
            elif kind == "queue":
                address = f"https://sqs.{_REGION}.amazonaws.com/{_ACCOUNT}/{local}"
                arn = f"arn:{_PARTITION}:sqs:{_REGION}:{_ACCOUNT}:{local}"
            elif kind == "topic":
                address = arn = f"arn:{_PARTITION}:sns:{_REGION}:{_ACCOUNT}:{local}"
            elif kind == "table":
                address, arn = local, f"arn:{_PARTITION}:dynamodb:{_REGION}:{_ACCOUNT}:table/{local}"
            else:
                address, arn = local, f"arn:{_PARTITION}:events:{_REGION}:{_ACCOUNT}:event-bus/{local}"
            values[rid], values[f"{rid}Arn"] = address, arn
        for rid, t in self.types.items():
            if t in STATE_MACHINE_TYPES:
                values.setdefault(rid, rid)
                values.setdefault(f"{rid}Arn", f"arn:{_PARTITION}:states:{_REGION}:{_ACCOUNT}:stateMachine:{rid}")
            elif t in FUNCTION_TYPES:
                name = self.fn_names.get(rid, rid)
                values[name] = name
                values[f"{name}Arn"] = f"arn:{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:function:{name}"
        return values

    def _reference(self, rid: str, attr: str | None, ptr: Pointer) -> Any:
        """Ref / GetAtt of a resource of the template (None: no such resource)."""
        t = self.types.get(rid)
        if t is None:
            if rid == "ServerlessRestApi" or rid == "ServerlessHttpApi":
                return f"local-{rid.lower()}"
            base, _, suffix = rid.rpartition(".")  # !Ref Function.Alias / .Version
            if base in self.types and suffix in ("Alias", "Version"):
                return self._reference(base, None, ptr)
            return None
        value = self._placeholder(rid, t, attr)
        if self.literal:
            value = substitute(value, self.literal_values)
        return value

    def _placeholder(self, rid: str, t: str, attr: str | None) -> str:
        kind = RESOURCE_TYPES.get(t)
        a = attr or "Ref"
        if t in FUNCTION_TYPES:
            name = self.fn_names.get(rid, rid)
            return f"${{{name}Arn}}" if a == "Arn" else f"${{{name}}}"
        if t in STATE_MACHINE_TYPES:
            return f"${{{rid}}}" if a == "Name" else f"${{{rid}Arn}}"
        if kind == "bucket":
            return {"Ref": f"${{{rid}}}", "Arn": f"${{{rid}Arn}}",
                    "DomainName": f"${{{rid}}}.s3.amazonaws.com",
                    "RegionalDomainName": f"${{{rid}}}.s3.{_REGION}.amazonaws.com",
                    "WebsiteURL": f"http://${{{rid}}}.s3-website-{_REGION}.amazonaws.com"}.get(a, f"${{{rid}}}")
        if kind == "queue":
            if a == "QueueName":
                return self.literal_values[rid].rsplit("/", 1)[-1]
            return f"${{{rid}Arn}}" if a == "Arn" else f"${{{rid}}}"
        if kind == "topic":
            if a == "TopicName":
                return self.literal_values[rid].rsplit(":", 1)[-1]
            return f"${{{rid}}}"
        if kind == "table":
            if a == "StreamArn" or a == "LatestStreamArn":
                return f"${{{rid}Arn}}/stream/2020-01-01T00:00:00.000"
            return f"${{{rid}Arn}}" if a == "Arn" else f"${{{rid}}}"
        if kind == "event_bus":
            return f"${{{rid}Arn}}" if a == "Arn" else f"${{{rid}}}"
        # not emulated: deterministic stand-ins in AWS's shapes
        service = t.split("::")[1].lower() if t.count("::") >= 2 else "cloudformation"
        noun = t.rsplit("::", 1)[-1].lower()
        if t in SUPPORT_TYPES:
            return f"arn:{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:layer:{rid}:1"
        if t.startswith("AWS::IAM::"):
            return f"arn:{_PARTITION}:iam::{_ACCOUNT}:{noun}/{rid}" if a == "Arn" else rid
        if a == "Ref" and t not in _REF_IS_ARN:
            return rid
        if a == "Ref" or a == "Arn" or a.endswith("Arn"):
            if t == "AWS::StepFunctions::Activity":
                noun = "activity"
            return f"arn:{_PARTITION}:{service}:{_REGION}:{_ACCOUNT}:{noun}:{rid}"
        return f"{rid}-{a}"

    def resolve(self, value: Any, ptr: Pointer, *, literal: bool = False) -> Any:
        before, self.literal = self.literal, literal
        try:
            return self.cfn.resolve(value, ptr)
        finally:
            self.literal = before

    def resource_of(self, value: Any, kinds: tuple[str, ...]) -> str | None:
        """The logical id a resolved local value (name, URL or ARN) points at."""
        if not isinstance(value, str):
            return None
        for rid, kind in self.kinds.items():
            if kind in kinds and value in (self.literal_values[rid], self.literal_values[f"{rid}Arn"],
                                           self.literal_values[rid].rsplit("/", 1)[-1]):
                return rid
        for rid, t in self.types.items():
            name = self.fn_names.get(rid, rid)
            if (("function" in kinds and t in FUNCTION_TYPES) or ("flow" in kinds and t in STATE_MACHINE_TYPES)) \
                    and value in (self.literal_values.get(name), self.literal_values.get(f"{name}Arn")):
                return rid
        return None

    # -- the build -------------------------------------------------------------------------------------

    def build(self) -> LoadedApp:
        if not isinstance(self.source.value, dict):
            raise LoadError([Diagnostic("FE109", "the template is not a mapping", self.source.span(()))])
        if not self.resources_raw:
            self.report("FE910", "the template has no Resources", ("Resources",),
                        hint="a template needs a Resources section; a state machine is an AWS::Serverless::StateMachine")
        self.info.conditions = {c: self.cfn.condition(c, ("Conditions", c))
                                for c in (self.doc.get("Conditions") or {}) if isinstance(c, str)}
        self.globals = _dict(self.doc.get("Globals"))
        self.info.globals = self.globals
        layers = {}
        for rid, raw in self.resources_raw.items():
            ptr: Pointer = ("Resources", rid)
            if not isinstance(raw, dict) or not isinstance(raw.get("Type"), str):
                self.report("FE910", f"resource '{rid}' has no Type", ptr, hint="e.g. Type: AWS::S3::Bucket")
                continue
            if "Condition" in raw and not self.cfn.condition(raw["Condition"], ptr + ("Condition",)):
                continue
            t = raw["Type"]
            if t in SUPPORT_TYPES:
                layers[rid] = raw
        self.layers = layers
        for rid, raw in self.resources_raw.items():
            if not isinstance(raw, dict) or not isinstance(raw.get("Type"), str):
                continue
            ptr = ("Resources", rid)
            if "Condition" in raw and not self.info.conditions.get(raw["Condition"], True):
                continue
            t = raw["Type"]
            try:
                if t in STATE_MACHINE_TYPES:
                    self.flow(rid, raw, ptr)
                elif t in FUNCTION_TYPES:
                    self.function(rid, raw, ptr)
                elif t in RESOURCE_TYPES:
                    self.resource(rid, raw, ptr)
                elif t == "AWS::Events::Rule":
                    self.events_rule(rid, raw, ptr)
                elif t == "AWS::SNS::Subscription":
                    self.sns_subscription(rid, _props(raw), ptr + ("Properties",))
                elif t == "AWS::Lambda::EventSourceMapping":
                    self.event_source_mapping(rid, raw, ptr)
                elif t in SUPPORT_TYPES:
                    pass
                else:
                    self.info.not_modelled.setdefault(t, []).append(rid)
            except RecursionError:
                self.report("FE106", f"resource '{rid}' is nested too deeply", ptr)
        for t, ids in sorted(self.info.not_modelled.items()):
            self.report("FE901", f"{t} is not emulated locally ({len(ids)}: {', '.join(ids[:5])}"
                        + (", ..." if len(ids) > 5 else "") + ")", ("Resources", ids[0], "Type"),
                        hint=_NOT_MODELLED_HINTS.get(t.split("::")[1] if t.count("::") >= 2 else "",
                                                     "it is read and listed, nothing more"),
                        severity="warning")
        self.check_placeholders()
        app = App(
            name=self.name, functions=self.functions, resources=self.resources, flows=self.flows,
            triggers=tuple(self.triggers), code_paths=(self.base_dir,), source_path=self.source.path,
            description=self.doc.get("Description") if isinstance(self.doc.get("Description"), str) else None,
            loc=Loc((), self.source),
        )
        loaded = LoadedApp(app, self.source, self.flow_sources, self.diagnostics, frozenset(self.unloaded))
        loaded.template = self.info
        return loaded

    # -- state machines ----------------------------------------------------------------------------------

    def flow(self, rid: str, raw: dict[str, Any], ptr: Pointer) -> None:
        t = raw["Type"]
        props = _props(raw)
        pp = ptr + ("Properties",)
        serverless = t == "AWS::Serverless::StateMachine"
        subs_raw = _dict(props.get("DefinitionSubstitutions"))
        for key in ("DefinitionSubstitutions", "Events"):
            if key in props and not isinstance(props[key], dict):
                self.report("FE910", f"{key} must be a mapping", pp + (key,),
                            hint="DefinitionSubstitutions map names to values; Events map names to events")
        subs: dict[str, Any] = {}
        for k, v in subs_raw.items():
            r = self.resolve(v, pp + ("DefinitionSubstitutions", k))
            subs[k] = r if isinstance(r, (str, int, float, bool)) else as_text(r)
        origin = FlowOrigin(rid, t, "inline", substitutions_raw=dict(subs_raw), substitutions=subs,
                            policies=props.get("Policies"), role=props.get("Role") or props.get("RoleArn"),
                            events=_dict(props.get("Events")),
                            name=props.get("Name") if serverless else props.get("StateMachineName"))
        view: Source | SubSource
        asl: Any = {}
        where = f"DefinitionSubstitutions of '{rid}'"
        if isinstance(props.get("Definition"), dict):
            view = self.source.with_prefix(pp + ("Definition",))
            resolved = self.resolve(props["Definition"], pp + ("Definition",))
            origin.unsubstituted = resolved
            asl = substitute(resolved, subs)
            self._placeholders_left(resolved, subs, view, where)
        elif serverless and "DefinitionUri" in props:
            uri = self.resolve(props["DefinitionUri"], pp + ("DefinitionUri",), literal=True)
            if not isinstance(uri, str) or uri.startswith("s3://"):
                self.report("FE905", "DefinitionUri is not a local file: an S3 location cannot be read offline",
                            pp + ("DefinitionUri",), hint="point DefinitionUri at the local ASL file, as before sam package")
                view, asl = self._unloaded(rid, ptr)
            else:
                path = os.path.normpath(os.path.join(self.base_dir, uri))
                origin.definition_kind, origin.definition_path = "uri", path
                root = os.path.realpath(self.base_dir)
                named = self.source.span(pp + ("DefinitionUri",))
                try:
                    if not os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep):
                        # as an app file's definition_file: no way to print fragments of other files
                        raise LoadError([Diagnostic(
                            "FE110", f"DefinitionUri '{uri}' is outside the template's directory", named,
                            f"state machine '{rid}'", hint=f"keep ASL files in {root} or below; a symlink counts "
                                                           "where it points")])
                    src, left = load_definition_file(path, subs)
                    if not is_plain_asl(src.value):
                        raise LoadError([Diagnostic(
                            "FE111", f"DefinitionUri '{uri}' is not an ASL definition (a JSON or YAML mapping with "
                            "StartAt and States)", named, f"state machine '{rid}'",
                            hint="its content is not shown")])
                    view, asl = src, src.value
                    self.diagnostics.extend(unresolved_diagnostics([u for u in left if not self._known(u.name)],
                                                                   where=where))
                    try:
                        origin.unsubstituted = load_definition_file(path, {})[0].value
                    except LoadError:
                        origin.unsubstituted = {}
                except LoadError as exc:
                    for d in exc.diagnostics:
                        if d.code == "FE101":
                            d = Diagnostic(d.code, f"DefinitionUri '{uri}': {d.message}",
                                           self.source.span(pp + ("DefinitionUri",)), hint="the path is relative to the template")
                        self.diagnostics.append(d)
                    view, asl = self._unloaded(rid, ptr)
        elif not serverless and "DefinitionString" in props:
            origin.definition_kind = "string"
            text = self.resolve(props["DefinitionString"], pp + ("DefinitionString",))
            if not isinstance(text, str):
                self.report("FE911", "DefinitionString is not a string", pp + ("DefinitionString",))
                view, asl = self._unloaded(rid, ptr)
            else:
                try:
                    src, left = load_definition_text(text, self.source.path + ".json", subs)
                    src = self._shift_into_template(src, text, pp + ("DefinitionString",))
                    view, asl = src, src.value
                    origin.unsubstituted = load_definition_text(text, self.source.path + ".json", {})[0].value
                    for u in left:
                        if not self._known(u.name):
                            self.report("FE906", f"placeholder ${{{u.name}}} has no value", pp + ("DefinitionString",),
                                        hint=f"add it to {where}", severity="warning")
                except LoadError as exc:
                    d = exc.diagnostics[0]
                    self.report("FE911", f"DefinitionString is not a valid definition: {d.message}",
                                pp + ("DefinitionString",))
                    view, asl = self._unloaded(rid, ptr)
        elif "DefinitionS3Location" in props:
            self.report("FE905", "DefinitionS3Location is an S3 object: it cannot be read offline",
                        pp + ("DefinitionS3Location",), hint="write the definition inline, or use DefinitionUri with a local file")
            view, asl = self._unloaded(rid, ptr)
        else:
            self.report("FE910", f"state machine '{rid}' has no definition", pp if "Properties" in raw else ptr,
                        hint="give Definition or DefinitionUri" if serverless else "give Definition or DefinitionString")
            view, asl = self._unloaded(rid, ptr)
        if not isinstance(asl, dict):
            self.report("FE109", "the definition is not a mapping", pp)
            asl = {}
        kind = self.resolve(props.get("Type" if serverless else "StateMachineType", "STANDARD"), pp)
        logging = props.get("Logging")
        tracing = props.get("Tracing") if serverless else props.get("TracingConfiguration")
        self.flow_sources[rid] = view
        self.flows[rid] = Flow(
            name=rid, definition=build_state_machine(asl, view), asl=asl,
            type="EXPRESS" if str(kind).upper() == "EXPRESS" else "STANDARD",
            logging=isinstance(logging, dict) and str(logging.get("Level", "OFF")).upper() != "OFF",
            tracing=isinstance(tracing, dict) and tracing.get("Enabled") in (True, "true"),
            loc=Loc(ptr, self.source),
        )
        self.info.flows[rid] = origin
        if serverless:
            for name, event in origin.events.items():
                self.event(rid, "flow", name, event, pp + ("Events", name), STATE_MACHINE_EVENTS)

    def _unloaded(self, rid: str, ptr: Pointer) -> tuple[SubSource, dict[str, Any]]:
        """A flow whose definition could not be read: empty, and not validated further."""
        self.unloaded.add(rid)
        return self.source.with_prefix(ptr), {}

    def _known(self, name: str) -> bool:
        base = name[:-3] if name.endswith("Arn") else name
        return name in self.types or base in self.types

    def _placeholders_left(self, asl: Any, subs: Mapping[str, Any], view: Source | SubSource, where: str) -> None:
        """FE906 for ``${X}`` in an inline definition that no substitution fills."""
        for ptr, name in _placeholders(asl, ()):
            if name not in subs and not self._known(name):
                self.diagnostics.append(Diagnostic("FE906", f"placeholder ${{{name}}} has no value", view.span(ptr),
                                                   hint=f"add it to {where}", severity="warning"))

    def _shift_into_template(self, src: Source, text: str, ptr: Pointer) -> Source:
        """Positions of a DefinitionString's JSON → positions in the template, where the
        string is a block scalar written in the file (else: the DefinitionString itself)."""
        start = self.source.span(ptr)
        first = next((ln for ln in text.splitlines() if ln.strip()), None)
        shift: tuple[int, int] | None = None
        if self.text_lines is not None and first is not None:
            for i in range(start.line - 1, min(len(self.text_lines), start.line + 3)):
                written = self.text_lines[i]
                if written.strip() == first.strip():
                    first_index = next(n for n, ln in enumerate(text.splitlines()) if ln.strip())
                    shift = (i - first_index,
                             (len(written) - len(written.lstrip())) - (len(first) - len(first.lstrip())))
                    break
        src._ensure_index()
        for table in (src._values, src._keys):
            for p, (line, col) in list(table.items()):
                table[p] = (line + shift[0], col + shift[1]) if shift is not None else (start.line, start.col)
        src.path = self.source.path
        return src

    # -- functions ---------------------------------------------------------------------------------------

    def function(self, rid: str, raw: dict[str, Any], ptr: Pointer) -> None:
        t = raw["Type"]
        pp = ptr + ("Properties",)
        props = _props(raw)
        serverless = t == "AWS::Serverless::Function"
        if serverless and isinstance(self.globals.get("Function"), dict):
            props = _merge_globals(self.globals["Function"], props)
        origin = FunctionOrigin(rid, t, props, name=self.fn_names.get(rid, rid))
        runtime = self.resolve(props.get("Runtime", "python3.12"), pp + ("Runtime",))
        runtime = runtime if isinstance(runtime, str) else "python3.12"
        handler = self.resolve(props.get("Handler", ""), pp + ("Handler",))
        handler = handler if isinstance(handler, str) else ""
        python = runtime.startswith("python")
        if props.get("PackageType") == "Image":
            self.report("FE908", f"function '{rid}' is a container image: it cannot run locally",
                        pp + ("PackageType",), hint="mock its Tasks (flowengine mocks scaffold)", severity="warning")
            python = False
        elif not python:
            self.report("FE908", f"function '{rid}' runs {runtime}: flowengine runs Python handlers only",
                        pp + ("Runtime",) if "Runtime" in _props(raw) else pp,
                        hint="mock the Tasks that call it (flowengine mocks scaffold); invoking it fails", severity="warning")
        elif stage(runtime) == "blocked" and runtime not in self.old_runtimes:
            self.old_runtimes.add(runtime)
            here = sys.version_info
            self.report("FE908", f"function '{rid}' runs {runtime}, which Lambda no longer accepts for new functions "
                        f"(since {LAMBDA_RUNTIMES[runtime].block_create}); locally it, and every function on "
                        f"{runtime}, runs on this interpreter (Python {here.major}.{here.minor})",
                        pp + ("Runtime",) if "Runtime" in _props(raw) else pp,
                        hint="test the code on a runtime Lambda supports before deploying (flowengine import "
                        "writes one)", severity="warning")
        code_dir = self._code_dir(rid, props, pp, serverless, runtime, handler, python)
        origin.code_dir = code_dir
        origin.inline = code_dir is not None and code_dir.startswith(_inline_root())
        code_paths: list[str] = [code_dir] if code_dir else []
        for i, layer in enumerate(props.get("Layers") or [] if isinstance(props.get("Layers") or [], list) else []):
            code_paths.extend(self._layer_paths(rid, layer, pp + ("Layers", i)))
        env_raw = props.get("Environment")
        env: dict[str, str] = {}
        if isinstance(env_raw, dict) and isinstance(env_raw.get("Variables"), dict):
            for k, v in env_raw["Variables"].items():
                r = self.resolve(v, pp + ("Environment", "Variables", k))
                if r is not NO_VALUE:
                    env[str(k)] = as_text(r)
        timeout = _int(self.resolve(props.get("Timeout", 3), pp + ("Timeout",)), 3)
        memory = _int(self.resolve(props.get("MemorySize", 128), pp + ("MemorySize",)), 128)
        conc = props.get("ReservedConcurrentExecutions")
        concurrency = _int(self.resolve(conc, pp + ("ReservedConcurrentExecutions",)), None) if conc is not None else None
        name = self.fn_names.get(rid, rid)
        self.functions[name] = Function(
            name=name, handler=handler, runtime=runtime, timeout_seconds=timeout, memory_mb=memory,
            concurrency=concurrency, code_uri=os.path.relpath(code_dir, self.base_dir) if code_dir else ".",
            environment=env, code_paths=tuple(code_paths), loc=Loc(ptr, self.source),
            rollout=self._rollout(props.get("DeploymentPreference"), pp + ("DeploymentPreference",))
            if serverless else None,
        )
        self.info.functions[rid] = origin
        if serverless and isinstance(props.get("Events"), dict):
            for event_name, event in props["Events"].items():
                self.event(self.fn_names.get(rid, rid), "function", event_name, event, pp + ("Events", event_name),
                           FUNCTION_EVENTS)

    def _rollout(self, raw: Any, ptr: Pointer) -> Rollout | None:
        """A function's DeploymentPreference as the model's rollout (it changes nothing locally;
        it is kept for what reads the model: compile, import)."""
        pref = self.resolve(raw, ptr, literal=True) if raw is not None else None
        if not isinstance(pref, dict) or pref.get("Enabled") in (False, "false"):
            return None
        kind = str(pref.get("Type", ""))
        m = re.fullmatch(r"(Canary|Linear)(\d+)Percent(?:Every)?(\d+)Minutes?", kind)
        if kind != "AllAtOnce" and m is None:
            self.report("FE910", f"DeploymentPreference Type '{kind}' is not one of SAM's", ptr + ("Type",),
                        hint="AllAtOnce, Canary10Percent5Minutes ... Linear10PercentEvery1Minute ...",
                        severity="warning")
            return None
        hooks = _dict(pref.get("Hooks"))
        alarms = [a for a in _list(pref.get("Alarms")) if isinstance(a, str)]

        def hook(name: str) -> str | None:
            found = self.target_of(hooks.get(name))
            return found[0] if found is not None else None

        return Rollout(
            strategy="all-at-once" if m is None else ("canary" if m.group(1) == "Canary" else "linear"),
            percent=int(m.group(2)) if m else None, interval_minutes=int(m.group(3)) if m else None,
            alarms=tuple(alarms), pre_traffic_hook=hook("PreTraffic"), post_traffic_hook=hook("PostTraffic"),
            loc=Loc(ptr, self.source))

    def _code_dir(self, rid: str, props: dict[str, Any], pp: Pointer, serverless: bool, runtime: str,
                  handler: str, python: bool) -> str | None:
        inline = props.get("InlineCode") if serverless else (
            props["Code"].get("ZipFile") if isinstance(props.get("Code"), dict) else None)
        if inline is not None:
            code = self.resolve(inline, pp + ("InlineCode",) if serverless else pp + ("Code", "ZipFile"))
            if isinstance(code, str) and python:
                return _write_inline(handler, code)
            return None
        uri = props.get("CodeUri") if serverless else props.get("Code")
        where = pp + (("CodeUri",) if serverless else ("Code",))
        if uri is None:
            return self.base_dir if serverless else None
        uri = self.resolve(uri, where, literal=True)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            path = os.path.normpath(os.path.join(self.base_dir, uri))
            if os.path.isdir(path):
                return path
            if python and os.path.isfile(path):
                return os.path.dirname(path)
            if python:
                self.report("FE905", f"CodeUri '{uri}' of function '{rid}' is not a local directory", where,
                            hint="the path is relative to the template", severity="warning")
            return None
        if python:
            self.report("FE905", f"the code of function '{rid}' is in S3: it cannot be read offline", where,
                        hint="point CodeUri at the local code directory, as before sam package", severity="warning")
        return None

    def _layer_paths(self, rid: str, layer: Any, ptr: Pointer) -> list[str]:
        target = layer.get("Ref") if isinstance(layer, dict) else None
        if isinstance(target, str) and target in self.layers:
            lp = _props(self.layers[target])
            content = lp.get("ContentUri") if "ContentUri" in lp else (lp.get("Content") or {})
            uri = content if isinstance(content, str) else None
            if uri and not uri.startswith("s3://"):
                root = os.path.normpath(os.path.join(self.base_dir, uri))
                return [p for p in (os.path.join(root, "python"), root) if os.path.isdir(p)]
        self.report("FE905", f"a layer of function '{rid}' is not a local folder of the template: its code "
                    "is not on the import path", ptr, hint="mock what needs it, or vendor it into CodeUri",
                    severity="warning")
        return []

    # -- resources --------------------------------------------------------------------------------------

    def resource(self, rid: str, raw: dict[str, Any], ptr: Pointer) -> None:
        t = raw["Type"]
        kind = RESOURCE_TYPES[t]
        pp = ptr + ("Properties",)
        props = _props(raw)
        if t == "AWS::Serverless::SimpleTable" and isinstance(self.globals.get("SimpleTable"), dict):
            props = _merge_globals(self.globals["SimpleTable"], props)
        out: dict[str, Any] = {}
        if kind == "queue":
            vt = self.resolve(props.get("VisibilityTimeout"), pp + ("VisibilityTimeout",)) if "VisibilityTimeout" in props else None
            if vt is not None and _int(vt, None) is not None:
                out["visibility_timeout"] = _int(vt, 30)
            if props.get("FifoQueue") in (True, "true"):
                out["fifo"] = True
            redrive = self.resolve(props.get("RedrivePolicy"), pp + ("RedrivePolicy",), literal=True)
            if isinstance(redrive, str):
                try:
                    redrive = json.loads(redrive)
                except ValueError:
                    redrive = None
            if isinstance(redrive, dict):
                dlq = self.resource_of(redrive.get("deadLetterTargetArn"), ("queue",))
                if dlq is None:
                    self.report("FE902", "RedrivePolicy's deadLetterTargetArn names no queue of the template",
                                pp + ("RedrivePolicy",), severity="warning",
                                hint="the dead-letter queue must be an AWS::SQS::Queue of this template to be emulated")
                else:
                    out["dead_letter"] = {"queue": dlq, "max_receive_count": _int(redrive.get("maxReceiveCount"), 3)}
        elif kind == "table":
            out["key"] = self._table_key(t, props, pp)
            spec = self.resolve(props.get("StreamSpecification"), pp + ("StreamSpecification",), literal=True)
            if isinstance(spec, dict) and view_type(spec.get("StreamViewType")) is not None:
                out["stream"] = spec["StreamViewType"]
        elif kind == "topic" and isinstance(props.get("Subscription"), list):
            for i, sub in enumerate(props["Subscription"]):
                if isinstance(sub, dict):
                    topic = {"Ref": rid}
                    self.sns_subscription(f"{rid}Subscription{i + 1}", {**sub, "TopicArn": topic},
                                          pp + ("Subscription", i))
        elif kind == "bucket":
            notif = props.get("NotificationConfiguration")
            if isinstance(notif, dict):
                eb = notif.get("EventBridgeConfiguration")
                if isinstance(eb, dict) and eb.get("EventBridgeEnabled") in (True, "true"):
                    out["eventbridge"] = True
                for key in ("LambdaConfigurations", "QueueConfigurations", "TopicConfigurations"):
                    if notif.get(key):
                        self.bucket_notifications(rid, key, notif[key], pp + ("NotificationConfiguration", key))
        if rid in self.physical:
            out["name"] = self.physical[rid]
        self.resources[rid] = Resource(name=rid, kind=kind, properties=out, loc=Loc(ptr, self.source))

    def _table_key(self, t: str, props: dict[str, Any], pp: Pointer) -> dict[str, str]:
        if t == "AWS::Serverless::SimpleTable":
            pk = self.resolve(props.get("PrimaryKey"), pp + ("PrimaryKey",)) if "PrimaryKey" in props else None
            if isinstance(pk, dict):
                return {str(pk.get("Name", "id")): _SIMPLE_KEY_TYPES.get(str(pk.get("Type", "String")), "S")}
            return {"id": "S"}
        schema = self.resolve(props.get("KeySchema"), pp + ("KeySchema",))
        attrs = self.resolve(props.get("AttributeDefinitions"), pp + ("AttributeDefinitions",))
        types = {a.get("AttributeName"): a.get("AttributeType", "S") for a in attrs or [] if isinstance(a, dict)} \
            if isinstance(attrs, list) else {}
        key: dict[str, str] = {}
        if isinstance(schema, list):
            for kt in ("HASH", "RANGE"):
                for k in schema:
                    if isinstance(k, dict) and k.get("KeyType") == kt and isinstance(k.get("AttributeName"), str):
                        key[k["AttributeName"]] = str(types.get(k["AttributeName"], "S"))
        if not key:
            self.report("FE910", "the table has no KeySchema: 'id' (S) stands in", pp, severity="warning")
            key = {"id": "S"}
        return key

    # -- triggers -----------------------------------------------------------------------------------------

    def add_trigger(self, source: str, target: str, kind: str, name: str, ptr: Pointer, *,
                    resource: str | None = None, **options: Any) -> None:
        self.triggers.append(Trigger(source=source, target=target, target_kind=kind,  # type: ignore[arg-type]
                                     resource=resource, options={k: v for k, v in options.items() if v is not None},
                                     name=name, loc=Loc(ptr, self.source)))

    def not_emulated_event(self, what: str, ptr: Pointer) -> None:
        self.report("FE909", f"{what}: not emulated, it never fires locally", ptr,
                    hint="send its events to the target yourself, or run the target with --input", severity="warning")

    def event(self, target: str, kind: str, name: str, raw: Any, ptr: Pointer, allowed: tuple[str, ...]) -> None:
        if not isinstance(raw, dict):
            return
        etype = raw.get("Type")
        props = self.resolve(raw.get("Properties") or {}, ptr + ("Properties",), literal=True)
        props = props if isinstance(props, dict) else {}
        pp = ptr + ("Properties",)
        tname = f"{target}{name}"
        if etype not in allowed:
            self.not_emulated_event(f"event '{name}' of type {etype}", ptr + ("Type",))
            return
        if etype == "S3":
            bucket = self.resource_of(props.get("Bucket"), ("bucket",))
            if bucket is None:
                self.report("FE902", "an S3 event's Bucket must be an AWS::S3::Bucket of the template", pp + ("Bucket",))
                return
            events = props.get("Events", "s3:ObjectCreated:*")
            prefix, suffix = _s3_filter(props.get("Filter"))
            self.add_trigger("bucket", target, kind, tname, ptr, resource=bucket,
                             events=events if isinstance(events, list) else [events], prefix=prefix, suffix=suffix)
        elif etype == "SQS":
            queue = self.resource_of(props.get("Queue"), ("queue",))
            if queue is None:
                self.not_emulated_event(f"SQS event '{name}' on a queue outside the template", pp + ("Queue",))
                return
            responses = props.get("FunctionResponseTypes") or []
            self.add_trigger("queue", target, kind, tname, ptr, resource=queue,
                             batch_size=_int(props.get("BatchSize"), None),
                             batching_window=_int(props.get("MaximumBatchingWindowInSeconds"), None),
                             report_batch_item_failures=True if "ReportBatchItemFailures" in responses else None,
                             filter=self.filter_criteria(props, pp))
        elif etype == "DynamoDB":
            self.stream_trigger(target, kind, tname, props, ptr, props.get("Stream"), "Stream")
        elif etype == "SNS":
            topic = self.resource_of(props.get("Topic"), ("topic",))
            if topic is None:
                self.not_emulated_event(f"SNS event '{name}' on a topic outside the template", pp + ("Topic",))
                return
            self.add_trigger("topic", target, kind, tname, ptr, resource=topic,
                             filter_policy=props.get("FilterPolicy") if isinstance(props.get("FilterPolicy"), dict) else None)
        elif etype in ("EventBridgeRule", "CloudWatchEvent"):
            self.input_transformer(props, pp)
            self.pattern_trigger(target, kind, tname, props.get("Pattern"), props.get("EventBusName"), ptr,
                                 input=props.get("Input"), input_path=props.get("InputPath"))
        elif etype in ("Schedule", "ScheduleV2"):
            expr = props.get("Schedule" if etype == "Schedule" else "ScheduleExpression")
            if not isinstance(expr, str):
                self.report("FE616", f"a {etype} event needs a schedule expression", pp)
                return
            if props.get("Enabled") in (False, "false") or props.get("State") == "DISABLED":
                return
            self.add_trigger("schedule", target, kind, tname, ptr, schedule=expr, input=props.get("Input"),
                             timezone=props.get("ScheduleExpressionTimezone"))
        elif etype in ("Api", "HttpApi"):
            method = str(props.get("Method", "ANY")).upper()
            self.add_trigger("api", target, kind, tname, ptr, api={"method": method, "path": str(props.get("Path", "/"))})

    def stream_table(self, arn: Any) -> str | None:
        """The table of the template whose stream ``arn`` (resolved) is."""
        table_arn = stream_table_arn(arn)
        return self.resource_of(table_arn, ("table",)) if table_arn is not None else None

    def stream_trigger(self, target: str, kind: str, name: str, props: dict[str, Any], ptr: Pointer, arn: Any,
                       key: str) -> None:
        """A DynamoDB stream event source (a SAM ``DynamoDB`` event, or an EventSourceMapping on
        a table's stream) → a ``table`` trigger; a stream of a table outside the template, FE909."""
        pp = ptr + ("Properties",)
        table = self.stream_table(arn)
        if table is None:
            self.not_emulated_event(f"DynamoDB stream event '{name}' on a table outside the template", pp + (key,))
            return
        if props.get("Enabled") in (False, "false"):
            return
        if not isinstance(_props(self.resources_raw.get(table)).get("StreamSpecification"), dict):
            self.report("FE910", f"table {table} has no StreamSpecification, so it has no StreamArn on AWS; locally "
                        "its stream is emulated with NEW_AND_OLD_IMAGES", pp + (key,), severity="warning",
                        hint=f"add StreamSpecification: {{StreamViewType: NEW_AND_OLD_IMAGES}} to {table}")
        ignored = [k for k in _STREAM_NOT_EMULATED if k in props]
        if ignored:
            self.report("FE909", f"{', '.join(ignored)} not applied locally", pp + (ignored[0],), severity="warning",
                        hint="failed batches are retried, then dropped (docs/events.md)")
        position = props.get("StartingPosition")
        retries = _int(props.get("MaximumRetryAttempts"), None)
        responses = props.get("FunctionResponseTypes") or []
        self.add_trigger("table", target, kind, name, ptr, resource=table,
                         batch_size=_int(props.get("BatchSize"), None),
                         batching_window=_int(props.get("MaximumBatchingWindowInSeconds"), None),
                         starting_position=position if position in STARTING_POSITIONS else None,
                         filter=self.filter_criteria(props, pp),
                         report_batch_item_failures=True if "ReportBatchItemFailures" in responses else None,
                         maximum_retry_attempts=retries if isinstance(retries, int) and retries >= 0 else None)

    def filter_criteria(self, props: dict[str, Any], pp: Pointer) -> list[Any] | None:
        """``FilterCriteria: {Filters: [{Pattern: JSON text}]}`` → the trigger's ``filter``
        (the patterns; the validator checks their grammar)."""
        criteria = props.get("FilterCriteria")
        if criteria is None:
            return None
        filters = criteria.get("Filters") if isinstance(criteria, dict) else None
        patterns: list[Any] = []
        for i, f in enumerate(filters if isinstance(filters, list) else []):
            raw = f.get("Pattern") if isinstance(f, dict) else None
            try:
                pattern = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                self.report("FE624", f"FilterCriteria pattern is not JSON: {exc}",
                            pp + ("FilterCriteria", "Filters", i),
                            hint="Pattern is JSON text: '{\"body\": {\"kind\": [\"order\"]}}'")
                return None
            if not isinstance(pattern, dict):
                self.report("FE624", "a FilterCriteria filter needs a Pattern (a JSON object)",
                            pp + ("FilterCriteria", "Filters", i))
                return None
            patterns.append(pattern)
        return patterns or None  # no filters: every record passes

    def input_transformer(self, props: dict[str, Any], ptr: Pointer) -> None:
        if "InputTransformer" in props:
            self.report("FE909", "InputTransformer is not applied locally: the target receives the whole event",
                        ptr + ("InputTransformer",), hint="use InputPath, or shape the input in the first state",
                        severity="warning")

    def pattern_trigger(self, target: str, kind: str, name: str, pattern: Any, bus: Any, ptr: Pointer, *,
                        input: Any = None, input_path: Any = None) -> None:
        if not isinstance(pattern, dict):
            self.report("FE624", "an EventBridge rule needs a Pattern (a mapping)", ptr)
            return
        bus_id = None
        if isinstance(bus, str) and bus not in ("default", "") and not bus.endswith(":event-bus/default"):
            bus_id = self.resource_of(bus, ("event_bus",))
            if bus_id is None:
                self.not_emulated_event(f"a rule on event bus '{bus}' (not a bus of the template)", ptr)
                return
        s3 = self._s3_pattern(pattern)
        if s3 is not None and bus_id is None:
            bucket, events, prefix, suffix = s3
            self.add_trigger("bucket", target, kind, name, ptr, resource=bucket, events=events, prefix=prefix,
                             suffix=suffix, via_eventbridge=True)
            return
        self.add_trigger("event_pattern", target, kind, name, ptr, resource=bus_id, event_pattern=pattern,
                         input=input, input_path=input_path)

    def _s3_pattern(self, pattern: dict[str, Any]) -> tuple[str, list[str], str | None, str | None] | None:
        """An S3 → EventBridge pattern on one bucket of the template, as a bucket trigger."""
        if pattern.get("source") != ["aws.s3"] or set(pattern) - {"source", "detail-type", "detail"}:
            return None
        detail = _dict(pattern.get("detail"))
        if set(detail) - {"bucket", "object"}:
            return None
        names = detail.get("bucket", {}).get("name") if isinstance(detail.get("bucket"), dict) else None
        if not (isinstance(names, list) and len(names) == 1):
            return None
        bucket = self.resource_of(names[0], ("bucket",))
        if bucket is None:
            return None
        types = pattern.get("detail-type") or ["Object Created"]
        events = [{"Object Created": "s3:ObjectCreated:*", "Object Deleted": "s3:ObjectRemoved:*"}.get(t, "")
                  for t in types]
        if "" in events:
            return None
        prefix = suffix = None
        obj = detail.get("object")
        if obj is not None:
            keys = obj.get("key") if isinstance(obj, dict) and set(obj) == {"key"} else None
            if not (isinstance(keys, list) and len(keys) == 1 and isinstance(keys[0], dict) and len(keys[0]) == 1):
                return None
            (op, value), = keys[0].items()
            if op == "prefix" and isinstance(value, str):
                prefix = value
            elif op == "suffix" and isinstance(value, str):
                suffix = value
            else:
                return None
        return bucket, events, prefix, suffix

    def target_of(self, arn: Any) -> tuple[str, str] | None:
        rid = self.resource_of(arn, ("function", "flow"))
        if rid is None:
            return None
        if self.types[rid] in STATE_MACHINE_TYPES:
            return rid, "flow"
        return self.fn_names.get(rid, rid), "function"

    def events_rule(self, rid: str, raw: dict[str, Any], ptr: Pointer) -> None:
        pp = ptr + ("Properties",)
        props = self.resolve(_props(raw), pp, literal=True)
        if not isinstance(props, dict) or props.get("State") == "DISABLED":
            return
        targets = _list(props.get("Targets"))
        for i, target in enumerate(targets):
            if not isinstance(target, dict):
                continue
            found = self.target_of(target.get("Arn"))
            tptr = pp + ("Targets", i)
            if found is None:
                arn = target.get("Arn")
                service = arn.split(":")[2] if isinstance(arn, str) and arn.count(":") >= 5 else "an outside"
                self.not_emulated_event(f"rule '{rid}' delivering to {service} target {target.get('Id', i + 1)} "
                                        "(only functions and state machines of the template are targets locally)",
                                        tptr)
                continue
            self.input_transformer(target, tptr)
            name = f"{rid}{target.get('Id', i + 1)}" if len(targets) > 1 else rid
            name = re.sub(r"[^A-Za-z0-9]+", "", name)
            if isinstance(props.get("ScheduleExpression"), str):
                self.add_trigger("schedule", found[0], found[1], name, ptr, schedule=props["ScheduleExpression"],
                                 input=target.get("Input"))
            else:
                self.pattern_trigger(found[0], found[1], name, props.get("EventPattern"), props.get("EventBusName"), ptr,
                                     input=target.get("Input"), input_path=target.get("InputPath"))

    def sns_subscription(self, rid: str, props: dict[str, Any], pp: Pointer) -> None:
        props = self.resolve(props, pp, literal=True)
        if not isinstance(props, dict):
            return
        topic = self.resource_of(props.get("TopicArn"), ("topic",))
        protocol = str(props.get("Protocol", "")).lower()
        found = self.target_of(props.get("Endpoint")) if protocol == "lambda" else None
        if topic is None or found is None or found[1] != "function":
            self.not_emulated_event(f"SNS subscription '{rid}' ({protocol or 'no protocol'} to "
                                    f"{props.get('Endpoint')!s:.60})", pp)
            return
        policy = props.get("FilterPolicy")
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except ValueError:
                policy = None
        self.add_trigger("topic", found[0], "function", rid, pp, resource=topic,
                         filter_policy=policy if isinstance(policy, dict) else None)

    def event_source_mapping(self, rid: str, raw: dict[str, Any], ptr: Pointer) -> None:
        pp = ptr + ("Properties",)
        props = self.resolve(_props(raw), pp, literal=True)
        if not isinstance(props, dict):
            return
        queue = self.resource_of(props.get("EventSourceArn"), ("queue",))
        found = self.target_of(props.get("FunctionName"))
        if found is not None and stream_table_arn(props.get("EventSourceArn")) is not None:
            self.stream_trigger(found[0], "function", rid, props, ptr, props.get("EventSourceArn"), "EventSourceArn")
            return
        if queue is None or found is None:
            self.not_emulated_event(f"event source mapping '{rid}' (only SQS queues of the template are emulated)", pp)
            return
        responses = props.get("FunctionResponseTypes") or []
        self.add_trigger("queue", found[0], "function", rid, ptr, resource=queue,
                         batch_size=_int(props.get("BatchSize"), None),
                         batching_window=_int(props.get("MaximumBatchingWindowInSeconds"), None),
                         report_batch_item_failures=True if "ReportBatchItemFailures" in responses else None,
                         filter=self.filter_criteria(props, pp))

    def bucket_notifications(self, rid: str, key: str, configs: Any, ptr: Pointer) -> None:
        if key != "LambdaConfigurations":
            self.not_emulated_event(f"bucket '{rid}' {key}", ptr)
            return
        configs = self.resolve(configs, ptr, literal=True)
        for i, c in enumerate(configs if isinstance(configs, list) else []):
            if not isinstance(c, dict):
                continue
            found = self.target_of(c.get("Function"))
            if found is None:
                self.not_emulated_event(f"bucket '{rid}' notification {i + 1}", ptr + (i,))
                continue
            prefix, suffix = _s3_filter(c.get("Filter"))
            self.add_trigger("bucket", found[0], found[1], f"{rid}Notification{i + 1}", ptr + (i,), resource=rid,
                             events=[c.get("Event", "s3:ObjectCreated:*")], prefix=prefix, suffix=suffix)

    # -- after the build ---------------------------------------------------------------------------------

    def check_placeholders(self) -> None:
        """Environment values with a ``${X}`` the runtime cannot fill (FE906)."""
        known = set(self.functions) | set(self.resources) | set(self.flows)
        rids = {v: k for k, v in self.fn_names.items()}
        for fname, f in self.functions.items():
            for k, v in f.environment.items():
                for m in PLACEHOLDER.finditer(v):
                    n = m.group(1)
                    if n not in known and not (n.endswith("Arn") and n[:-3] in known):
                        self.report("FE906", f"environment variable {k} of '{fname}' keeps ${{{n}}}",
                                    ("Resources", rids.get(fname, fname), "Properties", "Environment", "Variables", k),
                                    hint="it names nothing emulated; it stays as written", severity="warning")


#: Types whose ``Ref`` is an ARN (CloudFormation's return values), among those not emulated.
_REF_IS_ARN = frozenset({
    "AWS::StepFunctions::Activity", "AWS::SecretsManager::Secret", "AWS::ECS::TaskDefinition", "AWS::ECS::Service",
    "AWS::Batch::JobQueue", "AWS::Batch::JobDefinition", "AWS::Batch::ComputeEnvironment",
    "AWS::IAM::ManagedPolicy", "AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::StepFunctions::StateMachineAlias",
    "AWS::StepFunctions::StateMachineVersion", "AWS::CloudFormation::Stack", "AWS::SNS::Topic",
})

_NOT_MODELLED_HINTS = {
    "IAM": "permissions are not enforced locally",
    "Logs": "logs are not kept locally; run output and history show what happened",
    "Lambda": "permissions, versions and aliases do not matter locally",
    "CloudWatch": "alarms are not evaluated locally",
    "ApiGateway": "routes come from the Api events; the API's own settings are not emulated",
    "ApiGatewayV2": "routes come from the HttpApi events; the API's own settings are not emulated",
    "Serverless": "routes come from the Api/HttpApi events; the API's own settings are not emulated",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


#: A stream event source's properties the runtime does not apply (reported, FE909).
_STREAM_NOT_EMULATED = ("BisectBatchOnFunctionError", "DestinationConfig", "MaximumRecordAgeInSeconds",
                        "ParallelizationFactor", "TumblingWindowInSeconds")


def _props(raw: Any) -> dict[str, Any]:
    p = raw.get("Properties") if isinstance(raw, dict) else None
    return p if isinstance(p, dict) else {}


def _int(value: Any, default: Any) -> Any:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def _merge_globals(glob: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (the resource wins), lists add, scalars are replaced."""
    out = dict(glob)
    for k, v in props.items():
        g = out.get(k)
        if isinstance(g, dict) and isinstance(v, dict) and not _is_intrinsic(g) and not _is_intrinsic(v):
            out[k] = _merge_globals(g, v)
        elif isinstance(g, list) and isinstance(v, list):
            out[k] = g + v
        else:
            out[k] = v
    return out


def _is_intrinsic(v: dict[str, Any]) -> bool:
    return len(v) == 1 and next(iter(v)).startswith(("Fn::", "Ref"))


def _s3_filter(raw: Any) -> tuple[str | None, str | None]:
    prefix = suffix = None
    rules = raw.get("S3Key", {}).get("Rules") if isinstance(raw, dict) and isinstance(raw.get("S3Key"), dict) else None
    for r in rules if isinstance(rules, list) else []:
        if isinstance(r, dict) and str(r.get("Name", "")).lower() == "prefix":
            prefix = str(r.get("Value", ""))
        elif isinstance(r, dict) and str(r.get("Name", "")).lower() == "suffix":
            suffix = str(r.get("Value", ""))
    return prefix, suffix


def _placeholders(value: Any, ptr: Pointer) -> list[tuple[Pointer, str]]:
    out: list[tuple[Pointer, str]] = []
    if isinstance(value, str):
        out.extend((ptr, m.group(1)) for m in PLACEHOLDER.finditer(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            out.extend(_placeholders(v, ptr + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_placeholders(v, ptr + (i,)))
    return out


def _inline_root() -> str:
    return os.path.join(tempfile.gettempdir(), "flowengine-inline-code")


def _write_inline(handler: str, code: str) -> str:
    """Inline function code (``InlineCode``, ``Code.ZipFile``) as a module file in a cache
    directory named by its content, so the handler imports like any other (Lambda writes
    ZipFile code for Python to ``index.py``; the handler names the module)."""
    module = handler.rpartition(".")[0] or "index"
    digest = hashlib.sha256(f"{module}\0{code}".encode()).hexdigest()[:16]
    root = os.path.join(_inline_root(), digest)
    target = os.path.join(root, *module.split(".")) + ".py"
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(code)
        os.replace(tmp, target)
    return root


def template_span(loaded: LoadedApp, logical_id: str) -> Span:
    """Where a resource stands in the template."""
    return loaded.source.span(("Resources", logical_id))


__all__ = ["FlowOrigin", "FunctionOrigin", "SAM_TRANSFORM", "TemplateInfo", "app_name_for", "from_template_source",
           "is_template", "load_template", "load_template_text_as_app", "local_name", "looks_like_template"]

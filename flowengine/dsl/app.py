"""App file → canonical ASL + :class:`flowengine.model.App`.

The desugaring is purely additive and deterministic (docs/app-file.md):

* Capitalised keys of a flow are ASL, written inline; ``definition:`` may hold them
  instead, and ``definition_file:`` may name a ``*.asl.json`` / ASL-YAML file.
* Inside ASL, ``Function: Name`` on a Task becomes ``Resource: ${NameArn}``: the function's
  ARN through DefinitionSubstitutions, as SAM spells it, so the same canonical ASL runs
  locally and compiles for AWS.
* Duration strings (``30s``, ``5m``, ``1h``) in Seconds, TimeoutSeconds, HeartbeatSeconds,
  IntervalSeconds and MaxDelaySeconds become whole seconds.

Like the ASL parser, this module never raises on a malformed document: it keeps what it
can and leaves the reporting to :mod:`flowengine.validate`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowengine.dsl.asl import build_state_machine
from flowengine.dsl.durations import parse_duration, seconds
from flowengine.dsl.source import Pointer, Source, SubSource, load_file, load_text, read_text, source_from_value
from flowengine.errors import LoadError
from flowengine.model.app import App, Flow, Function, Resource, Rollout, Trigger
from flowengine.model.asl import Loc
from flowengine.model.diagnostics import Diagnostic, Span

#: ASL fields whose value may be written as a duration string in an app file.
DURATION_FIELDS = frozenset({"Seconds", "TimeoutSeconds", "HeartbeatSeconds", "IntervalSeconds", "MaxDelaySeconds"})
#: Top-level keys of a state machine (ASL), as they may stand inline in a flow.
ASL_MACHINE_KEYS = ("Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage")
#: Keys that pick a trigger's source, and the keys that pick its target.
TRIGGER_SOURCES = ("bucket", "queue", "topic", "table", "schedule", "event_pattern", "api")
TRIGGER_TARGETS = {"start": "flow", "invoke": "function"}
#: ``${Name}`` placeholders: DefinitionSubstitutions, resolved locally and by SAM alike.
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


@dataclass
class LoadedApp:
    """An app with the document it came from (for locations) and each flow's source view."""

    app: App
    source: Source
    flow_sources: dict[str, Source | SubSource] = field(default_factory=dict)
    #: Problems met while loading parts of the app from other files (``definition_file``);
    #: validation reports them with the rest instead of stopping at the first.
    load_diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Flows whose ``definition_file`` could not be loaded (their definitions are empty).
    unloaded_flows: frozenset[str] = frozenset()
    #: For a SAM/CloudFormation template: the :class:`flowengine.dsl.sam.TemplateInfo`
    #: (the document, the parameter values used, how each flow and function was written).
    template: Any = None


def is_plain_asl(value: Any) -> bool:
    """A plain ASL document: a mapping with StartAt/States and none of the app-file sections."""
    return isinstance(value, dict) and ("StartAt" in value or "States" in value) and not (
        {"app", "flows", "functions", "resources", "triggers"} & set(value)
    )


@dataclass(frozen=True)
class LoadOptions:
    """What :func:`load` applies to the files it loads unless told otherwise: template
    ``parameters`` (``--parameter-overrides``) and plain-ASL ``substitutions``
    (``--substitute``/``--substitutions``).  Set for a command with :func:`load_options`."""

    parameters: dict[str, Any] = field(default_factory=dict)
    substitutions: dict[str, Any] = field(default_factory=dict)


_LOAD_OPTIONS = [LoadOptions()]


@contextlib.contextmanager
def load_options(*, parameters: dict[str, Any] | None = None,
                 substitutions: dict[str, Any] | None = None) -> Iterator[LoadOptions]:
    """While the block runs, every :func:`load` (the CLI's, and the loads inside ``up``,
    ``send``, ``graph`` and ``mocks scaffold``) uses these parameters and substitutions.
    Process-wide (not per thread): meant for one command at a time."""
    options = LoadOptions(dict(parameters or {}), dict(substitutions or {}))
    _LOAD_OPTIONS.append(options)
    try:
        yield options
    finally:
        _LOAD_OPTIONS.remove(options)


def load(path: str | os.PathLike[str], *, parameters: dict[str, Any] | None = None,
         substitutions: dict[str, Any] | None = None) -> LoadedApp:
    """Load an app file, a plain ASL file (JSON or YAML) or a SAM/CloudFormation template
    from disk.

    ``parameters`` override a template's Parameters (see
    :func:`flowengine.dsl.sam.load_template`); ``substitutions`` fill ``${Name}``
    placeholders of a plain ASL file, as DefinitionSubstitutions would (placeholders left
    unfilled are FE906 warnings; one standing where JSON wants a number, such as
    ``"MaxConcurrency": ${N}``, still loads).  Both default to :func:`load_options`."""
    from flowengine.dsl import sam
    from flowengine.dsl.substitutions import load_definition_text, unresolved_diagnostics

    path = os.fspath(path)
    options = _LOAD_OPTIONS[-1]
    parameters = options.parameters if parameters is None else parameters
    substitutions = options.substitutions if substitutions is None else substitutions
    text = read_text(path)
    if sam.looks_like_template(text):
        return sam.load_template_text_as_app(text, path, parameters=_with_samconfig(path, parameters))
    if "${" in text and not re.search(r"^app\s*:", text, re.M):
        source, left = load_definition_text(text, path, substitutions)
        if is_plain_asl(source.value):
            loaded = from_source(source)
            loaded.load_diagnostics.extend(unresolved_diagnostics(left))
            return loaded
    source = load_text(text, path)
    if sam.is_template(source.value):
        return sam.from_template_source(source, parameters=_with_samconfig(path, parameters), text=text)
    return from_source(source)


def _with_samconfig(template: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """A template's parameter values: its project's samconfig.toml, overridden by ``parameters``."""
    from flowengine.dsl.samconfig import parameter_overrides

    return {**parameter_overrides(template), **(parameters or {})}


def loads(text: str, path: str = "<string>") -> LoadedApp:
    """Load an app file, a plain ASL definition or a SAM/CloudFormation template from text
    (a template's relative paths are relative to ``path``'s directory)."""
    from flowengine.dsl import sam

    if sam.looks_like_template(text):
        return sam.load_template_text_as_app(text, path, parameters=_LOAD_OPTIONS[-1].parameters)
    source = load_text(text, path)
    if sam.is_template(source.value):
        return sam.from_template_source(source, parameters=_LOAD_OPTIONS[-1].parameters, text=text)
    return from_source(source)


def from_value(value: dict[str, Any], name: str = "<dict>", base_dir: str | None = None) -> LoadedApp:
    """Wrap an in-memory definition (plain ASL dict or app dict)."""
    return from_source(source_from_value(value, name), base_dir=base_dir)


def from_source(source: Source, base_dir: str | None = None) -> LoadedApp:
    value = source.value
    if not isinstance(value, dict):
        raise LoadError([Diagnostic(
            "FE109", f"the document is a {_json_type(value)}, not a mapping", source.span(()),
            hint="an app file is a mapping starting with 'app:'; an ASL definition is an object with StartAt and States",
        )])
    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(source.path)) if source.kind != "dict" else os.getcwd()
    if is_plain_asl(value):
        name = _flow_name_from_path(source.path)
        sm = build_state_machine(value, source)
        flow = Flow(name=name, definition=sm, asl=value, loc=Loc((), source))
        app = App(name=name, flows={name: flow}, source_path=source.path, plain_asl=True,
                  code_paths=(base_dir,), loc=Loc((), source))
        return LoadedApp(app, source, {name: source})
    return _AppBuilder(source, base_dir).build()


def _flow_name_from_path(path: str) -> str:
    base = os.path.basename(path)
    for suffix in (".asl.json", ".asl.yaml", ".asl.yml", ".json", ".yaml", ".yml"):
        if base.endswith(suffix):
            return base[: -len(suffix)] or "main"
    return base or "main"


def _str(d: Any, key: str, default: str) -> str:
    """``d[key]`` when ``d`` is a mapping holding a string there, else ``default``
    (a wrong type is the validator's to report)."""
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, str) else default


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    return "mapping"


def desugar_states(asl: Any) -> Any:
    """Canonical ASL from an app flow's ASL: durations to seconds, ``Function:`` to Resource."""
    if isinstance(asl, dict):
        out: dict[str, Any] = {}
        is_task_shorthand = asl.get("Type") == "Task" and "Function" in asl and "Resource" not in asl
        for k, v in asl.items():
            if is_task_shorthand and k == "Function":
                out["Resource"] = f"${{{v}Arn}}" if isinstance(v, str) else v
                continue
            if k in DURATION_FIELDS:
                out[k] = seconds(v)
            else:
                out[k] = desugar_states(v)
        return out
    if isinstance(asl, list):
        return [desugar_states(x) for x in asl]
    return asl


def substitution_names(asl: Any) -> list[str]:
    """Every ``${Name}`` placeholder in a canonical ASL definition, sorted, once each."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            found.update(SUBSTITUTION.findall(v))
        elif isinstance(v, dict):
            for k, x in v.items():
                found.update(SUBSTITUTION.findall(k))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(asl)
    return sorted(found)


def substitute(asl: Any, values: dict[str, str]) -> Any:
    """Replace ``${Name}`` placeholders with ``values[Name]`` (unknown names stay as written)."""
    if isinstance(asl, str):
        if "${" not in asl:
            return asl
        return SUBSTITUTION.sub(lambda m: values.get(m.group(1), m.group(0)), asl)
    if isinstance(asl, dict):
        return {substitute(k, values): substitute(v, values) for k, v in asl.items()}
    if isinstance(asl, list):
        return [substitute(x, values) for x in asl]
    return asl


class _AppBuilder:
    def __init__(self, source: Source, base_dir: str) -> None:
        self.source = source
        self.doc: dict[str, Any] = source.value
        self.base_dir = base_dir
        self.flow_sources: dict[str, Source | SubSource] = {}
        self.load_diagnostics: list[Diagnostic] = []
        self.unloaded: set[str] = set()

    def loc(self, ptr: Pointer) -> Loc:
        return Loc(tuple(ptr), self.source)

    def section(self, key: str) -> dict[str, Any]:
        v = self.doc.get(key)
        return v if isinstance(v, dict) else {}

    def build(self) -> LoadedApp:
        d = self.doc
        defaults = self.section("defaults")
        name = _str(d, "app", _flow_name_from_path(self.source.path))
        code = d.get("code", ".")
        code_list = code if isinstance(code, list) else [code]
        code_paths = tuple(
            os.path.normpath(os.path.join(self.base_dir, c)) for c in code_list if isinstance(c, str)
        )
        functions = {
            fname: self.function(fname, f, defaults) for fname, f in self.section("functions").items()
        }
        resources = {
            rname: Resource(
                name=rname,
                kind=_str(r, "type", ""),
                properties={k: v for k, v in r.items() if k != "type"} if isinstance(r, dict) else {},
                loc=self.loc(("resources", rname)),
            )
            for rname, r in self.section("resources").items()
        }
        flows = {}
        for fname, f in self.section("flows").items():
            flow = self.flow(fname, f)
            if flow is not None:
                flows[fname] = flow
        triggers_raw = d.get("triggers")
        triggers = tuple(
            t for i, raw in enumerate(triggers_raw if isinstance(triggers_raw, list) else [])
            if (t := self.trigger(i, raw)) is not None
        )
        app = App(
            name=name,
            functions=functions,
            resources=resources,
            flows=flows,
            triggers=triggers,
            code_paths=code_paths,
            source_path=self.source.path,
            description=d.get("description") if isinstance(d.get("description"), str) else None,
            loc=self.loc(()),
        )
        return LoadedApp(app, self.source, self.flow_sources, self.load_diagnostics, frozenset(self.unloaded))

    def function(self, name: str, raw: Any, defaults: dict[str, Any]) -> Function:
        f = raw if isinstance(raw, dict) else {}

        def pick(key: str, default: Any) -> Any:
            return f.get(key, defaults.get(key, default))

        timeout = seconds(pick("timeout", 3))
        mem = pick("memory", 128)
        conc = f.get("concurrency")
        local_duration = seconds(f["local_duration"]) if "local_duration" in f else None
        env = pick("environment", {})
        return Function(
            name=name,
            handler=_str(f, "handler", ""),
            runtime=str(pick("runtime", "python3.12")),
            timeout_seconds=int(timeout) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else 3,
            memory_mb=mem if isinstance(mem, int) and not isinstance(mem, bool) else 128,
            concurrency=conc if isinstance(conc, int) and not isinstance(conc, bool) else None,
            code_uri=str(pick("code_uri", ".")),
            rollout=self.rollout(f.get("rollout"), ("functions", name, "rollout")),
            environment={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {},
            reads=tuple(x for x in (f.get("reads") or []) if isinstance(x, str)) if isinstance(f.get("reads"), list) else (),
            writes=tuple(x for x in (f.get("writes") or []) if isinstance(x, str)) if isinstance(f.get("writes"), list) else (),
            local_duration_seconds=(float(local_duration) if isinstance(local_duration, (int, float))
                                    and not isinstance(local_duration, bool) else None),
            # a function's own code_uri is all Lambda packages for it (compile's CodeUri), so it
            # is where its handler imports from locally too: two functions may each have an app.py
            code_paths=((os.path.normpath(os.path.join(self.base_dir, f["code_uri"])),)
                        if isinstance(f.get("code_uri"), str) else ()),
            loc=self.loc(("functions", name)),
        )

    def rollout(self, raw: Any, ptr: Pointer) -> Rollout | None:
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = parse_rollout_text(raw)
        if not isinstance(raw, dict):
            return None
        strategy = raw.get("strategy", "all-at-once")
        interval = raw.get("interval")
        minutes = None
        if isinstance(interval, (int, float)) and not isinstance(interval, bool):
            minutes = int(interval)
        elif isinstance(interval, str):
            try:
                minutes = int(parse_duration(interval) // 60)
            except ValueError:
                minutes = None
        hooks: dict[str, Any] = raw["hooks"] if isinstance(raw.get("hooks"), dict) else {}
        alarms = raw.get("alarms")
        pct = raw.get("percent")
        return Rollout(
            strategy=strategy if strategy in ("all-at-once", "canary", "linear") else "all-at-once",
            percent=pct if isinstance(pct, int) and not isinstance(pct, bool) else None,
            interval_minutes=minutes,
            alarms=tuple(a for a in alarms if isinstance(a, str)) if isinstance(alarms, list) else (),
            pre_traffic_hook=hooks.get("pre_traffic") if isinstance(hooks.get("pre_traffic"), str) else None,
            post_traffic_hook=hooks.get("post_traffic") if isinstance(hooks.get("post_traffic"), str) else None,
            loc=self.loc(ptr),
        )

    def flow(self, name: str, raw: Any) -> Flow | None:
        if not isinstance(raw, dict):
            raw = {}
        ptr: Pointer = ("flows", name)
        view: Source | SubSource
        if isinstance(raw.get("definition"), dict):
            asl_raw = raw["definition"]
            view = self.source.with_prefix(ptr + ("definition",))
        elif isinstance(raw.get("definition_file"), str):
            try:
                view = self.definition_file(name, raw["definition_file"], ptr + ("definition_file",))
                asl_raw = view.value
            except LoadError as exc:
                self.load_diagnostics.extend(exc.diagnostics)
                view, asl_raw = self.source.with_prefix(ptr), {}
                self.unloaded.add(name)
        else:
            asl_raw = {k: raw[k] for k in ASL_MACHINE_KEYS if k in raw}
            view = self.source.with_prefix(ptr)
        asl = desugar_states(asl_raw)
        if isinstance(asl, dict) and isinstance(raw.get("timeout"), (str, int)) and "TimeoutSeconds" not in asl:
            t = seconds(raw["timeout"])
            if isinstance(t, (int, float)) and not isinstance(t, bool):
                asl["TimeoutSeconds"] = int(t)
        self.flow_sources[name] = view
        kind = str(raw.get("type", "STANDARD")).upper()
        return Flow(
            name=name,
            definition=build_state_machine(asl, view),
            asl=asl,
            type="EXPRESS" if kind == "EXPRESS" else "STANDARD",
            logging=raw.get("logging") is True,
            tracing=raw.get("tracing") is True,
            policies=flow_policies(raw.get("policies")),
            loc=self.loc(ptr),
        )

    def definition_file(self, flow: str, given: str, ptr: Pointer) -> Source:
        """Load a flow's ``definition_file``: a file inside the app file's directory (after
        symlinks are resolved, as a handler must lie inside the app's code) that holds an ASL
        definition.  Nothing of a file that is not a definition is echoed: an app file must not
        be a way to print fragments of other files (``definition_file: /etc/shadow``)."""
        where = self.source.span(ptr)
        path = os.path.normpath(os.path.join(self.base_dir, given))
        root = os.path.realpath(self.base_dir)
        real = os.path.realpath(path)
        if not real.startswith(root.rstrip(os.sep) + os.sep):
            raise LoadError([Diagnostic(
                "FE110", f"definition_file '{given}' is outside the app's directory", where, f"flow '{flow}'",
                hint=f"keep ASL files in {root} or below; a symlink counts where it points")])
        try:
            view = load_file(path)
        except LoadError as exc:
            diags = []
            for d in exc.diagnostics:
                if d.code == "FE101":  # the file itself is missing: say so where it is named
                    d = Diagnostic(d.code, f"definition_file '{given}': {d.message}", where,
                                   f"flow '{flow}'",
                                   hint="the path is relative to the app file" if "not found" in d.message else d.hint)
                diags.append(d)
            raise LoadError(diags) from None
        if not is_plain_asl(view.value):
            raise LoadError([Diagnostic(
                "FE111", f"definition_file '{given}' is not an ASL definition (a JSON or YAML mapping with "
                "StartAt and States)", where, f"flow '{flow}'",
                hint="name a *.asl.json or ASL-YAML file; its content is not shown")])
        return view

    def trigger(self, index: int, raw: Any) -> Trigger | None:
        if not isinstance(raw, dict):
            return None
        source = next((k for k in TRIGGER_SOURCES if k in raw), "")
        target_key = next((k for k in TRIGGER_TARGETS if k in raw), "start")
        target = raw.get(target_key)
        resource = raw.get(source) if source in ("bucket", "queue", "topic", "table") else raw.get("bus")
        options = {k: v for k, v in raw.items() if k not in (source, target_key, "name", "bus")}
        if source in ("schedule", "event_pattern", "api"):
            options[source] = raw.get(source)
        return Trigger(
            source=source,
            target=target if isinstance(target, str) else "",
            target_kind=TRIGGER_TARGETS.get(target_key, "flow"),  # type: ignore[arg-type]
            resource=resource if isinstance(resource, str) else None,
            options=options,
            name=_str(raw, "name", f"{source or 'trigger'}{index + 1}"),
            loc=self.loc(("triggers", index)),
        )


def flow_policies(raw: Any) -> tuple[Any, ...]:
    """A flow's ``policies:`` as a tuple: one policy (a string or a mapping) or a list of them,
    as SAM's ``Policies`` takes them (anything else is the validator's to report)."""
    if isinstance(raw, list):
        return tuple(p for p in raw if isinstance(p, (str, dict)))
    if isinstance(raw, (str, dict)):
        return (raw,)
    return ()


_ROLLOUT_TEXT = re.compile(r"^(canary|linear)\s+(\d+)%\s+every\s+(\S+)$")


def parse_rollout_text(text: str) -> dict[str, Any] | str:
    """``all-at-once`` | ``canary 10% every 5m`` | ``linear 10% every 1m`` → rollout mapping."""
    t = text.strip().lower()
    if t in ("all-at-once", "allatonce"):
        return {"strategy": "all-at-once"}
    m = _ROLLOUT_TEXT.match(t)
    if m:
        return {"strategy": m.group(1), "percent": int(m.group(2)), "interval": m.group(3)}
    return text




def span_of(loaded: LoadedApp, ptr: Pointer) -> Span:
    return loaded.source.span(ptr)


def load_source(source: Any) -> Any:
    """``source`` with a path loaded (:func:`load`; ``LoadError`` as it raises); anything else
    as it is.  Load once, then hand the result to whatever runs it."""
    return load(source) if isinstance(source, (str, os.PathLike)) else source


def declares_resources(source: Any) -> bool:
    """Whether ``source`` (a loaded app or an app) declares resources.  Its handlers call them
    with boto3: run locally, they must meet the in-process emulation (the app runtime), never
    the AWS account of whoever runs them."""
    app = source.app if isinstance(source, LoadedApp) else source
    return isinstance(app, App) and bool(app.resources)

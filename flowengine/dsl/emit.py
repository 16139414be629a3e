"""An app model → app-file YAML, written with the DSL's shorthands (the way back from compile).

This is what ``flowengine import`` writes.  It is the inverse of :mod:`flowengine.dsl.app`:
loading the text it returns gives back an app that compiles to the same template as the
app it was given.  The shorthands it restores are the ones docs/app-file.md tables:

* a Task whose ``Resource`` is ``${FnArn}`` for a function ``Fn`` of the app becomes
  ``Function: Fn``;
* a whole number of minutes, hours or days in ``Seconds``, ``TimeoutSeconds``,
  ``HeartbeatSeconds``, ``IntervalSeconds`` or ``MaxDelaySeconds`` becomes a duration
  (``300`` → ``5m``); shorter values stay numbers;
* a state machine's ``TimeoutSeconds`` written last becomes the flow's ``timeout:``;
* runtime, timeout and memory shared by several functions move to ``defaults:``, and values
  equal to the built-in defaults are left out;
* a rollout that CodeDeploy names (``canary 10% every 5m``) is written as that sentence.

The ASL of a flow is written inline when its top-level keys are the ones a flow may hold
inline, in the order the loader puts them back; otherwise under ``definition:``, so that
the compiled ``Definition`` keeps its key order byte for byte.

The YAML is written here rather than by PyYAML's dumper because an import keeps the
template's comments: :class:`EmitNotes` carries comment lines keyed by app-file pointers,
a header, and the warnings (what could not be carried over), written as a comment block.
Scalars and short collections are still rendered by PyYAML, so quoting is always right.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from flowengine.model.app import App, Flow, Function, Rollout, Trigger
from flowengine.model.runtimes import module_file

Pointer = tuple[str | int, ...]

#: ASL fields the app file lets you write as durations (docs/app-file.md).
DURATION_FIELDS = frozenset({"Seconds", "TimeoutSeconds", "HeartbeatSeconds", "IntervalSeconds", "MaxDelaySeconds"})
#: Top-level ASL keys a flow may hold inline, in the order the loader rebuilds them.
INLINE_ASL_KEYS = ("Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage")
#: Function settings the loader fills in when a function and ``defaults:`` leave them out.
BUILTIN_DEFAULTS: dict[str, Any] = {"runtime": "python3.12", "timeout": 3, "memory": 128}
#: CodeDeploy's predefined rollouts shift 10 % (docs/compile.md).
_SENTENCE_PERCENT = 10
#: A collection is written on one line (``{type: bucket}``, ``[created]``) when it holds
#: only scalars and short collections and the line stays this short.
FLOW_STYLE_WIDTH = 88
_DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60))
#: Characters YAML reads as line breaks besides \n and \r.
_YAML_BREAKS = ("\x85", "\u2028", "\u2029")
_TRIGGER_SOURCES = ("bucket", "queue", "topic", "table", "schedule", "event_pattern", "api")


@dataclass
class EmitNotes:
    """What an import adds to the app it writes, beyond the model.

    ``header`` lines open the file (without ``#``); ``warnings`` become a comment block after
    it, one item each (what the source had that the app file does not carry).
    ``comments`` maps app-file pointers (``("functions", "Fn")``, ``("flows", "F",
    "States", "S")``) to comment lines (without ``#``) written above that key.
    ``definition_files`` maps a flow to the path (relative to the app file) it is read
    from, instead of inline ASL.  ``defaults`` are the function defaults to write.  ``code_dirs`` maps a function to the absolute directory
    of its code; when absent, the app's ``code_paths`` and each function's ``code_uri``
    are written as they are.
    """

    header: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    comments: dict[Pointer, list[str]] = field(default_factory=dict)
    definition_files: dict[str, str] = field(default_factory=dict)
    code_dirs: dict[str, str] = field(default_factory=dict)
    #: ``defaults:`` to write (runtime, timeout, memory), e.g. from a template's Globals;
    #: when absent, settings shared by several functions are moved there
    defaults: dict[str, Any] | None = None


def emit_app(app: App, base_dir: str, notes: EmitNotes | None = None) -> str:
    """The app file for ``app``, as text, for a file that will live in ``base_dir``.

    ``base_dir`` is where the app file will be written: ``code:`` and ``definition_file:``
    paths are made relative to it.  The result loads (:func:`flowengine.dsl.app.loads`)
    into an app that compiles to the same template as ``app``.
    """
    notes = notes or EmitNotes()
    doc, comments = app_document(app, base_dir, notes)
    lines: list[str] = [_comment(h) for h in notes.header]
    if notes.warnings:
        if lines:
            lines.append("#")
        lines.append("# Not carried over (flowengine import):")
        lines.extend(_comment("  - " + w) for w in notes.warnings)
    if lines:
        lines.append("")
    lines.extend(_Writer(comments).document(doc))
    return "\n".join(lines) + "\n"


def app_document(app: App, base_dir: str, notes: EmitNotes | None = None) -> tuple[dict[str, Any], dict[Pointer, list[str]]]:
    """The app file as a plain value (what :func:`emit_app` writes), and the comments keyed
    by pointers into that value (the notes' comments, moved where the emitted keys are)."""
    notes = notes or EmitNotes()
    base = os.path.abspath(base_dir)
    doc: dict[str, Any] = {"app": app.name}
    if app.description:
        doc["description"] = app.description
    code, code_uris = _code(app, base, notes)
    if code is not None:
        doc["code"] = code
    defaults = {k: v for k, v in notes.defaults.items() if v != BUILTIN_DEFAULTS.get(k)} \
        if notes.defaults is not None else _defaults(list(app.functions.values()))
    if defaults:
        doc["defaults"] = {k: _duration(v, small=True) if k == "timeout" else v for k, v in defaults.items()}
    if app.functions:
        doc["functions"] = {name: _function(fn, defaults, code_uris.get(name)) for name, fn in app.functions.items()}
    if app.resources:
        doc["resources"] = {name: {"type": r.kind, **r.properties} for name, r in app.resources.items()}
    comments = dict(notes.comments)
    if app.flows:
        flows: dict[str, Any] = {}
        for name, flow in app.flows.items():
            flows[name], inline = _flow(flow, set(app.functions), notes.definition_files.get(name))
            if not inline:  # the notes point at states as if inline: follow the ASL under definition:
                for ptr in [p for p in comments if p[:2] == ("flows", name) and len(p) > 2]:
                    comments[("flows", name, "definition") + ptr[2:]] = comments.pop(ptr)
        doc["flows"] = flows
    if app.triggers:
        doc["triggers"] = [_trigger(t, i) for i, t in enumerate(app.triggers)]
    return doc, comments


# --- sections --------------------------------------------------------------------------------


def _code(app: App, base: str, notes: EmitNotes) -> tuple[Any, dict[str, str]]:
    """``code:`` and the functions that need a ``code_uri:`` of their own.

    Compile packages a function from its ``code_uri`` or else the first ``code`` directory
    that holds its module; so every directory goes into ``code:`` (local runs import from
    them all) and a function gets ``code_uri`` when that first directory is not its own.
    """
    if not notes.code_dirs:
        paths = [_rel(p, base) for p in app.code_paths]
        # code_uri is written relative to the app file it came from
        origin = os.path.dirname(os.path.abspath(app.source_path)) if app.source_path else base
        uris = {name: _rel(os.path.join(origin, fn.code_uri), base)
                for name, fn in app.functions.items() if fn.code_uri not in ("", ".")}
        if not paths or paths == ["."]:
            return None, uris
        return (paths[0] if len(paths) == 1 else paths), uris
    dirs: list[str] = []
    for name in app.functions:
        d = notes.code_dirs.get(name)
        if d is not None and os.path.abspath(d) not in dirs:
            dirs.append(os.path.abspath(d))
    uris = {}
    for name, fn in app.functions.items():
        own = notes.code_dirs.get(name)
        if own is None:
            continue
        parts = fn.module.split(".") if fn.module else []
        first = next((d for d in dirs if module_file(d, parts)), dirs[0])
        if first != os.path.abspath(own):
            uris[name] = _rel(own, base)
    rels = [_rel(d, base) for d in dirs]
    if not rels or rels == ["."]:
        return None, uris
    return (rels[0] if len(rels) == 1 else rels), uris


def _defaults(functions: list[Function]) -> dict[str, Any]:
    """Settings worth a ``defaults:`` entry: the most common value of each, when at least two
    functions share it and it is not the built-in default."""
    out: dict[str, Any] = {}
    if len(functions) < 2:
        return out
    for key, values in (("runtime", [f.runtime for f in functions]),
                        ("timeout", [f.timeout_seconds for f in functions]),
                        ("memory", [f.memory_mb for f in functions])):
        value, count = Counter(values).most_common(1)[0]
        if count >= 2 and value != BUILTIN_DEFAULTS[key]:
            out[key] = value
    return out


def _function(fn: Function, defaults: dict[str, Any], code_uri: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"handler": fn.handler}
    for key, value in (("runtime", fn.runtime), ("timeout", fn.timeout_seconds), ("memory", fn.memory_mb)):
        if value != defaults.get(key, BUILTIN_DEFAULTS[key]):
            out[key] = _duration(value, small=True) if key == "timeout" else value
    if fn.concurrency is not None:
        out["concurrency"] = fn.concurrency
    if fn.local_duration_seconds is not None:
        out["local_duration"] = _duration(fn.local_duration_seconds, small=True)
    if fn.rollout is not None:
        out["rollout"] = _rollout(fn.rollout)
    if fn.environment:
        out["environment"] = dict(fn.environment)
    if fn.reads:
        out["reads"] = list(fn.reads)
    if fn.writes:
        out["writes"] = list(fn.writes)
    if code_uri is not None:
        out["code_uri"] = code_uri
    return out


def _rollout(r: Rollout) -> Any:
    if r.strategy == "all-at-once" and not r.alarms and not r.pre_traffic_hook and not r.post_traffic_hook:
        return "all-at-once"
    simple = not r.alarms and not r.pre_traffic_hook and not r.post_traffic_hook
    if simple and r.percent == _SENTENCE_PERCENT and r.interval_minutes is not None:
        return f"{r.strategy} {r.percent}% every {r.interval_minutes}m"
    out: dict[str, Any] = {"strategy": r.strategy}
    if r.percent is not None:
        out["percent"] = r.percent
    if r.interval_minutes is not None:
        out["interval"] = f"{r.interval_minutes}m"
    if r.alarms:
        out["alarms"] = list(r.alarms)
    hooks = {k: v for k, v in (("pre_traffic", r.pre_traffic_hook), ("post_traffic", r.post_traffic_hook)) if v}
    if hooks:
        out["hooks"] = hooks
    return out


def _flow(flow: Flow, functions: set[str], definition_file: str | None) -> tuple[dict[str, Any], bool]:
    """A flow's app-file mapping, and whether its ASL stands inline."""
    out: dict[str, Any] = {}
    if flow.type == "EXPRESS":
        out["type"] = "express"
    asl = dict(flow.asl)
    keys = list(asl)
    if definition_file is None and keys and keys[-1] == "TimeoutSeconds" and _is_int(asl["TimeoutSeconds"]):
        # the loader appends a flow's `timeout:` last; written last, it reads back the same
        out["timeout"] = _duration(asl.pop("TimeoutSeconds"), small=True)
    if flow.logging:
        out["logging"] = True
    if flow.tracing:
        out["tracing"] = True
    if flow.policies:
        out["policies"] = list(flow.policies)
    if definition_file is not None:
        out["definition_file"] = definition_file
        return out, True
    sugared = resugar(asl, functions)
    order = [k for k in INLINE_ASL_KEYS if k in sugared]
    if list(sugared) == order and "StartAt" in sugared:
        out.update(sugared)
        return out, True
    out["definition"] = sugared
    return out, False


def resugar(asl: Any, functions: set[str]) -> Any:
    """Canonical ASL → the app file's shorthands (the inverse of ``desugar_states``):
    ``Resource: ${FnArn}`` on a Task → ``Function: Fn``, long durations → ``5m``."""
    if isinstance(asl, dict):
        shorthand = None
        resource = asl.get("Resource")
        if asl.get("Type") == "Task" and "Function" not in asl and isinstance(resource, str):
            if resource.startswith("${") and resource.endswith("Arn}") and resource[2:-4] in functions:
                shorthand = resource[2:-4]
        out: dict[str, Any] = {}
        for k, v in asl.items():
            if shorthand is not None and k == "Resource":
                out["Function"] = shorthand
            elif k in DURATION_FIELDS and _is_int(v):
                out[k] = _duration(v)
            else:
                out[k] = resugar(v, functions)
        return out
    if isinstance(asl, list):
        return [resugar(x, functions) for x in asl]
    return asl


def _trigger(t: Trigger, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.name and t.name != f"{t.source or 'trigger'}{index + 1}":
        out["name"] = t.name
    options = dict(t.options)
    if t.source in ("bucket", "queue", "topic", "table"):
        out[t.source] = t.resource
    elif t.source:
        out[t.source] = options.pop(t.source, None)
        if t.resource is not None:
            out["bus"] = t.resource
    for k, v in options.items():
        if k not in _TRIGGER_SOURCES:
            out[k] = v
    out["invoke" if t.target_kind == "function" else "start"] = t.target
    return out


# --- values ----------------------------------------------------------------------------------


def _duration(value: Any, small: bool = False) -> Any:
    """Whole seconds → the largest exact duration unit (``300`` → ``5m``); under a minute a
    number stays a number unless ``small`` (then ``10`` → ``10s``)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        return value
    if isinstance(value, float):
        if value.is_integer():
            value = int(value)
        elif small and (value * 1000).is_integer():
            return f"{int(value * 1000)}ms"
        else:
            return value
    for unit, size in _DURATION_UNITS:
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s" if small or value >= 60 else value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _rel(path: str, base: str) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def _comment(text: str) -> str:
    return ("# " + text).rstrip() if text and not text.startswith("#") else ("#" + text if text else "#")


# --- YAML ------------------------------------------------------------------------------------


def _flow_text(value: Any) -> str:
    """One value in YAML flow style, as PyYAML quotes it (valid in block context too)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 30)
    if any(c in text for c in _YAML_BREAKS):
        # PyYAML writes these raw, and reading them back breaks the line: escape them
        text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30)
    text = text.rstrip("\n")
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if "\n" in text and isinstance(value, str):
        # a multi-line string: one double-quoted line with escapes
        text = yaml.safe_dump(value, default_style='"', width=1 << 30).rstrip("\n")
    return text


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


class _Writer:
    """Block-style YAML with comments above keys; short scalar collections on one line."""

    def __init__(self, comments: dict[Pointer, list[str]]) -> None:
        self.comments = comments

    def document(self, doc: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for i, (key, value) in enumerate(doc.items()):
            if i and key in ("defaults", "functions", "resources", "flows", "triggers"):
                lines.append("")
            lines += self.entry(key, value, 0, (key,))
        return lines

    def above(self, ptr: Pointer, indent: int) -> list[str]:
        return [" " * indent + _comment(c) for c in self.comments.get(ptr, [])]

    def inline(self, value: Any, ptr: Pointer, width: int) -> str | None:
        """``value`` on one line, if it is short, holds no comments and nothing deep."""
        if _is_scalar(value):
            return _flow_text(value)
        if not value or any(p[: len(ptr)] == ptr and len(p) > len(ptr) for p in self.comments):
            return _flow_text(value) if not value else None
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if isinstance(item, dict) and any(not _is_scalar(x) for x in item.values()):
                return None
            if isinstance(item, list) and any(not _is_scalar(x) for x in item):
                return None
        text = _flow_text(value)
        return text if len(text) <= width and "\n" not in text else None

    def entry(self, key: Any, value: Any, indent: int, ptr: Pointer) -> list[str]:
        pad = " " * indent
        head = pad + _flow_text(key) + ":"
        lines = self.above(ptr, indent)
        one = self.inline(value, ptr, FLOW_STYLE_WIDTH - len(head))
        if one is not None and not (isinstance(value, dict) and self._always_block(ptr)):
            return lines + [f"{head} {one}"]
        lines.append(head)
        return lines + self.block(value, indent + 2, ptr)

    @staticmethod
    def _always_block(ptr: Pointer) -> bool:
        # states and functions read best one setting per line, and stay commentable
        return len(ptr) >= 2 and ptr[-2] in ("States", "functions") or bool(ptr) and ptr[-1] == "States"

    def block(self, value: Any, indent: int, ptr: Pointer) -> list[str]:
        lines: list[str] = []
        if isinstance(value, dict):
            for k, v in value.items():
                lines += self.entry(k, v, indent, ptr + (k,))
            return lines
        pad = " " * indent
        for i, item in enumerate(value):
            lines += self.above(ptr + (i,), indent)
            one = self.inline(item, ptr + (i,), FLOW_STYLE_WIDTH - indent - 2)
            if one is not None:
                lines.append(f"{pad}- {one}")
                continue
            sub = self.block(item, indent + 2, ptr + (i,))
            # strip the indent only: str.lstrip() would also eat a key's own leading U+00A0
            if isinstance(item, dict) and sub and not sub[0].lstrip(" ").startswith("#"):
                lines.append(f"{pad}- {sub[0].lstrip(' ')}")
                lines += sub[1:]
            else:
                lines.append(f"{pad}-")
                lines += sub
        return lines

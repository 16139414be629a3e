"""The app file: its sections, the names that connect them, and the event graph they form.

Checks the raw document (so a typo is reported where it was written, even when the
desugaring dropped it), then the cross-references: Task ``Function:``, ``${X}``
placeholders, triggers, ``reads``/``writes``, rollout hooks; Express-only restrictions; and
event loops: a function or flow that writes to the bucket, queue, topic or bus that (through
any chain of triggers) starts it again.

Codes: FE601 unknown field, FE602 missing field, FE603 wrong type, FE604 value not allowed,
FE605 handler not ``module.function``, FE606 bad duration, FE607 number out of range,
FE608 bad name, FE609 name used twice, FE610 Task ``Function:`` names no function, FE611
``${X}`` names nothing, FE612 trigger source names no resource of its kind, FE613 trigger
target or rollout hook names no flow/function, FE614 trigger without exactly one source,
FE615 trigger without exactly one target, FE616 bad schedule expression, FE617 Express-only
restriction, FE618 event loop, FE619 reads/writes/dead_letter name no resource, FE623 bad
rollout, FE624 bad event pattern, filter policy or filter, FE625 conflicting flow definitions,
FE626 bad table key, FE628 (warning) a runtime Lambda has deprecated or flowengine runs only
mocked.
"""

from __future__ import annotations

import datetime
import re
import sys
from typing import Any

import networkx as nx

from flowengine.dsl.app import (
    ASL_MACHINE_KEYS,
    SUBSTITUTION,
    TRIGGER_SOURCES,
    TRIGGER_TARGETS,
    LoadedApp,
    parse_rollout_text,
)
from flowengine.dsl.durations import is_duration, parse_duration
from flowengine.dsl.source import Pointer
from flowengine.dsl.streams import MAX_STREAM_BATCH_SIZE, STARTING_POSITIONS, STREAM_VIEW_TYPES, view_type
from flowengine.model.app import RESOURCE_KINDS, App
from flowengine.model.diagnostics import Diagnostic
from flowengine.model.runtimes import HANDLER_MAX_LENGTH, LAMBDA_RUNTIMES, is_python, python_module, replacement, stage
from flowengine.validate._common import Reporter, article, describe, did_you_mean, is_int, is_num, json_type, machines, shorten
from flowengine.validate.expressions import path_problem
from flowengine.validate.policies import check_policies

# --- the tables (docs/app-file.md; kept equal to app.schema.json by a test) -------------------

TOP_KEYS = ("app", "description", "code", "defaults", "functions", "resources", "flows", "triggers")
DEFAULTS_KEYS = ("runtime", "timeout", "memory", "environment")
FUNCTION_KEYS = ("handler", "runtime", "timeout", "memory", "concurrency", "rollout", "environment", "reads",
                 "writes", "code_uri", "local_duration")
ROLLOUT_KEYS = ("strategy", "percent", "interval", "alarms", "hooks")
HOOK_KEYS = ("pre_traffic", "post_traffic")
RESOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "bucket": (), "queue": ("visibility_timeout", "fifo", "dead_letter"), "topic": (), "table": ("key", "stream"),
    "event_bus": (),
}
DEAD_LETTER_KEYS = ("queue", "max_receive_count")
FLOW_KEYS = ("type", "timeout", "logging", "tracing", "definition", "definition_file", "policies")
TRIGGER_OPTIONS: dict[str, tuple[str, ...]] = {
    "bucket": ("events", "prefix", "suffix", "via_eventbridge"),
    "queue": ("batch_size", "batching_window", "report_batch_item_failures", "filter"),
    "topic": ("filter_policy",),
    "table": ("batch_size", "batching_window", "starting_position", "filter", "report_batch_item_failures",
              "maximum_retry_attempts"),
    "schedule": ("input", "timezone"),
    "event_pattern": ("bus", "input", "input_path"),
    "api": (),
}
TRIGGER_COMMON = ("name",)
#: Every runtime identifier Lambda knows; which of them Lambda still takes depends on the day
#: (flowengine.model.runtimes).
RUNTIMES = tuple(LAMBDA_RUNTIMES)
BUCKET_EVENTS = ("created", "removed")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
KEY_TYPES = ("S", "N", "B")

_LOGICAL_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")
_MISSING = object()


class _App:
    """One app file being checked: the document, the model, and where to report."""

    def __init__(self, loaded: LoadedApp, out: list[Diagnostic]) -> None:
        self.loaded = loaded
        self.app: App = loaded.app
        self.doc: dict[str, Any] = loaded.source.value
        self.rep = Reporter(loaded.source, out, app_file=True)

    def report(self, code: str, message: str, ptr: Pointer, **kw: Any) -> None:
        self.rep.report(code, message, ptr, **kw)

    def section(self, key: str) -> dict[str, Any]:
        v = self.doc.get(key)
        return v if isinstance(v, dict) else {}


def check(loaded: LoadedApp, out: list[Diagnostic]) -> None:
    """Every app-level problem of an app file (nothing for a plain ASL file)."""
    if loaded.app.plain_asl or not isinstance(loaded.source.value, dict):
        return
    if loaded.template is not None:  # a SAM/CloudFormation template: dsl.sam reported its problems (FE9xx)
        _template_triggers(loaded, out)
        return
    a = _App(loaded, out)
    _top(a)
    _functions(a)
    _resources(a)
    _flows(a)
    _triggers(a)
    _names(a)
    _event_loops(a)


# --- generic helpers ------------------------------------------------------------------------------


def _unknown(a: _App, ptr: Pointer, key: str, allowed: tuple[str, ...] | list[str], where: str,
             extra_hint: str | None = None) -> None:
    hint = did_you_mean(key, allowed) or extra_hint or ("allowed: " + ", ".join(allowed) if allowed
                                                        else f"{where} takes no other settings")
    a.report("FE601", f"unknown field '{key}' in {where}", ptr, key=True, hint=hint)


def _want(a: _App, ptr: Pointer, value: Any, kind: str, what: str, hint: str | None = None) -> bool:
    ok = {
        "string": isinstance(value, str),
        "integer": is_int(value),
        "boolean": isinstance(value, bool),
        "mapping": isinstance(value, dict),
        "list": isinstance(value, list),
    }[kind]
    if not ok:
        a.report("FE603", f"{what} must be {article(kind)} {kind}, not {describe(value)}", ptr,
                 hint=hint or f"write {article(kind)} {kind}")
    return ok


def _duration(a: _App, ptr: Pointer, value: Any, what: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not (is_num(value) or isinstance(value, str)):
        a.report("FE603", f"{what} must be a duration or a number of seconds, not {json_type(value)}", ptr,
                 hint="write e.g. 30s, 5m or 1h30m")
        return
    if isinstance(value, str):
        if not is_duration(value):
            a.report("FE606", f"{what} '{shorten(value)}' is not a duration", ptr,
                     hint="write a number and a unit: 250ms, 30s, 5m, 1h30m, 2d")
            return
        secs = parse_duration(value)
    else:
        secs = float(value)
    if not low <= secs <= high:
        a.report("FE607", f"{what} is {_secs_text(secs)}; it must be between {_secs_text(low)} and "
                 f"{_secs_text(high)}", ptr, hint=f"write a duration from {_secs_text(low)} to {_secs_text(high)}")


def _secs_text(secs: float) -> str:
    if secs >= 86400 and secs % 86400 == 0:
        return f"{int(secs // 86400)}d"
    if secs >= 3600 and secs % 3600 == 0:
        return f"{int(secs // 3600)}h"
    if secs >= 60 and secs % 60 == 0:
        return f"{int(secs // 60)}m"
    return f"{secs:g}s"


def _int_range(a: _App, ptr: Pointer, value: Any, what: str, low: int, high: int | None) -> None:
    if not _want(a, ptr, value, "integer", what):
        return
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        a.report("FE607", f"{what} is {value}; it must be {bounds}", ptr, hint=f"write a whole number {bounds}")


def _target_input_path(a: _App, ptr: Pointer, t: dict[str, Any]) -> None:
    """An EventBridge target's InputPath: a JSONPath into the event, exclusive with ``input``."""
    iptr = ptr + ("input_path",)
    if "input" in t:
        a.report("FE625", "input and input_path both give the target's input", iptr,
                 hint="keep input (a constant) or input_path (a part of the event, e.g. $.detail)")
    elif _want(a, iptr, t["input_path"], "string", "input_path", hint="write a JSONPath such as $.detail"):
        problem = path_problem(t["input_path"], False)
        if problem:
            code, message, hint = problem
            a.report(code, f"input_path: {message}", iptr, hint=hint or "write a JSONPath such as $.detail")


def _names_list(a: _App, ptr: Pointer, value: Any, what: str) -> list[tuple[int, str]]:
    if not _want(a, ptr, value, "list", what, hint=f"write {what}: [Name, ...]"):
        return []
    out = []
    for i, x in enumerate(value):
        if _want(a, ptr + (i,), x, "string", f"{what}[{i}]"):
            out.append((i, x))
    return out


# --- sections ---------------------------------------------------------------------------------------


def _top(a: _App) -> None:
    doc = a.doc
    for key in doc:
        if key not in TOP_KEYS:
            hint = None
            if key in ASL_MACHINE_KEYS:
                hint = "ASL goes inside a flow: flows: {MyFlow: {StartAt: ..., States: ...}}"
            _unknown(a, (key,), key, TOP_KEYS, "the app file", hint)
    if "app" not in doc:
        a.report("FE602", "the app file has no 'app' name", (), hint="add app: <name> as the first line")
    else:
        _want(a, ("app",), doc["app"], "string", "app")
    if "description" in doc:
        _want(a, ("description",), doc["description"], "string", "description")
    if "code" in doc:
        code = doc["code"]
        if isinstance(code, list):
            for i, c in enumerate(code):
                _want(a, ("code", i), c, "string", f"code[{i}]", hint="write a directory relative to the app file")
        else:
            _want(a, ("code",), code, "string", "code", hint="write a directory, or a list of directories")
    for key in ("defaults", "functions", "resources", "flows"):
        if key in doc:
            _want(a, (key,), doc[key], "mapping", key)
    if "triggers" in doc:
        _want(a, ("triggers",), doc["triggers"], "list", "triggers", hint="write triggers: [{bucket: ..., start: ...}]")
    defaults = doc.get("defaults")
    if isinstance(defaults, dict):
        for key, value in defaults.items():
            if key not in DEFAULTS_KEYS:
                extra = "set it on each function" if key in FUNCTION_KEYS else None
                _unknown(a, ("defaults", key), key, DEFAULTS_KEYS, "defaults", extra)
            else:
                _function_field(a, ("defaults", key), key, value)


def _function_field(a: _App, ptr: Pointer, key: str, value: Any) -> None:
    if key == "runtime":
        if _want(a, ptr, value, "string", "runtime"):
            _runtime(a, ptr, value)
    elif key == "timeout":
        _duration(a, ptr, value, "timeout", 1, 900)
    elif key == "memory":
        _int_range(a, ptr, value, "memory", 128, 10240)
    elif key == "concurrency":
        _int_range(a, ptr, value, "concurrency", 0, None)
    elif key == "local_duration":
        _duration(a, ptr, value, "local_duration", 0, 900)
    elif key == "environment":
        if _want(a, ptr, value, "mapping", "environment"):
            for k, v in value.items():
                if not re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", k):
                    a.report("FE608", f"environment variable name '{shorten(k)}' is not valid", ptr + (k,), key=True,
                             hint="letters, digits and underscores, not starting with a digit")
                if isinstance(v, (dict, list)):
                    a.report("FE603", f"environment variable {k} must be a string, not {json_type(v)}", ptr + (k,),
                             hint="environment values are text")
                elif isinstance(v, str):
                    for m in SUBSTITUTION.finditer(v):
                        _placeholder(a, ptr + (k,), m.group(1), environment=True)
    elif key == "code_uri":
        _want(a, ptr, value, "string", "code_uri")


def _runtime(a: _App, ptr: Pointer, value: str) -> None:
    """A runtime Lambda does not know, or no longer takes for new functions, is an error (FE604);
    one it has deprecated, or one flowengine cannot run locally, a warning (FE628)."""
    where = stage(value)
    if where is None:
        a.report("FE604", f"runtime '{shorten(value)}' is not a Lambda runtime", ptr,
                 hint=did_you_mean(value, RUNTIMES) or "e.g. python3.12 (Lambda's runtime identifiers)")
        return
    info = LAMBDA_RUNTIMES[value]
    successor = replacement(value)
    move = f"move to {successor} and test the code on it" if successor else "move to a runtime Lambda supports"
    if where == "blocked":
        a.report("FE604", f"runtime {value} is no longer accepted by Lambda: it refuses new functions on it "
                 f"since {info.block_create}", ptr, hint=move)
        return
    deprecated = (f"Lambda deprecated {value} on {info.deprecated} and refuses new functions on it from "
                  f"{info.block_create}") if where == "deprecated" else None
    if not is_python(value):
        a.report("FE628", f"runtime {value}: flowengine runs Python handlers only, so a function on it runs locally "
                 "only when mocked" + (f"; {deprecated}" if deprecated else ""), ptr,
                 hint="mock the Tasks that call it (flowengine mocks scaffold); compile keeps the runtime",
                 severity="warning")
    elif deprecated:
        a.report("FE628", deprecated, ptr, hint=move, severity="warning")


def _function_runtime(a: _App, f: dict[str, Any]) -> str:
    """The runtime a function's handler is written for: its own, the defaults', or the default."""
    defaults = a.doc.get("defaults")
    runtime = f.get("runtime", defaults.get("runtime") if isinstance(defaults, dict) else None)
    return runtime if isinstance(runtime, str) else "python3.12"


def _functions(a: _App) -> None:
    for name, f in a.section("functions").items():
        ptr = ("functions", name)
        if not isinstance(f, dict):
            a.report("FE603", f"function {name} must be a mapping, not {json_type(f)}", ptr,
                     hint="write handler: module.function and its settings")
            continue
        for key, value in f.items():
            kptr = ptr + (key,)
            if key not in FUNCTION_KEYS:
                _unknown(a, kptr, key, FUNCTION_KEYS, f"function {name}")
            elif key == "handler":
                if _want(a, kptr, value, "string", "handler", hint="write module.function"):
                    _handler_form(a, kptr, value, _function_runtime(a, f))
            elif key in ("reads", "writes"):
                for i, r in _names_list(a, kptr, value, key):
                    if r not in a.app.resources:
                        a.report("FE619", f"{key} names a resource that does not exist: '{shorten(r)}'", kptr + (i,),
                                 hint=did_you_mean(r, a.app.resources) or _known("resources", a.app.resources))
            elif key == "rollout":
                _rollout(a, kptr, value)
            else:
                _function_field(a, kptr, key, value)
        if "handler" not in f:
            a.report("FE602", f"function {name} has no handler", ptr, key=True,
                     hint="add handler: module.function (e.g. orders.handlers.validate)")


def _handler_form(a: _App, ptr: Pointer, value: str, runtime: str) -> None:
    """The handler as Lambda takes it: at most 128 characters and no whitespace for every
    runtime; for Python, ``module.function`` as Lambda's Python runtime imports it (a file name
    such as ``buy-sell`` or a ``dir/module`` path is fine: flowengine.model.runtimes)."""
    if len(value) > HANDLER_MAX_LENGTH:
        a.report("FE605", f"handler '{shorten(value)}' is longer than {HANDLER_MAX_LENGTH} characters, Lambda's limit",
                 ptr, hint="move the module nearer the code directory's top")
        return
    if not is_python(runtime):
        if not value or any(c.isspace() for c in value):
            a.report("FE605", f"handler '{shorten(value)}' is empty or has whitespace, which Lambda refuses", ptr,
                     hint=f"write the handler as {runtime} names it, e.g. index.handler")
        return
    module = python_module(value)
    if module is not None and not ("/" in value and value.endswith(".py")):  # a file path, not a function
        top = module.split(".")[0]
        if top in sys.builtin_module_names:
            a.report("FE605", f"handler module '{top}' is one of Python's built-in modules, which Lambda's Python "
                     "runtime refuses as a handler module", ptr, hint=f"rename the module: {top}_handler.py")
        return
    hint = "write the dotted module path and the function: package.module.function"
    if ":" in value:
        hint = f"use a dot, not a colon: {value.replace(':', '.')}"
    elif "\\" in value:
        hint = "separate directories with / (Lambda runs on Linux): " + value.replace("\\", "/")
    elif "/" in value or value.endswith(".py") or ".py." in value:
        fixed = value.replace("/", ".").replace(".py.", ".").removesuffix(".py")
        hint = f"write a module path, not a file path: {fixed}" + ("" if "." in fixed else ".handler")
    elif "." not in value:
        hint = f"name the module too: <module>.{value}"
    a.report("FE605", f"handler '{shorten(value)}' is not module.function", ptr, hint=hint)


def _rollout(a: _App, ptr: Pointer, value: Any) -> None:
    if isinstance(value, str):
        parsed = parse_rollout_text(value)
        if isinstance(parsed, str):
            a.report("FE623", f"rollout '{shorten(value)}' is not a rollout", ptr,
                     hint="write all-at-once, 'canary 10% every 5m' or 'linear 10% every 1m'")
            return
        _rollout_numbers(a, ptr, parsed.get("percent"), parsed.get("interval"), parsed.get("strategy"))
        return
    if not _want(a, ptr, value, "mapping", "rollout", hint="write all-at-once, 'canary 10% every 5m', or a mapping"):
        return
    for key in value:
        if key not in ROLLOUT_KEYS:
            _unknown(a, ptr + (key,), key, ROLLOUT_KEYS, "rollout")
    strategy = value.get("strategy", "all-at-once")
    if strategy not in ("all-at-once", "canary", "linear"):
        a.report("FE623", f"rollout strategy '{shorten(strategy)}' is not known", ptr + ("strategy",),
                 hint=did_you_mean(strategy, ("all-at-once", "canary", "linear")) or "all-at-once, canary or linear")
    elif strategy != "all-at-once":
        for key in ("percent", "interval"):
            if key not in value:
                a.report("FE602", f"a {strategy} rollout needs {key}", ptr, key=True,
                         hint="e.g. percent: 10, interval: 5m")
    if "percent" in value:
        _int_range(a, ptr + ("percent",), value["percent"], "percent", 1, 99)
    if "interval" in value:
        _duration(a, ptr + ("interval",), value["interval"], "interval", 60, 86400 * 2)
    if "alarms" in value:
        _names_list(a, ptr + ("alarms",), value["alarms"], "alarms")
    hooks = value.get("hooks")
    if hooks is not None and _want(a, ptr + ("hooks",), hooks, "mapping", "hooks"):
        for key, fn in hooks.items():
            hptr = ptr + ("hooks", key)
            if key not in HOOK_KEYS:
                _unknown(a, hptr, key, HOOK_KEYS, "hooks")
            elif _want(a, hptr, fn, "string", key) and fn not in a.app.functions:
                a.report("FE613", f"{key} hook names a function that does not exist: '{shorten(fn)}'", hptr,
                         hint=did_you_mean(fn, a.app.functions) or _known("functions", a.app.functions))


def _rollout_numbers(a: _App, ptr: Pointer, percent: Any, interval: Any, strategy: Any) -> None:
    if strategy == "all-at-once":
        return
    if is_int(percent) and not 1 <= percent <= 99:
        a.report("FE607", f"rollout percent is {percent}; it must be between 1 and 99", ptr,
                 hint="shift part of the traffic per step, e.g. 10%")
    if isinstance(interval, str):
        if not is_duration(interval):
            a.report("FE606", f"rollout interval '{shorten(interval)}' is not a duration", ptr,
                     hint="write minutes such as 5m")
        elif parse_duration(interval) < 60:
            a.report("FE607", f"rollout interval {interval} is below one minute", ptr,
                     hint="CodeDeploy steps are whole minutes")


def _resources(a: _App) -> None:
    res = a.section("resources")
    for name, r in res.items():
        ptr = ("resources", name)
        if not isinstance(r, dict):
            a.report("FE603", f"resource {name} must be a mapping, not {json_type(r)}", ptr,
                     hint="write {type: bucket} (or queue, topic, table, event_bus)")
            continue
        kind = r.get("type")
        if "type" not in r:
            a.report("FE602", f"resource {name} has no type", ptr, key=True, hint="add type: " + "|".join(RESOURCE_KINDS))
            continue
        if kind not in RESOURCE_KINDS:
            a.report("FE604", f"resource type '{shorten(kind)}' is not known", ptr + ("type",),
                     hint=did_you_mean(kind, RESOURCE_KINDS) or "one of " + ", ".join(RESOURCE_KINDS))
            continue
        allowed = RESOURCE_KEYS[kind]
        for key, value in r.items():
            kptr = ptr + (key,)
            if key == "type":
                continue
            if key not in allowed:
                owners = [k for k, keys in RESOURCE_KEYS.items() if key in keys]
                extra = f"{key} is a setting of {'/'.join(owners)} resources" if owners else None
                _unknown(a, kptr, key, allowed, f"a {kind} resource", extra)
            elif key == "visibility_timeout":
                _duration(a, kptr, value, "visibility_timeout", 0, 43200)
            elif key == "fifo":
                _want(a, kptr, value, "boolean", "fifo")
            elif key == "dead_letter":
                _dead_letter(a, kptr, value, name)
            elif key == "key":
                _table_key(a, kptr, value)
            elif key == "stream" and view_type(value) is None:
                a.report("FE604", f"stream '{shorten(value)}' is not a stream view type", kptr,
                         hint=did_you_mean(value, STREAM_VIEW_TYPES) or "one of " + ", ".join(STREAM_VIEW_TYPES))
        if kind == "table" and "key" not in r:
            a.report("FE602", f"table {name} has no key", ptr, key=True, hint="add key: {id: S}")


def _dead_letter(a: _App, ptr: Pointer, value: Any, owner: str) -> None:
    if not _want(a, ptr, value, "mapping", "dead_letter", hint="write {queue: OtherQueue, max_receive_count: 3}"):
        return
    for key in value:
        if key not in DEAD_LETTER_KEYS:
            _unknown(a, ptr + (key,), key, DEAD_LETTER_KEYS, "dead_letter")
    if "queue" not in value:
        a.report("FE602", "dead_letter has no queue", ptr, key=True, hint="add queue: <a queue resource>")
    else:
        q = value["queue"]
        if _want(a, ptr + ("queue",), q, "string", "dead_letter queue"):
            kind = a.app.resources[q].kind if q in a.app.resources else None
            if kind != "queue" or q == owner:
                why = ("a queue cannot be its own dead-letter queue" if q == owner else
                       f"'{q}' is a {kind}" if kind else did_you_mean(q, _of_kind(a, "queue"))
                       or _known("queues", _of_kind(a, "queue")))
                a.report("FE619", f"dead_letter queue '{shorten(q)}' is not another queue of the app", ptr + ("queue",),
                         hint=why)
    if "max_receive_count" in value:
        _int_range(a, ptr + ("max_receive_count",), value["max_receive_count"], "max_receive_count", 1, 1000)


def _table_key(a: _App, ptr: Pointer, value: Any) -> None:
    if not _want(a, ptr, value, "mapping", "key", hint="write {id: S} or {pk: S, sk: N}"):
        return
    if not 1 <= len(value) <= 2:
        a.report("FE626", f"a table key has a hash key and an optional sort key, not {len(value)} attributes", ptr,
                 hint="write {id: S} or {pk: S, sk: N}")
    for attr, t in value.items():
        if t not in KEY_TYPES:
            a.report("FE626", f"key attribute {attr} has type '{shorten(t)}'", ptr + (attr,),
                     hint="S (string), N (number) or B (binary)")


def _of_kind(a: _App, kind: str) -> list[str]:
    return [n for n, r in a.app.resources.items() if r.kind == kind]


def _known(what: str, names: Any) -> str:
    names = list(names)
    if not names:
        return f"the app has no {what}"
    return f"{what}: " + ", ".join(names[:10]) + (", …" if len(names) > 10 else "")


# --- flows ------------------------------------------------------------------------------------------


def _flows(a: _App) -> None:
    for name, f in a.section("flows").items():
        ptr = ("flows", name)
        if not isinstance(f, dict):
            a.report("FE603", f"flow {name} must be a mapping, not {json_type(f)}", ptr,
                     hint="write StartAt and States (ASL), or definition_file: x.asl.json")
            continue
        inline = [k for k in f if k in ASL_MACHINE_KEYS]
        for key, value in f.items():
            kptr = ptr + (key,)
            if key in ASL_MACHINE_KEYS:
                continue
            if key not in FLOW_KEYS:
                extra = None
                if key[:1].isupper():
                    extra = "ASL keys of a flow: " + ", ".join(ASL_MACHINE_KEYS)
                _unknown(a, kptr, key, FLOW_KEYS + ASL_MACHINE_KEYS, f"flow {name}", extra)
            elif key == "type":
                if not isinstance(value, str) or value.lower() not in ("standard", "express"):
                    a.report("FE604", f"flow type '{shorten(value)}' is not known", kptr,
                             hint=did_you_mean(str(value), ("standard", "express")) or "standard or express")
            elif key == "timeout":
                express = str(f.get("type", "")).lower() == "express"
                _duration(a, kptr, value, "timeout", 1, 300 if express else 31_536_000)
            elif key in ("logging", "tracing"):
                _want(a, kptr, value, "boolean", key)
            elif key == "definition":
                _want(a, kptr, value, "mapping", "definition", hint="write the ASL (StartAt, States) as a mapping")
            elif key == "definition_file":
                _want(a, kptr, value, "string", "definition_file", hint="a path relative to the app file")
            elif key == "policies":
                check_policies(a.rep, kptr, value, _policy_placeholders(a))
        sources = [k for k in ("definition", "definition_file") if k in f] + (["inline ASL"] if inline else [])
        if len(sources) > 1:
            where = ptr + (sources[1],) if sources[1] != "inline ASL" else ptr + (inline[0],)
            a.report("FE625", f"flow {name} has both {sources[0]} and {sources[1]}", where, key=True,
                     hint=f"keep one; {sources[0]} is the one that is used")
        if "timeout" in f and "TimeoutSeconds" in inline:
            a.report("FE625", f"flow {name} has both timeout and TimeoutSeconds", ptr + ("TimeoutSeconds",), key=True,
                     hint="keep one; TimeoutSeconds is the one that is used")
    for name, flow in a.app.flows.items():
        view = a.loaded.flow_sources.get(name)
        if view is None:
            continue
        rep = Reporter(view, a.rep.out, app_file=True)
        _flow_references(a, rep, name)
        if flow.type == "EXPRESS":
            _express(a, rep, name)


def _policy_placeholders(a: _App) -> dict[str, str]:
    """What ``${X}`` may name in a flow's policies: ``X`` and ``XArn`` of everything the app
    names (compile resolves them as docs/app-file.md tables)."""
    names: dict[str, str] = {}
    for section, items in (("function", a.app.functions), ("flow", a.app.flows), ("resource", a.app.resources)):
        for n in items:
            names.setdefault(n, f"{section} {n}")
            names.setdefault(n + "Arn", f"{section} {n}")
    return names


def _value_at(view: Any, ptr: Pointer) -> Any:
    v = view.value
    for k in ptr:
        try:
            v = v[k]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return v


def _flow_references(a: _App, rep: Reporter, flow_name: str) -> None:
    flow = a.app.flows[flow_name]
    for scope in machines(flow.definition):
        for st in scope.states.values():
            written = _value_at(rep.source, st.loc.pointer)
            if isinstance(written, dict) and written.get("Type") == "Task" and "Function" in written \
                    and "Resource" not in written:
                fn = written["Function"]
                fptr = st.loc.pointer + ("Function",)
                if not isinstance(fn, str):
                    rep.report("FE603", f"Function must be the name of a function, not {json_type(fn)}", fptr,
                               state=st.path, hint="write Function: <a function of the app>")
                elif fn not in a.app.functions:
                    rep.report("FE610", f"Function names a function that does not exist: '{shorten(fn)}'", fptr,
                               state=st.path, hint=did_you_mean(fn, a.app.functions) or _known("functions",
                                                                                                 a.app.functions))
    # ${X} placeholders anywhere in the flow's ASL (the desugared Function is checked above)
    stack: list[tuple[Pointer, Any]] = [((), flow.asl)]
    while stack:
        ptr, v = stack.pop()
        if isinstance(v, str):
            if "${" in v and not (ptr and ptr[-1] == "Resource" and _value_at(rep.source, ptr) is _MISSING):
                for m in SUBSTITUTION.finditer(v):
                    _placeholder(a, ptr, m.group(1), rep=rep, state=_state_path(flow, ptr))
        elif isinstance(v, dict):
            stack.extend((ptr + (k,), x) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((ptr + (i,), x) for i, x in enumerate(v))


def _placeholder_names(a: _App, environment: bool = False) -> dict[str, str]:
    """The ``${X}`` names a definition (or, with ``environment``, an environment value) may use:
    an environment value also takes a function's or a flow's name (``${Fn}``, ``${Flow}``)."""
    names: dict[str, str] = {}
    for r in a.app.resources:
        names[r] = f"resource {r}"
        names[r + "Arn"] = f"resource {r}"
    for f in a.app.functions:
        names[f + "Arn"] = f"function {f}"
        if environment:
            names.setdefault(f, f"function {f}")
    for w in a.app.flows:
        names[w + "Arn"] = f"flow {w}"
        if environment:
            names.setdefault(w, f"flow {w}")
    return names


def _placeholder(a: _App, ptr: Pointer, name: str, *, rep: Reporter | None = None, state: str | None = None,
                 environment: bool = False) -> None:
    known = _placeholder_names(a, environment)
    if name in known:
        return
    hint = did_you_mean(name, known)
    if hint is None and name in a.app.functions:
        hint = f"a function's ARN is ${{{name}Arn}}"
    if hint is None:
        hint = ("placeholders are ${Resource}, ${ResourceArn}, ${Function}, ${FunctionArn}, ${Flow} or ${FlowArn}"
                if environment else "placeholders are ${Resource}, ${ResourceArn}, ${FunctionArn} or ${FlowArn}")
    (rep or a.rep).report("FE611", f"${{{name}}} names nothing in the app", ptr, state=state, hint=hint)


def _state_path(flow: Any, ptr: Pointer) -> str | None:
    """The state path for a pointer inside a flow's ASL (States/A/Branches/0/States/B → A/0/B)."""
    parts: list[str] = []
    i = 0
    while i + 1 < len(ptr):
        if ptr[i] == "States" and isinstance(ptr[i + 1], str):
            parts.append(str(ptr[i + 1]))
            i += 2
            if i + 1 < len(ptr) and ptr[i] == "Branches" and isinstance(ptr[i + 1], int):
                parts.append(str(ptr[i + 1]))
                i += 2
            continue
        i += 1
    return "/".join(parts) or None


_EXPRESS_ONLY_STANDARD = (".sync", ".waitForTaskToken")


def _express(a: _App, rep: Reporter, flow_name: str) -> None:
    flow = a.app.flows[flow_name]
    for st in flow.definition.walk():
        res = st.raw.get("Resource") if isinstance(st.raw, dict) and st.raw.get("Type") == "Task" else None
        if not isinstance(res, str):
            continue
        suffix = next((s for s in _EXPRESS_ONLY_STANDARD if s in res), None)
        if suffix:
            rep.report("FE617", f"an Express flow cannot use {suffix} ('{shorten(res)}')", st.loc.pointer + ("Resource",),
                       state=st.path, hint="Express workflows support only request-response integrations; make the "
                                           "flow type: standard, or call the service without " + suffix)
        elif ":activity:" in res:
            rep.report("FE617", "an Express flow cannot run activities", st.loc.pointer + ("Resource",), state=st.path,
                       hint="make the flow type: standard")
    timeout = flow.asl.get("TimeoutSeconds") if isinstance(flow.asl, dict) else None
    if isinstance(timeout, (int, float)) and timeout > 300 and "timeout" not in a.section("flows").get(flow_name, {}):
        rep.report("FE617", f"an Express flow runs at most 5 minutes; TimeoutSeconds is {timeout}",
                   ("TimeoutSeconds",), hint="lower TimeoutSeconds to 300 or less, or make the flow type: standard")


# --- triggers ---------------------------------------------------------------------------------------


def _triggers(a: _App) -> None:
    triggers = a.doc.get("triggers")
    if not isinstance(triggers, list):
        return
    names: dict[str, int] = {}
    for i, t in enumerate(triggers):
        ptr: Pointer = ("triggers", i)
        if not isinstance(t, dict):
            a.report("FE603", f"triggers[{i}] must be a mapping, not {json_type(t)}", ptr,
                     hint="write {bucket: Uploads, start: Process}")
            continue
        sources = [k for k in TRIGGER_SOURCES if k in t]
        targets = [k for k in TRIGGER_TARGETS if k in t]
        if not sources:
            a.report("FE614", f"triggers[{i}] has no source", ptr,
                     hint="add one of " + ", ".join(TRIGGER_SOURCES))
        elif len(sources) > 1:
            a.report("FE614", f"triggers[{i}] has several sources: {', '.join(sources)}", ptr + (sources[1],), key=True,
                     hint="one source per trigger; write a second trigger for the other")
        if not targets:
            a.report("FE615", f"triggers[{i}] has no target", ptr,
                     hint="add start: <flow> or invoke: <function>")
        elif len(targets) > 1:
            a.report("FE615", "a trigger has both start and invoke", ptr + (targets[1],), key=True,
                     hint="one target per trigger; write a second trigger for the other")
        source = sources[0] if sources else None
        allowed = TRIGGER_COMMON + tuple(TRIGGER_SOURCES) + tuple(TRIGGER_TARGETS) + (
            TRIGGER_OPTIONS[source] if source else ())
        for key in t:
            if key not in allowed:
                owners = [s for s, keys in TRIGGER_OPTIONS.items() if key in keys]
                extra = f"{key} is an option of {'/'.join(owners)} triggers" if owners else None
                _unknown(a, ptr + (key,), key, allowed, f"a {source} trigger" if source else "a trigger", extra)
        if "name" in t and _want(a, ptr + ("name",), t["name"], "string", "name"):
            if t["name"] in names:
                a.report("FE609", f"trigger name '{shorten(t['name'])}' is used twice", ptr + ("name",),
                         hint=f"triggers[{names[t['name']]}] has it too")
            names.setdefault(t["name"], i)
        for target in targets[:1]:
            _trigger_target(a, ptr + (target,), target, t[target])
        if source:
            _trigger_source(a, ptr, source, t)


def _trigger_target(a: _App, ptr: Pointer, key: str, value: Any) -> None:
    kind = TRIGGER_TARGETS[key]
    pool = a.app.flows if kind == "flow" else a.app.functions
    if not _want(a, ptr, value, "string", key, hint=f"name a {kind} of the app"):
        return
    if value not in pool:
        other = a.app.functions if kind == "flow" else a.app.flows
        hint = did_you_mean(value, pool)
        if hint is None and value in other:
            hint = f"'{value}' is a {'function' if kind == 'flow' else 'flow'}: use {'invoke' if kind == 'flow' else 'start'}: {value}"
        a.report("FE613", f"{key} names a {kind} that does not exist: '{shorten(value)}'", ptr,
                 hint=hint or _known(kind + "s", pool))


def _trigger_source(a: _App, ptr: Pointer, source: str, t: dict[str, Any]) -> None:
    value = t[source]
    sptr = ptr + (source,)
    if source in ("bucket", "queue", "topic", "table"):
        if _want(a, sptr, value, "string", source, hint=f"name a {source} resource of the app"):
            _resource_ref(a, sptr, value, source, source)
    elif source == "schedule":
        if _want(a, sptr, value, "string", "schedule", hint="write rate(1 hour), cron(0 3 * * ? *) or at(...)"):
            problem = schedule_problem(value)
            if problem:
                a.report("FE616", f"schedule '{shorten(value)}': {problem[0]}", sptr, hint=problem[1])
            elif isinstance(t.get("timezone"), str) and _parse_schedule is not None:
                try:
                    _parse_schedule(value, t["timezone"])
                except ScheduleError as exc:  # the expression passed, so the zone is wrong
                    a.report("FE604", f"timezone '{shorten(t['timezone'])}' is not a time zone", ptr + ("timezone",),
                             hint=getattr(exc, "hint", None) or "an IANA name such as Europe/Paris")
    elif source == "event_pattern":
        if _want(a, sptr, value, "mapping", "event_pattern", hint="write {source: [...], detail-type: [...]}"):
            if _compile_pattern is not None:
                try:
                    _compile_pattern(value)
                except PatternError as exc:  # event-ruler's reason, and where
                    where = tuple(getattr(exc, "path", ()))
                    a.report("FE624", f"event_pattern: {getattr(exc, 'message', exc)}", sptr + where,
                             hint="EventBridge patterns list the values to match: {source: [orders]}")
            else:  # pragma: no cover - only while the events module is missing
                if not value:
                    a.report("FE624", "event_pattern is empty", sptr, hint="match at least source or detail-type")
                _pattern(a, sptr, value, "event_pattern")
        if "bus" in t and _want(a, ptr + ("bus",), t["bus"], "string", "bus"):
            _resource_ref(a, ptr + ("bus",), t["bus"], "event_bus", "bus")
        if "input_path" in t:
            _target_input_path(a, ptr, t)
    elif source == "api":  # noqa: SIM102 - one branch per source
        if _want(a, sptr, value, "mapping", "api", hint="write {method: POST, path: /orders}"):
            for key in value:
                if key not in ("method", "path"):
                    _unknown(a, sptr + (key,), key, ("method", "path"), "api")
            method = value.get("method")
            if "method" not in value:
                a.report("FE602", "api has no method", sptr, hint="add method: GET, POST, ...")
            elif not isinstance(method, str) or method.upper() not in API_METHODS:
                a.report("FE604", f"api method '{shorten(method)}' is not an HTTP method", sptr + ("method",),
                         hint="one of " + ", ".join(API_METHODS))
            path = value.get("path")
            if "path" not in value:
                a.report("FE602", "api has no path", sptr, hint="add path: /orders")
            elif not isinstance(path, str) or not path.startswith("/"):
                a.report("FE604", f"api path '{shorten(path)}' must start with /", sptr + ("path",),
                         hint=f"write /{path}" if isinstance(path, str) else "write e.g. /orders")
    if source == "bucket" and "events" in t:
        for i, ev in _names_list(a, ptr + ("events",), t["events"], "events"):
            if ev not in BUCKET_EVENTS:
                a.report("FE604", f"bucket event '{shorten(ev)}' is not known", ptr + ("events", i),
                         hint=did_you_mean(ev, BUCKET_EVENTS) or "created or removed")
    for key in ("prefix", "suffix"):
        if source == "bucket" and key in t:
            _want(a, ptr + (key,), t[key], "string", key)
    if source == "bucket" and "via_eventbridge" in t:
        _want(a, ptr + ("via_eventbridge",), t["via_eventbridge"], "boolean", "via_eventbridge")
    if source in ("queue", "table") and "filter" in t:
        _filter_criteria(a, ptr + ("filter",), t["filter"], source)
    if source == "table":
        _stream_trigger(a, ptr, t)
    if source == "queue":
        if "batch_size" in t:
            _int_range(a, ptr + ("batch_size",), t["batch_size"], "batch_size", 1, 10000)
        if "batching_window" in t:
            _duration(a, ptr + ("batching_window",), t["batching_window"], "batching_window", 0, 300)
        if "report_batch_item_failures" in t:
            _want(a, ptr + ("report_batch_item_failures",), t["report_batch_item_failures"], "boolean",
                  "report_batch_item_failures")
    if source == "topic" and "filter_policy" in t and _want(a, ptr + ("filter_policy",), t["filter_policy"],
                                                            "mapping", "filter_policy"):
        _pattern(a, ptr + ("filter_policy",), t["filter_policy"], "filter_policy")
    if source == "schedule" and "timezone" in t:
        _want(a, ptr + ("timezone",), t["timezone"], "string", "timezone", hint="an IANA name such as Europe/Paris")


def _filter_criteria(a: _App, ptr: Pointer, value: Any, source: str) -> None:
    """A trigger's ``filter``: Lambda's FilterCriteria, one pattern or a list of up to five
    (Lambda's default quota), in Lambda's grammar (EventBridge's without wildcard and cidr)."""
    if not isinstance(value, (dict, list)) or (isinstance(value, list) and not value):
        a.report("FE603", f"filter must be a pattern or a list of patterns, not {json_type(value)}", ptr,
                 hint="write filter: {eventName: [INSERT]} or a list of such patterns")
        return
    if isinstance(value, list) and len(value) > 5:
        a.report("FE607", f"filter has {len(value)} patterns; Lambda takes at most 5 per event source mapping", ptr,
                 hint="merge patterns, or ask AWS for a higher quota and split the trigger")
    if _compile_filter_criteria is None:  # pragma: no cover - only while the lang module is missing
        return
    try:
        _compile_filter_criteria(value)
    except PatternError as exc:
        where = tuple(getattr(exc, "path", ()))
        a.report("FE624", f"filter: {getattr(exc, 'message', exc)}", ptr + where,
                 hint="Lambda filters list the values to match: {dynamodb: {NewImage: {status: {S: [paid]}}}}")
        return
    if source == "queue":  # AWS documents filtering on an SQS record's body only
        for i, pattern in enumerate(value if isinstance(value, list) else [value]):
            other = sorted(k for k in pattern if k != "body") if isinstance(pattern, dict) else []
            if other:
                at = ptr + ((i,) if isinstance(value, list) else ()) + (other[0],)
                a.report("FE624", f"filter: an SQS event source mapping filters on body only, not {other[0]}",
                         at, severity="warning", hint="match the message's body: {body: {kind: [order]}}")


def _stream_trigger(a: _App, ptr: Pointer, t: dict[str, Any]) -> None:
    """A ``table`` trigger (a DynamoDB stream event source mapping): Lambda's limits."""
    if "start" in t and t.get("report_batch_item_failures") is True:
        a.report("FE604", "report_batch_item_failures is for a function: a flow's Pipe starts executions and "
                 "hears no failures", ptr + ("report_batch_item_failures",), key=True,
                 hint="drop it, or invoke a function that reports batchItemFailures")
    if "batch_size" in t:
        _int_range(a, ptr + ("batch_size",), t["batch_size"], "batch_size", 1, MAX_STREAM_BATCH_SIZE)
    if "batching_window" in t:
        _duration(a, ptr + ("batching_window",), t["batching_window"], "batching_window", 0, 300)
    if "starting_position" in t and t["starting_position"] not in STARTING_POSITIONS:
        value = t["starting_position"]
        a.report("FE604", f"starting_position '{shorten(value)}' is not a DynamoDB stream position",
                 ptr + ("starting_position",),
                 hint=("a DynamoDB stream starts at LATEST or TRIM_HORIZON (AT_TIMESTAMP is Kinesis's)"
                       if value == "AT_TIMESTAMP" else did_you_mean(value, STARTING_POSITIONS)
                       or "LATEST or TRIM_HORIZON"))
    if "report_batch_item_failures" in t:
        _want(a, ptr + ("report_batch_item_failures",), t["report_batch_item_failures"], "boolean",
              "report_batch_item_failures")
    if "maximum_retry_attempts" in t:
        _int_range(a, ptr + ("maximum_retry_attempts",), t["maximum_retry_attempts"], "maximum_retry_attempts",
                   -1, 10000)


def _resource_ref(a: _App, ptr: Pointer, name: str, kind: str, key: str) -> None:
    r = a.app.resources.get(name)
    if r is None:
        a.report("FE612", f"{key} names a resource that does not exist: '{shorten(name)}'", ptr,
                 hint=did_you_mean(name, _of_kind(a, kind)) or did_you_mean(name, a.app.resources)
                 or _known(kind.replace("_", " ") + "s", _of_kind(a, kind)))
    elif r.kind != kind and r.kind in RESOURCE_KINDS:
        a.report("FE612", f"{key} names '{name}', which is a {r.kind}, not a {kind.replace('_', ' ')}", ptr,
                 hint=f"use {r.kind}: {name}" if r.kind in TRIGGER_SOURCES else f"name a {kind} resource")


def _pattern(a: _App, ptr: Pointer, value: dict[str, Any], what: str) -> None:
    """EventBridge patterns and SNS filter policies: every leaf is a list of matchers."""
    stack: list[tuple[Pointer, Any]] = [(ptr, value)]
    while stack:
        p, v = stack.pop()
        for k, x in v.items():
            if isinstance(x, dict):
                stack.append((p + (k,), x))
            elif not isinstance(x, list):
                a.report("FE624", f"{what}: '{k}' must be a list of values to match, not {json_type(x)}", p + (k,),
                         hint=f"write {k}: [{shorten(x) if not isinstance(x, str) else x}]")
            elif not x:
                a.report("FE624", f"{what}: '{k}' is an empty list and matches nothing", p + (k,),
                         hint="list at least one value")


# --- schedules ----------------------------------------------------------------------------------------

_RATE = re.compile(r"rate\(\s*(\S+)\s+(\S+)\s*\)\Z")
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)\Z")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, low, high, names, extra single tokens)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], tuple[str, ...]], ...] = (
    ("minutes", 0, 59, (), ()),
    ("hours", 0, 23, (), ()),
    ("day-of-month", 1, 31, (), ("?", "L", "W")),
    ("month", 1, 12, _MONTHS, ()),
    ("day-of-week", 1, 7, _DAYS, ("?", "L", "#")),
    ("year", 1970, 2199, (), ()),
)


def _template_triggers(loaded: LoadedApp, out: list[Diagnostic]) -> None:
    """A template's triggers (built by :mod:`flowengine.dsl.sam` from Events and rules): their
    schedule expressions and event patterns, located at the event in the template."""
    for t in loaded.app.triggers:
        if t.source == "schedule":
            value = t.options.get("schedule")
            problem = schedule_problem(value) if isinstance(value, str) else None
            if problem:
                out.append(Diagnostic("FE616", f"schedule '{shorten(str(value))}': {problem[0]}", t.loc.span,
                                      hint=problem[1]))
        elif t.source == "event_pattern" and _compile_pattern is not None:
            pattern = t.options.get("event_pattern")
            try:
                _compile_pattern(pattern if isinstance(pattern, (dict, str)) else {})
            except PatternError as exc:
                out.append(Diagnostic("FE624", f"event pattern: {getattr(exc, 'message', exc)}", t.loc.span,
                                      hint="EventBridge patterns list the values to match: {source: [orders]}"))
        if t.options.get("filter") is not None and _compile_filter_criteria is not None:
            try:  # FilterCriteria of an SQS or DynamoDB event: the grammar Lambda accepts
                _compile_filter_criteria(t.options["filter"])
            except PatternError as exc:
                out.append(Diagnostic("FE624", f"FilterCriteria: {getattr(exc, 'message', exc)}", t.loc.span,
                                      hint="Lambda filters list the values to match: {\"body\": {\"kind\": [\"order\"]}}"))


try:  # the local scheduler's parser: what validates is what fires
    from flowengine.lang.schedule import ScheduleError
    from flowengine.lang.schedule import parse_schedule as _parse_schedule
except ImportError:  # pragma: no cover - only while the events module is missing
    _parse_schedule = None  # type: ignore[assignment]
    ScheduleError = ValueError  # type: ignore[assignment,misc]
try:  # Lambda's event filtering, as the local event source mappings apply it
    from flowengine.lang.filters import compile_filter_criteria as _compile_filter_criteria
except ImportError:  # pragma: no cover - only while the lang module is missing
    _compile_filter_criteria = None  # type: ignore[assignment]
try:  # the local event bus's pattern compiler: what validates is what matches
    from flowengine.lang.patterns import PatternError
    from flowengine.lang.patterns import compile_pattern as _compile_pattern
except ImportError:  # pragma: no cover - only while the events module is missing
    _compile_pattern = None  # type: ignore[assignment]
    PatternError = ValueError  # type: ignore[assignment,misc]


def schedule_problem(text: str) -> tuple[str, str] | None:
    """(problem, hint) for an EventBridge schedule expression, or None when it is valid."""
    if _parse_schedule is not None:
        try:
            _parse_schedule(text)
        except ScheduleError as exc:  # worded as AWS words it
            return (str(getattr(exc, "reason", exc)), str(getattr(exc, "hint", "") or
                                                          "write rate(1 hour), cron(0 3 * * ? *) or at(...)"))
        return None
    return _own_schedule_problem(text)


def _own_schedule_problem(text: str) -> tuple[str, str] | None:
    """The fallback check, used only while :mod:`flowengine.lang.schedule` is missing."""
    t = text.strip()
    if t.startswith("rate("):
        m = _RATE.match(t)
        if not m:
            return "not a rate expression", "write rate(<number> <unit>), e.g. rate(5 minutes)"
        n, unit = m.groups()
        if not n.isdigit() or int(n) < 1:
            return f"'{n}' is not a positive whole number", "write e.g. rate(5 minutes)"
        units = ("minute", "hour", "day")
        base = unit.removesuffix("s")
        if base not in units:
            return f"'{unit}' is not a unit", "use minute(s), hour(s) or day(s)"
        want = base if int(n) == 1 else base + "s"
        if unit != want:
            return f"write '{want}' with {n}", f"rate({n} {want})"
        return None
    if t.startswith("cron("):
        if not t.endswith(")"):
            return "unclosed cron(", "write cron(<6 fields>)"
        fields = t[5:-1].split()
        if len(fields) != 6:
            return (f"a cron expression has 6 fields, not {len(fields)}",
                    "minutes hours day-of-month month day-of-week year, e.g. cron(0 3 * * ? *)")
        for value, spec in zip(fields, _CRON_FIELDS):
            bad = _cron_field(value, *spec)
            if bad:
                return bad, "fields: minutes hours day-of-month month day-of-week year, e.g. cron(0 3 * * ? *)"
        dom, dow = fields[2], fields[4]
        if (dom == "?") == (dow == "?"):
            return ("exactly one of day-of-month and day-of-week must be '?'",
                    f"e.g. cron({' '.join(fields[:2])} {dom if dom != '?' else '*'} {fields[3]} ? {fields[5]})")
        return None
    if t.startswith("at("):
        m = _AT.match(t)
        if not m:
            return "not an at() expression", "write at(yyyy-mm-ddThh:mm:ss), e.g. at(2026-01-01T00:00:00)"
        try:
            y, mo, d, h, mi, sec = (int(x) for x in m.groups())
            datetime.datetime(y, mo, d, h, mi, sec)
        except ValueError as exc:
            return f"not a date and time: {exc}", "write at(yyyy-mm-ddThh:mm:ss)"
        return None
    return "not a schedule expression", "write rate(1 hour), cron(0 3 * * ? *) or at(2026-01-01T00:00:00)"


def _cron_field(value: str, name: str, low: int, high: int, names: tuple[str, ...], extra: tuple[str, ...]) -> str | None:
    def number(tok: str) -> int | None:
        if tok.isdigit():
            return int(tok)
        if tok.upper() in names:
            return names.index(tok.upper()) + 1
        return None

    if value in ("*", "?") and (value == "*" or "?" in extra):
        return None
    for item in value.split(","):
        base, _, step = item.partition("/")
        if step and not step.isdigit():
            return f"{name}: step '{step}' is not a number"
        if base == "*" or base in extra:
            continue
        if "L" in extra and re.fullmatch(r"\d*L", base) or "W" in extra and re.fullmatch(r"\d+W|LW", base):
            continue
        if "#" in extra and re.fullmatch(r"[1-7]#[1-5]|[A-Za-z]{3}#[1-5]", base):
            continue
        lo, dash, hi = base.partition("-")
        for tok in (lo, hi) if dash else (lo,):
            n = number(tok)
            if n is None:
                return f"{name}: '{tok}' is not valid"
            if not low <= n <= high:
                return f"{name}: {n} is outside {low}-{high}"
    return None


# --- names ------------------------------------------------------------------------------------------


def _names(a: _App) -> None:
    seen: dict[str, str] = {}
    for section in ("functions", "resources", "flows"):
        for name in a.section(section):
            ptr = (section, name)
            if not _LOGICAL_ID.match(name):
                fixed = re.sub(r"[^A-Za-z0-9]", "", name.title() if "-" in name or "_" in name else name)
                a.report("FE608", f"name '{shorten(name)}' is not a CloudFormation logical id", ptr, key=True,
                         hint=f"letters and digits, starting with a letter (e.g. {fixed or 'MyName'})")
            if name in seen:
                a.report("FE609", f"'{name}' names both a {seen[name]} and a {section[:-1]}", ptr, key=True,
                         hint="names share one namespace on AWS (logical ids); rename one")
            else:
                seen[name] = section[:-1]


# --- event loops ------------------------------------------------------------------------------------

#: Service integrations that put something into a bucket, queue, topic or event bus.
_WRITES = {
    "bucket": re.compile(r":(?:aws-sdk:)?s3:(?:putObject|copyObject|completeMultipartUpload|uploadPart|restoreObject)",
                         re.IGNORECASE),
    "queue": re.compile(r":(?:aws-sdk:)?sqs:sendMessage", re.IGNORECASE),
    "topic": re.compile(r":(?:aws-sdk:)?sns:publish", re.IGNORECASE),
    "event_bus": re.compile(r":(?:aws-sdk:)?(?:events|eventbridge):putEvents", re.IGNORECASE),
}
_DEFAULT_BUS = ("bus", "default")


def _placeholders_in(v: Any) -> set[str]:
    found: set[str] = set()
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if "${" in x:
                found.update(SUBSTITUTION.findall(x))
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return found


def _flow_edges(a: _App, flow_name: str) -> set[tuple[tuple[str, str], str]]:
    """(node, how) for what a flow's Tasks call or write."""
    out: set[tuple[tuple[str, str], str]] = set()
    app = a.app
    for st in app.flows[flow_name].definition.walk():
        raw = st.raw if isinstance(st.raw, dict) else {}
        if raw.get("Type") != "Task":
            continue
        res_value = raw.get("Resource")
        res: str = res_value if isinstance(res_value, str) else ""
        names = _placeholders_in([res, raw.get("Parameters"), raw.get("Arguments")])
        for n in names:
            base = n.removesuffix("Arn")
            if n.endswith("Arn") and base in app.functions:
                out.add((("function", base), f"state {st.path}"))
            elif n.endswith("Arn") and base in app.flows and "states:startExecution" in res:
                out.add((("flow", base), f"state {st.path}"))
        for kind, pattern in _WRITES.items():
            if not pattern.search(res):
                continue
            targets = [n[:-3] if n.endswith("Arn") and n[:-3] in app.resources else n for n in names]
            hits = [t for t in targets if t in app.resources and app.resources[t].kind == kind]
            for t in hits:
                out.add((("resource", t), f"state {st.path}"))
            if kind == "event_bus" and not hits:
                out.add((_DEFAULT_BUS, f"state {st.path}"))
    return out


def _event_loops(a: _App) -> None:
    app = a.app
    g: nx.DiGraph = nx.DiGraph()
    trigger_edges: dict[tuple[tuple[str, str], tuple[str, str]], int] = {}
    raw_triggers = a.doc.get("triggers")
    triggers: list[Any] = raw_triggers if isinstance(raw_triggers, list) else []
    for i, t in enumerate(triggers):
        if not isinstance(t, dict):
            continue
        source = next((k for k in TRIGGER_SOURCES if k in t), None)
        target_key = next((k for k in TRIGGER_TARGETS if k in t), None)
        if source is None or target_key is None or not isinstance(t[target_key], str):
            continue
        if source in ("bucket", "queue", "topic", "table"):
            if not isinstance(t[source], str) or t[source] not in app.resources:
                continue
            src: tuple[str, str] = ("resource", t[source])
        elif source == "event_pattern":
            bus = t.get("bus")
            src = ("resource", bus) if isinstance(bus, str) and bus in app.resources else _DEFAULT_BUS
        else:
            continue
        dst = (TRIGGER_TARGETS[target_key], t[target_key])
        g.add_edge(src, dst, how=f"triggers[{i}]")
        trigger_edges.setdefault((src, dst), i)
    for name, f in app.functions.items():
        for r in f.writes:
            if r in app.resources:
                g.add_edge(("function", name), ("resource", r), how="writes")
    for name in app.flows:
        for node, how in _flow_edges(a, name):
            g.add_edge(("flow", name), node, how=how)
    for comp in nx.strongly_connected_components(g):
        if len(comp) == 1:
            n = next(iter(comp))
            if not g.has_edge(n, n):
                continue
        entries = sorted((i, e) for e, i in trigger_edges.items() if e[0] in comp and e[1] in comp)
        if not entries:
            continue
        i, (src, dst) = entries[0]
        sub = g.subgraph(comp)
        try:
            cycle = nx.find_cycle(sub, src)
        except nx.NetworkXNoCycle:  # pragma: no cover - an SCC with an edge has a cycle
            continue
        chain = _chain(src, cycle, app)
        t = triggers[i]
        source = next(k for k in TRIGGER_SOURCES if k in t)
        filtered = [k for k in ("prefix", "suffix", "filter_policy", "filter") if k in t] or (
            ["event_pattern"] if source == "event_pattern" else [])
        loop_triggers = [j for (j, e) in entries]
        all_filtered = all(
            any(k in triggers[j] for k in ("prefix", "suffix", "filter_policy", "filter", "event_pattern"))
            for j in loop_triggers)
        # A stream function that writes the table it reads is a common design (a status field,
        # an aggregate item) whose writes its code keeps from looping: a warning, not a refusal.
        streams = any("table" in triggers[j] for j in loop_triggers) and all(
            "table" in triggers[j] or any(k in triggers[j] for k in ("prefix", "suffix", "filter_policy", "event_pattern"))
            for j in loop_triggers)
        severity = "warning" if all_filtered or streams else "error"
        hint = ("the trigger's " + "/".join(filtered) + " may keep the writes out: make sure they cannot match"
                if all_filtered else
                "make sure the function's own writes do not change the table again, or give the trigger a filter "
                "that leaves them out (AWS does not stop a loop through a stream)" if streams else
                "write to another resource, or filter the trigger (prefix/suffix) so the writes do not fire it")
        a.report("FE618", f"event loop: {chain}", ("triggers", i, source), key=True, severity=severity, hint=hint)


def _chain(start: tuple[str, str], cycle: list[tuple[Any, Any]], app: App) -> str:
    def label(node: tuple[str, str]) -> str:
        kind, name = node
        if kind == "resource":
            return f"{name} ({app.resources[name].kind.replace('_', ' ')})"
        if kind == "bus":
            return "the default event bus"
        return f"{name} ({kind})"

    names = [label(cycle[0][0])] + [label(v) for _, v in cycle]
    return " → ".join(names)

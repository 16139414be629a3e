"""ASL structure: which fields each state type has, their JSON types, what is required and
what excludes what.

The tables below are per state type *and* query language, because JSONata states drop the
five JSONPath fields (InputPath, Parameters, ResultSelector, ResultPath, OutputPath) for two
(Arguments, Output), and JSONata lets several numeric fields hold an expression instead.
A field that belongs to the *other* query language is left to :mod:`.expressions`, which
reports it as a query-language mismatch (FE408/FE409) rather than as an unknown field.

Codes: FE201 unknown field, FE202 missing required field, FE203 wrong JSON type, FE204 unknown
state Type, FE205 mutually exclusive fields, FE206 no Next/End, FE207 Next/End where not
allowed, FE208 bad QueryLanguage, FE209 JSONPath state inside a JSONata machine, FE210 bad
state name, FE211 empty States, FE212 bad enum value (ProcessorConfig), FE213 Resource not an ARN.
"""

from __future__ import annotations

from typing import Any

from flowengine.dsl.durations import is_duration
from flowengine.model.asl import JSONATA, JSONPATH, MapState, ParallelState, State, StateMachine
from flowengine.validate._common import Reporter, article, describe, did_you_mean, is_int, is_num, json_type, machines, shorten

# --- value kinds --------------------------------------------------------------------------

STR = "string"
BOOL = "boolean"
INT = "integer"
NUM = "number"
OBJ = "object"
LIST = "array"
ANY = "any"
PATH = "path"  # a string, or null (InputPath/OutputPath/ItemsPath)
REFPATH = "reference path"  # a string
NREFPATH = "nullable reference path"  # a string, or null (ResultPath)
INT_X = "integer or JSONata expression"
NUM_X = "number or JSONata expression"
OBJ_X = "object or JSONata expression"
LIST_X = "array or JSONata expression"


def _is_expr(v: Any) -> bool:
    return isinstance(v, str) and len(v) >= 4 and v.startswith("{%") and v.endswith("%}")


def _kind_ok(kind: str, v: Any) -> bool:
    if kind == ANY:
        return True
    if kind == STR or kind == REFPATH:
        return isinstance(v, str)
    if kind == PATH or kind == NREFPATH:
        return v is None or isinstance(v, str)
    if kind == BOOL:
        return isinstance(v, bool)
    if kind == INT:
        return is_int(v)
    if kind == NUM:
        return is_num(v)
    if kind == OBJ:
        return isinstance(v, dict)
    if kind == LIST:
        return isinstance(v, list)
    if kind == INT_X:
        return is_int(v) or _is_expr(v)
    if kind == NUM_X:
        return is_num(v) or _is_expr(v)
    if kind == OBJ_X:
        return isinstance(v, dict) or _is_expr(v)
    if kind == LIST_X:
        return isinstance(v, list) or _is_expr(v)
    return True


# --- field tables ---------------------------------------------------------------------------

STATE_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

_COMMON = {"Type": STR, "Comment": STR, "QueryLanguage": STR}
_IO = {"InputPath": PATH, "OutputPath": PATH}
_FLOW = {"Next": STR, "End": BOOL}
_ASSIGN = {"Assign": OBJ}  # variables: both query languages (not Succeed/Fail)
_OUT = {"Output": ANY}  # JSONata only
_ERR = {"Retry": LIST, "Catch": LIST}
_MAP_BOTH = {
    "ItemProcessor": OBJ, "Iterator": OBJ, "ItemSelector": ANY, "ItemReader": OBJ, "ItemBatcher": OBJ,
    "ResultWriter": OBJ, "Label": STR,
}

_JSONPATH_FIELDS: dict[str, dict[str, str]] = {
    "Pass": {**_IO, **_FLOW, **_ASSIGN, "Result": ANY, "ResultPath": NREFPATH, "Parameters": ANY},
    "Task": {
        **_IO, **_FLOW, **_ASSIGN, **_ERR, "Resource": STR, "Parameters": ANY, "ResultSelector": ANY,
        "ResultPath": NREFPATH, "TimeoutSeconds": INT, "TimeoutSecondsPath": REFPATH, "HeartbeatSeconds": INT,
        "HeartbeatSecondsPath": REFPATH, "Credentials": OBJ,
    },
    "Choice": {**_IO, **_ASSIGN, "Choices": LIST, "Default": STR},
    "Wait": {
        **_IO, **_FLOW, **_ASSIGN, "Seconds": INT, "SecondsPath": REFPATH, "Timestamp": STR, "TimestampPath": REFPATH,
    },
    "Succeed": {**_IO},
    "Fail": {"Error": STR, "ErrorPath": STR, "Cause": STR, "CausePath": STR},
    "Parallel": {
        **_IO, **_FLOW, **_ASSIGN, **_ERR, "Branches": LIST, "Parameters": ANY, "ResultSelector": ANY,
        "ResultPath": NREFPATH,
    },
    "Map": {
        **_IO, **_FLOW, **_ASSIGN, **_ERR, **_MAP_BOTH, "ItemsPath": PATH, "Parameters": ANY, "ResultSelector": ANY,
        "ResultPath": NREFPATH, "MaxConcurrency": INT, "MaxConcurrencyPath": REFPATH, "ToleratedFailureCount": INT,
        "ToleratedFailureCountPath": REFPATH, "ToleratedFailurePercentage": NUM,
        "ToleratedFailurePercentagePath": REFPATH,
    },
}
_JSONATA_FIELDS: dict[str, dict[str, str]] = {
    "Pass": {**_FLOW, **_ASSIGN, **_OUT},
    "Task": {
        **_FLOW, **_ASSIGN, **_OUT, **_ERR, "Resource": STR, "Arguments": OBJ_X, "TimeoutSeconds": INT_X,
        "HeartbeatSeconds": INT_X, "Credentials": OBJ_X,
    },
    "Choice": {**_ASSIGN, **_OUT, "Choices": LIST, "Default": STR},
    "Wait": {**_FLOW, **_ASSIGN, **_OUT, "Seconds": INT_X, "Timestamp": STR},
    "Succeed": {**_OUT},
    "Fail": {"Error": STR, "Cause": STR},
    "Parallel": {**_FLOW, **_ASSIGN, **_OUT, **_ERR, "Branches": LIST, "Arguments": OBJ_X},
    "Map": {
        **_FLOW, **_ASSIGN, **_OUT, **_ERR, **_MAP_BOTH, "Items": LIST_X, "MaxConcurrency": INT_X,
        "ToleratedFailureCount": INT_X, "ToleratedFailurePercentage": NUM_X,
    },
}

#: Fields of each state type, per query language (common fields included).
STATE_FIELDS: dict[tuple[str, str], dict[str, str]] = {
    **{(t, JSONPATH): {**_COMMON, **f} for t, f in _JSONPATH_FIELDS.items()},
    **{(t, JSONATA): {**_COMMON, **f} for t, f in _JSONATA_FIELDS.items()},
}
_ALL_FIELDS: set[str] = {k for f in STATE_FIELDS.values() for k in f}

REQUIRED = {"Task": ("Resource",), "Choice": ("Choices",), "Parallel": ("Branches",)}
#: Pairs (or groups) of which at most one may be written.
EXCLUSIVE: tuple[tuple[str, ...], ...] = (
    ("TimeoutSeconds", "TimeoutSecondsPath"),
    ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("Error", "ErrorPath"),
    ("Cause", "CausePath"),
    ("ItemProcessor", "Iterator"),
    ("ItemSelector", "Parameters"),
    ("MaxConcurrency", "MaxConcurrencyPath"),
    ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
)
NON_TERMINAL = ("Pass", "Task", "Wait", "Parallel", "Map")

MACHINE_FIELDS = {"StartAt": STR, "States": OBJ, "Comment": STR, "Version": STR, "TimeoutSeconds": INT,
                  "QueryLanguage": STR}
BRANCH_FIELDS = {"StartAt": STR, "States": OBJ, "Comment": STR}
PROCESSOR_FIELDS = {**BRANCH_FIELDS, "ProcessorConfig": OBJ}
PROCESSOR_CONFIG = {"Mode": ("INLINE", "DISTRIBUTED"), "ExecutionType": ("STANDARD", "EXPRESS")}
RETRIER_FIELDS = {"ErrorEquals": LIST, "IntervalSeconds": INT, "MaxAttempts": INT, "BackoffRate": NUM,
                  "MaxDelaySeconds": INT, "JitterStrategy": STR, "Comment": STR}
CATCHER_FIELDS: dict[str, dict[str, str]] = {
    JSONPATH: {"ErrorEquals": LIST, "Next": STR, "ResultPath": NREFPATH, "Assign": OBJ, "Comment": STR},
    JSONATA: {"ErrorEquals": LIST, "Next": STR, "Output": ANY, "Assign": OBJ, "Comment": STR},
}
MAX_STATE_NAME = 80


def fields_for(state_type: str, query_language: str) -> dict[str, str]:
    """The fields a state of this type may have in this query language ({} for an unknown type)."""
    return STATE_FIELDS.get((state_type, query_language), {})


def other_language(ql: str) -> str:
    return JSONATA if ql == JSONPATH else JSONPATH


# --- checks -----------------------------------------------------------------------------------


def check(sm: StateMachine, rep: Reporter) -> None:
    """Every structural problem of a state machine and its nested scopes."""
    top_ql = sm.query_language
    written = _value_at(rep, sm.loc.pointer)
    if not isinstance(written, dict):
        rep.report("FE109", f"the definition is {article(json_type(written))} {json_type(written)}, not an object",
                   sm.loc.pointer, hint="an ASL definition is an object with StartAt and States")
        return
    for scope in machines(sm):
        kind = "machine" if scope is sm else ("processor" if _is_processor(scope) else "branch")
        _check_machine(scope, kind, rep)
        for st in scope.states.values():
            _check_state(st, rep, top_ql)


def _is_processor(scope: StateMachine) -> bool:
    ptr = scope.loc.pointer
    return bool(ptr) and ptr[-1] in ("ItemProcessor", "Iterator")


def check_type(rep: Reporter, ptr: tuple, field: str, kind: str, value: Any, state: str | None) -> bool:
    """Report FE203 when ``value`` is not of ``kind``; True when it is."""
    if _kind_ok(kind, value):
        return True
    hint = f"write {article(kind)} {kind}"
    if kind in (INT, INT_X, NUM, NUM_X) and isinstance(value, str):
        if is_duration(value) and not rep.app_file:
            hint = "duration strings such as '5m' work in app files; ASL wants whole seconds"
        elif rep.app_file and field in ("Seconds", "TimeoutSeconds", "HeartbeatSeconds", "IntervalSeconds",
                                        "MaxDelaySeconds"):
            hint = "write whole seconds or a duration such as 30s, 5m, 1h30m"
        elif kind in (INT_X, NUM_X):
            hint = "write a number, or a JSONata expression '{% ... %}'"
        elif field + "Path" in _ALL_FIELDS:
            hint = f"write a number; to read it from the input use {field}Path"
    elif kind == INT and isinstance(value, float):
        hint = "write a whole number" + (" (durations in ASL fields are whole seconds)" if rep.app_file else "")
    rep.report("FE203", f"{field} must be {article(kind)} {kind}, not {describe(value)}", ptr,
               state=state, hint=hint)
    return False


def _check_machine(sm: StateMachine, kind: str, rep: Reporter) -> None:
    raw = sm.raw
    ptr = sm.loc.pointer
    scope_path = sm.path or None
    where = {"machine": "the state machine", "branch": "a Parallel branch", "processor": "a Map ItemProcessor"}[kind]
    allowed = {"machine": MACHINE_FIELDS, "branch": BRANCH_FIELDS, "processor": PROCESSOR_FIELDS}[kind]
    if kind == "processor" and ptr and ptr[-1] == "Iterator":
        allowed = PROCESSOR_FIELDS
    for key, value in raw.items():
        if key in allowed:
            check_type(rep, ptr + (key,), key, allowed[key], value, scope_path)
            continue
        hint = did_you_mean(key, allowed)
        if key in MACHINE_FIELDS:
            hint = f"{key} is allowed only at the top level of the state machine"
        elif key in ("Type", "Next", "End") and kind != "machine":
            hint = "a branch holds StartAt and States; the Parallel or Map state around it holds Next/End"
        elif hint is None and key in _ALL_FIELDS:
            hint = f"{key} is a state field: put it on a state under States"
        elif hint is None:
            hint = "allowed here: " + ", ".join(allowed)
        rep.report("FE201", f"unknown field '{key}' in {where}", ptr + (key,), state=scope_path, hint=hint, key=True)
    if "StartAt" not in raw:
        rep.report("FE202", f"{where} has no StartAt", ptr, state=scope_path,
                   hint="add StartAt naming the first state", key=bool(ptr))
    if "States" not in raw:
        rep.report("FE202", f"{where} has no States", ptr, state=scope_path,
                   hint="add States: a mapping from state names to states", key=bool(ptr))
    elif isinstance(raw["States"], dict) and not raw["States"]:
        rep.report("FE211", f"States of {where} is empty", ptr + ("States",), state=scope_path,
                   hint="a state machine needs at least one state")
    ql = raw.get("QueryLanguage")
    if "QueryLanguage" in raw and ql not in (JSONPATH, JSONATA) and isinstance(ql, str):
        rep.report("FE208", f"QueryLanguage is '{shorten(ql)}'", ptr + ("QueryLanguage",), state=scope_path,
                   hint=did_you_mean(ql, (JSONPATH, JSONATA)) or "write JSONPath or JSONata")
    cfg = raw.get("ProcessorConfig")
    if kind == "processor" and isinstance(cfg, dict):
        for key, value in cfg.items():
            cptr = ptr + ("ProcessorConfig", key)
            if key not in PROCESSOR_CONFIG:
                rep.report("FE201", f"unknown field '{key}' in ProcessorConfig", cptr, state=scope_path, key=True,
                           hint=did_you_mean(key, PROCESSOR_CONFIG) or "ProcessorConfig has Mode and ExecutionType")
            elif value not in PROCESSOR_CONFIG[key]:
                rep.report("FE212", f"ProcessorConfig.{key} is {shorten(value)!r}", cptr, state=scope_path,
                           hint=did_you_mean(value, PROCESSOR_CONFIG[key]) or "write " + " or ".join(PROCESSOR_CONFIG[key]))


def _check_state(st: State, rep: Reporter, top_ql: str) -> None:
    raw = st.raw
    ptr = st.loc.pointer
    name = st.name
    path = st.path
    if len(name) > MAX_STATE_NAME:
        rep.report("FE210", f"state name is {len(name)} characters long; the limit is {MAX_STATE_NAME}", ptr,
                   state=path, key=True, hint="shorten the name")
    written = _value_at(rep, ptr) if not raw else raw
    if not isinstance(written, dict):
        # the builder turned a non-mapping into {}: say what was written
        rep.report("FE203", f"state '{name}' must be an object, not {json_type(written)}", ptr, state=path,
                   hint="a state is a mapping with Type and its fields")
        return
    if "Type" not in raw:
        rep.report("FE202", f"state '{name}' has no Type", ptr, state=path, key=True,
                   hint="add Type: one of " + ", ".join(STATE_TYPES))
        return
    stype = raw["Type"]
    if stype not in STATE_TYPES:
        if isinstance(stype, str):
            rep.report("FE204", f"unknown state Type '{shorten(stype)}'", ptr + ("Type",), state=path,
                       hint=did_you_mean(stype, STATE_TYPES) or "Type is one of " + ", ".join(STATE_TYPES))
        else:
            check_type(rep, ptr + ("Type",), "Type", STR, stype, path)
        return
    ql = st.query_language
    qraw = raw.get("QueryLanguage")
    if "QueryLanguage" in raw:
        if isinstance(qraw, str) and qraw not in (JSONPATH, JSONATA):
            rep.report("FE208", f"QueryLanguage is '{shorten(qraw)}'", ptr + ("QueryLanguage",), state=path,
                       hint=did_you_mean(qraw, (JSONPATH, JSONATA)) or "write JSONPath or JSONata")
        elif qraw == JSONPATH and top_ql == JSONATA:
            rep.report("FE209", "a JSONPath state inside a JSONata state machine", ptr + ("QueryLanguage",),
                       state=path, severity="warning",
                       hint="mixing works from JSONPath towards JSONata: set JSONPath at the top and JSONata on states")
    allowed = fields_for(stype, ql)
    other = fields_for(stype, other_language(ql))
    for key, value in raw.items():
        kptr = ptr + (key,)
        if key in allowed:
            check_type(rep, kptr, key, allowed[key], value, path)
            continue
        if key in other:
            continue  # a field of the other query language: .expressions reports it
        if key in ("Next", "End") and stype not in NON_TERMINAL:
            continue  # FE207 below
        rep.report("FE201", f"unknown field '{key}' in a {stype} state", kptr, state=path, key=True,
                   hint=_unknown_hint(key, stype, allowed, rep))
    for key in REQUIRED.get(stype, ()):
        if key not in raw:
            hint = {"Resource": "add Resource: the ARN of what the Task runs"
                    + (", or Function: <name of an app function>" if rep.app_file else ""),
                    "Choices": "add Choices: a list of rules, each with Next",
                    "Branches": "add Branches: a list of {StartAt, States}"}[key]
            rep.report("FE202", f"{stype} state has no {key}", ptr, state=path, key=True, hint=hint)
    if stype == "Map" and "ItemProcessor" not in raw and "Iterator" not in raw:
        rep.report("FE202", "Map state has no ItemProcessor", ptr, state=path, key=True,
                   hint="add ItemProcessor: {StartAt, States} run for each item")
    for group in EXCLUSIVE:
        present = [k for k in group if k in raw]
        if len(present) > 1:
            rep.report("FE205", f"{' and '.join(present)} are mutually exclusive", ptr + (present[-1],), state=path,
                       key=True, hint=f"keep one of {', '.join(present)}")
    _check_transition(st, stype, raw, ptr, rep)
    if stype == "Task" and isinstance(raw.get("Resource"), str):
        res = raw["Resource"]
        if not (res.startswith("arn:") or "${" in res or (ql == JSONATA and _is_expr(res))):
            rep.report("FE213", f"Resource '{shorten(res)}' is not an ARN", ptr + ("Resource",), state=path,
                       hint="write an ARN such as arn:aws:states:::lambda:invoke"
                       + (", or Function: <app function>" if rep.app_file else ""))
    if isinstance(st, ParallelState):
        branches = raw.get("Branches")
        for i, b in enumerate(branches if isinstance(branches, list) else []):
            if not isinstance(b, dict):
                rep.report("FE203", f"Branches[{i}] must be an object, not {json_type(b)}", ptr + ("Branches", i),
                           state=path, hint="a branch is {StartAt, States}")
        if isinstance(raw.get("Branches"), list) and not raw["Branches"]:
            rep.report("FE202", "Parallel state has no branches", ptr + ("Branches",), state=path,
                       hint="add at least one branch {StartAt, States}")
    if isinstance(st, MapState):
        _check_map_parts(raw, ptr, path, rep)


def _value_at(rep: Reporter, ptr: tuple) -> Any:
    v = rep.source.value
    for k in ptr:
        try:
            v = v[k]
        except (KeyError, IndexError, TypeError):
            return None
    return v


def _unknown_hint(key: str, stype: str, allowed: dict[str, str], rep: Reporter) -> str | None:
    if key == "Function" and stype == "Task":
        if rep.app_file:
            return "write either Function (the app-file shorthand) or Resource, not both"
        return "Function: is app-file shorthand; plain ASL writes Resource: <ARN>"
    if key.endswith(".$"):
        return f"'.$' keys belong inside Parameters, not on the state; did you mean '{key[:-2]}'?"
    guess = did_you_mean(key, allowed)
    if guess:
        return guess
    owners = [t for t in STATE_TYPES if key in fields_for(t, JSONPATH) or key in fields_for(t, JSONATA)]
    if owners:
        return f"{key} is a field of {'/'.join(owners)} states, not {stype}"
    return "allowed: " + ", ".join(sorted(k for k in allowed if k not in _COMMON))


def _check_transition(st: State, stype: str, raw: dict[str, Any], ptr: tuple, rep: Reporter) -> None:
    path = st.path
    if stype in NON_TERMINAL:
        has_next = "Next" in raw
        end = raw.get("End")
        if has_next and "End" in raw:
            rep.report("FE205", "Next and End are mutually exclusive", ptr + ("End",), state=path, key=True,
                       hint="a state either continues (Next) or ends the machine (End: true)")
        elif not has_next and end is not True:
            if end is False:
                rep.report("FE206", "End is false and there is no Next", ptr + ("End",), state=path,
                           hint="write End: true, or Next: <state>")
            elif "End" not in raw:
                rep.report("FE206", f"{stype} state has neither Next nor End", ptr, state=path, key=True,
                           hint="add Next: <state>, or End: true")
    else:
        for key in ("Next", "End"):
            if key in raw:
                why = {"Choice": "a Choice state moves on through its Choices and Default",
                       "Succeed": "a Succeed state always ends its scope",
                       "Fail": "a Fail state always ends the execution"}[stype]
                rep.report("FE207", f"a {stype} state cannot have {key}", ptr + (key,), state=path, key=True,
                           hint=why)


def _check_map_parts(raw: dict[str, Any], ptr: tuple, path: str, rep: Reporter) -> None:
    parts = {
        "ItemReader": ("Resource", "Parameters", "Arguments", "ReaderConfig"),
        "ResultWriter": ("Resource", "Parameters", "Arguments", "WriterConfig"),
        "ItemBatcher": ("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch",
                        "MaxInputBytesPerBatchPath", "BatchInput"),
    }
    for part, keys in parts.items():
        v = raw.get(part)
        if not isinstance(v, dict):
            continue
        for key in v:
            if key not in keys:
                rep.report("FE201", f"unknown field '{key}' in {part}", ptr + (part, key), state=path, key=True,
                           hint=did_you_mean(key, keys) or "allowed: " + ", ".join(keys))
        if part == "ItemReader" and "Resource" not in v:
            rep.report("FE202", "ItemReader has no Resource", ptr + (part,), state=path, key=True,
                       hint="add Resource, e.g. arn:aws:states:::s3:getObject")

"""Expressions: JSONPath and reference paths, intrinsic functions, JSONata, and the fields
that belong to one query language only.

JSONPath text is checked with a fast pattern first (the plain ``$.a.b[0]`` paths almost every
definition is made of) and with jsonpath-ng only when that fails, so a thousand-state
definition does not pay jsonpath-ng's parser per path.  Intrinsics are parsed by the engine's
own parser (:func:`flowengine.lang.intrinsics.parse_intrinsic`), JSONata by jsonata-python
(or :func:`flowengine.lang.jsonata.check_syntax` when present), so ``validate`` accepts
exactly what the engine runs.

Codes: FE401 invalid JSONPath, FE402 not a reference path (wildcards, filters, slices),
FE403 unknown intrinsic function, FE404 intrinsic called with the wrong number of arguments,
FE405 intrinsic syntax error, FE406 JSONata syntax error, FE407 a ``.$`` field that is neither
a path nor an intrinsic, FE408 JSONata-only field in a JSONPath state, FE409 JSONPath-only
field in a JSONata state, FE410 ResultPath into the context object or a variable, FE411 an
unclosed ``{%`` expression (warning), FE412 a ``.$`` key in a JSONata state (warning).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flowengine.dsl.source import Pointer
from flowengine.model.asl import JSONATA, JSONPATH, State, StateMachine
from flowengine.validate import structure
from flowengine.validate._common import Reporter, machines, shorten

try:  # the engine's intrinsic parser: what validates is what runs
    from flowengine.lang.intrinsics import IntrinsicSyntaxError, parse_intrinsic
except ImportError:  # pragma: no cover - only while the engine module is missing
    parse_intrinsic = None  # type: ignore[assignment]
    IntrinsicSyntaxError = ValueError  # type: ignore[assignment,misc]

# --- JSONPath ---------------------------------------------------------------------------------

_NAME = r"[A-Za-z_@][A-Za-z0-9_@-]*"  # jsonpath-ng's ID token: a strict subset of what the engine accepts
_STEP = rf"(?:\.{_NAME}|\['[^'\\\[\]]*'\]|\[\d+\])"
_ROOT = r"\$(?:\$|[A-Za-z_][A-Za-z0-9_]*)?"
#: A reference path (ASL: only '.name', "['name']" and '[index]' steps), fast-path form.
_SIMPLE_REF = re.compile(rf"{_ROOT}{_STEP}*\Z")
_VARIABLE_ROOT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PATH_HINT = "a path is made of .name, ['name'], [index], [*], [start:end] and [?(@.x == 1)] steps"


def _relative(text: str) -> str:
    """``$$.a`` → ``$.a``; ``$var.a`` → ``$.a``: jsonpath-ng knows one root."""
    if text.startswith("$$"):
        return "$" + text[2:]
    m = _VARIABLE_ROOT.match(text)
    if m:
        return "$" + text[m.end():]
    return text


try:  # the engine's JSONPath compiler: what validates is what runs
    from flowengine.lang.jsonpath import JsonPath as _EngineJsonPath
except ImportError:  # pragma: no cover - only while the engine module is missing
    _EngineJsonPath = None  # type: ignore[assignment,misc]


@functools.lru_cache(maxsize=4096)
def path_problem(text: str, reference: bool) -> tuple[str, str, str | None] | None:
    """(code, message, hint) when ``text`` is not a valid (reference) path, else None."""
    if not text.startswith("$"):
        return ("FE401", f"'{shorten(text)}' is not a JSONPath",
                "a path starts with $ (the input), $$ (the context object) or $name (a variable)")
    if _SIMPLE_REF.match(text):
        return None
    rel = _relative(text)
    if rel != "$" and rel[1] not in ".[":
        return ("FE401", f"'{shorten(text)}' is not a JSONPath", "after $ a path continues with '.' or '['")
    node: Any = None
    if _EngineJsonPath is not None:
        try:
            compiled = _EngineJsonPath(text)
        except Exception as exc:  # noqa: BLE001 - PathSyntaxError, or whatever jsonpath-ng raised
            detail = str(exc).split("': ", 1)[-1] if "': " in str(exc) else str(exc)
            return ("FE401", f"invalid JSONPath '{shorten(text)}': {detail}", _PATH_HINT)
        if not reference or compiled.definite:
            return None
        node = getattr(compiled, "_ng", None)
    if node is None:
        try:
            from jsonpath_ng.ext import parse
            node = parse(rel)
        except Exception as exc:  # noqa: BLE001 - jsonpath-ng raises several types for bad text
            return ("FE401", f"invalid JSONPath '{shorten(text)}': {exc}", _PATH_HINT)
    if reference:
        bad = _non_reference(node)
        if bad:
            return ("FE402", f"'{shorten(text)}' is not a reference path: it uses {bad}",
                    "a reference path names one value: only .name, ['name'] and [index] steps")
    return None


def _non_reference(node: Any) -> str | None:
    """The first construct that makes a path select more than one node, or None."""
    from jsonpath_ng import jsonpath as jp

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, jp.Child):
            stack.extend((n.left, n.right))
        elif isinstance(n, jp.Root):
            continue
        elif isinstance(n, jp.Fields):
            if len(n.fields) != 1:
                return "several fields"
            if n.fields[0] == "*":
                return "a wildcard"
        elif isinstance(n, jp.Index):
            indices = getattr(n, "indices", None) or (getattr(n, "index", 0),)
            if len(indices) != 1:
                return "several indices"
            if indices[0] < 0:
                return "a negative index"
        elif isinstance(n, jp.Wildcard):
            return "a wildcard"
        elif isinstance(n, jp.Slice):
            return "a slice"
        elif isinstance(n, jp.Descendants):
            return "'..' (descendants)"
        elif "Filter" in type(n).__name__:
            return "a filter"
        else:
            return f"'{type(n).__name__}'"
    return None


def check_path(rep: Reporter, ptr: Pointer, value: Any, *, state: str | None, field: str,
               reference: bool = False, result_path: bool = False) -> None:
    """Report a path field whose text is not a (reference) path; None/non-strings are skipped."""
    if not isinstance(value, str):
        return
    problem = path_problem(value, reference)
    if problem:
        code, message, hint = problem
        rep.report(code, f"{field}: {message}", ptr, state=state, hint=hint)
        return
    if result_path and (value.startswith("$$") or _VARIABLE_ROOT.match(value)):
        rep.report("FE410", f"ResultPath '{shorten(value)}' writes into the "
                   + ("context object" if value.startswith("$$") else "a variable"), ptr, state=state,
                   hint="ResultPath places the result in the state's input: start it with $. "
                        "(use Assign to set variables)")


# --- intrinsics ---------------------------------------------------------------------------------

_CALL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\s*\(")

try:
    from flowengine.lang.intrinsics import FUNCTIONS as _FUNCTIONS
except ImportError:  # pragma: no cover - only while the engine module is missing
    _FUNCTIONS = {}

# Tokens of the plain intrinsic calls almost every definition writes.  A call made only of
# these is checked here; anything else goes to the engine's parser, which has the last word.
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<name>States\.[A-Za-z]+)\s*\(
    | (?P<close>\))
    | (?P<comma>,)
    | (?P<string>'(?:[^'\\]|\\['{}\\])*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
    | (?P<literal>true|false|null)(?![\w.$])
    | (?P<path>\$(?:\$|[A-Za-z_][A-Za-z0-9_]*)?(?:\.[A-Za-z_@][A-Za-z0-9_@-]*|\[\d+\])*)(?=[\s,)])
    )""", re.VERBOSE)


def _plain_call_ok(text: str) -> bool:
    """True when ``text`` is a well-formed call of known functions with the right argument
    counts, built only of quoted strings, numbers, literals and plain paths."""
    pos, n = 0, len(text)
    stack: list[list[Any]] = []  # [function name, argument count, expecting an argument]
    started = False
    while pos < n:
        if text[pos:].isspace():
            break
        m = _TOKEN.match(text, pos)
        if not m:
            return False
        pos = m.end()
        kind = m.lastgroup
        if kind == "name":
            if stack and not stack[-1][2] or (not stack and started):
                return False
            spec = _FUNCTIONS.get(m.group("name"))
            if spec is None:
                return False
            if stack:
                stack[-1][1] += 1
                stack[-1][2] = False
            stack.append([spec, 0, True])
            started = True
        elif not stack:
            return False
        elif kind == "close":
            spec, count, expecting = stack.pop()
            if expecting and count:  # a trailing comma
                return False
            low, high = spec.arity
            if count < low or (high is not None and count > high):
                return False
            if stack:
                stack[-1][2] = False
        elif kind == "comma":
            if stack[-1][2]:
                return False
            stack[-1][2] = True
        else:  # an argument
            if not stack[-1][2]:
                return False
            stack[-1][1] += 1
            stack[-1][2] = False
    return started and not stack


_INTRINSIC_HINT = ("an intrinsic is a call such as States.Format('id {}', $.id): "
                   "arguments are 'strings' in single quotes, numbers, true/false/null, paths or calls")


@functools.lru_cache(maxsize=4096)
def intrinsic_problem(text: str) -> tuple[str, str, str | None] | None:
    """(code, message, hint) when ``text`` is not a valid intrinsic call, else None."""
    if _FUNCTIONS and _plain_call_ok(text):
        return None
    if parse_intrinsic is None:  # pragma: no cover - fallback while the engine module is missing
        return None if re.match(r"States\.[A-Za-z]+\(.*\)\s*\Z", text, re.DOTALL) else (
            "FE405", f"'{shorten(text)}' is not an intrinsic call", _INTRINSIC_HINT)
    try:
        parse_intrinsic(text)
    except IntrinsicSyntaxError as exc:
        message = getattr(exc, "message", str(exc))
        offset = getattr(exc, "offset", None)
        hint = getattr(exc, "hint", None)
        code = "FE405"
        if message.startswith("Unknown intrinsic function"):
            code = "FE403"
        elif " takes " in message:
            code = "FE404"
        where = f" (at offset {offset})" if isinstance(offset, int) and code == "FE405" else ""
        return (code, message + where, hint or _INTRINSIC_HINT)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop validation
        return ("FE405", f"cannot parse intrinsic '{shorten(text)}': {exc}", _INTRINSIC_HINT)
    return None


def check_payload_value(rep: Reporter, ptr: Pointer, key: str, value: Any, *, state: str | None,
                        field: str) -> None:
    """A ``"key.$"`` value: a path or an intrinsic call."""
    if not isinstance(value, str):
        rep.report("FE407", f"'{key}' in {field} must be a path or an intrinsic, not {type(value).__name__}",
                   ptr, state=state, hint="a key ending in '.$' takes a string such as \"$.x\"; "
                                          "drop the '.$' for a literal value")
        return
    if value.startswith("$"):
        problem = path_problem(value, False)
    elif _CALL.match(value) or value.startswith("States."):
        problem = intrinsic_problem(value)
    else:
        problem = ("FE407", f"'{key}' in {field} is neither a path nor an intrinsic: '{shorten(value)}'",
                   f"drop the '.$' from '{key}' for a literal string, or write a path such as $.{value}")
    if problem:
        code, message, hint = problem
        if code in ("FE401", "FE402"):
            message = f"'{key}' in {field}: {message}"
        rep.report(code, message, ptr, state=state, hint=hint)


def check_payload(rep: Reporter, ptr: Pointer, template: Any, *, state: str | None, field: str) -> None:
    """Every ``.$`` key of a payload template (Parameters, ResultSelector, ItemSelector, Assign...)."""
    stack: list[tuple[Pointer, Any]] = [(ptr, template)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(k, str) and k.endswith(".$"):
                    check_payload_value(rep, p + (k,), k, x, state=state, field=field)
                else:
                    stack.append((p + (k,), x))
        elif isinstance(v, list):
            stack.extend((p + (i,), x) for i, x in enumerate(v))


def check_reference_or_intrinsic(rep: Reporter, ptr: Pointer, value: Any, *, state: str | None,
                                 field: str) -> None:
    """ErrorPath/CausePath: a reference path or an intrinsic that returns a string."""
    if not isinstance(value, str):
        return
    if value.startswith("$"):
        check_path(rep, ptr, value, state=state, field=field, reference=True)
        return
    problem = intrinsic_problem(value) if (_CALL.match(value) or value.startswith("States.")) else (
        "FE401", f"{field} '{shorten(value)}' is neither a reference path nor an intrinsic",
        f"write a path such as $.{value}, or use {field[:-4]} for a literal")
    if problem:
        code, message, hint = problem
        rep.report(code, message, ptr, state=state, hint=hint)


# --- JSONata ------------------------------------------------------------------------------------

try:  # the engine's JSONata front end: AWS's 2.0.6 syntax and wording
    from flowengine.lang.jsonata import check_syntax as _engine_check_syntax
except ImportError:  # pragma: no cover - only while the engine module is missing
    _engine_check_syntax = None  # type: ignore[assignment]


@functools.lru_cache(maxsize=4096)
def jsonata_problem(body: str) -> tuple[str, int | None, str | None] | None:
    """(message, offset, hint) when the JSONata text between ``{%`` and ``%}`` does not parse."""
    if not body.strip():
        return ("the expression is empty", None, "write an expression between {% and %}")
    if _engine_check_syntax is not None:
        try:
            err = _engine_check_syntax(body)
        except Exception:  # noqa: BLE001 - a parser bug must not stop validation
            return None
        if err is None:
            return None
        offset = getattr(err, "offset", None)
        return (str(getattr(err, "message", err)), offset if isinstance(offset, int) else None,
                getattr(err, "hint", None))
    try:  # pragma: no cover - fallback while the engine module is missing
        import jsonata
        from jsonata.jexception import JException
    except ImportError:  # pragma: no cover
        return None
    try:  # pragma: no cover
        jsonata.Jsonata(body)
    except JException as exc:
        location = getattr(exc, "location", None)
        return (str(exc), location if isinstance(location, int) else None, None)
    except Exception:  # noqa: BLE001 - jsonata-python's own failures are not syntax errors
        return None
    return None


def is_expression(value: Any) -> bool:
    """A string AWS evaluates as JSONata: ``{%`` first and ``%}`` last, nothing around them."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def jsonata_body(value: str) -> str | None:
    """The expression inside ``{% ... %}``, or None when ``value`` is not one."""
    return value[2:-2] if is_expression(value) else None


def check_jsonata_value(rep: Reporter, ptr: Pointer, value: Any, *, state: str | None, field: str) -> None:
    """Every ``{% %}`` string inside a JSONata field value, at any depth."""
    stack: list[tuple[Pointer, Any]] = [(ptr, value)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, str):
            if "{%" not in v:
                continue
            body = jsonata_body(v)
            if body is None:
                s = v.strip()
                if s.startswith("{%") and s.endswith("%}"):
                    rep.report("FE411", f"{field}: '{shorten(v)}' has blanks around {{% %}}, so it is a literal "
                               "string", p, state=state, severity="warning",
                               hint="remove the blanks before {% and after %}")
                elif s.startswith("{%"):
                    rep.report("FE411", f"{field}: '{shorten(v)}' opens '{{%' but does not end with '%}}'", p,
                               state=state, severity="warning",
                               hint="it is taken as a literal string; close the expression with %}")
                continue
            problem = jsonata_problem(body)
            if problem:
                message, offset, hint = problem
                where = f" (at offset {offset + 2})" if offset is not None else ""
                rep.report("FE406", f"{field}: JSONata syntax error: {message}{where}", p, state=state,
                           hint=hint or "check the expression between {% and %}")
        elif isinstance(v, dict):
            for k, x in v.items():
                if isinstance(k, str) and k.endswith(".$") and len(k) > 2:
                    rep.report("FE412", f"'{k}' in {field}: '.$' keys are JSONPath; in a JSONata state this is a "
                               "literal key", p + (k,), state=state, key=True, severity="warning",
                               hint=f"write '{k[:-2]}' with a '{{% ... %}}' value")
                stack.append((p + (k,), x))
        elif isinstance(v, list):
            stack.extend((p + (i,), x) for i, x in enumerate(v))


# --- per state ------------------------------------------------------------------------------------

#: JSONPath fields holding a reference path (variables and the context object allowed).
_REFERENCE_FIELDS = ("SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath",
                     "MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath")
_PAYLOAD_FIELDS = ("Parameters", "ResultSelector", "ItemSelector", "Assign")
#: Fields whose values a JSONata state evaluates (everything but nested scopes and Choices).
_NOT_JSONATA = ("Type", "Comment", "QueryLanguage", "Next", "End", "Default", "Branches", "ItemProcessor",
                "Iterator", "Choices", "Retry", "Catch", "Resource", "Label")


def check(sm: StateMachine, rep: Reporter) -> None:
    """Every expression problem of a state machine and its nested scopes."""
    for scope in machines(sm):
        for st in scope.states.values():
            if isinstance(st.raw, dict) and st.raw.get("Type") in structure.STATE_TYPES:
                _check_state(st, rep)


def _check_state(st: State, rep: Reporter) -> None:
    raw, ptr, path, ql = st.raw, st.loc.pointer, st.path, st.query_language
    stype = raw["Type"]
    allowed = structure.fields_for(stype, ql)
    other = structure.fields_for(stype, structure.other_language(ql))
    for key in raw:
        if key not in allowed and key in other:
            _language_mismatch(rep, ptr + (key,), key, ql, path, f"a {stype} state")
    if ql == JSONPATH:
        for key in ("InputPath", "OutputPath"):
            if key in raw:
                check_path(rep, ptr + (key,), raw[key], state=path, field=key)
        if "ItemsPath" in raw:  # ASL: "the value of ItemsPath MUST be a Reference Path"
            check_path(rep, ptr + ("ItemsPath",), raw["ItemsPath"], state=path, field="ItemsPath", reference=True)
        if "ResultPath" in raw:
            check_path(rep, ptr + ("ResultPath",), raw["ResultPath"], state=path, field="ResultPath",
                       reference=True, result_path=True)
        for key in _REFERENCE_FIELDS:
            if key in raw:
                check_path(rep, ptr + (key,), raw[key], state=path, field=key, reference=True)
        for key in ("ErrorPath", "CausePath"):
            if key in raw:
                check_reference_or_intrinsic(rep, ptr + (key,), raw[key], state=path, field=key)
        for key in _PAYLOAD_FIELDS:
            if key in raw and key in allowed:
                check_payload(rep, ptr + (key,), raw[key], state=path, field=key)
        if stype == "Map" and "Parameters" in raw:
            pass  # covered above (legacy spelling of ItemSelector)
        _check_map_configs_jsonpath(raw, ptr, path, rep)
    else:
        for key, value in raw.items():
            if key in allowed and key not in _NOT_JSONATA:
                check_jsonata_value(rep, ptr + (key,), value, state=path, field=key)
    _check_catchers(raw, ptr, path, ql, rep)


def _check_map_configs_jsonpath(raw: dict[str, Any], ptr: Pointer, path: str, rep: Reporter) -> None:
    batcher = raw.get("ItemBatcher")
    if isinstance(batcher, dict):
        for key in ("MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"):
            if key in batcher:
                check_path(rep, ptr + ("ItemBatcher", key), batcher[key], state=path, field=key, reference=True)
        if "BatchInput" in batcher:
            check_payload(rep, ptr + ("ItemBatcher", "BatchInput"), batcher["BatchInput"], state=path,
                          field="BatchInput")
    for part in ("ItemReader", "ResultWriter"):
        v = raw.get(part)
        if isinstance(v, dict) and "Parameters" in v:
            check_payload(rep, ptr + (part, "Parameters"), v["Parameters"], state=path, field=f"{part}.Parameters")


def _check_catchers(raw: dict[str, Any], ptr: Pointer, path: str, ql: str, rep: Reporter) -> None:
    catch = raw.get("Catch")
    if raw.get("Type") not in ("Task", "Parallel", "Map") or not isinstance(catch, list):
        return
    mine = structure.CATCHER_FIELDS[ql]
    theirs = structure.CATCHER_FIELDS[structure.other_language(ql)]
    for i, c in enumerate(catch):
        if not isinstance(c, dict):
            continue
        cptr = ptr + ("Catch", i)
        for key in c:
            if key not in mine and key in theirs:
                _language_mismatch(rep, cptr + (key,), key, ql, path, "a catcher")
        if ql == JSONPATH:
            if "ResultPath" in c:
                check_path(rep, cptr + ("ResultPath",), c["ResultPath"], state=path, field="ResultPath",
                           reference=True, result_path=True)
            if "Assign" in c:
                check_payload(rep, cptr + ("Assign",), c["Assign"], state=path, field="Assign")
        else:
            for key in ("Output", "Assign"):
                if key in c:
                    check_jsonata_value(rep, cptr + (key,), c[key], state=path, field=key)


_JSONATA_FOR = {"InputPath": None, "OutputPath": "Output", "Parameters": "Arguments", "ResultSelector": "Output",
                "ResultPath": "Output", "ItemsPath": "Items", "TimeoutSecondsPath": "TimeoutSeconds",
                "HeartbeatSecondsPath": "HeartbeatSeconds", "SecondsPath": "Seconds", "TimestampPath": "Timestamp",
                "ErrorPath": "Error", "CausePath": "Cause", "MaxConcurrencyPath": "MaxConcurrency",
                "ToleratedFailureCountPath": "ToleratedFailureCount",
                "ToleratedFailurePercentagePath": "ToleratedFailurePercentage", "Result": "Output"}
_JSONPATH_FOR = {"Arguments": "Parameters", "Output": "OutputPath/ResultSelector", "Items": "ItemsPath"}


def _language_mismatch(rep: Reporter, ptr: Pointer, key: str, ql: str, path: str, where: str) -> None:
    if ql == JSONATA:
        alt = _JSONATA_FOR.get(key)
        hint = (f"JSONata states use {alt} with '{{% %}}' expressions" if alt
                else "JSONata states read the input as $states.input in their expressions")
        rep.report("FE409", f"{key} is a JSONPath field; {where} here uses JSONata", ptr, state=path, key=True,
                   hint=hint + ", or set QueryLanguage: JSONPath on the state")
    else:
        alt = _JSONPATH_FOR.get(key)
        hint = f"JSONPath states use {alt}" if alt else "JSONPath states do not have it"
        rep.report("FE408", f"{key} is a JSONata field; {where} here uses JSONPath", ptr, state=path, key=True,
                   hint=hint + ", or set QueryLanguage: JSONata on the state or the machine")

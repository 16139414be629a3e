"""JSONPath as Step Functions evaluates it, compiled once per definition.

Three roots share one syntax: ``$`` (the state's input), ``$$`` (the context object) and
``$name`` (a variable).  Simple definite paths (``$.a.b``, ``$['a'][0]``) compile to a
tuple of keys walked by a tight loop; anything else (wildcards, slices, filters, deep
scan) goes to jsonpath-ng, parsed once and cached.

Step Functions follows Jayway's semantics:

* a *definite* path yields one value, and a missing property is an error;
* an *indefinite* path (``[*]``, ``[1:3]``, ``..``, ``[?(...)]``) yields the list of matches,
  possibly empty, and never fails.

Missing values raise :class:`PathNotFound`; each caller words the AWS cause for its field.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from flowengine.model.failure import RUNTIME, StatesFailure

_ROOT_INPUT = 0
_ROOT_CONTEXT = 1
_ROOT_VARIABLE = 2

_VAR_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_INDEX = re.compile(r"\[(\d+)\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_MISSING = object()


class PathNotFound(LookupError):
    """A definite path has no value in the data.  ``at`` is the failing prefix in
    bracket notation (``$['a']['b']``), as AWS quotes it."""

    def __init__(self, path: str, at: str) -> None:
        super().__init__(path)
        self.path = path
        self.at = at


class PathSyntaxError(ValueError):
    """A path string is not a valid JSONPath."""


def jayway_body(body: str) -> str:
    """``.[0].x`` → ``[0].x``: Jayway (AWS's JsonPath) reads a single ``.`` before ``[`` as
    nothing, so ``$.[0]`` is ``$[0]`` and ``$.[?(@.a > 0)]`` is ``$[?(@.a > 0)]``.

    Only steps at the top level are touched (not text inside brackets or quotes), and a
    deep scan ``..[`` keeps both dots."""
    if ".[" not in body:
        return body
    out: list[str] = []
    depth = 0
    quote = ""
    for i, c in enumerate(body):
        if quote:
            if c == quote and body[i - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif (c == "." and depth == 0 and body[i + 1:i + 2] == "["
              and body[i - 1:i] != "." and body[i + 2:i + 3] != "]"):
            continue  # '.[' → '[' (but '..[' is a deep scan, and '.[]' stays an error)
        out.append(c)
    return "".join(out)


def _split_simple(body: str) -> tuple[Any, ...] | None:
    """``.a.b['c'][0]`` → ('a', 'b', 'c', 0); None when the path is not simple and definite."""
    keys: list[Any] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == ".":
            j = i + 1
            while j < n and body[j] not in ".[":
                j += 1
            name = body[i + 1:j]
            if not name or name == "*" or "(" in name or name.strip() != name:
                return None
            keys.append(name)
            i = j
        elif c == "[":
            m = _INDEX.match(body, i)
            if m:
                keys.append(int(m.group(1)))
                i = m.end()
                continue
            m = _QUOTED.match(body, i)
            if m:
                # Only the quote character itself is escaped; other backslashes are literal.
                if m.group(1) is not None:
                    keys.append(m.group(1).replace("\\'", "'"))
                else:
                    keys.append(m.group(2).replace('\\"', '"'))
                i = m.end()
                continue
            return None
        else:
            return None
    return tuple(keys)


@lru_cache(maxsize=4096)
def _ng_parse(text: str) -> Any:
    from jsonpath_ng.ext import parse  # imported lazily: parsing tables cost import time
    try:
        return parse(text)
    except Exception as exc:  # jsonpath-ng raises several unrelated exception types
        raise PathSyntaxError(f"invalid JSONPath '{text}': {exc}") from None


def bracket(keys: tuple[Any, ...] | list[Any]) -> str:
    """Keys → ``$['a'][0]`` (how Jayway names a location)."""
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f"['{k}']" for k in keys)


class JsonPath:
    """A compiled path.  ``text`` is what the user wrote; ``definite`` says whether it
    yields one value (or raises) rather than a list of matches."""

    __slots__ = ("text", "root", "var", "keys", "definite", "_ng", "is_root")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.startswith("$"):
            raise PathSyntaxError(f"a path must start with '$': {text!r}")
        self.text = text
        self.var: str | None = None
        if text.startswith("$$"):
            self.root = _ROOT_CONTEXT
            body = text[2:]
        else:
            m = _VAR_NAME.match(text)
            if m:
                self.root = _ROOT_VARIABLE
                self.var = m.group(1)
                body = text[m.end():]
            else:
                self.root = _ROOT_INPUT
                body = text[1:]
        body = jayway_body(body)
        keys = _split_simple(body)
        self._ng: Any = None
        if keys is None:
            self.keys: tuple[Any, ...] = ()
            self._ng = _ng_parse("$" + body)
            self.definite = False
        else:
            self.keys = keys
            self.definite = True
        #: ``$`` itself: the input, unchanged (``$$`` and ``$var`` are not this).
        self.is_root = self.root == _ROOT_INPUT and self.definite and not self.keys

    @property
    def is_input(self) -> bool:
        return self.root == _ROOT_INPUT

    @property
    def is_context(self) -> bool:
        return self.root == _ROOT_CONTEXT

    @property
    def is_variable(self) -> bool:
        return self.root == _ROOT_VARIABLE

    def find(self, data: Any) -> Any:
        """The value at this path *relative to its root value* ``data``."""
        if self._ng is not None:
            return [m.value for m in self._ng.find(data)]
        cur = data
        for i, k in enumerate(self.keys):
            if type(k) is str:
                if isinstance(cur, dict):
                    cur = cur.get(k, _MISSING)
                    if cur is not _MISSING:
                        continue
            elif isinstance(cur, list) and k < len(cur):
                cur = cur[k]
                continue
            raise PathNotFound(self.text, bracket(self.keys[: i + 1]))
        return cur

    def resolve(self, input_value: Any, context: Any, variables: Any) -> Any:
        """Evaluate against the right root: the state input, the context object
        (a value or a zero-argument callable building it) or the variables mapping."""
        root = self.root
        if root == _ROOT_INPUT:
            return self.find(input_value)
        if root == _ROOT_CONTEXT:
            return self.find(context() if callable(context) else context)
        try:
            value = variables[self.var]
        except KeyError:
            raise PathNotFound(self.text, f"${self.var}") from None
        return self.find(value)

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"


@lru_cache(maxsize=8192)
def compile_path(text: str) -> JsonPath:
    """Compile (and cache) a path.  Raises :class:`PathSyntaxError` for invalid syntax."""
    return JsonPath(text)


class ReferencePath:
    """A ResultPath: a definite input path naming where to put a value (copy-on-write)."""

    __slots__ = ("text", "keys")

    def __init__(self, text: str) -> None:
        if not text.startswith("$") or text.startswith("$$"):
            raise PathSyntaxError(f"ResultPath must be a reference path starting with '$': {text!r}")
        keys = _split_simple(jayway_body(text[1:]))
        if keys is None:
            raise PathSyntaxError(f"ResultPath must be a reference path (no wildcards or filters): {text!r}")
        self.text = text
        self.keys = keys

    def apply(self, data: Any, value: Any) -> Any:
        """``data`` with ``value`` placed at this path; ``data`` itself is not modified.
        Missing intermediate objects are created, as AWS does."""
        if not self.keys:
            return value
        return self._set(data, 0, value)

    def _set(self, node: Any, i: int, value: Any) -> Any:
        key = self.keys[i]
        last = i == len(self.keys) - 1
        if isinstance(key, str):
            if not isinstance(node, dict):
                raise StatesFailure(
                    "States.ResultPathMatchFailure",
                    f"Unable to apply ResultPath \"{self.text}\" to input \"{dumps(node)}\"",
                )
            out = dict(node)
            out[key] = value if last else self._set(node.get(key, {}), i + 1, value)
            return out
        if not isinstance(node, list) or not -len(node) <= key < len(node):
            raise StatesFailure(
                "States.ResultPathMatchFailure",
                f"Unable to apply ResultPath \"{self.text}\" to input \"{dumps(node)}\"",
            )
        out_list = list(node)
        out_list[key] = value if last else self._set(node[key], i + 1, value)
        return out_list


@lru_cache(maxsize=4096)
def compile_reference_path(text: str) -> ReferencePath:
    return ReferencePath(text)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


try:  # the C encoder, built once: JSONEncoder.encode rebuilds it on every call
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]
    from json.encoder import encode_basestring as _encode_basestring

    # No circular-reference markers: engine values come from JSON text, JSONata and
    # intrinsics (trees by construction); handler results are checked by json.dumps.
    _c_encoder = _c_make_encoder(None, _not_json, _encode_basestring, None, ":", ",", False, False, False)
except ImportError:  # pragma: no cover - CPython always has it
    _c_encoder = None
_py_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(value: Any) -> str:
    """Compact JSON text, as Step Functions writes payloads into its history."""
    if _c_encoder is not None:
        return "".join(_c_encoder(value, 0))
    return _py_encode(value)  # pragma: no cover


def missing_property_cause(path: JsonPath, exc: PathNotFound) -> str:
    """AWS's wording when InputPath/OutputPath/ItemsPath select nothing."""
    return f"Invalid path '{path.text}' : Missing property in path {exc.at}"


_MISSING_CONTEXT = re.compile(r"The JSONPath '(\$\$[^']*)' specified for the field '[^']*' could not be found in the input")


def context_path_hint(cause: str | None) -> str | None:
    """A local hint for AWS's cause when a ``$$`` path found nothing.

    AWS's cause says "could not be found in the input" whatever the path's root (recorded on
    AWS, kept verbatim); a ``$$`` path reads the context object, so say that."""
    m = _MISSING_CONTEXT.search(cause or "")
    if m is None:
        return None
    path = m.group(1)
    hint = f"'{path}' reads the context object, not the input: the context object has no such field here"
    if path.startswith("$$.Task.Token"):
        hint += " (a task token exists only in Tasks whose Resource ends in .waitForTaskToken, .sync or .sync:2)"
    elif path.startswith("$$.Map.Item"):
        hint += " ($$.Map.Item is set only in a Map's ItemSelector)"
    return hint


def path_not_found_failure(path_text: str, field: str, data: Any) -> StatesFailure:
    """AWS's wording when a ``.$`` field (or a ...Path field) selects nothing."""
    return StatesFailure(
        RUNTIME,
        f"The JSONPath '{path_text}' specified for the field '{field}' could not be found in the input '{dumps(data)}'",
    )

"""The ASL intrinsic functions (``States.Format``, ``States.Array``, ... ``States.UUID``).

A ``"key.$"`` field whose value starts with ``States.<Name>(`` is an intrinsic call rather than
a path. The call is parsed once, when the definition loads (:func:`parse_intrinsic`): syntax,
function name and argument count are checked then, and every JSONPath argument is compiled.
Each transition then only evaluates the tree (:meth:`Intrinsic.evaluate`).

Evaluation failures are :class:`~flowengine.model.failure.StatesFailure` values with AWS's
error name, ``States.Runtime``, and AWS's cause wording::

    The function 'States.Format('{}', $.nope)' had the following error: The JsonPath argument
    for the field '$.nope' could not be found in the input '{"other":1}'

The cause names the whole expression as written, even when a nested call failed. The state
interpreter puts AWS's ``An error occurred while executing the state 'X' (entered at the event
id #N).`` in front of it.

Values are plain JSON values (dicts, lists, str, int, float, bool, None). Where AWS's
Java runtime shows through (the ``{key=value}`` rendering of objects in ``States.Format``,
``1.0E20`` for large doubles, ``Math.round`` for non-integer numbers) this module copies it.
"""

from __future__ import annotations

import base64
import difflib
import functools
import hashlib
import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng import jsonpath as _jp
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as _ng_parse

from flowengine.dsl import files
from flowengine.lang.jsonpath import jayway_body
from flowengine.model.failure import RUNTIME, StatesFailure, json_type_name

__all__ = [
    "FUNCTIONS",
    "Intrinsic",
    "IntrinsicEnv",
    "IntrinsicSyntaxError",
    "is_intrinsic",
    "parse_intrinsic",
    "to_json_text",
]


# --------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------


class IntrinsicSyntaxError(ValueError):
    """Text that is not a valid intrinsic call, found when the definition loads.

    ``offset`` is the 0-based character offset into the text where the problem is, and
    ``hint`` a suggestion for the fix (a did-you-mean for an unknown name, the signature for a
    wrong argument count), or ``None``.
    """

    def __init__(self, message: str, offset: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.message} (at offset {self.offset})"
        return f"{text}. {self.hint}" if self.hint else text


@dataclass(frozen=True, slots=True)
class IntrinsicEnv:
    """What an intrinsic call can see while it is evaluated.

    ``input`` is the state's effective input (``$``), ``context`` the context object (``$$``)
    and ``variables`` the ASL variables visible to the state (``$name``). ``random`` is the
    engine's one seeded random source, used by ``States.MathRandom`` (without a seed argument)
    and ``States.UUID``, so that a seeded execution is reproducible.

    ``resolve_path``, when given, replaces this module's JSONPath evaluation: it is called as
    ``resolve_path(path, root)`` where ``path`` is relative to ``root`` and starts with ``$``
    (``$$.Execution.Id`` is passed as ``("$.Execution.Id", context)``, ``$var.a`` as
    ``("$.a", variables["var"])``). It returns the value (a list for a path with wildcards,
    slices or filters) and raises ``LookupError`` (or a ``StatesFailure``) when the path
    matches nothing.
    """

    input: Any
    context: dict[str, Any]
    variables: Mapping[str, Any]
    random: Random
    resolve_path: Callable[[str, Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A parsed intrinsic call, ready to evaluate as often as needed.

    ``name`` is the outermost function (``'States.Format'``) and ``text`` the expression exactly
    as written in the definition (AWS quotes it in failure causes).
    """

    name: str
    text: str
    _call: _Call = field(repr=False, compare=False)

    def evaluate(self, env: IntrinsicEnv) -> Any:
        """Evaluate the call; raises ``StatesFailure('States.Runtime', cause)`` as AWS does.

        The result may share nested values with the input (``States.ArrayGetItem`` returns the
        element itself): a caller that mutates it copies it first.
        """
        try:
            return _evaluate_call(self._call, env)
        except _EvaluationError as exc:
            raise StatesFailure(RUNTIME, f"The function '{self.text}' had the following error: {exc.detail}") from None

    def paths(self) -> list[str]:
        """Every path argument (``$...``, ``$$...``, ``$var...``) as written, nested calls included."""
        found: list[str] = []
        _collect_paths(self._call, found)
        return found

    def __str__(self) -> str:
        return self.text


def is_intrinsic(text: str) -> bool:
    """Whether a ``.$`` field value is an intrinsic call (``States.<Name>(``) rather than a path."""
    return isinstance(text, str) and _CALL_START.match(text) is not None


def parse_intrinsic(text: str) -> Intrinsic:
    """Parse an intrinsic call once, when the definition loads.

    Checks the syntax, the function names (an unknown one gets a did-you-mean hint), the
    argument counts, and compiles every JSONPath argument. Raises :class:`IntrinsicSyntaxError`.
    """
    tokens = _tokenize(text)
    parser = _Parser(text, tokens)
    call = parser.parse()
    return Intrinsic(name=call.name, text=text, _call=call)


# --------------------------------------------------------------------------------------------
# The parsed tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Literal:
    """A literal argument: a string, number, ``true``, ``false`` or ``null``.

    For a string, ``format_parts`` is the text split at each *unescaped* ``{}``: only those are
    ``States.Format`` placeholders, ``\\{\\}`` is a literal pair of braces.
    """

    value: Any
    format_parts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class _Path:
    """A path argument, compiled once.

    ``root`` says what ``$`` means (``"input"``, ``"context"`` or ``"variable"``), ``relative``
    is the path rewritten against that root (``$$.A`` -> ``$.A``, ``$v.a`` -> ``$.a``) and
    ``definite`` tells a path that names one value from one that collects a list (wildcards,
    slices, filters, unions, ``..``): the first fails when nothing matches, the second is ``[]``.
    """

    text: str
    root: str
    variable: str | None
    relative: str
    compiled: JSONPath = field(compare=False)
    definite: bool


@dataclass(frozen=True, slots=True)
class _Call:
    """A (possibly nested) call of one ``States.*`` function."""

    name: str
    args: tuple[_Arg, ...]
    offset: int


_Arg = _Literal | _Path | _Call


def _collect_paths(call: _Call, found: list[str]) -> None:
    for arg in call.args:
        if isinstance(arg, _Path):
            found.append(arg.text)
        elif isinstance(arg, _Call):
            _collect_paths(arg, found)


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

_CALL_START = re.compile(r"States\.[A-Za-z_][A-Za-z0-9_]*\s*\(")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# Reserved characters and what their escapes stand for (ASL: "Reserved characters in
# intrinsic functions": \' \{ \} \\).
_ESCAPES = {"'": "'", "{": "{", "}": "}", "\\": "\\"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name" "(" ")" "," "string" "number" "literal" "path" "end"
    text: str
    offset: int
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            tokens.append(_Token("end", "", n))
            return tokens
        c = text[i]
        if c in "(),":
            tokens.append(_Token(c, c, i))
            i += 1
        elif c == "'":
            token, i = _scan_string(text, i)
            tokens.append(token)
        elif c == "$":
            end = _scan_path(text, i)
            tokens.append(_Token("path", text[i:end], i))
            i = end
        elif c.isdigit() or (c == "-" and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            number: int | float = float(m.group()) if m.group(1) or m.group(2) else int(m.group())
            tokens.append(_Token("number", m.group(), i, number))
            i = m.end()
        elif c.isalpha() or c == "_":
            m = _NAME.match(text, i)
            assert m is not None
            word = m.group()
            if word in ("true", "false", "null"):
                tokens.append(_Token("literal", word, i, {"true": True, "false": False, "null": None}[word]))
            else:
                tokens.append(_Token("name", word, i))
            i = m.end()
        elif c == '"':
            raise IntrinsicSyntaxError(
                "String arguments are written in single quotes", i, "Write 'text' instead of \"text\""
            )
        else:
            raise IntrinsicSyntaxError(f"Unexpected character {c!r}", i)


def _scan_string(text: str, start: int) -> tuple[_Token, int]:
    """A single-quoted literal; returns its token (value and Format parts) and the next offset."""
    chars: list[tuple[str, bool]] = []  # (character, was escaped)
    i, n = start + 1, len(text)
    while True:
        if i >= n:
            raise IntrinsicSyntaxError("Unterminated string literal", start, "Close the string with a single quote")
        c = text[i]
        if c == "'":
            break
        if c == "\\":
            nxt = text[i + 1] if i + 1 < n else ""
            if nxt not in _ESCAPES:
                raise IntrinsicSyntaxError(
                    "Open escape backslash in a string literal",
                    i,
                    r"Only \' \{ \} and \\ are escapes; write \\ for a backslash",
                )
            chars.append((_ESCAPES[nxt], True))
            i += 2
            continue
        chars.append((c, False))
        i += 1
    value = "".join(c for c, _ in chars)
    parts: list[str] = []
    current: list[str] = []
    j = 0
    while j < len(chars):
        c, escaped = chars[j]
        if c == "{" and not escaped and j + 1 < len(chars) and chars[j + 1] == ("}", False):
            parts.append("".join(current))
            current = []
            j += 2
            continue
        current.append(c)
        j += 1
    parts.append("".join(current))
    return _Token("string", text[start : i + 1], start, _Literal(value, tuple(parts))), i + 1


def _scan_path(text: str, start: int) -> int:
    """Where a path argument ends: at a top-level ``,`` ``)`` or blank, outside brackets and quotes."""
    i, n = start, len(text)
    brackets = parens = 0
    quote: str | None = None
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"" and brackets:
            quote = c
        elif c == "[":
            brackets += 1
        elif c == "]":
            brackets -= 1
        elif c == "(":
            parens += 1
        elif c == ")":
            if parens == 0 and brackets == 0:
                break
            parens -= 1
        elif (c == "," or c.isspace()) and brackets == 0 and parens == 0:
            break
        i += 1
    return i


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens: ``call := NAME '(' [arg (',' arg)*] ')'``."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> _Call:
        first = self.tokens[0]
        if first.kind != "name":
            raise IntrinsicSyntaxError(
                "An intrinsic call starts with a function name such as States.Format", first.offset
            )
        call = self._call()
        end = self._peek()
        if end.kind != "end":
            raise IntrinsicSyntaxError(f"Unexpected {_describe(end)} after the end of the call", end.offset)
        return call

    def _peek(self) -> _Token:
        return self.tokens[self.pos]

    def _next(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _call(self) -> _Call:
        name = self._next()
        spec = FUNCTIONS.get(name.text)
        if spec is None:
            raise _unknown_function(name)
        opening = self._next()
        if opening.kind != "(":
            raise IntrinsicSyntaxError(f"Expected '(' after {name.text}, found {_describe(opening)}", opening.offset)
        args: list[_Arg] = []
        if self._peek().kind == ")":
            self._next()
        else:
            while True:
                args.append(self._argument())
                sep = self._next()
                if sep.kind == ")":
                    break
                if sep.kind != ",":
                    raise IntrinsicSyntaxError(
                        f"Expected ',' or ')' in the arguments of {name.text}, found {_describe(sep)}",
                        sep.offset,
                        "Close the call with ')'" if sep.kind == "end" else None,
                    )
        low, high = spec.arity
        if len(args) < low or (high is not None and len(args) > high):
            raise IntrinsicSyntaxError(
                f"{name.text} takes {_arity_words(spec.arity)}, got {len(args)}",
                name.offset,
                f"Usage: {spec.signature}",
            )
        return _Call(name.text, tuple(args), name.offset)

    def _argument(self) -> _Arg:
        token = self._peek()
        if token.kind == "name":
            if self.tokens[self.pos + 1].kind == "(":
                return self._call()
            self._next()
            raise IntrinsicSyntaxError(
                f"Unexpected word {token.text!r} in the arguments",
                token.offset,
                "Quote text as 'text', start paths with $, or call a States.* function",
            )
        self._next()
        if token.kind == "string":
            literal: _Literal = token.value
            return literal
        if token.kind in ("number", "literal"):
            return _Literal(token.value)
        if token.kind == "path":
            return _compile_path(token)
        hint = "Remove the trailing ','" if token.kind == ")" else None
        raise IntrinsicSyntaxError(f"Expected an argument, found {_describe(token)}", token.offset, hint)


def _describe(token: _Token) -> str:
    return "the end of the text" if token.kind == "end" else repr(token.text)


def _arity_words(arity: tuple[int, int | None]) -> str:
    low, high = arity
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _unknown_function(name: _Token) -> IntrinsicSyntaxError:
    lowered = {known.lower(): known for known in FUNCTIONS}
    close = lowered.get(name.text.lower())
    if close is None:
        # Compare what follows "States.", or the shared prefix makes everything look close.
        short = {known.removeprefix("States."): known for known in FUNCTIONS}
        guesses = difflib.get_close_matches(name.text.removeprefix("States."), list(short), n=1, cutoff=0.6)
        close = short[guesses[0]] if guesses else None
    hint = f"Did you mean {close}?" if close else "Known functions: " + ", ".join(sorted(FUNCTIONS))
    return IntrinsicSyntaxError(f"Unknown intrinsic function {name.text!r}", name.offset, hint)


@functools.lru_cache(maxsize=4096)
def _parse_jsonpath(text: str) -> JSONPath:
    """jsonpath-ng's parse, once per path text: each call builds a new parser (its ply
    tables), a few milliseconds that every fresh engine would otherwise pay again."""
    return _ng_parse(text)


def _compile_path(token: _Token) -> _Path:
    text = token.text
    variable: str | None = None
    if text.startswith("$$"):
        root, relative = "context", "$" + text[2:]
    elif (m := _VARIABLE.match(text)) is not None:
        root, variable, relative = "variable", m.group(1), "$" + text[m.end() :]
    else:
        root, relative = "input", text
    relative = "$" + jayway_body(relative[1:])  # Jayway: '$.[0]' is '$[0]'
    if relative != "$" and relative[1] not in ".[":
        raise IntrinsicSyntaxError(f"Invalid path {text!r}", token.offset, "A path continues with '.' or '['")
    try:
        compiled = _parse_jsonpath(relative)
    except (JSONPathError, ValueError) as exc:
        raise IntrinsicSyntaxError(f"Invalid JSONPath {text!r}: {exc}", token.offset) from None
    return _Path(text, root, variable, relative, compiled, _is_definite(compiled))


def _is_definite(node: JSONPath) -> bool:
    """Whether a compiled path names at most one value (Jayway's "definite path")."""
    if isinstance(node, (_jp.Root, _jp.This)):
        return True
    if isinstance(node, _jp.Child):
        return _is_definite(node.left) and _is_definite(node.right)
    if isinstance(node, _jp.Fields):
        return len(node.fields) == 1 and node.fields[0] != "*"
    if isinstance(node, _jp.Index):
        indices = getattr(node, "indices", None)
        return indices is None or len(indices) == 1
    return False


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


class _EvaluationError(Exception):
    """Why a call failed; the root :class:`Intrinsic` turns it into AWS's cause sentence."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _evaluate_call(call: _Call, env: IntrinsicEnv) -> Any:
    values = [_evaluate_arg(arg, env) for arg in call.args]
    return FUNCTIONS[call.name].apply(call, values, env)


def _evaluate_arg(arg: _Arg, env: IntrinsicEnv) -> Any:
    if isinstance(arg, _Literal):
        return arg.value
    if isinstance(arg, _Path):
        return _resolve(arg, env)
    return _evaluate_call(arg, env)


def _resolve(path: _Path, env: IntrinsicEnv) -> Any:
    if path.root == "input":
        root = env.input
    elif path.root == "context":
        root = env.context
    else:
        assert path.variable is not None
        if path.variable not in env.variables:
            raise _missing(path, env)
        root = env.variables[path.variable]
    if env.resolve_path is not None:
        try:
            return env.resolve_path(path.relative, root)
        except (LookupError, StatesFailure):
            raise _missing(path, env) from None
    matches = path.compiled.find(root)
    if not path.definite:
        return [match.value for match in matches]
    if not matches:
        raise _missing(path, env)
    return matches[0].value


def _missing(path: _Path, env: IntrinsicEnv) -> _EvaluationError:
    # AWS names a context path rewritten against the context object ($$.A -> $.A) and, for
    # every root, prints the state input (AWS Step Functions and Step Functions Local agree).
    shown = path.relative if path.root == "context" else path.text
    return _EvaluationError(
        f"The JsonPath argument for the field '{shown}' could not be found in the input '{to_json_text(env.input)}'"
    )


# --------------------------------------------------------------------------------------------
# Value helpers: AWS's Java runtime shows through in text and number handling
# --------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _java_round(value: float) -> int:
    """``Math.round``: halves round up (towards positive infinity), unlike Python's ``round``."""
    return value if isinstance(value, int) else math.floor(value + 0.5)


def _java_double(value: float) -> str:
    """``Double.toString``: ``1.1``, ``100.0``, ``1.0E20``, ``1.0E-4``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    exact = Decimal(repr(magnitude)).normalize()
    if 1e-3 <= magnitude < 1e7:
        plain = format(exact, "f")
        return sign + (plain if "." in plain else plain + ".0")
    digits = "".join(map(str, exact.as_tuple().digits))
    exponent = exact.adjusted()
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _json_string(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _JSON_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04X}"), text) + '"'


def to_json_text(value: Any) -> str:
    """Compact JSON as AWS writes it (``States.JsonToString``, causes): no blanks, key order kept,
    non-ASCII unescaped, doubles as Java prints them."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_string(str(k))}:{to_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json_text(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {value!r}")


def _format_text(value: Any) -> str:
    """How ``States.Format`` renders a value: Java's ``toString`` of the parsed JSON
    (strings bare, ``{a=1, b=[x, y]}`` for objects, ``null`` for null)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_format_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_text(v) for v in value) + "]"
    return to_json_text(value)


def _json_key(value: Any) -> Any:
    """A hashable key under which equal JSON values coincide (``1 == 1.0``, ``true != 1``)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_key(v)) for k, v in value.items()))
    return ("other", repr(value))


def _bad(what: str, expected: str, value: Any) -> _EvaluationError:
    return _EvaluationError(
        f"The {what} argument must be {expected}, but was {json_type_name(value)}: {_shorten(to_json_text(value))}"
    )


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _want_array(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(what, "an array", value)
    return value


def _want_string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(what, "a string", value)
    return value


def _want_integer(value: Any, what: str) -> int:
    """A number argument; a non-integer one is rounded as AWS documents (half up)."""
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise _bad(what, "a number", value)
    return _java_round(value)


# --------------------------------------------------------------------------------------------
# The functions
# --------------------------------------------------------------------------------------------

_MAX_RANGE = 1000  # "The new array can contain up to 1000 elements."
_MAX_BASE64_INPUT = 10_000  # Base64Encode/Decode take "a data string of up to 10,000 characters"
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _format(call: _Call, values: list[Any], env: IntrinsicEnv) -> str:
    template = _want_string(values[0], "first (template)")
    first = call.args[0]
    if isinstance(first, _Literal) and first.format_parts is not None:
        parts = list(first.format_parts)
    else:
        parts = template.split("{}")
    args = values[1:]
    if len(parts) - 1 != len(args):
        raise _EvaluationError(
            f"The template has {len(parts) - 1} '{{}}' placeholder(s) but {len(args)} value argument(s) were given"
        )
    out = [parts[0]]
    for arg, part in zip(args, parts[1:]):
        out.append(_format_text(arg))
        out.append(part)
    return "".join(out)


def _string_to_json(call: _Call, values: list[Any], env: IntrinsicEnv) -> Any:
    text = _want_string(values[0], "first")
    if not text.strip():
        return None  # AWS returns null for an empty or blank string

    try:
        # strict, as AWS parses: no NaN/Infinity, out-of-range numbers or lone surrogates
        # (a surrogate would fail far away, when the result is written as UTF-8)
        return files.loads(text)
    except RecursionError:
        raise _EvaluationError("The argument is nested too deeply to parse as JSON") from None
    except ValueError as exc:
        raise _EvaluationError(f"The argument is not a valid JSON string: {exc}") from None


def _json_to_string(call: _Call, values: list[Any], env: IntrinsicEnv) -> str:
    return to_json_text(values[0])


def _array(call: _Call, values: list[Any], env: IntrinsicEnv) -> list[Any]:
    return list(values)


def _array_partition(call: _Call, values: list[Any], env: IntrinsicEnv) -> list[list[Any]]:
    array = _want_array(values[0], "first (array)")
    size = _want_integer(values[1], "second (chunk size)")
    if size < 1:
        raise _EvaluationError(f"The chunk size must be a positive integer, but was {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _array_contains(call: _Call, values: list[Any], env: IntrinsicEnv) -> bool:
    array = _want_array(values[0], "first (array)")
    wanted = _json_key(values[1])
    return any(_json_key(item) == wanted for item in array)


def _array_range(call: _Call, values: list[Any], env: IntrinsicEnv) -> list[int]:
    first = _want_integer(values[0], "first (start)")
    last = _want_integer(values[1], "second (end)")
    step = _want_integer(values[2], "third (step)")
    if step == 0:
        raise _EvaluationError("The step argument must not be 0")
    count = (last - first) // step + 1 if (last - first) * step >= 0 else 0
    if count > _MAX_RANGE:
        raise _EvaluationError(f"The array would have {count} elements; States.ArrayRange allows at most {_MAX_RANGE}")
    return [first + i * step for i in range(count)]


def _array_get_item(call: _Call, values: list[Any], env: IntrinsicEnv) -> Any:
    array = _want_array(values[0], "first (array)")
    index = values[1]
    if not _is_number(index) or (isinstance(index, float) and not index.is_integer()):
        raise _bad("second (index)", "an integer", index)
    position = int(index)
    if not 0 <= position < len(array):
        raise _EvaluationError(f"The index {position} is out of bounds for an array of length {len(array)}")
    return array[position]


def _array_length(call: _Call, values: list[Any], env: IntrinsicEnv) -> int:
    return len(_want_array(values[0], "first (array)"))


def _array_unique(call: _Call, values: list[Any], env: IntrinsicEnv) -> list[Any]:
    seen: set[Any] = set()
    unique: list[Any] = []
    for item in _want_array(values[0], "first (array)"):
        key = _json_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _check_base64_length(text: str) -> None:
    if len(text) > _MAX_BASE64_INPUT:
        raise _EvaluationError(
            f"The input string has {len(text)} characters; the limit is {_MAX_BASE64_INPUT}"
        )


def _base64_encode(call: _Call, values: list[Any], env: IntrinsicEnv) -> str:
    text = _want_string(values[0], "first")
    _check_base64_length(text)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _base64_decode(call: _Call, values: list[Any], env: IntrinsicEnv) -> str:
    text = _want_string(values[0], "first")
    _check_base64_length(text)
    body = text.rstrip("=")
    padded = len(text) != len(body)
    # Java's basic decoder: the standard alphabet, padding optional but, when present, complete.
    if _BASE64.fullmatch(text) is None or len(body) % 4 == 1 or (padded and len(text) % 4 != 0):
        raise _EvaluationError(f"The input is not a valid Base64 string: {_shorten(to_json_text(text))}")
    data = base64.b64decode(body + "=" * (-len(body) % 4))
    return data.decode("utf-8", errors="replace")


def _hash(call: _Call, values: list[Any], env: IntrinsicEnv) -> str:
    data = values[0]
    algorithm = _want_string(values[1], "second (algorithm)")
    name = _HASHES.get(algorithm)
    if name is None:
        raise _EvaluationError(
            f"The hash algorithm {algorithm!r} is not supported; use one of {', '.join(_HASHES)}"
        )
    text = data if isinstance(data, str) else to_json_text(data)
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _json_merge(call: _Call, values: list[Any], env: IntrinsicEnv) -> dict[str, Any]:
    left, right, deep = values
    if not isinstance(left, dict):
        raise _bad("first", "a JSON object", left)
    if not isinstance(right, dict):
        raise _bad("second", "a JSON object", right)
    if not isinstance(deep, bool):
        raise _bad("third (deep merge)", "a boolean", deep)
    if deep:
        raise _EvaluationError("Deep merging is not supported; the third argument must be false")
    return {**left, **right}


def _math_random(call: _Call, values: list[Any], env: IntrinsicEnv) -> int:
    start = _want_integer(values[0], "first (start)")
    end = _want_integer(values[1], "second (end)")
    rng = env.random if len(values) == 2 else Random(_want_integer(values[2], "third (seed)"))
    if start >= end:
        raise _EvaluationError(
            f"The start ({start}) must be less than the end ({end}): the start is inclusive, the end exclusive"
        )
    return rng.randrange(start, end)


def _math_add(call: _Call, values: list[Any], env: IntrinsicEnv) -> int:
    return _want_integer(values[0], "first") + _want_integer(values[1], "second")


def _string_split(call: _Call, values: list[Any], env: IntrinsicEnv) -> list[str]:
    text = _want_string(values[0], "first")
    delimiters = _want_string(values[1], "second (delimiters)")
    # Java's StringTokenizer: every character of the second argument is a delimiter and empty
    # tokens are dropped (AWS: ",,,," -> []).
    if not delimiters:
        return [text] if text else []
    pattern = "[" + "".join(re.escape(c) for c in delimiters) + "]+"
    return [token for token in re.split(pattern, text) if token]


def _uuid(call: _Call, values: list[Any], env: IntrinsicEnv) -> str:
    return str(uuid.UUID(int=env.random.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class _Function:
    """One ``States.*`` function: argument counts (``None`` = no upper bound), usage, body."""

    arity: tuple[int, int | None]
    signature: str
    apply: Callable[[_Call, list[Any], IntrinsicEnv], Any]


FUNCTIONS: Mapping[str, _Function] = {
    "States.Format": _Function((1, None), "States.Format(template, value, ...)", _format),
    "States.StringToJson": _Function((1, 1), "States.StringToJson(string)", _string_to_json),
    "States.JsonToString": _Function((1, 1), "States.JsonToString(value)", _json_to_string),
    "States.Array": _Function((0, None), "States.Array(value, ...)", _array),
    "States.ArrayPartition": _Function((2, 2), "States.ArrayPartition(array, chunkSize)", _array_partition),
    "States.ArrayContains": _Function((2, 2), "States.ArrayContains(array, value)", _array_contains),
    "States.ArrayRange": _Function((3, 3), "States.ArrayRange(first, last, step)", _array_range),
    "States.ArrayGetItem": _Function((2, 2), "States.ArrayGetItem(array, index)", _array_get_item),
    "States.ArrayLength": _Function((1, 1), "States.ArrayLength(array)", _array_length),
    "States.ArrayUnique": _Function((1, 1), "States.ArrayUnique(array)", _array_unique),
    "States.Base64Encode": _Function((1, 1), "States.Base64Encode(string)", _base64_encode),
    "States.Base64Decode": _Function((1, 1), "States.Base64Decode(base64String)", _base64_decode),
    "States.Hash": _Function((2, 2), "States.Hash(data, 'MD5'|'SHA-1'|'SHA-256'|'SHA-384'|'SHA-512')", _hash),
    "States.JsonMerge": _Function((3, 3), "States.JsonMerge(object1, object2, false)", _json_merge),
    "States.MathRandom": _Function((2, 3), "States.MathRandom(start, end[, seed])", _math_random),
    "States.MathAdd": _Function((2, 2), "States.MathAdd(number1, number2)", _math_add),
    "States.StringSplit": _Function((2, 2), "States.StringSplit(string, delimiters)", _string_split),
    "States.UUID": _Function((0, 0), "States.UUID()", _uuid),
}
"""Every intrinsic function AWS has, by name: arity, usage line and implementation."""

"""EventBridge event patterns: validate once with AWS's rules, then match many events.

Choose this module when something must decide, exactly as an EventBridge rule would, whether
an event matches a pattern: an ``event_pattern`` trigger, an S3 bucket routed through
EventBridge, a test asserting which rule fires::

    rule = compile_pattern({"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}})
    rule.matches(event)          # -> bool

The semantics are those of AWS's event-ruler, the library EventBridge runs:

* fields are ANDed, the values listed for one field are ORed, ``$or`` forks the pattern into
  alternatives;
* the event is flattened to its leaves (``detail.state``); a leaf inside an array matches if any
  element matches, and fields matched together must come from the *same* element of an array
  of objects (event-ruler's "array-consistent" matching);
* strings, numbers, ``true``/``false`` and ``null`` match by type (``"5"`` is not ``5``);
  numbers compare by value (``5`` equals ``5.0`` and ``3.018e2`` equals ``301.8``);
* ``exists`` and every other operator look only at leaves: a field whose value is an object
  or an empty array does not exist for matching;
* ``anything-but`` needs the field to be present, and is satisfied by any element of an array
  that is not excluded.

Invalid patterns raise :class:`PatternError` with event-ruler's own reason (``Empty arrays are
not allowed``, ``Bottom must be less than top``, ...) and the path inside the pattern.

The same grammar serves SNS filter policies and Lambda filter criteria
(:mod:`flowengine.lang.filters`), each with its own restrictions.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flowengine.errors import FlowengineError

__all__ = ["EventPattern", "PatternError", "PatternMiss", "compile_pattern", "format_path"]

#: A place inside a pattern: keys and list indices from the root (``("detail", "state", 0)``).
Pointer = tuple[str | int, ...]

# event-ruler's reserved words: not allowed as field names inside a $or alternative
_RESERVED_IN_OR = frozenset({
    "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric",
    "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
    "ip-address-not-in-range",
})
_FIVE_BILLION = Decimal(5_000_000_000)
_NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


class PatternError(FlowengineError, ValueError):
    """An event pattern (or filter policy, or filter criteria) that AWS would refuse.

    ``message`` is the reason as AWS words it; ``path`` points at the offending part of the
    pattern (keys and list indices from its root), so a validator can turn it into a
    ``file:line:col``.
    """

    #: What AWS puts before the reason.
    prefix = "Event pattern is not valid. Reason: "

    def __init__(self, message: str, path: Pointer = ()) -> None:
        self.message = message
        self.path: Pointer = tuple(path)
        super().__init__(message, self.path)

    def __str__(self) -> str:
        where = format_path(self.path)
        return f"{self.prefix}{self.message}" + (f" (at {where})" if where else "")


def format_path(path: Pointer) -> str:
    """``("detail", "state", 0)`` → ``detail.state[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- values ---------------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _comparable(v: Any) -> Decimal | None:
    """The value event-ruler compares numerically, or None outside -5e9..5e9 (no numeric form)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    try:
        d = v if isinstance(v, Decimal) else Decimal(repr(v) if isinstance(v, float) else v)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return d if -_FIVE_BILLION <= d <= _FIVE_BILLION else None


def _literal(v: Any) -> str:
    return str(v) if isinstance(v, Decimal) else json.dumps(v)


def _ip(text: str) -> tuple[int, int] | None:
    """(version, integer) for an IP address literal, as event-ruler recognises them."""
    if not (_IPV4.fullmatch(text) or _IPV6.fullmatch(text)):
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return addr.version, int(addr)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_number(v):
        return _literal(v)
    if isinstance(v, str):
        return v
    return "[" if isinstance(v, (list, tuple)) else "{"


# --- matchers -------------------------------------------------------------------------------------


class _Matcher:
    """One entry of a field's value list.  ``match`` sees one leaf value of the event."""

    __slots__ = ()

    def match(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class _Exact(_Matcher):
    __slots__ = ("ip", "num", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        # event-ruler turns a string that is an IP address into an address range, and a number
        # into both its literal text and its numeric form
        self.ip = _ip(value) if isinstance(value, str) else None
        self.num = _comparable(value) if _is_number(value) else None

    def match(self, value: Any) -> bool:
        p = self.value
        if isinstance(p, str):
            if not isinstance(value, str):
                return False
            return value == p or (self.ip is not None and _ip(value) == self.ip)
        if p is None:
            return value is None
        if isinstance(p, bool):
            return isinstance(value, bool) and value == p
        if not _is_number(value):
            return False
        if self.num is not None and _comparable(value) == self.num:
            return True
        return _literal(value) == _literal(p)


class _Prefix(_Matcher):
    __slots__ = ("ignore_case", "text")

    def __init__(self, text: str, ignore_case: bool = False) -> None:
        self.text = text.lower() if ignore_case else text
        self.ignore_case = ignore_case

    def match(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value).startswith(self.text)


class _Suffix(_Prefix):
    __slots__ = ()

    def match(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value).endswith(self.text)


class _EqualsIgnoreCase(_Matcher):
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text.lower()

    def match(self, value: Any) -> bool:
        return isinstance(value, str) and value.lower() == self.text


class _Wildcard(_Matcher):
    __slots__ = ("regex",)

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    def match(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


class _Range(_Matcher):
    __slots__ = ("high", "high_open", "low", "low_open")

    def __init__(self, low: Decimal | None, low_open: bool, high: Decimal | None, high_open: bool) -> None:
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open

    def match(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        n = _comparable(value)
        if n is None:
            return False
        if self.low is not None and (n <= self.low if self.low_open else n < self.low):
            return False
        return self.high is None or (n < self.high if self.high_open else n <= self.high)


class _Cidr(_Matcher):
    __slots__ = ("high", "low", "version")

    def __init__(self, version: int, low: int, high: int) -> None:
        self.version, self.low, self.high = version, low, high

    def match(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        ip = _ip(value)
        return ip is not None and ip[0] == self.version and self.low <= ip[1] <= self.high


class _AnythingBut(_Matcher):
    """``anything-but`` a set of strings or a set of numbers: any present value outside the set."""

    __slots__ = ("numbers", "strings")

    def __init__(self, strings: frozenset[str], numbers: frozenset[Decimal]) -> None:
        self.strings, self.numbers = strings, numbers

    def match(self, value: Any) -> bool:
        if isinstance(value, str):
            return value not in self.strings
        if _is_number(value) and self.numbers:
            return _comparable(value) not in self.numbers
        return True


class _AnythingButSet(_Matcher):
    """``anything-but`` a set of prefixes, suffixes, case-insensitive strings or wildcards."""

    __slots__ = ("tests",)

    def __init__(self, tests: tuple[_Matcher, ...]) -> None:
        self.tests = tests

    def match(self, value: Any) -> bool:
        return not any(t.match(value) for t in self.tests)


class _Exists(_Matcher):
    __slots__ = ("needs_value", "present")

    def __init__(self, present: bool, needs_value: bool = False) -> None:
        self.present = present
        self.needs_value = needs_value

    def match(self, value: Any) -> bool:
        # a leaf is there; exists:false is decided by the field's absence
        return self.present and not (self.needs_value and (value is None or value == ""))


# --- the compiler ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """Which pattern grammar applies: EventBridge's, or the narrower ones of SNS and Lambda."""

    name: str
    error: type[PatternError] = PatternError
    wildcard: bool = True  # the wildcard operator (top level and inside anything-but)
    cidr: bool = True
    nested: bool = True  # objects inside the pattern (SNS MessageAttributes scope: no)
    nested_message: str = ""
    exists_needs_value: bool = False  # SNS: exists:true wants a non-null, non-empty value


EVENTBRIDGE = Dialect("EventBridge")

_Rule = dict[str, tuple[_Matcher, ...]]


class _Compiler:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect

    def fail(self, message: str, ptr: Pointer) -> PatternError:
        return self.d.error(message, ptr)

    # objects and $or -------------------------------------------------------------------------

    def obj(self, node: Mapping[str, Any], names: tuple[str, ...], ptr: Pointer, rules: list[_Rule],
            in_or: bool) -> list[_Rule]:
        if not node:
            raise self.fail("Empty objects are not allowed", ptr)
        for key, value in node.items():
            if not isinstance(key, str):
                raise self.fail("Field names must be strings", ptr)
            if key == "$or":
                rules = self.either(value, names, ptr + (key,), rules)
                continue
            if in_or and key in _RESERVED_IN_OR:
                raise self.fail(f"{key} is Ruler reserved fieldName which cannot be used inside $or.", ptr + (key,))
            if isinstance(value, Mapping):
                if not self.d.nested:
                    raise self.fail(self.d.nested_message, ptr + (key,))
                rules = self.obj(value, names + (key,), ptr + (key,), rules, in_or)
            elif isinstance(value, (list, tuple)):
                matchers = self.values(value, ptr + (key,))
                name = ".".join(names + (key,))
                for rule in rules:
                    rule[name] = matchers  # a later mention of a path overrides, as in event-ruler
            else:
                raise self.fail(f'"{key}" must be an object or an array', ptr + (key,))
        return rules

    def either(self, value: Any, names: tuple[str, ...], ptr: Pointer, rules: list[_Rule]) -> list[_Rule]:
        if not isinstance(value, (list, tuple)):
            raise self.fail("It must be an Array followed with $or.", ptr)
        out: list[_Rule] = []
        for i, alt in enumerate(value):
            if not isinstance(alt, Mapping):
                raise self.fail("Only JSON object is allowed in array of $or relationship.", ptr + (i,))
            out.extend(self.obj(alt, names, ptr + (i,), [dict(r) for r in rules], in_or=True))
        if len(value) < 2:
            raise self.fail("There must have at least 2 Objects in $or relationship.", ptr)
        return out

    # value lists -----------------------------------------------------------------------------

    def values(self, items: Iterable[Any], ptr: Pointer) -> tuple[_Matcher, ...]:
        out: list[_Matcher] = []
        for i, item in enumerate(items):
            p = ptr + (i,)
            if isinstance(item, Mapping):
                out.append(self.expression(item, p))
            elif item is None or isinstance(item, (str, bool)) or _is_number(item):
                if isinstance(item, float) and not math.isfinite(item):
                    raise self.fail("Match value must be String, number, true, false, or null", p)
                out.append(_Exact(item))
            else:
                raise self.fail("Match value must be String, number, true, false, or null", p)
        if not out:
            raise self.fail("Empty arrays are not allowed", ptr)
        return tuple(out)

    def expression(self, expr: Mapping[str, Any], ptr: Pointer) -> _Matcher:
        if not expr:
            raise self.fail("Match expression name not found", ptr)
        op, value = next(iter(expr.items()))
        p = ptr + (op,)
        if op == "numeric":
            matcher = self.numeric(value, p)
            if len(expr) > 1:
                raise self.fail("Too many elements in numeric expression", ptr)
            return matcher
        if op == "anything-but":
            matcher = self.anything_but(value, p)
            if len(expr) > 1:
                raise self.fail("Too many elements in numeric expression", ptr)
            return matcher
        if op in ("prefix", "suffix"):
            matcher = self.affix(op, value, p)
        elif op == "equals-ignore-case":
            if not isinstance(value, str):
                raise self.fail("equals-ignore-case match pattern must be a string", p)
            matcher = _EqualsIgnoreCase(value)
        elif op == "exists":
            if not isinstance(value, bool):
                raise self.fail("exists match pattern must be either true or false.", p)
            matcher = _Exists(value, self.d.exists_needs_value)
        elif op == "wildcard" and self.d.wildcard:
            if not isinstance(value, str):
                raise self.fail("wildcard match pattern must be a string", p)
            matcher = _Wildcard(self.wildcard(value, p))
        elif op == "cidr" and self.d.cidr:
            if not isinstance(value, str):
                raise self.fail("prefix match pattern must be a string", p)  # event-ruler's wording
            matcher = self.cidr(value, p)
        else:
            raise self.fail(f"Unrecognized match type {op}", p)
        if len(expr) > 1:
            raise self.fail("Only one key allowed in match expression", ptr)
        return matcher

    def affix(self, op: str, value: Any, ptr: Pointer) -> _Matcher:
        cls = _Prefix if op == "prefix" else _Suffix
        if isinstance(value, Mapping):
            if not value:
                raise self.fail(f"{op.capitalize()} expression name not found", ptr)
            inner, text = next(iter(value.items()))
            if inner != "equals-ignore-case":
                raise self.fail(f"Unsupported {op} pattern: {inner}", ptr + (inner,))
            if not isinstance(text, str):
                raise self.fail("equals-ignore-case match pattern must be a string", ptr + (inner,))
            if len(value) > 1:
                raise self.fail("Only one key allowed in match expression", ptr)
            return cls(text, ignore_case=True)
        if not isinstance(value, str):
            raise self.fail(f"{op} match pattern must be a string", ptr)
        return cls(value)

    def numeric(self, value: Any, ptr: Pointer) -> _Matcher:
        if not isinstance(value, (list, tuple)):
            raise self.fail("Value of numeric must be an array.", ptr)
        items = list(value)
        if not items or not isinstance(items[0], str):
            raise self.fail(f"Invalid member in numeric match: {_type_name(items[0]) if items else ']'}", ptr)
        op = items[0]
        if op not in _NUMERIC_OPS:
            raise self.fail(f"Unrecognized numeric range operator: {op}", ptr + (0,))

        def number(i: int, op: str) -> Decimal:
            if i >= len(items) or not _is_number(items[i]) or (isinstance(items[i], float)
                                                                and not math.isfinite(items[i])):
                raise self.fail(f"Value of {'equals' if op == '=' else op} must be numeric", ptr + (min(i, len(items)),))
            n = _comparable(items[i])
            if n is None:
                raise self.fail("Value must be between -5.0E9 and 5.0E9, inclusive", ptr + (i,))
            return n

        first = number(1, op)
        if op in ("=", "<", "<="):
            if len(items) > 2:
                raise self.fail("Too many elements in numeric expression", ptr)
            if op == "=":
                return _Range(first, False, first, False)
            return _Range(None, False, first, op == "<")
        if len(items) == 2:
            return _Range(first, op == ">", None, False)
        op2 = items[2]
        if not isinstance(op2, str):
            raise self.fail(f"Bad value in numeric range: {_type_name(op2)}", ptr + (2,))
        if op2 not in ("<", "<="):
            raise self.fail(f"Bad numeric range operator: {op2}", ptr + (2,))
        second = number(3, op2)
        if len(items) > 4:
            raise self.fail("Too many terms in numeric range expression", ptr)
        if second <= first:
            raise self.fail("Bottom must be less than top", ptr)
        return _Range(first, op == ">", second, op2 == "<")

    def anything_but(self, value: Any, ptr: Pointer) -> _Matcher:
        if isinstance(value, Mapping):
            if not value:
                raise self.fail("Anything-But expression name not found", ptr)
            inner, operand = next(iter(value.items()))
            allowed = ("equals-ignore-case", "prefix", "suffix") + (("wildcard",) if self.d.wildcard else ())
            if inner not in allowed:
                raise self.fail(f"Unsupported anything-but pattern: {inner}", ptr + (inner,))
            if len(value) > 1:
                raise self.fail("Too many elements in numeric expression", ptr)
            return self.anything_but_set(inner, operand, ptr + (inner,))
        if isinstance(value, (list, tuple)):
            strings: set[str] = set()
            numbers: set[Decimal] = set()
            for i, v in enumerate(value):
                if isinstance(v, str):
                    strings.add(v)
                elif _is_number(v):
                    n = _comparable(v)
                    if n is None:
                        raise self.fail("Value must be between -5.0E9 and 5.0E9, inclusive", ptr + (i,))
                    numbers.add(n)
                else:
                    raise self.fail("Inside anything but list, start|null|boolean is not supported.", ptr + (i,))
            if bool(strings) == bool(numbers):
                raise self.fail("Inside anything but list, either all values are number or string, "
                                "mixed type is not supported", ptr)
            return _AnythingBut(frozenset(strings), frozenset(numbers))
        if isinstance(value, str):
            return _AnythingBut(frozenset({value}), frozenset())
        if _is_number(value):
            n = _comparable(value)
            if n is None:
                raise self.fail("Value must be between -5.0E9 and 5.0E9, inclusive", ptr)
            return _AnythingBut(frozenset(), frozenset({n}))
        raise self.fail("Value of anything-but must be an array or single string/number value.", ptr)

    def anything_but_set(self, op: str, operand: Any, ptr: Pointer) -> _Matcher:
        if not isinstance(operand, (list, tuple, str)) and not _is_number(operand):
            raise self.fail("Value of anything-but must be an array or single string/number value.", ptr)
        items = [operand] if not isinstance(operand, (list, tuple)) else list(operand)
        tests: list[_Matcher] = []
        for i, text in enumerate(items):
            p = ptr + (i,) if isinstance(operand, (list, tuple)) else ptr
            if not isinstance(text, str):
                raise self.fail({
                    "equals-ignore-case": "Inside anything-but/equals-ignore-case list, "
                                          "number|start|null|boolean is not supported.",
                    "wildcard": "wildcard match pattern must be a string",
                }.get(op, "prefix/suffix match pattern must be a string"), p)
            if op in ("prefix", "suffix") and not text:
                raise self.fail("Null prefix/suffix not allowed", p)
            if op == "prefix":
                tests.append(_Prefix(text))
            elif op == "suffix":
                tests.append(_Suffix(text))
            elif op == "equals-ignore-case":
                tests.append(_EqualsIgnoreCase(text))
            else:
                tests.append(_Wildcard(self.wildcard(text, p)))
        return _AnythingButSet(tuple(tests))

    def wildcard(self, text: str, ptr: Pointer) -> re.Pattern[str]:
        # event-ruler: '*' is any run of characters (possibly empty); '\*' and '\\' escape;
        # two '*' in a row and any other escape are errors.  Positions count UTF-8 bytes of
        # the value *with* its opening quote, as event-ruler reports them.
        parts: list[str] = []
        pos = 1
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "*":
                if i + 1 < len(text) and text[i + 1] == "*":
                    raise self.fail(f"Consecutive wildcard characters at pos {pos}", ptr)
                parts.append(".*")
            elif ch == "\\":
                if i + 1 < len(text) and text[i + 1] in "*\\":
                    parts.append(re.escape(text[i + 1]))
                    pos += 1
                    i += 1
                else:
                    raise self.fail(f"Invalid escape character at pos {pos}", ptr)
            else:
                parts.append(re.escape(ch))
            pos += len(ch.encode("utf-8"))
            i += 1
        return re.compile("".join(parts), re.DOTALL)

    def cidr(self, text: str, ptr: Pointer) -> _Matcher:
        pieces = text.split("/")
        if len(pieces) != 2:
            raise self.fail("Malformed CIDR, one '/' required", ptr)
        try:
            bits = int(pieces[1])
        except ValueError:
            raise self.fail("Malformed CIDR, mask bits must be an integer", ptr) from None
        if bits < 0:
            raise self.fail("Malformed CIDR, mask bits must not be negative", ptr)
        address = pieces[0]
        if not (_IPV4.fullmatch(address) or _IPV6.fullmatch(address)):
            raise self.fail(f"Nonstandard IP address: {address}", ptr)
        ip = _ip(address)
        if ip is None:
            raise self.fail(f"Invalid IP address: {address}", ptr)
        version, base = ip
        width = 32 if version == 4 else 128
        if bits >= width:
            raise self.fail(f"IPv{version} mask bits must be < {width}", ptr)
        # event-ruler's range runs from the address as written (not masked) to its broadcast
        return _Cidr(version, base, base | ((1 << (width - bits)) - 1))


def compile_rules(pattern: Any, dialect: Dialect) -> tuple[_Rule, ...]:
    """Validate ``pattern`` (a mapping, or its JSON text) under ``dialect`` → its alternatives."""
    if isinstance(pattern, (str, bytes)):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            raise dialect.error("Filter is not valid JSON") from None
    if not isinstance(pattern, Mapping):
        raise dialect.error("Filter is not an object")
    return tuple(_Compiler(dialect).obj(pattern, (), (), [{}], in_or=False))


# --- matching -------------------------------------------------------------------------------------

_Field = tuple[str, tuple[_Matcher, ...], tuple[_Matcher, ...], bool]  # name, all, value matchers, absent ok
_Leaves = dict[str, list[tuple[Any, tuple[tuple[int, int], ...]]]]


class EventPattern:
    """A validated EventBridge event pattern; :meth:`matches` tells whether an event matches.

    Build one with :func:`compile_pattern`.  Matching never mutates the event and never
    raises for an event of an unexpected shape: it simply does not match.
    """

    __slots__ = ("_branches", "_prefixes", "pattern")

    def __init__(self, pattern: Mapping[str, Any], rules: Iterable[_Rule]) -> None:
        self.pattern = pattern
        branches: list[tuple[_Field, ...]] = []
        prefixes: set[str] = set()
        for rule in rules:
            fields: list[_Field] = []
            for name, matchers in rule.items():
                value_matchers = tuple(m for m in matchers if not (isinstance(m, _Exists) and not m.present))
                absent_ok = len(value_matchers) < len(matchers)
                fields.append((name, matchers, value_matchers, absent_ok))
                parts = name.split(".")
                prefixes.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            branches.append(tuple(fields))
        self._branches = tuple(branches)
        self._prefixes = frozenset(prefixes)

    def __repr__(self) -> str:
        return f"EventPattern({json.dumps(self.pattern, default=str)})"

    def matches(self, event: Mapping[str, Any] | str) -> bool:
        """True if ``event`` (a JSON object, as a mapping or as text) matches the pattern."""
        if isinstance(event, (str, bytes)):
            try:
                event = json.loads(event)
            except ValueError:
                return False
        if not isinstance(event, Mapping):
            return False
        leaves = self._leaves(event)
        return any(_match_branch(branch, leaves) for branch in self._branches)

    def explain(self, event: Mapping[str, Any]) -> PatternMiss | None:
        """Why ``event`` does not match: the fields of the closest alternative (``$or``) that
        refuse it, each with the event's value and what the pattern wants; None if it matches.

        For messages ("the rule wants detail-type "OrderPlaced", the event has "OrderCreated""),
        not for deciding: :meth:`matches` decides.
        """
        if not isinstance(event, Mapping) or self.matches(event):
            return None
        leaves = self._leaves(event)
        best: PatternMiss | None = None
        for branch in self._branches:
            refused: list[tuple[str, str]] = []
            for name, _all, value_matchers, absent_ok in branch:
                found = leaves.get(name)
                wants = self._wanted(name)
                if not found:
                    if not absent_ok:
                        refused.append((name, f"the event has no {name}" + (f"; the pattern wants {wants}" if wants else "")))
                    continue
                if not any(m.match(value) for value, _ in found for m in value_matchers):
                    has = ", ".join(dict.fromkeys(json.dumps(v, default=str) for v, _ in found[:3]))
                    refused.append((name, f"the event has {name} {has}" + (f"; the pattern wants {wants}" if wants else "")))
            miss = PatternMiss(len(branch) - len(refused), len(branch), tuple(refused) or (
                ("", "each field matches, but not within one element of an array (fields matched together must "
                     "come from the same element)"),))
            if best is None or (miss.matched / max(miss.total, 1)) > (best.matched / max(best.total, 1)):
                best = miss
        return best

    def _wanted(self, name: str) -> str | None:
        """The pattern's values for a flattened field name, as written (None under ``$or``)."""
        node: Any = self.pattern
        for part in name.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        if isinstance(node, list) and len(node) == 1:
            return json.dumps(node[0], default=str)
        return f"one of {json.dumps(node, default=str)}" if isinstance(node, list) else None

    def _leaves(self, event: Mapping[str, Any]) -> _Leaves:
        """The event's leaves under the pattern's paths, each with the array elements it sits in."""
        leaves: _Leaves = {}
        arrays = [0]
        prefixes = self._prefixes

        def walk(node: Any, name: str, where: tuple[tuple[int, int], ...]) -> None:
            if isinstance(node, Mapping):
                for key, value in node.items():
                    child = f"{name}.{key}" if name else str(key)
                    if child in prefixes:
                        walk(value, child, where)
            elif isinstance(node, (list, tuple)):
                arrays[0] += 1
                array = arrays[0]
                for i, item in enumerate(node):
                    walk(item, name, where + ((array, i),))
            else:
                leaves.setdefault(name, []).append((node, where))

        walk(event, "", ())
        return leaves


@dataclass(frozen=True)
class PatternMiss:
    """The closest a pattern came to an event: ``matched`` of ``total`` fields, and why each
    refusing field refused (``(field, reason)``; field ``""`` for an array-consistency miss)."""

    matched: int
    total: int
    refused: tuple[tuple[str, str], ...]

    @property
    def closeness(self) -> float:
        """The share of fields that matched, 0..1."""
        return self.matched / self.total if self.total else 0.0


def _match_branch(fields: tuple[_Field, ...], leaves: _Leaves) -> bool:
    # Each field needs one leaf that one of its matchers accepts, and every leaf chosen must
    # sit in the same element of any array they share (event-ruler's array consistency).
    options: list[list[tuple[tuple[int, int], ...]] | None] = []
    for name, _all, value_matchers, absent_ok in fields:
        found = leaves.get(name)
        if not found:
            if not absent_ok:
                return False
            options.append(None)  # satisfied by absence: no constraint on array elements
            continue
        hits = [where for value, where in found if any(m.match(value) for m in value_matchers)]
        if not hits:
            return False
        options.append(hits)
    constrained = [o for o in options if o is not None]
    if len(constrained) <= 1:
        return True

    def solve(k: int, chosen: dict[int, int]) -> bool:
        if k == len(constrained):
            return True
        for where in constrained[k]:
            if all(chosen.get(a, i) == i for a, i in where) and solve(k + 1, {**chosen, **dict(where)}):
                return True
        return False

    return solve(0, {})


def compile_pattern(pattern: Mapping[str, Any] | str) -> EventPattern:
    """Validate an EventBridge event pattern (a mapping, or its JSON text) with AWS's rules.

    Raises :class:`PatternError` for a pattern EventBridge would refuse (``PutRule``'s
    ``InvalidEventPatternException``); the error's ``path`` locates the problem.
    """
    rules = compile_rules(pattern, EVENTBRIDGE)
    source = json.loads(pattern) if isinstance(pattern, (str, bytes)) else pattern
    return EventPattern(source, rules)

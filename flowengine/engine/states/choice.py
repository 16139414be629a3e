"""Choice: picks the next state from the first rule that matches, else ``Default``.

JSONPath rules compare ``Variable`` with a literal (``StringEquals``) or with another path
(``StringEqualsPath``), test types (``IsNull`` ... ``IsTimestamp``) and combine with
``And``/``Or``/``Not``.  A comparison between values of different types is simply false.
JSONata rules evaluate ``Condition``.  A rule's ``Assign``/``Output`` apply when it matches;
the state's own apply when ``Default`` is taken.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flowengine.engine.errors import DefinitionError
from flowengine.model.failure import (
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    StatesFailure,
)
from flowengine.lang.jsonpath import PathNotFound, compile_path, dumps
from flowengine.engine.states.base import (
    Node,
    Outcome,
    compile_assign,
    compile_jsonata,
    jsonata_states,
)
from flowengine.model.asl import ABSENT, ChoiceRule, ChoiceState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler
    from flowengine.engine.scope import Scope

Test = Callable[[Any, Any], bool]

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (uppercase ``T``; ``Z`` or a numeric offset), else None."""
    if not isinstance(value, str):
        return None
    m = _TIMESTAMP.match(value)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=timezone.utc)
    except ValueError:
        return None
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        from datetime import timedelta

        dt -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return dt


def string_matches(value: str, pattern: str) -> bool:
    """ASL StringMatches: ``*`` matches any run of characters; ``\\*`` and ``\\\\`` escape."""
    rx = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            rx.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        rx.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.fullmatch("".join(rx), value, flags=re.S) is not None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_CMP = {
    "Equals": operator.eq, "LessThan": operator.lt, "GreaterThan": operator.gt,
    "LessThanEquals": operator.le, "GreaterThanEquals": operator.ge,
}


def _boolean_equals(a: Any, b: Any) -> bool:
    return isinstance(a, bool) and isinstance(b, bool) and a is b


def _string_matches(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and string_matches(a, b)


def _typed_comparator(kind: str, cmp: Callable[[Any, Any], bool]) -> Test:
    if kind == "String":
        def strings(a: Any, b: Any) -> bool:
            return isinstance(a, str) and isinstance(b, str) and cmp(a, b)
        return strings
    if kind == "Numeric":
        def numbers(a: Any, b: Any) -> bool:
            return _is_number(a) and _is_number(b) and cmp(a, b)
        return numbers

    def timestamps(a: Any, b: Any) -> bool:
        x = parse_timestamp(a)
        if x is None:
            return False
        y = parse_timestamp(b)
        return y is not None and cmp(x, y)

    return timestamps


def _comparator(op: str) -> Test:
    """(variable value, comparison value) → bool, false on a type mismatch."""
    if op == "BooleanEquals":
        return _boolean_equals
    if op == "StringMatches":
        return _string_matches
    for kind in ("String", "Numeric", "Timestamp"):
        if op.startswith(kind):
            cmp = _CMP[op[len(kind):]]
            return _typed_comparator(kind, cmp)
    raise ValueError(f"unknown comparison operator {op}")


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}

_MISSING = object()


def _invalid_path(text: str) -> StatesFailure:
    return StatesFailure(RUNTIME,
                         f"Invalid path '{text}': The choice state's condition path references an invalid value.")


def compile_rule(rule: ChoiceRule) -> Test:
    """A JSONPath rule → ``test(effective_input, scope) -> bool``."""
    if rule.and_ is not None:
        parts = [compile_rule(r) for r in rule.and_]
        return lambda inp, scope: all(p(inp, scope) for p in parts)
    if rule.or_ is not None:
        parts = [compile_rule(r) for r in rule.or_]
        return lambda inp, scope: any(p(inp, scope) for p in parts)
    if rule.not_ is not None:
        inner = compile_rule(rule.not_)
        return lambda inp, scope: not inner(inp, scope)
    op = rule.operator
    if op is None or not isinstance(rule.variable, str):
        raise DefinitionError("a Choice rule needs a Variable and a comparison operator, or And/Or/Not")
    var_text = rule.variable
    var_path = compile_path(var_text)

    def variable(inp: Any, scope: Any) -> Any:
        try:
            return var_path.resolve(inp, scope.context, scope.variables)
        except PathNotFound:
            return _MISSING

    value = rule.value
    if op == "IsPresent":
        return lambda inp, scope: (variable(inp, scope) is not _MISSING) is bool(value)
    if op in _TYPE_TESTS:
        test_type = _TYPE_TESTS[op]

        def type_test(inp: Any, scope: Any) -> bool:
            v = variable(inp, scope)
            if v is _MISSING:
                raise _invalid_path(var_text)
            return test_type(v) is bool(value)

        return type_test
    path_operand = op.endswith("Path")
    compare = _comparator(op[:-4] if path_operand else op)
    if path_operand:
        if not isinstance(value, str):
            raise DefinitionError(f"{op} needs a path, got {value!r}")
        operand_path = compile_path(value)

        def compare_path(inp: Any, scope: Any) -> bool:
            v = variable(inp, scope)
            if v is _MISSING:
                raise _invalid_path(var_text)
            try:
                other = operand_path.resolve(inp, scope.context, scope.variables)
            except PathNotFound:
                raise _invalid_path(operand_path.text) from None
            return compare(v, other)

        return compare_path

    def compare_value(inp: Any, scope: Any) -> bool:
        v = variable(inp, scope)
        if v is _MISSING:
            raise _invalid_path(var_text)
        return compare(v, value)

    return compare_value


class _Branch:
    __slots__ = ("test", "condition", "next_name", "next", "assign", "output")

    def __init__(self, rule: ChoiceRule, jsonata: bool) -> None:
        self.next_name = rule.next
        self.next: Node | None = None
        if jsonata:
            self.test = None
            self.condition = compile_jsonata(rule.condition, "Condition")
            self.output = compile_jsonata(rule.output, "Output")
        else:
            self.test = compile_rule(rule)
            self.condition = None
            self.output = None
        self.assign = compile_assign(rule.assign, jsonata)


class ChoiceNode(Node):
    type = "Choice"

    def __init__(self, state: ChoiceState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.branches = [_Branch(r, self.jsonata) for r in state.choices]
        self.default_name = state.default
        self.default: Node | None = None

    def targets(self) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = [(b.next_name, b, "next") for b in self.branches if b.next_name]
        if self.default_name is not None:
            out.append((self.default_name, self, "default"))
        return out

    def run(self, scope: "Scope", data: Any) -> Outcome:
        scope.enter(self, data)
        try:
            if self.jsonata:
                nxt, out, assigned = self._jsonata(scope, data)
            else:
                effective = self.input_path(data, scope) if self.input_path is not None else data
                nxt, assign = self._choose(scope, effective)
                assigned = assign.build(effective, scope) if assign is not None else None
                out = self.output_path(effective, scope) if self.output_path is not None else effective
        except StatesFailure as failure:
            raise scope.locate(failure) from None
        scope.exit(self, out, assigned)
        return nxt, out

    def _choose(self, scope: "Scope", effective: Any) -> tuple[Node | None, Any]:
        for b in self.branches:
            if b.test(effective, scope):  # type: ignore[misc]
                return b.next, b.assign
        if self.default_name is None:
            raise StatesFailure(NO_CHOICE_MATCHED, "No Matches!")
        return self.default, self.assign

    def _jsonata(self, scope: "Scope", data: Any) -> tuple[Node | None, Any, Any]:
        states = jsonata_states(scope, data)
        for b in self.branches:
            ok = scope.jsonata(b.condition, states) if b.condition is not None else False
            if not isinstance(ok, bool):
                if b.condition is not None and b.condition.expression is not None:
                    raise b.condition.type_failure("boolean", ok)
                raise StatesFailure(QUERY_EVALUATION_ERROR,
                                    f"The Condition field must be a boolean but was: {dumps(ok)}")
            if ok:
                assigned = scope.jsonata(b.assign, states) if b.assign is not None else None
                out = scope.jsonata(b.output, states) if b.output is not None else data
                return b.next, out, assigned
        if self.default_name is None:
            raise StatesFailure(NO_CHOICE_MATCHED, "No Matches!")
        assigned = scope.jsonata(self.assign, states) if self.assign is not None else None
        out = scope.jsonata(self.output, states) if self.output is not None else data
        return self.default, out, assigned


__all__ = ["ChoiceNode", "compile_rule", "parse_timestamp", "string_matches", "ABSENT"]

"""JSONata templates as AWS Step Functions evaluates them (flowengine.lang.jsonata).

Unit tests for the template API, AWS's custom functions, the cause wording and the value
normalisation, then the recorded AWS executions of ``shared/conformance`` tagged ``jsonata``
that a small Pass/Choice/Succeed/Fail runner written here can drive.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine.lang import jsonata as ja
from flowengine.model.failure import QUERY_EVALUATION_ERROR, StatesFailure
from flowengine.lang.jsonata import JsonataSyntaxError, check_syntax, compile_template, is_expression

REPO = Path(__file__).resolve().parents[2]
STATES = {"input": {"a": [1, 2, 3], "n": 5, "f": 1.0, "s": "abc", "nul": None, "o": {"k": "v"}}, "context": {}}


def run(value: Any, variables: dict[str, Any] | None = None, *, field: str = "Output", states: dict[str, Any] | None = None,
        seed: int = 7, now: datetime | None = None) -> Any:
    """Compile and evaluate one field value."""
    template = compile_template(value, field)
    return template.evaluate(states or STATES, variables or {}, random.Random(seed), now=now)


def cause_of(value: Any, variables: dict[str, Any] | None = None, *, field: str = "Output") -> str:
    """The cause of the QueryEvaluationError a field value fails with."""
    with pytest.raises(StatesFailure) as info:
        run(value, variables, field=field)
    assert info.value.error == QUERY_EVALUATION_ERROR
    assert isinstance(info.value.cause, str)
    return info.value.cause


# --------------------------------------------------------------------------------------------
# What is an expression
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("{% $x %}", True),
    ("{%$x%}", True),
    ("{%  $x\n %}", True),
    (" {% $x %}", False),       # AWS: no leading blanks outside the delimiters
    ("{% $x %} ", False),
    ("{% $x", False),
    ("{%}", False),
    ("$states.input", False),
    ("text {% $x %} text", False),
    (3, False),
    (None, False),
])
def test_is_expression_follows_aws_rule(text: Any, expected: bool) -> None:
    assert is_expression(text) is expected


def test_strings_that_only_contain_the_delimiters_stay_literal() -> None:
    value = {"a": " {% states.input %} ", "b": "$states.input", "c": ["{% x", "States.Format('{}', 1)"]}
    template = compile_template(value, "Output")
    assert template.is_constant
    assert template.evaluate(STATES, {}, random.Random(0)) == value


# --------------------------------------------------------------------------------------------
# Compile once, import lazily, no state between evaluations
# --------------------------------------------------------------------------------------------


def test_expressions_are_parsed_at_compile_and_never_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonata

    parsed: list[str] = []
    original = jsonata.Jsonata.__init__

    def counting_init(self: Any, expr: Any, *args: Any, **kwargs: Any) -> None:
        parsed.append(expr)
        original(self, expr, *args, **kwargs)

    monkeypatch.setattr(jsonata.Jsonata, "__init__", counting_init)
    template = compile_template({"a": "{% $states.input.n %}", "b": ["{% $x %}", 2], "c": "literal"}, "Output")
    assert len(parsed) == 2
    for number in range(5):
        assert template.evaluate(STATES, {"x": number}, random.Random(0)) == {"a": 5, "b": [number, 2], "c": "literal"}
    assert len(parsed) == 2


def test_importing_the_module_does_not_import_jsonata() -> None:
    code = ("import sys, flowengine.lang.jsonata as j; "
            "t = j.compile_template({'a': [1, 'x']}, 'Output'); "
            "assert t.is_constant and 'jsonata' not in sys.modules, sorted(m for m in sys.modules if 'jsonata' in m); "
            "j.compile_template('{% 1 %}'); assert 'jsonata' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_constant_templates_return_fresh_copies() -> None:
    template = compile_template({"list": [1, {"k": "v"}]}, "Output")
    first = template.evaluate(STATES, {}, random.Random(0))
    first["list"][1]["k"] = "changed"
    assert template.evaluate(STATES, {}, random.Random(0)) == {"list": [1, {"k": "v"}]}


def test_results_do_not_alias_the_input() -> None:
    states = {"input": {"o": {"k": [1, 2]}}, "context": {}}
    result = run("{% $states.input.o %}", states=states)
    result["k"].append(3)
    assert states["input"] == {"o": {"k": [1, 2]}}


def test_bindings_made_by_one_expression_do_not_reach_another() -> None:
    template = compile_template({"a": "{% $y := 1 %}", "b": "{% $exists($y) %}"}, "Output")
    assert template.evaluate(STATES, {}, random.Random(0)) == {"a": 1, "b": False}
    block = compile_template("{% ($z := $states.input.n; $z * 2) %}", "Output")
    probe = compile_template("{% $exists($z) %}", "Output")
    assert block.evaluate(STATES, {}, random.Random(0)) == 10
    assert probe.evaluate(STATES, {}, random.Random(0)) is False


def test_interleaved_asyncio_evaluations_keep_their_own_inputs() -> None:
    template = compile_template({"n": "{% $states.input.n %}", "v": "{% $v %}", "id": "{% $uuid() %}"}, "Output")

    async def one(number: int) -> dict[str, Any]:
        await asyncio.sleep(0)
        states = {"input": {"n": number}, "context": {}}
        value = template.evaluate(states, {"v": -number}, random.Random(number))
        await asyncio.sleep(0)
        return value

    async def many() -> list[dict[str, Any]]:
        return await asyncio.gather(*(one(number) for number in range(50)))

    results = asyncio.run(many())
    for number, value in enumerate(results):
        assert value["n"] == number and value["v"] == -number
        assert value["id"] == run("{% $uuid() %}", seed=number)


def test_threads_share_one_template_safely() -> None:
    template = compile_template("{% $map($states.input.items, function($i){ $i * $k }) %}", "Output")

    def one(number: int) -> list[int]:
        states = {"input": {"items": [number, number + 1, number + 2]}, "context": {}}
        return template.evaluate(states, {"k": number}, random.Random(0))  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(200)))
    assert results == [[n * n, (n + 1) * n, (n + 2) * n] for n in range(200)]


# --------------------------------------------------------------------------------------------
# $states, variables and normalisation
# --------------------------------------------------------------------------------------------


def test_states_and_variables_are_visible() -> None:
    value = {"in": "{% $states.input.s %}", "var": "{% $who %}", "sum": "{% $sum($states.input.a) + $k %}"}
    assert run(value, {"who": "me", "k": 4}) == {"in": "abc", "var": "me", "sum": 10}


def test_null_is_a_value_and_undefined_is_not() -> None:
    assert run("{% $states.input.nul %}") is None
    assert run({"v": "{% $nullVar %}"}, {"nullVar": None}) == {"v": None}
    assert run("{% [$states.input.nul, 1] %}") == [None, 1]
    assert run("{% $type($nullVar) %}", {"nullVar": None}) == "null"


def test_numbers_are_normalised_as_json_has_them() -> None:
    assert run("{% $states.input.f %}") == 1 and isinstance(run("{% $states.input.f %}"), int)
    assert isinstance(run("{% 1.5 * 2 %}"), int)
    assert run("{% 0.1 %}") == 0.1
    assert run("{% 1e300 %}") == 1e300 and isinstance(run("{% 1e300 %}"), float)
    assert run("{% $sum([0.5, 0.5]) %}") == 1
    assert run("{% $states.input.big %}", states={"input": {"big": 2 ** 63 - 1}}) == 2 ** 63 - 1


def test_sequences_become_plain_lists() -> None:
    result = run({"filtered": "{% $states.input.a[$ > 1] %}", "range": "{% [1..3] %}", "one": "{% $states.input.a[0] %}"})
    assert result == {"filtered": [2, 3], "range": [1, 2, 3], "one": 1}
    assert type(result["filtered"]) is list and type(result["range"]) is list


def test_expressions_have_no_context_item() -> None:
    assert cause_of("{% a %}").endswith("returned nothing (undefined).")


# --------------------------------------------------------------------------------------------
# Causes, worded as AWS words them
# --------------------------------------------------------------------------------------------


def test_undefined_result_names_expression_and_field() -> None:
    assert cause_of({"result": "{% $doesNotExist %}"}) == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).")
    assert cause_of({"result": "{% $doesNotExist %}"}, field="Assign") == (
        "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined).")
    assert cause_of({"a": {"b": ["x", "{%  $nope  %}"]}}) == (
        "The JSONata expression '$nope' specified for the field 'Output/a/b[1]' returned nothing (undefined).")
    assert cause_of("{% $states.input.a[$ > 9] %}").startswith(
        "The JSONata expression '$states.input.a[$ > 9]' specified for the field 'Output' returned nothing")


def test_errors_carry_the_jsonata_code_and_jsonata_js_message() -> None:
    assert cause_of({"FunctionResult": "{% $randomSeeded($states.input.n) %}"}) == (
        "The JSONata expression '$randomSeeded($states.input.n)' specified for the field 'Output/FunctionResult' "
        "threw an error during evaluation. T1006: Attempted to invoke a non-function")
    assert cause_of("{% 'a' + 1 %}").endswith(
        'threw an error during evaluation. T2001: The left side of the "+" operator must evaluate to a number')
    assert cause_of("{% 1 - 'a' %}").endswith(
        'T2002: The right side of the "-" operator must evaluate to a number')
    assert cause_of("{% $sum('a') %}").endswith('T0412: Argument 1 of function "sum" must be an array of "numbers"')
    assert cause_of("{% $abs('a') %}").endswith('T0410: Argument 1 of function "abs" does not match function signature')
    assert cause_of("{% $error('boom') %}").endswith("threw an error during evaluation. D3137: boom")
    assert cause_of("{% -'a' %}").endswith('D1002: Cannot negate a non-numeric value: "a"')
    assert cause_of("{% 1 < 'a' %}").endswith(
        'T2009: The values 1 and "a" either side of operator "<" must be of the same data type')


def test_eval_is_disabled() -> None:
    assert cause_of("{% $eval('1 + 1') %}").endswith("T1006: Attempted to invoke a non-function")


def test_function_results_are_unsupported() -> None:
    assert cause_of("{% $fn := function($x){$x} %}", field="Items") == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an unsupported "
        "result type.")
    assert cause_of("{% $string %}").endswith("returned an unsupported result type.")


def test_type_failure_words_the_items_cause() -> None:
    for expression, value, text in [("true", True, "'boolean' for value: true"),
                                     ("{'foo': 'bar'}", {"foo": "bar"}, "'object' for value: {\"foo\":\"bar\"}"),
                                     ("'string'", "string", "'string' for value: \"string\""),
                                     ("null", None, "'null' for value: null"), ("1", 1, "'number' for value: 1")]:
        template = compile_template("{% " + expression + " %}", "Items")
        assert template.expression == expression
        failure = template.type_failure("array", template.evaluate(STATES, {}, random.Random(0)))
        assert failure.error == QUERY_EVALUATION_ERROR
        assert failure.cause == (f"The JSONata expression '{expression}' specified for the field 'Items' returned an "
                                 f"unexpected result type. Expected 'array', but was {text}")
    assert ja.json_type_name([1]) == "array"


def test_depth_is_bounded_as_on_aws() -> None:
    assert run("{% " + "+".join(["1"] * 100) + " %}") == 100
    assert "Stack overflow error" in cause_of("{% " + "+".join(["1"] * 101) + " %}")
    recursive = "{% ($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(N)) %}"
    assert run(recursive.replace("N", "31")) == 31
    assert cause_of(recursive.replace("N", "32")).endswith("Depth=101 max=100")


def test_run_time_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ja, "EVALUATION_TIMEOUT_SECONDS", 0.05)
    cause = cause_of("{% ($loop := function($n){ $loop($n + 1) }; $loop(0)) %}")
    assert cause.endswith("threw an error during evaluation: Expression evaluation timeout: Check for infinite loop")


# --------------------------------------------------------------------------------------------
# Syntax errors at compile time
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression, message, offset, code", [
    (" a[1,2) ", 'Expected "]", got ","', 4, "S0202"),
    ("\"unterminated", "String literal must be terminated by a matching quote", 13, "S0101"),
    ("1 +", "Unexpected end of expression", 3, "S0207"),
    ("{\"a\":}", 'The symbol "}" cannot be used as a unary operator', 5, "S0211"),
    ("$match(\"a\", /abc", "No terminating / in regular expression", 16, "S0302"),
    ("", "Unexpected end of expression", 0, "S0207"),
    ("1 /* open", "Comment has no closing tag", 2, "S0106"),
    ("$a ?? $b", 'The symbol "?" cannot be used as a unary operator', 4, "S0211"),
    ("$a ?: $b", 'The symbol ":" cannot be used as a unary operator', 4, "S0211"),
])
def test_syntax_errors_read_as_aws_reports_them(expression: str, message: str, offset: int, code: str) -> None:
    error = check_syntax("{%" + expression + "%}")
    assert error is not None
    assert (error.message, error.offset, error.code) == (message, offset, code)
    assert check_syntax(expression) is not None  # the bare text is accepted too


def test_newer_operators_inside_strings_and_regexes_are_fine() -> None:
    assert check_syntax("{% '??' & \"?:\" %}") is None
    assert check_syntax("{% $contains('a?', /a??/) %}") is None
    assert check_syntax("{% $x ? 1 : 2 %}") is None
    assert check_syntax("{% 6 / 2 ?: 1 %}") is not None


def test_compile_reports_the_field_path_and_a_hint() -> None:
    with pytest.raises(JsonataSyntaxError) as info:
        compile_template({"ok": "{% 1 %}", "bad": ["{% [1, 2 %}"]}, "Arguments")
    error = info.value
    assert isinstance(error, ValueError)
    assert error.path == "Arguments/bad[0]" and error.expression == "[1, 2"
    assert error.message == 'Expected "]" before end of expression' and error.hint


def test_valid_expression_has_no_syntax_error() -> None:
    assert check_syntax("{% $states.input.items[price > 3].name %}") is None


# --------------------------------------------------------------------------------------------
# references()
# --------------------------------------------------------------------------------------------


def test_references_are_the_free_workflow_variables() -> None:
    template = compile_template({
        "a": "{% $foo + $bar.baz %}",
        "b": ["{% ($q := 1; $q + $zed) %}", "{% $map($arr, function($v){ $v + $w }) %}"],
        "c": "{% $states.input.x@$o.{'k': $o, 'n': $count($cnt)} %}",
        "d": "{% $uuid() & $string($s) & $ %}",
        "e": "plain",
    }, "Output")
    assert template.references() == {"foo", "bar", "zed", "arr", "w", "cnt", "s"}
    assert compile_template({"x": 1}, "Output").references() == set()


# --------------------------------------------------------------------------------------------
# The functions Step Functions adds
# --------------------------------------------------------------------------------------------


def test_partition() -> None:
    assert run("{% $partition([1, 2, 3, 4, 5], 2) %}") == [[1, 2], [3, 4], [5]]
    assert run("{% $partition([0], 1) %}") == [[0]]
    assert run("{% $partition([1, 2, 3], 2.9) %}") == [[1, 2], [3]]
    assert run("{% $partition($states.input.a, 5) %}") == [[1, 2, 3]]
    for undefined in ("$partition([], 2)", "$partition([1], 0)", "$partition([1], -1)", "$partition([1])"):
        assert cause_of("{% " + undefined + " %}").endswith("returned nothing (undefined).")
    assert cause_of("{% $partition([1], 'x') %}").endswith(
        'T0410: Argument 2 of function "partition" does not match function signature')


def test_range() -> None:
    assert run("{% $range(0, 9, 3) %}") == [0, 3, 6, 9]
    assert run("{% $range(0, 10, 3) %}") == [0, 3, 6, 9]
    assert run("{% $range(9, 1, -2) %}") == [9, 7, 5, 3, 1]
    assert run("{% $range(1, 9, 9) %}") == 1  # a one-element range is the bare number, as AWS records
    assert run("{% $range(-1.7, 2, 1) %}") == [-1, 0, 1, 2]
    assert run("{% [$range(7, 7, 1)] %}") == [7]
    for undefined in ("$range(3, 1, 1)", "$range(1, 3, -1)", "$range(0, 4, 0)", "$range(0, 4)"):
        assert cause_of("{% " + undefined + " %}").endswith("returned nothing (undefined).")
    assert cause_of("{% $range('0', 4, 1) %}").endswith(
        'threw an error during evaluation. T0410: Argument 1 of function "range" does not match function signature')
    assert cause_of("{% $range(0, 4, 1, 2) %}").endswith('T0410: Argument 4 of function "range" does not match '
                                                         'function signature')
    assert "memory limit exceeded" in cause_of("{% $range(1, 1000000, 1) %}")


@pytest.mark.parametrize("algorithm, python_name", [("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256"),
                                                    ("SHA-384", "sha384"), ("SHA-512", "sha512")])
def test_hash(algorithm: str, python_name: str) -> None:
    expected = hashlib.new(python_name, "input ü".encode()).hexdigest()
    assert run("{% $hash($t, $alg) %}", {"t": "input ü", "alg": algorithm}) == expected


def test_hash_edges() -> None:
    assert run("{% $hash('input', 'SHA-1') %}") == "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"
    assert cause_of("{% $hash('input') %}").endswith("returned nothing (undefined).")
    assert "'sha-1' is not supported" in cause_of("{% $hash('input', 'sha-1') %}")
    assert cause_of("{% $hash(1, 'MD5') %}").endswith('Argument 1 of function "hash" does not match function signature')


def test_random_unseeded_draws_from_the_engine_source() -> None:
    values = run(["{% $random() %}", "{% $random() %}"], seed=11)
    source = random.Random(11)
    assert values == [source.random(), source.random()]
    assert all(0 <= value < 1 for value in values)


def test_random_seeded_is_java_util_random() -> None:
    assert run("{% $random(42) %}") == 0.7275636800328681  # new java.util.Random(42).nextDouble()
    assert run("{% $random(42.9) %}") == run("{% $random(42) %}")
    assert run("{% $random(7) %}", seed=1) == run("{% $random(7) %}", seed=2)
    assert cause_of("{% $random('x') %}").endswith('Argument 1 of function "random" does not match function signature')


def test_uuid_is_v4_from_the_engine_source() -> None:
    value = run("{% $uuid() %}", seed=5)
    parsed = uuid.UUID(value)
    assert parsed.version == 4 and str(parsed) == value
    assert value == str(uuid.UUID(int=random.Random(5).getrandbits(128), version=4))
    assert run("{% $uuid() %}", seed=5) == value and run("{% $uuid() %}", seed=6) != value
    assert cause_of("{% $uuid(1) %}").endswith('Argument 1 of function "uuid" does not match function signature')


@pytest.mark.parametrize("text, expected", [("-0", 0), ("1", 1), ("1.1", 1.1), ("true", True), ('"HelloWorld"', "HelloWorld"),
                                            ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
                                            ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}), ("null", None)])
def test_parse(text: str, expected: Any) -> None:
    assert run("{% $parse($t) %}", {"t": text}) == expected


def test_parse_failures() -> None:
    assert "not a valid JSON string" in cause_of("{% $parse('{bad') %}")
    assert "not a valid JSON string" in cause_of("{% $parse('NaN') %}")
    assert cause_of("{% $parse(1) %}").endswith('Argument 1 of function "parse" does not match function signature')
    assert run("{% $parse('{\"a\": {\"b\": 2}}').a.b %}") == 2


def test_now_and_millis_read_the_engine_clock() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    assert run("{% $now() %}", now=now) == "2024-05-06T07:08:09.123Z"
    assert run("{% $millis() %}", now=now) == 1714979289123
    assert run("{% $now('[Y0001]-[M01]-[D01]') %}", now=now) == "2024-05-06"
    assert run("{% $now() %}") == "1970-01-01T00:00:00.000Z"  # the default clock
    assert run("{% $millis() %}", now=datetime(1970, 1, 1, 0, 0, 1)) == 1000  # naive means UTC


def test_shuffle_uses_the_engine_source() -> None:
    first = run("{% $shuffle([1, 2, 3, 4, 5, 6]) %}", seed=3)
    assert sorted(first) == [1, 2, 3, 4, 5, 6]
    assert run("{% $shuffle([1, 2, 3, 4, 5, 6]) %}", seed=3) == first


def test_reserved_names_win_over_variables() -> None:
    assert run("{% $states.input.n %}", {"states": {"input": {"n": 0}}}) == 5
    assert run("{% $count($c) %}", {"c": [1, 2]}) == 2


# --------------------------------------------------------------------------------------------
# The recorded AWS executions
# --------------------------------------------------------------------------------------------


def _conformance_dir() -> Path | None:
    for candidate in (REPO / "tests" / "conformance", REPO.parent / "shared" / "conformance",
                      Path("/work/shared/conformance")):
        if (candidate / "compare.py").is_file() and (candidate / "cases").is_dir():
            return candidate
    return None


def _jsonata_case_files() -> list[Any]:
    folder = _conformance_dir()
    if folder is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no conformance corpus (tests/conformance or "
                                                                  "shared/conformance)"), id="no-corpus")]
    files = []
    for path in sorted((folder / "cases").glob("*.json")):
        case = json.loads(path.read_text())
        # Wait timestamps are parsed by the interpreter, not by this module: those cases are
        # left to the engine's conformance test, which runs every case.
        if "jsonata" in case.get("categories", []) and "state_wait" not in case.get("categories", []):
            files.append(pytest.param(path, id=path.stem))
    return files


class _Unsupported(Exception):
    """A case outside what the small runner below drives."""


class _Finished(Exception):
    """An execution ended: status, output, error, cause."""

    def __init__(self, status: str, output: Any = None, error: str | None = None, cause: str | None = None) -> None:
        super().__init__(status)
        self.status, self.output, self.error, self.cause = status, output, error, cause


_JSONATA_FIELDS = {
    "Pass": {"Output", "Assign"},
    "Succeed": {"Output"},
    "Fail": {"Error", "Cause"},
    "Choice": {"Choices", "Default", "Output", "Assign"},
    "Map": {"Items", "ItemProcessor", "MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage",
            "Output", "Assign"},
}
_COMMON_FIELDS = {"Type", "Next", "End", "Comment", "QueryLanguage"}


class _MiniRunner:
    """Chains of Pass/Succeed/Fail/Choice states and inline Maps of them, JSONata mode (plus plain
    JSONPath Pass states).

    Event ids follow AWS's history: ExecutionStarted is #1 and every state adds an Entered and
    an Exited event, so the n-th state visited (from 0) is entered at #2 + 2n.
    """

    def __init__(self, case: dict[str, Any]) -> None:
        self.definition = case["definition"]
        self.input = case["input"]
        self.variables: dict[str, Any] = {}
        self.random = random.Random(0)

    def run(self) -> _Finished:
        states = self.definition["States"]
        name, data, visited = self.definition["StartAt"], self.input, 0
        while True:
            state = states[name]
            try:
                data, name = self._state(name, state, data)
            except StatesFailure as failure:
                prefix = f"An error occurred while executing the state '{name}' (entered at the event id #{2 + 2 * visited}). "
                return _Finished("FAILED", error=failure.error, cause=prefix + (failure.cause or ""))
            except _Finished as finished:
                return finished
            visited += 1
            if name is None:
                return _Finished("SUCCEEDED", output=data)

    def _state(self, name: str, state: dict[str, Any], data: Any) -> tuple[Any, str | None]:
        language = state.get("QueryLanguage", self.definition.get("QueryLanguage", "JSONPath"))
        kind = state["Type"]
        if language == "JSONPath":
            return self._jsonpath_pass(state, data)
        if kind not in _JSONATA_FIELDS or set(state) - _COMMON_FIELDS - _JSONATA_FIELDS[kind]:
            raise _Unsupported(f"JSONata {kind} with fields {sorted(set(state) - _COMMON_FIELDS)}")
        states_var = {"input": data, "context": self._context(name)}
        if kind == "Fail":
            error, cause = (self._field(state, key, states_var) for key in ("Error", "Cause"))
            raise _Finished("FAILED", error=error, cause=cause)
        if kind == "Choice":
            return self._choice(state, data, states_var)
        if kind == "Map":
            data = self._map(state, data, states_var)
        output = self._apply(state, "", data, states_var)
        return output, None if kind == "Succeed" or state.get("End") else state["Next"]

    def _choice(self, state: dict[str, Any], data: Any, states_var: dict[str, Any]) -> tuple[Any, str | None]:
        for index, rule in enumerate(state["Choices"]):
            if set(rule) - {"Condition", "Next", "Assign", "Output", "Comment"}:
                raise _Unsupported("Choice rule fields")
            matched = compile_template(rule["Condition"], f"Choices[{index}]/Condition").evaluate(
                states_var, self.variables, self.random)
            if matched is True:
                return self._apply(rule, f"Choices[{index}]/", data, states_var), rule["Next"]
        if "Default" not in state:
            raise StatesFailure("States.NoChoiceMatched", "No Choice Rule matched and no Default state was specified")
        return self._apply(state, "", data, states_var), state["Default"]

    def _map(self, state: dict[str, Any], data: Any, states_var: dict[str, Any]) -> list[Any]:
        """An inline Map's results; the items come from ``Items`` or the state input."""
        for key in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
            self._field(state, key, states_var)
        if "Items" in state:
            template = compile_template(state["Items"], "Items")
            items = template.evaluate(states_var, self.variables, self.random)
            if not isinstance(items, list):
                raise template.type_failure("array", items)
        elif isinstance(data, list):
            items = data
        else:
            raise StatesFailure(QUERY_EVALUATION_ERROR, f"Map state input must be an array but was: {json.dumps(data)}")
        processor = dict(state["ItemProcessor"])
        if processor.pop("ProcessorConfig", {}).get("Mode", "INLINE") != "INLINE":
            raise _Unsupported("distributed Map")
        language = self.definition.get("QueryLanguage", "JSONPath")
        results = []
        for item in items:
            child = _MiniRunner({"definition": {**processor, "QueryLanguage": language}, "input": item})
            child.variables = dict(self.variables)
            finished = child.run()
            if finished.status != "SUCCEEDED":
                raise _Unsupported("a failing Map iteration")
            results.append(finished.output)
        states_var["result"] = results
        return results

    def _apply(self, holder: dict[str, Any], prefix: str, data: Any, states_var: dict[str, Any]) -> Any:
        """Assign and Output, both evaluated against the variables as they were on entry."""
        assigned = {}
        if "Assign" in holder:
            assigned = compile_template(holder["Assign"], prefix + "Assign").evaluate(states_var, self.variables, self.random)
        output = data
        if "Output" in holder:
            output = compile_template(holder["Output"], prefix + "Output").evaluate(states_var, self.variables, self.random)
        self.variables.update(assigned)
        return output

    def _field(self, state: dict[str, Any], key: str, states_var: dict[str, Any]) -> Any:
        if key not in state:
            return None
        return compile_template(state[key], key).evaluate(states_var, self.variables, self.random)

    def _jsonpath_pass(self, state: dict[str, Any], data: Any) -> tuple[Any, str | None]:
        if state["Type"] != "Pass" or set(state) - _COMMON_FIELDS - {"Parameters", "Result", "Assign"}:
            raise _Unsupported(f"JSONPath {state['Type']} with fields {sorted(state)}")
        output = data
        if "Parameters" in state:
            output = _jsonpath_payload(state["Parameters"], data)
        elif "Result" in state:
            output = state["Result"]
        if "Assign" in state:
            self.variables.update(_jsonpath_payload(state["Assign"], data))
        return output, None if state.get("End") else state["Next"]

    def _context(self, name: str) -> dict[str, Any]:
        return {
            "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:machine:run-1", "Input": self.input,
                          "StartTime": "2024-01-01T00:00:00.000Z", "Name": "run-1",
                          "RoleArn": "arn:aws:iam::123456789012:role/role", "RedriveCount": 0},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:machine", "Name": "machine"},
            "State": {"Name": name, "EnteredTime": "2024-01-01T00:00:00.000Z"},
        }


def _jsonpath_payload(template: Any, data: Any) -> Any:
    """A JSONPath payload template whose paths are ``$`` or ``$.a.b`` only."""
    if not isinstance(template, dict):
        return template
    result = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if not isinstance(value, str) or not (value == "$" or value.startswith("$.")):
                raise _Unsupported(f"JSONPath {value!r}")
            found = data
            for part in value[2:].split(".") if value != "$" else []:
                found = found[part]
            result[key[:-2]] = found
        else:
            result[key] = _jsonpath_payload(value, data)
    return result


@pytest.fixture(scope="module")
def compare_result() -> Iterator[Any]:
    folder = _conformance_dir()
    if folder is None:
        pytest.skip("no conformance corpus")
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("compare").compare_result
    finally:
        sys.path.remove(str(folder))


@pytest.mark.parametrize("case_path", _jsonata_case_files())
def test_recorded_aws_execution(case_path: Path, compare_result: Any) -> None:
    case = json.loads(case_path.read_text())
    try:
        finished = _MiniRunner(case).run()
    except _Unsupported as reason:
        pytest.skip(f"outside the small runner: {reason}")
    output = json.dumps(finished.output) if finished.status == "SUCCEEDED" else None
    ok, why = compare_result(case, finished.status, output, finished.error, finished.cause)
    assert ok, why

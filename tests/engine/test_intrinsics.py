"""Tests for the ASL intrinsic functions: parsing, every function, properties, and the
intrinsic-function cases recorded on real AWS (the conformance corpus)."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import random
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext import parse as jsonpath_parse

from flowengine.lang import intrinsics
from flowengine.model.failure import RUNTIME, StatesFailure
from flowengine.lang.intrinsics import (
    FUNCTIONS,
    IntrinsicEnv,
    IntrinsicSyntaxError,
    is_intrinsic,
    parse_intrinsic,
    to_json_text,
)


def make_env(data: Any = None, *, context: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
             seed: int = 0, **kwargs: Any) -> IntrinsicEnv:
    return IntrinsicEnv(input={} if data is None else data, context=context or {}, variables=variables or {},
                        random=random.Random(seed), **kwargs)


def ev(text: str, data: Any = None, **kwargs: Any) -> Any:
    return parse_intrinsic(text).evaluate(make_env(data, **kwargs))


def fails(text: str, data: Any = None, **kwargs: Any) -> str:
    """Evaluates a call that must fail; returns the detail after AWS's 'had the following error: '."""
    with pytest.raises(StatesFailure) as info:
        ev(text, data, **kwargs)
    assert info.value.error == RUNTIME
    prefix = f"The function '{text}' had the following error: "
    assert info.value.cause is not None and info.value.cause.startswith(prefix), info.value.cause
    return info.value.cause[len(prefix):]


def syntax_error(text: str) -> IntrinsicSyntaxError:
    with pytest.raises(IntrinsicSyntaxError) as info:
        parse_intrinsic(text)
    return info.value


# --------------------------------------------------------------------------------------------
# Recognising and parsing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["States.Format('x')", "States.UUID()", "States.Array ()", "States.NoSuch(1)"])
def test_is_intrinsic_recognises_calls(text: str) -> None:
    assert is_intrinsic(text)


@pytest.mark.parametrize("text", ["$.a", "$$.Execution.Id", "$var", "States.Format", "States.", " States.UUID()",
                                  "states.UUID()", "{% $x %}", ""])
def test_is_intrinsic_rejects_everything_else(text: str) -> None:
    assert not is_intrinsic(text)


def test_parse_keeps_name_text_and_paths_in_order() -> None:
    text = "States.Format('{} {} {}', $.a[0].b, States.ArrayLength($$.Execution.Input.list), $myVar.field)"
    call = parse_intrinsic(text)
    assert call.name == "States.Format"
    assert call.text == text == str(call)
    assert call.paths() == ["$.a[0].b", "$$.Execution.Input.list", "$myVar.field"]


def test_every_aws_function_is_known() -> None:
    assert set(FUNCTIONS) == {
        "States.Format", "States.StringToJson", "States.JsonToString", "States.Array", "States.ArrayPartition",
        "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem", "States.ArrayLength",
        "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode", "States.Hash", "States.JsonMerge",
        "States.MathRandom", "States.MathAdd", "States.StringSplit", "States.UUID",
    }


def test_literals_keep_their_json_types() -> None:
    assert ev("States.Array(1, -2, 1.5, -0.25, 1e3, 'x', true, false, null)") == [
        1, -2, 1.5, -0.25, 1000.0, "x", True, False, None]
    assert all(type(v) is int for v in ev("States.Array(1, -2, 9223372036854775807)"))


def test_string_literal_escapes() -> None:
    # In the definition's JSON these are written \\' \\{ \\} and \\\\ .
    assert ev(r"States.Array('it\'s', '\{\}', 'a\\b')") == ["it's", "{}", "a\\b"]
    assert ev("States.Array('a,b)c', ' ')") == ["a,b)c", " "]
    assert ev("States.Array('{\"k\": \"v\"}')") == ['{"k": "v"}']  # unescaped braces are plain text
    assert ev("States.StringSplit('Hello\nWorld', '\n')") == ["Hello", "World"]  # a real newline character


def test_whitespace_between_tokens_is_allowed() -> None:
    assert ev("  States.Array ( 1 ,States.MathAdd( $.n,2 ) )  ", {"n": 1}) == [1, 3]


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("States.Array(1,)", 15, "Expected an argument"),
        ("States.Array(1", 14, "Expected ',' or ')'"),
        ("States.Array(1 2)", 15, "Expected ',' or ')'"),
        ("States.Array(1) trailing", 16, "after the end of the call"),
        ("States.Array('open", 13, "Unterminated string"),
        (r"States.Array('a\nb')", 15, "Open escape backslash"),
        ('States.Array("double")', 13, "single quotes"),
        ("States.Array(word)", 13, "Unexpected word"),
        ("States.Array(#)", 13, "Unexpected character"),
        ("States.Array($.a[)", 13, "Invalid JSONPath"),
        ("States.Array($a b)", 16, "Expected ',' or ')'"),
        ("States.Array($x!)", 13, "Invalid"),
        ("$.a", 0, "starts with a function name"),
        ("States.Array", 12, "Expected '('"),
    ],
)
def test_syntax_errors_say_where(text: str, offset: int, message: str) -> None:
    error = syntax_error(text)
    assert message in error.message
    assert error.offset == offset
    assert isinstance(error, ValueError)


def test_unknown_function_gets_a_did_you_mean_hint() -> None:
    error = syntax_error("States.Format('{}', States.ArrayLenght($.a))")
    assert error.message == "Unknown intrinsic function 'States.ArrayLenght'"
    assert error.offset == 20
    assert error.hint == "Did you mean States.ArrayLength?"
    assert syntax_error("States.stringtojson($.a)").hint == "Did you mean States.StringToJson?"
    assert "Known functions" in (syntax_error("States.Frobnicate()").hint or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("States.Format()", "States.Format takes at least 1 argument, got 0"),
        ("States.StringToJson()", "States.StringToJson takes 1 argument, got 0"),
        ("States.JsonToString($.a, $.b)", "States.JsonToString takes 1 argument, got 2"),
        ("States.ArrayPartition($.a)", "States.ArrayPartition takes 2 arguments, got 1"),
        ("States.ArrayContains($.a)", "States.ArrayContains takes 2 arguments, got 1"),
        ("States.ArrayRange(1, 2)", "States.ArrayRange takes 3 arguments, got 2"),
        ("States.ArrayGetItem($.a)", "States.ArrayGetItem takes 2 arguments, got 1"),
        ("States.ArrayLength()", "States.ArrayLength takes 1 argument, got 0"),
        ("States.ArrayUnique($.a, $.a)", "States.ArrayUnique takes 1 argument, got 2"),
        ("States.Base64Encode()", "States.Base64Encode takes 1 argument, got 0"),
        ("States.Base64Decode('a', 'b')", "States.Base64Decode takes 1 argument, got 2"),
        ("States.Hash('a')", "States.Hash takes 2 arguments, got 1"),
        ("States.JsonMerge($.a, $.b)", "States.JsonMerge takes 3 arguments, got 2"),
        ("States.MathRandom(1)", "States.MathRandom takes 2 to 3 arguments, got 1"),
        ("States.MathRandom(1, 2, 3, 4)", "States.MathRandom takes 2 to 3 arguments, got 4"),
        ("States.MathAdd(1)", "States.MathAdd takes 2 arguments, got 1"),
        ("States.StringSplit('a')", "States.StringSplit takes 2 arguments, got 1"),
        ("States.UUID(1)", "States.UUID takes 0 arguments, got 1"),
    ],
)
def test_arity_is_checked_when_parsing(text: str, message: str) -> None:
    error = syntax_error(text)
    assert error.message == message
    assert error.hint is not None and error.hint.startswith("Usage: States.")


def test_arity_of_a_nested_call_points_at_it() -> None:
    error = syntax_error("States.Array(1, States.MathAdd(1))")
    assert error.offset == 16


def test_paths_are_compiled_once_at_parse_time(monkeypatch: pytest.MonkeyPatch) -> None:
    call = parse_intrinsic("States.Format('{}-{}', $.a, $$.B)")

    def no_parsing(text: str) -> None:
        raise AssertionError(f"JSONPath parsed during evaluation: {text}")

    monkeypatch.setattr(intrinsics, "_parse_jsonpath", no_parsing)
    for value in ("x", "y"):
        assert call.evaluate(make_env({"a": value}, context={"B": 1})) == f"{value}-1"


# --------------------------------------------------------------------------------------------
# Path arguments
# --------------------------------------------------------------------------------------------


def test_path_roots_input_context_and_variables() -> None:
    env: dict[str, Any] = {"context": {"Execution": {"Name": "run-1"}},
                           "variables": {"count": 2, "cfg": {"tags": ["a", "b"]}}}
    assert ev("States.Array($, $.x, $$.Execution.Name, $count, $cfg.tags[1])", {"x": 1}, **env) == [
        {"x": 1}, 1, "run-1", 2, "b"]


def test_a_missing_path_fails_with_aws_wording() -> None:
    text = "States.Format('{}', $.nope)"
    with pytest.raises(StatesFailure) as info:
        ev(text, {"other": 1})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        "The function 'States.Format('{}', $.nope)' had the following error: "
        "The JsonPath argument for the field '$.nope' could not be found in the input '{\"other\":1}'")


def test_the_cause_names_the_whole_expression_and_the_failing_argument() -> None:
    text = "States.Format('{} {}', $.other, States.Format('{}', $.a.b))"
    assert fails(text, {"other": 1}) == (
        "The JsonPath argument for the field '$.a.b' could not be found in the input '{\"other\":1}'")


def test_a_missing_context_path_is_shown_against_the_context_object() -> None:
    detail = fails("States.Format('{}', $$.Nope.Deep)", {"other": 1}, context={"State": {"Name": "P"}})
    assert detail == "The JsonPath argument for the field '$.Nope.Deep' could not be found in the input '{\"other\":1}'"


def test_missing_variables_and_variable_fields_fail() -> None:
    assert "'$nope'" in fails("States.Array($nope)", variables={"x": 1})
    assert "'$x.y'" in fails("States.Array($x.y)", variables={"x": {"z": 1}})


def test_index_past_the_end_fails_but_null_is_a_value() -> None:
    assert "'$.items[5]'" in fails("States.Format('{}', $.items[5])", {"items": [1, 2]})
    assert "'$.other[0]'" in fails("States.Format('{}', $.other[0])", {"other": 1})
    assert ev("States.Format('{}', $.nul)", {"nul": None}) == "null"


def test_a_wildcard_matching_nothing_is_an_empty_array() -> None:
    assert ev("States.ArrayLength($.items[*].nope)", {"items": [1, 2]}) == 0
    assert ev("States.Array($.items[*].v)", {"items": [{"v": 1}, {}, {"v": 3}]}) == [[1, 3]]
    assert ev("States.ArrayLength($..v)", {"a": {"v": 1}, "b": [{"v": 2}]}) == 2


def test_resolve_path_hook_replaces_jsonpath_evaluation() -> None:
    calls: list[tuple[str, Any]] = []

    def resolve(path: str, root: Any) -> Any:
        calls.append((path, root))
        if path == "$.missing":
            raise KeyError(path)
        return f"<{path}>"

    env = make_env({"in": 1}, context={"ctx": 1}, variables={"v": {"var": 1}}, resolve_path=resolve)
    call = parse_intrinsic("States.Array($.a, $$.b, $v.c, $v)")
    assert call.evaluate(env) == ["<$.a>", "<$.b>", "<$.c>", "<$>"]
    assert calls == [("$.a", {"in": 1}), ("$.b", {"ctx": 1}), ("$.c", {"var": 1}), ("$", {"var": 1})]
    with pytest.raises(StatesFailure, match="The JsonPath argument for the field '\\$.missing'"):
        parse_intrinsic("States.Array($.missing)").evaluate(env)


# --------------------------------------------------------------------------------------------
# The functions
# --------------------------------------------------------------------------------------------


class TestFormat:
    def test_aws_examples(self) -> None:
        data = {"name": "Arnav", "template": "Hello, my name is {}."}
        assert ev("States.Format('Hello, my name is {}.', $.name)", data) == "Hello, my name is Arnav."
        assert ev("States.Format($.template, $.name)", data) == "Hello, my name is Arnav."

    def test_values_render_as_aws_renders_them(self) -> None:
        values = {"s": "text", "i": 1, "f": 1.1, "big": 1e20, "t": True, "n": None,
                  "o": {"Arg1": 1, "Arg2": [], "s": "x", "n": None}, "l": [1, "two", {"a": [3]}]}
        text = "States.Format('{}|{}|{}|{}|{}|{}|{}|{}', $.s, $.i, $.f, $.big, $.t, $.n, $.o, $.l)"
        assert ev(text, values) == "text|1|1.1|1.0E20|true|null|{Arg1=1, Arg2=[], s=x, n=null}|[1, two, {a=[3]}]"

    def test_escaped_braces_are_not_placeholders(self) -> None:
        assert ev(r"States.Format('\{\} {} \{x\}', 'v')", {}) == "{} v {x}"
        assert ev(r"States.Format('{}\\', 'v')", {}) == "v\\"

    def test_template_from_a_path_or_a_variable(self) -> None:
        assert ev("States.Format($T, $.x)", {"x": "Pikachu"}, variables={"T": "It's {}!"}) == "It's Pikachu!"

    def test_lone_braces_are_text(self) -> None:
        assert ev("States.Format('{ {} }', 1)") == "{ 1 }"

    def test_placeholder_count_must_match(self) -> None:
        assert "2 '{}' placeholder(s) but 1 value argument(s)" in fails("States.Format('{} {}', 1)")
        assert "0 '{}' placeholder(s) but 1 value argument(s)" in fails("States.Format('none', 1)")

    def test_template_must_be_a_string(self) -> None:
        detail = fails("States.Format($.t)", {"t": 5})
        assert detail == "The first (template) argument must be a string, but was number: 5"


class TestStringToJson:
    @pytest.mark.parametrize(("text", "value"), [
        ("", None), (" ", None), ("null", None), ("-0", 0), ("1", 1), ("1.1", 1.1), ("true", True),
        ('"HelloWorld"', "HelloWorld"), ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
    ])
    def test_recorded_values(self, text: str, value: Any) -> None:
        result = ev("States.StringToJson($.s)", {"s": text})
        assert result == value and type(result) is type(value)

    @pytest.mark.parametrize("text", ["{", "NaN", "[1,]", "{'a': 1}", "1 2"])
    def test_invalid_json_fails(self, text: str) -> None:
        assert fails("States.StringToJson($.s)", {"s": text}).startswith("The argument is not a valid JSON string")

    def test_argument_must_be_a_string(self) -> None:
        assert "must be a string, but was object" in fails("States.StringToJson($.s)", {"s": {}})


class TestJsonToString:
    @pytest.mark.parametrize(("value", "text"), [
        (None, "null"), (0, "0"), (1, "1"), (1.1, "1.1"), (True, "true"), ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'), ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
    ])
    def test_recorded_values(self, value: Any, text: str) -> None:
        assert ev("States.JsonToString($.v)", {"v": value}) == text

    def test_key_order_unicode_escapes_and_doubles(self) -> None:
        value = {"z": 1, "a": "é ✓ \"q\" \\ \n \x01", "big": 1e21, "small": 0.0001, "plain": 100.0}
        assert ev("States.JsonToString($.v)", {"v": value}) == (
            '{"z":1,"a":"é ✓ \\"q\\" \\\\ \\n \\u0001","big":1.0E21,"small":1.0E-4,"plain":100.0}')


def test_array() -> None:
    assert ev("States.Array()") == []
    assert ev("States.Array($.Id)", {"Id": 123456}) == [123456]
    assert ev("States.Array('a', States.Array(1), $.o)", {"o": {"k": None}}) == ["a", [1], {"k": None}]


class TestArrayPartition:
    @pytest.mark.parametrize(("array", "size", "expected"), [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ([], 3, []), ([0, 1], 5, [[0, 1]]), ([0, 1, 2, 3], 2, [[0, 1], [2, 3]]),
        ([1, 2, 3, 4, 5], 2.5, [[1, 2, 3], [4, 5]]),  # non-integers round half up
    ])
    def test_partitions(self, array: list[int], size: float, expected: list[list[int]]) -> None:
        assert ev("States.ArrayPartition($.a, $.n)", {"a": array, "n": size}) == expected

    @pytest.mark.parametrize(("size", "detail"), [
        (0, "The chunk size must be a positive integer, but was 0"),
        (-1, "The chunk size must be a positive integer, but was -1"),
        ("2", "The second (chunk size) argument must be a number, but was string: \"2\""),
        (True, "The second (chunk size) argument must be a number, but was boolean: true"),
    ])
    def test_bad_chunk_size(self, size: Any, detail: str) -> None:
        assert fails("States.ArrayPartition($.a, $.n)", {"a": [1], "n": size}) == detail

    def test_first_argument_must_be_an_array(self) -> None:
        assert "must be an array, but was string" in fails("States.ArrayPartition($.a, 1)", {"a": "abc"})


class TestArrayContains:
    @pytest.mark.parametrize(("array", "value", "expected"), [
        ([], None, False), ([], [], False), ([], 1, False), ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True), ([{"1": 2, "2": []}], [], False),
        ([{"1": 2, "2": []}], {"2": [], "1": 2}, True), ([True, False], True, True), ([True, False], False, True),
        ([1, 2], True, False), ([True], 1, False), ([0], False, False), ([1.0], 1, True), (["1"], 1, False),
        ([None], None, True),
    ])
    def test_structural_json_equality(self, array: list[Any], value: Any, expected: bool) -> None:
        assert ev("States.ArrayContains($.a, $.v)", {"a": array, "v": value}) is expected

    def test_first_argument_must_be_an_array(self) -> None:
        assert "must be an array" in fails("States.ArrayContains($.a, 1)", {"a": {"x": 1}})


class TestArrayRange:
    @pytest.mark.parametrize(("args", "expected"), [
        ("1, 9, 2", [1, 3, 5, 7, 9]), ("0, 9, 3", [0, 3, 6, 9]), ("0, 10, 3", [0, 3, 6, 9]), ("1, 9, 9", [1]),
        ("9, 1, -2", [9, 7, 5, 3, 1]), ("5, 5, 1", [5]), ("5, 5, -3", [5]), ("9, 1, 2", []), ("1, 9, -2", []),
        ("0.6, 4.4, 1.5", [1, 3]),
    ])
    def test_ranges(self, args: str, expected: list[int]) -> None:
        assert ev(f"States.ArrayRange({args})") == expected

    def test_at_most_1000_elements(self) -> None:
        assert len(ev("States.ArrayRange(1, 1000, 1)")) == 1000
        assert fails("States.ArrayRange(1, 1001, 1)") == (
            "The array would have 1001 elements; States.ArrayRange allows at most 1000")
        assert "at most 1000" in fails("States.ArrayRange(0, 9223372036854775807, 1)")

    def test_step_must_not_be_zero(self) -> None:
        assert fails("States.ArrayRange(1, 9, 0)") == "The step argument must not be 0"

    def test_arguments_must_be_numbers(self) -> None:
        assert "The first (start) argument must be a number" in fails("States.ArrayRange('1', 9, 2)")
        assert "was null" in fails("States.ArrayRange(1, $.e, 2)", {"e": None})


class TestArrayGetItem:
    def test_aws_example(self) -> None:
        assert ev("States.ArrayGetItem($.inputArray, $.index)", {"inputArray": list(range(1, 10)), "index": 5}) == 6

    def test_returns_nested_values_unchanged(self) -> None:
        assert ev("States.ArrayGetItem($.a, 1.0)", {"a": [{"k": 1}, {"k": 2}]}) == {"k": 2}

    @pytest.mark.parametrize(("index", "detail"), [
        ("3", "The index 3 is out of bounds for an array of length 3"),
        ("-1", "The index -1 is out of bounds for an array of length 3"),
        ("1.5", "The second (index) argument must be an integer, but was number: 1.5"),
        ("'1'", "The second (index) argument must be an integer, but was string: \"1\""),
    ])
    def test_bad_index(self, index: str, detail: str) -> None:
        assert fails(f"States.ArrayGetItem($.a, {index})", {"a": [1, 2, 3]}) == detail

    def test_first_argument_must_be_an_array(self) -> None:
        assert "must be an array" in fails("States.ArrayGetItem($.s, 0)", {"s": "notarray"})


def test_array_length() -> None:
    assert ev("States.ArrayLength($.a)", {"a": list(range(9))}) == 9
    assert ev("States.ArrayLength($.a)", {"a": []}) == 0
    assert fails("States.ArrayLength($.a)", {"a": "abc"}) == (
        'The first (array) argument must be an array, but was string: "abc"')


class TestArrayUnique:
    def test_aws_example(self) -> None:
        assert ev("States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}) == [1, 2, 3, 4]

    def test_first_occurrence_order_and_structural_equality(self) -> None:
        data = {"a": [None, None, True, True, False, 1, 1, 1.0, 0, "1", "b", "a", "b", [], [], [None],
                      {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}]}
        assert ev("States.ArrayUnique($.a)", data) == [
            None, True, False, 1, 0, "1", "b", "a", [], [None], {"a": 1, "b": 2}, {"a": 1, "b": 1}]

    def test_argument_must_be_an_array(self) -> None:
        assert "must be an array, but was object" in fails("States.ArrayUnique($.a)", {"a": {"a": 1}})


class TestBase64:
    def test_aws_examples(self) -> None:
        assert ev("States.Base64Encode($.s)", {"s": "Data to encode"}) == "RGF0YSB0byBlbmNvZGU="
        assert ev("States.Base64Decode($.s)", {"s": "RGF0YSB0byBlbmNvZGU="}) == "Data to encode"
        assert ev("States.Base64Encode('')") == "" and ev("States.Base64Decode('')") == ""

    def test_standard_alphabet_without_line_breaks(self) -> None:
        assert ev("States.Base64Encode('>>>???')") == "Pj4+Pz8/"
        assert ev("States.Base64Encode($.s)", {"s": "a" * 100}) == "YWFh" * 33 + "YQ=="

    def test_utf8_round_trip(self) -> None:
        assert ev("States.Base64Decode(States.Base64Encode($.s))", {"s": "héllo ✓ 😀"}) == "héllo ✓ 😀"

    def test_padding_is_optional(self) -> None:
        assert ev("States.Base64Decode('YQ')") == "a"

    @pytest.mark.parametrize("text", ["not base64!!!", "RGF0\nYQ==", "YQ=", "Y", "YQ==YQ==", "=YQ"])
    def test_invalid_input_fails(self, text: str) -> None:
        assert fails("States.Base64Decode($.s)", {"s": text}).startswith("The input is not a valid Base64 string")

    def test_inputs_are_limited_to_10000_characters(self) -> None:
        assert len(ev("States.Base64Encode($.s)", {"s": "a" * 10_000})) == 13_336
        assert fails("States.Base64Encode($.s)", {"s": "a" * 10_001}) == (
            "The input string has 10001 characters; the limit is 10000")
        assert ev("States.Base64Decode($.s)", {"s": "QUFB" * 2500}) == "AAA" * 2500
        assert "the limit is 10000" in fails("States.Base64Decode($.s)", {"s": "QUFB" * 2501})

    def test_arguments_must_be_strings(self) -> None:
        assert "must be a string, but was number" in fails("States.Base64Encode($.n)", {"n": 5})
        assert "must be a string, but was null" in fails("States.Base64Decode($.n)", {"n": None})


class TestHash:
    @pytest.mark.parametrize(("algorithm", "digest"), [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ("SHA-384", hashlib.sha384(b"input data").hexdigest()),
        ("SHA-512", ("6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a"
                     "533d30d425402d4f91316d871303aac4")),
    ])
    def test_algorithms(self, algorithm: str, digest: str) -> None:
        assert ev("States.Hash($.Data, $.Algorithm)", {"Data": "input data", "Algorithm": algorithm}) == digest

    @pytest.mark.parametrize("algorithm", ["SHA256", "sha-256", "md5", "SHA-224"])
    def test_other_algorithm_names_fail(self, algorithm: str) -> None:
        detail = fails("States.Hash('x', $.alg)", {"alg": algorithm})
        assert detail == (f"The hash algorithm {algorithm!r} is not supported; "
                          "use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512")

    def test_non_string_data_is_hashed_as_its_json_text(self) -> None:
        assert ev("States.Hash($.d, 'MD5')", {"d": {"a": [1]}}) == hashlib.md5(b'{"a":[1]}').hexdigest()


class TestJsonMerge:
    def test_shallow_merge_second_wins(self) -> None:
        data = {"fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}}
        merged = ev("States.JsonMerge($.fst, $.snd, false)", data)
        assert merged == {"a": {"a3": 1, "a4": 2}, "b": 2, "d": 4, "c": 3}
        assert list(merged) == ["a", "b", "d", "c"]
        assert data["fst"] == {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}  # inputs are not modified

    def test_deep_merge_is_rejected(self) -> None:
        assert fails("States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}) == (
            "Deep merging is not supported; the third argument must be false")

    @pytest.mark.parametrize(("args", "detail"), [
        ("$.l, $.o, false", "The first argument must be a JSON object, but was array: [1,2]"),
        ("$.o, 'x', false", 'The second argument must be a JSON object, but was string: "x"'),
        ("$.o, $.o, 0", "The third (deep merge) argument must be a boolean, but was number: 0"),
    ])
    def test_argument_types(self, args: str, detail: str) -> None:
        assert fails(f"States.JsonMerge({args})", {"l": [1, 2], "o": {"y": 2}}) == detail


class TestMathRandom:
    def test_end_is_exclusive(self) -> None:
        call = parse_intrinsic("States.MathRandom(3, 4)")
        env = make_env(seed=7)
        assert {call.evaluate(env) for _ in range(200)} == {3}
        call = parse_intrinsic("States.MathRandom(3, 5)")
        assert {call.evaluate(env) for _ in range(200)} == {3, 4}

    def test_uses_the_engine_random_source(self) -> None:
        call = parse_intrinsic("States.MathRandom(1, 1000000)")
        env_a, env_b = make_env(seed=42), make_env(seed=42)
        draws = [call.evaluate(env_a) for _ in range(5)]
        assert draws == [call.evaluate(env_b) for _ in range(5)]
        assert len(set(draws)) > 1  # the shared source advances between draws

    def test_a_seed_argument_gives_a_reproducible_draw_and_leaves_the_engine_source_alone(self) -> None:
        env = make_env(seed=1)
        before = env.random.getstate()
        call = parse_intrinsic("States.MathRandom(1, 1000000, 42)")
        assert call.evaluate(env) == call.evaluate(make_env(seed=99))
        assert env.random.getstate() == before
        assert call.evaluate(env) != parse_intrinsic("States.MathRandom(1, 1000000, 43)").evaluate(env)

    def test_non_integers_round_half_up(self) -> None:
        values = {ev("States.MathRandom($.s, $.e)", {"s": 2.4, "e": 3.6}, seed=s) for s in range(100)}
        assert values == {2, 3}
        assert type(ev("States.MathRandom(12.5, 44.51)")) is int

    @pytest.mark.parametrize("args", ["7, 7", "10, 1"])
    def test_empty_range_fails(self, args: str) -> None:
        assert "must be less than the end" in fails(f"States.MathRandom({args})")

    def test_arguments_must_be_numbers(self) -> None:
        assert "first (start) argument must be a number" in fails("States.MathRandom('1', 9)")
        assert "third (seed) argument must be a number" in fails("States.MathRandom(1, 9, 'seed')")


class TestMathAdd:
    def test_integers(self) -> None:
        assert ev("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}) == 110
        assert ev("States.MathAdd(-9, 3)") == -6

    @pytest.mark.parametrize(("fst", "snd", "total"), [
        (1.49, 1.5, 3), (1.5, 1.51, 4), (-1.49, -1.5, -2), (-1.5, -1.51, -3), (1.49, -1.49, 0), (0.5, 0, 1),
        (2.5, 0, 3), (-0.5, 0, 0), (-0.5, 0.5, 1), (-2.5, 0, -2), (-3.5, 0, -3),
    ])
    def test_each_number_is_rounded_like_java_math_round(self, fst: float, snd: float, total: int) -> None:
        result = ev("States.MathAdd($.fst, $.snd)", {"fst": fst, "snd": snd})
        assert result == total and type(result) is int

    @pytest.mark.parametrize("value", ["'1'", "true", "null", "$.l"])
    def test_non_numbers_fail(self, value: str) -> None:
        assert "argument must be a number" in fails(f"States.MathAdd({value}, 1)", {"l": [1]})


class TestStringSplit:
    @pytest.mark.parametrize(("text", "delimiters", "expected"), [
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        (" , ", ",", [" ", " "]), (",,,,", ",", []), ("", ",", []), (",,a,,b,,", ",", ["a", "b"]),
        ("a😀b😀c", "😀", ["a", "b", "c"]), ("abc", "", ["abc"]), ("a]b^c\\d", "]^\\", ["a", "b", "c", "d"]),
    ])
    def test_every_delimiter_character_splits_and_empty_tokens_drop(
            self, text: str, delimiters: str, expected: list[str]) -> None:
        assert ev("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == expected

    def test_arguments_must_be_strings(self) -> None:
        assert "first argument must be a string" in fails("States.StringSplit($.n, ',')", {"n": 7})
        assert "second (delimiters) argument must be a string" in fails("States.StringSplit('a', 1)")


class TestUUID:
    def test_version_4_from_the_engine_random_source(self) -> None:
        env = make_env(seed=3)
        first, second = ev("States.UUID()", seed=3), ev("States.UUID()", seed=3)
        assert first == second
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
        call = parse_intrinsic("States.UUID()")
        assert call.evaluate(env) != call.evaluate(env)


def test_nested_calls() -> None:
    text = ("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
            "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))")
    assert ev(text, context={"StateMachine": {"Name": "my-state-machine"}}) == "machine"
    assert ev("States.JsonMerge(States.StringToJson('{\"a\": \"false\"}'), $.b, false)", {"b": {"c": 1}}) == {
        "a": "false", "c": 1}


def test_to_json_text_matches_aws_serialisation() -> None:
    assert to_json_text({"b": [1, 2.5, None, True], "a": {"x": "é"}}) == '{"b":[1,2.5,null,true],"a":{"x":"é"}}'
    assert [to_json_text(v) for v in (1e7, 12345678.9, 0.001, -0.0, 1e-5)] == [
        "1.0E7", "1.23456789E7", "0.001", "-0.0", "1.0E-5"]


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_string_to_json_inverts_json_to_string(value: Any) -> None:
    assert ev("States.StringToJson(States.JsonToString($.v))", {"v": value}) == value
    assert json.loads(ev("States.JsonToString($.v)", {"v": value})) == value


@settings(max_examples=200, deadline=None)
@given(start=st.integers(-10**9, 10**9), width=st.integers(1, 10**6), seed=st.integers(-2**63, 2**63),
       engine_seed=st.integers(0, 2**32))
def test_math_random_stays_in_range_and_a_seed_reproduces_it(start: int, width: int, seed: int,
                                                              engine_seed: int) -> None:
    data = {"s": start, "e": start + width, "seed": seed}
    value = ev("States.MathRandom($.s, $.e)", data, seed=engine_seed)
    assert start <= value < start + width
    assert value == ev("States.MathRandom($.s, $.e)", data, seed=engine_seed)
    seeded = ev("States.MathRandom($.s, $.e, $.seed)", data, seed=engine_seed)
    assert start <= seeded < start + width
    assert seeded == ev("States.MathRandom($.s, $.e, $.seed)", data, seed=engine_seed + 1)


@settings(max_examples=200, deadline=None)
@given(array=st.lists(json_values, max_size=30), size=st.integers(1, 40))
def test_array_partition_chunks_concatenate_to_the_array(array: list[Any], size: int) -> None:
    chunks = ev("States.ArrayPartition($.a, $.n)", {"a": array, "n": size})
    assert [item for chunk in chunks for item in chunk] == array
    assert all(len(chunk) == size for chunk in chunks[:-1]) and all(0 < len(chunk) <= size for chunk in chunks)


@settings(max_examples=200, deadline=None)
@given(first=st.integers(-500, 500), last=st.integers(-500, 500), step=st.integers(-50, 50).filter(bool))
def test_array_range_matches_an_inclusive_python_range(first: int, last: int, step: int) -> None:
    expected = list(range(first, last + (1 if step > 0 else -1), step))
    assert ev(f"States.ArrayRange({first}, {last}, {step})") == expected


# --------------------------------------------------------------------------------------------
# The AWS-recorded conformance cases
# --------------------------------------------------------------------------------------------


def _conformance_dir() -> Path | None:
    repo = Path(__file__).resolve().parents[2]
    for candidate in (repo / "tests" / "conformance", Path("/work/shared/conformance"),
                      repo.parent / "shared" / "conformance"):
        if (candidate / "compare.py").is_file() and (candidate / "cases").is_dir():
            return candidate
    return None


CONFORMANCE = _conformance_dir()


def _load_compare(directory: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("_conformance_compare", directory / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _intrinsic_cases() -> list[dict[str, Any]]:
    if CONFORMANCE is None:
        return []
    cases = (json.loads(p.read_text(encoding="utf-8")) for p in sorted((CONFORMANCE / "cases").glob("*.json")))
    return [case for case in cases if "intrinsic_functions" in case["categories"]]


def _why_not_a_pass_chain(case: dict[str, Any]) -> str | None:
    """Why the tiny Pass-chain evaluator below cannot run a case, or None when it can."""
    definition = case["definition"]
    text = json.dumps(definition)
    if "JSONata" in text:
        return "uses JSONata"
    types = sorted({state["Type"] for state in definition["States"].values()})
    if types != ["Pass"]:
        return f"has state types {types}"
    return None


def _context(case: dict[str, Any], state_name: str) -> dict[str, Any]:
    """A context object shaped like AWS's; the corpus masks the ARNs and names it holds."""
    machine, execution = "sm-name", "exec-name"
    return {
        "Execution": {
            "Id": f"arn:aws:states:us-east-1:111111111111:execution:{machine}:{execution}",
            "Input": copy.deepcopy(case["input"]),
            "Name": execution,
            "RoleArn": "arn:aws:iam::111111111111:role/sfn-role",
            "StartTime": "2024-01-01T00:00:00.000Z",
            "RedriveCount": 0,
        },
        "State": {"EnteredTime": "2024-01-01T00:00:00.000Z", "Name": state_name, "RetryCount": 0},
        "StateMachine": {"Id": f"arn:aws:states:us-east-1:111111111111:stateMachine:{machine}", "Name": machine},
    }


class _Miss(Exception):
    pass


def _plain_path(path: str, root: Any, variables: dict[str, Any], context: dict[str, Any]) -> Any:
    """A Reference Path outside an intrinsic (``"key.$": "$.a"``), enough for these cases."""
    if path.startswith("$$"):
        root, path = context, path[1:]
    elif (m := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", path)) is not None:
        if m.group(1) not in variables:
            raise _Miss
        root, path = variables[m.group(1)], "$" + path[m.end():]
    matches = jsonpath_parse(path).find(root)
    if any(token in path for token in ("*", "..", "?(", ":", ",")):
        return [match.value for match in matches]
    if not matches:
        raise _Miss
    return matches[0].value


def _template(value: Any, root: Any, variables: dict[str, Any], context: dict[str, Any], rng: random.Random) -> Any:
    if isinstance(value, list):
        return [_template(item, root, variables, context, rng) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not key.endswith(".$"):
            out[key] = _template(item, root, variables, context, rng)
        elif is_intrinsic(item):
            env = IntrinsicEnv(input=root, context=context, variables=variables, random=rng)
            out[key[:-2]] = parse_intrinsic(item).evaluate(env)
        else:
            try:
                out[key[:-2]] = _plain_path(item, root, variables, context)
            except _Miss:
                raise StatesFailure(RUNTIME, f"The JSONPath '{item}' specified for the field '{key}' could not be "
                                             f"found in the input '{to_json_text(root)}'") from None
    return out


def _set_path(data: Any, path: str, value: Any) -> Any:
    if path == "$":
        return value
    out = copy.deepcopy(data)
    node = out
    keys = path[2:].split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return out


def _run_pass(state: dict[str, Any], data: Any, variables: dict[str, Any], context: dict[str, Any],
              rng: random.Random) -> Any:
    input_path = state.get("InputPath", "$")
    effective = data if input_path == "$" else _plain_path(input_path, data, variables, context)
    if "Parameters" in state:
        result = _template(state["Parameters"], effective, variables, context, rng)
    elif "Result" in state:
        result = copy.deepcopy(state["Result"])
    else:
        result = effective
    if "Assign" in state:
        variables.update(_template(state["Assign"], result, variables, context, rng))
    result_path = state.get("ResultPath", "$")
    output = data if result_path is None else _set_path(data, result_path, result)
    output_path = state.get("OutputPath", "$")
    return output if output_path == "$" else _plain_path(output_path, output, variables, context)


def _run_pass_chain(case: dict[str, Any]) -> tuple[str, Any, str | None, str | None]:
    """Runs a chain of Pass states; returns (status, output, error, cause) like an execution."""
    definition = case["definition"]
    name, data, rng = definition["StartAt"], copy.deepcopy(case["input"]), random.Random(0)
    variables: dict[str, Any] = {}
    for index in range(len(definition["States"])):
        state = definition["States"][name]
        try:
            data = _run_pass(state, data, variables, _context(case, name), rng)
        except StatesFailure as failure:
            return "FAILED", None, failure.error, (
                f"An error occurred while executing the state '{name}' "
                f"(entered at the event id #{2 + 2 * index}). {failure.cause}")
        if state.get("End"):
            return "SUCCEEDED", data, None, None
        name = state["Next"]
    raise AssertionError("the Pass chain does not end")


# Cases that are not plain Pass chains (Map, Choice, JSONata) are left to the engine's
# conformance test, which runs every case; this module checks the functions on their own.
INTRINSIC_CASES = [case for case in _intrinsic_cases() if _why_not_a_pass_chain(case) is None]


@pytest.mark.skipif(CONFORMANCE is None, reason="no conformance corpus: looked in tests/conformance, "
                                                "/work/shared/conformance and ../shared/conformance")
@pytest.mark.parametrize("case", INTRINSIC_CASES, ids=[case["name"] for case in INTRINSIC_CASES])
def test_recorded_aws_case(case: dict[str, Any]) -> None:
    assert CONFORMANCE is not None
    compare = _load_compare(CONFORMANCE)
    status, output, error, cause = _run_pass_chain(case)
    ok, why = compare.compare_result(case, status, json.dumps(output), error, cause)
    assert ok, why


@pytest.mark.skipif(CONFORMANCE is None, reason="no conformance corpus")
def test_the_corpus_has_intrinsic_cases() -> None:
    assert len(INTRINSIC_CASES) >= 100

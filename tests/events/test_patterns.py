"""EventBridge event patterns: every operator, arrays, $or, and the errors AWS gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flowengine.errors import FlowengineError
from flowengine.lang.patterns import EventPattern, PatternError, compile_pattern, format_path

# The sample event of event-ruler's README (the library EventBridge runs).
EC2 = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}


def matches(pattern: Any, event: Any = EC2) -> bool:
    return compile_pattern(pattern).matches(event)


def detail(**fields: Any) -> dict[str, Any]:
    return {"detail": fields}


# --- the README's examples --------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", [
    {"detail-type": ["EC2 Instance State-change Notification"],
     "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
     "detail": {"state": ["initializing", "running"]}},
    {"time": [{"prefix": "2017-10-02"}]},
    {"source": [{"suffix": "ec2"}]},
    {"source": [{"equals-ignore-case": "AWS.EC2"}]},
    {"source": [{"wildcard": "aws.*"}]},
    detail(state=[{"anything-but": "initializing"}]),
    detail(**{"x-limit": [{"anything-but": 123}]}),
    detail(state=[{"anything-but": ["stopped", "overloaded"]}]),
    detail(**{"x-limit": [{"anything-but": [100, 200, 300]}]}),
    detail(state=[{"anything-but": {"prefix": "init"}}]),
    detail(**{"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
              "x-limit": [{"numeric": ["=", 3.018e2]}]}),
    detail(**{"source-ip": [{"cidr": "10.0.0.0/24"}]}),
    detail(**{"c-count": [{"exists": True}]}),
    detail(**{"c-count-missing": [{"exists": False}]}),
    {"time": [{"prefix": "2017-10-02"}],
     "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}]}},
])
def test_readme_patterns_match_the_sample_event(pattern: dict[str, Any]) -> None:
    assert matches(pattern)


@pytest.mark.parametrize("pattern", [
    {"source": ["aws.s3"]},
    {"detail": {"state": ["stopped"]}},
    {"time": [{"prefix": "2017-10-03"}]},
    {"source": [{"suffix": "s3"}]},
    detail(state=[{"anything-but": "running"}]),
    detail(state=[{"anything-but": {"prefix": "run"}}]),
    detail(**{"c-count": [{"numeric": [">", 5]}]}),
    detail(**{"c-count": [{"exists": False}]}),
    detail(missing=[{"exists": True}]),
    detail(**{"source-ip": [{"cidr": "10.0.1.0/24"}]}),
    {"not-there": ["x"]},
])
def test_patterns_that_do_not_match_the_sample_event(pattern: dict[str, Any]) -> None:
    assert not matches(pattern)


# --- exact values ------------------------------------------------------------------------------------


def test_values_match_by_json_type() -> None:
    event = {"s": "5", "n": 5, "t": True, "ts": "true", "z": None, "zs": "null", "e": ""}
    assert matches({"s": ["5"]}, event) and not matches({"s": [5]}, event)
    assert matches({"n": [5]}, event) and not matches({"n": ["5"]}, event)
    assert matches({"t": [True]}, event) and not matches({"t": ["true"]}, event) and not matches({"t": [1]}, event)
    assert matches({"ts": ["true"]}, event) and not matches({"ts": [True]}, event)
    assert matches({"z": [None]}, event) and not matches({"z": ["null"]}, event)
    assert matches({"zs": ["null"]}, event) and not matches({"zs": [None]}, event)
    assert matches({"e": [""]}, event) and not matches({"e": [None]}, event)
    assert not matches({"n": [True]}, {"n": 1}) and not matches({"n": [1]}, {"n": True})


def test_null_does_not_match_a_missing_field() -> None:
    assert not matches({"a": [None]}, {"b": 1})
    assert matches({"a": [None]}, {"a": None})


def test_numbers_compare_by_value() -> None:
    assert matches({"n": [5]}, {"n": 5.0})
    assert matches({"n": [5.0]}, {"n": 5})
    assert matches({"n": [3.018e2]}, {"n": 301.8})
    assert matches({"n": [-0.0]}, {"n": 0})
    assert not matches({"n": [5]}, {"n": 5.000001})


def test_numbers_beyond_five_billion_match_by_their_text() -> None:
    # an AWS account id as a number: no numeric form, so only the literal matches
    assert matches({"account": [123456789012]}, {"account": 123456789012})
    assert not matches({"account": [123456789012]}, {"account": 123456789013})


def test_strings_that_are_ip_addresses_match_as_addresses() -> None:
    assert matches({"ip": ["::1"]}, {"ip": "0:0:0:0:0:0:0:1"})
    assert matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.1"})
    assert not matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.2"})


def test_a_field_matches_if_any_listed_value_matches() -> None:
    assert matches({"source": ["aws.s3", "aws.ec2", {"prefix": "zzz"}]})


def test_every_field_must_match() -> None:
    assert not matches({"source": ["aws.ec2"], "region": ["eu-west-1"]})


def test_the_pattern_needs_the_same_nesting_as_the_event() -> None:
    assert not matches({"state": ["running"]})
    assert not matches({"detail": {"state": {"inner": ["running"]}}})


# --- arrays in the event -----------------------------------------------------------------------------


def test_an_array_in_the_event_matches_if_the_intersection_is_not_empty() -> None:
    pattern = {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                             "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}
    event = {"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x",
                           "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}
    assert matches(pattern, event)
    assert not matches(pattern, {"resources": ["arn:aws:s3:::b"]})


def test_nested_arrays_are_crushed() -> None:
    assert matches({"a": [3]}, {"a": [[1, 2], [3]]})
    assert matches({"a": {"b": ["x"]}}, {"a": [[{"b": "y"}], [{"b": "x"}]]})


EMPLOYEES = {"employees": [
    {"firstName": "John", "lastName": "Doe"},
    {"firstName": "Anna", "lastName": "Smith"},
    {"firstName": "Peter", "lastName": "Jones"},
]}


def test_fields_inside_an_array_of_objects_must_come_from_one_element() -> None:
    assert matches({"employees": {"firstName": ["Anna"]}}, EMPLOYEES)
    assert matches({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, EMPLOYEES)
    # Anna and Jones are in different elements: event-ruler's array-consistent matching refuses it
    assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, EMPLOYEES)


def test_array_consistency_spans_levels_and_leaves_other_arrays_free() -> None:
    event = {"orders": [{"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}]}, {"id": 2, "lines": [{"sku": "c"}]}],
             "tags": ["x", "y"]}
    assert matches({"orders": {"id": [1], "lines": {"sku": ["b"]}}, "tags": ["y"]}, event)
    assert not matches({"orders": {"id": [2], "lines": {"sku": ["b"]}}}, event)
    assert matches({"orders": {"id": [2], "lines": {"sku": ["c"]}}}, event)


def test_an_empty_array_or_an_object_is_not_a_value() -> None:
    assert matches({"a": [{"exists": False}]}, {"a": []})
    assert not matches({"a": [{"exists": True}]}, {"a": []})
    assert matches({"a": [{"exists": False}]}, {"a": {"b": 1}})  # exists looks at leaves only
    assert not matches({"a": [{"anything-but": "x"}]}, {"a": {"b": 1}})


# --- prefix, suffix, equals-ignore-case, wildcard ---------------------------------------------------


def test_prefix_and_suffix_work_on_strings_only() -> None:
    assert matches({"f": [{"prefix": "ab"}]}, {"f": "abc"})
    assert matches({"f": [{"prefix": ""}]}, {"f": "abc"})
    assert not matches({"f": [{"prefix": "1"}]}, {"f": 123})
    assert matches({"f": [{"suffix": ".png"}]}, {"f": "a.png"})
    assert not matches({"f": [{"suffix": ".png"}]}, {"f": "a.PNG"})


def test_prefix_and_suffix_ignoring_case() -> None:
    assert matches({"s": [{"prefix": {"equals-ignore-case": "EventB"}}]}, {"s": "eventbridge"})
    assert matches({"s": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"s": "PHOTO.PNG"})
    assert not matches({"s": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"s": "photo.jpg"})


def test_equals_ignore_case() -> None:
    assert matches({"name": [{"equals-ignore-case": "alice"}]}, {"name": "ALICE"})
    assert not matches({"name": [{"equals-ignore-case": "alice"}]}, {"name": "alicia"})
    assert not matches({"name": [{"equals-ignore-case": "5"}]}, {"name": 5})


@pytest.mark.parametrize(("wildcard", "value", "expected"), [
    ("*.png", "dir/file.png", True),
    ("*.png", ".png", True),  # * is any run, even an empty one
    ("dir/*/file", "dir/a/b/file", True),
    ("dir/*/file", "dir/file", False),
    ("Simple*Service", "SimpleNotificationService", True),
    ("a*b*c", "abc", True),
    ("a*b*c", "acb", False),
    (r"a\*b", "a*b", True),
    (r"a\*b", "axb", False),
    (r"a\\b", "a\\b", True),
    ("exact", "exact", True),
    ("exact", "exactly", False),
    ("*", "", True),
])
def test_wildcard(wildcard: str, value: str, expected: bool) -> None:
    assert matches({"f": [{"wildcard": wildcard}]}, {"f": value}) is expected


def test_wildcard_does_not_match_numbers() -> None:
    assert not matches({"f": [{"wildcard": "*"}]}, {"f": 5})


# --- anything-but ------------------------------------------------------------------------------------


def test_anything_but_needs_the_field() -> None:
    assert not matches({"state": [{"anything-but": "x"}]}, {"other": 1})
    assert matches({"state": [{"anything-but": "x"}]}, {"state": None})
    assert matches({"state": [{"anything-but": "x"}]}, {"state": 5})


def test_anything_but_on_an_array_matches_if_some_element_is_not_excluded() -> None:
    assert matches({"s": [{"anything-but": ["a"]}]}, {"s": ["a", "b"]})
    assert not matches({"s": [{"anything-but": ["a", "b"]}]}, {"s": ["a", "b"]})


def test_anything_but_numbers_compare_by_value() -> None:
    assert not matches({"n": [{"anything-but": [100, 200]}]}, {"n": 200.0})
    assert matches({"n": [{"anything-but": [100, 200]}]}, {"n": "200"})
    assert matches({"n": [{"anything-but": 100}]}, {"n": 101})


@pytest.mark.parametrize(("inner", "value", "expected"), [
    ({"prefix": "us-"}, "eu-west-1", True),
    ({"prefix": "us-"}, "us-east-1", False),
    ({"prefix": ["us-", "eu-"]}, "eu-west-1", False),
    ({"prefix": ["us-", "eu-"]}, "ap-south-1", True),
    ({"suffix": ".png"}, "a.jpg", True),
    ({"suffix": ".png"}, "a.png", False),
    ({"equals-ignore-case": "initializing"}, "INITIALIZING", False),
    ({"equals-ignore-case": ["a", "b"]}, "B", False),
    ({"equals-ignore-case": ["a", "b"]}, "c", True),
    ({"wildcard": "*/lib/*"}, "/usr/lib/x", False),
    ({"wildcard": "*/lib/*"}, "/usr/bin/x", True),
    ({"prefix": "5"}, 5, True),  # not a string, so not excluded
])
def test_anything_but_set_operators(inner: dict[str, Any], value: Any, expected: bool) -> None:
    assert matches({"f": [{"anything-but": inner}]}, {"f": value}) is expected


# --- numeric -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("numeric", "value", "expected"), [
    ([">", 0], 0, False), ([">", 0], 0.000001, True), ([">=", 0], 0, True),
    (["<", 10], 10, False), (["<=", 10], 10, True), (["=", 10], 10.0, True), (["=", 10], 10.5, False),
    ([">", 0, "<", 5], 5, False), ([">", 0, "<=", 5], 5, True), ([">=", 0, "<", 5], 0, True),
    ([">", -5e9, "<", 5e9], 0, True),
    ([">", 0], "5", False), ([">", 0], True, False), ([">", 0], None, False),
    ([">", 0], 6e9, False),  # beyond 5e9 an event value has no numeric form
])
def test_numeric(numeric: list[Any], value: Any, expected: bool) -> None:
    assert matches({"n": [{"numeric": numeric}]}, {"n": value}) is expected


# --- exists, cidr ------------------------------------------------------------------------------------


def test_exists() -> None:
    assert matches({"a": [{"exists": True}]}, {"a": None})
    assert matches({"a": [{"exists": False}]}, {})
    assert matches({"a": {"b": [{"exists": False}]}}, {"c": 1})
    assert not matches({"a": [{"exists": False}]}, {"a": None})
    # exists:false is about the whole event, even inside arrays of objects (event-ruler)
    assert not matches({"a": {"b": [1], "c": [{"exists": False}]}}, {"a": [{"b": 1}, {"c": 2}]})
    assert matches({"a": [{"exists": False}, "x"]}, {"a": "x"})


@pytest.mark.parametrize(("cidr", "ip", "expected"), [
    ("10.0.0.0/24", "10.0.0.255", True), ("10.0.0.0/24", "10.0.1.0", False),
    ("10.0.0.0/8", "10.200.1.2", True), ("0.0.0.0/0", "8.8.8.8", True),
    ("2001:db8::/32", "2001:db8:1::5", True), ("2001:db8::/32", "2001:db9::", False),
    ("10.0.0.0/24", "::a00:1", False), ("10.0.0.0/24", "not an ip", False),
    ("10.0.0.5/24", "10.0.0.3", False),  # the range starts at the address as written
    ("10.0.0.5/24", "10.0.0.200", True),
])
def test_cidr(cidr: str, ip: str, expected: bool) -> None:
    assert matches({"ip": [{"cidr": cidr}]}, {"ip": ip}) is expected


# --- $or ---------------------------------------------------------------------------------------------


def test_or_forks_the_pattern() -> None:
    either = {"$or": [{"source": ["aws.ec2"]}, {"source": ["aws.s3"]}]}
    assert matches(either)
    assert matches(either, {"source": "aws.s3"})
    assert not matches(either, {"source": "my.app"})


def test_or_with_and_inside_and_in_parallel() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"a": [1]}, {"b": [2]}]},
    }
    base = {"source": "aws.cloudwatch", "detail": {"b": 2}}
    assert matches(pattern, {**base, "metricName": "CPUUtilization"})
    assert matches(pattern, {**base, "metricType": "MetricType", "namespace": "AWS/EC2"})
    assert not matches(pattern, {**base, "metricType": "MetricType"})
    assert not matches(pattern, {**base, "metricName": "CPUUtilization", "detail": {"c": 3}})


def test_nested_or() -> None:
    pattern = {"$or": [{"a": [1]}, {"b": [2], "$or": [{"c": [3]}, {"d": [4]}]}]}
    assert matches(pattern, {"a": 1})
    assert matches(pattern, {"b": 2, "d": 4})
    assert not matches(pattern, {"b": 2})


# --- inputs ------------------------------------------------------------------------------------------


def test_patterns_and_events_may_be_json_text() -> None:
    rule = compile_pattern('{"source": ["aws.ec2"]}')
    assert rule.matches(json.dumps(EC2))
    assert not rule.matches("not json")
    assert not rule.matches("[1, 2]")
    assert rule.pattern == {"source": ["aws.ec2"]}


def test_an_event_that_is_not_an_object_matches_nothing() -> None:
    rule = compile_pattern({"a": [{"exists": False}]})
    assert not rule.matches([1])  # type: ignore[arg-type]
    assert rule.matches({})


def test_dots_in_keys_join_like_nesting() -> None:
    # event-ruler joins path steps with '.', so a dotted key and a nested one are the same field
    assert matches({"detail": {"state.status": ["running"]}}, {"detail": {"state": {"status": "running"}}})
    assert matches({"detail": {"state": {"status": ["running"]}}}, {"detail": {"state.status": "running"}})


def test_matching_does_not_change_the_event() -> None:
    event = json.loads(json.dumps(EMPLOYEES))
    compile_pattern({"employees": {"firstName": ["Anna"]}}).matches(event)
    assert event == EMPLOYEES


def test_repr_and_error_root() -> None:
    assert "EventPattern" in repr(compile_pattern({"a": [1]}))
    assert issubclass(PatternError, FlowengineError) and issubclass(PatternError, ValueError)


# --- validation --------------------------------------------------------------------------------------

INVALID: list[tuple[Any, str, tuple[str | int, ...]]] = [
    ([], "Filter is not an object", ()),
    ("{nope", "Filter is not valid JSON", ()),
    ({}, "Empty objects are not allowed", ()),
    ({"detail": {}}, "Empty objects are not allowed", ("detail",)),
    ({"source": "aws.ec2"}, '"source" must be an object or an array', ("source",)),
    ({"detail": {"pipeline": {"slug": "x"}}}, '"slug" must be an object or an array', ("detail", "pipeline", "slug")),
    ({"source": []}, "Empty arrays are not allowed", ("source",)),
    ({"source": [["a"]]}, "Match value must be String, number, true, false, or null", ("source", 0)),
    ({"a": [{}]}, "Match expression name not found", ("a", 0)),
    ({"a": [{"prefix": "a", "suffix": "b"}]}, "Only one key allowed in match expression", ("a", 0)),
    ({"a": [{"regex": "a"}]}, "Unrecognized match type regex", ("a", 0, "regex")),
    ({"a": [{"prefix": 5}]}, "prefix match pattern must be a string", ("a", 0, "prefix")),
    ({"a": [{"suffix": None}]}, "suffix match pattern must be a string", ("a", 0, "suffix")),
    ({"a": [{"prefix": {"wildcard": "x"}}]}, "Unsupported prefix pattern: wildcard", ("a", 0, "prefix", "wildcard")),
    ({"a": [{"prefix": {"equals-ignore-case": 1}}]}, "equals-ignore-case match pattern must be a string",
     ("a", 0, "prefix", "equals-ignore-case")),
    ({"a": [{"equals-ignore-case": ["x"]}]}, "equals-ignore-case match pattern must be a string",
     ("a", 0, "equals-ignore-case")),
    ({"a": [{"exists": "true"}]}, "exists match pattern must be either true or false.", ("a", 0, "exists")),
    ({"a": [{"wildcard": 1}]}, "wildcard match pattern must be a string", ("a", 0, "wildcard")),
    ({"a": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters at pos 2", ("a", 0, "wildcard")),
    ({"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2", ("a", 0, "wildcard")),
    ({"a": [{"numeric": 5}]}, "Value of numeric must be an array.", ("a", 0, "numeric")),
    ({"a": [{"numeric": []}]}, "Invalid member in numeric match: ]", ("a", 0, "numeric")),
    ({"a": [{"numeric": [5]}]}, "Invalid member in numeric match: 5", ("a", 0, "numeric")),
    ({"a": [{"numeric": ["!=", 5]}]}, "Unrecognized numeric range operator: !=", ("a", 0, "numeric", 0)),
    ({"a": [{"numeric": ["=", "5"]}]}, "Value of equals must be numeric", ("a", 0, "numeric", 1)),
    ({"a": [{"numeric": [">", True]}]}, "Value of > must be numeric", ("a", 0, "numeric", 1)),
    ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "Too many elements in numeric expression", ("a", 0, "numeric")),
    ({"a": [{"numeric": [">", 5, 6]}]}, "Bad value in numeric range: 6", ("a", 0, "numeric", 2)),
    ({"a": [{"numeric": [">", 5, ">", 6]}]}, "Bad numeric range operator: >", ("a", 0, "numeric", 2)),
    ({"a": [{"numeric": [">", 5, "<", "x"]}]}, "Value of < must be numeric", ("a", 0, "numeric", 3)),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top", ("a", 0, "numeric")),
    ({"a": [{"numeric": [">", 5, "<=", 5]}]}, "Bottom must be less than top", ("a", 0, "numeric")),
    ({"a": [{"numeric": [">", 1, "<", 5, 6]}]}, "Too many terms in numeric range expression", ("a", 0, "numeric")),
    ({"a": [{"numeric": [">", 6e9]}]}, "Value must be between -5.0E9 and 5.0E9, inclusive", ("a", 0, "numeric", 1)),
    ({"a": [{"anything-but": None}]}, "Value of anything-but must be an array or single string/number value.",
     ("a", 0, "anything-but")),
    ({"a": [{"anything-but": ["x", 1]}]},
     "Inside anything but list, either all values are number or string, mixed type is not supported",
     ("a", 0, "anything-but")),
    ({"a": [{"anything-but": []}]},
     "Inside anything but list, either all values are number or string, mixed type is not supported",
     ("a", 0, "anything-but")),
    ({"a": [{"anything-but": [True]}]}, "Inside anything but list, start|null|boolean is not supported.",
     ("a", 0, "anything-but", 0)),
    ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "Unsupported anything-but pattern: numeric",
     ("a", 0, "anything-but", "numeric")),
    ({"a": [{"anything-but": {}}]}, "Anything-But expression name not found", ("a", 0, "anything-but")),
    ({"a": [{"anything-but": {"prefix": ""}}]}, "Null prefix/suffix not allowed", ("a", 0, "anything-but", "prefix")),
    ({"a": [{"anything-but": {"suffix": [1]}}]}, "prefix/suffix match pattern must be a string",
     ("a", 0, "anything-but", "suffix", 0)),
    ({"a": [{"anything-but": {"equals-ignore-case": 5}}]},
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
     ("a", 0, "anything-but", "equals-ignore-case")),
    ({"a": [{"anything-but": {"wildcard": "a**"}}]}, "Consecutive wildcard characters at pos 2",
     ("a", 0, "anything-but", "wildcard")),
    ({"a": [{"cidr": 5}]}, "prefix match pattern must be a string", ("a", 0, "cidr")),
    ({"a": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required", ("a", 0, "cidr")),
    ({"a": [{"cidr": "10.0.0.0/x"}]}, "Malformed CIDR, mask bits must be an integer", ("a", 0, "cidr")),
    ({"a": [{"cidr": "10.0.0.0/-1"}]}, "Malformed CIDR, mask bits must not be negative", ("a", 0, "cidr")),
    ({"a": [{"cidr": "host.example/8"}]}, "Nonstandard IP address: host.example", ("a", 0, "cidr")),
    ({"a": [{"cidr": "10.0.0.0/32"}]}, "IPv4 mask bits must be < 32", ("a", 0, "cidr")),
    ({"a": [{"cidr": "::/128"}]}, "IPv6 mask bits must be < 128", ("a", 0, "cidr")),
    ({"$or": {"a": [1]}}, "It must be an Array followed with $or.", ("$or",)),
    ({"$or": [{"a": [1]}]}, "There must have at least 2 Objects in $or relationship.", ("$or",)),
    ({"$or": [{"a": [1]}, "b"]}, "Only JSON object is allowed in array of $or relationship.", ("$or", 1)),
    ({"$or": [{"a": [1]}, {"numeric": [1]}]}, "numeric is Ruler reserved fieldName which cannot be used inside $or.",
     ("$or", 1, "numeric")),
]


@pytest.mark.parametrize(("pattern", "message", "path"), INVALID)
def test_invalid_patterns_fail_with_awss_reason_and_a_path(pattern: Any, message: str,
                                                           path: tuple[str | int, ...]) -> None:
    with pytest.raises(PatternError) as info:
        compile_pattern(pattern)
    assert info.value.message == message
    assert info.value.path == path
    assert str(info.value).startswith("Event pattern is not valid. Reason: " + message)


def test_error_text_names_the_place() -> None:
    with pytest.raises(PatternError, match=r"\(at detail\.state\[1\]\.anything-but\)$"):
        compile_pattern({"detail": {"state": ["x", {"anything-but": None}]}})
    assert format_path(()) == "" and format_path(("a", 0, "b")) == "a[0].b"


def test_reserved_words_are_fine_as_field_names_outside_or() -> None:
    assert matches({"prefix": ["x"]}, {"prefix": "x"})


# --- properties --------------------------------------------------------------------------------------

_keys = st.text(alphabet="abcdefgh-_", min_size=1, max_size=4)
_scalars = st.one_of(
    st.none(), st.booleans(), st.text(max_size=6),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(_keys, children, max_size=3)),
    max_leaves=12,
)
_events = st.dictionaries(_keys, _values, min_size=1, max_size=5)


def _leaves(node: Any, path: tuple[str, ...] = (), where: tuple[tuple[int, int], ...] = (),
            counter: list[int] | None = None) -> list[tuple[tuple[str, ...], Any, tuple[tuple[int, int], ...]]]:
    counter = counter if counter is not None else [0]
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, path + (k,), where, counter)
    elif isinstance(node, list):
        counter[0] += 1
        array = counter[0]
        for i, item in enumerate(node):
            out += _leaves(item, path, where + ((array, i),), counter)
    else:
        out.append((path, node, where))
    return out


def _consistent(a: tuple[tuple[int, int], ...], b: dict[int, int]) -> bool:
    return all(b.get(k, i) == i for k, i in a)


def _pattern_from(leaves: list[tuple[tuple[str, ...], Any, Any]]) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    for path, value, _ in leaves:
        node = pattern
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = [value]
    return pattern


def _usable(leaves: list[Any]) -> bool:
    # paths that are both a leaf and a parent cannot be written as one pattern; skip those
    paths = {p for p, _, _ in leaves}
    return all(p[:i] not in paths for p in paths for i in range(1, len(p)))


@settings(max_examples=300, deadline=None)
@given(_events, st.data())
def test_a_pattern_built_from_the_events_own_values_matches_it(event: dict[str, Any], data: st.DataObject) -> None:
    leaves = _leaves(event)
    assume(leaves)
    order = data.draw(st.permutations(range(len(leaves))))
    chosen, where = [], {}  # leaves that can all be matched together (one element per array)
    for i in order[: data.draw(st.integers(1, len(leaves)))]:
        path, _value, w = leaves[i]
        if _consistent(w, where) and path not in {p for p, _, _ in chosen}:
            chosen.append(leaves[i])
            where.update(dict(w))
    assume(_usable(chosen))
    assert compile_pattern(_pattern_from(chosen)).matches(event)


@settings(max_examples=300, deadline=None)
@given(_events, st.data())
def test_a_value_absent_from_the_field_does_not_match(event: dict[str, Any], data: st.DataObject) -> None:
    leaves = _leaves(event)
    assume(leaves)
    path = data.draw(st.sampled_from(leaves))[0]
    present = [v for p, v, _ in leaves if p == path]
    other = data.draw(st.text(min_size=7, max_size=9))  # longer than any generated string
    assume(other not in present)
    assert not compile_pattern(_pattern_from([(path, other, ())])).matches(event)


_pool = st.sampled_from(["x", "y", 1, 2, None, True])
_flat_patterns = st.dictionaries(st.sampled_from("abc"), st.lists(_pool, min_size=1, max_size=2), min_size=1,
                                 max_size=2)
_flat_events = st.dictionaries(st.sampled_from("abcd"), st.one_of(_pool, st.lists(_pool, max_size=3)), max_size=4)


@settings(max_examples=200, deadline=None)
@given(_flat_events, _flat_patterns, _flat_patterns, _flat_patterns)
def test_or_is_the_union_of_its_alternatives(event: dict[str, Any], a: dict[str, Any], b: dict[str, Any],
                                             c: dict[str, Any]) -> None:
    def m(p: dict[str, Any]) -> bool:
        return compile_pattern(p).matches(event)

    assert m({"$or": [a, b]}) == (m(a) or m(b))
    assert m({"$or": [a, b, c]}) == (m(a) or m(b) or m(c))
    absent = event.get("d", []) == []  # an empty array is no value at all
    assert m({"d": [{"exists": False}], "$or": [a, b]}) == (absent and (m(a) or m(b)))


_texts = st.text(alphabet="ab/.*\\x", max_size=8)


@given(_texts, st.data())
def test_prefixes_suffixes_and_anything_but_prefix(value: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(value)))
    event = {"f": value}
    assert matches({"f": [{"prefix": value[:cut]}]}, event)
    assert matches({"f": [{"suffix": value[cut:]}]}, event)
    probe = data.draw(st.text(alphabet="ab/.", min_size=1, max_size=3))
    assert matches({"f": [{"anything-but": {"prefix": probe}}]}, event) == (not value.startswith(probe))
    assert matches({"f": [{"anything-but": {"suffix": probe}}]}, event) == (not value.endswith(probe))


@given(st.text(alphabet="abc./", max_size=10), st.data())
def test_a_wildcard_cut_out_of_a_value_matches_it(value: str, data: st.DataObject) -> None:
    # replace some non-adjacent slices of the value by '*'
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(value)), max_size=4))))
    pieces, last = [], 0
    for i, c in enumerate(cuts):
        if i % 2 == 0:
            pieces.append(value[last:c])
            last = c
        else:
            last = c
            pieces.append("*")
    if len(cuts) % 2:
        pieces.append("*")
    else:
        pieces.append(value[last:])
    wildcard = "".join(pieces)
    assume("**" not in wildcard)
    assert matches({"f": [{"wildcard": wildcard}]}, {"f": value})


_num = st.integers(min_value=-1000, max_value=1000).map(lambda n: n / 4)


@given(_num, _num, st.sampled_from([">", ">="]), st.sampled_from(["<", "<="]), _num)
def test_numeric_ranges_agree_with_arithmetic(low: float, high: float, lop: str, hop: str, value: float) -> None:
    assume(low < high)
    rule = compile_pattern({"n": [{"numeric": [lop, low, hop, high]}]})
    above = value > low if lop == ">" else value >= low
    below = value < high if hop == "<" else value <= high
    assert rule.matches({"n": value}) == (above and below)
    assert rule.matches({"n": int(value)}) == ((int(value) > low if lop == ">" else int(value) >= low)
                                               and (int(value) < high if hop == "<" else int(value) <= high))


@given(_events)
def test_matching_is_deterministic_and_total(event: dict[str, Any]) -> None:
    rule = compile_pattern({"$or": [{"a": [{"exists": False}]}, {"a": [{"anything-but": "x"}]}]})
    assert isinstance(rule, EventPattern)
    assert rule.matches(event) == rule.matches(json.loads(json.dumps(event)))

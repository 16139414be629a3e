"""SNS filter policies, Lambda filter criteria and S3 notification filters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowengine.lang.filters import (
    S3_EVENT_TYPES,
    FilterCriteriaError,
    FilterPolicyError,
    S3FilterError,
    S3KeyFilter,
    S3NotificationFilter,
    attributes_as_values,
    compile_filter_criteria,
    compile_filter_policy,
    s3_encode_key,
    s3_event_matches,
    s3_event_type,
)
from flowengine.lang.patterns import PatternError, compile_pattern
from flowengine.events.payloads import s3_event, sqs_event

# --- SNS: message attributes ---------------------------------------------------------------------------

# the example of the SNS developer guide
ATTRIBUTES = {
    "customer_interests": {"Type": "String.Array", "Value": '["soccer", "rugby", "hockey"]'},
    "store": {"Type": "String", "Value": "example_corp"},
    "event": {"Type": "String", "Value": "order_placed"},
    "price_usd": {"Type": "Number", "Value": "210.75"},
    "image": {"Type": "Binary", "Value": "aGVsbG8="},
}


@pytest.mark.parametrize(("policy", "expected"), [
    ({"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}],
      "customer_interests": ["rugby", "football", "baseball"], "price_usd": [{"numeric": [">=", 100]}]}, True),
    ({"store": ["example_corp"]}, True),
    ({"store": ["other_corp"]}, False),
    ({"customer_interests": ["rugby"]}, True),
    ({"customer_interests": ["golf"]}, False),
    ({"customer_interests": [{"prefix": "hock"}]}, True),
    ({"price_usd": [{"numeric": [">", 100, "<=", 200]}]}, False),
    ({"price_usd": [210.75]}, True),
    ({"price_usd": ["210.75"]}, False),  # a Number attribute is not the string "210.75"
    ({"store": [{"numeric": [">", 0]}]}, False),
    ({"store": [{"exists": True}]}, True),
    ({"coupon": [{"exists": False}]}, True),
    ({"coupon": [{"exists": True}]}, False),
    ({"image": [{"exists": True}]}, False),  # binary attributes are never compared
    ({"event": [{"anything-but": {"prefix": "order"}}]}, False),
    ({"event": [{"suffix": "_placed"}]}, True),
    ({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, True),
    ({"$or": [{"store": ["nope"]}, {"event": ["order_placed"]}]}, True),
    ({"$or": [{"store": ["nope"]}, {"event": ["nope"]}]}, False),
    ({"coupon": [{"anything-but": "x"}]}, False),  # anything-but needs the attribute
])
def test_attribute_policies(policy: dict[str, Any], expected: bool) -> None:
    assert compile_filter_policy(policy).matches(ATTRIBUTES) is expected


def test_exists_as_sns_documents_it() -> None:
    # exists:true wants a non-null, non-empty value; exists:false never matches an empty attribute set
    present = compile_filter_policy({"store": [{"exists": True}]})
    assert present.matches({"store": "fans"})
    assert not present.matches({"store": ""})
    absent = compile_filter_policy({"store": [{"exists": False}]})
    assert absent.matches({"other": "x"})
    assert not absent.matches({})
    body = compile_filter_policy({"store": [{"exists": True}]}, scope="MessageBody")
    assert body.matches({"store": "fans"}) and not body.matches({"store": None}) and not body.matches({"store": ""})
    # EventBridge itself counts a null as present
    assert compile_pattern({"store": [{"exists": True}]}).matches({"store": None})


def test_ip_address_attributes() -> None:
    policy = compile_filter_policy({"source_ip": [{"cidr": "10.0.0.0/24"}]})
    assert policy.matches({"source_ip": "10.0.0.7"})
    assert not policy.matches({"source_ip": "10.0.1.7"})


def test_attribute_shapes_are_interchangeable() -> None:
    policy = compile_filter_policy({"kind": ["order"], "n": [{"numeric": [">", 1]}], "tags": ["b"]})
    shapes = [
        {"kind": {"Type": "String", "Value": "order"}, "n": {"Type": "Number", "Value": "2"},
         "tags": {"Type": "String.Array", "Value": '["a", "b"]'}},
        {"kind": {"DataType": "String", "StringValue": "order"}, "n": {"DataType": "Number", "StringValue": "2"},
         "tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'}},
        {"kind": {"dataType": "String", "stringValue": "order"}, "n": {"dataType": "Number", "stringValue": "2"},
         "tags": {"dataType": "String.Array", "stringValue": '["a", "b"]'}},
        {"kind": "order", "n": 2, "tags": ["a", "b"]},
    ]
    assert all(policy.matches(s) for s in shapes)
    assert not policy.matches("not attributes")


def test_attributes_as_values() -> None:
    assert attributes_as_values(ATTRIBUTES)["customer_interests"] == ["soccer", "rugby", "hockey"]
    assert "image" not in attributes_as_values(ATTRIBUTES)
    assert attributes_as_values({"n": {"Type": "Number.float", "Value": "1.5"}})["n"] == 1.5
    assert attributes_as_values({"b": b"raw"}) == {}


def test_string_array_elements_can_be_numbers() -> None:
    policy = compile_filter_policy({"ids": [{"numeric": [">", 10]}]})
    assert policy.matches({"ids": {"Type": "String.Array", "Value": "[1, 20]"}})
    assert not policy.matches({"ids": {"Type": "String.Array", "Value": "[1, 2]"}})


# --- SNS: message body ---------------------------------------------------------------------------------


def test_body_policies_match_nested_json() -> None:
    policy = compile_filter_policy({"order": {"status": ["paid"], "total": [{"numeric": [">", 100]}]}},
                                   scope="MessageBody")
    assert policy.matches(json.dumps({"order": {"status": "paid", "total": 150}}))
    assert policy.matches({"order": {"status": "paid", "total": 150}})
    assert not policy.matches(json.dumps({"order": {"status": "paid", "total": 50}}))
    assert not policy.matches("plain text")
    assert not policy.matches("[1]")
    assert policy.scope == "MessageBody" and "MessageBody" in repr(policy)


def test_body_policies_match_arrays() -> None:
    policy = compile_filter_policy({"lines": {"sku": ["b"]}}, scope="MessageBody")
    assert policy.matches({"lines": [{"sku": "a"}, {"sku": "b"}]})


# --- SNS: validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "scope", "message"), [
    ({"a": {"b": ["x"]}}, "MessageAttributes", "Filter policy scope MessageAttributes does not support nested filter policy"),
    ({k: ["x"] for k in "abcdef"}, "MessageAttributes", "Filter policy can not have more than 5 keys"),
    ({k: {"x": ["y"]} for k in "abcdef"}, "MessageBody", "Filter policy can not have more than 5 keys"),
    ({"a": list(range(10)), "b": list(range(16))}, "MessageAttributes", "Filter policy is too complex"),
    # nesting weighs: 4 values three levels down and 3 two levels down are 4*3 * 3*2 = 72 combinations
    ({"a": {"b": {"c": list(range(4))}}, "d": {"e": list(range(3))}}, "MessageBody", None),
    ({"a": {"b": {"c": list(range(7))}}, "d": {"e": list(range(5))}}, "MessageBody", "Filter policy is too complex"),
    ({"a": [{"wildcard": "x*"}]}, "MessageAttributes", "Unrecognized match type wildcard"),
    ({"a": [{"anything-but": {"wildcard": "x*"}}]}, "MessageAttributes", "Unsupported anything-but pattern: wildcard"),
    ({"a": []}, "MessageAttributes", "Empty arrays are not allowed"),
    ({"a": "x"}, "MessageAttributes", '"a" must be an object or an array'),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, "MessageBody", "Bottom must be less than top"),
    ("{", "MessageAttributes", "Filter is not valid JSON"),
])
def test_invalid_policies(policy: Any, scope: Any, message: str | None) -> None:
    if message is None:
        compile_filter_policy(policy, scope=scope)
        return
    with pytest.raises(FilterPolicyError) as info:
        compile_filter_policy(policy, scope=scope)
    assert info.value.message == message
    assert str(info.value).startswith("Invalid parameter: FilterPolicy: ")


def test_or_alternatives_add_up_in_complexity() -> None:
    compile_filter_policy({"$or": [{"a": list(range(100))}, {"b": list(range(50))}]})
    with pytest.raises(FilterPolicyError, match="too complex"):
        compile_filter_policy({"$or": [{"a": list(range(100))}, {"b": list(range(51))}]})


def test_policy_errors_are_pattern_errors_and_scope_is_checked() -> None:
    assert issubclass(FilterPolicyError, PatternError)
    with pytest.raises(FilterPolicyError, match="FilterPolicyScope"):
        compile_filter_policy({"a": ["x"]}, scope="Body")  # type: ignore[arg-type]


def test_policies_may_be_json_text() -> None:
    assert compile_filter_policy('{"a": ["x"]}').matches({"a": "x"})


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", 1, 2]), max_size=3),
       st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", 1, 2]))
def test_plain_and_sns_shaped_attributes_agree(attrs: dict[str, Any], key: str, value: Any) -> None:
    def shaped(v: Any) -> dict[str, str]:
        return {"Type": "String", "Value": v} if isinstance(v, str) else {"Type": "Number", "Value": str(v)}

    policy = compile_filter_policy({key: [value]})
    assert policy.matches(attrs) == policy.matches({k: shaped(v) for k, v in attrs.items()})
    assert policy.matches(attrs) == (attrs.get(key, object()) == value)


# --- Lambda filter criteria ----------------------------------------------------------------------------


def test_sqs_body_is_matched_as_json_when_it_is_an_object() -> None:
    criteria = compile_filter_criteria({"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]})
    records = sqs_event([{"kind": "order"}, {"kind": "refund"}, "kind order"])["Records"]
    assert [criteria.matches(r) for r in records] == [True, False, False]
    assert criteria.filter(records) == records[:1]


def test_a_string_pattern_on_body_matches_plain_text_only() -> None:
    criteria = compile_filter_criteria([{"body": [{"prefix": "ERROR"}]}])
    records = sqs_event(["ERROR disk full", "INFO ok", json.dumps({"ERROR": 1})])["Records"]
    assert [criteria.matches(r) for r in records] == [True, False, False]


def test_filters_are_ored_and_may_look_at_attributes() -> None:
    criteria = compile_filter_criteria({"Filters": [
        {"Pattern": {"body": {"kind": ["a"]}}},
        {"Pattern": {"messageAttributes": {"priority": {"stringValue": ["high"]}}}},
    ]})
    high = sqs_event(records=[{"body": "x", "message_attributes": {"priority": "high"}}])["Records"][0]
    assert criteria.matches(high)
    assert criteria.matches(sqs_event([{"kind": "a"}])["Records"][0])
    assert not criteria.matches(sqs_event([{"kind": "b"}])["Records"][0])
    assert compile_filter_criteria({"Filters": []}).matches(high)


@pytest.mark.parametrize(("criteria", "message", "path"), [
    ({"Filters": [{"Pattern": '{"body": {"ip": [{"cidr": "10.0.0.0/8"}]}}'}]}, "Unrecognized match type cidr",
     ("Filters", 0, "Pattern", "body", "ip", 0, "cidr")),
    ([{"a": ["x"]}, {"a": [{"wildcard": "*"}]}], "Unrecognized match type wildcard", (1, "a", 0, "wildcard")),
    ({"a": []}, "Empty arrays are not allowed", ("a",)),
    ({"Filters": "x"}, "Filters must be a list", ("Filters",)),
    ({"Filters": [{"NotPattern": 1}]}, "each filter needs a Pattern", ("Filters", 0)),
])
def test_invalid_filter_criteria(criteria: Any, message: str, path: tuple[Any, ...]) -> None:
    with pytest.raises(FilterCriteriaError) as info:
        compile_filter_criteria(criteria)
    assert (info.value.message, info.value.path) == (message, path)
    assert str(info.value).startswith("Invalid filter pattern definition.")


# --- S3 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("configured", "event_name", "expected"), [
    ("created", "ObjectCreated:Put", True),
    ("created", "ObjectCreated:CompleteMultipartUpload", True),
    ("created", "ObjectRemoved:Delete", False),
    ("removed", "ObjectRemoved:DeleteMarkerCreated", True),
    ("deleted", "ObjectRemoved:Delete", True),
    ("s3:ObjectCreated:*", "s3:ObjectCreated:Copy", True),
    ("s3:ObjectCreated:Put", "ObjectCreated:Put", True),
    ("s3:ObjectCreated:Put", "ObjectCreated:Post", False),
    ("ObjectRemoved:Delete", "ObjectRemoved:Delete", True),
    ("s3:ObjectRestore:*", "ObjectRestore:Completed", True),
    ("s3:LifecycleTransition", "LifecycleTransition", True),
])
def test_s3_event_names(configured: str, event_name: str, expected: bool) -> None:
    assert s3_event_matches(configured, event_name) is expected


def test_s3_event_types_are_checked() -> None:
    assert s3_event_type("created") == "s3:ObjectCreated:*"
    assert s3_event_type("ObjectCreated:Put") == "s3:ObjectCreated:Put"
    with pytest.raises(S3FilterError, match="not supported for notifications") as info:
        s3_event_type("s3:objectcreated:put")
    assert info.value.hint == "did you mean s3:ObjectCreated:Put?"
    with pytest.raises(S3FilterError):
        s3_event_type("updated")
    with pytest.raises(S3FilterError):
        s3_event_type(5)  # type: ignore[arg-type]
    assert all(s3_event_type(t) == t for t in S3_EVENT_TYPES)


def test_key_filters() -> None:
    f = S3KeyFilter(prefix="incoming/", suffix=".csv")
    assert f.matches("incoming/2024/a.csv")
    assert not f.matches("outgoing/a.csv")
    assert not f.matches("incoming/a.csv.gz")
    assert S3KeyFilter().matches("anything")
    # S3 compares the URL-encoded key: a space in a filter is written '+'
    assert S3KeyFilter(prefix="my+docs/").matches("my docs/a.txt")
    assert not S3KeyFilter(prefix="my docs/").matches("my docs/a.txt")
    with pytest.raises(S3FilterError):
        S3KeyFilter(prefix=5)  # type: ignore[arg-type]
    with pytest.raises(S3FilterError, match="1024"):
        S3KeyFilter(suffix="x" * 1025)


def test_s3_encode_key() -> None:
    assert s3_encode_key("red flower.jpg") == "red+flower.jpg"
    assert s3_encode_key("a/b=c/d+e~f") == "a/b%3Dc/d%2Be%7Ef"
    assert s3_encode_key("café") == "caf%C3%A9"


def test_notification_filters_from_trigger_options() -> None:
    f = S3NotificationFilter.from_options({"events": ["created"], "prefix": "in/", "suffix": ".csv"})
    assert f.events == ("s3:ObjectCreated:*",)
    assert f.matches("ObjectCreated:Put", "in/a.csv")
    assert not f.matches("ObjectRemoved:Delete", "in/a.csv")
    assert not f.matches("ObjectCreated:Put", "out/a.csv")
    both = S3NotificationFilter.from_options({"events": ["created", "removed"]})
    assert both.matches("ObjectRemoved:Delete", "x") and both.matches("ObjectCreated:Copy", "x")
    assert S3NotificationFilter.from_options({}).events == ("s3:ObjectCreated:*",)
    assert S3NotificationFilter("removed").events == ("s3:ObjectRemoved:*",)
    with pytest.raises(S3FilterError):
        S3NotificationFilter(())
    with pytest.raises(S3FilterError):
        S3NotificationFilter.from_options({"events": ["changed"]})


def test_notification_filters_on_records() -> None:
    f = S3NotificationFilter.from_options({"events": ["created"], "prefix": "my+docs/"})
    record = s3_event("b", "my docs/a.txt")["Records"][0]
    assert f.matches_record(record)
    assert not f.matches_record(s3_event("b", "my docs/a.txt", "removed")["Records"][0])
    assert not f.matches_record({"eventName": "ObjectCreated:Put"})

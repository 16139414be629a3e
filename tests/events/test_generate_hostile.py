"""`flowengine event generate` and payloads.generate on bad option values (issue 11, items 10
and 14): a clear usage error, never an AttributeError, a negative size or a NaN in the output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.events import payloads


@pytest.mark.parametrize("argv, message", [
    (["apigateway", "--headers", "[1,2]"], "--headers must be a JSON object, not an array"),
    (["apigateway-http", "--query", '"q"'], "--query must be a JSON object, not a string"),
    (["apigateway", "--headers", '{"a": {"b": 1}}'],
     "--headers: the value of 'a' must be a string, a number, or a list of them, not an object"),
    (["apigateway", "--headers", '{"a": true}'],
     "--headers: the value of 'a' must be a string, a number, or a list of them, not a boolean"),
    (["s3-put", "--size", "-5"], "--size must be 0 or more, not -5"),
    (["s3-eventbridge", "--size", "-1"], "--size must be 0 or more, not -1"),
    (["eventbridge", "--detail", '{"a": NaN}'], "--detail: not JSON (NaN is not a JSON number"),
    (["eventbridge", "--detail", '{"a": 1e999}'], "--detail: not JSON (the number 1e999 is out of range"),
    (["eventbridge", "--detail", "[1]"], "--detail must be a JSON object, not an array"),
])
def test_bad_option_values_are_usage_errors(argv: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["event", "generate", *argv])
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("kind, options, message", [
    ("apigateway", {"headers": [1, 2]}, "--headers must be a JSON object, not an array"),
    ("s3-put", {"size": -5}, "--size must be 0 or more, not -5"),
    ("eventbridge", {"detail": {"a": float("nan")}}, "--detail: not JSON"),
    ("eventbridge", {"detail": '{"a": Infinity}'}, "--detail: not JSON (Infinity is not a JSON number"),
])
def test_the_library_refuses_them_too(kind: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(payloads.PayloadError, match="^" + message.replace("(", r"\(")):
        payloads.generate(kind, **options)


def test_good_values_still_generate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["event", "generate", "apigateway", "--headers", '{"X-A": ["1", 2], "X-B": 1.5}',
                 "--query", '{"page": "2"}']) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["multiValueHeaders"]["X-A"] == ["1", "2"] and event["headers"]["X-B"] == "1.5"
    assert payloads.generate("s3-put", size=0)["Records"][0]["s3"]["object"]["size"] == 0


def test_a_put_events_entry_with_nan_detail_is_malformed() -> None:
    with pytest.raises(payloads.PayloadError, match="Detail is malformed"):
        payloads.event_from_put_events_entry({"Source": "s", "DetailType": "d", "Detail": '{"a": NaN}'})

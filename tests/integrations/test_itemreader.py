"""Distributed Map: ItemReader (JSON, JSONL, CSV, listing) and ResultWriter against emulated S3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowengine.model.failure import StatesFailure
from flowengine.runtime.engine import Engine
from flowengine.engine.itemreader import parse_items

from .conftest import Aws, events_of

GET = "arn:aws:states:::s3:getObject"
LIST = "arn:aws:states:::s3:listObjectsV2"
PUT = "arn:aws:states:::s3:putObject"


def dmap(reader: dict[str, Any] | None = None, writer: dict[str, Any] | None = None,
         processor: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          **(processor or {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}})},
        "End": True,
    }
    if reader is not None:
        state["ItemReader"] = reader
    if writer is not None:
        state["ResultWriter"] = writer
    state.update(fields)
    return {"StartAt": "Map", "States": {"Map": state}}


def reader(resource: str = GET, **config: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"Resource": resource, "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"}}
    if resource == LIST:
        spec["Parameters"] = {"Bucket.$": "$.bucket", "Prefix": "in/"}
    if config:
        spec["ReaderConfig"] = config
    return spec


ROWS = [{"id": 1, "sku": "a"}, {"id": 2, "sku": "b"}, {"id": 3, "sku": "c"}]


def test_json_array(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"items.json": ROWS})
    result = engine.run(dmap(reader(InputType="JSON")), {"bucket": bucket, "key": "items.json"})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == ROWS
    assert result.event_types[:4] == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted"]


def test_json_items_pointer_and_max_items(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"doc.json": {"page": {"rows": ROWS}}})
    result = engine.run(dmap(reader(InputType="JSON", ItemsPointer="/page/rows", MaxItems=2)),
                        {"bucket": bucket, "key": "doc.json"})
    assert result.output == ROWS[:2]


def test_jsonl(aws: Aws, engine: Engine) -> None:
    body = "\n".join(json.dumps(r) for r in ROWS) + "\n\n"
    bucket = aws.bucket(objects={"items.jsonl": body})
    result = engine.run(dmap(reader(InputType="JSONL")), {"bucket": bucket, "key": "items.jsonl"})
    assert result.output == ROWS


def test_csv_with_a_header_row_and_item_selector(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"items.csv": "id,sku\n1,a\n2,b\n3,\n"})
    definition = dmap(reader(InputType="CSV", CSVHeaderLocation="FIRST_ROW"),
                      ItemSelector={"row.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"})
    result = engine.run(definition, {"bucket": bucket, "key": "items.csv"})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [{"row": {"id": "1", "sku": "a"}, "index": 0}, {"row": {"id": "2", "sku": "b"}, "index": 1},
                             {"row": {"id": "3", "sku": ""}, "index": 2}]


def test_csv_with_given_headers_max_items_path_and_delimiter(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"items.csv": "1|a\n2|b\n3|c\n"})
    spec = reader(InputType="CSV", CSVHeaderLocation="GIVEN", CSVHeaders=["id", "sku"], CSVDelimiter="PIPE",
                  MaxItemsPath="$.max")
    result = engine.run(dmap(spec), {"bucket": bucket, "key": "items.csv", "max": 2})
    assert result.output == [{"id": "1", "sku": "a"}, {"id": "2", "sku": "b"}]


def test_listing(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"in/a.txt": "aaa", "in/b.txt": "bb", "other/c.txt": "c"})
    result = engine.run(dmap(reader(LIST)), {"bucket": bucket})
    assert result.status == "SUCCEEDED", result.cause
    assert [(i["Key"], i["Size"]) for i in result.output] == [("in/a.txt", 3), ("in/b.txt", 2)]
    first = result.output[0]
    assert set(first) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert first["Etag"].startswith('"') and first["StorageClass"] == "STANDARD"


def test_listing_across_pages(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={f"in/{i:02}": "x" for i in range(5)})
    spec = reader(LIST, MaxItems=4)
    spec["Parameters"]["MaxKeys"] = 2  # pages of two objects
    result = engine.run(dmap(spec), {"bucket": bucket})
    assert [i["Key"] for i in result.output] == ["in/00", "in/01", "in/02", "in/03"]


def test_jsonata_arguments(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"items.json": ROWS})
    definition = dmap({"Resource": GET, "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "items.json"},
                       "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"}},
                      QueryLanguage="JSONata")
    result = engine.run(definition, {"bucket": bucket, "max": 1})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == ROWS[:1]


def test_reader_failures(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"obj.json": {"not": "a list"}, "dup.csv": "a,a\n1,2\n"})
    missing = engine.run(dmap(reader(InputType="JSON")), {"bucket": bucket, "key": "nope.json"})
    assert missing.error == "States.ItemReaderFailed"
    assert missing.cause.startswith("S3.NoSuchKeyException: The specified key does not exist.")
    assert "MapStateFailed" in missing.event_types
    scalar = engine.run(dmap(reader(InputType="JSON")), {"bucket": bucket, "key": "obj.json"})
    assert (scalar.error, scalar.cause) == ("States.ItemReaderFailed", "Attempting to map over non-iterable node.")
    dup = engine.run(dmap(reader(InputType="CSV")), {"bucket": bucket, "key": "dup.csv"})
    assert (dup.error, dup.cause) == ("States.ItemReaderFailed", "CSV headers cannot contain duplicates.")


def test_reader_failure_is_retried_and_caught(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket()
    definition = dmap(reader(InputType="JSON"), Retry=[{"ErrorEquals": ["States.ItemReaderFailed"], "MaxAttempts": 1}],
                      Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Empty"}])
    definition["States"]["Map"].pop("End")
    definition["States"]["Map"]["Next"] = "Done"
    definition["States"].update({"Empty": {"Type": "Pass", "Result": [], "End": True},
                                 "Done": {"Type": "Pass", "End": True}})
    result = engine.run(definition, {"bucket": bucket, "key": "nope"})
    assert (result.status, result.output) == ("SUCCEEDED", [])


def test_without_an_s3_integration_the_reader_says_what_to_do() -> None:
    with Engine(validate=False) as engine:
        result = engine.run(dmap(reader(InputType="JSON")), {"bucket": "b", "key": "k"})
    assert result.error == "States.ItemReaderFailed"
    # what a user can do where they are (issue 12, item 6): the emulated S3 of flowengine run
    assert "flowengine run" in result.cause and "--object s3://BUCKET/KEY=FILE" in result.cause


def test_result_writer(aws: Aws, engine: Engine) -> None:
    bucket = aws.bucket(objects={"items.json": ROWS})
    out = aws.bucket("results-bucket")
    definition = dmap(reader(InputType="JSON"), {"Resource": PUT, "Parameters": {"Bucket": out, "Prefix": "runs"}},
                      processor={"StartAt": "Tag", "States": {"Tag": {"Type": "Pass", "Parameters": {"sku.$": "$.sku"},
                                                                      "End": True}}})
    result = engine.run(definition, {"bucket": bucket, "key": "items.json"})
    assert result.status == "SUCCEEDED", result.cause
    map_run_arn = result.output["MapRunArn"]
    run_id = map_run_arn.rsplit(":", 1)[1]
    assert map_run_arn == events_of(result, "MapRunStarted")[0]["mapRunStartedEventDetails"]["mapRunArn"]
    manifest_key = f"runs/{run_id}/manifest.json"
    assert result.output["ResultWriterDetails"] == {"Bucket": out, "Key": manifest_key}
    assert sorted(aws.keys(out)) == sorted([manifest_key, f"runs/{run_id}/SUCCEEDED_0.json"])
    manifest = aws.read(out, manifest_key)
    assert manifest["DestinationBucket"] == out and manifest["MapRunArn"] == map_run_arn
    assert manifest["ResultFiles"]["FAILED"] == [] and manifest["ResultFiles"]["PENDING"] == []
    [entry] = manifest["ResultFiles"]["SUCCEEDED"]
    assert entry["Key"] == f"runs/{run_id}/SUCCEEDED_0.json" and entry["Size"] > 0
    records = aws.read(out, entry["Key"])
    assert [json.loads(r["Output"]) for r in records] == [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]
    assert [json.loads(r["Input"]) for r in records] == ROWS
    first = records[0]
    assert first["Status"] == "SUCCEEDED" and first["StateMachineArn"].endswith(":stateMachine:StateMachine/Map")
    assert first["ExecutionArn"].endswith(":" + first["Name"]) and ":execution:StateMachine/Map:" in first["ExecutionArn"]
    assert first["StartDate"] == "2024-01-01T00:00:00.000Z"


def test_result_writer_exports_tolerated_failures(aws: Aws, engine: Engine) -> None:
    out = aws.bucket("results-bucket")
    processor = {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Ok"}],
                  "Default": "Bad"},
        "Ok": {"Type": "Succeed"},
        "Bad": {"Type": "Fail", "Error": "BadItem", "Cause": "not ok"}}}
    definition = dmap(None, {"Resource": PUT, "Parameters": {"Bucket": out, "Prefix": ""}}, processor,
                      ItemsPath="$.items", ToleratedFailurePercentage=50)
    result = engine.run(definition, {"items": [{"ok": True}, {"ok": False}, {"ok": True}]})
    assert result.status == "SUCCEEDED", result.cause
    key = result.output["ResultWriterDetails"]["Key"]
    manifest = aws.read(out, key)
    [failed_file] = manifest["ResultFiles"]["FAILED"]
    [failure] = aws.read(out, failed_file["Key"])
    assert (failure["Status"], failure["Error"], failure["Cause"]) == ("FAILED", "BadItem", "not ok")
    assert "Output" not in failure
    assert len(aws.read(out, manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])) == 2
    assert not key.startswith("/")


def test_a_failed_map_run_still_exports_its_results(aws: Aws, engine: Engine) -> None:
    out = aws.bucket("results-bucket")
    processor = {"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "BadItem"}}}
    definition = dmap(None, {"Resource": PUT, "Parameters": {"Bucket": out, "Prefix": "p/"}}, processor,
                      ItemsPath="$.items", MaxConcurrency=1)
    result = engine.run(definition, {"items": [1, 2, 3]})
    assert result.error == "States.ExceedToleratedFailureThreshold"
    [manifest_key] = [k for k in aws.keys(out) if k.endswith("manifest.json")]
    files = aws.read(out, manifest_key)["ResultFiles"]
    assert len(files["FAILED"]) == 1 and len(files["PENDING"]) == 1 and files["SUCCEEDED"] == []
    assert [r["Status"] for r in aws.read(out, files["PENDING"][0]["Key"])] == ["PENDING", "PENDING"]


@pytest.mark.parametrize("body, config, expected", [
    ('[1, 2, 3]', {"InputType": "JSON"}, [1, 2, 3]),
    ('{"a": [1]}', {"InputType": "JSON", "ItemsPointer": "/a"}, [1]),
    ('1\n"x"\n{"k": null}\n', {"InputType": "JSONL"}, [1, "x", {"k": None}]),
    ('h1,h2\nv1\n\nv3,v4,extra\n', {"InputType": "CSV"}, [{"h1": "v1", "h2": ""}, {"h1": "v3", "h2": "v4"}]),
    ('a;b\n"x;y";z\n', {"InputType": "CSV", "CSVDelimiter": "SEMICOLON"}, [{"a": "x;y", "b": "z"}]),
    ('a\tb\n1\t2\n', {"InputType": "CSV", "CSVDelimiter": "TAB", "CSVHeaderLocation": "GIVEN",
                      "CSVHeaders": ["x", "y"]}, [{"x": "a", "y": "b"}, {"x": "1", "y": "2"}]),
])
def test_parse_items(body: str, config: dict[str, Any], expected: list[Any]) -> None:
    assert parse_items(body, config) == expected


def test_parse_items_refuses_what_it_cannot_read() -> None:
    with pytest.raises(StatesFailure) as info:
        parse_items("x", {"InputType": "PARQUET"})
    assert info.value.error == "States.ItemReaderFailed"
    with pytest.raises(StatesFailure):
        parse_items("{bad", {"InputType": "JSONL"})

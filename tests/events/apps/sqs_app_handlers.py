"""Handlers of sqs.yaml: a poison message fails, the others are stored."""

from __future__ import annotations

import os
from typing import Any

import boto3

#: (function, receive counts of the batch) of every call, for the tests
CALLS: list[tuple[str, list[int]]] = []


def _counts(event: dict[str, Any]) -> list[int]:
    return [int(r["attributes"]["ApproximateReceiveCount"]) for r in event["Records"]]


def process_jobs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("ProcessJobs", _counts(event)))
    table = boto3.resource("dynamodb").Table(os.environ["DONE_TABLE"])
    failures = []
    for record in event["Records"]:
        if record["body"] == "poison":
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            table.put_item(Item={"id": record["body"]})
    return {"batchItemFailures": failures}


def process_strict(event: dict[str, Any], context: Any) -> None:
    CALLS.append(("ProcessStrict", _counts(event)))
    if any(r["body"] == "poison" for r in event["Records"]):
        raise ValueError("poison in the batch")

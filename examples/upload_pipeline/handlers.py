"""Lambda handlers of the upload pipeline (definitions/upload-pipeline.yaml).

They use plain boto3, as they would on AWS.  Under flowengine's app runtime the
calls reach in-process emulations of the app's bucket and table.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3


class UnreadableUpload(Exception):
    """The uploaded object is not a JSON document with a title."""


def _bucket_and_key(event: dict[str, Any]) -> tuple[str, str]:
    # The flow starts from S3 → EventBridge ("Object Created"); a direct S3 notification
    # record is accepted too, so the handler works behind either trigger.
    if "detail" in event:
        return event["detail"]["bucket"]["name"], event["detail"]["object"]["key"]
    record = event["Records"][0]["s3"]
    return record["bucket"]["name"], record["object"]["key"]


def extract_metadata(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read the uploaded document and return its metadata."""
    bucket, key = _bucket_and_key(event)
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        doc = json.loads(body)
        title = doc["title"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableUpload(f"s3://{bucket}/{key}: {exc}") from None
    return {"id": key.rsplit("/", 1)[-1], "bucket": bucket, "key": key, "title": title, "bytes": len(body)}


def write_legacy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Write the metadata to the legacy store (it takes two writers at a time)."""
    return {"stored": True, "record": f"legacy-{event['id']}"}


def index_document(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Index the document in the documents table."""
    table = boto3.resource("dynamodb").Table(os.environ["DOCUMENTS_TABLE"])
    table.put_item(Item={"id": event["id"], "title": event["title"], "key": event["key"]})
    return {"indexed": event["id"]}

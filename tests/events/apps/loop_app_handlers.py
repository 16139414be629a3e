"""Handler of recursion.yaml: writes a thumbnail next to every new object (and so loops)."""

from __future__ import annotations

from typing import Any

import boto3


def thumbnail(event: dict[str, Any], context: Any) -> None:
    s3 = boto3.client("s3")
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]
        s3.put_object(Bucket=bucket, Key=f"thumb-{key}", Body=b"small")

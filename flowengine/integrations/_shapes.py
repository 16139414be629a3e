"""Step Functions' request and response shapes for service integrations (pure helpers).

Shared by :mod:`flowengine.integrations.aws` (real AWS) and
:mod:`flowengine.integrations.services` (in-process emulation), so both name services,
serialize parameters and shape results the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: optimized integrations → (botocore service, operation, error prefix)
OPTIMIZED = {
    ("dynamodb", "getItem"): ("dynamodb", "GetItem", "DynamoDB"),
    ("dynamodb", "putItem"): ("dynamodb", "PutItem", "DynamoDB"),
    ("dynamodb", "updateItem"): ("dynamodb", "UpdateItem", "DynamoDB"),
    ("dynamodb", "deleteItem"): ("dynamodb", "DeleteItem", "DynamoDB"),
    ("sqs", "sendMessage"): ("sqs", "SendMessage", "SQS"),
    ("sns", "publish"): ("sns", "Publish", "SNS"),
    ("events", "putEvents"): ("events", "PutEvents", "EventBridge"),
}
#: SDK service names as error prefixes (Step Functions writes them PascalCase).
SDK_PREFIX = {"dynamodb": "DynamoDb", "s3": "S3", "sqs": "Sqs", "sns": "Sns", "sfn": "Sfn", "lambda": "Lambda",
              "eventbridge": "EventBridge", "acmpca": "AcmPca", "cloudwatchlogs": "CloudWatchLogs"}
#: SDK service names whose botocore name differs.
BOTOCORE_SERVICE = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs"}


def sdk_prefix(service: str) -> str:
    """The error prefix of an ``aws-sdk:<service>`` call (``s3`` → ``S3``, ``dynamodb`` → ``DynamoDb``)."""
    return SDK_PREFIX.get(service, service[:1].upper() + service[1:])


def serialize_optimized(service: str, params: dict[str, Any]) -> dict[str, Any]:
    """Step Functions sends JSON values where the API takes strings (a message body, a detail)."""
    def text(v: Any) -> Any:
        return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
    if service == "sqs" and "MessageBody" in params:
        params["MessageBody"] = text(params["MessageBody"])
    if service == "sns" and "Message" in params:
        params["Message"] = text(params["Message"])
    if service == "events" and isinstance(params.get("Entries"), list):
        params["Entries"] = [{**e, "Detail": text(e["Detail"])} if isinstance(e, dict) and "Detail" in e else e
                             for e in params["Entries"]]
    return params


def with_metadata(response: dict[str, Any]) -> dict[str, Any]:
    """An API response as the optimized integrations return it: the fields, plus
    ``SdkHttpMetadata`` and ``SdkResponseMetadata`` in place of botocore's ``ResponseMetadata``."""
    out = plain(response)
    meta = response.get("ResponseMetadata") or {}
    headers = meta.get("HTTPHeaders") or {}
    out["SdkHttpMetadata"] = {"AllHttpHeaders": {k: [v] for k, v in headers.items()}, "HttpHeaders": dict(headers),
                              "HttpStatusCode": meta.get("HTTPStatusCode", 200)}
    out["SdkResponseMetadata"] = {"RequestId": meta.get("RequestId", "")}
    return out


def plain(value: Any) -> Any:
    """JSON values only: no ResponseMetadata, bytes as text, datetimes as ISO text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


_CAMEL_TO_SNAKE = re.compile("((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")


def snake(name: str) -> str:
    """``executionArn``/``ExecutionArn`` → ``execution_arn``; ``ETag`` → ``e_tag``."""
    return _CAMEL_TO_SNAKE.sub(r"_\1", name).replace("__", "_").lower()


def sdk_cased(name: str) -> str:
    """A response member as the ``aws-sdk`` integrations name it (the AWS SDK for Java 2's
    field names, capitalised): ``executionArn`` → ``ExecutionArn``, ``ETag`` → ``ETag``,
    ``MD5OfMessageBody`` → ``Md5OfMessageBody``, ``ChecksumCRC32`` → ``ChecksumCrc32``."""
    return "".join(part.title() for part in snake(name).split("_"))

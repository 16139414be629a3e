"""Event payloads in AWS's exact shapes, for tests, the CLI and the local event chains.

Choose a factory when a handler or a flow needs the event AWS would deliver::

    s3_event("uploads", "incoming/report.csv")                # an S3 notification (Records)
    sqs_event(["first", {"order": 42}])                       # an SQS batch for a Lambda function
    eventbridge_event("shop.orders", "Order Placed", {"id": 7})

The shapes are those Lambda hands to a function (the reference is the AWS documentation and
the test events of Powertools for AWS Lambda).  Everything that AWS makes up (ids, request
ids, receipt handles, signatures, sequencers) comes from ``rng`` and every timestamp from
``time``, so two calls with the same arguments return the same payload.  The defaults are a
fixed instant (:data:`DEFAULT_TIME`, the virtual clock's default start), a fresh
``random.Random(0)``, account ``123456789012`` and region ``us-east-1``; pass your own to vary
them.  A naive ``time`` is taken as UTC.

:func:`generate` is the registry behind ``flowengine event generate KIND --option ...`` and
:func:`generate_options` describes each kind's options, so the CLI builds its arguments from it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from flowengine.dsl import files
from flowengine.errors import FlowengineError
from flowengine.lang.filters import S3_EVENT_TYPES, s3_encode_key
from flowengine.model.failure import json_type_name

__all__ = [
    "DEFAULT_ACCOUNT", "DEFAULT_REGION", "DEFAULT_TIME", "KINDS", "Option", "PayloadError",
    "apigateway_event", "apigateway_http_event", "describe", "dynamodb_event", "event_from_put_events_entry",
    "eventbridge_event",
    "generate", "generate_options", "put_events_entry", "s3_event", "s3_eventbridge_event", "schedule_event",
    "sns_event", "sqs_event", "sqs_record",
]

#: The instant payloads carry unless told otherwise (the virtual clock's default start).
DEFAULT_TIME = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ALNUM_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ALNUM_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"


class PayloadError(FlowengineError, ValueError):
    """A payload that cannot be built as asked: an unknown kind or option, a bad value."""


# --- helpers -------------------------------------------------------------------------------------


def _rng(rng: random.Random | None) -> random.Random:
    return rng if rng is not None else random.Random(0)


def _utc(time: _dt.datetime | None) -> _dt.datetime:
    t = DEFAULT_TIME if time is None else time
    if not isinstance(t, _dt.datetime):
        raise PayloadError(f"time must be a datetime, not {t!r}")
    return t.replace(tzinfo=_dt.UTC) if t.tzinfo is None else t.astimezone(_dt.UTC)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}X}"


def _b64(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.getrandbits(8 * nbytes).to_bytes(nbytes, "big")).decode("ascii")


def _iso_ms(t: _dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _iso_s(t: _dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_ms(t: _dt.datetime) -> int:
    return (t - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)) // _dt.timedelta(milliseconds=1)


def _clf(t: _dt.datetime) -> str:
    """``09/Apr/2015:12:34:56 +0000``, API Gateway's request time (English month names, always)."""
    return f"{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} +0000"


def _text(value: Any) -> str:
    """A message or body: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else default


# --- S3 ------------------------------------------------------------------------------------------

_S3_ALIASES = {"created": "ObjectCreated:Put", "put": "ObjectCreated:Put", "removed": "ObjectRemoved:Delete",
               "deleted": "ObjectRemoved:Delete", "delete": "ObjectRemoved:Delete"}


def _s3_event_name(name: str) -> str:
    name = _S3_ALIASES.get(name, name)
    bare = name.removeprefix("s3:")
    if "s3:" + bare not in S3_EVENT_TYPES or bare.endswith("*"):
        concrete = [t[3:] for t in S3_EVENT_TYPES if not t.endswith("*")]
        raise PayloadError(f"'{name}' is not an S3 event name; use one of " + ", ".join(concrete))
    return bare


def _s3_event_version(name: str) -> str:
    if name.startswith("Replication:"):
        return "2.2"
    if name.startswith(("LifecycleExpiration:", "LifecycleTransition", "IntelligentTiering", "ObjectTagging:",
                        "ObjectAcl:")) or name == "ObjectRestore:Delete":
        return "2.3"
    return "2.1"


def _s3_object(body: bytes | str | None, size: int | None, etag: str | None,
               rng: random.Random) -> tuple[int, str]:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise PayloadError(f"an object's size is a whole number of bytes, 0 or more, not {size!r}")
    if body is not None:
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return len(data) if size is None else size, hashlib.md5(data).hexdigest() if etag is None else etag
    return 1024 if size is None else size, etag if etag is not None else _hex(rng, 32).lower()


def _sequencer(t: _dt.datetime, rng: random.Random) -> str:
    # S3's sequencers grow with time for one key; 18 hex digits as S3 writes them
    return f"{_epoch_ms(t):012X}{_hex(rng, 6)}"


def s3_event(bucket: str = "example-bucket", key: str = "test/key", event_name: str = "ObjectCreated:Put", *,
             size: int | None = None, etag: str | None = None, body: bytes | str | None = None,
             version_id: str | None = None, sequencer: str | None = None,
             configuration_id: str = "testConfigRule", source_ip: str = "127.0.0.1",
             region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT,
             time: _dt.datetime | None = None, rng: random.Random | None = None) -> dict[str, Any]:
    """An S3 event notification (``{"Records": [...]}``) for one object, as Lambda receives it.

    ``event_name`` is an S3 event name without the ``s3:`` prefix (``ObjectCreated:Put``,
    ``ObjectCreated:CompleteMultipartUpload``, ``ObjectRemoved:Delete``, ...) or the app
    file's ``created`` / ``removed``.  ``body`` (the object's content), when given, sets the
    size and the ETag (its MD5); otherwise ``size`` defaults to 1024 and the ETag is drawn
    from ``rng``.  Removal events carry no size or ETag, as on AWS.  The key is URL-encoded
    as S3 encodes it (``red flower.jpg`` → ``red+flower.jpg``).
    """
    r = _rng(rng)
    t = _utc(time)
    name = _s3_event_name(event_name)
    obj: dict[str, Any] = {"key": s3_encode_key(key)}
    if name.startswith("ObjectCreated:"):
        obj["size"], obj["eTag"] = _s3_object(body, size, etag, r)
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer if sequencer is not None else _sequencer(t, r)
    record = {
        "eventVersion": _s3_event_version(name),
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _iso_ms(t),
        "eventName": name,
        "userIdentity": {"principalId": "AWS:AIDA" + _chars(r, _ALNUM_UPPER, 17)},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": _hex(r, 16), "x-amz-id-2": _b64(r, 56)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A" + _chars(r, _ALNUM_UPPER, 13)},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }
    return {"Records": [record]}


_S3_DETAIL_TYPES = ("Object Created", "Object Deleted", "Object Restore Initiated", "Object Restore Completed",
                    "Object Restore Expired", "Object Tags Added", "Object Tags Deleted", "Object ACL Updated",
                    "Object Storage Class Changed", "Object Access Tier Changed")
_S3_REASONS = {"Object Created": "PutObject", "Object Deleted": "DeleteObject"}


def s3_eventbridge_event(bucket: str = "example-bucket", key: str = "test/key",
                         detail_type: str = "Object Created", *, size: int | None = None, etag: str | None = None,
                         body: bytes | str | None = None, version_id: str | None = None,
                         sequencer: str | None = None, reason: str | None = None,
                         deletion_type: str = "Permanently Deleted", requester: str | None = None,
                         source_ip: str = "127.0.0.1", region: str = DEFAULT_REGION,
                         account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
                         rng: random.Random | None = None) -> dict[str, Any]:
    """An S3 event delivered through EventBridge (``source: aws.s3``), as a rule's target gets it.

    ``detail_type`` is ``Object Created`` or ``Object Deleted`` (or another S3 detail-type);
    ``reason`` defaults to ``PutObject`` / ``DeleteObject``.  Unlike a notification record, the
    key here is the key itself, not URL-encoded.
    """
    if detail_type not in _S3_DETAIL_TYPES:
        raise PayloadError(f"'{detail_type}' is not an S3 detail-type; use one of " + ", ".join(_S3_DETAIL_TYPES))
    r = _rng(rng)
    t = _utc(time)
    event_id = _uuid(r)
    obj: dict[str, Any] = {"key": key}
    if detail_type == "Object Created":
        obj["size"], obj["etag"] = _s3_object(body, size, etag, r)
    if version_id is not None:
        obj["version-id"] = version_id
    obj["sequencer"] = sequencer if sequencer is not None else _sequencer(t, r)
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": _chars(r, _ALNUM_UPPER, 16),
        "requester": requester if requester is not None else account,
        "source-ip-address": source_ip,
    }
    if detail_type in _S3_REASONS or reason is not None:
        detail["reason"] = reason if reason is not None else _S3_REASONS[detail_type]
    if detail_type == "Object Deleted":
        detail["deletion-type"] = deletion_type
    return {
        "version": "0", "id": event_id, "detail-type": detail_type, "source": "aws.s3", "account": account,
        "time": _iso_s(t), "region": region, "resources": [f"arn:aws:s3:::{bucket}"], "detail": detail,
    }


# --- SQS -----------------------------------------------------------------------------------------


def _sqs_attributes(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Plain values → Lambda's SQS ``messageAttributes`` shape; shaped ones pass through."""
    out: dict[str, Any] = {}
    for name, value in (attrs or {}).items():
        if isinstance(value, Mapping) and "dataType" in value:
            out[name] = dict(value)
        elif isinstance(value, Mapping) and "DataType" in value:  # boto3 send_message's shape
            shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
            if "StringValue" in value:
                shaped["stringValue"] = value["StringValue"]
            if "BinaryValue" in value:
                b = value["BinaryValue"]
                shaped["binaryValue"] = base64.b64encode(b).decode() if isinstance(b, (bytes, bytearray)) else b
            out[name] = {k: shaped[k] for k in ("stringValue", "binaryValue", "stringListValues", "binaryListValues",
                                                "dataType") if k in shaped}
        elif isinstance(value, (bytes, bytearray)):
            out[name] = {"binaryValue": base64.b64encode(value).decode(), "stringListValues": [],
                         "binaryListValues": [], "dataType": "Binary"}
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = {"stringValue": str(value), "stringListValues": [], "binaryListValues": [],
                         "dataType": "Number"}
        else:
            out[name] = {"stringValue": _text(value), "stringListValues": [], "binaryListValues": [],
                         "dataType": "String"}
    return out


def sqs_record(body: Any, *, queue_arn: str | None = None, message_attributes: Mapping[str, Any] | None = None,
               receive_count: int = 1, sender_id: str = "AIDAIENQZJOLO23YVJ4VO",
               message_group_id: str | None = None, message_deduplication_id: str | None = None,
               sequence_number: str | None = None, message_id: str | None = None,
               region: str | None = None, account: str = DEFAULT_ACCOUNT,
               time: _dt.datetime | None = None, rng: random.Random | None = None) -> dict[str, Any]:
    """One record of an SQS event: a message as the event source mapping hands it to Lambda.

    ``body`` is the message text (anything else is sent as JSON); ``md5OfBody`` is its real
    MD5.  ``time`` is when it was sent; ``receive_count`` counts deliveries (redrives).  On a
    FIFO queue (``.fifo``) the record also has MessageGroupId, MessageDeduplicationId and
    SequenceNumber.
    """
    r = _rng(rng)
    t = _utc(time)
    queue_arn = queue_arn or f"arn:aws:sqs:{region or DEFAULT_REGION}:{account}:my-queue"
    region = region or _region_of(queue_arn, DEFAULT_REGION)
    text = _text(body)
    sent = _epoch_ms(t)
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent),
        "SenderId": sender_id,
        "ApproximateFirstReceiveTimestamp": str(sent + r.randint(1, 20)),
    }
    msg_id = message_id if message_id is not None else _uuid(r)
    if queue_arn.endswith(".fifo"):
        attributes["SequenceNumber"] = sequence_number or str(18_000_000_000_000_000_000 + r.getrandbits(48))
        attributes["MessageGroupId"] = message_group_id or "default"
        attributes["MessageDeduplicationId"] = (message_deduplication_id
                                                or hashlib.sha256(text.encode("utf-8")).hexdigest())
    return {
        "messageId": msg_id,
        "receiptHandle": "AQEB" + _b64(r, 96),
        "body": text,
        "attributes": attributes,
        "messageAttributes": _sqs_attributes(message_attributes),
        "md5OfBody": hashlib.md5(text.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(bodies: Any = "Hello from SQS!", *, records: Sequence[Mapping[str, Any]] | None = None,
              queue_arn: str | None = None, message_attributes: Mapping[str, Any] | None = None,
              region: str | None = None, account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
              rng: random.Random | None = None) -> dict[str, Any]:
    """An SQS event (``{"Records": [...]}``): a batch of messages for one Lambda invocation.

    ``bodies`` is one body or a list of them (strings, or values sent as JSON).  For more
    control pass ``records``: one mapping per message with :func:`sqs_record`'s keyword
    arguments (``body``, ``message_attributes``, ``receive_count``, ...).  Messages are sent
    one millisecond apart from ``time``.
    """
    r = _rng(rng)
    t = _utc(time)
    if records is None:
        items = list(bodies) if isinstance(bodies, (list, tuple)) else [bodies]
        specs: list[Mapping[str, Any]] = [{"body": b, "message_attributes": message_attributes} for b in items]
    else:
        specs = list(records)
    out = []
    for i, spec in enumerate(specs):
        args = dict(spec)
        args.setdefault("queue_arn", queue_arn)
        args.setdefault("region", region)
        args.setdefault("account", account)
        args.setdefault("time", t + _dt.timedelta(milliseconds=i))
        if "body" not in args:
            raise PayloadError(f"records[{i}] has no body")
        out.append(sqs_record(rng=r, **args))
    return {"Records": out}


# --- DynamoDB streams --------------------------------------------------------------------------------


def dynamodb_value(value: Any) -> dict[str, Any]:
    """A plain JSON value as a DynamoDB attribute value: a string is ``S``, a number ``N``
    (as text), a boolean ``BOOL``, null ``NULL``, a list ``L``, an object ``M``."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float)):
        return {"N": json.dumps(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (list, tuple)):
        return {"L": [dynamodb_value(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): dynamodb_value(v) for k, v in value.items()}}
    raise PayloadError(f"{_a(json_type_name(value))} has no DynamoDB attribute type")


def dynamodb_event(keys: Mapping[str, Any] | None = None, *, event_name: str = "INSERT",
                   new_image: Mapping[str, Any] | None = None, old_image: Mapping[str, Any] | None = None,
                   table: str = "my-table", stream_arn: str | None = None,
                   view_type: str = "NEW_AND_OLD_IMAGES", sequence_number: str | None = None,
                   region: str | None = None, account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
                   rng: random.Random | None = None) -> dict[str, Any]:
    """A DynamoDB stream event (``{"Records": [...]}``): one change to an item, as a stream
    event source mapping hands it to Lambda.

    ``keys`` and the images are items in plain JSON (``{"id": "o-1", "total": 12}``), written
    as DynamoDB JSON (:func:`dynamodb_value`); each image holds the keys too.  ``event_name``
    is ``INSERT`` (a new image), ``MODIFY`` (both) or ``REMOVE`` (the old image); ``view_type``
    leaves out what the stream does not carry.  ``stream_arn`` defaults to one of ``table``
    in ``region``, labelled with ``time``.
    """
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise PayloadError(f"a DynamoDB stream record is INSERT, MODIFY or REMOVE, not '{event_name}'")
    if view_type not in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        raise PayloadError(f"'{view_type}' is not a StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES)")
    r = _rng(rng)
    t = _utc(time)
    region = region or (_region_of(stream_arn, DEFAULT_REGION) if stream_arn else DEFAULT_REGION)
    stream_arn = stream_arn or f"arn:aws:dynamodb:{region}:{account}:table/{table}/stream/{_iso_ms(t).rstrip('Z')}"
    keys = dict(keys if keys is not None else {"id": "1"})
    body: dict[str, Any] = {"ApproximateCreationDateTime": float(int(t.timestamp())),
                            "Keys": {k: dynamodb_value(v) for k, v in keys.items()}}
    if event_name != "REMOVE" and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["NewImage"] = {k: dynamodb_value(v) for k, v in {**keys, **(new_image or {})}.items()}
    if event_name != "INSERT" and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["OldImage"] = {k: dynamodb_value(v) for k, v in {**keys, **(old_image or {})}.items()}
    size = len(json.dumps({k: body[k] for k in ("Keys", "NewImage", "OldImage") if k in body},
                          separators=(",", ":")).encode())
    body.update({"SequenceNumber": sequence_number or str(100_000_000_000_000_000_000 + r.getrandbits(64)),
                 "SizeBytes": size, "StreamViewType": view_type})
    return {"Records": [{
        "eventID": _hex(r, 32).lower(), "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": region, "dynamodb": body, "eventSourceARN": stream_arn,
    }]}


# --- SNS -----------------------------------------------------------------------------------------


def _sns_attributes(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in (attrs or {}).items():
        if isinstance(value, Mapping) and "Type" in value:
            out[name] = dict(value)
        elif isinstance(value, Mapping) and "DataType" in value:  # boto3 publish's shape
            raw = value.get("StringValue", value.get("BinaryValue"))
            if isinstance(raw, (bytes, bytearray)):
                raw = base64.b64encode(raw).decode()
            out[name] = {"Type": value["DataType"], "Value": raw}
        elif isinstance(value, (bytes, bytearray)):
            out[name] = {"Type": "Binary", "Value": base64.b64encode(value).decode()}
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = {"Type": "Number", "Value": str(value)}
        elif isinstance(value, (list, tuple)):
            out[name] = {"Type": "String.Array", "Value": json.dumps(list(value))}
        else:
            out[name] = {"Type": "String", "Value": _text(value)}
    return out


def sns_event(message: Any = "Hello from SNS!", *, topic_arn: str | None = None, subject: str | None = None,
              message_attributes: Mapping[str, Any] | None = None, message_id: str | None = None,
              region: str | None = None, account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
              rng: random.Random | None = None) -> dict[str, Any]:
    """An SNS event (``{"Records": [...]}``): one notification delivered to a subscribed function.

    ``message`` is the text (anything else is sent as JSON).  ``message_attributes`` take
    plain values (``"x"`` → String, ``5`` → Number, ``["a", "b"]`` → String.Array, bytes →
    Binary) or SNS's own ``{"Type", "Value"}`` shape.  The signature is random, not a real one.
    """
    r = _rng(rng)
    t = _utc(time)
    topic_arn = topic_arn or f"arn:aws:sns:{region or DEFAULT_REGION}:{account}:ExampleTopic"
    region = region or _region_of(topic_arn, DEFAULT_REGION)
    msg_id = message_id if message_id is not None else _uuid(r)
    subscription = f"{topic_arn}:{_uuid(r)}"
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription,
        "Sns": {
            "Type": "Notification",
            "MessageId": msg_id,
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": _text(message),
            "Timestamp": _iso_ms(t),
            "SignatureVersion": "1",
            "Signature": _b64(r, 256),
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{_hex(r, 32).lower()}.pem",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}",
            "MessageAttributes": _sns_attributes(message_attributes),
        },
    }]}


# --- EventBridge ---------------------------------------------------------------------------------


def eventbridge_event(source: str = "com.example.app", detail_type: str = "Example Event",
                      detail: Mapping[str, Any] | None = None, *, resources: Sequence[str] = (),
                      event_id: str | None = None, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT,
                      time: _dt.datetime | None = None, rng: random.Random | None = None) -> dict[str, Any]:
    """An EventBridge event as a rule's target receives it (the bus is not part of the event)."""
    r = _rng(rng)
    return {
        "version": "0",
        "id": event_id if event_id is not None else _uuid(r),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _iso_s(_utc(time)),
        "region": region,
        "resources": list(resources),
        "detail": dict(detail) if detail is not None else {},
    }


def put_events_entry(source: str, detail_type: str, detail: Mapping[str, Any] | None = None, *,
                     bus: str = "default", resources: Sequence[str] = ()) -> dict[str, Any]:
    """One ``PutEvents`` request entry (what a handler or a Task sends), naming its bus."""
    entry: dict[str, Any] = {"Source": source, "DetailType": detail_type,
                             "Detail": json.dumps(dict(detail) if detail is not None else {}),
                             "EventBusName": bus}
    if resources:
        entry["Resources"] = list(resources)
    return entry


def event_from_put_events_entry(entry: Mapping[str, Any], *, region: str = DEFAULT_REGION,
                                account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
                                rng: random.Random | None = None) -> dict[str, Any]:
    """The event EventBridge makes of a ``PutEvents`` entry (``Time``, when the entry has one, wins)."""
    detail = entry.get("Detail", "{}")
    try:
        parsed = files.loads(detail) if isinstance(detail, str) else detail
    except (ValueError, RecursionError):
        raise PayloadError("Detail is malformed: not a JSON object") from None
    if not isinstance(parsed, Mapping):
        raise PayloadError("Detail is malformed: not a JSON object")
    when = entry.get("Time")
    return eventbridge_event(str(entry.get("Source", "")), str(entry.get("DetailType", "")), parsed,
                             resources=list(entry.get("Resources", ())), region=region, account=account,
                             time=when if isinstance(when, _dt.datetime) else time, rng=rng)


def schedule_event(rule_arn: str | None = None, time: _dt.datetime | None = None, *,
                   region: str | None = None, account: str = DEFAULT_ACCOUNT,
                   rng: random.Random | None = None) -> dict[str, Any]:
    """The "Scheduled Event" a schedule rule delivers when it has no configured input.

    ``rule_arn`` names the rule (default ``arn:aws:events:<region>:<account>:rule/ExampleRule``).
    An EventBridge Scheduler ARN (``arn:aws:scheduler:...:schedule/group/name``) gives the
    Scheduler's variant: ``source: aws.scheduler`` and ``detail`` the string ``"{}"``.
    """
    rule_arn = rule_arn or f"arn:aws:events:{region or DEFAULT_REGION}:{account}:rule/ExampleRule"
    region = region or _region_of(rule_arn, DEFAULT_REGION)
    scheduler = rule_arn.split(":")[2:3] == ["scheduler"]
    event = eventbridge_event("aws.scheduler" if scheduler else "aws.events", "Scheduled Event", {},
                              resources=[rule_arn], region=region, account=account, time=time, rng=rng)
    if scheduler:
        event["detail"] = "{}"
    return event


# --- API Gateway ---------------------------------------------------------------------------------


def _multi(values: Mapping[str, Any] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in (values or {}).items():
        out[k] = [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
    return out


def _path_parameters(resource: str, path: str) -> dict[str, str] | None:
    names = re.findall(r"\{([^{}]+)\}", resource)
    if not names:
        if resource != path:
            raise PayloadError(f"path '{path}' does not match the resource '{resource}'")
        return None
    regex = ""
    for piece in re.split(r"(\{[^{}]+\})", resource):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            group = re.sub(r"\W", "_", name.rstrip("+"))
            regex += f"(?P<{group}>.+)" if name.endswith("+") else f"(?P<{group}>[^/]+)"
        else:
            regex += re.escape(piece)
    m = re.fullmatch(regex, path)
    if not m:
        raise PayloadError(f"path '{path}' does not match the resource '{resource}'")
    return {name.rstrip("+"): m.group(re.sub(r"\W", "_", name.rstrip("+"))) for name in names}


def _body(body: Any) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if isinstance(body, (bytes, bytearray)):
        return base64.b64encode(body).decode("ascii"), True
    return _text(body), False


def apigateway_event(method: str = "GET", path: str = "/", body: Any = None, headers: Mapping[str, Any] | None = None,
                     query: Mapping[str, Any] | None = None, *, resource: str | None = None, stage: str = "prod",
                     stage_variables: Mapping[str, str] | None = None, source_ip: str = "127.0.0.1",
                     user_agent: str = "Custom User Agent String", region: str = DEFAULT_REGION,
                     account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
                     rng: random.Random | None = None) -> dict[str, Any]:
    """A REST API (API Gateway v1) Lambda proxy event.

    ``resource`` is the route template (``/orders/{id}``, ``/{proxy+}``); ``pathParameters``
    are read from ``path`` with it.  ``headers`` and ``query`` map names to a value or a list
    of values (the single-value maps keep the last).  ``body`` is text, JSON-able data, or
    bytes (sent base64-encoded with ``isBase64Encoded: true``).
    """
    r = _rng(rng)
    t = _utc(time)
    method = method.upper()
    resource = resource or path
    api_id = _chars(r, _ALNUM_LOWER, 10)
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    text, is_b64 = _body(body)
    multi_headers = _multi({"Host": domain, "User-Agent": user_agent, "X-Forwarded-For": source_ip,
                            "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https"})
    if body is not None and not isinstance(body, (str, bytes, bytearray)):
        multi_headers["Content-Type"] = ["application/json"]
    multi_headers.update(_multi(headers))
    multi_query = _multi(query)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": _path_parameters(resource, path),
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "extendedRequestId": _chars(r, _ALNUM_UPPER, 15) + "=",
            "httpMethod": method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "principalOrgId": None, "sourceIp": source_ip, "user": None, "userAgent": user_agent,
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": _uuid(r),
            "requestTime": _clf(t),
            "requestTimeEpoch": _epoch_ms(t),
            "resourceId": _chars(r, _ALNUM_LOWER, 6),
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


def apigateway_http_event(method: str = "GET", path: str = "/", body: Any = None,
                          headers: Mapping[str, Any] | None = None, query: Mapping[str, Any] | None = None, *,
                          route: str | None = None, cookies: Sequence[str] = (), stage: str = "$default",
                          stage_variables: Mapping[str, str] | None = None, source_ip: str = "127.0.0.1",
                          user_agent: str = "Custom User Agent String", region: str = DEFAULT_REGION,
                          account: str = DEFAULT_ACCOUNT, time: _dt.datetime | None = None,
                          rng: random.Random | None = None) -> dict[str, Any]:
    """An HTTP API (API Gateway v2, payload format 2.0) Lambda event.

    ``route`` is the route's path template (``/orders/{id}``); without one the route key is
    ``$default``.  Header names are lower-cased and repeated values comma-joined, as v2 does.
    """
    r = _rng(rng)
    t = _utc(time)
    method = method.upper()
    api_id = _chars(r, _ALNUM_LOWER, 10)
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    route_key = f"{method} {route}" if route else "$default"
    multi_headers = _multi({"host": domain, "user-agent": user_agent, "x-forwarded-for": source_ip,
                            "x-forwarded-port": "443", "x-forwarded-proto": "https"})
    if body is not None and not isinstance(body, (str, bytes, bytearray)):
        multi_headers["content-type"] = ["application/json"]
    for k, v in _multi(headers).items():
        multi_headers[k.lower()] = v
    multi_query = _multi(query)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode([(k, v) for k, vs in multi_query.items() for v in vs]),
    }
    if cookies:
        event["cookies"] = list(cookies)
    event["headers"] = {k: ",".join(v) for k, v in multi_headers.items()}
    if multi_query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in multi_query.items()}
    event["requestContext"] = {
        "accountId": account,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": api_id,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                 "userAgent": user_agent},
        "requestId": _chars(r, _ALNUM_UPPER, 15) + "=",
        "routeKey": route_key,
        "stage": stage,
        "time": _clf(t),
        "timeEpoch": _epoch_ms(t),
    }
    text, is_b64 = _body(body)
    if text is not None:
        event["body"] = text
    params = _path_parameters(route, path) if route else None
    if params:
        event["pathParameters"] = params
    event["isBase64Encoded"] = is_b64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


# --- the registry behind `flowengine event generate` ---------------------------------------------

OptionType = Literal["str", "int", "json", "datetime"]
#: What a JSON option must hold: any JSON value, a JSON object, or an object of names to a
#: value or a list of values (HTTP headers, query parameters).
JsonShape = Literal["any", "object", "multimap"]


@dataclass(frozen=True)
class Option:
    """One option of an event kind, as the CLI offers it (``--name VALUE``)."""

    name: str
    type: OptionType
    default: Any
    help: str
    multiple: bool = False  # may be given several times (a list)
    choices: tuple[str, ...] | None = None
    minimum: int | None = None  # the smallest value of an int option
    shape: JsonShape = "any"  # what a json option must hold

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """A command-line string → the option's value."""
        if self.type == "int":
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"{self.flag}: '{text[:40]}' is not a whole number") from None
            self.check(value)
            return value
        if self.type == "json":
            try:
                value = files.loads(text)  # strict: NaN/Infinity are not JSON, as AWS says
            except RecursionError:
                raise ValueError(f"{self.flag}: nested too deeply to parse") from None
            except ValueError as exc:
                raise ValueError(f"{self.flag}: not JSON ({exc})") from None
            self.check(value)
            return value
        if self.type == "datetime":
            return _parse_time(text)
        return text

    def check(self, value: Any) -> None:
        """Raise :class:`PayloadError` unless ``value`` suits the option (a parsed value, or
        one given to :func:`generate` directly)."""
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise PayloadError(f"{self.flag} must be a whole number, not {value!r}")
            if self.minimum is not None and value < self.minimum:
                raise PayloadError(f"{self.flag} must be {self.minimum} or more, not {value}")
        elif self.type == "json":
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError, RecursionError) as exc:
                raise PayloadError(f"{self.flag}: not JSON ({exc})") from None
            if self.shape != "any" and not isinstance(value, Mapping):
                raise PayloadError(f"{self.flag} must be a JSON object, not {_a(json_type_name(value))}")
            if self.shape == "multimap":
                for k, v in value.items():
                    items = v if isinstance(v, list) else [v]
                    if not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in items):
                        raise PayloadError(f"{self.flag}: the value of '{k}' must be a string, a number, or a list "
                                           f"of them, not {_a(json_type_name(v))}")

    def argparse_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``parser.add_argument(option.flag, **option.argparse_kwargs())``.

        The argparse default is None (``generate`` fills in the real default), so repeated
        options do not append to a shared default list.
        """
        shown = self.default if not isinstance(self.default, _dt.datetime) else _iso_s(self.default)
        kwargs: dict[str, Any] = {
            "dest": self.name, "type": self.parse, "default": None,
            "help": self.help + ("" if self.default is None else f" (default: {json.dumps(shown)})"),
            "metavar": self.type.upper() if self.type != "str" else self.name.upper(),
        }
        if self.multiple:
            kwargs["action"] = "append"
        if self.choices:
            kwargs["choices"] = self.choices
        return kwargs


def _a(type_name: str) -> str:
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name if type_name != "null" else "null"


def _parse_time(text: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 time such as 2024-01-01T00:00:00Z") from None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)  # a naive time is UTC


_COMMON = (
    Option("region", "str", None, f"the AWS region (default: the given ARN's, else {DEFAULT_REGION})"),
    Option("account", "str", DEFAULT_ACCOUNT, "the AWS account id"),
    Option("time", "datetime", DEFAULT_TIME, "when the event happened (ISO 8601)"),
    Option("seed", "int", 0, "seed for the generated ids"),
)
_S3 = (Option("bucket", "str", "example-bucket", "the bucket's name"),
       Option("key", "str", "test/key", "the object's key"))


@dataclass(frozen=True)
class _Kind:
    help: str
    build: Callable[..., dict[str, Any]]
    options: tuple[Option, ...]


def _seeded(factory: Callable[..., dict[str, Any]], **renames: str) -> Callable[..., dict[str, Any]]:
    """The factory called with ``rng=Random(seed)`` and options renamed to its parameters."""
    def build(seed: int, **kwargs: Any) -> dict[str, Any]:
        return factory(rng=random.Random(seed), **{renames.get(k, k): v for k, v in kwargs.items()})
    return build


_KINDS: dict[str, _Kind] = {
    "s3-put": _Kind("an S3 notification for a new object (ObjectCreated)", _seeded(s3_event), _S3 + (
        Option("event_name", "str", "ObjectCreated:Put", "the S3 event name",
               choices=("ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy",
                        "ObjectCreated:CompleteMultipartUpload")),
        Option("size", "int", 1024, "the object's size in bytes", minimum=0),
        Option("etag", "str", None, "the object's ETag (default: random)"),
    )),
    "s3-delete": _Kind("an S3 notification for a deleted object (ObjectRemoved)", _seeded(s3_event), _S3 + (
        Option("event_name", "str", "ObjectRemoved:Delete", "the S3 event name",
               choices=("ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated")),
    )),
    "s3-eventbridge": _Kind("an S3 event delivered through EventBridge", _seeded(s3_eventbridge_event), _S3 + (
        Option("detail_type", "str", "Object Created", "the detail-type", choices=("Object Created", "Object Deleted")),
        Option("size", "int", 1024, "the object's size in bytes (Object Created)", minimum=0),
        Option("etag", "str", None, "the object's ETag (default: random)"),
    )),
    "sqs": _Kind("an SQS batch for a Lambda function", _seeded(sqs_event, body="bodies"), (
        Option("body", "str", ["Hello from SQS!"], "a message body (repeat for a batch)", multiple=True),
        Option("queue_arn", "str", None, "the queue's ARN (default: ...:my-queue)"),
        Option("message_attributes", "json", None, 'message attributes as JSON, e.g. {"kind": "order"}',
               shape="object"),
    )),
    "sns": _Kind("an SNS notification for a subscribed function", _seeded(sns_event), (
        Option("message", "str", "Hello from SNS!", "the message"),
        Option("topic_arn", "str", None, "the topic's ARN (default: ...:ExampleTopic)"),
        Option("subject", "str", None, "the subject"),
        Option("message_attributes", "json", None, 'message attributes as JSON, e.g. {"level": "error"}',
               shape="object"),
    )),
    "dynamodb": _Kind("a DynamoDB stream event (one item change) for a function", _seeded(dynamodb_event), (
        Option("event_name", "str", "INSERT", "the change", choices=("INSERT", "MODIFY", "REMOVE")),
        Option("table", "str", "my-table", "the table's name (a logical name works with flowengine send)"),
        Option("keys", "json", {"id": "1"}, 'the item\'s key as plain JSON, e.g. {"id": "o-1"}', shape="object"),
        Option("new_image", "json", None, 'the item after the change, plain JSON (MODIFY, INSERT)', shape="object"),
        Option("old_image", "json", None, 'the item before the change, plain JSON (MODIFY, REMOVE)', shape="object"),
        Option("view_type", "str", "NEW_AND_OLD_IMAGES", "the stream's view type",
               choices=("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")),
        Option("stream_arn", "str", None, "the stream's ARN (default: one of --table)"),
    )),
    "eventbridge": _Kind("an EventBridge event as a rule's target gets it", _seeded(eventbridge_event), (
        Option("source", "str", "com.example.app", "the event's source"),
        Option("detail_type", "str", "Example Event", "the event's detail-type"),
        Option("detail", "json", {}, "the detail, as JSON", shape="object"),
        Option("resources", "str", [], "a resource ARN (repeat for several)", multiple=True),
    )),
    "schedule": _Kind("the Scheduled Event of a schedule rule", _seeded(schedule_event), (
        Option("rule_arn", "str", None, "the rule's ARN (default: ...:rule/ExampleRule)"),
    )),
    "apigateway": _Kind("a REST API (v1) proxy event", _seeded(apigateway_event), (
        Option("method", "str", "GET", "the HTTP method"),
        Option("path", "str", "/", "the request path"),
        Option("resource", "str", None, "the route template, e.g. /orders/{id} (default: the path)"),
        Option("body", "str", None, "the request body"),
        Option("headers", "json", None, 'headers as JSON, e.g. {"Authorization": "token"}', shape="multimap"),
        Option("query", "json", None, 'query parameters as JSON, e.g. {"page": "2"}', shape="multimap"),
        Option("stage", "str", "prod", "the stage"),
    )),
    "apigateway-http": _Kind("an HTTP API (v2) event", _seeded(apigateway_http_event), (
        Option("method", "str", "GET", "the HTTP method"),
        Option("path", "str", "/", "the request path"),
        Option("route", "str", None, "the route template, e.g. /orders/{id} (default: $default)"),
        Option("body", "str", None, "the request body"),
        Option("headers", "json", None, "headers as JSON", shape="multimap"),
        Option("query", "json", None, "query parameters as JSON", shape="multimap"),
    )),
}

#: The kinds :func:`generate` knows, in the order the CLI lists them.
KINDS: tuple[str, ...] = tuple(_KINDS)


def _kind(kind: str) -> _Kind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise PayloadError(f"unknown event kind '{kind}'; known kinds: {', '.join(KINDS)}") from None


def generate_options(kind: str) -> tuple[Option, ...]:
    """The options of ``kind`` (its own, then region, account, time and seed)."""
    return _kind(kind).options + _COMMON


def describe(kind: str) -> str:
    """One line about ``kind``, for ``--help``."""
    return _kind(kind).help


def generate(kind: str, **options: Any) -> dict[str, Any]:
    """Build a payload of ``kind`` (one of :data:`KINDS`) from options named as :func:`generate_options` lists.

    Options left out or None take their defaults.  JSON options may be given as text and
    ``time`` as an ISO 8601 string, as they come from a command line.
    """
    spec = _kind(kind)
    known = {o.name: o for o in spec.options + _COMMON}
    for name in options:
        if name not in known:
            raise PayloadError(f"{kind} has no option '{name}'; its options: {', '.join(known)}")
    args: dict[str, Any] = {}
    for name, opt in known.items():
        value = options.get(name)
        if value is None:
            value = opt.default
        elif isinstance(value, str) and opt.type in ("json", "datetime", "int"):
            try:
                value = opt.parse(value)
            except ValueError as exc:
                raise PayloadError(str(exc)) from None
        if opt.choices and value not in opt.choices:
            raise PayloadError(f"{opt.flag} must be one of {', '.join(opt.choices)}, not '{value}'")
        if value is not None and name in options:  # what the caller gave, parsed or not
            opt.check(value)
        if value is not None:
            args[name] = value
    return spec.build(**args)

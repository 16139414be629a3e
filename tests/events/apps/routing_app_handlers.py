"""Handlers of routing.yaml."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

#: (function name, event) of every call, for the tests
CALLS: list[tuple[str, Any]] = []


def record(event: Any, context: Any) -> None:
    CALLS.append((context.function_name, event))


def publish(event: Any, context: Any) -> dict[str, Any]:
    """Publish an alert and put an order event on the shop's bus, as a real handler would."""
    sns = boto3.client("sns")
    sns.publish(TopicArn=os.environ["ALERTS"], Message=event.get("message", "hello"),
                MessageAttributes={"severity": {"DataType": "String", "StringValue": event.get("severity", "info")}})
    boto3.client("events").put_events(Entries=[{
        "Source": "shop.web", "DetailType": "OrderPlaced", "EventBusName": os.environ["SHOP_BUS"],
        "Detail": json.dumps({"id": event.get("order", "o-1"), "total": event.get("total", 500)})}])
    return {"published": True}

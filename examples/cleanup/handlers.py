"""Lambda handlers of the nightly clean-up (definitions/nightly-cleanup.yaml)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import boto3


def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["SESSIONS_TABLE"])


def list_expired(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    """Every session whose ``expiresAt`` (ISO 8601) lies before the scheduled time."""
    now = event.get("time") or datetime.now(timezone.utc).isoformat()
    items = _table().scan().get("Items", [])
    return [{"sessionId": i["sessionId"]} for i in items if str(i.get("expiresAt", "9999")) < now]


def delete_session(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Delete one expired session."""
    _table().delete_item(Key={"sessionId": event["sessionId"]})
    return {"deleted": event["sessionId"]}

"""Handlers of misc.yaml."""

from __future__ import annotations

from typing import Any

CALLS: list[tuple[str, Any]] = []
TOKENS: list[str] = []


def record(event: Any, context: Any) -> None:
    CALLS.append((context.function_name, event))


def remember_token(event: Any, context: Any) -> None:
    TOKENS.append(event["token"])


def api(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": event["pathParameters"]["id"] if event.get("pathParameters") else ""}

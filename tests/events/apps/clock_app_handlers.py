"""Handler of schedule.yaml: remembers every event it got."""

from __future__ import annotations

from typing import Any

EVENTS: list[Any] = []


def tick(event: Any, context: Any) -> None:
    EVENTS.append(event)

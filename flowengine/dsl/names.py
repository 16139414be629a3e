"""The names an app's resources get locally, shared by the template reader, the emulation
and ``${X}`` resolution, so that all three always agree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Name length limits per resource kind (what local names are cut to).
NAME_LIMITS = {"bucket": 63, "queue": 80, "topic": 256, "table": 255, "event_bus": 256}


def local_name(app: str, resource: str, kind: str, *, fifo: bool = False) -> str:
    """The deterministic local name of resource ``resource`` of app ``app``:
    ``<app>-<resource>``, CamelCase split by hyphens, lower-cased, cut to the service's
    limit (63 characters for a bucket, 80 for a queue), ``.fifo`` for a FIFO queue."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", f"{app}-{resource}").lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-") or kind
    limit = NAME_LIMITS.get(kind, 255) - (5 if fifo else 0)
    text = text[:limit].rstrip("-")
    if kind == "bucket" and len(text) < 3:
        text = (text + "-bucket")[:limit]
    return text + (".fifo" if fifo else "")


def physical_name(app: str, resource: str, kind: str, properties: Mapping[str, Any], *, fifo: bool = False) -> str:
    """The name a resource is created under locally: the ``name`` a SAM/CloudFormation
    template gave it (``TableName``, ``BucketName`` ...: handlers and definitions may spell
    it out), else its :func:`local_name`."""
    given = properties.get("name")
    return given if isinstance(given, str) and given else local_name(app, resource, kind, fifo=fifo)


__all__ = ["NAME_LIMITS", "local_name", "physical_name"]

"""API Gateway as an event source: a request sent in reaches the routes that match its
method and path (a flow gets the request body as its input, a function the whole event).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowengine.events.recursion import Lineage
from flowengine.events.routing import Route
from flowengine.events.source import EventSource


class ApiSource(EventSource):
    """Api rules of the app runtime (a mixin of ``AppRuntime``)."""

    def _send_api(self, event: Mapping[str, Any], lineage: Lineage) -> list[Route]:
        if "routeKey" in event:
            method = str((event.get("requestContext") or {}).get("http", {}).get("method", "GET"))
            path = str(event.get("rawPath", "/"))
        else:
            method, path = str(event.get("httpMethod", "GET")), str(event.get("path", "/"))
        self._record("event", f"api {method} {path}", source="api", method=method, path=path)
        delivered: list[Route] = []
        for route in self.router.api_routes(method, path):
            body: Any = event
            if route.target_kind == "flow":  # API Gateway → StartExecution: the request body is the input
                text = event.get("body")
                try:
                    body = json.loads(text) if isinstance(text, str) and text else {}
                except ValueError:
                    body = text
            if self._deliver(route, body, lineage, what=f"api {method} {path}"):
                delivered.append(route)
        return delivered


__all__ = ["ApiSource"]

"""EventBridge as an event source: events put on the default or a custom bus reach the
rules whose patterns match them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.engine.clock import to_datetime
from flowengine.events import payloads
from flowengine.events.recursion import Lineage
from flowengine.events.routing import Route
from flowengine.events.source import EventError, EventSource


class EventBridgeSource(EventSource):
    """EventBridge rules of the app runtime (a mixin of ``AppRuntime``)."""

    def _bus(self, bus: str | None, event: Mapping[str, Any], lineage: Lineage, *, what: str) -> list[Route]:
        delivered: list[Route] = []
        for rule in self.router.bus_rules(bus, event):
            if self._deliver(rule, event, lineage, what=what):
                delivered.append(rule)
        return delivered

    def _put_event(self, entry: Mapping[str, Any], event_id: str, lineage: Lineage) -> list[Route]:
        known, bus = self.emulation.bus_resource(entry.get("EventBusName"))
        event = payloads.event_from_put_events_entry(entry, region=self.account.region,
                                                     account=self.account.account,
                                                     time=to_datetime(self.clock.now()), rng=self.rng)
        event["id"] = event_id
        where = bus or "default"
        self._record("event", f"events {event.get('source')} / {event.get('detail-type')} on bus {where}",
                     source="events", resource=bus, bus=where, detail_type=event.get("detail-type"))
        if not known:
            return []
        return self._bus(bus, event, lineage.via(f"events:{where}"), what=f"event {event.get('detail-type')!r}")

    def _bus_name(self, bus: str | None) -> tuple[bool, str | None]:
        if bus is None or bus == "default":
            return True, None
        if bus in self.emulation.resources and self.emulation.resources[bus].kind == "event_bus":
            return True, bus
        known, res = self.emulation.bus_resource(bus)
        if not known:
            raise EventError(f"the app has no event bus {bus!r}")
        return known, res


__all__ = ["EventBridgeSource"]

"""Schedules as an event source: ``rate``/``cron``/``at`` rules fire on the runtime's clock
(on the virtual clock, as time passes; on a real clock, with timers).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from dataclasses import dataclass

from flowengine.engine.clock import iso, to_datetime
from flowengine.events import payloads
from flowengine.events.routing import ScheduledRule
from flowengine.events.source import EventSource


@dataclass(slots=True)
class ScheduleState:
    rule: ScheduledRule
    anchor: _dt.datetime
    next: float | None


class ScheduleSource(EventSource):
    """Schedule rules of the app runtime (a mixin of ``AppRuntime``)."""

    def _next_fire(self) -> float | None:
        return min((s.next for s in self._schedules if s.next is not None), default=None)

    def _fire_due(self, now: float) -> None:
        for state in self._schedules:
            while state.next is not None and state.next <= now + 1e-4:
                at = state.next
                self._fire(state.rule, at)
                nxt = state.rule.schedule.next_after(to_datetime(at), anchor=state.anchor)  # type: ignore[union-attr]
                state.next = nxt.timestamp() if nxt is not None else None

    def _fire(self, rule: ScheduledRule, at: float) -> None:
        when = to_datetime(at)
        self._record("schedule", f"{rule.trigger.options.get('schedule')} fired (trigger {rule.name})",
                     trigger=rule.name, time=iso(at))
        if rule.has_input:
            event = rule.input
        else:
            region, acct = self.account.region, self.account.account
            arn = (f"arn:aws:scheduler:{region}:{acct}:schedule/default/{rule.rule_name}" if rule.scheduler
                   else f"arn:aws:events:{region}:{acct}:rule/{rule.rule_name}")
            event = payloads.schedule_event(arn, when, region=region, account=acct, rng=self.rng)
        self._deliver(rule, event, self._root().via(f"schedule:{rule.name}"), what="schedule", constant=rule.has_input)

    async def _schedule_timer(self, state: ScheduleState) -> None:
        """Schedules on a real clock: plain timers."""
        while state.next is not None:
            await asyncio.sleep(max(0.0, state.next - self.clock.now()))
            self._fire_due(self.clock.now())


__all__ = ["ScheduleSource", "ScheduleState"]

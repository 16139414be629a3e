"""What an event source's rules need of the runtime that hosts them.

Each source (:mod:`.s3`, :mod:`.sqs`, :mod:`.sns`, :mod:`.streams`, :mod:`.eventbridge`,
:mod:`.schedules`, :mod:`.api`) is a mixin of :class:`~flowengine.runtime.app.AppRuntime`: its rules (which
event a call produces, in AWS's shape, and who receives it) live in its module, while
delivery itself (the recursion guard, starting flows, invoking functions) is the runtime's.
:class:`EventSource` declares what they share.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any

from flowengine.engine.clock import Clock
from flowengine.engine.options import AccountInfo
from flowengine.errors import FlowengineError
from flowengine.events.emulation import Emulation
from flowengine.events.log import EventLog, LogRecord
from flowengine.events.recursion import Lineage
from flowengine.events.routing import Route, Router
from flowengine.model.app import App

if TYPE_CHECKING:
    from flowengine.events.schedules import ScheduleState
    from flowengine.events.sqs import QueuePoller


class Wakeup:
    """A poller's sleep on the runtime's clock: until a time, or until :meth:`notify` (a send
    to its queue, a write to its table) wakes it first.  Armed by :meth:`start`, on the loop."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._event: asyncio.Event | None = None

    def start(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()

    async def sleep(self, until: float | None) -> None:
        """Until ``until`` (clock time; None: until notified), or a notification."""
        assert self._event is not None
        self._event.clear()
        if until is None:
            await self._event.wait()
            return
        try:
            await asyncio.wait_for(self._event.wait(), max(0.0, until - self.clock.now()))
        except TimeoutError:
            pass


class EventError(FlowengineError):
    """An event given to ``AppRuntime.send`` that cannot be delivered (an unknown shape,
    a bucket, queue or topic the app does not have, an unknown trigger)."""


class EventSource:
    """The runtime as the event sources see it (implemented by ``AppRuntime``)."""

    app: App
    account: AccountInfo
    clock: Clock
    rng: random.Random
    emulation: Emulation
    router: Router
    log: EventLog
    _pollers: dict[str, list[QueuePoller]]
    _message_lineage: dict[str, Lineage]
    _schedules: list[ScheduleState]

    def _record(self, kind: str, message: str, **data: Any) -> None:
        self.log.append(LogRecord(self.clock.now(), kind, message, data))

    def _root(self) -> Lineage:
        return Lineage(f"1-{int(self.clock.now()):08x}-{self.rng.getrandbits(96):024x}")

    def _deliver(self, route: Route, event: Any, lineage: Lineage, *, what: str, constant: bool = False) -> bool:
        raise NotImplementedError

    def _bus(self, bus: str | None, event: Any, lineage: Lineage, *, what: str) -> list[Route]:
        raise NotImplementedError  # EventBridgeSource

    def client(self, service: str) -> Any:
        raise NotImplementedError

    def url(self, queue: str) -> str:
        raise NotImplementedError

    def _lookup(self, kind: str, name: str) -> str | None:
        for logical, r in self.emulation.resources.items():
            if r.kind == kind and name in (r.local_name, logical, r.arn, r.url):
                return logical
        for logical, r in self.emulation.resources.items():
            if r.kind == kind and name.lower() == logical.lower():
                return logical
        return None

    def _names(self, kind: str) -> list[str]:
        return [n for n, r in self.emulation.resources.items() if r.kind == kind]


__all__ = ["EventError", "EventSource"]

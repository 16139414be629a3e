"""Recursive loop detection, as AWS Lambda does it: a lineage travels with every event.

AWS tags each request of a chain (S3 → Lambda → SQS → Lambda → S3 ...) with a trace header
that counts how many times each function has run in the chain.  When a function would run
for the 17th time in one chain, Lambda stops that invocation and reports a recursive loop
instead of running forever.  The app runtime does the same with a :class:`Lineage`:

* an event that starts a chain (a test's boto3 call, ``runtime.send``, a schedule) gets a
  fresh lineage;
* delivering an event to a function or a flow :meth:`~Lineage.bump` s that target's count,
  and the invocation or execution runs with the new lineage as :data:`current_lineage`
  (a context variable: it follows asyncio tasks, and the engine hands it to handlers
  running in its executor);
* whatever the handler or a Task writes (an object, a message, an event) is observed with
  the lineage of the code that wrote it, so the next hop continues the same chain.

:class:`RecursionGuard` decides: a target already reached ``limit`` times (16, as on AWS)
in the chain is not run again, and the stop is recorded as a :class:`RecursionStop`.
Unlike AWS, flows count too (AWS does not detect loops through Step Functions), so a loop
bucket → flow → Task ``s3:putObject`` → same bucket is stopped as well.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

#: AWS stops a chain when a function would run more than 16 times in it.
DEFAULT_RECURSION_LIMIT = 16
#: How many hops of a chain a lineage remembers (for the report only).
_PATH_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where an event comes from: its chain's id, how often each target ran in the chain,
    and the last few hops (``s3:bucket``, ``function:Name``, ...) for reports."""

    trace_id: str
    counts: tuple[tuple[str, int], ...] = ()
    path: tuple[str, ...] = ()

    def count(self, target: str) -> int:
        """How many times ``target`` (``function:Name`` / ``flow:Name``) ran in this chain."""
        for key, n in self.counts:
            if key == target:
                return n
        return 0

    def bump(self, target: str) -> Lineage:
        """The lineage of an invocation of ``target`` caused by this one."""
        counts = dict(self.counts)
        counts[target] = counts.get(target, 0) + 1
        return Lineage(self.trace_id, tuple(sorted(counts.items())), (self.path + (target,))[-_PATH_LENGTH:])

    def via(self, hop: str) -> Lineage:
        """The same chain, one resource further (for reports: ``s3:uploads``)."""
        return Lineage(self.trace_id, self.counts, (self.path + (hop,))[-_PATH_LENGTH:])

    def describe(self) -> str:
        return " → ".join(self.path) if self.path else self.trace_id


#: The lineage of the code running now (None outside any chain: a test's own calls).
current_lineage: contextvars.ContextVar[Lineage | None] = contextvars.ContextVar(
    "flowengine_lineage", default=None)


@dataclass(frozen=True, slots=True)
class RecursionStop:
    """A delivery the guard refused: ``target`` had already run ``count`` times in the chain."""

    time: float
    target: str
    trigger: str
    count: int
    lineage: Lineage
    event: Any = field(default=None, compare=False, repr=False)

    @property
    def message(self) -> str:
        kind, _, name = self.target.partition(":")
        return (f"Recursive loop detected: {kind} {name} already ran {self.count} times in chain "
                f"{self.lineage.trace_id} ({self.lineage.describe()}); trigger {self.trigger} stopped")


class RecursionGuard:
    """Counts hops per chain and refuses the one past ``limit`` (None: never refuse)."""

    def __init__(self, limit: int | None = DEFAULT_RECURSION_LIMIT) -> None:
        self.limit = limit
        self.stops: list[RecursionStop] = []

    def admit(self, lineage: Lineage, target: str, *, trigger: str, now: float,
              event: Any = None) -> Lineage | None:
        """The lineage to run ``target`` with, or None when the chain has looped too often."""
        n = lineage.count(target)
        if self.limit is not None and n >= self.limit:
            self.stops.append(RecursionStop(now, target, trigger, n, lineage, event))
            return None
        return lineage.bump(target)


__all__ = ["DEFAULT_RECURSION_LIMIT", "Lineage", "RecursionGuard", "RecursionStop", "current_lineage"]

"""SQS as an event source: an event source mapping (or Pipe) per consumer polls its queue
on the runtime's clock, in batches, with the batching window, visibility timeouts,
partial batch failures (``ReportBatchItemFailures``) and the dead-letter queue
(:class:`QueuePoller`); and SQS records sent in become messages on the queue.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

from flowengine.events.recursion import Lineage, current_lineage
from flowengine.events.routing import QueueMapping
from flowengine.events.source import EventError, EventSource, Wakeup

#: Batches of one event source mapping in flight at once (Lambda starts with five pollers).
SQS_CONCURRENT_BATCHES = 5
_SQS_RECORD_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
                          "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader")


class SqsSource(EventSource):
    """Sqs rules of the app runtime (a mixin of ``AppRuntime``)."""

    def _send_sqs(self, record: Mapping[str, Any]) -> None:
        arn = str(record.get("eventSourceARN", ""))
        queue = self._lookup("queue", arn) or self._lookup("queue", arn.rsplit(":", 1)[-1])
        if queue is None:
            raise EventError(f"the app has no queue {arn.rsplit(':', 1)[-1]!r} "
                             f"(queues: {', '.join(self._names('queue')) or 'none'})")
        args: dict[str, Any] = {"QueueUrl": self.url(queue), "MessageBody": record.get("body", "")}
        attrs = record.get("messageAttributes") or {}
        if attrs:
            args["MessageAttributes"] = {k: _sqs_attribute_in(v) for k, v in attrs.items()}
        a = record.get("attributes") or {}
        if a.get("MessageGroupId"):
            args["MessageGroupId"] = a["MessageGroupId"]
            args["MessageDeduplicationId"] = a.get("MessageDeduplicationId") or record.get("messageId", "")
        self.client("sqs").send_message(**args)


class QueuePoller:
    """One queue's event source mapping (or Pipe), polling on the runtime's clock.

    It receives with the queue's own visibility timeout, waits for the batching window when
    the batch is not full, deletes what succeeded, and leaves the rest to come back after
    the visibility timeout; moto moves a message to the dead-letter queue when it is
    received past ``maxReceiveCount``.  With nothing to receive it sleeps until the next
    message becomes visible, or until a send wakes it.
    """

    def __init__(self, runtime: Any, mapping: QueueMapping) -> None:
        self.rt = runtime
        self.mapping = mapping
        self.queue = mapping.queue
        self.resource = runtime.emulation.resources[mapping.queue]
        self.outstanding = 0
        self.in_flight = 0
        self.task: asyncio.Task[Any] | None = None
        self._wakeup = Wakeup(runtime.clock)
        self._dead_lettered: set[str] = set()
        dead = runtime.app.resources[mapping.queue].properties.get("dead_letter")
        self.max_receives = int(dead.get("max_receive_count", 3)) if isinstance(dead, dict) else None
        self.dlq = dead.get("queue") if isinstance(dead, dict) else None

    def notify(self) -> None:
        self._wakeup.notify()

    async def run(self) -> None:
        self.task = asyncio.current_task()
        self._wakeup.start()
        size = self.mapping.batch_size
        while True:
            self._count()
            if self.in_flight >= SQS_CONCURRENT_BATCHES:
                await self._wakeup.sleep(None)
                continue
            messages = self._receive(size)
            if messages and len(messages) < size and self.mapping.batching_window > 0:
                deadline = self.rt.clock.now() + self.mapping.batching_window
                while len(messages) < size and self.rt.clock.now() < deadline:
                    await self._wakeup.sleep(deadline)
                    messages += self._receive(size - len(messages))
            if messages:
                self.in_flight += 1
                self.rt._spawn(self._batch(messages), None)
                continue
            self._count()
            await self._wakeup.sleep(self._next_visible())

    def _backend(self) -> Any:
        try:
            return self.rt.emulation.queue_backend(self.queue)
        except Exception:  # noqa: BLE001 - moto's internals moved: fall back to the API
            return None

    def _count(self) -> None:
        self._expire()
        q = self._backend()
        if q is not None:
            self.outstanding = len(q._messages)
            return
        attrs = self.rt.client("sqs").get_queue_attributes(QueueUrl=self.resource.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        self.outstanding = sum(int(v) for v in attrs.values())

    def _next_visible(self) -> float | None:
        """When the next message in flight or delayed becomes visible (moto's times, in ms)."""
        q = self._backend()
        if q is None:  # without moto's model: look again in a second while messages are out
            return self.rt.clock.now() + 1.0 if self.outstanding else None
        times = []
        for m in q._messages:
            if getattr(m, "delayed", False):
                times.append(m.delayed_until / 1000.0 + 0.001)
            elif not m.visible:
                times.append(m.visible_at / 1000.0 + 0.001)
        return min(times, default=None)

    def _receive(self, n: int) -> list[dict[str, Any]]:
        self._expire()
        self._note_dead_letters()
        sqs = self.rt.client("sqs")
        out: list[dict[str, Any]] = []
        while len(out) < n:
            got = sqs.receive_message(QueueUrl=self.resource.url, MaxNumberOfMessages=min(10, n - len(out)),
                                      AttributeNames=["All"], MessageAttributeNames=["All"],
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            out += got
        return out

    def _expire(self) -> None:
        """SQS deletes a message once it is older than the queue's ``MessageRetentionPeriod``
        (four days unless set).  moto only stops returning such a message, while it stays
        in the queue and comes back into view after every visibility timeout: a consumer
        that always fails it, with no dead-letter queue, would keep the runtime busy forever."""
        q = self._backend()
        if q is None:
            return
        retention = float(getattr(q, "message_retention_period", 4 * 86400) or 4 * 86400)
        now = self.rt.clock.now()
        expired = [m for m in list(q._messages)
                   if m.sent_timestamp is not None and m.sent_timestamp / 1000.0 + retention <= now]
        for m in expired:
            q._messages.remove(m)
            pending = getattr(q, "pending_messages", None)
            if pending is not None:
                pending.discard(m)
            self.rt._message_lineage.pop(m.id, None)
            self.rt._record("sqs", f"{self.queue}: message {m.id} deleted after the retention period "
                            f"({retention:g} s)", queue=self.queue, message_id=m.id, action="expired")

    def _note_dead_letters(self) -> None:
        if self.max_receives is None:
            return
        q = self._backend()
        if q is None:
            return
        for m in q._messages:
            if m.visible and m.approximate_receive_count >= self.max_receives and m.id not in self._dead_lettered:
                self._dead_lettered.add(m.id)
                self.rt._record("sqs", f"{self.queue}: message {m.id} received {m.approximate_receive_count} times, "
                                f"moved to dead-letter queue {self.dlq}", queue=self.queue, message_id=m.id,
                                action="dead-letter", dlq=self.dlq)

    def _record_of(self, m: Mapping[str, Any]) -> dict[str, Any]:
        attributes = {k: v for k, v in (m.get("Attributes") or {}).items() if k in _SQS_RECORD_ATTRIBUTES}
        return {
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m.get("Body", ""),
            "attributes": attributes,
            "messageAttributes": {k: _sqs_attribute_out(v) for k, v in (m.get("MessageAttributes") or {}).items()},
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": self.resource.arn,
            "awsRegion": self.rt.account.region,
        }

    async def _batch(self, messages: list[dict[str, Any]]) -> None:
        try:
            await self._process(messages)
        finally:
            self.in_flight -= 1
            self.notify()

    async def _process(self, messages: list[dict[str, Any]]) -> None:
        rt, mapping = self.rt, self.mapping
        if mapping.filter is not None:
            messages = self._filtered(messages)
        admitted: list[dict[str, Any]] = []
        lineage: Lineage | None = None
        for m in messages:
            mine = rt._message_lineage.get(m["MessageId"]) or rt._root().via(f"sqs:{self.queue}")
            if rt.guard.limit is not None and mine.count(mapping.key) >= rt.guard.limit:
                rt.guard.admit(mine, mapping.key, trigger=mapping.name, now=rt.clock.now(), event=m)
                rt._record("recursion", rt.guard.stops[-1].message, target=mapping.key, trigger=mapping.name,
                           trace=mine.trace_id)
                self._delete([m], dead_letter=True)
                continue
            admitted.append(m)
            if lineage is None or mine.count(mapping.key) > lineage.count(mapping.key):
                lineage = mine
        if not admitted or lineage is None:
            return
        run_as = lineage.bump(mapping.key)
        current_lineage.set(run_as)
        records = [self._record_of(m) for m in admitted]
        rt._record("sqs", f"{self.queue}: batch of {len(records)} → {mapping.target_kind} {mapping.target} "
                   f"(trigger {mapping.name})", queue=self.queue, action="batch", size=len(records),
                   trigger=mapping.name, receive_counts=[int(r["attributes"].get("ApproximateReceiveCount", 0))
                                                         for r in records])
        if mapping.target_kind == "flow":
            # An EventBridge Pipe starts one execution per batch (FIRE_AND_FORGET) with the records.
            await rt._start_execution(mapping.target, records, origin=f"trigger {mapping.name}")
            self._delete(admitted)
            return
        inv = await rt._call(mapping.target, {"Records": records}, trigger=mapping.name)
        if not inv.ok:
            rt._record("sqs", f"{self.queue}: batch failed ({inv.error}); {len(admitted)} message(s) return after "
                       "the visibility timeout", queue=self.queue, action="failed", size=len(admitted))
            return
        failed = self._failures(inv.payload, records) if mapping.report_batch_item_failures else set()
        if failed is None:
            rt._record("sqs", f"{self.queue}: invalid batchItemFailures response; the whole batch returns",
                       queue=self.queue, action="failed", size=len(admitted))
            return
        self._delete([m for m in admitted if m["MessageId"] not in failed])
        if failed:
            rt._record("sqs", f"{self.queue}: {len(failed)} of {len(admitted)} message(s) reported failed; they "
                       "return after the visibility timeout", queue=self.queue, action="partial",
                       failed=sorted(failed))

    def _filtered(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Lambda event filtering: a message that matches no filter of the mapping is deleted
        from the queue without reaching the target."""
        assert self.mapping.filter is not None
        keep: list[dict[str, Any]] = []
        drop: list[dict[str, Any]] = []
        for m in messages:
            (keep if self.mapping.filter.matches(self._record_of(m)) else drop).append(m)
        if drop:
            self.rt._record("sqs", f"{self.queue}: {len(drop)} message(s) match no filter of trigger "
                            f"{self.mapping.name}; deleted", queue=self.queue, action="filtered",
                            trigger=self.mapping.name, message_ids=[m["MessageId"] for m in drop])
            self._delete(drop)
        return keep

    @staticmethod
    def _failures(response: Any, records: list[dict[str, Any]]) -> set[str] | None:
        """The message ids a ReportBatchItemFailures response names; None for an invalid one
        (an identifier that is empty or not in the batch fails the whole batch, as on AWS)."""
        if not isinstance(response, dict):
            return set()
        items = response.get("batchItemFailures")
        if not items:
            return set()
        if not isinstance(items, list):
            return None
        ids = {r["messageId"] for r in records}
        out: set[str] = set()
        for item in items:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(ident, str) or ident not in ids:
                return None
            out.add(ident)
        return out

    def _delete(self, messages: list[dict[str, Any]], *, dead_letter: bool = False) -> None:
        if not messages:
            return
        sqs = self.rt.client("sqs")
        for i in range(0, len(messages), 10):
            chunk = messages[i:i + 10]
            if dead_letter and self.dlq is not None:
                for m in chunk:
                    sqs.send_message(QueueUrl=self.rt.url(self.dlq), MessageBody=m.get("Body", ""))
            sqs.delete_message_batch(QueueUrl=self.resource.url, Entries=[
                {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(chunk)])
        for m in messages:
            self.rt._message_lineage.pop(m["MessageId"], None)
        self._count()


def _sqs_attribute_out(v: Mapping[str, Any]) -> dict[str, Any]:
    """A received message attribute (boto3's shape) → Lambda's record shape."""
    binary = v.get("BinaryValue")
    out: dict[str, Any] = {"stringValue": v.get("StringValue"),
                           "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
                           "stringListValues": list(v.get("StringListValues", [])),
                           "binaryListValues": [base64.b64encode(b).decode() if isinstance(b, bytes) else b
                                                for b in v.get("BinaryListValues", [])],
                           "dataType": v.get("DataType", "String")}
    return {k: x for k, x in out.items() if x is not None}


def _sqs_attribute_in(v: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's record shape → SendMessage's MessageAttributes shape."""
    out: dict[str, Any] = {"DataType": v.get("dataType", "String")}
    if v.get("stringValue") is not None:
        out["StringValue"] = v["stringValue"]
    if v.get("binaryValue") is not None:
        out["BinaryValue"] = base64.b64decode(v["binaryValue"])
    return out


__all__ = ["SqsSource", "QueuePoller", "SQS_CONCURRENT_BATCHES"]

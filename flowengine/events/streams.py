"""DynamoDB streams as an event source: a function's event source mapping on a table's
stream (:class:`StreamPoller`), reading moto's stream through the emulation's
``dynamodbstreams`` client and invoking the function with batches of records in Lambda's
shape, in order, on the runtime's clock.

What it does as Lambda does:

* one batch at a time per mapping (the table has one shard; ParallelizationFactor 1), in
  sequence-number order, at most ``batch_size`` records (100 unless set), after waiting up
  to ``batching_window`` for the batch to fill;
* ``filter`` (FilterCriteria) drops the records that match no pattern before batching;
* a write that changes nothing (a PutItem of an identical item) makes no record;
* the record carries only what the table's ``StreamViewType`` shows;
* a function error retries the whole batch; with ``report_batch_item_failures`` the
  response's ``batchItemFailures`` (``itemIdentifier``: the SequenceNumber) checkpoint the
  batch: the retry starts at the lowest failed record; an identifier not in the batch fails
  the whole batch; ``maximum_retry_attempts`` retries, then the batch is dropped.

Where it deviates (docs/events.md): Lambda retries a failing batch until its records expire
(24 hours) when ``maximum_retry_attempts`` is unset; flowengine stops after
:data:`LOCAL_STREAM_RETRIES` retries, so a poisoned record cannot keep a test busy for a
virtual day.  Retries wait 1 s, doubling to 1 minute (Lambda does not document its delays).
AWS's recursive loop detection does not cover streams; the runtime's recursion guard still
stops a function that keeps rewriting the table it reads, and says so.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from typing import Any

from flowengine.dsl.streams import table_stream
from flowengine.events.emulation import ObservedCall
from flowengine.events.recursion import Lineage, current_lineage
from flowengine.events.routing import Route, StreamMapping
from flowengine.events.source import EventError, EventSource, Wakeup

#: Retries of a failing batch when the trigger sets no ``maximum_retry_attempts`` (Lambda: until
#: the records expire, 24 hours later).
LOCAL_STREAM_RETRIES = 10
#: DynamoDB Streams keeps a record for 24 hours.
STREAM_RETENTION_SECONDS = 86400.0
_FIRST_RETRY_DELAY = 1.0
_MAX_RETRY_DELAY = 60.0
_READ_LIMIT = 1000  # GetRecords' largest page


class StreamSource(EventSource):
    """DynamoDB stream rules of the app runtime (a mixin of ``AppRuntime``)."""

    _stream_pollers: dict[str, list[StreamPoller]]
    _stream_marks: dict[str, tuple[int, dict[int, tuple[float, Lineage]]]]

    def _boot_streams(self) -> None:
        """Open a poller per ``table`` trigger (at start, before anything writes)."""
        self._stream_pollers = {}
        self._stream_marks = {}
        for table, mappings in self.router.streams.items():
            for mapping in mappings:
                poller = StreamPoller(self, mapping)
                self._stream_pollers.setdefault(table, []).append(poller)
            self._stream_marks[table] = (_shard_end(self, table), {})
        for pollers in self._stream_pollers.values():
            for poller in pollers:
                poller.open()
                self._spawn_poller(poller)

    def _spawn_poller(self, poller: StreamPoller) -> None:
        raise NotImplementedError  # AppRuntime: a background task on its loop

    def _streams_busy(self) -> int:
        """Records read from the streams and not yet done with (part of ``busy``)."""
        pollers = getattr(self, "_stream_pollers", {})
        return sum(max((p.outstanding for p in ps), default=0) for ps in pollers.values())

    def _send_dynamodb(self, records: list[Any], lineage: Lineage) -> list[Route]:
        """DynamoDB stream records sent in (``send``): one batch to each stream trigger of the
        table their ``eventSourceARN`` names (its local or logical name), after the trigger's
        ``filter``.  They are delivered as other sent events are (an asynchronous invocation);
        the stream's own retries apply to the records of the table's writes."""
        arn = str(records[0].get("eventSourceARN", "")) if isinstance(records[0], dict) else ""
        name = arn.partition("/stream/")[0].rsplit("/", 1)[-1]
        table = self._lookup("table", name) if name else None
        if table is None:
            raise EventError(f"the records' eventSourceARN names no table of the app ({name or 'none'!r}; tables: "
                             f"{', '.join(self._names('table')) or 'none'})")
        self._record("event", f"dynamodb {len(records)} stream record(s) of {table} sent", source="send",
                     resource=table, records=len(records))
        routes: list[Route] = []
        for mapping in self.router.streams.get(table, []):
            kept = mapping.filter.filter(records) if mapping.filter is not None else records
            if kept and self._deliver(mapping, {"Records": list(kept)}, lineage.via(f"dynamodb:{table}"),
                                      what=f"stream records of {table}"):
                routes.append(mapping)
        return routes

    def _dynamodb(self, call: ObservedCall, lineage: Lineage) -> None:
        """An item write: stamp the stream records it made with its time and chain, and wake
        the table's pollers."""
        for table, pollers in getattr(self, "_stream_pollers", {}).items():
            mark, stamps = self._stream_marks[table]
            end = _shard_end(self, table)
            if end <= mark:
                continue
            via = lineage.via(f"dynamodb:{table}")
            for seq in range(mark, end):
                stamps[seq] = (call.time, via)
            self._stream_marks[table] = (end, stamps)
            self._record("event", f"dynamodb {end - mark} item write(s) to {table}", source="dynamodb", resource=table,
                         records=end - mark)
            for poller in pollers:
                poller.notify()


class StreamPoller:
    """One function's event source mapping on one table's stream."""

    def __init__(self, runtime: Any, mapping: StreamMapping) -> None:
        self.rt = runtime
        self.mapping = mapping
        self.table = mapping.table
        self.resource = runtime.emulation.resources[mapping.table]
        self.view_type = table_stream(runtime.app, mapping.table) or "NEW_AND_OLD_IMAGES"
        #: records read and not yet done with: (record, sequence number, lineage or None)
        self.pending: list[tuple[dict[str, Any], int, Lineage | None]] = []
        self.outstanding = 0
        self.stream_arn = ""
        self.task: asyncio.Task[Any] | None = None
        self._iterator: str | None = None
        self._wakeup = Wakeup(runtime.clock)
        self._since = 0.0  # when the oldest pending record was read (the batching window)

    def open(self) -> None:
        """Find the stream and its shard, and take an iterator at the starting position."""
        table = self.rt.client("dynamodb").describe_table(TableName=self.resource.local_name)["Table"]
        self.stream_arn = str(table["LatestStreamArn"])
        streams = self.rt.client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self._iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shards[0]["ShardId"],
            ShardIteratorType=self.mapping.starting_position)["ShardIterator"]

    def notify(self) -> None:
        self._wakeup.notify()

    async def run(self) -> None:
        self.task = asyncio.current_task()
        self._wakeup.start()
        try:
            await self._poll()
        except Exception as exc:  # noqa: BLE001 - say so, and stop counting as busy
            self.pending.clear()
            self.outstanding = 0
            self.rt._record("drop", f"{self.table}: the stream poller of trigger {self.mapping.name} stopped: "
                            f"{type(exc).__name__}: {exc}", table=self.table, trigger=self.mapping.name,
                            reason="internal", error=repr(exc))

    async def _poll(self) -> None:
        size, window = self.mapping.batch_size, self.mapping.batching_window
        while True:
            self._read()
            if not self.pending:
                await self._wakeup.sleep(None)
                continue
            if len(self.pending) < size and window > 0:
                deadline = self._since + window
                while len(self.pending) < size and self.rt.clock.now() < deadline:
                    await self._wakeup.sleep(deadline)
                    self._read()
            await self._batch(self.pending[:size])

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        streams = self.rt.client("dynamodbstreams")
        while self._iterator is not None:
            page = streams.get_records(ShardIterator=self._iterator, Limit=_READ_LIMIT)
            self._iterator = page.get("NextShardIterator") or self._iterator
            raw = page.get("Records", [])
            for r in raw:
                self._take(r)
            if len(raw) < _READ_LIMIT:
                break
        self.outstanding = len(self.pending)

    def _take(self, raw: Mapping[str, Any]) -> None:
        d = raw.get("dynamodb") or {}
        seq = int(d.get("SequenceNumber", 0))
        old, new = d.get("OldImage"), d.get("NewImage")
        if raw.get("eventName") == "MODIFY" and old == new:
            return  # DynamoDB writes no stream record for a write that changes nothing
        _, stamps = self.rt._stream_marks.get(self.table, (0, {}))
        when, lineage = stamps.get(seq, (self.rt.clock.now(), None))
        record = self._record_of(raw, when)
        if self.mapping.filter is not None and not self.mapping.filter.matches(record):
            self.rt._record("dynamodb", f"{self.table}: record {d.get('SequenceNumber')} ({raw.get('eventName')}) "
                            f"matches no filter of trigger {self.mapping.name}; skipped", table=self.table,
                            action="filtered", trigger=self.mapping.name, sequence_number=d.get("SequenceNumber"))
            return
        if not self.pending:
            self._since = self.rt.clock.now()
        self.pending.append((record, seq, lineage))

    def _record_of(self, raw: Mapping[str, Any], when: float) -> dict[str, Any]:
        """moto's record → Lambda's: the region, the time on the runtime's clock, the stream's
        ARN, eventVersion 1.1, and only the images the view type shows (JSON values: binary
        attributes as base64 text)."""
        d = raw.get("dynamodb") or {}
        view = self.view_type
        body: dict[str, Any] = {"ApproximateCreationDateTime": float(int(when)), "Keys": _attrs(d.get("Keys") or {})}
        if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and d.get("NewImage") is not None:
            body["NewImage"] = _attrs(d["NewImage"])
        if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and d.get("OldImage") is not None:
            body["OldImage"] = _attrs(d["OldImage"])
        # an estimate: the attribute names and values as JSON text (DynamoDB counts its own way)
        size = len(json.dumps({k: body[k] for k in ("Keys", "NewImage", "OldImage") if k in body},
                              separators=(",", ":")).encode())
        body.update({"SequenceNumber": str(d.get("SequenceNumber", "")), "SizeBytes": size,
                     "StreamViewType": view})
        return {"eventID": raw.get("eventID", ""), "eventName": raw.get("eventName", ""), "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": self.rt.account.region, "dynamodb": body,
                "eventSourceARN": self.stream_arn}

    # -- a batch ---------------------------------------------------------------------------

    async def _batch(self, batch: list[tuple[dict[str, Any], int, Lineage | None]]) -> None:
        """Invoke the function with ``batch`` until it succeeds or the retries run out;
        the records done with leave ``pending``."""
        rt, m = self.rt, self.mapping
        retries, delay, first = 0, _FIRST_RETRY_DELAY, rt.clock.now()
        limit = m.maximum_retry_attempts if m.maximum_retry_attempts is not None else LOCAL_STREAM_RETRIES
        while batch:
            lineage = self._lineage(batch)
            records = [r for r, _, _ in batch]
            admitted = rt.guard.admit(lineage, m.key, trigger=m.name, now=rt.clock.now(), event={"Records": records})
            if admitted is None:
                stop = rt.guard.stops[-1]
                rt._record("recursion", stop.message, target=m.key, trigger=m.name, count=stop.count,
                           trace=lineage.trace_id)
                self._done(len(batch))
                return
            current_lineage.set(admitted)
            rt._record("dynamodb", f"{self.table}: batch of {len(records)} → {m.target_kind} {m.target} "
                       f"(trigger {m.name})", table=self.table, action="batch", size=len(records), trigger=m.name,
                       sequence_numbers=[r["dynamodb"]["SequenceNumber"] for r in records])
            if m.target_kind == "flow":
                # An EventBridge Pipe starts one execution per batch (FIRE_AND_FORGET) with the records.
                await rt._start_execution(m.target, records, origin=f"trigger {m.name}")
                self._done(len(batch))
                return
            inv = await rt._call(m.target, {"Records": records}, trigger=m.name)
            failed_at: int | None = None
            if inv.ok and m.report_batch_item_failures:
                failed_at = _first_failure(inv.payload, records)
            if inv.ok and failed_at is None:
                self._done(len(batch))
                return
            if inv.ok and failed_at is not None and failed_at > 0:
                # checkpoint: the records before the lowest failed one are done
                self._done(failed_at)
                batch = batch[failed_at:]
            why = "reported failures" if inv.ok else str(inv.error)
            if inv.throttled:  # before the invocation: retried until the records expire, uncounted
                if rt.clock.now() + delay - first > STREAM_RETENTION_SECONDS:
                    self._drop(batch, "the records expired (24 hours) while the function was throttled")
                    return
            else:
                retries += 1
                if retries > limit:
                    self._drop(batch, f"{limit} retr{'y' if limit == 1 else 'ies'} failed ({why})")
                    return
            rt._record("retry", f"{self.table}: batch of {len(batch)} retried in {delay:g} s after {why} "
                       f"(trigger {m.name})", table=self.table, trigger=m.name, delay=delay, error=inv.error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_RETRY_DELAY)

    def _lineage(self, batch: list[tuple[dict[str, Any], int, Lineage | None]]) -> Lineage:
        key = self.mapping.key
        best: Lineage | None = None
        for _, _, mine in batch:
            if mine is not None and (best is None or mine.count(key) > best.count(key)):
                best = mine
        return best or self.rt._root().via(f"dynamodb:{self.table}")

    def _done(self, n: int) -> None:
        del self.pending[:n]
        self.outstanding = len(self.pending)
        if self.pending:
            self._since = self.rt.clock.now()

    def _drop(self, batch: list[tuple[dict[str, Any], int, Lineage | None]], why: str) -> None:
        seqs = [r["dynamodb"]["SequenceNumber"] for r, _, _ in batch]
        self.rt._record("drop", f"{self.table}: {len(batch)} record(s) dropped after {why} (trigger "
                        f"{self.mapping.name})", table=self.table, trigger=self.mapping.name, reason="retries",
                        sequence_numbers=seqs)
        self._done(len(batch))


def _first_failure(response: Any, records: list[dict[str, Any]]) -> int | None:
    """The index in ``records`` where a ReportBatchItemFailures response makes the retry
    start (the lowest failed sequence number); None when the batch succeeded.  An empty or
    null ``itemIdentifier``, or one not in the batch, fails the whole batch (index 0)."""
    if not isinstance(response, dict):
        return None
    items = response.get("batchItemFailures")
    if not items:
        return None
    if not isinstance(items, list):
        return 0
    index = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    found: list[int] = []
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in index:
            return 0
        found.append(index[ident])
    return min(found)


def _attrs(value: Any) -> Any:
    """Attribute values as boto3 returns them → as JSON (binary as base64 text)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _attrs(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_attrs(v) for v in value]
    return value


def _shard_end(runtime: Any, table: str) -> int:
    """The sequence number the table's stream gives its next record (moto's model; 0 when
    moto's internals are not what this expects: records are then stamped when read)."""
    try:
        from moto.dynamodb.models import dynamodb_backends

        acct, region = runtime.account.account, runtime.account.region
        t = dynamodb_backends[acct][region].get_table(runtime.emulation.resources[table].local_name)
        shard = t.stream_shard
        if shard is None:
            return 0
        return int(shard.starting_sequence_number) + len(shard.items)
    except Exception:  # noqa: BLE001
        return 0


__all__ = ["LOCAL_STREAM_RETRIES", "STREAM_RETENTION_SECONDS", "StreamPoller", "StreamSource"]

"""Benchmark the app runtime: events routed per second, and one chain's end-to-end latency.

    /work/venv/bin/python scripts/bench_events.py [--reps 5] [--events 200]

1. **Routing throughput**: an app with an SNS topic (two subscriptions, one with a filter
   policy), an EventBridge rule and an S3 bucket notification, each to a no-op function.
   Handlers publish nothing; the test publishes ``--events`` messages/events/objects with
   boto3 into the emulation, then runs until idle.  Reported: routed deliveries (trigger →
   target) per wall-clock second, end to end (the boto3 call into moto, the observer, the
   routing, the invocation), and the same for ``runtime.send`` (no moto call).
2. **Chain latency**: the bundled upload pipeline (``definitions/upload-pipeline.yaml``):
   one S3 PutObject → EventBridge → ProcessUpload (ExtractMetadata reads the object,
   WriteLegacy, a 5-minute Wait, IndexDocument writes the table).  Reported: virtual time
   from the put to the item in the table, and the wall time of the same run.

3. **The cost of one test**: ``run_flow`` (a fresh runtime with the emulation, as every test
   gets) of ``definitions/orders.yaml`` and of the upload pipeline (its object staged, so the
   flow runs to the end), warm, in one process, next to the bare engine running the same
   flow.  Two variants: the apps' own handlers, and handlers mocked (what the runtime
   itself costs, without the handlers' own boto3 client creation).

Every figure is the median of ``--reps`` repetitions, each in a fresh runtime.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP = textwrap.dedent("""\
    app: bench-events
    code: .
    functions:
      Sink: {handler: bench_events_handlers.sink}
      Filtered: {handler: bench_events_handlers.sink}
      OnEvent: {handler: bench_events_handlers.sink}
      OnObject: {handler: bench_events_handlers.sink}
    resources:
      Topic: {type: topic}
      Bucket: {type: bucket}
    triggers:
      - {topic: Topic, invoke: Sink}
      - {topic: Topic, invoke: Filtered, filter_policy: {kind: [even]}}
      - {event_pattern: {source: [bench]}, invoke: OnEvent}
      - {bucket: Bucket, events: [created], prefix: in/, invoke: OnObject}
    """)
HANDLERS = "def sink(event, context):\n    return None\n"


def _routing(app: Path, n: int, sync_handlers: str) -> tuple[float, float, int]:
    import boto3

    from flowengine.events import payloads
    from flowengine.runtime.app import AppRuntime

    with AppRuntime(app, sync_handlers=sync_handlers) as rt:  # type: ignore[arg-type]
        sns, events, s3 = boto3.client("sns"), boto3.client("events"), boto3.client("s3")
        topic, bucket = rt.arn("Topic"), rt.name("Bucket")
        t0 = time.perf_counter()
        for i in range(n // 3):
            sns.publish(TopicArn=topic, Message=str(i),
                        MessageAttributes={"kind": {"DataType": "String", "StringValue": "even" if i % 2 else "odd"}})
            events.put_events(Entries=[{"Source": "bench", "DetailType": "Tick", "Detail": json.dumps({"i": i})}])
            s3.put_object(Bucket=bucket, Key=f"in/{i}", Body=b"x")
        assert rt.run_until_idle()
        wall = time.perf_counter() - t0
        routed = len(rt.log.of("route"))
        # the same events sent in directly (no boto3 call, no moto)
        t1 = time.perf_counter()
        for i in range(n // 3):
            rt.send(payloads.eventbridge_event("bench", "Tick", {"i": i}))
            rt.send(payloads.s3_event(bucket, f"in/{i}"))
            rt.send(payloads.sns_event(str(i), topic_arn=topic, message_attributes={"kind": "even"}))
        assert rt.run_until_idle()
        wall_send = time.perf_counter() - t1
        routed_send = len(rt.log.of("route")) - routed
    return routed / wall, routed_send / wall_send, routed


def _chain() -> tuple[float, float]:
    import boto3

    from flowengine.runtime.app import AppRuntime

    with AppRuntime(ROOT / "definitions" / "upload-pipeline.yaml") as rt:
        s3 = boto3.client("s3")
        t0 = time.perf_counter()
        v0 = rt.clock.now()
        s3.put_object(Bucket=rt.name("Uploads"), Key="incoming/bench.json", Body=b'{"title": "bench"}')
        assert rt.run_until_idle()
        wall = time.perf_counter() - t0
        [run] = rt.executions("ProcessUpload")
        assert run.status == "SUCCEEDED", run.error
        item = boto3.resource("dynamodb").Table(rt.name("Documents")).get_item(Key={"id": "bench.json"})
        assert "Item" in item
        [indexed] = rt.log.of("invoke", function="IndexDocument")
        return indexed.time - v0, wall


def _per_test(reps: int) -> None:
    from flowengine.testing import mocks, run_flow

    order = json.loads((ROOT / "examples" / "orders" / "order.json").read_text())
    orders = ROOT / "definitions" / "orders.yaml"
    uploads = ROOT / "definitions" / "upload-pipeline.yaml"
    upload_event = {"detail": {"bucket": {"name": "upload-pipeline-uploads"}, "object": {"key": "in/r.json"}}}
    upload_mocks = {"ExtractMetadata": mocks.returns({"id": "r.json", "bucket": "b", "key": "in/r.json",
                                                      "title": "R", "bytes": 12}),
                    "Index": mocks.returns({"indexed": "r.json"})}

    def staged() -> Any:
        def run() -> Any:
            from flowengine.runtime.app import AppRuntime

            with AppRuntime(uploads, record=True) as rt:
                rt.stage_object("Uploads", "in/r.json", b'{"title": "R"}')
                return rt.run_flow(None, upload_event)
        return run

    def median_ms(fn: Any) -> float:
        fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
            assert result.status in ("SUCCEEDED", "FAILED"), result.status
        return statistics.median(times) * 1000

    rows = [
        ("orders, own handlers", lambda: run_flow(orders, input=order),
         lambda: _bare(orders, order, None)),
        ("orders, handlers mocked", lambda: run_flow(orders, input=order, mocks=_orders_mocks(mocks)),
         lambda: _bare(orders, order, _orders_mocks(mocks))),
        ("upload pipeline, own handlers (object staged)", staged(), None),
        ("upload pipeline, handlers mocked", lambda: run_flow(uploads, input=upload_event, mocks=upload_mocks),
         lambda: _bare(uploads, upload_event, upload_mocks)),
    ]
    for label, runtime_fn, bare_fn in rows:
        ours = median_ms(runtime_fn)
        bare = f"{median_ms(bare_fn):.1f} ms" if bare_fn is not None else "n/a (its handlers need the emulation)"
        print(f"one test: {label}: run_flow {ours:.1f} ms; bare Engine {bare} (median of {reps})")


def _orders_mocks(mocks: Any) -> dict[str, Any]:
    return {"Validate": mocks.returns({"valid": True}), "Reserve": mocks.returns({"reserved": 1}),
            "Charge": mocks.returns({"id": "p"}), "ShipOne": mocks.returns({"parcel": "p"}),
            "Notify": mocks.returns({"sent": True})}


def _bare(path: Path, payload: Any, mock: Any) -> Any:
    from flowengine.runtime.engine import Engine

    with Engine(record=True, mocks=mock) as engine:
        return engine.run(path, payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--events", type=int, default=300, help="events per repetition (a third each kind)")
    parser.add_argument("--only", choices=["routing", "chain", "per-test"], help="run one section")
    args = parser.parse_args()
    if args.only == "per-test":
        _per_test(max(args.reps, 15))
        return

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "bench.yaml"
        app.write_text(APP)
        (Path(tmp) / "bench_events_handlers.py").write_text(HANDLERS)
        _routing(app, 30, "executor")  # warm up imports and moto
        for mode in ("executor", "inline"):
            e2e, sent, routed = [], [], 0
            for _ in range(args.reps):
                a, b, routed = _routing(app, args.events, mode)
                e2e.append(a)
                sent.append(b)
            print(f"routing ({mode} handlers): {routed} deliveries per run; "
                  f"boto3 → moto → trigger → function: {statistics.median(e2e):,.0f} deliveries/s; "
                  f"runtime.send → function: {statistics.median(sent):,.0f} deliveries/s (median of {args.reps})")

    _chain()  # warm up
    virtual, wall = [], []
    for _ in range(args.reps):
        v, w = _chain()
        virtual.append(v)
        wall.append(w)
    print(f"chain S3 put → ProcessUpload → Documents table: virtual {statistics.median(virtual):.3f} s "
          f"(the flow's 5-minute Wait included), wall {statistics.median(wall) * 1000:.1f} ms "
          f"(median of {args.reps})")
    _per_test(max(args.reps, 15))


if __name__ == "__main__":
    main()

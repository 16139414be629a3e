"""The clocks: virtual time skips idle waits, real work holds it, the start is settable."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from flowengine.engine.clock import DEFAULT_START, RealClock, VirtualClock, iso, to_datetime


def test_virtual_clock_skips_to_the_next_timer():
    clock = VirtualClock()
    try:
        async def main():
            t0 = clock.now()
            order = []

            async def sleeper(n):
                await asyncio.sleep(n)
                order.append((n, clock.now() - t0))

            await asyncio.gather(sleeper(3600), sleeper(60), sleeper(86400))
            return order

        started = time.perf_counter()
        order = clock.run(main())
        assert time.perf_counter() - started < 60  # a day of sleeps did not really sleep
        assert order == [(60, 60), (3600, 3600), (86400, 86400)]
    finally:
        clock.close()


def test_real_work_in_the_executor_holds_virtual_time():
    clock = VirtualClock()
    try:
        async def main():
            t0 = clock.now()
            timer = asyncio.ensure_future(asyncio.sleep(1))
            value = await clock.run_sync(lambda: (time.sleep(0.05), "done")[1])
            elapsed = clock.now() - t0
            await timer
            return value, elapsed

        value, elapsed = clock.run(main())
        assert value == "done" and elapsed == 0
    finally:
        clock.close()


def test_virtual_clock_start_and_advance():
    clock = VirtualClock(start=datetime(2030, 1, 1, tzinfo=timezone.utc))
    try:
        assert to_datetime(clock.now()) == datetime(2030, 1, 1, tzinfo=timezone.utc)
        clock.advance(90)
        assert iso(clock.now()) == "2030-01-01T00:01:30.000Z"
    finally:
        clock.close()
    assert to_datetime(VirtualClock().now()) == DEFAULT_START


def test_wait_for_timeouts_fire_on_virtual_time():
    clock = VirtualClock()
    try:
        async def main():
            try:
                await asyncio.wait_for(asyncio.sleep(100), 5)
            except asyncio.TimeoutError:
                return clock.now()

        assert to_datetime(clock.run(main())) == datetime(2024, 1, 1, 0, 0, 5, tzinfo=timezone.utc)
    finally:
        clock.close()


def test_real_clock_really_waits():
    clock = RealClock()
    try:
        t0 = time.perf_counter()
        clock.run(asyncio.sleep(0.02))
        assert time.perf_counter() - t0 >= 0.02
        assert abs(clock.now() - time.time()) < 5
    finally:
        clock.close()

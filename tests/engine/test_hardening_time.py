"""Long virtual times (issue 11, items 1, 13 and 14): the virtual clock never spins, an
execution ends at AWS's maximum execution time, and ``TestRuntime.advance`` moves the clock.

Past 2**24 s (194 days) asyncio's 1e-9 timer resolution no longer changes a float, and the
clock used to spin at 100 % CPU on a timer it had advanced to exactly.  The scenarios that hung
run in a subprocess under a hard timeout, so a regression fails instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine.engine.clock import VirtualClock, call_at_weakly
from flowengine.engine.options import EngineLimits
from flowengine.runtime.engine import Engine
from flowengine.testing.run import TestRuntime

YEAR = 365 * 24 * 3600
DAY = 24 * 3600
#: asyncio never asks the selector to block longer than a day, so a wait of N days takes
#: about N turns of the loop; anything beyond this many turns without progress is a spin.
SPIN_LIMIT = 5_000

# -- the invariant: every turn of the loop that blocks moves virtual time forward ---------------


class GuardedClock(VirtualClock):
    """A virtual clock that fails (instead of hanging) when its loop turns without progress:
    a blocking select that neither finds work nor moves virtual time forward."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stalls = 0
        self.turns = 0

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        loop = super()._new_loop()
        selector = loop._selector  # type: ignore[attr-defined]
        select = selector.select

        def guarded(timeout: float | None = None) -> Any:
            before = loop.time()
            ready = select(timeout)
            self.turns += 1
            blocked = timeout is not None and timeout > 0 and not ready and loop.real_work == 0  # type: ignore[attr-defined]
            if blocked and loop.horizon is None and loop.time() <= before:  # type: ignore[attr-defined]
                self.stalls += 1
            if self.turns > SPIN_LIMIT:
                raise AssertionError(f"the virtual clock spins: {self.turns} turns, stuck at {loop.time()} s")
            return ready

        selector.select = guarded
        return loop


delays = st.one_of(
    st.floats(min_value=0, max_value=YEAR, allow_nan=False),
    st.integers(min_value=0, max_value=YEAR).map(float),
    # just around the float cliff at 2**24 s, where asyncio's resolution stops counting
    st.floats(min_value=2**24 - 10, max_value=2**24 + 10),
    st.floats(min_value=2**25 - 1, max_value=2**25 + 1),
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(start_offsets=st.lists(delays, min_size=1, max_size=6), waits=st.lists(delays, min_size=1, max_size=6))
def test_property_timers_up_to_a_year_always_fire_and_the_clock_always_advances(start_offsets, waits):
    """Timers chained after each other (a wait started when another ends, as Wait states and
    backoffs are) all fire at their modelled time, and no turn of the loop stalls."""
    clock = GuardedClock()
    try:
        async def chain(offset: float, wait: float) -> float:
            await asyncio.sleep(offset)
            due = asyncio.get_running_loop().time() + wait
            await asyncio.sleep(wait)
            assert asyncio.get_running_loop().time() >= due  # never early
            return asyncio.get_running_loop().time() - due

        async def main() -> list[float]:
            return await asyncio.gather(*(chain(o, w) for o, w in zip(start_offsets, waits)))

        lateness = clock.run(main())
    finally:
        clock.close()
    assert clock.stalls == 0
    assert all(late <= 1e-6 for late in lateness)  # fired at the due instant (float rounding aside)


retriers = st.fixed_dictionaries({
    "ErrorEquals": st.just(["States.ALL"]),
    "IntervalSeconds": st.integers(min_value=1, max_value=99_999_999),
    "BackoffRate": st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    "MaxAttempts": st.integers(min_value=0, max_value=15),
})


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(wait=st.integers(min_value=0, max_value=2 * YEAR), retrier=retriers)
def test_property_waits_and_backoffs_end_at_their_modelled_time_or_at_one_year(wait, retrier):
    """A Wait then a Task that always fails under a Retry: the execution ends when the model
    says, capped at the one-year maximum (TIMED_OUT), and the clock never stalls."""
    definition = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": wait, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
              "Retry": [retrier], "End": True}}}

    def fail(event: Any, context: Any) -> Any:
        raise RuntimeError("no")

    expected = float(wait)
    delay = float(retrier["IntervalSeconds"])
    for _ in range(retrier["MaxAttempts"]):
        expected += min(delay, 1e12)
        delay *= retrier["BackoffRate"]
    clock = GuardedClock()
    try:
        with Engine(clock=clock, handlers={"fail": fail}, sync_handlers="inline", validate=False) as engine:
            result = engine.run(definition)
    finally:
        clock.close()
    assert clock.stalls == 0
    elapsed = (result.stop_date - result.start_date).total_seconds()
    if expected >= YEAR:
        assert (result.status, elapsed) == ("TIMED_OUT", YEAR)
    else:
        assert result.status == "FAILED" and abs(elapsed - expected) < 1e-3 * max(1.0, expected / 1e6)


# -- the scenarios that hung, in a subprocess under a hard timeout -------------------------------

SCENARIOS = textwrap.dedent("""
    import json, sys
    from datetime import timedelta
    from flowengine.runtime.engine import Engine
    from flowengine.testing.run import TestRuntime

    def wait(**field):
        return {"StartAt": "W", "States": {"W": {"Type": "Wait", **field, "End": True}}}

    def fail(event, context):
        raise RuntimeError("no")

    retry = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3600, "BackoffRate": 2, "MaxAttempts": 13}],
        "End": True}}}

    def report(name, result):
        elapsed = (result.stop_date - result.start_date).total_seconds()
        print(json.dumps({"name": name, "status": result.status, "elapsed": elapsed}), flush=True)

    def run(definition):  # each on a fresh clock, from 2024-01-01T00:00:00Z
        with Engine(handlers={"fail": fail}, validate=False) as engine:
            return engine.run(definition)

    report("wait 99,999,999 s", run(wait(Seconds=99_999_999)))
    report("one-year wait", run(wait(Seconds=365 * 86400)))
    report("timestamp 10 months ahead", run(wait(Timestamp="2024-11-01T00:00:00Z")))
    report("retry 13 attempts", run(retry))
    with TestRuntime(validate=False) as rt:
        rt.advance(timedelta(days=200))
        execution = rt.start(wait(Seconds=60))
        report("advance 200 days, then a wait", execution.result())
""")


def test_long_virtual_times_end_instead_of_spinning():
    # A hard timeout, not a timing assertion: before the fix each of these spun forever.
    done = subprocess.run([sys.executable, "-c", SCENARIOS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = {r["name"]: (r["status"], r["elapsed"]) for r in map(json.loads, done.stdout.splitlines())}
    assert results == {
        # past the one-year maximum: TIMED_OUT at exactly one year, as on AWS
        "wait 99,999,999 s": ("TIMED_OUT", YEAR),
        "one-year wait": ("TIMED_OUT", YEAR),
        "timestamp 10 months ahead": ("SUCCEEDED", 305 * DAY),  # 2024-01-01 -> 2024-11-01
        # 3600 * (2**13 - 1) s of backoff, then the last attempt fails for good
        "retry 13 attempts": ("FAILED", 3600 * (2**13 - 1)),
        "advance 200 days, then a wait": ("SUCCEEDED", 60),
    }


# -- AWS's maximum execution time ------------------------------------------------------------------


def _wait(seconds: int, **extra: Any) -> dict[str, Any]:
    return {"StartAt": "W", **extra, "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}


def test_an_express_execution_ends_timed_out_at_five_minutes():
    with Engine(validate=False) as engine:
        result = engine.run(_wait(3600), express=True)
        assert result.status == "TIMED_OUT" and (result.error, result.cause) == (None, None)
        assert (result.stop_date - result.start_date) == timedelta(minutes=5)
        assert result.history[-1]["type"] == "ExecutionTimedOut"
        assert result.history[-1]["executionTimedOutEventDetails"] == {"error": "States.Timeout"}
        assert engine.run(_wait(299), express=True).status == "SUCCEEDED"
        # a shorter TimeoutSeconds of its own still wins; a longer one is capped
        short = engine.run(_wait(3600, TimeoutSeconds=60), express=True)
        assert (short.status, short.stop_date - short.start_date) == ("TIMED_OUT", timedelta(minutes=1))
        long = engine.run(_wait(3600, TimeoutSeconds=1800), express=True)
        assert (long.status, long.stop_date - long.start_date) == ("TIMED_OUT", timedelta(minutes=5))
        # the same flow as STANDARD waits its hour
        assert engine.run(_wait(3600)).status == "SUCCEEDED"


def test_the_maximum_execution_times_are_engine_limits():
    limits = EngineLimits(max_execution_seconds=100, max_express_execution_seconds=10)
    with Engine(validate=False, limits=limits) as engine:
        standard = engine.run(_wait(3600))
        express = engine.run(_wait(3600), express=True)
    assert (standard.status, (standard.stop_date - standard.start_date).total_seconds()) == ("TIMED_OUT", 100)
    assert (express.status, (express.stop_date - express.start_date).total_seconds()) == ("TIMED_OUT", 10)


TOKEN_TASK = {"StartAt": "T", "States": {"T": {
    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}}, "End": True}}}


def test_the_maximum_execution_time_never_makes_time_pass_by_itself():
    # An execution waiting for a token is idle (run_until_idle leaves it RUNNING: no year
    # passes on its own), but once time passes the maximum, it times out as on AWS.
    with TestRuntime(validate=False, handlers={"notify": lambda event, context: None},
                     limits=EngineLimits(max_execution_seconds=DAY)) as rt:
        execution = rt.start(TOKEN_TASK)
        rt.run_until_idle()
        assert execution.status == "RUNNING"
        rt.advance(timedelta(days=2))
        result = execution.result()
    assert result.status == "TIMED_OUT"
    assert result.stop_date - result.start_date == timedelta(days=1)


def test_a_weak_timer_alone_leaves_the_loop_idle():
    clock = VirtualClock()
    try:
        async def main() -> tuple[bool, list[float]]:
            loop = asyncio.get_running_loop()
            fired: list[float] = []
            call_at_weakly(loop, loop.time() + 50, lambda: fired.append(loop.time()))
            idle = not await clock.settle(clock.now() + 100)  # nothing strong scheduled: stays
            await asyncio.sleep(80)  # a strong timer passes it: it fires on the way, at 50
            return idle, fired

        idle, fired = clock.run(main())
    finally:
        clock.close()
    assert idle and fired == [50]


# -- TestRuntime.advance with nothing scheduled -------------------------------------------------


def test_advance_moves_the_clock_even_with_nothing_scheduled():
    with TestRuntime() as rt:
        before = rt.now
        rt.advance(timedelta(days=200))
        assert rt.now - before == timedelta(days=200)
        rt.advance(0)
        assert rt.now - before == timedelta(days=200)

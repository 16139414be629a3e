"""Retry maths (pure, property-tested) and Retry/Catch behaviour in executions."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine.engine.retry import delay, matches, schedule
from flowengine.model.asl import Retrier

retriers = st.builds(
    Retrier,
    error_equals=st.just(("States.ALL",)),
    interval_seconds=st.integers(min_value=0, max_value=10_000),
    max_attempts=st.integers(min_value=0, max_value=30),
    backoff_rate=st.floats(min_value=1.0, max_value=10.0, allow_nan=False),
    max_delay_seconds=st.one_of(st.none(), st.integers(min_value=1, max_value=31_622_400)),
    jitter_strategy=st.sampled_from(["FULL", "NONE"]),
)


@settings(max_examples=300, deadline=None)
@given(retriers, st.integers(min_value=1, max_value=60), st.integers())
def test_delay_never_exceeds_max_delay(retrier, attempt, seed):
    d = delay(retrier, attempt, random.Random(seed))
    assert d >= 0
    if retrier.max_delay_seconds is not None:
        assert d <= retrier.max_delay_seconds


@settings(max_examples=300, deadline=None)
@given(retriers, st.integers(min_value=1, max_value=60), st.integers())
def test_full_jitter_is_within_cap_and_reproducible(retrier, attempt, seed):
    full = Retrier(retrier.error_equals, retrier.interval_seconds, retrier.max_attempts, retrier.backoff_rate,
                   retrier.max_delay_seconds, "FULL")
    none = Retrier(retrier.error_equals, retrier.interval_seconds, retrier.max_attempts, retrier.backoff_rate,
                   retrier.max_delay_seconds, "NONE")
    cap = delay(none, attempt, random.Random(0))
    a = delay(full, attempt, random.Random(seed))
    b = delay(full, attempt, random.Random(seed))
    assert a == b
    assert 0 <= a <= cap


@settings(max_examples=200, deadline=None)
@given(retriers)
def test_backoff_grows_monotonically_without_jitter(retrier):
    r = Retrier(retrier.error_equals, retrier.interval_seconds, retrier.max_attempts, retrier.backoff_rate,
                retrier.max_delay_seconds, "NONE")
    waits = schedule(r, random.Random(0))
    assert len(waits) == r.max_attempts
    assert all(a <= b for a, b in zip(waits, waits[1:], strict=False))


def test_schedule_examples():
    rng = random.Random(0)
    assert schedule(Retrier(("X",)), rng) == [1.0, 2.0, 4.0]
    assert schedule(Retrier(("X",), interval_seconds=3, max_attempts=4, backoff_rate=2, max_delay_seconds=10), rng) \
        == [3.0, 6.0, 10.0, 10.0]
    assert schedule(Retrier(("X",), max_attempts=0), rng) == []
    with pytest.raises(ValueError):
        delay(Retrier(("X",)), 0, rng)


def test_error_matching_rules():
    assert matches(["States.ALL"], "Custom")
    assert matches(["States.ALL"], "States.Timeout")
    assert matches(["States.ALL"], "States.DataLimitExceeded")
    assert not matches(["States.ALL"], "States.Runtime")
    assert not matches(["States.Runtime"], "States.Runtime")
    assert matches(["States.TaskFailed"], "Lambda.Unknown")
    assert not matches(["States.TaskFailed"], "States.Timeout")
    assert matches(["A", "B"], "B") and not matches(["A"], "B")


def _flaky(failures: int, error: type[Exception] = ValueError):
    calls = []

    def handler(event, context):
        calls.append(event)
        if len(calls) <= failures:
            raise error(f"failure {len(calls)}")
        return {"ok": len(calls)}

    return handler, calls


def _task(retry, catch=None):
    state = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Retry": retry,
             "End": True}
    if catch:
        state["Catch"] = catch
        state["Next"] = "Caught"
        del state["End"]
    states = {"T": state}
    if catch:
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "T", "States": states}


def _attempt_times(result):
    return [e["timestamp"] for e in result.history if e["type"] == "LambdaFunctionScheduled"]


def test_retry_backoff_on_virtual_clock(run):
    handler, calls = _flaky(3)
    r = run(_task([{"ErrorEquals": ["ValueError"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 3}]),
            handlers={"f": handler})
    assert r.status == "SUCCEEDED" and r.output == {"ok": 4}
    times = _attempt_times(r)
    assert [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)] == [2, 6, 18]


def test_retry_exhausted_then_catch_and_retry_count_in_context(run):
    handler, calls = _flaky(10)
    d = _task([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}], [{"ErrorEquals": ["ValueError"],
                                                                     "Next": "Caught"}])
    d["States"]["T"]["Parameters"] = {"n.$": "$$.State.RetryCount"}
    r = run(d, handlers={"f": handler})
    assert r.status == "SUCCEEDED"
    assert [c["n"] for c in calls] == [0, 1, 2]
    assert r.output["Error"] == "ValueError"


def test_max_attempts_zero_and_first_matching_retrier_decides(run):
    handler, calls = _flaky(10)
    r = run(_task([{"ErrorEquals": ["ValueError"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]),
            handlers={"f": handler})
    assert r.status == "FAILED" and len(calls) == 1
    handler, calls = _flaky(10)
    r = run(_task([{"ErrorEquals": ["Other"], "MaxAttempts": 5}, {"ErrorEquals": ["ValueError"], "MaxAttempts": 1}]),
            handlers={"f": handler})
    assert len(calls) == 2


def test_each_retrier_keeps_its_own_counter(run):
    errors = iter([KeyError, ValueError, KeyError, ValueError])

    def handler(event, context):
        e = next(errors, None)
        if e is not None:
            raise e("x")
        return "done"

    r = run(_task([{"ErrorEquals": ["KeyError"], "MaxAttempts": 2, "IntervalSeconds": 1},
                   {"ErrorEquals": ["ValueError"], "MaxAttempts": 2, "IntervalSeconds": 1}]),
            handlers={"f": handler})
    assert r.output == "done"


def test_full_jitter_is_reproducible_with_a_seed(run):
    def times(seed):
        handler, _ = _flaky(3)
        r = run(_task([{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "JitterStrategy": "FULL",
                        "MaxDelaySeconds": 15}]), handlers={"f": handler}, seed=seed)
        t = _attempt_times(r)
        return [(b - a).total_seconds() for a, b in zip(t, t[1:], strict=False)]

    assert times(7) == times(7)
    assert times(7) != times(8)
    assert all(0 <= w <= 15 for w in times(7))


def test_states_runtime_is_never_retried_or_caught(run):
    d = {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "OutputPath": "$.missing", "Branches": [{"StartAt": "A", "States": {"A": {
            "Type": "Pass", "End": True}}}],
        "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "C"}],
        "Next": "C"}, "C": {"Type": "Succeed"}}}
    r = run(d, {})
    assert r.error == "States.Runtime"
    assert "ParallelStateStarted" in [e["type"] for e in r.history]
    assert [e["type"] for e in r.history].count("ParallelStateStarted") == 1

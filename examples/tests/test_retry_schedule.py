"""Assert a retry schedule exactly.

A Retrier waits IntervalSeconds before the first retry and BackoffRate times longer before
each next one, never more than MaxDelaySeconds.  On the virtual clock the waits take no
time, and each attempt of the state records the backoff it waited: ``retry_delays``.
With ``JitterStrategy: FULL`` each wait is drawn from [0, that wait] by the run's seeded
random source, so a seed makes the schedule reproducible.
"""

from itertools import pairwise

from flowengine.testing import mocks, run_flow


def charge_flow(**retrier):
    """A one-Task flow whose Task retries PaymentGatewayBusy."""
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge",
                "Retry": [{"ErrorEquals": ["PaymentGatewayBusy"], **retrier}],
                "End": True,
            }
        },
    }


def busy(times):
    """The payment gateway is busy ``times`` times, then takes the payment."""
    return {"Charge": mocks.sequence(mocks.raises("PaymentGatewayBusy", "try later").times(times),
                                     mocks.returns({"paymentId": "p-1"}))}


def test_exponential_backoff_capped_by_max_delay():
    flow = charge_flow(IntervalSeconds=2, BackoffRate=2, MaxDelaySeconds=8, MaxAttempts=5)

    result = run_flow(flow, mocks=busy(5))

    assert result.status == "SUCCEEDED"
    # 2, 4, 8, then 16 and 32 capped at MaxDelaySeconds
    assert result.state("Charge").retry_delays == [2, 4, 8, 8, 8]
    # the attempts really are that far apart on the execution's clock
    attempts = result.state("Charge").attempts
    gaps = [(later.started - earlier.ended).total_seconds() for earlier, later in pairwise(attempts)]
    assert gaps == [2, 4, 8, 8, 8]
    assert [a.error for a in attempts] == ["PaymentGatewayBusy"] * 5 + [None]


def test_retries_run_out_after_max_attempts():
    flow = charge_flow(IntervalSeconds=2, BackoffRate=2, MaxAttempts=3)

    result = run_flow(flow, mocks=busy(10))

    assert (result.status, result.error, result.cause) == ("FAILED", "PaymentGatewayBusy", "try later")
    assert result.state("Charge").retry_delays == [2, 4, 8]
    assert len(result.state("Charge")) == 4  # the first try and three retries


def test_full_jitter_is_reproducible_with_a_seed():
    flow = charge_flow(IntervalSeconds=2, BackoffRate=2, MaxDelaySeconds=8, MaxAttempts=5, JitterStrategy="FULL")

    def delays(seed):
        return run_flow(flow, mocks=busy(5), seed=seed).state("Charge").retry_delays

    first = delays(seed=7)
    assert delays(seed=7) == first  # same seed, same schedule
    assert delays(seed=8) != first  # another seed, another schedule
    # each jittered wait lies between 0 and the wait without jitter
    assert all(0 <= d <= cap for d, cap in zip(first, [2, 4, 8, 8, 8]))

"""Retry and Catch maths: which retrier or catcher matches an error, and how long to wait.

:func:`delay` is a pure function of the retrier, the attempt number and a random source,
in the spirit of tenacity's wait strategies, so a test can compute a whole schedule
without running anything::

    >>> [delay(Retrier(("States.ALL",), interval_seconds=1, backoff_rate=2.0), n, rng) for n in (1, 2, 3)]
    [1.0, 2.0, 4.0]

ASL rules implemented here:

* ``IntervalSeconds`` (default 1) is the wait before the first retry; each further retry
  waits ``BackoffRate`` (default 2.0) times longer.
* ``MaxDelaySeconds`` caps the wait.
* ``JitterStrategy: FULL`` draws the wait uniformly from ``[0, capped wait]``.
* ``MaxAttempts`` (default 3) counts retries; 0 means never retry.  Each retrier keeps
  its own attempt counter.
* ``States.ALL`` matches every error name except ``States.Runtime``, which no retrier or
  catcher ever matches (AWS: "A States.Runtime error isn't retriable, and will always
  cause the execution to fail"; the recorded corpus confirms a ``Catch`` on
  ``States.Runtime`` does not catch it either).  ``States.DataLimitExceeded`` is caught
  by ``States.ALL`` as the recorded corpus shows (the AWS guide says otherwise).
* ``States.TaskFailed`` "acts as a wildcard that matches any known error name except for
  States.Timeout".
* A heartbeat expiry fails with ``States.Timeout`` (as AWS records it) and is matched by
  ``States.HeartbeatTimeout`` too ("only available inside the Catch and Retry fields").
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from flowengine.model.failure import ALL, HEARTBEAT_TIMEOUT, RUNTIME, TASK_FAILED, TIMEOUT
from flowengine.model.asl import Retrier


def matches(error_equals: Iterable[str], error: str, heartbeat: bool = False) -> bool:
    """Whether an ``ErrorEquals`` list matches the error name (``heartbeat``: the failure
    is a HeartbeatSeconds expiry)."""
    if error == RUNTIME:
        return False
    for name in error_equals:
        if name == error or name == ALL:
            return True
        if name == TASK_FAILED and error != TIMEOUT:
            return True
        if heartbeat and name == HEARTBEAT_TIMEOUT:
            return True
    return False


def delay(retrier: Retrier, attempt: int, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    ``interval * rate ** (attempt - 1)``, capped by MaxDelaySeconds, then with FULL jitter
    a uniform draw from ``[0, that]``.  The draw consumes exactly one number from ``rng``
    (and none without jitter), so a seeded schedule is reproducible.
    """
    if attempt < 1:
        raise ValueError("attempt counts retries from 1")
    wait = float(retrier.interval_seconds)
    rate = float(retrier.backoff_rate)
    cap = retrier.max_delay_seconds
    if rate != 1.0 and wait > 0:
        # Stop growing once past the cap (or absurdly large): rate ** n can overflow.
        limit = float(cap) if cap is not None else 1e12
        for _ in range(attempt - 1):
            wait *= rate
            if wait >= limit:
                wait = limit
                break
    if cap is not None and wait > cap:
        wait = float(cap)
    if retrier.jitter_strategy == "FULL":
        wait = rng.uniform(0.0, wait)
    return wait


def schedule(retrier: Retrier, rng: random.Random) -> list[float]:
    """Every wait the retrier would take, in order (MaxAttempts of them)."""
    return [delay(retrier, n, rng) for n in range(1, max(0, retrier.max_attempts) + 1)]

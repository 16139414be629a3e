"""Long waits are instant: the virtual clock skips them, the history keeps modelled time."""

import time
from datetime import timedelta

from flowengine.testing import run_flow

REMINDER = {
    "StartAt": "WaitADay",
    "States": {
        "WaitADay": {"Type": "Wait", "Seconds": 86400, "Next": "Remind"},
        "Remind": {"Type": "Pass", "Result": "reminder sent", "End": True},
    },
}


def test_a_24_hour_wait_takes_milliseconds():
    started = time.perf_counter()

    result = run_flow(REMINDER)

    wall = time.perf_counter() - started
    assert result.output == "reminder sent"
    # Not a speed test (see scripts/bench.py for that): the bound only proves nothing slept
    # through the 24 hours. In practice it takes a few milliseconds.
    assert wall < 60
    # the history is 24 hours long
    entered, exited = (e for e in result.history if e["type"].startswith("WaitState"))
    assert exited["timestamp"] - entered["timestamp"] == timedelta(hours=24)
    assert result.stop_date - result.start_date == timedelta(hours=24)
    assert result.state("Remind")[0].started == result.start_date + timedelta(days=1)

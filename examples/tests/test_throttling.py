"""Throttling at a function's concurrency cap, absorbed by Retry.

apps/stock.yaml declares ``ReserveStock`` with ``concurrency: 2`` (Lambda's reserved
concurrency) and calls it from a Map that runs ten items at a time.  As on AWS, an
invocation above the cap is throttled with ``Lambda.TooManyRequestsException`` and the
Task's Retry (exponential backoff with full jitter) tries it again later.  The handler
awaits ``asyncio.sleep(0.2)``: each invocation holds its slot for 200 ms of virtual time.
"""

from pathlib import Path

from flowengine.testing import run_flow

APP = Path(__file__).parent / "apps" / "stock.yaml"


def test_throttles_are_absorbed_and_the_cap_holds():
    items = [{"sku": f"sku-{i}"} for i in range(50)]

    result = run_flow(APP, "ReserveAll", input={"items": items})

    # every item completes ...
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == [{"sku": item["sku"], "reserved": True} for item in items]
    # ... although calls above the cap were throttled and retried
    assert result.throttles["ReserveStock"] > 0
    reserve = result.state("Reserve")
    assert reserve.entries == 50
    assert set(reserve.errors) == {"Lambda.TooManyRequestsException"}
    assert len(reserve.errors) == result.throttles["ReserveStock"]
    # never more than two in flight, and two at the busiest moment
    assert result.peak_concurrency["ReserveStock"] == 2

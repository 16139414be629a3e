"""The history limit (issue 11, item 12): AWS's 25,000 events hold for concurrent work too.

AWS: "When an execution reaches 24,999 events, it waits for the next event to happen.  If the
event number 25,000 is ExecutionSucceeded, the execution finishes successfully.  If [it] isn't
ExecutionSucceeded, the ExecutionFailed event is logged" (States.Runtime, "The execution
reached the maximum number of history events (25000).").  A Map over 80,000 items used to fail
only after 98,751 events, every concurrent iteration still appending its own.
"""

from __future__ import annotations

from typing import Any

from flowengine.engine.options import EngineLimits
from flowengine.runtime.engine import Engine


def run(definition: dict[str, Any], input: Any = None, limit: int = 25_000) -> Any:
    with Engine(validate=False, limits=EngineLimits(max_history_events=limit)) as engine:
        return engine.run(definition, input)


def passes(count: int) -> dict[str, Any]:
    names = [f"P{i}" for i in range(count)]
    states = {n: {"Type": "Pass", **({"Next": names[i + 1]} if i + 1 < count else {"End": True})}
              for i, n in enumerate(names)}
    return {"StartAt": names[0], "States": states}


def test_the_last_place_is_only_for_the_final_execution_event():
    # ExecutionStarted, 2 events per Pass, ExecutionSucceeded: 2 + 2 * 10 = 22 events
    fits = run(passes(10), limit=22)
    assert fits.status == "SUCCEEDED" and len(fits.history) == 22
    over = run(passes(10), limit=21)
    assert (over.status, over.error) == ("FAILED", "States.Runtime")
    assert over.cause == "The execution reached the maximum number of history events (21)."
    assert len(over.history) == 21 and over.history[-1]["type"] == "ExecutionFailed"
    assert over.history[-2]["type"] == "PassStateEntered"  # the PassStateExited that would be #21 is not kept


def test_a_concurrent_map_stops_at_the_limit():
    # Every iteration waits, so all of them are in flight together when the limit is reached.
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}},
        "End": True}}}
    result = run(definition, {"items": list(range(5_000))}, limit=300)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == "The execution reached the maximum number of history events (300)."
    assert len(result.history) == 300
    assert result.history[-1]["type"] == "ExecutionFailed"
    assert [e["id"] for e in result.history] == list(range(1, 301))


def test_a_parallel_inside_a_map_stops_at_the_limit_too():
    branch = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch, branch],
                                                            "End": True}}},
        "End": True}}}
    result = run(definition, {"items": list(range(1_000))}, limit=500)
    assert (result.status, len(result.history)) == ("FAILED", 500)
    assert result.history[-1]["type"] == "ExecutionFailed"

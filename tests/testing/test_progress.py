"""ProgressPrinter: what a person watching `flowengine run` sees."""

from __future__ import annotations

import io

from flowengine.runtime.engine import Engine
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.testing import ProgressPrinter, mocks
from flowengine.testing.progress import format_seconds

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"

FLOW = {"StartAt": "Pause", "States": {
    "Pause": {"Type": "Wait", "Seconds": 300, "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": ARN + "charge", "Next": "Each",
               "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "MaxAttempts": 3}]},
    "Each": {"Type": "Map", "End": True, "ItemsPath": "$.items",
             "ItemProcessor": {"StartAt": "Ship", "States": {"Ship": {"Type": "Pass", "End": True}}}},
}}


def run(printer: ProgressPrinter, **options):
    with Engine(listeners=[printer], record=True, validate=False, **options) as engine:
        return engine.run(FLOW, {"items": list(range(5))},
                          mocks={"Charge": mocks.sequence(mocks.raises("Busy"), mocks.returns({"items": [1] * 5}))})


def test_plain_text_progress_and_summary():
    out = io.StringIO()
    printer = ProgressPrinter(out)  # not a terminal: plain text, no colour codes
    result = run(printer)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert text.splitlines() == [
        "[+0s] > Pause Wait",
        "[+0s]   wait: Wait 5m (virtual; skipped)",
        "[+5m] > Charge Task",
        "[+5m]   retry: Charge failed with Busy; retry 1 in 2s (virtual; skipped)",
        "[+5m2s] > Each Map",
        "[+5m2s]   > Ship Pass",
        "[+5m2s]   > Ship Pass",
        "[+5m2s]   > Ship Pass",
        "[+5m2s]   ... (iterations after the first 3 are not shown)",
    ]
    summary = printer.summary(result, 0.0123)
    assert summary.splitlines() == [
        f"SUCCEEDED  {result.name}",
        "  path:     Pause -> Charge -> Each -> Each/Ship x5",
        "  retries:  Charge x1 (2s)",
        "  time:     5m2s virtual, 0.012s wall",
    ]


def test_colour_when_asked_and_throttling_and_failures_in_the_summary():
    out = io.StringIO()
    printer = ProgressPrinter(out, color=True)
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ARN + "f", "End": True}}}
    with Engine(listeners=[printer], record=True, validate=False,
                handlers={"f": LambdaFunction("f", lambda e, c: e, concurrency=0)}) as engine:
        result = engine.run(definition)
    assert "\x1b[" in out.getvalue() and "Lambda.TooManyRequestsException" in out.getvalue()
    summary = printer.summary(result, 1.5)
    assert "throttled: f 1 time (peak 0 in flight)" in summary
    assert "Lambda.TooManyRequestsException" in summary and "Rate Exceeded." in summary


def test_format_seconds():
    assert [format_seconds(s) for s in (0, 0.25, 2, 59.5, 60, 300, 5400, 86_400, 90_061)] == [
        "0s", "0.25s", "2s", "59.5s", "1m", "5m", "1h30m", "1d", "1d1h"]

"""Issue 13's acceptance on the collected SAM projects of ``tests/samprojects/`` (NOTICE there).

Per project (``tests/samprojects/harness.py`` holds the checks; ``python
tests/samprojects/harness.py`` prints the counts over all of them):

* ``flowengine validate template.yaml`` exits 0;
* every state machine runs with the mocks ``flowengine mocks scaffold`` writes, with no
  traceback;
* where the functions are Python and self-contained, every state machine runs with the real
  handlers too, with no traceback.

And one project runs end to end with no mocks, through the CLI: an S3 upload, a function,
the state machine and a DynamoDB table, all from the template.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main

ROOT = Path(__file__).resolve().parents[1] / "samprojects"
_spec = importlib.util.spec_from_file_location("samprojects_harness", ROOT / "harness.py")
assert _spec is not None and _spec.loader is not None
harness: Any = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = harness  # dataclasses look their module up there
_spec.loader.exec_module(harness)

PROJECTS = harness.projects()


def test_the_corpus_has_at_least_40_collected_projects() -> None:
    collected = [p for p in PROJECTS if not os.path.basename(p).startswith("flowengine--")]
    assert len(collected) >= 40
    notice = (ROOT / "NOTICE").read_text()
    for p in collected:  # each with its attribution
        assert os.path.basename(p) in notice


@pytest.mark.parametrize("project", PROJECTS, ids=[os.path.basename(p) for p in PROJECTS])
def test_project(project: str) -> None:
    outcome = harness.check(project)
    assert outcome.validate_rc == 0, outcome.validate_output
    assert outcome.flows, "a project of the corpus has state machines"
    assert set(outcome.mocked) == set(outcome.flows)
    assert outcome.tracebacks == []
    for flow, status in outcome.mocked.items():  # every machine ran to a status
        assert status in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"), f"{flow}: {status}"
    if outcome.self_contained:
        # a status, or flowengine's own report (a run waiting for a task token nobody sends
        # cannot finish): never a traceback (asserted above)
        assert set(outcome.real) == set(outcome.flows)


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue() + err.getvalue()


def test_s3_upload_function_state_machine_and_table_end_to_end(tmp_path: Path) -> None:
    """`flowengine run template.yaml --event upload.json --object orders.csv`: no mocks."""
    project = ROOT / "flowengine--s3-order-import"
    rc, text = _cli("event", "generate", "s3-eventbridge", "--bucket", "UploadsBucket", "--key", "incoming/orders.csv")
    assert rc == 0
    event = tmp_path / "upload.json"
    event.write_text(text)
    rc, text = _cli("run", str(project / "template.yaml"), "--event", str(event),
                    "--object", str(project / "events" / "orders.csv"), "--json")
    assert rc == 0, text
    result = json.loads(text)
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"file": "incoming/orders.csv", "stored": 3, "totalCents": 11975}


def test_end_to_end_items_land_in_the_emulated_table() -> None:
    from flowengine.dsl.app import load
    from flowengine.runtime.app import AppRuntime

    project = ROOT / "flowengine--s3-order-import"
    loaded = load(project / "template.yaml")
    with AppRuntime(loaded) as runtime:
        bucket = runtime.name("UploadsBucket")
        runtime.stage_object(bucket, "incoming/orders.csv", (project / "events" / "orders.csv").read_bytes())
        rc, text = _cli("event", "generate", "s3-eventbridge", "--bucket", bucket, "--key", "incoming/orders.csv")
        runtime.send(json.loads(text))
        runtime.run_until_idle()
        (execution,) = runtime.executions("ImportOrdersStateMachine")
        assert execution.status == "SUCCEEDED"
        items = runtime.client("dynamodb").scan(TableName=runtime.name("OrdersTable"))["Items"]
    assert sorted((i["orderId"]["S"], i["amountCents"]["N"]) for i in items) == [
        ("A-1001", "1250"), ("A-1002", "725"), ("A-1003", "10000")]


def test_a_template_upload_event_reaches_nothing_else(tmp_path: Path) -> None:
    """An upload outside the rule's prefix starts nothing (the trigger's filter is the template's)."""
    project = ROOT / "flowengine--s3-order-import"
    rc, text = _cli("event", "generate", "s3-eventbridge", "--bucket", "UploadsBucket", "--key", "elsewhere/x.csv")
    event = tmp_path / "upload.json"
    event.write_text(text)
    rc, text = _cli("run", str(project / "template.yaml"), "--event", str(event))
    assert rc == 2 and "started no" in text

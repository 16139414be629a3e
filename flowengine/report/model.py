"""What a report shows, as JSON-ready data: a run's summary, each state's attempts, and its
history, read from the history alone.

Reading the history (GetExecutionHistory's shape) rather than the engine's trace means one
reader serves every source: a result in memory, a saved ``flowengine run --json``, a history
fetched from AWS.  Events are attributed to states by following ``previousEventId``: each
event continues the chain of the event before it in its branch or Map iteration, so a
``*StateEntered`` starts a state's attempt and the events chained after it (the Task's
``LambdaFunctionFailed``, the next ``LambdaFunctionScheduled`` of a retry, the
``*StateExited``) belong to that attempt.  A retry starts a new attempt; the backoff before
it is the time between the failure and the next scheduling.  A Map iteration's index comes
from its ``MapIterationStarted``.

Times are seconds since the execution started, on the execution's clock (virtual time for a
local run).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

__all__ = ["OUTCOMES", "read_history", "run_data"]

#: A state's outcome, by precedence: what the report colours it by.
OUTCOMES = ("failed", "caught", "retried", "succeeded", "running", "not-reached")

_RETRY_STARTS = ("Scheduled", "ParallelStateStarted", "MapStateStarted")
_NOT_ERRORS = ("MapIterationFailed", "MapIterationAborted", "ExecutionFailed", "ExecutionTimedOut",
               "ExecutionAborted", "MapRunFailed")


def _ts(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def read_history(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(attempts, rows): each state attempt the history shows, and each event as a row of the
    history table with the index of the attempt it belongs to (``attempt``, or None)."""
    if not events:
        return [], []
    t0 = _ts(events[0].get("timestamp"))
    owner: dict[Any, int | None] = {}
    map_index: dict[Any, int | None] = {}
    attempts: list[dict[str, Any]] = []
    entries: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for ev in events:
        if not isinstance(ev, dict):
            continue
        eid, prev, kind = ev.get("id"), ev.get("previousEventId"), str(ev.get("type", ""))
        t = round(_ts(ev.get("timestamp")) - t0, 6)
        details = _details(ev)
        a = owner.get(prev)
        index = map_index.get(prev)
        if kind == "MapIterationStarted":
            try:
                index = int(details.get("index"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                index = None
        map_index[eid] = index
        if kind.endswith("StateEntered"):
            name = str(details.get("name", "?"))
            entry = entries.get(name, 0)
            entries[name] = entry + 1
            a = len(attempts)
            attempts.append({"state": name, "type": kind[:-len("StateEntered")], "number": 0, "entry": entry,
                             "mapIndex": index, "start": t, "end": None, "error": None, "cause": None,
                             "retryDelay": None, "caught": False, "inputEvent": eid, "outputEvent": None,
                             "events": []})
        elif a is not None and attempts[a]["error"] is not None and attempts[a]["outputEvent"] is None \
                and kind.endswith(_RETRY_STARTS) and attempts[a]["end"] is not None:
            before = attempts[a]
            a = len(attempts)
            attempts.append({**before, "number": before["number"] + 1, "start": t, "end": None, "error": None,
                             "cause": None, "retryDelay": round(t - before["end"], 6), "caught": False,
                             "events": []})
        owner[eid] = a
        if a is not None:
            att = attempts[a]
            att["events"].append(len(rows))
            if kind.endswith("StateExited"):
                att["outputEvent"], att["end"] = eid, t
                att["caught"] = att["error"] is not None
            elif ("error" in details or kind.endswith(("Failed", "TimedOut"))) and kind not in _NOT_ERRORS \
                    and att["error"] is None:
                att["error"] = details.get("error") if details.get("error") is not None else kind
                att["cause"] = details.get("cause")
                att["end"] = t
            elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted") and att["end"] is None \
                    and att["error"] is None:  # the execution ended in this attempt (a Fail state, a timeout)
                att["error"], att["cause"], att["end"] = details.get("error") or kind, details.get("cause"), t
        rows.append({"id": eid, "prev": prev, "t": t, "type": kind, "attempt": a, "details": details})
    for att in attempts:
        att["status"] = ("caught" if att["caught"] else "failed") if att["error"] is not None else (
            "succeeded" if att["end"] is not None else "running")
    return attempts, rows


THROTTLED = "Lambda.TooManyRequestsException"


def _throttles(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Function name → its throttled invocations, from the failures that follow a scheduling
    (the function is the last part of the scheduled resource's ARN)."""
    scheduled: dict[Any, str] = {}
    out: dict[str, int] = {}
    for r in rows:
        resource = r["details"].get("resource")
        if isinstance(resource, str) and r["type"].endswith("Scheduled"):
            scheduled[r["id"]] = resource.rpartition(":function:")[2].split(":")[0] or resource
        elif r["prev"] in scheduled:  # the chain that follows the scheduling
            scheduled[r["id"]] = scheduled[r["prev"]]
        if r["details"].get("error") == THROTTLED and r["type"].endswith("Failed"):
            fn = scheduled.get(r["id"], "") or "?"
            out[fn] = out.get(fn, 0) + 1
    return out


def _outcome(atts: list[dict[str, Any]]) -> str:
    if not atts:
        return "not-reached"
    statuses = {a["status"] for a in atts}
    last = atts[-1]["status"]
    if last == "failed" or ("failed" in statuses and "succeeded" not in statuses and "caught" not in statuses):
        return "failed"
    if "caught" in statuses:
        return "caught"
    if any(a["number"] > 0 for a in atts) and "succeeded" in statuses:
        return "retried"
    if "running" in statuses and "succeeded" not in statuses:
        return "running"
    return "succeeded"


def run_data(result: Any, *, title: str = "", drawing: Any = None, wall_seconds: float | None = None) -> dict[str, Any]:
    """The report's data for ``result``: an :class:`~flowengine.engine.result.ExecutionResult`,
    or a saved run's JSON (``{"status", "output", "error", "cause", "history"}``, or a
    GetExecutionHistory response ``{"events": [...]}``).  ``drawing`` (a laid out flow) maps
    states to graph nodes and gets their outcomes."""
    events: list[dict[str, Any]]
    if isinstance(result, dict):
        found = result.get("history") if isinstance(result.get("history"), list) else result.get("events")
        events = [ev for ev in found if isinstance(ev, dict)] if isinstance(found, list) else []
        status, error, cause = result.get("status"), result.get("error"), result.get("cause")
        output, name = result.get("output"), str(result.get("name") or "")
        throttles: dict[str, int] = dict(result.get("throttles") or {})
        arn = str(result.get("executionArn") or "")
    else:
        events = result.history
        status, error, cause, output = result.status, result.error, result.cause, result.output
        name, arn = result.name, result.execution_arn
        throttles = dict(getattr(result, "throttles", {}) or {})
    attempts, rows = read_history(list(events))
    if not throttles:  # a saved run: count the throttled invocations the history shows
        throttles = _throttles(rows)
    for ev in (events[-1:] if events else []):
        if status is None:
            kind = str(ev.get("type", ""))
            status = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionTimedOut":
                      "TIMED_OUT", "ExecutionAborted": "ABORTED"}.get(kind, "RUNNING")
    by_state: dict[str, list[dict[str, Any]]] = {}
    for i, att in enumerate(attempts):
        att["index"] = i
        by_state.setdefault(att["state"], []).append(att)
    states: dict[str, dict[str, Any]] = {}
    if drawing is not None:
        for node in drawing.walk():
            if node.kind in ("start", "end"):
                continue
            atts = by_state.get(node.name, [])
            for att in atts:
                att["node"] = node.id
            states[node.id] = {"name": node.name, "kind": node.kind, "outcome": _outcome(atts),
                               "visits": sum(1 for a in atts if a["number"] == 0),
                               "attempts": [a["index"] for a in atts]}
    start = _ts(events[0].get("timestamp")) if events else 0.0
    virtual = rows[-1]["t"] if rows else 0.0
    retries = sum(1 for a in attempts if a["number"] > 0)
    started = _details(events[0]) if events else {}
    return {
        "title": title, "name": name, "arn": arn, "status": status or "UNKNOWN", "error": error, "cause": cause,
        "start": datetime.fromtimestamp(start, timezone.utc).isoformat() if events else None,
        "startEpoch": start, "virtualSeconds": virtual, "wallSeconds": wall_seconds,
        "throttles": {k: v for k, v in throttles.items() if v}, "retries": retries,
        "input": started.get("input"), "output": json.dumps(output) if output is not None else None,
        "attempts": attempts, "history": rows, "states": states,
    }

"""Retry and Catch, timeouts and the other numeric ranges ASL sets.

Codes: FE501 ErrorEquals empty or not strings, FE502 ``States.ALL`` not last or not alone,
FE503 BackoffRate below 1, FE504 MaxAttempts out of range, FE505 IntervalSeconds out of range,
FE506 MaxDelaySeconds out of range, FE507 bad JitterStrategy, FE508 HeartbeatSeconds not
below TimeoutSeconds, FE509 Wait without exactly one of Seconds/SecondsPath/Timestamp/
TimestampPath, FE510 TimeoutSeconds/HeartbeatSeconds out of range, FE511 bad Wait Seconds or
Timestamp, FE512 Map limits out of range, FE513 unknown ``States.*`` error name (warning).
"""

from __future__ import annotations

from typing import Any

from flowengine.dsl.source import Pointer
from flowengine.model.asl import JSONATA, State, StateMachine
from flowengine.validate import structure
from flowengine.validate._common import Reporter, did_you_mean, is_int, is_num, is_rfc3339, machines, shorten

MAX_SECONDS = 99_999_999
MAX_DELAY = 31_622_400  # a year and a day, AWS's ceiling for MaxDelaySeconds
#: The error names ASL predefines (ASL: "Errors"); a typo there never matches.
PREDEFINED_ERRORS = (
    "States.ALL", "States.Runtime", "States.Timeout", "States.TaskFailed", "States.Permissions",
    "States.ResultPathMatchFailure", "States.ParameterPathFailure", "States.BranchFailed",
    "States.NoChoiceMatched", "States.IntrinsicFailure", "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed", "States.ResultWriterFailed", "States.HeartbeatTimeout",
    "States.DataLimitExceeded", "States.QueryEvaluationError", "States.Http.Socket",
)


def check(sm: StateMachine, rep: Reporter) -> None:
    """Retry/Catch and range problems of a state machine and its nested scopes."""
    _range(rep, sm.loc.pointer + ("TimeoutSeconds",), sm.raw.get("TimeoutSeconds"), "TimeoutSeconds", 1, MAX_SECONDS,
           "FE510", None)
    for scope in machines(sm):
        for st in scope.states.values():
            raw = st.raw
            if not isinstance(raw, dict) or raw.get("Type") not in structure.STATE_TYPES:
                continue
            stype = raw["Type"]
            if stype in ("Task", "Parallel", "Map"):
                _check_retry(st, rep)
                _check_catch(st, rep)
            if stype == "Task":
                _check_task_timeouts(st, rep)
            elif stype == "Wait":
                _check_wait(st, rep)
            elif stype == "Map":
                _check_map(st, rep)


def _range(rep: Reporter, ptr: Pointer, value: Any, field: str, low: float | None, high: float | None, code: str,
           state: str | None, hint: str | None = None) -> None:
    if not is_num(value):
        return  # absent, or the wrong type (reported by .structure)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bounds = f"at least {low}"
        elif low is None:
            bounds = f"at most {high}"
        else:
            bounds = f"between {low} and {high}"
        rep.report(code, f"{field} is {value}; it must be {bounds}", ptr, state=state, hint=hint or f"write {bounds}")


def _check_error_names(rep: Reporter, items: list[Any], ptr: Pointer, path: str, what: str) -> None:
    for i, entry in enumerate(items):
        if not isinstance(entry, dict):
            rep.report("FE203", f"{what}[{i}] must be an object, not {type(entry).__name__}", ptr + (i,), state=path,
                       hint="write {ErrorEquals: [...], ...}")
            continue
        eptr = ptr + (i,)
        errors = entry.get("ErrorEquals")
        if "ErrorEquals" not in entry:
            rep.report("FE202", f"{what}[{i}] has no ErrorEquals", eptr, state=path,
                       hint="add ErrorEquals: [States.ALL] or the error names to match")
            continue
        if not isinstance(errors, list):
            continue  # .structure reports the type
        if not errors:
            rep.report("FE501", f"{what}[{i}].ErrorEquals is empty", eptr + ("ErrorEquals",), state=path,
                       hint="name at least one error, e.g. States.ALL")
        for j, name in enumerate(errors):
            nptr = eptr + ("ErrorEquals", j)
            if not isinstance(name, str):
                rep.report("FE501", f"error names are strings, not {type(name).__name__}", nptr, state=path,
                           hint="write the error name as a string")
            elif name.startswith("States.") and name not in PREDEFINED_ERRORS and not name.startswith("States.Http."):
                rep.report("FE513", f"'{shorten(name)}' is not an error ASL defines", nptr, state=path,
                           severity="warning", hint=did_you_mean(name, PREDEFINED_ERRORS)
                           or "the States.* names are ASL's own; name your errors without the States. prefix")
            if name == "States.ALL" and (len(errors) > 1 or i != len(items) - 1):
                entry_name = "retrier" if what == "Retry" else "catcher"
                where = "alone in its ErrorEquals" if len(errors) > 1 else f"in the last {entry_name}"
                rep.report("FE502", f"States.ALL must be {where}",
                           nptr, state=path,
                           hint="States.ALL matches every error, so anything after it never applies; "
                                "move it to the last entry, on its own")


def _check_retry(st: State, rep: Reporter) -> None:
    raw, ptr, path = st.raw, st.loc.pointer, st.path
    retry = raw.get("Retry")
    if not isinstance(retry, list):
        return
    _check_error_names(rep, retry, ptr + ("Retry",), path, "Retry")
    for i, r in enumerate(retry):
        if not isinstance(r, dict):
            continue
        rptr = ptr + ("Retry", i)
        for key, value in r.items():
            kind = structure.RETRIER_FIELDS.get(key)
            if kind is None:
                rep.report("FE201", f"unknown field '{key}' in a retrier", rptr + (key,), state=path, key=True,
                           hint=did_you_mean(key, structure.RETRIER_FIELDS)
                           or "allowed: " + ", ".join(structure.RETRIER_FIELDS))
            else:
                structure.check_type(rep, rptr + (key,), key, kind, value, path)
        _range(rep, rptr + ("IntervalSeconds",), r.get("IntervalSeconds"), "IntervalSeconds", 1, MAX_SECONDS,
               "FE505", path)
        _range(rep, rptr + ("MaxAttempts",), r.get("MaxAttempts"), "MaxAttempts", 0, MAX_SECONDS, "FE504", path,
               hint="0 means never retry; write a count between 0 and 99999999")
        rate = r.get("BackoffRate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate < 1:
            rep.report("FE503", f"BackoffRate is {rate}; it must be at least 1.0", rptr + ("BackoffRate",),
                       state=path, hint="1.0 retries at a constant interval; 2.0 doubles it each attempt")
        _range(rep, rptr + ("MaxDelaySeconds",), r.get("MaxDelaySeconds"), "MaxDelaySeconds", 1, MAX_DELAY,
               "FE506", path)
        jitter = r.get("JitterStrategy")
        if isinstance(jitter, str) and jitter not in ("FULL", "NONE"):
            rep.report("FE507", f"JitterStrategy is '{shorten(jitter)}'", rptr + ("JitterStrategy",), state=path,
                       hint=did_you_mean(jitter, ("FULL", "NONE")) or "write FULL or NONE")


def _check_catch(st: State, rep: Reporter) -> None:
    raw, ptr, path = st.raw, st.loc.pointer, st.path
    catch = raw.get("Catch")
    if not isinstance(catch, list):
        return
    _check_error_names(rep, catch, ptr + ("Catch",), path, "Catch")
    mine = structure.CATCHER_FIELDS[st.query_language]
    theirs = structure.CATCHER_FIELDS[structure.other_language(st.query_language)]
    for i, c in enumerate(catch):
        if not isinstance(c, dict):
            continue
        cptr = ptr + ("Catch", i)
        for key, value in c.items():
            if key in mine:
                structure.check_type(rep, cptr + (key,), key, mine[key], value, path)
            elif key not in theirs:
                rep.report("FE201", f"unknown field '{key}' in a catcher", cptr + (key,), state=path, key=True,
                           hint=did_you_mean(key, mine) or "allowed: " + ", ".join(mine))
        if "Next" not in c:
            rep.report("FE202", f"Catch[{i}] has no Next", cptr, state=path,
                       hint="add Next: the state to go to when the error is caught")


def _check_task_timeouts(st: State, rep: Reporter) -> None:
    raw, ptr, path = st.raw, st.loc.pointer, st.path
    timeout, heartbeat = raw.get("TimeoutSeconds"), raw.get("HeartbeatSeconds")
    _range(rep, ptr + ("TimeoutSeconds",), timeout, "TimeoutSeconds", 1, MAX_SECONDS, "FE510", path)
    _range(rep, ptr + ("HeartbeatSeconds",), heartbeat, "HeartbeatSeconds", 1, MAX_SECONDS, "FE510", path)
    if isinstance(timeout, int) and isinstance(heartbeat, int) and is_int(timeout) and is_int(heartbeat) \
            and heartbeat >= timeout >= 1:
        rep.report("FE508", f"HeartbeatSeconds ({heartbeat}) must be less than TimeoutSeconds ({timeout})",
                   ptr + ("HeartbeatSeconds",), state=path,
                   hint="a heartbeat is expected several times within the task's timeout")


_WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")


def _check_wait(st: State, rep: Reporter) -> None:
    raw, ptr, path = st.raw, st.loc.pointer, st.path
    present = [k for k in _WAIT_FIELDS if k in raw]
    if not present:
        choices = "Seconds or Timestamp" if st.query_language == JSONATA else "Seconds, SecondsPath, Timestamp or TimestampPath"
        rep.report("FE509", "Wait state has no Seconds or Timestamp", ptr, state=path, key=True,
                   hint=f"add one of {choices}")
    elif len(present) > 1:
        rep.report("FE509", f"Wait state has {' and '.join(present)}; it takes exactly one", ptr + (present[1],),
                   state=path, key=True, hint=f"keep one of {', '.join(present)}")
    _range(rep, ptr + ("Seconds",), raw.get("Seconds"), "Seconds", 0, MAX_SECONDS, "FE511", path)
    ts = raw.get("Timestamp")
    literal = isinstance(ts, str) and not (st.query_language == JSONATA and ts.startswith("{%"))
    if literal and not is_rfc3339(ts):
        rep.report("FE511", f"Timestamp '{shorten(ts)}' is not an RFC 3339 timestamp", ptr + ("Timestamp",),
                   state=path, hint="write e.g. 2026-03-14T01:59:00Z (uppercase T, and Z or an offset)")


def _check_map(st: State, rep: Reporter) -> None:
    raw, ptr, path = st.raw, st.loc.pointer, st.path
    _range(rep, ptr + ("MaxConcurrency",), raw.get("MaxConcurrency"), "MaxConcurrency", 0, None, "FE512", path,
           hint="0 means no limit; write a non-negative count")
    _range(rep, ptr + ("ToleratedFailureCount",), raw.get("ToleratedFailureCount"), "ToleratedFailureCount", 0, None,
           "FE512", path)
    _range(rep, ptr + ("ToleratedFailurePercentage",), raw.get("ToleratedFailurePercentage"),
           "ToleratedFailurePercentage", 0, 100, "FE512", path)
    batcher = raw.get("ItemBatcher")
    if isinstance(batcher, dict):
        for key in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
            v = batcher.get(key)
            if key in batcher and not (is_int(v) or (st.query_language == JSONATA and isinstance(v, str))):
                structure.check_type(rep, ptr + ("ItemBatcher", key), key, structure.INT, v, path)
            _range(rep, ptr + ("ItemBatcher", key), v, key, 1, 262144 if key == "MaxInputBytesPerBatch" else None,
                   "FE512", path)

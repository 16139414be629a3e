"""The one ASL parser: canonical ASL dict → :mod:`flowengine.model.asl` dataclasses.

It is deliberately tolerant: it never raises on a malformed dict.  A field of the wrong
type is kept as written, so that :mod:`flowengine.validate` can report every problem at
once with its location; stages after validation only ever see definitions that passed.
"""

from __future__ import annotations

from typing import Any

from flowengine.dsl.source import Pointer, Source, SubSource, source_from_value
from flowengine.model.asl import (
    ABSENT, JSONATA, JSONPATH, Catcher, ChoiceRule, ChoiceState, FailState, ItemBatcher, Loc, MapState,
    ParallelState, PassState, QueryLanguage, Retrier, State, StateMachine, SucceedState, TaskState, WaitState,
)

SourceLike = Source | SubSource

#: The comparison operators of a JSONPath Choice rule.
CHOICE_OPERATORS: frozenset[str] = frozenset(
    f"{kind}{op}{suffix}"
    for kind in ("String", "Numeric", "Timestamp")
    for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    for suffix in ("", "Path")
) | frozenset({
    "BooleanEquals", "BooleanEqualsPath", "StringMatches",
    "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp",
})


def _get(d: Any, key: str, default: Any = ABSENT) -> Any:
    return d.get(key, default) if isinstance(d, dict) else default


def _path_field(d: Any, key: str) -> str | None:
    """InputPath/OutputPath/ResultPath: absent → '$'; JSON null → None."""
    if not isinstance(d, dict) or key not in d:
        return "$"
    return d[key]


def _opt(d: Any, key: str) -> Any:
    v = _get(d, key, None)
    return v


def _errors(v: Any) -> tuple[str, ...]:
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


class _Builder:
    def __init__(self, source: SourceLike) -> None:
        self.source = source

    def loc(self, ptr: Pointer) -> Loc:
        return Loc(tuple(ptr), self.source)

    def machine(self, raw: Any, ptr: Pointer, path: str, inherited: QueryLanguage) -> StateMachine:
        ql = _get(raw, "QueryLanguage", inherited)
        if ql not in (JSONPATH, JSONATA):
            ql = inherited
        states_raw = _get(raw, "States", {})
        states: dict[str, State] = {}
        if isinstance(states_raw, dict):
            for name, sraw in states_raw.items():
                states[name] = self.state(name, sraw, ptr + ("States", name), path, ql)
        timeout = _get(raw, "TimeoutSeconds", None)
        return StateMachine(
            start_at=_get(raw, "StartAt", ""),
            states=states,
            query_language=ql,
            comment=_get(raw, "Comment", None),
            timeout_seconds=timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None,
            version=_get(raw, "Version", None),
            path=path,
            raw=raw if isinstance(raw, dict) else {},
            loc=self.loc(ptr),
        )

    def state(self, name: str, raw: Any, ptr: Pointer, scope: str, inherited: QueryLanguage) -> State:
        if not isinstance(raw, dict):
            raw = {}
        ql = raw.get("QueryLanguage", inherited)
        if ql not in (JSONPATH, JSONATA):
            ql = inherited
        path = f"{scope}/{name}" if scope else name
        common: dict[str, Any] = dict(
            name=name,
            type=raw.get("Type", ""),
            query_language=ql,
            comment=raw.get("Comment"),
            next=raw.get("Next"),
            end=raw.get("End") is True,
            input_path=_path_field(raw, "InputPath"),
            output_path=_path_field(raw, "OutputPath"),
            output=raw.get("Output", ABSENT),
            assign=raw.get("Assign", ABSENT),
            path=path,
            raw=raw,
            loc=self.loc(ptr),
        )
        kind = common["type"]
        if kind == "Pass":
            return PassState(**common, result=raw.get("Result", ABSENT), result_path=_path_field(raw, "ResultPath"),
                             parameters=raw.get("Parameters", ABSENT))
        if kind == "Task":
            return TaskState(
                **common,
                resource=raw.get("Resource", ""),
                parameters=raw.get("Parameters", ABSENT),
                arguments=raw.get("Arguments", ABSENT),
                result_selector=raw.get("ResultSelector", ABSENT),
                result_path=_path_field(raw, "ResultPath"),
                timeout_seconds=raw.get("TimeoutSeconds", ABSENT),
                timeout_seconds_path=raw.get("TimeoutSecondsPath"),
                heartbeat_seconds=raw.get("HeartbeatSeconds", ABSENT),
                heartbeat_seconds_path=raw.get("HeartbeatSecondsPath"),
                credentials=raw.get("Credentials", ABSENT),
                retry=self.retriers(raw, ptr),
                catch=self.catchers(raw, ptr),
            )
        if kind == "Choice":
            choices = raw.get("Choices")
            rules = tuple(
                self.rule(r, ptr + ("Choices", i)) for i, r in enumerate(choices if isinstance(choices, list) else [])
            )
            return ChoiceState(**common, choices=rules, default=raw.get("Default"))
        if kind == "Wait":
            return WaitState(**common, seconds=raw.get("Seconds", ABSENT), seconds_path=raw.get("SecondsPath"),
                             timestamp=raw.get("Timestamp", ABSENT), timestamp_path=raw.get("TimestampPath"))
        if kind == "Succeed":
            return SucceedState(**common)
        if kind == "Fail":
            return FailState(**common, error=raw.get("Error", ABSENT), error_path=raw.get("ErrorPath"),
                             cause=raw.get("Cause", ABSENT), cause_path=raw.get("CausePath"))
        if kind == "Parallel":
            branches_raw = raw.get("Branches")
            branches = tuple(
                self.machine(b, ptr + ("Branches", i), f"{path}/{i}", ql)
                for i, b in enumerate(branches_raw if isinstance(branches_raw, list) else [])
            )
            return ParallelState(
                **common,
                branches=branches,
                parameters=raw.get("Parameters", ABSENT),
                arguments=raw.get("Arguments", ABSENT),
                result_selector=raw.get("ResultSelector", ABSENT),
                result_path=_path_field(raw, "ResultPath"),
                retry=self.retriers(raw, ptr),
                catch=self.catchers(raw, ptr),
            )
        if kind == "Map":
            return self.map_state(raw, ptr, path, ql, common)
        return State(**common)

    def map_state(self, raw: dict[str, Any], ptr: Pointer, path: str, ql: QueryLanguage,
                  common: dict[str, Any]) -> MapState:
        legacy = "ItemProcessor" not in raw and "Iterator" in raw
        key = "Iterator" if legacy else "ItemProcessor"
        proc_raw = raw.get(key)
        processor = self.machine(proc_raw, ptr + (key,), path, ql) if isinstance(proc_raw, dict) else None
        cfg = _get(proc_raw, "ProcessorConfig", {})
        mode = _get(cfg, "Mode", "INLINE")
        batcher_raw = raw.get("ItemBatcher")
        batcher = None
        if isinstance(batcher_raw, dict):
            batcher = ItemBatcher(
                max_items_per_batch=batcher_raw.get("MaxItemsPerBatch", ABSENT),
                max_items_per_batch_path=batcher_raw.get("MaxItemsPerBatchPath"),
                max_input_bytes_per_batch=batcher_raw.get("MaxInputBytesPerBatch", ABSENT),
                max_input_bytes_per_batch_path=batcher_raw.get("MaxInputBytesPerBatchPath"),
                batch_input=batcher_raw.get("BatchInput", ABSENT),
            )
        return MapState(
            **common,
            processor=processor,
            mode=mode if mode in ("INLINE", "DISTRIBUTED") else "INLINE",
            execution_type=_get(cfg, "ExecutionType", None),
            legacy_iterator=legacy,
            items_path=_path_field(raw, "ItemsPath"),
            items=raw.get("Items", ABSENT),
            item_selector=raw.get("ItemSelector", ABSENT),
            parameters=raw.get("Parameters", ABSENT),
            arguments=raw.get("Arguments", ABSENT),
            result_selector=raw.get("ResultSelector", ABSENT),
            result_path=_path_field(raw, "ResultPath"),
            max_concurrency=raw.get("MaxConcurrency", ABSENT),
            max_concurrency_path=raw.get("MaxConcurrencyPath"),
            tolerated_failure_count=raw.get("ToleratedFailureCount", ABSENT),
            tolerated_failure_count_path=raw.get("ToleratedFailureCountPath"),
            tolerated_failure_percentage=raw.get("ToleratedFailurePercentage", ABSENT),
            tolerated_failure_percentage_path=raw.get("ToleratedFailurePercentagePath"),
            item_batcher=batcher,
            item_reader=raw.get("ItemReader", ABSENT),
            result_writer=raw.get("ResultWriter", ABSENT),
            label=raw.get("Label"),
            retry=self.retriers(raw, ptr),
            catch=self.catchers(raw, ptr),
        )

    def retriers(self, raw: dict[str, Any], ptr: Pointer) -> tuple[Retrier, ...]:
        items = raw.get("Retry")
        out = []
        for i, r in enumerate(items if isinstance(items, list) else []):
            if not isinstance(r, dict):
                continue
            interval = r.get("IntervalSeconds", 1)
            attempts = r.get("MaxAttempts", 3)
            rate = r.get("BackoffRate", 2.0)
            max_delay = r.get("MaxDelaySeconds")
            out.append(Retrier(
                error_equals=_errors(r.get("ErrorEquals")),
                interval_seconds=interval if _is_num(interval) else 1,
                max_attempts=attempts if _is_int(attempts) else 3,
                backoff_rate=rate if _is_num(rate) else 2.0,
                max_delay_seconds=max_delay if _is_num(max_delay) else None,
                jitter_strategy="FULL" if r.get("JitterStrategy") == "FULL" else "NONE",
                loc=self.loc(ptr + ("Retry", i)),
            ))
        return tuple(out)

    def catchers(self, raw: dict[str, Any], ptr: Pointer) -> tuple[Catcher, ...]:
        items = raw.get("Catch")
        out = []
        for i, c in enumerate(items if isinstance(items, list) else []):
            if not isinstance(c, dict):
                continue
            out.append(Catcher(
                error_equals=_errors(c.get("ErrorEquals")),
                next=c.get("Next", ""),
                result_path=_path_field(c, "ResultPath"),
                output=c.get("Output", ABSENT),
                assign=c.get("Assign", ABSENT),
                loc=self.loc(ptr + ("Catch", i)),
            ))
        return tuple(out)

    def rule(self, raw: Any, ptr: Pointer) -> ChoiceRule:
        if not isinstance(raw, dict):
            return ChoiceRule(loc=self.loc(ptr))
        op = next((k for k in raw if k in CHOICE_OPERATORS), None)

        def subs(key: str) -> tuple[ChoiceRule, ...] | None:
            v = raw.get(key)
            if not isinstance(v, list):
                return None
            return tuple(self.rule(x, ptr + (key, i)) for i, x in enumerate(v))

        not_raw = raw.get("Not")
        return ChoiceRule(
            next=raw.get("Next"),
            variable=raw.get("Variable"),
            operator=op,
            value=raw[op] if op else ABSENT,
            and_=subs("And"),
            or_=subs("Or"),
            not_=self.rule(not_raw, ptr + ("Not",)) if isinstance(not_raw, dict) else None,
            condition=raw.get("Condition", ABSENT),
            assign=raw.get("Assign", ABSENT),
            output=raw.get("Output", ABSENT),
            comment=raw.get("Comment"),
            raw=raw,
            loc=self.loc(ptr),
        )


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def build_state_machine(definition: dict[str, Any], source: SourceLike | None = None) -> StateMachine:
    """Build the model of one ASL definition.  ``source`` gives positions (optional)."""
    src = source if source is not None else source_from_value(definition)
    return _Builder(src).machine(definition, (), "", JSONPATH)

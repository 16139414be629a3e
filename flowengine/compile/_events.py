"""Triggers → SAM ``Events`` (and the few resources SAM has no event for).

=====================  ==========================================  ============================================
trigger                a function                                  a flow
=====================  ==========================================  ============================================
``bucket``             ``S3`` event (notification on the bucket);  ``EventBridgeRule`` on S3's "Object Created"
                       ``EventBridgeRule`` with via_eventbridge    events; the bucket turns EventBridge on
``queue``              ``SQS`` event source mapping                an EventBridge Pipe (``AWS::Pipes::Pipe``)
``topic``              ``SNS`` subscription                        not expressible (FE809)
``table``              ``DynamoDB`` stream event source mapping;   an EventBridge Pipe from the table's stream
                       the table gets ``StreamSpecification``      (``AWS::Pipes::Pipe``)
``schedule``           ``Schedule``; ``ScheduleV2`` for ``at()``   the same, with ``OmitName`` so two stacks
                       and ``timezone``                            do not collide
``event_pattern``      ``EventBridgeRule``                         ``EventBridgeRule``
``api``                ``Api`` (REST API)                          ``Api`` (REST API)
=====================  ==========================================  ============================================
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flowengine.compile._cfn import bucket_name, get_att, ref
from flowengine.compile._iam import policy_document
from flowengine.compile._refs import Refs
from flowengine.compile._report import (
    BAD_TRIGGER, UNKNOWN_REFERENCE, UNSUPPORTED_TRIGGER, WRONG_KIND, Reporter,
)
from flowengine.dsl.durations import seconds
from flowengine.dsl.streams import MAX_STREAM_BATCH_SIZE, STARTING_POSITIONS
from flowengine.lang.filters import s3_key_filter
from flowengine.model.app import App, Trigger

#: ``events:`` words → S3 notification event types and EventBridge detail-types.
S3_EVENTS = {"created": ("s3:ObjectCreated:*", "Object Created"),
             "removed": ("s3:ObjectRemoved:*", "Object Deleted"),
             "deleted": ("s3:ObjectRemoved:*", "Object Deleted")}
API_METHODS = ("get", "post", "put", "delete", "patch", "head", "options", "any")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^()]+)\)$")
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")


@dataclass
class TriggerPlan:
    """What the triggers add to the template, collected before resources are emitted."""

    function_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    flow_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: buckets whose events go to EventBridge
    eventbridge_buckets: set[str] = field(default_factory=set)
    #: queue → timeouts (seconds) of the functions that consume it
    queue_consumers: dict[str, list[int]] = field(default_factory=dict)
    #: extra resources, emitted after their flow: flow → [(logical id, resource)]
    flow_resources: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    uses_api: bool = False


class TriggerCompiler:
    def __init__(self, app: App, refs: Refs, report: Reporter) -> None:
        self.app = app
        self.refs = refs
        self.report = report
        self.plan = TriggerPlan()
        self._s3_direct: list[tuple[Trigger, str, tuple[str, ...], str, str]] = []

    def compile(self) -> TriggerPlan:
        for i, trig in enumerate(self.app.triggers):
            self.trigger(i, trig)
        self._check_s3_overlaps()
        return self.plan

    # --- dispatch -------------------------------------------------------------------------

    def trigger(self, i: int, t: Trigger) -> None:
        ptr = ("triggers", i)
        if t.target_kind == "function":
            if t.target not in self.app.functions:
                self.report.at(ptr + ("invoke",), UNKNOWN_REFERENCE, f"invoke: '{t.target}' is not a function of the app")
                return
        elif t.target not in self.app.flows:
            self.report.at(ptr + ("start",), UNKNOWN_REFERENCE, f"start: '{t.target}' is not a flow of the app")
            return
        method = getattr(self, f"_{t.source}", None)
        if method is None:
            return  # a trigger without a known source: validation's to report
        event = method(i, t)
        if event is None:
            return
        events = (self.plan.function_events if t.target_kind == "function" else self.plan.flow_events)
        bucket = events.setdefault(t.target, {})
        name = _event_name(t, i)
        unique, n = name, 2
        while unique in bucket:
            unique, n = f"{name}{n}", n + 1
        bucket[unique] = event

    def resource(self, i: int, t: Trigger, kind: str) -> str | None:
        key = t.source
        name = t.resource
        if name is None or name not in self.app.resources:
            self.report.at(("triggers", i, key), UNKNOWN_REFERENCE, f"{key}: '{name}' is not a resource of the app")
            return None
        actual = self.app.resources[name].kind
        if actual != kind:
            self.report.at(("triggers", i, key), WRONG_KIND, f"{key}: '{name}' is a {actual.replace('_', ' ')}, not a {kind}")
            return None
        return name

    def bad(self, i: int, key: str, message: str, hint: str | None = None) -> None:
        self.report.at(("triggers", i, key), BAD_TRIGGER, message, hint=hint)

    # --- sources --------------------------------------------------------------------------

    def _bucket(self, i: int, t: Trigger) -> dict[str, Any] | None:
        bucket = self.resource(i, t, "bucket")
        words = t.options.get("events", ["created"])
        if not isinstance(words, list) or not words:
            self.bad(i, "events", "events must be a list such as [created, removed]")
            return None
        s3_events: list[str] = []
        detail_types: list[str] = []
        for j, w in enumerate(words):
            if w in S3_EVENTS:
                s3_event, detail_type = S3_EVENTS[w]
            elif isinstance(w, str) and w.startswith("s3:Object"):
                s3_event, detail_type = w, "Object Created" if "Created" in w else "Object Deleted"
            else:
                self.report.at(("triggers", i, "events", j), BAD_TRIGGER, f"unknown bucket event {w!r}",
                               hint="created, removed (or an S3 event type such as s3:ObjectCreated:Put)")
                return None
            s3_events += [s3_event] if s3_event not in s3_events else []
            detail_types += [detail_type] if detail_type not in detail_types else []
        prefix, suffix = t.options.get("prefix"), t.options.get("suffix")
        for key, value in (("prefix", prefix), ("suffix", suffix)):
            if value is not None and (not isinstance(value, str) or not value):
                self.bad(i, key, f"{key} must be a non-empty string")
                return None
        if bucket is None:
            return None
        if t.target_kind == "function" and t.options.get("via_eventbridge") is not True:
            self._s3_direct.append((t, bucket, tuple(s3_events), prefix or "", suffix or ""))
            props: dict[str, Any] = {"Bucket": ref(bucket), "Events": s3_events[0] if len(s3_events) == 1 else s3_events}
            rules = [{"Name": k, "Value": v} for k, v in (("prefix", prefix), ("suffix", suffix)) if v]
            if rules:
                props["Filter"] = {"S3Key": {"Rules": rules}}
            return {"Type": "S3", "Properties": props}
        # SAM has no S3 event for state machines: S3 → EventBridge → rule
        self.plan.eventbridge_buckets.add(bucket)
        detail: dict[str, Any] = {"bucket": {"name": [bucket_name(self.app.name, bucket)]}}
        key_filter = s3_key_filter(prefix, suffix)
        if key_filter is not None:
            detail["object"] = {"key": [key_filter]}
        pattern = {"source": ["aws.s3"], "detail-type": detail_types, "detail": detail}
        return {"Type": "EventBridgeRule", "Properties": {"Pattern": pattern}}

    def _queue(self, i: int, t: Trigger) -> dict[str, Any] | None:
        queue = self.resource(i, t, "queue")
        fifo = queue is not None and self.app.resources[queue].properties.get("fifo") is True
        batch = t.options.get("batch_size")
        window: Any = seconds(t.options.get("batching_window")) if "batching_window" in t.options else None
        limit = 10 if fifo else 10000
        if batch is not None and (not _is_int(batch) or not 1 <= batch <= limit):
            self.bad(i, "batch_size", f"batch_size must be an integer from 1 to {limit}"
                     + (" (FIFO queue)" if fifo else ""))
            return None
        if window is not None and (not _is_int(window) or not 0 <= window <= 300):
            self.bad(i, "batching_window", "batching_window must be whole seconds from 0s to 300s (5m)")
            return None
        if fifo and window:
            self.bad(i, "batching_window", "a FIFO queue cannot use a batching window")
            return None
        if batch is not None and batch > 10 and not window:
            self.bad(i, "batch_size", "a batch_size above 10 needs a batching_window of at least 1s",
                     hint="add e.g. batching_window: 5s")
            return None
        report_failures = t.options.get("report_batch_item_failures")
        criteria = self._filter_criteria(i, t)
        if queue is None or (criteria is None and "filter" in t.options):
            return None
        if t.target_kind == "flow":
            self._pipe(i, t, queue, batch, window, criteria)
            return None
        self.plan.queue_consumers.setdefault(queue, []).append(self.app.functions[t.target].timeout_seconds)
        props: dict[str, Any] = {"Queue": get_att(queue, "Arn")}
        if batch is not None:
            props["BatchSize"] = batch
        if window:
            props["MaximumBatchingWindowInSeconds"] = window
        if report_failures is True:
            props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if criteria is not None:
            props["FilterCriteria"] = criteria
        return {"Type": "SQS", "Properties": props}

    def _pipe(self, i: int, t: Trigger, queue: str, batch: int | None, window: int | None,
              criteria: dict[str, Any] | None = None) -> None:
        """SAM has no SQS event for state machines: an EventBridge Pipe starts one execution per batch."""
        params: dict[str, Any] = {}
        if batch is not None:
            params["BatchSize"] = batch
        if window:
            params["MaximumBatchingWindowInSeconds"] = window
        source: dict[str, Any] = {"SqsQueueParameters": params} if params else {}
        if criteria:
            source["FilterCriteria"] = criteria
        self._add_pipe(i, t, (queue, "Arn"),
                       ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], source)

    def _add_pipe(self, i: int, t: Trigger, source: tuple[str, str], source_actions: list[str],
                  source_parameters: dict[str, Any]) -> None:
        """An EventBridge Pipe from ``source`` (a resource and the attribute that is its ARN) to
        the trigger's flow, one execution per batch, and its role: ``source_actions`` on the
        source, StartExecution on the flow."""
        name = f"{t.target}{_event_name(t, i)}Pipe"
        role = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": policy_document([{
                    "Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
                "Policies": [{"PolicyName": "source-and-target", "PolicyDocument": policy_document([
                    {"Effect": "Allow", "Action": source_actions, "Resource": get_att(*source)},
                    {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": ref(t.target)},
                ])}],
            },
        }
        pipe: dict[str, Any] = {
            "Type": "AWS::Pipes::Pipe",
            "Properties": {
                "RoleArn": get_att(f"{name}Role", "Arn"),
                "Source": get_att(*source),
                **({"SourceParameters": source_parameters} if source_parameters else {}),
                "Target": ref(t.target),
                "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
            },
        }
        self.plan.flow_resources.setdefault(t.target, []).extend([(name, pipe), (f"{name}Role", role)])

    def _filter_criteria(self, i: int, t: Trigger) -> dict[str, Any] | None:
        """A trigger's ``filter`` → Lambda's ``FilterCriteria`` (each pattern as JSON text);
        None without one, or (reported) for one that is not a pattern or a list of them."""
        value = t.options.get("filter")
        if value is None:
            return None
        patterns = value if isinstance(value, list) else [value]
        if not patterns or not all(isinstance(p, dict) and p for p in patterns):
            self.bad(i, "filter", "filter must be a pattern or a list of patterns such as {eventName: [INSERT]}")
            return None
        return {"Filters": [{"Pattern": json.dumps(p, separators=(",", ":"), ensure_ascii=False)} for p in patterns]}

    def _table(self, i: int, t: Trigger) -> dict[str, Any] | None:
        """A DynamoDB stream event source mapping; the table gets its StreamSpecification in sam.py."""
        table = self.resource(i, t, "table")
        o = t.options
        batch = o.get("batch_size")
        window: Any = seconds(o.get("batching_window")) if "batching_window" in o else None
        position = o.get("starting_position", "LATEST")
        retries = o.get("maximum_retry_attempts")
        if batch is not None and (not _is_int(batch) or not 1 <= batch <= MAX_STREAM_BATCH_SIZE):
            self.bad(i, "batch_size", f"batch_size must be an integer from 1 to {MAX_STREAM_BATCH_SIZE}")
            return None
        if window is not None and (not _is_int(window) or not 0 <= window <= 300):
            self.bad(i, "batching_window", "batching_window must be whole seconds from 0s to 300s (5m)")
            return None
        if position not in STARTING_POSITIONS:
            self.bad(i, "starting_position", f"starting_position must be {' or '.join(STARTING_POSITIONS)}")
            return None
        if retries is not None and (not _is_int(retries) or not -1 <= retries <= 10000):
            self.bad(i, "maximum_retry_attempts", "maximum_retry_attempts must be an integer from -1 to 10000")
            return None
        criteria = self._filter_criteria(i, t)
        if table is None or (criteria is None and "filter" in o):
            return None
        if t.target_kind == "flow":
            self._stream_pipe(i, t, table, position, batch, window, retries, criteria)
            return None
        props: dict[str, Any] = {"Stream": get_att(table, "StreamArn"), "StartingPosition": position}
        if batch is not None:
            props["BatchSize"] = batch
        if window:
            props["MaximumBatchingWindowInSeconds"] = window
        if o.get("report_batch_item_failures") is True:
            props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if retries is not None:
            props["MaximumRetryAttempts"] = retries
        if criteria is not None:
            props["FilterCriteria"] = criteria
        return {"Type": "DynamoDB", "Properties": props}

    def _stream_pipe(self, i: int, t: Trigger, table: str, position: str, batch: int | None, window: int | None,
                     retries: int | None, criteria: dict[str, Any] | None) -> None:
        """SAM has no DynamoDB event for state machines: an EventBridge Pipe from the table's
        stream starts one execution per batch, as for a queue."""
        params: dict[str, Any] = {"StartingPosition": position}
        if batch is not None:
            params["BatchSize"] = batch
        if window:
            params["MaximumBatchingWindowInSeconds"] = window
        if retries is not None:
            params["MaximumRetryAttempts"] = retries
        source: dict[str, Any] = {"DynamoDBStreamParameters": params}
        if criteria:
            source["FilterCriteria"] = criteria
        # what EventBridge Pipes documents for a DynamoDB stream source
        self._add_pipe(i, t, (table, "StreamArn"), ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                                                           "dynamodb:GetShardIterator", "dynamodb:ListStreams"], source)

    def _topic(self, i: int, t: Trigger) -> dict[str, Any] | None:
        topic = self.resource(i, t, "topic")
        policy = t.options.get("filter_policy")
        if policy is not None and not isinstance(policy, dict):
            self.bad(i, "filter_policy", "filter_policy must be a mapping such as {level: [error]}")
            return None
        if topic is None:
            return None
        if t.target_kind == "flow":
            self.report.at(("triggers", i, "start"), UNSUPPORTED_TRIGGER,
                           "a topic cannot start a flow on AWS (SAM has no SNS event for state machines)",
                           hint="invoke a function that starts the flow, or publish to a queue that starts it")
            return None
        props: dict[str, Any] = {"Topic": ref(topic)}
        if policy:
            props["FilterPolicy"] = policy
        return {"Type": "SNS", "Properties": props}

    def _schedule(self, i: int, t: Trigger) -> dict[str, Any] | None:
        expr = t.options.get("schedule")
        timezone = t.options.get("timezone")
        if not isinstance(expr, str) or not _valid_schedule(expr.strip()):
            self.bad(i, "schedule", f"{expr!r} is not a schedule expression",
                     hint="rate(5 minutes), rate(1 day), cron(0 3 * * ? *) or at(2026-01-01T00:00:00)")
            return None
        if timezone is not None and not isinstance(timezone, str):
            self.bad(i, "timezone", "timezone must be an IANA name such as Europe/Paris")
            return None
        expr = expr.strip()
        props: dict[str, Any]
        if expr.startswith("at(") or timezone:
            # only EventBridge Scheduler knows at() and time zones; its schedule names are unique
            # per group, so let CloudFormation name it (two stacks of one app must not collide)
            props = {"ScheduleExpression": expr}
            if timezone:
                props["ScheduleExpressionTimezone"] = timezone
            if "input" in t.options:
                props["Input"] = _json(t.options["input"])
            props["OmitName"] = True
            return {"Type": "ScheduleV2", "Properties": props}
        props = {"Schedule": expr}
        if "input" in t.options:
            props["Input"] = _json(t.options["input"])
        return {"Type": "Schedule", "Properties": props}

    def _event_pattern(self, i: int, t: Trigger) -> dict[str, Any] | None:
        pattern = t.options.get("event_pattern")
        if not isinstance(pattern, dict) or not pattern:
            self.bad(i, "event_pattern", "event_pattern must be a non-empty mapping such as {source: [shop.web]}")
            return None
        props: dict[str, Any] = {"Pattern": pattern}
        if t.resource is not None:
            if t.resource not in self.app.resources:
                self.report.at(("triggers", i, "bus"), UNKNOWN_REFERENCE, f"bus: '{t.resource}' is not a resource of the app")
                return None
            if self.app.resources[t.resource].kind != "event_bus":
                self.report.at(("triggers", i, "bus"), WRONG_KIND,
                               f"bus: '{t.resource}' is a {self.app.resources[t.resource].kind}, not an event_bus")
                return None
            props["EventBusName"] = ref(t.resource)
        if "input" in t.options:
            props["Input"] = _json(t.options["input"])
        elif isinstance(t.options.get("input_path"), str):
            props["InputPath"] = t.options["input_path"]
        return {"Type": "EventBridgeRule", "Properties": props}

    def _api(self, i: int, t: Trigger) -> dict[str, Any] | None:
        api = t.options.get("api")
        if not isinstance(api, dict):
            self.bad(i, "api", "api must be a mapping {method: POST, path: /orders}")
            return None
        method, path = api.get("method", "post"), api.get("path")
        if not isinstance(method, str) or method.lower() not in API_METHODS:
            self.report.at(("triggers", i, "api", "method"), BAD_TRIGGER, f"{method!r} is not an HTTP method",
                           hint=", ".join(m.upper() for m in API_METHODS))
            return None
        if not isinstance(path, str) or not path.startswith("/"):
            self.report.at(("triggers", i, "api", "path"), BAD_TRIGGER, "api path must start with '/'")
            return None
        self.plan.uses_api = True
        return {"Type": "Api", "Properties": {"Path": path, "Method": method.lower()}}

    # --- cross-trigger checks ---------------------------------------------------------------

    def _check_s3_overlaps(self) -> None:
        """S3 refuses two notifications of one event type whose key filters overlap."""
        seen: list[tuple[Trigger, str, tuple[str, ...], str, str]] = []
        for entry in self._s3_direct:
            t, bucket, events, prefix, suffix = entry
            for other, b2, e2, p2, s2 in seen:
                if b2 != bucket or not _events_overlap(events, e2):
                    continue
                if (prefix.startswith(p2) or p2.startswith(prefix)) and (suffix.endswith(s2) or s2.endswith(suffix)):
                    i = self.app.triggers.index(t)
                    self.bad(i, "bucket", f"this notification overlaps trigger '{other.name}' on bucket '{bucket}' "
                             "(S3 refuses overlapping prefix/suffix filters for one event type)",
                             hint="make the prefixes or suffixes disjoint, or use via_eventbridge: true")
                    break
            seen.append(entry)


def _events_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    def family(e: str) -> str:
        return e.split(":")[1] if ":" in e else e
    return any(family(x) == family(y) and (x.endswith("*") or y.endswith("*") or x == y) for x in a for y in b)


def _valid_schedule(expr: str) -> bool:
    m = _RATE.match(expr)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return n >= 1 and (unit.endswith("s") != (n == 1))  # rate(1 day), rate(2 days)
    m = _CRON.match(expr)
    if m:
        fields = m.group(1).split()
        # six fields; exactly one of day-of-month and day-of-week is '?'
        return len(fields) == 6 and (fields[2] == "?") != (fields[4] == "?")
    return bool(_AT.match(expr))


def _event_name(t: Trigger, i: int) -> str:
    """SAM event names are alphanumeric; a trigger's name, capitalised."""
    name = re.sub(r"[^A-Za-z0-9]", "", t.name) or f"Trigger{i + 1}"
    return name[0].upper() + name[1:]


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)

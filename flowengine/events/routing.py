"""Which trigger receives an event: the app's triggers as AWS would wire them.

:class:`Router` turns an app's ``triggers`` into what the deployed app has (the same wiring
``flowengine compile`` emits, see ``compile/_events.py``) and answers, for one event, which
targets receive it.  It is pure: no clock, no I/O, no AWS.

==================  =========================================  ==========================================
trigger             a function                                 a flow
==================  =========================================  ==========================================
``bucket``          S3 notification (:class:`S3Notification`)  EventBridge rule on the default bus, on S3's
                    or, with ``via_eventbridge``, an            "Object Created"/"Object Deleted" events
                    EventBridge rule like a flow's              (the bucket sends its events to EventBridge)
``queue``           SQS event source mapping (:class:`QueueMapping`): batches, one execution per batch for a flow
``topic``           SNS subscription with a filter policy (:class:`Subscription`)
``table``           DynamoDB stream event source mapping (:class:`StreamMapping`); for a flow, a Pipe: one execution per batch
``schedule``        a schedule (:class:`ScheduledRule`): ``rate``/``cron``/``at``
``event_pattern``   EventBridge rule (:class:`BusRule`) on the named bus or the default bus
``api``             API Gateway route (:class:`ApiRoute`)
==================  =========================================  ==========================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowengine.dsl.durations import seconds
from flowengine.dsl.streams import DEFAULT_STREAM_BATCH_SIZE
from flowengine.lang.filters import (
    FilterCriteria, FilterPolicy, S3NotificationFilter, compile_filter_criteria, compile_filter_policy, s3_event_type,
    s3_key_filter,
)
from flowengine.lang.patterns import EventPattern, compile_pattern
from flowengine.lang.schedule import Schedule, parse_schedule
from flowengine.model.app import App, Trigger

#: The default event bus's name (S3 sends its events there).
DEFAULT_BUS = "default"


@dataclass(frozen=True, slots=True)
class Route:
    """One trigger receiving one event: deliver to ``target`` (a ``flow`` or a ``function``)."""

    trigger: Trigger

    @property
    def name(self) -> str:
        return self.trigger.name

    @property
    def target_kind(self) -> str:
        return self.trigger.target_kind

    @property
    def target(self) -> str:
        return self.trigger.target

    @property
    def key(self) -> str:
        """``function:Name`` or ``flow:Name`` (what the recursion guard counts)."""
        return f"{self.trigger.target_kind}:{self.trigger.target}"


@dataclass(frozen=True, slots=True)
class S3Notification(Route):
    """A bucket's notification configuration entry (direct S3 → Lambda)."""

    bucket: str = ""
    filter: S3NotificationFilter = field(default_factory=S3NotificationFilter)


@dataclass(frozen=True, slots=True)
class BusRule(Route):
    """An EventBridge rule: a pattern on a bus (None: the default bus)."""

    bus: str | None = None
    pattern: EventPattern | None = None

    def target_input(self, event: Any) -> Any:
        """What the rule's target receives: the event, or as the trigger's ``input`` (a
        constant, EventBridge's Input) or ``input_path`` (EventBridge's InputPath) says.
        A path that matches nothing gives ``{}`` here; AWS's wording for that case is not recorded."""
        o = self.trigger.options
        if "input" in o:
            return o["input"]
        path = o.get("input_path")
        if not isinstance(path, str):
            return event
        from flowengine.lang.jsonpath import PathNotFound, compile_path

        try:
            return compile_path(path).find(event)
        except PathNotFound:
            return {}
    via_bucket: str | None = None  # a bucket trigger delivered through EventBridge

    def matches(self, event: Mapping[str, Any]) -> bool:
        return self.pattern is not None and self.pattern.matches(event)


@dataclass(frozen=True, slots=True)
class Subscription(Route):
    """An SNS subscription, with its filter policy (None: every message)."""

    topic: str = ""
    policy: FilterPolicy | None = None


@dataclass(frozen=True, slots=True)
class QueueMapping(Route):
    """An SQS event source mapping (a function) or an EventBridge Pipe (a flow)."""

    queue: str = ""
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    #: Lambda event filtering (None: every message); a message that matches no filter is deleted
    filter: FilterCriteria | None = None


@dataclass(frozen=True, slots=True)
class StreamMapping(Route):
    """A DynamoDB stream event source mapping (a function) or an EventBridge Pipe (a flow)."""

    table: str = ""
    batch_size: int = DEFAULT_STREAM_BATCH_SIZE
    batching_window: float = 0.0
    starting_position: str = "LATEST"
    report_batch_item_failures: bool = False
    #: Lambda event filtering (None: every record); a record that matches no filter is skipped
    filter: FilterCriteria | None = None
    #: retries of a failed batch before its records are dropped; None: Lambda's -1 (until they expire)
    maximum_retry_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduledRule(Route):
    """A schedule: when it fires, and what it delivers (``input``, or the Scheduled Event)."""

    schedule: Schedule | None = None
    rule_name: str = ""
    has_input: bool = False
    input: Any = None

    @property
    def scheduler(self) -> bool:
        """EventBridge Scheduler (``at()`` or a time zone) rather than a plain rule."""
        return self.schedule is not None and (self.schedule.kind == "at" or "timezone" in self.trigger.options)


@dataclass(frozen=True, slots=True)
class ApiRoute(Route):
    """An API Gateway route: ``method`` (``ANY`` matches all) and a path template."""

    method: str = "ANY"
    path: str = "/"

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("ANY", method.upper()):
            return False
        return _path_matches(self.path, path)


def _path_matches(template: str, path: str) -> bool:
    want = [p for p in template.split("/") if p]
    got = [p for p in path.split("/") if p]
    for i, part in enumerate(want):
        if part.startswith("{") and part.endswith("+}"):
            return len(got) > i
        if i >= len(got):
            return False
        if not (part.startswith("{") and part.endswith("}")) and part != got[i]:
            return False
    return len(got) == len(want)


_DETAIL_TYPES = {"ObjectCreated": "Object Created", "ObjectRemoved": "Object Deleted"}


def s3_rule_pattern(bucket_name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The EventBridge pattern of a bucket trigger delivered through EventBridge (as compiled)."""
    words = options.get("events", ["created"])
    if isinstance(words, str):
        words = [words]
    detail_types: list[str] = []
    for w in words:
        kind = s3_event_type(w).split(":")[1]
        dt = _DETAIL_TYPES.get(kind)
        if dt is not None and dt not in detail_types:
            detail_types.append(dt)
    detail: dict[str, Any] = {"bucket": {"name": [bucket_name]}}
    key = s3_key_filter(options.get("prefix"), options.get("suffix"))
    if key is not None:
        detail["object"] = {"key": [key]}
    return {"source": ["aws.s3"], "detail-type": detail_types or ["Object Created"], "detail": detail}


def goes_through_eventbridge(trigger: Trigger) -> bool:
    """A bucket trigger that reaches its target as an EventBridge event (flows always do)."""
    return trigger.source == "bucket" and (trigger.target_kind == "flow" or trigger.options.get("via_eventbridge") is True)


class Router:
    """The app's triggers, ready to match events.

    ``bucket_names`` maps each bucket resource to its (local or deployed) bucket name: S3's
    EventBridge events name the bucket, not the resource.  ``app_name`` names the schedule
    rules (``<app>-<trigger>``).  Triggers with a source the runtime cannot deliver to a
    target that does not exist are skipped (validation reports them).
    """

    def __init__(self, app: App, bucket_names: Mapping[str, str]) -> None:
        self.app = app
        #: each bucket resource's name as events carry it (local or deployed)
        self.bucket_names: dict[str, str] = dict(bucket_names)
        self.s3: dict[str, list[S3Notification]] = {}
        self.rules: dict[str | None, list[BusRule]] = {}
        self.subscriptions: dict[str, list[Subscription]] = {}
        self.mappings: dict[str, list[QueueMapping]] = {}
        self.streams: dict[str, list[StreamMapping]] = {}
        self.schedules: list[ScheduledRule] = []
        self.api: list[ApiRoute] = []
        #: buckets that send their events to EventBridge (a trigger goes through it)
        self.eventbridge_buckets: set[str] = set()
        for t in app.triggers:
            pool = app.flows if t.target_kind == "flow" else app.functions
            if t.target not in pool:
                continue
            self._add(t, bucket_names)

    def _add(self, t: Trigger, bucket_names: Mapping[str, str]) -> None:
        o = t.options
        if t.source == "bucket" and t.resource is not None:
            if goes_through_eventbridge(t):
                self.eventbridge_buckets.add(t.resource)
                pattern = compile_pattern(s3_rule_pattern(bucket_names.get(t.resource, t.resource), o))
                self.rules.setdefault(None, []).append(BusRule(t, None, pattern, t.resource))
            else:
                self.s3.setdefault(t.resource, []).append(
                    S3Notification(t, t.resource, S3NotificationFilter.from_options(o)))
        elif t.source == "event_pattern":
            self.rules.setdefault(t.resource, []).append(BusRule(t, t.resource, compile_pattern(o["event_pattern"])))
        elif t.source == "topic" and t.resource is not None:
            policy = compile_filter_policy(o["filter_policy"]) if o.get("filter_policy") else None
            self.subscriptions.setdefault(t.resource, []).append(Subscription(t, t.resource, policy))
        elif t.source == "queue" and t.resource is not None:
            window = seconds(o.get("batching_window", 0))
            self.mappings.setdefault(t.resource, []).append(QueueMapping(
                t, t.resource, batch_size=int(o.get("batch_size", 10)),
                batching_window=float(window) if isinstance(window, (int, float)) else 0.0,
                report_batch_item_failures=o.get("report_batch_item_failures") is True,
                filter=compile_filter_criteria(o["filter"]) if o.get("filter") else None))
        elif t.source == "table" and t.resource is not None:
            window = seconds(o.get("batching_window", 0))
            retries = o.get("maximum_retry_attempts")
            self.streams.setdefault(t.resource, []).append(StreamMapping(
                t, t.resource, batch_size=int(o.get("batch_size", DEFAULT_STREAM_BATCH_SIZE)),
                batching_window=float(window) if isinstance(window, (int, float)) else 0.0,
                starting_position=str(o.get("starting_position", "LATEST")),
                report_batch_item_failures=o.get("report_batch_item_failures") is True,
                filter=compile_filter_criteria(o["filter"]) if o.get("filter") else None,
                maximum_retry_attempts=retries if isinstance(retries, int) and retries >= 0 else None))
        elif t.source == "schedule":
            schedule = parse_schedule(o["schedule"], o.get("timezone") or "UTC")
            rule = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.app.name}-{t.name}")[:64]
            self.schedules.append(ScheduledRule(t, schedule, rule, "input" in o, o.get("input")))
        elif t.source == "api" and isinstance(o.get("api"), dict):
            api = o["api"]
            self.api.append(ApiRoute(t, str(api.get("method", "ANY")).upper(), str(api.get("path", "/"))))

    # --- matching -------------------------------------------------------------------------

    def s3_notifications(self, bucket: str, event_name: str, key: str) -> list[S3Notification]:
        """The direct notifications of ``bucket`` that receive ``event_name`` on ``key``."""
        return [n for n in self.s3.get(bucket, []) if n.filter.matches(event_name, key)]

    def bus_rules(self, bus: str | None, event: Mapping[str, Any]) -> list[BusRule]:
        """The rules of ``bus`` (a resource name; None for the default bus) that match ``event``."""
        return [r for r in self.rules.get(bus, []) if r.matches(event)]

    def topic_subscriptions(self, topic: str, attributes: Mapping[str, Any] | None) -> list[Subscription]:
        """The subscriptions of ``topic`` whose filter policy accepts a message with ``attributes``."""
        return [s for s in self.subscriptions.get(topic, [])
                if s.policy is None or s.policy.matches(attributes or {})]

    def api_routes(self, method: str, path: str) -> list[ApiRoute]:
        return [r for r in self.api if r.matches(method, path)]

    def trigger(self, name: str) -> Trigger | None:
        return next((t for t in self.app.triggers if t.name == name), None)


# --- why no trigger took an event ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """One trigger that did not take an event: why, and how close it came (0..1; the share of
    its conditions the event met, weighted so that the right source counts for most)."""

    trigger: Trigger
    reason: str
    closeness: float

    def format(self) -> str:
        t = self.trigger
        return f"trigger {t.name} ({t.target_kind} {t.target}): {self.reason}"


def explain_refusals(router: Router, event: Any, *, bus: str | None = None) -> list[Refusal]:
    """Why each of the app's triggers refused ``event`` (as :meth:`AppRuntime.send` would
    route it, sent to ``bus``: a bus resource, None or ``default`` for the default bus),
    closest first.  Pure, like the rest of the router: for the message of an event that
    started nothing (prefix, suffix, event type, bucket, bus, which pattern field)."""
    kind, view = _event_kind(router, event)
    sent_bus = None if bus in (None, "default") else bus
    out: list[Refusal] = []
    for t in router.app.triggers:
        found = _refusal(router, t, kind, view, sent_bus)
        if found is not None:
            out.append(Refusal(t, found[1], found[0]))
    out.sort(key=lambda r: -r.closeness)
    return out


def describe_refusals(refusals: list[Refusal], *, limit: int = 3) -> str:
    """The closest ``limit`` refusals as indented lines (empty when there are none)."""
    near = [r for r in refusals if r.closeness > 0] or refusals
    lines = [r.format() for r in near[:limit]]
    more = len(refusals) - len(lines)
    if more > 0:
        lines.append(f"({more} other trigger{'s' if more != 1 else ''} further off)")
    return "".join(f"\n  {line}" for line in lines)


_KIND_WORDS = {"s3": "an S3 notification", "sqs": "SQS records", "sns": "an SNS notification",
               "events": "an EventBridge event", "api": "an API Gateway request", "other": "an event of no known kind"}
_SOURCE_WORDS = {"bucket": "S3 notifications of bucket {r}", "queue": "messages of queue {r}",
                 "topic": "messages of topic {r}", "event_pattern": "EventBridge events on bus {r}",
                 "schedule": "its schedule {s}", "api": "API Gateway requests"}


def _event_kind(router: Router, event: Any) -> tuple[str, Any]:
    """What kind of event this is, and the part of it the triggers look at."""
    if not isinstance(event, Mapping):
        return "other", event
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        kind = {"aws:s3": "s3", "aws:sqs": "sqs", "aws:sns": "sns"}.get(str(source), "other")
        return kind, [r for r in records if isinstance(r, Mapping)]
    if "detail-type" in event and "source" in event:
        return "events", _with_local_bucket(router, event)
    if "Source" in event and "DetailType" in event:  # a PutEvents entry
        import json

        detail = event.get("Detail", "{}")
        try:
            parsed = json.loads(detail) if isinstance(detail, str) else detail
        except ValueError:
            parsed = {}
        return "events", {"source": event.get("Source"), "detail-type": event.get("DetailType"), "detail": parsed}
    if "httpMethod" in event or "routeKey" in event:
        return "api", event
    return "other", event


def _with_local_bucket(router: Router, event: Mapping[str, Any]) -> Mapping[str, Any]:
    detail = event.get("detail")
    if event.get("source") != "aws.s3" or not isinstance(detail, Mapping) or not isinstance(detail.get("bucket"), Mapping):
        return event
    resource = _bucket_resource(router, str(detail["bucket"].get("name", "")))
    if resource is None or resource not in router.bucket_names:
        return event
    return {**event, "detail": {**detail, "bucket": {**detail["bucket"], "name": router.bucket_names[resource]}}}


def _bucket_resource(router: Router, name: str) -> str | None:
    for resource, local in router.bucket_names.items():
        if name in (resource, local) or name.lower() == resource.lower():
            return resource
    return None


def _last(arn: Any) -> str:
    return str(arn).rsplit(":", 1)[-1]


def _dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a level is missing or not an object (events are
    user input: any shape can arrive)."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _refusal(router: Router, t: Trigger, kind: str, view: Any, bus: str | None) -> tuple[float, str] | None:
    """(closeness, reason) for one trigger, or None if it would take the event."""
    o = t.options
    listens = _SOURCE_WORDS.get(t.source, t.source).format(r=t.resource or "default", s=o.get("schedule"))
    elsewhere = (0.0, f"takes {listens}; this is {_KIND_WORDS[kind]}")
    if t.source == "bucket" and kind == "s3":
        best: tuple[float, str] | None = (0.0, "")
        for record in view:
            name = str(_dig(record, "s3", "bucket", "name") or "")
            if _bucket_resource(router, name) != t.resource:
                found: tuple[float, str] | None = (0.2, f"listens on bucket {t.resource}; the event is for bucket {name}")
            else:
                found = _s3_filter_refusal(o, str(record.get("eventName", "")),
                                           str(_dig(record, "s3", "object", "key") or ""))
            if found is None:
                return None
            best = max(best, found) if best is not None else found
        return best
    if t.source == "bucket" and kind == "events" and goes_through_eventbridge(t):
        rule = next((r for r in router.rules.get(None, []) if r.trigger is t), None)
        return _rule_refusal(rule, view, bus) if rule is not None else None
    if t.source == "event_pattern" and kind == "events":
        rule = next((r for rules in router.rules.values() for r in rules if r.trigger is t), None)
        return _rule_refusal(rule, view, bus) if rule is not None else None
    if t.source == "topic" and kind == "sns":
        sub = next((x for subs in router.subscriptions.values() for x in subs if x.trigger is t), None)
        for record in view:
            sns = record.get("Sns") if isinstance(record.get("Sns"), Mapping) else {}
            topic = _last(sns.get("TopicArn") or "")
            if topic.lower() != str(t.resource).lower() and not topic.endswith(str(t.resource)):
                return 0.2, f"subscribes to topic {t.resource}; the message is on topic {topic}"
            if sub is None or sub.policy is None:
                return None
            miss = sub.policy.explain(sns.get("MessageAttributes") or {}, body=sns.get("Message"))
            if miss is None:
                return None
            return 0.4 + 0.5 * miss.closeness, "its filter_policy refuses the message: " + "; ".join(
                r for _, r in miss.refused)
    if t.source == "queue" and kind == "sqs":
        queues = {_last(r.get("eventSourceARN", "")) for r in view}
        if not any(q == t.resource or q.lower() == str(t.resource).lower() for q in queues):
            return 0.2, f"reads queue {t.resource}; the records are from queue {', '.join(sorted(queues))}"
        return None
    if t.source == "schedule" and kind == "events" and view.get("detail-type") == "Scheduled Event":
        return 0.3, (f"fires on its schedule {o.get('schedule')}; a Scheduled Event reaches it only when its "
                     f"resources name the rule (flowengine event generate schedule --rule-arn ...:rule/NAME)")
    if t.source == "api" and kind == "api":
        route = next((r for r in router.api if r.trigger is t), None)
        if route is None:
            return None
        if "routeKey" in view:
            method = str(_dig(view, "requestContext", "http", "method") or "GET")
            path = str(view.get("rawPath", "/"))
        else:
            method, path = str(view.get("httpMethod", "GET")), str(view.get("path", "/"))
        if route.matches(method, path):
            return None
        same_method = route.method in ("ANY", method.upper())
        return (0.6 if same_method else 0.3), f"takes {route.method} {route.path}; the request is {method} {path}"
    return elsewhere


def _s3_filter_refusal(options: Mapping[str, Any], event_name: str, encoded_key: str) -> tuple[float, str] | None:
    """Why a bucket trigger's events/prefix/suffix refuse one S3 record (None: it takes it)."""
    from urllib.parse import unquote_plus

    from flowengine.lang.filters import S3KeyFilter, S3NotificationFilter, s3_event_matches

    try:
        wanted = S3NotificationFilter.from_options(options)
    except ValueError:
        return None
    key = unquote_plus(encoded_key)
    reasons: list[str] = []
    checks = 1
    if not any(s3_event_matches(e, event_name) for e in wanted.events):
        reasons.append(f"it takes {', '.join(wanted.events)}; the event is {event_name or 'unnamed'}")
    prefix, suffix = wanted.key.prefix, wanted.key.suffix
    if prefix:
        checks += 1
        if not S3KeyFilter(prefix=prefix).matches_encoded(encoded_key):
            reasons.append(f"key '{key}' does not start with prefix '{prefix}'")
    if suffix:
        checks += 1
        if not S3KeyFilter(suffix=suffix).matches_encoded(encoded_key):
            reasons.append(f"key '{key}' does not end with suffix '{suffix}'")
    if not reasons:
        return None
    return 0.4 + 0.5 * (checks - len(reasons)) / checks, "; ".join(reasons)


def _rule_refusal(rule: BusRule, event: Mapping[str, Any], bus: str | None) -> tuple[float, str] | None:
    """Why an EventBridge rule refuses an event sent to ``bus``: the bus, and the pattern's fields."""
    miss = rule.pattern.explain(event) if rule.pattern is not None else None
    fields = "; ".join(r for _, r in miss.refused) if miss is not None else ""
    if rule.bus != bus:
        where = f"bus {rule.bus}" if rule.bus else "the default bus"
        sent = f"bus {bus}" if bus else "the default bus"
        flag = f" (send it there with --bus {rule.bus})" if rule.bus else " (send it there without --bus)"
        if miss is None:
            return 0.95, f"listens on {where}; the event went to {sent}{flag}"
        return 0.2 + 0.3 * miss.closeness, f"listens on {where}, not {sent}{flag}; and {fields}"
    if miss is None:
        return None
    return 0.4 + 0.5 * miss.closeness, fields


__all__ = [
    "DEFAULT_BUS", "ApiRoute", "BusRule", "QueueMapping", "Refusal", "Route", "Router", "S3Notification",
    "ScheduledRule", "StreamMapping", "Subscription", "describe_refusals", "explain_refusals", "goes_through_eventbridge",
    "s3_key_filter", "s3_rule_pattern",
]

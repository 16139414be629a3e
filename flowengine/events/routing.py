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
from flowengine.lang.filters import FilterPolicy, s3_key_filter, S3NotificationFilter, compile_filter_policy, s3_event_type
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
        self.s3: dict[str, list[S3Notification]] = {}
        self.rules: dict[str | None, list[BusRule]] = {}
        self.subscriptions: dict[str, list[Subscription]] = {}
        self.mappings: dict[str, list[QueueMapping]] = {}
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
                report_batch_item_failures=o.get("report_batch_item_failures") is True))
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


__all__ = [
    "DEFAULT_BUS", "ApiRoute", "BusRule", "QueueMapping", "Route", "Router", "S3Notification", "ScheduledRule",
    "Subscription", "goes_through_eventbridge", "s3_key_filter", "s3_rule_pattern",
]

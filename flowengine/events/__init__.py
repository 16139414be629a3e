"""Event chains: what starts a flow or invokes a function, and the events they receive.

This package holds the pure, engine-independent half of triggers: nothing here performs I/O
or reads a clock (time is always passed in).

* :mod:`~flowengine.lang.patterns`: EventBridge event patterns (:func:`compile_pattern`).
* :mod:`~flowengine.lang.filters`: SNS filter policies (:func:`compile_filter_policy`), S3
  notification filters (:class:`S3NotificationFilter`), Lambda filter criteria
  (:func:`compile_filter_criteria`).
* :mod:`~flowengine.lang.schedule`: ``rate``/``cron``/``at`` expressions and their fire
  times (:func:`parse_schedule`).
* :mod:`~flowengine.events.payloads`: event payloads in AWS's shapes (:func:`s3_event`,
  :func:`sqs_event`, ...) and the registry behind ``flowengine event generate`` (:func:`generate`).

The running half (imported on first use: it needs boto3 and moto) runs a whole app:

* :mod:`~flowengine.runtime.app`: :class:`AppRuntime`, every flow, function, resource and
  trigger of an app on one clock (docs/runtime.md);
* :mod:`~flowengine.events.emulation`: the resources in moto, and the calls that become events;
* :mod:`~flowengine.events.routing`: which trigger receives an event;
* :mod:`~flowengine.events.recursion`: recursive loop detection;
* :mod:`~flowengine.runtime.commands`: ``flowengine up`` / ``send`` / ``run --event``.
"""

from __future__ import annotations

from flowengine.lang.filters import (
    FilterCriteria,
    FilterCriteriaError,
    FilterPolicy,
    FilterPolicyError,
    S3FilterError,
    S3KeyFilter,
    S3NotificationFilter,
    compile_filter_criteria,
    compile_filter_policy,
    s3_event_matches,
)
from flowengine.lang.patterns import EventPattern, PatternError, compile_pattern
from flowengine.events.payloads import (
    PayloadError,
    apigateway_event,
    apigateway_http_event,
    eventbridge_event,
    generate,
    generate_options,
    s3_event,
    s3_eventbridge_event,
    schedule_event,
    sns_event,
    sqs_event,
)
from flowengine.lang.schedule import Schedule, ScheduleError, parse_schedule



__all__ = [
    "EventPattern", "FilterCriteria", "FilterCriteriaError", "FilterPolicy", "FilterPolicyError", "PatternError",
    "PayloadError", "S3FilterError", "S3KeyFilter", "S3NotificationFilter", "Schedule", "ScheduleError",
    "apigateway_event", "apigateway_http_event", "compile_filter_criteria", "compile_filter_policy",
    "compile_pattern", "eventbridge_event", "generate", "generate_options", "parse_schedule", "s3_event",
    "s3_event_matches", "s3_eventbridge_event", "schedule_event", "sns_event", "sqs_event",
]

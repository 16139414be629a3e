"""Event chains: what starts a flow or invokes a function, and the events they receive.

Each event source has its rules in one module, as a mixin of the app runtime
(:class:`flowengine.runtime.app.AppRuntime`, which owns delivery, the recursion guard and
the clock):

* :mod:`~flowengine.events.s3`: notifications (direct or through EventBridge) for what the
  app's code writes and deletes;
* :mod:`~flowengine.events.sqs`: event source mappings: batches, batching window, visibility
  timeouts, partial batch failures, the dead-letter queue (:class:`~.sqs.QueuePoller`);
* :mod:`~flowengine.events.sns`: subscriptions and their filter policies;
* :mod:`~flowengine.events.streams`: DynamoDB stream event source mappings
  (:class:`~.streams.StreamPoller`): records of the tables' item writes, batched, filtered, retried;
* :mod:`~flowengine.events.eventbridge`: rules on the default and custom buses;
* :mod:`~flowengine.events.schedules`: ``rate``/``cron``/``at`` schedules on the clock;
* :mod:`~flowengine.events.api`: API Gateway routes;
* :mod:`~flowengine.events.source`: what they share; :mod:`~flowengine.events.log`: the log.

And what they stand on:

* :mod:`~flowengine.events.routing`: which trigger receives an event (pure);
* :mod:`~flowengine.events.payloads`: event payloads in AWS's shapes (:func:`s3_event`,
  :func:`sqs_event`, ...) and the registry behind ``flowengine event generate`` (:func:`generate`);
* :mod:`~flowengine.events.emulation`: the resources in moto, and the calls that become events;
* :mod:`~flowengine.events.recursion`: recursive loop detection.

The matching languages (EventBridge patterns, SNS filter policies, schedule expressions)
are in :mod:`flowengine.lang`; their main names are re-exported here.
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

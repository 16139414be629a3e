"""SNS as an event source: a published message reaches the subscriptions whose filter
policies accept it, as Lambda's SNS event.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from flowengine.engine.clock import to_datetime
from flowengine.engine.options import new_uuid
from flowengine.events import payloads
from flowengine.events.recursion import Lineage
from flowengine.events.routing import Route
from flowengine.events.source import EventError, EventSource


class SnsSource(EventSource):
    """Sns rules of the app runtime (a mixin of ``AppRuntime``)."""

    def _sns(self, params: Mapping[str, Any], message_id: str, lineage: Lineage) -> list[Route]:
        topic_arn = str(params.get("TopicArn") or params.get("TargetArn") or "")
        topic = self.emulation.topic_resource(topic_arn)
        self._record("event", f"sns message published to {topic or topic_arn}", source="sns", resource=topic,
                     message_id=message_id)
        if topic is None:
            return []
        attributes = params.get("MessageAttributes") or {}
        message = params.get("Message", "")
        if params.get("MessageStructure") == "json":
            try:
                per_protocol = json.loads(message)
                message = per_protocol.get("lambda", per_protocol.get("default", message))
            except (ValueError, AttributeError):
                pass
        event = payloads.sns_event(message, topic_arn=topic_arn, subject=params.get("Subject"),
                                   message_attributes=_sns_attributes(attributes), message_id=message_id,
                                   region=self.account.region, account=self.account.account,
                                   time=to_datetime(self.clock.now()), rng=self.rng)
        lineage = lineage.via(f"sns:{topic}")
        return [s for s in self.router.topic_subscriptions(topic, attributes)
                if self._deliver(s, event, lineage, what=f"sns {topic}")]

    def _send_sns(self, record: Mapping[str, Any], lineage: Lineage) -> list[Route]:
        sns = record.get("Sns") or {}
        arn = str(sns.get("TopicArn", ""))
        topic = self._lookup("topic", arn) or self._lookup("topic", arn.rsplit(":", 1)[-1])
        if topic is None:
            raise EventError(f"the app has no topic {arn.rsplit(':', 1)[-1]!r} "
                             f"(topics: {', '.join(self._names('topic')) or 'none'})")
        attrs = {k: {"DataType": v.get("Type", "String"), "StringValue": v.get("Value")}
                 for k, v in (sns.get("MessageAttributes") or {}).items() if isinstance(v, dict)}
        params = {"TopicArn": self.emulation.resources[topic].arn, "Message": sns.get("Message", ""),
                  "Subject": sns.get("Subject"), "MessageAttributes": attrs}
        return self._sns(params, str(sns.get("MessageId") or new_uuid(self.rng)), lineage)


def _sns_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attributes.items():
        if not isinstance(v, dict):
            out[k] = v
        elif "BinaryValue" in v:
            raw = v["BinaryValue"]
            out[k] = {"Type": "Binary", "Value": base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw}
        else:
            out[k] = {"Type": v.get("DataType", "String"), "Value": v.get("StringValue")}
    return out


__all__ = ["SnsSource"]

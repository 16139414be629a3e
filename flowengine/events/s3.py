"""S3 as an event source: event notifications (direct, or through EventBridge) for the
objects the app's code writes and deletes, and S3 events sent in (``send``, ``run --event``).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping
from urllib.parse import unquote_plus

from flowengine.engine.clock import to_datetime
from flowengine.events import payloads
from flowengine.events.recursion import Lineage
from flowengine.events.routing import Route
from flowengine.events.source import EventError, EventSource


class S3Source(EventSource):
    """S3 rules of the app runtime (a mixin of ``AppRuntime``)."""

    def _s3(self, bucket: str, key: str, event_name: str, lineage: Lineage, *, reason: str,
            size: int | None = None, etag: str | None = None, version_id: str | None = None) -> list[Route]:
        resource = self.emulation.bucket_resource(bucket)
        self._record("event", f"s3 {event_name} s3://{bucket}/{key}", source="s3", resource=resource,
                     bucket=bucket, key=key, event_name=event_name)
        if resource is None:
            return []
        lineage = lineage.via(f"s3:{resource}")
        now = to_datetime(self.clock.now())
        delivered: list[Route] = []
        common: dict[str, Any] = {"region": self.account.region, "account": self.account.account, "time": now,
                                  "rng": self.rng}
        for n in self.router.s3_notifications(resource, event_name, key):
            event = payloads.s3_event(bucket, key, event_name, size=size if "Created" in event_name else None,
                                      etag=etag, version_id=version_id, configuration_id=n.name,
                                      **common)  # type: ignore[arg-type]
            if self._deliver(n, event, lineage, what=f"s3://{bucket}/{key}"):
                delivered.append(n)
        if resource in self.router.eventbridge_buckets:
            created = "Created" in event_name
            event = payloads.s3_eventbridge_event(
                bucket, key, "Object Created" if created else "Object Deleted", size=size if created else None,
                etag=etag if created else None, version_id=version_id, reason=reason,
                deletion_type=("Delete Marker Created" if "DeleteMarker" in event_name else "Permanently Deleted"),
                **common)  # type: ignore[arg-type]
            delivered += self._bus(None, event, lineage, what=f"s3://{bucket}/{key}")
        return delivered

    def stage_object(self, bucket: str, key: str, body: bytes | str) -> None:
        """Store ``body`` at ``key`` in ``bucket`` (logical or local name) without raising an
        event: the object a generated S3 event names, there before the event is sent."""
        resource = self._lookup("bucket", bucket)
        if resource is None:
            raise EventError(f"the app has no bucket {bucket!r} (buckets: {', '.join(self._names('bucket')) or 'none'})")
        with self.emulation.quietly():
            self.client("s3").put_object(Bucket=self.emulation.resources[resource].local_name, Key=key,
                                         Body=body.encode() if isinstance(body, str) else body)

    def _send_s3(self, record: Mapping[str, Any], lineage: Lineage) -> list[Route]:
        s3 = record.get("s3") or {}
        name = str((s3.get("bucket") or {}).get("name", ""))
        resource = self._lookup("bucket", name)
        if resource is None:
            raise EventError(f"the app has no bucket {name!r} "
                             f"(buckets: {', '.join(self._names('bucket')) or 'none'})")
        bucket = self.emulation.resources[resource].local_name
        obj = s3.get("object") or {}
        key = unquote_plus(str(obj.get("key", "")))
        event_name = str(record.get("eventName", "ObjectCreated:Put")).removeprefix("s3:")
        reason = {"Put": "PutObject", "Copy": "CopyObject", "Post": "PostObject",
                  "CompleteMultipartUpload": "CompleteMultipartUpload"}.get(event_name.split(":")[-1], "DeleteObject")
        return self._s3(bucket, key, event_name, lineage, reason=reason, size=obj.get("size"),
                        etag=obj.get("eTag"), version_id=obj.get("versionId"))

    def _local_bucket_names(self, event: dict[str, Any]) -> dict[str, Any]:
        """An S3 event for EventBridge that names a bucket by its logical name (as `flowengine
        event generate s3-eventbridge --bucket Uploads` does) gets the emulated bucket's name."""
        detail = event.get("detail")
        if event.get("source") != "aws.s3" or not isinstance(detail, dict) or not isinstance(detail.get("bucket"), dict):
            return event
        name = str(detail["bucket"].get("name", ""))
        resource = self._lookup("bucket", name)
        if resource is None or self.emulation.resources[resource].local_name == name:
            return event
        local = self.emulation.resources[resource].local_name
        return {**event, "detail": {**detail, "bucket": {**detail["bucket"], "name": local}}}


__all__ = ["S3Source"]

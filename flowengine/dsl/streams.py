"""DynamoDB streams in an app: which tables have one, and what it carries.

A table has a stream when its resource says ``stream: new_and_old_images`` (any of
:data:`STREAM_VIEW_TYPES`, in the app file's lower case or AWS's upper case), or when a
``table`` trigger reads it: a trigger implies ``NEW_AND_OLD_IMAGES`` on a table that names
no view type.  The validator, the local runtime (:mod:`flowengine.events.streams`), compile
(``StreamSpecification``) and import all ask this module, so they always agree.
"""

from __future__ import annotations

from typing import Any

from flowengine.model.app import App

#: The app file's words for DynamoDB's ``StreamViewType``.
STREAM_VIEW_TYPES: dict[str, str] = {
    "keys_only": "KEYS_ONLY",
    "new_image": "NEW_IMAGE",
    "old_image": "OLD_IMAGE",
    "new_and_old_images": "NEW_AND_OLD_IMAGES",
}
#: The view type a ``table`` trigger implies on a table that names none.
DEFAULT_STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
#: Where a DynamoDB event source mapping starts reading (AT_TIMESTAMP is Kinesis's only).
STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")
#: Lambda's default and largest batch for a DynamoDB stream.
DEFAULT_STREAM_BATCH_SIZE = 100
MAX_STREAM_BATCH_SIZE = 10000


def view_type(value: Any) -> str | None:
    """AWS's ``StreamViewType`` for ``stream:`` as written (``new_image`` or ``NEW_IMAGE``);
    None for anything else."""
    if not isinstance(value, str):
        return None
    if value in STREAM_VIEW_TYPES:
        return STREAM_VIEW_TYPES[value]
    return value if value in STREAM_VIEW_TYPES.values() else None


def table_stream(app: App, table: str) -> str | None:
    """The ``StreamViewType`` of ``table``'s stream, or None when the table has none."""
    res = app.resources.get(table)
    if res is None or res.kind != "table":
        return None
    declared = view_type(res.properties.get("stream"))
    if declared is not None:
        return declared
    if any(t.source == "table" and t.resource == table for t in app.triggers):
        return DEFAULT_STREAM_VIEW_TYPE
    return None


def stream_table_arn(arn: Any) -> str | None:
    """The table ARN of a stream ARN (``.../table/Orders/stream/2024-01-01T00:00:00.000``);
    None when ``arn`` is not one."""
    if not isinstance(arn, str) or "/stream/" not in arn:
        return None
    head, _, _ = arn.partition("/stream/")
    return head if ":table/" in head or head.startswith("${") else None


__all__ = [
    "DEFAULT_STREAM_BATCH_SIZE", "DEFAULT_STREAM_VIEW_TYPE", "MAX_STREAM_BATCH_SIZE", "STARTING_POSITIONS",
    "STREAM_VIEW_TYPES", "stream_table_arn", "table_stream", "view_type",
]

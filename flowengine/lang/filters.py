"""The filters that sit between an event source and its target: SNS, S3 and Lambda's.

Choose this module to decide whether a message reaches a subscriber, as AWS would decide:

* **SNS subscription filter policies** (:func:`compile_filter_policy`), on the message
  attributes (``FilterPolicyScope: MessageAttributes``, the default) or on the JSON body
  (``MessageBody``).  The grammar is EventBridge's (:mod:`flowengine.lang.patterns`) without
  ``wildcard``; AWS's limits apply: at most 5 keys, at most 150 value combinations, and no
  nesting on attributes.
* **S3 notification filters** (:class:`S3NotificationFilter`): the event types
  (``s3:ObjectCreated:*``, ``s3:ObjectRemoved:Delete``, ... and the app file's ``created`` /
  ``removed``) and the key's prefix and suffix (:class:`S3KeyFilter`).
* **Lambda event filtering** on an event source mapping (:func:`compile_filter_criteria`):
  EventBridge's grammar without ``wildcard`` and ``cidr``, applied to each record; an SQS
  record's ``body`` is matched as JSON when it is a JSON object, as a plain string otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import quote_plus

from flowengine.errors import FlowengineError
from flowengine.lang.patterns import Dialect, EventPattern, PatternError, PatternMiss, compile_rules

__all__ = [
    "S3_EVENT_ALIASES",
    "S3_EVENT_TYPES",
    "FilterCriteria",
    "FilterCriteriaError",
    "FilterPolicy",
    "FilterPolicyError",
    "S3FilterError",
    "S3KeyFilter",
    "S3NotificationFilter",
    "compile_filter_criteria",
    "compile_filter_policy",
    "s3_encode_key",
    "s3_event_matches",
    "s3_event_type",
    "s3_key_filter",
]

FilterPolicyScope = Literal["MessageAttributes", "MessageBody"]

#: SNS's limits on a filter policy.
MAX_POLICY_KEYS = 5
MAX_POLICY_COMBINATIONS = 150


class FilterPolicyError(PatternError):
    """An SNS filter policy that SNS would refuse (``InvalidParameter``)."""

    prefix = "Invalid parameter: FilterPolicy: "


class FilterCriteriaError(PatternError):
    """A Lambda event source mapping filter that Lambda would refuse."""

    prefix = "Invalid filter pattern definition. Reason: "


_SNS_ATTRIBUTES = Dialect("SNS", FilterPolicyError, wildcard=False, nested=False,
                          nested_message="Filter policy scope MessageAttributes does not support nested filter policy",
                          exists_needs_value=True)
_SNS_BODY = Dialect("SNS", FilterPolicyError, wildcard=False, exists_needs_value=True)
_LAMBDA = Dialect("Lambda", FilterCriteriaError, wildcard=False, cidr=False)


# --- SNS --------------------------------------------------------------------------------------------


class FilterPolicy:
    """A validated SNS subscription filter policy.  See :func:`compile_filter_policy`."""

    __slots__ = ("_pattern", "policy", "scope")

    def __init__(self, policy: Mapping[str, Any], scope: FilterPolicyScope, pattern: EventPattern) -> None:
        self.policy = policy
        self.scope = scope
        self._pattern = pattern

    def __repr__(self) -> str:
        return f"FilterPolicy({json.dumps(self.policy, default=str)}, scope={self.scope!r})"

    def matches(self, message: Any) -> bool:
        """Whether a message passes the policy.

        With scope ``MessageAttributes`` pass the message attributes, in any of the shapes they
        travel in: SNS's (``{"Type": "String", "Value": "x"}``), boto3 ``publish``'s
        (``{"DataType": "Number", "StringValue": "5"}``), Lambda's SQS shape
        (``{"dataType": ..., "stringValue": ...}``) or plain values (``"x"``, ``5``,
        ``["a", "b"]`` for a String.Array).  Binary attributes are never compared.  A message
        without attributes matches nothing, not even ``exists: false`` (as SNS documents).
        With scope ``MessageBody`` pass the message (JSON text or an already parsed object);
        a body that is not a JSON object matches nothing.

        As SNS documents, ``exists: true`` wants a value that is neither null nor empty.
        """
        if self.scope == "MessageBody":
            return self._pattern.matches(message)
        if not isinstance(message, Mapping) or not message:
            return False
        return self._pattern.matches(attributes_as_values(message))

    def explain(self, attributes: Any, *, body: Any = None) -> PatternMiss | None:
        """Why a message with these attributes (or, with scope ``MessageBody``, this body) does
        not pass, field by field (see :meth:`EventPattern.explain`); None if it passes."""
        if self.scope == "MessageBody":
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    body = None
            if not isinstance(body, Mapping):
                return PatternMiss(0, 1, (("", "the message body is not a JSON object"),))
            return self._pattern.explain(body)
        if not isinstance(attributes, Mapping) or not attributes:
            return PatternMiss(0, 1, (("", "the message has no attributes (a filter policy matches none then)"),))
        return self._pattern.explain(attributes_as_values(attributes))


def compile_filter_policy(policy: Mapping[str, Any] | str, scope: FilterPolicyScope = "MessageAttributes") -> FilterPolicy:
    """Validate an SNS filter policy (a mapping, or its JSON text) for ``scope`` with SNS's rules.

    Raises :class:`FilterPolicyError` for a policy SNS would refuse, including its limits:
    more than 5 keys, more than 150 combinations of values, nesting on message attributes.
    """
    if scope not in ("MessageAttributes", "MessageBody"):
        raise FilterPolicyError(f"FilterPolicyScope must be MessageAttributes or MessageBody, not {scope!r}")
    source: Any = policy
    if isinstance(policy, (str, bytes)):
        try:
            source = json.loads(policy)
        except ValueError:
            raise FilterPolicyError("Filter is not valid JSON") from None
    if isinstance(source, Mapping) and len(source) > MAX_POLICY_KEYS:
        raise FilterPolicyError(f"Filter policy can not have more than {MAX_POLICY_KEYS} keys")
    rules = compile_rules(source, _SNS_ATTRIBUTES if scope == "MessageAttributes" else _SNS_BODY)
    if _combinations(source) > MAX_POLICY_COMBINATIONS:
        raise FilterPolicyError("Filter policy is too complex")
    return FilterPolicy(source, scope, EventPattern(source, rules))


def _combinations(policy: Mapping[str, Any]) -> int:
    """SNS's complexity measure: values multiply across keys, weighted by nesting depth; $or adds."""

    def walk(node: Mapping[str, Any], depth: int, total: int) -> int:
        for key, value in node.items():
            if isinstance(value, Mapping):
                total = walk(value, depth + 1, total)
            elif key == "$or" and isinstance(value, (list, tuple)):
                total = sum(walk(alt, depth, total) for alt in value if isinstance(alt, Mapping))
            elif isinstance(value, (list, tuple)):
                total = total * len(value) * depth
        return total

    return walk(policy, 1, 1)


def attributes_as_values(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Message attributes → ``{name: value}`` the way SNS compares them.

    String → the string; Number → the number; String.Array → the decoded list; Binary → left
    out (SNS never compares binary attributes).
    """
    out: dict[str, Any] = {}
    for name, attr in attributes.items():
        if isinstance(attr, Mapping) and any(k in attr for k in ("Type", "DataType", "dataType")):
            kind = str(attr.get("Type") or attr.get("DataType") or attr.get("dataType") or "")
            raw = next((attr[k] for k in ("Value", "StringValue", "stringValue") if k in attr), None)
            if kind.startswith("String.Array"):
                try:
                    decoded = json.loads(raw) if isinstance(raw, str) else raw
                except ValueError:
                    decoded = raw
                out[name] = decoded
            elif kind.startswith("String"):
                out[name] = raw
            elif kind.startswith("Number"):
                out[name] = _number(raw)
            # Binary: not compared
        elif isinstance(attr, (bytes, bytearray)):
            continue
        else:
            out[name] = attr
    return out


def _number(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return Decimal(raw.strip())
        except InvalidOperation:
            return raw
    return raw


# --- Lambda event filtering -------------------------------------------------------------------------


class FilterCriteria:
    """Lambda event source mapping filters: a record passes if any filter matches it."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: Sequence[EventPattern]) -> None:
        self.patterns = tuple(patterns)

    def __repr__(self) -> str:
        return f"FilterCriteria({[p.pattern for p in self.patterns]!r})"

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether one record (as the function would receive it) passes the filters.

        No filters means every record passes.  An SQS record's ``body`` is matched as JSON
        when it holds a JSON object, and as the plain string otherwise; so a JSON pattern on
        ``body`` drops a plain-text message, and a string pattern drops a JSON one, as Lambda does.
        """
        if not self.patterns:
            return True
        view = _record_view(record)
        return any(p.matches(view) for p in self.patterns)

    def filter(self, records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The records that pass, in order."""
        return [r for r in records if self.matches(r)]


def _record_view(record: Mapping[str, Any]) -> Mapping[str, Any]:
    body = record.get("body")
    if isinstance(body, str):
        try:
            decoded = json.loads(body)
        except ValueError:
            return record
        if isinstance(decoded, Mapping):
            return {**record, "body": decoded}
    return record


def compile_filter_criteria(criteria: Any) -> FilterCriteria:
    """Validate Lambda ``FilterCriteria`` → :class:`FilterCriteria`.

    Accepts the API/SAM shape ``{"Filters": [{"Pattern": "<json>"}]}``, a list of patterns
    (mappings or JSON text), or one pattern.  Raises :class:`FilterCriteriaError`.
    """
    if isinstance(criteria, Mapping) and "Filters" in criteria:
        filters = criteria["Filters"]
        if not isinstance(filters, (list, tuple)):
            raise FilterCriteriaError("Filters must be a list", ("Filters",))
        items: list[Any] = []
        for i, f in enumerate(filters):
            if not isinstance(f, Mapping) or "Pattern" not in f:
                raise FilterCriteriaError("each filter needs a Pattern", ("Filters", i))
            items.append(f["Pattern"])
        base: tuple[str | int, ...] = ("Filters",)
    elif isinstance(criteria, (list, tuple)):
        items, base = list(criteria), ()
    else:
        items, base = [criteria], ()
    patterns = []
    for i, item in enumerate(items):
        try:
            rules = compile_rules(item, _LAMBDA)
        except FilterCriteriaError as exc:
            where: tuple[str | int, ...] = (
                base + (i, "Pattern") if base else (i,) if isinstance(criteria, (list, tuple)) else ())
            raise FilterCriteriaError(exc.message, where + exc.path) from None
        source = json.loads(item) if isinstance(item, (str, bytes)) else item
        patterns.append(EventPattern(source, rules))
    return FilterCriteria(patterns)


# --- S3 notifications -------------------------------------------------------------------------------

#: Every event type an S3 notification configuration accepts.
S3_EVENT_TYPES: tuple[str, ...] = (
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*", "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*", "s3:Replication:OperationFailedReplication", "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold", "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition", "s3:IntelligentTiering",
    "s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
)
#: The app file's words for bucket events.
S3_EVENT_ALIASES: dict[str, str] = {
    "created": "s3:ObjectCreated:*",
    "removed": "s3:ObjectRemoved:*",
    "deleted": "s3:ObjectRemoved:*",
}


class S3FilterError(FlowengineError, ValueError):
    """A bucket notification S3 would refuse: an unknown event type or a bad key filter."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message, hint)

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")


def s3_event_type(name: str) -> str:
    """An app-file alias or an S3 event type → the S3 event type (``created`` → ``s3:ObjectCreated:*``).

    The ``s3:`` prefix may be left out (``ObjectCreated:Put``).  Raises :class:`S3FilterError`
    for anything S3 does not accept, with S3's wording.
    """
    if not isinstance(name, str):
        raise S3FilterError(f"The event is not supported for notifications: {name!r}", "write created or removed")
    if name in S3_EVENT_ALIASES:
        return S3_EVENT_ALIASES[name]
    full = name if name.startswith("s3:") else "s3:" + name
    if full not in S3_EVENT_TYPES:
        lower = {t.lower(): t for t in S3_EVENT_TYPES}
        hint = (f"did you mean {lower[full.lower()]}?" if full.lower() in lower
                else "created, removed, or an S3 event type such as s3:ObjectCreated:Put")
        raise S3FilterError(f"The event is not supported for notifications: {name}", hint)
    return full


def s3_event_matches(configured: str, event_name: str) -> bool:
    """Whether an event named ``event_name`` (``ObjectCreated:Put``, as a record's ``eventName``
    spells it, or ``s3:ObjectCreated:Put``) is one a notification on ``configured`` receives."""
    want = s3_event_type(configured)
    got = event_name if event_name.startswith("s3:") else "s3:" + event_name
    if want.endswith(":*"):
        return got.startswith(want[:-1])
    return got == want


def s3_encode_key(key: str) -> str:
    """An object key as S3 notifications carry it: form-URL-encoded (``red flower.jpg`` →
    ``red+flower.jpg``, ``=`` → ``%3D``), slashes kept."""
    return quote_plus(key, safe="/*").replace("~", "%7E")


@dataclass(frozen=True)
class S3KeyFilter:
    """S3's key-name filter: the object key must start with ``prefix`` and end with ``suffix``.

    Both are literal (no wildcards).  As S3 documents, they are compared with the key in its
    URL-encoded form: a prefix containing a space is written with ``+``, other special
    characters percent-encoded.  For the common case (letters, digits, ``/ . - _``) the
    encoded and the plain key are the same.
    """

    prefix: str = ""
    suffix: str = ""

    def __post_init__(self) -> None:
        for what in ("prefix", "suffix"):
            value = getattr(self, what)
            if not isinstance(value, str):
                raise S3FilterError(f"The {what} of a key filter must be a string, not {value!r}")
            if len(value.encode("utf-8")) > 1024:
                raise S3FilterError(f"The {what} of a key filter is longer than 1024 bytes")

    def matches(self, key: str) -> bool:
        """Whether the object ``key`` (as stored, not encoded) passes the filter."""
        return self.matches_encoded(s3_encode_key(key))

    def matches_encoded(self, encoded_key: str) -> bool:
        """The same for a key already URL-encoded, as a notification record carries it."""
        return encoded_key.startswith(self.prefix) and encoded_key.endswith(self.suffix)


@dataclass(frozen=True)
class S3NotificationFilter:
    """One bucket notification's filter: which event types, which keys."""

    events: tuple[str, ...] = ("s3:ObjectCreated:*",)
    key: S3KeyFilter = S3KeyFilter()

    def __post_init__(self) -> None:
        if isinstance(self.events, str):
            object.__setattr__(self, "events", (self.events,))
        if not self.events:
            raise S3FilterError("A notification needs at least one event", "write created or removed")
        object.__setattr__(self, "events", tuple(s3_event_type(e) for e in self.events))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> S3NotificationFilter:
        """From a bucket trigger's options as written in the app file (``events``, ``prefix``, ``suffix``)."""
        events = options.get("events", ["created"])
        if isinstance(events, str):
            events = [events]
        return cls(tuple(events), S3KeyFilter(options.get("prefix") or "", options.get("suffix") or ""))

    def matches(self, event_name: str, key: str) -> bool:
        """Whether an event of type ``event_name`` on object ``key`` is delivered."""
        return any(s3_event_matches(e, event_name) for e in self.events) and self.key.matches(key)

    def matches_record(self, record: Mapping[str, Any]) -> bool:
        """The same for one record of an S3 notification (its key is URL-encoded there)."""
        try:
            name = record["eventName"]
            encoded = record["s3"]["object"]["key"]
        except (KeyError, TypeError):
            return False
        return (any(s3_event_matches(e, name) for e in self.events)
                and self.key.matches_encoded(encoded))


def s3_key_filter(prefix: Any, suffix: Any) -> Any:
    """The EventBridge content filter on ``object.key`` for a bucket trigger's prefix and suffix."""
    if prefix and suffix:
        def escape(s: str) -> str:
            return s.replace("\\", "\\\\").replace("*", "\\*")
        return {"wildcard": f"{escape(prefix)}*{escape(suffix)}"}
    if prefix:
        return {"prefix": prefix}
    if suffix:
        return {"suffix": suffix}
    return None

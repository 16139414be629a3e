"""The app's resources, emulated in process by moto, and the calls that touch them.

:class:`Emulation` starts ``moto.mock_aws`` for the runtime's duration and creates every
declared resource in moto's in-process backends, under a deterministic local name:

=============  ====================================  =========================================
kind           local name (app ``upload-pipeline``)   ``${X}`` / ``${XArn}``
=============  ====================================  =========================================
bucket         ``upload-pipeline-uploads``            name / ``arn:aws:s3:::<name>``
queue          ``upload-pipeline-jobs`` (``.fifo``)   URL / queue ARN (``RedrivePolicy`` from ``dead_letter``)
topic          ``upload-pipeline-alerts``             ARN / ARN
table          ``upload-pipeline-documents``          name / table ARN (key schema from ``key``)
event_bus      ``upload-pipeline-shop-events``        name / bus ARN
=============  ====================================  =========================================

The name is ``<app>-<resource>``, with CamelCase split by hyphens, lower-cased, and cut to
the service's length limit (63 characters for a bucket, 80 for a queue).

Handlers keep plain boto3 (no endpoint, no credentials): for the duration, the process
environment holds fake credentials and the region (:class:`ProcessEnvironment`), moto
intercepts every client created meanwhile, and a botocore hook registered for all sessions
(:func:`install_observer`, the way moto registers its own stubber) reports each successful
call that produces an event (:data:`OBSERVED`) to the runtime as an :class:`ObservedCall`.

moto's SQS reads the wall clock for visibility timeouts, delays and receive timestamps;
while an emulation runs, those reads return the runtime's clock instead (a patch of the two
time functions ``moto.sqs.models`` imported), so a message becomes visible again after the
visibility timeout of *virtual* time.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import botocore.handlers

from flowengine.dsl.durations import seconds
from flowengine.dsl.names import local_name, physical_name
from flowengine.dsl.streams import table_stream
from flowengine.engine.options import AccountInfo
from flowengine.errors import FlowengineError
from flowengine.events.recursion import Lineage, current_lineage
from flowengine.model.app import App

#: The calls that produce events: (service, operation).
OBSERVED = frozenset({
    ("s3", "PutObject"), ("s3", "CopyObject"), ("s3", "CompleteMultipartUpload"),
    ("s3", "DeleteObject"), ("s3", "DeleteObjects"),
    ("sqs", "SendMessage"), ("sqs", "SendMessageBatch"),
    ("sns", "Publish"), ("sns", "PublishBatch"),
    ("events", "PutEvents"),
    # item writes: what a table's stream records (flowengine.events.streams)
    ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("dynamodb", "DeleteItem"),
    ("dynamodb", "BatchWriteItem"), ("dynamodb", "TransactWriteItems"), ("dynamodb", "ExecuteStatement"),
    ("dynamodb", "BatchExecuteStatement"), ("dynamodb", "ExecuteTransaction"),
})

class EmulationError(FlowengineError):
    """The emulated resources could not be set up (another runtime is active, moto refused a resource)."""


@dataclass(frozen=True, slots=True)
class EmulatedResource:
    """A resource of the app as the emulation created it."""

    name: str  # the app's logical name
    kind: str
    local_name: str
    arn: str
    url: str | None = None  # queues

    @property
    def address(self) -> str:
        """What ``${Name}`` gives: a queue's URL, a topic's ARN, otherwise the name."""
        if self.kind == "queue" and self.url:
            return self.url
        if self.kind == "topic":
            return self.arn
        return self.local_name


@dataclass(frozen=True, slots=True)
class ObservedCall:
    """A successful AWS call that may produce events, as the hook saw it."""

    service: str
    operation: str
    params: Mapping[str, Any]
    response: Mapping[str, Any]
    lineage: Lineage | None
    time: float
    extra: Mapping[str, Any] = field(default_factory=dict)


# --- the process environment ---------------------------------------------------------------------


class ProcessEnvironment:
    """Sets the variables boto3 needs to reach moto, and restores every one on exit.

    Fake credentials, the region, and nothing that could send a client elsewhere: profiles,
    config and credentials files, ``AWS_ENDPOINT_URL*`` and FIPS/dual-stack switches are
    removed for the duration.
    """

    _REMOVE_PREFIXES = ("AWS_ENDPOINT_URL",)
    _REMOVE = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
               "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_CA_BUNDLE", "AWS_ROLE_ARN",
               "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
               "AWS_CONTAINER_CREDENTIALS_FULL_URI")

    def __init__(self, account: AccountInfo) -> None:
        self.values = {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": account.region, "AWS_REGION": account.region,
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true", "MOTO_ACCOUNT_ID": account.account,
        }
        self._saved: dict[str, str | None] = {}

    def apply(self) -> None:
        keys = set(self.values) | set(self._REMOVE) | {
            k for k in os.environ if k.startswith(self._REMOVE_PREFIXES)}
        self._saved = {k: os.environ.get(k) for k in keys}
        for k in keys:
            if k in self.values:
                os.environ[k] = self.values[k]
            else:
                os.environ.pop(k, None)

    def restore(self) -> None:
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved = {}


# --- the observer hook ---------------------------------------------------------------------------

_installed = False
_install_lock = threading.Lock()
_sink: Callable[[ObservedCall], None] | None = None
_now: Callable[[], float] = lambda: 0.0
_s3_info: Callable[[str, str], dict[str, Any]] | None = None


def _service(model: Any) -> str:
    return str(model.service_model.service_name)


def _stash_params(params: Any, model: Any, context: Any, **_: Any) -> None:
    if _sink is not None and (_service(model), model.name) in OBSERVED and isinstance(context, dict):
        context["flowengine_params"] = dict(params)


#: Set on a thread while it stages data that must not raise events (:meth:`Emulation.quietly`).
_quiet = threading.local()


def _after_call(http_response: Any, parsed: Any, model: Any, context: Any, **_: Any) -> None:
    sink = _sink
    if sink is None or not isinstance(context, dict) or getattr(_quiet, "on", False):
        return
    key = (_service(model), model.name)
    if key not in OBSERVED:
        return
    status = getattr(http_response, "status_code", 200)
    if status >= 300 or (isinstance(parsed, dict) and "Error" in parsed):
        return
    params = context.get("flowengine_params") or {}
    extra: dict[str, Any] = {}
    if key[0] == "s3" and key[1] in ("PutObject", "CopyObject", "CompleteMultipartUpload") and _s3_info is not None:
        extra = _s3_info(str(params.get("Bucket", "")), str(params.get("Key", "")))
    sink(ObservedCall(key[0], key[1], params, parsed if isinstance(parsed, dict) else {},
                      current_lineage.get(), _now(), extra))


def install_observer() -> None:
    """Register the observer for every botocore session created from now on (once per process).

    Like moto's own stubber, it goes into ``botocore.handlers.BUILTIN_HANDLERS`` (when this
    module is imported); it does nothing while no emulation is running.  Clients made from a
    botocore session created before that are not observed; ``boto3.client()`` is, since the
    emulation gives boto3 a fresh default session for its duration.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params", _stash_params))
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call", _after_call))
        _installed = True


# --- the emulation -------------------------------------------------------------------------------

_active_lock = threading.Lock()
_active: Emulation | None = None
_SESSIONS: dict[str, Any] = {}


class _MotoSwitch:
    """``moto.mock_aws`` for one runtime, switched on and off cheaply.

    moto's own start registers some 6,400 URL patterns with ``responses`` (its interception
    of ``requests``) every time, which is most of the cost of a short test run.  The switch
    does what ``mock_aws().start()`` does once, then keeps that registry: later starts only
    reset the backends (so nothing of one run is seen by the next), enable moto's botocore
    stubber and re-patch ``requests``; stops undo exactly that, so outside a runtime
    nothing of moto stays switched on.  When the caller has a ``mock_aws`` of their own
    running, the switch nests in it the way moto does (no fast path).
    """

    _registered = False

    def __init__(self) -> None:
        self._nested: Any = None

    def start(self) -> None:
        from moto import mock_aws
        from moto.core.base_backend import BackendDict
        from moto.core.models import MockAWS, botocore_stubber, responses_mock

        if MockAWS._nested_count > 0 or not _MotoSwitch._registered or not responses_mock.registered():
            self._nested = mock_aws()
            self._nested.start()
            _MotoSwitch._registered = MockAWS._nested_count == 1
            return
        BackendDict.reset()
        botocore_stubber.enabled = True
        responses_mock.start()

    def stop(self) -> None:
        from moto.core.models import botocore_stubber, responses_mock

        if self._nested is not None:
            from moto.core.models import MockAWS

            nested, self._nested = self._nested, None
            if MockAWS._nested_count == 1 and _MotoSwitch._registered:
                # Leave the registry in place for the next start; switch the rest off.
                MockAWS._nested_count = 0
                if MockAWS._mocks_active:
                    nested._default_session_mock.stop()
                    nested._user_config_mock.stop()
                    MockAWS._mocks_active = False
                botocore_stubber.enabled = False
                responses_mock.stop()
            else:
                nested.stop()
            return
        botocore_stubber.enabled = False
        responses_mock.stop()


def _session(region: str) -> Any:
    """The emulation's boto3 session for ``region`` (one per process, made while the fake
    credentials are in the environment, so it never holds real ones)."""
    session = _SESSIONS.get(region)
    if session is None:
        session = _SESSIONS[region] = boto3.session.Session(region_name=region)
        _share_clients(session)
    return session


def _share_clients(session: Any) -> None:
    """Make ``session.client(service)`` hand out one client per service and region.

    A handler that does ``boto3.client("s3")`` on every invocation (as many do) would
    otherwise build a client each time, some 10 ms of botocore set-up that a local run
    repeats hundreds of times.  botocore clients are thread-safe, hold no per-call state,
    and this session only ever talks to the emulation, so one shared client per service
    behaves like a fresh one.  Calls with any other option (an endpoint, a config,
    credentials) still get a client of their own.
    """
    make = session.client
    shared: dict[tuple[str, str | None], Any] = {}
    lock = threading.Lock()

    def client(service_name: str, region_name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if args or any(v is not None for v in kwargs.values()):
            return make(service_name, region_name, *args, **kwargs)
        key = (service_name, region_name)
        with lock:
            c = shared.get(key)
            if c is None:
                c = shared[key] = make(service_name, region_name)
        return c

    session.client = client


class Emulation:
    """moto's in-process backends holding the app's resources, for one runtime at a time.

    ``now`` is the runtime's clock (moto's SQS reads it); ``sink`` receives the observed calls
    (from any thread); ``seed`` seeds moto's own ids (message ids, request ids) so runs repeat.
    """

    def __init__(self, app: App, account: AccountInfo, *, now: Callable[[], float],
                 sink: Callable[[ObservedCall], None], seed: int | None = 0) -> None:
        self.app = app
        self.account = account
        self.region = account.region
        self.now = now
        self.sink = sink
        self.seed = seed
        self.resources: dict[str, EmulatedResource] = {}
        self._env = ProcessEnvironment(account)
        self._mock: Any = None
        self._patches: list[Any] = []
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._by_bucket: dict[str, str] = {}
        self._by_queue: dict[str, str] = {}
        self._by_topic: dict[str, str] = {}
        self._by_bus: dict[str, str] = {}
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        global _active, _sink, _now, _s3_info
        from moto.moto_api._internal import mock_random

        with _active_lock:
            if _active is not None:
                raise EmulationError("another app runtime is running in this process: moto's backends and the "
                                     "process environment are shared, so close it first (an AppRuntime or "
                                     "TestRuntime holds one until it is closed; the flowengine_runtime fixture, "
                                     "from its first start() to the end of the test)")
            _active = self
        try:
            install_observer()
            self._env.apply()
            self._mock = _MotoSwitch()
            self._mock.start()
            # Handlers' boto3.client() calls use the emulation's own default session, which has
            # the observer (one made earlier, e.g. inside an enclosing mock_aws, may not).  The
            # session is kept for the process: building one loads botocore's endpoint and
            # service data (hundreds of ms), and it holds nothing of a run (moto's backends,
            # reset at every start, hold the resources).
            self._session = _session(self.region)
            default_session = mock.patch("boto3.DEFAULT_SESSION", self._session)
            default_session.start()
            self._patches.append(default_session)
            if self.seed is not None:
                mock_random.seed(self.seed)
            self._patch_sqs_time()
            self._create_resources()
            _now, _s3_info = self.now, self._object_info
            _sink = self.sink
            self.started = True
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        global _active, _sink, _s3_info
        _sink, _s3_info = None, None
        for p in reversed(self._patches):
            p.stop()
        self._patches = []
        self._clients = {}
        if self._mock is not None:
            try:
                self._mock.stop()
            finally:
                self._mock = None
        self._env.restore()
        with _active_lock:
            if _active is self:
                _active = None
        self.started = False

    def _patch_sqs_time(self) -> None:
        import moto.sqs.models as sqs_models

        real_time = sqs_models.unix_time
        now = self.now

        def unix_time(dt: Any = None) -> float:
            return now() if dt is None else real_time(dt)

        def unix_time_millis(dt: Any = None) -> float:
            return unix_time(dt) * 1000.0

        for name, fn in (("unix_time", unix_time), ("unix_time_millis", unix_time_millis)):
            p = mock.patch.object(sqs_models, name, fn)
            p.start()
            self._patches.append(p)

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Calls made on this thread inside the block change the resources but raise no events
        (to stage the object an event names, as if it had been there all along)."""
        _quiet.on = True
        try:
            yield
        finally:
            _quiet.on = False

    def client(self, service: str) -> Any:
        """A boto3 client of the emulation (created once per service and region, for the
        process: moto answers it whenever an emulation runs, and only then is it used)."""
        c = self._clients.get(service)
        if c is None:  # the session shares one client per service and region (_share_clients)
            c = self._clients[service] = self._session.client(service, region_name=self.region)
        return c

    # -- resources -------------------------------------------------------------------------

    def _create_resources(self) -> None:
        pending = dict(self.app.resources)
        for name in list(pending):
            self._create(name, pending, ())

    def _create(self, name: str, pending: dict[str, Any], chain: tuple[str, ...]) -> EmulatedResource | None:
        if name in self.resources:
            return self.resources[name]
        res = pending.get(name)
        if res is None or name in chain:
            return None
        kind, props, acct, region = res.kind, res.properties, self.account.account, self.region
        part = self.account.partition
        try:
            if kind == "bucket":
                bucket = physical_name(self.app.name, name, kind, props)
                args: dict[str, Any] = {"Bucket": bucket}
                if region != "us-east-1":
                    args["CreateBucketConfiguration"] = {"LocationConstraint": region}
                if not self._direct("s3", bucket):
                    self.client("s3").create_bucket(**args)
                out = EmulatedResource(name, kind, bucket, f"arn:{part}:s3:::{bucket}")
                self._by_bucket[bucket] = name
            elif kind == "queue":
                fifo = props.get("fifo") is True
                qname = physical_name(self.app.name, name, kind, props, fifo=fifo)
                attrs = {"VisibilityTimeout": str(self.visibility_timeout(name))}
                if fifo:
                    attrs["FifoQueue"] = "true"
                dead = props.get("dead_letter")
                if isinstance(dead, dict) and isinstance(dead.get("queue"), str):
                    dlq = self._create(dead["queue"], pending, chain + (name,))
                    if dlq is not None:
                        attrs["RedrivePolicy"] = json.dumps({
                            "deadLetterTargetArn": dlq.arn, "maxReceiveCount": int(dead.get("max_receive_count", 3))})
                url = self.client("sqs").create_queue(QueueName=qname, Attributes=attrs)["QueueUrl"]
                out = EmulatedResource(name, kind, qname, f"arn:{part}:sqs:{region}:{acct}:{qname}", url)
                for k in (qname, url, out.arn):
                    self._by_queue[k] = name
            elif kind == "topic":
                tname = physical_name(self.app.name, name, kind, props)
                arn = self._direct("sns", tname) or self.client("sns").create_topic(Name=tname)["TopicArn"]
                out = EmulatedResource(name, kind, tname, arn)
                self._by_topic[arn] = name
            elif kind == "table":
                tname = physical_name(self.app.name, name, kind, props)
                key = props.get("key") if isinstance(props.get("key"), dict) else {"id": "S"}
                items = list(key.items())[:2]
                schema = [{"AttributeName": k, "KeyType": "HASH" if i == 0 else "RANGE"} for i, (k, _) in enumerate(items)]
                attributes = [{"AttributeName": k, "AttributeType": str(t)} for k, t in items]
                # A table with a stream (flowengine.dsl.streams) records both images whatever its
                # view type: the stream poller tells an unchanged item from a change by them, and
                # gives the function only what the view type shows.
                streams = ({"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
                           if table_stream(self.app, name) else None)
                if not self._direct("dynamodb", tname, schema=schema, attributes=attributes, streams=streams):
                    self.client("dynamodb").create_table(
                        TableName=tname, BillingMode="PAY_PER_REQUEST", KeySchema=schema,
                        AttributeDefinitions=attributes, **({"StreamSpecification": streams} if streams else {}))
                if streams:
                    self._stream_label(tname)
                out = EmulatedResource(name, kind, tname, f"arn:{part}:dynamodb:{region}:{acct}:table/{tname}")
            elif kind == "event_bus":
                bname = physical_name(self.app.name, name, kind, props)
                arn = self._direct("events", bname) or self.client("events").create_event_bus(Name=bname)["EventBusArn"]
                out = EmulatedResource(name, kind, bname, arn)
                self._by_bus[bname] = name
                self._by_bus[arn] = name
            else:
                return None
        except Exception as exc:
            if isinstance(exc, FlowengineError):
                raise
            raise EmulationError(f"cannot emulate {kind} '{name}': {exc}") from exc
        self.resources[name] = out
        return out

    def _direct(self, service: str, name: str, **spec: Any) -> Any:
        """Create a resource straight in moto's backend (a bucket, topic, table or bus), as
        its API call would, without the request's serialisation round trip: a few
        milliseconds of every test run.  The resource's ARN (or True); None when moto's
        internals are not what this expects, and the caller makes the API call instead."""
        acct, region = self.account.account, self.region
        try:
            if service == "s3":
                from moto.s3.models import s3_backends

                s3 = s3_backends[acct][self.account.partition]
                if name in s3.buckets:
                    return None  # let the API say what S3 says
                s3.create_bucket(name, region)
                return True
            if service == "sns":
                from moto.sns.models import sns_backends

                return str(sns_backends[acct][region].create_topic(name).arn)
            if service == "dynamodb":
                from moto.dynamodb.models import dynamodb_backends

                ddb = dynamodb_backends[acct][region]
                if name in ddb.tables:
                    return None
                ddb.create_table(name, schema=spec["schema"], throughput=None, attr=spec["attributes"],
                                     global_indexes=None, indexes=None, streams=spec.get("streams"),
                                     billing_mode="PAY_PER_REQUEST",
                                     sse_specification=None, tags=[], deletion_protection_enabled=False,
                                     warm_throughput=None)
                return True
            if service == "events":
                from moto.events.models import events_backends

                events = events_backends[acct][region]
                if name in events.event_buses:
                    return None
                return str(events.create_event_bus(name).arn)
        except (ImportError, AttributeError, TypeError, KeyError):
            return None
        return None

    def _stream_label(self, table: str) -> None:
        """moto labels a stream with the wall clock; the runtime's clock keeps runs repeatable."""
        try:
            from moto.dynamodb.models import dynamodb_backends

            t = dynamodb_backends[self.account.account][self.region].get_table(table)
            t.latest_stream_label = _dt.datetime.fromtimestamp(self.now(), _dt.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.%f")[:-3]
        except Exception:  # noqa: BLE001 - moto's internals moved: keep moto's label
            pass

    def visibility_timeout(self, queue: str) -> int:
        """The queue's visibility timeout as compiled: as written, else six times its
        consumers' timeout (at least 30 s), else 30 s."""
        props = self.app.resources[queue].properties
        vt = seconds(props.get("visibility_timeout")) if "visibility_timeout" in props else None
        if isinstance(vt, (int, float)) and not isinstance(vt, bool):
            return int(vt)
        need = [self.app.functions[t.target].timeout_seconds for t in self.app.triggers
                if t.source == "queue" and t.resource == queue and t.target_kind == "function"
                and t.target in self.app.functions]
        return max(30, min(6 * max(need), 43200)) if need else 30

    def _object_info(self, bucket: str, key: str) -> dict[str, Any]:
        try:
            from moto.s3.models import s3_backends

            obj = s3_backends[self.account.account][self.account.partition].get_object(bucket, key)
        except Exception:  # noqa: BLE001 - the hook must never break the handler's call
            return {}
        if obj is None:
            return {}
        return {"size": int(obj.size), "etag": str(obj.etag).strip('"')}

    def queue_backend(self, queue: str) -> Any:
        """moto's queue object (its messages carry their visibility times)."""
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account.account][self.region].get_queue(self.resources[queue].local_name)

    # -- names -----------------------------------------------------------------------------

    def substitutions(self) -> dict[str, str]:
        """``${X}`` / ``${XArn}`` values of every resource, function and flow of the app."""
        values: dict[str, str] = {}
        for name, r in self.resources.items():
            values[name] = r.address
            values[f"{name}Arn"] = r.arn
        for name in self.app.functions:
            values.setdefault(name, name)
            values.setdefault(f"{name}Arn", self.account.lambda_arn(name))
        for name in self.app.flows:
            values.setdefault(name, name)
            values.setdefault(f"{name}Arn", self.account.state_machine_arn(name))
        return values

    def bucket_resource(self, bucket: str) -> str | None:
        return self._by_bucket.get(bucket)

    def queue_resource(self, url_name_or_arn: str) -> str | None:
        return self._by_queue.get(url_name_or_arn)

    def topic_resource(self, arn: str) -> str | None:
        return self._by_topic.get(arn)

    def bus_resource(self, name_or_arn: str | None) -> tuple[bool, str | None]:
        """(known, resource) for a PutEvents ``EventBusName``: the default bus is (True, None)."""
        if not name_or_arn or name_or_arn == "default" or name_or_arn.endswith(":event-bus/default"):
            return True, None
        if name_or_arn in self._by_bus:
            return True, self._by_bus[name_or_arn]
        return False, None


install_observer()  # at import: sessions created from now on carry the observer

__all__ = [
    "OBSERVED", "EmulatedResource", "Emulation", "EmulationError", "ObservedCall",
    "ProcessEnvironment", "install_observer", "local_name",
]

"""What ``flowengine up``, ``flowengine send`` and ``flowengine run --event`` do, for the CLI to call.

Each returns the command's exit code (the CLI's convention: 0 success, 1 problems, 2 usage
errors) and writes what happened to ``stream``:

* :func:`up_command` runs an app as a long-lived local runtime, on the real clock by
  default, printing a live log of events, executions and invocations until Ctrl-C or
  ``duration``.
* :func:`send_command` injects one event into a **fresh** runtime (``flowengine up`` runs in
  another process, whose emulated resources this one cannot reach), runs until idle, and
  prints what happened.
* :func:`run_event` starts a flow through the trigger that matches an event and returns
  the execution's result (``flowengine run app.yaml --event FILE``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from flowengine.dsl import files
from flowengine.dsl.durations import parse_seconds
from flowengine.engine.result import ExecutionResult
from flowengine.errors import FlowengineError, LoadError, ValidationError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def read_event(event: Any) -> Any:
    """An event given as a value, JSON text, a file path, or ``-`` (standard input)."""
    if not isinstance(event, (str, bytes, os.PathLike)):
        return event
    text: str | bytes
    where = "standard input" if event == "-" else os.fsdecode(event)
    try:
        if event == "-":
            text = files.decode_text(files.read_stream(sys.stdin), where)
        elif isinstance(event, os.PathLike) or (isinstance(event, str) and os.path.lexists(event)):
            text = files.read_text(event)  # regular files only (not /dev/zero or a FIFO), the bytes read capped
        elif isinstance(event, str) and _looks_like_a_path(event):
            raise FlowengineError(f"the event file {event} does not exist (give a JSON file, JSON text, or - "
                                  "for standard input)")
        else:
            text = event
    except files.FileProblem as exc:
        if exc.code == "FE102":
            raise FlowengineError(f"the event in {where} is not UTF-8 text") from None
        raise FlowengineError(f"cannot read the event from {where}: {exc.problem}") from None
    try:
        return files.loads(text)  # strict: no NaN/Infinity, huge integers or lone surrogates
    except RecursionError:
        raise FlowengineError("the event is nested too deeply to parse") from None
    except ValueError as exc:
        raise FlowengineError(f"the event is neither a JSON document nor a readable file: {exc}") from None


def _looks_like_a_path(text: str) -> bool:
    """Text that cannot be a JSON document but reads as a file name (``missing.json``, ``./e``)."""
    stripped = text.strip()
    if not stripped or stripped[0] in '{["-0123456789' or stripped in ("true", "false", "null"):
        return False
    return "\n" not in stripped and (os.sep in stripped or "/" in stripped or "." in stripped)


def s3_object_of(event: Any) -> tuple[str, str]:
    """The bucket and key an S3 event (notification records, or EventBridge's ``aws.s3``) names."""
    from urllib.parse import unquote_plus

    if isinstance(event, Mapping):
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], Mapping) and "s3" in records[0]:
            s3 = records[0]["s3"]
            return str(s3["bucket"]["name"]), unquote_plus(str(s3["object"]["key"]))
        detail = event.get("detail")
        if event.get("source") == "aws.s3" and isinstance(detail, Mapping):
            return str(detail["bucket"]["name"]), str(detail["object"]["key"])
    raise FlowengineError("--object goes with an S3 event (s3-put, s3-delete or s3-eventbridge): "
                          "this event names no bucket and key")


def read_object_file(object_file: str | os.PathLike[str]) -> bytes:
    """The bytes of an ``--object`` file (a regular file of at most
    :data:`~flowengine.dsl.files.MAX_OBJECT_BYTES`), or a one-line error."""
    try:
        return files.read_bytes(object_file, limit=files.MAX_OBJECT_BYTES)
    except files.FileProblem as exc:
        raise FlowengineError(f"--object {os.fsdecode(object_file)}: {exc.problem}") from None


#: The ``--object`` form that names where an object goes: ``s3://BUCKET/KEY=FILE``.
S3_OBJECT_PREFIX = "s3://"


def parse_object_option(value: str) -> tuple[str, str, str]:
    """``s3://BUCKET/KEY=FILE`` → (bucket, key, file).  The last ``=`` separates the file, so
    a key may hold ``=`` (``dt=2024-01-01/a.csv``).  ``s3://BUCKET/`` alone → (bucket, "", ""):
    an empty bucket (where a ResultWriter writes).  A malformed value is a one-line error."""
    rest = value[len(S3_OBJECT_PREFIX):] if value.startswith(S3_OBJECT_PREFIX) else ""
    if rest and "=" not in rest and "/" not in rest.rstrip("/"):
        return rest.rstrip("/"), "", ""
    target, eq, path = rest.rpartition("=")
    bucket, slash, key = target.partition("/")
    if not value.startswith(S3_OBJECT_PREFIX) or not eq or not path or not bucket or not slash or not key:
        raise FlowengineError(f"--object {value}: write s3://BUCKET/KEY=FILE (the object's bucket and key in the "
                              "emulated S3, then the local file that holds its content), or s3://BUCKET/ for an "
                              "empty bucket")
    return bucket, key, path


def stage_s3_object(runtime: Any, bucket: str, key: str, object_file: str | os.PathLike[str]) -> None:
    """Store ``object_file`` at ``s3://bucket/key`` in the runtime's emulated S3, raising no event.

    ``bucket`` is one of the app's buckets (logical or local name), or else a bucket of that
    very name, created when missing: a plain ASL definition names its buckets itself (an
    ItemReader's ``Bucket``), and the object must be where the definition looks.  An empty
    ``key`` only makes sure the bucket exists."""
    from flowengine.events.source import EventError

    body = read_object_file(object_file) if key else b""
    if key:
        try:
            runtime.stage_object(bucket, key, body)
            return
        except EventError:
            pass  # not an app bucket: the definition's own name
    s3 = runtime.client("s3")
    with runtime.emulation.quietly():
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception:  # noqa: BLE001 - botocore's ClientError (404): create it
            region = s3.meta.region_name
            config = {} if region in (None, "us-east-1") else {
                "CreateBucketConfiguration": {"LocationConstraint": region}}
            try:
                s3.create_bucket(Bucket=bucket, **config)
            except Exception as exc:  # noqa: BLE001 - an invalid bucket name, as S3 words it
                raise FlowengineError(f"--object s3://{bucket}/{key}: the emulated S3 refused the bucket: {exc}") from None
        if key:
            s3.put_object(Bucket=bucket, Key=key, Body=body)


def _as_sent(event: Any) -> Any:
    """An event read by :func:`read_event`, for ``AppRuntime.send``: that reads a string as
    JSON text, so an event that is itself a JSON string goes as JSON text, parsed once."""
    return json.dumps(event) if isinstance(event, str) else event


def stage_event_object(runtime: Any, event: Any, object_file: str | os.PathLike[str]) -> None:
    """Store ``object_file`` as the object ``event`` names, before the event is sent."""
    bucket, key = s3_object_of(event)
    runtime.stage_object(bucket, key, read_object_file(object_file))


def _duration(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        return parse_seconds(value)
    return float(value)


def _problem(stream: TextIO | None, command: str, exc: BaseException) -> int:
    """Report a problem on stderr (or the given stream), prefixed like every CLI error."""
    out = stream or sys.stderr
    if isinstance(exc, (ValidationError, LoadError)):
        out.writelines(d.format() + "\n" for d in exc.diagnostics)
        return EXIT_PROBLEMS if isinstance(exc, ValidationError) else EXIT_USAGE
    out.write(f"flowengine {command}: {exc}\n")
    return EXIT_USAGE


def describe(runtime: Any) -> list[str]:
    """The banner of ``flowengine up``: the emulated resources and the triggers."""
    app = runtime.app
    lines = [(f"app {app.name}: {len(app.flows)} flow(s), {len(app.functions)} function(s), "
              f"{len(app.resources)} resource(s), {len(app.triggers)} trigger(s)")]
    for name, r in runtime.resources.items():
        where = r.url if r.kind == "queue" else r.arn if r.kind == "topic" else r.local_name
        lines.append(f"  {r.kind:<9} {name:<20} {where}")
    for t in app.triggers:
        if t.source in ("bucket", "queue", "topic", "table"):
            source = f"{t.source} {t.resource}" + (" stream" if t.source == "table" else "")
        elif t.source == "schedule":
            source = f"schedule {t.options.get('schedule')}"
        elif t.source == "event_pattern":
            source = f"rule on bus {t.resource or 'default'}"
        else:
            source = t.source
        lines.append(f"  trigger   {t.name:<20} {source} → {t.target_kind} {t.target}")
    return lines


def up_command(app_path: str, *, real_time: bool = True, stream: TextIO | None = None,
               duration: _dt.timedelta | float | str | None = None, seed: int | None = None,
               on_start: Callable[[Any], Any] | None = None) -> int:
    """Run the app as a local runtime with a live log, until Ctrl-C or ``duration``.

    ``on_start(runtime)`` runs once the runtime serves (on the real clock: once its listener
    for ``send`` listens, so that the listener's token exists; ``up --console`` starts its web
    server there); a callable it returns runs when serving ends, before the runtime closes.

    On the real clock (default) schedules fire at their wall-clock times and waits really
    wait.  With ``real_time=False`` the virtual clock runs ``duration`` (default one day) of
    the app's life at once: a quick look at what the schedules do.
    """
    from flowengine.engine.clock import RealClock
    from flowengine.runtime.app import AppRuntime

    out = stream or sys.stdout
    seconds = _duration(duration)
    clock = RealClock() if real_time else None
    try:
        runtime = AppRuntime(app_path, clock=clock, seed=seed)
        runtime.log.subscribe(lambda record: (out.write(record.format() + "\n"), out.flush()))
        with runtime:
            for line in describe(runtime):
                out.write(line + "\n")
            # the duration as the user wrote it (7d, not 604800s)
            shown = duration.strip() if isinstance(duration, str) else f"{seconds:g}s" if seconds is not None else "1d"
            if real_time:
                out.write("running on the real clock; Ctrl-C stops\n" if seconds is None else
                          f"running for {shown} on the real clock (Ctrl-C stops earlier)\n")
            else:
                out.write(f"running {shown} of virtual time\n")
            out.flush()
            stop: Any = None

            def started() -> None:
                nonlocal stop
                if on_start is not None:
                    stop = on_start(runtime)

            def listening(port: int) -> None:
                out.write(f"listening on 127.0.0.1:{port} for `flowengine send {app_path} EVENT`\n")
                out.flush()
                started()  # the listener's token exists now: the console uses it

            try:
                if real_time:
                    runtime.serve(seconds, listen_for=app_path, on_listen=listening)
                else:
                    started()
                    runtime.serve(seconds if seconds is not None else 86400.0)
            except KeyboardInterrupt:
                out.write("stopped\n")
            finally:
                if callable(stop):
                    stop()
            out.write(_summary(runtime) + "\n")
    except (FlowengineError, OSError) as exc:
        return _problem(stream, "up", exc)
    finally:
        if clock is not None:
            clock.close()
    return EXIT_OK


def send_command(app_path: str, event_json_or_path: Any, *, advance: _dt.timedelta | float | str | None = None,
                 stream: TextIO | None = None, bus: str | None = None, trigger: str | None = None,
                 seed: int | None = 0, object_file: str | None = None, fresh: bool = False) -> int:
    """Inject an event into the running ``flowengine up`` of the same app file, if there is
    one (unless ``fresh`` or ``advance``); else into a fresh runtime of the app, run until
    idle (then ``advance`` more virtual time, if given), and print what happened.

    Exit code: 0 when the event reached a trigger and everything it started succeeded; 1 when
    something failed (an execution not SUCCEEDED, an invocation that failed for good, a
    recursive loop stopped, work left waiting); 2 when the event is unreadable, matches no
    trigger, or names a resource the app does not have.  ``object_file``: stored first as the
    object an S3 event names, so that handlers can read it.
    """
    from flowengine.runtime.app import AppRuntime

    out = stream or sys.stdout
    try:
        event = read_event(event_json_or_path)
        if not fresh and advance is None:
            from flowengine.runtime import inbox

            running = inbox.find_running(app_path)
            if running is not None:
                return _send_to_running(out, stream or sys.stderr, running, inbox.message(event, bus=bus, trigger=trigger,
                                                                    object_file=object_file))
        runtime = AppRuntime(app_path, seed=seed)
        runtime.log.subscribe(lambda record: out.write(record.format() + "\n"))
        with runtime:
            if object_file is not None:
                stage_event_object(runtime, event, object_file)
            runtime.send(_as_sent(event), bus=bus, trigger=trigger)
            idle = runtime.run_until_idle()
            extra = _duration(advance)
            if extra:
                runtime.advance(extra)
                idle = runtime.run_until_idle()
            out.write(_summary(runtime) + "\n")
            if not runtime.log.of("route") and not runtime.log.of("sqs") and not runtime.recursion_stops:
                out.write(f"no trigger matched the event{_bus_hint(runtime, event, bus)}{_closest(runtime, event, bus)}\n")
                return EXIT_USAGE
            return EXIT_OK if idle and not _failures(runtime) else EXIT_PROBLEMS
    except (FlowengineError, OSError) as exc:
        return _problem(stream, "send", exc)


def _send_to_running(out: TextIO, err: TextIO, running: dict[str, Any], message: dict[str, Any]) -> int:
    from flowengine.runtime import inbox

    answer = inbox.deliver(running, message)
    if not answer.get("ok"):
        err.write(f"flowengine send: the running `flowengine up` (pid {running['pid']}) refused the event: "
                  f"{answer.get('error')}\n")
        return EXIT_USAGE
    routes = answer.get("routes") or []
    where = ", ".join(f"{r['target_kind']} {r['target']} (trigger {r['trigger']})" for r in routes)
    out.write(f"sent to the running `flowengine up` (pid {running['pid']})"
              + (f": delivered to {where}" if where else "; its log shows what it did") + "\n")
    return EXIT_OK


def run_event(app_path: Any, event: Any, *, flow: str | None = None, bus: str | None = None,
              trigger: str | None = None, object_file: str | os.PathLike[str] | None = None,
              objects: tuple[tuple[str, str, str], ...] = (), **runtime_options: Any) -> ExecutionResult:
    """Start a flow of the app through the trigger that matches ``event`` (a value, JSON text
    or a file path) and run until idle; the result of the execution it started (of ``flow``,
    when given).  ``runtime_options`` go to :class:`~flowengine.runtime.app.AppRuntime`
    (``clock``, ``seed``, ``listeners``, ``handlers`` ...).  ``objects``: (bucket, key, file)
    staged in the emulated S3 first (:func:`stage_s3_object`).  Raises
    :class:`~flowengine.runtime.app.EventError` when the event starts no flow.
    """
    from flowengine.runtime.app import AppRuntime, EventError

    value = read_event(event)
    with AppRuntime(app_path, **runtime_options) as runtime:
        for bucket, key, path in objects:
            stage_s3_object(runtime, bucket, key, path)
        if object_file is not None:
            stage_event_object(runtime, value, object_file)
        runtime.send(_as_sent(value), bus=bus, trigger=trigger)
        runtime.run_until_idle()
        started = runtime.executions(flow)
        if not started:
            routes = [f"{r.data.get('target_kind')} {r.data.get('target')}" for r in runtime.log.of("route")]
            invoked = sorted({i.function for i in runtime.invocations})
            if routes or invoked:
                reached = routes or [f"function {f}" for f in invoked]
                where = (f"it went to {', '.join(dict.fromkeys(reached))}, not to a flow "
                         "(`flowengine send` shows what an event does to functions)")
            else:
                where = f"no trigger matched it{_bus_hint(runtime, value, bus)}{_closest(runtime, value, bus)}"
            raise EventError(f"the event started no {'execution of ' + flow if flow else 'flow'}: {where}")
        return started[0]


def _closest(runtime: Any, event: Any, bus: str | None) -> str:
    """The triggers that came closest to an event none took, and why each refused it."""
    from flowengine.events.routing import describe_refusals, explain_refusals

    lines = describe_refusals(explain_refusals(runtime.router, event, bus=bus))
    return f"; the closest:{lines}" if lines else ""


def _bus_hint(runtime: Any, event: Any, bus: str | None) -> str:
    """For an EventBridge event sent to a bus with no matching rule: the buses that have rules."""
    if not isinstance(event, Mapping) or "detail-type" not in event:
        return ""
    buses = sorted({t.resource for t in runtime.app.triggers if t.source == "event_pattern" and t.resource != bus},
                   key=lambda b: b or "")
    if not buses:
        return ""
    names = ", ".join(b or "the default bus" for b in buses)
    flag = next((b for b in buses if b), None)
    return (f" on {'bus ' + bus if bus else 'the default bus'} (the app's event_pattern triggers listen on {names}"
            + (f"; send it there with --bus {flag})" if flag else ")"))


def _failures(runtime: Any) -> list[str]:
    problems = [f"{r.state_machine_arn.rsplit(':', 1)[-1]} {r.name} {r.status}"
                for r in runtime.executions() if r.status != "SUCCEEDED"]
    problems += [r.message for r in runtime.log.of("drop")]
    problems += [s.message for s in runtime.recursion_stops]
    return problems


def _summary(runtime: Any) -> str:
    executions = runtime.executions()
    by_status: dict[str, int] = {}
    for r in executions:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    invocations: Mapping[str, int] = {}
    counts: dict[str, int] = {}
    for record in runtime.log.of("invoke"):
        counts[record.data.get("outcome", "ok")] = counts.get(record.data.get("outcome", "ok"), 0) + 1
    invocations = counts
    parts = [f"{len(executions)} execution(s)" + (
        " (" + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) + ")" if by_status else "")]
    parts.append(f"{sum(invocations.values())} invocation(s)" + (
        " (" + ", ".join(f"{n} {s}" for s, n in sorted(invocations.items())) + ")" if invocations else ""))
    if runtime.recursion_stops:
        parts.append(f"{len(runtime.recursion_stops)} recursive loop(s) stopped")
    if not runtime.idle:
        parts.append(f"{runtime.busy} thing(s) still in flight")
    return "summary: " + "; ".join(parts) + f" (clock at {runtime.now.isoformat()})"


__all__ = ["describe", "parse_object_option", "read_event", "run_event", "s3_object_of", "send_command",
           "stage_event_object", "stage_s3_object", "up_command"]

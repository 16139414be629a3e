"""``flowengine validate``: every problem of an app file or ASL definition at once, located.

Pure functions from a loaded document to a list of
:class:`~flowengine.model.diagnostics.Diagnostic`, sorted by file, line and column.  Each
concern is one module:

* :mod:`.structure`: ASL fields, their types, required and mutually exclusive fields (FE2xx)
* :mod:`.choice`: Choice rules, operators and their values (FE22x)
* :mod:`.graph`: StartAt/Next/Default/Catch targets, reachability, terminals, loops (FE3xx)
* :mod:`.expressions`: JSONPath, reference paths, intrinsics, JSONata (FE4xx)
* :mod:`.retry`: Retry/Catch, timeouts and ranges (FE5xx)
* :mod:`.app`: app-file sections, cross-references, triggers, event loops (FE6xx)
* :mod:`.handlers`: with ``check_handlers=True``, handler modules and functions (FE62x)

Loading problems (FE1xx) are raised by :mod:`flowengine.dsl.source` as ``LoadError``;
:func:`validate_path` returns them as diagnostics.  docs/diagnostics.md lists every code.
"""

from __future__ import annotations

from typing import Any

from flowengine.dsl.app import LoadedApp, load
from flowengine.dsl.asl import build_state_machine
from flowengine.dsl.source import source_from_value
from flowengine.errors import LoadError
from flowengine.model.asl import StateMachine
from flowengine.model.diagnostics import Diagnostic, Span
from flowengine.validate import app as _app
from flowengine.validate import choice, expressions, graph, handlers, retry, structure
from flowengine.validate._common import Reporter, SourceLike, json_type

__all__ = ["validate_app", "validate_definition", "validate_machine", "validate_path"]


def validate_app(loaded: LoadedApp, *, check_handlers: bool = False) -> list[Diagnostic]:
    """Every problem of a loaded app file (or plain ASL file), sorted by file/line/col.

    ``check_handlers`` also locates each function's handler under the app's code paths
    (without importing it: see :mod:`.handlers`).
    """
    out: list[Diagnostic] = list(loaded.load_diagnostics)
    app_file = not loaded.app.plain_asl
    for name, flow in loaded.app.flows.items():
        if name in loaded.unloaded_flows:  # its file's own problems are already reported
            continue
        view = loaded.flow_sources.get(name, loaded.source)
        _machine(flow.definition, view, out, app_file=app_file)
    _app.check(loaded, out)
    if check_handlers:
        handlers.check(loaded, out)
    return _finish(out)


def validate_path(path: str, *, check_handlers: bool = False) -> list[Diagnostic]:
    """Load and validate a file; a file that cannot be loaded gives its loading diagnostics."""
    try:
        loaded = load(path)
    except LoadError as exc:
        return _finish(list(exc.diagnostics))
    except RecursionError:
        return [Diagnostic("FE106", "nesting is too deep", Span(path))]
    return validate_app(loaded, check_handlers=check_handlers)


def validate_definition(definition: Any, name: str = "<dict>") -> list[Diagnostic]:
    """Every problem of a plain ASL definition given as a dict (no positions: ``name:1:1``)."""
    if not isinstance(definition, dict):
        return [Diagnostic("FE109", f"the definition is {json_type(definition)}, not an object", Span(name),
                           hint="an ASL definition is an object with StartAt and States")]
    src = source_from_value(definition, name)
    try:
        sm = build_state_machine(definition, src)
    except RecursionError:
        return [Diagnostic("FE106", "nesting is too deep", Span(name))]
    out: list[Diagnostic] = []
    _machine(sm, src, out, app_file=False)
    return _finish(out)


def validate_machine(sm: StateMachine, source: SourceLike, *, app_file: bool = False) -> list[Diagnostic]:
    """The ASL checks alone, on a built state machine and the source it came from."""
    out: list[Diagnostic] = []
    _machine(sm, source, out, app_file=app_file)
    return _finish(out)


def _machine(sm: StateMachine, source: SourceLike, out: list[Diagnostic], *, app_file: bool) -> None:
    rep = Reporter(source, out, app_file=app_file)
    for module in (structure, graph, choice, expressions, retry):
        module.check(sm, rep)


def _finish(out: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for d in out:
        key = (d.code, d.span, d.message, d.state_path)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    unique.sort(key=lambda d: (d.span.file, d.span.line, d.span.col, d.code))
    return unique


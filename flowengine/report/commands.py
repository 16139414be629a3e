"""The CLI's report commands: ``flowengine report RUN.json`` and ``flowengine run --report FILE``.

``report`` never overwrites an existing file without ``--force``.  ``run --report`` may
replace an earlier report (a file that flowengine's report writer wrote, known by its
``generator`` tag), so that running again refreshes it, and leaves every other file alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

from flowengine.dsl import files
from flowengine.errors import FlowengineError

__all__ = ["check_run_report_target", "is_report", "report_command", "write_run_report"]

#: A saved run bigger than this is refused (a run --json of 100,000 events is ~60 MB).
MAX_RUN_BYTES = 256 * 1024 * 1024
_TAG = b'<meta name="generator" content="flowengine report">'


def is_report(path: str) -> bool:
    """True when ``path`` is a file that flowengine's report writer wrote."""
    try:
        with open(path, "rb") as fh:
            return _TAG in fh.read(2048)
    except OSError:
        return False


def check_run_report_target(path: str) -> str | None:
    """The problem with writing ``run --report`` to ``path``, or None."""
    if os.path.isdir(path):
        return f"--report {path}: is a directory"
    if os.path.exists(path) and not is_report(path):
        return f"--report {path}: the file exists and is not a flowengine report; choose another name"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"--report {path}: no such directory {parent}"
    return None


def write_run_report(result: Any, path: str, *, source: Any = None, flow: str | None = None,
                     wall_seconds: float | None = None, stderr: Any = None) -> bool:
    """Write ``run --report``'s file; say so (or why not) on stderr.  True when written."""
    from flowengine.report.html import write_report

    stderr = stderr or sys.stderr
    try:
        write_report(result, path, source=source, flow=flow, wall_seconds=wall_seconds)
    except FlowengineError as exc:
        print(f"flowengine run: {exc}", file=stderr)
        return False
    print(f"flowengine run: wrote the report to {path}", file=stderr)
    return True


def report_command(run_file: str, out: str | None, force: bool, app: str | None = None, flow: str | None = None,
                   *, stderr: Any = None) -> int:
    """``flowengine report RUN.json [--app APP [--flow NAME]] [--out FILE] [--force]``; the exit code.

    ``RUN.json`` is what ``flowengine run --json`` printed (or a GetExecutionHistory
    response).  ``--app`` draws the flow from its definition, every state included; without
    it the graph shows the states the history names.  ``out`` defaults to ``RUN.html``.
    Exit 0 when written; 2 for an unreadable run file or app, an unknown flow, or an
    existing ``out`` without ``force``.
    """
    stderr = stderr or sys.stderr
    say: Callable[[str], None] = lambda text: print(f"flowengine report: {text}", file=stderr)
    if out is None:
        out = os.path.splitext(run_file)[0] + ".html"
    if os.path.abspath(out) == os.path.abspath(run_file):
        say(f"--out {out} is the run file itself")
        return 2
    if os.path.exists(out) and not force:
        say(f"{out} exists; use --force to overwrite it")
        return 2
    if flow is not None and app is None:
        say("--flow goes with --app")
        return 2
    if not os.path.exists(run_file):
        say(f"cannot read {run_file}: no such file")
        return 2
    try:  # the project's one bounded reader (regular files only), and strict JSON
        value = files.loads(files.read_text(run_file, limit=MAX_RUN_BYTES))
    except files.FileProblem as exc:
        say(f"cannot read {run_file}: {exc.problem}")
        return 2
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        say(f"{run_file}: not JSON ({exc})")
        return 2
    events = value.get("history", value.get("events")) if isinstance(value, dict) else None
    if not isinstance(events, list) or not all(isinstance(ev, dict) for ev in events):
        say(f"{run_file}: expected the JSON of `flowengine run --json` (a \"history\" list) or a "
            "GetExecutionHistory response (\"events\")")
        return 2
    source: Any = None
    if app is not None:
        from flowengine.report.graph import load_flow

        found = load_flow(app, flow, say, stderr)
        if found is None:
            return 2
        source = found[0]
    from flowengine.report.html import write_report

    try:
        write_report(value, out, source=source, flow=flow, force=force)
    except FlowengineError as exc:
        say(str(exc))
        return 2
    say(f"wrote {out}")
    return 0

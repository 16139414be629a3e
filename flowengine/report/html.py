"""An execution report: one self-contained HTML file that shows what a run did.

Choose it when a run failed, or to see where the time went::

    result.report("run.html")                                    # from Python
    flowengine run app.yaml --input @in.json --report run.html   # from the CLI
    flowengine report run.json --app app.yaml --out run.html     # from a saved `run --json`

The page holds the flow's graph (laid out in Python, inline SVG: :mod:`flowengine.report.layout`)
with each state coloured by its outcome, the details of the selected state (input, output,
every attempt with its error, cause and backoff, its history events), a timeline of virtual
time, and the whole history as a table filtered by state and event type.  Everything is
inline: the page opens from disk with no network.  Its script and stylesheet are hand-written
(``flowengine/report/static``), about 19 kB together.

The flow is drawn from its definition; a report of a saved run without the app draws the
states the history names, with the transitions it shows (states the run did not reach are
then unknown).
"""

from __future__ import annotations

import html
import json
import os
from functools import lru_cache
from importlib import resources
from typing import Any

from flowengine.errors import FlowengineError
from flowengine.model.asl import StateMachine
from flowengine.report.graph import _Drawing, _machine
from flowengine.report.layout import SVG_STYLE, layout, svg
from flowengine.report.model import run_data

__all__ = ["render", "write_report"]


@lru_cache(maxsize=None)
def _static(name: str) -> str:
    return resources.files("flowengine.report").joinpath("static", name).read_text(encoding="utf-8")


def _observed_machine(data_attempts: list[dict[str, Any]]) -> StateMachine:
    """A stand-in definition when only the history is known: the states it names, each
    pointing at the states it was seen to go to (the first one of them)."""
    from flowengine.model.asl import State

    order: list[str] = []
    types: dict[str, str] = {}
    for a in data_attempts:
        if a["state"] not in types:
            order.append(a["state"])
            types[a["state"]] = a["type"] or "Task"
    nxt: dict[str, str] = {}
    last: str | None = None
    for a in data_attempts:
        if a["number"] == 0 and a["mapIndex"] is None:
            if last is not None and last != a["state"]:
                nxt.setdefault(last, a["state"])
            last = a["state"]
    states: dict[str, State] = {}
    for name in order:
        states[name] = State(name=name, type=types[name], next=nxt.get(name), end=name not in nxt)
    return StateMachine(start_at=order[0] if order else "", states=states)


def render(result: Any, *, source: Any = None, flow: str | None = None, wall_seconds: float | None = None,
           title: str | None = None) -> str:
    """The report of ``result`` as HTML text.

    ``result`` is an :class:`~flowengine.engine.result.ExecutionResult` or a saved run's JSON
    (what ``flowengine run --json`` prints, or a GetExecutionHistory response).  ``source``
    (an app path, a loaded app, a ``StateMachine``) and ``flow`` give the definition to draw;
    without them a result's trace supplies it when it has one, else the history's states are
    drawn.
    """
    machine: StateMachine | None = None
    name = title or flow or ""
    if not isinstance(result, dict):  # what ran, as the trace saw it
        machine = getattr(getattr(result, "trace", None), "machine", None)
        if machine is not None and not name:
            name = str(getattr(result, "state_machine_arn", "")).rpartition(":")[2] or "flow"
    if machine is None and source is not None:
        name, machine = _machine(source, flow)
    pre = run_data(result, title=name)
    if machine is None:
        machine = _observed_machine(pre["attempts"])
        name = name or "flow (as the history shows it)"
    drawing = _Drawing(name, machine)
    drawing.overlay([a["state"] for a in pre["attempts"] if a["number"] == 0])
    data = run_data(result, title=name, drawing=drawing, wall_seconds=wall_seconds)
    classes = {nid: "outcome-" + st["outcome"] for nid, st in data["states"].items()}
    graph = svg(layout(drawing), node_classes=classes, standalone=False)
    return _page(data, graph)


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def _page(data: dict[str, Any], graph: str) -> str:
    e = html.escape
    status = str(data["status"])
    facts = [("started", (data["start"] or "—").replace("+00:00", "Z")),
             ("virtual time", _fmt_seconds(data["virtualSeconds"])),
             *([("wall time", _fmt_seconds(data["wallSeconds"]))] if data["wallSeconds"] is not None else []),
             ("states entered", str(sum(1 for a in data["attempts"] if a["number"] == 0))),
             ("retries", str(data["retries"])),
             ("events", str(len(data["history"])))]
    throttles = ", ".join(f"{k} ×{v}" for k, v in sorted(data["throttles"].items()))
    facts.append(("throttled", throttles or "none"))
    failure = ""
    if data["error"] or data["cause"]:
        failure = (f'<div class="failure"><b>{e(str(data["error"] or ""))}</b>'
                   f'{": " + e(str(data["cause"])) if data["cause"] else ""}</div>')
    # "<" only ever occurs inside JSON strings, where \u003c means the same: no "</script>"
    # or "<!--" in the data can end or confuse the script element that holds it
    blob = json.dumps(data, separators=(",", ":"), default=str).replace("<", "\\u003c")
    legend = "".join(f'<span class="l-{o}">{o.replace("-", " ")}</span>'
                     for o in ("succeeded", "retried", "caught", "failed", "not-reached"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="flowengine report">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{e(status)} · {e(data["title"])} · {e(data["name"])} — flowengine report</title>
<style>{SVG_STYLE}{_static("report.css")}</style></head>
<body>
<header><h1>{e(data["title"])} <span class="badge {e(status)}" id="status">{e(status)}</span>
<span class="name">{e(data["name"])}</span></h1>
<div class="facts">{"".join(f'<span>{e(k)} <b>{e(v)}</b></span>' for k, v in facts)}</div>{failure}</header>
<div class="legend">{legend}<span style="margin-left:auto">select a state for its input, output and attempts</span></div>
<main><div id="graph">{graph}</div><aside id="details"><p class="hint">Select a state.</p></aside></main>
<section><h2>Timeline <small>virtual time: waits, backoffs, Task durations, Map and Parallel children</small>
<select id="tl-scale" title="how time maps to width"><option value="time">to scale</option>
<option value="instants">each instant an equal step</option></select></h2>
<div id="timeline"></div></section>
<section><h2>History <small id="history-count"></small></h2>
<div class="filters"><select id="f-state"><option value="">every state</option></select>
<select id="f-type"><option value="">every event type</option></select>
<input id="f-text" type="search" placeholder="filter text"></div>
<div class="tablewrap"><table><thead><tr><th>id</th><th>time</th><th>type</th><th>state</th><th>details</th></tr>
</thead><tbody id="history-rows"></tbody></table></div>
<button type="button" class="more-btn" id="history-more"></button></section>
<footer>{e(data["arn"]) + " · " if data["arn"] else ""}written by flowengine</footer>
<script type="application/json" id="fe-data">{blob}</script>
<script>{_static("report.js")}</script>
</body></html>
"""


def write_report(result: Any, path: str | os.PathLike[str], *, source: Any = None, flow: str | None = None,
                 force: bool = True, wall_seconds: float | None = None) -> str:
    """Write the report of ``result`` (see :func:`render`) to ``path``; return the path.
    With ``force=False`` an existing file is left alone (FlowengineError)."""
    text = render(result, source=source, flow=flow, wall_seconds=wall_seconds)
    target = os.fspath(path)
    try:
        with open(target, "w" if force else "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise FlowengineError(f"{target} exists; use --force to overwrite it") from None
    except OSError as exc:
        raise FlowengineError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target

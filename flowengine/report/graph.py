"""Draw a flow as a Mermaid flowchart or as Graphviz DOT, optionally with a run's path overlaid.

Choose it to see a flow's shape, for review or docs: Mermaid renders on GitHub as it is,
DOT goes through Graphviz (``dot -Tsvg``), SVG is an image laid out here (the report's layout,
:mod:`flowengine.report.layout`)::

    text = draw(load("app.yaml"), "PlaceOrder")                     # flowchart TD ...
    text = draw(loaded, "PlaceOrder", fmt="dot", path=result.path)  # digraph ..., the run highlighted

Every state is a node labelled with its name and type, shaped by type (a Choice is a
diamond, Succeed and Fail are coloured terminals).  Parallel branches and Map item
processors are subgraphs (clusters) that hang from their state by a dotted edge; each scope
has its own start and end markers.  Edges: ``Next`` plain, Choice rules labelled with their
condition, ``Default`` labelled ``default``, ``Catch`` dashed and labelled with its
ErrorEquals, ``Retry`` a dotted self-loop labelled ``retry x3``.

``path`` is :attr:`ExecutionResult.path <flowengine.engine.result.ExecutionResult.path>`
(``Fulfil/0/ReserveAll/Reserve``) or plain state names (as a history's ``stateEntered``
events give them).  Visited states are highlighted, a state entered more than once says how
often (``x3``), and an edge is highlighted when the path shows it was taken: two consecutive
entries of one scope that an edge joins.  Concurrent branches and iterations interleave in a
path, so inside a Parallel or a Map that is a best reading, exact at the top level.

Output is deterministic: node ids are generated (``s0``, ``s1``, ...) in definition order,
and labels are escaped for the format, so any state name draws and the text diffs cleanly.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowengine.errors import FlowengineError, LoadError
from flowengine.model.asl import (ABSENT, ChoiceRule, ChoiceState, MapState, ParallelState, Retrier, State,
                                  StateMachine)

__all__ = ["FORMATS", "draw", "graph_command", "path_from_run"]

#: The formats :func:`draw` writes (svg: the report's own layout, :mod:`flowengine.report.layout`).
FORMATS: tuple[str, ...] = ("mermaid", "dot", "svg")

#: Longest edge label, in characters; longer ones end in an ellipsis.
LABEL_LIMIT = 40

# Colours (GitHub's Primer palette): visited is a highlighter over whatever the state is.
_VISITED, _VISITED_FILL = "#bf8700", "#fff8c5"
_SUCCEED, _SUCCEED_FILL = "#1a7f37", "#dafbe1"
_FAIL, _FAIL_FILL = "#cf222e", "#ffebe9"
_MARKER = "#24292f"


# -- a format-neutral drawing ---------------------------------------------------------------

@dataclass
class _Node:
    id: str
    kind: str  # a state type, or "start", "end", "missing"
    name: str = ""
    scope: int = 0
    terminal: bool = False
    visits: int = 0

    def lines(self) -> list[str]:
        """The label, a line each: the name (control characters made spaces), the type."""
        if self.kind == "missing":
            return [_plain(self.name), "no such state"]
        return [_plain(self.name), self.kind + (f" · x{self.visits}" if self.visits > 1 else "")]


@dataclass
class _Edge:
    src: str
    dst: str
    kind: str  # next, choice, default, catch, retry, start, end, enter
    label: str = ""
    taken: bool = False


@dataclass
class _Cluster:
    id: str
    title: str
    items: list["_Node | _Cluster"] = field(default_factory=list)


@dataclass
class _Scope:
    start: str  # the start marker's id
    end: str | None  # the end marker's id (None when no state ends the scope)
    ids: dict[str, str]  # state name → node id


class _Drawing:
    """States, clusters and edges of one flow, ids assigned in definition order."""

    def __init__(self, title: str, machine: StateMachine) -> None:
        self.title = title
        self.nodes: dict[str, _Node] = {}
        self.items: list[_Node | _Cluster] = []
        self.scopes: list[_Scope] = []
        self.scope_edges: list[list[_Edge]] = []
        self.by_path: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self._states = 0
        self._clusters = 0
        self._missing = 0
        self._scope(machine, self.items)
        self.edges = [e for edges in self.scope_edges for e in edges]

    def _node(self, node: _Node, into: list[_Node | _Cluster]) -> _Node:
        self.nodes[node.id] = node
        into.append(node)
        return node

    def _scope(self, machine: StateMachine, into: list[_Node | _Cluster]) -> int:
        k = len(self.scopes)
        edges: list[_Edge] = []
        self.scope_edges.append(edges)
        start = self._node(_Node(f"start{k}", "start", scope=k), into).id
        scope = _Scope(start, None, {})
        self.scopes.append(scope)
        enters: dict[str, list[str]] = {}  # state id → the start markers of its branches/processor
        for name, st in machine.states.items():
            node = self._node(_Node(f"s{self._states}", _text(st.type), name, k, st.is_terminal), into)
            self._states += 1
            scope.ids.setdefault(name, node.id)
            self.by_path.setdefault(st.path or name, node.id)
            self.by_name.setdefault(name, node.id)
            for title, sub in _sub_machines(st):
                cluster = _Cluster(f"c{self._clusters}", title)
                self._clusters += 1
                into.append(cluster)
                enters.setdefault(node.id, []).append(self.scopes[self._scope(sub, cluster.items)].start)
        if any(st.is_terminal for st in machine.states.values()):
            scope.end = self._node(_Node(f"stop{k}", "end", scope=k), into).id

        def target(ref: Any) -> str:
            name = _text(ref)  # a Next of the wrong type draws as a state that does not exist
            if name not in scope.ids:  # an invalid definition still draws, its dangling edge visible
                scope.ids[name] = self._node(_Node(f"m{self._missing}", "missing", name, k), into).id
                self._missing += 1
            return scope.ids[name]

        if machine.states or machine.start_at:
            edges.append(_Edge(start, target(machine.start_at), "start"))
        for name, st in machine.states.items():
            src = scope.ids[name]
            edges.extend(_Edge(src, inner, "enter") for inner in enters.get(src, ()))
            if isinstance(st, ChoiceState):
                for rule in st.choices:
                    if rule.next is not None:
                        edges.append(_Edge(src, target(rule.next), "choice", _short(_rule_text(rule))))
                if st.default is not None:
                    edges.append(_Edge(src, target(st.default), "default", "default"))
            elif st.next is not None:
                edges.append(_Edge(src, target(st.next), "next"))
            for catcher in getattr(st, "catch", ()):
                edges.append(_Edge(src, target(catcher.next), "catch",
                                   _short(", ".join(catcher.error_equals) or "catch")))
            retry = _retry_text(getattr(st, "retry", ()))
            if retry:
                edges.append(_Edge(src, src, "retry", retry))
            if st.is_terminal and scope.end is not None:
                edges.append(_Edge(src, scope.end, "end"))
        return k

    def overlay(self, path: Sequence[str]) -> list[str]:
        """Mark the states and edges ``path`` visited; return the entries that name no state."""
        unknown: list[str] = []
        by_scope: dict[int, list[str]] = {}
        visits: Counter[str] = Counter()
        for entry in path:
            node_id = self._resolve(entry)
            if node_id is None:
                unknown.append(entry)
                continue
            visits[node_id] += 1
            by_scope.setdefault(self.nodes[node_id].scope, []).append(node_id)
        for node_id, n in visits.items():
            self.nodes[node_id].visits = n
        joins: dict[tuple[str, str], list[_Edge]] = {}
        for e in self.edges:
            if e.kind in ("next", "choice", "default", "catch"):
                joins.setdefault((e.src, e.dst), []).append(e)
        for e in self.edges:
            if e.kind == "start":
                e.taken = visits[e.dst] > 0
            elif e.kind == "enter":  # the branch or processor ran: some state of its scope was entered
                e.taken = self.nodes[e.dst].scope in by_scope
        for seq in by_scope.values():
            for i, node_id in enumerate(seq):
                taken = joins.get((node_id, seq[i + 1])) if i + 1 < len(seq) else None
                if taken:
                    for e in taken:
                        e.taken = True
                elif self.nodes[node_id].terminal:  # the scope ended here (or an iteration did)
                    for e in self.edges:
                        if e.src == node_id and e.kind == "end":
                            e.taken = True
        return unknown

    def _resolve(self, entry: str) -> str | None:
        if entry in self.by_path:
            return self.by_path[entry]
        if entry in self.by_name:  # ASL state names are unique across a whole state machine
            return self.by_name[entry]
        return self.by_name.get(entry.rpartition("/")[2]) if "/" in entry else None

    def walk(self, items: list["_Node | _Cluster"] | None = None) -> list[_Node]:
        out: list[_Node] = []
        for item in self.items if items is None else items:
            out.extend([item] if isinstance(item, _Node) else self.walk(item.items))
        return out


def _sub_machines(st: State) -> list[tuple[str, StateMachine]]:
    if isinstance(st, ParallelState):
        return [(f"{st.name}: branch {i}", b) for i, b in enumerate(st.branches)]
    if isinstance(st, MapState) and st.processor is not None:
        what = "Iterator" if st.legacy_iterator else "ItemProcessor"
        return [(f"{st.name}: {what}" + (" (distributed)" if st.mode == "DISTRIBUTED" else ""), st.processor)]
    return []


# -- labels ---------------------------------------------------------------------------------

_COMPARISONS = {"Equals": "==", "LessThan": "<", "GreaterThan": ">", "LessThanEquals": "<=",
                "GreaterThanEquals": ">="}
_TESTS = {"IsPresent": "present", "IsNull": "null", "IsNumeric": "numeric", "IsString": "a string",
          "IsBoolean": "a boolean", "IsTimestamp": "a timestamp"}


def _rule_text(rule: ChoiceRule, nested: bool = False) -> str:
    """A short rendering of a Choice rule: ``$.total > 1000``, ``$.a is present``, the JSONata."""
    if rule.condition is not ABSENT:
        cond = rule.condition
        if isinstance(cond, str):
            cond = cond.strip()
            if cond.startswith("{%") and cond.endswith("%}"):
                cond = cond[2:-2].strip()
            return cond or "Condition"
        return json.dumps(cond)
    for word, subs in (("and", rule.and_), ("or", rule.or_)):
        if subs is not None:
            text = f" {word} ".join(_rule_text(r, True) for r in subs) or word
            return f"({text})" if nested else text
    if rule.not_ is not None:
        return "not " + _rule_text(rule.not_, True)
    var, op = rule.variable or "?", rule.operator
    if op is None:
        return _text(rule.comment) if rule.comment else "?"
    if op in _TESTS:
        return f"{var} {'is' if rule.value is not False else 'is not'} {_TESTS[op]}"
    if op == "StringMatches":
        return f"{var} matches {json.dumps(rule.value, ensure_ascii=False)}"
    is_path = op.endswith("Path")
    base = op[:-4] if is_path else op
    for kind in ("String", "Numeric", "Timestamp", "Boolean"):
        if base.startswith(kind):
            base = base[len(kind):]
    value = str(rule.value) if is_path else json.dumps(rule.value, ensure_ascii=False)
    return f"{var} {_COMPARISONS.get(base, base)} {value}"


def _retry_text(retriers: Sequence[Retrier]) -> str:
    counts = [f"x{r.max_attempts}" for r in retriers if r.max_attempts > 0]
    return "retry " + ", ".join(counts) if counts else ""


def _text(value: Any) -> str:
    """A field as drawn: strings as they are; a value of the wrong type (the definition is
    invalid, but still draws) as its JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _short(text: str, limit: int = LABEL_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _plain(text: str) -> str:
    """Control characters (newlines, tabs) become spaces: a name is one line of a label."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)


# -- Mermaid --------------------------------------------------------------------------------

# Mermaid decodes "#name;" / "#code;" entities inside quoted text; everything that could end
# the string, start an entity, be read as HTML or turn the label into Markdown is one.
_MERMAID_ESCAPES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "`": "#96;",
                    "|": "#124;"}

_MERMAID_SHAPES = {
    "Task": ('["', '"]'), "Pass": ('("', '")'), "Choice": ('{"', '"}'), "Wait": ('{{"', '"}}'),
    "Succeed": ('(["', '"])'), "Fail": ('(["', '"])'), "Parallel": ('[["', '"]]'), "Map": ('[/"', '"\\]'),
    "start": ('(("', '"))'), "end": ('((("', '")))'), "missing": ('["', '"]'),
}

_MERMAID_ARROWS = {"catch": "-.->", "retry": "-.->", "enter": "-.->"}

_MERMAID_CLASSES = {
    "marker": f"fill:{_MARKER},stroke:{_MARKER},color:#ffffff",
    "succeed": f"fill:{_SUCCEED_FILL},stroke:{_SUCCEED}",
    "fail": f"fill:{_FAIL_FILL},stroke:{_FAIL}",
    "missing": f"fill:#ffffff,stroke:{_FAIL},stroke-dasharray:4 3,color:{_FAIL}",
    "visited": f"fill:{_VISITED_FILL},stroke:{_VISITED},stroke-width:3px",
}


def _mermaid_text(text: str) -> str:
    out = "".join(_MERMAID_ESCAPES.get(c, c) for c in _plain(text))
    # Mermaid drops the last ";" of a line matching /style.*:\S*#.*;/ (or classDef...), taking
    # it for its own style syntax; with no literal ":" in the text, no label line matches.
    if "style" in out or "classDef" in out:
        out = out.replace(":", "#58;")
    return out


def _mermaid(d: _Drawing) -> str:
    out = ["flowchart TD", f"    %% {_mermaid_text(d.title)}, drawn by flowengine graph"]

    def emit(items: list[_Node | _Cluster], indent: str) -> None:
        for item in items:
            if isinstance(item, _Cluster):
                out.append(f'{indent}subgraph {item.id}["{_mermaid_text(item.title)}"]')
                emit(item.items, indent + "    ")
                out.append(f"{indent}end")
                continue
            opening, closing = _MERMAID_SHAPES.get(item.kind, _MERMAID_SHAPES["Task"])
            label = " " if item.kind in ("start", "end") else "<br>".join(map(_mermaid_text, item.lines()))
            out.append(f"{indent}{item.id}{opening}{label}{closing}")

    emit(d.items, "    ")
    for e in d.edges:
        arrow = _MERMAID_ARROWS.get(e.kind, "-->")
        label = f'|"{_mermaid_text(e.label)}"|' if e.label else ""
        out.append(f"    {e.src} {arrow}{label} {e.dst}")
    classes: dict[str, list[str]] = {}
    for node in d.walk():
        name = {"start": "marker", "end": "marker", "Succeed": "succeed", "Fail": "fail",
                "missing": "missing"}.get(node.kind)
        if name:
            classes.setdefault(name, []).append(node.id)
        if node.visits:
            classes.setdefault("visited", []).append(node.id)
    # visited last: the later classDef wins, so the highlight shows over a type's colours
    for name in sorted(classes, key=lambda c: (c == "visited", c)):
        out.append(f"    classDef {name} {_MERMAID_CLASSES[name]}")
        out.append(f"    class {','.join(classes[name])} {name}")
    taken = [str(i) for i, e in enumerate(d.edges) if e.taken]
    if taken:
        out.append(f"    linkStyle {','.join(taken)} stroke:{_VISITED},stroke-width:3px")
    return "\n".join(out) + "\n"


# -- Graphviz DOT ---------------------------------------------------------------------------

_DOT_NODES: dict[str, dict[str, str]] = {
    "Task": {"shape": "box"},
    "Pass": {"shape": "box", "style": "rounded,filled"},
    "Choice": {"shape": "diamond"},
    "Wait": {"shape": "hexagon"},
    "Succeed": {"shape": "box", "style": "rounded,filled,bold", "color": _SUCCEED, "fillcolor": _SUCCEED_FILL},
    "Fail": {"shape": "box", "style": "rounded,filled,bold", "color": _FAIL, "fillcolor": _FAIL_FILL},
    "Parallel": {"shape": "component"},
    "Map": {"shape": "box3d"},
    "start": {"shape": "circle", "label": "", "width": "0.2", "fixedsize": "true", "fillcolor": _MARKER},
    "end": {"shape": "doublecircle", "label": "", "width": "0.16", "fixedsize": "true", "fillcolor": _MARKER},
    "missing": {"shape": "box", "style": "dashed", "color": _FAIL, "fontcolor": _FAIL},
}

_DOT_EDGES: dict[str, dict[str, str]] = {
    "catch": {"style": "dashed"},
    "retry": {"style": "dotted"},
    "enter": {"style": "dotted", "arrowhead": "empty"},
}


def _dot_string(text: str) -> str:
    """A DOT quoted string; each line of ``text`` escaped, the lines joined by DOT's ``\\n``."""
    lines = (_plain(line).replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n"))
    return '"' + "\\n".join(lines) + '"'


def _dot_attrs(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={_dot_string(v)}" for k, v in attrs.items()) + "]" if attrs else ""


def _dot(d: _Drawing) -> str:
    out = [f"digraph {_dot_string(d.title)} {{",
           f"    graph [label={_dot_string(d.title)}, labelloc=\"t\", fontname=\"Helvetica\", fontsize=\"12\"];",
           '    node [fontname="Helvetica", fontsize="11", style="filled", fillcolor="white"];',
           '    edge [fontname="Helvetica", fontsize="9"];']

    def emit(items: list[_Node | _Cluster], indent: str) -> None:
        for item in items:
            if isinstance(item, _Cluster):
                out.append(f"{indent}subgraph cluster_{item.id} {{")
                out.append(f'{indent}    label={_dot_string(item.title)}; style="rounded,dashed"; color="#8c959f";')
                emit(item.items, indent + "    ")
                out.append(f"{indent}}}")
                continue
            attrs = dict(_DOT_NODES.get(item.kind, _DOT_NODES["Task"]))
            if item.kind not in ("start", "end"):
                attrs = {"label": "\n".join(item.lines()), **attrs}
            if item.visits:
                attrs.update(color=_VISITED, fillcolor=_VISITED_FILL, penwidth="3")
                if "filled" not in attrs.get("style", "filled"):
                    attrs["style"] += ",filled"
            out.append(f"{indent}{item.id} {_dot_attrs(attrs)};")

    emit(d.items, "    ")
    for e in d.edges:
        attrs = dict(_DOT_EDGES.get(e.kind, {}))
        if e.label:
            attrs = {"label": e.label, **attrs}
        if e.taken:
            attrs.update(color=_VISITED, penwidth="2.5")
        out.append(f"    {e.src} -> {e.dst}{' ' + _dot_attrs(attrs) if attrs else ''};")
    out.append("}")
    return "\n".join(out) + "\n"


# -- the public entry points ----------------------------------------------------------------

def draw(source: Any, flow: str | None = None, *, fmt: str = "mermaid", path: Sequence[str] | None = None) -> str:
    """The flow ``flow`` of ``source`` drawn as ``fmt`` text: ``"mermaid"`` (a ``flowchart TD``),
    ``"dot"`` (Graphviz) or ``"svg"`` (an image laid out by :mod:`flowengine.report.layout`).
    With ``path`` (``result.path``, or state names), the states and edges the run went through
    are highlighted and repeated visits counted.

    ``source`` is what :func:`flowengine.dsl.app.load` returns; an ``App``, a ``StateMachine``,
    an ASL dict or an app file path work too.  ``flow`` may be None when there is one flow.
    Raises :class:`FlowengineError` for an unknown flow or format.
    """
    if fmt not in FORMATS:
        raise FlowengineError(f"unknown graph format {fmt!r}: choose one of {', '.join(FORMATS)}")
    title, machine = _machine(source, flow)
    drawing = _Drawing(title, machine)
    if path is not None:
        drawing.overlay([path] if isinstance(path, str) else list(path))
    if fmt == "svg":  # laid out here, in Python: no Graphviz needed
        from flowengine.report.layout import layout, svg

        return svg(layout(drawing))
    return _mermaid(drawing) if fmt == "mermaid" else _dot(drawing)


def _unknown_entries(source: Any, flow: str | None, path: Sequence[str]) -> list[str]:
    """The entries of ``path`` that name no state of the flow (a path from another flow?)."""
    title, machine = _machine(source, flow)
    return _Drawing(title, machine).overlay(list(path))


def _machine(source: Any, flow: str | None) -> tuple[str, StateMachine]:
    if isinstance(source, StateMachine):
        return flow or "flow", source
    if isinstance(getattr(source, "definition", None), StateMachine):  # a Flow
        return source.name, source.definition
    if isinstance(source, (str, os.PathLike)):
        from flowengine.dsl.app import load

        source = load(source)
    elif isinstance(source, dict):
        from flowengine.dsl.app import from_value

        source = from_value(source)
    app = getattr(source, "app", source)
    flows = getattr(app, "flows", None)
    if not isinstance(flows, dict):
        raise FlowengineError(f"cannot draw a {type(source).__name__}: give a loaded app, an App, a StateMachine "
                              "or an ASL dict")
    names = list(flows)
    if flow is None:
        if len(names) != 1:
            raise FlowengineError(f"name the flow to draw (flows: {', '.join(names) or 'none'})")
        flow = names[0]
    if flow not in flows:
        close = difflib.get_close_matches(flow, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FlowengineError(f"no flow named {flow!r} (flows: {', '.join(names) or 'none'}){hint}")
    if flow in getattr(source, "unloaded_flows", ()):
        raise LoadError(getattr(source, "load_diagnostics", []) or [],
                        f"flow {flow!r} could not be loaded from its definition_file")
    return flow, flows[flow].definition


def path_from_run(value: Any) -> list[str]:
    """The path of a recorded run, from its JSON: ``{"path": [...]}``; else the names of the
    ``stateEntered`` events of ``{"history": [...]}`` (``flowengine run --json``) or of
    ``{"events": [...]}`` (GetExecutionHistory); a bare list of names or events works too."""
    if isinstance(value, dict):
        for key in ("path", "history", "events"):
            if isinstance(value.get(key), list):
                return path_from_run(value[key])
        raise FlowengineError("it has no path: expected the JSON of `flowengine run --json` (a \"history\" "
                              "list), a GetExecutionHistory response (\"events\"), or {\"path\": [...]}")
    if not isinstance(value, list):
        raise FlowengineError("it has no path: expected a JSON object or list")
    if all(isinstance(v, str) for v in value):
        return list(value)
    names = []
    for ev in value:
        details = ev.get("stateEnteredEventDetails") if isinstance(ev, dict) else None
        if isinstance(details, dict) and isinstance(details.get("name"), str):
            names.append(details["name"])
    return names


def load_flow(app_path: str, flow: str | None, say: Callable[[str], None],
              stderr: Any) -> tuple[Any, str] | None:
    """Load a command's app file and find its flow: ``(loaded, flow name)``; None once the
    problem is printed (each diagnostic, or a one-line reason), for the command to exit 2."""
    from flowengine.dsl.app import load

    try:
        loaded = load(app_path)
        title, _ = _machine(loaded, flow)
    except LoadError as exc:
        for d in exc.diagnostics:
            print(d.format(), file=stderr)
        if not exc.diagnostics:
            say(str(exc))
        return None
    except FlowengineError as exc:
        say(str(exc))
        return None
    return loaded, title


def graph_command(app_path: str, flow: str | None, fmt: str | None, out: str | None, force: bool,
                  path_from: str | None, input_json: str | None, *, stdout: Any = None, stderr: Any = None) -> int:
    """``flowengine graph APP [--flow NAME] [--format mermaid|dot|svg] [--out FILE] [--force]
    [--path RUN.json | --input JSON]``; returns the exit code.

    Prints the drawing to stdout when ``out`` is None; ``fmt`` None means mermaid, or dot for
    an ``out`` ending in ``.dot``/``.gv``, svg for ``.svg``; Mermaid written to a ``.md`` file
    is fenced so that it renders.  ``path_from`` overlays a recorded run (see :func:`path_from_run`);
    ``input_json`` (JSON text, or ``@file.json``) runs the flow locally first and overlays its
    path.  Exit 0 when drawn; 1 when drawn but the ``input_json`` run did not succeed; 2 for a
    usage problem: an unloadable app, an unknown flow or format, an unreadable run file or
    input, an existing ``out`` without ``force``.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    say: Callable[[str], None] = lambda text: print(f"flowengine graph: {text}", file=stderr)
    if fmt is None:
        suffix = out.lower() if out is not None else ""
        fmt = "dot" if suffix.endswith((".dot", ".gv")) else "svg" if suffix.endswith(".svg") else "mermaid"
    if fmt not in FORMATS:
        say(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return 2
    if path_from is not None and input_json is not None:
        say("overlay a recorded run with --path or run one with --input, not both")
        return 2
    if out is not None and os.path.exists(out) and not force:
        say(f"{out} exists; use --force to overwrite it")
        return 2
    found = load_flow(app_path, flow, say, stderr)
    if found is None:
        return 2
    loaded, title = found
    code = 0
    path: list[str] | None = None
    if path_from is not None:
        from flowengine.dsl import files

        try:  # a regular file only, the bytes read capped; strict JSON
            path = path_from_run(files.loads(files.read_text(path_from)))
        except files.FileProblem as exc:
            say(f"cannot read {path_from}: {exc.problem}")
            return 2
        except RecursionError:
            say(f"{path_from}: nested too deeply to parse")
            return 2
        except (ValueError, FlowengineError) as exc:  # JSONDecodeError is a ValueError
            say(f"{path_from}: {exc}")
            return 2
    if input_json is not None:
        run = _run(loaded, title, input_json, say, stderr)
        if isinstance(run, int):
            return run
        path, code = run
    text = draw(loaded, title, fmt=fmt, path=path)
    unknown = _unknown_entries(loaded, title, path) if path else []
    if unknown:
        shown = ", ".join(sorted(set(unknown))[:5]) + (", ..." if len(set(unknown)) > 5 else "")
        say(f"warning: {len(unknown)} path entr{'y names' if len(unknown) == 1 else 'ies name'} no state of "
            f"{title}: {shown}")
    if out is None:
        stdout.write(text)
        return code
    if fmt == "mermaid" and out.lower().endswith((".md", ".markdown")):
        text = "```mermaid\n" + text + "```\n"
    try:
        with open(out, "w" if force else "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        say(f"{out} exists; use --force to overwrite it")
        return 2
    except OSError as exc:
        say(f"cannot write {out}: {exc.strerror or exc}")
        return 2
    say(f"wrote {out}")
    return code


def _run(loaded: Any, flow: str, input_json: str, say: Callable[[str], None],
         stderr: Any) -> tuple[list[str], int] | int:
    """Run the flow locally on ``input_json``: (its path, 0 or 1 by its status), or exit code 2."""
    from flowengine.errors import MockConfigError, ValidationError
    from flowengine.runtime.api import run
    from flowengine.runtime.engine import read_input_option

    try:
        payload = read_input_option(input_json)
    except FlowengineError as exc:  # ExecutionInputError: one line, naming --input
        say(str(exc))
        return 2
    try:
        result = run(loaded, flow=flow, input=json.dumps(payload), record=True)  # JSON text: parsed once
    except (LoadError, MockConfigError, ValidationError) as exc:
        for d in exc.diagnostics:
            print(d.format(), file=stderr)
        return 2
    except FlowengineError as exc:
        say(str(exc))
        return 2
    if result.succeeded:
        return result.path, 0
    say(f"the run {result.status}: {result.error}: {result.cause}" if result.error else f"the run {result.status}")
    return result.path, 1

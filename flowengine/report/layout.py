"""A layered layout of a flow, computed in Python, drawn as SVG: the report's graph and
``flowengine graph --format svg`` (no system Graphviz needed).

Choose it when a picture is wanted; :mod:`flowengine.report.graph` writes the same drawing as
Mermaid or DOT text for tools that lay it out themselves.

**How it lays out** (a small Sugiyama-style layout, one scope at a time, innermost first):

1. a Parallel or Map state is a *compound* box holding its branches (or its item processor)
   side by side, each laid out the same way, so a scope is a group inside its state as in
   the Step Functions console;
2. the edges that close a loop are found by a depth-first search from the start marker
   (networkx) and set aside, so what is left is acyclic;
3. every node goes on the layer of its longest path from the start (``Next`` points down);
   an edge that spans several layers gets a dummy point on each, so it bends around the
   boxes between;
4. a few sweeps of barycentre ordering (each node placed at the mean position of its
   neighbours on the previous layer) reduce crossings;
5. x positions pull each node towards its neighbours, keeping a gap between boxes.

Loops set aside in step 2 are drawn as arcs on the right; a Retry is a small loop on its
state's right edge.  The output is deterministic: the same flow always draws the same SVG.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from flowengine.report.graph import _Drawing, _Edge, _Node, _plain

__all__ = ["Layout", "layout", "svg"]

NODE_H = 44
MARKER = 16
H_GAP = 28
V_GAP = 46
PAD = 14
HEADER = 26
CHAR_W = 6.9
RETRY_ROOM = 40  # average width of a 12px sans-serif character


@dataclass
class Box:
    """A node placed on the page: ``x``/``y`` are its top-left corner."""

    node: _Node
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0
    groups: list["Group"] = field(default_factory=list)


@dataclass
class Group:
    """A laid out scope (the top level, a Parallel branch or a Map processor)."""

    title: str
    w: float = 0.0
    h: float = 0.0
    x: float = 0.0
    y: float = 0.0
    boxes: list[Box] = field(default_factory=list)
    edges: list[tuple[_Edge, list[tuple[float, float]], str]] = field(default_factory=list)  # edge, points, shape


@dataclass
class Layout:
    """The whole drawing: the top-level group, every box by node id, and the page size."""

    drawing: _Drawing
    top: Group
    boxes: dict[str, Box]
    width: float
    height: float


def layout(drawing: _Drawing) -> Layout:
    """Lay out ``drawing`` (a :class:`~flowengine.report.graph._Drawing`, overlay included)."""
    children: dict[str, list[tuple[str, int]]] = {}  # state id → (title, scope) of each sub-scope
    titles = _cluster_titles(drawing)
    for e in drawing.edges:
        if e.kind == "enter":
            k = drawing.nodes[e.dst].scope
            children.setdefault(e.src, []).append((titles.get(e.dst, ""), k))
    by_scope: dict[int, list[_Node]] = {}
    for node in drawing.nodes.values():
        by_scope.setdefault(node.scope, []).append(node)
    boxes: dict[str, Box] = {}
    top = _lay_scope(drawing, 0, drawing.title, by_scope, children, boxes)
    _translate(top, PAD, PAD)
    return Layout(drawing, top, boxes, top.w + 2 * PAD + 40, top.h + 2 * PAD)


def _cluster_titles(drawing: _Drawing) -> dict[str, str]:
    """Start marker id → the title of the cluster it opens."""
    out: dict[str, str] = {}

    def walk(items: list[Any]) -> None:
        for item in items:
            if not isinstance(item, _Node):
                for sub in item.items:
                    if isinstance(sub, _Node) and sub.kind == "start":
                        out[sub.id] = item.title
                        break
                walk(item.items)

    walk(drawing.items)
    return out


def _node_size(node: _Node) -> tuple[float, float]:
    if node.kind in ("start", "end"):
        return MARKER, MARKER
    longest = max(len(line) for line in node.lines())
    return max(110.0, min(260.0, longest * CHAR_W + 28)), NODE_H


def _lay_scope(drawing: _Drawing, k: int, title: str, by_scope: dict[int, list[_Node]],
               children: dict[str, list[tuple[str, int]]], boxes: dict[str, Box]) -> Group:
    import networkx as nx

    group = Group(title)
    nodes = by_scope.get(k, [])
    retried = {e.src for e in drawing.scope_edges[k] if e.kind == "retry"}
    for node in nodes:
        w, h = _node_size(node)
        box = Box(node, w, h)
        subs = [_lay_scope(drawing, sk, st, by_scope, children, boxes) for st, sk in children.get(node.id, [])]
        if subs:
            inner_w = sum(g.w for g in subs) + H_GAP * (len(subs) - 1)
            box.w = max(w, inner_w + 2 * PAD)
            box.h = HEADER + PAD + max(g.h for g in subs) + PAD
            x = (box.w - inner_w) / 2
            for g in subs:
                _translate(g, x, HEADER + PAD)
                x += g.w + H_GAP
            box.groups = subs
        boxes[node.id] = box
        group.boxes.append(box)
    ids = [n.id for n in nodes]
    edges = [e for e in drawing.scope_edges[k] if e.kind not in ("enter", "retry")]
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    for e in edges:
        graph.add_edge(e.src, e.dst)
    # 2. loops: edges to a node still on the depth-first stack
    back: set[tuple[str, str]] = set()
    on_stack: set[str] = set()
    for u, v, kind in nx.dfs_labeled_edges(graph):  # nodes in definition order: the start marker first
        if kind == "forward":
            on_stack.add(v)
        elif kind == "reverse":
            on_stack.discard(v)
        elif kind == "nontree" and (v in on_stack or u == v):
            back.add((u, v))
    dag = nx.DiGraph()
    dag.add_nodes_from(ids)
    dag.add_edges_from((u, v) for u, v in graph.edges if (u, v) not in back)
    # 3. longest-path layers
    layer: dict[str, int] = {}
    for v in nx.topological_sort(dag):
        layer[v] = max((layer[u] + 1 for u in dag.predecessors(v)), default=0)
    end_id = drawing.scopes[k].end
    if end_id is not None and end_id in layer:
        layer[end_id] = max(layer.values())
        layer[end_id] = max(layer[end_id], max((layer[u] + 1 for u in dag.predecessors(end_id)), default=0))
    # dummies for long edges
    # a Retry loop and its label take room on the right of their box
    sizes: dict[str, tuple[float, float]] = {b.node.id: (b.w + (2 * RETRY_ROOM if b.node.id in retried else 0), b.h)
                                             for b in group.boxes}
    chains: dict[int, list[str]] = {}
    succ: dict[str, list[str]] = {v: [] for v in ids}
    pred: dict[str, list[str]] = {v: [] for v in ids}
    dummy = 0
    for i, e in enumerate(edges):
        if (e.src, e.dst) in back or e.src == e.dst:
            continue
        chain = [e.src]
        for lay in range(layer[e.src] + 1, layer[e.dst]):
            d = f"~{k}.{dummy}"
            dummy += 1
            layer[d] = lay
            sizes[d] = (10.0, 0.0)
            succ[d], pred[d] = [], []
            chain.append(d)
        chain.append(e.dst)
        for a, b in zip(chain, chain[1:]):
            succ[a].append(b)
            pred[b].append(a)
        chains[i] = chain
    # 4. ordering: first seen in depth-first order, then barycentre sweeps
    seen = {v: n for n, v in enumerate(nx.dfs_preorder_nodes(dag))}
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for v in sorted(layer, key=lambda v: (seen.get(v, len(seen)), v)):
        layers[layer[v]].append(v)
    pos = {v: float(i) for row in layers for i, v in enumerate(row)}
    for sweep in range(4):
        down = sweep % 2 == 0
        order = layers[1:] if down else layers[-2::-1]
        for row in order:
            for v in row:
                near = pred[v] if down else succ[v]
                if near:
                    pos[v] = sum(pos[u] for u in near) / len(near)
            row.sort(key=lambda v: pos[v])
            for i, v in enumerate(row):
                pos[v] = float(i)
    # 5. coordinates
    xs: dict[str, float] = {}
    for row in layers:
        x = 0.0
        for v in row:
            xs[v] = x + sizes[v][0] / 2
            x += sizes[v][0] + H_GAP
    for sweep in range(6):
        down = sweep % 2 == 0
        for row in (layers[1:] if down else layers[-2::-1]):
            want = {v: (sum(xs[u] for u in (pred[v] if down else succ[v])) / len(pred[v] if down else succ[v])
                        if (pred[v] if down else succ[v]) else xs[v]) for v in row}
            _place(row, want, sizes, xs)
    left = min((xs[v] - sizes[v][0] / 2 for v in xs), default=0.0)
    ys: list[float] = []
    y = 0.0
    for row in layers:
        ys.append(y)
        y += max((sizes[v][1] for v in row), default=0.0) + V_GAP
    group.h = max(y - V_GAP, MARKER)
    width = max((xs[v] + sizes[v][0] / 2 - left for v in xs), default=MARKER)
    through: dict[str, list[tuple[float, float]]] = {}  # a dummy: down its whole layer, beside the boxes
    mine = {box.node.id for box in group.boxes}
    for lay, row in enumerate(layers):
        row_h = max((sizes[v][1] for v in row), default=0.0)
        for v in row:
            cx = xs[v] - left
            through[v] = [(cx, ys[lay]), (cx, ys[lay] + row_h)] if row_h > NODE_H else [(cx, ys[lay] + row_h / 2)]
            placed = boxes.get(v)
            if placed is not None and v in mine:
                placed.x = cx - sizes[v][0] / 2 + (RETRY_ROOM if v in retried else 0)
                placed.y = ys[lay] + (row_h - placed.h) / 2 if placed.h <= NODE_H else ys[lay]
    # edges: down through their dummies; loops as arcs on the right
    right = width
    loops = 0
    for i, e in enumerate(edges):
        if e.src == e.dst:
            continue
        sb, db = boxes[e.src], boxes[e.dst]
        if i in chains:
            chain = chains[i]
            pts = [(sb.x + sb.w / 2, sb.y + sb.h)]
            for d in chain[1:-1]:
                pts += through[d]
            pts.append((db.x + db.w / 2, db.y))
            group.edges.append((e, pts, "down"))
        else:
            loops += 1
            x = max(sb.x + sb.w, db.x + db.w) + 18 + 12 * loops
            right = max(right, x + 10)
            group.edges.append((e, [(sb.x + sb.w, sb.y + sb.h / 2), (x, sb.y + sb.h / 2),
                                    (x, db.y + db.h / 2), (db.x + db.w, db.y + db.h / 2)], "loop"))
    _spread_ports(group)
    for e in drawing.scope_edges[k]:
        if e.kind == "retry":
            rb = boxes[e.src]
            group.edges.append((e, [(rb.x + rb.w, rb.y + 12), (rb.x + rb.w, rb.y + rb.h - 12)], "retry"))
            right = max(right, rb.x + rb.w + 24 + len(e.label) * 5.8 + 6)  # the loop and its label
    group.w = right
    return group


def _spread_ports(group: Group) -> None:
    """Edges leaving one box downwards start at spread points of its bottom, left to right by
    where they go, so that their labels do not sit on one another."""
    leaving: dict[str, list[list[tuple[float, float]]]] = {}
    for e, pts, shape in group.edges:
        if shape == "down":
            leaving.setdefault(e.src, []).append(pts)
    for lists in leaving.values():
        if len(lists) < 2:
            continue
        x0, _ = lists[0][0]
        width = min(120.0, 24.0 * len(lists))
        lists.sort(key=lambda pts: pts[1][0])
        for i, pts in enumerate(lists):
            pts[0] = (x0 - width / 2 + width * i / (len(lists) - 1), pts[0][1])


def _place(row: list[str], want: dict[str, float], sizes: dict[str, tuple[float, float]],
           xs: dict[str, float]) -> None:
    """Each node of ``row`` as near its wanted centre as the gaps allow (mean of a left and a right pass)."""
    if not row:
        return
    left: list[float] = []
    edge = float("-inf")
    for v in row:
        x = max(want[v], edge + sizes[v][0] / 2)
        left.append(x)
        edge = x + sizes[v][0] / 2 + H_GAP
    right: list[float] = [0.0] * len(row)
    edge = float("inf")
    for i in range(len(row) - 1, -1, -1):
        v = row[i]
        x = min(want[v], edge - sizes[v][0] / 2)
        right[i] = x
        edge = x - sizes[v][0] / 2 - H_GAP
    for i, v in enumerate(row):
        xs[v] = (left[i] + right[i]) / 2
    # the mean of two feasible placements keeps the order; restore the gaps it may have shrunk
    for i in range(1, len(row)):
        a, b = row[i - 1], row[i]
        low = xs[a] + sizes[a][0] / 2 + H_GAP + sizes[b][0] / 2
        if xs[b] < low:
            xs[b] = low


def _translate(group: Group, dx: float, dy: float) -> None:
    group.x += dx
    group.y += dy


# -- SVG ------------------------------------------------------------------------------------

#: The drawing's own styles (the report adds its outcome colours on top).
SVG_STYLE = """
.fe-graph{font:12px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
.fe-graph .node rect,.fe-graph .node polygon{fill:#fff;stroke:#8c959f;stroke-width:1.2}
.fe-graph .node .name{font-weight:600;fill:#1f2328}
.fe-graph .node .kind{fill:#656d76;font-size:10.5px}
.fe-graph .node.k-Succeed rect{fill:#dafbe1;stroke:#1a7f37}
.fe-graph .node.k-Fail rect{fill:#ffebe9;stroke:#cf222e}
.fe-graph .node.k-missing rect{stroke:#cf222e;stroke-dasharray:4 3}
.fe-graph .marker{fill:#24292f}
.fe-graph .group>rect{fill:#f6f8fa;stroke:#d0d7de;stroke-dasharray:5 4}
.fe-graph .group>text{fill:#656d76;font-size:10.5px}
.fe-graph .compound>rect{fill:#fff;stroke:#8c959f}
.fe-graph .edge path{fill:none;stroke:#8c959f;stroke-width:1.3}
.fe-graph .edge.catch path{stroke-dasharray:5 4;stroke:#cf222e}
.fe-graph .edge.retry path{stroke-dasharray:2 3;stroke:#9a6700}
.fe-graph .edge.taken path{stroke:#bf8700;stroke-width:2.4}
.fe-graph .edge text{font-size:10px;fill:#57606a}
.fe-graph .edge .lbg{fill:#fff;opacity:.9}
.fe-graph .node.visited rect{stroke:#bf8700;stroke-width:2.5;fill:#fff8c5}
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _path_d(points: list[tuple[float, float]], shape: str) -> str:
    (x0, y0) = points[0]
    if shape == "retry":
        (x1, y1) = points[1]
        return f"M{x0:.1f},{y0:.1f} C{x0 + 26:.1f},{y0 - 6:.1f} {x1 + 26:.1f},{y1 + 6:.1f} {x1:.1f},{y1:.1f}"
    if shape == "loop":
        (x1, _), (_, y2), (x3, y3) = points[1], points[2], points[3]
        r = min(10.0, abs(y2 - y0) / 2)
        sign = 1 if y2 > y0 else -1
        return (f"M{x0:.1f},{y0:.1f} H{x1 - r:.1f} Q{x1:.1f},{y0:.1f} {x1:.1f},{y0 + sign * r:.1f} "
                f"V{y2 - sign * r:.1f} Q{x1:.1f},{y2:.1f} {x1 - r:.1f},{y2:.1f} H{x3:.1f}")
    d = [f"M{x0:.1f},{y0:.1f}"]
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        my = (ya + yb) / 2
        d.append(f"C{xa:.1f},{my:.1f} {xb:.1f},{my:.1f} {xb:.1f},{yb:.1f}")
    return " ".join(d)


def _label_at(points: list[tuple[float, float]], shape: str) -> tuple[float, float, str]:
    if shape == "retry":
        return points[0][0] + 24, (points[0][1] + points[1][1]) / 2, "start"
    if shape == "loop":
        return points[1][0] + 4, (points[1][1] + points[2][1]) / 2, "start"
    (xa, ya), (xb, yb) = points[0], points[1]
    return xa + (xb - xa) * 0.55, ya + (yb - ya) * 0.55, "middle"


def svg(lay: Layout, *, node_classes: dict[str, str] | None = None, standalone: bool = True) -> str:
    """The layout as SVG text.  ``node_classes`` adds CSS classes to nodes by id (the report's
    outcomes); ``standalone`` adds the XML namespace and the drawing's own stylesheet, for a
    ``.svg`` file (the report styles the inline copy itself)."""
    extra = node_classes or {}
    out: list[str] = []
    attrs = (f'class="fe-graph" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" width="{lay.width:.0f}" '
             f'height="{lay.height:.0f}" role="img" aria-label="{_esc(lay.drawing.title)}"')
    if standalone:
        out.append(f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}>')
        out.append(f"<style>{SVG_STYLE}</style>")
        out.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    else:
        out.append(f"<svg {attrs}>")
    out.append('<defs><marker id="fe-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
               'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8c959f"/>'
               '</marker><marker id="fe-arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
               'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#bf8700"/>'
               '</marker></defs>')
    _emit_group(lay.top, 0.0, 0.0, out, extra, outer=True)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _emit_group(group: Group, ox: float, oy: float, out: list[str], extra: dict[str, str], outer: bool) -> None:
    gx, gy = ox + group.x, oy + group.y
    out.append(f'<g class="group" transform="translate({gx:.1f},{gy:.1f})">')
    if not outer:
        out.append(f'<rect x="-8" y="-18" width="{group.w + 16:.1f}" height="{group.h + 26:.1f}" rx="6"/>')
        out.append(f'<text x="-2" y="-6">{_esc(_plain(group.title))}</text>')
    for e, pts, shape in group.edges:
        cls = f"edge {e.kind}" + (" taken" if e.taken else "")
        marker = "fe-arrow-taken" if e.taken else "fe-arrow"
        out.append(f'<g class="{cls}"><path d="{_path_d(pts, shape)}" marker-end="url(#{marker})"/>')
        if e.label:
            lx, ly, anchor = _label_at(pts, shape)
            w = len(e.label) * 5.8 + 6
            bx = lx - w / 2 if anchor == "middle" else lx - 3
            out.append(f'<rect class="lbg" x="{bx:.1f}" y="{ly - 8:.1f}" width="{w:.1f}" height="13" rx="3"/>'
                       f'<text x="{lx:.1f}" y="{ly + 2:.1f}" text-anchor="{anchor}">{_esc(e.label)}</text>')
        out.append("</g>")
    for b in group.boxes:
        _emit_box(b, out, extra)
    out.append("</g>")


def _emit_box(b: Box, out: list[str], extra: dict[str, str]) -> None:
    n = b.node
    x, y = b.x, b.y
    if n.kind in ("start", "end"):
        r = MARKER / 2
        inner = (f'<circle class="marker" cx="{x + r:.1f}" cy="{y + r:.1f}" r="{r:.1f}"/>' if n.kind == "start" else
                 f'<circle cx="{x + r:.1f}" cy="{y + r:.1f}" r="{r:.1f}" fill="#fff" stroke="#24292f" '
                 f'stroke-width="1.5"/><circle class="marker" cx="{x + r:.1f}" cy="{y + r:.1f}" r="{r - 4:.1f}"/>')
        out.append(f'<g class="{n.kind}-marker">{inner}</g>')
        return
    name, kind = n.lines()
    cls = f"node k-{_esc(n.kind)}" + (" visited" if n.visits else "") + (" compound" if b.groups else "")
    if n.id in extra:
        cls += " " + extra[n.id]
    out.append(f'<g class="{cls}" data-id="{n.id}" data-name="{_esc(n.name)}" tabindex="0">')
    rx = 12 if n.kind in ("Pass", "Succeed", "Fail") else 4
    if n.kind == "Choice":
        rx = 18
    out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="{rx}"/>')
    label = _esc(name if len(name) <= 36 else name[:35] + "…")
    out.append(f'<text class="name" x="{x + b.w / 2:.1f}" y="{y + 18:.1f}" text-anchor="middle">{label}</text>')
    if b.groups:  # a compound box: its name and type on its header, its scopes below
        out[-1] = (f'<text class="name" x="{x + 10:.1f}" y="{y + 17:.1f}">{label}'
                   f'<tspan class="kind" dx="8">{_esc(kind)}</tspan></text>')
    else:
        out.append(f'<text class="kind" x="{x + b.w / 2:.1f}" y="{y + 33:.1f}" text-anchor="middle">'
                   f'{_esc(kind)}</text>')
    out.append(f"<title>{_esc(_plain(n.name))} ({_esc(n.kind)})</title>")
    out.append("</g>")
    for g in b.groups:
        _emit_group(g, x, y, out, extra, outer=False)

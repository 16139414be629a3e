"""`flowengine graph`: flows drawn as Mermaid and DOT, with a run's path overlaid (docs/graph.md)."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from flowengine.report.graph import draw, graph_command, path_from_run
from flowengine.dsl.app import load
from flowengine.errors import FlowengineError
from flowengine.testing import run_flow

REPO = Path(__file__).resolve().parents[2]
ORDERS = str(REPO / "definitions" / "orders.yaml")
ORDER = json.loads((REPO / "examples" / "orders" / "order.json").read_text(encoding="utf-8"))
ORDER_STATES = ["Validate", "CheckSize", "ManualReview", "Fulfil", "ReserveAll", "Reserve", "Charge", "Ship",
                "ShipOne", "Notify", "Rejected", "PaymentFailed"]

WEIRD = 'Say "hi" #1 [x]'
SMALL: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Choice", "QueryLanguage": "JSONata",
                  "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": WEIRD}], "Default": "Later"},
        "Later": {"Type": "Wait", "Seconds": 5, "Next": WEIRD},
        WEIRD: {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}

# -- reading Mermaid back ----------------------------------------------------------------------

NODE = re.compile(r'^(?P<indent> *)(?P<id>[a-z]+\d+)(?P<open>\(\(\(|\(\(|\(\[|\[\[|\[/|\{\{|\[|\(|\{)"'
                  r'(?P<label>[^"]*)"(?P<close>\)\)\)|\)\)|\]\)|\]\]|\\\]|\}\}|\]|\)|\})$')
EDGE = re.compile(r'^ {4}(?P<src>\w+) (?P<arrow>-->|-\.->)(?:\|"(?P<label>[^"]*)"\|)? (?P<dst>\w+)$')


def unescape(text: str) -> str:
    """Mermaid's entities (#quot;, #35;) back to text."""
    return html.unescape(re.sub(r"#(\w+);", lambda m: f"&#{m[1]};" if m[1].isdigit() else f"&{m[1]};", text))


class Mermaid:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        assert self.lines[0] == "flowchart TD"
        self.nodes: dict[str, tuple[str, str]] = {}  # id → (shape opening, label)
        self.within: dict[str, list[str]] = {}  # id → the subgraph titles around it, outermost first
        self.edges: list[tuple[str, str, str, str]] = []  # (src, arrow, label, dst), in order
        self.subgraphs: list[str] = []
        stack: list[str] = []
        for line in self.lines[1:]:
            stripped = line.strip()
            if stripped.startswith("subgraph "):
                title = unescape(re.fullmatch(r'subgraph c\d+\["([^"]*)"\]', stripped)[1])  # type: ignore[index]
                self.subgraphs.append(title)
                stack.append(title)
            elif stripped == "end":
                stack.pop()
            elif m := NODE.match(line):
                assert m["id"] not in self.nodes, f"{m['id']} declared twice"
                self.nodes[m["id"]] = (m["open"], m["label"])
                self.within[m["id"]] = list(stack)
            elif m := EDGE.match(line):
                self.edges.append((m["src"], m["arrow"], unescape(m["label"] or ""), m["dst"]))
            else:
                assert stripped.startswith(("%%", "classDef ", "class ", "linkStyle ")), f"unparsed line: {line!r}"
        assert not stack

    def state_ids(self) -> dict[str, str]:
        """State name → node id (the first label line, unescaped), asserting each name is drawn once."""
        ids: dict[str, str] = {}
        for node_id, (_, label) in self.nodes.items():
            if re.fullmatch(r"s\d+", node_id):
                name = unescape(label.split("<br>")[0])
                assert name not in ids, f"{name} drawn twice"
                ids[name] = node_id
        return ids

    def label(self, name: str) -> str:
        return unescape(self.nodes[self.state_ids()[name]][1])

    def edge(self, src: str, dst: str) -> tuple[str, str]:
        ids = self.state_ids()
        found = [(arrow, label) for s, arrow, label, d in self.edges if (s, d) == (ids[src], ids[dst])]
        assert len(found) == 1, found
        return found[0]

    def classed(self, cls: str) -> set[str]:
        ids = {v: k for k, v in self.state_ids().items()}
        out: set[str] = set()
        for line in self.lines:
            parts = line.split()
            if parts[:1] == ["class"] and parts[2] == cls:
                out |= {ids.get(i, i) for i in parts[1].split(",")}
        return out

    def styled_edges(self) -> set[tuple[str, str]]:
        ids = {v: k for k, v in self.state_ids().items()}
        styled = [line.split()[1] for line in self.lines if line.strip().startswith("linkStyle ")]
        picked = {int(i) for s in styled for i in s.split(",")}
        return {(ids.get(s, s), ids.get(d, d)) for n, (s, _, _, d) in enumerate(self.edges) if n in picked}


@pytest.fixture(scope="module")
def orders() -> Any:
    return load(ORDERS)


@pytest.fixture(scope="module")
def happy_run(orders: Any) -> Any:
    return run_flow(orders, "PlaceOrder", input=ORDER)


# -- the drawing ---------------------------------------------------------------------------------

def test_every_state_is_one_node_labelled_with_name_and_type(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder"))
    assert sorted(m.state_ids()) == sorted(ORDER_STATES)
    assert m.label("CheckSize") == "CheckSize<br>Choice"
    shapes = {name: m.nodes[i][0] for name, i in m.state_ids().items()}
    assert shapes["CheckSize"] == "{"  # a rhombus
    assert shapes["Rejected"] == shapes["PaymentFailed"] == "(["
    assert shapes["ManualReview"] != shapes["Validate"] != shapes["Fulfil"] != shapes["Ship"]
    assert m.classed("fail") == {"Rejected", "PaymentFailed"}


def test_choice_rules_and_default_are_labelled_edges(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder"))
    assert m.edge("CheckSize", "ManualReview") == ("-->", "$.total > 1000")
    assert m.edge("CheckSize", "Fulfil") == ("-->", "default")
    assert m.edge("ManualReview", "Fulfil") == ("-->", "")


def test_catch_edges_are_dashed_and_name_their_errors(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder"))
    assert m.edge("Validate", "Rejected") == ("-.->", "InvalidOrder")
    assert m.edge("Fulfil", "PaymentFailed") == ("-.->", "States.ALL")
    dot = draw(orders, "PlaceOrder", fmt="dot")
    ids = m.state_ids()  # the same ids in both formats
    assert f'{ids["Validate"]} -> {ids["Rejected"]} [label="InvalidOrder", style="dashed"];' in dot


def test_retry_is_a_labelled_self_loop(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder"))
    assert m.edge("Reserve", "Reserve") == ("-.->", "retry x6")
    assert m.edge("Charge", "Charge") == ("-.->", "retry x3")


def test_start_and_end_markers(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder"))
    ids = {v: k for k, v in m.state_ids().items()}
    into = [(ids.get(d)) for s, _, _, d in m.edges if s == "start0"]
    assert into == ["Validate"]
    ended = {ids[s] for s, _, _, d in m.edges if d == "stop0"}
    assert ended == {"Notify", "Rejected", "PaymentFailed"}


def test_parallel_branches_and_map_processors_are_nested_subgraphs(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder"))
    assert m.subgraphs == ["Fulfil: branch 0", "ReserveAll: ItemProcessor", "Fulfil: branch 1",
                           "Ship: ItemProcessor"]
    ids = m.state_ids()
    assert m.within[ids["Reserve"]] == ["Fulfil: branch 0", "ReserveAll: ItemProcessor"]
    assert m.within[ids["ReserveAll"]] == ["Fulfil: branch 0"]
    assert m.within[ids["Charge"]] == ["Fulfil: branch 1"]
    assert m.within[ids["ShipOne"]] == ["Ship: ItemProcessor"]
    assert m.within[ids["Fulfil"]] == m.within[ids["Ship"]] == []
    # each branch hangs from its state: a dotted edge to the branch's own start marker
    hung = sorted((s, d) for s, arrow, label, d in m.edges if arrow == "-.->" and not label)
    assert [s for s, _ in hung] == sorted([ids["Fulfil"], ids["Fulfil"], ids["ReserveAll"], ids["Ship"]])
    dot = draw(orders, "PlaceOrder", fmt="dot")
    assert dot.count("subgraph cluster_") == 4
    assert 'label="Fulfil: branch 1";' in dot


def test_output_is_deterministic(orders: Any) -> None:
    for fmt in ("mermaid", "dot"):
        first = draw(orders, "PlaceOrder", fmt=fmt)
        assert draw(load(ORDERS), "PlaceOrder", fmt=fmt) == first
        assert draw(orders, fmt=fmt) == first  # the only flow


def test_a_plain_asl_dict_draws_with_jsonata_conditions_and_shapes() -> None:
    m = Mermaid(draw(SMALL))
    assert m.edge("Check", WEIRD) == ("-->", "$states.input.n > 1")
    assert m.edge("Check", "Later") == ("-->", "default")
    ids = m.state_ids()
    assert m.nodes[ids["Later"]][0] == "{{"
    assert m.classed("succeed") == {"Done"}


def test_mermaid_labels_escape_quotes_hashes_and_brackets() -> None:
    names = [WEIRD, 'a|b<c>&d`e', "new\nline", "ünïcode ✓", "end", "style:#fff;"]
    states: dict[str, Any] = {n: {"Type": "Pass", "Next": names[i + 1]} for i, n in enumerate(names[:-1])}
    states[names[-1]] = {"Type": "Pass", "End": True}
    m = Mermaid(draw({"StartAt": names[0], "States": states}))  # parses every line back
    for _, label in m.nodes.values():
        assert '"' not in label
        assert re.fullmatch(r"(?:[^#`|<>&]|#\w+;|<br>)*", label), label
    assert sorted(m.state_ids()) == sorted(["new line" if n == "new\nline" else n for n in names])
    assert m.label(WEIRD) == WEIRD + "<br>Pass"


def test_dot_labels_escape_quotes_and_backslashes() -> None:
    names = [WEIRD, "back\\slash\\", "new\nline", "ünïcode ✓"]
    states: dict[str, Any] = {n: {"Type": "Pass", "Next": names[i + 1]} for i, n in enumerate(names[:-1])}
    states[names[-1]] = {"Type": "Pass", "End": True}
    dot = draw({"StartAt": names[0], "States": states}, fmt="dot")
    string = r'"(?:[^"\\\n]|\\.)*"'
    attrs = rf"\[\w+={string}(?:, \w+={string})*\]"
    for line in dot.splitlines()[1:-1]:
        assert re.fullmatch(rf" *(?:\w+(?: -> \w+)?(?: {attrs})?;|subgraph cluster_\w+ {{|}}|"
                            rf"label={string}; style={string}; color={string};)", line), line
    labels = re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)
    assert r'Say \"hi\" #1 [x]\nPass' in labels
    assert r"back\\slash\\\nPass" in labels
    assert r"new line\nPass" in labels


def test_a_dangling_next_draws_as_a_missing_state() -> None:
    m = Mermaid(draw({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))
    missing = [label for node_id, (_, label) in m.nodes.items() if node_id.startswith("m")]
    assert missing == ["Nowhere<br>no such state"]


def test_unknown_flow_and_format_are_errors_naming_the_choices(orders: Any) -> None:
    with pytest.raises(FlowengineError, match=r"no flow named 'PlaceOrdr'.*PlaceOrder"):
        draw(orders, "PlaceOrdr")
    with pytest.raises(FlowengineError, match="mermaid, dot, svg"):
        draw(orders, "PlaceOrder", fmt="png")


# -- the overlay ---------------------------------------------------------------------------------

def test_a_runs_path_marks_visited_states_counts_and_edges(orders: Any, happy_run: Any) -> None:
    assert happy_run.succeeded
    m = Mermaid(draw(orders, "PlaceOrder", path=happy_run.path))
    assert m.classed("visited") == {"Validate", "CheckSize", "Fulfil", "ReserveAll", "Reserve", "Charge", "Ship",
                                    "ShipOne", "Notify"}
    assert m.label("Reserve") == "Reserve<br>Task · x2"  # one entry per item
    assert m.label("ShipOne") == "ShipOne<br>Task · x2"
    assert m.label("Notify") == "Notify<br>Task"
    edges = m.styled_edges()
    assert {("Validate", "CheckSize"), ("CheckSize", "Fulfil"), ("Fulfil", "Ship"), ("Ship", "Notify"),
            ("Notify", "stop0"), ("start0", "Validate")} <= edges
    assert ("CheckSize", "ManualReview") not in edges and ("Validate", "Rejected") not in edges

    dot = draw(orders, "PlaceOrder", fmt="dot", path=happy_run.path)
    ids = m.state_ids()
    assert re.search(rf'^ *{ids["Reserve"]} \[label="Reserve\\nTask · x2", .*penwidth="3"\];$', dot, re.M)
    assert re.search(rf'^ *{ids["ManualReview"]} \[(?!.*penwidth).*\];$', dot, re.M)
    assert re.search(rf'^ *{ids["CheckSize"]} -> {ids["Fulfil"]} \[label="default", .*penwidth="2.5"\];$', dot, re.M)


def test_a_caught_failure_highlights_the_catch_edge(orders: Any) -> None:
    m = Mermaid(draw(orders, "PlaceOrder", path=["Validate", "Rejected"]))
    assert m.classed("visited") == {"Validate", "Rejected"}
    assert ("Validate", "Rejected") in m.styled_edges()
    assert ("Validate", "CheckSize") not in m.styled_edges()


def test_the_path_from_a_run_json_history_overlays_the_same_states(orders: Any, happy_run: Any) -> None:
    names = path_from_run(json.loads(json.dumps(happy_run.to_json(), default=str)))
    assert names == happy_run.path_names
    by_path = Mermaid(draw(orders, "PlaceOrder", path=happy_run.path))
    by_name = Mermaid(draw(orders, "PlaceOrder", path=names))
    assert by_name.classed("visited") == by_path.classed("visited")
    assert by_name.label("Reserve") == "Reserve<br>Task · x2"
    assert path_from_run({"path": ["A", "B/0/C"]}) == ["A", "B/0/C"]


# -- graph_command (the CLI's side) ----------------------------------------------------------------

def command(*args: Any, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = graph_command(*args, stdout=out, stderr=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_graph_prints_to_stdout(orders: Any) -> None:
    code, out, err = command(ORDERS, None, None, None, False, None, None)
    assert (code, err) == (0, "")
    assert out == draw(orders, "PlaceOrder")


def test_graph_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "flow.dot"
    target.write_text("mine\n")
    code, out, err = command(ORDERS, "PlaceOrder", None, str(target), False, None, None)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "exists" in err and "--force" in err
    assert target.read_text() == "mine\n"
    code, _, _ = command(ORDERS, "PlaceOrder", None, str(target), True, None, None)
    assert code == 0
    assert target.read_text().startswith('digraph "PlaceOrder" {')  # .dot chose the format


def test_graph_fences_mermaid_written_to_markdown(tmp_path: Path) -> None:
    target = tmp_path / "flow.md"
    assert command(ORDERS, None, "mermaid", str(target), False, None, None)[0] == 0
    assert target.read_text().startswith("```mermaid\nflowchart TD\n")


def test_graph_overlays_a_recorded_run(tmp_path: Path, happy_run: Any) -> None:
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(happy_run.to_json(), default=str))  # as `flowengine run --json` writes it
    code, out, err = command(ORDERS, "PlaceOrder", "mermaid", None, False, str(run_json), None)
    assert (code, err) == (0, "")
    assert "Ship" in Mermaid(out).classed("visited")


def test_graph_runs_the_flow_on_an_input(tmp_path: Path) -> None:
    code, out, _ = command(ORDERS, "PlaceOrder", "mermaid", None, False, None, json.dumps(ORDER))
    assert code == 0
    assert Mermaid(out).label("ShipOne") == "ShipOne<br>Task · x2"
    code, out, err = command(ORDERS, "PlaceOrder", "mermaid", None, False, None, '{"orderId": "o-1"}')
    assert code == 1  # drawn, but the run did not succeed (as `flowengine run` exits)
    assert Mermaid(out).classed("visited") == {"Validate", "Rejected"}
    assert "FAILED" in err and "OrderRejected" in err


@pytest.mark.parametrize("args, message", [
    ((ORDERS, "Nope", None, None, False, None, None), "no flow named 'Nope' (flows: PlaceOrder)"),
    ((ORDERS, None, "png", None, False, None, None), "choose one of mermaid, dot, svg"),
    ((ORDERS, None, None, None, False, "run.json", "{}"), "not both"),
    ((ORDERS, None, None, None, False, None, "{not json"), "--input is not JSON"),
    ((ORDERS, None, None, None, False, "/no/such/run.json", None), "cannot read /no/such/run.json"),
])
def test_graph_usage_problems_exit_2(args: tuple[Any, ...], message: str) -> None:
    code, out, err = command(*args)
    assert code == 2 and out == ""
    assert message in err


def test_graph_load_errors_print_diagnostics_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("app: x\nflows: [\n")
    code, out, err = command(str(bad), None, None, None, False, None, None)
    assert code == 2 and out == ""
    assert err.startswith(f"{bad}:")


# -- docs/graph.md shows what the code does ------------------------------------------------------

DOCS = (REPO / "docs" / "graph.md").read_text(encoding="utf-8")


def test_the_documented_example_is_the_output(tmp_path: Path) -> None:
    (definition,) = re.findall(r"```json\n(.*?)```", DOCS, re.DOTALL)
    (drawing,) = re.findall(r"```mermaid\n(.*?)```", DOCS, re.DOTALL)
    (path,) = re.findall(r"has the path `([^`]*)`", DOCS)
    (tmp_path / "pay.asl.json").write_text(definition, encoding="utf-8")
    assert draw(load(str(tmp_path / "pay.asl.json")), path=path.split(", ")) == drawing


def test_the_documented_python_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    (block,) = re.findall(r"```python\n(.*?)```", DOCS, re.DOTALL)
    exec(compile(block, "docs/graph.md", "exec"), {})  # noqa: S102 - our own docs
    assert "flowchart TD" in capsys.readouterr().out

"""The state graph of each scope: targets, reachability, terminals and loops (networkx).

Each scope (the machine, every Parallel branch, every Map ItemProcessor) is its own graph:
ASL forbids transitions across scopes, so ``Next`` from inside a branch to a state of the
outer machine is an error of its own (FE305), not a plain missing state.

Codes: FE301 StartAt names no state, FE302 a transition names no state, FE303 unreachable
state, FE304 loop with no exit, FE305 transition out of its scope, FE306 no terminal state in
a scope, FE307 state name defined twice (names are unique across all scopes).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from flowengine.dsl.source import Pointer
from flowengine.model.asl import ChoiceState, State, StateMachine
from flowengine.validate._common import Reporter, did_you_mean, machines, shorten


def check(sm: StateMachine, rep: Reporter) -> None:
    """Every graph problem of a state machine and its nested scopes."""
    owner: dict[str, StateMachine] = {}
    for scope in machines(sm):
        for name, st in scope.states.items():
            first = owner.get(name)
            if first is not None and first is not scope:
                where = _scope_name(first)
                rep.report("FE307", f"state name '{name}' is already used in {where}", st.loc.pointer, state=st.path,
                           key=True, hint="state names must be unique across the machine, its branches and "
                                          "Map processors; rename one of them")
            elif first is None:
                owner[name] = scope
    for scope in machines(sm):
        _check_scope(scope, owner, rep)


def _scope_name(scope: StateMachine) -> str:
    ptr = scope.loc.pointer
    if not ptr:
        return "the top-level machine"
    if ptr[-1] in ("ItemProcessor", "Iterator"):
        return f"the ItemProcessor of Map '{scope.path}'"
    return f"branch {ptr[-1]} of Parallel '{scope.path.rpartition('/')[0]}'"


def edges_of(st: State) -> list[tuple[str, Any, Pointer]]:
    """(kind, target, pointer of the target value) for every transition a state declares."""
    out: list[tuple[str, Any, Pointer]] = []
    raw = st.raw
    ptr = st.loc.pointer
    if "Next" in raw and st.type not in ("Choice", "Succeed", "Fail"):
        out.append(("Next", raw["Next"], ptr + ("Next",)))
    if isinstance(st, ChoiceState):
        if "Default" in raw:
            out.append(("Default", raw["Default"], ptr + ("Default",)))
        choices = raw.get("Choices")
        for i, rule in enumerate(choices if isinstance(choices, list) else []):
            if isinstance(rule, dict) and "Next" in rule:
                out.append(("Choices Next", rule["Next"], ptr + ("Choices", i, "Next")))
    catch = raw.get("Catch")
    if st.type in ("Task", "Parallel", "Map") and isinstance(catch, list):
        for i, c in enumerate(catch):
            if isinstance(c, dict) and "Next" in c:
                out.append(("Catch Next", c["Next"], ptr + ("Catch", i, "Next")))
    return out


def _check_scope(scope: StateMachine, owner: dict[str, StateMachine], rep: Reporter) -> None:
    states = scope.states
    if not states:
        return
    g: nx.DiGraph = nx.DiGraph()
    g.add_nodes_from(states)
    open_ends: set[str] = set()  # states whose way out is already reported (missing target, no Next)
    terminals: set[str] = set()
    for name, st in states.items():
        if st.is_terminal or st.type not in ("Pass", "Task", "Choice", "Wait", "Parallel", "Map"):
            terminals.add(name)  # unknown types are reported by .structure; don't cascade
        declared = edges_of(st)
        if not declared and not st.is_terminal:
            open_ends.add(name)
        for kind, target, tptr in declared:
            if not isinstance(target, str):
                open_ends.add(name)  # wrong type: .structure reports it
                continue
            if target in states:
                g.add_edge(name, target)
                continue
            open_ends.add(name)
            other = owner.get(target)
            if other is not None:
                rep.report("FE305", f"{kind} '{shorten(target)}' leaves {_scope_name(scope)}",
                           tptr, state=st.path,
                           hint=f"'{target}' is in {_scope_name(other)}; a transition stays inside its own "
                                "branch or Map processor (end the branch and continue after the Parallel/Map)")
            else:
                rep.report("FE302", f"{kind} names a state that does not exist: '{shorten(target)}'", tptr,
                           state=st.path, hint=did_you_mean(target, states) or _known(states))
    start = scope.raw.get("StartAt")
    sptr = scope.loc.pointer + ("StartAt",)
    if isinstance(start, str) and start not in states:
        other = owner.get(start)
        hint = (f"'{start}' is in {_scope_name(other)}; StartAt names a state of this scope" if other is not None
                else did_you_mean(start, states) or _known(states))
        rep.report("FE301", f"StartAt names a state that does not exist: '{shorten(start)}'", sptr,
                   state=scope.path or None, hint=hint)
        start = None
    if not isinstance(start, str):
        return
    reachable = nx.descendants(g, start) | {start}
    if len(reachable) < len(states):
        _report_unreachable(g, states, reachable, start, rep)
    if not terminals:
        if open_ends:
            return  # the missing transitions are reported; "no terminal" would only repeat them
        rep.report("FE306", f"{_scope_name(scope)} has no terminal state", scope.loc.pointer + ("States",),
                   state=scope.path or None, key=True,
                   hint="end some path with End: true, a Succeed state or a Fail state")
        return
    exits = terminals | open_ends
    finishing: set[str] = set(exits)
    todo = list(exits)
    while todo:  # one reverse search from every exit at once
        for pred in g.predecessors(todo.pop()):
            if pred not in finishing:
                finishing.add(pred)
                todo.append(pred)
    stuck = reachable - finishing
    if not stuck:
        return
    sub = g.subgraph(stuck)
    order = {name: i for i, name in enumerate(states)}
    for comp in nx.strongly_connected_components(sub):
        # report closed loops only: the states that merely lead into one are not the fault
        if any(succ not in comp for n in comp for succ in g.successors(n)):
            continue
        first = min(comp, key=order.__getitem__)
        cycle = _cycle_text(g.subgraph(comp), first)
        st = states[first]
        rep.report("FE304", f"loop with no exit: {cycle}", st.loc.pointer, state=st.path, key=True,
                   hint="no state of the loop leads to End, Succeed or Fail; add a Choice rule or Catch that "
                        "leaves it")


def _report_unreachable(g: nx.DiGraph, states: dict[str, State], reachable: set[str], start: str,
                        rep: Reporter) -> None:
    """One report per way in that is missing: the unreachable states nothing else leads to (or
    one state of an unreachable loop), not every state downstream of them."""
    order = {name: i for i, name in enumerate(states)}
    lost = g.subgraph(n for n in states if n not in reachable)
    dag = nx.condensation(lost)
    for comp_id in dag.nodes:
        if dag.in_degree(comp_id):
            continue  # reached from another unreachable state: that one is reported
        members = dag.nodes[comp_id]["members"]
        name = min(members, key=order.__getitem__)
        behind = len(nx.descendants(lost, name) - {name})
        also = f" (and so are the {behind} state{'s' if behind != 1 else ''} it leads to)" if behind else ""
        st = states[name]
        rep.report("FE303", f"state '{name}' is unreachable from StartAt '{start}'{also}", st.loc.pointer,
                   state=st.path, key=True, hint="no Next, Default, Choices or Catch leads here; connect it or remove it")


def _cycle_text(g: Any, first: str) -> str:
    try:
        cyc = nx.find_cycle(g, first)
        names = [u for u, _ in cyc] + [cyc[-1][1]]
    except nx.NetworkXNoCycle:
        names = [first]
    if len(names) > 6:
        names = names[:5] + ["…", names[-1]]
    return " → ".join(names)


def _known(states: dict[str, Any]) -> str:
    names = list(states)
    text = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
    return f"states here: {text}"

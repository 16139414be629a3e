"""Definition → program: every state compiled once into a linked graph of nodes.

Compiling parses every JSONPath, intrinsic and JSONata expression and resolves every
``Next``/``Default``/Catch target to a node, so running a state never parses or looks up
anything by name.  A :class:`Program` is immutable once built and may run any number of
executions, concurrently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowengine.engine.errors import DefinitionError
from flowengine.engine.expr import IntrinsicSyntaxError, JsonataSyntaxError
from flowengine.lang.jsonpath import PathSyntaxError
from flowengine.engine.states.choice import ChoiceNode
from flowengine.engine.states.fail import FailNode
from flowengine.engine.states.map_ import MapNode
from flowengine.engine.states.parallel import ParallelNode
from flowengine.engine.states.pass_ import PassNode
from flowengine.engine.states.succeed import SucceedNode
from flowengine.engine.states.task import TaskNode
from flowengine.engine.states.wait import WaitNode
from flowengine.model.asl import StateMachine

if TYPE_CHECKING:
    from flowengine.engine.states.base import Node

NODE_TYPES: dict[str, type["Node"]] = {
    "Pass": PassNode, "Task": TaskNode, "Choice": ChoiceNode, "Wait": WaitNode,
    "Succeed": SucceedNode, "Fail": FailNode, "Parallel": ParallelNode, "Map": MapNode,
}


class Program:
    """A compiled state machine (the top level, a Parallel branch or a Map processor)."""

    __slots__ = ("machine", "nodes", "start", "timeout_seconds")

    def __init__(self, machine: StateMachine, nodes: dict[str, "Node"], start: "Node") -> None:
        self.machine = machine
        self.nodes = nodes
        self.start = start
        self.timeout_seconds = machine.timeout_seconds


class Compiler:
    """Builds :class:`Program` objects (states with scopes of their own ask it for theirs)."""

    def program(self, machine: StateMachine) -> Program:
        nodes: dict[str, Node] = {}
        for name, state in machine.states.items():
            cls = NODE_TYPES.get(state.type)
            if cls is None:
                raise DefinitionError(f"state '{state.path or name}' has an unknown Type {state.type!r}")
            try:
                nodes[name] = cls(state, self)  # type: ignore[arg-type]
            except (PathSyntaxError, IntrinsicSyntaxError, JsonataSyntaxError, DefinitionError) as exc:
                if isinstance(exc, DefinitionError) and str(exc).startswith("state '"):
                    raise
                raise DefinitionError(f"state '{state.path or name}': {exc}") from None
        for node in nodes.values():
            for target, holder, attribute in node.targets():
                if target not in nodes:
                    raise DefinitionError(f"state '{node.path or node.name}' transitions to '{target}', "
                                          "which is not a state of its scope")
                setattr(holder, attribute, nodes[target])
        start = nodes.get(machine.start_at)
        if start is None:
            raise DefinitionError(f"StartAt '{machine.start_at}' is not a state of its scope")
        return Program(machine, nodes, start)


def compile_machine(machine: StateMachine) -> Program:
    """Compile a state machine (and all its branches and processors)."""
    return Compiler().program(machine)

"""Parallel: runs every branch on the same input, concurrently, and outputs their results in
branch order.  The first branch to fail fails the state with its error and stops the others.

Branches are asyncio tasks on the execution's loop (no threads).  Each branch is a scope
of its own: it reads the outer variables, and its assignments stay inside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from flowengine.engine.execution import run_scope
from flowengine.model.failure import RUNTIME, StatesFailure
from flowengine.engine.scope import Scope
from flowengine.engine.states.base import WorkNode
from flowengine.model.asl import ParallelState

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler, Program


async def run_all(coros: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run coroutines concurrently; results in order.  The first exception cancels the
    rest (and is re-raised once they have stopped)."""
    if len(coros) == 1:
        return [await coros[0]]
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    if failed:
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        raise failed[0].exception()  # type: ignore[misc]
    return [t.result() for t in tasks]


class ParallelNode(WorkNode):
    type = "Parallel"

    def __init__(self, state: ParallelState, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.branches: list[Program] = [compiler.program(b) for b in state.branches]

    def failed(self, scope: "Scope", failure: StatesFailure) -> None:
        if failure.error != RUNTIME or getattr(failure, "from_children", False):
            scope.record("ParallelStateFailed")

    async def attempt(self, scope: "Scope", data: Any) -> tuple[Any, dict[str, Any] | None]:
        _, branch_input = self.state_input(scope, data, None)
        started = scope.record("ParallelStateStarted")
        execution = scope.execution
        coros = [
            run_scope(program, Scope(execution, dict(scope.variables), "branch", started), branch_input)
            for program in self.branches
        ]
        try:
            results = await run_all(coros)
        except StatesFailure as failure:
            failure.from_children = True  # type: ignore[attr-defined]
            raise
        scope.record("ParallelStateSucceeded")
        return self.finish(scope, data, results)

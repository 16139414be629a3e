"""Where running code is: the execution and the Map iteration, as context variables.

Integrations receive a :class:`~flowengine.engine.tasks.TaskRequest`, which names
the state but not the execution object or the iteration.  Code that needs them (the local
Lambda runtime counting a function's concurrency per execution, a mock answering with
``ctx.map_index``, the trace labelling an attempt) reads these variables.  asyncio copies
the context into every task it creates, so Parallel branches and Map iterations see their
execution's values, and the clock copies it into the executor thread of a synchronous
handler.

* :data:`current_execution` is set once per execution, when it starts running;
* :data:`current_map_index` is set around each inline Map iteration (and each child
  execution of a Distributed Map) to the item's index: the innermost Map wins.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowengine.engine.execution import Execution

#: The execution whose states are running (None outside an execution).
current_execution: ContextVar["Execution | None"] = ContextVar("flowengine_execution", default=None)

#: The index of the innermost Map iteration that is running (None outside a Map).
current_map_index: ContextVar[int | None] = ContextVar("flowengine_map_index", default=None)


def map_index() -> int | None:
    """The index of the innermost Map iteration the caller runs in, or None."""
    return current_map_index.get()


__all__ = ["current_execution", "current_map_index", "map_index"]

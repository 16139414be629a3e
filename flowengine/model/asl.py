"""The Amazon States Language as frozen dataclasses.

One parser (:mod:`flowengine.dsl.asl`) builds these from canonical ASL dicts, whether the
dict came from a plain ``*.asl.json`` file or from an app file's flow.  The local engine,
the validator and the compiler all read this model, so what was validated and tested is
what ships.

Field names follow ASL (``result_path`` for ``ResultPath``).  A field that ASL lets the
user set to JSON ``null`` (InputPath, OutputPath, ResultPath) keeps ``None`` for null and
the string ``"$"`` when absent, which is AWS's default.  JSON values (Parameters, Result,
Arguments, Output, Assign, ...) stay plain dicts/lists/scalars; the engine compiles them
once when the definition loads.  Every node keeps ``raw`` (its canonical ASL dict) and its
``loc`` (where it was written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flowengine.model.diagnostics import Span

QueryLanguage = Literal["JSONPath", "JSONata"]
JSON = Any

JSONPATH: QueryLanguage = "JSONPath"
JSONATA: QueryLanguage = "JSONata"

#: Marker for "the field was not written" where None already means JSON null.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT", "__bool__": lambda self: False})()


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a node was written: its pointer inside the document.

    ``span`` is resolved on demand from the document's source, so loading a large JSON
    definition pays for positions only when there is something to report.
    """

    pointer: tuple[str | int, ...] = ()
    source: Any = field(default=None, compare=False, repr=False)

    @property
    def span(self) -> Span:
        return self.source.span(self.pointer) if self.source is not None else Span("<dict>")

    @property
    def key_span(self) -> Span:
        return self.source.key_span(self.pointer) if self.source is not None else Span("<dict>")


@dataclass(frozen=True, slots=True)
class Retrier:
    """One entry of a state's ``Retry`` list. Defaults are AWS's."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: Literal["FULL", "NONE"] = "NONE"
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of a state's ``Catch`` list."""

    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    output: JSON = ABSENT
    assign: JSON = ABSENT
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A Choice rule (top-level, with ``next``) or a nested boolean expression.

    JSONPath mode: ``variable`` + ``operator`` + ``value`` (``...Path`` operators hold a
    path in ``value``), or ``and_`` / ``or_`` / ``not_``.  JSONata mode: ``condition``.
    """

    next: str | None = None
    variable: str | None = None
    operator: str | None = None
    value: JSON = ABSENT
    and_: tuple["ChoiceRule", ...] | None = None
    or_: tuple["ChoiceRule", ...] | None = None
    not_: "ChoiceRule | None" = None
    condition: JSON = ABSENT
    assign: JSON = ABSENT
    output: JSON = ABSENT
    comment: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    loc: Loc = field(default_factory=Loc)


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """Fields every state type shares.  ``path`` names the state with its scopes (Map/Step)."""

    name: str
    type: str
    query_language: QueryLanguage = JSONPATH
    comment: str | None = None
    next: str | None = None
    end: bool = False
    input_path: str | None = "$"
    output_path: str | None = "$"
    output: JSON = ABSENT
    assign: JSON = ABSENT
    path: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    loc: Loc = field(default_factory=Loc)

    @property
    def is_terminal(self) -> bool:
        return self.end or self.type in ("Succeed", "Fail")


@dataclass(frozen=True, slots=True, kw_only=True)
class PassState(State):
    result: JSON = ABSENT
    result_path: str | None = "$"
    parameters: JSON = ABSENT


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState(State):
    resource: str = ""
    parameters: JSON = ABSENT
    arguments: JSON = ABSENT
    result_selector: JSON = ABSENT
    result_path: str | None = "$"
    timeout_seconds: JSON = ABSENT  # int, or a JSONata expression string
    timeout_seconds_path: str | None = None
    heartbeat_seconds: JSON = ABSENT
    heartbeat_seconds_path: str | None = None
    credentials: JSON = ABSENT
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceState(State):
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitState(State):
    seconds: JSON = ABSENT
    seconds_path: str | None = None
    timestamp: JSON = ABSENT
    timestamp_path: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedState(State):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class FailState(State):
    error: JSON = ABSENT
    error_path: str | None = None
    cause: JSON = ABSENT
    cause_path: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelState(State):
    branches: tuple["StateMachine", ...] = ()
    parameters: JSON = ABSENT
    arguments: JSON = ABSENT
    result_selector: JSON = ABSENT
    result_path: str | None = "$"
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemBatcher:
    max_items_per_batch: JSON = ABSENT
    max_items_per_batch_path: str | None = None
    max_input_bytes_per_batch: JSON = ABSENT
    max_input_bytes_per_batch_path: str | None = None
    batch_input: JSON = ABSENT


@dataclass(frozen=True, slots=True, kw_only=True)
class MapState(State):
    """A Map state.  ``processor`` is ItemProcessor, or the legacy Iterator (``legacy_iterator``)."""

    processor: "StateMachine | None" = None
    mode: Literal["INLINE", "DISTRIBUTED"] = "INLINE"
    execution_type: str | None = None  # DISTRIBUTED: STANDARD | EXPRESS
    legacy_iterator: bool = False
    items_path: str | None = "$"
    items: JSON = ABSENT
    item_selector: JSON = ABSENT
    parameters: JSON = ABSENT  # legacy spelling of ItemSelector
    arguments: JSON = ABSENT
    result_selector: JSON = ABSENT
    result_path: str | None = "$"
    max_concurrency: JSON = ABSENT  # int (0 = unlimited) or JSONata expression
    max_concurrency_path: str | None = None
    tolerated_failure_count: JSON = ABSENT
    tolerated_failure_count_path: str | None = None
    tolerated_failure_percentage: JSON = ABSENT
    tolerated_failure_percentage_path: str | None = None
    item_batcher: ItemBatcher | None = None
    item_reader: JSON = ABSENT
    result_writer: JSON = ABSENT
    label: str | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True)
class StateMachine:
    """A state machine, a Parallel branch, or a Map's ItemProcessor: StartAt plus States."""

    start_at: str
    states: dict[str, State]
    query_language: QueryLanguage = JSONPATH
    comment: str | None = None
    timeout_seconds: int | None = None
    version: str | None = None
    path: str = ""  # the scope's path: "" for the top level, "Map" or "Parallel/0" inside
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    loc: Loc = field(default_factory=Loc)

    def walk(self) -> "list[State]":
        """Every state, this scope and nested scopes, depth first in definition order."""
        out: list[State] = []
        for st in self.states.values():
            out.append(st)
            if isinstance(st, ParallelState):
                for b in st.branches:
                    out.extend(b.walk())
            elif isinstance(st, MapState) and st.processor is not None:
                out.extend(st.processor.walk())
        return out


STATE_TYPES: dict[str, type[State]] = {
    "Pass": PassState,
    "Task": TaskState,
    "Choice": ChoiceState,
    "Wait": WaitState,
    "Succeed": SucceedState,
    "Fail": FailState,
    "Parallel": ParallelState,
    "Map": MapState,
}

"""What every compiled state shares: dataflow fields, Assign, Retry and Catch.

A definition compiles once into a graph of :class:`Node` objects (one subclass per state
type, in the sibling modules); ``next`` links point at nodes, not names.  The interpreter
loop (:func:`flowengine.engine.execution.run_scope`) calls ``node.run(scope, data)`` for
the synchronous states (Pass, Choice, Succeed, Fail) and awaits ``node.arun(scope, data)``
for the others, so a Pass transition costs no coroutine.

JSONPath dataflow, per ASL::

    InputPath → Parameters → (state's work) → ResultSelector → ResultPath → OutputPath

JSONata dataflow: ``$states.input`` → Arguments → work → ``$states.result`` → Output,
with Assign evaluated against the same ``$states`` and applied when the state exits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from flowengine.engine.expr import JsonataTemplate, compile_template
from flowengine.model.failure import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from flowengine.lang.jsonpath import (
    PathNotFound,
    ReferencePath,
    compile_path,
    compile_reference_path,
    dumps,
    missing_property_cause,
)
from flowengine.engine.payload import compile_payload, optional_payload
from flowengine.engine.retry import delay, matches
from flowengine.model.asl import ABSENT, JSONATA, Catcher, Retrier, State

if TYPE_CHECKING:
    from flowengine.engine.compiler import Compiler
    from flowengine.engine.scope import Scope

Getter = Callable[[Any, Any], Any]
Outcome = tuple["Node | None", Any]


def _empty(data: Any, scope: Any) -> Any:
    return {}


def compile_select_path(text: str | None, field: str) -> Getter | None:
    """InputPath / OutputPath: None for ``$`` (identity); JSON null selects ``{}``."""
    if text == "$":
        return None
    if text is None:
        return _empty
    path = compile_path(text)
    resolve = path.resolve

    def select(data: Any, scope: Any) -> Any:
        try:
            return resolve(data, scope.context, scope.variables)
        except PathNotFound as exc:
            raise StatesFailure(RUNTIME, missing_property_cause(path, exc)) from None

    return select


class ResultPath:
    """Where a result goes in the state's raw input: ``$`` replaces it, null discards the
    result, a reference path merges it (copy-on-write)."""

    __slots__ = ("mode", "ref")

    def __init__(self, text: str | None) -> None:
        self.ref: ReferencePath | None = None
        if text == "$":
            self.mode = 0
        elif text is None:
            self.mode = 1
        else:
            self.mode = 2
            self.ref = compile_reference_path(text)

    def apply(self, raw_input: Any, result: Any) -> Any:
        mode = self.mode
        if mode == 0:
            return result
        if mode == 1:
            return raw_input
        return self.ref.apply(raw_input, result)  # type: ignore[union-attr]


def compile_assign(value: Any, jsonata: bool) -> Any:
    """An Assign block: a payload template (JSONPath) or a JSONata template."""
    if value is ABSENT or value is None:
        return None
    return compile_jsonata(value, "Assign") if jsonata else compile_payload(value)


def compile_jsonata(value: Any, field: str) -> JsonataTemplate | None:
    """A JSONata-mode field (None when absent)."""
    if value is ABSENT:
        return None
    return compile_template(value, field=field)


def jsonata_states(scope: "Scope", data: Any, **extra: Any) -> dict[str, Any]:
    """The ``$states`` binding for a JSONata evaluation."""
    states = {"input": data, "context": scope.context()}
    if extra:
        states.update(extra)
    return states


class NumberSetting:
    """A numeric field given as a literal, a ``...Path`` or a JSONata expression
    (MaxConcurrency, ToleratedFailureCount, TimeoutSeconds ...).  ``kind`` is ``"integer"``
    or ``"float"``.  A path may select numeric text ("1"), which AWS also accepts."""

    __slots__ = ("field", "kind", "literal", "path", "template")

    def __init__(self, field: str, literal: Any, path: str | None, jsonata: bool, kind: str) -> None:
        self.field = field
        self.kind = kind
        self.literal = literal if literal is not ABSENT and not isinstance(literal, str) else None
        self.path = compile_path(path) if path is not None else None
        self.template = compile_jsonata(literal, field) if jsonata and isinstance(literal, str) else None

    @property
    def present(self) -> bool:
        return self.literal is not None or self.path is not None or self.template is not None

    def value(self, scope: "Scope", effective: Any, states: dict[str, Any] | None) -> Any:
        """The number, or None when the field is absent.  Raises AWS's failures."""
        if self.literal is not None:
            return self.literal
        if self.template is not None:
            v = scope.jsonata(self.template, states or jsonata_states(scope, effective))
            if not _is_kind(v, self.kind):
                if self.template.expression is not None:
                    raise self.template.type_failure(self.kind, v)
                raise StatesFailure(QUERY_EVALUATION_ERROR, f"The {self.field} field must be a {self.kind}")
            return int(v) if self.kind == "integer" else v
        if self.path is None:
            return None
        try:
            v = self.path.resolve(effective, scope.context, scope.variables)
        except PathNotFound as exc:
            raise StatesFailure(RUNTIME, missing_property_cause(self.path, exc)) from None
        number = _coerce(v, self.kind)
        if number is None:
            shown = v if isinstance(v, str) else dumps(v)
            raise StatesFailure(RUNTIME, f"The {self.field}Path field refers to value \"{shown}\" which is not "
                                         f"a valid {self.kind}: {self.path.text}")
        return number


def _coerce(v: Any, kind: str) -> int | float | None:
    if isinstance(v, str):
        try:
            v = int(v) if kind == "integer" else float(v)
        except ValueError:
            return None
    if not _is_kind(v, kind):
        return None
    return int(v) if kind == "integer" else v


def _is_kind(v: Any, kind: str) -> bool:
    if isinstance(v, bool):
        return False
    if kind == "integer":
        return isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    return isinstance(v, (int, float))


class CatchHandler:
    """A compiled Catcher: which errors it takes and what it outputs."""

    __slots__ = ("error_equals", "next_name", "next", "jsonata", "result_path", "assign", "output")

    def __init__(self, catcher: Catcher, jsonata: bool) -> None:
        self.error_equals = catcher.error_equals
        self.next_name = catcher.next
        self.next: Node | None = None
        self.jsonata = jsonata
        self.result_path = None if jsonata else ResultPath(catcher.result_path)
        self.assign = compile_assign(catcher.assign, jsonata)
        self.output = compile_jsonata(catcher.output, "Output") if jsonata else None

    def handle(self, scope: "Scope", raw_input: Any, failure: StatesFailure) -> tuple[Any, dict[str, Any] | None]:
        """The state's output and assignments when this catcher takes ``failure``."""
        error_output = {"Error": failure.error, "Cause": failure.cause if failure.cause is not None else ""}
        try:
            if self.jsonata:
                states = jsonata_states(scope, raw_input, errorOutput=error_output)
                assigned = scope.jsonata(self.assign, states) if self.assign else None
                out = scope.jsonata(self.output, states) if self.output else error_output
                return out, assigned
            assigned = self.assign.build(error_output, scope) if self.assign else None
            return self.result_path.apply(raw_input, error_output), assigned  # type: ignore[union-attr]
        except StatesFailure as exc:
            raise scope.locate(exc) from None


class Node:
    """A compiled state.  Subclasses set ``is_async``/``retryable`` and implement ``run`` or
    ``attempt`` (the retryable body of Task, Parallel and Map)."""

    type: ClassVar[str] = ""
    is_async: ClassVar[bool] = False
    retryable: ClassVar[bool] = False

    def __init__(self, state: State, compiler: "Compiler") -> None:
        self.state = state
        self.name = state.name
        self.path = state.path
        self.entered_type = f"{state.type}StateEntered"
        self.exited_type = f"{state.type}StateExited"
        self.jsonata = state.query_language == JSONATA
        self.next_name = state.next
        self.end = state.end
        self.next: Node | None = None
        if self.jsonata:
            self.input_path = self.output_path = None
            self.output = compile_jsonata(state.output, "Output")
        else:
            self.input_path = compile_select_path(state.input_path, "InputPath")
            self.output_path = compile_select_path(state.output_path, "OutputPath")
            self.output = None
        self.assign = compile_assign(state.assign, self.jsonata)
        retry: tuple[Retrier, ...] = getattr(state, "retry", ())
        catch: tuple[Catcher, ...] = getattr(state, "catch", ())
        self.retriers = retry
        self.catchers = tuple(CatchHandler(c, self.jsonata) for c in catch)

    # -- linking ------------------------------------------------------------------------

    def targets(self) -> list[tuple[str, object, str]]:
        """``(state name, holder, attribute)`` for each transition: the compiler sets
        ``holder.attribute`` to the node of that name."""
        out: list[tuple[str, object, str]] = []
        if self.next_name is not None and not self.end:
            out.append((self.next_name, self, "next"))
        out.extend((c.next_name, c, "next") for c in self.catchers)
        return out

    # -- execution ----------------------------------------------------------------------

    def run(self, scope: "Scope", data: Any) -> Outcome:  # pragma: no cover - overridden
        raise NotImplementedError

    async def arun(self, scope: "Scope", data: Any) -> Outcome:
        """Retryable states: enter, run ``attempt`` under Retry/Catch, exit."""
        scope.enter(self, data)
        counts: list[int] | None = None
        while True:
            try:
                out, assigned = await self.attempt(scope, data)
            except StatesFailure as raw:
                failure = scope.locate(raw)
                wait, counts = self._retry_delay(scope, failure, counts)
                if wait is not None:
                    if scope.execution.listeners:
                        scope.execution.notify("retry", scope, self, failure, wait)
                    if wait > 0:
                        await asyncio.sleep(wait)
                    scope.retried()
                    if scope.execution.listeners:
                        scope.execution.notify("retry_started", scope, self)
                    continue
                self.failed(scope, failure)
                heartbeat = getattr(failure, "heartbeat", False)
                for catcher in self.catchers:
                    if matches(catcher.error_equals, failure.error, heartbeat):
                        if scope.execution.listeners:
                            # (an uncaught failure is reported by run_scope, where it leaves the scope)
                            scope.execution.notify("state_failed", scope, self, failure)
                        out, assigned = catcher.handle(scope, data, failure)
                        scope.exit(self, out, assigned)
                        return catcher.next, out
                self.uncaught(scope, failure)
                raise failure from None
            scope.exit(self, out, assigned)
            return self.next, out

    def _retry_delay(self, scope: "Scope", failure: StatesFailure,
                     counts: list[int] | None) -> tuple[float | None, list[int] | None]:
        # ASL: the first retrier whose ErrorEquals matches decides; once its MaxAttempts
        # are used up the state fails (later retriers are not consulted).
        heartbeat = getattr(failure, "heartbeat", False)
        for i, retrier in enumerate(self.retriers):
            if matches(retrier.error_equals, failure.error, heartbeat):
                if counts is None:
                    counts = [0] * len(self.retriers)
                if counts[i] >= retrier.max_attempts:
                    return None, counts
                counts[i] += 1
                return delay(retrier, counts[i], scope.rng), counts
        return None, counts

    async def attempt(self, scope: "Scope", data: Any) -> tuple[Any, dict[str, Any] | None]:  # pragma: no cover
        raise NotImplementedError

    def failed(self, scope: "Scope", failure: StatesFailure) -> None:
        """Hook: the state has failed for good, caught or not (Map/Parallel record ``...StateFailed``)."""

    def uncaught(self, scope: "Scope", failure: StatesFailure) -> None:
        """Hook: the state fails for good (Task records TaskStateAborted inside a branch)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path or self.name}>"


class WorkNode(Node):
    """Task, Parallel and Map: retryable states whose result ResultSelector and ResultPath
    (JSONPath) or Output (JSONata) shape.  Task and Parallel also take Parameters/Arguments
    (``takes_parameters``); Map builds its iterations' input with ItemSelector instead."""

    is_async = True
    retryable = True
    takes_parameters = True

    def __init__(self, state: Any, compiler: "Compiler") -> None:
        super().__init__(state, compiler)
        self.result_path = ResultPath(state.result_path)
        self.result_selector = None if self.jsonata else optional_payload(state.result_selector)
        self.parameters = None
        self.arguments = None
        if self.takes_parameters:
            if self.jsonata:
                self.arguments = compile_jsonata(state.arguments, "Arguments")
            else:
                self.parameters = optional_payload(state.parameters)

    def state_input(self, scope: "Scope", data: Any, states: dict[str, Any] | None) -> tuple[Any, Any]:
        """(effective input, payload): InputPath → Parameters, or Arguments (default: the input)."""
        if self.jsonata:
            if self.arguments is None:
                return data, data
            return data, scope.jsonata(self.arguments, states or jsonata_states(scope, data))
        effective = self.input_path(data, scope) if self.input_path is not None else data
        return effective, (self.parameters.build(effective, scope) if self.parameters is not None else effective)

    def finish(self, scope: "Scope", raw_input: Any, result: Any) -> tuple[Any, dict[str, Any] | None]:
        """The state's output and assignments from its result.

        JSONPath: ResultSelector → Assign (``$`` is the selected result) → ResultPath →
        OutputPath.  JSONata: Assign and Output against ``$states.input``/``$states.result``.
        """
        if self.jsonata:
            if self.assign is None and self.output is None:
                return result, None
            states = jsonata_states(scope, raw_input, result=result)
            assigned = scope.jsonata(self.assign, states) if self.assign is not None else None
            out = scope.jsonata(self.output, states) if self.output is not None else result
            return out, assigned
        if self.result_selector is not None:
            result = self.result_selector.build(result, scope)
        assigned = self.assign.build(result, scope) if self.assign is not None else None
        out = self.result_path.apply(raw_input, result)
        if self.output_path is not None:
            out = self.output_path(out, scope)
        return out, assigned

"""Test one state in isolation, offline: what AWS's TestState API does, on the local engine.

:func:`test_state` runs a single state of a flow (or a single state definition) once, on
the input you give, and reports the data after each processing step, the state it would go
to next, or its error::

    r = test_state("app.yaml", "Charge", input={"orderId": "o1", "total": 30},
                   mock=mocks.returns({"paymentId": "p1"}))
    r.after_input_path      # InputPath applied
    r.after_parameters      # Parameters applied: what the Task sends
    r.result                # what the Task returned (here: the mock)
    r.after_result_selector, r.after_result_path, r.output
    r.next_state            # "Ship"

The steps are the engine's own: the state is compiled as it is for a run, and each step is
observed as the state runs (nothing is re-implemented here).  JSONPath states report
``afterInputPath``, ``afterParameters``, ``result``, ``afterResultSelector`` and
``afterResultPath``; JSONata states ``afterArguments`` and ``result`` (``output`` is
Output's value; ``variables`` holds what Assign set), as AWS's ``inspectionData`` does.

``status`` follows TestState: ``SUCCEEDED``; ``CAUGHT_ERROR`` (a Catch takes the error:
``next_state`` is the catcher's, ``output`` its output); ``RETRIABLE`` (a Retrier would
retry: ``retry_delay`` is the backoff, ``retry_index`` which Retrier; pass ``retry_count``
to say how many retries were already used); ``FAILED``.

A Task without a ``mock`` runs for real: its app function's handler (or ``handlers=``), or
whatever integration the engine has for its resource.  A Map or Parallel with a ``mock``
takes the mock as its whole result (its iterations or branches do not run), as TestState
does.  ``mock`` is a :mod:`flowengine.integrations.mocks` mock, or TestState's own shape:
``{"result": <JSON value or JSON text>}`` or ``{"errorOutput": {"error": ..., "cause": ...}}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowengine.dsl.app import LoadedApp, desugar_states, from_value, load
from flowengine.dsl.asl import build_state_machine
from flowengine.engine.compiler import compile_machine
from flowengine.engine.context import current_execution
from flowengine.model.failure import StatesFailure
from flowengine.engine.retry import matches
from flowengine.runtime.app import AppRuntime
from flowengine.runtime.engine import Engine, Prepared, parse_input
from flowengine.engine.scope import Scope
from flowengine.engine.states.base import WorkNode
from flowengine.errors import FlowengineError
from flowengine.integrations.lambda_local import LambdaFunction
from flowengine.integrations.mocks import Mock, MockCallContext, raises, returns

if TYPE_CHECKING:
    from flowengine.engine.compiler import Program
    from flowengine.engine.execution import Execution
    from flowengine.engine.states.base import Node

__all__ = ["StateTestResult", "test_state"]

SUCCEEDED, FAILED, CAUGHT_ERROR, RETRIABLE = "SUCCEEDED", "FAILED", "CAUGHT_ERROR", "RETRIABLE"

#: AWS inspectionData key → StateTestResult attribute
_STEPS = {
    "afterInputPath": "after_input_path",
    "afterParameters": "after_parameters",
    "afterArguments": "after_arguments",
    "afterItemsPath": "after_items_path",
    "result": "result",
    "afterResultSelector": "after_result_selector",
    "afterResultPath": "after_result_path",
}


@dataclass(frozen=True, eq=False)
class StateTestResult:
    """What one state did with one input (see the module docstring).

    ``inspection`` holds the steps the state has, by AWS's ``inspectionData`` names
    (``input``, ``afterInputPath``, ``afterParameters``, ``result``, ``afterResultSelector``,
    ``afterResultPath``, ``afterArguments``, ``afterItemsPath``); the attributes of the same
    names (``after_input_path`` ...) read them (None for a step the state does not have or
    did not reach: check ``"afterParameters" in r.inspection`` when null is a real value).
    """

    __test__ = False  # not a pytest test class, despite its name

    state: str
    status: str
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    retry_delay: float | None = None
    retry_index: int | None = None
    catch_index: int | None = None

    def __getattr__(self, name: str) -> Any:
        for key, attr in _STEPS.items():
            if attr == name:
                return self.inspection.get(key)
        raise AttributeError(name)

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    def to_json(self) -> dict[str, Any]:
        """TestState's response shape: ``status``, ``output``/``error``/``cause``, ``nextState``
        and ``inspectionData`` (values as JSON text, as AWS returns them)."""
        out: dict[str, Any] = {"status": self.status}
        if self.output is not None or self.status in (SUCCEEDED, CAUGHT_ERROR):
            out["output"] = json.dumps(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.next_state is not None:
            out["nextState"] = self.next_state
        data: dict[str, Any] = {k: json.dumps(v) for k, v in self.inspection.items()}
        if self.variables:
            data["variables"] = json.dumps(self.variables)
        details = {k: v for k, v in (("retryBackoffIntervalSeconds", self.retry_delay),
                                     ("retryIndex", self.retry_index), ("catchIndex", self.catch_index))
                   if v is not None}
        if details:
            data["errorDetails"] = details
        out["inspectionData"] = data
        return out


def test_state(definition_or_app: Any, state_name: str | None = None, *, input: Any = None,
               context: Mapping[str, Any] | None = None, mock: Any = None,
               variables: Mapping[str, Any] | None = None, flow: str | None = None,
               handlers: Mapping[str, Callable[..., Any] | LambdaFunction] | None = None,
               retry_count: int = 0, seed: int | None = 0) -> StateTestResult:
    """Run one state once and report each processing step (see the module docstring).

    * ``definition_or_app``: an app file or ASL path, a definition dict, a ``LoadedApp`` or
      ``App``, or a single state's definition (a dict with ``Type``);
    * ``state_name``: the state, by name or path (``Ship/ShipOne``); for a single state
      definition, what to call it (default ``"State"``); ``flow``: which flow of an app
      (default: the one that has the state);
    * ``input``: the state's input; ``variables``: the variables in scope (``$name``);
    * ``context``: values merged into the context object ``$$`` (``{"Execution": {"Id": ...}}``,
      ``{"State": {"RetryCount": 2}}``, ``{"Map": {"Item": {...}}}``);
    * ``mock``: the Task's (or Map's, Parallel's) result or error, instead of running it;
    * ``retry_count``: how many retries the matching Retrier has used already (for the
      ``RETRIABLE`` answer and its backoff);
    * ``handlers``, ``seed``: as for :func:`~flowengine.testing.run_flow`.
    """
    single = isinstance(definition_or_app, Mapping) and "Type" in definition_or_app \
        and "States" not in definition_or_app
    if isinstance(definition_or_app, (str, bytes)) or hasattr(definition_or_app, "__fspath__"):
        path = definition_or_app.decode() if isinstance(definition_or_app, bytes) else definition_or_app
        definition_or_app = load(os.fspath(path))
    # The same runtime as every entry point: the app's resources emulated, nothing leaves the machine.
    with AppRuntime(None if single else definition_or_app, seed=seed, handlers=handlers) as runtime:
        engine = runtime.engine
        prepared, node = _find(engine, definition_or_app, state_name, flow)
        if mock is not None:
            mock = _as_mock(mock)
            if node.type == "Task":
                engine.mocks = _single_mock_set(node, mock)
        value, text = parse_input(input, engine.limits)
        execution = engine._new_execution(prepared, text, "test-state", None)
        return engine.run_async(_run(execution, node, value, dict(variables or {}), dict(context or {}), mock,
                                     retry_count))


test_state.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, when imported into one


# -- finding the state ----------------------------------------------------------------------


def _find(engine: Engine, source: Any, state_name: str | None, flow: str | None) -> tuple[Prepared, "Node"]:
    if isinstance(source, Mapping) and "Type" in source and "States" not in source:
        return _single_state(dict(source), state_name or "State")
    if state_name is None:
        raise TypeError("test_state() needs the state's name when given a whole flow")
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        source = load(str(source) if not isinstance(source, bytes) else source.decode())
    if flow is None:
        flow = _flow_with(source, state_name)
    prepared = engine.prepare(source, flow)
    node = _node(prepared.program, state_name)
    if node is None:
        names = [s.path or s.name for s in prepared.program.machine.walk()]
        raise FlowengineError(f"no state {state_name!r} in flow '{prepared.name}' (its states: {', '.join(names)})")
    return prepared, node


def _flow_with(source: Any, state_name: str) -> str | None:
    """The flow of an app that has the state (None: leave the choice to the engine)."""
    app = source.app if isinstance(source, LoadedApp) else source
    if not hasattr(app, "flows"):
        return None
    if len(app.flows) <= 1:
        return None
    for name, f in app.flows.items():
        if any(state_name in (s.name, s.path) for s in f.definition.walk()):
            return name
    return None


def _node(program: "Program", name: str) -> "Node | None":
    for node in program.nodes.values():
        if name in (node.name, node.path):
            return node
        inner: list[Program] = list(node.branches) if node.type == "Parallel" else []  # type: ignore[attr-defined]
        processor = getattr(node, "processor", None) if node.type == "Map" else None
        if processor is not None:
            inner.append(processor)
        for p in inner:
            found = _node(p, name)
            if found is not None:
                return found
    return None


def _single_state(state: dict[str, Any], name: str) -> tuple[Prepared, "Node"]:
    """A machine holding just the state; its transitions lead to placeholder Succeed states."""
    targets = set()
    if isinstance(state.get("Next"), str):
        targets.add(state["Next"])
    if isinstance(state.get("Default"), str):
        targets.add(state["Default"])
    for key in ("Choices", "Catch"):
        for item in state.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("Next"), str):
                targets.add(item["Next"])
    if not targets and not state.get("End") and state.get("Type") not in ("Choice", "Succeed", "Fail"):
        state = {**state, "End": True}
    states = {name: state}
    for t in sorted(targets - {name}):
        states[t] = {"Type": "Succeed"}
    definition: dict[str, Any] = {"StartAt": name, "States": states}
    if "QueryLanguage" in state:
        definition["QueryLanguage"] = state["QueryLanguage"]
    machine = build_state_machine(desugar_states(definition), from_value(definition).source)
    program = compile_machine(machine)
    return Prepared(program, "TestState", False), program.nodes[name]


# -- mocks ----------------------------------------------------------------------------------


def _as_mock(mock: Any) -> Mock:
    if isinstance(mock, Mock):
        return mock
    if isinstance(mock, Mapping) and set(mock) <= {"result", "errorOutput"} and len(mock) == 1:
        if "result" in mock:
            result = mock["result"]
            return returns(json.loads(result) if isinstance(result, str) else result)
        error = mock["errorOutput"]
        if not isinstance(error, Mapping) or not isinstance(error.get("error"), str):
            raise TypeError('a TestState errorOutput mock is {"errorOutput": {"error": "Name", "cause": "..."}}')
        return raises(error["error"], error.get("cause"))
    raise TypeError('mock= takes a mock (mocks.returns(...), mocks.raises(...)), {"result": ...} or '
                    f'{{"errorOutput": {{"error": ..., "cause": ...}}}}, not {type(mock).__name__}')


def _single_mock_set(node: "Node", mock: Mock) -> Any:
    from flowengine.integrations.mocks import MockSet

    return MockSet({node.path or node.name: mock})


# -- running it -----------------------------------------------------------------------------


class _TestScope(Scope):
    """A scope whose context object ``$$`` carries the caller's overrides."""

    __slots__ = ("_merged", "overrides")

    overrides: dict[str, Any]

    def context(self) -> dict[str, Any]:
        ctx = super().context()
        if self.overrides and ctx is not getattr(self, "_merged", None):
            _merge(ctx, self.overrides)
            self._merged = ctx
        return ctx


def _merge(target: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    for k, v in overrides.items():
        if isinstance(v, Mapping) and isinstance(target.get(k), dict):
            target[k] = dict(target[k])
            _merge(target[k], v)
        else:
            target[k] = v


class _Steps:
    """Observes a compiled node's dataflow pieces as they run (the node is this run's own)."""

    def __init__(self, node: "Node") -> None:
        self.seen: dict[str, Any] = {}
        self.jsonata = node.jsonata
        self.identity_input = node.input_path is None
        self.work = isinstance(node, WorkNode)
        seen = self.seen

        def wrap_fn(attr: str, key: str) -> None:
            fn = getattr(node, attr, None)
            if fn is None:
                return

            def observed(value: Any, scope: Any) -> Any:
                out = fn(value, scope)
                seen[key] = out
                return out

            setattr(node, attr, observed)

        def wrap_builder(attr: str, key: str) -> None:
            payload = getattr(node, attr, None)
            if payload is None or not hasattr(payload, "build"):
                return
            setattr(node, attr, _Observed(payload, "build", key, seen))

        wrap_fn("input_path", "afterInputPath")
        wrap_builder("parameters", "afterParameters")
        wrap_builder("result_selector", "afterResultSelector")
        result_path = getattr(node, "result_path", None)
        if result_path is not None and hasattr(result_path, "apply"):
            node.result_path = _Observed(result_path, "apply", "afterResultPath", seen)  # type: ignore[attr-defined]
        if isinstance(node, WorkNode):
            state_input = node.state_input
            finish = node.finish

            def observed_input(scope: Any, data: Any, states: Any) -> tuple[Any, Any]:
                effective, payload = state_input(scope, data, states)
                seen.setdefault("afterInputPath", effective)
                seen["afterArguments" if node.jsonata else "afterParameters"] = payload
                return effective, payload

            def observed_finish(scope: Any, raw_input: Any, result: Any) -> tuple[Any, Any]:
                seen["result"] = result
                return finish(scope, raw_input, result)

            node.state_input = observed_input  # type: ignore[method-assign]
            node.finish = observed_finish  # type: ignore[method-assign]


class _Observed:
    """A stand-in for a compiled payload or ResultPath that records what its method returns."""

    def __init__(self, inner: Any, method: str, key: str, seen: dict[str, Any]) -> None:
        self._inner = inner
        self._call = getattr(inner, method)
        self._key = key
        self._seen = seen
        setattr(self, method, self._observe)

    def _observe(self, *args: Any) -> Any:
        out = self._call(*args)
        if self._key == "afterResultPath":
            self._seen.setdefault("result", args[1])  # a Pass state's Result/Parameters value
        self._seen[self._key] = out
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def _run(execution: "Execution", node: "Node", data: Any, variables: dict[str, Any],
               context: dict[str, Any], mock: Mock | None, retry_count: int) -> StateTestResult:
    current_execution.set(execution)
    scope = _TestScope(execution, variables)
    scope.overrides = context
    state_overrides = context.get("State") or {}
    steps = _Steps(node)
    name = node.path or node.name
    if mock is not None and isinstance(node, WorkNode) and node.type != "Task":
        _mock_whole_state(node, mock, execution)
    try:
        if isinstance(node, WorkNode):
            scope.enter(node, data)
            if isinstance(state_overrides.get("RetryCount"), int):
                scope.retry_count = state_overrides["RetryCount"]
            out, assigned = await node.attempt(scope, data)
        else:
            # Pass, Choice, Wait, Succeed and Fail run whole: their one step is the state itself.
            if node.is_async:
                nxt, out = await node.arun(scope, data)
            else:
                nxt, out = node.run(scope, data)
            return _result(name, SUCCEEDED, data, steps, scope, out=out, next_state=nxt.name if nxt else None,
                           variables=scope.variables)
    except StatesFailure as raw:
        failure = scope.locate(raw)
        if not isinstance(node, WorkNode):
            return _result(name, FAILED, data, steps, scope, failure=failure, variables=scope.variables)
        return _failed(node, scope, data, failure, steps, retry_count)
    merged = {**scope.variables, **(assigned or {})}
    return _result(name, SUCCEEDED, data, steps, scope, out=out,
                   next_state=node.next.name if node.next is not None else None, variables=merged)


def _mock_whole_state(node: WorkNode, mock: Mock, execution: "Execution") -> None:
    """A Map or Parallel with a mock: the mock is its result; iterations and branches do not run."""

    async def attempt(scope: Scope, data: Any) -> tuple[Any, dict[str, Any] | None]:
        if node.takes_parameters:
            _, payload = node.state_input(scope, data, None)
        else:
            payload = node.input_path(data, scope) if node.input_path is not None else data
        ctx = MockCallContext(node.name, node.path or node.name, execution_name=execution.name)
        return node.finish(scope, data, mock.respond(payload, ctx))

    node.attempt = attempt  # type: ignore[method-assign]


def _failed(node: WorkNode, scope: Scope, data: Any, failure: StatesFailure, steps: _Steps,
            retry_count: int) -> StateTestResult:
    name = node.path or node.name
    counts = [retry_count] * len(node.retriers) if node.retriers else None
    wait, counts = node._retry_delay(scope, failure, counts)
    if wait is not None:
        index = next(i for i, r in enumerate(node.retriers)
                     if matches(r.error_equals, failure.error, getattr(failure, "heartbeat", False)))
        return _result(name, RETRIABLE, data, steps, scope, failure=failure, next_state=node.name,
                       variables=scope.variables, retry_delay=wait, retry_index=index)
    for i, catcher in enumerate(node.catchers):
        if matches(catcher.error_equals, failure.error, getattr(failure, "heartbeat", False)):
            out, assigned = catcher.handle(scope, data, failure)
            return _result(name, CAUGHT_ERROR, data, steps, scope, failure=failure, out=out,
                           next_state=catcher.next_name, variables={**scope.variables, **(assigned or {})},
                           catch_index=i)
    return _result(name, FAILED, data, steps, scope, failure=failure, variables=scope.variables)


def _result(name: str, status: str, data: Any, steps: _Steps, scope: Scope, *, out: Any = None,
            failure: StatesFailure | None = None, next_state: str | None = None,
            variables: dict[str, Any] | None = None, **extra: Any) -> StateTestResult:
    seen = steps.seen
    if not steps.jsonata and "afterInputPath" not in seen and steps.identity_input:
        seen["afterInputPath"] = data  # InputPath "$" (the default) selects the whole input
    if not steps.jsonata and steps.work and "result" in seen and "afterResultSelector" not in seen:
        seen["afterResultSelector"] = seen["result"]  # no ResultSelector: the result as it is
    inspection = {"input": data, **{k: seen[k] for k in _STEPS if k in seen}}
    return StateTestResult(
        state=name, status=status, input=data, output=out,
        error=failure.error if failure is not None else None, cause=failure.cause if failure is not None else None,
        next_state=next_state, inspection=inspection, variables=dict(variables or {}), **extra,
    )

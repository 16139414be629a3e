"""Mocks for Task states: what a Task returns or throws in a test, instead of running.

A test gives the local engine a mapping from state names to mocks::

    from flowengine.testing import mocks

    m = {
        "ValidateOrder": mocks.returns({"ok": True}),
        "ChargePayment": mocks.sequence(
            mocks.raises("PaymentGatewayBusy", "try later").times(2),
            mocks.returns({"paymentId": "p1"}),
        ),
        "ShipOne": mocks.call(lambda payload, ctx: {"parcel": payload["sku"]}),
        "Notify": mocks.raises("States.Timeout"),
    }

Each mock is a small frozen object with one method, :meth:`Mock.respond`, which the engine
calls with the Task's effective input and a :class:`MockCallContext`; it returns the
Task's result or raises :class:`~flowengine.model.failure.StatesFailure`.

A :class:`MockSet` holds the mapping and keeps the books: one invocation counter per state
per execution, as Step Functions Local keeps it (every invocation advances it: retries,
each pass around a loop, and every Map iteration, because iterations share the state's
counter), a record of every call, and the reports a test fails on (:meth:`MockSet.unused`,
:meth:`MockSet.unknown_states`, :meth:`MockSet.unmocked_tasks`).  A Step Functions Local
``MockConfigFile`` (:mod:`flowengine.integrations.mockconfig`) becomes the same kind of
:class:`MockSet`, so both reach the engine through one seam.  docs/mocks.md has the details.
"""

from __future__ import annotations

import abc
import bisect
import difflib
import inspect
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowengine.model.failure import RUNTIME, StatesFailure
from flowengine.model.asl import State, StateMachine, TaskState
from flowengine.model.diagnostics import Diagnostic, Span

__all__ = [
    "Calls",
    "ExecutionMocks",
    "Mock",
    "MockCall",
    "MockCallContext",
    "MockExhausted",
    "MockSet",
    "Raises",
    "Repeat",
    "Returns",
    "Sequenced",
    "as_mock_set",
    "call",
    "raises",
    "returns",
    "sequence",
]

#: Where a Python-defined mock "is" when a diagnostic has to name a place.
PYTHON_MOCKS = "<mocks>"


@dataclass(frozen=True, slots=True)
class MockCallContext:
    """What a mock knows about the call it answers.

    * ``state_name`` / ``state_path``: the Task (``Ship/ShipOne`` inside a Map);
    * ``attempt``: 0 for the first try of this entry into the state, 1 for its first retry,
      and so on (what ``$$.State.RetryCount`` holds);
    * ``call_index``: the state's invocation number in this execution, from 0: the counter
      Step Functions Local indexes ``MockedResponses`` with.  Retries, loops and every Map
      iteration advance it;
    * ``execution_name``: the execution's name (its id when it has no name);
    * ``map_index``: the index of the Map iteration the call runs in (innermost Map), or None.
    """

    state_name: str
    state_path: str
    attempt: int = 0
    call_index: int = 0
    execution_name: str = ""
    map_index: int | None = None


class MockExhausted(StatesFailure):
    """A mock has no response for this invocation (a strict sequence, or a MockConfigFile
    response whose last invocation key was passed).

    The error is ``States.Runtime``, which no Retry or Catch matches, so the execution fails
    at once, with a cause naming the mock, the state and the invocation number.
    """

    __slots__ = ()

    def __init__(self, cause: str) -> None:
        super().__init__(RUNTIME, cause)


class Mock(abc.ABC):
    """A Task's stand-in.  The engine calls :meth:`respond` once per invocation."""

    __slots__ = ()

    @abc.abstractmethod
    def respond(self, payload: Any, ctx: MockCallContext) -> Any:
        """The Task's result for ``payload``; raise :class:`StatesFailure` to make it fail."""

    def times(self, count: int) -> Repeat:
        """This mock for ``count`` consecutive invocations: a step of :func:`sequence`."""
        return Repeat(self, count)


@dataclass(frozen=True, slots=True)
class Returns(Mock):
    """Every invocation returns ``value`` (a fresh copy each time).  Build with :func:`returns`."""

    value: Any

    def __post_init__(self) -> None:
        _check_json(self.value, "mocks.returns(value)")
        object.__setattr__(self, "value", _copy_json(self.value))

    def respond(self, payload: Any, ctx: MockCallContext) -> Any:
        return _copy_json(self.value)


@dataclass(frozen=True, slots=True)
class Raises(Mock):
    """Every invocation fails with ``(error, cause)``.  Build with :func:`raises`."""

    error: str
    cause: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.error, str) or not self.error:
            raise TypeError(f"mocks.raises(error): the error name must be a non-empty string, not {self.error!r}")
        if self.cause is not None and not isinstance(self.cause, str):
            raise TypeError(f"mocks.raises(error, cause): the cause must be a string or None, not {self.cause!r}")

    def respond(self, payload: Any, ctx: MockCallContext) -> Any:
        raise StatesFailure(self.error, self.cause)


@dataclass(frozen=True, slots=True)
class Calls(Mock):
    """Every invocation calls ``fn(payload, ctx)``.  Build with :func:`call`.

    ``fn`` returns the Task's result (a JSON value) or raises :class:`StatesFailure` to
    fail the Task.  Any other exception is a bug in the test: it is not turned into a Task
    failure (a Catch on ``States.ALL`` would hide it) but propagates out of the run.
    """

    fn: Callable[[Any, MockCallContext], Any]

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"mocks.call(fn): fn must be callable, not {type(self.fn).__name__}")
        try:
            sig = inspect.signature(self.fn)
        except (TypeError, ValueError):  # some builtins have no signature; trust them
            return
        try:
            sig.bind(None, None)
        except TypeError:
            raise TypeError(
                f"mocks.call(fn): fn must accept two arguments (payload, ctx); {_callable_name(self.fn)}{sig} does not"
            ) from None

    def respond(self, payload: Any, ctx: MockCallContext) -> Any:
        result = self.fn(payload, ctx)
        _check_json(result, f"the result of {_callable_name(self.fn)} for state {ctx.state_path!r}")
        return result


@dataclass(frozen=True, slots=True)
class Repeat:
    """One step of a :func:`sequence`: ``mock`` answers ``count`` consecutive invocations."""

    mock: Mock
    count: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.mock, Mock):
            raise TypeError(f"a sequence step must be a mock (mocks.returns/raises/call), not {self.mock!r}")
        if isinstance(self.mock, Sequenced):
            raise TypeError("a sequence cannot contain another sequence; list its steps instead")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"a step repeats a positive whole number of times, not {self.count!r}")


@dataclass(frozen=True, slots=True)
class Sequenced(Mock):
    """Invocation ``n`` of the state gets the ``n``-th step.  Build with :func:`sequence`.

    Steps are indexed by :attr:`MockCallContext.call_index`: the state's invocation number
    in the execution, retries and Map iterations included.  Past the last step, the last
    step keeps answering, unless ``strict``: then the invocation fails with
    :class:`MockExhausted` (``States.Runtime``).  ``label`` names the mock in that message
    (a MockConfigFile response keeps its name there).
    """

    steps: tuple[Repeat, ...]
    strict: bool = False
    label: str | None = None
    _ends: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = _as_steps(self.steps)
        if not steps:
            raise ValueError("mocks.sequence() needs at least one step")
        ends, total = [], 0
        for s in steps:
            total += s.count
            ends.append(total)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "_ends", tuple(ends))

    @property
    def length(self) -> int:
        """How many invocations the steps cover before the sequence is exhausted."""
        return self._ends[-1]

    def step_for(self, call_index: int) -> Mock | None:
        """The mock answering invocation ``call_index``, or None when a strict sequence is exhausted."""
        if call_index >= self.length:
            return None if self.strict else self.steps[-1].mock
        return self.steps[bisect.bisect_right(self._ends, call_index)].mock

    def respond(self, payload: Any, ctx: MockCallContext) -> Any:
        step = self.step_for(ctx.call_index)
        if step is None:
            name = f"mocked response {self.label!r}" if self.label else "the mock sequence"
            covered = "invocation 0" if self.length == 1 else f"invocations 0-{self.length - 1}"
            raise MockExhausted(
                f"{name} for state {ctx.state_path!r} has no response for invocation {ctx.call_index} "
                f"(it defines {covered}; every invocation counts, retries and Map iterations included)"
            )
        return step.respond(payload, ctx)


def returns(value: Any) -> Returns:
    """A mock whose every invocation returns ``value`` (a JSON value, copied on each call)."""
    return Returns(value)


def raises(error: str, cause: str | None = None) -> Raises:
    """A mock whose every invocation fails with ``error`` and ``cause``, as AWS reports them.

    The failure goes through the state's Retry and Catch like a real one
    (``mocks.raises("Lambda.TooManyRequestsException")``, ``mocks.raises("States.Timeout")``).
    """
    return Raises(error, cause)


def call(fn: Callable[[Any, MockCallContext], Any]) -> Calls:
    """A mock that computes each result: ``fn(payload, ctx)`` (see :class:`MockCallContext`)."""
    return Calls(fn)


def sequence(*steps: Mock | Repeat, strict: bool = False) -> Sequenced:
    """Answer invocation 0 with the first step, invocation 1 with the next, and so on.

    ``mock.times(n)`` makes a step answer ``n`` invocations.  After the last step the last
    one repeats; with ``strict=True`` an invocation past the end fails with
    ``States.Runtime`` instead, naming the state and the invocation number.
    """
    return Sequenced(_as_steps(steps), strict=strict)


def _as_steps(steps: Iterable[Mock | Repeat]) -> tuple[Repeat, ...]:
    return tuple(s if isinstance(s, Repeat) else Repeat(s) for s in steps)


@dataclass(frozen=True, slots=True)
class MockCall:
    """One call a mock answered.  Unpacks as ``(payload, outcome)``.

    ``response`` is what the mock returned (None when it failed); ``error`` is the
    :class:`StatesFailure` it raised (None when it returned).
    """

    mock_key: str
    payload: Any
    response: Any
    error: StatesFailure | None
    context: MockCallContext
    execution_id: str

    @property
    def state_name(self) -> str:
        return self.context.state_name

    @property
    def state_path(self) -> str:
        return self.context.state_path

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def outcome(self) -> Any:
        """The response, or the failure when the call failed."""
        return self.error if self.error is not None else self.response

    def __iter__(self) -> Iterator[Any]:
        yield self.payload
        yield self.outcome


class MockSet:
    """The mocks of a run: state name (or state path, ``Map/Step``) → :class:`Mock`.

    A key naming a state path wins over a key naming the state's plain name.  The set
    keeps one :class:`ExecutionMocks` per execution (:meth:`for_execution`), each with its
    own invocation counters, and records every call across them.
    """

    def __init__(
        self,
        mocks: Mapping[str, Mock] | None = None,
        *,
        name: str | None = None,
        origins: Mapping[str, Span] | None = None,
    ) -> None:
        self._mocks: dict[str, Mock] = {}
        for key, mock in (mocks or {}).items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"a mock is keyed by a state name or state path, not {key!r}")
            if not isinstance(mock, Mock):
                hint = " (wrap it: mocks.returns(...), or mocks.call(fn) for a function)"
                raise TypeError(f"the mock for {key!r} is a {type(mock).__name__}, not a mock{hint}")
            self._mocks[key] = mock
        #: What the set is called in messages (``LambdaSQSIntegration#HappyPath`` for a test case).
        self.name = name
        #: Where each key was written, when it came from a file (diagnostics point there).
        self.origins: dict[str, Span] = dict(origins or {})
        self._lock = threading.Lock()
        self._executions: dict[str, ExecutionMocks] = {}
        self._calls: list[MockCall] = []
        self._used: set[str] = set()

    # -- the mapping ---------------------------------------------------------------------

    @property
    def mocks(self) -> Mapping[str, Mock]:
        return dict(self._mocks)

    def __contains__(self, key: object) -> bool:
        return key in self._mocks

    def __getitem__(self, key: str) -> Mock:
        return self._mocks[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mocks)

    def __len__(self) -> int:
        return len(self._mocks)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<MockSet{label} {sorted(self._mocks)}>"

    def key_for(self, state_name: str, state_path: str) -> str | None:
        """The key that mocks this state: its path if mocked by path, else its name, else None."""
        if state_path and state_path in self._mocks:
            return state_path
        if state_name in self._mocks:
            return state_name
        return None

    def lookup(self, state_name: str, state_path: str) -> Mock | None:
        """The mock for a state, or None when the state is not mocked."""
        key = self.key_for(state_name, state_path)
        return None if key is None else self._mocks[key]

    # -- executions and records ------------------------------------------------------------

    def for_execution(self, execution_id: str, *, execution_name: str | None = None) -> ExecutionMocks:
        """The mocks as one execution sees them (created on first use, then the same object)."""
        with self._lock:
            ex = self._executions.get(execution_id)
            if ex is None:
                ex = self._executions[execution_id] = ExecutionMocks(self, execution_id, execution_name or execution_id)
            return ex

    def calls(self, state: str | None = None) -> list[MockCall]:
        """Every call answered, in order, across executions; only ``state``'s (name or path) if given."""
        with self._lock:
            return [c for c in self._calls if state is None or _names(c, state)]

    def unused(self) -> list[str]:
        """The keys whose mock was never called, in the order they were given."""
        with self._lock:
            return [k for k in self._mocks if k not in self._used]

    def reset(self) -> None:
        """Forget every execution, counter and call (to reuse the set in another test)."""
        with self._lock:
            self._executions.clear()
            self._calls.clear()
            self._used.clear()

    # -- checks against a flow ------------------------------------------------------------

    def unknown_states(self, state_machine: StateMachine) -> list[Diagnostic]:
        """A diagnostic for each key that names no Task of the flow (FE710), or names a
        state that is not a Task (FE711), with a did-you-mean."""
        states = state_machine.walk()
        tasks = [s for s in states if isinstance(s, TaskState)]
        out: list[Diagnostic] = []
        for key in self._mocks:
            if any(_is(s, key) for s in tasks):
                continue
            span = self.origins.get(key, Span(PYTHON_MOCKS))
            other = next((s for s in states if _is(s, key)), None)
            if other is not None:
                out.append(Diagnostic(
                    "FE711", f"state '{key}' is a {other.type} state, not a Task; only Task states can be mocked",
                    span, state_path=other.path or other.name,
                    hint=_suggest(key, _task_names(tasks)) or "mock the Task states inside it instead",
                ))
            else:
                out.append(Diagnostic(
                    "FE710", f"no state named '{key}' in the flow", span,
                    hint=_suggest(key, _task_names(tasks), [s.name for s in states]) or _task_list(tasks),
                ))
        return out

    def unmocked_tasks(self, state_machine: StateMachine) -> list[TaskState]:
        """The flow's Task states (nested ones too) that no key mocks, in definition order."""
        return [
            s for s in state_machine.walk()
            if isinstance(s, TaskState) and self.key_for(s.name, s.path or s.name) is None
        ]

    # -- used by ExecutionMocks ------------------------------------------------------------

    def _record(self, call: MockCall) -> None:
        with self._lock:
            self._calls.append(call)
            self._used.add(call.mock_key)


class ExecutionMocks:
    """The mocks of one execution: the per-state invocation counters and the calls.

    The engine calls :meth:`lookup` to learn whether a Task is mocked, then
    :meth:`respond` once per invocation (each retry is an invocation).  The counter is one
    per state per execution, as in Step Functions Local: Map iterations share it, so with
    ``MaxConcurrency`` above 1 the order in which iterations reach the state decides which
    response each gets.
    """

    def __init__(self, mock_set: MockSet, execution_id: str, execution_name: str) -> None:
        self.mock_set = mock_set
        self.execution_id = execution_id
        self.execution_name = execution_name
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def lookup(self, state_name: str, state_path: str) -> Mock | None:
        """The mock for a state, or None when the state is not mocked."""
        return self.mock_set.lookup(state_name, state_path)

    def respond(
        self,
        state_name: str,
        state_path: str,
        payload: Any,
        map_index: int | None = None,
        *,
        attempt: int = 0,
    ) -> Any:
        """Advance the state's counter and answer this invocation.

        Returns the Task's result, or raises :class:`StatesFailure` (the mocked failure,
        or :class:`MockExhausted`).  Raises LookupError when the state is not mocked.
        """
        path = state_path or state_name
        key = self.mock_set.key_for(state_name, path)
        if key is None:
            raise LookupError(f"state {path!r} has no mock (call lookup() first)")
        mock = self.mock_set[key]
        with self._lock:
            index = self._counters.get(path, 0)
            self._counters[path] = index + 1
        ctx = MockCallContext(state_name, path, attempt, index, self.execution_name, map_index)
        recorded = _copy_json(payload)
        try:
            result = mock.respond(payload, ctx)
        except StatesFailure as failure:
            self.mock_set._record(MockCall(key, recorded, None, failure, ctx, self.execution_id))
            raise
        self.mock_set._record(MockCall(key, recorded, _copy_json(result), None, ctx, self.execution_id))
        return result

    def invocations(self, state: str) -> int:
        """How many times the state (path, or plain name) was invoked in this execution."""
        with self._lock:
            if state in self._counters:
                return self._counters[state]
            return sum(n for p, n in self._counters.items() if p.rpartition("/")[2] == state)

    def calls(self, state: str | None = None) -> list[MockCall]:
        """This execution's calls, in order; only ``state``'s (name or path) if given."""
        return [c for c in self.mock_set.calls(state) if c.execution_id == self.execution_id]

    def unused(self) -> list[str]:
        """The keys whose mock this execution never called."""
        used = {c.mock_key for c in self.calls()}
        return [k for k in self.mock_set if k not in used]


def as_mock_set(mocks: MockSet | Mapping[str, Mock] | None) -> MockSet | None:
    """Accept what a run helper's ``mocks=`` takes: a MockSet, a plain mapping, or None."""
    if mocks is None or isinstance(mocks, MockSet):
        return mocks
    if isinstance(mocks, Mapping):
        return MockSet(mocks)
    raise TypeError(f"mocks must be a MockSet or a mapping of state names to mocks, not {type(mocks).__name__}")


# -- helpers --------------------------------------------------------------------------------


def _is(state: State, key: str) -> bool:
    return key == (state.path or state.name) or key == state.name


def _names(call: MockCall, state: str) -> bool:
    return state == call.context.state_path or state == call.context.state_name


def _task_names(tasks: Iterable[TaskState]) -> list[str]:
    return [s.name for s in tasks] + [s.path for s in tasks if s.path and s.path != s.name]


def _task_list(tasks: list[TaskState]) -> str:
    if not tasks:
        return "the flow has no Task states"
    names = [s.path or s.name for s in tasks]
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return f"the flow's Task states are: {shown}"


def _suggest(word: str, *choice_lists: Iterable[str]) -> str | None:
    """``did you mean 'X'?`` for the closest choice (case-insensitive match first), or None."""
    for choices in choice_lists:
        options = sorted(set(choices))
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered and lowered[word.lower()] != word:
            return f"did you mean '{lowered[word.lower()]}'?"
        close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
    return None


def _callable_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _check_json(value: Any, where: str) -> None:
    """Raise TypeError unless ``value`` is plain JSON: dicts with string keys, lists, scalars."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        v, at = stack.pop()
        if v is None or isinstance(v, (str, bool, int)):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise TypeError(f"{where}: {v!r} at {at or 'the top'} is not a JSON number")
            continue
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise TypeError(f"{where}: the key {k!r} at {at or 'the top'} is not a string, as JSON needs")
                stack.append((x, f"{at}.{k}" if at else k))
            continue
        if isinstance(v, list):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))
            continue
        raise TypeError(
            f"{where}: a {type(v).__name__} at {at or 'the top'} is not a JSON value "
            "(use dicts, lists, strings, numbers, booleans and None)"
        )


def _copy_json(value: Any) -> Any:
    """A copy of a JSON value (faster than deepcopy; scalars are immutable and shared)."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value

"""AWS Step Functions Local ``MockConfigFile``, loaded unchanged, and a scaffold to start one.

The format (AWS guide, "Using mocked service integrations for testing in Step Functions
Local")::

    {"StateMachines": {MACHINE: {"TestCases": {CASE: {STATE: RESPONSE_NAME, ...}}}},
     "MockedResponses": {RESPONSE_NAME: {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}

:func:`load_mock_config` reads such a file (JSON, or the same structure in YAML) through
:mod:`flowengine.dsl.source`, so every problem is reported at ``FILE:LINE:COL`` with a
stable code (FE7xx, listed in docs/mocks.md), all problems at once.
:meth:`MockConfig.test_case` turns one test case into a :class:`~flowengine.integrations.mocks.MockSet`
built from the same mock objects a Python test writes, so the engine has one seam.

Semantics, as Step Functions Local has them: the keys of a mocked response are 0-based
invocation numbers or inclusive ranges (``"1-2"``); a state's invocation counter is one per
execution and advances on every invocation, retries and Map iterations included; an
invocation past the last key fails the execution with ``States.Runtime`` naming the mocked
response and the invocation number.

:func:`scaffold` writes the skeleton of such a file for a flow (``flowengine mocks scaffold``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from flowengine.model.failure import json_type_name
from flowengine.dsl.source import Pointer, Source, load_file, load_text, source_from_value
from flowengine.errors import FlowengineError, LoadError, MockConfigError
from flowengine.model.app import App
from flowengine.model.asl import MapState, ParallelState, StateMachine, TaskState
from flowengine.model.diagnostics import Diagnostic, Severity, Span
from flowengine.integrations.scaffold import infer
from flowengine.integrations.mocks import (
    Mock,
    MockCallContext,
    MockExhausted,
    MockSet,
    Raises,
    Repeat,
    Returns,
    Sequenced,
    _suggest,
)

__all__ = [
    "MockConfig",
    "MockFileExistsError",
    "MockedResponse",
    "ScaffoldError",
    "load_mock_config",
    "loads_mock_config",
    "mock_config_from_dict",
    "scaffold",
    "scaffold_command",
    "scaffold_input",
    "write_scaffold",
]

TOP_KEYS = ("StateMachines", "MockedResponses")
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


class ScaffoldError(FlowengineError):
    """A mock-config scaffold could not be made (an unknown flow, an unwritable file)."""


class MockFileExistsError(ScaffoldError):
    """The scaffold's output file exists already; pass ``force=True`` (``--force``) to overwrite it."""


class MockedResponse:
    """One entry of ``MockedResponses``: its invocation ranges and what each returns or throws.

    ``steps`` holds ``(first, last, mock)`` in invocation order, ranges inclusive.
    """

    __slots__ = ("name", "span", "steps")

    def __init__(self, name: str, steps: tuple[tuple[int, int, Mock], ...], span: Span) -> None:
        self.name = name
        self.steps = steps
        self.span = span

    def __repr__(self) -> str:
        return f"<MockedResponse {self.name!r} {[(a, b) for a, b, _ in self.steps]}>"

    def mock(self) -> Mock:
        """The response as a strict :class:`~flowengine.integrations.mocks.Sequenced` mock."""
        if not self.steps:
            return _NoResponse(self.name)
        return Sequenced(tuple(Repeat(m, last - first + 1) for first, last, m in self.steps),
                         strict=True, label=self.name)


class _NoResponse(Mock):
    """A mocked response with no invocation keys: every invocation fails, loudly."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def respond(self, payload: Any, ctx: MockCallContext) -> Any:
        raise MockExhausted(
            f"mocked response {self.label!r} for state {ctx.state_path!r} has no response for invocation "
            f"{ctx.call_index} (it defines no invocations)"
        )


class MockConfig:
    """A loaded, well-formed Step Functions Local mock configuration.

    ``warnings`` keeps the problems that did not stop the load (unknown keys, empty
    mocked responses).
    """

    def __init__(self, source: Source, test_cases: dict[str, dict[str, dict[str, str]]],
                 responses: dict[str, MockedResponse], warnings: list[Diagnostic]) -> None:
        self.source = source
        self.responses = responses
        self.warnings = warnings
        self._test_cases = test_cases

    def __repr__(self) -> str:
        return f"<MockConfig {self.path!r} machines={self.state_machine_names()}>"

    @property
    def path(self) -> str:
        return self.source.path

    def state_machine_names(self) -> list[str]:
        return list(self._test_cases)

    def test_case_names(self, state_machine_name: str) -> list[str]:
        return list(self._machine(state_machine_name))

    def test_case_states(self, state_machine_name: str, test_case_name: str) -> dict[str, str]:
        """The test case as written: state name → mocked response name."""
        return dict(self._case(state_machine_name, test_case_name))

    def test_case(self, state_machine_name: str, test_case_name: str) -> MockSet:
        """The test case's mocks, ready for a run; raise MockConfigError (FE712/FE713) for unknown names."""
        case = self._case(state_machine_name, test_case_name)
        ptr: Pointer = ("StateMachines", state_machine_name, "TestCases", test_case_name)
        mocks = {state: self.responses[resp].mock() for state, resp in case.items()}
        origins = {state: self.source.key_span(ptr + (state,)) for state in case}
        return MockSet(mocks, name=f"{state_machine_name}#{test_case_name}", origins=origins)

    def check(self, state_machine_name: str, state_machine: StateMachine) -> list[Diagnostic]:
        """Check every test case of a state machine against its flow: states that do not
        exist (FE710, with a did-you-mean) or are not Tasks (FE711); FE712 for an unknown machine."""
        if state_machine_name not in self._test_cases:
            return [self._unknown_machine(state_machine_name)]
        out: list[Diagnostic] = []
        for case in self._test_cases[state_machine_name]:
            out.extend(self.test_case(state_machine_name, case).unknown_states(state_machine))
        return out

    def _machine(self, name: str) -> dict[str, dict[str, str]]:
        if name not in self._test_cases:
            raise MockConfigError([self._unknown_machine(name)])
        return self._test_cases[name]

    def _case(self, machine: str, case: str) -> dict[str, str]:
        cases = self._machine(machine)
        if case not in cases:
            known = list(cases)
            raise MockConfigError([Diagnostic(
                "FE713", f"state machine '{machine}' has no test case '{case}'",
                self.source.key_span(("StateMachines", machine, "TestCases")),
                hint=_suggest(case, known) or (f"its test cases are: {', '.join(known)}" if known else "it has no test cases"),
            )])
        return cases[case]

    def _unknown_machine(self, name: str) -> Diagnostic:
        known = list(self._test_cases)
        return Diagnostic(
            "FE712", f"no state machine '{name}' in the mock config", self.source.key_span(("StateMachines",)),
            hint=_suggest(name, known) or (f"it configures: {', '.join(known)}" if known else "it configures none"),
        )


# -- loading --------------------------------------------------------------------------------


def load_mock_config(path: str | os.PathLike[str]) -> MockConfig:
    """Load a Step Functions Local MockConfigFile; raise MockConfigError listing every problem."""
    try:
        source = load_file(os.fspath(path))
    except LoadError as exc:
        raise _load_failed(exc) from None
    return parse_mock_config(source)


def loads_mock_config(text: str, path: str = "<string>") -> MockConfig:
    """Like :func:`load_mock_config`, from text (JSON, or YAML with the same structure)."""
    try:
        source = load_text(text, path)
    except LoadError as exc:
        raise _load_failed(exc) from None
    return parse_mock_config(source)


def _load_failed(exc: LoadError) -> MockConfigError:
    # The loader's hints speak of app files; an empty file here should be a mock config.
    return MockConfigError([
        dataclasses.replace(d, hint='a mock config starts with {"StateMachines": ...') if d.code == "FE104" else d
        for d in exc.diagnostics
    ])


def mock_config_from_dict(value: Any, name: str = "<dict>") -> MockConfig:
    """Like :func:`load_mock_config`, from an in-memory dict (diagnostics have no positions)."""
    return parse_mock_config(source_from_value(value, name))


def parse_mock_config(source: Source) -> MockConfig:
    """Validate a loaded document as a mock config; raise MockConfigError if it has errors."""
    parser = _Parser(source)
    config = parser.parse()
    errors = [d for d in parser.diagnostics if d.severity == "error"]
    if errors or config is None:
        raise MockConfigError(sorted(parser.diagnostics, key=lambda d: (d.span.line, d.span.col)))
    return config


class _Parser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: str, message: str, ptr: Pointer, *, key: bool = False,
               hint: str | None = None, severity: Severity = "error") -> None:
        span = self.source.key_span(ptr) if key else self.source.span(ptr)
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint, severity=severity))

    def unknown_keys(self, value: dict[str, Any], ptr: Pointer, allowed: tuple[str, ...], where: str,
                     *, skip: frozenset[str] = frozenset()) -> None:
        for k in value:
            if k not in allowed and k not in skip:
                self.report("FE703", f"unknown key '{k}' in {where}", ptr + (k,), key=True, severity="warning",
                            hint=_suggest(k, allowed) or f"{where} has {_one_of(allowed)}")

    def required(self, value: dict[str, Any], names: tuple[str, ...], ptr: Pointer, where: str,
                 allowed: tuple[str, ...]) -> frozenset[str]:
        """FE701 for each missing key, at a misspelling of it when there is one (returned, so
        that it is not reported again as an unknown key)."""
        misspelt: set[str] = set()
        for name in names:
            if name in value:
                continue
            near = [k for k in value if k not in allowed and _suggest(k, (name,))]
            if near:
                misspelt.add(near[0])
                self.report("FE701", f"{where} has no '{name}'", ptr + (near[0],), key=True,
                            hint=f"'{near[0]}' should be spelled '{name}'")
            else:
                self.report("FE701", f"{where} has no '{name}'", ptr, key=bool(ptr),
                            hint="a mock config has both StateMachines and MockedResponses" if not ptr
                            else "TestCases maps test case names to {state: mocked response}")
        return frozenset(misspelt)

    def parse(self) -> MockConfig | None:
        doc = self.source.value
        if not isinstance(doc, dict):
            self.report("FE701", f"a mock config is a JSON object, not {_json_type(doc)}", (),
                        hint="it has two sections: StateMachines and MockedResponses")
            return None
        misspelt = self.required(doc, TOP_KEYS, (), "the mock config", TOP_KEYS)
        self.unknown_keys(doc, (), TOP_KEYS, "a mock config", skip=misspelt)
        responses = self.responses(doc.get("MockedResponses"))
        test_cases = self.state_machines(doc.get("StateMachines"), responses)
        warnings = [d for d in self.diagnostics if d.severity == "warning"]
        return MockConfig(self.source, test_cases, responses, sorted(warnings, key=lambda d: (d.span.line, d.span.col)))

    # StateMachines → {machine: {"TestCases": {case: {state: response}}}}
    def state_machines(self, value: Any, responses: dict[str, MockedResponse]) -> dict[str, dict[str, dict[str, str]]]:
        if not self.is_object(value, ("StateMachines",), "StateMachines", "state machine names → their TestCases"):
            return {}
        raw_responses = self.source.value.get("MockedResponses")
        known = list(raw_responses) if isinstance(raw_responses, dict) else None  # None: not checkable
        out: dict[str, dict[str, dict[str, str]]] = {}
        for machine, body in value.items():
            ptr: Pointer = ("StateMachines", machine)
            if not self.is_object(body, ptr, f"state machine '{machine}'", "an object with TestCases"):
                continue
            misspelt = self.required(body, ("TestCases",), ptr, f"state machine '{machine}'", ("TestCases",))
            self.unknown_keys(body, ptr, ("TestCases",), f"state machine '{machine}'", skip=misspelt)
            if "TestCases" not in body:
                continue
            cases = body["TestCases"]
            if not self.is_object(cases, ptr + ("TestCases",), "TestCases", "test case names → {state: mocked response}"):
                continue
            out[machine] = {}
            for case, states in cases.items():
                cptr = ptr + ("TestCases", case)
                if not self.is_object(states, cptr, f"test case '{case}'", "state names → mocked response names"):
                    continue
                out[machine][case] = {}
                for state, response in states.items():
                    sptr = cptr + (state,)
                    if not isinstance(response, str):
                        self.report("FE702", f"state '{state}' of test case '{case}' names its mocked response "
                                    f"with a string, not {_json_type(response)}", sptr,
                                    hint="the value is a key of MockedResponses")
                        continue
                    if known is not None and response not in known:
                        self.report("FE704", f"test case '{case}' uses mocked response '{response}', "
                                    "which MockedResponses does not define", sptr,
                                    hint=_suggest(response, known) or "add it to MockedResponses")
                        continue
                    if response in responses:  # else the response itself had errors, reported there
                        out[machine][case][state] = response
        return out

    # MockedResponses → {name: {"0": {"Return": ...}, "1-2": {"Throw": {...}}}}
    def responses(self, value: Any) -> dict[str, MockedResponse]:
        if not self.is_object(value, ("MockedResponses",), "MockedResponses",
                              "mocked response names → {invocation: Return or Throw}"):
            return {}
        out: dict[str, MockedResponse] = {}
        for name, entries in value.items():
            ptr: Pointer = ("MockedResponses", name)
            if not self.is_object(entries, ptr, f"mocked response '{name}'",
                                  "invocation numbers ('0', '1-2') → Return or Throw"):
                continue
            if not entries:
                self.report("FE714", f"mocked response '{name}' defines no invocations", ptr, key=True,
                            severity="warning", hint="a state that uses it fails on its first invocation; add \"0\": {\"Return\": ...}")
            steps = self.steps(name, entries, ptr)
            if steps is not None:
                out[name] = MockedResponse(name, steps, self.source.key_span(ptr))
        return out

    def steps(self, name: str, entries: dict[str, Any], ptr: Pointer) -> tuple[tuple[int, int, Mock], ...] | None:
        ok = True
        keys_ok = True
        ranged: list[tuple[int, int, str, Mock | None]] = []
        for key, entry in entries.items():
            eptr = ptr + (key,)
            rng = self.range(name, key, eptr)
            mock = self.entry(name, key, entry, eptr)
            ok = ok and rng is not None and mock is not None
            if rng is None:
                keys_ok = False
            else:
                ranged.append((rng[0], rng[1], key, mock))
        ranged.sort(key=lambda r: (r[0], r[1]))
        expected = 0  # the first invocation not covered by the keys before this one
        for first, last, key, _ in ranged:
            if first < expected:
                ok = False
                other = next(k for a, b, k, _ in ranged if k != key and a <= last and first <= b)
                self.report("FE706", f"mocked response '{name}': '{key}' overlaps '{other}'", ptr + (key,), key=True,
                            hint="each invocation number belongs to one key only")
            elif first > expected and keys_ok:  # with a malformed key, the gap is likely its range
                ok = False
                missing = f"invocation {expected}" if first - 1 == expected else f"invocations {expected}-{first - 1}"
                hint = ("invocation numbers start at 0" if expected == 0
                        else "cover every invocation up to the last key")
                self.report("FE707", f"mocked response '{name}' has no response for {missing} (a gap before '{key}')",
                            ptr + (key,), key=True, hint=hint)
            expected = max(expected, last + 1)
        if not ok:
            return None
        return tuple((first, last, mock) for first, last, _, mock in ranged if mock is not None)

    def range(self, name: str, key: str, ptr: Pointer) -> tuple[int, int] | None:
        m = _RANGE.fullmatch(key)
        if m is None:
            self.report("FE705", f"mocked response '{name}': '{key}' is not an invocation number or range", ptr,
                        key=True, hint="keys are 0-based invocation numbers ('0', '1') or inclusive ranges ('1-2')")
            return None
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        if last < first:
            self.report("FE705", f"mocked response '{name}': the range '{key}' ends before it starts", ptr,
                        key=True, hint=f"write '{last}-{first}'")
            return None
        return first, last

    def entry(self, name: str, key: str, entry: Any, ptr: Pointer) -> Mock | None:
        where = f"invocation '{key}' of mocked response '{name}'"
        if not self.is_object(entry, ptr, where, "an object with Return or Throw"):
            return None
        has_return, has_throw = "Return" in entry, "Throw" in entry
        if has_return and has_throw:
            self.report("FE708", f"{where} has both Return and Throw", ptr + ("Throw",), key=True,
                        hint="an invocation either returns or throws; keep one")
            return None
        if not has_return and not has_throw:
            self.report("FE708", f"{where} has neither Return nor Throw", ptr, key=True,
                        hint=next((h for k in entry if (h := _suggest(k, ("Return", "Throw")))), None)
                        or "write {\"Return\": RESULT} or {\"Throw\": {\"Error\": ..., \"Cause\": ...}}")
            return None
        self.unknown_keys(entry, ptr, ("Return", "Throw"), where)
        if has_return:
            return Returns(entry["Return"])
        throw = entry["Throw"]
        tptr = ptr + ("Throw",)
        if not self.is_object(throw, tptr, f"Throw of {where}", "an object with Error and Cause"):
            return None
        self.unknown_keys(throw, tptr, ("Error", "Cause"), f"Throw of {where}")
        error, cause = throw.get("Error"), throw.get("Cause")
        if "Error" not in throw:
            self.report("FE709", f"Throw of {where} has no Error", tptr, key=True,
                        hint=_suggest("Error", throw) or "name the error, as Retry and Catch match it: \"Error\": \"Lambda.TimeoutException\"")
            return None
        if not isinstance(error, str) or not error:
            self.report("FE709", f"the Error of {where} must be a non-empty string, not {_json_type(error)}",
                        tptr + ("Error",), hint="an error name such as \"States.TaskFailed\"")
            return None
        if cause is not None and not isinstance(cause, str):
            self.report("FE702", f"the Cause of {where} must be a string, not {_json_type(cause)}",
                        tptr + ("Cause",), hint="serialise a structured cause as a JSON string")
            return None
        return Raises(error, cause)

    def is_object(self, value: Any, ptr: Pointer, what: str, shape: str) -> bool:
        if value is None and len(ptr) == 1 and ptr[0] not in self.source.value:
            return False  # missing: FE701 already says so
        if isinstance(value, dict):
            return True
        self.report("FE702", f"{what} must be an object ({shape}), not {_json_type(value)}", ptr)
        return False


def _json_type(v: Any) -> str:
    name = json_type_name(v)
    return name if v is None else ("an " if name[0] in "ao" else "a ") + name


def _one_of(choices: tuple[str, ...]) -> str:
    return " and ".join(choices) if len(choices) == 2 else ", ".join(choices)


# -- scaffold -------------------------------------------------------------------------------

#: The invocations a scaffold covers for a Task inside a Map: every iteration is one
#: invocation of the state (Step Functions Local counts per state, not per iteration).
MAP_TASK_INVOCATIONS = "0-99"
_SERVICE = re.compile(r"arn:[^:]+:states:::(?P<api>[^.]+)(?P<pattern>\..*)?")


def _placeholder(resource: Any, key: str) -> Any:
    """A plausible first response for a Task, by what its Resource calls."""
    if not isinstance(resource, str):
        return {}
    m = _SERVICE.fullmatch(resource)
    if m is None:  # a Lambda ARN, ${FnArn}, an activity: the function's own result
        return {}
    api = m.group("api")
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowengine-scaffold:{key}"))
    if api == "lambda:invoke":
        return {"StatusCode": 200, "Payload": {}}
    if api == "sqs:sendMessage":
        return {"MessageId": message_id, "MD5OfMessageBody": hashlib.md5(key.encode()).hexdigest()}
    if api == "sns:publish":
        return {"MessageId": message_id}
    if api == "dynamodb:getItem":
        return {"Item": {}}
    if api == "events:putEvents":
        return {"Entries": [{"EventId": message_id}], "FailedEntryCount": 0}
    return {}  # dynamodb:putItem and the rest: an empty result is the safe guess


def _tasks(machine: StateMachine, in_map: bool = False) -> Iterator[tuple[TaskState, bool]]:
    """Every Task of a machine in definition order, and whether it runs inside a Map."""
    for st in machine.states.values():
        if isinstance(st, TaskState):
            yield st, in_map
        elif isinstance(st, ParallelState):
            for branch in st.branches:
                yield from _tasks(branch, in_map)
        elif isinstance(st, MapState) and st.processor is not None:
            yield from _tasks(st.processor, True)


def _response_name(state: TaskState, taken: set[str]) -> str:
    def camel(text: str) -> str:
        return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)

    base = f"Mocked{camel(state.name) or 'Task'}Success"
    if base in taken:
        base = f"Mocked{camel(state.path or state.name) or 'Task'}Success"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def scaffold(app: App | Any, flow_name: str, *, test_case: str = "HappyPath") -> dict[str, Any]:
    """A MockConfigFile skeleton for a flow: one test case mocking every Task (nested ones
    too), each with a ``"0": {"Return": ...}`` placeholder, in definition order.  A Task
    inside a Map gets ``"0-99"`` instead: each iteration is an invocation of the state.

    A Task is keyed by its state name, or by its path where two Tasks share a name.
    ``app`` is an :class:`~flowengine.model.app.App` (or a ``LoadedApp``).
    """
    app = getattr(app, "app", app)
    if flow_name not in app.flows:
        known = list(app.flows)
        raise ScaffoldError(f"no flow '{flow_name}' in app '{app.name}'; "
                            + (_suggest(flow_name, known) or f"its flows are: {', '.join(known) or 'none'}"))
    definition = app.flows[flow_name].definition
    inferred = infer(definition)
    tasks = list(_tasks(definition))
    names = [s.name for s, _ in tasks]
    states: dict[str, str] = {}
    responses: dict[str, Any] = {}
    taken: set[str] = set()
    for s, in_map in tasks:
        key = s.name if names.count(s.name) == 1 else (s.path or s.name)
        response = _response_name(s, taken)
        states[key] = response
        # Map iterations share the state's invocation counter: one response per item.
        invocations = MAP_TASK_INVOCATIONS if in_map else "0"
        placeholder = _placeholder(s.resource, f"{flow_name}/{s.path or s.name}")
        responses[response] = {invocations: {"Return": inferred.result_for(s.path or s.name, placeholder)}}
    return {
        "StateMachines": {flow_name: {"TestCases": {test_case: states}}},
        "MockedResponses": responses,
    }


def scaffold_input(app: App | Any, flow_name: str) -> Any:
    """An execution input with what the flow's happy path reads from it (``{}`` when it
    reads nothing): the input to run a scaffolded HappyPath with."""
    app = getattr(app, "app", app)
    if flow_name not in app.flows:
        raise ScaffoldError(f"no flow '{flow_name}' in app '{app.name}'")
    need = infer(app.flows[flow_name].definition).input
    return {} if need.empty else need.materialize("input")


def write_scaffold(path: str, data: dict[str, Any], force: bool = False) -> None:
    """Write a scaffold as JSON (YAML for ``.yaml``/``.yml``); refuse to overwrite unless ``force``."""
    if path.endswith((".yaml", ".yml")):
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    try:
        with open(path, "w" if force else "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise MockFileExistsError(f"{path} exists already; pass --force (force=True) to overwrite it") from None


def scaffold_command(app_path: str, flow: str | None, out: str | None, force: bool = False,
                     *, stdout: Any = None, stderr: Any = None) -> int:
    """``flowengine mocks scaffold APP --flow NAME [--out FILE] [--force]``; returns the exit code.

    Prints the JSON to stdout when ``out`` is None.  Exit 0 on success, 2 when the app
    cannot be loaded, the flow is unknown, or the output file exists (without ``force``).
    ``flow`` may be None when the app has exactly one flow.
    """
    from flowengine.dsl.app import load

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    say: Callable[[str], None] = lambda text: print(text, file=stderr)
    try:
        loaded = load(app_path)
    except LoadError as exc:
        for d in exc.diagnostics:
            say(d.format())
        return 2
    flows = list(loaded.app.flows)
    if flow is None:
        if len(flows) != 1:
            say(f"flowengine mocks scaffold: name a flow with --flow ({', '.join(flows) or 'the app has none'})")
            return 2
        flow = flows[0]
    try:
        data = scaffold(loaded.app, flow)
    except ScaffoldError as exc:
        say(f"flowengine mocks scaffold: {exc}")
        return 2
    count = len(data["MockedResponses"])
    if out is None:
        json.dump(data, stdout, indent=2, ensure_ascii=False)
        stdout.write("\n")
        return 0
    try:
        write_scaffold(out, data, force=force)
    except MockFileExistsError as exc:
        say(f"flowengine mocks scaffold: {exc}")
        return 2
    except OSError as exc:
        say(f"flowengine mocks scaffold: cannot write {out}: {exc.strerror or exc}")
        return 2
    say(f"wrote {out}: test case HappyPath of {flow}, {count} Task state{'s' if count != 1 else ''} mocked")
    say(f"run it: {run_command(app_path, flow if len(flows) > 1 else None, out, scaffold_input(loaded.app, flow))}")
    return 0


def run_command(app_path: str, flow: str | None, mock_path: str, input_value: Any) -> str:
    """The ``flowengine run`` command line that runs a scaffold's HappyPath, with the
    execution input the happy path reads (none when it reads nothing)."""
    import shlex

    parts = ["flowengine", "run", app_path]
    if flow is not None:
        parts += ["--flow", flow]
    parts += ["--mock", mock_path, "--test-case", "HappyPath"]
    if input_value != {}:
        parts += ["--input", json.dumps(input_value, separators=(",", ":"), ensure_ascii=False)]
    return shlex.join(parts)

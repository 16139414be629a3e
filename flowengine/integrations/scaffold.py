"""What a scaffolded mock must return so that a flow reaches its end: inferred, not guessed.

``flowengine mocks scaffold`` mocks every Task.  An empty placeholder (``{}``) fails as soon
as a later state reads a field of it, so this module reads the flow the other way round: it
picks a *happy path* through every scope (at each Choice, the first rule that leads on to a
successful end without coming back, else ``Default``), then walks that path backwards and
collects what each state reads from the state before it:

* ``.$`` paths and intrinsic arguments of Parameters, ResultSelector, ItemSelector, Assign
  (a path must exist; ``States.StringToJson`` wants JSON text, ``States.Array*`` an array,
  ``States.MathAdd`` a number ...);
* Choice variables, with values that make the chosen rule the first that matches (checked
  with the engine's own rule evaluation);
* ``ItemsPath`` (an array with one item shaped like what the iteration reads),
  ``SecondsPath``/``TimestampPath`` and the other ``...Path`` fields (numbers, timestamps);
* ``InputPath``/``OutputPath``/``ResultPath``, which move a demand between a state's input,
  its result and its output;
* JSONata ``$states.input...``/``$states.result...`` references, and simple ``Condition``
  comparisons.

Each demand ends on a Task's result (it becomes that Task's mocked ``Return``) or on the
execution input (:attr:`Inference.input`, which the scaffold suggests for the run).
The inference is best effort: a value it cannot infer (a filter that must match, a JSONata
condition it cannot solve) is left as the placeholder the user edits.
"""

from __future__ import annotations

import contextvars
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowengine.lang.jsonpath import JsonPath, PathSyntaxError, compile_path
from flowengine.model.asl import (
    ABSENT,
    JSONATA,
    ChoiceRule,
    ChoiceState,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)

__all__ = ["Inference", "Need", "infer"]

#: A timestamp that compares as "now-ish" and parses as RFC 3339.
EXAMPLE_TIMESTAMP = "2024-01-01T00:00:00Z"
_UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()
_ABSENT_VALUE: Any = type("AbsentValue", (), {"__repr__": lambda self: "ABSENT_VALUE"})()
_PRESENT = type("Present", (str,), {})("present")  # IsPresent: any value, typed by other reads
_STATES_REF = re.compile(r"\$states\.(input|result)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)")
_VAR_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)")
_TOKEN = re.compile(r"""\.\.|\.([^.\[]+)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[(\d+)\]|\[([^\]]*)\]""")


class Need:
    """What some state reads from a JSON value: fields, array items, a type or a value.

    ``kind`` is one of ``string``, ``number``, ``boolean``, ``timestamp``, ``array``,
    ``object``, ``json`` (text holding JSON shaped like ``inner``) or None (any value).
    """

    __slots__ = ("fields", "items", "elems", "kind", "value", "inner")

    def __init__(self, kind: str | None = None, value: Any = _UNSET) -> None:
        self.fields: dict[str, Need] = {}
        self.items: Need | None = None
        self.elems: dict[int, Need] = {}
        self.kind = kind
        self.value = value
        self.inner: Need | None = None

    def __repr__(self) -> str:
        return f"Need({self.materialize()!r})"

    @property
    def empty(self) -> bool:
        """Nothing is read: any value will do, even none."""
        return (not self.fields and self.items is None and not self.elems and self.kind is None
                and self.value is _UNSET and self.inner is None)

    def child(self, key: str | int) -> Need:
        """The demand on one field (``str``) or array element (``int``), created on first use."""
        if isinstance(key, int):
            return self.elems.setdefault(key, Need())
        return self.fields.setdefault(key, Need())

    def merge(self, other: Need | None) -> Need:
        """Add ``other``'s demands to this one (a value already set wins); returns self."""
        if other is None or other is self:
            return self
        for k, v in other.fields.items():
            self.child(k).merge(v)
        for i, v in other.elems.items():
            self.child(i).merge(v)
        if other.items is not None:
            self.items = (self.items or Need()).merge(other.items)
        if other.inner is not None:
            self.inner = (self.inner or Need()).merge(other.inner)
        if self.value is _UNSET or (isinstance(self.value, str) and isinstance(other.value, str)
                                    and other.value.startswith(self.value)):
            self.value = other.value  # (a longer split text serves both ArrayGetItem indexes)
        if self.kind is None or (self.kind in ("object", "array") and other.kind not in (None, "object", "array")):
            self.kind = other.kind or self.kind
        return self

    def copy(self) -> Need:
        """A deep copy."""
        return Need().merge(self)

    def pop(self, keys: tuple[Any, ...]) -> Need | None:
        """Remove and return the demand at ``keys`` (None when nothing is read there)."""
        if not keys:
            return self
        node: Need | None = self
        for k in keys[:-1]:
            node = (node.elems if isinstance(k, int) else node.fields).get(k) if node else None
        if node is None:
            return None
        last = keys[-1]
        return (node.elems if isinstance(last, int) else node.fields).pop(last, None)

    def materialize(self, name: str = "value") -> Any:
        """A JSON value that satisfies the demand."""
        if self.value is not _UNSET and self.value is not _ABSENT_VALUE:
            value = copy.deepcopy(self.value)
            if isinstance(value, dict) and self.fields:
                return _merge_values(value, self._object(name))
            return value
        if self.kind == "json":
            return json.dumps(self.inner.materialize(name) if self.inner is not None else {})
        if self.items is not None or self.elems or self.kind == "array":
            length = max([i + 1 for i in self.elems] + [1 if self.items is not None else 0])
            out = []
            for i in range(length):
                n = (self.items or Need()).copy().merge(self.elems.get(i))
                out.append(n.materialize(name))
            return out
        if self.fields or self.kind == "object":
            return self._object(name)
        if "bucket" in name.lower():
            return "example-bucket"  # S3 bucket names are lower case
        return {"number": 1, "integer": 1, "boolean": True, "timestamp": EXAMPLE_TIMESTAMP,
                "base64": "ZXhhbXBsZQ=="}.get(self.kind or "", f"example-{name}")

    def _object(self, name: str) -> dict[str, Any]:
        return {k: v.materialize(k) for k, v in self.fields.items() if v.value is not _ABSENT_VALUE}


def _merge_values(base: Any, extra: Any) -> Any:
    """``extra`` laid over ``base``, objects merged key by key."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = _merge_values(base[k], v) if k in base else v
        return out
    return extra


def path_steps(text: str) -> list[tuple[str, Any]] | None:
    """A path's steps after its root: ``("field", name)``, ``("elem", i)`` or ``("items", None)``
    (a wildcard, slice or filter).  None when a step cannot be followed (``..``)."""
    body = text[2:] if text.startswith("$$") else text[1:]
    if not text.startswith("$$"):
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", body)
        if m:  # a variable's name
            body = body[m.end():]
    from flowengine.lang.jsonpath import jayway_body

    body = jayway_body(body)
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None or m.group(0) == "..":
            return None
        name, q1, q2, index, other = m.groups()
        if name is not None:
            steps.append(("items", None) if name == "*" else ("field", name))
        elif q1 is not None or q2 is not None:
            steps.append(("field", q1 if q1 is not None else q2))
        elif index is not None:
            steps.append(("elem", int(index)))
        else:
            steps.append(("items", other))
        pos = m.end()
    return steps


#: Array positions given to distinct filters, per inference (two filters that pick different
#: items of one array need two items): filter text -> index.
_FILTER_SLOTS: contextvars.ContextVar[dict[str, int]] = contextvars.ContextVar("filter_slots")


def wrap(steps: list[tuple[str, Any]] | None, need: Need) -> Need:
    """A demand on a value whose part at ``steps`` must satisfy ``need``."""
    root = Need()
    if steps is None:
        return root
    node = root
    for kind, arg in steps:
        if kind == "field":
            node = node.child(arg)
        elif kind == "elem":
            node = node.child(arg)
        elif isinstance(arg, str) and _FILTER.fullmatch(arg.strip()):
            slots = _FILTER_SLOTS.get({})
            node = node.child(slots.setdefault(arg.strip(), len(slots)))
            _filter_fields(node, arg)
        else:
            node.items = node.items or Need()
            node = node.items
    node.merge(need)
    return root


_FILTER = re.compile(r"""\?\(\s*@\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*==\s*('[^']*'|"[^"]*"|-?\d+(?:\.\d+)?|true|false|[A-Za-z_][A-Za-z0-9_-]*)\s*\)""")


def _filter_fields(item: Need, step: Any) -> None:
    """An item a filter ``[?(@.name == value)]`` must keep has that field and value."""
    m = _FILTER.fullmatch(step.strip()) if isinstance(step, str) else None
    if m is None:
        return
    text = m.group(2)
    if text[0] in "'\"":
        value: Any = text[1:-1]
    elif text in ("true", "false"):
        value = text == "true"
    elif re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        value = json.loads(text)
    else:
        value = text  # Jayway reads an unquoted word as that text
    node = item
    for name in m.group(1).split("."):
        node = node.child(name)
    node.merge(Need(value=value))


@dataclass
class Inference:
    """What a flow's happy path needs: each Task's result (by state path) and the input."""

    results: dict[str, Need] = field(default_factory=dict)
    input: Need = field(default_factory=Need)
    #: The Choice rules the happy path takes: state path -> rule index (-1: Default).
    choices: dict[str, int] = field(default_factory=dict)

    def result_for(self, state_path: str, base: Any) -> Any:
        """The mocked result for a Task: ``base`` (a placeholder) with what is read laid over it."""
        need = self.results.get(state_path)
        if need is None or need.empty:
            return base
        return _merge_values(base, need.materialize("result"))


class _Walker:
    def __init__(self) -> None:
        self.out = Inference()
        self.variables: dict[str, Need] = {}
        self.context = Need()

    # -- demands from expressions ---------------------------------------------------------

    def read_path(self, text: Any, need: Need, input_need: Need, ctx: Need | None = None) -> None:
        """``text`` (a path) is read and must satisfy ``need``; add that to the right root."""
        if not isinstance(text, str) or not text.startswith("$"):
            return
        try:
            compiled: JsonPath | None = compile_path(text)
        except (PathSyntaxError, ValueError):
            return
        assert compiled is not None
        if compiled.is_root:
            input_need.merge(need)
            return
        if not compiled.definite and need.empty:
            return  # an indefinite path never fails: nothing is needed unless read further
        if not compiled.definite:
            # the value is the list of matches: what is read of its elements is read of each match
            element = (need.items or Need()).copy()
            for each in need.elems.values():
                element.merge(each)
            need = element
        demand = wrap(path_steps(text), need)  # creates every step: a definite read must find them
        if compiled.is_input:
            input_need.merge(demand)
        elif compiled.is_context:
            target = ctx if ctx is not None else self.context
            target.merge(demand)
        elif compiled.var is not None:
            self.variables.setdefault(compiled.var, Need()).merge(demand)

    def read_intrinsic(self, text: str, need: Need, input_need: Need, ctx: Need | None = None) -> None:
        """The path arguments of an intrinsic call, typed by the function that reads them."""
        from flowengine.lang.intrinsics import IntrinsicSyntaxError, parse_intrinsic

        try:
            call = parse_intrinsic(text)
        except (IntrinsicSyntaxError, ValueError):
            return
        for fn, index, path, split in _intrinsic_args(getattr(call, "_call", None), None, need):
            self.read_path(path, split if split is not None else _arg_need(fn, index, need), input_need, ctx)

    def template(self, template: Any, need: Need, input_need: Need, ctx: Need | None = None) -> None:
        """A Parameters-like template is evaluated against some input: what it reads there.

        ``need`` is the demand on the template's value (what readers of its result want)."""
        if isinstance(template, dict):
            for key, value in template.items():
                if isinstance(key, str) and key.endswith(".$") and isinstance(value, str):
                    sub = need.fields.get(key[:-2]) or Need()
                    if value.startswith("States."):
                        self.read_intrinsic(value, sub, input_need, ctx)
                    else:
                        self.read_path(value, sub, input_need, ctx)
                else:
                    self.template(value, need.fields.get(key) or Need(), input_need, ctx)
        elif isinstance(template, list):
            for i, value in enumerate(template):
                self.template(value, need.elems.get(i) or need.items or Need(), input_need, ctx)

    def jsonata(self, template: Any, need: Need, input_need: Need, result_need: Need | None) -> None:
        """What a JSONata template reads from ``$states.input`` / ``$states.result``."""
        if isinstance(template, dict):
            for key, value in template.items():
                self.jsonata(value, need.fields.get(key) or Need(), input_need, result_need)
            return
        if isinstance(template, list):
            for i, value in enumerate(template):
                self.jsonata(value, need.elems.get(i) or Need(), input_need, result_need)
            return
        if not isinstance(template, str) or "{%" not in template:
            return
        expr = template.strip()
        whole = re.fullmatch(r"\{%\s*(\$states\.(?:input|result)(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)\s*%\}", expr)
        for m in _STATES_REF.finditer(template):
            root = input_need if m.group(1) == "input" else result_need
            if root is None:
                continue
            steps = path_steps("$" + m.group(2)) or []
            exact = whole is not None and whole.group(1) == m.group(0)
            demand = wrap(steps, need if exact else Need())
            if steps and not exact:
                _touch(demand, steps)
            root.merge(demand)
        for m in _VAR_REF.finditer(template):
            if m.group(1) in ("states",):
                continue
            steps = path_steps("$" + m.group(2)) or []
            if steps:
                demand = wrap(steps, Need())
                _touch(demand, steps)
                self.variables.setdefault(m.group(1), Need()).merge(demand)

    def assign(self, state_assign: Any, against: Need, jsonata: bool, input_need: Need,
               result_need: Need | None) -> None:
        """Variables assigned here satisfy later reads of them: move those demands upstream."""
        if not isinstance(state_assign, dict):
            return
        for key, value in state_assign.items():
            name = key[:-2] if key.endswith(".$") else key
            need = self.variables.pop(name, None) or Need()
            if jsonata:
                self.jsonata(value, need, input_need, result_need)
            elif key.endswith(".$") and isinstance(value, str):
                if value.startswith("States."):
                    self.read_intrinsic(value, need, against)
                else:
                    self.read_path(value, need, against)
            else:
                self.template(value, need, against)

    # -- the happy path -------------------------------------------------------------------

    def scope(self, machine: StateMachine, out_need: Need) -> Need:
        """Walk a scope's happy path backwards; returns the demand on the scope's input."""
        path = list(self.plan(machine))
        need = out_need
        for state, rule in reversed(path):
            need = self.state(state, need, rule)
        return need

    def plan(self, machine: StateMachine) -> Iterator[tuple[State, tuple[int, dict[str, Any]] | None]]:
        """The happy path through one scope: states in order, with each Choice's solution."""
        name: str | None = machine.start_at
        seen: set[str] = set()
        while name is not None and name in machine.states and name not in seen:
            seen.add(name)
            state = machine.states[name]
            if isinstance(state, ChoiceState):
                solved = self.solve(machine, state, seen)
                yield state, solved
                index = solved[0]
                name = state.default if index < 0 else state.choices[index].next
                continue
            yield state, None
            if state.end or isinstance(state, (SucceedState, FailState)):
                return
            name = state.next

    def solve(self, machine: StateMachine, state: ChoiceState, seen: set[str]) -> tuple[int, dict[str, Any]]:
        """The rule to take (-1 for Default) and input values that make it the first match;
        a rule leads on when it reaches a successful end without coming back to ``seen``."""
        order = _preferred_rules(machine, state, seen)
        for index in order:
            found = _solve_choice(state, index)
            if found is not None:
                self.out.choices[state.path or state.name] = index
                return index, found
        fallback = order[0] if order else -1
        return fallback, {}

    def state(self, state: State, out_need: Need, rule: tuple[int, dict[str, Any]] | None) -> Need:
        """Demand on a state's input, given the demand on its output."""
        jsonata = state.query_language == JSONATA
        input_need = Need()
        if jsonata:
            return self._jsonata_state(state, out_need, rule)
        # OutputPath selects from the state's output-before-OutputPath
        if state.output_path is None:
            after_result = Need()
        else:
            after_result = wrap(path_steps(state.output_path), out_need)
        if isinstance(state, (ChoiceState, WaitState, SucceedState, FailState)):
            effective = after_result
            if isinstance(state, ChoiceState) and rule is not None:
                for text, value in rule[1].items():
                    self.read_path(text, _chosen(value), effective)
            if isinstance(state, WaitState):
                self.read_path(state.seconds_path, Need(kind="integer", value=0), effective)
                self.read_path(state.timestamp_path, Need(kind="timestamp"), effective)
            if isinstance(state, FailState):
                self.read_path(state.error_path, Need(kind="string"), effective)
                self.read_path(state.cause_path, Need(kind="string"), effective)
            if state.assign is not ABSENT:
                self.assign(state.assign, effective, False, effective, None)
            return self._input_path(state, effective)
        # ResultPath: where the result goes in the state's input
        result_path = getattr(state, "result_path", "$")
        if result_path is None:
            result_need = Need()
            input_need.merge(after_result)
        else:
            steps = path_steps(result_path) or []
            keys = tuple(a for _, a in steps)
            if not keys:
                result_need = after_result
            else:
                result_need = after_result.pop(keys) or Need()
                input_need.merge(after_result)
                _objects_along(input_need, keys)  # ResultPath writes into objects
        raw_need = Need()
        selector = getattr(state, "result_selector", ABSENT)
        if state.assign is not ABSENT:  # JSONPath Assign reads the result (after ResultSelector)
            self.assign(state.assign, result_need, False, result_need, None)
        if selector is not ABSENT:
            self.template(selector, result_need, raw_need)
        else:
            raw_need = result_need
        effective = Need()  # the input after InputPath (Parameters are evaluated against it)
        if isinstance(state, TaskState):
            self.out.results.setdefault(state.path or state.name, Need()).merge(raw_need)
            self.template(state.parameters, Need(), effective)
            for setting in (state.timeout_seconds_path, state.heartbeat_seconds_path):
                self.read_path(setting, Need(kind="integer", value=60), effective)
        elif isinstance(state, PassState):
            if state.result is not ABSENT:
                pass
            elif state.parameters is not ABSENT:
                self.template(state.parameters, raw_need, effective)
            else:
                effective.merge(raw_need)
        elif isinstance(state, ParallelState):
            branch_in = Need()
            for i, branch in enumerate(state.branches):
                want = (raw_need.items or Need()).copy().merge(raw_need.elems.get(i))
                branch_in.merge(self.scope(branch, want))
            if state.parameters is not ABSENT:
                self.template(state.parameters, branch_in, effective)
            else:
                effective.merge(branch_in)
        elif isinstance(state, MapState):
            self._map(state, raw_need, effective)
        input_need.merge(self._input_path(state, effective))
        return input_need

    def _input_path(self, state: State, effective: Need) -> Need:
        if state.input_path is None:
            return Need()
        return wrap(path_steps(state.input_path), effective)

    def _map(self, state: MapState, raw_need: Need, effective: Need) -> None:
        item_in = Need()
        if state.processor is not None:
            want = (raw_need.items or Need()).copy()
            for v in raw_need.elems.values():
                want.merge(v)
            item_in = self.scope(state.processor, want)
        selector = state.item_selector if state.item_selector is not ABSENT else state.parameters
        item_need = item_in
        if selector is not ABSENT:
            ctx = Need()
            self.template(selector, item_in, effective, ctx)
            item_need = ctx.fields.get("Map", Need()).fields.get("Item", Need()).fields.get("Value", Need())
        for text in (state.max_concurrency_path, state.tolerated_failure_count_path,
                     state.tolerated_failure_percentage_path):
            self.read_path(text, Need(kind="integer", value=0), effective)
        if state.item_reader is not ABSENT:
            reader = state.item_reader if isinstance(state.item_reader, dict) else {}
            self.template(reader.get("Parameters", ABSENT), Need(), effective)
            return
        items = Need(kind="array")
        items.items = item_need
        if state.items_path in (None, "$"):
            effective.merge(items)
        else:
            self.read_path(state.items_path, items, effective)

    def _jsonata_state(self, state: State, out_need: Need,
                       rule: tuple[int, dict[str, Any]] | None) -> Need:
        input_need = Need()
        result_need = Need()
        produces = isinstance(state, (TaskState, ParallelState, MapState)) or (
            isinstance(state, PassState) and state.output is ABSENT)
        output, assign = state.output, state.assign
        if isinstance(state, ChoiceState) and rule is not None and rule[0] >= 0:
            taken = state.choices[rule[0]]  # a matching rule's Output/Assign replace the state's
            output, assign = taken.output, taken.assign
        if output is not ABSENT:
            self.jsonata(output, out_need, input_need, result_need)
        elif isinstance(state, PassState) or not produces:
            input_need.merge(out_need)
        else:
            result_need.merge(out_need)
        if assign is not ABSENT:
            self.assign(assign, Need(), True, input_need, result_need)
        if isinstance(state, ChoiceState) and rule is not None:
            for text, value in rule[1].items():
                self.read_path(text, _chosen(value), input_need)
        if isinstance(state, TaskState):
            self.out.results.setdefault(state.path or state.name, Need()).merge(result_need)
            self.jsonata(state.arguments, Need(), input_need, None)
        elif isinstance(state, ParallelState):
            branch_in = Need()
            for i, branch in enumerate(state.branches):
                want = (result_need.items or Need()).copy().merge(result_need.elems.get(i))
                branch_in.merge(self.scope(branch, want))
            if state.arguments is ABSENT:
                input_need.merge(branch_in)
            else:
                self.jsonata(state.arguments, branch_in, input_need, None)
        elif isinstance(state, MapState) and state.processor is not None:
            item_in = self.scope(state.processor, (result_need.items or Need()).copy())
            items = Need(kind="array")
            items.items = item_in
            if state.items is ABSENT:
                input_need.merge(items)
            else:
                self.jsonata(state.items, items, input_need, None)
        elif isinstance(state, WaitState) and isinstance(state.seconds, str):
            self.jsonata(state.seconds, Need(kind="integer", value=0), input_need, None)
        return input_need


def _chosen(value: Any) -> Need:
    """The demand a Choice solution puts on its variable."""
    return Need() if value is _PRESENT else Need(value=value)


def _objects_along(need: Need, keys: tuple[Any, ...]) -> None:
    """The input and each object on the way to ``keys[-1]`` must be objects."""
    node = need
    for key in (None,) + keys[:-1]:
        if key is not None:
            if isinstance(key, int):
                return
            node = node.child(key)
        if node.kind is None and node.items is None and not node.elems:
            node.kind = "object"


def _touch(demand: Need, steps: list[tuple[str, Any]]) -> None:
    """Make sure the leaf at ``steps`` exists in ``demand`` (a definite read)."""
    node = demand
    for kind, arg in steps:
        if kind == "items":
            node.items = node.items or Need()
            node = node.items
        else:
            node = node.child(arg)


def _intrinsic_args(call: Any, parent: Any = None, want: Need | None = None) -> Iterator[tuple[str, int, str, Need | None]]:
    """(function, argument index, path text, a special demand or None) for every path
    argument, nested calls included.  ``States.ArrayGetItem(States.StringSplit($.x, D), N)``
    wants text that splits at ``D`` into more than ``N`` parts: that is the special demand."""
    if call is None:
        return
    for i, arg in enumerate(getattr(call, "args", ())):
        text = getattr(arg, "text", None)
        if isinstance(text, str) and hasattr(arg, "root"):
            yield call.name, i, text, _split_need(call, parent, want) if i == 0 else None
        elif hasattr(arg, "args"):
            yield from _intrinsic_args(arg, call, want if parent is None else None)


def _literal(arg: Any) -> Any:
    return getattr(arg, "value", None) if not hasattr(arg, "root") and not hasattr(arg, "args") else None


def _split_need(call: Any, parent: Any, want: Need | None) -> Need | None:
    if call.name != "States.StringSplit" or len(call.args) < 2:
        return None
    delimiter = _literal(call.args[1])
    if not isinstance(delimiter, str) or not delimiter:
        return None
    index = 0
    if parent is not None and parent.name == "States.ArrayGetItem" and len(parent.args) > 1 \
            and parent.args[0] is call and isinstance(_literal(parent.args[1]), int):
        index = _literal(parent.args[1])
    parts = [f"part{i}" for i in range(index + 1)]
    if want is not None and isinstance(want.value, str) and delimiter not in want.value:
        parts[index] = want.value  # the item the caller wants (a Choice compares it)
    return Need(kind="string", value=delimiter.join(parts))


def _arg_need(fn: str, index: int, need: Need) -> Need:
    """What an intrinsic wants of its argument ``index``."""
    if fn == "States.StringToJson":
        n = Need(kind="json")
        n.inner = need.copy()
        return n
    if fn in ("States.ArrayGetItem", "States.ArrayLength", "States.ArrayContains", "States.ArrayPartition",
              "States.ArrayUnique") and index == 0:
        n = Need(kind="array")
        n.items = Need()
        return n
    if fn in ("States.MathAdd", "States.ArrayRange", "States.MathRandom") or (
            fn in ("States.ArrayGetItem", "States.ArrayPartition") and index == 1):
        return Need(kind="integer", value=1)
    if fn == "States.Base64Decode":
        return Need(kind="base64")
    if fn in ("States.Format", "States.StringSplit", "States.Hash", "States.Base64Encode", "States.UUID"):
        return Need(kind="string")
    if fn == "States.JsonMerge":
        return Need(kind="object")
    return Need()


# -- Choice ---------------------------------------------------------------------------------


def _graph(machine: StateMachine) -> dict[str, list[str]]:
    edges: dict[str, list[str]] = {}
    for name, st in machine.states.items():
        targets: list[str] = []
        if isinstance(st, ChoiceState):
            targets = [r.next for r in st.choices if r.next] + ([st.default] if st.default else [])
        elif st.next:
            targets = [st.next]
        edges[name] = targets
    return edges


def _succeeds(machine: StateMachine, start: str | None, avoid: set[str]) -> int | None:
    """Steps from ``start`` to a successful end without passing ``avoid`` (None: never)."""
    if start is None or start not in machine.states or start in avoid:
        return None
    edges = _graph(machine)
    frontier, seen, depth = [start], {start}, 0
    while frontier:
        nxt: list[str] = []
        for name in frontier:
            st = machine.states[name]
            if isinstance(st, SucceedState) or (st.end and not isinstance(st, FailState)):
                return depth
            for t in edges.get(name, []):
                if t in machine.states and t not in seen and t not in avoid:
                    seen.add(t)
                    nxt.append(t)
        frontier, depth = nxt, depth + 1
    return None


def _preferred_rules(machine: StateMachine, state: ChoiceState, seen: set[str]) -> list[int]:
    """Rule indexes (-1 = Default) in the order to try: those that lead on first."""
    options = list(range(len(state.choices))) + ([-1] if state.default else [])

    def target(i: int) -> str | None:
        return state.default if i < 0 else state.choices[i].next

    leading = [i for i in options if _succeeds(machine, target(i), seen | {state.name}) is not None]
    return leading + [i for i in options if i not in leading]


class _Scope:
    """The little a compiled rule needs of the engine's scope."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = variables
        self.context: dict[str, Any] = {}


def _leaves(rule: ChoiceRule) -> Iterator[ChoiceRule]:
    if rule.and_ is not None or rule.or_ is not None:
        for r in rule.and_ or rule.or_ or ():
            yield from _leaves(r)
    elif rule.not_ is not None:
        yield from _leaves(rule.not_)
    elif rule.variable is not None:
        yield rule


def _shift_timestamp(text: str, seconds: int) -> str:
    from datetime import timedelta

    from flowengine.engine.states.choice import parse_timestamp

    parsed = parse_timestamp(text)
    if parsed is None:
        return EXAMPLE_TIMESTAMP
    return (parsed + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _candidates(rule: ChoiceRule) -> list[Any]:
    """Values of a leaf's variable worth trying, one that makes it true first."""
    op = rule.operator or ""
    v = rule.value
    base = op[:-4] if op.endswith("Path") else op
    if op.endswith("Path") and op != "IsPresent":
        family = re.match(r"[A-Z][a-z]+", base)
        by_family: dict[str, list[Any]] = {
            "String": ["a", "b"], "Numeric": [1, 2, 0], "Boolean": [True, False],
            "Timestamp": [EXAMPLE_TIMESTAMP, _shift_timestamp(EXAMPLE_TIMESTAMP, 60)]}
        return by_family.get(family.group(0) if family else "", ["a", 1])
    if op == "IsPresent":
        return [_PRESENT, _ABSENT_VALUE] if v else [_ABSENT_VALUE, _PRESENT]
    if op == "IsNull":
        return [None, "x"] if v else ["x", None]
    if op == "IsString":
        return ["x", 1] if v else [1, "x"]
    if op == "IsNumeric":
        return [1, "x"] if v else ["x", 1]
    if op == "IsBoolean":
        return [True, "x"] if v else ["x", True]
    if op == "IsTimestamp":
        return [EXAMPLE_TIMESTAMP, "x"] if v else ["x", EXAMPLE_TIMESTAMP]
    if op == "StringMatches" and isinstance(v, str):
        match = re.sub(r"(?<!\\)\*", "x", v).replace("\\*", "*").replace("\\\\", "\\")
        return [match, match + "~other"]
    if op.startswith("String") and isinstance(v, str):
        return [v, v + "~", "", "~" + v]
    if op.startswith("Numeric") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return [v, v + 1, v - 1]
    if op.startswith("Boolean"):
        return [v, not v] if isinstance(v, bool) else [True, False]
    if op.startswith("Timestamp") and isinstance(v, str):
        return [v, _shift_timestamp(v, 1), _shift_timestamp(v, -1)]
    return ["x"]


def _set_at(doc: Any, steps: list[tuple[str, Any]], value: Any) -> None:
    """Place ``value`` at ``steps`` in ``doc``, creating objects and arrays on the way."""
    node: Any = doc
    for i, (kind, arg) in enumerate(steps):
        last = i == len(steps) - 1
        if kind == "items":
            return
        want: Any = {} if i + 1 < len(steps) and steps[i + 1][0] == "field" else []
        if kind == "elem":
            if not isinstance(node, list):
                return
            while len(node) <= arg:
                node.append(None)
            key: Any = arg
        else:
            if not isinstance(node, dict):
                return
            key = arg
        if last:
            if value is not _ABSENT_VALUE:
                node[key] = value
            return
        nxt = node[key] if kind == "elem" else node.get(key)
        if not isinstance(nxt, type(want)):
            nxt = node[key] = want
        node = nxt


def _solve_choice(state: ChoiceState, index: int, budget: int = 600) -> dict[str, Any] | None:
    """Values for the Choice's (input) variables under which rule ``index`` is the first that
    matches (-1: none matches), checked with the engine's own rule evaluation; None if not found."""
    from itertools import product

    from flowengine.engine.states.choice import compile_rule

    if state.query_language == JSONATA:
        return _solve_jsonata(state, index)
    rules = state.choices if index < 0 else state.choices[: index + 1]
    variables: dict[str, list[Any]] = {}
    for rule in rules:
        for leaf in _leaves(rule):
            assert leaf.variable is not None
            variables.setdefault(leaf.variable, [])
            for c in _candidates(leaf):
                if not any(c is x or (type(c) is type(x) and c == x) for x in variables[leaf.variable]):
                    variables[leaf.variable].append(c)
            if (leaf.operator or "").endswith("Path") and isinstance(leaf.value, str):
                variables.setdefault(leaf.value, list(_candidates(leaf)))
    names = [n for n in variables if n.startswith("$") and not n.startswith("$$")]
    if any(path_steps(n) is None for n in names):
        return None
    try:
        tests = [compile_rule(r) for r in rules]
    except Exception:  # noqa: BLE001 - a rule the engine cannot compile: nothing to solve
        return None
    input_steps = [path_steps(n) or [] for n in names if not compile_path(n).is_variable]
    list_root = bool(input_steps) and all(st and st[0][0] == "elem" for st in input_steps)
    for tried, combo in enumerate(product(*(variables[n] for n in names))):
        if tried >= budget:
            return None
        doc: Any = [] if list_root else {}
        var_values: dict[str, Any] = {}
        for name, value in zip(names, combo):
            steps = path_steps(name) or []
            compiled = compile_path(name)
            if compiled.var is not None:
                holder = var_values.setdefault(compiled.var, {})
                if not steps:
                    var_values[compiled.var] = value
                elif isinstance(holder, dict):
                    _set_at(holder, steps, value)
            elif steps:
                _set_at(doc, steps, value)
        scope = _Scope(var_values)
        try:
            outcomes = [t(doc, scope) for t in tests]
        except Exception:  # noqa: BLE001 - a missing variable: try other values
            continue
        wanted = [False] * len(tests) if index < 0 else [False] * index + [True]
        if outcomes == wanted:
            return dict(zip(names, combo))
    return None


_JSONATA_CMP = re.compile(
    r"\$states\.input((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*(=|!=|>=|<=|>|<)\s*"
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false|null)""")


def _solve_jsonata(state: ChoiceState, index: int) -> dict[str, Any] | None:
    """Simple JSONata conditions (``$states.input.a = 'x'`` joined by ``and``/``or``)."""
    from random import Random

    from flowengine.lang.jsonata import compile_template

    rules = state.choices if index < 0 else state.choices[: index + 1]
    variables: dict[str, list[Any]] = {}
    for rule in rules:
        if not isinstance(rule.condition, str):
            return None
        for m in _JSONATA_CMP.finditer(rule.condition):
            literal = json.loads(m.group(3).replace("'", '"')) if m.group(3)[0] in "'\"" else json.loads(m.group(3))
            cands: list[Any] = [literal]
            if isinstance(literal, bool):
                cands.append(not literal)
            elif isinstance(literal, (int, float)):
                cands += [literal + 1, literal - 1]
            elif isinstance(literal, str):
                cands.append(literal + "~")
            else:
                cands.append("x")
            variables.setdefault("$" + m.group(1), []).extend(c for c in cands if c not in variables.get("$" + m.group(1), []))
    names = list(variables)
    try:
        tests = [compile_template(r.condition, field="Condition") for r in rules]
    except Exception:  # noqa: BLE001
        return None
    from itertools import product

    for tried, combo in enumerate(product(*(variables[n] for n in names))):
        if tried >= 600:
            return None
        doc: dict[str, Any] = {}
        for name, value in zip(names, combo):
            _set_at(doc, path_steps(name) or [], value)
        try:
            outcomes = [t.evaluate({"input": doc, "context": {}}, {}, Random(0)) is True for t in tests]
        except Exception:  # noqa: BLE001
            continue
        wanted = [False] * len(tests) if index < 0 else [False] * index + [True]
        if outcomes == wanted:
            return {n: v for n, v in zip(names, combo)}
    return None


def infer(machine: StateMachine) -> Inference:
    """Walk the happy path of a flow's definition; see the module docstring."""
    _FILTER_SLOTS.set({})
    walker = _Walker()
    need = walker.scope(machine, Need())
    execution_input = walker.context.fields.get("Execution", Need()).fields.get("Input")
    need.merge(execution_input)
    walker.out.input = need
    return walker.out

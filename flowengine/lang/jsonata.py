"""JSONata templates, evaluated the way AWS Step Functions evaluates them.

In a state whose ``QueryLanguage`` is ``JSONata``, a field (``Arguments``, ``Output``,
``Assign``, ``Items``, ``Condition``, ``Seconds``, ``Error``, ``ItemSelector`` ...) holds a JSON
value in which every string written ``"{% expr %}"`` is a JSONata expression. The value is
compiled once, when the definition loads (:func:`compile_template`); each transition only
evaluates it (:meth:`JsonataTemplate.evaluate`).

What AWS does, and so what this module does (AWS's developer guide, "Transforming data with
JSONata", and the executions recorded in ``shared/conformance``):

* A string is an expression only when it starts with ``{%`` and ends with ``%}``, with nothing
  outside them; ``" {% $x %} "`` is a literal string. Object keys are always literal.
* An expression sees ``$states`` (``input``, ``context`` and, where the state has them,
  ``result`` and ``errorOutput``) and the workflow variables as ``$name``. It has no context
  item, so a bare ``field`` or ``$`` finds nothing.
* A result is plain JSON: integral numbers are ints, as JSON text has them. An expression that
  finds nothing fails the state, whether it is the whole field or one key or element of it::

      The JSONata expression '$doesNotExist' specified for the field 'Output/result'
      returned nothing (undefined).

  A function value fails with ``... returned an unsupported result type.`` and a JSONata error
  with ``... threw an error during evaluation. T1006: Attempted to invoke a non-function``,
  the message being jsonata-js's (``function`` where jsonata-python writes ``Object``, the
  inserted values JSON-quoted). The error name is always ``States.QueryEvaluationError``. The
  field is written as AWS writes it: ``Output``, ``Output/a/b``, ``Items[1]``. The interpreter
  puts ``An error occurred while executing the state 'X' (entered at the event id #N).`` in
  front of the cause.
* Step Functions adds ``$partition``, ``$range``, ``$hash``, ``$random([seed])``, ``$uuid`` and
  ``$parse``, and disables ``$eval`` (a call fails with T1006). Non-integer arguments are
  truncated. ``$range`` with a missing step or a step pointing away from the end, ``$partition``
  of an empty array or by a size below 1, and ``$hash`` without an algorithm return nothing;
  a one-element ``$range`` is the bare number. ``$random(seed)`` is ``java.util.Random(seed)
  .nextDouble()``, as on AWS (seed 42 gives 0.7275636800328681).
* ``$random()``, ``$uuid()`` and ``$shuffle()`` draw from the engine's seeded ``random.Random``
  and ``$now()``/``$millis()`` read the engine clock (``now``, the Unix epoch when not given), so
  an execution replays identically.
* Evaluation is bounded as on AWS: 100 levels of nesting (``1+1+...`` with 100 terms passes, 101
  fail), and :data:`EVALUATION_TIMEOUT_SECONDS` of run time.  Regular expressions count against
  the same time: a literal ``/.../`` is compiled by ``re`` (jsonata-python's syntax and errors)
  but matched by the ``regex`` module, whose ``timeout`` stops a catastrophically backtracking
  match (``$contains(s, /^(a|aa)+$/)``) at the evaluation's deadline; Python's ``re`` cannot be
  interrupted once a match has started.
* Step Functions implements JSONata 2.0.6, so the 2.1 operators ``??`` and ``?:`` that
  jsonata-python accepts are refused as syntax errors, as 2.0.6 refuses them.

Known differences, all jsonata-python's: ``1/0`` fails where AWS writes ``"Infinity"``;
``$number('x')`` fails with a Python ``ValueError`` message instead of D3030; ``$count(null)``
is 0 where AWS says 1; ``$string(1e20)`` is written in exponent form. The wording of our own
failures of ``$parse``, ``$hash`` and of the time bound was not recorded on AWS and is our best
rendering; no memory bound is enforced beyond ``$range``'s.

jsonata-python is imported only when a template with an expression is compiled (the import
costs about 45 ms). The evaluator drives it below its ``evaluate()``: each evaluation gets a
fresh scope frame (so ``:=`` bindings and the per-call functions never leak between
evaluations or into the compiled expression) and the functions are bound to that frame only.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flowengine.model.failure import QUERY_EVALUATION_ERROR, StatesFailure, json_type_name

if TYPE_CHECKING:
    import random as _random_module

__all__ = [
    "DEFAULT_NOW",
    "EVALUATION_TIMEOUT_SECONDS",
    "MAX_EVALUATION_DEPTH",
    "JsonataSyntaxError",
    "JsonataTemplate",
    "check_syntax",
    "compile_template",
    "expression_text",
    "is_expression",
    "json_type_name",
]

#: The clock ``$now()`` and ``$millis()`` read when :meth:`JsonataTemplate.evaluate` gets no ``now``.
DEFAULT_NOW = datetime(1970, 1, 1, tzinfo=UTC)
#: AWS's nesting bound: the evaluator may nest this deep, one level more fails.
MAX_EVALUATION_DEPTH = 100
#: How long one expression may run before it fails.
EVALUATION_TIMEOUT_SECONDS = 5.0
#: The most elements ``$range`` builds (AWS accepts ``$range(1, 360145, 1)`` and no more).
RANGE_MAX_ELEMENTS = 360_145

_OPEN = "{%"
_CLOSE = "%}"
_MISSING: Any = object()
_HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
#: Names the evaluator resolves itself, before variables and jsonata-python's own functions.
_OWN_FUNCTIONS = frozenset({"partition", "range", "hash", "random", "uuid", "parse", "now", "millis", "shuffle"})
_DISABLED_FUNCTIONS = frozenset({"eval"})
#: jsonata-js names the element type of an ``a<x>`` signature in T0412 this way.
_ARRAY_TYPE_NAMES = {"a": "arrays", "b": "booleans", "f": "functions", "n": "numbers", "o": "objects", "s": "strings"}
_PLACEHOLDER = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")
_SYNTAX_HINTS = {
    "S0101": "close the string with the quote character that opened it",
    "S0105": "close the quoted name with a backquote (`)",
    "S0106": "close the comment with */",
    "S0202": "check that every bracket and parenthesis is closed by its own kind",
    "S0203": "an opened bracket, parenthesis or brace is not closed",
    "S0207": "the expression stops where an operand is still expected",
    "S0212": "only a variable ($name) can be assigned with :=",
    "S0302": "close the regular expression with /",
}
_NEWER_OPERATOR_HINT = ("'??' and '?:' are JSONata 2.1 operators; Step Functions implements JSONata 2.0.6: "
                        "write a condition such as $exists($a) ? $a : $b")


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


class JsonataSyntaxError(ValueError):
    """A JSONata expression that does not parse, reported when a definition loads.

    ``message`` is the parser's sentence as AWS shows it (jsonata-js wording, no ``S0xxx``
    code); ``offset`` is 0-based into the text between ``{%`` and ``%}`` as written (None when
    unknown); ``hint`` says what usually fixes it. ``code`` is the JSONata error code, and
    ``expression``/``path`` name the expression and the field it sits in when known.
    """

    def __init__(self, message: str, offset: int | None = None, hint: str | None = None, *,
                 code: str | None = None, expression: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint
        self.code = code
        self.expression = expression
        self.path = path


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a string AWS evaluates as JSONata: ``{%`` first, ``%}`` last."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith(_OPEN) and value.endswith(_CLOSE)


def expression_text(value: str) -> str:
    """The expression inside ``{% ... %}`` as AWS quotes it in a cause (surrounding blanks dropped)."""
    return value[2:-2].strip()


def compile_template(value: Any, field: str | None = None) -> JsonataTemplate:
    """Compile a JSONata-mode field value once, at definition load.

    ``field`` is the ASL field the value sits in (``"Output"``, ``"Assign"``, ``"Items"`` ...);
    causes name it as AWS does (``Output/result``). Raises :class:`JsonataSyntaxError` for the
    first expression that does not parse.
    """
    loader = _LibraryLoader()
    root = _compile_node(value, field or "", loader)
    return JsonataTemplate(root, field or "", loader.loaded)


def check_syntax(expr_text: str) -> JsonataSyntaxError | None:
    """The syntax error of one expression, or None when it parses.

    Takes either the whole ``"{% ... %}"`` string or the text between the delimiters; the
    offset of the error counts from the start of that text.
    """
    inner = expr_text[2:-2] if is_expression(expr_text) else expr_text
    try:
        _parse(inner, _LibraryLoader().get())
    except JsonataSyntaxError as err:
        return err
    return None


class JsonataTemplate:
    """A compiled JSONata-mode field value: literals kept, every ``{% %}`` expression parsed.

    Evaluating it builds a fresh JSON value; nothing of one evaluation is kept for the next,
    so one template may be evaluated by any number of executions, interleaved.
    """

    __slots__ = ("_lib", "_root", "expression", "field", "is_constant")

    def __init__(self, root: _Node, field: str, lib: _Library | None) -> None:
        self._root = root
        self._lib = lib
        #: The ASL field the template was compiled for ("" when not given).
        self.field = field
        #: True when the value holds no expression: evaluating it only copies it.
        self.is_constant = isinstance(root, _Constant)
        #: The expression text when the whole value is one expression, else None.
        self.expression = root.text if isinstance(root, _Expression) else None

    def evaluate(self, states: dict[str, Any], variables: Mapping[str, Any] | None,
                 random: _random_module.Random, *, now: datetime | None = None) -> Any:
        """The field's value for one state visit, as plain JSON.

        ``states`` is bound to ``$states``, ``variables`` are the workflow variables in scope,
        ``random`` is the execution's one seeded source (``$random()``, ``$uuid()``,
        ``$shuffle()``), ``now`` the engine clock (``$now()``, ``$millis()``; the Unix epoch when
        None, naive datetimes are UTC). Raises ``StatesFailure("States.QueryEvaluationError", cause)``.
        """
        if self._lib is None:
            return self._root.evaluate(None)
        run = _Run(self._lib, states, variables if variables is not None else {}, random, _as_utc(now))
        return self._root.evaluate(run)

    def references(self) -> set[str]:
        """The workflow variables the expressions read (``$foo`` gives ``"foo"``).

        Leaves out ``$states``, ``$`` and ``$$``, names bound inside the expression (``:=``,
        function parameters, ``@$x``/``#$i``) and names of functions (called, or JSONata's and
        Step Functions' own).
        """
        names: set[str] = set()
        self._root.collect(names)
        return names

    def type_failure(self, expected: str, value: Any) -> StatesFailure:
        """AWS's failure for a result the field cannot take (``Items`` that is not an array ...).

        ``expected`` is the JSON type the field wants (``"array"``), ``value`` what the
        expression gave. For templates that are one expression (:attr:`expression`).
        """
        cause = (f"The JSONata expression '{self.expression}' specified for the field '{self.field}' returned an "
                 f"unexpected result type. Expected '{expected}', but was '{json_type_name(value)}' for value: "
                 f"{_json_text(value)}")
        return StatesFailure(QUERY_EVALUATION_ERROR, cause)

    def __repr__(self) -> str:
        return f"JsonataTemplate(field={self.field!r}, constant={self.is_constant})"


# --------------------------------------------------------------------------------------------
# jsonata-python, imported on first need
# --------------------------------------------------------------------------------------------


class _Library:
    """The parts of jsonata-python the evaluator uses, gathered when a compile first needs them."""

    __slots__ = (
        "builtin_names",
        "error_codes",
        "from_millis",
        "jexception",
        "jlambda",
        "jsonata",
        "null",
        "sequence",
        "tokenizer",
    )

    def __init__(self) -> None:
        from jsonata import functions, jexception, jsonata, tokenizer, utils

        engine = jsonata.Jsonata
        self.jsonata: Any = engine
        self.jexception: Any = jexception.JException
        #: JSONata's null; None is JSONata's undefined.
        self.null: Any = utils.Utils.NULL_VALUE
        self.sequence: Callable[[Iterable[Any]], list[Any]] = utils.Utils.create_sequence_from_iter
        self.jlambda: Callable[[Callable[..., Any]], Any] = engine.JLambda
        self.tokenizer: Any = tokenizer.Tokenizer
        self.from_millis: Callable[[int, str | None, str | None], str] = functions.Functions.datetime_from_millis
        self.error_codes: Mapping[str, str] = jexception.JException.error_codes
        self.builtin_names = frozenset(engine.static_frame.bindings) | _OWN_FUNCTIONS | _DISABLED_FUNCTIONS


class _LibraryLoader:
    """Imports jsonata-python the first time a compile needs it, and only then."""

    __slots__ = ("_library",)

    def __init__(self) -> None:
        self._library: _Library | None = None

    def get(self) -> _Library:
        """The library handle, importing jsonata-python on the first call."""
        if self._library is None:
            self._library = _Library()
        return self._library

    @property
    def loaded(self) -> _Library | None:
        """The library handle if a compile needed it, else None."""
        return self._library


# --------------------------------------------------------------------------------------------
# Compiling
# --------------------------------------------------------------------------------------------


def _compile_node(value: Any, path: str, loader: _LibraryLoader) -> _Node:
    """The node for one JSON value; subtrees without expressions collapse into constants."""
    if is_expression(value):
        return _Expression(value, path, loader.get())
    if isinstance(value, dict):
        items = tuple((key, _compile_node(item, _key_path(path, key), loader)) for key, item in value.items())
        if all(isinstance(node, _Constant) for _, node in items):
            return _Constant(_copy_json(value))
        return _ObjectNode(items)
    if isinstance(value, list):
        elements = tuple(_compile_node(item, f"{path}[{index}]", loader) for index, item in enumerate(value))
        if all(isinstance(node, _Constant) for node in elements):
            return _Constant(_copy_json(value))
        return _ArrayNode(elements)
    return _Constant(value)


def _key_path(path: str, key: str) -> str:
    """The field path of an object member, AWS style (``Output/a/b``)."""
    return f"{path}/{key}" if path else str(key)


def _parse(inner: str, lib: _Library) -> Any:
    """Parse the text between ``{%`` and ``%}``; JSONata 2.0.6 syntax, errors as AWS words them."""
    try:
        compiled = lib.jsonata(inner, _bounded_regex)
    except lib.jexception as err:
        raise _syntax_error(err, inner, lib) from None
    except RecursionError:
        raise JsonataSyntaxError("The expression is nested too deeply", None,
                                 "split it into smaller expressions or variables") from None
    except Exception:  # noqa: BLE001 - jsonata-python trips over an unterminated comment instead of reporting S0106
        if "/*" in inner:
            raise JsonataSyntaxError(lib.error_codes["S0106"], inner.rfind("/*"), _SYNTAX_HINTS["S0106"],
                                     code="S0106") from None
        raise JsonataSyntaxError("The expression cannot be parsed", None, None) from None
    _refuse_newer_operators(inner, lib)
    return compiled


def _syntax_error(err: Any, inner: str, lib: _Library) -> JsonataSyntaxError:
    """A parser exception as a :class:`JsonataSyntaxError` with a 0-based offset."""
    code = str(err.error)
    location = err.location if isinstance(err.location, int) and err.location >= 0 else None
    token = err.expected if code == "S0202" else err.current
    offset = location
    if location is not None and code not in ("S0203", "S0207") and token is not None and not callable(token):
        offset = location - len(str(token))
    if offset is not None:
        offset = max(0, min(offset, len(inner)))
    return JsonataSyntaxError(_render_message(err, lib), offset, _SYNTAX_HINTS.get(code), code=code)


def _refuse_newer_operators(inner: str, lib: _Library) -> None:
    """Refuse ``??`` and ``?:``, which jsonata-python parses but JSONata 2.0.6 (AWS's) does not."""
    if "??" not in inner and "?:" not in inner:
        return
    lexer = lib.tokenizer(inner)
    previous = None
    try:
        while (token := lexer.next(_after_operand(previous))) is not None:
            if token.type == "operator" and token.value in ("??", "?:"):
                symbol = token.value[1]
                raise JsonataSyntaxError(f'The symbol "{symbol}" cannot be used as a unary operator',
                                         token.position - 1, _NEWER_OPERATOR_HINT, code="S0211")
            previous = token
    except lib.jexception:
        return


def _after_operand(token: Any) -> bool:
    """Whether the next token stands where an operator goes (so ``/`` divides, not a regex)."""
    if token is None:
        return False
    if token.type in ("name", "variable", "number", "string", "value", "regex"):
        return True
    return token.type == "operator" and token.value in (")", "]", "}")


# --------------------------------------------------------------------------------------------
# The compiled tree
# --------------------------------------------------------------------------------------------


class _Node:
    """One compiled JSON value."""

    __slots__ = ()

    def evaluate(self, run: _Run | None) -> Any:
        """The value for one evaluation (``run`` is None only for trees without expressions)."""
        raise NotImplementedError

    def collect(self, names: set[str]) -> None:
        """Add the variables the node reads to ``names``."""


class _Constant(_Node):
    """A JSON value without expressions; each evaluation gets its own copy."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, run: _Run | None) -> Any:
        return _copy_json(self.value)


class _ObjectNode(_Node):
    """A JSON object with an expression somewhere inside; members evaluate in order."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[str, _Node], ...]) -> None:
        self.items = items

    def evaluate(self, run: _Run | None) -> Any:
        return {key: node.evaluate(run) for key, node in self.items}

    def collect(self, names: set[str]) -> None:
        for _, node in self.items:
            node.collect(names)


class _ArrayNode(_Node):
    """A JSON array with an expression somewhere inside."""

    __slots__ = ("elements",)

    def __init__(self, elements: tuple[_Node, ...]) -> None:
        self.elements = elements

    def evaluate(self, run: _Run | None) -> Any:
        return [node.evaluate(run) for node in self.elements]

    def collect(self, names: set[str]) -> None:
        for node in self.elements:
            node.collect(names)


class _Expression(_Node):
    """One ``{% %}`` string, parsed; evaluates to JSON or fails with AWS's cause."""

    __slots__ = ("_compiled", "_lib", "path", "text")

    def __init__(self, source: str, path: str, lib: _Library) -> None:
        inner = source[2:-2]
        self.text = inner.strip()
        self.path = path
        self._lib = lib
        try:
            self._compiled = _parse(inner, lib)
        except JsonataSyntaxError as err:
            err.expression, err.path = self.text, path
            raise

    def evaluate(self, run: _Run | None) -> Any:
        assert run is not None, "a template with expressions is evaluated with a run"
        compiled = self._compiled
        scope = _Scope(compiled.environment, run)
        guard = _Guard(time.monotonic() + EVALUATION_TIMEOUT_SECONDS)
        scope.bindings["__evaluate_entry"] = guard.enter
        scope.bindings["__evaluate_exit"] = guard.leave
        lib = self._lib
        deadline = _REGEX_DEADLINE.set(guard.deadline)
        try:
            result = compiled.eval(compiled.ast, None, scope)
        except lib.jexception as err:
            raise self._failure(f"threw an error during evaluation. {err.error}: {_render_message(err, lib)}") from None
        except _PlainFailure as err:
            raise self._failure(f"threw an error during evaluation: {err}") from None
        except RecursionError:
            raise self._failure(f"threw an error during evaluation: {_stack_message(guard.depth)}") from None
        except StatesFailure:
            raise
        except Exception as err:  # noqa: BLE001 - jsonata-python's own faults (1/0 raises ZeroDivisionError ...)
            raise self._failure(f"threw an error during evaluation: {type(err).__name__}: {err}") from None
        finally:
            _REGEX_DEADLINE.reset(deadline)
        if result is None:
            raise self._failure("returned nothing (undefined).")
        try:
            return _to_json(result, lib.null)
        except _Unsupported:
            raise self._failure("returned an unsupported result type.") from None

    def collect(self, names: set[str]) -> None:
        used: set[str] = set()
        bound: set[str] = set()
        _walk_names(self._compiled.ast, used, bound)
        names |= used - bound - self._lib.builtin_names - {"states", "", "$"}

    def _failure(self, tail: str) -> StatesFailure:
        where = f" specified for the field '{self.path}'" if self.path else ""
        return StatesFailure(QUERY_EVALUATION_ERROR, f"The JSONata expression '{self.text}'{where} {tail}")


def _walk_names(node: Any, used: set[str], bound: set[str]) -> None:
    """Collect variable names read (``used``) and bound (``bound``) anywhere under an AST node."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not hasattr(item, "type") or id(item) in seen:
            continue
        seen.add(id(item))
        kind = getattr(item, "type", None)
        if kind == "variable" and isinstance(item.value, str):
            used.add(item.value)
        elif kind == "bind" and getattr(item.lhs, "type", None) == "variable":
            bound.add(item.lhs.value)
        elif kind == "lambda":
            bound.update(arg.value for arg in item.arguments or () if getattr(arg, "type", None) == "variable")
        for name in ("focus", "index"):
            if isinstance(getattr(item, name, None), str):
                bound.add(getattr(item, name))
        if kind in ("function", "partial") and getattr(item.procedure, "type", None) == "variable":
            bound.add(item.procedure.value)  # a called name is a function, not a workflow variable
        for attribute, child in vars(item).items():
            if attribute != "_outer_instance" and child is not None and not isinstance(child, (str, int, float, bool)):
                stack.append(child)


# --------------------------------------------------------------------------------------------
# One evaluation
# --------------------------------------------------------------------------------------------


class _Run:
    """What one :meth:`JsonataTemplate.evaluate` call shares between its expressions.

    Resolves ``$states``, the Step Functions functions (bound to this call's random source and
    clock) and the workflow variables. Built per call and dropped after it, so nothing of one
    evaluation reaches another.
    """

    __slots__ = ("_functions", "lib", "now", "random", "states", "variables")

    def __init__(self, lib: _Library, states: dict[str, Any], variables: Mapping[str, Any],
                 random: _random_module.Random, now: datetime) -> None:
        self.lib = lib
        self.states = states
        self.variables = variables
        self.random = random
        self.now = now
        self._functions: dict[str, Any] = {}

    def lookup(self, name: str) -> Any:
        """The value of ``$name``, or ``_MISSING`` to let jsonata-python's own frames answer."""
        if name == "states":
            return self.states
        if name in _OWN_FUNCTIONS:
            function = self._functions.get(name)
            if function is None:
                function = self._functions[name] = self.lib.jlambda(getattr(self, f"_fn_{name}"))
            return function
        if name in _DISABLED_FUNCTIONS:
            return None  # a call fails with T1006, as on AWS
        value = self.variables.get(name, _MISSING)
        return self.lib.null if value is None else value

    # --- the functions Step Functions adds or changes ----------------------------------------

    def _fn_partition(self, *args: Any) -> Any:
        """``$partition(array, size)``: chunks of ``size``, the last one shorter."""
        array, size = self._arguments("partition", args, 2)
        chunk = self._integer("partition", 2, size)
        if array is None or chunk is None:
            return None
        items = list(array) if isinstance(array, list) else [array]
        if not items or chunk < 1:
            return None
        return [items[start:start + chunk] for start in range(0, len(items), chunk)]

    def _fn_range(self, *args: Any) -> Any:
        """``$range(start, end, step)``: ``end`` included when a step lands on it."""
        bounds = self._arguments("range", args, 3)
        start, end, step = (self._integer("range", index, value) for index, value in enumerate(bounds, 1))
        if start is None or end is None or step is None:
            return None
        if step == 0 or (step > 0 and start > end) or (step < 0 and start < end):
            return None
        count = abs(end - start) // abs(step) + 1
        if count > RANGE_MAX_ELEMENTS:
            raise _BoundExceeded("Expression evaluation memory limit exceeded: Check for excessive memory usage")
        return self.lib.sequence(range(start, start + count * step, step))  # a sequence: one element is bare

    def _fn_hash(self, *args: Any) -> Any:
        """``$hash(text, algorithm)``: the lowercase hex digest of the UTF-8 text."""
        text, algorithm = self._arguments("hash", args, 2)
        self._string("hash", 1, text)
        self._string("hash", 2, algorithm)
        if text is None or algorithm is None:
            return None
        name = _HASH_ALGORITHMS.get(algorithm)
        if name is None:
            raise _FunctionError(f"The hash algorithm '{algorithm}' is not supported; use one of "
                                 f"{', '.join(_HASH_ALGORITHMS)}")
        return hashlib.new(name, text.encode("utf-8")).hexdigest()

    def _fn_random(self, *args: Any) -> Any:
        """``$random()`` from the engine's source; ``$random(seed)`` as ``java.util.Random(seed)``."""
        (seed,) = self._arguments("random", args, 1)
        number = self._integer("random", 1, seed)
        if number is None:
            return self.random.random()
        return _java_random_double(number)

    def _fn_uuid(self, *args: Any) -> Any:
        """``$uuid()``: a version 4 UUID from the engine's random source."""
        self._arguments("uuid", args, 0)
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def _fn_parse(self, *args: Any) -> Any:
        """``$parse(text)``: the JSON value the text holds (Step Functions' stand-in for ``$eval``)."""
        (text,) = self._arguments("parse", args, 1)
        self._string("parse", 1, text)
        if text is None:
            return None
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except ValueError as err:
            raise _FunctionError(f"The argument of $parse is not a valid JSON string: {err}") from None
        return self.lib.null if value is None else value

    def _fn_now(self, *args: Any) -> Any:
        """``$now([picture [, timezone]])`` at the engine clock."""
        picture, zone = self._arguments("now", args, 2)
        self._string("now", 1, picture)
        self._string("now", 2, zone)
        return self.lib.from_millis(self._millis(), picture, zone)

    def _fn_millis(self, *args: Any) -> Any:
        """``$millis()``: the engine clock in milliseconds since the epoch."""
        self._arguments("millis", args, 0)
        return self._millis()

    def _fn_shuffle(self, *args: Any) -> Any:
        """``$shuffle(array)`` with the engine's random source."""
        (array,) = self._arguments("shuffle", args, 1)
        if array is None:
            return None
        items = list(array) if isinstance(array, list) else [array]
        self.random.shuffle(items)
        return items

    # --- argument checks -------------------------------------------------------------------

    def _arguments(self, name: str, args: tuple[Any, ...], count: int) -> list[Any]:
        """``count`` arguments, missing ones None; one too many fails as JSONata's signatures do."""
        values = list(args)
        while values and values[-1] is None:
            values.pop()
        if len(values) > count:
            raise self._signature_error(name, count + 1)
        return values + [None] * (count - len(values))

    def _integer(self, name: str, index: int, value: Any) -> int | None:
        """A numeric argument truncated to an integer; None stays None (undefined)."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._signature_error(name, index)
        return math.trunc(value)

    def _string(self, name: str, index: int, value: Any) -> None:
        """Fail unless the argument is a string or undefined."""
        if value is not None and not isinstance(value, str):
            raise self._signature_error(name, index)

    def _signature_error(self, name: str, index: int) -> Exception:
        return self.lib.jexception("T0410", -1, index, name)

    def _millis(self) -> int:
        return (self.now - DEFAULT_NOW) // _ONE_MILLISECOND


class _Scope:
    """The frame one expression evaluates in: its own ``:=`` bindings over the run's names.

    Quacks like ``jsonata.Jsonata.Frame`` (``bind``, ``lookup``, ``bindings``, ``parent``,
    ``is_parallel_call``), so the library's child frames (blocks, lambdas) chain to it.
    """

    __slots__ = ("_run", "bindings", "is_parallel_call", "parent")

    def __init__(self, parent: Any, run: _Run) -> None:
        self.bindings: dict[str, Any] = {}
        self.parent = parent
        self.is_parallel_call = False
        self._run = run

    def bind(self, name: str, value: Any) -> None:
        """Bind ``$name`` for the rest of this evaluation (what a top-level ``:=`` does)."""
        self.bindings[name] = value
        signature = getattr(value, "signature", None)
        if signature is not None:
            signature.set_function_name(name)

    def lookup(self, name: str) -> Any:
        """Own bindings, then the run's names, then jsonata-python's built-ins."""
        value = self.bindings.get(name, _MISSING)
        if value is not _MISSING:
            return value
        value = self._run.lookup(name)
        if value is not _MISSING:
            return value
        return self.parent.lookup(name)


class _Guard:
    """AWS's bounds on one evaluation: nesting depth and run time."""

    __slots__ = ("deadline", "depth")

    def __init__(self, deadline: float) -> None:
        self.depth = 0
        self.deadline = deadline

    def enter(self, expr: Any, focus: Any, environment: Any) -> None:
        """Called by jsonata-python as it enters a node."""
        if environment.is_parallel_call:
            return
        self.depth += 1
        if self.depth > MAX_EVALUATION_DEPTH:
            raise _BoundExceeded(_stack_message(self.depth))
        if time.monotonic() > self.deadline:
            raise _BoundExceeded("Expression evaluation timeout: Check for infinite loop")

    def leave(self, expr: Any, focus: Any, environment: Any, result: Any) -> None:
        """Called by jsonata-python as it leaves a node."""
        if not environment.is_parallel_call:
            self.depth -= 1


#: The deadline (``time.monotonic()``) of the evaluation in progress, for regex matching.
_REGEX_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("jsonata_regex_deadline", default=math.inf)
#: Time a match may still take when the deadline has already passed (the ``regex`` module
#: needs a positive timeout; this lets a trivial match finish and stops a runaway one at once).
_REGEX_GRACE_SECONDS = 0.001


def _bounded_regex(pattern: str, flags: Any) -> "_BoundedPattern":
    """jsonata-python's ``regex_engine`` hook: every regex literal of an expression."""
    return _BoundedPattern(pattern, bool(flags.case_insensitive), bool(flags.multiline))


class _BoundedPattern:
    """A JSONata regex literal whose matching stops at the evaluation's deadline.

    ``re`` compiles it (so syntax and error messages stay jsonata-python's, and ``$replace``
    templates are checked the way jsonata-python expects); the ``regex`` module, whose
    matching functions take a ``timeout``, runs it.  Quacks like ``re.Pattern`` for
    jsonata-python (``search``, ``finditer``, ``sub``, ``split``).
    """

    __slots__ = ("_re", "_rx", "pattern")

    def __init__(self, pattern: str, case_insensitive: bool, multiline: bool) -> None:
        import regex

        self.pattern = pattern
        self._re = re.compile(pattern, (re.IGNORECASE if case_insensitive else 0) | (re.MULTILINE if multiline else 0))
        self._rx = regex.compile(pattern, (regex.IGNORECASE if case_insensitive else 0)
                                 | (regex.MULTILINE if multiline else 0) | regex.VERSION0)

    def _timeout(self) -> float:
        remaining = _REGEX_DEADLINE.get() - time.monotonic()
        return remaining if remaining > _REGEX_GRACE_SECONDS else _REGEX_GRACE_SECONDS

    def _too_long(self) -> _BoundExceeded:
        return _BoundExceeded(f"Expression evaluation timeout: the regular expression /{self.pattern}/ did not "
                              "finish matching in time (check it for nested repetition that backtracks, "
                              "such as (a+)+ or (a|aa)+)")

    def search(self, string: str, *args: Any) -> Any:
        try:
            return self._rx.search(string, *args, timeout=self._timeout())
        except TimeoutError:
            raise self._too_long() from None

    def finditer(self, string: str) -> Any:
        try:
            matches = self._rx.finditer(string, timeout=self._timeout())
            while True:
                if time.monotonic() > _REGEX_DEADLINE.get():
                    raise self._too_long()
                match = next(matches, None)
                if match is None:
                    return
                yield match
        except TimeoutError:
            raise self._too_long() from None

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        if isinstance(repl, str):
            self._re.sub(repl, "")  # an invalid group reference fails with re's own message
        try:
            return str(self._rx.sub(repl, string, count, timeout=self._timeout()))
        except TimeoutError:
            raise self._too_long() from None

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        try:
            return list(self._rx.split(string, maxsplit, timeout=self._timeout()))
        except TimeoutError:
            raise self._too_long() from None

    def __repr__(self) -> str:
        return f"/{self.pattern}/"


class _PlainFailure(Exception):
    """A failure AWS reports without a JSONata code (``... during evaluation: <message>``)."""


class _BoundExceeded(_PlainFailure):
    """An evaluation went past the depth, time or size bounds."""


class _FunctionError(_PlainFailure):
    """A Step Functions function refused its argument with a message of its own."""


class _Unsupported(Exception):
    """A result that is not JSON (a function, a regex)."""


_ONE_MILLISECOND = timedelta(milliseconds=1)


def _stack_message(depth: int) -> str:
    return ("Stack overflow error: Check for non-terminating recursive function. Consider rewriting as "
            f"tail-recursive. Depth={depth} max={MAX_EVALUATION_DEPTH}")


def _java_random_double(seed: int) -> float:
    """``new java.util.Random(seed).nextDouble()``, the value AWS's seeded ``$random`` gives."""
    multiplier, mask = 0x5DEECE66D, (1 << 48) - 1
    state = (seed ^ multiplier) & mask
    parts = []
    for bits in (26, 27):
        state = (state * multiplier + 0xB) & mask
        parts.append(state >> (48 - bits))
    return ((parts[0] << 27) + parts[1]) * 2.0 ** -53


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _as_utc(now: datetime | None) -> datetime:
    if now is None:
        return DEFAULT_NOW
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


# --------------------------------------------------------------------------------------------
# Values and messages
# --------------------------------------------------------------------------------------------


def _to_json(value: Any, null: Any) -> Any:
    """A jsonata-python result as a fresh plain JSON value (sequences as lists, 2.0 as 2).

    Integers stay exact within a Java long, as on AWS; past it they are doubles.
    """
    kind = type(value)
    if kind is str or kind is bool:
        return value
    if kind is int:
        return value if _LONG_MIN <= value <= _LONG_MAX else float(value)
    if value is None or value is null:
        return None  # None inside a result is a null taken from the input
    if kind is float:
        return _json_number(value)
    if isinstance(value, dict):
        return {key: _to_json(item, null) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item, null) for item in value]
    if isinstance(value, (bool, int)):
        return bool(value) if isinstance(value, bool) else int(value)
    raise _Unsupported(kind.__name__)


_LONG_MIN, _LONG_MAX = -(2 ** 63), 2 ** 63 - 1


def _json_number(value: float) -> Any:
    """A float as JSON has it: whole numbers are ints (below 1e21, where JavaScript turns to exponents)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _copy_json(value: Any) -> Any:
    """A deep copy of a plain JSON value."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _json_text(value: Any) -> str:
    """Compact JSON text, as AWS prints values in causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _render_message(err: Any, lib: _Library) -> str:
    """A JSONata error's message worded as jsonata-js (and so AWS) words it."""
    template = lib.error_codes.get(str(err.error))
    if template is None:
        return str(err)
    template = template.replace("Object", "function")  # jsonata-python's catalogue says Object for function
    inserts = iter(_message_inserts(err))

    def insert(match: re.Match[str]) -> str:
        value = next(inserts, None)
        return str(value) if match.group(1) else _js_text(value, lib)

    return _PLACEHOLDER.sub(insert, template)


def _message_inserts(err: Any) -> list[Any]:
    """The values a message template takes, in template order."""
    code = err.error
    if code == "T0411":
        return [err.expected, None]
    if code == "T0412":
        return [err.current, err.expected, _ARRAY_TYPE_NAMES.get(str(err.extra), err.extra)]
    if code == "D1002":
        return [err.expected]
    return [err.current, err.expected, err.extra]


def _js_text(value: Any, lib: _Library) -> str:
    """``JSON.stringify`` of an inserted value, as jsonata-js puts it into a message."""
    if value is None:
        return "undefined"
    try:
        return _json_text(_to_json(value, lib.null))
    except (_Unsupported, TypeError, ValueError):
        return str(value)

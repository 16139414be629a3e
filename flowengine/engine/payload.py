"""JSONPath-mode payload templates: Parameters, ResultSelector, ItemSelector, Assign.

A template is a JSON value whose object keys ending in ``.$`` take their value from a
path (``$.x``, ``$$.Execution.Id``, ``$var.x``) or an intrinsic call
(``States.Format(...)``).  :func:`compile_payload` turns one into a tree of small
closures once, when the definition loads; :meth:`Payload.build` runs the tree per
transition.  Constant subtrees are shared, never rebuilt (values are immutable by
convention inside the engine).

Per ASL, a ``.$`` key is written without the suffix in the result, and a field whose path
selects nothing fails the state with ``States.Runtime``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from flowengine.engine.errors import DefinitionError
from flowengine.engine.expr import IntrinsicEnv, IntrinsicSyntaxError, is_intrinsic, parse_intrinsic, uses_context
from flowengine.lang.jsonpath import PathNotFound, PathSyntaxError, compile_path, path_not_found_failure
from flowengine.model.asl import ABSENT

_EMPTY: dict[str, Any] = {}


class Env(Protocol):
    """What evaluation needs from the running state (a :class:`~flowengine.engine.scope.Scope`)."""

    variables: dict[str, Any]
    rng: Any

    def context(self) -> dict[str, Any]: ...


Builder = Callable[[Any, Env], Any]


def resolve_relative(path: str, root: Any) -> Any:
    """Intrinsics' path hook: evaluate ``$...`` against ``root`` with the engine's JSONPath."""
    return compile_path(path).find(root)


def compile_value_expression(text: str, field: str) -> Builder:
    """The builder for one ``.$`` value: a path or an intrinsic call."""
    if is_intrinsic(text):
        try:
            intrinsic = parse_intrinsic(text)
        except IntrinsicSyntaxError as exc:
            raise DefinitionError(f"the field '{field}' holds an invalid intrinsic function call: {exc}") from None
        needs_context = uses_context(intrinsic)
        evaluate = intrinsic.evaluate

        def call(inp: Any, env: Env) -> Any:
            return evaluate(IntrinsicEnv(inp, env.context() if needs_context else _EMPTY, env.variables, env.rng,
                                         resolve_relative))

        return call
    try:
        path = compile_path(text)
    except PathSyntaxError as exc:
        raise DefinitionError(f"the field '{field}' must hold a JSONPath or an intrinsic call: {exc}") from None
    if path.is_root:
        return lambda inp, env: inp
    if path.is_input and path.definite:
        find = path.find

        def get_input(inp: Any, env: Env) -> Any:
            try:
                return find(inp)
            except PathNotFound:
                raise path_not_found_failure(text, field, inp) from None

        return get_input
    resolve = path.resolve

    def get(inp: Any, env: Env) -> Any:
        try:
            return resolve(inp, env.context, env.variables)
        except PathNotFound:
            raise path_not_found_failure(text, field, inp) from None

    return get


def _is_dynamic(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k.endswith(".$") for k in value) or any(_is_dynamic(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_dynamic(v) for v in value)
    return False


def _compile(value: Any) -> Builder:
    if not _is_dynamic(value):
        return lambda inp, env: value
    if isinstance(value, list):
        items = [_compile(v) for v in value]
        return lambda inp, env: [f(inp, env) for f in items]
    parts: list[tuple[str, Builder]] = []
    for key, v in value.items():
        if key.endswith(".$") and isinstance(v, str):
            parts.append((key[:-2], compile_value_expression(v, key)))
        else:
            parts.append((key, _compile(v)))
    if len(parts) == 1:
        (k1, f1), = parts
        return lambda inp, env: {k1: f1(inp, env)}
    if len(parts) == 2:
        (k1, f1), (k2, f2) = parts
        return lambda inp, env: {k1: f1(inp, env), k2: f2(inp, env)}
    return lambda inp, env: {k: f(inp, env) for k, f in parts}


class Payload:
    """A compiled template.  ``build(input, env)`` returns a fresh value each time
    (constant parts are shared)."""

    __slots__ = ("template", "build", "constant")

    def __init__(self, template: Any) -> None:
        self.template = template
        self.constant = not _is_dynamic(template)
        self.build: Builder = _compile(template)


def compile_payload(template: Any) -> Payload:
    return Payload(template)


def optional_payload(template: Any) -> Payload | None:
    """A template field that may be absent (``ABSENT`` → None)."""
    return None if template is ABSENT else Payload(template)

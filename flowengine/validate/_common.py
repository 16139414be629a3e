"""What every validator module shares: the reporter, JSON type names, did-you-mean.

A :class:`Reporter` collects :class:`~flowengine.model.diagnostics.Diagnostic` values for one
source view.  Spans are resolved when a problem is reported, never before, so a clean
definition never pays for positions (a large JSON file is indexed only on the first report).
"""

from __future__ import annotations

import json

import datetime
import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from flowengine.dsl.source import Pointer, Source, SubSource
from flowengine.model.asl import MapState, ParallelState, State, StateMachine
from flowengine.model.diagnostics import Diagnostic, Severity

SourceLike = Source | SubSource


class Reporter:
    """Collects diagnostics against one document view (a file, or a flow inside an app file)."""

    __slots__ = ("app_file", "out", "source")

    def __init__(self, source: SourceLike, out: list[Diagnostic], *, app_file: bool = False) -> None:
        self.source = source
        self.out = out
        #: True when the document is an app file: duration strings and ``Function:`` are allowed.
        self.app_file = app_file

    def report(
        self,
        code: str,
        message: str,
        ptr: Pointer,
        *,
        state: str | None = None,
        hint: str | None = None,
        key: bool = False,
        severity: Severity = "error",
    ) -> None:
        """Report a problem at the value of ``ptr`` (or at its key, with ``key=True``)."""
        span = self.source.key_span(ptr) if key else self.source.span(ptr)
        self.out.append(Diagnostic(code, message, span, state or None, hint, severity))


def json_type(v: Any) -> str:
    """The JSON name of a value's type, as messages say it."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def shorten(v: Any, limit: int = 60) -> str:
    """A value as it reads in a message, cut to ``limit`` characters."""
    text = v if isinstance(v, str) else repr(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def article(kind: str) -> str:
    """``a`` or ``an`` for a type name (``an integer``, ``a string``)."""
    return "an" if kind[:1] in ("a", "e", "i", "o", "u") else "a"


def describe(v: Any) -> str:
    """A value with its JSON type, as a message quotes it: ``string 'two'``, ``integer 42``, ``null``."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"string '{shorten(v)}'"
    try:
        text = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(v)
    return f"{json_type(v)} {shorten(text)}"


def did_you_mean(word: Any, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """``'did you mean X?'`` for the closest choice (case-insensitive first), or None."""
    if not isinstance(word, str):
        return None
    options = sorted(set(choices))
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if not close:
        close = [c for c in options if len(word) >= 4 and (c.lower().startswith(word.lower()) or word.lower() in c.lower())][:1]
    return f"did you mean '{close[0]}'?" if close else None


def one_of(choices: Iterable[str]) -> str:
    return "one of " + ", ".join(choices)


def machines(sm: StateMachine) -> Iterator[StateMachine]:
    """The machine and every nested scope (Parallel branches, Map processors), depth first."""
    yield sm
    for st in sm.states.values():
        if isinstance(st, ParallelState):
            for b in st.branches:
                yield from machines(b)
        elif isinstance(st, MapState) and st.processor is not None:
            yield from machines(st.processor)


def ptr_of(state: State | StateMachine) -> Pointer:
    return state.loc.pointer


_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))\Z")


def is_rfc3339(text: Any) -> bool:
    """ASL timestamps: RFC 3339 with an uppercase T, and Z or a numeric offset."""
    if not isinstance(text, str):
        return False
    m = _RFC3339.match(text)
    if not m:
        return False
    try:
        datetime.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), min(int(m[6]), 59))
    except ValueError:
        return False
    return int(m[6]) <= 60 and (m[9] is None or (int(m[9]) <= 23 and int(m[10]) <= 59))

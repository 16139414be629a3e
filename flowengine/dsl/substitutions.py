"""``${Name}`` placeholders filled into a definition's text, as CloudFormation fills them.

A state machine's ``DefinitionSubstitutions`` are applied by CloudFormation to the
definition *text*: ``"Resource": "${WorkArn}"`` becomes a string, and
``"MaxConcurrency": ${N}`` (not valid JSON as written) becomes a number once ``N`` is
filled.  :func:`load_definition_text` does the same before parsing, so both forms load,
and maps every position back to the file as written, so diagnostics point at the right
line and column.  A placeholder with no value is left as written inside a string; outside
one (where JSON has no way to hold it) it is replaced by a ``0`` of the same width so that
the file still parses and every later column stays exact.  Each placeholder left unfilled
is returned with its position, for ``validate`` to report (FE906).
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowengine.dsl.source import Source, load_text, read_text
from flowengine.errors import LoadError
from flowengine.model.diagnostics import Diagnostic, Span

#: A DefinitionSubstitutions placeholder.  Names as CloudFormation allows them.
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A placeholder left unfilled: its name, where it stands, and whether it stood
    outside a JSON string (where it had to be replaced to parse)."""

    name: str
    span: Span
    bare: bool


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int  # offset in the original text
    old_len: int
    new_len: int


def fill_text(text: str, values: Mapping[str, Any], *, json_text: bool) -> tuple[str, list[_Edit], list[tuple[str, int, bool]]]:
    """``text`` with each ``${Name}`` of ``values`` filled: the new text, the edits made, and
    the placeholders left unfilled as ``(name, offset, bare)``."""
    in_string = _string_mask(text) if json_text else None
    out: list[str] = []
    edits: list[_Edit] = []
    left: list[tuple[str, int, bool]] = []
    last = 0
    for m in PLACEHOLDER.finditer(text):
        name, start, end = m.group(1), m.start(), m.end()
        bare = in_string is not None and not in_string[start]
        if name in values:
            value = values[name]
            if bare or not json_text:
                new = _raw(value)
            else:
                new = json.dumps(_raw(value))[1:-1]
        elif bare:
            new = "0".ljust(end - start)
            left.append((name, start, True))
        else:
            left.append((name, start, False))
            continue
        out.append(text[last:start])
        out.append(new)
        last = end
        if len(new) != end - start or new != m.group(0):
            edits.append(_Edit(start, end - start, len(new)))
    out.append(text[last:])
    return "".join(out), edits, left


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _string_mask(text: str) -> list[bool]:
    """For each character of JSON text: whether it stands inside a string literal."""
    mask = [False] * len(text)
    inside = escaped = False
    for i, ch in enumerate(text):
        if inside:
            mask[i] = True
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                inside = False
                mask[i] = False
        elif ch == '"':
            inside = True
    return mask


class _PositionMap:
    """Maps (line, col) in the filled text back to (line, col) in the text as written."""

    def __init__(self, original: str, filled: str, edits: list[_Edit]) -> None:
        self.orig_lines = _line_starts(original)
        self.new_lines = _line_starts(filled)
        # edit boundaries in the filled text, with the shift that applies after each
        self.new_starts: list[int] = []
        self.edits = edits
        shift = 0
        for e in edits:
            self.new_starts.append(e.start + shift)
            shift += e.new_len - e.old_len

    def back(self, line: int, col: int) -> tuple[int, int]:
        if not self.edits:
            return line, col
        offset = self.new_lines[min(line, len(self.new_lines)) - 1] + col - 1
        i = bisect.bisect_right(self.new_starts, offset) - 1
        if i < 0:
            orig = offset
        else:
            e, start = self.edits[i], self.new_starts[i]
            orig = e.start if offset < start + e.new_len else offset - (start - e.start) - (e.new_len - e.old_len)
        j = bisect.bisect_right(self.orig_lines, orig) - 1
        return j + 1, orig - self.orig_lines[j] + 1


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def load_definition_text(text: str, path: str, values: Mapping[str, Any] | None = None) -> tuple[Source, list[Unresolved]]:
    """Fill ``values`` into a definition's text (JSON or YAML), parse it, and keep every
    position as the file has it.  Returns the :class:`Source` and the placeholders left
    unfilled.  Raises :class:`LoadError` as :func:`flowengine.dsl.source.load_text` does,
    located in the file as written."""
    values = values or {}
    stripped = text.lstrip()
    json_text = path.endswith(".json") or (stripped.startswith("{") and not path.endswith((".yaml", ".yml")))
    filled, edits, left = fill_text(text, values, json_text=json_text)
    positions = _PositionMap(text, filled, edits)
    try:
        source = load_text(filled, path)
    except LoadError as exc:
        raise LoadError([_moved(d, positions) for d in exc.diagnostics]) from None
    if edits:
        source._ensure_index()
        for table in (source._values, source._keys):
            for ptr, (line, col) in list(table.items()):
                table[ptr] = positions.back(line, col)
    unresolved = [Unresolved(name, Span(path, *_position(text, offset)), bare) for name, offset, bare in left]
    return source, unresolved


def load_definition_file(path: str, values: Mapping[str, Any] | None = None) -> tuple[Source, list[Unresolved]]:
    """:func:`load_definition_text` on a file (read as :func:`flowengine.dsl.source.read_text` reads)."""
    return load_definition_text(read_text(os.fspath(path)), os.fspath(path), values)


def _moved(d: Diagnostic, positions: _PositionMap) -> Diagnostic:
    line, col = positions.back(d.span.line, d.span.col)
    return Diagnostic(d.code, d.message, Span(d.span.file, line, col), d.state_path, d.hint, d.severity)


def unresolved_diagnostics(unresolved: list[Unresolved], *, where: str = "") -> list[Diagnostic]:
    """FE906 warnings for placeholders left unfilled, one per occurrence."""
    hint = ("fill it with --substitute NAME=VALUE or --substitutions FILE.json" if not where else
            f"add it to {where}")
    return [Diagnostic("FE906", f"placeholder ${{{u.name}}} has no value"
                       + (" (a number or boolean position: 0 stands in for it)" if u.bare else ""),
                       u.span, hint=hint, severity="warning") for u in unresolved]


def read_substitutions_file(path: str) -> dict[str, Any]:
    """``--substitutions FILE.json``: a JSON (or YAML) mapping of placeholder names to values.
    Raises :class:`LoadError` with a location when it is not one."""
    source = load_text(read_text(path), path)
    value = source.value
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float, bool)) for v in value.values()):
        raise LoadError([Diagnostic("FE109", "a substitutions file is a mapping of names to strings, numbers or "
                                    "booleans", source.span(()),
                                    hint='e.g. {"WorkerArn": "arn:aws:lambda:us-east-1:123456789012:function:w"}')])
    return {str(k): v for k, v in value.items()}


def parse_assignments(items: list[str] | tuple[str, ...], option: str) -> dict[str, str]:
    """``K=V`` command-line assignments (``--substitute``, ``--parameter-overrides``); a
    ``ValueError`` naming the option for an item without ``=``.  Items may also hold several
    space-separated assignments, as SAM CLI's ``--parameter-overrides`` takes them."""
    out: dict[str, str] = {}
    for item in items:
        for part in _split_words(item):
            name, eq, value = part.partition("=")
            if not eq or not name:
                raise ValueError(f"{option} {part!r}: write NAME=VALUE")
            if name.startswith("ParameterKey") and "ParameterValue" in value:  # SAM CLI's long form
                m = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", part)
                if m:
                    out[m.group(1)] = m.group(2)
                    continue
            out[name] = value
    return out


def _split_words(text: str) -> list[str]:
    import shlex

    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


__all__ = ["PLACEHOLDER", "Unresolved", "fill_text", "load_definition_file", "load_definition_text",
           "parse_assignments", "read_substitutions_file", "unresolved_diagnostics"]

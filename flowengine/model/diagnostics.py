"""Located problems: what `flowengine validate` reports and what loading errors carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a source file. ``line`` and ``col`` are 1-based, as editors count them."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in an app file or an ASL definition.

    ``code`` is stable across releases (documented in docs/diagnostics.md); ``state_path``
    names the state the problem belongs to, scopes joined by ``/`` (``Map/Iterate/Step``).
    """

    code: str
    message: str
    span: Span
    state_path: str | None = None
    hint: str | None = None
    severity: Severity = "error"

    def format(self) -> str:
        """``FILE:LINE:COL: CODE message [state path] (hint)``"""
        text = f"{self.span}: {self.code} {self.message}"
        if self.state_path:
            text += f" [{self.state_path}]"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "state_path": self.state_path,
            "hint": self.hint,
        }

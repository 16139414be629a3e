"""The engine's one doorway to the expression languages: intrinsics and JSONata.

Both are compiled when a definition loads.  This module only adapts their APIs to the
interpreter (one place to change if they move).
"""

from __future__ import annotations

from flowengine.lang.intrinsics import (
    Intrinsic,
    IntrinsicEnv,
    IntrinsicSyntaxError,
    is_intrinsic,
    parse_intrinsic,
)
from flowengine.lang.jsonata import (
    JsonataSyntaxError,
    JsonataTemplate,
    compile_template,
    expression_text,
    is_expression,
    json_type_name,
)

__all__ = [
    "Intrinsic", "IntrinsicEnv", "IntrinsicSyntaxError", "is_intrinsic", "parse_intrinsic",
    "JsonataSyntaxError", "JsonataTemplate", "compile_template", "expression_text", "is_expression",
    "json_type_name", "uses_context",
]


def uses_context(intrinsic: Intrinsic) -> bool:
    """Whether evaluating the call reads the context object (so the engine builds it)."""
    return any(p.startswith("$$") for p in intrinsic.paths())

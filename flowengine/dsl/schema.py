"""The published JSON Schema of the app file (package data: ``app.schema.json``).

Editors use it for completion and inline checks (yaml-language-server, VS Code); ``flowengine
validate`` goes further (cross-references, graphs, expressions) and reports with codes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("flowengine.dsl").joinpath("app.schema.json").read_text(encoding="utf-8")


def app_schema() -> dict[str, Any]:
    """The app-file JSON Schema (draft 2020-12) as a fresh dict."""
    return json.loads(_schema_text())

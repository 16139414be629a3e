"""Duration strings (``5m``, ``1h30m``, ``250ms``) as the app file writes them."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def is_duration(text: object) -> bool:
    """True for strings such as ``30s``, ``5m``, ``1h30m`` or ``2d``."""
    return isinstance(text, str) and bool(_WHOLE.match(text.strip()))


def parse_duration(text: str) -> float:
    """Seconds in a duration string; raise ValueError if it is not one."""
    t = text.strip()
    if not _WHOLE.match(t):
        raise ValueError(f"'{text}' is not a duration (write e.g. 30s, 5m, 1h30m, 2d)")
    return sum(float(n) * _UNIT[u] for n, u in _PART.findall(t))


def parse_seconds(text: str) -> float:
    """A duration string or a plain number of seconds (``90``, ``1.5``); ValueError otherwise."""
    return float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text)


def seconds(value: object) -> object:
    """A duration string becomes whole seconds (int when exact); anything else is returned as is."""
    if is_duration(value):
        s = parse_duration(value)  # type: ignore[arg-type]
        return int(s) if float(s).is_integer() else s
    return value

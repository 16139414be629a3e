"""Lambda's runtime identifiers and where each stands in Lambda's deprecation schedule.

Lambda deprecates a managed runtime in steps (the deprecation table of the Lambda
developer guide, *Lambda runtimes*): on its deprecation date it stops patching it, on
*block function create* it refuses new functions on it (``CreateFunction``, and so a
CloudFormation stack that adds one), on *block function update* it refuses changes to
existing ones.  cfn-lint reports a runtime past its create block as an error (E2531) and a
deprecated one as a warning (W2531).

``LAMBDA_RUNTIMES`` lists every identifier Lambda's API accepts in ``Runtime`` (botocore's
Lambda model) with the dates of that table where Lambda has published them (cfn-lint's
``LmbdRuntimeLifecycle.json`` carries the same); a test keeps both equal.  Where a runtime
stands depends on the day, as it does on AWS: :func:`stage` takes the date, defaulting to
today (:func:`today`, the one place that reads the calendar, which tests replace).
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from typing import Literal

Stage = Literal["supported", "deprecated", "blocked"]


@dataclass(frozen=True, slots=True)
class LambdaRuntime:
    """One runtime identifier: its language family and its deprecation dates (None: not
    announced)."""

    identifier: str
    family: str  # python, nodejs, java, dotnet, ruby, go, provided
    deprecated: datetime.date | None = None
    block_create: datetime.date | None = None
    block_update: datetime.date | None = None


def _d(text: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


#: identifier → (deprecation date, block function create, block function update).
_SCHEDULE: dict[str, tuple[str | None, str | None, str | None]] = {
    "python2.7": ("2021-07-15", "2021-07-15", "2022-05-30"),
    "python3.6": ("2022-07-18", "2022-07-18", "2022-08-29"),
    "python3.7": ("2023-12-04", "2024-01-09", "2027-03-03"),
    "python3.8": ("2024-10-14", "2027-02-01", "2027-03-03"),
    "python3.9": ("2025-12-15", "2027-02-01", "2027-03-03"),
    "python3.10": ("2026-10-31", "2027-02-01", "2027-03-03"),
    "python3.11": ("2027-06-30", "2027-07-31", "2027-08-31"),
    "python3.12": ("2028-10-31", "2028-11-30", "2029-01-10"),
    "python3.13": ("2029-06-30", "2029-07-31", "2029-08-31"),
    "python3.14": ("2029-06-30", "2029-07-31", "2029-08-31"),
    "python3.15": (None, None, None),
    "nodejs": ("2016-08-30", "2016-09-30", "2016-10-31"),
    "nodejs4.3": ("2020-03-05", "2020-02-03", "2020-03-05"),
    "nodejs4.3-edge": ("2020-03-05", "2019-03-31", "2019-04-30"),
    "nodejs6.10": ("2019-08-12", "2019-07-12", "2019-08-12"),
    "nodejs8.10": ("2020-03-06", "2020-02-04", "2020-03-06"),
    "nodejs10.x": ("2021-07-30", "2021-07-30", "2022-02-14"),
    "nodejs12.x": ("2023-03-31", "2023-03-31", "2023-04-30"),
    "nodejs14.x": ("2023-12-04", "2024-01-09", "2027-03-03"),
    "nodejs16.x": ("2024-06-12", "2027-02-01", "2027-03-03"),
    "nodejs18.x": ("2025-09-01", "2027-02-01", "2027-03-03"),
    "nodejs20.x": ("2026-04-30", "2027-02-01", "2027-03-03"),
    "nodejs22.x": ("2027-04-30", "2027-06-01", "2027-07-01"),
    "nodejs24.x": ("2028-04-30", "2028-06-01", "2028-07-01"),
    "nodejs26.x": (None, None, None),
    "java8": ("2024-01-08", "2024-02-08", "2027-03-03"),
    "java8.al2": ("2027-06-30", "2027-07-31", "2027-08-31"),
    "java8.al2023": (None, None, None),
    "java11": ("2027-06-30", "2027-07-31", "2027-08-31"),
    "java11.al2023": (None, None, None),
    "java17": ("2027-06-30", "2027-07-31", "2027-08-31"),
    "java17.al2023": (None, None, None),
    "java21": ("2029-06-30", "2029-07-31", "2029-08-31"),
    "java25": ("2029-06-30", "2029-07-31", "2029-08-31"),
    "dotnetcore1.0": ("2019-06-27", "2019-06-30", "2019-07-30"),
    "dotnetcore2.0": ("2019-05-30", "2019-04-30", "2019-05-30"),
    "dotnetcore2.1": ("2022-01-05", "2022-01-05", "2022-04-13"),
    "dotnetcore3.1": ("2023-04-03", "2023-04-03", "2023-05-03"),
    "dotnet6": ("2024-12-20", "2027-02-01", "2027-03-03"),
    "dotnet8": ("2026-11-10", "2027-02-01", "2027-03-03"),
    "dotnet10": ("2028-11-14", "2028-12-14", "2029-01-15"),
    "go1.x": ("2024-01-08", "2024-02-08", "2027-03-03"),
    "ruby2.5": ("2021-07-30", "2021-07-30", "2022-03-31"),
    "ruby2.7": ("2023-12-07", "2024-01-09", "2027-03-03"),
    "ruby3.2": ("2026-03-31", "2027-02-01", "2027-03-03"),
    "ruby3.3": ("2027-03-31", "2027-04-30", "2027-05-31"),
    "ruby3.4": ("2028-03-31", "2028-04-30", "2028-05-31"),
    "ruby4.0": ("2029-03-31", "2029-04-30", "2029-05-31"),
    "provided": ("2024-01-08", "2024-02-08", "2027-03-03"),
    "provided.al2": ("2026-07-31", "2027-02-01", "2027-03-03"),
    "provided.al2023": ("2029-06-30", "2029-07-31", "2029-08-31"),
}


def _family(identifier: str) -> str:
    m = re.match(r"[a-z]+", identifier)
    name = m.group(0) if m else identifier
    return "dotnet" if name == "dotnetcore" else name


#: Where a family with no supported runtime left went (Go on Lambda is an OS-only runtime).
_MOVED = {"go": "provided"}


#: Every runtime identifier Lambda knows, in the order of the table above.
LAMBDA_RUNTIMES: dict[str, LambdaRuntime] = {
    rid: LambdaRuntime(rid, _family(rid), _d(dep), _d(create), _d(update))
    for rid, (dep, create, update) in _SCHEDULE.items()
}


def today() -> datetime.date:
    """The day runtimes are judged on (UTC, as Lambda's schedule is)."""
    return datetime.datetime.now(datetime.timezone.utc).date()


def is_python(runtime: str) -> bool:
    """Whether ``runtime`` names one of Lambda's Python runtimes (known or not)."""
    return runtime.startswith("python")


def stage(runtime: str, on: datetime.date | None = None) -> Stage | None:
    """Where ``runtime`` stands on the day ``on`` (today): ``blocked`` once Lambda refuses new
    functions on it, ``deprecated`` from its deprecation date until then, else ``supported``;
    None for an identifier Lambda does not know."""
    found = LAMBDA_RUNTIMES.get(runtime)
    if found is None:
        return None
    day = on or today()
    if found.block_create is not None and found.block_create <= day:
        return "blocked"
    if found.deprecated is not None and found.deprecated <= day:
        return "deprecated"
    return "supported"


def _version(identifier: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", identifier))


def replacement(runtime: str, on: datetime.date | None = None) -> str | None:
    """The runtime to move a function on ``runtime`` to: the oldest one of its family that
    Lambda has not deprecated on the day ``on`` (the smallest step up in language version,
    so the fewest changes to test), or None when the family has none."""
    found = LAMBDA_RUNTIMES.get(runtime)
    family = found.family if found else _family(runtime)
    family = _MOVED.get(family, family)
    day = on or today()
    candidates = [r for r in LAMBDA_RUNTIMES.values()
                  if r.family == family and stage(r.identifier, day) == "supported" and r.deprecated is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda r: _version(r.identifier)).identifier


def python_runtimes(on: datetime.date | None = None) -> tuple[str, ...]:
    """Lambda's Python runtimes that take new functions on the day ``on`` (today)."""
    day = on or today()
    return tuple(r for r in LAMBDA_RUNTIMES if is_python(r) and stage(r, day) != "blocked")


#: Lambda's Python handler: ``MODULE.FUNCTION``, the module a dotted or ``/``-separated path of
#: file and directory names.  Lambda's Python runtime (awslambdaric's bootstrap) splits the
#: handler at its last dot, turns ``/`` into ``.`` and imports the module with
#: :func:`importlib.import_module`, which finds ``buy-sell.py`` for ``buy-sell`` although it is
#: no Python identifier.  What it cannot import: an empty name between separators, a leading
#: separator (a relative import), whitespace (Lambda's API refuses it too); a backslash names
#: no file on Lambda's Linux.  The function is looked up with ``getattr``: only a ``def``'s
#: name (an identifier) can be there.
_PYTHON_HANDLER = re.compile(r"(?P<module>[^\s./\\]+(?:[./][^\s./\\]+)*)\.(?P<function>[A-Za-z_][A-Za-z0-9_]*)\Z")
#: Lambda's limit on the length of ``Handler``.
HANDLER_MAX_LENGTH = 128


def python_module(handler: str) -> str | None:
    """The module Lambda's Python runtime imports for ``handler`` (``src/buy-sell.handler`` →
    ``src.buy-sell``), or None when it would not import one (see ``_PYTHON_HANDLER``)."""
    m = _PYTHON_HANDLER.match(handler)
    return m.group("module").replace("/", ".") if m else None


def module_home(handler: str, roots: tuple[str, ...] | list[str]) -> str | None:
    """The first of ``roots`` that holds ``handler``'s module (``module.py`` or a package),
    or None: the directory compile packages a function from when it names no ``code_uri``."""
    module = python_module(handler)
    if module is None:
        return None
    parts = module.split(".")
    return next((root for root in roots if module_file(root, parts)), None)


def module_file(root: str, parts: list[str] | tuple[str, ...]) -> bool:
    """Whether ``root`` holds the module whose dotted name is ``parts`` (a file or a package)."""
    if not parts:
        return False
    base = os.path.join(root, *parts)
    return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))

"""The acceptance checks of issue 13 on one collected SAM project, and a report over all of them.

For a project directory holding ``template.yaml`` (NOTICE says where each came from):

* ``flowengine validate`` exits 0;
* every state machine runs with the mocks ``flowengine mocks scaffold`` writes, on the
  input it infers, with no traceback (the status is recorded: a scaffold cannot always
  steer a Choice the happy way);
* where every function of the template is Python and self-contained (its modules import
  only the standard library, boto3/botocore and modules of its own code), every state
  machine also runs with its real handlers (and the emulated resources), with no traceback.

Run ``python tests/samprojects/harness.py`` for the counts table (``tests/dsl/test_sam_corpus.py``
asserts the same checks per project).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
#: Standard modules that reach outside the process (network, other programs): a handler
#: importing one is not self-contained, and is never run for real here.
REACHES_OUT = frozenset({"subprocess", "socket", "ssl", "urllib", "http", "ftplib", "smtplib", "telnetlib",
                         "multiprocessing", "ctypes", "webbrowser", "xmlrpc", "asyncio"})
#: Modules a self-contained handler may import besides its own.
ALLOWED_IMPORTS = (frozenset(sys.stdlib_module_names) - REACHES_OUT) | {"boto3", "botocore"}


def projects(root: str = HERE) -> list[str]:
    """Every collected project directory (those with a template), sorted."""
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isdir(d) and template_of(d):
            out.append(d)
    return out


def template_of(project: str) -> str | None:
    for name in ("template.yaml", "template.yml", "template.json"):
        path = os.path.join(project, name)
        if os.path.isfile(path):
            return path
    return None


@dataclass
class Outcome:
    """What happened to one project."""

    name: str
    validate_rc: int = -1
    validate_output: str = ""
    flows: list[str] = field(default_factory=list)
    mocked: dict[str, str] = field(default_factory=dict)  # flow → status, or "error: ..." (no traceback)
    real: dict[str, str] = field(default_factory=dict)  # flow → status (self-contained Python only)
    self_contained: bool = False
    python_functions: int = 0
    other_functions: int = 0
    tracebacks: list[str] = field(default_factory=list)


def self_contained(loaded: Any) -> bool:
    """Every function is Python and imports only the standard library, boto3/botocore and
    modules found in its own code paths."""
    for f in loaded.app.functions.values():
        if not f.runtime.startswith("python") or not f.code_paths:
            return False
        roots = f.code_paths
        module_file = _module_file(f.module, roots)
        if module_file is None:
            return False
        seen: set[str] = set()
        todo = [module_file]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            try:
                tree = ast.parse(open(path, encoding="utf-8").read())
            except (OSError, SyntaxError, ValueError):
                return False
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in ALLOWED_IMPORTS:
                        continue
                    local = _module_file(name, roots)
                    if local is None:
                        return False
                    todo.append(local)
    return True


def _module_file(module: str, roots: tuple[str, ...]) -> str | None:
    parts = module.split(".")
    for root in roots:
        base = os.path.join(root, *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


def sample_input(project: str, flow: str, loaded: Any) -> Any:
    """An input for a real run: the scaffold's inferred input (what the flow reads)."""
    from flowengine.integrations.mockconfig import scaffold_input

    return scaffold_input(loaded, flow)


def check(project: str, *, real: bool = True) -> Outcome:
    """Run the acceptance checks on one project (see the module docstring)."""
    from flowengine.cli import main
    from flowengine.dsl.app import load
    from flowengine.integrations.mockconfig import mock_config_from_dict, scaffold, scaffold_input
    from flowengine.testing import run_flow

    template = template_of(project)
    assert template is not None
    out = Outcome(os.path.basename(project))
    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        out.validate_rc = main(["validate", template, "--no-check-handlers"])
    out.validate_output = buf_out.getvalue() + buf_err.getvalue()
    try:
        loaded = load(template)
    except Exception as exc:  # noqa: BLE001 - reported by validate already (exit 2)
        out.tracebacks.append(f"load: {type(exc).__name__}: {exc}") if not _is_clean_error(exc) else None
        return out
    out.flows = list(loaded.app.flows)
    out.python_functions = sum(1 for f in loaded.app.functions.values() if f.runtime.startswith("python"))
    out.other_functions = len(loaded.app.functions) - out.python_functions
    out.self_contained = bool(loaded.app.functions) and self_contained(loaded)
    for flow in out.flows:
        try:
            config = mock_config_from_dict(scaffold(loaded, flow))
            mocks = config.test_case(flow, "HappyPath")
            result = run_flow(loaded, flow, input=scaffold_input(loaded, flow), mocks=mocks)
            out.mocked[flow] = result.status
        except Exception as exc:  # noqa: BLE001 - a traceback is what the check is about
            out.mocked[flow] = f"exception: {type(exc).__name__}: {exc}"
            if not _is_clean_error(exc):
                out.tracebacks.append(f"{flow} (mocked): {type(exc).__name__}: {exc}")
        if real and out.self_contained:
            try:
                result = run_flow(loaded, flow, input=sample_input(project, flow, loaded))
                out.real[flow] = result.status + (f" ({result.error})" if result.error else "")
            except Exception as exc:  # noqa: BLE001
                out.real[flow] = f"exception: {type(exc).__name__}: {exc}"
                if not _is_clean_error(exc):
                    out.tracebacks.append(f"{flow} (real): {type(exc).__name__}: {exc}")
    return out


def _is_clean_error(exc: BaseException) -> bool:
    """flowengine's own errors are reports, not tracebacks (the CLI prints them and exits 2)."""
    from flowengine.errors import FlowengineError

    return isinstance(exc, FlowengineError)


def main(argv: list[str]) -> int:
    rows = [check(p) for p in projects(argv[0] if argv else HERE)]
    flows = sum(len(r.flows) for r in rows)
    mocked_ok = sum(1 for r in rows for s in r.mocked.values() if s == "SUCCEEDED")
    mocked_ran = sum(1 for r in rows for s in r.mocked.values() if not s.startswith("exception"))
    real_flows = sum(len(r.real) for r in rows)
    real_ok = sum(1 for r in rows for s in r.real.values() if s == "SUCCEEDED")
    for r in rows:
        print(f"{r.name:60} validate={r.validate_rc} mocked={r.mocked} real={r.real}")
    print(json.dumps({
        "projects": len(rows), "validate_exit_0": sum(r.validate_rc == 0 for r in rows),
        "state_machines": flows, "mocked_runs_completed": mocked_ran, "mocked_runs_succeeded": mocked_ok,
        "projects_self_contained_python": sum(r.self_contained for r in rows),
        "real_runs": real_flows, "real_runs_succeeded": real_ok,
        "tracebacks": sum(len(r.tracebacks) for r in rows),
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    sys.exit(main(sys.argv[1:]))

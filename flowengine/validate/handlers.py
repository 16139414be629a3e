"""``check_handlers``: does each function's handler exist under the app's code paths?

Nothing is imported and no handler code runs.  A handler names its module as Lambda's
Python runtime imports it (``buy-sell.handler``: the file ``buy-sell.py``; ``src/app.handler``:
``src.app``).  Modules are *located* with
:class:`importlib.machinery.PathFinder`, one dotted segment at a time with the code paths as
the search path (``importlib.util.find_spec`` would import, and so execute, every parent
package), and the function is looked up in the module's source with :mod:`ast`.  A module
that builds its names dynamically (``from x import *``, a module ``__getattr__``) is given
the benefit of the doubt.

Codes: FE620 handler module not found, FE621 handler function not defined in its module,
FE622 code path missing, FE627 handler module does not parse.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import os
import sys
from typing import Any

from flowengine.dsl.app import LoadedApp
from flowengine.model.diagnostics import Diagnostic
from flowengine.model.runtimes import is_python, python_module
from flowengine.validate._common import Reporter, shorten


def check(loaded: LoadedApp, out: list[Diagnostic]) -> None:
    app = loaded.app
    if app.plain_asl:
        return
    rep = Reporter(loaded.source, out, app_file=True)
    doc: dict[str, Any] = loaded.source.value if isinstance(loaded.source.value, dict) else {}
    code = doc.get("code")
    if isinstance(code, list):  # the builder keeps the string entries, in order
        code_ptrs: list[tuple] = [("code", i) for i, c in enumerate(code) if isinstance(c, str)]
    else:
        code_ptrs = [("code",)] * len(app.code_paths)
    paths = []
    for path, ptr in zip(app.code_paths, code_ptrs):
        if os.path.isdir(path):
            paths.append(path)
        else:
            rep.report("FE622", f"code path {shorten(path, 80)} is not a directory", ptr,
                       hint="code names directories relative to the app file")
    importlib.invalidate_caches()
    raw_functions = doc.get("functions")
    functions: dict[str, Any] = raw_functions if isinstance(raw_functions, dict) else {}
    for name, fn in app.functions.items():
        raw = functions.get(name)
        if not isinstance(raw, dict) or not isinstance(raw.get("handler"), str):
            continue
        if not is_python(fn.runtime):
            continue  # not Python: nothing flowengine could locate (.app warns that it runs only mocked)
        handler = raw["handler"]
        module = python_module(handler)
        attr = handler.rpartition(".")[2]
        if module is None:
            continue  # the form is reported by .app
        ptr = ("functions", name, "handler")
        spec, missing = locate(module, paths)
        if spec is None:
            elsewhere, _ = locate(module, [p for p in sys.path if p and os.path.isdir(p)])
            hint = (f"'{missing}' is importable from the environment but not under the code paths, so it would not "
                    "be packaged" if elsewhere is not None else
                    f"looked in: {', '.join(paths) or '(no code directory exists)'}")
            rep.report("FE620", f"handler module '{module}' not found ('{missing}' is missing)", ptr, hint=hint)
            continue
        origin = spec.origin if spec.has_location else None
        if not origin or not origin.endswith(".py"):
            continue  # a namespace package, an extension module: nothing to read
        verdict = defines(origin, attr)
        if verdict is False:
            rep.report("FE621", f"module '{module}' defines no '{attr}'", ptr,
                       hint=f"define def {attr}(event, context) in {os.path.relpath(origin)}")
        elif isinstance(verdict, str):
            rep.report("FE627", f"handler module '{module}' does not parse: {verdict}", ptr,
                       hint="fix the module's syntax")


def locate(module: str, paths: list[str]) -> tuple[Any, str]:
    """The module's spec, found without importing anything, or (None, the first missing name)."""
    search = list(paths)
    parts = module.split(".")
    spec = None
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, search)
        except (ImportError, ValueError, OSError):
            spec = None
        if spec is None:
            return None, name
        if i < len(parts) - 1:
            locations = spec.submodule_search_locations
            if not locations:
                return None, ".".join(parts[: i + 2])
            search = list(locations)
    return spec, ""


def defines(path: str, attr: str) -> bool | str | None:
    """True/False whether the module's source binds ``attr`` at top level; None when it can't be
    told statically; a message when the source does not parse."""
    from flowengine.dsl import files  # a regular file only (not a FIFO that blocks), the bytes read capped

    try:
        tree = ast.parse(files.read_text(path), filename=path)
    except SyntaxError as exc:
        return f"{os.path.relpath(path)}:{exc.lineno}: {exc.msg}"
    except (files.FileProblem, ValueError, RecursionError, MemoryError):
        return None
    body = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == attr:
                return True
            if node.name == "__getattr__":
                return None
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == attr for t in node.targets):
                return True
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            if isinstance(node.target, ast.Name) and node.target.id == attr:
                return True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                if (alias.asname or alias.name.split(".")[0]) == attr:
                    return True
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            body.extend(node.body)
            body.extend(getattr(node, "orelse", []))
            body.extend(getattr(node, "finalbody", []))
            for h in getattr(node, "handlers", []):
                body.extend(h.body)
    return False

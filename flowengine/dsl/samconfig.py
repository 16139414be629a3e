"""``samconfig.toml``: the parameter values a SAM project keeps next to its template.

``sam deploy --guided`` asks for every parameter without a ``Default`` and saves the answers
as ``parameter_overrides`` in ``samconfig.toml`` (or ``samconfig.yaml``/``.yml``), beside
``template.yaml``.  A template source and ``flowengine import`` read them from there, so a
project runs with the values it deploys with, without repeating them on the command line:

* the ``default`` environment, its ``global`` section, then its ``deploy`` section (a later
  section wins for the same key, as in SAM CLI);
* ``parameter_overrides`` as SAM CLI writes it: one string of ``Key=Value`` words (quoted
  values may hold spaces), or a list of them;
* values given explicitly (``--parameter-overrides``, ``parameters=``) win over the file.

A file that cannot be read, does not parse or has the wrong shape is a :class:`LoadError`
(FE105, FE109) located in it, never ignored: its values decide what the template does.
"""

from __future__ import annotations

import os
import re
from typing import Any

from flowengine.dsl.files import FileProblem, read_text
from flowengine.errors import LoadError
from flowengine.model.diagnostics import Diagnostic, Span

NAMES = ("samconfig.toml", "samconfig.yaml", "samconfig.yml")
#: The sections of an environment whose ``parameters`` hold template parameter values, in the
#: order SAM CLI applies them (the command's own section last).
SECTIONS = ("global", "deploy")

__all__ = ["NAMES", "find", "parameter_overrides"]


def find(template_path: str | os.PathLike[str]) -> str | None:
    """The SAM config file beside ``template_path``, if there is one."""
    folder = os.path.dirname(os.path.abspath(os.fspath(template_path)))
    for name in NAMES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def parameter_overrides(template_path: str | os.PathLike[str], env: str = "default") -> dict[str, str]:
    """The ``parameter_overrides`` of the SAM config file beside ``template_path`` ({} when
    there is none, or it holds none)."""
    path = find(template_path)
    if path is None:
        return {}
    config = _read(path)
    environment = config.get(env)
    if environment is None:
        return {}
    if not isinstance(environment, dict):
        raise _problem(path, "FE109", f"the '{env}' environment is not a table", "write [default.deploy.parameters]")
    out: dict[str, str] = {}
    for section in SECTIONS:
        params = (environment.get(section) or {})
        params = params.get("parameters") if isinstance(params, dict) else None
        if not isinstance(params, dict) or "parameter_overrides" not in params:
            continue
        out.update(_assignments(path, f"{env}.{section}.parameters.parameter_overrides",
                                params["parameter_overrides"]))
    return out


def _read(path: str) -> dict[str, Any]:
    try:
        text = read_text(path)
    except FileProblem as exc:
        raise _problem(path, exc.code, exc.problem, exc.hint) from None
    if path.endswith(".toml"):
        import tomllib

        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line, col = _toml_position(str(exc))
            raise _problem(path, "FE105", f"malformed TOML: {exc}", "SAM CLI would refuse it too",
                           line=line, col=col) from None
    else:
        from flowengine.dsl.source import load_text

        data = load_text(text, path).value  # its own LoadError, located
    if not isinstance(data, dict):
        raise _problem(path, "FE109", "the SAM config is not a table of environments",
                       "write version = 0.1 and [default.deploy.parameters]")
    return data


def _assignments(path: str, where: str, value: Any) -> dict[str, str]:
    from flowengine.dsl.substitutions import parse_assignments

    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise _problem(path, "FE109", f"{where} is neither text nor a list of text",
                       'write parameter_overrides = "Key=Value Other=Value"')
    try:
        return parse_assignments(items, where)
    except ValueError as exc:
        raise _problem(path, "FE109", str(exc), 'write parameter_overrides = "Key=Value Other=Value"') from None


def _toml_position(message: str) -> tuple[int, int]:
    m = re.search(r"line (\d+), column (\d+)", message)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 1)


def _problem(path: str, code: str, message: str, hint: str | None, *, line: int = 1, col: int = 1) -> LoadError:
    return LoadError([Diagnostic(code, message, Span(path, line, col), None, hint)])

"""The real-world corpus: state machines people outside the project wrote (see README.md here).

For every definition, as a new user would, through the CLI (in-process, one interpreter):

* ``flowengine validate FILE`` accepts it (these are deployed definitions: a rejection is a
  false positive of ours);
* ``flowengine mocks scaffold FILE --out M`` writes a MockConfigFile, and the ``run`` command
  it prints (``--mock M --test-case HappyPath`` and the input the happy path reads) is run as
  printed; at least 80 % of the runs SUCCEED;
* nothing raises: no traceback anywhere.

``substitutions.json`` fills the few ``${...}`` DefinitionSubstitutions a definition cannot
validate without, and names the definitions that run as Express workflows.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import build_parser

HERE = Path(__file__).parent
CORPUS = sorted(p for p in (HERE / "corpus").rglob("*") if p.is_file())
SIDECAR: dict[str, dict[str, Any]] = json.loads((HERE / "substitutions.json").read_text(encoding="utf-8"))
#: The share of scaffolded HappyPaths that must SUCCEED as generated (issue 12).
MIN_SUCCESS = 0.80


PARSER = build_parser()  # built once: building it costs as much as a run


def _cli(*argv: str) -> tuple[int, str, str]:
    """``flowengine ARGV`` in this process: (exit code, stdout, stderr), as ``cli.main`` runs it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = PARSER.parse_args(list(argv))
            code = int(args.func(args))
        except SystemExit as exc:  # argparse's own exits
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _prepared(path: Path, tmp: Path) -> Path:
    """The definition, with the sidecar's substitutions applied (a copy), else itself."""
    key = path.relative_to(HERE / "corpus").as_posix()
    values = SIDECAR.get(key, {}).get("substitutions")
    if not values:
        return path
    text = path.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    copy = tmp / path.name
    copy.write_text(text, encoding="utf-8")
    return copy


def _run_options(path: Path) -> list[str]:
    key = path.relative_to(HERE / "corpus").as_posix()
    return list(SIDECAR.get(key, {}).get("run_options", []))


def test_the_corpus_is_big_enough_and_attributed() -> None:
    assert len(CORPUS) >= 100
    notice = (HERE / "README.md").read_text(encoding="utf-8")
    for path in CORPUS:
        assert path.relative_to(HERE / "corpus").as_posix() in notice, f"{path.name} has no attribution row"
    for key in SIDECAR:
        assert (HERE / "corpus" / key).is_file(), f"substitutions.json names a missing file {key}"


def test_validate_scaffold_and_run_the_whole_corpus(tmp_path: Path) -> None:
    rejected: list[str] = []
    tracebacks: list[str] = []
    outcomes: dict[str, str] = {}
    for path in CORPUS:
        name = path.relative_to(HERE / "corpus").as_posix()
        work = tmp_path / str(len(outcomes))
        work.mkdir()
        source = _prepared(path, work)
        try:
            code, out, err = _cli("validate", str(source))
            if code != 0:
                rejected.append(f"{name}: {out.strip()} {err.strip()}")
                continue
            mock = work / "MockConfigFile.json"
            code, out, err = _cli("mocks", "scaffold", str(source), "--out", str(mock))
            assert code == 0, err
            command = next(line for line in err.splitlines() if line.startswith("run it: "))
            argv = shlex.split(command.removeprefix("run it: "))[1:]
            assert argv[0] == "run"
            code, out, err = _cli(*argv, *_run_options(path), "--json")
        except Exception as exc:  # noqa: BLE001 - a traceback is what this test looks for
            tracebacks.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if not out.strip():
            outcomes[name] = f"no result (exit {code}): {err.strip()[:200]}"
            continue
        result = json.loads(out)
        outcomes[name] = result["status"] if result["status"] == "SUCCEEDED" else (
            f"{result['status']} {result.get('error')}: {str(result.get('cause'))[:200]}")
    succeeded = sum(1 for v in outcomes.values() if v == "SUCCEEDED")
    share = succeeded / len(CORPUS)
    summary = (f"real-world corpus: {len(CORPUS)} definitions, validate rejected {len(rejected)}, "
               f"HappyPath SUCCEEDED {succeeded} ({share:.0%}), tracebacks {len(tracebacks)}")
    print(summary)
    for name, outcome in sorted(outcomes.items()):
        if outcome != "SUCCEEDED":
            print(f"  {name}: {outcome}")
    assert tracebacks == []
    assert rejected == []
    assert share >= MIN_SUCCESS, summary

"""What the README shows works as shown: its Python example runs, its links resolve, and its
CLI reference names only options the parser has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowengine.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    (block,) = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own README


def test_every_linked_document_exists() -> None:
    links = re.findall(r"\]\(((?:docs|examples|definitions|tests)/[^)#]+)", README)
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing


def test_the_cli_reference_names_real_options() -> None:
    reference = README[README.index("## CLI"):README.index("Exit codes:")]
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command, rest in re.findall(r"^flowengine (\w+)(.*)$", reference, re.MULTILINE):
        assert command in sub.choices, command
        command_parser = sub.choices[command]
        if command == "event":
            continue  # options belong to each kind of event
        if command == "mocks":
            nested = next(a for a in command_parser._actions if a.__class__.__name__ == "_SubParsersAction")
            command_parser = nested.choices[rest.split()[0]]
        known = {s for a in command_parser._actions for s in a.option_strings}
        for flag in re.findall(r"--[a-z][a-z-]*", rest):
            assert flag in known, f"{command} {flag}"

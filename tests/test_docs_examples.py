"""Every Python example in README.md and docs/*.md runs as pasted.

A page's ```python blocks run in order in one namespace, as a reader pasting them into one
session would, with the repository root as the working directory; each page starts from a
fresh namespace.  A ``test_*`` function that a block defines is called, with the
flowengine pytest fixtures (``flowengine_runtime``, ``virtual_clock``, ``load_app``)
supplied by parameter name.  A failure names the page, the block and the line.

Code that is not meant to run (a signature, a shell session, an example that needs an AWS
account) belongs in a ```text, ```bash or similar block, not in a ```python one.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import re
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


@dataclass(frozen=True)
class Block:
    """One fenced ```python block: its number on the page (from 1), first line and code."""

    number: int
    line: int  # the line of the first line of code, 1-based
    code: str


def python_blocks(text: str) -> list[Block]:
    """The page's ```python blocks, in order (indented fences, as in lists, included)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing["fence"].startswith(fence[0] * len(fence)) and not closing["info"]:
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        if info in ("python", "py", "python3"):
            blocks.append(Block(len(blocks) + 1, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def _fixtures(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, Callable[[], Any]]:
    """The flowengine fixtures, fresh for each test function a page defines."""

    def runtime() -> Any:
        from flowengine.testing import TestRuntime

        return stack.enter_context(TestRuntime())

    def clock() -> Any:
        from flowengine.engine.clock import VirtualClock

        return stack.enter_context(contextlib.closing(VirtualClock()))

    return {
        "flowengine_runtime": runtime,
        "virtual_clock": clock,
        "load_app": lambda: request.getfixturevalue("load_app"),
    }


_writes: list[set[str]] = []  # while a page runs: the paths under ROOT it tried to write
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "shutil.copyfile", "os.symlink"}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Refuse a write under the repository while a page runs: examples write into a temp dir."""
    if not _writes:
        return
    if event == "open":
        path, mode, flags = args
        if not (isinstance(mode, str) and set(mode) & set("wax+")) and not (mode is None and flags & _WRITE_FLAGS):
            return
        paths = [path]
    elif event in _WRITE_EVENTS:
        paths = list(args[:2])  # rename, copy and symlink write their second path
    else:
        return
    for path in paths:
        if not isinstance(path, (str, bytes, os.PathLike)):
            continue
        full = Path(os.fsdecode(path)).absolute()
        if full.is_relative_to(ROOT) and "__pycache__" not in full.parts and ".pytest_cache" not in full.parts:
            _writes[-1].add(str(full.relative_to(ROOT)))
            raise PermissionError(f"a documentation example must not write into the repository: {full}")


sys.addaudithook(_audit)


def _where(page: str, block: Block, exc: BaseException) -> int:
    """The page line the error happened on (the innermost frame in the page's code)."""
    if isinstance(exc, SyntaxError) and exc.filename == page and exc.lineno:
        return exc.lineno
    line = block.line
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == page:
            line = lineno
    return line


@contextlib.contextmanager
def _located(page: str, block: Block, what: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        line = _where(page, block, exc)
        source = (ROOT / page).read_text(encoding="utf-8").splitlines()[line - 1].strip()
        pytest.fail(f"{page}:{line}: block {block.number} {what}: {type(exc).__name__}: {exc}\n"
                    f"    {source}\n\n{''.join(traceback.format_exception(exc))}", pytrace=False)


def _tests_defined(namespace: dict[str, Any], page: str, called: set[str]) -> list[types.FunctionType]:
    return [value for name, value in namespace.items()
            if name.startswith("test_") and name not in called and isinstance(value, types.FunctionType)
            and value.__code__.co_filename == page]


def run_page(page: str, request: pytest.FixtureRequest) -> int:
    """Run the page's blocks in one namespace and call the tests they define; the number of blocks."""
    blocks = python_blocks((ROOT / page).read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    called: set[str] = set()
    _writes.append(set())
    try:
        _run_blocks(page, blocks, namespace, called, request)
    finally:
        written = _writes.pop()
    assert not written, f"{page} writes into the repository: {sorted(written)} (write into a temp dir)"
    return len(blocks)


def _run_blocks(page: str, blocks: list[Block], namespace: dict[str, Any], called: set[str],
                request: pytest.FixtureRequest) -> None:
    for block in blocks:
        # pad with blank lines so that the code's line numbers are the page's
        with _located(page, block, "does not run"):
            code = compile("\n" * (block.line - 1) + block.code, page, "exec")
            exec(code, namespace)  # noqa: S102 - the project's own documentation
        for test in _tests_defined(namespace, page, called):
            called.add(test.__name__)
            with contextlib.ExitStack() as stack, _located(page, block, f"{test.__name__}() fails"):
                fixtures = _fixtures(request, stack)
                missing = [p for p in inspect.signature(test).parameters if p not in fixtures]
                if missing:
                    raise TypeError(f"{test.__name__} takes {', '.join(missing)}, which is not a flowengine "
                                    f"fixture ({', '.join(fixtures)})")
                test(**{p: fixtures[p]() for p in inspect.signature(test).parameters})


@pytest.mark.parametrize("page", [str(p.relative_to(ROOT)) for p in PAGES])
def test_the_page_runs_as_pasted(page: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    run_page(page, request)


def test_the_pages_have_examples() -> None:
    # a parser that finds nothing would pass every page
    counts = {str(p.relative_to(ROOT)): len(python_blocks(p.read_text(encoding="utf-8"))) for p in PAGES}
    assert counts["README.md"] >= 1 and counts["docs/testing.md"] >= 5, counts


def test_blocks_are_found_with_their_lines() -> None:
    text = "intro\n```python\na = 1\n```\n\n* item\n\n  ```python\n  b = a\n  ```\n```text\nnot python\n```\n"
    assert python_blocks(text) == [Block(1, 3, "a = 1\n"), Block(2, 9, "b = a\n")]


def test_a_failure_names_page_block_and_line(tmp_path: Path, request: pytest.FixtureRequest,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```python\nx = 1\n```\n\n```python\ny = x\nz = undefined_name\n```\n", encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"page\.md:9: block 2 does not run: NameError"):
        run_page("page.md", request)


def test_a_write_into_the_repository_is_refused(tmp_path: Path, request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nopen('out.txt', 'w').write('x')\n```\n", encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"page\.md:2: block 1 does not run: PermissionError"):
        run_page("page.md", request)
    assert not (tmp_path / "out.txt").exists()


def test_a_test_function_gets_its_fixtures(tmp_path: Path, request: pytest.FixtureRequest,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nseen = []\ndef test_x(virtual_clock, flowengine_runtime):\n"
                    "    seen.append((virtual_clock, flowengine_runtime))\n    assert False, 'ran'\n```\n",
                    encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"page\.md:5: block 1 test_x\(\) fails: AssertionError: ran"):
        run_page("page.md", request)

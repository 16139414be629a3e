"""pytest plugin, registered through the ``pytest11`` entry point: flowengine's fixtures.

* ``flowengine_runtime``: a fresh :class:`~flowengine.testing.TestRuntime` per test (virtual
  clock, traced executions, manual time control), closed after the test;
* ``virtual_clock``: a fresh :class:`~flowengine.engine.clock.VirtualClock`, closed after
  the test (for ``Engine(clock=virtual_clock)`` or ``run_flow(..., clock=virtual_clock)``);
* ``load_app``: ``load_app("app.yaml")`` loads an app file (a ``LoadedApp``), a relative
  path resolved against the test file's directory first, then pytest's root directory.

And one option: ``--flowengine-report DIR`` writes an HTML report (docs/report.md) of every
execution a failing test ran, traced ones (the testing API always traces), into ``DIR``;
the failure's report names the files in a "flowengine reports" section.

Nothing is imported from flowengine until a fixture is used or the option is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

_EXECUTIONS = pytest.StashKey[list[Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowengine")
    group.addoption("--flowengine-report", metavar="DIR", default=None,
                    help="write an HTML report of every execution of a failing test into DIR")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    """Collect the executions the test runs (setup, call and teardown) while it runs."""
    if not item.config.getoption("flowengine_report", None):
        yield
        return
    from flowengine.engine.trace import ExecutionTrace

    runs: list[Any] = []
    item.stash[_EXECUTIONS] = runs
    ExecutionTrace.observers.append(runs.append)
    try:
        yield
    finally:
        ExecutionTrace.observers.remove(runs.append)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failing test: write a report of each of its executions and name the files."""
    outcome = yield
    report = outcome.get_result()
    directory = item.config.getoption("flowengine_report", None)
    runs = item.stash.get(_EXECUTIONS, [])
    if not directory or not report.failed or not runs:
        return
    import flowengine.report  # noqa: F401  (registers ExecutionResult.report)

    os.makedirs(directory, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150]
    written = []
    for n, execution in enumerate(runs, 1):
        path = os.path.join(directory, f"{stem}-{report.when}-{n}-{execution.state_machine_name}.html")
        try:
            execution.snapshot().report(path)
        except Exception as exc:  # a report that cannot be written must not hide the test's failure
            written.append(f"{path}: not written ({type(exc).__name__}: {exc})")
        else:
            written.append(f"{execution.state_machine_name} {execution.status}: {path}")
    runs.clear()
    report.sections.append(("flowengine reports", "\n".join(written)))


@pytest.fixture
def flowengine_runtime() -> Iterator[Any]:
    """A :class:`~flowengine.testing.TestRuntime` for the test: ``start``, ``advance``,
    ``run_until_idle``; closed when the test ends."""
    from flowengine.testing.run import TestRuntime

    runtime = TestRuntime()
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def virtual_clock() -> Iterator[Any]:
    """A :class:`~flowengine.engine.clock.VirtualClock` starting at 2024-01-01T00:00:00Z."""
    from flowengine.engine.clock import VirtualClock

    clock = VirtualClock()
    try:
        yield clock
    finally:
        clock.close()


@pytest.fixture
def load_app(request: pytest.FixtureRequest) -> Callable[[str | os.PathLike[str]], Any]:
    """``load_app(path)`` → the app file's ``LoadedApp`` (``.app`` is the model); raises
    ``LoadError`` listing every problem of a file that cannot be read."""
    from flowengine.dsl.app import load

    here = os.path.dirname(str(request.path))
    root = str(request.config.rootpath)

    def load_app(path: str | os.PathLike[str]) -> Any:
        text = os.fspath(path)
        if not os.path.isabs(text):
            for base in (here, root):
                candidate = os.path.join(base, text)
                if os.path.exists(candidate):
                    text = candidate
                    break
        return load(text)

    return load_app

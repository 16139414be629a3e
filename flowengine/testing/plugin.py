"""pytest plugin, registered through the ``pytest11`` entry point: flowengine's fixtures.

* ``flowengine_runtime``: a fresh :class:`~flowengine.testing.TestRuntime` per test (virtual
  clock, traced executions, manual time control), closed after the test;
* ``virtual_clock``: a fresh :class:`~flowengine.engine.clock.VirtualClock`, closed after
  the test (for ``Engine(clock=virtual_clock)`` or ``run_flow(..., clock=virtual_clock)``);
* ``load_app``: ``load_app("app.yaml")`` loads an app file (a ``LoadedApp``), a relative
  path resolved against the test file's directory first, then pytest's root directory.

Nothing is imported from flowengine until a fixture is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest


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

"""Local stand-ins for the Lambda handlers the conformance cases deploy.

Each handler behaves as the corpus README's table says.  Their source is compiled under
the path Lambda gives a deployed handler (``/var/task/handler.py``) with the same line
layout as LocalStack's handler files, so the ``stackTrace`` in a raised error's cause is
the one AWS recorded.  A case installs its handler's source for traceback lookups with
:func:`install_source` (each Lambda function has its own ``/var/task``; locally the cases
run one after another).

``wait_60_seconds`` sleeps with ``asyncio.sleep``: on the engine's virtual clock the 60
seconds pass instantly, and a Task TimeoutSeconds still fires first.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any

TASK_PATH = "/var/task/handler.py"

SOURCES: dict[str, str] = {
    "id_function.py": (
        "def handler(event, context):\n"
        "    return event\n"
    ),
    "raise_exception.py": (
        "def handler(event, context):\n"
        "    raise Exception(\"Some exception was raised.\")\n"
    ),
    "raise_custom_exception.py": (
        "class CustomException(Exception):\n"
        "    message: str\n"
        "\n"
        "    def __init__(self):\n"
        "        self.message = \"CustomException message\"\n"
        "\n"
        "\n"
        "def handler(event, context):\n"
        "    raise CustomException()\n"
    ),
    "large_output_string.py": (
        "def handler(event, context):\n"
        "    return (\"a\" * (257 * 1024)).encode(\"utf-8\")\n"
    ),
    "wait_60_seconds.py": (
        "import asyncio\n"
        "\n"
        "\n"
        "async def handler(event, context):\n"
        "    await asyncio.sleep(60)\n"
        "    return event\n"
    ),
    "return_bytes_str.py": (
        "def handler(event, context):\n"
        "    return b'\"HelloWorld!\"'\n"
    ),
    "echo_function.py": (
        "def handler(event, context):\n"
        "    return {\"Return\": \"HelloWorld\"}\n"
    ),
}

_CACHE: dict[str, Callable[..., Any]] = {}


def handler_for(path: str) -> Callable[..., Any]:
    """The handler for a LocalStack handler file path (by its file name)."""
    name = path.rsplit("/", 1)[-1]
    fn = _CACHE.get(name)
    if fn is None:
        namespace: dict[str, Any] = {"__name__": f"handler_{name[:-3]}"}
        exec(compile(SOURCES[name], TASK_PATH, "exec"), namespace)  # noqa: S102 - our own fixed source
        fn = _CACHE[name] = namespace["handler"]
    return fn


def install_source(path: str) -> None:
    """Make tracebacks through ``/var/task/handler.py`` show this handler's lines."""
    source = SOURCES[path.rsplit("/", 1)[-1]]
    linecache.cache[TASK_PATH] = (len(source), None, source.splitlines(True), TASK_PATH)

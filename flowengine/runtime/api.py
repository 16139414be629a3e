"""The one-call entry point, :func:`run`, and the options every entry point shares."""

from __future__ import annotations

from typing import Any

from flowengine.dsl.app import load_source
from flowengine.engine.result import ExecutionResult
from flowengine.runtime.app import AppRuntime
from flowengine.runtime.hybrid import Hybrid, run_hybrid

__all__ = ["RUNTIME_OPTIONS", "check_options", "run"]

#: The options of :class:`AppRuntime`, which every local entry point passes on unchanged:
#: the same word means the same thing in ``flowengine.run``, ``run_flow``, ``TestRuntime``
#: and the fixtures.
RUNTIME_OPTIONS = frozenset({
    "clock", "seed", "handlers", "mocks", "require_all_mocks", "record", "limits", "account", "integrations",
    "listeners", "sync_handlers", "validate", "substitutions", "recursion_limit", "async_retries", "max_event_age",
})


def check_options(caller: str, options: dict[str, Any]) -> None:
    """Refuse an option no entry point knows, naming the ones that exist."""
    unknown = sorted(set(options) - RUNTIME_OPTIONS)
    if not unknown:
        return
    import difflib

    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, RUNTIME_OPTIONS, n=1)
        if name == "emulate":
            hints.append("emulate: every local run is emulated now (pass aws=Hybrid(stack) to call a deployed stack)")
        elif close:
            hints.append(f"{name} (did you mean {close[0]}?)")
        else:
            hints.append(name)
    raise TypeError(f"{caller}() got unknown option(s): {'; '.join(hints)}; its options are "
                    f"{', '.join(sorted(RUNTIME_OPTIONS))}")


def run(source: Any, *args: Any, input: Any = None, flow: str | None = None, name: str | None = None,
        express: bool | None = None, aws: Hybrid | None = None, **options: Any) -> ExecutionResult:
    """Run a flow locally and return its :class:`ExecutionResult`.

    ``source``: a path (app file, ASL JSON/YAML), a definition dict, a ``LoadedApp``/``App``
    or a ``StateMachine``; ``flow`` names the flow when the app has several; ``input`` is
    the execution input (keyword-only: a JSON value, or JSON text); ``express`` runs it as
    an EXPRESS (True) or STANDARD (False) execution, whatever the flow declares.

    The run happens in an :class:`AppRuntime`: the app's resources are emulated in-process
    and nothing leaves the machine (a handler's call to something the app does not declare
    gets AWS's own "not found" error from the emulation).  ``options`` are the runtime's
    (``handlers``, ``mocks``, ``clock``, ``seed``, ``record``, ``limits`` ...).  The one way
    out is explicit: ``aws=Hybrid("stack")`` runs the flow here with its Tasks calling the
    deployed stack.

    Raises ``ValidationError`` for a definition with errors, ``ExecutionInputError`` for
    input that is not JSON, ``HandlerError`` when a handler cannot be imported.  A failed
    execution is not an exception: see ``status``, ``error`` and ``cause``.
    """
    if args:
        raise TypeError("run() takes the source positionally and everything else by keyword: "
                        "run(source, input={...}, flow='Name')")
    check_options("run", options)
    source = load_source(source)  # once
    if aws is not None:
        hybrid_options = {k: v for k, v in options.items() if k != "validate"}
        return run_hybrid(source, flow, aws.stack_name, input, functions=aws.functions, region=aws.region,
                          profile=aws.profile, endpoint_url=aws.endpoint_url, **hybrid_options)
    with AppRuntime(source, **options) as runtime:
        return runtime.run_flow(flow, input, name=name, express=express)

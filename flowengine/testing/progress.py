"""Live progress of a run, for people watching a terminal (``flowengine run``).

:class:`ProgressPrinter` is an engine :class:`~flowengine.engine.execution.Listener`: it
prints each state as it is entered, each retry with its backoff, each Wait (on the virtual
clock: ``Wait 5m (virtual; skipped)``) and each failure, with the execution's elapsed
(modelled) time in front::

    engine = Engine(listeners=[ProgressPrinter(sys.stderr)], record=True)
    started = time.perf_counter()
    result = engine.run("app.yaml", {...}, flow="PlaceOrder")
    print(printer.summary(result, time.perf_counter() - started))

Colour (ANSI) only when asked; the default is colour when the stream is a terminal, plain
ASCII text otherwise.  Map iterations beyond the first few are not printed one by one
(``iterations_shown``), so a Map over 10,000 items stays readable.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

from flowengine.engine.context import current_map_index
from flowengine.engine.execution import Listener
from flowengine.errors import FlowengineError

if TYPE_CHECKING:
    from flowengine.engine.execution import Execution
    from flowengine.model.failure import StatesFailure
    from flowengine.engine.result import ExecutionResult
    from flowengine.engine.scope import Scope

__all__ = ["ProgressPrinter", "format_seconds"]

_RESET, _DIM, _BOLD, _RED, _GREEN, _YELLOW, _CYAN = "\x1b[0m", "\x1b[2m", "\x1b[1m", "\x1b[31m", "\x1b[32m", \
    "\x1b[33m", "\x1b[36m"
_STATUS_COLOR = {"SUCCEEDED": _GREEN, "FAILED": _RED, "TIMED_OUT": _RED, "ABORTED": _YELLOW, "RUNNING": _CYAN}


def format_seconds(seconds: float) -> str:
    """``0.25s``, ``2s``, ``5m``, ``1h30m``, ``2d3h``: a duration the way people write it."""
    if seconds < 60:
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{text or '0'}s"
    out = []
    rest = int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out[:2])


class ProgressPrinter(Listener):
    """Prints a run as it goes (see the module docstring).

    * ``stream``: where to print (default ``sys.stderr``);
    * ``color``: ANSI colours; None (default): when ``stream`` is a terminal;
    * ``virtual``: the engine runs on the virtual clock (waits are skipped, and say so);
    * ``iterations_shown``: how many iterations of each Map to print state by state.
    """

    def __init__(self, stream: IO[str] | None = None, color: bool | None = None, *, virtual: bool = True,
                 iterations_shown: int = 3) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if color is None:
            isatty = getattr(self.stream, "isatty", None)
            color = bool(isatty and isatty())
        self.color = color
        self.virtual = virtual
        self.iterations_shown = iterations_shown
        self._hidden: set[str] = set()

    # -- output --------------------------------------------------------------------------

    def _paint(self, text: str, *codes: str) -> str:
        return f"{''.join(codes)}{text}{_RESET}" if self.color and codes else text

    def _line(self, execution: "Execution", depth: int, text: str) -> None:
        elapsed = format_seconds(max(0.0, execution.now() - execution.start_ts))
        stamp = self._paint(f"[+{elapsed}]", _DIM)
        print(f"{stamp} {'  ' * depth}{text}", file=self.stream, flush=True)

    def _visibility(self, node: Any) -> str:
        """``show``; ``hide`` (a Map iteration past the first few); ``note`` (the first state
        hidden in that Map: say so, once)."""
        index = current_map_index.get()
        if index is None or index < self.iterations_shown:
            return "show"
        scope_path = (node.path or node.name).rpartition("/")[0]
        if scope_path in self._hidden:
            return "hide"
        self._hidden.add(scope_path)
        return "note"

    # -- Listener ------------------------------------------------------------------------

    def state_entered(self, execution: "Execution", scope: "Scope", node: Any, data: Any) -> None:
        visibility = self._visibility(node)
        depth = _depth(node.path or node.name)
        if visibility == "note":
            self._line(execution, depth, self._paint(
                f"... (iterations after the first {self.iterations_shown} are not shown)", _DIM))
        if visibility != "show":
            return
        arrow = self._paint("›", _CYAN) if self.color else ">"
        label = node.name if depth else self._paint(node.name, _BOLD)
        self._line(execution, depth, f"{arrow} {label} {self._paint(node.type, _DIM)}")

    def retry(self, execution: "Execution", scope: "Scope", node: Any, failure: "StatesFailure",
              delay: float) -> None:
        if self._visibility(node) == "hide":
            return
        number = (scope.retry_count or 0) + 1
        how = f"{format_seconds(delay)} (virtual; skipped)" if self.virtual and delay > 0 else format_seconds(delay)
        mark = self._paint("↻", _YELLOW) if self.color else "retry:"
        self._line(execution, _depth(node.path or node.name) + 1,
                   f"{mark} {node.name} failed with {failure.error}; retry {number} in {how}")

    def wait(self, execution: "Execution", scope: "Scope", node: Any, seconds: float) -> None:
        if self._visibility(node) == "hide":
            return
        note = " (virtual; skipped)" if self.virtual else ""
        mark = self._paint("⏸", _DIM) if self.color else "wait:"
        self._line(execution, _depth(node.path or node.name) + 1, f"{mark} Wait {format_seconds(seconds)}{note}")

    def state_failed(self, execution: "Execution", scope: "Scope", node: Any, failure: "StatesFailure") -> None:
        if self._visibility(node) == "hide":
            return
        mark = self._paint("✗", _RED) if self.color else "failed:"
        cause = f": {_short(failure.cause)}" if failure.cause else ""
        self._line(execution, _depth(node.path or node.name) + 1, f"{mark} {node.name} {failure.error}{cause}")

    # -- the end -------------------------------------------------------------------------

    def summary(self, result: "ExecutionResult", wall_seconds: float) -> str:
        """Status, path, retries, throttling, and the virtual and wall durations of a run."""
        status = self._paint(result.status, _BOLD, _STATUS_COLOR.get(result.status, ""))
        lines = [f"{status}  {result.name}"]
        try:
            path = result.path
        except FlowengineError:
            path = None
        if path is not None:
            lines.append(f"  path:     {self._path(path)}")
            retries = result.retries
            if retries:
                shown = "; ".join(f"{p} ×{len(d)} ({', '.join(format_seconds(x) for x in d)})"
                                  if self.color else f"{p} x{len(d)} ({', '.join(format_seconds(x) for x in d)})"
                                  for p, d in retries.items())
                lines.append(f"  retries:  {shown}")
        throttled = {fn: n for fn, n in result.throttles.items() if n}
        if throttled:
            lines.append("  throttled: " + ", ".join(
                f"{fn} {n} time{'s' if n != 1 else ''} (peak {result.peak_concurrency[fn]} in flight)"
                for fn, n in sorted(throttled.items())))
        if result.error is not None or result.cause is not None:
            lines.append(f"  error:    {self._paint(str(result.error), _RED)}")
            if result.cause:
                lines.append(f"  cause:    {_short(result.cause, 300)}")
                from flowengine.testing.hints import failure_hint

                hint = failure_hint(result.error, result.cause)
                if hint:
                    lines.append(f"  hint:     {hint}")
        virtual = (result.stop_ts if result.stop_ts is not None else result.start_ts) - result.start_ts
        kind = "virtual" if self.virtual else "modelled"
        lines.append(f"  time:     {format_seconds(virtual)} {kind}, {format_seconds(wall_seconds)} wall")
        for w in result.warnings:
            lines.append(f"  warning:  {w.format() if hasattr(w, 'format') else w}")
        return "\n".join(lines)

    def _path(self, path: list[str]) -> str:
        """The path with repeats folded (``Ship/ShipOne ×50``)."""
        parts: list[str] = []
        previous, count = None, 0
        times = "×" if self.color else "x"
        for p in path + [None]:  # type: ignore[list-item]
            if p == previous:
                count += 1
                continue
            if previous is not None:
                parts.append(previous if count == 1 else f"{previous} {times}{count}")
            previous, count = p, 1
        return (" → " if self.color else " -> ").join(parts)


def _depth(path: str) -> int:
    """How deep a state sits: one level per enclosing Map or Parallel (branch indexes skipped)."""
    return sum(1 for part in path.split("/")[:-1] if not part.isdigit())


def _short(text: str | None, limit: int = 120) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."

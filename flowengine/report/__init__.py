"""What people look at: drawings of a flow (Mermaid, DOT, SVG), an execution's HTML report,
and the live console of ``flowengine up --console``.

* :mod:`~flowengine.report.graph`: Mermaid and DOT text, a run's path overlaid;
* :mod:`~flowengine.report.layout`: the layered layout, drawn as SVG;
* :mod:`~flowengine.report.html`: the self-contained report of one execution;
* :mod:`~flowengine.report.console`: the live console's web server.

Importing this package registers :meth:`ExecutionResult.report
<flowengine.engine.result.ExecutionResult.report>`: the engine may not import the layers
above it, so the method delegates to the writer this package plugs into
``flowengine.engine.result.report_writer``.  A hook rather than a result subclass keeps one
result type across every way of running (engine, runtime, testing, remote), and the import
stays explicit: the testing API, the pytest plugin and the CLI import this package, and
``result.report`` says so when nothing has.  The import itself is light: the modules that
lay out and render load on first use.
"""

from __future__ import annotations

from typing import Any

from flowengine.engine import result as _result


def _write(result: Any, path: str, **options: Any) -> str:
    from flowengine.report.html import write_report

    return write_report(result, path, **options)


_result.report_writer = _write

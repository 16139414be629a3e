"""The validate API: shapes, ordering, spans and state paths, app-level checks, handlers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowengine.dsl.app import loads
from flowengine.validate import validate_app, validate_definition, validate_path


def _app(text: str, path: str = "app.yaml") -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.col) for d in validate_app(loads(textwrap.dedent(text), path))]


def _codes(text: str) -> list[str]:
    return [c for c, _, _ in _app(text)]


def test_validate_definition_of_a_non_object() -> None:
    for value in (None, 3, "x", [1]):
        assert [d.code for d in validate_definition(value)] == ["FE109"]  # type: ignore[arg-type]


def test_diagnostics_are_sorted_and_formatted(tmp_path: Path) -> None:
    p = tmp_path / "m.asl.yaml"
    p.write_text("StartAt: A\nStates:\n  B: {Type: Pass, End: true}\n  A: {Type: Pass, Next: C}\n", encoding="utf-8")
    diags = validate_path(str(p))
    assert [(d.span.line, d.span.col) for d in diags] == sorted((d.span.line, d.span.col) for d in diags)
    text = diags[-1].format()
    assert text.startswith(f"{p}:4:25: FE302 Next names a state that does not exist: 'C' [A] (")
    assert diags[-1].to_json()["code"] == "FE302"


def test_every_problem_at_once() -> None:
    codes = _codes("""
        app: many
        functions:
          Work: {handler: a.work, memory: 1}
        flows:
          Main:
            StartAt: T
            States:
              T: {Type: Task, Function: Wrok, Next: Nowhere}
        triggers:
          - schedule: rate(0 hours)
            start: Mian
        """)
    assert {"FE607", "FE610", "FE302", "FE616", "FE613"} <= set(codes)


def test_state_paths_through_scopes() -> None:
    d = validate_definition({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True, "ItemProcessor": {
        "StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Bogus": 1, "End": True}}}]}}}}}})
    assert [(x.code, x.state_path) for x in d] == [("FE201", "M/P/0/Inner")]


def test_app_flow_spans_point_into_the_app_file() -> None:
    found = _app("""
        app: spans
        flows:
          Main:
            StartAt: A
            States:
              A:
                Type: Wait
                Seconds: -5
                End: true
        """)
    assert found == [("FE511", 9, 18)]


def test_durations_and_function_shorthand_are_fine_in_app_files() -> None:
    assert _codes("""
        app: ok
        functions:
          Work: {handler: pkg.work, timeout: 30s}
        flows:
          Main:
            timeout: 1h
            StartAt: T
            States:
              T:
                Type: Task
                Function: Work
                TimeoutSeconds: 5m
                HeartbeatSeconds: 1m
                Retry: [{ErrorEquals: [States.TaskFailed], IntervalSeconds: 2s, MaxDelaySeconds: 1m}]
                Next: W
              W: {Type: Wait, Seconds: 1h30m, End: true}
        """) == []


def test_placeholders_in_asl_and_environment() -> None:
    found = _app("""
        app: refs
        resources:
          Items: {type: table, key: {id: S}}
        functions:
          Save:
            handler: pkg.save
            environment: {TABLE: "${Itemz}", OK: "${Items}"}
        flows:
          Main:
            StartAt: P
            States:
              P:
                Type: Task
                Resource: arn:aws:states:::dynamodb:putItem
                Parameters: {TableName: "${Items}", Other: "${SaveArn}", Bad: "${Save}"}
                End: true
        """)
    assert ("FE611", 8, 26) in found
    assert ("FE611", 16, 71) in found
    assert len([c for c, _, _ in found if c == "FE611"]) == 2


def test_names_shared_across_sections() -> None:
    assert "FE609" in _codes("""
        app: dup
        functions:
          Orders: {handler: pkg.orders}
        resources:
          Orders: {type: queue}
        """)


def test_express_flow_limits() -> None:
    codes = _codes("""
        app: fast
        flows:
          Quick:
            type: express
            timeout: 10m
            StartAt: A
            States:
              A: {Type: Task, Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken", End: true}
        """)
    assert codes.count("FE607") == 1 and codes.count("FE617") == 1


def test_event_loop_through_a_flow_calling_a_writer() -> None:
    found = validate_app(loads(textwrap.dedent("""
        app: loop
        functions:
          Store: {handler: pkg.store, writes: [Jobs]}
        resources:
          Jobs: {type: queue}
        flows:
          Handle:
            StartAt: S
            States:
              S: {Type: Task, Function: Store, End: true}
        triggers:
          - queue: Jobs
            start: Handle
        """), "loop.yaml"))
    loops = [d for d in found if d.code == "FE618"]
    assert len(loops) == 1 and loops[0].severity == "error"
    assert loops[0].message == "event loop: Jobs (queue) → Handle (flow) → Store (function) → Jobs (queue)"


def test_event_loop_on_the_default_bus_is_a_warning() -> None:
    found = validate_app(loads(textwrap.dedent("""
        app: bus
        flows:
          React:
            StartAt: Emit
            States:
              Emit:
                Type: Task
                Resource: arn:aws:states:::events:putEvents
                Parameters: {Entries: [{Source: app, DetailType: Done, Detail: {}}]}
                End: true
        triggers:
          - event_pattern: {source: [app]}
            start: React
        """), "bus.yaml"))
    assert [(d.code, d.severity) for d in found] == [("FE618", "warning")]


def test_no_loop_when_writes_go_elsewhere() -> None:
    assert _codes("""
        app: fine
        functions:
          Thumb: {handler: pkg.thumb, reads: [Uploads], writes: [Thumbs]}
        resources:
          Uploads: {type: bucket}
          Thumbs: {type: bucket}
        triggers:
          - bucket: Uploads
            invoke: Thumb
        """) == []


@pytest.mark.parametrize(("expr", "ok"), [
    ("rate(1 minute)", True), ("rate(5 minutes)", True), ("rate(1 minutes)", False), ("rate(0 hours)", False),
    ("rate(2 weeks)", False), ("cron(0 3 * * ? *)", True), ("cron(0/15 8-17 ? * MON-FRI *)", True),
    ("cron(0 10 L * ? *)", True), ("cron(0 10 ? * 6#3 *)", True), ("cron(0 3 * * * *)", False),
    ("cron(0 3 * * ?)", False), ("cron(61 3 * * ? *)", False), ("cron(0 3 ? FOO * *)", False),
    ("at(2026-01-01T00:00:00)", True), ("at(2026-01-01)", False), ("every day", False),
])
def test_schedule_expressions(expr: str, ok: bool) -> None:
    from flowengine.validate.app import _own_schedule_problem, schedule_problem

    assert (schedule_problem(expr) is None) == ok
    assert (_own_schedule_problem(expr) is None) == ok  # the fallback agrees with the scheduler


def test_event_pattern_and_timezone_problems_are_located() -> None:
    found = _app("""
        app: ev
        flows:
          F:
            StartAt: A
            States:
              A: {Type: Succeed}
        triggers:
          - event_pattern: {source: [orders], detail: {total: []}}
            start: F
          - schedule: cron(0 3 * * ? *)
            timezone: Mars/Olympus
            start: F
        """)
    assert found == [("FE624", 9, 55), ("FE604", 12, 15)]


def test_plain_asl_has_no_app_checks(tmp_path: Path) -> None:
    p = tmp_path / "flow.asl.json"
    p.write_text('{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${NoSuchArn}", "End": true}}}')
    found = validate_path(str(p), check_handlers=True)
    # no app check (FE611); the placeholder left unfilled is said, as a warning (issue 13)
    assert [(d.code, d.severity) for d in found] == [("FE906", "warning")]


# --- check_handlers -----------------------------------------------------------------------------


def _project(tmp_path: Path, handlers: dict[str, str]) -> Path:
    pkg = tmp_path / "src" / "shop"
    pkg.mkdir(parents=True)
    marker = tmp_path / "imported.txt"
    # if validation imported the package, this would write the marker
    (pkg / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('executed')\n")
    (pkg / "orders.py").write_text(
        "import json\nfrom os import path as joined\n\n"
        "def place(event, context):\n    return event\n\n"
        "async def cancel(event, context):\n    return event\n\n"
        "refund = place\n"
        "if True:\n    def late(event, context):\n        return event\n"
    )
    (pkg / "broken.py").write_text("def oops(:\n")
    lines = "\n".join(f"  {name}: {{handler: {h}}}" for name, h in handlers.items())
    app = tmp_path / "app.yaml"
    app.write_text(f"app: shop\ncode: [src, missing_dir]\nfunctions:\n{lines}\n", encoding="utf-8")
    return app


def test_handlers_are_located_without_importing(tmp_path: Path) -> None:
    app = _project(tmp_path, {
        "Place": "shop.orders.place", "Cancel": "shop.orders.cancel", "Refund": "shop.orders.refund",
        "Late": "shop.orders.late", "Joined": "shop.orders.joined",
        "NoFn": "shop.orders.ship", "NoModule": "shop.billing.charge", "NoPkg": "warehouse.stock.reserve",
        "Broken": "shop.broken.oops", "Stdlib": "json.dumps",
    })
    found = {(d.code, d.span.line) for d in validate_path(str(app), check_handlers=True)}
    assert found == {
        ("FE622", 2),  # code: [src, missing_dir]
        ("FE621", 9),  # shop.orders.ship
        ("FE620", 10),  # shop.billing
        ("FE620", 11),  # warehouse
        ("FE627", 12),  # shop/broken.py does not parse
        ("FE620", 13),  # json: importable, but not from the code paths
    }
    assert not (tmp_path / "imported.txt").exists()
    stdlib = next(d for d in validate_path(str(app), check_handlers=True) if d.span.line == 13)
    assert "not under the code paths" in (stdlib.hint or "")


def test_handlers_unchecked_by_default(tmp_path: Path) -> None:
    app = _project(tmp_path, {"NoPkg": "warehouse.stock.reserve"})
    assert validate_path(str(app)) == []


def test_every_code_is_documented() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    emitted = set()
    for path in [*(root / "flowengine" / "validate").glob("*.py"), root / "flowengine" / "dsl" / "source.py",
                 root / "flowengine" / "dsl" / "files.py", root / "flowengine" / "dsl" / "app.py",
                 *(root / "flowengine" / "dsl" / name for name in ("cfn.py", "sam.py", "substitutions.py"))]:
        emitted |= set(re.findall(r'"(FE\d{3})"', path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^\| (FE\d{3}) \|", (root / "docs" / "diagnostics.md").read_text(encoding="utf-8"),
                                re.MULTILINE))
    assert emitted == documented

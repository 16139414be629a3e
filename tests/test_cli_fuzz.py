"""Property: bad input gets a clear error, never a traceback.

Hypothesis drives ``flowengine.cli.main`` in-process with mutated app files, raw bytes and
random ``run`` options, and checks that every outcome is an exit code in {0, 1, 2} (or
argparse's ``SystemExit(0|2)``), with no exception escaping and no "Traceback" on stderr.

Reproducible: ``derandomize=True`` fixes the examples.  A deeper local search:
``FLOWENGINE_FUZZ_EXAMPLES=2000 FLOWENGINE_FUZZ_RANDOM=1 pytest tests/test_cli_fuzz.py``.
Everything the CLI writes goes under pytest's ``tmp_path``.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from flowengine.cli import build_parser, main
from flowengine.events import payloads

ROOT = Path(__file__).resolve().parents[1]
BASE_APPS = [*sorted((ROOT / "definitions").glob("*.yaml")), ROOT / "examples" / "tests" / "apps" / "stock.yaml"]
ORDER_JSON = ROOT / "examples" / "orders" / "order.json"
REPORT_JSON = ROOT / "examples" / "upload_pipeline" / "report.json"
MOCK_FILE = ROOT / "examples" / "tests" / "mockfiles" / "aws_docs_example.json"

EXAMPLES = int(os.environ.get("FLOWENGINE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FLOWENGINE_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example],
)

_counter = itertools.count()


def _base(path: Path) -> dict[str, Any]:
    """The app as a value, its ``code:`` made absolute so that a copy anywhere imports the same handlers."""
    app = yaml.safe_load(path.read_text(encoding="utf-8"))
    code = app.get("code", ".")
    app["code"] = str((path.parent / code).resolve())
    return app


BASES = {p.stem: _base(p) for p in BASE_APPS}


def _fresh_dir(tmp_path: Path) -> Path:
    d = tmp_path / f"ex{next(_counter)}"
    d.mkdir()
    return d


def _repo_files() -> set[str]:
    """The repository's files, less caches (.git, .hypothesis, __pycache__ ...)."""
    files = (p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file())
    return {str(rel) for rel in files if not any(part.startswith(".") or part == "__pycache__" for part in rel.parts)}


@pytest.fixture(scope="module", autouse=True)
def _nothing_written_in_the_repo() -> Iterator[None]:
    before = _repo_files()
    yield
    assert _repo_files() - before == set()


class _Stalled(Exception):
    pass


@pytest.fixture(autouse=True)
def _hard_timeout() -> Iterator[None]:
    """The pools hold a FIFO no one writes to and /dev/zero: a regression in the reader would
    block or read for ever.  SIGALRM interrupts even a blocking open(), so the test fails."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def stalled(signum: int, frame: Any) -> None:
        raise _Stalled("the CLI ran for 300 s: a read that never ends?")

    previous = signal.signal(signal.SIGALRM, stalled)
    signal.alarm(300)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def invoke(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI; the exit code, stdout and stderr.  Fails on anything but a clean outcome."""
    try:
        code: Any = main(list(argv))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code
        assert code in (0, 2), f"SystemExit({code!r}) from {list(argv)}"
    captured = capsys.readouterr()
    assert code in (0, 1, 2), f"exit code {code!r} from {list(argv)}\n{captured.err[-2000:]}"
    assert "Traceback" not in captured.err, f"traceback from {list(argv)}:\n{captured.err[-4000:]}"
    return code, captured.out, captured.err


# --------------------------------------------------------------------------------------
# 1. App-file mutations

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _kind(v: Any) -> str:
    return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        root = root[p]
    return root


def _state_bodies(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, body) of every state, at any depth."""
    if isinstance(node, dict):
        states = node.get("States")
        if isinstance(states, dict):
            for name, body in states.items():
                if isinstance(body, dict):
                    yield str(name), body
        for v in node.values():
            yield from _state_bodies(v)
    elif isinstance(node, list):
        for v in node:
            yield from _state_bodies(v)


def _typo(key: str, how: int) -> str:
    if not key:
        return "x"
    if how == 0:
        return key[:-1]
    if how == 1:
        return key + key[-1]
    if how == 2:
        return key.swapcase()
    return key[1:] + key[0]


MUTATIONS = ("delete", "retype", "typo", "next", "jsonpath", "number", "copy_flow")


def mutate(app: dict[str, Any], data: st.DataObject) -> None:
    """Apply one random mutation to the app, in place."""
    kind = data.draw(st.sampled_from(MUTATIONS))
    paths = [p for p in _paths(app) if p]
    if kind == "delete":
        path = data.draw(st.sampled_from(paths))
        del _get(app, path[:-1])[path[-1]]
    elif kind == "retype":
        path = data.draw(st.sampled_from(paths))
        old = _get(app, path)
        new = data.draw(json_values.filter(lambda v: _kind(v) != _kind(old)))
        _get(app, path[:-1])[path[-1]] = new
    elif kind == "typo":
        keyed = [p for p in paths if isinstance(p[-1], str)]
        path = data.draw(st.sampled_from(keyed))
        parent = _get(app, path[:-1])
        new_key = _typo(path[-1], data.draw(st.integers(0, 3)))
        parent[new_key] = parent.pop(path[-1])
    elif kind == "next":
        states = list(_state_bodies(app))
        if not states:
            return
        _, body = data.draw(st.sampled_from(states))
        target = data.draw(st.sampled_from([n for n, _ in states]))
        body["Next"] = target
        if data.draw(st.booleans()):
            body.pop("End", None)
    elif kind == "jsonpath":
        strings = [p for p in paths if isinstance(_get(app, p), str)]
        path = data.draw(st.sampled_from(strings))
        _get(app, path[:-1])[path[-1]] = data.draw(st.sampled_from(["$.[", "$$.[", "$..", "$[?(", "States.Format(", "{% $ %}"]))
    elif kind == "number":
        numbers = [p for p in paths if _kind(_get(app, p)) == "number"]
        if not numbers:
            return
        path = data.draw(st.sampled_from(numbers))
        _get(app, path[:-1])[path[-1]] = data.draw(st.sampled_from([-1, 0, -10**9, 10**12, 10**30, 1e308, 0.5, -0.0]))
    else:  # copy_flow: the app now has several flows, and run needs --flow
        flows = app.get("flows")
        if not isinstance(flows, dict) or not flows:
            return
        name = data.draw(st.sampled_from(sorted(flows, key=str)))
        flows[f"{name}Copy"] = copy.deepcopy(flows[name])


DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON, deeper than any recursion limit (jsonata sets 10,000)
HUGE = "9" * 5000  # more digits than Python converts to an int (4,300)
#: Not JSON, though Python's json module reads (or half-reads) them: NaN and infinities, a number
#: beyond a double, an integer over the digit limit, lone surrogates (escaped, and raw as
#: argv carries undecodable bytes).
NOT_QUITE_JSON = ['{"a": NaN}', "[Infinity, -Infinity]", '{"a": 1e400}', '{"n": ' + HUGE + "}", HUGE,
                  '"\\ud800"', '{"k\\udc00": 1}', '"\udcff"']
INPUTS = ["{}", "[]", '"text"', '"{}"', "null", "42", "{bad", "", "{\"items\": [{\"sku\": \"a\", \"quantity\": 1}]}",
          "@" + str(ORDER_JSON), "@/nonexistent/input.json", '{"orderId": "o-1", "items": "x", "total": "y"}',
          '{"expired": [1, 2]}', "[" * 50, DEEP, *NOT_QUITE_JSON]


def odd_files(d: Path) -> dict[str, str]:
    """Files that are not what an option expects: binary, too deep, not JSON, NaN, a huge
    integer, a lone surrogate, a directory, a FIFO no one writes to, a device without end."""
    contents = {"binary": b"\xff\xfe\x00\x01", "deep": DEEP.encode(), "text": b"not json", "string": b'"s"',
                "run": b'{"path": ["Validate", "Nope"]}', "nan": b'{"a": NaN, "b": Infinity}',
                "huge": b'{"n": ' + HUGE.encode() + b"}", "surrogate": b'{"s": "\\ud800"}'}
    files = {}
    for name, content in contents.items():
        files[name] = str(d / f"{name}.json")
        Path(files[name]).write_bytes(content)
    files["dir"] = str(d)
    if hasattr(os, "mkfifo"):  # opening it for reading would block for ever; reading never ends
        files["fifo"] = str(d / "fifo.json")
        if not os.path.exists(files["fifo"]):
            os.mkfifo(files["fifo"])
    if os.path.exists("/dev/zero"):  # a size of 0, and no end
        files["device"] = "/dev/zero"
    return files

ODD_KINDS = ("binary", "deep", "text", "string", "dir", "nan", "huge", "surrogate", "fifo", "device")

COMMANDS = ("validate", "validate-handlers", "run", "compile", "graph", "graph-out", "scaffold", "scaffold-out",
            "send", "up")


def _event_file(d: Path, which: str) -> str:
    if which in ODD_KINDS:
        odd = odd_files(d)
        return odd.get(which, odd["text"])
    if which == "s3":
        event: Any = payloads.generate("s3-put", bucket="Uploads", key="incoming/report.json")
    elif which == "order":
        event = payloads.generate("eventbridge", source="shop.web", detail_type="OrderPlaced",
                                  detail=ORDER_JSON.read_text(encoding="utf-8"))
    elif which == "schedule":
        event = payloads.generate("schedule")
    else:
        event = {"nothing": True}
    path = d / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return str(path)


def app_argv(d: Path, app_file: str, app: Any, data: st.DataObject) -> list[str]:
    command = data.draw(st.sampled_from(COMMANDS))
    flows = list(app.get("flows") or []) if isinstance(app, dict) and isinstance(app.get("flows"), dict) else []
    flow: list[str] = []
    if len(flows) > 1 or data.draw(st.booleans()):
        choice = data.draw(st.sampled_from([*map(str, flows), "Nope"] if flows else ["Nope"]))
        flow = ["--flow", choice]
    if command == "validate":
        return ["validate", app_file, *data.draw(st.sampled_from([[], ["--format", "json"]]))]
    if command == "validate-handlers":
        return ["validate", "--check-handlers", app_file]
    odd = odd_files(d)
    inputs = [*INPUTS, *("@" + odd[k] for k in ODD_KINDS if k in odd and k != "text")]
    if command == "run":
        return ["run", app_file, "--json", "--input", data.draw(st.sampled_from(inputs)), *flow]
    if command == "compile":
        return ["compile", app_file, "--out", str(d / "out")]
    if command == "graph":
        return ["graph", app_file, *flow, *data.draw(st.sampled_from([[], ["--format", "dot"]]))]
    if command == "graph-out":
        return ["graph", app_file, *flow, "--out", str(d / data.draw(st.sampled_from(["g.md", "g.dot", "g.mmd"]))),
                *data.draw(st.sampled_from([[], ["--input", data.draw(st.sampled_from(inputs))],
                                            ["--path", data.draw(st.sampled_from(list(odd.values())))]]))]
    if command == "scaffold":
        return ["mocks", "scaffold", app_file, *flow]
    if command == "scaffold-out":
        return ["mocks", "scaffold", app_file, *flow, "--out", str(d / data.draw(st.sampled_from(["m.json", "m.yaml"])))]
    if command == "send":
        event = _event_file(d, data.draw(st.sampled_from(["s3", "order", "schedule", "none", *ODD_KINDS])))
        extra = data.draw(st.sampled_from([[], ["--object", str(REPORT_JSON)], ["--advance", "1h"],
                                           ["--object", odd.get("fifo", odd["dir"])],
                                           ["--object", odd.get("device", odd["dir"])]]))
        return ["send", app_file, event, "--fresh", *extra]
    return ["up", app_file, "--virtual", "--duration", "1h"]


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), data=st.data())
def test_mutated_app_files_never_crash(base: str, data: st.DataObject, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    app = copy.deepcopy(BASES[base])
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutate(app, data)
    d = _fresh_dir(tmp_path)
    app_file = d / f"{base}.yaml"
    text = yaml.safe_dump(app, sort_keys=False, allow_unicode=True)
    note(text)
    app_file.write_text(text, encoding="utf-8")
    argv = app_argv(d, str(app_file), app, data)
    invoke(argv, capsys)


# --------------------------------------------------------------------------------------
# 2. Raw text and bytes

_laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
SPECIAL_TEXTS = [
    "", " ", "\t", "\n\n", "\tStartAt: A\n", "StartAt: A\nStates:\n\tA: {Type: Pass, End: true}\n",
    "[" * 5000, "{" * 5000, "- " * 3000 + "x", "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 400)),
    "x: " + "y" * 2_000_000, "[" + "1," * 200_000 + "1]", _laughs, "\ufeff{}", "\x00", "null", "42", "[]", '"s"',
    "!!python/object/apply:os.system [echo hi]", "{StartAt: A, States: {A: {Type: Pass, End: true}}}",
    '{"StartAt": "A", "StartAt": "B", "States": {}}', "StartAt: A\nStates: {A: {Type: Wait, Seconds: 1e400, End: true}}",
    "app: x\nflows: {F: {StartAt: A, States: {A: {Type: Pass, End: true}}}}\nfunctions: [1]\n",
    "app: x\ncode: /nonexistent\nflows: {F: {StartAt: A, States: {A: {Type: Pass, End: true}}}}\n",
    "? [a, b]\n: c\n", "a: !!binary aGVsbG8=\n", "a: 2001-12-14\n", "*undefined", "&a a: *a\n", "%YAML 9.9\n---\n",
    "a: b\n---\nc: d\n", "StartAt: A\nStates: {A: {Type: Pass, End: true}}\n\r\x85\u2028",
    '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": NaN, "End": true}}}',
    '{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": Infinity, "End": true}}}',
    '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": ' + HUGE + ', "End": true}}}',
    '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "\\ud800", "End": true}}}',
    "StartAt: A\nStates: {A: {Type: Wait, Seconds: " + HUGE + ", End: true}}\n",
    "StartAt: A\nStates: {A: {Type: Pass, Result: 1.0e+400, End: true}}\n",
    "StartAt: A\nStates: !!set {A: null}\n", "StartAt: A\nStates: {A: !!python/object:os.X {Type: Pass}}\n",
    "StartAt: A\nStates: {A: {Type: Pass, Result: !!omap [a: 1], End: true}}\n",
    "StartAt: A\nStates: {A: {Type: Pass, Parameters: {'v.$': \"States.StringToJson('" + "[" * 3000 + "')\"}, End: true}}}\n",
]
raw_contents = (
    st.sampled_from(SPECIAL_TEXTS).map(lambda t: t.encode("utf-8"))
    | st.text(max_size=300).map(lambda t: t.encode("utf-8"))
    | st.binary(max_size=300)
    | st.sampled_from([b"\xff\xfe{\x00}\x00", b"\x80abc", b"StartAt: A\x00\n"])
)


@FUZZ
@given(content=raw_contents, suffix=st.sampled_from([".yaml", ".asl.json", ".json", ".yml"]),
       command=st.sampled_from(["validate", "run", "graph"]))
def test_raw_files_never_crash(content: bytes, suffix: str, command: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    f = _fresh_dir(tmp_path) / f"app{suffix}"
    f.write_bytes(content)
    argv = {"validate": ["validate", str(f)], "run": ["run", str(f), "--json"], "graph": ["graph", str(f)]}[command]
    invoke(argv, capsys)


@pytest.mark.parametrize("text", SPECIAL_TEXTS, ids=range(len(SPECIAL_TEXTS)))
def test_special_texts_never_crash(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every hand-picked text, every command and suffix (random draws may miss a few)."""
    for suffix in (".yaml", ".asl.json"):
        f = tmp_path / f"app{suffix}"
        f.write_text(text, encoding="utf-8")
        for argv in (["validate", str(f)], ["run", str(f), "--json"], ["graph", str(f)]):
            invoke(argv, capsys)


# --------------------------------------------------------------------------------------
# 3. `run` options

def _run_options() -> list[tuple[str, bool]]:
    """(flag, takes a value) for every option of `run`, from the parser itself."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    run = sub.choices["run"]  # type: ignore[index]
    options = []
    for action in run._actions:
        for flag in action.option_strings:
            if flag in ("-h", "--help", "--real-time"):  # --real-time would really wait
                continue
            options.append((flag, action.nargs != 0))
    return options


RUN_OPTIONS = _run_options()


@FUZZ
@given(data=st.data())
def test_run_options_never_crash(data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _fresh_dir(tmp_path)
    existing_json = d / "input.json"
    existing_json.write_text('{"orderId": "o-1", "items": [{"sku": "a", "quantity": 1}]}', encoding="utf-8")
    values = [str(existing_json), str(ROOT / "definitions" / "orders.yaml"), str(MOCK_FILE), str(d / "missing.json"),
              "-1", "1x", "{}", '"s"', "Nope", *odd_files(d).values()]
    apps = [str(p) for p in BASE_APPS] + [str(d / "missing.yaml"), "{}"]
    argv = ["run", data.draw(st.sampled_from(apps))]
    chosen = data.draw(st.lists(st.sampled_from(RUN_OPTIONS), max_size=6, unique=True))
    flags = {flag for flag, _ in chosen}
    for flag, takes_value in chosen:
        if flag == "--stack-name" and flags & {"--remote", "--aws"}:
            continue  # with a stack name, --remote/--aws would reach for AWS: keep them usage errors
        argv.append(flag)
        if takes_value:
            argv.append(data.draw(st.sampled_from(values)))
    invoke(argv, capsys)


# --------------------------------------------------------------------------------------
# Regressions found by the fuzzing above

def test_yaml_alias_bomb_is_a_located_error_not_a_memory_error(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Aliases of aliases ("billion laughs") expanded 9**9 values and ran out of memory."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_laughs, encoding="utf-8")
    assert invoke(["validate", str(bomb)], capsys)[0] == 1
    assert invoke(["run", str(bomb)], capsys)[0] == 2
    err = invoke(["graph", str(bomb)], capsys)[2]
    assert f"{bomb}:1:" in err and "FE106 YAML aliases expand to more values than the file has characters" in err


def test_yaml_anchors_that_stay_small_still_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.yaml"
    app.write_text("app: a\nflows:\n  F:\n    StartAt: A\n    States:\n"
                   "      A: {Type: Pass, Result: &r {x: [1, 2, 3]}, Next: B}\n"
                   "      B: {Type: Pass, Result: *r, End: true}\n", encoding="utf-8")
    code, out, _ = invoke(["run", str(app), "--json"], capsys)
    assert code == 0 and json.loads(out)["output"] == {"x": [1, 2, 3]}


SCHEDULED_PASS = ("app: s\nflows:\n  F:\n    StartAt: A\n    States:\n      A: {Type: Pass, End: true}\n"
                  "triggers:\n  - {name: T, schedule: rate(1 hour), start: F}\n")


@pytest.mark.parametrize("command", ["run", "send"])
def test_an_event_that_is_a_json_string_is_a_usage_error(command: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """'"s"' parsed to the string s, which the runtime parsed again as JSON: JSONDecodeError."""
    app = tmp_path / "app.yaml"
    app.write_text(SCHEDULED_PASS, encoding="utf-8")
    argv = ["run", str(app), "--event", '"s"'] if command == "run" else ["send", str(app), '"s"', "--fresh"]
    code, _, err = invoke(argv, capsys)
    assert code == 2 and f"flowengine {command}: an event is a JSON object" in err


def test_a_string_event_sent_to_a_flow_trigger_is_its_input(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The flow's input was parsed a second time: 'internal error in the runtime', no execution."""
    app = tmp_path / "app.yaml"
    app.write_text(SCHEDULED_PASS, encoding="utf-8")
    code, out, _ = invoke(["run", str(app), "--event", '"s"', "--trigger", "T", "--json"], capsys)
    assert code == 0 and json.loads(out)["output"] == "s"


def test_graph_draws_fields_of_the_wrong_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Type or Next that is not a string crashed the drawing (unhashable list, None + str)."""
    app = tmp_path / "app.yaml"
    app.write_text("app: g\nflows:\n  F:\n    StartAt: A\n    States:\n"
                   "      A: {Type: [Pass], Next: [B]}\n      B: {Type: null, End: true}\n"
                   "      C: {Type: Choice, Choices: [{Comment: 7, Next: 5}], Default: {x: 1}}\n", encoding="utf-8")
    for fmt in ("mermaid", "dot"):
        code, out, _ = invoke(["graph", str(app), "--format", fmt], capsys)
        assert code == 0 and "no such state" in out and "null" in out


def test_unparsable_inputs_and_events_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nesting deeper than the recursion limit (RecursionError) and binary files (UnicodeDecodeError)."""
    odd = odd_files(tmp_path)
    app, orders = str(ROOT / "examples" / "tests" / "apps" / "stock.yaml"), str(ROOT / "definitions" / "orders.yaml")
    cases = [
        (["run", app, "--input", DEEP], "flowengine run: --input is nested too deeply to parse"),
        (["run", app, "--input", "@" + odd["deep"]], f"flowengine run: --input {odd['deep']}: nested too deeply"),
        (["run", orders, "--event", odd["deep"]], "flowengine run: the event is nested too deeply to parse"),
        (["run", orders, "--event", odd["binary"]], f"flowengine run: the event in {odd['binary']} is not UTF-8 text"),
        (["send", orders, odd["binary"], "--fresh"], f"flowengine send: the event in {odd['binary']} is not UTF-8"),
        (["send", orders, DEEP, "--fresh"], "flowengine send: the event is nested too deeply to parse"),
        (["graph", app, "--input", DEEP], "flowengine graph: --input is nested too deeply to parse"),
        (["graph", app, "--input", "@" + odd["binary"]], f"flowengine graph: --input {odd['binary']}: not a text file"),
        (["graph", app, "--path", odd["deep"]], f"flowengine graph: {odd['deep']}: nested too deeply to parse"),
    ]
    for argv, message in cases:
        code, _, err = invoke(argv, capsys)
        assert (code, err.strip().splitlines()[-1][:len(message)]) == (2, message), argv


def test_the_engine_refuses_input_text_nested_too_deeply() -> None:
    from flowengine.errors import ExecutionInputError
    from flowengine.testing import run_flow

    with pytest.raises(ExecutionInputError, match="nested too deeply"):
        run_flow(str(ROOT / "examples" / "tests" / "apps" / "stock.yaml"), input=DEEP)

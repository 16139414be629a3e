"""Hostile files and JSON (issue 11): devices, FIFOs, files that never end, NaN/Infinity,
huge integers, lone surrogates and YAML tags on collections are refused with a located,
one-line error, never a traceback, a hang or a MemoryError.

Anything that could hang runs in a subprocess under a hard timeout, so a regression fails
instead of stalling the suite.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowengine.cli import main
from flowengine.dsl import files
from flowengine.dsl.app import load, loads
from flowengine.errors import LoadError

PASS = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def cli_subprocess(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, killed (and the test failed) if it runs 60 s."""
    return subprocess.run([sys.executable, "-m", "flowengine.cli", *argv], capture_output=True, text=True,
                          timeout=60, **kw)


# -- the shared reader ----------------------------------------------------------------------


@needs_dev_zero
def test_a_device_is_refused_before_it_is_read() -> None:
    with pytest.raises(files.FileProblem) as info:
        files.read_bytes("/dev/zero")
    assert (info.value.code, info.value.problem) == ("FE101", "is a character device, not a regular file")


@needs_fifo
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "app.yaml"
    os.mkfifo(fifo)
    # No writer ever opens it: a plain open() would block for ever, reading would never end.
    proc = cli_subprocess(["validate", str(fifo)])
    assert proc.returncode == 2
    assert f"{fifo}:1:1: FE101 is a FIFO (named pipe), not a regular file" in proc.stdout


def test_the_bytes_read_are_capped_not_the_size_reported(tmp_path: Path) -> None:
    """getsize() is 0 for /proc files and devices: the cap is on what is read."""
    proc_file = Path("/proc/self/status")
    if proc_file.exists():
        assert os.path.getsize(proc_file) == 0
        with pytest.raises(files.FileProblem) as info:
            files.read_bytes(proc_file, limit=16)
        assert info.value.code == "FE103"
    small = tmp_path / "small.json"
    small.write_bytes(b"x" * 17)
    with pytest.raises(files.FileProblem, match="FE103|the limit is 16 bytes"):
        files.read_bytes(small, limit=16)
    assert files.read_bytes(small, limit=17) == b"x" * 17


def test_standard_input_is_capped_too() -> None:
    with pytest.raises(files.FileProblem) as info:
        files.read_stream(io.BytesIO(b"{" * 33), limit=32)
    assert info.value.code == "FE103"
    assert files.read_stream(io.BytesIO(b"{}"), limit=32) == b"{}"


@needs_dev_zero
@pytest.mark.parametrize("argv", [
    ["validate", "/dev/zero"],
    ["run", "{app}", "--input", "@/dev/zero"],
    ["run", "{app}", "--event", "/dev/zero"],
    ["send", "{app}", "/dev/zero", "--fresh"],
    ["send", "{app}", "{event}", "--fresh", "--object", "/dev/zero"],
    ["run", "{app}", "--mock", "/dev/zero", "--test-case", "T"],
    ["graph", "{app}", "--path", "/dev/zero"],
    ["graph", "{app}", "--input", "@/dev/zero"],
])
def test_every_option_that_reads_a_file_refuses_a_device(argv: list[str], tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text("app: a\nresources:\n  Uploads: {type: bucket}\nflows:\n  F:\n    StartAt: A\n    States:\n"
                   "      A: {Type: Pass, End: true}\n"
                   "triggers:\n  - {name: T, bucket: Uploads, start: F}\n", encoding="utf-8")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                              "s3": {"bucket": {"name": "Uploads"}, "object": {"key": "k"}}}]}))
    argv = [a.format(app=app, event=event) for a in argv]
    proc = cli_subprocess(argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "character device, not a regular file" in proc.stdout + proc.stderr


# -- strict JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, message, col", [
    ('{"a": NaN}', "NaN is not a JSON number", 7),
    ('{"a": [1, -Infinity]}', "-Infinity is not a JSON number", 11),
    ('{"a": "NaN", "b": Infinity}', "Infinity is not a JSON number", 19),
    ('{"a": 1e400}', "the number 1e400 is out of range", 7),
    ("[" + "9" * 400 + ", 1e400]", "the number 1e400 is out of range", 404),  # a long integer is no float
    ('{"a": ' + "9" * 5000 + "}", "an integer of 5000 digits is too large (at most 4300 digits)", 7),
    ('{"a": "x\\ud800"}', "a lone surrogate (\\ud800) is not Unicode text", 9),
    ('{"a": "\\udc00\\ud83d\\ude00"}', "a lone surrogate (\\udc00)", 8),
    ('["\\ud83d\\ude00", "\\ud800x"]', "a lone surrogate (\\ud800)", 19),
    ('{"a": "\udcff"}', "a lone surrogate (U+DCFF) is not Unicode text", 8),
])
def test_strict_json_refuses_what_is_not_json(text: str, message: str, col: int) -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        files.loads(text)
    assert info.value.msg.startswith(message)
    assert (info.value.lineno, info.value.colno) == (1, col)


def test_strict_json_keeps_what_is_json() -> None:
    text = '{"a": "\\ud83d\\ude00 \\\\ud800 NaN", "b": 1e308, "c": -0, "d": ' + "9" * 4300 + "}"
    value = files.loads(text)
    assert value["a"] == "\U0001F600 \\ud800 NaN" and value["b"] == 1e308 and len(str(value["d"])) == 4300


def test_a_definition_with_nan_or_a_huge_integer_is_a_located_load_error(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name, result in (("nan", "NaN"), ("big", "9" * 5000), ("inf", "Infinity")):
        f = tmp_path / f"{name}.asl.json"
        f.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": ' + result + ', "End": true}}}')
        code, _, _ = cli(["validate", str(f)], capsys)
        assert code == 1
        code, _, err = cli(["run", str(f)], capsys)
        assert code == 2 and f"{f}:1:61: FE105 malformed JSON" in err
        code, _, err = cli(["compile", str(f), "--out", str(tmp_path / "out")], capsys)
        assert code == 2 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("given, message", [
    ('{"a": NaN}', "--input is not JSON: NaN is not a JSON number"),
    ('{"a": ' + "1" * 4301 + "}", "--input is not JSON: an integer of 4301 digits is too large"),
    ('"\\ud800"', "--input is not JSON: a lone surrogate (\\ud800) is not Unicode text"),
])
def test_inputs_that_are_not_json_are_usage_errors(given: str, message: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "f.asl.json"
    f.write_text(PASS)
    code, _, err = cli(["run", str(f), "--input", given], capsys)
    assert code == 2 and err.startswith(f"flowengine run: {message}")
    (tmp_path / "input.json").write_text(given)
    code, _, err = cli(["run", str(f), "--input", "@" + str(tmp_path / "input.json")], capsys)
    assert code == 2 and "not JSON: " + message.split("not JSON: ")[1] in err


def test_events_that_are_not_json_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.yaml"
    app.write_text("app: s\nflows:\n  F:\n    StartAt: A\n    States:\n      A: {Type: Pass, End: true}\n"
                   "triggers:\n  - {name: T, schedule: rate(1 hour), start: F}\n", encoding="utf-8")
    for event in ('{"detail": {"a": NaN}}', '{"detail": "\\udfff"}', '{"n": ' + "7" * 5000 + "}"):
        for argv in (["run", str(app), "--event", event], ["send", str(app), event, "--fresh"]):
            code, _, err = cli(argv, capsys)
            assert code == 2 and "the event is neither a JSON document nor a readable file" in err, (argv, err)


# -- YAML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, tag", [
    ("StartAt: A\nStates:\n  A: !!set {Type: Pass, End: true}\n", "!!set"),
    ("StartAt: A\nStates: !!python/object:os.Foo\n  A: {Type: Pass, End: true}\n", "!!python/object:os.Foo"),
    ("StartAt: A\nStates:\n  A: {Type: Pass, Result: !!omap [a: 1], End: true}\n", "!!omap"),
    ("StartAt: A\nStates:\n  A: {Type: Pass, Result: !custom [1], End: true}\n", "!custom"),
])
def test_yaml_tags_on_mappings_and_sequences_are_refused(text: str, tag: str) -> None:
    with pytest.raises(LoadError) as info:
        loads(text, "f.yaml")
    [d] = info.value.diagnostics
    assert (d.code, d.message) == ("FE108", f"YAML tag '{tag}' is not allowed")


@pytest.mark.parametrize("number, message", [
    ("9" * 5000, "an integer of 5000 digits is too large (at most 4300 digits)"),
    ("1.0e+400", "the number '1.0e+400' is out of range (larger than a double)"),
    (".nan", "'.nan' is not a JSON number"),
    ("-.inf", "'-.inf' is not a JSON number"),
])
def test_yaml_numbers_json_cannot_hold_are_refused(number: str, message: str) -> None:
    with pytest.raises(LoadError) as info:
        loads(f"StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {number}\n    End: true\n", "f.yaml")
    [d] = info.value.diagnostics
    assert (d.code, d.message, d.span.line, d.span.col) == ("FE108", message, 5, 13)


def test_plain_yaml_collections_still_load(tmp_path: Path) -> None:
    f = tmp_path / "f.asl.yaml"
    f.write_text("StartAt: A\nStates:\n  A: !!map {Type: Pass, Result: !!seq [1, 2], End: true}\n")
    assert load(f).app.flows["f"].asl["States"]["A"]["Result"] == [1, 2]


# -- definition_file ------------------------------------------------------------------------


def _definition_file_app(tmp_path: Path, given: str) -> Path:
    app = tmp_path / "app" / "app.yaml"
    app.parent.mkdir(exist_ok=True)
    app.write_text(f"app: x\nflows:\n  F:\n    definition_file: {given}\n", encoding="utf-8")
    return app


@pytest.mark.parametrize("given", ["/etc/passwd", "../secret.asl.json", "sub/../../secret.asl.json", "link.asl.json"])
def test_definition_file_is_confined_to_the_app_directory(given: str, tmp_path: Path) -> None:
    from flowengine.validate import validate_app

    secret = tmp_path / "secret.asl.json"
    secret.write_text('{"s3cr3t:*:19000:0:99999:7:::": 1}')
    app = _definition_file_app(tmp_path, given)
    (app.parent / "link.asl.json").symlink_to(secret)
    diags = validate_app(load(app))
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("FE110", 4, 22)]
    assert diags[0].message == f"definition_file '{given}' is outside the app's directory"
    assert "s3cr3t" not in diags[0].format()


def test_a_definition_file_that_is_no_definition_is_not_echoed(tmp_path: Path) -> None:
    from flowengine.validate import validate_app

    app = _definition_file_app(tmp_path, "notes.yaml")
    (app.parent / "notes.yaml").write_text("s3cr3t: '*:19000:0:99999:7:::'\ndaemon: x\n")
    diags = validate_app(load(app))
    assert [d.code for d in diags] == ["FE111"]
    assert "s3cr3t" not in diags[0].format() and "19000" not in diags[0].format()


def test_a_definition_file_inside_the_app_directory_loads(tmp_path: Path) -> None:
    app = _definition_file_app(tmp_path, "flows/f.asl.json")
    (app.parent / "flows").mkdir()
    (app.parent / "flows" / "f.asl.json").write_text(PASS)
    assert load(app).app.flows["F"].definition.start_at == "A"


@needs_fifo
def test_a_definition_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    app = _definition_file_app(tmp_path, "pipe.asl.json")
    os.mkfifo(app.parent / "pipe.asl.json")
    proc = cli_subprocess(["validate", str(app)])
    assert proc.returncode == 1, proc.stdout + proc.stderr  # a problem of the app, as a missing definition_file
    assert "app.yaml:4:22: FE101 definition_file 'pipe.asl.json': is a FIFO (named pipe), not a regular file" in proc.stdout


@needs_fifo
def test_a_handler_module_that_is_a_fifo_does_not_block_validate(tmp_path: Path) -> None:
    """validate checks handlers by reading their source: a FIFO there blocked open() for ever."""
    (tmp_path / "code").mkdir()
    os.mkfifo(tmp_path / "code" / "mod.py")
    app = tmp_path / "app.yaml"
    app.write_text("app: h\ncode: code\nfunctions:\n  F: {handler: mod.h}\n"
                   "flows:\n  Main:\n    StartAt: Call\n    States:\n      Call: {Type: Task, Function: F, End: true}\n")
    proc = cli_subprocess(["validate", "--check-handlers", str(app)])
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr

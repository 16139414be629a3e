"""The broken-input corpus: every file under broken/ gives its diagnostic, code and place.

Each row is (file, code, line, col): the diagnostic must be among what ``validate_path``
reports for the file.  The files are small on purpose; open one next to its row to see
the fault.  The inputs that cannot live in the repository (a 50 MB file, binary data,
deep nesting, a missing path) are made in ``tmp_path``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowengine.validate import validate_path

BROKEN = Path(__file__).parent / "broken"

ASL = [
    # graph
    ("next_missing.asl.json", "FE302", 4, 35),
    ("next_missing.asl.json", "FE303", 5, 5),
    ("next_missing.asl.yaml", "FE302", 6, 11),
    ("default_missing.asl.json", "FE302", 7, 18),
    ("catch_next_missing.asl.json", "FE302", 7, 57),
    ("unreachable.asl.json", "FE303", 5, 5),
    ("startat_missing.asl.json", "FE202", 1, 1),
    ("startat_unknown.asl.json", "FE301", 2, 14),
    ("loop_no_terminal.asl.json", "FE306", 3, 3),
    ("loop_no_exit.asl.json", "FE304", 9, 5),
    ("branch_next_outside.asl.json", "FE305", 7, 69),
    ("duplicate_across_scopes.asl.json", "FE307", 8, 20),
    # structure
    ("no_next_no_end.asl.json", "FE206", 4, 5),
    ("end_and_next.asl.json", "FE205", 4, 40),
    ("unknown_type.asl.json", "FE204", 4, 19),
    ("unknown_field.asl.json", "FE201", 4, 27),
    ("unknown_field.asl.yaml", "FE201", 5, 5),
    ("field_typo.asl.json", "FE201", 4, 27),
    ("fail_with_next.asl.json", "FE207", 4, 44),
    ("succeed_with_end.asl.yaml", "FE207", 5, 5),
    ("choice_next_field.asl.json", "FE207", 7, 7),
    ("task_no_resource.asl.json", "FE202", 4, 5),
    ("function_in_plain_asl.asl.yaml", "FE202", 3, 3),
    ("function_in_plain_asl.asl.yaml", "FE201", 5, 5),
    ("resource_not_arn.asl.json", "FE213", 4, 39),
    ("map_no_processor.asl.json", "FE202", 4, 5),
    ("map_iterator_unknown.asl.yaml", "FE212", 8, 15),
    ("parallel_empty.asl.yaml", "FE202", 5, 15),
    ("querylanguage_bad.asl.json", "FE208", 2, 20),
    ("wrong_type_field.asl.json", "FE203", 4, 34),
    ("duration_in_plain_asl.asl.yaml", "FE203", 5, 14),
    ("heartbeat_path_both.asl.json", "FE205", 8, 7),
    ("catch_no_next.asl.yaml", "FE202", 7, 9),
    # choice
    ("operator_typo.asl.json", "FE201", 6, 39),
    ("choice_rule_no_next.asl.json", "FE222", 6, 19),
    ("choice_no_variable.asl.json", "FE221", 6, 19),
    ("choice_nested_next.asl.json", "FE223", 7, 57),
    ("choice_wrong_value_type.asl.json", "FE224", 6, 56),
    ("choice_bad_timestamp.asl.json", "FE225", 6, 63),
    ("jsonata_condition_missing.asl.json", "FE228", 7, 19),
    ("choices_empty.asl.yaml", "FE229", 5, 14),
    # expressions
    ("inputpath_bad.asl.json", "FE401", 4, 40),
    ("resultpath_wildcard.asl.json", "FE402", 4, 41),
    ("resultpath_filter.asl.json", "FE402", 4, 41),
    ("resultpath_context.asl.json", "FE410", 4, 41),
    ("intrinsic_unknown.asl.json", "FE403", 6, 30),
    ("intrinsic_arity.asl.json", "FE404", 6, 31),
    ("intrinsic_syntax.asl.json", "FE405", 6, 31),
    ("dollar_key_literal.asl.json", "FE407", 6, 32),
    ("jsonata_syntax.asl.json", "FE406", 5, 37),
    ("jsonata_condition_bad.asl.yaml", "FE406", 7, 20),
    ("output_in_jsonpath.asl.json", "FE408", 4, 27),
    ("parameters_in_jsonata.asl.json", "FE409", 5, 27),
    # retry, catch, ranges
    ("interval_zero.asl.json", "FE505", 7, 75),
    ("backoff_below_one.asl.json", "FE503", 7, 71),
    ("max_attempts_negative.asl.json", "FE504", 7, 71),
    ("max_delay_range.asl.json", "FE506", 7, 75),
    ("jitter_bad.asl.json", "FE507", 7, 74),
    ("retry_all_not_last.asl.json", "FE502", 8, 26),
    ("catch_all_not_alone.asl.json", "FE502", 7, 52),
    ("heartbeat_ge_timeout.asl.json", "FE508", 8, 27),
    ("timeout_zero.asl.json", "FE510", 7, 25),
    ("wait_two_fields.asl.json", "FE509", 4, 41),
    ("wait_none.asl.json", "FE509", 4, 5),
    ("wait_negative.asl.json", "FE511", 4, 38),
    ("wait_bad_timestamp.asl.json", "FE511", 4, 40),
    ("map_concurrency_negative.asl.json", "FE512", 6, 25),
    ("states_error_typo.asl.json", "FE513", 7, 34),
]

APP = [
    ("missing_function.yaml", "FE610", 11, 19),
    ("placeholder_unknown.yaml", "FE611", 12, 21),
    ("trigger_missing_flow.yaml", "FE613", 11, 12),
    ("trigger_missing_resource.yaml", "FE612", 10, 13),
    ("trigger_wrong_kind.yaml", "FE612", 7, 13),
    ("trigger_two_sources.yaml", "FE614", 9, 5),
    ("trigger_no_target.yaml", "FE615", 5, 5),
    ("trigger_two_targets.yaml", "FE615", 13, 5),
    ("schedule_bad_rate.yaml", "FE616", 8, 15),
    ("schedule_bad_cron.yaml", "FE616", 8, 15),
    ("schedule_bad_at.yaml", "FE616", 8, 15),
    ("event_loop_function.yaml", "FE618", 10, 5),
    ("event_loop_chain.yaml", "FE618", 13, 5),
    ("event_loop_flow_s3.yaml", "FE618", 17, 5),
    ("event_loop_filtered.yaml", "FE618", 9, 5),
    ("express_sync.yaml", "FE617", 9, 19),
    ("handler_form.yaml", "FE605", 4, 14),
    ("unknown_function_key.yaml", "FE601", 5, 5),
    ("bad_duration.yaml", "FE606", 5, 14),
    ("memory_range.yaml", "FE607", 5, 13),
    ("unknown_resource_type.yaml", "FE604", 3, 17),
    ("writes_missing_resource.yaml", "FE619", 7, 14),
    ("no_app_name.yaml", "FE602", 1, 1),
    ("unknown_top_level.yaml", "FE601", 2, 1),
    ("flow_key_typo.yaml", "FE601", 4, 5),
    ("flow_key_typo.yaml", "FE202", 4, 5),
    ("runtime_unknown.yaml", "FE604", 3, 12),
    ("rollout_bad.yaml", "FE623", 5, 14),
    ("name_not_logical_id.yaml", "FE608", 3, 3),
    ("asl_error_in_app.yaml", "FE503", 14, 26),
    ("asl_error_in_app.yaml", "FE203", 18, 18),
]

HANDLERS = [
    ("handler_missing_module.yaml", "FE620", 5, 14),
]


def _found(path: Path, *, check_handlers: bool = False) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.col) for d in validate_path(str(path), check_handlers=check_handlers)]


@pytest.mark.parametrize(("name", "code", "line", "col"), ASL, ids=[f"{r[0]}-{r[1]}" for r in ASL])
def test_broken_asl(name: str, code: str, line: int, col: int) -> None:
    assert (code, line, col) in _found(BROKEN / "asl" / name)


@pytest.mark.parametrize(("name", "code", "line", "col"), APP, ids=[f"{r[0]}-{r[1]}" for r in APP])
def test_broken_app(name: str, code: str, line: int, col: int) -> None:
    assert (code, line, col) in _found(BROKEN / "app" / name)


@pytest.mark.parametrize(("name", "code", "line", "col"), HANDLERS, ids=[r[0] for r in HANDLERS])
def test_broken_handlers(name: str, code: str, line: int, col: int) -> None:
    assert (code, line, col) in _found(BROKEN / "app" / name, check_handlers=True)


def test_every_broken_file_has_a_row() -> None:
    listed = {("asl", r[0]) for r in ASL} | {("app", r[0]) for r in APP + HANDLERS}
    on_disk = {(p.parent.name, p.name) for p in BROKEN.glob("*/*") if p.is_file() and p.suffix != ".py"}
    assert on_disk == listed


def test_the_corpus_is_large() -> None:
    files = {r[0] for r in ASL + APP + HANDLERS}
    assert len(files) + len(BAD_INPUTS) >= 70


def test_filtered_event_loop_is_a_warning_unfiltered_an_error() -> None:
    filtered = [d for d in validate_path(str(BROKEN / "app" / "event_loop_filtered.yaml")) if d.code == "FE618"]
    unfiltered = [d for d in validate_path(str(BROKEN / "app" / "event_loop_function.yaml")) if d.code == "FE618"]
    assert [d.severity for d in filtered] == ["warning"]
    assert [d.severity for d in unfiltered] == ["error"]
    assert "Images (bucket) → MakeThumbnail (function) → Images (bucket)" in unfiltered[0].message


def test_statelint_misses_are_ours_with_a_state_path_and_hint() -> None:
    for name in ("task_no_resource.asl.json", "retry_all_not_last.asl.json", "heartbeat_ge_timeout.asl.json",
                 "jsonata_syntax.asl.json"):
        diags = validate_path(str(BROKEN / "asl" / name))
        assert diags and all(d.state_path and d.hint for d in diags), name


# --- inputs that cannot be loaded ---------------------------------------------------------------

def _write(tmp: Path, name: str, data: bytes | str) -> Path:
    p = tmp / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


BAD_INPUTS = {
    "malformed_yaml": ("bad.yaml", "app: demo\nflows: [unclosed\n", "FE105", 2, 8),  # at the unclosed [
    "malformed_json": ("bad.asl.json", '{"StartAt": "A",\n "States": {"A": }\n}', "FE105", 2, 18),
    "tab_indent": ("tab.yaml", "app: demo\nfunctions:\n\tWork: {handler: a.b}\n", "FE105", 3, 1),
    "wrong_top_level": ("list.yaml", "- StartAt: A\n- States: {}\n", "FE109", 1, 1),
    "scalar_top_level": ("scalar.json", '"just a string"', "FE109", 1, 1),
    "empty": ("empty.yaml", "", "FE104", 1, 1),
    "whitespace_only": ("blank.asl.json", "  \n\n ", "FE104", 1, 1),
    "binary": ("bin.asl.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "FE102", 1, 1),
    "not_utf8": ("latin1.yaml", "app: caf\xe9\n".encode("latin-1"), "FE102", 1, 1),
    "duplicate_key": ("dup.asl.json", ('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true},\n'
                                       '"A": {"Type": "Pass", "End": true}}}'), "FE107", 2, 1),
    "yaml_tag": ("tag.yaml", "app: !!python/object:os.system demo\n", "FE108", 1, 6),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input(tmp_path: Path, case: str) -> None:
    name, data, code, line, col = BAD_INPUTS[case]
    assert (code, line, col) in _found(_write(tmp_path, name, data))


def test_missing_path(tmp_path: Path) -> None:
    diags = validate_path(str(tmp_path / "nope.yaml"))
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("FE101", 1, 1)]


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    assert [d.code for d in validate_path(str(tmp_path))] == ["FE101"]


def test_fifty_megabytes_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "huge.asl.json"
    with open(big, "wb") as fh:  # a valid-looking JSON prefix, then 50 MB of padding
        fh.write(b'{"Comment": "')
        fh.truncate(50 * 1024 * 1024)
    real_open = open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert Path(file) != big, "the file was opened: the size limit must refuse it first"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    diags = validate_path(str(big))
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("FE103", 1, 1)]


@pytest.mark.parametrize(("suffix", "depth"), [("json", 5000), ("yaml", 300)])
def test_deeply_nested(tmp_path: Path, suffix: str, depth: int) -> None:
    # (libyaml itself stops at 1000 flow levels, which the loader reports as FE105)
    if suffix == "json":
        text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": ' + "[" * depth + "]" * depth + ', "End": true}}}'
    else:
        text = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n    Result: " + "[" * depth + "]" * depth + "\n"
    diags = validate_path(str(_write(tmp_path, f"deep.asl.{suffix}", text)))
    assert [d.code for d in diags] == ["FE106"]


def test_deeply_nested_dict_definition_does_not_raise() -> None:
    from flowengine.validate import validate_definition

    value: object = 1
    for _ in range(20000):
        value = {"a": value}
    diags = validate_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": value, "End": True}}})
    assert all(d.severity != "error" for d in diags) or all(d.code == "FE106" for d in diags)


def test_clean_definition_has_no_diagnostics(tmp_path: Path) -> None:
    ok = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}
    assert validate_path(str(_write(tmp_path, "ok.asl.json", json.dumps(ok)))) == []

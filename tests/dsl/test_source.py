"""Loading YAML and JSON with positions; refusing what is not plain data."""

from __future__ import annotations

import pytest

from flowengine.dsl.source import load_file, load_text
from flowengine.errors import LoadError


def _codes(exc: LoadError) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.col) for d in exc.diagnostics]


def test_yaml_values_and_positions() -> None:
    src = load_text("a: 1\nb:\n  - x: yes\n    y: 2.5\nc: 2024-01-01\n", "f.yaml")
    assert src.value == {"a": 1, "b": [{"x": "yes", "y": 2.5}], "c": "2024-01-01"}
    assert (src.span(("b", 0, "y")).line, src.span(("b", 0, "y")).col) == (4, 8)
    assert (src.key_span(("b", 0, "y")).line, src.key_span(("b", 0, "y")).col) == (4, 5)


def test_json_positions_are_computed_lazily_and_survive_tabs() -> None:
    src = load_text('{"a":\n\t{"b": [1, 2]}}', "f.json")
    assert src.value == {"a": {"b": [1, 2]}}
    span = src.span(("a", "b", 1))
    assert (span.line, span.col) == (2, 12)


def test_unknown_pointer_falls_back_to_nearest_ancestor() -> None:
    src = load_text("a:\n  b: 1\n", "f.yaml")
    assert src.span(("a", "missing", 3)).line == 2


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("a: 1\na: 2\n", "x.yaml", ("FE107", 2, 1)),
        ('{"a": 1, "a": 2}', "x.json", ("FE107", 1, 10)),
        ("a:\n\tb: 1\n", "x.yaml", ("FE105", 2, 1)),
        ("a: [1\n", "x.yaml", ("FE105", 1, 4)),  # the unclosed bracket, not the end of the file
        ('{"a": }', "x.json", ("FE105", 1, 7)),
        ("", "x.yaml", ("FE104", 1, 1)),
        ("   \n", "x.json", ("FE104", 1, 1)),
        ("!!python/object:os.system x", "x.yaml", ("FE108", 1, 1)),
        ("a: &x 1\nb:\n  <<: {c: 1}\n", "x.yaml", ("FE108", 3, 3)),
        ("a: .inf\n", "x.yaml", ("FE108", 1, 4)),
        ("a: 1\n---\nb: 2\n", "x.yaml", ("FE105", 1, 1)),
    ],
)
def test_bad_text_gets_a_located_error(text: str, name: str, expected: tuple[str, int, int]) -> None:
    with pytest.raises(LoadError) as info:
        load_text(text, name)
    assert expected in _codes(info.value)


def test_yaml_booleans_are_json_booleans_only() -> None:
    # YAML 1.1 reads yes/no/on/off as booleans; ASL means the text.
    assert load_text("a: yes\nb: on\nc: true\n", "x.yaml").value == {"a": "yes", "b": "on", "c": True}


def test_missing_binary_and_oversized_files(tmp_path) -> None:
    with pytest.raises(LoadError) as info:
        load_file(str(tmp_path / "nope.yaml"))
    assert _codes(info.value)[0][0] == "FE101"
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(LoadError) as info:
        load_file(str(binary))
    assert _codes(info.value)[0][0] == "FE102"
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(LoadError) as info:
        load_file(str(big))
    assert _codes(info.value)[0][0] == "FE103"


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(LoadError) as info:
        load_text("[" * 5000 + "]" * 5000, "deep.json")
    assert _codes(info.value)[0][0] in ("FE106", "FE105")
    with pytest.raises(LoadError) as info:
        load_text("a:\n" + "".join("  " * i + "- \n" for i in range(1, 400)), "deep.yaml")
    assert _codes(info.value)[0][0] in ("FE106", "FE105")

"""Every shipped app and every test app compiles, passes the offline checks, matches its
reviewed golden output, and keeps each flow's ASL exactly as the local engine runs it.

Update the goldens after a reviewed change with ``FLOWENGINE_UPDATE_GOLDEN=1 pytest tests/compile``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from flowengine.compile import check_template, compile_app
from flowengine.dsl.app import load

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GOLDEN_DIR = HERE / "golden"
UPDATE = os.environ.get("FLOWENGINE_UPDATE_GOLDEN") == "1"


def app_files() -> list[Path]:
    """Every shipped definition plus the compile tests' own apps."""
    return sorted((REPO / "definitions").glob("*.yaml")) + sorted((HERE / "apps").glob("*.yaml"))


@pytest.fixture(params=app_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def app_path(request: pytest.FixtureRequest) -> Path:
    return request.param  # type: ignore[no-any-return]


def golden_dir(path: Path) -> Path:
    return GOLDEN_DIR / path.stem


def test_there_is_something_to_compile() -> None:
    names = {p.stem for p in app_files()}
    assert {"upload-pipeline", "orders", "nightly-cleanup", "kitchen-sink"} <= names


def test_compiles_without_errors(app_path: Path) -> None:
    compiled = compile_app(load(str(app_path)))
    assert compiled.template["Transform"] == "AWS::Serverless-2016-10-31"
    assert set(compiled.state_machines) == set(compiled.app.flows)
    assert not [w for w in compiled.warnings if w.severity == "error"]


def test_passes_sam_transform_and_cfn_lint(app_path: Path) -> None:
    compiled = compile_app(load(str(app_path)))
    assert check_template(compiled.template) == []


def test_asl_is_exactly_what_the_local_engine_runs(app_path: Path, tmp_path: Path) -> None:
    loaded = load(str(app_path))
    compiled = compile_app(loaded)
    written = compiled.write(tmp_path)
    for name, flow in loaded.app.flows.items():
        assert compiled.state_machines[name] == flow.asl
        assert compiled.template["Resources"][name]["Properties"]["Definition"] == flow.asl
        on_disk = json.loads((tmp_path / "statemachines" / f"{name}.asl.json").read_text())
        assert on_disk == flow.asl
        # the same key order too: the file is the definition as written, not a re-sorted copy
        assert list(on_disk["States"]) == list(flow.asl["States"])
    assert tmp_path / "template.yaml" in written


def test_matches_golden(app_path: Path) -> None:
    compiled = compile_app(load(str(app_path)))
    target = golden_dir(app_path)
    if UPDATE:
        compiled.write(target, force=True)
    files = compiled.files(target)
    on_disk = {str(p.relative_to(target)): p.read_text(encoding="utf-8")
               for p in sorted(target.rglob("*")) if p.is_file() and p.name != ".flowengine-manifest.json"}
    assert on_disk, f"no golden output for {app_path.name}: run with FLOWENGINE_UPDATE_GOLDEN=1 and review it"
    assert sorted(on_disk) == sorted(files), "golden files differ in name"
    for rel, text in files.items():
        assert on_disk[rel] == text, f"{target / rel} differs: review the change, then FLOWENGINE_UPDATE_GOLDEN=1"


def test_output_is_deterministic(app_path: Path, tmp_path: Path) -> None:
    first = compile_app(load(str(app_path))).files(tmp_path)
    second = compile_app(load(str(app_path))).files(tmp_path)
    assert first == second


def test_yaml_reads_back_as_the_template(app_path: Path) -> None:
    """The short-form tags (!Ref, !GetAtt, !Sub ...) read back, by SAM's own parser, as the same dicts."""
    compiled = compile_app(load(str(app_path)))
    assert yaml_parse(compiled.to_yaml()) == compiled.template


def test_goldens_have_no_stray_apps() -> None:
    expected = {p.stem for p in app_files()}
    present = {p.name for p in GOLDEN_DIR.iterdir() if p.is_dir()} if GOLDEN_DIR.exists() else set()
    assert present <= expected, f"golden output for apps that no longer exist: {sorted(present - expected)}"


def test_policies_never_allow_every_action(app_path: Path) -> None:
    compiled = compile_app(load(str(app_path)))
    for res in compiled.template["Resources"].values():
        for policy in (res.get("Properties") or {}).get("Policies", []):
            for st in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert all("*" not in a for a in actions), actions

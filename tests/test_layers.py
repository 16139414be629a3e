"""The layers of DESIGN.md hold: the import-linter contract passes, and it does catch a
forbidden import (shown on a copy of the package with one added)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(ROOT / ".importlinter")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contract_holds() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_contract_catches_the_interpreter_importing_the_app_runtime(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "flowengine", tmp_path / "flowengine",
                    ignore=shutil.ignore_patterns("__pycache__"))
    clock = tmp_path / "flowengine" / "engine" / "clock.py"
    clock.write_text(clock.read_text() + "\nfrom flowengine.runtime import app as _upward  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "flowengine.engine is not allowed to import flowengine.runtime" in result.stdout

"""The package layout stays as docs/architecture.md draws it: layers import downward only (the
import-linter contracts of pyproject.toml), and private names (``_x``) stay inside their package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tinyts"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    """``tinyts.tasks.pulse.impute`` -> ``tinyts.tasks``; top-level modules are their own package."""
    return ".".join(module.split(".")[:2])


def _private_imports() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        importer = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("tinyts"):
                continue
            target = node.module or ""
            if _package(target) == _package(importer):
                continue
            private_module = any(p.startswith("_") and not p.startswith("__") for p in target.split("."))
            names = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if private_module or names:
                found.append(f"{importer}:{node.lineno} imports {target} {names}")
    return found


def test_private_names_stay_in_their_package() -> None:
    assert _private_imports() == []


def test_private_name_check_finds_a_crossing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "tinyts"
    (fake / "cli").mkdir(parents=True)
    (fake / "cli" / "x.py").write_text("from tinyts.tasks.forecast.engine import _predict\n")
    (fake / "tasks").mkdir()
    (fake / "tasks" / "y.py").write_text("from tinyts.tasks.forecast.engine import _predict\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    assert _private_imports() == ["tinyts.cli.x:1 imports tinyts.tasks.forecast.engine ['_predict']"]


def test_layer_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter comes with the test extra")
    root = SRC.parents[1]
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC.parent), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout

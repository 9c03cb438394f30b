"""The command line: help, version, clear errors for bad arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyts import __version__
from tinyts.cli.main import app

runner = CliRunner()


def test_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert __version__ in res.output


def test_help_lists_commands() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("bench", "demo", "datasets"):
        assert cmd in res.output


def test_bench_unknown_suite_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["bench", "nonsense", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert "unknown suite" in res.output


def test_bench_missing_data_dir_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TINYTS_DATA", raising=False)
    res = runner.invoke(app, ["bench", "imputation", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "--data-dir" in res.output


def test_python_dash_m_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tinyts", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in out.stdout


def test_bench_help_lists_every_registered_suite() -> None:
    from tinyts.bench.runner import SUITES

    res = runner.invoke(app, ["bench", "--help"])
    assert res.exit_code == 0
    text = "".join(res.output.split())  # the help column wraps inside words
    assert "|".join(SUITES) in text

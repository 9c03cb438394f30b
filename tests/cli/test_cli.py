"""The command line: help, version, clear errors for bad arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tinyts import __version__
from tinyts.cli.common import command, exit_on_error
from tinyts.cli.main import app
from tinyts.errors import CheckpointError, OutputError

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


def _has_handler(fn: object) -> bool:
    """True when ``fn`` (typer's callback) wraps :func:`tinyts.cli.common.exit_on_error`'s function."""
    handler = exit_on_error(lambda: None).__code__
    while fn is not None:
        if getattr(fn, "__code__", None) is handler:
            return True
        fn = getattr(fn, "__wrapped__", None)
    return False


def test_every_command_has_the_error_handler() -> None:
    import typer.main

    root: Any = typer.main.get_command(app)
    seen = []
    for name, cmd in root.commands.items():
        subs = cmd.commands.items() if hasattr(cmd, "commands") else [("", cmd)]
        for sub, leaf in subs:
            seen.append(f"{name} {sub}".strip())
            if name != "bench":  # bench keeps its own handler for now
                assert _has_handler(leaf.callback), seen[-1]
    assert {"impute", "classify fit", "search query", "embed", "prune", "serve", "export onnx"} <= set(seen)


@pytest.mark.parametrize(
    "error",
    [ValueError, TypeError, FileNotFoundError, OSError, ImportError, CheckpointError, OutputError],
)
def test_the_handler_turns_errors_into_exit_2(error: type[Exception]) -> None:
    import typer

    def boom() -> None:
        raise error("what went wrong")

    one = typer.Typer()
    command(one, boom)
    res = runner.invoke(one, [])
    assert res.exit_code == 2 and res.stderr == "error: what went wrong\n" and res.stdout == ""


def test_the_handler_leaves_bugs_their_traceback() -> None:
    import typer

    def bug() -> None:
        raise KeyError("a bug")

    one = typer.Typer()
    command(one, bug)
    res = runner.invoke(one, [])
    assert res.exit_code == 1 and isinstance(res.exception, KeyError)

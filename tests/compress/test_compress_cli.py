"""``tinyts prune`` and ``tinyts distill`` on a tiny checkpoint and a small csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compress_models import tiny_cast
from typer.testing import CliRunner

from tinyts.cli.main import app
from tinyts.compress import LinearStudent, load_compressed
from tinyts.models import load

runner = CliRunner()


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path]:
    n = 700
    t = np.arange(n)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2021-01-01", periods=n, freq="h"),
            "a": np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n),
            "b": np.cos(2 * np.pi * t / 12) + 0.1 * rng.standard_normal(n),
        }
    )
    csv = tmp_path / "toy.csv"
    df.to_csv(csv, index=False)
    model = tiny_cast(seed=4).save_pretrained(tmp_path / "cast")
    return csv, model


def test_prune_command_writes_a_smaller_loadable_model(setup: tuple[Path, Path], tmp_path: Path) -> None:
    csv, model = setup
    out = tmp_path / "pruned"
    args = [
        "prune",
        str(model),
        "--data",
        str(csv),
        "--out",
        str(out),
        "--horizon",
        "16",
        "--ratio",
        "0.4",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
        "--macro-batch",
        "16",
        "--finetune-epochs",
        "1",
        "--finetune-steps",
        "2",
        "--stride",
        "5",
        "--no-progress",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "pruned" in res.output
    small = load(out)
    assert small.config.pruning is not None
    assert small.num_parameters() < load(model).num_parameters()
    summary = json.loads((out / "compress_summary.json").read_text())
    assert summary["params_after"] == small.num_parameters()


@pytest.mark.parametrize("kind", ["mlp", "lowrank"])
def test_distill_command_writes_a_student(setup: tuple[Path, Path], tmp_path: Path, kind: str) -> None:
    csv, model = setup
    out = tmp_path / "student"
    args = [
        "distill",
        str(model),
        "--data",
        str(csv),
        "--out",
        str(out),
        "--horizon",
        "16",
        "--student",
        kind,
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "3",
        "--stride",
        "5",
        "--no-progress",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    student = load_compressed(out)
    assert isinstance(student, LinearStudent) and student.config.horizon == 16
    assert student.config.linear is (kind == "mlp")  # lowrank: the MLP branch alone


def test_compress_commands_report_bad_input(setup: tuple[Path, Path], tmp_path: Path) -> None:
    csv, model = setup
    res = runner.invoke(
        app, ["prune", str(model), "--data", str(csv), "--out", str(tmp_path / "x"), "--ratio", "1.5"]
    )
    assert res.exit_code == 2 and "ratio" in res.output
    res = runner.invoke(
        app, ["prune", str(tmp_path / "missing"), "--data", str(csv), "--out", str(tmp_path / "x")]
    )
    assert res.exit_code == 2 and "unknown model" in res.output
    res = runner.invoke(
        app, ["distill", str(model), "--data", str(csv), "--out", str(tmp_path / "y"), "--student", "rnn"]
    )
    assert res.exit_code == 2 and "unknown student" in res.output

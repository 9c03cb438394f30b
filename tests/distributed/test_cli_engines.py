"""``--engine dask|ray --workers N`` on the batch commands: the same file as without an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tinyts.cli.main import app

runner = CliRunner()
LONG = ["--id-col", "unique_id", "--time-col", "ds", "--target-col", "y"]


def _invoke(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.fixture
def on_cluster(dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands connect to the module's cluster (DASK_SCHEDULER_ADDRESS) instead of starting one."""
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_client.scheduler.address)


def test_forecast_file_is_identical_with_dask(tmp_path: Path, frame: pd.DataFrame, on_cluster: None) -> None:
    src = tmp_path / "long.csv"
    frame.drop(columns="cls").iloc[::-1].to_csv(src, index=False)  # rows in no particular order
    for cmd, extra in (("forecast", ["--horizon", "6"]),):
        plain, dist = tmp_path / f"{cmd}.csv", tmp_path / f"{cmd}.dask.csv"
        _invoke([cmd, str(src), *extra, *LONG, "--out", str(plain)])
        _invoke([cmd, str(src), *extra, *LONG, "--out", str(dist), "--engine", "dask", "--workers", "2"])
        assert plain.read_bytes() == dist.read_bytes(), cmd


def test_embed_and_classify_predict_files_are_identical_with_dask(
    tmp_path: Path, classifier_dir: Path, on_cluster: None
) -> None:
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(300)[None, :] / rng.uniform(3, 9, size=(9, 1))) + rng.normal(0, 0.1, (9, 300))
    npy = tmp_path / "series.npy"
    np.save(npy, series)
    _invoke(["embed", str(npy), "--shifts", "2", "--out", str(tmp_path / "a.npy")])
    _invoke(["embed", str(npy), "--shifts", "2", "--out", str(tmp_path / "b.npy"), "--engine", "dask"])
    assert np.load(tmp_path / "a.npy").tobytes() == np.load(tmp_path / "b.npy").tobytes()
    ts = tmp_path / "cases.ts"
    lines = ["@problemName t", "@univariate true", "@equalLength true", "@classLabel true 0 1", "@data"]
    lines += [",".join(f"{v:.5f}" for v in row) + f":{k % 2}" for k, row in enumerate(series)]
    ts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = str(classifier_dir)
    _invoke(["classify", "predict", model, str(ts), "--out", str(tmp_path / "p.csv")])
    _invoke(["classify", "predict", model, str(ts), "--out", str(tmp_path / "q.csv"), "--engine", "dask"])
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "q.csv").read_bytes()


def test_engine_errors_exit_2_before_any_work(tmp_path: Path, frame: pd.DataFrame) -> None:
    src = tmp_path / "long.csv"
    frame.head(50).to_csv(src, index=False)
    bad = runner.invoke(app, ["impute", str(src), *LONG, "--engine", "spark"])
    assert bad.exit_code == 2 and "--engine must be one of" in bad.output
    wide = runner.invoke(app, ["impute", str(src), "--engine", "dask"])
    assert wide.exit_code == 2 and "long-format" in wide.output
    assert not (tmp_path / "long.imputed.csv").exists()


def test_a_local_cluster_is_started_for_impute(tmp_path: Path, frame: pd.DataFrame) -> None:
    # no DASK_SCHEDULER_ADDRESS: the command starts (and stops) a cluster of --workers processes;
    # impute writes the input's rows in the input's order (rows shuffled here)
    src = tmp_path / "long.csv"
    small = frame[frame["unique_id"].isin(["s01", "s02", "s03"])].drop(columns="cls")
    small.sample(frac=1.0, random_state=0).to_csv(src, index=False)
    _invoke(["impute", str(src), *LONG, "--out", str(tmp_path / "a.csv")])
    _invoke(
        ["impute", str(src), *LONG, "--out", str(tmp_path / "b.csv"), "--engine", "dask", "--workers", "1"]
    )
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()

"""`tinyts impute` and `tinyts detect` on csv files the test writes (bundled tinypulse checkpoint)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from tinyts.cli.main import app
from tinyts.tasks.pulse.anomaly import DEFAULT_THRESHOLD

runner = CliRunner()


def _csv(path: Path, n: int = 700) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=n, freq="h"),
            "a": np.sin(2 * np.pi * t / 24) + 0.05 * rng.standard_normal(n),
            "b": np.cos(2 * np.pi * t / 24) * 3 + 10,
            "label": (np.abs(t - 500) < 5).astype(int),
        }
    )
    df.loc[[10, 11, 12, 300, 301], "a"] = np.nan
    df.loc[400:430, "b"] = np.nan
    df.to_csv(path, index=False)
    return df


def test_impute_command(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    df = _csv(src).drop(columns="label")
    df.to_csv(src, index=False)
    res = runner.invoke(
        app, ["impute", str(src), "--out", str(tmp_path / "o.csv"), "--plot", str(tmp_path / "p.png")]
    )
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "o.csv")
    assert list(out.columns) == ["date", "a", "b"]
    assert not out[["a", "b"]].isna().any().any()
    observed = df["a"].notna()
    np.testing.assert_allclose(out.loc[observed, "a"], df.loc[observed, "a"])
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_detect_command(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    _csv(src)
    res = runner.invoke(
        app,
        [
            "detect",
            str(src),
            "--label-col",
            "label",
            "--out",
            str(tmp_path / "s.csv"),
            "--plot",
            str(tmp_path / "s.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "s.csv")
    assert len(out) == 700 and np.isfinite(out["anomaly_score"]).all()
    assert abs(out["anomaly_score"].median()) < 1e-6  # robust scale (csv rounding aside)
    assert list(out["anomaly_flag"]) == list(out["anomaly_score"] > DEFAULT_THRESHOLD)
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["impute", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n2,y\n")
    res = runner.invoke(app, ["impute", str(bad)])
    assert res.exit_code == 2 and "not numeric" in res.output
    res = runner.invoke(app, ["detect", str(bad), "--label-col", "nope"])
    assert res.exit_code == 2 and "label column" in res.output
    res = runner.invoke(app, ["detect", str(tmp_path / "missing.csv"), "--model", "no-such-model"])
    assert res.exit_code == 2


def test_detect_threshold_default_is_the_library_default() -> None:
    import inspect

    from tinyts.cli.tasks import detect

    assert inspect.signature(detect).parameters["threshold"].default == DEFAULT_THRESHOLD


def _long_csv(path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 200
    parts = []
    for k, sid in enumerate(["B", "A"]):  # not in sorted order: the file's first series is drawn
        t = np.arange(n)
        y = np.sin(2 * np.pi * t / 24 + k) + 0.05 * rng.standard_normal(n) + 3 * k
        parts.append(
            pd.DataFrame({"series": sid, "when": pd.date_range("2024-01-01", periods=n, freq="h"), "v": y})
        )
    df = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0)  # rows shuffled
    df.loc[df.index[:15], "v"] = np.nan
    df.to_csv(path, index=False)
    return df


def test_long_csv_plots_its_first_series(tmp_path: Path) -> None:
    """--plot on a long csv draws the file's first series (it was refused before) and says which."""
    src = tmp_path / "long.csv"
    df = _long_csv(src)
    first = df["series"].iloc[0]
    opts = ["--id-col", "series", "--time-col", "when", "--target-col", "v"]
    for command, extra in (("impute", []), ("detect", []), ("forecast", ["--horizon", "12"])):
        png = tmp_path / f"{command}.png"
        res = runner.invoke(
            app,
            [command, str(src), *opts, *extra, "--out", str(tmp_path / f"{command}.csv"), "--plot", str(png)],
        )
        assert res.exit_code == 0, res.output
        assert f"series {first!r}, the first of 2" in res.output
        assert png.stat().st_size > 1000
    res = runner.invoke(
        app, ["detect", str(src), *opts, "--label-col", "v", "--out", str(tmp_path / "x.csv")]
    )
    assert res.exit_code == 2 and "--label-col and --freq are available for wide csv files only" in res.output

"""What a new user found (issue 15): wrong dates, rows out of order, lost rows and digits, lost files.

Each test here failed on the main of 2026-12-04 (under pandas 3, or under both majors).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tinyts.cli.files import read_wide_csv
from tinyts.cli.main import app
from tinyts.data.convert.frames import future_timestamps

runner = CliRunner()


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a = np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n)
    a[[40, 41, 42, n // 2 + 20]] = np.nan
    return pd.DataFrame({"date": pd.date_range("2024-03-01", periods=n, freq="h"), "a": a})


# 1. dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_future_timestamps_keep_the_step_at_every_resolution(unit: str) -> None:
    index = pd.date_range("2024-03-01", periods=6, freq="h").as_unit(unit)
    future = future_timestamps(index, 3)
    expected = pd.date_range("2024-03-01 06:00", periods=3, freq="h")
    assert list(future) == list(expected)


def test_future_timestamps_refuse_unordered_duplicate_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="increasing order"):
        future_timestamps(pd.DatetimeIndex(["2024-01-03", "2024-01-02", "2024-01-01"]), 2)
    with pytest.raises(ValueError, match="more than once"):
        future_timestamps(pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-02"]), 2)
    with pytest.raises(ValueError, match="outside the range"):
        future_timestamps(pd.DatetimeIndex(["2262-04-01", "2262-04-02"]).as_unit("ns"), 100)
    with pytest.raises(ValueError, match="outside the range"):  # numpy arithmetic would wrap to 1678
        future_timestamps(pd.DatetimeIndex(["2261-01-01", "2262-01-01"]).as_unit("ns"), 3)
    with pytest.raises(ValueError, match="outside the range"):
        future_timestamps(pd.Index([2**62, 2**62 + 2**60]), 5)
    with pytest.raises(ValueError, match="outside the range"):
        future_timestamps(pd.Index([1.0, 1e308]), 3)


def test_forecast_command_dates_are_one_hour_apart(tmp_path: Path) -> None:
    src = tmp_path / "h.csv"
    _frame().to_csv(src, index=False)
    out = tmp_path / "f.csv"
    res = runner.invoke(app, ["forecast", str(src), "--horizon", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    dates = pd.to_datetime(pd.read_csv(out)["date"])
    assert list(dates) == list(pd.date_range("2024-03-13 12:00", periods=4, freq="h"))


def test_forecast_command_freq_option(tmp_path: Path) -> None:
    src = tmp_path / "gaps.csv"
    df = _frame(200)
    df.drop(index=[5, 6, 50]).to_csv(src, index=False)  # hourly with 3 hours missing: inferred, filled
    res = runner.invoke(app, ["forecast", str(src), "--horizon", "3", "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 0 and "3 time step(s) missing" in res.output, res.output
    res = runner.invoke(
        app, ["forecast", str(src), "--horizon", "3", "--freq", "h", "--out", str(tmp_path / "y.csv")]
    )
    assert res.exit_code == 0, res.output
    dates = pd.to_datetime(pd.read_csv(tmp_path / "y.csv")["date"])
    assert list(dates) == list(pd.date_range(df["date"].iloc[-1], periods=4, freq="h")[1:])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "x.csv"), pd.read_csv(tmp_path / "y.csv"))
    irregular = tmp_path / "irregular.csv"
    df.iloc[[0, 1, 3, 4, 10, 11, 30, 31, 32, 70, 71, 72, 150]].to_csv(irregular, index=False)
    res = runner.invoke(app, ["forecast", str(irregular), "--horizon", "3", "--out", str(tmp_path / "z.csv")])
    assert res.exit_code == 2 and "--freq" in res.output and "not evenly spaced" in res.output
    # one clear error before the model runs, not a note that the rows are used as they are
    assert "consecutive time steps" not in res.output and "forecasting" not in res.output
    assert not (tmp_path / "z.csv").exists()
    res = runner.invoke(app, ["forecast", str(src), "--horizon", "3", "--freq", "fortnightly-ish"])
    assert res.exit_code == 2 and "--freq" in res.output


# 2. order -----------------------------------------------------------------------------------------


def test_shuffled_rows_are_sorted_and_said_so(tmp_path: Path) -> None:
    df = _frame()
    ordered, shuffled = tmp_path / "o.csv", tmp_path / "s.csv"
    df.to_csv(ordered, index=False)
    df.sample(frac=1.0, random_state=1).to_csv(shuffled, index=False)
    a = runner.invoke(app, ["impute", str(ordered), "--out", str(tmp_path / "a.csv")])
    b = runner.invoke(app, ["impute", str(shuffled), "--out", str(tmp_path / "b.csv")])
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    assert "not in time order" in b.output and "not in time order" not in a.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_duplicate_dates_are_refused(tmp_path: Path) -> None:
    df = _frame(100)
    df.loc[7, "date"] = df.loc[6, "date"]
    src = tmp_path / "d.csv"
    df.to_csv(src, index=False)
    for cmd in (["impute", str(src)], ["detect", str(src)], ["forecast", str(src), "--horizon", "2"]):
        res = runner.invoke(app, cmd)
        assert res.exit_code == 2 and "appears 2 times" in res.output and "rows 8, 9" in res.output


def test_dates_that_do_not_parse_are_refused(tmp_path: Path) -> None:
    df = _frame(100).astype({"date": str})
    df.loc[3, "date"] = "not a date"
    src = tmp_path / "bad.csv"
    df.to_csv(src, index=False)
    res = runner.invoke(app, ["impute", str(src)])
    assert res.exit_code == 2 and "not dates" in res.output and "row 5" in res.output


# 3. and 4. rows and digits --------------------------------------------------------------------------


def test_blank_cells_of_a_one_column_file_are_missing_values(tmp_path: Path) -> None:
    src = tmp_path / "one.csv"
    src.write_text("y\n1.0\n2.0\n\n4.0\n\n6.0\n7.0\n")
    out = tmp_path / "o.csv"
    res = runner.invoke(app, ["impute", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "filled 2 missing values" in res.output
    got = pd.read_csv(out)
    assert len(got) == 7 and not got["y"].isna().any()
    assert got["y"].iloc[[0, 1, 3, 5, 6]].tolist() == [1.0, 2.0, 4.0, 6.0, 7.0]


def test_observed_values_come_back_bit_identical(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vals = rng.standard_normal((400, 3)) * 10 ** rng.uniform(-3, 5, (400, 3))
    vals[rng.random((400, 3)) < 0.1] = np.nan
    src = tmp_path / "r.csv"
    pd.DataFrame(vals, columns=["a", "b", "c"]).to_csv(src, index=False)
    raw = pd.read_csv(src, float_precision="round_trip").to_numpy()
    out = tmp_path / "o.csv"
    assert runner.invoke(app, ["impute", str(src), "--out", str(out)]).exit_code == 0
    got = pd.read_csv(out, float_precision="round_trip").to_numpy()
    observed = ~np.isnan(raw)
    assert np.array_equal(got[observed], raw[observed])  # bit for bit, every observed cell


# 5. labels ------------------------------------------------------------------------------------------


def test_labels_are_validated(tmp_path: Path) -> None:
    df = _frame(200).assign(label=0.0)
    df.loc[[10, 11], "label"] = np.nan  # unlabelled rows are fine
    df.loc[50, "label"] = 1
    src = tmp_path / "l.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "o.csv"
    res = runner.invoke(app, ["detect", str(src), "--label-col", "label", "--out", str(out)])
    assert res.exit_code == 0, res.output
    labels = pd.read_csv(out)["label"]
    assert labels.isna().sum() == 2 and labels.iloc[50] == 1 and labels.dropna().isin([0, 1]).all()
    df.loc[60, "label"] = 300
    df.to_csv(src, index=False)
    res = runner.invoke(app, ["detect", str(src), "--label-col", "label", "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "row 62" in res.output and "300" in res.output


def test_duplicate_quantile_levels_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "h.csv"
    _frame().to_csv(src, index=False)
    res = runner.invoke(app, ["forecast", str(src), "--horizon", "2", "--quantiles", "0.5,0.5"])
    assert res.exit_code == 2 and "more than once" in res.output


# 6. files are never lost -------------------------------------------------------------------------


def test_out_equal_to_input_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    _frame().to_csv(src, index=False)
    before = src.read_bytes()
    res = runner.invoke(app, ["impute", str(src), "--out", str(src), "--overwrite"])
    assert res.exit_code == 2 and "is the input file" in res.output
    assert src.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    src, out = tmp_path / "x.csv", tmp_path / "o.csv"
    _frame().to_csv(src, index=False)
    out.write_text("keep me\n")
    res = runner.invoke(app, ["impute", str(src), "--out", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert out.read_text() == "keep me\n"
    res = runner.invoke(app, ["impute", str(src), "--out", str(out), "--overwrite"])
    assert res.exit_code == 0 and len(pd.read_csv(out)) == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "x.csv"]  # no temporary leftovers


def test_unwritable_output_fails_before_the_work(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    _frame().to_csv(src, index=False)
    blocker = tmp_path / "file"
    blocker.write_text("")
    # the model name does not exist: if the output were checked after the work, that would be the error
    res = runner.invoke(app, ["impute", str(src), "--out", str(blocker / "o.csv"), "--model", "no-such"])
    assert res.exit_code == 2 and "cannot create the folder" in res.output
    res = runner.invoke(app, ["impute", str(src), "--plot", str(blocker / "p.png"), "--model", "no-such"])
    assert res.exit_code == 2 and "cannot create the folder" in res.output


def test_a_failing_write_leaves_the_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, out = tmp_path / "x.csv", tmp_path / "o.csv"
    _frame().to_csv(src, index=False)
    out.write_text("previous\n")
    real = pd.DataFrame.to_csv

    def half_then_fail(self: pd.DataFrame, path: object, **kw: object) -> None:
        real(self.iloc[: len(self) // 2], path, **kw)  # type: ignore[call-overload]
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    res = runner.invoke(app, ["impute", str(src), "--out", str(out), "--overwrite"])
    assert res.exit_code != 0
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "x.csv"]


_SLOW_WRITER = """
import sys, time
import pandas as pd
real = pd.DataFrame.to_csv
flag = sys.argv[1]
def slow(self, path, **kw):
    real(self.iloc[:10], path, **kw)
    open(flag, "w").close()   # tell the test we are mid-write
    time.sleep(60)
pd.DataFrame.to_csv = slow
sys.argv = ["tinyts", *sys.argv[2:]]
from tinyts.cli.main import main
main()
"""


def test_sigterm_while_writing_leaves_the_previous_output(tmp_path: Path) -> None:
    src, out, flag = tmp_path / "x.csv", tmp_path / "o.csv", tmp_path / "writing"
    _frame().to_csv(src, index=False)
    out.write_text("previous\n")
    cmd = [
        sys.executable,
        "-c",
        _SLOW_WRITER,
        str(flag),
        "impute",
        str(src),
        "--out",
        str(out),
        "--overwrite",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 50
        while not flag.exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the command never reached the write"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "writing", "x.csv"]


# 13. messages ---------------------------------------------------------------------------------------


def test_semicolon_csv_reads_without_warnings(tmp_path: Path) -> None:
    src = tmp_path / "semi.csv"
    _frame(120).to_csv(src, index=False, sep=";")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_wide_csv(src)
    assert table.columns == ["a"] and table.time is not None and table.n_rows == 120
    res = runner.invoke(app, ["impute", str(src), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 0 and "Warning" not in res.output


def test_errors_name_the_column(tmp_path: Path) -> None:
    df = _frame(100).assign(temp=np.nan)
    src = tmp_path / "c.csv"
    df.to_csv(src, index=False)
    res = runner.invoke(app, ["impute", str(src)])
    assert res.exit_code == 2 and "column 'temp' has no values" in res.output
    df = _frame(100).assign(temp=1.0)
    df.loc[4, "temp"] = np.inf
    df.to_csv(src, index=False)
    res = runner.invoke(app, ["impute", str(src)])
    assert res.exit_code == 2 and "column 'temp'" in res.output and "infinite" in res.output


def _long(n: int = 120) -> pd.DataFrame:
    parts = []
    for k, sid in enumerate(["A", "B"]):
        t = np.arange(n)
        y = np.sin(2 * np.pi * t / 24 + k) + 5 * k
        parts.append(
            pd.DataFrame({"unique_id": sid, "ds": pd.date_range("2024-01-01", periods=n, freq="D"), "y": y})
        )
    return pd.concat(parts, ignore_index=True)


def test_long_format_csv_gets_a_hint_and_is_accepted(tmp_path: Path) -> None:
    src = tmp_path / "long.csv"
    df = _long()
    df.loc[[5, 130], "y"] = np.nan
    df.to_csv(src, index=False)
    other = tmp_path / "other_names.csv"  # long, but not the Nixtla names: a hint, not a guess
    df.rename(columns={"unique_id": "series", "ds": "date", "y": "value"}).to_csv(other, index=False)
    res = runner.invoke(app, ["impute", str(other)])
    assert res.exit_code == 2 and "--id-col series --time-col date --target-col value" in res.output
    long_opts = ["--id-col", "unique_id", "--time-col", "ds", "--target-col", "y"]
    out = tmp_path / "i.csv"
    res = runner.invoke(app, ["impute", str(src), "--out", str(out), *long_opts])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert len(got) == len(df) and not got["y"].isna().any()
    fc = tmp_path / "f.csv"
    res = runner.invoke(app, ["forecast", str(src), "--horizon", "5", "--out", str(fc), *long_opts])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(fc, parse_dates=["ds"])
    assert len(got) == 10 and set(got["unique_id"]) == {"A", "B"}
    assert got["ds"].iloc[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=120)  # the day after the last
    sc = tmp_path / "s.csv"
    res = runner.invoke(app, ["detect", str(src), "--out", str(sc), *long_opts])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(sc)) == len(df)


@pytest.mark.parametrize("command", ["impute", "forecast", "detect", "embed"])
def test_nixtla_long_csv_is_read_as_long_without_options(tmp_path: Path, command: str) -> None:
    """A csv whose header is exactly unique_id,ds,y is long format: read as such (and said), the same
    output as with the three options."""
    src = tmp_path / "long.csv"
    df = _long()
    df.loc[[5, 130], "y"] = np.nan
    df[["ds", "y", "unique_id"]].to_csv(src, index=False)  # any column order
    extra = ["--horizon", "4"] if command == "forecast" else []
    long_opts = ["--id-col", "unique_id", "--time-col", "ds", "--target-col", "y"]
    auto, given = tmp_path / "auto.csv", tmp_path / "given.csv"
    res = runner.invoke(app, [command, str(src), "--out", str(auto), *extra])
    assert res.exit_code == 0, res.output
    assert "read as long format" in res.output
    res = runner.invoke(app, [command, str(src), "--out", str(given), *extra, *long_opts])
    assert res.exit_code == 0, res.output
    assert "read as long format" not in res.output
    assert auto.read_bytes() == given.read_bytes()
    assert set(pd.read_csv(auto)["unique_id"]) == {"A", "B"}


def test_embed_csv_has_embed_dfs_columns(tmp_path: Path) -> None:
    """`tinyts embed --out x.csv` writes what `embed_df` returns: the id column under the input's name,
    then emb_0 .. emb_{d-1} (it wrote `id, e0 ..` before)."""
    import tinyts

    src = tmp_path / "long.csv"
    df = _long().rename(columns={"unique_id": "series"})
    df.to_csv(src, index=False)
    out = tmp_path / "emb.csv"
    opts = ["--id-col", "series", "--time-col", "ds", "--target-col", "y", "--shifts", "1"]
    res = runner.invoke(app, ["embed", str(src), "--out", str(out), *opts])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    want = tinyts.load("tinypulse").embed_df(df, id_col="series", time_col="ds", target_col="y", shifts=1)
    assert list(got.columns) == list(want.columns)
    assert list(got["series"]) == list(want["series"])
    np.testing.assert_allclose(got.iloc[:, 1:].to_numpy(), want.iloc[:, 1:].to_numpy(), rtol=1e-5, atol=1e-6)


def test_nixtla_long_header_needs_exactly_the_three_names(tmp_path: Path) -> None:
    from tinyts.data.io.wide import nixtla_long_header

    cases = {
        "unique_id,ds,y\nA,2024-01-01,1\n": True,
        "y;ds;unique_id\n1;2024-01-01;A\n": True,
        "unique_id,ds,y,price\nA,2024-01-01,1,2\n": False,  # an extra column: not guessed
        "ds,y\n2024-01-01,1\n": False,  # one series, wide is right
        "": False,
    }
    for i, (text, want) in enumerate(cases.items()):
        p = tmp_path / f"h{i}.csv"
        p.write_text(text)
        assert nixtla_long_header(p) is want, text
    assert nixtla_long_header(tmp_path / "missing.csv") is False


def test_help_shows_no_bool_type() -> None:
    for cmd in (["impute"], ["forecast"], ["classify", "fit"], ["search", "build"], ["export", "onnx"]):
        res = runner.invoke(app, [*cmd, "--help"])
        assert res.exit_code == 0 and "<bool>" not in res.output and "--overwrite" in res.output
    res = runner.invoke(app, ["pretrain", "--help"])
    assert res.exit_code == 0 and "<bool>" not in res.output and "--resume" in res.output


# 5. missing dates and day-first dates (found in a new-user trial, 2026-12-06) ---------------------------


def _daily(n: int = 120) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame(
        {
            "ds": pd.date_range("2020-01-01", periods=n, freq="D"),
            "y": 10 + np.sin(2 * np.pi * t / 7) + 0.01 * t,
        }
    )


def test_missing_dates_are_filled_by_impute(tmp_path: Path) -> None:
    """Before: a daily file without 3 days was imputed as "0 missing values", the gap joined shut."""
    df = _daily()
    src = tmp_path / "gap.csv"
    df.drop(index=[50, 51, 52]).to_csv(src, index=False)
    out = tmp_path / "filled.csv"
    res = runner.invoke(app, ["impute", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 time step(s) missing" in res.output and "3 inserted rows" in res.output
    got = pd.read_csv(out, parse_dates=["ds"], float_precision="round_trip")
    assert list(got["ds"]) == list(df["ds"])  # every day, the inserted ones included
    assert got["y"].notna().all()
    kept = got.drop(index=[50, 51, 52])["y"].to_numpy()
    np.testing.assert_array_equal(kept, pd.read_csv(src, float_precision="round_trip")["y"].to_numpy())


def test_missing_dates_are_context_for_detect_and_forecast(tmp_path: Path) -> None:
    df = _daily()
    gap, full = tmp_path / "gap.csv", tmp_path / "full.csv"
    df.drop(index=[50, 51, 52]).to_csv(gap, index=False)
    with_nan = df.copy()
    with_nan.loc[[50, 51, 52], "y"] = np.nan
    with_nan.to_csv(full, index=False)
    # detect: the file's rows only, scored as if the missing days were empty cells of the file
    a = runner.invoke(app, ["detect", str(gap), "--out", str(tmp_path / "a.csv")])
    b = runner.invoke(app, ["detect", str(full), "--out", str(tmp_path / "b.csv")])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    sa, sb = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert len(sa) == len(df) - 3
    np.testing.assert_allclose(sa["anomaly_score"], sb["anomaly_score"].drop(index=[50, 51, 52]))
    # forecast: the same forecast as with the missing days given as empty cells
    a = runner.invoke(app, ["forecast", str(gap), "--horizon", "5", "--out", str(tmp_path / "fa.csv")])
    b = runner.invoke(app, ["forecast", str(full), "--horizon", "5", "--out", str(tmp_path / "fb.csv")])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "fa.csv"), pd.read_csv(tmp_path / "fb.csv"))


def test_long_forecast_infers_the_step_of_series_with_missing_months(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"id": "a", "ds": pd.date_range("2021-01-01", periods=40, freq="MS")})
    b = pd.DataFrame({"id": "b", "ds": pd.date_range("2022-03-01", periods=30, freq="MS")})
    frame = pd.concat([a, b], ignore_index=True)
    frame["y"] = rng.normal(size=len(frame)).cumsum()
    src = tmp_path / "long.csv"
    frame.drop(index=[10, 11]).to_csv(src, index=False)
    out = tmp_path / "f.csv"
    with pytest.warns(UserWarning, match="2 time step"):
        res = runner.invoke(
            app,
            [
                "forecast",
                str(src),
                "--horizon",
                "2",
                "--id-col",
                "id",
                "--time-col",
                "ds",
                "--target-col",
                "y",
                "--out",
                str(out),
            ],
        )
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, parse_dates=["ds"])
    assert list(got["ds"]) == list(pd.to_datetime(["2024-05-01", "2024-06-01", "2024-09-01", "2024-10-01"]))


def test_day_first_dates_are_read_day_first(tmp_path: Path) -> None:
    """Before: 02/01/2020 was read as 1 February, 13/01/2020 as 13 January, and the rows were scrambled."""
    df = _daily(60)
    iso, dmy = tmp_path / "iso.csv", tmp_path / "dmy.csv"
    df.to_csv(iso, index=False)
    df.assign(ds=df["ds"].dt.strftime("%d/%m/%Y")).to_csv(dmy, index=False)
    for name, src in (("a", iso), ("b", dmy)):
        res = runner.invoke(
            app, ["forecast", str(src), "--horizon", "3", "--out", str(tmp_path / f"{name}.csv")]
        )
        assert res.exit_code == 0 and "not in time order" not in res.output, res.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_dates_mixing_day_first_and_month_first_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "mixed.csv"
    dates = ["13/01/2020", "14/01/2020 06:00", "02/01/2020 10:00", "2020-01-20"] * 3
    pd.DataFrame({"ds": dates, "y": np.arange(12.0)}).to_csv(src, index=False)
    res = runner.invoke(app, ["impute", str(src)])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output and "02/01/2020 10:00" in res.output


def test_freq_on_a_dated_file_must_be_a_frequency_on_its_grid(tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    _daily(30).to_csv(src, index=False)
    res = runner.invoke(app, ["impute", str(src), "--freq", "3"])
    assert res.exit_code == 2 and "pandas frequency" in res.output
    res = runner.invoke(app, ["impute", str(src), "--freq", "2D"])
    assert res.exit_code == 2 and "not on the grid" in res.output


def test_yearly_csv_forecast_continues_the_years_and_impute_writes_them_back(tmp_path: Path) -> None:
    src = tmp_path / "yearly.csv"
    years = range(1990, 2024)
    lines = [f"{y},{100 + 2 * i + (i % 3)}" if i not in (4, 9) else f"{y}," for i, y in enumerate(years)]
    src.write_text("year,sales\n" + "\n".join(lines) + "\n")
    fc = tmp_path / "f.csv"
    res = runner.invoke(app, ["forecast", str(src), "--horizon", "3", "--out", str(fc)])
    assert res.exit_code == 0, res.output
    assert "holds years" in res.output and "1 channel(s)" in res.output
    got = pd.read_csv(fc)
    assert list(got["year"]) == [2024, 2025, 2026] and "year_mean" not in got.columns
    out = tmp_path / "i.csv"
    res = runner.invoke(app, ["impute", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    filled = out.read_text().splitlines()
    assert filled[0] == "year,sales" and [r.split(",")[0] for r in filled[1:]] == [str(y) for y in years]
    observed = [i for i in range(len(lines)) if i not in (4, 9)]
    assert [float(filled[1 + i].split(",")[1]) for i in observed] == [
        float(lines[i].split(",")[1]) for i in observed
    ]
    assert all(filled[1 + i].split(",")[1] for i in (4, 9))  # filled


def test_csv_written_with_its_pandas_index_forecasts_like_without(tmp_path: Path) -> None:
    frame = _frame(120)
    with_index, plain = tmp_path / "with_index.csv", tmp_path / "plain.csv"
    frame.to_csv(with_index)
    frame.to_csv(plain, index=False)
    outs = []
    for src in (with_index, plain):
        out = tmp_path / f"{src.stem}.out.csv"
        res = runner.invoke(app, ["forecast", str(src), "--horizon", "3", "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert ("row numbers" in res.output) == (src is with_index)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]

"""Dates at the input boundary: the step of dates with missing steps, filling them, day-first dates."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyts.data.convert.frames import df_to_batch, infer_grid
from tinyts.data.io.wide import fill_missing_steps, parse_dates, read_wide_csv
from tinyts.errors import DataFormatError


@pytest.mark.parametrize(
    ("freq", "n", "tz"),
    [
        ("D", 200, None),
        ("h", 500, "Europe/Berlin"),  # across a daylight-saving change
        ("15min", 300, None),
        ("B", 200, None),
        ("W-SUN", 100, None),
        ("MS", 60, None),
        ("ME", 60, None),
        ("QE", 40, None),
        ("YE", 30, None),
    ],
)
def test_infer_grid_finds_the_step_despite_missing_steps(freq: str, n: int, tz: str | None) -> None:
    full = pd.date_range("2020-03-20", periods=n, freq=freq, tz=tz)
    gappy = full.delete([3, 4, n // 2])
    step = infer_grid(gappy)
    assert step is not None
    assert list(pd.date_range(gappy[0], gappy[-1], freq=step)) == list(full[: len(full)])


def test_infer_grid_gives_none_for_irregular_or_mostly_missing_times() -> None:
    odd = pd.DatetimeIndex(["2020-01-01", "2020-01-03", "2020-01-04 05:00", "2020-01-09"])
    assert infer_grid(odd) is None
    days = pd.date_range("2020-01-01", periods=10, freq="D")
    assert infer_grid(days[[0, 1, 5, 9]]) is None  # 6 of 10 steps missing: not a series with gaps
    assert infer_grid(days[:2]) is None
    step = infer_grid(days[[0, 1, 2, 4]])  # a fixed one-day step (pandas 3: not equal to <Day>)
    assert list(pd.date_range(days[0], days[4], freq=step)) == list(days[:5])


def _write(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False)
    return path


def test_fill_missing_steps_inserts_nan_rows(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "ds": pd.date_range("2021-01-31", periods=12, freq="ME"),
            "a": np.arange(12.0),
            "b": np.arange(12.0) * 2,
            "label": [0] * 11 + [1],
        }
    )
    table = read_wide_csv(_write(tmp_path / "m.csv", df.drop(index=[4, 5])), label_col="label")
    grid, step = fill_missing_steps(table)
    assert step == pd.tseries.frequencies.to_offset("ME")
    assert grid.n_time == 12 and table.n_time == 10
    assert grid.inserted is not None and list(np.flatnonzero(grid.inserted)) == [4, 5]
    assert np.isnan(grid.values[:, 4:6]).all() and np.isnan(grid.labels[4:6]).all()
    np.testing.assert_array_equal(grid.values[:, grid.file_rows], table.values)
    assert list(grid.time) == list(df["ds"])
    assert grid.timestamps is not None and grid.timestamps.dtype == np.dtype("datetime64[ns]")


def test_fill_missing_steps_leaves_regular_undated_and_irregular_tables(tmp_path: Path) -> None:
    df = pd.DataFrame({"ds": pd.date_range("2021-01-01", periods=10, freq="D"), "a": np.arange(10.0)})
    regular = read_wide_csv(_write(tmp_path / "r.csv", df))
    same, step = fill_missing_steps(regular)
    assert same is regular and same.inserted is None and step == pd.tseries.frequencies.to_offset("D")
    undated = read_wide_csv(_write(tmp_path / "u.csv", df[["a"]]))
    assert fill_missing_steps(undated) == (undated, None)
    irregular = read_wide_csv(_write(tmp_path / "i.csv", df.iloc[[0, 1, 4, 9]]))
    assert fill_missing_steps(irregular) == (irregular, None)
    with pytest.raises(DataFormatError, match="not on the grid"):
        fill_missing_steps(read_wide_csv(_write(tmp_path / "g.csv", df)), "2D")


def _dates(values: list[str]) -> list[str]:
    parsed = parse_dates(pd.Series(values, name="ds"))
    assert parsed is not None
    return [str(t.date()) for t in parsed]


def test_parse_dates_reads_day_first_when_only_that_reads_every_cell() -> None:
    assert _dates(["01/01/2020", "02/01/2020", "13/01/2020"]) == ["2020-01-01", "2020-01-02", "2020-01-13"]
    assert _dates(["05.01.2020", "06.01.2020", "13.01.2020"]) == ["2020-01-05", "2020-01-06", "2020-01-13"]
    assert _dates(["01/13/2020", "01/14/2020"]) == ["2020-01-13", "2020-01-14"]  # month first


def test_parse_dates_never_reads_year_first_dates_day_first() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iso = ["2020-01-05", "2020-01-06", "2020-02-01"]
        assert _dates(iso) == iso
        assert _dates(["2020-01-01", "2020-01-02 10:00", "2020-01-03"]) == [
            "2020-01-01",
            "2020-01-02",
            "2020-01-03",
        ]


def test_parse_dates_with_two_complete_readings() -> None:
    # day first is the one in file order: taken, silently
    assert _dates(["01/01/2020", "02/01/2020", "03/01/2020", "01/02/2020"]) == [
        "2020-01-01",
        "2020-01-02",
        "2020-01-03",
        "2020-02-01",
    ]
    # both in order: month first (as pandas reads it), with a warning that says how to be sure
    with pytest.warns(UserWarning, match="YYYY-MM-DD"):
        got = _dates(["01/01/2020", "01/02/2020", "01/03/2020"])
    assert got == ["2020-01-01", "2020-01-02", "2020-01-03"]


def test_parse_dates_refuses_a_column_mixing_both_readings() -> None:
    with pytest.raises(ValueError, match="more than one format"):
        mixed = ["13/01/2020", "14/01/2020 06:00", "02/01/2020 10:00", "2020-01-20"]
        parse_dates(pd.Series(mixed, name="ds"))


def test_parse_dates_reads_several_utc_offsets_as_utc(tmp_path: Path) -> None:
    """A tz-aware frame written across a daylight-saving change has +01:00 and +02:00 cells: before,
    pandas 3 refused the column ("Mixed timezones detected") and pandas 2 crashed later."""
    stamps = pd.date_range("2020-03-28", periods=48, freq="h", tz="Europe/Berlin")
    src = _write(tmp_path / "dst.csv", pd.DataFrame({"ds": stamps, "y": np.arange(48.0)}))
    with pytest.warns(UserWarning, match="several UTC offsets"):
        table = read_wide_csv(src)
    assert table.time is not None
    assert list(table.time) == list(stamps.tz_convert("UTC"))
    assert fill_missing_steps(table)[1] == pd.tseries.frequencies.to_offset("h")


def test_df_to_batch_infer_puts_each_series_on_its_own_grid() -> None:
    from tinyts.data.convert.frames import df_to_batch

    rng = np.random.default_rng(0)
    parts = [
        pd.DataFrame({"unique_id": k, "ds": pd.date_range("2020-01-01", periods=30, freq=f)})
        for k, f in (("a", "D"), ("b", "MS"), ("c", "h"))
    ]
    df = pd.concat(parts, ignore_index=True)
    df["y"] = rng.normal(size=len(df))
    gappy = df.drop(index=[5, 6, 40])
    with pytest.warns(UserWarning, match="3 time step"):
        batch = df_to_batch(gappy, freq="infer")
    assert batch.freq is None and batch.timestamps is not None
    for k, stamps in enumerate(batch.timestamps):
        assert list(stamps) == list(parts[k]["ds"])
    assert batch.source is not None
    assert np.isnan(batch.source[0][0, [5, 6]]).all() and np.isnan(batch.source[1][0, 10])
    irregular = pd.DataFrame(
        {
            "ds": pd.to_datetime(
                ["2020-01-01 00:00", "2020-01-03 00:00", "2020-01-04 05:00", "2020-01-09 00:00"]
            ),
            "y": 1.0,
        }
    )
    with pytest.warns(UserWarning, match="uneven"):
        one = df_to_batch(irregular, id_col=None, freq="infer")
    assert list(one.lengths) == [4]


def test_forecast_df_forecasts_series_with_missing_steps() -> None:
    from tinyts.models.cast import CastConfig, TinyCast
    from tinyts.tasks.forecast.api import forecast_df

    model = TinyCast(CastConfig()).eval()
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-31", periods=40, freq="ME")})
    df["y"] = np.sin(np.arange(40) / 3)
    with_nan = df.copy()
    with_nan.loc[[7, 8], "y"] = np.nan
    with pytest.warns(UserWarning, match="2 time step"):
        got = forecast_df(model, df.drop(index=[7, 8]), 3)
    ref = forecast_df(model, with_nan, 3)
    pd.testing.assert_frame_equal(got, ref)
    assert list(got["ds"]) == list(pd.date_range("2023-05-31", periods=3, freq="ME"))


@pytest.mark.parametrize(
    ("magic", "what"),
    [
        (b"PAR1\x15\x04\x15\x80", "Parquet"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel"),
        (b"\x80\x81\xfe", "UTF-8"),
    ],
)
def test_binary_files_get_a_message_that_says_what_to_do(tmp_path: Path, magic: bytes, what: str) -> None:
    p = tmp_path / "data.csv"
    p.write_bytes(magic + bytes(range(128, 256)))
    with pytest.raises(DataFormatError, match=what) as info:
        read_wide_csv(p)
    assert "csv" in str(info.value)


# a first column of years (found in a new-user trial, 2026-12-06: "period,sales" with 2000 ... 2023 was
# forecast as a second channel and the output had no years) ---------------------------------------------


@pytest.mark.parametrize("name", ["year", "Fiscal_Year", "yr", "period", "date", "ds"])
def test_a_column_of_years_is_the_time_axis(tmp_path: Path, name: str) -> None:
    src = tmp_path / "y.csv"
    years = list(range(2000, 2024))
    src.write_text(f"{name},sales\n" + "".join(f"{y},{i * 1.5}\n" for i, y in enumerate(years)))
    table = read_wide_csv(src)
    assert table.columns == ["sales"] and table.time_name == name and table.time_format == "%Y"
    assert table.timestamps is not None
    assert list(pd.DatetimeIndex(table.timestamps).year) == years
    assert list(table.time_column()) == [str(y) for y in years]
    grid, step = fill_missing_steps(table)
    assert grid.inserted is None and step is not None and grid.time_format == "%Y"


def test_years_with_a_missing_year_are_filled_and_unordered_years_sorted(tmp_path: Path) -> None:
    src = tmp_path / "y.csv"
    years = [2003, 2001, 2000, *range(2004, 2012)]  # 2002 missing, the first rows out of order
    src.write_text("year,sales\n" + "".join(f"{y},{y - 2000}\n" for y in years))
    table = read_wide_csv(src)
    assert table.sorted_rows and list(table.time_column()) == [str(y) for y in sorted(years)]
    grid, _ = fill_missing_steps(table)
    assert grid.inserted is not None and list(grid.time_column()) == [str(y) for y in range(2000, 2012)]
    assert np.isnan(grid.values[0, 2]) and int(np.isnan(grid.values).sum()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "period,sales\n2000,1\n2002,2\n2004,3\n2006,4\n",  # a time-named column of years that skip: not sure
        "value,sales\n2000,1\n2001,2\n2002,3\n",  # not a time name
        "year,sales\n2000.5,1\n2001,2\n2002,3\n",  # not whole numbers
        "year,sales\n100,1\n101,2\n102,3\n",  # out of range
        "year,sales\n2000,1\n,2\n2002,3\n",  # a missing year
    ],
)
def test_columns_that_are_not_surely_years_stay_channels(tmp_path: Path, text: str) -> None:
    src = tmp_path / "n.csv"
    src.write_text(text)
    table = read_wide_csv(src)
    assert table.time is None and table.time_format is None and len(table.columns) == 2


def test_a_pandas_index_column_is_left_out(tmp_path: Path) -> None:
    """``DataFrame.to_csv()`` without ``index=False`` starts the file with an unnamed 0, 1, 2, ... column
    (found in a new-user trial: it became a channel, and before a date column it hid the dates)."""
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=30, freq="h"), "load": np.arange(30.0)})
    with_dates, no_dates, plain = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    frame.to_csv(with_dates)
    frame[["load"]].to_csv(no_dates)
    frame.to_csv(plain, index=False)
    a, b, ref = read_wide_csv(with_dates), read_wide_csv(no_dates), read_wide_csv(plain)
    assert a.index_column == b.index_column == "Unnamed: 0" and ref.index_column is None
    assert a.columns == b.columns == ["load"] and a.time_name == "date"
    np.testing.assert_array_equal(a.values, ref.values)
    np.testing.assert_array_equal(b.values, ref.values)
    assert a.timestamps is not None and ref.timestamps is not None
    np.testing.assert_array_equal(a.timestamps, ref.timestamps)
    frame.iloc[[3, 1, 2, 0, *range(4, 30)]].to_csv(no_dates)  # an index out of order is still an index
    assert read_wide_csv(no_dates).index_column == "Unnamed: 0"
    (tmp_path / "d.csv").write_text(",load\n0.5,1\n1.5,2\n2.5,3\n")  # not whole numbers: a channel
    assert read_wide_csv(tmp_path / "d.csv").columns == ["Unnamed: 0", "load"]


def test_european_csv_decimal_commas_and_dotted_dates(tmp_path: Path) -> None:
    """``;`` between fields, ``1,5`` for 1.5 and ``dd.mm.yyyy`` dates (found in a new-user trial: refused as
    "column 'umsatz' is not numeric", and the dates read month first, 1 January to 1 July)."""
    src = tmp_path / "eu.csv"
    src.write_text(
        "datum;umsatz;besucher\n01.01.2024;1,5;10\n02.01.2024;2,25;11\n03.01.2024;;12\n"
        "04.01.2024;-3,0;13\n05.01.2024;2,5e1;12\n06.01.2024;2;11\n07.01.2024;,75;10\n"
    )
    with pytest.warns(UserWarning, match="decimal comma"):
        table = read_wide_csv(src)
    assert table.columns == ["umsatz", "besucher"]
    np.testing.assert_array_equal(table.values[0], [1.5, 2.25, np.nan, -3.0, 25.0, 2.0, 0.75])
    assert table.timestamps is not None
    assert list(pd.DatetimeIndex(table.timestamps).day) == list(range(1, 8))


@pytest.mark.parametrize(
    "text",
    [
        "a;b\n1,5;1\n2.5;2\n",  # decimal comma and decimal point in one column: not guessed
        "a;b\n1.234,5;1\n2,5;2\n",  # a thousands separator: not guessed
    ],
)
def test_mixed_decimal_marks_are_refused(tmp_path: Path, text: str) -> None:
    src = tmp_path / "m.csv"
    src.write_text(text)
    with pytest.raises(DataFormatError, match="not numeric"):
        read_wide_csv(src)


def test_comma_delimited_files_and_slashed_dates_are_unchanged(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    # quoted text with a comma in a comma csv: refused (pandas 3 read "1,5" as the date 0001-01-05, so the
    # column silently became a time axis of year 1 before MIN_YEAR)
    src.write_text('a,b\n"1,5",1\n"2,5",2\n')
    with pytest.raises(DataFormatError, match="not numeric"):
        read_wide_csv(src)
    dates = pd.Series([f"{m:02d}/01/2024" for m in range(1, 8)], name="d")  # both readings in order
    with pytest.warns(UserWarning, match="month first"):
        got = parse_dates(dates)
    assert got is not None and list(got.dt.month) == list(range(1, 8))


# ------------------------------------------------------------------------------------- fill_gaps


def test_fill_gaps_inserts_each_series_missing_steps() -> None:
    from tinyts.data import fill_gaps

    hourly = pd.date_range("2024-03-30", periods=60, freq="h", tz="Europe/Berlin")  # crosses a DST change
    monthly = pd.date_range("2020-01-01", periods=24, freq="MS")
    a = pd.DataFrame({"unique_id": "a", "ds": hourly, "y": np.arange(60.0), "k": np.arange(60)})
    b = pd.DataFrame({"unique_id": "b", "ds": monthly.tz_localize("Europe/Berlin"), "y": 1.0, "k": 1})
    c = pd.DataFrame({"unique_id": "c", "ds": hourly[:5], "y": 2.0, "k": 2})  # already regular
    df = pd.concat([b.drop(index=[3, 10, 11]), a.drop(index=[7, 30, 31, 32]), c]).sample(
        frac=1, random_state=1
    )
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fill_gaps(df)
    pd.testing.assert_frame_equal(df, before)  # the input is not changed
    assert list(pd.unique(out["unique_id"])) == list(pd.unique(df["unique_id"]))  # first appearance
    for sid, full in (("a", a), ("b", b), ("c", c)):
        got = out[out["unique_id"] == sid].reset_index(drop=True)
        assert list(got["ds"]) == list(full["ds"])
        inserted = ~full["ds"].isin(df.loc[df["unique_id"] == sid, "ds"])
        assert got.loc[inserted.to_numpy(), "y"].isna().all()
        np.testing.assert_array_equal(got.loc[~inserted.to_numpy(), "y"], full.loc[~inserted, "y"])
    assert out["unique_id"].dtype == df["unique_id"].dtype and out.index.equals(pd.RangeIndex(len(out)))
    # the frame then goes through the DataFrame functions without the uneven-steps warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df_to_batch(out)


def test_fill_gaps_explicit_freq_numeric_time_and_what_it_leaves() -> None:
    from tinyts.data import fill_gaps

    num = pd.DataFrame({"unique_id": "n", "ds": [0, 2, 4, 10], "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(UserWarning, match="numeric time column"):
        pd.testing.assert_frame_equal(fill_gaps(num), num)  # numeric time: only with an explicit step
    filled = fill_gaps(num, freq=2)
    assert list(filled["ds"]) == [0, 2, 4, 6, 8, 10] and filled["y"].isna().sum() == 2
    with pytest.raises(ValueError, match="not on a regular grid"):
        fill_gaps(num, freq=4)
    few = pd.DataFrame(
        {"ds": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-04-01", "2020-05-01"]), "y": 1.0}
    )
    with pytest.warns(UserWarning, match="no regular step was inferred.*freq="):
        same = fill_gaps(few, id_col=None)
    assert len(same) == 4
    assert len(fill_gaps(few, id_col=None, freq="MS")) == 5
    with pytest.raises(ValueError, match="duplicate"):
        fill_gaps(pd.concat([num, num]))
    with pytest.raises(ValueError, match="no column|missing"):
        fill_gaps(num, time_col="when")

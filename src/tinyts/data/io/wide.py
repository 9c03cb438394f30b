"""The one reader of wide csv tables: one numeric column per channel, an optional first date column.

Used for the LTSF benchmark files (ETT, exchange rate, illness: ``dates=True``, the first column must
be dates) and for the files users give ``tinyts impute`` / ``detect`` / ``forecast`` / ``prune``
(``dates=None``: a first column that parses as dates is the time axis, otherwise every column is a
channel). What it guarantees (each is a :class:`~tinyts.errors.DataFormatError`, a ``ValueError``,
naming the file and saying what to do; never a silent change):

- every row of the file is a row of the table: blank lines of a one-column file are missing values,
  not skipped lines (``dates=True`` skips blank lines, as the LTSF loaders do); a row with another
  number of fields than the header is refused, naming its line;
- observed numbers are read with round-trip precision, so they are written back bit-identical;
- a first column without a header holding distinct whole numbers (the index ``DataFrame.to_csv()``
  writes unless ``index=False``) is row numbering, not a channel: left out (``TableSeries.index_column``
  says so; outputs do not repeat it);
- a first column of years (whole numbers within 1000-2999 named ``year``, ``yr``, ``fiscal_year``, ...,
  or consecutive ones named ``date``, ``ds``, ``time``, ``period``, ...) is the time axis (1 January of
  each year; written back as years), not a channel;
- a date column is parsed completely (a value that is not a date is an error), rows that are not in
  time order are sorted by it (``TableSeries.sorted_rows`` says so), and duplicate dates are refused;
- a channel with no value, an infinite value or a non-numeric cell is refused;
- the delimiter is sniffed among ``,`` ``;`` tab and ``|``; with another delimiter than ``,``, numbers
  written with a decimal comma (``1,5``, the European layout) are read as decimals (with a warning);
  dotted dates (``31.01.2024``) that read both ways in file order are read day first;
- a long-format file (``unique_id,ds,y``) is recognised and the message says which options read it
  (the CLI reads a file whose header is exactly those three names as long format by itself:
  :func:`nixtla_long_header`).
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyts.data.convert.frames import infer_grid
from tinyts.data.io._util import as_path, check_field_counts, fail, read_text
from tinyts.data.types import TableSeries

__all__ = [
    "DELIMITERS",
    "NIXTLA_LONG",
    "YEAR_FORMAT",
    "csv_header",
    "fill_missing_steps",
    "nixtla_long_header",
    "parse_dates",
    "read_csv_frame",
    "read_wide_csv",
    "sniff_delimiter",
]

#: delimiters a csv may use (sniffed from the first lines)
DELIMITERS = ",;\t|"

LONG_HINT = (
    "it looks like a long-format file (one row per series and time step): pass "
    "--id-col {id} --time-col {time} --target-col {target}"
)


#: the long-format columns of Nixtla's libraries (and of tinyts' DataFrame functions)
NIXTLA_LONG = ("unique_id", "ds", "y")


def csv_header(path: str | Path) -> list[str]:
    """The names in a csv's first row (delimiter sniffed, spaces stripped); ``[]`` for an empty or
    unreadable file (the reader that follows reports it). Only the first 64 KiB are read."""
    try:
        with as_path(path).open(encoding="utf-8-sig", errors="replace") as fh:
            head = fh.read(64 * 1024)
    except OSError:
        return []
    lines = head.splitlines()
    if not lines:
        return []
    return [c.strip() for c in next(csv.reader([lines[0]], delimiter=sniff_delimiter(head)), [])]


def nixtla_long_header(path: str | Path) -> bool:
    """Whether a csv's header is exactly ``unique_id``, ``ds``, ``y`` (in any order).

    Such a file is long format without doubt (a wide csv has one numeric column per channel), so the CLI
    reads it as long format without ``--id-col`` / ``--time-col`` / ``--target-col`` (and says so).
    Unreadable files answer False: the reader that follows reports them.
    """
    return sorted(csv_header(path)) == sorted(NIXTLA_LONG)


def sniff_delimiter(text: str) -> str:
    """The delimiter of a csv's text: ``,`` when the first line has one, else the sniffed one."""
    head = text[: 64 * 1024]
    first = head.splitlines()[0] if head else ""
    if "," in first or not first:
        return ","
    try:
        return csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return next((d for d in DELIMITERS if d in first), ",")


def read_csv_frame(path: str | Path, *, skip_blank_lines: bool = False) -> tuple[Path, pd.DataFrame]:
    """Every row of a csv (blank lines too, unless skipped), delimiter sniffed, floats read round-trip.

    Raises
    ------
    TypeError
        ``path`` is not a str or Path.
    FileNotFoundError
        No such file.
    DataFormatError
        Not UTF-8 text, empty, rows with another number of fields than the header, unparsable, or a
        header without rows.
    """
    p = as_path(path)
    text = read_text(p)
    sep = sniff_delimiter(text)
    check_field_counts(text, sep, p)
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=sep, skip_blank_lines=skip_blank_lines, float_precision="round_trip"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise fail(p, f"could not be read as csv: {exc}") from exc
    if df.empty:
        raise fail(p, "the file has a header but no rows")
    if sep != "," and _decimal_commas(df):
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            skip_blank_lines=skip_blank_lines,
            decimal=",",
            float_precision="round_trip",
        )
        warnings.warn(
            f"{p.name}: numbers with a decimal comma (e.g. 1,5) are read as decimals; outputs are written "
            "with decimal points and comma delimiters",
            UserWarning,
            stacklevel=2,
        )
    return p, df


#: a number written with a decimal comma (``1,5``, ``-0,25``, ``3``, ``1,5e-3``)
_COMMA_NUMBER = r"\s*[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?\s*"


def _decimal_commas(df: pd.DataFrame) -> bool:
    """Whether some text column of a csv with another delimiter than ``,`` holds only numbers written with a
    decimal comma (at least one with the comma): the European csv layout (``;`` between fields)."""
    for c in df.columns:
        if pd.api.types.is_numeric_dtype(df[c]):
            continue
        cells = df[c].dropna().astype(str)
        if len(cells) and cells.str.fullmatch(_COMMA_NUMBER).all() and cells.str.contains(",").any():
            return True
    return False


def parse_dates(col: pd.Series) -> pd.Series | None:
    """The column parsed as dates if more than 90 % of its cells are dates, else None.

    One format for the whole column first (pandas infers it from the first date; month first for an
    ambiguous ``01/02/2020``, as pandas reads it). Where that leaves cells unread, the same with the
    day first (``13/01/2020``), taken when it reads every cell. When both read every cell to other
    dates (``01/02/2020``, ``01/03/2020``, ...), the reading whose dates are in file order wins; if
    both or neither are, month first is kept and a ``UserWarning`` says so. Last, cell by cell
    (``format="mixed"``, e.g. dates with and without a time of day).

    Raises
    ------
    ValueError
        Cell-by-cell reading where some cells would be other dates read day first: a column that
        mixes ``13/01/2020`` with ``02/01/2020`` cannot be read without scrambling the time order.
    """
    present = int(col.notna().sum())
    note = None
    # year first (2020-01-05, 2020/01/05): never read day first (pandas would read 2020-05-01)
    year_first = col.astype(str).str.match(r"\s*\d{4}\D").to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Could not infer format" is not the user's concern here
        got = _to_datetime(col)
        iso = bool(year_first[col.notna().to_numpy()].all())
        if got is None:  # several UTC offsets (a zone with daylight saving time): one instant axis
            parsed = _datetimes(col, errors="coerce", utc=True)
            note = (
                f"the dates of column {col.name!r} carry several UTC offsets (daylight saving time?); "
                "they are read as UTC instants and written back in UTC"
            )
        elif present and not pd.api.types.is_numeric_dtype(col) and not iso:
            parsed = got
            first_day = _datetimes(col, errors="coerce", dayfirst=True)
            if int(first_day.notna().sum()) == present and (parsed.notna() != first_day.notna()).any():
                parsed = first_day  # only the day-first reading reads every cell
            elif int(parsed.notna().sum()) == present and not parsed.equals(first_day):
                if int(first_day.notna().sum()) == present:
                    parsed, note = _pick_reading(col, parsed, first_day)
        else:
            parsed = got
        if parsed.notna().mean() <= 0.9:
            try:
                parsed = _datetimes(col, errors="coerce", format="mixed")
                first_day = _datetimes(col, errors="coerce", format="mixed", dayfirst=True)
            except (ValueError, TypeError):
                return None
            differ = (parsed.notna() & first_day.notna() & (parsed != first_day)).to_numpy() & ~year_first
            if parsed.notna().mean() > 0.9 and differ.any():
                r = int(np.argmax(differ))
                raise ValueError(
                    f"the dates of column {col.name!r} are in more than one format and some read "
                    f"differently day first, e.g. {col.iloc[r]!r} ({parsed.iloc[r].date()} or "
                    f"{first_day.iloc[r].date()}); write them in one format, best YYYY-MM-DD"
                )
    if parsed.notna().mean() <= 0.9:
        return None
    if note is not None:
        warnings.warn(note, UserWarning, stacklevel=2)
    return parsed


#: the earliest year a date cell may read as: pandas 3 reads text such as ``1,5`` as 5 January of year 1
MIN_YEAR = 1000


def _datetimes(col: pd.Series, **kwargs: Any) -> pd.Series:
    """``pd.to_datetime(col, **kwargs)`` with cells that read as a year before :data:`MIN_YEAR` unread
    (NaT): such a reading is an artefact of the parser, not a date (``1,5`` -> 0001-01-05 under pandas 3)."""
    out = pd.to_datetime(col, **kwargs)
    if isinstance(out, pd.Series) and out.dtype != object and bool((out.dt.year < MIN_YEAR).any()):
        out = out.mask(out.dt.year < MIN_YEAR)
    return out


def _to_datetime(col: pd.Series) -> pd.Series | None:
    """``pd.to_datetime`` of the column (unparsable cells NaT); None when its cells carry several
    UTC offsets (pandas 3 refuses them, pandas 2 returns objects)."""
    try:
        out = _datetimes(col, errors="coerce")
    except ValueError as exc:
        if "timezone" in str(exc).lower() or "utc" in str(exc).lower():
            return None
        raise
    return None if out.dtype == object else out


def _pick_reading(
    col: pd.Series, month_first: pd.Series, day_first: pd.Series
) -> tuple[pd.Series, str | None]:
    """Two complete readings of ambiguous dates: the one in file order; else day first for dotted dates
    (``dd.mm.yyyy``, as every locale that writes dots does), else month first with a note."""
    a, b = month_first.is_monotonic_increasing, day_first.is_monotonic_increasing
    if a != b:
        return (month_first if a else day_first), None
    cells = col.dropna().astype(str)
    if len(cells) and bool(cells.str.match(r"\s*\d{1,2}\.\d{1,2}\.\d{2,4}\b").all()):
        return day_first, None
    r = int(np.argmax((month_first != day_first).to_numpy()))
    return month_first, (
        f"the dates of column {col.name!r} read both month first and day first (e.g. "
        f"{col.iloc[r]!r}: {month_first.iloc[r].date()} or {day_first.iloc[r].date()}); they are "
        "read month first. Write dates as YYYY-MM-DD to be sure"
    )


def _long_hint(columns: list[str]) -> str:
    low = {c.lower(): c for c in columns}
    ids = next((low[c] for c in ("unique_id", "id", "series", "item_id", "series_id") if c in low), None)
    times = next((low[c] for c in ("ds", "date", "timestamp", "time", "datetime") if c in low), None)
    targets = next((low[c] for c in ("y", "value", "target") if c in low), None)
    if ids and times and targets:
        return "; " + LONG_HINT.format(id=ids, time=times, target=targets)
    return ""


def _required_dates(p: Path, df: pd.DataFrame) -> pd.Series:
    """The first column as dates, for files whose layout requires them (LTSF)."""
    first = df.columns[0]
    if df.shape[1] < 2:
        raise fail(p, f"expected a date column and at least one value column, found {df.shape[1]} column(s)")
    if pd.api.types.is_numeric_dtype(df[first]):
        raise fail(
            p,
            f"the first column {first!r} holds numbers, not dates; an LTSF csv starts with a date column "
            "(e.g. 'date')",
        )
    try:
        parsed = pd.to_datetime(df[first])
    except (ValueError, TypeError):
        try:
            parsed = pd.to_datetime(df[first], format="mixed")
        except (ValueError, TypeError) as exc:
            raise fail(p, f"cannot parse the first column {first!r} as dates: {exc}") from exc
    if parsed.isna().any():
        raise fail(p, f"missing date in column {first!r}", int(parsed.isna().to_numpy().argmax()) + 2)
    return parsed


def _pandas_index(df: pd.DataFrame) -> str | None:
    """The name of a first column that is a pandas index written by ``DataFrame.to_csv()`` (no header,
    so pandas reads it as ``Unnamed: 0``; distinct whole numbers), else None."""
    first = df.columns[0]
    if str(first) != "Unnamed: 0" or df.shape[1] < 2:
        return None
    col = df[first]
    if not pd.api.types.is_integer_dtype(col) or not col.is_unique:
        return None
    return str(first)


#: years a numeric ``year`` column may hold to be read as the time axis
YEAR_RANGE = (1000, 2999)

#: ``TableSeries.time_format`` of a time axis read from a column of years
YEAR_FORMAT = "%Y"


#: names of a time column that, holding consecutive whole numbers in :data:`YEAR_RANGE`, hold years
TIME_NAMES = frozenset({"date", "ds", "time", "period", "timestamp", "datetime"})


def _years(df: pd.DataFrame, label_col: str | None) -> pd.Series | None:
    """A numeric first column of years as dates on 1 January; else None (the column stays a channel).

    Years: whole numbers in :data:`YEAR_RANGE`, none missing, in a column named ``year`` / ``yr`` /
    ``*year*``, or named as a time column (:data:`TIME_NAMES`) and holding consecutive years.
    """
    first = df.columns[0]
    name = str(first).strip().lower()
    col = df[first]
    yearly = "year" in name or name == "yr"
    if label_col == first or not (yearly or name in TIME_NAMES) or df.shape[1] < 2:
        return None
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col) or col.isna().any():
        return None
    vals = col.to_numpy(dtype=np.float64)
    lo, hi = YEAR_RANGE
    if not (np.all(vals == np.round(vals)) and vals.min() >= lo and vals.max() <= hi):
        return None
    if not yearly and not (np.diff(np.sort(vals)) == 1).all():
        return None
    return pd.Series(pd.to_datetime(vals.astype(np.int64).astype(str), format="%Y"), name=first)


def _optional_dates(p: Path, df: pd.DataFrame, label_col: str | None) -> pd.Series | None:
    """The first column as dates when it is one (more than 90 % dates), else None."""
    first = df.columns[0]
    if pd.api.types.is_numeric_dtype(df[first]) or label_col == first:
        return None
    try:
        parsed = parse_dates(df[first])
    except ValueError as exc:
        raise fail(p, str(exc)) from None
    if parsed is None:
        return None
    bad = parsed.isna().to_numpy()
    if bad.any():
        r = int(np.argmax(bad))
        raise fail(
            p,
            f"{int(bad.sum())} value(s) of the date column {first!r} are not dates, e.g. row {r + 2} "
            f"({df[first].iloc[r]!r}); fix or remove those rows",
        )
    return parsed


def _read_labels(col: pd.Series, name: str, p: Path) -> np.ndarray:
    vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text_bad = col.notna().to_numpy() & np.isnan(vals)
    bad = text_bad | (~np.isnan(vals) & (vals != 0) & (vals != 1))
    if bad.any():
        r = int(np.argmax(bad))
        raise fail(
            p,
            f"label column {name!r} must hold 0 (normal), 1 (anomaly) or an empty cell (unlabelled); "
            f"row {r + 2} holds {col.iloc[r]!r} ({int(bad.sum())} such row(s))",
        )
    return vals


def _channels(p: Path, df: pd.DataFrame, columns: list[str], dates: bool | None) -> np.ndarray:
    """The remaining columns as ``(channels, time)`` float64, each checked."""
    shape = (
        "a date column and one numeric column per channel"
        if dates
        else ("one numeric column per channel (and an optional first date column)")
    )
    for c in df.columns:
        if pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        raw = df[c]
        bad = (pd.to_numeric(raw, errors="coerce").isna() & raw.notna()).to_numpy()
        r = int(np.argmax(bad))
        raise fail(
            p,
            f"column {str(c)!r} is not numeric (non-numeric value {raw.iloc[r]!r} on row {r + 2}); "
            f"expected {shape}{_long_hint(columns)}",
        )
    if df.shape[1] == 0:
        raise fail(p, "has no numeric columns" if not dates else f"expected {shape}, found no value column")
    values = df.to_numpy(dtype=np.float64, na_value=np.nan).T
    for i, name in enumerate(df.columns):
        inf = np.isinf(values[i])
        if inf.any():
            raise fail(
                p,
                f"column {str(name)!r} has {int(inf.sum())} infinite value(s), e.g. row "
                f"{int(np.argmax(inf)) + 2}; use an empty cell for a missing value",
            )
        if np.isnan(values[i]).all():
            raise fail(p, f"column {str(name)!r} has no values; remove it or fill at least one cell")
    return np.ascontiguousarray(values)


def read_wide_csv(
    path: str | Path, *, label_col: str | None = None, dates: bool | None = None
) -> TableSeries:
    """Read a wide csv: one numeric column per channel, an optional first date column.

    Parameters
    ----------
    path : str or Path
        The csv file (header row; delimiter ``,`` ``;`` tab or ``|``).
    label_col : str, optional
        A column of anomaly labels (0, 1 or empty), returned as ``labels`` and not as a channel.
    dates : bool or None
        ``None`` (default): the first column is the time axis when it parses as dates. ``True``: it
        must be dates (the LTSF layout; blank lines are skipped).

    Returns
    -------
    TableSeries
        ``values`` ``(n_channels, n_time)`` float64 in time order (NaN = missing), ``columns``, and
        with a date column ``time`` / ``timestamps`` / ``time_name``; ``labels`` when named.

    Raises
    ------
    TypeError
        ``path`` is not a str or Path.
    FileNotFoundError
        No such file.
    DataFormatError
        A ``ValueError``: unreadable or empty file, a row with another number of fields, a date column
        with values that are not dates or with duplicate dates (or, with ``dates=True``, a first
        column that is not dates), a non-numeric channel cell (with a hint for long-format files),
        an infinite value, a channel without any value, labels other than 0, 1 or empty.
    """
    p, df = read_csv_frame(path, skip_blank_lines=bool(dates))
    index_column = _pandas_index(df)
    if index_column is not None:
        df = df.drop(columns=index_column)
    columns = [str(c) for c in df.columns]
    years = None if dates else _years(df, label_col)
    if years is not None:
        time: pd.Series | None = years
    else:
        time = _required_dates(p, df) if dates else _optional_dates(p, df, label_col)
    time_name = None
    if time is not None:
        time_name = str(df.columns[0])
        time = time.reset_index(drop=True)
        df = df.drop(columns=df.columns[0])
    labels = None
    if label_col is not None:
        if label_col not in df.columns:
            raise fail(p, f"label column {label_col!r} is not in the file; columns: {columns}")
        labels = _read_labels(df.pop(label_col), label_col, p)
    values = _channels(p, df, columns, dates)
    sorted_rows = False
    if time is not None:
        stamps = time.to_numpy()
        order = np.argsort(stamps, kind="stable")
        ordered = stamps[order]
        dup = ordered[1:] == ordered[:-1]
        if dup.any():
            when = ordered[1:][dup][0]
            rows = [int(r) + 2 for r in np.flatnonzero(stamps == when)[:3]]
            raise fail(
                p,
                f"the date {pd.Timestamp(when)} appears {int((stamps == when).sum())} times (rows "
                f"{', '.join(map(str, rows))}); each time step may have one row: remove or merge duplicates",
            )
        if (order != np.arange(len(order))).any():
            sorted_rows = True
            time = time.iloc[order].reset_index(drop=True)
            values = np.ascontiguousarray(values[:, order])
            if labels is not None:
                labels = labels[order]
    return TableSeries(
        name=p.stem,
        values=values,
        columns=[str(c) for c in df.columns],
        timestamps=None if time is None else _naive_ns(time),
        path=p,
        time=time,
        time_name=time_name,
        labels=labels,
        sorted_rows=sorted_rows,
        time_format=None if years is None else YEAR_FORMAT,
        index_column=index_column,
    )


def fill_missing_steps(table: TableSeries, freq: Any = None) -> tuple[TableSeries, Any | None]:
    """The table on a regular time grid: time steps missing from its dates become rows of NaN.

    A daily file without 2020-02-20 .. 2020-02-22 has three rows inserted there (every channel NaN,
    labels NaN), so the models see the gap as unobserved steps instead of joining its two sides.

    Parameters
    ----------
    table : TableSeries
        As read by :func:`read_wide_csv` (in time order).
    freq : pandas frequency, optional
        The step (``"D"``, ``"h"``, ``"MS"``, an offset). Default: inferred with
        :func:`tinyts.data.convert.frames.infer_grid` (at most half the grid's steps missing).

    Returns
    -------
    (TableSeries, freq)
        The table with ``inserted`` marking the new rows (the same object when none are inserted),
        and the step used: ``freq``, the inferred step, or None when the table has no date column or
        fewer than 3 rows, or its dates fit no regular grid (then the table is returned unchanged
        and its rows are consecutive steps).

    Raises
    ------
    DataFormatError
        With ``freq``: a date that is not on the grid of that step from the first date.
    """
    if table.time is None or table.n_time == 0:
        return table, None
    index = pd.DatetimeIndex(table.time)
    step = freq if freq is not None else infer_grid(index)
    if step is None:
        return table, None
    grid = pd.date_range(index[0], index[-1], freq=step)
    pos = grid.get_indexer(index)
    if (pos < 0).any():
        r = int(np.argmax(pos < 0))
        where = table.path if table.path is not None else Path(table.name)
        raise fail(
            where,
            f"the date {index[r]} is not on the grid of step {freq!r} from {index[0]}; pass the "
            "step the dates follow (or none, to infer it)",
        )
    if len(grid) == table.n_time:
        return table, step
    values = np.full((table.n_channels, len(grid)), np.nan)
    values[:, pos] = table.values
    labels = None
    if table.labels is not None:
        labels = np.full(len(grid), np.nan)
        labels[pos] = table.labels
    inserted = np.ones(len(grid), dtype=bool)
    inserted[pos] = False
    time = pd.Series(grid, name=table.time.name)
    return (
        replace(
            table,
            values=values,
            timestamps=_naive_ns(time),
            time=time,
            labels=labels,
            inserted=inserted,
        ),
        step,
    )


def _naive_ns(time: pd.Series) -> np.ndarray:
    """``datetime64[ns]`` of a parsed date column (UTC when it carries a time zone)."""
    if isinstance(time.dtype, pd.DatetimeTZDtype):
        time = time.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(time.to_numpy(dtype="datetime64[ns]"))

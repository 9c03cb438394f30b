"""DataFrame side of the input boundary: long DataFrames (Nixtla naming) to a :class:`Batch` and back.

``df_to_batch`` reads a long frame with ``id_col`` / ``time_col`` / ``target_col`` (defaults
``unique_id``, ``ds``, ``y``); ``batch_to_df`` and ``batch_to_df_horizon`` write results back in the
same long form, the latter with future timestamps.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tinyts.data.convert.arrays import (
    Batch,
    _check_align,
    _fill_observed,
    _output_numpy,
    _pad,
)
from tinyts.errors import IrregularStepError


def _require_columns(df: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"DataFrame has no column(s) {missing}; its columns are {list(df.columns)}. "
            "Name the columns with id_col=, time_col=, target_col="
        )


def time_key(ts: pd.Series, time_col: str) -> np.ndarray:
    """Sortable int/float key of a time column; rejects strings and other types."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(ts.dtype):
        return pd.DatetimeIndex(ts).asi8
    if pd.api.types.is_numeric_dtype(ts.dtype) and not pd.api.types.is_bool_dtype(ts.dtype):
        return ts.to_numpy()
    raise TypeError(
        f"time column {time_col!r} has dtype {ts.dtype}; it must be datetime or numeric "
        "(convert text dates with pd.to_datetime)"
    )


def _regular(index: pd.Index, freq: Any, label: str) -> tuple[pd.Index, np.ndarray]:
    """The regular grid from the first to the last timestamp, and each timestamp's grid position."""
    if isinstance(index, pd.DatetimeIndex):
        grid: pd.Index = pd.date_range(index[0], index[-1], freq=freq)
        pos = grid.get_indexer(index)
    else:
        if isinstance(freq, bool) or not isinstance(freq, (int, float, np.integer, np.floating)) or freq <= 0:
            raise ValueError(f"a numeric time column needs a positive numeric freq, got {freq!r}")
        raw = (index.to_numpy() - index[0]) / freq
        steps = np.rint(raw).astype(np.int64)
        pos = np.where(np.isclose(raw, steps), steps, -1)
        grid = pd.Index(index[0] + np.arange(int(steps[-1]) + 1) * freq)
    if (pos < 0).any():
        raise ValueError(
            f"{label}: timestamp {index[int(np.argmax(pos < 0))]} is not on a regular grid "
            f"of freq={freq!r} starting at {index[0]}"
        )
    return grid, pos


def _series_order(
    df: pd.DataFrame, id_col: str | None, time_col: str
) -> tuple[pd.Index, npt.NDArray[np.intp], np.ndarray, npt.NDArray[np.intp]]:
    """Rows in (series, time) order, with the checks every long-frame reader needs.

    Returns the series ids (order of first appearance), then the sorted rows' series codes and time keys
    and the order itself (``df.iloc[order]`` is sorted). Raises ValueError for missing ids or times and for
    duplicate ``(id, time)`` rows (naming the first); TypeError for a time column of another type.
    """
    if id_col is not None:
        if df[id_col].isna().any():
            raise ValueError(f"id column {id_col!r} has missing values")
        codes, ids = pd.factorize(df[id_col], sort=False)
        ids = pd.Index(ids, name=id_col)
    else:
        codes, ids = np.zeros(len(df), dtype=np.int64), pd.Index([0])
    if df[time_col].isna().any():
        raise ValueError(f"time column {time_col!r} has missing values")
    key = time_key(df[time_col], time_col)
    order = np.lexsort((key, codes))
    codes, key = codes[order], key[order]
    dup = (codes[1:] == codes[:-1]) & (key[1:] == key[:-1])
    if dup.any():
        r = order[int(np.argmax(dup)) + 1]
        who = f"{id_col}={df[id_col].iloc[r]!r}, " if id_col is not None else ""
        raise ValueError(
            f"{int(dup.sum())} duplicate (id, time) row(s), e.g. ({who}{time_col}="
            f"{df[time_col].iloc[r]!r}); each series may have one row per time"
        )
    return ids, codes, key, order


def df_to_batch(
    df: pd.DataFrame,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    align: str = "right",
    freq: Any = None,
    min_length: int = 1,
    allow_nan: bool = True,
) -> Batch:
    """Convert a long DataFrame (one row per series and time) to a :class:`Batch`.

    Parameters
    ----------
    df : pd.DataFrame
        Long format, Nixtla naming by default: ``unique_id``, ``ds``, ``y``.
    id_col : str or None
        Series id column; None means the whole frame is one series.
    time_col : str
        Time column, datetime (naive or tz-aware) or numeric. Rows are sorted by it per series.
    target_col : str or list of str
        Value column(s); several columns make a multivariate series (one channel each).
    align : {"right", "left"}
        Alignment of series of unequal length (see :func:`to_batch`).
    freq : str, offset, number, optional
        If given, each series is put on a regular grid of this step from its first to its last
        timestamp and missing steps become NaN (unobserved; outputs get rows for them). If None,
        rows are taken as consecutive steps and a ``UserWarning`` names series with uneven steps.
        ``"infer"``: each datetime series with uneven steps is put on the grid of its own step
        (:func:`infer_grid`; a ``UserWarning`` counts the inserted steps); series that fit no grid
        are taken as consecutive rows (warned as with None). The batch's ``freq`` is then None.
    min_length, allow_nan
        As in :func:`to_batch`.

    Returns
    -------
    Batch
        ``kind="dataframe"``; series in order of first appearance; ids and timestamps kept.

    Raises
    ------
    TypeError
        Not a DataFrame, or a non-numeric target / non-datetime, non-numeric time column.
    ValueError
        Missing columns (the message lists those present), missing ids or times, duplicate
        ``(id, time)`` rows, off-grid timestamps with ``freq``, and everything :func:`to_batch` rejects.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}; use to_batch for arrays")
    _check_align(align)
    targets = [target_col] if isinstance(target_col, str) else list(target_col)
    if not targets:
        raise ValueError("target_col must name at least one column")
    _require_columns(df, ([id_col] if id_col is not None else []) + [time_col, *targets])
    if len(df) == 0:
        raise ValueError(
            f"df has no rows; pass a long DataFrame with one row per series and time step (columns "
            f"{id_col!r}, {time_col!r}, {targets})"
        )
    for col in targets:
        dt = df[col].dtype
        api = pd.api.types
        if api.is_bool_dtype(dt) or not api.is_numeric_dtype(dt) or api.is_complex_dtype(dt):
            raise TypeError(
                f"target column {col!r} has dtype {dt}; values must be real numbers (NaN = missing)"
            )
    ids, codes, key, order = _series_order(df, id_col, time_col)
    values = df[targets].to_numpy(dtype=np.float64, na_value=np.nan)[order]
    times = pd.Index(df[time_col].array).take(order)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(ids)))])
    labels = [f"series {i!r}" if id_col is not None else "the series" for i in ids]
    arrays, stamps = [], []
    uneven: list[str] = []
    infer = isinstance(freq, str) and freq == "infer"
    inserted: dict[str, int] = {}
    for i in range(len(ids)):
        a, b = int(bounds[i]), int(bounds[i + 1])
        vals, ts = values[a:b], times[a:b]
        uneven_steps = b - a > 2 and np.ptp(np.diff(key[a:b])) != 0
        step = freq
        if infer:
            step = infer_grid(ts) if uneven_steps and isinstance(ts, pd.DatetimeIndex) else None
        if step is not None:
            n_rows = len(ts)
            ts, pos = _regular(ts, step, labels[i])
            full = np.full((len(ts), len(targets)), np.nan)
            full[pos] = vals
            vals = full
            if infer and len(ts) > n_rows:
                inserted[labels[i]] = len(ts) - n_rows
        elif uneven_steps:
            if not (isinstance(ts, pd.DatetimeIndex) and pd.infer_freq(ts) is not None):
                uneven.append(labels[i])
        arrays.append(vals.T)
        stamps.append(ts)
    if uneven:
        warnings.warn(
            f"{len(uneven)} series have uneven time steps ({', '.join(uneven[:3])}"
            f"{', ...' if len(uneven) > 3 else ''}); rows are used as consecutive steps. "
            "Insert the missing steps as rows with NaN targets: fill_gaps(df) (from tinyts.data) infers "
            "each series' step (forecast_df does it itself; df_to_batch with freq=).",
            UserWarning,
            stacklevel=2,
        )
    if inserted:
        names = list(inserted)
        warnings.warn(
            f"{sum(inserted.values())} time step(s) missing from the timestamps of {len(names)} series "
            f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}) were inserted as missing values",
            UserWarning,
            stacklevel=2,
        )
    out_values, observed, lengths = _pad(arrays, [2] * len(arrays), labels, align, min_length, allow_nan)
    floats = [d for d in (df[c].dtype for c in targets) if isinstance(d, np.dtype) and d.kind == "f"]
    out_dtype = np.result_type(*floats) if len(floats) == len(targets) else np.dtype(np.float64)
    return Batch(
        values=out_values,
        observed=observed,
        lengths=lengths,
        kind="dataframe",
        align=align,
        dtype=out_dtype,
        source=arrays,
        ids=ids,
        timestamps=stamps,
        id_col=id_col,
        time_col=time_col,
        target_cols=targets,
        freq=None if infer else freq,
    )


def _value_names(value_col: str | Sequence[str] | None, n: int, batch: Batch) -> list[str]:
    if value_col is None:
        if batch.target_cols is not None and len(batch.target_cols) == n:
            return list(batch.target_cols)
        return ["y"] if n == 1 else [f"y{c}" for c in range(n)]
    names = [value_col] if isinstance(value_col, str) else list(value_col)
    if len(names) != n:
        raise ValueError(f"value_col names {len(names)} column(s) but the values have {n} channel(s)")
    return names


def _frame(
    batch: Batch, ids: pd.Index, times: list[pd.Index], vals: np.ndarray, names: list[str]
) -> pd.DataFrame:
    counts = [len(t) for t in times]
    cols: dict[str, Any] = {}
    if batch.id_col is not None or batch.kind != "dataframe":
        cols[batch.id_col or "unique_id"] = ids.repeat(counts)
    stamps = times[0].append(times[1:]) if len(times) > 1 else times[0]
    cols[batch.time_col or "ds"] = stamps
    out = pd.DataFrame(cols)
    for c, nm in enumerate(names):
        out[nm] = vals[:, c].astype(batch.dtype if batch.backend == "numpy" else np.float64)
    return out


def _ids_times(batch: Batch) -> tuple[pd.Index, list[pd.Index]]:
    ids: pd.Index = batch.ids if batch.ids is not None else pd.Index(range(batch.n_series))
    times: list[pd.Index] = (
        batch.timestamps if batch.timestamps is not None else [pd.Index(range(n)) for n in batch.lengths]
    )
    return ids, times


def batch_to_df(
    values: Any, batch: Batch, *, value_col: str | Sequence[str] | None = None, fill_observed: bool = False
) -> pd.DataFrame:
    """A ``(batch, channels, time)`` result on the input's time axis as a long DataFrame.

    Columns: ``id_col``, ``time_col`` (the input's ids and timestamps; for non-DataFrame input
    ``unique_id`` 0..n-1 and ``ds`` positions 0..length-1), then one value column per channel, named
    ``value_col`` (default: the input's target columns, else ``"y"`` / ``"y0", "y1", ...``). Padding
    is dropped; with ``fill_observed`` observed points keep their input values.
    """
    arr = _output_numpy(values, "values")
    if arr.ndim != 3 or arr.shape[0] != batch.n_series or arr.shape[2] != batch.n_time:
        raise ValueError(
            f"values must have shape (n_series={batch.n_series}, channels, n_time={batch.n_time}), "
            f"got {arr.shape}; for forecasts use batch_to_df_horizon"
        )
    if fill_observed:
        arr = _fill_observed(arr, batch)
    names = _value_names(value_col, arr.shape[1], batch)
    ids, times = _ids_times(batch)
    vals = np.moveaxis(arr, 1, 2)[batch.valid_mask()]  # (sum of lengths, channels), series-major
    return _frame(batch, ids, times, vals, names)


_FIXED_STEP = np.timedelta64(28 * 24 * 3600, "s")  # constant steps shorter than this are fixed frequencies


def fill_gaps(
    df: pd.DataFrame,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    freq: Any = "infer",
) -> pd.DataFrame:
    """The long frame with every series' missing time steps inserted as rows (NaN in the other columns).

    What ``impute_df`` and ``detect_df`` need when a series skips time steps (they take the rows as
    consecutive steps, with a warning); ``forecast_df`` and ``tinyts impute`` do it themselves.

    Parameters
    ----------
    df : pd.DataFrame
        Long format (one row per series and time step).
    id_col : str or None
        Series id column; None means the whole frame is one series.
    time_col : str
        Time column, datetime (naive or tz-aware) or numeric.
    freq : "infer", str, offset or number
        ``"infer"``: each datetime series gets the grid of its own step (:func:`infer_grid`); a series
        that fits no grid (warned: e.g. monthly dates with a gap among fewer than about 8 points),
        and every numeric series, is left as it is. Otherwise the step of every
        series (a pandas frequency such as ``"h"``, ``"MS"``, or a number for a numeric time column).

    Returns
    -------
    pd.DataFrame
        Rows sorted by series (in order of first appearance) and time, a new ``RangeIndex``; inserted rows
        hold the id and time and NaN elsewhere (integer and bool columns become float / object when
        rows are inserted). The input is not changed.

    Raises
    ------
    TypeError
        Not a DataFrame, or a time column that is neither datetime nor numeric.
    ValueError
        Missing columns, missing ids or times, duplicate ``(id, time)`` rows, or with an explicit
        ``freq`` a timestamp that is not on that grid.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    _require_columns(df, ([id_col] if id_col is not None else []) + [time_col])
    _, codes, key, order = _series_order(df, id_col, time_col)
    ordered = df.take(order).reset_index(drop=True)
    infer = isinstance(freq, str) and freq == "infer"
    dated = pd.api.types.is_datetime64_any_dtype(ordered[time_col].dtype)
    bounds = np.flatnonzero(np.diff(codes)) + 1
    pieces = []
    left: list[str] = []  # uneven series that fit no grid
    for part in np.split(np.arange(len(ordered)), bounds):
        g = ordered.take(part)
        times = pd.DatetimeIndex(g[time_col]) if dated else pd.Index(g[time_col].to_numpy())
        label = f"series {g[id_col].iloc[0]!r}" if id_col is not None else "the series"
        step = freq
        if infer:
            uneven = len(times) > 2 and np.ptp(np.diff(key[part])) != 0
            step = infer_grid(times) if dated and uneven else None
            if uneven and step is None:
                left.append(label)
        if step is None or len(times) < 2:
            pieces.append(g)
            continue
        grid, pos = _regular(times, step, label)
        if len(grid) == len(g):
            pieces.append(g)
            continue
        full = g.set_index(pd.Index(pos)).reindex(pd.RangeIndex(len(grid)))
        full[time_col] = grid
        if id_col is not None:
            full[id_col] = g[id_col].iloc[0]
        pieces.append(full)
    if left:
        warnings.warn(
            f"{len(left)} series have uneven time steps and no regular step was inferred "
            f"({', '.join(left[:3])}{', ...' if len(left) > 3 else ''}); they are left as they are: pass "
            "freq= (e.g. 'MS', 'h'; a number for a numeric time column)",
            UserWarning,
            stacklevel=2,
        )
    out = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0].reset_index(drop=True)
    if id_col is not None:
        out[id_col] = out[id_col].astype(df[id_col].dtype)
    return out


def infer_grid(index: pd.DatetimeIndex, max_missing: float = 0.5) -> Any | None:
    """The regular step of increasing timestamps of which some steps may be missing.

    Parameters
    ----------
    index : pd.DatetimeIndex
        Strictly increasing timestamps (naive or tz-aware).
    max_missing : float
        The largest share of the grid's steps that may be missing; timestamps that would need more
        inserted steps are not taken as a regular series with gaps.

    Returns
    -------
    pandas offset or None
        The step (e.g. ``<Day>``, ``<MonthEnd>``, ``<BusinessDay>``, or a fixed ``Timedelta`` step)
        of a grid from the first to the last timestamp that holds every timestamp; None for fewer
        than 3 timestamps or when no such grid is found (irregular times). Candidates are the
        frequency pandas infers for the whole index, then those it infers on runs of 5 consecutive
        timestamps (most common first), then the smallest difference when every difference is a
        multiple of it; the first that fits wins.
    """
    n = len(index)
    if n < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            whole = pd.infer_freq(index)
        except (TypeError, ValueError):
            whole = None
        if whole is not None:
            return pd.tseries.frequencies.to_offset(whole)
        w = min(5, n)
        counts: dict[str, int] = {}
        for s in np.unique(np.linspace(0, n - w, num=min(64, n - w + 1)).astype(int)):
            try:
                f = pd.infer_freq(index[s : s + w])
            except (TypeError, ValueError):
                f = None
            if f is not None:
                counts[f] = counts.get(f, 0) + 1
    candidates: list[Any] = [
        pd.tseries.frequencies.to_offset(f) for f in sorted(counts, key=lambda k: -counts[k])
    ]
    d = np.diff(index.asi8)
    if d.size and d.min() > 0 and not (d % d.min()).any():
        candidates.append(pd.Timedelta(int(d.min()), unit=index.unit))
    for freq in candidates:
        try:
            grid = pd.date_range(index[0], index[-1], freq=freq)
        except (TypeError, ValueError, OverflowError):
            continue
        if len(grid) * (1.0 - max_missing) > n:
            continue
        if (grid.get_indexer(index) >= 0).all():
            return freq
    return None


def future_timestamps(index: pd.Index, horizon: int, freq: Any = None) -> pd.Index:
    """The ``horizon`` timestamps that follow ``index``.

    The step is ``freq`` if given; else, for datetimes, a constant step shorter than 28 days (fixed
    frequencies, seconds to weeks; fast), else the frequency ``pd.infer_freq`` finds (calendar
    frequencies such as month ends, at least 3 points); else a constant step. Datetimes of any
    resolution (pandas 3 parses dates at microsecond or second resolution, pandas 2 at nanoseconds)
    keep their resolution; steps are computed as timedeltas, never as raw integers.

    Raises
    ------
    ValueError
        If ``index`` is not strictly increasing (duplicate or descending timestamps), if no step can
        be inferred (one row, or uneven steps without ``freq``), or if the future timestamps fall
        outside the range the time type can hold.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a positive int, got {horizon!r}")
    if len(index) >= 2 and not index.is_monotonic_increasing:
        raise ValueError("timestamps are not in increasing order; sort the rows by time first")
    if len(index) >= 2 and not index.is_unique:
        dup = index[index.duplicated()][0]
        raise ValueError(f"timestamp {dup} appears more than once; each time step may have one row")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected by _check_range
            future = _future(index, horizon, freq)
        _check_range(index, future)
        return future
    except (OverflowError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta) as exc:
        raise ValueError(
            f"the {horizon} steps after {index[-1]} fall outside the range of representable "
            f"timestamps ({exc}); use a shorter horizon or numeric time steps"
        ) from None


def _check_range(index: pd.Index, future: pd.Index) -> None:
    """Overflow that numpy arithmetic would wrap silently: the future must go on after the last stamp."""
    if len(future) == 0:
        return
    if isinstance(future, pd.DatetimeIndex):
        ok = bool(future.is_monotonic_increasing and future.is_unique and future[0] > index[-1])
    else:
        vals = np.asarray(future.to_numpy(), dtype=np.float64)
        ok = bool(np.isfinite(vals).all()) and bool((np.diff(vals) > 0).all()) and vals[0] > float(index[-1])
    if not ok:
        raise OverflowError("the future time steps wrap around the range of the time type")


def _future(index: pd.Index, horizon: int, freq: Any) -> pd.Index:
    steps = np.arange(1, horizon + 1)
    if isinstance(index, pd.DatetimeIndex):
        if freq is None and len(index) >= 2:
            d = np.diff(index.values)  # timedelta64 in the index's own resolution (UTC for tz-aware)
            step = d[-1]
            if (d == step).all() and np.timedelta64(0, "s") < step < _FIXED_STEP:
                return index[-1] + pd.TimedeltaIndex(step * steps)
        f = freq if freq is not None else (pd.infer_freq(index) if len(index) >= 3 else None)
        if f is not None:
            return pd.date_range(index[-1], periods=horizon + 1, freq=f)[1:]
    elif freq is not None:
        return pd.Index(index[-1] + steps * freq)
    if len(index) < 2:
        raise IrregularStepError(
            "cannot infer the time step of a one-row series; pass freq= (tinyts forecast: --freq)"
        )
    diffs = np.diff(index.to_numpy())
    if (diffs != diffs[-1]).any():
        raise IrregularStepError(
            "cannot infer a regular time step (uneven timestamps); pass freq= (tinyts forecast: --freq)"
        )
    return pd.Index(index[-1] + steps * diffs[-1])


def horizon_times(batch: Batch, horizon: int, freq: Any = None) -> list[pd.Index]:
    """The ``horizon`` future time steps of every series of ``batch``, in its order.

    Each follows the series' last timestamp with ``freq`` (default: the ``freq`` given to
    :func:`df_to_batch`, else the inferred frequency or constant step). Forecasting functions call it
    before the model runs, so that a series whose future cannot be dated fails at once.

    Raises
    ------
    ValueError
        Naming the first series whose future steps cannot be set (uneven timestamps without ``freq``,
        a one-row series, timestamps out of range), with what to pass.
    """
    ids, times = _ids_times(batch)
    f = freq if freq is not None else batch.freq
    future = []
    for i, t in enumerate(times):
        try:
            future.append(future_timestamps(t, horizon, f))
        except ValueError as exc:
            raise ValueError(f"series {ids[i]!r}: {exc}") from None
    return future


def batch_to_df_horizon(
    values: Any,
    batch: Batch,
    *,
    value_col: str | Sequence[str] | None = None,
    freq: Any = None,
    future: Sequence[pd.Index] | None = None,
) -> pd.DataFrame:
    """A ``(batch, channels, horizon)`` result (e.g. a forecast) as a long DataFrame with future times.

    Future timestamps follow each series' last timestamp with ``freq`` (default: the ``freq`` given
    to :func:`df_to_batch`, else the inferred frequency or constant step), or are ``future`` when
    given (:func:`horizon_times` of the same batch and horizon); columns as in :func:`batch_to_df`.
    """
    arr = _output_numpy(values, "values")
    if arr.ndim != 3 or arr.shape[0] != batch.n_series:
        raise ValueError(
            f"values must have shape (n_series={batch.n_series}, channels, horizon), got {arr.shape}"
        )
    names = _value_names(value_col, arr.shape[1], batch)
    ids, _ = _ids_times(batch)
    if future is None:
        future = horizon_times(batch, arr.shape[2], freq)
    elif len(future) != batch.n_series or any(len(t) != arr.shape[2] for t in future):
        raise ValueError(
            f"future must hold {arr.shape[2]} time steps for each of the {batch.n_series} series"
        )
    return _frame(batch, ids, list(future), np.moveaxis(arr, 1, 2).reshape(-1, arr.shape[1]), names)

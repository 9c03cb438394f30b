"""Sliding windows, stitching, the standard LTSF splits and train-split scaling.

Convention: time is on the **last** axis everywhere (``(..., time)``, as the internal
``(batch, channels, time)`` layout); tables are ``(n_channels, n_time)``, as
:class:`tinyts.data.types.TableSeries` holds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Scaler",
    "fit_scaler",
    "ltsf_borders",
    "sliding_windows",
    "split_and_scale",
    "stitch",
    "window_starts",
]

_REDUCE = ("mean", "last", "max")


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def window_starts(n_time: int, length: int, stride: int) -> np.ndarray:
    """Start indices of windows of ``length`` points that cover ``range(n_time)``.

    Starts are ``0, stride, 2*stride, ...``; if the last of them does not end exactly at
    ``n_time``, one more window ``n_time - length`` is appended, so every point is covered and the
    last window always ends at ``n_time``. When ``n_time <= length`` there is one window starting at
    0: a series shorter than ``length`` must be padded by the caller (``to_batch`` pads and marks
    the padding unobserved).

    With ``stride > length`` the windows leave gaps (useful to subsample evaluation windows).

    Returns
    -------
    np.ndarray
        ``(n_windows,)`` int64, strictly increasing.
    """
    n_time = _positive_int(n_time, "n_time")
    length = _positive_int(length, "length")
    stride = _positive_int(stride, "stride")
    if n_time <= length:
        return np.zeros(1, dtype=np.int64)
    last = n_time - length
    starts = np.arange(0, last + 1, stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, np.int64(last))
    return starts


def sliding_windows(x: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``x`` of shape ``(..., time)`` into windows of ``length`` points.

    Parameters
    ----------
    x : np.ndarray
        ``(..., n_time)`` with ``n_time >= length`` (pad shorter series first).
    length, stride : int
        Window length and step; the starts are :func:`window_starts`.

    Returns
    -------
    windows : np.ndarray
        ``(n_windows, ..., length)``: the window axis first, so ``windows.reshape(-1, *shape)``
        is a batch. A read-only strided view of ``x`` when the starts are evenly spaced, else a copy.
    starts : np.ndarray
        ``(n_windows,)`` int64 start of each window.
    """
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError("x must have a time axis (last axis); got a scalar")
    length = _positive_int(length, "length")
    n_time = arr.shape[-1]
    if n_time < length:
        raise ValueError(
            f"x has {n_time} time points, fewer than the window length {length}; pad it first "
            "(to_batch pads short series and marks the padding unobserved)"
        )
    starts = window_starts(n_time, length, stride)
    view = np.lib.stride_tricks.sliding_window_view(arr, length, axis=-1)  # (..., n_pos, length)
    view = np.moveaxis(view, -2, 0)  # (n_pos, ..., length), still a view
    if (starts[-1] - starts[0]) == stride * (len(starts) - 1):
        return view[:: int(stride)][: len(starts)], starts
    return view[starts], starts


def stitch(windows: np.ndarray, starts: np.ndarray, n_time: int, reduce: str = "mean") -> np.ndarray:
    """Put windows back on the time axis; overlaps are averaged (or take the last / the max).

    Parameters
    ----------
    windows : np.ndarray
        ``(n_windows, ..., length)``, as returned by :func:`sliding_windows`.
    starts : np.ndarray
        ``(n_windows,)`` distinct start indices with ``start + length <= n_time``.
    n_time : int
        Length of the output time axis.
    reduce : {"mean", "last", "max"}
        How overlapping values combine: their mean, the value of the window with the largest
        start, or the maximum. With "mean" a NaN in a window propagates to the points it covers;
        "max" ignores NaN unless every covering value is NaN.

    Returns
    -------
    np.ndarray
        ``(..., n_time)`` float; points no window covers are NaN.
    """
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be one of {_REDUCE}, got {reduce!r}")
    w = np.asarray(windows)
    s = np.asarray(starts)
    n_time = _positive_int(n_time, "n_time")
    if w.ndim < 2:
        raise ValueError(f"windows must be (n_windows, ..., length), got shape {w.shape}")
    if s.ndim != 1 or s.shape[0] != w.shape[0]:
        raise ValueError(f"starts must be 1-D with one entry per window ({w.shape[0]}), got {s.shape}")
    if not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"starts must be integers, got dtype {s.dtype}")
    length = w.shape[-1]
    if s.size and (s.min() < 0 or s.max() + length > n_time):
        raise ValueError(f"every window must lie inside [0, {n_time}): starts + {length} exceed it")
    if np.unique(s).size != s.size:
        raise ValueError("starts must be distinct")
    dtype = np.result_type(w.dtype, np.float32)
    lead = w.shape[1:-1]
    # Loop over whichever is shorter: windows (slices) or offsets inside a window (fancy indices,
    # distinct within one offset because the starts are distinct). Either way each step is vectorised.
    order = np.argsort(s, kind="stable")
    if reduce == "mean":
        acc = np.zeros((*lead, n_time), dtype=np.float64)  # float64 sums: no float32 drift
        # Windows covering each point: +1 at each start, -1 after each end, cumulated.
        edges = np.bincount(s, minlength=n_time + 1) - np.bincount(s + length, minlength=n_time + 1)
        count = np.cumsum(edges)[:n_time]
        if len(s) <= length:
            for i in order:
                acc[..., s[i] : s[i] + length] += w[i]
        else:
            wt = np.moveaxis(w, 0, -2)  # (..., n_windows, length)
            for j in range(length):
                acc[..., s + j] += wt[..., j]
        with np.errstate(invalid="ignore", divide="ignore"):
            acc /= count
        return acc.astype(dtype, copy=False)
    out = np.full((*lead, n_time), np.nan, dtype=dtype)
    if len(s) <= length:
        for i in order:
            sl = slice(s[i], s[i] + length)
            out[..., sl] = w[i] if reduce == "last" else np.fmax(out[..., sl], w[i])
    else:
        wt = np.moveaxis(w, 0, -2)
        # "last": go from the largest offset to the smallest, so the window with the largest start
        # (the smallest offset for a given point) writes last.
        offsets = range(length - 1, -1, -1) if reduce == "last" else range(length)
        for j in offsets:
            idx = s + j
            out[..., idx] = wt[..., j] if reduce == "last" else np.fmax(out[..., idx], wt[..., j])
    return out


# --------------------------------------------------------------------------------------------- splits

_HOURS_PER_MONTH = 30 * 24


def ltsf_borders(name: str, n_rows: int, context: int = 512) -> dict[str, tuple[int, int]]:
    """Row ranges ``[start, end)`` of the standard long-term-forecasting splits.

    - ``ETTh*``: 12/4/4 months of 30 days x 24 rows: train ``[0, 8640)``, val
      ``[8640 - context, 11520)``, test ``[11520 - context, 14400)`` (rows past 14400 are unused).
    - ``ETTm*``: the same at 4 rows per hour: train ``[0, 34560)``, val ``[34560 - context, 46080)``,
      test ``[46080 - context, 57600)``.
    - any other name: 70 % / 10 % / 20 %: ``n_train = int(0.7 n)``, ``n_test = int(0.2 n)``,
      val is the rest; val and test starts are shifted back by ``context``.

    The shift by ``context`` is what the LTSF loaders do: the first window of val/test may look back
    into the previous split, so every val/test row can be a target.

    Parameters
    ----------
    name : str
        Dataset name (``"ETTh1"``, ``"ETTm2"``, ``"weather"``, ...); ETT names match
        case-insensitively as ``ETTh<digits>`` / ``ETTm<digits>``.
    n_rows : int
        Rows in the file.
    context : int
        Look-back length in rows (0 for no shift).

    Raises
    ------
    ValueError
        If the file is too short for the split, or ``context`` reaches before row 0.
    """
    n_rows = _positive_int(n_rows, "n_rows")
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or context < 0:
        raise ValueError(f"context must be a non-negative int, got {context!r}")
    ett = re.fullmatch(r"ett([hm])\d*", name.strip().lower())
    if ett:
        per_month = _HOURS_PER_MONTH * (4 if ett.group(1) == "m" else 1)
        train_end, val_end, test_end = 12 * per_month, 16 * per_month, 20 * per_month
        if n_rows < test_end:
            raise ValueError(
                f"{name}: the standard ETT split needs {test_end} rows (12/4/4 months), the file has {n_rows}"
            )
    else:
        train_end = int(n_rows * 0.7)
        n_test = int(n_rows * 0.2)
        val_end, test_end = n_rows - n_test, n_rows
        if train_end < 1 or n_test < 1 or val_end <= train_end:
            raise ValueError(f"{name}: {n_rows} rows are too few for a 70/10/20 split with non-empty parts")
    if context > train_end:
        raise ValueError(
            f"{name}: context {context} reaches before row 0 (the train split has {train_end} rows); "
            "use a shorter context"
        )
    return {
        "train": (0, train_end),
        "val": (train_end - context, val_end),
        "test": (val_end - context, test_end),
    }


# -------------------------------------------------------------------------------------------- scaling


@dataclass
class Scaler:
    """Per-channel standard scaler: ``(x - mean) / std``.

    Attributes
    ----------
    mean, std : np.ndarray
        ``(n_channels,)`` float64. ``std`` is 1.0 for channels that are (nearly) constant on the
        train rows, so they map to 0 instead of dividing by zero (as scikit-learn does).
    """

    mean: np.ndarray
    std: np.ndarray

    def _shape_for(self, values: np.ndarray, channel_axis: int) -> tuple[int, ...]:
        if values.ndim < 2:
            raise ValueError(f"values must be (..., channels, time), got shape {values.shape}")
        axis = channel_axis % values.ndim
        if values.shape[axis] != self.mean.shape[0]:
            raise ValueError(
                f"values have {values.shape[axis]} channels on axis {channel_axis}, "
                f"the scaler was fitted on {self.mean.shape[0]}"
            )
        shape = [1] * values.ndim
        shape[axis] = -1
        return tuple(shape)

    def transform(self, values: np.ndarray, *, channel_axis: int = -2) -> np.ndarray:
        """Standardise ``values``; channels on ``channel_axis`` (the one before time by default)."""
        arr = np.asarray(values, dtype=np.float64)
        shape = self._shape_for(arr, channel_axis)
        return (arr - self.mean.reshape(shape)) / self.std.reshape(shape)

    def inverse_transform(self, values: np.ndarray, *, channel_axis: int = -2) -> np.ndarray:
        """Undo :meth:`transform`."""
        arr = np.asarray(values, dtype=np.float64)
        shape = self._shape_for(arr, channel_axis)
        return arr * self.std.reshape(shape) + self.mean.reshape(shape)


def fit_scaler(train_values: np.ndarray, *, min_std: float = 1e-8) -> Scaler:
    """Fit per-channel mean and std (population, ddof 0) on the train part, ignoring NaN.

    Parameters
    ----------
    train_values : np.ndarray
        ``(n_channels, n_time)``, or ``(n_time,)`` for one channel.
    min_std : float
        Channels with a std below this get std 1.0 (constant channel: no division by ~0).

    Raises
    ------
    ValueError
        If a channel has no finite value on the train rows, or the input holds inf.
    """
    arr = np.asarray(train_values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"train_values must be (n_channels, n_time) with n_time >= 1, got {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError("train_values contain inf; use NaN for missing values")
    observed = ~np.isnan(arr)
    empty = np.flatnonzero(~observed.any(axis=1))
    if empty.size:
        raise ValueError(f"channel(s) {empty.tolist()} have no observed (non-NaN) train values")
    mean = np.nanmean(arr, axis=1)
    std = np.nanstd(arr, axis=1)
    std = np.where(std < min_std, 1.0, std)
    return Scaler(mean=mean, std=std)


def split_and_scale(values: np.ndarray, name: str, context: int = 512) -> dict[str, np.ndarray]:
    """Split a ``(n_channels, n_time)`` table with :func:`ltsf_borders` and z-scale with train stats.

    Returns
    -------
    dict
        ``"train"``, ``"val"``, ``"test"``: the scaled ``(n_channels, time)`` ranges (val/test include
        their ``context`` look-back steps); ``"mean"``, ``"std"``: the train statistics
        (``Scaler(mean=d["mean"], std=d["std"])`` rebuilds the scaler).
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"values must be (n_channels, n_time), got shape {arr.shape}")
    borders = ltsf_borders(name, arr.shape[1], context)
    lo, hi = borders["train"]
    scaler = fit_scaler(arr[:, lo:hi])
    out = {key: scaler.transform(arr[:, a:b]) for key, (a, b) in borders.items()}
    out["mean"] = scaler.mean
    out["std"] = scaler.std
    return out

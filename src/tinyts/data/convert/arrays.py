"""The single input boundary: user arrays and DataFrames to one internal form, and back.

Every entry point converts its input once with :func:`to_batch` or :func:`df_to_batch` into a
:class:`Batch` -- a float32 tensor ``(batch, channels, time)`` plus a bool ``observed`` mask -- runs
the model code on it, and converts results back once with :func:`from_batch` (outputs on the input's
time axis), :func:`from_batch_horizon` (outputs with their own time axis, e.g. forecasts),
:func:`batch_to_df` or :func:`batch_to_df_horizon`.

Accepted array input (time is always the last axis, as in aeon):

- 1-D ``(time,)``, 2-D ``(channels, time)``, 3-D ``(batch, channels, time)`` numpy arrays, torch
  tensors or nested lists of numbers;
- a list (or tuple) of 1-D / 2-D arrays or tensors, possibly of unequal length, all with the same
  channel count. They are padded to the longest; ``align="right"`` pads at the start so the series
  ends line up (what forecasting needs), ``align="left"`` pads at the end. Padding is unobserved.

NaN means missing. Integer input is accepted; bool, complex, string, object and datetime input is a
``TypeError``; inf, empty input and all-missing series are a ``ValueError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

__all__ = [
    "Batch",
    "batch_to_df",
    "batch_to_df_horizon",
    "df_to_batch",
    "fill_gaps",
    "from_batch",
    "from_batch_horizon",
    "future_timestamps",
    "horizon_times",
    "to_batch",
]

ALIGNS = ("right", "left")
_ARRAY_TYPES = (np.ndarray, torch.Tensor, pd.Series)
_ACCEPTED = (
    "accepted: 1-D (time,), 2-D (channels, time) or 3-D (batch, channels, time) arrays/tensors, "
    "or a list of 1-D/2-D arrays"
)


@dataclass
class Batch:
    """The internal form of a batch of series, plus what is needed to convert results back.

    Attributes
    ----------
    values : torch.Tensor
        ``(batch, channels, time)`` float32; missing and padded points are 0.0.
    observed : torch.Tensor
        Bool, same shape; True where a real observed value is.
    lengths : list of int
        True length of each series (``time`` is the longest).
    kind : str
        ``"1d"``, ``"2d"``, ``"3d"``, ``"list"`` or ``"dataframe"``: the input's form.
    align : str
        ``"right"`` (padding at the start) or ``"left"`` (padding at the end).
    backend : str
        ``"numpy"`` or ``"torch"``: the array type :func:`from_batch` returns.
    dtype : numpy or torch dtype
        dtype :func:`from_batch` returns: the input's float dtype, else float64 (numpy) / float32
        (torch).
    device : torch.device or None
        Device of torch input.
    item_ndims : list of int or None
        For ``kind="list"``: 1 or 2 per item, to give 1-D items back as 1-D.
    source : np.ndarray or list of np.ndarray
        The original values (``(batch, channels, time)``, or one ``(channels, length)`` per series) at
        full precision, for ``fill_observed``. May share memory with the caller's input.
    ids, timestamps, id_col, time_col, target_cols, freq
        DataFrame input: the series ids (in order of first appearance), each series' sorted
        timestamps (a pandas Index), the column names and the ``freq`` given to ``df_to_batch``.
    """

    values: torch.Tensor
    observed: torch.Tensor
    lengths: list[int]
    kind: str
    align: str = "right"
    backend: str = "numpy"
    dtype: Any = np.float64
    device: torch.device | None = None
    item_ndims: list[int] | None = None
    source: Any = field(default=None, repr=False)
    ids: pd.Index | None = field(default=None, repr=False)
    timestamps: list[pd.Index] | None = field(default=None, repr=False)
    id_col: str | None = None
    time_col: str | None = None
    target_cols: list[str] | None = None
    freq: Any = None

    @property
    def n_series(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_time(self) -> int:
        """Padded time length (the longest series)."""
        return int(self.values.shape[2])

    def time_slice(self, i: int) -> slice:
        """Positions of series ``i`` on the padded time axis."""
        n = self.lengths[i]
        return slice(self.n_time - n, self.n_time) if self.align == "right" else slice(0, n)

    def valid_mask(self) -> np.ndarray:
        """``(batch, time)`` bool: True inside each series (False on padding)."""
        pos = np.arange(self.n_time)[None, :]
        lengths = np.asarray(self.lengths)[:, None]
        return pos >= self.n_time - lengths if self.align == "right" else pos < lengths


# ------------------------------------------------------------------------------------------- helpers


def _check_align(align: str) -> None:
    if align not in ALIGNS:
        raise ValueError(f"align must be 'right' or 'left', got {align!r}")


def _check_min_length(min_length: int) -> None:
    if isinstance(min_length, bool) or not isinstance(min_length, (int, np.integer)) or min_length < 1:
        raise ValueError(f"min_length must be an int >= 1, got {min_length!r}")


def _as_numpy(x: Any, name: str) -> tuple[np.ndarray, str, Any, torch.device | None]:
    """Array-like to numpy, with the backend, output dtype and device; rejects non-real dtypes."""
    if isinstance(x, pd.DataFrame):
        raise TypeError(
            f"{name} is a DataFrame; use df_to_batch for long DataFrames (id, time, value columns) "
            "or pass df.to_numpy().T for a wide table with one column per channel"
        )
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool:
            raise TypeError(f"{name} is a bool tensor; series values must be real numbers (float or int)")
        if x.is_complex():
            raise TypeError(f"{name} is a complex tensor ({x.dtype}); series values must be real numbers")
        t = x.detach().cpu()
        out_dtype = x.dtype if x.is_floating_point() else torch.float32
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy(), "torch", out_dtype, x.device
    try:
        arr = np.asarray(x)
    except ValueError as exc:
        raise ValueError(
            f"{name} is a ragged nested list; for series of unequal length pass a list of numpy "
            f"arrays, each (time,) or (channels, time) ({exc})"
        ) from None
    kind = arr.dtype.kind
    if kind == "b":
        raise TypeError(f"{name} is a bool array; series values must be real numbers (float or int)")
    if kind == "c":
        raise TypeError(f"{name} has complex dtype {arr.dtype}; series values must be real numbers")
    if kind not in "iuf":
        raise TypeError(
            f"{name} has dtype {arr.dtype} (not numeric); series values must be real numbers "
            "(float or int arrays; use NaN, not None or strings, for missing values)"
        )
    return arr, "numpy", arr.dtype if kind == "f" else np.dtype(np.float64), None


def _np_dtype(d: Any) -> np.dtype:
    if isinstance(d, torch.dtype):
        return np.dtype({torch.float64: np.float64, torch.float16: np.float16}.get(d, np.float32))
    return np.dtype(d)


def _first_index(flags: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(flags)), shape))


def _convert(
    arr3: np.ndarray,
    orig_shape: tuple[int, ...],
    where: str,
    series_label: Callable[[int, int], str],
    allow_nan: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a ``(b, c, t)`` block; return float32 values (missing -> 0) and the observed mask.

    Indices in messages are reported in ``orig_shape`` (the caller's own indexing).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        values = arr3.astype(np.float32)
    if arr3.dtype.kind != "f":
        return values, np.ones(arr3.shape, dtype=bool)
    big = np.isinf(values)  # inf in the input, or finite values beyond the float32 range
    if big.any():
        inf = np.isinf(arr3)
        if inf.any():
            raise ValueError(
                f"{where} contains {int(inf.sum())} infinite value(s), the first at index "
                f"{_first_index(inf, orig_shape)}; values must be finite. NaN means missing: replace "
                "inf by NaN if those points are missing"
            )
        raise ValueError(
            f"{where} has values beyond the float32 range (|x| > 3.4e38), the first at index "
            f"{_first_index(big, orig_shape)}; rescale the data first"
        )
    missing = np.isnan(values)
    if missing.any():
        if not allow_nan:
            raise ValueError(
                f"{where} contains {int(missing.sum())} NaN value(s), the first at index "
                f"{_first_index(missing, orig_shape)}; this call needs complete series (allow_nan=False)"
            )
        empty = np.asarray(missing.all(axis=2))
        if empty.any():
            b, c = _first_index(empty, empty.shape)
            raise ValueError(
                f"{series_label(b, c)} is entirely NaN (missing); every series and channel needs at "
                f"least one observed value ({int(empty.sum())} series/channel pair(s) are all-missing)"
            )
        values[missing] = 0.0
    return values, ~missing


# ---------------------------------------------------------------------------------------- to_batch


def to_batch(
    x: Any,
    *,
    align: str = "right",
    min_length: int = 1,
    allow_nan: bool = True,
    name: str = "x",
) -> Batch:
    """Validate and convert user input to a :class:`Batch`.

    Parameters
    ----------
    x : array-like, tensor, or list of arrays
        1-D ``(time,)``, 2-D ``(channels, time)``, 3-D ``(batch, channels, time)``, or a list of
        1-D / 2-D arrays of possibly unequal length with one channel count. NaN = missing.
    align : {"right", "left"}
        Where unequal series are aligned: "right" pads at the start (ends line up), "left" pads
        at the end.
    min_length : int
        Every series must have at least this many time points.
    allow_nan : bool
        If False, any NaN is an error (for callers that need complete series).
    name : str
        How to call the input in error messages.

    Returns
    -------
    Batch

    Raises
    ------
    TypeError
        Bool, complex, string/object or datetime values; a DataFrame (use :func:`df_to_batch`).
    ValueError
        Empty input, zero-length or too short series, ndim 0 or > 3, inf, ragged nested lists,
        list items with different channel counts, NaN with ``allow_nan=False``, or a series /
        channel without any observed value.
    """
    _check_align(align)
    _check_min_length(min_length)
    if isinstance(x, (list, tuple)) and any(isinstance(el, _ARRAY_TYPES) for el in x):
        return _list_to_batch(list(x), align, min_length, allow_nan, name)
    arr, backend, out_dtype, device = _as_numpy(x, name)
    if arr.ndim == 0 or arr.ndim > 3:
        raise ValueError(f"{name} has ndim {arr.ndim} (shape {arr.shape}); {_ACCEPTED}")
    if arr.size == 0:
        axes = {1: ("time",), 2: ("channels", "time"), 3: ("batch", "channels", "time")}[arr.ndim]
        zero = [a for a, n in zip(axes, arr.shape, strict=True) if n == 0]
        raise ValueError(f"{name} is empty (shape {arr.shape}, no {' / '.join(zero)}); {_ACCEPTED}")
    kind = f"{arr.ndim}d"
    arr3 = arr.reshape((1,) * (3 - arr.ndim) + arr.shape)
    n_channels, n_time = arr3.shape[1], arr3.shape[2]
    if n_channels >= 64 and n_channels > 8 * n_time:
        warnings.warn(
            f"{name} has shape {arr.shape}: {n_channels} channels but only {n_time} time points. tinyts "
            "expects time on the last axis ((channels, time) or (batch, channels, time)); if time runs "
            "along another axis, transpose first (x.T or x.transpose(0, 2, 1))",
            UserWarning,
            stacklevel=2,
        )
    if arr3.shape[2] < min_length:
        raise ValueError(f"{name} has {arr3.shape[2]} time points; at least {min_length} are needed")

    def label(b: int, c: int) -> str:
        if kind == "1d":
            return name
        return f"{name} channel {c}" if kind == "2d" else f"{name}[{b}] channel {c}"

    values, observed = _convert(arr3, arr.shape, name, label, allow_nan)
    return Batch(
        values=torch.from_numpy(values),
        observed=torch.from_numpy(np.ascontiguousarray(observed)),
        lengths=[arr3.shape[2]] * arr3.shape[0],
        kind=kind,
        align=align,
        backend=backend,
        dtype=out_dtype,
        device=device,
        source=arr3,
    )


def _list_to_batch(items: list[Any], align: str, min_length: int, allow_nan: bool, name: str) -> Batch:
    arrays: list[np.ndarray] = []
    ndims: list[int] = []
    backends: set[str] = set()
    dtypes: list[Any] = []
    device = None
    for i, el in enumerate(items):
        a, backend, item_dtype, dev = _as_numpy(el, f"{name}[{i}]")
        if a.ndim not in (1, 2):
            raise ValueError(
                f"{name}[{i}] has ndim {a.ndim} (shape {a.shape}); list items must be "
                "1-D (time,) or 2-D (channels, time)"
            )
        backends.add(backend)
        dtypes.append(item_dtype)
        device = device or dev
        ndims.append(a.ndim)
        arrays.append(a[None, :] if a.ndim == 1 else a)
    channels = [a.shape[0] for a in arrays]
    if len(set(channels)) > 1:
        j = next(k for k, c in enumerate(channels) if c != channels[0])
        raise ValueError(
            f"{name}: list items must all have the same number of channels; item 0 has "
            f"{channels[0]}, item {j} has {channels[j]}"
        )
    if channels[0] == 0:
        raise ValueError(f"{name}[0] has no channels (shape {arrays[0].shape})")
    labels = [f"{name}[{i}]" for i in range(len(arrays))]
    values, observed, lengths = _pad(arrays, ndims, labels, align, min_length, allow_nan)
    out_dtype: Any
    if backends == {"torch"}:
        out_dtype = dtypes[0]
        for d in dtypes[1:]:
            out_dtype = torch.promote_types(out_dtype, d)
        backend = "torch"
    else:
        out_dtype, backend = np.result_type(*[_np_dtype(d) for d in dtypes]), "numpy"
    return Batch(
        values=values,
        observed=observed,
        lengths=lengths,
        kind="list",
        align=align,
        backend=backend,
        dtype=out_dtype,
        device=device if backend == "torch" else None,
        item_ndims=ndims,
        source=arrays,
    )


def _pad(
    arrays: list[np.ndarray],
    ndims: list[int],
    labels: list[str],
    align: str,
    min_length: int,
    allow_nan: bool,
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Validate ``(channels, length_i)`` arrays and pad them into one ``(batch, channels, T)``."""
    lengths = [int(a.shape[1]) for a in arrays]
    n_time = max(lengths)
    values = np.zeros((len(arrays), arrays[0].shape[0], n_time), dtype=np.float32)
    observed = np.zeros(values.shape, dtype=bool)
    for i, a in enumerate(arrays):
        n = lengths[i]
        if n == 0:
            raise ValueError(f"{labels[i]} has no time points (zero-length series)")
        if n < min_length:
            raise ValueError(f"{labels[i]} has {n} time points; at least {min_length} are needed")
        shape = a.shape[1:] if ndims[i] == 1 else a.shape
        channels = a.shape[0]

        def label(b: int, c: int, i: int = i, channels: int = channels) -> str:
            return labels[i] if channels == 1 else f"{labels[i]} channel {c}"

        vals, obs = _convert(a[None], shape, labels[i], label, allow_nan)
        sl = slice(n_time - n, n_time) if align == "right" else slice(0, n)
        values[i, :, sl] = vals[0]
        observed[i, :, sl] = obs[0]
    return torch.from_numpy(values), torch.from_numpy(observed), lengths


# -------------------------------------------------------------------------------------- from_batch


def _output_numpy(y: Any, name: str = "y") -> np.ndarray:
    if isinstance(y, torch.Tensor):
        t = y.detach().cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        return t.numpy()
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real-valued array or tensor, got dtype {arr.dtype}")
    return arr


def _cast(arr: np.ndarray, batch: Batch, copy: bool = True) -> Any:
    """Cast one output array to the batch's backend and dtype (a fresh array unless ``copy=False``)."""
    if batch.backend == "torch":
        t = torch.from_numpy(np.array(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32))
        return t.to(device=batch.device or "cpu", dtype=batch.dtype)
    return arr.astype(batch.dtype, copy=copy)


def _fill_observed(arr: np.ndarray, batch: Batch) -> np.ndarray:
    """Observed points take the original input values, at full precision."""
    if arr.shape[1] != batch.n_channels:
        raise ValueError(
            f"fill_observed needs one output channel per input channel ({batch.n_channels}), "
            f"got {arr.shape[1]}"
        )
    out = arr.astype(np.result_type(arr.dtype, np.float64))
    observed = batch.observed.detach().cpu().numpy()
    if isinstance(batch.source, np.ndarray):
        np.copyto(out, batch.source, where=observed, casting="unsafe")
    else:
        for i, src in enumerate(batch.source):
            sl = batch.time_slice(i)
            np.copyto(out[i, :, sl], src, where=observed[i, :, sl], casting="unsafe")
    return out


def from_batch(y: Any, batch: Batch, *, fill_observed: bool | None = None) -> Any:
    """Convert a ``(batch, channels, time)`` result on the input's time axis back to the input's form.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor
        ``(n_series, channels_out, batch.n_time)``: one value per (padded) input time point, e.g.
        imputed values or anomaly scores. ``channels_out`` may differ from the input's (one score
        per time point is ``channels_out=1``).
    batch : Batch
        The batch the input was converted to.
    fill_observed : bool, optional
        If True, observed points take the original input values exactly (imputation output); needs
        ``channels_out == batch.n_channels``. None means False.

    Returns
    -------
    Same form as the input: a numpy array (float input dtype, else float64) or torch tensor of the
    input's shape for 1-D/2-D/3-D input (1-D input gives 1-D output when ``channels_out == 1``,
    else ``(channels_out, time)``); a list of un-padded arrays for list input; a long DataFrame
    (see :func:`batch_to_df`) for DataFrame input.
    """
    arr = _output_numpy(y)
    if arr.ndim != 3 or arr.shape[0] != batch.n_series or arr.shape[2] != batch.n_time:
        raise ValueError(
            f"y must have shape (n_series={batch.n_series}, channels, n_time={batch.n_time}) like the "
            f"batch, got {arr.shape}; for outputs with their own time axis (forecasts) use "
            "from_batch_horizon"
        )
    if fill_observed:
        arr = _fill_observed(arr, batch)
    if batch.kind == "dataframe":
        from tinyts.data.convert.frames import batch_to_df

        return batch_to_df(arr, batch)
    if batch.kind == "list":
        return [_cast(_item(arr[i, :, batch.time_slice(i)], nd), batch) for i, nd in enumerate(_ndims(batch))]
    return _cast(_squeeze(arr, batch.kind), batch, copy=not fill_observed)


def _ndims(batch: Batch) -> list[int]:
    return batch.item_ndims if batch.item_ndims is not None else [2] * batch.n_series


def _item(arr: np.ndarray, ndim: int) -> np.ndarray:
    """One list item back: 1-D items stay 1-D when there is one output channel."""
    return arr[0] if ndim == 1 and arr.shape[0] == 1 else arr


def _squeeze(arr: np.ndarray, kind: str) -> np.ndarray:
    if kind == "1d":
        return arr[0, 0] if arr.shape[1] == 1 else arr[0]
    return arr[0] if kind == "2d" else arr


def from_batch_horizon(y: Any, batch: Batch) -> Any:
    """Convert an output with its own time axis (e.g. a forecast) back to the input's form.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor
        ``(n_series, channels_out, horizon, *extra)`` -- any trailing axes (e.g. quantiles) are kept.
    batch : Batch
        The batch the input was converted to.

    Returns
    -------
    For 1-D input ``(horizon, *extra)`` (``(channels_out, horizon, ...)`` if ``channels_out > 1``);
    2-D input ``(channels_out, horizon, ...)``; 3-D input unchanged; list input a list with one
    array per series (1-D items give ``(horizon, ...)``); DataFrame input a long DataFrame with future
    timestamps (see :func:`batch_to_df_horizon`).
    """
    arr = _output_numpy(y)
    if arr.ndim < 3 or arr.shape[0] != batch.n_series:
        raise ValueError(
            f"y must have shape (n_series={batch.n_series}, channels, horizon, ...), got {arr.shape}"
        )
    if batch.kind == "dataframe":
        from tinyts.data.convert.frames import batch_to_df_horizon

        return batch_to_df_horizon(arr, batch)
    if batch.kind == "list":
        return [_cast(_item(arr[i], nd), batch) for i, nd in enumerate(_ndims(batch))]
    return _cast(_squeeze(arr, batch.kind), batch)


# The DataFrame twins live in convert_df; re-exported here so there is one import path for the boundary.
from tinyts.data.convert.frames import (  # noqa: E402
    batch_to_df,
    batch_to_df_horizon,
    df_to_batch,
    fill_gaps,
    future_timestamps,
    horizon_times,
)

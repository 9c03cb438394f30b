"""Zero-shot probabilistic forecasting with TinyCast: any input form, any horizon, quantiles.

Pipeline (one path for every input form): :func:`tinyts.data.convert.arrays.to_batch` (right-aligned, so
histories end together) -> per chunk of series: SIFI (optional) around the rollout engine, with
sign-flip symmetry inside every model call -> :func:`~tinyts.data.convert.arrays.from_batch_horizon`.

History. The last ``context_length`` points are the model's input; shorter histories are left-padded
as unobserved, and NaN in the history is simply unobserved (DART-Norm and the attention ignore it), but
at least one of those last points must be observed. Series beyond ``2**40`` in magnitude are divided by
a power of two for the model and the forecasts multiplied back (:mod:`tinyts.nn.scaling`).

Horizon (``strategy``; "auto" = "anchored" when the model has a coarse head, else "rollout"):

- ``"rollout"``: autoregressive. Each model call gives the quantiles of the next patch; the median
  patch is appended to the history as if observed and the window slides on. The quantiles of later
  patches are conditional on the median path, so far-ahead bands are somewhat too narrow.
- ``"coarse"``: the first patch from the fine head, everything after it from the coarse head of the
  same call (block quantiles placed at the block centres and linearly interpolated).
- ``"hybrid"``: rollout for the first ``near_steps`` steps, the coarse grid of the first call
  beyond. At the seam the far part is shifted to meet the last rolled-out value and the shift decays
  linearly to zero over one coarse block (continuity correction).
- ``"anchored"`` (the default): rollout for the whole horizon (it keeps the within-block shape, e.g.
  a daily cycle that coarse blocks average away), but beyond ``near_steps`` each coarse block's level
  is moved to the coarse head's median: the difference between the coarse median and the block mean
  of the rolled median path is interpolated between block centres and added to every quantile,
  phased in over one block. Costs as much as ``"rollout"``.

Horizons beyond the coarse head's reach (``coarse_horizon``) are forecast in chunks of that length:
the median of a chunk is appended to the history and the next chunk is forecast from there.

SIFI (stride-interleaved inference, ``sifi=True``) for histories longer than the context: with
stride ``s = min(ceil(length / context_length), sifi_max_stride)``, the history is split into ``s``
interleaved sub-series (every ``s``-th point, one per phase, each ending at one of the last ``s``
points), so together they cover ``s * context_length`` points. Each is forecast at its own coarse time
step, the forecasts are re-interleaved onto the original grid, and blended with the stride-1
forecast: ``q = (1 - w) q_1 + w q_s`` with ``w = sifi_weight * min(1, lead / (context_length / 4))``,
i.e. the near future trusts the full-resolution view, far lead times take in the long view. Series no
longer than the context get ``w = 0``.

Symmetry (``symmetry=True``): every model call also forecasts ``-x`` and averages
``q_tau(x)`` with ``-q_(1-tau)(-x)``; the rolled-out median is the symmetrised one.

The ``mean`` is the average of all the model's quantile levels (0.1 ... 0.9), whatever subset of
quantiles is returned.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from tinyts import progress
from tinyts.data.convert.arrays import (
    Batch,
    batch_to_df_horizon,
    df_to_batch,
    from_batch_horizon,
    horizon_times,
    to_batch,
)
from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.nn.scaling import row_scale_torch
from tinyts.options import ForecastStrategy, check_choice
from tinyts.tasks.distributed import engine_of, fill_rows, run_distributed, task_model
from tinyts.tasks.forecast.engine import Options, predict_sifi, sifi_calls


@dataclass
class ForecastResult:
    """A probabilistic forecast in the input's form.

    Attributes
    ----------
    mean : array, tensor or list
        Shaped like the input with time replaced by ``horizon`` (the convention of
        :func:`tinyts.data.convert.arrays.from_batch_horizon`): 1-D ``(time,)`` -> ``(horizon,)``; 2-D
        ``(channels, time)`` -> ``(channels, horizon)``; 3-D ``(batch, channels, time)`` ->
        ``(batch, channels, horizon)``; a list -> a list with one such array per item.
    quantiles : array, tensor or list
        The same shapes with a trailing quantile axis: ``(..., horizon, len(levels))``.
    levels : tuple of float
        The quantile levels along that axis.
    """

    mean: Any
    quantiles: Any
    levels: tuple[float, ...]

    def quantile(self, level: float) -> Any:
        """The forecast of one quantile level, shaped like :attr:`mean`."""
        k = _level_index(self.levels, level)
        if isinstance(self.quantiles, list):
            return [q[..., k] for q in self.quantiles]
        return self.quantiles[..., k]


def _level_index(levels: Sequence[float], level: float) -> int:
    for k, q in enumerate(levels):
        if math.isclose(q, level, abs_tol=1e-9):
            return k
    raise ValueError(f"quantile level {level!r} is not available; available: {tuple(levels)}")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_args(model: Any, horizon: Any, quantiles: Any, opts: Options, batch_size: Any) -> tuple[int, ...]:
    """Validate options; return the indices of the requested levels among the model's."""
    resolve(model, TinyCast)
    _positive_int(horizon, "horizon")
    _positive_int(batch_size, "batch_size")
    _positive_int(opts.near_steps, "near_steps")
    _positive_int(opts.sifi_max_stride, "sifi_max_stride")
    check_choice(opts.strategy, ForecastStrategy, "strategy")
    if opts.strategy in ("hybrid", "coarse", "anchored") and model.coarse_head is None:
        raise ValueError(f"strategy={opts.strategy!r} needs a model with a coarse head (coarse_horizon > 0)")
    if not 0.0 <= opts.sifi_weight <= 1.0:
        raise ValueError(f"sifi_weight must be in [0, 1], got {opts.sifi_weight!r}")
    levels = model.config.quantiles
    if isinstance(quantiles, (int, float)):
        quantiles = (quantiles,)
    qs = tuple(quantiles)
    if not qs:
        raise ValueError(f"quantiles must name at least one level of {levels}")
    try:
        return tuple(_level_index(levels, float(q)) for q in qs)
    except (TypeError, ValueError):
        raise ValueError(f"quantiles must be levels among {levels}, got {qs}") from None


def _where(batch: Batch, i: int, c: int) -> str:
    if batch.ids is not None and batch.id_col is not None:
        where = f"series {batch.ids[i]!r}"
    else:
        where = f"series {i}" if batch.n_series > 1 else "the series"
    return where + (f" channel {c}" if batch.n_channels > 1 else "")


def check_history(batch: Batch, context_length: int | None = None) -> None:
    """At least 2 observed values per series and channel, and (given ``context_length``) at least one
    among the last ``context_length`` points of a right-aligned batch: the window the model reads."""
    counts = batch.observed.sum(-1).numpy()
    bad = np.argwhere(counts < 2)
    if bad.size:
        i, c = (int(v) for v in bad[0])
        raise ValueError(
            f"{_where(batch, i, c)} has {int(counts[i, c])} observed value(s); forecasting needs at least "
            f"2 observed values per series and channel ({len(bad)} series/channel pair(s) have fewer)"
        )
    if context_length is None or batch.align != "right":
        return
    recent = batch.observed[..., -context_length:].sum(-1).numpy()
    bad = np.argwhere(recent == 0)
    if bad.size:
        i, c = (int(v) for v in bad[0])
        raise ValueError(
            f"{_where(batch, i, c)} has no observed value among its last {context_length} points, the "
            "window the model forecasts from; drop the trailing missing values (the forecast then starts "
            "after the last observation) or impute them first"
        )


def _stride_groups(
    batch: Batch, context_length: int, opts: Options, channels: int, multivariate: bool
) -> list[tuple[np.ndarray, int]]:
    """Model rows grouped by SIFI stride, each group with the width of its longest (right-aligned) history.

    The stride of a row is ``min(ceil(length / context_length), sifi_max_stride)`` of its own length
    (1 without SIFI); within one stride the left padding is unobserved and outside every window the
    model reads, so cutting the batch to a group's width changes nothing for the rows in it.
    """
    lengths = np.asarray(batch.lengths, dtype=np.int64)
    if not multivariate and channels > 1:
        lengths = np.repeat(lengths, channels)
    stride = np.minimum(-(-lengths // context_length), opts.sifi_max_stride) if opts.sifi else 0 * lengths
    groups = []
    for s in np.unique(stride):
        rows = np.flatnonzero(stride == s)
        groups.append((rows, int(lengths[rows].max())))
    return groups


# ---------------------------------------------------------------------------------------- public


@torch.inference_mode()
def _run(
    model: TinyCast, batch: Batch, horizon: int, opts: Options, multivariate: bool, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(n, C, horizon)`` and all-level quantiles ``(n, C, horizon, Q)`` for a batch."""
    check_history(batch, model.config.context_length)
    device = next(model.parameters()).device
    v, o = batch.values, batch.observed
    n, ch, t = v.shape
    # huge series: divided by a power of two so that the model's float32 statistics cannot overflow
    scale = row_scale_torch(v)
    if (scale != 1.0).any():
        v = v / scale
    long_rows = torch.tensor(batch.lengths) > model.config.context_length
    if not multivariate and ch > 1:
        v, o = v.reshape(n * ch, 1, t), o.reshape(n * ch, 1, t)
        long_rows = long_rows.repeat_interleave(ch)
    per = max(1, batch_size // v.shape[1])
    out: torch.Tensor | None = None
    was_training = model.training
    model.eval()
    try:
        # rows in groups of one SIFI stride (which depends on a row's own history length, not on the
        # longest series next to it), each cut to its longest history: a series' forecast does not
        # depend on the other series of the call (also what the distributed path relies on)
        groups = list(_stride_groups(batch, model.config.context_length, opts, ch, multivariate))
        # progress in model calls: a single series with a long horizon is many rollout calls
        progress.plan(
            sum(
                sifi_calls(model, width, bool(long_rows[rows[lo : lo + per]].any()), horizon, opts)
                for rows, width in groups
                for lo in range(0, len(rows), per)
            )
        )
        for rows, width in groups:
            for lo in range(0, len(rows), per):
                sel = torch.from_numpy(rows[lo : lo + per])
                # fill_rows: at least MIN_ROWS rows per call (the heads see one row per series);
                # a series never depends on how many others came with it
                pad = fill_rows(sel)
                q = predict_sifi(
                    model,
                    v[pad, :, t - width :].to(device),
                    o[pad, :, t - width :].to(device),
                    long_rows[pad].to(device),
                    horizon,
                    opts,
                ).float()[: len(sel)]
                if out is None:
                    out = torch.empty((v.shape[0], *q.shape[1:]), dtype=torch.float32)
                out[sel] = q.cpu()
    finally:
        model.train(was_training)
    assert out is not None
    quant = out.reshape(n, ch, horizon, -1).numpy().astype(np.float64)
    quant *= scale.numpy().astype(np.float64)[..., None]
    return quant.mean(-1), quant


def forecast(
    model: TinyCast | str | os.PathLike[str],
    x: Any,
    horizon: int,
    *,
    quantiles: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    strategy: ForecastStrategy = "auto",
    near_steps: int = 96,
    sifi: bool = True,
    sifi_max_stride: int = 4,
    sifi_weight: float = 0.5,
    symmetry: bool = True,
    multivariate: bool = True,
    batch_size: int = 256,
) -> ForecastResult:
    """Forecast ``horizon`` steps after the end of every series, with quantiles.

    Parameters
    ----------
    model : TinyCast, str or os.PathLike
        E.g. ``tinyts.load("tinycast")`` or a checkpoint folder.
    x : array-like, tensor or list of arrays
        ``(time,)``, ``(channels, time)``, ``(batch, channels, time)``, or a list of ``(time,)`` /
        ``(channels, time)`` arrays of unequal length (aligned at their ends). NaN = missing.
    horizon : int
        Steps to forecast (any length; see the module docstring for the rule).
    quantiles : sequence of float
        Levels to return, a subset of the model's (0.1, 0.2, ..., 0.9).
    strategy : {"auto", "hybrid", "rollout", "coarse", "anchored"}
        How steps beyond the first patch are forecast (module docstring).
    near_steps : int
        Rolled-out steps before the coarse grid takes over (``"hybrid"``, ``"anchored"``).
    sifi : bool
        Stride-interleaved inference for histories longer than the context.
    sifi_max_stride, sifi_weight
        Largest SIFI stride, and the weight of the strided forecast at far lead times.
    symmetry : bool
        Sign-flip symmetry ensembling (twice the compute).
    multivariate : bool
        Forecast the channels of a series jointly (cross-variate attention); False treats every
        channel as its own series.
    batch_size : int
        Series-channels per model call.

    Returns
    -------
    ForecastResult
        ``mean`` shaped like ``x`` with time replaced by ``horizon`` and ``quantiles`` with an extra
        trailing axis of ``len(quantiles)`` levels (see :class:`ForecastResult`).

    Raises
    ------
    TypeError
        Non-numeric input, a model that is not a TinyCast.
    ValueError
        Empty input, inf, an all-NaN series or channel, fewer than 2 observed values in a series or
        channel or none among its last ``context_length`` points, a bad horizon, unknown quantile
        levels or options.
    """
    model = resolve(model, TinyCast)
    opts = Options(strategy, near_steps, sifi, sifi_max_stride, sifi_weight, symmetry)
    picks = _check_args(model, horizon, quantiles, opts, batch_size)
    batch = to_batch(x, align="right", name="x")
    mean, quant = _run(model, batch, int(horizon), opts, multivariate, int(batch_size))
    levels = tuple(model.config.quantiles[k] for k in picks)
    return ForecastResult(
        mean=from_batch_horizon(mean, batch),
        quantiles=from_batch_horizon(quant[..., list(picks)], batch),
        levels=levels,
    )


def forecast_df(
    model: TinyCast | str | os.PathLike[str],
    df: pd.DataFrame,
    horizon: int,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    quantiles: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    freq: Any = None,
    strategy: ForecastStrategy = "auto",
    near_steps: int = 96,
    sifi: bool = True,
    sifi_max_stride: int = 4,
    sifi_weight: float = 0.5,
    symmetry: bool = True,
    multivariate: bool = True,
    batch_size: int = 256,
) -> pd.DataFrame:
    """Forecast every series of a long DataFrame; a long DataFrame of future rows comes back.

    Parameters
    ----------
    model : TinyCast, str or path
        A model, or a bundled name / checkpoint folder (loaded once per process; the only form a Dask
        DataFrame or Ray Dataset takes, see :mod:`tinyts.tasks.distributed`).
    df : pd.DataFrame, dask.dataframe.DataFrame or ray.data.Dataset
        Long format with ``id_col``, ``time_col`` and ``target_col`` (Nixtla naming by default). A
        Dask or Ray frame gives the same engine's frame back (rows partition by partition).
    horizon : int
    id_col, time_col, target_col
        Column names (see :func:`tinyts.data.convert.arrays.df_to_batch`); several target columns are the
        channels of one multivariate series.
    quantiles : sequence of float
        Levels to return (columns named ``"0.1"``, ``"0.5"``, ...).
    freq : str, offset or number, optional
        Time step; each series is put on its grid (missing steps become unobserved history). Default:
        inferred from each series' timestamps; a datetime series with missing steps is put on the grid
        of its own inferred step (a ``UserWarning`` counts the inserted steps; ``df_to_batch(...,
        freq="infer")``), one that fits no grid is forecast from its rows as consecutive steps and
        needs ``freq`` for its future timestamps.
    strategy, near_steps, sifi, sifi_max_stride, sifi_weight, symmetry, multivariate, batch_size
        As in :func:`forecast`.

    Returns
    -------
    pd.DataFrame
        Columns ``id_col`` (unless None), ``time_col`` (future timestamps), ``target_name`` (only with
        several targets), ``mean`` and one column per quantile level; rows ordered by series (first
        appearance), then target, then time.
    """
    opts = Options(strategy, near_steps, sifi, sifi_max_stride, sifi_weight, symmetry)
    if engine_of(df) is not None:
        cols = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        extra = {"multivariate": multivariate, "batch_size": batch_size}
        forecast_options = {**dataclasses.asdict(opts), **extra}
        options = {**cols, "horizon": horizon, "quantiles": quantiles, "freq": freq, **forecast_options}
        return run_distributed("forecast", model, df, options)
    cast: TinyCast = task_model(model, "forecast")
    picks = _check_args(cast, horizon, quantiles, opts, batch_size)
    grid = "infer" if freq is None else freq
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        batch = df_to_batch(df, id_col=id_col, time_col=time_col, target_col=target_col, freq=grid)
    # a series that cannot be dated fails before the model runs (and without the warning that its rows
    # would be used as consecutive steps: they are not used at all)
    future = horizon_times(batch, int(horizon))
    for w in said:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    mean, quant = _run(cast, batch, int(horizon), opts, multivariate, int(batch_size))

    targets = batch.target_cols or ["y"]
    frames = []
    for c, name in enumerate(targets):
        frame = batch_to_df_horizon(mean[:, c : c + 1], batch, value_col="mean", future=future)
        if len(targets) > 1:
            frame.insert(list(frame.columns).index("mean"), "target_name", name)
        for k in picks:
            frame[f"{cast.config.quantiles[k]:g}"] = quant[:, c, :, k].reshape(-1)
        frames.append(frame)
    if len(frames) == 1:
        return frames[0]
    # frames are target-major; reorder the rows to (series, target, time)
    rows = np.arange(batch.n_series * horizon)
    n_t = len(targets)
    key = np.concatenate(
        [(rows // horizon) * n_t * horizon + c * horizon + rows % horizon for c in range(n_t)]
    )
    both = pd.concat(frames, ignore_index=True)
    return both.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)

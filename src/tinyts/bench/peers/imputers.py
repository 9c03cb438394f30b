"""Imputation peers for the ``imputation`` suite, behind one registry.

Every method is a factory ``(ImputeSetup) -> impute`` where ``impute(x)`` takes ``(n_series, T)``
float64 windows with NaN at the hidden points and returns them filled (same shape, no NaN). The
factory may train on ``setup.train`` (the standardised train split); what it does there is timed
by the suite as ``fit_seconds``. Adding a method (a tinyts model later) is one entry in
:data:`IMPUTERS`.

- ``linear_interp``: linear interpolation between the nearest observed neighbours, constant past
  the ends (``np.interp`` semantics), vectorised over series.
- ``seasonal_linear``: a seasonal profile ``s(t)`` = mean of the observed ``x[t +- kP]``,
  ``k = 1..3``, plus the linearly interpolated residual ``x - s``; plain linear where no seasonal
  neighbour is observed.
- ``saits``: PyPOTS SAITS trained on windows of the train split (see :func:`saits_factory`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "IMPUTERS",
    "SAITS_CONFIG",
    "ImputeFn",
    "ImputeSetup",
    "linear_fill",
    "saits_factory",
    "seasonal_linear_fill",
]

ImputeFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class ImputeSetup:
    """What a method may use besides the masked windows.

    Attributes
    ----------
    period : int
        Season length of the data (:func:`tinyts.bench.metrics.seasonal_period`).
    train, val : np.ndarray
        ``(n_channels, n_time)`` train and validation splits, standardised with train statistics.
    seed : int
        Seed for anything random.
    quick : bool
        ``--quick`` run: train less.
    epochs : int, optional
        Override the number of training epochs of a trained peer (tests use 1).
    info : dict
        Filled in by a factory that trains: how it was trained (the suite writes it to its notes
        and records the factory's time as ``fit_seconds``).
    """

    period: int
    train: np.ndarray
    val: np.ndarray
    seed: int = 0
    quick: bool = False
    epochs: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _check_windows(x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"windows must be (n_series, T), got shape {arr.shape}")
    return arr


def linear_fill(x: np.ndarray) -> np.ndarray:
    """Fill NaN by linear interpolation along the last axis, constant past the ends.

    Identical to ``np.interp(t, t[obs], x[obs])`` per row, vectorised. A row with no observed
    point is filled with 0 (the train mean in standardised space).
    """
    arr = _check_windows(x)
    t_len = arr.shape[1]
    obs = ~np.isnan(arr)
    pos = np.arange(t_len)
    prev = np.maximum.accumulate(np.where(obs, pos, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(obs, pos, t_len)[:, ::-1], axis=1)[:, ::-1]
    has_prev, has_next = prev >= 0, nxt < t_len
    filled = np.where(obs, arr, 0.0)
    x_prev = np.take_along_axis(filled, np.clip(prev, 0, t_len - 1), axis=1)
    x_next = np.take_along_axis(filled, np.clip(nxt, 0, t_len - 1), axis=1)
    between = has_prev & has_next & (nxt > prev)
    w = np.where(between, (pos - prev) / np.where(between, nxt - prev, 1), 0.0)
    inner = x_prev + w * (x_next - x_prev)
    out = np.where(has_prev & has_next, inner, np.where(has_prev, x_prev, x_next))
    out = np.where(has_prev | has_next, out, 0.0)
    return np.where(obs, arr, out)


def seasonal_linear_fill(x: np.ndarray, period: int, k_max: int = 3) -> np.ndarray:
    """Seasonal profile from observed ``x[t +- kP]`` (``k = 1..k_max``) plus a linear residual.

    ``s(t)`` is the mean of the observed values one to ``k_max`` periods before and after ``t``
    (inside the window). The residual ``x - s`` at observed points with a defined ``s`` is linearly
    interpolated to the hidden points, and the fill is ``s + residual``. Hidden points without any
    observed seasonal neighbour get plain linear interpolation of ``x``.
    """
    arr = _check_windows(x)
    t_len = arr.shape[1]
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"period must be a positive int, got {period!r}")
    obs = ~np.isnan(arr)
    vals = np.where(obs, arr, 0.0)
    total = np.zeros_like(vals)
    count = np.zeros(arr.shape, dtype=np.int64)
    for k in range(1, k_max + 1):
        lag = k * int(period)
        if lag >= t_len:
            break
        total[:, lag:] += vals[:, :-lag]  # x[t - lag]
        count[:, lag:] += obs[:, :-lag]
        total[:, :-lag] += vals[:, lag:]  # x[t + lag]
        count[:, :-lag] += obs[:, lag:]
    has_s = count > 0
    season = np.where(has_s, total / np.maximum(count, 1), 0.0)
    resid = np.where(obs & has_s, arr - season, np.nan)
    has_resid = (obs & has_s).any(axis=1)
    seasonal = season + linear_fill(np.where(has_resid[:, None], resid, 0.0))
    fill = np.where(has_s & has_resid[:, None], seasonal, linear_fill(arr))
    return np.where(obs, arr, fill)


def _linear_factory(setup: ImputeSetup) -> ImputeFn:
    return linear_fill


def _seasonal_linear_factory(setup: ImputeSetup) -> ImputeFn:
    period = int(setup.period)

    def impute(x: np.ndarray) -> np.ndarray:
        return seasonal_linear_fill(x, period)

    return impute


#: SAITS hyper-parameters (PyPOTS names). A chunk of ``n_steps`` points is the model's window;
#: 512-point evaluation windows are imputed as overlapping chunks (see :func:`saits_factory`).
SAITS_CONFIG: dict[str, Any] = {
    "n_steps": 64,
    "n_layers": 2,
    "d_model": 64,
    "n_heads": 4,
    "d_k": 16,
    "d_v": 16,
    "d_ffn": 128,
    "dropout": 0.1,
    "attn_dropout": 0.0,
    "batch_size": 64,
}
#: Evaluation windows longer than n_steps are cut into chunks at this stride.
SAITS_CHUNK_STRIDE = 32
_SAITS_EPOCHS = 10  # full run; patience 3 on the validation windows
_SAITS_EPOCHS_QUICK = 2
_SAITS_MAX_TRAIN = 4000  # train chunks (window x channel) at most
_SAITS_TRAIN_STRIDE = 16
_SAITS_LR = 2e-3
_SAITS_PATIENCE = 3
_SAITS_PREDICT_BATCH = 512
_SAITS_MAX_VAL = 1000
_MIN_CHUNK_STD = 0.05


def _chunks(
    split: np.ndarray, n_steps: int, stride: int, max_count: int, rng: np.random.Generator
) -> np.ndarray:
    """``(count, n_steps, 1)`` univariate chunks of a ``(C, n_time)`` split at ``stride``."""
    series = split
    if series.shape[1] < n_steps:
        raise ValueError(f"split of {series.shape[1]} rows is shorter than the SAITS window {n_steps}")
    view = np.lib.stride_tricks.sliding_window_view(series, n_steps, axis=1)[:, ::stride]
    out = view.reshape(-1, n_steps)
    out = out[np.all(np.isfinite(out), axis=1)]
    if out.shape[0] > max_count:
        out = out[np.sort(rng.choice(out.shape[0], size=max_count, replace=False))]
    return np.ascontiguousarray(out[:, :, None], dtype=np.float32)


def _instance_norm(chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each ``(n, n_steps, 1)`` chunk by its observed mean and std (std floored at 0.05)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        loc = np.nanmean(chunks, axis=1, keepdims=True)
        scale = np.nanstd(chunks, axis=1, keepdims=True)
    loc = np.nan_to_num(loc, nan=0.0)
    scale = np.maximum(np.nan_to_num(scale, nan=1.0), _MIN_CHUNK_STD)
    return (chunks - loc) / scale, loc, scale


def _chunk_starts(t_len: int, n_steps: int, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chunks at ``stride`` over [0, t_len); each point is taken from the chunk that centres it best.

    Returns the chunk starts and, per chunk, the [keep_lo, keep_hi) range (window coordinates) it
    fills.
    """
    starts = np.arange(0, max(t_len - n_steps, 0) + 1, stride)
    if starts[-1] + n_steps < t_len:
        starts = np.append(starts, t_len - n_steps)
    lo = np.empty_like(starts)
    hi = np.empty_like(starts)
    for i, s in enumerate(starts):
        lo[i] = 0 if i == 0 else (starts[i - 1] + n_steps + s) // 2
        hi[i] = t_len if i == len(starts) - 1 else (s + n_steps + starts[i + 1]) // 2
    return starts, lo, hi


def saits_chunks_per_window(t_len: int) -> int:
    """SAITS forwards needed to impute one window of ``t_len`` points."""
    return len(_chunk_starts(t_len, int(SAITS_CONFIG["n_steps"]), SAITS_CHUNK_STRIDE)[0])


def saits_recipe() -> str:
    """One paragraph: how the ``saits`` peer is trained and applied (for the suite notes)."""
    n_steps = int(SAITS_CONFIG["n_steps"])
    cfg = ", ".join(f"{k}={v}" for k, v in SAITS_CONFIG.items())
    return (
        f"PyPOTS SAITS ({cfg}, Adam lr {_SAITS_LR}) trained on univariate {n_steps}-point chunks cut "
        f"from every channel of the standardised train split at stride {_SAITS_TRAIN_STRIDE} (a seeded "
        f"random subset of at most {_SAITS_MAX_TRAIN}; a quarter of that with --quick), each chunk "
        f"instance-normalised (its mean and std, std >= {_MIN_CHUNK_STD}); PyPOTS' own MIT hides 20 % "
        "of the observed points at random (MCAR) every epoch, loss ORT + MIT MAE; the kept epoch is "
        f"the best MSE on val-split chunks under hybrid 25 % masks; at most {_SAITS_EPOCHS} epochs "
        f"({_SAITS_EPOCHS_QUICK} with --quick), early stop after {_SAITS_PATIENCE} without "
        f"improvement. Windows are imputed as {n_steps}-point chunks at stride {SAITS_CHUNK_STRIDE}, "
        f"each point taken from the chunk whose centre is nearest (>= {n_steps // 4} points of "
        "context on each side except at the window ends); seeded by --seed."
    )


def saits_factory(setup: ImputeSetup) -> ImputeFn:
    """Train PyPOTS SAITS on the train split and return its window imputer.

    The recipe is :func:`saits_recipe` (written into the suite notes). Each chunk is scaled by
    its own observed mean and std before SAITS and scaled back after (instance normalisation, as
    the foundation models do). Nothing is saved or logged to disk (``saving_path=None``); the
    package never downloads anything on this path.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from pypots.imputation import SAITS
    from pypots.optim.adam import Adam
    from pypots.utils.logging import logger as pypots_logger
    from pypots.utils.random import set_random_seed

    from tinyts.data.masks import hybrid_mask

    pypots_logger.setLevel(logging.ERROR)
    cfg = dict(SAITS_CONFIG)
    n_steps = int(cfg.pop("n_steps"))
    chunk_stride = SAITS_CHUNK_STRIDE
    epochs = setup.epochs or (_SAITS_EPOCHS_QUICK if setup.quick else _SAITS_EPOCHS)
    rng = np.random.default_rng([setup.seed, 7])
    shrink = 4 if setup.quick else 1
    train = _chunks(setup.train, n_steps, _SAITS_TRAIN_STRIDE, _SAITS_MAX_TRAIN // shrink, rng)
    val_ori = _chunks(setup.val, n_steps, n_steps // 2, _SAITS_MAX_VAL // shrink, rng)
    train = _instance_norm(train)[0].astype(np.float32)
    val_x = val_ori.copy()
    val_x[hybrid_mask(val_x.shape[:2], 0.25, rng=rng)] = np.nan
    val_x, val_loc, val_scale = _instance_norm(val_x)
    val_ori = ((val_ori - val_loc) / val_scale).astype(np.float32)
    val_x = val_x.astype(np.float32)
    set_random_seed(setup.seed)
    model = SAITS(
        n_steps=n_steps,
        optimizer=Adam(lr=_SAITS_LR),
        n_features=1,
        epochs=epochs,
        patience=_SAITS_PATIENCE if epochs > _SAITS_PATIENCE else None,
        device="cpu",
        saving_path=None,
        model_saving_strategy=None,
        verbose=False,
        **cfg,
    )
    model.fit({"X": train}, {"X": val_x, "X_ori": val_ori})
    model.batch_size = _SAITS_PREDICT_BATCH  # inference only: larger batches, same results
    params = int(sum(p.numel() for p in model.model.parameters()))
    setup.info.update(
        n_steps=n_steps,
        chunk_stride=chunk_stride,
        train_chunks=int(train.shape[0]),
        val_chunks=int(val_ori.shape[0]),
        max_epochs=epochs,
        params=params,
        torch_threads=torch.get_num_threads(),
        **{k: v for k, v in cfg.items() if k in ("n_layers", "d_model", "n_heads", "d_ffn")},
    )
    plans: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def impute(x: np.ndarray) -> np.ndarray:
        arr = _check_windows(x)
        n, t_len = arr.shape
        if t_len < n_steps:
            raise ValueError(f"SAITS was trained on {n_steps}-point chunks; windows of {t_len} are too short")
        if t_len not in plans:
            plans[t_len] = _chunk_starts(t_len, n_steps, chunk_stride)
        st, keep_lo, keep_hi = plans[t_len]
        chunks = np.stack([arr[:, s : s + n_steps] for s in st], axis=1).reshape(-1, n_steps, 1)
        out = np.empty_like(arr)
        pred = np.empty(chunks.shape[:2], dtype=np.float64)
        step = 4096
        for i in range(0, chunks.shape[0], step):
            part, loc, scale = _instance_norm(chunks[i : i + step])
            imputed = model.predict({"X": part.astype(np.float32)})["imputation"]
            pred[i : i + step] = (imputed * scale + loc)[..., 0]
        pred = pred.reshape(n, len(st), n_steps)
        for j, s in enumerate(st):
            out[:, keep_lo[j] : keep_hi[j]] = pred[:, j, keep_lo[j] - s : keep_hi[j] - s]
        return np.where(np.isnan(arr), out, arr)

    return impute


#: method name -> factory. Order = column order in the report.
IMPUTERS: dict[str, Callable[[ImputeSetup], ImputeFn]] = {
    "linear_interp": _linear_factory,
    "seasonal_linear": _seasonal_linear_factory,
    "saits": saits_factory,
}

"""Zero-shot anomaly scores from TinyPulse: time, FFT and forecast heads, fused.

Each channel is standardised with its whole-series mean and std (as TSPulse does), so errors are
comparable along the series. Then, per mode:

``time`` / ``fft``
    The series is tiled by scoring blocks of ``agg`` points. Block ``j`` is scored inside the
    context window that ends with it (or the first window, for blocks in the first context). Its
    patches are split into ``groups`` interleaved sets; each set is hidden in one copy of the window
    and reconstructed by the time head (``time``) or through the inverse FFT (``fft``). The score of a
    point is its squared reconstruction error. Each point is scored exactly once, so a series of T
    points costs about ``groups * T / agg`` forward passes, against ``T * agg / patch`` for the
    reference procedure (every stride-1 window copied once per masked patch).
``forecast``
    Windows at stride ``forecast_length`` predict the next ``forecast_length`` points from the
    register tokens; the score is the squared forecast error. The first context has no forecast and
    gets the first forecast score.

Post-processing per mode: a centred moving average of the squared errors over ``smooth`` points (96 by
default: TSPulse scores a window by the mean squared error over its last 96 points, so this is the same
window score, centred on the window), then min-max scaling. ``ensemble`` fuses the three scaled streams
point-wise, by their max (``fuse="max"``, TSPulse's rule) or their mean (``fuse="mean"``).
Multichannel series are scored per channel (each standardised on its own, so squared errors share one
scale) and combined by the max over channels of the window scores, before min-max scaling. The result
has one score per time point, aligned to the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tinyts.data.convert import to_batch
from tinyts.models.pulse import TinyPulse

HEADS = ("time", "fft", "forecast")
MODES = (*HEADS, "ensemble")
FUSE = ("max", "mean")


def _minmax(s: np.ndarray) -> np.ndarray:
    lo, hi = np.nanmin(s), np.nanmax(s)
    return np.zeros_like(s) if not np.isfinite(hi - lo) or hi - lo <= 0 else (s - lo) / (hi - lo)


def _smooth(s: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average of ``k`` points (at most the series length), edges padded by repetition."""
    k = min(k, s.size)
    if k <= 1:
        return s
    padded = np.pad(s, (k // 2, k - 1 - k // 2), mode="edge")
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    return (csum[k:] - csum[:-k]) / k


def _forward(model: TinyPulse, xw: np.ndarray, ow: np.ndarray, batch_size: int) -> dict[str, np.ndarray]:
    outs: dict[str, list[np.ndarray]] = {"time": [], "fft": [], "forecast": []}
    with torch.inference_mode():
        for lo in range(0, len(xw), batch_size):
            x = torch.from_numpy(xw[lo : lo + batch_size, None, :])
            o = torch.from_numpy(ow[lo : lo + batch_size, None, :])
            out = model(x, o)
            outs["time"].append(model.denormalize(out["recon"], out)[:, 0].numpy())
            outs["fft"].append(model.denormalize(out["recon_fft"], out)[:, 0].numpy())
            outs["forecast"].append(model.denormalize(out["forecast"], out)[:, 0].numpy())
    return {k: np.concatenate(v) if v else np.zeros((0, 0), np.float32) for k, v in outs.items()}


def _reconstruction_errors(
    model: TinyPulse, z: np.ndarray, agg: int, groups: int, batch_size: int, offset: int = 0
) -> dict[str, np.ndarray]:
    """Squared time-head and FFT-head errors of every point of a standardised 1-D series."""
    length, patch = model.config.context_length, model.config.patch_length
    t = z.size
    padded_left = max(0, length - t)
    zp = np.concatenate([np.zeros(padded_left, np.float32), z.astype(np.float32)])
    obs_base = np.ones(zp.size, dtype=bool)
    obs_base[:padded_left] = False
    tp = zp.size
    # block edges: every ``agg`` points, the grid shifted by ``offset`` (a multiple of the patch)
    edges = np.unique(np.clip(np.arange(-offset, tp + agg, agg), 0, tp))
    xs, os_, targets = [], [], []
    for b0, b1 in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        s = int(np.clip(b1 - length, 0, tp - length))
        block = np.arange(b0, b1)
        patch_id = (block - b0) // patch
        for g in range(groups):
            hide = block[patch_id % groups == g]
            hide = hide[hide >= padded_left]
            if hide.size == 0:
                continue
            obs = obs_base[s : s + length].copy()
            obs[hide - s] = False
            xs.append(zp[s : s + length])
            os_.append(obs)
            targets.append((s, hide))
    out = _forward(model, np.stack(xs), np.stack(os_), batch_size)
    err = {k: np.full(tp, np.nan) for k in ("time", "fft")}
    for i, (s, hide) in enumerate(targets):
        for key in err:
            err[key][hide] = (out[key][i, hide - s] - zp[hide]) ** 2
    return {k: v[padded_left:] for k, v in err.items()}


def _forecast_errors(model: TinyPulse, z: np.ndarray, batch_size: int, stride: int = 0) -> np.ndarray:
    length = model.config.context_length
    horizon = min(stride, model.config.forecast_length) if stride > 0 else model.config.forecast_length
    t = z.size
    err = np.full(t, np.nan)
    if t <= length:
        return np.zeros(t)
    ends = np.arange(length, t, horizon)
    idx = ends[:, None] - length + np.arange(length)[None, :]
    xw = z.astype(np.float32)[idx]
    out = _forward(model, xw, np.ones_like(xw, dtype=bool), batch_size)["forecast"]
    for i, e in enumerate(ends.tolist()):
        stop = min(e + horizon, t)
        err[e:stop] = (out[i, : stop - e] - z[e:stop]) ** 2
    err[:length] = err[length]
    return err


def window_errors(
    model: TinyPulse,
    series: np.ndarray,
    *,
    agg: int = 64,
    groups: int = 2,
    smooth: int = 96,
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Window scores of one 1-D series: the squared errors of each head, standardised units, smoothed.

    Returns ``time``, ``fft`` and ``forecast`` streams (not yet min-max scaled), one value per point.
    A constant channel carries no anomaly evidence: zeros, no model call.
    """
    x = np.asarray(series, dtype=np.float64)
    obs = np.isfinite(x)
    mean, std = x[obs].mean(), x[obs].std()
    if not std > 0:
        return {k: np.zeros(x.size) for k in HEADS}
    z = np.where(obs, (x - mean) / std, 0.0)
    raw = _reconstruction_errors(model, z, agg, groups, batch_size)
    raw["forecast"] = _forecast_errors(model, z, batch_size)
    return {k: _smooth(np.nan_to_num(raw[k], nan=0.0), smooth) for k in HEADS}


def fuse_heads(errors: dict[str, np.ndarray], fuse: str = "max") -> dict[str, np.ndarray]:
    """Min-max scale each head's window scores and add their ``ensemble`` (max or mean)."""
    if fuse not in FUSE:
        raise ValueError(f"fuse must be one of {FUSE}, got {fuse!r}")
    scores = {k: _minmax(errors[k]) for k in HEADS}
    heads = [scores[k] for k in HEADS]
    scores["ensemble"] = np.maximum.reduce(heads) if fuse == "max" else np.mean(heads, axis=0)
    return scores


def series_errors(model: TinyPulse, values: np.ndarray, **kwargs: Any) -> dict[str, np.ndarray]:
    """:func:`window_errors` of every channel of ``(channels, time)`` values, max over channels.

    Channels are standardised one by one, so their squared errors share one scale and the raw
    maximum is meaningful (min-max scaling each channel first would let a quiet channel's noise
    count as much as a real excursion elsewhere).
    """
    per_channel = [window_errors(model, ch, **kwargs) for ch in np.asarray(values, dtype=np.float64)]
    return {k: np.max(np.stack([c[k] for c in per_channel]), axis=0) for k in HEADS}


def score_channel(
    model: TinyPulse,
    series: np.ndarray,
    *,
    agg: int = 64,
    groups: int = 2,
    smooth: int = 96,
    fuse: str = "max",
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Min-max scaled ``time``, ``fft``, ``forecast`` and ``ensemble`` scores of one 1-D series."""
    if fuse not in FUSE:
        raise ValueError(f"fuse must be one of {FUSE}, got {fuse!r}")
    errors = window_errors(model, series, agg=agg, groups=groups, smooth=smooth, batch_size=batch_size)
    return fuse_heads(errors, fuse)


def anomaly_scores(
    model: TinyPulse,
    x: Any,
    *,
    mode: str = "ensemble",
    agg: int = 64,
    groups: int = 2,
    smooth: int = 96,
    fuse: str = "max",
    batch_size: int = 256,
) -> np.ndarray:
    """One anomaly score in [0, 1] per time point of a series (higher = more anomalous).

    Parameters
    ----------
    model : TinyPulse
        Pre-trained model.
    x : array-like
        ``(time,)`` or ``(channels, time)``; NaN allowed (missing points are scored from their
        neighbours' context and count as observed zeros after standardisation).
    mode : {"time", "fft", "forecast", "ensemble"}
        Which head(s); see the module docstring.
    agg, groups, smooth, batch_size
        Scoring block length (a multiple of the patch length), interleaved mask groups per block,
        moving-average length of the squared errors (the window score), windows per forward pass.
    fuse : {"max", "mean"}
        How ``ensemble`` combines the three min-max scaled heads.

    Returns
    -------
    np.ndarray
        ``(time,)`` float64 scores.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if fuse not in FUSE:
        raise ValueError(f"fuse must be one of {FUSE}, got {fuse!r}")
    if smooth < 1:
        raise ValueError(f"smooth must be a positive number of points, got {smooth}")
    if agg % model.config.patch_length or agg <= 0:
        raise ValueError(f"agg must be a positive multiple of the patch length ({model.config.patch_length})")
    batch = to_batch(x, min_length=2, name="x")
    if batch.values.shape[0] != 1:
        raise ValueError("anomaly_scores takes one series, (time,) or (channels, time); loop over a batch")
    vals = batch.values[0].numpy().astype(np.float64)
    vals[~batch.observed[0].numpy()] = np.nan
    errors = series_errors(model, vals, agg=agg, groups=groups, smooth=smooth, batch_size=batch_size)
    return fuse_heads(errors, fuse)[mode]

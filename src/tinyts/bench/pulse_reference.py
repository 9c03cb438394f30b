"""TSPulse's own anomaly-scoring procedure, run with TinyPulse's weights: the cost and accuracy reference.

``tinyts.tasks.pulse.anomaly`` scores every point once (a block of points hidden per forward pass). The
reference pipeline (granite-tsfm ``ad_helpers`` / ``time_series_anomaly_detection_pipeline``, as
``shared/research/tspulse.md`` section 2.5 describes it) instead slides a window of 512 at stride 1
and copies each window once per patch of its last ``agg`` points (96 / 8 = 12 copies), each copy
hiding exactly that patch. Here it is re-implemented on our model so that the two procedures can be
compared on the same weights, series and metric (``tinyts bench anomaly -m tinypulse -m tinypulse_ref``):

1. each channel z-normalised with its whole-series mean and std;
2. ``time`` / ``fft``: window score = mean squared error of the stitched reconstructions of the last
   ``agg`` points (time head, or through the inverse FFT); placed at the centre of its scored block
   (``512 - agg/2`` leading copies of the first value, ``agg/2 - 1`` trailing copies of the last);
3. ``forecast``: squared error of the 1-step forecast of the point after each window (no hidden
   points), ``512`` leading copies of the first value;
4. channels: window scores averaged over channels (the pipeline's default without ``expand_score``);
5. per mode min-max scaling, then a moving average of 8 points (``np.convolve(..., "same")``) for
   ``time`` and ``fft``; the ensemble is the point-wise max of the three streams, divided by its max.
"""

from __future__ import annotations

import numpy as np
import torch

from tinyts.models.pulse import TinyPulse

#: points of the scored block at the end of each window (TSB-AD run of TSPulse)
AGG = 96
#: moving-average length applied to the time and fft streams (TSB-AD run of TSPulse)
SMOOTH = 8


def _block_errors(model: TinyPulse, z: np.ndarray, agg: int, windows_per_batch: int) -> dict[str, np.ndarray]:
    """Window scores of the time and fft heads for every stride-1 window of a 1-D standardised series."""
    length, patch = model.config.context_length, model.config.patch_length
    copies = agg // patch
    n_win = z.size - length + 1
    hide = np.ones((copies, length), dtype=bool)
    for k in range(copies):
        start = length - agg + k * patch
        hide[k, start : start + patch] = False
    sel = np.arange(length - agg, length)
    # copy k reconstructs points sel[k*patch:(k+1)*patch]; row index of the copy that owns each point
    owner = np.repeat(np.arange(copies), patch)
    scores = {"time": np.empty(n_win), "fft": np.empty(n_win)}
    zf = z.astype(np.float32)
    with torch.inference_mode():
        for lo in range(0, n_win, windows_per_batch):
            hi = min(lo + windows_per_batch, n_win)
            idx = np.arange(lo, hi)[:, None] + np.arange(length)[None, :]
            win = zf[idx]  # (nw, L)
            xb = np.repeat(win, copies, axis=0)  # (nw*copies, L)
            ob = np.tile(hide, (hi - lo, 1))
            out = model(torch.from_numpy(xb[:, None, :]), torch.from_numpy(ob[:, None, :]))
            target = win[:, sel]
            for key, name in (("time", "recon"), ("fft", "recon_fft")):
                rec = model.denormalize(out[name], out)[:, 0].numpy().reshape(hi - lo, copies, length)
                stitched = rec[:, owner, sel]  # (nw, agg): each point from the copy that hid it
                scores[key][lo:hi] = np.mean((stitched - target) ** 2, axis=1)
    return scores


def _forecast_errors(model: TinyPulse, z: np.ndarray, batch_size: int) -> np.ndarray:
    """Squared 1-step forecast error after every stride-1 window (``T - 512`` values)."""
    length = model.config.context_length
    n_win = z.size - length
    err = np.empty(n_win)
    zf = z.astype(np.float32)
    with torch.inference_mode():
        for lo in range(0, n_win, batch_size):
            hi = min(lo + batch_size, n_win)
            idx = np.arange(lo, hi)[:, None] + np.arange(length)[None, :]
            x = torch.from_numpy(zf[idx][:, None, :])
            out = model(x, torch.ones_like(x, dtype=torch.bool))
            pred = model.denormalize(out["forecast"], out)[:, 0, 0].numpy()
            err[lo:hi] = (pred - zf[lo + length : hi + length]) ** 2
    return err


def _minmax(s: np.ndarray) -> np.ndarray:
    lo, hi = float(s.min()), float(s.max())
    return np.zeros_like(s) if hi <= lo else (s - lo) / (hi - lo)


def reference_scores(
    model: TinyPulse, values: np.ndarray, agg: int = AGG, windows_per_batch: int = 21
) -> dict[str, np.ndarray]:
    """Scores of the reference procedure for ``values`` ``(C, T)``: keys time, fft, forecast, ensemble.

    Parameters
    ----------
    model : TinyPulse
        The scoring model.
    values : np.ndarray
        ``(C, T)`` finite values, ``T > context_length``.
    agg : int
        Points scored at the end of each window (a multiple of the patch length).
    windows_per_batch : int
        Windows per forward pass (each becomes ``agg / patch`` rows).

    Returns
    -------
    dict of str to np.ndarray
        One score per time point for each mode, min-max scaled (the ensemble divided by its max).
    """
    x = np.asarray(values, dtype=np.float64)
    length, patch = model.config.context_length, model.config.patch_length
    if x.ndim != 2 or x.shape[1] <= length:
        raise ValueError(f"need (C, T) values with T > {length}; got shape {x.shape}")
    x = x.T  # (T, C) below
    if agg % patch or not 0 < agg <= length:
        raise ValueError(f"agg must be a positive multiple of {patch} up to {length}; got {agg}")
    t = x.shape[0]
    sums: dict[str, np.ndarray] = {}
    for ch in range(x.shape[1]):
        col = x[:, ch]
        std = col.std()
        z = (col - col.mean()) / (std if std > 0 else 1.0)
        errs = _block_errors(model, z, agg, windows_per_batch)
        errs["forecast"] = _forecast_errors(model, z, windows_per_batch * (agg // patch))
        for key, e in errs.items():
            sums[key] = sums.get(key, 0.0) + e
    means = {k: v / x.shape[1] for k, v in sums.items()}
    front = length - agg // 2
    out: dict[str, np.ndarray] = {}
    for key in ("time", "fft"):
        s = means[key]
        s = np.concatenate([np.full(front, s[0]), s, np.full(t - front - s.size, s[-1])])
        out[key] = np.convolve(_minmax(s), np.ones(SMOOTH) / SMOOTH, mode="same")
    f = means["forecast"]
    out["forecast"] = _minmax(np.concatenate([np.full(length, f[0]), f]))
    ens = np.maximum.reduce([out["time"], out["fft"], out["forecast"]])
    out["ensemble"] = ens / ens.max() if ens.max() > 0 else ens
    return out


#: ``tinypulse_ref`` scores series up to this many points x channels (about 14 ms per point on one
#: core: 13 forward passes of 512 points per time step and channel); longer ones are recorded as skipped.
REF_MAX_POINTS = 5_000


def reference_detector(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """``tinypulse_ref``: the ensemble of :func:`reference_scores` with the bundled TinyPulse."""
    from tinyts.bench.ours import bundled_model
    from tinyts.bench.peers.detectors import NotApplicable

    c, t = values.shape
    if t * c > REF_MAX_POINTS:
        raise NotApplicable(
            f"{t}x{c} = {t * c} points x channels, above the reference procedure's cap of {REF_MAX_POINTS} "
            "(it costs one forward pass per patch of the last 96 points of every stride-1 window)"
        )
    model = bundled_model("tinypulse")
    if t <= model.config.context_length:
        raise NotApplicable(f"needs more than {model.config.context_length} points (has {t})")
    return reference_scores(model, values)["ensemble"]

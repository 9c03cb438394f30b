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
point-wise, by their max (``fuse="max"``, TSPulse's rule) or their mean (``fuse="mean"``). Then
sharpening (``sharpen``, default 0.3): each point's score is multiplied by ``0.7 + 0.3 e``, ``e`` its own
squared error relative to the largest in its window, so a short anomaly is not smeared over the
whole 96-point window (its points rank above their neighbours) while window-level evidence still
orders the windows. Optionally (``boost > 0``; off by default) the extreme-point boost: a point whose
squared error is far above what this series' errors usually reach (per head, over the head's 99th
percentile; heads combined by their geometric mean; 0 at 1x, full at 10x, spread over 16 points) gets up
to ``boost`` added to its score before the last min-max scaling, so a short anomaly that every head finds
extreme outranks windows that are merely busy (:func:`point_boost`; it helps short glitches in smooth or
periodic series and hurts noisy, spiky ones: docs/tinypulse.md "Extreme-point boost"). Optionally
(``tta=True``; off by default: a wash on the benchmark at 4.7x the cost) each head's output is averaged
over the test-time views of :mod:`tinyts.tasks.pulse.views` before the errors are taken.

Multichannel series are scored per channel (each standardised on its own, so squared errors share one
scale) and combined by the max over channels of the window scores, before min-max scaling; channels with
at most two distinct values (flags, one-hot commands) are left out when another channel has more
(``binary="skip"``, :func:`scored_channels`). The result has one score per time point, aligned to the
input.

Edges: the moving average runs over the points that have an error (windows shrink at the ends of the
series instead of repeating the edge value), and the forecast head has no score in the first context
(it has nothing to forecast from): there the ensemble uses the other heads, and ``mode="forecast"``
gives its lowest score. Both were artefacts before 2026-12-05 (the first context copied the first
forecast error: a series start scored 1.0 for ~500 rows). The reconstruction errors of the first and
last block run 1.3-2x the interior's (one-sided context; another place in the window): each end's
errors are divided by the excess measured on the series itself with a few crops
(:func:`_calibrate_edges`, ``edge_crops`` of :func:`window_errors`, default :data:`EDGE_CROPS`).

Scale (``scale=``): ``"robust"`` (default) returns ``(s - median(s)) / (1.4826 MAD(s))`` of the fused
score ``s``: how many robust standard deviations a point sits above the series' own typical score,
so one threshold means the same on every series; :func:`anomaly_flags` flags points above
:data:`DEFAULT_THRESHOLD`. ``"minmax"`` returns ``s`` in [0, 1] (the TSB-AD protocol scales every
detector that way; its benchmark does the scaling itself). Both are the same ranking.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from tinyts import progress
from tinyts.data.convert.arrays import to_batch
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.options import (
    AnomalyFuse,
    AnomalyHead,
    AnomalyHeadScale,
    AnomalyMode,
    AnomalyScale,
    BinaryChannels,
    check_choice,
    choices,
)
from tinyts.tasks.pulse.views import ONE_VIEW, TTA_VIEWS, View, views_forward
from tinyts.train.finetune_anomaly import finetune_on_prefix

HEADS = choices(AnomalyHead)
MODES = choices(AnomalyMode)
#: what :func:`window_errors` returns: the window scores of each head, then its raw point errors
STREAMS = (*HEADS, *(f"{k}_point" for k in HEADS))
FUSE = choices(AnomalyFuse)
SCALES = choices(AnomalyScale)
BINARY = choices(BinaryChannels)
#: Default flag rule: a point is flagged when its robust score exceeds this many robust standard
#: deviations of the series' own scores (see :func:`anomaly_flags`; calibrated on clean synthetic
#: series and the development cases, docs/tinypulse.md "Flags" and "The first context"). 6 until
#: 2026-12-07, with min-max heads; robust heads give the fused score a longer upper tail, and 8 keeps the
#: development events' recall with fewer false flags than 6 would.
DEFAULT_THRESHOLD = 8.0
#: Weight of the point evidence that sharpens the window scores (0 = window scores only): a point's
#: score is its window score times ``1 - SHARPEN + SHARPEN * e``, where ``e`` in [0, 1] is its own
#: squared error relative to the largest one within its window (:func:`fuse_heads`). Chosen on corpus
#: series held back from pre-training, with injected anomalies (docs/tinypulse.md "Binary channels
#: and sharpening").
SHARPEN = 0.3
#: How the ensemble puts the heads' window scores on one scale before fusing them (``head_scale``):
#: ``"robust"`` (default since 2026-12-07: each head's robust z over the points it scores, median and
#: MAD) or ``"minmax"`` (TSPulse's rule: each head min-max scaled, so each contributes a 1.0 somewhere,
#: and an anomaly in the first context, where the forecast head has no score, ties with that head's
#: largest normal error). Measured on development sets and once on the suite: see :func:`fuse_heads`
#: and docs/tinypulse.md, "The first context".
HEAD_SCALE: AnomalyHeadScale = "robust"
#: Default weight of the extreme-point evidence added to the sharpened scores (0 = off;
#: :func:`point_boost`). Off: on the development set ``boost=1`` raised mean VUS-PR 0.449 -> 0.509, but
#: on the benchmark it lost 0.022 overall (NAB's noisy series -0.045) while KDD-TSAD 135's AUC-PR rose
#: 0.158 -> 0.461 (docs/tinypulse.md "Extreme-point boost"). The constants below were chosen on the
#: development set (benchmarks/experiments/anomaly_point_dev.py).
BOOST = 0.0
#: The weight measured as ``tinypulse_boost`` in ``tinyts bench anomaly``.
BOOST_OPT_IN = 1.0
#: A head's reference error: this quantile of its squared errors over the whole series.
BOOST_QUANTILE = 0.99
#: Ratio to the reference error at which the evidence is full (it is 0 at ratio 1 and linear between).
BOOST_FULL_RATIO = 10.0
#: Points over which the evidence is spread (centred max filter), so a glitch scores as a whole.
BOOST_SPREAD = 16

#: Calibration crops per end of a series (:func:`_calibrate_edges`): the first and last block's errors
#: are divided by the series' own measured edge excess. Measured in docs/tinypulse.md ("Edges").
EDGE_CROPS = 3
#: Points per calibration ratio at each end (64: one ratio per end) and the largest ratio applied:
#: measured on clean and spiked synthetic series (docs/tinypulse.md, "Edges"); 16-point ratios and a cap
#: of 10 removed as many false flags but missed more real spikes at the ends.
EDGE_STEP = 64
EDGE_MAX_RATIO = 3.0

#: Default of the test-time views in anomaly scoring (:func:`anomaly_scores`, ``tta``): off. Measured
#: (docs/tinypulse.md "Test-time views"): development set VUS-PR 0.449 -> 0.459, benchmark 0.431 -> 0.433
#: with NAB 0.421 -> 0.415, at 4.7x the model time.
TTA = False
#: Floor of the robust spread, in min-max units of the fused score (a series scored flat everywhere
#: but one region has MAD 0).
_MAD_FLOOR = 1e-3


def _minmax(s: np.ndarray) -> np.ndarray:
    if not np.isfinite(s).any():  # nothing scored (e.g. the forecast head of a series within one context)
        return np.zeros_like(s)
    lo, hi = np.nanmin(s), np.nanmax(s)
    return np.zeros_like(s) if not np.isfinite(hi - lo) or hi - lo <= 0 else (s - lo) / (hi - lo)


def _smooth(s: np.ndarray, k: int, min_count: int | None = None) -> np.ndarray:
    """Centred moving average of ``k`` points over the finite values only.

    At the ends the window shrinks to the points that exist (no padding), down to half the window; a
    point whose window has fewer than ``k // 2`` finite values stays NaN (at the start of the forecast
    stream, after its empty first context, an average of one or two errors was noise that could flag;
    ``min_count`` overrides ``k // 2``, 1 is the rule before 2026-12-06).
    """
    s = np.asarray(s, dtype=np.float64)
    k = min(k, s.size)
    if k <= 1:
        return s.copy()
    ok = np.isfinite(s)
    csum = np.concatenate([[0.0], np.cumsum(np.where(ok, s, 0.0))])
    ccnt = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(s.size)
    lo, hi = np.clip(i - k // 2, 0, s.size), np.clip(i + k - k // 2, 0, s.size)
    count = ccnt[hi] - ccnt[lo]
    out = np.full(s.size, np.nan)
    has = count >= max(1, k // 2 if min_count is None else min_count)
    out[has] = (csum[hi] - csum[lo])[has] / count[has]
    return out


def robust_scale(s: np.ndarray, scored: np.ndarray | None = None) -> np.ndarray:
    """``(s - median) / (1.4826 MAD)`` of a score stream, with a floor on the spread.

    Parameters
    ----------
    s : np.ndarray
        Scores, one per time point.
    scored : np.ndarray, optional
        Boolean mask of the points the stream really scores; the median and MAD are taken over those
        only (all points when ``None`` or when none is scored). Points a head cannot score (the forecast
        head's first context) hold its lowest value, 0: counted in, on a series shorter than two
        contexts they were most of the stream, so its median and MAD were 0 and every forecast error
        came out at ~1,000 robust units (a clean sine of 600 points had 87 points flagged).
    """
    s = np.asarray(s, dtype=np.float64)
    med, mad = _median_mad(s if scored is None or not np.any(scored) else s[np.asarray(scored, dtype=bool)])
    return (s - med) / max(mad, _MAD_FLOOR)


def _median_mad(ref: np.ndarray) -> tuple[float, float]:
    """Median and robust spread ``1.4826 * MAD`` of the values ``ref``."""
    med = float(np.median(ref))
    return med, 1.4826 * float(np.median(np.abs(ref - med)))


def anomaly_flags(scores: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Points to act on: robust scores (``anomaly_scores(..., scale="robust")``) above ``threshold``.

    Parameters
    ----------
    scores : np.ndarray
        Robust anomaly scores, one per time point.
    threshold : float
        Robust standard deviations above the series' typical score; default
        :data:`DEFAULT_THRESHOLD`. Lower flags more (recall), higher flags less (precision).

    Returns
    -------
    np.ndarray
        Boolean, same shape as ``scores``.
    """
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.number))
        or not np.isfinite(threshold)
    ):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    return np.asarray(scores, dtype=np.float64) > float(threshold)


def _forward(
    model: TinyPulse,
    xw: np.ndarray,
    ow: np.ndarray,
    batch_size: int,
    views: tuple[View, ...] = ONE_VIEW,
    plan: bool = True,
) -> dict[str, np.ndarray]:
    """Every head's raw-unit output for ``(n, L)`` windows, averaged over ``views``
    (:func:`tinyts.tasks.pulse.views.views_forward`). ``plan``: add the batches to the progress
    total (False when the caller did)."""
    outs: dict[str, list[np.ndarray]] = {"time": [], "fft": [], "forecast": []}
    if plan:
        progress.plan(-(-len(xw) // batch_size))
    with torch.inference_mode():
        for lo in range(0, len(xw), batch_size):
            x = torch.from_numpy(xw[lo : lo + batch_size, None, :])
            o = torch.from_numpy(ow[lo : lo + batch_size, None, :])
            out = views_forward(model, x, o, views)
            for key, name in (("time", "recon"), ("fft", "recon_fft"), ("forecast", "forecast")):
                outs[key].append(out[name][:, 0].numpy())
            progress.advance()
    return {k: np.concatenate(v) if v else np.zeros((0, 0), np.float32) for k, v in outs.items()}


def _reconstruction_errors(
    model: TinyPulse,
    z: np.ndarray,
    agg: int,
    groups: int,
    batch_size: int,
    offset: int = 0,
    views: tuple[View, ...] = ONE_VIEW,
    span: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Squared time-head and FFT-head errors of every point of a standardised 1-D series.

    ``span``: only the blocks that overlap points ``[lo, hi)`` are scored (the others stay NaN).
    """
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
        if span is not None and (b1 <= span[0] + padded_left or b0 >= span[1] + padded_left):
            continue
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
    out = _forward(model, np.stack(xs), np.stack(os_), batch_size, views)
    err = {k: np.full(tp, np.nan) for k in ("time", "fft")}
    for i, (s, hide) in enumerate(targets):
        for key in err:
            err[key][hide] = (out[key][i, hide - s] - zp[hide]) ** 2
    return {k: v[padded_left:] for k, v in err.items()}


def _edge_crops(t: int, agg: int, crops: int) -> list[int]:
    """Offsets of the calibration crops from either end of a ``t``-point series (:func:`_calibrate_edges`)."""
    return [k * agg for k in range(1, crops + 1) if t - k * agg >= 2 * agg]


def _calibrate_edges(
    model: TinyPulse,
    z: np.ndarray,
    raw: dict[str, np.ndarray],
    agg: int,
    groups: int,
    batch_size: int,
    views: tuple[View, ...],
    crops: int,
) -> dict[str, np.ndarray]:
    """Divide the first and last ``agg`` point errors by the series' own edge excess.

    A series' first block is reconstructed from one side only and sits elsewhere in its window than
    the interior blocks; on short series the last block is the only one-sided one. Both ends' errors
    run 1.3-2x the interior's on clean data, enough to cross the flag threshold. The excess is measured
    on the series itself: the same points are scored once as the first (last) block of a crop that
    starts (ends) ``k * agg`` points inside the series, ``k = 1..crops``, and once in the full pass;
    the median over the crops of the ratio of their mean errors (per :data:`EDGE_STEP` points), clipped
    to ``[1, EDGE_MAX_RATIO]``, divides the ends' errors, per head. It only ever lowers the ends. Costs
    ``2 * crops * groups`` windows (a few more where a crop's end block straddles two blocks).
    """
    t = z.size
    offsets = _edge_crops(t, agg, crops)  # non-empty only where t >= 3 * agg
    if not offsets:
        return raw
    length, step = model.config.context_length, EDGE_STEP
    out = {k: v.copy() for k, v in raw.items()}
    for side in ("start", "end"):
        ratios: dict[str, list[list[float]]] = {k: [] for k in raw}
        for off in offsets:
            # the crop, the part of it scored (its first or last block) and where that part sits in z
            if side == "start":
                crop = z[off : off + min(length, t - off)]
                lo, hi, at = 0, agg, off
            else:
                crop = z[max(0, t - off - length) : t - off]
                lo, hi, at = crop.size - agg, crop.size, t - off - agg
            ce = _reconstruction_errors(model, crop, agg, groups, batch_size, views=views, span=(lo, hi))
            for k in raw:
                c, f = ce[k][lo:hi], raw[k][at : at + agg]
                ratios[k].append(
                    [
                        np.nanmean(c[b : b + step]) / max(np.nanmean(f[b : b + step]), 1e-12)
                        for b in range(0, agg, step)
                    ]
                )
        ends = slice(0, agg) if side == "start" else slice(t - agg, t)
        for k, rs in ratios.items():
            r = np.repeat(np.clip(np.nanmedian(np.array(rs), axis=0), 1.0, EDGE_MAX_RATIO), step)[:agg]
            out[k][ends] /= np.nan_to_num(r, nan=1.0)
    return out


def _forecast_ends(model: TinyPulse, t: int, stride: int = 0) -> tuple[np.ndarray, int]:
    """End positions of the forecast head's windows over ``t`` points, and the points each forecasts."""
    length = model.config.context_length
    horizon = min(stride, model.config.forecast_length) if stride > 0 else model.config.forecast_length
    return np.arange(length, t, horizon), horizon


def _forecast_errors(
    model: TinyPulse,
    z: np.ndarray,
    batch_size: int,
    stride: int = 0,
    views: tuple[View, ...] = ONE_VIEW,
    plan: bool = True,
) -> np.ndarray:
    length = model.config.context_length
    t = z.size
    err = np.full(t, np.nan)
    if t <= length:
        return np.zeros(t)
    ends, horizon = _forecast_ends(model, t, stride)
    idx = ends[:, None] - length + np.arange(length)[None, :]
    xw = z.astype(np.float32)[idx]
    # only the forecast head is used here, and a time-reversed view has no forecast: skip those passes
    forward = tuple(v for v in views if not v[1])
    out = _forward(model, xw, np.ones_like(xw, dtype=bool), batch_size, forward, plan)["forecast"]
    for i, e in enumerate(ends.tolist()):
        stop = min(e + horizon, t)
        err[e:stop] = (out[i, : stop - e] - z[e:stop]) ** 2
    return err  # NaN over the first context: nothing to forecast from


def window_errors(
    model: TinyPulse,
    series: np.ndarray,
    *,
    agg: int = 64,
    groups: int = 2,
    smooth: int = 96,
    batch_size: int = 256,
    tta: bool = False,
    edge_crops: int = EDGE_CROPS,
) -> dict[str, np.ndarray]:
    """Window scores of one 1-D series: the squared errors of each head, standardised units, smoothed.

    Returns ``time``, ``fft`` and ``forecast`` streams (not yet min-max scaled), one value per point;
    the forecast stream is NaN where fewer than half its smoothing window's points have a forecast
    (the first context). The unsmoothed squared errors come with them as ``time_point``, ``fft_point``
    and ``forecast_point`` (the point evidence of :func:`fuse_heads`). A constant channel carries no
    anomaly evidence: zeros, no model call. ``tta``: the heads' outputs are averaged over the test-time
    views (:data:`tinyts.tasks.pulse.views.TTA_VIEWS`; the forecast head over the two that keep
    time's direction): about four times the model calls. ``edge_crops``: calibration crops per end
    (:func:`_calibrate_edges`; 0 = off).
    """
    x = np.asarray(series, dtype=np.float64)
    obs = np.isfinite(x)
    mean, std = x[obs].mean(), x[obs].std()
    if not std > 0:
        return {k: np.zeros(x.size) for k in STREAMS}
    z = np.where(obs, (x - mean) / std, 0.0)
    views = TTA_VIEWS if tta else ONE_VIEW
    # both stages in the progress total before the first batch (the reconstruction plans its own)
    progress.plan(-(-len(_forecast_ends(model, z.size)[0]) // batch_size))  # no windows: 0
    raw = _reconstruction_errors(model, z, agg, groups, batch_size, views=views)
    if edge_crops > 0:
        raw = _calibrate_edges(model, z, raw, agg, groups, batch_size, views, edge_crops)
    raw["forecast"] = _forecast_errors(model, z, batch_size, views=views, plan=False)
    return {**{k: _smooth(raw[k], smooth) for k in HEADS}, **{f"{k}_point": raw[k] for k in HEADS}}


def _centred_max(x: np.ndarray, k: int, fill: float) -> np.ndarray:
    """Max of ``x`` over a centred window of ``k`` points (at most its length), ``fill`` past the ends."""
    from numpy.lib.stride_tricks import sliding_window_view

    k = max(1, min(k, x.size))
    padded = np.pad(x, (k // 2, k - 1 - k // 2), constant_values=fill)
    return sliding_window_view(padded, k).max(axis=1)


def _point_evidence(point: np.ndarray, k: int) -> np.ndarray:
    """Each point's squared error over the largest one in its centred ``k``-point window, in [0, 1].

    NaN where the point has no error (the forecast head's first context).
    """
    p = np.asarray(point, dtype=np.float64)
    peak = _centred_max(np.where(np.isfinite(p), p, -np.inf), k, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(p), np.where(peak > 0, p / peak, 0.0), np.nan)


def extreme_ratio(points: list[np.ndarray]) -> np.ndarray:
    """How far each point's error sits above what this series' errors usually reach, over heads.

    Per head, each point's squared error over the head's :data:`BOOST_QUANTILE` quantile on the
    series; the heads' ratios combined by their geometric mean (over the heads that have an error at
    that point: a real anomaly surprises every head, one head's quirk does not). Points no head
    scores get 0.
    """
    logs = []
    for p in points:
        p = np.asarray(p, dtype=np.float64)
        ok = np.isfinite(p)
        ref = float(np.quantile(p[ok], BOOST_QUANTILE)) if ok.any() else 0.0
        with np.errstate(divide="ignore"):
            logs.append(np.where(ok, np.log(np.maximum(p, 1e-12) / max(ref, 1e-12)), np.nan))
    stack = np.stack(logs)
    has = np.isfinite(stack)
    geo = np.exp(np.where(has, stack, 0.0).sum(axis=0) / np.maximum(has.sum(axis=0), 1))
    return np.where(has.any(axis=0), geo, 0.0)


def point_boost(points: list[np.ndarray]) -> np.ndarray:
    """Evidence in [0, 1] that a point's error is extreme for this series, from one or more heads.

    :func:`extreme_ratio` mapped linearly from 0 at ratio 1 to 1 at :data:`BOOST_FULL_RATIO`, then
    spread over :data:`BOOST_SPREAD` points by a centred max filter. Points no head scores get 0.
    """
    ev = np.clip((extreme_ratio(points) - 1.0) / (BOOST_FULL_RATIO - 1.0), 0.0, 1.0)
    return _centred_max(ev, BOOST_SPREAD, 0.0)


def _check_boost(boost: Any) -> None:
    """Raise unless ``boost`` is a real number >= 0 (see :func:`fuse_heads`)."""
    if isinstance(boost, bool) or not isinstance(boost, (int, float)) or not 0.0 <= boost < float("inf"):
        raise ValueError(f"boost must be a number >= 0, got {boost!r}")


def _check_sharpen(sharpen: Any) -> None:
    """Raise unless ``sharpen`` is a real number in [0, 1) (see :func:`fuse_heads`)."""
    if isinstance(sharpen, bool) or not isinstance(sharpen, (int, float)) or not 0.0 <= sharpen < 1.0:
        raise ValueError(f"sharpen must be a number in [0, 1), got {sharpen!r}")


def _robust_z(v: np.ndarray) -> np.ndarray:
    """``(v - median) / (1.4826 MAD)`` over the finite points (NaN stays NaN); the spread is floored at
    1e-3 of the median's size, so a nearly constant stream does not turn rounding into evidence."""
    ok = np.isfinite(v)
    if not ok.any():
        return np.full(v.shape, np.nan)
    med, mad = _median_mad(v[ok])
    return (v - med) / max(mad, 1e-3 * abs(med), 1e-12)


def fuse_heads(
    errors: dict[str, np.ndarray],
    fuse: AnomalyFuse = "max",
    *,
    sharpen: float = SHARPEN,
    smooth: int = 96,
    boost: float = BOOST,
    head_scale: AnomalyHeadScale = HEAD_SCALE,
) -> dict[str, np.ndarray]:
    """Min-max scale each head's window scores and add their ``ensemble`` (max or mean).

    Points where a head has no score (NaN: the forecast head's first context) are fused from the
    other heads and get the head's lowest score (0) in its own stream.

    ``head_scale="robust"``: the ensemble fuses each head's robust z (median and MAD over the points
    it scores) instead of its min-max scaled score, then is min-max scaled itself. With min-max heads
    every head contributes a 1.0 somewhere, so an anomaly that one head cannot see (the forecast head
    over the first context) ties with that head's largest normal error elsewhere. The head streams
    themselves are the same either way.

    Sharpening (``sharpen > 0`` and the ``<head>_point`` errors present): a window score spreads a
    short anomaly over the whole ``smooth``-point window, so each point's score is multiplied by
    ``1 - sharpen + sharpen * e``, where ``e`` is the point's own squared error relative to the
    largest within its window (for the ensemble: the mean of ``e`` over the heads that have one). The
    factor stays in ``[1 - sharpen, 1]``: inside an anomalous window the anomalous points rank first,
    and a point outside cannot climb above a clearly anomalous window. Every stream is min-max scaled
    again afterwards, so all stay in [0, 1] with a maximum of 1.

    Extreme-point boost (``boost > 0`` and the point errors present): ``boost`` times
    :func:`point_boost` is added to each stream (a head: its own errors; the ensemble: every head's)
    before that last min-max scaling. Unlike sharpening it moves points *between* windows, but only
    points whose error is several times the series' own 99th percentile.
    """
    check_choice(fuse, AnomalyFuse, "fuse")
    check_choice(head_scale, AnomalyHeadScale, "head_scale")
    _check_sharpen(sharpen)
    _check_boost(boost)
    scaled = {k: _minmax(errors[k]) for k in HEADS}
    on_scale = scaled if head_scale == "minmax" else {k: _robust_z(errors[k]) for k in HEADS}
    stack = np.stack([on_scale[k] for k in HEADS])
    has = np.isfinite(stack)
    if fuse == "max":
        fused = np.max(np.where(has, stack, -np.inf), axis=0)
    else:
        fused = np.where(has, stack, 0.0).sum(axis=0) / np.maximum(has.sum(axis=0), 1)
    scores = {k: np.nan_to_num(v, nan=0.0) for k, v in scaled.items()}
    if head_scale == "minmax":
        scores["ensemble"] = np.where(has.any(axis=0), fused, 0.0)
    else:
        scores["ensemble"] = np.nan_to_num(_minmax(np.where(has.any(axis=0), fused, np.nan)), nan=0.0)
    if sharpen > 0 and all(f"{k}_point" in errors for k in HEADS):
        ev = np.stack([_point_evidence(errors[f"{k}_point"], smooth) for k in HEADS])
        for i, k in enumerate(HEADS):
            scores[k] = _minmax(scores[k] * (1.0 - sharpen + sharpen * np.nan_to_num(ev[i], nan=0.0)))
        ok = np.isfinite(ev)
        mean_ev = np.where(ok, ev, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)
        scores["ensemble"] = _minmax(scores["ensemble"] * (1.0 - sharpen + sharpen * mean_ev))
    if boost > 0 and all(f"{k}_point" in errors for k in HEADS):
        for k in HEADS:
            scores[k] = _minmax(scores[k] + boost * point_boost([errors[f"{k}_point"]]))
        scores["ensemble"] = _minmax(
            scores["ensemble"] + boost * point_boost([errors[f"{k}_point"] for k in HEADS])
        )
    return scores


def scored_channels(values: np.ndarray, binary: BinaryChannels = "skip") -> np.ndarray:
    """Which channels of ``(channels, time)`` values are scored (boolean mask).

    ``binary="skip"`` (default) leaves out channels with at most two distinct finite values (on/off
    flags, one-hot commands) when at least one channel has more: such a channel's every switch is
    unpredictable from its past, so its reconstruction error flags each switch, and the max over
    channels let a busy command channel hide the telemetry's anomaly (measured on SMAP/MSL training
    parts with injected anomalies: ``benchmarks/experiments/anomaly_channels_dev.py``). A series whose
    channels are all binary is scored on all of them. ``binary="score"`` scores every channel.
    """
    check_choice(binary, BinaryChannels, "binary")
    v = np.asarray(values, dtype=np.float64)
    keep = np.ones(v.shape[0], dtype=bool)
    if binary == "score" or v.shape[0] < 2:
        return keep
    many = np.array([np.unique(ch[np.isfinite(ch)]).size > 2 for ch in v])
    return many if many.any() else keep


def series_errors(
    model: TinyPulse, values: np.ndarray, *, binary: BinaryChannels = "skip", **kwargs: Any
) -> dict[str, np.ndarray]:
    """:func:`window_errors` of the scored channels of ``(channels, time)`` values, max over channels.

    Channels are standardised one by one, so their squared errors share one scale and the raw
    maximum is meaningful (min-max scaling each channel first would let a quiet channel's noise
    count as much as a real excursion elsewhere). Which channels are scored: :func:`scored_channels`.
    """
    v = np.asarray(values, dtype=np.float64)
    keep = scored_channels(v, binary)
    per_channel = [window_errors(model, ch, **kwargs) for ch in v[keep]]
    return {k: np.fmax.reduce([c[k] for c in per_channel]) for k in STREAMS}  # NaN-ignoring max


def score_channel(
    model: TinyPulse,
    series: np.ndarray,
    *,
    agg: int = 64,
    groups: int = 2,
    smooth: int = 96,
    fuse: AnomalyFuse = "max",
    batch_size: int = 256,
    sharpen: float = SHARPEN,
    boost: float = BOOST,
    tta: bool = TTA,
    head_scale: AnomalyHeadScale = HEAD_SCALE,
) -> dict[str, np.ndarray]:
    """``time``, ``fft``, ``forecast`` and ``ensemble`` scores of one 1-D series, in [0, 1]."""
    check_choice(fuse, AnomalyFuse, "fuse")
    check_choice(head_scale, AnomalyHeadScale, "head_scale")
    _check_sharpen(sharpen)
    _check_boost(boost)
    errors = window_errors(
        model, series, agg=agg, groups=groups, smooth=smooth, batch_size=batch_size, tta=tta
    )
    return fuse_heads(errors, fuse, sharpen=sharpen, smooth=smooth, boost=boost, head_scale=head_scale)


def anomaly_scores(
    model: TinyPulse | str | os.PathLike[str],
    x: Any,
    *,
    mode: AnomalyMode = "ensemble",
    agg: int = 64,
    groups: int = 2,
    smooth: int = 96,
    fuse: AnomalyFuse = "max",
    batch_size: int = 256,
    scale: AnomalyScale = "robust",
    binary: BinaryChannels = "skip",
    sharpen: float = SHARPEN,
    boost: float = BOOST,
    tta: bool = TTA,
    head_scale: AnomalyHeadScale = HEAD_SCALE,
) -> np.ndarray:
    """One anomaly score per time point of a series (higher = more anomalous).

    Parameters
    ----------
    model : TinyPulse, str or os.PathLike
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
    scale : {"robust", "minmax"}
        ``"robust"`` (default): robust standard deviations above the series' typical score (median
        0; :func:`anomaly_flags` thresholds it); ``"minmax"``: the same ranking in [0, 1].
    binary : {"skip", "score"}
        Multichannel series: ``"skip"`` (default) leaves channels with at most two distinct values
        (flags, one-hot commands) out of the score when another channel has more; ``"score"``
        scores every channel. See :func:`scored_channels`.
    sharpen : float
        Weight in [0, 1) of each point's own error inside its window score (default
        :data:`SHARPEN`; 0 = window scores only); see :func:`fuse_heads`.
    boost : float
        Weight (>= 0) of the extreme-point evidence added to the scores (default :data:`BOOST`, 0 =
        off; 1 is the measured opt-in for short glitches in smooth or periodic series); see
        :func:`point_boost`.
    tta : bool
        Test-time views (default :data:`TTA`): each head's output is averaged over the window, its
        negation, its time reversal and both (the forecast head: the first two), mapped back, before
        the errors are taken; about four times the model calls. See docs/tinypulse.md, "Test-time
        views".
    head_scale : {"minmax", "robust"}
        How the ensemble puts the heads on one scale before fusing them (default
        :data:`HEAD_SCALE`); see :func:`fuse_heads`. The single-head modes are the same either way.

    Returns
    -------
    np.ndarray
        ``(time,)`` float64 scores.
    """
    model = resolve(model, TinyPulse)
    check_choice(scale, AnomalyScale, "scale")
    check_choice(mode, AnomalyMode, "mode")
    check_choice(fuse, AnomalyFuse, "fuse")
    check_choice(head_scale, AnomalyHeadScale, "head_scale")
    _check_sharpen(sharpen)
    _check_boost(boost)
    if smooth < 1:
        raise ValueError(f"smooth must be a positive number of points, got {smooth}")
    if agg % model.config.patch_length or agg <= 0:
        raise ValueError(f"agg must be a positive multiple of the patch length ({model.config.patch_length})")
    batch = to_batch(x, min_length=2, name="x")
    if batch.values.shape[0] != 1:
        raise ValueError("anomaly_scores takes one series, (time,) or (channels, time); loop over a batch")
    vals = batch.values[0].numpy().astype(np.float64)
    vals[~batch.observed[0].numpy()] = np.nan
    errors = series_errors(
        model, vals, binary=binary, agg=agg, groups=groups, smooth=smooth, batch_size=batch_size, tta=tta
    )
    fused = fuse_heads(errors, fuse, sharpen=sharpen, smooth=smooth, boost=boost, head_scale=head_scale)[mode]
    return fused if scale == "minmax" else robust_scale(fused, scored=scored_points(errors, mode))


def scored_points(errors: dict[str, np.ndarray], mode: AnomalyMode = "ensemble") -> np.ndarray:
    """Boolean mask of the points a mode's stream scores: where its head's window score (any head's, for
    the ensemble) is finite; the forecast head scores none of the first context. The robust scale of
    :func:`anomaly_scores` takes its median and spread over these points."""
    heads = HEADS if mode == "ensemble" else (mode,)
    return np.any([np.isfinite(errors[k]) for k in heads], axis=0)


def finetuned_anomaly_scores(
    model: TinyPulse,
    x: Any,
    train_end: int,
    *,
    mode: AnomalyMode = "ensemble",
    steps: int = 60,
    seed: int = 0,
) -> np.ndarray:
    """Scores of a copy fine-tuned on the anomaly-free prefix ``x[..., :train_end]``.

    See :func:`tinyts.train.finetune_anomaly.finetune_on_prefix`; the whole series is then scored with
    :func:`anomaly_scores`.
    """
    tuned = finetune_on_prefix(model, x, train_end, steps=steps, seed=seed)
    return anomaly_scores(tuned, x, mode=mode)

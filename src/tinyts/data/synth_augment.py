"""Augmentations of the SynthTS generator: time warping, TSMixup-style mixing, clipping and the final
random scale and offset. (Down-sampling by aggregation lives in :mod:`tinyts.data.synth`, which
generates the affected series longer.)
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth_common import loguniform, standardize_rows
from tinyts.data.synth_config import SynthConfig

__all__ = ["clip_rows", "mix_rows", "scale_and_offset", "time_axis"]


def time_axis(rng: np.random.Generator, n: int, length: int, cfg: SynthConfig) -> np.ndarray:
    """Time axis per series, ``(n, length)``: ``0..length-1``, smoothly warped for some series.

    A warped axis is the cumulative sum of a local speed ``exp(a * w(t))`` (``w`` two slow sines,
    ``a`` log-uniform in ``cfg.time_warp_range``) rescaled to span ``[0, length - 1]``, so it stays
    monotone and covers the same range.
    """
    tau = np.broadcast_to(np.arange(length, dtype=float), (n, length)).copy()
    warp = np.flatnonzero(rng.random(n) < cfg.p_time_warp)
    if warp.size and length > 2:
        t = np.arange(length, dtype=float)[None, :]
        p = loguniform(rng, length / 6.0, 2.0 * length, (warp.size, 2))
        ph = rng.uniform(0, 2 * np.pi, (warp.size, 2))
        w = np.sin(2 * np.pi * t / p[:, :1] + ph[:, :1]) + np.sin(2 * np.pi * t / p[:, 1:] + ph[:, 1:])
        speed = np.exp(loguniform(rng, *cfg.time_warp_range, (warp.size, 1)) * w / np.sqrt(2.0))
        cum = np.cumsum(speed, axis=1) - speed[:, :1]
        tau[warp] = cum / cum[:, -1:] * (length - 1)
    return tau


def mix_rows(rng: np.random.Generator, z: np.ndarray, eligible: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """TSMixup: replace some standardised rows by ``(1 - w) z_i + w z_j`` with another eligible row ``j``.

    Parameters
    ----------
    z : np.ndarray
        ``(n, L)`` standardised series (modified in place and returned).
    eligible : np.ndarray
        ``(n,)`` bool, rows that may take part (intermittent series are excluded).
    """
    pool = np.flatnonzero(eligible)
    if pool.size < 2:
        return z
    who = pool[rng.random(pool.size) < cfg.p_mix]
    if who.size == 0:
        return z
    partner = pool[rng.integers(0, pool.size, size=who.size)]
    same = partner == who
    partner[same] = pool[(np.searchsorted(pool, who[same]) + 1) % pool.size]
    w = rng.uniform(*cfg.mix_weight_range, size=(who.size, 1))
    z[who] = standardize_rows((1.0 - w) * z[who] + w * z[partner])
    return z


def clip_rows(rng: np.random.Generator, z: np.ndarray, eligible: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Clip some rows at a per-row quantile (upper or lower tail): sensor saturation. In place."""
    who = np.flatnonzero(eligible & (rng.random(z.shape[0]) < cfg.p_clip))
    if who.size == 0:
        return z
    srt = np.sort(z[who], axis=1)
    q = rng.uniform(*cfg.clip_quantile_range, size=who.size)
    upper = rng.random(who.size) < 0.7
    level = np.where(upper, q, 1.0 - q)
    idx = np.clip(np.round(level * (z.shape[1] - 1)).astype(np.int64), 0, z.shape[1] - 1)
    thr = srt[np.arange(who.size), idx][:, None]
    z[who] = np.where(upper[:, None], np.minimum(z[who], thr), np.maximum(z[who], thr))
    return z


def scale_and_offset(
    rng: np.random.Generator, z: np.ndarray, intermittent: np.ndarray, cfg: SynthConfig
) -> np.ndarray:
    """Random scale (``10**U(scale_log10_range)``) and offset; intermittent rows are only scaled.

    Non-intermittent rows are expected standardised. Offset modes (weights ``cfg.offset_weights``):
    none; random ``+-U_log(offset_range)`` stds; positive (minimum lifted above zero by
    ``U_log(offset_range)`` stds).
    """
    n = z.shape[0]
    scale = 10.0 ** rng.uniform(*cfg.scale_log10_range, size=(n, 1))
    ow = np.asarray(cfg.offset_weights, dtype=float)
    mode = rng.choice(3, size=n, p=ow / ow.sum())
    mag = loguniform(rng, *cfg.offset_range, n)
    sign = np.where(rng.random(n) < 0.75, 1.0, -1.0)
    offset = np.where(mode == 1, sign * mag, 0.0)
    offset = np.where(mode == 2, mag - z.min(axis=1), offset)
    offset = np.where(intermittent, 0.0, offset)
    return np.asarray(scale * (z + offset[:, None]))

"""Augmentations of the SynthTS generator: time warping, TSMixup-style mixing, clipping and the final
random scale and offset; and the cheap augmentations of series drawn from a pre-generated bank
(:class:`BankAugment`, :func:`bank_batch`). (Down-sampling by aggregation lives in
:mod:`tinyts.data.synth.core`, which generates the affected series longer.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyts.data.synth.common import loguniform, standardize_rows
from tinyts.data.synth.config import SynthConfig

__all__ = ["BankAugment", "bank_batch", "clip_rows", "mix_rows", "scale_and_offset", "time_axis"]


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


# ---------------------------------------------------------------------------------------------- banks


@dataclass(frozen=True)
class BankAugment:
    """Cheap augmentations of series drawn from a :mod:`tinyts.data.synth.bank` bank.

    Every row is a random crop of a random stored series; then, each with its probability: time
    reversal, TSMixup of 2-3 rows (a Dirichlet-weighted sum of the standardised rows, given the mean
    and spread of the first), a random scale ``10**U(scale_log10_range)``, an offset of
    ``N(0, 1) * 10**U(offset_log10_range)`` row spreads, and a sign flip. All draws come from the
    generator passed to :func:`bank_batch`, so a batch is a pure function of it.
    """

    reverse_prob: float = 0.5
    mix_prob: float = 0.2
    mix_alpha: float = 1.0
    scale_log10_range: tuple[float, float] = (-1.0, 1.0)
    offset_prob: float = 0.2
    offset_log10_range: tuple[float, float] = (-1.0, 1.0)
    sign_flip_prob: float = 0.5

    def __post_init__(self) -> None:
        for name in ("reverse_prob", "mix_prob", "offset_prob", "sign_flip_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.mix_alpha <= 0:
            raise ValueError(f"mix_alpha must be > 0, got {self.mix_alpha}")
        object.__setattr__(self, "scale_log10_range", tuple(self.scale_log10_range))
        object.__setattr__(self, "offset_log10_range", tuple(self.offset_log10_range))


def bank_batch(
    bank: np.ndarray, n: int, length: int, rng: np.random.Generator, aug: BankAugment | None = None
) -> np.ndarray:
    """``n`` augmented crops of ``length`` points from ``bank`` (``(size, L)``, e.g. a memory map).

    Parameters
    ----------
    bank : np.ndarray
        Stored series, ``(size, L)`` with ``L >= length``.
    n, length : int
        Rows and points per row of the batch.
    rng : numpy.random.Generator
        The only source of randomness (advanced in place).
    aug : BankAugment, optional
        Augmentation settings (default :class:`BankAugment`).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float32.
    """
    aug = aug or BankAugment()
    size, full = bank.shape
    if full < length:
        raise ValueError(f"bank series have {full} points, the batch needs {length}")
    # TSMixup partners are extra rows of the same draw: up to 3 sources per output row
    idx = rng.integers(0, size, size=3 * n)
    start = rng.integers(0, full - length + 1, size=3 * n)
    order = np.argsort(idx, kind="stable")  # sorted reads are kinder to a memory map
    rows = np.empty((3 * n, full), dtype=np.float32)
    rows[order] = bank[idx[order]]
    x = np.take_along_axis(rows, start[:, None] + np.arange(length)[None, :], axis=1).astype(np.float64)
    rev = rng.random(3 * n) < aug.reverse_prob
    x[rev] = x[rev, ::-1]
    out = x[:n].copy()
    mixed = np.flatnonzero(rng.random(n) < aug.mix_prob)
    if mixed.size:
        k = rng.integers(2, 4, size=mixed.size)  # 2 or 3 series
        w = rng.dirichlet(np.full(3, aug.mix_alpha), size=mixed.size)
        w[k == 2, 2] = 0.0
        w /= w.sum(axis=1, keepdims=True)
        parts = np.stack([x[mixed], x[n + mixed], x[2 * n + mixed]], axis=1)  # (m, 3, length)
        mean = parts.mean(axis=-1, keepdims=True)
        std = parts.std(axis=-1, keepdims=True) + 1e-8
        z = np.einsum("mk,mkt->mt", w, (parts - mean) / std)
        z = (z - z.mean(axis=-1, keepdims=True)) / (z.std(axis=-1, keepdims=True) + 1e-8)
        out[mixed] = z * std[:, 0] + mean[:, 0]
    lo, hi = aug.scale_log10_range
    out *= 10.0 ** rng.uniform(lo, hi, (n, 1))
    spread = out.std(axis=1, keepdims=True) + 1e-8
    lo, hi = aug.offset_log10_range
    off = rng.standard_normal((n, 1)) * spread * 10.0 ** rng.uniform(lo, hi, (n, 1))
    out += off * (rng.random((n, 1)) < aug.offset_prob)
    out *= np.where(rng.random((n, 1)) < aug.sign_flip_prob, -1.0, 1.0)
    return np.ascontiguousarray(out, dtype=np.float32)

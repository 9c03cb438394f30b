"""Non-seasonal components of the SynthTS generator: trend, level shifts, stochastic part (AR /
random walk), observation noise with heteroscedastic envelopes, spikes and intermittency.

Each function fills the rows of one sub-batch and is vectorised over series. AR recursions use
:func:`scipy.signal.lfilter` over the batch axis: series are assigned to up to ``AR_GROUPS``
coefficient draws per chunk (one ``lfilter`` call each), so every chunk still has many distinct
AR dynamics while no Python loop runs over series or time steps.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from tinyts.data.synth.common import loguniform, standardize_rows, weighted_codes
from tinyts.data.synth.config import (
    ENVELOPE_KINDS,
    INTERMITTENCY_KINDS,
    STOCHASTIC_KINDS,
    TREND_KINDS,
    SynthConfig,
)

__all__ = ["add_spikes", "intermittent", "level_shifts", "noise", "stochastic", "trend"]

AR_GROUPS = 48
_BURN_IN = 512


def trend(rng: np.random.Generator, s: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Trends of ``m`` series on normalised (possibly warped) time ``s`` in ``[0, 1]`` (``(m, L)``).

    Each shape is scaled to a peak-to-peak range of 1, then multiplied by a signed log-uniform
    amplitude from ``cfg.trend_range``.
    """
    m = s.shape[0]
    out = np.zeros_like(s)
    kinds = weighted_codes(rng, cfg.trend_kinds, TREND_KINDS, m)
    for code, kind in enumerate(TREND_KINDS):
        sel = np.flatnonzero(kinds == code)
        if sel.size == 0:
            continue
        x = s[sel]
        if kind == "linear":
            val = x.copy()
        elif kind == "piecewise":
            lo, hi = cfg.n_change_points
            count = rng.integers(lo, hi + 1, size=sel.size)
            val = rng.normal(0.0, 1.0, size=(sel.size, 1)) * x
            for j in range(hi):
                cp = rng.uniform(0.05, 0.95, size=(sel.size, 1))
                dslope = np.where(j < count, rng.normal(0.0, 1.5, size=sel.size), 0.0)[:, None]
                val += dslope * np.maximum(x - cp, 0.0)
        elif kind == "exponential":
            r = rng.uniform(*cfg.exp_rate_range, size=(sel.size, 1)) * np.where(
                rng.random((sel.size, 1)) < 0.5, 1.0, -1.0
            )
            val = np.expm1(r * x) / np.expm1(r)
        else:  # logistic
            k = loguniform(rng, 4.0, 40.0, (sel.size, 1))
            c = rng.uniform(0.15, 0.85, size=(sel.size, 1))
            val = 1.0 / (1.0 + np.exp(np.clip(-k * (x - c), -60.0, 60.0)))
        ptp = np.ptp(val, axis=1, keepdims=True)
        val = (val - val[:, :1]) / np.where(ptp > 1e-12, ptp, 1.0)
        sign = np.where(rng.random((sel.size, 1)) < 0.5, 1.0, -1.0)
        out[sel] = sign * loguniform(rng, *cfg.trend_range, (sel.size, 1)) * val
    return out


def level_shifts(rng: np.random.Generator, m: int, length: int, cfg: SynthConfig) -> np.ndarray:
    """Piecewise-constant level shifts (1-3 per series, some reverting), ``(m, length)``."""
    out = np.zeros((m, length))
    count = np.clip(rng.poisson(cfg.level_shift_rate, size=m), 1, 3)
    t = np.arange(length)[None, :]
    for j in range(3):
        start = rng.integers(int(0.05 * length), max(int(0.95 * length), int(0.05 * length) + 1), size=m)
        dur = np.where(
            rng.random(m) < cfg.p_shift_revert,
            np.ceil(loguniform(rng, 0.02, 0.3, m) * length),
            length + 1,
        ).astype(np.int64)
        size = loguniform(rng, *cfg.level_shift_range, m) * np.where(rng.random(m) < 0.5, 1.0, -1.0)
        size = np.where(j < count, size, 0.0)
        out += size[:, None] * ((t >= start[:, None]) & (t < (start + dur)[:, None]))
    return out


def _innovations(rng: np.random.Generator, m: int, length: int, cfg: SynthConfig) -> np.ndarray:
    """Unit-variance innovations (float32), Student-t (df 2.5-6) for a share ``p_heavy_innovations``."""
    e = rng.standard_normal((m, length), dtype=np.float32)
    heavy = np.flatnonzero(rng.random(m) < cfg.p_heavy_innovations)
    if heavy.size:
        df = rng.uniform(2.5, 6.0, size=(heavy.size, 1))
        e[heavy] = rng.standard_t(df, size=(heavy.size, length)) / np.sqrt(df / (df - 2.0))
    return e


def _ar_poles(rng: np.random.Generator, order: int, cfg: SynthConfig) -> np.ndarray:
    """Poles of a stable AR(order): moduli close to 1 are frequent, complex pairs give quasi-cycles."""
    poles: list[complex] = []
    while len(poles) < order:
        r = 1.0 - float(loguniform(rng, *cfg.ar_pole_gap_range, 1)[0])
        if order - len(poles) >= 2 and rng.random() < 0.6:
            theta = 2.0 * np.pi / float(loguniform(rng, 6.0, 200.0, 1)[0])
            poles += [r * np.exp(1j * theta), r * np.exp(-1j * theta)]
        else:
            poles.append(r if rng.random() < 0.92 else -r)
    return np.asarray(poles)


def stochastic(rng: np.random.Generator, m: int, length: int, cfg: SynthConfig) -> np.ndarray:
    """AR(1-3), random-walk or integrated-AR components with std 1 each, ``(m, length)``."""
    out = np.zeros((m, length))
    kinds = weighted_codes(rng, cfg.stochastic_kinds, STOCHASTIC_KINDS, m)
    for code, kind in enumerate(STOCHASTIC_KINDS):
        sel = np.flatnonzero(kinds == code)
        if sel.size == 0:
            continue
        if kind == "random_walk":
            out[sel] = np.cumsum(_innovations(rng, sel.size, length, cfg), axis=1, dtype=np.float64)
            continue
        groups = rng.integers(0, min(AR_GROUPS, sel.size), size=sel.size)
        for g in np.unique(groups):
            rows = sel[groups == g]
            if kind == "ar":
                poles = _ar_poles(rng, int(rng.integers(1, 4)), cfg)
                a = np.real(np.poly(poles))
                # burn-in of ~5 time constants of the slowest pole so the start is near stationary
                burn = int(min(_BURN_IN, np.ceil(5.0 / (1.0 - np.abs(poles).max()))))
            else:  # integrated: cumulated AR(1) with phi in [0.3, 0.95]
                a = np.convolve([1.0, -rng.uniform(0.3, 0.95)], [1.0, -1.0])
                burn = 0
            e = _innovations(rng, rows.size, length + burn, cfg)
            out[rows] = lfilter([1.0], a, e, axis=1)[:, burn:]
    return standardize_rows(out)


def _envelope(rng: np.random.Generator, clean: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Heteroscedastic noise envelopes (positive, ``(m, L)``) of one of ``ENVELOPE_KINDS``."""
    m, length = clean.shape
    env = np.ones_like(clean)
    kinds = weighted_codes(rng, cfg.envelope_kinds, ENVELOPE_KINDS, m)
    t = np.arange(length, dtype=float)[None, :]
    for code, kind in enumerate(ENVELOPE_KINDS):
        sel = np.flatnonzero(kinds == code)
        if sel.size == 0:
            continue
        g = rng.uniform(0.3, 1.0, size=(sel.size, 1))
        if kind == "level":
            z = standardize_rows(clean[sel])
        elif kind == "slow":
            p = loguniform(rng, length / 8.0, 2.0 * length, (sel.size, 2))
            ph = rng.uniform(0, 2 * np.pi, (sel.size, 2))
            z = np.sin(2 * np.pi * t / p[:, :1] + ph[:, :1]) + np.sin(2 * np.pi * t / p[:, 1:] + ph[:, 1:])
            z /= np.sqrt(2.0)
        else:  # clustered volatility: exponentiated AR(1), phi 0.97
            z = standardize_rows(
                lfilter([1.0], [1.0, -0.97], rng.standard_normal((sel.size, length)), axis=1)
            )
        env[sel] = np.exp(g * np.clip(z, -3.0, 3.0))
    return env


def noise(rng: np.random.Generator, clean: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Observation noise for ``m`` series with std ``std(clean) / SNR`` (unit std if ``clean`` is flat)."""
    m, length = clean.shape
    sd = clean.std(axis=1, keepdims=True)
    target = np.where(sd > 1e-12, sd, 1.0) / loguniform(rng, *cfg.snr_range, (m, 1))
    base = rng.standard_normal((m, length), dtype=np.float32)
    heavy = np.flatnonzero(rng.random(m) < cfg.p_student_t)
    if heavy.size:
        df = loguniform(rng, *cfg.student_df_range, (heavy.size, 1))
        base[heavy] = rng.standard_t(df, size=(heavy.size, length)) / np.sqrt(df / (df - 2.0))
    het = np.flatnonzero(rng.random(m) < cfg.p_heteroscedastic)
    if het.size:
        base[het] *= _envelope(rng, clean[het], cfg)
        base[het] /= base[het].std(axis=1, keepdims=True) + 1e-12
    return np.asarray(base * target)


def add_spikes(rng: np.random.Generator, x: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Add isolated spikes (at least one per series) scaled by the series std; returns new array."""
    m, length = x.shape
    sd = x.std(axis=1, keepdims=True)
    sd = np.where(sd > 1e-12, sd, 1.0)
    rate = loguniform(rng, *cfg.spike_rate_range, (m, 1))
    mask = rng.random((m, length), dtype=np.float32) < rate
    mask[np.arange(m), rng.integers(0, length, size=m)] = True
    r, c = np.nonzero(mask)
    size = loguniform(rng, *cfg.spike_range, r.size) * np.where(rng.random(r.size) < 0.7, 1.0, -1.0)
    out = x.copy()
    out[r, c] += size * sd[r, 0]
    return out


def intermittent(rng: np.random.Generator, x: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Turn ``m`` series into non-negative intermittent ones (zeros, counts); returns new array.

    ``counts``: Poisson counts whose rate follows the signal; ``bernoulli``: positive signal with
    random zeros; ``threshold``: the part above a quantile (zeros in runs). A series that would be
    constant gets one count where its rate is highest (all zeros) or one zero where it is lowest
    (all equal counts), so no output is constant.
    """
    m = x.shape[0]
    z = standardize_rows(x)
    beta = rng.uniform(0.5, 2.5, size=(m, 1))
    pos = np.logaddexp(0.0, beta * np.clip(z, -10.0, 10.0))  # softplus
    pos /= pos.mean(axis=1, keepdims=True)
    out = np.zeros_like(x)
    kinds = weighted_codes(rng, cfg.intermittency_kinds, INTERMITTENCY_KINDS, m)
    for code, kind in enumerate(INTERMITTENCY_KINDS):
        sel = np.flatnonzero(kinds == code)
        if sel.size == 0:
            continue
        p = pos[sel]
        if kind == "counts":
            out[sel] = rng.poisson(loguniform(rng, *cfg.count_rate_range, (sel.size, 1)) * p)
        elif kind == "bernoulli":
            keep = rng.random(p.shape) >= rng.uniform(*cfg.zero_prob_range, size=(sel.size, 1))
            out[sel] = p * keep
        else:  # threshold
            q = rng.uniform(*cfg.zero_prob_range, size=sel.size)
            thr = _row_quantile(z[sel], q)
            out[sel] = np.maximum(z[sel] - thr, 0.0)
    flat = np.flatnonzero(~(np.ptp(out, axis=1) > 0))
    if flat.size:  # all zeros: one count where the rate peaks; all equal and positive: one zero
        lowest, highest = np.argmin(pos[flat], axis=1), np.argmax(pos[flat], axis=1)
        allzero = out[flat, 0] == 0
        out[flat, np.where(allzero, highest, lowest)] = np.where(allzero, 1.0, 0.0)
    return out


def _row_quantile(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row quantile (lower interpolation) with a different level per row, ``(m, 1)``."""
    srt = np.sort(x, axis=1)
    idx = np.clip(np.floor(q * (x.shape[1] - 1)).astype(np.int64), 0, x.shape[1] - 1)
    return srt[np.arange(x.shape[0]), idx][:, None]

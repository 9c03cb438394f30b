"""SynthTS-style synthetic series: the pre-training corpus of the tiny models, also used by tests and
the demo.

:func:`synth_ts` composes, per series, a trend, 1-4 seasonal shapes, level shifts, an AR / random-walk
part, heteroscedastic heavy-tailed noise, spikes and intermittency (probabilities and ranges in
:class:`SynthConfig`), then applies augmentations (time warp, aggregation, mixing, clipping, scale and
offset). :func:`synth_multivariate` builds channels from shared latent drivers with random lags and
mixing weights. Generation is vectorised over series and chunked to bound memory; the same seed
always gives the same output.

Related: :func:`tinyts.data.synth.kernel.kernel_synth` (Gaussian-process series),
:func:`tinyts.data.anomalies.inject_anomalies`, :func:`tinyts.data.synth.corpus.synth_batch`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyts.data.synth import components as comp
from tinyts.data.synth.augment import clip_rows, mix_rows, scale_and_offset, time_axis
from tinyts.data.synth.common import (
    check_int,
    check_prob,
    check_range,
    child_rngs,
    chunk_bounds,
    loguniform,
    resolve_rng,
    standardize_rows,
)
from tinyts.data.synth.config import SynthConfig
from tinyts.data.synth.seasonal import seasonal_component

__all__ = ["SynthConfig", "synth_multivariate", "synth_ts"]

#: Values per chunk (rows x length); bounds memory to a few hundred MB whatever ``n`` is.
CHUNK_VALUES = 1 << 20


def _compose(
    rng: np.random.Generator, n: int, length: int, cfg: SynthConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Compose ``n`` raw series (unit amplitude scale); returns ``(x, intermittent_mask)``."""
    tau = time_axis(rng, n, length, cfg)
    x = np.zeros((n, length))
    level = np.zeros((n, length))
    has = {
        name: np.flatnonzero(rng.random(n) < p)
        for name, p in (
            ("trend", cfg.p_trend),
            ("seasonal", cfg.p_seasonal),
            ("shift", cfg.p_level_shift),
            ("stoch", cfg.p_stochastic),
            ("mult", cfg.p_multiplicative),
            ("noise", cfg.p_noise),
            ("spikes", cfg.p_spikes),
            ("inter", cfg.p_intermittent),
        )
    }
    if has["trend"].size:
        level[has["trend"]] += comp.trend(rng, tau[has["trend"]] / max(length - 1, 1), cfg)
    if has["shift"].size:
        level[has["shift"]] += comp.level_shifts(rng, has["shift"].size, length, cfg)
    if has["stoch"].size:
        amp = loguniform(rng, *cfg.stochastic_amp_range, (has["stoch"].size, 1))
        level[has["stoch"]] += amp * comp.stochastic(rng, has["stoch"].size, length, cfg)
    seas = has["seasonal"]
    if seas.size:
        s = seasonal_component(rng, tau, cfg, seas)
        mult = np.intersect1d(seas, has["mult"])
        if mult.size:  # multiplicative: seasonal amplitude follows the level
            pos = np.searchsorted(seas, mult)
            lz = np.clip(standardize_rows(level[mult]), -3.0, 3.0)
            s[pos] *= np.exp(rng.uniform(0.2, 0.6, (mult.size, 1)) * lz)
        x[seas] = s
    x += level
    if has["noise"].size:
        x[has["noise"]] += comp.noise(rng, x[has["noise"]], cfg)
    if has["spikes"].size:
        x[has["spikes"]] = comp.add_spikes(rng, x[has["spikes"]], cfg)
    inter = np.zeros(n, dtype=bool)
    if has["inter"].size:
        x[has["inter"]] = comp.intermittent(rng, x[has["inter"]], cfg)
        inter[has["inter"]] = True
    return x, inter


def _generate_chunk(rng: np.random.Generator, n: int, length: int, cfg: SynthConfig) -> np.ndarray:
    """One chunk of :func:`synth_ts`: composition (with aggregation), then augmentations."""
    factor = np.ones(n, dtype=np.int64)
    agg = rng.random(n) < cfg.p_aggregate
    lo, hi = cfg.aggregate_factors
    factor[agg] = rng.integers(lo, hi + 1, size=int(agg.sum()))
    x = np.empty((n, length))
    inter = np.zeros(n, dtype=bool)
    for k in np.unique(factor):
        rows = np.flatnonzero(factor == k)
        xk, ik = _compose(rng, rows.size, length * int(k), cfg)
        x[rows] = xk.reshape(rows.size, length, int(k)).sum(axis=2) if k > 1 else xk
        inter[rows] = ik
    flat = ~(np.ptp(x, axis=1) > 0)
    if (flat & ~inter).any():  # every component switched off: unit white noise rather than a constant
        x[flat & ~inter] = rng.standard_normal((int((flat & ~inter).sum()), length))
    if (flat & inter).any():  # aggregation made counts equal: one zero (or one count if all zero)
        rows = np.flatnonzero(flat & inter)
        cols = rng.integers(0, length, size=rows.size)
        x[rows, cols] = np.where(x[rows, 0] == 0, 1.0, 0.0)
    x[~inter] = standardize_rows(x[~inter])
    x = mix_rows(rng, x, ~inter, cfg)
    x = clip_rows(rng, x, ~inter, cfg)
    return scale_and_offset(rng, x, inter, cfg)


def synth_ts(
    n: int,
    length: int,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    config: SynthConfig | None = None,
) -> np.ndarray:
    """Generate ``n`` synthetic univariate series of ``length`` points (SynthTS style).

    Parameters
    ----------
    n : int
        Number of series, ``>= 1``.
    length : int
        Points per series, ``>= 2``.
    seed : int, optional
        Seed; the same seed always gives the same array. Mutually exclusive with ``rng``.
    rng : numpy.random.Generator, optional
        Generator to draw from (advanced in place), e.g. inside a training loop.
    config : SynthConfig, optional
        Component probabilities and ranges; defaults to ``SynthConfig()``.

    Returns
    -------
    np.ndarray
        ``(n, length)`` float32, always finite. No row is exactly constant: an intermittent row that
        would be gets one count (or one zero), and a row with every component switched off is white
        noise.

    Examples
    --------
    >>> x = synth_ts(4, 512, seed=0)
    >>> x.shape, x.dtype
    ((4, 512), dtype('float32'))
    """
    n = check_int("n", n, 1)
    length = check_int("length", length, 2)
    cfg = _check_config(config)
    gen = resolve_rng(seed, rng)
    rows = max(1, CHUNK_VALUES // length)
    bounds = list(chunk_bounds(n, rows))
    out = np.empty((n, length), dtype=np.float32)
    for (start, stop), crng in zip(bounds, child_rngs(gen, len(bounds)), strict=True):
        chunk = _generate_chunk(crng, stop - start, length, cfg)
        out[start:stop] = np.nan_to_num(chunk, nan=0.0, posinf=3e38, neginf=-3e38)
    return out


def _check_config(config: SynthConfig | None) -> SynthConfig:
    if config is None:
        return SynthConfig()
    if not isinstance(config, SynthConfig):
        raise TypeError(f"config must be a SynthConfig, got {type(config).__name__}")
    return config


def synth_multivariate(
    n: int,
    channels: int,
    length: int,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    config: SynthConfig | None = None,
    n_drivers: tuple[int, int] = (1, 3),
    max_lag: int | None = None,
    idiosyncratic_range: tuple[float, float] = (0.05, 1.0),
    noise_range: tuple[float, float] = (0.005, 0.2),
    p_nonlinear: float = 0.2,
) -> np.ndarray:
    """Generate ``n`` multivariate series whose channels share latent drivers.

    Each sample draws ``D`` drivers (``D`` uniform in ``n_drivers``, :func:`synth_ts` series without
    intermittency, clipping or spikes, standardised). Channel ``c`` is
    ``sum_d w[c, d] * driver_d(t - lag[c, d])`` (weights standard normal, about a quarter zeroed, at
    least one kept; lags 0 for half the pairs, else uniform in ``1..max_lag``), standardised, plus
    its own :func:`synth_ts` component with log-uniform weight ``idiosyncratic_range`` and white
    noise with log-uniform std ``noise_range``. With probability ``p_nonlinear`` a channel then
    goes through ``exp``, ``tanh``, ``abs`` or a rectifier (zero-inflated channel, e.g. rainfall).
    Finally each channel gets its own scale and offset as in :func:`synth_ts`.

    Parameters
    ----------
    n, channels, length : int
        Samples (``>= 1``), channels per sample (``>= 1``) and points (``>= 2``).
    seed, rng, config
        As in :func:`synth_ts`.
    n_drivers : (int, int)
        Range of the number of latent drivers per sample.
    max_lag : int, optional
        Largest lag in points; default ``max(1, min(length // 10, 48))``.
    idiosyncratic_range, noise_range : (float, float)
        Log-uniform weights of the channel-specific component and noise (driver mix has std 1).
    p_nonlinear : float
        Probability of a non-linear channel transform.

    Returns
    -------
    np.ndarray
        ``(n, channels, length)`` float32, finite.
    """
    n = check_int("n", n, 1)
    channels = check_int("channels", channels, 1)
    length = check_int("length", length, 2)
    cfg = _check_config(config)
    d_lo, d_hi = (check_int(f"n_drivers[{i}]", v, 1) for i, v in enumerate(n_drivers))
    if d_lo > d_hi:
        raise ValueError(f"n_drivers must have low <= high, got {n_drivers!r}")
    lag = max(1, min(length // 10, 48)) if max_lag is None else check_int("max_lag", max_lag, 0)
    idio = check_range("idiosyncratic_range", idiosyncratic_range, positive=True)
    noise_r = check_range("noise_range", noise_range, positive=True)
    p_nl = check_prob("p_nonlinear", p_nonlinear)
    gen = resolve_rng(seed, rng)
    driver_cfg = dataclasses.replace(
        cfg,
        p_intermittent=0.0,
        p_clip=0.0,
        p_spikes=0.0,
        scale_log10_range=(0.0, 0.0),
        offset_weights=(1.0, 0.0, 0.0),
    )
    own_cfg = dataclasses.replace(
        cfg, scale_log10_range=(0.0, 0.0), offset_weights=(1.0, 0.0, 0.0), p_intermittent=0.0
    )
    rows = max(1, 4 * CHUNK_VALUES // (length * channels * (d_hi + 1)))
    bounds = list(chunk_bounds(n, rows))
    out = np.empty((n, channels, length), dtype=np.float32)
    for (start, stop), crng in zip(bounds, child_rngs(gen, len(bounds)), strict=True):
        m = stop - start
        n_d = crng.integers(d_lo, d_hi + 1, size=(m, 1))
        used = np.arange(d_hi)[None, :] < n_d
        drivers = np.zeros((m, d_hi, length + lag))
        drivers[used] = standardize_rows(
            synth_ts(int(used.sum()), length + lag, rng=crng, config=driver_cfg).astype(np.float64)
        )
        drivers = drivers[:, None]
        lags = np.where(
            crng.random((m, channels, d_hi)) < 0.5, 0, crng.integers(1, lag + 1, (m, channels, d_hi))
        )
        idx = (lag - lags)[..., None] + np.arange(length)
        lagged = np.take_along_axis(drivers, idx, axis=-1)
        w = crng.standard_normal((m, channels, d_hi)) * used[:, None, :]
        w *= crng.random(w.shape) >= 0.25
        none = ~(w != 0).any(axis=2)
        w[none, 0] = crng.choice([-1.0, 1.0], size=int(none.sum())) * (0.5 + crng.random(int(none.sum())))
        shared = standardize_rows(np.einsum("mcd,mcdl->mcl", w, lagged))
        own = standardize_rows(synth_ts(m * channels, length, rng=crng, config=own_cfg).astype(np.float64))
        x = shared + loguniform(crng, *idio, (m, channels, 1)) * own.reshape(m, channels, length)
        x += loguniform(crng, *noise_r, (m, channels, 1)) * crng.standard_normal(x.shape)
        x = standardize_rows(x).reshape(m * channels, length)
        inter = _nonlinear(crng, x, p_nl)
        x[~inter] = standardize_rows(x[~inter])
        out[start:stop] = scale_and_offset(crng, x, inter, cfg).reshape(m, channels, length)
    return out


def _nonlinear(rng: np.random.Generator, x: np.ndarray, p: float) -> np.ndarray:
    """Apply ``exp``/``tanh``/``abs``/rectifier to some standardised rows in place; returns the
    mask of rectified (zero-inflated, kept non-negative) rows."""
    who = np.flatnonzero(rng.random(x.shape[0]) < p)
    kind = rng.integers(0, 4, size=who.size)
    rect = np.zeros(x.shape[0], dtype=bool)
    for k in range(4):
        sel = who[kind == k]
        if sel.size == 0:
            continue
        a = rng.uniform(0.3, 1.0, size=(sel.size, 1))
        if k == 0:
            x[sel] = np.exp(a * np.clip(x[sel], -6.0, 6.0))
        elif k == 1:
            x[sel] = np.tanh(2.0 * a * x[sel])
        elif k == 2:
            x[sel] = np.abs(x[sel] + rng.normal(0.0, 0.5, size=(sel.size, 1)))
        else:
            thr = rng.uniform(-0.5, 1.0, size=(sel.size, 1))
            v = np.maximum(x[sel] - thr, 0.0)
            v[~(v > 0).any(axis=1), 0] = 1.0
            x[sel] = v
            rect[sel] = True
    return rect

"""Injection of labelled anomalies into series (synthetic anomaly-detection data and tests).

Magnitudes are relative to the *local scale* of each series: the standard deviation of the observed
values in a window around the anomaly (4x its length, at least 64 points), floored at 10 % of the
series' own standard deviation, so anomalies are visible but not trivial whatever the series' units.
With ``n_anomalies = k`` the chosen region is cut into ``k`` equal parts and one anomaly is placed
inside each, so anomalies never overlap. Vectorised over series; loops run over anomaly slots and
kinds only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyts.data.synth.common import check_int, resolve_rng

__all__ = ["ANOMALY_KINDS", "DEFAULT_KINDS", "inject_anomalies"]

#: Every kind :func:`inject_anomalies` knows. Magnitudes in local-scale units (times ``strength``):
#: ``spike`` one point moved by 4-8; ``level_shift`` a segment moved by 2-4; ``trend_change`` a ramp
#: reaching 2-5 over the segment; ``noise_burst`` added noise of std 1-2.5; ``frequency_change`` the
#: segment replayed 1.8-3x faster or 0.3-0.55x slower (plus a short-period oscillation of amplitude
#: 1.5 where that alone changes little); ``amplitude_change`` deviations from the local mean
#: multiplied by 2.5-4 (or damped to 0-0.3 and shifted by 1); ``flatline`` a stuck sensor holding the
#: value before the segment, moved by 0.5-1 so it differs.
ANOMALY_KINDS = (
    "spike",
    "level_shift",
    "frequency_change",
    "trend_change",
    "noise_burst",
    "amplitude_change",
    "flatline",
)
DEFAULT_KINDS = ("spike", "level_shift", "frequency_change", "trend_change", "noise_burst")


class _LocalScale:
    """Std of the observed values of each row of ``x`` (``(r, T)``) over windows ``[lo, hi)``.

    Cumulative sums are computed once; each query is O(r). The result is floored at 10 % of the
    row's own std; a constant row falls back to 10 % of its absolute mean (1 if that is 0).
    """

    def __init__(self, x: np.ndarray) -> None:
        obs = np.isfinite(x)
        cnt = np.maximum(obs.sum(axis=1), 1)
        self.mean = np.where(obs, x, 0.0).sum(axis=1) / cnt
        xc = np.where(obs, x - self.mean[:, None], 0.0)
        self.glob = np.sqrt((xc**2).sum(axis=1) / cnt)
        zero = np.zeros((x.shape[0], 1))
        self.c1 = np.concatenate([zero, np.cumsum(xc, axis=1)], axis=1)
        self.c2 = np.concatenate([zero, np.cumsum(xc**2, axis=1)], axis=1)
        self.cn = np.concatenate([zero, np.cumsum(obs, axis=1)], axis=1)

    def __call__(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        r = np.arange(self.c1.shape[0])
        k = np.maximum(self.cn[r, hi] - self.cn[r, lo], 1)
        m = (self.c1[r, hi] - self.c1[r, lo]) / k
        local = np.sqrt(np.maximum((self.c2[r, hi] - self.c2[r, lo]) / k - m**2, 0.0))
        scale = np.maximum(local, 0.1 * self.glob)
        amean = np.abs(self.mean)
        fallback = np.where(amean > 0, 0.1 * amean, 1.0)
        return np.asarray(np.where(scale > 1e-12 * amean, scale, fallback))


def _check_kinds(kinds: Sequence[str] | str) -> tuple[str, ...]:
    ks = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not ks:
        raise ValueError(f"kinds must name at least one anomaly kind; accepted: {list(ANOMALY_KINDS)}")
    unknown = [k for k in ks if k not in ANOMALY_KINDS]
    if unknown:
        raise ValueError(f"unknown anomaly kind(s) {unknown}; accepted: {list(ANOMALY_KINDS)}")
    return tuple(dict.fromkeys(ks))


def inject_anomalies(
    x: np.ndarray,
    *,
    kinds: Sequence[str] | str = DEFAULT_KINDS,
    n_anomalies: int = 1,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    min_length: int = 8,
    max_length: int | None = None,
    region: tuple[float, float] = (0.0, 1.0),
    strength: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Insert ``n_anomalies`` labelled anomalies into every series of ``x``.

    Parameters
    ----------
    x : np.ndarray
        ``(time,)``, ``(n, time)`` or ``(n, channels, time)``; NaN marks missing values (kept NaN).
        In the multichannel case each anomaly hits a random non-empty subset of the channels.
    kinds : sequence of str or str
        Kinds to draw from, uniformly per anomaly; see ``ANOMALY_KINDS``.
    n_anomalies : int
        Anomalies per series (``>= 0``); they never overlap.
    seed, rng
        Seed or generator (mutually exclusive); the same seed always gives the same result.
    min_length, max_length : int
        Segment lengths in points (spikes are one point). ``max_length`` defaults to
        ``max(min_length, time // 10)`` and is capped by the room per anomaly.
    region : (float, float)
        Fractions ``(start, end)`` of the time axis where anomalies may lie, e.g. ``(0.5, 1.0)`` to
        keep a clean training prefix.
    strength : float
        Multiplies every magnitude (``> 0``).

    Returns
    -------
    (np.ndarray, np.ndarray)
        The modified copy (float, same shape as ``x``) and int8 labels, 1 on every point of an
        anomalous segment: shape ``(time,)`` for 1-D input, ``(n, time)`` otherwise.
    """
    arr = np.asarray(x)
    if arr.ndim not in (1, 2, 3) or arr.shape[-1] < 2 or arr.size == 0:
        raise ValueError(
            f"x must be (time,), (n, time) or (n, channels, time) with time >= 2, got {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"x must hold real numbers, got dtype {arr.dtype}")
    ks = _check_kinds(kinds)
    n_anom = check_int("n_anomalies", n_anomalies, 0)
    min_len = check_int("min_length", min_length, 1)
    if (
        isinstance(strength, bool)
        or not isinstance(strength, (int, float, np.integer, np.floating))
        or not (np.isfinite(strength) and strength > 0)
    ):
        raise ValueError(f"strength must be a positive number, got {strength!r}")
    if not isinstance(region, (tuple, list)) or len(region) != 2 or not 0.0 <= region[0] < region[1] <= 1.0:
        raise ValueError(f"region must be (start_frac, end_frac) with 0 <= start < end <= 1, got {region!r}")
    gen = resolve_rng(seed, rng)
    out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
    x3 = arr.astype(np.float64).reshape((1, 1, -1) if arr.ndim == 1 else (arr.shape[0], -1, arr.shape[-1]))
    n, c, t_len = x3.shape
    labels = np.zeros((n, t_len), dtype=np.int8)
    a0, a1 = int(np.floor(region[0] * t_len)), int(np.ceil(region[1] * t_len))
    room = (a1 - a0) // max(n_anom, 1)
    max_len = (
        max(min_len, t_len // 10) if max_length is None else check_int("max_length", max_length, min_len)
    )
    needs_segment = any(k != "spike" for k in ks)
    if n_anom and (room < 1 or (needs_segment and room < min_len)):
        raise ValueError(
            f"region {tuple(region)} of a series of {t_len} points leaves {room} points per anomaly, "
            f"fewer than min_length={min_len} for {n_anom} anomalies; widen the region or lower them"
        )
    max_len = min(max_len, room)
    out = x3.copy()
    t = np.arange(t_len)
    local_scale = _LocalScale(x3.reshape(n * c, t_len))
    for j in range(n_anom):
        kind = gen.integers(0, len(ks), size=n)
        is_spike = np.array([ks[k] == "spike" for k in kind])
        seg = np.where(is_spike, 1, gen.integers(min_len, max_len + 1, size=n))
        lo = a0 + j * room
        start = lo + (gen.random(n) * (room - seg + 1)).astype(np.int64)
        end = start + seg
        if c == 1:
            hit = np.ones((n, 1), dtype=bool)
        else:
            hit = gen.random((n, c)) < 0.5
            hit[np.arange(n), gen.integers(0, c, size=n)] = True
        win = np.maximum(4 * seg, 64)
        w_lo = np.clip(start - win // 2, 0, t_len - 1)
        w_hi = np.clip(end + win // 2, w_lo + 1, t_len)
        scale = local_scale(np.repeat(w_lo, c), np.repeat(w_hi, c)).reshape(n, c)
        mask = (t >= start[:, None]) & (t < end[:, None])
        for code, name in enumerate(ks):
            rows = np.flatnonzero(kind == code)
            if rows.size:
                _apply(name, gen, out, x3, rows, start, seg, mask, scale * strength, hit)
        labels |= mask.astype(np.int8)
    result = out.reshape(arr.shape).astype(out_dtype, copy=False)
    return result, (labels[0] if arr.ndim == 1 else labels)


def _apply(
    kind: str,
    rng: np.random.Generator,
    out: np.ndarray,
    orig: np.ndarray,
    rows: np.ndarray,
    start: np.ndarray,
    seg: np.ndarray,
    mask: np.ndarray,
    scale: np.ndarray,
    hit: np.ndarray,
) -> None:
    """Add one anomaly of ``kind`` to ``rows`` of ``out`` (``(n, c, T)``) in place."""
    r = rows.size
    m = mask[rows][:, None, :] & hit[rows][:, :, None]  # (r, c, T)
    sc = scale[rows][:, :, None]
    sign = np.where(rng.random((r, 1, 1)) < 0.5, 1.0, -1.0)
    t = np.arange(out.shape[2])
    if kind == "spike":
        delta = sign * rng.uniform(4.0, 8.0, (r, 1, 1)) * sc
    elif kind == "level_shift":
        delta = sign * rng.uniform(2.0, 4.0, (r, 1, 1)) * sc
    elif kind == "trend_change":
        ramp = (t[None, :] - start[rows, None] + 1) / seg[rows, None]
        delta = sign * rng.uniform(2.0, 5.0, (r, 1, 1)) * sc * ramp[:, None, :]
    elif kind == "noise_burst":
        delta = rng.uniform(1.0, 2.5, (r, 1, 1)) * sc * rng.standard_normal(m.shape)
    elif kind == "frequency_change":
        fast = rng.random((r, 1)) < 0.5
        f = np.where(fast, rng.uniform(1.8, 3.0, (r, 1)), rng.uniform(0.3, 0.55, (r, 1)))
        pos = start[rows, None] + (t[None, :] - start[rows, None] + 1) * f - 1
        pos = np.clip(pos, 0, out.shape[2] - 1)
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, out.shape[2] - 1)
        w = (pos - i0)[:, None, :]
        src = orig[rows]
        resampled = (1 - w) * np.take_along_axis(src, np.broadcast_to(i0[:, None, :], src.shape), 2) + w * (
            np.take_along_axis(src, np.broadcast_to(i1[:, None, :], src.shape), 2)
        )
        delta = np.where(m, resampled - src, 0.0)
        rms = np.sqrt(
            (np.nan_to_num(delta) ** 2).sum(2, keepdims=True) / np.maximum(m.sum(2, keepdims=True), 1)
        )
        weak = rms < 0.5 * sc
        period = rng.uniform(4.0, 8.0, (r, 1, 1))
        osc = (
            1.5
            * sc
            * np.sin(2 * np.pi * (t[None, None, :] - start[rows, None, None] + 0.25 * period) / period)
        )
        delta = delta + np.where(weak, osc, 0.0)
    elif kind == "amplitude_change":
        mean = np.nanmean(np.where(m, orig[rows], np.nan), axis=2, keepdims=True)
        grow = rng.random((r, 1, 1)) < 0.6
        g = np.where(grow, rng.uniform(2.5, 4.0, (r, 1, 1)), rng.uniform(0.0, 0.3, (r, 1, 1)))
        dev = orig[rows] - np.nan_to_num(mean)
        delta = (g - 1.0) * dev + np.where(grow, 0.0, sign * sc)
    else:  # flatline: hold the value before the segment (moved a little so it always differs)
        prev = np.take_along_axis(
            orig[rows], np.maximum(start[rows] - 1, 0)[:, None, None].repeat(out.shape[1], 1), 2
        )
        held = prev + sign * rng.uniform(0.5, 1.0, (r, 1, 1)) * sc
        delta = held - orig[rows]
    out[rows] += np.where(m, np.nan_to_num(delta, nan=0.0), 0.0)

"""The forecasting engine of :mod:`tinyts.tasks.forecast.api`: model calls, rollout, coarse grid, SIFI.

Works on internal tensors: histories ``(n, channels, length)`` with an observed mask; returns raw-scale
quantiles ``(n, channels, horizon, levels)``. The rules (strategies, SIFI blend, symmetry) are
documented in :mod:`tinyts.tasks.forecast.api`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tinyts import progress
from tinyts.models.cast import TinyCast
from tinyts.options import ForecastStrategy, choices

STRATEGIES = choices(ForecastStrategy)


@dataclass
class Options:
    """Inference switches (see :func:`tinyts.tasks.forecast.api.forecast`)."""

    strategy: ForecastStrategy
    near_steps: int
    sifi: bool
    sifi_max_stride: int
    sifi_weight: float
    symmetry: bool


def _window(v: torch.Tensor, o: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The last ``length`` points, left-padded with unobserved zeros when the history is shorter."""
    t = v.shape[-1]
    if t >= length:
        return v[..., t - length :], o[..., t - length :]
    pad = length - t
    return (
        torch.nn.functional.pad(v, (pad, 0)),
        torch.nn.functional.pad(o, (pad, 0), value=False),
    )


def quantile_heads(
    model: TinyCast, v: torch.Tensor, o: torch.Tensor, symmetry: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Raw-scale quantiles of the next patch ``(n, C, P, Q)`` and of the coarse blocks ``(n, C, G, Q)``."""
    n = v.shape[0]
    if symmetry:
        v, o = torch.cat([v, -v]), torch.cat([o, o])
    out = model(v, o, last_only=True)
    res: list[torch.Tensor | None] = []
    for key in ("fine", "coarse"):
        if key not in out:
            res.append(None)
            continue
        q = model.denormalize(out[key], out)[:, :, 0]
        if symmetry:
            q = 0.5 * (q[:n] - q[n:].flip(-1))
        res.append(q.sort(dim=-1).values)
    fine = res[0]
    assert fine is not None
    return fine, res[1]


def _coarse_curve(coarse: torch.Tensor, block: int, horizon: int) -> torch.Tensor:
    """Block quantiles ``(n, C, G, Q)`` at their centres, linearly interpolated to leads ``0..h-1``."""
    g = coarse.shape[2]
    pos = (torch.arange(horizon, dtype=coarse.dtype, device=coarse.device) - (block - 1) / 2) / block
    g0 = pos.floor().clamp(0, g - 1).long()
    g1 = (g0 + 1).clamp(max=g - 1)
    frac = (pos - g0).clamp(0.0, 1.0)[:, None]
    return coarse[:, :, g0] * (1 - frac) + coarse[:, :, g1] * frac


def _anchor(roll: torch.Tensor, coarse: torch.Tensor, block: int, med: int, near: int) -> torch.Tensor:
    """Shift a rollout ``(n, C, H, Q)`` so that its block means follow the coarse medians beyond ``near``."""
    h = roll.shape[2]
    g = -(-h // block)
    path = torch.nn.functional.pad(roll[..., med], (0, g * block - h))
    counts = torch.full((g,), float(block), dtype=roll.dtype, device=roll.device)
    counts[-1] = h - (g - 1) * block
    corr = coarse[:, :, :g, med] - path.reshape(*path.shape[:2], g, block).sum(-1) / counts
    curve = _coarse_curve(corr[..., None], block, h)  # (n, C, H, 1)
    lead = torch.arange(h, dtype=roll.dtype, device=roll.device)
    w = ((lead + 1 - near) / block).clamp(0.0, 1.0)[:, None]
    return roll + w * curve


#: rolled-out values are kept within the history's [min, max] widened by this many ranges on each side
ROLLOUT_BAND = 2.0


def _bounds(v: torch.Tensor, o: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, C, 1, 1)`` limits of a rolled-out forecast: the observed range widened by ROLLOUT_BAND ranges.

    A guard against divergent feedback in long rollouts (each step's median is fed back as history): an
    exchange-rate window once ran off to -5,900 from a context within [1.5, 2.6] at lead 720.
    """
    inf = torch.tensor(float("inf"), dtype=v.dtype, device=v.device)
    hi = torch.where(o, v, -inf).amax(dim=-1)
    lo = torch.where(o, v, inf).amin(dim=-1)
    span = (hi - lo).clamp_min(torch.finfo(v.dtype).eps) + 1e-6 * hi.abs().maximum(lo.abs())
    lo, hi = lo - ROLLOUT_BAND * span, hi + ROLLOUT_BAND * span
    # a row without any observed point (a SIFI phase of a short series) is not bounded (inf - inf = NaN)
    seen = o.any(dim=-1)
    lo, hi = torch.where(seen, lo, -inf), torch.where(seen, hi, inf)
    return lo[..., None, None], hi[..., None, None]


def _plan(model: TinyCast, horizon: int, opts: Options) -> tuple[str, int, int]:
    """The strategy ``predict_quantiles`` applies, its fine-step reach ``near`` and the coarse reach."""
    c = model.config
    reach = c.coarse_horizon if model.coarse_head is not None else 0
    strategy = opts.strategy
    if strategy == "auto":
        strategy = "anchored" if reach else "rollout"
    near = {"rollout": horizon, "anchored": horizon, "coarse": c.patch_length, "hybrid": opts.near_steps}
    return strategy, min(near[strategy], horizon), reach


def quantile_calls(model: TinyCast, horizon: int, opts: Options) -> int:
    """How many model calls :func:`predict_quantiles` makes for ``horizon`` steps (for progress bars)."""
    strategy, near, reach = _plan(model, horizon, opts)
    if strategy != "rollout" and horizon > reach:
        return quantile_calls(model, reach, opts) + quantile_calls(model, horizon - reach, opts)
    return -(-near // model.config.patch_length)


def sifi_calls(model: TinyCast, length: int, any_long: bool, horizon: int, opts: Options) -> int:
    """How many model calls :func:`predict_sifi` makes for histories of ``length`` points.

    ``any_long``: whether a row of the call is longer than the context (SIFI's condition).
    """
    calls = quantile_calls(model, horizon, opts)
    s = min(-(-length // model.config.context_length), opts.sifi_max_stride)
    if opts.sifi and s >= 2 and any_long and opts.sifi_weight != 0:
        calls += quantile_calls(model, -(-horizon // s), opts)
    return calls


def predict_quantiles(
    model: TinyCast,
    v: torch.Tensor,
    o: torch.Tensor,
    horizon: int,
    opts: Options,
    bounds: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Quantiles ``(n, C, horizon, Q)`` from histories ``(n, C, L)`` (no SIFI).

    Each model call ticks :func:`tinyts.progress.advance` (:func:`quantile_calls` counts them).
    ``bounds``: the rollout guard's limits (:func:`_bounds` of the observed history; given by the calls
    this function makes on histories that end in its own forecasts, so that the band stays the one
    of the real history however long the horizon).
    """
    c = model.config
    p = c.patch_length
    strategy, near, reach = _plan(model, horizon, opts)
    lo, hi = bounds if bounds is not None else _bounds(v, o)
    if strategy != "rollout" and horizon > reach:  # beyond the coarse reach: chunks of `reach` steps
        first = predict_quantiles(model, v, o, reach, opts, (lo, hi))
        med = first[..., c.median_index]
        v2, o2 = torch.cat([v, med], -1), torch.cat([o, torch.ones_like(med, dtype=torch.bool)], -1)
        # every value of the next chunk is forecast from forecast values: all of it is kept in the band
        rest = predict_quantiles(model, v2, o2, horizon - reach, opts, (lo, hi))
        return torch.cat([first, torch.minimum(torch.maximum(rest, lo), hi)], dim=2)
    cur_v, cur_o = _window(v, o, c.context_length)
    steps = -(-near // p)
    outs, coarse0 = [], None
    for i in range(steps):
        fine, coarse = quantile_heads(model, cur_v, cur_o, opts.symmetry)
        progress.advance()
        if i > 0:  # values forecast from rolled-out values: keep a divergent feedback loop bounded
            fine = torch.minimum(torch.maximum(fine, lo), hi)
        coarse0 = coarse if i == 0 else coarse0
        outs.append(fine)
        if i < steps - 1:
            med = fine[..., c.median_index]
            cur_v = torch.cat([cur_v[..., p:], med], -1)
            cur_o = torch.cat([cur_o[..., p:], torch.ones_like(med, dtype=torch.bool)], -1)
    near_q = torch.cat(outs, dim=2)[:, :, :near]
    if strategy == "anchored" and horizon > opts.near_steps:
        assert coarse0 is not None
        return _anchor(near_q, coarse0, c.coarse_block, c.median_index, opts.near_steps)
    if near >= horizon:
        return near_q
    assert coarse0 is not None
    far = _coarse_curve(coarse0, c.coarse_block, horizon)
    seam = near_q[:, :, -1] - far[:, :, near - 1]
    lead = torch.arange(1, horizon - near + 1, dtype=far.dtype, device=far.device)
    decay = (1.0 - lead / c.coarse_block).clamp_min(0.0)[:, None]
    tail = far[:, :, near:] + seam[:, :, None] * decay
    return torch.cat([near_q, tail], dim=2).sort(dim=-1).values


def predict_sifi(
    model: TinyCast, v: torch.Tensor, o: torch.Tensor, long_rows: torch.Tensor, horizon: int, opts: Options
) -> torch.Tensor:
    """Stride-1 forecast blended with re-interleaved strided forecasts (see the module docstring)."""
    base = predict_quantiles(model, v, o, horizon, opts)
    t, length = model.config.context_length, v.shape[-1]
    s = min(-(-length // t), opts.sifi_max_stride)
    if not opts.sifi or s < 2 or not bool(long_rows.any()) or opts.sifi_weight == 0:
        return base
    n, ch = v.shape[:2]
    sub_len = -(-length // s)
    subs_v, subs_o = [], []
    for j in range(s):  # phase j: the points length-1-j, length-1-j-s, ...
        idx = torch.arange(length - 1 - j, -1, -s, device=v.device).flip(0)
        pad = sub_len - len(idx)
        subs_v.append(torch.nn.functional.pad(v[..., idx], (pad, 0)))
        subs_o.append(torch.nn.functional.pad(o[..., idx], (pad, 0), value=False))
    lead = torch.arange(horizon, device=v.device)
    phase = (-(lead + 1)) % s
    step = (lead + 1 + phase) // s  # 1-based step of the phase's own forecast
    strided = predict_quantiles(model, torch.cat(subs_v), torch.cat(subs_o), int(step.max()), opts)
    strided = strided.reshape(s, n, ch, -1, strided.shape[-1])[phase, :, :, step - 1]  # (H, n, C, Q)
    strided = strided.permute(1, 2, 0, 3)
    # a phase whose sub-series has fewer than 2 observed points says nothing: its leads keep the
    # stride-1 forecast (as do rows no longer than the context)
    informed = (torch.stack(subs_o).sum(-1) >= 2)[phase].permute(1, 2, 0)  # (n, C, H)
    ramp = max(1, t // 4)
    w = opts.sifi_weight * ((lead + 1).to(v.dtype) / ramp).clamp(max=1.0)
    w = w[None, None, :] * long_rows.to(v.dtype)[:, None, None] * informed.to(v.dtype)
    w = w[..., None]
    blend = torch.where(w > 0, (1 - w) * base + w * strided, base)  # never 0 * (junk or NaN)
    return blend.sort(dim=-1).values

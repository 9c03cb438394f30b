"""Interpolation over the last axis of a tensor: filling unobserved points, resampling cases to a length."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def linear_fill(x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Fill unobserved points of ``x`` (``(..., T)``) by linear interpolation between observed ones.

    Constant extension before the first and after the last observed point; a row with no observed
    point becomes zeros. Observed points are returned unchanged. Differentiable in ``x``.
    """
    t = x.shape[-1]
    pos = torch.arange(t, device=x.device).expand_as(x)
    minus = torch.full_like(pos, -1)
    prev = torch.where(observed, pos, minus).cummax(dim=-1).values
    big = torch.full_like(pos, t)
    nxt = torch.where(observed, pos, big).flip(-1).cummin(dim=-1).values.flip(-1)
    has_prev, has_next = prev >= 0, nxt < t
    xv = torch.where(observed, x, torch.zeros((), dtype=x.dtype, device=x.device))
    x_prev = xv.gather(-1, prev.clamp(0, t - 1))
    x_next = xv.gather(-1, nxt.clamp(0, t - 1))
    span = (nxt - prev).clamp_min(1).to(x.dtype)
    w = ((pos - prev).to(x.dtype) / span).clamp(0.0, 1.0)
    inner = x_prev + w * (x_next - x_prev)
    filled = torch.where(has_prev & has_next, inner, torch.where(has_prev, x_prev, x_next))
    filled = torch.where(has_prev | has_next, filled, torch.zeros((), dtype=x.dtype, device=x.device))
    return torch.where(observed, x, filled)


def resample_cases(
    values: torch.Tensor, observed: torch.Tensor, lengths: list[int], length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample every case (its first ``lengths[i]`` points) to ``length`` points.

    Returns ``(values, observed)`` of shape ``(n_cases, n_channels, length)``; a resampled point is
    observed when the nearest original point was.
    """
    n, c, _ = values.shape
    out = torch.empty(n, c, length, dtype=torch.float32)
    obs = torch.empty(n, c, length, dtype=torch.bool)
    lens = torch.as_tensor(lengths)
    for n_t in sorted(set(lengths)):
        idx = torch.nonzero(lens == n_t).flatten()
        v = linear_fill(values[idx, :, :n_t].float(), observed[idx, :, :n_t])
        o = observed[idx, :, :n_t]
        if n_t == length:
            out[idx], obs[idx] = v, o
            continue
        flat = v.reshape(-1, 1, n_t)
        if n_t == 1:
            res = flat.expand(-1, 1, length)
        elif n_t < length:
            res = F.interpolate(flat, size=length, mode="linear", align_corners=True)
        else:  # anti-aliased downsampling: bilinear with antialias on a (N, 1, 1, T) image
            res = F.interpolate(flat[:, :, None, :], size=(1, length), mode="bilinear", antialias=True)
            res = res[:, :, 0, :]
        pos = torch.round(torch.linspace(0, n_t - 1, length)).long()
        out[idx] = res.reshape(len(idx), c, length)
        obs[idx] = o[:, :, pos]
    return out, obs

"""Vectorised linear interpolation over the last axis of a tensor, for unobserved points."""

from __future__ import annotations

import torch


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

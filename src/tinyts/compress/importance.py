"""Importance of prunable units: second-order Taylor scores, EMA smoothing, global ranking.

Removing unit ``i`` moves its gate from 1 to 0. A second-order Taylor expansion of the mean loss with
the empirical Fisher diagonal as Hessian gives

    ΔL_i ≈ (1/B) Σ_b ( -g_{b,i} + ½ g_{b,i}² ),    g_{b,i} = ∂L_b/∂m_i   (per-sample gradients)

and the importance is ``|ΔL_i|`` (Prune-then-Finetune, arXiv 2505.23195). ``order=1`` drops the
square (``(1/B) Σ_b -g_{b,i}``), which is what the released code computes in practice: its option
for the second-order term is never passed on to the gates (``shared/research/pruning.md`` §3.1); here
the term is really applied, and a test checks it against a hand computation.

Smoothing (per macro-step): ``Ī ← α·s + (1-α)·Ī`` with ``α`` multiplying the new score; the first
step takes ``Ī = s``. The signed estimate is smoothed and ranked by absolute value (``ema_abs=True``
smooths ``|s|`` instead). Pruned units keep ``Ī = 0``.

Ranking: one global pool of every kept unit of every group; each step removes the ``ceil(r·|pool|)``
units with the smallest ``|Ī|`` plus every kept unit whose score is exactly 0 (no gradient reaches
it), never taking a group below its ``min_keep``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from tinyts.nn.gates import UnitGroup

__all__ = ["ImportanceTracker", "taylor_scores"]


def taylor_scores(per_sample: torch.Tensor, order: int = 2) -> torch.Tensor:
    """Summed signed loss change ``Σ_b (-g + ½g²)`` (order 2) or ``Σ_b -g`` (order 1).

    Parameters
    ----------
    per_sample : torch.Tensor
        ``(batch, units)`` per-sample gate gradients.
    order : {1, 2}

    Returns
    -------
    torch.Tensor
        ``(units,)``; divide by the number of samples for the mean.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    g = per_sample.double()
    s = -g if order == 1 else -g + 0.5 * g * g
    return s.sum(0)


class ImportanceTracker:
    """Accumulates scores over a macro-batch, smooths them with an EMA and prunes globally.

    Parameters
    ----------
    groups : iterable of UnitGroup
    alpha : float
        EMA weight of the new score, in (0, 1].
    order : {1, 2}
        Taylor order of the score (2 = with the squared term).
    ema_abs : bool
        Smooth ``|s|`` instead of the signed score.
    """

    def __init__(
        self, groups: Iterable[UnitGroup], alpha: float = 0.5, order: int = 2, ema_abs: bool = False
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"ema alpha must be in (0, 1], got {alpha!r}")
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        self.groups = list(groups)
        self.alpha, self.order, self.ema_abs = float(alpha), order, ema_abs
        self.ema: dict[UnitGroup, torch.Tensor] = {}
        self._sum: dict[UnitGroup, torch.Tensor] = {}
        self._count = 0

    def add(self, grads: dict[UnitGroup, torch.Tensor]) -> None:
        """Add the per-sample gradients ``(batch, units)`` of one micro-batch."""
        n = 0
        for group, g in grads.items():
            s = taylor_scores(g, self.order).cpu()
            self._sum[group] = self._sum.get(group, torch.zeros(group.size, dtype=torch.float64)) + s
            n = max(n, g.shape[0])
        self._count += n

    def step(self) -> dict[UnitGroup, torch.Tensor]:
        """Close a macro-step: mean scores, EMA update; returns the raw mean scores per group.

        Groups that received no gradient in this macro-step keep their previous EMA (skipped).
        """
        raw: dict[UnitGroup, torch.Tensor] = {}
        count = max(1, self._count)
        for group, total in self._sum.items():
            s = total / count
            s = torch.where(group.alive, s, torch.zeros_like(s))
            if self.ema_abs:
                s = s.abs()
            prev = self.ema.get(group)
            self.ema[group] = s if prev is None else self.alpha * s + (1.0 - self.alpha) * prev
            raw[group] = s
        self._sum, self._count = {}, 0
        return raw

    def prune(self, ratio: float) -> int:
        """Remove the lowest-|Ī| share ``ratio`` of the kept units (globally); returns the count removed."""
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"the per-step ratio must be in [0, 1), got {ratio!r}")
        pool: list[tuple[float, int, UnitGroup, int]] = []
        for gi, group in enumerate(self.groups):
            ema = self.ema.get(group)
            if ema is None:
                continue
            for u in group.kept().tolist():
                pool.append((abs(float(ema[u])), gi, group, u))
        if not pool:
            return 0
        k = math.ceil(len(pool) * ratio) if ratio > 0 else 0
        pool.sort(key=lambda item: (item[0], item[1], item[3]))
        threshold = pool[k - 1][0] if k > 0 else -1.0
        left = {g: int(g.alive.sum()) for g in self.groups}
        removed = 0
        for score, _, group, u in pool:
            if score > threshold and score != 0.0:
                break
            if left[group] <= group.min_keep:
                continue
            with torch.no_grad():
                group.mask[u] = 0.0
            self.ema[group][u] = 0.0
            left[group] -= 1
            removed += 1
        return removed

    def state(self) -> dict[str, torch.Tensor]:
        """Smoothed scores by group name (for reports)."""
        return {g.name: e.clone() for g, e in self.ema.items()}

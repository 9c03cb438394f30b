"""Importance scores: per-sample gradients, the second-order term against a hand computation, EMA and
the global ranking step."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tinyts.compress import ForecastAdapter
from tinyts.compress.importance import ImportanceTracker, taylor_scores
from tinyts.compress.session import GateSession
from tinyts.nn.gates import UnitGroup


class ToyAdapter(ForecastAdapter):
    """A linear forecaster ``y = W x + b`` whose input channels are one unit group."""

    name = "toy"

    def __init__(self, model: nn.Sequential, twice: bool = False) -> None:
        super().__init__(model)
        self.twice = twice

    @property
    def context_length(self) -> int:
        return int(self.model[0].in_features)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out + self.model(0.5 * x) if self.twice else out  # a layer used twice per forward

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((self._forward(x) - y) ** 2).mean(1)

    def build_gates(self, session: GateSession) -> None:
        lin = session.linear("0")
        n = lin.in_features
        session.group("0.in", "in", n, [(lin, "in", torch.arange(n), torch.arange(n))])


def _toy(seed: int = 0, twice: bool = False) -> tuple[ToyAdapter, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 4))
    x = torch.randn(8, 6, generator=g)
    y = torch.randn(8, 4, generator=g)
    return ToyAdapter(model, twice), x, y


def _collect(ad: ToyAdapter, x: torch.Tensor, y: torch.Tensor, micro: int) -> tuple[GateSession, dict]:
    session = GateSession(ad.model)
    ad.build_gates(session)
    for p in ad.model.parameters():
        p.requires_grad_(False)
    session.set_grad(True)
    grads: list[torch.Tensor] = []
    for lo in range(0, x.shape[0], micro):
        session.collector.start(min(micro, x.shape[0] - lo))
        ad.per_sample_loss(x[lo : lo + micro], y[lo : lo + micro]).sum().backward()
        grads.append(session.collector.stop()[session.groups[0]])
    return session, {"per_sample": torch.cat(grads), "autograd": session.groups[0].mask.grad.clone()}


def test_per_sample_gradients_match_a_hand_computation() -> None:
    ad, x, y = _toy()
    w, b = ad.model[0].weight.detach(), ad.model[0].bias.detach()
    _, got = _collect(ad, x, y, micro=3)  # micro-batches of 3, 3, 2
    r = x @ w.T + b - y  # (B, H) residuals at m = 1
    hand = (2.0 / y.shape[1]) * (r @ w) * x  # dL_b/dm_i = sum_o 2/H r_bo W_oi x_bi
    torch.testing.assert_close(got["per_sample"].double(), hand.double(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got["per_sample"].sum(0), got["autograd"], rtol=1e-5, atol=1e-6)


def test_second_order_score_matches_hand_computation_and_differs_from_first_order() -> None:
    ad, x, y = _toy(seed=1)
    session, got = _collect(ad, x, y, micro=8)
    g = got["per_sample"].double()
    group = session.groups[0]
    scores = {}
    for order in (1, 2):
        tracker = ImportanceTracker([group], alpha=1.0, order=order)
        tracker.add({group: got["per_sample"]})
        scores[order] = tracker.step()[group]
    hand2 = (-g + 0.5 * g * g).mean(0)
    hand1 = (-g).mean(0)
    torch.testing.assert_close(scores[2], hand2)
    torch.testing.assert_close(scores[1], hand1)
    assert (scores[2] - scores[1]).abs().max() > 1e-3  # the second-order term is really applied
    assert torch.argsort(scores[2].abs()).tolist() != torch.argsort(scores[1].abs()).tolist()


def test_a_layer_used_twice_sums_its_gradients_before_squaring() -> None:
    ad, x, y = _toy(seed=2, twice=True)
    session, got = _collect(ad, x, y, micro=4)
    group = session.groups[0]
    per_sample = []
    for i in range(x.shape[0]):  # reference: one backward per sample through the autograd gate gradient
        group.mask.grad = None
        ad.per_sample_loss(x[i : i + 1], y[i : i + 1]).sum().backward()
        per_sample.append(group.mask.grad.clone())
    torch.testing.assert_close(got["per_sample"], torch.stack(per_sample), rtol=1e-5, atol=1e-6)


def test_ema_uses_alpha_on_the_new_score() -> None:
    group = UnitGroup("g", "hidden", 3)
    tracker = ImportanceTracker([group], alpha=0.25, order=2)
    g1 = torch.tensor([[1.0, 0.0, -2.0], [0.0, 2.0, 0.0]])
    g2 = torch.tensor([[0.5, 1.0, 1.0], [0.5, -1.0, 1.0]])
    tracker.add({group: g1})
    s1 = tracker.step()[group]
    assert torch.allclose(tracker.ema[group], s1)  # the first step takes the score as is
    tracker.add({group: g2})
    s2 = tracker.step()[group]
    torch.testing.assert_close(s1, taylor_scores(g1, 2) / 2)
    torch.testing.assert_close(tracker.ema[group], 0.25 * s2 + 0.75 * s1)


def test_global_ranking_prunes_the_lowest_share_and_zero_scores_and_keeps_min_units() -> None:
    a, b = UnitGroup("a", "hidden", 4), UnitGroup("b", "heads", 3, min_keep=2)
    tracker = ImportanceTracker([a, b], alpha=1.0)
    tracker.ema = {
        a: torch.tensor([0.5, -0.1, 0.9, 0.0], dtype=torch.float64),
        b: torch.tensor([0.05, 0.2, 0.3]),
    }
    removed = tracker.prune(0.25)  # ceil(0.25 * 7) = 2 lowest |score|: a[3] (0), b[0]; nothing else is 0
    assert removed == 2
    assert a.mask.tolist() == [1, 1, 1, 0] and b.mask.tolist() == [0, 1, 1]
    removed = tracker.prune(0.5)  # 5 kept; the 3 lowest are a[1] (0.1), b[1] (0.2), b[2] (0.3)
    assert a.mask.tolist() == [1, 0, 1, 0]
    assert b.mask.tolist() == [0, 1, 1]  # b may not go below min_keep=2
    assert removed == 1 and float(tracker.ema[a][1]) == 0.0
    with pytest.raises(ValueError):
        tracker.prune(1.0)


def test_per_sample_split_needs_the_batch_outermost() -> None:
    ad, x, y = _toy()
    session = GateSession(ad.model)
    ad.build_gates(session)
    session.set_grad(True)
    session.collector.start(3)  # 8 rows cannot be 3 samples
    with pytest.raises(RuntimeError, match="outermost"):
        ad.per_sample_loss(x, y).sum().backward()


def test_taylor_scores_rejects_unknown_orders() -> None:
    with pytest.raises(ValueError):
        taylor_scores(torch.zeros(2, 2), order=3)
    with pytest.raises(ValueError):
        ImportanceTracker([], alpha=0.0)
    assert math.isclose(float(taylor_scores(torch.tensor([[2.0]]), 2)[0]), 0.0)  # -2 + 0.5 * 4

"""The progressive pruning loop: early stop with a return to the best gates, the sparsity cap, the end-to-end
``prune`` on TinyCast, and clear errors for bad input."""

from __future__ import annotations

import pytest
import torch
from compress_models import CONTEXT, T5_OPTIONS, sine_windows, tiny_cast, tiny_t5
from test_compress_importance import ToyAdapter
from torch import nn

from tinyts.compress import FitConfig, PruneConfig, Windows, adapt, prune
from tinyts.compress.importance import ImportanceTracker
from tinyts.compress.prune import prune_gates
from tinyts.compress.session import GateSession


def _toy_task(seed: int = 0) -> tuple[ToyAdapter, Windows, Windows]:
    """16 input channels: 4 informative with large weights, 12 harmless ones with tiny weights; noisy y."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(8, 4, generator=g) * 2.0

    def data(n: int) -> Windows:
        x = torch.randn(n, 16, generator=g)
        return Windows(x, x[:, :4] @ a.T + 0.5 * torch.randn(n, 8, generator=g))

    model = nn.Sequential(nn.Linear(16, 8))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[:, :4] = a
        model[0].weight[:, 4:] = 0.02 * torch.randn(8, 12, generator=g)
        model[0].bias.zero_()
    return ToyAdapter(model), data(256), data(256)


def test_progressive_pruning_stops_early_and_returns_to_the_best_gates() -> None:
    ad, train, val = _toy_task()
    session = GateSession(ad.model)
    ad.build_gates(session)
    cfg = PruneConfig(ratio=0.5, epochs=6, steps_per_epoch=1, macro_batch=128, micro_batch=64, patience=1)
    history, sparsity, best, stopped, _ = prune_gates(ad, session, train, val, cfg)
    # epoch 1 removes 8, epoch 2 four more harmless channels (val improves); then informative ones go
    assert sparsity[1:3] == [0.5, 0.75]
    assert history[1] < history[0] and history[2] < history[1]
    assert history[3] > 2 * history[2] and history[4] > history[2]
    assert stopped == "early" and best == 2 and len(history) == 5
    assert session.groups[0].mask.tolist() == [1.0] * 4 + [0.0] * 12  # the gates of epoch 2, restored


def test_at_the_optimum_only_the_second_order_term_separates_the_channels() -> None:
    """With least-squares weights every mean gate gradient is 0; the ½g² term still ranks the channels."""
    ad, train, _ = _toy_task(seed=1)
    ones = torch.ones(len(train), 1)
    sol = torch.linalg.lstsq(torch.cat([train.x, ones], 1).double(), train.y.double()).solution.float()
    with torch.no_grad():
        ad.model[0].weight.copy_(sol[:16].T)
        ad.model[0].bias.copy_(sol[16])
    session = GateSession(ad.model)
    ad.build_gates(session)
    session.set_grad(True)
    session.collector.start(len(train))
    ad.per_sample_loss(train.x, train.y).sum().backward()
    grads = session.collector.stop()
    scores = {}
    for order in (1, 2):
        tracker = ImportanceTracker(session.groups, alpha=1.0, order=order)
        tracker.add(grads)
        scores[order] = tracker.step()[session.groups[0]].abs()
    assert float(scores[1].max()) < 1e-4  # first order: nothing to rank
    assert float(scores[2][:4].min()) > 20 * float(scores[2][4:].max())  # informative >> harmless


def test_sparsity_cap_stops_pruning() -> None:
    ad, train, val = _toy_task()
    session = GateSession(ad.model)
    ad.build_gates(session)
    cfg = PruneConfig(ratio=0.5, epochs=6, steps_per_epoch=1, macro_batch=128, max_sparsity=0.6, patience=5)
    _, sparsity, _, stopped, _ = prune_gates(ad, session, train, val, cfg)
    assert stopped == "cap" and max(sparsity) <= 0.6


def test_prune_then_finetune_on_tinycast() -> None:
    model = tiny_cast(seed=3)
    before = [p.detach().clone() for p in model.parameters()]
    train, val = sine_windows(900, stride=4), sine_windows(400, stride=9, seed=1)
    cfg = PruneConfig(
        ratio=0.4,
        epochs=2,
        steps_per_epoch=2,
        macro_batch=32,
        micro_batch=16,
        finetune=FitConfig(epochs=2, steps_per_epoch=5, batch_size=16, lr=1e-3),
    )
    res = prune(model, train, val, cfg)
    assert all(
        torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)
    )  # a copy was pruned
    assert res.params_after < res.params_before and res.units_kept < res.units_total
    assert len(res.val_history) >= 2 and res.finetune is not None
    assert res.finetune.val_history[res.finetune.best_epoch] <= res.finetune.val_history[0]
    assert res.adapter.structure() is not None and res.model.config.pruning is not None
    assert res.adapter.predict(val.x[:3], 20).shape == (3, 20)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5, True])
def test_ratio_outside_the_unit_interval_is_rejected(ratio: float) -> None:
    with pytest.raises(ValueError, match="ratio"):
        PruneConfig(ratio=ratio)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="order"):
        PruneConfig(order=3)
    with pytest.raises(ValueError, match="ema"):
        PruneConfig(ema=0.0)
    with pytest.raises(ValueError, match="min_sparsity"):
        PruneConfig(min_sparsity=0.9, max_sparsity=0.8)


def test_unknown_targets_and_mismatched_windows_are_rejected(tmp_path: object) -> None:
    train = sine_windows(300)
    with pytest.raises(ValueError, match="unknown target"):
        prune(nn.GRU(4, 4), train, train)
    with pytest.raises(ValueError, match="unknown model"):
        prune("/nonexistent/folder", train, train)
    short = Windows(train.x[:, : CONTEXT // 2], train.y)
    with pytest.raises(ValueError, match="context"):
        prune(tiny_cast(), short, short)
    t5 = adapt(tiny_t5(), **T5_OPTIONS)
    with pytest.raises(ValueError, match="mismatched horizons"):
        t5.per_sample_loss(train.x[:2], train.y[:2, :8])

"""Distillation: horizon weights really applied, the aligner trained, a student improved by its teacher,
and clear errors for teachers without hidden states, students without tokens and mismatched horizons."""

from __future__ import annotations

import copy
import importlib
import math
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from compress_models import CONTEXT, T5_OPTIONS, sine_windows, tiny_cast, tiny_patchtst, tiny_pulse, tiny_t5

from tinyts.compress import (
    DistillConfig,
    FitConfig,
    LinearConfig,
    LinearStudent,
    NoHiddenStates,
    adapt,
    cast_student,
    distill,
    finetune,
    horizon_weights,
    load_compressed,
)
from tinyts.compress.distill import distill_loss

# the package re-exports the function ``distill``, which shadows the module attribute of the same name
distill_mod = importlib.import_module("tinyts.compress.distill")

H = 16


def test_horizon_weights_have_mean_one_and_grow_by_e_tau() -> None:
    for tau in (0.5, 1.0, 2.0):
        w = horizon_weights(96, tau)
        assert math.isclose(float(w.mean()), 1.0, rel_tol=1e-6)
        assert bool((w[1:] > w[:-1]).all())
        assert math.isclose(float(w[-1] / w[0]), math.exp(tau), rel_tol=1e-5)
    assert torch.allclose(horizon_weights(24, 0.0), torch.ones(24))
    assert torch.allclose(horizon_weights(1, 3.0), torch.ones(1))


def test_horizon_weights_are_applied_in_the_loss() -> None:
    pred = torch.zeros(3, H)
    teacher = torch.linspace(0.0, 2.0, H).expand(3, H)  # disagreement grows with lead time
    y = torch.zeros(3, H)
    cfg = DistillConfig(sup_weight=0.0, kd_weight=1.0, align_weight=0.0)
    values = [
        float(distill_loss(pred, y, teacher, horizon_weights(H, tau), cfg)[0]) for tau in (0.0, 1.0, 3.0)
    ]
    assert values[0] < values[1] < values[2]
    expected = float((horizon_weights(H, 1.0) * teacher[0] ** 2).mean())
    assert math.isclose(values[1], expected, rel_tol=1e-6)


class _Spy(distill_mod.TemporalAligner):
    created: ClassVar[list[dict[str, torch.Tensor]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _Spy.created.append(copy.deepcopy(self.state_dict()))


@pytest.mark.parametrize("train_aligner", [True, False])
def test_the_aligner_receives_gradients_and_is_updated(
    train_aligner: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distill_mod, "TemporalAligner", _Spy)
    _Spy.created.clear()
    train, val = sine_windows(700, future=H, stride=5), sine_windows(300, future=H, stride=11, seed=1)
    torch.manual_seed(0)
    student = LinearStudent(LinearConfig(CONTEXT, H, hidden=8))
    cfg = DistillConfig(
        train_aligner=train_aligner, fit=FitConfig(epochs=1, steps_per_epoch=6, batch_size=16, lr=1e-2)
    )
    res = distill(tiny_cast(), student, train, val, H, cfg)
    assert res.aligner is not None and len(_Spy.created) == 1
    assert res.aligner.pos.shape == (CONTEXT // 8, 256)  # one embedding per teacher patch position
    changed = any(not torch.equal(v, res.aligner.state_dict()[k]) for k, v in _Spy.created[0].items())
    assert changed is train_aligner  # the released code never updates it: train_aligner=False
    # and the alignment loss reaches the aligner's parameters through autograd
    res.aligner.zero_grad()
    for p in res.aligner.parameters():
        p.requires_grad_(True)
    _, tokens = res.student.forecast_train(train.x[:4], H)
    hidden = adapt(tiny_cast()).hidden_states(train.x[:4])
    ((res.aligner(tokens) - hidden) ** 2).mean().backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in res.aligner.parameters())


def test_distillation_improves_a_tiny_student() -> None:
    train, val = sine_windows(1500, future=H, stride=2), sine_windows(500, future=H, stride=7, seed=1)
    torch.manual_seed(0)
    teacher = LinearStudent(LinearConfig(CONTEXT, H, hidden=32))
    t_ad = adapt(teacher)
    finetune(t_ad, train, val, FitConfig(epochs=4, batch_size=32, lr=3e-3, patience=2))
    torch.manual_seed(1)
    student = LinearStudent(LinearConfig(CONTEXT, H, hidden=4))
    s_ad = adapt(student)
    before = float(((s_ad.predict(val.x, H) - t_ad.predict(val.x, H)) ** 2).mean())
    cfg = DistillConfig(
        sup_weight=0.0, kd_weight=1.0, align_weight=0.0, fit=FitConfig(epochs=4, lr=3e-3, patience=2)
    )
    res = distill(t_ad, student, train, val, H, cfg)  # the student learns from the teacher alone
    after = float(((s_ad.predict(val.x, H) - t_ad.predict(val.x, H)) ** 2).mean())
    assert after < 0.2 * before
    assert res.fit.val_history[res.fit.best_epoch] < 0.5 * res.fit.val_history[0]  # ... and fits the data


def test_tinycast_student_and_patchtst_teacher_with_alignment() -> None:
    train, val = sine_windows(500, future=H, stride=7), sine_windows(300, future=H, stride=13, seed=1)
    student = cast_student(CONTEXT, H, d_model=8, num_layers=1, num_heads=1, patch_length=8)
    cfg = DistillConfig(fit=FitConfig(epochs=1, steps_per_epoch=3, batch_size=8, lr=1e-3))
    res = distill(tiny_patchtst(horizon=H), student, train, val, H, cfg)
    assert res.aligner is not None and res.aligner.positions == CONTEXT // 8
    assert res.student.predict(val.x[:2], H).shape == (2, H)
    assert res.student.num_parameters() < 5000


def test_lowrank_student_is_the_mlp_branch_alone_and_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    student = LinearStudent(LinearConfig(CONTEXT, H, hidden=4, linear=False))
    assert student.linear is None
    assert student.num_parameters() == 4 * (CONTEXT + H) + 4 + H  # no CONTEXT x H linear map
    x = sine_windows(200, future=H, stride=3).x[:5]
    pred, token = student(x)
    assert pred.shape == (5, H) and token is not None and token.shape == (5, 1, 4)
    z = (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False)
    assert student.up is not None and student.down is not None
    expected = student.down(torch.nn.functional.gelu(student.up(z)))
    assert torch.allclose(pred, expected * x.std(-1, keepdim=True, unbiased=False) + x.mean(-1, keepdim=True))
    student.save_pretrained(tmp_path / "s")
    back = load_compressed(tmp_path / "s")
    assert isinstance(back, LinearStudent) and back.config.linear is False
    assert torch.equal(back(x)[0], pred)
    with pytest.raises(ValueError, match="hidden >= 1"):
        LinearConfig(CONTEXT, H, hidden=0, linear=False)


def test_bad_distillation_input_is_rejected() -> None:
    train = sine_windows(400, future=H, stride=9)
    cfg = DistillConfig(fit=FitConfig(epochs=1, steps_per_epoch=1))
    no_hidden_teacher = LinearStudent(LinearConfig(CONTEXT, H, hidden=8))
    with pytest.raises(NoHiddenStates, match="hidden states"):
        distill(no_hidden_teacher, LinearStudent(LinearConfig(CONTEXT, H, hidden=8)), train, train, H, cfg)
    with pytest.raises(ValueError, match="no tokens"):
        distill(tiny_cast(), LinearStudent(LinearConfig(CONTEXT, H, hidden=0)), train, train, H, cfg)
    with pytest.raises(ValueError, match="at most 16"):
        distill(tiny_pulse(), LinearStudent(LinearConfig(CONTEXT, 24, hidden=8)), train, train, 24, cfg)
    with pytest.raises(ValueError, match="mismatched horizons"):
        distill(tiny_cast(), LinearStudent(LinearConfig(CONTEXT, 8, hidden=8)), train, train, H, cfg)
    with pytest.raises(ValueError, match="mismatched horizons"):
        distill(tiny_cast(), LinearStudent(LinearConfig(CONTEXT, 24, hidden=8)), train, train, 24, cfg)
    with pytest.raises(ValueError, match="at least one loss weight"):
        DistillConfig(sup_weight=0.0, kd_weight=0.0, align_weight=0.0)
    with pytest.raises(ValueError, match="cannot be a distillation student"):
        distill(tiny_cast(), adapt(tiny_t5(), **T5_OPTIONS), train, train, H, DistillConfig(align_weight=0.0))

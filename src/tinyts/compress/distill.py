"""Distillation of a forecasting teacher into a small student (DistilTS, arXiv 2601.12785).

Loss per batch (all terms in the caller's scaled space)::

    L = sup_weight   · mean_{b,t} (ŷ_{b,t} - y_{b,t})²                 supervised MSE
      + kd_weight    · mean_{b,t} w_t (ŷ_{b,t} - ŷᵀ_{b,t})²            horizon-weighted teacher matching
      + align_weight · mean_{b,p,k} (A(s_b)_{p,k} - Hᵀ_{b,p,k})²       temporal feature alignment

- Horizon weights ``w_t = exp(τ t / (T-1)) / mean_j exp(τ j / (T-1))`` (mean 1, ratio last/first
  ``e^τ``); ``τ = 0`` gives uniform weights. The released code defines them but never passes them to its
  distillation loss (it trains with uniform weights); here they are applied, and a test checks that the
  loss changes with ``τ``.
- Alignment ``A`` (:class:`TemporalAligner`): the student's tokens ``s`` ``(B, K, d_s)`` (one token for
  the MLP student, one per patch for a TinyCast student) are resampled to the teacher's ``P`` context
  positions, projected ``W_s: d_s -> U``, modulated by a learned per-position embedding ``e_p`` and
  mapped ``W_o GELU(W_s s ⊙ e_p)`` to the teacher's width; matched to the teacher's last hidden states
  ``Hᵀ`` over the context. The released code never gives the aligner's parameters to the optimizer
  (they stay at their random initialisation); here they are trained with the student
  (``train_aligner=False`` reproduces the released behaviour for the ablation).
- Defaults ``kd_weight = 0.5``, ``align_weight = 0.3``, ``τ = 1`` as in the released code.

The teacher is frozen and deterministic, so its forecasts (and hidden states) of the training windows
are computed once (``cache_teacher``) instead of at every step. Validation (early stopping) is the
student's MSE on the val windows alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tinyts.compress.adapters.base import ForecastAdapter, adapt
from tinyts.compress.data import Windows
from tinyts.compress.finetune import FitConfig, FitResult, fit

__all__ = ["DistillConfig", "DistillResult", "TemporalAligner", "distill", "distill_loss", "horizon_weights"]


def horizon_weights(horizon: int, tau: float = 1.0) -> torch.Tensor:
    """Exponential lead-time weights ``(horizon,)`` with mean 1 (uniform for ``tau = 0``)."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if not math.isfinite(tau):
        raise ValueError(f"tau must be finite, got {tau}")
    t = torch.arange(horizon, dtype=torch.float64) / max(1, horizon - 1)
    w = torch.exp(tau * t)
    return (w / w.mean()).float()


class TemporalAligner(nn.Module):
    """Student tokens ``(B, K, d_s)`` -> a time-resolved sequence ``(B, P, d_t)`` (see module docstring).

    Parameters
    ----------
    student_dim, teacher_dim : int
        Token widths.
    positions : int
        Teacher context positions ``P``.
    width : int
        Inner width ``U`` (256 in DistilTS).
    """

    def __init__(self, student_dim: int, teacher_dim: int, positions: int, width: int = 256) -> None:
        super().__init__()
        if min(student_dim, teacher_dim, positions, width) < 1:
            raise ValueError("aligner sizes must be >= 1")
        self.positions = positions
        self.proj_in = nn.Linear(student_dim, width, bias=False)
        self.pos = nn.Parameter(torch.randn(positions, width) / math.sqrt(width))
        self.proj_out = nn.Linear(width, teacher_dim, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.ndim != 3:
            raise ValueError(f"student tokens must be (batch, tokens, dim), got {tuple(tokens.shape)}")
        k = tokens.shape[1]
        if k == 1:
            seq = tokens.expand(-1, self.positions, -1)
        elif k == self.positions:
            seq = tokens
        else:
            seq = F.interpolate(
                tokens.transpose(1, 2), size=self.positions, mode="linear", align_corners=False
            )
            seq = seq.transpose(1, 2)
        return self.proj_out(F.gelu(self.proj_in(seq) * self.pos))


@dataclass
class DistillConfig:
    """Settings of :func:`distill`; every loss term can be switched off (weight 0) for the ablation."""

    sup_weight: float = 1.0
    kd_weight: float = 0.5
    align_weight: float = 0.3
    tau: float = 1.0
    train_aligner: bool = True
    aligner_width: int = 256
    cache_teacher: bool = True
    teacher_batch: int = 64
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=10, batch_size=32, lr=1e-3, patience=3))

    def __post_init__(self) -> None:
        for name in ("sup_weight", "kd_weight", "align_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.sup_weight == self.kd_weight == self.align_weight == 0:
            raise ValueError("at least one loss weight must be positive")


@dataclass
class DistillResult:
    """The trained student, the aligner (None without alignment), training record and teacher cost."""

    student: ForecastAdapter
    aligner: TemporalAligner | None
    fit: FitResult
    teacher_seconds: float
    config: DistillConfig
    info: dict[str, Any] = field(default_factory=dict)


def distill_loss(
    pred: torch.Tensor,
    y: torch.Tensor,
    teacher_pred: torch.Tensor | None,
    weights: torch.Tensor,
    config: DistillConfig,
    tokens: torch.Tensor | None = None,
    teacher_hidden: torch.Tensor | None = None,
    aligner: TemporalAligner | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted loss and the value of each term (see the module docstring)."""
    parts: dict[str, torch.Tensor] = {}
    if config.sup_weight:
        parts["sup"] = ((pred - y) ** 2).mean()
    if config.kd_weight:
        if teacher_pred is None:
            raise ValueError("kd_weight > 0 needs the teacher's forecasts")
        parts["kd"] = (weights.to(pred.device)[None, :] * (pred - teacher_pred) ** 2).mean()
    if config.align_weight:
        if tokens is None or teacher_hidden is None or aligner is None:
            raise ValueError("align_weight > 0 needs student tokens, teacher hidden states and an aligner")
        parts["align"] = ((aligner(tokens) - teacher_hidden) ** 2).mean()
    w = {"sup": config.sup_weight, "kd": config.kd_weight, "align": config.align_weight}
    total = sum((w[k] * v for k, v in parts.items()), torch.zeros((), device=pred.device))
    return total, {k: float(v.detach()) for k, v in parts.items()}


@torch.no_grad()
def _teacher_outputs(
    teacher: ForecastAdapter, x: torch.Tensor, horizon: int, hidden: bool, batch: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    preds, states = [], []
    for lo in range(0, x.shape[0], batch):
        xb = x[lo : lo + batch]
        preds.append(teacher.predict(xb, horizon))
        if hidden:
            states.append(teacher.hidden_states(xb))
    return torch.cat(preds), (torch.cat(states) if hidden else None)


def distill(
    teacher: Any,
    student: Any,
    train: Windows,
    val: Windows,
    horizon: int,
    config: DistillConfig | None = None,
    *,
    teacher_outputs: tuple[torch.Tensor, torch.Tensor | None] | None = None,
) -> DistillResult:
    """Train ``student`` on ``train`` with the teacher's forecasts (and hidden states).

    Parameters
    ----------
    teacher, student : model, adapter, name or folder
        Anything :func:`tinyts.compress.adapt` accepts; the student must have a differentiable
        forecast (:class:`~tinyts.models.linear.LinearStudent`, a TinyCast from
        :func:`~tinyts.compress.students.cast_student`, PatchTST). The student is trained in place.
    train, val : Windows
        Windows with at least ``horizon`` future points; contexts of the student's length (the teacher
        sees the last ``teacher.context_length`` points of each context).
    horizon : int
    config : DistillConfig, optional
    teacher_outputs : (forecasts, hidden states), optional
        The teacher's outputs for ``train.x`` computed beforehand (forecasts ``(n, >= horizon)``,
        hidden states or None), e.g. shared by several students; the teacher is then not run here.

    Raises
    ------
    ValueError
        Mismatched horizons or contexts, a teacher without hidden states while ``align_weight > 0``
        (:class:`~tinyts.compress.adapters.base.NoHiddenStates`), a student without tokens for the alignment.
    """
    config = config or DistillConfig()
    t_ad, s_ad = adapt(teacher), adapt(student)
    if type(s_ad).forecast_train is ForecastAdapter.forecast_train:
        raise ValueError(
            f"{s_ad.name} has no differentiable forecast; it cannot be a distillation student "
            "(use LinearStudent, cast_student or PatchTST)"
        )
    t_ad.check_horizon(horizon)
    s_ad.check_horizon(horizon)
    for name, w in (("train", train), ("val", val)):
        if w.future < horizon:
            raise ValueError(
                f"mismatched horizons: {name} windows hold {w.future} future points, horizon {horizon}"
            )
        if w.context != s_ad.context_length:
            raise ValueError(
                f"{name} windows have context {w.context}, the student takes {s_ad.context_length}"
            )
    if train.context < t_ad.context_length:
        raise ValueError(
            f"the teacher needs {t_ad.context_length} context points, the windows have {train.context}"
        )
    t_off = train.context - t_ad.context_length
    t_ad.model.eval()
    teacher_flags = [(p, p.requires_grad) for p in t_ad.model.parameters()]
    for p in t_ad.model.parameters():
        p.requires_grad_(False)
    try:
        return _train(t_ad, s_ad, train, val, horizon, config, teacher_outputs, t_off)
    finally:
        for p, flag in teacher_flags:
            p.requires_grad_(flag)


def _train(
    t_ad: ForecastAdapter,
    s_ad: ForecastAdapter,
    train: Windows,
    val: Windows,
    horizon: int,
    config: DistillConfig,
    teacher_outputs: tuple[torch.Tensor, torch.Tensor | None] | None,
    t_off: int,
) -> DistillResult:
    """The body of :func:`distill` once inputs are checked and the teacher is frozen."""
    use_kd, use_align = config.kd_weight > 0, config.align_weight > 0

    aligner: TemporalAligner | None = None
    probe_x = train.x[:2]
    if use_align:
        if teacher_outputs is not None and teacher_outputs[1] is not None:
            h_probe = teacher_outputs[1][:2]
        else:
            h_probe = t_ad.hidden_states(probe_x[:, t_off:])  # NoHiddenStates if the teacher has none
        _, tok = s_ad.forecast_train(probe_x, horizon)
        if tok is None:
            raise ValueError(
                f"the student {s_ad.name} has no tokens for the alignment loss (a purely linear student); "
                "use hidden > 0 or align_weight=0"
            )
        aligner = TemporalAligner(tok.shape[-1], h_probe.shape[-1], h_probe.shape[1], config.aligner_width)
        for p in aligner.parameters():
            p.requires_grad_(config.train_aligner)

    start = time.perf_counter()
    t_pred = t_hid = None
    if teacher_outputs is not None and (use_kd or use_align):
        t_pred, t_hid = teacher_outputs[0][:, :horizon], teacher_outputs[1]
        if t_pred.shape != (len(train), horizon) or (use_align and t_hid is None):
            raise ValueError(
                "teacher_outputs must hold forecasts (n, >= horizon) and hidden states for alignment"
            )
    elif config.cache_teacher and (use_kd or use_align):
        t_pred, t_hid = _teacher_outputs(t_ad, train.x[:, t_off:], horizon, use_align, config.teacher_batch)
    teacher_seconds = time.perf_counter() - start
    weights = horizon_weights(horizon, config.tau)
    y_train = train.y[:, :horizon]

    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        nonlocal teacher_seconds
        x = train.x[idx]
        tp = th = None
        if use_kd or use_align:
            if t_pred is not None:
                tp = t_pred[idx]
                th = None if t_hid is None else t_hid[idx]
            else:
                t0 = time.perf_counter()
                tp, th = _teacher_outputs(t_ad, x[:, t_off:], horizon, use_align, len(idx))
                teacher_seconds += time.perf_counter() - t0
        pred, tokens = s_ad.forecast_train(x, horizon)
        loss, _ = distill_loss(pred, y_train[idx], tp, weights, config, tokens, th, aligner)
        return loss

    def val_fn() -> float:
        was = s_ad.model.training
        s_ad.model.eval()
        try:
            pred = s_ad.predict_batched(val.x, horizon)
            return float(((pred - val.y[:, :horizon]) ** 2).mean())
        finally:
            s_ad.model.train(was)

    modules: list[nn.Module] = [s_ad.model] + ([aligner] if aligner is not None else [])
    params = list(s_ad.model.parameters()) + (
        list(aligner.parameters()) if aligner is not None and config.train_aligner else []
    )
    for p in s_ad.model.parameters():
        p.requires_grad_(True)
    result = fit(modules, loss_fn, len(train), val_fn, config.fit, params)
    return DistillResult(
        student=s_ad,
        aligner=aligner,
        fit=result,
        teacher_seconds=teacher_seconds,
        config=config,
        info={"teacher": t_ad.name, "student": s_ad.name, "teacher_offset": t_off},
    )

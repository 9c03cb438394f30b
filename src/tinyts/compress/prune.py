"""Structured pruning: progressive loss-guided removal of channels and heads, surgery, fine-tuning.

Prune-then-Finetune (arXiv 2505.23195), as described in ``shared/research/pruning.md``:

1. Gates (1 = kept) on every prunable unit group of the model (:meth:`ForecastAdapter.build_gates`);
   weights frozen, dropout off (eval mode).
2. Per macro-step (``macro_batch`` windows, accumulated over micro-batches): per-sample gate gradients
   of the model's own loss, score ``(1/B) Σ_b (-g + ½g²)`` (``order=1``: ``(1/B) Σ_b -g``), EMA with
   ``ema`` on the new score, one global ranking over all groups; the lowest ``r = ratio /
   steps_per_epoch`` share of the kept units (and units whose score is exactly 0) are gated off.
3. After every epoch: the validation loss (val split); early stopping with ``patience`` and a return to
   the gates of the best epoch; an optional cap on the pruned share of units (``max_sparsity``).
4. Physical removal (:meth:`ForecastAdapter.surgery`), then full fine-tuning
   (:func:`tinyts.compress.finetune.finetune`) with early stopping on the validation loss.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tinyts.compress.adapters.base import ForecastAdapter, adapt
from tinyts.compress.data import Windows
from tinyts.compress.finetune import FitConfig, FitResult, evaluate_loss, finetune
from tinyts.compress.importance import ImportanceTracker
from tinyts.compress.session import GateSession

__all__ = ["PruneConfig", "PruneResult", "prune", "prune_gates"]


@dataclass
class PruneConfig:
    """Settings of :func:`prune`.

    Attributes
    ----------
    ratio : float
        Share of the kept units removed per epoch (``P_epoch``), in (0, 1); spread over the epoch's
        steps as ``r = ratio / steps_per_epoch`` of the remaining pool per step, so an epoch keeps
        about ``exp(-ratio)`` of the units.
    epochs : int
        Maximum pruning epochs.
    steps_per_epoch : int or None
        Macro-steps per epoch (None = one pass over the training windows).
    macro_batch, micro_batch : int
        Windows per scoring step, and per forward/backward inside it.
    ema : float
        EMA weight of the new score, in (0, 1].
    order : {1, 2}
        2 = with the second-order term ``½g²``; 1 = first-order only.
    ema_abs : bool
        Smooth absolute scores instead of signed ones.
    patience : int
        Epochs without a better validation loss before stopping.
    max_sparsity : float
        Stop before the pruned share of units would exceed this (1 = no cap).
    min_sparsity : float
        A target: epochs whose pruned share is below it are neither candidates for the best gates nor
        counted by early stopping (0 = the paper's rule: every epoch counts). If no epoch reaches it,
        the last epoch's gates are kept.
    residual : bool
        Also prune residual-side channels (per-layer input/output gates); False keeps only coupled
        structures (heads, head dimensions, MLP hidden units).
    finetune : FitConfig or None
        Fine-tuning after surgery (None = none).
    """

    ratio: float = 0.2
    epochs: int = 5
    steps_per_epoch: int | None = None
    macro_batch: int = 256
    micro_batch: int = 32
    ema: float = 0.5
    order: int = 2
    ema_abs: bool = False
    patience: int = 1
    max_sparsity: float = 1.0
    min_sparsity: float = 0.0
    residual: bool = True
    finetune: FitConfig | None = field(default_factory=FitConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.ratio, bool) or not 0.0 < float(self.ratio) < 1.0:
            raise ValueError(f"ratio must be in (0, 1) (share of units pruned per epoch), got {self.ratio!r}")
        if not 0.0 < self.ema <= 1.0:
            raise ValueError(f"ema must be in (0, 1], got {self.ema!r}")
        if self.order not in (1, 2):
            raise ValueError(
                f"order must be 1 (first-order) or 2 (with the second-order term), got {self.order!r}"
            )
        if self.epochs < 1 or self.macro_batch < 1 or self.micro_batch < 1 or self.patience < 0:
            raise ValueError("epochs, macro_batch and micro_batch must be >= 1, patience >= 0")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be >= 1 or None")
        if not 0.0 < self.max_sparsity <= 1.0:
            raise ValueError(f"max_sparsity must be in (0, 1], got {self.max_sparsity!r}")
        if not 0.0 <= self.min_sparsity < self.max_sparsity:
            raise ValueError(f"min_sparsity must be in [0, max_sparsity), got {self.min_sparsity!r}")


@dataclass
class PruneResult:
    """What :func:`prune` returns.

    ``val_history[0]`` is the validation loss of the unpruned model, entry ``e`` that after pruning
    epoch ``e``; ``best_epoch`` is the epoch whose gates were kept.
    """

    adapter: ForecastAdapter
    params_before: int
    params_after: int
    units_kept: int
    units_total: int
    val_history: list[float]
    sparsity_history: list[float]
    best_epoch: int
    stopped: str
    prune_seconds: float
    finetune: FitResult | None = None
    scores: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        return self.adapter.model


def _frozen(model: nn.Module) -> dict[str, bool]:
    state = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(False)
    return state


def prune_gates(
    adapter: ForecastAdapter, session: GateSession, train: Windows, val: Windows, config: PruneConfig
) -> tuple[list[float], list[float], int, str, ImportanceTracker]:
    """Steps 2-3 of the module docstring on an installed session; leaves the best gates set.

    Returns the validation history, the pruned share after each epoch, the best epoch, why it
    stopped (``"epochs"``, ``"early"``, ``"cap"``) and the tracker.
    """
    groups = [g for g in session.groups if config.residual or g.kind not in ("in", "out")]
    if not groups:
        raise ValueError("the model has no prunable unit groups")
    tracker = ImportanceTracker(groups, config.ema, config.order, config.ema_abs)
    total_units = sum(g.size for g in groups)
    n_train = len(train)
    steps = config.steps_per_epoch or max(1, math.ceil(n_train / config.macro_batch))
    per_step = config.ratio / steps
    gen = torch.Generator().manual_seed(config.seed)
    order, cursor = torch.randperm(n_train, generator=gen), 0
    adapter.model.eval()
    history = [evaluate_loss(adapter, val)]
    sparsity = [0.0]
    best, best_masks, best_epoch, bad, stopped = math.inf, session.masks(), 0, 0, "epochs"
    for epoch in range(1, config.epochs + 1):
        capped = False
        for _ in range(steps):
            if cursor >= n_train:
                order, cursor = torch.randperm(n_train, generator=gen), 0
            idx = order[cursor : cursor + config.macro_batch]
            cursor += config.macro_batch
            session.set_grad(True)
            try:
                for lo in range(0, len(idx), config.micro_batch):
                    sub = idx[lo : lo + config.micro_batch]
                    session.collector.start(len(sub))
                    loss = adapter.per_sample_loss(train.x[sub], train.y[sub]).sum()
                    loss.backward()
                    tracker.add(session.collector.stop())
            finally:
                session.collector.stop()
                session.set_grad(False)
            tracker.step()
            kept = sum(int(g.alive.sum()) for g in groups)
            if 1.0 - (1.0 - per_step) * kept / total_units > config.max_sparsity:
                capped = True
                break
            tracker.prune(per_step)
        kept = sum(int(g.alive.sum()) for g in groups)
        sparsity.append(1.0 - kept / total_units)
        val_loss = evaluate_loss(adapter, val)
        history.append(val_loss)
        if sparsity[-1] < config.min_sparsity:
            best_masks, best_epoch = session.masks(), epoch  # below the target: not a candidate yet
        elif val_loss < best:
            best, best_masks, best_epoch, bad = val_loss, session.masks(), epoch, 0
        else:
            bad += 1
            if bad > config.patience:
                stopped = "early"
                break
        if capped:
            stopped = "cap"
            break
    session.load_masks(best_masks)
    return history, sparsity, best_epoch, stopped, tracker


def prune(
    model: Any,
    train: Windows,
    val: Windows,
    config: PruneConfig | None = None,
    *,
    copy_model: bool = True,
    adapter_options: dict[str, Any] | None = None,
) -> PruneResult:
    """Prune a forecasting model on a downstream dataset, remove the pruned structures, fine-tune.

    Parameters
    ----------
    model : model, adapter, name or folder
        Anything :func:`tinyts.compress.adapt` accepts (TinyCast, TinyPulse, PatchTST, T5/Chronos).
    train, val : Windows
        Training and validation windows (:func:`tinyts.compress.data.ltsf_windows`); the future
        length is what the model's loss uses (e.g. the horizon).
    config : PruneConfig, optional
    copy_model : bool
        Work on a deep copy (default) instead of modifying ``model`` in place.
    adapter_options : dict, optional
        Options of the adapter (see :func:`tinyts.compress.adapt`).

    Returns
    -------
    PruneResult
        The pruned, fine-tuned model (``result.model``; ``result.adapter.save(folder)``), parameter
        counts, validation histories.

    Raises
    ------
    ValueError
        Unknown target, an already pruned model, bad settings, windows that do not fit the model.
    """
    config = config or PruneConfig()
    if isinstance(model, ForecastAdapter):
        if adapter_options:
            raise ValueError("adapter_options cannot be applied to an existing adapter")
        adapter = copy.deepcopy(model) if copy_model else model
    else:
        if copy_model and isinstance(model, nn.Module):
            model = copy.deepcopy(model)
        adapter = adapt(model, **(adapter_options or {}))
    if len(train) == 0 or len(val) == 0:
        raise ValueError("pruning needs non-empty train and val windows")
    if train.context != adapter.context_length or val.context != adapter.context_length:
        raise ValueError(
            f"windows have context {train.context}/{val.context}, the model takes {adapter.context_length}"
        )
    params_before = adapter.num_parameters()
    start = time.perf_counter()
    session = GateSession(adapter.model)
    requires = _frozen(adapter.model)
    try:
        adapter.build_gates(session)
        history, sparsity, best_epoch, stopped, tracker = prune_gates(adapter, session, train, val, config)
        kept, total = session.counts()
        adapter.surgery(session)
        session.remove()  # any gated layer the surgery did not replace goes back to a plain linear
    finally:
        for name, p in adapter.model.named_parameters():
            p.requires_grad_(requires.get(name, True))
    prune_seconds = time.perf_counter() - start
    result = PruneResult(
        adapter=adapter,
        params_before=params_before,
        params_after=adapter.num_parameters(),
        units_kept=kept,
        units_total=total,
        val_history=history,
        sparsity_history=sparsity,
        best_epoch=best_epoch,
        stopped=stopped,
        prune_seconds=prune_seconds,
        scores=tracker.state(),
    )
    if config.finetune is not None:
        result.finetune = finetune(adapter, train, val, config.finetune)
    adapter.model.eval()
    return result

"""Fine-tuning of forecasters (pruned or full models) and distillation, on the shared fine-tuning loop.

:func:`fit` runs :func:`tinyts.train.finetune.finetune_loop` with Adam on the given parameters, epochs
over shuffled windows (or a fixed number of steps per epoch), gradient clipping, validation after every
epoch, early stopping with ``patience`` and a return to the best weights. Validation uses the val split
only; test windows never enter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from tinyts.compress.adapters.base import ForecastAdapter
from tinyts.compress.data import Windows
from tinyts.train.finetune import LoopSettings, Validation, finetune_loop

__all__ = ["FitConfig", "FitResult", "evaluate_loss", "evaluate_mse", "finetune", "fit"]


@dataclass
class FitConfig:
    """Optimisation settings.

    Attributes
    ----------
    epochs : int
        Maximum epochs (validation after each).
    steps_per_epoch : int or None
        Optimiser steps per epoch; None = one pass over the training windows.
    batch_size, lr, weight_decay, grad_clip : optimisation (Adam / AdamW when ``weight_decay``).
    patience : int
        Epochs without a better validation loss before stopping (the best weights are restored).
    max_seconds : float
        Stop after this much training time (0 = no limit).
    """

    epochs: int = 3
    steps_per_epoch: int | None = None
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    patience: int = 1
    max_seconds: float = 0.0
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 0:
            raise ValueError("epochs and batch_size must be >= 1 and patience >= 0")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be >= 1 or None")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


@dataclass
class FitResult:
    """Validation history (index 0 = before training), the best epoch, steps and seconds."""

    val_history: list[float] = field(default_factory=list)
    train_history: list[float] = field(default_factory=list)
    best_epoch: int = 0
    steps: int = 0
    seconds: float = 0.0
    stopped: str = "epochs"


def fit(
    modules: Sequence[nn.Module],
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    n_train: int,
    val_fn: Callable[[], float],
    config: FitConfig,
    params: Sequence[nn.Parameter] | None = None,
) -> FitResult:
    """Train ``params`` (default: all parameters of ``modules``) on ``loss_fn(batch_index)``.

    ``loss_fn`` gets a long tensor of training-window indices and returns a scalar loss. The loop is
    :func:`tinyts.train.finetune.finetune_loop` with one round per epoch.
    """
    if n_train < 1:
        raise ValueError("no training windows")
    params = list(params) if params is not None else [p for m in modules for p in m.parameters()]
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: no parameter requires grad")
    opt: torch.optim.Optimizer
    if config.weight_decay:
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=config.lr)
    steps_per_epoch = config.steps_per_epoch or math.ceil(n_train / config.batch_size)
    settings = LoopSettings(
        steps=config.epochs * steps_per_epoch,
        eval_every=steps_per_epoch,
        patience=config.patience + 1,  # FitConfig counts the bad epochs it tolerates
        grad_clip=config.grad_clip,
        max_seconds=config.max_seconds,
        check_finite=True,
        validate_first=True,
        progress=config.progress,
    )
    run = finetune_loop(
        modules,
        opt,
        _shuffled_batches(n_train, config.batch_size, config.seed),
        loss_fn,
        settings,
        validate=lambda: Validation(val_fn()),
    )
    for m in modules:
        m.eval()
    assert run.initial_loss is not None and run.best_round is not None  # validate_first
    return FitResult(
        val_history=[run.initial_loss, *(r["val_loss"] for r in run.history)],
        train_history=[r["train_loss"] for r in run.history],
        best_epoch=run.best_round,
        steps=run.steps,
        seconds=run.seconds,
        stopped="epochs" if run.stopped == "steps" else run.stopped,
    )


def _shuffled_batches(n: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Index batches of a seeded permutation of ``range(n)``, reshuffled when too few indices are left
    for a full batch (the rest are dropped; with ``n < batch_size`` every batch is all of them)."""
    gen = torch.Generator().manual_seed(seed)
    order, cursor = torch.randperm(n, generator=gen), 0
    while True:
        if cursor + batch_size > n and cursor > 0:
            order, cursor = torch.randperm(n, generator=gen), 0
        yield order[cursor : cursor + batch_size]
        cursor += batch_size


@torch.no_grad()
def evaluate_loss(adapter: ForecastAdapter, windows: Windows, batch_size: int = 128) -> float:
    """Mean per-window training loss of ``adapter`` on ``windows`` (eval mode)."""
    was = adapter.model.training
    adapter.model.eval()
    try:
        total, n = 0.0, 0
        for x, y in windows.batches(batch_size):
            total += float(adapter.per_sample_loss(x, y).sum())
            n += x.shape[0]
    finally:
        adapter.model.train(was)
    return total / max(1, n)


@torch.no_grad()
def evaluate_mse(adapter: ForecastAdapter, windows: Windows, horizon: int, batch_size: int = 256) -> float:
    """MSE of :meth:`ForecastAdapter.predict` over the first ``horizon`` future points."""
    pred = adapter.predict_batched(windows.x, horizon, batch_size)
    return float(((pred - windows.y[:, :horizon]) ** 2).mean())


def finetune(
    adapter: ForecastAdapter, train: Windows, val: Windows, config: FitConfig | None = None
) -> FitResult:
    """Full-parameter fine-tuning of ``adapter.model`` on its own loss, early-stopped on val loss."""
    config = config or FitConfig()
    model = adapter.model
    for p in model.parameters():
        p.requires_grad_(True)

    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        return adapter.per_sample_loss(train.x[idx], train.y[idx]).mean()

    return fit([model], loss_fn, len(train), lambda: evaluate_loss(adapter, val), config)

"""One training loop for fine-tuning (pruned or full models) and distillation.

Adam on the given parameters, epochs over shuffled windows (or a fixed number of steps per epoch),
gradient clipping, validation after every epoch, early stopping with ``patience`` and a return to
the best weights. Validation uses the val split only; test windows never enter.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tinyts.compress.adapters import ForecastAdapter
from tinyts.compress.data import Windows

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

    ``loss_fn`` gets a long tensor of training-window indices and returns a scalar loss.
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
    result = FitResult()
    best = val_fn()
    result.val_history.append(best)
    snapshot = [copy.deepcopy(m.state_dict()) for m in modules]
    steps_per_epoch = config.steps_per_epoch or math.ceil(n_train / config.batch_size)
    gen = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(n_train, generator=gen)
    cursor, bad, start = 0, 0, time.perf_counter()
    bar = _progress(config.epochs * steps_per_epoch, config.progress)
    try:
        for epoch in range(1, config.epochs + 1):
            for m in modules:
                m.train()
            losses = []
            for _ in range(steps_per_epoch):
                if cursor + config.batch_size > n_train and cursor > 0:
                    order, cursor = torch.randperm(n_train, generator=gen), 0
                idx = order[cursor : cursor + config.batch_size]
                cursor += config.batch_size
                loss = loss_fn(idx)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite training loss at step {result.steps}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                opt.step()
                losses.append(float(loss.detach()))
                result.steps += 1
                if bar is not None:
                    bar.update(1)
                if config.max_seconds and time.perf_counter() - start > config.max_seconds:
                    break
            for m in modules:
                m.eval()
            val = val_fn()
            result.val_history.append(val)
            result.train_history.append(sum(losses) / max(1, len(losses)))
            if val < best:
                best, bad, result.best_epoch = val, 0, epoch
                snapshot = [copy.deepcopy(m.state_dict()) for m in modules]
            else:
                bad += 1
            if config.max_seconds and time.perf_counter() - start > config.max_seconds:
                result.stopped = "time"
                break
            if bad > config.patience:
                result.stopped = "early"
                break
    finally:
        if bar is not None:
            bar.close()
    for m, state in zip(modules, snapshot, strict=True):
        m.load_state_dict(state)
        m.eval()
    result.seconds = time.perf_counter() - start
    return result


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="train", leave=False)


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

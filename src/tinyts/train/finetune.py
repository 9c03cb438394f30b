"""The fine-tuning loop shared by compression, classification and anomaly fine-tuning.

:func:`finetune_loop` runs a given optimiser for a number of steps on batches drawn from an iterator,
in rounds of ``eval_every`` steps. A step is: loss of the next batch (optionally checked to be finite),
backward, optional gradient-norm clipping, optimiser step, optional learning-rate schedule step. After
each round the modules are validated (eval mode) if a validation callable is given; the weights with
the lowest validation loss are kept in memory and restored at the end, and ``patience`` rounds in a
row without improvement stop the run. A time limit, a tqdm bar and a callback per round (e.g. for
progress lines) are optional.

The loop draws no random numbers itself: batch order, views and masks come from the caller's
iterator, seeded by the caller, so a seeded caller gets the same steps on every run.

Callers: :func:`tinyts.compress.finetune.fit` (pruned / distilled forecasters),
:func:`tinyts.train.finetune_classify.train` (TSLens) and
:func:`tinyts.train.finetune_anomaly.finetune_on_prefix` (TinyPulse on a series prefix). The
pre-training loop is :class:`tinyts.train.loop.Trainer`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

__all__ = ["LoopResult", "LoopSettings", "Validation", "finetune_loop"]

B = TypeVar("B")


@dataclass
class LoopSettings:
    """Settings of :func:`finetune_loop`.

    Attributes
    ----------
    steps : int
        Optimiser steps of the whole run (0 = none).
    eval_every : int
        Steps per round; a round ends with a record (and a validation, if any). 0 = one round.
        The last round may be shorter.
    patience : int or None
        Stop after this many validations in a row without improvement (None = never).
    min_delta : float
        A validation loss improves on the best one when it is lower by more than this.
    grad_clip : float
        Clip the gradient norm of the optimiser's parameters to this (0 = no clipping).
    max_seconds : float
        End the round, validate and stop once training has run this long (0 = no limit).
    check_finite : bool
        Raise :class:`FloatingPointError` on a non-finite training loss (before its backward pass).
    validate_first : bool
        Validate once before the first step, in the modules' current mode: those weights are the
        first candidate for the best ones (the run can end with them).
    progress : bool
        Show a tqdm bar over the steps.
    """

    steps: int
    eval_every: int = 0
    patience: int | None = None
    min_delta: float = 0.0
    grad_clip: float = 0.0
    max_seconds: float = 0.0
    check_finite: bool = False
    validate_first: bool = False
    progress: bool = False

    def __post_init__(self) -> None:
        if self.steps < 0 or self.eval_every < 0:
            raise ValueError(f"steps and eval_every must be >= 0, got {self.steps} and {self.eval_every}")
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"patience must be >= 0 or None, got {self.patience}")
        if self.grad_clip < 0 or self.max_seconds < 0 or self.min_delta < 0:
            raise ValueError("grad_clip, max_seconds and min_delta must be >= 0")


@dataclass
class Validation:
    """What a validation callable returns.

    Attributes
    ----------
    loss : float
        Lower is better; the weights with the lowest loss are the ones restored.
    metrics : dict
        Further values for the round's record (after ``val_loss``).
    improved : bool
        Other progress (e.g. a better accuracy) that resets the patience without a new best loss.
    """

    loss: float
    metrics: dict[str, float] = field(default_factory=dict)
    improved: bool = False


@dataclass
class LoopResult:
    """What :func:`finetune_loop` did.

    Attributes
    ----------
    history : list of dict
        One record per round: ``step``, ``train_loss`` (mean over the round's steps) and, with
        validation, ``val_loss`` and the validation's metrics.
    initial_loss : float or None
        The validation loss before training (``validate_first``).
    best_round, best_step : int or None
        Round and step of the restored weights (0 = the weights before training); None when no
        weights were restored (no validation, or none improved): the modules keep their last weights.
    steps : int
        Optimiser steps run.
    seconds : float
        Wall time from the first step to the end (restore included).
    stopped : str
        ``"steps"`` (all steps run), ``"early"`` (patience) or ``"time"`` (``max_seconds``).
    """

    history: list[dict[str, float]] = field(default_factory=list)
    initial_loss: float | None = None
    best_round: int | None = None
    best_step: int | None = None
    steps: int = 0
    seconds: float = 0.0
    stopped: str = "steps"


def finetune_loop(
    modules: Sequence[nn.Module],
    optimizer: torch.optim.Optimizer,
    batches: Iterator[B],
    loss_fn: Callable[[B], torch.Tensor],
    settings: LoopSettings,
    *,
    validate: Callable[[], Validation] | None = None,
    lr_factor: Callable[[int], float] | None = None,
    report: Callable[[dict[str, float]], None] | None = None,
) -> LoopResult:
    """Run ``settings.steps`` optimiser steps of ``loss_fn(next(batches))``.

    Parameters
    ----------
    modules : sequence of nn.Module
        Set to train mode at the start of each round and to eval mode before each validation; their
        state dicts are the weights kept and restored. Their mode at the end is left as it is.
    optimizer : torch.optim.Optimizer
        Over the trained parameters (gradient clipping covers all of its parameters).
    batches : iterator
        One batch per step (exactly ``steps`` are drawn, or fewer when the run stops early).
    loss_fn : callable
        ``loss_fn(batch) -> scalar loss``.
    settings : LoopSettings
    validate : callable, optional
        ``validate() -> Validation`` on held-out data, after each round (and before the first step
        with ``validate_first``). Without it nothing is restored and patience never stops the run.
    lr_factor : callable, optional
        ``lr_factor(step) -> factor`` of each group's initial learning rate
        (:class:`torch.optim.lr_scheduler.LambdaLR`, stepped after every optimiser step).
    report : callable, optional
        Called with each round's record (e.g. to print a progress line).

    Returns
    -------
    LoopResult
    """
    params = [p for group in optimizer.param_groups for p in group["params"]]
    result = LoopResult()
    best_loss, waited = float("inf"), 0
    snapshot: list[dict[str, Any]] | None = None
    if validate is not None and settings.validate_first:
        best_loss = result.initial_loss = validate().loss
        snapshot, result.best_round, result.best_step = _snapshot(modules), 0, 0
    scheduler = None if lr_factor is None else torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    start = time.perf_counter()

    def out_of_time() -> bool:
        return bool(settings.max_seconds) and time.perf_counter() - start > settings.max_seconds

    bar = _progress(settings.steps, settings.progress)
    try:
        rounds = 0
        while result.steps < settings.steps:
            rounds += 1
            end = settings.steps
            if settings.eval_every:
                end = min(end, result.steps + settings.eval_every)
            for m in modules:
                m.train()
            losses: list[float] = []
            while result.steps < end:
                loss = loss_fn(next(batches))
                if settings.check_finite and not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite training loss at step {result.steps}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if settings.grad_clip:
                    torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                losses.append(float(loss.detach()))
                result.steps += 1
                if bar is not None:
                    bar.update(1)
                if out_of_time():
                    break
            record = {"step": float(result.steps), "train_loss": sum(losses) / len(losses)}
            if validate is not None:
                for m in modules:
                    m.eval()
                val = validate()
                record["val_loss"] = val.loss
                record.update(val.metrics)
                if val.loss < best_loss - settings.min_delta:
                    best_loss, waited = val.loss, 0
                    snapshot, result.best_round, result.best_step = _snapshot(modules), rounds, result.steps
                else:
                    waited = 0 if val.improved else waited + 1
            result.history.append(record)
            if report is not None:
                report(record)
            if out_of_time():
                result.stopped = "time"
                break
            if validate is not None and settings.patience is not None and waited >= settings.patience:
                result.stopped = "early"
                break
    finally:
        if bar is not None:
            bar.close()
    if snapshot is not None:
        for m, state in zip(modules, snapshot, strict=True):
            m.load_state_dict(state)
    result.seconds = time.perf_counter() - start
    return result


def _snapshot(modules: Sequence[nn.Module]) -> list[dict[str, Any]]:
    return [copy.deepcopy(m.state_dict()) for m in modules]


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="train", leave=False)

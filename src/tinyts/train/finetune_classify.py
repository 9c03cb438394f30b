"""Fine-tuning of :class:`~tinyts.models.lens.PulseLens` on cached encoder tokens.

The lower encoder layers are frozen and channel-independent, so their output is computed once for a
few views of every case (the case itself and copies with whole patches hidden: masking as
augmentation) and cached in float16. An optimisation step then runs only the top encoder layers, the
decoder (with its channel mixers) and the head.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tinyts.data.masks import block_mask
from tinyts.models.lens import PulseLens
from tinyts.train.finetune import LoopSettings, Validation, finetune_loop

#: cases per forward pass when encoding and evaluating
INFER_BATCH = 64


@dataclass
class FitSettings:
    """Optimisation settings (see :class:`tinyts.tasks.classify.api.PulseClassifier` for each)."""

    encoder_layers: int = 2
    epochs: int = 30
    min_steps: int = 200
    max_steps: int = 800
    patience: int = 5
    eval_every: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr_ratio: float = 1.0
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    verbose: bool = False
    #: prefix of the progress lines (e.g. "search" / "refit")
    stage: str = "fit"

    def cut(self, model: PulseLens) -> int:
        """Encoder layers below the cache (frozen)."""
        return max(0, len(model.pulse.encoder) - self.encoder_layers)

    def total_steps(self, n_cases: int) -> int:
        per_epoch = math.ceil(n_cases / self.batch_size)
        return int(min(self.max_steps, max(self.min_steps, self.epochs * per_epoch)))


def encode_views(
    model: PulseLens,
    x: torch.Tensor,
    obs: torch.Tensor,
    views: int,
    cut: int,
    mask_ratio: float,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached tokens ``(views, n, C, P, d)`` (float16) and stats ``(views, n, 2C)``.

    View 0 is the case as given; views 1.. hide ``mask_ratio`` of the patches (the same patches in
    every channel, never a whole channel).
    """
    pc = model.pulse.config
    n, c = x.shape[:2]
    tokens = torch.empty(views, n, c, pc.num_tokens, pc.d_model, dtype=torch.float16)
    stats = torch.empty(views, n, 2 * c)
    with torch.no_grad():
        for v in range(views):
            ob = obs
            if v > 0 and mask_ratio > 0 and n:
                hide = torch.from_numpy(block_mask((n, x.shape[2]), mask_ratio, pc.patch_length, rng))
                ob = obs & ~hide[:, None, :]
                ob = torch.where(ob.any(dim=2, keepdim=True), ob, obs)
            for s in range(0, n, INFER_BATCH):
                t, st = model.encoder_tokens(x[s : s + INFER_BATCH], ob[s : s + INFER_BATCH], cut)
                tokens[v, s : s + INFER_BATCH] = t.half()
                stats[v, s : s + INFER_BATCH] = st
    return tokens, stats


def fit_standardisation(model: PulseLens, tokens: torch.Tensor, stats: torch.Tensor, cut: int) -> None:
    """Set the head's per-feature mean and scale from every cached training view.

    A feature's scale is its standard deviation, but at least the median one: features that barely
    vary (quiet FFT tokens) are not blown up to unit variance, which would give their noise the weight
    of the informative features.
    """
    model.eval()
    feats = []
    with torch.no_grad():
        for v in range(tokens.shape[0]):
            for s in range(0, tokens.shape[1], INFER_BATCH):
                t = tokens[v, s : s + INFER_BATCH].float()
                feats.append(model.head_inputs(t, stats[v, s : s + INFER_BATCH], cut))
    f = torch.cat(feats)
    sd = f.std(dim=0).nan_to_num(1.0) if len(f) > 1 else torch.ones(f.shape[1])
    model.feat_loc.copy_(f.mean(dim=0))
    model.feat_scale.copy_(sd.clamp_min(float(sd.median())).clamp_min(1e-4))


def evaluate(
    model: PulseLens, tokens: torch.Tensor, stats: torch.Tensor, codes: torch.Tensor, cut: int
) -> tuple[float, float]:
    """Cross-entropy and accuracy over every cached view of the validation cases."""
    model.eval()
    views, n = tokens.shape[:2]
    with torch.no_grad():
        logits = torch.cat(
            [
                model.head_logits(tokens[v, s : s + INFER_BATCH].float(), stats[v, s : s + INFER_BATCH], cut)
                for v in range(views)
                for s in range(0, n, INFER_BATCH)
            ]
        )
    target = codes.repeat(views)
    loss = float(F.cross_entropy(logits, target))
    return loss, float((logits.argmax(dim=1) == target).float().mean())


def say(line: str) -> None:
    """Print a progress line on stderr (results stay alone on stdout)."""
    print(line, file=sys.stderr, flush=True)


def predict_codes(model: PulseLens, tokens: torch.Tensor, stats: torch.Tensor, cut: int) -> np.ndarray:
    """The predicted class index of every cached case (one view: ``tokens`` ``(n, C, P, d)``)."""
    model.eval()
    with torch.no_grad():
        logits = [
            model.head_logits(tokens[s : s + INFER_BATCH].float(), stats[s : s + INFER_BATCH], cut)
            for s in range(0, len(tokens), INFER_BATCH)
        ]
    return torch.cat(logits).argmax(dim=1).numpy()


def progress_line(
    stage: str, step: int, steps: int, steps_per_epoch: float, record: dict[str, float], start: float
) -> str:
    """One progress line: stage, step, epoch, losses, validation accuracy and the time left (at most).

    The time left assumes the run goes to its last step; early stopping ends it sooner.
    """
    elapsed = time.perf_counter() - start
    left = elapsed / max(step, 1) * (steps - step)
    parts = [f"[{stage}] step {step}/{steps}", f"epoch {step / max(steps_per_epoch, 1e-9):.1f}"]
    parts.append(f"train loss {record['train_loss']:.4f}")
    if "val_loss" in record:
        parts.append(f"val loss {record['val_loss']:.4f}")
        parts.append(f"val accuracy {record['val_accuracy']:.3f}")
    parts.append(f"{elapsed:.0f} s elapsed, <= {left:.0f} s left")
    return ", ".join(parts)


def train(
    model: PulseLens,
    tokens: torch.Tensor,
    stats: torch.Tensor,
    codes: torch.Tensor,
    settings: FitSettings,
    rng: np.random.Generator,
    val: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    stop_at: int | None = None,
) -> tuple[list[dict[str, float]], int]:
    """Optimise the top encoder layers, decoder and head on cached tokens.

    The steps run in the shared fine-tuning loop, :func:`tinyts.train.finetune.finetune_loop` (AdamW,
    warm-up then cosine schedule, no gradient clipping).

    Parameters
    ----------
    model : PulseLens
        Updated in place.
    tokens, stats, codes : torch.Tensor
        The cache of :func:`encode_views` and the class index of every case.
    settings : FitSettings
    rng : numpy Generator
        Batch order and view choice.
    val : (tokens, stats, codes), optional
        Validation cache: evaluated every ``max(1 epoch, eval_every)`` steps; the state with the lowest
        validation loss is restored at the end and training stops after ``patience`` evaluations
        without improvement.
    stop_at : int, optional
        Stop after this many steps (the learning-rate schedule still spans the full run).

    Returns
    -------
    history : list of dict
        One record per evaluation (``step``, ``train_loss`` and, with ``val``, ``val_loss``,
        ``val_accuracy``).
    best_step : int
        The step of the kept state (the last step without ``val``).
    """
    backbone, head = model.trainable_parameters(settings.encoder_layers)
    cut = settings.cut(model)
    for p in model.parameters():
        p.requires_grad_(False)
    groups: list[dict[str, Any]] = [{"params": head, "lr": settings.lr}]
    if settings.backbone_lr_ratio > 0:
        groups.append({"params": backbone, "lr": settings.lr * settings.backbone_lr_ratio})
    for g in groups:
        for p in g["params"]:
            p.requires_grad_(True)
    opt = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    views, n = tokens.shape[:2]
    total = settings.total_steps(n)
    steps = total if stop_at is None else max(1, min(stop_at, total))
    eval_every = max(math.ceil(n / settings.batch_size), settings.eval_every)
    warmup = max(1, total // 20)

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = np.empty(0, dtype=np.int64)
        while True:
            if len(order) < settings.batch_size:
                order = np.concatenate([order, rng.permutation(n)])
            idx, order = order[: settings.batch_size], order[settings.batch_size :]
            yield idx, rng.integers(0, views, len(idx))

    def loss_fn(batch: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
        idx, v = batch
        logits = model.head_logits(tokens[v, idx].float(), stats[v, idx], cut)
        return F.cross_entropy(logits, codes[idx], label_smoothing=settings.label_smoothing)

    best_acc = -math.inf

    def validate() -> Validation:
        nonlocal best_acc
        assert val is not None
        vloss, vacc = evaluate(model, *val[:2], val[2], cut)
        improved = vacc > best_acc + 1e-9  # a better accuracy also resets the patience
        best_acc = max(best_acc, vacc)
        return Validation(vloss, {"val_accuracy": vacc}, improved=improved)

    start = time.perf_counter()

    def report(record: dict[str, float]) -> None:
        say(progress_line(settings.stage, int(record["step"]), steps, n / settings.batch_size, record, start))

    run = finetune_loop(
        [model],
        opt,
        batches(),
        loss_fn,
        LoopSettings(steps=steps, eval_every=eval_every, patience=settings.patience, min_delta=1e-4),
        validate=None if val is None else validate,
        lr_factor=lr_factor,
        report=report if settings.verbose else None,
    )
    for p in model.parameters():
        p.requires_grad_(False)
    # no best state kept (no validation, or no validation loss below inf): the run's length
    return run.history, steps if run.best_step is None else run.best_step

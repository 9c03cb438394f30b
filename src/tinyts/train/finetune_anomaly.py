"""Fine-tuning for anomaly scoring: adapt TinyPulse to one series on its anomaly-free (labelled) train prefix.

The pre-trained model is copied and trained for a few steps (the shared loop,
:func:`tinyts.train.finetune.finetune_loop`) with the pre-training objective's masked reconstruction
loss on random windows of the prefix (standardised with the whole-series statistics, as scoring does),
with the same patch masks scoring uses: whole patches at the end of the window. The original model is
not modified. :func:`tinyts.tasks.pulse.anomaly.finetuned_anomaly_scores` then scores the whole series
with the copy.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from tinyts.models.pulse import TinyPulse
from tinyts.train.finetune import LoopSettings, finetune_loop


def finetune_on_prefix(
    model: TinyPulse,
    x: Any,
    train_end: int,
    *,
    steps: int = 60,
    batch_size: int = 32,
    lr: float = 1e-4,
    seed: int = 0,
) -> TinyPulse:
    """A copy of ``model`` fine-tuned on windows of ``x[..., :train_end]``.

    Parameters
    ----------
    model : TinyPulse
        Pre-trained model (left unchanged).
    x : array-like
        ``(time,)`` or ``(channels, time)``; every channel contributes windows.
    train_end : int
        Length of the anomaly-free prefix; it must hold at least one context window (512 points).
    steps, batch_size, lr, seed
        Optimisation settings (AdamW).
    """
    arr = np.atleast_2d(np.asarray(x, dtype=np.float64))
    length, patch = model.config.context_length, model.config.patch_length
    if not 0 < train_end <= arr.shape[-1]:
        raise ValueError(f"train_end must be in [1, {arr.shape[-1]}], got {train_end}")
    if train_end < length:
        raise ValueError(
            f"the train prefix ({train_end} points) is shorter than the context ({length}); "
            "use the zero-shot anomaly_scores instead"
        )
    if not np.isfinite(arr[:, :train_end]).all():
        raise ValueError("the train prefix has NaN or inf values; fine-tuning needs a complete prefix")
    mean = arr.mean(axis=1, keepdims=True)
    std = arr.std(axis=1, keepdims=True)
    z = (arr - mean) / np.where(std > 0, std, 1.0)
    prefix = z[:, :train_end].astype(np.float32)
    rng = np.random.default_rng(seed)
    tuned = copy.deepcopy(model).train()
    opt = torch.optim.AdamW(tuned.parameters(), lr=lr, weight_decay=0.0)
    n_ch, n_start = prefix.shape[0], train_end - length + 1

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            ch = rng.integers(0, n_ch, batch_size)
            st = rng.integers(0, n_start, batch_size)
            w = np.stack([prefix[c, s : s + length] for c, s in zip(ch, st, strict=True)])
            hidden = np.zeros_like(w, dtype=bool)
            k = rng.integers(1, 13, batch_size) * patch  # 1..12 whole patches at the end, as scoring hides
            hidden[np.arange(length)[None, :] >= length - k[:, None]] = True
            yield torch.from_numpy(w[:, None, :]), torch.from_numpy(hidden[:, None, :])

    def loss_fn(batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        xt, ht = batch
        out = tuned(xt, ~ht)
        pred = tuned.denormalize(out["recon"], out)
        pred_f = tuned.denormalize(out["recon_fft"], out)
        hid = ht.to(xt.dtype)
        return (((pred - xt) ** 2 + (pred_f - xt) ** 2) * hid).sum() / hid.sum().clamp_min(1.0)

    # a negative step count runs no step, as ``range(steps)`` did
    finetune_loop([tuned], opt, batches(), loss_fn, LoopSettings(steps=max(0, steps), grad_clip=1.0))
    return tuned.eval()

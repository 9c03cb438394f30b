"""Training: the pre-training loop (:class:`Trainer`: resumable, DDP-aware) and the fine-tuning loop
(:func:`finetune_loop`: validation, early stopping, best weights) used by compression, classification and
anomaly fine-tuning."""

from __future__ import annotations

from tinyts.train.finetune import LoopResult, LoopSettings, Validation, finetune_loop
from tinyts.train.loop import TrainConfig, Trainer

__all__ = ["LoopResult", "LoopSettings", "TrainConfig", "Trainer", "Validation", "finetune_loop"]

"""One training loop (resumable, DDP-aware) used by pre-training, fine-tuning and distillation."""

from __future__ import annotations

from tinyts.train.loop import TrainConfig, Trainer

__all__ = ["TrainConfig", "Trainer"]

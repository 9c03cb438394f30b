"""The linear / MLP forecaster used as a distillation student (``model_type`` ``"tinylinear"``).

:class:`LinearStudent`: instance normalisation of the context (mean and standard deviation, undone at
the output), a linear map ``context -> horizon`` and, with ``hidden > 0``, a GELU MLP branch added to
it; ``linear=False`` keeps the MLP branch alone (a low-rank forecaster: ``hidden x (context + horizon)``
weights instead of ``context x horizon``). Its token for the alignment loss is the MLP's hidden layer
(one token per series); the pure linear student has none (alignment off).

The small direct-output TinyCast student (:func:`tinyts.compress.students.cast_student`) and the
adapters live in :mod:`tinyts.compress`. Students save and load as tinyts checkpoints
(``save_pretrained`` / :func:`tinyts.compress.load_compressed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tinyts.models.base import TinyModel, register_model

__all__ = ["LinearConfig", "LinearStudent"]


@dataclass
class LinearConfig:
    """Sizes of :class:`LinearStudent`."""

    context_length: int = 512
    horizon: int = 96
    #: width of the MLP branch (0 = a purely linear forecaster)
    hidden: int = 64
    dropout: float = 0.0
    min_std: float = 1e-5
    #: keep the linear map ``context -> horizon`` (False: the MLP branch alone, needs ``hidden > 0``)
    linear: bool = True

    def __post_init__(self) -> None:
        if self.context_length < 1 or self.horizon < 1 or self.hidden < 0:
            raise ValueError("context_length and horizon must be >= 1 and hidden >= 0")
        if not self.linear and self.hidden == 0:
            raise ValueError("linear=False needs an MLP branch: set hidden >= 1")


@register_model("tinylinear")
class LinearStudent(TinyModel):
    """Instance-normalised linear (+ MLP) forecaster of univariate windows."""

    config_class = LinearConfig
    config: LinearConfig

    def __init__(self, config: LinearConfig) -> None:
        super().__init__(config)
        c = config
        self.linear = nn.Linear(c.context_length, c.horizon) if c.linear else None
        self.up = nn.Linear(c.context_length, c.hidden) if c.hidden else None
        self.down = nn.Linear(c.hidden, c.horizon) if c.hidden else None
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (B, context)`` raw values -> forecast ``(B, horizon)`` and hidden token ``(B, 1, hidden)``."""
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True, unbiased=False).clamp_min(self.config.min_std)
        z = (x - mean) / std
        y = self.linear(z) if self.linear is not None else None
        token = None
        if self.up is not None and self.down is not None:
            hidden = F.gelu(self.up(z))
            token = hidden[:, None, :]
            branch = self.down(self.drop(hidden))
            y = branch if y is None else y + branch
        assert y is not None  # LinearConfig guarantees a linear map or an MLP branch
        return y * std + mean, token

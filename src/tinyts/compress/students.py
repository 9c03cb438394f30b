"""Distillation students: a tiny linear / MLP forecaster and a small direct-output TinyCast.

- :class:`LinearStudent` (``model_type`` ``"tinylinear"``): instance normalisation of the context
  (mean and standard deviation, undone at the output), a linear map ``context -> horizon`` and, with
  ``hidden > 0``, a GELU MLP branch added to it; ``linear=False`` keeps the MLP branch alone (a
  low-rank forecaster: ``hidden x (context + horizon)`` weights instead of ``context x horizon``). Its
  token for the alignment loss is the MLP's hidden layer (one token per series); the pure linear
  student has none (alignment off).
- :func:`cast_student`: a TinyCast config with one quantile (the median) and a coarse head of block 1
  that reaches the horizon, i.e. a direct multi-step point forecaster whose tokens are its patch
  states (time-resolved).

Both save and load as tinyts checkpoints (``save_pretrained`` / :func:`tinyts.compress.load_compressed`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from tinyts.compress.adapters import ForecastAdapter, check_windows
from tinyts.models.base import TinyModel, register_model
from tinyts.models.cast import CastConfig, TinyCast

__all__ = ["LinearAdapter", "LinearConfig", "LinearStudent", "cast_student"]


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


class LinearAdapter(ForecastAdapter):
    """Adapter of :class:`LinearStudent` (loss: MSE over its horizon)."""

    name = "tinylinear"
    model: LinearStudent

    @property
    def context_length(self) -> int:
        return int(self.model.config.context_length)

    def check_horizon(self, horizon: int) -> None:
        super().check_horizon(horizon)
        if horizon > self.model.config.horizon:
            raise ValueError(
                f"mismatched horizons: the student forecasts {self.model.config.horizon} steps, "
                f"{horizon} requested"
            )

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_windows(x, y, self.context_length)
        h = self.model.config.horizon
        if y.shape[1] < h:
            raise ValueError(
                f"mismatched horizons: windows hold {y.shape[1]} future points, the student forecasts {h}"
            )
        return ((self.model(x)[0] - y[:, :h]) ** 2).mean(1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        self.check_horizon(horizon)
        check_windows(x, None, self.context_length)
        return self.model(x)[0][:, :horizon]

    def forecast_train(self, x: torch.Tensor, horizon: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.check_horizon(horizon)
        check_windows(x, None, self.context_length)
        pred, token = self.model(x)
        return pred[:, :horizon], token

    def save(self, path: str | os.PathLike[str]) -> Path:
        return self.model.save_pretrained(path)


def cast_student(
    context_length: int,
    horizon: int,
    *,
    d_model: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    patch_length: int = 16,
    mlp_ratio: float = 2.0,
) -> TinyCast:
    """A small TinyCast that forecasts ``horizon`` steps directly (median only, coarse block 1).

    ``feature_every=0``: no cross-variate blocks (students see univariate windows).
    """
    cfg = CastConfig(
        context_length=context_length,
        patch_length=patch_length,
        d_model=d_model,
        num_layers=num_layers,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        feature_every=0,
        quantiles=(0.5,),
        coarse_block=1,
        coarse_horizon=horizon,
    )
    return TinyCast(cfg)

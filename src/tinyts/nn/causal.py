"""Transformer blocks of TinyCast: causal attention along time (RoPE) and attention across variates.

Both blocks are pre-norm residual blocks ``h + attn(norm(h))``, ``h + mlp(norm(h))`` and use
:func:`torch.nn.functional.scaled_dot_product_attention`.

- :class:`TimeBlock` attends along the patch axis with a causal mask and rotary position embeddings
  (relative positions, so left padding does not shift anything). Keys of patches without any
  observed point are masked out (a query always sees itself), which makes outputs independent of
  how much unobserved padding precedes a series.
- :class:`VariateBlock` attends across the channels of one series at a fixed patch index, without
  positions (channels are an unordered set). It never mixes patch indices, so it cannot leak the
  future along time. With one channel the softmax over one key is 1 and the attention reduces to the
  value and output projections, which inference computes directly (training keeps the full path so
  that every parameter is in the graph, as DDP requires).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Rotary(nn.Module):
    """Rotary position embedding over the last-but-one axis of ``(..., seq, head_dim)`` tensors."""

    inv_freq: torch.Tensor

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary embeddings need an even head dimension, got {head_dim}")
        inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv, persistent=False)
        self._cache: tuple[int, torch.device, torch.dtype, torch.Tensor, torch.Tensor] | None = None

    def _cos_sin(self, n: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        c = self._cache
        if c is not None and c[0] >= n and c[1] == device and c[2] == dtype:
            return c[3][:n], c[4][:n]
        inv = self.inv_freq.to(device)
        ang = torch.arange(n, device=device, dtype=torch.float32)[:, None] * inv[None, :]
        cos, sin = ang.cos().to(dtype), ang.sin().to(dtype)
        self._cache = (n, device, dtype, cos, sin)
        return cos, sin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cos, sin = self._cos_sin(x.shape[-2], x.device, x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
        return out.flatten(-2)


class MLP(nn.Module):
    """Two-layer GELU MLP."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.up = nn.Linear(d_model, hidden)
        self.down = nn.Linear(hidden, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.drop(self.down(F.gelu(self.up(h))))


class _Block(nn.Module):
    def __init__(self, d_model: int, num_heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of num_heads ({num_heads})")
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, round(mlp_ratio * d_model), dropout)
        self.drop = nn.Dropout(dropout)
        self.dropout = dropout

    def _heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, n, d = h.shape
        q, k, v = self.qkv(h).view(s, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        return q, k, v

    def _merge(self, a: torch.Tensor) -> torch.Tensor:
        s, _, n, _ = a.shape
        return self.out(a.transpose(1, 2).reshape(s, n, -1))


class TimeBlock(_Block):
    """Causal self-attention along patches (RoPE) + MLP, on ``(sequences, patches, d_model)``."""

    def __init__(
        self, d_model: int, num_heads: int, mlp_ratio: float, dropout: float, rope_base: float
    ) -> None:
        super().__init__(d_model, num_heads, mlp_ratio, dropout)
        self.rope = Rotary(d_model // num_heads, rope_base)

    def forward(self, h: torch.Tensor, key_ok: torch.Tensor | None = None) -> torch.Tensor:
        """``key_ok``: ``(sequences, patches)`` bool, False for patches to hide as keys (None = all)."""
        q, k, v = self._heads(self.norm1(h))
        q, k = self.rope(q), self.rope(k)
        p = self.dropout if self.training else 0.0
        if key_ok is None:
            a = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            n = h.shape[1]
            tri = torch.ones(n, n, dtype=torch.bool, device=h.device).tril()
            eye = torch.eye(n, dtype=torch.bool, device=h.device)
            mask = tri & (key_ok[:, None, None, :] | eye)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        h = h + self.drop(self._merge(a))
        return h + self.mlp(self.norm2(h))


class VariateBlock(_Block):
    """Self-attention across channels at one patch index + MLP, on ``(series*patches, channels, d)``."""

    def forward(self, h: torch.Tensor, key_ok: torch.Tensor | None = None) -> torch.Tensor:
        """``key_ok``: ``(series*patches, channels)`` bool, False for channels without data yet."""
        x = self.norm1(h)
        if h.shape[1] == 1 and not self.training:  # softmax over one key is 1: attention = out(v(x))
            d = h.shape[-1]
            a = self.out(F.linear(x, self.qkv.weight[2 * d :], self.qkv.bias[2 * d :]))
        else:
            q, k, v = self._heads(x)
            mask = None
            if key_ok is not None:
                eye = torch.eye(h.shape[1], dtype=torch.bool, device=h.device)
                mask = key_ok[:, None, None, :] | eye
            p = self.dropout if self.training else 0.0
            a = self._merge(F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p))
        h = h + self.drop(a)
        return h + self.mlp(self.norm2(h))

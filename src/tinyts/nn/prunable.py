"""TinyCast blocks whose attention can have fewer heads and narrower heads than the config says.

The blocks of :mod:`tinyts.nn.causal` split the fused ``qkv`` projection into ``num_heads`` heads of
``d_model / num_heads`` dimensions. After pruning, a block keeps ``heads`` heads whose query/key part
is ``qk_width`` wide and whose value part is ``v_width`` wide (heads that keep fewer dimensions are
padded with zero rows, which contribute nothing). Three things must survive the removal exactly:

- the softmax scale stays ``1 / sqrt(original head dim)`` (it is passed explicitly);
- rotary embeddings rotate each kept query/key pair with its original frequency (``rope_index``:
  the original pair of every slot; pairs are the units of query/key pruning in time blocks);
- the one-channel shortcut of :class:`~tinyts.nn.causal.VariateBlock` (``out(v(x))`` at inference)
  goes through the same (gated or sliced) ``qkv`` layer as the full path.

:func:`make_prunable` switches a block to these classes in place (the parameters and state-dict keys
stay the same); with the full layout the outputs equal the original block's.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from tinyts.nn.causal import TimeBlock, VariateBlock
from tinyts.nn.gates import GatedLinear
from tinyts.nn.sliced import SlicedLinear

__all__ = ["PrunableTimeBlock", "PrunableVariateBlock", "make_prunable"]


class _Layout:
    """Attention layout attributes shared by both block kinds (mixed into the block classes)."""

    heads: int
    qk_width: int
    v_width: int
    attn_scale: float

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, n, _ = x.shape
        hq = self.heads * self.qk_width
        y = cast(Any, self).qkv(x)
        q = y[..., :hq].reshape(s, n, self.heads, self.qk_width).transpose(1, 2)
        k = y[..., hq : 2 * hq].reshape(s, n, self.heads, self.qk_width).transpose(1, 2)
        v = y[..., 2 * hq :].reshape(s, n, self.heads, self.v_width).transpose(1, 2)
        return q, k, v

    def _values(self, x: torch.Tensor) -> torch.Tensor:
        """The value part of ``qkv(x)`` alone, ``(..., heads * v_width)``."""
        start = 2 * self.heads * self.qk_width
        qkv = cast(Any, self).qkv
        if isinstance(qkv, GatedLinear):
            return qkv(x)[..., start:]
        if isinstance(qkv, SlicedLinear):
            if qkv.in_index is not None:
                x = x.index_select(-1, qkv.in_index)
            bias = None if qkv.bias is None else qkv.bias[start:]
            return F.linear(x, qkv.weight[start:], bias)
        if isinstance(qkv, nn.Linear):
            bias = None if qkv.bias is None else qkv.bias[start:]
            return F.linear(x, qkv.weight[start:], bias)
        return qkv(x)[..., start:]

    def _merge_heads(self, a: torch.Tensor) -> torch.Tensor:
        s, _, n, _ = a.shape
        out: torch.Tensor = cast(Any, self).out(a.transpose(1, 2).reshape(s, n, -1))
        return out


class PrunableTimeBlock(_Layout, TimeBlock):
    """:class:`~tinyts.nn.causal.TimeBlock` with a prunable attention layout."""

    rope_index: torch.Tensor | None

    def _rotate(self, t: torch.Tensor) -> torch.Tensor:
        n = t.shape[-2]
        inv = self.rope.inv_freq.to(t.device)
        if self.rope_index is None:
            freqs = inv[None, :].expand(self.heads, -1)
        else:
            freqs = inv[self.rope_index.to(t.device)]
        pos = torch.arange(n, device=t.device, dtype=torch.float32)
        ang = pos[None, :, None] * freqs[:, None, :]  # (heads, n, width/2)
        cos, sin = ang.cos().to(t.dtype), ang.sin().to(t.dtype)
        x1, x2 = t[..., 0::2], t[..., 1::2]
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)

    def forward(self, h: torch.Tensor, key_ok: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self._split(self.norm1(h))
        q, k = self._rotate(q), self._rotate(k)
        p = self.dropout if self.training else 0.0
        if key_ok is None:
            a = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True, scale=self.attn_scale)
        else:
            n = h.shape[1]
            tri = torch.ones(n, n, dtype=torch.bool, device=h.device).tril()
            eye = torch.eye(n, dtype=torch.bool, device=h.device)
            mask = tri & (key_ok[:, None, None, :] | eye)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=self.attn_scale)
        h = h + self.drop(self._merge_heads(a))
        return h + self.mlp(self.norm2(h))


class PrunableVariateBlock(_Layout, VariateBlock):
    """:class:`~tinyts.nn.causal.VariateBlock` with a prunable attention layout."""

    def forward(self, h: torch.Tensor, key_ok: torch.Tensor | None = None) -> torch.Tensor:
        x = self.norm1(h)
        if h.shape[1] == 1 and not self.training:  # softmax over one key is 1: attention = out(v(x))
            a = self.out(self._values(x))
        else:
            q, k, v = self._split(x)
            mask = None
            if key_ok is not None:
                eye = torch.eye(h.shape[1], dtype=torch.bool, device=h.device)
                mask = key_ok[:, None, None, :] | eye
            p = self.dropout if self.training else 0.0
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=self.attn_scale)
            a = self._merge_heads(att)
        h = h + self.drop(a)
        return h + self.mlp(self.norm2(h))


def make_prunable(
    block: nn.Module,
    d_model: int,
    heads: int | None = None,
    qk_width: int | None = None,
    v_width: int | None = None,
) -> nn.Module:
    """Switch a TinyCast block to its prunable class in place (full layout unless sizes are given).

    A time block with ``qk_width`` below the original head dimension gets a ``rope_index`` buffer
    (zeros until the state dict or the surgery fills it).
    """
    cls: type[Any]
    if isinstance(block, (PrunableTimeBlock, PrunableVariateBlock)):
        cls = type(block)
    elif isinstance(block, TimeBlock):
        cls = PrunableTimeBlock
    elif isinstance(block, VariateBlock):
        cls = PrunableVariateBlock
    else:
        raise TypeError(f"not a TinyCast block: {type(block).__name__}")
    n_heads = int(getattr(block, "num_heads"))  # noqa: B009 - the original head count
    head_dim = d_model // n_heads
    b: Any = block
    b.__class__ = cls
    b.heads = heads if heads is not None else n_heads
    b.qk_width = qk_width if qk_width is not None else head_dim
    b.v_width = v_width if v_width is not None else head_dim
    b.attn_scale = 1.0 / math.sqrt(head_dim)
    if cls is PrunableTimeBlock:
        idx = None
        if heads is not None or qk_width is not None:
            idx = torch.zeros(int(b.heads), int(b.qk_width) // 2, dtype=torch.long)
        b.register_buffer("rope_index", idx)
    return block

"""Shared arithmetic of attention surgery: which heads and head dimensions survive, and padding."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["HeadPlan", "plan_heads"]


@dataclass
class HeadPlan:
    """The kept heads of one attention layer and, per kept head, its kept query/key and value units.

    ``qk[i]`` and ``v[i]`` are the kept unit indices (inside the head) of the ``i``-th kept head;
    ``qk_slots`` / ``v_slots`` are the common widths (in units) after padding to the widest head.
    """

    heads: list[int]
    qk: list[list[int]]
    v: list[list[int]]
    qk_slots: int
    v_slots: int

    def qk_index(self, units_per_head: int, dims_per_unit: int, offset: int = 0) -> torch.Tensor:
        """Original channels of every query (or key, with ``offset``) slot; ``-1`` = padding."""
        rows: list[int] = []
        head_dim = units_per_head * dims_per_unit
        for h, kept in zip(self.heads, self.qk, strict=True):
            for j in range(self.qk_slots):
                if j < len(kept):
                    base = offset + h * head_dim + kept[j] * dims_per_unit
                    rows.extend(range(base, base + dims_per_unit))
                else:
                    rows.extend([-1] * dims_per_unit)
        return torch.tensor(rows, dtype=torch.long)

    def v_index(self, head_dim: int, offset: int = 0) -> torch.Tensor:
        """Original channels of every value slot (also the output layer's columns); ``-1`` = padding."""
        rows: list[int] = []
        for h, kept in zip(self.heads, self.v, strict=True):
            for j in range(self.v_slots):
                rows.append(offset + h * head_dim + kept[j] if j < len(kept) else -1)
        return torch.tensor(rows, dtype=torch.long)

    def rope_index(self) -> torch.Tensor:
        """``(heads, qk_slots)``: the original rotary pair of every query/key slot (0 for padding)."""
        out = torch.zeros(len(self.heads), self.qk_slots, dtype=torch.long)
        for i, kept in enumerate(self.qk):
            if kept:
                out[i, : len(kept)] = torch.tensor(kept, dtype=torch.long)
        return out


def plan_heads(
    heads: torch.Tensor, qk: torch.Tensor, v: torch.Tensor, *, shared_width: bool = False
) -> HeadPlan:
    """Kept heads and their kept units.

    Parameters
    ----------
    heads : torch.Tensor
        Bool ``(H,)``: kept heads (at least one).
    qk, v : torch.Tensor
        Bool ``(H, units)``: kept query/key units and value dimensions per head.
    shared_width : bool
        Query/key and value share one width (Hugging Face attention reshapes all three with one
        head dimension); the common width is then in dimensions, so ``qk`` units must be single
        dimensions.

    Returns
    -------
    HeadPlan
        Widths are at least 1 unit, so a layer keeps a valid shape even if a kept head lost every
        dimension (its zero slots then add nothing).
    """
    kept_heads = torch.nonzero(heads).flatten().tolist()
    if not kept_heads:
        raise ValueError("an attention layer must keep at least one head")
    qk_lists = [torch.nonzero(qk[h]).flatten().tolist() for h in kept_heads]
    v_lists = [torch.nonzero(v[h]).flatten().tolist() for h in kept_heads]
    qk_slots = max(1, *(len(u) for u in qk_lists))
    v_slots = max(1, *(len(u) for u in v_lists))
    if shared_width:
        qk_slots = v_slots = max(qk_slots, v_slots)
    return HeadPlan(kept_heads, qk_lists, v_lists, qk_slots, v_slots)

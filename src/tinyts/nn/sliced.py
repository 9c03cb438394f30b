"""Physically smaller linear layers: the building block of surgery.

Removing units changes a linear layer in one of four ways, per side:

- coupled side (hidden units, heads, head dimensions): the removed rows (outputs) or columns (inputs)
  disappear, and the producer / consumer on the other side of the coupling shrinks with them; a
  padding position (index -1) becomes a zero row or column, used where heads must share one width;
- residual side (a channel of the model's stream read or written by this layer only): the layer reads
  only the kept input channels (``index_select``) or writes only the kept output channels (the others
  are exact zeros, ``index_copy`` into a zero tensor of the full width).

Both are exact: a channel whose input gate is 0 never reaches the product, and an output channel whose
gate is 0 is 0 including its bias.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SlicedLinear", "make_linear", "select_padded"]


class SlicedLinear(nn.Module):
    """``y = scatter(gather(x, in_index) W^T + b, out_index)``.

    Parameters
    ----------
    in_features, out_features : int
        Width of the full input / output (what the surrounding model sees).
    weight : torch.Tensor
        ``(n_out_kept, n_in_kept)``.
    bias : torch.Tensor or None
        ``(n_out_kept,)``.
    in_index, out_index : torch.Tensor or None
        Kept input / output channels (long, ascending); None = all of them, no gather / scatter.
    """

    in_index: torch.Tensor | None
    out_index: torch.Tensor | None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        in_index: torch.Tensor | None = None,
        out_index: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())
        self.register_buffer("in_index", None if in_index is None else in_index.long().clone())
        self.register_buffer("out_index", None if out_index is None else out_index.long().clone())

    @classmethod
    def empty(
        cls,
        in_features: int,
        out_features: int,
        n_in: int,
        n_out: int,
        bias: bool,
        gather: bool,
        scatter: bool,
    ) -> SlicedLinear:
        """A layer of the given shapes with placeholder values (filled by ``load_state_dict``)."""
        return cls(
            in_features,
            out_features,
            torch.zeros(n_out, n_in),
            torch.zeros(n_out) if bias else None,
            torch.arange(n_in) if gather else None,
            torch.arange(n_out) if scatter else None,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_index is not None:
            x = x.index_select(-1, self.in_index)
        y = F.linear(x, self.weight, self.bias)
        if self.out_index is not None:
            full = y.new_zeros(*y.shape[:-1], self.out_features)
            y = full.index_copy(-1, self.out_index, y)
        return y

    def shape_record(self) -> dict[str, int | bool]:
        """What :meth:`empty` needs to rebuild this layer (stored in a pruned model's config)."""
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "n_in": int(self.weight.shape[1]),
            "n_out": int(self.weight.shape[0]),
            "bias": self.bias is not None,
            "gather": self.in_index is not None,
            "scatter": self.out_index is not None,
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"kept={tuple(self.weight.shape[::-1])}"
        )


def select_padded(t: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
    """``t.index_select(dim, index)`` where ``index == -1`` gives zeros (padding)."""
    index = index.long()
    safe = index.clamp_min(0)
    out = t.index_select(dim, safe)
    pad = index < 0
    if bool(pad.any()):
        shape = [1] * t.ndim
        shape[dim] = -1
        out = out * (~pad).to(t.dtype).reshape(shape)
    return out


def make_linear(
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    rows: torch.Tensor | None = None,
    cols: torch.Tensor | None = None,
    in_keep: torch.Tensor | None = None,
    out_keep: torch.Tensor | None = None,
) -> nn.Module:
    """A smaller layer from a full ``(out, in)`` weight.

    Parameters
    ----------
    weight, bias : torch.Tensor
        The full layer's parameters.
    rows, cols : torch.Tensor, optional
        Coupled sides: the outputs / inputs to keep, in the new order (``-1`` = a zero row / column).
    in_keep, out_keep : torch.Tensor, optional
        Residual sides: the input / output channels to keep (the layer gathers / scatters).

    Returns
    -------
    nn.Module
        A plain :class:`torch.nn.Linear` when no side gathers or scatters, else a
        :class:`SlicedLinear`.
    """
    if rows is not None and out_keep is not None:
        raise ValueError("a side is either coupled (rows) or residual (out_keep), not both")
    if cols is not None and in_keep is not None:
        raise ValueError("a side is either coupled (cols) or residual (in_keep), not both")
    n_out_full, n_in_full = weight.shape
    w = weight.detach()
    b = None if bias is None else bias.detach()
    if rows is not None:
        w = select_padded(w, rows, 0)
        b = None if b is None else select_padded(b, rows, 0)
    if out_keep is not None:
        w = w.index_select(0, out_keep)
        b = None if b is None else b.index_select(0, out_keep)
    if cols is not None:
        w = select_padded(w, cols, 1)
    if in_keep is not None:
        w = w.index_select(1, in_keep)
    gather = in_keep is not None and in_keep.numel() < n_in_full
    scatter = out_keep is not None and out_keep.numel() < n_out_full
    if not gather and not scatter:
        lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        with torch.no_grad():
            lin.weight.copy_(w)
            if b is not None and lin.bias is not None:
                lin.bias.copy_(b)
        return lin
    in_features = n_in_full if gather else w.shape[1]
    out_features = n_out_full if scatter else w.shape[0]
    return SlicedLinear(
        in_features,
        out_features,
        w,
        b,
        in_keep if gather else None,
        out_keep if scatter else None,
    )


def linear_record(module: nn.Module) -> dict[str, int | bool]:
    """The shape record of a plain or sliced linear layer."""
    if isinstance(module, SlicedLinear):
        return module.shape_record()
    if isinstance(module, nn.Linear):
        return {
            "in_features": module.in_features,
            "out_features": module.out_features,
            "n_in": module.in_features,
            "n_out": module.out_features,
            "bias": module.bias is not None,
            "gather": False,
            "scatter": False,
        }
    raise TypeError(f"not a linear layer: {type(module).__name__}")


def build_linear(record: dict[str, int | bool]) -> nn.Module:
    """An empty layer from :func:`linear_record` (values come from the state dict)."""
    n_in, n_out, bias = int(record["n_in"]), int(record["n_out"]), bool(record["bias"])
    if not record["gather"] and not record["scatter"]:
        return nn.Linear(n_in, n_out, bias=bias)
    return SlicedLinear.empty(
        int(record["in_features"]),
        int(record["out_features"]),
        n_in,
        n_out,
        bias,
        bool(record["gather"]),
        bool(record["scatter"]),
    )

"""Gates for structured pruning: unit groups, gated linear layers and per-sample gate gradients.

A *unit group* is a set of structures that are pruned one at a time: the input channels of one linear
layer, the output channels of another, the hidden units of an MLP (the up projection's outputs
coupled with the down projection's inputs), attention heads, or dimensions inside heads (query with
key, value with output). Each group has one gate per unit, a float mask that is 1 (kept) or 0
(pruned). A group acts through one or more *sites*: a side (input or output) of a
:class:`GatedLinear`, with a map from that side's channels to the group's units. The gated layer
computes ``y = ((x * m_in) W^T + b) * m_out``, where ``m_in`` / ``m_out`` are built from the gates of
the sites on that side (1 where no site applies). With every gate at 1 the output is exactly that of
the original layer.

Per-sample gradients. The score of a unit needs ``g_b = dL_b / dm`` for every sample ``b`` separately
(see :mod:`tinyts.compress.importance`). A site records its pre-gate activation ``a`` and a hook on
its gated output receives ``dL/d(a * m)``; per row, ``dL/dm`` is ``grad * a``. Rows are grouped by
sample under one assumption that holds for every supported model: the batch is the outermost
dimension of every activation, so the leading elements of a ``(rows..., channels)`` tensor split into
``batch`` equal contiguous chunks (a model that folds channels or patches into the batch, such as
``(B*C, N, d)`` or ``(B*N, C, d)``, keeps ``B`` outermost). Gradients of one sample are summed over
every call of a layer before the score is formed, so layers used several times per forward are
handled exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GateSite", "GatedLinear", "GradCollector", "UnitGroup"]

#: kinds of unit groups (reporting and documentation only; ranking treats all kinds alike)
KINDS = ("in", "out", "hidden", "heads", "qk", "vo")


@dataclass(eq=False)
class UnitGroup:
    """A set of prunable units sharing one gate vector.

    Attributes
    ----------
    name : str
        Dotted name, e.g. ``"blocks.3.mlp.hidden"``.
    kind : str
        One of ``"in"``, ``"out"`` (channels of one linear on its residual side), ``"hidden"``
        (coupled MLP units), ``"heads"``, ``"qk"`` (query/key dimensions, coupled), ``"vo"``
        (value/output dimensions, coupled).
    size : int
        Number of units.
    params_per_unit : int
        Weights removed with one unit (reporting).
    min_keep : int
        Units that are never pruned (the group keeps a valid shape).
    mask : torch.Tensor
        ``(size,)`` float gates, 1 = kept, 0 = pruned.
    """

    name: str
    kind: str
    size: int
    params_per_unit: int = 0
    min_keep: int = 1
    mask: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown unit kind {self.kind!r}; expected one of {KINDS}")
        if self.size < 1:
            raise ValueError(f"group {self.name} has no units")
        self.mask = torch.ones(self.size)

    @property
    def alive(self) -> torch.Tensor:
        """Bool ``(size,)``: the kept units."""
        return self.mask.detach() > 0.5

    def kept(self) -> torch.Tensor:
        """Indices of the kept units (ascending)."""
        return torch.nonzero(self.alive).flatten()


@dataclass(eq=False)
class GateSite:
    """Where a group acts: ``side`` (``"in"`` or ``"out"``) of a gated layer, channel -> unit map."""

    group: UnitGroup
    side: str
    channels: torch.Tensor  # long (k,): channels of that side governed by this group
    units: torch.Tensor  # long (k,): the unit of each of those channels
    full: bool = False  # channels == arange(width): the multiplier is just mask[units]

    def multiplier(self, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """``(width,)`` factors: the unit's gate on governed channels, 1 elsewhere."""
        m = self.group.mask.to(device=device, dtype=dtype)[self.units.to(device)]
        if self.full:
            return m
        ones = torch.ones(width, dtype=dtype, device=device)
        return ones.index_copy(0, self.channels.to(device), m)


class GradCollector:
    """Sums per-sample gate gradients ``(batch, units)`` per group during one backward pass."""

    def __init__(self) -> None:
        self.active = False
        self.batch = 0
        self.grads: dict[UnitGroup, torch.Tensor] = {}

    def start(self, batch: int) -> None:
        """Collect for a micro-batch of ``batch`` samples (the model's loss must be a sum over them)."""
        self.active, self.batch, self.grads = True, int(batch), {}

    def stop(self) -> dict[UnitGroup, torch.Tensor]:
        """End collection; the per-sample gradients gathered since :meth:`start`."""
        self.active = False
        out, self.grads = self.grads, {}
        return out

    def hook(self, site: GateSite, a: torch.Tensor) -> Callable[[torch.Tensor], None]:
        """A tensor hook for the gated output ``a * m`` of ``site``."""
        batch = self.batch
        width = a.shape[-1]
        a = a.detach()

        def add(grad: torch.Tensor) -> None:
            rows = grad.numel() // width
            if batch < 1 or rows % batch:
                raise RuntimeError(
                    f"gate site of group {site.group.name}: {rows} activation rows do not split into "
                    f"{batch} samples; per-sample gradients need the batch as the outermost dimension"
                )
            per = (grad.detach() * a).reshape(batch, rows // batch, width).sum(1).float()
            if not site.full:
                per = per[:, site.channels.to(per.device)]
            acc = self.grads.get(site.group)
            if acc is None:
                acc = torch.zeros(batch, site.group.size, device=per.device)
                self.grads[site.group] = acc
            acc.index_add_(1, site.units.to(per.device), per)

        return add


class GatedLinear(nn.Module):
    """A linear layer with gate sites on its input and output channels.

    Holds the original ``weight`` and ``bias`` parameters under the same names, so state-dict keys
    and code that reads ``.weight`` keep working.
    """

    def __init__(self, linear: nn.Linear, collector: GradCollector) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias
        self.original = type(linear)
        self.collector = collector
        self.in_sites: list[GateSite] = []
        self.out_sites: list[GateSite] = []

    def add_site(self, group: UnitGroup, side: str, channels: torch.Tensor, units: torch.Tensor) -> GateSite:
        """Attach ``group`` to ``side`` (``"in"`` or ``"out"``) with a channel -> unit map."""
        width = self.in_features if side == "in" else self.out_features
        channels, units = channels.long().flatten(), units.long().flatten()
        if side not in ("in", "out"):
            raise ValueError(f"side must be 'in' or 'out', got {side!r}")
        if channels.shape != units.shape or channels.numel() == 0:
            raise ValueError("channels and units must be non-empty and of the same length")
        if int(channels.min()) < 0 or int(channels.max()) >= width:
            raise ValueError(f"channels out of range for a side of width {width}")
        if int(units.min()) < 0 or int(units.max()) >= group.size:
            raise ValueError(f"units out of range for group {group.name} of size {group.size}")
        full = channels.numel() == width and bool((channels == torch.arange(width)).all())
        site = GateSite(group, side, channels, units, full)
        (self.in_sites if side == "in" else self.out_sites).append(site)
        return site

    def _gate(self, site: GateSite, a: torch.Tensor) -> torch.Tensor:
        out = a * site.multiplier(a.shape[-1], a.dtype, a.device)
        if self.collector.active and out.requires_grad:
            out.register_hook(self.collector.hook(site, a))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for site in self.in_sites:
            x = self._gate(site, x)
        y = F.linear(x, self.weight, self.bias)
        for site in self.out_sites:
            y = self._gate(site, y)
        return y

    def to_linear(self) -> nn.Linear:
        """A plain linear layer with the same (ungated) parameters."""
        lin = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        lin.weight = self.weight
        if self.bias is not None:
            lin.bias = self.bias
        return lin

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " + (
            f"sites={[s.group.name + ':' + s.side for s in self.in_sites + self.out_sites]}"
        )

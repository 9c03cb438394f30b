"""A gating session: gated layers installed in a model, their unit groups, masks in and out."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tinyts.nn.gates import GatedLinear, GradCollector, UnitGroup
from tinyts.nn.structure import get_module, set_module

__all__ = ["GateSession"]


Site = tuple[GatedLinear, str, torch.Tensor, torch.Tensor]


class GateSession:
    """Installs :class:`~tinyts.nn.gates.GatedLinear` layers and owns the unit groups."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.collector = GradCollector()
        self.groups: list[UnitGroup] = []
        self.linears: dict[str, GatedLinear] = {}

    def linear(self, path: str) -> GatedLinear:
        """The gated version of the linear layer at ``path`` (installed on first use)."""
        if path in self.linears:
            return self.linears[path]
        mod = get_module(self.model, path)
        if isinstance(mod, GatedLinear):
            raise ValueError(f"{path} is already gated by another session")
        if not isinstance(mod, nn.Linear):
            raise TypeError(f"{path} is a {type(mod).__name__}, not a linear layer")
        gated = GatedLinear(mod, self.collector)
        set_module(self.model, path, gated)
        self.linears[path] = gated
        return gated

    def group(
        self,
        name: str,
        kind: str,
        size: int,
        sites: Sequence[Site],
        *,
        params_per_unit: int = 0,
        min_keep: int = 1,
    ) -> UnitGroup:
        """Create a unit group acting at ``sites`` = ``(layer, side, channels, units)`` tuples."""
        if any(g.name == name for g in self.groups):
            raise ValueError(f"duplicate unit group {name!r}")
        group = UnitGroup(name, kind, size, params_per_unit, min_keep)
        for layer, side, channels, units in sites:
            layer.add_site(group, side, channels, units)
        self.groups.append(group)
        return group

    def get(self, name: str) -> UnitGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    # ------------------------------------------------------------------ masks
    def masks(self) -> dict[str, torch.Tensor]:
        """A copy of every group's gates."""
        return {g.name: g.mask.detach().clone() for g in self.groups}

    def load_masks(self, masks: dict[str, torch.Tensor]) -> None:
        """Set the gates from :meth:`masks` output."""
        with torch.no_grad():
            for g in self.groups:
                if g.name in masks:
                    g.mask.copy_(masks[g.name])

    def set_grad(self, flag: bool) -> None:
        """Make the gates leaves that require grad (scoring passes) or plain tensors."""
        for g in self.groups:
            g.mask = g.mask.detach().requires_grad_(flag)

    def counts(self) -> tuple[int, int]:
        """(kept units, all units) over every group."""
        kept = sum(int(g.alive.sum()) for g in self.groups)
        return kept, sum(g.size for g in self.groups)

    def pruned_params(self) -> int:
        """Weights removed by the current gates, from each group's ``params_per_unit`` (an estimate)."""
        return sum(int((~g.alive).sum()) * g.params_per_unit for g in self.groups)

    def remove(self) -> None:
        """Put the original (ungated, unpruned) linear layers back."""
        for path, gated in self.linears.items():
            set_module(self.model, path, gated.to_linear())
        self.linears = {}

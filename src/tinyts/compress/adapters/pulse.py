"""TinyPulse through the adapter interface: masked reconstruction loss, short forecasts, pruning.

Loss (``per_sample_loss``), the two main heads of TinyPulse pre-training in the instance-normalised
space: MSE of the time head on points hidden by a hybrid mask (whole patches and single points, a
ratio in [0.05, 0.5] per window, drawn from a generator seeded by the batch's values so that a
validation loss is comparable between calls) plus ``forecast_weight`` times the MSE of the forecast
head on the first ``forecast_length`` future points.

Prunable structures: every mixer layer (encoder, decoder, register decoder) has a token mixer and a
feature mixer, each an MLP ``fc2(act(fc1(x)))`` followed by a gated attention ``x * softmax(proj x)``.
Groups: MLP hidden units (``fc1`` outputs with ``fc2`` inputs), the channels read by ``fc1`` and by
``proj`` (``in``), the channels written by ``fc2`` and ``proj`` (``out``; a pruned ``proj`` output is a
zero logit, as its gate at 0 makes it). The channel mixer, embeddings and heads are not pruned.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tinyts.compress.adapters.base import ForecastAdapter, check_windows
from tinyts.compress.session import GateSession
from tinyts.models.pulse import TinyPulse
from tinyts.nn.mixer import GatedAttention, MixerLayer
from tinyts.nn.sliced import linear_record, make_linear
from tinyts.nn.structure import STRUCTURE_VERSION, set_module

__all__ = ["PulseAdapter"]


class PulseAdapter(ForecastAdapter):
    """Adapter of :class:`~tinyts.models.pulse.TinyPulse` (forecasts up to ``forecast_length`` steps)."""

    name = "tinypulse"
    model: TinyPulse

    def __init__(
        self, model: TinyPulse, *, mask_ratio: float = 0.5, forecast_weight: float = 0.5, seed: int = 0
    ) -> None:
        super().__init__(model)
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio!r}")
        self.mask_ratio, self.forecast_weight, self.seed = mask_ratio, forecast_weight, seed
        self.pruned = model.config.pruning is not None

    @property
    def context_length(self) -> int:
        return int(self.model.config.context_length)

    def check_horizon(self, horizon: int) -> None:
        super().check_horizon(horizon)
        f = self.model.config.forecast_length
        if horizon > f:
            raise ValueError(f"TinyPulse forecasts at most {f} steps (its forecast head); horizon {horizon}")

    def _mask(self, x: torch.Tensor) -> torch.Tensor:
        from tinyts.data.masks import var_hybrid_mask

        key = int(abs(float(x[:, :: max(1, x.shape[1] // 7)].double().sum())) * 1e3) % (2**31)
        rng = np.random.default_rng([self.seed, key, x.shape[0]])
        hidden = var_hybrid_mask(
            tuple(x.shape), self.mask_ratio, patch=self.model.config.patch_length, rng=rng, min_ratio=0.05
        )
        return torch.from_numpy(hidden).to(x.device)

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_windows(x, y, self.context_length)
        hidden = self._mask(x)[:, None, :]
        out = self.model(x[:, None, :], ~hidden)
        mean, std = out["mean"], out["std"]
        w, b = self.model.revin.weight, self.model.revin.bias
        target = (x[:, None, :] - mean) / std
        hid = hidden.to(x.dtype)
        err = ((out["recon"] - b) / w - target) ** 2
        loss = (err * hid).sum((1, 2)) / hid.sum((1, 2)).clamp_min(1.0)
        f = min(self.model.config.forecast_length, y.shape[1])
        if self.forecast_weight and f:
            fut = (y[:, None, :f] - mean) / std
            pred = (out["forecast"][..., :f] - b) / w
            loss = loss + self.forecast_weight * ((pred - fut) ** 2).mean((1, 2))
        return loss

    def _forward_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model(
            x[:, None, :], torch.ones(x.shape[0], 1, x.shape[1], dtype=torch.bool, device=x.device)
        )

    @torch.no_grad()
    def predict(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        pred, _ = self.forecast_train(x, horizon)
        return pred

    def forecast_train(self, x: torch.Tensor, horizon: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.check_horizon(horizon)
        check_windows(x, None, self.context_length)
        out = self._forward_all(x)
        pred = self.model.denormalize(out["forecast"], out)[:, 0, :horizon]
        return pred, out["embedding"]

    @torch.no_grad()
    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """The time tokens after encoder and decoder, ``(batch, patches, d_model)``."""
        check_windows(x, None, self.context_length)
        store: list[torch.Tensor] = []
        last = self.model.decoder[-1] if len(self.model.decoder) else self.model.encoder[-1]
        handle = last.register_forward_hook(lambda _m, _i, o: store.append(o))
        try:
            self._forward_all(x)
        finally:
            handle.remove()
        return store[0][:, 0, : self.model.config.num_patches]

    # ------------------------------------------------------------------ pruning
    def _mixers(self) -> list[tuple[str, nn.Module]]:
        out = []
        for name, mod in self.model.named_modules():
            if isinstance(mod, MixerLayer):
                out.extend([(f"{name}.token", mod.token), (f"{name}.feature", mod.feature)])
        return out

    def build_gates(self, session: GateSession) -> None:
        if self.pruned:
            raise ValueError("this TinyPulse is already pruned; prune the original model instead")
        ar = torch.arange
        for p, mixer in self._mixers():
            fc1, fc2 = session.linear(f"{p}.mlp.fc1"), session.linear(f"{p}.mlp.fc2")
            width, hidden = fc1.in_features, fc1.out_features
            session.group(
                f"{p}.mlp.fc1.in", "in", width, [(fc1, "in", ar(width), ar(width))], params_per_unit=hidden
            )
            session.group(
                f"{p}.mlp.hidden",
                "hidden",
                hidden,
                [(fc2, "in", ar(hidden), ar(hidden))],
                params_per_unit=2 * width + 1,
            )
            session.group(
                f"{p}.mlp.fc2.out",
                "out",
                width,
                [(fc2, "out", ar(width), ar(width))],
                params_per_unit=hidden + 1,
            )
            if isinstance(getattr(mixer, "gate", None), GatedAttention):
                proj = session.linear(f"{p}.gate.proj")
                session.group(
                    f"{p}.gate.proj.in",
                    "in",
                    width,
                    [(proj, "in", ar(width), ar(width))],
                    params_per_unit=width,
                )
                session.group(
                    f"{p}.gate.proj.out",
                    "out",
                    width,
                    [(proj, "out", ar(width), ar(width))],
                    params_per_unit=width + 1,
                )

    def surgery(self, session: GateSession) -> None:
        linears: dict[str, Any] = {}

        def keep(name: str) -> torch.Tensor:
            return session.get(name).kept()

        for p, _mixer in self._mixers():
            fc1, fc2 = session.linears[f"{p}.mlp.fc1"], session.linears[f"{p}.mlp.fc2"]
            hid = keep(f"{p}.mlp.hidden")
            new = {
                f"{p}.mlp.fc1": make_linear(fc1.weight, fc1.bias, rows=hid, in_keep=keep(f"{p}.mlp.fc1.in")),
                f"{p}.mlp.fc2": make_linear(
                    fc2.weight, fc2.bias, cols=hid, out_keep=keep(f"{p}.mlp.fc2.out")
                ),
            }
            if f"{p}.gate.proj" in session.linears:
                proj = session.linears[f"{p}.gate.proj"]
                new[f"{p}.gate.proj"] = make_linear(
                    proj.weight,
                    proj.bias,
                    in_keep=keep(f"{p}.gate.proj.in"),
                    out_keep=keep(f"{p}.gate.proj.out"),
                )
            for path, mod in new.items():
                set_module(self.model, path, mod)
                session.linears.pop(path)
                linears[path] = linear_record(mod)
        self.model.config.pruning = {"version": STRUCTURE_VERSION, "linears": linears, "attention": {}}
        self.pruned = True

    def structure(self) -> dict[str, Any] | None:
        return self.model.config.pruning

    def save(self, path: str | os.PathLike[str]) -> Path:
        return self.model.save_pretrained(path)

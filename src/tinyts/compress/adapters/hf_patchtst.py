"""Hugging Face ``PatchTSTForPrediction`` through the adapter interface.

Univariate windows go in as ``past_values`` of shape ``(batch, context, 1)``, so the model must be
built with ``num_input_channels=1`` (PatchTST is channel-independent, a multivariate series is a batch
of univariate ones). Loss: MSE of the point forecast over ``prediction_length`` steps. Hidden states:
the encoder's last hidden state ``(batch, patches, d_model)``.

Prunable per encoder layer (``model.encoder.layers.i``): the residual channels read by ``q_proj``,
``k_proj``, ``v_proj`` and ``ff.0`` and written by ``out_proj`` and ``ff.3``; heads; query/key and
value/output dimensions (after surgery every head is padded to the widest kept head, because the
layer reshapes q, k and v with one ``head_dim``; the softmax scale keeps its original value); feed-
forward hidden units.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from tinyts.compress.adapters.base import ForecastAdapter, check_windows
from tinyts.compress.adapters.hf_common import (
    attention_groups,
    attention_surgery,
    check_unpruned,
    mlp_groups,
    mlp_surgery,
    save_hf,
)
from tinyts.compress.session import GateSession
from tinyts.nn.structure import STRUCTURE_VERSION

__all__ = ["PatchTSTAdapter"]

_ATTN = ("q_proj", "k_proj", "v_proj", "out_proj")


class PatchTSTAdapter(ForecastAdapter):
    """Adapter of ``transformers.PatchTSTForPrediction`` (univariate, point forecasts)."""

    name = "patchtst"
    model: Any

    def __init__(self, model: Any, *, structure: dict[str, Any] | None = None) -> None:
        super().__init__(model)
        cfg = model.config
        if int(cfg.num_input_channels) != 1:
            raise ValueError(
                f"the PatchTST adapter feeds univariate windows; build the model with num_input_channels=1 "
                f"(got {cfg.num_input_channels}); PatchTST is channel-independent, so nothing is lost"
            )
        if getattr(cfg, "loss", "mse") != "mse":
            raise ValueError("the PatchTST adapter needs a point-forecast model (config.loss='mse')")
        self._structure = structure or getattr(model, "tinyts_structure", None)
        self.pruned = self._structure is not None

    @property
    def context_length(self) -> int:
        return int(self.model.config.context_length)

    @property
    def prediction_length(self) -> int:
        return int(self.model.config.prediction_length)

    def check_horizon(self, horizon: int) -> None:
        super().check_horizon(horizon)
        if horizon > self.prediction_length:
            raise ValueError(
                f"mismatched horizons: this PatchTST forecasts {self.prediction_length} steps, "
                f"{horizon} requested"
            )

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_windows(x, None, self.context_length)
        store: list[Any] = []
        handle = self.model.model.register_forward_hook(lambda _m, _i, o: store.append(o))
        try:
            out = self.model(past_values=x[:, :, None])
        finally:
            handle.remove()
        return out.prediction_outputs[..., 0], store[0].last_hidden_state[:, 0]

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_windows(x, y, self.context_length)
        if y.shape[1] < self.prediction_length:
            raise ValueError(
                f"mismatched horizons: the windows hold {y.shape[1]} future points, this PatchTST "
                f"forecasts {self.prediction_length}"
            )
        pred, _ = self._run(x)
        return ((pred - y[:, : self.prediction_length]) ** 2).mean(1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        self.check_horizon(horizon)
        was = self.model.training
        self.model.eval()
        try:
            return self._run(x)[0][:, :horizon]
        finally:
            self.model.train(was)

    def forecast_train(self, x: torch.Tensor, horizon: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.check_horizon(horizon)
        pred, hidden = self._run(x)
        return pred[:, :horizon], hidden

    @torch.no_grad()
    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x)[1]

    # ------------------------------------------------------------------ pruning
    def _layers(self) -> list[tuple[str, Any]]:
        return [(f"model.encoder.layers.{i}", lay) for i, lay in enumerate(self.model.model.encoder.layers)]

    def build_gates(self, session: GateSession) -> None:
        if self.pruned:
            raise ValueError("this PatchTST is already pruned; prune the original model instead")
        check_unpruned(self.model)
        for p, layer in self._layers():
            attn = layer.self_attn
            attention_groups(session, f"{p}.self_attn", _ATTN, int(attn.num_heads), int(attn.head_dim))
            mlp_groups(session, f"{p}.ff", ("0",), "3")

    def surgery(self, session: GateSession) -> None:
        linears: dict[str, Any] = {}
        attention: dict[str, Any] = {}
        for p, layer in self._layers():
            attn = layer.self_attn
            plan, recs = attention_surgery(
                session, f"{p}.self_attn", _ATTN, int(attn.num_heads), int(attn.head_dim)
            )
            linears.update(recs)
            attn.num_heads, attn.head_dim = len(plan.heads), plan.qk_slots
            attention[f"{p}.self_attn"] = {"num_heads": len(plan.heads), "head_dim": plan.qk_slots}
            linears.update(mlp_surgery(session, f"{p}.ff", ("0",), "3"))
        self._structure = {"version": STRUCTURE_VERSION, "linears": linears, "attention": attention}
        self.model.tinyts_structure = self._structure
        self.pruned = True

    def structure(self) -> dict[str, Any] | None:
        return self._structure

    def save(self, path: str | os.PathLike[str]) -> Path:
        return save_hf(self.model, path, self.name, self._structure, {})

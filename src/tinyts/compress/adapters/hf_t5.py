"""A Chronos-style T5 (encoder-decoder over tokenised values) through the adapter interface.

Tokeniser (Chronos' mean-scale uniform bins): a window is divided by the mean absolute value of its
context, values are bucketed into ``n_tokens - n_special - 1`` uniform bins on ``[low, high]`` (ids
start after the special tokens; ``pad = 0``, ``eos = 1``), and an EOS token closes the context.
Settings come from ``config.chronos_config`` when the folder has one (Chronos checkpoints do), else from
the adapter options.

- Loss: cross-entropy of the target tokens (``prediction_length`` steps plus EOS) with teacher
  forcing, mean per window (the model's own training loss).
- Forecast: greedy decoding; the point forecast of a step is the expected bin centre under that step's
  distribution (times the scale), the argmax token is fed back.
- Hidden states: the encoder's last hidden state over the tokenised context ``(batch, context + 1, d)``.

Prunable: every attention layer (encoder self-attention, decoder self- and cross-attention: residual
channels of q/k/v/o, heads, q/k and v/o dimensions; T5 has no softmax scale, so dropping query/key
dimensions is exact) and every feed-forward block (``wi``/``wi_0``+``wi_1`` outputs with ``wo``
inputs, residual channels). Head removal records the removed heads in ``pruned_heads`` so that the
relative position bias (computed once with all heads) is masked per layer as ``transformers`` does.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tinyts.compress.adapters.base import ForecastAdapter, check_windows
from tinyts.compress.adapters.hf_common import (
    attention_groups,
    attention_surgery,
    check_unpruned,
    mlp_groups,
    mlp_surgery,
    require_transformers,
    save_hf,
)
from tinyts.compress.session import GateSession
from tinyts.nn.structure import STRUCTURE_VERSION

__all__ = ["ChronosT5Adapter", "ChronosTokenizer", "shrink_t5_attention"]

_ATTN = ("q", "k", "v", "o")


@dataclass
class ChronosTokenizer:
    """Mean scaling and uniform bins (Chronos ``MeanScaleUniformBins``)."""

    n_tokens: int
    n_special: int = 2
    low: float = -15.0
    high: float = 15.0
    pad_id: int = 0
    eos_id: int = 1

    def __post_init__(self) -> None:
        if self.n_tokens - self.n_special < 3:
            raise ValueError(f"a vocabulary of {self.n_tokens} tokens leaves no value bins")
        self.centers = torch.linspace(self.low, self.high, self.n_tokens - self.n_special - 1)
        mid = (self.centers[1:] + self.centers[:-1]) / 2
        self.boundaries = torch.cat([torch.tensor([-1e20]), mid, torch.tensor([1e20])])

    def scale(self, context: torch.Tensor) -> torch.Tensor:
        s = context.abs().mean(-1, keepdim=True)
        return torch.where(s > 0, s, torch.ones_like(s))

    def encode(self, values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        ids = (
            torch.bucketize(values / scale, self.boundaries.to(values.device), right=True)
            + self.n_special
            - 1
        )
        return ids.clamp(self.n_special, self.n_tokens - 1)

    def context_ids(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of contexts ``(B, L)`` with EOS appended, and their scales ``(B, 1)``."""
        s = self.scale(x)
        ids = self.encode(x, s)
        eos = torch.full((x.shape[0], 1), self.eos_id, dtype=ids.dtype, device=x.device)
        return torch.cat([ids, eos], dim=1), s

    def value_of(self, logits: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Expected bin centre under the value tokens' softmax, times the scale: ``(B, T)``."""
        k = self.centers.numel()
        vals = logits[..., self.n_special : self.n_special + k]
        probs = torch.softmax(vals.float(), dim=-1)
        return (probs * self.centers.to(logits.device)).sum(-1) * scale


def shrink_t5_attention(mod: Any, n_heads: int, kv_dim: int, pruned_heads: list[int], cross: bool) -> None:
    """Set a T5 attention layer's sizes after surgery (its projections are replaced separately)."""
    mod.__class__ = _pruned_attention_class(type(mod))
    mod.n_heads, mod.key_value_proj_dim = n_heads, kv_dim
    mod.inner_dim = n_heads * kv_dim
    mod.pruned_heads = set() if cross else {int(h) for h in pruned_heads}


_PRUNED_CLASSES: dict[type, type] = {}


def _pruned_attention_class(base: Any) -> type:
    """A subclass whose cross-attention takes a head-independent position bias of another head count.

    In cross-attention the bias is zeros plus the padding mask, identical for every head; the first
    layer builds it with its own head count and passes it on, so after head pruning the layers differ.
    """
    if getattr(base, "_tinyts_pruned", False):
        return base
    if base not in _PRUNED_CLASSES:

        def forward(
            self: Any,
            hidden_states: Any,
            mask: Any = None,
            key_value_states: Any = None,
            position_bias: Any = None,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            if (
                key_value_states is not None
                and position_bias is not None
                and position_bias.shape[1] not in (1, self.n_heads)
            ):
                position_bias = position_bias[:, :1]
            return base.forward(self, hidden_states, mask, key_value_states, position_bias, *args, **kwargs)

        _PRUNED_CLASSES[base] = type(
            f"Pruned{base.__name__}", (base,), {"forward": forward, "_tinyts_pruned": True}
        )
    return _PRUNED_CLASSES[base]


class ChronosT5Adapter(ForecastAdapter):
    """Adapter of a ``transformers.T5ForConditionalGeneration`` used as a Chronos-style forecaster.

    Parameters
    ----------
    model : T5ForConditionalGeneration
    context_length, prediction_length : int
        Window sizes (defaults: ``config.chronos_config`` or 512 / 64).
    low, high : float
        Bin range of the scaled values (Chronos: -15, 15).
    """

    name = "chronos-t5"
    model: Any

    def __init__(
        self,
        model: Any,
        *,
        context_length: int | None = None,
        prediction_length: int | None = None,
        low: float | None = None,
        high: float | None = None,
        structure: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model)
        require_transformers()
        chronos = dict(getattr(model.config, "chronos_config", None) or {})
        self.options = {
            "context_length": int(context_length or chronos.get("context_length", 512)),
            "prediction_length": int(prediction_length or chronos.get("prediction_length", 64)),
            "low": float(low if low is not None else chronos.get("low_limit", -15.0)),
            "high": float(high if high is not None else chronos.get("high_limit", 15.0)),
        }
        self.tokenizer = ChronosTokenizer(
            int(model.config.vocab_size),
            int(chronos.get("n_special_tokens", 2)),
            self.options["low"],
            self.options["high"],
            int(chronos.get("pad_token_id", 0)),
            int(chronos.get("eos_token_id", 1)),
        )
        self._structure = structure or getattr(model, "tinyts_structure", None)
        self.pruned = self._structure is not None

    @property
    def context_length(self) -> int:
        return int(self.options["context_length"])

    @property
    def prediction_length(self) -> int:
        return int(self.options["prediction_length"])

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        check_windows(x, None, self.context_length)
        ids, scale = self.tokenizer.context_ids(x)
        return ids, torch.ones_like(ids), scale

    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_windows(x, y, self.context_length)
        f = self.prediction_length
        if y.shape[1] < f:
            raise ValueError(
                f"mismatched horizons: the windows hold {y.shape[1]} future points, the model trains on {f}"
            )
        ids, att, scale = self._encode(x)
        labels = self.tokenizer.encode(y[:, :f], scale)
        eos = torch.full((x.shape[0], 1), self.tokenizer.eos_id, dtype=labels.dtype, device=x.device)
        labels = torch.cat([labels, eos], dim=1)
        start = torch.full_like(eos, self.tokenizer.pad_id)
        dec = torch.cat([start, labels[:, :-1]], dim=1)
        logits = self.model(input_ids=ids, attention_mask=att, decoder_input_ids=dec).logits
        ce = F.cross_entropy(logits.float().transpose(1, 2), labels, reduction="none")
        return ce.mean(1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        self.check_horizon(horizon)
        was = self.model.training
        self.model.eval()
        try:
            ids, att, scale = self._encode(x)
            enc = self.model.get_encoder()(input_ids=ids, attention_mask=att)
            dec = torch.full((x.shape[0], 1), self.tokenizer.pad_id, dtype=torch.long, device=x.device)
            values = []
            for _ in range(horizon):
                logits = self.model(encoder_outputs=enc, attention_mask=att, decoder_input_ids=dec).logits[
                    :, -1
                ]
                values.append(self.tokenizer.value_of(logits, scale[:, 0]))
                k = self.tokenizer.centers.numel()
                nxt = logits[:, self.tokenizer.n_special : self.tokenizer.n_special + k].argmax(-1)
                dec = torch.cat([dec, (nxt + self.tokenizer.n_special)[:, None]], dim=1)
            return torch.stack(values, dim=1)
        finally:
            self.model.train(was)

    @torch.no_grad()
    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        ids, att, _ = self._encode(x)
        out = self.model.get_encoder()(input_ids=ids, attention_mask=att)
        return out.last_hidden_state

    # ------------------------------------------------------------------ pruning
    def _attention_layers(self) -> list[tuple[str, Any, bool]]:
        out = []
        for stack in ("encoder", "decoder"):
            for i, block in enumerate(getattr(self.model, stack).block):
                for j, layer in enumerate(block.layer):
                    for attr, cross in (("SelfAttention", False), ("EncDecAttention", True)):
                        if hasattr(layer, attr):
                            out.append((f"{stack}.block.{i}.layer.{j}.{attr}", getattr(layer, attr), cross))
        return out

    def _mlp_layers(self) -> list[tuple[str, tuple[str, ...]]]:
        out: list[tuple[str, tuple[str, ...]]] = []
        for stack in ("encoder", "decoder"):
            for i, block in enumerate(getattr(self.model, stack).block):
                for j, layer in enumerate(block.layer):
                    ff = getattr(layer, "DenseReluDense", None)
                    if ff is not None:
                        ups = ("wi_0", "wi_1") if hasattr(ff, "wi_0") else ("wi",)
                        out.append((f"{stack}.block.{i}.layer.{j}.DenseReluDense", ups))
        return out

    def build_gates(self, session: GateSession) -> None:
        if self.pruned:
            raise ValueError("this T5 is already pruned; prune the original model instead")
        check_unpruned(self.model)
        for p, attn, _cross in self._attention_layers():
            attention_groups(session, p, _ATTN, int(attn.n_heads), int(attn.key_value_proj_dim))
        for p, ups in self._mlp_layers():
            mlp_groups(session, p, ups, "wo")

    def surgery(self, session: GateSession) -> None:
        linears: dict[str, Any] = {}
        attention: dict[str, Any] = {}
        for p, attn, cross in self._attention_layers():
            heads = int(attn.n_heads)
            plan, recs = attention_surgery(session, p, _ATTN, heads, int(attn.key_value_proj_dim))
            linears.update(recs)
            removed = sorted(set(range(heads)) - set(plan.heads))
            shrink_t5_attention(attn, len(plan.heads), plan.qk_slots, removed, cross)
            attention[p] = {
                "n_heads": len(plan.heads),
                "kv_dim": plan.qk_slots,
                "pruned_heads": removed,
                "cross": cross,
            }
        for p, ups in self._mlp_layers():
            linears.update(mlp_surgery(session, p, ups, "wo"))
        self._structure = {"version": STRUCTURE_VERSION, "linears": linears, "attention": attention}
        self.model.tinyts_structure = self._structure
        self.pruned = True

    def structure(self) -> dict[str, Any] | None:
        return self._structure

    def save(self, path: str | os.PathLike[str]) -> Path:
        return save_hf(self.model, path, self.name, self._structure, dict(self.options))

    def tokenizer_settings(self) -> dict[str, Any]:
        return asdict(self.tokenizer)

"""The adapter interface: one view of any forecasting model for pruning, fine-tuning and distillation.

Data convention: every method works on univariate windows in the caller's (already scaled) space,
``x`` of shape ``(batch, context)`` and future values ``y`` of shape ``(batch, horizon)``; models that
take channels get ``(batch, 1, context)``.

An adapter provides

- ``per_sample_loss(x, y)``: the model's own training loss, one value per window (``(batch,)``); the
  pruning scores need the loss of every sample separately;
- ``predict(x, horizon)``: point forecasts ``(batch, horizon)`` for evaluation (no gradient);
- ``forecast_train(x, horizon)``: differentiable point forecasts and the model's tokens
  ``(batch, tokens, dim)`` (students of distillation);
- ``hidden_states(x)``: the last hidden states over the context, ``(batch, positions, dim)`` (teachers
  of the alignment loss); :class:`NoHiddenStates` where a model has none;
- ``build_gates(session)`` and ``surgery(session)``: the prunable structures (unit groups, gated
  layers) and their physical removal; ``structure()`` records the pruned shapes;
- ``save(path)``: a folder that :func:`tinyts.compress.load_compressed` (or ``tinyts.load`` for tinyts
  models) reads back.

:func:`adapt` picks the adapter for a model object, a tinyts checkpoint name or folder, or a local
Hugging Face folder (PatchTST, T5 / Chronos); an adapter instance passes through.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyts.compress.session import GateSession
from tinyts.errors import NoHiddenStates

__all__ = ["ForecastAdapter", "NoHiddenStates", "adapt", "check_windows"]


def check_windows(x: torch.Tensor, y: torch.Tensor | None = None, context: int | None = None) -> None:
    """Validate ``x (batch, context)`` and ``y (batch, horizon)``."""
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"x must be a (batch, context) tensor, got {getattr(x, 'shape', type(x))}")
    if context is not None and x.shape[1] != context:
        raise ValueError(f"x has {x.shape[1]} context points, the model takes {context}")
    if y is not None and (not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[0] != x.shape[0]):
        raise ValueError(
            f"y must be a (batch, horizon) tensor matching x's batch {x.shape[0]}, "
            f"got {getattr(y, 'shape', type(y))}"
        )


class ForecastAdapter:
    """Base class; subclasses implement the methods that their model supports."""

    #: short lower-case name (reports, CLI)
    name = "model"

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.pruned = False

    # ------------------------------------------------------------------ shapes
    @property
    def context_length(self) -> int:
        raise NotImplementedError

    def check_horizon(self, horizon: int) -> None:
        """Raise ``ValueError`` if the model cannot forecast ``horizon`` steps."""
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be a positive int, got {horizon!r}")

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # ------------------------------------------------------------------ model calls
    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no training loss")

    def predict(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} cannot forecast")

    def forecast_train(self, x: torch.Tensor, horizon: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError(
            f"{type(self).__name__} has no differentiable forecast; it cannot be a distillation student"
        )

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        raise NoHiddenStates(
            f"{type(self).__name__} exposes no hidden states; switch the alignment loss off "
            "(align_weight=0) or use a teacher that has them"
        )

    # ------------------------------------------------------------------ pruning
    def build_gates(self, session: GateSession) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no prunable structures")

    def surgery(self, session: GateSession) -> None:
        raise NotImplementedError

    def structure(self) -> dict[str, Any] | None:
        """The pruned shapes (None for an unpruned model)."""
        return None

    def save(self, path: str | os.PathLike[str]) -> Path:
        raise NotImplementedError(f"{type(self).__name__} cannot be saved")

    # ------------------------------------------------------------------ helpers
    @torch.no_grad()
    def predict_batched(self, x: torch.Tensor, horizon: int, batch_size: int = 256) -> torch.Tensor:
        """:meth:`predict` in chunks of ``batch_size`` windows."""
        outs = [self.predict(x[i : i + batch_size], horizon) for i in range(0, x.shape[0], batch_size)]
        return torch.cat(outs) if outs else x.new_zeros(0, horizon)


def adapt(model: Any, **options: Any) -> ForecastAdapter:
    """The adapter of ``model``.

    Parameters
    ----------
    model : adapter, nn.Module, str or path
        A :class:`ForecastAdapter` (returned as is), a :class:`~tinyts.models.cast.TinyCast`,
        :class:`~tinyts.models.pulse.TinyPulse`, a student of :mod:`tinyts.models.linear`, a
        ``transformers`` ``PatchTSTForPrediction`` or ``T5ForConditionalGeneration`` (Chronos-style),
        or a bundled name / local folder of any of these.
    **options
        Passed to the adapter (e.g. ``symmetry`` for TinyCast, ``prediction_length`` for T5).

    Raises
    ------
    ValueError
        Unknown model type or a path that is neither a tinyts checkpoint nor a supported Hugging Face
        folder.
    """
    if isinstance(model, ForecastAdapter):
        if options:
            raise ValueError("options cannot be applied to an existing adapter")
        return model
    if isinstance(model, (str, os.PathLike)):
        from tinyts.compress.io import load_with_options

        model, saved = load_with_options(model)
        options = {**saved, **options}
    from tinyts.models.cast import TinyCast
    from tinyts.models.linear import LinearStudent
    from tinyts.models.pulse import TinyPulse

    if isinstance(model, TinyCast):
        from tinyts.compress.adapters.cast import CastAdapter

        return CastAdapter(model, **options)
    if isinstance(model, TinyPulse):
        from tinyts.compress.adapters.pulse import PulseAdapter

        return PulseAdapter(model, **options)
    if isinstance(model, LinearStudent):
        from tinyts.compress.students import LinearAdapter

        return LinearAdapter(model, **options)
    cls_name = type(model).__name__
    if cls_name == "PatchTSTForPrediction":
        from tinyts.compress.adapters.hf_patchtst import PatchTSTAdapter

        return PatchTSTAdapter(model, **options)
    if cls_name == "T5ForConditionalGeneration":
        from tinyts.compress.adapters.hf_t5 import ChronosT5Adapter

        return ChronosT5Adapter(model, **options)
    raise ValueError(
        f"unknown target {cls_name}: supported are TinyCast, TinyPulse, the tinyts students, "
        "transformers PatchTSTForPrediction and T5ForConditionalGeneration (Chronos-style), or a "
        "ForecastAdapter subclass"
    )

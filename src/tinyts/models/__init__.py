"""tinyts models: a shared base (config + safetensors folders + bundled registry) and the models."""

from __future__ import annotations

from tinyts.models.base import CheckpointError, TinyModel, bundled_names, load

__all__ = ["CheckpointError", "TinyModel", "bundled_names", "load"]

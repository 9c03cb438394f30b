"""tinyts models: a shared base (config + safetensors folders + bundled registry) and the models."""

from __future__ import annotations

from tinyts.errors import CheckpointError, ModelTypeError
from tinyts.models.base import TinyModel, bundled_names, load, resolve

__all__ = ["CheckpointError", "ModelTypeError", "TinyModel", "bundled_names", "load", "resolve"]

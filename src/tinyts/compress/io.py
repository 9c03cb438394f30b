"""Loading compressed models: tinyts checkpoints (pruned or not, students) and Hugging Face folders."""

from __future__ import annotations

import json
import os
from typing import Any

from torch import nn

__all__ = ["load_compressed", "load_with_options"]


def load_with_options(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """A model from a bundled name or local folder, and the adapter options saved with it.

    tinyts checkpoints (``config.json`` with a tinyts ``model_type``: ``tinycast``, ``tinypulse``,
    ``tinylinear``) load through :func:`tinyts.models.base.load` (a pruned one comes back small);
    Hugging Face folders (``patchtst``, ``t5``) through :func:`tinyts.compress.adapters.hf_common.load_hf`.

    Raises
    ------
    ValueError
        Neither a tinyts checkpoint nor a supported Hugging Face folder (unknown target).
    """
    import tinyts.models.linear  # noqa: F401 - registers "tinylinear"
    from tinyts.models.base import MODEL_TYPES, import_model_modules, load, resolve_checkpoint

    folder = resolve_checkpoint(path)
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise ValueError(f"unknown target {os.fspath(path)!r}: the folder has no config.json")
    try:
        raw = json.loads(cfg.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{cfg} is not valid JSON: {exc}") from exc
    model_type = raw.get("model_type") if isinstance(raw, dict) else None
    import_model_modules()
    if model_type in MODEL_TYPES:
        return load(folder), {}
    if model_type in ("patchtst", "t5"):
        from tinyts.compress.adapters.hf_common import load_hf

        return load_hf(folder)
    raise ValueError(
        f"unknown target {os.fspath(path)!r} (model_type {model_type!r}): expected a tinyts checkpoint "
        f"({', '.join(sorted(MODEL_TYPES))}) or a Hugging Face PatchTST / T5 folder"
    )


def load_compressed(path: str | os.PathLike[str]) -> nn.Module:
    """The model of :func:`load_with_options` (in eval mode)."""
    return load_with_options(path)[0].eval()

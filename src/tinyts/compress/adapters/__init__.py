"""Adapters through which pruning and distillation reach a model: tinyts models (:mod:`.cast`,
:mod:`.pulse`) and Hugging Face PatchTST / T5 folders (:mod:`.hf_common`, :mod:`.hf_patchtst`, :mod:`.hf_t5`);
the interface and :func:`adapt` in :mod:`.base`."""

from __future__ import annotations

from tinyts.compress.adapters.base import (
    ForecastAdapter,
    adapt,
    check_windows,
)

__all__ = [
    "ForecastAdapter",
    "adapt",
    "check_windows",
]

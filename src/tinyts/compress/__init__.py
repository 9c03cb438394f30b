"""Model compression: structured pruning and distillation of forecasting models.

- :func:`prune` (Prune-then-Finetune): loss-guided progressive removal of channels, heads and hidden
  units, physical surgery, fine-tuning (:mod:`tinyts.compress.prune`).
- :func:`distill` (DistilTS): a small student trained with supervised, horizon-weighted teacher and
  temporal-alignment losses (:mod:`tinyts.compress.distill`).
- :func:`adapt`: the adapter interface through which both reach TinyCast, TinyPulse, the students and
  Hugging Face PatchTST / T5 (Chronos-style) models (:mod:`tinyts.compress.adapters.base`).

See ``docs/compression.md`` for the algorithms, the fixes to the official code and the benchmark.
"""

from __future__ import annotations

from tinyts.compress.adapters.base import ForecastAdapter, adapt
from tinyts.compress.data import Windows, ltsf_windows, make_windows
from tinyts.compress.distill import DistillConfig, DistillResult, TemporalAligner, distill, horizon_weights
from tinyts.compress.finetune import FitConfig, FitResult, evaluate_loss, evaluate_mse, finetune
from tinyts.compress.io import load_compressed
from tinyts.compress.prune import PruneConfig, PruneResult, prune
from tinyts.compress.students import cast_student
from tinyts.errors import NoHiddenStates
from tinyts.models.linear import LinearConfig, LinearStudent

__all__ = [
    "DistillConfig",
    "DistillResult",
    "FitConfig",
    "FitResult",
    "ForecastAdapter",
    "LinearConfig",
    "LinearStudent",
    "NoHiddenStates",
    "PruneConfig",
    "PruneResult",
    "TemporalAligner",
    "Windows",
    "adapt",
    "cast_student",
    "distill",
    "evaluate_loss",
    "evaluate_mse",
    "finetune",
    "horizon_weights",
    "load_compressed",
    "ltsf_windows",
    "make_windows",
    "prune",
]

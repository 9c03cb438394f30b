"""The one input boundary: user input (arrays, ragged lists, long DataFrames) to the internal
``(batch, channels, time)`` float32 tensor plus observed mask, and back."""

from __future__ import annotations

from tinyts.data.convert.arrays import (
    ALIGNS,
    Batch,
    from_batch,
    from_batch_horizon,
    to_batch,
)

__all__ = [
    "ALIGNS",
    "Batch",
    "from_batch",
    "from_batch_horizon",
    "to_batch",
]

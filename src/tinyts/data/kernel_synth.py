"""Deprecated alias of :mod:`tinyts.data.synth.kernel` (the generators moved into ``tinyts.data.synth``).

Kept because model cards and recipes name the KernelSynth source ``tinyts.data.kernel_synth.kernel_synth``.
"""

from __future__ import annotations

import warnings

from tinyts.data.synth.kernel import kernel_synth

__all__ = ["kernel_synth"]

warnings.warn(
    "tinyts.data.kernel_synth moved to tinyts.data.synth.kernel; import kernel_synth from there",
    DeprecationWarning,
    stacklevel=2,
)

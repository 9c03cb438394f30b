"""Deprecated alias of :mod:`tinyts.data.synth.kernel` (moved; docs/architecture.md).

Kept because model cards and recipes name the KernelSynth source ``tinyts.data.kernel_synth.kernel_synth``.
"""

from tinyts.compat import alias

alias(__name__, "tinyts.data.synth.kernel")

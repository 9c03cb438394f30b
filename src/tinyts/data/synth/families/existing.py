"""The three generators the models were first pre-trained on, in the families' ``generate`` form.

``synth`` (:func:`~tinyts.data.synth.core.synth_ts`),
``kernel`` (:func:`~tinyts.data.synth.kernel.kernel_synth`)
and ``multivariate_channel`` (single channels of :func:`tinyts.data.synth.core.synth_multivariate`). They
live in their own modules; these wrappers only give them the common signature. They draw exactly
what :func:`tinyts.data.synth.corpus.synth_batch` draws for those sources (default settings).
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.core import synth_multivariate, synth_ts
from tinyts.data.synth.families._util import check_args
from tinyts.data.synth.kernel import kernel_synth

__all__ = ["DESCRIPTIONS", "kernel", "multivariate_channel", "synth"]

#: the names recorded in model cards and recipes (``data_sources``): kept as they were written, so that a
#: resumed run does not list one source twice; ``tinyts.data.kernel_synth`` is a deprecated alias
DESCRIPTIONS = {
    "synth": "tinyts.data.synth.synth_ts: SynthTS-style compositional synthetic series",
    "kernel": "tinyts.data.kernel_synth.kernel_synth: KernelSynth-style Gaussian-process series",
    "multivariate_channel": (
        "tinyts.data.synth.synth_multivariate: channels of synthetic multivariate samples"
    ),
}


def synth(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``n`` SynthTS series (:func:`synth_ts`, default config), ``(n, length)`` float32."""
    rng, n, length = check_args(rng, n, length)
    return synth_ts(n, length, rng=rng)


def kernel(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``n`` KernelSynth series (:func:`kernel_synth`, up to 5 kernels), ``(n, length)`` float32."""
    rng, n, length = check_args(rng, n, length)
    return kernel_synth(n, length, rng=rng)


def multivariate_channel(rng: np.random.Generator, n: int, length: int, channels: int = 4) -> np.ndarray:
    """``n`` rows taken channel by channel from ``ceil(n / channels)`` multivariate samples."""
    rng, n, length = check_args(rng, n, length)
    samples = -(-n // channels)
    return synth_multivariate(samples, channels, length, rng=rng).reshape(-1, length)[:n]

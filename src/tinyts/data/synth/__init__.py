"""Synthetic pre-training series: the SynthTS-style generator (:mod:`.core` and its parts), KernelSynth
(:mod:`.kernel`), the generator families (:mod:`.families`), augmentations, the on-disk bank and
the corpus mix (:mod:`.corpus`)."""

from __future__ import annotations

from tinyts.data.synth.core import (
    CHUNK_VALUES,
    synth_multivariate,
    synth_ts,
)

__all__ = [
    "CHUNK_VALUES",
    "synth_multivariate",
    "synth_ts",
]

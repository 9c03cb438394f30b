"""Data layer: readers, input conversion and validation, windows, masks, synthetic generators.

Submodules
----------
types
    Containers returned by readers (:class:`TableSeries`, :class:`ClassificationSplit`,
    :class:`AnomalySeries`).
io
    One reader per file family under a benchmark data folder.
discover
    Finds datasets in a folder laid out like ``shared/data`` by layout, not by a list of names.
convert, convert_df
    User input (arrays, ragged lists, long DataFrames) to the internal ``(batch, channels, time)``
    float32 tensor plus observed mask, and back.
windows
    Sliding windows, stitching, standard LTSF splits and train-split scaling.
masks
    Seeded block, point and hybrid masks (the TSPulse imputation protocol).
synth, synth_config, synth_components, synth_seasonal, synth_augment
    SynthTS-style compositional generator (``synth_ts``, ``synth_multivariate``, ``SynthConfig``).
kernel_synth
    KernelSynth-style Gaussian-process series (``kernel_synth``).
anomalies
    Labelled anomaly injection (``inject_anomalies``).
synth_corpus
    Mixed batches from every generator for training loops (``synth_batch``, ``SyntheticCorpus``).
"""

from __future__ import annotations

from tinyts.data.convert.arrays import (
    Batch,
    batch_to_df,
    batch_to_df_horizon,
    df_to_batch,
    fill_gaps,
    from_batch,
    from_batch_horizon,
    to_batch,
)
from tinyts.data.types import AnomalySeries, ClassificationSplit, TableSeries

__all__ = [
    "AnomalySeries",
    "Batch",
    "ClassificationSplit",
    "TableSeries",
    "batch_to_df",
    "batch_to_df_horizon",
    "df_to_batch",
    "fill_gaps",
    "from_batch",
    "from_batch_horizon",
    "to_batch",
]

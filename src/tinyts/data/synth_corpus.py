"""On-the-fly pre-training corpus: mixed batches drawn from all synthetic generators.

:func:`synth_batch` is one call for a training step; :class:`SyntheticCorpus` wraps it as an endless,
seeded stream, with independent streams per data-loader worker or DDP rank (``stream``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np

from tinyts.data.kernel_synth import kernel_synth
from tinyts.data.synth import SynthConfig, synth_multivariate, synth_ts
from tinyts.data.synth_common import check_int, resolve_rng

__all__ = ["DEFAULT_MIX", "SOURCES", "SyntheticCorpus", "synth_batch"]

#: Generators a batch can draw from: SynthTS series, KernelSynth GP series and single channels of
#: :func:`synth_multivariate` samples (series that are non-linear, lagged mixtures of drivers).
SOURCES = ("synth", "kernel", "multivariate_channel")
DEFAULT_MIX: dict[str, float] = {"synth": 0.6, "kernel": 0.3, "multivariate_channel": 0.1}


def _check_mix(mix: Mapping[str, float] | None) -> dict[str, float]:
    m = dict(DEFAULT_MIX if mix is None else mix)
    unknown = sorted(set(m) - set(SOURCES))
    if unknown:
        raise ValueError(f"mix: unknown source(s) {unknown}; accepted: {list(SOURCES)}")
    if any(not math.isfinite(float(v)) or float(v) < 0 for v in m.values()) or sum(m.values()) <= 0:
        raise ValueError(f"mix weights must be finite, >= 0 and not all zero, got {mix!r}")
    total = float(sum(m.values()))
    return {k: float(m.get(k, 0.0)) / total for k in SOURCES}


def synth_batch(
    n: int,
    length: int,
    rng: np.random.Generator | None = None,
    *,
    seed: int | None = None,
    mix: Mapping[str, float] | None = None,
    config: SynthConfig | None = None,
    max_kernels: int = 5,
    channels: int = 4,
) -> np.ndarray:
    """Draw a mixed batch of ``n`` series from all generators, in random order.

    Parameters
    ----------
    n, length : int
        Batch size (``>= 1``) and points per series (``>= 2``).
    rng : numpy.random.Generator, optional
        Generator to draw from (advanced in place); or pass ``seed``.
    seed : int, optional
        Seed, mutually exclusive with ``rng``.
    mix : mapping, optional
        Relative weights of ``SOURCES``; default ``DEFAULT_MIX``. The count per source is
        multinomial, so batches vary around the weights.
    config : SynthConfig, optional
        Config of :func:`synth_ts` (also used for the multivariate drivers).
    max_kernels : int
        Passed to :func:`kernel_synth`.
    channels : int
        Channels per :func:`synth_multivariate` sample whose channels become separate rows.

    Returns
    -------
    np.ndarray
        ``(n, length)`` float32.
    """
    n = check_int("n", n, 1)
    length = check_int("length", length, 2)
    channels = check_int("channels", channels, 1)
    weights = _check_mix(mix)
    gen = resolve_rng(seed, rng)
    counts = gen.multinomial(n, [weights[s] for s in SOURCES])
    parts = []
    if counts[0]:
        parts.append(synth_ts(int(counts[0]), length, rng=gen, config=config))
    if counts[1]:
        parts.append(kernel_synth(int(counts[1]), length, rng=gen, max_kernels=max_kernels))
    if counts[2]:
        samples = -(-int(counts[2]) // channels)
        mv = synth_multivariate(samples, channels, length, rng=gen, config=config)
        parts.append(mv.reshape(-1, length)[: counts[2]])
    out = np.concatenate(parts, axis=0)
    return np.ascontiguousarray(out[gen.permutation(n)])


class SyntheticCorpus:
    """Endless seeded stream of mixed synthetic batches for training loops.

    Parameters
    ----------
    length : int
        Points per series.
    batch_size : int
        Series per batch yielded by iteration.
    seed : int, optional
        Base seed; ``None`` draws fresh entropy.
    stream : int
        Stream index (e.g. ``rank * num_workers + worker_id``): different streams of the same seed are
        independent, the same ``(seed, stream)`` always yields the same batches.
    mix, config, max_kernels, channels
        As in :func:`synth_batch`.

    Examples
    --------
    >>> corpus = SyntheticCorpus(256, batch_size=8, seed=0)
    >>> next(iter(corpus)).shape
    (8, 256)
    """

    def __init__(
        self,
        length: int,
        *,
        batch_size: int = 256,
        seed: int | None = None,
        stream: int = 0,
        mix: Mapping[str, float] | None = None,
        config: SynthConfig | None = None,
        max_kernels: int = 5,
        channels: int = 4,
    ) -> None:
        self.length = check_int("length", length, 2)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.stream = check_int("stream", stream, 0)
        if seed is not None:
            check_int("seed", seed, 0)
        self.seed = seed
        self.mix = _check_mix(mix)
        if config is not None and not isinstance(config, SynthConfig):
            raise TypeError(f"config must be a SynthConfig, got {type(config).__name__}")
        self.config = config
        self.max_kernels = check_int("max_kernels", max_kernels, 1)
        self.channels = check_int("channels", channels, 1)
        self._rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(self.stream,)))

    def sample(self, n: int | None = None) -> np.ndarray:
        """Next batch of ``n`` (default ``batch_size``) series, ``(n, length)`` float32."""
        return synth_batch(
            self.batch_size if n is None else n,
            self.length,
            self._rng,
            mix=self.mix,
            config=self.config,
            max_kernels=self.max_kernels,
            channels=self.channels,
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            yield self.sample()

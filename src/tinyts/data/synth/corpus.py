"""On-the-fly pre-training corpus: mixed batches drawn from all synthetic generators.

:func:`synth_batch` is one call for a training step; :class:`SyntheticCorpus` wraps it as an endless,
seeded stream, with independent streams per data-loader worker or DDP rank (``stream``).

Sources (``SOURCES``): the three original generators (``LEGACY_SOURCES``), the generator families
of :mod:`tinyts.data.synth.families` and ``real`` (windows of real series, :mod:`tinyts.data.real_corpus`).
A mix is a mapping ``source -> weight`` or a name in ``NAMED_MIXES`` (``"default"``, ``"broad"``,
``"broad_ets"``).
A mix that puts weight only on the original three sources draws exactly what it drew before the
families existed (same random stream, bit for bit), so runs that resume with ``DEFAULT_MIX`` (or
``mix=None``) continue unchanged. :func:`data_source_lines` lists a mix's sources for model cards.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinyts.data.synth.common import check_int, resolve_rng
from tinyts.data.synth.core import SynthConfig, synth_multivariate, synth_ts
from tinyts.data.synth.families import DESCRIPTIONS, FAMILIES, NEW_FAMILIES
from tinyts.data.synth.kernel import kernel_synth

if TYPE_CHECKING:
    from typing import TypeAlias

    from tinyts.data.real_corpus import RealCorpus

    #: a mix: weights per source, a name in ``NAMED_MIXES``, or ``None`` (``DEFAULT_MIX``)
    MixLike: TypeAlias = Mapping[str, float] | str | None
    #: a real corpus, or the folder to load one from
    RealLike: TypeAlias = RealCorpus | str | os.PathLike[str] | None

__all__ = [
    "BROAD_ETS_MIX",
    "BROAD_MIX",
    "BROAD_SOURCES",
    "DEFAULT_MIX",
    "LEGACY_SOURCES",
    "NAMED_MIXES",
    "SOURCES",
    "SYNTHETIC_SOURCES",
    "SyntheticCorpus",
    "data_source_lines",
    "real_corpus",
    "resolve_mix",
    "synth_batch",
]

#: The original generators: SynthTS series, KernelSynth GP series and single channels of
#: :func:`synth_multivariate` samples (series that are non-linear, lagged mixtures of drivers).
LEGACY_SOURCES = ("synth", "kernel", "multivariate_channel")
#: Every synthetic source: the original three, then the families of :mod:`tinyts.data.synth.families`.
SYNTHETIC_SOURCES: tuple[str, ...] = (*LEGACY_SOURCES, *NEW_FAMILIES)
#: Sources a batch can draw from; ``real`` needs a real corpus (``synth_batch(real=...)``).
SOURCES: tuple[str, ...] = (*SYNTHETIC_SOURCES, "real")
DEFAULT_MIX: dict[str, float] = {"synth": 0.6, "kernel": 0.3, "multivariate_channel": 0.1}
#: The sources of ``BROAD_MIX``: every synthetic family of issue 17. Frozen, so that runs resuming
#: with ``mix: broad`` keep drawing what they drew; families added later (``ets``) join by name in
#: an explicit mix or in ``BROAD_ETS_MIX``.
BROAD_SOURCES: tuple[str, ...] = SYNTHETIC_SOURCES[: SYNTHETIC_SOURCES.index("ets")]
#: Equal weight on every synthetic family of issue 17 ("mix, don't pick"); no real data.
BROAD_MIX: dict[str, float] = {s: 1.0 for s in BROAD_SOURCES}
#: ``BROAD_MIX`` plus simulated ETS models at 3x a broad family's weight (3 of 14 synthetic rows).
BROAD_ETS_MIX: dict[str, float] = {**BROAD_MIX, "ets": 3.0}
#: Mixes a recipe can select by name.
NAMED_MIXES: dict[str, dict[str, float]] = {
    "default": DEFAULT_MIX,
    "broad": BROAD_MIX,
    "broad_ets": BROAD_ETS_MIX,
}


def _named(mix: MixLike) -> Mapping[str, float] | None:
    if isinstance(mix, str):
        if mix not in NAMED_MIXES:
            raise ValueError(f"unknown mix name {mix!r}; known: {sorted(NAMED_MIXES)}")
        return NAMED_MIXES[mix]
    return mix


def _check_mix(mix: MixLike) -> dict[str, float]:
    mix = _named(mix)
    m = dict(DEFAULT_MIX if mix is None else mix)
    unknown = sorted(set(m) - set(SOURCES))
    if unknown:
        raise ValueError(f"mix: unknown source(s) {unknown}; accepted: {list(SOURCES)}")
    if any(not math.isfinite(float(v)) or float(v) < 0 for v in m.values()) or sum(m.values()) <= 0:
        raise ValueError(f"mix weights must be finite, >= 0 and not all zero, got {mix!r}")
    total = float(sum(m.values()))
    return {k: float(m.get(k, 0.0)) / total for k in SOURCES}


def resolve_mix(mix: MixLike = None, real_share: float = 0.0) -> dict[str, float] | None:
    """The mix a recipe asks for: a named or explicit mix, with ``real_share`` of real windows.

    Parameters
    ----------
    mix : mapping, str or None
        Weights per source, a name in ``NAMED_MIXES``, or ``None`` (``DEFAULT_MIX``).
    real_share : float
        Share of each batch drawn from the real corpus, in ``[0, 1)``; the synthetic weights are
        scaled to fill the rest.

    Returns
    -------
    dict or None
        With ``real_share`` 0: ``None`` for ``mix=None`` and the mix's own weights otherwise (so
        :func:`synth_batch` draws exactly what it drew without this call); else normalised weights
        per source with ``real`` = ``real_share``.
    """
    share = float(real_share)
    if not math.isfinite(share) or not 0.0 <= share < 1.0:
        raise ValueError(f"real_share must be in [0, 1), got {real_share!r}")
    if share == 0.0:  # the mix as given (after checking it), so explicit weights draw as before
        _check_mix(mix)
        named = _named(mix)
        return None if named is None else dict(named)
    weights = _check_mix(mix)
    synthetic = sum(v for k, v in weights.items() if k != "real")
    if synthetic <= 0:
        raise ValueError("real_share needs a mix with some synthetic weight")
    out = {k: (0.0 if k == "real" else v * (1.0 - share) / synthetic) for k, v in weights.items()}
    out["real"] = share
    return out


@lru_cache(maxsize=4)
def _load_real(path: str) -> RealCorpus:
    from tinyts.data.real_corpus import HOLDOUT, RealCorpus

    return RealCorpus(path, holdout=HOLDOUT)  # the held-back series stay out of training


def real_corpus(real: RealLike) -> RealCorpus | None:
    """A :class:`RealCorpus` from an instance or a folder (loaded once per process and folder)."""
    if real is None:
        return None
    from tinyts.data.real_corpus import RealCorpus

    if isinstance(real, RealCorpus):
        return real
    if not isinstance(real, (str, os.PathLike)):
        raise TypeError(f"real must be a RealCorpus or a folder path, got {type(real).__name__}")
    return _load_real(str(Path(real).expanduser().resolve()))


def data_source_lines(mix: MixLike = None, real: RealLike = None, length: int | None = None) -> list[str]:
    """One line per data source of a mix, for the ``data_sources`` list of a recipe / model card.

    Parameters
    ----------
    mix : mapping, str or None
        As in :func:`synth_batch` (``None``: ``DEFAULT_MIX``).
    real : RealCorpus, path or None
        The real corpus, needed when the mix gives ``real`` a weight: its lines name every file
        with its origin from the folder's ``SOURCES.md``.
    length : int, optional
        Series length of the batches: real-data lines then count only the series long enough.

    Returns
    -------
    list of str
        ``"<family>: <description> (<share> %)"`` per synthetic source with a weight, then for real
        data a summary line and ``"real: <file>: <series> series, <points> points; <origin>"`` per file.
    """
    weights = _check_mix(mix)
    lines = [
        f"{name}: {DESCRIPTIONS[name]} ({100.0 * weights[name]:.3g} % of each batch)"
        for name in SYNTHETIC_SOURCES
        if weights[name] > 0
    ]
    if weights["real"] > 0:
        corpus = real_corpus(real)
        if corpus is None:
            raise ValueError("the mix gives 'real' a weight: pass real=<RealCorpus or folder>")
        lines.extend(corpus.source_lines(share=weights["real"], length=length))
    return lines


def synth_batch(
    n: int,
    length: int,
    rng: np.random.Generator | None = None,
    *,
    seed: int | None = None,
    mix: MixLike = None,
    config: SynthConfig | None = None,
    max_kernels: int = 5,
    channels: int = 4,
    real: RealLike = None,
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
    mix : mapping or str, optional
        Relative weights of ``SOURCES``, or a name in ``NAMED_MIXES``; default ``DEFAULT_MIX``. The
        count per source is multinomial, so batches vary around the weights.
    config : SynthConfig, optional
        Config of :func:`synth_ts` (also used for the multivariate drivers).
    max_kernels : int
        Passed to :func:`kernel_synth`.
    channels : int
        Channels per :func:`synth_multivariate` sample whose channels become separate rows.
    real : RealCorpus or path, optional
        Real corpus (or its folder, loaded once per process with the series of
        :data:`tinyts.data.real_corpus.HOLDOUT` held back) for the ``real`` source; required when
        the mix gives ``real`` a weight. Its windows are whole (no padding), finite, in raw scale.

    Returns
    -------
    np.ndarray
        ``(n, length)`` float32, finite.
    """
    n = check_int("n", n, 1)
    length = check_int("length", length, 2)
    channels = check_int("channels", channels, 1)
    weights = _check_mix(mix)
    if weights["real"] > 0 and real is None:
        raise ValueError(
            "mix: unknown source(s) ['real'] without a real corpus: pass real=<RealCorpus or folder>"
        )
    corpus = real_corpus(real) if weights["real"] > 0 else None
    gen = resolve_rng(seed, rng)
    if any(weights[s] > 0 for s in SOURCES if s not in LEGACY_SOURCES):
        return _broad_batch(gen, n, length, weights, config, max_kernels, channels, corpus)
    # only the original sources: exactly the draws made before the families existed
    counts = gen.multinomial(n, [weights[s] for s in LEGACY_SOURCES])
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


def _broad_batch(
    gen: np.random.Generator,
    n: int,
    length: int,
    weights: dict[str, float],
    config: SynthConfig | None,
    max_kernels: int,
    channels: int,
    corpus: RealCorpus | None,
) -> np.ndarray:
    """:func:`synth_batch` for mixes with any source beyond the original three."""
    counts = gen.multinomial(n, [weights[s] for s in SOURCES])
    parts = []
    for source, count in zip(SOURCES, counts, strict=True):
        c = int(count)
        if c == 0:
            continue
        if source == "synth":
            part = synth_ts(c, length, rng=gen, config=config)
        elif source == "kernel":
            part = kernel_synth(c, length, rng=gen, max_kernels=max_kernels)
        elif source == "multivariate_channel":
            mv = synth_multivariate(-(-c // channels), channels, length, rng=gen, config=config)
            part = mv.reshape(-1, length)[:c]
        elif source == "real":
            assert corpus is not None
            part = corpus.sample(gen, c, length)
        else:
            part = FAMILIES[source](gen, c, length)
        parts.append(np.asarray(part, dtype=np.float32))
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
    mix, config, max_kernels, channels, real
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
        mix: MixLike = None,
        config: SynthConfig | None = None,
        max_kernels: int = 5,
        channels: int = 4,
        real: RealLike = None,
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
        if self.mix["real"] > 0 and real is None:
            raise ValueError("mix gives 'real' a weight: pass real=<RealCorpus or folder>")
        self.real = real_corpus(real) if self.mix["real"] > 0 else None
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
            real=self.real,
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            yield self.sample()

"""Real series for pre-training: a ``.tsf`` folder loader, a benchmark-name guard and a leakage check.

- :class:`RealCorpus` reads every ``.tsf`` file of a folder (Monash format, via
  :func:`tinyts.data.io.forecast.read_tsf`) and samples random windows of a requested length; it is
  the ``real`` source of :func:`tinyts.data.synth.corpus.synth_batch`. Nothing is standardised (the
  objectives normalise each series).
- :func:`benchmark_names` / :func:`check_not_benchmark`: the loader refuses any file whose name
  matches a benchmark set (a fixed list, plus every dataset :mod:`tinyts.data.io.discover` finds in a
  data folder).
- :func:`window_overlap`: exact-value leakage check. Every ``window``-point window of every corpus
  series and of every series found in a benchmark data folder is hashed (values rounded to
  ``sig_digits`` significant digits) and the windows present on both sides are reported.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyts.data.synth.common import check_int

__all__ = [
    "BENCHMARK_NAMES",
    "HOLDOUT",
    "OverlapMatch",
    "OverlapReport",
    "RealCorpus",
    "benchmark_match",
    "benchmark_names",
    "benchmark_series",
    "check_not_benchmark",
    "corpus_origins",
    "is_held_back",
    "window_overlap",
]

#: Benchmark sets a pre-training file must never be (matched on whole name tokens, case-insensitive).
BENCHMARK_NAMES = (
    "ETTh1",
    "ETTh2",
    "ETTm1",
    "ETTm2",
    "ETT",
    "exchange_rate",
    "illness",
    "national_illness",
    "ILI",
    "weather",
    "electricity",
    "traffic",
    "nn3",
    "nn5",
    "tourism",
)
#: Name tokens that start with one of these are benchmark sets too (``m3_monthly``, ``M4-hourly``).
BENCHMARK_PREFIXES = ("m3", "m4")
#: Default share of the corpus' series held back from training (for validation losses); see
#: :func:`is_held_back`.
HOLDOUT = 0.1
#: Environment variable naming the benchmark data folder (as in :mod:`tinyts.bench`).
ENV_DATA = "TINYTS_DATA"
_GENERIC_TOKENS = {"dataset", "data", "train", "test", "tsf"}


def _tokens(name: str) -> tuple[str, ...]:
    """Lower-case alphanumeric tokens of a name (``"ETTh1.csv"`` -> ``("etth1", "csv")``)."""
    return tuple(t for t in re.split(r"[^a-z0-9]+", name.lower()) if t)


def _name_tokens(name: str) -> tuple[str, ...]:
    """Tokens of a dataset name without generic trailing words (``m3_monthly_dataset`` -> m3, monthly)."""
    toks = list(_tokens(Path(name).name))
    while len(toks) > 1 and toks[-1] in _GENERIC_TOKENS:
        toks.pop()
    return tuple(toks)


def benchmark_names(data_dir: str | os.PathLike[str] | None = None) -> set[str]:
    """Names of benchmark sets: ``BENCHMARK_NAMES`` plus every dataset discovered in ``data_dir``.

    Parameters
    ----------
    data_dir : path, optional
        A data folder laid out like ``shared/data``. Its LTSF csv files, classification problems,
        anomaly series (names and families) and ``.tsf`` files are found with
        :mod:`tinyts.data.io.discover` (and a ``*.tsf`` search); nothing is loaded.

    Returns
    -------
    set of str
        Normalised names (lower-case tokens joined by ``_``).
    """
    names = {"_".join(_tokens(n)) for n in BENCHMARK_NAMES}
    if data_dir is None:
        return names
    from tinyts.data.io.discover import find_anomaly, find_classification, find_ltsf

    root = Path(data_dir)
    found: list[str] = [p.stem for p in find_ltsf(root)]
    found += [c.name for c in find_classification(root)]
    for s in find_anomaly(root):
        found += [s.name.split("/")[-1], s.family]
    found += [p.stem for p in _tsf_files(root)]
    names.update("_".join(_name_tokens(n)) for n in found if _name_tokens(n))
    return names


def benchmark_match(filename: str, names: set[str]) -> str | None:
    """The benchmark name a file name matches, or ``None``.

    A name matches when its tokens occur contiguously in the file stem's tokens (``ETTh1`` matches
    ``ETTh1.tsf`` and ``my_etth1_copy.tsf``, not ``vic_elec.tsf``), or when a stem token starts with
    ``m3`` / ``m4``.
    """
    stem = _tokens(Path(filename).stem)
    for tok in stem:
        if tok.startswith(BENCHMARK_PREFIXES):
            return tok
    for name in sorted(names):
        nt = tuple(name.split("_"))
        if any(stem[i : i + len(nt)] == nt for i in range(len(stem) - len(nt) + 1)):
            return name
    return None


def check_not_benchmark(path: str | os.PathLike[str], names: set[str]) -> None:
    """Raise ``ValueError`` when the file name matches a benchmark set (see :func:`benchmark_match`)."""
    hit = benchmark_match(Path(path).name, names)
    if hit is not None:
        raise ValueError(
            f"{Path(path).name}: the name matches benchmark set {hit!r}; benchmark data must never be "
            "used for pre-training (rename only if the file is certainly not that benchmark)"
        )


def _tsf_files(root: Path) -> list[Path]:
    return [
        p
        for p in sorted(root.rglob("*.tsf"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]


def _default_data_dir() -> Path | None:
    raw = os.environ.get(ENV_DATA)
    return Path(raw) if raw and Path(raw).is_dir() else None


def corpus_origins(directory: str | os.PathLike[str]) -> dict[str, str]:
    """File name -> origin text, read from the folder's ``SOURCES.md`` (empty if there is none).

    The origin is taken from a markdown table whose header has ``origin`` in a column name (the
    first cell names the file, in backticks; ``<...>`` in a name is a wildcard), with the ``license``
    column of a table that has one appended.
    """
    path = Path(directory) / "SOURCES.md"
    if not path.is_file():
        return {}
    origin: dict[str, tuple[int, str]] = {}  # pattern -> (detail of the column header, text)
    license_: dict[str, str] = {}
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        for f in re.findall(r"`([^`]+\.tsf)`", cells[0]):
            pattern = re.sub(r"<[^>]*>", "*", f)
            for h, c in zip(header, cells, strict=False):
                text = c.replace("`", "")
                if h.startswith("origin") and text and len(h) > origin.get(pattern, (-1, ""))[0]:
                    origin[pattern] = (len(h), text)  # the most detailed origin column wins
                if h.startswith("license") and text:
                    license_[pattern] = text
    out = {}
    for pattern in set(origin) | set(license_):
        out[pattern] = origin.get(pattern, (0, "origin not stated"))[1]
        if pattern in license_:
            out[pattern] += f" (license: {license_[pattern]})"
    return out


def _origin_for(file: str, origins: dict[str, str]) -> str:
    """Origin of ``file``: the most detailed text among the entries naming it (exactly or by pattern)."""
    texts = [t for p, t in origins.items() if p == file or fnmatch.fnmatch(file, p)]
    if not texts:
        return "origin not documented (no SOURCES.md entry)"
    detailed = [t for t in texts if "@" in t]
    best = max(detailed or texts, key=len)
    lic = next((t[t.index(" (license: ") :] for t in texts if " (license: " in t), "")
    return best if " (license: " in best else best + lic


def is_held_back(name: str, holdout: float = HOLDOUT) -> bool:
    """Whether the series ``name`` (``"<file>:<series>"``) is held back from training.

    A fixed hash of the name (CRC-32) decides, so the split is the same on every machine, in every
    process and for any subset of files: a series is held back when ``crc32(name) / 2**32 <
    holdout``.
    """
    return zlib.crc32(name.encode("utf-8")) / 2**32 < float(holdout)


def _fill_gaps(w: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN (edge values held at the ends); zeros when nothing is finite."""
    bad = np.isnan(w)
    if not bad.any():
        return w
    if bad.all():
        return np.zeros_like(w)
    idx = np.arange(w.size)
    out = w.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], w[~bad])
    return out


class RealCorpus:
    """Every ``.tsf`` series of a folder, sampled as random windows.

    Parameters
    ----------
    directory : path
        Folder searched recursively for ``.tsf`` files (hidden paths skipped).
    min_length : int
        Series with fewer points (or no finite value) are skipped.
    data_dir : path, optional
        Benchmark data folder whose discovered dataset names the guard also refuses; default
        ``$TINYTS_DATA`` when it is set to a folder. The fixed ``BENCHMARK_NAMES`` always apply.
    weight_power : float
        A series is drawn with probability proportional to ``points ** weight_power``: 0 = uniform
        over series, 1 = uniform over points, 0.5 (default) in between so that the few very long
        series (half-hourly electricity, hourly load) do not crowd out the many short ones.
    holdout : float
        Share of the series held back for validation (:func:`is_held_back`, decided per series by
        a hash of its name); default 0 = every series. Pre-training (``synth_batch(real=<folder>)``)
        loads the corpus with :data:`HOLDOUT`.
    split : {"train", "heldout"}
        Which side to keep: the series trained on (default) or the held-back ones.

    Raises
    ------
    ValueError
        A file name matches a benchmark set, or no ``.tsf`` file / no usable series was found.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        min_length: int = 16,
        data_dir: str | os.PathLike[str] | None = None,
        weight_power: float = 0.5,
        holdout: float = 0.0,
        split: str = "train",
    ) -> None:
        from tinyts.data.io.forecast import read_tsf

        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"real corpus folder {self.directory} does not exist")
        self.min_length = check_int("min_length", min_length, 2)
        if not np.isfinite(weight_power) or weight_power < 0:
            raise ValueError(f"weight_power must be finite and >= 0, got {weight_power!r}")
        if not 0.0 <= holdout < 1.0:
            raise ValueError(f"holdout must be in [0, 1), got {holdout!r}")
        if split not in ("train", "heldout"):
            raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
        self.holdout, self.split = float(holdout), split
        paths = _tsf_files(self.directory)
        if not paths:
            raise ValueError(f"no .tsf file in {self.directory}")
        names = benchmark_names(data_dir if data_dir is not None else _default_data_dir())
        for p in paths:  # refuse before reading anything
            check_not_benchmark(p, names)
        self.files: list[str] = [p.relative_to(self.directory).as_posix() for p in paths]
        self.frequencies: list[str | None] = []
        self.series: list[np.ndarray] = []
        self.names: list[str] = []
        file_of: list[int] = []
        self.skipped = 0
        other_lengths: list[int] = []
        for i, p in enumerate(paths):
            data = read_tsf(p)
            self.frequencies.append(data.frequency)
            for name, s in zip(data.names, data.series, strict=True):
                s = np.asarray(s, dtype=np.float64)
                if s.size < self.min_length or not np.isfinite(s).any():
                    self.skipped += 1
                    continue
                full = f"{self.files[i]}:{name}"
                if is_held_back(full, self.holdout) != (split == "heldout"):
                    other_lengths.append(s.size)
                    continue
                self.series.append(s)
                self.names.append(full)
                file_of.append(i)
        if not self.series:
            raise ValueError(
                f"no series of >= {self.min_length} points on the {split!r} side of {self.directory} "
                f"(holdout {self.holdout:g}); pass holdout=0 to use every series"
            )
        #: lengths of the series on the other side of the split (held back when training, and vice versa)
        self.other_lengths = np.asarray(other_lengths, dtype=np.int64)
        self.file_of = np.asarray(file_of, dtype=np.int64)
        self.lengths = np.asarray([s.size for s in self.series], dtype=np.int64)
        self.weights = self.lengths.astype(np.float64) ** float(weight_power)

    @property
    def other_side(self) -> int:
        """Series on the other side of the split (held back when training, and vice versa)."""
        return int(self.other_lengths.size)

    def __len__(self) -> int:
        return len(self.series)

    @property
    def points(self) -> int:
        """Total points (missing ones included) of the kept series."""
        return int(self.lengths.sum())

    def _pick(
        self, rng: np.random.Generator, n: int, eligible: np.ndarray, what: str, balance: float = 0.0
    ) -> np.ndarray:
        idx = np.flatnonzero(eligible)
        if not idx.size:
            raise ValueError(f"no series in {self.directory} has {what}")
        p = self.weights[idx]
        if balance:
            p = p * self.frequency_factors(idx, balance)
        return np.asarray(idx[rng.choice(idx.size, size=n, p=p / p.sum())])

    @functools.cached_property
    def series_frequency(self) -> np.ndarray:
        """Each kept series' frequency (its file's ``@frequency``; ``"other"`` when the file names none)."""
        return np.asarray([self.frequencies[int(f)] or "other" for f in self.file_of])

    def frequency_factors(self, idx: np.ndarray, balance: float) -> np.ndarray:
        """Per series of ``idx``: its frequency's total weight (over ``idx``) to the power ``-balance``.

        Multiplied into the draw weights, a frequency's share of the draws becomes proportional to its
        total weight to the power ``1 - balance``: 0 = as the weights say, 1 = every frequency equal.
        """
        freqs, weights = self.series_frequency[idx], self.weights[idx]
        out = np.empty(len(idx))
        for f in np.unique(freqs):
            same = freqs == f
            out[same] = float(weights[same].sum()) ** -float(balance)
        return out

    def frequency_shares(self, eligible: np.ndarray, balance: float = 0.0) -> dict[str, float]:
        """Each frequency's share of the draws among the ``eligible`` series (see :meth:`cut_windows`)."""
        idx = np.flatnonzero(eligible)
        p = self.weights[idx] * (self.frequency_factors(idx, balance) if balance else 1.0)
        freqs = self.series_frequency[idx]
        return {str(f): float(p[freqs == f].sum() / p.sum()) for f in np.unique(freqs)}

    def windows(
        self, rng: np.random.Generator, n: int, length: int, *, min_length: int | None = None
    ) -> np.ndarray:
        """``n`` random crops of ``length`` points; shorter series are left-padded with NaN.

        Parameters
        ----------
        rng : numpy.random.Generator
            Generator to draw from.
        n, length : int
            Number of windows and points per window.
        min_length : int, optional
            Only series with at least this many points are drawn (default the corpus'
            ``min_length``).

        Returns
        -------
        np.ndarray
            ``(n, length)`` float64 in raw scale; NaN = missing or padding.
        """
        n, length = check_int("n", n, 1), check_int("length", length, 2)
        floor = self.min_length if min_length is None else check_int("min_length", min_length, 1)
        idx = self._pick(rng, n, self.lengths >= floor, f">= {floor} points")
        span = np.maximum(self.lengths[idx] - length, 0)
        starts = (rng.random(n) * (span + 1)).astype(np.int64)
        out = np.full((n, length), np.nan)
        for r, (i, s) in enumerate(zip(idx, starts, strict=True)):
            w = self.series[i][s : s + length]
            out[r, length - w.size :] = w
        return out

    def sample(self, rng: np.random.Generator, n: int, length: int, *, max_tries: int = 8) -> np.ndarray:
        """``n`` whole, finite windows of ``length`` points (the ``real`` source of ``synth_batch``).

        Only series with at least ``length`` points are drawn. A window with a missing value is
        redrawn (another series and offset) up to ``max_tries`` times; gaps that remain are filled
        by linear interpolation.

        Returns
        -------
        np.ndarray
            ``(n, length)`` float64, finite, raw scale.
        """
        n, length = check_int("n", n, 1), check_int("length", length, 2)
        eligible = self.lengths >= length
        idx = self._pick(rng, n, eligible, f">= {length} points (the window length)")
        starts = (rng.random(n) * (self.lengths[idx] - length + 1)).astype(np.int64)
        out = np.empty((n, length))
        for r in range(n):
            i, s = int(idx[r]), int(starts[r])
            w = self.series[i][s : s + length]
            for _ in range(max_tries):
                if not np.isnan(w).any():
                    break
                i = int(self._pick(rng, 1, eligible, "")[0])
                s = int(rng.integers(0, self.lengths[i] - length + 1))
                w = self.series[i][s : s + length]
            out[r] = _fill_gaps(w)
        return out

    def cut_windows(
        self,
        rng: np.random.Generator,
        n: int,
        length: int,
        context: int,
        *,
        min_history: int = 16,
        balance: float = 0.0,
    ) -> np.ndarray:
        """``n`` windows of the series shorter than ``length``, cut at a random forecast origin.

        The ``real_short`` source of TinyCast pre-training: the short business series (yearly to
        weekly, tens to hundreds of points) that :meth:`sample` never draws because they are shorter
        than a whole window. A series of ``L`` points is cut after ``c`` points (``c`` uniform among
        the observed points with ``max(min_history, L - (length - context)) <= c < L``); its first ``c``
        points end the context (index ``context - 1``, left-padded with NaN; longer histories keep their
        last ``context`` points), the rest follows as the future, NaN after the series' end.

        Parameters
        ----------
        rng : numpy.random.Generator
            Generator to draw from.
        n, length : int
            Number of windows and points per window (context + farthest target).
        context : int
            Points of the window before the forecast origin (``< length``).
        min_history : int
            Fewest points before the origin; series need at least ``min_history + 1`` points.
        balance : float
            In [0, 1]: how far the draws are evened out between the series' frequencies (0 = each series
            by its weight, so the many monthly series take about three quarters of the draws; 1 = every
            frequency the same share; see :meth:`frequency_factors`). 0 draws exactly as before.

        Returns
        -------
        np.ndarray
            ``(n, length)`` float64 in raw scale; NaN = padding, missing, or after the series' end. The
            value at ``context - 1`` (the origin) is always finite.
        """
        n, length = check_int("n", n, 1), check_int("length", length, 2)
        context = check_int("context", context, 1)
        min_history = check_int("min_history", min_history, 1)
        if context >= length:
            raise ValueError(f"context ({context}) must be shorter than length ({length})")
        future = length - context
        eligible = (self.lengths > min_history) & (self.lengths < length)
        if not 0.0 <= balance <= 1.0:
            raise ValueError(f"balance must be in [0, 1], got {balance!r}")
        idx = self._pick(rng, n, eligible, f"between {min_history + 1} and {length - 1} points", balance)
        out = np.full((n, length), np.nan)
        for r, i in enumerate(idx):
            s = self.series[int(i)]
            lo = max(min_history, s.size - future)
            cuts = lo + np.flatnonzero(np.isfinite(s[lo - 1 : s.size - 1]))
            if cuts.size:
                c = int(cuts[rng.integers(cuts.size)])
            else:  # no observed origin in range (gaps): cut after the last observed point instead
                c = int(np.flatnonzero(np.isfinite(s))[-1]) + 1
            h = s[max(0, c - context) : c]
            out[r, context - h.size : context] = h
            f = s[c : c + future]
            out[r, context : context + f.size] = f
        return out

    def cut_source_lines(self, share: float, length: int, min_history: int = 16) -> list[str]:
        """Model-card lines of the :meth:`cut_windows` source: a summary, then one line per file."""
        used = (self.lengths > min_history) & (self.lengths < length)
        held = int(((self.other_lengths > min_history) & (self.other_lengths < length)).sum())
        lines = [
            f"real_short: {int(used.sum())} real series of {min_history + 1} to {length - 1} points, "
            f"{int(self.lengths[used].sum()):,} points, from {len(self.files)} .tsf files in "
            f"{self.directory.name}/ ({100.0 * share:.3g} % of each batch), each cut at a random forecast "
            f"origin after >= {min_history} points (history left-padded, no targets after the series' end); "
            "series drawn with probability ~ points^0.5; no benchmark data (name guard and window-overlap "
            f"check); {held} series of these lengths held back for validation (holdout {self.holdout:g}, "
            "by a hash of the series name) and never trained on"
        ]
        return lines + self._file_lines("real_short", used)

    def _file_lines(self, source: str, used: np.ndarray) -> list[str]:
        """One model-card line per file that holds a ``used`` series: counts and origin."""
        origins = corpus_origins(self.directory)
        lines = []
        for i, f in enumerate(self.files):
            sel = (self.file_of == i) & used
            if not sel.any():
                continue  # no series of the drawn lengths: not a source of these batches
            freq = self.frequencies[i] or "unknown frequency"
            lines.append(
                f"{source}: {f} ({freq}): {int(sel.sum())} series, {int(self.lengths[sel].sum()):,} points; "
                f"{_origin_for(f, origins)}"
            )
        return lines

    def source_lines(self, share: float | None = None, length: int | None = None) -> list[str]:
        """Model-card lines: a summary, then one line per file with its origin from ``SOURCES.md``.

        Parameters
        ----------
        share : float, optional
            Share of each batch, stated in the summary.
        length : int, optional
            Window length drawn by :meth:`sample`: the lines then count only the series long enough.
        """
        what = "" if share is None else f" ({100.0 * share:.3g} % of each batch)"
        used = np.ones(len(self), dtype=bool) if length is None else self.lengths >= length
        windows = "" if length is None else f", {length}-point windows from series with >= {length} points"
        held = int((self.other_lengths >= (length or 0)).sum())
        lines = [
            f"real: {int(used.sum())} real series, {int(self.lengths[used].sum()):,} points, from "
            f"{len(self.files)} .tsf files in {self.directory.name}/{what}{windows}; series drawn with "
            "probability ~ points^0.5; no benchmark data (name guard and window-overlap check)"
            + (
                f"; {held} series{' of that length' if length else ''} held back for validation (holdout "
                f"{self.holdout:g}, by a hash of the series name) and never trained on"
                if self.split == "train" and held
                else ""
            )
        ]
        return lines + self._file_lines("real", used)


# ------------------------------------------------------------------------------------ leakage check
@dataclass
class OverlapMatch:
    """Windows shared by one corpus series and one benchmark series.

    Attributes
    ----------
    corpus, data : str
        ``<file>:<series>`` of the corpus side and ``<dataset path>:<series>`` of the benchmark side.
    windows : int
        Matching windows (overlapping windows of one copied stretch all count).
    corpus_start, data_start : int
        Offsets of the first matching window on each side.
    distinct : int
        Most distinct values in one of the matching windows (a copy of real data has many; runs of
        a few integer levels match by chance).
    """

    corpus: str
    data: str
    windows: int
    corpus_start: int
    data_start: int
    distinct: int = 0


@dataclass
class OverlapReport:
    """Result of :func:`window_overlap`."""

    matches: list[OverlapMatch]
    window: int
    min_distinct: int
    sig_digits: int
    corpus_series: int
    corpus_windows: int
    data_series: int
    data_windows: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    #: matching series pairs left out because no shared window has ``min_distinct`` distinct values
    trivial: list[OverlapMatch] = field(default_factory=list)

    def summary(self) -> str:
        """One line: sizes, windows compared, matches and run time."""
        shared = sum(m.windows for m in self.matches)
        return (
            f"{self.corpus_windows:,} corpus windows ({self.corpus_series:,} series) vs "
            f"{self.data_windows:,} benchmark windows ({self.data_series:,} series), window {self.window}, "
            f"{self.sig_digits} significant digits: {shared:,} shared windows with >= {self.min_distinct} "
            f"distinct values in {len(self.matches)} series pairs ({sum(m.windows for m in self.trivial):,} "
            f"low-information shared windows in {len(self.trivial)} pairs left out); "
            f"{len(self.errors)} unreadable files; {self.seconds:.1f} s"
        )


def benchmark_series(data_dir: str | os.PathLike[str], errors: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Every 1-D series :mod:`tinyts.data.io.discover` (and a ``.tsf`` search) can load under ``data_dir``.

    Yields ``(label, values)``: every channel of LTSF csv files, every case and channel of both
    splits of classification problems, every channel of anomaly series and every series of ``.tsf``
    files. A file that fails to load is appended to ``errors`` and skipped.
    """
    from tinyts.data.io.discover import find_anomaly, find_classification, find_ltsf
    from tinyts.data.io.forecast import read_tsf
    from tinyts.data.io.ltsf import read_ltsf_csv

    root = Path(data_dir)

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    for p in find_ltsf(root):
        try:
            t = read_ltsf_csv(p)
        except Exception as exc:  # report every failure, keep going
            errors.append(f"{rel(p)}: {type(exc).__name__}: {exc}")
            continue
        for c, col in enumerate(t.columns):
            yield f"{rel(p)}:{col}", np.asarray(t.values[c], dtype=np.float64)
    for prob in find_classification(root):
        try:
            splits = prob.load()
        except Exception as exc:
            errors.append(f"{rel(prob.train_path)}: {type(exc).__name__}: {exc}")
            continue
        for split, part in zip(("TRAIN", "TEST"), splits, strict=True):
            for i, case in enumerate(part.X):
                for ch, row in enumerate(np.atleast_2d(np.asarray(case, dtype=np.float64))):
                    yield f"{prob.archive}/{prob.name}/{split}#{i}:{ch}", row
    for src in find_anomaly(root):
        try:
            a = src.load()
        except Exception as exc:
            errors.append(f"{rel(src.path)}: {type(exc).__name__}: {exc}")
            continue
        values = np.asarray(a.values, dtype=np.float64)
        for c in range(values.shape[0]):
            yield f"{src.family}/{src.name}:{c}", values[c]
    for p in _tsf_files(root):
        try:
            d = read_tsf(p)
        except Exception as exc:
            errors.append(f"{rel(p)}: {type(exc).__name__}: {exc}")
            continue
        for name, s in zip(d.names, d.series, strict=True):
            yield f"{rel(p)}:{name}", np.asarray(s, dtype=np.float64)


def _corpus_series(corpus_dir: Path, errors: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    from tinyts.data.io.forecast import read_tsf

    for p in _tsf_files(corpus_dir):
        try:
            d = read_tsf(p)
        except Exception as exc:
            errors.append(f"corpus {p.name}: {type(exc).__name__}: {exc}")
            continue
        for name, s in zip(d.names, d.series, strict=True):
            yield f"{p.relative_to(corpus_dir).as_posix()}:{name}", np.asarray(s, dtype=np.float64)


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64, wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _point_codes(x: np.ndarray, sig_digits: int) -> np.ndarray:
    """uint64 code per value: equal when the values agree to ``sig_digits`` significant digits."""
    finite = np.isfinite(x)
    ax = np.where(finite & (x != 0), np.abs(x), 1.0)
    e = np.floor(np.log10(ax)).astype(np.int64)
    m = np.rint(np.where(finite, x, 0.0) / 10.0 ** (e - sig_digits + 1).astype(np.float64))
    over = np.abs(m) >= 10.0**sig_digits  # 9.9999996 rounded up to 10.00000: one more digit
    e = np.where(over, e + 1, e)
    m = np.where(over, np.rint(m / 10.0), m)
    e = np.where(m == 0, 0, e)
    packed = (m.astype(np.int64) * 1024 + (e + 512)).astype(np.uint64)
    with np.errstate(over="ignore"):
        return _mix64(packed)


def _window_hashes(
    values: np.ndarray, window: int, sig_digits: int, min_changes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of every valid ``window``-point window of a NaN-separated concatenation.

    Returns ``(hashes, starts, codes)``: uint64 hash and start position of each window without a
    missing value and with at least ``min_changes`` value changes, and the point codes.
    """
    codes = _point_codes(values, sig_digits)
    total = values.size
    if total < window:
        return np.empty(0, np.uint64), np.empty(0, np.int64), codes
    with np.errstate(over="ignore"):
        base = np.uint64(_BASE)
        inv = np.uint64(pow(_BASE, -1, 2**64))
        pw = np.cumprod(np.full(total, base, dtype=np.uint64)) * inv  # base**i
        ipw = np.cumprod(np.full(total, inv, dtype=np.uint64)) * base  # base**-i
        pref = np.concatenate([np.zeros(1, np.uint64), np.cumsum(codes * ipw, dtype=np.uint64)])
        ends = np.arange(window - 1, total)
        h = (pref[ends + 1] - pref[ends + 1 - window]) * pw[ends]
    nan_cum = np.concatenate([[0], np.cumsum(~np.isfinite(values))])
    change = np.concatenate([[0], np.cumsum(codes[1:] != codes[:-1])])
    starts = np.arange(total - window + 1)
    ok = nan_cum[starts + window] == nan_cum[starts]
    ok &= (change[starts + window - 1] - change[starts]) >= min_changes
    return h[ok], starts[ok], codes


def _concat(items: Iterator[tuple[str, np.ndarray]], window: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels, NaN-separated concatenation and start offsets of the series with ``>= window`` points."""
    labels: list[str] = []
    chunks: list[np.ndarray] = []
    starts: list[int] = []
    pos = 0
    sep = np.full(1, np.nan)
    for label, s in items:
        s = np.ravel(s)
        if s.size < window:
            continue
        labels.append(label)
        starts.append(pos)
        chunks.extend([s, sep])
        pos += s.size + 1
    values = np.concatenate(chunks) if chunks else np.empty(0)
    return labels, values, np.asarray(starts, dtype=np.int64)


def window_overlap(
    corpus_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    window: int = 64,
    *,
    sig_digits: int = 6,
    min_changes: int = 1,
    min_distinct: int = 3,
) -> OverlapReport:
    """Exact-value leakage check: ``window``-point windows shared by a corpus and benchmark data.

    Parameters
    ----------
    corpus_dir : path
        Folder of ``.tsf`` files (searched recursively).
    data_dir : path
        Benchmark data folder; every series of :func:`benchmark_series` is compared.
    window : int
        Points per window.
    sig_digits : int
        Values are rounded to this many significant digits before hashing, the same way on both
        sides (so ``5.827`` read from a csv equals ``5.827000141143799`` stored as float32).
    min_changes : int
        Windows with fewer value changes (for example a run of zeros, or a constant) are not
        compared: they match by chance.
    min_distinct : int
        A series pair is reported in ``matches`` only when one of its shared windows has at least
        this many distinct values; pairs whose shared windows hold fewer (runs of a few integer
        levels, such as small counts against binary command channels) go to ``trivial``.

    Returns
    -------
    OverlapReport
        Every (corpus series, benchmark series) pair with a shared window (verified value by
        value, so hash collisions are not reported), with sizes and the run time.
    """
    t0 = time.perf_counter()
    window = check_int("window", window, 2)
    sig_digits = check_int("sig_digits", sig_digits, 1)
    if sig_digits > 15:
        raise ValueError(f"sig_digits must be <= 15, got {sig_digits}")
    min_changes = check_int("min_changes", min_changes, 0)
    min_distinct = check_int("min_distinct", min_distinct, 1)
    cdir, ddir = Path(corpus_dir), Path(data_dir)
    for d in (cdir, ddir):
        if not d.is_dir():
            raise FileNotFoundError(f"{d} does not exist or is not a folder")
    errors: list[str] = []
    c_labels, c_values, c_starts = _concat(_corpus_series(cdir, errors), window)
    c_hash, c_pos, c_codes = _window_hashes(c_values, window, sig_digits, min_changes)
    del c_values
    d_labels, d_values, d_starts = _concat(benchmark_series(ddir, errors), window)
    d_hash, d_pos, d_codes = _window_hashes(d_values, window, sig_digits, min_changes)
    del d_values
    order = np.argsort(c_hash, kind="stable")
    c_sorted = c_hash[order]
    j = np.searchsorted(c_sorted, d_hash)
    j_ok = j < c_sorted.size
    hit = np.zeros(d_hash.size, dtype=bool)
    hit[j_ok] = c_sorted[j[j_ok]] == d_hash[j_ok]
    pairs: dict[tuple[int, int], list[int]] = {}
    for k in np.flatnonzero(hit):
        cp = int(c_pos[order[j[k]]])
        dp = int(d_pos[k])
        cw = c_codes[cp : cp + window]
        if not np.array_equal(cw, d_codes[dp : dp + window]):
            continue  # a hash collision, not a copy
        ci = int(np.searchsorted(c_starts, cp, side="right") - 1)
        di = int(np.searchsorted(d_starts, dp, side="right") - 1)
        entry = pairs.setdefault((ci, di), [0, cp - int(c_starts[ci]), dp - int(d_starts[di]), 0])
        entry[0] += 1
        entry[3] = max(entry[3], int(np.unique(cw).size))
    found = [
        OverlapMatch(c_labels[ci], d_labels[di], v[0], v[1], v[2], v[3])
        for (ci, di), v in sorted(pairs.items(), key=lambda kv: (-kv[1][3], -kv[1][0]))
    ]
    return OverlapReport(
        matches=[m for m in found if m.distinct >= min_distinct],
        trivial=[m for m in found if m.distinct < min_distinct],
        window=window,
        min_distinct=min_distinct,
        sig_digits=sig_digits,
        corpus_series=len(c_labels),
        corpus_windows=int(c_hash.size),
        data_series=len(d_labels),
        data_windows=int(d_hash.size),
        seconds=time.perf_counter() - t0,
        errors=errors,
    )

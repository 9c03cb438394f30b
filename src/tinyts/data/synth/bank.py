"""A deterministic bank of pre-generated synthetic series on disk, memory-mapped for training.

Generating series on the fly costs a share of every pre-training step (see ``docs/training.md``,
"Throughput"). A bank generates ``size`` series of ``length`` points once, with
:func:`tinyts.data.synth.corpus.synth_batch` (whatever mix of sources it is given, so new generator
families are banked too), stores them as a ``.npy`` file and maps it read-only; a training step then
only crops and augments stored rows (:func:`tinyts.data.synth.augment.bank_batch`).

The bank is a pure function of its :class:`BankSpec`: chunk ``i`` holds
``synth_batch(chunk, length, default_rng([seed, BANK_TAG, i]), mix=mix)``, so a deleted bank is rebuilt
bit for bit, and the file is never committed (it lives in a cache folder, by default
``~/.cache/tinyts/banks`` or ``$TINYTS_CACHE/banks``). Each bank has a JSON sidecar with its spec and
the SHA-256 of its contents; opening a bank regenerates its first chunk and compares it with the
stored one, so a bank built by an older generator is detected and rebuilt rather than silently used.
Several processes (DDP ranks) may open the same bank at once: the build holds a file lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.data.synth.corpus import synth_batch

__all__ = ["BANK_TAG", "BankSpec", "SynthBank", "default_cache_dir", "open_bank"]

#: second word of every chunk's seed, so that bank streams never coincide with training-step streams
BANK_TAG = 0x62616E6B  # "bank"


def default_cache_dir() -> Path:
    """``$TINYTS_CACHE/banks`` when set, else ``~/.cache/tinyts/banks``."""
    root = os.environ.get("TINYTS_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "tinyts") / "banks"


@dataclass(frozen=True)
class BankSpec:
    """What a bank holds.

    Parameters
    ----------
    size : int
        Number of stored series.
    length : int
        Points per stored series (longer than the training window, so that crops differ).
    seed : int
        Seed of the bank (independent of the training seed).
    mix : mapping, optional
        Source weights passed to :func:`synth_batch` (``None``: its default mix).
    real : str, optional
        Folder of the real corpus, for a mix that gives ``real`` a weight.
    chunk : int
        Series generated per call (part of the spec: it fixes the random streams).
    """

    size: int
    length: int
    seed: int = 0
    mix: Mapping[str, float] | None = None
    real: str | None = None
    chunk: int = 1024
    #: not part of the identity: where the files go (``None``: :func:`default_cache_dir`)
    cache_dir: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.size < 1 or self.length < 2 or self.chunk < 1 or self.seed < 0:
            raise ValueError(f"bank spec needs size >= 1, length >= 2, chunk >= 1, seed >= 0: {self}")

    def identity(self) -> dict[str, Any]:
        """The fields that determine the contents (JSON-able)."""
        d = asdict(self)
        d.pop("cache_dir")
        d["mix"] = None if self.mix is None else {k: float(v) for k, v in sorted(self.mix.items())}
        return d

    def key(self) -> str:
        """A short hash of :meth:`identity`: the bank's file name."""
        raw = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    def n_chunks(self) -> int:
        return -(-self.size // self.chunk)

    def generate_chunk(self, i: int) -> np.ndarray:
        """Chunk ``i``, ``(rows, length)`` float32: a pure function of the spec and ``i``."""
        rows = min(self.chunk, self.size - i * self.chunk)
        rng = np.random.default_rng([self.seed, BANK_TAG, i])
        mix = None if self.mix is None else dict(self.mix)
        x = synth_batch(rows, self.length, rng, mix=mix, real=self.real)
        return np.ascontiguousarray(x, dtype=np.float32)


class SynthBank:
    """A built bank, mapped read-only: ``bank.data`` is ``(size, length)`` float32."""

    def __init__(self, spec: BankSpec, path: Path, meta: dict[str, Any]) -> None:
        self.spec = spec
        self.path = path
        self.meta = meta
        self.data: np.ndarray = np.load(path, mmap_mode="r")
        if self.data.shape != (spec.size, spec.length) or self.data.dtype != np.float32:
            raise ValueError(f"{path}: shape {self.data.shape} {self.data.dtype} does not match {spec}")

    @property
    def sha256(self) -> str:
        return str(self.meta["sha256"])

    def describe(self) -> str:
        """One line for logs and model cards."""
        return (
            f"synth bank {self.spec.key()} ({self.spec.size:,} x {self.spec.length} points, "
            f"seed {self.spec.seed}, sha256 {self.sha256[:12]})"
        )


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _build(spec: BankSpec, path: Path, meta_path: Path, progress: bool) -> dict[str, Any]:
    tmp = path.with_name(path.stem + ".tmp.npy")
    start = time.perf_counter()
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(spec.size, spec.length))
    n = spec.n_chunks()
    for i in range(n):
        out[i * spec.chunk : i * spec.chunk + spec.chunk] = spec.generate_chunk(i)
        if progress and (i + 1) % max(1, n // 10) == 0:
            print(f"synth bank {spec.key()}: {i + 1}/{n} chunks", flush=True)
    out.flush()
    del out
    meta = {
        "spec": spec.identity(),
        "sha256": _digest(tmp),
        "build_seconds": round(time.perf_counter() - start, 1),
        "built": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    os.replace(tmp, path)
    meta_tmp = meta_path.with_suffix(".json.tmp")
    meta_tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(meta_tmp, meta_path)
    return meta


def _valid(spec: BankSpec, path: Path, meta_path: Path) -> dict[str, Any] | None:
    """The sidecar when the bank on disk is complete and matches what the generator makes now."""
    if not (path.is_file() and meta_path.is_file()):
        return None
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        data = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if meta.get("spec") != spec.identity() or data.shape != (spec.size, spec.length):
        return None
    first = spec.generate_chunk(0)
    if not np.array_equal(np.asarray(data[: first.shape[0]]), first):
        return None  # the generators changed since the bank was built
    return meta


def open_bank(spec: BankSpec, *, progress: bool = False, verify: bool = False) -> SynthBank:
    """Open the bank of ``spec``, building it first when it is missing or stale.

    Parameters
    ----------
    spec : BankSpec
        The bank.
    progress : bool
        Print a line per tenth of the chunks while building.
    verify : bool
        Also recompute the SHA-256 of the whole file and compare it with the sidecar (slow for big
        banks; a mismatch rebuilds).
    """
    folder = Path(spec.cache_dir) if spec.cache_dir else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synth-bank-{spec.key()}.npy"
    meta_path = path.with_suffix(".json")
    with open(folder / f".synth-bank-{spec.key()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others wait and then reuse its bank
        meta = _valid(spec, path, meta_path)
        if meta is not None and verify and _digest(path) != meta["sha256"]:
            meta = None
        if meta is None:
            meta = _build(spec, path, meta_path, progress)
    return SynthBank(spec, path, meta)

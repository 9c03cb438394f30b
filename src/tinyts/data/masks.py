"""Seeded masks for imputation: whole patches, single points, and the TSPulse hybrid of the two.

Every mask is a bool numpy array of the requested shape; ``True`` marks a hidden point (to be
imputed and scored). Time is the last axis; every leading index (series, channel, ...) gets its own
independent draw, so a ``(batch, channels, time)`` mask is drawn per channel as in the TSPulse
zero-shot protocol. For channel-consistent masks draw ``(batch, time)`` and broadcast over channels.

Counts are exact per series: each function documents how many points it hides. Draws are vectorised
over the leading dimensions (Floyd's subset sampling, one numpy step per chosen element, never a
Python loop over series), so a ``(10000, 7, 512)`` hybrid mask takes a fraction of a second.

Patch-aligned masks and evaluation windows: if the windows are cut with a stride that is a multiple
of the patch length (or of the data's period), every masked patch lands on the same phase of the
period, which biases the metric (on hourly ETTh1 with stride 8, linear interpolation scored 0.42
instead of about 0.29). Evaluate with stride 1 or a stride coprime with the patch length and the
period; see ``shared/research/probe_cpu_pretrain.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "RngLike",
    "as_generator",
    "block_mask",
    "hybrid_counts",
    "hybrid_mask",
    "point_mask",
    "var_hybrid_mask",
]

RngLike = np.random.Generator | int | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """Return ``rng`` as a :class:`numpy.random.Generator`.

    Parameters
    ----------
    rng : Generator, int or None
        A generator is used as is (and advanced); an int is a seed (deterministic); None draws fresh
        entropy from the OS (not reproducible).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def _check_shape(shape: int | Sequence[int]) -> tuple[tuple[int, ...], int, int]:
    """Validate a mask shape; return it with the number of series and the time length."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if len(dims) == 0:
        raise ValueError("shape must have at least one dimension (time is the last axis)")
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"shape must be non-negative ints, got {shape!r}")
        out.append(int(d))
    if out[-1] < 1:
        raise ValueError(f"the time axis (last dimension of shape) must be at least 1, got {shape!r}")
    n_series = int(np.prod(out[:-1])) if len(out) > 1 else 1
    return tuple(out), n_series, out[-1]


def _check_ratio(ratio: float, name: str = "ratio") -> float:
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {ratio!r}") from None
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {ratio!r}")
    return value


def _check_patch(patch: int, offset: int) -> None:
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)) or patch < 1:
        raise ValueError(f"patch must be a positive int, got {patch!r}")
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or not 0 <= offset < patch:
        raise ValueError(f"offset must be an int in [0, patch={patch}), got {offset!r}")


_CHUNK_ROWS = 4096  # rows per Floyd pass: keeps the working set in cache (about 2x faster)


def _choose(m: np.ndarray, k: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
    """Per row ``i``, a uniformly random subset of ``k[i]`` distinct slots out of ``range(m[i])``.

    Vectorised Floyd sampling: ``min(k, m - k)`` steps, each one numpy operation over a chunk of
    rows (the complement is drawn when more than half the slots are chosen).

    Returns
    -------
    np.ndarray
        ``(n_rows, width)`` bool, ``True`` at chosen slots; slots ``>= m[i]`` are always False.
    """
    n = m.shape[0]
    sel = np.zeros((n, width), dtype=bool)
    if n == 0 or width == 0:
        return sel
    flip = 2 * k > m
    c = np.where(flip, m - k, k)
    for lo in range(0, n, _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, n)
        _floyd(sel[lo:hi], m[lo:hi], c[lo:hi], rng)
    if flip.any():
        valid = np.arange(width)[None, :] < m[flip][:, None]
        sel[flip] = ~sel[flip] & valid
    return sel


def _floyd(sel: np.ndarray, m: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> None:
    """Set ``c[i]`` random distinct slots of ``sel[i, :m[i]]`` (in place, ``sel`` contiguous)."""
    n, width = sel.shape
    flat = sel.reshape(-1)  # a view: sel is a C-contiguous row block
    base = np.arange(n, dtype=np.int64) * width
    n_steps = int(c.max())
    uniform = bool((c == n_steps).all())
    start = m - c
    for s in range(n_steps):
        j = np.minimum(start + s, width - 1)  # clipped only for rows that are already done
        t = (rng.random(n) * (j + 1)).astype(np.int64)  # uniform in [0, j]
        np.minimum(t, j, out=t)
        idx = base + t
        pick = np.where(flat[idx], base + j, idx)
        flat[pick if uniform else pick[s < c]] = True


def _patch_points(chosen: np.ndarray, n_time: int, patch: int, offset: int) -> np.ndarray:
    """Expand a ``(n, n_patches)`` patch selection to a ``(n, n_time)`` point mask."""
    n, n_patches = chosen.shape
    out = np.zeros((n, n_time), dtype=bool)
    if n_patches:
        out[:, offset : offset + n_patches * patch] = np.repeat(chosen, patch, axis=1)
    return out


def _points_outside(full: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add ``k[i]`` random points per row, outside the points already set in ``full`` (modified)."""
    n_time = full.shape[1]
    free = n_time - full.sum(axis=1)
    chosen = _choose(free, k, n_time, rng)
    valid = np.arange(n_time)[None, :] < free[:, None]
    # Row-major boolean assignment places row i's j-th chosen slot on its j-th free position.
    full[~full] = chosen[valid]
    return full


def block_mask(
    shape: int | Sequence[int],
    ratio: float,
    patch: int = 8,
    rng: RngLike = None,
    offset: int = 0,
) -> np.ndarray:
    """Hide whole, non-overlapping, patch-aligned blocks.

    Each series gets ``int(n_patches * ratio)`` patches of ``patch`` points, where
    ``n_patches = (T - offset) // patch`` and patch ``p`` covers ``[offset + p*patch,
    offset + (p+1)*patch)``. With T=512 and patch 8 this is the TSPulse ``block`` protocol
    (``int(64 * r)`` patches).

    Parameters
    ----------
    shape : int or sequence of int
        Mask shape, time last.
    ratio : float
        Share of patches to hide, in [0, 1].
    patch : int
        Patch length in points.
    rng : Generator, int or None
        Seed or generator.
    offset : int
        Start of the patch grid, in ``[0, patch)``.

    Returns
    -------
    np.ndarray
        Bool array of ``shape``, True = hidden.
    """
    dims, n, n_time = _check_shape(shape)
    ratio = _check_ratio(ratio)
    _check_patch(patch, offset)
    gen = as_generator(rng)
    n_patches = max(n_time - offset, 0) // patch
    k = int(n_patches * ratio)
    chosen = _choose(np.full(n, n_patches), np.full(n, k), n_patches, gen)
    return _patch_points(chosen, n_time, patch, offset).reshape(dims)


def point_mask(shape: int | Sequence[int], ratio: float, rng: RngLike = None) -> np.ndarray:
    """Hide ``int(ratio * T)`` distinct, uniformly random points per series.

    Parameters
    ----------
    shape : int or sequence of int
        Mask shape, time last.
    ratio : float
        Share of points to hide, in [0, 1].
    rng : Generator, int or None
        Seed or generator.

    Returns
    -------
    np.ndarray
        Bool array of ``shape``, True = hidden.
    """
    dims, n, n_time = _check_shape(shape)
    ratio = _check_ratio(ratio)
    gen = as_generator(rng)
    k = int(ratio * n_time)
    return _choose(np.full(n, n_time), np.full(n, k), n_time, gen).reshape(dims)


def hybrid_counts(n_time: int, ratio: float, patch: int = 8, offset: int = 0) -> tuple[int, int]:
    """Number of whole patches and of single points that :func:`hybrid_mask` hides per series.

    The quota is ``int(ratio * n_time)`` points. Half of it goes to whole patches:
    ``floor(quota / 2 / patch + 0.5)`` patches (round half up), at most the number of patches that
    fit; the rest are single points. At T=512, patch 8 this gives the TSPulse numbers
    ``4 * ratio / 0.125`` (4, 8, 12, 16 patches at 12.5, 25, 37.5, 50 %). If the patches alone would
    exceed the quota, no whole patches are used (as TSPulse does).

    Returns
    -------
    (n_full_patches, n_points) : tuple of int
    """
    ratio = _check_ratio(ratio)
    _check_patch(patch, offset)
    quota = int(ratio * n_time)
    n_patches = max(n_time - offset, 0) // patch
    n_full = min(math.floor(quota / (2 * patch) + 0.5), n_patches)
    if n_full * patch > quota:
        n_full = 0
    return n_full, quota - n_full * patch


def hybrid_mask(
    shape: int | Sequence[int],
    ratio: float,
    patch: int = 8,
    rng: RngLike = None,
    offset: int = 0,
    *,
    full_patches: int | None = None,
) -> np.ndarray:
    """The TSPulse zero-shot imputation mask: whole patches plus single points.

    Each series hides exactly ``int(ratio * T)`` points: ``n_full`` random whole patch-aligned
    patches (grid as in :func:`block_mask`) and the remaining quota as distinct random single points
    outside those patches. ``n_full`` defaults to :func:`hybrid_counts` (half of the quota, i.e.
    ``4 * ratio / 0.125`` patches at T=512, patch 8, exactly as TSPulse's
    ``hybrid_masking_with_token``); for other T the same rule generalises as
    ``round(quota / 2 / patch)``.

    Parameters
    ----------
    shape : int or sequence of int
        Mask shape, time last.
    ratio : float
        Share of points to hide, in [0, 1].
    patch : int
        Patch length in points.
    rng : Generator, int or None
        Seed or generator.
    offset : int
        Start of the patch grid, in ``[0, patch)``.
    full_patches : int, optional
        Override the number of whole patches (TSPulse's ``num_full_patches_for_hybrid_mask``). If
        they exceed the quota, none are used, as in TSPulse.

    Returns
    -------
    np.ndarray
        Bool array of ``shape``, True = hidden.
    """
    dims, n, n_time = _check_shape(shape)
    n_full, _ = hybrid_counts(n_time, ratio, patch, offset)
    quota = int(float(ratio) * n_time)
    n_patches = (n_time - offset) // patch
    if full_patches is not None:
        if isinstance(full_patches, bool) or not isinstance(full_patches, (int, np.integer)):
            raise ValueError(f"full_patches must be a non-negative int, got {full_patches!r}")
        if not 0 <= full_patches <= n_patches:
            raise ValueError(f"full_patches must be in [0, {n_patches}] for T={n_time}, got {full_patches}")
        n_full = int(full_patches) if full_patches * patch <= quota else 0
    gen = as_generator(rng)
    chosen = _choose(np.full(n, n_patches), np.full(n, n_full), n_patches, gen)
    full = _patch_points(chosen, n_time, patch, offset)
    out = _points_outside(full, np.full(n, quota - n_full * patch), gen)
    return out.reshape(dims)


def var_hybrid_mask(
    shape: int | Sequence[int],
    max_ratio: float,
    patch: int = 8,
    full_patch_share: float = 0.5,
    rng: RngLike = None,
    *,
    min_ratio: float = 0.0,
    offset: int = 0,
) -> np.ndarray:
    """Pre-training mask with a random ratio per series (TSPulse ``var_hybrid``).

    For each series a ratio ``r ~ U(min_ratio, max_ratio)`` is drawn and ``quota =
    max(1, int(r * T))`` points are hidden (at least one when ``max_ratio > 0``, as in TSPulse;
    none when ``max_ratio == 0``). ``floor(full_patch_share * quota / patch)`` of them (capped by
    the patches that fit) are whole patch-aligned patches, the rest distinct single points outside
    those patches.

    The lower bound defaults to 0, as in TSPulse; the CPU probe in
    ``shared/research/probe_cpu_pretrain.md`` used ``min_ratio=0.1, max_ratio=0.5``.

    Parameters
    ----------
    shape : int or sequence of int
        Mask shape, time last.
    max_ratio : float
        Upper bound of the per-series ratio, in [0, 1].
    patch : int
        Patch length in points.
    full_patch_share : float
        Share of each series' quota hidden as whole patches, in [0, 1].
    rng : Generator, int or None
        Seed or generator.
    min_ratio : float
        Lower bound of the per-series ratio, in ``[0, max_ratio]``.
    offset : int
        Start of the patch grid, in ``[0, patch)``.

    Returns
    -------
    np.ndarray
        Bool array of ``shape``, True = hidden.
    """
    dims, n, n_time = _check_shape(shape)
    max_ratio = _check_ratio(max_ratio, "max_ratio")
    min_ratio = _check_ratio(min_ratio, "min_ratio")
    share = _check_ratio(full_patch_share, "full_patch_share")
    if min_ratio > max_ratio:
        raise ValueError(f"min_ratio ({min_ratio}) must not exceed max_ratio ({max_ratio})")
    _check_patch(patch, offset)
    gen = as_generator(rng)
    ratios = gen.uniform(min_ratio, max_ratio, size=n)
    quota = (ratios * n_time).astype(np.int64)
    if max_ratio > 0:
        quota = np.clip(quota, 1, n_time)
    n_patches = (n_time - offset) // patch
    n_full = np.minimum((share * quota / patch).astype(np.int64), n_patches)
    chosen = _choose(np.full(n, n_patches), n_full, n_patches, gen)
    full = _patch_points(chosen, n_time, patch, offset)
    out = _points_outside(full, quota - n_full * patch, gen)
    return out.reshape(dims)

"""Helpers shared by the synthetic generators: seeding, argument checks and vectorised draws.

Everything here works on whole batches (one row per series); nothing loops over series.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

__all__ = [
    "check_int",
    "check_prob",
    "check_range",
    "check_weights",
    "child_rngs",
    "chunk_bounds",
    "loguniform",
    "resolve_rng",
    "row_std",
    "standardize_rows",
    "weighted_codes",
]


def resolve_rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    """Return the generator to draw from: ``rng`` as given, or a new one seeded with ``seed``.

    Parameters
    ----------
    seed : int or None
        Seed for a fresh ``numpy.random.default_rng``; ``None`` with ``rng=None`` draws fresh entropy.
    rng : numpy.random.Generator or None
        An existing generator, advanced in place.

    Returns
    -------
    numpy.random.Generator
    """
    if seed is not None and rng is not None:
        raise ValueError("pass either seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.default_rng(seed)


def child_rngs(rng: np.random.Generator, count: int) -> list[np.random.Generator]:
    """Independent generators for ``count`` chunks, derived from ``rng`` (deterministic given its state)."""
    seeds = rng.integers(0, 2**63 - 1, size=count, dtype=np.int64)
    return [np.random.default_rng(int(s)) for s in seeds]


def check_int(name: str, value: object, minimum: int) -> int:
    """Validate an integer argument ``>= minimum`` and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_prob(name: str, value: object) -> float:
    """Validate a probability in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {v}")
    return v


def check_range(
    name: str, value: object, *, positive: bool = False, minimum: float | None = None
) -> tuple[float, float]:
    """Validate a ``(low, high)`` pair with ``low <= high`` (both ``> 0`` when ``positive``)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name} must be finite with low <= high, got {value!r}")
    if positive and lo <= 0:
        raise ValueError(f"{name} must be positive (it is drawn log-uniformly), got {value!r}")
    if minimum is not None and lo < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return lo, hi


def check_weights(name: str, weights: Mapping[str, float], allowed: tuple[str, ...]) -> dict[str, float]:
    """Validate a ``{kind: weight}`` mapping: known kinds, non-negative weights, positive sum."""
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"{name} must be a non-empty mapping of kind -> weight, got {weights!r}")
    unknown = sorted(set(weights) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown kind(s) {unknown}; accepted: {list(allowed)}")
    out = {k: float(v) for k, v in weights.items()}
    if any(not np.isfinite(v) or v < 0 for v in out.values()) or sum(out.values()) <= 0:
        raise ValueError(f"{name}: weights must be finite, >= 0 and not all zero, got {weights!r}")
    return out


def weighted_codes(
    rng: np.random.Generator, weights: Mapping[str, float], allowed: tuple[str, ...], size: int
) -> np.ndarray:
    """Draw ``size`` kind codes (indices into ``allowed``) with the given weights."""
    p = np.array([float(weights.get(k, 0.0)) for k in allowed])
    return rng.choice(len(allowed), size=size, p=p / p.sum())


def loguniform(rng: np.random.Generator, low: float, high: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Log-uniform draws in ``[low, high]`` (``low > 0``)."""
    return np.exp(rng.uniform(np.log(low), np.log(high), size=size))


def row_std(x: np.ndarray) -> np.ndarray:
    """Standard deviation of each row along the last axis, keeping that axis (size 1)."""
    return np.asarray(x.std(axis=-1, keepdims=True))


def standardize_rows(x: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Zero-mean, unit-std rows; rows with std below ``floor`` are only centred."""
    mu = x.mean(axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    return np.asarray((x - mu) / np.where(sd > floor, sd, 1.0))


def chunk_bounds(n: int, rows_per_chunk: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` pairs covering ``range(n)`` in chunks of at most ``rows_per_chunk`` rows."""
    step = max(1, rows_per_chunk)
    for start in range(0, n, step):
        yield start, min(n, start + step)

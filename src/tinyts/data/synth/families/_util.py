"""Helpers shared by the generator families: argument checks and a guard against constant rows."""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import check_int

__all__ = ["check_args", "check_rng", "ensure_varied"]


def check_rng(rng: object) -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``; raise ``TypeError`` otherwise."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def check_args(rng: object, n: object, length: object) -> tuple[np.random.Generator, int, int]:
    """Validate the common ``(rng, n, length)`` arguments: ``n >= 1``, ``length >= 2``."""
    return check_rng(rng), check_int("n", n, 1), check_int("length", length, 2)


def ensure_varied(rng: np.random.Generator, x: np.ndarray, bump: float = 1.0) -> np.ndarray:
    """Add ``bump`` at one random point of every constant row (in place), so no row is constant."""
    flat = np.flatnonzero(~(np.ptp(x, axis=1) > 0))
    if flat.size:
        x[flat, rng.integers(0, x.shape[1], size=flat.size)] += bump
    return x

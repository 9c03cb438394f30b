"""Causal kernel graphs (CauKer-style): a random DAG whose roots are GP-like series and whose
children are non-linear functions of their parents.

Per series: ``D`` nodes (3-6) in topological order; node ``j`` takes each earlier node as a parent
with probability 0.5 (the last node, the output, always has at least one parent). A root is a sum of
a smooth GP path (RBF or Matern kernel), a periodic path and a linear trend, each present at random
(at least one of the first two), sometimes amplitude-modulated; GP paths are drawn by spectral
sampling (:mod:`tinyts.data.synth.families._gp`), not by Cholesky, so the family is cheap. A child is
``act(sum_i w_i z_i + b) + noise`` with ``z_i`` its standardised parents, random weights ``w_i``
and an activation from ``ACTIVATIONS``. The output node is scaled and offset at random.
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform, standardize_rows
from tinyts.data.synth.families._gp import periodic_paths, smooth_paths
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["ACTIVATIONS", "DESCRIPTION", "NAME", "generate"]

NAME = "cauker"
DESCRIPTION = (
    "causal kernel graphs (CauKer-style): random DAG, GP/periodic/linear roots, "
    "non-linear children (tanh, relu, sin, square, ...)"
)
ACTIVATIONS = ("linear", "tanh", "relu", "leaky_relu", "sin", "sigmoid", "square", "abs")
MAX_NODES = 6


def _activate(code: np.ndarray, z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    for c, name in enumerate(ACTIVATIONS):
        rows = np.flatnonzero(code == c)
        if not rows.size:
            continue
        v = z[rows]
        if name == "linear":
            out[rows] = v
        elif name == "tanh":
            out[rows] = np.tanh(v)
        elif name == "relu":
            out[rows] = np.maximum(v, 0.0)
        elif name == "leaky_relu":
            out[rows] = np.where(v > 0, v, 0.1 * v)
        elif name == "sin":
            out[rows] = np.sin(v)
        elif name == "sigmoid":
            out[rows] = 1.0 / (1.0 + np.exp(-v))
        elif name == "square":
            out[rows] = np.minimum(v, 4.0) ** 2
        else:
            out[rows] = np.abs(v)
    return out


def _roots(rng: np.random.Generator, m: int, length: int) -> np.ndarray:
    """``m`` root series: weighted sum of smooth, periodic and linear parts (unit-ish scale)."""
    parts = rng.random((m, 3)) < np.array([0.7, 0.6, 0.3])
    none = ~(parts[:, 0] | parts[:, 1])
    parts[none, rng.integers(0, 2, size=int(none.sum()))] = True
    w = rng.uniform(0.3, 1.0, (m, 3)) * parts
    x = np.zeros((m, length))
    for j, paths in enumerate((smooth_paths, periodic_paths)):
        rows = np.flatnonzero(parts[:, j])
        if rows.size:
            x[rows] += w[rows, j : j + 1] * paths(rng, rows.size, length)
    s = np.linspace(-1.0, 1.0, length)[None, :]
    x += w[:, 2:3] * rng.choice([-2.0, 2.0], size=(m, 1)) * s
    modulate = np.flatnonzero(rng.random(m) < 0.25)
    if modulate.size:
        x[modulate] *= np.exp(0.5 * smooth_paths(rng, modulate.size, length))
    return x


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` causal-graph series of ``length`` points.

    Parameters
    ----------
    rng : numpy.random.Generator
        Generator to draw from (advanced in place).
    n, length : int
        Number of series (``>= 1``) and points per series (``>= 2``).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64, finite, not constant; values of order 0.1-100.
    """
    rng, n, length = check_args(rng, n, length)
    d = MAX_NODES
    nodes = rng.integers(3, d + 1, size=n)  # active nodes per series; the output is node nodes - 1
    adj = np.tril(rng.random((n, d, d)) < 0.5, k=-1)
    out_idx = nodes - 1
    active = np.arange(d)[None, :] < nodes[:, None]
    adj &= active[:, None, :] & active[:, :, None]
    orphan = ~adj[np.arange(n), out_idx].any(axis=1)
    if orphan.any():
        rows = np.flatnonzero(orphan)
        adj[rows, out_idx[rows], rng.integers(0, out_idx[rows])] = True
    is_root = active & ~adj.any(axis=2)
    z = np.zeros((n, d, length))
    r_rows, r_nodes = np.nonzero(is_root)
    z[r_rows, r_nodes] = _roots(rng, r_rows.size, length)
    weights = rng.standard_normal((n, d, d)) * adj
    bias = rng.normal(0.0, 0.5, (n, d))
    act = rng.integers(0, len(ACTIVATIONS), size=(n, d))
    noise_sd = loguniform(rng, 0.01, 0.2, (n, d))
    for j in range(1, d):
        rows = np.flatnonzero(active[:, j] & ~is_root[:, j])
        if not rows.size:
            continue
        pre = np.einsum("ri,ril->rl", weights[rows, j, :j], z[rows, :j]) + bias[rows, j, None]
        val = _activate(act[rows, j], pre)
        val += noise_sd[rows, j, None] * rng.standard_normal((rows.size, length))
        z[rows, j] = standardize_rows(val)
    x = z[np.arange(n), out_idx]
    scale = loguniform(rng, 0.1, 10.0, (n, 1))
    offset = rng.normal(0.0, 3.0, (n, 1)) * (rng.random((n, 1)) < 0.5)
    return ensure_varied(rng, x * scale + offset * scale)

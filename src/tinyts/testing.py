"""Tiny random-initialised models for tests and examples: interfaces and shapes, not skill.

:data:`TINY_PULSE` and :data:`TINY_CAST` are the configuration keywords of a TinyPulse / TinyCast with
context 64 that builds and runs in milliseconds; :func:`random_tiny` builds one, seeded, in eval mode::

    from tinyts.testing import TINY_CAST, random_tiny

    pulse = random_tiny("pulse")                      # the TINY_PULSE model, seed 0
    cast = random_tiny("cast", seed=1, num_layers=3)  # TINY_CAST with one key changed
    cfg = CastConfig(**{**TINY_CAST, "coarse_horizon": 48})
"""

from __future__ import annotations

from typing import Any

import torch

from tinyts.models.base import TinyModel

__all__ = ["TINY_CAST", "TINY_PULSE", "random_tiny"]

#: keywords of :class:`tinyts.models.pulse.PulseConfig` for a tiny TinyPulse (context 64)
TINY_PULSE: dict[str, Any] = dict(
    context_length=64,
    patch_length=8,
    fft_patch_length=8,
    d_model=8,
    num_layers=2,
    decoder_layers=1,
    num_registers=2,
    forecast_length=16,
    dropout=0.0,
)

#: keywords of :class:`tinyts.models.cast.CastConfig` for a tiny TinyCast (context 64)
TINY_CAST: dict[str, Any] = dict(
    context_length=64,
    patch_length=8,
    d_model=16,
    num_layers=2,
    num_heads=2,
    coarse_block=8,
    coarse_horizon=32,
)


def random_tiny(kind: str, seed: int = 0, **overrides: Any) -> TinyModel:
    """A tiny random-initialised TinyPulse or TinyCast in eval mode.

    The weights are drawn from ``torch.manual_seed(seed)`` inside :func:`torch.random.fork_rng`, so the
    global torch RNG is left as it was (a test that needs the global RNG advanced by the construction,
    as after ``torch.manual_seed(seed); TinyCast(...)``, should build the model itself from
    :data:`TINY_CAST` / :data:`TINY_PULSE`).

    Parameters
    ----------
    kind : str
        ``"pulse"`` (a :class:`~tinyts.models.pulse.TinyPulse` of :data:`TINY_PULSE`) or ``"cast"``
        (a :class:`~tinyts.models.cast.TinyCast` of :data:`TINY_CAST`).
    seed : int, default 0
        Seed of the random initialisation.
    **overrides
        Configuration keywords that replace (or add to) those of the tiny configuration.

    Returns
    -------
    TinyModel
        The model, in eval mode.

    Raises
    ------
    ValueError
        ``kind`` is neither ``"pulse"`` nor ``"cast"``.
    """
    if kind not in ("pulse", "cast"):
        raise ValueError(f"kind must be 'pulse' or 'cast', got {kind!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "pulse":
            from tinyts.models.pulse import PulseConfig, TinyPulse

            return TinyPulse(PulseConfig(**{**TINY_PULSE, **overrides})).eval()
        from tinyts.models.cast import CastConfig, TinyCast

        return TinyCast(CastConfig(**{**TINY_CAST, **overrides})).eval()

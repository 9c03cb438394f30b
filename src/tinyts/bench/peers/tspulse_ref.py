"""granite-tsfm's TSPulse at the released p8 shapes, with random weights: a speed reference only.

The released checkpoints cannot be downloaded here (and nothing may download), so the model is
built from a config with the shapes of ``tspulse-hybrid-dualhead-512-p8-r1`` as inferred in
``shared/research/tspulse.md`` sections 1-3: context 512, patch 8, d_model 24, 8 encoder and 2
decoder layers (expansion 2), 10 register tokens with a 1-layer register mini-decoder, the FFT
branch on (``fuse_fft=True``), RevIN scaling (min scale 0.001), ``common_channel`` mode, user
masks. That is 1,061,934 parameters, the "p8_dualhead_like" row of tspulse.md. Its outputs are
meaningless (random weights); only its cost is measured.

granite-tsfm pins an older torch and is installed with ``--no-deps`` from
``requirements-peers.txt`` (it also needs ``datasets`` to import, listed there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["TSPULSE_P8", "build_tspulse", "tspulse_forward"]

#: TSPulseConfig arguments of the released p8 shapes (tspulse.md 1-3).
TSPULSE_P8: dict[str, Any] = {
    "context_length": 512,
    "patch_length": 8,
    "patch_stride": 8,
    "num_input_channels": 1,
    "d_model": 24,
    "decoder_d_model": 24,
    "num_layers": 8,
    "decoder_num_layers": 2,
    "expansion_factor": 2,
    "patch_register_tokens": 10,
    "register_mixer_layers": 1,
    "fuse_fft": True,
    "mask_type": "user",
    "scaling": "revin",
    "minimum_scale": 0.001,
    "mode": "common_channel",
    "decoder_mode": "common_channel",
}


def _quiet_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TSFM_PYTHON_LOGGING_LEVEL", "ERROR")


def build_tspulse(seed: int = 0, **overrides: Any) -> Any:
    """``TSPulseForReconstruction`` with :data:`TSPULSE_P8` (plus ``overrides``), random weights, eval mode.

    Raises
    ------
    ImportError
        If granite-tsfm is not installed (``pip install --no-deps -r requirements-peers.txt``).
    """
    _quiet_env()
    try:
        import torch
        from tsfm_public.models.tspulse import TSPulseConfig, TSPulseForReconstruction
    except ImportError as exc:
        raise ImportError(
            "tspulse_ref needs granite-tsfm and datasets: pip install -e '.[bench]' && "
            "pip install --no-deps -r requirements-peers.txt"
        ) from exc
    torch.manual_seed(seed)
    config = TSPulseConfig(**{**TSPULSE_P8, **overrides})
    return TSPulseForReconstruction(config).eval()


def tspulse_forward(batch: int, seed: int = 0) -> tuple[Callable[[], Any], dict[str, Any]]:
    """A no-argument callable running one reconstruction forward on ``(batch, 512, 1)`` random input.

    The forward runs under ``torch.inference_mode()`` with an all-observed user mask
    (``past_observed_mask`` of ones), returning no loss, as zero-shot imputation does.

    Returns
    -------
    (call, info)
        ``info`` has ``params``.
    """
    import torch

    model = build_tspulse(seed)
    rng = np.random.default_rng(seed)
    context = int(TSPULSE_P8["context_length"])
    x = torch.from_numpy(rng.standard_normal((batch, context, 1)).astype(np.float32))
    observed = torch.ones_like(x)

    def call() -> Any:
        with torch.inference_mode():
            return model(past_values=x, past_observed_mask=observed, return_loss=False)

    params = int(sum(p.numel() for p in model.parameters()))
    return call, {"params": params}


#: points of the scored block at the end of each window, and the windows per forward (TSB-AD script)
AD_AGGREGATION = 96
AD_BATCH = 128


def tspulse_ad_reference(n_points: int, seed: int = 0) -> tuple[Callable[[], Any], dict[str, Any]]:
    """The reference whole-series anomaly scoring cost: every stride-1 window, one copy per masked patch.

    For each of ``n_points`` scored time steps, the 512-window ending there is copied once per patch of
    its last :data:`AD_AGGREGATION` points (12 copies at patch 8), each copy with that patch marked
    unobserved, and the copies go through the model in batches of :data:`AD_BATCH`
    (tspulse.md 2.5). Only the forwards are timed (stitching is negligible), so this is a lower bound
    of the reference cost. The cost is linear in ``n_points``: points per second extrapolate.
    """
    import torch

    model = build_tspulse(seed)
    context = int(TSPULSE_P8["context_length"])
    patch = int(TSPULSE_P8["patch_length"])
    n_copies = AD_AGGREGATION // patch
    rng = np.random.default_rng(seed)
    series = torch.from_numpy(rng.standard_normal(n_points + context).astype(np.float32))
    windows = series.unfold(0, context, 1)[:n_points]  # (n_points, context)
    masks = torch.ones(n_copies, context)
    for k in range(n_copies):
        start = context - AD_AGGREGATION + k * patch
        masks[k, start : start + patch] = 0.0

    def call() -> Any:
        with torch.inference_mode():
            for lo in range(0, n_points, max(1, AD_BATCH // n_copies)):
                w = windows[lo : lo + max(1, AD_BATCH // n_copies)]
                x = w[:, None, :].expand(-1, n_copies, -1).reshape(-1, context, 1)
                m = masks[None].expand(len(w), -1, -1).reshape(-1, context, 1)
                model(past_values=x, past_observed_mask=m, return_loss=False)

    return call, {"params": sum(int(p.numel()) for p in model.parameters()), "copies_per_point": n_copies}

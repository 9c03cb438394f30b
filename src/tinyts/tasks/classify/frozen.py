"""Frozen-feature classification: multi-layer TinyPulse features (optionally with MiniRocket's) and ridge.

No back-propagation: the pre-trained TinyPulse runs once per case and its tokens are summarised at a few
layers; a ridge classifier with built-in leave-one-out cross-validation over the regularisation (scikit-
learn's ``RidgeClassifierCV``, as MiniRocket's classifier) is fitted on the standardised features.

Features of one case, per channel and per chosen layer (layer 0 = the input tokens, ``1..L`` = after each
encoder layer, ``L+1..`` = after each decoder layer): the mean and the max of the time tokens, the mean
and the max of the FFT tokens and the register tokens themselves (``4 d + R d`` values); then each
channel's level and log-scale, which the model's instance normalisation removes. Multi-length
self-ensembling: this is done for the case resampled to the model's context (512 points) and for the
case resampled to 256 points in the first half of the context, the rest hidden (``lengths``); the
features are concatenated.

``method="hybrid"`` adds aeon's MiniRocket (10,000 kernels) on the cases brought to one length (NaN
linearly filled; shorter cases zero-padded at the end, as the MiniRocket peer does, longer ones resampled;
the length is the longest training case, within ``[9, 2048]``) with a ridge classifier of its own; the
class probabilities of the two ridges (a softmax of ``SCORE_TEMPERATURE`` times the ridge scores) are
averaged with weight ``pulse_weight`` (0.2) on TinyPulse's. Measured in ``docs/classification.md``:
averaging probabilities beat concatenating the two feature blocks into one ridge.

Everything fitted is a tensor of :class:`~tinyts.models.frozen.PulseFrozen` (the model, in
:mod:`tinyts.models.frozen`) -- standardisation, ridge coefficients and
intercepts, MiniRocket's dilations, channel combinations and biases -- so that ``save_pretrained``
writes ``config.json`` + ``model.safetensors`` only (no pickle).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from tinyts.models.frozen import (
    BATCH,
    DEFAULT_LAYERS,
    DEFAULT_LENGTHS,
    PULSE_WEIGHT,
    ROCKET_MAX_LENGTH,
    ROCKET_MIN_LENGTH,
    FrozenConfig,
    PulseFrozen,
    default_layers,
    layer_summaries,
    rocket_inputs,
)
from tinyts.models.pulse import TinyPulse

__all__ = [
    "DEFAULT_LAYERS",
    "DEFAULT_LENGTHS",
    "FrozenConfig",
    "PulseFrozen",
    "default_layers",
    "fit_frozen",
    "layer_summaries",
    "rocket_inputs",
    "rocket_length_for",
]


#: ridge regularisation grid (log-spaced), searched by leave-one-out cross-validation
ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 17))


def standardise(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale (standard deviation; 1 where a feature is constant)."""
    loc = feats.mean(axis=0)
    sd = feats.std(axis=0)
    return loc, np.where(sd > 1e-8, sd, 1.0)


def fit_ridge(z: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``RidgeClassifierCV`` over :data:`ALPHAS` on standardised features; ``(coef, intercept, alpha)``."""
    from sklearn.linear_model import RidgeClassifierCV

    ridge = RidgeClassifierCV(alphas=np.asarray(ALPHAS)).fit(z, codes)
    return np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_), float(ridge.alpha_)


def rocket_length_for(lengths: list[int]) -> int:
    """MiniRocket's input length: the longest training case, within ``[9, 2048]``."""
    return int(min(ROCKET_MAX_LENGTH, max(ROCKET_MIN_LENGTH, max(lengths))))


def fit_frozen(
    pulse: TinyPulse,
    values: torch.Tensor,
    observed: torch.Tensor,
    lengths: list[int],
    codes: np.ndarray,
    classes: list[Any],
    *,
    layers: list[int] | tuple[int, ...] | None = None,
    sizes: list[int] | tuple[int, ...] | None = None,
    hybrid: bool = True,
    pulse_weight: float = PULSE_WEIGHT,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> PulseFrozen:
    """Fit the frozen-feature classifier (and, with ``hybrid``, MiniRocket and its ridge).

    Parameters
    ----------
    pulse : TinyPulse
        The pre-trained model (its weights are copied).
    values, observed, lengths
        Cases as :func:`tinyts.tasks.classify.data.as_cases` returns them.
    codes : np.ndarray
        ``(n,)`` class index of every case.
    classes : list
        The class labels.
    layers : sequence of int, optional
        Summarised layers (:attr:`FrozenConfig.layers`); default :func:`default_layers`.
    sizes : sequence of int, optional
        The lengths of multi-length self-ensembling (:attr:`FrozenConfig.lengths`); default: the
        model's context and half of it.
    hybrid : bool
        Add MiniRocket on the cases brought to :func:`rocket_length_for` points (:func:`rocket_inputs`).
    pulse_weight : float
        Weight of TinyPulse's probabilities in the hybrid.
    seed : int
        MiniRocket's ``random_state``.
    progress : callable, optional
        Receives one line per stage (MiniRocket, TinyPulse features with elapsed and remaining time,
        ridge); None is silent.

    Returns
    -------
    PulseFrozen
        The fitted model, in eval mode.
    """
    say = progress or (lambda _line: None)
    tag = "[hybrid]" if hybrid else "[frozen]"
    start = time.perf_counter()
    pulse_cfg = dataclasses.asdict(pulse.config)
    pulse_cfg["channel_mixing"] = 0
    chosen = default_layers(pulse.config) if layers is None else layers
    context = pulse.config.context_length
    if sizes is None:
        sizes = (context, context // 2)
    cfg = FrozenConfig(
        pulse_cfg, int(values.shape[1]), list(classes), [int(k) for k in chosen], [int(n) for n in sizes]
    )
    parameters: tuple[np.ndarray, ...] = ()
    rocket_fit: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None = None
    if hybrid:
        from aeon.transformations.collection.convolution_based import MiniRocket

        rx = rocket_inputs(values, observed, lengths, rocket_length_for(lengths))
        say(
            f"{tag} MiniRocket: 10,000 kernels on {rx.shape[0]} cases x {rx.shape[1]} channel(s) x "
            f"{rx.shape[2]} points (the first fit after installation also compiles its numba code, once: "
            "~30 s)"
        )
        threads = torch.get_num_threads()
        tr = MiniRocket(n_jobs=1, random_state=seed).fit(rx)
        parameters = tuple(tr.parameters)
        rf = np.asarray(tr.transform(rx), dtype=np.float32)
        torch.set_num_threads(threads)  # aeon resets the OpenMP thread count that torch shares
        r_loc, r_scale = standardise(rf)
        rocket_fit = (r_loc, r_scale, *fit_ridge((rf - r_loc) / r_scale, codes))
        say(f"{tag} MiniRocket features and ridge done, {time.perf_counter() - start:.1f} s elapsed")
        cfg = dataclasses.replace(
            cfg,
            rocket_length=int(rx.shape[2]),
            rocket_sizes=[len(p) for p in parameters],
            pulse_weight=float(pulse_weight),
        )
    model = PulseFrozen(cfg)
    model.pulse.load_state_dict(pulse.state_dict(), strict=False)
    model.eval()
    total = len(cfg.lengths) * math.ceil(len(lengths) / BATCH)
    say(
        f"{tag} TinyPulse features: {len(lengths)} cases x {values.shape[1]} channel(s) at lengths "
        f"{list(cfg.lengths)}, layers {list(cfg.layers)} ({total} batches)"
    )
    feats = model.pulse_features(values, observed, lengths, _batch_reporter(say, tag, total))
    loc, scale = standardise(feats)
    coef, intercept, alpha = fit_ridge((feats - loc) / scale, codes)
    say(f"{tag} ridge fitted (alpha {alpha:g}); {time.perf_counter() - start:.1f} s in all")
    model.config.alpha = alpha
    model.set_ridge(loc, scale, coef, intercept)
    if rocket_fit is not None:
        model.set_rocket(parameters)
        model.set_ridge(*rocket_fit[:4], prefix="rocket_")
        model.config.rocket_alpha = rocket_fit[4]
    return model


def _batch_reporter(
    say: Callable[[str], None], tag: str, total: int, every: float = 5.0
) -> Callable[[], None]:
    """A per-batch callback that reports progress, time elapsed and left, at most every ``every`` s."""
    start = time.perf_counter()
    state = {"done": 0, "last": start}

    def tick() -> None:
        state["done"] += 1
        now, done = time.perf_counter(), state["done"]
        if done == total or now - state["last"] >= every:
            elapsed = now - start
            left = elapsed / done * (total - done)
            say(
                f"{tag} TinyPulse features: batch {done}/{total}, {elapsed:.0f} s elapsed, ~{left:.0f} s left"
            )
            state["last"] = now

    return tick

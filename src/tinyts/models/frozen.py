"""The frozen-feature classifier as a model: :class:`PulseFrozen` holds a TinyPulse and, as tensors,
everything fitted on top of it (feature standardisation, ridge coefficients and intercepts, MiniRocket's
dilations, channel combinations and biases), so that ``save_pretrained`` writes ``config.json`` +
``model.safetensors`` only (no pickle) and :func:`tinyts.models.load` reads it back.

The features (:func:`layer_summaries`) and the prediction live here; fitting (ridge with built-in
cross-validation, MiniRocket's fit) is in :mod:`tinyts.tasks.classify.frozen`, which documents the
method.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from tinyts.models.base import TinyModel, register_model
from tinyts.models.lens import pulse_tokens
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.nn.interp import resample_cases

__all__ = [
    "BATCH",
    "DEFAULT_LAYERS",
    "DEFAULT_LENGTHS",
    "PULSE_WEIGHT",
    "ROCKET_MAX_LENGTH",
    "ROCKET_MIN_LENGTH",
    "ROCKET_PARTS",
    "SCORE_TEMPERATURE",
    "FrozenConfig",
    "PulseFrozen",
    "default_layers",
    "layer_summaries",
    "rocket_inputs",
    "softmax",
]

#: layers whose tokens are summarised (0 = input tokens, 1..11 = encoder, 12..13 = decoder of the
#: bundled 11+2-layer TinyPulse); chosen in docs/classification.md ("Frozen features"). Other depths:
#: :func:`default_layers`
DEFAULT_LAYERS = (4, 8, 11, 13)

#: ridge scores are multiplied by this before the softmax that makes them probabilities
SCORE_TEMPERATURE = 5.0

#: weight of TinyPulse's probabilities in the hybrid (MiniRocket's: 1 - this)
PULSE_WEIGHT = 0.2

#: MiniRocket's parameter arrays: channels per combination, channel indices, dilations, features per
#: dilation (int32) and biases (float32)
ROCKET_PARTS = ("n_channels_per_combination", "channel_indices", "dilations", "features_per_dilation")

#: resampling bounds of the MiniRocket block (aeon's minimum length; a cap on cost)
ROCKET_MIN_LENGTH, ROCKET_MAX_LENGTH = 9, 2048

#: lengths the cases are resampled to before the bundled model sees them (padded, hidden, to its
#: context); other contexts: the context and half of it
DEFAULT_LENGTHS = (512, 256)

#: cases per forward pass
BATCH = 64


@dataclass
class FrozenConfig:
    """Configuration of :class:`PulseFrozen` (written to ``config.json`` by ``save_pretrained``).

    Attributes
    ----------
    pulse : dict
        The backbone's :class:`~tinyts.models.pulse.PulseConfig` fields.
    n_channels : int
        Channels of every case.
    classes : list
        Class labels (str or int), in the order of the scores.
    layers : list of int
        Summarised layers: 0 = input tokens, ``1..num_layers`` = encoder, then the decoder layers.
    lengths : list of int
        Each case is embedded once per length (resampled to it, then padded with hidden points to the
        context); the features are concatenated.
    rocket_length : int
        Length the cases are resampled to for MiniRocket; 0 = no MiniRocket block (``method="frozen"``).
    rocket_sizes : list of int
        Sizes of MiniRocket's five parameter arrays (see :data:`ROCKET_PARTS`, then the biases).
    pulse_weight : float
        Weight of TinyPulse's probabilities in the hybrid average (MiniRocket's: ``1 - pulse_weight``).
    alpha, rocket_alpha : float
        The ridge regularisations chosen by cross-validation (for the record).
    """

    pulse: dict[str, Any] = field(default_factory=dict)
    n_channels: int = 1
    classes: list[Any] = field(default_factory=lambda: [0, 1])
    layers: list[int] = field(default_factory=lambda: list(DEFAULT_LAYERS))
    lengths: list[int] = field(default_factory=lambda: list(DEFAULT_LENGTHS))
    rocket_length: int = 0
    rocket_sizes: list[int] = field(default_factory=list)
    pulse_weight: float = PULSE_WEIGHT
    alpha: float = 1.0
    rocket_alpha: float = 1.0

    def __post_init__(self) -> None:
        pc = self.pulse_config
        top = pc.num_layers + pc.decoder_layers
        if not self.layers or any(not 0 <= int(k) <= top for k in self.layers):
            raise ValueError(f"layers must be a non-empty list of integers in [0, {top}], got {self.layers}")
        if len(set(self.layers)) != len(self.layers):
            raise ValueError(f"layers must not repeat, got {self.layers}")
        if not self.lengths or any(not 2 <= int(n) <= pc.context_length for n in self.lengths):
            raise ValueError(
                f"lengths must be a non-empty list of integers in [2, {pc.context_length}], "
                f"got {self.lengths}"
            )
        if not 1 <= self.n_channels <= 4096:
            raise ValueError(f"n_channels must be in [1, 4096], got {self.n_channels}")
        if len(self.classes) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {len(self.classes)}")
        if self.rocket_length:
            if not ROCKET_MIN_LENGTH <= self.rocket_length <= ROCKET_MAX_LENGTH:
                raise ValueError(
                    f"rocket_length must be 0 or in [{ROCKET_MIN_LENGTH}, {ROCKET_MAX_LENGTH}], "
                    f"got {self.rocket_length}"
                )
            if len(self.rocket_sizes) != len(ROCKET_PARTS) + 1 or not all(
                0 < int(s) <= 1 << 20 for s in self.rocket_sizes
            ):
                raise ValueError(f"rocket_sizes must be 5 sizes in [1, 2**20], got {self.rocket_sizes}")
        elif self.rocket_sizes:
            raise ValueError("rocket_sizes must be empty when rocket_length is 0")
        if not 0.0 <= self.pulse_weight <= 1.0:
            raise ValueError(f"pulse_weight must be in [0, 1], got {self.pulse_weight}")

    @property
    def pulse_config(self) -> PulseConfig:
        return PulseConfig(**self.pulse)

    @property
    def per_channel(self) -> int:
        """Summary values per channel and layer: ``4 d + R d``."""
        pc = self.pulse_config
        return (4 + pc.num_registers) * pc.d_model

    @property
    def n_pulse_features(self) -> int:
        return len(self.lengths) * self.n_channels * (len(self.layers) * self.per_channel + 2)

    @property
    def n_rocket_features(self) -> int:
        return int(self.rocket_sizes[-1]) if self.rocket_length else 0

    @property
    def n_outputs(self) -> int:
        """Ridge outputs: 1 for two classes (sign = class), else one per class."""
        return 1 if len(self.classes) == 2 else len(self.classes)


def default_layers(config: PulseConfig) -> tuple[int, ...]:
    """:data:`DEFAULT_LAYERS` for the bundled depth; the same fractions of the depth otherwise.

    That is: about 4/13 and 8/13 of the way up, the last encoder layer and the last decoder layer.
    """
    top = config.num_layers + config.decoder_layers
    picks = {round(top * 4 / 13), round(top * 8 / 13), config.num_layers, top}
    return tuple(sorted(k for k in picks if 1 <= k <= top))


def layer_summaries(
    pulse: TinyPulse,
    x: torch.Tensor,
    observed: torch.Tensor,
    layers: list[int] | tuple[int, ...],
    on_batch: Callable[[], None] | None = None,
) -> torch.Tensor:
    """TinyPulse's token summaries at ``layers`` and the level/scale features: ``(n, F)`` float32.

    Parameters
    ----------
    pulse : TinyPulse
        The frozen model (eval mode is set by the caller).
    x, observed : torch.Tensor
        ``(n, C, context_length)`` raw values and bool observed mask.
    layers : sequence of int
        See :attr:`FrozenConfig.layers`; only the layers up to the highest one are run.
    on_batch : callable, optional
        Called after every batch of :data:`BATCH` cases (progress reporting).

    Returns
    -------
    torch.Tensor
        Per case: for each channel, each layer's ``[mean, max of time tokens, mean, max of FFT
        tokens, register tokens]``, then every channel's mean and log standard deviation.
    """
    pc = pulse.config
    n_t, n_f, top = pc.num_patches, pc.num_fft_patches, max(layers)
    blocks = list(pulse.encoder) + list(pulse.decoder)
    out, stats_all = [], []
    with torch.no_grad():
        for s in range(0, len(x), BATCH):
            h, stats = pulse_tokens(pulse, x[s : s + BATCH], observed[s : s + BATCH], upto=0)
            per_layer = []
            for k in range(top + 1):
                if k:
                    h = blocks[k - 1](h)
                if k in layers:
                    t, f, r = h[:, :, :n_t], h[:, :, n_t : n_t + n_f], h[:, :, n_t + n_f :]
                    per_layer.append(
                        torch.cat([t.mean(2), t.amax(2), f.mean(2), f.amax(2), r.flatten(2)], dim=2)
                    )
            # (B, C, layers, S) in the order of ``layers`` as given
            order = sorted(layers)
            stacked = torch.stack([per_layer[order.index(k)] for k in layers], dim=2)
            out.append(stacked.flatten(1))
            stats_all.append(stats)
            if on_batch is not None:
                on_batch()
    return torch.cat([torch.cat(out), torch.cat(stats_all)], dim=1).float()


@register_model("tinypulse_frozen_classifier")
class PulseFrozen(TinyModel):
    """Frozen TinyPulse features (optionally with MiniRocket's) and a ridge classifier, all as tensors."""

    config_class = FrozenConfig
    config: FrozenConfig
    feat_loc: torch.Tensor
    feat_scale: torch.Tensor
    coef: torch.Tensor
    intercept: torch.Tensor
    rocket_biases: torch.Tensor

    def __init__(self, config: FrozenConfig) -> None:
        super().__init__(config)
        pc = dataclasses.replace(config.pulse_config, channel_mixing=0)
        self.pulse = TinyPulse(pc)
        self._ridge_buffers("", config.n_pulse_features, config.n_outputs)
        if config.rocket_length:
            for name, size in zip(ROCKET_PARTS, config.rocket_sizes, strict=False):
                self.register_buffer(f"rocket_{name}", torch.zeros(int(size), dtype=torch.int32))
            self.register_buffer("rocket_biases", torch.zeros(int(config.rocket_sizes[-1])))
            self._ridge_buffers("rocket_", config.n_rocket_features, config.n_outputs)

    def _ridge_buffers(self, prefix: str, f: int, k: int) -> None:
        self.register_buffer(f"{prefix}feat_loc", torch.zeros(f))
        self.register_buffer(f"{prefix}feat_scale", torch.ones(f))
        self.register_buffer(f"{prefix}coef", torch.zeros(k, f, dtype=torch.float64))
        self.register_buffer(f"{prefix}intercept", torch.zeros(k, dtype=torch.float64))

    # ------------------------------------------------------------------------------- features
    def rocket_parameters(self) -> tuple[np.ndarray, ...]:
        """MiniRocket's fitted parameters as aeon holds them (``MiniRocket.parameters``)."""
        parts = [getattr(self, f"rocket_{name}").numpy().astype(np.int32) for name in ROCKET_PARTS]
        return (*parts, self.rocket_biases.numpy().astype(np.float32))

    def rocket_features(self, x: np.ndarray) -> np.ndarray:
        """MiniRocket features ``(n, F_r)`` of ``(n, C, rocket_length)`` cases (no refit)."""
        tr = _minirocket()
        tr.parameters = self.rocket_parameters()
        tr._n_jobs = 1
        tr.n_kernels_ = 10_000
        threads = torch.get_num_threads()
        try:
            return np.asarray(tr._transform(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float32)
        finally:  # aeon resets the OpenMP thread count that torch shares
            torch.set_num_threads(threads)

    def pulse_features(
        self,
        values: torch.Tensor,
        observed: torch.Tensor,
        lengths: list[int],
        on_batch: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """TinyPulse's unstandardised features ``(n, F_p)``: :func:`layer_summaries` at every length.

        Parameters
        ----------
        values, observed, lengths
            Cases as :func:`tinyts.tasks.classify.data.as_cases` returns them.
        on_batch : callable, optional
            Called after every batch (``len(self.config.lengths) * ceil(n / BATCH)`` calls).
        """
        self.pulse.eval()
        context = self.pulse.config.context_length
        feats = []
        for n_t in self.config.lengths:
            x, obs = resample_cases(values, observed, lengths, n_t)
            if n_t < context:
                pad = (0, context - n_t)
                x, obs = torch.nn.functional.pad(x, pad), torch.nn.functional.pad(obs, pad)
            feats.append(layer_summaries(self.pulse, x, obs, self.config.layers, on_batch).numpy())
        return np.concatenate(feats, axis=1)

    # ------------------------------------------------------------------------------- scores
    def scores(self, feats: np.ndarray, prefix: str = "") -> np.ndarray:
        """Ridge scores ``(n, n_classes)`` of unstandardised features (binary: ``[-s, s]``).

        ``prefix``: ``""`` for TinyPulse's ridge, ``"rocket_"`` for MiniRocket's.
        """
        loc, scale = getattr(self, f"{prefix}feat_loc"), getattr(self, f"{prefix}feat_scale")
        coef, intercept = getattr(self, f"{prefix}coef"), getattr(self, f"{prefix}intercept")
        z = (feats - loc.numpy()) / scale.numpy()
        s = _row_dot(z.astype(np.float64), coef.numpy()) + intercept.numpy()
        return np.concatenate([-s, s], axis=1) if self.config.n_outputs == 1 else s

    def predict_proba(self, values: torch.Tensor, observed: torch.Tensor, lengths: list[int]) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``: softmax of the ridge scores, averaged in the hybrid.

        Parameters
        ----------
        values, observed, lengths
            Cases as :func:`tinyts.tasks.classify.data.as_cases` returns them.
        """
        proba = softmax(SCORE_TEMPERATURE * self.scores(self.pulse_features(values, observed, lengths)))
        if not self.config.rocket_length:
            return proba
        rocket_x = rocket_inputs(values, observed, lengths, self.config.rocket_length)
        rocket = softmax(SCORE_TEMPERATURE * self.scores(self.rocket_features(rocket_x), "rocket_"))
        w = self.config.pulse_weight
        return w * proba + (1.0 - w) * rocket

    def set_ridge(
        self, loc: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray, prefix: str = ""
    ) -> None:
        """Store a fitted standardisation and ridge (``coef`` ``(n_outputs, F)``)."""
        getattr(self, f"{prefix}feat_loc").copy_(torch.from_numpy(np.asarray(loc, dtype=np.float32)))
        getattr(self, f"{prefix}feat_scale").copy_(torch.from_numpy(np.asarray(scale, dtype=np.float32)))
        c = getattr(self, f"{prefix}coef")
        c.copy_(torch.from_numpy(np.asarray(coef, dtype=np.float64).reshape(c.shape)))
        b = torch.from_numpy(np.asarray(intercept, dtype=np.float64).reshape(-1))
        getattr(self, f"{prefix}intercept").copy_(b)

    def set_rocket(self, parameters: tuple[np.ndarray, ...]) -> None:
        """Store MiniRocket's fitted parameters (``MiniRocket.parameters``)."""
        for name, arr in zip(ROCKET_PARTS, parameters[:4], strict=True):
            getattr(self, f"rocket_{name}").copy_(torch.from_numpy(np.asarray(arr, dtype=np.int32)))
        self.rocket_biases.copy_(torch.from_numpy(np.asarray(parameters[4], dtype=np.float32)))


def _row_dot(z: np.ndarray, coef: np.ndarray, rows: int = 64) -> np.ndarray:
    """``z @ coef.T`` computed row by row (products, then numpy's pairwise sum over features).

    Not BLAS: BLAS picks other kernels for other row counts, with other last bits, so a case's
    scores would depend on how many cases are classified with it (and a distributed run would not
    match the in-memory one bit for bit).
    """
    out = np.empty((len(z), len(coef)), dtype=np.float64)
    for lo in range(0, len(z), rows):
        out[lo : lo + rows] = (z[lo : lo + rows, None, :] * coef[None, :, :]).sum(axis=-1)
    return out


def softmax(s: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _minirocket() -> Any:
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError as exc:  # pragma: no cover
        raise ImportError("method='hybrid' needs aeon: pip install aeon") from exc
    return MiniRocket(n_jobs=1)


def rocket_inputs(
    values: torch.Tensor, observed: torch.Tensor, lengths: list[int], length: int
) -> np.ndarray:
    """Cases brought to ``length`` points for MiniRocket: ``(n, C, length)`` float32.

    Missing points are linearly filled (:func:`~tinyts.tasks.classify.data.resample_cases` on each
    case's own length); cases shorter than ``length`` are zero-padded at the end (as the MiniRocket peer
    is fed; the padding keeps the length as information), longer ones resampled to ``length``.
    """
    n, c = values.shape[:2]
    out = np.zeros((n, c, length), dtype=np.float32)
    lens = np.asarray(lengths)
    for n_t in sorted(set(lengths)):
        idx = np.flatnonzero(lens == n_t)
        keep = min(n_t, length)
        v, _ = resample_cases(values[idx], observed[idx], [n_t] * len(idx), keep)
        out[idx, :, :keep] = v.numpy()
    return out

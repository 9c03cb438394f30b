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

Everything fitted is a tensor of :class:`PulseFrozen` -- standardisation, ridge coefficients and
intercepts, MiniRocket's dilations, channel combinations and biases -- so that ``save_pretrained``
writes ``config.json`` + ``model.safetensors`` only (no pickle).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from tinyts.models.base import TinyModel, register_model
from tinyts.models.lens import pulse_tokens
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.tasks.classify.data import resample_cases

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

#: layers whose tokens are summarised (0 = input tokens, 1..11 = encoder, 12..13 = decoder of the
#: bundled 11+2-layer TinyPulse); chosen in docs/classification.md ("Frozen features"). Other depths:
#: :func:`default_layers`
DEFAULT_LAYERS = (4, 8, 11, 13)
#: ridge regularisation grid (log-spaced), searched by leave-one-out cross-validation
ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 17))
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
            f"{rx.shape[2]} points"
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

"""Time-series classification with TinyPulse, scikit-learn / aeon style.

::

    clf = tinyts.PulseClassifier(tinyts.load("tinypulse"), method="hybrid").fit(X_train, y_train)
    clf.predict(X_test); clf.predict_proba(X_test); clf.score(X_test, y_test)
    clf.save_pretrained("my-classifier"); clf = tinyts.PulseClassifier.from_pretrained("my-classifier")

``X`` is ``(n_cases, n_channels, n_timepoints)``, ``(n_cases, n_timepoints)`` or a list of
``(n_channels, n_timepoints_i)`` arrays of any length; NaN means missing. Every case is resampled to
the model's context (512 points).

Three methods (``method=``):

- ``"hybrid"`` (the default): frozen TinyPulse features with a ridge classifier, and aeon's MiniRocket
  with a ridge classifier of its own; their class probabilities are averaged (TinyPulse weight 0.2).
  Seconds, no back-propagation (:mod:`tinyts.tasks.classify.frozen`).
- ``"frozen"``: the frozen TinyPulse features and ridge alone.
- ``"tslens"``: fine-tuning with the TSLens head (the paper's method), below.

What :meth:`PulseClassifier.fit` does for ``"tslens"``:

1. A stratified ``val_fraction`` of TRAIN is held out for early stopping (nothing else is ever seen).
2. The lower encoder layers stay frozen; their output is cached for ``n_views`` views of every case:
   the case and copies with ``mask_ratio`` of their patches hidden (masking as augmentation).
3. The top ``encoder_layers`` encoder layers, the pre-trained decoder -- with a channel mixer per layer,
   identity-initialised, for multichannel data -- and the head (:mod:`tinyts.models.lens`) are
   trained with AdamW and label-smoothed cross-entropy, a random view per case and step; the step with
   the lowest validation loss is kept.
4. ``refit`` (default: TRAIN below 1,000 cases): a fresh model is trained on all of TRAIN for that
   many steps, so that small problems do not lose a fifth of their few cases.

See ``docs/classification.md`` for the measurements behind the defaults.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinyts.models.frozen import PULSE_WEIGHT, PulseFrozen
from tinyts.models.lens import PulseLens, lens_config_for
from tinyts.models.pulse import TinyPulse
from tinyts.nn.interp import resample_cases
from tinyts.options import ClassifyMethod, LensPooling, check_choice, choices
from tinyts.tasks.classify.data import as_cases, check_labels, stratified_split
from tinyts.tasks.classify.frozen import fit_frozen
from tinyts.tasks.distributed import fill_rows
from tinyts.train.finetune_classify import (
    INFER_BATCH,
    FitSettings,
    encode_views,
    fit_standardisation,
    predict_codes,
    say,
    train,
)

__all__ = ["METHODS", "PulseClassifier"]

#: the classification methods; the first is the default
METHODS = choices(ClassifyMethod)

#: ``refit=None`` refits on all of TRAIN when it has fewer cases than this
REFIT_BELOW = 1000


class PulseClassifier:
    """TinyPulse as a classifier: frozen features + MiniRocket (default), frozen features, or TSLens.

    Parameters
    ----------
    pulse : TinyPulse or str
        The pre-trained model, or a bundled name / checkpoint folder; it is copied, never modified.
    method : {"hybrid", "frozen", "tslens"}
        ``"hybrid"``: frozen TinyPulse features and MiniRocket, each with a ridge classifier, class
        probabilities averaged; ``"frozen"``: the TinyPulse features and ridge alone; ``"tslens"``:
        fine-tuning (every parameter below except ``layers``, ``lengths``, ``pulse_weight`` and ``seed`` is
        TSLens's). See ``docs/classification.md`` for the measurements.
    layers : sequence of int, optional
        Layers summarised by the frozen methods (0 = input tokens, then encoder and decoder layers);
        default: 4, 8, 11 and 13 of the bundled 11+2-layer model, the same fractions of other depths.
    lengths : sequence of int
        Frozen methods: every case is embedded once per length (multi-length self-ensembling: resampled
        to it, padded with hidden points to the context), features concatenated; default: the
        context and half of it (512 and 256 points).
    pulse_weight : float
        Weight of TinyPulse's probabilities in the hybrid average.
    pooling : {"lens", "flat", "avg", "max"}
        How the decoder tokens ``(C, P, d)`` become features. ``"lens"`` (TSLens): a learned
        reduction of the token axis to ``2 + R`` tokens (initialised as the mean of the time tokens, the
        mean of the FFT tokens and the R register tokens), flattened. ``"flat"``: TSPulse's form, every
        token reduced to ``reduce_dim`` features and all of them flattened. ``"avg"`` / ``"max"``:
        pooling over tokens (the ablation).
    reduce_dim : int
        Features per token for ``"flat"``.
    encoder_layers : int
        Top encoder layers fine-tuned along with the decoder (the rest is frozen and cached).
    epochs, min_steps, max_steps : int
        Length of the run: ``epochs`` epochs, but at least ``min_steps`` and at most ``max_steps``
        optimisation steps (the cosine learning-rate schedule spans that many).
    patience : int
        Stop after this many validation checks without a lower validation loss or a higher validation
        accuracy.
    eval_every : int
        Validate every ``max(1 epoch, eval_every)`` steps.
    batch_size : int
        Cases per step.
    lr : float
        Peak learning rate of the head; the backbone layers use ``lr * backbone_lr_ratio``.
    backbone_lr_ratio : float
        See ``lr``; 0 freezes the backbone (head only).
    weight_decay : float
        AdamW weight decay.
    mask_ratio : float
        Share of patches hidden in the augmented views.
    n_views : int
        Cached views per case (1 = no augmentation).
    val_fraction : float
        Share of TRAIN (stratified) held out for early stopping; 0 trains the full run on all of TRAIN.
    refit : bool or None
        Retrain on all of TRAIN for the early-stopped number of steps; None = when TRAIN has fewer than
        1,000 cases.
    head_dropout : float
        Dropout before the last linear layer.
    label_smoothing : float
        Cross-entropy label smoothing.
    channel_mixing : bool
        Switch the decoder's channel mixers on for multichannel data.
    max_cache_mb : float
        Memory cap of the cached tokens; fewer views are cached when needed.
    seed : int
        Seeds the split, masks, initialisation, dropout and batch order (TSLens) and MiniRocket's
        kernels (hybrid).
    verbose : bool
        Progress lines on stderr: TSLens, one per validation check (step, epoch, validation accuracy,
        time left); the frozen methods, one per stage (MiniRocket, TinyPulse features with time left,
        ridge). Off by default; ``tinyts classify fit`` turns it on.

    Attributes
    ----------
    classes_ : np.ndarray
        Class labels, in the order of :meth:`predict_proba`'s columns.
    history_ : list of dict
        The validation checks of the early-stopped run (TSLens; empty otherwise).
    best_step_ : int or None
        The step kept by early stopping (TSLens; None otherwise).
    validation_ : tuple of np.ndarray or None
        TSLens with a validation split: the true and the predicted class of every held-out validation
        case, as given (no masked views), at the kept step (before any refit); None otherwise. The
        validation accuracy of ``history_`` also counts the masked views.
    """

    def __init__(
        self,
        pulse: TinyPulse | str = "tinypulse",
        *,
        method: ClassifyMethod = "hybrid",
        layers: tuple[int, ...] | list[int] | None = None,
        lengths: tuple[int, ...] | list[int] | None = None,
        pulse_weight: float = PULSE_WEIGHT,
        pooling: LensPooling = "lens",
        reduce_dim: int = 4,
        encoder_layers: int = 2,
        epochs: int = 30,
        min_steps: int = 200,
        max_steps: int = 800,
        patience: int = 5,
        eval_every: int = 10,
        batch_size: int = 32,
        lr: float = 1e-3,
        backbone_lr_ratio: float = 1.0,
        weight_decay: float = 0.01,
        mask_ratio: float = 0.3,
        n_views: int = 4,
        val_fraction: float = 0.2,
        refit: bool | None = None,
        head_dropout: float = 0.2,
        label_smoothing: float = 0.1,
        channel_mixing: bool = True,
        max_cache_mb: float = 512.0,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        check_choice(method, ClassifyMethod, "method")
        if not 0.0 <= pulse_weight <= 1.0:
            raise ValueError(f"pulse_weight must be in [0, 1], got {pulse_weight}")
        check_choice(pooling, LensPooling, "pooling")
        positive = {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size, "n_views": n_views}
        for name, value in positive.items():
            if int(value) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if encoder_layers < 0:
            raise ValueError(f"encoder_layers must be >= 0, got {encoder_layers}")
        self.pulse = pulse
        self.method = method
        self.layers = None if layers is None else tuple(int(k) for k in layers)
        self.lengths = None if lengths is None else tuple(int(n) for n in lengths)
        self.pulse_weight = pulse_weight
        self.pooling = pooling
        self.reduce_dim = reduce_dim
        self.mask_ratio = mask_ratio
        self.n_views = n_views
        self.val_fraction = val_fraction
        self.refit = refit
        self.head_dropout = head_dropout
        self.channel_mixing = channel_mixing
        self.max_cache_mb = max_cache_mb
        self.seed = seed
        self.settings = FitSettings(
            encoder_layers=encoder_layers,
            epochs=epochs,
            min_steps=min_steps,
            max_steps=max_steps,
            patience=patience,
            eval_every=eval_every,
            batch_size=batch_size,
            lr=lr,
            backbone_lr_ratio=backbone_lr_ratio,
            weight_decay=weight_decay,
            label_smoothing=label_smoothing,
            verbose=verbose,
        )
        self.model_: PulseLens | PulseFrozen | None = None
        self.history_: list[dict[str, float]] = []
        self.best_step_: int | None = None
        self.validation_: tuple[np.ndarray, np.ndarray] | None = None

    # ----------------------------------------------------------------------------------- public API
    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self._fitted().config.classes)

    @property
    def n_channels_(self) -> int:
        """Channels the classifier was fitted on."""
        return self._fitted().config.n_channels

    def fit(self, X: Any, y: Any) -> PulseClassifier:
        """Fit on ``(X, y)`` with the chosen ``method``; see the module docstring for the procedure.

        Parameters
        ----------
        X : array-like or list of arrays
            ``(n_cases, n_channels, n_timepoints)``, ``(n_cases, n_timepoints)`` or a list of
            ``(n_channels, n_timepoints_i)`` arrays; NaN = missing.
        y : array-like
            ``(n_cases,)`` class labels, at least 2 classes.

        Returns
        -------
        PulseClassifier
            ``self``, fitted.
        """
        values, observed, lengths = as_cases(X, "X")
        classes, codes_np = check_labels(y, len(lengths))
        pulse = self._backbone()
        labels = [c.item() if isinstance(c, np.generic) else c for c in classes]
        self.history_, self.best_step_, self.validation_ = [], None, None
        if self.method != "tslens":
            self.model_ = fit_frozen(
                pulse,
                values,
                observed,
                lengths,
                codes_np,
                labels,
                layers=self.layers,
                sizes=self.lengths,
                hybrid=self.method == "hybrid",
                pulse_weight=self.pulse_weight,
                seed=self.seed,
                progress=say if self.settings.verbose else None,
            )
            return self
        config = lens_config_for(
            pulse,
            int(values.shape[1]),
            labels,
            self.pooling,
            self.reduce_dim,
            self.head_dropout,
            self.channel_mixing,
        )
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        model = PulseLens.from_backbone(pulse, config).eval()
        x, obs = resample_cases(values, observed, lengths, pulse.config.context_length)
        codes = torch.from_numpy(codes_np)
        cut = self.settings.cut(model)
        views = self._views_for(len(codes), x.shape[1], model)
        if self.settings.verbose:
            say(f"[tslens] encoding {len(codes)} cases x {x.shape[1]} channel(s) x {views} view(s)")
        tokens, stats = encode_views(model, x, obs, views, cut, self.mask_ratio, rng)
        tr, va = (torch.from_numpy(i) for i in stratified_split(codes_np, self.val_fraction, rng))
        fit_standardisation(model, tokens[:, tr], stats[:, tr], cut)
        val = (tokens[:, va], stats[:, va], codes[va]) if len(va) else None
        settings = dataclasses.replace(self.settings, stage="tslens: early-stopping run")
        self.history_, self.best_step_ = train(
            model, tokens[:, tr], stats[:, tr], codes[tr], settings, rng, val=val
        )
        if len(va):
            pred = predict_codes(model, tokens[0, va], stats[0, va], cut)
            self.validation_ = (np.asarray(classes)[codes_np[va]], np.asarray(classes)[pred])
        refit = self.refit if self.refit is not None else len(codes) < REFIT_BELOW
        if refit and len(va):
            torch.manual_seed(self.seed + 1)
            model = PulseLens.from_backbone(pulse, config).eval()
            fit_standardisation(model, tokens, stats, cut)
            settings = dataclasses.replace(self.settings, stage=f"tslens: refit to step {self.best_step_}")
            train(model, tokens, stats, codes, settings, rng, stop_at=self.best_step_)
        self.model_ = model.eval()
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_cases, n_classes)``; rows sum to 1, columns follow ``classes_``."""
        model = self._fitted()
        values, observed, lengths = as_cases(X, "X")
        if values.shape[1] != model.config.n_channels:
            raise ValueError(
                f"X has {values.shape[1]} channel(s) but the classifier was fitted on "
                f"{model.config.n_channels}; pass cases with the same channels as in fit"
            )
        if isinstance(model, PulseFrozen):
            return model.predict_proba(values, observed, lengths)
        x, obs = resample_cases(values, observed, lengths, model.pulse.config.context_length)
        out = []
        with torch.no_grad():
            for s in range(0, len(x), INFER_BATCH):
                # fill_rows: at least MIN_ROWS cases per pass; a case's probabilities must not depend on how
                # many cases come with it (distributed runs match in-memory ones)
                rows = torch.arange(s, min(s + INFER_BATCH, len(x)))
                pad = fill_rows(rows)
                logits = model(x[pad], obs[pad])[: len(rows)]
                out.append(torch.softmax(logits.double(), dim=-1))
        return torch.cat(out).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of every case, ``(n_cases,)``."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on ``(X, y)``."""
        pred = self.predict(X)
        truth = np.asarray(y)
        if truth.shape != pred.shape:
            raise ValueError(
                f"X has {len(pred)} cases but y has shape {truth.shape}; pass one label per case"
            )
        return float(np.mean(pred.astype(str) == truth.astype(str)))

    def fit_df(self, df: Any, labels: Any, **kwargs: Any) -> PulseClassifier:
        """Fit on a long DataFrame, one case per series: :func:`tinyts.tasks.frames.fit_classifier_df`."""
        from tinyts.tasks.frames import fit_classifier_df

        return fit_classifier_df(self, df, labels, **kwargs)

    def predict_df(self, df: Any, **kwargs: Any) -> Any:
        """One row per series of a long DataFrame: :func:`tinyts.tasks.frames.classify_df`."""
        from tinyts.tasks.frames import classify_df

        return classify_df(self, df, **kwargs)

    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted classifier as ``config.json`` + ``model.safetensors`` (no pickle).

        Every method's fitted state is tensors: TSLens's weights; the frozen methods' standardisation,
        ridge coefficients and intercepts, and MiniRocket's dilations, channel combinations and biases.
        """
        return self._fitted().save_pretrained(path)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> PulseClassifier:
        """Load a classifier written by :meth:`save_pretrained` (safetensors only, no pickle).

        Raises
        ------
        tinyts.models.base.CheckpointError
            Missing or corrupt files, or a folder holding another kind of model.
        """
        from tinyts.models.base import CheckpointError, load

        model = load(path)
        if isinstance(model, PulseFrozen):
            cfg = model.config
            method: ClassifyMethod = "hybrid" if cfg.rocket_length else "frozen"
            clf = cls(
                model.pulse,
                method=method,
                layers=cfg.layers,
                lengths=cfg.lengths,
                pulse_weight=cfg.pulse_weight,
            )
        elif isinstance(model, PulseLens):
            pooling, reduce_dim = model.config.pooling, model.config.reduce_dim
            clf = cls(model.pulse, method="tslens", pooling=pooling, reduce_dim=reduce_dim)
        else:
            raise CheckpointError(
                f"{path} holds a {type(model).__name__} ({model.model_type!r}), not a PulseClassifier"
            )
        clf.model_ = model.eval()
        return clf

    # ----------------------------------------------------------------------------------- internals
    def _fitted(self) -> PulseLens | PulseFrozen:
        if self.model_ is None:
            raise ValueError("this PulseClassifier is not fitted yet; call fit(X, y) first")
        return self.model_

    def _backbone(self) -> TinyPulse:
        from tinyts.models.base import resolve

        return resolve(self.pulse, TinyPulse, what="pulse")

    def _views_for(self, n_cases: int, n_channels: int, model: PulseLens) -> int:
        pc = model.pulse.config
        per_view_mb = n_cases * n_channels * pc.num_tokens * pc.d_model * 2 / 2**20  # float16
        return max(1, min(self.n_views, int(self.max_cache_mb // max(per_view_mb, 1e-9))))

"""``TinyPulseClassifier``: :class:`tinyts.PulseClassifier` (hybrid, frozen, TSLens) for aeon."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from aeon.classification import BaseClassifier
from sklearn.utils import check_random_state

from tinyts.estimators._models import tiny_checkpoint
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.options import ClassifyMethod, LensPooling

__all__ = ["TinyPulseClassifier"]


class TinyPulseClassifier(BaseClassifier):
    """TinyPulse as a time-series classifier, with aeon's ``BaseClassifier`` interface.

    A thin wrapper of :class:`tinyts.tasks.classify.api.PulseClassifier`: ``fit`` fits the chosen
    ``method`` (by default frozen TinyPulse features and MiniRocket, each with a ridge classifier,
    probabilities averaged; or the frozen features alone; or TSLens fine-tuning), ``predict_proba``
    runs it. aeon converts the input
    (numpy, lists of unequal length, DataFrames) and checks labels and capabilities; every case is
    then resampled to the model's context. See ``docs/classification.md`` for the procedure and
    ``docs/estimators.md`` for the aeon specifics.

    Parameters
    ----------
    model : str, os.PathLike or TinyPulse, default="tinypulse"
        The pre-trained backbone: a bundled name, a checkpoint folder or a loaded model; it is
        copied, never modified.
    method : {"hybrid", "frozen", "tslens"}, default="hybrid"
        See :class:`tinyts.PulseClassifier`; the parameters from ``pooling`` to ``max_cache_mb`` are
        TSLens's.
    layers : tuple of int or None, default=None
        Layers summarised by the frozen methods (None: 4, 8, 11, 13 of the bundled 11+2-layer model,
        the same fractions of the depth for other models).
    lengths : tuple of int or None, default=None
        Input lengths of the frozen methods' multi-length self-ensembling (None: the model's context
        and half of it).
    pulse_weight : float, default=0.2
        Weight of TinyPulse's probabilities in the hybrid.
    pooling : {"lens", "flat", "avg", "max"}, default="lens"
        How decoder tokens become features (TSLens by default).
    reduce_dim : int, default=4
        Features per token for ``pooling="flat"``.
    encoder_layers : int, default=2
        Top encoder layers fine-tuned with the decoder; the rest is frozen and cached.
    epochs, min_steps, max_steps : int, default=30, 200, 800
        ``epochs`` epochs, bounded to ``[min_steps, max_steps]`` optimisation steps.
    patience : int, default=5
        Validation checks without improvement before early stopping.
    eval_every : int, default=10
        Validate every ``max(1 epoch, eval_every)`` steps.
    batch_size : int, default=32
        Cases per step.
    lr : float, default=1e-3
        Peak learning rate of the head (the backbone uses ``lr * backbone_lr_ratio``).
    backbone_lr_ratio : float, default=1.0
        0 trains the head only.
    weight_decay : float, default=0.01
        AdamW weight decay.
    mask_ratio : float, default=0.3
        Share of patches hidden in the augmented views.
    n_views : int, default=4
        Cached views per case (1 = no augmentation).
    val_fraction : float, default=0.2
        Stratified share of the training cases held out for early stopping.
    refit : bool or None, default=None
        Retrain on all cases for the early-stopped number of steps; None = below 1,000 cases.
    head_dropout : float, default=0.2
        Dropout before the last linear layer.
    label_smoothing : float, default=0.1
        Cross-entropy label smoothing.
    channel_mixing : bool, default=True
        Learn cross-channel mixing for multichannel data.
    max_cache_mb : float, default=512.0
        Memory cap of the cached tokens.
    random_state : int or None, default=None
        Seeds MiniRocket (hybrid) and TSLens's split, masks, initialisation, dropout and batch order.
        None draws a seed from numpy's global generator (scikit-learn's convention); an int makes
        ``fit`` reproducible.
    verbose : bool, default=False
        TSLens: print one progress line per validation check.

    Attributes
    ----------
    classes_ : np.ndarray
        The sorted class labels (aeon's convention); columns of ``predict_proba``.
    n_classes_ : int
        Number of classes.
    classifier_ : tinyts.PulseClassifier
        The fitted tinyts classifier (it is trained on the integer codes of ``classes_``);
        ``classifier_.save_pretrained(folder)`` writes it as a checkpoint.

    Examples
    --------
    >>> from aeon.datasets import load_gunpoint
    >>> from tinyts.estimators import TinyPulseClassifier
    >>> X, y = load_gunpoint(split="train")
    >>> clf = TinyPulseClassifier(random_state=0).fit(X, y)  # doctest: +SKIP
    >>> clf.predict(load_gunpoint(split="test")[0])  # doctest: +SKIP
    """

    _tags: ClassVar[dict[str, Any]] = {
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:missing_values": True,
        "X_inner_type": ["np-list", "numpy3D"],
        "algorithm_type": "deeplearning",
    }

    def __init__(
        self,
        model: Any = "tinypulse",
        method: ClassifyMethod = "hybrid",
        layers: tuple[int, ...] | None = None,
        lengths: tuple[int, ...] | None = None,
        pulse_weight: float = 0.2,
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
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.model = model
        self.method = method
        self.layers = layers
        self.lengths = lengths
        self.pulse_weight = pulse_weight
        self.pooling = pooling
        self.reduce_dim = reduce_dim
        self.encoder_layers = encoder_layers
        self.epochs = epochs
        self.min_steps = min_steps
        self.max_steps = max_steps
        self.patience = patience
        self.eval_every = eval_every
        self.batch_size = batch_size
        self.lr = lr
        self.backbone_lr_ratio = backbone_lr_ratio
        self.weight_decay = weight_decay
        self.mask_ratio = mask_ratio
        self.n_views = n_views
        self.val_fraction = val_fraction
        self.refit = refit
        self.head_dropout = head_dropout
        self.label_smoothing = label_smoothing
        self.channel_mixing = channel_mixing
        self.max_cache_mb = max_cache_mb
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()

    def _fit(self, X: Any, y: np.ndarray) -> TinyPulseClassifier:
        from tinyts.tasks.classify.api import PulseClassifier

        pulse = resolve(self.model, TinyPulse, cache=True)
        if self.random_state is None:
            seed = int(check_random_state(None).randint(0, 2**31 - 1))  # scikit-learn's convention
        else:
            seed = int(self.random_state)
        clf = PulseClassifier(
            pulse,
            method=self.method,
            layers=self.layers,
            lengths=self.lengths,
            pulse_weight=self.pulse_weight,
            pooling=self.pooling,
            reduce_dim=self.reduce_dim,
            encoder_layers=self.encoder_layers,
            epochs=self.epochs,
            min_steps=self.min_steps,
            max_steps=self.max_steps,
            patience=self.patience,
            eval_every=self.eval_every,
            batch_size=self.batch_size,
            lr=self.lr,
            backbone_lr_ratio=self.backbone_lr_ratio,
            weight_decay=self.weight_decay,
            mask_ratio=self.mask_ratio,
            n_views=self.n_views,
            val_fraction=self.val_fraction,
            refit=self.refit,
            head_dropout=self.head_dropout,
            label_smoothing=self.label_smoothing,
            channel_mixing=self.channel_mixing,
            max_cache_mb=self.max_cache_mb,
            seed=seed,
            verbose=self.verbose,
        )
        # integer codes of aeon's sorted classes_, so that the columns follow classes_ whatever the labels
        codes = np.array([self._class_dictionary[label] for label in y], dtype=np.int64)
        self.classifier_ = clf.fit(X, codes)
        return self

    def _predict_proba(self, X: Any) -> np.ndarray:
        proba = self.classifier_.predict_proba(X)
        out = np.zeros((proba.shape[0], self.n_classes_))
        out[:, self.classifier_.classes_.astype(np.int64)] = proba
        return out

    def _predict(self, X: Any) -> np.ndarray:
        return self.classes_[self._predict_proba(X).argmax(axis=1)]

    @classmethod
    def _get_test_params(cls, parameter_set: str = "default") -> dict[str, Any]:
        """Fast settings for aeon's estimator checks: a tiny random-initialised TinyPulse.

        ``"default"``: the default (hybrid) method; ``"tslens"``: TSLens for 4 steps. The checks test
        the interface, not accuracy; a real run uses the bundled model.
        """
        if parameter_set != "tslens":
            return {"model": tiny_checkpoint("pulse"), "random_state": 0}
        return {
            "method": "tslens",
            "model": tiny_checkpoint("pulse"),
            "encoder_layers": 1,
            "epochs": 1,
            "min_steps": 4,
            "max_steps": 4,
            "batch_size": 8,
            "n_views": 1,
            "random_state": 0,
        }

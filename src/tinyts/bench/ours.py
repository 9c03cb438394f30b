"""tinyts's own methods in the benchmark suites, next to the peers and with the same signatures.

Each loads its bundled checkpoint once per process. When a checkpoint is not bundled (an early
development state), the method raises :class:`NotBundled`, which the suites record as a skipped case.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tinyts.bench.peers.detectors import NotApplicable
from tinyts.options import AnomalyHeadScale, EmbedKind, ImputeBlend


class NotBundled(NotApplicable):
    """The tinyts checkpoint a method needs is not shipped in this installation."""


def bundled_model(name: str) -> Any:
    """The bundled model ``name``, loaded once per process; :class:`NotBundled` if it is not shipped."""
    from tinyts.models.base import TinyModel, bundled_names, resolve

    if name not in bundled_names():
        raise NotBundled(f"no bundled '{name}' checkpoint in this installation")
    return resolve(name, TinyModel, cache=True)


# ---------------------------------------------------------------------------------- anomaly

#: the ensemble's head scaling that is not the default (``tinyts.tasks.pulse.anomaly.HEAD_SCALE``; a test
#: keeps the two apart), measured as its own row
OTHER_HEAD_SCALE: AnomalyHeadScale = "minmax"

PULSE_MODES = {
    "tinypulse_time": "time",
    "tinypulse_fft": "fft",
    "tinypulse_forecast": "forecast",
    "tinypulse": "ensemble",
    "tinypulse_mean": "ensemble_mean",
    "tinypulse_boost": "ensemble_boost",
    # the ensemble with the other head scaling than the default (anomaly.HEAD_SCALE), a row of its own
    f"tinypulse_{OTHER_HEAD_SCALE}": f"ensemble_{OTHER_HEAD_SCALE}",
    "tinypulse_tta": "ensemble_tta",
}
_LAST: dict[str, Any] = {"key": None, "scores": None}


def _pulse_all_modes(values: np.ndarray, tta: bool = False) -> dict[str, np.ndarray]:
    """Scores of every mode for one series, computed once (the suite asks mode by mode); ``tta``: the
    errors with the test-time views (only the ``ensemble_tta`` mode), computed only when asked for."""
    key = (values.shape, float(np.nansum(values[..., :: max(1, values.shape[-1] // 97)])), id(values), tta)
    if _LAST["key"] != key:
        from tinyts.tasks.pulse.anomaly import BOOST_OPT_IN, fuse_heads, series_errors

        errors = series_errors(bundled_model("tinypulse"), np.asarray(values, dtype=np.float64), tta=tta)
        fused = fuse_heads(errors, "max")
        if tta:
            fused = {"ensemble_tta": fused["ensemble"]}
        else:
            fused["ensemble_mean"] = fuse_heads(errors, "mean")["ensemble"]
            fused["ensemble_boost"] = fuse_heads(errors, "max", boost=BOOST_OPT_IN)["ensemble"]
            other = fuse_heads(errors, "max", head_scale=OTHER_HEAD_SCALE)["ensemble"]
            fused[f"ensemble_{OTHER_HEAD_SCALE}"] = other
        _LAST["scores"], _LAST["key"] = fused, key
    scores: dict[str, np.ndarray] = _LAST["scores"]
    return scores


def _pulse_detector(mode: str) -> Any:
    def detect(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
        return _pulse_all_modes(values, tta=mode.endswith("_tta"))[mode]

    detect.__name__ = f"tinypulse_{mode}"
    return detect


#: anomaly detectors of tinyts (zero-shot): method name -> ``(values, train_end, seed) -> scores``
PULSE_DETECTORS = {name: _pulse_detector(mode) for name, mode in PULSE_MODES.items()}


def pulse_finetuned(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """``tinypulse_ft``: TinyPulse fine-tuned on the series' labelled anomaly-free train prefix."""
    from tinyts.tasks.pulse.anomaly import finetuned_anomaly_scores

    model = bundled_model("tinypulse")
    if train_end is None or train_end < model.config.context_length:
        raise NotApplicable(
            f"needs a train prefix of at least {model.config.context_length} points (has {train_end})"
        )
    x = np.asarray(values, dtype=np.float64)
    keep = x[:, :train_end].std(axis=1) > 0  # constant channels carry nothing to adapt to
    scores: np.ndarray = finetuned_anomaly_scores(model, x[keep] if keep.any() else x, train_end, seed=seed)
    return scores


def triangulate(
    vus: dict[str, dict[str, float]], families: dict[str, str], modes: tuple[str, ...]
) -> dict[str, str]:
    """Leave-one-out choice of a mode per series: the best mean VUS-PR on the *other* series of its family.

    Parameters
    ----------
    vus : dict
        series -> method -> VUS-PR.
    families : dict
        series -> family.
    modes : tuple of str
        Candidate methods.

    Returns
    -------
    dict
        series -> chosen method. A family with a single series falls back to the first mode.
    """
    chosen: dict[str, str] = {}
    for name, fam in families.items():
        others = [
            s for s, f in families.items() if f == fam and s != name and all(m in vus[s] for m in modes)
        ]
        if not others:
            chosen[name] = modes[0]
            continue
        means = {m: float(np.mean([vus[s][m] for s in others])) for m in modes}
        chosen[name] = max(modes, key=lambda m: means[m])
    return chosen


# ---------------------------------------------------------------------------------- imputation


def pulse_imputer(setup: Any, blend: ImputeBlend = "none", tta: bool = True) -> Any:
    """Imputation-suite factory: TinyPulse zero-shot on ``(n_windows, 512)`` windows with NaN.

    Uses nothing from ``setup`` (no training data: zero-shot). Every window goes through
    :func:`tinyts.tasks.pulse.impute.impute` with ``blend`` (``"none"``: the model's fill only;
    ``"auto"``: the self-checked blend with linear interpolation) and ``tta`` (the four test-time
    views, the default, or one pass).
    """
    model = bundled_model("tinypulse")
    setup.info.update(
        model="tinypulse (bundled)", params=model.num_parameters(), zero_shot=True, blend=blend, tta=tta
    )

    def impute(windows: np.ndarray) -> np.ndarray:
        from tinyts.tasks.pulse.impute import impute as run

        x = np.asarray(windows, dtype=np.float64)[:, None, :]
        filled: np.ndarray = run(model, x, blend=blend, tta=tta)[:, 0, :]
        return filled

    return impute


def pulse_single_imputer(setup: Any) -> Any:
    """Imputation-suite factory: :func:`pulse_imputer` with ``tta=False`` (one pass per window)."""
    return pulse_imputer(setup, tta=False)


def pulse_blend_imputer(setup: Any) -> Any:
    """Imputation-suite factory: :func:`pulse_imputer` with ``blend="auto"``."""
    return pulse_imputer(setup, blend="auto")


# ---------------------------------------------------------------------------------- speed


def pulse_speed_case(batch: int) -> tuple[Any, dict[str, Any]]:
    """Speed-suite builder: one TinyPulse forward over ``(batch, 1, 512)`` windows, all observed."""
    import torch

    model = bundled_model("tinypulse")
    x = torch.randn(batch, 1, model.config.context_length)
    obs = torch.ones_like(x, dtype=torch.bool)

    def call() -> Any:
        with torch.inference_mode():
            return model(x, obs)

    return call, {"params": model.num_parameters()}


def pulse_detect_case(n_points: int) -> tuple[Any, dict[str, Any]]:
    """Speed-suite builder: TinyPulse ensemble anomaly scores of one random-walk series of ``n_points``."""
    from tinyts.tasks.pulse.anomaly import anomaly_scores

    model = bundled_model("tinypulse")
    x = np.random.default_rng(0).standard_normal(n_points).cumsum()

    def call() -> Any:
        return anomaly_scores(model, x, mode="ensemble")

    return call, {"params": model.num_parameters()}


# ---------------------------------------------------------------------------------- forecasting


def cast_forecaster(setup: Any, model: Any = None, **options: Any) -> Any:
    """Forecasting-suite factory: TinyCast zero-shot, median as the point forecast, 9 quantiles.

    Every context is one univariate series (the suite's protocol).

    Parameters
    ----------
    setup : ForecastSetup
        Its ``info`` records the model, its size and the options.
    model : str, TinyCast or None
        A checkpoint folder (the ablation suite's models) or a loaded model (a training run's, named
        by its ``name`` in ``setup.info``); default the bundled ``tinycast``.
    **options
        Keyword arguments of :func:`tinyts.tasks.forecast.api.forecast` (``sifi``, ``symmetry``,
        ``strategy``, ...); none = its defaults (SIFI and sign-flip symmetry on).
    """
    from tinyts.bench.peers.forecasters import ForecastOutput
    from tinyts.models.base import resolve
    from tinyts.models.cast import TinyCast

    if model is None or isinstance(model, (str, os.PathLike)):
        net: Any = bundled_model("tinycast") if model is None else resolve(model, TinyCast)
        name = "tinycast (bundled)" if model is None else str(model)
    else:
        net, name = model, "a loaded model"
    setup.info.update(
        model=name,
        params=net.num_parameters(),
        zero_shot=True,
        **{k: repr(v) for k, v in options.items()},
    )

    def forecast(contexts: np.ndarray, horizon: int) -> Any:
        from tinyts.tasks.forecast.api import forecast as run

        # (n, 1, time): n univariate series, not n channels of one series
        res = run(net, np.asarray(contexts, dtype=np.float64)[:, None, :], int(horizon), **options)
        quant = np.asarray(res.quantiles, dtype=np.float64)[:, 0]
        return ForecastOutput(quant[..., res.levels.index(0.5)].copy(), quant)

    return forecast


def cast_speed_case(batch: int) -> tuple[Any, dict[str, Any]]:
    """Speed-suite builder: TinyCast forecasts of horizon 96 from ``(batch, 512)`` random-walk contexts."""
    from tinyts.tasks.forecast.api import forecast

    model = bundled_model("tinycast")
    # (batch, 1, time): a batch of univariate series
    x = np.random.default_rng(0).standard_normal((batch, 1, model.config.context_length)).cumsum(axis=-1)

    def call() -> Any:
        return forecast(model, x, 96)

    return call, {"params": model.num_parameters()}


# ---------------------------------------------------------------------------------- retrieval


def pulse_retrieval_embedder(kind: EmbedKind = "register", shifts: int | None = None) -> Any:
    """Retrieval-suite embedder: TinyPulse embeddings of ``(n, 512)`` database and query rows.

    ``kind`` and ``shifts`` are those of :func:`tinyts.tasks.pulse.embed.embed` (register embeddings averaged
    over 16 circular shifts by default). Zero-shot: nothing is fitted.
    """

    def embed_both(database: np.ndarray, queries: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from tinyts.tasks.pulse.embed import embed

        model = bundled_model("tinypulse")
        db = embed(model, np.asarray(database, dtype=np.float64)[:, None, :], kind=kind, shifts=shifts)
        q = embed(model, np.asarray(queries, dtype=np.float64)[:, None, :], kind=kind, shifts=shifts)
        return db, q

    embed_both.__name__ = f"tinypulse_{kind}_{shifts}"
    return embed_both

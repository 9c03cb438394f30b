"""Settings of the HTTP service and the models it loads once at start-up.

Models come only from bundled names (:func:`tinyts.bundled_names`) or local checkpoint folders, read
with :func:`tinyts.load` (``config.json`` + ``model.safetensors``, never pickle); anything that looks
like a URL is refused. This module does not import FastAPI.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: defaults of the request limits (see :class:`ServeConfig`)
DEFAULT_MAX_BODY_BYTES = 16 * 2**20
DEFAULT_MAX_SERIES = 1024
DEFAULT_MAX_POINTS = 100_000
DEFAULT_MAX_HORIZON = 4096

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

#: a bundled name, a local folder (str or path) or an already loaded model object
Source = Any


@dataclass
class ServeConfig:
    """What :func:`tinyts.serve.create_app` loads and how much one request may ask for.

    Attributes
    ----------
    pulse : str, path, TinyPulse or None
        TinyPulse for ``/v1/impute``, ``/v1/detect`` and ``/v1/embed``: a bundled name, a checkpoint
        folder or a model object; None = those routes answer 503.
    cast : str, path, TinyCast or None
        TinyCast for ``/v1/forecast``; None = 503.
    classifier : str, path, PulseClassifier or None
        A folder written by ``PulseClassifier.save_pretrained`` (``tinyts classify fit``) for
        ``/v1/classify``; None = 503.
    max_body_bytes : int
        Largest request body (413 beyond).
    max_series : int
        Most series in one request (413 beyond).
    max_points : int
        Most values in one series, channels x time points (413 beyond).
    max_horizon : int
        Longest forecast horizon (422 beyond).
    max_concurrent : int
        Model calls running at once; further requests wait for a slot (bounds CPU and memory).
    """

    pulse: Source | None = "tinypulse"
    cast: Source | None = None
    classifier: Source | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_series: int = DEFAULT_MAX_SERIES
    max_points: int = DEFAULT_MAX_POINTS
    max_horizon: int = DEFAULT_MAX_HORIZON
    max_concurrent: int = 2

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_series", "max_points", "max_horizon", "max_concurrent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")

    def limits(self) -> dict[str, int]:
        return {
            "max_body_bytes": self.max_body_bytes,
            "max_series": self.max_series,
            "max_points": self.max_points,
            "max_horizon": self.max_horizon,
            "max_concurrent": self.max_concurrent,
        }


@dataclass
class Loaded:
    """One loaded model: its role, the name shown by ``/health``, and a lock when calls must not overlap."""

    role: str
    name: str
    type: str
    parameters: int
    model: Any
    lock: threading.Lock | None = field(default=None, repr=False)


@dataclass
class Models:
    pulse: Loaded | None = None
    cast: Loaded | None = None
    classifier: Loaded | None = None

    def loaded(self) -> list[Loaded]:
        return [m for m in (self.pulse, self.cast, self.classifier) if m is not None]


def _display_name(raw: str) -> str:
    """A bundled name as is; a folder by its last component (no server paths in ``/health``)."""
    from tinyts.models.base import bundled_names

    if raw in bundled_names():
        return raw
    return Path(raw).expanduser().resolve().name or raw


def _check_source(source: Any, option: str) -> str:
    raw = os.fspath(source)
    if _URL.match(raw):
        from tinyts.models.base import bundled_names

        raise ValueError(
            f"{option} {raw!r} is a URL; tinyts serve loads only bundled names "
            f"({', '.join(bundled_names()) or 'none'}) or local checkpoint folders and never downloads"
        )
    return raw


def load_models(config: ServeConfig) -> Models:
    """Load every model named in ``config`` (once; the service reuses them for every request).

    Raises
    ------
    tinyts.models.base.CheckpointError
        Unknown name, missing or corrupt files, or a checkpoint of another model type.
    ValueError
        A URL instead of a name or folder.
    """
    from tinyts.models.base import TinyModel
    from tinyts.models.cast import TinyCast
    from tinyts.models.pulse import TinyPulse
    from tinyts.tasks.classify import PulseClassifier

    models = Models()
    if config.pulse is not None:
        if isinstance(config.pulse, TinyModel):
            pulse, name = config.pulse, type(config.pulse).__name__.lower()
        else:
            raw = _check_source(config.pulse, "--pulse")
            pulse, name = TinyPulse.from_pretrained(raw), _display_name(raw)
        if not isinstance(pulse, TinyPulse):
            raise TypeError(f"pulse must be a TinyPulse, got {type(pulse).__name__}")
        # the TinyPulse tasks run under torch.inference_mode and never change the model: no lock
        models.pulse = Loaded("pulse", name, pulse.model_type, pulse.num_parameters(), pulse.eval())
    if config.cast is not None:
        if isinstance(config.cast, TinyModel):
            cast, name = config.cast, type(config.cast).__name__.lower()
        else:
            raw = _check_source(config.cast, "--cast")
            cast, name = TinyCast.from_pretrained(raw), _display_name(raw)
        if not isinstance(cast, TinyCast):
            raise TypeError(f"cast must be a TinyCast, got {type(cast).__name__}")
        # forecast() toggles train/eval and the rotary embedding caches its tables: one call at a time
        models.cast = Loaded(
            "cast", name, cast.model_type, cast.num_parameters(), cast.eval(), threading.Lock()
        )
    if config.classifier is not None:
        if isinstance(config.classifier, PulseClassifier):
            clf, name = config.classifier, "pulseclassifier"
        else:
            raw = _check_source(config.classifier, "--classifier")
            clf, name = PulseClassifier.from_pretrained(raw), _display_name(raw)
        lens = clf.model_
        if lens is None:
            raise ValueError("the classifier is not fitted; pass a folder written by `tinyts classify fit`")
        models.classifier = Loaded("classifier", name, lens.model_type, lens.num_parameters(), clf)
    return models

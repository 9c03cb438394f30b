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
DEFAULT_MAX_REQUEST_VALUES = 1_000_000
DEFAULT_MAX_OUTPUT_VALUES = 250_000
DEFAULT_BODY_TIMEOUT = 60.0
#: environment variable read by ``tinyts serve`` for the bearer token
TOKEN_ENV = "TINYTS_SERVE_TOKEN"

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
    max_request_values : int
        Most values and timestamps in one request, all series together (413 beyond). Counted while the
        body arrives (its JSON commas, an upper bound), so a body of millions of values is refused
        before it is parsed, and exactly after parsing.
    max_output_values : int
        Most numbers in one response (413 beyond), checked before the model runs: forecasts count
        channels x horizon x (quantile levels + 1) per series plus the future timestamps, embeddings
        their width per series; impute and detect return no more than their input.
    body_timeout : float
        Seconds a client has to send the whole request body once its headers have arrived (408
        beyond; a slowly trickling upload cannot hold a connection open for ever).
    token : str or None
        When set, every route but ``/health`` requires ``Authorization: Bearer <token>`` (401
        otherwise). Never shown by ``/health`` or in logs.
    """

    pulse: Source | None = "tinypulse"
    cast: Source | None = None
    classifier: Source | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_series: int = DEFAULT_MAX_SERIES
    max_points: int = DEFAULT_MAX_POINTS
    max_horizon: int = DEFAULT_MAX_HORIZON
    max_concurrent: int = 2
    max_request_values: int = DEFAULT_MAX_REQUEST_VALUES
    max_output_values: int = DEFAULT_MAX_OUTPUT_VALUES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in _INT_LIMITS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        timeout = self.body_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e9:
            raise ValueError(f"body_timeout must be a positive number of seconds, got {timeout!r}")
        if self.token is not None:
            check_token(self.token)

    def limits(self) -> dict[str, int]:
        """The request limits, as ``/health`` shows them (never the token)."""
        return {name: getattr(self, name) for name in _INT_LIMITS}


_INT_LIMITS = (
    "max_body_bytes",
    "max_series",
    "max_points",
    "max_horizon",
    "max_concurrent",
    "max_request_values",
    "max_output_values",
)


def check_token(token: str) -> None:
    """Refuse a bearer token that cannot be sent in an HTTP header or is trivially short.

    Raises
    ------
    ValueError
        An empty token, one shorter than 16 characters, or one with characters other than printable
        ASCII without spaces (what an ``Authorization`` header can carry).
    """
    if not isinstance(token, str) or not token:
        raise ValueError("the token is empty; pass a long random string (or no token at all)")
    if not all("!" <= ch <= "~" for ch in token):
        raise ValueError(
            "the token may hold only printable ASCII characters without spaces (it travels in the "
            "Authorization header)"
        )
    if len(token) < 16:
        raise ValueError(
            f"the token has {len(token)} characters; use at least 16, e.g. the output of "
            'python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )


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
    from tinyts.models.base import TinyModel, resolve
    from tinyts.models.cast import TinyCast
    from tinyts.models.pulse import TinyPulse
    from tinyts.tasks.classify.api import PulseClassifier

    models = Models()
    if config.pulse is not None:
        if isinstance(config.pulse, TinyModel):
            pulse, name = resolve(config.pulse, TinyPulse, what="pulse"), type(config.pulse).__name__.lower()
        else:  # from_pretrained checks the kind of a loaded checkpoint (CheckpointError)
            raw = _check_source(config.pulse, "--pulse")
            pulse, name = TinyPulse.from_pretrained(raw), _display_name(raw)
        # the TinyPulse tasks run under torch.inference_mode and never change the model: no lock
        models.pulse = Loaded("pulse", name, pulse.model_type, pulse.num_parameters(), pulse.eval())
    if config.cast is not None:
        if isinstance(config.cast, TinyModel):
            cast, name = resolve(config.cast, TinyCast, what="cast"), type(config.cast).__name__.lower()
        else:  # from_pretrained checks the kind of a loaded checkpoint (CheckpointError)
            raw = _check_source(config.cast, "--cast")
            cast, name = TinyCast.from_pretrained(raw), _display_name(raw)
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

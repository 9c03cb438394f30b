"""The work behind each route: parse the series, call the loaded model, shape the response.

These functions are synchronous and CPU-bound; FastAPI runs them in its thread pool. At most
``max_concurrent`` model calls run at once (a semaphore), and a model that keeps state between calls
(TinyCast) is also guarded by its own lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import numpy as np

from tinyts.serve import schemas as S
from tinyts.serve.config import Loaded, Models, ServeConfig
from tinyts.serve.payload import (
    UNAVAILABLE,
    UNPROCESSABLE,
    RequestError,
    check_history,
    check_output,
    future_timestamps,
    parse,
    plain,
    to_json,
)

T = TypeVar("T")

#: route -> (the ServeConfig field / CLI option that loads its model, what to pass)
_NEEDS = {
    "pulse": ("--pulse NAME_OR_DIR (ServeConfig(pulse=...))", "a TinyPulse: bundled 'tinypulse' or a folder"),
    "cast": ("--cast NAME_OR_DIR (ServeConfig(cast=...))", "a TinyCast checkpoint folder"),
    "classifier": (
        "--classifier DIR (ServeConfig(classifier=...))",
        "a folder written by `tinyts classify fit`",
    ),
}


class Runner:
    """The loaded models, the limits, and the slots of concurrent model calls."""

    def __init__(self, config: ServeConfig, models: Models) -> None:
        self.config = config
        self.models = models
        self._slots = threading.BoundedSemaphore(config.max_concurrent)

    def need(self, role: str, route: str) -> Loaded:
        loaded: Loaded | None = getattr(self.models, role)
        if loaded is None:
            option, what = _NEEDS[role]
            raise RequestError(
                UNAVAILABLE,
                f"{route} is not available: no {role} model was loaded at start-up; start the server "
                f"with {option}, {what}",
            )
        return loaded

    @contextmanager
    def _slot(self, loaded: Loaded) -> Iterator[None]:
        # the model's own lock first: a request waiting for a busy TinyCast does not hold a slot
        if loaded.lock is None:
            with self._slots:
                yield
        else:
            with loaded.lock, self._slots:
                yield

    def call(self, loaded: Loaded, fn: Callable[[], T]) -> T:
        """Run one model call in a slot; the library's ValueError / TypeError become a 422."""
        with self._slot(loaded):
            try:
                return fn()
            except (ValueError, TypeError) as exc:
                raise RequestError(UNPROCESSABLE, str(exc)) from None

    # ------------------------------------------------------------------------------------ routes
    def impute(self, req: S.ImputeRequest) -> S.ImputeResponse:
        loaded = self.need("pulse", "/v1/impute")
        p = parse(req.series, self.config)
        filled: list[Any] = [None] * len(p.ids)
        for group in p.groups():
            items = [p.arrays[i] for i in group]
            out = self.call(
                loaded, partial(loaded.model.impute, items, stride=req.stride, head=req.head, tta=req.tta)
            )
            for i, arr in zip(group, out, strict=True):
                filled[i] = arr
        return S.ImputeResponse(
            model=loaded.name,
            series=[
                S.ImputedSeries(id=sid, values=to_json(v, flat), timestamps=ts)
                for sid, v, flat, ts in zip(p.ids, filled, p.flat, p.timestamps, strict=True)
            ],
        )

    def detect(self, req: S.DetectRequest) -> S.DetectResponse:
        loaded = self.need("pulse", "/v1/detect")
        p = parse(req.series, self.config, min_length=2)
        results = []
        for sid, arr, ts in zip(p.ids, p.arrays, p.timestamps, strict=True):
            scores = self.call(
                loaded, partial(loaded.model.anomaly_scores, arr, mode=req.mode, fuse=req.fuse)
            )
            results.append(S.DetectedSeries(id=sid, scores=to_json(scores, True), timestamps=ts))
        return S.DetectResponse(model=loaded.name, mode=req.mode, series=results)

    def embed(self, req: S.EmbedRequest) -> S.EmbedResponse:
        from tinyts.tasks.pulse.embed import embedding_dim

        loaded = self.need("pulse", "/v1/embed")
        p = parse(req.series, self.config, min_length=2)
        try:
            widths = [embedding_dim(loaded.model, req.kind, a.shape[0], req.channels) for a in p.arrays]
        except (ValueError, TypeError) as exc:
            raise RequestError(UNPROCESSABLE, str(exc)) from None
        check_output(
            sum(widths),
            self.config,
            f"{len(p.ids):,} {req.kind} embeddings, {max(widths):,} numbers for the widest series; "
            "kind 'register', channels 'mean' or fewer series make it smaller",
        )
        vectors: list[Any] = [None] * len(p.ids)
        for group in p.groups():
            items = [p.arrays[i] for i in group]
            out = self.call(
                loaded,
                partial(loaded.model.embed, items, kind=req.kind, shifts=req.shifts, channels=req.channels),
            )
            for i, vec in zip(group, out, strict=True):
                vectors[i] = vec
        return S.EmbedResponse(
            model=loaded.name,
            kind=req.kind,
            series=[
                S.EmbeddedSeries(id=sid, embedding=to_json(v, True))
                for sid, v in zip(p.ids, vectors, strict=True)
            ],
        )

    def forecast(self, req: S.ForecastRequest) -> S.ForecastResponse:
        from tinyts.tasks.forecast.api import forecast

        loaded = self.need("cast", "/v1/forecast")
        if req.horizon > self.config.max_horizon:
            raise RequestError(
                UNPROCESSABLE,
                f"horizon {req.horizon:,} is longer than this server allows ({self.config.max_horizon:,}, "
                "--max-horizon)",
            )
        levels = tuple(req.quantiles) if req.quantiles is not None else tuple(loaded.model.config.quantiles)
        if len(set(levels)) != len(levels):
            repeated = sorted({lv for lv in levels if levels.count(lv) > 1})
            raise RequestError(
                UNPROCESSABLE,
                f"quantiles repeat the level(s) {', '.join(f'{lv:g}' for lv in repeated)}; give each level "
                "once (the response has one entry per level)",
            )
        p = parse(req.series, self.config, align="right")
        channels = sum(a.shape[0] for a in p.arrays)
        n_out = channels * req.horizon * (len(levels) + 1)
        n_out += req.horizon * sum(ts is not None for ts in p.timestamps)
        check_output(
            n_out,
            self.config,
            f"{channels:,} channels x horizon {req.horizon:,} x (mean + {len(levels)} quantile levels), "
            "with the future timestamps; a shorter horizon, fewer quantiles or fewer series make it smaller",
        )
        check_history(p, loaded.model.config.context_length)
        future = [
            None if ts is None else future_timestamps(sid, ts, req.horizon)
            for sid, ts in zip(p.ids, p.timestamps, strict=True)
        ]
        means: list[Any] = [None] * len(p.ids)
        quants: list[Any] = [None] * len(p.ids)
        used: tuple[float, ...] = levels
        for group in p.groups():
            items = [p.arrays[i] for i in group]
            res = self.call(loaded, partial(forecast, loaded.model, items, req.horizon, quantiles=levels))
            used = res.levels
            for i, m, q in zip(group, res.mean, res.quantiles, strict=True):
                means[i], quants[i] = m, q
        series = []
        for i, sid in enumerate(p.ids):
            q = np.asarray(quants[i])
            series.append(
                S.ForecastSeries(
                    id=sid,
                    mean=to_json(means[i], p.flat[i]),
                    quantiles={f"{lv:g}": to_json(q[..., k], p.flat[i]) for k, lv in enumerate(used)},
                    timestamps=future[i],
                )
            )
        return S.ForecastResponse(model=loaded.name, horizon=req.horizon, levels=list(used), series=series)

    def classify(self, req: S.ClassifyRequest) -> S.ClassifyResponse:
        loaded = self.need("classifier", "/v1/classify")
        p = parse(req.series, self.config)
        clf = loaded.model
        proba = self.call(loaded, partial(clf.predict_proba, p.arrays))
        classes = [plain(c) for c in clf.classes_]
        results = [
            S.ClassifiedSeries(
                id=sid,
                label=classes[int(np.argmax(row))],
                probabilities={str(c): float(v) for c, v in zip(classes, row, strict=True)},
            )
            for sid, row in zip(p.ids, proba, strict=True)
        ]
        return S.ClassifyResponse(model=loaded.name, classes=classes, series=results)

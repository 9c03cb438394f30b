"""The model facades (``pulse.impute(x)``, ``cast.forecast(x, h)``, ...) state the same signature as the
task functions they delegate to: same parameters, kinds, defaults and annotations, same return type."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse
from tinyts.tasks import frames
from tinyts.tasks.forecast import api as forecast_api
from tinyts.tasks.pulse import anomaly, embed, impute

CASES: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (TinyPulse.impute, impute.impute),
    (TinyPulse.anomaly_scores, anomaly.anomaly_scores),
    (TinyPulse.embed, embed.embed),
    (TinyPulse.impute_df, frames.impute_df),
    (TinyPulse.detect_df, frames.detect_df),
    (TinyPulse.embed_df, frames.embed_df),
    (TinyCast.forecast, forecast_api.forecast),
    (TinyCast.forecast_df, forecast_api.forecast_df),
]


def _shape(fn: Callable[..., Any]) -> tuple[list[tuple[str, Any, Any, Any]], Any]:
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1:]  # drop self / model
    return [(p.name, p.kind, p.default, p.annotation) for p in params], sig.return_annotation


@pytest.mark.parametrize("facade,task", CASES, ids=[f.__qualname__ for f, _ in CASES])
def test_facade_signature_matches_the_task_function(
    facade: Callable[..., Any], task: Callable[..., Any]
) -> None:
    assert _shape(facade) == _shape(task)


def test_facade_check_sees_a_difference() -> None:
    def task(model: Any, x: Any, *, head: str = "avg") -> Any: ...

    def facade(self: Any, x: Any, *, head: str = "time") -> Any: ...

    assert _shape(facade) != _shape(task)


def test_model_parameter_of_the_task_functions_accepts_names() -> None:
    for _, task in CASES:
        first = next(iter(inspect.signature(task).parameters.values()))
        assert first.name == "model"
        assert "str | os.PathLike[str]" in str(first.annotation), task.__qualname__

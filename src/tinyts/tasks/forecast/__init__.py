"""Forecasting with TinyCast: the array and DataFrame API (:mod:`.api`) over one engine (:mod:`.engine`)."""

from __future__ import annotations

from tinyts.tasks.forecast.api import (
    ForecastResult,
    forecast,
    forecast_df,
)

__all__ = [
    "ForecastResult",
    "forecast",
    "forecast_df",
]

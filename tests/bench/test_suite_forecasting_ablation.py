"""The TinyCast ablation suite: every variant scored on the forecasting protocol, SIFI pair included."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from tinyts.bench import ours, run_suite
from tinyts.bench.suites import forecasting_ablation as ablation
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.testing import TINY_CAST

#: the real context (512, as the suite's) with tiny widths: random weights, shapes and plumbing only
TINY = {**TINY_CAST, "context_length": 512, "patch_length": 16, "coarse_block": 16, "coarse_horizon": 48}


def _rows(payload: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [r for r in payload["rows"] if all(r.get(k) == v for k, v in match.items())]


@pytest.fixture
def long_data_dir(tmp_path: Path) -> Path:
    """An LTSF csv long enough for the long setting and a 2048-point history (70/10/20 split)."""
    n, rng = 4000, np.random.default_rng(1)
    t = np.arange(n)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=n, freq="h"),
            "a": np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n),
            "OT": np.cumsum(rng.standard_normal(n)) * 0.1,
        }
    )
    (tmp_path / "data" / "toy").mkdir(parents=True)
    df.to_csv(tmp_path / "data" / "toy" / "toy_long.csv", index=False)
    return tmp_path / "data"


def test_every_variant_scored_and_sifi_off_equals_the_plain_model(
    long_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    bundled = TinyCast(CastConfig(**TINY)).eval()  # type: ignore[arg-type]
    monkeypatch.setattr(ours, "bundled_model", lambda name: bundled)
    torch.manual_seed(1)
    folder = TinyCast(CastConfig(**{**TINY, "norm": "instance"})).save_pretrained(tmp_path / "inst")  # type: ignore[arg-type]
    payload = run_suite(
        "forecasting_ablation",
        long_data_dir,
        quick=True,
        out_dir=tmp_path / "out",
        options={"models": f"Instance={folder}"},
    )
    assert payload["skipped"] == []
    names = [*ablation.INFERENCE, "instance"]
    for method in names:
        rows = _rows(payload, dataset="toy_long", method=method, horizon=96)
        assert {r["metric"] for r in rows} == {"mse", "mae", "mase", "crps"}
        assert all(math.isfinite(r["value"]) for r in rows)

    def mse(method: str) -> float:
        return float(_rows(payload, method=method, metric="mse", horizon=96)[0]["value"])

    # without SIFI only the last 512 points (the context of model and suite) are read:
    # the same forecasts as the plain model
    assert mse("tinycast_h2048_no_sifi") == pytest.approx(mse("tinycast"), rel=1e-9)
    assert mse("tinycast_h2048") != mse("tinycast")  # SIFI changed something
    assert mse("instance") != mse("tinycast")  # the folder model was used, not the bundled one
    assert _rows(payload, method="tinycast_h2048", metric="mse")[0]["context"] == ablation.HISTORY


def test_sifi_pair_skipped_with_reason_in_the_short_setting(
    mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    monkeypatch.setattr(ours, "bundled_model", lambda name: TinyCast(CastConfig(**TINY)).eval())  # type: ignore[arg-type]
    payload = run_suite(
        "forecasting_ablation", mini_data_dir, quick=True, out_dir=tmp_path, methods=["tinycast_h2048"]
    )
    assert payload["rows"] == []
    reason = "SIFI pair only in the long (512) setting"
    assert dict(payload["skipped"]) == {"toy_hourly / tinycast_h2048": reason}


def test_model_variants_parsing() -> None:
    assert ablation.model_variants(ablation.parse_models("")) == {}
    parsed = ablation.model_variants(ablation.parse_models(" a=/x ; B=/y;"))
    assert parsed == {"a": ablation.Variant(model="/x"), "b": ablation.Variant(model="/y")}
    with pytest.raises(ValueError, match="name=folder"):
        ablation.parse_models("nofolder")
    with pytest.raises(ValueError, match="built-in"):
        ablation.parse_models("tinycast=/x")

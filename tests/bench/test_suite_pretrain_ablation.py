"""The pretrain_ablation suite: training runs scored on validation data only (issue 17)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinyts.bench.runner import run_suite
from tinyts.testing import TINY_PULSE
from tinyts.train.recipes import build_trainer, load_recipe


def _train(run_dir: Path, steps: int, mix: str, ema_decay: float = 0.0) -> None:
    recipe = load_recipe("tinypulse")
    recipe["model_config"].update(
        {**TINY_PULSE, "fft_patch_length": 16, "num_layers": 1, "forecast_length": 8}
    )
    recipe["objective"].update(batch_size=8, mix=mix)
    recipe["train"].update(
        steps=steps, checkpoint_every=steps, log_every=1, warmup_steps=1, threads=1, ema_decay=ema_decay
    )
    build_trainer(recipe, run_dir).fit()


def _corpus(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir()
    lines = ["@relation toy", "@attribute series_name string", "@frequency daily", "@missing false", "@data"]
    for i in range(40):
        x = np.cumsum(rng.standard_normal(300))
        lines.append(f"s{i}:" + ",".join(f"{v:.6f}" for v in x))
    (folder / "toy.tsf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _rows(payload: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [r for r in payload["rows"] if all(r.get(k) == v for k, v in match.items())]


def test_pretrain_ablation_scores_runs_on_validation_data(mini_data_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _train(runs / "old", 3, "default")
    _train(runs / "broad", 3, "broad")
    (runs / "not_a_run").mkdir()
    options = {"runs": str(runs), "corpus": str(_corpus(tmp_path / "corpus"))}
    kw: dict[str, Any] = {"datasets": ["toy_hourly"], "quick": True, "options": options}
    payload = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path / "out", **kw)
    assert payload["skipped"] == []
    for method in ("old", "broad"):
        for vset in ("synth_default", "synth_broad", "real_heldout"):
            for metric in ("val_loss", "val_time"):
                (row,) = _rows(payload, dataset=vset, method=method, metric=metric)
                assert math.isfinite(row["value"]) and row["value"] > 0
    assert not _rows(payload, method="not_a_run")
    for method in ("old", "broad", "linear_interp"):
        (row,) = _rows(payload, dataset="toy_hourly", method=method, mask="all", ratio="avg")
        assert math.isfinite(row["value"])
    # the smooth toy channels: linear interpolation far below the train-mean fill (about 1)
    assert _rows(payload, method="linear_interp", mask="hybrid", ratio="avg")[0]["value"] < 0.5
    # windows over the validation rows, not the test rows the imputation suite reports
    assert any("windows over the val rows" in n for n in payload["notes"])
    # equal budgets here; the validation batches are fixed (a second run gives the same losses)
    assert not any(n.startswith("WARNING") for n in payload["notes"])
    again = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path / "out2", methods=["old"], **kw)
    for r in _rows(again, method="old", metric="val_loss"):
        assert r["value"] == _rows(payload, dataset=r["dataset"], method="old", metric="val_loss")[0]["value"]
    # a run with another budget is flagged
    _train(runs / "longer", 4, "default")
    flagged = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path / "out3", **kw)
    assert any(n.startswith("WARNING") and "longer" in n for n in flagged["notes"])


def test_pretrain_ablation_scores_a_runs_weight_average_too(mini_data_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _train(runs / "avg", 3, "default", ema_decay=0.5)
    options = {"runs": str(runs), "corpus": str(_corpus(tmp_path / "corpus"))}
    kw: dict[str, Any] = {"datasets": ["toy_hourly"], "quick": True, "options": options}
    payload = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path / "out", **kw)
    assert payload["skipped"] == []
    losses = {
        m: _rows(payload, dataset="synth_default", method=m, metric="val_loss")[0]["value"]
        for m in ("avg", "avg_ema")
    }
    assert all(math.isfinite(v) for v in losses.values()) and losses["avg"] != losses["avg_ema"]
    assert _rows(payload, dataset="toy_hourly", method="avg_ema", mask="all", ratio="avg")
    assert any(
        n.startswith("avg_ema:") and "weight average (EMA, decay 0.5, 3 updates)" in n
        for n in payload["notes"]
    )
    # only the plain run is scored when it keeps no average
    _train(runs / "plain", 3, "default")
    again = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path / "out2", **kw)
    assert not _rows(again, method="plain_ema") and _rows(again, method="plain", metric="val_loss")


def test_pretrain_ablation_without_runs(mini_data_dir: Path, tmp_path: Path) -> None:
    options = {"runs": str(tmp_path / "none")}
    payload = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path, quick=True, options=options)
    assert payload["rows"] == []
    assert any("no run folder" in reason for _, reason in payload["skipped"])


def _train_cast(run_dir: Path, steps: int, short_corpus: Path | None = None) -> None:
    """A tiny TinyCast run; with ``short_corpus``, a quarter of each batch is cut from its short series."""
    from tinyts.testing import TINY_CAST

    recipe = load_recipe("tinycast-broad")
    recipe["model_config"].update({**TINY_CAST, "coarse_horizon": 48, "coarse_block": 8})
    recipe["objective"].update(batch_size=8, mv_batch_size=1, short_horizon=16, mix="broad", real_share=0.0)
    recipe["objective"].pop("real_dir")
    if short_corpus is not None:
        recipe["objective"].update(real_dir=str(short_corpus), real_short_share=0.25)
    recipe["train"].update(
        steps=steps, checkpoint_every=steps, log_every=1, warmup_steps=1, threads=1, schedule_start=0
    )
    build_trainer(recipe, run_dir).fit()


def test_pretrain_ablation_scores_tinycast_runs_on_forecasting_validation(
    mini_data_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    _train_cast(runs / "cast", 2)
    # a run trained with short real series is scored on the same validation batches (its data keys
    # are not passed to the validation objective)
    short = tmp_path / "short"
    short.mkdir()
    rows = [f"q{i}:" + ",".join(f"{v:.4f}" for v in np.arange(20 + 7 * i, dtype=float)) for i in range(8)]
    head = "@relation q\n@attribute series_name string\n@frequency quarterly\n@missing false\n@data\n"
    (short / "q.tsf").write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    _train_cast(runs / "cast_short", 2, short_corpus=short)
    options = {"runs": str(runs), "corpus": str(_corpus(tmp_path / "corpus"))}
    kw: dict[str, Any] = {"datasets": ["toy_hourly"], "quick": True, "options": options}
    payload = run_suite("pretrain_ablation", mini_data_dir, out_dir=tmp_path / "out", **kw)
    assert payload["skipped"] == []
    for vset in ("synth_default", "synth_broad", "real_heldout"):
        for metric in ("val_loss", "val_fine"):
            for method in ("cast", "cast_short"):
                (row,) = _rows(payload, dataset=vset, method=method, metric=metric)
                assert math.isfinite(row["value"]) and row["value"] > 0
    # no imputation rows for a TinyCast run (and no lone linear_interp reference)
    assert not _rows(payload, metric="val_mse")
    # forecasting on the validation windows of the LTSF set and on the held-back corpus series
    for method in ("cast", "seasonal_naive"):
        (row,) = _rows(payload, dataset="toy_hourly", method=method, metric="val_mase")
        assert row["horizon"] == 96 and math.isfinite(row["value"]) and row["value"] > 0
        (row,) = _rows(payload, dataset="heldout_daily", method=method, metric="val_mase")
        assert row["horizon"] == 14 and math.isfinite(row["value"])
    rel = {r["dataset"]: r["value"] for r in _rows(payload, method="cast", metric="val_rel_mase")}
    assert set(rel) == {"toy_hourly", "heldout_daily"}
    naive = _rows(payload, dataset="toy_hourly", method="seasonal_naive", metric="val_mase")[0]["value"]
    cast = _rows(payload, dataset="toy_hourly", method="cast", metric="val_mase")[0]["value"]
    assert rel["toy_hourly"] == pytest.approx(cast / naive)
    (gm,) = _rows(payload, dataset="all", method="cast", metric="gmean_val_rel_mase")
    assert gm["n_datasets"] == 2
    assert gm["value"] == pytest.approx(math.sqrt(rel["toy_hourly"] * rel["heldout_daily"]))
    # the paired bootstrap of that figure: an interval per run, and each pair's P(lower)
    for method in ("cast", "cast_short"):
        (lo,) = _rows(payload, dataset="all", method=method, metric="gmean_val_rel_mase_p05")
        (hi,) = _rows(payload, dataset="all", method=method, metric="gmean_val_rel_mase_p95")
        assert 0 < lo["value"] <= hi["value"]
    (lo,) = _rows(payload, dataset="all", method="cast", metric="gmean_val_rel_mase_p05")
    (hi,) = _rows(payload, dataset="all", method="cast", metric="gmean_val_rel_mase_p95")
    assert lo["value"] <= gm["value"] * 1.05 and hi["value"] >= gm["value"] * 0.95
    (ab,) = _rows(payload, dataset="all", method="cast", metric="p_lower_gmean")
    (ba,) = _rows(payload, dataset="all", method="cast_short", metric="p_lower_gmean")
    assert ab["than"] == "cast_short" and ba["than"] == "cast"
    assert ab["value"] + ba["value"] == pytest.approx(1.0)
    # the pooled statistic: the one small held-back set (heldout_daily, < POOL_BELOW cases) becomes the
    # pooled set, so over these two sets the figure equals the plain one; it has its own bootstrap rows
    (pooled,) = _rows(payload, dataset="all", method="cast", metric="gmean_val_rel_mase_pooled")
    assert pooled["n_datasets"] == 2 and pooled["value"] == pytest.approx(gm["value"])
    (pab,) = _rows(payload, dataset="all", method="cast", metric="p_lower_gmean_pooled")
    assert pab["than"] == "cast_short" and 0.0 <= pab["value"] <= 1.0
    assert _rows(payload, dataset="all", method="cast_short", metric="gmean_val_rel_mase_pooled_p95")

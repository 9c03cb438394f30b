"""The ``compression`` suite on the mini data folder with tiny models (pruning source and teacher)."""

from __future__ import annotations

from pathlib import Path

import pytest
from compress_models import tiny_cast

from tinyts.bench import load_suite, run_suite
from tinyts.bench.suites import compression
from tinyts.testing import TINY_CAST

TINY_TEACHER = {**TINY_CAST, "feature_every": 0}


@pytest.fixture()
def small_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "HORIZONS", (8, 16))
    monkeypatch.setattr(
        compression, "VARIANTS", {k: compression.VARIANTS[k] for k in ("mlp-sup", "mlp-distilts")}
    )
    monkeypatch.setattr(compression, "fallback_teacher_config", lambda: dict(TINY_TEACHER))


def test_compression_quick_measures_both_parts(
    mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_suite: None
) -> None:
    source = tiny_cast(seed=1).save_pretrained(tmp_path / "source")
    options = {
        "prune_model": str(source),
        "teacher": str(source),
        "teacher_options": '{"strategy": "auto", "symmetry": true}',
    }
    payload = run_suite("compression", mini_data_dir, quick=True, out_dir=tmp_path / "out", options=options)
    assert any("'strategy': 'auto', 'symmetry': True" in n for n in payload["notes"])
    assert payload["options"] == {
        "prune_model": str(source),
        "teacher": str(source),
        "teacher_options": {"strategy": "auto", "symmetry": True},
    }
    rows = payload["rows"]
    found = {(r["method"], r["metric"]) for r in rows}
    for method in ("tinycast-zeroshot", "tinycast-ft", "tinycast-pruned-ft"):
        assert (method, "mse") in found
    assert ("tinycast-pruned-ft", "speedup") in found and ("tinycast-pruned-ft", "param_ratio") in found
    for method in ("tinycast", "mlp-sup", "mlp-distilts", "lowrank-sup", "lowrank-distilts", "cast-distilts"):
        assert (method, "mse") in found and (method, "latency_ms") in found
    assert ("mlp-distilts", "speedup") in found
    params = {r["method"]: r["value"] for r in rows if r["metric"] == "params" and r.get("part") == "prune"}
    assert params["tinycast-pruned-ft"] < params["tinycast-ft"]
    assert not [s for s in payload["skipped"] if "failed" in s[1]], payload["skipped"]
    assert (tmp_path / "out" / "compression-quick.md").is_file()


def test_compression_without_checkpoints_skips_pruning_and_trains_the_teacher(
    mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_suite: None
) -> None:
    monkeypatch.setattr(compression, "_source", lambda value, bundled: None)
    payload = run_suite("compression", mini_data_dir, quick=True, out_dir=tmp_path)
    assert any("pruning" in case and "no pre-trained TinyCast" in why for case, why in payload["skipped"])
    assert any("trained from random initialisation" in n for n in payload["notes"])
    assert any(r["method"] == "mlp-distilts" for r in payload["rows"])


def test_teacher_options_come_from_json_or_fail_clearly() -> None:
    suite = load_suite("compression")
    assert suite.parse_options({})["teacher_options"] == compression.TEACHER_OPTIONS
    assert suite.parse_options({"teacher_options": "{}"})["teacher_options"] == {}  # the adapter's defaults
    with pytest.raises(ValueError, match="JSON object of TinyCast adapter options"):
        suite.parse_options({"teacher_options": "strategy=auto"})
    with pytest.raises(ValueError, match="must be a JSON object"):
        suite.parse_options({"teacher_options": '["auto"]'})

"""The ``pretrain`` bench suite on a tiny recipe: rows, their structure, positive figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from tinyts.bench import run_suite
from tinyts.bench.suites import pretrain

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from pretrain_runs import tiny_recipe


def _bank(plain: Path, cache: Path) -> Path:
    recipe = yaml.safe_load(plain.read_text(encoding="utf-8"))
    recipe["train"].update(fast_dropout=True)
    recipe["data"] = {
        "bank": {"size": 64, "length": 600, "cache_dir": str(cache)},
        "augment": {"mix_prob": 0.5},
    }
    path = plain.with_name("tiny-pulse-bank.yaml")
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def _fast(plain: Path) -> Path:
    recipe = yaml.safe_load(plain.read_text(encoding="utf-8"))
    recipe["model_config"]["dropout"] = 0.0
    path = plain.with_name("tiny-pulse-fast.yaml")
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_quick_suite_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tiny_recipe(tmp_path, steps=10, checkpoint_every=10)
    bank, fast = _bank(plain, tmp_path / "banks"), _fast(plain)
    monkeypatch.setattr(pretrain, "RECIPES", {"tiny": (str(plain), str(fast), str(bank))})
    methods = ["plain", "ddp2", "fast", "bank", "compile"]
    payload = run_suite("pretrain", quick=True, out_dir=tmp_path / "out", methods=methods)
    assert json.loads((tmp_path / "out" / "pretrain-quick.json").read_text(encoding="utf-8"))["rows"]
    rows = [r for r in payload["rows"] if r["metric"] == "samples_per_s"]
    assert {r["method"] for r in rows} == {"plain", "ddp2", "fast", "bank"}
    assert any(case == "compile" for case, _ in payload["skipped"])  # --quick skips compiling
    for r in rows:
        assert r["dataset"] == "tiny" and r["value"] > 0 and r["seconds"] > 0
        for key in ("data_ms", "forward_ms", "backward_ms", "optimizer_ms", "cpu_samples_per_s"):
            assert r[key] > 0, key
        assert 0 < r["data_share"] < 1
        assert r["processes"] == (2 if r["method"] in ("ddp2", "fast") else 1)
        # the phases make up the step: samples per second follow from them
        step_ms = sum(r[k] for k in ("data_ms", "forward_ms", "backward_ms", "optimizer_ms"))
        assert r["value"] == pytest.approx(8 * r["processes"] * 1e3 / step_ms, rel=0.8)
    speedup = [r for r in payload["rows"] if r["metric"] == "speedup"]
    assert len(speedup) == 1 and speedup[0]["value"] > 0
    assert list((tmp_path / "banks").glob("synth-bank-*.npy")), "the bank case built its bank"

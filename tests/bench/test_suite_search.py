"""The ``search`` suite on a tiny corpus: every engine gives build, memory, latency and recall rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyts.bench import run_suite
from tinyts.bench.suites import search


def test_search_suite_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("faiss")
    monkeypatch.setattr(search, "QUICK_SIZES", (300, 600))
    monkeypatch.setattr(search, "QUICK_QUERIES", 8)
    monkeypatch.setattr(search, "N_E2E", 3)
    monkeypatch.setattr(search, "CHUNK", 256)  # several chunks: the corpus is streamed
    payload = run_suite("search", data_dir=tmp_path, quick=True, out_dir=tmp_path / "out")
    rows = payload["rows"]
    (thr,) = [r for r in rows if r["metric"] == "throughput"]
    assert thr["method"] == "tinypulse" and thr["n"] == 600 and thr["value"] > 0 and thr["shifts"] == 1
    for n in (300, 600):
        for engine in search.ENGINES:
            mine = [r for r in rows if r["method"] == engine and r["n"] == n]
            metrics = sorted(r["metric"] for r in mine)
            assert metrics == ["fit_seconds"] + ["latency_ms"] * 4 + ["peak_mem_mb"] * 2 + ["recall_at_10"]
            (recall,) = [r["value"] for r in mine if r["metric"] == "recall_at_10"]
            assert recall == 1.0 if engine == "exact" else recall >= 0.8
            assert all(r["value"] >= 0 for r in mine if r["metric"] == "latency_ms")
    assert (tmp_path / "out" / "search-quick.md").is_file()


def test_search_suite_selects_sizes_and_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "QUICK_SIZES", (200, 400))
    monkeypatch.setattr(search, "QUICK_QUERIES", 4)
    monkeypatch.setattr(search, "N_E2E", 2)
    payload = run_suite(
        "search", data_dir=tmp_path, quick=True, out_dir=tmp_path, datasets=["200"], methods=["exact", "nope"]
    )
    assert {r["method"] for r in payload["rows"]} == {"tinypulse", "exact"}
    assert {r["n"] for r in payload["rows"] if r["method"] == "exact"} == {200}
    assert "nope" in dict(payload["skipped"])

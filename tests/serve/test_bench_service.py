"""The ``service`` benchmark suite in --quick mode: a real server, a small load, rows and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyts.bench import runner
from tinyts.bench.runner import run_suite
from tinyts.bench.suites import service


@pytest.mark.slow  # a server process: torch and FastAPI imports, ~5-10 s on 2 shared cores
def test_service_suite_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.SUITES["service"] == "service"
    monkeypatch.setattr(service, "QUICK_LOAD", (2, 3, 1))
    methods = ["embed", "detect", "impute", "teleport"]  # routes; an unknown one is recorded as skipped
    payload = run_suite("service", None, methods=methods, quick=True, out_dir=tmp_path / "out")
    rows = payload["rows"]
    assert [case for case, _ in payload["skipped"]] == ["teleport"]
    for route in service.ROUTES:
        (tp,) = [r for r in rows if r["method"] == route and r["metric"] == "throughput"]
        assert tp["value"] > 0 and tp["errors"] == 0 and tp["requests"] == 3 and tp["clients"] == 2
        lat = {
            r["quantile"]: r["value"] for r in rows if r["method"] == route and r["metric"] == "latency_ms"
        }
        assert set(lat) == {0.5, 0.99} and 0 < lat[0.5] <= lat[0.99]
    mem = {r["phase"]: r["value"] for r in rows if r["metric"] == "peak_mem_mb"}
    assert set(mem) == {"start", "end"} and 50 < mem["start"] <= mem["end"]
    saved = json.loads((tmp_path / "out" / "service-quick.json").read_text())
    assert len(saved["rows"]) == len(rows) == 3 * 3 + 2
    assert "latency_ms" in (tmp_path / "out" / "service-quick.md").read_text()

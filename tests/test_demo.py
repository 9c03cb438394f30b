"""`tinyts demo` runs the tinyts models and the peers end to end on bundled data: report rows and plots."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyts.cli import app

#: section -> the tinyts row that must be in its table, and one plot file per section
TINYTS_ROWS = {
    "Imputation": "tinypulse",
    "Anomaly detection": "tinypulse_ensemble",
    "Classification": "tinypulse_finetuned",
    "Similarity search": "tinypulse_embedding",
    "Forecasting": "tinycast_median",
}
PLOTS = ("synthetic", "imputation", "anomaly", "classification", "search", "forecast")


def _sections(report: str) -> dict[str, str]:
    parts = report.split("\n## ")[1:]
    return {p.split("\n", 1)[0].strip(): p for p in parts}


def _row(section: str, method: str) -> list[float]:
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == method:
            return [float(c) for c in cells[1:]]
    raise AssertionError(f"no row for {method!r} in:\n{section}")


@pytest.mark.slow
def test_demo_writes_report_rows_and_plots(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = (tmp_path / "REPORT.md").read_text()
    sections = _sections(report)
    assert "Synthetic data" in sections
    assert "interim" in report and "not a benchmark" in report and "tinyts bench" in report
    for title, method in TINYTS_ROWS.items():
        values = _row(sections[title], method)
        assert values and all(math.isfinite(v) for v in values), (title, values)
    for png in PLOTS:
        assert (tmp_path / f"{png}.png").stat().st_size > 1000, png
        assert f"]({png}.png)" in report, png
    # scores and accuracies in their ranges; the peers keep their known GunPoint accuracy (1-NN ED 0.913)
    assert 0.0 <= _row(sections["Anomaly detection"], "tinypulse_ensemble")[0] <= 1.0
    assert 0.5 <= _row(sections["Classification"], "tinypulse_finetuned")[0] <= 1.0
    assert 0.5 <= _row(sections["Similarity search"], "tinypulse_embedding")[0] <= 1.0
    assert _row(sections["Classification"], "nn1_euclidean")[0] == pytest.approx(0.913, abs=5e-4)
    assert "tinyts classify fit" in sections["Classification"]

"""`tinyts demo` runs end to end on bundled data and writes its report and one plot per task."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tinyts.cli import app


def test_demo_writes_report_and_plots(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = (tmp_path / "REPORT.md").read_text()
    for section in ("Imputation", "Anomaly detection", "Classification", "Forecasting"):
        assert f"## {section}" in report
    for png in ("synthetic", "imputation", "anomaly", "classification", "forecast"):
        assert (tmp_path / f"{png}.png").stat().st_size > 1000
    # the classification peers reach their known GunPoint accuracies (1-NN ED 0.913 in the UCR archive)
    assert "| nn1_euclidean | 0.913 |" in report

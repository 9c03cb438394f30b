"""`tinyts demo` runs the tinyts models and the peers end to end on bundled data: report rows and plots."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tinyts.cli.main import app

#: section -> the tinyts row that must be in its table, and one plot file per section
TINYTS_ROWS = {
    "Imputation": "tinypulse",
    "Anomaly detection": "tinypulse_ensemble",
    "Classification": "tinypulse_hybrid",
    "Similarity search": "tinypulse_embedding",
    "Forecasting": "tinycast_median",
}
PLOTS = ("synthetic", "imputation", "anomaly", "anomaly_patterns", "classification", "search", "forecast")


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
    assert "not a benchmark" in report and "tinyts bench" in report
    # the checkpoints' status comes from their model cards, not from a sentence that goes stale
    assert "interim" not in report
    assert "TinyCast on synthetic series plus real series" in report
    assert "(a checkpoint of a run that continues)" in report  # from TinyCast's model card
    assert "TinyPulse on synthetic series plus real series" in report
    assert report.count("earns its place") >= 5  # every task says where the model earns its place
    for title, method in TINYTS_ROWS.items():
        values = _row(sections[title], method)
        assert values and all(math.isfinite(v) for v in values), (title, values)
    for png in PLOTS:
        assert (tmp_path / f"{png}.png").stat().st_size > 1000, png
        assert f"]({png}.png)" in report, png
    # scores and accuracies in their ranges; the peers keep their known GunPoint accuracy (1-NN ED 0.913)
    assert 0.0 <= _row(sections["Anomaly detection"], "tinypulse_ensemble")[0] <= 1.0
    assert 0.5 <= _row(sections["Classification"], "tinypulse_hybrid")[0] <= 1.0
    assert 0.5 <= _row(sections["Similarity search"], "tinypulse_embedding")[0] <= 1.0
    assert _row(sections["Classification"], "nn1_euclidean")[0] == pytest.approx(0.913, abs=5e-4)
    assert "tinyts classify fit" in sections["Classification"]
    # the timings start after MiniRocket's one-time numba compilation (it fell on the hybrid before)
    assert "Timed after one untimed MiniRocket fit" in sections["Classification"]
    # the section where a peer wins keeps its row (KDD-TSAD 135: diff's AUC-PR is 0.735)
    assert _row(sections["Anomaly detection"], "diff")[0] == pytest.approx(0.735, abs=5e-4)
    assert "[demo 6/6] Forecasting:" in res.stderr and "[demo" not in res.stdout


def test_demo_prints_one_progress_line_per_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinyts.cli import demo

    def fake_sections(out: Path, *args: Any) -> list[tuple[str, Any]]:
        return [
            ("First", lambda: {"plots": [], "lines": ["one"]}),
            ("Second", lambda: {"plots": ["x.png"], "lines": ["two"]}),
        ]

    monkeypatch.setattr(demo, "_sections", fake_sections)
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    assert lines[0].startswith("[demo] models and data loaded in ") and lines[0].endswith("; 2 sections")
    assert lines[1].startswith("[demo 1/2] First: ") and "so far" in lines[1]
    assert lines[2].startswith("[demo 2/2] Second: ") and len(lines) == 3
    assert "demo report" in res.stdout and "[demo" not in res.stdout
    report = (tmp_path / "REPORT.md").read_text()
    assert "## First" in report and "![Second](x.png)" in report
    # quiet when called as a library function with progress=False
    capsys.readouterr()
    demo.run_demo(tmp_path / "quiet", progress=False)
    assert capsys.readouterr() == ("", "")


def test_training_status_reads_the_model_cards() -> None:
    from tinyts.cli.demo import training_status

    assert training_status("tinycast").endswith("(a checkpoint of a run that continues)")
    status = training_status("tinypulse")
    assert status.startswith("step ") or status.startswith("its recipe's full")
    assert training_status("no-such-model") == "see its model card"


def test_training_status_says_when_the_weights_are_an_annealed_fork(tmp_path: Path) -> None:
    from tinyts.cli.demo import training_status
    from tinyts.models.base import WEIGHTS_DIR

    card = (WEIGHTS_DIR / "tinycast" / "MODEL_CARD.md").read_text(encoding="utf-8")
    (tmp_path / "tinycast").mkdir()
    (tmp_path / "tinycast" / "MODEL_CARD.md").write_text(card + "\nA cool-down fork of the run.\n")
    assert training_status("tinycast", tmp_path).endswith("(an annealed fork of a run that continues)")
    full = re.sub(r"^- steps: [\d,]+", "- steps: 105,691", card, flags=re.MULTILINE)
    (tmp_path / "tinycast" / "MODEL_CARD.md").write_text(full)
    assert training_status("tinycast", tmp_path) == "its recipe's full 105,691 steps"


def test_training_data_reads_the_model_cards() -> None:
    from tinyts.cli.demo import training_data

    assert training_data("tinypulse").startswith("synthetic series plus real series")  # tinypulse-broad
    assert training_data("tinycast").startswith("synthetic series plus real series")  # tinycast-broad-short
    assert training_data("no-such-model") == "see its model card"

"""``tinyts demo``: the main job on bundled data, with a short markdown report and one plot per task.

Data: real series that installed packages ship (aeon: GunPoint, KDD-TSAD 135 from the UCR anomaly
archive, Airline) read through :mod:`tinyts.data`, plus series from the synthetic generators. Each task
runs the bundled TinyPulse / TinyCast checkpoint next to the peer baselines that ``tinyts bench``
compares against (sections: :mod:`tinyts.demo_tasks`). A failing section is an error, never skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinyts import demo_tasks
from tinyts._errors import require
from tinyts.demo_tasks import plt_module, save_fig
from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse


def _aeon_data() -> Path:
    aeon = require("aeon", "pip install aeon", "the demo's bundled datasets")
    return Path(str(aeon.__file__)).parent / "datasets" / "data"


def _synthetic(out: Path, seed: int) -> dict[str, Any]:
    from tinyts.data.anomalies import inject_anomalies
    from tinyts.data.synth import synth_ts

    x = synth_ts(6, 512, seed=seed)
    xa, labels = inject_anomalies(x[:2], seed=seed, region=(0.3, 1.0))
    plt = plt_module()
    fig, axes = plt.subplots(4, 2, figsize=(10, 7), sharex=True)
    for i, ax in enumerate(axes.flat[:6]):
        ax.plot(x[i], lw=0.8)
        ax.set_title(f"synth_ts #{i}", fontsize=8)
    for j, ax in enumerate(axes.flat[6:]):
        ax.plot(xa[j], lw=0.8)
        ax.fill_between(np.arange(512), xa[j].min(), xa[j].max(), where=labels[j] > 0, color="red", alpha=0.3)
        ax.set_title("with an injected anomaly (red)", fontsize=8)
    return {
        "plot": save_fig(fig, out / "synthetic.png"),
        "lines": [f"{len(x)} SynthTS-style series of 512 points; 2 with injected anomalies."],
    }


def _models() -> tuple[TinyPulse, TinyCast]:
    """The bundled checkpoints, in eval mode (a missing or broken one raises)."""
    from tinyts.models.base import load

    pulse, cast = load("tinypulse"), load("tinycast")
    if not isinstance(pulse, TinyPulse) or not isinstance(cast, TinyCast):
        raise TypeError("the bundled 'tinypulse' / 'tinycast' checkpoints load as the wrong model type")
    pulse.eval()
    cast.eval()
    return pulse, cast


def _intro(pulse: TinyPulse, cast: TinyCast) -> list[str]:
    import torch

    return [
        "# tinyts demo",
        "",
        "What this shows: the bundled tinyts models, TinyPulse "
        f"({pulse.num_parameters() / 1e3:.0f}k parameters: imputation, anomaly detection, classification, "
        f"similarity search) and TinyCast ({cast.num_parameters() / 1e6:.1f}M parameters: forecasting), "
        "each next to simple peer baselines that `tinyts bench` measures them against, on one small real "
        "dataset per task shipped by aeon (KDD-TSAD 135 from the UCR anomaly archive, GunPoint, Airline), "
        "plus synthetic series from `tinyts.data.synth`.",
        "",
        "- Both checkpoints are **interim**: pre-trained from scratch on synthetic series only, on a "
        "2-core CPU, and stopped before their recipes finished (their model cards say how far they got).",
        "- Every number below is one run on one small dataset: a check that the models run end to end, "
        "**not a benchmark**. Rows where a peer beats the tinyts model are shown as they came out.",
        "- Benchmarks over many datasets against the peers: `tinyts bench` (see `tinyts bench --help`).",
        f"- Times are wall-clock seconds on this machine (torch with {torch.get_num_threads()} thread(s)).",
    ]


def run_demo(out: str | Path = "tinyts-demo", *, seed: int = 0) -> Path:
    """Run every task on bundled data; write ``REPORT.md`` and plots into ``out``; return the report path.

    Parameters
    ----------
    out : str or Path
        Folder for ``REPORT.md`` and the plots (created if needed).
    seed : int
        Seed of the synthetic data, the imputation masks, the classifiers and the plotted query.

    Returns
    -------
    Path
        The report. Any error in a section propagates (nothing is skipped).
    """
    from tinyts.data.io import read_value_label

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _aeon_data()
    kdd = read_value_label(data / "KDD-TSAD_135" / "135_UCR_Anomaly_InternalBleeding16_TEST.csv")
    kdd.train_end = 1200  # the UCR archive name: 135_UCR_Anomaly_InternalBleeding16_1200_4187_4199
    start = time.perf_counter()
    pulse, cast = _models()
    sections: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("Synthetic data", lambda: _synthetic(out_dir, seed)),
        ("Imputation", lambda: demo_tasks.imputation(out_dir, seed, pulse, kdd)),
        ("Anomaly detection", lambda: demo_tasks.anomaly(out_dir, seed, pulse, kdd)),
        ("Classification", lambda: demo_tasks.classification(out_dir, seed, pulse, data)),
        ("Similarity search", lambda: demo_tasks.search(out_dir, seed, pulse, data)),
        ("Forecasting", lambda: demo_tasks.forecast(out_dir, seed, cast, data)),
    ]
    report = _intro(pulse, cast)
    for title, fn in sections:
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        report += ["", f"## {title}", "", *result["lines"], "", f"![{title}]({result['plot']})", ""]
        report.append(f"_{seconds:.1f} s_")
        print(f"  {title}: done in {seconds:.1f} s", flush=True)
    report += ["", f"Total: {time.perf_counter() - start:.1f} s."]
    path = out_dir / "REPORT.md"
    from tinyts.fileio import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text("\n".join(report) + "\n", encoding="utf-8")
    return path

"""``tinyts demo``: the main job on bundled data, with a short markdown report and plots per task.

Data: real series that installed packages ship (aeon: GunPoint, KDD-TSAD 135 from the UCR anomaly
archive, Airline) read through :mod:`tinyts.data`, plus series from the synthetic generators. Each task
runs the bundled TinyPulse / TinyCast checkpoint next to the peer baselines that ``tinyts bench``
compares against (sections: :mod:`tinyts.cli.demo_tasks`). A failing section is an error, never skipped.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tinyts.cli.common import command
from tinyts.errors import require

if TYPE_CHECKING:
    from tinyts.models.cast import TinyCast
    from tinyts.models.pulse import TinyPulse

Section = tuple[str, Callable[[], dict[str, Any]]]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root app."""
    command(app, demo, "demo")


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and plots.")] = Path(
        "tinyts-demo"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 0,
) -> None:
    """The main job on bundled data: every task that exists so far, a short report and plots."""
    report = run_demo(out, seed=seed)
    typer.echo(f"demo report: {report}")


def _aeon_data() -> Path:
    aeon = require("aeon", "pip install aeon", "the demo's bundled datasets")
    return Path(str(aeon.__file__)).parent / "datasets" / "data"


def _synthetic(out: Path, seed: int) -> dict[str, Any]:
    import numpy as np

    from tinyts.cli import plots
    from tinyts.cli.demo_tasks import plt_module, save_fig
    from tinyts.data.anomalies import inject_anomalies
    from tinyts.data.synth.core import synth_ts

    x = synth_ts(6, 512, seed=seed)
    xa, labels = inject_anomalies(x[:2], seed=seed, region=(0.3, 1.0))
    plt = plt_module()
    fig, axes = plt.subplots(4, 2, figsize=(11, 7), sharex=True)
    t = np.arange(512)
    for i, ax in enumerate(axes.flat[:6]):
        ax.plot(t, x[i], lw=0.8, color=plots.OBSERVED)
        ax.set_title(f"synth_ts #{i}", loc="left")
    for j, ax in enumerate(axes.flat[6:]):
        plots.shade_runs(ax, t, labels[j] > 0, label="injected anomaly")
        ax.plot(t, xa[j], lw=0.8, color=plots.OBSERVED)
        ax.set_title(f"synth_ts #{j} with an injected anomaly (shaded)", loc="left")
        ax.set_xlabel("time step")
    for ax in axes[:, 0]:
        ax.set_ylabel("value")
    fig.suptitle("Synthetic series of the kind TinyPulse and TinyCast were pre-trained on")
    return {
        "plots": [save_fig(fig, out / "synthetic.png")],
        "lines": [f"{len(x)} SynthTS-style series of 512 points; 2 with injected anomalies."],
    }


def _models() -> tuple[TinyPulse, TinyCast]:
    """The bundled checkpoints, in eval mode (a missing or broken one raises)."""
    from tinyts.models.base import resolve
    from tinyts.models.cast import TinyCast
    from tinyts.models.pulse import TinyPulse

    return resolve("tinypulse", TinyPulse).eval(), resolve("tinycast", TinyCast).eval()


def training_status(name: str, weights_dir: Path | None = None) -> str:
    """How far the bundled checkpoint ``name`` was pre-trained, from its model card and its recipe.

    Returns e.g. ``"step 84,753 of its recipe's 105,691 (a checkpoint of a run that continues)"``, ``"...
    (an annealed fork of a run that continues)"`` when the card says the weights are a cool-down fork, or
    ``"its recipe's full 20,000 steps"``; ``"see its model card"`` when the card or the recipe cannot be
    read. ``weights_dir``: where the model folders are (default: the bundled weights).
    """
    import yaml

    from tinyts.models.base import WEIGHTS_DIR
    from tinyts.train.recipes import RECIPE_DIR, load_recipe

    try:
        card = ((weights_dir or WEIGHTS_DIR) / name / "MODEL_CARD.md").read_text(encoding="utf-8")
        steps_match = re.search(r"^- steps: ([\d,]+)", card, re.MULTILINE)
        recipe_match = re.search(r"Recipe: `([\w.-]+\.yaml)`", card)
        if steps_match is None or recipe_match is None:
            return "see its model card"
        steps = int(steps_match.group(1).replace(",", ""))
        recipe = load_recipe(RECIPE_DIR / recipe_match.group(1))
        total = int(recipe["train"]["steps"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return "see its model card"
    if steps >= total:
        return f"its recipe's full {total:,} steps"
    if "cool-down fork" in card:  # an annealed copy of a run in the middle of its schedule
        return f"step {steps:,} of its recipe's {total:,} (an annealed fork of a run that continues)"
    return f"step {steps:,} of its recipe's {total:,} (a checkpoint of a run that continues)"


def training_data(name: str) -> str:
    """What the bundled checkpoint ``name`` was pre-trained on, from the data sources of its model card."""
    from tinyts.models.base import WEIGHTS_DIR

    card = WEIGHTS_DIR / name / "MODEL_CARD.md"
    try:
        text = card.read_text(encoding="utf-8")
    except OSError:
        return "see its model card"
    if re.search(r"^- real: ", text, re.MULTILINE):
        return "synthetic series plus real series of a public corpus (no benchmark data)"
    return "synthetic series only"


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
        "plus synthetic series from `tinyts.data.synth.core`. Each task first shows the real dataset, then "
        "the kind of data where the model earns its place, and says which is which.",
        "",
        "- Both checkpoints are pre-trained from scratch on a 2-core CPU: TinyPulse on "
        f"{training_data('tinypulse')}, to {training_status('tinypulse')}; TinyCast on "
        f"{training_data('tinycast')}, to {training_status('tinycast')} (their model cards have the "
        "details).",
        "- Every number below is one run on one small dataset: a check that the models run end to end, "
        "**not a benchmark**. Rows where a peer beats the tinyts model are shown as they came out.",
        "- Benchmarks over many datasets against the peers: `tinyts bench` (see `tinyts bench --help`) "
        "and `benchmarks/`.",
        f"- Times are wall-clock seconds on this machine (torch with {torch.get_num_threads()} thread(s)).",
    ]


def _sections(out_dir: Path, seed: int, pulse: TinyPulse, cast: TinyCast, data: Path) -> list[Section]:
    """The demo's sections, in order: ``(title, function returning {"plots", "lines"})``."""
    from tinyts.cli import demo_tasks
    from tinyts.data.io.ltsf import read_value_label

    kdd = read_value_label(data / "KDD-TSAD_135" / "135_UCR_Anomaly_InternalBleeding16_TEST.csv")
    kdd.train_end = 1200  # the UCR archive name: 135_UCR_Anomaly_InternalBleeding16_1200_4187_4199
    return [
        ("Synthetic data", lambda: _synthetic(out_dir, seed)),
        ("Imputation", lambda: demo_tasks.imputation(out_dir, seed, pulse, kdd)),
        ("Anomaly detection", lambda: demo_tasks.anomaly(out_dir, seed, pulse, kdd)),
        ("Classification", lambda: demo_tasks.classification(out_dir, seed, pulse, data)),
        ("Similarity search", lambda: demo_tasks.search(out_dir, seed, pulse, data)),
        ("Forecasting", lambda: demo_tasks.forecast(out_dir, seed, cast, data)),
    ]


def run_demo(out: str | Path = "tinyts-demo", *, seed: int = 0, progress: bool = True) -> Path:
    """Run every task on bundled data; write ``REPORT.md`` and plots into ``out``; return the report path.

    Parameters
    ----------
    out : str or Path
        Folder for ``REPORT.md`` and the plots (created if needed).
    seed : int
        Seed of the synthetic data, the imputation masks, the classifiers and the plotted query.
    progress : bool
        One line per section on stderr as it finishes (``[demo 3/6] Anomaly detection: 2.7 s, 8.1 s so
        far``). ``tinyts demo`` is a command-line tool, so this is on by default; False is silent.

    Returns
    -------
    Path
        The report. Any error in a section propagates (nothing is skipped).
    """

    def say(message: str) -> None:
        if progress:
            print(message, file=sys.stderr, flush=True)

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = _aeon_data()
    pulse, cast = _models()
    sections = _sections(out_dir, seed, pulse, cast, data)
    say(f"[demo] models and data loaded in {time.perf_counter() - start:.1f} s; {len(sections)} sections")
    report = _intro(pulse, cast)
    for k, (title, fn) in enumerate(sections, start=1):
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        report += ["", f"## {title}", "", *result["lines"], ""]
        body = "\n".join(result["lines"])
        for png in result["plots"]:
            if f"]({png})" not in body:
                report += [f"![{title}]({png})", ""]
        report.append(f"_{seconds:.1f} s_")
        say(
            f"[demo {k}/{len(sections)}] {title}: {seconds:.1f} s, {time.perf_counter() - start:.1f} s so far"
        )
    report += ["", f"Total: {time.perf_counter() - start:.1f} s."]
    path = out_dir / "REPORT.md"
    from tinyts.fileio import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text("\n".join(report) + "\n", encoding="utf-8")
    return path

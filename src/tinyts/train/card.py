"""Turn a training run into a bundled-style checkpoint folder with a model card."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinyts.models.base import TinyModel
from tinyts.train.loop import DEFAULT_SETUP
from tinyts.train.state import CHECKPOINT, EMA_FILE, TAIL_FILE, load_checkpoint, load_ema, load_tail


def _model_from_meta(meta: dict[str, Any]) -> TinyModel:
    from tinyts.train.recipes import model_from_meta

    model: TinyModel = model_from_meta(meta)
    return model


def model_card(state: dict[str, Any], extra: str = "") -> str:
    """Markdown model card: what the model is, how it was trained, on what, where, for how long."""
    meta = state["meta"]
    lines = [
        f"# {meta['model']}",
        "",
        f"Recipe: `{Path(meta['recipe']).name}` (continue the run with "
        f"`tinyts pretrain {Path(meta['recipe']).stem} --run-dir RUN_DIR --resume`).",
        "",
        "## Training",
        "",
        f"- steps: {state['step']:,}",
        f"- samples seen: {state['samples']:,}",
        f"- training wall time: {state['train_seconds'] / 3600:.2f} h",
        "",
        "| started | hardware | processes | threads | recipe, setup | steps | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for rec in state.get("history", []):
        # records of runs not resumed since setups are recorded: the recipe's default step
        setup = f"{rec.get('recipe', Path(meta['recipe']).name)}, {rec.get('setup', DEFAULT_SETUP)}"
        if "schedule" in rec:  # recorded since 2026-12-05
            setup += f"; {rec['schedule']}"
        lines.append(
            f"| {rec['started']} | {rec['hardware']} | {rec['world_size']} | {rec['threads']} | "
            f"{setup} | {rec['from_step']}-{rec['to_step']} | {rec['seconds']} |"
        )
    lines += ["", "## Data sources (everything this checkpoint saw)", ""]
    lines += [f"- {src}" for src in meta["data_sources"]]
    lines += ["", "No benchmark data (ETT, UCR/UEA, TSB-AD, NAB, ...) was used in training.", ""]
    lines += ["## Configuration", "", "```json", json.dumps(meta["model_config"], indent=1), "```", ""]
    lines += ["## Objective", "", "```json", json.dumps(meta["objective"], indent=1), "```", ""]
    if extra:
        lines += [extra, ""]
    return "\n".join(lines)


def load_run(
    run_dir: str | os.PathLike[str], ema: bool = False, tail: bool = False
) -> tuple[TinyModel, dict[str, Any]]:
    """The model of a training run's current checkpoint (weights loaded) and its ``state.json``.

    With ``ema`` the weights are the run's weight average (``train.ema_decay``) instead of its current
    weights, with ``tail`` its uniform tail average (``train.tail_from``); a ValueError if the
    checkpoint has none.

    Raises
    ------
    ValueError
        The folder has no checkpoint.
    """
    run = Path(run_dir)
    state_path = run / CHECKPOINT / "state.json"
    if not state_path.is_file():
        raise ValueError(f"{run} has no checkpoint (expected {state_path})")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    model = _model_from_meta(state["meta"])
    if ema and tail:
        raise ValueError("ema and tail are two different averages: choose one")
    if not (ema or tail):
        load_checkpoint(run, model, None)
        return model, state
    averaged, file, key = (
        (load_tail(run), TAIL_FILE, "tail_from") if tail else (load_ema(run), EMA_FILE, "ema_decay")
    )
    if averaged is None:
        what = "tail average" if tail else "weight average"
        raise ValueError(
            f"{run} has no {what} (checkpoint/{file}): the run must be trained with train.{key} > 0"
        )
    model.load_state_dict(averaged, strict=True)
    return model, state


def ema_note(state: dict[str, Any]) -> str:
    """The model card's line for weights that are the run's weight average."""
    decay = float(state.get("ema_decay", 0.0))
    return (
        f"**Weights: the run's exponential moving average** at step {state['step']:,} (decay {decay:g}, "
        f"{int(state.get('ema_updates', 0)):,} updates, i.e. about the last {round(1 / (1 - decay)):,} "
        "steps; `train.ema_decay`), not its current weights."
    )


def tail_note(state: dict[str, Any]) -> str:
    """The model card's line for weights that are the run's uniform tail average."""
    n, first = int(state.get("tail_updates", 0)), int(state.get("tail_first_step", 0))
    return (
        f"**Weights: the run's uniform tail average**: the mean of its weights after each of the {n:,} steps "
        f"{first:,} to {state['step']:,} (`train.tail_from`), not its current weights."
    )


def export_run(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    extra: str = "",
    ema: bool = False,
    tail: bool = False,
) -> Path:
    """Write the run's current checkpoint as ``config.json`` + ``model.safetensors`` + ``MODEL_CARD.md``
    (``ema`` / ``tail``: its weight average / tail average instead of its current weights, said so in
    the card)."""
    model, state = load_run(run_dir, ema=ema, tail=tail)
    note = ema_note(state) if ema else tail_note(state) if tail else ""
    if note:
        extra = f"{note}\n\n{extra}" if extra else note
    return model.save_pretrained(out_dir, card=model_card(state, extra))

"""`tinyts pretrain` killed (SIGKILL) at random moments resumes without losing a completed step, and
ends with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from pretrain_runs import BATCH, env, logged_steps, pretrain_cmd, state, tiny_recipe
from safetensors.torch import load_file

from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.train.recipes import build_trainer, load_recipe
from tinyts.train.state import CHECKPOINT, load_checkpoint, save_checkpoint

STEPS, EVERY, KILLS = 120, 7, 2


def _wait_for_step(proc: subprocess.Popen[str], run: Path, after: int, timeout: float = 180.0) -> None:
    """Until the run's checkpoint is past step ``after`` (the process must still be running)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if state(run)["step"] > after:
                return
        except (FileNotFoundError, ValueError):
            pass  # no checkpoint yet, or state.json replaced while we read it
        assert proc.poll() is None, f"the run ended early:\n{proc.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, "no new checkpoint in time"
        time.sleep(0.01)


def _check_on_disk(run: Path, recipe: Path) -> int:
    """The checkpoint left by the kill loads (weights and optimizer); its step is a checkpoint step
    and the log has a record for every step up to it. Returns that step."""
    cfg = load_recipe(recipe)
    model = TinyPulse(PulseConfig(**cfg["model_config"]))
    opt = torch.optim.AdamW(model.parameters())
    loaded = load_checkpoint(run, model, opt)
    assert loaded is not None, "no loadable checkpoint after the kill"
    step = int(loaded["step"])
    assert 0 < step < STEPS and step % EVERY == 0
    assert loaded["samples"] == step * BATCH
    assert set(range(1, step + 1)) <= set(logged_steps(run))
    return step


@pytest.mark.slow
@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
def test_killed_runs_resume_exactly(tmp_path: Path, fast: bool) -> None:
    """Plain, and the fast setup (bank of series, augmentations, bf16 autocast, rand dropout)."""
    recipe = tiny_recipe(tmp_path, steps=STEPS, checkpoint_every=EVERY, fast=fast)
    run = tmp_path / "run"
    rng = random.Random(7)  # seeded: the kill delays are the same in every CI run
    done = 0
    for kill in range(KILLS):
        cmd = pretrain_cmd(recipe, run, *(["--resume"] if kill else []))
        proc = subprocess.Popen(
            cmd, env=env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            _wait_for_step(proc, run, done)  # at least one checkpoint of this process exists
            time.sleep(rng.uniform(0.0, 1.0))
            assert proc.poll() is None, "the run finished before the kill; make it longer"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        done = _check_on_disk(run, recipe)

    out = subprocess.run(
        pretrain_cmd(recipe, run, "--resume"),
        env=env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"resumed at step {done}" in out.stdout
    final = state(run)
    assert final["step"] == STEPS and final["samples"] == STEPS * BATCH
    assert logged_steps(run) == list(range(1, STEPS + 1))  # every step once: no gap, no duplicate
    assert [seg["to_step"] for seg in final["history"]][-1] == STEPS
    assert len(final["history"]) == KILLS + 1

    # the uninterrupted run, in this process (checkpointing only at the end changes no arithmetic)
    straight = build_trainer(
        load_recipe(recipe), tmp_path / "straight", {"progress": False, "checkpoint_every": STEPS}
    )
    straight.fit()
    resumed = load_file(str(run / CHECKPOINT / "model.safetensors"))
    reference = straight.model.state_dict()
    assert set(resumed) == set(reference)
    for name, value in reference.items():
        assert torch.equal(resumed[name], value), f"{name} differs from the uninterrupted run"


def test_crash_between_the_renames_keeps_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that died between the two renames left only ``.checkpoint.old``; the next save must not
    delete it before its own checkpoint is in place (a second crash there would leave none)."""
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    save_checkpoint(tmp_path, model, opt, {"step": 1})
    os.replace(tmp_path / CHECKPOINT, tmp_path / f".{CHECKPOINT}.old")  # the state after the first crash

    real_replace = os.replace

    def crash_on_install(src: object, dst: object) -> None:
        if Path(str(dst)).name == CHECKPOINT:
            raise OSError("simulated crash before the new checkpoint is in place")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", crash_on_install)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(tmp_path, model, opt, {"step": 2})
    monkeypatch.setattr(os, "replace", real_replace)
    loaded = load_checkpoint(tmp_path, torch.nn.Linear(3, 2), None)
    assert loaded is not None and loaded["step"] == 1


def test_resume_skips_a_torn_log_line(tmp_path: Path) -> None:
    """A log whose last write was cut off mid-line must not stop the resume (nor the loss plot)."""
    from tinyts.train.loop import TrainConfig, Trainer

    def batch(step: int, rank: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(step)
        return {"x": torch.randn(4, 3, generator=g)}

    def loss(model: torch.nn.Module, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return model(b["x"]).pow(2).mean(), {}

    cfg = TrainConfig(steps=4, checkpoint_every=2, log_every=1, warmup_steps=1, progress=False)
    Trainer(torch.nn.Linear(3, 1), batch, loss, cfg, tmp_path).fit()
    log = tmp_path / "log.jsonl"
    log.write_text(log.read_text(encoding="utf-8") + '{"loss": 0.5, "st', encoding="utf-8")
    again = Trainer(torch.nn.Linear(3, 1), batch, loss, TrainConfig(**{**cfg.__dict__, "steps": 6}), tmp_path)
    assert again.resume() and again.step == 4
    again.fit()
    assert logged_steps(tmp_path) == [1, 2, 3, 4, 5, 6]

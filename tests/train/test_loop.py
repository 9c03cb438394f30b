"""The training loop: it learns, checkpoints atomically, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

import itertools
import json
import os
import signal
from pathlib import Path

import pytest
import torch
from torch import nn

from tinyts.train import TrainConfig, Trainer
from tinyts.train.state import CHECKPOINT


def _batch(step: int, rank: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(step * 10 + rank)
    x = torch.randn(16, 4, generator=g)
    return {"x": x, "y": x @ torch.tensor([1.0, -2.0, 0.5, 3.0])}


def _loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    pred = model(batch["x"]).squeeze(-1)
    loss = ((pred - batch["y"]) ** 2).mean()
    return loss, {"mse": float(loss.detach())}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.1), nn.Linear(8, 1))


def _cfg(**kw: object) -> TrainConfig:
    base = dict(steps=30, lr=1e-2, warmup_steps=3, checkpoint_every=10, log_every=5, progress=False)
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_learns_and_writes_log_plot_checkpoint(tmp_path: Path) -> None:
    trainer = Trainer(_model(), _batch, _loss, _cfg(steps=200, lr=3e-2), tmp_path)
    summary = trainer.fit()
    assert summary["finished"] and summary["step"] == 200 and summary["samples"] == 200 * 16
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-1]["mse"] < log[0]["mse"] / 3
    assert (tmp_path / "loss.png").stat().st_size > 0
    assert {p.name for p in (tmp_path / CHECKPOINT).iterdir()} == {
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
    }


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = Trainer(_model(), _batch, _loss, _cfg(), tmp_path / "a")
    straight.fit()

    first = Trainer(_model(), _batch, _loss, _cfg(steps=30, max_seconds=1e-9), tmp_path / "b")
    first.fit()  # stops (and checkpoints) after its first step
    assert first.step == 1
    second = Trainer(_model(), _batch, _loss, _cfg(), tmp_path / "b")
    assert second.resume() and second.step == 1
    second.fit()
    for a, b in zip(straight.model.parameters(), second.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert second.samples == straight.samples


def test_resume_without_checkpoint_starts_fresh(tmp_path: Path) -> None:
    assert not Trainer(_model(), _batch, _loss, _cfg(), tmp_path).resume()


def test_lr_schedule() -> None:
    cfg = TrainConfig(steps=100, lr=1.0, min_lr=0.0, warmup_steps=10)
    assert cfg.lr_at(0) == pytest.approx(0.1)
    assert cfg.lr_at(9) == pytest.approx(1.0)
    assert cfg.lr_at(100) == pytest.approx(0.0, abs=1e-12)


def test_second_schedule_warms_up_again_from_schedule_start() -> None:
    cfg = TrainConfig(steps=300, lr=1.0, min_lr=0.0, warmup_steps=10, schedule_start=100)
    assert cfg.lr_at(100) == pytest.approx(0.1)
    assert cfg.lr_at(109) == pytest.approx(1.0)
    assert cfg.lr_at(110 + 95) == pytest.approx(0.5)  # half-way through the 190 decay steps
    assert cfg.lr_at(300) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="schedule_start"):
        TrainConfig(steps=100, schedule_start=-1)


def test_cooldown_anneals_from_the_current_rate(tmp_path: Path) -> None:
    cfg = TrainConfig(steps=300, lr=1.0, min_lr=0.01, warmup_steps=10, schedule_start=100)
    cool = cfg.cooldown(150, 40)
    assert (cool.steps, cool.schedule_start, cool.warmup_steps) == (190, 150, 0)
    assert cool.lr_at(150) == pytest.approx(cfg.lr_at(150))  # no jump at the fork
    rates = [cool.lr_at(s) for s in range(150, 191)]
    assert all(b < a for a, b in itertools.pairwise(rates)) and rates[-1] == pytest.approx(0.01)
    assert "cosine to 0.01 at step 190 from step 150" in cool.schedule()
    with pytest.raises(ValueError, match="cool-down"):
        cfg.cooldown(150, 0)
    # a run resumed with a cool-down records it in its history
    t = Trainer(_model(), _batch, _loss, _cfg(steps=10), tmp_path / "run")
    t.fit()
    t2 = Trainer(_model(), _batch, _loss, _cfg(steps=30), tmp_path / "run")
    assert t2.resume() and t2.step == 10
    t2.config = t2.config.cooldown(t2.step, 5)
    assert t2.fit()["step"] == 15
    hist = json.loads((tmp_path / "run" / CHECKPOINT / "state.json").read_text())["history"]
    assert "from step 10" in hist[-1]["schedule"] and hist[-1]["to_step"] == 15


def test_cli_cooldown_needs_resume(tmp_path: Path) -> None:
    from pretrain_runs import tiny_recipe
    from typer.testing import CliRunner

    from tinyts.cli.main import app

    recipe = tiny_recipe(tmp_path, steps=4, checkpoint_every=2)
    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["pretrain", str(recipe), "--run-dir", str(run), "--cooldown", "3"])
    assert res.exit_code == 2 and "--resume" in res.output
    assert (
        CliRunner().invoke(app, ["pretrain", str(recipe), "--run-dir", str(run), "--no-progress"]).exit_code
        == 0
    )
    res = CliRunner().invoke(
        app, ["pretrain", str(recipe), "--run-dir", str(run), "--resume", "--cooldown", "3", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "cool-down: warm-up 0 steps" in res.output and "at step 7 from step 4" in res.output
    assert json.loads((run / CHECKPOINT / "state.json").read_text())["step"] == 7


def test_non_finite_loss_is_reported(tmp_path: Path) -> None:
    def bad(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return model(batch["x"]).sum() * float("nan"), {}

    with pytest.raises(FloatingPointError, match="learning rate"):
        Trainer(_model(), _batch, bad, _cfg(), tmp_path).fit()


def test_sigterm_checkpoints_and_stops(tmp_path: Path) -> None:

    def batch(step: int, rank: int) -> dict[str, torch.Tensor]:
        if step == 3:  # the signal arrives in the middle of step 3
            os.kill(os.getpid(), signal.SIGTERM)
        return _batch(step, rank)

    before = signal.getsignal(signal.SIGTERM)
    trainer = Trainer(_model(), batch, _loss, _cfg(steps=50, checkpoint_every=100), tmp_path)
    summary = trainer.fit()
    assert summary["stopped_by_signal"] == signal.SIGTERM and summary["step"] == 4
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
    again = Trainer(_model(), _batch, _loss, _cfg(steps=50), tmp_path)
    assert again.resume() and again.step == 4


def test_resume_drops_log_records_after_the_checkpoint(tmp_path: Path) -> None:
    Trainer(_model(), _batch, _loss, _cfg(steps=4, log_every=1), tmp_path).fit()
    with open(tmp_path / "log.jsonl", "a", encoding="utf-8") as fh:  # a run killed after step 4
        fh.write(json.dumps({"loss": 1.0, "step": 5}) + "\n" + json.dumps({"loss": 1.0, "step": 6}) + "\n")
    trainer = Trainer(_model(), _batch, _loss, _cfg(steps=8, log_every=1), tmp_path)
    assert trainer.resume() and trainer.step == 4
    trainer.fit()
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))

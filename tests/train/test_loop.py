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


def test_weight_average_follows_its_formula(tmp_path: Path) -> None:
    """``ema_decay``: after each step ``ema = d ema + (1 - d) w`` with ``d = min(decay, n/(n+1))``."""
    cfg = _cfg(steps=12, ema_decay=0.9)
    trainer = Trainer(_model(), _batch, _loss, cfg, tmp_path)
    expected: dict[str, torch.Tensor] | None = None
    original = trainer.opt.step

    def step_and_track(*args: object, **kwargs: object) -> None:
        nonlocal expected
        original()
        weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        if expected is None:
            expected = weights
            n = 0
        else:
            n = trainer.ema_updates
        d = min(0.9, n / (n + 1))
        expected = {k: d * expected[k] + (1 - d) * weights[k] for k in weights}

    trainer.opt.step = step_and_track  # type: ignore[method-assign]
    trainer.fit()
    assert trainer.ema is not None and trainer.ema_updates == 12 and expected is not None
    for k, v in expected.items():
        torch.testing.assert_close(trainer.ema[k], v, rtol=1e-5, atol=1e-6)
    # the average differs from the final weights, and it is in the checkpoint with its count
    final = trainer.model.state_dict()
    assert any(not torch.equal(trainer.ema[k], final[k]) for k in final)
    state = json.loads((tmp_path / CHECKPOINT / "state.json").read_text())
    assert state["ema_updates"] == 12 and state["ema_decay"] == 0.9
    assert (tmp_path / CHECKPOINT / "ema.safetensors").is_file()
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_weight_average_resumes_exactly_and_starts_on_old_checkpoints(tmp_path: Path) -> None:
    straight = Trainer(_model(), _batch, _loss, _cfg(ema_decay=0.95), tmp_path / "a")
    straight.fit()
    first = Trainer(_model(), _batch, _loss, _cfg(ema_decay=0.95, max_seconds=1e-9), tmp_path / "b")
    first.fit()
    second = Trainer(_model(), _batch, _loss, _cfg(ema_decay=0.95), tmp_path / "b")
    assert second.resume() and second.step == 1 and second.ema_updates == 1
    second.fit()
    assert straight.ema is not None and second.ema is not None and second.ema_updates == 30
    for k, v in straight.ema.items():
        torch.testing.assert_close(second.ema[k], v, rtol=1e-6, atol=1e-6)
    # a run without an average gets one from the weights it resumes with
    plain = Trainer(_model(), _batch, _loss, _cfg(steps=10), tmp_path / "c")
    plain.fit()
    assert plain.ema is None and not (tmp_path / "c" / CHECKPOINT / "ema.safetensors").exists()
    more = Trainer(_model(), _batch, _loss, _cfg(steps=11, ema_decay=0.95), tmp_path / "c")
    assert more.resume() and more.ema is None
    more.fit()
    assert more.ema_updates == 1 and more.ema is not None
    for k, v in more.model.state_dict().items():  # the first update copies the resumed weights (d = 0)
        assert v.shape == more.ema[k].shape


def test_cli_exports_the_weight_average(tmp_path: Path) -> None:
    import yaml
    from pretrain_runs import tiny_recipe
    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from tinyts.cli.main import app

    recipe = tiny_recipe(tmp_path, steps=6, checkpoint_every=3)
    run, plain_run = tmp_path / "run", tmp_path / "plain"
    res = CliRunner().invoke(app, ["pretrain", str(recipe), "--run-dir", str(plain_run), "--no-progress"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        app,
        ["pretrain", str(recipe), "--run-dir", str(plain_run), "--resume", "--steps", "0",
         "--export", str(tmp_path / "none"), "--ema"],
    )  # fmt: skip
    assert res.exit_code == 2 and "weight average" in res.output
    res = CliRunner().invoke(app, ["pretrain", str(recipe), "--run-dir", str(run), "--ema", "--no-progress"])
    assert res.exit_code == 2 and "--export" in res.output
    spec = yaml.safe_load(recipe.read_text())
    spec["train"]["ema_decay"] = 0.5
    recipe.write_text(yaml.safe_dump(spec))
    args = ["pretrain", str(recipe), "--run-dir", str(run), "--no-progress"]
    assert CliRunner().invoke(app, args).exit_code == 0
    for out, extra in ((tmp_path / "avg", ["--ema"]), (tmp_path / "cur", [])):
        res = CliRunner().invoke(app, [*args, "--resume", "--steps", "0", "--export", str(out), *extra])
        assert res.exit_code == 0, res.output
    avg, cur = (
        load_file(str(tmp_path / "avg" / "model.safetensors")),
        load_file(str(tmp_path / "cur" / "model.safetensors")),
    )
    ema = load_file(str(run / CHECKPOINT / "ema.safetensors"))
    weights = load_file(str(run / CHECKPOINT / "model.safetensors"))
    assert all(torch.equal(avg[k], ema[k]) and torch.equal(cur[k], weights[k]) for k in weights)
    assert any(not torch.equal(avg[k], cur[k]) for k in weights)
    card = (tmp_path / "avg" / "MODEL_CARD.md").read_text()
    assert "exponential moving average" in card and "decay 0.5" in card
    assert "moving average" not in (tmp_path / "cur" / "MODEL_CARD.md").read_text()


def test_tail_average_is_the_mean_of_the_weights_after_each_step_past_tail_from(tmp_path: Path) -> None:
    trainer = Trainer(_model(), _batch, _loss, _cfg(steps=12, tail_from=8), tmp_path)
    seen: list[dict[str, torch.Tensor]] = []
    original = trainer.opt.step

    def step_and_keep(*args: object, **kwargs: object) -> None:
        original()
        if trainer.step + 1 >= 8:  # trainer.step is the step count before this step finishes
            seen.append({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})

    trainer.opt.step = step_and_keep  # type: ignore[method-assign]
    trainer.fit()
    assert trainer.tail is not None and trainer.tail_updates == 5 == len(seen)  # steps 8..12
    for k in seen[0]:
        torch.testing.assert_close(
            trainer.tail[k], torch.stack([w[k] for w in seen]).mean(0), rtol=1e-5, atol=1e-6
        )
    state = json.loads((tmp_path / CHECKPOINT / "state.json").read_text())
    assert (state["tail_updates"], state["tail_from"], state["tail_first_step"]) == (5, 8, 8)
    assert (tmp_path / CHECKPOINT / "tail.safetensors").is_file()
    with pytest.raises(ValueError, match="tail_from"):
        TrainConfig(tail_from=-1)


def test_tail_average_resumes_exactly_and_refuses_another_start(tmp_path: Path) -> None:
    straight = Trainer(_model(), _batch, _loss, _cfg(tail_from=20), tmp_path / "a")
    straight.fit()

    def batch(step: int, rank: int) -> dict[str, torch.Tensor]:
        if step == 23:  # stopped in the middle of step 23: checkpoint at 24, the same schedule
            os.kill(os.getpid(), signal.SIGTERM)
        return _batch(step, rank)

    first = Trainer(_model(), batch, _loss, _cfg(tail_from=20), tmp_path / "b")
    first.fit()
    second = Trainer(_model(), _batch, _loss, _cfg(tail_from=20), tmp_path / "b")
    assert second.resume() and second.step == 24 and second.tail_updates == 5
    second.fit()
    assert straight.tail is not None and second.tail is not None and second.tail_updates == 11
    for k, v in straight.tail.items():
        torch.testing.assert_close(second.tail[k], v, rtol=1e-6, atol=1e-6)
    # before tail_from nothing is kept, and a resumed run must keep the recipe's start
    early = Trainer(_model(), _batch, _loss, _cfg(steps=10, tail_from=20), tmp_path / "c")
    early.fit()
    assert early.tail is None and not (tmp_path / "c" / CHECKPOINT / "tail.safetensors").exists()
    moved = Trainer(_model(), _batch, _loss, _cfg(tail_from=22), tmp_path / "b")
    with pytest.raises(ValueError, match="tail_from 22"):
        moved.resume()


def test_cli_exports_the_tail_average_and_the_ablation_suite_finds_it(tmp_path: Path) -> None:
    import yaml
    from pretrain_runs import tiny_recipe
    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from tinyts.bench.suites.pretrain_ablation import find_runs
    from tinyts.cli.main import app
    from tinyts.train.card import load_run

    recipe = tiny_recipe(tmp_path, steps=6, checkpoint_every=3)
    spec = yaml.safe_load(recipe.read_text())
    spec["train"]["tail_from"] = 3
    recipe.write_text(yaml.safe_dump(spec))
    runs = tmp_path / "runs"
    run = runs / "r"
    args = ["pretrain", str(recipe), "--run-dir", str(run), "--no-progress"]
    assert CliRunner().invoke(app, args).exit_code == 0
    res = CliRunner().invoke(
        app, [*args, "--resume", "--steps", "0", "--export", str(tmp_path / "t"), "--tail"]
    )
    assert res.exit_code == 0, res.output
    exported = load_file(str(tmp_path / "t" / "model.safetensors"))
    kept = load_file(str(run / CHECKPOINT / "tail.safetensors"))
    assert all(torch.equal(exported[k], kept[k]) for k in kept)
    card = (tmp_path / "t" / "MODEL_CARD.md").read_text()
    assert "uniform tail average" in card and "4 steps 3 to 6" in card
    res = CliRunner().invoke(
        app, [*args, "--resume", "--steps", "0", "--export", str(tmp_path / "x"), "--tail", "--ema"]
    )
    assert res.exit_code == 2 and "one" in res.output
    assert set(find_runs(runs)) == {"r", "r_tail"}
    model, _ = load_run(run, tail=True)
    assert all(torch.equal(model.state_dict()[k], kept[k]) for k in kept)
    with pytest.raises(ValueError, match="choose one"):
        load_run(run, ema=True, tail=True)

"""The shared fine-tuning loop: rounds, early stopping and best weights, clipping, schedule, limits, seeds."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

from tinyts.train.finetune import LoopSettings, Validation, finetune_loop


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 3, generator=g)
    return x, x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(64, generator=g)


def _batches(n: int, size: int, seed: int) -> Iterator[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randint(0, n, (size,), generator=g)


def _setup(seed: int = 0) -> tuple[nn.Linear, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = nn.Linear(3, 1)
    x, y = _data(seed)
    return model, torch.optim.SGD(model.parameters(), lr=0.05), x, y


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        return ((model(x[idx]).squeeze(-1) - y[idx]) ** 2).mean()

    return loss_fn


def _scripted(
    model: nn.Module, losses: list[float], kept: list[dict[str, torch.Tensor]], improved: bool = False
) -> Callable[[], Validation]:
    """A validation that returns ``losses`` in turn and records the weights it saw."""
    it = iter(losses)

    def validate() -> Validation:
        kept.append({k: v.clone() for k, v in model.state_dict().items()})
        return Validation(next(it), improved=improved)

    return validate


def test_rounds_records_and_batches_drawn() -> None:
    model, opt, x, y = _setup()
    drawn: list[torch.Tensor] = []

    def batches() -> Iterator[torch.Tensor]:
        for idx in _batches(len(x), 8, 0):
            drawn.append(idx)
            yield idx

    losses: list[float] = []
    loss_of = _loss(model, x, y)

    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        loss = loss_of(idx)
        losses.append(float(loss.detach()))
        return loss

    res = finetune_loop([model], opt, batches(), loss_fn, LoopSettings(steps=7, eval_every=3))
    assert len(drawn) == 7 and res.steps == 7 and res.stopped == "steps"
    assert [r["step"] for r in res.history] == [3.0, 6.0, 7.0]  # the last round is shorter
    assert [r["train_loss"] for r in res.history] == pytest.approx(
        [sum(losses[:3]) / 3, sum(losses[3:6]) / 3, losses[6]]
    )
    assert res.best_step is None and res.initial_loss is None  # no validation: nothing restored
    assert losses[-1] < losses[0]


def test_early_stopping_stops_after_patience_and_restores_the_best_weights() -> None:
    model, opt, x, y = _setup()
    seen: list[dict[str, torch.Tensor]] = []
    validate = _scripted(model, [3.0, 1.0, 2.0, 4.0, 0.5, 0.1], seen)
    settings = LoopSettings(steps=60, eval_every=5, patience=2)
    res = finetune_loop([model], opt, _batches(len(x), 8, 0), _loss(model, x, y), settings, validate=validate)
    # round 2 is the best; rounds 3 and 4 are two without improvement: stop there
    assert res.stopped == "early" and res.steps == 20 and len(seen) == 4
    assert [r["val_loss"] for r in res.history] == [3.0, 1.0, 2.0, 4.0]
    assert (res.best_round, res.best_step) == (2, 10)
    for k, v in model.state_dict().items():
        assert torch.equal(v, seen[1][k])
        assert not torch.equal(v, seen[3][k])  # the last weights were trained on, then dropped


def test_patience_counts_only_real_improvements() -> None:
    model, opt, x, y = _setup()
    settings = LoopSettings(steps=50, eval_every=1, patience=2, min_delta=0.1)
    # 0.95 is lower than 1.0 but not by more than min_delta: not an improvement
    validate = _scripted(model, [1.0, 0.95, 0.95, 0.5], [])
    res = finetune_loop([model], opt, _batches(len(x), 8, 0), _loss(model, x, y), settings, validate=validate)
    assert res.steps == 3 and res.best_step == 1


def test_other_progress_resets_the_patience_without_a_new_best() -> None:
    model, opt, x, y = _setup()
    settings = LoopSettings(steps=5, eval_every=1, patience=2)  # without the resets: stops at step 3
    validate = _scripted(model, [1.0, 2.0, 2.0, 2.0, 2.0], [], improved=True)
    res = finetune_loop([model], opt, _batches(len(x), 8, 0), _loss(model, x, y), settings, validate=validate)
    assert res.stopped == "steps" and res.steps == 5  # every round "improved": never stopped
    assert res.best_step == 1  # but only the lowest loss is kept


def test_validate_first_keeps_the_initial_weights_when_nothing_improves() -> None:
    model, opt, x, y = _setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    validate = _scripted(model, [1.0, 2.0, 3.0], [])
    settings = LoopSettings(steps=10, eval_every=5, validate_first=True)
    res = finetune_loop([model], opt, _batches(len(x), 8, 0), _loss(model, x, y), settings, validate=validate)
    assert res.initial_loss == 1.0 and (res.best_round, res.best_step) == (0, 0)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_modules_train_during_steps_and_validate_in_eval_mode() -> None:
    model, opt, x, y = _setup()
    modes: list[tuple[str, bool]] = []
    loss_of = _loss(model, x, y)

    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        modes.append(("step", model.training))
        return loss_of(idx)

    def validate() -> Validation:
        modes.append(("val", model.training))
        return Validation(0.0)

    model.eval()
    finetune_loop(
        [model], opt, _batches(len(x), 8, 0), loss_fn, LoopSettings(steps=4, eval_every=2), validate=validate
    )
    assert modes == [("step", True), ("step", True), ("val", False)] * 2


@pytest.mark.parametrize(("clip", "expected"), [(0.0, 2000.0), (1.0, 1.0)])
def test_gradient_clipping_bounds_the_update(clip: float, expected: float) -> None:
    module = nn.Module()
    module.w = nn.Parameter(torch.zeros(4))
    opt = torch.optim.SGD(module.parameters(), lr=1.0)
    settings = LoopSettings(1, grad_clip=clip)
    res = finetune_loop([module], opt, iter([None]), lambda _: 1000.0 * module.w.sum(), settings)
    assert res.steps == 1
    # the gradient is 1000 per coordinate (norm 2000): clipping scales the step to norm ``clip``
    assert float(module.w.detach().norm()) == pytest.approx(expected, rel=1e-5)


def test_learning_rate_schedule_steps_after_every_step() -> None:
    model, opt, x, y = _setup()
    rates: list[float] = []
    loss_of = _loss(model, x, y)

    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        rates.append(opt.param_groups[0]["lr"])
        return loss_of(idx)

    finetune_loop([model], opt, _batches(len(x), 8, 0), loss_fn, LoopSettings(4), lr_factor=lambda s: 0.5**s)
    assert rates == pytest.approx([0.05, 0.025, 0.0125, 0.00625])


def test_non_finite_loss_raises_when_checked() -> None:
    model, opt, x, _ = _setup()

    def loss_fn(idx: torch.Tensor) -> torch.Tensor:
        return torch.tensor(math.nan, requires_grad=True)

    with pytest.raises(FloatingPointError, match="non-finite training loss at step 0"):
        finetune_loop([model], opt, _batches(len(x), 8, 0), loss_fn, LoopSettings(3, check_finite=True))
    res = finetune_loop([model], opt, _batches(len(x), 8, 0), loss_fn, LoopSettings(3))
    assert res.steps == 3 and math.isnan(res.history[-1]["train_loss"])


def test_time_limit_ends_the_round_validates_and_stops() -> None:
    model, opt, x, y = _setup()
    validate = _scripted(model, [1.0, 0.5], [])
    settings = LoopSettings(steps=100, eval_every=10, max_seconds=1e-9)
    res = finetune_loop([model], opt, _batches(len(x), 8, 0), _loss(model, x, y), settings, validate=validate)
    assert res.stopped == "time" and res.steps == 1
    assert res.history == [{"step": 1.0, "train_loss": res.history[0]["train_loss"], "val_loss": 1.0}]


def test_reports_every_record_and_merges_metrics() -> None:
    model, opt, x, y = _setup()
    reported: list[dict[str, float]] = []
    res = finetune_loop(
        [model],
        opt,
        _batches(len(x), 8, 0),
        _loss(model, x, y),
        LoopSettings(steps=4, eval_every=2),
        validate=lambda: Validation(1.0, {"val_accuracy": 0.5}),
        report=reported.append,
    )
    assert reported == res.history and len(reported) == 2
    assert list(reported[0]) == ["step", "train_loss", "val_loss", "val_accuracy"]


def test_deterministic_and_draws_no_random_numbers_itself() -> None:
    runs = []
    for _ in range(2):
        model, opt, x, y = _setup(seed=3)
        torch.manual_seed(123)
        state = torch.get_rng_state()

        def validate(model: nn.Module = model, x: torch.Tensor = x, y: torch.Tensor = y) -> Validation:
            with torch.no_grad():
                return Validation(float(((model(x).squeeze(-1) - y) ** 2).mean()))

        settings = LoopSettings(steps=12, eval_every=4, patience=1, grad_clip=0.5, validate_first=True)
        res = finetune_loop(
            [model], opt, _batches(len(x), 8, 7), _loss(model, x, y), settings, validate=validate
        )
        assert torch.equal(torch.get_rng_state(), state)  # batches come from the caller's seeded iterator
        runs.append((res.history, res.best_step, {k: v.clone() for k, v in model.state_dict().items()}))
    (h1, b1, w1), (h2, b2, w2) = runs
    assert h1 == h2 and b1 == b2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


@pytest.mark.parametrize(
    "kw",
    [
        {"steps": -1},
        {"steps": 1, "eval_every": -1},
        {"steps": 1, "patience": -1},
        {"steps": 1, "grad_clip": -1.0},
    ],
)
def test_settings_are_checked(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LoopSettings(**kw)  # type: ignore[arg-type]

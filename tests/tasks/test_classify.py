"""PulseClassifier (TSLens on TinyPulse): learning, probabilities, checkpoints, inputs, errors, CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tinyts.cli.main import app
from tinyts.models.base import CheckpointError, load
from tinyts.models.lens import PulseLens, lens_config_for
from tinyts.models.pulse import TinyPulse
from tinyts.nn.interp import resample_cases
from tinyts.tasks.classify.api import PulseClassifier
from tinyts.tasks.classify.data import stratified_split

torch.set_num_threads(1)

#: a short run: enough for the synthetic problem, a few seconds on one core
FAST: dict[str, Any] = {
    "method": "tslens",
    "min_steps": 40,
    "max_steps": 40,
    "epochs": 1,
    "n_views": 2,
    "encoder_layers": 1,
}


def _problem(n: int, channels: int = 1, length: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes: 2 vs 7 cycles of a sine with random phase, amplitude and offset, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.array(["slow", "fast"])[rng.integers(0, 2, n)]
    t = np.linspace(0, 1, length)
    freq = np.where(y == "slow", 2.0, 7.0)[:, None, None]
    amp = rng.uniform(0.5, 3.0, (n, 1, 1))
    X = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3, (n, channels, 1)))
    X = X + rng.uniform(-5, 5, (n, channels, 1)) + 0.2 * rng.standard_normal((n, channels, length))
    return X, y


@pytest.fixture(scope="module")
def pulse() -> TinyPulse:
    model = load("tinypulse")
    assert isinstance(model, TinyPulse)
    return model


@pytest.fixture(scope="module")
def fitted(pulse: TinyPulse) -> tuple[PulseClassifier, np.ndarray, np.ndarray]:
    X, y = _problem(48, seed=0)
    clf = PulseClassifier(pulse, seed=0, **FAST).fit(X, y)
    Xt, yt = _problem(40, seed=1)
    return clf, Xt, yt


def test_learns_a_separable_problem(fitted: tuple[PulseClassifier, np.ndarray, np.ndarray]) -> None:
    clf, Xt, yt = fitted
    assert clf.score(Xt, yt) >= 0.9
    assert set(clf.classes_) == {"slow", "fast"}
    assert clf.history_ and "val_loss" in clf.history_[0] and clf.best_step_ is not None
    # the held-out validation cases (a stratified 20 % of 48) with their predictions at the kept step
    assert clf.validation_ is not None
    truth, pred = clf.validation_
    assert len(truth) == len(pred) and 5 <= len(truth) <= 12
    assert set(truth) <= {"slow", "fast"} and set(pred) <= {"slow", "fast"}


def test_predict_proba_is_a_distribution(fitted: tuple[PulseClassifier, np.ndarray, np.ndarray]) -> None:
    clf, Xt, _ = fitted
    proba = clf.predict_proba(Xt)
    assert proba.shape == (len(Xt), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(clf.predict(Xt), clf.classes_[proba.argmax(axis=1)])


def test_save_and_load_predict_identically(
    fitted: tuple[PulseClassifier, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    clf, Xt, _ = fitted
    folder = clf.save_pretrained(tmp_path / "clf")
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors"}
    back = PulseClassifier.from_pretrained(folder)
    np.testing.assert_array_equal(back.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(back.classes_, clf.classes_)


def test_checkpoint_errors_are_clear(
    fitted: tuple[PulseClassifier, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    clf, _, _ = fitted
    folder = clf.save_pretrained(tmp_path / "clf")
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        PulseClassifier.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        PulseClassifier.from_pretrained(folder)
    with pytest.raises(CheckpointError, match="not a PulseLens|holds a TinyPulse"):
        PulseClassifier.from_pretrained("tinypulse")


def test_seeded_fits_are_identical(pulse: TinyPulse) -> None:
    X, y = _problem(24, seed=3)
    opts = {**FAST, "min_steps": 10, "max_steps": 10}
    a = PulseClassifier(pulse, seed=5, **opts).fit(X, y).predict_proba(X)
    b = PulseClassifier(pulse, seed=5, **opts).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_identity_channel_mixing_leaves_features_unchanged(pulse: TinyPulse) -> None:
    x = torch.randn(3, 4, 512)
    obs = torch.rand(3, 4, 512) > 0.1
    config = lens_config_for(pulse, 4, ["a", "b"], "lens", 4, 0.2)
    assert config.pulse["channel_mixing"] == 4
    lens = PulseLens.from_backbone(pulse, config).eval()
    assert all(layer.channel is not None for layer in lens.pulse.decoder)
    with torch.no_grad():
        xin, _, spec = pulse.prepare(x, obs)
        reference = pulse.encode(xin, spec, obs)  # channel-independent decoder
        tokens, stats = lens.encoder_tokens(x, obs)
        torch.testing.assert_close(lens.decode(tokens), reference, rtol=0, atol=0)
        # the split at any encoder layer gives the same logits as the full forward pass
        cut, _ = lens.encoder_tokens(x, obs, upto=9)
        torch.testing.assert_close(lens.head_logits(cut, stats, 9), lens(x, obs))
    assert stats.shape == (3, 8)
    lens1 = PulseLens.from_backbone(pulse, lens_config_for(pulse, 1, ["a", "b"], "avg", 4, 0.2))
    assert all(layer.channel is None for layer in lens1.pulse.decoder)


def test_multichannel_ragged_and_nan_inputs(pulse: TinyPulse) -> None:
    X, y = _problem(30, channels=3, seed=4)
    rng = np.random.default_rng(0)
    cases = [x[:, : rng.integers(20, 65)].copy() for x in X]  # unequal lengths
    cases[0][1, 3:7] = np.nan
    cases[5][:, -4:] = np.nan
    clf = PulseClassifier(pulse, pooling="max", seed=0, **FAST).fit(cases, y)
    assert clf.n_channels_ == 3
    assert clf.predict(cases).shape == (30,)
    assert clf.predict(X).shape == (30,)  # an equal-length array works too
    assert clf.score(cases, y) >= 0.8
    proba = clf.predict_proba([cases[0], cases[1][:, :9]])  # very short cases are resampled up
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_two_dimensional_input_is_univariate_and_int_labels_stay_ints(pulse: TinyPulse) -> None:
    X, y = _problem(24, seed=6)
    yi = (y == "fast").astype(int) + 3
    clf = PulseClassifier(pulse, pooling="avg", seed=0, **{**FAST, "max_steps": 5}).fit(X[:, 0, :], yi)
    assert clf.classes_.tolist() == [3, 4]
    assert clf.predict(X[:, 0, :]).dtype.kind == "i"


def test_resampling() -> None:
    t = torch.arange(10, dtype=torch.float32)
    values = torch.zeros(2, 1, 1000)
    values[0, 0, :10] = 2 * t + 1  # a line of 10 points
    values[1, 0] = 7.0  # a constant of 1000 points
    observed = torch.ones(2, 1, 1000, dtype=torch.bool)
    observed[0, 0, 10:] = False
    observed[0, 0, 4] = False
    x, obs = resample_cases(values, observed, [10, 1000], 512)
    np.testing.assert_allclose(x[0, 0].numpy(), np.linspace(1, 19, 512), atol=1e-4)  # still the line
    np.testing.assert_allclose(x[1, 0].numpy(), 7.0, atol=1e-5)
    # original point 4 (hidden) is the nearest one for resampled points 199..255
    assert not obs[0, 0, 199:256].any() and obs[0, 0, :199].all() and obs[0, 0, 256:].all() and obs[1].all()
    same, _same_obs = resample_cases(values[:, :, :512], observed[:, :, :512], [512, 512], 512)
    torch.testing.assert_close(same[1], values[1, :, :512])


def test_stratified_split_keeps_every_class_in_train() -> None:
    codes = np.array([0] * 10 + [1] * 5 + [2])
    tr, va = stratified_split(codes, 0.2, np.random.default_rng(0))
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(16))
    assert set(codes[tr]) == {0, 1, 2}
    assert (codes[va] == 0).sum() == 2 and (codes[va] == 1).sum() == 1 and (codes[va] == 2).sum() == 0


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.full((4, 1, 20), np.nan), ["a", "b"] * 2, "entirely NaN"),
        (np.where(np.eye(20)[:4, None, :] > 0, np.inf, 0.0), ["a", "b"] * 2, "infinite"),
        (np.zeros((0, 1, 20)), [], "empty"),
        ([], [], "empty"),
        (np.zeros(20), ["a"], "1-D"),
        (np.zeros((2, 1, 1, 20)), ["a", "b"], "ndim 4"),
        (np.random.default_rng(0).standard_normal((4, 1, 20)), ["a"] * 4, "single class"),
        (np.random.default_rng(0).standard_normal((4, 1, 20)), ["a", "b", "a"], "4 cases but y has 3"),
        (np.random.default_rng(0).standard_normal((4, 1, 20)), [[0, 1], [1, 0], [0, 1], [1, 0]], "1-D"),
    ],
)
def test_bad_input_is_a_clear_error(pulse: TinyPulse, X: Any, y: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PulseClassifier(pulse, **FAST).fit(X, y)


def test_unfitted_and_mismatched_use_are_errors(
    fitted: tuple[PulseClassifier, np.ndarray, np.ndarray],
) -> None:
    with pytest.raises(ValueError, match="not fitted yet"):
        PulseClassifier().predict(np.zeros((2, 1, 10)))
    clf, _, _ = fitted
    with pytest.raises(ValueError, match="2 channel"):
        clf.predict(np.zeros((2, 2, 10)))
    with pytest.raises(ValueError, match="pooling"):
        PulseClassifier(pooling="mean")
    with pytest.raises(ValueError, match="mask_ratio"):
        PulseClassifier(mask_ratio=1.0)


def _write_tsv(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    rows = ["\t".join([label, *(f"{v:.5f}" for v in case[0])]) for case, label in zip(X, y, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_cli_fit_and_predict(tmp_path: Path) -> None:
    runner = CliRunner()
    X, y = _problem(30, seed=7)
    _write_tsv(tmp_path / "Toy_TRAIN.tsv", X, y)
    Xt, yt = _problem(20, seed=8)
    _write_tsv(tmp_path / "Toy_TEST.tsv", Xt, yt)
    out = tmp_path / "model"
    args = ["classify", "fit", str(tmp_path / "Toy_TRAIN.tsv"), "--out", str(out), "--method", "tslens"]
    png = tmp_path / "curve.png"
    res = runner.invoke(app, [*args, "--max-steps", "20", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "tslens: fitted on 30 cases" in res.stdout and (out / "model.safetensors").is_file()
    # the CLI shows progress on stderr: step, validation accuracy, time left
    assert "val accuracy" in res.stderr and "s left" in res.stderr and "val accuracy" not in res.stdout
    assert f"plot -> {png}" in res.stdout and png.stat().st_size > 1000
    res = runner.invoke(app, ["classify", "predict", str(out), str(tmp_path / "Toy_TEST.tsv")])
    assert res.exit_code == 0, res.output
    assert "accuracy" in res.output
    pred = (tmp_path / "Toy_TEST.predictions.csv").read_text().splitlines()
    assert pred[0] == "case,prediction,proba_fast,proba_slow" and len(pred) == 21
    res = runner.invoke(
        app, ["classify", "predict", str(tmp_path / "nothing"), str(tmp_path / "Toy_TEST.tsv")]
    )
    assert res.exit_code == 2 and "unknown model" in res.output
    res = runner.invoke(app, ["classify", "fit", str(tmp_path / "missing.ts"), "--out", str(out)])
    assert res.exit_code == 2 and "does not exist" in res.output

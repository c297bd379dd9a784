"""The optional TensorBoard log of training (``log_dir``), read back with TensorBoard's reader."""

import sys

import numpy as np
import pytest
import torch
from fast_settings import TINY_NETWORK as TINY

from simmim_sklearn import SimMIMClassifier, SimMIMImputer, SimMIMTransformer
from simmim_sklearn._tensorboard import (
    GAP,
    MIN_DISPLAY_SIZE,
    N_LOGGED_ROWS,
    logged_rows,
    tensorboard_log,
)

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    IMAGES,
    SCALARS,
    EventAccumulator,
)


def read_log(log_dir):
    """Every scalar and image of the log in ``log_dir`` (0: keep all of them)."""
    log = EventAccumulator(str(log_dir), size_guidance={SCALARS: 0, IMAGES: 0})
    log.Reload()
    return log


def steps(log, tag):
    return [event.step for event in log.Scalars(tag)]


def test_tabular_scalars_per_epoch(tmp_path, gaussian_rows):
    model = SimMIMTransformer(log_dir=tmp_path, **TINY).fit(gaussian_rows)
    log = read_log(tmp_path)
    assert sorted(log.Tags()["scalars"]) == ["pretrain/learning_rate", "pretrain/loss"]
    expected = list(range(1, model.n_iter_ + 1))
    assert steps(log, "pretrain/loss") == expected
    assert steps(log, "pretrain/learning_rate") == expected
    losses = [event.value for event in log.Scalars("pretrain/loss")]
    np.testing.assert_allclose(losses, model.loss_curve_, rtol=1e-6)
    # Tabular rows have no picture worth drawing.
    assert log.Tags()["images"] == []


def test_validation_loss_with_early_stopping(tmp_path, gaussian_rows):
    model = SimMIMTransformer(log_dir=tmp_path, early_stopping=True, **TINY).fit(gaussian_rows)
    log = read_log(tmp_path)
    assert steps(log, "pretrain/validation_loss") == list(range(1, model.n_iter_ + 1))


def test_image_reconstructions(tmp_path, digits):
    SimMIMTransformer(log_dir=tmp_path, input_shape=(1, 8, 8), **TINY).fit(digits)
    images = read_log(tmp_path).Images("pretrain/reconstructions")
    # Drawn at the first epoch only within 3 epochs.
    assert [image.step for image in images] == [1]
    # Each row's three panels side by side, the rows one above the other.
    side = MIN_DISPLAY_SIZE // 8 * 8
    assert images[0].width == 3 * side + 2 * GAP
    assert images[0].height == N_LOGGED_ROWS * side + (N_LOGGED_ROWS - 1) * GAP


def test_reconstructions_every_tenth_epoch(tmp_path, digits):
    params = {**TINY, "max_iter": 11}
    SimMIMTransformer(log_dir=tmp_path, input_shape=(1, 8, 8), **params).fit(digits[:40])
    images = read_log(tmp_path).Images("pretrain/reconstructions")
    assert [image.step for image in images] == [1, 11]


def test_window_reconstructions(tmp_path, sine_windows):
    SimMIMTransformer(log_dir=tmp_path, input_shape=(1, 32), **TINY).fit(sine_windows)
    log = read_log(tmp_path)
    # Figures are stored as images.
    assert [image.step for image in log.Images("pretrain/reconstructions")] == [1]
    assert "pretrain/loss" in log.Tags()["scalars"]


def test_partial_fit_continues_the_steps(tmp_path, gaussian_rows):
    model = SimMIMTransformer(log_dir=tmp_path, **TINY)
    model.partial_fit(gaussian_rows[:30])
    model.partial_fit(gaussian_rows[30:])
    assert steps(read_log(tmp_path), "pretrain/loss") == [1, 2]


def test_imputer_logs(tmp_path, gaussian_rows):
    X = gaussian_rows.copy()
    X[::4, 1] = np.nan
    model = SimMIMImputer(log_dir=tmp_path, **TINY).fit(X)
    log = read_log(tmp_path)
    expected = list(range(1, model.n_iter_ + 1))
    assert steps(log, "pretrain/loss") == expected
    # The imputer stops early by default.
    assert steps(log, "pretrain/validation_loss") == expected


def test_classifier_logs_both_phases(tmp_path, gaussian_rows):
    y = (gaussian_rows[:, 0] > 0).astype(int)
    params = {**TINY, "pretrain_iter": 2}
    model = SimMIMClassifier(log_dir=tmp_path, **params).fit(gaussian_rows, y)
    log = read_log(tmp_path)
    assert steps(log, "pretrain/loss") == [1, 2]
    assert steps(log, "finetune/loss") == list(range(1, model.n_iter_ + 1))


def test_off_by_default(tmp_path, monkeypatch, gaussian_rows):
    with tensorboard_log(None, "pretrain") as on_epoch:
        assert on_epoch is None
    # SummaryWriter(None) would write to ./runs: nothing may appear in the working directory.
    monkeypatch.chdir(tmp_path)
    model = SimMIMTransformer(**TINY)
    assert model.log_dir is None
    model.fit(gaussian_rows)
    assert list(tmp_path.iterdir()) == []


def test_missing_tensorboard(tmp_path, monkeypatch, gaussian_rows):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    model = SimMIMTransformer(log_dir=tmp_path / "log", **TINY)
    with pytest.raises(ImportError, match=r'pip install "simmim-sklearn\[tensorboard\]"'):
        model.fit(gaussian_rows)
    assert not (tmp_path / "log").exists()


def test_logged_rows(tmp_path, gaussian_rows, digits):
    tabular_model = SimMIMTransformer(**TINY).fit(gaussian_rows)
    assert logged_rows(tabular_model.module_, gaussian_rows) is None
    image_model = SimMIMTransformer(input_shape=(1, 8, 8), **TINY).fit(digits)
    # Read from a memmap as out-of-core rows are.
    path = tmp_path / "digits.npy"
    np.save(path, digits)
    rows = logged_rows(image_model.module_, np.load(path, mmap_mode="r"))
    assert rows.dtype == torch.float32
    np.testing.assert_array_equal(rows.numpy(), digits[:N_LOGGED_ROWS].astype(np.float32))


def test_drawing_restores_train_mode(tmp_path, digits):
    network = SimMIMTransformer(input_shape=(1, 8, 8), **TINY).fit(digits).module_
    before = {name: value.clone() for name, value in network.state_dict().items()}
    network.train()
    with tensorboard_log(tmp_path, "pretrain", first_epoch=20,
                         sample_rows=logged_rows(network, digits)) as on_epoch:
        on_epoch(0, {"loss": 0.5, "learning_rate": 1e-3}, network)
    assert network.training
    for name, value in network.state_dict().items():
        torch.testing.assert_close(value, before[name])
    log = read_log(tmp_path)
    # Step 21 is the first of a ten-epoch stretch: rows drawn.
    assert [image.step for image in log.Images("pretrain/reconstructions")] == [21]
    assert [event.value for event in log.Scalars("pretrain/loss")] == [0.5]

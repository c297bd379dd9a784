"""The CUDA path: training, inference, pickling and imputation on a GPU.

Skipped where torch sees no CUDA device (CI has none); on a GPU machine run
``pytest tests/test_cuda.py``.
"""

import pickle

import numpy as np
import pytest
import torch
from fast_settings import TINY

from simmim_sklearn import SimMIMImputer, SimMIMTransformer, _data

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

TINY_ON_GPU = dict(TINY, device="cuda")
# digits rows read as tabular features, as 2-channel windows of 32 steps and as 8 x 8 images.
LAYOUTS = [
    (None, "mlp"), ((2, 32), "conv"), ((2, 32), "transformer"), ((1, 8, 8), "conv"),
    ((1, 8, 8), "transformer"),
]


def relative_difference(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def on_the_gpu(model):
    return all(p.device.type == "cuda" for p in model.module_.parameters())


@pytest.mark.parametrize("input_shape, encoder", LAYOUTS)
def test_a_gpu_trained_model_transforms_as_its_cpu_copy(digits_float32, input_shape, encoder):
    model = SimMIMTransformer(input_shape=input_shape, encoder=encoder, **TINY_ON_GPU)
    model.fit(digits_float32)
    assert on_the_gpu(model)
    Z = model.transform(digits_float32)
    X_back = model.inverse_transform(Z)
    assert np.isfinite(Z).all() and np.isfinite(X_back).all()

    on_cpu = pickle.loads(pickle.dumps(model)).set_params(device="cpu")
    assert all(p.device.type == "cpu" for p in on_cpu.module_.parameters())
    # cuDNN convolutions may run in TF32, which agrees with float32 to about 1e-3.
    assert relative_difference(on_cpu.transform(digits_float32), Z) < 5e-3
    assert relative_difference(on_cpu.inverse_transform(Z), X_back) < 5e-3


def test_float64_rows_transform_in_float64_on_the_gpu(digits_float32):
    model = SimMIMTransformer(input_shape=(1, 8, 8), **TINY_ON_GPU).fit(digits_float32)
    Z64 = model.transform(digits_float32.astype(np.float64))
    assert Z64.dtype == np.float64
    assert relative_difference(Z64, model.transform(digits_float32)) < 5e-3


def test_bfloat16_training_on_the_gpu_keeps_float32_weights(digits_float32):
    model = SimMIMTransformer(input_shape=(1, 8, 8), precision="bfloat16", **TINY_ON_GPU)
    model.fit(digits_float32)
    assert all(p.dtype == torch.float32 for p in model.module_.parameters())
    assert np.isfinite(model.loss_curve_).all()
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert np.isfinite(model.transform(digits_float32)).all()


def test_partial_fit_continues_on_the_gpu_after_unpickling(digits_float32):
    model = SimMIMTransformer(**TINY_ON_GPU).partial_fit(digits_float32).partial_fit(digits_float32)
    restored = pickle.loads(pickle.dumps(model))
    assert all(
        state.device.type == "cpu"
        for param_state in restored._optimizer_state["state"].values()
        for state in param_state.values()
    )
    # The fused AdamW loads the CPU state back onto the GPU.
    restored.partial_fit(digits_float32)
    assert restored.n_iter_ == 3 and on_the_gpu(restored)
    assert np.isfinite(restored.loss_curve_).all()


def test_out_of_core_rows_train_through_pinned_chunks(digits_float32, tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "CHUNK_ROWS", 128)  # three chunks of the 300 rows
    path = tmp_path / "rows.dat"
    memmap = np.memmap(path, dtype=np.float32, mode="w+", shape=digits_float32.shape)
    memmap[:] = digits_float32
    memmap.flush()
    rows = np.memmap(path, dtype=np.float32, mode="r", shape=digits_float32.shape)
    model = SimMIMTransformer(input_shape=(1, 8, 8), **TINY_ON_GPU).fit(rows)
    assert on_the_gpu(model)
    assert len(model.loss_curve_) == TINY_ON_GPU["max_iter"]
    assert np.isfinite(model.transform(rows)).all()


def test_early_stopping_on_the_gpu_restores_the_best_weights(digits_float32):
    model = SimMIMTransformer(early_stopping=True, **dict(TINY_ON_GPU, max_iter=6))
    model.fit(digits_float32)
    assert on_the_gpu(model) and len(model.validation_scores_) == model.n_iter_
    # The held-out rows are the first draw of the random_state (see _split_validation).
    n_val = round(0.1 * len(digits_float32))
    validation = np.sort(np.random.RandomState(0).permutation(len(digits_float32))[:n_val])
    assert model.score(digits_float32[validation]) == pytest.approx(
        model.best_validation_score_, rel=1e-4
    )


def test_reconstruct_on_the_gpu_hides_the_asked_fraction(digits_float32):
    model = SimMIMTransformer(input_shape=(1, 8, 8), patch_size=(2, 2), **TINY_ON_GPU)
    model.fit(digits_float32)
    X_rec, hidden = model.reconstruct(digits_float32[:10], mask_ratio=0.5, random_state=0)
    assert X_rec.shape == (10, 64) and np.isfinite(X_rec).all()
    assert hidden.mean() == pytest.approx(0.5)


def test_imputer_on_the_gpu_keeps_observed_entries(digits_float32):
    X = digits_float32.copy()
    missing = np.random.default_rng(0).random(X.shape) < 0.2
    X[missing] = np.nan
    filled = SimMIMImputer(**TINY_ON_GPU).fit_transform(X)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[~missing], X[~missing])


def test_a_cuda_index_past_the_visible_devices_is_a_clear_error(digits_float32):
    SimMIMTransformer(**dict(TINY_ON_GPU, device="cuda:0")).fit(digits_float32)
    index = torch.cuda.device_count()
    model = SimMIMTransformer(**dict(TINY_ON_GPU, device=f"cuda:{index}"))
    with pytest.raises(ValueError, match="CUDA device"):
        model.fit(digits_float32)
    assert not hasattr(model, "module_")


def test_onnx_export_of_a_gpu_trained_model_matches_transform(digits_float32, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = SimMIMTransformer(**TINY_ON_GPU).fit(digits_float32)
    session = onnxruntime.InferenceSession(str(model.export_onnx(tmp_path / "model.onnx")))
    assert relative_difference(session.run(None, {"X": digits_float32})[0],
                               model.transform(digits_float32)) < 1e-4

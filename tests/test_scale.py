"""Out-of-core data, streaming, parallel and distributed fitting, precision, devices, ONNX."""

import copy
import os
import pickle
import tracemalloc

import numpy as np
import pytest
import torch
from fast_settings import TINY
from joblib import parallel_config
from sklearn import get_config
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.utils import validation as sklearn_validation
from sklearn.utils.validation import check_is_fitted

from simmim_sklearn import SimMIMClassifier, SimMIMTransformer, _base, _data
from simmim_sklearn.nn._inference import folded_encoding


def _memmap(path, X):
    stored = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
    stored[:] = X
    stored.flush()
    return np.load(path, mmap_mode="r")


def test_memmap_fit_matches_the_in_memory_fit(digits_400, tmp_path):
    X = _memmap(tmp_path / "X.npy", digits_400)
    from_disk = SimMIMTransformer(**TINY).fit(X)
    in_memory = SimMIMTransformer(**TINY).fit(digits_400)
    np.testing.assert_array_equal(from_disk.transform(X), in_memory.transform(digits_400))
    np.testing.assert_array_equal(from_disk.mean_, in_memory.mean_)


def test_memmap_fit_reads_chunks_instead_of_copying_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "CHUNK_ROWS", 5_000)
    monkeypatch.setattr(_base, "PCA_INIT_MAX_ROWS", 2_000)
    X_memory = np.random.default_rng(0).normal(size=(100_000, 16))  # float64, 12.8 MB
    X_disk = _memmap(tmp_path / "X.npy", X_memory)
    params = dict(TINY, max_iter=1, batch_size=1024)
    peaks = {}
    for name, X in [("disk", X_disk), ("memory", X_memory)]:
        tracemalloc.start()
        model = SimMIMTransformer(**params).fit(X)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert np.isfinite(model.loss_curve_).all()
    # The in-memory path holds a whole float32 copy (half of X); the memmap path a few chunks.
    assert peaks["memory"] > 0.45 * X_memory.nbytes
    assert peaks["disk"] < 0.1 * X_memory.nbytes


def test_memmap_with_an_infinite_value_is_rejected_and_leaves_the_model_unfitted(
    digits_400, tmp_path
):
    X = digits_400.copy()
    X[-1, 5] = np.inf
    model = SimMIMTransformer(**TINY)
    with pytest.raises(ValueError, match="infinity"):
        model.fit(_memmap(tmp_path / "X.npy", X))
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(model)


def test_early_stopping_holds_out_rows_of_a_memmap(digits_400, tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "CHUNK_ROWS", 64)
    X = _memmap(tmp_path / "X.npy", digits_400)
    model = SimMIMTransformer(**dict(TINY, early_stopping=True)).fit(X)
    assert len(model.validation_scores_) == model.n_iter_
    assert np.isfinite(model.validation_scores_).all()


def test_partial_fit_streams_a_memmap_chunk_by_chunk(digits_400, tmp_path):
    X = _memmap(tmp_path / "X.npy", digits_400)
    model = SimMIMTransformer(**TINY)
    first = None
    for start in range(0, len(X), 100):
        model.partial_fit(X[start:start + 100])
        first = model.score(digits_400) if first is None else first
    assert model.n_iter_ == 4
    assert model.score(digits_400) > first
    assert model.transform(X).shape == (400, 3)


def test_dask_ml_incremental_calls_partial_fit_per_block(digits_400):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X = da.from_array(digits_400, chunks=(100, digits_400.shape[1]))
    incremental = wrappers.Incremental(SimMIMTransformer(**TINY), shuffle_blocks=False)
    incremental.fit(X)
    assert incremental.estimator_.n_iter_ == 4
    assert incremental.transform(X).compute().shape == (400, 3)


def torch_threads(estimator, X, y=None):
    """A "score" that reports the torch threads available where the fit ran."""
    return torch.get_num_threads()


def test_grid_search_workers_do_not_oversubscribe_threads(digits_400):
    search = GridSearchCV(
        SimMIMTransformer(**TINY), {"n_components": [2, 3]}, scoring=torch_threads,
        cv=2, n_jobs=2,
    ).fit(digits_400[:100])
    assert search.cv_results_["mean_test_score"].max() <= max(1, os.cpu_count() // 2)


def test_grid_search_runs_on_a_dask_cluster(digits_400):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
            search = GridSearchCV(
                SimMIMTransformer(**TINY), {"hidden_width": [4, 8]}, cv=2
            ).fit(digits_400[:100])
    assert len(tasks.data) >= 4  # 2 widths x 2 folds ran as cluster tasks
    assert search.best_params_["hidden_width"] in (4, 8)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_bfloat16_training_runs_on_the_cpu_and_changes_the_arithmetic(digits_400):
    params = dict(TINY, max_iter=20, hidden_width=32, n_components=8)
    mixed = SimMIMTransformer(**params, precision="bfloat16").fit(digits_400)
    full = SimMIMTransformer(**params).fit(digits_400)
    Z = mixed.transform(digits_400.astype(np.float32))
    assert Z.dtype == np.float32
    assert all(p.dtype == torch.float32 for p in mixed.module_.parameters())
    assert not np.allclose(Z, full.transform(digits_400.astype(np.float32)))
    r2 = r2_score(digits_400, mixed.inverse_transform(mixed.transform(digits_400)),
                  multioutput="variance_weighted")
    assert r2 > 0.5


def test_float64_input_trains_a_float32_model(digits_400):
    model = SimMIMTransformer(**TINY).fit(digits_400.astype(np.float64))
    assert all(p.dtype == torch.float32 for p in model.module_.parameters())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_cuda_device_is_validated_without_a_gpu(digits_400):
    model = SimMIMTransformer(**dict(TINY, device="cuda"))
    with pytest.raises(ValueError, match="CUDA is not available"):
        model.fit(digits_400)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(model)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_a_model_set_to_cuda_unpickles_and_transforms_on_the_cpu(digits_400):
    model = SimMIMTransformer(**TINY).fit(digits_400)
    expected = model.transform(digits_400)
    model.set_params(device="cuda")  # as if trained on a GPU machine
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(digits_400), expected)


@pytest.mark.parametrize("input_shape", [None, (1, 8, 8), (1, 64)])
def test_onnx_export_matches_transform(digits_400, tmp_path, input_shape):
    """Tabular rows; images, whose transform averages over shifts; windows."""
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    X = digits_400.astype(np.float32)
    X[0, 10] = np.nan
    image = input_shape is not None and len(input_shape) == 3
    model = SimMIMTransformer(input_shape=input_shape, **TINY).fit(X)
    assert model.average_shifts_ == image
    path = model.export_onnx(tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(path))
    np.testing.assert_allclose(session.run(None, {"X": X})[0], model.transform(X), atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_folded_inference_computes_the_networks_own_transform_and_decode(digits_400, dtype):
    model = SimMIMTransformer(max_iter=2, random_state=0, device="cpu").fit(digits_400)
    network = model.module_
    assert folded_encoding(network) is not None  # tabular rows take the folded path
    X = digits_400[:300].astype(dtype)
    X[0, 5] = np.nan  # the first block has NaN: it must go through the general path
    Z = model.transform(X)
    with torch.inference_mode():
        general = copy.deepcopy(network).double()
        expected_Z = general.forward(torch.from_numpy(X.astype(np.float64))).numpy()
        expected_X = general.decode(torch.from_numpy(Z.astype(np.float64))).numpy()
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(Z, expected_Z, atol=tolerance)
    np.testing.assert_allclose(model.transform(X[1:]), expected_Z[1:], atol=tolerance)
    np.testing.assert_allclose(model.inverse_transform(Z), expected_X, atol=tolerance * 10)


def test_folded_inference_adds_the_linear_map_to_its_components_only():
    # Windows with the MLP encoder: a linear map on 8 of the "auto" components.
    X = np.sin(np.linspace(0, 40, 60 * 32)).reshape(60, 32).astype(np.float32)
    model = SimMIMTransformer(input_shape=(1, 32), encoder="mlp", patch_size=1, max_iter=2,
                              random_state=0, device="cpu").fit(X)
    network = model.module_
    assert 0 < network.n_linear < model.n_components_
    assert folded_encoding(network) is not None
    with torch.inference_mode():
        expected = network.forward(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.transform(X), expected, atol=1e-4)


def test_windows_with_a_conv_encoder_keep_the_general_transform():
    X = np.sin(np.linspace(0, 40, 40 * 32)).reshape(40, 32)
    model = SimMIMTransformer(input_shape=(1, 32), max_iter=1, random_state=0).fit(X)
    assert folded_encoding(model.module_) is None


@pytest.mark.parametrize("make_estimator", [
    lambda: SimMIMTransformer(**TINY),
    lambda: SimMIMClassifier(hidden_width=8, depth=1, pretrain_iter=1, max_iter=1,
                             random_state=0),
])
def test_rows_held_in_memory_are_validated_once_per_fit(make_estimator, monkeypatch):
    """Their values are scanned for infinities once, not again by each step of the fit."""
    X = np.random.RandomState(0).normal(size=(40, 6))
    y = np.tile([0, 1], 20)
    scans = []
    original = sklearn_validation._assert_all_finite

    def counting_scan(array, *args, **kwargs):
        if getattr(array, "shape", None) == X.shape and not get_config()["assume_finite"]:
            scans.append(array)
        return original(array, *args, **kwargs)

    monkeypatch.setattr(sklearn_validation, "_assert_all_finite", counting_scan)
    make_estimator().fit(X, y)
    assert len(scans) == 1

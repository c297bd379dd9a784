"""Behaviour of SimMIMTransformer beyond scikit-learn's generic checks."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from fast_settings import FAST
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from simmim_sklearn import SimMIMTransformer
from simmim_sklearn.nn._training import (
    _consistency_of_masked_rows,
    _consistency_weighted_over_rows,
    consistency_error,
    masked_loss_terms,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_and_inverse_keep_dtype_and_shapes(digits, dtype):
    X = digits.astype(dtype)
    model = SimMIMTransformer(n_components=5, **FAST).fit(X)
    Z = model.transform(X)
    assert Z.shape == (300, 5) and Z.dtype == dtype
    X_back = model.inverse_transform(Z)
    assert X_back.shape == X.shape and X_back.dtype == dtype


def test_reconstruction_beats_the_mean(digits):
    model = SimMIMTransformer(n_components=8, hidden_width=32, max_iter=30, random_state=0)
    X_back = model.fit(digits).inverse_transform(model.transform(digits))
    assert r2_score(digits, X_back, multioutput="variance_weighted") > 0.5


def test_same_random_state_same_output_and_different_seed_differs(diabetes):
    X, _ = diabetes
    first = SimMIMTransformer(n_components=4, **FAST).fit_transform(X)
    second = SimMIMTransformer(n_components=4, **FAST).fit_transform(X)
    other = SimMIMTransformer(n_components=4, **{**FAST, "random_state": 1}).fit_transform(X)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_fit_does_not_touch_the_global_torch_generator(diabetes):
    X, _ = diabetes
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    SimMIMTransformer(n_components=4, **FAST).fit(X)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_pickle_and_joblib_round_trips_give_identical_output(diabetes, tmp_path):
    X, _ = diabetes
    model = SimMIMTransformer(n_components=4, **FAST).fit(X)
    expected = model.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).transform(X), expected)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").transform(X), expected)


def test_pickle_holds_the_module_on_the_cpu(diabetes):
    model = SimMIMTransformer(n_components=4, **FAST).fit(diabetes[0])
    state = model.__getstate__()
    assert all(p.device.type == "cpu" for p in state["module_"].parameters())


def test_pandas_feature_names_and_set_output(diabetes):
    frame = load_diabetes(as_frame=True).data
    model = SimMIMTransformer(n_components=3, **FAST).set_output(transform="pandas")
    Z = model.fit_transform(frame)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == ["simmimtransformer0", "simmimtransformer1", "simmimtransformer2"]
    assert list(model.feature_names_in_) == list(frame.columns)
    pd.testing.assert_index_equal(Z.index, frame.index)


def test_nan_is_allowed_and_inf_is_rejected(digits):
    X = digits.copy()
    X[::7, 3] = np.nan
    model = SimMIMTransformer(n_components=4, **FAST).fit(X)
    assert np.isfinite(model.transform(X)).all()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.transform(X)


def test_missing_values_carry_no_loss_weight(digits):
    model = SimMIMTransformer(n_components=4, device="cpu", **FAST).fit(digits)
    rows = torch.as_tensor(digits[:20], dtype=torch.float32)
    rows[:, 10] = float("nan")
    error, weight = masked_loss_terms(
        model.module_, rows, 0.5, "l1", 1.0, torch.Generator().manual_seed(0)
    )
    # With visible tokens weighted like hidden ones, every observed entry weighs exactly 1.
    assert float(weight) == 20 * 63
    assert torch.isfinite(error)


def test_consistency_error_pulls_masked_representations_towards_whole_rows(digits):
    model = SimMIMTransformer(n_components=4, device="cpu", **FAST).fit(digits)
    network = model.module_
    xs = network.standardize(torch.as_tensor(digits[:10], dtype=torch.float32))
    nothing_hidden = torch.zeros(10, 64, dtype=torch.bool)
    z = network.encode_standardized(xs)
    assert float(consistency_error(network, xs, z, nothing_hidden)) == 0.0

    hide = nothing_hidden.clone()
    hide[:5, :32] = True
    z = network.encode_standardized(xs, hide).detach().requires_grad_()
    error = consistency_error(network, xs, z, hide)
    assert error.item() > 0
    error.backward()
    # Rows with nothing hidden are their own targets and get no gradient.
    assert z.grad[:5].abs().sum() > 0
    assert z.grad[5:].abs().sum() == 0


def test_both_forms_of_the_consistency_error_agree(digits):
    # The CPU encodes only the rows with tokens hidden; accelerators weigh all rows instead.
    network = SimMIMTransformer(n_components=4, device="cpu", **FAST).fit(digits).module_
    xs = network.standardize(torch.as_tensor(digits[:10], dtype=torch.float32))
    hide = torch.zeros(10, 64, dtype=torch.bool)
    hide[:4, 8:40] = True
    errors, gradients = [], []
    for form in (_consistency_of_masked_rows, _consistency_weighted_over_rows):
        z = network.encode_standardized(xs, hide).detach().requires_grad_()
        error = form(network, xs, z, hide.any(dim=1))
        error.backward()
        errors.append(error.item())
        gradients.append(z.grad)
    assert errors[0] > 0
    assert errors[1] == pytest.approx(errors[0], rel=1e-6)
    torch.testing.assert_close(gradients[1], gradients[0])
    nothing_hidden = torch.zeros(10, dtype=torch.bool)
    z = network.encode_standardized(xs).detach()
    assert float(_consistency_weighted_over_rows(network, xs, z, nothing_hidden)) == 0.0


def test_consistency_weight_adds_to_the_loss_only(digits):
    network = SimMIMTransformer(n_components=4, device="cpu", **FAST).fit(digits).module_
    rows = torch.as_tensor(digits[:20], dtype=torch.float32)
    with torch.no_grad():
        plain, with_term = (
            masked_loss_terms(network, rows, 0.5, "l1", 1.0, torch.Generator().manual_seed(0),
                              consistency_weight=weight)
            for weight in (0.0, 1.0)
        )
    assert float(with_term[0]) > float(plain[0])
    assert float(with_term[1]) == float(plain[1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"consistency_weight": -1.0}, "consistency_weight"),
        ({"mask_ratio": 0.0}, "mask_ratio"),
        ({"mask_ratio": 1.5}, "mask_ratio"),
        ({"n_components": 0}, "n_components"),
        ({"encoder": "lstm"}, "encoder"),
        ({"loss": "huber"}, "loss"),
        ({"device": "tpu"}, "device"),
        ({"input_shape": (3, 3)}, "input_shape"),
        ({"input_shape": (2, 5), "patch_size": 6}, "patch_size"),
        ({"input_shape": (2, 5), "patch_size": (2, 2)}, "patch_size"),
    ],
)
def test_bad_parameters_raise_value_errors_naming_them(diabetes, params, match):
    model = SimMIMTransformer(**{**FAST, **params})
    with pytest.raises(ValueError, match=match):
        model.fit(diabetes[0])
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_unavailable_cuda_is_a_clear_error(diabetes):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        SimMIMTransformer(device="cuda", **FAST).fit(diabetes[0])


def test_wrong_feature_count_and_non_numeric_input_are_rejected(diabetes):
    X, _ = diabetes
    model = SimMIMTransformer(n_components=4, **FAST).fit(X)
    with pytest.raises(ValueError, match="10 features"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match="n_components=4"):
        model.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        SimMIMTransformer(**FAST).fit(np.array([["a", "b"], ["c", "d"]], dtype=object))


def test_non_finite_loss_names_learning_rate_and_leaves_estimator_unfitted(diabetes):
    model = SimMIMTransformer(n_components=4, learning_rate_init=1e20, **FAST)
    with pytest.raises(ValueError, match="learning_rate_init"):
        model.fit(diabetes[0])
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_partial_fit_continues_and_a_failed_call_keeps_the_last_model(diabetes):
    X, _ = diabetes
    model = SimMIMTransformer(n_components=4, **FAST)
    model.partial_fit(X[:200]).partial_fit(X[200:])
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2
    before = model.transform(X)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :5])
    model.set_params(learning_rate_init=1e20)
    with pytest.raises(ValueError, match="learning_rate_init"):
        model.partial_fit(X)
    np.testing.assert_array_equal(model.transform(X), before)
    assert model.n_iter_ == 2


def test_early_stopping_records_validation_scores(digits):
    model = SimMIMTransformer(
        n_components=4, early_stopping=True, n_iter_no_change=2, tol=10.0, **FAST
    ).fit(digits)
    assert len(model.validation_scores_) == model.n_iter_ == 3  # tol too big to ever improve
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_early_stopping_needs_two_samples():
    with pytest.raises(ValueError, match="1 sample"):
        SimMIMTransformer(early_stopping=True, **FAST).fit(np.ones((1, 3)))


def test_warm_start_continues_from_the_fitted_model(digits):
    model = SimMIMTransformer(n_components=4, warm_start=True, **FAST).fit(digits)
    first_curve = model.loss_curve_
    model.fit(digits)
    assert model.loss_curve_[0] < first_curve[0]
    cold = SimMIMTransformer(n_components=4, **FAST).fit(digits).fit(digits)
    assert cold.loss_curve_ == first_curve


def test_score_is_deterministic_and_prefers_a_trained_model(digits):
    barely = SimMIMTransformer(n_components=8, **{**FAST, "max_iter": 1}).fit(digits)
    trained = SimMIMTransformer(n_components=8, **{**FAST, "max_iter": 40}).fit(digits)
    assert barely.score(digits) == barely.score(digits)
    assert trained.score(digits) > barely.score(digits)


def test_unsupervised_grid_search_uses_score(digits):
    search = GridSearchCV(SimMIMTransformer(**FAST), {"n_components": [1, 12]}, cv=2)
    search.fit(digits)
    assert search.best_params_ == {"n_components": 12}


def test_pipeline_grid_search_over_widths_in_parallel(diabetes):
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), SimMIMTransformer(**FAST), Ridge())
    grid = {"simmimtransformer__n_components": [2, 8],
            "simmimtransformer__hidden_width": [8, 16]}
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)
    assert set(search.cv_results_["mean_test_score"].round(6)) .__len__() == 4
    assert search.best_score_ > 0.2


def test_verbose_shows_a_progress_bar_with_losses(diabetes, capsys):
    SimMIMTransformer(verbose=1, early_stopping=True, **FAST).fit(diabetes[0])
    err = capsys.readouterr().err
    assert "loss" in err and "val_loss" in err
    SimMIMTransformer(**FAST).fit(diabetes[0])
    assert capsys.readouterr().err == ""


def test_feature_names_out_follow_n_components(diabetes):
    model = SimMIMTransformer(n_components=2, **FAST).fit(diabetes[0])
    np.testing.assert_array_equal(
        model.get_feature_names_out(), ["simmimtransformer0", "simmimtransformer1"]
    )

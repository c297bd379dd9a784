"""SimMIMImputer: imputation contract, missing_values, indicator, empty features, layouts."""

import numpy as np
import pytest
import torch
from fast_settings import SMALL
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from simmim_sklearn import SimMIMImputer
from simmim_sklearn.nn._network import SimMIMNetwork

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def hide(X, rate, seed=1):
    hidden = np.random.RandomState(seed).rand(*X.shape) < rate
    X_missing = X.copy()
    X_missing[hidden] = np.nan
    return X_missing, hidden


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fills_missing_and_returns_observed_exactly(dtype, low_rank_rows):
    X_missing, hidden = hide(low_rank_rows.astype(dtype), 0.3)
    X_imputed = SimMIMImputer(**SMALL).fit(X_missing).transform(X_missing)
    assert X_imputed.dtype == dtype
    assert not np.isnan(X_imputed).any()
    np.testing.assert_array_equal(X_imputed[~hidden], X_missing[~hidden])


def test_beats_mean_imputation_on_correlated_data(low_rank_rows):
    X = low_rank_rows
    X_missing, hidden = hide(X, 0.3)
    simmim = SimMIMImputer(**{**SMALL, "max_iter": 60}).fit_transform(X_missing)
    mean = SimpleImputer().fit_transform(X_missing)
    simmim_error = np.sqrt(np.mean((simmim - X)[hidden] ** 2))
    mean_error = np.sqrt(np.mean((mean - X)[hidden] ** 2))
    assert simmim_error < 0.5 * mean_error


def test_transform_is_deterministic(low_rank_rows):
    X_missing, _ = hide(low_rank_rows, 0.3)
    imputer = SimMIMImputer(**SMALL).fit(X_missing)
    np.testing.assert_array_equal(imputer.transform(X_missing), imputer.transform(X_missing))


def test_missing_values_placeholder_matches_nan(low_rank_rows):
    X_missing, hidden = hide(low_rank_rows, 0.3)
    X_placeholder = np.where(hidden, -1.0, X_missing)
    with_nan = SimMIMImputer(**SMALL).fit_transform(X_missing)
    with_placeholder = SimMIMImputer(missing_values=-1, **SMALL).fit_transform(X_placeholder)
    np.testing.assert_allclose(with_placeholder, with_nan)
    assert not (with_placeholder[hidden] == -1).any()


def test_nan_rejected_when_missing_values_is_a_number(low_rank_rows):
    X_missing, _ = hide(low_rank_rows, 0.3)
    with pytest.raises(ValueError, match="NaN"):
        SimMIMImputer(missing_values=-1, **SMALL).fit(X_missing)


def test_add_indicator_appends_features_that_had_missing_values(low_rank_rows):
    X_missing, _ = hide(low_rank_rows, 0.2)
    X_missing[:, 0] = low_rank_rows[:, 0]  # feature 0 fully observed: no indicator
    imputer = SimMIMImputer(add_indicator=True, **SMALL).fit(X_missing)
    X_out = imputer.transform(X_missing)
    assert X_out.shape == (X_missing.shape[0], 8 + 7)
    np.testing.assert_array_equal(X_out[:, 8:], np.isnan(X_missing[:, 1:]))
    names = imputer.get_feature_names_out()
    assert list(names[:8]) == [f"x{i}" for i in range(8)]
    assert list(names[8:]) == [f"missingindicator_x{i}" for i in range(1, 8)]


@pytest.mark.parametrize("keep", [False, True])
def test_empty_features(keep, low_rank_rows):
    X_missing, _ = hide(low_rank_rows, 0.2)
    X_missing[:, 2] = np.nan
    imputer = SimMIMImputer(keep_empty_features=keep, **SMALL)
    if keep:
        imputer.fit(X_missing)
    else:
        with pytest.warns(UserWarning, match="keep_empty_features"):
            imputer.fit(X_missing)
    X_test = X_missing[:5].copy()
    X_test[0, 2] = 7.0  # observed at transform time: kept as is when the feature is kept
    X_out = imputer.transform(X_test)
    assert not np.isnan(X_out).any()
    names = list(imputer.get_feature_names_out())
    if keep:
        assert X_out.shape[1] == 8 and "x2" in names
        assert X_out[0, 2] == 7.0
        np.testing.assert_array_equal(X_out[1:, 2], 0.0)
    else:
        assert X_out.shape[1] == 7 and "x2" not in names
        np.testing.assert_array_equal(X_out[:, 2], np.nan_to_num(X_out[:, 2]))


def test_set_output_pandas_keeps_names(low_rank_rows):
    pd = pytest.importorskip("pandas")
    X_missing, _ = hide(low_rank_rows, 0.2)
    frame = pd.DataFrame(X_missing, columns=[f"f{i}" for i in range(8)])
    out = SimMIMImputer(add_indicator=True, **SMALL).set_output(transform="pandas")
    out = out.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns[:8]) == list(frame.columns)
    assert out.columns[8] == "missingindicator_f0"
    assert not out.isna().any().any()


def test_pipeline_with_ridge(low_rank_rows):
    X = low_rank_rows
    y = X @ np.arange(1.0, 9.0)
    X_missing, _ = hide(X, 0.2)
    pipeline = make_pipeline(SimMIMImputer(**SMALL), Ridge()).fit(X_missing[:300], y[:300])
    mean_pipeline = make_pipeline(SimpleImputer(), Ridge()).fit(X_missing[:300], y[:300])
    simmim_r2 = pipeline.score(X_missing[300:], y[300:])
    assert simmim_r2 > 0.8
    assert simmim_r2 > mean_pipeline.score(X_missing[300:], y[300:])


def test_fills_gaps_in_series_windows():
    rng = np.random.RandomState(0)
    t = np.arange(48)
    phase, amplitude = rng.uniform(0, 2 * np.pi, (300, 1)), rng.uniform(0.5, 2, (300, 1))
    X = amplitude * np.sin(2 * np.pi * t / 16 + phase)
    X_missing = X.copy()
    starts = rng.randint(0, 48 - 6, size=300)
    gaps = (t >= starts[:, None]) & (t < starts[:, None] + 6)
    X_missing[gaps] = np.nan
    imputer = SimMIMImputer(input_shape=(1, 48), **SMALL).fit(X_missing)
    X_imputed = imputer.transform(X_missing)
    assert imputer.patch_size_ == (1,)  # "auto" cuts windows of up to 128 steps into single steps
    np.testing.assert_array_equal(X_imputed[~gaps], X[~gaps])
    gap_error = np.sqrt(np.mean((X_imputed - X)[gaps] ** 2))
    mean_error = np.sqrt(np.mean((SimpleImputer().fit_transform(X_missing) - X)[gaps] ** 2))
    assert gap_error < 0.5 * mean_error


def test_errors(low_rank_rows):
    X_missing, _ = hide(low_rank_rows, 0.2)
    with pytest.raises(NotFittedError):
        SimMIMImputer().transform(X_missing)
    imputer = SimMIMImputer(**SMALL).fit(X_missing)
    with pytest.raises(ValueError, match="features"):
        imputer.transform(X_missing[:, :5])
    with pytest.raises(ValueError, match="add_indicator"):
        SimMIMImputer(add_indicator="yes").fit(X_missing)
    with pytest.raises(ValueError, match="missing_values"):
        SimMIMImputer(missing_values="?").fit(X_missing)


def test_a_failed_first_fit_leaves_the_imputer_unfitted():
    X = np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]])
    imputer = SimMIMImputer(max_iter=2, learning_rate_init=1e20, random_state=0)
    with pytest.raises(ValueError, match="learning_rate_init"):
        imputer.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(imputer)


def test_linear_path_is_the_factor_models_conditional_mean():
    # With the nonlinear corrections at their zero start, the imputer's network fills hidden
    # entries with the Gaussian conditional mean under covariance W W^T + diag(noise).
    n_features, n_components = 6, 3
    network = SimMIMNetwork(
        (1, n_features), (1,), "mlp", n_components, 8, 1, center=np.zeros(n_features),
        scale=np.ones(n_features), linear="conditional",
    ).double()
    rng = np.random.RandomState(0)
    loadings, mean = rng.normal(size=(n_features, n_components)), rng.normal(size=n_features)
    noise = rng.uniform(0.1, 1.0, size=n_features)
    with torch.no_grad():
        network.linear_decoder.weight.copy_(torch.from_numpy(loadings))
        network.linear_decoder.bias.copy_(torch.from_numpy(mean))
        network.log_noise.copy_(torch.from_numpy(np.log(noise)))
    x = rng.normal(size=n_features)
    seen = np.array([True, False, True, True, False, True])
    with torch.no_grad():
        filled = network.reconstruct(torch.from_numpy(np.where(seen, x, np.nan))[None])[0]
    covariance = loadings @ loadings.T + np.diag(noise)
    expected = mean[~seen] + covariance[np.ix_(~seen, seen)] @ np.linalg.solve(
        covariance[np.ix_(seen, seen)], x[seen] - mean[seen]
    )
    np.testing.assert_allclose(filled.numpy()[~seen], expected, rtol=1e-6)

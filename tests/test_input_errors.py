"""Errors that say how to fix the input: arrays of windows or images not flattened into rows,
fits on a single row, DataFrames with columns that are not numbers."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from fast_settings import TINY, TINY_FINETUNED
from sklearn.base import clone

from simmim_sklearn import (
    SimMIMClassifier,
    SimMIMForecaster,
    SimMIMImputer,
    SimMIMRegressor,
    SimMIMTransformer,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ESTIMATORS = [
    SimMIMTransformer(**TINY),
    SimMIMImputer(**TINY),
    SimMIMClassifier(**TINY_FINETUNED),
    SimMIMRegressor(**TINY_FINETUNED),
    SimMIMForecaster(transformer=SimMIMTransformer(**TINY), cv=2),
]
ESTIMATOR_IDS = [type(estimator).__name__ for estimator in ESTIMATORS]

# The method that reads new rows once fitted: transform for the transformers, else predict.
PREDICTING_METHOD = {
    "SimMIMTransformer": "transform",
    "SimMIMImputer": "transform",
    "SimMIMClassifier": "predict",
    "SimMIMRegressor": "predict",
    "SimMIMForecaster": "predict",
}


@pytest.fixture(scope="module")
def windows_3d():
    """30 two-channel windows of 10 steps as a 3-D array, and a binary label for each."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 2, 10)), np.arange(30) % 2


@pytest.fixture(scope="module")
def cities():
    """30 rows of two numeric columns and a text column "city", and a binary label for each."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "temperature": rng.normal(size=30),
        "city": ["Paris", "Oslo", "Rome"] * 10,
        "rainfall": rng.normal(size=30),
    })
    return X, np.arange(30) % 2


def flat_rows_message(shape, input_shape):
    return re.escape(
        f"X has {len(shape)} dimensions, shape {shape}; SimMIM estimators take flat rows: "
        f"pass X.reshape({shape[0]}, -1) and input_shape={input_shape}."
    )


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ESTIMATOR_IDS)
def test_fit_on_windows_array_says_how_to_flatten(estimator, windows_3d):
    X, y = windows_3d
    with pytest.raises(ValueError, match=flat_rows_message((30, 2, 10), "(2, 10)")):
        clone(estimator).fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ESTIMATOR_IDS)
def test_predicting_on_windows_array_says_how_to_flatten(estimator, windows_3d):
    X, y = windows_3d
    fitted = clone(estimator).fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match=flat_rows_message((30, 2, 10), "(2, 10)")):
        getattr(fitted, PREDICTING_METHOD[type(estimator).__name__])(X)


def test_score_on_windows_array_says_how_to_flatten(windows_3d):
    X, _ = windows_3d
    model = SimMIMTransformer(input_shape=(2, 10), **TINY).fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match=flat_rows_message((30, 2, 10), "(2, 10)")):
        model.score(X)


def test_images_array_says_how_to_flatten():
    images = np.random.default_rng(0).normal(size=(12, 3, 4, 4))
    with pytest.raises(ValueError, match=flat_rows_message((12, 3, 4, 4), "(3, 4, 4)")):
        SimMIMTransformer(**TINY).fit(images)


def test_nested_list_of_windows_says_how_to_flatten(windows_3d):
    X, _ = windows_3d
    with pytest.raises(ValueError, match=flat_rows_message((30, 2, 10), "(2, 10)")):
        SimMIMTransformer(**TINY).fit(X.tolist())


def test_out_of_core_windows_array_says_how_to_flatten(windows_3d, tmp_path):
    X, _ = windows_3d
    memmap = np.lib.format.open_memmap(tmp_path / "windows.npy", mode="w+",
                                       dtype=np.float32, shape=X.shape)
    memmap[:] = X
    with pytest.raises(ValueError, match=flat_rows_message((30, 2, 10), "(2, 10)")):
        SimMIMTransformer(**TINY).fit(memmap)


def one_sample_message(estimator):
    return re.escape(
        "Found array with 1 sample(s) (shape=(1, 20)) while a minimum of 2 is required by "
        f"{type(estimator).__name__}."
    )


@pytest.mark.parametrize("estimator", ESTIMATORS[:4], ids=ESTIMATOR_IDS[:4])
def test_fit_on_one_row_raises(estimator, windows_3d):
    X, y = windows_3d
    estimator = clone(estimator).set_params(early_stopping=False)
    with warnings.catch_warnings():
        # The single row must be refused before PCA divides by n_samples - 1 = 0.
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=one_sample_message(estimator)):
            estimator.fit(X[:1].reshape(1, -1), y[:1])
    assert not hasattr(estimator, "n_features_in_")


def test_out_of_core_fit_on_one_row_raises(windows_3d, tmp_path):
    X, _ = windows_3d
    memmap = np.lib.format.open_memmap(tmp_path / "row.npy", mode="w+", dtype=np.float32,
                                       shape=(1, 20))
    memmap[:] = X[:1].reshape(1, -1)
    estimator = SimMIMTransformer(**TINY)
    with pytest.raises(ValueError, match=one_sample_message(estimator)):
        estimator.fit(memmap)


def test_first_partial_fit_on_one_row_raises(windows_3d):
    X, _ = windows_3d
    estimator = SimMIMTransformer(**TINY)
    with pytest.raises(ValueError, match=one_sample_message(estimator)):
        estimator.partial_fit(X[:1].reshape(1, -1))


def test_later_partial_fit_on_one_row_trains(windows_3d):
    rows = windows_3d[0].reshape(30, -1)
    model = SimMIMTransformer(**TINY).partial_fit(rows[:10]).partial_fit(rows[10:11])
    assert model.n_iter_ == 2


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ESTIMATOR_IDS)
def test_text_column_is_named(estimator, cities):
    X, y = cities
    message = re.escape(
        "Column 'city' of X is not numeric (dtype object); encode it first, e.g. with "
        "OneHotEncoder in a ColumnTransformer."
    )
    with pytest.raises(ValueError, match=message):
        clone(estimator).fit(X, y)


def test_every_non_numeric_column_is_named(cities):
    X, _ = cities
    X = X.assign(weekday=pd.Categorical(["Mon", "Tue"] * 15))
    message = re.escape(
        "Columns 'city', 'weekday' of X are not numeric (dtypes object, category); encode "
        "them first, e.g. with OneHotEncoder in a ColumnTransformer."
    )
    with pytest.raises(ValueError, match=message):
        SimMIMTransformer(**TINY).fit(X)


def test_text_column_is_named_at_transform(cities):
    X, _ = cities
    numeric = X.assign(city=np.arange(30.0))
    model = SimMIMTransformer(**TINY).fit(numeric)
    with pytest.raises(ValueError, match="Column 'city' of X is not numeric"):
        model.transform(X)


def test_columns_of_numbers_held_as_objects_still_convert(cities):
    X, _ = cities
    numeric = X.assign(city=np.arange(30.0))
    as_objects = numeric.assign(city=numeric["city"].astype(object))
    model = SimMIMTransformer(**TINY).fit(numeric)
    np.testing.assert_array_equal(model.transform(as_objects), model.transform(numeric))

"""The small data sets the tests share, as fixtures.

The data sets are module-scoped: a file's tests share one copy, as when each file built its
own, and no file sees what another did to its copy; the digits are read once per session.
The estimator settings that keep models small live in ``fast_settings.py``, since
parametrize arguments cannot be fixtures.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits, make_classification

from simmim_sklearn import make_windows


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module's tests, and the previous thread count afterwards."""
    # Tiny networks gain nothing from threads, and on a busy machine lose much to them.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def all_digits():
    """scikit-learn's 1797 8 x 8 digit images as float64 rows of 64 pixels, and their labels."""
    return load_digits(return_X_y=True)


@pytest.fixture(scope="module")
def digits(all_digits):
    """The first 300 digit images, float64 rows of 64 pixels without labels."""
    return all_digits[0][:300].copy()


@pytest.fixture(scope="module")
def digits_float32(digits):
    """The first 300 digit images as float32 rows, the precision a GPU model computes in."""
    return digits.astype(np.float32)


@pytest.fixture(scope="module")
def digits_400(all_digits):
    """The first 400 digit images as float64 rows: four blocks of 100 for streaming."""
    return all_digits[0][:400].copy()


@pytest.fixture(scope="module")
def labeled_digits(all_digits):
    """400 labeled digit images to train on, then 300 to test on: X, y, X_test, y_test."""
    X, y = all_digits
    return X[:400].copy(), y[:400].copy(), X[400:700].copy(), y[400:700].copy()


@pytest.fixture(scope="module")
def diabetes():
    """scikit-learn's diabetes regression: 442 rows of 10 features, and their targets."""
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def tabular():
    """A binary classification of 200 rows of 8 features (5 informative), and its labels."""
    X, y = make_classification(n_samples=200, n_features=8, n_informative=5, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def gaussian_rows():
    """60 rows of 5 independent standard normal features."""
    return np.random.default_rng(0).normal(size=(60, 5))


@pytest.fixture(scope="module")
def low_rank_rows():
    """400 rows of 8 features spanned by 2 factors, plus a little noise."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 8))
    return X + 0.05 * rng.normal(size=X.shape)


@pytest.fixture(scope="module")
def sine_windows():
    """80 windows of 32 steps of a sine of period 8 at random phases, with a little noise."""
    rng = np.random.default_rng(0)
    t = np.arange(32)
    phases = rng.uniform(0, 2 * np.pi, size=(80, 1))
    return np.sin(2 * np.pi * t / 8 + phases) + 0.05 * rng.normal(size=(80, 32))


@pytest.fixture(scope="module")
def seasonal_series():
    """20 years of a monthly series from January 2000: a slow trend and a yearly season."""
    t = np.arange(240)
    return pd.Series(
        10 + 0.05 * t + np.sin(2 * np.pi * t / 12),
        index=pd.date_range("2000-01", periods=240, freq="MS"), name="y",
    )


@pytest.fixture(scope="module")
def trend_windows():
    """Windows of 24 steps and the 6 steps after them, of a steep trend with a 12-step season."""
    t = np.arange(300.0)
    y = 0.5 * t + np.sin(2 * np.pi * t / 12)
    return make_windows(y, window_length=24, horizon=6)

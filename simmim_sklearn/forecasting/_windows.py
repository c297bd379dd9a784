"""Sliding windows for direct multi-horizon forecasting."""

from numbers import Integral

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_windows"]


def _as_2d(a, name, default_name):
    """Return ``(values of shape (T, C), column names)`` of a 1-D or 2-D series."""
    if isinstance(a, pd.DataFrame):
        return a.to_numpy(), [str(c) for c in a.columns]
    if isinstance(a, pd.Series):
        return a.to_numpy()[:, None], [default_name if a.name is None else str(a.name)]
    values = np.asarray(a)
    if values.ndim == 1:
        return values[:, None], [default_name]
    if values.ndim == 2:
        return values, [f"{default_name}_{j}" for j in range(values.shape[1])]
    raise ValueError(
        f"{name} must be 1-D or 2-D (n_timesteps, n_channels); got {values.ndim} dims."
    )


@validate_params(
    {
        "y": ["array-like"],
        "window_length": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
        "exog": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def make_windows(y, window_length, horizon=1, step=1, exog=None):
    """Cut a series into input windows and the ``horizon`` targets that follow each window.

    Window ``i`` covers the time steps ``[s, s + window_length)`` with ``s = i * step``; its
    targets are the ``horizon`` steps right after it, ``[s + window_length,
    s + window_length + horizon)``, so a window never contains its own targets. Only windows
    with a full set of targets are produced, which gives
    ``n_windows = (n_timesteps - window_length - horizon) // step + 1``.

    Parameters
    ----------
    y : array-like or pandas Series of shape (n_timesteps,), or array-like or pandas DataFrame \
of shape (n_timesteps, n_channels)
        The series to forecast. NaN is allowed anywhere and passed through as is.

    window_length : int
        Number of time steps in each input window.

    horizon : int, default=1
        Number of steps after each window to forecast.

    step : int, default=1
        Distance in time steps between the starts of consecutive windows.

    exog : array-like or pandas DataFrame of shape (n_timesteps,) or (n_timesteps, n_exog), \
default=None
        Known covariates aligned with ``y``. Their values over each window are appended to the
        window as extra channels after the channels of ``y``; they add no targets.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_windows, n_channels_total * window_length)
        One flat window per row, channel-major: the ``window_length`` values of the first
        channel in time order, then those of the second channel, and so on. The channels are
        the ``C`` channels of ``y`` (``C = 1`` for 1-D ``y``) followed by the ``n_exog``
        channels of ``exog``, so ``n_channels_total = C + n_exog`` and the rows can be read by
        ``SimMIMTransformer(input_shape=(C + n_exog, window_length))``.

    Y : ndarray or DataFrame of shape (n_windows, C * horizon)
        The targets of each window, channel-major like ``X``. ``Y`` is 2-D even for 1-D ``y``
        and ``horizon=1``, so it can be given as is to any multi-output regressor.

    See Also
    --------
    WindowNormalizer : Remove each window's level before feature extraction.
    LevelRegressor : Forecast non-stationary series relative to each window's level.
    sklearn.model_selection.TimeSeriesSplit : Cross-validation that respects time order.

    Notes
    -----
    When ``y`` is a pandas Series or DataFrame, ``X`` and ``Y`` are DataFrames indexed by the
    time stamp of each window's first target, with columns ``{name}_lag_{k}`` (``k`` steps
    before that first target, from ``window_length`` down to 1) and ``{name}_step_{k}``
    (``k`` from 1 to ``horizon``). ``name`` is the column name, or the Series name (``"y"``
    when it has none); unnamed exog channels are called ``exog`` or ``exog_{j}``. A NumPy
    ``y`` gives NumPy outputs.

    Windows containing NaN are kept, since ``SimMIMTransformer`` hides NaN values. Targets
    containing NaN are kept too; drop those rows before fitting a regressor, e.g. with
    ``mask = ~np.isnan(Y).any(axis=1)`` and ``X[mask], Y[mask]``.

    Examples
    --------
    >>> import numpy as np
    >>> from simmim_sklearn import make_windows
    >>> X, Y = make_windows(np.arange(8), window_length=3, horizon=2)
    >>> X
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4],
           [3, 4, 5]])
    >>> Y
    array([[3, 4],
           [4, 5],
           [5, 6],
           [6, 7]])

    Two channels, every second window; rows are channel-major:

    >>> y2 = np.column_stack([np.arange(6), 10 * np.arange(6)])
    >>> X, Y = make_windows(y2, window_length=2, step=2)
    >>> X
    array([[ 0,  1,  0, 10],
           [ 2,  3, 20, 30]])
    >>> Y
    array([[ 2, 20],
           [ 4, 40]])

    A pandas Series keeps the time stamps of the targets:

    >>> import pandas as pd
    >>> s = pd.Series([1.0, 2.0, 3.0, 4.0], name="sales",
    ...               index=pd.date_range("2024-01-01", periods=4, freq="D"))
    >>> X, Y = make_windows(s, window_length=2)
    >>> X
                sales_lag_2  sales_lag_1
    2024-01-03          1.0          2.0
    2024-01-04          2.0          3.0
    >>> Y
                sales_step_1
    2024-01-03           3.0
    2024-01-04           4.0
    """
    values, names = _as_2d(y, "y", "y")
    n_timesteps = values.shape[0]
    if n_timesteps < window_length + horizon:
        raise ValueError(
            f"y has {n_timesteps} time steps; window_length={window_length} and "
            f"horizon={horizon} need at least {window_length + horizon}."
        )
    inputs = values
    input_names = names
    if exog is not None:
        exog_values, exog_names = _as_2d(exog, "exog", "exog")
        if exog_values.shape[0] != n_timesteps:
            raise ValueError(
                f"exog has {exog_values.shape[0]} time steps but y has {n_timesteps}; "
                "they must be aligned."
            )
        inputs = np.concatenate([values, exog_values], axis=1)
        input_names = names + exog_names

    # sliding_window_view along time of a (T, C) array gives (n, C, W): already channel-major.
    windows = sliding_window_view(inputs[: n_timesteps - horizon], window_length, axis=0)[::step]
    targets = sliding_window_view(values[window_length:], horizon, axis=0)[::step]
    X = windows.reshape(len(windows), -1)
    Y = targets.reshape(len(targets), -1)

    if not isinstance(y, (pd.Series, pd.DataFrame)):
        return X, Y
    first_target = np.arange(len(X)) * step + window_length
    index = y.index[first_target]
    X_columns = [f"{c}_lag_{k}" for c in input_names for k in range(window_length, 0, -1)]
    Y_columns = [f"{c}_step_{k}" for c in names for k in range(1, horizon + 1)]
    return (
        pd.DataFrame(X, index=index, columns=X_columns),
        pd.DataFrame(Y, index=index, columns=Y_columns),
    )

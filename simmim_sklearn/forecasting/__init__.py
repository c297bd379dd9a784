"""Forecasting: windows cut from a series, per-window levels, and SimMIMForecaster."""

from ._forecaster import SimMIMForecaster
from ._windows import LevelRegressor, WindowNormalizer, make_windows

__all__ = ["LevelRegressor", "SimMIMForecaster", "WindowNormalizer", "make_windows"]

"""Forecasting: windows cut from a series, per-window levels, and SimMIMForecaster."""

from ._forecaster import SimMIMForecaster
from ._level import LevelRegressor, WindowNormalizer
from ._windows import make_windows

__all__ = ["LevelRegressor", "SimMIMForecaster", "WindowNormalizer", "make_windows"]

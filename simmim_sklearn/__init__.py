"""Self-supervised masked-modeling (SimMIM) features for scikit-learn."""

from ._classifier import SimMIMClassifier
from ._imputer import SimMIMImputer
from ._regressor import SimMIMRegressor
from ._token_transformer import SimMIMTokenTransformer
from ._transformer import SimMIMTransformer
from .forecasting import LevelRegressor, SimMIMForecaster, WindowNormalizer, make_windows

__all__ = [
    "LevelRegressor",
    "SimMIMClassifier",
    "SimMIMForecaster",
    "SimMIMImputer",
    "SimMIMRegressor",
    "SimMIMTokenTransformer",
    "SimMIMTransformer",
    "WindowNormalizer",
    "make_windows",
]
__version__ = "0.1.0"

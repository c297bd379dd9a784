"""Self-supervised masked-modeling (SimMIM) features for scikit-learn."""

from ._imputer import SimMIMImputer
from ._transformer import SimMIMTransformer

__all__ = ["SimMIMImputer", "SimMIMTransformer"]
__version__ = "0.1.0"

"""Self-supervised masked-modeling (SimMIM) features for scikit-learn."""

from ._transformer import SimMIMTransformer

__all__ = ["SimMIMTransformer"]
__version__ = "0.1.0"

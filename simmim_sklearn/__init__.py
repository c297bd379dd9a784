"""Self-supervised masked-modeling (SimMIM) features for scikit-learn."""

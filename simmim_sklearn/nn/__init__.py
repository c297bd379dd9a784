"""Torch building blocks: patching, masking, encoders, the network and its training."""

"""Tokenising sequences of symbols (DNA, proteins, text) for ``SimMIMTokenTransformer``."""

"""Numerics: kernels (being written)."""

__all__: list[str] = []

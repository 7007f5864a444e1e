"""Numerics: random (being written)."""

__all__: list[str] = []

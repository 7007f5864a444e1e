"""Numerics: integrate (being written)."""

__all__: list[str] = []

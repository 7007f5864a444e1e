"""Numerics: assignment (being written)."""

__all__: list[str] = []

"""Scoped float64: a context manager that does not touch the global JAX flag."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax

__all__ = ["float64_scope"]


@contextlib.contextmanager
def float64_scope() -> Iterator[None]:
    """Run the enclosed block with float64 enabled, restoring the previous state.

    Used by entry points (the reproductions) whose checks need double precision;
    library functions never change the flag.
    """
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # jax < 0.7 keeps the context manager in jax.experimental
        from jax.experimental import enable_x64 as enable
    with enable(True):
        yield

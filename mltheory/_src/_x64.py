"""Scoped float64: a context manager that does not touch the global JAX flag."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import jax

__all__ = ["float64_scope"]


@contextlib.contextmanager
def float64_scope() -> Iterator[None]:
    """Run the enclosed block with float64 enabled, restoring the previous state.

    Used by entry points (the reproductions) whose checks need double precision;
    library functions never change the flag.
    """
    enable: Any = getattr(jax, "enable_x64", None)
    if enable is None:  # older jax keeps the context manager in jax.experimental
        enable = importlib.import_module("jax.experimental").enable_x64
    with enable(True):
        yield

"""Type aliases used across mltheory's signatures."""

from __future__ import annotations

from typing import Any, TypeAlias

import jax
import numpy as np

Array: TypeAlias = jax.Array
ArrayLike: TypeAlias = jax.typing.ArrayLike
DTypeLike: TypeAlias = jax.typing.DTypeLike
KeyArray: TypeAlias = jax.Array
PyTree: TypeAlias = Any
NDArray: TypeAlias = np.ndarray

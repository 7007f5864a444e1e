"""Root test configuration: float64 everywhere, a ``key`` fixture, doctest names.

It lives at the repository root so that it also governs the doctests collected
from ``mltheory/`` (``--doctest-modules``).
"""

import os

os.environ.setdefault("MLTHEORY_PROGRESS", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

collect_ignore = ["mltheory/__main__.py"]


@pytest.fixture
def key() -> jax.Array:
    """A fixed typed PRNG key; tests split it rather than reseeding."""
    return jax.random.key(0)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed NumPy generator for host-side test data."""
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["jnp"] = jnp
    doctest_namespace["jax"] = jax

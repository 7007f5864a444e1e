"""Benchmark: Gaussian expectations over 1,000 parameter values.

``expect_1000_params`` computes E[tanh(w Z + b)], Z ~ N(0, 1), for 1,000 pairs
(w, b): ours is one jitted, vmapped :func:`mltheory.numerics.expect` call
(64-node Gauss–Hermite, X = w Z + b ~ N(b, w^2)); the baseline is a Python
loop of :func:`scipy.integrate.quad` over the same integrand against the
Gaussian density.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import integrate

from mltheory import numerics

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _setup(quick: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 1000
    # |w| <= 1 keeps tanh(w z + b) analytic in a wide strip, where 64 nodes
    # reach ~1e-10 (steeper integrands need more nodes).
    w = rng.uniform(0.2, 1.0, size=n)
    b = rng.uniform(-1.0, 1.0, size=n)
    return w, b


def _baseline(inputs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    w, b = inputs
    out = np.empty_like(w)
    for i, (wi, bi) in enumerate(zip(w, b, strict=True)):
        out[i] = integrate.quad(
            lambda z, wi=wi, bi=bi: (
                math.tanh(wi * z + bi) * math.exp(-0.5 * z * z) * _INV_SQRT_2PI
            ),
            -np.inf,
            np.inf,
            epsabs=1e-12,
            epsrel=1e-12,
        )[0]
    return out


@jax.jit
def _ours_jit(w: jax.Array, b: jax.Array) -> jax.Array:
    return jax.vmap(lambda wi, bi: numerics.expect(jnp.tanh, bi, wi**2))(w, b)


def _ours(inputs: tuple[np.ndarray, np.ndarray]) -> jax.Array:
    w, b = inputs
    return _ours_jit(jnp.asarray(w), jnp.asarray(b))


def _check(baseline: np.ndarray, ours: jax.Array) -> None:
    np.testing.assert_allclose(np.asarray(ours), baseline, rtol=0, atol=1e-8)


CASES = {"expect_1000_params": (_setup, _baseline, _ours, _check)}

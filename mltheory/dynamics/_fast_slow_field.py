"""Hermite sums, the population loss and the fast-slow vector field.

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
)
from mltheory.dynamics._fast_slow_problem import (
    FastSlowProblem,
    _check_m,
    _check_problem,
    _coeffs,
    _factorials,
    _horner,
    _lead,
    _powers,
)

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Hermite sums, loss, vector field
# --------------------------------------------------------------------------- #


@pytree_dataclass
class HermiteSums:
    r"""The four Hermite sums :math:`S_1, S_2, T_1, T_2` at alignments ``m``.

    Parameters
    ----------
    S1, S2, T1, T2 : jax.Array of the shape of ``m``
        :math:`S_1 = \sum_k k\,k!\,c_k c^*_k m^{k-1}`,
        :math:`S_2 = \sum_k k\,k!\,c_k^2 m^{2k-1}`,
        :math:`T_1 = \sum_k k!\,c_k c^*_k m^k`,
        :math:`T_2 = \sum_k k!\,c_k^2 m^{2k}`.

    See Also
    --------
    hermite_sums : Computes them.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    >>> sums = fast_slow.hermite_sums(fast_slow.FastSlowProblem(s, s, eps=1.0), 0.5)
    >>> print(float(sums.S1), float(sums.T2))
    1.0 0.25
    """

    S1: Array
    S2: Array
    T1: Array
    T2: Array


def _sums(c: Array, cs: Array, m: Array) -> HermiteSums:
    size = c.shape[0]
    fact = _factorials(size, m.dtype)
    k = jnp.arange(size, dtype=m.dtype)
    cc = fact * c * cs
    c2 = fact * c * c
    # Horner in m (S1, T1) and in m^2 (S2, T2): O(K) fused multiply-adds per
    # point, the cost that matters in vmapped sweeps and root scans.
    q = m * m
    t1 = _horner(cc, m)
    t2 = _horner(c2, q)
    s1 = _horner(k[1:] * cc[1:], m)
    s2 = m * _horner(k[1:] * c2[1:], q)
    return HermiteSums(s1, s2, t1, t2)


@jax.jit
def _sums_jit(c: Array, cs: Array, m: Array) -> HermiteSums:
    return _sums(c, cs, m)


def hermite_sums(problem: FastSlowProblem, m: ArrayLike) -> HermiteSums:
    r"""The Hermite sums :math:`S_1, S_2, T_1, T_2` of the 2-D ODE (vmappable).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m : array_like of any shape
        Alignments, :math:`|m| \le 1`.

    Returns
    -------
    HermiteSums
        Each sum with the shape of ``m``.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m`` holds NaN/inf or values with :math:`|m| > 1`.

    See Also
    --------
    vector_field : The ODE built from these sums.

    Notes
    -----
    .. math::

        S_1 &= \sum_k k\,k!\,c_k c^*_k m^{k-1}, \quad
        S_2 = \sum_k k\,k!\,c_k^2 m^{2k-1}, \\
        T_1 &= \sum_k k!\,c_k c^*_k m^k, \quad
        T_2 = \sum_k k!\,c_k^2 m^{2k},

    so that :math:`\partial_m L = a (a S_2 - S_1)` and
    :math:`\partial_a L = a T_2 - T_1`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 7)
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
    >>> sums = fast_slow.hermite_sums(p, jnp.linspace(0.0, 1.0, 5))
    >>> sums.S1.shape
    (5,)
    >>> print(round(float(sums.T1[-1] - sums.T2[-1]), 12))  # teacher = student
    0.0
    """
    problem = _check_problem(problem)
    c, cs = _coeffs(problem)
    return _sums_jit(c, cs, _check_m(m))


@jax.jit
def _loss(c: Array, cs: Array, noise_var: Array, m: Array, a: Array) -> Array:
    size = c.shape[0]
    fact = _factorials(size, m.dtype)
    nd = m.ndim
    resid = a[..., None] * _lead(c, nd) * _powers(m, size - 1) - _lead(cs, nd)
    return 0.5 * (resid * resid) @ fact + 0.5 * noise_var


def population_loss(problem: FastSlowProblem, m: ArrayLike, a: ArrayLike) -> Array:
    r"""Population loss :math:`L(m, a)` of the network with all neurons at ``(m, a)``.

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m : array_like
        Alignments, :math:`|m| \le 1`.
    a : array_like
        Second-layer weights; broadcast against ``m`` (same rank or scalar).

    Returns
    -------
    jax.Array
        :math:`\tfrac12 \sum_k k!\,(a c_k m^k - c^*_k)^2 +
        \tfrac12\,\mathrm{noise\_var}`, of the broadcast shape.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m`` or ``a`` holds NaN/inf, or :math:`|m| > 1`.

    See Also
    --------
    vector_field : Its (metric) gradient flow.

    Notes
    -----
    For :math:`x \sim N(0, I_d)`, the network output at teacher projection
    :math:`u` is :math:`\sum_k a c_k m^k He_k(u)` (Mehler's formula), and
    orthogonality of the :math:`He_k` gives the sum. It is exact for the
    truncated series.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
    >>> print(float(fast_slow.population_loss(p, 1.0, 1.0)))  # perfect fit
    0.0
    >>> print(float(fast_slow.population_loss(p, 0.0, 1.0)))  # E[u^2] / 2
    0.5
    """
    problem = _check_problem(problem)
    c, cs = _coeffs(problem)
    m_arr = _check_m(m)
    a_arr = as_array(a, name="a", allow_empty=True).astype(m_arr.dtype)
    m_arr, a_arr = jnp.broadcast_arrays(m_arr, a_arr)
    nv = jnp.asarray(problem.noise_var, m_arr.dtype)
    return _loss(c, cs, nv, m_arr, a_arr)


def _field_ma(
    c: Array, cs: Array, eps: Array, m: Array, a: Array
) -> tuple[Array, Array]:
    s = _sums(c, cs, m)
    dm = -(1.0 - m * m) * a * (a * s.S2 - s.S1)
    da = -eps * (a * s.T2 - s.T1)
    return dm, da


@jax.jit
def _field_jit(
    c: Array, cs: Array, eps: Array, m: Array, a: Array
) -> tuple[Array, Array]:
    return _field_ma(c, cs, eps, m, a)


def vector_field(
    problem: FastSlowProblem, m: ArrayLike, a: ArrayLike
) -> tuple[Array, Array]:
    r"""Velocity :math:`(\dot m, \dot a)` of the 2-D fast–slow ODE (vmappable).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m : array_like
        Alignments, :math:`|m| \le 1`.
    a : array_like
        Second-layer weights, broadcast against ``m``.

    Returns
    -------
    dm_dt : jax.Array
        :math:`-(1 - m^2)\,a\,(a S_2 - S_1)`.
    da_dt : jax.Array
        :math:`-\varepsilon\,(a T_2 - T_1)`.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m`` or ``a`` holds NaN/inf, or :math:`|m| > 1`.

    See Also
    --------
    integrate : Integrates this field.
    hermite_sums : The sums it is built from.

    Notes
    -----
    The field is the gradient flow of :func:`population_loss` in the metric of
    the sphere for :math:`m` and with rate :math:`\varepsilon` for :math:`a`:
    :math:`\dot m = -(1 - m^2)\partial_m L`, :math:`\dot a = -\varepsilon
    \partial_a L`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.5)
    >>> dm, da = fast_slow.vector_field(p, 0.0, 1.0)  # the linear term pulls m up
    >>> print(float(dm), float(da))
    1.0 0.0
    """
    problem = _check_problem(problem)
    c, cs = _coeffs(problem)
    m_arr = _check_m(m)
    a_arr = as_array(a, name="a", allow_empty=True).astype(m_arr.dtype)
    m_arr, a_arr = jnp.broadcast_arrays(m_arr, a_arr)
    eps = jnp.asarray(problem.eps, m_arr.dtype)
    return _field_jit(c, cs, eps, m_arr, a_arr)

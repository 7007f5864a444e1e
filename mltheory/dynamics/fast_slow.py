r"""Fast–slow ODEs of an infinite-width two-layer network: feature (un)learning.

A two-layer network :math:`f(x) = \frac1n \sum_j a_j \sigma(\langle w_j, x\rangle)`
with unit-norm first-layer rows learns a single-index teacher
:math:`y = \sigma_*(\langle\theta_*, x\rangle) + \zeta` from Gaussian inputs by
large-batch SGD. In the infinite-width, large-batch limit each neuron is
described by its alignment :math:`m = \langle w, \theta_*\rangle` (the *fast*
variable) and its second-layer weight :math:`a` (the *slow* variable, its
learning rate is :math:`\varepsilon` times smaller). With Hermite coefficients
:math:`c_k` (student) and :math:`c^*_k` (teacher) the macroscopic flow is the
metric gradient flow

.. math::

    \dot m = -(1 - m^2)\, a\,[a S_2(m) - S_1(m)], \qquad
    \dot a = -\varepsilon\,[a T_2(m) - T_1(m)]

of :math:`L(m, a) = \tfrac12 \sum_k k!\,(a c_k m^k - c^*_k)^2`. This module
integrates it (and its N-particle version), computes its critical manifold,
the reduced slow flow, its equilibria, the criterion that decides whether the
network *unlearns* the feature (alignment rising, then decaying on the slow
time scale) and the power laws of that decay, following the fast–slow
analysis of [1]_.

Conventions: probabilists' Hermite polynomials with coefficients taken with
respect to the standard Gaussian (see :mod:`mltheory.numerics`); time ``t`` is
in units of the first-layer learning rate (``t = k * lr_w``); ``eps`` is
``lr_a / lr_w``. Everything is float64 when JAX's x64 mode is on (float32
inputs are upcast to the default float dtype). Functions marked *vmappable*
accept traced problems and parameters, so a whole phase diagram is one
:func:`jax.vmap`.

References
----------
.. [1] S. Imai, S. Nishiyama and M. Imaizumi, "Dichotomy of Feature Learning
   and Unlearning: Fast-Slow Analysis on Neural Networks with Stochastic
   Gradient Descent", arXiv:2602.07378, 2026.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import special

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_in,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.numerics import (
    HermiteSeries,
    TimeGrid,
    Trajectory,
    solve_ode,
    solve_ode_stiff,
)

__all__ = [
    "CriticalManifold",
    "Equilibria",
    "FastSlowProblem",
    "FastSlowTrajectory",
    "HermiteSums",
    "PhaseDiagram",
    "PopulationTrajectory",
    "PowerLawFit",
    "ScalingLaw",
    "UnlearningDiagnosis",
    "UnlearningStats",
    "critical_manifold",
    "critical_strength",
    "equilibria",
    "fit_power_law",
    "hermite_sums",
    "integrate",
    "integrate_population",
    "measure_unlearning",
    "phase_diagram",
    "population_loss",
    "predict_unlearning",
    "scaling_law",
    "slow_flow",
    "vector_field",
]

_REFERENCE = (
    'S. Imai, S. Nishiyama and M. Imaizumi, "Dichotomy of Feature Learning and '
    "Unlearning: Fast-Slow Analysis on Neural Networks with Stochastic Gradient "
    'Descent", arXiv:2602.07378, 2026.'
)
_STIFF_METHODS = {"lsoda": "LSODA", "radau": "Radau", "bdf": "BDF"}
IntegrateMethod = Literal["lsoda", "radau", "bdf", "rk4"]
# Resolution of the grid scans in predict_unlearning (a root is then refined by
# bisection to machine precision, so this only has to separate distinct roots).
_SCAN_POINTS = 2048
_BISECTION_STEPS = 60
_ASYMPTOTIC = ("retained", "equilibrium", "power_law")


# --------------------------------------------------------------------------- #
# Problem
# --------------------------------------------------------------------------- #


def _concrete(x: Any) -> bool:
    return isinstance(x, np.ndarray | jax.Array | float | int) and not is_traced(x)


@pytree_dataclass
class FastSlowProblem:
    r"""The infinite-width two-layer problem: activations, rate ratio, noise.

    A frozen dataclass registered as a JAX pytree (the coefficients, ``eps``
    and ``noise_var`` are leaves), so problems can be traced, vmapped over
    (for example over a teacher strength) and passed through :func:`jax.jit`.

    Parameters
    ----------
    student : HermiteSeries
        Student activation :math:`\sigma = \sum_k c_k He_k`, degree >= 1.
    teacher : HermiteSeries
        Teacher link :math:`\sigma_* = \sum_k c^*_k He_k`, degree >= 1. The
        shorter of the two series is padded with zeros to the common degree
        (nothing is dropped, so the loss is exact for the given series).
    eps : float
        Ratio of the second-layer to the first-layer learning rate, > 0: the
        singular-perturbation parameter.
    noise_var : float, default=0.0
        Variance of the label noise, >= 0 (it only shifts the loss).

    Raises
    ------
    TypeError
        If ``student`` or ``teacher`` is not a :class:`HermiteSeries`.
    ValueError
        If a series has degree < 1 or non-finite coefficients, ``eps <= 0`` or
        is not finite, or ``noise_var < 0``. Value checks are skipped for
        traced inputs.

    See Also
    --------
    mltheory.numerics.activation_series : Series of common activations.
    mltheory.numerics.polynomial_series : Series of polynomial teachers.
    mltheory.dynamics.tensor_programs.to_problem : From SGD learning rates.

    Notes
    -----
    The problem fixes the Hermite sums of :func:`hermite_sums` and the loss

    .. math::

        L(m, a) = \tfrac12 \sum_{k=0}^{K} k!\,(a c_k m^k - c^*_k)^2
        + \tfrac12\,\mathrm{noise\_var}.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0, 0.0, 0.3]))
    >>> problem = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> problem.teacher.degree  # padded to the student's degree
    9
    """

    student: HermiteSeries
    teacher: HermiteSeries
    eps: Any
    noise_var: Any = 0.0

    def __post_init__(self) -> None:
        for name in ("student", "teacher"):
            if not isinstance(getattr(self, name), HermiteSeries):
                raise TypeError(
                    f"{name} must be a HermiteSeries (e.g. "
                    f"mltheory.numerics.activation_series('tanh')); got "
                    f"{describe(getattr(self, name))}."
                )
        c, cs = self.student.coeffs, self.teacher.coeffs
        if not (_concrete(c) and _concrete(cs)):
            return  # rebuilt by JAX from traced or placeholder leaves
        c = as_array(c, name="student.coeffs", ndim=1, shape_hint="(K + 1,)")
        cs = as_array(cs, name="teacher.coeffs", ndim=1, shape_hint="(K + 1,)")
        for name, arr in (("student", c), ("teacher", cs)):
            if arr.shape[0] < 2:
                raise ValueError(
                    f"{name} must have degree >= 1 (a linear term); got degree "
                    f"{arr.shape[0] - 1}."
                )
        dtype = jnp.result_type(float)
        size = max(c.shape[0], cs.shape[0])
        c = jnp.zeros(size, dtype).at[: c.shape[0]].set(c.astype(dtype))
        cs = jnp.zeros(size, dtype).at[: cs.shape[0]].set(cs.astype(dtype))
        object.__setattr__(self, "student", HermiteSeries(c))
        object.__setattr__(self, "teacher", HermiteSeries(cs))
        if _concrete(self.eps):
            eps = check_scalar(self.eps, name="eps", lower=0.0, lower_inclusive=False)
            object.__setattr__(self, "eps", jnp.asarray(eps, dtype))
        if _concrete(self.noise_var):
            nv = check_scalar(self.noise_var, name="noise_var", lower=0.0)
            object.__setattr__(self, "noise_var", jnp.asarray(nv, dtype))

    @property
    def degree(self) -> int:
        """The common truncation degree K of both series.

        Examples
        --------
        >>> from mltheory import numerics
        >>> from mltheory.dynamics import fast_slow
        >>> s = numerics.activation_series("erf", 5)
        >>> fast_slow.FastSlowProblem(s, s, eps=0.1).degree
        5
        """
        return int(jnp.shape(self.student.coeffs)[0]) - 1


def _check_problem(problem: Any) -> FastSlowProblem:
    if not isinstance(problem, FastSlowProblem):
        raise TypeError(f"problem must be a FastSlowProblem; got {describe(problem)}.")
    return problem


def _coeffs(problem: FastSlowProblem) -> tuple[Array, Array]:
    dtype = jnp.result_type(float)
    c = jnp.asarray(problem.student.coeffs).astype(dtype)
    cs = jnp.asarray(problem.teacher.coeffs).astype(dtype)
    return c, cs


def _factorials(size: int, dtype: Any) -> Array:
    return jnp.asarray(np.exp(special.gammaln(np.arange(size) + 1.0)), dtype)


def _powers(x: Array, degree: int) -> Array:
    """x**j, j = 0..degree, on a new last axis (smooth at x = 0).

    Repeated multiplication (degree is small and static) rather than
    ``cumprod``, which XLA lowers to a quadratic-cost window reduction.
    """
    out = [jnp.ones_like(x)]
    for _ in range(degree):
        out.append(out[-1] * x)
    return jnp.stack(out, axis=-1)


def _horner(coef: Array, x: Array) -> Array:
    """sum_j coef[j] x**j by Horner's rule (coef 1-D, static length)."""
    acc = jnp.broadcast_to(coef[-1], x.shape).astype(x.dtype)
    for j in range(coef.shape[0] - 2, -1, -1):
        acc = acc * x + coef[j]
    return acc


def _c0_vanishes(c: Array) -> bool:
    """Whether the student's c_0 is zero relative to its largest coefficient."""
    return abs(float(c[0])) <= 1e-12 * float(jnp.max(jnp.abs(c)))


def _lead(v: Array, ndim: int) -> Array:
    """Give a coefficient vector ``ndim`` leading unit axes (explicit broadcasting)."""
    return v.reshape((1,) * ndim + v.shape)


def _check_m(m: ArrayLike, *, name: str = "m") -> Array:
    arr = as_array(m, name=name, allow_empty=True).astype(jnp.result_type(float))
    if not is_traced(arr) and arr.size and float(jnp.max(jnp.abs(arr))) > 1.0:
        raise ValueError(
            f"{name} must satisfy |{name}| <= 1 (an alignment); got max "
            f"|{name}| = {float(jnp.max(jnp.abs(arr)))}."
        )
    return arr


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

        S_1 = \sum_k k\,k!\,c_k c^*_k m^{k-1}, \quad
        S_2 = \sum_k k\,k!\,c_k^2 m^{2k-1}, \quad
        T_1 = \sum_k k!\,c_k c^*_k m^k, \quad
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


# --------------------------------------------------------------------------- #
# Integration
# --------------------------------------------------------------------------- #


@pytree_dataclass
class FastSlowTrajectory:
    """A solution of the 2-D fast–slow ODE.

    Parameters
    ----------
    t : jax.Array of shape (T,)
        Times (fast units, ``t = k * lr_w``).
    m : jax.Array of shape (T,)
        Alignment.
    a : jax.Array of shape (T,)
        Second-layer weight.
    loss : jax.Array of shape (T,)
        Population loss along the path.

    See Also
    --------
    integrate : Produces it.
    measure_unlearning : Summarises it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 5)
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
    >>> traj = fast_slow.integrate(p, 0.01, 1.0, 5.0, method="rk4", n_steps=100,
    ...                            record_every=10)
    >>> traj.m.shape
    (11,)
    """

    t: Array
    m: Array
    a: Array
    loss: Array


@pytree_dataclass
class PopulationTrajectory:
    r"""A solution of the N-particle mean-field ODE.

    Parameters
    ----------
    t : jax.Array of shape (T,)
        Times.
    m : jax.Array of shape (T, N)
        Alignments of the particles.
    a : jax.Array of shape (T, N)
        Second-layer weights of the particles.
    F : jax.Array of shape (T, K + 1)
        Network Hermite coefficients :math:`F_k = c_k \\langle a m^k\\rangle`.
    loss : jax.Array of shape (T,)
        Population loss.

    See Also
    --------
    integrate_population : Produces it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 5)
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
    >>> traj = fast_slow.integrate_population(
    ...     p, jnp.full(3, 0.01), jnp.ones(3), 5.0, method="rk4", n_steps=100,
    ...     record_every=50)
    >>> traj.m.shape, traj.F.shape
    ((3, 3), (3, 6))
    """

    t: Array
    m: Array
    a: Array
    F: Array
    loss: Array


def _field_sa(t: Array, y: tuple[Array, Array], args: Any) -> tuple[Array, Array]:
    """The 2-D field in (s, a), s = artanh m: no (1 - m^2) boundary factor."""
    c, cs, eps = args
    s, a = y
    m = jnp.tanh(s)
    sums = _sums(c, cs, m)
    return -a * (a * sums.S2 - sums.S1), -eps * (a * sums.T2 - sums.T1)


def _population_terms(
    c: Array, cs: Array, m: Array, a: Array
) -> tuple[Array, Array, Array]:
    """Network coefficients F (K+1,), residual weights R, powers of m (N, K+1)."""
    size = c.shape[0]
    fact = _factorials(size, m.dtype)
    pw = _powers(m, size - 1)
    F = c * jnp.mean(a[:, None] * pw, axis=0)
    return F, fact * (F - cs), pw


def _population_field(
    t: Array, y: tuple[Array, Array], args: Any
) -> tuple[Array, Array]:
    c, cs, eps = args
    s, a = y
    m = jnp.tanh(s)
    _F, R, pw = _population_terms(c, cs, m, a)
    k = jnp.arange(c.shape[0], dtype=m.dtype)
    ds = -a * (pw[:, :-1] @ (k[1:] * c[1:] * R[1:]))
    da = -eps * (pw @ (c * R))
    return ds, da


def _check_horizon(t_max: Any) -> float:
    return check_scalar(t_max, name="t_max", lower=0.0, lower_inclusive=False)


def _check_m0(m0: Array, problem: FastSlowProblem, *, name: str) -> None:
    if is_traced(m0):
        return
    worst = float(jnp.max(jnp.abs(m0)))
    if worst > 1.0:
        raise ValueError(
            f"{name} must satisfy |{name}| < 1 (an alignment); got max "
            f"|{name}| = {worst}."
        )
    if worst == 1.0:
        raise ValueError(
            f"{name} must satisfy |{name}| < 1: the ODE is integrated in "
            f"artanh({name}), which is infinite at |{name}| = 1; use "
            f"{name} = 1 - 1e-12 instead."
        )
    c, cs = _coeffs(problem)
    concrete = not is_traced(c) and not is_traced(cs)
    if concrete and float(c[1] * cs[1]) == 0.0 and bool(jnp.any(m0 == 0.0)):
        raise ValueError(
            f"{name} must be nonzero when c_1 c*_1 = 0 (information exponent "
            f"> 1): m = 0 is then a fixed point and the alignment never "
            f"moves; got {name} with zero entries."
        )


def _default_t_eval(t_max: float) -> np.ndarray:
    lo = min(1e-2, t_max / 10.0)
    return np.concatenate([[0.0], np.geomspace(lo, t_max, 400)])


def _check_rk4_grid(t_max: float, n_steps: Any, record_every: Any) -> TimeGrid:
    n = check_scalar(n_steps, name="n_steps", kind=int, lower=1)
    r = check_scalar(record_every, name="record_every", kind=int, lower=1)
    if n % r != 0:
        raise ValueError(f"record_every must divide n_steps (={n}); got {r}.")
    return TimeGrid(t_max, n)


def _solve(
    field: Any,
    y0: tuple[Array, Array],
    args: Any,
    *,
    t_max: float,
    method: str,
    t_eval: Any,
    n_steps: int,
    record_every: int,
    rtol: float,
    atol: float,
) -> Trajectory:
    check_in(method, name="method", options=("lsoda", "radau", "bdf", "rk4"))
    if method == "rk4":
        grid = _check_rk4_grid(t_max, n_steps, record_every)
        return solve_ode(field, y0, grid=grid, args=args, record_every=record_every)
    rtol = check_scalar(rtol, name="rtol", lower=0.0, lower_inclusive=False)
    atol = check_scalar(atol, name="atol", lower=0.0, lower_inclusive=False)
    if t_eval is None:
        ts = _default_t_eval(t_max)
    else:
        ts = np.asarray(
            as_array(t_eval, name="t_eval", ndim=1, shape_hint="(T,)"), np.float64
        )
        if ts[0] != 0.0 or abs(ts[-1] - t_max) > 1e-12 * t_max:
            raise ValueError(
                f"t_eval must start at 0 and end at t_max (={t_max}); got "
                f"t_eval[0]={ts[0]}, t_eval[-1]={ts[-1]}."
            )
    return solve_ode_stiff(
        field,
        y0,
        ts=ts,
        method=_STIFF_METHODS[method],  # type: ignore[arg-type]
        rtol=rtol,
        atol=atol,
        args=args,
    )


def integrate(
    problem: FastSlowProblem,
    m0: ArrayLike,
    a0: ArrayLike,
    t_max: float,
    *,
    method: IntegrateMethod = "lsoda",
    t_eval: ArrayLike | None = None,
    n_steps: int = 4000,
    record_every: int = 10,
    rtol: float = 1e-9,
    atol: float = 1e-11,
) -> FastSlowTrajectory:
    r"""Integrate the 2-D fast–slow ODE from ``(m0, a0)`` up to ``t_max``.

    The state is integrated in :math:`s = \operatorname{artanh} m`, which
    removes the :math:`(1 - m^2)` boundary factor, so :math:`|m|` never
    overshoots 1 and the approach to the face :math:`m = \pm 1` is not stiff.
    The remaining stiffness as :math:`\varepsilon \to 0` (fast rate
    :math:`O(a^2 S_2)` against slow rate :math:`O(\varepsilon)`) is handled by
    the implicit, adaptive solvers (``"lsoda"``, ``"radau"``, ``"bdf"``:
    SciPy's, with a jitted :func:`jax.jacfwd` Jacobian, through
    :func:`mltheory.numerics.solve_ode_stiff`), which reach horizons of
    :math:`10^{10}`. ``"rk4"`` is fixed-step explicit RK4
    (:func:`mltheory.numerics.solve_ode`), jit- and vmap-able over the
    problem and the initial condition, for short horizons and parameter
    sweeps (stable while ``dt`` times the fast rate stays below about 2).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m0 : float
        Initial alignment, :math:`|m_0| < 1`; nonzero if :math:`c_1 c^*_1 = 0`.
    a0 : float
        Initial second-layer weight.
    t_max : float
        Horizon, > 0 (fast time units).
    method : {"lsoda", "radau", "bdf", "rk4"}, default="lsoda"
        Solver (see above).
    t_eval : array_like of shape (T,), optional
        Output times for the adaptive solvers, strictly increasing from 0 to
        ``t_max``; default 0 and 400 log-spaced times from
        ``min(1e-2, t_max / 10)`` to ``t_max``.
    n_steps : int, default=4000
        RK4 steps (``dt = t_max / n_steps``).
    record_every : int, default=10
        RK4 records every this many steps; must divide ``n_steps``.
    rtol : float, default=1e-9
        Relative tolerance of the adaptive solvers.
    atol : float, default=1e-11
        Absolute tolerance of the adaptive solvers.

    Returns
    -------
    FastSlowTrajectory
        Times, alignment, second-layer weight and loss.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If :math:`|m_0| \ge 1` (the message suggests ``1 - 1e-12`` for
        :math:`|m_0| = 1`), ``m0 = 0`` while :math:`c_1 c^*_1 = 0`, an input
        is not finite, ``t_max <= 0``, ``method`` is unknown, or
        ``record_every`` does not divide ``n_steps``.
    mltheory.exceptions.DivergenceError
        If an adaptive solver fails.

    See Also
    --------
    integrate_population : The N-particle version.
    predict_unlearning : The outcome, without time stepping.

    Notes
    -----
    .. math::

        \dot s = -a\,[a S_2(m) - S_1(m)], \quad
        \dot a = -\varepsilon\,[a T_2(m) - T_1(m)], \quad m = \tanh s.

    The loss is non-increasing along exact solutions (gradient-flow
    structure).

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> traj = fast_slow.integrate(p, 1e-3, 1.0, 30.0)
    >>> print(round(float(traj.m.max()), 3) > round(float(traj.m[-1]), 3))
    True
    """
    problem = _check_problem(problem)
    t_max = _check_horizon(t_max)
    dtype = jnp.result_type(float)
    m0_arr = as_array(m0, name="m0", ndim=0).astype(dtype)
    a0_arr = as_array(a0, name="a0", ndim=0).astype(dtype)
    _check_m0(m0_arr, problem, name="m0")
    c, cs = _coeffs(problem)
    eps = jnp.asarray(problem.eps, dtype)
    sol = _solve(
        _field_sa,
        (jnp.arctanh(m0_arr), a0_arr),
        (c, cs, eps),
        t_max=t_max,
        method=method,
        t_eval=t_eval,
        n_steps=n_steps,
        record_every=record_every,
        rtol=rtol,
        atol=atol,
    )
    m = jnp.tanh(sol.ys[0])
    a = sol.ys[1]
    nv = jnp.asarray(problem.noise_var, dtype)
    return FastSlowTrajectory(sol.ts, m, a, _loss(c, cs, nv, m, a))


def integrate_population(
    problem: FastSlowProblem,
    m0: ArrayLike,
    a0: ArrayLike,
    t_max: float,
    *,
    method: IntegrateMethod = "lsoda",
    t_eval: ArrayLike | None = None,
    n_steps: int = 4000,
    record_every: int = 10,
    rtol: float = 1e-9,
    atol: float = 1e-11,
) -> PopulationTrajectory:
    r"""Integrate the mean-field ODE of N particles :math:`(m_i, a_i)`.

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m0 : array_like of shape (N,)
        Initial alignments, :math:`|m_i| < 1`.
    a0 : array_like of shape (N,)
        Initial second-layer weights.
    t_max : float
        Horizon, > 0.
    method : {"lsoda", "radau", "bdf", "rk4"}, default="lsoda"
        Solver, as in :func:`integrate` (also integrated in
        :math:`s_i = \operatorname{artanh} m_i`).
    t_eval : array_like of shape (T,), optional
        Output times of the adaptive solvers, as in :func:`integrate`.
    n_steps : int, default=4000
        RK4 steps.
    record_every : int, default=10
        RK4 record interval; divides ``n_steps``.
    rtol : float, default=1e-9
        Relative tolerance of the adaptive solvers.
    atol : float, default=1e-11
        Absolute tolerance of the adaptive solvers.

    Returns
    -------
    PopulationTrajectory
        Times, particle states, network coefficients and loss.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m0``/``a0`` are not 1-D of the same shape, hold NaN/inf, or
        :math:`|m_i| \ge 1`, or for the bad options listed in
        :func:`integrate`.

    See Also
    --------
    integrate : The 2-D ODE (all particles equal).

    Notes
    -----
    With network coefficients :math:`F_k = c_k \langle a m^k\rangle` and
    residual weights :math:`R_k = k!\,(F_k - c^*_k)`,

    .. math::

        \dot m_i = -(1 - m_i^2)\,a_i \sum_{k \ge 1} k c_k m_i^{k-1} R_k,
        \qquad \dot a_i = -\varepsilon \sum_{k \ge 0} c_k m_i^k R_k .

    With identical particles it reduces to the 2-D ODE of :func:`integrate`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> p = fast_slow.FastSlowProblem(tanh, tanh, eps=0.1)
    >>> traj = fast_slow.integrate_population(
    ...     p, jnp.array([0.01, 0.02]), jnp.array([0.5, 1.5]), 10.0)
    >>> traj.m.shape
    (401, 2)
    """
    problem = _check_problem(problem)
    t_max = _check_horizon(t_max)
    dtype = jnp.result_type(float)
    m0_arr = as_array(m0, name="m0", ndim=1, shape_hint="(N,)").astype(dtype)
    a0_arr = as_array(a0, name="a0", ndim=1, shape_hint="(N,)").astype(dtype)
    if m0_arr.shape != a0_arr.shape:
        raise ValueError(
            f"m0 and a0 must have the same shape (N,); got {tuple(m0_arr.shape)} "
            f"and {tuple(a0_arr.shape)}."
        )
    _check_m0(m0_arr, problem, name="m0")
    c, cs = _coeffs(problem)
    eps = jnp.asarray(problem.eps, dtype)
    sol = _solve(
        _population_field,
        (jnp.arctanh(m0_arr), a0_arr),
        (c, cs, eps),
        t_max=t_max,
        method=method,
        t_eval=t_eval,
        n_steps=n_steps,
        record_every=record_every,
        rtol=rtol,
        atol=atol,
    )
    m = jnp.tanh(sol.ys[0])
    a = sol.ys[1]
    F, _R, _ = jax.vmap(lambda mm, aa: _population_terms(c, cs, mm, aa))(m, a)
    fact = _factorials(c.shape[0], dtype)
    loss = 0.5 * ((F - cs[None, :]) ** 2) @ fact + 0.5 * jnp.asarray(
        problem.noise_var, dtype
    )
    return PopulationTrajectory(sol.ts, m, a, F, loss)


# --------------------------------------------------------------------------- #
# Critical manifold, slow flow, equilibria
# --------------------------------------------------------------------------- #


def _branch(c: Array, cs: Array, m: Array) -> tuple[Array, Array, Array]:
    """A(m) = S1/S2, B(m) = T1/T2 and A'(m), elementwise."""

    def a_of(mm: Array) -> Array:
        s = _sums(c, cs, mm)
        return s.S1 / s.S2

    a_branch, a_prime = jax.jvp(a_of, (m,), (jnp.ones_like(m),))
    s = _sums(c, cs, m)
    return a_branch, s.T1 / s.T2, a_prime


def _branch_velocity(c: Array, cs: Array, m: Array) -> Array:
    r"""Slow velocity -dL/da on the branch a = A(m), without the k = 1 residual.

    On the branch dL/dm = 0 eliminates the k = 1 term exactly, which avoids
    the cancellation A T2 - T1 -> 0 of the two large terms as m -> 0.
    """
    size = c.shape[0]
    fact = _factorials(size, m.dtype)
    k = jnp.arange(size, dtype=m.dtype)
    s = _sums(c, cs, m)
    a = s.S1 / s.S2
    pw = _powers(m, size - 1)
    nd = m.ndim
    resid = a[..., None] * _lead(c, nd) * pw - _lead(cs, nd)  # a c_k m^k - c*_k
    # -dL/da = -c_0 (a c_0 - c*_0) + sum_{k>=2} (k-1) k! c_k m^k (...): the
    # (k - 1) factor gives exactly these signs and drops k = 1.
    terms = _lead((k - 1.0) * fact * c, nd) * pw * resid
    return jnp.sum(terms, axis=-1)


@pytree_dataclass
class CriticalManifold:
    r"""The interior branch of the critical manifold on a grid of alignments.

    Parameters
    ----------
    m : jax.Array of shape (G,)
        Grid of alignments in (0, 1).
    a_branch : jax.Array of shape (G,)
        :math:`A(m) = S_1/S_2`, where the fast flow stops.
    attracting : jax.Array of shape (G,), bool
        Whether the branch attracts the fast flow there.
    a_nullcline : jax.Array of shape (G,)
        :math:`B(m) = T_1/T_2`, the best second-layer weight at fixed ``m``.
    folds : jax.Array of shape (F,)
        Alignments of the fold points, where :math:`A'(m) = 0`.
    face_switch : jax.Array of shape ()
        :math:`A(1)`: the face :math:`m = 1` attracts for ``0 < a < A(1)``.

    See Also
    --------
    critical_manifold : Computes it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> cm = fast_slow.critical_manifold(fast_slow.FastSlowProblem(tanh, tanh, eps=0.1))
    >>> cm.m.shape
    (2001,)
    """

    m: Array
    a_branch: Array
    attracting: Array
    a_nullcline: Array
    folds: Array
    face_switch: Array


def critical_manifold(
    problem: FastSlowProblem, m_grid: ArrayLike | None = None
) -> CriticalManifold:
    r"""The critical manifold of the fast flow and its stability.

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m_grid : array_like of shape (G,), optional
        Alignments in (0, 1]; default 2001 points evenly spaced in
        ``[1e-3, 1]``.

    Returns
    -------
    CriticalManifold
        The branch :math:`A`, the nullcline :math:`B`, the stability mask, the
        folds and :math:`A(1)`.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m_grid`` is not 1-D, holds NaN/inf or values outside (0, 1].

    See Also
    --------
    slow_flow : The flow on the attracting branch.
    equilibria : Where the slow flow stops.

    Notes
    -----
    At :math:`\varepsilon = 0` the fast flow stops on
    :math:`\{m = \pm 1\} \cup \{a = 0\} \cup \{a = A(m)\}`. Linearising
    :math:`\dot s = -a(a S_2 - S_1)` at :math:`a = A(m)` gives the rate
    :math:`A S_2 A'`, so the branch is attracting (normally hyperbolic) where
    :math:`A(m) A'(m) < 0` (for :math:`a > 0`: where :math:`A` decreases) and
    repelling where it increases, with folds at :math:`A'(m) = 0`. The face
    :math:`m = 1` attracts while :math:`a` lies between 0 and :math:`A(1)`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> cm = fast_slow.critical_manifold(p)
    >>> bool(cm.attracting.all()), cm.folds.shape
    (True, (0,))
    """
    problem = _check_problem(problem)
    dtype = jnp.result_type(float)
    if m_grid is None:
        m = jnp.linspace(1e-3, 1.0, 2001, dtype=dtype)
    else:
        m = as_array(m_grid, name="m_grid", ndim=1, shape_hint="(G,)").astype(dtype)
        mn = np.asarray(m)
        if mn.min() <= 0.0 or mn.max() > 1.0:
            raise ValueError(
                f"m_grid must lie in (0, 1]; got values in [{mn.min()}, {mn.max()}]."
            )
    c, cs = _coeffs(problem)
    a_branch, a_null, a_prime = jax.jit(_branch)(c, cs, m)
    s2 = _sums_jit(c, cs, m).S2
    attracting = a_branch * s2 * a_prime < 0
    ap = np.asarray(a_prime)
    mn = np.asarray(m)
    idx = np.nonzero(np.sign(ap[1:]) != np.sign(ap[:-1]))[0]
    folds = [mn[i] - ap[i] * (mn[i + 1] - mn[i]) / (ap[i + 1] - ap[i]) for i in idx]
    face = _branch(c, cs, jnp.ones((), dtype))[0]
    return CriticalManifold(
        m, a_branch, attracting, a_null, jnp.asarray(folds, dtype), face
    )


@jax.jit
def _slow_flow_jit(c: Array, cs: Array, m: Array) -> tuple[Array, Array]:
    _, _, a_prime = _branch(c, cs, m)
    da = _branch_velocity(c, cs, m)
    return da / a_prime, da


def slow_flow(problem: FastSlowProblem, m: ArrayLike) -> tuple[Array, Array]:
    r"""Reduced slow flow on the branch :math:`a = A(m)` (vmappable).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m : array_like
        Alignments on the branch, :math:`0 < |m| \le 1`.

    Returns
    -------
    dm_dtau : jax.Array
        :math:`dm/d\tau = (da/d\tau) / A'(m)`.
    da_dtau : jax.Array
        :math:`da/d\tau = -(A T_2 - T_1)`, in slow time :math:`\tau = \varepsilon t`.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m`` holds NaN/inf or :math:`|m| > 1`.

    See Also
    --------
    critical_manifold : Where the branch attracts.

    Notes
    -----
    On the branch :math:`\partial_m L = 0`, which eliminates the
    :math:`k = 1` residual; with :math:`b = a m`,

    .. math::

        \partial_a L = c_0 (a c_0 - c^*_0) - m \sum_{k \ge 2} (k - 1)\,k!\,
        c_k m^{k-1} (b c_k m^{k-1} - c^*_k),

    which is evaluated in this form (no cancellation as :math:`m \to 0`).
    Only meaningful on the attracting part of the branch.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> dm, da = fast_slow.slow_flow(p, 0.5)
    >>> bool(dm < 0), bool(da > 0)  # a grows, the alignment decays
    (True, True)
    """
    problem = _check_problem(problem)
    c, cs = _coeffs(problem)
    return _slow_flow_jit(c, cs, _check_m(m))


@pytree_dataclass
class Equilibria:
    """Equilibria of the full fast–slow system with alignment in (0, 1].

    Parameters
    ----------
    m : jax.Array of shape (E,)
        Alignments of the interior equilibria (:math:`A(m) = B(m)`).
    a : jax.Array of shape (E,)
        Their second-layer weights.
    stable : jax.Array of shape (E,), bool
        Whether each is stable.
    boundary_a : jax.Array of shape ()
        :math:`B(1)`, the second-layer weight of the boundary equilibrium
        :math:`(1, B(1))`.
    boundary_stable : jax.Array of shape (), bool
        Whether the boundary equilibrium is stable.

    See Also
    --------
    equilibria : Computes them.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0, 0.0, -0.3]))
    >>> eq = fast_slow.equilibria(fast_slow.FastSlowProblem(tanh, teacher, eps=0.1))
    >>> bool(eq.boundary_stable), round(float(eq.boundary_a), 4)
    (True, 1.8136)
    """

    m: Array
    a: Array
    stable: Array
    boundary_a: Array
    boundary_stable: Array


def _between(x: Array, lo: Array, hi: Array) -> Array:
    return ((x - lo) * (hi - x)) > 0


def equilibria(problem: FastSlowProblem, *, n_grid: int = 4001) -> Equilibria:
    r"""Equilibria of the 2-D ODE with :math:`0 < m \le 1` and their stability.

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    n_grid : int, default=4001
        Grid points in (0, 1) on which sign changes of the slow velocity are
        located (each is then refined by Brent's method).

    Returns
    -------
    Equilibria
        Interior equilibria, their stability, and the boundary equilibrium.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``n_grid < 3``.

    See Also
    --------
    critical_manifold : The branch they lie on.
    predict_unlearning : Which equilibrium a trajectory reaches.

    Notes
    -----
    Interior equilibria solve :math:`A(m) = B(m)`, equivalently
    :math:`\partial_a L(m, A(m)) = 0`. One is stable iff it lies on the
    attracting branch and the slow velocity :math:`-\partial_a L` decreases
    through zero as :math:`a` increases along the branch. The boundary
    equilibrium :math:`(1, B(1))` is stable iff :math:`B(1)` lies strictly
    between 0 and :math:`A(1)` (for :math:`a > 0`: :math:`B(1) < A(1)`).
    Equilibria with :math:`m < 0` follow by the symmetry
    :math:`(m, a) \to (-m, -a)` of odd activations.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0, 0.0, -0.1]))
    >>> eq = fast_slow.equilibria(fast_slow.FastSlowProblem(tanh, teacher, eps=0.1))
    >>> eq.m.shape, bool(eq.stable[0])
    ((1,), True)
    """
    from scipy.optimize import brentq

    problem = _check_problem(problem)
    n_grid = check_scalar(n_grid, name="n_grid", kind=int, lower=3)
    c, cs = _coeffs(problem)
    dtype = jnp.result_type(float)
    m = np.linspace(0.0, 1.0, n_grid)[1:]
    velocity = jax.jit(_branch_velocity)
    v = np.asarray(velocity(c, cs, jnp.asarray(m, dtype)))
    idx = np.nonzero(np.sign(v[1:]) != np.sign(v[:-1]))[0]

    def v_scalar(x: float) -> float:
        return float(velocity(c, cs, jnp.asarray(x, dtype)))

    roots = [brentq(v_scalar, m[i], m[i + 1], xtol=1e-15, rtol=1e-14) for i in idx]
    m_eq = jnp.asarray(roots, dtype)
    a_eq, _, a_prime = jax.jit(_branch)(c, cs, m_eq)
    s2 = _sums_jit(c, cs, m_eq).S2
    attracting = a_eq * s2 * a_prime < 0
    dv_dm = jax.vmap(jax.grad(lambda x: _branch_velocity(c, cs, x)))(m_eq)
    stable = attracting & (dv_dm / a_prime < 0)
    one = jnp.ones((), dtype)
    a_face, b_face, _ = _branch(c, cs, one)
    boundary_stable = _between(b_face, jnp.zeros((), dtype), a_face)
    return Equilibria(m_eq, a_eq, stable, b_face, boundary_stable)


# --------------------------------------------------------------------------- #
# Unlearning: prediction without time stepping
# --------------------------------------------------------------------------- #


@pytree_dataclass
class UnlearningDiagnosis:
    r"""What :func:`predict_unlearning` predicts for one initial condition.

    Every field is an array (NaN stands for "none"), so diagnoses can be
    produced under :func:`jax.vmap`.

    Parameters
    ----------
    occurs : jax.Array of shape (), bool
        Whether the alignment decays on the slow time scale after the fast
        transient (feature unlearning).
    landing_m : jax.Array of shape ()
        Alignment reached by the fast flow at frozen :math:`a = a_0`.
    landing_a : jax.Array of shape ()
        :math:`a_0`.
    on_face : jax.Array of shape (), bool
        Whether the fast flow lands on the face :math:`m = \pm 1`.
    slow_velocity : jax.Array of shape ()
        :math:`-\partial_a L` at the landing point.
    threshold_a0 : jax.Array of shape ()
        Second-layer weight of the equilibrium reached; starting with
        :math:`a_0` at least this removes the non-monotonicity. NaN when
        the trajectory drifts to :math:`m \to 0`.
    final_m : jax.Array of shape ()
        Alignment of the final state (0 for a power-law drift).
    final_a : jax.Array of shape ()
        Second-layer weight of the final state (NaN: drifts to infinity).
    asymptotic_code : jax.Array of shape (), int
        0 ``"retained"`` (ends on the face), 1 ``"equilibrium"`` (an interior
        equilibrium), 2 ``"power_law"`` (drift to the linear/lazy regime).
    exponent_m : jax.Array of shape ()
        Power-law exponent of :math:`m(t)` (NaN unless ``"power_law"``).
    exponent_a : jax.Array of shape ()
        Power-law exponent of :math:`a(t)` (NaN unless ``"power_law"``).

    See Also
    --------
    predict_unlearning : Produces it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> fast_slow.predict_unlearning(p, 1.0).asymptotic
    'power_law'
    """

    occurs: Array
    landing_m: Array
    landing_a: Array
    on_face: Array
    slow_velocity: Array
    threshold_a0: Array
    final_m: Array
    final_a: Array
    asymptotic_code: Array
    exponent_m: Array
    exponent_a: Array

    @property
    def asymptotic(self) -> str:
        """The asymptotic regime as a word (unbatched diagnoses only).

        Examples
        --------
        >>> from mltheory import numerics
        >>> from mltheory.dynamics import fast_slow
        >>> tanh = numerics.activation_series("tanh", 9)
        >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0, 0.0, -0.3]))
        >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
        >>> fast_slow.predict_unlearning(p, 0.5).asymptotic
        'retained'
        """
        code = np.asarray(self.asymptotic_code)
        if code.ndim:
            raise ValueError(
                "asymptotic is defined for a single diagnosis; use "
                f"asymptotic_code for a batch (got shape {code.shape})."
            )
        return _ASYMPTOTIC[int(code)]


def _first_root(fn: Any, start: Array, end: Array, sign0: Array) -> tuple[Array, Array]:
    """First point on the segment start -> end where sign0 * fn changes sign.

    Returns (found, root); the root is refined by bisection. The end point
    itself is excluded from the scan.
    """
    j = jnp.arange(_SCAN_POINTS + 1, dtype=start.dtype) / _SCAN_POINTS
    pts = start + (end - start) * j
    vals = sign0 * fn(pts)
    stop = vals[1:-1] <= 0
    found = jnp.any(stop)
    idx = jnp.argmax(stop) + 1

    def bisect(_: int, lohi: tuple[Array, Array]) -> tuple[Array, Array]:
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        go_right = sign0 * fn(mid) > 0
        return jnp.where(go_right, mid, lo), jnp.where(go_right, hi, mid)

    lo, hi = lax.fori_loop(0, _BISECTION_STEPS, bisect, (pts[idx - 1], pts[idx]))
    return found, 0.5 * (lo + hi)


def _leading_degree(c: Array) -> Array:
    """Smallest k >= 2 with c_k != 0 (relative to the largest coefficient)."""
    scale = jnp.max(jnp.abs(c))
    nonzero = jnp.abs(c[2:]) > 1e-12 * scale
    return jnp.where(jnp.any(nonzero), jnp.argmax(nonzero) + 2, 0)


def _power_law_exponents(c: Array, cs: Array) -> tuple[Array, Array]:
    p = _leading_degree(c)
    cp, csp = c[p], cs[p]
    scale = jnp.max(jnp.abs(cs))
    absent = jnp.abs(csp) <= 1e-12 * scale
    pf = p.astype(c.dtype)
    exp_a = jnp.where(absent, 1.0 / (2.0 * pf), 1.0 / (pf + 1.0))
    exp_a = jnp.where((cp * csp > 0) & ~absent, jnp.nan, exp_a)
    return -exp_a, exp_a


@jax.jit
def _predict(c: Array, cs: Array, a0: Array, m0: Array) -> UnlearningDiagnosis:
    dtype = a0.dtype
    zero = jnp.zeros((), dtype)
    nan = jnp.full((), jnp.nan, dtype)

    def fast_velocity(m: Array) -> Array:
        s = _sums(c, cs, m)
        return -a0 * (a0 * s.S2 - s.S1)

    # 1. Fast landing at frozen a = a0.
    v0 = fast_velocity(m0)
    fallback = jnp.where(m0 >= 0, 1.0, -1.0).astype(dtype)
    d = jnp.where(v0 == 0, fallback, jnp.sign(v0))
    found, m_root = _first_root(fast_velocity, m0, d, d)
    on_face = ~found
    m_land = jnp.where(found, m_root, d)

    # 2. Direction of the slow flow at landing.
    s_land = _sums(c, cs, m_land)
    slow_v = -(a0 * s_land.T2 - s_land.T1)
    a_face, b_face, _ = _branch(c, cs, d)
    face_occurs = ~_between(b_face, zero, a_face)
    _, _, a_prime = _branch(c, cs, m_land)
    interior_occurs = m_land * slow_v / a_prime < 0
    occurs = jnp.where(on_face, face_occurs, interior_occurs)

    # 3. Where the slide along the branch stops.
    def branch_v(m: Array) -> Array:
        return _branch_velocity(c, cs, m)

    start = jnp.where(on_face, d, m_land)
    end = jnp.where(occurs, zero, d)
    sign0 = jnp.sign(branch_v(start))
    sign0 = jnp.where(sign0 == 0, 1.0, sign0)
    slid, m_eq = _first_root(branch_v, start, end, sign0)
    moves = occurs | ~on_face
    eq_reached = moves & slid
    drift = occurs & ~slid
    a_eq = _branch(c, cs, m_eq)[0]
    final_m = jnp.where(eq_reached, m_eq, jnp.where(drift, zero, d))
    final_a = jnp.where(eq_reached, a_eq, jnp.where(drift, nan, b_face))
    code = jnp.where(eq_reached, 1, jnp.where(drift, 2, 0))
    exp_m, exp_a = _power_law_exponents(c, cs)
    return UnlearningDiagnosis(
        occurs=occurs,
        landing_m=m_land,
        landing_a=a0,
        on_face=on_face,
        slow_velocity=slow_v,
        threshold_a0=final_a,
        final_m=final_m,
        final_a=final_a,
        asymptotic_code=code,
        exponent_m=jnp.where(drift, exp_m, nan),
        exponent_a=jnp.where(drift, exp_a, nan),
    )


def predict_unlearning(
    problem: FastSlowProblem, a0: ArrayLike, m0: ArrayLike | None = None
) -> UnlearningDiagnosis:
    r"""Predict feature unlearning from the fast–slow geometry (vmappable).

    No time stepping: the fast landing point and the stopping point of the
    slow slide are roots, located on a 2048-point scan and refined by
    bisection to machine precision.

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    a0 : float
        Initial second-layer weight, nonzero when :math:`c_0 = 0`.
    m0 : float, optional
        Initial alignment, :math:`|m_0| < 1`; default
        :math:`\operatorname{sign}(a_0 c_1 c^*_1) \cdot 10^{-3}`.

    Returns
    -------
    UnlearningDiagnosis
        Whether unlearning occurs, the landing point, the slow velocity there,
        the final state and the asymptotic regime.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``a0 = 0`` while :math:`c_0 = 0` (``"a0 = 0 is a fixed point"``),
        ``a0``/``m0`` are not finite, or :math:`|m_0| \ge 1`.

    See Also
    --------
    integrate : The trajectory itself (to check a prediction).
    measure_unlearning : Unlearning measured on a trajectory.
    critical_strength : The threshold on the teacher's nonlinear term.

    Notes
    -----
    1. *Fast landing.* With :math:`a = a_0` frozen, the layer-1 flow from
       :math:`m_0` stops at the first zero of :math:`a_0 (a_0 S_2 - S_1)` in
       its direction of motion (an attracting point :math:`A(m) = a_0` of
       the branch), or at the face :math:`m = \pm 1` if there is none.
    2. *Slow direction.* On the branch, unlearning iff the slow flow moves
       :math:`|m|` down: :math:`m\,(-\partial_a L)/A'(m) < 0` (for
       :math:`a_0 > 0`: :math:`a_0 < B(m)`). On the face :math:`m = 1`,
       unlearning iff :math:`a` relaxes towards :math:`B(1)` through the
       loss-of-stability point :math:`A(1)`, i.e. iff :math:`B(1)` does not
       lie strictly between 0 and :math:`A(1)` (for :math:`a_0 > 0`:
       :math:`B(1) > A(1)`).
    3. *Asymptotics.* The slide along the branch stops at the first zero of
       the slow velocity (a stable equilibrium :math:`A = B`); if there is
       none, :math:`m \to 0` and :math:`a \to \infty` by the power laws of
       :func:`scaling_law`.

    It assumes the branch stays attracting between landing and the
    equilibrium (no fold; see :func:`critical_manifold`).

    References
    ----------
    .. [1] S. Imai, S. Nishiyama and M. Imaizumi, "Dichotomy of Feature
       Learning and Unlearning: Fast-Slow Analysis on Neural Networks with
       Stochastic Gradient Descent", arXiv:2602.07378, 2026.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> d = fast_slow.predict_unlearning(p, 1.0)
    >>> bool(d.occurs), bool(d.on_face), round(float(d.exponent_m), 4)
    (True, True, -0.1667)
    """
    problem = _check_problem(problem)
    dtype = jnp.result_type(float)
    c, cs = _coeffs(problem)
    a0_arr = as_array(a0, name="a0", ndim=0).astype(dtype)
    if m0 is None:
        sign = jnp.sign(a0_arr * c[1] * cs[1])
        m0_arr = jnp.where(sign == 0, 1.0, sign).astype(dtype) * 1e-3
    else:
        m0_arr = as_array(m0, name="m0", ndim=0).astype(dtype)
        _check_m0(m0_arr, problem, name="m0")
    concrete = not (is_traced(a0_arr) or is_traced(c))
    if concrete and float(a0_arr) == 0.0 and _c0_vanishes(c):
        raise ValueError(
            "a0 = 0 is a fixed point of the dynamics when c_0 = 0 (the "
            "first layer gets no gradient); got a0=0.0."
        )
    return _predict(c, cs, a0_arr, m0_arr)


def _leading_degree_host(c: np.ndarray) -> int | None:
    scale = float(np.max(np.abs(c)))
    for k in range(2, c.shape[0]):
        if abs(float(c[k])) > 1e-12 * scale:
            return k
    return None


def critical_strength(
    student: HermiteSeries, teacher_base: HermiteSeries, k: int | None = None
) -> float:
    r"""Teacher strength :math:`c^*_k` at which unlearning from the face sets in.

    Parameters
    ----------
    student : HermiteSeries
        The student activation.
    teacher_base : HermiteSeries
        The teacher; its coefficient :math:`c^*_k` is replaced by the unknown.
    k : int, optional
        The Hermite degree varied; default the student's leading nonlinear
        degree :math:`p` (smallest :math:`k \ge 2` with :math:`c_k \ne 0`).

    Returns
    -------
    float
        The root of :math:`B(1) = A(1)` in :math:`c^*_k`. For :math:`a_0 <
        A(1)` (landing on the face) unlearning occurs on the side where
        :math:`B(1) > A(1)`.

    Raises
    ------
    TypeError
        If a series is not a :class:`HermiteSeries` or ``k`` not an integer.
    ValueError
        If ``k`` is not in ``[1, K]``, :math:`c_k = 0`, or :math:`B(1) - A(1)`
        does not depend on :math:`c^*_k` (no threshold).

    See Also
    --------
    predict_unlearning : The criterion at one point.
    phase_diagram : The criterion on a grid.

    Notes
    -----
    :math:`S_1(1)` and :math:`T_1(1)` are linear in :math:`c^*_k`, so with
    :math:`S_1^0, T_1^0` computed with :math:`c^*_k = 0`,

    .. math::

        c^*_{k,\mathrm{crit}} = \frac{S_1^0/S_2 - T_1^0/T_2}
        {k!\,c_k\,(1/T_2 - k/S_2)}, \qquad S_2, T_2 \text{ at } m = 1 .

    Sign caveat: "a stronger nonlinear term induces unlearning" holds in the
    direction of decreasing :math:`c_k c^*_k` (teacher's term opposite in sign
    to the student's, or weaker).

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> mu_c = fast_slow.critical_strength(tanh, teacher)
    >>> print(round(mu_c, 4))
    -0.1575
    """
    problem = FastSlowProblem(student, teacher_base, eps=1.0)
    c, cs = (np.asarray(x, np.float64) for x in _coeffs(problem))
    if k is None:
        k_found = _leading_degree_host(c)
        if k_found is None:
            raise ValueError(
                "student has no nonlinear Hermite term (c_k = 0 for all k >= 2); "
                "there is no unlearning threshold."
            )
        k = k_found
    k = check_scalar(k, name="k", kind=int, lower=1, upper=c.shape[0] - 1)
    if c[k] == 0.0:
        raise ValueError(f"the student coefficient c_{k} must be nonzero; got 0.0.")
    cs0 = cs.copy()
    cs0[k] = 0.0
    one = jnp.ones(())
    s = _sums_jit(jnp.asarray(c), jnp.asarray(cs0), one)
    s1, s2, t1, t2 = (float(x) for x in (s.S1, s.S2, s.T1, s.T2))
    fact = math.factorial(k)
    denom = fact * c[k] * (1.0 / t2 - k / s2)
    if denom == 0.0:
        raise ValueError(
            f"B(1) - A(1) does not depend on c*_{k}: no threshold in this degree."
        )
    return float((s1 / s2 - t1 / t2) / denom)


# --------------------------------------------------------------------------- #
# Scaling laws and trajectory measures
# --------------------------------------------------------------------------- #


@pytree_dataclass
class ScalingLaw:
    r"""Power laws of the drift to the linear (lazy) regime.

    Parameters
    ----------
    p : int
        Leading nonlinear Hermite degree of the student (static).
    regime : str
        ``"opposed"`` (:math:`c_p c^*_p < 0`), ``"absent"``
        (:math:`c^*_p = 0`) or ``"equilibrium"`` (no drift), static.
    b_star : jax.Array of shape ()
        :math:`b^* = c^*_1 / c_1`, the limit of :math:`a m`.
    exponent_a : jax.Array of shape ()
        :math:`a(t) \propto t^{\text{exponent\_a}}` (NaN without drift).
    exponent_m : jax.Array of shape ()
        :math:`m(t) \propto t^{\text{exponent\_m}}`.
    prefactor_a : jax.Array of shape ()
        :math:`a(t) \simeq \text{prefactor\_a}\; t^{\text{exponent\_a}}`.
    prefactor_m : jax.Array of shape ()
        :math:`m(t) \simeq \text{prefactor\_m}\; t^{\text{exponent\_m}}`.

    See Also
    --------
    scaling_law : Computes it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> law = fast_slow.scaling_law(fast_slow.FastSlowProblem(s, teacher, eps=0.01))
    >>> law.regime, round(float(law.exponent_a), 4)
    ('absent', 0.1667)
    """

    b_star: Array
    exponent_a: Array
    exponent_m: Array
    prefactor_a: Array
    prefactor_m: Array
    p: int = static_field()
    regime: str = static_field()


def scaling_law(problem: FastSlowProblem) -> ScalingLaw:
    r"""Closed-form power laws of complete unlearning (exponents and prefactors).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem (concrete, not traced).

    Returns
    -------
    ScalingLaw
        The regime, exponents and prefactors (NaN when there is no drift).

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If :math:`c_1 = 0` or :math:`c^*_1 = 0` (:math:`b^*` undefined), or
        the student has no nonlinear term.

    See Also
    --------
    fit_power_law : Measures the exponents on a trajectory.
    predict_unlearning : Whether the drift happens for a given start.

    Notes
    -----
    Along the drift :math:`a m \to b^* = c^*_1/c_1` and, keeping the leading
    :math:`k = p` term of the slow flow,

    * :math:`c_p c^*_p < 0`: :math:`a(t) \simeq [(p+1)(p-1)\,p!\,|c_p c^*_p|\,
      |b^*|^p\,\varepsilon t]^{1/(p+1)}`;
    * :math:`c^*_p = 0`: :math:`a(t) \simeq [2p(p-1)\,p!\,c_p^2\,
      |b^*|^{2p}\,\varepsilon t]^{1/(2p)}`;
    * :math:`c_p c^*_p > 0`, or :math:`c_0 \ne 0` (the :math:`k = 0`
      residual pins :math:`a`): no drift, ``regime="equilibrium"``.

    In each drift case :math:`m(t) \simeq b^*/a(t)`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0, 3: 0.3}, degree=9)
    >>> law = fast_slow.scaling_law(fast_slow.FastSlowProblem(tanh, teacher, eps=0.01))
    >>> law.regime, law.p, round(float(law.exponent_m), 4)
    ('opposed', 3, -0.25)
    """
    problem = _check_problem(problem)
    c, cs = (np.asarray(x, np.float64) for x in _coeffs(problem))
    eps = float(problem.eps)
    if c[1] == 0.0 or cs[1] == 0.0:
        raise ValueError(
            "scaling_law needs c_1 != 0 and c*_1 != 0 (b* = c*_1 / c_1 is "
            f"undefined otherwise); got c_1={c[1]}, c*_1={cs[1]}."
        )
    p = _leading_degree_host(c)
    if p is None:
        raise ValueError(
            "student has no nonlinear Hermite term (c_k = 0 for all k >= 2): the "
            "linear problem has no unlearning drift."
        )
    b_star = cs[1] / c[1]
    scale_c = float(np.max(np.abs(c)))
    scale_t = float(np.max(np.abs(cs)))
    fact = math.factorial(p)
    nan = float("nan")
    if abs(c[0]) > 1e-12 * scale_c or (
        c[p] * cs[p] > 0 and abs(cs[p]) > 1e-12 * scale_t
    ):
        regime, exp_a, pref = "equilibrium", nan, nan
    elif abs(cs[p]) <= 1e-12 * scale_t:
        regime = "absent"
        exp_a = 1.0 / (2 * p)
        rate = 2 * p * (p - 1) * fact * c[p] ** 2 * abs(b_star) ** (2 * p) * eps
        pref = rate**exp_a
    else:
        regime = "opposed"
        exp_a = 1.0 / (p + 1)
        rate = (p + 1) * (p - 1) * fact * abs(c[p] * cs[p]) * abs(b_star) ** p * eps
        pref = rate**exp_a
    dtype = jnp.result_type(float)
    return ScalingLaw(
        b_star=jnp.asarray(b_star, dtype),
        exponent_a=jnp.asarray(exp_a, dtype),
        exponent_m=jnp.asarray(-exp_a, dtype),
        prefactor_a=jnp.asarray(pref, dtype),
        prefactor_m=jnp.asarray(b_star / pref, dtype),
        p=p,
        regime=regime,
    )


@pytree_dataclass
class PowerLawFit:
    r"""A least-squares fit :math:`y \\simeq C t^{\\alpha}` in log-log scale.

    Parameters
    ----------
    exponent : jax.Array of shape ()
        :math:`\\alpha`.
    prefactor : jax.Array of shape ()
        :math:`C`.
    r2 : jax.Array of shape ()
        Coefficient of determination of the log-log fit.

    See Also
    --------
    fit_power_law : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import fast_slow
    >>> t = jnp.geomspace(1.0, 1e4, 50)
    >>> fit = fast_slow.fit_power_law(t, 3.0 * t**0.25, 1.0)
    >>> print(round(float(fit.exponent), 6), round(float(fit.prefactor), 6))
    0.25 3.0
    """

    exponent: Array
    prefactor: Array
    r2: Array


@jax.jit
def _fit(t: Array, y: Array, t_min: Array, t_max: Array) -> PowerLawFit:
    w = ((t >= t_min) & (t <= t_max)).astype(t.dtype)
    lx = jnp.log(jnp.where(w > 0, t, 1.0))
    ly = jnp.log(jnp.where(w > 0, jnp.abs(y), 1.0))
    n = jnp.sum(w)
    mx = jnp.sum(w * lx) / n
    my = jnp.sum(w * ly) / n
    sxx = jnp.sum(w * (lx - mx) ** 2)
    sxy = jnp.sum(w * (lx - mx) * (ly - my))
    syy = jnp.sum(w * (ly - my) ** 2)
    slope = sxy / sxx
    resid = jnp.sum(w * (ly - my - slope * (lx - mx)) ** 2)
    return PowerLawFit(slope, jnp.exp(my - slope * mx), 1.0 - resid / syy)


def fit_power_law(
    t: ArrayLike, y: ArrayLike, t_min: float, t_max: float | None = None
) -> PowerLawFit:
    r"""Fit :math:`|y| \simeq C t^\alpha` by log-log least squares on a window.

    Parameters
    ----------
    t : array_like of shape (T,)
        Positive times.
    y : array_like of shape (T,)
        Values; their absolute values must be positive in the window.
    t_min : float
        Start of the fit window, > 0.
    t_max : float, optional
        End of the window; default ``t[-1]``.

    Returns
    -------
    PowerLawFit
        Exponent, prefactor and :math:`R^2`.

    Raises
    ------
    ValueError
        If ``t``/``y`` are not 1-D of the same shape or hold NaN/inf,
        ``t_min <= 0``, ``t_max <= t_min``, or fewer than 2 points fall in the
        window.

    See Also
    --------
    scaling_law : The predicted exponents.

    Notes
    -----
    Ordinary least squares of :math:`\log|y|` on :math:`\log t`; on a log
    time grid the points are evenly weighted in :math:`\log t`.

    Examples
    --------
    >>> from mltheory.dynamics import fast_slow
    >>> t = jnp.geomspace(1.0, 1e6, 100)
    >>> fit = fast_slow.fit_power_law(t, t ** -0.5, 10.0, 1e5)
    >>> print(round(float(fit.exponent), 6), round(float(fit.r2), 6))
    -0.5 1.0
    """
    t_arr = as_array(t, name="t", ndim=1, shape_hint="(T,)")
    y_arr = as_array(y, name="y", ndim=1, shape_hint="(T,)")
    if t_arr.shape != y_arr.shape:
        raise ValueError(
            f"t and y must have the same shape; got {tuple(t_arr.shape)} and "
            f"{tuple(y_arr.shape)}."
        )
    t_min = check_scalar(t_min, name="t_min", lower=0.0, lower_inclusive=False)
    if t_max is None:
        t_max = float(t_arr[-1])
    t_max = check_scalar(t_max, name="t_max", lower=t_min, lower_inclusive=False)
    n_in = int(jnp.sum((t_arr >= t_min) & (t_arr <= t_max)))
    if n_in < 2:
        raise ValueError(
            f"at least 2 points of t must lie in [t_min, t_max] = [{t_min}, {t_max}]; "
            f"got {n_in}."
        )
    dtype = jnp.result_type(t_arr, y_arr, float)
    return _fit(
        t_arr.astype(dtype),
        y_arr.astype(dtype),
        jnp.asarray(t_min, dtype),
        jnp.asarray(t_max, dtype),
    )


@pytree_dataclass
class UnlearningStats:
    """Unlearning measured on an alignment trajectory.

    Parameters
    ----------
    peak_m : jax.Array of shape ()
        Largest :math:`|m|`.
    t_peak : jax.Array of shape ()
        Time of the peak.
    final_m : jax.Array of shape ()
        Final :math:`|m|`.
    drop : jax.Array of shape ()
        ``peak_m - final_m`` (0 for a non-decreasing alignment).
    unlearned : jax.Array of shape (), bool
        ``drop > tol``.

    See Also
    --------
    measure_unlearning : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import fast_slow
    >>> m = jnp.array([0.0, 0.9, 0.5, 0.4])
    >>> st = fast_slow.measure_unlearning(jnp.arange(4.0), m)
    >>> print(round(float(st.drop), 6), bool(st.unlearned))
    0.5 True
    """

    peak_m: Array
    t_peak: Array
    final_m: Array
    drop: Array
    unlearned: Array


@jax.jit
def _measure(t: Array, m: Array, tol: Array) -> UnlearningStats:
    absm = jnp.abs(m)
    i = jnp.argmax(absm, axis=-1)
    peak = jnp.max(absm, axis=-1)
    final = absm[..., -1]
    drop = peak - final
    return UnlearningStats(peak, t[i], final, drop, drop > tol)


def measure_unlearning(
    t: ArrayLike, m: ArrayLike, *, tol: float = 1e-3
) -> UnlearningStats:
    r"""Measure unlearning on a trajectory: peak, final alignment and drop.

    Parameters
    ----------
    t : array_like of shape (T,)
        Times.
    m : array_like of shape (T,)
        Alignment along the trajectory (any source: :func:`integrate`, a
        finite-width simulation's mean alignment, ...).
    tol : float, default=1e-3
        ``unlearned`` is ``drop > tol``; >= 0.

    Returns
    -------
    UnlearningStats
        Peak :math:`|m|`, its time, final :math:`|m|`, the drop and the flag.

    Raises
    ------
    ValueError
        If ``t``/``m`` are not 1-D of the same shape, hold NaN/inf, or
        ``tol < 0``.

    See Also
    --------
    predict_unlearning : The prediction to compare with.

    Notes
    -----
    Feature unlearning is a non-monotone alignment: the drop
    :math:`\\max_t |m(t)| - |m(t_{\\mathrm{end}})|` is positive. The verdict
    depends on the horizon: the slow decay takes times of order
    :math:`1/\\varepsilon`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> traj = fast_slow.integrate(p, 1e-3, 1.0, 100.0)
    >>> bool(fast_slow.measure_unlearning(traj.t, traj.m).unlearned)
    True
    """
    t_arr = as_array(t, name="t", ndim=1, shape_hint="(T,)")
    m_arr = as_array(m, name="m", ndim=1, shape_hint="(T,)")
    if t_arr.shape != m_arr.shape:
        raise ValueError(
            f"t and m must have the same shape; got {tuple(t_arr.shape)} and "
            f"{tuple(m_arr.shape)}."
        )
    tol = check_scalar(tol, name="tol", lower=0.0)
    dtype = jnp.result_type(t_arr, m_arr)
    return _measure(t_arr.astype(dtype), m_arr.astype(dtype), jnp.asarray(tol, dtype))


# --------------------------------------------------------------------------- #
# Phase diagram over (teacher strength, initial scale)
# --------------------------------------------------------------------------- #


@pytree_dataclass
class PhaseDiagram:
    r"""Unlearning over a grid of teacher strengths and initial scales.

    Parameters
    ----------
    strengths : jax.Array of shape (S,)
        Values of :math:`c^*_k`.
    a0s : jax.Array of shape (A,)
        Initial second-layer weights.
    predicted : jax.Array of shape (S, A), bool
        :func:`predict_unlearning` on each point.
    drop : jax.Array of shape (S, A)
        Alignment drop of the RK4 trajectory to ``t_max`` (NaN if not
        simulated).
    critical_strength : jax.Array of shape ()
        The face threshold of :func:`critical_strength`.
    k : int
        The Hermite degree varied (static).

    See Also
    --------
    phase_diagram : Computes it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 7)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=7)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> pd = fast_slow.phase_diagram(p, jnp.linspace(-0.3, 0.3, 4),
    ...                              jnp.array([0.5, 1.0]), n_steps=2000)
    >>> print(np.asarray(pd.predicted[:, 0]))
    [False  True  True  True]
    """

    strengths: Array
    a0s: Array
    predicted: Array
    drop: Array
    critical_strength: Array
    k: int = static_field()


@functools.partial(jax.jit, static_argnames=("k", "grid", "simulate"))
def _phase_jit(
    c: Array,
    cs: Array,
    eps: Array,
    strengths: Array,
    a0s: Array,
    m0: Array,
    *,
    k: int,
    grid: TimeGrid,
    simulate: bool,
) -> tuple[Array, Array]:
    def one(mu: Array, a0: Array) -> tuple[Array, Array]:
        cs_mu = cs.at[k].set(mu)
        m_start = m0 * jnp.where(a0 * c[1] * cs_mu[1] < 0, -1.0, 1.0)
        pred = _predict(c, cs_mu, a0, m_start).occurs
        if not simulate:
            return pred, jnp.full((), jnp.nan, a0.dtype)
        sol = solve_ode(
            _field_sa,
            (jnp.arctanh(m_start), a0),
            grid=grid,
            args=(c, cs_mu, eps),
            record_every=grid.n_steps // 400 if grid.n_steps % 400 == 0 else 1,
        )
        absm = jnp.abs(jnp.tanh(sol.ys[0]))
        return pred, jnp.max(absm) - absm[-1]

    over_a0 = jax.vmap(one, in_axes=(None, 0))
    return jax.vmap(over_a0, in_axes=(0, None))(strengths, a0s)


def phase_diagram(
    problem: FastSlowProblem,
    strengths: ArrayLike,
    a0s: ArrayLike,
    *,
    k: int | None = None,
    simulate: bool = True,
    t_max: float = 200.0,
    n_steps: int = 4000,
    m0: float = 1e-3,
) -> PhaseDiagram:
    r"""Predicted (and simulated) unlearning over a grid of :math:`(c^*_k, a_0)`.

    The whole grid is one jitted :func:`jax.vmap`: :func:`predict_unlearning`
    at every point and, with ``simulate=True``, the alignment drop of the
    RK4-integrated 2-D ODE (in :math:`s = \operatorname{artanh} m`).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem; its teacher coefficient :math:`c^*_k` is replaced by each
        strength.
    strengths : array_like of shape (S,)
        Teacher strengths :math:`c^*_k`.
    a0s : array_like of shape (A,)
        Initial second-layer weights, nonzero when :math:`c_0 = 0`.
    k : int, optional
        Hermite degree varied; default the student's leading nonlinear degree.
    simulate : bool, default=True
        Also integrate every point (RK4, ``n_steps`` steps to ``t_max``).
    t_max : float, default=200.0
        Horizon of the simulations (slow decay needs :math:`t \gg
        1/\varepsilon`).
    n_steps : int, default=4000
        RK4 steps; ``t_max / n_steps`` must resolve the fast rate.
    m0 : float, default=1e-3
        Initial :math:`|m|`, its sign that of :math:`a_0 c_1 c^*_1`.

    Returns
    -------
    PhaseDiagram
        Predicted flags, simulated drops and the face threshold.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If an input is not 1-D/finite, ``k`` is out of range, an ``a0`` is 0
        while :math:`c_0 = 0`, ``t_max <= 0``, or :math:`m_0 \notin (0, 1)`.

    See Also
    --------
    predict_unlearning : One point.
    critical_strength : The boundary for :math:`a_0 < A(1)`.

    Notes
    -----
    The predicted boundary is vertical, :math:`c^*_k = ` ``critical_strength``,
    for :math:`a_0 < A(1)` (landing on the face); for larger :math:`a_0` the
    landing is on the branch and the boundary bends (a larger :math:`a_0`
    mitigates unlearning).

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 7)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=7)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> pd = fast_slow.phase_diagram(p, jnp.linspace(-0.3, 0.3, 4),
    ...                              jnp.array([0.5, 1.0]), n_steps=2000)
    >>> pd.drop.shape
    (4, 2)
    """
    problem = _check_problem(problem)
    dtype = jnp.result_type(float)
    c, cs = _coeffs(problem)
    mus = as_array(strengths, name="strengths", ndim=1, shape_hint="(S,)").astype(dtype)
    a0_arr = as_array(a0s, name="a0s", ndim=1, shape_hint="(A,)").astype(dtype)
    if k is None:
        k_found = _leading_degree_host(np.asarray(c))
        if k_found is None:
            raise ValueError(
                "student has no nonlinear Hermite term; pass k explicitly."
            )
        k = k_found
    k = check_scalar(k, name="k", kind=int, lower=1, upper=c.shape[0] - 1)
    m0 = check_scalar(
        m0,
        name="m0",
        lower=0.0,
        upper=1.0,
        lower_inclusive=False,
        upper_inclusive=False,
    )
    if _c0_vanishes(c) and bool(jnp.any(a0_arr == 0.0)):
        raise ValueError(
            "a0 = 0 is a fixed point of the dynamics when c_0 = 0; got a0s with "
            "zero entries."
        )
    t_max = _check_horizon(t_max)
    grid = _check_rk4_grid(t_max, n_steps, 1)
    predicted, drop = _phase_jit(
        c,
        cs,
        jnp.asarray(problem.eps, dtype),
        mus,
        a0_arr,
        jnp.asarray(m0, dtype),
        k=k,
        grid=grid,
        simulate=bool(simulate),
    )
    try:
        crit = critical_strength(problem.student, problem.teacher, k)
    except ValueError:
        crit = float("nan")
    return PhaseDiagram(mus, a0_arr, predicted, drop, jnp.asarray(crit, dtype), k)

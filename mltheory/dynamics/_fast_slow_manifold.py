"""The critical manifold, the slow flow and the equilibria.

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_scalar,
)
from mltheory.dynamics._fast_slow_field import _sums, _sums_jit
from mltheory.dynamics._fast_slow_problem import (
    FastSlowProblem,
    _check_m,
    _check_problem,
    _coeffs,
    _factorials,
    _lead,
    _powers,
)

__all__: list[str] = []


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

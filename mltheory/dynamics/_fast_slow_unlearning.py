"""Predicting unlearning without time stepping.

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_scalar,
    is_traced,
)
from mltheory.dynamics._fast_slow_field import _sums, _sums_jit
from mltheory.dynamics._fast_slow_integrate import _check_m0
from mltheory.dynamics._fast_slow_manifold import _between, _branch, _branch_velocity
from mltheory.dynamics._fast_slow_problem import (
    _ASYMPTOTIC,
    _BISECTION_STEPS,
    _SCAN_POINTS,
    FastSlowProblem,
    _c0_vanishes,
    _check_problem,
    _coeffs,
)
from mltheory.numerics import (
    HermiteSeries,
)

__all__: list[str] = []


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

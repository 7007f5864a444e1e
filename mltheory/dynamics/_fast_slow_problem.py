"""The fast-slow problem: teacher/student Hermite coefficients and shared helpers.

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.numerics import (
    HermiteSeries,
)

__all__: list[str] = []


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

r"""Gaussian expectations and Hermite series (probabilists' convention).

This module computes expectations :math:`\mathbb{E}[f(X)]` of functions of a
Gaussian vector by tensor-product Gauss–Hermite quadrature (or Monte Carlo in
higher dimension), and represents activations by their Hermite series.

Convention (used by every function here)
----------------------------------------
Hermite polynomials are the *probabilists'* ones,

.. math::

    He_0 = 1, \quad He_1(z) = z, \quad
    He_{k+1}(z) = z\,He_k(z) - k\,He_{k-1}(z),

orthogonal under the standard Gaussian measure :math:`\gamma`:
:math:`\mathbb{E}[He_k(Z) He_l(Z)] = k!\,\delta_{kl}` for :math:`Z \sim N(0, 1)`.
Series coefficients are taken with respect to the *probability* measure
:math:`\gamma` and are not normalised to unit norm,

.. math::

    \sigma(z) = \sum_{k \ge 0} c_k He_k(z), \qquad
    c_k = \frac{\mathbb{E}[\sigma(Z) He_k(Z)]}{k!},

so that Parseval reads :math:`\sum_k k!\,c_k^2 = \mathbb{E}[\sigma(Z)^2]` and,
for standard Gaussians :math:`(U, V)` with correlation :math:`\rho`,
:math:`\mathbb{E}[\sigma_1(U)\sigma_2(V)] = \sum_k k!\,c_k c'_k \rho^k`.
Gauss–Hermite weights are normalised to sum to one, so
:math:`\sum_i w_i f(x_i) \approx \mathbb{E}[f(Z)]`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from numpy.polynomial import hermite_e as np_hermite_e
from scipy import special

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike, KeyArray, PyTree
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_in,
    check_key,
    check_scalar,
    check_shape,
    describe,
    is_traced,
)
from mltheory.numerics._linalg import _sqrtm_psd

__all__ = [
    "HermiteSeries",
    "activation_series",
    "expect",
    "gauss_hermite_rule",
    "hermite_coefficients",
    "hermite_e",
    "hermite_inner",
    "polynomial_series",
    "split_gaussian_rule",
]

# numpy's hermegauss overflows (NaN weights) from about 360 nodes; scipy's
# asymptotic algorithm (Townsend, Trogdon and Olver) is stable for any size.
_NUMPY_RULE_MAX_NODES = 150
# Default nodes per dimension of the tensor-product rule: 64, 32**2 = 1024 and
# 16**3 = 4096 points; they integrate polynomials of degree 127, 63 and 31 in
# each coordinate exactly.
_DEFAULT_NODES = {1: 64, 2: 32, 3: 16}
_DEFAULT_NODES_HIGH_DIM = 8
_MAX_GRID_POINTS = 2**22
_QUADRATURE_MAX_AUTO_DIM = 3
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------
# small validation helpers
# --------------------------------------------------------------------------


def _check_int(x: Any, *, name: str, lower: int) -> int:
    """Check a static Python integer option (never a tracer)."""
    if is_traced(x):
        raise TypeError(f"{name} must be a static Python int; got {describe(x)}.")
    value = check_scalar(x, name=name, kind=int, lower=lower)
    return int(value)


def _tolerance(dtype: Any) -> float:
    """Relative tolerance of the symmetry / PSD / correlation checks."""
    return float(np.sqrt(np.finfo(np.dtype(dtype)).eps))


def _check_correlation(x: Array, *, name: str) -> None:
    """Check |x| <= 1 (with a rounding slack) unless x is traced."""
    if is_traced(x):
        return
    worst = float(np.max(np.abs(np.asarray(x)))) if x.size else 0.0
    slack = 8.0 * float(np.finfo(np.dtype(x.dtype)).eps)
    if worst > 1.0 + slack:
        raise ValueError(
            f"{name} must satisfy |{name}| <= 1 (a correlation); got "
            f"max |{name}| = {worst}."
        )


def _check_series(s: Any, *, name: str) -> Array:
    """Return the coefficient array of a HermiteSeries, checking its shape."""
    if not isinstance(s, HermiteSeries):
        raise TypeError(f"{name} must be a HermiteSeries; got {describe(s)}.")
    return s._checked_coeffs(name=f"{name}.coeffs")


# --------------------------------------------------------------------------
# Gauss–Hermite rule
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _rule_numpy(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss–Hermite nodes and weights summing to one (cached)."""
    if n_nodes <= _NUMPY_RULE_MAX_NODES:
        nodes, weights = np_hermite_e.hermegauss(n_nodes)
    else:
        nodes, weights = special.roots_hermitenorm(n_nodes)
    weights = weights / math.sqrt(2.0 * math.pi)
    nodes = np.ascontiguousarray(nodes, dtype=np.float64)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    nodes.setflags(write=False)  # cached: shared between calls
    weights.setflags(write=False)
    return nodes, weights


@functools.lru_cache(maxsize=64)
def _tensor_rule_numpy(n_nodes: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product rule: points (n_nodes**dim, dim), weights (n_nodes**dim,)."""
    nodes, weights = _rule_numpy(n_nodes)
    grids = np.meshgrid(*([nodes] * dim), indexing="ij")
    points = np.stack([g.reshape(-1) for g in grids], axis=-1)
    wgrids = np.meshgrid(*([weights] * dim), indexing="ij")
    point_weights = np.prod(np.stack([g.reshape(-1) for g in wgrids], axis=-1), -1)
    points.setflags(write=False)
    point_weights.setflags(write=False)
    return points, point_weights


def gauss_hermite_rule(n_nodes: int) -> tuple[Array, Array]:
    r"""Gauss–Hermite nodes and weights for the standard Gaussian measure.

    The rule integrates against :math:`N(0, 1)`, with weights normalised to
    sum to one, so ``jnp.sum(weights * f(nodes))`` approximates
    :math:`\mathbb{E}[f(Z)]` and is exact for polynomials of degree up to
    ``2 * n_nodes - 1``. The rule is computed once per ``n_nodes`` and cached.

    Parameters
    ----------
    n_nodes : int
        Number of nodes, at least 1.

    Returns
    -------
    nodes : jax.Array of shape (n_nodes,)
        The roots of :math:`He_{n}`, in increasing order.
    weights : jax.Array of shape (n_nodes,)
        Positive weights summing to one. Weights of extreme nodes underflow to
        zero from about 360 nodes on (they are below 1e-308).

    Raises
    ------
    TypeError
        If ``n_nodes`` is not an integer.
    ValueError
        If ``n_nodes < 1``.

    See Also
    --------
    expect : Gaussian expectations built on this rule.
    numpy.polynomial.hermite_e.hermegauss : The unnormalised rule.
    scipy.special.roots_hermitenorm : The same rule, computed by SciPy.

    Notes
    -----
    The rule is computed in float64 on the host: by NumPy's
    :func:`~numpy.polynomial.hermite_e.hermegauss` (companion-matrix
    eigenvalues and one Newton step) up to 150 nodes, and by SciPy's
    asymptotic algorithm [1]_ (:func:`~scipy.special.roots_hermitenorm`)
    above, where NumPy's weights overflow. The weights are divided by
    :math:`\sqrt{2\pi}`. With ``jax_enable_x64`` off the returned arrays are
    float32 (the float64 rule rounded).

    References
    ----------
    .. [1] A. Townsend, T. Trogdon and S. Olver, "Fast computation of Gauss
       quadrature nodes and weights on the whole real line", IMA J. Numer.
       Anal. 36(1), 2016.

    Examples
    --------
    >>> from mltheory import numerics
    >>> nodes, weights = numerics.gauss_hermite_rule(5)
    >>> nodes.shape
    (5,)
    >>> print(round(float(weights.sum()), 12))
    1.0
    >>> print(round(float(jnp.sum(weights * nodes**4)), 12))  # E[Z^4] = 3
    3.0
    """
    n_nodes = _check_int(n_nodes, name="n_nodes", lower=1)
    nodes, weights = _rule_numpy(n_nodes)
    return jnp.asarray(nodes), jnp.asarray(weights)


@functools.lru_cache(maxsize=16)
def _split_rule_numpy(n_per_side: int, z_max: float) -> tuple[np.ndarray, np.ndarray]:
    u, w = np.polynomial.legendre.leggauss(n_per_side)
    u, w = 0.5 * (u + 1.0), 0.5 * w
    z = z_max * u**2
    half = w * 2.0 * z_max * u * np.exp(-0.5 * z**2) * _INV_SQRT_2PI
    return np.concatenate([-z[::-1], z]), np.concatenate([half[::-1], half])


def split_gaussian_rule(
    n_per_side: int = 128, *, z_max: float = 10.0
) -> tuple[Array, Array]:
    r"""A quadrature rule for :math:`N(0, 1)` split at 0, for kinks and steps there.

    ``jnp.sum(weights * f(nodes))`` approximates :math:`\mathbb{E}[f(Z)]`.
    Each half line :math:`[0, z_{\max}]` is mapped by :math:`z = z_{\max}
    u^2` to a Gauss–Legendre rule in :math:`u \in [0, 1]`, which clusters the
    nodes at 0 (spacing about :math:`z_{\max} / n^2` there). A function that
    is smooth on each half line (a step, a kink or a steep sigmoid centred at
    0) is integrated to high accuracy, where Gauss–Hermite converges slowly
    (:math:`\mathbb{E}[\max(Z, 0)]` to about 1e-4 at 128 nodes).

    Parameters
    ----------
    n_per_side : int, default=128
        Gauss–Legendre nodes on each half line, at least 1.
    z_max : float, default=10.0
        Truncation; the Gaussian mass beyond 10 is below 1e-22.

    Returns
    -------
    nodes : jax.Array of shape (2 * n_per_side,)
        Increasing nodes, symmetric about 0 (0 itself is not a node).
    weights : jax.Array of shape (2 * n_per_side,)
        Positive weights (they sum to one up to the truncated tail and the
        rule's error, below 1e-15 at the defaults).

    Raises
    ------
    TypeError
        If ``n_per_side`` is not an integer.
    ValueError
        If ``n_per_side < 1`` or ``z_max`` is not positive and finite.

    See Also
    --------
    gauss_hermite_rule : The rule for functions smooth on the whole line.

    Examples
    --------
    >>> from mltheory import numerics
    >>> nodes, weights = numerics.split_gaussian_rule()
    >>> print(round(float(jnp.sum(weights * jnp.maximum(nodes, 0.0))), 12))
    0.398942280401
    >>> print(round(float(jnp.sum(weights * (nodes > 0))), 12))  # P(Z > 0)
    0.5
    """
    n_per_side = _check_int(n_per_side, name="n_per_side", lower=1)
    z_max = check_scalar(z_max, name="z_max", lower=0.0, lower_inclusive=False)
    nodes, weights = _split_rule_numpy(n_per_side, float(z_max))
    return jnp.asarray(nodes), jnp.asarray(weights)


# --------------------------------------------------------------------------
# Gaussian expectations
# --------------------------------------------------------------------------


def _weighted_sum(weights: Array, values: PyTree) -> PyTree:
    return jax.tree.map(lambda v: jnp.tensordot(weights, v, axes=1), values)


def _psd_factor(cov: Array) -> Array:
    """A factor S with S @ S.T = cov that also exists for singular cov.

    The symmetric root from the linalg module (eigenvalues clipped at 0, since
    rounding can make a zero eigenvalue of a singular cov slightly negative).
    """
    return _sqrtm_psd(cov, jnp.zeros((), cov.dtype), inverse=False)[0]


@functools.partial(jax.jit, static_argnames=("f", "n_nodes"))
def _expect_quadrature(
    f: Callable[[Array], PyTree], mean: Array, cov: Array, n_nodes: int
) -> PyTree:
    dtype = mean.dtype
    if mean.ndim == 0:
        nodes, weights = _rule_numpy(n_nodes)
        std = jnp.sqrt(jnp.maximum(cov, 0.0))
        points = mean + std * jnp.asarray(nodes, dtype)
    else:
        grid, weights = _tensor_rule_numpy(n_nodes, mean.shape[0])
        factor = _psd_factor(cov)
        points = mean[None, :] + jnp.asarray(grid, dtype) @ factor.T
    values = jax.vmap(f)(points)
    return _weighted_sum(jnp.asarray(weights, dtype), values)


@functools.partial(jax.jit, static_argnames=("f", "n_samples"))
def _expect_monte_carlo(
    f: Callable[[Array], PyTree],
    mean: Array,
    cov: Array,
    key: KeyArray,
    n_samples: int,
) -> PyTree:
    dtype = mean.dtype
    if mean.ndim == 0:
        z = jax.random.normal(key, (n_samples,), dtype)
        points = mean + jnp.sqrt(jnp.maximum(cov, 0.0)) * z
    else:
        z = jax.random.normal(key, (n_samples, mean.shape[0]), dtype)
        points = mean[None, :] + z @ _psd_factor(cov).T
    values = jax.vmap(f)(points)
    return jax.tree.map(lambda v: jnp.mean(v, axis=0), values)


def _call(f: Callable[[Array], PyTree], x: Array) -> PyTree:
    return f(x)


def _check_gaussian(mean: ArrayLike, cov: ArrayLike) -> tuple[Array, Array]:
    """Validate (mean, cov): shapes always, values when concrete."""
    mean_arr = as_array(mean, name="mean", ndim=(0, 1), shape_hint="(scalar or (k,))")
    cov_arr = as_array(cov, name="cov", ndim=(0, 2), shape_hint="(scalar or (k, k))")
    if mean_arr.ndim == 0 and cov_arr.ndim != 0:
        raise ValueError(
            "cov must be a scalar variance when mean is a scalar (1-D Gaussian); "
            f"got cov of shape {tuple(cov_arr.shape)}."
        )
    if mean_arr.ndim == 1:
        dim = mean_arr.shape[0]
        if cov_arr.ndim != 2:
            raise ValueError(
                f"cov must have shape ({dim}, {dim}) when mean has shape ({dim},); "
                f"got cov of shape {tuple(cov_arr.shape)}."
            )
        check_shape(cov_arr, name="cov", shape=(dim, dim))
    dtype = jnp.result_type(mean_arr, cov_arr)
    mean_arr = mean_arr.astype(dtype)
    cov_arr = cov_arr.astype(dtype)
    if not is_traced(cov_arr):
        cov_np = np.asarray(cov_arr, dtype=np.float64)
        if cov_arr.ndim == 0:
            if cov_np < 0:
                raise ValueError(
                    "cov (the variance of a 1-D Gaussian) must be >= 0; "
                    f"got {float(cov_np)}."
                )
        else:
            tol = _tolerance(dtype)
            scale = max(float(np.max(np.abs(cov_np))), np.finfo(np.float64).tiny)
            asym = float(np.max(np.abs(cov_np - cov_np.T)))
            if asym > tol * scale:
                raise ValueError(
                    "cov must be symmetric; got max |cov - cov.T| = "
                    f"{asym:.3g} (tolerance {tol * scale:.3g})."
                )
            min_eig = float(np.linalg.eigvalsh(0.5 * (cov_np + cov_np.T))[0])
            if min_eig < -tol * scale:
                raise ValueError(
                    "cov must be positive semi-definite; got smallest eigenvalue "
                    f"{min_eig:.3g} (tolerance {-tol * scale:.3g})."
                )
    return mean_arr, cov_arr


def expect(
    f: Callable[[Array], PyTree],
    mean: ArrayLike,
    cov: ArrayLike,
    *,
    n_nodes: int | None = None,
    method: Literal["auto", "quadrature", "monte_carlo"] = "auto",
    key: KeyArray | None = None,
    n_samples: int = 100_000,
) -> PyTree:
    r"""Expectation of ``f(X)`` for a Gaussian ``X ~ N(mean, cov)``.

    In dimension ``k <= 3`` the expectation is a tensor-product Gauss–Hermite
    sum over ``n_nodes**k`` points; above, or with ``method="monte_carlo"``,
    it is a Monte Carlo mean over ``n_samples`` draws from ``key``. The
    function ``f`` is vmapped over the points, and the work is jitted with
    ``f`` static, so the same ``f`` object compiles once per shape.

    Parameters
    ----------
    f : callable
        A JAX-traceable function of one point: a scalar for a 1-D Gaussian, an
        array of shape (k,) otherwise. It returns an array of any shape (or a
        pytree of arrays); the expectation has that shape.
    mean : array_like of shape () or (k,)
        Mean; a scalar for a 1-D Gaussian.
    cov : array_like of shape () or (k, k)
        The variance (a scalar) for a 1-D Gaussian, else the covariance
        matrix: symmetric and positive semi-definite; singular matrices (for
        example perfectly correlated pairs) are allowed.
    n_nodes : int or None, default=None
        Quadrature nodes per dimension. ``None`` means 64, 32 and 16 for
        ``k = 1, 2, 3`` and 8 for ``k > 3`` with ``method="quadrature"``.
    method : {"auto", "quadrature", "monte_carlo"}, default="auto"
        ``"auto"`` is quadrature for ``k <= 3`` and Monte Carlo above.
    key : jax.Array or None, default=None
        PRNG key, required for Monte Carlo; ignored by quadrature.
    n_samples : int, default=100_000
        Monte Carlo sample size.

    Returns
    -------
    jax.Array or pytree
        :math:`\mathbb{E}[f(X)]`, with the shape (and tree structure) of one
        output of ``f``. The dtype follows ``mean``/``cov`` and ``f``.

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``key`` is not a PRNG key, or ``n_nodes`` /
        ``n_samples`` is not an integer.
    ValueError
        If ``mean``/``cov`` have inconsistent shapes or hold NaN/inf, ``cov``
        is asymmetric or not positive semi-definite (or a negative variance),
        ``method`` is unknown, Monte Carlo is needed but ``key`` is None, or
        the quadrature grid would exceed 2**22 points.

    See Also
    --------
    gauss_hermite_rule : The one-dimensional rule.
    hermite_inner : Closed-form :math:`\mathbb{E}[\sigma_1(U)\sigma_2(V)]`
        for Hermite series.

    Notes
    -----
    With :math:`\mathrm{cov} = L L^\top`, :math:`L = Q\Lambda^{1/2}` from the
    eigendecomposition (negative rounding eigenvalues clipped to zero),

    .. math::

        \mathbb{E}[f(X)] \approx \sum_{i_1, \dots, i_k}
        w_{i_1} \cdots w_{i_k}\, f(\mu + L (x_{i_1}, \dots, x_{i_k})^\top).

    Accuracy: exact for polynomials of degree ``2 * n_nodes - 1`` in each
    coordinate; fast (geometric-like) convergence for analytic ``f`` of
    moderate growth; only :math:`O(1/n)` for ``f`` with a kink (ReLU, ``abs``:
    about ``0.2 / n_nodes`` absolute for :math:`\mathbb{E}[\mathrm{relu}(Z)]`).
    The Monte Carlo standard error is
    :math:`\mathrm{sd}(f(X)) / \sqrt{n_\mathrm{samples}}`.
    Value checks (symmetry, PSD, finiteness) are skipped when ``mean`` or
    ``cov`` are traced, e.g. under a user's :func:`jax.jit` or
    :func:`jax.vmap`; shape checks always apply. Differentiation with respect
    to ``cov`` goes through an eigendecomposition and is undefined at
    repeated eigenvalues (e.g. ``cov`` proportional to the identity).

    Examples
    --------
    >>> from mltheory import numerics
    >>> e = numerics.expect(jnp.exp, 0.5, 4.0)  # E[exp X] = exp(0.5 + 4 / 2)
    >>> print(round(float(e), 8), round(float(np.exp(2.5)), 8))
    12.18249396 12.18249396
    >>> cov = jnp.array([[1.0, 0.5], [0.5, 1.0]])
    >>> e = numerics.expect(lambda x: x[0] * x[1], jnp.zeros(2), cov)
    >>> print(round(float(e), 12))
    0.5
    """
    check_callable(f, name="f")
    try:
        hash(f)
    except TypeError:
        # f is a static argument of the jitted core, so it must be hashable;
        # a wrapper is (by identity), at the cost of a compile per call.
        f = functools.partial(_call, f)
    method = check_in(
        method, name="method", options=("auto", "quadrature", "monte_carlo")
    )
    mean_arr, cov_arr = _check_gaussian(mean, cov)
    if key is not None:  # checked even when quadrature does not use it
        key = check_key(key, name="key")
    dim = 1 if mean_arr.ndim == 0 else int(mean_arr.shape[0])
    if n_nodes is not None:
        n_nodes = _check_int(n_nodes, name="n_nodes", lower=1)
    use_mc = method == "monte_carlo" or (
        method == "auto" and dim > _QUADRATURE_MAX_AUTO_DIM
    )
    if use_mc:
        n_samples = _check_int(n_samples, name="n_samples", lower=1)
        if key is None:
            reason = (
                f"the Gaussian has dimension {dim} > {_QUADRATURE_MAX_AUTO_DIM}, "
                "where tensor-product quadrature is too costly"
                if method == "auto"
                else 'method="monte_carlo"'
            )
            raise ValueError(
                f"expect needs a key for Monte Carlo ({reason}); got key=None. "
                "Pass key=jax.random.key(0), or method='quadrature'."
            )
        key = check_key(key, name="key")
        return _expect_monte_carlo(f, mean_arr, cov_arr, key, n_samples)
    if n_nodes is None:
        n_nodes = _DEFAULT_NODES.get(dim, _DEFAULT_NODES_HIGH_DIM)
    if n_nodes**dim > _MAX_GRID_POINTS:
        raise ValueError(
            f"the quadrature grid would have n_nodes**k = {n_nodes}**{dim} = "
            f"{n_nodes**dim} points (more than {_MAX_GRID_POINTS}); use fewer "
            "n_nodes or method='monte_carlo' with a key."
        )
    return _expect_quadrature(f, mean_arr, cov_arr, n_nodes)


# --------------------------------------------------------------------------
# Hermite polynomials
# --------------------------------------------------------------------------


def _hermite_recurrence(
    k_max: int, z: Array, *, normalised: bool, scale: Array | None = None
) -> Array:
    """He_0..He_{k_max} (or He_k / sqrt(k!)) at z, shape (k_max + 1,) + z.shape.

    With ``scale``, every value is multiplied by it (the recurrence is linear,
    so it starts from ``scale``): with ``scale = sqrt(w)`` of a Gauss–Hermite
    rule the normalised values stay bounded by 1 at every node, where the
    unweighted ones reach ``x**k / sqrt(k!)`` (1e45 at x = 27, k = 60).
    """
    ones = jnp.ones_like(z) if scale is None else jnp.broadcast_to(scale, z.shape)
    if k_max == 0:
        return ones[None]

    def step(carry: tuple[Array, Array], k: Array) -> tuple[tuple[Array, Array], Array]:
        prev, cur = carry
        if normalised:
            # Orthonormal recurrence: avoids the k! growth of He_k.
            nxt = (z * cur - jnp.sqrt(k) * prev) / jnp.sqrt(k + 1)
        else:
            nxt = z * cur - k * prev
        return (cur, nxt), nxt

    ks = jnp.arange(1, k_max, dtype=z.dtype)
    _, rest = lax.scan(step, (ones, z * ones), ks)
    return jnp.concatenate([ones[None], (z * ones)[None], rest], axis=0)


@functools.partial(jax.jit, static_argnames=("k_max",))
def _hermite_e_jit(k_max: int, z: Array) -> Array:
    return _hermite_recurrence(k_max, z, normalised=False)


def hermite_e(k_max: int, z: ArrayLike) -> Array:
    r"""Probabilists' Hermite polynomials :math:`He_0, \dots, He_{k_{max}}` at ``z``.

    Parameters
    ----------
    k_max : int
        Highest degree, at least 0.
    z : array_like of any shape
        Points; finite.

    Returns
    -------
    jax.Array of shape (k_max + 1,) + z.shape
        ``out[k] = He_k(z)``, in the dtype of ``z`` (integers become floats).

    Raises
    ------
    TypeError
        If ``k_max`` is not an integer or ``z`` is not numeric.
    ValueError
        If ``k_max < 0`` or ``z`` holds NaN/inf.

    See Also
    --------
    HermiteSeries : A linear combination of these polynomials.
    numpy.polynomial.hermite_e.hermeval : NumPy's evaluation of a series.

    Notes
    -----
    Three-term recurrence :math:`He_{k+1}(z) = z He_k(z) - k He_{k-1}(z)`
    (a :func:`jax.lax.scan`), jitted with ``k_max`` static. The values grow
    like :math:`|z|^k`; in float32 they overflow for large ``k`` and ``|z|``.

    Examples
    --------
    >>> from mltheory import numerics
    >>> print(numerics.hermite_e(3, 2.0))  # 1, z, z^2 - 1, z^3 - 3z at z = 2
    [1. 2. 3. 2.]
    >>> numerics.hermite_e(4, jnp.zeros((2, 3))).shape
    (5, 2, 3)
    """
    k_max = _check_int(k_max, name="k_max", lower=0)
    z_arr = as_array(z, name="z", allow_empty=True)
    return _hermite_e_jit(k_max, z_arr)


@jax.jit
def _clenshaw(coeffs: Array, z: Array) -> Array:
    """Evaluate sum_k coeffs[k] He_k(z) by Clenshaw's recurrence."""
    dtype = jnp.result_type(coeffs, z)
    z = z.astype(dtype)
    zero = jnp.zeros(z.shape, dtype)
    ks = jnp.arange(coeffs.shape[0], dtype=dtype)

    def step(carry: tuple[Array, Array], inputs: tuple[Array, Array]) -> Any:
        # b_k = c_k + z b_{k+1} - (k + 1) b_{k+2}, run from k = K down to 0.
        b1, b2 = carry
        c, k = inputs
        b0 = c.astype(dtype) + z * b1 - (k + 1) * b2
        return (b0, b1), None

    (b0, _), _ = lax.scan(step, (zero, zero), (coeffs, ks), reverse=True)
    return b0


@functools.lru_cache(maxsize=16)
def _sqrt_factorial_split(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """sqrt(k!) = mantissa_k * 2**exponent_k, mantissa in [0.5, 1), k = 0..degree.

    Exact to float64 rounding at every degree (from the integer k!), so that
    no step of the scaling below ever forms a number beyond the dtype's range.
    """
    mantissa = np.empty(degree + 1)
    exponent = np.empty(degree + 1, np.int64)
    fact = 1
    for k in range(degree + 1):
        if k > 1:
            fact *= k
        shift = max(fact.bit_length() - 110, 0)
        shift += shift % 2  # even, so that its square root is a power of 2
        m, e = math.frexp(math.sqrt(float(fact >> shift)))
        mantissa[k], exponent[k] = m, e + shift // 2
    return mantissa, exponent


@functools.lru_cache(maxsize=32)
def _sqrt_factorial_factors(
    degree: int, dtype_name: str, inverse: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Mantissas and rows of powers of 2 whose product is sqrt(k!) (or 1/sqrt(k!)).

    Each row holds factors of at most 2**C with C below the dtype's largest
    exponent, so every factor is representable in ``dtype``; multiplying a
    coefficient row by row never overflows unless the true result does.
    """
    mantissa, exponent = _sqrt_factorial_split(degree)
    chunk = int(jnp.finfo(dtype_name).maxexp) - 2
    n_rows = max(1, -(-int(exponent.max()) // chunk))
    steps = np.clip(exponent[None, :] - chunk * np.arange(n_rows)[:, None], 0, chunk)
    sign = -1.0 if inverse else 1.0
    rows = np.exp2(sign * steps).astype(dtype_name)
    mant = (1.0 / mantissa if inverse else mantissa).astype(dtype_name)
    return mant, rows


def _scale_by_sqrt_factorial(x: Array, *, inverse: bool = False) -> Array:
    """x_k * sqrt(k!) (or x_k / sqrt(k!)) along the last axis, overflow-free.

    The factor is applied as a mantissa times powers of 2 of at most 2**C,
    one row at a time behind an optimisation barrier, so that the compiler
    cannot fold the factors into k! (which overflows from k = 35 in float32
    and k = 171 in float64, and made sums such as sum_k k! a_k b_k NaN). The
    result is finite whenever the true value is representable; it is linear in
    ``x`` (differentiable, vmappable).
    """
    degree = x.shape[-1] - 1
    mant, rows = _sqrt_factorial_factors(degree, jnp.dtype(x.dtype).name, inverse)

    def body(y: Array, row: Array) -> tuple[Array, None]:
        return lax.optimization_barrier(y * row), None

    # Powers of 2 are exact while the result stays normal: scale up by them
    # before the mantissa (a subnormal coefficient keeps all its bits), and
    # scale down after it.
    if inverse:
        y = lax.optimization_barrier(x * jnp.asarray(mant))
        y, _ = lax.scan(body, y, jnp.asarray(rows))
        return y
    y, _ = lax.scan(body, x, jnp.asarray(rows))
    return lax.optimization_barrier(y * jnp.asarray(mant))


def _powers(x: Array, degree: int) -> Array:
    """x**k for k = 0..degree along a new last axis, smooth in x at x = 0."""
    ones = jnp.ones((*x.shape, 1), x.dtype)
    if degree == 0:
        return ones
    # A cumulative product keeps d/dx x**0 = 0 at x = 0 (pow gives NaN there).
    repeated = jnp.broadcast_to(x[..., None], (*x.shape, degree))
    return jnp.cumprod(jnp.concatenate([ones, repeated], axis=-1), axis=-1)


@jax.jit
def _smoothed(coeffs: Array, m: Array) -> Array:
    dtype = jnp.result_type(coeffs, m)
    return coeffs.astype(dtype) * _powers(m.astype(dtype), coeffs.shape[0] - 1)


@jax.jit
def _inner(a: Array, b: Array, rho: Array) -> Array:
    """sum_k k! a_k b_k rho**k for equally long a, b; the shape of rho."""
    dtype = jnp.result_type(a, b, rho)
    # (sqrt(k!) a_k)(sqrt(k!) b_k) stays finite where k! alone would overflow:
    # the scaled coefficients are the orthonormal ones, bounded by the norm.
    products = _scale_by_sqrt_factorial(a.astype(dtype)) * _scale_by_sqrt_factorial(
        b.astype(dtype)
    )
    return jnp.tensordot(_powers(rho.astype(dtype), a.shape[0] - 1), products, axes=1)


@pytree_dataclass
class HermiteSeries:
    r"""A truncated Hermite series :math:`\sigma(z) = \sum_{k=0}^K c_k He_k(z)`.

    A frozen dataclass registered as a JAX pytree (``coeffs`` is its one
    leaf), so a series can be passed through :func:`jax.jit`,
    :func:`jax.vmap` and :func:`jax.grad`.

    Parameters
    ----------
    coeffs : jax.Array of shape (K + 1,)
        Coefficients :math:`c_0, \dots, c_K` in the normalised probabilists'
        convention, :math:`c_k = \mathbb{E}[\sigma(Z) He_k(Z)] / k!`.

    See Also
    --------
    activation_series : Series of common activations.
    hermite_coefficients : Series of any function, by quadrature.
    polynomial_series : Series of a polynomial given by monomials.
    hermite_inner : Gaussian inner products of two series.

    Notes
    -----
    The constructor stores ``coeffs`` as given (so that JAX can rebuild the
    pytree from any leaves); the methods check that it is one-dimensional.
    Equality and hashing are by identity, as for functions, so a series can
    be passed as ``f`` to :func:`expect`; compare coefficients with
    ``jnp.allclose(s1.coeffs, s2.coeffs)``.
    Parseval: :math:`\mathbb{E}[\sigma(Z)^2] = \sum_k k!\,c_k^2`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> s = numerics.HermiteSeries(jnp.array([1.0, 0.0, 2.0]))  # 1 + 2 (z^2 - 1)
    >>> print(round(float(s(3.0)), 6))
    17.0
    >>> s.degree
    2
    >>> print(round(float(s.norm_squared()), 6))  # 1 + 2! * 2^2
    9.0
    """

    coeffs: Array

    # Identity semantics, like a function: a series can then be the static
    # ``f`` of a jitted computation (``expect(series, ...)``), also when its
    # coefficients are traced.
    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def _checked_coeffs(self, *, name: str = "coeffs") -> Array:
        coeffs = jnp.asarray(self.coeffs)
        if coeffs.ndim != 1 or coeffs.shape[0] == 0:
            raise ValueError(
                f"{name} must be 1-D of shape (K + 1,) with K >= 0; "
                f"got shape {tuple(coeffs.shape)}."
            )
        if not jnp.issubdtype(coeffs.dtype, jnp.inexact):
            coeffs = coeffs.astype(jnp.result_type(float))
        return coeffs

    @property
    def degree(self) -> int:
        """The truncation degree K (``len(coeffs) - 1``).

        Examples
        --------
        >>> from mltheory import numerics
        >>> numerics.activation_series("relu", 7).degree
        7
        """
        return int(self._checked_coeffs().shape[0]) - 1

    def __call__(self, z: ArrayLike) -> Array:
        r"""Evaluate the series at ``z``.

        Parameters
        ----------
        z : array_like of any shape
            Points; finite.

        Returns
        -------
        jax.Array of the shape of ``z``
            :math:`\sum_k c_k He_k(z)`, by Clenshaw's recurrence (jitted).

        Examples
        --------
        >>> from mltheory import numerics
        >>> s = numerics.HermiteSeries(jnp.array([0.0, 0.0, 1.0]))  # z^2 - 1
        >>> print(s(jnp.array([0.0, 2.0])))
        [-1.  3.]
        """
        coeffs = self._checked_coeffs()
        z_arr = as_array(z, name="z", allow_empty=True)
        return _clenshaw(coeffs, z_arr)

    def smooth(self, m: ArrayLike) -> HermiteSeries:
        r"""Ornstein–Uhlenbeck (Mehler) smoothing: coefficients :math:`c_k m^k`.

        For :math:`|m| \le 1` and :math:`Z \sim N(0, 1)`,
        :math:`\mathbb{E}_Z[\sigma(m u + \sqrt{1 - m^2} Z)] = \sum_k c_k m^k
        He_k(u)`, the series returned here evaluated at ``u``.

        Parameters
        ----------
        m : float or scalar jax.Array
            The correlation, :math:`|m| \le 1`.

        Returns
        -------
        HermiteSeries
            The smoothed series, of the same degree.

        Raises
        ------
        ValueError
            If ``m`` is not a finite scalar with :math:`|m| \le 1`.

        Examples
        --------
        >>> from mltheory import numerics
        >>> s = numerics.HermiteSeries(jnp.array([1.0, 1.0, 1.0]))
        >>> print(s.smooth(0.5).coeffs)
        [1.   0.5  0.25]
        """
        coeffs = self._checked_coeffs()
        m_arr = as_array(m, name="m", ndim=0)
        _check_correlation(m_arr, name="m")
        return HermiteSeries(_smoothed(coeffs, m_arr))

    def derivative(self) -> HermiteSeries:
        r"""The derivative series, using :math:`He_k' = k He_{k-1}`.

        Returns
        -------
        HermiteSeries
            Coefficients :math:`(k + 1) c_{k+1}`, of degree ``max(K - 1, 0)``.

        Examples
        --------
        >>> from mltheory import numerics
        >>> s = numerics.HermiteSeries(jnp.array([0.0, 0.0, 0.0, 1.0]))  # He_3
        >>> print(s.derivative().coeffs)  # 3 He_2
        [0. 0. 3.]
        """
        coeffs = self._checked_coeffs()
        if coeffs.shape[0] == 1:
            return HermiteSeries(jnp.zeros_like(coeffs))
        ks = jnp.arange(1, coeffs.shape[0], dtype=coeffs.dtype)
        return HermiteSeries(ks * coeffs[1:])

    def norm_squared(self) -> Array:
        r"""Squared Gaussian norm :math:`\sum_k k!\,c_k^2 = \mathbb{E}[\sigma(Z)^2]`.

        Returns
        -------
        jax.Array of shape ()
            The squared norm (Parseval); it is :math:`\mathbb{E}[\sigma^2]`
            up to the truncation tail.

        Examples
        --------
        >>> from mltheory import numerics
        >>> s = numerics.polynomial_series([0.0, 0.0, 1.0])  # z^2: E[Z^4] = 3
        >>> print(round(float(s.norm_squared()), 12))
        3.0
        """
        coeffs = self._checked_coeffs()
        return _inner(coeffs, coeffs, jnp.ones((), coeffs.dtype))

    def pad(self, degree: int) -> HermiteSeries:
        """Pad the series with zero coefficients up to ``degree``.

        Parameters
        ----------
        degree : int
            New degree, at least the current one.

        Returns
        -------
        HermiteSeries
            The same function with ``degree + 1`` coefficients.

        Raises
        ------
        ValueError
            If ``degree`` is below the current degree (use :meth:`truncate`).

        Examples
        --------
        >>> from mltheory import numerics
        >>> print(numerics.HermiteSeries(jnp.array([1.0, 2.0])).pad(3).coeffs)
        [1. 2. 0. 0.]
        """
        coeffs = self._checked_coeffs()
        degree = _check_int(degree, name="degree", lower=0)
        if degree < self.degree:
            raise ValueError(
                f"degree must be >= the current degree {self.degree} to pad; got "
                f"{degree}. Use truncate() to lower the degree."
            )
        return HermiteSeries(jnp.pad(coeffs, (0, degree - self.degree)))

    def truncate(self, degree: int) -> HermiteSeries:
        """Keep the coefficients of degree ``<= degree`` (the L²(γ) projection).

        Parameters
        ----------
        degree : int
            New degree, between 0 and the current degree.

        Returns
        -------
        HermiteSeries
            The series with ``degree + 1`` coefficients.

        Raises
        ------
        ValueError
            If ``degree`` is negative or above the current degree.

        Examples
        --------
        >>> from mltheory import numerics
        >>> print(numerics.activation_series("sign", 5).truncate(1).coeffs.shape)
        (2,)
        """
        coeffs = self._checked_coeffs()
        degree = _check_int(degree, name="degree", lower=0)
        if degree > self.degree:
            raise ValueError(
                f"degree must be <= the current degree {self.degree} to truncate; "
                f"got {degree}. Use pad() to raise the degree."
            )
        return HermiteSeries(coeffs[: degree + 1])

    def __add__(self, other: HermiteSeries) -> HermiteSeries:
        if not isinstance(other, HermiteSeries):
            return NotImplemented
        a, b = _padded_pair(self, other)
        return HermiteSeries(a + b)

    def __sub__(self, other: HermiteSeries) -> HermiteSeries:
        if not isinstance(other, HermiteSeries):
            return NotImplemented
        a, b = _padded_pair(self, other)
        return HermiteSeries(a - b)

    def __neg__(self) -> HermiteSeries:
        return HermiteSeries(-self._checked_coeffs())

    def __mul__(self, scalar: ArrayLike) -> HermiteSeries:
        if isinstance(scalar, HermiteSeries):
            return NotImplemented
        scalar_arr = as_array(scalar, name="scalar", ndim=0)
        return HermiteSeries(self._checked_coeffs() * scalar_arr)

    __rmul__ = __mul__


def _padded_pair(s1: HermiteSeries, s2: HermiteSeries) -> tuple[Array, Array]:
    a = _check_series(s1, name="s1")
    b = _check_series(s2, name="s2")
    size = max(a.shape[0], b.shape[0])
    return jnp.pad(a, (0, size - a.shape[0])), jnp.pad(b, (0, size - b.shape[0]))


# --------------------------------------------------------------------------
# Coefficients
# --------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("degree",))
def _project(values: Array, nodes: Array, weights: Array, degree: int) -> Array:
    """c_k = sum_i w_i v_i He_k(x_i) / k!, through the orthonormal basis."""
    # sqrt(w_i) h_k(x_i) is bounded by 1 (sum_i w_i h_k(x_i)^2 = 1), so the
    # weighted basis never overflows, even at far nodes and high degrees.
    root_w = jnp.sqrt(weights)
    basis = _hermite_recurrence(degree, nodes, normalised=True, scale=root_w)
    inner = basis @ (root_w * values)
    return _scale_by_sqrt_factorial(inner, inverse=True)


def _evaluate_on_nodes(fn: Callable[[Array], ArrayLike], nodes: Array) -> Array:
    values = fn(nodes)
    if not isinstance(values, jax.Array):
        values = jnp.asarray(values)
    if values.shape != nodes.shape:
        raise ValueError(
            f"fn must map an array of shape {tuple(nodes.shape)} elementwise to the "
            f"same shape; got shape {tuple(values.shape)}."
        )
    if not jnp.issubdtype(values.dtype, jnp.inexact):
        values = values.astype(nodes.dtype)
    return values


def _check_square_integrable(
    fn: Callable[[Array], ArrayLike], values: Array, nodes: Array, n_nodes: int
) -> None:
    """Reject non-finite values and functions outside L²(γ), on the host."""
    values_np = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values_np)
    if not finite.all():
        first = float(np.asarray(nodes)[~finite][0])
        raise ValueError(
            f"fn returned non-finite values (NaN or inf) at {int((~finite).sum())} "
            f"of the {n_nodes} Gauss–Hermite nodes (first at z = {first:.4g}); the "
            "activation must be finite on the real line, and one that overflows "
            "at large |z| is not in L²(γ)."
        )
    _, weights = _rule_numpy(n_nodes)
    coarse = float(np.sum(weights * values_np**2))
    fine_nodes, fine_weights = _rule_numpy(2 * n_nodes)
    with np.errstate(all="ignore"):
        fine_values = np.asarray(fn(jnp.asarray(fine_nodes)), dtype=np.float64)
        fine = float(np.sum(fine_weights * fine_values**2))
    # For an L²(γ) function both sums have converged to E[fn(Z)^2]; a function
    # growing like exp(z^2 / 4) or faster gives sums that keep growing with n.
    if not np.isfinite(fine) or abs(fine - coarse) > 1e-3 * max(abs(fine), 1e-300):
        fine_text = f"{fine:.6g}" if np.isfinite(fine) else "non-finite (overflow)"
        raise ValueError(
            "fn: the activation is not in L²(γ) as far as Gauss–Hermite quadrature "
            f"can tell: E[fn(Z)^2] is {coarse:.6g} with {n_nodes} nodes but "
            f"{fine_text} with {2 * n_nodes}. Functions growing like exp(z²/4) or "
            "faster have no Hermite series; for an L² function with a strong "
            "singularity, raise n_nodes."
        )


def hermite_coefficients(
    fn: Callable[[Array], ArrayLike], degree: int, *, n_nodes: int = 200
) -> HermiteSeries:
    r"""Hermite coefficients of a function, by Gauss–Hermite quadrature.

    Parameters
    ----------
    fn : callable
        The activation, applied elementwise: it maps an array of nodes of
        shape (n,) to an array of shape (n,) (JAX or NumPy functions both
        work).
    degree : int
        Truncation degree K, at least 0.
    n_nodes : int, default=200
        Quadrature nodes; more than ``degree``.

    Returns
    -------
    HermiteSeries
        Coefficients :math:`c_0, \dots, c_K`.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or ``degree``/``n_nodes`` are not integers.
    ValueError
        If ``degree < 0``, ``n_nodes <= degree``, ``fn`` does not preserve
        the shape of its input, returns NaN/inf on the nodes, or is not in
        :math:`L^2(\gamma)` (detected when :math:`\mathbb{E}[fn(Z)^2]` differs
        by more than 0.1% between ``n_nodes`` and ``2 * n_nodes`` nodes).

    See Also
    --------
    activation_series : Closed forms for common activations.
    HermiteSeries : The returned type.

    Notes
    -----
    .. math::

        c_k = \frac{1}{k!} \sum_i w_i\, fn(x_i)\, He_k(x_i)
            = \frac{1}{\sqrt{k!}} \sum_i w_i\, fn(x_i)\, h_k(x_i),

    with the orthonormal :math:`h_k = He_k / \sqrt{k!}` computed by their own
    recurrence, so nothing overflows for large ``k``. Exact for polynomials
    of degree up to ``2 * n_nodes - 1 - degree``; for smooth activations
    200 nodes give about 1e-12, for kinks (ReLU) only about ``0.3 / n_nodes``:
    use the closed forms of :func:`activation_series` there. The
    :math:`L^2(\gamma)` check evaluates ``fn`` at ``2 * n_nodes`` more nodes
    on the host; it is skipped when called under :func:`jax.jit`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> s = numerics.hermite_coefficients(lambda z: z**3, 4)  # z^3 = He_3 + 3 He_1
    >>> print([round(float(c), 10) + 0.0 for c in s.coeffs])  # + 0.0 drops -0.0
    [0.0, 3.0, 0.0, 1.0, 0.0]
    """
    check_callable(fn, name="fn")
    degree = _check_int(degree, name="degree", lower=0)
    n_nodes = _check_int(n_nodes, name="n_nodes", lower=1)
    if n_nodes <= degree:
        raise ValueError(
            f"n_nodes must be > degree (= {degree}) for the rule to separate "
            f"He_0..He_degree; got n_nodes={n_nodes}."
        )
    nodes_np, weights_np = _rule_numpy(n_nodes)
    nodes = jnp.asarray(nodes_np)
    values = _evaluate_on_nodes(fn, nodes)
    if not is_traced(values):
        _check_square_integrable(fn, values, nodes, n_nodes)
    dtype = jnp.result_type(values.dtype, nodes.dtype)
    coeffs = _project(
        values.astype(dtype),
        nodes.astype(dtype),
        jnp.asarray(weights_np, dtype),
        degree,
    )
    return HermiteSeries(coeffs)


def _relu_like(degree: int, *, even_scale: float) -> np.ndarray:
    """even_scale * phi(0) * He_{k-2}(0) / k! for even k >= 2, zero for odd k."""
    coeffs = np.zeros(degree + 1)
    ratio = 0.5  # He_0(0) / 2!
    for k in range(2, degree + 1, 2):
        coeffs[k] = even_scale * _INV_SQRT_2PI * ratio
        # He_k(0) = -(k - 1) He_{k-2}(0), divided by the extra (k + 1)(k + 2).
        ratio *= -(k - 1) / ((k + 1) * (k + 2))
    return coeffs


def _relu_series(degree: int) -> np.ndarray:
    coeffs = _relu_like(degree, even_scale=1.0)
    coeffs[0] = _INV_SQRT_2PI
    if degree >= 1:
        coeffs[1] = 0.5
    return coeffs


def _abs_series(degree: int) -> np.ndarray:
    coeffs = _relu_like(degree, even_scale=2.0)
    coeffs[0] = 2.0 * _INV_SQRT_2PI
    return coeffs


def _sign_series(degree: int) -> np.ndarray:
    """2 phi(0) He_{k-1}(0) / k! for odd k."""
    coeffs = np.zeros(degree + 1)
    ratio = 1.0  # He_0(0) / 1!
    for k in range(1, degree + 1, 2):
        coeffs[k] = 2.0 * _INV_SQRT_2PI * ratio
        ratio *= -k / ((k + 1) * (k + 2))
    return coeffs


def _erf_series(degree: int, beta: float) -> np.ndarray:
    """Coefficients of erf(beta z); see activation_series Notes."""
    coeffs = np.zeros(degree + 1)
    a = beta * beta
    term = 2.0 * beta / math.sqrt(math.pi * (1.0 + 2.0 * a))  # c_1
    for m, k in enumerate(range(1, degree + 1, 2)):
        coeffs[k] = term
        term *= -a / (1.0 + 2.0 * a) * (2 * m + 1) / ((m + 1) * (2 * m + 3))
    return coeffs


def _linear_series(degree: int) -> np.ndarray:
    coeffs = np.zeros(degree + 1)
    if degree >= 1:
        coeffs[1] = 1.0
    return coeffs


_QUADRATURE_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "gelu": functools.partial(jax.nn.gelu, approximate=False),
    "sigmoid": jax.nn.sigmoid,
    "silu": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "tanh": jnp.tanh,
}
_ACTIVATION_PARAMS: dict[str, tuple[str, ...]] = {
    "abs": (),
    "erf": ("beta",),
    "linear": (),
    "relu": (),
    "sign": (),
    **dict.fromkeys(_QUADRATURE_ACTIVATIONS, ("n_nodes",)),
}
_QUADRATURE_MIN_NODES = 200


def activation_series(name: str, degree: int = 12, **params: Any) -> HermiteSeries:
    r"""Hermite series of a named activation, in closed form where one exists.

    Parameters
    ----------
    name : str
        The activation: ``"relu"``, ``"erf"``, ``"linear"``, ``"abs"`` and
        ``"sign"`` are closed forms, exact for every degree; ``"tanh"``,
        ``"sigmoid"``, ``"gelu"`` (exact, with the Gaussian CDF), ``"silu"``
        and ``"softplus"`` are computed by :func:`hermite_coefficients`.
    degree : int, default=12
        Truncation degree K, at least 0.
    **params
        ``beta`` (float, default :math:`1/\sqrt{2}`) for ``"erf"``, which is
        :math:`\mathrm{erf}(\beta z)`; ``n_nodes`` (int, default
        ``max(200, degree + 1)``) for the quadrature activations. No other
        parameters are accepted.

    Returns
    -------
    HermiteSeries
        Coefficients :math:`c_0, \dots, c_K`, in float64 when x64 is enabled.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the known names), ``degree``
        is negative or ``beta`` is not finite.
    TypeError
        If a parameter is not accepted by ``name``, or ``degree`` is not an
        integer.

    See Also
    --------
    hermite_coefficients : Any function, by quadrature.
    polynomial_series : Polynomials, exactly.

    Notes
    -----
    With :math:`\varphi(0) = 1/\sqrt{2\pi}` and :math:`He_{2j}(0) = (-1)^j
    (2j - 1)!!` (odd ones vanish), from :math:`\int_0^\infty He_n \varphi =
    He_{n-1}(0)\varphi(0)` and :math:`z He_k = He_{k+1} + k He_{k-1}`:

    * ReLU: :math:`c_0 = \varphi(0)`, :math:`c_1 = 1/2`,
      :math:`c_k = \varphi(0) He_{k-2}(0) / k!` for :math:`k \ge 2`;
    * :math:`|z|`: :math:`c_0 = 2\varphi(0)`,
      :math:`c_k = 2\varphi(0) He_{k-2}(0) / k!` for even :math:`k \ge 2`;
    * :math:`\mathrm{sign}(z)`: :math:`c_k = 2\varphi(0) He_{k-1}(0) / k!`
      for odd :math:`k`;
    * :math:`\mathrm{erf}(\beta z)`: by Stein's lemma
      :math:`c_k = \mathbb{E}[\sigma'(Z) He_{k-1}(Z)] / k!` with
      :math:`\sigma'(z) = (2\beta/\sqrt{\pi}) e^{-\beta^2 z^2}`, and the
      generating function gives
      :math:`\mathbb{E}[e^{-a Z^2} He_{2m}(Z)] = (1 + 2a)^{-1/2}
      (-a / (1 + 2a))^m (2m)! / m!`; hence for :math:`k = 2m + 1`

      .. math::

          c_{2m+1} = \frac{2\beta}{\sqrt{\pi (1 + 2\beta^2)}}
          \left(\frac{-\beta^2}{1 + 2\beta^2}\right)^m
          \frac{(2m)!}{m!\,(2m + 1)!},

      and :math:`c_k = 0` for even :math:`k`. The default
      :math:`\beta = 1/\sqrt{2}` makes :math:`\mathrm{erf}(z/\sqrt{2}) =
      2\Phi(z) - 1`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> relu = numerics.activation_series("relu", degree=4)
    >>> print(np.round(np.asarray(relu.coeffs), 6))
    [ 0.398942  0.5  0.199471  0. -0.016623]
    >>> erf = numerics.activation_series("erf", degree=3, beta=1.0)
    >>> print(round(float(erf.coeffs[1]), 6))  # 2 / sqrt(3 pi)
    0.65147
    """
    check_in(name, name="name", options=sorted(_ACTIVATION_PARAMS))
    degree = _check_int(degree, name="degree", lower=0)
    allowed = _ACTIVATION_PARAMS[name]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = ", ".join(repr(p) for p in allowed) if allowed else "no parameters"
        raise TypeError(
            f"activation_series({name!r}) got unexpected parameter(s) "
            f"{', '.join(repr(p) for p in unknown)}; {name!r} takes {takes}."
        )
    if name in _QUADRATURE_ACTIVATIONS:
        n_nodes = params.get("n_nodes", max(_QUADRATURE_MIN_NODES, degree + 1))
        return hermite_coefficients(
            _QUADRATURE_ACTIVATIONS[name], degree, n_nodes=n_nodes
        )
    if name == "erf":
        beta = check_scalar(params.get("beta", 1.0 / math.sqrt(2.0)), name="beta")
        coeffs = _erf_series(degree, beta)
    else:
        coeffs = {
            "abs": _abs_series,
            "linear": _linear_series,
            "relu": _relu_series,
            "sign": _sign_series,
        }[name](degree)
    return HermiteSeries(jnp.asarray(coeffs))


@functools.lru_cache(maxsize=32)
def _monomial_to_hermite(n: int) -> np.ndarray:
    """M with M[:, p] the Hermite coefficients of z**p, p = 0..n."""
    matrix = np.zeros((n + 1, n + 1))
    for p in range(n + 1):
        for j in range(p // 2 + 1):
            # z^p = sum_j p! / (j! (p - 2j)! 2^j) He_{p-2j}(z); exact integers.
            count = math.factorial(p) // (
                math.factorial(j) * math.factorial(p - 2 * j) * 2**j
            )
            matrix[p - 2 * j, p] = float(count)
    matrix.setflags(write=False)
    return matrix


def _monomials_from_mapping(monomial_coeffs: Mapping[Any, Any]) -> Array:
    if not monomial_coeffs:
        raise ValueError("monomial_coeffs must not be empty; got an empty mapping.")
    powers: list[int] = []
    for power in monomial_coeffs:
        if isinstance(power, bool) or not isinstance(power, int | np.integer):
            raise TypeError(
                f"monomial_coeffs keys must be integer powers; got {describe(power)}."
            )
        if power < 0:
            raise ValueError(
                f"monomial_coeffs keys must be powers >= 0; got {int(power)}."
            )
        powers.append(int(power))
    values = [
        as_array(v, name=f"monomial_coeffs[{p}]", ndim=0)
        for p, v in zip(powers, monomial_coeffs.values(), strict=True)
    ]
    dtype = jnp.result_type(*values)
    out = jnp.zeros(max(powers) + 1, dtype)
    for p, v in zip(powers, values, strict=True):
        out = out.at[p].add(v.astype(dtype))
    return out


def polynomial_series(
    monomial_coeffs: Sequence[float] | ArrayLike | Mapping[int, float],
    *,
    degree: int | None = None,
) -> HermiteSeries:
    r"""Hermite series of a polynomial given by its monomial coefficients.

    Parameters
    ----------
    monomial_coeffs : sequence of float, array_like of shape (n + 1,), or dict
        Either :math:`a_0, \dots, a_n` of :math:`\sum_p a_p z^p`, or a mapping
        ``{power: coefficient}`` such as ``{1: 1.0, 3: 0.3}``.
    degree : int or None, default=None
        Degree of the returned series; ``None`` means the polynomial's degree
        ``n``. A larger degree pads with zeros, a smaller one truncates (the
        :math:`L^2(\gamma)` projection).

    Returns
    -------
    HermiteSeries
        The exact Hermite coefficients (up to rounding).

    Raises
    ------
    TypeError
        If a mapping key is not an integer, or the coefficients are not numbers.
    ValueError
        If the coefficients are empty, not 1-D, or hold NaN/inf, a power is
        negative, or ``degree < 0``.

    See Also
    --------
    HermiteSeries : The returned type.
    hermite_coefficients : Series of a general function.

    Notes
    -----
    The change of basis is the linear map

    .. math::

        z^p = \sum_{j=0}^{\lfloor p/2 \rfloor}
        \frac{p!}{j!\,(p - 2j)!\,2^j} He_{p-2j}(z),

    applied as a matrix product, so the coefficients may be traced (e.g. a
    teacher strength under :func:`jax.vmap`).

    Examples
    --------
    >>> from mltheory import numerics
    >>> s = numerics.polynomial_series({1: 1.0, 3: 0.5})  # z + z^3 / 2
    >>> print(np.round(np.asarray(s.coeffs), 6))  # 2.5 He_1 + 0.5 He_3
    [0.  2.5 0.  0.5]
    """
    if isinstance(monomial_coeffs, Mapping):
        monomials = _monomials_from_mapping(monomial_coeffs)
    else:
        monomials = as_array(
            monomial_coeffs, name="monomial_coeffs", ndim=1, shape_hint="(n + 1,)"
        )
    n = int(monomials.shape[0]) - 1
    matrix = jnp.asarray(_monomial_to_hermite(n), monomials.dtype)
    series = HermiteSeries(matrix @ monomials)
    if degree is None:
        return series
    degree = _check_int(degree, name="degree", lower=0)
    return series.pad(degree) if degree >= n else series.truncate(degree)


def hermite_inner(s1: HermiteSeries, s2: HermiteSeries, rho: ArrayLike = 1.0) -> Array:
    r"""Gaussian inner product :math:`\mathbb{E}[\sigma_1(U)\sigma_2(V)]` of two series.

    For standard Gaussians :math:`U, V` with correlation :math:`\rho`
    (Mehler's formula).

    Parameters
    ----------
    s1, s2 : HermiteSeries
        The two series; the shorter is padded with zeros.
    rho : array_like of any shape, default=1.0
        Correlation(s), :math:`|\rho| \le 1`; the result has the shape of
        ``rho``.

    Returns
    -------
    jax.Array of the shape of ``rho``
        :math:`\sum_k k!\,c_k c'_k \rho^k`.

    Raises
    ------
    TypeError
        If ``s1`` or ``s2`` is not a :class:`HermiteSeries`.
    ValueError
        If ``rho`` holds NaN/inf or values with :math:`|\rho| > 1`.

    See Also
    --------
    HermiteSeries : Its ``smooth(m)`` applies the correlation to one series.
    expect : The same expectation by quadrature, for any functions.

    Notes
    -----
    .. math::

        \mathbb{E}[\sigma_1(U)\sigma_2(V)] = \sum_{k \ge 0} k!\,c_k c'_k \rho^k,
        \qquad (U, V) \sim N\left(0, \begin{pmatrix} 1 & \rho \\ \rho & 1
        \end{pmatrix}\right).

    It is exact for the truncated series; for the activations it is exact up
    to the product of the tails. With ``rho=1`` it is the
    :math:`L^2(\gamma)` inner product.

    Examples
    --------
    >>> from mltheory import numerics
    >>> relu = numerics.activation_series("relu", degree=60)
    >>> # arc-cosine kernel at rho = 0: E[relu(U)] E[relu(V)] = 1 / (2 pi)
    >>> print(round(float(numerics.hermite_inner(relu, relu, 0.0)), 6))
    0.159155
    >>> numerics.hermite_inner(relu, relu, jnp.linspace(-1, 1, 5)).shape
    (5,)
    """
    a, b = _padded_pair(s1, s2)
    rho_arr = as_array(rho, name="rho", allow_empty=True)
    _check_correlation(rho_arr, name="rho")
    return _inner(a, b, rho_arr)

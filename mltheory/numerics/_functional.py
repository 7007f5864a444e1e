r"""Functional data on a grid: grids, quadrature, bases, projection, FPCA, OT kernels.

A curve :math:`x \in L^2([a, b])` is observed on a grid
:math:`t_1 < \dots < t_G` as the vector :math:`(x(t_1), \dots, x(t_G))`.
Integrals are replaced by a quadrature rule with weights :math:`w_g`,

.. math::

    \langle x, y \rangle = \int_a^b x(t) y(t)\, dt
    \approx \sum_{g=1}^G w_g\, x(t_g)\, y(t_g),

and a curve is represented by its coordinates in an orthonormal basis
:math:`(\psi_j)_{j \ge 1}` of :math:`L^2([a, b])`:
:math:`x_j = \langle x, \psi_j \rangle`, :math:`x \approx \sum_{j \le D} x_j
\psi_j`. This module holds

* :func:`make_grid` and :func:`quadrature_weights`;
* the bases :func:`sine_basis`, :func:`fourier_basis`, :func:`legendre_basis`
  and :func:`bspline_basis` (each an array of shape ``(G, D)`` of basis
  functions evaluated on the grid, orthonormal in :math:`L^2([a, b])`), and
  the dispatcher :func:`make_basis`;
* :func:`project` (curves to coefficients) and :func:`reconstruct`
  (coefficients to curves), and :func:`fpca` (the Karhunen–Loève basis of a
  sample of curves);
* the :class:`FunctionalData` container (values, grid, weights);
* jitted trigonometric features on :math:`[0, 1]^D` with their gradients and
  Hessians (:func:`trig_features`, :func:`trig_features_grad`,
  :func:`trig_series`, :func:`trig_series_grad`, :func:`trig_series_hess`);
* the smoothed, chunked c-transform of optimal transport with quadratic cost,
  :func:`logsumexp_ctransform`, whose memory is bounded by a chunk of rows.

Conventions: every array function runs in the input's floating dtype and
returns :class:`jax.Array`; integer inputs are promoted to the default float.
Matrix products use ``Precision.HIGHEST``.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_in,
    check_scalar,
    describe,
    is_traced,
)

__all__ = [
    "FPCAResult",
    "FunctionalData",
    "bspline_basis",
    "fourier_basis",
    "fpca",
    "legendre_basis",
    "logsumexp_ctransform",
    "make_basis",
    "make_grid",
    "project",
    "quadrature_weights",
    "reconstruct",
    "sine_basis",
    "trig_features",
    "trig_features_grad",
    "trig_series",
    "trig_series_grad",
    "trig_series_hess",
]

_HIGHEST = lax.Precision.HIGHEST
_TWO_PI = 2.0 * math.pi
BasisName = Literal["sine", "fourier", "legendre", "bspline"]
_BASES = ("sine", "fourier", "legendre", "bspline")
# Default chunk of the c-transform: at most this many (row, column) entries of
# the cost matrix are alive at once (2**22 float64 = 32 MiB per temporary).
_CHUNK_ENTRIES = 2**22


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _check_real(arr: Array, *, name: str) -> Array:
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(
            f"{name} must be real (the computation is real-valued); got complex "
            f"dtype {arr.dtype}."
        )
    return arr


def _check_grid(grid: Any, *, name: str = "grid") -> Array:
    arr = _check_real(as_array(grid, name=name, ndim=1, shape_hint="(G,)"), name=name)
    if arr.shape[0] < 2:
        raise ValueError(
            f"{name} must hold at least 2 points; got shape {tuple(arr.shape)}."
        )
    if not is_traced(arr):
        diffs = np.diff(np.asarray(arr))
        if not (diffs > 0).all():
            bad = int(np.argmin(diffs))
            raise ValueError(
                f"{name} must be strictly increasing; got {name}[{bad}] = "
                f"{float(arr[bad])} >= {name}[{bad + 1}] = {float(arr[bad + 1])}."
            )
    return arr


def _check_count(n: Any, *, name: str, lower: int = 1) -> int:
    return int(check_scalar(n, name=name, kind=int, lower=lower))


def _domain(grid: Array, domain: Any) -> tuple[Any, Any]:
    """The interval [a, b]; ``None`` means the grid's end points."""
    if domain is None:
        return grid[0], grid[-1]
    if not isinstance(domain, tuple | list) or len(domain) != 2:
        raise TypeError(
            f"domain must be a pair (a, b) or None; got {describe(domain)}."
        )
    a = check_scalar(domain[0], name="domain[0]")
    b = check_scalar(domain[1], name="domain[1]")
    if not a < b:
        raise ValueError(f"domain must satisfy a < b; got ({a}, {b}).")
    if not is_traced(grid):
        lo, hi = float(grid[0]), float(grid[-1])
        tol = 1e-9 * max(1.0, abs(a), abs(b))
        if lo < a - tol or hi > b + tol:
            raise ValueError(
                f"grid must lie inside domain ({a}, {b}); got points from {lo} to {hi}."
            )
    return a, b


def _check_weights(weights: Any, n_grid: int, *, name: str = "weights") -> Array:
    w = _check_real(as_array(weights, name=name, ndim=1, shape_hint="(G,)"), name=name)
    if w.shape[0] != n_grid:
        raise ValueError(
            f"{name} must have one entry per grid point (shape ({n_grid},)); got "
            f"shape {tuple(w.shape)}."
        )
    if not is_traced(w) and not (np.asarray(w) > 0).all():
        raise ValueError(
            f"{name} must be > 0 (quadrature weights); got minimum "
            f"{float(np.min(np.asarray(w)))}."
        )
    return w


def _check_n_basis(n_basis: Any, n_grid: int, *, name: str = "n_basis") -> int:
    d = _check_count(n_basis, name=name)
    if d > n_grid:
        raise ValueError(
            f"{name} must be <= the number of grid points ({n_grid}); got {d}."
        )
    return d


# --------------------------------------------------------------------------
# Grids and quadrature
# --------------------------------------------------------------------------


def make_grid(
    n_points: int,
    *,
    domain: tuple[float, float] = (0.0, 1.0),
    kind: Literal["uniform", "chebyshev", "midpoint"] = "uniform",
) -> Array:
    r"""A grid of ``n_points`` points on an interval.

    Parameters
    ----------
    n_points : int
        Number of points, ``>= 2``.
    domain : tuple of float, default=(0.0, 1.0)
        The interval :math:`[a, b]`, ``a < b``.
    kind : {"uniform", "chebyshev", "midpoint"}, default="uniform"
        ``"uniform"``: equispaced, end points included; ``"chebyshev"``:
        Chebyshev–Lobatto points :math:`a + (b - a)(1 - \cos(\pi k / (G -
        1)))/2` (clustered at the ends, end points included);
        ``"midpoint"``: centres of ``n_points`` equal cells.

    Returns
    -------
    jax.Array of shape (n_points,)
        Strictly increasing points, in the default float dtype.

    Raises
    ------
    ValueError
        If ``n_points < 2``, ``a >= b`` or ``kind`` is unknown.
    TypeError
        If ``n_points`` is not an integer.

    See Also
    --------
    quadrature_weights : Weights for integrating over the grid.

    Examples
    --------
    >>> from mltheory import numerics
    >>> numerics.make_grid(5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> numerics.make_grid(3, kind="chebyshev", domain=(-1.0, 1.0)).round(6).tolist()
    [-1.0, 0.0, 1.0]
    """
    g = _check_count(n_points, name="n_points", lower=2)
    check_in(kind, name="kind", options=("uniform", "chebyshev", "midpoint"))
    if not isinstance(domain, tuple | list) or len(domain) != 2:
        raise TypeError(f"domain must be a pair (a, b); got {describe(domain)}.")
    a = check_scalar(domain[0], name="domain[0]")
    b = check_scalar(domain[1], name="domain[1]")
    if not a < b:
        raise ValueError(f"domain must satisfy a < b; got ({a}, {b}).")
    dtype = jnp.result_type(float)
    k = jnp.arange(g, dtype=dtype)
    if kind == "uniform":
        s = k / (g - 1)
    elif kind == "chebyshev":
        s = 0.5 * (1.0 - jnp.cos(jnp.pi * k / (g - 1)))
    else:
        s = (k + 0.5) / g
    return (a + (b - a) * s).astype(dtype)


def quadrature_weights(
    grid: ArrayLike, *, rule: Literal["trapezoid", "simpson"] = "trapezoid"
) -> Array:
    r"""Quadrature weights for integrating a function sampled on ``grid``.

    :math:`\int_{t_1}^{t_G} f(t)\,dt \approx \sum_g w_g f(t_g)`.

    Parameters
    ----------
    grid : array_like of shape (G,)
        Strictly increasing points, ``G >= 2``.
    rule : {"trapezoid", "simpson"}, default="trapezoid"
        ``"trapezoid"``: the composite trapezoid rule (any grid; exact for
        linear functions). ``"simpson"``: the composite Simpson rule (equally
        spaced grids with an odd number of points; exact for cubics).

    Returns
    -------
    jax.Array of shape (G,)
        Positive weights summing to :math:`t_G - t_1`, in the grid's dtype.

    Raises
    ------
    ValueError
        If ``grid`` is not 1-D, strictly increasing and finite with at least 2
        points, or (``"simpson"``) not equally spaced with an odd number of
        points (checked on concrete grids only).
    TypeError
        If ``grid`` is not real.

    See Also
    --------
    make_grid : Grids.

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(5)
    >>> numerics.quadrature_weights(grid).tolist()
    [0.125, 0.25, 0.25, 0.25, 0.125]
    >>> w = numerics.quadrature_weights(grid, rule="simpson")
    >>> round(float(w @ grid**3), 12)  # int_0^1 t^3 dt
    0.25
    """
    t = _check_grid(grid)
    check_in(rule, name="rule", options=("trapezoid", "simpson"))
    t = t.astype(jnp.result_type(t.dtype, float))
    if rule == "trapezoid":
        return _trapezoid(t)
    g = t.shape[0]
    if g % 2 == 0:
        raise ValueError(f"rule='simpson' needs an odd number of grid points; got {g}.")
    if not is_traced(t):
        d = np.diff(np.asarray(t))
        if np.max(np.abs(d - d.mean())) > 1e-8 * d.mean():
            raise ValueError(
                "rule='simpson' needs an equally spaced grid; got spacings from "
                f"{d.min():.3g} to {d.max():.3g}."
            )
    h = (t[-1] - t[0]) / (g - 1)
    pattern = jnp.where(jnp.arange(g) % 2 == 1, 4.0, 2.0).at[0].set(1.0).at[-1].set(1.0)
    return (h / 3.0 * pattern).astype(t.dtype)


@jax.jit
def _trapezoid(t: Array) -> Array:
    d = jnp.diff(t)
    return 0.5 * (jnp.concatenate([d, d[-1:] * 0]) + jnp.concatenate([d[:1] * 0, d]))


# --------------------------------------------------------------------------
# Bases
# --------------------------------------------------------------------------


def _scaled(grid: Array, domain: Any) -> tuple[Array, Any]:
    """(t - a)/(b - a) and the length b - a."""
    a, b = _domain(grid, domain)
    t = grid.astype(jnp.result_type(grid.dtype, float))
    return (t - a) / (b - a), b - a


def sine_basis(
    grid: ArrayLike, n_basis: int, *, domain: tuple[float, float] | None = None
) -> Array:
    r"""The sine basis :math:`\psi_j(t) = \sqrt{2/L}\,\sin(j\pi (t - a)/L)`.

    :math:`j = 1, \dots, D` and :math:`L = b - a`: the eigenfunctions of the
    Brownian bridge covariance and of the Dirichlet Laplacian, orthonormal in
    :math:`L^2([a, b])`.

    Parameters
    ----------
    grid : array_like of shape (G,)
        Strictly increasing points.
    n_basis : int
        Number of functions :math:`D`, ``1 <= D <= G``.
    domain : tuple of float or None, default=None
        The interval :math:`[a, b]`; ``None`` uses the grid's end points.

    Returns
    -------
    jax.Array of shape (G, n_basis)
        Column ``j - 1`` holds :math:`\psi_j` on the grid.

    Raises
    ------
    ValueError
        If ``grid`` is not strictly increasing, ``n_basis`` is outside
        ``[1, G]`` or the grid leaves ``domain``.
    TypeError
        If ``n_basis`` is not an integer or ``grid`` is not real.

    See Also
    --------
    make_basis : All bases by name.
    project : Coefficients in a basis.

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(201)
    >>> B = numerics.sine_basis(grid, 3)
    >>> w = numerics.quadrature_weights(grid)
    >>> gram = np.asarray(B.T @ (w[:, None] * B))
    >>> bool(np.allclose(gram, np.eye(3), atol=1e-12))  # orthonormal
    True
    """
    t = _check_grid(grid)
    d = _check_n_basis(n_basis, t.shape[0])
    s, length = _scaled(t, domain)
    return _sine(s, jnp.asarray(length, s.dtype), d)


@partial(jax.jit, static_argnames=("d",))
def _sine(s: Array, length: Array, d: int) -> Array:
    j = jnp.arange(1, d + 1, dtype=s.dtype)
    return jnp.sqrt(2.0 / length) * jnp.sin(jnp.pi * s[:, None] * j[None, :])


def fourier_basis(
    grid: ArrayLike, n_basis: int, *, domain: tuple[float, float] | None = None
) -> Array:
    r"""The Fourier basis: a constant, then sine/cosine pairs of rising frequency.

    With :math:`s = (t - a)/L`, :math:`L = b - a`: :math:`\psi_1 =
    1/\sqrt{L}`, :math:`\psi_{2k} = \sqrt{2/L}\sin(2\pi k s)`,
    :math:`\psi_{2k+1} = \sqrt{2/L}\cos(2\pi k s)`; orthonormal in
    :math:`L^2([a, b])` and periodic with period :math:`L`.

    Parameters
    ----------
    grid : array_like of shape (G,)
        Strictly increasing points.
    n_basis : int
        Number of functions :math:`D`, ``1 <= D <= G``.
    domain : tuple of float or None, default=None
        The interval :math:`[a, b]`; ``None`` uses the grid's end points.

    Returns
    -------
    jax.Array of shape (G, n_basis)
        The basis functions on the grid, one per column.

    Raises
    ------
    ValueError
        If ``grid`` is not strictly increasing, ``n_basis`` is outside
        ``[1, G]`` or the grid leaves ``domain``.
    TypeError
        If ``n_basis`` is not an integer or ``grid`` is not real.

    See Also
    --------
    make_basis : All bases by name.

    Examples
    --------
    >>> from mltheory import numerics
    >>> B = numerics.fourier_basis(numerics.make_grid(5), 3)
    >>> np.round(np.asarray(B[:, 0]), 6).tolist()  # the constant 1/sqrt(L)
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    t = _check_grid(grid)
    d = _check_n_basis(n_basis, t.shape[0])
    s, length = _scaled(t, domain)
    return _fourier(s, jnp.asarray(length, s.dtype), d)


@partial(jax.jit, static_argnames=("d",))
def _fourier(s: Array, length: Array, d: int) -> Array:
    j = jnp.arange(d)
    k = ((j + 1) // 2).astype(s.dtype)
    phase = _TWO_PI * s[:, None] * k[None, :]
    is_sin = (j % 2 == 1)[None, :]
    wave = jnp.where(is_sin, jnp.sin(phase), jnp.cos(phase))
    scale = jnp.where(j == 0, jnp.sqrt(1.0 / length), jnp.sqrt(2.0 / length))
    return wave * scale[None, :]


def legendre_basis(
    grid: ArrayLike, n_basis: int, *, domain: tuple[float, float] | None = None
) -> Array:
    r"""Normalised Legendre polynomials on :math:`[a, b]`.

    :math:`\psi_{j+1}(t) = \sqrt{(2j + 1)/L}\, P_j(2(t - a)/L - 1)`,
    :math:`j = 0, \dots, D - 1`, with :math:`P_j` the Legendre polynomials
    (Bonnet's recurrence); orthonormal in :math:`L^2([a, b])`.

    Parameters
    ----------
    grid : array_like of shape (G,)
        Strictly increasing points.
    n_basis : int
        Number of polynomials :math:`D` (degrees 0 to ``D - 1``),
        ``1 <= D <= G``.
    domain : tuple of float or None, default=None
        The interval :math:`[a, b]`; ``None`` uses the grid's end points.

    Returns
    -------
    jax.Array of shape (G, n_basis)
        The polynomials on the grid, one per column.

    Raises
    ------
    ValueError
        If ``grid`` is not strictly increasing, ``n_basis`` is outside
        ``[1, G]`` or the grid leaves ``domain``.
    TypeError
        If ``n_basis`` is not an integer or ``grid`` is not real.

    See Also
    --------
    make_basis : All bases by name.

    Examples
    --------
    >>> from mltheory import numerics
    >>> B = numerics.legendre_basis(numerics.make_grid(3, domain=(-1.0, 1.0)), 2)
    >>> np.round(np.asarray(B) ** 2 * 2, 6).tolist()  # 2 psi^2 = (2j+1) P_j^2
    [[1.0, 3.0], [1.0, 0.0], [1.0, 3.0]]
    """
    t = _check_grid(grid)
    d = _check_n_basis(n_basis, t.shape[0])
    s, length = _scaled(t, domain)
    return _legendre(2.0 * s - 1.0, jnp.asarray(length, s.dtype), d)


@partial(jax.jit, static_argnames=("d",))
def _legendre(x: Array, length: Array, d: int) -> Array:
    cols = [jnp.ones_like(x)]
    if d > 1:
        cols.append(x)
    for j in range(1, d - 1):  # static, small: Bonnet's recurrence
        cols.append(((2 * j + 1) * x * cols[j] - j * cols[j - 1]) / (j + 1))
    P = jnp.stack(cols, axis=1)
    norm = jnp.sqrt((2.0 * jnp.arange(d, dtype=x.dtype) + 1.0) / length)
    return P * norm[None, :]


def bspline_basis(
    grid: ArrayLike,
    n_basis: int,
    *,
    order: int = 4,
    domain: tuple[float, float] | None = None,
    orthonormalize: bool = True,
    weights: ArrayLike | None = None,
) -> Array:
    r"""Evaluate B-splines on equally spaced knots, optionally orthonormalised.

    The ``n_basis`` B-splines of the given ``order`` (degree ``order - 1``;
    4 = cubic) on the clamped knot vector with ``n_basis - order`` equally
    spaced interior knots in :math:`[a, b]`, evaluated by the Cox–de Boor
    recurrence. With ``orthonormalize=True`` the span is kept and the basis is
    replaced by :math:`B R^{-1}`, where :math:`B^\top W B = R^\top R` is the
    Cholesky factorisation of the Gram matrix under the quadrature weights
    :math:`W`, so the columns are orthonormal in the discrete inner product
    :math:`\sum_g w_g f(t_g) h(t_g)` (the grid's approximation of
    :math:`L^2([a, b])`).

    Parameters
    ----------
    grid : array_like of shape (G,)
        Strictly increasing points.
    n_basis : int
        Number of B-splines, ``order <= n_basis <= G``.
    order : int, default=4
        Spline order (degree + 1), ``>= 1``.
    domain : tuple of float or None, default=None
        The interval :math:`[a, b]`; ``None`` uses the grid's end points.
    orthonormalize : bool, default=True
        Orthonormalise in the discrete inner product.
    weights : array_like of shape (G,) or None, default=None
        Quadrature weights of that inner product; ``None`` uses
        :func:`quadrature_weights` (trapezoid).

    Returns
    -------
    jax.Array of shape (G, n_basis)
        The basis on the grid, one function per column.

    Raises
    ------
    ValueError
        If ``n_basis`` is outside ``[order, G]``, ``order < 1``, the grid is
        not strictly increasing, the weights are not positive, or (eager calls)
        the Gram matrix is singular (too few grid points between knots).
    TypeError
        If ``n_basis``/``order`` are not integers or ``orthonormalize`` is not
        a bool.

    See Also
    --------
    make_basis : All bases by name.

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(11)
    >>> B = numerics.bspline_basis(grid, 5, orthonormalize=False)
    >>> np.round(np.asarray(B.sum(axis=1)), 12).tolist()  # partition of unity
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    t = _check_grid(grid)
    k = _check_count(order, name="order")
    d = _check_n_basis(n_basis, t.shape[0])
    if d < k:
        raise ValueError(
            f"n_basis must be >= order ({k}) for B-splines; got n_basis={d}."
        )
    if not isinstance(orthonormalize, bool):
        raise TypeError(
            f"orthonormalize must be a bool; got {describe(orthonormalize)}."
        )
    s, _ = _scaled(t, domain)
    B = _bspline(s, d, k)
    if not orthonormalize:
        return B
    w = (
        quadrature_weights(t)
        if weights is None
        else _check_weights(weights, t.shape[0])
    ).astype(B.dtype)
    gram = B.T @ (w[:, None] * B)
    if not is_traced(gram):
        ev = np.linalg.eigvalsh(np.asarray(gram, dtype=np.float64))
        if ev[0] <= 1e-12 * ev[-1]:
            raise ValueError(
                f"the Gram matrix of the {d} B-splines on this grid is singular "
                f"(smallest eigenvalue {ev[0]:.2e}); use fewer basis functions or "
                "a finer grid."
            )
    R = jnp.linalg.cholesky(gram).T
    return jax.scipy.linalg.solve_triangular(R, B.T, trans="T", lower=False).T


@partial(jax.jit, static_argnames=("d", "k"))
def _bspline(s: Array, d: int, k: int) -> Array:
    # Clamped knots on [0, 1]: k copies of 0, d - k interior knots, k copies of 1.
    n_int = d - k
    interior = jnp.arange(1, n_int + 1, dtype=s.dtype) / (n_int + 1)
    knots = jnp.concatenate([jnp.zeros(k, s.dtype), interior, jnp.ones(k, s.dtype)])
    n_spans = knots.shape[0] - 1
    left, right = knots[:-1], knots[1:]
    # Order-1 pieces; the right end point belongs to the last non-empty span.
    inside = (s[:, None] >= left[None, :]) & (s[:, None] < right[None, :])
    last = n_spans - k  # index of the last non-empty span [t_{d-1}, 1]
    at_end = (s[:, None] >= 1.0) & (jnp.arange(n_spans)[None, :] == last)
    B = jnp.where(inside | at_end, 1.0, 0.0).astype(s.dtype)
    for p in range(1, k):  # static: Cox-de Boor up to degree k - 1
        m = n_spans - p
        lo, hi = knots[:m], knots[p : p + m]
        lo2, hi2 = knots[1 : 1 + m], knots[p + 1 : p + 1 + m]
        den1 = hi - lo
        den2 = hi2 - lo2
        safe1 = jnp.where(den1 > 0, den1, 1.0)[None, :]
        safe2 = jnp.where(den2 > 0, den2, 1.0)[None, :]
        a = jnp.where(den1[None, :] > 0, (s[:, None] - lo[None, :]) / safe1, 0.0)
        b = jnp.where(den2[None, :] > 0, (hi2[None, :] - s[:, None]) / safe2, 0.0)
        B = a * B[:, :m] + b * B[:, 1 : m + 1]
    return B


def make_basis(
    kind: BasisName,
    grid: ArrayLike,
    n_basis: int,
    *,
    domain: tuple[float, float] | None = None,
    weights: ArrayLike | None = None,
) -> Array:
    """A basis by name: ``"sine"``, ``"fourier"``, ``"legendre"`` or ``"bspline"``.

    Parameters
    ----------
    kind : {"sine", "fourier", "legendre", "bspline"}
        Which basis (see :func:`sine_basis`, :func:`fourier_basis`,
        :func:`legendre_basis`, :func:`bspline_basis`; B-splines are cubic and
        orthonormalised).
    grid : array_like of shape (G,)
        Strictly increasing points.
    n_basis : int
        Number of functions, ``1 <= n_basis <= G`` (``>= 4`` for B-splines).
    domain : tuple of float or None, default=None
        The interval; ``None`` uses the grid's end points.
    weights : array_like of shape (G,) or None, default=None
        Quadrature weights for orthonormalising B-splines (ignored otherwise).

    Returns
    -------
    jax.Array of shape (G, n_basis)
        The basis on the grid.

    Raises
    ------
    ValueError
        If ``kind`` is unknown, or as the chosen basis function raises.

    See Also
    --------
    project : Coefficients in the basis.

    Examples
    --------
    >>> from mltheory import numerics
    >>> numerics.make_basis("legendre", numerics.make_grid(50), 4).shape
    (50, 4)
    """
    check_in(kind, name="kind", options=_BASES)
    if kind == "sine":
        return sine_basis(grid, n_basis, domain=domain)
    if kind == "fourier":
        return fourier_basis(grid, n_basis, domain=domain)
    if kind == "legendre":
        return legendre_basis(grid, n_basis, domain=domain)
    return bspline_basis(grid, n_basis, domain=domain, weights=weights)


# --------------------------------------------------------------------------
# Projection and reconstruction
# --------------------------------------------------------------------------


def _check_basis(basis: Any, n_grid: int | None) -> Array:
    B = _check_real(
        as_array(basis, name="basis", ndim=2, shape_hint="(G, n_basis)"), name="basis"
    )
    if n_grid is not None and B.shape[0] != n_grid:
        raise ValueError(
            f"basis must have one row per grid point ({n_grid}); got shape "
            f"{tuple(B.shape)}."
        )
    if B.shape[1] > B.shape[0]:
        raise ValueError(
            "basis must have at most as many functions (columns) as grid points "
            f"(rows); got shape {tuple(B.shape)}."
        )
    return B


def project(
    values: ArrayLike,
    basis: ArrayLike,
    weights: ArrayLike,
    *,
    method: Literal["lstsq", "quadrature"] = "lstsq",
) -> Array:
    r"""Compute the coefficients of curves in a basis from their values on a grid.

    ``"quadrature"`` computes :math:`x_j = \sum_g w_g x(t_g) \psi_j(t_g)`
    (exact for a basis that is orthonormal in the discrete inner product);
    ``"lstsq"`` solves the weighted least-squares problem
    :math:`\min_c \sum_g w_g (x(t_g) - \sum_j c_j \psi_j(t_g))^2`, i.e.
    :math:`c = (B^\top W B)^{-1} B^\top W x`, which reproduces any curve in
    the span exactly for any basis.

    Parameters
    ----------
    values : array_like of shape (n, G) or (G,)
        Curves on the grid, one per row.
    basis : array_like of shape (G, D)
        Basis functions on the grid (:func:`make_basis`), ``D <= G``.
    weights : array_like of shape (G,)
        Positive quadrature weights (:func:`quadrature_weights`).
    method : {"lstsq", "quadrature"}, default="lstsq"
        How to compute the coefficients.

    Returns
    -------
    jax.Array of shape (n, D) or (D,)
        The coefficients.

    Raises
    ------
    ValueError
        If the shapes do not match, values hold NaN/inf, weights are not
        positive or ``method`` is unknown.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    reconstruct : The inverse direction.
    FunctionalData.coefficients : The same on a container.

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(101)
    >>> B = numerics.sine_basis(grid, 4)
    >>> w = numerics.quadrature_weights(grid)
    >>> x = 2.0 * B[:, 0] - 0.5 * B[:, 2]
    >>> np.round(np.asarray(numerics.project(x, B, w)), 10).tolist()
    [2.0, 0.0, -0.5, 0.0]
    """
    check_in(method, name="method", options=("lstsq", "quadrature"))
    X = _check_real(
        as_array(values, name="values", ndim=(1, 2), shape_hint="(n, G) or (G,)"),
        name="values",
    )
    B = _check_basis(basis, X.shape[-1])
    w = _check_weights(weights, X.shape[-1])
    dtype = jnp.result_type(X.dtype, B.dtype, w.dtype)
    return _project(X.astype(dtype), B.astype(dtype), w.astype(dtype), method)


@partial(jax.jit, static_argnames=("method",))
def _project(X: Array, B: Array, w: Array, method: str) -> Array:
    WB = w[:, None] * B
    rhs = jnp.matmul(X, WB, precision=_HIGHEST)
    if method == "quadrature":
        return rhs
    gram = jnp.matmul(B.T, WB, precision=_HIGHEST)
    factor = jax.scipy.linalg.cho_factor(gram)
    return jax.scipy.linalg.cho_solve(factor, rhs.T).T


def reconstruct(coefficients: ArrayLike, basis: ArrayLike) -> Array:
    r"""Rebuild curves on the grid from basis coefficients: :math:`\sum_j c_j \psi_j`.

    Parameters
    ----------
    coefficients : array_like of shape (n, D) or (D,)
        Coefficients, one row per curve.
    basis : array_like of shape (G, D)
        Basis functions on the grid.

    Returns
    -------
    jax.Array of shape (n, G) or (G,)
        The curves on the grid.

    Raises
    ------
    ValueError
        If the number of coefficients differs from the number of basis
        functions, or the input holds NaN/inf.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    project : The inverse direction.

    Examples
    --------
    >>> from mltheory import numerics
    >>> B = numerics.sine_basis(numerics.make_grid(3), 1)
    >>> np.round(np.asarray(numerics.reconstruct([1.0], B)), 6).tolist()
    [0.0, 1.414214, 0.0]
    """
    C = _check_real(
        as_array(
            coefficients, name="coefficients", ndim=(1, 2), shape_hint="(n, D) or (D,)"
        ),
        name="coefficients",
    )
    B = _check_basis(basis, None)
    if C.shape[-1] != B.shape[1]:
        raise ValueError(
            f"coefficients must have one entry per basis function ({B.shape[1]}); "
            f"got shape {tuple(C.shape)}."
        )
    dtype = jnp.result_type(C.dtype, B.dtype)
    return jnp.matmul(C.astype(dtype), B.astype(dtype).T, precision=_HIGHEST)


# --------------------------------------------------------------------------
# FPCA
# --------------------------------------------------------------------------


@pytree_dataclass
class FPCAResult:
    r"""Functional principal components (a Karhunen–Loève basis) of a sample.

    Parameters
    ----------
    mean : jax.Array of shape (G,)
        The sample mean curve.
    eigenvalues : jax.Array of shape (K,)
        Eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_K` of the sample
        covariance operator (divisor ``n - 1``).
    eigenfunctions : jax.Array of shape (G, K)
        The eigenfunctions on the grid, orthonormal in the weighted inner
        product; sign fixed so that each one's largest-magnitude value is
        positive.
    scores : jax.Array of shape (n, K)
        :math:`\langle x_i - \bar x, \phi_k \rangle`.
    total_variance : jax.Array of shape ()
        The trace of the covariance operator (all eigenvalues).

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(50)
    >>> X = np.outer(np.arange(1.0, 6.0), np.sin(np.pi * np.asarray(grid)))
    >>> res = numerics.fpca(X, numerics.quadrature_weights(grid), n_components=1)
    >>> round(float(res.explained_variance_ratio[0]), 6)
    1.0
    """

    mean: Array
    eigenvalues: Array
    eigenfunctions: Array
    scores: Array
    total_variance: Array

    @property
    def explained_variance_ratio(self) -> Array:
        """Fraction of the total variance carried by each component.

        Returns
        -------
        jax.Array of shape (K,)
            ``eigenvalues / total_variance``.

        Examples
        --------
        >>> from mltheory import numerics
        >>> grid = numerics.make_grid(20)
        >>> X = np.random.default_rng(0).standard_normal((30, 20))
        >>> res = numerics.fpca(X, numerics.quadrature_weights(grid), n_components=3)
        >>> bool(res.explained_variance_ratio.sum() < 1)
        True
        """
        return self.eigenvalues / self.total_variance


def fpca(
    values: ArrayLike,
    weights: ArrayLike,
    *,
    n_components: int | None = None,
    var_explained: float | None = None,
) -> FPCAResult:
    r"""Functional principal component analysis (discretised Karhunen–Loève).

    Solves :math:`\int \hat C(s, t) \phi(t)\,dt = \lambda \phi(s)` for the
    sample covariance :math:`\hat C(s, t) = \frac{1}{n - 1}\sum_i (x_i(s) -
    \bar x(s))(x_i(t) - \bar x(t))` with the integral replaced by the
    quadrature weights: with :math:`W = \operatorname{diag}(w)` and centred
    data :math:`X_c`, the right singular vectors :math:`v_k` of
    :math:`X_c W^{1/2}/\sqrt{n-1}` give :math:`\phi_k = W^{-1/2} v_k` and the
    squared singular values give :math:`\lambda_k`.

    Parameters
    ----------
    values : array_like of shape (n, G)
        Curves on a grid, ``n >= 2``.
    weights : array_like of shape (G,)
        Positive quadrature weights.
    n_components : int or None, default=None
        Number of components kept, ``1 <= K <= min(n - 1, G)``. ``None``
        keeps ``min(n - 1, G)`` unless ``var_explained`` is given.
    var_explained : float or None, default=None
        Keep the fewest components whose eigenvalues sum to at least this
        fraction of the total, in ``(0, 1]``. Needs concrete values (not
        usable under :func:`jax.jit`). Give at most one of the two options.

    Returns
    -------
    FPCAResult
        Mean, eigenvalues, eigenfunctions, scores and total variance.

    Raises
    ------
    ValueError
        If ``values`` is not 2-D with ``n >= 2``, holds NaN/inf, the weights do
        not match, both options are given, or an option is out of range.
    TypeError
        If an input is complex or an option has the wrong type.

    See Also
    --------
    project : Coefficients in any basis.

    Notes
    -----
    The eigenfunctions are orthonormal in :math:`\sum_g w_g f(t_g) h(t_g)`,
    so :func:`project` with ``method="quadrature"`` is exact for them. For
    Brownian motion on :math:`[0, 1]` the eigenpairs are
    :math:`\lambda_k = ((k - 1/2)\pi)^{-2}`,
    :math:`\phi_k = \sqrt 2 \sin((k - 1/2)\pi t)`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(101)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2)) @ np.asarray(numerics.sine_basis(grid, 2)).T
    >>> res = numerics.fpca(X, numerics.quadrature_weights(grid), var_explained=0.99)
    >>> res.eigenfunctions.shape
    (101, 2)
    """
    X = _check_real(
        as_array(values, name="values", ndim=2, shape_hint="(n, G)"), name="values"
    )
    n, g = X.shape
    if n < 2:
        raise ValueError(f"values must hold at least 2 curves; got shape {(n, g)}.")
    w = _check_weights(weights, g)
    k_max = min(n - 1, g)
    if n_components is not None and var_explained is not None:
        raise ValueError(
            "give at most one of n_components and var_explained; got "
            f"n_components={n_components!r} and var_explained={var_explained!r}."
        )
    k: int | None = None
    if n_components is not None:
        k = _check_count(n_components, name="n_components")
        if k > k_max:
            raise ValueError(
                f"n_components must be <= min(n - 1, G) = {k_max}; got {k}."
            )
    frac = None
    if var_explained is not None:
        frac = check_scalar(
            var_explained,
            name="var_explained",
            lower=0.0,
            upper=1.0,
            lower_inclusive=False,
        )
    dtype = jnp.result_type(X.dtype, w.dtype)
    mean, lam, phi, scores, total = _fpca(X.astype(dtype), w.astype(dtype))
    if frac is not None:
        if is_traced(lam):
            raise TypeError(
                "var_explained needs concrete values and cannot be used under "
                "jax.jit; pass n_components instead."
            )
        cum = np.cumsum(np.asarray(lam)) / float(total)
        k = int(np.searchsorted(cum, frac - 1e-12) + 1)
        k = min(k, k_max)
    k = k_max if k is None else k
    return FPCAResult(
        mean=mean,
        eigenvalues=lam[:k],
        eigenfunctions=phi[:, :k],
        scores=scores[:, :k],
        total_variance=total,
    )


@jax.jit
def _fpca(X: Array, w: Array) -> tuple[Array, Array, Array, Array, Array]:
    n = X.shape[0]
    mean = jnp.mean(X, axis=0)
    sw = jnp.sqrt(w)
    Xc = X - mean[None, :]
    A = Xc * sw[None, :] / jnp.sqrt(n - 1.0)
    _, s, vt = jnp.linalg.svd(A, full_matrices=False)
    # Deterministic signs: the largest-magnitude entry of each v is positive.
    pivot = jnp.argmax(jnp.abs(vt), axis=1)
    signs = jnp.sign(vt[jnp.arange(vt.shape[0]), pivot])
    vt = vt * signs[:, None]
    phi = (vt / sw[None, :]).T
    lam = s**2
    scores = jnp.matmul(Xc * w[None, :], phi, precision=_HIGHEST)
    return mean, lam, phi, scores, jnp.sum(lam)


# --------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------


def _is_concrete_array(x: Any) -> bool:
    return isinstance(x, np.ndarray | jax.Array | list | tuple) and not is_traced(x)


@pytree_dataclass
class FunctionalData:
    r"""Curves observed on a common grid, with the grid's quadrature weights.

    A thin container: ``values[i, g]`` is curve ``i`` at ``grid[g]``;
    ``weights`` define the inner product
    :math:`\langle x, y \rangle = \sum_g w_g x(t_g) y(t_g)`. It is a JAX pytree
    (all three fields are leaves), so it can cross :func:`jax.jit`.

    Parameters
    ----------
    values : array_like of shape (n, G)
        Curves, one per row.
    grid : array_like of shape (G,)
        Strictly increasing points.
    weights : array_like of shape (G,) or None, default=None
        Positive quadrature weights; ``None`` uses the trapezoid rule.

    Raises
    ------
    ValueError
        If ``values`` is not 2-D or holds NaN/inf, the grid is not strictly
        increasing, or the shapes do not match (checked when the inputs are
        concrete arrays).
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    project : Coefficients in a basis.
    fpca : Functional principal components.

    Examples
    --------
    >>> from mltheory import numerics
    >>> grid = numerics.make_grid(64)
    >>> X = numerics.FunctionalData(np.sin(np.pi * np.asarray(grid))[None, :], grid)
    >>> X.n_samples, X.n_grid
    (1, 64)
    >>> np.round(np.asarray(X.coefficients("sine", 2)), 4).tolist()
    [[0.7071, 0.0]]
    """

    values: Array
    grid: Array
    weights: Array = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        values, grid, weights = self.values, self.grid, self.weights
        for this, other, name in ((values, grid, "values"), (grid, values, "grid")):
            # None or text beside a concrete array is a user error; beside
            # another placeholder it is pytree machinery (e.g. vmap axes)
            if (this is None or isinstance(this, str)) and _is_concrete_array(other):
                raise TypeError(
                    f"{name} must be array_like of numbers; got {describe(this)}."
                )
        if not (_is_concrete_array(values) and _is_concrete_array(grid)):
            return  # pytree unflattening with placeholders, or traced leaves
        v = _check_real(
            as_array(values, name="values", ndim=2, shape_hint="(n, G)"),
            name="values",
        )
        t = _check_grid(grid)
        if v.shape[1] != t.shape[0]:
            raise ValueError(
                "values must have one column per grid point; got values of shape "
                f"{tuple(v.shape)} and grid of shape {tuple(t.shape)}."
            )
        if weights is None:
            w = quadrature_weights(t)
        elif _is_concrete_array(weights):
            w = _check_weights(weights, t.shape[0])
        else:
            return
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "grid", t)
        object.__setattr__(self, "weights", w)

    @property
    def n_samples(self) -> int:
        """Number of curves.

        Returns
        -------
        int
            ``values.shape[0]``.

        Examples
        --------
        >>> from mltheory import numerics
        >>> numerics.FunctionalData(np.zeros((3, 5)), numerics.make_grid(5)).n_samples
        3
        """
        return int(self.values.shape[0])

    @property
    def n_grid(self) -> int:
        """Number of grid points.

        Returns
        -------
        int
            ``grid.shape[0]``.

        Examples
        --------
        >>> from mltheory import numerics
        >>> numerics.FunctionalData(np.zeros((3, 5)), numerics.make_grid(5)).n_grid
        5
        """
        return int(self.grid.shape[0])

    def basis(self, kind: BasisName, n_basis: int) -> Array:
        """A named basis on this container's grid (see :func:`make_basis`).

        Parameters
        ----------
        kind : {"sine", "fourier", "legendre", "bspline"}
            Which basis.
        n_basis : int
            Number of functions.

        Returns
        -------
        jax.Array of shape (G, n_basis)
            The basis on the grid.

        Examples
        --------
        >>> from mltheory import numerics
        >>> X = numerics.FunctionalData(np.zeros((2, 9)), numerics.make_grid(9))
        >>> X.basis("fourier", 3).shape
        (9, 3)
        """
        return make_basis(kind, self.grid, n_basis, weights=self.weights)

    def coefficients(
        self,
        basis: BasisName | ArrayLike,
        n_basis: int | None = None,
        *,
        method: Literal["lstsq", "quadrature"] = "lstsq",
    ) -> Array:
        """Coefficients of the curves in a basis (see :func:`project`).

        Parameters
        ----------
        basis : {"sine", "fourier", "legendre", "bspline"} or array_like
            A basis name (then ``n_basis`` is required) or a basis matrix of
            shape ``(G, D)``.
        n_basis : int or None, default=None
            Number of functions of a named basis.
        method : {"lstsq", "quadrature"}, default="lstsq"
            See :func:`project`.

        Returns
        -------
        jax.Array of shape (n, D)
            The coefficients.

        Raises
        ------
        ValueError
            If a named basis is given without ``n_basis``.

        Examples
        --------
        >>> from mltheory import numerics
        >>> grid = numerics.make_grid(33)
        >>> X = numerics.FunctionalData(np.ones((2, 33)), grid)
        >>> np.round(np.asarray(X.coefficients("legendre", 2)), 8).tolist()
        [[1.0, 0.0], [1.0, 0.0]]
        """
        if isinstance(basis, str):
            if n_basis is None:
                raise ValueError(
                    f"n_basis is required with a named basis ({basis!r}); got None."
                )
            B = self.basis(basis, n_basis)  # type: ignore[arg-type]
        else:
            B = _check_basis(basis, self.n_grid)
        return project(self.values, B, self.weights, method=method)

    def with_values(self, values: ArrayLike) -> FunctionalData:
        """The same grid and weights with new curves.

        Parameters
        ----------
        values : array_like of shape (n, G)
            The new curves.

        Returns
        -------
        FunctionalData
            A new container.

        Examples
        --------
        >>> from mltheory import numerics
        >>> X = numerics.FunctionalData(np.zeros((2, 4)), numerics.make_grid(4))
        >>> X.with_values(np.ones((5, 4))).n_samples
        5
        """
        new: Any = values
        return dataclasses.replace(self, values=new)

    def plot(
        self,
        ax: Any = None,
        *,
        max_curves: int = 20,
        label: str | None = None,
        color: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Plot the curves against the grid, one line each, in one colour.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        max_curves : int, default=20
            At most this many curves (the first ones).
        label : str, optional
            Legend label, given once.
        color : str, optional
            One colour for all curves; by default the next of the cycle.
        **kwargs
            Passed to :meth:`~matplotlib.axes.Axes.plot` (e.g. ``alpha``,
            ``linestyle``).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If ``max_curves < 1`` or the container is batched (values with
            more than two axes).
        TypeError
            If the container holds tracers (call ``.plot()`` outside jit).

        Examples
        --------
        >>> from mltheory import numerics
        >>> grid = numerics.make_grid(32)
        >>> X = numerics.FunctionalData(np.ones((3, 32)), grid)
        >>> ax = X.plot(label="constant curves")  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        k = check_scalar(max_curves, name="max_curves", kind=int, lower=1)
        values = P.members_or_error(self.values, name="values", max_ndim=2)
        grid = P.members_or_error(self.grid, name="grid", max_ndim=1)
        ax = P.axes_or_new(ax)
        P.plot_members(
            ax, grid, values[:k], label=label, kind="theory", color=color, **kwargs
        )
        return P.finish_axes(ax, xlabel="t", ylabel="x(t)")


# --------------------------------------------------------------------------
# Trigonometric features on the torus [0, 1]^D
# --------------------------------------------------------------------------


def _check_trig_inputs(z: Any, freqs: Any) -> tuple[Array, Array]:
    Z = _check_real(as_array(z, name="z", ndim=2, shape_hint="(n, D)"), name="z")
    F = as_array(freqs, name="freqs", ndim=2, shape_hint="(K, D)", dtype=None)
    if jnp.issubdtype(F.dtype, jnp.complexfloating):
        raise TypeError(f"freqs must be integers; got complex dtype {F.dtype}.")
    if F.shape[1] != Z.shape[1]:
        raise ValueError(
            "freqs must have one column per coordinate of z; got z of shape "
            f"{tuple(Z.shape)} and freqs of shape {tuple(F.shape)}."
        )
    if not is_traced(F) and not jnp.issubdtype(F.dtype, jnp.integer):
        f = np.asarray(F)
        if not np.array_equal(f, np.round(f)):
            raise ValueError("freqs must hold integers (frequency multi-indices).")
    return Z, F.astype(Z.dtype)


def _check_coef(coef: Any, n_freq: int, dtype: Any) -> Array:
    c = _check_real(
        as_array(coef, name="coef", ndim=1, shape_hint="(2K,)"), name="coef"
    )
    if c.shape[0] != 2 * n_freq:
        raise ValueError(
            f"coef must have 2K = {2 * n_freq} entries (K cosine then K sine "
            f"coefficients); got shape {tuple(c.shape)}."
        )
    return c.astype(jnp.result_type(c.dtype, dtype))


@jax.jit
def _phase(Z: Array, F: Array) -> Array:
    return _TWO_PI * jnp.matmul(Z, F.T, precision=_HIGHEST)


def trig_features(z: ArrayLike, freqs: ArrayLike) -> Array:
    r"""Trigonometric features of points, one cosine and one sine per frequency.

    :math:`[\cos 2\pi\langle \ell_k, z\rangle]_k` then
    :math:`[\sin 2\pi\langle \ell_k, z\rangle]_k`.

    Parameters
    ----------
    z : array_like of shape (n, D)
        Points (usually rescaled to :math:`[0, 1]^D`).
    freqs : array_like of shape (K, D)
        Integer frequency vectors :math:`\ell_1, \dots, \ell_K`.

    Returns
    -------
    jax.Array of shape (n, 2K)
        Columns ``0..K-1`` are the cosines, ``K..2K-1`` the sines.

    Raises
    ------
    ValueError
        If the shapes do not match, ``z`` holds NaN/inf or ``freqs`` is not
        integer-valued.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    trig_series : A linear combination of the features.

    Examples
    --------
    >>> from mltheory import numerics
    >>> F = numerics.trig_features([[0.25]], [[1], [2]])
    >>> np.round(np.asarray(F), 6).tolist()
    [[0.0, -1.0, 1.0, 0.0]]
    """
    Z, F = _check_trig_inputs(z, freqs)
    return _trig_features(Z, F)


@jax.jit
def _trig_features(Z: Array, F: Array) -> Array:
    ph = _phase(Z, F)
    return jnp.concatenate([jnp.cos(ph), jnp.sin(ph)], axis=1)


def trig_features_grad(z: ArrayLike, freqs: ArrayLike) -> Array:
    r"""Jacobian of :func:`trig_features` with respect to ``z``.

    :math:`\partial_z \cos 2\pi\langle\ell, z\rangle = -2\pi \ell
    \sin 2\pi\langle\ell, z\rangle` and :math:`\partial_z \sin 2\pi\langle
    \ell, z\rangle = 2\pi \ell \cos 2\pi\langle\ell, z\rangle`. Memory is
    :math:`O(nKD)`; for the gradient of one combination use
    :func:`trig_series_grad` (memory :math:`O(nK)`).

    Parameters
    ----------
    z : array_like of shape (n, D)
        Points.
    freqs : array_like of shape (K, D)
        Integer frequency vectors.

    Returns
    -------
    jax.Array of shape (n, 2K, D)
        ``out[i, k, :]`` is the gradient of feature ``k`` at ``z[i]``.

    Raises
    ------
    ValueError
        As :func:`trig_features`.
    TypeError
        As :func:`trig_features`.

    See Also
    --------
    trig_series_grad : Gradient of a combination.

    Examples
    --------
    >>> from mltheory import numerics
    >>> J = numerics.trig_features_grad([[0.0]], [[1]])
    >>> np.round(np.asarray(J[0, :, 0]) / (2 * np.pi), 6).tolist()
    [-0.0, 1.0]
    """
    Z, F = _check_trig_inputs(z, freqs)
    return _trig_features_grad(Z, F)


@jax.jit
def _trig_features_grad(Z: Array, F: Array) -> Array:
    ph = _phase(Z, F)
    dc = -_TWO_PI * jnp.sin(ph)[:, :, None] * F[None, :, :]
    ds = _TWO_PI * jnp.cos(ph)[:, :, None] * F[None, :, :]
    return jnp.concatenate([dc, ds], axis=1)


def trig_series(z: ArrayLike, freqs: ArrayLike, coef: ArrayLike) -> Array:
    r"""Evaluate a trigonometric series :math:`f(z)` at points.

    :math:`f(z) = \sum_k a_k \cos 2\pi\langle \ell_k, z\rangle + b_k
    \sin 2\pi\langle \ell_k, z\rangle`.

    Parameters
    ----------
    z : array_like of shape (n, D)
        Points.
    freqs : array_like of shape (K, D)
        Integer frequency vectors.
    coef : array_like of shape (2K,)
        :math:`(a_1, \dots, a_K, b_1, \dots, b_K)`.

    Returns
    -------
    jax.Array of shape (n,)
        :math:`f(z_i)`.

    Raises
    ------
    ValueError
        As :func:`trig_features`, or if ``coef`` does not have ``2K`` entries.
    TypeError
        As :func:`trig_features`.

    See Also
    --------
    trig_series_grad, trig_series_hess : Derivatives.

    Examples
    --------
    >>> from mltheory import numerics
    >>> f = numerics.trig_series([[0.0], [0.5]], [[1]], [2.0, 0.0])
    >>> np.round(np.asarray(f), 6).tolist()
    [2.0, -2.0]
    """
    Z, F = _check_trig_inputs(z, freqs)
    c = _check_coef(coef, F.shape[0], Z.dtype)
    return _trig_series(Z, F, c)


@jax.jit
def _trig_series(Z: Array, F: Array, c: Array) -> Array:
    return jnp.matmul(_trig_features(Z, F), c, precision=_HIGHEST)


def trig_series_grad(z: ArrayLike, freqs: ArrayLike, coef: ArrayLike) -> Array:
    r"""Gradient of :func:`trig_series` with respect to ``z``.

    :math:`\nabla f(z) = 2\pi \sum_k (b_k \cos\theta_k - a_k \sin\theta_k)
    \ell_k` with :math:`\theta_k = 2\pi\langle\ell_k, z\rangle`; memory
    :math:`O(nK)`.

    Parameters
    ----------
    z : array_like of shape (n, D)
        Points.
    freqs : array_like of shape (K, D)
        Integer frequency vectors.
    coef : array_like of shape (2K,)
        Cosine then sine coefficients.

    Returns
    -------
    jax.Array of shape (n, D)
        :math:`\nabla f(z_i)`.

    Raises
    ------
    ValueError
        As :func:`trig_series`.
    TypeError
        As :func:`trig_series`.

    See Also
    --------
    trig_series_hess : Second derivatives.

    Examples
    --------
    >>> from mltheory import numerics
    >>> g = numerics.trig_series_grad([[0.0]], [[1]], [0.0, 1.0])  # sin(2 pi z)
    >>> round(float(g[0, 0]) / (2 * np.pi), 6)
    1.0
    """
    Z, F = _check_trig_inputs(z, freqs)
    c = _check_coef(coef, F.shape[0], Z.dtype)
    return _trig_series_grad(Z, F, c)


@jax.jit
def _trig_series_grad(Z: Array, F: Array, c: Array) -> Array:
    k = F.shape[0]
    ph = _phase(Z, F)
    w = c[k:][None, :] * jnp.cos(ph) - c[:k][None, :] * jnp.sin(ph)
    return _TWO_PI * jnp.matmul(w, F, precision=_HIGHEST)


def trig_series_hess(z: ArrayLike, freqs: ArrayLike, coef: ArrayLike) -> Array:
    r"""Hessian of :func:`trig_series` with respect to ``z``.

    :math:`\nabla^2 f(z) = -(2\pi)^2 \sum_k (a_k \cos\theta_k + b_k
    \sin\theta_k)\, \ell_k \ell_k^\top`.

    Parameters
    ----------
    z : array_like of shape (n, D)
        Points.
    freqs : array_like of shape (K, D)
        Integer frequency vectors.
    coef : array_like of shape (2K,)
        Cosine then sine coefficients.

    Returns
    -------
    jax.Array of shape (n, D, D)
        Symmetric Hessians.

    Raises
    ------
    ValueError
        As :func:`trig_series`.
    TypeError
        As :func:`trig_series`.

    See Also
    --------
    trig_series_grad : First derivatives.

    Examples
    --------
    >>> from mltheory import numerics
    >>> H = numerics.trig_series_hess([[0.0, 0.0]], [[1, 1]], [1.0, 0.0])
    >>> np.round(np.asarray(H[0]) / (2 * np.pi) ** 2, 6).tolist()
    [[-1.0, -1.0], [-1.0, -1.0]]
    """
    Z, F = _check_trig_inputs(z, freqs)
    c = _check_coef(coef, F.shape[0], Z.dtype)
    return _trig_series_hess(Z, F, c)


@jax.jit
def _trig_series_hess(Z: Array, F: Array, c: Array) -> Array:
    k = F.shape[0]
    ph = _phase(Z, F)
    w = c[:k][None, :] * jnp.cos(ph) + c[k:][None, :] * jnp.sin(ph)
    return -(_TWO_PI**2) * jnp.einsum("nk,kd,ke->nde", w, F, F, precision=_HIGHEST)


# --------------------------------------------------------------------------
# The smoothed c-transform (quadratic cost), chunked
# --------------------------------------------------------------------------


def logsumexp_ctransform(
    X: ArrayLike,
    f: ArrayLike,
    Y: ArrayLike,
    eps: float | ArrayLike,
    *,
    weights: ArrayLike | None = None,
    chunk_size: int | None = None,
) -> Array:
    r"""The smoothed c-transform of a potential on a point cloud, quadratic cost.

    For :math:`c(x, y) = \tfrac12 \lVert x - y \rVert^2`, source points
    :math:`X_i` with weights :math:`w_i` and values :math:`f_i`,

    .. math::

        g(y) = -\varepsilon \log \sum_{i=1}^n w_i
        \exp\Big(\frac{f_i - c(X_i, y)}{\varepsilon}\Big)
        \xrightarrow[\varepsilon \to 0]{} \min_i\, c(X_i, y) - f_i,

    evaluated at every row of ``Y``. This is the Sinkhorn half-step and the
    smoothed semi-dual's conjugate: if :math:`\varphi = \tfrac12\lVert\cdot
    \rVert^2 - f` then :math:`\varphi^*(y) = \tfrac12\lVert y\rVert^2 - g(y)`
    (with the sup over the cloud). ``eps=0`` gives the exact minimum.

    Rows of ``Y`` are processed ``chunk_size`` at a time under
    :func:`jax.checkpoint`, so memory (also for the gradient) is
    :math:`O(\text{chunk} \cdot n)`, never :math:`O(nm)`.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Source points.
    f : array_like of shape (n,)
        Potential values at the source points.
    Y : array_like of shape (m, d)
        Points where the transform is evaluated.
    eps : float
        Smoothing :math:`\varepsilon \ge 0` (a concrete ``0`` selects the
        exact minimum; a traced value must be ``> 0``).
    weights : array_like of shape (n,) or None, default=None
        Non-negative weights :math:`w_i` (not renormalised); ``None`` means
        :math:`1/n`.
    chunk_size : int or None, default=None
        Rows of ``Y`` per chunk; ``None`` keeps each chunk's cost block at
        about :math:`2^{22}` entries.

    Returns
    -------
    jax.Array of shape (m,)
        :math:`g(Y_k)`.

    Raises
    ------
    ValueError
        If shapes do not match, an input holds NaN/inf, ``eps < 0``, a weight
        is negative or all weights are zero (value checks on concrete inputs).
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    trig_series : Parametric potentials whose conjugates this evaluates.

    Notes
    -----
    The cost is computed as :math:`\tfrac12\lVert x - \bar x\rVert^2 +
    \tfrac12\lVert y - \bar x\rVert^2 - \langle x - \bar x, y - \bar
    x\rangle` with :math:`\bar x` the mean of ``X`` (one matrix product per
    chunk; centring keeps the cancellation error at the scale of the data's
    spread). Gradients with respect to ``f`` are the soft-min weights.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = np.array([[0.0], [1.0]])
    >>> g = numerics.logsumexp_ctransform(X, [0.0, 0.0], [[0.0], [1.0]], 0.0)
    >>> np.asarray(g).tolist()  # min_i |x_i - y|^2 / 2
    [0.0, 0.0]
    >>> g = numerics.logsumexp_ctransform(X, [0.0, 0.0], [[0.0]], 1e-3)
    >>> round(float(g[0]), 4)  # eps * log 2 above the minimum
    0.0007
    """
    Xa = _check_real(as_array(X, name="X", ndim=2, shape_hint="(n, d)"), name="X")
    fa = _check_real(as_array(f, name="f", ndim=1, shape_hint="(n,)"), name="f")
    Ya = _check_real(as_array(Y, name="Y", ndim=2, shape_hint="(m, d)"), name="Y")
    n = Xa.shape[0]
    if fa.shape[0] != n:
        raise ValueError(
            f"f must have one value per row of X (shape ({n},)); got shape "
            f"{tuple(fa.shape)}."
        )
    if Ya.shape[1] != Xa.shape[1]:
        raise ValueError(
            "X and Y must have the same number of columns; got X of shape "
            f"{tuple(Xa.shape)} and Y of shape {tuple(Ya.shape)}."
        )
    hard = False
    if not is_traced(eps):
        e = check_scalar(eps, name="eps", lower=0.0)
        hard = e == 0.0
    if weights is None:
        logw = jnp.full((n,), -math.log(n))
    else:
        w = _check_real(
            as_array(weights, name="weights", ndim=1, shape_hint="(n,)"),
            name="weights",
        )
        if w.shape[0] != n:
            raise ValueError(
                f"weights must have shape ({n},) (one per row of X); got shape "
                f"{tuple(w.shape)}."
            )
        if not is_traced(w):
            wn = np.asarray(w)
            if (wn < 0).any() or wn.sum() <= 0:
                raise ValueError(
                    "weights must be >= 0 with a positive sum; got minimum "
                    f"{wn.min()} and sum {wn.sum()}."
                )
        logw = jnp.log(w)
    if chunk_size is None:
        chunk = max(1, min(Ya.shape[0], _CHUNK_ENTRIES // max(n, 1)))
    else:
        chunk = min(_check_count(chunk_size, name="chunk_size"), Ya.shape[0])
    dtype = jnp.result_type(Xa.dtype, fa.dtype, Ya.dtype, float)
    return _ctransform(
        Xa.astype(dtype),
        fa.astype(dtype),
        Ya.astype(dtype),
        jnp.asarray(eps, dtype),
        logw.astype(dtype),
        chunk=chunk,
        hard=hard,
    )


@partial(jax.jit, static_argnames=("chunk", "hard"))
def _ctransform(
    X: Array, f: Array, Y: Array, eps: Array, logw: Array, *, chunk: int, hard: bool
) -> Array:
    m, d = Y.shape
    centre = jnp.mean(X, axis=0)
    Xc = X - centre[None, :]
    half_x2 = 0.5 * jnp.sum(Xc * Xc, axis=1)
    # f - |x|^2/2 and the log-weights are shared by every chunk; with eps = 0
    # a zero weight removes its point from the minimum.
    if hard:
        base = jnp.where(jnp.isneginf(logw), -jnp.inf, f - half_x2)
    else:
        base = f - half_x2 + eps * logw

    def block(Yb: Array) -> Array:
        Ybc = Yb - centre[None, :]
        inner = jnp.matmul(Ybc, Xc.T, precision=_HIGHEST)  # (chunk, n)
        # (f_i - c_ik) = base_i + <x_i, y_k> - |y_k|^2/2 (weights folded in)
        S = base[None, :] + inner
        half_y2 = 0.5 * jnp.sum(Ybc * Ybc, axis=1)
        if hard:
            return half_y2 - jnp.max(S, axis=1)
        return half_y2 - eps * jax.nn.logsumexp(S / eps, axis=1)

    n_chunks = -(-m // chunk)
    if n_chunks == 1:
        return block(Y)
    pad = n_chunks * chunk - m
    Yp = jnp.concatenate([Y, jnp.broadcast_to(Y[:1], (pad, d))], axis=0)
    out = lax.map(jax.checkpoint(block), Yp.reshape(n_chunks, chunk, d))
    return out.reshape(-1)[:m]

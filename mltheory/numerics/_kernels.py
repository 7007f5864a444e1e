r"""Kernel (Gram) matrices, jitted, with one documented scale convention.

Every function takes data ``X`` of shape ``(n_samples_X, n_features)`` and
optionally ``Y`` of shape ``(n_samples_Y, n_features)`` and returns the
``(n_samples_X, n_samples_Y)`` matrix :math:`K_{ij} = k(x_i, y_j)`; with
``Y=None`` it returns the symmetric Gram matrix :math:`K(X, X)` (exactly
symmetric, and with exact zeros on the diagonal of the squared distances).

**Conventions** (stated once, used everywhere). Stationary kernels are
functions of the scaled distance

.. math::

    r = \frac{\lVert x - x' \rVert}{\ell}

(the GPML / scikit-learn convention), with ``lengthscale`` :math:`\ell > 0`
either a scalar or one value per feature (ARD: coordinate :math:`f` is
divided by :math:`\ell_f`) and ``variance`` :math:`\sigma^2 > 0`:

* RBF: :math:`\sigma^2 e^{-r^2/2}`;
* Matérn 3/2: :math:`\sigma^2 (1 + \sqrt{3} r) e^{-\sqrt{3} r}`;
* Matérn 5/2: :math:`\sigma^2 (1 + \sqrt{5} r + 5 r^2/3) e^{-\sqrt{5} r}`.

Inner-product kernels are functions of

.. math::

    t = \frac{\langle x, x' \rangle}{s},

with ``scale`` :math:`s` defaulting to ``n_features`` (the :math:`1/d`
scaling of El Karoui (2010) and Liang & Rakhlin (2020), under which
:math:`t = O(1)` for inputs with :math:`O(1)` coordinates). The linear kernel
is the plain :math:`\langle x, x' \rangle` without scaling.

A "1/d-scaled" RBF kernel :math:`\exp(-\lVert x - x'\rVert^2 / (\ell^2 d))`
is the RBF kernel above with ``lengthscale`` :math:`= \ell \sqrt{d/2}`.

All computations run in the input dtype (float32 in, float32 out) and use
``Precision.HIGHEST`` matrix products, so accelerators do not silently drop
to reduced-precision passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_in,
    check_scalar,
    describe,
    is_traced,
)

__all__ = [
    "inner_product_kernel",
    "kernel_matrix",
    "linear_kernel",
    "matern_kernel",
    "pairwise_sq_dists",
    "polynomial_kernel",
    "rbf_kernel",
]

_HIGHEST = lax.Precision.HIGHEST


# --------------------------------------------------------------------------
# Validation at the public boundary
# --------------------------------------------------------------------------


def _check_data(X: Any, Y: Any) -> tuple[Array, Array, bool]:
    """Validate ``X`` and ``Y``; return both in a common float dtype.

    The third value says whether ``Y`` was omitted (the symmetric case).
    """
    X = as_array(X, name="X", ndim=2, shape_hint="(n_samples_X, n_features)")
    if Y is None:
        return X, X, True
    Y = as_array(Y, name="Y", ndim=2, shape_hint="(n_samples_Y, n_features)")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            "X and Y must have the same number of features (columns); got X of "
            f"shape {tuple(X.shape)} and Y of shape {tuple(Y.shape)}."
        )
    dtype = jnp.result_type(X.dtype, Y.dtype)
    return X.astype(dtype), Y.astype(dtype), False


def _check_positive(
    value: Any,
    *,
    name: str,
    dtype: Any,
    n_features: int | None = None,
) -> Array:
    """Check a positive parameter: a scalar, or (if ``n_features``) one per feature.

    Tracers pass the shape checks but skip the value checks, so the kernels
    can be vmapped or differentiated over their parameters.
    """
    if isinstance(value, bool):
        raise TypeError(
            f"{name} must be a positive real number; got {describe(value)}."
        )
    if n_features is None:
        arr = as_array(value, name=name, ndim=0, shape_hint="(a scalar)")
    else:
        arr = as_array(
            value,
            name=name,
            ndim=(0, 1),
            shape_hint=f"(a scalar, or one value per feature: shape ({n_features},))",
        )
        if arr.ndim == 1 and arr.shape[0] != n_features:
            raise ValueError(
                f"{name} must be a scalar or have shape ({n_features},) (one value "
                f"per feature of X); got shape {tuple(arr.shape)}."
            )
    if not is_traced(arr):
        values = np.asarray(arr)
        if not (values > 0).all():
            shown = values.item() if values.ndim == 0 else values.min()
            raise ValueError(
                f"{name} must be > 0; got {'minimum ' if values.ndim else ''}{shown}."
            )
    return arr.astype(dtype)


def _scale_or_default(scale: Any, *, dtype: Any, n_features: int) -> Array:
    if scale is None:
        return jnp.asarray(float(n_features), dtype=dtype)
    return _check_positive(scale, name="scale", dtype=dtype)


# --------------------------------------------------------------------------
# Jitted cores (``symmetric`` is static: Y is X and the result is symmetrised)
# --------------------------------------------------------------------------


def _sq_dists(X: Array, Y: Array, symmetric: bool) -> Array:
    # Distances are translation invariant, and the cancellation error of
    # |x|^2 + |y|^2 - 2<x, y> grows with the squared norms, so centre first.
    n, m = X.shape[0], Y.shape[0]
    centre = (jnp.sum(X, axis=0) + jnp.sum(Y, axis=0)) / (n + m)
    Xc = X - centre[None, :]
    Yc = Y - centre[None, :]
    x2 = jnp.sum(Xc * Xc, axis=1)
    y2 = jnp.sum(Yc * Yc, axis=1)
    cross = jnp.matmul(Xc, Yc.T, precision=_HIGHEST)
    d2 = jnp.maximum(x2[:, None] + y2[None, :] - 2 * cross, 0)
    if symmetric:
        d2 = 0.5 * (d2 + d2.T)
        d2 = jnp.where(jnp.eye(n, dtype=bool), jnp.zeros((), d2.dtype), d2)
    return d2


def _scaled(X: Array, lengthscale: Array) -> Array:
    # reshape to (1, d) or (1, 1): explicit rank, so rank promotion never fires
    return X / jnp.reshape(lengthscale, (1, -1))


def _inner(X: Array, Y: Array, symmetric: bool) -> Array:
    gram = jnp.matmul(X, Y.T, precision=_HIGHEST)
    if symmetric:
        gram = 0.5 * (gram + gram.T)
    return gram


def _safe_sqrt(d2: Array) -> Array:
    # sqrt has an infinite derivative at 0; the double `where` keeps the
    # gradient of a kernel that is smooth in r^2 finite there.
    positive = d2 > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, d2, 1)), 0)


@partial(jax.jit, static_argnames=("symmetric",))
def _sq_dists_core(X: Array, Y: Array, symmetric: bool) -> Array:
    return _sq_dists(X, Y, symmetric)


@partial(jax.jit, static_argnames=("symmetric",))
def _rbf_core(
    X: Array, Y: Array, lengthscale: Array, variance: Array, symmetric: bool
) -> Array:
    d2 = _sq_dists(_scaled(X, lengthscale), _scaled(Y, lengthscale), symmetric)
    return variance * jnp.exp(-0.5 * d2)


@partial(jax.jit, static_argnames=("nu", "symmetric"))
def _matern_core(
    X: Array,
    Y: Array,
    lengthscale: Array,
    variance: Array,
    nu: float,
    symmetric: bool,
) -> Array:
    d2 = _sq_dists(_scaled(X, lengthscale), _scaled(Y, lengthscale), symmetric)
    r = _safe_sqrt(d2)
    if nu == 1.5:
        a = math.sqrt(3.0)
        return variance * (1 + a * r) * jnp.exp(-a * r)
    a = math.sqrt(5.0)
    return variance * (1 + a * r + (5.0 / 3.0) * d2) * jnp.exp(-a * r)


@partial(jax.jit, static_argnames=("symmetric",))
def _linear_core(X: Array, Y: Array, symmetric: bool) -> Array:
    return _inner(X, Y, symmetric)


@partial(jax.jit, static_argnames=("degree", "symmetric"))
def _polynomial_core(
    X: Array, Y: Array, offset: Array, scale: Array, degree: int, symmetric: bool
) -> Array:
    return lax.integer_pow(offset + _inner(X, Y, symmetric) / scale, degree)


@partial(jax.jit, static_argnames=("fn", "symmetric"))
def _inner_product_core(
    X: Array, Y: Array, scale: Array, fn: Callable[[Array], Array], symmetric: bool
) -> Array:
    t = _inner(X, Y, symmetric) / scale
    try:
        out = fn(t)
    except TypeError as err:  # includes JAX tracer-conversion errors
        raise TypeError(
            "fn must be an elementwise function written with jax.numpy (it is "
            f"traced by jax.jit); calling it on a traced array failed: {err}"
        ) from err
    out_shape = getattr(out, "shape", None)
    if out_shape != t.shape:
        raise ValueError(
            "fn must act elementwise: fn(t) must have the shape of t "
            f"{tuple(t.shape)}; got {describe(out)}."
        )
    return jnp.asarray(out).astype(t.dtype)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def pairwise_sq_dists(X: ArrayLike, Y: ArrayLike | None = None) -> Array:
    r"""Squared Euclidean distances between the rows of ``X`` and ``Y``.

    Computed by the expansion
    :math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2\langle x, y\rangle` on
    centred data (distances are translation invariant; centring removes most
    of the expansion's cancellation error), clamped at 0. With ``Y=None`` the
    result is exactly symmetric with an exactly zero diagonal.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        :math:`D_{ij} = \lVert x_i - y_j \rVert^2 \ge 0`, in the dtype of the
        inputs.

    Raises
    ------
    ValueError
        If ``X`` or ``Y`` is not 2-D, is empty or holds NaN/inf, or if they
        have different numbers of features.
    TypeError
        If ``X`` or ``Y`` is not array_like of numbers.

    See Also
    --------
    rbf_kernel : Gaussian kernel of these distances.
    matern_kernel : Matérn kernels of these distances.

    Notes
    -----
    The absolute rounding error is about
    :math:`\epsilon \max(\lVert x - c\rVert^2, \lVert y - c \rVert^2)` with
    :math:`c` the mean of all points and :math:`\epsilon` the machine
    epsilon, so relative accuracy is lost only for pairs much closer than
    the spread of the data; with ``Y=None`` each point's distance to itself
    is exactly 0.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[0.0, 0.0], [3.0, 4.0]])
    >>> D = numerics.pairwise_sq_dists(X)
    >>> print(np.round(np.asarray(D), 6))
    [[ 0. 25.]
     [25.  0.]]
    """
    X, Y, symmetric = _check_data(X, Y)
    return _sq_dists_core(X, Y, symmetric)


def rbf_kernel(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    lengthscale: ArrayLike = 1.0,
    variance: ArrayLike = 1.0,
) -> Array:
    r"""Gaussian (RBF, squared-exponential) kernel matrix.

    Stationary kernel of the scaled distance :math:`r`, infinitely smooth;
    the default covariance of Gaussian-process bandits (GP-UCB).

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.
    lengthscale : float or array_like of shape (n_features,), default=1.0
        Length scale :math:`\ell > 0`; a vector gives one scale per feature
        (automatic relevance determination, ARD).
    variance : float, default=1.0
        Signal variance :math:`\sigma^2 > 0`, the value on the diagonal.

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        :math:`K_{ij} = \sigma^2 \exp(-r_{ij}^2 / 2)`, in the dtype of the
        inputs.

    Raises
    ------
    ValueError
        If ``X``/``Y`` are not finite 2-D arrays with the same number of
        features, or ``lengthscale``/``variance`` are not positive or have the
        wrong shape.
    TypeError
        If an input is not array_like of numbers.

    See Also
    --------
    matern_kernel : Rougher stationary kernels.
    kernel_matrix : Dispatch on a kernel name.

    Notes
    -----
    With :math:`r = \lVert (x - x') / \ell \rVert` (division per feature for
    ARD),

    .. math::

        k(x, x') = \sigma^2 \exp\left(-\tfrac{1}{2} r^2\right).

    The bandit convention :math:`\exp(-\lVert x - x'\rVert^2 / (\ell_b^2 d))`
    is ``lengthscale = ell_b * sqrt(d / 2)``.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    >>> K = numerics.rbf_kernel(X, lengthscale=1.0)
    >>> print(round(float(K[0, 1]), 6))  # exp(-1/2)
    0.606531
    """
    X, Y, symmetric = _check_data(X, Y)
    ls = _check_positive(
        lengthscale, name="lengthscale", dtype=X.dtype, n_features=X.shape[1]
    )
    var = _check_positive(variance, name="variance", dtype=X.dtype)
    return _rbf_core(X, Y, ls, var, symmetric)


def matern_kernel(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    nu: float = 2.5,  # 1.5 or 2.5 (typing.Literal cannot hold floats)
    lengthscale: ArrayLike = 1.0,
    variance: ArrayLike = 1.0,
) -> Array:
    r"""Matérn kernel matrix with smoothness 3/2 or 5/2.

    Stationary kernels of the scaled distance :math:`r` whose Gaussian
    processes are once (3/2) or twice (5/2) differentiable, rougher than
    :func:`rbf_kernel`.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.
    nu : {1.5, 2.5}, default=2.5
        Smoothness: sample paths of the Gaussian process are
        :math:`\lceil \nu \rceil - 1` times differentiable.
    lengthscale : float or array_like of shape (n_features,), default=1.0
        Length scale :math:`\ell > 0`; a vector gives one scale per feature
        (ARD).
    variance : float, default=1.0
        Signal variance :math:`\sigma^2 > 0`, the value on the diagonal.

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        The Matérn kernel matrix, in the dtype of the inputs.

    Raises
    ------
    ValueError
        If ``nu`` is not 1.5 or 2.5, ``X``/``Y`` are not finite 2-D arrays with
        the same number of features, or ``lengthscale``/``variance`` are not
        positive or have the wrong shape.
    TypeError
        If an input is not array_like of numbers.

    See Also
    --------
    rbf_kernel : The :math:`\nu \to \infty` limit.
    kernel_matrix : Dispatch on a kernel name (``"matern32"``, ``"matern52"``).

    Notes
    -----
    With :math:`r = \lVert (x - x') / \ell \rVert`,

    .. math::

        k_{3/2}(r) = \sigma^2 (1 + \sqrt{3} r) e^{-\sqrt{3} r}, \qquad
        k_{5/2}(r) = \sigma^2 \left(1 + \sqrt{5} r + \tfrac{5}{3} r^2\right)
        e^{-\sqrt{5} r}.

    Both are smooth functions of :math:`r^2` at :math:`r = 0`; the square root
    is taken so that gradients there are finite (zero), not NaN.

    References
    ----------
    .. [1] C. E. Rasmussen and C. K. I. Williams, "Gaussian Processes for
       Machine Learning", MIT Press, 2006, Section 4.2.1.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[0.0], [1.0]])
    >>> K = numerics.matern_kernel(X, nu=1.5)
    >>> print(round(float(K[0, 1]), 6))  # (1 + sqrt 3) exp(-sqrt 3)
    0.483358
    """
    nu = check_in(nu, name="nu", options=(1.5, 2.5))
    X, Y, symmetric = _check_data(X, Y)
    ls = _check_positive(
        lengthscale, name="lengthscale", dtype=X.dtype, n_features=X.shape[1]
    )
    var = _check_positive(variance, name="variance", dtype=X.dtype)
    return _matern_core(X, Y, ls, var, float(nu), symmetric)


def linear_kernel(X: ArrayLike, Y: ArrayLike | None = None) -> Array:
    r"""Linear kernel: the plain inner products :math:`\langle x, x' \rangle`.

    No :math:`1/d` scaling is applied (use :func:`polynomial_kernel` with
    ``degree=1, offset=0`` for :math:`\langle x, x'\rangle / d`).

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        :math:`K_{ij} = \langle x_i, y_j \rangle`, in the dtype of the inputs.

    Raises
    ------
    ValueError
        If ``X``/``Y`` are not finite 2-D arrays with the same number of
        features.
    TypeError
        If an input is not array_like of numbers.

    See Also
    --------
    polynomial_kernel : Polynomials of the scaled inner product.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    >>> print(np.round(np.asarray(numerics.linear_kernel(X)), 6))
    [[ 5. 11.]
     [11. 25.]]
    """
    X, Y, symmetric = _check_data(X, Y)
    return _linear_core(X, Y, symmetric)


def polynomial_kernel(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    degree: int = 2,
    offset: float = 1.0,
    scale: ArrayLike | None = None,
) -> Array:
    r"""Polynomial kernel of the scaled inner product.

    The inner-product kernel :math:`h(t) = (c + t)^q` with
    :math:`t = \langle x, x' \rangle / s` and :math:`s` = ``n_features`` by
    default.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.
    degree : int, default=2
        Polynomial degree :math:`q \ge 1` (static: each degree compiles once).
    offset : float, default=1.0
        Offset :math:`c \ge 0` (non-negative so that the kernel is positive
        semi-definite).
    scale : float, default=None
        Scale :math:`s > 0` of the inner product; ``None`` means
        ``n_features``.

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        :math:`K_{ij} = (c + \langle x_i, y_j \rangle / s)^q`, in the dtype of
        the inputs.

    Raises
    ------
    ValueError
        If ``X``/``Y`` are not finite 2-D arrays with the same number of
        features, ``degree < 1``, ``offset < 0`` or ``scale <= 0``.
    TypeError
        If an input is not array_like of numbers or ``degree`` is not an
        integer.

    See Also
    --------
    inner_product_kernel : Any function of the scaled inner product.
    linear_kernel : The unscaled inner product.

    Notes
    -----
    .. math::

        k(x, x') = \left(c + \frac{\langle x, x'\rangle}{s}\right)^q,
        \qquad s = d \text{ by default},

    the inner-product kernel :math:`h(t) = (c + t)^q` of the bandit and
    kernel-ridgeless literature (Liang & Rakhlin, 2020).

    References
    ----------
    .. [1] T. Liang and A. Rakhlin, "Just interpolate: Kernel 'ridgeless'
       regression can generalize", Annals of Statistics 48(3), 2020,
       arXiv:1808.00387.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[1.0, 1.0], [1.0, -1.0]])
    >>> K = numerics.polynomial_kernel(X, degree=2)  # (1 + <x, x'>/2)^2
    >>> print(np.round(np.asarray(K), 6))
    [[4. 1.]
     [1. 4.]]
    """
    degree = check_scalar(degree, name="degree", kind=int, lower=1)
    offset_value = check_scalar(offset, name="offset", lower=0.0)
    X, Y, symmetric = _check_data(X, Y)
    scale_arr = _scale_or_default(scale, dtype=X.dtype, n_features=X.shape[1])
    offset_arr = jnp.asarray(offset_value, dtype=X.dtype)
    return _polynomial_core(X, Y, offset_arr, scale_arr, degree, symmetric)


def inner_product_kernel(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    fn: Callable[[Array], Array] = jnp.exp,
    scale: ArrayLike | None = None,
) -> Array:
    r"""Inner-product kernel :math:`h(\langle x, x' \rangle / s)`.

    Any elementwise function of the scaled inner product, with the
    :math:`1/d` scaling (:math:`s` = ``n_features``) by default; the default
    :math:`h = \exp` is the kernel of the high-dimensional bandit literature.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.
    fn : callable, default=jax.numpy.exp
        The function :math:`h`, applied elementwise; any callable written with
        :mod:`jax.numpy`. It is a static argument of :func:`jax.jit`: pass the
        same function object each time (not a fresh ``lambda``) to avoid
        recompiling.
    scale : float, default=None
        Scale :math:`s > 0` of the inner product; ``None`` means
        ``n_features``.

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        :math:`K_{ij} = h(\langle x_i, y_j \rangle / s)`, in the dtype of the
        inputs.

    Raises
    ------
    ValueError
        If ``X``/``Y`` are not finite 2-D arrays with the same number of
        features, ``scale <= 0``, or ``fn`` does not act elementwise.
    TypeError
        If an input is not array_like of numbers, ``fn`` is not callable, or
        ``fn`` cannot be traced by JAX.

    See Also
    --------
    polynomial_kernel : :math:`h(t) = (c + t)^q`.

    Notes
    -----
    .. math::

        k(x, x') = h\left(\frac{\langle x, x'\rangle}{s}\right), \qquad
        s = d \text{ by default}.

    :math:`h` gives a positive semi-definite kernel in every dimension when
    its Taylor coefficients are non-negative (Schoenberg), as for the
    default :math:`h = \exp`; other choices are accepted but not checked.
    Under the :math:`1/d` scaling and high-dimensional data, such a kernel
    matrix is close to a linear kernel plus a constant and a multiple of the
    identity (El Karoui, 2010).

    References
    ----------
    .. [1] N. El Karoui, "The spectrum of kernel random matrices", Annals of
       Statistics 38(1), 2010, arXiv:1001.0492.
    .. [2] T. Liang and A. Rakhlin, "Just interpolate: Kernel 'ridgeless'
       regression can generalize", Annals of Statistics 48(3), 2020,
       arXiv:1808.00387.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[1.0, 1.0], [1.0, -1.0]])
    >>> K = numerics.inner_product_kernel(X)  # exp(<x, x'> / 2)
    >>> print(np.round(np.asarray(K), 6))
    [[2.718282 1.      ]
     [1.       2.718282]]
    """
    check_callable(fn, name="fn")
    X, Y, symmetric = _check_data(X, Y)
    scale_arr = _scale_or_default(scale, dtype=X.dtype, n_features=X.shape[1])
    return _inner_product_core(X, Y, scale_arr, fn, symmetric)


_KERNELS: dict[str, tuple[Callable[..., Array], dict[str, Any], tuple[str, ...]]] = {
    "rbf": (rbf_kernel, {}, ("lengthscale", "variance")),
    "matern32": (matern_kernel, {"nu": 1.5}, ("lengthscale", "variance")),
    "matern52": (matern_kernel, {"nu": 2.5}, ("lengthscale", "variance")),
    "linear": (linear_kernel, {}, ()),
    "polynomial": (polynomial_kernel, {}, ("degree", "offset", "scale")),
    "inner_product": (inner_product_kernel, {}, ("fn", "scale")),
}


def kernel_matrix(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    kernel: Literal[
        "rbf", "matern32", "matern52", "linear", "polynomial", "inner_product"
    ] = "rbf",
    **params: Any,
) -> Array:
    r"""Kernel matrix of a kernel chosen by name.

    A single entry point for code that takes the kernel as a configuration
    string; it forwards to the named function.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        First set of points, one per row. Must be finite.
    Y : array_like of shape (n_samples_Y, n_features), default=None
        Second set of points. ``None`` means ``Y = X``.
    kernel : str, default="rbf"
        One of ``"rbf"``, ``"matern32"``, ``"matern52"``, ``"linear"``,
        ``"polynomial"``, ``"inner_product"``: :func:`rbf_kernel`,
        :func:`matern_kernel` with ``nu=1.5`` or ``nu=2.5``,
        :func:`linear_kernel`, :func:`polynomial_kernel` or
        :func:`inner_product_kernel`.
    **params
        Keyword parameters of that kernel: ``lengthscale``, ``variance``
        (rbf, matern32, matern52); none (linear); ``degree``, ``offset``,
        ``scale`` (polynomial); ``fn``, ``scale`` (inner_product).

    Returns
    -------
    jax.Array of shape (n_samples_X, n_samples_Y)
        The kernel matrix, in the dtype of the inputs.

    Raises
    ------
    ValueError
        If ``kernel`` is not one of the names above, or the named kernel
        rejects the data or a parameter value.
    TypeError
        If ``params`` holds a name that the kernel does not accept.

    See Also
    --------
    rbf_kernel : The ``"rbf"`` kernel.
    matern_kernel : The ``"matern32"`` and ``"matern52"`` kernels.
    polynomial_kernel : The ``"polynomial"`` kernel.
    inner_product_kernel : The ``"inner_product"`` kernel.

    Examples
    --------
    >>> from mltheory import numerics
    >>> X = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    >>> K = numerics.kernel_matrix(X, kernel="matern52", lengthscale=2.0)
    >>> K.shape
    (2, 2)
    >>> print(round(float(K[0, 1]), 6))
    0.828649
    """
    check_in(kernel, name="kernel", options=tuple(_KERNELS))
    function, fixed, accepted = _KERNELS[kernel]
    unexpected = sorted(set(params) - set(accepted))
    if unexpected:
        accepts = ", ".join(accepted) if accepted else "no parameters"
        raise TypeError(
            f"kernel_matrix got parameter(s) {', '.join(map(repr, unexpected))} "
            f"that kernel={kernel!r} does not accept; it accepts: {accepts}."
        )
    return function(X, Y, **fixed, **params)

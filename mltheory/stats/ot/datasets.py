r"""Synthetic pairs of measures on a Hilbert space with a known OT map.

* :func:`make_gaussian_process_pair`: two centred (or shifted) Gaussian
  processes with commuting covariance operators,
  :math:`X = \sum_j \sqrt{\lambda_j}\,\xi_j \psi_j` and :math:`Y = \sum_j
  \sqrt{\kappa_j}\,\xi'_j \psi_j`, whose OT map scales coordinate :math:`j`
  by :math:`\sqrt{\kappa_j/\lambda_j}`;
* :func:`make_gamma_smooth_pair`: a non-Gaussian source
  :math:`X = \sum_j \sigma_j U_j \psi_j`, :math:`U_j \sim U[-1, 1]`,
  :math:`\sigma_j = j^{-\alpha}`, pushed by the gradient of the convex
  potential

  .. math::

      \varphi_0(x) = \tfrac12\lVert x\rVert^2
      - \sum_{j \le J_0} \frac{c\,\sigma_j^2}{\pi^2}\cos(\pi u_j)
      + \eta \sum_{j < k \le J_0} \frac{\sigma_k^2}{\pi^2}
        \cos(\pi(u_j + u_k)),

      u_j = x_j/\sigma_j,

  i.e. :math:`T_0(x)_j = x_j + \frac{c\sigma_j}{\pi}\sin(\pi u_j) +
  \text{coupling}`; convex when :math:`|c| + 2|\eta|(J_0 - 1) \le 1`
  (Gershgorin). In the box coordinates :math:`(u_j + 1)/2` every term is a
  single trigonometric frequency, so the map lies in every gamma-sieve
  whose budget reaches the first :math:`J_0` coordinates.

Both return coefficient arrays by default, or
:class:`~mltheory.numerics.FunctionalData` curves on a grid with
``n_grid``. The target sample is independent of the source sample
(unpaired), drawn as :math:`T_0` of fresh source draws.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import as_numpy, check_in, check_scalar
from mltheory._src._x64 import float64_scope
from mltheory.numerics import FunctionalData, make_basis, make_grid, project
from mltheory.stats.ot._closed_forms import commuting_gaussian_map, gaussian_w2_squared

__all__ = ["OTPair", "make_gamma_smooth_pair", "make_gaussian_process_pair"]


@dataclasses.dataclass(frozen=True)
class OTPair:
    r"""Samples from a source and a target measure, and the true OT map.

    Unpacks as ``X, Y, transport, grid = pair``.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, J) or FunctionalData
        Source sample.
    Y : numpy.ndarray of shape (n, J) or FunctionalData
        Target sample (independent of ``X``).
    transport : callable
        The true map :math:`T_0`, for inputs of the kind of ``X``
        (picklable).
    grid : numpy.ndarray of shape (G,) or None
        The grid of curves (``None`` for coefficient arrays).
    basis : numpy.ndarray of shape (G, J) or None
        The basis that synthesised the curves.
    w2_squared : float or None
        :math:`W_2^2(\mu, \nu) = \lVert T_0 - \mathrm{id}\rVert^2_{L^2(\mu)}`
        where known in closed form.
    lam_src, lam_tgt : numpy.ndarray of shape (J,) or None
        Eigenvalues of the Gaussian pair's covariance operators.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> X, Y, T, grid = ot.datasets.make_gaussian_process_pair(5, n_coefficients=3)
    >>> X.shape, grid is None
    ((5, 3), True)
    """

    X: Any
    Y: Any
    transport: Callable[[Any], Any]
    grid: np.ndarray | None = None
    basis: np.ndarray | None = None
    w2_squared: float | None = None
    lam_src: np.ndarray | None = None
    lam_tgt: np.ndarray | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.X, self.Y, self.transport, self.grid))


def _curves_map(
    Z: Any, *, coefficient_map: Callable[[np.ndarray], np.ndarray], basis: np.ndarray
) -> Any:
    """Apply a coefficient map to curves: project, map, add the change back."""
    if not isinstance(Z, FunctionalData):
        raise TypeError("this transport maps FunctionalData (the pair's curves).")
    values = np.asarray(Z.values, dtype=np.float64)
    with float64_scope():
        c = np.asarray(project(values, basis, np.asarray(Z.weights)))
    new = values + (coefficient_map(c) - c) @ basis.T
    return Z.with_values(jnp.asarray(new))


def _synthesise(
    cx: np.ndarray,
    cy: np.ndarray,
    coefficient_map: Callable[[np.ndarray], np.ndarray],
    n_grid: int | None,
    basis_kind: str,
) -> tuple[Any, Any, Callable[[Any], Any], np.ndarray | None, np.ndarray | None]:
    if n_grid is None:
        return cx, cy, coefficient_map, None, None
    J = cx.shape[1]
    if n_grid < 2 * J:
        raise ValueError(
            f"n_coefficients must be <= n_grid // 2 = {n_grid // 2} for curves (one "
            f"basis function per two grid points); got {J}."
        )
    with float64_scope():
        grid = np.asarray(make_grid(n_grid))
        B = np.asarray(make_basis(basis_kind, grid, J))  # type: ignore[arg-type]
        X = FunctionalData(jnp.asarray(cx @ B.T), jnp.asarray(grid))
        Y = FunctionalData(jnp.asarray(cy @ B.T), jnp.asarray(grid))
    T = functools.partial(_curves_map, coefficient_map=coefficient_map, basis=B)
    return X, Y, T, grid, B


def _common(
    n: Any, n_grid: Any, basis: Any, random_state: Any
) -> tuple[int, int | None, np.random.Generator]:
    n = check_scalar(n, name="n", kind=int, lower=2)
    if n_grid is not None:
        n_grid = check_scalar(n_grid, name="n_grid", kind=int, lower=4)
    check_in(basis, name="basis", options=("sine", "fourier", "legendre", "bspline"))
    seed = check_scalar(random_state, name="random_state", kind=int, lower=0)
    return n, n_grid, np.random.default_rng(seed)


def make_gaussian_process_pair(
    n: int,
    *,
    n_coefficients: int | None = None,
    lam: ArrayLike | None = None,
    ratio: ArrayLike | None = None,
    mean_src: ArrayLike | None = None,
    mean_tgt: ArrayLike | None = None,
    n_grid: int | None = None,
    basis: Literal["sine", "fourier", "legendre", "bspline"] = "sine",
    random_state: int = 0,
) -> OTPair:
    r"""Two Gaussian processes with commuting covariances and their OT map.

    :math:`X_j = m_{1,j} + \sqrt{\lambda_j}\,\xi_j`, :math:`Y_j = m_{2,j} +
    \sqrt{\kappa_j}\,\xi'_j` with :math:`\kappa_j = r_j\lambda_j` and
    independent standard normals; :math:`T_0(x)_j = m_{2,j} + \sqrt{r_j}(x_j -
    m_{1,j})`. Defaults: :math:`\lambda_j = j^{-2}`,
    :math:`r_j = (1 + 1/j)^2`.

    Parameters
    ----------
    n : int
        Samples of each measure, ``>= 2``.
    n_coefficients : int or None, default=None
        Coordinates :math:`J` (``None``: the length of ``lam``, else 200, or
        ``n_grid // 2`` for curves).
    lam : array_like of shape (J,) or None, default=None
        Source eigenvalues, ``> 0``.
    ratio : array_like of shape (J,) or None, default=None
        :math:`\kappa_j/\lambda_j`, ``>= 0``.
    mean_src, mean_tgt : array_like of shape (J,) or None, default=None
        Mean coefficients (``None``: zero).
    n_grid : int or None, default=None
        Return curves on this many equispaced points of :math:`[0, 1]`.
    basis : {"sine", "fourier", "legendre", "bspline"}, default="sine"
        Basis that turns coefficients into curves.
    random_state : int, default=0
        Seed.

    Returns
    -------
    OTPair
        ``X``, ``Y``, the true map, the grid, :math:`W_2^2` and the
        eigenvalues.

    Raises
    ------
    ValueError
        If an argument is out of range or shapes disagree.
    TypeError
        If an integer argument is not an integer.

    See Also
    --------
    commuting_gaussian_map : The map.
    truncation_bias : Error of its truncations.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> pair = ot.datasets.make_gaussian_process_pair(1000, n_coefficients=50)
    >>> round(pair.w2_squared, 4)
    1.0823
    >>> pair.X.shape
    (1000, 50)
    """
    n, n_grid, rng = _common(n, n_grid, basis, random_state)
    if n_coefficients is None:
        if lam is not None:
            J = int(np.size(lam))
        else:
            J = 200 if n_grid is None else n_grid // 2
    else:
        J = check_scalar(n_coefficients, name="n_coefficients", kind=int, lower=1)
    j = np.arange(1, J + 1, dtype=np.float64)
    lam_ = (
        j**-2.0 if lam is None else as_numpy(lam, name="lam", ndim=1, shape_hint="(J,)")
    )
    r = (
        (1.0 + 1.0 / j) ** 2
        if ratio is None
        else as_numpy(ratio, name="ratio", ndim=1, shape_hint="(J,)")
    )
    for arr, name in ((lam_, "lam"), (r, "ratio")):
        if arr.shape != (J,):
            raise ValueError(f"{name} must have shape ({J},); got {arr.shape}.")
    if (lam_ <= 0).any():
        raise ValueError(f"lam must be > 0; got minimum {lam_.min()}.")
    if (r < 0).any():
        raise ValueError(f"ratio must be >= 0; got minimum {r.min()}.")
    kap = lam_ * r
    m1 = (
        np.zeros(J) if mean_src is None else as_numpy(mean_src, name="mean_src", ndim=1)
    )
    m2 = (
        np.zeros(J) if mean_tgt is None else as_numpy(mean_tgt, name="mean_tgt", ndim=1)
    )
    T = commuting_gaussian_map(lam_, kap, m1, m2)
    cx = m1[None, :] + np.sqrt(lam_)[None, :] * rng.standard_normal((n, J))
    cy = m2[None, :] + np.sqrt(kap)[None, :] * rng.standard_normal((n, J))
    X, Y, transport, grid, B = _synthesise(cx, cy, T, n_grid, basis)
    return OTPair(
        X=X,
        Y=Y,
        transport=transport,
        grid=grid,
        basis=B,
        w2_squared=gaussian_w2_squared(m1, lam_, m2, kap),
        lam_src=lam_,
        lam_tgt=kap,
    )


def _gamma_map(
    X: ArrayLike, *, sigma: np.ndarray, c: np.ndarray, eta: float, J0: int
) -> np.ndarray:
    Z = as_numpy(X, name="X", ndim=2, shape_hint="(n, J)")
    if Z.shape[1] != sigma.shape[0]:
        raise ValueError(
            f"X must have {sigma.shape[0]} coefficients per row; got shape {Z.shape}."
        )
    s = sigma[:J0]
    u = Z[:, :J0] / s[None, :]
    out = Z.copy()
    out[:, :J0] += c[None, :] * s[None, :] * np.sin(np.pi * u) / np.pi
    if eta != 0.0 and J0 > 1:
        j, k = np.triu_indices(J0, 1)
        sn = np.sin(np.pi * (u[:, j] + u[:, k]))
        amp = eta * s[k] ** 2 / np.pi
        np.add.at(out.T, j, -(amp / s[j])[:, None] * sn.T)
        np.add.at(out.T, k, -(amp / s[k])[:, None] * sn.T)
    return out


def make_gamma_smooth_pair(
    n: int,
    *,
    alpha: float = 1.0,
    J0: int = 8,
    c: float | ArrayLike = 0.5,
    eta: float = 0.0,
    n_coefficients: int = 32,
    n_grid: int | None = None,
    basis: Literal["sine", "fourier", "legendre", "bspline"] = "sine",
    random_state: int = 0,
) -> OTPair:
    r"""A non-Gaussian source and the push-forward by a gamma-smooth convex gradient.

    See the module notes for the potential. :math:`W_2^2 =
    \sum_{j \le J_0} c_j^2\sigma_j^2/(2\pi^2)` when :math:`\eta = 0`.

    Parameters
    ----------
    n : int
        Samples of each measure, ``>= 2``.
    alpha : float, default=1.0
        Decay :math:`\sigma_j = j^{-\alpha}`, ``> 0``.
    J0 : int, default=8
        Coordinates the map moves, ``1 <= J0 <= n_coefficients``.
    c : float or array_like of shape (J0,), default=0.5
        Amplitudes of the separable terms.
    eta : float, default=0.0
        Coupling amplitude.
    n_coefficients : int, default=32
        Coordinates :math:`J`.
    n_grid : int or None, default=None
        Return curves on this many equispaced points of :math:`[0, 1]`.
    basis : {"sine", "fourier", "legendre", "bspline"}, default="sine"
        Basis that turns coefficients into curves.
    random_state : int, default=0
        Seed.

    Returns
    -------
    OTPair
        ``X``, ``Y``, the true map and the grid.

    Raises
    ------
    ValueError
        If an argument is out of range, or :math:`\max_j |c_j| +
        2|\eta|(J_0 - 1) > 1` (the potential might not be convex).

    See Also
    --------
    GammaSieveOTMap : The estimator this pair is made for.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> pair = ot.datasets.make_gamma_smooth_pair(100, J0=2, n_coefficients=4)
    >>> pair.X.shape, round(pair.w2_squared, 6)
    ((100, 4), 0.015831)
    """
    n, n_grid, rng = _common(n, n_grid, basis, random_state)
    alpha = check_scalar(alpha, name="alpha", lower=0.0, lower_inclusive=False)
    J = check_scalar(n_coefficients, name="n_coefficients", kind=int, lower=1)
    J0 = check_scalar(J0, name="J0", kind=int, lower=1, upper=J)
    eta = check_scalar(eta, name="eta")
    c_arr = np.broadcast_to(as_numpy(c, name="c", ndim=(0, 1)), (J0,)).astype(
        np.float64
    )
    bound = float(np.max(np.abs(c_arr))) + 2.0 * abs(eta) * (J0 - 1)
    if bound > 1.0:
        raise ValueError(
            "the potential must be convex: max|c| + 2|eta|(J0 - 1) <= 1 is needed; "
            f"got {bound:.3g}."
        )
    sigma = np.arange(1, J + 1, dtype=np.float64) ** -alpha
    T = functools.partial(_gamma_map, sigma=sigma, c=c_arr, eta=eta, J0=J0)
    cx = sigma[None, :] * rng.uniform(-1.0, 1.0, (n, J))
    cy = T(sigma[None, :] * rng.uniform(-1.0, 1.0, (n, J)))
    X, Y, transport, grid, B = _synthesise(cx, cy, T, n_grid, basis)
    w2 = (
        float(np.sum(c_arr**2 * sigma[:J0] ** 2) / (2 * np.pi**2))
        if eta == 0.0
        else None
    )
    return OTPair(X=X, Y=Y, transport=transport, grid=grid, basis=B, w2_squared=w2)

r"""Closed forms: Gaussian OT maps, W2 distances, truncation bias, map errors.

For Gaussian measures :math:`\mu = N(m_1, \Sigma_1)`, :math:`\nu = N(m_2,
\Sigma_2)` with :math:`\Sigma_1` invertible, the quadratic-cost OT map is the
affine map (Knott and Smith, 1984)

.. math::

    T(x) = m_2 + A(x - m_1), \qquad
    A = \Sigma_1^{-1/2}\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2}
        \Sigma_1^{-1/2},

and :math:`W_2^2(\mu, \nu) = \lVert m_1 - m_2\rVert^2 + \operatorname{tr}
\Sigma_1 + \operatorname{tr}\Sigma_2 - 2\operatorname{tr}(\Sigma_1^{1/2}
\Sigma_2 \Sigma_1^{1/2})^{1/2}`. When the covariance operators commute (a
common eigenbasis, eigenvalues :math:`\lambda_j` and :math:`\kappa_j`), both
reduce to coordinatewise formulas that hold in a separable Hilbert space:
:math:`T(x)_j = m_{2,j} + \sqrt{\kappa_j/\lambda_j}\,(x_j - m_{1,j})` and
:math:`W_2^2 = \lVert m_1 - m_2 \rVert^2 + \sum_j (\sqrt{\kappa_j} -
\sqrt{\lambda_j})^2`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_scalar,
    describe,
    renamed_arguments,
)
from mltheory.numerics import FunctionalData, sqrtm_psd

__all__ = [
    "commuting_gaussian_map",
    "gaussian_ot_map",
    "gaussian_w2_squared",
    "l2_map_error",
    "truncation_bias",
]


def _real(arr: Any, name: str) -> Any:
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real; got complex dtype {arr.dtype}.")
    return arr


def _checked_sqrtm(S: Any, name: str) -> Array:
    """``sqrtm_psd`` whose symmetry/PSD errors name the user's argument."""
    with renamed_arguments({"A": name}):
        return sqrtm_psd(S)


def _check_gaussian(
    mean: Any, cov: Any, *, which: str, dim: int | None = None
) -> tuple[Array, Array]:
    C = _real(
        as_array(cov, name=f"cov_{which}", ndim=(1, 2), shape_hint="(D, D) or (D,)"),
        f"cov_{which}",
    )
    d = C.shape[0]
    if C.ndim == 2 and C.shape[1] != d:
        raise ValueError(
            f"cov_{which} must be square (D, D); got shape {tuple(C.shape)}."
        )
    if dim is not None and d != dim:
        raise ValueError(
            f"cov_src and cov_tgt must have the same dimension; got {dim} and {d}."
        )
    if mean is None:
        m = jnp.zeros((d,), dtype=jnp.result_type(C.dtype, float))
    else:
        m = _real(
            as_array(mean, name=f"mean_{which}", ndim=1, shape_hint="(D,)"), "mean"
        )
        if m.shape[0] != d:
            raise ValueError(
                f"mean_{which} must have shape ({d},) to match cov_{which}; got "
                f"shape {tuple(m.shape)}."
            )
    if C.ndim == 1 and not bool(jnp.all(C >= 0)):
        raise ValueError(
            f"cov_{which} given as eigenvalues must be >= 0; got minimum "
            f"{float(jnp.min(C))}."
        )
    return m, C


def gaussian_ot_map(
    mean_src: ArrayLike,
    cov_src: ArrayLike,
    mean_tgt: ArrayLike,
    cov_tgt: ArrayLike,
    *,
    reg: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The OT map between two Gaussians: :math:`T(x) = A x + b`.

    :math:`A = \Sigma_1^{-1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}
    \Sigma_1^{-1/2}` (symmetric positive semidefinite) and :math:`b = m_2 -
    A m_1`, with :math:`\Sigma_k + \mathrm{reg}\, I` in place of
    :math:`\Sigma_k`.

    Parameters
    ----------
    mean_src : array_like of shape (D,)
        Source mean :math:`m_1`.
    cov_src : array_like of shape (D, D)
        Source covariance :math:`\Sigma_1`, symmetric positive definite
        (after adding ``reg``).
    mean_tgt : array_like of shape (D,)
        Target mean :math:`m_2`.
    cov_tgt : array_like of shape (D, D)
        Target covariance :math:`\Sigma_2`, symmetric PSD.
    reg : float, default=0.0
        Ridge added to both covariances, ``>= 0``.

    Returns
    -------
    A : numpy.ndarray of shape (D, D)
        The symmetric linear part (float64; computed on the host).
    b : numpy.ndarray of shape (D,)
        The offset.

    Raises
    ------
    ValueError
        If the shapes disagree, an input holds NaN/inf, a covariance is not
        symmetric PSD, ``cov_src + reg I`` is singular (use ``reg > 0``) or
        ``reg < 0``.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    gaussian_w2_squared : The transport cost.
    GaussianOTMap : The estimator from samples.

    Notes
    -----
    :math:`A` is the unique symmetric PSD solution of :math:`A \Sigma_1 A =
    \Sigma_2`. It equals POT's ``ot.gaussian.bures_wasserstein_mapping``
    (which applies ``x @ A + b``; ``A`` is symmetric).

    References
    ----------
    .. [1] M. Knott and C. S. Smith, "On the optimal mapping of
       distributions", J. Optim. Theory Appl. 43, 1984.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> A, b = ot.gaussian_ot_map([0.0, 0.0], np.eye(2), [1.0, 0.0], 4 * np.eye(2))
    >>> np.asarray(A).round(6).tolist(), np.asarray(b).round(6).tolist()
    ([[2.0, 0.0], [0.0, 2.0]], [1.0, 0.0])
    """
    reg = check_scalar(reg, name="reg", lower=0.0)
    m1, C1 = _check_gaussian(mean_src, cov_src, which="src")
    m2, C2 = _check_gaussian(mean_tgt, cov_tgt, which="tgt", dim=C1.shape[0])
    if C1.ndim != 2 or C2.ndim != 2:
        raise ValueError(
            "cov_src and cov_tgt must be (D, D) matrices; for diagonal covariances "
            "use commuting_gaussian_map."
        )
    eye = np.eye(C1.shape[0])
    S1 = np.asarray(C1, dtype=np.float64) + reg * eye
    S2 = np.asarray(C2, dtype=np.float64) + reg * eye
    _checked_sqrtm(S1, "cov_src")  # validates symmetry and PSD
    _checked_sqrtm(S2, "cov_tgt")
    ev = np.linalg.eigvalsh(S1)
    if ev[0] <= 1e3 * np.finfo(np.float64).eps * max(ev[-1], 0.0):
        raise ValueError(
            "cov_src (+ reg I) must be positive definite for the map to exist as a "
            f"matrix; got smallest eigenvalue {ev[0]:.3e}. Use reg > 0 or fewer "
            "coordinates."
        )
    A = _bures_map(S1, S2)
    return A, np.asarray(m2, dtype=np.float64) - A @ np.asarray(m1, dtype=np.float64)


def _bures_map(
    C1: np.ndarray, C2: np.ndarray, eig1: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """A = C1^{-1/2} (C1^{1/2} C2 C1^{1/2})^{1/2} C1^{-1/2} by two eigh (host).

    ``eig1``: the eigendecomposition of ``C1`` when the caller has it.
    """
    vals, vecs = np.linalg.eigh(0.5 * (C1 + C1.T)) if eig1 is None else eig1
    root = (vecs * np.sqrt(vals)[None, :]) @ vecs.T
    inv_root = (vecs / np.sqrt(vals)[None, :]) @ vecs.T
    middle = root @ C2 @ root
    mv, mV = np.linalg.eigh(0.5 * (middle + middle.T))
    mid_root = (mV * np.sqrt(np.maximum(mv, 0.0))[None, :]) @ mV.T
    A = inv_root @ mid_root @ inv_root
    return 0.5 * (A + A.T)


def gaussian_w2_squared(
    mean_src: ArrayLike | None,
    cov_src: ArrayLike,
    mean_tgt: ArrayLike | None,
    cov_tgt: ArrayLike,
) -> float:
    r"""Squared 2-Wasserstein distance between two Gaussians.

    For matrices, the Bures–Wasserstein formula :math:`\lVert m_1 -
    m_2\rVert^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2 -
    2\operatorname{tr}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}`; for
    1-D inputs (eigenvalues :math:`\lambda_j`, :math:`\kappa_j` of commuting
    covariance operators in a common basis) :math:`\lVert m_1 - m_2\rVert^2
    + \sum_j (\sqrt{\kappa_j} - \sqrt{\lambda_j})^2`.

    Parameters
    ----------
    mean_src : array_like of shape (D,) or None
        Source mean (``None``: zero).
    cov_src : array_like of shape (D, D) or (D,)
        Source covariance, or its eigenvalues.
    mean_tgt : array_like of shape (D,) or None
        Target mean (``None``: zero).
    cov_tgt : array_like of shape (D, D) or (D,)
        Target covariance, or its eigenvalues (same form as ``cov_src``).

    Returns
    -------
    float
        :math:`W_2^2(N(m_1, \Sigma_1), N(m_2, \Sigma_2))`.

    Raises
    ------
    ValueError
        If the shapes disagree, the two covariances are given in different
        forms, an input holds NaN/inf, or a covariance is not PSD.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    gaussian_ot_map : The map that attains it.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> round(ot.gaussian_w2_squared(None, [1.0, 4.0], None, [4.0, 1.0]), 12)
    2.0
    >>> round(ot.gaussian_w2_squared([0.0], [[1.0]], [3.0], [[1.0]]), 12)
    9.0
    """
    m1, C1 = _check_gaussian(mean_src, cov_src, which="src")
    m2, C2 = _check_gaussian(mean_tgt, cov_tgt, which="tgt", dim=C1.shape[0])
    if C1.ndim != C2.ndim:
        raise ValueError(
            "cov_src and cov_tgt must both be matrices or both eigenvalue vectors; "
            f"got shapes {tuple(C1.shape)} and {tuple(C2.shape)}."
        )
    shift = float(jnp.sum((m1 - m2) ** 2))
    if C1.ndim == 1:
        return shift + float(jnp.sum((jnp.sqrt(C2) - jnp.sqrt(C1)) ** 2))
    root = _checked_sqrtm(C1, "cov_src")
    _checked_sqrtm(C2, "cov_tgt")  # validates
    middle = root @ C2 @ root
    mv = jnp.linalg.eigvalsh(0.5 * (middle + middle.T))
    cross = jnp.sum(jnp.sqrt(jnp.maximum(mv, 0.0)))
    return shift + float(jnp.trace(C1) + jnp.trace(C2) - 2.0 * cross)


def _diagonal_map(
    x: ArrayLike, *, scale: np.ndarray, mean_src: np.ndarray, mean_tgt: np.ndarray
) -> np.ndarray:
    X = as_numpy(x, name="X", ndim=2, shape_hint="(n, J)")
    if X.shape[1] != scale.shape[0]:
        raise ValueError(
            f"X must have {scale.shape[0]} coefficients per row; got shape {X.shape}."
        )
    return mean_tgt[None, :] + scale[None, :] * (X - mean_src[None, :])


def commuting_gaussian_map(
    lam_src: ArrayLike,
    lam_tgt: ArrayLike,
    mean_src: ArrayLike | None = None,
    mean_tgt: ArrayLike | None = None,
) -> Callable[[ArrayLike], np.ndarray]:
    r"""The OT map between Gaussians with commuting covariance operators.

    In the common eigenbasis, :math:`T(x)_j = m_{2,j} + \sqrt{\kappa_j /
    \lambda_j}\,(x_j - m_{1,j})`; valid in a separable Hilbert space when
    :math:`\sup_j \kappa_j/\lambda_j < \infty`.

    Parameters
    ----------
    lam_src : array_like of shape (J,)
        Source eigenvalues :math:`\lambda_j > 0`.
    lam_tgt : array_like of shape (J,)
        Target eigenvalues :math:`\kappa_j \ge 0`.
    mean_src : array_like of shape (J,) or None, default=None
        Source mean coefficients (``None``: zero).
    mean_tgt : array_like of shape (J,) or None, default=None
        Target mean coefficients (``None``: zero).

    Returns
    -------
    callable
        ``T(X)`` for coefficient arrays ``X`` of shape ``(n, J)``, returning a
        :class:`numpy.ndarray` of the same shape; picklable.

    Raises
    ------
    ValueError
        If shapes differ, a value is non-finite, :math:`\lambda_j \le 0` or
        :math:`\kappa_j < 0`.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    gaussian_w2_squared : Its transport cost.
    truncation_bias : The error of truncating it.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> T = ot.commuting_gaussian_map([1.0, 1.0], [4.0, 9.0])
    >>> T([[1.0, 1.0]]).tolist()
    [[2.0, 3.0]]
    """
    lam = _real(as_numpy(lam_src, name="lam_src", ndim=1, shape_hint="(J,)"), "lam_src")
    kap = _real(as_numpy(lam_tgt, name="lam_tgt", ndim=1, shape_hint="(J,)"), "lam_tgt")
    if lam.shape != kap.shape:
        raise ValueError(
            "lam_src and lam_tgt must have the same shape; got "
            f"{lam.shape} and {kap.shape}."
        )
    if (lam <= 0).any():
        raise ValueError(
            f"lam_src must be > 0 (the map divides by it); got minimum {lam.min()}."
        )
    if (kap < 0).any():
        raise ValueError(f"lam_tgt must be >= 0; got minimum {kap.min()}.")
    J = lam.shape[0]
    means = []
    for m, name in ((mean_src, "mean_src"), (mean_tgt, "mean_tgt")):
        if m is None:
            means.append(np.zeros(J))
            continue
        arr = _real(as_numpy(m, name=name, ndim=1, shape_hint="(J,)"), name)
        if arr.shape != (J,):
            raise ValueError(f"{name} must have shape ({J},); got {arr.shape}.")
        means.append(arr)
    return functools.partial(
        _diagonal_map,
        scale=np.sqrt(kap / lam),
        mean_src=means[0],
        mean_tgt=means[1],
    )


def truncation_bias(
    lam_src: ArrayLike, ratio: ArrayLike, D: int | ArrayLike
) -> float | np.ndarray:
    r"""Error of a map that is exact on the first D coordinates and the identity after.

    For zero-mean Gaussians with commuting covariances, eigenvalues
    :math:`\lambda_j` and ratios :math:`r_j = \kappa_j/\lambda_j`,

    .. math::

        b(D) = \sum_{j > D} \lambda_j\,(\sqrt{r_j} - 1)^2,

    the squared :math:`L^2(\mu)` distance between the OT map and its
    truncation (identity on the tail): a lower bound on the error of every
    estimator of that form.

    Parameters
    ----------
    lam_src : array_like of shape (J,)
        Source eigenvalues, ``>= 0``.
    ratio : array_like of shape (J,)
        :math:`\kappa_j / \lambda_j`, ``>= 0``.
    D : int or array_like of int
        Number of exact coordinates, ``0 <= D <= J``.

    Returns
    -------
    float or numpy.ndarray
        :math:`b(D)` (an array for an array of ``D``).

    Raises
    ------
    ValueError
        If shapes differ, values are negative or non-finite, or ``D`` is
        outside ``[0, J]``.
    TypeError
        If ``D`` is not integer.

    See Also
    --------
    commuting_gaussian_map : The full map.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> ot.truncation_bias([1.0, 1.0, 1.0], [4.0, 4.0, 9.0], 1)
    5.0
    """
    lam = _real(as_numpy(lam_src, name="lam_src", ndim=1, shape_hint="(J,)"), "lam_src")
    r = _real(as_numpy(ratio, name="ratio", ndim=1, shape_hint="(J,)"), "ratio")
    if lam.shape != r.shape:
        raise ValueError(
            f"lam_src and ratio must have the same shape; got {lam.shape} and "
            f"{r.shape}."
        )
    for arr, label in ((lam, "lam_src"), (r, "ratio")):
        if (arr < 0).any():
            raise ValueError(f"{label} must be >= 0; got minimum {arr.min()}.")
    Ds = np.asarray(D)
    if Ds.dtype.kind not in "iu":
        if Ds.dtype.kind == "f" and np.array_equal(Ds, np.round(Ds)):
            Ds = Ds.astype(np.int64)
        else:
            raise TypeError(f"D must be an integer or integers; got {describe(D)}.")
    J = lam.shape[0]
    if (Ds < 0).any() or (Ds > J).any():
        raise ValueError(f"D must be in [0, {J}]; got {Ds.tolist()}.")
    terms = lam * (np.sqrt(r) - 1.0) ** 2
    tail = np.concatenate([np.cumsum(terms[::-1])[::-1], [0.0]])
    out = tail[Ds]
    return float(out) if out.ndim == 0 else out


def _evaluate(T: Any, X: Any, name: str) -> Any:
    if hasattr(T, "transform") and callable(T.transform):
        return T.transform(X)
    if callable(T):
        return T(X)
    return T


def _as_values(Z: Any, name: str) -> np.ndarray:
    if isinstance(Z, FunctionalData):
        return np.asarray(Z.values, dtype=np.float64)
    return as_numpy(Z, name=name, ndim=2, shape_hint="(n, p)")


def l2_map_error(
    T_hat: Any,
    T_true: Any,
    X_eval: ArrayLike | FunctionalData,
    *,
    weights: ArrayLike | None = None,
) -> float:
    r"""Monte Carlo :math:`L^2(\mu)` error of a map estimate.

    :math:`\frac1n\sum_i \lVert \hat T(X_i) - T_0(X_i)\rVert^2` over
    evaluation points :math:`X_i \sim \mu`.

    Parameters
    ----------
    T_hat : callable, fitted estimator or array_like
        The estimate: a callable, an object with ``transform`` (a fitted
        estimator), or its images of ``X_eval`` (same shape as ``X_eval``).
    T_true : callable, fitted estimator or array_like
        The truth, in the same forms.
    X_eval : array_like of shape (n, p) or FunctionalData
        Evaluation points drawn from the source measure.
    weights : array_like of shape (p,) or None, default=None
        Weights of the squared norm (quadrature weights for curves);
        ``None`` means the plain coefficient norm, or the container's
        weights for :class:`~mltheory.numerics.FunctionalData`.

    Returns
    -------
    float
        The mean squared H-norm error (a squared distance, like
        :math:`W_2^2`).

    Raises
    ------
    ValueError
        If the images do not have the shape of ``X_eval``, hold NaN/inf, or
        the weights do not match or are negative (weights are checked before
        the maps are evaluated).
    TypeError
        If ``X_eval`` is not numeric.

    See Also
    --------
    gaussian_w2_squared : The error of the identity map for Gaussians.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> X = np.ones((4, 2))
    >>> ot.l2_map_error(lambda x: x + 1.0, lambda x: x, X)
    2.0
    """
    if isinstance(X_eval, FunctionalData):
        if weights is None:
            weights = X_eval.weights
        shape = tuple(X_eval.values.shape)
    else:
        X_eval = as_numpy(X_eval, name="X_eval", ndim=2, shape_hint="(n, p)")
        shape = X_eval.shape
    w = None
    if weights is not None:
        w = as_numpy(weights, name="weights", ndim=1, shape_hint="(p,)")
        if w.shape[0] != shape[1]:
            raise ValueError(
                f"weights must have shape ({shape[1]},); got shape {w.shape}."
            )
        if (w < 0).any():
            raise ValueError(f"weights must be >= 0; got minimum {w.min()}.")
    a = _as_values(_evaluate(T_hat, X_eval, "T_hat"), "T_hat")
    b = _as_values(_evaluate(T_true, X_eval, "T_true"), "T_true")
    for arr, name in ((a, "T_hat"), (b, "T_true")):
        if arr.shape != shape:
            raise ValueError(
                f"{name} must give images of the shape of X_eval {shape}; got "
                f"{arr.shape}."
            )
    diff2 = (a - b) ** 2
    if w is None:
        return float(np.mean(np.sum(diff2, axis=1)))
    return float(np.mean(diff2 @ w))

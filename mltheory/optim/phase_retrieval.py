r"""Phase retrieval with anisotropic inputs: where GD and SpecGD differ.

The model of Braun, Bao, Huang and Imaizumi (arXiv:2601.22652): inputs
:math:`x \sim N(0, \Sigma)`, labels :math:`y = \langle \theta^*, x\rangle^2`,
a quadratic two-layer student :math:`f(x; W) = x^\top W W^\top x` with
:math:`W \in \mathbb{R}^{d \times m}`, and the population loss
:math:`L(W) = \tfrac14 E[(f(x;W) - y)^2]`. With a spiked covariance
:math:`\Sigma = s_u uu^\top + s_v vv^\top + s_\perp P` (signal :math:`u =
\theta^*`, spike :math:`v \perp u`, bulk projector :math:`P`) both GD and
SpecGD from an isotropic start stay on a three-dimensional invariant manifold
:math:`W = (a\,uu^\top + b\,vv^\top + c\,P)\,Q`, which gives the exact reduced
recursion of :func:`simulate_reduced`; :func:`simulate_full` runs the full
matrices (population or finite-sample gradients) to check it.

Conventions: :math:`\|\theta^*\| = 1`; no :math:`1/m` factor in the student;
the summary statistics ``a, b, c`` are non-negative magnitudes
(:math:`\|W^\top u\|`, :math:`\|W^\top v\|`, :math:`\|PW\|_F/\sqrt{d-2}`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory import numerics
from mltheory._src._pytree import DivergedMixin, pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_callable,
    check_in,
    check_key,
    check_on_divergence,
    check_scalar,
    describe,
    is_traced,
    renamed_arguments,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The preset/table resolution of the numerics layer (not public there yet).

__all__ = [
    "Comparison",
    "EscapeRates",
    "PRSummary",
    "PRTrajectory",
    "SpikedCovariance",
    "compare_gd_specgd",
    "empirical_loss",
    "escape_rates",
    "population_grad",
    "population_loss",
    "power_law_covariance",
    "sample_phase_retrieval",
    "simulate_full",
    "simulate_reduced",
    "spiked_covariance",
    "summary_stats",
]

_REFERENCE = (
    'G. Braun, H. Bao, W. Huang, M. Imaizumi, "Spectral Gradient Descent '
    "Mitigates Anisotropy-Driven Misalignment: A Case Study in Phase "
    'Retrieval", arXiv:2601.22652, 2026.'
)


# --------------------------------------------------------------------------- #
# covariances
# --------------------------------------------------------------------------- #
@pytree_dataclass
class SpikedCovariance:
    r"""A spiked covariance :math:`s_u uu^\top + s_v vv^\top + s_\perp P`.

    Build it with :func:`spiked_covariance`, which validates the fields.

    Parameters
    ----------
    u : jax.Array of shape (d,)
        Unit signal direction (the teacher :math:`\theta^*`).
    v : jax.Array of shape (d,)
        Unit spike direction, orthogonal to ``u``.
    s_u : jax.Array of shape ()
        Variance along ``u``.
    s_v : jax.Array of shape ()
        Variance along ``v`` (:math:`1 + \kappa` by default).
    s_bulk : jax.Array of shape ()
        Variance on the bulk :math:`P = I - uu^\top - vv^\top`.

    See Also
    --------
    spiked_covariance : The validated constructor.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(4, 2.0)
    >>> np.diag(np.asarray(cov.matrix())).tolist()
    [1.0, 3.0, 1.0, 1.0]
    """

    u: Array
    v: Array
    s_u: Array
    s_v: Array
    s_bulk: Array

    @property
    def d(self) -> int:
        """The input dimension :math:`d`."""
        return int(self.u.shape[-1])

    def matrix(self) -> Array:
        r"""Return the covariance matrix :math:`\Sigma`.

        Returns
        -------
        jax.Array of shape (d, d)
            :math:`s_\perp I + (s_u - s_\perp) uu^\top + (s_v - s_\perp) vv^\top`.

        Examples
        --------
        >>> from mltheory.optim import phase_retrieval as pr
        >>> print(float(pr.spiked_covariance(5, 1.0).matrix().trace()))
        6.0
        """
        return self._with_values(self.s_u, self.s_v, self.s_bulk)

    def sqrt_matrix(self) -> Array:
        r"""Return the symmetric square root :math:`\Sigma^{1/2}`.

        Returns
        -------
        jax.Array of shape (d, d)
            The same form with the square roots of the three variances.

        Examples
        --------
        >>> from mltheory.optim import phase_retrieval as pr
        >>> S = pr.spiked_covariance(4, 3.0).sqrt_matrix()
        >>> print(round(float(S[1, 1]), 4))
        2.0
        """
        return self._with_values(
            jnp.sqrt(self.s_u), jnp.sqrt(self.s_v), jnp.sqrt(self.s_bulk)
        )

    def _with_values(self, su: Array, sv: Array, sb: Array) -> Array:
        eye = jnp.eye(self.d, dtype=self.u.dtype)
        return (
            sb * eye
            + (su - sb) * jnp.outer(self.u, self.u)
            + (sv - sb) * jnp.outer(self.v, self.v)
        )


def _unit_direction(x: ArrayLike, *, name: str, d: int) -> np.ndarray:
    vec = as_numpy(x, name=name, ndim=1)
    if vec.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},); got shape {vec.shape}.")
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        raise ValueError(f"{name} must be a nonzero vector; got the zero vector.")
    if abs(norm - 1.0) > 1e-6:
        warnings.warn(
            f"{name} has norm {norm:.6g}, not 1; it was normalised.",
            UserWarning,
            stacklevel=3,
        )
    return vec / norm


def spiked_covariance(
    d: int,
    kappa: float,
    *,
    s_u: float = 1.0,
    s_bulk: float = 1.0,
    u: ArrayLike | None = None,
    v: ArrayLike | None = None,
    key: Array | None = None,
) -> SpikedCovariance:
    r"""Build the spiked covariance of the phase-retrieval model.

    :math:`\Sigma = s_u uu^\top + (1 + \kappa) vv^\top + s_\perp P` with
    :math:`P = I - uu^\top - vv^\top`: the signal direction :math:`u =
    \theta^*`, a spike of strength :math:`\kappa` orthogonal to it, and an
    isotropic bulk.

    Parameters
    ----------
    d : int
        Input dimension, at least 3 (the bulk must not be empty).
    kappa : float
        Spike strength; :math:`s_v = 1 + \kappa` must be positive
        (:math:`\kappa > -1`).
    s_u : float, default=1.0
        Variance along the signal, ``> 0``.
    s_bulk : float, default=1.0
        Variance of the bulk, ``> 0``.
    u, v : array_like of shape (d,) or None, default=None
        Explicit signal and spike directions (normalised with a warning when
        not unit; must be orthogonal). Give both or neither.
    key : jax.Array or None, default=None
        If given (and ``u``, ``v`` are not), a random orthonormal pair drawn
        from this key; otherwise :math:`u = e_1`, :math:`v = e_2`.

    Returns
    -------
    SpikedCovariance
        The covariance, in JAX's default float dtype.

    Raises
    ------
    ValueError
        If ``d < 3``; ``kappa <= -1``; ``s_u <= 0`` or ``s_bulk <= 0``; only
        one of ``u``, ``v`` given, a wrong shape, a zero vector, or
        :math:`|\langle u, v\rangle| > 10^{-6}` after normalisation; if both
        directions and ``key`` are given.
    TypeError
        If ``d`` is not an integer or ``key`` is not a PRNG key.

    See Also
    --------
    power_law_covariance : A non-spiked anisotropic covariance.

    Notes
    -----
    GD amplifies the spike relative to the signal during the escape from a
    small initialisation exactly when :math:`s_v > 3 s_u` (see
    :func:`escape_rates`); with :math:`s_u = 1` that is :math:`\kappa > 2`.

    References
    ----------
    .. [1] G. Braun, H. Bao, W. Huang, M. Imaizumi, "Spectral Gradient Descent
       Mitigates Anisotropy-Driven Misalignment: A Case Study in Phase
       Retrieval", arXiv:2601.22652, 2026.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(8, 4.0, key=jax.random.key(0))
    >>> print(round(float(cov.u @ cov.v), 10), float(cov.s_v))
    0.0 5.0
    """
    d = check_scalar(d, name="d", kind=int, lower=3)
    kappa = check_scalar(kappa, name="kappa", lower=-1.0, lower_inclusive=False)
    s_u = check_scalar(s_u, name="s_u", lower=0.0, lower_inclusive=False)
    s_bulk = check_scalar(s_bulk, name="s_bulk", lower=0.0, lower_inclusive=False)
    if (u is None) != (v is None):
        raise ValueError(
            "u and v must be given together (or neither); got "
            f"u={'None' if u is None else 'an array'}, "
            f"v={'None' if v is None else 'an array'}."
        )
    if u is not None and v is not None:
        if key is not None:
            raise ValueError("give either the directions u, v or a key, not both.")
        u_np = _unit_direction(u, name="u", d=d)
        v_np = _unit_direction(v, name="v", d=d)
        overlap = float(u_np @ v_np)
        if abs(overlap) > 1e-6:
            raise ValueError(
                f"u and v must be orthogonal (|<u, v>| <= 1e-6); got <u, v> = "
                f"{overlap:.3g}."
            )
    elif key is not None:
        key = check_key(key)
        z = np.asarray(jax.random.normal(key, (d, 2)), dtype=np.float64)
        q, _ = np.linalg.qr(z)
        u_np, v_np = q[:, 0], q[:, 1]
    else:
        u_np, v_np = np.eye(d)[0], np.eye(d)[1]
    dtype = jnp.result_type(float)
    return SpikedCovariance(
        u=jnp.asarray(u_np, dtype),
        v=jnp.asarray(v_np, dtype),
        s_u=jnp.asarray(s_u, dtype),
        s_v=jnp.asarray(1.0 + kappa, dtype),
        s_bulk=jnp.asarray(s_bulk, dtype),
    )


def power_law_covariance(
    d: int, alpha: float, *, signal_index: int = 0
) -> tuple[Array, Array]:
    r"""Build a diagonal power-law covariance with the signal on one eigenvector.

    Parameters
    ----------
    d : int
        Input dimension, at least 3.
    alpha : float
        Decay exponent, ``>= 0``: eigenvalues :math:`\lambda_i = i^{-\alpha}`,
        :math:`i = 1, \dots, d`.
    signal_index : int, default=0
        Zero-based index of the eigenvector :math:`e_i` carrying the teacher.

    Returns
    -------
    Sigma : jax.Array of shape (d, d)
        :math:`\operatorname{diag}(1, 2^{-\alpha}, \dots, d^{-\alpha})`.
    theta_star : jax.Array of shape (d,)
        The unit teacher :math:`e_{\mathrm{signal\_index}}`.

    Raises
    ------
    ValueError
        If ``d < 3``, ``alpha < 0`` or ``signal_index`` is not in
        ``[0, d)``.
    TypeError
        If ``d`` or ``signal_index`` is not an integer.

    See Also
    --------
    spiked_covariance : The spiked model with its exact reduction.

    Notes
    -----
    Paper A reports that the misalignment of GD persists for such broader
    anisotropic spectra; there is no three-dimensional reduction here, so use
    :func:`simulate_full`. Placing the signal on a low-variance eigenvector
    (``signal_index > 0``) puts the top eigenvector in the role of the spike.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> Sigma, theta = pr.power_law_covariance(4, 1.0, signal_index=2)
    >>> np.diag(np.asarray(Sigma)).round(4).tolist(), int(np.argmax(theta))
    ([1.0, 0.5, 0.3333, 0.25], 2)
    """
    d = check_scalar(d, name="d", kind=int, lower=3)
    alpha = check_scalar(alpha, name="alpha", lower=0.0)
    signal_index = check_scalar(
        signal_index, name="signal_index", kind=int, lower=0, upper=d - 1
    )
    dtype = jnp.result_type(float)
    eig = np.arange(1, d + 1, dtype=np.float64) ** (-alpha)
    return jnp.asarray(np.diag(eig), dtype), jnp.asarray(np.eye(d)[signal_index], dtype)


# --------------------------------------------------------------------------- #
# data and losses
# --------------------------------------------------------------------------- #
def _check_sigma(Sigma: ArrayLike) -> Array:
    sigma = as_array(Sigma, name="Sigma", ndim=2, shape_hint="(d, d)")
    if sigma.shape[0] != sigma.shape[1]:
        raise ValueError(
            f"Sigma must be square (d, d); got shape {tuple(sigma.shape)}."
        )
    if not is_traced(sigma):
        host = np.asarray(sigma, dtype=np.float64)
        scale = float(np.linalg.norm(host))
        asym = float(np.linalg.norm(host - host.T))
        if asym > 1e-8 * max(scale, 1e-300):
            raise ValueError(
                "Sigma must be symmetric; got ||Sigma - Sigma^T||_F / ||Sigma||_F "
                f"= {asym / scale:.3g}."
            )
        lam_min = float(np.linalg.eigvalsh(host).min())
        if lam_min < -1e-8 * scale:
            raise ValueError(
                "Sigma must be positive semidefinite (min eigenvalue >= "
                f"-1e-8 ||Sigma||_F); got min eigenvalue {lam_min:.3g}."
            )
    return sigma


def _check_theta(theta_star: ArrayLike, d: int) -> Array:
    theta = as_array(theta_star, name="theta_star", ndim=1, shape_hint="(d,)")
    if theta.shape != (d,):
        raise ValueError(
            f"theta_star must have shape ({d},) to match Sigma; got shape "
            f"{tuple(theta.shape)}."
        )
    if is_traced(theta):
        return theta
    return jnp.asarray(_unit_direction(theta, name="theta_star", d=d), theta.dtype)


def _check_weights(W: ArrayLike, d: int) -> Array:
    w = as_array(W, name="W", ndim=2, shape_hint="(d, m)")
    if w.shape[0] != d:
        raise ValueError(
            f"W must have shape ({d}, m) (one column per neuron); got shape "
            f"{tuple(w.shape)}."
        )
    return w


def sample_phase_retrieval(
    key: Array,
    n: int,
    Sigma: ArrayLike,
    theta_star: ArrayLike,
    *,
    noise_std: float = 0.0,
) -> tuple[Array, Array]:
    r"""Draw a phase-retrieval data set: Gaussian inputs and squared-projection labels.

    Parameters
    ----------
    key : jax.Array
        PRNG key.
    n : int
        Number of samples, ``>= 1``.
    Sigma : array_like of shape (d, d)
        Symmetric PSD input covariance.
    theta_star : array_like of shape (d,)
        Teacher; normalised with a warning if not unit, error if zero.
    noise_std : float, default=0.0
        Standard deviation of additive Gaussian label noise, ``>= 0``.

    Returns
    -------
    X : jax.Array of shape (n, d)
        Inputs, :math:`X = Z \Sigma^{1/2}` with i.i.d. standard normal
        :math:`Z`.
    y : jax.Array of shape (n,)
        Labels :math:`(X\theta^*)^2 + \sigma_y \xi`.

    Raises
    ------
    ValueError
        If ``n < 1``, ``noise_std < 0``, ``Sigma`` is not square, symmetric
        and PSD, or ``theta_star`` has the wrong shape or is zero.
    TypeError
        If ``key`` is not a PRNG key or ``n`` is not an integer.

    See Also
    --------
    empirical_loss : The loss on such a sample.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(5, 2.0)
    >>> X, y = pr.sample_phase_retrieval(jax.random.key(0), 4, cov.matrix(), cov.u)
    >>> X.shape, y.shape
    ((4, 5), (4,))
    """
    key = check_key(key)
    n = check_scalar(n, name="n", kind=int, lower=1)
    noise_std = check_scalar(noise_std, name="noise_std", lower=0.0)
    sigma = _check_sigma(Sigma)
    theta = _check_theta(theta_star, sigma.shape[0])
    root = numerics.sqrtm_psd(sigma)
    kx, ky = jax.random.split(key)
    X = jax.random.normal(kx, (n, sigma.shape[0]), dtype=sigma.dtype) @ root
    y = jnp.square(X @ theta)
    if noise_std > 0:
        y = y + noise_std * jax.random.normal(ky, (n,), dtype=y.dtype)
    return X, y


@jax.jit
def _population_loss(w: Array, sigma: Array, theta: Array) -> Array:
    D = w @ w.T - jnp.outer(theta, theta)
    SD = sigma @ D
    return 0.25 * (jnp.trace(SD) ** 2 + 2.0 * jnp.sum(SD * SD.T))


@jax.jit
def _population_grad(w: Array, sigma: Array, theta: Array) -> Array:
    D = w @ w.T - jnp.outer(theta, theta)
    SD = sigma @ D
    return (jnp.trace(SD) * sigma + 2.0 * SD @ sigma) @ w


def population_loss(W: ArrayLike, Sigma: ArrayLike, theta_star: ArrayLike) -> Array:
    r"""Compute the population loss :math:`\tfrac14 E[(x^\top WW^\top x - y)^2]`.

    Parameters
    ----------
    W : array_like of shape (d, m)
        Student weights, one neuron per column.
    Sigma : array_like of shape (d, d)
        Symmetric PSD input covariance.
    theta_star : array_like of shape (d,)
        Teacher; normalised with a warning if not unit, error if zero.

    Returns
    -------
    jax.Array of shape ()
        :math:`L(W)`.

    Raises
    ------
    ValueError
        If shapes disagree, ``Sigma`` is not symmetric PSD, an input holds
        NaN/inf or ``theta_star`` is zero.
    TypeError
        If an input is not numeric.

    See Also
    --------
    population_grad : Its gradient.
    empirical_loss : The finite-sample version.

    Notes
    -----
    With :math:`D = WW^\top - \theta^*\theta^{*\top}` and the Gaussian fourth
    moment :math:`E[(x^\top D x)^2] = (\operatorname{tr}\Sigma D)^2 +
    2\operatorname{tr}(\Sigma D\Sigma D)`,

    .. math::

        L(W) = \tfrac14\big[(\operatorname{tr}\Sigma D)^2
               + 2\operatorname{tr}(\Sigma D \Sigma D)\big].

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(4, 0.0)
    >>> L = pr.population_loss(jnp.zeros((4, 4)), cov.matrix(), cov.u)
    >>> print(round(float(L), 4))
    0.75
    """
    sigma = _check_sigma(Sigma)
    theta = _check_theta(theta_star, sigma.shape[0])
    w = _check_weights(W, sigma.shape[0])
    return _population_loss(w, sigma, theta)


def population_grad(W: ArrayLike, Sigma: ArrayLike, theta_star: ArrayLike) -> Array:
    r"""Compute the closed-form gradient of :func:`population_loss`.

    Parameters
    ----------
    W : array_like of shape (d, m)
        Student weights, one neuron per column.
    Sigma : array_like of shape (d, d)
        Symmetric PSD input covariance.
    theta_star : array_like of shape (d,)
        Teacher; normalised with a warning if not unit, error if zero.

    Returns
    -------
    jax.Array of shape (d, m)
        :math:`\nabla L(W)`.

    Raises
    ------
    ValueError
        If shapes disagree, ``Sigma`` is not symmetric PSD, an input holds
        NaN/inf or ``theta_star`` is zero.
    TypeError
        If an input is not numeric.

    See Also
    --------
    population_loss : The loss.

    Notes
    -----
    .. math::

        \nabla L(W) = \big[(\operatorname{tr}\Sigma D)\,\Sigma
                      + 2\,\Sigma D \Sigma\big] W,
        \qquad D = WW^\top - \theta^*\theta^{*\top}.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(4, 0.0)
    >>> g = pr.population_grad(1e-3 * jnp.eye(4), cov.matrix(), cov.u)
    >>> print(round(float(g[0, 0] / 1e-3), 4))  # -3 = (T s_u + 2 s_u^2 (a^2-1))/a
    -3.0
    """
    sigma = _check_sigma(Sigma)
    theta = _check_theta(theta_star, sigma.shape[0])
    w = _check_weights(W, sigma.shape[0])
    return _population_grad(w, sigma, theta)


@jax.jit
def _empirical_loss(w: Array, X: Array, y: Array) -> Array:
    pred = jnp.sum(jnp.square(X @ w), axis=1)
    return 0.25 * jnp.mean(jnp.square(pred - y))


def empirical_loss(W: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Compute the empirical loss :math:`\frac{1}{4n}\sum_i (\|W^\top x_i\|^2-y_i)^2`.

    Parameters
    ----------
    W : array_like of shape (d, m)
        Student weights.
    X : array_like of shape (n, d)
        Inputs.
    y : array_like of shape (n,)
        Labels.

    Returns
    -------
    jax.Array of shape ()
        The loss; differentiable with :func:`jax.grad` in ``W``.

    Raises
    ------
    ValueError
        If shapes disagree or an input holds NaN/inf.
    TypeError
        If an input is not numeric.

    See Also
    --------
    population_loss : Its expectation.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> X = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    >>> print(float(pr.empirical_loss(jnp.eye(2), X, jnp.array([1.0, 0.0]))))
    2.0
    """
    x = as_array(X, name="X", ndim=2, shape_hint="(n, d)")
    w = _check_weights(W, x.shape[1])
    yy = as_array(y, name="y", ndim=1, shape_hint="(n,)")
    if yy.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must have shape ({x.shape[0]},) (one label per row of X); got "
            f"shape {tuple(yy.shape)}."
        )
    return _empirical_loss(w, x, yy)


# --------------------------------------------------------------------------- #
# summary statistics
# --------------------------------------------------------------------------- #
@pytree_dataclass
class PRSummary:
    r"""Summary statistics of a phase-retrieval student.

    Parameters
    ----------
    a : jax.Array
        Signal magnitude :math:`\|W^\top u\|`.
    b : jax.Array
        Spike magnitude :math:`\|W^\top v\|`.
    c : jax.Array
        Bulk magnitude :math:`\|PW\|_F / \sqrt{d-2}`.
    alignment : jax.Array
        :math:`\rho = a^2 / \|WW^\top\|_F \in [0, 1]`.
    spike_ratio : jax.Array
        :math:`b / a`.
    loss : jax.Array
        Population loss :math:`L(W)`.

    See Also
    --------
    summary_stats : Computes it.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(4, 0.0)
    >>> print(float(pr.summary_stats(jnp.diag(jnp.array([1.0, 0, 0, 0])), cov).loss))
    0.0
    """

    a: Array
    b: Array
    c: Array
    alignment: Array
    spike_ratio: Array
    loss: Array


def _check_cov(cov: Any) -> SpikedCovariance:
    if not isinstance(cov, SpikedCovariance):
        raise TypeError(
            "cov must be a SpikedCovariance (from spiked_covariance); got "
            f"{describe(cov)}."
        )
    return cov


def _stats_from_weights(w: Array, cov: SpikedCovariance) -> PRSummary:
    u, v = cov.u, cov.v
    wu, wv = w.T @ u, w.T @ v
    a, b = jnp.linalg.norm(wu), jnp.linalg.norm(wv)
    pw = w - jnp.outer(u, wu) - jnp.outer(v, wv)
    c = jnp.linalg.norm(pw) / math.sqrt(cov.d - 2)
    # ||W W^T||_F = ||W^T W||_F; the m x m Gram is as cheap for m = d.
    gram_norm = jnp.linalg.norm(w.T @ w)
    alignment = jnp.where(gram_norm > 0, a**2 / gram_norm, 0.0)
    ratio = jnp.where(a > 0, b / a, jnp.inf)
    loss = _population_loss(w, cov.matrix(), u)
    return PRSummary(a, b, c, alignment, ratio, loss)


def summary_stats(W: ArrayLike, cov: SpikedCovariance) -> PRSummary:
    r"""Compute the signal, spike and bulk magnitudes, alignment and loss of ``W``.

    Parameters
    ----------
    W : array_like of shape (d, m)
        Student weights (on or off the invariant manifold).
    cov : SpikedCovariance
        The covariance; its ``u`` is the teacher.

    Returns
    -------
    PRSummary
        Scalar statistics (see Notes).

    Raises
    ------
    ValueError
        If ``W`` does not have ``d`` rows or holds NaN/inf.
    TypeError
        If ``cov`` is not a :class:`SpikedCovariance`.

    See Also
    --------
    simulate_full : Records these along a run.

    Notes
    -----
    .. math::

        a &= \|W^\top u\|,\quad b = \|W^\top v\|,\quad
        c = \frac{\|PW\|_F}{\sqrt{d-2}},\quad r = b/a, \\
        \rho &= \frac{\langle WW^\top, uu^\top\rangle_F}{\|WW^\top\|_F}
        = \frac{a^2}{\|WW^\top\|_F} .

    On the manifold :math:`W = (a\,uu^\top + b\,vv^\top + c\,P)Q`,
    :math:`\rho = a^2/\sqrt{a^4 + b^4 + (d-2)c^4}`.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(6, 1.0)
    >>> s = pr.summary_stats(jnp.diag(jnp.array([2.0, 1.0, 0.5, 0.5, 0.5, 0.5])), cov)
    >>> print(float(s.a), float(s.b), float(s.c), float(s.spike_ratio))
    2.0 1.0 0.5 0.5
    """
    cov = _check_cov(cov)
    w = _check_weights(W, cov.d)
    return _stats_from_weights(w, cov)


# --------------------------------------------------------------------------- #
# trajectories
# --------------------------------------------------------------------------- #
@pytree_dataclass
class PRTrajectory(DivergedMixin):
    r"""Summary statistics recorded along a GD or SpecGD run.

    Parameters
    ----------
    steps : jax.Array of shape (T,)
        Step index of each record (0 is the initialisation).
    a, b, c : jax.Array of shape (T,)
        Signal, spike and bulk magnitudes (non-negative).
    alignment : jax.Array of shape (T,)
        :math:`\rho_k`.
    spike_ratio : jax.Array of shape (T,)
        :math:`b_k / a_k`.
    loss : jax.Array of shape (T,)
        Population loss.
    method : str
        ``"gd"`` or ``"specgd"`` (static).
    first_bad_step : int or jax.Array of int32, default=-1
        The first step whose weights were non-finite, ``-1`` if none (one
        entry per member when vmapped); ``diverged`` is
        ``first_bad_step >= 0``. See
        :func:`mltheory.numerics.handle_divergence`.

    See Also
    --------
    simulate_reduced, simulate_full : Produce it.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(8, 0.0)
    >>> traj = pr.simulate_reduced(cov, method="specgd", lr=0.01, steps=10)
    >>> traj.a.shape, traj.method
    ((11,), 'specgd')
    """

    steps: Array
    a: Array
    b: Array
    c: Array
    alignment: Array
    spike_ratio: Array
    loss: Array
    method: str = static_field(default="gd")
    first_bad_step: Any = dataclasses.field(
        default_factory=lambda: np.asarray(-1, np.int32)
    )

    def _record_leaves(self) -> tuple[Array, ...]:
        """Recorded values checked for NaN/inf (``spike_ratio`` is inf at a = 0)."""
        return (self.a, self.b, self.c, self.alignment, self.loss)

    def _summary_items(self) -> dict[str, Any]:
        return {
            "steps": self.steps[..., -1],
            "final alignment": self.alignment[..., -1],
            "max spike ratio": self.spike_ratio.max(axis=-1),
        }

    def plot(
        self,
        ax: Axes | Sequence[Axes] | None = None,
        *,
        panel: Literal["coordinates", "alignment", "spike_ratio", "loss"] | None = None,
        label: str | None = None,
        kind: Literal["theory", "simulation", "data"] = "theory",
        color: str | None = None,
        every: int = 1,
        **kwargs: Any,
    ) -> Axes | Figure:
        r"""Plot the run: coordinates, alignment and spike/signal ratio.

        With ``panel=None`` a figure of three panels: the coordinates
        :math:`a, b, c` (log scale; colour per coordinate), the alignment
        :math:`\rho_k` and the spike/signal ratio :math:`b_k/a_k` (log
        scale). GD is drawn solid and SpecGD dashed, each method in its own
        colour, so ``fig = gd.plot(); specgd.plot(ax=fig.axes)`` compares
        them. A full-matrix run drawn with ``kind="simulation"`` overlays the
        reduced recursion as markers.

        Parameters
        ----------
        ax : Axes, sequence of 3 Axes, or None, default=None
            Where to draw: one Axes with ``panel``, three without; ``None``
            makes a new figure (shown in Jupyter).
        panel : {"coordinates", "alignment", "spike_ratio", "loss"}, optional
            Draw only this panel, on one Axes.
        label : str, optional
            Legend label; by default the method (``"GD"``, ``"SpecGD"``).
        kind : {"theory", "simulation", "data"}, default="theory"
            Lines (the recursion) or markers (a simulation).
        color : str, optional
            Colour of the alignment, spike-ratio and loss curves (by default
            one per method); the coordinates keep one colour each.
        every : int, default=1
            Draw every ``every``-th record (steps 0, every, 2 every, ...).
            SpecGD ends in a period-2 oscillation of amplitude ``lr``;
            ``every=2`` draws its envelope instead of a filled band.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes or matplotlib.figure.Figure
            The Axes with ``panel``, the Figure without.

        Raises
        ------
        ValueError
            If ``panel`` is unknown, ``every < 1``, or the run is batched
            (stacked by :func:`jax.vmap`) with ``panel="coordinates"``.
        TypeError
            If ``ax`` does not match, or the run holds tracers.

        Examples
        --------
        >>> from mltheory.optim import phase_retrieval as pr
        >>> cmp = pr.compare_gd_specgd(pr.spiked_covariance(8, 4.0), lr_gd=0.002,
        ...                            lr_specgd=0.002, steps=20)
        >>> cmp.gd.alignment.shape
        (21,)
        >>> fig = cmp.gd.plot(); cmp.specgd.plot(ax=fig.axes)  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        panels = ("coordinates", "alignment", "spike_ratio", "loss")
        if panel is not None and panel not in panels:
            raise ValueError(
                f"panel must be one of {', '.join(map(repr, panels))} or None; "
                f"got {panel!r}."
            )
        every = check_scalar(every, name="every", kind=int, lower=1)
        name = {"gd": "GD", "specgd": "SpecGD"}.get(self.method, self.method)
        text = label if label is not None else name
        steps = self.steps[..., ::every]

        def records(field: str) -> Any:
            # Records lie along the last axis (a leading axis is a batch).
            return getattr(self, field)[..., ::every]

        col = color or (P.PALETTE[0] if self.method == "gd" else P.PALETTE[1])
        ls = "-" if self.method == "gd" else "--"
        style: dict[str, Any] = {"linestyle": ls} if kind == "theory" else {}
        style |= kwargs

        def draw(target: Axes, which: str) -> Axes:
            if which == "coordinates":
                for i, field in enumerate(("a", "b", "c")):
                    y = P.members_or_error(records(field), name=f"PRTrajectory.{field}")
                    P.plot_curve(
                        target,
                        steps,
                        y,
                        label=f"{field}, {text}",
                        kind=kind,
                        color=P.PALETTE[2 + i],
                        **style,
                    )
                return P.finish_axes(
                    target,
                    xlabel="step k",
                    ylabel="coordinate",
                    title="signal a, spike b, bulk c",
                    logy=True,
                )
            ylabels = {
                "alignment": ("alignment rho", False),
                "spike_ratio": ("spike / signal b/a", True),
                "loss": ("population loss", True),
            }
            ylabel, log = ylabels[which]
            P.plot_members(
                target,
                steps,
                records(which),
                label=text,
                kind=kind,
                color=col,
                **style,
            )
            return P.finish_axes(target, xlabel="step k", ylabel=ylabel, logy=log)

        if panel is not None:
            return draw(P.axes_or_new(ax), panel)  # type: ignore[arg-type]
        fig, axes = P.panel_axes(ax, 3)
        for target, which in zip(
            axes, ("coordinates", "alignment", "spike_ratio"), strict=True
        ):
            draw(target, which)
        return fig


def _divergence_cause(method: str, lr: float, cov: SpikedCovariance) -> str:
    """The likely cause of a blow-up, in the user's terms."""
    if method == "gd":
        try:
            limit = 1.0 / float(cov.s_v) ** 2
        except (TypeError, jax.errors.ConcretizationTypeError):
            return f"lr = {lr:.4g} is beyond GD's stability limit (about 1/s_v**2)"
        return (
            f"lr = {lr:.4g} is beyond GD's stability limit, about 1/s_v**2 = "
            f"{limit:.3g} for this covariance (use a smaller lr)"
        )
    return (
        f"lr = {lr:.4g} (times lr_schedule) makes the SpecGD iterates blow up "
        "(use a smaller lr, or check lr_schedule)"
    )


def _manifold_gradient(abc: Array, s: Array, d: int) -> Array:
    """(g_a, g_b, g_c) of the three-variable reduction (s = (s_u, s_v, s_bulk))."""
    a, b, c = abc[0], abc[1], abc[2]
    su, sv, sb = s[0], s[1], s[2]
    T = su * (a * a - 1.0) + sv * b * b + sb * (d - 2) * c * c
    return jnp.stack(
        [
            (T * su + 2.0 * su * su * (a * a - 1.0)) * a,
            (T * sv + 2.0 * sv * sv * b * b) * b,
            (T * sb + 2.0 * sb * sb * c * c) * c,
        ]
    )


def _manifold_stats(abc: Array, s: Array, d: int) -> tuple[Array, ...]:
    a, b, c = jnp.abs(abc[0]), jnp.abs(abc[1]), jnp.abs(abc[2])
    su, sv, sb = s[0], s[1], s[2]
    gram = jnp.sqrt(a**4 + b**4 + (d - 2) * c**4)
    alignment = jnp.where(gram > 0, a**2 / gram, 0.0)
    ratio = jnp.where(a > 0, b / a, jnp.inf)
    T = su * (a * a - 1.0) + sv * b * b + sb * (d - 2) * c * c
    quad = su**2 * (a * a - 1.0) ** 2 + sv**2 * b**4 + (d - 2) * sb**2 * c**4
    loss = 0.25 * (T**2 + 2.0 * quad)
    return a, b, c, alignment, ratio, loss


@functools.partial(
    jax.jit, static_argnames=("d", "method", "polar", "steps", "lr_schedule")
)
def _reduced_scan(
    abc0: Array,
    s: Array,
    lr: Array,
    table: Array,
    eps: Array,
    *,
    d: int,
    method: str,
    polar: str,
    steps: int,
    lr_schedule: Callable[[Array], Array] | None,
) -> tuple[Array, ...]:
    mult = jnp.asarray([1.0, 1.0, d - 2.0], abc0.dtype)

    def direction(g: Array) -> Array:
        if method == "gd":
            return g
        if polar == "sign":
            return jnp.sign(g)
        # NS acts on the singular values g_a, g_b, |g_c| (multiplicity d-2)
        # of G / (||G||_F + eps); the polynomial is odd, so signs carry.
        fro = jnp.sqrt(jnp.sum(mult * g * g))
        x = g / (fro + eps)

        def ns(x: Array, abc: Array) -> tuple[Array, None]:
            x2 = x * x
            return abc[0] * x + abc[1] * x2 * x + abc[2] * x2 * x2 * x, None

        x, _ = lax.scan(ns, x, table)
        return x

    def step(abc: Array, k: Array) -> tuple[Array, Array]:
        eta = lr if lr_schedule is None else lr * lr_schedule(k)
        new = abc - eta * direction(_manifold_gradient(abc, s, d))
        return new, new

    _, path = lax.scan(step, abc0, jnp.arange(steps))
    path = jnp.concatenate([abc0[None], path], axis=0)
    # one record per step: the first non-finite record is the first bad step
    first_bad = numerics.first_nonfinite_index(path)
    return (*jax.vmap(lambda x: _manifold_stats(x, s, d))(path), first_bad)


def _variances(cov: SpikedCovariance) -> Array:
    return jnp.stack([cov.s_u, cov.s_v, cov.s_bulk])


def _check_method(method: str) -> Literal["gd", "specgd"]:
    check_in(method, name="method", options=("gd", "specgd"))
    return "gd" if method == "gd" else "specgd"


def _check_schedule(lr_schedule: Any) -> Any:
    return (
        None if lr_schedule is None else check_callable(lr_schedule, name="lr_schedule")
    )


def simulate_reduced(
    cov: SpikedCovariance,
    *,
    method: Literal["gd", "specgd"],
    lr: float,
    steps: int,
    init_scale: float = 1e-3,
    polar: Literal["sign", "ns"] = "sign",
    ns_steps: int | None = None,
    ns_coeffs: str | ArrayLike = "muon",
    eps: float = 1e-7,
    lr_schedule: Callable[[Array], Array] | None = None,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> PRTrajectory:
    r"""Run GD or SpecGD on the three-dimensional invariant manifold (exact reduction).

    From the isotropic start :math:`W_0 = \varepsilon Q` both methods keep
    :math:`W_k = (a_k uu^\top + b_k vv^\top + c_k P) Q`; this iterates the
    three scalars with :func:`jax.lax.scan`, in :math:`O(1)` per step.

    Parameters
    ----------
    cov : SpikedCovariance
        The input covariance (teacher ``cov.u``).
    method : {"gd", "specgd"}
        Gradient descent or spectral gradient descent.
    lr : float
        Step size, ``> 0`` (:math:`\tilde\eta` for GD, :math:`\eta` for
        SpecGD).
    steps : int
        Number of steps, ``>= 1``.
    init_scale : float, default=1e-3
        :math:`\varepsilon > 0`; :math:`a_0 = b_0 = c_0 = \varepsilon`.
    polar : {"sign", "ns"}, default="sign"
        SpecGD's polar factor: exact (the sign recursion) or Newton–Schulz
        with the scalar map below. Ignored for GD.
    ns_steps : int or None, default=None
        Newton–Schulz steps for ``polar="ns"``.
    ns_coeffs : {"muon", "cubic", "dion"} or array_like, default="muon"
        Newton–Schulz coefficients for ``polar="ns"``.
    eps : float, default=1e-7
        Newton–Schulz's ``eps`` (as in
        :func:`mltheory.numerics.newton_schulz`), ``> 0``.
    lr_schedule : callable or None, default=None
        ``k -> multiplier``: step ``k`` uses ``lr * lr_schedule(k)`` (a
        jit-traceable function of an integer array; e.g. a decay to reach
        accuracy below :math:`O(\eta)` with SpecGD).
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        If the iterates become NaN/inf (a step size beyond the stability
        limit): raise :class:`~mltheory.exceptions.DivergenceError` naming
        the first bad step, warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the
        records before it, or return the trajectory as is with
        ``first_bad_step`` set (see
        :func:`mltheory.numerics.handle_divergence`).

    Returns
    -------
    PRTrajectory
        ``steps + 1`` records (the initialisation first); fewer after
        ``on_divergence="warn"``.

    Raises
    ------
    ValueError
        If ``lr <= 0``, ``steps < 1``, ``init_scale <= 0``, ``eps <= 0``,
        ``method``, ``polar`` or ``on_divergence`` unknown, or a bad
        Newton–Schulz option (named ``ns_steps``/``ns_coeffs``).
    TypeError
        If ``cov`` is not a :class:`SpikedCovariance` or ``lr_schedule`` is
        not callable.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if the iterates became non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if the iterates became non-finite.

    See Also
    --------
    simulate_full : The same run on full matrices.
    escape_rates : The linearised escape of GD.

    Notes
    -----
    With :math:`T = s_u(a^2-1) + s_v b^2 + s_\perp (d-2) c^2`
    (:math:`= \operatorname{tr}\Sigma D`), the gradient on the manifold is
    :math:`(g_a uu^\top + g_b vv^\top + g_c P)Q` with

    .. math::

        g_a = [T s_u + 2 s_u^2 (a^2-1)]\,a,\quad
        g_b = [T s_v + 2 s_v^2 b^2]\,b,\quad
        g_c = [T s_\perp + 2 s_\perp^2 c^2]\,c .

    GD: :math:`(a,b,c) \leftarrow (a,b,c) - \tilde\eta (g_a, g_b, g_c)`.
    SpecGD with the exact polar factor: :math:`(a,b,c) \leftarrow (a,b,c) -
    \eta\,(\operatorname{sgn} g_a, \operatorname{sgn} g_b,
    \operatorname{sgn} g_c)` with :math:`\operatorname{sgn} 0 = 0`. With
    Newton–Schulz, :math:`\operatorname{sgn}` is replaced by
    :math:`p_K(g/(\|G\|_F + \epsilon))`, :math:`\|G\|_F^2 = g_a^2 + g_b^2
    + (d-2) g_c^2`, which is what
    :func:`mltheory.numerics.newton_schulz` does to the full gradient. The
    recorded ``a, b, c`` are absolute values (SpecGD's exact version can
    oscillate through 0 near convergence, with amplitude :math:`\le \eta`).

    References
    ----------
    .. [1] G. Braun, H. Bao, W. Huang, M. Imaizumi, "Spectral Gradient Descent
       Mitigates Anisotropy-Driven Misalignment: A Case Study in Phase
       Retrieval", arXiv:2601.22652, 2026.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(64, 4.0)
    >>> gd = pr.simulate_reduced(cov, method="gd", lr=0.002, steps=3000)
    >>> sp = pr.simulate_reduced(cov, method="specgd", lr=0.002, steps=3000)
    >>> print(round(float(gd.spike_ratio.max()), 1), float(sp.spike_ratio.max()))
    6.7 1.0
    """
    cov = _check_cov(cov)
    method = _check_method(method)
    check_in(polar, name="polar", options=("sign", "ns"))
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    steps = check_scalar(steps, name="steps", kind=int, lower=1)
    init_scale = check_scalar(
        init_scale, name="init_scale", lower=0.0, lower_inclusive=False
    )
    eps = check_scalar(eps, name="eps", lower=0.0, lower_inclusive=False)
    lr_schedule = _check_schedule(lr_schedule)
    check_on_divergence(on_divergence)
    dtype = cov.u.dtype
    with renamed_arguments({"steps": "ns_steps", "coeffs": "ns_coeffs"}):
        table_np = numerics.ns_coefficient_table(ns_coeffs, steps=ns_steps)
    table = jnp.asarray(table_np, dtype)
    abc0 = jnp.full((3,), init_scale, dtype)
    a, b, c, rho, ratio, loss, first_bad = _reduced_scan(
        abc0,
        _variances(cov).astype(dtype),
        jnp.asarray(lr, dtype),
        table,
        jnp.asarray(eps, dtype),
        d=cov.d,
        method=method,
        polar=polar,
        steps=steps,
        lr_schedule=lr_schedule,
    )
    traj = PRTrajectory(
        jnp.arange(steps + 1), a, b, c, rho, ratio, loss, method, first_bad
    )
    return numerics.handle_divergence(
        traj,
        on_divergence=on_divergence,
        what=f"simulate_reduced(method={method!r})",
        cause=_divergence_cause(method, lr, cov),
        n_steps=steps,
        n_records=steps + 1,
        stacklevel=3,
    )


@functools.partial(
    jax.jit,
    static_argnames=(
        "method",
        "polar_method",
        "steps",
        "record_every",
        "batch_size",
        "lr_schedule",
    ),
)
def _full_scan(
    w0: Array,
    cov: SpikedCovariance,
    lr: Array,
    X: Array | None,
    y: Array | None,
    key: Array,
    table: Array,
    eps: Array,
    *,
    method: str,
    polar_method: str,
    steps: int,
    record_every: int,
    batch_size: int | None,
    lr_schedule: Callable[[Array], Array] | None,
) -> tuple[PRSummary, Array, Array]:
    sigma = cov.matrix()
    theta = cov.u

    def gradient(w: Array, k: Array) -> Array:
        if X is None or y is None:
            return _population_grad(w, sigma, theta)
        xb, yb = X, y
        if batch_size is not None:
            idx = jax.random.randint(
                jax.random.fold_in(key, k), (batch_size,), 0, X.shape[0]
            )
            xb, yb = X[idx], y[idx]
        xw = xb @ w
        resid = jnp.sum(xw * xw, axis=1) - yb
        # grad of (1/4n) sum (x^T W W^T x - y)^2 = (1/n) X^T diag(r) X W
        return xb.T @ (resid[:, None] * xw) / xb.shape[0]

    def direction(g: Array) -> Array:
        if method == "gd":
            return g
        if polar_method == "svd":
            return numerics.polar_svd(g)
        return numerics.newton_schulz(g, coeffs=table, eps=eps)  # type: ignore[arg-type]

    Carry = tuple[Array, Array]

    def step(carry: Carry, k: Array) -> tuple[Carry, None]:
        w, bad = carry
        eta = lr if lr_schedule is None else lr * lr_schedule(k)
        w = w - eta * direction(gradient(w, k))
        return (w, numerics.update_first_bad_step(bad, k + 1, w)), None

    def block(carry: Carry, start: Array) -> tuple[Carry, PRSummary]:
        carry, _ = lax.scan(step, carry, start + jnp.arange(record_every))
        return carry, _stats_from_weights(carry[0], cov)

    n_records = steps // record_every
    (w_end, first_bad), stats = lax.scan(
        block, (w0, jnp.asarray(-1, jnp.int32)), record_every * jnp.arange(n_records)
    )
    first = _stats_from_weights(w0, cov)
    stats = jax.tree.map(
        lambda f, s: jnp.concatenate([f[None], s], axis=0), first, stats
    )
    return stats, w_end, first_bad


def simulate_full(
    key: Array,
    cov: SpikedCovariance,
    *,
    method: Literal["gd", "specgd"],
    lr: float,
    steps: int,
    width: int | None = None,
    init: Literal["isotropic", "gaussian"] = "isotropic",
    init_scale: float = 1e-3,
    n_samples: int | None = None,
    batch_size: int | None = None,
    polar_method: Literal["svd", "ns"] = "svd",
    ns_steps: int | None = None,
    ns_coeffs: str | ArrayLike = "muon",
    eps: float = 1e-7,
    record_every: int = 1,
    lr_schedule: Callable[[Array], Array] | None = None,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> PRTrajectory:
    r"""Run GD or SpecGD on the full :math:`d \times m` student (the finite-size check).

    Parameters
    ----------
    key : jax.Array
        PRNG key (initialisation, data, minibatches).
    cov : SpikedCovariance
        The input covariance (teacher ``cov.u``).
    method : {"gd", "specgd"}
        Gradient descent or spectral gradient descent.
    lr : float
        Step size, ``> 0``.
    steps : int
        Number of steps, ``>= 1``, a multiple of ``record_every``.
    width : int or None, default=None
        Number of neurons :math:`m` (``None``: :math:`d`).
    init : {"isotropic", "gaussian"}, default="isotropic"
        ``"isotropic"``: :math:`W_0 = \varepsilon Q` with orthonormal rows
        (:math:`Q = I` when :math:`m = d`, random from ``key`` otherwise),
        on the invariant manifold; needs :math:`m \ge d`. ``"gaussian"``:
        :math:`W_0 = \varepsilon Z/\sqrt{m}`, off the manifold.
    init_scale : float, default=1e-3
        :math:`\varepsilon > 0`.
    n_samples : int or None, default=None
        ``None``: the exact population gradient. Otherwise a fixed sample of
        this size (``>= 1``) from :func:`sample_phase_retrieval`.
    batch_size : int or None, default=None
        With ``n_samples``: minibatch size (drawn with replacement each
        step); ``None`` uses the full sample.
    polar_method : {"svd", "ns"}, default="svd"
        SpecGD's polar factor (exact or Newton–Schulz); ignored for GD.
    ns_steps : int or None, default=None
        Newton–Schulz steps.
    ns_coeffs : {"muon", "cubic", "dion"} or array_like, default="muon"
        Newton–Schulz coefficients.
    eps : float, default=1e-7
        Newton–Schulz ``eps``, ``> 0``.
    record_every : int, default=1
        Record the statistics every this many steps (``>= 1``).
    lr_schedule : callable or None, default=None
        ``k -> multiplier`` of ``lr`` at step ``k``.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        If the iterates become NaN/inf (a step size beyond the stability
        limit): raise :class:`~mltheory.exceptions.DivergenceError` naming
        the first bad step, warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the
        records before it, or return the trajectory as is with
        ``first_bad_step`` set (see
        :func:`mltheory.numerics.handle_divergence`).

    Returns
    -------
    PRTrajectory
        ``steps // record_every + 1`` records (the initialisation first),
        computed from the full matrices with :func:`summary_stats`; fewer
        after ``on_divergence="warn"``.

    Raises
    ------
    ValueError
        If ``width < d`` with ``init="isotropic"``; ``lr <= 0``;
        ``steps < 1`` or not a multiple of ``record_every``;
        ``n_samples < 1``; ``batch_size < 1`` or given without
        ``n_samples``; ``init_scale <= 0``; an unknown option.
    TypeError
        If ``key`` is not a PRNG key or ``cov`` not a
        :class:`SpikedCovariance`.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if the weights became non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if the weights became non-finite.

    See Also
    --------
    simulate_reduced : The exact three-variable reduction.

    Notes
    -----
    The population gradient is :func:`population_grad`; the finite-sample
    gradient is :math:`\frac1n X^\top \operatorname{diag}(r) X W` with
    residuals :math:`r_i = \|W^\top x_i\|^2 - y_i`. Each step costs
    :math:`O(d^2 m)` (plus an SVD of the :math:`d \times m` gradient for
    SpecGD). With the population gradient, ``init="isotropic"`` and
    ``polar_method="svd"`` it agrees with :func:`simulate_reduced` to
    round-off, until a coordinate of the sign recursion hits exactly 0 (then
    one coordinate can differ by :math:`\le \eta`).

    References
    ----------
    .. [1] G. Braun, H. Bao, W. Huang, M. Imaizumi, "Spectral Gradient Descent
       Mitigates Anisotropy-Driven Misalignment: A Case Study in Phase
       Retrieval", arXiv:2601.22652, 2026.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cov = pr.spiked_covariance(8, 4.0)
    >>> key = jax.random.key(0)
    >>> full = pr.simulate_full(key, cov, method="specgd", lr=0.01, steps=50)
    >>> red = pr.simulate_reduced(cov, method="specgd", lr=0.01, steps=50)
    >>> print(float(jnp.abs(full.a - red.a).max()) < 1e-12)
    True
    """
    key = check_key(key)
    cov = _check_cov(cov)
    method = _check_method(method)
    check_in(init, name="init", options=("isotropic", "gaussian"))
    check_in(polar_method, name="polar_method", options=("svd", "ns"))
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    steps = check_scalar(steps, name="steps", kind=int, lower=1)
    record_every = check_scalar(record_every, name="record_every", kind=int, lower=1)
    if steps % record_every:
        raise ValueError(
            f"steps must be a multiple of record_every={record_every}; got "
            f"steps={steps}."
        )
    init_scale = check_scalar(
        init_scale, name="init_scale", lower=0.0, lower_inclusive=False
    )
    eps = check_scalar(eps, name="eps", lower=0.0, lower_inclusive=False)
    lr_schedule = _check_schedule(lr_schedule)
    check_on_divergence(on_divergence)
    d = cov.d
    m = d if width is None else check_scalar(width, name="width", kind=int, lower=1)
    if init == "isotropic" and m < d:
        raise ValueError(
            f"width must be >= d = {d} for init='isotropic' (the invariant "
            f"manifold needs orthonormal rows); got width={m}."
        )
    if n_samples is not None:
        n_samples = check_scalar(n_samples, name="n_samples", kind=int, lower=1)
    if batch_size is not None:
        if n_samples is None:
            raise ValueError(
                "batch_size needs n_samples (minibatches of a finite sample); got "
                f"batch_size={batch_size} with n_samples=None."
            )
        batch_size = check_scalar(batch_size, name="batch_size", kind=int, lower=1)
    dtype = cov.u.dtype
    with renamed_arguments({"steps": "ns_steps", "coeffs": "ns_coeffs"}):
        table_np = numerics.ns_coefficient_table(ns_coeffs, steps=ns_steps)
    table = jnp.asarray(table_np, dtype)
    k_init, k_data, k_batch = jax.random.split(key, 3)
    if init == "isotropic":
        if m == d:
            q = jnp.eye(d, dtype=dtype)
        else:
            z = jax.random.normal(k_init, (m, d), dtype=dtype)
            q = jnp.linalg.qr(z)[0].T  # (d, m) with orthonormal rows
        w0 = init_scale * q
    else:
        w0 = init_scale * jax.random.normal(k_init, (d, m), dtype=dtype) / math.sqrt(m)
    X = y = None
    if n_samples is not None:
        X, y = sample_phase_retrieval(k_data, n_samples, cov.matrix(), cov.u)
    stats, _, first_bad = _full_scan(
        w0,
        cov,
        jnp.asarray(lr, dtype),
        X,
        y,
        k_batch,
        table,
        jnp.asarray(eps, dtype),
        method=method,
        polar_method=polar_method,
        steps=steps,
        record_every=record_every,
        batch_size=batch_size,
        lr_schedule=lr_schedule,
    )
    rec = jnp.arange(steps // record_every + 1) * record_every
    traj = PRTrajectory(
        rec,
        stats.a,
        stats.b,
        stats.c,
        stats.alignment,
        stats.spike_ratio,
        stats.loss,
        method,
        first_bad,
    )
    return numerics.handle_divergence(
        traj,
        on_divergence=on_divergence,
        what=f"simulate_full(method={method!r})",
        cause=_divergence_cause(method, lr, cov),
        record_every=record_every,
        n_steps=steps,
        n_records=steps // record_every + 1,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- #
# escape rates and comparisons
# --------------------------------------------------------------------------- #
@pytree_dataclass
class EscapeRates:
    r"""Per-step growth of signal, spike and bulk while escaping a small start.

    Parameters
    ----------
    signal, spike, bulk : jax.Array
        GD: multiplicative factors per step; SpecGD: additive increments.
    amplifies_spike : jax.Array
        Whether the spike/signal ratio grows during the escape.
    escape_steps : jax.Array
        Predicted steps for the signal to grow from ``init_scale`` to 1.
    kind : str
        ``"multiplicative"`` (GD) or ``"additive"`` (SpecGD), static.

    See Also
    --------
    escape_rates : Computes it.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> r = pr.escape_rates(pr.spiked_covariance(8, 4.0), 0.01, "gd")
    >>> bool(r.amplifies_spike), r.kind
    (True, 'multiplicative')
    """

    signal: Array
    spike: Array
    bulk: Array
    amplifies_spike: Array
    escape_steps: Array
    kind: str = static_field(default="multiplicative")


def escape_rates(
    cov: SpikedCovariance,
    lr: float,
    method: Literal["gd", "specgd"],
    *,
    init_scale: float = 1e-3,
) -> EscapeRates:
    r"""Linearised escape rates of GD (the threshold law) and SpecGD.

    Parameters
    ----------
    cov : SpikedCovariance
        The input covariance.
    lr : float
        Step size, ``> 0``.
    method : {"gd", "specgd"}
        Which algorithm.
    init_scale : float, default=1e-3
        :math:`\varepsilon \in (0, 1)`, for ``escape_steps``.

    Returns
    -------
    EscapeRates
        The rates and the spike-amplification verdict.

    Raises
    ------
    ValueError
        If ``lr <= 0``, ``init_scale`` not in (0, 1) or ``method`` unknown.
    TypeError
        If ``cov`` is not a :class:`SpikedCovariance`.

    See Also
    --------
    simulate_reduced : The exact dynamics these linearise.

    Notes
    -----
    While :math:`a, b, c \ll 1`, :math:`T \approx -s_u` and GD gives

    .. math::

        a_{k+1} \approx (1 + 3\tilde\eta s_u^2)\, a_k,\quad
        b_{k+1} \approx (1 + \tilde\eta s_u s_v)\, b_k,\quad
        c_{k+1} \approx (1 + \tilde\eta s_u s_\perp)\, c_k ,

    (3 = :math:`E[z^4]`), so GD amplifies the spike/signal ratio iff
    :math:`s_v > 3 s_u`, and escapes in :math:`\log(1/\varepsilon) /
    \log(1 + 3\tilde\eta s_u^2)` steps. SpecGD adds :math:`\eta` to each
    coordinate per step (every gradient coordinate is negative), so the
    ratio stays 1 and the escape takes :math:`(1-\varepsilon)/\eta` steps.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> r = pr.escape_rates(pr.spiked_covariance(8, 1.0), 0.01, "gd")
    >>> print(round(float(r.signal), 4), round(float(r.spike), 4))
    1.03 1.02
    >>> bool(r.amplifies_spike)
    False
    """
    cov = _check_cov(cov)
    method = _check_method(method)
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    init_scale = check_scalar(
        init_scale,
        name="init_scale",
        lower=0.0,
        upper=1.0,
        lower_inclusive=False,
        upper_inclusive=False,
    )
    su, sv, sb = cov.s_u, cov.s_v, cov.s_bulk
    if method == "gd":
        signal = 1.0 + 3.0 * lr * su**2
        return EscapeRates(
            signal=signal,
            spike=1.0 + lr * su * sv,
            bulk=1.0 + lr * su * sb,
            amplifies_spike=sv > 3.0 * su,
            escape_steps=math.log(1.0 / init_scale) / jnp.log(signal),
            kind="multiplicative",
        )
    step = jnp.asarray(lr, su.dtype)
    return EscapeRates(
        signal=step,
        spike=step,
        bulk=step,
        amplifies_spike=jnp.asarray(False),
        escape_steps=jnp.asarray((1.0 - init_scale) / lr, su.dtype),
        kind="additive",
    )


@pytree_dataclass
class Comparison:
    """GD and SpecGD trajectories on the same problem.

    Parameters
    ----------
    gd : PRTrajectory
        The gradient-descent run.
    specgd : PRTrajectory
        The spectral-gradient-descent run.

    See Also
    --------
    compare_gd_specgd : Produces it.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cmp = pr.compare_gd_specgd(
    ...     pr.spiked_covariance(8, 4.0), lr_gd=0.002, lr_specgd=0.002, steps=5
    ... )
    >>> cmp.gd.method, cmp.specgd.method
    ('gd', 'specgd')
    """

    gd: PRTrajectory
    specgd: PRTrajectory


def compare_gd_specgd(
    cov: SpikedCovariance,
    *,
    lr_gd: float,
    lr_specgd: float,
    steps: int,
    **kw: Any,
) -> Comparison:
    r"""Run GD and SpecGD with the reduced recursion on the same covariance.

    Parameters
    ----------
    cov : SpikedCovariance
        The input covariance.
    lr_gd : float
        GD step size :math:`\tilde\eta > 0` (stable for
        :math:`\tilde\eta \lesssim 1/s_v^2`; e.g. :math:`0.01/(1+\kappa)`).
    lr_specgd : float
        SpecGD step size :math:`\eta > 0` (e.g. 0.002; keep
        :math:`\eta \lesssim 1/\sqrt d`).
    steps : int
        Number of steps, ``>= 1``.
    **kw
        Further options of :func:`simulate_reduced` (``init_scale``,
        ``polar``, ``ns_steps``, ``ns_coeffs``, ``eps``, ``lr_schedule``,
        ``on_divergence``).

    Returns
    -------
    Comparison
        Both trajectories.

    Raises
    ------
    ValueError
        For any reason of :func:`simulate_reduced`.
    TypeError
        If ``cov`` is not a :class:`SpikedCovariance` or ``kw`` has an
        unknown name.

    See Also
    --------
    simulate_reduced : One run.

    Examples
    --------
    >>> from mltheory.optim import phase_retrieval as pr
    >>> cmp = pr.compare_gd_specgd(
    ...     pr.spiked_covariance(64, 4.0), lr_gd=0.002, lr_specgd=0.002, steps=3000
    ... )
    >>> print(round(float(cmp.gd.alignment.min()), 2))
    0.02
    >>> print(float(cmp.specgd.spike_ratio.max()))
    1.0
    """
    check_scalar(lr_gd, name="lr_gd", lower=0.0, lower_inclusive=False)
    check_scalar(lr_specgd, name="lr_specgd", lower=0.0, lower_inclusive=False)
    with renamed_arguments({"lr": "lr_gd"}):
        gd = simulate_reduced(cov, method="gd", lr=lr_gd, steps=steps, **kw)
    with renamed_arguments({"lr": "lr_specgd"}):
        sp = simulate_reduced(cov, method="specgd", lr=lr_specgd, steps=steps, **kw)
    return Comparison(gd, sp)

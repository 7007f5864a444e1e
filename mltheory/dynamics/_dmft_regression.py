"""Linear regression: the deterministic DMFT and its Marchenko–Pastur quadrature.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_on_divergence,
    check_scalar,
    is_traced,
)
from mltheory.dynamics import _dmft_linear
from mltheory.dynamics._dmft_checks import _check_delta, _check_grid, _check_tau
from mltheory.dynamics._dmft_solve import _raise_if_diverged
from mltheory.dynamics._dmft_types import _BLOWUP, DMFTResult
from mltheory.exceptions import DivergenceError, DivergenceWarning
from mltheory.numerics import TimeGrid

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Linear regression
# --------------------------------------------------------------------------- #


def linear_regression_dmft(
    *,
    delta: float,
    grid: TimeGrid,
    tau: float = 0.0,
    sigma: float = 0.0,
    ridge: float = 0.0,
    rho: float = 1.0,
    theta0_var: float = 0.0,
) -> DMFTResult:
    r"""Deterministic SGF-DMFT of linear regression, for every tau (no Monte Carlo).

    For the square loss :math:`\ell = r - w^* - \sigma\varepsilon` the sample
    side is affine in the Gaussian field, so the DMFT closes on second
    moments for every :math:`\tau \geq 0` (derived in the theory page
    :doc:`/theory/dmft_sgf`): the sample-side response is
    :math:`R_\ell = (I + \tfrac{\Delta}{\delta} R_\theta)^{-1}`,
    :math:`\Gamma = -R_\ell 1`, and the correlation of :math:`\ell` and its
    correlation with the noise increments obey closed causal recursions.
    One pass, :math:`O(K^3)` work, exact for the Euler–Maruyama recursion on
    ``grid`` as :math:`d \to \infty`.

    Parameters
    ----------
    delta : float
        Aspect ratio :math:`n/d > 0`.
    grid : TimeGrid
        Uniform grid from 0.
    tau : float, default=0.0
        Temperature :math:`\geq 0`.
    sigma : float, default=0.0
        Label-noise standard deviation: :math:`y = \langle x, \theta^*\rangle
        + \sigma\varepsilon`.
    ridge : float, default=0.0
        Ridge coefficient :math:`\lambda \geq 0`.
    rho : float, default=1.0
        Teacher second moment :math:`E\theta^{*2} > 0`.
    theta0_var : float, default=0.0
        Initial second moment :math:`E\theta_0^2 \geq 0` (independent of
        :math:`\theta^*`).

    Returns
    -------
    DMFTResult
        Kernels with ``k = k_star = 1``; zero standard errors; train loss
        :math:`\frac12 E\ell_t^2`, test loss :math:`\frac12(E(\theta_t -
        \theta^*)^2 + \sigma^2)`.

    Raises
    ------
    TypeError
        If ``grid`` is not a :class:`~mltheory.numerics.TimeGrid` or a number
        is not real.
    ValueError
        If ``delta`` is not positive and finite, ``tau < 0``, ``sigma < 0``,
        ``ridge < 0``, ``rho <= 0`` or ``theta0_var < 0``.
    DMFTDivergenceError
        If the loss explodes (above the critical temperature).

    See Also
    --------
    linear_regression_mp : The independent random-matrix formula (tau = 0).
    solve_dmft : The Monte Carlo solver for any model.

    Notes
    -----
    With :math:`c = \Delta/\delta`, :math:`b = \sqrt{\tau/\delta}`, :math:`S
    = (I + cR_\theta)^{-1}`, :math:`Q = E[\ell\ell^\top]` and :math:`P[k,i] =
    E[\ell_k\ell_i\Delta B_i]`:

    .. math::

        P[k,i] &= b\Delta R_\theta[k,i] Q[i,i] - c\sum_{i<j<k} R_\theta[k,j]
            P[j,i], \\
        Q[k,m] &= (C_a S^\top)[k,m] - \sum_{j<k} R_\theta[k,j]\big(c Q[j,m]
            - b\,\mathbb 1_{j<m} P[m,j]\big), \\
        M[k,m] &= \delta c\,(c Q[k,m] - b P[k,m]) \ (k > m), \quad
        M[k,k] = \delta (c^2 + b^2\Delta) Q[k,k],

    where :math:`C_a` is the covariance of :math:`w - w^* - \sigma
    \varepsilon` (a derivation for this library; it reduces to the
    Celentano–Cheng–Montanari gradient-flow DMFT at :math:`\tau = 0`).

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "High-Dimensional Limit of Stochastic
       Gradient Flow via Dynamical Mean-Field Theory", arXiv:2602.06320, 2026.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> res = dmft.linear_regression_dmft(delta=4.0, sigma=0.5,
    ...                                   grid=TimeGrid(40.0, 200))
    >>> print(round(float(res.train_loss[-1]), 4), 0.5 * 0.25 * (1 - 1 / 4))
    0.0938 0.09375
    """
    delta = _check_delta(delta)
    tau = _check_tau(tau)
    grid = _check_grid(grid)
    sigma = check_scalar(sigma, name="sigma", lower=0.0)
    ridge = check_scalar(ridge, name="ridge", lower=0.0)
    rho = check_scalar(rho, name="rho", lower=0.0, lower_inclusive=False)
    theta0_var = check_scalar(theta0_var, name="theta0_var", lower=0.0)
    if not is_traced(tau) and tau > 2.0:  # sup d ell / d r = 1 for the square loss
        warnings.warn(
            f"tau * sup(d ell / d r) = {tau:.3g} > 2: SGF may diverge; DMFT "
            "existence only guaranteed on a short horizon for tau>0 with "
            "nonlinear loss.",
            UserWarning,
            stacklevel=2,
        )
    dtype = jnp.result_type(float)
    out = _dmft_linear.linear_dmft_scan(
        jnp.asarray(delta, dtype),
        jnp.asarray(tau, dtype),
        jnp.asarray(sigma, dtype),
        jnp.asarray(ridge, dtype),
        jnp.asarray(rho, dtype),
        jnp.asarray(theta0_var, dtype),
        n_steps=grid.n_steps,
        dt=grid.dt,
    )
    two = lambda x: x[:, :, None, None]
    zeros = jnp.zeros_like(out["train"])
    res = DMFTResult(
        ts=grid.ts.astype(dtype),
        C_theta=two(out["C"]),
        m=out["m"][:, None, None],
        rho=jnp.full((1, 1), rho, dtype),
        R_theta=two(out["R"]),
        C_ell=two(out["C_ell"]),
        R_ell=two(out["D"]),
        Gamma=out["G"][:, None, None],
        noise_cov=two(out["M"]),
        train_loss=out["train"],
        test_loss=out["test"],
        train_loss_se=zeros,
        test_loss_se=zeros,
        theta_samples=None,
        residuals=jnp.zeros(0, dtype),
        delta=jnp.asarray(delta, dtype),
        tau=jnp.asarray(tau, dtype),
        method="linear",
    )
    _raise_if_diverged(res, bad_index=None, psd_bad=None)
    return res


def linear_regression_mp(
    *,
    delta: float,
    ts: ArrayLike,
    sigma: float = 0.0,
    ridge: float = 0.0,
    rho: float = 1.0,
    theta0_var: float = 0.0,
    dt: float | None = None,
    n_nodes: int = 400,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Train and test loss of gradient flow on linear regression by MP quadrature.

    An implementation independent of the DMFT: the closed-form solution
    :math:`\theta_t - \theta^* = e^{-t(A+\lambda)}\theta_0 + (g_t(A) A -
    I)\theta^* + \sigma g_t(A) X^\top\varepsilon/\delta`, :math:`A =
    X^\top X/\delta`, :math:`g_t(s) = (1 - e^{-t(s+\lambda)})/(s+\lambda)`,
    averaged over the Marchenko–Pastur law of :math:`A` (ratio
    :math:`1/\delta`, with its atom at zero when :math:`\delta < 1`).

    Parameters
    ----------
    delta : float
        Aspect ratio :math:`n/d > 0`.
    ts : array_like of shape (n_times,)
        Times (non-negative).
    sigma : float, default=0.0
        Label-noise standard deviation.
    ridge : float, default=0.0
        Ridge coefficient.
    rho : float, default=1.0
        Teacher second moment.
    theta0_var : float, default=0.0
        Initial second moment.
    dt : float, optional
        If given, gradient *descent* with this step (factor
        :math:`(1 - \Delta(s+\lambda))^{t/\Delta}` instead of the
        exponential), the exact large-:math:`d` counterpart of
        :func:`linear_regression_dmft` with ``tau=0`` on that grid.
    n_nodes : int, default=400
        Gauss–Chebyshev nodes on the continuous part of the law.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        Gradient descent with ``dt`` diverges when :math:`\Delta(s_+ +
        \lambda) > 2` (:math:`s_+ = (1 + \delta^{-1/2})^2`, the top of the
        spectrum): its losses then grow geometrically. When a loss becomes
        non-finite or grows by more than :math:`10^{10}` (the DMFT's
        criterion): raise :class:`~mltheory.exceptions.DivergenceError`
        naming the first such time and the stability limit of ``dt``; warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the losses
        before it; or return them as they are.

    Returns
    -------
    train_loss : numpy.ndarray of shape (n_times,)
        :math:`\frac1{2n}\|X\theta_t - y\|^2` as :math:`d \to \infty`.
    test_loss : numpy.ndarray of shape (n_times,)
        :math:`\frac12(E(\theta_t - \theta^*)^2 + \sigma^2)`.

    Raises
    ------
    TypeError
        If a number is not real or ``n_nodes`` is not an integer.
    ValueError
        If ``delta <= 0``, ``delta == 1`` (the law has no density bound), a
        time is negative or non-finite, ``dt <= 0``, ``sigma``/``ridge``/
        ``theta0_var`` are negative, ``rho <= 0``, ``n_nodes < 2`` or
        ``on_divergence`` is unknown.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if the losses explode (``dt`` beyond
        the stability limit).

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if the losses explode.

    See Also
    --------
    linear_regression_dmft : The DMFT that must agree with it.

    Notes
    -----
    Per eigenvalue :math:`s` of :math:`A`, :math:`E(\theta_t -
    \theta^*)^2 = f^2 v_0 + (gs - 1)^2\rho + \sigma^2 g^2 s/\delta` with
    :math:`f = e^{-t(s+\lambda)}`; the train loss weighs the signal part by
    :math:`s` and the noise by :math:`(gs-1)^2` over the spectrum of
    :math:`XX^\top/\delta`. Long-time limits (:math:`\lambda = 0,
    \theta_0 = 0`): :math:`E(\theta_\infty-\theta^*)^2 = \sigma^2/(\delta-1)`
    for :math:`\delta > 1` and :math:`(1-\delta)\rho + \sigma^2\delta/(1 -
    \delta)` for :math:`\delta < 1`.

    References
    ----------
    .. [1] V. A. Marchenko and L. A. Pastur, "Distribution of eigenvalues for
       some sets of random matrices", Math. USSR-Sbornik 1(4), 1967.
    .. [2] M. S. Advani, A. M. Saxe and H. Sompolinsky, "High-dimensional
       dynamics of generalization error in neural networks", Neural Networks
       132, 2020.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> train, test = dmft.linear_regression_mp(delta=4.0, sigma=0.5,
    ...                                         ts=[0.0, 200.0])
    >>> print(round(float(test[-1]), 4), round(0.5 * (0.25 / 3 + 0.25), 4))
    0.1667 0.1667
    """
    delta = _check_delta(delta)
    if delta == 1.0:
        raise ValueError(
            "delta must differ from 1 for the quadrature (the MP density is "
            "singular at 0 when n = d); got delta = 1.0."
        )
    times = as_numpy(ts, name="ts", ndim=1)
    if (times < 0).any():
        raise ValueError(f"ts must be >= 0; got min {times.min()}.")
    sigma = check_scalar(sigma, name="sigma", lower=0.0)
    ridge = check_scalar(ridge, name="ridge", lower=0.0)
    rho = check_scalar(rho, name="rho", lower=0.0, lower_inclusive=False)
    theta0_var = check_scalar(theta0_var, name="theta0_var", lower=0.0)
    if dt is not None:
        dt = check_scalar(dt, name="dt", lower=0.0, lower_inclusive=False)
    n_nodes = check_scalar(n_nodes, name="n_nodes", kind=int, lower=2)
    check_on_divergence(on_divergence)
    with np.errstate(over="ignore", invalid="ignore"):
        train, test = _dmft_linear.mp_losses(
            delta=delta,
            sigma=sigma,
            ridge=ridge,
            rho=rho,
            theta0_var=theta0_var,
            ts=times,
            dt=dt,
            n_nodes=n_nodes,
        )
    scale = _BLOWUP * max(1.0, abs(float(train[0])) if np.isfinite(train[0]) else 1.0)
    exploded = ~np.isfinite(train) | ~np.isfinite(test) | (np.abs(train) > scale)
    if on_divergence == "flag" or not exploded.any():
        return train, test
    idx = int(np.argmax(exploded))
    top = (1.0 + 1.0 / math.sqrt(delta)) ** 2 + ridge
    cause = (
        f"gradient descent with dt = {dt:.4g} is unstable: dt * (s_max + ridge) = "
        f"{dt * top:.4g} > 2 with s_max = (1 + delta**-0.5)**2; use dt < "
        f"{2.0 / top:.4g}"
        if dt is not None and dt * top > 2.0
        else "the losses grew without bound"
    )
    where = (
        f"at ts[{idx}] = {times[idx]:.6g} the train loss is {train[idx]:.4g} "
        f"(non-finite or more than {_BLOWUP:.0e} times its start)"
    )
    if on_divergence == "raise":
        raise DivergenceError(
            f"linear_regression_mp diverged: {where}. Likely cause: {cause}. Pass "
            "on_divergence='warn' to get the losses before it with a "
            "DivergenceWarning, or on_divergence='flag' to get them as they are."
        )
    warnings.warn(
        f"linear_regression_mp diverged: {where}; returning the {idx} losses "
        f"before it. Likely cause: {cause}.",
        DivergenceWarning,
        stacklevel=2,
    )
    return train[:idx], test[:idx]

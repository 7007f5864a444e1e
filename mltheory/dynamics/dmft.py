r"""Dynamical mean-field theory (DMFT) of stochastic gradient flow (SGF).

In the proportional limit :math:`n, d \to \infty`, :math:`n/d \to \delta`,
SGF (the SDE surrogate of multi-pass mini-batch SGD at temperature
:math:`\tau = \eta/B`, see :mod:`mltheory.optim.sgf`) on a generalised linear
model or a two-layer network is described by two coupled *effective
processes*: one parameter row and one sample, tied together by a handful of
two-time kernels (correlation :math:`C_\theta`, responses :math:`R_\theta`,
:math:`R_\ell`, the teacher force :math:`\Gamma` and the noise covariance
:math:`M`). This module

* describes a model by a small set of callables (:class:`SGFModel`), with
  ready constructors :func:`glm` and :func:`two_layer`;
* solves the DMFT by Monte Carlo over the effective processes
  (:func:`solve_dmft`: a causal single pass or a damped fixed point with
  common random numbers);
* gives the special cases: the online-SGD limit :math:`\delta \to \infty`
  (:func:`online_limit`), deterministic linear regression
  (:func:`linear_regression_dmft`) and, independently, its Marchenko–Pastur
  quadrature (:func:`linear_regression_mp`);
* simulates the finite-size system the theory describes (:func:`simulate`).

Conventions: :math:`x_i \sim N(0, I_d/d)`, parameters with :math:`O(1)`
coordinates, time in SGF units (one unit is :math:`d/\eta` SGD steps), and
the DMFT is that of the Euler–Maruyama recursion with the grid's step, so a
simulation on the same grid differs from it only by finite-:math:`d` error.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
import weakref
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_numpy,
    check_callable,
    check_in,
    check_key,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.dynamics import _dmft_linear, _dmft_solver
from mltheory.exceptions import ConvergenceWarning, DivergenceError
from mltheory.numerics import TimeGrid, expect, split_gaussian_rule
from mltheory.optim.sgf import SGFTrajectory, simulate_sgd, simulate_sgf

__all__ = [
    "DMFTConfig",
    "DMFTDivergenceError",
    "DMFTNumericalError",
    "DMFTResult",
    "SGFModel",
    "glm",
    "linear_regression_dmft",
    "linear_regression_mp",
    "online_limit",
    "simulate",
    "solve_dmft",
    "two_layer",
]

# A loss that grows by this factor over its initial value has diverged.
_BLOWUP = 1e10
_N_BATCHES = 10  # batch means for the test-loss standard error


class DMFTDivergenceError(DivergenceError):
    """Raised when the DMFT (or its simulation) blows up: NaN/inf or an exploding loss.

    Attributes ``iteration`` (fixed-point iteration, 0 for single-pass
    methods), ``time_index`` (first bad grid index) and ``result`` (the
    :class:`DMFTResult` computed so far, possibly holding non-finite values)
    say where it happened.

    Parameters
    ----------
    message : str
        The error message.
    iteration : int, default=0
        The fixed-point iteration at which it happened.
    time_index : int, default=-1
        The first grid index with a non-finite or exploding value.
    result : DMFTResult or None, default=None
        The result computed so far.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DMFTDivergenceError
    >>> err = DMFTDivergenceError("loss exploded", time_index=12)
    >>> print(err.time_index, isinstance(err, ArithmeticError))
    12 True
    """

    def __init__(
        self,
        message: str,
        *,
        iteration: int = 0,
        time_index: int = -1,
        result: Any = None,
    ) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.time_index = time_index
        self.result = result


class DMFTNumericalError(ArithmeticError):
    """Raised when a DMFT covariance kernel is not positive semi-definite.

    Small negative conditional variances (rounding) are clipped silently; one
    below :math:`-10^{-8}` times the variance's scale raises this error.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DMFTNumericalError
    >>> print(issubclass(DMFTNumericalError, ArithmeticError))
    True
    """


# --------------------------------------------------------------------------- #
# Model description
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class SGFModel:
    r"""A model for the SGF-DMFT: per-sample loss, regulariser and priors as callables.

    All callables act on one parameter row or one sample (they are vmapped)
    and must be JAX-traceable. Instances are hashable (callables compare by
    identity) and are static arguments of the jitted solvers: build a model
    once and reuse it to reuse the compilation.

    Parameters
    ----------
    k : int
        Student width (1 for a GLM, the number of hidden units otherwise).
    k_star : int
        Teacher width.
    loss : callable
        ``loss(r, r_star, eps) -> scalar``: the per-sample loss
        :math:`L(r; z)` with ``r`` of shape ``(k,)``, the teacher
        pre-activation ``r_star`` of shape ``(k_star,)`` and the label-noise
        variable ``eps`` (a standard normal scalar).
    sample_theta_star : callable
        ``sample_theta_star(key, n) -> (n, k_star)``: i.i.d. teacher rows.
    sample_theta0 : callable
        ``sample_theta0(key, n) -> (n, k)`` (or ``(n, s)`` with a custom
        ``state_step``): i.i.d. initial rows.
    dloss : callable, optional
        ``dloss(t, r, r_star, eps) -> (k,)``: :math:`\ell_t = \nabla_r L`;
        default ``jax.grad(loss)`` (time independent).
    ridge : float, default=0.0
        Ridge coefficient :math:`\lambda \geq 0` (:math:`h = \lambda\theta`).
    reg_grad : callable, optional
        ``reg_grad(t, theta_row) -> (k,)``: an extra separable regulariser
        gradient :math:`h_t`.
    label_noise : bool, default=True
        Whether ``eps`` enters the loss (adds a dimension to the test-loss
        quadrature).
    test_loss : callable, optional
        ``test_loss(C, m, rho) -> scalar``: a closed-form test loss from the
        overlaps :math:`C = E\theta\theta^\top` (k, k), :math:`m =
        E\theta\theta^{*\top}` (k, k_star), :math:`\rho` (k_star, k_star);
        default Gauss–Hermite quadrature of ``loss``.
    curvature : float, optional
        An upper bound on :math:`\partial_r \ell`, for the stability warning.
    state_step : callable, optional
        ``state_step(t, state_row, force_row, dt) -> state_row``: a custom
        parameter-side step for reparametrised models (the hook for diagonal
        linear networks); ``force_row`` is the data force times ``dt``, of
        shape ``(k,)``. Default: ``theta - dt (ridge theta + h) + force``.
    readout : callable, optional
        ``readout(state_row) -> (k,)``: the effective parameter of a state
        (used with ``state_step``). Default: the identity.
    name : str, default="custom"
        A label for reprs and plots.

    See Also
    --------
    glm, two_layer : Ready-made models.
    solve_dmft : Solves the DMFT of a model.

    Examples
    --------
    Least squares with a Gaussian teacher, from scratch:

    >>> from mltheory.dynamics.dmft import SGFModel
    >>> model = SGFModel(
    ...     k=1, k_star=1,
    ...     loss=lambda r, rs, e: 0.5 * (r[0] - rs[0] - 0.5 * e) ** 2,
    ...     sample_theta_star=lambda key, n: jax.random.normal(key, (n, 1)),
    ...     sample_theta0=lambda key, n: jnp.zeros((n, 1)),
    ... )
    >>> print(model.k, model.ridge)
    1 0.0
    """

    k: int
    k_star: int
    loss: Callable[[Array, Array, Array], Array]
    sample_theta_star: Callable[[KeyArray, int], Array]
    sample_theta0: Callable[[KeyArray, int], Array]
    dloss: Callable[[Array, Array, Array, Array], Array] | None = None
    ridge: float = 0.0
    reg_grad: Callable[[Array, Array], Array] | None = None
    label_noise: bool = True
    test_loss: Callable[[Array, Array, Array], Array] | None = None
    curvature: float | None = None
    state_step: Callable[..., Array] | None = None
    readout: Callable[[Array], Array] | None = None
    name: str = "custom"

    def __post_init__(self) -> None:
        check_scalar(self.k, name="k", kind=int, lower=1)
        check_scalar(self.k_star, name="k_star", kind=int, lower=1)
        check_scalar(self.ridge, name="ridge", lower=0.0)
        for name in ("loss", "sample_theta_star", "sample_theta0"):
            check_callable(getattr(self, name), name=name)
        for name in ("dloss", "reg_grad", "test_loss", "state_step", "readout"):
            f = getattr(self, name)
            if f is not None:
                check_callable(f, name=name)


@dataclasses.dataclass(frozen=True)
class DMFTConfig:
    r"""Numerical options of :func:`solve_dmft`.

    Parameters
    ----------
    n_samples : int, default=10_000
        Monte Carlo samples of each effective process (at least 100; below
        1000 a warning says the error is large, about ``1/sqrt(n_samples)``).
    method : {"causal", "fixed_point"}, default="causal"
        March forward in time in one pass, or iterate the damped DMFT map with
        common random numbers. Both give the same solution for the same key.
    damping : float, default=0.5
        Fixed-point damping :math:`\gamma \in (0, 1]`.
    tol : float, default=1e-6
        Fixed-point tolerance on the relative sup-norm change of the kernels.
    max_iter : int, default=200
        Maximum fixed-point iterations.
    time_blocks : int or None, default=None
        Split the causal time loop into this many blocks; a block ending at
        time index ``J`` reads only the first ``J`` times of the histories,
        so the work of a solve (it is bound by memory traffic over the
        ``O(K N k)`` histories) falls towards half as the count grows. Each
        block compiles its own loop body (about +4 s of compilation for 4
        blocks on 2 CPU cores, against 10--25 % less run time), so blocks pay
        off for large solves and for sweeps, which reuse one compilation
        (``delta`` and ``tau`` are traced). ``None`` picks 4 when
        :math:`(K+1)^2 N k \ge 4 \cdot 10^8` and 1 otherwise. The result
        does not depend on it beyond rounding.

    Raises
    ------
    TypeError
        If an integer option is not an integer.
    ValueError
        If ``n_samples < 100``, ``method`` is unknown, ``damping`` is not in
        ``(0, 1]``, ``tol <= 0``, ``max_iter < 1`` or ``time_blocks < 1``.

    Warns
    -----
    UserWarning
        If ``n_samples < 1000``.

    See Also
    --------
    solve_dmft : Uses it.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DMFTConfig
    >>> DMFTConfig(n_samples=2000, method="fixed_point").damping
    0.5
    """

    n_samples: int = 10_000
    method: Literal["causal", "fixed_point"] = "causal"
    damping: float = 0.5
    tol: float = 1e-6
    max_iter: int = 200
    time_blocks: int | None = None

    def __post_init__(self) -> None:
        n = check_scalar(self.n_samples, name="n_samples", kind=int, lower=100)
        if n < 1000:
            warnings.warn(
                f"n_samples = {n} < 1000: Monte Carlo error ~1/sqrt(N) "
                f"(about {1 / math.sqrt(n):.2f} relative) dominates the kernels.",
                UserWarning,
                stacklevel=3,
            )
        check_in(self.method, name="method", options=("causal", "fixed_point"))
        check_scalar(
            self.damping, name="damping", lower=0.0, upper=1.0, lower_inclusive=False
        )
        check_scalar(self.tol, name="tol", lower=0.0, lower_inclusive=False)
        check_scalar(self.max_iter, name="max_iter", kind=int, lower=1)
        if self.time_blocks is not None:
            check_scalar(self.time_blocks, name="time_blocks", kind=int, lower=1)


@pytree_dataclass
class DMFTResult:
    r"""The solution of a DMFT: kernels, loss curves and convergence information.

    Time indices run over the grid ``0..K``; two-time kernels are
    ``(K+1, K+1, k, k)`` blocks. Responses are discrete: ``R_theta[t, s]`` is
    the response of :math:`\theta_t` to a kick of size one added to
    :math:`\theta_{s+1}` (so ``R_theta[s+1, s]`` is the identity).

    Parameters
    ----------
    ts : jax.Array of shape (K+1,)
        Grid times.
    C_theta : jax.Array of shape (K+1, K+1, k, k)
        :math:`E[\theta_t \theta_s^\top]`.
    m : jax.Array of shape (K+1, k, k_star)
        :math:`E[\theta_t \theta^{*\top}]`.
    rho : jax.Array of shape (k_star, k_star)
        :math:`E[\theta^* \theta^{*\top}]`.
    R_theta : jax.Array of shape (K+1, K+1, k, k)
        Parameter response (strictly causal).
    C_ell : jax.Array of shape (K+1, K+1, k, k)
        :math:`E[\ell_t \ell_s^\top]` on the sample side.
    R_ell : jax.Array of shape (K+1, K+1, k, k)
        :math:`E[\partial \ell_t / \partial w_s]` (causal; the diagonal is
        :math:`\Lambda_t`, the rest :math:`\tilde R_\ell \Delta`).
    Gamma : jax.Array of shape (K+1, k, k_star)
        :math:`E[\partial \ell_t / \partial w^*]`.
    noise_cov : jax.Array of shape (K, K, k, k)
        :math:`M = \delta E[\Delta Z_t \Delta Z_s^\top]`.
    train_loss, test_loss : jax.Array of shape (K+1,)
        Loss curves.
    train_loss_se, test_loss_se : jax.Array of shape (K+1,)
        Monte Carlo standard errors (zero for deterministic solvers).
    theta_samples : jax.Array of shape (n_samples, k) or None
        Samples of :math:`\theta_T` (for histograms).
    residuals : jax.Array of shape (n_iter,)
        Fixed-point residual history (empty for single-pass solvers).
    delta, tau : jax.Array
        The aspect ratio and temperature.
    n_iter : int
        Fixed-point iterations (1 for single-pass solvers).
    converged : bool
        Whether the fixed point met its tolerance (True for single passes).
    method : str
        ``"causal"``, ``"fixed_point"``, ``"linear"`` or ``"online"``.

    See Also
    --------
    solve_dmft, online_limit, linear_regression_dmft : Return it.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> res = dmft.linear_regression_dmft(delta=2.0, sigma=0.5,
    ...                                   grid=TimeGrid(1.0, 10))
    >>> res.C_theta.shape, res.train_loss.shape
    ((11, 11, 1, 1), (11,))
    """

    ts: Array
    C_theta: Array
    m: Array
    rho: Array
    R_theta: Array
    C_ell: Array
    R_ell: Array
    Gamma: Array
    noise_cov: Array
    train_loss: Array
    test_loss: Array
    train_loss_se: Array
    test_loss_se: Array
    theta_samples: Array | None
    residuals: Array
    delta: Array
    tau: Array
    n_iter: int = static_field(default=1)
    converged: bool = static_field(default=True)
    method: str = static_field(default="causal")


# --------------------------------------------------------------------------- #
# Ready models
# --------------------------------------------------------------------------- #


def _gaussian_rows(k: int, scale: float) -> Callable[[KeyArray, int], Array]:
    def sample(key: KeyArray, n: int) -> Array:
        return scale * jax.random.normal(key, (n, k))

    return sample


def _zero_rows(k: int) -> Callable[[KeyArray, int], Array]:
    def sample(key: KeyArray, n: int) -> Array:
        return jnp.zeros((n, k), jnp.result_type(float))

    return sample


def _prior(prior: str | float | Callable[..., Any], k: int, name: str) -> Any:
    if callable(prior):
        return prior
    if isinstance(prior, str):
        check_in(prior, name=name, options=("gaussian", "zero"))
        return _gaussian_rows(k, 1.0) if prior == "gaussian" else _zero_rows(k)
    scale = check_scalar(prior, name=name, lower=0.0)
    return _zero_rows(k) if scale == 0.0 else _gaussian_rows(k, scale)


def _label(teacher: str, noise_std: float) -> Callable[[Array, Array], Array]:
    if teacher == "linear":
        return lambda rs, e: rs + noise_std * e
    if teacher == "sign":
        return lambda rs, e: jnp.sign(rs + noise_std * e)
    # logistic teacher: P(y = 1) = sigmoid(r*), with U = Phi(eps) uniform.
    return lambda rs, e: jnp.sign(jax.nn.sigmoid(rs) - jax.scipy.stats.norm.cdf(e))


def _margin_loss(kind: str) -> Callable[[Array], Array]:
    if kind == "logistic":
        return lambda u: jnp.logaddexp(0.0, -u)

    def smooth_hinge(u: Array) -> Array:
        return jnp.where(
            u >= 1.0, 0.0, jnp.where(u <= 0.0, 0.5 - u, 0.5 * (1.0 - u) ** 2)
        )

    return smooth_hinge


def glm(
    loss: Literal["square", "logistic", "hinge_smooth"] | Callable[..., Any] = "square",
    *,
    teacher: Literal["linear", "sign", "logistic"] = "linear",
    noise_std: float = 0.0,
    ridge: float = 0.0,
    prior_star: Literal["gaussian"] | Callable[..., Any] = "gaussian",
    prior0: Literal["zero", "gaussian"] | float | Callable[..., Any] = "zero",
) -> SGFModel:
    r"""A generalised linear model for :func:`solve_dmft` (student and teacher width 1).

    Labels are :math:`y = \varphi(r^* + \sigma\varepsilon)`: the identity
    (``"linear"``), the sign (``"sign"``), or :math:`\pm 1` with
    :math:`P(y = 1) = \mathrm{sigmoid}(r^*)` (``"logistic"``, which ignores
    ``noise_std``). The loss is :math:`\frac12(r - y)^2`, the logistic loss
    :math:`\log(1 + e^{-yr})` or the smooth hinge of the margin :math:`yr`.

    Parameters
    ----------
    loss : {"square", "logistic", "hinge_smooth"} or callable, default="square"
        The per-sample loss; a callable is ``loss(r, y) -> scalar`` with
        scalar ``r`` and label ``y``.
    teacher : {"linear", "sign", "logistic"}, default="linear"
        The label map.
    noise_std : float, default=0.0
        Label-noise level :math:`\sigma \geq 0`.
    ridge : float, default=0.0
        Ridge coefficient :math:`\lambda \geq 0`.
    prior_star : "gaussian" or callable, default="gaussian"
        Teacher coordinates (standard normal), or a sampler ``(key, n) -> (n,
        1)``.
    prior0 : "zero", "gaussian", float or callable, default="zero"
        Initial coordinates: zero, standard normal, normal with this standard
        deviation, or a sampler.

    Returns
    -------
    SGFModel
        The model, with a closed-form test loss for the square loss with a
        linear teacher.

    Raises
    ------
    ValueError
        If an option string is unknown or a number is negative.
    TypeError
        If a number is not a real number.

    See Also
    --------
    two_layer : Two-layer networks.
    solve_dmft : Solve its DMFT.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> model = dmft.glm("logistic", teacher="sign", noise_std=0.1, ridge=0.01)
    >>> print(model.name, model.curvature)
    glm-logistic-sign 0.25
    """
    args = (loss, teacher, noise_std, ridge, prior_star, prior0)
    try:
        hash(args)
    except TypeError:
        return _glm_model(*args)
    # The same options give the same model object, hence the same static
    # argument of every jitted solver: one compilation, not one per call.
    return _glm_model_cached(*args)


def _expect_kinked_at_zero(g: Callable[[Array], Array], dtype: Any) -> Array:
    """E[g(Z)], Z ~ N(0, 1), for g smooth on each half line (a step at 0)."""
    nodes, weights = split_gaussian_rule()
    return jnp.sum(weights.astype(dtype) * jax.vmap(g)(nodes.astype(dtype)))


def _sign_teacher_test_loss(
    given_label: Callable[[Array, Array], Array], noise_std: float
) -> Callable[[Array, Array, Array], Array]:
    r"""Test loss of a GLM with a sign teacher, its label noise integrated exactly.

    The teacher is :math:`y = \mathrm{sign}(r^* + \sigma \epsilon)`. Given
    the student's pre-activation :math:`r = \sqrt{C} z`, the teacher's is
    Gaussian with mean :math:`a z` (:math:`a = m / \sqrt{C}`) and variance
    :math:`s^2 = \rho - a^2`, so :math:`P(y = 1 \mid r) = \Phi(a z /
    \sqrt{\sigma^2 + s^2})` in closed form: a one-dimensional integral in
    :math:`z` remains. Its integrand steps at :math:`z = 0` when the student
    aligns with a noiseless teacher, hence a rule split at 0
    (:func:`~mltheory.numerics.split_gaussian_rule`). (A quadrature
    over :math:`(r, r^*, \epsilon)` with the sign inside is off by about 3 %
    of the loss at 16 nodes a dimension.)
    """

    def closed_form(C: Array, m: Array, rho: Array) -> Array:
        c, mm, rr = C[0, 0], m[0, 0], rho[0, 0]
        safe = jnp.where(c > 0, c, 1.0)
        a = jnp.where(c > 0, mm / jnp.sqrt(safe), 0.0)
        scale = jnp.sqrt(noise_std**2 + jnp.maximum(rr - a**2, 0.0))
        safe_scale = jnp.where(scale > 0, scale, 1.0)
        one = jnp.ones((), c.dtype)

        def g(z: Array) -> Array:
            q = jnp.where(
                scale > 0,
                jax.scipy.stats.norm.cdf(a * z / safe_scale),
                0.5 * (1 + jnp.sign(a * z)),
            )
            r = jnp.sqrt(jnp.maximum(c, 0.0)) * z
            return q * given_label(r, one) + (1 - q) * given_label(r, -one)

        return _expect_kinked_at_zero(g, c.dtype)

    return closed_form


def _logistic_teacher_test_loss(
    given_label: Callable[[Array, Array], Array],
) -> Callable[[Array, Array, Array], Array]:
    r"""Test loss of a GLM with :math:`P(y = 1 \mid r^*) = \sigma(r^*)`.

    The label is averaged in closed form, leaving a smooth two-dimensional
    Gaussian integral over :math:`(r, r^*)` (48 Gauss–Hermite nodes a
    dimension: below 1e-10 relative error).
    """

    def closed_form(C: Array, m: Array, rho: Array) -> Array:
        cov = jnp.concatenate(
            [jnp.concatenate([C, m], axis=1), jnp.concatenate([m.T, rho], axis=1)]
        )
        one = jnp.ones((), C.dtype)

        def f(x: Array) -> Array:
            p = jax.nn.sigmoid(x[1])
            return p * given_label(x[0], one) + (1 - p) * given_label(x[0], -one)

        return expect(
            f,
            jnp.zeros(2, C.dtype),
            0.5 * (cov + cov.T),
            n_nodes=48,
            method="quadrature",
        )

    return closed_form


def _glm_model(
    loss: Any,
    teacher: Any,
    noise_std: Any,
    ridge: Any,
    prior_star: Any,
    prior0: Any,
) -> SGFModel:
    check_in(teacher, name="teacher", options=("linear", "sign", "logistic"))
    noise_std = check_scalar(noise_std, name="noise_std", lower=0.0)
    ridge = check_scalar(ridge, name="ridge", lower=0.0)
    label = _label(teacher, noise_std)
    closed_form: Callable[[Array, Array, Array], Array] | None = None
    if callable(loss):
        user = loss

        def given_label(r: Array, y: Array) -> Array:
            return user(r, y)

        curvature, name = None, "glm-custom"
    else:
        check_in(loss, name="loss", options=("square", "logistic", "hinge_smooth"))
        if loss == "square":

            def given_label(r: Array, y: Array) -> Array:
                return 0.5 * (r - y) ** 2

            curvature = 1.0
            if teacher == "linear":

                def closed_form(C: Array, m: Array, rho: Array) -> Array:
                    err = C[0, 0] - 2 * m[0, 0] + rho[0, 0]
                    return 0.5 * (err + noise_std**2)

        else:
            margin = _margin_loss(loss)

            def given_label(r: Array, y: Array) -> Array:
                return margin(y * r)

            curvature = 0.25 if loss == "logistic" else 1.0
        name = f"glm-{loss}-{teacher}"

    def per_sample(r: Array, rs: Array, e: Array) -> Array:
        return given_label(r[0], label(rs[0], e))

    if teacher == "sign":
        closed_form = _sign_teacher_test_loss(given_label, noise_std)
    elif teacher == "logistic":
        closed_form = _logistic_teacher_test_loss(given_label)
    return SGFModel(
        k=1,
        k_star=1,
        loss=per_sample,
        sample_theta_star=_prior(prior_star, 1, "prior_star"),
        sample_theta0=_prior(prior0, 1, "prior0"),
        ridge=ridge,
        label_noise=noise_std > 0 or teacher == "logistic",
        test_loss=closed_form,
        curvature=curvature,
        name=name,
    )


_glm_model_cached = functools.lru_cache(maxsize=64)(_glm_model)


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "erf": lambda x: jax.scipy.special.erf(x / math.sqrt(2.0)),
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
}


def two_layer(
    k: int,
    *,
    activation: Literal["erf", "relu", "tanh"] = "erf",
    second_layer: ArrayLike | None = None,
    teacher_k_star: int = 1,
    teacher_activation: Literal["erf", "relu", "tanh"] = "erf",
    noise_std: float = 0.0,
    ridge: float = 0.0,
    init_std: float = 0.5,
) -> SGFModel:
    r"""A two-layer network with a trained first layer, for :func:`solve_dmft`.

    Student :math:`f(x) = \frac1k \sum_a a_a \sigma(\langle x, \theta_a
    \rangle)`, teacher :math:`y = \frac{1}{k^*}\sum_b \sigma^*(\langle x,
    \theta^*_b\rangle) + \sigma_\varepsilon \varepsilon`, square loss
    :math:`\frac12(f - y)^2`. Teacher rows are standard normal, initial rows
    normal with standard deviation ``init_std``.

    Parameters
    ----------
    k : int
        Number of hidden units (student width), at least 1.
    activation : {"erf", "relu", "tanh"}, default="erf"
        Student activation (``"erf"`` is :math:`\mathrm{erf}(x/\sqrt2)`).
    second_layer : array_like of shape (k,), optional
        Fixed second-layer weights :math:`a`; default all ones.
    teacher_k_star : int, default=1
        Teacher width.
    teacher_activation : {"erf", "relu", "tanh"}, default="erf"
        Teacher activation.
    noise_std : float, default=0.0
        Label-noise level.
    ridge : float, default=0.0
        Ridge coefficient on the first layer.
    init_std : float, default=0.5
        Standard deviation of the initial first-layer coordinates.

    Returns
    -------
    SGFModel
        The model (its test loss is a Gauss–Hermite quadrature).

    Raises
    ------
    ValueError
        If ``k`` or ``teacher_k_star`` is below 1, an activation is unknown,
        ``second_layer`` has the wrong shape or a number is negative.
    TypeError
        If an integer option is not an integer.

    See Also
    --------
    glm : Generalised linear models.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> model = dmft.two_layer(2, activation="erf")
    >>> print(model.k, model.k_star, model.name)
    2 1 two-layer-erf-k2
    """
    k = check_scalar(k, name="k", kind=int, lower=1)
    ks = check_scalar(teacher_k_star, name="teacher_k_star", kind=int, lower=1)
    check_in(activation, name="activation", options=tuple(_ACTIVATIONS))
    check_in(teacher_activation, name="teacher_activation", options=tuple(_ACTIVATIONS))
    noise_std = check_scalar(noise_std, name="noise_std", lower=0.0)
    ridge = check_scalar(ridge, name="ridge", lower=0.0)
    init_std = check_scalar(init_std, name="init_std", lower=0.0)
    if second_layer is None:
        a = np.ones(k)
    else:
        a = as_numpy(second_layer, name="second_layer", ndim=1)
        if a.shape != (k,):
            raise ValueError(
                f"second_layer must have shape (k,) = ({k},); got shape {a.shape}."
            )
    a_fixed = tuple(float(x) for x in a)
    sig, sig_star = _ACTIVATIONS[activation], _ACTIVATIONS[teacher_activation]

    def per_sample(r: Array, rs: Array, e: Array) -> Array:
        f = jnp.dot(jnp.asarray(a_fixed, r.dtype), sig(r)) / k
        y = jnp.mean(sig_star(rs)) + noise_std * e
        return 0.5 * (f - y) ** 2

    curvature = max(abs(x) for x in a_fixed) ** 2 / k
    return SGFModel(
        k=k,
        k_star=ks,
        loss=per_sample,
        sample_theta_star=_gaussian_rows(ks, 1.0),
        sample_theta0=_prior(init_std, k, "init_std"),
        ridge=ridge,
        label_noise=noise_std > 0,
        curvature=curvature,
        name=f"two-layer-{activation}-k{k}",
    )


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _check_model(model: Any) -> SGFModel:
    if not isinstance(model, SGFModel):
        raise TypeError(
            f"model must be an SGFModel (see glm, two_layer); got {describe(model)}."
        )
    return model


def _check_delta(delta: Any) -> Any:
    if is_traced(delta):
        return delta
    try:
        value = check_scalar(delta, name="delta")
    except ValueError as err:
        raise ValueError(
            f"delta must be a positive finite n/d ratio; got {delta!r}."
        ) from err
    if value <= 0:
        raise ValueError(f"delta must be a positive finite n/d ratio; got {value}.")
    return value


def _check_tau(tau: Any) -> Any:
    if is_traced(tau):
        return tau
    value = check_scalar(tau, name="tau")
    if value < 0:
        raise ValueError(f"tau (=lr/batch) must be >= 0; got {value}.")
    return value


def _check_grid(grid: Any) -> TimeGrid:
    if not isinstance(grid, TimeGrid):
        raise TypeError(
            "grid must be a uniform mltheory.numerics.TimeGrid (t_max > 0, "
            f"n_steps >= 1); got {describe(grid)}."
        )
    if grid.t0 != 0.0:
        raise ValueError(f"grid must start at t0 = 0; got t0 = {grid.t0}.")
    return grid


# model -> dtypes it passed _check_callables in; weak, so that the cache keeps
# no user closure alive. The abstract traces cost ~15 ms a call, as much as a
# small solve.
_CHECKED: weakref.WeakKeyDictionary[SGFModel, set[Any]] = weakref.WeakKeyDictionary()


def _check_callables(model: SGFModel) -> None:
    """Trace every callable once (no FLOPs) and compare output shapes."""
    dtype = jnp.result_type(float)
    try:
        if dtype in _CHECKED.get(model, ()):
            return
    except TypeError:  # an unhashable field: check every time
        _trace_callables(model, dtype)
        return
    _trace_callables(model, dtype)
    _CHECKED.setdefault(model, set()).add(dtype)


def _trace_callables(model: SGFModel, dtype: Any) -> None:
    k, ks = model.k, model.k_star
    r = jax.ShapeDtypeStruct((k,), dtype)
    rs = jax.ShapeDtypeStruct((ks,), dtype)
    e = jax.ShapeDtypeStruct((), dtype)
    t = jax.ShapeDtypeStruct((), dtype)
    try:
        out = jax.eval_shape(model.loss, r, rs, e)
    except TypeError as err:
        raise TypeError(
            f"the model's loss cannot be traced by JAX ({err}); write it with "
            "jax.numpy, or give dloss(t, r, r_star, eps) explicitly."
        ) from err
    if tuple(out.shape) != ():
        raise ValueError(
            f"loss(r, r_star, eps) must return a scalar; got shape {tuple(out.shape)}."
        )
    try:
        ell = jax.eval_shape(_dmft_solver.ell_function(model), t, r, rs, e)
    except TypeError as err:
        raise TypeError(
            "the model's loss is not differentiable under JAX "
            f"({err}); give dloss(t, r, r_star, eps) explicitly."
        ) from err
    if tuple(ell.shape) != (k,):
        raise ValueError(
            f"dloss (ell) must return shape ({k},) = (k,); got shape "
            f"{tuple(ell.shape)}."
        )
    key = jax.random.key(0)
    star = jax.eval_shape(lambda kk: model.sample_theta_star(kk, 3), key)
    if tuple(star.shape) != (3, ks):
        raise ValueError(
            f"sample_theta_star(key, n) must return shape (n, k_star) = (3, {ks}); "
            f"got shape {tuple(star.shape)}."
        )
    init = jax.eval_shape(lambda kk: model.sample_theta0(kk, 3), key)
    if model.state_step is None and tuple(init.shape) != (3, k):
        raise ValueError(
            f"sample_theta0(key, n) must return shape (n, k) = (3, {k}); got "
            f"shape {tuple(init.shape)}."
        )
    if model.reg_grad is not None:
        h = jax.eval_shape(model.reg_grad, t, r)
        if tuple(h.shape) != (k,):
            raise ValueError(
                f"reg_grad(t, theta_row) must return shape ({k},); got shape "
                f"{tuple(h.shape)}."
            )


def _warn_stability(model: SGFModel, tau: Any) -> None:
    if is_traced(tau) or model.curvature is None:
        return
    if tau * model.curvature > 2.0:
        warnings.warn(
            f"tau * sup(d ell / d r) = {tau * model.curvature:.3g} > 2: SGF may "
            "diverge; DMFT existence only guaranteed on a short horizon for "
            "tau>0 with nonlinear loss.",
            UserWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- #
# Test loss by quadrature
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=64)
def _quadrature_integrand(model: SGFModel) -> Callable[[Array], Array]:
    k, ks = model.k, model.k_star

    def f(x: Array) -> Array:
        eps = x[k + ks] if model.label_noise else jnp.zeros((), x.dtype)
        return model.loss(x[:k], x[k : k + ks], eps)

    return f


def _test_loss_one(model: SGFModel, C: Array, m: Array, rho: Array) -> Array:
    """Test loss at one time from the overlaps (closed form or quadrature)."""
    if model.test_loss is not None:
        return model.test_loss(C, m, rho)
    top = jnp.concatenate([C, m], axis=1)
    bottom = jnp.concatenate([m.T, rho], axis=1)
    cov = jnp.concatenate([top, bottom], axis=0)
    if model.label_noise:
        cov = jax.scipy.linalg.block_diag(cov, jnp.ones((1, 1), cov.dtype))
    dim = cov.shape[0]
    nodes = {1: 64, 2: 32, 3: 16}.get(dim, 8)
    return expect(
        _quadrature_integrand(model),
        jnp.zeros(dim, cov.dtype),
        0.5 * (cov + cov.T),
        n_nodes=nodes,
        method="quadrature",
    )


def _test_curve(model: SGFModel, C_diag: Array, m: Array, rho: Array) -> Array:
    return jax.vmap(lambda c, mm: _test_loss_one(model, c, mm, rho))(C_diag, m)


def _test_loss_and_se(model: SGFModel, out: dict[str, Array]) -> tuple[Array, Array]:
    """Test loss from (C_tt, m_t, rho) and its batch-means standard error."""
    return _test_loss_and_se_jit(
        out["C"],
        out["m"],
        out["rho"],
        out["C_groups"],
        out["m_groups"],
        out["rho_groups"],
        model=model,
    )


@functools.partial(jax.jit, static_argnames=("model",))
def _test_loss_and_se_jit(
    C: Array,
    m: Array,
    rho: Array,
    C_groups: Array,
    m_groups: Array,
    rho_groups: Array,
    *,
    model: SGFModel,
) -> tuple[Array, Array]:
    C_diag = jnp.einsum("ttab->tab", C)
    test = _test_curve(model, C_diag, m, rho)
    groups = jax.vmap(lambda c, mm, r: _test_curve(model, c, mm, r))(
        C_groups, m_groups, rho_groups
    )
    se = groups.std(axis=0) / math.sqrt(_N_BATCHES - 1)
    return test, se


# --------------------------------------------------------------------------- #
# Solvers
# --------------------------------------------------------------------------- #


def _result(
    model: SGFModel,
    out: dict[str, Array],
    *,
    grid: TimeGrid,
    delta: Any,
    tau: Any,
    residuals: Array,
    n_iter: int,
    converged: bool,
    method: str,
) -> DMFTResult:
    test, test_se = _test_loss_and_se(model, out)
    dtype = out["C"].dtype
    return DMFTResult(
        ts=grid.ts.astype(dtype),
        C_theta=out["C"],
        m=out["m"],
        rho=out["rho"],
        R_theta=out["R"],
        C_ell=out["C_ell"],
        R_ell=out["D"],
        Gamma=out["G"],
        noise_cov=out["M"],
        train_loss=out["train"],
        test_loss=test,
        train_loss_se=out["train_se"],
        test_loss_se=test_se,
        theta_samples=out.get("theta_final"),
        residuals=residuals,
        delta=jnp.asarray(delta, dtype),
        tau=jnp.asarray(tau, dtype),
        n_iter=n_iter,
        converged=converged,
        method=method,
    )


def _raise_if_diverged(
    res: DMFTResult, *, bad_index: Any, psd_bad: Any, iteration: int = 0
) -> None:
    """Turn the solver's flags into DMFTDivergenceError / DMFTNumericalError."""
    if is_traced(res.train_loss):
        return
    train = np.asarray(res.train_loss)
    test = np.asarray(res.test_loss)
    scale = _BLOWUP * max(1.0, float(abs(train[0])) if np.isfinite(train[0]) else 1.0)
    exploded = ~np.isfinite(train) | ~np.isfinite(test) | (np.abs(train) > scale)
    bad = int(bad_index) if bad_index is not None else -1
    if exploded.any() or bad >= 0:
        idx = int(np.argmax(exploded)) if exploded.any() else bad
        if bad >= 0:
            idx = min(idx, bad)
        raise DMFTDivergenceError(
            f"the DMFT diverged at time index {idx} (t = {float(res.ts[idx]):.4g}, "
            f"iteration {iteration}): the loss became non-finite or grew by more "
            f"than {_BLOWUP:.0e}; tau = {float(res.tau):.4g} is likely above the "
            "critical temperature, or the step is too large.",
            iteration=iteration,
            time_index=idx,
            result=res,
        )
    if psd_bad is not None and bool(psd_bad):
        raise DMFTNumericalError(
            "a DMFT covariance kernel (C_theta or the noise covariance M) is not "
            "positive semi-definite beyond tolerance (conditional variance < "
            "-1e-8 * scale)."
        )


def solve_dmft(
    model: SGFModel,
    *,
    delta: float,
    tau: float = 0.0,
    grid: TimeGrid,
    key: KeyArray,
    config: DMFTConfig | None = None,
) -> DMFTResult:
    r"""Solve the DMFT of stochastic gradient flow for a model by Monte Carlo.

    The two effective processes (spec §3) are simulated with
    ``config.n_samples`` samples each on the grid, and the kernels that
    couple them are measured from the samples: Gaussian fields are drawn
    through Cholesky factors of the kernels, and the sample-side responses
    :math:`R_\ell, \Gamma` come from Gaussian integration by parts (a
    regression of :math:`\ell` on the Gaussian inputs), so non-smooth
    teachers (``sign``) need no derivatives.

    Parameters
    ----------
    model : SGFModel
        The model (see :func:`glm`, :func:`two_layer`).
    delta : float
        Aspect ratio :math:`\delta = n/d > 0`.
    tau : float, default=0.0
        Temperature :math:`\tau = \eta/B \geq 0`; ``0`` is gradient flow.
    grid : TimeGrid
        Uniform grid from 0; the DMFT is that of Euler–Maruyama at step
        ``grid.dt``.
    key : jax.Array
        PRNG key of all the Monte Carlo draws (same key, same result).
    config : DMFTConfig, optional
        Sample size, method and fixed-point options; default
        ``DMFTConfig()``.

    Returns
    -------
    DMFTResult
        Kernels, loss curves with standard errors, and convergence info.

    Raises
    ------
    TypeError
        If ``model``, ``grid``, ``config`` or ``key`` has the wrong type, or
        the loss is not JAX-differentiable and no ``dloss`` is given.
    ValueError
        If ``delta`` is not a positive finite number, ``tau < 0``, the grid
        does not start at 0, or a model callable returns the wrong shape.
    DMFTDivergenceError
        If the solution becomes non-finite or the loss explodes (above the
        critical temperature, say).
    DMFTNumericalError
        If a covariance kernel is not positive semi-definite beyond rounding.

    Warns
    -----
    UserWarning
        If :math:`\tau \sup \partial_r\ell > 2` (possible divergence).
    ConvergenceWarning
        If the fixed-point method stops at ``max_iter`` (the result then has
        ``converged=False``).

    See Also
    --------
    linear_regression_dmft : Deterministic solution for the square loss.
    online_limit : The :math:`\delta \to \infty` limit.
    simulate : The finite-size system.

    Notes
    -----
    With step :math:`\Delta`, the parameter side is

    .. math::

        \theta_{k+1} = \theta_k - \Delta h(\theta_k) - \Delta\Gamma_k\theta^*
            - \Delta \sum_{j\le k} R_\ell[k,j]\,\theta_j - \Delta U_k,
        \qquad \Delta U \sim N(0, M),

    and the sample side

    .. math::

        r_k = w_k - \sum_{j<k} R_\theta[k,j]\,\Delta Z_j, \quad
        \Delta Z_j = \tfrac{\Delta}{\delta}\ell_j - \sqrt{\tau/\delta}\,
        \ell_j\,\Delta B_j,

    with :math:`(w, w^*)` centred Gaussian with covariance
    :math:`E[\theta\theta^\top]` and :math:`M = \delta E[\Delta Z \Delta
    Z^\top]`. One Gaussian process :math:`U` carries both the quenched
    disorder and the SGD noise with their cross-correlation. The causal
    method builds every kernel row by row in one pass (:math:`O(K^2 N)`);
    the fixed-point method iterates the map with common random numbers and
    converges to the same solution. Memory is :math:`O(KN + K^2)`; no
    :math:`K \times K \times N` array is formed.

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "High-Dimensional Limit of Stochastic
       Gradient Flow via Dynamical Mean-Field Theory", arXiv:2602.06320, 2026.
    .. [2] M. Celentano, C. Cheng and A. Montanari, "The high-dimensional
       asymptotics of first order methods with random data", arXiv:2112.07572,
       2021.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> model = dmft.glm("square", noise_std=0.5)
    >>> res = dmft.solve_dmft(model, delta=2.0, tau=0.5, grid=TimeGrid(2.0, 20),
    ...                       key=jax.random.key(0),
    ...                       config=dmft.DMFTConfig(n_samples=4000))
    >>> print(res.train_loss.shape, bool(res.train_loss[-1] < res.train_loss[0]))
    (21,) True
    """
    model = _check_model(model)
    delta = _check_delta(delta)
    tau = _check_tau(tau)
    grid = _check_grid(grid)
    key = check_key(key)
    config = DMFTConfig() if config is None else config
    if not isinstance(config, DMFTConfig):
        raise TypeError(f"config must be a DMFTConfig; got {describe(config)}.")
    _check_callables(model)
    _warn_stability(model, tau)
    return _solve(model, delta, tau, grid, key, config, independent=False)


def _solve(
    model: SGFModel,
    delta: Any,
    tau: Any,
    grid: TimeGrid,
    key: KeyArray,
    config: DMFTConfig,
    *,
    independent: bool,
) -> DMFTResult:
    static = dict(
        model=model,
        n_steps=grid.n_steps,
        dt=grid.dt,
        n_samples=config.n_samples,
        independent=independent,
    )
    blocks = _time_blocks(config, n_steps=grid.n_steps, k=model.k)
    if config.method == "causal":
        out = _dmft_solver.solve_causal(key, delta, tau, n_blocks=blocks, **static)
        res = _result(
            model,
            out,
            grid=grid,
            delta=delta,
            tau=tau,
            residuals=jnp.zeros(0),
            n_iter=1,
            converged=True,
            method="causal",
        )
        _raise_if_diverged(res, bad_index=out["bad"], psd_bad=out["psd_bad"])
        return res
    return _solve_fixed_point(model, delta, tau, grid, key, config, static, blocks)


# Below this size a solve is shorter than the extra compilation of blocks.
_BLOCKS_MIN_WORK = 4e8


def _time_blocks(config: DMFTConfig, *, n_steps: int, k: int) -> int:
    if config.time_blocks is not None:
        return config.time_blocks
    work = (n_steps + 1) ** 2 * config.n_samples * k
    return 4 if work >= _BLOCKS_MIN_WORK else 1


def _solve_fixed_point(
    model: SGFModel,
    delta: Any,
    tau: Any,
    grid: TimeGrid,
    key: KeyArray,
    config: DMFTConfig,
    static: dict[str, Any],
    blocks: int,
) -> DMFTResult:
    if is_traced(delta) or is_traced(tau):
        raise TypeError(
            "method='fixed_point' runs a host loop and cannot be traced; use "
            "method='causal' under jax.jit or jax.vmap."
        )
    # Warm start: the causal pass with an independent key (any start works;
    # a degenerate one such as frozen zero parameters makes the first
    # regressions ill-posed). The iteration then uses `key` throughout.
    start = _dmft_solver.solve_causal(
        jax.random.fold_in(key, 1), delta, tau, n_blocks=blocks, **static
    )
    sigma = _dmft_solver.flat_sigma(start["C"], start["m"], start["rho"])
    R = start["R"]
    gamma = config.damping
    residuals: list[float] = []
    converged = False
    out: dict[str, Array] = {}
    for it in range(1, config.max_iter + 1):
        out = _dmft_solver.fixed_point_map(key, delta, tau, sigma, R, **static)
        if not bool(out["finite"]):
            res = _result(
                model,
                out,
                grid=grid,
                delta=delta,
                tau=tau,
                residuals=jnp.asarray(residuals),
                n_iter=it,
                converged=False,
                method="fixed_point",
            )
            _raise_if_diverged(res, bad_index=0, psd_bad=None, iteration=it)
        res_sigma = float(
            jnp.max(jnp.abs(out["sigma"] - sigma))
            / max(1.0, float(jnp.max(jnp.abs(sigma))))
        )
        res_R = float(
            jnp.max(jnp.abs(out["R"] - R)) / max(1.0, float(jnp.max(jnp.abs(R))))
        )
        residuals.append(max(res_sigma, res_R))
        sigma = (1 - gamma) * sigma + gamma * out["sigma"]
        R = (1 - gamma) * R + gamma * out["R"]
        if residuals[-1] < config.tol:
            converged = True
            break
    res = _result(
        model,
        out,
        grid=grid,
        delta=delta,
        tau=tau,
        residuals=jnp.asarray(residuals),
        n_iter=len(residuals),
        converged=converged,
        method="fixed_point",
    )
    _raise_if_diverged(res, bad_index=None, psd_bad=out["psd_bad"])
    if not converged:
        warnings.warn(
            f"the DMFT fixed point did not converge in {config.max_iter} "
            f"iterations (last residual {residuals[-1]:.2e} > tol = "
            f"{config.tol:.1e}); the result has converged=False.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return res


# --------------------------------------------------------------------------- #
# Online limit
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=64)
def _online_integrand(model: SGFModel) -> Callable[[Array, Array], Any]:
    """Per-point (d ell/d r, ell r*^T, ell ell^T, L) for the Gaussian expectations."""
    k, ks = model.k, model.k_star
    ell = _dmft_solver.ell_function(model)

    def f(x: Array, t: Array) -> tuple[Array, ...]:
        r, rs = x[:k], x[k : k + ks]
        e = x[k + ks] if model.label_noise else jnp.zeros((), x.dtype)
        g = ell(t, r, rs, e)
        jac = jax.jacfwd(lambda rr: ell(t, rr, rs, e))(r)
        return jac, jnp.outer(g, rs), jnp.outer(g, g), model.loss(r, rs, e)

    return f


def _online_moments(
    model: SGFModel, t: Array, C: Array, m: Array, rho: Array
) -> tuple[Array, ...]:
    """Lambda, Gamma, E[ell ell^T], E[L] with (r, r*) ~ N(0, [[C, m], [m^T, rho]])."""
    top = jnp.concatenate([C, m], axis=1)
    cov = jnp.concatenate([top, jnp.concatenate([m.T, rho], axis=1)], axis=0)
    if model.label_noise:
        cov = jax.scipy.linalg.block_diag(cov, jnp.ones((1, 1), cov.dtype))
    dim = cov.shape[0]
    nodes = {1: 64, 2: 32, 3: 16}.get(dim, 8)
    f = _online_integrand(model)
    lam, ell_rs, ell2, loss = expect(
        functools.partial(_call_at, f, t),
        jnp.zeros(dim, cov.dtype),
        0.5 * (cov + cov.T),
        n_nodes=nodes,
        method="quadrature",
    )
    # Stein on the teacher field: E[ell r*^T] = Lambda m + Gamma rho.
    gamma = (ell_rs - lam @ m) @ jnp.linalg.pinv(rho)
    return lam, gamma, ell2, loss


def _call_at(f: Callable[..., Any], t: Array, x: Array) -> Any:
    return f(x, t)


@functools.partial(jax.jit, static_argnames=("model", "n_steps", "dt"))
def _online_scan(
    tau: Array, rho: Array, C0: Array, *, model: SGFModel, n_steps: int, dt: float
) -> dict[str, Array]:
    """Deterministic moment recursion of the online limit (linear parameter side)."""
    K, k = n_steps, model.k
    dtype = rho.dtype
    eye = jnp.eye(k, dtype=dtype)
    ks = model.k_star

    def step(s: dict[str, Array], kk: Array) -> tuple[dict[str, Array], Any]:
        t = kk.astype(dtype) * dt
        C_kk, m_k = s["C"][kk, kk], s["m"][kk]
        lam, gamma, ell2, loss = _online_moments(model, t, C_kk, m_k, rho)
        A = (1.0 - dt * model.ridge) * eye - dt * lam
        m_next = A @ m_k - dt * gamma @ rho
        q_next = (
            A @ C_kk @ A.T
            - dt * (A @ m_k @ gamma.T + gamma @ m_k.T @ A.T)
            + dt**2 * gamma @ rho @ gamma.T
            + tau * dt * ell2
        )
        # Two-time moments and responses: theta_{k+1} = A theta_k - dt Gamma
        # theta* - dU_k with dU_k independent of the past.
        C_row = jnp.einsum("ab,jbc->jac", A, s["C"][kk]) - dt * jnp.einsum(
            "ab,jcb->jac", gamma, s["m"]
        )
        past = (jnp.arange(K + 1) <= kk)[:, None, None]
        C_row = jnp.where(past, C_row, 0.0)
        nxt = jnp.minimum(kk + 1, K)
        C = s["C"].at[nxt].set(C_row).at[:, nxt].set(jnp.swapaxes(C_row, 1, 2))
        C = C.at[nxt, nxt].set(q_next)
        R_row = jnp.einsum("ab,jbc->jac", A, s["R"][kk])
        R_row = R_row + (jnp.arange(K + 1) == kk)[:, None, None] * eye[None]
        last = kk == K
        C = jnp.where(last, s["C"], C)
        R = jnp.where(last, s["R"], s["R"].at[nxt].set(R_row))
        m = jnp.where(last, s["m"], s["m"].at[nxt].set(m_next))
        return dict(C=C, m=m, R=R), (lam, gamma, ell2, loss)

    init = dict(
        C=jnp.zeros((K + 1, K + 1, k, k), dtype).at[0, 0].set(C0),
        m=jnp.zeros((K + 1, k, ks), dtype),
        R=jnp.zeros((K + 1, K + 1, k, k), dtype),
    )
    s, (lam, gamma, ell2, loss) = lax.scan(step, init, jnp.arange(K + 1))
    return dict(
        C=s["C"], m=s["m"], R=s["R"], lam=lam, gamma=gamma, ell2=ell2, loss=loss
    )


def online_limit(
    model: SGFModel,
    *,
    tau: float,
    grid: TimeGrid,
    key: KeyArray | None = None,
    n_samples: int = 100_000,
) -> DMFTResult:
    r"""The online-SGD limit :math:`\delta \to \infty` of the SGF-DMFT.

    The sample side loses its memory (:math:`r = w`) and the noise becomes
    white with variance :math:`\tau E[\ell_t^2]`, so the parameter side is
    Markov:

    .. math::

        d\theta = -\big[h(\theta) + \Lambda_t\theta + \Gamma_t\theta^*\big]dt
            + \sqrt{\tau E[\ell_t\ell_t^\top]}\, dW,

    with :math:`\Lambda_t = E[\partial_r\ell]`, :math:`\Gamma_t =
    E[\partial_{r^*}\ell]` under :math:`(r, r^*) \sim N(0, [[q, m], [m^\top,
    \rho]])`. For a linear parameter side (ridge only) these are closed ODEs
    for :math:`(q, m)` (the classical online-SGD equations, with :math:`\tau`
    as the :math:`\eta^2` term), integrated here with the Euler step of
    ``grid`` (the :math:`\delta \to \infty` limit of :func:`solve_dmft` on
    the same grid); the Gaussian expectations are Gauss–Hermite quadratures.

    Parameters
    ----------
    model : SGFModel
        The model; its parameter side must be linear (ridge, no
        ``reg_grad`` or ``state_step``).
    tau : float
        Temperature :math:`\tau \geq 0`.
    grid : TimeGrid
        Uniform grid from 0.
    key : jax.Array, optional
        PRNG key for the second moments of the teacher and initial priors
        (estimated from ``n_samples`` draws); ``None`` uses
        ``jax.random.key(0)``.
    n_samples : int, default=100_000
        Draws used to estimate those prior moments (at least 100).

    Returns
    -------
    DMFTResult
        With ``R_ell`` diagonal (:math:`\Lambda_t`), ``noise_cov`` diagonal
        (:math:`\tau\Delta E[\ell\ell^\top]`), ``C_ell`` holding only its
        equal-time blocks, and train loss equal to test loss.

    Raises
    ------
    TypeError
        If ``model``, ``grid`` or ``key`` has the wrong type.
    ValueError
        If ``tau < 0``, ``n_samples < 100`` or the model's parameter side is
        not linear.
    DMFTDivergenceError
        If the moments blow up (above the critical temperature).

    See Also
    --------
    solve_dmft : The finite-:math:`\delta` DMFT that converges to this.

    Notes
    -----
    For the square loss with a linear teacher, :math:`\lambda = 0` and noise
    :math:`\sigma`, the excess error :math:`e = q - 2m + \rho` obeys
    :math:`\dot e = -2e + \tau(e + \sigma^2)`: stable only for
    :math:`\tau < 2`.

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "High-Dimensional Limit of Stochastic
       Gradient Flow via Dynamical Mean-Field Theory", arXiv:2602.06320, 2026.
    .. [2] D. Saad and S. A. Solla, "On-line learning in soft committee
       machines", Phys. Rev. E 52, 1995.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> res = dmft.online_limit(dmft.glm("square"), tau=0.5,
    ...                         grid=TimeGrid(2.0, 200))
    >>> e = 2 * float(res.test_loss[-1])  # e(t) = (e0 - e_inf) exp(-1.5 t) + e_inf
    >>> print(round(e, 2), round(float(np.exp(-3.0)), 2))
    0.05 0.05
    """
    model = _check_model(model)
    tau = _check_tau(tau)
    grid = _check_grid(grid)
    key = jax.random.key(0) if key is None else check_key(key)
    n_samples = check_scalar(n_samples, name="n_samples", kind=int, lower=100)
    if not _dmft_solver._exact_response(model):
        raise ValueError(
            "online_limit needs a linear parameter side (ridge only); got a model "
            "with reg_grad or state_step. Use solve_dmft at large delta instead."
        )
    _check_callables(model)
    _warn_stability(model, tau)
    k1, k2 = jax.random.split(key)
    star = jnp.asarray(model.sample_theta_star(k1, n_samples))
    init = jnp.asarray(model.sample_theta0(k2, n_samples))
    rho = star.T @ star / n_samples
    C0 = init.T @ init / n_samples
    dtype = rho.dtype
    out = _online_scan(
        jnp.asarray(tau, dtype),
        rho,
        C0,
        model=model,
        n_steps=grid.n_steps,
        dt=grid.dt,
    )
    K = grid.n_steps
    eye_t = jnp.eye(K + 1, dtype=dtype)[:, :, None, None]
    loss = out["loss"]
    res = DMFTResult(
        ts=grid.ts.astype(dtype),
        C_theta=out["C"],
        m=out["m"],
        rho=rho,
        R_theta=out["R"],
        C_ell=eye_t * out["ell2"][:, None, :, :],
        R_ell=eye_t * out["lam"][:, None, :, :],
        Gamma=out["gamma"],
        noise_cov=(eye_t * (tau * grid.dt * out["ell2"])[:, None, :, :])[:K, :K],
        train_loss=loss,
        test_loss=loss,
        train_loss_se=jnp.zeros_like(loss),
        test_loss_se=jnp.zeros_like(loss),
        theta_samples=None,
        residuals=jnp.zeros(0, dtype),
        delta=jnp.asarray(jnp.inf, dtype),
        tau=jnp.asarray(tau, dtype),
        method="online",
    )
    _raise_if_diverged(res, bad_index=None, psd_bad=None)
    return res


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
    moments for every :math:`\tau \geq 0` (spec §4.2): the sample-side
    response is :math:`R_\ell = (I + \tfrac{\Delta}{\delta} R_\theta)^{-1}`,
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
        ``theta0_var`` are negative, ``rho <= 0`` or ``n_nodes < 2``.

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
    return _dmft_linear.mp_losses(
        delta=delta,
        sigma=sigma,
        ridge=ridge,
        rho=rho,
        theta0_var=theta0_var,
        ts=times,
        dt=dt,
        n_nodes=n_nodes,
    )


# --------------------------------------------------------------------------- #
# Finite-size simulation of a model
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=64)
def _latent_loss(model: SGFModel) -> Callable[[Array, Array], Array]:
    ks = model.k_star

    def loss(r: Array, z: Array) -> Array:
        return model.loss(r, z[:ks], z[ks])

    return loss


@functools.lru_cache(maxsize=64)
def _latent_dloss(model: SGFModel) -> Callable[[Array, Array], Array] | None:
    if model.dloss is None:
        return None
    ks = model.k_star
    dloss = model.dloss

    def ell(r: Array, z: Array) -> Array:
        return dloss(jnp.zeros((), r.dtype), r, z[:ks], z[ks])

    return ell


def simulate(
    model: SGFModel,
    *,
    delta: float,
    tau: float,
    grid: TimeGrid,
    d: int,
    key: KeyArray,
    n_seeds: int = 1,
    algorithm: Literal["sgf", "sgd"] = "sgf",
    batch_size: int = 1,
    sampling: Literal["epoch_shuffle", "with_replacement"] = "epoch_shuffle",
    record_every: int = 1,
) -> SGFTrajectory:
    r"""Simulate the finite-size system a DMFT describes: data, teacher, SGF or SGD.

    Draws :math:`X` with rows :math:`N(0, I_d/d)`, :math:`n = \mathrm{round}(
    \delta d)`, teacher and initial rows from the model's priors, labels from
    the model's loss latent :math:`z_i = (\langle x_i, \theta^*\rangle,
    \varepsilon_i)`, and runs :func:`~mltheory.optim.sgf.simulate_sgf` on
    ``grid`` or :func:`~mltheory.optim.sgf.simulate_sgd` with learning rate
    :math:`\eta = \tau B` (so :math:`\eta/d` per step; the grid's record times
    must be whole numbers of steps). The test loss is the model's population
    loss at the simulated overlaps. Seeds are vmapped.

    Parameters
    ----------
    model : SGFModel
        The model (its ``dloss``, ``ridge`` and priors are used; a custom
        ``state_step`` is not simulated).
    delta : float
        Aspect ratio.
    tau : float
        Temperature (for SGD, ``lr = tau * batch_size``; must be > 0 then).
    grid : TimeGrid
        SGF time grid (and record times for SGD).
    d : int
        Dimension (at least 100 is recommended).
    key : jax.Array
        PRNG key of the data, teacher, initialisation and noise.
    n_seeds : int, default=1
        Independent runs (leading axis of every returned field).
    algorithm : {"sgf", "sgd"}, default="sgf"
        Euler–Maruyama SGF or mini-batch SGD.
    batch_size : int, default=1
        SGD batch size.
    sampling : {"epoch_shuffle", "with_replacement"}, default="epoch_shuffle"
        SGD batch sampling.
    record_every : int, default=1
        Record every this many grid steps.

    Returns
    -------
    SGFTrajectory
        Fields with a leading ``n_seeds`` axis; ``test_loss`` filled.

    Raises
    ------
    TypeError
        If ``model``, ``grid`` or ``key`` has the wrong type.
    ValueError
        If ``delta``/``tau`` are invalid, ``d < 1``, ``n_seeds < 1``,
        ``algorithm`` is unknown, the model has a custom ``state_step``, or
        (SGD) ``tau = 0`` or the grid step is not a whole number of SGD steps.

    See Also
    --------
    solve_dmft : The theory of this system.
    mltheory.optim.sgf.simulate_sgf : The simulator underneath.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> traj = dmft.simulate(dmft.glm("square", noise_std=0.5), delta=2.0,
    ...                      tau=0.0, grid=TimeGrid(2.0, 20), d=1000,
    ...                      key=jax.random.key(0), n_seeds=8, record_every=5)
    >>> traj.train_loss.shape
    (8, 5)
    """
    model = _check_model(model)
    delta = _check_delta(delta)
    tau = _check_tau(tau)
    grid = _check_grid(grid)
    key = check_key(key)
    d = check_scalar(d, name="d", kind=int, lower=1)
    n_seeds = check_scalar(n_seeds, name="n_seeds", kind=int, lower=1)
    check_in(algorithm, name="algorithm", options=("sgf", "sgd"))
    if model.state_step is not None:
        raise ValueError(
            "simulate supports models without a custom state_step; got "
            f"{model.name!r} with state_step set."
        )
    _check_callables(model)
    n = max(1, round(delta * d))
    ks = model.k_star
    loss = _latent_loss(model)
    dloss = _latent_dloss(model)
    reg = None
    if model.reg_grad is not None:
        reg = _row_reg(model)
    if algorithm == "sgd":
        if tau <= 0:
            raise ValueError(f"tau must be > 0 for SGD (lr = tau * B); got {tau}.")
        lr = tau * batch_size
        steps_per_dt = grid.dt * d / lr
        if abs(steps_per_dt - round(steps_per_dt)) > 1e-9 or round(steps_per_dt) < 1:
            raise ValueError(
                f"grid.dt * d / lr must be a whole number of SGD steps; got "
                f"{steps_per_dt} (dt = {grid.dt}, d = {d}, lr = {lr})."
            )
        sgd_every = round(steps_per_dt) * record_every

    def one(k: KeyArray) -> SGFTrajectory:
        kx, ks_, k0, ke, kn = jax.random.split(k, 5)
        X = jax.random.normal(kx, (n, d)) / math.sqrt(d)
        star = jnp.asarray(model.sample_theta_star(ks_, d))
        theta0 = jnp.asarray(model.sample_theta0(k0, d))
        eps = jax.random.normal(ke, (n, 1), X.dtype)
        z = jnp.concatenate([X @ star, eps], axis=1)
        if algorithm == "sgf":
            return simulate_sgf(
                kn,
                X,
                z,
                theta0,
                loss=loss,
                dloss=dloss,
                tau=tau,
                grid=grid,
                ridge=model.ridge,
                reg_grad=reg,
                record_every=record_every,
                theta_star=star,
            )
        return simulate_sgd(
            kn,
            X,
            z,
            theta0,
            loss=loss,
            dloss=dloss,
            lr=lr,
            batch_size=batch_size,
            n_steps=sgd_every * (grid.n_steps // record_every),
            ridge=model.ridge,
            reg_grad=reg,
            sampling=sampling,
            record_every=sgd_every,
            theta_star=star,
        )

    with warnings.catch_warnings():
        # d is validated above; the per-seed simulators would repeat the warning.
        warnings.simplefilter("ignore", UserWarning)
        traj = jax.vmap(one)(jax.random.split(key, n_seeds))
    rho = jnp.full((ks, ks), jnp.nan)
    test = _simulated_test_loss(model, traj, d, key, rho)
    return dataclasses.replace(traj, test_loss=test)


@functools.lru_cache(maxsize=64)
def _row_reg(model: SGFModel) -> Callable[[Array], Array]:
    reg = model.reg_grad
    assert reg is not None

    def h(row: Array) -> Array:
        return reg(jnp.zeros((), row.dtype), row)

    return h


def _simulated_test_loss(
    model: SGFModel, traj: SGFTrajectory, d: int, key: KeyArray, rho: Array
) -> Array:
    """Population loss at the simulated overlaps (teacher norm from theta_star)."""
    assert traj.teacher_overlaps is not None
    # rho is the teacher's own overlap; recompute it from the same draws.
    ks = model.k_star

    def teacher_rho(k: KeyArray) -> Array:
        star = jnp.asarray(model.sample_theta_star(jax.random.split(k, 5)[1], d))
        return star.T @ star / d

    rhos = jax.vmap(teacher_rho)(jax.random.split(key, traj.train_loss.shape[0]))
    rhos = rhos.reshape(-1, ks, ks)
    return _simulated_curves(traj.overlaps, traj.teacher_overlaps, rhos, model=model)


@functools.partial(jax.jit, static_argnames=("model",))
def _simulated_curves(q: Array, m: Array, rhos: Array, *, model: SGFModel) -> Array:
    return jax.vmap(lambda qq, mm, r: _test_curve(model, qq, mm, r))(q, m, rhos)

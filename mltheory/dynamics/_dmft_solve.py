"""The DMFT solvers: causal Monte Carlo and damped fixed point; test loss.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    check_key,
    describe,
    is_traced,
)
from mltheory.dynamics import _dmft_solver
from mltheory.dynamics._dmft_checks import (
    _check_callables,
    _check_delta,
    _check_model,
    _check_tau,
    _grid_steps,
    _warn_stability,
)
from mltheory.dynamics._dmft_types import (
    _BLOWUP,
    _N_BATCHES,
    DMFTConfig,
    DMFTDivergenceError,
    DMFTNumericalError,
    DMFTResult,
    SGFModel,
)
from mltheory.exceptions import ConvergenceWarning
from mltheory.numerics import TimeGrid, expect

__all__: list[str] = []


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
    ts: np.ndarray,
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
        ts=jnp.asarray(ts, dtype),
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
            "critical temperature, or the step is too large"
            + (
                " (or float32 arithmetic: the solver's Cholesky factors need "
                "float64, jax.config.update('jax_enable_x64', True))."
                if res.train_loss.dtype == jnp.float32
                else "."
            ),
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
    grid: TimeGrid | ArrayLike,
    key: KeyArray,
    config: DMFTConfig | None = None,
    mesh: Mesh | None = None,
) -> DMFTResult:
    r"""Solve the DMFT of stochastic gradient flow for a model by Monte Carlo.

    The two effective processes (arXiv:2602.06320) are simulated with
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
    grid : TimeGrid or array_like of shape (K+1,)
        A uniform grid from 0, or increasing times from 0 (a non-uniform
        grid); the DMFT is that of Euler–Maruyama with the grid's steps. The
        step sizes are traced: grids with the same number of steps share one
        compilation.
    key : jax.Array
        PRNG key of all the Monte Carlo draws (same key, same result).
    config : DMFTConfig, optional
        Sample size, method and fixed-point options; default
        ``DMFTConfig()``.
    mesh : jax.sharding.Mesh, optional
        Split the ``config.n_samples`` Monte Carlo samples over the devices of
        this one-axis mesh (:func:`mltheory.numerics.make_mesh`), for more
        samples than one device holds: each device keeps ``N / D`` samples
        of every draw and history, and the kernel averages become sums
        across devices. ``n_samples`` must be a multiple of the number of
        devices. The result equals the unsharded one (same key) to rounding.
        A mesh over several hosts (after :func:`jax.distributed.initialize`)
        works alike; see the Scaling page of the documentation.

    Returns
    -------
    DMFTResult
        Kernels, loss curves with standard errors, and convergence info.

    Raises
    ------
    TypeError
        If ``model``, ``grid``, ``config``, ``key`` or ``mesh`` has the wrong
        type, or the loss is not JAX-differentiable and no ``dloss`` is given.
    ValueError
        If ``delta`` is not a positive finite number, ``tau < 0``, the grid
        does not start at 0, a model callable returns the wrong shape, the
        model's samplers (``sample_theta_star``, ``sample_theta0``) return
        non-finite draws, or ``config.n_samples`` is not a multiple of the
        mesh's size.
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
    grid_steps = _grid_steps(grid)
    key = check_key(key)
    config = DMFTConfig() if config is None else config
    if not isinstance(config, DMFTConfig):
        raise TypeError(f"config must be a DMFTConfig; got {describe(config)}.")
    _check_mesh(mesh, config)
    _check_callables(model)
    _warn_stability(model, tau)
    return _solve(
        model, delta, tau, grid_steps, key, config, independent=False, mesh=mesh
    )


def _check_mesh(mesh: Any, config: DMFTConfig) -> None:
    if mesh is None:
        return
    if not isinstance(mesh, Mesh):
        raise TypeError(
            "mesh must be a jax.sharding.Mesh (see mltheory.numerics.make_mesh); "
            f"got {describe(mesh)}."
        )
    if len(mesh.axis_names) != 1:
        raise ValueError(
            f"mesh must have one axis (the samples); got the axes {mesh.axis_names}."
        )
    if config.n_samples % mesh.size:
        raise ValueError(
            f"config.n_samples must be a multiple of the {mesh.size} devices of mesh; "
            f"got {config.n_samples}."
        )


def _solve(
    model: SGFModel,
    delta: Any,
    tau: Any,
    grid: tuple[np.ndarray, np.ndarray] | TimeGrid,
    key: KeyArray,
    config: DMFTConfig,
    *,
    independent: bool,
    mesh: Mesh | None = None,
) -> DMFTResult:
    ts, dts = _grid_steps(grid) if isinstance(grid, TimeGrid) else grid
    # The priors are drawn here, outside the compiled solver, which sees only
    # the model's dynamics (core_model): one compilation for every model with
    # the same dynamics, and for every grid with the same number of steps.
    # draw_priors checks the draws (numeric, finite) before any solver work.
    theta_star, state0 = _dmft_solver.draw_priors(model, key, config.n_samples)
    core = _core(model)
    dtype = theta_star.dtype
    inputs = (theta_star, state0, jnp.asarray(dts, dtype))
    response = config.response
    if response is None:
        response = "stein" if model.linear_noise_std is None else "tangent"
    static = dict(
        model=core,
        n_steps=dts.shape[0],
        n_samples=config.n_samples,
        independent=independent,
        response=response,
        mesh=mesh,
    )
    blocks = _time_blocks(config, n_steps=dts.shape[0], k=model.k)
    if config.method == "causal":
        out = _dmft_solver.solve_causal(
            key, delta, tau, *inputs, n_blocks=blocks, **static
        )
        res = _result(
            core,
            out,
            ts=ts,
            delta=delta,
            tau=tau,
            residuals=jnp.zeros(0),
            n_iter=1,
            converged=True,
            method="causal",
        )
        _raise_if_diverged(res, bad_index=out["bad"], psd_bad=out["psd_bad"])
        return res
    return _solve_fixed_point(
        core, delta, tau, ts, key, config, static, blocks, inputs, model
    )


def _core(model: SGFModel) -> SGFModel:
    """The model's dynamics, cached per model (hash-equal for equal dynamics)."""
    try:
        return _core_cached(model)
    except TypeError:  # an unhashable field
        return _dmft_solver.core_model(model)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=256)
def _core_cached(model: SGFModel) -> SGFModel:
    return _dmft_solver.core_model(model)  # type: ignore[no-any-return]


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
    ts: np.ndarray,
    key: KeyArray,
    config: DMFTConfig,
    static: dict[str, Any],
    blocks: int,
    inputs: tuple[Array, Array, Array],
    full_model: SGFModel,
) -> DMFTResult:
    if is_traced(delta) or is_traced(tau):
        raise TypeError(
            "method='fixed_point' runs a host loop and cannot be traced; use "
            "method='causal' under jax.jit or jax.vmap."
        )
    # Warm start: the causal pass with an independent key (any start works;
    # a degenerate one such as frozen zero parameters makes the first
    # regressions ill-posed). The iteration then uses `key` throughout.
    start_key = jax.random.fold_in(key, 1)
    start = _dmft_solver.solve_causal(
        start_key,
        delta,
        tau,
        *_dmft_solver.draw_priors(full_model, start_key, config.n_samples),
        inputs[2],
        n_blocks=blocks,
        **static,
    )
    sigma = _dmft_solver.flat_sigma(start["C"], start["m"], start["rho"])
    R = start["R"]
    gamma = config.damping
    residuals: list[float] = []
    converged = False
    out: dict[str, Array] = {}
    for it in range(1, config.max_iter + 1):
        out = _dmft_solver.fixed_point_map(key, delta, tau, sigma, R, *inputs, **static)
        if not bool(out["finite"]):
            res = _result(
                model,
                out,
                ts=ts,
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
        ts=ts,
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

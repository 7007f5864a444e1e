"""The online-SGD limit of the DMFT, delta -> infinity.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import (
    check_key,
    check_scalar,
)
from mltheory.dynamics import _dmft_solver
from mltheory.dynamics._dmft_checks import (
    _check_callables,
    _check_grid,
    _check_model,
    _check_tau,
    _warn_stability,
)
from mltheory.dynamics._dmft_solve import _raise_if_diverged
from mltheory.dynamics._dmft_types import DMFTResult, SGFModel
from mltheory.numerics import TimeGrid, expect

__all__: list[str] = []


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
        If ``tau < 0``, ``n_samples < 100``, the model's parameter side is
        not linear, or its samplers return non-finite draws.
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
    _dmft_solver._check_samples(star, sampler="sample_theta_star")
    _dmft_solver._check_samples(init, sampler="sample_theta0")
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

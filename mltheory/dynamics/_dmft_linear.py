"""Linear regression: the deterministic DMFT recursion and the MP quadrature (private).

For the square loss ``ell = r - w* - sigma eps`` is affine, so the DMFT closes
on second moments (docs/theory/dmft_sgf.rst): no Monte Carlo. With
``c = dt / delta`` and ``b = sqrt(tau / delta)`` the sample side is
``ell_k = a_k - sum_{j<k} R[k,j] (c - b dB_j) ell_j`` with the Gaussian
``a = w - w* - sigma eps``; its kernels are

* ``S = (I + c R)^{-1}`` (so ``D = S``, ``G = -S 1``),
* ``Q[k,m] = E[ell_k ell_m]`` and ``P[k,i] = E[ell_k ell_i dB_i]`` (k > i),
  closed recursions derived by conditioning on the independent increments,
* ``M[k,m] = delta c (c Q[k,m] - b P[k,m])`` (k > m), ``M[k,k] = delta (c^2 +
  b^2 dt) Q[k,k]``,

and the parameter side is linear: ``theta_k = Ts[k] theta* + T0[k] theta_0 +
sum_j TU[k,j] dU_j`` with ``R = -TU``. Everything is one causal scan,
O(K^2) work per step.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._typing import Array

__all__: list[str] = []


@functools.partial(jax.jit, static_argnames=("n_steps", "dt"))
def linear_dmft_scan(
    delta: Array,
    tau: Array,
    sigma: Array,
    ridge: Array,
    rho: Array,
    v0: Array,
    *,
    n_steps: int,
    dt: float,
) -> dict[str, Array]:
    """Run the deterministic causal recursion; return every kernel and loss."""
    K = n_steps
    dtype = jnp.result_type(delta, float)
    c = dt / delta
    b = jnp.sqrt(tau / delta)
    shrink = 1.0 - dt * ridge
    idx = jnp.arange(K + 1)
    z = functools.partial(jnp.zeros, dtype=dtype)
    carry0 = dict(
        Ts=z(K + 2),
        T0=z(K + 2).at[0].set(1.0),
        TU=z((K + 2, K + 1)),
        M=z((K + 1, K + 1)),
        S=z((K + 1, K + 1)),
        P=z((K + 1, K + 1)),
        Q=z((K + 1, K + 1)),
        C=z((K + 1, K + 1)),
        m=z(K + 1),
    )

    def step(s: dict[str, Array], k: Array) -> tuple[dict[str, Array], Array]:
        past = idx <= k
        # Parameter-side second moments of theta_k with theta_{<=k}.
        u = s["TU"][k] @ s["M"]
        C_row = (
            s["Ts"][k] * s["Ts"][: K + 1] * rho
            + s["T0"][k] * s["T0"][: K + 1] * v0
            + s["TU"][: K + 1] @ u
        )
        C_row = jnp.where(past, C_row, 0.0)
        m_k = s["Ts"][k] * rho
        m = s["m"].at[k].set(m_k)
        C = s["C"].at[k].set(C_row).at[:, k].set(C_row)
        Ca_row = jnp.where(past, C_row - m_k - m + rho + sigma**2, 0.0)
        # Sample side.
        R_k = -s["TU"][k]
        S_row = (idx == k).astype(dtype) - c * (R_k @ s["S"])
        S = s["S"].at[k].set(S_row)
        H_row = S @ Ca_row
        P_row = b * dt * R_k * jnp.diagonal(s["Q"]) - c * (R_k @ s["P"])
        P = s["P"].at[k].set(P_row)
        Q_off = H_row - c * (R_k @ s["Q"]) + b * (P @ R_k)
        Q_off = jnp.where(idx < k, Q_off, 0.0)
        Q = s["Q"].at[k].set(Q_off).at[:, k].set(Q_off)
        Q_kk = H_row[k] - c * (R_k @ Q[:, k]) + b * (R_k @ P_row)
        Q = Q.at[k, k].set(Q_kk)
        G_k = -jnp.sum(S_row)
        M_row = jnp.where(idx < k, delta * c * (c * Q[k] - b * P_row), 0.0)
        M_row = M_row.at[k].set(delta * (c**2 + b**2 * dt) * Q_kk)
        M = s["M"].at[k].set(M_row).at[:, k].set(M_row)
        # Parameter side: theta_{k+1} as a linear combination.
        Ts = (
            s["Ts"]
            .at[k + 1]
            .set(shrink * s["Ts"][k] - dt * G_k - dt * (S_row @ s["Ts"][: K + 1]))
        )
        T0 = (
            s["T0"].at[k + 1].set(shrink * s["T0"][k] - dt * (S_row @ s["T0"][: K + 1]))
        )
        TU = (
            s["TU"]
            .at[k + 1]
            .set(
                shrink * s["TU"][k]
                - dt * (S_row @ s["TU"][: K + 1])
                - (idx == k).astype(dtype)
            )
        )
        new = dict(Ts=Ts, T0=T0, TU=TU, M=M, S=S, P=P, Q=Q, C=C, m=m)
        return new, G_k

    s, G = lax.scan(step, carry0, idx)
    C, m, Q = s["C"], s["m"], s["Q"]
    train = 0.5 * jnp.diagonal(Q)
    test = 0.5 * (jnp.diagonal(C) - 2.0 * m + rho + sigma**2)
    return dict(
        C=C,
        m=m,
        R=-s["TU"][: K + 1],
        D=s["S"],
        G=G,
        M=s["M"][:K, :K],
        C_ell=Q,
        train=train,
        test=test,
    )


def _mp_nodes(ratio: float, n_nodes: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Nodes and weights of the Marchenko–Pastur law of ``X^T X / delta``.

    ``ratio = d / n = 1 / delta``. The continuous part lives on
    ``[(1 - sqrt(ratio))^2, (1 + sqrt(ratio))^2]`` with density
    ``sqrt((b - s)(s - a)) / (2 pi ratio s)``; the substitution ``s = mid +
    half x`` turns it into a Gauss–Chebyshev rule of the second kind. The
    atom at zero has mass ``max(0, 1 - 1/ratio)``.
    """
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    i = np.arange(1, n_nodes + 1)
    x = np.cos(i * np.pi / (n_nodes + 1))
    w = np.pi / (n_nodes + 1) * np.sin(i * np.pi / (n_nodes + 1)) ** 2
    s = mid + half * x
    weights = w * half**2 / (2 * np.pi * ratio * s)
    atom = max(0.0, 1.0 - 1.0 / ratio)
    return s, weights, atom


def mp_losses(
    *,
    delta: float,
    sigma: float,
    ridge: float,
    rho: float,
    theta0_var: float,
    ts: np.ndarray,
    dt: float | None,
    n_nodes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test loss of gradient flow (or GD with step dt) by MP quadrature."""
    s, w, atom = _mp_nodes(1.0 / delta, n_nodes)
    s = np.concatenate([s, [0.0]])
    w = np.concatenate([w, [atom]])
    t = ts[:, None]
    lam = s[None, :] + ridge
    f = np.exp(-lam * t) if dt is None else (1.0 - dt * lam) ** np.rint(t / dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(lam > 0, (1.0 - f) / np.where(lam > 0, lam, 1.0), t)
    gs = g * s[None, :]
    err = f**2 * theta0_var + (gs - 1.0) ** 2 * rho
    test = 0.5 * ((w * (err + sigma**2 * g**2 * s / delta)).sum(axis=1) + sigma**2)
    # (1/n) sum over the n eigenvalues of X X^T / delta = (1/delta) int + (1 - 1/delta)
    # times the value at zero, where (g s - 1)^2 = 1.
    noise_fit = (w * (gs - 1.0) ** 2).sum(axis=1) / delta + (1.0 - 1.0 / delta)
    train = 0.5 * ((w * s * err).sum(axis=1) + sigma**2 * noise_fit)
    return train, test

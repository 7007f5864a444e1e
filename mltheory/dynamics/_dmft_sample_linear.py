"""The closed-form sample side of a square loss with a linear teacher (private).

For ``ell = r - w* - sigma eps`` the sample side of the SGF-DMFT is linear in
its Gaussian input ``a = w - w* - sigma eps``, so its kernels follow from the
parameter-side kernels (``C_theta``, ``m``, ``rho`` and the response ``R``)
by causal recursions on second moments; no Monte Carlo is needed on that
side. With per-step increments ``dt_j``, ``c_j = dt_j / delta`` and ``b =
sqrt(tau / delta)``, the sample side is ``ell_k = a_k - sum_{j<k} R[k,j] (c_j
ell_j - b ell_j dB_j)``, ``dB_j ~ N(0, dt_j)``, and

* ``S[k,i] = E[d ell_k / d a_i] = delta_{ki} - sum_j R[k,j] c_j S[j,i]``
  (the solver's ``D``; ``G[k] = -sum_i S[k,i]``);
* ``P[k,i] = E[ell_k ell_i dB_i] = b dt_i R[k,i] Q[i,i] - sum_j R[k,j] c_j
  P[j,i]`` (``i < k``);
* ``Q[k,m] = E[ell_k ell_m] = (C_a S^T)[k,m] - sum_j R[k,j] c_j Q[j,m] + b
  sum_{j<m} R[k,j] P[m,j]`` (and the same with ``m = k``, where the last sum
  runs over every ``j``);
* ``M[k,m] = delta c_k (c_m Q[k,m] - b P[k,m])`` (``m < k``), ``M[k,k] =
  delta (c_k^2 + b^2 dt_k) Q[k,k]``,

derived by conditioning on the independent increments (Stein's lemma for
``E[a_k ell_m]``). :func:`linear_sample_row` computes row ``k`` of every
kernel from the rows before it, inside the causal solver's time loop;
:func:`linear_sample_side` runs it over all rows for given kernels.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import lax

from mltheory._src._typing import Array

__all__: list[str] = []


def linear_sample_init(n_times: int, dtype: Any) -> dict[str, Array]:
    """Zero ``S``, ``P``, ``Q`` of shape (n_times, n_times)."""
    zeros = jnp.zeros((n_times, n_times), dtype)
    return dict(S=zeros, P=zeros, Q=zeros)


def linear_sample_row(
    s: dict[str, Array],
    k: Any,
    R_k: Array,
    Ca_row: Array,
    c: Array,
    bdt: Array,
    b: Array,
    delta: Array,
) -> tuple[dict[str, Array], Array, Array, Array]:
    """Row ``k`` of the sample-side kernels.

    ``R_k`` is row ``k`` of the response (zero from ``k`` on), ``Ca_row[j] =
    E[a_k a_j]`` for ``j <= k`` (zero beyond), ``c = dts / delta`` and ``bdt
    = b * dts`` per time, ``b = sqrt(tau / delta)``. Returns the updated
    ``(S, P, Q)`` and row ``k`` of ``D = S``, of ``M``, and ``G[k]``.
    """
    idx = jnp.arange(Ca_row.shape[0])
    Rc = R_k * c
    S = s["S"].at[k].set((idx == k).astype(Ca_row.dtype) - Rc @ s["S"])
    H_row = S @ Ca_row  # E[a_k ell_m] for m <= k
    P_row = bdt * R_k * jnp.diagonal(s["Q"]) - Rc @ s["P"]
    P = s["P"].at[k].set(P_row)
    Q_off = H_row - Rc @ s["Q"] + b * (P @ R_k)
    Q_off = jnp.where(idx < k, Q_off, 0.0)
    Q = s["Q"].at[k].set(Q_off).at[:, k].set(Q_off)
    Q_kk = H_row[k] - Rc @ Q[:, k] + b * (R_k @ P_row)
    Q = Q.at[k, k].set(Q_kk)
    c_k = c[k]
    M_row = jnp.where(idx < k, delta * c_k * (c * Q[k] - b * P_row), 0.0)
    M_row = M_row.at[k].set(delta * (c_k**2 + b * bdt[k]) * Q_kk)
    G_k = -jnp.sum(S[k])
    return dict(S=S, P=P, Q=Q), S[k], M_row, G_k


def linear_sample_side(
    R: Array,
    C: Array,
    m: Array,
    rho: Array,
    sigma: Array,
    delta: Array,
    tau: Array,
    dts: Array,
) -> dict[str, Array]:
    """Every row of the sample-side kernels for given (K+1)-time kernels.

    ``R``, ``C`` of shape (K+1, K+1), ``m`` (K+1,), ``dts`` (K+1,) (the
    increment used at each time). Returns ``S``, ``P``, ``Q``, ``M``, ``G``.
    """
    n = C.shape[0]
    dtype = C.dtype
    delta = jnp.asarray(delta, dtype)
    b = jnp.sqrt(jnp.asarray(tau, dtype) / delta)
    c = dts / delta
    bdt = b * dts
    idx = jnp.arange(n)

    def body(s: dict[str, Array], k: Array) -> tuple[dict[str, Array], Any]:
        Ca = jnp.where(idx <= k, C[k] - m[k] - m + rho + sigma**2, 0.0)
        s, _, M_row, G_k = linear_sample_row(s, k, R[k], Ca, c, bdt, b, delta)
        return s, (M_row, G_k)

    s, (M, G) = lax.scan(body, linear_sample_init(n, dtype), idx)
    M = jnp.tril(M) + jnp.tril(M, -1).T
    return dict(S=s["S"], P=s["P"], Q=s["Q"], M=M, G=G)

"""Monte Carlo DMFT solvers for SGF (private; the public front end is ``dmft.py``).

Discrete DMFT of the Euler–Maruyama SGF recursion at step ``dt`` (arXiv:2602.06320):

* sample side, per sample: ``r_k = w_k - sum_{j<k} R[k,j] dZ_j`` with
  ``dZ_j = (dt/delta) ell_j - sqrt(tau/delta) ell_j dB_j``;
* parameter side, per row: ``theta_{k+1} = step(theta_k) - dt G[k] theta*
  - dt sum_{j<=k} D[k,j] theta_j - dU_k`` with ``dU ~ N(0, M)``;
* kernels: ``D[k,j] = E[d ell_k / d w_j]``, ``G[k] = E[d ell_k / d w*]``
  (Gaussian integration by parts, as an empirical regression of ``ell_k`` on
  the Gaussian inputs), ``M[k,m] = delta E[dZ_k dZ_m]``, ``R[k,j] = d theta_k /
  d H_j`` (the same regression of ``theta_k`` on ``dU``, since a kick ``H_j``
  enters like ``-dU_j``).

Why regression on both sides: each estimated kernel multiplies a process whose
covariance is that of the regressors (``D`` acts on ``theta``, distributed like
``w``; ``R`` acts on ``dZ``, distributed like ``dU / sqrt(delta)``), so Monte
Carlo error in ill-conditioned directions (smooth paths make the Gram nearly
singular) is not amplified. Propagating the exact linear response from a noisy
``D`` instead amplifies it without bound.

Arrays are time-major with ``k``-blocks: ``D`` has shape (K+1, K+1, k, k).
Gaussian fields are sampled through Cholesky factors that are built one row at
a time by :func:`_extend_cholesky` in both solvers, so that the fixed-point
method's fixed point is the causal method's single pass, to rounding.
The flattened Gaussian input of the sample side is ``g = (w*, w_0, ..., w_K)``
of size ``P = k* + (K+1) k``; that of the parameter side is ``(dU_0, ...,
dU_K)`` of size ``Q = (K+1) k``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.linalg import solve_triangular
from jax.sharding import NamedSharding, PartitionSpec

from mltheory._src._typing import Array, KeyArray

__all__: list[str] = []

# Relative floor on a conditional variance when a Cholesky row is added: keeps
# the triangular solves finite when a field is degenerate (theta_0 = 0, say).
_JITTER = 1e-6
# A conditional variance below -_PSD_TOL * scale means a non-PSD kernel.
_PSD_TOL = 1e-8
# Number of disjoint sample groups for batch-means standard errors.
_N_GROUPS = 10


def _extend_cholesky(
    L: Array, row: Any, cov_row: Array, var: Array
) -> tuple[Array, Array]:
    """Add row ``row`` to the lower Cholesky buffer ``L`` (identity below ``row``).

    ``cov_row`` holds the covariances of the new variable with the previous
    ones (entries at ``row`` and beyond are ignored); ``var`` its variance.
    Returns the new buffer and the (unclipped) conditional variance.
    """
    size = L.shape[0]
    mask = jnp.arange(size) < row
    prev = jnp.where(mask, cov_row, 0.0)
    coef = solve_triangular(L, prev, lower=True)
    coef = jnp.where(mask, coef, 0.0)
    cond_var = var - coef @ coef
    floor = _JITTER * jnp.maximum(jnp.abs(var), 1.0)
    diag = jnp.sqrt(jnp.maximum(cond_var, floor))
    new_row = coef + diag * (jnp.arange(size) == row)
    return L.at[row].set(new_row), cond_var


def _cholesky_rows(cov: Array) -> tuple[Array, Array]:
    """Cholesky factor of ``cov`` built row by row (as the causal solver does)."""
    size = cov.shape[0]

    def body(L: Array, i: Array) -> tuple[Array, Array]:
        L, cond_var = _extend_cholesky(L, i, cov[i], cov[i, i])
        return L, cond_var

    L, cond = lax.scan(body, jnp.eye(size, dtype=cov.dtype), jnp.arange(size))
    return L, cond


def _psd_violation(cond_var: Array, var: Array) -> Array:
    return cond_var < -_PSD_TOL * jnp.maximum(jnp.abs(var), 1.0)


def _regress(gram_chol: Array, L: Array, b: Array, end: Any) -> Array:
    """Coefficients of a regression on the Gaussian inputs ``g = L xi``.

    ``b = E_N[f xi]`` (entries at ``end`` and beyond are ignored). The
    regression of ``f`` on ``xi_{<end}`` uses the empirical Gram ``gram_chol
    gram_chol^T`` of the fixed ``xi`` (exact for ``f`` linear in ``g``); its
    coefficients are mapped to ``g`` by ``L^{-T}``. Leading blocks of a
    Cholesky factor are the factors of leading blocks, so one factor serves
    every ``end``.
    """
    size = L.shape[0]
    mask = jnp.arange(size) < end
    y = solve_triangular(gram_chol, jnp.where(mask, b, 0.0), lower=True)
    y = jnp.where(mask, y, 0.0)
    c = solve_triangular(gram_chol, y, lower=True, trans="T")
    return solve_triangular(L, c, lower=True, trans="T")


def _gram_cholesky(z: Array) -> Array:
    n = z.shape[0]
    gram = z.T @ z / n
    L, _ = _cholesky_rows(gram)
    return L


# --------------------------------------------------------------------------- #
# Model pieces
# --------------------------------------------------------------------------- #


def ell_function(model: Any) -> Callable[..., Array]:
    """``ell(t, r, r_star, eps) -> (k,)``: the model's dloss or grad of its loss."""
    if model.dloss is not None:
        return model.dloss  # type: ignore[no-any-return]
    grad = jax.grad(model.loss)
    return lambda t, r, rs, eps: grad(r, rs, eps)


def _param_step(model: Any, t: Array, state: Array, force: Array, dt: float) -> Array:
    """One parameter-side step of every row: ``force`` is the data force times dt."""
    if model.state_step is not None:
        return jax.vmap(lambda s, f: model.state_step(t, s, f, dt))(state, force)
    out = state - dt * model.ridge * state + force
    if model.reg_grad is not None:
        out = out - dt * jax.vmap(lambda s: model.reg_grad(t, s))(state)
    return out


def _readout(model: Any, state: Array) -> Array:
    if model.readout is None:
        return state
    return jax.vmap(model.readout)(state)


def _exact_response(model: Any) -> bool:
    """True when the parameter side is linear with a deterministic response."""
    return model.state_step is None and model.reg_grad is None


def on_samples(x: Array, mesh: Any, dim: int = 0) -> Array:
    """Split axis ``dim`` of ``x`` (the N samples) over ``mesh``; as is without one.

    Every array with a sample axis is placed so; contractions over the samples
    (the kernel averages) then become per-device partial sums added across
    devices, which XLA inserts.
    """
    if mesh is None:
        return x
    spec = [None] * x.ndim
    spec[dim] = mesh.axis_names[0]
    return lax.with_sharding_constraint(x, NamedSharding(mesh, PartitionSpec(*spec)))


class Draws:
    """The common random numbers of one solve (same key, same draws).

    With a ``mesh`` each device draws its own samples' rows; the values are
    those of the unsharded draws (JAX's random bits do not depend on the
    sharding).
    """

    def __init__(
        self,
        model: Any,
        key: KeyArray,
        n: int,
        n_steps: int,
        dt: float,
        mesh: Any = None,
    ):
        k, ks = model.k, model.k_star
        keys = jax.random.split(key, 6)
        sampled = jnp.asarray(model.sample_theta_star(keys[0], n))
        self.theta_star = on_samples(sampled, mesh)
        self.state0 = on_samples(jnp.asarray(model.sample_theta0(keys[1], n)), mesh)
        dtype = self.theta_star.dtype
        self.eps = on_samples(jax.random.normal(keys[2], (n,), dtype), mesh)
        self.xi = on_samples(
            jax.random.normal(keys[3], (n, ks + (n_steps + 1) * k), dtype), mesh
        )
        self.dB = on_samples(
            jax.random.normal(keys[4], (n_steps + 1, n), dtype) * jnp.sqrt(dt),
            mesh,
            dim=1,
        )
        self.zeta = on_samples(
            jax.random.normal(keys[5], (n, (n_steps + 1) * k), dtype), mesh
        )


# --------------------------------------------------------------------------- #
# Causal single-pass solver
# --------------------------------------------------------------------------- #


def _sample_side_step(
    model: Any,
    ell: Callable[..., Array],
    t: Array,
    w_k: Array,
    R_row: Array,
    dz_hist: Array,
    w_star: Array,
    eps: Array,
    dB_k: Array,
    *,
    dt: float,
    delta: Array,
    tau: Array,
) -> tuple[Array, Array, Array, Array]:
    r_k = w_k - _apply_row(R_row, dz_hist)
    ell_k = jax.vmap(lambda r, rs, e: ell(t, r, rs, e))(r_k, w_star, eps)
    ell_k = ell_k.astype(w_k.dtype)
    dz_k = (dt / delta) * ell_k - jnp.sqrt(tau / delta) * ell_k * dB_k[:, None]
    losses = jax.vmap(model.loss)(r_k, w_star, eps)
    return r_k, ell_k, dz_k, losses


# Per-step histories are stored as 2-D (J k, N) arrays, time-major and
# sample-minor, so that both contractions a step needs are plain matrix-vector
# products on the buffer itself: XLA's CPU dot on a (J, N, k) layout
# transposes (copies) the whole buffer every step, a broadcast-multiply-reduce
# is strided, and a reshape between the in-place update and the dot makes XLA
# materialise the updated buffer twice; each was several times slower than
# the memory-bound matvec.


def _history(n_times: int, n: int, k: int, dtype: Any) -> Array:
    """A zero (n_times k, N) history."""
    return jnp.zeros((n_times * k, n), dtype)


def _put_rows(hist: Array, index: Any, rows: Array) -> Array:
    """Store the (N, k) ``rows`` as time ``index`` of a history, in place."""
    k = rows.shape[1]
    return lax.dynamic_update_slice(hist, rows.T.astype(hist.dtype), (index * k, 0))


def _sample_major(hist: Array, k: int) -> Array:
    """(J k, N) history -> (J, N, k)."""
    return jnp.transpose(hist.reshape(-1, k, hist.shape[1]), (0, 2, 1))


def _apply_row(row: Array, hist: Array) -> Array:
    """``sum_j row[j] @ x_j``: (J, k, k) and a (J k, N) history -> (N, k)."""
    J, k, _ = row.shape
    flat = jnp.transpose(row, (1, 0, 2)).reshape(k, J * k)
    return (flat @ hist).T


def _cross_row(x: Array, hist: Array) -> Array:
    """``x^T x_j`` for every ``j``: (N, k) and a (J k, N) history -> (J, k, k).

    Unnormalised (a sum over the N samples).
    """
    k = x.shape[1]
    y = hist @ x
    return jnp.transpose(y.reshape(-1, k, k), (0, 2, 1))


def _flat_row(star_part: Array, time_part: Array) -> Array:
    """(k, k*) and (K+1, k, k) blocks -> (k, k* + (K+1) k) rows."""
    k = time_part.shape[1]
    blocks = jnp.transpose(time_part, (1, 0, 2)).reshape(k, -1)
    return jnp.concatenate([star_part, blocks], axis=1)


def _m_row(
    dz_k: Array,
    ell_k: Array,
    dz_hist: Array,
    ell_hist: Array,
    *,
    delta: Array,
    tau: Array,
    dt: float,
    k_idx: Any,
    independent: Any,
) -> Array:
    n = dz_k.shape[0]
    # The histories hold the entries before k_idx (zeros from k_idx on): the
    # equal-time block is added explicitly.
    n_times = ell_hist.shape[0] // ell_k.shape[1]
    onehot = (jnp.arange(n_times) == k_idx)[:, None, None]

    def correlated() -> Array:
        cross = _cross_row(dz_k, dz_hist) + onehot * (dz_k.T @ dz_k)[None]
        return delta * cross / n

    def split() -> Array:
        # The wrong variant (negative control): the quenched field and the SGD
        # noise drawn as two independent pieces, dropping their correlation.
        scale = delta * (dt / delta) ** 2
        quenched = scale * _cross_row(ell_k, ell_hist) / n
        white = (scale + tau * dt) * (ell_k.T @ ell_k) / n
        return quenched + onehot * white[None]

    # A traced switch (lax.cond runs one branch): the negative control shares
    # the compiled solver instead of compiling a second one.
    return lax.cond(independent, split, correlated)


def time_blocks(n_steps: int, n_blocks: int) -> tuple[int, ...]:
    """Ends of ``n_blocks`` near-equal blocks of the time indices ``0..K``."""
    n_times = n_steps + 1
    n_blocks = max(1, min(n_blocks, n_times))
    return tuple(-(-n_times * (b + 1) // n_blocks) for b in range(n_blocks))


def _pad_rows(x: Array, n_rows: int) -> Array:
    """Zero-pad the leading axis of ``x`` to ``n_rows``."""
    pad = [(0, n_rows - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
    return jnp.pad(x, pad)


@functools.partial(
    jax.jit,
    static_argnames=("model", "n_steps", "dt", "n_samples", "n_blocks", "mesh"),
)
def solve_causal(
    key: KeyArray,
    delta: Array,
    tau: Array,
    *,
    model: Any,
    n_steps: int,
    dt: float,
    n_samples: int,
    independent: Any = False,
    n_blocks: int = 1,
    mesh: Any = None,
) -> dict[str, Array]:
    """March the DMFT forward in time in one pass (causal solution).

    ``independent`` (traced) selects the negative-control noise kernel.
    The time loop runs in ``n_blocks`` blocks (:func:`time_blocks`); a block
    ending at time ``J`` holds histories of ``J`` times and reads only the
    first ``ks + J k`` columns of the Gaussian inputs. Every contraction of
    a step streams these O(J N) arrays from memory, so blocks cut the work of
    a solve towards half; each block compiles its own loop body.

    With ``mesh`` (static) the N samples are split over its devices: the
    draws, the per-sample state and the (J k, N) histories are placed along
    their sample axes, so each device holds N / D samples and every average
    over samples is a cross-device sum.
    """
    K, N = n_steps, n_samples
    k, ks = model.k, model.k_star
    P, Q = ks + (K + 1) * k, (K + 1) * k
    ell = ell_function(model)
    draws = Draws(model, key, N, K, dt, mesh)
    dtype = draws.xi.dtype
    delta = jnp.asarray(delta, dtype)
    tau = jnp.asarray(tau, dtype)
    independent = jnp.asarray(independent, bool)

    def placed(c: dict[str, Array]) -> dict[str, Array]:
        """The carry with its sample axes on the mesh (as is without one)."""
        if mesh is None:
            return c
        out = dict(c)
        for name in ("state", "theta_k", "dz_prev", "ell_prev"):
            if name in c:
                out[name] = on_samples(c[name], mesh)
        for name in ("theta_hist", "dz_hist", "ell_hist"):
            if name in c:
                out[name] = on_samples(c[name], mesh, dim=1)
        return out

    theta_star = draws.theta_star
    gram_xi = _gram_cholesky(draws.xi)
    # A linear parameter side (no state_step, readout or reg_grad) makes
    # theta_{k+1} = decay theta_k - dt theta* G_k^T - dt sum_i theta_i D_k[i]^T
    # - zeta LM_k^T a fixed linear combination of the columns of the basis
    # B = (theta_0, theta*, zeta). The parameter side is then carried as the
    # coefficients F_k (theta_k = B F_k, an (m, k) matrix, m = k + k* + Q) and
    # every sample average it needs is F^T S F with the basis Gram S = B^T B/N,
    # computed once: the three O(J N) passes a step of the parameter side
    # (memory term, noise, response) become O(J m k^2) work on small arrays,
    # and theta is formed per sample only once, at the end. Exact up to
    # rounding.
    coef_side = _exact_response(model) and model.readout is None
    decay = 1.0 - dt * model.ridge
    if coef_side:
        basis = (jnp.asarray(draws.state0, dtype), theta_star, draws.zeta)
        S = _basis_gram(basis) / N
        m_dim = S.shape[0]
        i_star, i_zeta = slice(k, k + ks), slice(k + ks, m_dim)
        gram_zeta, _ = _cholesky_rows(S[i_zeta, i_zeta])
    else:
        gram_zeta = _gram_cholesky(draws.zeta)

    # Teacher rows of the sample-side Cholesky factor.
    L = jnp.eye(P, dtype=dtype)
    cov_star = theta_star.T @ theta_star / N
    bad = jnp.asarray(False)
    for a in range(ks):
        L, cv = _extend_cholesky(
            L, a, jnp.zeros(P, dtype).at[:ks].set(cov_star[a]), cov_star[a, a]
        )
        bad = bad | _psd_violation(cv, cov_star[a, a])
    w_star = draws.xi[:, :ks] @ L[:ks, :ks].T

    def block_step(J: int) -> Callable[..., tuple[dict[str, Array], Array]]:
        """The step for times ``kk < J``, on histories of ``J`` times."""
        P_J, Q_J = ks + J * k, J * k
        xi_J = draws.xi[:, :P_J]
        # Only a nonlinear parameter side reads zeta in the loop.
        zeta_J = draws.zeta[:, : (k if coef_side else Q_J)]
        live = jnp.arange(J)

        def step(c: dict[str, Array], kk: Array) -> tuple[dict[str, Array], Array]:
            t = kk.astype(dtype) * dt
            prev = jnp.maximum(kk - 1, 0)  # at kk = 0 this writes zeros over zeros
            dz_hist = _put_rows(c["dz_hist"], prev, c["dz_prev"])
            ell_hist = _put_rows(c["ell_hist"], prev, c["ell_prev"])
            # 1. Extend the sample-side factor by the k rows of w_k.
            if coef_side:
                # Row kk of the Gram of theta: F_kk^T S F_j = (S F_kk)^T F_j.
                sf_k = c["SF"][kk]
                cov_time = jnp.einsum("ma,jmb->jab", sf_k, c["F"][: K + 1])
                cov_time = jnp.where(
                    (jnp.arange(K + 1) <= kk)[:, None, None], cov_time, 0.0
                )
                rows = _flat_row(sf_k[i_star].T, cov_time)
            else:
                theta_k = c["theta_k"]
                theta_hist = _put_rows(c["theta_hist"], kk, theta_k)
                cov_time = _cross_row(theta_k, theta_hist) / N
                cov_time = jnp.where((live <= kk)[:, None, None], cov_time, 0.0)
                rows = _flat_row(theta_k.T @ theta_star / N, _pad_rows(cov_time, K + 1))
            L = c["L"]
            psd_bad = jnp.asarray(False)
            for a in range(k):
                idx = ks + kk * k + a
                L, cv = _extend_cholesky(L, idx, rows[a], rows[a, idx])
                psd_bad = psd_bad | _psd_violation(cv, rows[a, idx])
            w_rows = lax.dynamic_slice(L, (ks + kk * k, 0), (k, P_J))
            w_k = xi_J @ w_rows.T
            # 2. Sample side at time k.
            _, ell_k, dz_k, losses = _sample_side_step(
                model,
                ell,
                t,
                w_k,
                c["R"][kk, :J],
                dz_hist,
                w_star,
                draws.eps,
                draws.dB[kk],
                dt=dt,
                delta=delta,
                tau=tau,
            )
            # 3. D[k, :k], G[k] by Gaussian integration by parts (regression).
            b = jnp.pad(ell_k.T @ xi_J / N, ((0, 0), (0, P - P_J)))
            end = ks + (kk + 1) * k
            coef = jax.vmap(lambda bb: _regress(gram_xi, L, bb, end))(b)
            G_k = coef[:, :ks]
            D_k = jnp.transpose(coef[:, ks:].reshape(k, K + 1, k), (1, 0, 2))
            # 4. Noise kernel row k and its Cholesky rows.
            M_k = _m_row(
                dz_k,
                ell_k,
                dz_hist,
                ell_hist,
                delta=delta,
                tau=tau,
                dt=dt,
                k_idx=kk,
                independent=independent,
            )
            M_k = _pad_rows(jnp.where((live <= kk)[:, None, None], M_k, 0.0), K + 1)
            M = c["M"].at[kk].set(M_k).at[:, kk].set(jnp.swapaxes(M_k, 1, 2))
            mrows = jnp.transpose(M_k, (1, 0, 2)).reshape(k, Q)
            LM = c["LM"]
            for a in range(k):
                idx = kk * k + a
                LM, cv = _extend_cholesky(LM, idx, mrows[a], mrows[a, idx])
                psd_bad = psd_bad | _psd_violation(cv, mrows[a, idx])
            lm_rows = lax.dynamic_slice(LM, (kk * k, 0), (k, Q))
            # 5. Parameter side: theta_{k+1}; 6. its products with zeta, for
            # the response row k+1 by Gaussian integration by parts on the
            # parameter side (the kick H_j enters exactly like -dU_j).
            new: dict[str, Array] = {}
            if coef_side:
                memory = jnp.einsum("imb,iab->ma", c["F"][: K + 1], D_k)
                f_next = decay * c["F"][kk] - dt * memory
                f_next = f_next.at[i_star].add(-dt * G_k.T).at[i_zeta].add(-lm_rows.T)
                sf_next = S @ f_next
                bz = sf_next[i_zeta].T  # theta_{k+1}^T zeta / N
                finite = jnp.all(jnp.isfinite(f_next))
                new.update(F=c["F"].at[kk + 1].set(f_next))
                new.update(SF=c["SF"].at[kk + 1].set(sf_next))
            else:
                dU = zeta_J @ lm_rows[:, :Q_J].T
                memory = _apply_row(D_k[:J], theta_hist)
                force = -dt * (theta_star @ G_k.T + memory) - dU
                state_next = _param_step(model, t, c["state"], force, dt)
                theta_next = _readout(model, state_next)
                bz = jnp.pad(theta_next.T @ zeta_J / N, ((0, 0), (0, Q - Q_J)))
                finite = jnp.all(jnp.isfinite(theta_next))
                new.update(state=state_next, theta_k=theta_next, theta_hist=theta_hist)
            cz = jax.vmap(lambda bb: _regress(gram_zeta, LM, bb, (kk + 1) * k))(bz)
            R_next = -jnp.transpose(cz.reshape(k, K + 1, k), (1, 0, 2))
            R = c["R"].at[kk + 1].set(R_next)
            finite = finite & jnp.all(jnp.isfinite(ell_k))
            now_bad = psd_bad | ~finite
            bad_idx = jnp.where((c["bad"] < 0) & now_bad, kk, c["bad"])
            new.update(
                dz_prev=dz_k,
                ell_prev=ell_k,
                dz_hist=dz_hist,
                ell_hist=ell_hist,
                L=L,
                LM=LM,
                D=c["D"].at[kk].set(D_k),
                G=c["G"].at[kk].set(G_k),
                R=R,
                M=M,
                bad=bad_idx,
            )
            return placed(new), losses

        return step

    # The (J k, N) histories are carried with the newest entry pending
    # (theta_k, dz_{k-1}, ell_{k-1} as (N, k) rows) and written at the start
    # of the next step: every read in a step then sees the updated buffer
    # and nothing reads the old one, so XLA updates them in place instead of
    # copying O(JN) data every step.
    ends = time_blocks(K, n_blocks)
    zeros_rows = jnp.zeros((N, k), dtype)
    c = dict(
        dz_prev=zeros_rows,
        ell_prev=zeros_rows,
        dz_hist=_history(ends[0], N, k, dtype),
        ell_hist=_history(ends[0], N, k, dtype),
        L=L,
        LM=jnp.eye(Q, dtype=dtype),
        D=jnp.zeros((K + 1, K + 1, k, k), dtype),
        G=jnp.zeros((K + 1, k, ks), dtype),
        R=jnp.zeros((K + 2, K + 1, k, k), dtype),
        M=jnp.zeros((K + 1, K + 1, k, k), dtype),
        bad=jnp.full((), -1),
    )
    if coef_side:
        # theta_0 = B F_0 with F_0 = (I_k, 0, 0); one spare row for theta_{K+1}.
        f0 = jnp.zeros((m_dim, k), dtype).at[:k].set(jnp.eye(k, dtype=dtype))
        c["F"] = jnp.zeros((K + 2, m_dim, k), dtype).at[0].set(f0)
        c["SF"] = jnp.zeros((K + 2, m_dim, k), dtype).at[0].set(S @ f0)
    else:
        c["state"] = draws.state0
        c["theta_k"] = _readout(model, draws.state0)
        c["theta_hist"] = _history(ends[0], N, k, dtype)
    losses_blocks = []
    begin = 0
    for J in ends:
        for name in ("theta_hist", "dz_hist", "ell_hist"):
            if name in c:
                c[name] = _pad_rows(c[name], J * k)
        c = placed(c)
        c, losses_b = lax.scan(block_step(J), c, jnp.arange(begin, J))
        losses_blocks.append(losses_b)
        begin = J
    losses = jnp.concatenate(losses_blocks)
    ell_hist = _put_rows(c["ell_hist"], K, c["ell_prev"])
    if coef_side:
        out = _summaries_coef(
            c["F"][: K + 1], c["SF"][: K + 1], basis, ell_hist, theta_star, losses
        )
        f_last = c["F"][K]
        theta_final = on_samples(
            basis[0] @ f_last[:k]
            + basis[1] @ f_last[k : k + ks]
            + basis[2] @ f_last[k + ks :],
            mesh,
        )
    else:
        out = _summaries_flat(c["theta_hist"], ell_hist, k, theta_star, losses)
        theta_final = c["theta_hist"][K * k :].T
    out.update(
        R=c["R"][: K + 1],
        D=c["D"],
        G=c["G"],
        M=c["M"][:K, :K],
        theta_final=theta_final,
        bad=jnp.where(bad & (c["bad"] < 0), 0, c["bad"]),
        psd_bad=bad,
    )
    return out


def _put(buf: Array, index: Any, value: Array) -> Array:
    """``buf.at[index].set(value)`` as an in-place dynamic_update_slice."""
    return lax.dynamic_update_index_in_dim(buf, value.astype(buf.dtype), index, 0)


def _time_major(hist: Array) -> Array:
    """(J, N, k) -> the (J k, N) history layout."""
    J, n, k = hist.shape
    return jnp.transpose(hist, (0, 2, 1)).reshape(J * k, n)


def _summaries(
    theta_hist: Array, ell_hist: Array, theta_star: Array, losses: Array
) -> dict[str, Array]:
    """:func:`_summaries_flat` of (J, N, k) histories."""
    k = theta_hist.shape[2]
    return _summaries_flat(
        _time_major(theta_hist), _time_major(ell_hist), k, theta_star, losses
    )


def _summaries_flat(
    theta_hist: Array, ell_hist: Array, k: int, theta_star: Array, losses: Array
) -> dict[str, Array]:
    """Moments of the (J k, N) histories, contracted in their stored layout.

    Products of the flat histories are plain matrix products (no (J, N, k)
    transposed copy of the O(J N k) buffers); only the small results are
    reshaped to (J, J, k, k) blocks.
    """
    n = theta_star.shape[0]
    J = theta_hist.shape[0] // k
    C = _blocks(theta_hist @ theta_hist.T / n, k)
    m = (theta_hist @ theta_star / n).reshape(J, k, -1)
    # Equal-time moments of _N_GROUPS disjoint sample groups, for batch-means
    # standard errors of functions of the moments (the test loss).
    g = _N_GROUPS
    size = n // g
    th = theta_hist[:, : size * g].reshape(J, k, g, size)
    st = theta_star[: size * g].reshape(g, size, -1)
    C_groups = jnp.einsum("tagn,tbgn->gtab", th, th) / size
    m_groups = jnp.einsum("tagn,gnb->gtab", th, st) / size
    rho_groups = jnp.einsum("gna,gnb->gab", st, st) / size
    return dict(
        C=C,
        m=m,
        C_groups=C_groups,
        m_groups=m_groups,
        rho_groups=rho_groups,
        **_sample_summaries(ell_hist, k, theta_star, losses),
    )


def _blocks(gram: Array, k: int) -> Array:
    """A (J k, J k) Gram -> (J, J, k, k) blocks."""
    J = gram.shape[0] // k
    return jnp.transpose(gram.reshape(J, k, J, k), (0, 2, 1, 3))


def _sample_summaries(
    ell_hist: Array, k: int, theta_star: Array, losses: Array
) -> dict[str, Array]:
    """C_ell, rho and the train loss with its standard error."""
    n = theta_star.shape[0]
    return dict(
        C_ell=_blocks(ell_hist @ ell_hist.T / n, k),
        rho=theta_star.T @ theta_star / n,
        train=losses.mean(axis=1),
        train_se=losses.std(axis=1) / jnp.sqrt(n),
    )


def _basis_gram(parts: tuple[Array, ...], groups: int = 0) -> Array:
    """The Gram B^T B of B = [parts...] (columns side by side), block by block.

    Without forming B (a copy of every part). With ``groups`` > 0, the Grams
    of that many consecutive, equal groups of rows (a leftover is dropped):
    shape (groups, m, m).
    """
    if groups:
        size = parts[0].shape[0] // groups
        return jnp.stack(
            [
                _basis_gram(tuple(p[i * size : (i + 1) * size] for p in parts))
                for i in range(groups)
            ]
        )
    rows = [jnp.concatenate([a.T @ b for b in parts], axis=1) for a in parts]
    return jnp.concatenate(rows, axis=0)


def _summaries_coef(
    F: Array,
    SF: Array,
    basis: tuple[Array, ...],
    ell_hist: Array,
    theta_star: Array,
    losses: Array,
) -> dict[str, Array]:
    """:func:`_summaries_flat` for theta_t = B F_t (basis B, SF_t = S F_t).

    Every moment of theta is F^T (B^T B / N) F: no (J k, N) history of theta
    is formed. The batch-means groups use the Gram of each group's rows of B.
    """
    n, k = theta_star.shape[0], F.shape[2]
    ks = theta_star.shape[1]
    star = slice(k, k + ks)
    C = jnp.einsum("tma,smb->tsab", F, SF)
    m = jnp.transpose(SF[:, star, :], (0, 2, 1))
    g = _N_GROUPS
    S_groups = _basis_gram(basis, groups=g) / (n // g)
    SgF = jnp.einsum("gml,tlb->gtmb", S_groups, F)
    C_groups = jnp.einsum("tma,gtmb->gtab", F, SgF)
    m_groups = jnp.einsum("tma,gms->gtas", F, S_groups[:, :, star])
    rho_groups = S_groups[:, star, star]
    return dict(
        C=C,
        m=m,
        C_groups=C_groups,
        m_groups=m_groups,
        rho_groups=rho_groups,
        **_sample_summaries(ell_hist, k, theta_star, losses),
    )


# --------------------------------------------------------------------------- #
# Damped fixed-point solver
# --------------------------------------------------------------------------- #


@functools.partial(
    jax.jit,
    static_argnames=("model", "n_steps", "dt", "n_samples", "independent", "mesh"),
)
def fixed_point_map(
    key: KeyArray,
    delta: Array,
    tau: Array,
    sigma_in: Array,
    R_in: Array,
    *,
    model: Any,
    n_steps: int,
    dt: float,
    n_samples: int,
    independent: bool = False,
    mesh: Any = None,
) -> dict[str, Array]:
    """One application of the DMFT map (Sigma, R) -> (Sigma', R') (fixed point).

    ``sigma_in`` is the second-moment matrix of ``(theta*, theta_0, ...,
    theta_K)`` in the flattened ordering, ``R_in`` the response (K+1, K+1, k,
    k). The same key gives the same draws in every iteration (common random
    numbers), so the map is deterministic.
    """
    K, N = n_steps, n_samples
    k, ks = model.k, model.k_star
    Q = (K + 1) * k
    ell = ell_function(model)
    draws = Draws(model, key, N, K, dt, mesh)
    dtype = draws.xi.dtype
    delta = jnp.asarray(delta, dtype)
    tau = jnp.asarray(tau, dtype)
    theta_star = draws.theta_star
    gram_xi = _gram_cholesky(draws.xi)

    L, cond = _cholesky_rows(sigma_in)
    psd_bad = jnp.any(_psd_violation(cond, jnp.diagonal(sigma_in)))
    g = draws.xi @ L.T
    w_star = g[:, :ks]
    w = jnp.transpose(g[:, ks:].reshape(N, K + 1, k), (1, 0, 2))

    def sample_step(
        carry: tuple[Array, Array], kk: Array
    ) -> tuple[tuple[Array, Array], tuple[Array, Array, Array]]:
        # dz_{k-1} is pending and written first (see solve_causal).
        dz_hist, dz_prev = carry
        dz_hist = _put_rows(dz_hist, jnp.maximum(kk - 1, 0), dz_prev)
        t = kk.astype(dtype) * dt
        _, ell_k, dz_k, losses = _sample_side_step(
            model,
            ell,
            t,
            w[kk],
            R_in[kk],
            dz_hist,
            w_star,
            draws.eps,
            draws.dB[kk],
            dt=dt,
            delta=delta,
            tau=tau,
        )
        return (dz_hist, dz_k), (ell_k, dz_k, losses)

    _, (ell_hist, dz_hist, losses) = lax.scan(
        sample_step,
        (_history(K + 1, N, k, dtype), jnp.zeros((N, k), dtype)),
        jnp.arange(K + 1),
    )
    b = jnp.einsum("tna,np->tap", ell_hist, draws.xi) / N
    ends = ks + (jnp.arange(K + 1) + 1) * k
    coef = jax.vmap(lambda bt, e: jax.vmap(lambda bb: _regress(gram_xi, L, bb, e))(bt))(
        b, ends
    )  # (K+1, k, P)
    G = coef[:, :, :ks]
    D = jnp.transpose(coef[:, :, ks:].reshape(K + 1, k, K + 1, k), (0, 2, 1, 3))
    if independent:
        quenched = (
            delta
            * (dt / delta) ** 2
            * jnp.einsum("tna,snb->tsab", ell_hist, ell_hist)
            / N
        )
        white = tau * dt * jnp.einsum("tna,tnb->tab", ell_hist, ell_hist) / N
        M = quenched + jnp.eye(K + 1)[:, :, None, None] * white[:, None, :, :]
    else:
        M = delta * jnp.einsum("tna,snb->tsab", dz_hist, dz_hist) / N
    M_flat = jnp.transpose(M, (0, 2, 1, 3)).reshape(Q, Q)
    LM, condM = _cholesky_rows(M_flat)
    psd_bad = psd_bad | jnp.any(_psd_violation(condM, jnp.diagonal(M_flat)))
    dU_all = draws.zeta @ LM.T
    dU = jnp.transpose(dU_all.reshape(N, K + 1, k), (1, 0, 2))

    def param_step(
        carry: tuple[Array, Array, Array], kk: Array
    ) -> tuple[tuple[Array, Array, Array], None]:
        # theta_k is pending and written first (see solve_causal).
        state, theta_k, theta_hist = carry
        theta_hist = _put_rows(theta_hist, kk, theta_k)
        t = kk.astype(dtype) * dt
        memory = _apply_row(D[kk], theta_hist)
        force = -dt * (theta_star @ G[kk].T + memory) - dU[kk]
        state_next = _param_step(model, t, state, force, dt)
        return (state_next, _readout(model, state_next), theta_hist), None

    (_, theta_last, theta_hist), _ = lax.scan(
        param_step,
        (
            draws.state0,
            _readout(model, draws.state0),
            _history(K + 1, N, k, dtype),
        ),
        jnp.arange(K + 1),
    )
    thetas = _sample_major(theta_hist, k)
    gram_zeta = _gram_cholesky(draws.zeta)
    bz = jnp.einsum("tna,nq->taq", thetas, draws.zeta) / N
    ends_z = jnp.arange(K + 1) * k
    cz = jax.vmap(
        lambda bt, e: jax.vmap(lambda bb: _regress(gram_zeta, LM, bb, e))(bt)
    )(bz, ends_z)
    R_out = -jnp.transpose(cz.reshape(K + 1, k, K + 1, k), (0, 2, 1, 3))
    flat = jnp.concatenate(
        [theta_star, jnp.transpose(thetas, (1, 0, 2)).reshape(N, -1)], axis=1
    )
    sigma_out = flat.T @ flat / N
    out = _summaries(thetas, ell_hist, theta_star, losses)
    finite = (
        jnp.all(jnp.isfinite(thetas))
        & jnp.all(jnp.isfinite(theta_last))
        & jnp.all(jnp.isfinite(ell_hist))
    )
    out.update(
        sigma=sigma_out,
        R=R_out,
        D=D,
        G=G,
        M=M[:K, :K],
        theta_final=thetas[K],
        finite=finite,
        psd_bad=psd_bad,
    )
    return out


def flat_sigma(C: Array, m: Array, rho: Array) -> Array:
    """Assemble the flattened second-moment matrix from (C, m, rho) blocks."""
    T, _, k, _ = C.shape
    ks = rho.shape[0]
    top = jnp.concatenate([rho, jnp.transpose(m, (2, 0, 1)).reshape(ks, T * k)], 1)
    body = jnp.transpose(C, (0, 2, 1, 3)).reshape(T * k, T * k)
    left = jnp.transpose(m, (0, 1, 2)).reshape(T * k, ks)
    return jnp.concatenate([top, jnp.concatenate([left, body], 1)], 0)

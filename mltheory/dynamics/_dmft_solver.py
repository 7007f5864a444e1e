"""Monte Carlo DMFT solvers for SGF (private; the public front end is ``dmft.py``).

Discrete DMFT of the Euler–Maruyama SGF recursion with steps ``dt_k``
(arXiv:2602.06320; a uniform grid has ``dt_k = dt``, a non-uniform one any
positive steps):

* sample side, per sample: ``r_k = w_k - sum_{j<k} R[k,j] dZ_j`` with
  ``dZ_j = (dt_j/delta) ell_j - sqrt(tau/delta) ell_j dB_j``,
  ``dB_j ~ N(0, dt_j)``;
* parameter side, per row: ``theta_{k+1} = step(theta_k) - dt_k G[k] theta*
  - dt_k sum_{j<=k} D[k,j] theta_j - dU_k`` with ``dU ~ N(0, M)``;
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

The step sizes are traced (one compilation serves every grid with the same
number of steps), and the teacher rows and initial states are drawn by the
caller (:func:`draw_priors`) and passed in, so the compiled solvers depend on a
model only through its dynamics (:func:`core_model`): models that differ only
in their priors (an initial scale, a teacher law) share one compilation.
A model with ``linear_noise_std`` set (square loss, linear teacher) has its
sample side computed in closed form (:mod:`._dmft_sample_linear`) by the
causal solver; only its parameter side is sampled.

Arrays are time-major with ``k``-blocks: ``D`` has shape (K+1, K+1, k, k).
Gaussian fields are sampled through Cholesky factors that are built one row at
a time by :func:`_extend_cholesky` in both solvers, so that the fixed-point
method's fixed point is the causal method's single pass, to rounding.
The flattened Gaussian input of the sample side is ``g = (w*, w_0, ..., w_K)``
of size ``P = k* + (K+1) k``; that of the parameter side is ``(dU_0, ...,
dU_K)`` of size ``Q = (K+1) k``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.linalg import solve_triangular
from jax.sharding import NamedSharding, PartitionSpec

from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import is_traced
from mltheory.dynamics._dmft_sample_linear import (
    linear_sample_init,
    linear_sample_row,
    linear_sample_side,
)
from mltheory.dynamics._dmft_types import SGFModel

__all__: list[str] = []

# Relative floor on a conditional variance when a Cholesky row is added: keeps
# the triangular solves finite when a field is degenerate (theta_0 = 0, say).
_JITTER = 1e-6
# The noise field's floor with the tangent response, relative to the field's
# largest variance so far: the factor only samples the field (no regression
# divides by it). Smooth fields (tau = 0) are numerically low-rank, and a
# floor much below this lets the row-by-row factor's rounding errors grow
# (1e-10 diverged in the rich DLN regime); at 1e-8 the added noise is
# 1e-4 of the field's scale in standard deviation.
_JITTER_TANGENT = 1e-8


def _tangent_jitter(dtype: Any) -> float:
    """The tangent floor, at least 64 rounding units of ``dtype`` (float32)."""
    return max(_JITTER_TANGENT, 64 * float(jnp.finfo(dtype).eps))


# A conditional variance below -_PSD_TOL * scale means a non-PSD kernel.
_PSD_TOL = 1e-8
# Number of disjoint sample groups for batch-means standard errors.
_N_GROUPS = 10


def _extend_cholesky(
    L: Array,
    row: Any,
    cov_row: Array,
    var: Array,
    scale: Any = 1.0,
    jitter: float = _JITTER,
) -> tuple[Array, Array]:
    """Add row ``row`` to the lower Cholesky buffer ``L`` (identity below ``row``).

    ``cov_row`` holds the covariances of the new variable with the previous
    ones (entries at ``row`` and beyond are ignored); ``var`` its variance.
    The conditional variance is floored at ``jitter * max(|var|, scale)``.
    Returns the new buffer and the (unclipped) conditional variance.
    """
    size = L.shape[0]
    mask = jnp.arange(size) < row
    prev = jnp.where(mask, cov_row, 0.0)
    coef = solve_triangular(L, prev, lower=True)
    coef = jnp.where(mask, coef, 0.0)
    cond_var = var - coef @ coef
    floor = jitter * jnp.maximum(jnp.abs(var), scale)
    diag = jnp.sqrt(jnp.maximum(cond_var, floor))
    new_row = coef + diag * (jnp.arange(size) == row)
    return L.at[row].set(new_row), cond_var


def _cholesky_rows(cov: Array, *, tangent: bool = False) -> tuple[Array, Array]:
    """Cholesky factor of ``cov`` built row by row (as the causal solver does).

    ``tangent``: the noise field's floor of the tangent response (relative to
    the largest variance so far, :data:`_JITTER_TANGENT`).
    """
    size = cov.shape[0]
    diag = jnp.abs(jnp.diagonal(cov))
    scales = lax.cummax(diag) if tangent else jnp.ones_like(diag)
    jitter = _tangent_jitter(cov.dtype) if tangent else _JITTER

    def body(L: Array, i: Array) -> tuple[Array, Array]:
        L, cond_var = _extend_cholesky(L, i, cov[i], cov[i, i], scales[i], jitter)
        return L, cond_var

    L, cond = lax.scan(body, jnp.eye(size, dtype=cov.dtype), jnp.arange(size))
    return L, cond


def _psd_violation(cond_var: Array, var: Array) -> Array:
    return cond_var < -_PSD_TOL * jnp.maximum(jnp.abs(var), 1.0)


def _regress(gram_chol: Array, L: Array | None, b: Array, end: Any) -> Array:
    """Coefficients of a regression on the Gaussian inputs ``g = L xi``.

    ``b = E_N[f xi]`` (entries at ``end`` and beyond are ignored). The
    regression of ``f`` on ``xi_{<end}`` uses the empirical Gram ``gram_chol
    gram_chol^T`` of the fixed ``xi`` (exact for ``f`` linear in ``g``); its
    coefficients are mapped to ``g`` by ``L^{-T}``. Leading blocks of a
    Cholesky factor are the factors of leading blocks, so one factor serves
    every ``end``.
    """
    size = gram_chol.shape[0]
    mask = jnp.arange(size) < end
    y = solve_triangular(gram_chol, jnp.where(mask, b, 0.0), lower=True)
    y = jnp.where(mask, y, 0.0)
    c = solve_triangular(gram_chol, y, lower=True, trans="T")
    if L is None:  # regressors are the inputs themselves
        return c
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


def _param_step(model: Any, t: Array, state: Array, force: Array, dt: Any) -> Array:
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


def _check_samples(samples: Any, *, sampler: str) -> None:
    """A model's sampler must return finite draws (checked on concrete draws).

    Without this, a NaN teacher or initialisation surfaces much later as a
    divergence of the solver, blamed on tau and the step.
    """
    if is_traced(samples):
        return
    values = np.asarray(samples)
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(
            f"model.{sampler}(key, n) must return a numeric array; got dtype "
            f"{values.dtype}."
        )
    bad = int(values.size - np.isfinite(values).sum())
    if bad:
        raise ValueError(
            f"model.{sampler}(key, n) must return finite draws; got {bad} "
            f"non-finite (NaN or inf) entr{'y' if bad == 1 else 'ies'} in "
            f"{values.size}. Check the model's sampler (its prior)."
        )


def _drawn_by_caller(key: KeyArray, n: int) -> Array:
    """Placeholder sampler of :func:`core_model`: the priors are drawn outside."""
    raise RuntimeError("the DMFT solver draws the priors before compiling")


def core_model(model: Any) -> Any:
    """The part of ``model`` the compiled solvers depend on (its dynamics).

    The priors are replaced by a placeholder (they are drawn by
    :func:`draw_priors` and passed in) and the name is dropped; fields of a
    subclass are left out. Equal dynamics give equal (hash-equal) keys, hence
    one compilation.
    """
    fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(SGFModel)}
    fields.update(
        sample_theta_star=_drawn_by_caller, sample_theta0=_drawn_by_caller, name=""
    )
    return SGFModel(**fields)


def draw_priors(model: Any, key: KeyArray, n: int) -> tuple[Array, Array]:
    """Teacher rows and initial states of a solve (the first two of 6 subkeys)."""
    keys = jax.random.split(key, 6)
    theta_star = jnp.asarray(model.sample_theta_star(keys[0], n))
    state0 = jnp.asarray(model.sample_theta0(keys[1], n))
    _check_samples(theta_star, sampler="sample_theta_star")
    _check_samples(state0, sampler="sample_theta0")
    dtype = jnp.result_type(theta_star.dtype, float)
    return theta_star.astype(dtype), state0.astype(dtype)


def step_sizes(dts: Array) -> tuple[Array, Array]:
    """(times, steps) of K+1 solver steps from K grid steps (the last repeated).

    The solver computes one state past the grid (discarded), with the last
    step size.
    """
    ext = jnp.concatenate([dts, dts[-1:]])
    ts = jnp.concatenate([jnp.zeros(1, dts.dtype), jnp.cumsum(dts)])
    return ts, ext


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

    ``sample_side=False`` (closed-form sample side) draws only what the
    parameter side needs. With a ``mesh`` each device draws its own samples'
    rows; the values are those of the unsharded draws (JAX's random bits do
    not depend on the sharding).
    """

    def __init__(
        self,
        model: Any,
        key: KeyArray,
        n: int,
        n_steps: int,
        dts: Array,
        theta_star: Array,
        state0: Array,
        *,
        sample_side: bool = True,
        tangent: bool = False,
        mesh: Any = None,
    ):
        k, ks = model.k, model.k_star
        keys = jax.random.split(key, 6)
        self.theta_star = on_samples(theta_star, mesh)
        self.state0 = on_samples(state0, mesh)
        dtype = self.theta_star.dtype
        if sample_side:
            self.eps = on_samples(jax.random.normal(keys[2], (n,), dtype), mesh)
            self.xi = on_samples(
                jax.random.normal(keys[3], (n, ks + (n_steps + 1) * k), dtype), mesh
            )
            self.dB = on_samples(
                jax.random.normal(keys[4], (n_steps + 1, n), dtype)
                * jnp.sqrt(dts).astype(dtype)[:, None],
                mesh,
                dim=1,
            )
        self.zeta = on_samples(
            jax.random.normal(keys[5], (n, (n_steps + 1) * k), dtype), mesh
        )
        if tangent:  # the probe of the tangent response, independent of zeta
            self.eta = on_samples(
                jax.random.normal(
                    jax.random.fold_in(keys[5], 1), (n, (n_steps + 1) * k), dtype
                ),
                mesh,
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
    dt: Any,
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
    dt: Any,
    dts_hist: Array,
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
        # delta E[(dt_k/delta) ell_k (dt_j/delta) ell_j]; the white part adds
        # tau dt_k E[ell_k^2] on the diagonal.
        scale = dt / delta
        quenched = scale * dts_hist[:, None, None] * _cross_row(ell_k, ell_hist) / n
        white = (delta * scale**2 + tau * dt) * (ell_k.T @ ell_k) / n
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


def _next_gram_row(
    c: dict[str, Array],
    kk: Array,
    theta_next: Array,
    theta_star: Array,
    G_k: Array,
    D_k: Array,
    bz: Array,
    LM: Array,
    *,
    dt: Any,
    a: Any,
) -> dict[str, Array]:
    """Gram row of theta_{k+1} with theta_0..theta_k, by linearity (no pass).

    theta_{k+1} = a theta_k - dt theta* G_k^T - dt sum_i theta_i D_k[i]^T
    - zeta LM_k^T, so theta_{k+1}^T theta_j / N = a C[k, j] - dt G_k m_j^T
    - dt sum_i D_k[i] C[i, j] - LM_k BZ[j]^T with m_j = theta_j^T theta* / N
    and BZ[j] = theta_j^T zeta / N.
    """
    n = theta_next.shape[0]
    k, Q = bz.shape
    n_times = c["Ctt"].shape[0]
    lm_rows = lax.dynamic_slice(LM, (kk * k, 0), (k, Q))
    row = (
        a * c["Ctt"][kk]
        - dt * jnp.einsum("as,jbs->jab", G_k, c["mst"])
        - dt * jnp.einsum("iab,ijbc->jac", D_k, c["Ctt"])
        - jnp.einsum("aq,jbq->jab", lm_rows, c["BZ"])
    )
    row = jnp.where((jnp.arange(n_times) <= kk)[:, None, None], row, 0.0)
    # out of range at the last step: JAX drops out-of-bounds updates
    row = row.at[kk + 1].set(theta_next.T @ theta_next / n)
    Ctt = c["Ctt"].at[kk + 1].set(row).at[:, kk + 1].set(jnp.swapaxes(row, 1, 2))
    mst = c["mst"].at[kk + 1].set(theta_next.T @ theta_star / n)
    return dict(Ctt=Ctt, mst=mst, BZ=c["BZ"].at[kk + 1].set(bz))


def _complete_bz(
    c: dict[str, Array], zeta: Array, begin: int, J: int, *, k: int, n_prev: int
) -> Array:
    """Fill BZ[j] = theta_j^T zeta / N, j <= begin, in the columns block J adds.

    Within a block, BZ rows are computed on that block's columns only; the
    Gram recursion needs every column a later noise row can touch.
    """
    n = zeta.shape[0]
    lo, hi = n_prev, J * k
    if hi <= lo:
        return c["BZ"]
    cols = zeta[:, lo:hi]
    from_hist = (c["theta_hist"] @ cols / n).reshape(J, k, hi - lo)
    pending = c["theta_k"].T @ cols / n  # theta_begin, not yet in the history
    blocks = from_hist.at[begin].set(pending)
    return c["BZ"].at[:J, :, lo:hi].set(blocks)


@functools.partial(
    jax.jit,
    static_argnames=("model", "n_steps", "n_samples", "n_blocks", "response", "mesh"),
)
def solve_causal(
    key: KeyArray,
    delta: Array,
    tau: Array,
    theta_star: Array,
    state0: Array,
    dts: Array,
    *,
    model: Any,
    n_steps: int,
    n_samples: int,
    independent: Any = False,
    n_blocks: int = 1,
    response: str = "stein",
    mesh: Any = None,
) -> dict[str, Array]:
    """March the DMFT forward in time in one pass (causal solution).

    ``theta_star`` (N, k*) and ``state0`` (N, s) come from :func:`draw_priors`,
    ``dts`` (K,) are the grid's steps. ``independent`` (traced) selects the
    negative-control noise kernel (Monte Carlo sample side only).
    ``response="tangent"`` measures R from a forward-mode tangent of each
    sample driven by the independent probe ``eta`` (see ``DMFTConfig``); the
    field U is then sampled with a floor far below its scale.
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
    linear = model.linear_noise_std is not None
    ell = ell_function(model)
    dtype = theta_star.dtype
    ts, dts_ext = step_sizes(jnp.asarray(dts, dtype))
    tangent = response == "tangent"
    draws = Draws(
        model,
        key,
        N,
        K,
        dts_ext,
        theta_star,
        state0,
        sample_side=not linear,
        tangent=tangent,
        mesh=mesh,
    )
    theta_star = draws.theta_star
    delta = jnp.asarray(delta, dtype)
    tau = jnp.asarray(tau, dtype)
    independent = jnp.asarray(independent, bool)

    def placed(c: dict[str, Any]) -> dict[str, Any]:
        """The carry with its sample axes on the mesh (as is without one)."""
        if mesh is None:
            return c
        out = dict(c)
        rows = ("state", "theta_k", "dz_prev", "ell_prev", "dstate", "dtheta_k")
        hists = ("theta_hist", "dz_hist", "ell_hist", "dtheta_hist")
        for name in rows:
            if name in c:
                out[name] = on_samples(c[name], mesh)
        for name in hists:
            if name in c:
                out[name] = on_samples(c[name], mesh, dim=1)
        return out

    # A linear parameter side (no state_step, readout or reg_grad) with the
    # Stein response and a Monte Carlo sample side makes theta_{k+1} = decay
    # theta_k - dt theta* G_k^T - dt sum_i theta_i D_k[i]^T - zeta LM_k^T a
    # fixed linear combination of the columns of the basis B = (theta_0,
    # theta*, zeta). The parameter side is then carried as the coefficients
    # F_k (theta_k = B F_k, an (m, k) matrix, m = k + k* + Q) and every
    # sample average it needs is F^T S F with the basis Gram S = B^T B / N,
    # computed once: the three O(J N) passes a step of the parameter side
    # (memory term, noise, response) become O(J m k^2) work on small arrays,
    # and theta is formed per sample only once, at the end. Exact up to
    # rounding. Other models keep the per-sample parameter side below.
    coef_side = (
        _exact_response(model) and model.readout is None and not tangent and not linear
    )
    if coef_side:
        basis = (jnp.asarray(draws.state0, dtype), theta_star, draws.zeta)
        # The Grams of _N_GROUPS disjoint groups of samples (for batch-means
        # standard errors) and of the whole basis, in one pass over it.
        S_groups, S = _group_grams(basis, _N_GROUPS)
        S = S / N
        m_dim = S.shape[0]
        i_star, i_zeta = slice(k, k + ks), slice(k + ks, m_dim)
        gram_probe, _ = _cholesky_rows(S[i_zeta, i_zeta])
    else:
        gram_probe = _gram_cholesky(draws.eta if tangent else draws.zeta)
    cov_star = theta_star.T @ theta_star / N
    bad = jnp.asarray(False)
    if linear:
        sigma = jnp.asarray(model.linear_noise_std, dtype)
        c_vec = dts_ext / delta
        b_noise = jnp.sqrt(tau / delta)
        bdt = b_noise * dts_ext
        L = jnp.zeros((0, 0), dtype)
        gram_xi = L
        w_star = theta_star[:, :0]
    else:
        gram_xi = _gram_cholesky(draws.xi)
        # Teacher rows of the sample-side Cholesky factor.
        L = jnp.eye(P, dtype=dtype)
        for a in range(ks):
            L, cv = _extend_cholesky(
                L, a, jnp.zeros(P, dtype).at[:ks].set(cov_star[a]), cov_star[a, a]
            )
            bad = bad | _psd_violation(cv, cov_star[a, a])
        w_star = draws.xi[:, :ks] @ L[:ks, :ks].T

    # A linear parameter side (no state_step, readout or reg_grad) makes
    # theta_{k+1} a known linear combination of theta_k, theta*, the history
    # and dU_k, so its Gram row with the history follows from earlier Gram
    # rows, overlaps and theta_j^T zeta (already computed for the response):
    # one pass over the O(J N) history a step fewer. Exact up to rounding.
    # (It needs theta^T zeta, a by-product of the Stein response only.)
    gram_recursion = (
        _exact_response(model)
        and model.readout is None
        and not tangent
        and not coef_side
    )

    def block_step(J: int) -> Callable[..., tuple[dict[str, Any], Array]]:
        """The step for times ``kk < J``, on histories of ``J`` times."""
        P_J, Q_J = ks + J * k, J * k
        zeta_J = None if coef_side else draws.zeta[:, :Q_J]
        eta_J = draws.eta[:, :Q_J] if tangent else None
        xi_J = None if linear else draws.xi[:, :P_J]
        live = jnp.arange(J)

        def per_sample_side(
            c: dict[str, Any],
            kk: Array,
            t: Array,
            dt: Array,
            theta_hist: Array,
            dtheta_hist: Array | None,
            D_k: Array,
            G_k: Array,
            LM: Array,
        ) -> tuple[dict[str, Any], Array, Array]:
            """5-6. theta_{k+1} sample by sample, and the response row k+1."""
            assert zeta_J is not None
            new: dict[str, Any] = {}
            dU = zeta_J @ lax.dynamic_slice(LM, (kk * k, 0), (k, Q_J)).T
            # 5. Parameter side: theta_{k+1}.
            memory = _apply_row(D_k[:J], theta_hist)
            force = -dt * (theta_star @ G_k.T + memory) - dU
            if tangent:
                # 5'-6. The tangent of every sample under the memory of its own
                # tangent plus a unit probe kick eta_k; R[k+1, j] is the
                # regression coefficient of the tangent on eta_j.
                assert eta_J is not None
                assert dtheta_hist is not None
                dforce = -dt * _apply_row(D_k[:J], dtheta_hist) + lax.dynamic_slice(
                    eta_J, (0, kk * k), (N, k)
                )
                state_next, dstate_next = jax.jvp(
                    lambda s, f: _param_step(model, t, s, f, dt),
                    (c["state"], force),
                    (c["dstate"], dforce),
                )
                theta_next, dtheta_next = jax.jvp(
                    lambda s: _readout(model, s), (state_next,), (dstate_next,)
                )
                bz = jnp.pad(dtheta_next.T @ eta_J / N, ((0, 0), (0, Q - Q_J)))
                cz = jax.vmap(lambda bb: _regress(gram_probe, None, bb, (kk + 1) * k))(
                    bz
                )
                R_next = jnp.transpose(cz.reshape(k, K + 1, k), (1, 0, 2))
                new.update(
                    dstate=dstate_next,
                    dtheta_k=dtheta_next.astype(dtype),
                    dtheta_hist=dtheta_hist,
                )
            else:
                state_next = _param_step(model, t, c["state"], force, dt)
                theta_next = _readout(model, state_next)
                # 6. Response row k+1 by Gaussian integration by parts on the
                # parameter side: the kick H_j enters exactly like -dU_j.
                bz = jnp.pad(theta_next.T @ zeta_J / N, ((0, 0), (0, Q - Q_J)))
                cz = jax.vmap(lambda bb: _regress(gram_probe, LM, bb, (kk + 1) * k))(bz)
                R_next = -jnp.transpose(cz.reshape(k, K + 1, k), (1, 0, 2))
            if gram_recursion:
                decay = 1.0 - dt * model.ridge
                new.update(
                    _next_gram_row(
                        c, kk, theta_next, theta_star, G_k, D_k, bz, LM, dt=dt, a=decay
                    )
                )
            new.update(state=state_next, theta_k=theta_next, theta_hist=theta_hist)
            return new, R_next, jnp.all(jnp.isfinite(theta_next))

        def step(c: dict[str, Any], kk: Array) -> tuple[dict[str, Any], Array]:
            t = ts[kk]
            dt = dts_ext[kk]
            prev = jnp.maximum(kk - 1, 0)  # at kk = 0 this writes zeros over zeros
            if not coef_side:
                theta_k = c["theta_k"]
                theta_hist = _put_rows(c["theta_hist"], kk, theta_k)
            new: dict[str, Any] = {}
            dtheta_hist = None
            if tangent:
                dtheta_hist = _put_rows(c["dtheta_hist"], kk, c["dtheta_k"])
            # 1. Second moments of theta_k with the history and the teacher.
            if coef_side:
                # theta_k^T theta_j / N = F_k^T S F_j = (S F_k)^T F_j.
                sf_k = c["SF"][kk]
                C_row = jnp.einsum("ma,jmb->jab", sf_k, c["F"][: K + 1])
                C_row = jnp.where((jnp.arange(K + 1) <= kk)[:, None, None], C_row, 0.0)
                m_k = sf_k[i_star].T
            elif gram_recursion:
                C_row, m_k = c["Ctt"][kk], c["mst"][kk]
            else:
                cov_time = _cross_row(theta_k, theta_hist) / N
                cov_time = jnp.where((live <= kk)[:, None, None], cov_time, 0.0)
                C_row, m_k = _pad_rows(cov_time, K + 1), theta_k.T @ theta_star / N
            psd_bad = jnp.asarray(False)
            if linear:
                # 2-4. The sample side in closed form (k = k* = 1).
                m_hist = c["m_hist"].at[kk].set(m_k[0, 0])
                Ca = C_row[:, 0, 0] - m_k[0, 0] - m_hist + cov_star[0, 0] + sigma**2
                Ca = jnp.where(jnp.arange(K + 1) <= kk, Ca, 0.0)
                lin, D_row, M_row, G_0 = linear_sample_row(
                    c["lin"], kk, c["R"][kk, :, 0, 0], Ca, c_vec, bdt, b_noise, delta
                )
                D_k = D_row[:, None, None]
                G_k = jnp.reshape(G_0, (1, 1))
                M_k = M_row[:, None, None]
                losses = 0.5 * lin["Q"][kk, kk]
                ell_k = jnp.zeros((N, k), dtype)
                new.update(m_hist=m_hist, lin=lin)
            else:
                assert xi_J is not None
                dz_hist = _put_rows(c["dz_hist"], prev, c["dz_prev"])
                ell_hist = _put_rows(c["ell_hist"], prev, c["ell_prev"])
                # 1'. Extend the sample-side factor by the k rows of w_k.
                rows = _flat_row(m_k, C_row)
                L = c["L"]
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
                # 4. Noise kernel row k.
                M_k = _m_row(
                    dz_k,
                    ell_k,
                    dz_hist,
                    ell_hist,
                    delta=delta,
                    tau=tau,
                    dt=dt,
                    dts_hist=dts_ext[:J],
                    k_idx=kk,
                    independent=independent,
                )
                M_k = _pad_rows(jnp.where((live <= kk)[:, None, None], M_k, 0.0), K + 1)
                new.update(dz_prev=dz_k, dz_hist=dz_hist, ell_hist=ell_hist, L=L)
            # 4'. The noise kernel's Cholesky rows.
            M = c["M"].at[kk].set(M_k).at[:, kk].set(jnp.swapaxes(M_k, 1, 2))
            mrows = jnp.transpose(M_k, (1, 0, 2)).reshape(k, Q)
            LM = c["LM"]
            m_scale = c["m_scale"]
            for a in range(k):
                idx = kk * k + a
                if tangent:
                    m_scale = jnp.maximum(m_scale, jnp.abs(mrows[a, idx]))
                    LM, cv = _extend_cholesky(
                        LM,
                        idx,
                        mrows[a],
                        mrows[a, idx],
                        m_scale,
                        _tangent_jitter(dtype),
                    )
                else:
                    LM, cv = _extend_cholesky(LM, idx, mrows[a], mrows[a, idx])
                psd_bad = psd_bad | _psd_violation(cv, mrows[a, idx])
            if coef_side:
                # 5. Parameter side: the coefficients of theta_{k+1}; 6. its
                # products with zeta (S F_{k+1}), for the response row k+1 by
                # Gaussian integration by parts (the kick H_j enters like -dU_j).
                lm_rows = lax.dynamic_slice(LM, (kk * k, 0), (k, Q))
                memory = jnp.einsum("imb,iab->ma", c["F"][: K + 1], D_k)
                f_next = (1.0 - dt * model.ridge) * c["F"][kk] - dt * memory
                f_next = f_next.at[i_star].add(-dt * G_k.T).at[i_zeta].add(-lm_rows.T)
                sf_next = S @ f_next
                bz = sf_next[i_zeta].T  # theta_{k+1}^T zeta / N
                cz = jax.vmap(lambda bb: _regress(gram_probe, LM, bb, (kk + 1) * k))(bz)
                R_next = -jnp.transpose(cz.reshape(k, K + 1, k), (1, 0, 2))
                finite = jnp.all(jnp.isfinite(f_next))
                new.update(F=c["F"].at[kk + 1].set(f_next))
                new.update(SF=c["SF"].at[kk + 1].set(sf_next))
            else:
                new_side, R_next, finite = per_sample_side(
                    c, kk, t, dt, theta_hist, dtheta_hist, D_k, G_k, LM
                )
                new.update(new_side)
            R = c["R"].at[kk + 1].set(R_next)
            finite = finite & jnp.all(jnp.isfinite(ell_k))
            now_bad = psd_bad | ~finite
            bad_idx = jnp.where((c["bad"] < 0) & now_bad, kk, c["bad"])
            new.update(
                ell_prev=ell_k,
                LM=LM,
                m_scale=m_scale,
                D=c["D"].at[kk].set(D_k),
                G=c["G"].at[kk].set(G_k),
                R=R,
                M=M,
                bad=bad_idx,
            )
            return placed(dict(c, **new)), losses

        return step

    # The (J k, N) histories are carried with the newest entry pending
    # (theta_k, dz_{k-1}, ell_{k-1} as (N, k) rows) and written at the start
    # of the next step: every read in a step then sees the updated buffer
    # and nothing reads the old one, so XLA updates them in place instead of
    # copying O(JN) data every step.
    ends = time_blocks(K, n_blocks)
    zeros_rows = jnp.zeros((N, k), dtype)
    c: dict[str, Any] = dict(
        ell_prev=zeros_rows,
        LM=jnp.eye(Q, dtype=dtype),
        m_scale=jnp.zeros((), dtype),
        D=jnp.zeros((K + 1, K + 1, k, k), dtype),
        G=jnp.zeros((K + 1, k, ks), dtype),
        R=jnp.zeros((K + 2, K + 1, k, k), dtype),
        M=jnp.zeros((K + 1, K + 1, k, k), dtype),
        bad=jnp.full((), -1),
    )
    histories = []
    if coef_side:
        # theta_0 = B F_0 with F_0 = (I_k, 0, 0); one spare row for theta_{K+1}.
        f0 = jnp.zeros((m_dim, k), dtype).at[:k].set(jnp.eye(k, dtype=dtype))
        c["F"] = jnp.zeros((K + 2, m_dim, k), dtype).at[0].set(f0)
        c["SF"] = jnp.zeros((K + 2, m_dim, k), dtype).at[0].set(S @ f0)
    else:
        c.update(
            state=draws.state0,
            theta_k=_readout(model, draws.state0).astype(dtype),
            theta_hist=_history(ends[0], N, k, dtype),
        )
        histories.append("theta_hist")
    if tangent:
        c.update(
            dstate=jnp.zeros_like(draws.state0),
            dtheta_k=zeros_rows,
            dtheta_hist=_history(ends[0], N, k, dtype),
        )
        histories.append("dtheta_hist")
    if linear:
        c["m_hist"] = jnp.zeros(K + 1, dtype)
        c["lin"] = linear_sample_init(K + 1, dtype)
    else:
        c.update(
            dz_prev=zeros_rows,
            dz_hist=_history(ends[0], N, k, dtype),
            ell_hist=_history(ends[0], N, k, dtype),
            L=L,
        )
        histories += ["dz_hist", "ell_hist"]
    if gram_recursion:
        theta0 = c["theta_k"]
        c["Ctt"] = (
            jnp.zeros((K + 1, K + 1, k, k), dtype).at[0, 0].set(theta0.T @ theta0 / N)
        )
        c["mst"] = jnp.zeros((K + 1, k, ks), dtype).at[0].set(theta0.T @ theta_star / N)
        c["BZ"] = jnp.zeros((K + 1, k, Q), dtype)
    losses_blocks = []
    begin = 0
    for J in ends:
        for name in histories:
            c[name] = _pad_rows(c[name], J * k)
        c = placed(c)
        if gram_recursion:
            c["BZ"] = _complete_bz(c, draws.zeta, begin, J, k=k, n_prev=begin * k)
        c, losses_b = lax.scan(block_step(J), c, jnp.arange(begin, J))
        losses_blocks.append(losses_b)
        begin = J
    losses = jnp.concatenate(losses_blocks)
    if linear:
        out = _summaries_flat(c["theta_hist"], None, k, theta_star, None)
        Qk = c["lin"]["Q"]
        out.update(
            C_ell=Qk[:, :, None, None],
            train=losses,
            train_se=_linear_train_se(
                c["theta_hist"],
                theta_star,
                c["R"][: K + 1, :, 0, 0],
                sigma=sigma,
                delta=delta,
                tau=tau,
                dts=dts_ext,
            ),
        )
    else:
        ell_hist = _put_rows(c["ell_hist"], K, c["ell_prev"])
        if coef_side:
            out = _summaries_coef(
                c["F"][: K + 1],
                c["SF"][: K + 1],
                S_groups,
                ell_hist,
                theta_star,
                losses,
            )
        else:
            out = _summaries_flat(c["theta_hist"], ell_hist, k, theta_star, losses)
    if coef_side:
        f_last = c["F"][K]
        theta_final = on_samples(
            basis[0] @ f_last[:k]
            + basis[1] @ f_last[k : k + ks]
            + basis[2] @ f_last[k + ks :],
            mesh,
        )
    else:
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


def _linear_train_se(
    theta_hist: Array,
    theta_star: Array,
    R: Array,
    *,
    sigma: Array,
    delta: Array,
    tau: Array,
    dts: Array,
) -> Array:
    """Batch-means standard error of the closed-form train loss (k = 1).

    The sample side is rerun on the moments of ``_N_GROUPS`` disjoint groups
    of parameter samples with the response held fixed, so it measures the
    Monte Carlo error the moments carry into the loss.
    """
    n = theta_star.shape[0]
    g = _N_GROUPS
    size = n // g
    J = theta_hist.shape[0]
    th = theta_hist[:, : size * g].reshape(J, g, size)
    st = theta_star[: size * g, 0].reshape(g, size)
    C_g = jnp.einsum("tgn,sgn->gts", th, th) / size
    m_g = jnp.einsum("tgn,gn->gt", th, st) / size
    rho_g = jnp.einsum("gn,gn->g", st, st) / size

    def train(C: Array, m: Array, rho: Array) -> Array:
        side = linear_sample_side(R, C, m, rho, sigma, delta, tau, dts)
        return 0.5 * jnp.diagonal(side["Q"])

    groups = jax.vmap(train)(C_g, m_g, rho_g)
    return groups.std(axis=0) / jnp.sqrt(g - 1.0)


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
    theta_hist: Array,
    ell_hist: Array | None,
    k: int,
    theta_star: Array,
    losses: Array | None,
) -> dict[str, Array]:
    """Moments of the (J k, N) histories, contracted in their stored layout.

    Products of the flat histories are plain matrix products (no (J, N, k)
    transposed copy of the O(J N k) buffers); only the small results are
    reshaped to (J, J, k, k) blocks. Without a sample-side history (closed-form
    sample side) the loss and ``C_ell`` entries are left out.
    """
    n = theta_star.shape[0]
    J = theta_hist.shape[0] // k

    def blocks(gram: Array) -> Array:
        return jnp.transpose(gram.reshape(J, k, J, k), (0, 2, 1, 3))

    C = blocks(theta_hist @ theta_hist.T / n)
    m = (theta_hist @ theta_star / n).reshape(J, k, -1)
    rho = theta_star.T @ theta_star / n
    sample: dict[str, Array] = {}
    if ell_hist is not None and losses is not None:
        sample = dict(
            C_ell=blocks(ell_hist @ ell_hist.T / n),
            train=losses.mean(axis=1),
            train_se=losses.std(axis=1) / jnp.sqrt(n),
        )
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
        rho=rho,
        **sample,
        C_groups=C_groups,
        m_groups=m_groups,
        rho_groups=rho_groups,
    )


def _group_grams(parts: tuple[Array, ...], groups: int) -> tuple[Array, Array]:
    """Grams of B = [parts...] (columns side by side), block by block.

    Returns the (unnormalised) Grams of ``groups`` consecutive, equal groups
    of rows, shape (groups, m, m), and the Gram B^T B of all rows (their sum
    plus that of the leftover rows). B itself is not formed.
    """
    n = parts[0].shape[0]
    size = n // groups

    def gram(pieces: list[Array], spec: str, axis: int) -> Array:
        rows = [
            jnp.concatenate([jnp.einsum(spec, a, b) for b in pieces], axis=axis)
            for a in pieces
        ]
        return jnp.concatenate(rows, axis=axis - 1)

    split = [p[: size * groups].reshape(groups, size, -1) for p in parts]
    per_group = gram(split, "gna,gnb->gab", 2)
    total = per_group.sum(axis=0)
    if n > size * groups:
        total = total + gram([p[size * groups :] for p in parts], "na,nb->ab", 1)
    return per_group, total


def _summaries_coef(
    F: Array,
    SF: Array,
    S_groups: Array,
    ell_hist: Array,
    theta_star: Array,
    losses: Array,
) -> dict[str, Array]:
    """:func:`_summaries_flat` for theta_t = B F_t (basis B, SF_t = S F_t).

    Every moment of theta is F^T (B^T B / N) F: no (J k, N) history of theta
    is formed. The batch-means groups use the Gram of each group's rows of B
    (``S_groups``, unnormalised).
    """
    n, k = theta_star.shape[0], F.shape[2]
    ks = theta_star.shape[1]
    star = slice(k, k + ks)
    g = _N_GROUPS
    S_groups = S_groups / (n // g)
    SgF = jnp.einsum("gml,tlb->gtmb", S_groups, F)
    return dict(
        C=jnp.einsum("tma,smb->tsab", F, SF),
        m=jnp.transpose(SF[:, star, :], (0, 2, 1)),
        rho=theta_star.T @ theta_star / n,
        C_ell=_blocks(ell_hist @ ell_hist.T / n, k),
        train=losses.mean(axis=1),
        train_se=losses.std(axis=1) / jnp.sqrt(n),
        C_groups=jnp.einsum("tma,gtmb->gtab", F, SgF),
        m_groups=jnp.einsum("tma,gms->gtas", F, S_groups[:, :, star]),
        rho_groups=S_groups[:, star, star],
    )


def _blocks(gram: Array, k: int) -> Array:
    """A (J k, J k) Gram -> (J, J, k, k) blocks."""
    J = gram.shape[0] // k
    return jnp.transpose(gram.reshape(J, k, J, k), (0, 2, 1, 3))


# --------------------------------------------------------------------------- #
# Damped fixed-point solver
# --------------------------------------------------------------------------- #


@functools.partial(
    jax.jit,
    static_argnames=(
        "model",
        "n_steps",
        "n_samples",
        "independent",
        "response",
        "mesh",
    ),
)
def fixed_point_map(
    key: KeyArray,
    delta: Array,
    tau: Array,
    sigma_in: Array,
    R_in: Array,
    theta_star: Array,
    state0: Array,
    dts: Array,
    *,
    model: Any,
    n_steps: int,
    n_samples: int,
    independent: bool = False,
    response: str = "stein",
    mesh: Any = None,
) -> dict[str, Array]:
    """One application of the DMFT map (Sigma, R) -> (Sigma', R') (fixed point).

    ``sigma_in`` is the second-moment matrix of ``(theta*, theta_0, ...,
    theta_K)`` in the flattened ordering, ``R_in`` the response (K+1, K+1, k,
    k). The same key gives the same draws in every iteration (common random
    numbers), so the map is deterministic. The sample side is always Monte
    Carlo here (also for a model with ``linear_noise_std``: an independent
    check of the causal solver's closed form).
    """
    K, N = n_steps, n_samples
    k, ks = model.k, model.k_star
    Q = (K + 1) * k
    ell = ell_function(model)
    dtype = theta_star.dtype
    ts, dts_ext = step_sizes(jnp.asarray(dts, dtype))
    tangent = response == "tangent"
    draws = Draws(
        model, key, N, K, dts_ext, theta_star, state0, tangent=tangent, mesh=mesh
    )
    theta_star = draws.theta_star
    delta = jnp.asarray(delta, dtype)
    tau = jnp.asarray(tau, dtype)
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
        t = ts[kk]
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
            dt=dts_ext[kk],
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
        c_t = dts_ext / delta
        quenched = (
            delta
            * (c_t[:, None, None, None] * c_t[None, :, None, None])
            * jnp.einsum("tna,snb->tsab", ell_hist, ell_hist)
            / N
        )
        white = (
            tau
            * dts_ext[:, None, None]
            * jnp.einsum("tna,tnb->tab", ell_hist, ell_hist)
            / N
        )
        M = quenched + jnp.eye(K + 1)[:, :, None, None] * white[:, None, :, :]
    else:
        M = delta * jnp.einsum("tna,snb->tsab", dz_hist, dz_hist) / N
    M_flat = jnp.transpose(M, (0, 2, 1, 3)).reshape(Q, Q)
    LM, condM = _cholesky_rows(M_flat, tangent=tangent)
    psd_bad = psd_bad | jnp.any(_psd_violation(condM, jnp.diagonal(M_flat)))
    dU_all = draws.zeta @ LM.T
    dU = jnp.transpose(dU_all.reshape(N, K + 1, k), (1, 0, 2))
    probe = draws.eta if tangent else draws.zeta
    kicks = jnp.transpose(probe.reshape(N, K + 1, k), (1, 0, 2))

    def param_step(carry: Any, kk: Array) -> tuple[Any, None]:
        # theta_k is pending and written first (see solve_causal).
        state, theta_k, theta_hist, dstate, dtheta_k, dtheta_hist = carry
        theta_hist = _put_rows(theta_hist, kk, theta_k)
        t, dt = ts[kk], dts_ext[kk]
        memory = _apply_row(D[kk], theta_hist)
        force = -dt * (theta_star @ G[kk].T + memory) - dU[kk]
        if not tangent:
            state_next = _param_step(model, t, state, force, dt)
            theta_next = _readout(model, state_next)
            return (
                state_next,
                theta_next,
                theta_hist,
                dstate,
                dtheta_k,
                dtheta_hist,
            ), None
        dtheta_hist = _put_rows(dtheta_hist, kk, dtheta_k)
        dforce = -dt * _apply_row(D[kk], dtheta_hist) + kicks[kk]
        state_next, dstate = jax.jvp(
            lambda s, f: _param_step(model, t, s, f, dt),
            (state, force),
            (dstate, dforce),
        )
        theta_next, dtheta_next = jax.jvp(
            lambda s: _readout(model, s), (state_next,), (dstate,)
        )
        carry = (state_next, theta_next, theta_hist, dstate, dtheta_next, dtheta_hist)
        return carry, None

    zeros_hist = _history(K + 1, N, k, dtype) if tangent else jnp.zeros((0, N), dtype)
    (_, theta_last, theta_hist, _, _, dtheta_hist), _ = lax.scan(
        param_step,
        (
            draws.state0,
            _readout(model, draws.state0).astype(dtype),
            _history(K + 1, N, k, dtype),
            jnp.zeros_like(draws.state0),
            jnp.zeros((N, k), dtype),
            zeros_hist,
        ),
        jnp.arange(K + 1),
    )
    thetas = _sample_major(theta_hist, k)
    gram_probe = _gram_cholesky(probe)
    ends_z = jnp.arange(K + 1) * k
    if tangent:
        dthetas = _sample_major(dtheta_hist, k)
        bz = jnp.einsum("tna,nq->taq", dthetas, probe) / N
        cz = jax.vmap(
            lambda bt, e: jax.vmap(lambda bb: _regress(gram_probe, None, bb, e))(bt)
        )(bz, ends_z)
        R_out = jnp.transpose(cz.reshape(K + 1, k, K + 1, k), (0, 2, 1, 3))
    else:
        bz = jnp.einsum("tna,nq->taq", thetas, probe) / N
        cz = jax.vmap(
            lambda bt, e: jax.vmap(lambda bb: _regress(gram_probe, LM, bb, e))(bt)
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

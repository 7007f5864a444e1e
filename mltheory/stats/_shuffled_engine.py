"""The batched engine behind :mod:`mltheory.stats.shuffled` (host code, NumPy).

Every procedure of the module (the multi-start LAP estimator, the repro-samples
localisation, the null copies of the conditional Monte Carlo test) runs the
same alternation on a *batch* of problems that share one design ``X``:

1. assignment step: for the current coefficients, the permutation solving the
   linear assignment problem with cost
   ``C_ij = (Y_i - o_i - a_i - g_j)^2 + lam * 1{i != j}``, where ``a_i`` is the
   fitted value of the columns that are not permuted and ``g_j`` that of the
   permuted columns at row ``j``;
2. refit step: least squares (or ridge) of ``Y`` on the permuted design, with
   the Monte Carlo noise draw ``e`` as one more regressor in the repro-samples
   matching (its coefficient, the noise scale, clipped at 0).

All assignment steps of a batch go to one call of
:func:`mltheory.numerics.solve_assignment_sq_diff` (numba, parallel over the
batch), which builds each problem's cost inside the solver.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from mltheory import numerics

__all__ = [
    "Alternation",
    "Design",
    "alternate",
    "assign",
    "auto_penalty_factor",
    "fit_batch",
    "hamming",
    "objective",
    "pilot_coefs",
    "refit",
    "residuals",
]


def auto_penalty_factor(n: int) -> float:
    """``c_h`` of ``penalty="auto"``: ``lambda_h = c_h * sigma_hat^2``.

    ``c_h = 2 log n``. A swap of two rows pays ``2 lambda_h`` and gains at most
    ``(e_i - e_j)^2 / 2`` from the noise, which exceeds ``4 sigma^2`` for some of
    the O(n^2) pairs of nearby fitted values; a factor growing like ``log n``
    (a union bound over the pairs, as in BIC) keeps such spurious swaps rare,
    where the fixed factor 2 swapped near-tied rows in most data sets of size
    30-40 on our checks.
    """
    return 2.0 * math.log(max(n, 2))


# median |N(0, 1)|: turns a median absolute residual into a scale estimate.
_MAD_TO_SD = 1.0 / 0.6744897501960817


@dataclasses.dataclass(frozen=True)
class Design:
    """A validated design shared by a batch of problems.

    ``permuted`` marks the columns whose rows are mismatched (all of them in
    the fully permuted model); ``movable`` marks the rows that may move
    (``None``: all); ``ridge`` is the per-column ridge penalty (0 for an
    intercept column).
    """

    X: np.ndarray
    permuted: np.ndarray
    movable: np.ndarray | None
    ridge: np.ndarray

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def dof(self) -> int:
        # Residual degrees of freedom; at least 1 so that ridge fits with
        # n <= p still give a finite (if crude) variance.
        return max(self.n - self.p, 1)


@dataclasses.dataclass(frozen=True)
class Alternation:
    """State of a batch after the alternation (arrays over the batch)."""

    perm: np.ndarray  # (N, n) int64
    coef: np.ndarray  # (N, p)
    scale: np.ndarray  # (N,) coefficient of the noise draw (0 without draws)
    penalty: np.ndarray  # (N,) Hamming penalty used last
    n_iter: np.ndarray  # (N,) int64
    converged: np.ndarray  # (N,) bool


def hamming(perm: np.ndarray) -> np.ndarray:
    """Number of moved rows of each permutation (last axis)."""
    return np.sum(perm != np.arange(perm.shape[-1]), axis=-1)


def _design_batch(design: Design, perm: np.ndarray) -> np.ndarray:
    """Per-problem design (N, n, p): permuted columns take rows ``perm``."""
    X = design.X
    permuted_rows = X[perm]  # (N, n, p)
    if design.permuted.all():
        return permuted_rows
    fixed = np.broadcast_to(X, permuted_rows.shape)
    return np.where(design.permuted, permuted_rows, fixed)


def refit(
    design: Design,
    Y: np.ndarray,
    perm: np.ndarray,
    *,
    draws: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Least squares / ridge of ``Y`` on the permuted design (+ the draw).

    Returns ``(coef (N, p), scale (N,))``; ``scale`` is the coefficient of
    ``draws`` clipped at 0 (a noise scale cannot be negative; where the
    unconstrained one is negative the fit is redone without the draw).
    """
    D = _design_batch(design, perm)
    ridge = np.diag(design.ridge)
    gram = np.einsum("bni,bnj->bij", D, D) + ridge
    rhs = np.einsum("bni,bn->bi", D, Y)
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    scale = np.zeros(Y.shape[0])
    if draws is None:
        return coef, scale
    p = design.p
    Daug = np.concatenate([D, draws[..., None]], axis=2)
    gram_aug = np.einsum("bni,bnj->bij", Daug, Daug)
    gram_aug[:, :p, :p] += ridge
    rhs_aug = np.einsum("bni,bn->bi", Daug, Y)
    sol = np.linalg.solve(gram_aug, rhs_aug[..., None])[..., 0]
    positive = sol[:, p] > 0
    coef = np.where(positive[:, None], sol[:, :p], coef)
    scale = np.where(positive, sol[:, p], 0.0)
    return coef, scale


def residuals(
    design: Design,
    Y: np.ndarray,
    perm: np.ndarray,
    coef: np.ndarray,
    *,
    draws: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """``Y - (Pi X) beta - scale * draws`` for every problem (N, n)."""
    fitted = np.einsum("bnp,bp->bn", _design_batch(design, perm), coef)
    res = Y - fitted
    if draws is not None and scale is not None:
        res = res - scale[:, None] * draws
    return res


def objective(
    design: Design,
    Y: np.ndarray,
    perm: np.ndarray,
    coef: np.ndarray,
    penalty: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(RSS, RSS + ridge |beta|^2 + penalty * h(perm))`` per problem."""
    res = residuals(design, Y, perm, coef)
    rss = np.sum(res**2, axis=1)
    ridge_term = np.sum(design.ridge * coef**2, axis=1)
    return rss, rss + ridge_term + penalty * hamming(perm)


def assign(
    design: Design,
    target: np.ndarray,
    coef: np.ndarray,
    penalty: np.ndarray,
) -> np.ndarray:
    """The assignment step for a batch: the optimal permutation of each problem.

    ``target`` is ``Y - offset`` (N, n). Rows that may not move keep their
    place; the assignment problem is solved on the movable rows only (a
    movable row cannot take the place of a fixed one, whose row is taken).
    """
    X = design.X
    fixed_cols = ~design.permuted
    a = np.einsum("np,bp->bn", X[:, fixed_cols], coef[:, fixed_cols])
    g = np.einsum("np,bp->bn", X[:, design.permuted], coef[:, design.permuted])
    r = target - a
    n = design.n
    rows = np.arange(n) if design.movable is None else np.flatnonzero(design.movable)
    perm = np.broadcast_to(np.arange(n), target.shape).copy()
    if design.movable is not None:
        r, g = np.ascontiguousarray(r[:, rows]), np.ascontiguousarray(g[:, rows])
    # The costs (r_i - g_j)^2 + penalty * [i != j] are built inside the
    # parallel solver, problem by problem: a (batch, m, m) cost array would
    # cost more memory traffic than the assignments themselves.
    cols = numerics.solve_assignment_sq_diff(r, g, off_diagonal=penalty)
    perm[:, rows] = rows[cols]
    return perm


def _robust_penalty(res: np.ndarray) -> np.ndarray:
    """``auto_penalty_factor(n) * sigma_hat^2`` with sigma_hat from the MAD.

    A median is used while the alignment is still wrong: the few mismatched
    rows have huge residuals that would inflate a mean and freeze the
    assignment at the identity.
    """
    sigma = _MAD_TO_SD * np.median(np.abs(res), axis=1)
    return auto_penalty_factor(res.shape[1]) * sigma**2


def alternate(
    design: Design,
    Y: np.ndarray,
    perm: np.ndarray,
    coef: np.ndarray,
    *,
    penalty: np.ndarray | None,
    max_iter: int,
    draws: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    fixed_scale: bool = False,
    start_is_fit: bool = False,
) -> Alternation:
    """Alternate assignment and refit steps on a batch until nothing moves.

    ``penalty=None`` re-estimates the Hamming penalty robustly before every
    assignment step (the first pass of ``penalty="auto"``). A problem stops
    when its assignment step returns the permutation of the previous step.
    With ``draws``, the offset is ``scale * draws``: ``scale`` is re-estimated
    by the augmented regression at every refit, or kept as given when
    ``fixed_scale``. ``start_is_fit`` says that ``coef`` (and ``scale``) are
    already the refit at ``perm``: then a first assignment step that returns
    ``perm`` is a fixed point and the problem stops without a confirming step.
    """
    N = Y.shape[0]
    perm = perm.copy()
    coef = coef.copy()
    scale = np.zeros(N) if scale is None else scale.copy()
    lam = np.zeros(N) if penalty is None else penalty.astype(float).copy()
    n_iter = np.zeros(N, dtype=np.int64)
    converged = np.zeros(N, dtype=bool)
    active = np.arange(N)
    for it in range(max_iter):
        if active.size == 0:
            break
        Ya = Y[active]
        dr = None if draws is None else draws[active]
        target = Ya if dr is None else Ya - scale[active, None] * dr
        if penalty is None:
            res = residuals(
                design, Ya, perm[active], coef[active], draws=dr, scale=scale[active]
            )
            lam[active] = _robust_penalty(res)
        new_perm = assign(design, target, coef[active], lam[active])
        same = np.all(new_perm == perm[active], axis=1) & (it > 0 or start_is_fit)
        if fixed_scale or dr is None:
            new_coef, _ = refit(design, target, new_perm)
            new_scale = scale[active]
        else:
            new_coef, new_scale = refit(design, Ya, new_perm, draws=dr)
        perm[active] = new_perm
        coef[active] = new_coef
        scale[active] = new_scale
        n_iter[active] += 1
        converged[active[same]] = True
        active = active[~same]
    return Alternation(perm, coef, scale, lam, n_iter, converged)


def pilot_coefs(
    design: Design, Y: np.ndarray, subsets: np.ndarray | None
) -> np.ndarray:
    """Pilot coefficients (N, S, p): OLS at the identity, then subset fits.

    ``subsets`` is a list of row-index arrays of one length padded by -1
    (shape (S-1, size)); the same subsets serve every problem of the batch,
    so the estimator stays a fixed function of ``Y``.
    """
    N = Y.shape[0]
    identity = np.broadcast_to(np.arange(design.n), Y.shape)
    base, _ = refit(design, Y, identity)
    pilots = [base[:, None, :]]
    if subsets is not None and subsets.shape[0] > 0:
        X = design.X
        mask = subsets >= 0
        idx = np.where(mask, subsets, 0)
        Xs = X[idx] * mask[..., None]  # (S, size, p), padded rows zeroed
        pinv = np.linalg.pinv(Xs)  # (S, p, size)
        Ys = Y[:, idx] * mask  # (N, S, size)
        pilots.append(np.einsum("spk,nsk->nsp", pinv, Ys))
    out = np.concatenate(pilots, axis=1)
    assert out.shape[0] == N
    return out


def fit_batch(
    design: Design,
    Y: np.ndarray,
    *,
    penalty: float | None,
    pilots: np.ndarray,
    max_iter: int,
) -> tuple[Alternation, np.ndarray, np.ndarray, np.ndarray]:
    """The multi-start LAP estimator on a batch of responses ``Y`` (N, n).

    ``pilots`` (N, S, p) are the starting coefficients. ``penalty=None``
    means ``"auto"``: a first pass with the robust penalty, then
    ``lam = auto_penalty_factor(n) * min_s RSS_s / dof`` for every start and a
    second pass with that fixed penalty, so that all starts are compared on
    one objective. The identity with its OLS fit is always a candidate, so
    the chosen objective never exceeds the identity's.

    Returns the chosen state (N problems), its penalised objective, its RSS
    and the identity's penalised objective.
    """
    N, S, p = pilots.shape
    n = design.n
    Yrep = np.repeat(Y, S, axis=0)
    identity = np.broadcast_to(np.arange(n), (N * S, n))
    coef0 = pilots.reshape(N * S, p)
    if penalty is None:
        first = alternate(
            design, Yrep, identity, coef0, penalty=None, max_iter=max_iter
        )
        rss1 = np.sum(residuals(design, Yrep, first.perm, first.coef) ** 2, axis=1)
        sigma2 = rss1.reshape(N, S).min(axis=1) / design.dof
        lam = np.repeat(auto_penalty_factor(n) * sigma2, S)
        state = alternate(
            design,
            Yrep,
            first.perm,
            first.coef,
            penalty=lam,
            max_iter=max_iter,
            start_is_fit=True,
        )
        state = dataclasses.replace(state, n_iter=state.n_iter + first.n_iter)
    else:
        lam = np.full(N * S, float(penalty))
        state = alternate(design, Yrep, identity, coef0, penalty=lam, max_iter=max_iter)
    rss, obj = objective(design, Yrep, state.perm, state.coef, lam)
    # The identity with its own (ridge) fit: start 0's pilot.
    id_coef = pilots[:, 0, :]
    id_rss, id_obj = objective(
        design, Y, identity[:N], id_coef, lam.reshape(N, S)[:, 0]
    )
    obj = obj.reshape(N, S)
    best = np.argmin(obj, axis=1)
    pick = np.arange(N) * S + best
    chosen = Alternation(
        perm=state.perm[pick],
        coef=state.coef[pick],
        scale=state.scale[pick],
        penalty=lam[pick],
        n_iter=state.n_iter[pick],
        converged=state.converged[pick],
    )
    best_obj = obj[np.arange(N), best]
    best_rss = rss.reshape(N, S)[np.arange(N), best]
    use_identity = id_obj < best_obj
    if use_identity.any():
        chosen = Alternation(
            perm=np.where(use_identity[:, None], identity[:N], chosen.perm),
            coef=np.where(use_identity[:, None], id_coef, chosen.coef),
            scale=chosen.scale,
            penalty=chosen.penalty,
            n_iter=chosen.n_iter,
            converged=chosen.converged | use_identity,
        )
        best_obj = np.minimum(best_obj, id_obj)
        best_rss = np.where(use_identity, id_rss, best_rss)
    return chosen, best_obj, best_rss, id_obj

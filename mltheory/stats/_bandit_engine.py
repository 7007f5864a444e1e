r"""numba loop of the sequential kernel policies (KernelUCB, GP-UCB, epsilon-greedy).

Each arm keeps a Gaussian-process / kernel-ridge posterior whose Cholesky
factor of :math:`K_n + \lambda I` grows by one bordered row per pull
(:func:`mltheory.numerics._numba.packed_append_row`), so a round costs
:math:`O(\sum_i n_i^2)` for the K forward substitutions: :math:`O(t^2)`, not
the :math:`O(t^3)` of refactorising. Kernel values come from
:mod:`mltheory.numerics` (computed in JAX, in blocks of rounds, by the
caller); this file only does the per-round linear algebra.

Imported lazily (numba compiles on first use and caches to disk).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from mltheory.numerics._numba import packed_append_row, packed_forward_solve

MODE_KERNEL_UCB = 0
MODE_GP_UCB = 1
MODE_GREEDY = 2


@numba.njit(cache=True, nogil=True)
def arm_posterior(
    pool: np.ndarray,
    rows: np.ndarray,
    n: int,
    z: np.ndarray,
    w: np.ndarray,
    kxx: float,
) -> tuple[float, float]:
    """Posterior mean and variance of one arm; ``z[:n]`` holds k(x, X_n) on entry.

    On exit ``z[:n] = L^{-1} k`` (reused by the update when this arm is
    pulled). ``w[:n] = L^{-1} y``, so the mean is ``z . w`` and the variance
    ``k(x, x) - |z|^2`` (negative rounding clipped at 0; a NaN, e.g. from an
    overflowing kernel value, is kept so that the round is reported).
    """
    packed_forward_solve(pool, rows, n, z, z)
    mean = 0.0
    sq = 0.0
    for r in range(n):
        mean += z[r] * w[r]
        sq += z[r] * z[r]
    var = kxx - sq
    return mean, 0.0 if var < 0.0 else var


@numba.njit(cache=True, nogil=True)
def choose(
    mode: int,
    t: int,
    mean: np.ndarray,
    var: np.ndarray,
    coef: float,
    delta: float,
    eps_c: float,
    u: float,
    random_arm: int,
    scores: np.ndarray,
) -> int:
    """Fill ``scores`` for round ``t`` (0-based) and return the chosen arm.

    Ties go to the lowest index; a non-finite score is returned as arm -1.
    """
    K = mean.shape[0]
    if mode == MODE_KERNEL_UCB:
        for i in range(K):
            scores[i] = mean[i] + coef * math.sqrt(var[i])
    elif mode == MODE_GP_UCB:
        s = t + 1.0
        beta = 2.0 * math.log(K * s * s * math.pi * math.pi / (6.0 * delta))
        root = math.sqrt(beta) if beta > 0.0 else 0.0
        for i in range(K):
            scores[i] = mean[i] + root * math.sqrt(var[i])
    else:
        for i in range(K):
            scores[i] = mean[i]
    best = 0
    for i in range(K):
        if not np.isfinite(scores[i]):
            return -1
        if scores[i] > scores[best]:
            best = i
    if mode == MODE_GREEDY:
        eps = min(1.0, eps_c * K / (t + 1.0))
        if u < eps:
            return random_arm
    return best


@numba.njit(cache=True, nogil=True)
def append_point(
    pool: np.ndarray,
    used: int,
    rows: np.ndarray,
    w: np.ndarray,
    n: int,
    z: np.ndarray,
    kxx: float,
    lam: float,
    y: float,
) -> tuple[np.ndarray, int, float]:
    """Add a pulled point to an arm's factor; ``z[:n] = L^{-1} k`` from the select.

    Returns the (possibly grown) pool, the new used length and the new
    diagonal entry (NaN if the kernel matrix is not positive definite).
    """
    sq = 0.0
    proj = 0.0
    for r in range(n):
        sq += z[r] * z[r]
        proj += z[r] * w[r]
    pool, start, diag = packed_append_row(pool, used, z, n, kxx + lam - sq)
    rows[n] = start
    w[n] = (y - proj) / diag
    return pool, start + n + 1, diag


@numba.njit(cache=True, nogil=True)
def run_block(
    kb: np.ndarray,
    kd: np.ndarray,
    t0: int,
    n_steps: int,
    means: np.ndarray,
    noise: np.ndarray,
    mode: int,
    lam: float,
    coef: float,
    delta: float,
    eps_c: float,
    u: np.ndarray,
    random_arms: np.ndarray,
    pool: np.ndarray,
    used: int,
    rows: np.ndarray,
    hist: np.ndarray,
    counts: np.ndarray,
    w: np.ndarray,
    z: np.ndarray,
    actions: np.ndarray,
) -> tuple[np.ndarray, int, int]:
    """Run rounds ``t0 .. t0 + n_steps - 1``; ``kb[i, j, s] = k(X_i(t0+j), X_i(s))``.

    ``kd[i, j] = k(X_i(t0+j), X_i(t0+j))`` (computed on the symmetric path, so
    that equal diagonals stay exactly equal and ties break the same way).

    Returns the pool, its used length and the first bad round (-1 if none).
    """
    K = means.shape[1]
    mean = np.empty(K)
    var = np.empty(K)
    scores = np.empty(K)
    for j in range(n_steps):
        t = t0 + j
        for i in range(K):
            n = counts[i]
            zi = z[i]
            for r in range(n):
                zi[r] = kb[i, j, hist[i, r]]
            mean[i], var[i] = arm_posterior(pool, rows[i], n, zi, w[i], kd[i, j])
        a = choose(mode, t, mean, var, coef, delta, eps_c, u[t], random_arms[t], scores)
        if a < 0:
            return pool, used, t
        n = counts[a]
        y = means[t, a] + noise[t, a]
        pool, used, diag = append_point(
            pool, used, rows[a], w[a], n, z[a], kd[a, j], lam, y
        )
        if not np.isfinite(diag):
            actions[t] = a
            return pool, used, t
        hist[a, n] = t
        counts[a] = n + 1
        actions[t] = a
    return pool, used, -1

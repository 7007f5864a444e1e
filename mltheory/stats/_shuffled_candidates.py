"""Repro-samples localisation: candidate sets of permutations.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    check_in,
    check_scalar,
)
from mltheory.stats import _shuffled_engine as engine
from mltheory.stats._shuffled_checks import (
    _as_rng,
    _check_bool,
    _check_movable,
    _check_permuted_cols,
    _check_xy,
    _make_design,
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_estimate import fit_lap
from mltheory.stats._shuffled_types import CandidateSet, Penalty, Rng

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# repro-samples localisation
# --------------------------------------------------------------------------- #
def repro_candidate_set(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    n_draws: int = 200,
    penalty: Penalty = "auto",
    inner_iter: int = 3,
    n_starts: int = 20,
    ridge: float = 0.0,
    movable: ArrayLike | None = None,
    permuted_cols: ArrayLike | None = None,
    k_max: int | None = None,
    offset_scale: Literal["sigma_hat", "fit"] = "sigma_hat",
    fit_intercept: bool = False,
    rng: Rng = 0,
) -> CandidateSet:
    r"""Localise the permutation to a small candidate set by repro samples.

    For each of ``n_draws`` Monte Carlo noise vectors :math:`e^*_m\sim
    N(0, I_n)` it solves the matching problem
    :math:`\min_{\pi,\beta,\sigma\ge0} \|Y - \Pi X\beta - \sigma e^*_m\|^2 +
    \lambda_h h(\pi)` approximately, and collects the distinct minimisers
    :math:`\hat\pi(e^*_m)` together with the point estimate
    :math:`\hat\pi_{\mathrm{LAP}}(Y)`.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design.
    Y : array_like of shape (n,)
        The responses.
    n_draws : int, default=200
        Number of Monte Carlo draws :math:`M \ge 0` (0: the point estimate
        only).
    penalty : float or "auto", default="auto"
        Hamming penalty; ``"auto"`` takes the one resolved by :func:`fit_lap`
        on the observed data.
    inner_iter : int, default=3
        Alternations per draw (>= 1).
    n_starts : int, default=20
        Starts of the point estimate (see :func:`fit_lap`).
    ridge : float, default=0.0
        Ridge penalty on the coefficients.
    movable : array_like of bool, shape (n,), or None, default=None
        Row-partial design.
    permuted_cols : array_like of int or bool, or None, default=None
        Column-partial design.
    k_max : int or None, default=None
        Keep only candidates moving at most ``k_max`` rows.
    offset_scale : {"sigma_hat", "fit"}, default="sigma_hat"
        Scale of the offset :math:`o = s\,e^*_m`: ``"sigma_hat"`` fixes
        :math:`s = \hat\sigma` of the point estimate; ``"fit"`` estimates it
        by regressing :math:`Y` on :math:`[\Pi X, e^*_m]` (clipped at 0) at
        every step (see Notes).
    fit_intercept : bool, default=False
        Fit an (unpenalised) intercept, as in :func:`fit_lap`.
    rng : int or numpy.random.Generator, default=0
        Seed or generator (starts, then the draws).

    Returns
    -------
    CandidateSet
        The distinct candidates with their hit counts, most frequent first.

    Raises
    ------
    ValueError
        On invalid data (as in :func:`fit_lap`), ``n_draws < 0``,
        ``inner_iter < 1``, ``penalty < 0`` or ``k_max < 0``.

    See Also
    --------
    coefficient_confidence_set : Uses the candidates.
    permutation_confidence_set : Tests each candidate.

    Notes
    -----
    Each draw starts from the point estimate :math:`\hat\pi` and alternates
    ``inner_iter`` times: least squares of :math:`Y - o` on :math:`\Pi X`,
    then the assignment step with cost
    :math:`C_{ij} = (Y_i - o_i - x_j^\top\beta)^2 + \lambda_h 1\{i\ne j\}`,
    with offset :math:`o = \hat\sigma e^*_m`. With ``offset_scale="fit"``
    the offset is :math:`\tilde\sigma e^*_m`, :math:`(\beta,\tilde\sigma)`
    from the augmented regression of :math:`Y` on :math:`[\Pi X, e^*_m]`;
    since a random draw is nearly orthogonal to the realised noise,
    :math:`\tilde\sigma` is close to 0 and the candidate set hardly grows
    with :math:`M`, which is why :math:`\hat\sigma` is the default. All draws are
    one batch of assignment problems. The map :math:`(Y, e^*)\mapsto
    \hat\pi(Y, e^*)` is the nuclear mapping of the repro-samples method; when
    a draw is close to the realised noise, the matching recovers
    :math:`\pi^*`, so :math:`P(\pi^*\notin C_M)` falls as :math:`M` grows.

    References
    ----------
    .. [1] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely
       Permuted Linear Regression", arXiv:2601.14872, 2026.
    .. [2] M. Xie and P. Wang, "Repro samples method for finite- and
       large-sample inferences", arXiv:2206.06421, 2022.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(30, 2, k=4, sigma=0.3, rng=0)
    >>> cands = shuffled.repro_candidate_set(data.X, data.Y, n_draws=50, rng=0)
    >>> cands.contains(data.perm), int(cands.counts.sum())
    (True, 50)
    """
    n_draws = check_scalar(n_draws, name="n_draws", kind=int, lower=0)
    inner_iter = check_scalar(inner_iter, name="inner_iter", kind=int, lower=1)
    check_in(offset_scale, name="offset_scale", options=("sigma_hat", "fit"))
    if k_max is not None:
        k_max = check_scalar(k_max, name="k_max", kind=int, lower=0)
    gen = _as_rng(rng)
    point = fit_lap(
        X,
        Y,
        penalty=penalty,
        n_starts=n_starts,
        ridge=ridge,
        movable=movable,
        permuted_cols=permuted_cols,
        fit_intercept=fit_intercept,
        rng=gen,
    )
    Xa, Ya = _check_xy(X, Y, ridge=ridge)
    n, p = Xa.shape
    design = _make_design(
        Xa,
        ridge=ridge,
        movable=_check_movable(movable, n),
        permuted=_check_permuted_cols(permuted_cols, p),
        fit_intercept=_check_bool(fit_intercept, name="fit_intercept"),
    )
    perms = point.perm[None]
    counts = np.zeros(1, dtype=np.int64)
    if n_draws > 0:
        draws = gen.standard_normal((n_draws, n))
        Yrep = np.broadcast_to(Ya, (n_draws, n))
        start = np.broadcast_to(point.perm, (n_draws, n))
        if offset_scale == "fit":
            coef, scale = engine.refit(design, Yrep, start, draws=draws)
        else:
            scale = np.full(n_draws, math.sqrt(point.sigma2))
            coef, _ = engine.refit(design, Yrep - scale[:, None] * draws, start)
        state = engine.alternate(
            design,
            Yrep,
            start,
            coef,
            penalty=np.full(n_draws, point.penalty),
            max_iter=inner_iter,
            draws=draws,
            scale=scale,
            fixed_scale=offset_scale == "sigma_hat",
            start_is_fit=True,
        )
        found, first, hits = np.unique(
            state.perm, axis=0, return_index=True, return_counts=True
        )
        has_point = np.all(found == point.perm, axis=1)
        if not has_point.any():
            found = np.concatenate([found, point.perm[None]])
            hits = np.concatenate([hits, [0]])
            first = np.concatenate([first, [-1]])
        perms, counts = found.astype(np.int64), hits.astype(np.int64)
        first_draw = first.astype(np.int64)
    else:
        first_draw = np.full(1, -1, dtype=np.int64)
    h = engine.hamming(perms)
    order = np.lexsort((h, -counts))
    perms, counts, h, first_draw = (
        perms[order],
        counts[order],
        h[order],
        first_draw[order],
    )
    if k_max is not None:
        keep = h <= k_max
        perms, counts, h, first_draw = (
            perms[keep],
            counts[keep],
            h[keep],
            first_draw[keep],
        )
    return CandidateSet(
        perms=perms,
        counts=counts,
        hamming=h.astype(np.int64),
        first_draw=first_draw,
        point_estimate=point.perm,
        penalty=point.penalty,
        n_draws=n_draws,
    )

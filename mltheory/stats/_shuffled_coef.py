"""Confidence sets for the coefficients.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from mltheory._src._typing import ArrayLike
from mltheory.stats._shuffled_candidates import repro_candidate_set
from mltheory.stats._shuffled_checks import _as_rng, _check_ridge, _check_xy
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_tests import _candidate_perms, _check_alpha
from mltheory.stats._shuffled_types import (
    CandidateSet,
    CoefficientConfidenceSet,
    Penalty,
    Rng,
)

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# coefficient inference
# --------------------------------------------------------------------------- #
def coefficient_confidence_set(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    alpha: float = 0.05,
    alpha_loc: float | None = None,
    candidates: CandidateSet | ArrayLike | None = None,
    ridge: float = 0.0,
    n_draws: int = 200,
    penalty: Penalty = "auto",
    rng: Rng = 0,
) -> CoefficientConfidenceSet:
    r"""A confidence set for the coefficients, valid under alignment uncertainty.

    The union over candidate permutations :math:`\pi\in C` of the F-ellipsoids
    :math:`\{\beta: (\beta-\hat\beta_\pi)^\top X^\top X(\beta-\hat\beta_\pi)
    \le p\,s_\pi^2 F_{p,n-p;1-\alpha_\mathrm{coef}}\}`.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design (``n > p``).
    Y : array_like of shape (n,)
        The responses.
    alpha : float, default=0.05
        Total level in (0, 1), split as
        :math:`\alpha = \alpha_\mathrm{loc} + \alpha_\mathrm{coef}`.
    alpha_loc : float or None, default=None
        The part of ``alpha`` budgeted for the candidate set missing
        :math:`\pi^*`, in ``(0, alpha)``; ``None``: ``alpha / 2``. Then
        ``alpha_coef = alpha - alpha_loc``, so ``alpha_loc + alpha_coef =
        alpha < 1``.
    candidates : CandidateSet or array_like of shape (m, n), or None, default=None
        The candidates; ``None`` computes :func:`repro_candidate_set` with
        ``n_draws`` draws. Pass the point estimate alone (``fit.perm``) for
        the naive region that ignores alignment uncertainty.
    ridge : float, default=0.0
        Ridge penalty (see Notes).
    n_draws : int, default=200
        Draws for the candidate set when ``candidates`` is None (choose it
        so that the candidate set misses :math:`\pi^*` with probability at
        most ``alpha_loc``).
    penalty : float or "auto", default="auto"
        Hamming penalty for the candidate set.
    rng : int or numpy.random.Generator, default=0
        Seed or generator.

    Returns
    -------
    CoefficientConfidenceSet
        Centres, shape matrix, squared radii, per-coordinate intervals (hull
        of the t-intervals) and a ``contains`` test.

    Raises
    ------
    ValueError
        On invalid data (``n > p`` and full rank needed), ``alpha`` outside
        (0, 1), ``alpha_loc`` outside ``(0, alpha)`` (that is,
        ``alpha_loc + alpha_coef`` not below 1 or a part not positive),
        ``ridge < 0`` or malformed candidates.

    See Also
    --------
    repro_candidate_set : The candidates.

    Notes
    -----
    With :math:`\beta_\pi` the least squares fit on :math:`\Pi X` and
    :math:`s_\pi^2 = \mathrm{RSS}(\pi)/(n-p)`, the ellipsoid of the true
    :math:`\pi^*` covers :math:`\beta^*` with probability
    :math:`1-\alpha_\mathrm{coef}`, so by the union bound

    .. math::

        P\Big(\beta^*\in\bigcup_{\pi\in C}\mathrm{CR}_\pi\Big)
        \ge 1 - P(\pi^*\notin C) - \alpha_\mathrm{coef}.

    Marginal intervals: :math:`\hat\beta_{\pi,j}\pm t_{n-p;1-\alpha_\mathrm{coef}/2}
    s_\pi\sqrt{[(X^\top X)^{-1}]_{jj}}`, hulled over :math:`\pi`. With
    ``ridge`` :math:`=\lambda>0` the centres are
    :math:`\hat\beta_\lambda(\pi) = A X^\top\Pi^\top Y`,
    :math:`A=(X^\top X+\lambda I)^{-1}`, with covariance
    :math:`s_\pi^2 A X^\top X A`: the region then covers
    :math:`E\hat\beta_\lambda = A X^\top X\beta^*`, not :math:`\beta^*`
    (ridge is biased).

    References
    ----------
    .. [1] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely
       Permuted Linear Regression", arXiv:2601.14872, 2026.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(40, 2, k=6, sigma=0.5, rng=0)
    >>> cs = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=50, rng=0)
    >>> cs.intervals.shape, cs.contains(data.beta)
    ((2, 2), True)
    """
    alpha = _check_alpha(alpha)
    a_loc = (
        alpha / 2
        if alpha_loc is None
        else _check_alpha(alpha_loc, name="alpha_loc", upper=alpha)
    )
    a_coef = alpha - a_loc
    ridge = _check_ridge(ridge)
    Xa, Ya = _check_xy(X, Y, need_dof=True)
    n, p = Xa.shape
    gen = _as_rng(rng)
    if candidates is None:
        candidates = repro_candidate_set(
            Xa, Ya, n_draws=n_draws, penalty=penalty, ridge=ridge, rng=gen
        )
    perms = _candidate_perms(candidates, n)
    gram = Xa.T @ Xa
    A = np.linalg.inv(gram + ridge * np.eye(p))
    centers = np.einsum("ij,mnj,mn->mi", A, Xa[perms], Ya[None])
    res = Ya[None] - np.einsum("mnj,mj->mn", Xa[perms], centers)
    dof = n - p
    s2 = np.sum(res**2, axis=1) / dof
    cov = A @ gram @ A
    shape = np.linalg.inv(cov)
    radii2 = p * s2 * float(sps.f.ppf(1.0 - a_coef, p, dof))
    half = float(sps.t.ppf(1.0 - a_coef / 2, dof)) * np.sqrt(
        s2[:, None] * np.diag(cov)[None, :]
    )
    intervals = np.stack(
        [(centers - half).min(axis=0), (centers + half).max(axis=0)], axis=1
    )
    return CoefficientConfidenceSet(
        centers=centers,
        gram=shape,
        radii2=radii2,
        intervals=intervals,
        perms=perms,
        alpha_loc=a_loc,
        alpha_coef=a_coef,
    )

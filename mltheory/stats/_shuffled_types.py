"""Result types of shuffled regression.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_scalar,
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)

__all__: list[str] = []


Rng = int | np.random.Generator
Penalty = float | Literal["auto"]

# Relative slack when counting null statistics >= the observed one: copies
# whose statistic equals the observed one up to rounding count as ">=", which
# keeps the p-value conservative.
_TIE_RTOL = 1e-10


# --------------------------------------------------------------------------- #
# result types
# --------------------------------------------------------------------------- #
@pytree_dataclass
class ShuffledData:
    r"""Simulated shuffled-regression data (see :func:`simulate_shuffled`).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, p)
        The design, in its true row order.
    Y : numpy.ndarray of shape (n,)
        The responses, :math:`Y_i = x_{\mathrm{perm}[i]}^\top\beta +
        \sigma\varepsilon_i`.
    perm : numpy.ndarray of shape (n,) and dtype int64
        The true permutation :math:`\pi^*`.
    beta : numpy.ndarray of shape (p,)
        The true coefficients.
    sigma : float
        The noise level.
    movable : numpy.ndarray of shape (n,) and dtype bool, or None
        The rows that were allowed to move (``None``: all).

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(20, 2, k=4, rng=0)
    >>> int((data.perm != range(20)).sum())
    4
    """

    X: np.ndarray
    Y: np.ndarray
    perm: np.ndarray
    beta: np.ndarray
    sigma: float
    movable: np.ndarray | None = None


@pytree_dataclass
class LAPFit:
    r"""A fitted permutation and coefficients (see :func:`fit_lap`).

    Parameters
    ----------
    perm : numpy.ndarray of shape (n,) and dtype int64
        The estimated permutation, :math:`(\Pi X)_i = X_{\mathrm{perm}[i]}`.
    beta : numpy.ndarray of shape (p,)
        The coefficients of the columns of ``X``.
    intercept : float
        The intercept (0 unless ``fit_intercept=True``).
    sigma2 : float
        The residual variance ``rss / (n - p)`` (``p`` counts the intercept).
    rss : float
        The residual sum of squares at ``(perm, beta)``.
    objective : float
        The minimised objective ``rss + ridge |beta|^2 + penalty h(perm)``.
    penalty : float
        The Hamming penalty used (resolved from ``"auto"``).
    n_iter : int
        Assignment steps taken by the chosen start.
    converged : bool
        Whether the chosen start stopped because the permutation stopped
        changing (rather than at ``max_iter``).

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(30, 2, k=4, sigma=0.05, rng=0)
    >>> fit = shuffled.fit_lap(data.X, data.Y, rng=0)
    >>> bool((fit.perm == data.perm).all())
    True
    """

    perm: np.ndarray
    beta: np.ndarray
    intercept: float
    sigma2: float
    rss: float
    objective: float
    penalty: float
    n_iter: int = static_field()
    converged: bool = static_field()


@pytree_dataclass
class CandidateSet:
    """Candidate permutations from repro samples (see :func:`repro_candidate_set`).

    Parameters
    ----------
    perms : numpy.ndarray of shape (m, n) and dtype int64
        The distinct candidates, most frequent first.
    counts : numpy.ndarray of shape (m,) and dtype int64
        How many Monte Carlo draws returned each candidate (the point
        estimate is always included, possibly with count 0).
    hamming : numpy.ndarray of shape (m,) and dtype int64
        Number of rows each candidate moves.
    first_draw : numpy.ndarray of shape (m,) and dtype int64
        Index of the first draw that returned each candidate (-1 for the
        point estimate when no draw returned it). Since the draws come in
        order from ``rng``, the candidate set of the first ``M'`` draws is
        ``perms[(first_draw < M') | is_point_estimate]``: coverage against
        ``M`` is read off one run.
    point_estimate : numpy.ndarray of shape (n,) and dtype int64
        The LAP estimate on the observed data.
    penalty : float
        The Hamming penalty used in every matching problem.
    n_draws : int
        The number of Monte Carlo draws ``M``.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(20, 2, k=4, sigma=0.1, rng=0)
    >>> cands = shuffled.repro_candidate_set(data.X, data.Y, n_draws=20, rng=0)
    >>> cands.contains(data.perm)
    True
    """

    perms: np.ndarray
    counts: np.ndarray
    hamming: np.ndarray
    first_draw: np.ndarray
    point_estimate: np.ndarray
    penalty: float
    n_draws: int = static_field()

    def contains(self, perm: ArrayLike) -> bool:
        """Whether ``perm`` is one of the candidates.

        Parameters
        ----------
        perm : array_like of int, shape (n,)
            A permutation.

        Returns
        -------
        bool
            True if ``perm`` equals a row of ``perms``.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(12, 1, k=0, rng=0)
        >>> cands = shuffled.repro_candidate_set(data.X, data.Y, n_draws=5, rng=0)
        >>> cands.contains(range(12))
        True
        """
        p = np.asarray(perm)
        return bool(np.any(np.all(self.perms == p, axis=1)))

    def first(self, n_draws: int) -> CandidateSet:
        """The candidate set the first ``n_draws`` draws would have given.

        Parameters
        ----------
        n_draws : int
            Number of draws kept, ``0 <= n_draws <= self.n_draws``.

        Returns
        -------
        CandidateSet
            The candidates found by draws ``0 .. n_draws-1`` plus the point
            estimate (``counts`` are those of the full run).

        Raises
        ------
        ValueError
            If ``n_draws`` is outside ``[0, self.n_draws]``.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(20, 2, k=4, sigma=0.3, rng=0)
        >>> cands = shuffled.repro_candidate_set(data.X, data.Y, n_draws=40, rng=0)
        >>> len(cands.first(0).perms)
        1
        """
        m = check_scalar(n_draws, name="n_draws", kind=int, lower=0, upper=self.n_draws)
        is_point = np.all(self.perms == self.point_estimate, axis=1)
        keep = is_point | ((self.first_draw >= 0) & (self.first_draw < m))
        return dataclasses.replace(
            self,
            perms=self.perms[keep],
            counts=self.counts[keep],
            hamming=self.hamming[keep],
            first_draw=self.first_draw[keep],
            n_draws=m,
        )


@pytree_dataclass
class PermutationTestResult:
    """Outcome of a conditional Monte Carlo test (see :func:`conditional_mc_test`).

    Parameters
    ----------
    statistic : float or numpy.ndarray of shape (n_datasets,)
        The statistic on the observed data (one per data set when
        :func:`conditional_mc_test` got a batch of responses).
    p_value : float or numpy.ndarray of shape (n_datasets,)
        The Monte Carlo p-value, in ``[1/(n_mc+1), 1]`` (plus ``delta`` for
        :func:`structure_test`).
    null_statistics : numpy.ndarray of shape (n_mc,) or (n_datasets, n_mc)
        The statistic on the null copies.
    null_perm : numpy.ndarray of shape (n,) and dtype int64
        The hypothesised permutation (for :func:`structure_test`: the
        candidate with the largest p-value).
    n_mc : int
        Number of null copies ``B``.
    method : str
        The statistic's name (``"lap_lr"``, ``"max_resid"``, ``"callable"``),
        prefixed by ``"structure:"`` for :func:`structure_test`.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(30, 2, k=0, rng=0)
    >>> res = shuffled.conditional_mc_test(data.X, data.Y, n_mc=19, rng=0)
    >>> 1 / 20 <= res.p_value <= 1
    True
    """

    statistic: float | np.ndarray
    p_value: float | np.ndarray
    null_statistics: np.ndarray
    null_perm: np.ndarray
    n_mc: int = static_field()
    method: str = static_field()


@pytree_dataclass
class PermutationConfidenceSet:
    """A confidence set for the permutation (see :func:`permutation_confidence_set`).

    Parameters
    ----------
    perms : numpy.ndarray of shape (m, n) and dtype int64
        The candidates not rejected at level ``alpha``.
    p_values : numpy.ndarray of shape (m,)
        Their conditional Monte Carlo p-values.
    candidate_perms : numpy.ndarray of shape (c, n) and dtype int64
        All candidates that were tested.
    candidate_p_values : numpy.ndarray of shape (c,)
        The p-values of all of them.
    alpha : float
        The level.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(20, 1, k=2, sigma=0.1, rng=1)
    >>> cs = shuffled.permutation_confidence_set(
    ...     data.X, data.Y, n_mc=39, n_draws=10, rng=0)
    >>> cs.contains(data.perm)
    True
    """

    perms: np.ndarray
    p_values: np.ndarray
    candidate_perms: np.ndarray
    candidate_p_values: np.ndarray
    alpha: float = static_field()

    def contains(self, perm: ArrayLike) -> bool:
        """Whether ``perm`` is in the confidence set.

        Parameters
        ----------
        perm : array_like of int, shape (n,)
            A permutation.

        Returns
        -------
        bool
            True if ``perm`` is one of ``perms``.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(20, 1, k=0, sigma=0.1, rng=0)
        >>> cs = shuffled.permutation_confidence_set(
        ...     data.X, data.Y, n_mc=39, n_draws=5, rng=0)
        >>> cs.contains(range(20))
        True
        """
        p = np.asarray(perm)
        return bool(np.any(np.all(self.perms == p, axis=1)))


@pytree_dataclass
class CoefficientConfidenceSet:
    r"""A union of ellipsoids for the coefficients.

    The result of :func:`coefficient_confidence_set`.

    Parameters
    ----------
    centers : numpy.ndarray of shape (m, p)
        The estimates :math:`\hat\beta_\pi`, one per candidate.
    gram : numpy.ndarray of shape (p, p)
        The shape matrix of the ellipsoids: :math:`X^\top X` (OLS) or the
        inverse of the ridge sandwich :math:`A X^\top X A`.
    radii2 : numpy.ndarray of shape (m,)
        Squared radii :math:`p\,s_\pi^2 F_{p,n-p;1-\alpha_\mathrm{coef}}`.
    intervals : numpy.ndarray of shape (p, 2)
        Per-coordinate intervals: the hull over candidates of the
        t-intervals.
    perms : numpy.ndarray of shape (m, n) and dtype int64
        The candidates.
    alpha_loc : float
        The level spent on localising the permutation.
    alpha_coef : float
        The level spent on each ellipsoid.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(30, 2, k=4, sigma=0.2, rng=0)
    >>> cs = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=20, rng=0)
    >>> cs.contains(data.beta)
    True
    """

    centers: np.ndarray
    gram: np.ndarray
    radii2: np.ndarray
    intervals: np.ndarray
    perms: np.ndarray
    alpha_loc: float = static_field()
    alpha_coef: float = static_field()

    def contains(self, beta: ArrayLike) -> bool:
        """Whether ``beta`` lies in the union of the ellipsoids.

        Parameters
        ----------
        beta : array_like of shape (p,)
            A coefficient vector.

        Returns
        -------
        bool
            True if some candidate's ellipsoid contains ``beta``.

        Raises
        ------
        ValueError
            If ``beta`` does not have shape ``(p,)``.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(30, 2, k=0, sigma=0.2, rng=0)
        >>> cs = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=5, rng=0)
        >>> cs.contains([100.0, 100.0])
        False
        """
        b = as_numpy(beta, name="beta", ndim=1)
        p = self.centers.shape[1]
        if b.shape != (p,):
            raise ValueError(f"beta must have shape ({p},); got shape {b.shape}.")
        d = b - self.centers
        q = np.einsum("mi,ij,mj->m", d, self.gram, d)
        return bool(np.any(q <= self.radii2))

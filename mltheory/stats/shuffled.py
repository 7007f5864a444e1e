r"""Inference for shuffled (permuted) linear regression.

Following Ota and Imaizumi [1]_, the model is
:math:`Y_i = x_{\pi^*(i)}^\top \beta^* + \sigma\varepsilon_i`,
:math:`\varepsilon \sim N(0, I_n)`: the responses and the rows of the design
were recorded separately and some of them were linked wrongly by an unknown
permutation :math:`\pi^*`, which moves few rows (a *sparse* permutation). The
module gives

* a simulator of such data (:func:`simulate_shuffled`);
* the LAP estimator (:func:`fit_lap`): a linear assignment problem with a
  Hamming penalty alternating with least squares, from many starts, and the
  exact brute force for tiny problems (:func:`least_squares_bruteforce`);
* repro-samples localisation of :math:`\pi^*` to a small candidate set
  (:func:`repro_candidate_set`);
* a conditional Monte Carlo test of a hypothesised permutation with exact
  finite-sample level (:func:`conditional_mc_test`, :func:`structure_test`)
  and the confidence set it gives (:func:`permutation_confidence_set`);
* confidence sets for :math:`\beta^*` valid under alignment uncertainty
  (:func:`coefficient_confidence_set`);
* a scikit-learn-style estimator (:class:`ShuffledRegression`) and the Beijing
  air-quality data (a local-file loader and a synthetic stand-in).

Everything runs on the host on NumPy arrays (JAX arrays are accepted as
input) and returns NumPy arrays; every assignment problem is solved by
:func:`mltheory.numerics.solve_assignment_sq_diff` (the batched solver of
:func:`mltheory.numerics.solve_assignment_batched` with the costs built in
place). Permutations are ``int64``
index arrays ``perm`` with :math:`(\Pi X)_i = X_{\mathrm{perm}[i]}`.
Randomness comes from ``rng``, an int seed or a
:class:`numpy.random.Generator`: the same seed gives the same result.

References
----------
.. [1] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely Permuted
   Linear Regression", arXiv:2601.14872, 2026.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_callable,
    check_in,
    check_scalar,
)
from mltheory.exceptions import NotFittedError
from mltheory.stats import _shuffled_engine as engine
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_data import (
    _as_generator,
    load_beijing_air_quality,
    synthetic_air_quality,
)

__all__ = [
    "CandidateSet",
    "CoefficientConfidenceSet",
    "LAPFit",
    "PermutationConfidenceSet",
    "PermutationTestResult",
    "ShuffledData",
    "ShuffledRegression",
    "coefficient_confidence_set",
    "conditional_mc_test",
    "fit_lap",
    "lap_assignment",
    "least_squares_bruteforce",
    "load_beijing_air_quality",
    "permutation_confidence_set",
    "repro_candidate_set",
    "simulate_shuffled",
    "structure_test",
    "synthetic_air_quality",
]

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


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def _as_rng(rng: Any) -> np.random.Generator:
    return _as_generator(rng)


def _check_penalty(penalty: Any) -> float | None:
    if isinstance(penalty, str):
        check_in(penalty, name="penalty", options=("auto",))
        return None
    return float(check_scalar(penalty, name="penalty", lower=0.0))


def _check_xy(
    X: ArrayLike, Y: ArrayLike, *, ridge: float = 0.0, need_dof: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validate the data: shapes, finiteness, n > p (or ridge), full rank."""
    Xa = as_numpy(X, name="X", ndim=2, shape_hint="(n_samples, n_features)")
    Ya = as_numpy(Y, name="Y", ndim=1, shape_hint="(n_samples,)")
    n, p = Xa.shape
    if Ya.shape[0] != n:
        raise ValueError(
            f"Y must have one entry per row of X: len(Y) = {Ya.shape[0]} but "
            f"X has {n} rows."
        )
    if ridge == 0.0 or need_dof:
        if n <= p:
            raise ValueError(
                f"X must have more rows than columns (n > p) for least squares"
                f"{' and residual degrees of freedom' if need_dof else ''}; got "
                f"n={n}, p={p}. Use ridge > 0 for the point estimate when n <= p."
            )
        rank = int(np.linalg.matrix_rank(Xa))
        if rank < p and ridge == 0.0:
            raise ValueError(
                f"X must have full column rank for least squares; got rank {rank} "
                f"< p={p}. Drop collinear columns or use ridge > 0."
            )
    elif n < 2:
        raise ValueError(f"X must have at least 2 rows; got n={n}.")
    return Xa, Ya


def _check_ridge(ridge: Any) -> float:
    return float(check_scalar(ridge, name="ridge", lower=0.0))


def _check_movable(movable: Any, n: int) -> np.ndarray | None:
    if movable is None:
        return None
    mask = np.asarray(movable)
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.integer) or not np.isin(mask, (0, 1)).all():
            raise TypeError(
                f"movable must be a boolean mask of length n={n}; got dtype "
                f"{mask.dtype}."
            )
        mask = mask.astype(bool)
    if mask.shape != (n,):
        raise ValueError(
            f"movable must be a boolean mask of length n={n}; got shape {mask.shape}."
        )
    if int(mask.sum()) < 2:
        raise ValueError(
            f"movable must mark at least 2 rows (one row cannot move alone); got "
            f"{int(mask.sum())}."
        )
    return mask


def _check_permuted_cols(permuted_cols: Any, p: int) -> np.ndarray:
    if permuted_cols is None:
        return np.ones(p, dtype=bool)
    cols = np.asarray(permuted_cols)
    if cols.dtype == bool:
        if cols.shape != (p,):
            raise ValueError(
                f"permuted_cols as a mask must have length p={p}; got shape "
                f"{cols.shape}."
            )
        mask = cols
    else:
        if not np.issubdtype(cols.dtype, np.integer) or cols.ndim != 1:
            raise TypeError(
                "permuted_cols must be a boolean mask or a 1-D array of column "
                f"indices; got {cols!r}."
            )
        if cols.size and (cols.min() < 0 or cols.max() >= p):
            raise ValueError(
                f"permuted_cols indices must lie in [0, {p}); got {cols.tolist()}."
            )
        mask = np.zeros(p, dtype=bool)
        mask[cols] = True
    if not mask.any():
        raise ValueError("permuted_cols must name at least one column.")
    return mask


def _check_perm(perm: Any, n: int, *, name: str) -> np.ndarray:
    arr = np.asarray(perm)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} must be a permutation of range({n}) (integers); got dtype "
            f"{arr.dtype}."
        )
    if arr.shape != (n,) or not np.array_equal(np.sort(arr), np.arange(n)):
        raise ValueError(
            f"{name} must be a permutation of range({n}); got "
            f"{np.array2string(arr, threshold=12)}."
        )
    return arr.astype(np.int64)


def _check_bool(value: Any, *, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool; got {value!r}.")
    return bool(value)


def _make_design(
    X: np.ndarray,
    *,
    ridge: float,
    movable: np.ndarray | None,
    permuted: np.ndarray,
    fit_intercept: bool,
) -> engine.Design:
    n, p = X.shape
    ridge_diag = np.full(p, ridge)
    if fit_intercept:
        X = np.concatenate([np.ones((n, 1)), X], axis=1)
        permuted = np.concatenate([[False], permuted])
        ridge_diag = np.concatenate([[0.0], ridge_diag])
    return engine.Design(
        X=np.ascontiguousarray(X),
        permuted=permuted,
        movable=movable,
        ridge=ridge_diag,
    )


def _subsets(gen: np.random.Generator, n: int, p: int, n_subsets: int) -> np.ndarray:
    """Random row subsets of sizes p+1 .. 2p for the RANSAC-style starts."""
    if n_subsets <= 0:
        return np.zeros((0, 1), dtype=np.int64)
    order = np.argsort(gen.random((n_subsets, n)), axis=1)
    lo, hi = min(p + 1, n), min(2 * p, n)
    sizes = gen.integers(lo, max(hi, lo) + 1, size=n_subsets)
    width = int(sizes.max())
    out = order[:, :width].copy()
    out[np.arange(width)[None, :] >= sizes[:, None]] = -1
    return out


def _pilots(
    design: engine.Design, Y: np.ndarray, gen: np.random.Generator, n_starts: int
) -> np.ndarray:
    subsets = _subsets(gen, design.n, design.p, n_starts - 1)
    pilots = engine.pilot_coefs(design, Y, subsets)
    if design.p == 1 and n_starts >= 3:
        # p = 1: the unpenalised LS permutation is sort-matching for beta > 0
        # or beta < 0; two sign pilots make the search exact.
        size = np.linalg.norm(Y, axis=1) / np.linalg.norm(design.X)
        pilots[:, 1, 0] = size
        pilots[:, 2, 0] = -size
    return pilots


def _to_fit(
    design: engine.Design,
    state: engine.Alternation,
    obj: np.ndarray,
    rss: np.ndarray,
    fit_intercept: bool,
) -> LAPFit:
    coef = state.coef[0]
    intercept = float(coef[0]) if fit_intercept else 0.0
    beta = coef[1:] if fit_intercept else coef
    return LAPFit(
        perm=state.perm[0].astype(np.int64),
        beta=beta.copy(),
        intercept=intercept,
        sigma2=float(rss[0] / design.dof),
        rss=float(rss[0]),
        objective=float(obj[0]),
        penalty=float(state.penalty[0]),
        n_iter=int(state.n_iter[0]),
        converged=bool(state.converged[0]),
    )


# --------------------------------------------------------------------------- #
# simulator
# --------------------------------------------------------------------------- #
def simulate_shuffled(
    n: int,
    p: int,
    *,
    k: int | None = None,
    frac: float | None = None,
    sigma: float = 1.0,
    beta: ArrayLike | None = None,
    snr: float | None = None,
    design: Literal["gaussian", "uniform"] = "gaussian",
    shuffle: Literal["cycle", "random"] = "cycle",
    movable: ArrayLike | None = None,
    rng: Rng = 0,
) -> ShuffledData:
    r"""Simulate a shuffled linear regression with a sparse permutation.

    Draws a design :math:`X`, a permutation :math:`\pi^*` that moves exactly
    ``k`` rows and the responses :math:`Y_i = x_{\pi^*(i)}^\top\beta +
    \sigma\varepsilon_i`, :math:`\varepsilon\sim N(0, I_n)`.

    Parameters
    ----------
    n : int
        Number of rows (>= 2).
    p : int
        Number of columns (>= 1).
    k : int or None, default=None
        Number of moved rows: 0 (no shuffle) or 2..n. Give ``k`` or ``frac``,
        not both; neither means no shuffle.
    frac : float or None, default=None
        Shuffle fraction :math:`\rho`; ``k = round(frac * n)``.
    sigma : float, default=1.0
        Noise level (>= 0).
    beta : array_like of shape (p,) or None, default=None
        Coefficients; default all ones.
    snr : float or None, default=None
        If given, ``beta`` is rescaled so that
        :math:`\|\beta\|^2/\sigma^2 = \mathrm{snr}` (the variance of the
        signal over that of the noise; the designs have unit variance).
    design : {"gaussian", "uniform"}, default="gaussian"
        Entries of ``X``: standard normal, or uniform with unit variance.
    shuffle : {"cycle", "random"}, default="cycle"
        ``"cycle"``: one ``k``-cycle through ``k`` random rows; ``"random"``:
        a uniformly random derangement of ``k`` random rows (every chosen
        row moves).
    movable : array_like of bool, shape (n,), or None, default=None
        Only these rows may be moved (a row-partial design).
    rng : int or numpy.random.Generator, default=0
        Seed or generator.

    Returns
    -------
    ShuffledData
        The design, responses, true permutation, coefficients and noise level.

    Raises
    ------
    ValueError
        If ``n < 2``, ``p < 1``, ``sigma < 0``, both ``k`` and ``frac`` are
        given, ``k`` (or ``round(frac * n)``) is 1 or exceeds the number of
        movable rows, ``frac`` is outside ``[0, 1]``, ``snr <= 0`` or
        ``snr`` is given with ``sigma = 0``, ``beta`` has the wrong shape, an
        option string is unknown, or ``movable`` is malformed.
    TypeError
        If an integer argument is not an integer or ``rng`` is not a seed or
        Generator.

    See Also
    --------
    fit_lap : Estimate the permutation and the coefficients.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(10, 2, k=3, sigma=0.5, rng=0)
    >>> data.X.shape, data.Y.shape
    ((10, 2), (10,))
    >>> sorted(int(i) for i in data.perm[data.perm != range(10)])
    [0, 3, 9]
    """
    n = check_scalar(n, name="n", kind=int, lower=2)
    p = check_scalar(p, name="p", kind=int, lower=1)
    sigma = check_scalar(sigma, name="sigma", lower=0.0)
    check_in(design, name="design", options=("gaussian", "uniform"))
    check_in(shuffle, name="shuffle", options=("cycle", "random"))
    mask = _check_movable(movable, n)
    n_movable = n if mask is None else int(mask.sum())
    if k is not None and frac is not None:
        raise ValueError(f"give k or frac, not both; got k={k}, frac={frac}.")
    if frac is not None:
        frac = check_scalar(frac, name="frac", lower=0.0, upper=1.0)
        k = round(frac * n)
        what = f"frac={frac} gives k=round(frac*n)={k}"
    else:
        k = 0 if k is None else check_scalar(k, name="k", kind=int, lower=0)
        what = f"k={k}"
    if k == 1:
        raise ValueError(
            f"{what}: a shuffle must move 0 or at least 2 rows (a single row "
            "cannot move alone)."
        )
    if k > n_movable:
        raise ValueError(
            f"{what} exceeds the number of rows that may move ({n_movable})."
        )
    if beta is None:
        b = np.ones(p)
    else:
        b = as_numpy(beta, name="beta", ndim=1)
        if b.shape != (p,):
            raise ValueError(f"beta must have shape ({p},); got shape {b.shape}.")
    if snr is not None:
        snr = check_scalar(snr, name="snr", lower=0.0, lower_inclusive=False)
        if sigma == 0.0:
            raise ValueError("snr needs sigma > 0; got sigma=0.")
        norm2 = float(b @ b)
        if norm2 == 0.0:
            raise ValueError("snr cannot rescale beta = 0.")
        b = b * math.sqrt(snr * sigma**2 / norm2)
    gen = _as_rng(rng)
    if design == "gaussian":
        X = gen.standard_normal((n, p))
    else:
        X = gen.uniform(-math.sqrt(3.0), math.sqrt(3.0), (n, p))
    perm = np.arange(n, dtype=np.int64)
    if k >= 2:
        pool = np.arange(n) if mask is None else np.flatnonzero(mask)
        rows = gen.choice(pool, size=k, replace=False)
        if shuffle == "cycle":
            perm[rows] = np.roll(rows, -1)
        else:
            order = gen.permutation(k)
            while np.any(order == np.arange(k)):  # rejection: ~e draws on average
                order = gen.permutation(k)
            perm[rows] = rows[order]
    Y = X[perm] @ b + sigma * gen.standard_normal(n)
    return ShuffledData(X=X, Y=Y, perm=perm, beta=b, sigma=float(sigma), movable=mask)


# --------------------------------------------------------------------------- #
# point estimation
# --------------------------------------------------------------------------- #
def lap_assignment(
    X: ArrayLike,
    Y: ArrayLike,
    beta: ArrayLike,
    *,
    offset: ArrayLike | None = None,
    penalty: float = 0.0,
    movable: ArrayLike | None = None,
    permuted_cols: ArrayLike | None = None,
) -> np.ndarray:
    r"""The optimal permutation for fixed coefficients: one assignment problem.

    Solves :math:`\min_\pi \sum_i C_{i\pi(i)}` with
    :math:`C_{ij} = (Y_i - o_i - x_j^\top\beta)^2 + \lambda_h 1\{i\ne j\}`.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design.
    Y : array_like of shape (n,)
        The responses.
    beta : array_like of shape (p,)
        The coefficients.
    offset : array_like of shape (n,) or None, default=None
        The offset :math:`o` subtracted from ``Y`` (the scaled noise draw in
        repro samples); ``None`` means 0.
    penalty : float, default=0.0
        The Hamming penalty :math:`\lambda_h \ge 0` per moved row.
    movable : array_like of bool, shape (n,), or None, default=None
        Rows that may move; the others keep their place.
    permuted_cols : array_like of int or bool, or None, default=None
        Columns whose rows are mismatched (a column-partial design
        :math:`X = [X_A, X_B]` with only :math:`X_B` permuted:
        :math:`C_{ij} = (Y_i - o_i - x_{A,i}^\top\beta_A -
        x_{B,j}^\top\beta_B)^2 + \dots`). ``None``: all columns.

    Returns
    -------
    numpy.ndarray of shape (n,) and dtype int64
        The permutation, :math:`(\Pi X)_i = X_{\mathrm{perm}[i]}`.

    Raises
    ------
    ValueError
        If the shapes disagree, an input is not finite, ``penalty < 0``, or
        ``movable``/``permuted_cols`` is malformed.

    See Also
    --------
    fit_lap : Alternates this step with least squares.

    Notes
    -----
    Without the penalty the optimum matches the order of :math:`Y - o` with
    the order of the fitted values (sort-matching); the penalty keeps rows in
    place unless moving them lowers the squared error by more than
    :math:`\lambda_h`. The problem is solved exactly by
    :func:`mltheory.numerics.solve_assignment_sq_diff` in :math:`O(n^3)`.

    Examples
    --------
    >>> import numpy as np
    >>> from mltheory.stats import shuffled
    >>> X = np.arange(4.0)[:, None]
    >>> shuffled.lap_assignment(X, [0.0, 2.0, 1.0, 3.0], [1.0])
    array([0, 2, 1, 3])
    >>> shuffled.lap_assignment(X, [0.0, 2.0, 1.0, 3.0], [1.0], penalty=5.0)
    array([0, 1, 2, 3])
    """
    Xa, Ya = _check_xy(X, Y, ridge=1.0)
    n, p = Xa.shape
    b = as_numpy(beta, name="beta", ndim=1)
    if b.shape != (p,):
        raise ValueError(f"beta must have shape ({p},); got shape {b.shape}.")
    o = np.zeros(n) if offset is None else as_numpy(offset, name="offset", ndim=1)
    if o.shape != (n,):
        raise ValueError(f"offset must have shape ({n},); got shape {o.shape}.")
    lam = check_scalar(penalty, name="penalty", lower=0.0)
    design = engine.Design(
        X=Xa,
        permuted=_check_permuted_cols(permuted_cols, p),
        movable=_check_movable(movable, n),
        ridge=np.zeros(p),
    )
    perm = engine.assign(design, (Ya - o)[None], b[None], np.asarray([lam]))
    return perm[0].astype(np.int64)


def fit_lap(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    penalty: Penalty = "auto",
    n_starts: int = 20,
    max_iter: int = 10,
    ridge: float = 0.0,
    movable: ArrayLike | None = None,
    permuted_cols: ArrayLike | None = None,
    fit_intercept: bool = False,
    rng: Rng = 0,
) -> LAPFit:
    r"""Estimate the permutation and the coefficients by the penalised LAP.

    Minimises :math:`\|Y - \Pi X\beta\|^2 + \lambda_r\|\beta\|^2 +
    \lambda_h h(\pi)` (:math:`h` = number of moved rows) by alternating an
    exact assignment step over :math:`\pi` (:func:`lap_assignment`) with least
    squares (ridge) over :math:`\beta`, from ``n_starts`` starts, and returns
    the best start.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design (full column rank unless ``ridge > 0``).
    Y : array_like of shape (n,)
        The responses, possibly mismatched with the rows of ``X``.
    penalty : float or "auto", default="auto"
        The Hamming penalty :math:`\lambda_h \ge 0`. ``"auto"`` uses
        :math:`2\log(n)\,\hat\sigma^2` (see Notes).
    n_starts : int, default=20
        Number of starts (>= 1): least squares at the identity, then fits on
        random row subsets of sizes ``p+1 .. 2p`` (RANSAC-style); for
        ``p = 1`` two of them are the sign pilots :math:`\pm\|Y\|/\|X\|`.
    max_iter : int, default=10
        Assignment steps per start and pass (>= 1).
    ridge : float, default=0.0
        Ridge penalty :math:`\lambda_r \ge 0` on the coefficients (not on the
        intercept). ``ridge > 0`` allows ``n <= p``.
    movable : array_like of bool, shape (n,), or None, default=None
        Row-partial design: only these rows may move.
    permuted_cols : array_like of int or bool, or None, default=None
        Column-partial design: only these columns of ``X`` are mismatched.
    fit_intercept : bool, default=False
        Prepend a column of ones (its coefficient is ``intercept``).
    rng : int or numpy.random.Generator, default=0
        Seed or generator for the random starts.

    Returns
    -------
    LAPFit
        The permutation, coefficients, residual variance, RSS, objective,
        resolved penalty and iteration count of the best start.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, ``Y`` not 1-D, their lengths differ, an entry is
        NaN/inf, ``n <= p`` without ridge, ``X`` is rank deficient without
        ridge, ``penalty < 0``, ``n_starts < 1``, ``max_iter < 1`` or a mask
        is malformed.
    TypeError
        If an option has the wrong type.

    See Also
    --------
    least_squares_bruteforce : The exact minimiser for tiny ``n``.
    repro_candidate_set : Candidate permutations around this estimate.

    Notes
    -----
    For fixed :math:`\beta` the minimisation over :math:`\pi` is the linear
    assignment problem with cost

    .. math::

        C_{ij} = (Y_i - x_j^\top\beta)^2 + \lambda_h 1\{i \ne j\},

    and for fixed :math:`\pi` the minimisation over :math:`\beta` is least
    squares, so each start decreases the objective until :math:`\pi` stops
    changing. The Hamming penalty is the Lagrangian of the sparsity
    constraint :math:`h(\pi)\le k`; without it rows whose fitted values are
    closer than the noise get swapped. With ``penalty="auto"``,
    :math:`\lambda_h = c_h\hat\sigma^2` with :math:`c_h = 2\log n`: a swap
    of two rows costs :math:`2\lambda_h` and the noise alone makes some of the
    :math:`O(n^2)` pairs of rows with nearby fitted values gain up to
    :math:`(\varepsilon_i-\varepsilon_j)^2\sigma^2/2`, so the factor must
    grow like :math:`\log n` (a union bound over pairs, as in BIC) to keep
    spurious swaps rare. A first pass re-estimates :math:`\hat\sigma` before
    each step from the median absolute residual (robust to the mismatched
    rows), then :math:`\lambda_h = c_h\min_s \mathrm{RSS}_s/(n-p)` is fixed
    and a second pass compares all starts on one objective. The identity with its least
    squares fit is always a candidate. Each assignment step costs
    :math:`O(n^3)`.

    References
    ----------
    .. [1] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely
       Permuted Linear Regression", arXiv:2601.14872, 2026.
    .. [2] A. Pananjady, M. J. Wainwright and T. A. Courtade, "Linear
       regression with shuffled data: statistical and computational limits of
       permutation recovery", IEEE Trans. Inf. Theory 64(5), 2018.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(40, 3, k=6, sigma=0.1, rng=0)
    >>> fit = shuffled.fit_lap(data.X, data.Y, rng=0)
    >>> bool((fit.perm == data.perm).all()), fit.beta.round(1).tolist()
    (True, [1.0, 1.0, 1.0])
    """
    lam = _check_penalty(penalty)
    ridge = _check_ridge(ridge)
    fit_intercept = _check_bool(fit_intercept, name="fit_intercept")
    n_starts = check_scalar(n_starts, name="n_starts", kind=int, lower=1)
    max_iter = check_scalar(max_iter, name="max_iter", kind=int, lower=1)
    Xa, Ya = _check_xy(X, Y, ridge=ridge)
    n, p = Xa.shape
    if fit_intercept and ridge == 0.0 and n <= p + 1:
        raise ValueError(
            f"X must have more rows than columns + 1 with fit_intercept=True; "
            f"got n={n}, p={p}."
        )
    design = _make_design(
        Xa,
        ridge=ridge,
        movable=_check_movable(movable, n),
        permuted=_check_permuted_cols(permuted_cols, p),
        fit_intercept=fit_intercept,
    )
    gen = _as_rng(rng)
    Yb = Ya[None]
    pilots = _pilots(design, Yb, gen, n_starts)
    state, obj, rss, _ = engine.fit_batch(
        design, Yb, penalty=lam, pilots=pilots, max_iter=max_iter
    )
    return _to_fit(design, state, obj, rss, fit_intercept)


def least_squares_bruteforce(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    k_max: int | None = None,
    max_n: int = 9,
    penalty: float = 0.0,
    ridge: float = 0.0,
    movable: ArrayLike | None = None,
) -> LAPFit:
    r"""The exact least-squares permutation by enumerating all of them.

    Evaluates the profile objective :math:`\min_\beta \|Y - \Pi X\beta\|^2 +
    \lambda_r\|\beta\|^2 + \lambda_h h(\pi)` for every permutation (or every
    one moving at most ``k_max`` rows) at once and returns the minimiser; the
    reference that :func:`fit_lap` is tested against.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design.
    Y : array_like of shape (n,)
        The responses.
    k_max : int or None, default=None
        Search only permutations moving at most ``k_max`` rows
        (:math:`S_{n,k}`); ``None``: all of :math:`S_n`.
    max_n : int, default=9
        Refuse ``n > max_n`` (``n!`` permutations; 9! = 362880).
    penalty : float, default=0.0
        Hamming penalty :math:`\lambda_h \ge 0`.
    ridge : float, default=0.0
        Ridge penalty :math:`\lambda_r \ge 0`.
    movable : array_like of bool, shape (n,), or None, default=None
        Only these rows may move.

    Returns
    -------
    LAPFit
        The exact minimiser (``n_iter = 0``, ``converged = True``).

    Raises
    ------
    ValueError
        If ``n > max_n`` (factorial cost), the data are invalid (as in
        :func:`fit_lap`), ``k_max < 0``, ``penalty < 0`` or ``ridge < 0``.

    See Also
    --------
    fit_lap : The polynomial-time estimator.

    Notes
    -----
    With a thin factor :math:`K = X (X^\top X + \lambda_r I)^{-1/2}` the
    profile objective is
    :math:`\|Y\|^2 - \|K^\top \Pi^\top Y\|^2 + \lambda_h h(\pi)`, so all
    :math:`n!` values are one matrix product; time :math:`O(n!\,np)`.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(7, 2, k=3, sigma=0.05, rng=0)
    >>> exact = shuffled.least_squares_bruteforce(data.X, data.Y)
    >>> bool((exact.perm == data.perm).all())
    True
    """
    max_n = check_scalar(max_n, name="max_n", kind=int, lower=1)
    lam = check_scalar(penalty, name="penalty", lower=0.0)
    ridge = _check_ridge(ridge)
    Xa, Ya = _check_xy(X, Y, ridge=ridge)
    n, p = Xa.shape
    if n > max_n:
        raise ValueError(
            f"least_squares_bruteforce enumerates n! permutations; n={n} exceeds "
            f"max_n={max_n}. Use fit_lap for larger problems."
        )
    mask = _check_movable(movable, n)
    rows = np.arange(n) if mask is None else np.flatnonzero(mask)
    sub = np.asarray(list(itertools.permutations(range(rows.size))), dtype=np.int64)
    perms = np.broadcast_to(np.arange(n), (sub.shape[0], n)).copy()
    perms[:, rows] = rows[sub]
    h = engine.hamming(perms)
    if k_max is not None:
        k_max = check_scalar(k_max, name="k_max", kind=int, lower=0)
        perms, h = perms[h <= k_max], h[h <= k_max]
    gram = Xa.T @ Xa + ridge * np.eye(p)
    chol = np.linalg.cholesky(gram)
    K = np.linalg.solve(chol, Xa.T).T  # X L^{-T}: K K^T = X (G + rI)^{-1} X^T
    inverse = np.argsort(perms, axis=1)
    proj = Ya[inverse] @ K  # rows: K^T Pi^T Y
    obj = float(Ya @ Ya) - np.sum(proj**2, axis=1) + lam * h
    best = int(np.argmin(obj))
    perm = perms[best]
    beta = np.linalg.solve(gram, Xa[perm].T @ Ya)
    rss = float(np.sum((Ya - Xa[perm] @ beta) ** 2))
    return LAPFit(
        perm=perm.copy(),
        beta=beta,
        intercept=0.0,
        sigma2=rss / max(n - p, 1),
        rss=rss,
        objective=float(obj[best]),
        penalty=float(lam),
        n_iter=0,
        converged=True,
    )


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


# --------------------------------------------------------------------------- #
# conditional Monte Carlo test
# --------------------------------------------------------------------------- #
def _null_copies(
    X0: np.ndarray, Y: np.ndarray, n_mc: int, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    r"""Copies of each row of ``Y`` drawn given the null's sufficient statistic.

    Given :math:`(\hat\beta_0, \mathrm{RSS}_0)`, ``Y`` is uniform on the
    sphere of radius ``sqrt(RSS0)`` in the residual space around the fit.
    ``Y`` is (r, n); returns copies (r, n_mc, n) and RSS0 (r,).
    """
    Q, _ = np.linalg.qr(X0)
    fitted = (Y @ Q) @ Q.T
    rss0 = np.sum((Y - fitted) ** 2, axis=1)
    z = gen.standard_normal((Y.shape[0], n_mc, Y.shape[1]))
    z -= (z @ Q) @ Q.T
    z /= np.linalg.norm(z, axis=2, keepdims=True)
    return fitted[:, None, :] + np.sqrt(rss0)[:, None, None] * z, rss0


def _max_resid(X0: np.ndarray, Ys: np.ndarray) -> np.ndarray:
    """Largest studentised |residual| of least squares at the identity."""
    Q, _ = np.linalg.qr(X0)
    res = Ys - (Ys @ Q) @ Q.T
    n, p = X0.shape
    lev = np.sum(Q**2, axis=1)
    s = np.sqrt(np.sum(res**2, axis=1, keepdims=True) / (n - p))
    stud = np.abs(res) / (s * np.sqrt(np.clip(1.0 - lev, 1e-12, None)))
    return np.max(stud, axis=1)


def _lap_lr(
    X0: np.ndarray,
    Ys: np.ndarray,
    *,
    penalty: float | None,
    ridge: float,
    n_starts: int,
    max_iter: int,
    gen: np.random.Generator,
) -> np.ndarray:
    """``1 - obj(LAP fit) / obj(identity)`` for every row of ``Ys``.

    The start subsets are drawn once and shared by all rows, so the statistic
    is one fixed function of the data (needed for exactness).
    """
    design = _make_design(
        X0,
        ridge=ridge,
        movable=None,
        permuted=np.ones(X0.shape[1], dtype=bool),
        fit_intercept=False,
    )
    pilots = _pilots(design, Ys, gen, n_starts)
    _, obj, _, id_obj = engine.fit_batch(
        design, Ys, penalty=penalty, pilots=pilots, max_iter=max_iter
    )
    return np.clip(1.0 - obj / id_obj, 0.0, None)


def _warn_level(n_mc: int, alpha: float) -> None:
    if 1.0 / (n_mc + 1) > alpha:
        warnings.warn(
            f"n_mc={n_mc} is too small for level alpha={alpha}: the smallest "
            f"attainable p-value 1/(n_mc+1) = {1 / (n_mc + 1):.3g} exceeds "
            "alpha, so the test can never reject. Use n_mc >= 1/alpha - 1.",
            UserWarning,
            stacklevel=3,
        )


def _mc_test(
    Xa: np.ndarray,
    Ya: np.ndarray,
    null_perm: np.ndarray,
    *,
    statistic: str | Callable[[np.ndarray, np.ndarray], Any],
    n_mc: int,
    penalty: float | None,
    ridge: float,
    n_starts: int,
    max_iter: int,
    gen: np.random.Generator,
) -> PermutationTestResult:
    """The test for one response (n,) or a batch of responses (r, n)."""
    single = Ya.ndim == 1
    Yb = Ya[None] if single else Ya
    r, n = Yb.shape
    X0 = Xa[null_perm]
    copies, rss0 = _null_copies(X0, Yb, n_mc, gen)
    scale = np.maximum(np.sum(Yb**2, axis=1), 1e-300)
    if np.any(rss0 <= 1e-24 * scale):
        warnings.warn(
            "the hypothesised alignment fits Y exactly (residual sum of squares "
            f"{float(rss0.min()):.3g}): sigma_hat is 0 and the p-value is "
            "degenerate.",
            UserWarning,
            stacklevel=3,
        )
    Ys = np.concatenate([Yb[:, None, :], copies], axis=1).reshape(r * (n_mc + 1), n)
    if callable(statistic):
        t = np.asarray(statistic(X0, Ys), dtype=np.float64)
        if t.shape != (r * (n_mc + 1),):
            raise ValueError(
                "a callable statistic must map (X, Ys of shape (m, n)) to m "
                f"values; got shape {t.shape} for m={r * (n_mc + 1)}."
            )
        method = "callable"
    elif statistic == "max_resid":
        t, method = _max_resid(X0, Ys), "max_resid"
    else:
        t = _lap_lr(
            X0,
            Ys,
            penalty=penalty,
            ridge=ridge,
            n_starts=n_starts,
            max_iter=max_iter,
            gen=gen,
        )
        method = "lap_lr"
    t = t.reshape(r, n_mc + 1)
    t_obs, t_null = t[:, 0], t[:, 1:]
    slack = _TIE_RTOL * np.maximum(np.abs(t_obs), 1.0)
    exceed = np.sum(t_null >= (t_obs - slack)[:, None], axis=1)
    p_value = (1.0 + exceed) / (n_mc + 1.0)
    return PermutationTestResult(
        statistic=float(t_obs[0]) if single else t_obs,
        p_value=float(p_value[0]) if single else p_value,
        null_statistics=t_null[0] if single else t_null,
        null_perm=null_perm,
        n_mc=n_mc,
        method=method,
    )


def _check_statistic(statistic: Any) -> Any:
    if isinstance(statistic, str):
        return check_in(statistic, name="statistic", options=("lap_lr", "max_resid"))
    return check_callable(statistic, name="statistic")


def conditional_mc_test(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    null_perm: ArrayLike | None = None,
    statistic: Literal["lap_lr", "max_resid"]
    | Callable[[np.ndarray, np.ndarray], Any] = "lap_lr",
    n_mc: int = 999,
    penalty: Penalty = "auto",
    ridge: float = 0.0,
    n_starts: int = 5,
    max_iter: int = 10,
    rng: Rng = 0,
) -> PermutationTestResult:
    r"""Test a hypothesised permutation with an exact conditional Monte Carlo test.

    Tests :math:`H_0: \pi^* = \pi_0` (default: the identity, "no mismatch")
    under Gaussian noise. Given the sufficient statistic
    :math:`(\hat\beta_0, \mathrm{RSS}_0)` of the null model, :math:`Y` is
    uniform on a sphere whatever :math:`(\beta, \sigma)` are; ``n_mc`` copies
    are drawn from that law and the statistic of :math:`Y` is ranked among
    theirs.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design (full column rank, ``n > p``).
    Y : array_like of shape (n,) or (n_datasets, n)
        The responses; a 2-D array holds several response vectors observed
        with the same design, each tested separately in one vectorised run
        (the result's fields then have a leading ``n_datasets`` axis).
    null_perm : array_like of int, shape (n,), or None, default=None
        The hypothesised permutation :math:`\pi_0`; ``None``: the identity.
    statistic : {"lap_lr", "max_resid"} or callable, default="lap_lr"
        ``"lap_lr"``: :math:`T = 1 - \mathrm{obj}(\hat\pi_{\mathrm{LAP}}) /
        \mathrm{RSS}_0`, the relative drop of the penalised objective when the
        rows may move (relative to :math:`\pi_0`). ``"max_resid"``: the
        largest studentised absolute residual (cheap, weaker). A callable
        ``statistic(X0, Ys)`` receives the permuted design
        :math:`X_0 = \Pi_0 X` and a batch ``Ys`` of shape ``(m, n)`` and
        returns ``m`` values (large values speak against the null).
    n_mc : int, default=999
        Number of null copies :math:`B \ge 1`.
    penalty : float or "auto", default="auto"
        Hamming penalty of the ``"lap_lr"`` fits.
    ridge : float, default=0.0
        Ridge penalty of the ``"lap_lr"`` fits.
    n_starts : int, default=5
        Starts of the ``"lap_lr"`` fits (the same for every copy).
    max_iter : int, default=10
        Assignment steps per start of the ``"lap_lr"`` fits.
    rng : int or numpy.random.Generator, default=0
        Seed or generator.

    Returns
    -------
    PermutationTestResult
        The observed statistic, the p-value
        :math:`(1 + \#\{b: t_b \ge t_{\mathrm{obs}}\})/(B+1)` and the null
        statistics.

    Raises
    ------
    ValueError
        On invalid data (as in :func:`fit_lap`; ``n > p`` is always needed),
        ``n_mc < 1``, ``null_perm`` not a permutation of ``range(n)``, an
        unknown statistic, ``penalty < 0`` or a callable statistic returning
        the wrong shape.
    TypeError
        If ``statistic`` is neither a known name nor callable.

    Warns
    -----
    UserWarning
        If ``n_mc < 19`` (the test can never reject at level 0.05) or the null
        alignment fits ``Y`` exactly (degenerate p-value).

    See Also
    --------
    structure_test : Composite nulls ("only rows in a block move").
    permutation_confidence_set : Inverts this test over candidates.

    Notes
    -----
    Under :math:`H_0`, with :math:`X_0 = \Pi_0 X`, :math:`P_0` the projector
    on its column space, :math:`\hat\beta_0` the least squares fit and
    :math:`\mathrm{RSS}_0 = \|(I-P_0)Y\|^2`,

    .. math::

        Y = X_0\hat\beta_0 + \sqrt{\mathrm{RSS}_0}\,U,\qquad
        U \sim \mathrm{Unif}\big(S^{n-1}\cap \mathrm{col}(X_0)^\perp\big),

    independently of :math:`(\hat\beta_0, \mathrm{RSS}_0)`. Copies
    :math:`Y^{(b)}` drawn this way are exchangeable with :math:`Y` given the
    sufficient statistic, so :math:`P_{H_0}(p \le \alpha) \le \alpha` for
    every :math:`n` and :math:`B`, whatever the statistic, as long as it is a
    fixed function of the data (the random starts are shared by all copies).
    Exactness relies on Gaussian noise. The ``"lap_lr"`` statistic is 0 when
    no row move pays for its penalty; such ties count against the data, so
    under :math:`H_0` the p-value is often exactly 1 and the test is
    conservative.

    References
    ----------
    .. [1] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely
       Permuted Linear Regression", arXiv:2601.14872, 2026.
    .. [2] B. H. Lindqvist and G. Taraldsen, "Monte Carlo conditioning on a
       sufficient statistic", Biometrika 92(2), 2005.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> clean = shuffled.simulate_shuffled(40, 2, k=0, sigma=0.3, rng=0)
    >>> mixed = shuffled.simulate_shuffled(40, 2, k=8, sigma=0.3, rng=0)
    >>> p_clean = shuffled.conditional_mc_test(clean.X, clean.Y, n_mc=99).p_value
    >>> p_mixed = shuffled.conditional_mc_test(mixed.X, mixed.Y, n_mc=99).p_value
    >>> p_clean > 0.05, p_mixed <= 0.05
    (True, True)
    """
    statistic = _check_statistic(statistic)
    n_mc = check_scalar(n_mc, name="n_mc", kind=int, lower=1)
    lam = _check_penalty(penalty)
    ridge = _check_ridge(ridge)
    n_starts = check_scalar(n_starts, name="n_starts", kind=int, lower=1)
    max_iter = check_scalar(max_iter, name="max_iter", kind=int, lower=1)
    Y_arr = as_numpy(Y, name="Y", ndim=(1, 2), shape_hint="(n,) or (n_datasets, n)")
    Xa, _ = _check_xy(X, Y_arr[0] if Y_arr.ndim == 2 else Y_arr, need_dof=True)
    if Y_arr.ndim == 2 and Y_arr.shape[1] != Xa.shape[0]:
        raise ValueError(
            f"Y of shape (n_datasets, n) must have n = {Xa.shape[0]} columns (the "
            f"rows of X); got shape {Y_arr.shape}."
        )
    Ya = Y_arr
    n = Xa.shape[0]
    pi0 = (
        np.arange(n)
        if null_perm is None
        else _check_perm(null_perm, n, name="null_perm")
    )
    gen = _as_rng(rng)
    _warn_level(n_mc, 0.05)
    return _mc_test(
        Xa,
        Ya,
        pi0,
        statistic=statistic,
        n_mc=n_mc,
        penalty=lam,
        ridge=ridge,
        n_starts=n_starts,
        max_iter=max_iter,
        gen=gen,
    )


def _candidate_perms(candidates: Any, n: int) -> np.ndarray:
    if isinstance(candidates, CandidateSet):
        perms = candidates.perms
    else:
        perms = np.asarray(candidates)
        if perms.ndim == 1:
            perms = perms[None]
    if perms.ndim != 2 or perms.shape[1] != n or perms.shape[0] == 0:
        raise ValueError(
            f"candidates must be a CandidateSet or an array of shape (m, {n}) with "
            f"m >= 1; got shape {perms.shape}."
        )
    return np.stack([_check_perm(q, n, name="candidates row") for q in perms])


def structure_test(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    null_set: Callable[[np.ndarray], bool] | ArrayLike,
    candidates: CandidateSet | ArrayLike | None = None,
    delta: float = 0.0,
    n_mc: int = 999,
    n_draws: int = 200,
    penalty: Penalty = "auto",
    n_starts: int = 5,
    rng: Rng = 0,
) -> PermutationTestResult:
    r"""Test a composite permutation structure :math:`H_0: \pi^* \in S_0`.

    The Berger–Boos p-value
    :math:`p_{S_0} = \max_{\pi \in C_M(Y)\cap S_0} p_\pi(Y) + \delta`, with
    :math:`p_\pi` the conditional Monte Carlo p-value of
    :math:`H_0: \pi^* = \pi` (:func:`conditional_mc_test`) and :math:`C_M`
    the repro-samples candidate set; :math:`\delta` bounds the probability
    that :math:`C_M` misses :math:`\pi^*`.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design.
    Y : array_like of shape (n,)
        The responses.
    null_set : callable or array_like of bool, shape (n,)
        :math:`S_0`: a predicate ``null_set(perm) -> bool``, or a boolean mask
        of the rows that may move under the null (the permutations fixing
        every other row; e.g. "rows outside block G are correctly matched").
    candidates : CandidateSet or array_like of shape (m, n), or None, default=None
        The candidate set; ``None`` computes :func:`repro_candidate_set` with
        ``n_draws`` draws.
    delta : float, default=0.0
        The localisation slack :math:`\delta\in[0, 1]` added to the p-value.
    n_mc : int, default=999
        Null copies per candidate test.
    n_draws : int, default=200
        Draws for the candidate set when ``candidates`` is None.
    penalty : float or "auto", default="auto"
        Hamming penalty (candidates and statistic).
    n_starts : int, default=5
        Starts of the statistic's LAP fits.
    rng : int or numpy.random.Generator, default=0
        Seed or generator.

    Returns
    -------
    PermutationTestResult
        ``p_value`` = :math:`\min(1, p_{S_0})`; ``null_perm``, ``statistic``
        and ``null_statistics`` are those of the candidate with the largest
        p-value. When no candidate lies in :math:`S_0` the p-value is
        :math:`\delta`, ``statistic`` is NaN and ``null_perm`` is the point
        estimate.

    Raises
    ------
    ValueError
        On invalid data, ``delta`` outside ``[0, 1]``, ``n_mc < 1``, a mask
        of the wrong length or malformed candidates.
    TypeError
        If ``null_set`` is neither callable nor a mask.

    See Also
    --------
    conditional_mc_test : The simple-null test used per candidate.

    Notes
    -----
    If :math:`P(\pi^*\notin C_M)\le\delta`, then
    :math:`P_{H_0}(p_{S_0}\le\alpha) \le \alpha` (Berger and Boos, 1994).

    References
    ----------
    .. [1] R. L. Berger and D. D. Boos, "P values maximised over a confidence
       set for the nuisance parameter", JASA 89(427), 1994.
    .. [2] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely
       Permuted Linear Regression", arXiv:2601.14872, 2026.

    Examples
    --------
    >>> import numpy as np
    >>> from mltheory.stats import shuffled
    >>> block = np.zeros(30, dtype=bool)
    >>> block[:10] = True
    >>> data = shuffled.simulate_shuffled(30, 2, k=4, sigma=0.2, movable=block, rng=0)
    >>> res = shuffled.structure_test(data.X, data.Y, null_set=block,
    ...                               n_mc=49, n_draws=20, rng=0)
    >>> res.p_value > 0.05
    True
    """
    delta = check_scalar(delta, name="delta", lower=0.0, upper=1.0)
    n_mc = check_scalar(n_mc, name="n_mc", kind=int, lower=1)
    lam = _check_penalty(penalty)
    Xa, Ya = _check_xy(X, Y, need_dof=True)
    n = Xa.shape[0]
    if callable(null_set):
        in_null: Callable[[np.ndarray], bool] = null_set
    else:
        block = _check_movable(null_set, n)
        assert block is not None

        def in_null(perm: np.ndarray) -> bool:
            return bool(np.all(perm[~block] == np.flatnonzero(~block)))

    gen = _as_rng(rng)
    if candidates is None:
        candidates = repro_candidate_set(
            Xa, Ya, n_draws=n_draws, penalty=penalty, rng=gen
        )
    point = (
        candidates.point_estimate
        if isinstance(candidates, CandidateSet)
        else _candidate_perms(candidates, n)[0]
    )
    perms = _candidate_perms(candidates, n)
    _warn_level(n_mc, 0.05)
    best: PermutationTestResult | None = None
    for perm in perms:  # a loop over a handful of candidates, not over draws
        if not in_null(perm):
            continue
        res = _mc_test(
            Xa,
            Ya,
            perm,
            statistic="lap_lr",
            n_mc=n_mc,
            penalty=lam,
            ridge=0.0,
            n_starts=n_starts,
            max_iter=10,
            gen=gen,
        )
        if best is None or res.p_value > best.p_value:
            best = res
    if best is None:
        return PermutationTestResult(
            statistic=float("nan"),
            p_value=float(delta),
            null_statistics=np.zeros(0),
            null_perm=np.asarray(point, dtype=np.int64),
            n_mc=n_mc,
            method="structure:lap_lr",
        )
    return dataclasses.replace(
        best,
        p_value=min(1.0, best.p_value + delta),
        method="structure:lap_lr",
    )


def _check_alpha(alpha: Any, *, name: str = "alpha", upper: float = 1.0) -> float:
    return float(
        check_scalar(
            alpha,
            name=name,
            lower=0.0,
            upper=upper,
            lower_inclusive=False,
            upper_inclusive=False,
        )
    )


def permutation_confidence_set(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    alpha: float = 0.05,
    candidates: CandidateSet | ArrayLike | None = None,
    n_mc: int = 499,
    n_draws: int = 200,
    penalty: Penalty = "auto",
    n_starts: int = 5,
    rng: Rng = 0,
) -> PermutationConfidenceSet:
    r"""A confidence set for the permutation: the candidates the test keeps.

    :math:`\Gamma_\alpha(Y) = \{\pi \in C_M(Y) : p_\pi(Y) > \alpha\}`, with
    :math:`p_\pi` the conditional Monte Carlo p-value of
    :math:`H_0: \pi^*=\pi`.

    Parameters
    ----------
    X : array_like of shape (n, p)
        The design.
    Y : array_like of shape (n,)
        The responses.
    alpha : float, default=0.05
        Level in (0, 1).
    candidates : CandidateSet or array_like of shape (m, n), or None, default=None
        Candidates to test; ``None`` computes :func:`repro_candidate_set`.
    n_mc : int, default=499
        Null copies per candidate.
    n_draws : int, default=200
        Draws for the candidate set when ``candidates`` is None.
    penalty : float or "auto", default="auto"
        Hamming penalty.
    n_starts : int, default=5
        Starts of the statistic's LAP fits.
    rng : int or numpy.random.Generator, default=0
        Seed or generator.

    Returns
    -------
    PermutationConfidenceSet
        The kept permutations and their p-values (and all tested ones).

    Raises
    ------
    ValueError
        On invalid data, ``alpha`` outside (0, 1), ``n_mc < 1`` or malformed
        candidates.

    Warns
    -----
    UserWarning
        If ``n_mc + 1 < 1/alpha`` (no candidate can ever be rejected).

    See Also
    --------
    conditional_mc_test : The test inverted here.

    Notes
    -----
    Coverage: :math:`P(\pi^*\in\Gamma_\alpha) \ge 1-\alpha-P(\pi^*\notin
    C_M)`.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(20, 1, k=2, sigma=0.1, rng=1)
    >>> cs = shuffled.permutation_confidence_set(
    ...     data.X, data.Y, n_mc=39, n_draws=10, rng=0)
    >>> len(cs.perms) >= 1
    True
    """
    alpha = _check_alpha(alpha)
    n_mc = check_scalar(n_mc, name="n_mc", kind=int, lower=1)
    lam = _check_penalty(penalty)
    Xa, Ya = _check_xy(X, Y, need_dof=True)
    n = Xa.shape[0]
    gen = _as_rng(rng)
    if candidates is None:
        candidates = repro_candidate_set(
            Xa, Ya, n_draws=n_draws, penalty=penalty, rng=gen
        )
    perms = _candidate_perms(candidates, n)
    _warn_level(n_mc, alpha)
    pvals = np.asarray(
        [
            _mc_test(
                Xa,
                Ya,
                perm,
                statistic="lap_lr",
                n_mc=n_mc,
                penalty=lam,
                ridge=0.0,
                n_starts=n_starts,
                max_iter=10,
                gen=gen,
            ).p_value
            for perm in perms  # one test per candidate (a handful)
        ]
    )
    keep = pvals > alpha
    return PermutationConfidenceSet(
        perms=perms[keep],
        p_values=pvals[keep],
        candidate_perms=perms,
        candidate_p_values=pvals,
        alpha=alpha,
    )


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


# --------------------------------------------------------------------------- #
# estimator
# --------------------------------------------------------------------------- #
class ShuffledRegression:
    r"""Linear regression when some responses are matched to the wrong rows.

    A scikit-learn-style estimator over :func:`fit_lap`,
    :func:`repro_candidate_set`, :func:`conditional_mc_test` and
    :func:`coefficient_confidence_set`: ``fit`` estimates the permutation and
    the coefficients; ``test_no_mismatch`` tests whether any row is
    mismatched; ``conf_int`` gives coefficient confidence sets that account
    for the uncertain alignment. Constructor arguments are stored unchanged
    and validated in ``fit``.

    Parameters
    ----------
    penalty : float or "auto", default="auto"
        Hamming penalty (see :func:`fit_lap`).
    n_starts : int, default=20
        Starts of the LAP estimator.
    ridge : float, default=0.0
        Ridge penalty on the coefficients.
    fit_intercept : bool, default=False
        Fit an intercept (not penalised, not affected by the permutation).
    n_draws : int, default=200
        Monte Carlo draws of the candidate set.
    alpha : float, default=0.05
        Default level of the confidence sets.
    random_state : int, default=0
        Seed.

    Attributes
    ----------
    coef_ : numpy.ndarray of shape (p,)
        Coefficients.
    intercept_ : float
        Intercept (0 unless ``fit_intercept``).
    permutation_ : numpy.ndarray of shape (n,)
        Estimated permutation of the training rows.
    sigma_ : float
        Residual standard deviation.
    candidates_ : CandidateSet
        Candidate permutations.
    fit_ : LAPFit
        The underlying fit.
    n_features_in_ : int
        Number of columns of the training ``X``.

    See Also
    --------
    fit_lap : The point estimator.
    coefficient_confidence_set : The coefficient sets.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.simulate_shuffled(40, 2, k=6, sigma=0.2, rng=0)
    >>> model = shuffled.ShuffledRegression(n_draws=20).fit(data.X, data.Y)
    >>> model.coef_.round(1).tolist()
    [1.0, 1.0]
    >>> int((model.permutation_ != data.perm).sum())  # rows matched differently
    2
    >>> model.predict(data.X[:2]).shape
    (2,)
    """

    _PARAMS = (
        "alpha",
        "fit_intercept",
        "n_draws",
        "n_starts",
        "penalty",
        "random_state",
        "ridge",
    )

    def __init__(
        self,
        *,
        penalty: Penalty = "auto",
        n_starts: int = 20,
        ridge: float = 0.0,
        fit_intercept: bool = False,
        n_draws: int = 200,
        alpha: float = 0.05,
        random_state: int = 0,
    ) -> None:
        self.penalty = penalty
        self.n_starts = n_starts
        self.ridge = ridge
        self.fit_intercept = fit_intercept
        self.n_draws = n_draws
        self.alpha = alpha
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool, default=True
            Ignored (there are no nested estimators); kept for compatibility.

        Returns
        -------
        dict
            Parameter name to value.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> shuffled.ShuffledRegression(ridge=0.5).get_params()["ridge"]
        0.5
        """
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> ShuffledRegression:
        """Set constructor arguments, as scikit-learn's ``set_params``.

        Parameters
        ----------
        **params : dict
            Parameter names and values.

        Returns
        -------
        ShuffledRegression
            ``self``.

        Raises
        ------
        ValueError
            If a name is not a parameter.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> shuffled.ShuffledRegression().set_params(n_draws=50).n_draws
        50
        """
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(
                    f"invalid parameter {name!r} for ShuffledRegression; valid: "
                    f"{', '.join(self._PARAMS)}."
                )
            setattr(self, name, value)
        return self

    def _design(self) -> np.ndarray:
        if self.fit_intercept:
            return np.concatenate([np.ones((self._X.shape[0], 1)), self._X], axis=1)
        return self._X

    def fit(self, X: ArrayLike, Y: ArrayLike) -> ShuffledRegression:
        """Estimate the permutation, the coefficients and the candidate set.

        Parameters
        ----------
        X : array_like of shape (n, p)
            The design.
        Y : array_like of shape (n,)
            The responses.

        Returns
        -------
        ShuffledRegression
            ``self``, fitted.

        Raises
        ------
        ValueError
            On invalid data or parameters (see :func:`fit_lap`).

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(30, 2, k=0, sigma=0.1, rng=0)
        >>> model = shuffled.ShuffledRegression(n_draws=10)
        >>> model.fit(data.X, data.Y) is model
        True
        """
        fit_intercept = _check_bool(self.fit_intercept, name="fit_intercept")
        _check_alpha(self.alpha)
        check_scalar(self.n_draws, name="n_draws", kind=int, lower=0)
        seed = check_scalar(self.random_state, name="random_state", kind=int, lower=0)
        fit = fit_lap(
            X,
            Y,
            penalty=self.penalty,
            n_starts=self.n_starts,
            ridge=self.ridge,
            fit_intercept=fit_intercept,
            rng=seed,
        )
        Xa, Ya = _check_xy(X, Y, ridge=float(self.ridge))
        self._X, self._Y = Xa, Ya
        self.fit_ = fit
        self.coef_ = fit.beta
        self.intercept_ = fit.intercept
        self.permutation_ = fit.perm
        self.sigma_ = math.sqrt(fit.sigma2)
        self.n_features_in_ = Xa.shape[1]
        self.candidates_ = repro_candidate_set(
            Xa,
            Ya,
            fit_intercept=fit_intercept,
            n_draws=self.n_draws,
            penalty=self.penalty,
            n_starts=self.n_starts,
            ridge=self.ridge,
            rng=seed,
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_"):
            raise NotFittedError(
                "This ShuffledRegression is not fitted yet; call 'fit' first."
            )

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict responses for correctly matched rows: ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array_like of shape (m, p)
            Rows to predict.

        Returns
        -------
        numpy.ndarray of shape (m,)
            Predictions.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` has the wrong number of columns or non-finite entries.

        Examples
        --------
        >>> import numpy as np
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(30, 2, k=0, sigma=0.01, rng=0)
        >>> model = shuffled.ShuffledRegression(n_draws=5).fit(data.X, data.Y)
        >>> print(round(float(model.predict([[1.0, 1.0]])[0]), 2))
        2.0
        """
        self._check_fitted()
        Xa = as_numpy(X, name="X", ndim=2, shape_hint="(n_samples, n_features)")
        if Xa.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X must have {self.n_features_in_} columns (as in fit); got "
                f"shape {Xa.shape}."
            )
        return Xa @ self.coef_ + self.intercept_

    def test_no_mismatch(
        self,
        n_mc: int = 999,
        *,
        statistic: Literal["lap_lr", "max_resid"] = "lap_lr",
    ) -> PermutationTestResult:
        r"""Test "no row is mismatched" on the training data.

        Parameters
        ----------
        n_mc : int, default=999
            Null copies.
        statistic : {"lap_lr", "max_resid"}, default="lap_lr"
            The test statistic (see :func:`conditional_mc_test`).

        Returns
        -------
        PermutationTestResult
            The test of :math:`H_0: \pi^* = \mathrm{id}`.

        Raises
        ------
        NotFittedError
            If called before ``fit``.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(40, 2, k=8, sigma=0.3, rng=0)
        >>> model = shuffled.ShuffledRegression(n_draws=5).fit(data.X, data.Y)
        >>> model.test_no_mismatch(n_mc=99).p_value <= 0.05
        True
        """
        self._check_fitted()
        return conditional_mc_test(
            self._design(),
            self._Y,
            statistic=statistic,
            n_mc=n_mc,
            penalty=self.penalty,
            ridge=self.ridge,
            rng=self.random_state,
        )

    def conf_int(self, alpha: float | None = None) -> CoefficientConfidenceSet:
        """Confidence set for the coefficients over the candidate permutations.

        Parameters
        ----------
        alpha : float or None, default=None
            Level; ``None`` uses the estimator's ``alpha``.

        Returns
        -------
        CoefficientConfidenceSet
            The union region (coordinates include the intercept first when
            ``fit_intercept=True``; with ``ridge > 0`` the region's ridge
            also shrinks the intercept).

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If ``alpha`` is not in (0, 1).

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(40, 2, k=6, sigma=0.3, rng=0)
        >>> model = shuffled.ShuffledRegression(n_draws=20).fit(data.X, data.Y)
        >>> model.conf_int().contains(data.beta)
        True
        """
        self._check_fitted()
        level = self.alpha if alpha is None else alpha
        return coefficient_confidence_set(
            self._design(),
            self._Y,
            alpha=level,
            candidates=self.candidates_,
            ridge=self.ridge,
        )

    def permutation_set(
        self, alpha: float | None = None, *, n_mc: int = 499
    ) -> PermutationConfidenceSet:
        """Confidence set for the permutation of the training rows.

        Parameters
        ----------
        alpha : float or None, default=None
            Level; ``None`` uses the estimator's ``alpha``.
        n_mc : int, default=499
            Null copies per candidate.

        Returns
        -------
        PermutationConfidenceSet
            The candidates not rejected at ``alpha``.

        Raises
        ------
        NotFittedError
            If called before ``fit``.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(20, 1, k=2, sigma=0.1, rng=1)
        >>> model = shuffled.ShuffledRegression(n_draws=10).fit(data.X, data.Y)
        >>> model.permutation_set(n_mc=39).contains(data.perm)
        True
        """
        self._check_fitted()
        level = self.alpha if alpha is None else alpha
        return permutation_confidence_set(
            self._design(),
            self._Y,
            alpha=level,
            candidates=self.candidates_,
            n_mc=n_mc,
            penalty=self.penalty,
            rng=self.random_state,
        )

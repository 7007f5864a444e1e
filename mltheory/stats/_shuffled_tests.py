"""The conditional Monte Carlo test, structure test and permutation confidence sets.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_callable,
    check_in,
    check_scalar,
)
from mltheory.stats import _shuffled_engine as engine
from mltheory.stats._shuffled_candidates import repro_candidate_set
from mltheory.stats._shuffled_checks import (
    _as_rng,
    _check_movable,
    _check_penalty,
    _check_perm,
    _check_ridge,
    _check_xy,
    _make_design,
    _pilots,
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_types import (
    _TIE_RTOL,
    CandidateSet,
    Penalty,
    PermutationConfidenceSet,
    PermutationTestResult,
    Rng,
)

__all__: list[str] = []


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
        block = _check_movable(null_set, n, name="null_set")
        if block is None:
            raise TypeError(
                "null_set must be a predicate null_set(perm) -> bool or a "
                f"boolean mask of length n={n}; got None."
            )

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

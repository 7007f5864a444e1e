"""Point estimation: the LAP assignment, the LAP fit and brute-force least squares.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import itertools

import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_scalar,
)
from mltheory.stats import _shuffled_engine as engine
from mltheory.stats._shuffled_checks import (
    _as_rng,
    _check_bool,
    _check_movable,
    _check_penalty,
    _check_permuted_cols,
    _check_ridge,
    _check_xy,
    _make_design,
    _pilots,
    _to_fit,
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_types import LAPFit, Penalty, Rng

__all__: list[str] = []


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
    :func:`mltheory.numerics.solve_assignment_sq_diff`, in :math:`O(n^3)` at
    worst and far less when the penalty keeps most rows in place.

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

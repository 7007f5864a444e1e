"""The shuffled-regression simulator.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_in,
    check_scalar,
)
from mltheory.stats._shuffled_checks import _as_rng, _check_movable
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_types import Rng, ShuffledData

__all__: list[str] = []


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

r"""Rates and tuning rules of the gamma-sieve OT-map estimator.

The rule balances the approximation error of the budget-:math:`T` sieve,
:math:`\asymp 2^{-2T}`, against its variance, :math:`\asymp |K_T|/n` with
:math:`|K_T| \asymp 2^{T/a^\dagger}` (up to logarithms), which gives

.. math::

    T^\star = \frac{a^\dagger}{2a^\dagger + 1}\log_2 n, \qquad
    \text{risk} \asymp n^{-2a^\dagger/(2a^\dagger + 1)},

the minimax rate of regression over gamma-smooth classes (Okumoto and
Suzuki, ICLR 2022). That the OT-map minimax exponent of Ponnoprat and
Imaizumi (arXiv:2505.13570) takes this form is a derivation here, not a
statement read in the paper (only its abstract could be read): the rate is
pluggable through ``kind``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import as_numpy, check_in, describe
from mltheory.stats.ot._smoothness import GammaSmoothness

__all__ = ["optimal_budget", "optimal_dim", "rate"]

_RATES: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "gamma_regression": lambda n, a: n ** (-2.0 * a / (2.0 * a + 1.0)),
}


def _check_n(n: Any) -> np.ndarray:
    arr = as_numpy(n, name="n", ndim=None)
    if (arr < 1).any():
        raise ValueError(f"n must be >= 1 (a sample size); got minimum {arr.min()}.")
    return arr


def _check_gamma(gamma: Any) -> GammaSmoothness:
    if not isinstance(gamma, GammaSmoothness):
        raise TypeError(f"gamma must be a GammaSmoothness; got {describe(gamma)}.")
    return gamma


def _out(x: np.ndarray) -> Any:
    return float(x) if x.ndim == 0 else x


def rate(
    n: ArrayLike,
    gamma: GammaSmoothness,
    *,
    kind: str | Callable[[np.ndarray, float], np.ndarray] = "gamma_regression",
) -> float | np.ndarray:
    r"""The predicted order of the :math:`L^2(\mu)` risk at sample size n.

    Parameters
    ----------
    n : int or array_like of int
        Sample sizes, ``>= 1``.
    gamma : GammaSmoothness
        The smoothness class.
    kind : str or callable, default="gamma_regression"
        ``"gamma_regression"``: :math:`n^{-2a^\dagger/(2a^\dagger+1)}`
        (derived, see the module notes); or a callable ``(n, a_dagger) ->
        rate`` to plug in another formula.

    Returns
    -------
    float or numpy.ndarray
        The rate, up to constants and logarithms.

    Raises
    ------
    ValueError
        If ``n < 1`` or ``kind`` is an unknown name.
    TypeError
        If ``gamma`` is not a :class:`GammaSmoothness`.

    See Also
    --------
    optimal_budget : The budget that attains it.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> g = ot.GammaSmoothness([1.0])  # a_dagger = 1: the n^(-2/3) rate
    >>> round(ot.rate(1000, g), 6)
    0.01
    """
    arr = _check_n(n)
    g = _check_gamma(gamma)
    if callable(kind):
        fn = kind
    else:
        check_in(kind, name="kind", options=tuple(_RATES))
        fn = _RATES[kind]
    return _out(np.asarray(fn(arr, g.effective_smoothness()), dtype=np.float64))


def optimal_budget(n: ArrayLike, gamma: GammaSmoothness) -> float | np.ndarray:
    r"""The balancing budget :math:`T^\star = \frac{a^\dagger}{2a^\dagger+1}\log_2 n`.

    Parameters
    ----------
    n : int or array_like of int
        Sample sizes, ``>= 1``.
    gamma : GammaSmoothness
        The smoothness class.

    Returns
    -------
    float or numpy.ndarray
        :math:`T^\star`.

    Raises
    ------
    ValueError
        If ``n < 1``.
    TypeError
        If ``gamma`` is not a :class:`GammaSmoothness`.

    See Also
    --------
    optimal_dim : The number of active coordinates at that budget.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> round(ot.optimal_budget(2**9, ot.GammaSmoothness([1.0])), 6)
    3.0
    """
    arr = _check_n(n)
    a = _check_gamma(gamma).effective_smoothness()
    return _out(a / (2.0 * a + 1.0) * np.log2(arr))


def optimal_dim(n: ArrayLike, gamma: GammaSmoothness) -> int | np.ndarray:
    r"""The number of active coordinates :math:`D(T^\star) = \#\{i : a_i \le T^\star\}`.

    Parameters
    ----------
    n : int or array_like of int
        Sample sizes, ``>= 1``.
    gamma : GammaSmoothness
        The smoothness class.

    Returns
    -------
    int or numpy.ndarray of int
        Coordinates the sieve uses at sample size ``n`` (non-decreasing in
        ``n``).

    Raises
    ------
    ValueError
        If ``n < 1``.
    TypeError
        If ``gamma`` is not a :class:`GammaSmoothness`.

    See Also
    --------
    optimal_budget : The budget.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> g = ot.GammaSmoothness([0.5, 1.0, 2.0, 4.0], kind="mixed")
    >>> ot.optimal_dim(2**9, g), ot.optimal_dim(2**30, g)
    (3, 4)
    """
    g = _check_gamma(gamma)
    T = np.asarray(optimal_budget(n, g))
    w = g.weights
    dims = np.searchsorted(w, T * (1.0 + 1e-9), side="right")
    return int(dims) if dims.ndim == 0 else dims.astype(np.int64)

r"""Gamma-smoothness of functions of infinitely many variables, and its frequency sets.

A function :math:`f(u) = \sum_\ell \hat f(\ell) e^{2\pi i \langle \ell, u
\rangle}` of :math:`u \in [0, 1]^\infty` is split into dyadic blocks: the
frequency :math:`\ell \in \mathbb Z^\infty` (finitely many non-zero entries)
has level :math:`s_i(\ell) = \lceil \log_2(|\ell_i| + 1) \rceil` in
coordinate :math:`i`, so that level :math:`s \ge 1` holds the
:math:`2^s` integers with :math:`2^{s-1} \le |\ell_i| < 2^s`. A monotone
:math:`\gamma : \mathbb N_0^\infty \to \mathbb R_+` prices each block, and
the budget-:math:`T` frequency set is

.. math::

    K_T = \{\ell \ne 0 : \gamma(s(\ell)) \le T\} / \pm,

keeping one of :math:`\pm\ell` (real cosine/sine features). With weights
:math:`0 < a_1 \le a_2 \le \dots`:

* mixed smoothness, :math:`\gamma(s) = \sum_i a_i s_i`;
* anisotropic smoothness, :math:`\gamma(s) = \max_i a_i s_i`.

Following Okumoto and Suzuki (ICLR 2022), whose :math:`\gamma`-smooth spaces
the OT-map paper (Ponnoprat and Imaizumi, arXiv:2505.13570) builds on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import as_numpy, check_in, check_scalar, describe

__all__ = ["GammaSmoothness"]

# Relative slack in floor(T / a_i): budgets that are exact multiples of a
# weight (T = 2, a = 1) include their level despite rounding.
_SLACK = 1e-9


@numba.njit(cache=True)
def _bit_length(v: int) -> int:  # pragma: no cover - compiled
    s = 0
    while v > 0:
        v >>= 1
        s += 1
    return s


@numba.njit(cache=True)
def _enumerate(
    a: np.ndarray, T: float, mixed: bool, out: np.ndarray
) -> int:  # pragma: no cover - compiled
    """Pruned depth-first enumeration of K_T (first non-zero entry positive).

    Coordinate i may take |l_i| <= 2^S - 1 with S = floor(remaining / a_i);
    a budget below a_i forces l_i = 0 (and, a being non-decreasing, all later
    coordinates), so every branch ends in at least one frequency.
    """
    D = a.shape[0]
    ell = np.zeros(D, np.int64)
    hi = np.zeros(D, np.int64)
    used = np.zeros(D + 1)
    lead = np.zeros(D + 1, np.bool_)
    lead[0] = True
    k = 0
    i = 0
    descend = True
    while i >= 0:
        if descend:
            if i == D:
                if not lead[D]:
                    out[k, :] = ell
                    k += 1
                i -= 1
                descend = False
                continue
            rem = T - used[i] if mixed else T
            S = math.floor(rem / a[i] * (1.0 + 1e-9)) if rem > 0 else 0
            S = min(S, 62)
            hi[i] = (1 << S) - 1
            ell[i] = 0 if lead[i] else -hi[i]
        else:
            if ell[i] >= hi[i]:
                i -= 1
                continue
            ell[i] += 1
        level = _bit_length(abs(ell[i]))
        used[i + 1] = used[i] + a[i] * level
        lead[i + 1] = lead[i] and ell[i] == 0
        i += 1
        descend = True
    return k


def _evaluate_weights(a: Any, max_dim: int) -> np.ndarray:
    if callable(a):
        values = []
        for i in range(1, max_dim + 1):
            try:
                v = float(a(i))
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"a must return a real number for every i >= 1; a({i}) gave {err}."
                ) from err
            values.append(v)
        return np.asarray(values, dtype=np.float64)
    if isinstance(a, np.ndarray | list | tuple) or np.isscalar(a):
        arr = as_numpy(a, name="a", ndim=1, shape_hint="(n_coordinates,)")
        return np.asarray(arr, dtype=np.float64)
    raise TypeError(
        f"a must be an array of weights or a callable i -> a_i; got {describe(a)}."
    )


class GammaSmoothness:
    r"""A gamma-smoothness class: weights :math:`a_i` and a kind (mixed/anisotropic).

    Parameters
    ----------
    a : array_like of shape (d,) or callable
        Weights :math:`0 < a_1 \le a_2 \le \dots`: an array (coordinates
        beyond ``d`` carry no frequency) or a callable ``i -> a_i`` for
        ``i >= 1``, evaluated for ``i = 1..max_dim``.
    kind : {"mixed", "anisotropic"}, default="anisotropic"
        :math:`\gamma(s) = \sum_i a_i s_i` (mixed) or :math:`\max_i a_i s_i`
        (anisotropic).
    max_dim : int, default=256
        Number of coordinates evaluated for a callable ``a``.

    Raises
    ------
    ValueError
        If a weight is not finite and positive or the weights decrease; for a
        callable ``a`` with ``kind="anisotropic"``, if
        :math:`\sum_i 1/a_i` looks divergent: the fitted growth exponent
        :math:`q` of :math:`a_i \propto i^q` over ``i`` in
        ``[max_dim/2, max_dim]`` is ``<= 1.05`` (e.g. :math:`a_i = i`; an
        array of weights is a finite-dimensional class and always passes).
    TypeError
        If ``a`` is neither an array nor a callable, or ``kind``/``max_dim``
        has the wrong type.

    See Also
    --------
    GammaSieveOTMap : The estimator that uses the frequency sets.

    Notes
    -----
    The effective smoothness is :math:`a^\dagger = a_1` (mixed) and
    :math:`a^\dagger = (\sum_i 1/a_i)^{-1}` (anisotropic), as in Okumoto and
    Suzuki [1]_; for a callable ``a`` the anisotropic sum runs to
    ``max_dim``. The pair of counts behind the frequency set is exact:
    level :math:`s \ge 1` of one coordinate holds :math:`2^s` integers, so
    the anisotropic set has :math:`(\prod_{i \le D} (2^{\lfloor T/a_i
    \rfloor + 1} - 1) - 1)/2` elements.

    References
    ----------
    .. [1] S. Okumoto and T. Suzuki, "Learnability of convolutional neural
       networks for infinite dimensional input via mixed and anisotropic
       smoothness", ICLR 2022.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> g = ot.GammaSmoothness([1.0, 2.0], kind="anisotropic")
    >>> g.n_features(2.0), g.active_dim(2.0)
    (10, 2)
    >>> ot.GammaSmoothness([1.0, 2.0], kind="mixed").frequency_set(2.0).tolist()
    [[1, 0], [0, 1], [2, 0], [3, 0]]
    """

    def __init__(
        self,
        a: ArrayLike | Callable[[int], float],
        kind: Literal["mixed", "anisotropic"] = "anisotropic",
        *,
        max_dim: int = 256,
    ) -> None:
        check_in(kind, name="kind", options=("mixed", "anisotropic"))
        max_dim = check_scalar(max_dim, name="max_dim", kind=int, lower=1)
        w = _evaluate_weights(a, max_dim)
        if w.size == 0:
            raise ValueError("a must hold at least one weight; got none.")
        if not np.isfinite(w).all() or (w <= 0).any():
            bad = int(np.argmax(~np.isfinite(w) | (w <= 0)))
            raise ValueError(
                f"a must hold finite weights > 0; got a_{bad + 1} = {w[bad]}."
            )
        if (np.diff(w) < 0).any():
            bad = int(np.argmax(np.diff(w) < 0))
            raise ValueError(
                "a must be non-decreasing (a_1 <= a_2 <= ...); got "
                f"a_{bad + 1} = {w[bad]} > a_{bad + 2} = {w[bad + 1]}."
            )
        if callable(a) and kind == "anisotropic" and max_dim >= 8:
            lo = max_dim // 2
            i = np.arange(lo, max_dim + 1, dtype=np.float64)
            q = float(np.polyfit(np.log(i), np.log(w[lo - 1 :]), 1)[0])
            if q <= 1.05:
                raise ValueError(
                    "anisotropic smoothness needs sum_i 1/a_i < infinity, so a_i "
                    "must grow faster than i; the weights grow like i^q with "
                    f"q = {q:.3g} over i in [{lo}, {max_dim}] (e.g. use "
                    "a_i = i**2, or kind='mixed')."
                )
        self._a = w
        self._kind = kind

    # --- basic properties --------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        r"""The weights :math:`a_1, \dots, a_d`.

        Returns
        -------
        numpy.ndarray of shape (d,)
            A copy of the weights.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness(lambda i: i**2, max_dim=3).weights.tolist()
        [1.0, 4.0, 9.0]
        """
        return self._a.copy()

    @property
    def kind(self) -> str:
        """``"mixed"`` or ``"anisotropic"``.

        Returns
        -------
        str
            The kind.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness([1.0]).kind
        'anisotropic'
        """
        return self._kind

    def __repr__(self) -> str:
        shown = ", ".join(f"{v:g}" for v in self._a[:4])
        more = ", ..." if self._a.size > 4 else ""
        return (
            f"GammaSmoothness(a=[{shown}{more}] ({self._a.size}), kind={self._kind!r})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, GammaSmoothness)
            and self._kind == other._kind
            and np.array_equal(self._a, other._a)
        )

    def __hash__(self) -> int:
        return hash((self._kind, self._a.tobytes()))

    # --- the theory ----------------------------------------------------------------
    def gamma(self, s: ArrayLike) -> np.ndarray | float:
        r"""The price :math:`\gamma(s)` of level vectors.

        Parameters
        ----------
        s : array_like of shape (..., k)
            Non-negative integer levels of the first ``k <= d`` coordinates.

        Returns
        -------
        float or numpy.ndarray of shape (...)
            :math:`\sum_i a_i s_i` or :math:`\max_i a_i s_i`.

        Raises
        ------
        ValueError
            If ``s`` is negative, not integer-valued or longer than the
            weights.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> g = ot.GammaSmoothness([1.0, 2.0, 3.0], kind="mixed")
        >>> float(g.gamma([1, 0, 2]))
        7.0
        """
        arr = as_numpy(s, name="s", min_ndim=1)
        if arr.shape[-1] > self._a.size:
            raise ValueError(
                f"s must have at most {self._a.size} levels (one per weight); got "
                f"shape {arr.shape}."
            )
        if (arr < 0).any() or not np.array_equal(arr, np.round(arr)):
            raise ValueError("s must hold non-negative integer levels.")
        w = self._a[: arr.shape[-1]] * arr
        out = w.sum(axis=-1) if self._kind == "mixed" else w.max(axis=-1)
        return float(out) if np.ndim(out) == 0 else out

    def effective_smoothness(self) -> float:
        r"""The effective smoothness :math:`a^\dagger`.

        Returns
        -------
        float
            :math:`a_1` (mixed) or :math:`(\sum_i 1/a_i)^{-1}` (anisotropic).

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> round(ot.GammaSmoothness([1.0, 1.0]).effective_smoothness(), 6)
        0.5
        """
        if self._kind == "mixed":
            return float(self._a[0])
        return float(1.0 / np.sum(1.0 / self._a))

    def _levels(self, T: float) -> np.ndarray:
        return np.floor(T / self._a * (1.0 + _SLACK)).astype(np.int64)

    def active_dim(self, T: float) -> int:
        r"""The number :math:`D(T) = \#\{i : a_i \le T\}` of coordinates in :math:`K_T`.

        Parameters
        ----------
        T : float
            Budget, ``>= 0``.

        Returns
        -------
        int
            Coordinates that can carry frequency 1.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness([1.0, 4.0, 9.0]).active_dim(5.0)
        2
        """
        T = check_scalar(T, name="T", lower=0.0)
        return int(np.sum(self._levels(T) >= 1))

    def n_features(self, T: float) -> int:
        r"""The exact size :math:`|K_T|` (one of each :math:`\pm\ell`).

        Parameters
        ----------
        T : float
            Budget, ``>= 0``.

        Returns
        -------
        int
            The number of frequencies (a Python int, possibly huge).

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness([1.0, 2.0], kind="mixed").n_features(2.0)
        4
        """
        T = check_scalar(T, name="T", lower=0.0)
        d = self.active_dim(T)
        if d == 0:
            return 0
        a = self._a[:d]
        if self._kind == "anisotropic":
            full = 1
            for S in self._levels(T)[:d]:
                full *= (1 << int(S) + 1) - 1
            return (full - 1) // 2

        memo: dict[tuple[int, float], int] = {}

        def count(i: int, rem: float) -> int:
            if i == d or rem < a[i] * (1.0 - _SLACK):
                return 1
            key = (i, round(rem, 9))
            if key not in memo:
                top = math.floor(rem / a[i] * (1.0 + _SLACK))
                memo[key] = count(i + 1, rem) + sum(
                    (1 << s) * count(i + 1, rem - s * a[i]) for s in range(1, top + 1)
                )
            return memo[key]

        return (count(0, T) - 1) // 2

    def frequency_set(self, T: float, max_features: int = 4096) -> np.ndarray:
        r"""The frequency set :math:`K_T`, sorted by price :math:`\gamma(s(\ell))`.

        Enumerated by a pruned depth-first search (numba). Sorting by price
        makes :math:`K_T` a prefix of :math:`K_{T'}` for :math:`T < T'`.

        Parameters
        ----------
        T : float
            Budget, ``>= 0``.
        max_features : int, default=4096
            Largest allowed :math:`|K_T|`.

        Returns
        -------
        numpy.ndarray of shape (K, D(T)) and dtype int64
            One frequency per row, first non-zero entry positive; empty
            (shape ``(0, 0)``) when :math:`T < a_1`.

        Raises
        ------
        ValueError
            If :math:`|K_T|` exceeds ``max_features`` (the message gives the
            count) or ``T < 0``.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness([1.0, 2.0]).frequency_set(1.0).tolist()
        [[1]]
        """
        max_features = check_scalar(
            max_features, name="max_features", kind=int, lower=1
        )
        count = self.n_features(T)
        d = self.active_dim(T)
        if count > max_features:
            raise ValueError(
                f"the frequency set at T={T:g} has |K_T| = {count} > max_features "
                f"= {max_features}; lower T or raise max_features."
            )
        if count == 0:
            return np.zeros((0, d), dtype=np.int64)
        out = np.zeros((count, d), dtype=np.int64)
        got = _enumerate(self._a[:d].copy(), float(T), self._kind == "mixed", out)
        if got != count:  # pragma: no cover - a bug guard, never user input
            raise RuntimeError(f"enumerated {got} frequencies, expected {count}.")
        price = self.price(out)
        order = np.lexsort((*out.T[::-1], price))
        return out[order]

    def price(self, freqs: ArrayLike) -> np.ndarray:
        r"""The price :math:`\gamma(s(\ell))` of each frequency vector.

        Parameters
        ----------
        freqs : array_like of shape (K, k)
            Integer frequencies of the first ``k <= d`` coordinates.

        Returns
        -------
        numpy.ndarray of shape (K,)
            The prices.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness([1.0, 2.0]).price([[3, 1]]).tolist()
        [2.0]
        """
        F = np.abs(as_numpy(freqs, name="freqs", ndim=2, shape_hint="(K, k)"))
        levels = np.ceil(np.log2(F + 1.0) - 1e-12)
        return np.atleast_1d(np.asarray(self.gamma(levels), dtype=np.float64))

    def budgets(self, max_features: int = 4096) -> np.ndarray:
        r"""The budgets where :math:`K_T` grows, up to ``max_features`` frequencies.

        Parameters
        ----------
        max_features : int, default=4096
            Largest allowed :math:`|K_T|`.

        Returns
        -------
        numpy.ndarray
            Increasing budgets :math:`T` (values of :math:`\gamma(s)`) with
            :math:`1 \le |K_T| \le` ``max_features``.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> ot.GammaSmoothness([1.0, 2.0]).budgets(30).tolist()
        [1.0, 2.0, 3.0]
        """
        max_features = check_scalar(
            max_features, name="max_features", kind=int, lower=1
        )
        if self.n_features(float(self._a[0])) > max_features:
            return np.zeros(0)
        top = float(self._a[0])
        while self.n_features(2.0 * top) <= max_features and top < 1e6:
            top *= 2.0
        cap = 2.0 * top  # the largest admissible budget lies below this
        out: list[float] = []
        last = 0
        for T in self._prices_upto(cap):
            c = self.n_features(T)
            if c > max_features:
                break
            if c > last:
                out.append(T)
                last = c
        return np.asarray(out, dtype=np.float64)

    def _prices_upto(self, cap: float) -> list[float]:
        """Sorted distinct values gamma(s) <= cap over level vectors s != 0."""
        a = self._a[: self.active_dim(cap)]
        if self._kind == "anisotropic":
            values = {
                float(ai * s)
                for ai in a
                for s in range(1, int(cap / ai * (1.0 + _SLACK)) + 1)
            }
            return sorted(values)
        found: set[float] = set()

        def walk(i: int, used: float) -> None:
            if len(found) > 100_000:  # pragma: no cover - absurd budgets only
                return
            for j in range(i, a.size):
                if used + a[j] > cap * (1.0 + _SLACK):
                    break  # a is non-decreasing: later coordinates cost more
                s = 1
                while used + s * a[j] <= cap * (1.0 + _SLACK):
                    found.add(round(used + s * a[j], 12))
                    walk(j + 1, used + s * a[j])
                    s += 1

        walk(0, 0.0)
        return sorted(found)

"""The scikit-learn style estimator ShuffledRegression.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from mltheory._src._estimator import ParamsMixin
from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_scalar,
)
from mltheory.exceptions import NotFittedError
from mltheory.stats._shuffled_candidates import repro_candidate_set
from mltheory.stats._shuffled_checks import _check_bool, _check_xy
from mltheory.stats._shuffled_coef import coefficient_confidence_set
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_estimate import fit_lap
from mltheory.stats._shuffled_tests import (
    _check_alpha,
    conditional_mc_test,
    permutation_confidence_set,
)
from mltheory.stats._shuffled_types import (
    CoefficientConfidenceSet,
    Penalty,
    PermutationConfidenceSet,
    PermutationTestResult,
)

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# estimator
# --------------------------------------------------------------------------- #
class ShuffledRegression(ParamsMixin):
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

    Reading a fitted attribute (``coef_`` ...) before :meth:`fit` raises
    :class:`~mltheory.exceptions.NotFittedError`.

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

    _FITTED = (
        "candidates_",
        "coef_",
        "fit_",
        "intercept_",
        "n_features_in_",
        "permutation_",
        "sigma_",
    )

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: a fitted attribute read before
        # fit is a NotFittedError (an AttributeError too, so hasattr works).
        if name in type(self)._FITTED:
            raise NotFittedError(
                f"This ShuffledRegression is not fitted yet; call 'fit' before "
                f"reading {name}."
            )
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

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

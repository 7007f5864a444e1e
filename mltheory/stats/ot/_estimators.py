r"""Scikit-learn-style OT-map estimators on coefficient arrays or curves.

Every estimator maps the first :math:`D` coordinates with a finite-dimensional
map and the remaining ones with a tail rule (``"mean_shift"``: add the
difference of the sample means; ``"identity"``; ``"zero"``):

.. math::

    \hat T(x) = \sum_{j \le D} [\hat T_D(P_D x)]_j\, \psi_j
    + \text{tail}(Q_D x).

Inputs are coefficient arrays of shape ``(n, p)`` (first coordinates first)
or :class:`~mltheory.numerics.FunctionalData`; curves are projected on a
basis (``basis``, ``n_basis``) inside ``fit`` and ``transform`` returns curves
on the same grid, whose part outside the basis follows the tail rule.
"""

from __future__ import annotations

import abc
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from mltheory._src._estimator import ParamsMixin
from mltheory._src._validation import check_in, check_scalar, describe
from mltheory._src._x64 import float64_scope
from mltheory.exceptions import NotFittedError
from mltheory.numerics import FunctionalData, fpca, make_basis, project
from mltheory.stats.ot._checks import check_pair, check_samples, reject_complex
from mltheory.stats.ot._closed_forms import _bures_map
from mltheory.stats.ot._discrete import EntropicMap, _sq_cost, entropic_map
from mltheory.stats.ot._sieve import OTMapResult, _fit_with_cv, _Options
from mltheory.stats.ot._smoothness import GammaSmoothness

__all__ = ["GammaSieveOTMap", "GaussianOTMap", "ProjectedOTMap"]

_TAILS = ("mean_shift", "identity", "zero")
_BASES = ("sine", "fourier", "legendre", "bspline", "fpca")
_EMD_MAX_ENTRIES = 25_000_000


# --------------------------------------------------------------------------
# Shared machinery
# --------------------------------------------------------------------------


def _apply_tail(
    out: np.ndarray, X: np.ndarray, d: int, shift: np.ndarray, tail: str
) -> None:
    if tail == "zero":
        out[:, d:] = 0.0
    elif tail == "mean_shift":
        out[:, d:] = X[:, d:] + shift[None, :]
    else:
        out[:, d:] = X[:, d:]


def _tail_semidual(
    Xt: np.ndarray, Yt: np.ndarray, shift: np.ndarray, tail: str
) -> float:
    """Semi-dual of the tail potential |q|^2/2 + <t, q> (conjugate |r - t|^2/2)."""
    if Xt.shape[1] == 0:
        return 0.0
    if tail == "zero":
        raise ValueError(
            "score needs a convex potential on every coordinate; tail='zero' has "
            "none on the tail. Use tail='mean_shift' or 'identity'."
        )
    t = shift if tail == "mean_shift" else np.zeros_like(shift)
    return float(
        np.mean(0.5 * np.sum(Xt**2, axis=1) + Xt @ t)
        + np.mean(0.5 * np.sum((Yt - t[None, :]) ** 2, axis=1))
    )


def _discrete_conjugate(phi_x: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """phi*(y) ~ max_i <X_i, y> - phi(X_i), chunked over Y."""
    out = np.empty(Y.shape[0])
    step = max(1, 2**22 // max(X.shape[0], 1))
    for s in range(0, Y.shape[0], step):
        out[s : s + step] = np.max(Y[s : s + step] @ X.T - phi_x[None, :], axis=1)
    return out


class _BaseOTMap(ParamsMixin, abc.ABC):
    """Parameters, fitting plumbing, curves and scoring shared by the estimators."""

    tail: str
    basis: str
    n_basis: int | None
    n_features_in_: int
    dim_: int
    tail_shift_: np.ndarray
    functional_: dict[str, Any] | None
    cv_results_: dict[str, Any] | None
    _dtype: Any
    _train_x: Any

    # --- inputs -------------------------------------------------------------------
    def _check_common_params(self) -> tuple[str, str, int | None]:
        tail = check_in(self.tail, name="tail", options=_TAILS)
        basis = check_in(self.basis, name="basis", options=_BASES)
        n_basis = (
            None
            if self.n_basis is None
            else check_scalar(self.n_basis, name="n_basis", kind=int, lower=1)
        )
        return tail, basis, n_basis

    def _prepare_fit(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        _, basis, n_basis = self._check_common_params()
        self._dtype = np.float64
        if isinstance(X, FunctionalData) or isinstance(Y, FunctionalData):
            if not (isinstance(X, FunctionalData) and isinstance(Y, FunctionalData)):
                raise TypeError(
                    "X and Y must both be coefficient arrays or both FunctionalData; "
                    f"got {type(X).__name__} and {type(Y).__name__}."
                )
            return self._prepare_curves(X, Y, basis, n_basis)
        self.functional_ = None
        for arr in (X, Y):
            dt = getattr(arr, "dtype", None)
            if dt is not None and np.dtype(dt) == np.float32:
                self._dtype = np.float32
        return check_pair(X, Y)

    def _prepare_curves(
        self, X: FunctionalData, Y: FunctionalData, basis: str, n_basis: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        grid = np.asarray(X.grid, dtype=np.float64)
        if X.n_grid != Y.n_grid or not np.allclose(grid, np.asarray(Y.grid)):
            raise ValueError(
                "X and Y must be observed on the same grid; got grids of "
                f"{X.n_grid} and {Y.n_grid} points."
            )
        for Z, name in ((X, "X"), (Y, "Y")):
            if Z.n_samples < 2:
                raise ValueError(
                    f"{name} must hold at least 2 curves; got {Z.n_samples}."
                )
        w = np.asarray(X.weights, dtype=np.float64)
        G = X.n_grid
        k = min(G // 2, 64) if n_basis is None else n_basis
        if k > G:
            raise ValueError(
                f"n_basis must be <= the number of grid points ({G}); got {k}."
            )
        vx = np.asarray(X.values, dtype=np.float64)
        vy = np.asarray(Y.values, dtype=np.float64)
        with float64_scope():
            if basis == "fpca":
                kmax = min(vx.shape[0] + vy.shape[0] - 1, G)
                if k > kmax:
                    raise ValueError(
                        f"n_basis must be <= {kmax} for basis='fpca' (pooled curves "
                        f"minus one, and grid points); got {k}."
                    )
                res = fpca(np.concatenate([vx, vy]), w, n_components=k)
                B = np.asarray(res.eigenfunctions)
            else:
                B = np.asarray(make_basis(basis, grid, k, weights=w))  # type: ignore[arg-type]
            cx = np.asarray(project(vx, B, w))
            cy = np.asarray(project(vy, B, w))
        resid = (vy.mean(axis=0) - cy.mean(axis=0) @ B.T) - (
            vx.mean(axis=0) - cx.mean(axis=0) @ B.T
        )
        self.functional_ = {
            "grid": grid,
            "weights": w,
            "basis": B,
            "residual_shift": resid,
        }
        self._dtype = (
            np.dtype(X.values.dtype)
            if np.dtype(X.values.dtype) == np.float32
            else np.float64
        )
        return cx, cy

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call 'fit' first."
            )

    def _coefficients_of(self, X: Any, name: str = "X") -> tuple[np.ndarray, Any]:
        """Coefficients of new input and what is needed to return its type."""
        self._check_fitted()
        func = self.functional_
        if isinstance(X, FunctionalData):
            if func is None:
                raise TypeError(
                    f"{name} is FunctionalData but the estimator was fitted on "
                    "coefficient arrays; pass an array of coefficients."
                )
            grid = np.asarray(X.grid, dtype=np.float64)
            if grid.shape != func["grid"].shape or not np.allclose(grid, func["grid"]):
                raise ValueError(
                    f"{name} must be on the grid of fit ({func['grid'].shape[0]} "
                    f"points); got a grid of {grid.shape[0]} points."
                )
            values = np.asarray(X.values, dtype=np.float64)
            with float64_scope():
                c = np.asarray(project(values, func["basis"], func["weights"]))
            return c, (X, values, c)
        if func is not None:
            raise TypeError(
                f"{name} must be FunctionalData: the estimator was fitted on curves; "
                f"got {describe(X)}."
            )
        reject_complex(X, name)
        arr = check_samples(X, name, min_rows=1)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name} must have {self.n_features_in_} coefficients per row (as in "
                f"fit); got shape {arr.shape}."
            )
        return arr, None

    # --- public API -----------------------------------------------------------------
    def transform(self, X: Any) -> Any:
        r"""Apply the fitted map :math:`\hat T`.

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Source points, in the form used in ``fit``.

        Returns
        -------
        numpy.ndarray of shape (n, p) or FunctionalData
            The images: an array in the input's float dtype, or curves on
            the same grid.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` has the wrong number of coefficients, another grid, or
            holds NaN/inf.
        TypeError
            If ``X`` is of another kind than the data of ``fit``.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> ot.GaussianOTMap().fit(X, 2 * X + 1).transform(X[:2]).shape
        (2, 3)
        """
        c, back = self._coefficients_of(X)
        mapped = self._map_coefficients(c)
        if back is None:
            dtype = getattr(X, "dtype", np.float64)
            dtype = dtype if np.dtype(dtype) == np.float32 else np.float64
            return mapped.astype(dtype, copy=False)
        fd, values, c0 = back
        func: Any = self.functional_
        B = func["basis"]
        new = values + (mapped - c0) @ B.T
        if self.tail == "mean_shift":
            new = new + func["residual_shift"][None, :]
        elif self.tail == "zero":
            new = new - (values - c0 @ B.T)
        dtype = np.float32 if np.dtype(fd.values.dtype) == np.float32 else np.float64
        return fd.with_values(jnp.asarray(new.astype(dtype)))

    def plot(
        self,
        X: Any,
        Y: Any = None,
        *,
        ax: Any = None,
        n_curves: int = 5,
        coordinates: Any = (0, 1, 2),
    ) -> Any:
        r"""Plot source points and their images under the fitted map.

        Curves (:class:`~mltheory.numerics.FunctionalData`): the first
        ``n_curves`` source curves (solid), their images :math:`\hat T(X_i)`
        (dashed, the same colour each) and, if given, target curves (thin
        grey). Coefficient arrays: for each of ``coordinates``, the
        displacement :math:`\hat T(X_i)_j - X_{ij}` against :math:`X_{ij}`
        as points.

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Source points, in the form used in ``fit``.
        Y : FunctionalData or None, default=None
            Target curves to draw for comparison (curves only).
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        n_curves : int, default=5
            Source curves drawn (curves only).
        coordinates : sequence of int, default=(0, 1, 2)
            0-based coordinates drawn (arrays only; those ``< p``).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` does not fit the estimator (as :meth:`transform`) or
            ``n_curves < 1``.
        TypeError
            If ``Y`` is given for coefficient arrays or is not curves.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> model = ot.GaussianOTMap().fit(X, 2 * X + 1)
        >>> ax = model.plot(X)  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        k = check_scalar(n_curves, name="n_curves", kind=int, lower=1)
        mapped = self.transform(X)
        ax = P.axes_or_new(ax)
        name = type(self).__name__
        if isinstance(X, FunctionalData):
            if Y is not None and not isinstance(Y, FunctionalData):
                raise TypeError(f"Y must be FunctionalData or None; got {describe(Y)}.")
            grid = np.asarray(X.grid)
            if Y is not None:
                P.plot_members(
                    ax,
                    np.asarray(Y.grid),
                    np.asarray(Y.values)[:k],
                    label="target sample",
                    color="0.6",
                    lw=0.8,
                )
            src = np.asarray(X.values)[:k]
            img = np.asarray(mapped.values)[:k]
            for i in range(src.shape[0]):
                color = P.PALETTE[i % len(P.PALETTE)]
                P.plot_curve(
                    ax, grid, src[i], color=color, label="source" if i == 0 else None
                )
                P.plot_curve(
                    ax,
                    grid,
                    img[i],
                    color=color,
                    linestyle="--",
                    label="mapped" if i == 0 else None,
                )
            return P.finish_axes(
                ax, xlabel="t", ylabel="x(t)", title=f"{name}: curves and images"
            )
        if Y is not None:
            raise TypeError(
                "Y is drawn for curves only; got coefficient arrays for X (leave Y "
                "as None)."
            )
        Xa = np.asarray(X, dtype=np.float64)
        coords = [
            int(c) for c in np.atleast_1d(coordinates) if 0 <= int(c) < Xa.shape[1]
        ]
        for j in coords:
            order = np.argsort(Xa[:, j])
            P.plot_curve(
                ax,
                Xa[order, j],
                np.asarray(mapped, dtype=np.float64)[order, j] - Xa[order, j],
                kind="data",
                label=f"x_{j + 1}",
            )
        return P.finish_axes(
            ax,
            xlabel="source coordinate x_j",
            ylabel="displacement T(x)_j - x_j",
            title=f"{name}: fitted displacement",
        )

    def score(self, X: Any, Y: Any) -> float:
        r"""Minus the semi-dual of the fitted potential on a (held-out) sample.

        :math:`-\big(\frac1n\sum_i\hat\varphi(X_i) + \frac1m\sum_k
        \hat\varphi^*(Y_k)\big)`: larger is better, and the population
        semi-dual is minimised by the true potential. Closed-form conjugates
        where they exist (Gaussian maps, the tail); otherwise the conjugate
        is the maximum over the given source points. Curves are scored by
        their basis coefficients.

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Source sample.
        Y : array_like of shape (m, p) or FunctionalData
            Target sample.

        Returns
        -------
        float
            The score.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If the map has no potential (``inner="emd"``) or
            ``tail="zero"``, or the inputs are invalid.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).standard_normal((200, 2))
        >>> right = ot.GaussianOTMap().fit(X[:100], 3 * X[:100])
        >>> wrong = ot.GaussianOTMap().fit(X[:100], X[:100])
        >>> bool(right.score(X[100:], 3 * X[100:]) > wrong.score(X[100:], 3 * X[100:]))
        True
        """
        cx, _ = self._coefficients_of(X, "X")
        cy, _ = self._coefficients_of(Y, "Y")
        d = self.dim_
        head = self._head_semidual(cx[:, :d], cy[:, :d])
        tail = _tail_semidual(cx[:, d:], cy[:, d:], self.tail_shift_, self.tail)
        return -(head + tail)

    # --- subclass hooks ---------------------------------------------------------------
    @abc.abstractmethod
    def _map_coefficients(self, c: np.ndarray) -> np.ndarray:
        """The fitted map on coefficient rows (subclass hook)."""

    @abc.abstractmethod
    def _head_semidual(self, Xd: np.ndarray, Yd: np.ndarray) -> float:
        """The semi-dual objective of the fitted head (subclass hook)."""

    def _set_tail(self, X: np.ndarray, Y: np.ndarray, d: int) -> None:
        shift = _col_mean(Y[:, d:]) - _col_mean(X[:, d:])
        self.tail_shift_ = shift if self.tail == "mean_shift" else np.zeros_like(shift)


# --------------------------------------------------------------------------
# Gaussian (Bures-Wasserstein) maps
# --------------------------------------------------------------------------


def _col_mean(A: np.ndarray) -> np.ndarray:
    """Column means as one matrix-vector product.

    NumPy's strided ``mean(axis=0)`` of a tall array is ~10x slower; the
    result differs only by rounding.
    """
    return np.full(A.shape[0], 1.0 / A.shape[0]) @ A


def _fit_gaussian(
    Xd: np.ndarray, Yd: np.ndarray, reg: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """A, b of the Gaussian map between the empirical moments (1/n covariances)."""
    d = Xd.shape[1]
    m1, m2 = _col_mean(Xd), _col_mean(Yd)
    Xc, Yc = Xd - m1, Yd - m2
    C1 = Xc.T @ Xc / Xd.shape[0]
    C2 = Yc.T @ Yc / Yd.shape[0]
    ridge = reg * (np.trace(C1) + np.trace(C2)) / (2.0 * d)
    C1 = C1 + ridge * np.eye(d)
    C2 = C2 + ridge * np.eye(d)
    ev, vecs = np.linalg.eigh(0.5 * (C1 + C1.T))
    if ev[0] <= 1e3 * np.finfo(np.float64).eps * max(ev[-1], 1e-300):
        raise ValueError(
            f"the source covariance of the first {d} coordinates is singular "
            f"(smallest eigenvalue {ev[0]:.2e}; n={Xd.shape[0]}): use reg > 0 or a "
            "smaller n_components (at most n - 1)."
        )
    A = _bures_map(C1, C2, (ev, vecs))
    return A, m2 - A @ m1, ridge


def _gaussian_semidual(
    Xd: np.ndarray, Yd: np.ndarray, A: np.ndarray, b: np.ndarray
) -> float:
    """phi(z) = z'Az/2 + b'z and phi*(y) = (y - b)' A^{-1} (y - b)/2."""
    if Xd.shape[1] == 0:
        return 0.0
    phi = 0.5 * np.sum((Xd @ A) * Xd, axis=1) + Xd @ b
    R = Yd - b[None, :]
    sol = np.linalg.solve(A, R.T).T
    return float(np.mean(phi) + np.mean(0.5 * np.sum(R * sol, axis=1)))


class GaussianOTMap(_BaseOTMap):
    r"""Gaussian (Bures–Wasserstein) OT map between the empirical moments.

    Fits :math:`\hat T_D(z) = \hat m_2 + \hat A(z - \hat m_1)` with
    :math:`\hat A` the Gaussian OT map (:func:`gaussian_ot_map`) between the
    empirical means and covariances (divisor :math:`n`) of the first
    :math:`D` coordinates, each covariance plus
    :math:`\mathrm{reg}\cdot(\operatorname{tr}\hat\Sigma_1 +
    \operatorname{tr}\hat\Sigma_2)/(2D)\, I`. The same as
    ``ProjectedOTMap(inner="gaussian")`` with a fixed ``n_components``.

    Parameters
    ----------
    n_components : int or None, default=None
        Coordinates :math:`D` mapped by the Gaussian map (``None``: all).
    reg : float, default=1e-8
        Relative covariance ridge, ``>= 0``.
    tail : {"mean_shift", "identity", "zero"}, default="mean_shift"
        Map of the remaining coordinates.
    basis : {"sine", "fourier", "legendre", "bspline", "fpca"}, default="sine"
        Basis for :class:`~mltheory.numerics.FunctionalData` input.
    n_basis : int or None, default=None
        Basis size for curves (``None``: ``min(G // 2, 64)``).

    Attributes
    ----------
    A_ : numpy.ndarray of shape (D, D)
        Symmetric linear part.
    b_ : numpy.ndarray of shape (D,)
        Offset (:math:`\hat T_D(z) = \hat A z + \hat b`).
    dim_ : int
        :math:`D`.
    n_components_ : int
        :math:`D` (alias).
    ridge_ : float
        The absolute ridge added.
    tail_shift_ : numpy.ndarray of shape (p - D,)
        Shift of the tail coordinates.
    n_features_in_ : int
        Coefficients per sample seen in ``fit``.
    functional_ : dict or None
        Grid, weights, basis and residual shift when fitted on curves.

    See Also
    --------
    ProjectedOTMap : Choice of D and other inner solvers.
    gaussian_ot_map : The closed form.

    Notes
    -----
    Cost :math:`O(nD^2 + D^3)`. Exactly translation equivariant: fitting on
    ``(X, X + h)`` gives :math:`\hat T(x) = x + h`.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> X = np.random.default_rng(0).standard_normal((500, 2))
    >>> model = ot.GaussianOTMap().fit(X, 2.0 * X + 1.0)
    >>> np.round(model.A_, 6).tolist(), np.round(model.b_, 6).tolist()
    ([[2.0, 0.0], [0.0, 2.0]], [1.0, 1.0])
    """

    _PARAMS = ("basis", "n_basis", "n_components", "reg", "tail")

    def __init__(
        self,
        n_components: int | None = None,
        reg: float = 1e-8,
        *,
        tail: Literal["mean_shift", "identity", "zero"] = "mean_shift",
        basis: Literal["sine", "fourier", "legendre", "bspline", "fpca"] = "sine",
        n_basis: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.reg = reg
        self.tail = tail
        self.basis = basis
        self.n_basis = n_basis

    def fit(self, X: Any, Y: Any) -> GaussianOTMap:
        """Estimate the map from unpaired samples.

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Source sample.
        Y : array_like of shape (m, p) or FunctionalData
            Target sample (same kind and number of coefficients).

        Returns
        -------
        GaussianOTMap
            ``self``, fitted.

        Raises
        ------
        ValueError
            If the samples are not finite 2-D arrays with the same number of
            coefficients and at least 2 rows, ``n_components`` exceeds the
            coefficients, ``reg < 0``, or the source covariance is singular.
        TypeError
            If an input is complex or the kinds of ``X`` and ``Y`` differ.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(1).standard_normal((50, 4))
        >>> ot.GaussianOTMap(n_components=2).fit(X, X).dim_
        2
        """
        reg = check_scalar(self.reg, name="reg", lower=0.0)
        Xc, Yc = self._prepare_fit(X, Y)
        p = Xc.shape[1]
        d = p if self.n_components is None else _check_components(self.n_components, p)
        self.A_, self.b_, self.ridge_ = _fit_gaussian(Xc[:, :d], Yc[:, :d], reg)
        self.dim_ = self.n_components_ = d
        self._set_tail(Xc, Yc, d)
        self.n_features_in_ = p
        return self

    def _map_coefficients(self, c: np.ndarray) -> np.ndarray:
        d = self.dim_
        out = np.empty_like(c)
        out[:, :d] = c[:, :d] @ self.A_ + self.b_[None, :]
        _apply_tail(out, c, d, self.tail_shift_, self.tail)
        return out

    def _head_semidual(self, Xd: np.ndarray, Yd: np.ndarray) -> float:
        return _gaussian_semidual(Xd, Yd, self.A_, self.b_)


def _check_components(value: Any, p: int) -> int:
    d = check_scalar(value, name="n_components", kind=int, lower=1)
    if d > p:
        raise ValueError(
            f"n_components must be <= the number of coefficients ({p}); got {d}."
        )
    return d


# --------------------------------------------------------------------------
# The gamma-sieve estimator
# --------------------------------------------------------------------------


class GammaSieveOTMap(_BaseOTMap):
    r"""The gamma-sieve semi-dual OT-map estimator (scikit-learn style).

    Estimates :math:`T_0 = \nabla\varphi_0` by minimising the empirical
    semi-dual over potentials :math:`\tfrac12\lVert x\rVert^2 +
    \psi_\theta(x)`, :math:`\psi_\theta` a linear + quadratic + trigonometric
    series on the frequency set :math:`K_T` of the smoothness class
    ``gamma`` (see :func:`fit_gamma_sieve_map`); the budget :math:`T` is
    given or chosen by cross-validation of the held-out semi-dual.

    Parameters
    ----------
    gamma : GammaSmoothness
        The smoothness class.
    T : float or "auto", default="auto"
        The budget.
    rho : float, default=0.0
        Smoothness penalty on the trigonometric coefficients.
    eps : float or None, default=None
        Final smoothing of the conjugate (``None``: :math:`10^{-3}` times the
        median squared source–target distance).
    include_quadratic : bool or None, default=None
        Quadratic block (``None``: when at most 64 active coordinates).
    tail : {"mean_shift", "identity", "zero"}, default="mean_shift"
        Map of the inactive coordinates.
    cv : int, default=5
        Folds of the budget selection.
    max_features : int, default=4096
        Largest :math:`|K_T|`.
    maxiter : int, default=500
        L-BFGS iterations per annealing stage.
    tol : float, default=1e-7
        Gradient tolerance.
    random_state : int, default=0
        Seed of the fold split.
    margin : float, default=0.0
        Relative margin of the box around the source range.
    convexify : bool, default=True
        If the fitted potential is not convex at some source points, replace
        the fit by the semi-dual's minimiser under convexity at every source
        point (an interior-point Newton method).
    basis : {"sine", "fourier", "legendre", "bspline", "fpca"}, default="sine"
        Basis for :class:`~mltheory.numerics.FunctionalData` input.
    n_basis : int or None, default=None
        Basis size for curves (``None``: ``min(G // 2, 64)``).

    Attributes
    ----------
    result_ : OTMapResult
        The fitted map.
    T_ : float
        The budget used.
    dim_ : int
        Active coordinates :math:`D(T)`.
    frequencies_ : numpy.ndarray of shape (K, D)
        :math:`K_T`.
    coef_ : numpy.ndarray of shape (2K,)
        Trigonometric coefficients.
    scaler_ : dict
        ``center``, ``scale``, ``lower``, ``width`` of the active coordinates.
    n_features_ : int
        :math:`|K_T|`.
    convexity_violation_ : float
        Largest negative Hessian eigenvalue (magnitude) on the source sample.
    cv_results_ : dict or None
        Budgets, held-out semi-duals (mean, std, per fold) when ``T="auto"``.
    tail_shift_ : numpy.ndarray of shape (p - D,)
        Shift of the tail coordinates.
    n_features_in_ : int
        Coefficients per sample seen in ``fit``.
    functional_ : dict or None
        Grid, weights, basis and residual shift when fitted on curves.

    See Also
    --------
    fit_gamma_sieve_map : The functional form.
    GammaSmoothness : Frequency sets.
    ProjectedOTMap : Baselines.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> pair = ot.datasets.make_gamma_smooth_pair(1000, J0=2, n_coefficients=4)
    >>> gamma = ot.GammaSmoothness([1.0, 4.0])
    >>> model = ot.GammaSieveOTMap(gamma, T=2.0).fit(pair.X, pair.Y)
    >>> model.dim_, model.n_features_
    (1, 3)
    >>> err = ot.l2_map_error(model, pair.transport, pair.X)
    >>> bool(err < 0.5 * ot.l2_map_error(lambda x: x, pair.transport, pair.X))
    True
    """

    _PARAMS = (
        "basis",
        "convexify",
        "cv",
        "eps",
        "gamma",
        "include_quadratic",
        "margin",
        "max_features",
        "maxiter",
        "n_basis",
        "random_state",
        "rho",
        "T",
        "tail",
        "tol",
    )

    def __init__(
        self,
        gamma: GammaSmoothness,
        T: float | Literal["auto"] = "auto",
        *,
        rho: float = 0.0,
        eps: float | None = None,
        include_quadratic: bool | None = None,
        tail: Literal["mean_shift", "identity", "zero"] = "mean_shift",
        cv: int = 5,
        max_features: int = 4096,
        maxiter: int = 500,
        tol: float = 1e-7,
        random_state: int = 0,
        margin: float = 0.0,
        convexify: bool = True,
        basis: Literal["sine", "fourier", "legendre", "bspline", "fpca"] = "sine",
        n_basis: int | None = None,
    ) -> None:
        self.gamma = gamma
        self.T = T
        self.rho = rho
        self.eps = eps
        self.include_quadratic = include_quadratic
        self.tail = tail
        self.cv = cv
        self.max_features = max_features
        self.maxiter = maxiter
        self.tol = tol
        self.random_state = random_state
        self.margin = margin
        self.convexify = convexify
        self.basis = basis
        self.n_basis = n_basis

    def _options(self) -> _Options:
        return _Options(
            rho=self.rho,
            eps=self.eps,
            include_quadratic=self.include_quadratic,
            tail=self.tail,
            cv=self.cv,
            max_features=self.max_features,
            maxiter=self.maxiter,
            tol=self.tol,
            random_state=self.random_state,
            margin=self.margin,
            convexify=self.convexify,
        )

    def fit(self, X: Any, Y: Any) -> GammaSieveOTMap:
        """Estimate the map from unpaired samples.

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Source sample.
        Y : array_like of shape (m, p) or FunctionalData
            Target sample.

        Returns
        -------
        GammaSieveOTMap
            ``self``, fitted.

        Raises
        ------
        ValueError
            As :func:`fit_gamma_sieve_map`.
        TypeError
            If ``gamma`` is not a :class:`GammaSmoothness`, an input is
            complex or the kinds of ``X`` and ``Y`` differ.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).uniform(-1, 1, (100, 2))
        >>> ot.GammaSieveOTMap(ot.GammaSmoothness([1.0]), T=1.0).fit(X, X).T_
        1.0
        """
        if not isinstance(self.gamma, GammaSmoothness):
            raise TypeError(
                f"gamma must be a GammaSmoothness; got {describe(self.gamma)}."
            )
        T = self.T
        if not isinstance(
            T, str | int | float | np.floating | np.integer
        ) or isinstance(T, bool):
            raise TypeError(f"T must be a number or 'auto'; got {describe(T)}.")
        opts = self._options()
        Xc, Yc = self._prepare_fit(X, Y)
        res, cv_results = _fit_with_cv(Xc, Yc, self.gamma, T, opts)
        self._set_result(res, cv_results, Xc.shape[1])
        return self

    def _set_result(self, res: OTMapResult, cv_results: Any, p: int) -> None:
        self.result_ = res
        self.T_ = res.T
        self.dim_ = res.dim
        self.frequencies_ = np.asarray(res.frequencies)
        self.coef_ = np.asarray(res.coef)
        self.scaler_ = {
            "center": np.asarray(res.center),
            "scale": np.asarray(res.scale),
            "lower": np.asarray(res.lower),
            "width": np.asarray(res.width),
        }
        self.n_features_ = int(self.frequencies_.shape[0])
        self.convexity_violation_ = float(res.convexity_violation)
        self.cv_results_ = cv_results
        self.tail_shift_ = np.asarray(res.tail_shift)
        self.n_features_in_ = p

    def potential(self, X: Any) -> np.ndarray:
        r"""The fitted convex potential :math:`\hat\varphi` (gradient = the map).

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Points (curves are scored by their basis coefficients).

        Returns
        -------
        numpy.ndarray of shape (n,)
            :math:`\hat\varphi(X_i)`.

        Raises
        ------
        NotFittedError
            If called before ``fit``.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).uniform(-1, 1, (80, 1))
        >>> m = ot.GammaSieveOTMap(ot.GammaSmoothness([1.0]), T=1.0).fit(X, X)
        >>> m.potential(X[:4]).shape
        (4,)
        """
        c, _ = self._coefficients_of(X)
        return self.result_.potential(c)

    def _map_coefficients(self, c: np.ndarray) -> np.ndarray:
        return self.result_.transform(c)

    def _head_semidual(self, Xd: np.ndarray, Yd: np.ndarray) -> float:
        if self.dim_ == 0:
            return 0.0
        p = self.n_features_in_
        pad = np.zeros((Xd.shape[0], p - self.dim_))
        phi = self.result_.potential(np.concatenate([Xd, pad], axis=1))
        return float(np.mean(phi) + np.mean(_discrete_conjugate(phi, Xd, Yd)))


# --------------------------------------------------------------------------
# Truncated plug-in family
# --------------------------------------------------------------------------


def _emd_plan_images(Xd: np.ndarray, Yd: np.ndarray) -> np.ndarray:
    """In-sample images: Y[perm] (n = m) or the LP plan's barycentric projection."""
    from mltheory.numerics import solve_assignment

    n, m = Xd.shape[0], Yd.shape[0]
    C = _sq_cost(Xd, Yd)
    if n == m:
        return Yd[solve_assignment(C)]
    if n * m > _EMD_MAX_ENTRIES:
        raise ValueError(
            f"inner='emd' with n={n} != m={m} solves an n*m = {n * m} variable "
            f"linear program (more than {_EMD_MAX_ENTRIES}); use inner='entropic' "
            "or subsample to equal sizes."
        )
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, eye, kron, vstack

    rows = kron(eye(n), csr_matrix(np.ones((1, m))))
    cols = kron(csr_matrix(np.ones((1, n))), eye(m))
    A_eq = vstack([rows, cols]).tocsr()
    b_eq = np.concatenate([np.full(n, 1.0 / n), np.full(m, 1.0 / m)])
    sol = linprog(
        C.ravel(), A_eq=A_eq[:-1], b_eq=b_eq[:-1], bounds=(0, None), method="highs"
    )
    if sol.status != 0:  # pragma: no cover - HiGHS fails only on broken input
        raise RuntimeError(f"the OT linear program failed: {sol.message}")
    plan = sol.x.reshape(n, m)
    return (plan @ Yd) * n


def _neighbours(
    train: np.ndarray, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(train).query(query, k=k)
    if k == 1:
        dist, idx = dist[:, None], idx[:, None]
    return dist, idx


class ProjectedOTMap(_BaseOTMap):
    r"""Truncate to D coordinates, solve a finite-dimensional OT map, lift back.

    ``inner`` chooses the finite-dimensional solver on the first :math:`D`
    coordinates:

    * ``"gaussian"``: the Bures–Wasserstein map of the empirical moments
      (see :class:`GaussianOTMap`);
    * ``"emd"``: the exact discrete OT (an assignment for equal sample sizes,
      the barycentric projection of the linear-program plan otherwise), whose
      in-sample images are extended to new points by ``extension``:
      ``"1nn"`` (the image of the nearest source point, Manole et al.),
      ``"knn"`` (mean image of the ``k`` nearest), or ``"kernel"`` (Gaussian
      weights with bandwidth the median distance to the ``k``-th
      neighbour);
    * ``"entropic"``: Sinkhorn and the entropic map (:func:`entropic_map`);
    * ``"sieve"``: the gamma-sieve estimator (:class:`GammaSieveOTMap`) on
      these coordinates.

    ``n_components="auto"`` chooses :math:`D` by ``cv``-fold
    cross-validation of the held-out semi-dual (closed form for
    ``"gaussian"``); for ``"sieve"`` it keeps every coordinate and lets the
    budget choose; ``"emd"`` and ``"entropic"`` have no potential to
    validate and need an integer.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        :math:`D`.
    inner : {"gaussian", "emd", "entropic", "sieve"}, default="gaussian"
        The finite-dimensional solver.
    reg : float, default=1e-8
        Relative covariance ridge (``"gaussian"``).
    epsilon : float or None, default=None
        Entropic regularisation (``"entropic"``; ``None``: 5% of the mean
        cost).
    extension : {"1nn", "knn", "kernel"}, default="1nn"
        Out-of-sample rule of ``"emd"``.
    k : int, default=5
        Neighbours of ``"knn"``/``"kernel"``.
    tail : {"mean_shift", "identity", "zero"}, default="mean_shift"
        Map of the remaining coordinates.
    cv : int, default=5
        Folds for ``n_components="auto"``.
    random_state : int, default=0
        Seed of the folds.
    gamma : GammaSmoothness or None, default=None
        Smoothness of ``"sieve"`` (``None``: anisotropic :math:`a_i = i^2`).
    T : float or "auto", default="auto"
        Budget of ``"sieve"``.
    basis : {"sine", "fourier", "legendre", "bspline", "fpca"}, default="sine"
        Basis for :class:`~mltheory.numerics.FunctionalData` input.
    n_basis : int or None, default=None
        Basis size for curves (``None``: ``min(G // 2, 64)``).

    Attributes
    ----------
    n_components_ : int
        :math:`D`.
    dim_ : int
        :math:`D` (alias).
    inner_result_ : object
        ``(A, b)`` for ``"gaussian"``; the in-sample images for ``"emd"``;
        an :class:`EntropicMap`; a fitted :class:`GammaSieveOTMap`.
    cv_results_ : dict or None
        Candidate :math:`D` and held-out semi-duals for
        ``n_components="auto"``.
    tail_shift_ : numpy.ndarray of shape (p - D,)
        Shift of the tail coordinates.
    n_features_in_ : int
        Coefficients per sample seen in ``fit``.
    functional_ : dict or None
        Grid, weights, basis and residual shift when fitted on curves.

    See Also
    --------
    GaussianOTMap, GammaSieveOTMap, entropic_map, empirical_ot_assignment

    References
    ----------
    .. [1] T. Manole, S. Balakrishnan, J. Niles-Weed and L. Wasserman,
       "Plugin estimation of smooth optimal transport maps",
       arXiv:2107.12364, 2021.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> pair = ot.datasets.make_gaussian_process_pair(400, n_coefficients=20)
    >>> model = ot.ProjectedOTMap(n_components="auto").fit(pair.X, pair.Y)
    >>> 1 <= model.n_components_ <= 20
    True
    >>> emd = ot.ProjectedOTMap(4, inner="emd").fit(pair.X, pair.Y)
    >>> emd.transform(pair.X[:3]).shape
    (3, 20)
    """

    _PARAMS = (
        "T",
        "basis",
        "cv",
        "epsilon",
        "extension",
        "gamma",
        "inner",
        "k",
        "n_basis",
        "n_components",
        "random_state",
        "reg",
        "tail",
    )

    def __init__(
        self,
        n_components: int | Literal["auto"] = "auto",
        inner: Literal["gaussian", "emd", "entropic", "sieve"] = "gaussian",
        *,
        reg: float = 1e-8,
        epsilon: float | None = None,
        extension: Literal["1nn", "knn", "kernel"] = "1nn",
        k: int = 5,
        tail: Literal["mean_shift", "identity", "zero"] = "mean_shift",
        cv: int = 5,
        random_state: int = 0,
        gamma: GammaSmoothness | None = None,
        T: float | Literal["auto"] = "auto",
        basis: Literal["sine", "fourier", "legendre", "bspline", "fpca"] = "sine",
        n_basis: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.inner = inner
        self.reg = reg
        self.epsilon = epsilon
        self.extension = extension
        self.k = k
        self.tail = tail
        self.cv = cv
        self.random_state = random_state
        self.gamma = gamma
        self.T = T
        self.basis = basis
        self.n_basis = n_basis

    def fit(self, X: Any, Y: Any) -> ProjectedOTMap:
        r"""Estimate the map from unpaired samples.

        Parameters
        ----------
        X : array_like of shape (n, p) or FunctionalData
            Source sample.
        Y : array_like of shape (m, p) or FunctionalData
            Target sample.

        Returns
        -------
        ProjectedOTMap
            ``self``, fitted.

        Raises
        ------
        ValueError
            If the samples are invalid, an option is out of range,
            ``n_components="auto"`` is used with ``"emd"``/``"entropic"``,
            ``"emd"`` needs a linear program larger than :math:`2.5\cdot
            10^7` variables, or the Gaussian covariance is singular.
        TypeError
            If an input is complex or of mixed kinds.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).standard_normal((60, 3))
        >>> ot.ProjectedOTMap(2, inner="entropic").fit(X, X + 1.0).dim_
        2
        """
        inner = check_in(
            self.inner, name="inner", options=("gaussian", "emd", "entropic", "sieve")
        )
        check_in(self.extension, name="extension", options=("1nn", "knn", "kernel"))
        reg = check_scalar(self.reg, name="reg", lower=0.0)
        k = check_scalar(self.k, name="k", kind=int, lower=1)
        cv = check_scalar(self.cv, name="cv", kind=int, lower=2)
        check_scalar(self.random_state, name="random_state", kind=int, lower=0)
        if self.epsilon is not None:
            check_scalar(self.epsilon, name="epsilon", lower=0.0, lower_inclusive=False)
        if self.gamma is not None and not isinstance(self.gamma, GammaSmoothness):
            raise TypeError(
                f"gamma must be a GammaSmoothness or None; got {describe(self.gamma)}."
            )
        auto = isinstance(self.n_components, str)
        if auto:
            check_in(self.n_components, name="n_components", options=("auto",))
            if inner in ("emd", "entropic"):
                raise ValueError(
                    f"n_components='auto' needs a potential to validate; inner="
                    f"{inner!r} has none. Give n_components as an integer."
                )
        Xc, Yc = self._prepare_fit(X, Y)
        p = Xc.shape[1]
        self.cv_results_ = None
        if not auto:
            d = _check_components(self.n_components, p)
        elif inner == "sieve":
            d = p
        else:
            d = self._select_dim(Xc, Yc, reg, cv)
        if inner == "emd" and k > Xc.shape[0]:
            raise ValueError(
                f"k must be <= the number of source samples ({Xc.shape[0]}); got {k}."
            )
        self._fit_inner(Xc[:, :d], Yc[:, :d], inner, reg, k)
        self.dim_ = self.n_components_ = d
        self._set_tail(Xc, Yc, d)
        self.n_features_in_ = p
        return self

    def _select_dim(self, X: np.ndarray, Y: np.ndarray, reg: float, cv: int) -> int:
        n, m, p = X.shape[0], Y.shape[0], X.shape[1]
        rng = np.random.default_rng(self.random_state)
        fx = np.array_split(rng.permutation(n), cv)
        fy = np.array_split(rng.permutation(m), cv)
        n_train = n - max(len(f) for f in fx)
        # a D x D covariance needs n >> D: candidates up to n_train / 2
        top = max(1, min(p, n_train // 2))
        cands = np.unique(np.round(np.geomspace(1, top, min(top, 12))).astype(int))
        scores = np.zeros((cv, cands.size))
        for f in range(cv):
            tx = np.setdiff1d(np.arange(n), fx[f])
            ty = np.setdiff1d(np.arange(m), fy[f])
            Xt, Yt, Xv, Yv = X[tx], Y[ty], X[fx[f]], Y[fy[f]]
            for j, d in enumerate(cands):
                A, b, _ = _fit_gaussian(Xt[:, :d], Yt[:, :d], reg)
                shift = Yt[:, d:].mean(axis=0) - Xt[:, d:].mean(axis=0)
                tail = self.tail if self.tail != "zero" else "identity"
                scores[f, j] = _gaussian_semidual(
                    Xv[:, :d], Yv[:, :d], A, b
                ) + _tail_semidual(Xv[:, d:], Yv[:, d:], shift, tail)
        mean = scores.mean(axis=0)
        self.cv_results_ = {
            "n_components": cands,
            "mean_score": mean,
            "std_score": scores.std(axis=0),
            "scores": scores,
        }
        return int(cands[int(np.argmin(mean))])

    def _fit_inner(
        self, Xd: np.ndarray, Yd: np.ndarray, inner: str, reg: float, k: int
    ) -> None:
        self._train_x = None
        if inner == "gaussian":
            A, b, _ = _fit_gaussian(Xd, Yd, reg)
            self.inner_result_: Any = (A, b)
        elif inner == "emd":
            self.inner_result_ = _emd_plan_images(Xd, Yd)
            self._train_x = Xd.copy()
            if self.extension == "kernel":
                dist, _ = _neighbours(Xd, Xd, min(k + 1, Xd.shape[0]))
                h = float(np.median(dist[:, -1]))
                self._bandwidth = h if h > 0 else 1.0
        elif inner == "entropic":
            self.inner_result_ = entropic_map(Xd, Yd, self.epsilon)
        else:
            gamma = self.gamma
            if gamma is None:
                gamma = GammaSmoothness(
                    lambda i: float(i * i), max_dim=max(Xd.shape[1], 8)
                )
            tail: Any = self.tail
            sieve = GammaSieveOTMap(
                gamma,
                self.T,
                tail=tail,
                cv=self.cv,
                random_state=self.random_state,
            )
            self.inner_result_ = sieve.fit(Xd, Yd)

    def _map_head(self, Z: np.ndarray) -> np.ndarray:
        inner = self.inner
        if inner == "gaussian":
            A, b = self.inner_result_
            return Z @ A + b[None, :]
        if inner == "emd":
            images = self.inner_result_
            if self.extension == "1nn":
                _, idx = _neighbours(self._train_x, Z, 1)
                return images[idx[:, 0]]
            kk = min(self.k, self._train_x.shape[0])
            dist, idx = _neighbours(self._train_x, Z, kk)
            if self.extension == "knn":
                return images[idx].mean(axis=1)
            logits = -0.5 * (dist / self._bandwidth) ** 2
            w = np.exp(logits - logits.max(axis=1, keepdims=True))
            w /= w.sum(axis=1, keepdims=True)
            return np.einsum("nk,nkd->nd", w, images[idx])
        if inner == "entropic":
            return self.inner_result_.transport(Z)
        return self.inner_result_.transform(Z)

    def _map_coefficients(self, c: np.ndarray) -> np.ndarray:
        d = self.dim_
        out = np.empty_like(c)
        out[:, :d] = self._map_head(c[:, :d])
        _apply_tail(out, c, d, self.tail_shift_, self.tail)
        return out

    def _head_semidual(self, Xd: np.ndarray, Yd: np.ndarray) -> float:
        inner = self.inner
        if inner == "gaussian":
            A, b = self.inner_result_
            return _gaussian_semidual(Xd, Yd, A, b)
        if inner == "emd":
            raise ValueError(
                "score needs a potential; inner='emd' (assignment + nearest-neighbour "
                "extension) has none. Use 'gaussian', 'entropic' or 'sieve'."
            )
        if inner == "entropic":
            em: EntropicMap = self.inner_result_
            phi = em.potential(Xd)
            return float(np.mean(phi) + np.mean(_discrete_conjugate(phi, Xd, Yd)))
        return self.inner_result_._head_semidual(Xd, Yd) + _tail_semidual(
            Xd[:, self.inner_result_.dim_ :],
            Yd[:, self.inner_result_.dim_ :],
            self.inner_result_.tail_shift_,
            self.tail,
        )

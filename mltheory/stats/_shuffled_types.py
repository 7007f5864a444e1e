"""Result types of shuffled regression.

Private; public through :mod:`mltheory.stats.shuffled`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

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

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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

    def plot(
        self,
        ax: Axes | None = None,
        *,
        truth: ArrayLike | None = None,
        label: str | None = None,
        **kwargs: Any,
    ) -> Axes:
        r"""Plot the size of the candidate set against the number of draws.

        The step curve :math:`M \mapsto |C_M|` (read off ``first_draw``:
        the candidates the first ``M`` draws found, plus the point estimate)
        shows whether the set has saturated. With ``truth``, a dotted line
        marks the draw that first found the true permutation (or the legend
        says it was never found).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        truth : array_like of int, shape (n,), optional
            The true permutation, when known (simulations).
        label : str, optional
            Legend label of the curve.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(20, 2, k=4, sigma=0.3, rng=0)
        >>> cands = shuffled.repro_candidate_set(data.X, data.Y, n_draws=40, rng=0)
        >>> ax = cands.plot(truth=data.perm)  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        ax = P.axes_or_new(ax)
        draws = np.arange(self.n_draws + 1)
        first = np.asarray(self.first_draw)
        is_point = np.all(np.asarray(self.perms) == self.point_estimate, axis=1)
        found = (first[None, :] >= 0) & (first[None, :] < draws[:, None])
        size = (found | is_point[None, :]).sum(axis=1)
        style = {"drawstyle": "steps-post"} | kwargs
        P.plot_curve(
            ax, draws, size, label=label or "candidate-set size |C_M|", **style
        )
        if truth is not None:
            t = np.asarray(truth)
            hit = np.all(np.asarray(self.perms) == t, axis=1)
            if hit.any():
                at = first[hit][0]
                where = 0 if at < 0 else int(at) + 1
                P.plot_reference(ax, where, label=f"truth found at M = {where}")
            else:
                ax.plot([], [], " ", label="truth not in the set")
        return P.finish_axes(
            ax,
            xlabel="Monte Carlo draws M",
            ylabel="candidates",
            title=f"repro-samples candidate set ({len(size) - 1} draws)",
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

    def plot(self, ax: Axes | None = None, *, bins: int = 30) -> Axes:
        """Plot the null distribution of the statistic and the observed value.

        A histogram of ``null_statistics`` with the observed statistic as a
        dotted line (its p-value in the legend). For a batch of data sets the
        first one is drawn.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        bins : int, default=30
            Histogram bins.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(30, 2, k=0, rng=0)
        >>> res = shuffled.conditional_mc_test(data.X, data.Y, n_mc=19, rng=0)
        >>> ax = res.plot()  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        ax = P.axes_or_new(ax)
        null = np.asarray(self.null_statistics, dtype=float)
        stat = np.asarray(self.statistic, dtype=float)
        pval = np.asarray(self.p_value, dtype=float)
        if null.ndim == 2:
            null, stat, pval = null[0], stat.reshape(-1)[0], pval.reshape(-1)[0]
        ax.hist(
            null,
            bins=bins,
            color=P.PALETTE[0],
            alpha=0.6,
            label=f"null copies (B = {self.n_mc})",
        )
        P.plot_reference(
            ax,
            float(stat),
            label=f"observed, p = {float(pval):.3g}",
            color=P.PALETTE[1],
            linewidth=1.8,
        )
        return P.finish_axes(
            ax,
            xlabel=f"statistic ({self.method})",
            ylabel="count",
            title="conditional Monte Carlo test",
        )


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

    def plot(self, ax: Axes | None = None) -> Axes:
        """Plot the p-value of every tested candidate against the level.

        Candidates sorted by p-value; those above ``alpha`` (dotted line) form
        the confidence set and are drawn in the first house colour, the
        rejected ones in grey.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(20, 1, k=2, sigma=0.1, rng=1)
        >>> cs = shuffled.permutation_confidence_set(
        ...     data.X, data.Y, n_mc=39, n_draws=10, rng=0)
        >>> ax = cs.plot()  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        ax = P.axes_or_new(ax)
        pv = np.sort(np.asarray(self.candidate_p_values, dtype=float))[::-1]
        rank = np.arange(1, pv.size + 1)
        kept = pv > self.alpha
        P.plot_curve(
            ax,
            rank[kept],
            pv[kept],
            kind="data",
            label=f"in the set ({int(kept.sum())})",
            color=P.PALETTE[0],
            marker="o",
            alpha=1.0,
        )
        P.plot_curve(
            ax,
            rank[~kept],
            pv[~kept],
            kind="data",
            label=f"rejected ({int((~kept).sum())})",
            color="0.55",
            marker="o",
            alpha=1.0,
        )
        P.plot_reference(ax, self.alpha, axis="y", label=f"alpha = {self.alpha:g}")
        return P.finish_axes(
            ax,
            xlabel="candidate (by p-value)",
            ylabel="p-value",
            title="permutation confidence set",
        )


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

    def plot(
        self,
        ax: Axes | None = None,
        *,
        dims: tuple[int, int] = (0, 1),
        truth: ArrayLike | None = None,
        resolution: int = 200,
        names: tuple[str, str] | None = None,
        label: str | None = None,
        color: str | None = None,
        details: bool = True,
    ) -> Axes:
        r"""Plot the region in two coordinates: the union of the ellipses.

        The union of the candidates' ellipsoids, projected on the
        coordinates ``dims`` (the shadow of :math:`\{\beta : (\beta -
        c)^\top G (\beta - c) \le r^2\}` has shape matrix
        :math:`((G^{-1})_{SS})^{-1}`), shaded on a grid with its outline;
        the centres are points and the per-coordinate ``intervals`` a dashed
        box. With ``truth``, the true coefficients are a star.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        dims : tuple of two int, default=(0, 1)
            The coordinates shown.
        truth : array_like of shape (p,), optional
            The true coefficients, when known.
        resolution : int, default=200
            Grid points per axis for the shading.
        names : tuple of two str, optional
            Axis labels of the two coordinates (default ``beta_i``).
        label : str, optional
            Legend label of the region.
        color : str, optional
            Colour of the region.
        details : bool, default=True
            Also draw the candidates' centres and the per-coordinate
            intervals (turn off to overlay several regions).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If there are fewer than two coefficients or ``dims`` is not two
            distinct coordinates in range.

        Examples
        --------
        >>> from mltheory.stats import shuffled
        >>> data = shuffled.simulate_shuffled(30, 2, k=4, sigma=0.2, rng=0)
        >>> cs = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=20, rng=0)
        >>> ax = cs.plot(truth=data.beta)  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        centers = np.asarray(self.centers, dtype=float)
        p = centers.shape[1]
        i, j = (int(d) for d in dims)
        if p < 2 or len(dims) != 2 or i == j or not (0 <= i < p and 0 <= j < p):
            raise ValueError(
                f"dims must be two distinct coordinates in [0, {p}) of the "
                f"{p} coefficients (at least two needed); got {tuple(dims)}."
            )
        res = check_scalar(resolution, name="resolution", kind=int, lower=10)
        sub = np.linalg.inv(
            np.linalg.inv(np.asarray(self.gram, float))[np.ix_([i, j], [i, j])]
        )
        radii = np.sqrt(np.asarray(self.radii2, dtype=float))
        # Bounding box of every projected ellipse: c +- r sqrt(diag(sub^-1)).
        half = radii[:, None] * np.sqrt(np.diag(np.linalg.inv(sub)))[None, :]
        proj = centers[:, [i, j]]
        lo, hi = (proj - half).min(axis=0), (proj + half).max(axis=0)
        pad = 0.08 * (hi - lo)
        gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], res)
        gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], res)
        pts = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1)
        inside = np.zeros((res, res), dtype=bool)
        for c, r2 in zip(proj, np.asarray(self.radii2, dtype=float), strict=True):
            d = pts - c
            inside |= np.einsum("xyi,ij,xyj->xy", d, sub, d) <= r2
        ax = P.axes_or_new(ax)
        level = 1 - self.alpha_loc - self.alpha_coef
        P.plot_region(
            ax,
            gx,
            gy,
            inside,
            label=label or f"confidence region (>= {level:.0%})",
            color=color,
        )
        if details:
            P.plot_curve(
                ax,
                proj[:, 0],
                proj[:, 1],
                kind="data",
                label=f"candidate estimates ({len(proj)})",
                color="0.2",
            )
            box = np.asarray(self.intervals, dtype=float)[[i, j]]
            ax.plot(
                box[0, [0, 1, 1, 0, 0]],
                box[1, [0, 0, 1, 1, 0]],
                linestyle="--",
                color="0.45",
                linewidth=1.0,
                label="per-coordinate intervals",
            )
        if truth is not None:
            b = as_numpy(truth, name="truth", ndim=1)
            ax.plot(
                b[i],
                b[j],
                marker="*",
                markersize=11,
                linestyle="None",
                color=P.PALETTE[1],
                label="truth",
            )
        xname, yname = names if names is not None else (f"beta_{i}", f"beta_{j}")
        return P.finish_axes(
            ax,
            xlabel=str(xname),
            ylabel=str(yname),
            title="coefficient confidence set",
        )

r"""Derived quantities of diagonal linear networks: timescales, implicit bias, rates.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import integrate

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_in,
    check_key,
    check_scalar,
    describe,
)
from mltheory.dynamics._dmft_checks import _check_delta, _check_grid
from mltheory.dynamics._dmft_dln import (
    DLNModel,
    _check_dln,
    _check_parametrization,
    _lazy_rate,
    _mirror,
)
from mltheory.dynamics._dmft_regression import linear_regression_dmft
from mltheory.dynamics._dmft_types import DMFTResult
from mltheory.exceptions import ConvergenceWarning
from mltheory.numerics import TimeGrid, sqrtm_psd

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Escape times (rich regime)
# --------------------------------------------------------------------------- #


def dln_escape_times(
    beta_star: ArrayLike | Sequence[float],
    *,
    alpha: float,
    parametrization: Literal["uv", "u2-v2"] = "uv",
    v0: Literal["zero", "alpha"] = "zero",
    method: Literal["asymptotic", "exact"] = "asymptotic",
    fraction: float = 0.5,
) -> np.ndarray:
    r"""Compute when a DLN coordinate learns its teacher value (small-alpha heuristic).

    In the :math:`\delta \to \infty` limit a coordinate feels the force
    :math:`g = \beta - \beta^*` alone, so :math:`F = -\int g` obeys
    :math:`\dot F = \beta^* - B(F)` with :math:`\beta = B(F)` the mirror map
    of the parametrisation (see :func:`dln`). While :math:`\beta \ll
    \beta^*` (the *search* phase) :math:`F \approx \beta^* t`, so
    :math:`\beta(t) \approx B(\beta^* t)`: e.g. :math:`\frac{\alpha^2}{2}
    \sinh(2\beta^* t)` for ``"uv"``. It reaches :math:`\beta^*` at

    .. math::

        t^* = \frac{B^{-1}(\beta^*)}{\beta^*} \approx
        \frac{\log(c\,|\beta^*| / \alpha^2)}{2|\beta^*|}, \qquad
        c = 4 \ (\texttt{"uv"}),\ 2 \ (\texttt{"u2-v2"}),

    the ``"asymptotic"`` escape time: coordinates are learned in order of
    decreasing :math:`|\beta^*|` after a search time of order
    :math:`\log(1/\alpha)/|\beta^*|` (incremental learning). ``"exact"``
    integrates the :math:`\delta \to \infty` flow until :math:`\beta` has
    covered ``fraction`` of the way from :math:`\beta_0` to :math:`\beta^*`:
    :math:`t = \int_0^{F_1} dF / (\beta^* - B(F))`. At finite
    :math:`\delta` the DMFT renormalises the drive (memory and noise terms),
    so these are heuristics there.

    Parameters
    ----------
    beta_star : array_like
        Teacher values (any shape).
    alpha : float
        Initial scale :math:`\alpha > 0`.
    parametrization : {"uv", "u2-v2"}, default="uv"
        As in :func:`dln`.
    v0 : {"zero", "alpha"}, default="zero"
        As in :func:`dln`.
    method : {"asymptotic", "exact"}, default="asymptotic"
        The leading-order formula or the :math:`\delta \to \infty` flow.
    fraction : float, default=0.5
        For ``"exact"``: the fraction of the way from :math:`\beta_0` to
        :math:`\beta^*`, in (0, 1).

    Returns
    -------
    numpy.ndarray
        Times, shaped like ``beta_star``; ``inf`` for values never reached
        (:math:`\beta^* = 0`, and :math:`\beta^* \leq 0` for ``"uv"`` with
        ``v0="alpha"``, where :math:`\beta > 0` forever); 0 where the start
        is already past the target.

    Raises
    ------
    ValueError
        If ``alpha <= 0``, an option is unknown, ``fraction`` is not in
        (0, 1), or ``beta_star`` holds NaN/inf.
    TypeError
        If ``beta_star`` is not numeric.

    See Also
    --------
    dln_coefficient_paths : The DMFT's own per-value trajectories.

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "Precise Dynamics of Diagonal Linear
       Networks: A Unifying Analysis by Dynamical Mean-Field Theory",
       arXiv:2510.01930, 2025.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> t = dmft.dln_escape_times([3.0, 1.5], alpha=0.01)
    >>> print(np.round(t, 3), np.round(np.log(4 * 3.0 / 1e-4) / 6, 3))
    [1.949 3.667] 1.949
    """
    values = as_numpy(beta_star, name="beta_star")
    alpha = check_scalar(alpha, name="alpha", lower=0.0, lower_inclusive=False)
    param, init_v = _check_parametrization(parametrization, v0)
    check_in(method, name="method", options=("asymptotic", "exact"))
    fraction = check_scalar(
        fraction,
        name="fraction",
        lower=0.0,
        upper=1.0,
        lower_inclusive=False,
        upper_inclusive=False,
    )
    B, _, _, B_inv = _mirror(param, init_v, alpha)
    beta0 = float(B(0.0))
    flat = values.astype(float).ravel()
    out = np.empty_like(flat)
    for i, b in enumerate(flat):
        out[i] = _escape_one(b, beta0, B, B_inv, method, fraction)
    return out.reshape(values.shape)


def _escape_one(
    b: float,
    beta0: float,
    B: Callable[[Any], Any],
    B_inv: Callable[[Any], Any],
    method: str,
    fraction: float,
) -> float:
    if b == beta0:
        return 0.0
    if method == "asymptotic":
        if b == 0.0:
            return math.inf
        F = float(B_inv(b))
        if not math.isfinite(F):
            return math.inf
        return max(0.0, F / b)
    target = beta0 + fraction * (b - beta0)
    F1 = float(B_inv(target))
    if not math.isfinite(F1):
        return math.inf

    def rate(F: float) -> float:
        return 1.0 / (b - float(B(F)))

    t, _ = integrate.quad(rate, 0.0, F1, limit=200)
    return float(t)


# --------------------------------------------------------------------------- #
# Implicit bias at t = infinity
# --------------------------------------------------------------------------- #


def dln_implicit_bias_solution(
    X: ArrayLike,
    y: ArrayLike,
    *,
    alpha: float,
    parametrization: Literal["uv", "u2-v2"] = "uv",
    v0: Literal["zero", "alpha"] = "zero",
    tol: float = 1e-8,
    max_iter: int = 200,
) -> np.ndarray:
    r"""The interpolator a DLN converges to: the hyperbolic-entropy convex solve.

    Gradient flow of a DLN (no weight decay) from the initial scale
    :math:`\alpha` keeps :math:`\beta = B(F)` with :math:`F = -\int g \in
    \mathrm{range}(X^\top)` (see :func:`dln`). If it interpolates, the limit
    is therefore the unique solution of

    .. math::

        \min_\beta \sum_j Q(\beta_j) \quad \text{s.t.} \quad X\beta = y,
        \qquad Q' = B^{-1},

    a hyperbolic-entropy potential (Woodworth et al. [2]_): for ``"u2-v2"``
    :math:`Q(\beta) = \frac{\alpha^2}{2}\big(z\,\mathrm{arcsinh}\,z -
    \sqrt{1 + z^2} + 1\big)`, :math:`z = \beta/\alpha^2`. It behaves like
    :math:`\|\beta\|_2^2/(4\alpha^2)` as :math:`\alpha \to \infty` (the
    minimum-:math:`\ell_2` interpolator: the lazy regime) and like
    :math:`\tfrac12\log(1/\alpha^2)\|\beta\|_1` as :math:`\alpha \to 0`
    (minimum :math:`\ell_1`, basis pursuit: the rich regime). It is solved
    through its dual, :math:`\min_\nu \sum_j A((X^\top\nu)_j) - y^\top\nu`
    with :math:`A' = B` (smooth and strictly convex when :math:`X` has full
    row rank), by damped Newton steps; :math:`\beta = B(X^\top\nu)`. The
    exponential scheme of :func:`dln` has the same limit for any step size.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Data, ``n < d`` (an interpolation problem), full row rank.
    y : array_like of shape (n,)
        Labels.
    alpha : float
        Initial scale :math:`\alpha > 0`.
    parametrization : {"uv", "u2-v2"}, default="uv"
        As in :func:`dln`.
    v0 : {"zero", "alpha"}, default="zero"
        As in :func:`dln` (``"alpha"`` with ``"uv"`` is the positive-orthant
        entropy: :math:`\beta > 0`, feasible only if :math:`y` is in the cone
        of the columns of :math:`X`).
    tol : float, default=1e-8
        Stop when :math:`\|X\beta - y\|_2 \leq` ``tol`` :math:`\max(1,
        \|y\|_2)`.
    max_iter : int, default=200
        Newton iterations.

    Returns
    -------
    numpy.ndarray of shape (d,)
        The interpolator :math:`\beta_\infty` (NumPy: a host-side solve).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, ``y`` has the wrong length, ``n >= d``, an
        input holds NaN/inf, ``alpha <= 0``, ``tol <= 0`` or ``max_iter <
        1``, or an option is unknown.
    TypeError
        If an input is not numeric.

    Warns
    -----
    ConvergenceWarning
        If the Newton iteration stops at ``max_iter`` above the tolerance
        (for instance no positive interpolator exists for ``v0="alpha"``).

    See Also
    --------
    dln : The model; :func:`solve_dmft` gives :math:`L_{test}(\infty)` of
        its high-dimensional limit.

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "Precise Dynamics of Diagonal Linear
       Networks: A Unifying Analysis by Dynamical Mean-Field Theory",
       arXiv:2510.01930, 2025.
    .. [2] B. Woodworth et al., "Kernel and Rich Regimes in Overparametrized
       Models", COLT 2020, arXiv:2002.09277.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 50)) / np.sqrt(50)
    >>> star = np.zeros(50); star[:3] = [2.0, -1.5, 1.0]
    >>> beta = dmft.dln_implicit_bias_solution(X, X @ star, alpha=1e-3)
    >>> print(np.abs(X @ beta - X @ star).max() < 1e-8, np.round(beta[:3], 2))
    True [ 2.  -1.5  1. ]
    """
    Xa = as_numpy(X, name="X", ndim=2).astype(float)
    n, d = Xa.shape
    ya = as_numpy(y, name="y", ndim=1).astype(float)
    if ya.shape[0] != n:
        raise ValueError(
            f"y must have length n = X.shape[0] = {n}; got shape {ya.shape}."
        )
    if n >= d:
        raise ValueError(
            "the implicit-bias solution is an interpolator: X must have fewer "
            f"rows than columns (n < d); got X of shape {Xa.shape}."
        )
    alpha = check_scalar(alpha, name="alpha", lower=0.0, lower_inclusive=False)
    param, init_v = _check_parametrization(parametrization, v0)
    tol = check_scalar(tol, name="tol", lower=0.0, lower_inclusive=False)
    max_iter = check_scalar(max_iter, name="max_iter", kind=int, lower=1)
    B, dB, A, _ = _mirror(param, init_v, alpha)
    scale = tol * max(1.0, float(np.linalg.norm(ya)))

    def objective(nu: np.ndarray) -> float:
        return float(np.sum(A(Xa.T @ nu)) - ya @ nu)

    nu = np.zeros(n)
    # exp/cosh overflow on infeasible problems: caught below as a non-finite
    # objective or as a residual above tolerance (ConvergenceWarning).
    with np.errstate(over="ignore", invalid="ignore"):
        value = objective(nu)
        for _ in range(max_iter):
            F = Xa.T @ nu
            grad = Xa @ B(F) - ya
            if not np.all(np.isfinite(grad)) or np.linalg.norm(grad) <= scale:
                break
            H = (Xa * dB(F)) @ Xa.T
            try:
                step = np.linalg.solve(H, grad)
            except np.linalg.LinAlgError:
                break
            slope = float(grad @ step)
            s = 1.0
            while s >= 1e-12:
                trial = objective(nu - s * step)
                if np.isfinite(trial) and trial <= value - 1e-4 * s * slope:
                    break
                s *= 0.5
            if s < 1e-12:  # no decrease: at the rounding floor, or infeasible
                break
            nu = nu - s * step
            value = objective(nu)
    with np.errstate(over="ignore", invalid="ignore"):
        beta = np.asarray(B(Xa.T @ nu))
        gap = float(np.linalg.norm(Xa @ beta - ya))
    if not gap <= scale:
        warnings.warn(
            f"dln_implicit_bias_solution stopped after {max_iter} Newton "
            f"iterations with residual {gap:.2e} > tol * max(1, |y|) = "
            f"{scale:.2e}; the interpolation constraint may be infeasible "
            "(v0='alpha' needs a positive interpolator) or alpha too small for "
            "float64.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return beta


# --------------------------------------------------------------------------- #
# Convergence rate and the lazy limit
# --------------------------------------------------------------------------- #


def tail_rate(
    result: Any,
    *,
    t_min: float,
    t_max: float | None = None,
    floor: float = 0.0,
    which: Literal["train", "test"] = "train",
) -> float:
    r"""Exponential rate of the loss tail: the slope of :math:`\log(L(t) - L_\infty)`.

    Fits :math:`\log(L(t) - \text{floor}) \approx a - \kappa t` by least
    squares over the grid times in :math:`[t_{\min}, t_{\max}]` and returns
    :math:`\kappa`. For a DLN at :math:`\delta < 1` without noise the train
    loss tends to 0 (interpolation), so ``floor=0``; with noise at
    :math:`\delta > 1` use :math:`\frac{\sigma^2}{2}(1 - 1/\delta)`.
    Larger initial scales converge faster (the trade-off of [1]_: a larger
    rate, a worse final test loss).

    Parameters
    ----------
    result : DMFTResult or DLNTrajectory
        Anything with ``ts`` and ``train_loss``/``test_loss``; a leading
        seed axis (a simulation) is averaged first.
    t_min : float
        Start of the fitted tail.
    t_max : float, optional
        End of the fitted tail (default: the last time).
    floor : float, default=0.0
        The limit :math:`L_\infty` subtracted before the logarithm.
    which : {"train", "test"}, default="train"
        The curve.

    Returns
    -------
    float
        The rate :math:`\kappa` (positive for a decaying loss).

    Raises
    ------
    TypeError
        If ``result`` has no ``ts`` and loss fields.
    ValueError
        If fewer than 2 times in the window have a loss above ``floor``, a
        bound is not finite, or ``which`` is unknown.

    See Also
    --------
    dln_lazy_limit : The kernel-regime limit, fastest convergence.

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "Precise Dynamics of Diagonal Linear
       Networks: A Unifying Analysis by Dynamical Mean-Field Theory",
       arXiv:2510.01930, 2025.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> lazy = dmft.dln_lazy_limit(dmft.dln(alpha=2.0), delta=4.0,
    ...                            grid=TimeGrid(3.0, 60))
    >>> print(round(dmft.tail_rate(lazy, t_min=1.0), 2))
    2.82
    """
    check_in(which, name="which", options=("train", "test"))
    name = f"{which}_loss"
    if not hasattr(result, "ts") or not hasattr(result, name):
        raise TypeError(
            f"result must have ts and {name} fields (a DMFTResult or "
            f"DLNTrajectory); got {describe(result)}."
        )
    ts = np.asarray(result.ts, float)
    loss = np.asarray(getattr(result, name), float)
    if loss.ndim == 2:
        loss = loss.mean(axis=0)
    t_min = check_scalar(t_min, name="t_min")
    t_hi = float(ts[-1]) if t_max is None else check_scalar(t_max, name="t_max")
    floor = check_scalar(floor, name="floor")
    excess = loss - floor
    keep = (ts >= t_min) & (ts <= t_hi) & (excess > 0) & np.isfinite(excess)
    if keep.sum() < 2:
        raise ValueError(
            f"tail_rate needs at least 2 times in [t_min, t_max] = [{t_min}, "
            f"{t_hi}] with loss > floor = {floor}; got {int(keep.sum())}."
        )
    slope = np.polyfit(ts[keep], np.log(excess[keep]), 1)[0]
    return float(-slope)


def dln_lazy_limit(model: DLNModel, *, delta: float, grid: TimeGrid) -> DMFTResult:
    r"""The lazy (kernel) limit of a DLN: linear-regression DMFT in rescaled time.

    For a large initial scale the factors barely move relative to their
    size, :math:`\varphi(\beta) \approx \varphi(\beta_0) = \kappa`, so the
    DLN is gradient flow of linear regression with time :math:`\kappa t`:
    :math:`\kappa = \alpha^2` (``"uv"``, ``v0="zero"``), :math:`2\alpha^2`
    (``"uv"``, ``v0="alpha"``, started at :math:`\beta_0 = \alpha^2`) or
    :math:`2\alpha^2` (``"u2-v2"``). The limit converges to the
    minimum-:math:`\ell_2` interpolator (:math:`\delta < 1`) at a rate
    proportional to :math:`\kappa`. This returns
    :func:`linear_regression_dmft` on the grid ``TimeGrid(kappa * t_max,
    n_steps)`` (the Euler step :math:`\kappa\Delta` to which the DLN's step
    reduces), with ``ts`` mapped back to the DLN's time. Derived, not proved:
    corrections are :math:`O(\beta^2/\alpha^4)` in :math:`\varphi`.

    Parameters
    ----------
    model : DLNModel
        The network (``ridge`` must be 0; for ``v0="alpha"`` the prior
        should be centred).
    delta : float
        Aspect ratio :math:`n/d > 0`.
    grid : TimeGrid
        Uniform grid of the DLN's time.

    Returns
    -------
    DMFTResult
        The linear-regression solution, ``ts`` in the DLN's time.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`DLNModel` or ``grid`` not a
        :class:`TimeGrid`.
    ValueError
        If ``delta <= 0`` or the model has weight decay.

    See Also
    --------
    linear_regression_dmft : The limit itself.
    tail_rate : Its convergence rate.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> lazy = dmft.dln_lazy_limit(dmft.dln(alpha=3.0), delta=0.5,
    ...                            grid=TimeGrid(2.0, 60))
    >>> print(round(float(lazy.ts[-1]), 3), round(float(lazy.test_loss[0]), 3))
    2.0 0.05
    """
    model = _check_dln(model)
    delta = _check_delta(delta)
    grid = _check_grid(grid)
    if model.ridge != 0.0:
        raise ValueError(
            "dln_lazy_limit needs a model without weight decay (ridge = 0); got "
            f"ridge = {model.ridge}."
        )
    kappa, beta0 = _lazy_rate(model.parametrization, model.v0, model.alpha)
    rho = model.rho
    if rho is None:  # a user sampler: its second moment by Monte Carlo
        draws = np.asarray(model.sample_theta_star(jax.random.key(0), 10**6))
        rho = float(np.mean(draws**2))
    res = linear_regression_dmft(
        delta=delta,
        grid=TimeGrid(kappa * grid.t_max, grid.n_steps),
        sigma=model.sigma,
        rho=rho,
        theta0_var=beta0**2,
    )
    return dataclasses.replace(res, ts=res.ts / kappa)


# --------------------------------------------------------------------------- #
# Per-value coefficient paths of the effective process
# --------------------------------------------------------------------------- #


@pytree_dataclass
class DLNPaths:
    r"""Trajectories of the DMFT effective process for given teacher values.

    Parameters
    ----------
    ts : jax.Array of shape (K+1,)
        Grid times.
    beta_star : jax.Array of shape (n_values,)
        The teacher values.
    mean : jax.Array of shape (n_values, K+1)
        :math:`E[\beta_t \mid \beta^*]`.
    std : jax.Array of shape (n_values, K+1)
        Its standard deviation over the effective noise.
    se : jax.Array of shape (n_values, K+1)
        Monte Carlo standard error of ``mean``.

    See Also
    --------
    dln_coefficient_paths : Returns it.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DLNPaths
    >>> p = DLNPaths(ts=jnp.linspace(0, 1, 3), beta_star=jnp.ones(1),
    ...              mean=jnp.asarray([[0.0, 0.5, 1.0]]), std=jnp.zeros((1, 3)),
    ...              se=jnp.zeros((1, 3)))
    >>> print(p.crossing_times(0.5))
    [0.5]
    """

    ts: Array
    beta_star: Array
    mean: Array
    std: Array
    se: Array

    def crossing_times(self, fraction: float = 0.5) -> np.ndarray:
        r"""Return when :math:`E[\beta_t|\beta^*]` first covers ``fraction`` of the way.

        Linear interpolation between grid times; ``inf`` if never reached.

        Parameters
        ----------
        fraction : float, default=0.5
            In (0, 1).

        Returns
        -------
        numpy.ndarray of shape (n_values,)
            The times.

        Examples
        --------
        >>> from mltheory.dynamics.dmft import DLNPaths
        >>> p = DLNPaths(ts=jnp.linspace(0, 2, 3), beta_star=jnp.asarray([2.0]),
        ...              mean=jnp.asarray([[0.0, 1.0, 2.0]]),
        ...              std=jnp.zeros((1, 3)), se=jnp.zeros((1, 3)))
        >>> print(p.crossing_times(0.75))
        [1.5]
        """
        fraction = check_scalar(
            fraction,
            name="fraction",
            lower=0.0,
            upper=1.0,
            lower_inclusive=False,
            upper_inclusive=False,
        )
        ts = np.asarray(self.ts, float)
        out = []
        for b, path in zip(
            np.asarray(self.beta_star, float), np.asarray(self.mean, float), strict=True
        ):
            start = path[0]
            if b == start:
                out.append(0.0)
                continue
            progress = (path - start) / (b - start)
            above = np.nonzero(progress >= fraction)[0]
            if above.size == 0:
                out.append(math.inf)
                continue
            i = int(above[0])
            if i == 0:
                out.append(float(ts[0]))
                continue
            p0, p1 = progress[i - 1], progress[i]
            w = (fraction - p0) / (p1 - p0)
            out.append(float(ts[i - 1] + w * (ts[i] - ts[i - 1])))
        return np.asarray(out)

    def plot(self, ax: Any = None, *, normalise: bool = True, **kwargs: Any) -> Any:
        r"""Plot :math:`E[\beta_t|\beta^*]` (divided by :math:`\beta^*`) for each value.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (a new figure if None).
        normalise : bool, default=True
            Divide each path by its teacher value (0 is drawn unscaled).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot` for every path.

        Returns
        -------
        matplotlib.axes.Axes
            The axes.

        Raises
        ------
        ValueError
            If the result is batched (stacked by :func:`jax.vmap`): pick one
            member first.
        TypeError
            If called on traced values (inside :func:`jax.jit`/:func:`jax.vmap`).

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from mltheory.dynamics.dmft import DLNPaths
        >>> p = DLNPaths(ts=jnp.linspace(0, 1, 3), beta_star=jnp.asarray([1.0, 2.0]),
        ...              mean=jnp.ones((2, 3)), std=jnp.zeros((2, 3)),
        ...              se=jnp.zeros((2, 3)))
        >>> len(p.plot().get_lines())
        2
        """
        from mltheory._src import _plotting as P

        ts = P.members_or_error(self.ts, name="ts")
        values = P.members_or_error(self.beta_star, name="beta_star")
        means = P.members_or_error(self.mean, name="mean", max_ndim=2)
        ses = P.members_or_error(self.se, name="se", max_ndim=2)
        ax = P.axes_or_new(ax)
        for b, mean, se in zip(values, means, ses, strict=True):
            s = b if (normalise and b != 0) else 1.0
            P.plot_curve(
                ax,
                ts,
                mean / s,
                band=2 * se / abs(s),
                label=f"beta* = {b:g}",
                **kwargs,
            )
        ylabel = "E[beta_t | beta*] / beta*" if normalise else "E[beta_t | beta*]"
        P.finish_axes(ax, xlabel="time t", ylabel=ylabel)
        return ax


@functools.partial(jax.jit, static_argnames=("state_step", "readout", "n"))
def _paths(
    key: KeyArray,
    values: Array,
    state0: Array,
    D: Array,
    G: Array,
    root_M: Array,
    ts: Array,
    *,
    state_step: Callable[..., Array],
    readout: Callable[[Array], Array],
    n: int,
) -> tuple[Array, Array]:
    K = root_M.shape[0]
    dts = jnp.diff(ts)

    def one(key: KeyArray, value: Array) -> tuple[Array, Array]:
        zeta = jax.random.normal(key, (n, K), ts.dtype)
        dU = zeta @ root_M  # (n, K), covariance M
        theta0 = jax.vmap(readout)(state0)[:, 0]
        hist = jnp.zeros((K + 1, n), ts.dtype).at[0].set(theta0)

        def step(c: tuple[Array, Array], k: Array) -> tuple[tuple[Array, Array], None]:
            state, hist = c
            memory = D[k] @ hist  # sum_{j<=k} D[k, j] theta_j (zeros beyond k)
            force = -dts[k] * (G[k] * value + memory) - dU[:, k]
            state = jax.vmap(lambda s, f: state_step(ts[k], s, f[None], dts[k]))(
                state, force
            )
            theta = jax.vmap(readout)(state)[:, 0]
            return (state, hist.at[k + 1].set(theta)), None

        (_, hist), _ = lax.scan(step, (state0, hist), jnp.arange(K))
        return hist.mean(axis=1), hist.std(axis=1)

    keys = jax.random.split(key, values.shape[0])
    return jax.vmap(one)(keys, values)


def dln_coefficient_paths(
    result: DMFTResult,
    model: DLNModel,
    beta_star: ArrayLike | Sequence[float],
    *,
    key: KeyArray,
    n_samples: int = 4000,
) -> DLNPaths:
    r"""Run one coordinate's effective process for given teacher values, from a DMFT.

    Given the kernels of a solution (``R_ell``, ``Gamma``, ``noise_cov``),
    the DMFT's effective process of one coordinate is closed: its factors
    follow the model's step under the force :math:`-\Delta_k(\Gamma_k\beta^* +
    \sum_{j \le k} R_\ell[k, j]\beta_j) - \Delta U_k` with :math:`\Delta U
    \sim N(0, M)`. Running it with :math:`\beta^*` fixed to each value gives
    :math:`E[\beta_t \mid \beta^*]`: which coordinates are learned when
    (incremental learning in the rich regime, all at once in the lazy one).

    Parameters
    ----------
    result : DMFTResult
        A solution of :func:`solve_dmft` for ``model``.
    model : DLNModel
        The network it was solved for.
    beta_star : array_like of shape (n_values,)
        Teacher values.
    key : jax.Array
        PRNG key of the effective noise.
    n_samples : int, default=4000
        Paths per value (at least 100).

    Returns
    -------
    DLNPaths
        Mean, standard deviation and standard error per value and time, with
        :meth:`DLNPaths.crossing_times` and :meth:`DLNPaths.plot`.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`DMFTResult`, ``model`` not a
        :class:`DLNModel` or ``key`` not a PRNG key.
    ValueError
        If ``beta_star`` is not 1-D and finite, ``n_samples < 100``, or the
        result's kernels do not have the grid's shapes (``k = 1``).

    See Also
    --------
    dln_escape_times : The small-alpha heuristic for the same times.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> model = dmft.dln(alpha=0.1, prior={0.0: 0.8, 1.0: 0.1, 2.0: 0.1})
    >>> res = dmft.solve_dmft(model, delta=4.0, grid=TimeGrid(6.0, 30),
    ...                       key=jax.random.key(0),
    ...                       config=dmft.DMFTConfig(n_samples=1000))
    >>> paths = dmft.dln_coefficient_paths(res, model, [1.0, 2.0],
    ...                                    key=jax.random.key(1), n_samples=500)
    >>> t1, t2 = paths.crossing_times(0.5)
    >>> print(paths.mean.shape, bool(t2 < t1))
    (2, 31) True
    """
    if not isinstance(result, DMFTResult):
        raise TypeError(f"result must be a DMFTResult; got {describe(result)}.")
    model = _check_dln(model)
    key = check_key(key)
    values = as_array(beta_star, name="beta_star", ndim=1)
    n_samples = check_scalar(n_samples, name="n_samples", kind=int, lower=100)
    K = int(result.ts.shape[0]) - 1
    if result.R_ell.shape != (K + 1, K + 1, 1, 1) or result.noise_cov.shape != (
        K,
        K,
        1,
        1,
    ):
        raise ValueError(
            "result must be a k = 1 DMFT solution on its grid: R_ell of shape "
            f"({K + 1}, {K + 1}, 1, 1) and noise_cov of shape ({K}, {K}, 1, 1); "
            f"got {tuple(result.R_ell.shape)} and {tuple(result.noise_cov.shape)}."
        )
    dtype = result.ts.dtype
    M = jnp.asarray(result.noise_cov[..., 0, 0], dtype)
    root_M = sqrtm_psd(0.5 * (M + M.T))
    state0 = jnp.asarray(model.sample_theta0(key, n_samples), dtype)
    mean, std = _paths(
        key,
        values.astype(dtype),
        state0,
        jnp.asarray(result.R_ell[..., 0, 0], dtype),
        jnp.asarray(result.Gamma[:, 0, 0], dtype),
        root_M,
        jnp.asarray(result.ts, dtype),
        state_step=model.state_step,
        readout=model.readout,
        n=n_samples,
    )
    return DLNPaths(
        ts=result.ts,
        beta_star=values.astype(dtype),
        mean=mean,
        std=std,
        se=std / math.sqrt(n_samples),
    )

"""Scaling laws of unlearning and measures on trajectories.

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_scalar,
)
from mltheory.dynamics._fast_slow_problem import (
    FastSlowProblem,
    _check_problem,
    _coeffs,
)
from mltheory.dynamics._fast_slow_unlearning import _leading_degree_host

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Scaling laws and trajectory measures
# --------------------------------------------------------------------------- #


@pytree_dataclass
class ScalingLaw:
    r"""Power laws of the drift to the linear (lazy) regime.

    Parameters
    ----------
    p : int
        Leading nonlinear Hermite degree of the student (static).
    regime : str
        ``"opposed"`` (:math:`c_p c^*_p < 0`), ``"absent"``
        (:math:`c^*_p = 0`) or ``"equilibrium"`` (no drift), static.
    b_star : jax.Array of shape ()
        :math:`b^* = c^*_1 / c_1`, the limit of :math:`a m`.
    exponent_a : jax.Array of shape ()
        :math:`a(t) \propto t^{\text{exponent\_a}}` (NaN without drift).
    exponent_m : jax.Array of shape ()
        :math:`m(t) \propto t^{\text{exponent\_m}}`.
    prefactor_a : jax.Array of shape ()
        :math:`a(t) \simeq \text{prefactor\_a}\; t^{\text{exponent\_a}}`.
    prefactor_m : jax.Array of shape ()
        :math:`m(t) \simeq \text{prefactor\_m}\; t^{\text{exponent\_m}}`.

    See Also
    --------
    scaling_law : Computes it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> law = fast_slow.scaling_law(fast_slow.FastSlowProblem(s, teacher, eps=0.01))
    >>> law.regime, round(float(law.exponent_a), 4)
    ('absent', 0.1667)
    """

    b_star: Array
    exponent_a: Array
    exponent_m: Array
    prefactor_a: Array
    prefactor_m: Array
    p: int = static_field()
    regime: str = static_field()

    def plot(
        self,
        ax: Axes | None = None,
        *,
        t: ArrayLike | None = None,
        variables: tuple[str, ...] = ("m",),
        label: str | None = "law",
        color: str | None = None,
        **kwargs: Any,
    ) -> Axes:
        r"""Plot the power laws on log-log axes.

        Each law :math:`C t^{\alpha}` is a dashed line in the colour of its
        variable in :meth:`FastSlowTrajectory.plot`, so
        ``traj.plot(ax=ax, variables=("m",), logx=True, logy=True);
        law.plot(ax=ax, t=traj.t[1:])`` puts the measured drift and its law
        side by side.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        t : array_like of shape (n,), optional
            Positive times; by default 100 log-spaced points in
            :math:`[1, 10^4]`.
        variables : tuple of {"m", "a"}, default=("m",)
            Which laws.
        label : str or None, default="law"
            Appended to the legend entries, after the exponent.
        color : str, optional
            One colour for every law (by default the variable's colour).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If the regime is ``"equilibrium"`` (no drift, no law), ``t`` is
            not positive, or ``variables`` names an unknown law.

        Examples
        --------
        >>> from mltheory import numerics
        >>> from mltheory.dynamics import fast_slow
        >>> s = numerics.activation_series("erf", 9)
        >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
        >>> law = fast_slow.scaling_law(fast_slow.FastSlowProblem(s, teacher, eps=0.01))
        >>> ax = law.plot(variables=("m", "a"))  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        if self.regime == "equilibrium":
            raise ValueError(
                "this problem has no unlearning drift (regime 'equilibrium'), so "
                "there is no power law to plot."
            )
        laws = {
            "m": (self.prefactor_m, self.exponent_m),
            "a": (self.prefactor_a, self.exponent_a),
        }
        for v in variables:
            if v not in laws:
                raise ValueError(f"variables must be among 'm', 'a'; got {v!r}.")
        ts = (
            np.geomspace(1.0, 1e4, 100)
            if t is None
            else P.as_numpy(t, name="t").astype(float)
        )
        if ts.ndim != 1 or not np.all(ts > 0):
            raise ValueError("t must be a 1-D array of positive times.")
        ax = P.axes_or_new(ax)
        colors = {"m": P.PALETTE[0], "a": P.PALETTE[1]}
        style: dict[str, Any] = {"linestyle": "--", "linewidth": 1.4} | kwargs
        for v in variables:
            pref, expo = (float(P.as_numpy(x)) for x in laws[v])
            text = f"{v} ~ t^{expo:.3g}" + (f" ({label})" if label else "")
            P.plot_curve(
                ax, ts, pref * ts**expo, label=text, color=color or colors[v], **style
            )
        ylabel = "alignment m" if variables == ("m",) else "value"
        return P.finish_axes(ax, xlabel="time t", ylabel=ylabel, logx=True, logy=True)


def scaling_law(problem: FastSlowProblem) -> ScalingLaw:
    r"""Closed-form power laws of complete unlearning (exponents and prefactors).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem (concrete, not traced).

    Returns
    -------
    ScalingLaw
        The regime, exponents and prefactors (NaN when there is no drift).

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If :math:`c_1 = 0` or :math:`c^*_1 = 0` (:math:`b^*` undefined), or
        the student has no nonlinear term.

    See Also
    --------
    fit_power_law : Measures the exponents on a trajectory.
    predict_unlearning : Whether the drift happens for a given start.

    Notes
    -----
    Along the drift :math:`a m \to b^* = c^*_1/c_1` and, keeping the leading
    :math:`k = p` term of the slow flow,

    * :math:`c_p c^*_p < 0`: :math:`a(t) \simeq [(p+1)(p-1)\,p!\,|c_p c^*_p|\,
      |b^*|^p\,\varepsilon t]^{1/(p+1)}`;
    * :math:`c^*_p = 0`: :math:`a(t) \simeq [2p(p-1)\,p!\,c_p^2\,
      |b^*|^{2p}\,\varepsilon t]^{1/(2p)}`;
    * :math:`c_p c^*_p > 0`, or :math:`c_0 \ne 0` (the :math:`k = 0`
      residual pins :math:`a`): no drift, ``regime="equilibrium"``.

    In each drift case :math:`m(t) \simeq b^*/a(t)`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0, 3: 0.3}, degree=9)
    >>> law = fast_slow.scaling_law(fast_slow.FastSlowProblem(tanh, teacher, eps=0.01))
    >>> law.regime, law.p, round(float(law.exponent_m), 4)
    ('opposed', 3, -0.25)
    """
    problem = _check_problem(problem)
    c, cs = (np.asarray(x, np.float64) for x in _coeffs(problem))
    eps = float(problem.eps)
    if c[1] == 0.0 or cs[1] == 0.0:
        raise ValueError(
            "scaling_law needs c_1 != 0 and c*_1 != 0 (b* = c*_1 / c_1 is "
            f"undefined otherwise); got c_1={c[1]}, c*_1={cs[1]}."
        )
    p = _leading_degree_host(c)
    if p is None:
        raise ValueError(
            "student has no nonlinear Hermite term (c_k = 0 for all k >= 2): the "
            "linear problem has no unlearning drift."
        )
    b_star = cs[1] / c[1]
    scale_c = float(np.max(np.abs(c)))
    scale_t = float(np.max(np.abs(cs)))
    fact = math.factorial(p)
    nan = float("nan")
    if abs(c[0]) > 1e-12 * scale_c or (
        c[p] * cs[p] > 0 and abs(cs[p]) > 1e-12 * scale_t
    ):
        regime, exp_a, pref = "equilibrium", nan, nan
    elif abs(cs[p]) <= 1e-12 * scale_t:
        regime = "absent"
        exp_a = 1.0 / (2 * p)
        rate = 2 * p * (p - 1) * fact * c[p] ** 2 * abs(b_star) ** (2 * p) * eps
        pref = rate**exp_a
    else:
        regime = "opposed"
        exp_a = 1.0 / (p + 1)
        rate = (p + 1) * (p - 1) * fact * abs(c[p] * cs[p]) * abs(b_star) ** p * eps
        pref = rate**exp_a
    dtype = jnp.result_type(float)
    return ScalingLaw(
        b_star=jnp.asarray(b_star, dtype),
        exponent_a=jnp.asarray(exp_a, dtype),
        exponent_m=jnp.asarray(-exp_a, dtype),
        prefactor_a=jnp.asarray(pref, dtype),
        prefactor_m=jnp.asarray(b_star / pref, dtype),
        p=p,
        regime=regime,
    )


@pytree_dataclass
class PowerLawFit:
    r"""A least-squares fit :math:`y \\simeq C t^{\\alpha}` in log-log scale.

    Parameters
    ----------
    exponent : jax.Array of shape ()
        :math:`\\alpha`.
    prefactor : jax.Array of shape ()
        :math:`C`.
    r2 : jax.Array of shape ()
        Coefficient of determination of the log-log fit.

    See Also
    --------
    fit_power_law : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import fast_slow
    >>> t = jnp.geomspace(1.0, 1e4, 50)
    >>> fit = fast_slow.fit_power_law(t, 3.0 * t**0.25, 1.0)
    >>> print(round(float(fit.exponent), 6), round(float(fit.prefactor), 6))
    0.25 3.0
    """

    exponent: Array
    prefactor: Array
    r2: Array


@jax.jit
def _fit(t: Array, y: Array, t_min: Array, t_max: Array) -> PowerLawFit:
    w = ((t >= t_min) & (t <= t_max)).astype(t.dtype)
    lx = jnp.log(jnp.where(w > 0, t, 1.0))
    ly = jnp.log(jnp.where(w > 0, jnp.abs(y), 1.0))
    n = jnp.sum(w)
    mx = jnp.sum(w * lx) / n
    my = jnp.sum(w * ly) / n
    sxx = jnp.sum(w * (lx - mx) ** 2)
    sxy = jnp.sum(w * (lx - mx) * (ly - my))
    syy = jnp.sum(w * (ly - my) ** 2)
    slope = sxy / sxx
    resid = jnp.sum(w * (ly - my - slope * (lx - mx)) ** 2)
    return PowerLawFit(slope, jnp.exp(my - slope * mx), 1.0 - resid / syy)


def fit_power_law(
    t: ArrayLike, y: ArrayLike, t_min: float, t_max: float | None = None
) -> PowerLawFit:
    r"""Fit :math:`|y| \simeq C t^\alpha` by log-log least squares on a window.

    Parameters
    ----------
    t : array_like of shape (T,)
        Positive times.
    y : array_like of shape (T,)
        Values; their absolute values must be positive in the window.
    t_min : float
        Start of the fit window, > 0.
    t_max : float, optional
        End of the window; default ``t[-1]``.

    Returns
    -------
    PowerLawFit
        Exponent, prefactor and :math:`R^2`.

    Raises
    ------
    ValueError
        If ``t``/``y`` are not 1-D of the same shape or hold NaN/inf,
        ``t_min <= 0``, ``t_max <= t_min``, fewer than 2 points fall in the
        window, or a ``y`` in the window is 0.

    See Also
    --------
    scaling_law : The predicted exponents.

    Notes
    -----
    Ordinary least squares of :math:`\log|y|` on :math:`\log t`; on a log
    time grid the points are evenly weighted in :math:`\log t`.

    Examples
    --------
    >>> from mltheory.dynamics import fast_slow
    >>> t = jnp.geomspace(1.0, 1e6, 100)
    >>> fit = fast_slow.fit_power_law(t, t ** -0.5, 10.0, 1e5)
    >>> print(round(float(fit.exponent), 6), round(float(fit.r2), 6))
    -0.5 1.0
    """
    t_arr = as_array(t, name="t", ndim=1, shape_hint="(T,)")
    y_arr = as_array(y, name="y", ndim=1, shape_hint="(T,)")
    if t_arr.shape != y_arr.shape:
        raise ValueError(
            f"t and y must have the same shape; got {tuple(t_arr.shape)} and "
            f"{tuple(y_arr.shape)}."
        )
    t_min = check_scalar(t_min, name="t_min", lower=0.0, lower_inclusive=False)
    if t_max is None:
        t_max = float(t_arr[-1])
    t_max = check_scalar(t_max, name="t_max", lower=t_min, lower_inclusive=False)
    window = (t_arr >= t_min) & (t_arr <= t_max)
    n_in = int(jnp.sum(window))
    if n_in < 2:
        raise ValueError(
            f"at least 2 points of t must lie in [t_min, t_max] = [{t_min}, {t_max}]; "
            f"got {n_in}."
        )
    zeros = int(jnp.sum(window & (y_arr == 0)))
    if zeros:
        raise ValueError(
            f"y must satisfy |y| > 0 in the fit window [t_min, t_max] = [{t_min}, "
            f"{t_max}] (the fit is in log|y|); got {zeros} zero value"
            f"{'' if zeros == 1 else 's'}."
        )
    dtype = jnp.result_type(t_arr, y_arr, float)
    return _fit(
        t_arr.astype(dtype),
        y_arr.astype(dtype),
        jnp.asarray(t_min, dtype),
        jnp.asarray(t_max, dtype),
    )


@pytree_dataclass
class UnlearningStats:
    """Unlearning measured on an alignment trajectory.

    Parameters
    ----------
    peak_m : jax.Array of shape ()
        Largest :math:`|m|`.
    t_peak : jax.Array of shape ()
        Time of the peak.
    final_m : jax.Array of shape ()
        Final :math:`|m|`.
    drop : jax.Array of shape ()
        ``peak_m - final_m`` (0 for a non-decreasing alignment).
    unlearned : jax.Array of shape (), bool
        ``drop > tol``.

    See Also
    --------
    measure_unlearning : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import fast_slow
    >>> m = jnp.array([0.0, 0.9, 0.5, 0.4])
    >>> st = fast_slow.measure_unlearning(jnp.arange(4.0), m)
    >>> print(round(float(st.drop), 6), bool(st.unlearned))
    0.5 True
    """

    peak_m: Array
    t_peak: Array
    final_m: Array
    drop: Array
    unlearned: Array


@jax.jit
def _measure(t: Array, m: Array, tol: Array) -> UnlearningStats:
    absm = jnp.abs(m)
    i = jnp.argmax(absm, axis=-1)
    peak = jnp.max(absm, axis=-1)
    final = absm[..., -1]
    drop = peak - final
    return UnlearningStats(peak, t[i], final, drop, drop > tol)


def measure_unlearning(
    t: ArrayLike, m: ArrayLike, *, tol: float = 1e-3
) -> UnlearningStats:
    r"""Measure unlearning on a trajectory: peak, final alignment and drop.

    Parameters
    ----------
    t : array_like of shape (T,)
        Times.
    m : array_like of shape (T,)
        Alignment along the trajectory (any source: :func:`integrate`, a
        finite-width simulation's mean alignment, ...).
    tol : float, default=1e-3
        ``unlearned`` is ``drop > tol``; >= 0.

    Returns
    -------
    UnlearningStats
        Peak :math:`|m|`, its time, final :math:`|m|`, the drop and the flag.

    Raises
    ------
    ValueError
        If ``t``/``m`` are not 1-D of the same shape, hold NaN/inf, or
        ``tol < 0``.

    See Also
    --------
    predict_unlearning : The prediction to compare with.

    Notes
    -----
    Feature unlearning is a non-monotone alignment: the drop
    :math:`\\max_t |m(t)| - |m(t_{\\mathrm{end}})|` is positive. The verdict
    depends on the horizon: the slow decay takes times of order
    :math:`1/\\varepsilon`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> traj = fast_slow.integrate(p, 1e-3, 1.0, 100.0)
    >>> bool(fast_slow.measure_unlearning(traj.t, traj.m).unlearned)
    True
    """
    t_arr = as_array(t, name="t", ndim=1, shape_hint="(T,)")
    m_arr = as_array(m, name="m", ndim=1, shape_hint="(T,)")
    if t_arr.shape != m_arr.shape:
        raise ValueError(
            f"t and m must have the same shape; got {tuple(t_arr.shape)} and "
            f"{tuple(m_arr.shape)}."
        )
    tol = check_scalar(tol, name="tol", lower=0.0)
    dtype = jnp.result_type(t_arr, m_arr)
    return _measure(t_arr.astype(dtype), m_arr.astype(dtype), jnp.asarray(tol, dtype))

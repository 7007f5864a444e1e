"""Integration of the macroscopic ODEs (stiff hand-off and RK4).

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import DivergedMixin, pytree_dataclass
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_in,
    check_on_divergence,
    check_scalar,
    is_traced,
)
from mltheory.dynamics._fast_slow_field import _loss, _sums
from mltheory.dynamics._fast_slow_problem import (
    _STIFF_METHODS,
    FastSlowProblem,
    IntegrateMethod,
    _check_problem,
    _coeffs,
    _factorials,
    _powers,
)
from mltheory.numerics import (
    TimeGrid,
    Trajectory,
    handle_divergence,
    solve_ode,
    solve_ode_stiff,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Integration
# --------------------------------------------------------------------------- #


@pytree_dataclass
class FastSlowTrajectory(DivergedMixin):
    """A solution of the 2-D fast–slow ODE.

    Parameters
    ----------
    t : jax.Array of shape (T,)
        Times (fast units, ``t = k * lr_w``).
    m : jax.Array of shape (T,)
        Alignment.
    a : jax.Array of shape (T,)
        Second-layer weight.
    loss : jax.Array of shape (T,)
        Population loss along the path.
    first_bad_step : int or jax.Array of int32, default=-1
        With ``method="rk4"``: the first RK4 step whose state was non-finite,
        ``-1`` if none; ``diverged`` is ``first_bad_step >= 0``.

    See Also
    --------
    integrate : Produces it.
    measure_unlearning : Summarises it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 5)
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
    >>> traj = fast_slow.integrate(p, 0.01, 1.0, 5.0, method="rk4", n_steps=100,
    ...                            record_every=10)
    >>> traj.m.shape
    (11,)
    """

    t: Array
    m: Array
    a: Array
    loss: Array
    first_bad_step: Any = dataclasses.field(
        default_factory=lambda: np.asarray(-1, np.int32)
    )

    def _record_leaves(self) -> tuple[Array, ...]:
        """The recorded values checked for NaN/inf by the divergence policy."""
        return (self.m, self.a, self.loss)

    def _summary_items(self) -> dict[str, Any]:
        return {
            "horizon": self.t[..., -1],
            "final m": self.m[..., -1],
            "final a": self.a[..., -1],
        }

    def plot(
        self,
        ax: Axes | None = None,
        *,
        variables: tuple[str, ...] = ("m", "a"),
        label: str | None = "ODE",
        kind: Literal["theory", "simulation", "data"] = "theory",
        logx: bool = False,
        logy: bool = False,
        color: str | None = None,
        **kwargs: Any,
    ) -> Axes:
        """Plot the alignment ``m`` and the weight ``a`` against time.

        Each variable has its own colour (``m`` the first house colour, ``a``
        the second, ``loss`` the third), the same as
        :meth:`mltheory.dynamics.tensor_programs.SGDTrajectory.plot` uses for
        the finite-width simulation, so ``ode.plot(ax=ax); sgd.plot(ax=ax)``
        pairs each ODE line with its SGD markers. A trajectory stacked by
        :func:`jax.vmap` (over initial conditions, say) draws one line per
        member.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        variables : tuple of {"m", "a", "loss"}, default=("m", "a")
            Which curves.
        label : str or None, default="ODE"
            Appended to the legend entries: ``"m (ODE)"``.
        kind : {"theory", "simulation", "data"}, default="theory"
            How the curves are drawn.
        logx, logy : bool, default=False
            Logarithmic axes (for the scaling laws: ``logx=logy=True``).
        color : str, optional
            One colour for all curves.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If ``variables`` names an unknown curve.
        TypeError
            If the trajectory holds tracers (call ``.plot()`` outside jit).

        Examples
        --------
        >>> from mltheory import numerics
        >>> from mltheory.dynamics import fast_slow
        >>> s = numerics.activation_series("erf", 5)
        >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
        >>> traj = fast_slow.integrate(p, 0.01, 1.0, 5.0, n_steps=100)
        >>> ax = traj.plot()  # doctest: +SKIP
        """
        curves = {"m": self.m, "a": self.a, "loss": self.loss}
        return _plot_variables(
            ax,
            self.t,
            curves,
            variables,
            label=label,
            kind=kind,
            logx=logx,
            logy=logy,
            color=color,
            **kwargs,
        )


#: The long name of each fast-slow variable, for axis labels.
VARIABLE_NAMES = {
    "m": "alignment m",
    "a": "second-layer weight a",
    "loss": "population loss",
}


def _plot_variables(
    ax: Axes | None,
    t: Any,
    curves: dict[str, Any],
    variables: tuple[str, ...],
    *,
    label: str | None,
    kind: Literal["theory", "simulation", "data"],
    logx: bool,
    logy: bool,
    color: str | None,
    average: bool = False,
    **kwargs: Any,
) -> Axes:
    """Draw fast-slow variables, one fixed colour each (ODE and SGD share them)."""
    from mltheory._src import _plotting as P

    for v in variables:
        if v not in curves:
            raise ValueError(
                f"variables must be among {', '.join(map(repr, curves))}; got {v!r}."
            )
    colors = {v: P.PALETTE[i] for i, v in enumerate(VARIABLE_NAMES)}
    ax = P.axes_or_new(ax)
    P.plot_named_curves(
        ax,
        t,
        {v: curves[v] for v in variables},
        kind=kind,
        label=label,
        colors=colors,
        color=color,
        average=average,
        **kwargs,
    )
    ylabel = VARIABLE_NAMES[variables[0]] if len(variables) == 1 else "value"
    return P.finish_axes(
        ax, xlabel="time t = step * lr_w", ylabel=ylabel, logx=logx, logy=logy
    )


@pytree_dataclass
class PopulationTrajectory(DivergedMixin):
    r"""A solution of the N-particle mean-field ODE.

    Parameters
    ----------
    t : jax.Array of shape (T,)
        Times.
    m : jax.Array of shape (T, N)
        Alignments of the particles.
    a : jax.Array of shape (T, N)
        Second-layer weights of the particles.
    F : jax.Array of shape (T, K + 1)
        Network Hermite coefficients :math:`F_k = c_k \\langle a m^k\\rangle`.
    loss : jax.Array of shape (T,)
        Population loss.

    first_bad_step : int or jax.Array of int32, default=-1
        With ``method="rk4"``: the first RK4 step whose state was non-finite,
        ``-1`` if none; ``diverged`` is ``first_bad_step >= 0``.

    See Also
    --------
    integrate_population : Produces it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> s = numerics.activation_series("erf", 5)
    >>> p = fast_slow.FastSlowProblem(s, s, eps=0.1)
    >>> traj = fast_slow.integrate_population(
    ...     p, jnp.full(3, 0.01), jnp.ones(3), 5.0, method="rk4", n_steps=100,
    ...     record_every=50)
    >>> traj.m.shape, traj.F.shape
    ((3, 3), (3, 6))
    """

    t: Array
    m: Array
    a: Array
    F: Array
    loss: Array
    first_bad_step: Any = dataclasses.field(
        default_factory=lambda: np.asarray(-1, np.int32)
    )

    def _record_leaves(self) -> tuple[Array, ...]:
        """The recorded values checked for NaN/inf by the divergence policy."""
        return (self.m, self.a, self.F, self.loss)


def _field_sa(t: Array, y: tuple[Array, Array], args: Any) -> tuple[Array, Array]:
    """The 2-D field in (s, a), s = artanh m: no (1 - m^2) boundary factor."""
    c, cs, eps = args
    s, a = y
    m = jnp.tanh(s)
    sums = _sums(c, cs, m)
    return -a * (a * sums.S2 - sums.S1), -eps * (a * sums.T2 - sums.T1)


def _population_terms(
    c: Array, cs: Array, m: Array, a: Array
) -> tuple[Array, Array, Array]:
    """Network coefficients F (K+1,), residual weights R, powers of m (N, K+1)."""
    size = c.shape[0]
    fact = _factorials(size, m.dtype)
    pw = _powers(m, size - 1)
    F = c * jnp.mean(a[:, None] * pw, axis=0)
    return F, fact * (F - cs), pw


def _population_field(
    t: Array, y: tuple[Array, Array], args: Any
) -> tuple[Array, Array]:
    c, cs, eps = args
    s, a = y
    m = jnp.tanh(s)
    _F, R, pw = _population_terms(c, cs, m, a)
    k = jnp.arange(c.shape[0], dtype=m.dtype)
    ds = -a * (pw[:, :-1] @ (k[1:] * c[1:] * R[1:]))
    da = -eps * (pw @ (c * R))
    return ds, da


def _check_horizon(t_max: Any) -> float:
    return check_scalar(t_max, name="t_max", lower=0.0, lower_inclusive=False)


def _check_m0(m0: Array, problem: FastSlowProblem, *, name: str) -> None:
    if is_traced(m0):
        return
    worst = float(jnp.max(jnp.abs(m0)))
    if worst > 1.0:
        raise ValueError(
            f"{name} must satisfy |{name}| < 1 (an alignment); got max "
            f"|{name}| = {worst}."
        )
    if worst == 1.0:
        raise ValueError(
            f"{name} must satisfy |{name}| < 1: the ODE is integrated in "
            f"artanh({name}), which is infinite at |{name}| = 1; use "
            f"{name} = 1 - 1e-12 instead."
        )
    c, cs = _coeffs(problem)
    concrete = not is_traced(c) and not is_traced(cs)
    if concrete and float(c[1] * cs[1]) == 0.0 and bool(jnp.any(m0 == 0.0)):
        raise ValueError(
            f"{name} must be nonzero when c_1 c*_1 = 0 (information exponent "
            f"> 1): m = 0 is then a fixed point and the alignment never "
            f"moves; got {name} with zero entries."
        )


def _default_t_eval(t_max: float) -> np.ndarray:
    lo = min(1e-2, t_max / 10.0)
    return np.concatenate([[0.0], np.geomspace(lo, t_max, 400)])


def _check_rk4_grid(t_max: float, n_steps: Any, record_every: Any) -> TimeGrid:
    n = check_scalar(n_steps, name="n_steps", kind=int, lower=1)
    r = check_scalar(record_every, name="record_every", kind=int, lower=1)
    if n % r != 0:
        raise ValueError(f"record_every must divide n_steps (={n}); got {r}.")
    return TimeGrid(t_max, n)


def _solve(
    field: Any,
    y0: tuple[Array, Array],
    args: Any,
    *,
    t_max: float,
    method: str,
    t_eval: Any,
    n_steps: int,
    record_every: int,
    rtol: float,
    atol: float,
) -> Trajectory:
    check_in(method, name="method", options=("lsoda", "radau", "bdf", "rk4"))
    if method == "rk4":
        grid = _check_rk4_grid(t_max, n_steps, record_every)
        return solve_ode(
            field,
            y0,
            grid=grid,
            args=args,
            record_every=record_every,
            on_divergence="flag",  # the caller applies the policy
        )
    rtol = check_scalar(rtol, name="rtol", lower=0.0, lower_inclusive=False)
    atol = check_scalar(atol, name="atol", lower=0.0, lower_inclusive=False)
    if t_eval is None:
        ts = _default_t_eval(t_max)
    else:
        ts = np.asarray(
            as_array(t_eval, name="t_eval", ndim=1, shape_hint="(T,)"), np.float64
        )
        if ts[0] != 0.0 or abs(ts[-1] - t_max) > 1e-12 * t_max:
            raise ValueError(
                f"t_eval must start at 0 and end at t_max (={t_max}); got "
                f"t_eval[0]={ts[0]}, t_eval[-1]={ts[-1]}."
            )
    return solve_ode_stiff(
        field,
        y0,
        ts=ts,
        method=_STIFF_METHODS[method],  # type: ignore[arg-type]
        rtol=rtol,
        atol=atol,
        args=args,
    )


def _apply_policy(
    traj: Any,
    *,
    what: str,
    on_divergence: str,
    t_max: float,
    n_steps: int,
    record_every: int,
    a0: Any,
) -> Any:
    """The library's divergence policy for an RK4 run (adaptive runs raise)."""
    dt = t_max / n_steps
    try:
        scale = f" (a0 up to {float(jnp.max(jnp.abs(a0))):.3g})"
    except (TypeError, jax.errors.ConcretizationTypeError):
        scale = ""
    return handle_divergence(
        traj,
        on_divergence=on_divergence,  # type: ignore[arg-type]
        what=f"{what}(method='rk4')",
        cause=(
            f"the RK4 step dt = t_max / n_steps = {dt:.4g} does not resolve the "
            f"fast rate of the alignment, which grows like a**2{scale}; use "
            "more steps (n_steps) or an adaptive method ('lsoda')"
        ),
        record_every=record_every,
        dt=dt,
        n_steps=n_steps,
        n_records=n_steps // record_every + 1,
        stacklevel=4,
    )


def integrate(
    problem: FastSlowProblem,
    m0: ArrayLike,
    a0: ArrayLike,
    t_max: float,
    *,
    method: IntegrateMethod = "lsoda",
    t_eval: ArrayLike | None = None,
    n_steps: int = 4000,
    record_every: int = 10,
    rtol: float = 1e-9,
    atol: float = 1e-11,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> FastSlowTrajectory:
    r"""Integrate the 2-D fast–slow ODE from ``(m0, a0)`` up to ``t_max``.

    The state is integrated in :math:`s = \operatorname{artanh} m`, which
    removes the :math:`(1 - m^2)` boundary factor, so :math:`|m|` never
    overshoots 1 and the approach to the face :math:`m = \pm 1` is not stiff.
    The remaining stiffness as :math:`\varepsilon \to 0` (fast rate
    :math:`O(a^2 S_2)` against slow rate :math:`O(\varepsilon)`) is handled by
    the implicit, adaptive solvers (``"lsoda"``, ``"radau"``, ``"bdf"``:
    SciPy's, with a jitted :func:`jax.jacfwd` Jacobian, through
    :func:`mltheory.numerics.solve_ode_stiff`), which reach horizons of
    :math:`10^{10}`. ``"rk4"`` is fixed-step explicit RK4
    (:func:`mltheory.numerics.solve_ode`), jit- and vmap-able over the
    problem and the initial condition, for short horizons and parameter
    sweeps (stable while ``dt`` times the fast rate stays below about 2).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m0 : float
        Initial alignment, :math:`|m_0| < 1`; nonzero if :math:`c_1 c^*_1 = 0`.
    a0 : float
        Initial second-layer weight.
    t_max : float
        Horizon, > 0 (fast time units).
    method : {"lsoda", "radau", "bdf", "rk4"}, default="lsoda"
        Solver (see above).
    t_eval : array_like of shape (T,), optional
        Output times for the adaptive solvers, strictly increasing from 0 to
        ``t_max``; default 0 and 400 log-spaced times from
        ``min(1e-2, t_max / 10)`` to ``t_max``.
    n_steps : int, default=4000
        RK4 steps (``dt = t_max / n_steps``).
    record_every : int, default=10
        RK4 records every this many steps; must divide ``n_steps``.
    rtol : float, default=1e-9
        Relative tolerance of the adaptive solvers.
    atol : float, default=1e-11
        Absolute tolerance of the adaptive solvers.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        With ``method="rk4"``, what to do if the state becomes NaN/inf (a
        step that does not resolve the fast rate, e.g. from a huge ``a0``):
        raise :class:`~mltheory.exceptions.DivergenceError` naming the first
        bad step and its time, warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the
        records before it, or return the trajectory as is with
        ``first_bad_step`` set (see
        :func:`mltheory.numerics.handle_divergence`). The adaptive solvers
        always raise when they fail (there is no partial result).

    Returns
    -------
    FastSlowTrajectory
        Times, alignment, second-layer weight and loss.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If :math:`|m_0| \ge 1` (the message suggests ``1 - 1e-12`` for
        :math:`|m_0| = 1`), ``m0 = 0`` while :math:`c_1 c^*_1 = 0`, an input
        is not finite, ``t_max <= 0``, ``method`` is unknown, or
        ``record_every`` does not divide ``n_steps``, or ``on_divergence`` is
        unknown.
    mltheory.exceptions.DivergenceError
        If an adaptive solver fails, or with ``method="rk4"`` and
        ``on_divergence="raise"`` if the state became non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``method="rk4"`` and ``on_divergence="warn"``, if the state
        became non-finite.

    See Also
    --------
    integrate_population : The N-particle version.
    predict_unlearning : The outcome, without time stepping.

    Notes
    -----
    .. math::

        \dot s = -a\,[a S_2(m) - S_1(m)], \quad
        \dot a = -\varepsilon\,[a T_2(m) - T_1(m)], \quad m = \tanh s.

    The loss is non-increasing along exact solutions (gradient-flow
    structure).

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> traj = fast_slow.integrate(p, 1e-3, 1.0, 30.0)
    >>> print(round(float(traj.m.max()), 3) > round(float(traj.m[-1]), 3))
    True
    """
    problem = _check_problem(problem)
    t_max = _check_horizon(t_max)
    check_on_divergence(on_divergence)
    dtype = jnp.result_type(float)
    m0_arr = as_array(m0, name="m0", ndim=0, dtype=dtype)
    a0_arr = as_array(a0, name="a0", ndim=0, dtype=dtype)
    _check_m0(m0_arr, problem, name="m0")
    c, cs = _coeffs(problem)
    eps = jnp.asarray(problem.eps, dtype)
    sol = _solve(
        _field_sa,
        (jnp.arctanh(m0_arr), a0_arr),
        (c, cs, eps),
        t_max=t_max,
        method=method,
        t_eval=t_eval,
        n_steps=n_steps,
        record_every=record_every,
        rtol=rtol,
        atol=atol,
    )
    m = jnp.tanh(sol.ys[0])
    a = sol.ys[1]
    nv = jnp.asarray(problem.noise_var, dtype)
    traj = FastSlowTrajectory(
        sol.ts, m, a, _loss(c, cs, nv, m, a), first_bad_step=sol.first_bad_step
    )
    if method != "rk4":
        return traj
    return _apply_policy(
        traj,
        what="integrate",
        on_divergence=on_divergence,
        t_max=t_max,
        n_steps=n_steps,
        record_every=record_every,
        a0=a0_arr,
    )


def integrate_population(
    problem: FastSlowProblem,
    m0: ArrayLike,
    a0: ArrayLike,
    t_max: float,
    *,
    method: IntegrateMethod = "lsoda",
    t_eval: ArrayLike | None = None,
    n_steps: int = 4000,
    record_every: int = 10,
    rtol: float = 1e-9,
    atol: float = 1e-11,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> PopulationTrajectory:
    r"""Integrate the mean-field ODE of N particles :math:`(m_i, a_i)`.

    Parameters
    ----------
    problem : FastSlowProblem
        The problem.
    m0 : array_like of shape (N,)
        Initial alignments, :math:`|m_i| < 1`.
    a0 : array_like of shape (N,)
        Initial second-layer weights.
    t_max : float
        Horizon, > 0.
    method : {"lsoda", "radau", "bdf", "rk4"}, default="lsoda"
        Solver, as in :func:`integrate` (also integrated in
        :math:`s_i = \operatorname{artanh} m_i`).
    t_eval : array_like of shape (T,), optional
        Output times of the adaptive solvers, as in :func:`integrate`.
    n_steps : int, default=4000
        RK4 steps.
    record_every : int, default=10
        RK4 record interval; divides ``n_steps``.
    rtol : float, default=1e-9
        Relative tolerance of the adaptive solvers.
    atol : float, default=1e-11
        Absolute tolerance of the adaptive solvers.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        The divergence policy of an RK4 run, as in :func:`integrate`.

    Returns
    -------
    PopulationTrajectory
        Times, particle states, network coefficients and loss.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If ``m0``/``a0`` are not 1-D of the same shape, hold NaN/inf, or
        :math:`|m_i| \ge 1`, or for the bad options listed in
        :func:`integrate`.
    mltheory.exceptions.DivergenceError
        As :func:`integrate`.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        As :func:`integrate`.

    See Also
    --------
    integrate : The 2-D ODE (all particles equal).

    Notes
    -----
    With network coefficients :math:`F_k = c_k \langle a m^k\rangle` and
    residual weights :math:`R_k = k!\,(F_k - c^*_k)`,

    .. math::

        \dot m_i = -(1 - m_i^2)\,a_i \sum_{k \ge 1} k c_k m_i^{k-1} R_k,
        \qquad \dot a_i = -\varepsilon \sum_{k \ge 0} c_k m_i^k R_k .

    With identical particles it reduces to the 2-D ODE of :func:`integrate`.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 9)
    >>> p = fast_slow.FastSlowProblem(tanh, tanh, eps=0.1)
    >>> traj = fast_slow.integrate_population(
    ...     p, jnp.array([0.01, 0.02]), jnp.array([0.5, 1.5]), 10.0)
    >>> traj.m.shape
    (401, 2)
    """
    problem = _check_problem(problem)
    t_max = _check_horizon(t_max)
    dtype = jnp.result_type(float)
    check_on_divergence(on_divergence)
    m0_arr = as_array(m0, name="m0", ndim=1, shape_hint="(N,)", dtype=dtype)
    a0_arr = as_array(a0, name="a0", ndim=1, shape_hint="(N,)", dtype=dtype)
    if m0_arr.shape != a0_arr.shape:
        raise ValueError(
            f"m0 and a0 must have the same shape (N,); got {tuple(m0_arr.shape)} "
            f"and {tuple(a0_arr.shape)}."
        )
    _check_m0(m0_arr, problem, name="m0")
    c, cs = _coeffs(problem)
    eps = jnp.asarray(problem.eps, dtype)
    sol = _solve(
        _population_field,
        (jnp.arctanh(m0_arr), a0_arr),
        (c, cs, eps),
        t_max=t_max,
        method=method,
        t_eval=t_eval,
        n_steps=n_steps,
        record_every=record_every,
        rtol=rtol,
        atol=atol,
    )
    m = jnp.tanh(sol.ys[0])
    a = sol.ys[1]
    F, _R, _ = jax.vmap(lambda mm, aa: _population_terms(c, cs, mm, aa))(m, a)
    fact = _factorials(c.shape[0], dtype)
    loss = 0.5 * ((F - cs[None, :]) ** 2) @ fact + 0.5 * jnp.asarray(
        problem.noise_var, dtype
    )
    traj = PopulationTrajectory(sol.ts, m, a, F, loss, sol.first_bad_step)
    if method != "rk4":
        return traj
    return _apply_policy(
        traj,
        what="integrate_population",
        on_divergence=on_divergence,
        t_max=t_max,
        n_steps=n_steps,
        record_every=record_every,
        a0=a0_arr,
    )

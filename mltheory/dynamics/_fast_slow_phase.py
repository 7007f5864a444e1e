"""The phase diagram over (teacher strength, initial scale).

Private; public through :mod:`mltheory.dynamics.fast_slow`.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from mltheory._src._pytree import DivergedMixin, pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_on_divergence,
    check_scalar,
    describe,
)
from mltheory.dynamics._fast_slow_integrate import (
    _check_horizon,
    _check_rk4_grid,
    _field_sa,
)
from mltheory.dynamics._fast_slow_problem import (
    FastSlowProblem,
    _c0_vanishes,
    _check_problem,
    _coeffs,
)
from mltheory.dynamics._fast_slow_unlearning import (
    _leading_degree_host,
    _predict,
    critical_strength,
)
from mltheory.numerics import (
    TimeGrid,
    handle_divergence,
    shard_leading_axis,
    solve_ode,
    sweep,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Phase diagram over (teacher strength, initial scale)
# --------------------------------------------------------------------------- #


@pytree_dataclass
class PhaseDiagram(DivergedMixin):
    r"""Unlearning over a grid of teacher strengths and initial scales.

    Parameters
    ----------
    strengths : jax.Array of shape (S,)
        Values of :math:`c^*_k`.
    a0s : jax.Array of shape (A,)
        Initial second-layer weights.
    predicted : jax.Array of shape (S, A), bool
        :func:`predict_unlearning` on each point.
    drop : jax.Array of shape (S, A)
        Alignment drop of the RK4 trajectory to ``t_max`` (NaN if not
        simulated).
    critical_strength : jax.Array of shape ()
        The face threshold of :func:`critical_strength`.
    k : int
        The Hermite degree varied (static).
    first_bad_step : jax.Array of int32 of shape (S, A), default=-1
        Per grid point, the first RK4 step of the simulation whose state was
        non-finite (``-1``: finite, or not simulated); ``diverged`` is
        ``first_bad_step >= 0`` per point, and ``drop`` is NaN there.

    See Also
    --------
    phase_diagram : Computes it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 7)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=7)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> pd = fast_slow.phase_diagram(p, jnp.linspace(-0.3, 0.3, 4),
    ...                              jnp.array([0.5, 1.0]), n_steps=2000)
    >>> print(np.asarray(pd.predicted[:, 0]))
    [False  True  True  True]
    """

    strengths: Array
    a0s: Array
    predicted: Array
    drop: Array
    critical_strength: Array
    k: int = static_field()
    first_bad_step: Any = dataclasses.field(
        default_factory=lambda: np.asarray(-1, np.int32)
    )

    def _truncate_records(self, n_keep: int) -> PhaseDiagram:
        """A grid has no record axis: diverged points keep a NaN drop."""
        return self

    def _record_leaves(self) -> tuple[()]:
        """No record axis (a diverged point's drop is NaN by design)."""
        return ()

    def plot(self, ax: Axes | None = None, *, colorbar: bool = True) -> Axes:
        """Plot the phase diagram with its predicted boundary.

        The simulated alignment drop is a heatmap over
        ``(strengths, a0s)``; the predicted boundary of
        :func:`predict_unlearning` is a white contour over it, and the face
        threshold :func:`critical_strength` a dotted vertical line. Without a
        simulation (``simulate=False``: ``drop`` all NaN) the predicted
        unlearning region is shaded instead.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        colorbar : bool, default=True
            Add a colour bar for the drop.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If the diagram is batched (stacked by :func:`jax.vmap`).
        TypeError
            If it holds tracers (call ``.plot()`` outside jit).

        Examples
        --------
        >>> from mltheory import numerics
        >>> from mltheory.dynamics import fast_slow
        >>> tanh = numerics.activation_series("tanh", 7)
        >>> teacher = numerics.polynomial_series({1: 1.0}, degree=7)
        >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
        >>> pd = fast_slow.phase_diagram(p, jnp.linspace(-0.3, 0.3, 4),
        ...                              jnp.array([0.5, 1.0]), simulate=False)
        >>> pd.predicted.shape
        (4, 2)
        >>> ax = pd.plot()  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        mus = P.members_or_error(self.strengths, name="PhaseDiagram.strengths")
        a0s = P.members_or_error(self.a0s, name="PhaseDiagram.a0s")
        drop = P.as_numpy(self.drop, name="PhaseDiagram.drop")
        predicted = P.as_numpy(self.predicted, name="PhaseDiagram.predicted")
        ax = P.axes_or_new(ax)
        if np.isfinite(drop).any():
            P.heatmap(
                ax,
                mus,
                a0s,
                drop,
                colorbar=colorbar,
                label="simulated drop of |m|",
            )
            P.plot_boundary(
                ax, mus, a0s, predicted, label="predicted boundary", color="white"
            )
        else:
            P.plot_region(
                ax, mus, a0s, predicted, label="predicted unlearning", alpha=0.35
            )
        P.plot_reference(
            ax,
            float(P.as_numpy(self.critical_strength)),
            label=f"critical c*_{self.k}",
            color=P.PALETTE[1],
            linewidth=1.6,
        )
        return P.finish_axes(
            ax,
            xlabel=f"teacher strength c*_{self.k}",
            ylabel="initial scale a0",
            title="unlearning phase diagram",
            grid=False,
        )


@functools.partial(jax.jit, static_argnames=("k", "grid", "simulate"))
def _phase_jit(
    c: Array,
    cs: Array,
    eps: Array,
    strengths: Array,
    a0s: Array,
    m0: Array,
    *,
    k: int,
    grid: TimeGrid,
    simulate: bool,
) -> tuple[Array, Array, Array]:
    def one(mu: Array, a0: Array) -> tuple[Array, Array, Array]:
        cs_mu = cs.at[k].set(mu)
        m_start = m0 * jnp.where(a0 * c[1] * cs_mu[1] < 0, -1.0, 1.0)
        pred = _predict(c, cs_mu, a0, m_start).occurs
        if not simulate:
            return pred, jnp.full((), jnp.nan, a0.dtype), jnp.asarray(-1, jnp.int32)
        sol = solve_ode(
            _field_sa,
            (jnp.arctanh(m_start), a0),
            grid=grid,
            args=(c, cs_mu, eps),
            record_every=grid.n_steps // 400 if grid.n_steps % 400 == 0 else 1,
        )
        absm = jnp.abs(jnp.tanh(sol.ys[0]))
        drop = jnp.where(sol.first_bad_step >= 0, jnp.nan, jnp.max(absm) - absm[-1])
        return pred, drop, jnp.asarray(sol.first_bad_step)

    over_a0 = jax.vmap(one, in_axes=(None, 0))
    return jax.vmap(over_a0, in_axes=(0, None))(strengths, a0s)


def _phase_rows(strengths: Array, **kwargs: Any) -> tuple[Array, Array, Array]:
    """Rows of the phase diagram for some strengths (one task of a sweep)."""
    return _phase_jit(strengths=strengths, **kwargs)  # type: ignore[no-any-return]


def phase_diagram(
    problem: FastSlowProblem,
    strengths: ArrayLike,
    a0s: ArrayLike,
    *,
    k: int | None = None,
    simulate: bool = True,
    t_max: float = 200.0,
    n_steps: int = 4000,
    m0: float = 1e-3,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
    mesh: Mesh | None = None,
    executor: cf.Executor | None = None,
    chunk_size: int | None = None,
) -> PhaseDiagram:
    r"""Predicted (and simulated) unlearning over a grid of :math:`(c^*_k, a_0)`.

    The whole grid is one jitted :func:`jax.vmap`: :func:`predict_unlearning`
    at every point and, with ``simulate=True``, the alignment drop of the
    RK4-integrated 2-D ODE (in :math:`s = \operatorname{artanh} m`).

    Parameters
    ----------
    problem : FastSlowProblem
        The problem; its teacher coefficient :math:`c^*_k` is replaced by each
        strength.
    strengths : array_like of shape (S,)
        Teacher strengths :math:`c^*_k`.
    a0s : array_like of shape (A,)
        Initial second-layer weights, nonzero when :math:`c_0 = 0`.
    k : int, optional
        Hermite degree varied; default the student's leading nonlinear degree.
    simulate : bool, default=True
        Also integrate every point (RK4, ``n_steps`` steps to ``t_max``).
    t_max : float, default=200.0
        Horizon of the simulations (slow decay needs :math:`t \gg
        1/\varepsilon`).
    n_steps : int, default=4000
        RK4 steps; ``t_max / n_steps`` must resolve the fast rate.
    m0 : float, default=1e-3
        Initial :math:`|m|`, its sign that of :math:`a_0 c_1 c^*_1`.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        If a simulation becomes NaN/inf (a step that does not resolve the
        fast rate at a large :math:`a_0`): raise
        :class:`~mltheory.exceptions.DivergenceError` naming the grid point
        and the first bad step, warn
        :class:`~mltheory.exceptions.DivergenceWarning`, or say nothing; with
        ``"warn"`` and ``"flag"`` the diverged points have a NaN ``drop`` and
        ``first_bad_step >= 0``.
    mesh : jax.sharding.Mesh, optional
        Split the strengths (the rows of the grid) over the devices of this
        one-axis mesh (:func:`mltheory.numerics.make_mesh`); ``S`` must be a
        multiple of the number of devices.
    executor : concurrent.futures.Executor, optional
        Run the grid as tasks of :func:`mltheory.numerics.sweep`, a chunk of
        strengths per task: a process pool, or a Dask cluster's
        ``Client(address).get_executor()``.
    chunk_size : int, optional
        Strengths per task with ``executor`` (default: about four tasks per
        worker).

    Returns
    -------
    PhaseDiagram
        Predicted flags, simulated drops and the face threshold.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`FastSlowProblem`.
    ValueError
        If an input is not 1-D/finite, ``k`` is out of range, an ``a0`` is 0
        while :math:`c_0 = 0`, ``t_max <= 0``, :math:`m_0 \notin (0, 1)`,
        ``on_divergence`` is unknown, both ``mesh`` and ``executor`` are
        given, or ``S`` is not a multiple of the mesh's size.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if a simulation became non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if a simulation became non-finite.

    See Also
    --------
    predict_unlearning : One point.
    critical_strength : The boundary for :math:`a_0 < A(1)`.

    Notes
    -----
    The predicted boundary is vertical, :math:`c^*_k = ` ``critical_strength``,
    for :math:`a_0 < A(1)` (landing on the face); for larger :math:`a_0` the
    landing is on the branch and the boundary bends (a larger :math:`a_0`
    mitigates unlearning).

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import fast_slow
    >>> tanh = numerics.activation_series("tanh", 7)
    >>> teacher = numerics.polynomial_series({1: 1.0}, degree=7)
    >>> p = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    >>> pd = fast_slow.phase_diagram(p, jnp.linspace(-0.3, 0.3, 4),
    ...                              jnp.array([0.5, 1.0]), n_steps=2000)
    >>> pd.drop.shape
    (4, 2)
    """
    problem = _check_problem(problem)
    dtype = jnp.result_type(float)
    c, cs = _coeffs(problem)
    mus = as_array(strengths, name="strengths", ndim=1, shape_hint="(S,)").astype(dtype)
    a0_arr = as_array(a0s, name="a0s", ndim=1, shape_hint="(A,)").astype(dtype)
    if k is None:
        k_found = _leading_degree_host(np.asarray(c))
        if k_found is None:
            raise ValueError(
                "student has no nonlinear Hermite term; pass k explicitly."
            )
        k = k_found
    k = check_scalar(k, name="k", kind=int, lower=1, upper=c.shape[0] - 1)
    m0 = check_scalar(
        m0,
        name="m0",
        lower=0.0,
        upper=1.0,
        lower_inclusive=False,
        upper_inclusive=False,
    )
    if _c0_vanishes(c) and bool(jnp.any(a0_arr == 0.0)):
        raise ValueError(
            "a0 = 0 is a fixed point of the dynamics when c_0 = 0; got a0s with "
            "zero entries."
        )
    t_max = _check_horizon(t_max)
    grid = _check_rk4_grid(t_max, n_steps, 1)
    check_on_divergence(on_divergence)
    if mesh is not None and executor is not None:
        raise ValueError(
            "pass mesh (devices of this process) or executor (tasks elsewhere), "
            "not both; got both."
        )
    if mesh is not None:
        if not isinstance(mesh, Mesh):
            raise TypeError(
                "mesh must be a jax.sharding.Mesh (see mltheory.numerics.make_mesh); "
                f"got {describe(mesh)}."
            )
        if mus.shape[0] % mesh.size:
            raise ValueError(
                f"strengths must have a length that is a multiple of the {mesh.size} "
                f"devices of mesh; got {mus.shape[0]}."
            )
    if executor is None and chunk_size is not None:
        raise ValueError("chunk_size needs an executor; got executor=None.")
    rows = functools.partial(
        _phase_rows,
        c=c,
        cs=cs,
        eps=jnp.asarray(problem.eps, dtype),
        a0s=a0_arr,
        m0=jnp.asarray(m0, dtype),
        k=k,
        grid=grid,
        simulate=bool(simulate),
    )
    if executor is not None:
        predicted, drop, first_bad = (
            jnp.asarray(x)
            for x in sweep(
                rows, mus, executor=executor, chunk_size=chunk_size, desc="phase"
            )
        )
    else:
        placed = mus if mesh is None else shard_leading_axis(mus, mesh)
        predicted, drop, first_bad = rows(placed)
    try:
        crit = critical_strength(problem.student, problem.teacher, k)
    except ValueError:
        crit = float("nan")
    diagram = PhaseDiagram(
        mus, a0_arr, predicted, drop, jnp.asarray(crit, dtype), k, first_bad
    )
    return handle_divergence(
        diagram,
        on_divergence=on_divergence,
        what="phase_diagram (RK4 simulation)",
        cause=(
            f"the RK4 step dt = t_max / n_steps = {grid.dt:.4g} does not resolve "
            "the fast rate of the alignment, which grows like a0**2; use more "
            "steps (n_steps) or smaller a0s"
        ),
        dt=grid.dt,
        n_steps=grid.n_steps,
        member_label=lambda ij: (
            f"strength {float(mus[ij[0]]):.4g}, a0 {float(a0_arr[ij[1]]):.4g}"
        ),
        stacklevel=3,
    )

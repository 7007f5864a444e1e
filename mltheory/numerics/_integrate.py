"""Time grids, fixed-step ODE/SDE steppers on :func:`jax.lax.scan`, stiff hand-off.

Conventions (stated once, used by every function here):

* A vector field is ``f(t, y, args) -> pytree like y``; ``y`` is any pytree of
  floating arrays and ``args`` any pytree of arrays, passed through unchanged
  (it is traced, so :func:`jax.vmap` over it works).
* An SDE is ``dy = f(t, y, args) dt + g(t, y, args) dW`` in the Itô sense.
  The diffusion is given as the *product* ``diffusion(t, y, args, dw) ->
  g(t, y) dW`` so that the noise may live in a different space from the state
  (``dW`` has shape ``noise_shape``) and ``g`` is never formed as a matrix.
* Step ``n`` (``0 <= n < n_steps``) goes from ``t_n = t0 + n dt`` to
  ``t_{n+1}``; the Brownian increment of step ``n`` with ``key`` is
  ``sqrt(dt) * normal(fold_in(key, n), noise_shape)``, independent of
  ``record_every``, and :func:`brownian_increments` returns exactly these.
* Records are taken at steps ``0, r, 2r, ..., n_steps`` (``r =
  record_every``), so the initial state is the first record.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
from jax import lax
from jax.flatten_util import ravel_pytree

from mltheory._src._pytree import DivergedMixin, pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, DTypeLike, KeyArray, PyTree
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_callable,
    check_finite_in_dtype,
    check_float_dtype,
    check_in,
    check_key,
    check_on_divergence,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.exceptions import DivergenceError
from mltheory.numerics._divergence import (
    OnDivergence,
    handle_divergence,
    update_first_bad_step,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "TimeGrid",
    "Trajectory",
    "brownian_increments",
    "solve_ode",
    "solve_ode_stiff",
    "solve_sde",
]

ODEMethod = Literal["euler", "heun", "rk4"]
SDEMethod = Literal["euler_maruyama", "drift_implicit_em", "heun_drift"]
StiffMethod = Literal["Radau", "BDF", "LSODA"]

_ODE_METHODS = ("euler", "heun", "rk4")
_SDE_METHODS = ("euler_maruyama", "drift_implicit_em", "heun_drift")
_STIFF_METHODS = ("Radau", "BDF", "LSODA")


# --------------------------------------------------------------------------- #
# Time grid and trajectory
# --------------------------------------------------------------------------- #


@pytree_dataclass
class TimeGrid:
    r"""Uniform time grid from ``t0`` to ``t_max`` with ``n_steps`` equal steps.

    The grid is a frozen, hashable dataclass whose fields are all static, so it
    can be passed to a jitted function either as a static argument or as a
    (leafless) pytree; a new grid means a new compilation.

    Parameters
    ----------
    t_max : float
        Final time; must be finite and greater than ``t0``.
    n_steps : int
        Number of steps, at least 1.
    t0 : float, default=0.0
        Initial time; must be finite.

    Raises
    ------
    TypeError
        If ``n_steps`` is not an integer or a time is not a real number.
    ValueError
        If a time is NaN/inf, ``t_max <= t0``, ``t_max - t0`` overflows, or
        ``n_steps < 1``. (Solvers also check that the grid's times are finite
        in the dtype of the state.)

    See Also
    --------
    solve_ode : Fixed-step ODE solver on this grid.
    solve_sde : Fixed-step SDE solver on this grid.

    Notes
    -----
    The step is :math:`\Delta t = (t_{\max} - t_0) / n_{\text{steps}}` and the
    grid points are :math:`t_n = t_0 + n \Delta t`, :math:`n = 0, \dots,
    n_{\text{steps}}`.

    Examples
    --------
    >>> from mltheory.numerics import TimeGrid
    >>> grid = TimeGrid(1.0, 4)
    >>> print(grid.dt, grid.ts.shape)
    0.25 (5,)
    >>> print(np.asarray(grid.record_times(2)))
    [0.  0.5 1. ]
    """

    t_max: float = static_field()
    n_steps: int = static_field()
    t0: float = static_field(default=0.0)

    def __post_init__(self) -> None:
        t_max = check_scalar(self.t_max, name="t_max")
        t0 = check_scalar(self.t0, name="t0")
        n_steps = check_scalar(self.n_steps, name="n_steps", kind=int, lower=1)
        if not t_max > t0:
            raise ValueError(f"t_max must be > t0 (={t0}); got {t_max}.")
        if not math.isfinite(t_max - t0):
            raise ValueError(
                f"t_max - t0 must be finite (the span of the grid); got t0={t0}, "
                f"t_max={t_max}, whose difference overflows float64."
            )
        object.__setattr__(self, "t_max", t_max)
        object.__setattr__(self, "t0", t0)
        object.__setattr__(self, "n_steps", n_steps)

    @property
    def dt(self) -> float:
        """Step size ``(t_max - t0) / n_steps`` (a Python float).

        Examples
        --------
        >>> from mltheory.numerics import TimeGrid
        >>> TimeGrid(3.0, 6, t0=1.0).dt
        0.3333333333333333
        """
        return (self.t_max - self.t0) / self.n_steps

    @property
    def ts(self) -> Array:
        """Grid times of shape ``(n_steps + 1,)``, from ``t0`` to ``t_max``.

        Examples
        --------
        >>> from mltheory.numerics import TimeGrid
        >>> print(np.asarray(TimeGrid(1.0, 2).ts))
        [0.  0.5 1. ]
        """
        return jnp.linspace(self.t0, self.t_max, self.n_steps + 1)

    def record_times(self, record_every: int = 1) -> Array:
        """Return the times at which a solver with this ``record_every`` records.

        Parameters
        ----------
        record_every : int, default=1
            Record every ``record_every``-th step; must divide ``n_steps``.

        Returns
        -------
        jax.Array of shape (n_steps // record_every + 1,)
            The times ``t0, t0 + r dt, ..., t_max`` with ``r = record_every``.

        Raises
        ------
        ValueError
            If ``record_every < 1`` or it does not divide ``n_steps``.

        Examples
        --------
        >>> from mltheory.numerics import TimeGrid
        >>> TimeGrid(2.0, 10).record_times(5).shape
        (3,)
        """
        r = _check_record_every(record_every, self)
        return self.ts[::r]


@pytree_dataclass
class Trajectory(DivergedMixin):
    """Recorded solution of an ODE or SDE: times, (observed) states, divergence.

    A frozen dataclass registered as a JAX pytree (all fields are leaves), so
    a trajectory can be returned from :func:`jax.jit` and stacked by
    :func:`jax.vmap`.

    Parameters
    ----------
    ts : jax.Array of shape (n_records,)
        Record times; the first is the initial time.
    ys : pytree
        The recorded states (or observations ``observe(t, y)``), each leaf with
        leading axis ``n_records``; ``ys`` at index 0 is the initial state.
    first_bad_step : int or jax.Array of int32, default=-1
        The first step whose state (or recorded observation) was non-finite,
        ``-1`` if none (one entry per member when vmapped). The ``diverged``
        property is ``first_bad_step >= 0``. See
        :func:`handle_divergence`.

    See Also
    --------
    solve_ode, solve_sde, solve_ode_stiff : Solvers returning a trajectory.
    handle_divergence : What the solvers do when ``first_bad_step >= 0``.

    Examples
    --------
    >>> from mltheory.numerics import Trajectory
    >>> traj = Trajectory(ts=jnp.linspace(0.0, 1.0, 3), ys=jnp.zeros((3, 2)))
    >>> leaves, treedef = jax.tree_util.tree_flatten(traj)
    >>> jax.tree_util.tree_unflatten(treedef, leaves).ys.shape
    (3, 2)
    >>> bool(traj.diverged)
    False
    """

    ts: Array
    ys: PyTree
    first_bad_step: Any = dataclasses.field(
        default_factory=lambda: np.asarray(-1, np.int32)
    )

    def _summary_items(self) -> dict[str, Any]:
        return {"horizon": self.ts[..., -1]}

    def plot(
        self,
        ax: Axes | None = None,
        *,
        label: str | None = None,
        kind: Literal["theory", "simulation", "data"] = "theory",
        max_lines: int = 10,
        xlabel: str = "time t",
        ylabel: str = "state",
        logx: bool = False,
        logy: bool = False,
        **kwargs: Any,
    ) -> Axes:
        """Plot every recorded component against time.

        Each leaf of ``ys`` with shape ``(n_records, *shape)`` draws one
        curve per component, labelled by its path (``y``, ``y[1]``,
        ``x.0``...) followed by ``label``; a scalar state is labelled by
        ``label`` alone. A trajectory stacked by :func:`jax.vmap` (``ts`` of
        shape ``(B, n_records)``) draws every member, one colour per
        component.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        label : str, optional
            Added to the legend labels (e.g. ``"RK4"``).
        kind : {"theory", "simulation", "data"}, default="theory"
            Solid lines, markers or points (an ODE solution is ``"theory"``,
            an SDE path is naturally ``"simulation"``).
        max_lines : int, default=10
            At most this many components are drawn (the first ones).
        xlabel, ylabel : str
            Axis labels; add units where they apply.
        logx, logy : bool, default=False
            Logarithmic axes.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        TypeError
            If the trajectory holds tracers (call ``.plot()`` outside
            :func:`jax.jit`).

        Examples
        --------
        >>> from mltheory.numerics import TimeGrid, solve_ode
        >>> traj = solve_ode(lambda t, y, args: -y, jnp.ones(2), grid=TimeGrid(1.0, 10))
        >>> ax = traj.plot(label="decay")  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        ax = P.axes_or_new(ax)
        ts = P.as_numpy(self.ts, name="ts")
        batched = ts.ndim == 2
        lead = 2 if batched else 1
        leaves = [
            (jax.tree_util.keystr(path, simple=True, separator=".") or "y", leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(self.ys)[0]
        ]
        arrays = [(name, P.as_numpy(leaf, name="ys")) for name, leaf in leaves]
        scalar = len(arrays) == 1 and arrays[0][1].ndim == lead
        drawn = 0
        for name, y in arrays:
            comps = y.reshape(*y.shape[:lead], -1)
            for c in range(comps.shape[-1]):
                if drawn >= max_lines:
                    break
                text = name if y.ndim == lead else f"{name}[{c}]"
                if label:
                    # A scalar state is named by the label alone.
                    text = label if scalar else f"{text}, {label}"
                P.plot_members(ax, ts, comps[..., c], label=text, kind=kind, **kwargs)
                drawn += 1
        return P.finish_axes(ax, xlabel=xlabel, ylabel=ylabel, logx=logx, logy=logy)


# --------------------------------------------------------------------------- #
# Validation helpers
# --------------------------------------------------------------------------- #


def _check_grid(grid: Any) -> TimeGrid:
    if not isinstance(grid, TimeGrid):
        raise TypeError(
            f"grid must be a TimeGrid, e.g. TimeGrid(t_max=1.0, n_steps=100); "
            f"got {describe(grid)}."
        )
    return grid


def _check_grid_in_dtype(grid: TimeGrid, dtype: Any, *, state: str = "y0") -> None:
    """The grid's times must stay finite in the state's dtype (float32: 3.4e38)."""
    worst = max(abs(grid.t0), abs(grid.t_max))
    check_finite_in_dtype(worst, name="grid.t_max", dtype=dtype, dtype_of=state)


def _check_record_every(record_every: Any, grid: TimeGrid) -> int:
    r = check_scalar(record_every, name="record_every", kind=int, lower=1)
    if grid.n_steps % r != 0:
        raise ValueError(
            f"record_every must divide n_steps (={grid.n_steps}); got {r}."
        )
    return r


def _check_state(y0: Any, *, name: str = "y0") -> PyTree:
    """Validate every leaf of a state pytree: floating, finite, non-empty."""
    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(y0)
    if not leaves_with_path:
        raise ValueError(
            f"{name} must be an array or a pytree holding at least one array; "
            f"got {describe(y0)}."
        )
    leaves = [
        as_array(leaf, name=f"{name}{jax.tree_util.keystr(path)}")
        for path, leaf in leaves_with_path
    ]
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _check_args(args: Any) -> None:
    """Args are traced by jit: every leaf must be numeric, and finite if concrete."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(args)[0]:
        name = f"args{jax.tree_util.keystr(path)}"
        if is_traced(leaf):
            continue
        if isinstance(leaf, str | bytes) or not (
            isinstance(
                leaf, int | float | complex | np.ndarray | np.generic | jax.Array
            )
        ):
            raise TypeError(
                f"{name} must be an array or a number (args is traced by "
                f"jax.jit; put static options in the closure of the vector "
                f"field instead); got {describe(leaf)}."
            )
        as_array(leaf, name=name, allow_empty=True)


def _state_dtype(y0: PyTree) -> Any:
    """Return the state's floating dtype (time and noise are kept in it)."""
    return jnp.result_type(*jax.tree_util.tree_leaves(y0))


def _abstract(tree: PyTree) -> PyTree:
    return jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), tree
    )


def _signature(tree: PyTree) -> tuple[Any, ...]:
    """Hashable structure, shapes and dtypes of a pytree (what eval_shape sees)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return (
        treedef,
        tuple((jnp.shape(x), jnp.result_type(x), is_traced(x)) for x in leaves),
    )


# fn -> {argument signature: output signature}; weak, so a cached answer
# never keeps a user's closure (and the arrays it holds) alive.
_OUTPUT_SIGNATURES: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = (
    weakref.WeakKeyDictionary()
)


def _output_signature(fn: Callable[..., Any], abstract: Any) -> tuple[str, Any]:
    out = jax.eval_shape(fn, *abstract)
    leaves, treedef = jax.tree_util.tree_flatten(out)
    return str(treedef), [tuple(x.shape) for x in leaves]


def _check_output_like_state(
    fn: Callable[..., Any], fn_args: tuple[Any, ...], y0: PyTree, *, what: str
) -> None:
    """Trace ``fn`` abstractly (no FLOPs) to check it returns a pytree like y0.

    The abstract trace costs about a millisecond, as much as a whole small
    solve, so its answer is cached per (function, argument signature): a
    function of the same shapes and dtypes traces to the same output shapes.
    """
    abstract = _abstract(fn_args)
    try:
        per_fn = _OUTPUT_SIGNATURES.setdefault(fn, {})
        sig = _signature(fn_args)
        if sig not in per_fn:
            per_fn[sig] = _output_signature(fn, abstract)
        got, got_shapes = per_fn[sig]
    except TypeError as err:  # unhashable or not weakly referable: no cache
        if "unhashable" not in str(err) and "weak reference" not in str(err):
            raise
        got, got_shapes = _output_signature(fn, abstract)
    want = str(jax.tree_util.tree_structure(y0))
    want_shapes = [jnp.shape(x) for x in jax.tree_util.tree_leaves(y0)]
    if want != got or want_shapes != got_shapes:
        raise ValueError(
            f"{what} must return a pytree with the structure and leaf shapes of "
            f"y0 ({want}, shapes {want_shapes}); got {got}, shapes {got_shapes}."
        )


def _check_noise_shape(noise_shape: Any, *, name: str) -> tuple[int, ...]:
    if isinstance(noise_shape, int | np.integer) and not isinstance(noise_shape, bool):
        noise_shape = (noise_shape,)
    if not isinstance(noise_shape, tuple | list) or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 1
        for s in noise_shape
    ):
        raise TypeError(
            f"{name} must be a tuple of positive ints such as (n,); got "
            f"{describe(noise_shape)}."
        )
    return tuple(int(s) for s in noise_shape)


# --------------------------------------------------------------------------- #
# The shared record loop: outer scan over records, inner scan over steps
# --------------------------------------------------------------------------- #


def _time(grid: TimeGrid, n: Array, dtype: Any) -> Array:
    # Computed from the step index (not accumulated) so rounding does not drift.
    return (grid.t0 + n.astype(dtype) * grid.dt).astype(dtype)


def _cast_like(tree: PyTree, like: PyTree) -> PyTree:
    # The carry keeps y0's dtypes even if a vector field promotes (float32 in,
    # float32 out; lax.scan also requires a fixed carry type).
    return jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), tree, like)


# Elements of noise drawn at once when a solver draws its own increments: a
# chunk of steps is drawn in one batched call (one pass of the counter-based
# generator instead of one small loop per step, ~0.2 ms each on CPU), bounded
# so that memory stays O(noise) whatever record_every is.
_DRAW_CHUNK_ELEMENTS = 1 << 19  # 4 MB of float64


def _draw_chunk(record_every: int, noise_size: int) -> int:
    """The largest divisor of ``record_every`` whose draws fit the budget."""
    most = max(1, _DRAW_CHUNK_ELEMENTS // max(noise_size, 1))
    return max(
        c for c in range(1, min(record_every, most) + 1) if record_every % c == 0
    )


def _record_loop(
    step: Callable[[Array, PyTree, Any], PyTree],
    y0: PyTree,
    step_inputs: Any,
    *,
    grid: TimeGrid,
    record_every: int,
    observe: Callable[[Array, PyTree], PyTree] | None,
    dtype: Any,
    draw: Callable[[Array], Any] | None = None,
    draw_chunk: int = 1,
) -> Trajectory:
    """Run ``y <- step(n, y, inputs[n])`` for all steps, recording every r-th state.

    ``step_inputs`` is a pytree whose leaves have leading axis ``n_steps`` (the
    per-step increments) or ``None``; it is reshaped to (n_records, r, ...) so
    the inner scan consumes one record's worth of steps. With ``draw`` (and
    ``step_inputs`` None), ``draw(ns)`` makes the inputs of the steps ``ns``,
    ``draw_chunk`` steps at a time (``draw_chunk`` divides r).
    """
    r = record_every
    n_rec = grid.n_steps // r
    obs = (lambda t, y: y) if observe is None else observe
    steps = jnp.arange(grid.n_steps).reshape(n_rec, r)
    blocks = jax.tree_util.tree_map(
        lambda x: x.reshape((n_rec, r, *x.shape[1:])), step_inputs
    )
    Carry = tuple[PyTree, Array]

    def inner(carry: Carry, xs: tuple[Array, Any]) -> tuple[Carry, None]:
        y, bad = carry
        n, inp = xs
        y = _cast_like(step(n, y, inp), y)
        # the state after step n is the state at step n + 1 (module convention)
        return (y, update_first_bad_step(bad, n + 1, y)), None

    def chunk(carry: Carry, ns: Array) -> tuple[Carry, None]:
        assert draw is not None
        carry, _ = lax.scan(inner, carry, (ns, draw(ns)))
        return carry, None

    def outer(carry: Carry, xs: tuple[Array, Any]) -> tuple[Carry, PyTree]:
        ns, inps = xs
        if draw is None:
            carry, _ = lax.scan(inner, carry, (ns, inps))
        else:
            carry, _ = lax.scan(chunk, carry, ns.reshape(r // draw_chunk, draw_chunk))
        y, bad = carry
        rec = obs(_time(grid, ns[-1] + 1, dtype), y)
        if observe is not None:  # a non-finite observation of a finite state
            bad = update_first_bad_step(bad, ns[-1] + 1, rec)
        return (y, bad), rec

    first = obs(_time(grid, jnp.asarray(0), dtype), y0)
    bad0 = jnp.asarray(-1, jnp.int32)
    if observe is not None:
        bad0 = update_first_bad_step(bad0, 0, first)
    (_, first_bad), ys_rest = lax.scan(outer, (y0, bad0), (steps, blocks))
    ys = jax.tree_util.tree_map(
        lambda a, b: jnp.concatenate([jnp.asarray(a)[None], b]), first, ys_rest
    )
    ts = grid.record_times(r).astype(dtype)
    return Trajectory(ts=ts, ys=ys, first_bad_step=first_bad)


def _axpy(a: Any, x: PyTree, y: PyTree) -> PyTree:
    """``y + a * x`` leafwise (``a`` a scalar)."""
    return jax.tree_util.tree_map(lambda xi, yi: yi + a * xi, x, y)


def _add(*trees: PyTree) -> PyTree:
    return jax.tree_util.tree_map(lambda *xs: sum(xs[1:], xs[0]), *trees)


# --------------------------------------------------------------------------- #
# ODEs
# --------------------------------------------------------------------------- #


def _ode_step(
    vector_field: Callable[..., PyTree],
    method: str,
    t: Array,
    y: PyTree,
    args: Any,
    dt: float,
) -> PyTree:
    f = lambda s, z: vector_field(s, z, args)
    if method == "euler":
        return _axpy(dt, f(t, y), y)
    if method == "heun":
        k1 = f(t, y)
        k2 = f(t + dt, _axpy(dt, k1, y))
        return _axpy(dt / 2, _add(k1, k2), y)
    k1 = f(t, y)
    k2 = f(t + dt / 2, _axpy(dt / 2, k1, y))
    k3 = f(t + dt / 2, _axpy(dt / 2, k2, y))
    k4 = f(t + dt, _axpy(dt, k3, y))
    incr = jax.tree_util.tree_map(
        lambda a, b, c, d: a + 2 * b + 2 * c + d, k1, k2, k3, k4
    )
    return _axpy(dt / 6, incr, y)


@functools.partial(
    jax.jit,
    static_argnames=("vector_field", "grid", "method", "record_every", "observe"),
)
def _solve_ode_jit(
    y0: PyTree,
    args: Any,
    *,
    vector_field: Callable[..., PyTree],
    grid: TimeGrid,
    method: str,
    record_every: int,
    observe: Callable[..., PyTree] | None,
) -> Trajectory:
    dtype = _state_dtype(y0)

    def step(n: Array, y: PyTree, _: Any) -> PyTree:
        t = _time(grid, n, dtype)
        return _ode_step(vector_field, method, t, y, args, grid.dt)

    return _record_loop(
        step,
        y0,
        None,
        grid=grid,
        record_every=record_every,
        observe=observe,
        dtype=dtype,
    )


def solve_ode(
    vector_field: Callable[[Array, PyTree, Any], PyTree],
    y0: PyTree,
    *,
    grid: TimeGrid,
    method: ODEMethod = "rk4",
    args: Any = None,
    record_every: int = 1,
    observe: Callable[[Array, PyTree], PyTree] | None = None,
    on_divergence: OnDivergence = "raise",
) -> Trajectory:
    r"""Integrate an ODE ``y' = f(t, y, args)`` with a fixed-step explicit method.

    The whole time loop is one jitted :func:`jax.lax.scan` (an outer scan over
    records and an inner scan over ``record_every`` steps), so memory grows
    with the number of records only. The call is differentiable and can be
    vmapped over ``y0`` and ``args`` (parameter sweeps).

    Parameters
    ----------
    vector_field : callable
        ``vector_field(t, y, args) -> pytree like y``; must be jit-able. It is
        a static argument: define it once (not as a fresh lambda per call) to
        reuse the compilation.
    y0 : array_like or pytree of array_like
        Initial state at ``grid.t0``; any pytree of finite floating arrays
        (integer leaves are promoted to the default float dtype).
    grid : TimeGrid
        The time grid (``t0``, ``t_max``, ``n_steps``).
    method : {"euler", "heun", "rk4"}, default="rk4"
        Explicit Euler (order 1), Heun's method (explicit trapezoid, order 2)
        or the classical Runge-Kutta method (order 4).
    args : pytree, optional
        Passed unchanged as the third argument of ``vector_field``; it is
        traced, so :func:`jax.vmap` over it works.
    record_every : int, default=1
        Record the state every ``record_every`` steps; must divide
        ``grid.n_steps``.
    observe : callable, optional
        ``observe(t, y) -> pytree``; when given, the trajectory records
        ``observe(t, y)`` instead of ``y`` (for example a loss or an overlap),
        so only the observations are kept in memory.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        What to do if a state (or a recorded observation) becomes NaN or inf:
        raise :class:`~mltheory.exceptions.DivergenceError` naming the first
        bad step and its time; warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the records
        before it; or return the trajectory as is, with
        ``first_bad_step`` set. Under :func:`jax.jit`/:func:`jax.vmap` nothing
        can be raised: read ``result.diverged``. See
        :func:`handle_divergence`.

    Returns
    -------
    Trajectory
        ``ts`` of shape ``(n_steps // record_every + 1,)`` and ``ys`` with that
        leading axis (fewer records after ``on_divergence="warn"``); ``ys[0]``
        is ``y0`` (or ``observe(t0, y0)``). Arrays keep the floating dtype of
        ``y0``. ``first_bad_step`` is ``-1`` unless the run diverged.

    Raises
    ------
    TypeError
        If ``vector_field`` or ``observe`` is not callable, ``grid`` is not a
        :class:`TimeGrid`, or a leaf of ``y0`` or ``args`` is not numeric.
    ValueError
        If ``y0`` holds NaN/inf, ``method`` is unknown, ``record_every`` is
        < 1 or does not divide ``n_steps``, ``vector_field`` does not
        return a pytree shaped like ``y0``, or ``on_divergence`` is unknown.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if the solution became non-finite
        (blow-up, a step beyond the stability region, NaN from the field).

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if the solution became non-finite.

    See Also
    --------
    solve_ode_stiff : Implicit adaptive solvers (SciPy) for stiff problems.
    solve_sde : The stochastic counterpart.
    TimeGrid : The grid and its record times.

    Notes
    -----
    With :math:`f_n(y) = f(t_n, y)` and step :math:`h`, the methods are

    .. math::

        \text{euler:}\quad y_{n+1} &= y_n + h f_n(y_n), \\
        \text{heun:}\quad y_{n+1} &= y_n + \tfrac{h}{2}\big(k_1 + k_2\big),
        \quad k_1 = f_n(y_n),\ k_2 = f_{n+1}(y_n + h k_1), \\
        \text{rk4:}\quad y_{n+1} &= y_n + \tfrac{h}{6}(k_1 + 2k_2 + 2k_3 + k_4),

    with the classical stages :math:`k_2 = f(t_n + h/2, y_n + h k_1/2)`,
    :math:`k_3 = f(t_n + h/2, y_n + h k_2/2)`, :math:`k_4 = f(t_{n+1}, y_n +
    h k_3)`. Global errors are :math:`O(h)`, :math:`O(h^2)`, :math:`O(h^4)`
    for smooth problems. These are explicit methods: on a stiff problem
    (:math:`h |\lambda|` beyond the stability region, e.g. :math:`h|\lambda|
    > 2` for Euler) they blow up; use :func:`solve_ode_stiff`, or integrate a
    transformed variable. In float32 the attainable error is about
    :math:`10^{-7}` relative, so RK4 gains nothing below :math:`h \approx
    10^{-2}`.

    References
    ----------
    .. [1] E. Hairer, S. P. Nørsett and G. Wanner, "Solving Ordinary
       Differential Equations I: Nonstiff Problems", 2nd ed., Springer, 1993.

    Examples
    --------
    >>> from mltheory.numerics import TimeGrid, solve_ode
    >>> decay = lambda t, y, rate: -rate * y
    >>> traj = solve_ode(decay, jnp.ones(2), grid=TimeGrid(1.0, 20), args=2.0,
    ...                  record_every=10)
    >>> traj.ys.shape
    (3, 2)
    >>> print(round(float(traj.ys[-1, 0]), 5), round(float(np.exp(-2.0)), 5))
    0.13534 0.13534
    """
    check_callable(vector_field, name="vector_field")
    grid = _check_grid(grid)
    check_in(method, name="method", options=_ODE_METHODS)
    check_on_divergence(on_divergence)
    r = _check_record_every(record_every, grid)
    if observe is not None:
        check_callable(observe, name="observe")
    y0 = _check_state(y0)
    _check_args(args)
    _check_grid_in_dtype(grid, _state_dtype(y0))
    t_abs = jnp.asarray(grid.t0, _state_dtype(y0))
    _check_output_like_state(
        vector_field, (t_abs, y0, args), y0, what="vector_field(t, y, args)"
    )
    traj = _solve_ode_jit(
        y0,
        args,
        vector_field=vector_field,
        grid=grid,
        method=method,
        record_every=r,
        observe=observe,
    )
    return handle_divergence(
        traj,
        on_divergence=on_divergence,
        what="solve_ode",
        cause=(
            f"the step dt = {grid.dt:.4g} is beyond the stability region of "
            f"method {method!r} (use more steps, or solve_ode_stiff for a stiff "
            "problem), or the solution blows up in finite time, or "
            "vector_field returned NaN/inf"
        ),
        record_every=r,
        dt=grid.dt,
        t0=grid.t0,
        n_steps=grid.n_steps,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- #
# Brownian increments and SDEs
# --------------------------------------------------------------------------- #


def _draw_increment(
    key: KeyArray, n: Array, shape: tuple[int, ...], dtype: Any, dt: float
) -> Array:
    # One key per step via fold_in: O(noise) memory inside the scan, and the
    # same increment for step n whatever record_every (or batch) is used.
    return jax.random.normal(jax.random.fold_in(key, n), shape, dtype) * math.sqrt(dt)


@functools.partial(jax.jit, static_argnames=("grid", "shape", "dtype"))
def _brownian_jit(
    key: KeyArray, *, grid: TimeGrid, shape: tuple[int, ...], dtype: Any
) -> Array:
    def body(carry: None, n: Array) -> tuple[None, Array]:
        return carry, _draw_increment(key, n, shape, dtype, grid.dt)

    # A scan, like the solvers' loop, so the draws are bit-for-bit the same.
    _, dws = lax.scan(body, None, jnp.arange(grid.n_steps))
    return dws


def brownian_increments(
    key: KeyArray,
    *,
    grid: TimeGrid,
    shape: int | tuple[int, ...],
    dtype: DTypeLike | None = None,
) -> Array:
    r"""Return the Brownian increments that :func:`solve_sde` draws with ``key``.

    Step ``n`` uses ``sqrt(dt) * normal(fold_in(key, n), shape)``, so this
    function returns the very draws of ``solve_sde(..., key=key)`` with
    ``noise_shape=shape`` and a state of floating dtype ``dtype``; a run on
    these increments matches the key-driven run to rounding (XLA may fuse the
    scaling into the update, an ulp per step). Use it
    for common random numbers across methods or parameters, to build the exact
    solution from the same path, or to coarsen a path (sum consecutive
    increments) in strong-order studies.

    Parameters
    ----------
    key : jax.Array
        A PRNG key (``jax.random.key(seed)`` or a raw ``PRNGKey``).
    grid : TimeGrid
        The time grid; one increment per step.
    shape : int or tuple of int
        Shape of one increment (the SDE's ``noise_shape``).
    dtype : dtype, optional
        Floating dtype of the increments; default is JAX's default float
        (float64 when x64 is enabled). :func:`solve_sde` uses the floating
        dtype of ``y0``, so pass that to get the same draws.

    Returns
    -------
    jax.Array of shape (n_steps,) + shape
        Independent :math:`N(0, \Delta t)` increments,
        :math:`W(t_{n+1}) - W(t_n)`.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, ``grid`` not a :class:`TimeGrid`,
        ``shape`` not a tuple of positive ints or ``dtype`` not floating.

    See Also
    --------
    solve_sde : Uses exactly these increments when given the same key.

    Examples
    --------
    >>> from mltheory.numerics import TimeGrid, brownian_increments
    >>> grid = TimeGrid(1.0, 100)
    >>> dw = brownian_increments(jax.random.key(0), grid=grid, shape=(3,))
    >>> dw.shape
    (100, 3)
    >>> coarse = dw.reshape(10, 10, 3).sum(axis=1)  # the same path, dt = 0.1
    >>> coarse.shape
    (10, 3)
    """
    key = check_key(key)
    grid = _check_grid(grid)
    shape = _check_noise_shape(shape, name="shape")
    dtype = check_float_dtype(dtype, name="dtype")
    return _brownian_jit(key, grid=grid, shape=shape, dtype=dtype)


def _linear_kind(
    linear_part: Any, y0: PyTree, grid: TimeGrid, dtype: Any
) -> tuple[str, Array]:
    """Validate A; return its kind ("scalar", "diagonal", "matrix") and array."""
    a = as_array(linear_part, name="linear_part", dtype=dtype)
    if a.ndim == 0:
        kind = "scalar"
    else:
        if not isinstance(y0, jax.Array) or y0.ndim == 0:
            raise ValueError(
                "linear_part must be a scalar when y0 is a pytree or a scalar "
                f"(A = a * I); got shape {tuple(a.shape)}."
            )
        m = y0.shape[0]
        if a.ndim == 1 and a.shape == (m,):
            kind = "diagonal"
        elif a.ndim == 2 and a.shape == (m, m):
            kind = "matrix"
        else:
            raise ValueError(
                f"linear_part must be a scalar, a diagonal of shape ({m},) or a "
                f"matrix of shape ({m}, {m}) acting on the first axis of y0 "
                f"(shape {tuple(y0.shape)}); got shape {tuple(a.shape)}."
            )
    if not is_traced(a):
        a_np = np.asarray(a, dtype=np.float64)
        if kind == "matrix":
            system = np.eye(a_np.shape[0]) - grid.dt * a_np
            singular = np.linalg.cond(system) > 1.0 / np.finfo(np.float64).eps
        else:
            singular = bool(np.any(1.0 - grid.dt * a_np == 0.0))
        if singular:
            raise ValueError(
                "linear_part must make I - dt * linear_part invertible "
                f"(dt = {grid.dt}); got a singular system."
            )
    return kind, a


def _implicit_solver(
    kind: str | None, a: Array | None, dt: float
) -> Callable[[PyTree], PyTree]:
    """Return ``rhs -> (I - dt A)^{-1} rhs``, with A factored once, here."""
    if kind is None or a is None:
        return lambda rhs: rhs
    if kind == "scalar":
        inv = 1.0 / (1.0 - dt * a)
        return lambda rhs: jax.tree_util.tree_map(lambda x: x * inv, rhs)
    if kind == "diagonal":
        inv = 1.0 / (1.0 - dt * a)

        def solve_diag(rhs: Array) -> Array:
            return rhs * inv.reshape((inv.shape[0],) + (1,) * (rhs.ndim - 1))

        return solve_diag
    lu_piv = jax.scipy.linalg.lu_factor(jnp.eye(a.shape[0], dtype=a.dtype) - dt * a)

    def solve_matrix(rhs: Array) -> Array:
        flat = rhs.reshape(rhs.shape[0], -1)
        return jax.scipy.linalg.lu_solve(lu_piv, flat).reshape(rhs.shape)

    return solve_matrix


@functools.partial(
    jax.jit,
    static_argnames=(
        "drift",
        "diffusion",
        "grid",
        "noise_shape",
        "method",
        "linear_kind",
        "record_every",
        "observe",
    ),
)
def _solve_sde_jit(
    y0: PyTree,
    key: KeyArray | None,
    increments: Array | None,
    linear_part: Array | None,
    args: Any,
    *,
    drift: Callable[..., PyTree],
    diffusion: Callable[..., PyTree],
    grid: TimeGrid,
    noise_shape: tuple[int, ...],
    method: str,
    linear_kind: str | None,
    record_every: int,
    observe: Callable[..., PyTree] | None,
) -> Trajectory:
    dtype = _state_dtype(y0)
    dt = grid.dt
    solve_implicit = _implicit_solver(linear_kind, linear_part, dt)

    def step(n: Array, y: PyTree, dw: Array) -> PyTree:
        t = _time(grid, n, dtype)
        f = drift(t, y, args)
        noise = diffusion(t, y, args, dw)
        explicit = _add(y, noise)
        if method == "euler_maruyama":
            return _axpy(dt, f, explicit)
        if method == "drift_implicit_em":
            return solve_implicit(_axpy(dt, f, explicit))
        predictor = _axpy(dt, f, explicit)
        f_pred = drift(t + dt, predictor, args)
        return _axpy(dt / 2, _add(f, f_pred), explicit)

    draw = None
    if increments is None:
        assert key is not None  # solve_sde passes exactly one of the two

        def draw(ns: Array) -> Array:
            # vmapped, the per-step draws are bit-for-bit those of one step
            return jax.vmap(lambda n: _draw_increment(key, n, noise_shape, dtype, dt))(
                ns
            )

    return _record_loop(
        step,
        y0,
        increments,
        grid=grid,
        record_every=record_every,
        observe=observe,
        dtype=dtype,
        draw=draw,
        draw_chunk=_draw_chunk(record_every, math.prod(noise_shape)),
    )


def solve_sde(
    drift: Callable[[Array, PyTree, Any], PyTree],
    diffusion: Callable[[Array, PyTree, Any, Array], PyTree],
    y0: PyTree,
    *,
    grid: TimeGrid,
    key: KeyArray | None = None,
    increments: ArrayLike | None = None,
    noise_shape: int | tuple[int, ...] | None = None,
    method: SDEMethod = "euler_maruyama",
    linear_part: ArrayLike | None = None,
    args: Any = None,
    record_every: int = 1,
    observe: Callable[[Array, PyTree], PyTree] | None = None,
    on_divergence: OnDivergence = "raise",
) -> Trajectory:
    r"""Integrate an Itô SDE ``dy = f(t, y) dt + g(t, y) dW`` with a fixed step.

    The diffusion is passed as the product ``g(t, y) dW`` (a callable taking
    the increment), so the noise may have its own shape, for example
    ``X.T @ (ell * dw)`` with ``dw`` in :math:`R^n` for a state in
    :math:`R^d`, at :math:`O(nd)` cost and without forming a matrix. The
    increments come from ``key`` (drawn inside the loop, one
    :func:`jax.random.fold_in` per step, see :func:`brownian_increments`) or
    are given as ``increments``. The loop is one jitted
    :func:`jax.lax.scan`; vmap over keys, ``y0`` or ``args`` for Monte Carlo
    batches and sweeps.

    Parameters
    ----------
    drift : callable
        ``drift(t, y, args) -> pytree like y``. For ``"drift_implicit_em"``
        only the non-stiff part :math:`f`; the stiff linear part is
        ``linear_part``.
    diffusion : callable
        ``diffusion(t, y, args, dw) -> pytree like y``: the noise increment
        :math:`g(t, y)\,dW` given ``dw`` of shape ``noise_shape``.
    y0 : array_like or pytree of array_like
        Initial state at ``grid.t0``; finite floating arrays. Its floating
        dtype is also the dtype of time and of the increments.
    grid : TimeGrid
        The time grid.
    key : jax.Array, optional
        PRNG key for the increments. Exactly one of ``key`` and
        ``increments`` must be given.
    increments : array_like of shape (n_steps,) + noise_shape, optional
        Brownian increments :math:`W(t_{n+1}) - W(t_n)` to use instead of
        drawing them (common random numbers, coarsened paths). Cast to the
        dtype of ``y0``.
    noise_shape : int or tuple of int, optional
        Shape of ``dw``. Default: ``increments.shape[1:]`` when increments are
        given, else ``y0.shape`` when ``y0`` is a single array; required for
        pytree states driven by ``key``.
    method : {"euler_maruyama", "drift_implicit_em", "heun_drift"}
        The stepping scheme (see Notes); default ``"euler_maruyama"``.
    linear_part : float or array_like, optional
        The stiff linear drift :math:`A` of ``"drift_implicit_em"`` (required
        there, rejected otherwise): a scalar (:math:`A = aI`, any state), a
        1-D array of shape ``(m,)`` (diagonal) or a 2-D array of shape
        ``(m, m)``, acting on the first axis of an array state of shape
        ``(m, ...)``.
    args : pytree, optional
        Passed unchanged to ``drift`` and ``diffusion``; traced.
    record_every : int, default=1
        Record every ``record_every`` steps; must divide ``grid.n_steps``.
        Does not change the increments.
    observe : callable, optional
        ``observe(t, y) -> pytree`` recorded instead of ``y``.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        What to do if a state (or a recorded observation) becomes NaN or inf:
        raise :class:`~mltheory.exceptions.DivergenceError`, warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the
        records before the first bad step, or return the trajectory as is
        with ``first_bad_step`` set. Under :func:`jax.jit`/:func:`jax.vmap`
        read ``result.diverged`` instead. See :func:`handle_divergence`.

    Returns
    -------
    Trajectory
        ``ts`` of shape ``(n_steps // record_every + 1,)`` and ``ys`` (states
        or observations) with that leading axis (fewer records after
        ``on_divergence="warn"``), in the dtype of ``y0``; ``first_bad_step``
        is ``-1`` unless the run diverged.

    Raises
    ------
    TypeError
        If a callable is not callable, ``key`` is not a PRNG key, ``grid`` is
        not a :class:`TimeGrid`, ``noise_shape`` is not a tuple of ints, or a
        leaf of ``y0``/``args`` is not numeric.
    ValueError
        If both or neither of ``key`` and ``increments`` are given,
        ``increments`` has the wrong shape, ``noise_shape`` is missing for a
        pytree state, ``method`` is unknown, ``linear_part`` is missing, has
        the wrong shape, makes :math:`I - \Delta t A` singular or is given
        with another method, ``record_every`` is invalid, an input holds
        NaN/inf, ``drift``/``diffusion`` do not return pytrees like ``y0``,
        or ``on_divergence`` is unknown.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if a path became non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if a path became non-finite.

    See Also
    --------
    brownian_increments : The increments drawn from a key.
    solve_ode : The deterministic counterpart.

    Notes
    -----
    With :math:`h = \Delta t`, :math:`f_n = f(t_n, y_n)` and
    :math:`G_n = g(t_n, y_n)\,\Delta W_n`:

    .. math::

        \text{euler\_maruyama:}\quad y_{n+1} &= y_n + h f_n + G_n, \\
        \text{drift\_implicit\_em:}\quad y_{n+1} &= (I - hA)^{-1}
            \big(y_n + h f_n + G_n\big), \\
        \text{heun\_drift:}\quad y_{n+1} &= y_n + \tfrac{h}{2}\big(f_n +
            f(t_{n+1}, \tilde y)\big) + G_n, \\
        \tilde y &= y_n + h f_n + G_n.

    Euler-Maruyama has strong order 1/2 and weak order 1 (strong order 1 for
    additive noise). Drift-implicit EM solves
    :math:`y_{n+1} = y_n + h(A y_{n+1} + f_n) + G_n` exactly, with
    :math:`I - hA` factored once; it is stable for stiff linear parts (e.g.
    :math:`h|\lambda| > 2`, where EM explodes) and, for the OU process
    :math:`dy = -\lambda y\,dt + s\,dW`, has stationary variance
    :math:`s^2 / (\lambda(2 + \lambda h))` instead of :math:`s^2/(2\lambda)`.
    Heun-drift uses EM noise and Heun on the drift; with additive noise it is
    the explicit weak order 2 scheme of Kloeden-Platen [1]_, and in general
    weak order 1 with a smaller drift error than EM.

    References
    ----------
    .. [1] P. E. Kloeden and E. Platen, "Numerical Solution of Stochastic
       Differential Equations", Springer, 1992, §§10.2, 12.2, 15.1.
    .. [2] D. J. Higham, "An algorithmic introduction to numerical simulation
       of stochastic differential equations", SIAM Review 43(3), 2001.

    Examples
    --------
    Geometric Brownian motion :math:`dX = \mu X dt + \sigma X dW`, 100 paths:

    >>> from mltheory.numerics import TimeGrid, solve_sde
    >>> grid = TimeGrid(1.0, 50)
    >>> drift = lambda t, x, p: p[0] * x
    >>> diffusion = lambda t, x, p, dw: p[1] * x * dw
    >>> paths = jax.vmap(
    ...     lambda k: solve_sde(drift, diffusion, jnp.ones(()), grid=grid, key=k,
    ...                         args=(0.5, 0.2), record_every=25)
    ... )(jax.random.split(jax.random.key(0), 100))
    >>> paths.ys.shape
    (100, 3)
    >>> print(abs(float(paths.ys[:, -1].mean()) - float(np.exp(0.5))) < 0.1)
    True
    """
    check_callable(drift, name="drift")
    check_callable(diffusion, name="diffusion")
    grid = _check_grid(grid)
    check_in(method, name="method", options=_SDE_METHODS)
    check_on_divergence(on_divergence)
    r = _check_record_every(record_every, grid)
    if observe is not None:
        check_callable(observe, name="observe")
    y0 = _check_state(y0)
    _check_args(args)
    dtype = _state_dtype(y0)
    _check_grid_in_dtype(grid, dtype)

    if (key is None) == (increments is None):
        raise ValueError(
            "Exactly one of key and increments must be given; got "
            f"{'both' if key is not None else 'neither'}."
        )
    if noise_shape is not None:
        noise_shape = _check_noise_shape(noise_shape, name="noise_shape")
    if increments is not None:
        increments = as_array(increments, name="increments", min_ndim=1, dtype=dtype)
        if noise_shape is None:
            noise_shape = tuple(increments.shape[1:])
        want = (grid.n_steps, *noise_shape)
        if tuple(increments.shape) != want:
            raise ValueError(
                f"increments must have shape (n_steps, *noise_shape) = {want}; "
                f"got shape {tuple(increments.shape)}."
            )
    else:
        key = check_key(key)
        if noise_shape is None:
            if not isinstance(y0, jax.Array):
                raise ValueError(
                    "noise_shape is required when y0 is a pytree (the noise "
                    "shape cannot be inferred); got noise_shape=None."
                )
            noise_shape = tuple(y0.shape)

    if method == "drift_implicit_em":
        if linear_part is None:
            raise ValueError(
                "linear_part is required for method='drift_implicit_em' (the "
                "stiff linear drift A); got None."
            )
        linear_kind, linear_arr = _linear_kind(linear_part, y0, grid, dtype)
    else:
        if linear_part is not None:
            raise ValueError(
                "linear_part is only used by method='drift_implicit_em'; got "
                f"method={method!r} with linear_part={describe(linear_part)}."
            )
        linear_kind, linear_arr = None, None

    t_abs = jnp.asarray(grid.t0, dtype)
    dw_abs = jax.ShapeDtypeStruct(noise_shape, dtype)
    _check_output_like_state(drift, (t_abs, y0, args), y0, what="drift(t, y, args)")
    _check_output_like_state(
        diffusion, (t_abs, y0, args, dw_abs), y0, what="diffusion(t, y, args, dw)"
    )
    traj = _solve_sde_jit(
        y0,
        key,
        increments,
        linear_arr,
        args,
        drift=drift,
        diffusion=diffusion,
        grid=grid,
        noise_shape=noise_shape,
        method=method,
        linear_kind=linear_kind,
        record_every=r,
        observe=observe,
    )
    return handle_divergence(
        traj,
        on_divergence=on_divergence,
        what="solve_sde",
        cause=(
            f"the step dt = {grid.dt:.4g} is too large for method {method!r} "
            "(explicit schemes explode beyond their stability region; use more "
            "steps, or drift_implicit_em for a stiff linear drift), or the "
            "drift grows superlinearly (e.g. y**3), which makes explicit "
            "schemes blow up, or drift/diffusion returned NaN/inf"
        ),
        record_every=r,
        dt=grid.dt,
        t0=grid.t0,
        n_steps=grid.n_steps,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- #
# Stiff hand-off to SciPy
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=32)
def _stiff_rhs_and_jacobian(
    vector_field: Callable[..., Any],
    treedef: Any,
    specs: tuple[tuple[tuple[int, ...], str], ...],
) -> tuple[Callable[..., Array], Callable[..., Array]]:
    # Cached per (field, state structure), so that repeated solves of the same
    # field (a sweep over ``args``) compile the right-hand side and its
    # Jacobian once rather than on every call.
    template = jax.tree_util.tree_unflatten(
        treedef, [jnp.zeros(shape, dtype) for shape, dtype in specs]
    )
    _, unravel = ravel_pytree(template)
    work_dtype = jnp.result_type(float)

    def flat_field(t: Array, y: Array, a: Any) -> Array:
        out = vector_field(t.astype(work_dtype), unravel(y), a)
        return ravel_pytree(_cast_like(out, template))[0]

    return jax.jit(flat_field), jax.jit(jax.jacfwd(flat_field, argnums=1))


def solve_ode_stiff(
    vector_field: Callable[[Array, PyTree, Any], PyTree],
    y0: PyTree,
    *,
    ts: ArrayLike,
    method: StiffMethod = "Radau",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    args: Any = None,
) -> Trajectory:
    r"""Solve a stiff ODE with SciPy's implicit solvers and a JAX Jacobian.

    Hands ``y' = f(t, y, args)`` to :func:`scipy.integrate.solve_ivp` with a
    jitted right-hand side and its jitted :func:`jax.jacfwd` Jacobian
    (pytree states are flattened with
    :func:`jax.flatten_util.ravel_pytree`), and returns the solution at
    ``ts``. This runs on the host: use it for accuracy and long horizons, and
    :func:`solve_ode` (fixed steps, vmappable) for batched sweeps.

    Parameters
    ----------
    vector_field : callable
        ``vector_field(t, y, args) -> pytree like y``; must be jit-able and
        differentiable in ``y``.
    y0 : array_like or pytree of array_like
        Initial state at ``ts[0]``; finite floating arrays.
    ts : array_like of shape (n_times,)
        Strictly increasing output times, ``n_times >= 2``; the integration
        runs from ``ts[0]`` to ``ts[-1]``.
    method : {"Radau", "BDF", "LSODA"}, default="Radau"
        The :func:`scipy.integrate.solve_ivp` method.
    rtol : float, default=1e-8
        Relative tolerance, > 0.
    atol : float, default=1e-10
        Absolute tolerance, > 0.
    args : pytree, optional
        Passed unchanged to ``vector_field``.

    Returns
    -------
    Trajectory
        ``ts`` of shape ``(n_times,)`` and ``ys`` with that leading axis
        (``ys[0]`` is ``y0``), as :class:`jax.Array` in the dtype of ``y0``
        (the solve itself runs in float64 on the host when x64 is enabled).

    Raises
    ------
    TypeError
        If ``vector_field`` is not callable, or ``y0``/``ts`` are traced (this
        function cannot run under :func:`jax.jit`) or not numeric.
    ValueError
        If ``ts`` is not strictly increasing 1-D with at least 2 entries, an
        input holds NaN/inf, ``method`` is unknown, a tolerance is not
        positive, or ``vector_field`` does not return a pytree like ``y0``.
    mltheory.exceptions.DivergenceError
        If the SciPy solver fails (e.g. the step size underflows near a
        finite-time blow-up) or returns non-finite values; the message gives
        the time reached and SciPy's reason. No partial result is returned.

    See Also
    --------
    solve_ode : Fixed-step explicit solvers, jitted and vmappable.

    Notes
    -----
    The Jacobian :math:`\partial f / \partial y` is computed by forward-mode
    automatic differentiation, so the implicit solvers need no finite
    differences; each right-hand side or Jacobian call costs one jitted
    dispatch (tens of microseconds), which dominates for small systems; both
    are compiled once per call.
    Accuracy is set by ``rtol`` and ``atol`` (local error control), not
    guaranteed globally; tolerances below about ``1e-13`` are not meaningful
    in float64. SciPy's Radau can underestimate its error on very stiff forced
    problems (order reduction: on Prothero-Robinson with :math:`\lambda =
    10^6` it is :math:`6 \cdot 10^{-4}` off at ``rtol=1e-8`` while BDF and
    LSODA are within :math:`10^{-9}`); cross-check with a second method when
    it matters.

    References
    ----------
    .. [1] E. Hairer and G. Wanner, "Solving Ordinary Differential Equations
       II: Stiff and Differential-Algebraic Problems", 2nd ed., Springer, 1996.

    Examples
    --------
    Robertson's chemical kinetics, a classic stiff test problem:

    >>> from mltheory.numerics import solve_ode_stiff
    >>> def robertson(t, y, args):
    ...     y1, y2, y3 = y
    ...     return jnp.stack([-0.04 * y1 + 1e4 * y2 * y3,
    ...                       0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2**2,
    ...                       3e7 * y2**2])
    >>> traj = solve_ode_stiff(robertson, jnp.asarray([1.0, 0.0, 0.0]),
    ...                        ts=jnp.asarray([0.0, 40.0]))
    >>> traj.ys.shape
    (2, 3)
    >>> print(np.round(np.asarray(traj.ys[-1]), 4))
    [0.7158 0.     0.2842]
    """
    check_callable(vector_field, name="vector_field")
    check_in(method, name="method", options=_STIFF_METHODS)
    rtol = check_scalar(rtol, name="rtol", lower=0.0, lower_inclusive=False)
    atol = check_scalar(atol, name="atol", lower=0.0, lower_inclusive=False)
    ts_np = as_numpy(ts, name="ts", ndim=1, shape_hint="(n_times,)")
    if ts_np.shape[0] < 2 or not np.all(np.diff(ts_np) > 0):
        raise ValueError(
            "ts must be strictly increasing with at least 2 entries; got "
            f"{describe(ts_np)} with values {np.array2string(ts_np, threshold=6)}."
        )
    y0 = _check_state(y0)
    for path, leaf in jax.tree_util.tree_flatten_with_path(y0)[0]:
        if is_traced(leaf):
            raise TypeError(
                f"y0{jax.tree_util.keystr(path)} must be a concrete array "
                "(solve_ode_stiff runs SciPy on the host and cannot be traced "
                f"by jax.jit); got {describe(leaf)}."
            )
    _check_args(args)
    out_dtype = _state_dtype(y0)
    work_dtype = jnp.result_type(float)  # float64 when x64 is on
    y0_work = jax.tree_util.tree_map(lambda x: x.astype(work_dtype), y0)
    t_abs = jnp.asarray(ts_np[0], work_dtype)
    _check_output_like_state(
        vector_field, (t_abs, y0_work, args), y0, what="vector_field(t, y, args)"
    )

    flat0, unravel = ravel_pytree(y0_work)
    leaves, treedef = jax.tree_util.tree_flatten(y0_work)
    specs = tuple((leaf.shape, str(leaf.dtype)) for leaf in leaves)
    try:
        hash(vector_field)
    except TypeError:  # an unhashable callable object: build, don't cache
        rhs, jac = _stiff_rhs_and_jacobian.__wrapped__(vector_field, treedef, specs)
    else:
        rhs, jac = _stiff_rhs_and_jacobian(vector_field, treedef, specs)

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(rhs(np.asarray(t, work_dtype), y.astype(work_dtype), args))

    def jac_fun(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(jac(np.asarray(t, work_dtype), y.astype(work_dtype), args))

    sol = scipy.integrate.solve_ivp(
        fun,
        (float(ts_np[0]), float(ts_np[-1])),
        np.asarray(flat0, dtype=np.float64),
        method=method,
        t_eval=ts_np,
        rtol=rtol,
        atol=atol,
        jac=jac_fun,
    )
    if not sol.success or sol.y.shape[1] != ts_np.shape[0]:
        t_reached = float(sol.t[-1]) if sol.t.size else float(ts_np[0])
        raise DivergenceError(
            f"solve_ode_stiff: {method} failed before t = {ts_np[-1]} (last output "
            f"time {t_reached}): {sol.message}"
        )
    if not np.all(np.isfinite(sol.y)):
        raise DivergenceError(
            f"solve_ode_stiff: {method} returned non-finite values (the solution "
            "blew up or the vector field produced NaN/inf)."
        )
    flat_ys = jnp.asarray(sol.y.T, work_dtype)
    ys = jax.vmap(unravel)(flat_ys)
    ys = jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), ys, y0)
    return Trajectory(ts=jnp.asarray(ts_np, out_dtype), ys=ys)

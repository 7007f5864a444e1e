r"""The finite-width two-layer network whose width limit the fast–slow ODEs describe.

:math:`f(x) = \frac1n \sum_{j=1}^n a_j \sigma(\langle w_j, x\rangle)` with rows
:math:`w_j` on the unit sphere (mean-field / μP-type :math:`1/n` output scale),
trained on a single-index teacher :math:`y = \sigma_*(\langle\theta, x\rangle) +
\zeta`, :math:`x \sim N(0, I_d)`, by large-batch projected SGD with per-neuron
learning rates ``lr_w`` (first layer) and ``lr_a`` (second layer). The
simulator reports the macroscopic variables of
:mod:`mltheory.dynamics.fast_slow` — the alignments
:math:`m_j = \langle w_j, \theta\rangle` and the weights :math:`a_j` — at times
:math:`t = k\,\mathrm{lr\_w}`, so the two can be compared directly; the ODE's
:math:`\varepsilon` is ``lr_a / lr_w``.

What converges, and how fast: at fixed dimension ``d`` the neuron averages
converge as the width ``n`` grows (the self-interaction bias of each neuron
is :math:`O(1/n)`); what remains is set by the dimension (cross-neuron overlaps
and the :math:`O(d^{-1/2})` spread of the initial alignments), by the gradient
noise of the sphere projection, :math:`O(\mathrm{lr\_w}\, d / B)`, and by the
Euler step, :math:`O(\mathrm{lr\_w})`. Keep :math:`\mathrm{lr\_w}\, d / B \le
2 \cdot 10^{-3}` for agreement to about :math:`2 \cdot 10^{-2}`.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from mltheory._src._progress import progress
from mltheory._src._pytree import DivergedMixin, pytree_dataclass
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_float_dtype,
    check_in,
    check_key,
    check_on_divergence,
    check_scalar,
    describe,
)
from mltheory.dynamics.fast_slow import FastSlowProblem, integrate
from mltheory.numerics import (
    HermiteSeries,
    handle_divergence,
    map_keys,
    scan_with_records,
    update_first_bad_step,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "SGDTrajectory",
    "TwoLayerParams",
    "WidthConvergence",
    "forward",
    "init_params",
    "overlaps",
    "simulate_sgd",
    "to_problem",
    "width_convergence",
]


@pytree_dataclass
class TwoLayerParams:
    """Parameters of the two-layer network.

    Parameters
    ----------
    W : jax.Array of shape (n, d)
        First-layer rows (unit norm for the projected dynamics).
    a : jax.Array of shape (n,)
        Second-layer weights.

    See Also
    --------
    init_params : The standard initialisation.

    Examples
    --------
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> params = tp.init_params(jax.random.key(0), 8, 16, 1.0)
    >>> params.W.shape, params.a.shape
    ((8, 16), (8,))
    """

    W: Array
    a: Array


def _check_params(params: Any) -> TwoLayerParams:
    if not isinstance(params, TwoLayerParams):
        raise TypeError(f"params must be a TwoLayerParams; got {describe(params)}.")
    W = as_array(params.W, name="params.W", ndim=2, shape_hint="(n, d)")
    a = as_array(params.a, name="params.a", ndim=1, shape_hint="(n,)")
    if a.shape[0] != W.shape[0]:
        raise ValueError(
            f"params.a must have shape (n,) = ({W.shape[0]},); got {tuple(a.shape)}."
        )
    return TwoLayerParams(W, a)


def init_params(
    key: KeyArray,
    n: int,
    d: int,
    a0: float,
    *,
    a_init: Literal["constant", "gaussian", "rademacher"] = "constant",
    dtype: Any = None,
) -> TwoLayerParams:
    r"""Initialise the network: unit rows uniform on the sphere, second layer ``a0``.

    Parameters
    ----------
    key : jax.Array
        PRNG key.
    n : int
        Width, >= 1.
    d : int
        Input dimension, >= 2.
    a0 : float
        Initial second-layer scale.
    a_init : {"constant", "gaussian", "rademacher"}, default="constant"
        :math:`a_j = a_0`, :math:`a_j = a_0 \xi_j` with
        :math:`\xi_j \sim N(0, 1)`, or :math:`a_j = \pm a_0`.
    dtype : dtype, optional
        Floating dtype; default JAX's default float.

    Returns
    -------
    TwoLayerParams
        ``W`` of shape (n, d) with unit rows, ``a`` of shape (n,).

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key or ``dtype`` not floating.
    ValueError
        If ``n < 1``, ``d < 2``, ``a0`` is not finite or ``a_init`` unknown.

    See Also
    --------
    simulate_sgd : Trains the network.

    Notes
    -----
    Uniform rows have alignments :math:`\langle w_j, \theta\rangle` of order
    :math:`d^{-1/2}` with any fixed unit :math:`\theta`.

    Examples
    --------
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> params = tp.init_params(jax.random.key(0), 4, 10, 0.5)
    >>> print(np.round(np.asarray(jnp.linalg.norm(params.W, axis=1)), 6))
    [1. 1. 1. 1.]
    """
    key = check_key(key)
    n = check_scalar(n, name="n", kind=int, lower=1)
    d = check_scalar(d, name="d", kind=int, lower=2)
    a0 = check_scalar(a0, name="a0")
    check_in(a_init, name="a_init", options=("constant", "gaussian", "rademacher"))
    dtype = check_float_dtype(dtype, name="dtype")
    kw, ka = jax.random.split(key)
    W = jax.random.normal(kw, (n, d), dtype)
    W = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    if a_init == "constant":
        a = jnp.full((n,), a0, dtype)
    elif a_init == "gaussian":
        a = a0 * jax.random.normal(ka, (n,), dtype)
    else:
        a = a0 * jax.random.rademacher(ka, (n,), dtype)
    return TwoLayerParams(W, a)


def forward(
    params: TwoLayerParams, X: ArrayLike, activation: Callable[[Array], Array]
) -> Array:
    r"""Network output :math:`f(x) = \frac1n \sum_j a_j \sigma(\langle w_j, x\rangle)`.

    Parameters
    ----------
    params : TwoLayerParams
        The network.
    X : array_like of shape (B, d)
        Inputs.
    activation : callable
        Elementwise :math:`\sigma`, JAX-traceable.

    Returns
    -------
    jax.Array of shape (B,)
        The outputs.

    Raises
    ------
    TypeError
        If ``params`` is not a :class:`TwoLayerParams` or ``activation`` is
        not callable.
    ValueError
        If ``X`` is not 2-D with ``d`` columns or holds NaN/inf.

    See Also
    --------
    simulate_sgd : Trains it.

    Examples
    --------
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> params = tp.init_params(jax.random.key(0), 4, 3, 2.0)
    >>> out = tp.forward(params, jnp.zeros((5, 3)), jnp.tanh)
    >>> print(np.asarray(out))
    [0. 0. 0. 0. 0.]
    """
    params = _check_params(params)
    check_callable(activation, name="activation")
    X_arr = as_array(X, name="X", ndim=2, shape_hint="(B, d)")
    if X_arr.shape[1] != params.W.shape[1]:
        raise ValueError(
            f"X must have d = {params.W.shape[1]} columns; got shape "
            f"{tuple(X_arr.shape)}."
        )
    return _forward(params, X_arr, activation)


def _forward(
    params: TwoLayerParams, X: Array, activation: Callable[[Array], Array]
) -> Array:
    return activation(X @ params.W.T) @ params.a / params.a.shape[0]


def overlaps(params: TwoLayerParams, theta: ArrayLike) -> tuple[Array, Array]:
    r"""Macroscopic variables of each neuron: alignment and second-layer weight.

    Parameters
    ----------
    params : TwoLayerParams
        The network.
    theta : array_like of shape (d,)
        The teacher direction (unit norm).

    Returns
    -------
    m : jax.Array of shape (n,)
        :math:`\langle w_j, \theta\rangle / \|w_j\|`.
    a : jax.Array of shape (n,)
        :math:`a_j`.

    Raises
    ------
    TypeError
        If ``params`` is not a :class:`TwoLayerParams`.
    ValueError
        If ``theta`` has the wrong shape or holds NaN/inf.

    See Also
    --------
    simulate_sgd : Records these along training.

    Examples
    --------
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> params = tp.TwoLayerParams(jnp.eye(2), jnp.ones(2))
    >>> m, a = tp.overlaps(params, jnp.array([1.0, 0.0]))
    >>> print(np.asarray(m))
    [1. 0.]
    """
    params = _check_params(params)
    th = as_array(theta, name="theta", ndim=1, shape_hint="(d,)")
    if th.shape[0] != params.W.shape[1]:
        raise ValueError(
            f"theta must have shape ({params.W.shape[1]},); got {tuple(th.shape)}."
        )
    norms = jnp.linalg.norm(params.W, axis=1)
    return params.W @ th / norms, params.a


@pytree_dataclass
class SGDTrajectory(DivergedMixin):
    """Macroscopic record of a finite-width SGD run.

    Parameters
    ----------
    t : jax.Array of shape (R,)
        Times ``step * lr_w`` of the records (the first is 0).
    m_mean : jax.Array of shape (R,)
        Mean alignment over neurons.
    a_mean : jax.Array of shape (R,)
        Mean second-layer weight.
    loss : jax.Array of shape (R,)
        Online loss: half the mean squared residual on the fresh batch of
        that step (an unbiased estimate of the population loss).
    m : jax.Array of shape (R, n) or None
        Per-neuron alignments (``store_neurons=True``).
    a : jax.Array of shape (R, n) or None
        Per-neuron second-layer weights (``store_neurons=True``).
    params : TwoLayerParams
        The final parameters (non-finite after a divergence).
    first_bad_step : int or jax.Array of int32, default=-1
        The first SGD step whose parameters were non-finite, ``-1`` if none
        (one entry per member when vmapped); ``diverged`` is
        ``first_bad_step >= 0``. See
        :func:`mltheory.numerics.handle_divergence`.

    See Also
    --------
    simulate_sgd : Produces it.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> params = tp.init_params(jax.random.key(0), 32, 16, 1.0)
    >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    >>> traj = tp.simulate_sgd(jax.random.key(1), params, teacher, jnp.tanh,
    ...                        lr_w=0.05, lr_a=0.005, batch_size=256,
    ...                        n_steps=100, record_every=50)
    >>> traj.t.shape
    (3,)
    """

    t: Array
    m_mean: Array
    a_mean: Array
    loss: Array
    m: Array | None
    a: Array | None
    params: TwoLayerParams
    first_bad_step: Any = dataclasses.field(
        default_factory=lambda: np.asarray(-1, np.int32)
    )

    def _truncate_records(self, n_keep: int) -> SGDTrajectory:
        """Keep the first ``n_keep`` records (``params`` is not a record)."""
        index = (slice(None),) * np.ndim(self.first_bad_step) + (slice(0, n_keep),)
        return dataclasses.replace(
            self,
            t=self.t[index],
            m_mean=self.m_mean[index],
            a_mean=self.a_mean[index],
            loss=self.loss[index],
            m=None if self.m is None else self.m[index],
            a=None if self.a is None else self.a[index],
        )

    def _record_leaves(self) -> tuple[Any, ...]:
        """The recorded values checked for NaN/inf by the divergence policy."""
        return (self.m_mean, self.a_mean, self.loss, self.m, self.a)

    def _summary_items(self) -> dict[str, Any]:
        return {
            "horizon": self.t[..., -1],
            "final m_mean": self.m_mean[..., -1],
            "final a_mean": self.a_mean[..., -1],
        }

    def plot(
        self,
        ax: Axes | None = None,
        *,
        variables: tuple[str, ...] = ("m", "a"),
        neurons: bool = False,
        label: str | None = "SGD",
        kind: Literal["theory", "simulation", "data"] = "simulation",
        average: bool = False,
        logx: bool = False,
        logy: bool = False,
        color: str | None = None,
        **kwargs: Any,
    ) -> Axes:
        """Plot the mean alignment and second-layer weight against time.

        Drawn as markers, in the colours
        :meth:`mltheory.dynamics.fast_slow.FastSlowTrajectory.plot` gives the
        same variables (``m`` first house colour, ``a`` second, ``loss``
        third), so the ODE and this finite-width run overlay on one Axes
        (``ode.plot(ax=ax); sgd.plot(ax=ax)``). A run stacked by
        :func:`jax.vmap` over seeds draws one curve per seed, or with
        ``average=True`` their mean with a +-1 standard-error band.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        variables : tuple of {"m", "a", "loss"}, default=("m", "a")
            Which means to draw (``loss`` is the online loss).
        neurons : bool, default=False
            Also draw every neuron's ``m`` and ``a`` as thin lines (needs
            ``store_neurons=True``).
        label : str or None, default="SGD"
            Appended to the legend entries: ``"m (SGD)"``.
        kind : {"theory", "simulation", "data"}, default="simulation"
            How the means are drawn.
        average : bool, default=False
            Mean and standard error over a batch of runs.
        logx, logy : bool, default=False
            Logarithmic axes.
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
            If ``variables`` names an unknown curve, or ``neurons=True``
            without stored neurons or on a batched run.
        TypeError
            If the run holds tracers (call ``.plot()`` outside jit).

        Examples
        --------
        >>> from mltheory import numerics
        >>> from mltheory.dynamics import tensor_programs as tp
        >>> params = tp.init_params(jax.random.key(0), 32, 16, 1.0)
        >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
        >>> traj = tp.simulate_sgd(jax.random.key(1), params, teacher, jnp.tanh,
        ...                        lr_w=0.05, lr_a=0.005, batch_size=256,
        ...                        n_steps=100, record_every=10)
        >>> ax = traj.plot()  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P
        from mltheory.dynamics._fast_slow_integrate import _plot_variables

        curves = {"m": self.m_mean, "a": self.a_mean, "loss": self.loss}
        if neurons:
            if self.m is None or self.a is None:
                raise ValueError(
                    "neurons=True needs the per-neuron records: simulate with "
                    "store_neurons=True."
                )
            ts = P.members_or_error(self.t, name="SGDTrajectory.t")
            ax = P.axes_or_new(ax)
            per_neuron = {"m": self.m, "a": self.a}
            for i, v in enumerate(("m", "a")):
                if v in variables:
                    P.plot_members(
                        ax,
                        ts,
                        P.as_numpy(per_neuron[v]).T,
                        label=f"{v}, every neuron",
                        color=color or P.PALETTE[i],
                        linewidth=0.6,
                        alpha=0.15,
                    )
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
            average=average,
            **kwargs,
        )


def _teacher_fn(teacher: Any) -> tuple[Callable[[Array], Array] | None, Array]:
    """(static callable or None, traced Hermite coefficients).

    A Hermite teacher travels as a traced coefficient array, so a new series
    object (or new coefficients) reuses the compiled simulator.
    """
    if isinstance(teacher, HermiteSeries):
        return None, jnp.asarray(teacher.coeffs)
    return check_callable(teacher, name="teacher"), jnp.zeros(1)


@functools.partial(
    jax.jit,
    static_argnames=(
        "teacher",
        "activation",
        "batch_size",
        "n_steps",
        "record_every",
        "project",
        "store_neurons",
    ),
)
def _simulate(
    key: KeyArray,
    params: TwoLayerParams,
    theta: Array,
    lr_w: Array,
    lr_a: Array,
    noise_std: Array,
    teacher_coeffs: Array,
    *,
    teacher: Callable[[Array], Array] | None,
    activation: Callable[[Array], Array],
    batch_size: int,
    n_steps: int,
    record_every: int,
    project: bool,
    store_neurons: bool,
) -> SGDTrajectory:
    dtype = params.W.dtype
    n, d = params.W.shape
    if teacher is None:
        teacher = HermiteSeries(teacher_coeffs)

    Carry = tuple[TwoLayerParams, Array, Array]

    def step(k: Array, carry: Carry) -> Carry:
        p, _, bad = carry
        kx, kz = jax.random.split(jax.random.fold_in(key, k))
        X = jax.random.normal(kx, (batch_size, d), dtype)
        noise = noise_std * jax.random.normal(kz, (batch_size,), dtype)
        y = teacher(X @ theta).astype(dtype) + noise
        H = X @ p.W.T
        act, dact = jax.jvp(activation, (H,), (jnp.ones_like(H),))
        act, dact = act.astype(dtype), dact.astype(dtype)
        r = act @ p.a / n - y
        # Per-neuron (mean-field) gradients: the 1/n of the output is cancelled
        # by the O(n) learning rate, so lr_w and lr_a are per-neuron steps.
        grad_W = p.a[:, None] * ((dact * r[:, None]).T @ X) / batch_size
        grad_a = act.T @ r / batch_size
        W = p.W - lr_w * grad_W
        if project:
            W = W / jnp.linalg.norm(W, axis=1, keepdims=True)
        a = p.a - lr_a * grad_a
        new = TwoLayerParams(W, a)
        return new, 0.5 * jnp.mean(r * r), update_first_bad_step(bad, k + 1, new)

    def _observe(carry: Carry) -> tuple[Array, ...]:
        p, loss, _ = carry
        m = p.W @ theta / jnp.linalg.norm(p.W, axis=1)
        return jnp.mean(m), jnp.mean(p.a), loss, m, p.a

    # Loss at record 0: one evaluation on a batch that no step uses.
    kx0, _ = jax.random.split(jax.random.fold_in(key, n_steps))
    X0 = jax.random.normal(kx0, (batch_size, d), dtype)
    r0 = (_forward(params, X0, activation) - teacher(X0 @ theta)).astype(dtype)
    loss0 = 0.5 * jnp.mean(r0 * r0) + 0.5 * noise_std**2
    (final, _, first_bad), stacked = scan_with_records(
        step,
        (params, loss0.astype(dtype), jnp.asarray(-1, jnp.int32)),
        n_steps=n_steps,
        record_every=record_every,
        observe=_observe,
    )
    n_rec = n_steps // record_every
    t = jnp.arange(n_rec + 1, dtype=dtype) * record_every * lr_w
    return SGDTrajectory(
        t=t,
        m_mean=stacked[0],
        a_mean=stacked[1],
        loss=stacked[2],
        m=stacked[3] if store_neurons else None,
        a=stacked[4] if store_neurons else None,
        params=final,
        first_bad_step=first_bad,
    )


def simulate_sgd(
    key: KeyArray,
    params: TwoLayerParams,
    teacher: HermiteSeries | Callable[[Array], Array],
    activation: Callable[[Array], Array],
    *,
    lr_w: float,
    lr_a: float,
    batch_size: int,
    n_steps: int,
    record_every: int,
    theta: ArrayLike | None = None,
    noise_var: float = 0.0,
    project: bool = True,
    store_neurons: bool = False,
    dtype: Any = None,
    mesh: Mesh | None = None,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> SGDTrajectory:
    r"""Large-batch projected SGD of the finite-width network (jitted ``lax.scan``).

    Each step draws a fresh batch :math:`x_b \sim N(0, I_d)`,
    :math:`y_b = \sigma_*(\langle\theta, x_b\rangle) + \zeta_b` inside the
    scan (batches are never materialised together) and updates, with
    residuals :math:`r_b = f(x_b) - y_b`,

    .. math::

        w_j &\leftarrow \Pi\big(w_j - \mathrm{lr\_w}\; a_j \tfrac1B
        \textstyle\sum_b r_b \sigma'(\langle w_j, x_b\rangle) x_b\big), \\
        a_j &\leftarrow a_j - \mathrm{lr\_a}\; \tfrac1B \textstyle\sum_b r_b
        \sigma(\langle w_j, x_b\rangle),

    where :math:`\Pi` normalises rows (``project=True``).

    Parameters
    ----------
    key : jax.Array
        PRNG key of the batches; the same key gives the same run. A 1-D array
        of keys (``jax.random.split(key, S)``) runs ``S`` seeds from the same
        initial network as one vmapped computation; every field of the result
        then has a leading seed axis.
    params : TwoLayerParams
        Initial network (:func:`init_params`).
    teacher : HermiteSeries or callable
        Teacher link :math:`\sigma_*`, elementwise and JAX-traceable. Pass
        the same object across calls to reuse the compilation.
    activation : callable
        Student activation :math:`\sigma`, elementwise, differentiable
        (:math:`\sigma'` by forward-mode autodiff).
    lr_w : float
        First-layer per-neuron learning rate, > 0 (the ODE's time unit).
    lr_a : float
        Second-layer per-neuron learning rate, >= 0 (``eps = lr_a / lr_w``).
    batch_size : int
        Batch size B, >= 1.
    n_steps : int
        Number of SGD steps, >= 1.
    record_every : int
        Record every this many steps; divides ``n_steps``.
    theta : array_like of shape (d,), optional
        Teacher direction; default :math:`e_1`. A non-unit ``theta`` is
        normalised with a warning.
    noise_var : float, default=0.0
        Label-noise variance, >= 0.
    project : bool, default=True
        Renormalise the first-layer rows after each step.
    store_neurons : bool, default=False
        Also record every neuron's :math:`(m_j, a_j)`.
    dtype : dtype, optional
        Working dtype (e.g. ``jnp.float32`` for speed); default the dtype of
        ``params.W``.
    mesh : jax.sharding.Mesh, optional
        Split the seed axis of a batch of keys over the devices of this
        one-axis mesh (:func:`mltheory.numerics.make_mesh`); the number of
        keys must be a multiple of its size. The results equal those without
        a mesh.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        If the parameters become NaN/inf (a step size beyond the stability
        limit): raise :class:`~mltheory.exceptions.DivergenceError` naming
        the first bad step and its time, warn
        :class:`~mltheory.exceptions.DivergenceWarning` and return the
        records before it, or return the trajectory as is with
        ``first_bad_step`` set. Under :func:`jax.jit`/:func:`jax.vmap` read
        ``result.diverged`` (see :func:`mltheory.numerics.handle_divergence`).

    Returns
    -------
    SGDTrajectory
        Record times :math:`t = k\,\mathrm{lr\_w}`, mean alignment and
        weight, online loss, optionally per-neuron records, final
        parameters (with a leading seed axis for a batch of keys).

    Raises
    ------
    TypeError
        If ``key``/``params``/``activation``/``teacher`` have the wrong type.
    ValueError
        If ``lr_w <= 0``, ``lr_a < 0``, ``batch_size < 1``, ``n_steps < 1``,
        ``record_every < 1`` or not dividing ``n_steps``, ``noise_var < 0``,
        ``on_divergence`` is unknown, or ``theta`` has the wrong length, is
        zero or holds NaN/inf.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if the parameters became non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if the parameters became non-finite.

    See Also
    --------
    to_problem : The matching :class:`~mltheory.dynamics.fast_slow.FastSlowProblem`.
    width_convergence : Error against the ODE as the width grows.

    Notes
    -----
    Cost per step is two matrix products of size :math:`B \times d \times n`.
    The ODE limit is :math:`n \to \infty`, :math:`d \to \infty`,
    :math:`B/d \to \infty`, :math:`\mathrm{lr\_w} \to 0` (see the module
    docstring for the size of each error).

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> params = tp.init_params(jax.random.key(0), 32, 16, 1.0)
    >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    >>> traj = tp.simulate_sgd(jax.random.key(1), params, teacher, jnp.tanh,
    ...                        lr_w=0.05, lr_a=0.005, batch_size=256,
    ...                        n_steps=100, record_every=50)
    >>> bool(traj.m_mean[-1] > 0.3)  # the alignment has grown from ~0
    True
    """
    check_on_divergence(on_divergence)
    if mesh is not None or (
        isinstance(key, jax.Array)
        and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        and key.ndim == 1
    ):
        batch = map_keys(
            lambda k: simulate_sgd(
                k,
                params,
                teacher,
                activation,
                lr_w=lr_w,
                lr_a=lr_a,
                batch_size=batch_size,
                n_steps=n_steps,
                record_every=record_every,
                theta=theta,
                noise_var=noise_var,
                project=project,
                store_neurons=store_neurons,
                dtype=dtype,
                on_divergence="flag",
            ),
            key,
            mesh=mesh,
            name="key",
        )
        return _sgd_policy(
            batch,
            on_divergence=on_divergence,
            lr_w=lr_w,
            lr_a=lr_a,
            n_steps=n_steps,
            record_every=record_every,
        )
    key = check_key(key)
    params = _check_params(params)
    teacher_fn, teacher_coeffs = _teacher_fn(teacher)
    check_callable(activation, name="activation")
    lr_w = check_scalar(lr_w, name="lr_w", lower=0.0, lower_inclusive=False)
    lr_a = check_scalar(lr_a, name="lr_a", lower=0.0)
    batch_size = check_scalar(batch_size, name="batch_size", kind=int, lower=1)
    n_steps = check_scalar(n_steps, name="n_steps", kind=int, lower=1)
    record_every = check_scalar(record_every, name="record_every", kind=int, lower=1)
    if n_steps % record_every != 0:
        raise ValueError(
            f"record_every must divide n_steps (={n_steps}); got {record_every}."
        )
    noise_var = check_scalar(noise_var, name="noise_var", lower=0.0)
    check_on_divergence(on_divergence)
    dtype = check_float_dtype(dtype, name="dtype", default=params.W.dtype)
    d = params.W.shape[1]
    if theta is None:
        th = jnp.zeros(d, dtype).at[0].set(1.0)
    else:
        th = as_array(theta, name="theta", ndim=1, shape_hint="(d,)")
        if th.shape[0] != d:
            raise ValueError(f"theta must have shape ({d},); got {tuple(th.shape)}.")
        norm = float(jnp.linalg.norm(th))
        if norm == 0.0:
            raise ValueError(
                "theta must be nonzero (a direction); got the zero vector."
            )
        if abs(norm - 1.0) > 1e-6:
            warnings.warn(
                f"theta has norm {norm:.6g}, not 1; it is normalised.",
                UserWarning,
                stacklevel=2,
            )
        th = (th / norm).astype(dtype)
    p = TwoLayerParams(params.W.astype(dtype), params.a.astype(dtype))
    traj = _simulate(
        key,
        p,
        th,
        jnp.asarray(lr_w, dtype),
        jnp.asarray(lr_a, dtype),
        jnp.asarray(np.sqrt(noise_var), dtype),
        teacher_coeffs,
        teacher=teacher_fn,
        activation=activation,
        batch_size=batch_size,
        n_steps=n_steps,
        record_every=record_every,
        project=bool(project),
        store_neurons=bool(store_neurons),
    )
    return _sgd_policy(
        traj,
        on_divergence=on_divergence,
        lr_w=lr_w,
        lr_a=lr_a,
        n_steps=n_steps,
        record_every=record_every,
    )


def _sgd_policy(
    traj: SGDTrajectory,
    *,
    on_divergence: str,
    lr_w: float,
    lr_a: float,
    n_steps: int,
    record_every: int,
) -> SGDTrajectory:
    """The library's divergence policy for a run (or a batch of seeds)."""
    return handle_divergence(
        traj,
        on_divergence=on_divergence,  # type: ignore[arg-type]
        what="simulate_sgd",
        cause=(
            f"the step sizes lr_w = {float(lr_w):.4g}, lr_a = {float(lr_a):.4g} "
            "are beyond SGD's stability limit for this width, teacher and "
            "activation (use smaller step sizes)"
        ),
        record_every=record_every,
        dt=float(lr_w),
        n_steps=n_steps,
        n_records=n_steps // record_every + 1,
        step_name="SGD step",
        stacklevel=4,
    )


def to_problem(
    teacher: HermiteSeries,
    student: HermiteSeries,
    lr_w: float,
    lr_a: float,
    *,
    noise_var: float = 0.0,
) -> FastSlowProblem:
    """The fast–slow problem whose ODE the SGD run with these rates follows.

    Parameters
    ----------
    teacher : HermiteSeries
        Hermite series of the teacher link.
    student : HermiteSeries
        Hermite series of the student activation.
    lr_w : float
        First-layer learning rate, > 0.
    lr_a : float
        Second-layer learning rate, > 0.
    noise_var : float, default=0.0
        Label-noise variance, >= 0.

    Returns
    -------
    FastSlowProblem
        With ``eps = lr_a / lr_w``; the ODE time is ``step * lr_w``.

    Raises
    ------
    TypeError
        If a series is not a :class:`~mltheory.numerics.HermiteSeries`.
    ValueError
        If ``lr_w <= 0``, ``lr_a <= 0`` or ``noise_var < 0``.

    See Also
    --------
    simulate_sgd : The simulation.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> s = numerics.activation_series("tanh", 9)
    >>> print(float(tp.to_problem(s, s, 0.05, 0.005).eps))
    0.1
    """
    lr_w = check_scalar(lr_w, name="lr_w", lower=0.0, lower_inclusive=False)
    lr_a = check_scalar(lr_a, name="lr_a", lower=0.0, lower_inclusive=False)
    return FastSlowProblem(student, teacher, eps=lr_a / lr_w, noise_var=noise_var)


@pytree_dataclass
class WidthConvergence:
    r"""Finite-width SGD against the ODE for several widths.

    Parameters
    ----------
    widths : jax.Array of shape (W,)
        The widths n.
    error_m : jax.Array of shape (W,)
        Max over record times of :math:`|\\bar m_{SGD} - m_{ODE}|`, averaged
        over seeds.
    error_a : jax.Array of shape (W,)
        The same for the second-layer weight.
    t : jax.Array of shape (R,)
        Record times.
    m_ode : jax.Array of shape (R,)
        The ODE alignment at the record times.
    a_ode : jax.Array of shape (R,)
        The ODE second-layer weight.

    See Also
    --------
    width_convergence : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> wc = tp.WidthConvergence(jnp.array([8.0]), jnp.zeros(1), jnp.zeros(1),
    ...                          jnp.zeros(2), jnp.zeros(2), jnp.zeros(2))
    >>> wc.widths.shape
    (1,)
    """

    widths: Array
    error_m: Array
    error_a: Array
    t: Array
    m_ode: Array
    a_ode: Array


def width_convergence(
    key: KeyArray,
    teacher: HermiteSeries,
    student: HermiteSeries,
    activation: Callable[[Array], Array],
    widths: list[int] | tuple[int, ...],
    *,
    d: int,
    a0: float,
    lr_w: float,
    lr_a: float,
    batch_size: int,
    n_steps: int,
    record_every: int,
    n_seeds: int = 1,
    dtype: Any = None,
) -> WidthConvergence:
    r"""Error of finite-width SGD against the 2-D ODE as the width grows.

    For each width, ``n_seeds`` runs of :func:`simulate_sgd` from
    :func:`init_params` with constant :math:`a_j = a_0`; the ODE
    starts from the mean initial alignment of each run.

    Parameters
    ----------
    key : jax.Array
        PRNG key.
    teacher : HermiteSeries
        Teacher link.
    student : HermiteSeries
        Hermite series of ``activation`` (for the ODE).
    activation : callable
        Student activation (for the simulation).
    widths : sequence of int
        Widths, each >= 1.
    d : int
        Input dimension, >= 2.
    a0 : float
        Initial second-layer weight.
    lr_w : float
        First-layer learning rate, > 0.
    lr_a : float
        Second-layer learning rate, > 0.
    batch_size : int
        Batch size, >= 1.
    n_steps : int
        SGD steps, >= 1.
    record_every : int
        Record interval; divides ``n_steps``.
    n_seeds : int, default=1
        Independent runs per width, >= 1.
    dtype : dtype, optional
        Working dtype of the simulations.

    Returns
    -------
    WidthConvergence
        Errors per width and the ODE reference.

    Raises
    ------
    TypeError
        If a series is not a :class:`~mltheory.numerics.HermiteSeries`.
    ValueError
        If ``widths`` is empty or holds a width < 1, or for the bad inputs
        of :func:`simulate_sgd`.
    mltheory.exceptions.DivergenceError
        If a simulation (:func:`simulate_sgd`) or the ODE reference
        (:func:`~mltheory.dynamics.fast_slow.integrate`) diverges; the
        message names the run's first non-finite step.

    See Also
    --------
    simulate_sgd : One run.

    Notes
    -----
    The error falls with ``n`` to a floor set by ``d``, ``batch_size`` and
    ``lr_w`` (module docstring). One compilation per width.

    Examples
    --------
    >>> from mltheory import numerics
    >>> from mltheory.dynamics import tensor_programs as tp
    >>> s = numerics.activation_series("tanh", 7)
    >>> teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    >>> wc = tp.width_convergence(jax.random.key(0), teacher, s, jnp.tanh, [4, 32],
    ...                           d=16, a0=1.0, lr_w=0.05, lr_a=0.005,
    ...                           batch_size=256, n_steps=100, record_every=50)
    >>> wc.error_m.shape
    (2,)
    """
    key = check_key(key)
    problem = to_problem(teacher, student, lr_w, lr_a)
    if len(widths) == 0:
        raise ValueError("widths must not be empty; got an empty sequence.")
    widths = [check_scalar(w, name="widths[i]", kind=int, lower=1) for w in widths]
    n_seeds = check_scalar(n_seeds, name="n_seeds", kind=int, lower=1)
    n_steps = check_scalar(n_steps, name="n_steps", kind=int, lower=1)
    record_every = check_scalar(record_every, name="record_every", kind=int, lower=1)
    if n_steps % record_every != 0:
        raise ValueError(
            f"record_every must divide n_steps (={n_steps}); got {record_every}."
        )
    t_max = n_steps * lr_w
    n_rec = n_steps // record_every
    rk4_steps = max(n_rec, int(np.ceil(t_max / 0.01 / n_rec)) * n_rec)

    def run_ode(m0: float) -> tuple[Array, Array]:
        traj = integrate(
            problem,
            m0,
            a0,
            t_max,
            method="rk4",
            n_steps=rk4_steps,
            record_every=rk4_steps // n_rec,
        )
        return traj.m, traj.a

    err_m, err_a = [], []
    m_ref = a_ref = None
    for i, n in enumerate(progress(widths, desc="widths")):
        keys = jax.random.split(jax.random.fold_in(key, i), 2 * n_seeds)
        errs_m, errs_a = [], []
        for s in range(n_seeds):
            params = init_params(keys[2 * s], n, d, a0, dtype=dtype)
            traj = simulate_sgd(
                keys[2 * s + 1],
                params,
                teacher,
                activation,
                lr_w=lr_w,
                lr_a=lr_a,
                batch_size=batch_size,
                n_steps=n_steps,
                record_every=record_every,
                dtype=dtype,
            )
            m_ode, a_ode = run_ode(float(traj.m_mean[0]))
            m_ref, a_ref = m_ode, a_ode
            errs_m.append(float(jnp.max(jnp.abs(traj.m_mean - m_ode))))
            errs_a.append(float(jnp.max(jnp.abs(traj.a_mean - a_ode))))
        err_m.append(np.mean(errs_m))
        err_a.append(np.mean(errs_a))
    dt = jnp.result_type(float)
    t = jnp.arange(n_rec + 1, dtype=dt) * record_every * lr_w
    assert m_ref is not None
    assert a_ref is not None
    return WidthConvergence(
        jnp.asarray(widths, dt),
        jnp.asarray(err_m, dt),
        jnp.asarray(err_a, dt),
        t,
        m_ref,
        a_ref,
    )

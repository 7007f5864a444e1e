r"""The finite-d diagonal linear network on a time grid: the check of its DMFT.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import (
    check_key,
    check_on_divergence,
    check_scalar,
    is_traced,
)
from mltheory.dynamics._dmft_checks import _check_delta, _check_tau, _grid_steps
from mltheory.dynamics._dmft_dln import (
    _READOUTS,
    DLNModel,
    _check_dln,
    _factor_step,
    _init_state,
    _invariant,
)
from mltheory.numerics import (
    handle_divergence,
    scan_with_records,
    update_first_bad_step,
)

__all__: list[str] = []


@pytree_dataclass
class DLNTrajectory:
    r"""Recorded runs of a finite-d diagonal linear network (:func:`simulate_dln`).

    Every field but ``ts`` has a leading axis over the seeds.

    Parameters
    ----------
    ts : jax.Array of shape (n_records,)
        Record times.
    train_loss : jax.Array of shape (n_seeds, n_records)
        :math:`\frac1{2n}\|X\beta_t - y\|^2`.
    test_loss : jax.Array of shape (n_seeds, n_records)
        :math:`\frac12(\|\beta_t - \beta^*\|^2/d + \sigma^2)`, the population
        loss for :math:`x \sim N(0, I_d/d)`.
    beta : jax.Array of shape (n_seeds, n_records, d)
        The coefficients :math:`\beta_t` at the records.
    beta_star : jax.Array of shape (n_seeds, d)
        The teacher of each seed.
    conservation_error : jax.Array of shape (n_seeds, n_records)
        :math:`\max_j |I_j(t) - I_j(0)e^{-2\lambda t}|` for the invariant
        :math:`I = u^2 - v^2` (``"uv"``) or :math:`uv` (``"u2-v2"``): zero
        to rounding for the exponential scheme.
    first_bad_step : jax.Array of int32, shape (n_seeds,)
        First step whose state was non-finite, ``-1`` if none.

    See Also
    --------
    simulate_dln : Returns it.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DLNTrajectory
    >>> traj = DLNTrajectory(
    ...     ts=jnp.linspace(0.0, 1.0, 3), train_loss=jnp.ones((2, 3)),
    ...     test_loss=jnp.ones((2, 3)), beta=jnp.zeros((2, 3, 5)),
    ...     beta_star=jnp.zeros((2, 5)), conservation_error=jnp.zeros((2, 3)),
    ...     first_bad_step=jnp.asarray([-1, -1]))
    >>> traj.test_loss.shape, bool(traj.diverged)
    ((2, 3), False)
    """

    ts: Array
    train_loss: Array
    test_loss: Array
    beta: Array
    beta_star: Array
    conservation_error: Array
    first_bad_step: Array

    @property
    def diverged(self) -> Array:
        """Whether any seed became non-finite (a boolean array)."""
        return jnp.any(jnp.asarray(self.first_bad_step) >= 0)

    def _truncate_records(self, n_keep: int) -> DLNTrajectory:
        """The first ``n_keep`` records of every seed (the divergence policy)."""
        return dataclasses.replace(
            self,
            ts=self.ts[:n_keep],
            train_loss=self.train_loss[:, :n_keep],
            test_loss=self.test_loss[:, :n_keep],
            beta=self.beta[:, :n_keep],
            conservation_error=self.conservation_error[:, :n_keep],
        )

    def _record_leaves(self) -> tuple[Array, ...]:
        """The recorded values checked for NaN/inf by the divergence policy."""
        return (self.train_loss, self.test_loss, self.beta, self.conservation_error)

    def _summary_items(self) -> list[tuple[str, str]]:
        return [
            ("seeds", str(self.train_loss.shape[0])),
            ("t_max", f"{float(self.ts[-1]):.4g}"),
            ("test loss (mean, last)", f"{float(jnp.mean(self.test_loss[:, -1])):.4g}"),
        ]

    def plot(
        self,
        ax: Any = None,
        *,
        losses: tuple[str, ...] = ("train", "test"),
        label: str | None = "network",
        average: bool = True,
        logy: bool = False,
        color: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Plot the loss curves of the seeds (markers, a finite-size check).

        The conventions of :meth:`mltheory.optim.sgf.SGFTrajectory.plot`: train
        loss in the first house colour, test loss in the second, as
        :meth:`DMFTResult.plot` draws the theory, so ``res.plot(ax=ax);
        traj.plot(ax=ax)`` overlays them.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (a new figure if None).
        losses : tuple of {"train", "test"}, default=("train", "test")
            Which curves.
        label : str or None, default="network"
            Appended to the legend entries: ``"test loss (network)"``.
        average : bool, default=True
            The seed mean with a +-1 standard-error band (one curve per member
            of a batch stacked by :func:`jax.vmap`); ``False`` draws one curve
            per seed.
        logy : bool, default=False
            Logarithmic loss axis.
        color : str, optional
            One colour for all curves.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The axes.

        Raises
        ------
        ValueError
            If ``losses`` names an unknown curve.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from mltheory.dynamics.dmft import DLNTrajectory
        >>> traj = DLNTrajectory(
        ...     ts=jnp.linspace(0.0, 1.0, 3), train_loss=jnp.ones((2, 3)),
        ...     test_loss=jnp.full((2, 3), 2.0), beta=jnp.zeros((2, 3, 5)),
        ...     beta_star=jnp.zeros((2, 5)), conservation_error=jnp.zeros((2, 3)),
        ...     first_bad_step=jnp.asarray([-1, -1]))
        >>> ax = traj.plot()
        >>> ax.get_xlabel(), len(ax.get_lines())
        ('time t', 2)
        """
        from mltheory._src import _plotting as P

        available = {"train": self.train_loss, "test": self.test_loss}
        for name in losses:
            if name not in available:
                raise ValueError(
                    f"losses must name 'train' and/or 'test'; got {name!r}."
                )
        ts = P.as_numpy(self.ts, name="ts")
        curves: dict[str, Any] = {}
        for name in losses:
            y = P.as_numpy(available[name], name=f"{name}_loss")
            if average:  # mean over the seeds (axis -2), per batch member
                n_seeds = y.shape[-2]
                se = (
                    y.std(axis=-2, ddof=1) / np.sqrt(n_seeds)
                    if n_seeds > 1
                    else np.zeros_like(y[..., 0, :])
                )
                curves[f"{name} loss"] = (y.mean(axis=-2), se)
            else:
                curves[f"{name} loss"] = y
        # A batch of trajectories (stacked by jax.vmap) has one time row per
        # member: broadcast it to the curves' shape.
        first = next(iter(curves.values()))
        shape = np.shape(first[0] if isinstance(first, tuple) else first)
        x = ts
        if ts.ndim > 1:
            if len(shape) > ts.ndim:  # (*batch, n_seeds, n_records) curves
                x = np.expand_dims(ts, -2)
            x = np.broadcast_to(x, shape)
        ax = P.axes_or_new(ax)
        P.plot_named_curves(
            ax,
            x,
            curves,
            kind="simulation",
            label=label,
            colors=P.LOSS_COLORS,
            color=color,
            **kwargs,
        )
        return P.finish_axes(ax, xlabel="time t", ylabel="loss", logy=logy)


def _observe(
    parametrization: str, sigma: Array, ridge: Array
) -> Callable[[dict[str, Array]], tuple[Array, ...]]:
    readout = _READOUTS[parametrization]

    def observe(c: dict[str, Array]) -> tuple[Array, ...]:
        u, v = c["u"], c["v"]
        beta = readout(jnp.stack([u, v], axis=-1))[:, 0]
        train = 0.5 * jnp.mean(c["r"] ** 2)
        test = 0.5 * (jnp.mean((beta - c["star"]) ** 2) + sigma**2)
        inv = _invariant(parametrization, u, v)
        target = c["inv0"] * jnp.exp(-2.0 * ridge * c["t"])
        err = jnp.max(jnp.abs(inv - target))
        return train, test, beta, err

    return observe


@functools.partial(
    jax.jit,
    static_argnames=(
        "sampler",
        "parametrization",
        "v0",
        "scheme",
        "n",
        "d",
        "n_seeds",
        "record_every",
        "noisy",
    ),
)
def _simulate(
    key: KeyArray,
    alpha: Array,
    ridge: Array,
    sigma: Array,
    delta: Array,
    tau: Array,
    dts: Array,
    *,
    sampler: Callable[..., Any],
    parametrization: str,
    v0: str,
    scheme: str,
    n: int,
    d: int,
    n_seeds: int,
    record_every: int,
    noisy: bool,
) -> tuple[Array, ...]:
    dtype = dts.dtype
    readout = _READOUTS[parametrization]
    observe = _observe(parametrization, sigma, ridge)
    noise_scale = jnp.sqrt(tau / delta)

    def one(k: KeyArray) -> tuple[Array, ...]:
        kx, ks, ke, kn = jax.random.split(k, 4)
        X = jax.random.normal(kx, (n, d), dtype) / math.sqrt(d)
        star = jnp.asarray(sampler(ks, d), dtype)[:, 0]
        y = X @ star + sigma * jax.random.normal(ke, (n,), dtype)
        u0, w0 = _init_state(1.0, v0)
        u = jnp.full((d,), u0, dtype) * alpha
        v = jnp.full((d,), w0, dtype) * alpha
        beta = readout(jnp.stack([u, v], axis=-1))[:, 0]
        init = dict(
            u=u,
            v=v,
            r=X @ beta - y,
            t=jnp.zeros((), dtype),
            star=star,
            inv0=_invariant(parametrization, u, v),
            bad=jnp.full((), -1, jnp.int32),
        )

        def step(idx: Array, c: dict[str, Array]) -> dict[str, Array]:
            dt = dts[idx]
            weights = jnp.full((n,), 1.0, dtype) * (dt / delta)
            if noisy:
                xi = jax.random.normal(jax.random.fold_in(kn, idx), (n,), dtype)
                weights = weights - noise_scale * jnp.sqrt(dt) * xi
            # f = -X^T (r w) as a row-vector product: X streamed in its layout.
            f = -((c["r"] * weights) @ X)
            if scheme == "exponential":
                decay = jnp.exp(-ridge * dt)
            else:
                decay = 1.0 - ridge * dt
            u, v = _factor_step(parametrization, scheme, c["u"], c["v"], f, decay)
            beta = readout(jnp.stack([u, v], axis=-1))[:, 0]
            bad = update_first_bad_step(c["bad"], idx + 1, (u, v))
            return dict(c, u=u, v=v, r=X @ beta - y, t=c["t"] + dt, bad=bad)

        final, recs = scan_with_records(
            step,
            init,
            n_steps=dts.shape[0],
            record_every=record_every,
            observe=observe,
        )
        return (*recs, star, final["bad"])

    return jax.vmap(one)(jax.random.split(key, n_seeds))


def simulate_dln(
    model: DLNModel,
    *,
    delta: float,
    grid: Any,
    d: int,
    key: KeyArray,
    n_seeds: int = 1,
    tau: float = 0.0,
    record_every: int = 1,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> DLNTrajectory:
    r"""Train a finite-d diagonal linear network on fresh Gaussian data, on a grid.

    For each seed: :math:`X \in \mathbb{R}^{n \times d}` with rows
    :math:`N(0, I_d/d)`, :math:`n = \mathrm{round}(\delta d)`, teacher
    coordinates from the model's prior, :math:`y = X\beta^* +
    \sigma\varepsilon`, and the factors started at the model's initial scale
    and stepped with the model's scheme under the force :math:`f_k =
    -\Delta_k\,\delta^{-1}X^\top(X\beta_k - y)` (plus :math:`\sqrt{\tau /
    \delta}\,X^\top((X\beta_k - y)\odot\Delta B_k)`, :math:`\Delta B_k \sim
    N(0, \Delta_k I_n)`, for SGF). This is exactly the recursion whose
    :math:`d \to \infty` limit :func:`solve_dmft` computes on the same grid.
    Seeds are vmapped; one step costs two :math:`O(nd)` products.

    Parameters
    ----------
    model : DLNModel
        The network (see :func:`dln`).
    delta : float
        Aspect ratio :math:`n/d > 0`.
    grid : TimeGrid or array_like of shape (K+1,)
        A uniform grid, or increasing times from 0 (a non-uniform grid).
    d : int
        Dimension, at least 1 (at least a few hundred for the DMFT to apply).
    key : jax.Array
        PRNG key of the data, teachers and noise (same key, same runs).
    n_seeds : int, default=1
        Independent runs, vmapped.
    tau : float, default=0.0
        SGF temperature :math:`\tau \geq 0` (needs ``scheme="euler"`` when
        positive).
    record_every : int, default=1
        Record every this many steps; must divide the number of steps.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        What to do if a run becomes non-finite: raise
        :class:`~mltheory.exceptions.DivergenceError`, warn and keep the
        finite records, or return as is (``first_bad_step`` says where).

    Returns
    -------
    DLNTrajectory
        Loss curves, coefficients at the records, teachers, the error of the
        conserved quantity and the divergence flag, per seed.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`DLNModel`, ``key`` is not a PRNG key or
        ``grid`` is neither a grid nor an array of times.
    ValueError
        If ``delta <= 0``, ``tau < 0``, ``tau > 0`` with the exponential
        scheme, ``d < 1``, ``n_seeds < 1``, ``record_every`` does not divide
        the number of steps, the times are not increasing from 0, or
        ``on_divergence`` is unknown.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"`` if a run becomes non-finite (the step
        is beyond the stability limit, roughly :math:`2 / (\varphi_{\max}
        \lambda_{\max})`).

    See Also
    --------
    dln : The model.
    solve_dmft : The :math:`d \to \infty` limit of the same recursion.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> traj = dmft.simulate_dln(dmft.dln(alpha=0.01), delta=0.5,
    ...                          grid=TimeGrid(2.0, 10), d=100,
    ...                          key=jax.random.key(0), n_seeds=2)
    >>> traj.beta.shape, float(traj.conservation_error.max()) < 1e-12
    ((2, 11, 100), True)
    """
    model = _check_dln(model)
    delta = _check_delta(delta)
    tau = _check_tau(tau)
    key = check_key(key)
    ts, dts = _grid_steps(grid)
    d = check_scalar(d, name="d", kind=int, lower=1)
    n_seeds = check_scalar(n_seeds, name="n_seeds", kind=int, lower=1)
    record_every = check_scalar(record_every, name="record_every", kind=int, lower=1)
    check_on_divergence(on_divergence)
    n_steps = dts.shape[0]
    if n_steps % record_every != 0:
        raise ValueError(
            f"record_every must divide the number of steps (={n_steps}); got "
            f"{record_every}."
        )
    noisy = is_traced(tau) or tau > 0
    if noisy and model.scheme == "exponential" and not is_traced(tau):
        raise ValueError(
            f"tau = {tau} > 0 needs the Euler scheme: build the model with "
            "dln(..., scheme='euler') (the exponential step of a noisy force "
            "has a different small-step limit from SGD)."
        )
    n = max(1, round(delta * d)) if not is_traced(delta) else None
    if n is None:
        raise TypeError("simulate_dln needs a concrete delta (it sets n = delta d).")
    dtype = jnp.result_type(float)
    train, test, beta, err, star, bad = _simulate(
        key,
        jnp.asarray(model.alpha, dtype),
        jnp.asarray(model.ridge, dtype),
        jnp.asarray(model.sigma, dtype),
        jnp.asarray(delta, dtype),
        jnp.asarray(tau, dtype),
        jnp.asarray(dts, dtype),
        sampler=model.sample_theta_star,
        parametrization=model.parametrization,
        v0=model.v0,
        scheme=model.scheme,
        n=n,
        d=d,
        n_seeds=n_seeds,
        record_every=record_every,
        noisy=bool(noisy),
    )
    traj = DLNTrajectory(
        ts=jnp.asarray(ts[::record_every], dtype),
        train_loss=train,
        test_loss=test,
        beta=beta,
        beta_star=star,
        conservation_error=err,
        first_bad_step=bad,
    )
    uniform = bool(np.allclose(dts, dts[0]))
    return handle_divergence(
        traj,
        on_divergence=on_divergence,
        what="simulate_dln",
        cause=(
            "the step is beyond the stability limit of the factors' dynamics "
            "(about 2 / (phi_max * lambda_max): shrink the steps, above all for "
            "a large alpha)"
        ),
        record_every=record_every,
        dt=float(dts[0]) if uniform else None,
        n_steps=n_steps,
        stacklevel=3,
    )

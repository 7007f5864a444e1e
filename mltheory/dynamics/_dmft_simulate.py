"""Finite-size simulation of a DMFT model: the system the theory describes.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp

from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import (
    check_in,
    check_key,
    check_on_divergence,
    check_scalar,
)
from mltheory.dynamics._dmft_checks import (
    _check_callables,
    _check_delta,
    _check_grid,
    _check_model,
    _check_tau,
)
from mltheory.dynamics._dmft_solve import _test_curve
from mltheory.dynamics._dmft_types import SGFModel
from mltheory.numerics import TimeGrid, handle_divergence
from mltheory.optim.sgf import SGFTrajectory, simulate_sgd, simulate_sgf

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Finite-size simulation of a model
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=64)
def _latent_loss(model: SGFModel) -> Callable[[Array, Array], Array]:
    ks = model.k_star

    def loss(r: Array, z: Array) -> Array:
        return model.loss(r, z[:ks], z[ks])

    return loss


@functools.lru_cache(maxsize=64)
def _latent_dloss(model: SGFModel) -> Callable[[Array, Array], Array] | None:
    if model.dloss is None:
        return None
    ks = model.k_star
    dloss = model.dloss

    def ell(r: Array, z: Array) -> Array:
        return dloss(jnp.zeros((), r.dtype), r, z[:ks], z[ks])

    return ell


def simulate(
    model: SGFModel,
    *,
    delta: float,
    tau: float,
    grid: TimeGrid,
    d: int,
    key: KeyArray,
    n_seeds: int = 1,
    algorithm: Literal["sgf", "sgd"] = "sgf",
    batch_size: int = 1,
    sampling: Literal["with_replacement", "epoch_shuffle"] = "with_replacement",
    record_every: int = 1,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> SGFTrajectory:
    r"""Simulate the finite-size system a DMFT describes: data, teacher, SGF or SGD.

    Draws :math:`X` with rows :math:`N(0, I_d/d)`, :math:`n = \mathrm{round}(
    \delta d)`, teacher and initial rows from the model's priors, labels from
    the model's loss latent :math:`z_i = (\langle x_i, \theta^*\rangle,
    \varepsilon_i)`, and runs :func:`~mltheory.optim.sgf.simulate_sgf` on
    ``grid`` or :func:`~mltheory.optim.sgf.simulate_sgd` with learning rate
    :math:`\eta = \tau B` (so :math:`\eta/d` per step; the grid's record times
    must be whole numbers of steps). The test loss is the model's population
    loss at the simulated overlaps. Seeds are vmapped.

    Parameters
    ----------
    model : SGFModel
        The model (its ``dloss``, ``ridge`` and priors are used; a custom
        ``state_step`` is not simulated).
    delta : float
        Aspect ratio.
    tau : float
        Temperature (for SGD, ``lr = tau * batch_size``; must be > 0 then).
    grid : TimeGrid
        SGF time grid (and record times for SGD).
    d : int
        Dimension (at least 100 is recommended).
    key : jax.Array
        PRNG key of the data, teacher, initialisation and noise.
    n_seeds : int, default=1
        Independent runs (leading axis of every returned field).
    algorithm : {"sgf", "sgd"}, default="sgf"
        Euler–Maruyama SGF or mini-batch SGD.
    batch_size : int, default=1
        SGD batch size.
    sampling : {"with_replacement", "epoch_shuffle"}, default="with_replacement"
        SGD batch sampling (see :func:`~mltheory.optim.sgf.simulate_sgd`):
        with replacement is the SGD the DMFT describes; ``"epoch_shuffle"``
        (each sample once per epoch) is a contrast whose noise cancels over
        an epoch, so its loss curves miss the DMFT's. (Changed default:
        earlier versions used ``"epoch_shuffle"``.)
    record_every : int, default=1
        Record every this many grid steps.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        If a seed's parameters become NaN/inf: raise
        :class:`~mltheory.exceptions.DivergenceError` naming the seed and the
        first bad step, warn :class:`~mltheory.exceptions.DivergenceWarning`
        and return the records before the earliest bad step (all seeds), or
        return the trajectories as they are, with ``first_bad_step`` per seed
        (see :func:`mltheory.numerics.handle_divergence`).

    Returns
    -------
    SGFTrajectory
        Fields with a leading ``n_seeds`` axis; ``test_loss`` filled.

    Raises
    ------
    TypeError
        If ``model``, ``grid`` or ``key`` has the wrong type.
    ValueError
        If ``delta``/``tau`` are invalid, ``d < 1``, ``n_seeds < 1``,
        ``algorithm``, ``sampling`` or ``on_divergence`` is unknown, the model
        has a custom ``state_step``, or (SGD) ``tau = 0`` or the grid step is
        not a whole number of SGD steps.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"``, if a seed's parameters became
        non-finite.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"``, if a seed's parameters became
        non-finite.

    See Also
    --------
    solve_dmft : The theory of this system.
    mltheory.optim.sgf.simulate_sgf : The simulator underneath.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid, handle_divergence
    >>> traj = dmft.simulate(dmft.glm("square", noise_std=0.5), delta=2.0,
    ...                      tau=0.0, grid=TimeGrid(2.0, 20), d=1000,
    ...                      key=jax.random.key(0), n_seeds=8, record_every=5)
    >>> traj.train_loss.shape
    (8, 5)
    """
    model = _check_model(model)
    delta = _check_delta(delta)
    tau = _check_tau(tau)
    grid = _check_grid(grid)
    key = check_key(key)
    d = check_scalar(d, name="d", kind=int, lower=1)
    n_seeds = check_scalar(n_seeds, name="n_seeds", kind=int, lower=1)
    check_in(algorithm, name="algorithm", options=("sgf", "sgd"))
    check_in(sampling, name="sampling", options=("with_replacement", "epoch_shuffle"))
    check_on_divergence(on_divergence)
    if model.state_step is not None:
        raise ValueError(
            "simulate supports models without a custom state_step; got "
            f"{model.name!r} with state_step set."
        )
    _check_callables(model)
    n = max(1, round(delta * d))
    ks = model.k_star
    loss = _latent_loss(model)
    dloss = _latent_dloss(model)
    reg = None
    if model.reg_grad is not None:
        reg = _row_reg(model)
    if algorithm == "sgd":
        if tau <= 0:
            raise ValueError(f"tau must be > 0 for SGD (lr = tau * B); got {tau}.")
        lr = tau * batch_size
        steps_per_dt = grid.dt * d / lr
        if abs(steps_per_dt - round(steps_per_dt)) > 1e-9 or round(steps_per_dt) < 1:
            raise ValueError(
                f"grid.dt * d / lr must be a whole number of SGD steps; got "
                f"{steps_per_dt} (dt = {grid.dt}, d = {d}, lr = {lr})."
            )
        sgd_every = round(steps_per_dt) * record_every

    def one(k: KeyArray) -> SGFTrajectory:
        kx, ks_, k0, ke, kn = jax.random.split(k, 5)
        X = jax.random.normal(kx, (n, d)) / math.sqrt(d)
        star = jnp.asarray(model.sample_theta_star(ks_, d))
        theta0 = jnp.asarray(model.sample_theta0(k0, d))
        eps = jax.random.normal(ke, (n, 1), X.dtype)
        z = jnp.concatenate([X @ star, eps], axis=1)
        if algorithm == "sgf":
            return simulate_sgf(
                kn,
                X,
                z,
                theta0,
                loss=loss,
                dloss=dloss,
                tau=tau,
                grid=grid,
                ridge=model.ridge,
                reg_grad=reg,
                record_every=record_every,
                theta_star=star,
                on_divergence="flag",
            )
        return simulate_sgd(
            kn,
            X,
            z,
            theta0,
            loss=loss,
            dloss=dloss,
            lr=lr,
            batch_size=batch_size,
            n_steps=sgd_every * (grid.n_steps // record_every),
            ridge=model.ridge,
            reg_grad=reg,
            sampling=sampling,
            record_every=sgd_every,
            theta_star=star,
            on_divergence="flag",
        )

    with warnings.catch_warnings():
        # d is validated above; the per-seed simulators would repeat the warning.
        warnings.simplefilter("ignore", UserWarning)
        traj = jax.vmap(one)(jax.random.split(key, n_seeds))
    rho = jnp.full((ks, ks), jnp.nan)
    test = _simulated_test_loss(model, traj, d, key, rho)
    traj = dataclasses.replace(traj, test_loss=test)
    step: dict[str, Any]
    if algorithm == "sgf":
        step = dict(record_every=record_every, dt=grid.dt, n_steps=grid.n_steps)
        cause = (
            f"the SGF step dt = {grid.dt:.4g} is beyond the stability limit of "
            "Euler-Maruyama for this model at this size (use more grid steps)"
        )
    else:
        step = dict(
            record_every=sgd_every,
            dt=lr / d,
            n_steps=sgd_every * (grid.n_steps // record_every),
            step_name="SGD step",
        )
        cause = (
            f"the SGD learning rate lr = tau * batch_size = {lr:.4g} is beyond "
            "SGD's stability limit for this model (use a smaller tau)"
        )
    return handle_divergence(
        traj,
        on_divergence=on_divergence,
        what=f"dmft.simulate(algorithm={algorithm!r})",
        cause=cause,
        member_label=lambda i: f"seed {i[0]} of {n_seeds}",
        stacklevel=3,
        **step,
    )


@functools.lru_cache(maxsize=64)
def _row_reg(model: SGFModel) -> Callable[[Array], Array]:
    reg = model.reg_grad
    assert reg is not None

    def h(row: Array) -> Array:
        return reg(jnp.zeros((), row.dtype), row)

    return h


def _simulated_test_loss(
    model: SGFModel, traj: SGFTrajectory, d: int, key: KeyArray, rho: Array
) -> Array:
    """Population loss at the simulated overlaps (teacher norm from theta_star)."""
    assert traj.teacher_overlaps is not None
    # rho is the teacher's own overlap; recompute it from the same draws.
    ks = model.k_star

    def teacher_rho(k: KeyArray) -> Array:
        star = jnp.asarray(model.sample_theta_star(jax.random.split(k, 5)[1], d))
        return star.T @ star / d

    rhos = jax.vmap(teacher_rho)(jax.random.split(key, traj.train_loss.shape[0]))
    rhos = rhos.reshape(-1, ks, ks)
    return _simulated_curves(traj.overlaps, traj.teacher_overlaps, rhos, model=model)


@functools.partial(jax.jit, static_argnames=("model",))
def _simulated_curves(q: Array, m: Array, rhos: Array, *, model: SGFModel) -> Array:
    return jax.vmap(lambda qq, mm, r: _test_curve(model, qq, mm, r))(q, m, rhos)

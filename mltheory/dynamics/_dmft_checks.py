"""Validation of DMFT inputs at the public boundary (private)."""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._validation import (
    as_numpy,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.dynamics import _dmft_solver
from mltheory.dynamics._dmft_types import SGFModel
from mltheory.numerics import TimeGrid

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _check_model(model: Any) -> SGFModel:
    if not isinstance(model, SGFModel):
        raise TypeError(
            f"model must be an SGFModel (see glm, two_layer); got {describe(model)}."
        )
    return model


def _check_delta(delta: Any) -> Any:
    if is_traced(delta):
        return delta
    try:
        value = check_scalar(delta, name="delta")
    except ValueError as err:
        raise ValueError(
            f"delta must be a positive finite n/d ratio; got {delta!r}."
        ) from err
    if value <= 0:
        raise ValueError(f"delta must be a positive finite n/d ratio; got {value}.")
    return value


def _check_tau(tau: Any) -> Any:
    if is_traced(tau):
        return tau
    value = check_scalar(tau, name="tau")
    if value < 0:
        raise ValueError(f"tau (=lr/batch) must be >= 0; got {value}.")
    return value


def _check_grid(grid: Any) -> TimeGrid:
    if not isinstance(grid, TimeGrid):
        raise TypeError(
            "grid must be a uniform mltheory.numerics.TimeGrid (t_max > 0, "
            f"n_steps >= 1); got {describe(grid)}."
        )
    if grid.t0 != 0.0:
        raise ValueError(f"grid must start at t0 = 0; got t0 = {grid.t0}.")
    return grid


def _grid_steps(grid: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(ts, dts)`` of a TimeGrid from 0, or of increasing times from 0.

    A non-uniform grid is a 1-D array of at least two finite times, the first
    0, strictly increasing; ``dts`` are its K increments.
    """
    if isinstance(grid, TimeGrid):
        grid = _check_grid(grid)
        ts = np.linspace(0.0, grid.t_max, grid.n_steps + 1)
        return ts, np.full(grid.n_steps, grid.dt)
    if is_traced(grid):
        raise TypeError(
            "grid must be concrete (a TimeGrid or an array of times), not traced."
        )
    if isinstance(grid, str) or not hasattr(grid, "__len__"):
        raise TypeError(
            "grid must be a mltheory.numerics.TimeGrid or a 1-D array of "
            f"increasing times starting at 0; got {describe(grid)}."
        )
    ts = as_numpy(grid, name="grid", ndim=1).astype(float)
    if ts.shape[0] < 2:
        raise ValueError(
            f"grid as times must hold at least 2 times; got shape {ts.shape}."
        )
    if ts[0] != 0.0:
        raise ValueError(f"grid as times must start at 0; got ts[0] = {ts[0]}.")
    dts = np.diff(ts)
    if not (dts > 0).all():
        i = int(np.argmax(dts <= 0))
        raise ValueError(
            f"grid as times must be strictly increasing; got ts[{i}] = {ts[i]} >= "
            f"ts[{i + 1}] = {ts[i + 1]}."
        )
    return ts, dts


# model -> dtypes it passed _check_callables in; weak, so that the cache keeps
# no user closure alive. The abstract traces cost ~15 ms a call, as much as a
# small solve.
_CHECKED: weakref.WeakKeyDictionary[SGFModel, set[Any]] = weakref.WeakKeyDictionary()


def _check_callables(model: SGFModel) -> None:
    """Trace every callable once (no FLOPs) and compare output shapes."""
    dtype = jnp.result_type(float)
    try:
        if dtype in _CHECKED.get(model, ()):
            return
    except TypeError:  # an unhashable field: check every time
        _trace_callables(model, dtype)
        return
    _trace_callables(model, dtype)
    _CHECKED.setdefault(model, set()).add(dtype)


def _trace_callables(model: SGFModel, dtype: Any) -> None:
    k, ks = model.k, model.k_star
    r = jax.ShapeDtypeStruct((k,), dtype)
    rs = jax.ShapeDtypeStruct((ks,), dtype)
    e = jax.ShapeDtypeStruct((), dtype)
    t = jax.ShapeDtypeStruct((), dtype)
    try:
        out = jax.eval_shape(model.loss, r, rs, e)
    except TypeError as err:
        raise TypeError(
            f"the model's loss cannot be traced by JAX ({err}); write it with "
            "jax.numpy, or give dloss(t, r, r_star, eps) explicitly."
        ) from err
    if tuple(out.shape) != ():
        raise ValueError(
            f"loss(r, r_star, eps) must return a scalar; got shape {tuple(out.shape)}."
        )
    try:
        ell = jax.eval_shape(_dmft_solver.ell_function(model), t, r, rs, e)
    except TypeError as err:
        raise TypeError(
            "the model's loss is not differentiable under JAX "
            f"({err}); give dloss(t, r, r_star, eps) explicitly."
        ) from err
    if tuple(ell.shape) != (k,):
        raise ValueError(
            f"dloss (ell) must return shape ({k},) = (k,); got shape "
            f"{tuple(ell.shape)}."
        )
    key = jax.random.key(0)
    star = jax.eval_shape(lambda kk: model.sample_theta_star(kk, 3), key)
    if tuple(star.shape) != (3, ks):
        raise ValueError(
            f"sample_theta_star(key, n) must return shape (n, k_star) = (3, {ks}); "
            f"got shape {tuple(star.shape)}."
        )
    init = jax.eval_shape(lambda kk: model.sample_theta0(kk, 3), key)
    if model.state_step is None and tuple(init.shape) != (3, k):
        raise ValueError(
            f"sample_theta0(key, n) must return shape (n, k) = (3, {k}); got "
            f"shape {tuple(init.shape)}."
        )
    if model.linear_noise_std is not None:
        _check_linear_loss(model, dtype)
    if model.reg_grad is not None:
        h = jax.eval_shape(model.reg_grad, t, r)
        if tuple(h.shape) != (k,):
            raise ValueError(
                f"reg_grad(t, theta_row) must return shape ({k},); got shape "
                f"{tuple(h.shape)}."
            )


def _check_linear_loss(model: SGFModel, dtype: Any) -> None:
    """The loss must be 0.5 (r - r* - sigma eps)^2 when linear_noise_std is set."""
    sigma = float(model.linear_noise_std)  # type: ignore[arg-type]
    points = np.asarray(
        [[0.3, -1.2, 0.7], [-2.0, 0.5, -1.5], [1.1, 1.1, 0.0]], dtype=float
    )
    for r, rs, e in points:
        got = float(
            model.loss(
                jnp.full((1,), r, dtype),
                jnp.full((1,), rs, dtype),
                jnp.asarray(e, dtype),
            )
        )
        want = 0.5 * (r - rs - sigma * e) ** 2
        tol = 1e3 * float(jnp.finfo(dtype).eps) * max(1.0, abs(want))
        if not abs(got - want) <= tol:
            raise ValueError(
                "linear_noise_std declares the loss 0.5 * (r - r_star - "
                f"{sigma} * eps)^2, but loss({r}, {rs}, {e}) = {got:.6g} (expected "
                f"{want:.6g}); leave linear_noise_std unset for other losses."
            )


def _warn_stability(model: SGFModel, tau: Any) -> None:
    if is_traced(tau) or model.curvature is None:
        return
    if tau * model.curvature > 2.0:
        warnings.warn(
            f"tau * sup(d ell / d r) = {tau * model.curvature:.3g} > 2: SGF may "
            "diverge; DMFT existence only guaranteed on a short horizon for "
            "tau>0 with nonlinear loss.",
            UserWarning,
            stacklevel=3,
        )

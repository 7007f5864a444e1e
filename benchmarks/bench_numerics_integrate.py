"""Benchmarks for mltheory.numerics' fixed-step integrators.

* ``rk4_vmap_1000_vs_solve_ivp``: a damped pendulum x'' + g x' + w^2 sin x = 0
  for 1,000 parameter pairs (g, w) (200 with ``--quick``), ours = one jitted
  ``vmap`` of :func:`mltheory.numerics.solve_ode` (RK4, dt = 0.01 over T = 10,
  global error ~1e-9), baseline = a Python loop of ``scipy.integrate.solve_ivp``
  (RK45, rtol=1e-9, atol=1e-12, which reaches a similar ~1e-8 accuracy).
  ``check``: final states agree to 1e-5 relative (1e-7 absolute).
* ``sde_em_vs_diffrax``: Euler-Maruyama on an Ornstein-Uhlenbeck process
  dX = -theta X dt + s dW, 10,000 paths x 1,000 steps (2,000 x 200 with
  ``--quick``), ours = vmapped :func:`mltheory.numerics.solve_sde` with a key
  per path, baseline = vmapped ``diffrax.diffeqsolve`` with ``Euler`` and an
  ``UnsafeBrownianPath`` (same step count). The two use different random
  streams, so ``check`` compares them in distribution: both sample means are
  within 4 standard errors of the exact Euler-Maruyama mean x0 (1 - theta h)^n
  and of each other, and the variances agree within 4 standard errors.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from mltheory.numerics import TimeGrid, solve_ode, solve_sde

# --------------------------------------------------------------------------- #
# RK4 vmapped over parameters vs a loop of solve_ivp
# --------------------------------------------------------------------------- #

T_MAX = 10.0
N_STEPS = 1000  # dt = 0.01


def _pendulum(t, y, params):
    damping, omega = params
    return jnp.stack([y[1], -damping * y[1] - omega**2 * jnp.sin(y[0])])


def _rk4_setup(quick: bool):
    rng = np.random.default_rng(0)
    n = 200 if quick else 1000
    damping = rng.uniform(0.1, 0.5, n)
    omega = rng.uniform(0.5, 2.0, n)
    y0 = np.array([1.0, 0.0])
    grid = TimeGrid(T_MAX, N_STEPS)
    one = lambda d, w: solve_ode(
        _pendulum, jnp.asarray(y0), grid=grid, args=(d, w), record_every=N_STEPS
    ).ys[-1]
    ours = jax.jit(jax.vmap(one))
    return {"damping": damping, "omega": omega, "y0": y0, "ours": ours}


def _rk4_baseline(inputs):
    finals = []
    for d, w in zip(inputs["damping"], inputs["omega"], strict=True):
        rhs = lambda t, y, d=d, w=w: [y[1], -d * y[1] - w * w * math.sin(y[0])]
        sol = scipy.integrate.solve_ivp(
            rhs, (0.0, T_MAX), inputs["y0"], method="RK45", rtol=1e-9, atol=1e-12
        )
        finals.append(sol.y[:, -1])
    return np.stack(finals)


def _rk4_ours(inputs):
    return inputs["ours"](jnp.asarray(inputs["damping"]), jnp.asarray(inputs["omega"]))


def _rk4_check(baseline, ours):
    np.testing.assert_allclose(np.asarray(ours), baseline, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- #
# Euler-Maruyama vs diffrax
# --------------------------------------------------------------------------- #

THETA, SIGMA, X0, SDE_T = 1.0, 0.5, 1.0, 1.0
_SDE_SIZE = {}  # set by setup, read by check (check only sees the results)


def _ou_drift(t, x, args):
    return -THETA * x


def _ou_noise(t, x, args, dw):
    return SIGMA * dw


def _sde_setup(quick: bool):
    n_paths, n_steps = (2000, 200) if quick else (10_000, 1000)
    _SDE_SIZE["n_steps"] = n_steps
    keys = jax.random.split(jax.random.key(0), n_paths)
    grid = TimeGrid(SDE_T, n_steps)
    one = lambda k: solve_sde(
        _ou_drift, _ou_noise, jnp.asarray([X0]), grid=grid, key=k, record_every=n_steps
    ).ys[-1, 0]
    inputs = {"keys": keys, "n_steps": n_steps, "ours": jax.jit(jax.vmap(one))}
    try:
        import diffrax
    except ImportError:  # pragma: no cover - the case is dropped below
        return inputs

    def diffrax_one(key):
        brownian = diffrax.UnsafeBrownianPath(shape=(1,), key=key)
        terms = diffrax.MultiTerm(
            diffrax.ODETerm(lambda t, y, args: -THETA * y),
            diffrax.ControlTerm(lambda t, y, args: SIGMA * jnp.eye(1), brownian),
        )
        sol = diffrax.diffeqsolve(
            terms,
            diffrax.Euler(),
            t0=0.0,
            t1=SDE_T,
            dt0=SDE_T / n_steps,
            y0=jnp.asarray([X0]),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=n_steps + 1,
            adjoint=diffrax.ForwardMode(),
        )
        return sol.ys[-1, 0]

    inputs["diffrax"] = jax.jit(jax.vmap(diffrax_one))
    return inputs


def _sde_baseline(inputs):
    return inputs["diffrax"](inputs["keys"])


def _sde_ours(inputs):
    return inputs["ours"](inputs["keys"])


def _sde_check(baseline, ours):
    base, mine = np.asarray(baseline), np.asarray(ours)
    n = base.size
    # EM's mean of the linear OU recursion is exact: x0 (1 - theta h)^n.
    n_steps = _SDE_SIZE["n_steps"]
    em_mean = X0 * (1 - THETA * SDE_T / n_steps) ** n_steps
    se = lambda x: x.std() / np.sqrt(x.size)
    assert abs(mine.mean() - em_mean) < 4 * se(mine), (mine.mean(), em_mean)
    assert abs(base.mean() - em_mean) < 4 * se(base), (base.mean(), em_mean)
    assert abs(mine.mean() - base.mean()) < 4 * np.hypot(se(mine), se(base))
    # sd of a sample variance of a Gaussian is var * sqrt(2 / n).
    var_se = np.hypot(mine.var(), base.var()) * np.sqrt(2 / n)
    assert abs(mine.var() - base.var()) < 4 * var_se


CASES = {
    "rk4_vmap_1000_vs_solve_ivp": (_rk4_setup, _rk4_baseline, _rk4_ours, _rk4_check),
}

try:
    import diffrax  # noqa: F401

    CASES["sde_em_vs_diffrax"] = (_sde_setup, _sde_baseline, _sde_ours, _sde_check)
except ImportError:  # pragma: no cover
    pass

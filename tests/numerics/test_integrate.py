"""Specification of mltheory.numerics' integrators: grids, steppers, stiff hand-off.

Each reference is independent of the code under test: closed-form solutions,
textbook one-step formulas, NumPy loops, SciPy's expm, closed-form SDE moments
and exact Monte Carlo tolerances (4 standard errors).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

from mltheory.exceptions import DivergenceError
from mltheory.numerics import (
    TimeGrid,
    Trajectory,
    brownian_increments,
    solve_ode,
    solve_ode_stiff,
    solve_sde,
)
from mltheory.numerics import _integrate as integrate_module

# --------------------------------------------------------------------------- #
# Shared vector fields (module level, so jit caches them across tests)
# --------------------------------------------------------------------------- #


def rotation(t, y, args):
    return {"x": y["v"], "v": -y["x"]}


def growth_cos(t, y, args):
    """y' = cos(t) y, exact y(t) = y(t0) exp(sin t - sin t0)."""
    return jnp.cos(t) * y


def decay(t, y, rate):
    return -rate * y


def zero_drift(t, y, args):
    return jnp.zeros_like(y)


def unit_noise(t, y, args, dw):
    return dw


def gbm_drift(t, x, p):
    return p[0] * x


def gbm_diffusion(t, x, p, dw):
    return p[1] * x * dw


def benes_drift(t, x, args):
    return jnp.tanh(x)


def additive_noise(t, x, args, dw):
    return dw


def ou_noise(t, x, s, dw):
    return s * dw


# --------------------------------------------------------------------------- #
# TimeGrid and Trajectory
# --------------------------------------------------------------------------- #


def test_time_grid_dt_ts_and_record_times():
    grid = TimeGrid(3.0, 6, t0=1.0)
    assert grid.dt == pytest.approx(1.0 / 3.0)
    np.testing.assert_allclose(grid.ts, 1.0 + np.arange(7) / 3.0, rtol=1e-15)
    assert grid.ts[-1] == 3.0
    np.testing.assert_allclose(grid.record_times(3), [1.0, 2.0, 3.0], rtol=1e-15)


def test_time_grid_is_hashable_and_usable_in_jit_both_ways():
    """Equal grids hash equal; a grid works as a static jit argument and as a pytree."""
    grid = TimeGrid(1.0, 4)
    assert grid == TimeGrid(1, 4.0) and hash(grid) == hash(TimeGrid(1.0, 4))
    assert jax.tree_util.tree_leaves(grid) == []
    static = jax.jit(lambda g: g.ts, static_argnums=0)(grid)
    traced = jax.jit(lambda g: g.ts)(grid)
    np.testing.assert_array_equal(static, traced)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"t_max": 1.0, "n_steps": 10, "t0": 1.0}, ValueError, "t_max must be > t0"),
        ({"t_max": -1.0, "n_steps": 10}, ValueError, "t_max must be > t0"),
        ({"t_max": 1.0, "n_steps": 0}, ValueError, "n_steps must be >= 1"),
        ({"t_max": float("nan"), "n_steps": 10}, ValueError, "t_max must be finite"),
        ({"t_max": 1.0, "n_steps": 10, "t0": -np.inf}, ValueError, "t0 must be finite"),
        ({"t_max": 1.0, "n_steps": 2.5}, TypeError, "n_steps must be an integer"),
        ({"t_max": "1", "n_steps": 10}, TypeError, "t_max must be a real number"),
    ],
)
def test_time_grid_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        TimeGrid(**kwargs)


@pytest.mark.parametrize(
    ("record_every", "match"),
    [
        (0, "record_every must be >= 1"),
        (3, r"record_every must divide n_steps \(=10\)"),
    ],
)
def test_record_times_rejects_bad_record_every(record_every, match):
    with pytest.raises(ValueError, match=match):
        TimeGrid(1.0, 10).record_times(record_every)


def test_trajectory_is_a_pytree_that_round_trips_through_jit():
    traj = Trajectory(ts=jnp.linspace(0.0, 1.0, 3), ys={"a": jnp.ones((3, 2))})
    leaves, treedef = jax.tree_util.tree_flatten(traj)
    assert len(leaves) == 3  # ts, ys["a"] and first_bad_step
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(back, Trajectory)
    doubled = jax.jit(lambda tr: jax.tree_util.tree_map(lambda x: 2 * x, tr))(traj)
    np.testing.assert_array_equal(doubled.ys["a"], 2 * np.ones((3, 2)))
    np.testing.assert_array_equal(doubled.ts, 2 * traj.ts)


# --------------------------------------------------------------------------- #
# solve_ode: accuracy
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("method", "order", "n_steps"),
    [
        ("euler", 1, (50, 100, 200, 400)),
        ("heun", 2, (20, 40, 80, 160)),
        ("rk4", 4, (10, 20, 40, 80)),
    ],
)
def test_solve_ode_measured_order_on_rotation(method, order, n_steps):
    """Global error at T = 3 of x'' = -x (dict state) vs cos/sin: slope = order."""
    t_max = 3.0
    errors = []
    for n in n_steps:
        y0 = {"x": jnp.asarray(1.0), "v": jnp.asarray(0.0)}
        ys = solve_ode(rotation, y0, grid=TimeGrid(t_max, n), method=method).ys
        errors.append(
            np.hypot(
                float(ys["x"][-1]) - np.cos(t_max), float(ys["v"][-1]) + np.sin(t_max)
            )
        )
    slope = np.polyfit(np.log(t_max / np.array(n_steps)), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.2, (slope, errors)


def test_solve_ode_one_step_matches_textbook_formulas():
    """One step of y' = cos(t) y from t0 = 0.5 is the textbook Euler/Heun/RK4 step."""
    t0, h, y0 = 0.5, 0.3, 1.7
    f = lambda t, y: np.cos(t) * y
    k1 = f(t0, y0)
    expected = {"euler": y0 + h * k1}
    expected["heun"] = y0 + h / 2 * (k1 + f(t0 + h, y0 + h * k1))
    k2 = f(t0 + h / 2, y0 + h / 2 * k1)
    k3 = f(t0 + h / 2, y0 + h / 2 * k2)
    k4 = f(t0 + h, y0 + h * k3)
    expected["rk4"] = y0 + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    grid = TimeGrid(t0 + h, 1, t0=t0)
    for method, want in expected.items():
        ys = solve_ode(growth_cos, jnp.asarray(y0), grid=grid, method=method).ys
        assert float(ys[1]) == pytest.approx(want, rel=1e-14), method


def test_solve_ode_rk4_non_autonomous_closed_form():
    """y' = cos(t) y on [0.5, 2.5]: RK4 within 1e-9 of exp(sin t - sin t0)."""
    grid = TimeGrid(2.5, 160, t0=0.5)
    traj = solve_ode(growth_cos, jnp.asarray([1.0, -2.0]), grid=grid, record_every=40)
    exact = np.exp(np.sin(np.asarray(traj.ts)) - np.sin(0.5))[:, None] * np.array(
        [1.0, -2.0]
    )
    np.testing.assert_allclose(traj.ys, exact, atol=1e-9)


def test_solve_ode_is_differentiable_in_args():
    """d/d(rate) of y(T) for y' = -rate y is -T exp(-rate T)."""
    grid = TimeGrid(1.0, 40)
    final = lambda rate: solve_ode(decay, jnp.asarray(1.0), grid=grid, args=rate).ys[-1]
    assert float(jax.grad(final)(0.7)) == pytest.approx(-np.exp(-0.7), rel=1e-6)


# --------------------------------------------------------------------------- #
# solve_ode: records, observe, transformations, dtypes
# --------------------------------------------------------------------------- #


def test_solve_ode_records_every_r_steps_starting_with_y0():
    grid = TimeGrid(2.0, 20)
    y0 = jnp.asarray([1.0, 2.0])
    full = solve_ode(decay, y0, grid=grid, args=1.3)
    sparse = solve_ode(decay, y0, grid=grid, args=1.3, record_every=5)
    assert full.ys.shape == (21, 2) and sparse.ys.shape == (5, 2)
    np.testing.assert_array_equal(sparse.ys[0], y0)
    np.testing.assert_allclose(sparse.ys, full.ys[::5], rtol=1e-14)
    np.testing.assert_allclose(sparse.ts, grid.record_times(5), rtol=1e-15)


def test_solve_ode_observe_records_only_the_observation():
    grid = TimeGrid(2.0, 20)
    y0 = {"x": jnp.asarray(1.0), "v": jnp.asarray(0.0)}
    energy = lambda t, y: {"t": t, "e": y["x"] ** 2 + y["v"] ** 2}
    traj = solve_ode(rotation, y0, grid=grid, record_every=4, observe=energy)
    full = solve_ode(rotation, y0, grid=grid)
    assert set(traj.ys) == {"t", "e"} and traj.ys["e"].shape == (6,)
    np.testing.assert_allclose(traj.ys["t"], traj.ts, rtol=1e-14)
    want = full.ys["x"][::4] ** 2 + full.ys["v"][::4] ** 2
    np.testing.assert_allclose(traj.ys["e"], want, rtol=1e-14)


def test_solve_ode_jit_equals_eager():
    grid = TimeGrid(1.0, 8)
    y0 = jnp.asarray([1.0, 0.5])
    compiled = solve_ode(decay, y0, grid=grid, args=0.9, method="heun")
    with jax.disable_jit():
        eager = solve_ode(decay, y0, grid=grid, args=0.9, method="heun")
    np.testing.assert_allclose(eager.ys, compiled.ys, rtol=1e-14)
    inside = jax.jit(
        lambda y, a: solve_ode(decay, y, grid=grid, args=a, method="heun").ys
    )(y0, 0.9)
    np.testing.assert_allclose(inside, compiled.ys, rtol=1e-14)


def test_solve_ode_vmap_over_args_and_y0_equals_loop():
    grid = TimeGrid(1.0, 10)
    rates = jnp.asarray([0.1, 0.5, 2.0])
    y0s = jnp.asarray([[1.0], [2.0], [-1.0]])
    batched = jax.vmap(lambda y, r: solve_ode(decay, y, grid=grid, args=r).ys)(
        y0s, rates
    )
    looped = [solve_ode(decay, y0s[i], grid=grid, args=rates[i]).ys for i in range(3)]
    np.testing.assert_allclose(batched, np.stack(looped), rtol=1e-14)


def test_solve_ode_preserves_float32():
    traj = solve_ode(growth_cos, jnp.ones(3, dtype=jnp.float32), grid=TimeGrid(1.0, 10))
    assert traj.ys.dtype == jnp.float32 and traj.ts.dtype == jnp.float32
    np.testing.assert_allclose(traj.ys[-1], np.exp(np.sin(1.0)), rtol=1e-5)


# --------------------------------------------------------------------------- #
# solve_ode: bad inputs
# --------------------------------------------------------------------------- #


def test_solve_ode_rejects_bad_inputs():
    grid = TimeGrid(1.0, 10)
    y0 = jnp.ones(2)
    with pytest.raises(TypeError, match="vector_field must be callable"):
        solve_ode("f", y0, grid=grid)
    with pytest.raises(TypeError, match="grid must be a TimeGrid"):
        solve_ode(decay, y0, grid=(1.0, 10), args=1.0)
    with pytest.raises(
        ValueError, match="method must be one of 'euler', 'heun', 'rk4'"
    ):
        solve_ode(decay, y0, grid=grid, method="rk45", args=1.0)
    with pytest.raises(ValueError, match=r"y0 must be finite; got 1 non-finite"):
        solve_ode(decay, jnp.asarray([1.0, jnp.nan]), grid=grid, args=1.0)
    with pytest.raises(ValueError, match=r"y0\['v'\] must be finite"):
        solve_ode(rotation, {"x": 1.0, "v": np.inf}, grid=grid)
    with pytest.raises(ValueError, match="record_every must be >= 1"):
        solve_ode(decay, y0, grid=grid, args=1.0, record_every=0)
    with pytest.raises(
        ValueError, match=r"record_every must divide n_steps \(=10\); got 3"
    ):
        solve_ode(decay, y0, grid=grid, args=1.0, record_every=3)
    with pytest.raises(TypeError, match="observe must be callable"):
        solve_ode(decay, y0, grid=grid, args=1.0, observe=1)
    with pytest.raises(ValueError, match="args must be finite"):
        solve_ode(decay, y0, grid=grid, args=np.nan)
    with pytest.raises(TypeError, match=r"args\[1\] must be an array or a number"):
        solve_ode(decay, y0, grid=grid, args=(1.0, "fast"))
    with pytest.raises(ValueError, match=r"vector_field\(t, y, args\) must return"):
        solve_ode(lambda t, y, a: y[:1], y0, grid=grid)
    with pytest.raises(ValueError, match="y0 must be an array or a pytree"):
        solve_ode(decay, {}, grid=grid, args=1.0)


def test_output_check_is_cached_per_signature_but_sees_a_new_shape():
    """The shape check remembers (function, argument shapes), not the function alone."""
    grid = TimeGrid(1.0, 4)

    def first_two(t, y, args):
        return -y[:2]

    solve_ode(first_two, jnp.ones(2), grid=grid)
    solve_ode(first_two, jnp.ones(2), grid=grid)  # answered from the cache
    with pytest.raises(
        ValueError, match=r"shapes \[\(3,\)\]\); got .*shapes \[\(2,\)\]"
    ):
        solve_ode(first_two, jnp.ones(3), grid=grid)


# --------------------------------------------------------------------------- #
# Brownian increments
# --------------------------------------------------------------------------- #


def test_brownian_increments_are_standard_normal_scaled_by_sqrt_dt(key):
    """Mean 0 and variance dt, within 4 standard errors of the sample moments."""
    grid = TimeGrid(2.0, 50)
    dw = brownian_increments(key, grid=grid, shape=(200,))
    assert dw.shape == (50, 200) and dw.dtype == jnp.float64
    n = dw.size
    # sd of the sample mean is sqrt(dt/n); of the sample variance dt*sqrt(2/n).
    assert abs(float(dw.mean())) < 4 * np.sqrt(grid.dt / n)
    assert abs(float(dw.var()) - grid.dt) < 4 * grid.dt * np.sqrt(2 / n)
    # Distinct steps use distinct keys: neighbouring rows are uncorrelated.
    corr = np.corrcoef(np.asarray(dw[:-1]).ravel(), np.asarray(dw[1:]).ravel())[0, 1]
    assert abs(corr) < 4 / np.sqrt(dw[1:].size)


def test_brownian_increments_float32_and_int_shape(key):
    dw = brownian_increments(key, grid=TimeGrid(1.0, 4), shape=3, dtype=jnp.float32)
    assert dw.shape == (4, 3) and dw.dtype == jnp.float32


def test_solve_sde_uses_exactly_brownian_increments(key):
    """With drift 0 and diffusion dW the states are partial sums of the increments."""
    grid = TimeGrid(1.0, 12)
    dw = brownian_increments(key, grid=grid, shape=(3,))
    traj = solve_sde(zero_drift, unit_noise, jnp.zeros(3), grid=grid, key=key)
    np.testing.assert_allclose(np.diff(traj.ys, axis=0), dw, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        traj.ys[1:], np.cumsum(dw, axis=0), rtol=1e-12, atol=1e-15
    )
    given = solve_sde(zero_drift, unit_noise, jnp.zeros(3), grid=grid, increments=dw)
    # Same draws; only XLA's fusion of sqrt(dt) * z into the update may differ (1 ulp).
    np.testing.assert_allclose(given.ys, traj.ys, rtol=1e-14, atol=1e-15)


def test_solve_sde_draws_in_chunks_are_the_same_draws(key, monkeypatch):
    """Steps draw their noise a chunk at a time; the draws are those of
    brownian_increments whatever the chunk (here 2 steps within records of 6)."""
    monkeypatch.setattr(integrate_module, "_DRAW_CHUNK_ELEMENTS", 10)
    assert integrate_module._draw_chunk(6, 5) == 2
    grid = TimeGrid(1.0, 18)  # a grid no other test uses: a fresh trace
    dw = brownian_increments(key, grid=grid, shape=(5,))
    traj = solve_sde(
        zero_drift, unit_noise, jnp.zeros(5), grid=grid, key=key, record_every=6
    )
    np.testing.assert_allclose(
        traj.ys[1:], np.cumsum(dw, axis=0)[5::6], rtol=1e-12, atol=1e-14
    )


def test_solve_sde_noise_in_its_own_space(key):
    """State in R^d, noise in R^n: diffusion X^T dW gives y_T = X^T W_T (no d x d)."""
    grid = TimeGrid(1.0, 10)
    x = jax.random.normal(jax.random.key(1), (7, 3))
    traj = solve_sde(
        zero_drift,
        lambda t, y, X, dw: X.T @ dw,
        jnp.zeros(3),
        grid=grid,
        key=key,
        noise_shape=(7,),
        args=x,
    )
    w_t = brownian_increments(key, grid=grid, shape=(7,)).sum(axis=0)
    np.testing.assert_allclose(traj.ys[-1], x.T @ w_t, rtol=1e-12)


def test_brownian_increments_rejects_bad_inputs(key):
    grid = TimeGrid(1.0, 4)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        brownian_increments(0, grid=grid, shape=(2,))
    with pytest.raises(TypeError, match="shape must be a tuple of positive ints"):
        brownian_increments(key, grid=grid, shape=(2, 0))
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        brownian_increments(key, grid=grid, shape=(2,), dtype=jnp.int32)
    with pytest.raises(TypeError, match="grid must be a TimeGrid"):
        brownian_increments(key, grid=None, shape=(2,))


# --------------------------------------------------------------------------- #
# solve_sde: convergence orders and schemes
# --------------------------------------------------------------------------- #


def test_solve_sde_one_step_matches_scheme_formulas():
    """One step from t0 = 0.5 with f = sin t - y^2, g dW = (1 + t) y dW, A = -3."""
    t0, h, y0, dw = 0.5, 0.2, 0.8, 0.37
    f = lambda t, y: np.sin(t) - y**2
    noise = (1 + t0) * y0 * dw
    expected = {
        "euler_maruyama": y0 + h * f(t0, y0) + noise,
        "drift_implicit_em": (y0 + h * f(t0, y0) + noise) / (1 + 3 * h),
        "heun_drift": y0
        + h / 2 * (f(t0, y0) + f(t0 + h, y0 + h * f(t0, y0) + noise))
        + noise,
    }
    grid = TimeGrid(t0 + h, 1, t0=t0)
    drift = lambda t, y, args: jnp.sin(t) - y**2
    diffusion = lambda t, y, args, dw: (1 + t) * y * dw
    for method, want in expected.items():
        ys = solve_sde(
            drift,
            diffusion,
            jnp.asarray(y0),
            grid=grid,
            increments=jnp.asarray([dw]),
            method=method,
            linear_part=-3.0 if method == "drift_implicit_em" else None,
        ).ys
        assert float(ys[1]) == pytest.approx(want, rel=1e-14), method


def _coarsened_gbm_finals(dw_fine, n_steps, t_max, mu, sigma, method="euler_maruyama"):
    """EM finals of GBM on n_steps coarse steps of the same fine paths (summed dW)."""
    n_paths, n_fine = dw_fine.shape
    coarse = dw_fine.reshape(n_paths, n_steps, n_fine // n_steps).sum(axis=-1)
    grid = TimeGrid(t_max, n_steps)
    run = lambda inc: solve_sde(
        gbm_drift,
        gbm_diffusion,
        jnp.asarray(1.0),
        grid=grid,
        increments=inc,
        args=(mu, sigma),
        method=method,
        record_every=n_steps,
    ).ys[-1]
    return jax.vmap(run)(coarse)


def test_euler_maruyama_strong_order_half_on_gbm():
    """E|X_T^h - X_T|, X_T = exp((mu - s^2/2) T + s W_T) on the same path: slope 0.5."""
    mu, sigma, t_max, n_paths, n_fine = 1.5, 1.0, 1.0, 2000, 256
    keys = jax.random.split(jax.random.key(11), n_paths)
    fine = TimeGrid(t_max, n_fine)
    dw = jax.vmap(lambda k: brownian_increments(k, grid=fine, shape=()))(keys)
    exact = jnp.exp((mu - sigma**2 / 2) * t_max + sigma * dw.sum(axis=1))
    n_steps = np.array([16, 32, 64, 128, 256])
    errors = [
        float(jnp.mean(jnp.abs(_coarsened_gbm_finals(dw, n, t_max, mu, sigma) - exact)))
        for n in n_steps
    ]
    slope = np.polyfit(np.log(t_max / n_steps), np.log(errors), 1)[0]
    assert abs(slope - 0.5) < 0.1, (slope, errors)


def test_euler_maruyama_weak_order_one_on_gbm():
    """Weak error of E[X_T] for GBM has slope 1; the EM mean is exactly (1 + mu h)^n.

    Monte Carlo: the weak error is estimated as mean(X_T^h - X_T) with the exact
    X_T built from the same Brownian path (common random numbers). Its standard
    error is that of the *strong* error, sd(X_T^h - X_T)/sqrt(M) <~ 3e-3 here,
    well below the smallest bias (~0.05 at h = 1/64), so the slope is set by
    the bias, not by noise. E[X_T] = exp(mu T) exactly.
    """
    mu, sigma, t_max, n_paths, n_fine = 1.0, 0.5, 1.0, 4000, 64
    keys = jax.random.split(jax.random.key(12), n_paths)
    fine = TimeGrid(t_max, n_fine)
    dw = jax.vmap(lambda k: brownian_increments(k, grid=fine, shape=()))(keys)
    exact = jnp.exp((mu - sigma**2 / 2) * t_max + sigma * dw.sum(axis=1))
    n_steps = np.array([8, 16, 32, 64])
    weak_errors = []
    for n in n_steps:
        finals = _coarsened_gbm_finals(dw, n, t_max, mu, sigma)
        diff = finals - exact
        weak_errors.append(float(diff.mean()))
        # The EM recursion's mean is (1 + mu h)^n exactly; 4 standard errors.
        em_mean = (1 + mu * t_max / n) ** n
        assert abs(float(finals.mean()) - em_mean) < 4 * float(finals.std()) / np.sqrt(
            n_paths
        )
        assert 4 * float(diff.std()) / np.sqrt(n_paths) < 0.3 * abs(weak_errors[-1])
    slope = np.polyfit(np.log(t_max / n_steps), np.log(np.abs(weak_errors)), 1)[0]
    assert abs(slope - 1.0) < 0.2, (slope, weak_errors)


def test_drift_implicit_em_is_stable_and_has_the_schemes_stationary_variance():
    """OU dy = -lam y dt + s dW, dt*lam = 5 > 2: EM explodes, drift-implicit EM not.

    Drift-implicit EM: y+ = (y + s dW)/(1 + lam dt), so its stationary variance
    solves V (1 + lam dt)^2 = V + s^2 dt, i.e. V = s^2 / (lam (2 + lam dt)),
    not the exact s^2 / (2 lam). After 40 steps the start (y0 = 1, contracted
    by 6^-40) is forgotten. Tolerances are 4 standard errors of the sample mean
    sqrt(V/M) and sample variance V sqrt(2/M).
    """
    lam, s, n_paths = 50.0, 1.0, 4000
    grid = TimeGrid(4.0, 40)
    assert grid.dt * lam == pytest.approx(5.0)
    keys = jax.random.split(jax.random.key(13), n_paths)

    def final(key, method, linear_part, drift):
        return solve_sde(
            drift,
            ou_noise,
            jnp.asarray(1.0),
            grid=grid,
            key=key,
            args=s,
            method=method,
            linear_part=linear_part,
            record_every=40,
        ).ys[-1]

    explicit = final(keys[0], "euler_maruyama", None, lambda t, y, a: -lam * y)
    assert not abs(float(explicit)) < 1e10  # |1 - lam dt|^40 = 4^40 growth
    finals = jax.vmap(lambda k: final(k, "drift_implicit_em", -lam, zero_drift))(keys)
    var_scheme = s**2 / (lam * (2 + lam * grid.dt))
    assert abs(float(finals.mean())) < 4 * np.sqrt(var_scheme / n_paths)
    assert abs(float(finals.var()) - var_scheme) < 4 * var_scheme * np.sqrt(2 / n_paths)
    assert abs(float(finals.var()) - s**2 / (2 * lam)) > 0.5 * var_scheme


def test_drift_implicit_em_matrix_matches_a_numpy_loop(key):
    """Non-normal 2x2 A, nonlinear f: y+ = solve(I - dt A, y + dt f(t, y) + s dW)."""
    a = np.array([[-30.0, 5.0], [0.0, -80.0]])
    grid = TimeGrid(1.0, 20, t0=0.25)
    drift = lambda t, y, args: jnp.sin(y + t)
    noise = lambda t, y, args, dw: 0.3 * dw
    dw = brownian_increments(key, grid=grid, shape=(2,))
    traj = solve_sde(
        drift,
        noise,
        jnp.asarray([1.0, -0.5]),
        grid=grid,
        increments=dw,
        method="drift_implicit_em",
        linear_part=a,
    )
    y = np.array([1.0, -0.5])
    system = np.eye(2) - grid.dt * a
    for n in range(grid.n_steps):
        t = 0.25 + n * grid.dt
        y = np.linalg.solve(
            system, y + grid.dt * np.sin(y + t) + 0.3 * np.asarray(dw[n])
        )
    np.testing.assert_allclose(traj.ys[-1], y, rtol=1e-12)


def test_drift_implicit_em_scalar_diagonal_and_matrix_forms_agree(key):
    """A = -4 I as a float, a diagonal and a matrix, on a (3, 2) state (first axis)."""
    grid = TimeGrid(1.0, 10)
    y0 = jnp.arange(6.0).reshape(3, 2)
    drift = lambda t, y, a: jnp.cos(y)
    noise = lambda t, y, a, dw: 0.5 * dw
    dw = brownian_increments(key, grid=grid, shape=(3, 2))
    run = lambda lin: (
        solve_sde(
            drift,
            noise,
            y0,
            grid=grid,
            increments=dw,
            method="drift_implicit_em",
            linear_part=lin,
        ).ys
    )
    scalar = run(-4.0)
    np.testing.assert_allclose(run(-4.0 * jnp.ones(3)), scalar, rtol=1e-13)
    np.testing.assert_allclose(run(-4.0 * jnp.eye(3)), scalar, rtol=1e-13)
    # A genuinely diagonal A acts row-wise on the first axis.
    diag = jnp.asarray([-1.0, -2.0, -3.0])
    np.testing.assert_allclose(run(diag), run(jnp.diag(diag)), rtol=1e-13)


def test_heun_drift_weak_order_on_benes_sde_beats_euler_maruyama():
    """Benes SDE dX = tanh(X) dt + dW (nonlinear drift, additive noise), X0 = 1/2.

    Closed form: E[X_T] = x0 + T tanh x0 and E[X_T^2] = x0^2 + T^2 + T + 2 x0 T tanh x0.
    A fine Heun-drift solution (64 steps) is checked against these within 4
    standard errors; each coarse weak error of E[X_T^2] is then measured against
    that fine solution on the same paths (common random numbers, so the noise,
    sd(X_h^2 - X_ref^2)/sqrt(M) < 2e-3, is small next to the bias). Heun-drift
    is the Kloeden-Platen weak order-2 scheme for additive noise; EM is order 1.
    """
    x0, t_max, n_paths, n_fine = 0.5, 1.0, 10000, 64
    keys = jax.random.split(jax.random.key(14), n_paths)
    dw = jax.vmap(
        lambda k: brownian_increments(k, grid=TimeGrid(t_max, n_fine), shape=())
    )(keys)

    def finals(n, method):
        coarse = dw.reshape(n_paths, n, n_fine // n).sum(axis=-1)
        run = lambda inc: solve_sde(
            benes_drift,
            additive_noise,
            jnp.asarray(x0),
            grid=TimeGrid(t_max, n),
            increments=inc,
            method=method,
            record_every=n,
        ).ys[-1]
        return jax.vmap(run)(coarse)

    ref = finals(n_fine, "heun_drift")
    mean, second = (
        x0 + t_max * np.tanh(x0),
        x0**2 + t_max**2 + t_max + 2 * x0 * t_max * np.tanh(x0),
    )
    assert abs(float(ref.mean()) - mean) < 4 * float(ref.std()) / np.sqrt(n_paths)
    assert abs(float((ref**2).mean()) - second) < 4 * float((ref**2).std()) / np.sqrt(
        n_paths
    )

    n_steps = np.array([2, 4, 8])
    errors = {}
    for method in ("euler_maruyama", "heun_drift"):
        errors[method] = np.array(
            [abs(float((finals(n, method) ** 2 - ref**2).mean())) for n in n_steps]
        )
    slope = lambda e: np.polyfit(np.log(t_max / n_steps), np.log(e), 1)[0]
    assert abs(slope(errors["euler_maruyama"]) - 1.0) < 0.2, errors
    assert slope(errors["heun_drift"]) > 1.7, errors
    assert np.all(errors["heun_drift"] < 0.25 * errors["euler_maruyama"]), errors


# --------------------------------------------------------------------------- #
# solve_sde: keys, records, transformations, pytrees, dtypes
# --------------------------------------------------------------------------- #


def test_solve_sde_same_key_same_path_different_keys_differ():
    grid = TimeGrid(1.0, 10)
    run = lambda k: (
        solve_sde(
            gbm_drift, gbm_diffusion, jnp.ones(2), grid=grid, key=k, args=(0.1, 0.3)
        ).ys
    )
    a, b, c = run(jax.random.key(1)), run(jax.random.key(1)), run(jax.random.key(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[1:], c[1:])
    # A raw uint32[2] key is accepted as well.
    assert run(jax.random.PRNGKey(1)).shape == (11, 2)


def test_solve_sde_record_every_does_not_change_the_path(key):
    grid = TimeGrid(1.0, 20)
    kwargs = dict(grid=grid, key=key, args=(0.2, 0.5), method="heun_drift")
    full = solve_sde(gbm_drift, gbm_diffusion, jnp.ones(2), **kwargs)
    sparse = solve_sde(gbm_drift, gbm_diffusion, jnp.ones(2), record_every=5, **kwargs)
    np.testing.assert_allclose(sparse.ys, full.ys[::5], rtol=1e-14)
    observed = solve_sde(
        gbm_drift,
        gbm_diffusion,
        jnp.ones(2),
        record_every=10,
        observe=lambda t, y: jnp.sum(y),
        **kwargs,
    )
    np.testing.assert_allclose(observed.ys, full.ys[::10].sum(axis=1), rtol=1e-14)


def test_solve_sde_vmap_over_keys_equals_loop():
    grid = TimeGrid(1.0, 10)
    keys = jax.random.split(jax.random.key(5), 4)
    run = lambda k: (
        solve_sde(
            gbm_drift, gbm_diffusion, jnp.ones(2), grid=grid, key=k, args=(0.2, 0.5)
        ).ys
    )
    np.testing.assert_allclose(
        jax.vmap(run)(keys), np.stack([run(k) for k in keys]), rtol=1e-14
    )


def test_solve_sde_vmap_over_args_equals_loop(key):
    grid = TimeGrid(1.0, 10)
    params = (jnp.asarray([0.1, 0.5, -0.3]), jnp.asarray([0.2, 0.4, 0.1]))
    run = lambda mu, sig: (
        solve_sde(
            gbm_drift, gbm_diffusion, jnp.ones(2), grid=grid, key=key, args=(mu, sig)
        ).ys
    )
    batched = jax.vmap(run)(*params)
    looped = np.stack([run(params[0][i], params[1][i]) for i in range(3)])
    np.testing.assert_allclose(batched, looped, rtol=1e-14)


def test_solve_sde_jit_equals_eager(key):
    """Compiled == op-by-op (increments given: eager threefry would be slow)."""
    grid = TimeGrid(1.0, 4)
    dw = brownian_increments(key, grid=grid, shape=(2,))
    kwargs = dict(grid=grid, increments=dw, args=(0.2, 0.5), method="heun_drift")
    compiled = solve_sde(gbm_drift, gbm_diffusion, jnp.ones(2), **kwargs)
    with jax.disable_jit():
        eager = solve_sde(gbm_drift, gbm_diffusion, jnp.ones(2), **kwargs)
    np.testing.assert_allclose(eager.ys, compiled.ys, rtol=1e-13)


def test_solve_sde_works_inside_a_user_jit(key):
    """Traced y0 and key: value checks are skipped, the result is unchanged."""
    grid = TimeGrid(1.0, 4)
    run = lambda y, k: (
        solve_sde(gbm_drift, gbm_diffusion, y, grid=grid, key=k, args=(0.2, 0.5)).ys
    )
    np.testing.assert_allclose(
        jax.jit(run)(jnp.ones(2), key), run(jnp.ones(2), key), rtol=1e-13
    )


def test_solve_sde_pytree_state_with_scalar_linear_part(key):
    """Dict state, noise (2,) shared by both leaves; drift-implicit EM, A = -2 I."""
    grid = TimeGrid(0.5, 5)
    y0 = {"a": jnp.asarray([1.0, 2.0]), "b": jnp.asarray(3.0)}
    noise = lambda t, y, args, dw: {"a": dw, "b": dw.sum()}
    dw = np.asarray(brownian_increments(key, grid=grid, shape=(2,)))
    traj = solve_sde(
        lambda t, y, args: {"a": jnp.zeros(2), "b": jnp.asarray(1.0)},
        noise,
        y0,
        grid=grid,
        increments=dw,
        method="drift_implicit_em",
        linear_part=-2.0,
    )
    a, b = np.array([1.0, 2.0]), 3.0
    for n in range(5):
        a = (a + dw[n]) / (1 + 2 * grid.dt)
        b = (b + grid.dt + dw[n].sum()) / (1 + 2 * grid.dt)
    np.testing.assert_allclose(traj.ys["a"][-1], a, rtol=1e-13)
    assert float(traj.ys["b"][-1]) == pytest.approx(b, rel=1e-13)


@pytest.mark.parametrize(
    "method", ["euler_maruyama", "drift_implicit_em", "heun_drift"]
)
def test_solve_sde_preserves_float32(key, method):
    grid = TimeGrid(1.0, 10)
    lin = -1.0 if method == "drift_implicit_em" else None
    traj = solve_sde(
        gbm_drift,
        gbm_diffusion,
        jnp.ones(2, dtype=jnp.float32),
        grid=grid,
        key=key,
        args=(0.1, 0.2),
        method=method,
        linear_part=lin,
    )
    assert traj.ys.dtype == jnp.float32 and traj.ts.dtype == jnp.float32
    if method != "euler_maruyama":
        return
    dw32 = brownian_increments(key, grid=grid, shape=(2,), dtype=jnp.float32)
    again = solve_sde(
        gbm_drift,
        gbm_diffusion,
        jnp.ones(2, dtype=jnp.float32),
        grid=grid,
        increments=dw32,
        args=(0.1, 0.2),
        method=method,
        linear_part=lin,
    )
    np.testing.assert_allclose(again.ys, traj.ys, rtol=1e-6)


# --------------------------------------------------------------------------- #
# solve_sde: bad inputs
# --------------------------------------------------------------------------- #


def test_solve_sde_rejects_bad_inputs(key):
    grid = TimeGrid(1.0, 10)
    y0 = jnp.ones(2)
    call = lambda **kw: solve_sde(
        zero_drift, unit_noise, kw.pop("y0", y0), grid=kw.pop("grid", grid), **kw
    )
    with pytest.raises(
        ValueError, match=r"Exactly one of key and increments .* got both"
    ):
        call(key=key, increments=jnp.zeros((10, 2)))
    with pytest.raises(
        ValueError, match=r"Exactly one of key and increments .* got neither"
    ):
        call()
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        call(key=0)
    with pytest.raises(
        ValueError, match=r"increments must have shape .* \(10, 2\); got shape \(9, 2\)"
    ):
        call(increments=jnp.zeros((9, 2)))
    with pytest.raises(
        ValueError,
        match=r"increments must have shape .* \(10, 3\); got shape \(10, 2\)",
    ):
        call(increments=jnp.zeros((10, 2)), noise_shape=(3,))
    with pytest.raises(ValueError, match="increments must be finite"):
        call(increments=jnp.full((10, 2), jnp.nan))
    with pytest.raises(ValueError, match="noise_shape is required when y0 is a pytree"):
        call(y0={"a": jnp.ones(2)}, key=key)
    with pytest.raises(TypeError, match="noise_shape must be a tuple of positive ints"):
        call(key=key, noise_shape="n")
    with pytest.raises(
        ValueError,
        match="method must be one of 'euler_maruyama', 'drift_implicit_em', "
        "'heun_drift'",
    ):
        call(key=key, method="milstein")
    with pytest.raises(
        ValueError, match="linear_part is only used by method='drift_implicit_em'"
    ):
        call(key=key, linear_part=-1.0)
    with pytest.raises(ValueError, match="linear_part is required"):
        call(key=key, method="drift_implicit_em")
    with pytest.raises(
        ValueError, match=r"linear_part must be a scalar, a diagonal of shape \(2,\)"
    ):
        call(key=key, method="drift_implicit_em", linear_part=jnp.ones(3))
    with pytest.raises(
        ValueError,
        match=r"linear_part must be a scalar, a diagonal .* got shape \(2, 3\)",
    ):
        call(key=key, method="drift_implicit_em", linear_part=jnp.ones((2, 3)))
    with pytest.raises(
        ValueError, match="linear_part must be a scalar when y0 is a pytree"
    ):
        call(
            y0={"a": y0},
            key=key,
            noise_shape=2,
            method="drift_implicit_em",
            linear_part=jnp.ones(2),
        )
    with pytest.raises(ValueError, match="I - dt \\* linear_part invertible"):
        call(key=key, method="drift_implicit_em", linear_part=10.0)  # 1 - 0.1 * 10 = 0
    with pytest.raises(ValueError, match="linear_part must be finite"):
        call(key=key, method="drift_implicit_em", linear_part=np.nan)
    with pytest.raises(TypeError, match="drift must be callable"):
        solve_sde(None, unit_noise, y0, grid=grid, key=key)
    with pytest.raises(TypeError, match="diffusion must be callable"):
        solve_sde(zero_drift, 3.0, y0, grid=grid, key=key)
    with pytest.raises(ValueError, match="y0 must be finite"):
        call(y0=jnp.asarray([1.0, np.inf]), key=key)
    with pytest.raises(
        ValueError, match=r"record_every must divide n_steps \(=10\); got 4"
    ):
        call(key=key, record_every=4)
    with pytest.raises(ValueError, match=r"diffusion\(t, y, args, dw\) must return"):
        solve_sde(
            zero_drift, lambda t, y, a, dw: dw, y0, grid=grid, key=key, noise_shape=(3,)
        )
    with pytest.raises(ValueError, match=r"drift\(t, y, args\) must return"):
        solve_sde(lambda t, y, a: y.sum(), unit_noise, y0, grid=grid, key=key)


# --------------------------------------------------------------------------- #
# solve_ode_stiff
# --------------------------------------------------------------------------- #


def prothero_robinson(t, y, lam):
    return -lam * (y - jnp.sin(t)) + jnp.cos(t)


def linear_dict_field(t, y, mat):
    return {
        "u": mat[0, 0] * y["u"] + mat[0, 1] * y["w"],
        "w": mat[1, 0] * y["u"] + mat[1, 1] * y["w"],
    }


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_solve_ode_stiff_linear_system_matches_expm(method):
    """Dict state, linear system with eigenvalues -1 and -1e4: y(t) = expm(A t) y0."""
    a = np.array([[-1.0, 0.0], [9999.0, -1e4]]) @ np.array([[1.0, 0.5], [0.0, 1.0]])
    ts = np.array([0.0, 0.01, 0.5, 2.0])
    traj = solve_ode_stiff(
        linear_dict_field,
        {"u": 1.0, "w": -1.0},
        ts=ts,
        method=method,
        args=jnp.asarray(a),
    )
    exact = np.stack([scipy.linalg.expm(a * t) @ np.array([1.0, -1.0]) for t in ts])
    np.testing.assert_allclose(traj.ts, ts)
    np.testing.assert_allclose(traj.ys["u"], exact[:, 0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(traj.ys["w"], exact[:, 1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_solve_ode_stiff_is_a_faithful_hand_off_to_solve_ivp(method):
    """Prothero-Robinson, lam = 1e6: same as solve_ivp on a NumPy RHS and Jacobian.

    (SciPy's Radau is known to be ~6e-4 off sin t here at rtol=1e-8 - order
    reduction on this problem - so the reference is SciPy itself; BDF and
    LSODA are also checked against the exact y = sin t.)
    """
    lam, ts = 1e6, np.linspace(0.0, 3.0, 7)
    traj = solve_ode_stiff(
        prothero_robinson, jnp.zeros(()), ts=ts, method=method, args=lam
    )
    ref = scipy.integrate.solve_ivp(
        lambda t, y: -lam * (y - np.sin(t)) + np.cos(t),
        (0.0, 3.0),
        [0.0],
        method=method,
        t_eval=ts,
        rtol=1e-8,
        atol=1e-10,
        jac=lambda t, y: [[-lam]],
    )
    np.testing.assert_allclose(traj.ys, ref.y[0], rtol=1e-9, atol=1e-12)
    if method != "Radau":
        np.testing.assert_allclose(traj.ys, np.sin(ts), atol=1e-7)


def robertson(t, y, args):
    y1, y2, y3 = y["y1"], y["y2"], y["y3"]
    return {
        "y1": -0.04 * y1 + 1e4 * y2 * y3,
        "y2": 0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2**2,
        "y3": 3e7 * y2**2,
    }


def test_solve_ode_stiff_robertson_matches_published_reference():
    """Robertson's kinetics at t = 40 vs the reference values in Hairer & Wanner."""
    y0 = {"y1": 1.0, "y2": 0.0, "y3": 0.0}
    traj = solve_ode_stiff(robertson, y0, ts=[0.0, 40.0], rtol=1e-10, atol=1e-14)
    assert float(traj.ys["y1"][-1]) == pytest.approx(0.7158270687193685, rel=1e-8)
    assert float(traj.ys["y2"][-1]) == pytest.approx(9.185534764557e-06, rel=1e-6)
    assert float(traj.ys["y3"][-1]) == pytest.approx(0.2841637457452, rel=1e-8)


def test_solve_ode_stiff_raises_divergence_error_on_blow_up():
    """y' = y^2, y(0) = 1 blows up at t = 1: no silent garbage past it."""
    with pytest.raises(DivergenceError, match=r"Radau failed before t = 2\.0"):
        solve_ode_stiff(lambda t, y, a: y**2, jnp.ones(()), ts=[0.0, 0.5, 2.0])


def test_solve_ode_stiff_preserves_float32():
    traj = solve_ode_stiff(
        prothero_robinson, jnp.zeros((), jnp.float32), ts=[0.0, 1.0], args=1e3
    )
    assert traj.ys.dtype == jnp.float32 and traj.ts.dtype == jnp.float32
    assert float(traj.ys[-1]) == pytest.approx(np.sin(1.0), rel=1e-6)


def test_solve_ode_stiff_rejects_bad_inputs():
    ts = [0.0, 1.0]
    with pytest.raises(TypeError, match="vector_field must be callable"):
        solve_ode_stiff(None, jnp.ones(()), ts=ts)
    with pytest.raises(
        ValueError, match="method must be one of 'Radau', 'BDF', 'LSODA'"
    ):
        solve_ode_stiff(prothero_robinson, jnp.ones(()), ts=ts, method="RK45", args=1.0)
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        solve_ode_stiff(prothero_robinson, jnp.ones(()), ts=[0.0, 1.0, 1.0], args=1.0)
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        solve_ode_stiff(prothero_robinson, jnp.ones(()), ts=[0.0], args=1.0)
    with pytest.raises(ValueError, match="ts must be 1-D"):
        solve_ode_stiff(prothero_robinson, jnp.ones(()), ts=[[0.0, 1.0]], args=1.0)
    with pytest.raises(ValueError, match="ts must be finite"):
        solve_ode_stiff(prothero_robinson, jnp.ones(()), ts=[0.0, np.inf], args=1.0)
    with pytest.raises(ValueError, match=r"rtol must be > 0\.0"):
        solve_ode_stiff(prothero_robinson, jnp.ones(()), ts=ts, rtol=0.0, args=1.0)
    with pytest.raises(ValueError, match="y0 must be finite"):
        solve_ode_stiff(prothero_robinson, jnp.asarray(np.nan), ts=ts, args=1.0)
    with pytest.raises(TypeError, match="y0 must be a concrete array"):
        jax.jit(lambda y: solve_ode_stiff(prothero_robinson, y, ts=ts, args=1.0).ys)(
            jnp.ones(())
        )

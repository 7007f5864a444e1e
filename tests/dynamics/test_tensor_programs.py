"""Tests of mltheory.dynamics.tensor_programs: the finite-width simulator vs the ODE."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import numerics
from mltheory.dynamics import tensor_programs as tp

TEACHER = numerics.HermiteSeries(jnp.zeros(12).at[1].set(1.0).at[3].set(0.3))
TANH = numerics.activation_series("tanh", 11)
SMALL = {
    "lr_w": 0.05,
    "lr_a": 0.005,
    "batch_size": 64,
    "n_steps": 20,
    "record_every": 10,
}


@pytest.fixture(scope="module")
def small_params():
    return tp.init_params(jax.random.key(0), 8, 6, 1.0)


def test_init_params_shapes_unit_rows_and_a_init():
    p = tp.init_params(jax.random.key(0), 16, 5, 0.7, a_init="rademacher")
    np.testing.assert_allclose(jnp.linalg.norm(p.W, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(jnp.abs(p.a), 0.7)
    g = tp.init_params(
        jax.random.key(0), 16, 5, 0.7, a_init="gaussian", dtype=jnp.float32
    )
    assert g.W.dtype == jnp.float32 and g.a.dtype == jnp.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be >= 1"),
        ({"d": 1}, "d must be >= 2"),
        ({"a0": float("nan")}, "a0"),
        ({"a_init": "uniform"}, "a_init"),
    ],
)
def test_init_params_bad_inputs(kwargs, match):
    args = {"n": 4, "d": 3, "a0": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        tp.init_params(
            jax.random.key(0), args.pop("n"), args.pop("d"), args.pop("a0"), **args
        )


def test_forward_equals_explicit_sum(small_params):
    X = jax.random.normal(jax.random.key(3), (5, 6))
    ref = jnp.array(
        [
            np.mean(
                [
                    float(small_params.a[j] * jnp.tanh(small_params.W[j] @ x))
                    for j in range(8)
                ]
            )
            for x in X
        ]
    )
    np.testing.assert_allclose(tp.forward(small_params, X, jnp.tanh), ref, atol=1e-12)
    with pytest.raises(ValueError, match="columns"):
        tp.forward(small_params, jnp.zeros((2, 5)), jnp.tanh)


def _run_small(params, **kwargs):
    """The small run; every test reuses this one compilation (same statics)."""
    return tp.simulate_sgd(
        jax.random.key(1),
        params,
        TEACHER,
        jnp.tanh,
        store_neurons=True,
        **{**SMALL, **kwargs},
    )


@pytest.fixture(scope="module")
def small_run(small_params):
    return _run_small(small_params)


def test_sgd_shapes_unit_rows_and_determinism(small_params, small_run):
    a, b = small_run, _run_small(small_params)
    assert a.t.shape == (3,) and a.m.shape == (3, 8) and a.a.shape == (3, 8)
    np.testing.assert_array_equal(a.m_mean, b.m_mean)
    np.testing.assert_allclose(jnp.linalg.norm(a.params.W, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(a.m_mean, a.m.mean(axis=1), atol=1e-14)
    np.testing.assert_allclose(a.t, [0.0, 0.5, 1.0])


def test_sgd_steps_equal_projected_autodiff_gradient_steps(small_params, small_run):
    """Each step is the per-neuron (n times) gradient of the batch loss, then the
    rows are projected back to the sphere; replayed here for all 20 steps."""
    n = small_params.W.shape[0]

    @jax.jit
    def reference_step(W, a, k):
        kx, _kz = jax.random.split(jax.random.fold_in(jax.random.key(1), k))
        X = jax.random.normal(kx, (SMALL["batch_size"], 6))
        y = TEACHER(X[:, 0])

        def loss(W, a):
            return 0.5 * jnp.mean(
                (tp.forward(tp.TwoLayerParams(W, a), X, jnp.tanh) - y) ** 2
            )

        gW, ga = jax.grad(loss, argnums=(0, 1))(W, a)
        W = W - SMALL["lr_w"] * n * gW
        W = W / jnp.linalg.norm(W, axis=1, keepdims=True)
        return W, a - SMALL["lr_a"] * n * ga

    W, a = small_params.W, small_params.a
    for k in range(SMALL["n_steps"]):
        W, a = reference_step(W, a, k)
        if (k + 1) % SMALL["record_every"] == 0:
            j = (k + 1) // SMALL["record_every"]
            np.testing.assert_allclose(small_run.m[j], W[:, 0], atol=1e-12)
            np.testing.assert_allclose(small_run.a[j], a, atol=1e-12)
    np.testing.assert_allclose(small_run.params.W, W, atol=1e-12)
    np.testing.assert_allclose(small_run.params.a, a, atol=1e-12)


def test_sgd_honours_dtype(width_sweep):
    # Same statics and shapes as the width-2 run of ``width_sweep`` (one compile).
    params = tp.init_params(jax.random.key(5), 2, 64, 1.0)
    assert params.W.dtype == jnp.float64
    traj = tp.simulate_sgd(
        jax.random.key(1),
        params,
        TEACHER,
        jnp.tanh,
        lr_w=0.05,
        lr_a=0.005,
        batch_size=2048,
        n_steps=300,
        record_every=10,
        dtype=jnp.float32,
    )
    assert traj.m_mean.dtype == jnp.float32 and traj.params.W.dtype == jnp.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr_w": 0.0}, "lr_w"),
        ({"lr_a": -1.0}, "lr_a"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_steps": 0}, "n_steps"),
        ({"record_every": 3}, "record_every must divide"),
        ({"record_every": 0}, "record_every"),
        ({"theta": jnp.ones(5)}, "theta must have shape"),
        ({"theta": jnp.zeros(6)}, "nonzero"),
        ({"noise_var": -0.1}, "noise_var"),
    ],
)
def test_sgd_bad_inputs(small_params, kwargs, match):
    args = dict(SMALL)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        tp.simulate_sgd(jax.random.key(1), small_params, TEACHER, jnp.tanh, **args)


def test_sgd_normalises_theta_with_a_warning(small_params, small_run):
    with pytest.warns(UserWarning, match="normalised"):
        traj = _run_small(small_params, theta=2.0 * jnp.eye(6)[0])
    np.testing.assert_allclose(traj.m_mean, small_run.m_mean, atol=1e-14)


def test_to_problem_sets_eps():
    p = tp.to_problem(TEACHER, TANH, 0.05, 0.005)
    assert float(p.eps) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="lr_a"):
        tp.to_problem(TEACHER, TANH, 0.05, 0.0)


@pytest.fixture(scope="module")
def width_sweep():
    """E1 at the spec's CI size (n=128, d=64, B=2048, t=15), plus widths 2, 16."""
    return tp.width_convergence(
        jax.random.key(0),
        TEACHER,
        TANH,
        jnp.tanh,
        [2, 16, 128],
        d=64,
        a0=1.0,
        lr_w=0.05,
        lr_a=0.005,
        batch_size=2048,
        n_steps=300,
        record_every=10,
        dtype=jnp.float32,
    )


@pytest.mark.slow
def test_sgd_matches_the_ode_at_test_width(width_sweep):
    """E1 reduced (n=128, d=64, B=2048, t=15): |m, a (SGD - ODE)| <= 0.03."""
    assert float(width_sweep.error_m[-1]) <= 0.03
    assert float(width_sweep.error_a[-1]) <= 0.03
    assert float(width_sweep.m_ode.max()) > 0.8  # the comparison covers the rise


@pytest.mark.slow
def test_error_falls_with_width(width_sweep):
    err = np.asarray(width_sweep.error_m)
    assert err[0] > err[1] > err[2]
    assert width_sweep.m_ode.shape == width_sweep.t.shape == (31,)

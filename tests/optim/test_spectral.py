"""SpecGD as optax transformations: polar factor routing, anchors, edge cases."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax.contrib import MuonDimensionNumbers

from mltheory import numerics, optim


def _gaussian(key, shape, dtype=jnp.float64):
    return jax.random.normal(key, shape, dtype=dtype)


def _update(tx, grads):
    upd, _ = tx.update(grads, tx.init(grads))
    return upd


# --------------------------------------------------------------------------- #
# the polar factor through the transform
# --------------------------------------------------------------------------- #
def _conditioned(key, shape):
    """Random singular vectors, singular values log-spaced in [0.01, 1]."""
    k1, k2 = jax.random.split(key)
    r = min(shape)
    u = jnp.linalg.qr(_gaussian(k1, (shape[0], r)))[0]
    v = jnp.linalg.qr(_gaussian(k2, (shape[1], r)))[0]
    return (u * jnp.logspace(-2, 0, r)[None, :]) @ v.T


@pytest.mark.parametrize("shape", [(64, 64), (128, 32), (32, 128)])
def test_cubic_ns_matches_svd_polar(key, shape):
    g = _conditioned(key, shape)
    ns = _update(optim.scale_by_spectral(ns_coeffs="cubic", ns_steps=40), {"W": g})
    svd = _update(optim.scale_by_spectral(method="svd"), {"W": g})
    rel = jnp.linalg.norm(ns["W"] - svd["W"]) / jnp.linalg.norm(svd["W"])
    assert rel < 1e-6


def test_muon_preset_singular_values_in_documented_band(key):
    g = _gaussian(key, (128, 32))
    s = jnp.linalg.svd(_update(optim.scale_by_spectral(), {"W": g})["W"])[1]
    ratio = jnp.linalg.svd(g)[1] / jnp.linalg.norm(g)
    assert float(ratio.min()) >= 0.0015  # the band's precondition holds
    assert float(s.min()) >= 0.68 and float(s.max()) <= 1.21


def test_batched_leaf_equals_per_matrix(key):
    g = _gaussian(key, (5, 3, 8))  # axes: (fan_in, batch, fan_out)
    dims = MuonDimensionNumbers(reduction_axis=0, output_axis=2)
    tx = optim.scale_by_spectral(method="svd", dimension_numbers=dims)
    out = _update(tx, {"W": g})["W"]
    assert out.shape == g.shape
    for i in range(3):
        ref = numerics.polar_svd(g[:, i, :])
        np.testing.assert_allclose(out[:, i, :], ref, atol=1e-12)


def test_dimension_numbers_tree_with_none_uses_default_rule(key):
    k1, k2 = jax.random.split(key)
    grads = {"conv": _gaussian(k1, (2, 4, 3)), "dense": _gaussian(k2, (4, 3))}
    dims = {"conv": MuonDimensionNumbers(1, 2), "dense": None}
    out = _update(optim.scale_by_spectral(method="svd", dimension_numbers=dims), grads)
    np.testing.assert_allclose(out["dense"], numerics.polar_svd(grads["dense"]))
    np.testing.assert_allclose(out["conv"][1], numerics.polar_svd(grads["conv"][1]))


@pytest.mark.parametrize(
    ("method", "scales", "tol"),
    [("svd", (1e-6, 1.0, 1e6), 1e-12), ("ns", (1e-2, 1.0, 1e6), 1e-5)],
)
def test_update_invariant_to_positive_rescaling(key, method, scales, tol):
    """Only eps / ||g||_F breaks the invariance for NS (1e-7/0.06 here)."""
    g = _gaussian(key, (8, 5))
    tx = optim.scale_by_spectral(method=method)
    base = _update(tx, {"W": g})["W"]
    for c in scales:
        np.testing.assert_allclose(_update(tx, {"W": c * g})["W"], base, atol=tol)
    np.testing.assert_allclose(_update(tx, {"W": -g})["W"], -base, atol=1e-12)


def test_rank_one_gradient_gives_rank_one_update(key):
    u, v = jnp.array([3.0, 4.0, 0.0]), jnp.array([1.0, 2.0])
    out = _update(optim.scale_by_spectral(method="svd"), {"W": jnp.outer(u, v)})["W"]
    expected = jnp.outer(u / 5.0, v / jnp.sqrt(5.0))
    np.testing.assert_allclose(out, expected, atol=1e-14)


@pytest.mark.parametrize(
    ("scale", "factor"),
    [(None, 1.0), ("muon", np.sqrt(12 / 3)), ("rms", 0.2 * np.sqrt(12))],
)
def test_shape_scale_factors(key, scale, factor):
    g = _gaussian(key, (3, 12))  # fan_in = 3 rows, fan_out = 12 cols
    out = _update(optim.scale_by_spectral(method="svd", shape_scale=scale), {"W": g})
    np.testing.assert_allclose(out["W"], factor * numerics.polar_svd(g), atol=1e-12)


def test_muon_shape_scale_is_one_for_wide_fan_in(key):
    g = _gaussian(key, (12, 3))
    out = _update(optim.scale_by_spectral(method="svd", shape_scale="muon"), {"W": g})
    np.testing.assert_allclose(out["W"], numerics.polar_svd(g), atol=1e-12)


# --------------------------------------------------------------------------- #
# optax behaviour
# --------------------------------------------------------------------------- #
def test_specgd_update_is_minus_lr_polar_and_stateless(key):
    grads = {"W": _gaussian(key, (4, 3)), "b": jnp.ones(3)}
    opt = optim.specgd(0.1, method="svd", non_matrix="passthrough")
    state = opt.init(grads)
    assert jax.tree.leaves(state) == []  # no momentum: no state at all
    upd, _ = opt.update(grads, state)
    np.testing.assert_allclose(upd["W"], -0.1 * numerics.polar_svd(grads["W"]))
    np.testing.assert_allclose(upd["b"], -0.1 * grads["b"])


def test_non_matrix_leaf_rejected_by_default():
    opt = optim.specgd(0.1)
    grads = {"W": jnp.ones((4, 3)), "b": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"needs a matrix, got shape \(3,\)"):
        opt.update(grads, opt.init(grads))


def test_batched_leaf_without_dimension_numbers_rejected():
    tx = optim.scale_by_spectral()
    with pytest.raises(ValueError, match="dimension_numbers"):
        tx.update({"W": jnp.ones((2, 3, 4))}, tx.init(None))


def test_jit_equals_eager(key):
    grads = {"W": _gaussian(key, (6, 4)), "V": _gaussian(key, (4, 4))}
    opt = optim.specgd(0.05, momentum=0.9)
    state = opt.init(grads)
    eager, _ = opt.update(grads, state)
    jitted, _ = jax.jit(opt.update)(grads, state)
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("method", ["ns", "svd"])
def test_zero_gradient_gives_zero_update(method):
    out = _update(optim.scale_by_spectral(method=method), {"W": jnp.zeros((5, 3))})
    assert bool(jnp.all(out["W"] == 0))


@pytest.mark.parametrize("method", ["ns", "svd"])
def test_non_finite_gradient_gives_nan_update_and_apply_if_finite_skips(method):
    g = {"W": jnp.ones((3, 3)).at[0, 1].set(jnp.inf)}
    assert bool(
        jnp.all(jnp.isnan(_update(optim.scale_by_spectral(method=method), g)["W"]))
    )
    opt = optax.apply_if_finite(
        optim.specgd(0.1, method=method), max_consecutive_errors=3
    )
    params = {"W": jnp.ones((3, 3))}
    upd, state = opt.update(g, opt.init(params))
    assert bool(jnp.all(upd["W"] == 0)) and int(state.notfinite_count) == 1


def test_check_finite_raises_eagerly():
    tx = optim.scale_by_spectral(check_finite=True)
    with pytest.raises(FloatingPointError, match="NaN/inf"):
        tx.update({"W": jnp.full((2, 2), jnp.nan)}, tx.init(None))


def test_compute_dtype_keeps_gradient_dtype(key):
    g = _gaussian(key, (16, 8), jnp.float32)
    out = _update(optim.scale_by_spectral(compute_dtype=jnp.bfloat16), {"W": g})["W"]
    ref = _update(optim.scale_by_spectral(), {"W": g})["W"]
    assert out.dtype == jnp.float32
    # bf16 keeps ~3 digits, but the muon map's slope near 0 (~485) magnifies
    # the rounding of small singular values: a few percent overall.
    assert float(jnp.linalg.norm(out - ref) / jnp.linalg.norm(ref)) < 0.1


def test_specgd_step_equals_w_minus_lr_polar(key):
    k1, k2 = jax.random.split(key)
    W, G = _gaussian(k1, (5, 4)), _gaussian(k2, (5, 4))
    np.testing.assert_allclose(
        optim.specgd_step(W, G, 0.3), W - 0.3 * numerics.polar_svd(G), atol=1e-14
    )
    ns = optim.specgd_step(W, G, 0.3, method="ns", ns_coeffs="cubic", ns_steps=30)
    np.testing.assert_allclose(ns, W - 0.3 * numerics.polar_svd(G), atol=1e-6)
    jitted = jax.jit(optim.specgd_step)(W, G, 0.3)
    np.testing.assert_allclose(jitted, optim.specgd_step(W, G, 0.3), atol=1e-14)
    stacked = optim.specgd_step(jnp.stack([W, W]), jnp.stack([G, 2 * G]), 0.3)
    np.testing.assert_allclose(stacked[1], optim.specgd_step(W, G, 0.3), atol=1e-14)


# --------------------------------------------------------------------------- #
# anchor: optax.contrib.muon
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(("beta", "nesterov"), [(0.95, True), (0.9, False)])
def test_matches_optax_muon_over_20_steps(key, beta, nesterov):
    ks = jax.random.split(key, 3)
    params = {
        "a": _gaussian(ks[0], (8, 5)),
        "b": _gaussian(ks[1], (5, 12)),
        "c": _gaussian(ks[2], (6, 6)),
    }
    ours = optim.specgd(
        0.1, momentum=beta, nesterov=nesterov, eps=1e-8, shape_scale="muon"
    )
    ref = optax.contrib.muon(0.1, beta=beta, nesterov=nesterov, eps=1e-8)

    def loss(p):
        return sum(jnp.sum(jnp.sin(3 * w) + w**3 / 3) for w in jax.tree.leaves(p))

    @jax.jit
    def run(params):
        def step(carry, _):
            p1, s1, p2, s2 = carry
            u1, s1 = ours.update(jax.grad(loss)(p1), s1, p1)
            u2, s2 = ref.update(jax.grad(loss)(p2), s2, p2)
            p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
            return (p1, s1, p2, s2), (u1, u2)

        init = (params, ours.init(params), params, ref.init(params))
        return jax.lax.scan(step, init, None, length=20)[1]

    u_ours, u_ref = run(params)
    for a, b in zip(jax.tree.leaves(u_ours), jax.tree.leaves(u_ref), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- #
# training: an MLP with specgd on matrices and adam on the rest
# --------------------------------------------------------------------------- #
@pytest.mark.slow
def test_mlp_training_loss_drops_tenfold(key):
    kx, kt, k1, k2 = jax.random.split(key, 4)
    X = jax.random.normal(kx, (256, 8))
    teacher = jax.random.normal(kt, (8,))
    y = jnp.tanh(X @ teacher) + 0.5 * jnp.sin(X[:, 0])
    params = {
        "W1": jax.random.normal(k1, (8, 32)) / jnp.sqrt(8.0),
        "b1": jnp.zeros(32),
        "W2": jax.random.normal(k2, (32, 1)) / jnp.sqrt(32.0),
        "b2": jnp.zeros(1),
    }

    def loss(p):
        h = jnp.tanh(X @ p["W1"] + p["b1"][None, :])
        return jnp.mean(jnp.square((h @ p["W2"])[:, 0] + p["b2"][0] - y))

    labels = {k: ("spectral" if v.ndim == 2 else "adam") for k, v in params.items()}
    opt = optax.multi_transform(
        {
            "spectral": optim.specgd(
                optax.cosine_decay_schedule(0.05, 300), momentum=0.9, nesterov=True
            ),
            "adam": optax.adam(1e-2),
        },
        labels,
    )

    @jax.jit
    def train(params):
        def step(carry, _):
            p, s = carry
            g = jax.grad(loss)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(step, (params, opt.init(params)), None, length=300)[0][0]

    final = train(params)
    assert float(loss(final)) < float(loss(params)) / 10


# --------------------------------------------------------------------------- #
# bad inputs (spec section 7)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "qr"}, "method must be one of"),
        ({"ns_coeffs": "polar-express"}, "coeffs must be one of"),
        ({"ns_coeffs": (1.0, 2.0)}, r"coeffs must have shape \(3,\)"),
        ({"ns_steps": 0}, "steps must be >= 1"),
        ({"ns_coeffs": "dion", "ns_steps": 7}, "rows of the coefficient table"),
        ({"eps": 0.0}, "eps must be > 0"),
        ({"rank_tol": 1e-6}, "rank_tol applies to method='svd'"),
        ({"method": "svd", "rank_tol": -1.0}, "rank_tol must be >= 0"),
        ({"shape_scale": "flax"}, "shape_scale must be one of"),
        ({"non_matrix": "ignore"}, "non_matrix must be one of"),
        ({"rms_target": 0.0}, "rms_target must be > 0"),
    ],
)
def test_scale_by_spectral_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.scale_by_spectral(**kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0.0,), {}, ValueError, "learning_rate must be > 0"),
        ((0.1,), {"momentum": 1.0}, ValueError, "momentum must be < 1"),
        ((0.1,), {"nesterov": True}, ValueError, "nesterov=True needs a momentum"),
        ((0.1,), {"nesterov": 1}, TypeError, "nesterov must be a bool"),
        (("fast",), {}, TypeError, "learning_rate must be a real number"),
    ],
)
def test_specgd_bad_options(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        optim.specgd(*args, **kwargs)


def test_specgd_step_bad_inputs():
    with pytest.raises(ValueError, match="G must have the shape of W"):
        optim.specgd_step(jnp.ones((3, 2)), jnp.ones((2, 3)), 0.1)
    with pytest.raises(ValueError, match="W must have at least 2 dimensions"):
        optim.specgd_step(jnp.ones(3), jnp.ones(3), 0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        optim.specgd_step(jnp.ones((3, 2)), jnp.ones((3, 2)), -0.1)
    with pytest.raises(ValueError, match="G must be finite"):
        optim.specgd_step(jnp.ones((3, 2)), jnp.full((3, 2), jnp.nan), 0.1)

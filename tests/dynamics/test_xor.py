"""Specification of mltheory.dynamics.xor: data, network, training, blocks, theory.

References are independent of the code under test: NumPy loops over neurons,
hand-computed block assignments, exact symmetries of the training dynamics,
closed forms and adaptive quadrature (SciPy) for the ideal error, Monte Carlo
with tolerances of a few standard errors (stated where used).
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from mltheory import numerics
from mltheory.dynamics import _xor_theory as xor_theory
from mltheory.dynamics import xor

# One small configuration shared by the training tests (one compilation).
CFG = xor.XORConfig(d=6, width=24, batch_size=32, steps=120, record_every=40)
N_TEST = 300
ONE_STEP = xor.XORConfig(d=5, width=8, batch_size=16, lr=0.3, steps=1, record_every=1)


@pytest.fixture(scope="module")
def run():
    return xor.train_xor(jax.random.key(3), CFG, n_test=N_TEST)


def _np_forward(W, a, X):
    W, a, X = (np.asarray(v) for v in (W, a, X))
    out = np.zeros(X.shape[0])
    for j in range(W.shape[0]):
        out += a[j] * np.maximum(X @ W[j], 0.0)
    return out


def _ideal_network(c=1.0, ratio=1.0, sigma=0.0, label_sign=1):
    """Four neurons on the diagonals (pair strengths A, rA, c = sqrt2 A), plus
    the pair (e3, sigma), (-e3, -sigma) whose output is exactly sigma * x3."""
    A = c / math.sqrt(2.0)
    mu = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]) / math.sqrt(2)
    W = np.zeros((6, 3))
    W[:4, :2] = mu
    W[4, 2], W[5, 2] = 1.0, -1.0
    a = label_sign * np.array([A, -ratio * A, A, -ratio * A, sigma, -sigma])
    return xor.XORParams(jnp.asarray(W), jnp.asarray(a))


# --------------------------------------------------------------------------- #
# Data and network
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("dist", "label_sign"),
    [
        ("gaussian", 1),
        ("gaussian", -1),
        ("hypercube", -1),
        ("student_t", 1),
        ("uniform_sphere", 1),
    ],
)
def test_labels_are_balanced_xor_labels_with_identity_covariance(key, dist, label_sign):
    X, y = xor.sample_xor(key, 100_000, 4, dist=dist, label_sign=label_sign)
    X, y = np.asarray(X), np.asarray(y)
    np.testing.assert_array_equal(
        y, label_sign * np.where(X[:, 0] * X[:, 1] >= 0, 1, -1)
    )
    # Mean of +-1 labels: SE = 1/sqrt(1e5) = 0.0032, so 0.02 is over 6 SE.
    assert abs(y.mean()) < 0.02
    # Second moments E[x_i^2] = 1 (SE <= sqrt(Var x^2 / n); for t_5 scaled
    # to unit variance Var x^2 = E x^4 - 1 = 8, SE ~ 0.009): 0.05 > 5 SE.
    np.testing.assert_allclose((X**2).mean(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose((X[:, 0] * X[:, 1]).mean(), 0.0, atol=0.05)
    if dist == "hypercube":
        assert set(np.unique(X)) == {-1.0, 1.0}
    elif dist == "uniform_sphere":
        np.testing.assert_allclose(np.linalg.norm(X, axis=1), 2.0, rtol=1e-12)
    elif dist == "student_t":
        # Excess kurtosis of unit-variance t_5 is 6 (its sample value is
        # noisy, infinite 8th moment), far above a Gaussian's 0.
        assert stats.kurtosis(X.ravel()) > 1.5


def test_init_params_norms_and_symmetric_init_gives_zero_output(key):
    p = xor.init_params(key, 7, 40, init_scale=0.02)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(p.W), axis=1), 0.02)
    np.testing.assert_allclose(np.abs(np.asarray(p.a)), 0.02)
    assert 5 < int(jnp.sum(p.a > 0)) < 35  # fair signs (binomial(40, 1/2))
    ps = xor.init_params(key, 7, 40, symmetric=True)
    np.testing.assert_array_equal(ps.W[:20], ps.W[20:])
    np.testing.assert_array_equal(ps.a[:20], -ps.a[20:])
    X, _ = xor.sample_xor(jax.random.key(9), 64, 7)
    # Zero up to the rounding of the sum over 40 terms of size ~ 1e-4.
    scale = np.maximum(np.asarray(X) @ np.asarray(ps.W).T, 0) @ np.abs(ps.a)
    assert np.all(np.abs(np.asarray(xor.forward(ps, X))) <= 1e-14 * scale)


def test_forward_and_loss_against_numpy(key, rng):
    W = rng.standard_normal((9, 4))
    a = rng.standard_normal(9)
    X = rng.standard_normal((30, 4))
    y = np.where(rng.random(30) < 0.5, -1.0, 1.0)
    p = xor.XORParams(jnp.asarray(W), jnp.asarray(a))
    f = _np_forward(W, a, X)
    np.testing.assert_allclose(xor.forward(p, X), f, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        xor.logistic_loss(p, X, y), np.mean(np.log1p(np.exp(-y * f))), rtol=1e-12
    )
    # Stable for huge margins: log(1 + e^{1000}) = 1000, not inf.
    big = xor.XORParams(jnp.asarray(W) * 0 + 1.0, jnp.full(9, 1e3))
    Xp = np.abs(X)
    np.testing.assert_allclose(
        xor.logistic_loss(big, Xp, -np.ones(30)), np.mean(9e3 * Xp.sum(1)), rtol=1e-12
    )


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


def test_one_step_is_the_sgd_update_computed_by_hand(key):
    traj = xor.train_xor(key, ONE_STEP, n_test=10)
    W0, a0 = (np.asarray(v[0]) for v in (traj.params.W, traj.params.a))
    # Step n draws its batch with fold_in(fold_in(key, 1), n) (documented).
    X, y = xor.sample_xor(jax.random.fold_in(jax.random.fold_in(key, 1), 0), 16, 5)
    X, y = np.asarray(X), np.asarray(y)
    H = X @ W0.T
    f = np.maximum(H, 0) @ a0
    dl = -y / (1.0 + np.exp(y * f)) / 16  # d loss / d f_b
    grad_a = np.maximum(H, 0).T @ dl
    grad_W = ((dl[:, None] * (H > 0)) * a0[None, :]).T @ X
    np.testing.assert_allclose(traj.params.a[1], a0 - 0.3 * grad_a, rtol=1e-12)
    np.testing.assert_allclose(traj.params.W[1], W0 - 0.3 * grad_W, rtol=1e-12)
    np.testing.assert_allclose(
        traj.train_loss[0], np.mean(np.log1p(np.exp(-y * f))), rtol=1e-12
    )


def test_records_and_test_metrics_match_the_snapshots(run):
    assert run.steps.tolist() == [0, 40, 80, 120]
    assert run.params.W.shape == (4, 24, 6)
    assert run.config == CFG
    # The fixed test set is drawn with fold_in(key, 2) (documented).
    X, y = xor.sample_xor(jax.random.fold_in(jax.random.key(3), 2), N_TEST, 6)
    for k in range(4):
        f = _np_forward(run.params.W[k], run.params.a[k], X)
        margin = np.asarray(y) * f
        err = np.mean((margin < 0) + 0.5 * (margin == 0))
        np.testing.assert_allclose(run.test_error[k], err, rtol=1e-12)
        np.testing.assert_allclose(
            run.test_loss[k], np.mean(np.log1p(np.exp(-margin))), rtol=1e-10
        )
    sig = xor.block_signals(run.params)
    np.testing.assert_allclose(run.block_signal, sig.signal, rtol=1e-12)
    np.testing.assert_allclose(run.rho, sig.rho, rtol=1e-12)
    np.testing.assert_allclose(run.block_spread, sig.spread, rtol=1e-12)
    assert int(run.first_bad_step) == -1
    assert not bool(run.diverged)
    np.testing.assert_array_equal(run.final_params.W, run.params.W[-1])


def test_same_key_same_run_and_record_every_does_not_change_the_path(run):
    again = xor.train_xor(jax.random.key(3), CFG, n_test=N_TEST)
    for a, b in zip(jax.tree.leaves(run), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    other = xor.train_xor(jax.random.key(4), CFG, n_test=N_TEST)
    assert not np.array_equal(other.params.W[-1], run.params.W[-1])
    coarse = xor.train_xor(
        jax.random.key(3),
        xor.XORConfig(d=6, width=24, batch_size=32, steps=120, record_every=120),
        n_test=N_TEST,
    )
    np.testing.assert_allclose(coarse.params.W[-1], run.params.W[-1], rtol=1e-12)


def test_vmap_over_keys_equals_the_per_key_runs(run):  # and a batch of keys
    keys = jnp.stack([jax.random.key(3), jax.random.key(5)])
    # jit of vmap: the public function traces under both transformations.
    runs = jax.jit(jax.vmap(lambda k: xor.train_xor(k, CFG, n_test=N_TEST)))(keys)
    assert runs.test_error.shape == (2, 4)
    assert runs.first_bad_step.shape == (2,)
    single = [run, xor.train_xor(jax.random.key(5), CFG, n_test=N_TEST)]
    for i, ref in enumerate(single):
        for a, b in zip(jax.tree.leaves(runs), jax.tree.leaves(ref), strict=True):
            np.testing.assert_allclose(a[i], b, rtol=1e-10, atol=1e-14)
    # A 1-D array of keys is the same vmapped computation.
    batch = xor.train_xor(keys, CFG, n_test=N_TEST)
    for a, b in zip(jax.tree.leaves(runs), jax.tree.leaves(batch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert batch.config == CFG
    # phase_split on a batch gives one step per seed.
    np.testing.assert_array_equal(
        xor.phase_split(runs, rho_threshold=0.5),
        [int(xor.phase_split(r, rho_threshold=0.5)) for r in single],
    )


def test_label_sign_minus_one_mirrors_the_run_exactly(key):
    """With labels -y, the run from (W0, a0) is (W_t, -a_t) of the run with
    labels y from (W0, -a0): the loss only sees y f and f is linear in a."""
    cfg_m = dataclasses.replace(CFG, label_sign=-1)
    p0 = xor.init_params(jax.random.key(11), CFG.d, CFG.width)
    flipped = xor.XORParams(p0.W, -p0.a)
    plus = xor.train_xor(key, CFG, params=flipped, n_test=N_TEST)
    minus = xor.train_xor(key, cfg_m, params=p0, n_test=N_TEST)
    np.testing.assert_allclose(minus.params.W, plus.params.W, rtol=1e-12)
    np.testing.assert_allclose(minus.params.a, -plus.params.a, rtol=1e-12)
    np.testing.assert_allclose(minus.test_error, plus.test_error, rtol=1e-12)
    np.testing.assert_allclose(minus.block_signal, -plus.block_signal, rtol=1e-12)
    b_plus = xor.neuron_blocks(plus.final_params)
    b_minus = xor.neuron_blocks(minus.final_params, label_sign=-1)
    np.testing.assert_array_equal(b_minus.block, b_plus.block)
    np.testing.assert_array_equal(b_minus.aligned, b_plus.aligned)


def test_symmetric_init_starts_at_log2(key):
    cfg = dataclasses.replace(ONE_STEP, symmetric_init=True)  # same compilation
    traj = xor.train_xor(key, cfg, n_test=10)
    W0, a0 = traj.params.W[0], traj.params.a[0]
    np.testing.assert_array_equal(W0[:4], W0[4:])
    np.testing.assert_array_equal(a0[:4], -a0[4:])
    np.testing.assert_allclose(traj.train_loss[0], math.log(2.0), rtol=1e-14)
    np.testing.assert_allclose(traj.test_loss[0], math.log(2.0), rtol=1e-14)


def test_float32_run_keeps_its_dtype(key):
    traj = xor.train_xor(key, ONE_STEP, n_test=10, dtype=jnp.float32)
    assert traj.params.W.dtype == jnp.float32
    assert traj.test_error.dtype == jnp.float32
    p = xor.init_params(key, 5, 8, dtype=jnp.float32)
    assert xor.train_xor(key, ONE_STEP, params=p, n_test=10).params.a.dtype == (
        jnp.float32
    )


# --------------------------------------------------------------------------- #
# Blocks and clusters
# --------------------------------------------------------------------------- #


def test_neuron_blocks_by_hand():
    W = jnp.array(
        [
            [2.0, 1.9, 0.3, 0.4],  # near 45 deg: block 0, label +1
            [-1.0, 1.2, 0.0, 0.0],  # near 135 deg: block 1, label -1
            [-1.0, -0.8, 1.0, 0.0],  # near 225 deg: block 2, label +1
            [0.5, -0.6, 0.0, 0.0],  # near 315 deg: block 3, label -1
            [1.0, 0.1, 0.0, 0.0],  # 5.7 deg: still block 0
        ]
    )
    a = jnp.array([1.0, -2.0, -1.0, -0.5, 3.0])
    b = xor.neuron_blocks(xor.XORParams(W, a))
    assert np.asarray(b.block).tolist() == [0, 1, 2, 3, 0]
    assert np.asarray(b.aligned).tolist() == [True, True, False, True, True]
    r2 = math.sqrt(2.0)
    np.testing.assert_allclose(
        b.signal, [3.9 / r2, 2.2 / r2, 1.8 / r2, 1.1 / r2, 1.1 / r2], rtol=1e-14
    )
    np.testing.assert_allclose(b.noise, [0.5, 0.0, 1.0, 0.0, 0.0], rtol=1e-14)
    bm = xor.neuron_blocks(xor.XORParams(W, a), label_sign=-1)
    assert np.asarray(bm.aligned).tolist() == [False, False, True, False, False]


def _np_block_signals(W, a, s):
    W, a = np.asarray(W), np.asarray(a)
    S, N, size, bad, within = np.zeros(4), np.zeros(4), np.zeros(4), np.zeros(4), []
    for k in range(4):
        members = []
        psi = math.pi / 4 + k * math.pi / 2
        for j in range(W.shape[0]):
            phi = math.atan2(W[j, 1], W[j, 0])
            dist = abs((phi - psi + math.pi) % (2 * math.pi) - math.pi)
            if dist >= math.pi / 4:  # nearest diagonal is another one
                continue
            sj = W[j, 0] * math.cos(psi) + W[j, 1] * math.sin(psi)
            label = s * (1 if k % 2 == 0 else -1)
            if np.sign(a[j]) == label:
                S[k] += a[j] * sj
                N[k] += abs(a[j]) * np.linalg.norm(W[j, 2:])
                size[k] += 1
                members.append(sj)
            else:
                bad[k] += a[j] * sj
        within.append(
            np.std(members) / np.mean(members) if len(members) > 1 else np.nan
        )
    rho = np.sum(np.abs(a) * np.linalg.norm(W[:, :2], axis=1)) / np.sum(
        np.abs(a) * np.linalg.norm(W[:, 2:], axis=1)
    )
    spread = np.std(np.abs(S)) / np.mean(np.abs(S))
    return S, N, size, bad, np.array(within), rho, spread


@pytest.mark.parametrize("label_sign", [1, -1])
def test_block_signals_against_a_loop_over_neurons(rng, label_sign):
    W = rng.standard_normal((60, 5))
    a = rng.standard_normal(60)
    sig = xor.block_signals(
        xor.XORParams(jnp.asarray(W), jnp.asarray(a)), label_sign=label_sign
    )
    S, N, size, bad, within, rho, spread = _np_block_signals(W, a, label_sign)
    np.testing.assert_allclose(sig.signal, S, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sig.noise, N, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sig.size, size)
    np.testing.assert_allclose(sig.misaligned_signal, bad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sig.within_block_spread, within, rtol=1e-10)
    np.testing.assert_allclose(sig.rho, rho, rtol=1e-12)
    np.testing.assert_allclose(sig.spread, spread, rtol=1e-12)
    assert float(sig.size.sum() + sig.misaligned_size.sum()) == 60


def test_analyses_keep_leading_axes(rng):
    W = jnp.asarray(rng.standard_normal((2, 3, 10, 4)))
    a = jnp.asarray(rng.standard_normal((2, 3, 10)))
    batched = xor.block_signals(xor.XORParams(W, a))
    clusters = xor.cluster_diagnostics(xor.XORParams(W, a), bins=12)
    blocks = xor.neuron_blocks(xor.XORParams(W, a))
    assert batched.signal.shape == (2, 3, 4)
    assert clusters.angle_hist.shape == (2, 3, 12)
    assert blocks.block.shape == (2, 3, 10)
    one = xor.block_signals(xor.XORParams(W[1, 2], a[1, 2]))
    np.testing.assert_allclose(batched.signal[1, 2], one.signal, rtol=1e-14)
    c1 = xor.cluster_diagnostics(xor.XORParams(W[1, 2], a[1, 2]), bins=12)
    np.testing.assert_allclose(clusters.angle_hist[1, 2], c1.angle_hist, rtol=1e-14)


def test_cluster_diagnostics_against_numpy(rng):
    W = rng.standard_normal((50, 4))
    a = rng.standard_normal(50)
    c = xor.cluster_diagnostics(xor.XORParams(jnp.asarray(W), jnp.asarray(a)), bins=16)
    omega = np.abs(a) * np.linalg.norm(W, axis=1)
    phi = np.arctan2(W[:, 1], W[:, 0])
    np.testing.assert_allclose(
        c.diag_concentration, np.sum(omega * np.abs(np.cos(2 * phi))) / omega.sum()
    )
    np.testing.assert_allclose(
        c.plane_mass_fraction,
        np.sum(np.abs(a) * np.linalg.norm(W[:, :2], axis=1)) / omega.sum(),
    )
    hist, edges = np.histogram(
        np.mod(phi, 2 * np.pi), bins=16, range=(0, 2 * np.pi), weights=omega
    )
    np.testing.assert_allclose(c.angle_hist, hist / omega.sum(), atol=1e-14)
    np.testing.assert_allclose(c.bin_edges, edges, atol=1e-14)
    aligned = np.asarray(
        xor.neuron_blocks(xor.XORParams(jnp.asarray(W), jnp.asarray(a))).aligned
    )
    np.testing.assert_allclose(
        c.aligned_mass_fraction, omega[aligned].sum() / omega.sum()
    )


def test_phase_split_is_the_first_record_over_the_threshold(run):
    rho = np.asarray(run.rho)
    for thr in (0.5 * rho.min(), float(rho[2]), 10 * rho.max()):
        hit = np.nonzero(rho >= thr)[0]
        expected = int(run.steps[hit[0]]) if hit.size else -1
        assert int(xor.phase_split(run, rho_threshold=thr)) == expected


# --------------------------------------------------------------------------- #
# Ideal error and error regions
# --------------------------------------------------------------------------- #


def test_ideal_error_is_zero_for_balanced_noiseless_blocks():
    assert float(xor.ideal_xor_error(ratio=1.0, noise_to_signal=0.0)) == 0.0


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.8, 1.0, 1.25, 2.0, 7.0])
def test_ideal_error_without_noise_is_the_rotated_boundary(ratio):
    closed = 2 / math.pi * abs(math.atan(ratio) - math.pi / 4)
    np.testing.assert_allclose(xor.ideal_xor_error(ratio=ratio), closed, atol=1e-15)
    # The angular quadrature (used for any noise) agrees at zero noise.
    quad = xor_theory.quadrature_error(jnp.asarray(ratio), jnp.asarray(0.0))
    np.testing.assert_allclose(quad, closed, atol=1e-15)


def _density_formula(sigma):
    """err = int_0^inf 8 phi(t) Phi(-t) Phi(-t/sigma) dt = 4 E[Phi(-|Z|) Phi(-|Z|/s)],
    with numerics' Gaussian rule split at 0 (independent of the polar route)."""
    nodes, weights = numerics.split_gaussian_rule(512, z_max=12.0)
    z = np.abs(np.asarray(nodes))
    return 4 * np.sum(
        np.asarray(weights) * stats.norm.cdf(-z) * stats.norm.cdf(-z / sigma)
    )


@pytest.mark.parametrize("sigma", [0.003, 0.05, 0.4, 2.0])
def test_ideal_error_matches_the_m_density_formula(sigma):
    np.testing.assert_allclose(
        xor.ideal_xor_error(noise_to_signal=sigma), _density_formula(sigma), rtol=1e-11
    )


def test_ideal_error_is_linear_in_small_noise_and_tends_to_one_half():
    err = np.asarray(xor.ideal_xor_error(noise_to_signal=jnp.array([1e-5, 1e-3, 1e3])))
    np.testing.assert_allclose(
        err[:2] / (2 / math.pi * np.array([1e-5, 1e-3])), 1.0, rtol=2e-3
    )
    np.testing.assert_allclose(err[2], 0.5, atol=1e-3)
    grid = np.asarray(
        xor.ideal_xor_error(
            ratio=jnp.array([[0.5], [1.0], [2.0]]),
            noise_to_signal=jnp.linspace(0, 1, 5),
        )
    )
    assert grid.shape == (3, 5)
    assert np.all(np.diff(grid[1]) > 0)


@pytest.mark.parametrize(
    ("ratio", "sigma"), [(1.0, 0.05), (1.0, 0.3), (2.0, 0.0), (0.6, 0.1), (1.5, 0.8)]
)
def test_ideal_error_matches_monte_carlo_of_the_network(ratio, sigma):
    n = 1_000_000
    p = _ideal_network(ratio=ratio, sigma=sigma)
    X = jax.random.normal(jax.random.key(int(100 * ratio + 10 * sigma)), (n, 3))
    f = xor.forward(p, X)
    y = jnp.sign(X[:, 0] * X[:, 1])
    mc = float(jnp.mean(y * f < 0))
    se = math.sqrt(max(mc * (1 - mc), 1e-12) / n)
    exact = float(xor.ideal_xor_error(ratio=ratio, noise_to_signal=sigma))
    assert abs(mc - exact) <= 3 * se  # 3 standard errors of the MC estimate


def test_error_regions_of_a_noisy_ideal_network(key):
    c, sigma, n = 1.3, 0.05, 200_000
    p = _ideal_network(c=c, sigma=sigma)
    edges = (0.0, 0.02, 0.05, 0.1, 0.5, math.inf)
    rep = xor.error_regions(key, p, n_test=n, bin_edges=edges)
    exact = float(xor.ideal_xor_error(noise_to_signal=sigma / c))
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(float(rep.test_error) - exact) <= 4 * se  # 4 SE
    np.testing.assert_allclose(rep.test_error_se, se, rtol=0.05)
    # f = c g + sigma x3 exactly, with g independent of x3: c_hat and
    # sigma_hat are within a few SE (relative SE ~ 1/sqrt(n)).
    np.testing.assert_allclose(rep.c_hat, c, rtol=0.01)
    np.testing.assert_allclose(rep.sigma_hat, sigma, rtol=0.01)
    np.testing.assert_allclose(rep.predicted_error, 2 / math.pi * sigma / c, rtol=0.02)
    np.testing.assert_allclose(rep.predicted_error_exact, exact, rtol=0.02)
    # Mass per bin: P(a < M <= b) = 4 Phi(-a)^2 - 4 Phi(-b)^2; 4 SE.
    lo, hi = np.array(edges[:-1]), np.array(edges[1:])
    mass = 4 * stats.norm.cdf(-lo) ** 2 - 4 * stats.norm.cdf(-hi) ** 2
    assert np.all(np.abs(rep.mass_by_bin - mass) <= 4 * np.sqrt(mass * (1 - mass) / n))

    # Error per bin: int_bin 8 phi Phi(-t) Phi(-c t/sigma) / mass; 4 SE.
    def f_err(t):
        return (
            8 * stats.norm.pdf(t) * stats.norm.cdf(-t) * stats.norm.cdf(-c * t / sigma)
        )

    for i in range(len(lo)):
        e = integrate.quad(f_err, lo[i], min(hi[i], 40.0), epsabs=1e-14)[0] / mass[i]
        count = float(rep.mass_by_bin[i]) * n
        tol = 4 * math.sqrt(max(e * (1 - e), 1e-4) / count)
        assert abs(float(rep.err_by_bin[i]) - e) <= tol
    assert float(rep.err_by_bin[-1]) == 0.0  # M > 0.5 = 10 sigma/c: no error


def test_error_regions_noiseless_ideal_is_bayes_correct(key):
    p = _ideal_network(c=2.0, label_sign=-1)
    rep = xor.error_regions(key, p, n_test=5000, label_sign=-1)
    assert float(rep.test_error) == 0.0
    np.testing.assert_allclose(rep.c_hat, 2.0, rtol=1e-12)
    assert float(rep.sigma_hat) < 1e-12


# --------------------------------------------------------------------------- #
# Bad inputs (spec section 7)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"d": 1}, ValueError, "d must be >= 2; got 1"),
        ({"width": 0}, ValueError, "width must be >= 1; got 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1; got 0"),
        ({"label_sign": 0}, ValueError, r"label_sign must be \+1 or -1; got 0"),
        ({"label_sign": 2}, ValueError, r"label_sign must be \+1 or -1; got 2"),
        ({"dist": "laplace"}, ValueError, "dist must be one of 'gaussian'"),
        ({"init_scale": 0.0}, ValueError, "init_scale must be > 0.0; got 0.0"),
        ({"init_scale": -1.0}, ValueError, "init_scale must be > 0.0"),
        ({"lr": 0.0}, ValueError, "lr must be > 0.0; got 0.0"),
        ({"lr": float("nan")}, ValueError, "lr must be finite"),
        ({"steps": 0}, ValueError, "steps must be >= 1; got 0"),
        ({"steps": 10, "record_every": 3}, ValueError, "record_every must divide"),
        ({"df": 2.0}, ValueError, "df must be > 2.0; got 2.0"),
        ({"width": 5, "symmetric_init": True}, ValueError, "width must be even"),
        ({"symmetric_init": 1}, TypeError, "symmetric_init must be a bool"),
        ({"width": 2.5}, TypeError, "width must be an integer"),
    ],
)
def test_config_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        xor.XORConfig(**kwargs)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda k: xor.sample_xor(k, 10, 1), ValueError, "d must be >= 2; got 1"),
        (lambda k: xor.sample_xor(k, 0, 3), ValueError, "n must be >= 1; got 0"),
        (lambda k: xor.sample_xor(k, 5, 3, dist="cauchy"), ValueError, "dist must be"),
        (lambda k: xor.sample_xor(k, 5, 3, label_sign=-2), ValueError, "label_sign"),
        (
            lambda k: xor.sample_xor(k, 5, 3, dist="student_t", df=1.5),
            ValueError,
            "df must be > 2.0",
        ),
        (lambda k: xor.sample_xor(0, 5, 3), TypeError, "key must be a JAX PRNG key"),
        (lambda k: xor.init_params(k, 1, 4), ValueError, "d must be >= 2; got 1"),
        (lambda k: xor.init_params(k, 3, 0), ValueError, "width must be >= 1; got 0"),
        (
            lambda k: xor.init_params(k, 3, 4, init_scale=0.0),
            ValueError,
            "init_scale must be > 0.0",
        ),
        (
            lambda k: xor.init_params(k, 3, 3, symmetric=True),
            ValueError,
            "width must be even",
        ),
        (
            lambda k: xor.init_params(k, 3, 4, dtype=jnp.int32),
            TypeError,
            "dtype must be a floating dtype",
        ),
        (
            lambda k: xor.train_xor(k, {"d": 3}),
            TypeError,
            "config must be an XORConfig",
        ),
        (
            lambda k: xor.train_xor(k, CFG, n_test=0),
            ValueError,
            "n_test must be >= 1; got 0",
        ),
        (
            lambda k: xor.train_xor(k, CFG, on_divergence="ignore"),
            ValueError,
            "on_divergence must be one of",
        ),
        (
            lambda k: xor.train_xor(k, CFG, params=xor.init_params(k, 6, 10)),
            ValueError,
            r"params.W must have shape \(width, d\) = \(24, 6\)",
        ),
        (
            lambda k: xor.train_xor(k, CFG, params=(1, 2)),
            TypeError,
            "params must be an XORParams",
        ),
        (
            lambda k: xor.train_xor(
                k, CFG, params=xor.XORParams(jnp.full((24, 6), jnp.nan), jnp.ones(24))
            ),
            ValueError,
            "params.W must be finite",
        ),
    ],
)
def test_sampling_init_training_bad_inputs(key, call, exc, match):
    with pytest.raises(exc, match=match):
        call(key)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda p: xor.forward(p, jnp.ones((3, 4))),
            ValueError,
            "X must have d = 3 columns",
        ),
        (lambda p: xor.forward(p, jnp.ones(3)), ValueError, "X must be 2-D"),
        (
            lambda p: xor.forward(p, jnp.full((2, 3), jnp.inf)),
            ValueError,
            "X must be finite",
        ),
        (lambda p: xor.forward(p, jnp.ones((2, 3)) * 1j), TypeError, "X must be real"),
        (
            lambda p: xor.forward(xor.XORParams(p.W, p.a[:2]), jnp.ones((2, 3))),
            ValueError,
            r"params.a must have shape \(m,\) = \(5,\)",
        ),
        (
            lambda p: xor.forward("W", jnp.ones((2, 3))),
            TypeError,
            "params must be an XORParams",
        ),
        (
            lambda p: xor.logistic_loss(p, jnp.ones((2, 3)), jnp.ones(3)),
            ValueError,
            "y must have one label per row of X",
        ),
        (lambda p: xor.block_signals(p, label_sign=3), ValueError, "label_sign"),
        (
            lambda p: xor.neuron_blocks(xor.XORParams(p.W[:, :1], p.a)),
            ValueError,
            "params.W must have d >= 2 columns",
        ),
        (
            lambda p: xor.cluster_diagnostics(p, bins=0),
            ValueError,
            "bins must be >= 1; got 0",
        ),
        (
            lambda p: xor.error_regions(jax.random.key(0), p, n_test=1),
            ValueError,
            "n_test must be >= 2; got 1",
        ),
        (
            lambda p: xor.error_regions(jax.random.key(0), p, bin_edges=(0.1, 0.05)),
            ValueError,
            "bin_edges must be increasing",
        ),
        (
            lambda p: xor.error_regions(jax.random.key(0), p, bin_edges=(-1.0, 1.0)),
            ValueError,
            "bin_edges must be increasing, start at >= 0",
        ),
        (
            lambda p: xor.error_regions(jax.random.key(0), p, bin_edges=(0.0,)),
            ValueError,
            "at least two",
        ),
        (
            lambda p: xor.error_regions(
                jax.random.key(0), p, bin_edges=(0.0, float("nan"))
            ),
            ValueError,
            "bin_edges must be finite except a last inf",
        ),
        (
            lambda p: xor.error_regions(
                jax.random.key(0), xor.XORParams(p.W[None], p.a[None])
            ),
            ValueError,
            "params.W must be 2-D",
        ),
    ],
)
def test_network_and_analysis_bad_inputs(key, call, exc, match):
    p = xor.init_params(key, 3, 5)
    with pytest.raises(exc, match=match):
        call(p)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"ratio": -0.5}, ValueError, "ratio must be >= 0; got min -0.5"),
        ({"noise_to_signal": -1.0}, ValueError, "noise_to_signal must be >= 0"),
        (
            {"noise_to_signal": float("nan")},
            ValueError,
            "noise_to_signal must be finite",
        ),
        ({"ratio": float("inf")}, ValueError, "ratio must be finite"),
        ({"ratio": 1 + 1j}, TypeError, "ratio must be real"),
        ({"ratio": "one"}, TypeError, "ratio must be array_like"),
    ],
)
def test_ideal_error_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        xor.ideal_xor_error(**kwargs)


def test_phase_split_bad_inputs(run):
    with pytest.raises(TypeError, match="traj must be an XORTrajectory"):
        xor.phase_split({"rho": run.rho})
    with pytest.raises(ValueError, match=r"rho_threshold must be > 0.0; got 0.0"):
        xor.phase_split(run, rho_threshold=0.0)


def test_band_errors_add_up_to_the_ideal_error():
    """Two independent routes: the M-density per band (weighted by its exact
    mass) and the polar/angular quadrature of the whole error."""
    edges = jnp.array([0.0, 0.01, 0.03, 0.1, 0.4, 1.5, jnp.inf])
    for sigma in (0.004, 0.05, 0.7):
        per_band = xor_theory.band_error_core(edges[:-1], edges[1:], jnp.asarray(sigma))
        lo, hi = np.asarray(edges[:-1]), np.asarray(edges[1:])
        mass = 4 * stats.norm.cdf(-lo) ** 2 - 4 * stats.norm.cdf(-hi) ** 2
        np.testing.assert_allclose(
            np.sum(np.asarray(per_band) * mass),
            xor.ideal_xor_error(noise_to_signal=sigma),
            rtol=1e-10,
        )


# --------------------------------------------------------------------------- #
# Divergence policy
# --------------------------------------------------------------------------- #


def test_divergence_raise_warn_flag(key):
    from mltheory.exceptions import DivergenceError, DivergenceWarning

    bad = dataclasses.replace(CFG, lr=1e4)  # lr is traced: the CFG compilation
    flagged = xor.train_xor(jax.random.key(3), bad, n_test=N_TEST, on_divergence="flag")
    step = int(flagged.first_bad_step)
    assert 0 < step <= 120
    assert bool(flagged.diverged)
    assert flagged.test_error.shape == (4,)
    # The first bad step is the first n with a non-finite state after n steps.
    assert np.all(np.isfinite(flagged.params.W[: math.ceil(step / 40)]))
    with pytest.raises(DivergenceError, match=rf"train_xor diverged.*SGD step {step}"):
        xor.train_xor(jax.random.key(3), bad, n_test=N_TEST)
    with pytest.warns(DivergenceWarning, match="lr = 10000 is too large"):
        cut = xor.train_xor(jax.random.key(3), bad, n_test=N_TEST, on_divergence="warn")
    n_keep = math.ceil(step / 40)
    assert cut.steps.shape == (n_keep,)
    assert cut.params.W.shape == (n_keep, 24, 6)
    assert np.all(np.isfinite(cut.test_error))
    # A batch of keys: the policy names the seed; "warn" cuts every seed.
    keys = jnp.stack([jax.random.key(3), jax.random.key(5)])
    with pytest.raises(DivergenceError, match="batch member"):
        xor.train_xor(keys, bad, n_test=N_TEST)
    with pytest.warns(DivergenceWarning):
        cut = xor.train_xor(keys, bad, n_test=N_TEST, on_divergence="warn")
    assert cut.test_error.shape[0] == 2
    assert cut.test_error.shape[1] <= n_keep


def test_diagnostic_sentinels_are_not_divergence(key):
    # d = 2 has no noise coordinates (rho = inf) and 4 neurons leave blocks
    # with fewer than two members (within-block spread NaN): documented
    # sentinels, while the network and its losses stay finite.
    cfg = xor.XORConfig(d=2, width=4, batch_size=16, steps=20, record_every=10)
    traj = xor.train_xor(key, cfg, n_test=64)
    assert int(traj.first_bad_step) == -1 and not bool(traj.diverged)
    assert traj.steps.shape == (3,)
    assert np.all(np.isinf(traj.rho))
    assert np.isnan(traj.within_block_spread).any()
    assert np.all(np.isfinite(traj.params.W)) and np.all(np.isfinite(traj.train_loss))


# --------------------------------------------------------------------------- #
# Plots
# --------------------------------------------------------------------------- #


def test_plots_draw_label_and_return(run, key):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = run.plot()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    rho_ax, block_ax, err_ax = fig.axes
    assert rho_ax.get_ylabel() == "signal / noise rho"
    assert len([ln for ln in block_ax.get_lines() if ln.get_label().startswith("|S_")])
    assert err_ax.get_yscale() == "log"
    ax = Figure().add_subplot()
    assert run.plot(ax=ax, panel="loss") is ax
    assert {"train loss (SGD)", "test loss (SGD)"} <= set(
        ax.get_legend_handles_labels()[1]
    )
    ax = Figure().add_subplot()
    run.final_params.plot(ax=ax)
    assert len(ax.collections) == 2  # a_j > 0 and a_j <= 0
    assert ax.get_xlabel() == "w_j1"
    ax = Figure().add_subplot()
    xor.cluster_diagnostics(run.final_params, bins=12).plot(ax=ax)
    assert len(ax.patches) == 12
    rep = xor.error_regions(key, run.final_params, n_test=2000)
    ax = Figure().add_subplot()
    rep.plot(ax=ax)
    assert ax.get_ylabel() == "error rate in the band"
    assert "measured" in ax.get_legend_handles_labels()[1]
    plt.close("all")


def test_plots_of_batched_and_traced_results(run):
    from matplotlib.figure import Figure

    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), run, run)
    ax = Figure().add_subplot()
    stacked.plot(ax=ax, panel="rho")
    assert len([ln for ln in ax.get_lines() if ln.get_linestyle() == "None"]) == 2
    with pytest.raises(ValueError, match="batched result"):
        stacked.plot(ax=Figure().add_subplot(), panel="blocks")
    with pytest.raises(ValueError, match="panel must be one of"):
        run.plot(panel="phase")

    def traced(r):
        r.plot(ax=Figure().add_subplot(), panel="error")
        return 0.0

    with pytest.raises(TypeError, match="traced value"):
        jax.jit(traced)(run)


# --------------------------------------------------------------------------- #
# The default run (spec section 6.2): blocks, clusters, error regions
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def default_run():
    # The default configuration (d = 32, m = 256, B = 128, lr = 0.05, 2000
    # steps), in float32 for speed.
    return xor.train_xor(jax.random.key(0), xor.XORConfig(), dtype=jnp.float32)


@pytest.mark.slow
def test_default_run_learns_by_coherent_blocks(default_run):
    traj = default_run
    assert float(traj.test_error[-1]) < 0.03
    assert float(traj.rho[0]) < 0.5 < 5.0 < float(traj.rho[-1])
    split = int(xor.phase_split(traj))
    assert 0 < split < 1000  # phase 1 ends well before the horizon
    # Blocks, not neurons, are coherent: block spread of a few per cent, the
    # spread of the neurons' signals inside each block of order 0.5.
    assert float(traj.block_spread[-1]) < 0.05
    assert float(jnp.min(traj.within_block_spread[-1])) > 0.2
    clusters = xor.cluster_diagnostics(traj.final_params)
    assert float(clusters.diag_concentration) < 0.05
    assert float(clusters.aligned_mass_fraction) > 0.9
    assert float(clusters.plane_mass_fraction) > 0.9


@pytest.mark.slow
def test_default_run_errors_sit_in_the_zero_margin_band(default_run, key):
    rep = xor.error_regions(key, default_run.final_params, n_test=100_000)
    assert float(rep.test_error) < 0.03
    # (2/pi) sigma/c predicts the error within 10 % (measured: ~2 %).
    assert abs(float(rep.predicted_error) / float(rep.test_error) - 1) < 0.1
    edges = np.asarray(rep.bin_edges)
    wrong = np.asarray(rep.err_by_bin) * np.asarray(rep.mass_by_bin)
    assert wrong[edges[:-1] < 0.05].sum() > 0.9 * wrong.sum()
    assert float(rep.err_by_bin[-1]) == 0.0


def test_shared_test_key_scores_every_seed_on_one_test_set(run):
    tk = jax.random.fold_in(jax.random.key(3), 2)  # run's own test-set key
    same = xor.train_xor(jax.random.key(3), CFG, n_test=N_TEST, test_key=tk)
    np.testing.assert_array_equal(same.test_error, run.test_error)
    other = xor.train_xor(
        jax.random.key(3), CFG, n_test=N_TEST, test_key=jax.random.key(99)
    )
    np.testing.assert_array_equal(other.params.W, run.params.W)  # same training
    assert not np.array_equal(other.test_loss, run.test_loss)
    with pytest.raises(TypeError, match="test_key must be a JAX PRNG key"):
        xor.train_xor(jax.random.key(3), CFG, test_key=5)

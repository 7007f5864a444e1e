"""Phase retrieval: losses, the invariant manifold, reduced vs full, threshold law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import numerics
from mltheory.optim import phase_retrieval as pr


@pytest.fixture(scope="module")
def cov16():
    return pr.spiked_covariance(16, 4.0)


@pytest.fixture(scope="module")
def cov_random():
    return pr.spiked_covariance(6, 2.0, s_u=1.5, s_bulk=0.5, key=jax.random.key(3))


# --------------------------------------------------------------------------- #
# covariances and data
# --------------------------------------------------------------------------- #
def test_spiked_covariance_matrix_and_root(cov_random):
    S = cov_random.matrix()
    R = cov_random.sqrt_matrix()
    np.testing.assert_allclose(R @ R, S, atol=1e-12)
    lam = np.sort(np.linalg.eigvalsh(np.asarray(S)))
    np.testing.assert_allclose(lam, [0.5, 0.5, 0.5, 0.5, 1.5, 3.0], atol=1e-12)
    np.testing.assert_allclose(S @ cov_random.u, 1.5 * cov_random.u, atol=1e-12)
    np.testing.assert_allclose(S @ cov_random.v, 3.0 * cov_random.v, atol=1e-12)


def test_power_law_covariance():
    Sigma, theta = pr.power_law_covariance(5, 2.0, signal_index=3)
    np.testing.assert_allclose(np.diag(Sigma), np.arange(1, 6) ** -2.0)
    assert float(theta[3]) == 1.0 and float(jnp.sum(theta)) == 1.0


def test_sample_covariance_and_labels(key, cov_random):
    n = 100_000
    X, y = pr.sample_phase_retrieval(key, n, cov_random.matrix(), cov_random.u)
    np.testing.assert_allclose(y, (X @ cov_random.u) ** 2, atol=1e-12)
    emp = X.T @ X / n
    # entry (i, j) has sd sqrt((S_ii S_jj + S_ij^2) / n) <= sqrt(2 * 3^2 / n)
    tol = 4 * np.sqrt(2 * 9.0 / n)
    assert float(jnp.abs(emp - cov_random.matrix()).max()) < tol


def test_label_noise(key, cov_random):
    X, y = pr.sample_phase_retrieval(
        key, 50_000, cov_random.matrix(), cov_random.u, noise_std=0.5
    )
    resid = y - (X @ cov_random.u) ** 2
    assert abs(float(jnp.std(resid)) - 0.5) < 4 * 0.5 / np.sqrt(2 * 50_000)


# --------------------------------------------------------------------------- #
# losses and gradients
# --------------------------------------------------------------------------- #
def test_population_grad_equals_autodiff(key, cov_random):
    W = jax.random.normal(key, (6, 9)) / 3
    S, u = cov_random.matrix(), cov_random.u
    auto = jax.grad(lambda w: pr.population_loss(w, S, u))(W)
    np.testing.assert_allclose(pr.population_grad(W, S, u), auto, atol=1e-12)


def test_population_loss_and_grad_match_monte_carlo(key, cov_random):
    kw, kx = jax.random.split(key)
    W = jax.random.normal(kw, (6, 6)) / 3
    S, u = cov_random.matrix(), cov_random.u
    n = 200_000
    X, y = pr.sample_phase_retrieval(kx, n, S, u)
    per_sample = 0.25 * (jnp.sum((X @ W) ** 2, axis=1) - y) ** 2
    emp = pr.empirical_loss(W, X, y)
    np.testing.assert_allclose(emp, jnp.mean(per_sample), rtol=1e-12)
    # Monte Carlo mean: tolerance 4 standard errors
    se = float(jnp.std(per_sample)) / np.sqrt(n)
    assert abs(float(emp - pr.population_loss(W, S, u))) < 4 * se
    g_emp = jax.grad(pr.empirical_loss)(W, X, y)
    g_pop = pr.population_grad(W, S, u)
    assert float(jnp.linalg.norm(g_emp - g_pop) / jnp.linalg.norm(g_pop)) < 0.05


def test_population_loss_at_solution_is_zero(cov_random):
    W = jnp.outer(cov_random.u, jnp.eye(6)[0])
    S = cov_random.matrix()
    assert float(pr.population_loss(W, S, cov_random.u)) == pytest.approx(0, abs=1e-15)
    assert float(jnp.abs(pr.population_grad(W, S, cov_random.u)).max()) < 1e-14


def test_losses_work_under_jit(key, cov_random):
    W = jax.random.normal(key, (6, 6))
    S, u = cov_random.matrix(), cov_random.u
    jitted = jax.jit(pr.population_loss)(W, S, u)
    np.testing.assert_allclose(jitted, pr.population_loss(W, S, u), rtol=1e-13)


# --------------------------------------------------------------------------- #
# summary statistics
# --------------------------------------------------------------------------- #
def test_summary_stats_against_numpy(key, cov_random):
    W = np.asarray(jax.random.normal(key, (6, 8)))
    u, v = np.asarray(cov_random.u), np.asarray(cov_random.v)
    P = np.eye(6) - np.outer(u, u) - np.outer(v, v)
    s = pr.summary_stats(W, cov_random)
    A = W @ W.T
    assert float(s.a) == pytest.approx(np.linalg.norm(W.T @ u), rel=1e-12)
    assert float(s.b) == pytest.approx(np.linalg.norm(W.T @ v), rel=1e-12)
    assert float(s.c) == pytest.approx(np.linalg.norm(P @ W) / 2.0, rel=1e-12)
    rho = np.sum(A * np.outer(u, u)) / np.linalg.norm(A)
    assert float(s.alignment) == pytest.approx(rho, rel=1e-12)
    assert float(s.spike_ratio) == pytest.approx(float(s.b / s.a), rel=1e-12)


def test_summary_round_trips_as_pytree(cov16):
    s = pr.summary_stats(jnp.eye(16), cov16)
    leaves, tree = jax.tree.flatten(s)
    assert len(leaves) == 6
    assert jax.tree.unflatten(tree, leaves) == s
    traj = pr.simulate_reduced(cov16, method="gd", lr=0.002, steps=5)
    back = jax.tree.unflatten(*reversed(jax.tree.flatten(traj)))
    assert back.method == "gd" and bool(jnp.all(back.a == traj.a))


# --------------------------------------------------------------------------- #
# the invariant manifold and the reduced recursion
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", ["gd", "specgd"])
def test_full_run_stays_on_the_manifold(cov16, method):
    """From W0 = eps I the iterates stay diagonal with equal bulk entries."""
    S, u = cov16.matrix(), cov16.u

    @jax.jit
    def run(w):
        def step(w, _):
            g = pr.population_grad(w, S, u)
            d = numerics.polar_svd(g) if method == "specgd" else g
            return w - 0.005 * d, None

        return jax.lax.scan(step, w, None, length=200)[0]

    W = np.asarray(run(1e-3 * jnp.eye(16)))
    assert np.abs(W - np.diag(np.diag(W))).max() <= 1e-12
    bulk = np.diag(W)[2:]
    assert np.ptp(bulk) <= 1e-12 * max(1.0, np.abs(bulk).max())


@pytest.mark.parametrize(
    ("method", "kwargs", "lr", "tol"),
    [
        ("specgd", {"polar_method": "svd"}, 0.01, 1e-10),
        ("gd", {}, 0.002, 1e-10),
        # NS at lr = 0.01 makes the bulk oscillate chaotically (round-off grows
        # from 1e-16 to 1e-2 within 100 steps); at lr = 0.002 it is smooth.
        ("specgd", {"polar_method": "ns"}, 0.002, 1e-9),
    ],
)
def test_reduced_equals_full(cov16, method, kwargs, lr, tol):
    steps = 300
    polar = "ns" if kwargs.get("polar_method") == "ns" else "sign"
    red = pr.simulate_reduced(cov16, method=method, lr=lr, steps=steps, polar=polar)
    full = pr.simulate_full(
        jax.random.key(0), cov16, method=method, lr=lr, steps=steps, **kwargs
    )
    for name in ("a", "b", "c", "alignment", "loss"):
        diff = float(jnp.abs(getattr(red, name) - getattr(full, name)).max())
        assert diff <= tol, (name, diff)


def test_wide_isotropic_student_matches_reduced(cov16):
    """m > d: W0 = eps Q with random orthonormal rows, still on the manifold."""
    red = pr.simulate_reduced(cov16, method="specgd", lr=0.01, steps=100)
    full = pr.simulate_full(
        jax.random.key(1), cov16, method="specgd", lr=0.01, steps=100, width=24
    )
    assert float(jnp.abs(red.a - full.a).max()) < 1e-10
    assert float(jnp.abs(red.c - full.c).max()) < 1e-10


def test_record_every_subsamples(cov16):
    every = pr.simulate_full(
        jax.random.key(0), cov16, method="gd", lr=0.002, steps=40, record_every=10
    )
    red = pr.simulate_reduced(cov16, method="gd", lr=0.002, steps=40)
    assert every.steps.tolist() == [0, 10, 20, 30, 40]
    np.testing.assert_allclose(every.a, red.a[::10], atol=1e-12)


@pytest.mark.slow
def test_finite_sample_run_tracks_population_run():
    """n = 20000 samples at d = 8: the empirical gradient is within ~1/sqrt(n)."""
    cov = pr.spiked_covariance(8, 4.0)
    kw = {"method": "specgd", "lr": 0.01, "steps": 150, "record_every": 50}
    pop = pr.simulate_full(jax.random.key(0), cov, **kw)
    emp = pr.simulate_full(jax.random.key(0), cov, n_samples=20_000, **kw)
    mini = pr.simulate_full(
        jax.random.key(0), cov, n_samples=20_000, batch_size=2000, **kw
    )
    assert float(jnp.abs(pop.a - emp.a).max()) < 0.05
    assert float(mini.alignment[-1]) > 0.8


def test_same_key_same_result_and_gaussian_init_is_off_manifold(cov16):
    kw = {"method": "gd", "lr": 0.002, "steps": 20, "init": "gaussian"}
    t1 = pr.simulate_full(jax.random.key(5), cov16, n_samples=64, **kw)
    t2 = pr.simulate_full(jax.random.key(5), cov16, n_samples=64, **kw)
    t3 = pr.simulate_full(jax.random.key(6), cov16, n_samples=64, **kw)
    assert bool(jnp.all(t1.a == t2.a)) and not bool(jnp.all(t1.a == t3.a))


# --------------------------------------------------------------------------- #
# spike amplification and escape
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def cov64_grid():
    return {k: pr.spiked_covariance(64, k) for k in (0.0, 1.0, 2.0, 4.0, 8.0)}


def test_gd_amplifies_spike_above_threshold(cov64_grid):
    above = pr.simulate_reduced(cov64_grid[4.0], method="gd", lr=0.002, steps=3000)
    below = pr.simulate_reduced(cov64_grid[1.0], method="gd", lr=0.005, steps=3000)
    assert float(above.spike_ratio.max()) > 5.0
    assert float(below.spike_ratio.max()) <= 1.0 + 1e-9


@pytest.mark.parametrize("kappa", [0.0, 2.0, 4.0, 8.0])
def test_specgd_never_raises_spike_ratio(cov64_grid, kappa):
    traj = pr.simulate_reduced(cov64_grid[kappa], method="specgd", lr=0.002, steps=3000)
    assert float(traj.spike_ratio.max()) <= 1.0 + 1e-12
    # a reaches 0.99 after ~(0.99 - eps)/lr = 495 steps, independently of kappa
    first = int(jnp.argmax(traj.a > 0.99))
    assert abs(first - 495) <= 2


@pytest.mark.parametrize("kappa", [0.0, 1.0, 2.0, 4.0, 8.0])
def test_escape_rates_threshold_law(cov64_grid, kappa):
    cov = cov64_grid[kappa]
    gd = pr.escape_rates(cov, 0.002, "gd")
    assert bool(gd.amplifies_spike) == (1.0 + kappa > 3.0)
    assert not bool(pr.escape_rates(cov, 0.002, "specgd").amplifies_spike)
    # first-step growth factors of the exact recursion = the linearised rates
    traj = pr.simulate_reduced(cov, method="gd", lr=0.002, steps=1)
    np.testing.assert_allclose(traj.a[1] / traj.a[0], gd.signal, rtol=1e-5)
    np.testing.assert_allclose(traj.b[1] / traj.b[0], gd.spike, rtol=1e-5)
    np.testing.assert_allclose(traj.c[1] / traj.c[0], gd.bulk, rtol=1e-4)


def test_gd_escape_time_prediction(cov64_grid):
    cov = cov64_grid[0.0]
    rates = pr.escape_rates(cov, 0.002, "gd")
    traj = pr.simulate_reduced(cov, method="gd", lr=0.002, steps=3000)
    # the linearisation ignores the slowdown near a = 1: within 15%
    t_half = int(jnp.argmax(traj.a > 0.5))
    assert abs(t_half / float(rates.escape_steps) - 1) < 0.15


def test_lr_schedule_multiplies_lr(cov16):
    const = pr.simulate_reduced(cov16, method="specgd", lr=0.01, steps=50)
    halved = pr.simulate_reduced(
        cov16, method="specgd", lr=0.02, steps=50, lr_schedule=lambda k: 0.5
    )
    np.testing.assert_allclose(const.a, halved.a, atol=1e-15)


def test_compare_gd_specgd(cov64_grid):
    cmp = pr.compare_gd_specgd(
        cov64_grid[4.0], lr_gd=0.002, lr_specgd=0.002, steps=3000
    )
    assert float(cmp.gd.alignment.min()) < 0.05 < float(cmp.specgd.alignment.min())


# --------------------------------------------------------------------------- #
# bad inputs (spec section 7)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((2, 1.0), {}, "d must be >= 3"),
        ((5, -1.0), {}, "kappa must be > -1"),
        ((5, 1.0), {"s_u": 0.0}, "s_u must be > 0"),
        ((5, 1.0), {"s_bulk": -1.0}, "s_bulk must be > 0"),
        ((3, 1.0), {"u": [1, 0, 0], "v": [0.6, 0.8, 0]}, "u and v must be orthogonal"),
        ((3, 1.0), {"u": [0, 0, 0], "v": [0, 1, 0]}, "u must be a nonzero vector"),
        ((3, 1.0), {"u": [1, 0, 0]}, "u and v must be given together"),
        ((3, 1.0), {"u": [1, 0], "v": [0, 1]}, r"u must have shape \(3,\)"),
    ],
)
def test_spiked_covariance_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pr.spiked_covariance(*args, **kwargs)


def test_non_unit_direction_is_normalised_with_warning():
    with pytest.warns(UserWarning, match="u has norm 2"):
        cov = pr.spiked_covariance(3, 1.0, u=[2.0, 0, 0], v=[0, 1.0, 0])
    assert float(cov.u[0]) == 1.0


@pytest.mark.parametrize(
    ("Sigma", "match"),
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), "Sigma must be symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "Sigma must be positive semidefinite"),
        (np.ones((2, 3)), r"Sigma must be square"),
        (np.array([[np.nan, 0], [0, 1.0]]), "Sigma must be finite"),
    ],
)
def test_bad_sigma(Sigma, match):
    with pytest.raises(ValueError, match=match):
        pr.population_loss(np.eye(2), Sigma, np.array([1.0, 0.0]))


def test_bad_theta_and_weights():
    with pytest.raises(ValueError, match="theta_star must be a nonzero vector"):
        pr.population_grad(np.eye(2), np.eye(2), np.zeros(2))
    with pytest.warns(UserWarning, match="theta_star has norm"):
        pr.population_loss(np.eye(2), np.eye(2), np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match=r"W must have shape \(2, m\)"):
        pr.population_loss(np.eye(3), np.eye(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="n must be >= 1"):
        pr.sample_phase_retrieval(jax.random.key(0), 0, np.eye(2), np.array([1.0, 0]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 8}, "width must be >= d = 16"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"n_samples": 0}, "n_samples must be >= 1"),
        ({"batch_size": 10}, "batch_size needs n_samples"),
        ({"record_every": 3}, "steps must be a multiple of record_every"),
        ({"method": "adam"}, "method must be one of"),
        ({"init": "zeros"}, "init must be one of"),
        ({"init_scale": 0.0}, "init_scale must be > 0"),
    ],
)
def test_simulate_full_bad_inputs(cov16, kwargs, match):
    base = {"method": "gd", "lr": 0.01, "steps": 10}
    with pytest.raises(ValueError, match=match):
        pr.simulate_full(jax.random.key(0), cov16, **{**base, **kwargs})


def test_simulate_reduced_bad_inputs(cov16):
    with pytest.raises(ValueError, match="steps must be >= 1"):
        pr.simulate_reduced(cov16, method="gd", lr=0.01, steps=0)
    with pytest.raises(ValueError, match="polar must be one of"):
        pr.simulate_reduced(cov16, method="specgd", lr=0.01, steps=5, polar="svd")
    with pytest.raises(TypeError, match="cov must be a SpikedCovariance"):
        pr.simulate_reduced(np.eye(16), method="gd", lr=0.01, steps=5)
    with pytest.raises(TypeError, match="lr_schedule must be callable"):
        pr.simulate_reduced(cov16, method="gd", lr=0.01, steps=5, lr_schedule=0.5)

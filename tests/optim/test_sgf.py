"""Tests of mltheory.optim.sgf: the SGD <-> SGF mapping and the simulators."""

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from mltheory.numerics import TimeGrid
from mltheory.optim.sgf import SGFTrajectory, sgd_to_sgf, simulate_sgd, simulate_sgf

D, N = 100, 200  # d = 100 is the smallest size without the finite-size warning


def square(r, y):
    return 0.5 * (r[0] - y) ** 2


@pytest.fixture(scope="module")
def data():
    kx, kt, ke = jax.random.split(jax.random.key(0), 3)
    X = jax.random.normal(kx, (N, D)) / np.sqrt(D)
    star = jax.random.normal(kt, (D, 1))
    y = (X @ star)[:, 0] + 0.5 * jax.random.normal(ke, (N,))
    return X, y, star


# --- mapping ------------------------------------------------------------------


def test_sgd_to_sgf_is_lr_over_batch_and_lr_over_d():
    tau, dt = sgd_to_sgf(0.3, 6, 600)
    assert tau == pytest.approx(0.05)
    assert dt == pytest.approx(0.0005)


@pytest.mark.parametrize(
    ("args", "match"),
    [((0.0, 1, 10), "lr must be > 0"), ((0.1, 0, 10), "batch_size must be >= 1")],
)
def test_sgd_to_sgf_rejects_bad_values(args, match):
    with pytest.raises(ValueError, match=match):
        sgd_to_sgf(*args)


# --- SGF ----------------------------------------------------------------------


def test_sgf_at_zero_temperature_is_gradient_descent(data):
    """tau = 0 Euler-Maruyama is GD: theta_k = th_inf + (I - dt A)^k (th0 - th_inf)."""
    X, y, _ = data
    # The grid of the Heun test (the grid is static): one compilation.
    grid = TimeGrid(1.0, 10)
    traj = simulate_sgf(
        jax.random.key(1), X, y, jnp.zeros((D, 1)), loss=square, tau=0.0, grid=grid
    )
    Xn, yn = np.asarray(X), np.asarray(y)
    A = Xn.T @ Xn * D / N
    b = Xn.T @ yn * D / N
    th_inf = np.linalg.lstsq(A, b, rcond=None)[0]
    step = np.linalg.matrix_power(np.eye(D) - grid.dt * A, grid.n_steps)
    theta = th_inf + step @ (np.zeros(D) - th_inf)
    np.testing.assert_allclose(traj.theta_final[:, 0], theta, atol=1e-10)
    train = 0.5 * np.mean((Xn @ theta - yn) ** 2)
    assert float(traj.train_loss[-1]) == pytest.approx(train, rel=1e-10)


def test_sgf_noise_covariance_is_tau_over_delta_sum_x_xT_ell2(data):
    """One EM step's increment has covariance (tau dt / delta) sum_i x_i x_i^T ell_i^2.

    Checked on the quadratic form v^T Cov v for two directions with 4000 draws;
    the tolerance is 4 standard errors of a variance estimate (sqrt(2/n)).
    """
    X, y, _ = data
    grid, tau = TimeGrid(0.01, 1), 0.5
    theta0 = jnp.zeros((D, 1))

    def increment(key):
        out = simulate_sgf(key, X, y, theta0, loss=square, tau=tau, grid=grid)
        return out.theta_final[:, 0]

    incs = jax.vmap(increment)(jax.random.split(jax.random.key(2), 4000))
    ell = -np.asarray(y)
    drift = -grid.dt * (np.asarray(X).T @ ell) * D / N
    noise = np.asarray(incs) - drift
    cov = tau * grid.dt * D / N * (np.asarray(X).T * ell**2) @ np.asarray(X)
    for v in (np.ones(D) / np.sqrt(D), np.asarray(X)[0] / np.linalg.norm(X[0])):
        want = v @ cov @ v
        got = np.mean((noise @ v) ** 2)
        assert abs(got / want - 1) < 4 * np.sqrt(2 / 4000)


def test_heun_drift_has_smaller_drift_error_than_euler(data):
    """tau = 0, against the exact flow exp(-t A): Heun beats Euler on a coarse grid."""
    X, y, _ = data
    grid = TimeGrid(1.0, 10)
    Xn, yn = np.asarray(X), np.asarray(y)
    A = Xn.T @ Xn * D / N
    b = Xn.T @ yn * D / N
    exact = -scipy.linalg.expm(-A) @ np.linalg.lstsq(A, b, rcond=None)[0]
    exact = exact + np.linalg.lstsq(A, b, rcond=None)[0]
    errs = {}
    for method in ("euler_maruyama", "heun_drift"):
        traj = simulate_sgf(
            jax.random.key(0),
            X,
            y,
            jnp.zeros((D, 1)),
            loss=square,
            tau=0.0,
            grid=grid,
            method=method,
        )
        errs[method] = np.linalg.norm(np.asarray(traj.theta_final[:, 0]) - exact)
    assert errs["heun_drift"] < 0.2 * errs["euler_maruyama"]


def test_drift_implicit_em_is_stable_for_a_stiff_ridge(data):
    """dt * ridge = 3 > 2: explicit EM explodes, the implicit scheme decays."""
    X, y, _ = data
    grid = TimeGrid(3.0, 10)
    kw = dict(loss=square, tau=0.1, grid=grid, ridge=10.0)
    theta0 = jnp.ones((D, 1))
    em = simulate_sgf(jax.random.key(0), X, y, theta0, **kw)
    imp = simulate_sgf(
        jax.random.key(0), X, y, theta0, method="drift_implicit_em", **kw
    )
    assert float(em.overlaps[-1, 0, 0]) > 1e6
    assert float(imp.overlaps[-1, 0, 0]) < 0.1


def test_same_key_same_result_and_records(data):
    X, y, star = data
    kw = dict(
        loss=square,
        tau=0.5,
        grid=TimeGrid(1.0, 10),
        record_every=5,
        theta_star=star,
        observables=lambda th: jnp.sum(th),
    )
    a = simulate_sgf(jax.random.key(3), X, y, jnp.zeros(D), **kw)
    b = simulate_sgf(jax.random.key(3), X, y, jnp.zeros(D), **kw)
    c = simulate_sgf(jax.random.key(4), X, y, jnp.zeros(D), **kw)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    assert not np.allclose(a.train_loss[1:], c.train_loss[1:])
    assert a.ts.shape == (3,) and a.theta_final.shape == (D,)
    assert a.teacher_overlaps.shape == (3, 1, 1) and a.observed.shape == (3,)


def test_trajectory_is_a_pytree(data):
    X, y, _ = data
    traj = simulate_sgf(
        jax.random.key(0),
        X,
        y,
        jnp.zeros((D, 1)),
        loss=square,
        tau=0.5,
        grid=TimeGrid(1.0, 10),
    )
    leaves, tree = jax.tree_util.tree_flatten(traj)
    back = jax.tree_util.tree_unflatten(tree, leaves)
    assert isinstance(back, SGFTrajectory)
    np.testing.assert_array_equal(back.train_loss, traj.train_loss)
    assert dataclasses.replace(traj, test_loss=None).test_loss is None


def test_row_blocks_cover_the_rows_once_in_order(monkeypatch):
    from mltheory.optim import sgf

    # Off by default (slower on an idle machine; see the comment in sgf.py).
    assert sgf._BLOCK_BYTES is None and sgf._row_blocks(2000, 1000, 8) is None
    monkeypatch.setattr(sgf, "_BLOCK_BYTES", 768 * 1024)
    assert sgf._row_blocks(N, D, 8) is None  # 160 kB: stays in cache as one block
    blocks = sgf._row_blocks(2000, 1000, 8)  # the benchmark's X, 16 MB
    assert blocks[0] == (0, 98) and blocks[-1][1] == 2000 and len(blocks) == 21
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
    many = sgf._row_blocks(10**6, 100, 8)  # 800 MB: capped, bigger blocks
    assert len(many) <= sgf._MAX_BLOCKS and many[-1][1] == 10**6


def _reordered_sum_case(data, case):
    """Inputs of one simulate_sgf call for the tests of re-ordered sums below."""
    X, y, _ = data
    kw = dict(tau=0.5, grid=TimeGrid(1.0, 20), record_every=10, loss=square)
    key = jax.random.key(7)
    theta0 = 0.1 * jax.random.normal(jax.random.key(8), (D,))
    if case == "em_two_columns":
        # two columns, a (n, 2) target and a non-quadratic loss
        theta0 = 0.1 * jax.random.normal(jax.random.key(8), (D, 2))
        y = jnp.stack([y, jnp.tanh(y)], axis=1)
        kw["loss"] = lambda r, yi: jnp.sum(jnp.logaddexp(0.0, -r * yi))
        key = jax.random.split(key, 2)  # and a batch of seeds
    if case == "implicit_ridge":
        kw.update(method="drift_implicit_em", ridge=0.3, reg_grad=jnp.tanh)
    if case == "heun_drift":
        kw.update(method="heun_drift", ridge=0.3)
    return (key, X, y, theta0), kw


def _assert_same_update(other, reference, theta0):
    # equal to rounding: 1e-11 allows the growth over 20 steps and is far
    # below the O(1) change of a wrong noise or a misaligned block of rows
    scale = float(jnp.max(jnp.abs(reference.theta_final)))
    np.testing.assert_allclose(
        other.theta_final, reference.theta_final, rtol=0, atol=1e-11 * scale
    )
    np.testing.assert_allclose(other.train_loss, reference.train_loss, rtol=1e-11)
    moved = reference.theta_final.reshape(-1, *theta0.shape) - theta0[None]
    assert float(jnp.max(jnp.abs(moved))) > 0.05  # it moved


@pytest.mark.parametrize("case", ["em_square", "em_two_columns", "implicit_ridge"])
def test_row_blocked_step_equals_the_two_product_step(data, monkeypatch, case):
    """The row-blocked fused pass (used for X larger than L2) is the same
    Euler-Maruyama update: same key, same draws, the same sums in another
    order, so equal to rounding (~1e-15 relative per step)."""
    from mltheory.optim import sgf

    args, kw = _reordered_sum_case(data, case)
    monkeypatch.setattr(sgf, "_BLOCK_BYTES", None)
    plain = simulate_sgf(*args, **kw)
    # 34 rows per block: 6 blocks, the last one of 30 rows
    monkeypatch.setattr(sgf, "_BLOCK_BYTES", 34 * D * 8)
    assert sgf._row_blocks(N, D, 8)[-2:] == ((136, 170), (170, 200))
    _assert_same_update(simulate_sgf(*args, **kw), plain, args[3])


def test_xt_parts_choice(monkeypatch):
    from mltheory.optim import sgf

    # the benchmark's X (16 MB) on CPU: 4 row blocks; small X or an
    # accelerator: one product; 4 must divide n, else 2, else one product
    assert sgf._xt_parts(2000, 1000, 8, True) == 4
    assert sgf._xt_parts(2000, 1000, 8, False) == 1
    assert sgf._xt_parts(N, D, 8, True) == 1  # 160 kB
    assert sgf._xt_parts(2002, 1000, 8, True) == 2
    assert sgf._xt_parts(2001, 1000, 8, True) == 1
    monkeypatch.setattr(sgf, "_XT_PARTS", 1)
    assert sgf._xt_parts(2000, 1000, 8, True) == 1


@pytest.mark.parametrize(
    "case", ["em_square", "em_two_columns", "implicit_ridge", "heun_drift"]
)
def test_split_xt_product_equals_the_single_product(data, monkeypatch, case):
    """X^T v summed over 4 row blocks (the CPU default for X over 2 MB) is the
    same update: same key, same draws, the same sums in another order."""
    from mltheory.optim import sgf

    args, kw = _reordered_sum_case(data, case)
    monkeypatch.setattr(sgf, "_XT_PARTS", 1)
    single = simulate_sgf(*args, **kw)
    monkeypatch.setattr(sgf, "_XT_PARTS", 4)
    monkeypatch.setattr(sgf, "_XT_PARTS_MIN_BYTES", 0)
    assert sgf._xt_parts(N, D, 8, True) == 4
    _assert_same_update(simulate_sgf(*args, **kw), single, args[3])


# --- SGD ----------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 8])
def test_sgd_matches_sgf_at_the_same_temperature(data, batch_size):
    """Mean loss curves of SGD (lr = tau B) and SGF agree (6 seeds each).

    Tolerance: 10 % of the initial loss, about 4 standard errors of the
    difference of the two seed means at these sizes.
    """
    X, y, _ = data
    tau, t_max = 0.25, 2.0
    lr = tau * batch_size
    n_steps = int(t_max * D / lr)
    keys = jax.random.split(jax.random.key(5), 6)
    sgd = jax.vmap(
        lambda k: (
            simulate_sgd(
                k,
                X,
                y,
                jnp.zeros((D, 1)),
                loss=square,
                lr=lr,
                batch_size=batch_size,
                n_steps=n_steps,
                record_every=n_steps // 4,
            ).train_loss
        )
    )(keys)
    sgf = jax.vmap(
        lambda k: (
            simulate_sgf(
                k,
                X,
                y,
                jnp.zeros((D, 1)),
                loss=square,
                tau=tau,
                grid=TimeGrid(t_max, 40),
                record_every=10,
            ).train_loss
        )
    )(keys)
    diff = np.abs(np.asarray(sgd.mean(0) - sgf.mean(0)))
    assert diff.max() < 0.1 * float(sgf[0, 0])


def linear_loss(r, y):
    """L(r; y) = -y r: ell_i = -y_i does not depend on theta, so SGD's noise is
    exactly the sampling noise of the batch sums."""
    return -y * r[0]


def test_sgd_noise_is_the_sgf_noise_with_replacement_and_cancels_per_epoch(data):
    """The noise of the sampling schemes against their closed forms.

    With ell_i = -y_i fixed, theta_K = (lr / B) * (sum of x_i y_i over the K B
    sampled indices), so for a direction u, u^T theta_K is lr / B times a sum
    of K B draws of v_i = (u^T x_i) y_i. u is taken orthogonal to X^T y, so the
    v_i average to zero (the full-batch drift drops out of u^T theta). With
    replacement the draws are i.i.d.: variance K B s^2 (lr / B)^2 with
    s^2 = mean(v_i^2), which is exactly the SGF's diffusion
    (tau / delta) u^T X^T diag(ell^2) X u over SGF time K lr / d at
    tau = lr / B. Epoch-reshuffled, the K B indices of one epoch are distinct:
    variance times (n - K B) / (n - 1), so half at half an epoch and zero at its
    end (every sample once: the noise cancels). 2000 replicates; tolerance 4
    standard errors of the sample variance (from its fourth moment).
    """
    X, y, _ = data
    B, per_epoch, lr, reps = 4, N // 4, 0.5, 2000
    u = jax.random.normal(jax.random.key(7), (D,))
    g = X.T @ y
    u = u - (u @ g) / (g @ g) * g
    v = np.asarray((X @ u) * y)
    assert abs(v.mean()) < 1e-12
    s2 = np.mean(v**2)

    def run(sampling):
        return jax.vmap(
            lambda k: (
                simulate_sgd(
                    k,
                    X,
                    y,
                    jnp.zeros((D, 1)),
                    loss=linear_loss,
                    lr=lr,
                    batch_size=B,
                    n_steps=per_epoch,
                    record_every=per_epoch // 2,
                    sampling=sampling,
                    observables=lambda th: th[:, 0] @ u,
                ).observed
            )
        )(jax.random.split(jax.random.key(3), reps))

    def var_and_se(x):
        x = np.asarray(x) - np.mean(x)
        return x.var(), np.sqrt((np.mean(x**4) - x.var() ** 2) / x.size)

    wr, sh = run("with_replacement"), run("epoch_shuffle")
    tau, delta = lr / B, N / D
    for j, K in ((1, per_epoch // 2), (2, per_epoch)):
        want = K * B * s2 * (lr / B) ** 2
        sgf = (tau / delta) * np.sum(v**2) * (K * lr / D)  # the SGF diffusion
        assert want == pytest.approx(sgf, rel=1e-12)
        got, se = var_and_se(wr[:, j])
        assert abs(got - want) < 4 * se, (K, got, want, se)
        assert abs(np.mean(wr[:, j])) < 4 * np.sqrt(want / reps)
    got, se = var_and_se(sh[:, 1])
    want = (per_epoch // 2) * B * s2 * (lr / B) ** 2 * (N - N // 2) / (N - 1)
    assert abs(got - want) < 4 * se, (got, want, se)
    # One full epoch: every replicate sums each v_i exactly once, to zero.
    scale = lr / B * np.sqrt(np.sum(v**2))
    np.testing.assert_allclose(sh[:, 2], 0.0, atol=1e-12 * scale)


def test_sgd_default_sampling_and_same_key_same_result(data):
    X, y, _ = data
    kw = dict(loss=square, lr=0.5, batch_size=4, n_steps=100, record_every=50)
    key = jax.random.key(11)
    default = simulate_sgd(key, X, y, jnp.zeros((D, 1)), **kw)
    wr = simulate_sgd(key, X, y, jnp.zeros((D, 1)), sampling="with_replacement", **kw)
    np.testing.assert_array_equal(default.theta_final, wr.theta_final)
    for sampling in ("with_replacement", "epoch_shuffle"):
        a, b, c = (
            simulate_sgd(k, X, y, jnp.zeros((D, 1)), sampling=sampling, **kw)
            for k in (key, key, jax.random.key(12))
        )
        np.testing.assert_array_equal(a.theta_final, b.theta_final)
        np.testing.assert_array_equal(a.train_loss, b.train_loss)
        assert not np.allclose(a.theta_final, c.theta_final)
    sh = simulate_sgd(key, X, y, jnp.zeros((D, 1)), sampling="epoch_shuffle", **kw)
    assert not np.allclose(sh.theta_final, wr.theta_final)


@pytest.mark.parametrize("sampling", ["epoch_shuffle", "with_replacement"])
def test_sgd_time_axis_and_descent(data, sampling):
    X, y, _ = data
    traj = simulate_sgd(
        jax.random.key(0),
        X,
        y,
        jnp.zeros((D, 1)),
        loss=square,
        lr=0.5,
        batch_size=4,
        n_steps=400,
        record_every=200,
        sampling=sampling,
    )
    np.testing.assert_allclose(traj.ts, [0.0, 1.0, 2.0])
    assert float(traj.train_loss[-1]) < 0.5 * float(traj.train_loss[0])


def test_epoch_shuffle_visits_each_sample_once_per_epoch():
    """With lr tiny, one epoch of B = n/4 batches sums every gradient exactly once."""
    d, n = 100, 8
    X = jnp.eye(n, d)
    y = jnp.arange(1.0, n + 1.0)
    traj = simulate_sgd(
        jax.random.key(0),
        X,
        y,
        jnp.zeros((d, 1)),
        loss=square,
        lr=1e-3,
        batch_size=2,
        n_steps=4,
        sampling="epoch_shuffle",
    )
    # theta_j moves by lr / B * y_j for each sample j = row j, once.
    np.testing.assert_allclose(traj.theta_final[:n, 0], 1e-3 / 2 * y, rtol=1e-3)


# --- bad inputs ---------------------------------------------------------------


def test_bad_inputs_raise_clear_errors(data):
    X, y, _ = data
    th = jnp.zeros((D, 1))
    grid = TimeGrid(1.0, 4)
    kw = dict(loss=square, tau=0.5, grid=grid)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="X must be 2-D"):
        simulate_sgf(key, X[0], y, th, **kw)
    with pytest.raises(ValueError, match="y must have length n_samples = 200"):
        simulate_sgf(key, X, y[:10], th, **kw)
    with pytest.raises(ValueError, match=r"theta0 must have shape \(d, k\)"):
        simulate_sgf(key, X, y, jnp.zeros((5, 1)), **kw)
    with pytest.raises(ValueError, match="must be finite"):
        simulate_sgf(key, X.at[0, 0].set(jnp.nan), y, th, **kw)
    with pytest.raises(ValueError, match="tau"):
        simulate_sgf(key, X, y, th, loss=square, tau=-1.0, grid=grid)
    with pytest.raises(ValueError, match="record_every must be >= 1"):
        simulate_sgf(key, X, y, th, record_every=0, **kw)
    with pytest.raises(ValueError, match="method must be one of"):
        simulate_sgf(key, X, y, th, method="rk4", **kw)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        simulate_sgf(0, X, y, th, **kw)
    with pytest.raises(ValueError, match=r"dloss\(r, y_i\) must return shape \(1,\)"):
        simulate_sgf(key, X, y, th, dloss=lambda r, yi: jnp.zeros(3), **kw)
    with pytest.raises(TypeError, match="Pass dloss"):
        simulate_sgf(key, X, y, th, loss=lambda r, yi: float(r[0]), tau=0.5, grid=grid)
    sgd = dict(loss=square, lr=0.1, n_steps=4)
    with pytest.raises(ValueError, match="batch_size must be <= 200"):
        simulate_sgd(key, X, y, th, batch_size=201, **sgd)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        simulate_sgd(key, X, y, th, batch_size=0, **sgd)
    with pytest.raises(ValueError, match="lr must be > 0"):
        simulate_sgd(key, X, y, th, loss=square, lr=0.0, batch_size=1, n_steps=4)
    with pytest.raises(ValueError, match="record_every must divide n_steps"):
        simulate_sgd(key, X, y, th, batch_size=1, record_every=3, **sgd)
    with pytest.raises(ValueError, match="sampling must be one of"):
        simulate_sgd(key, X, y, th, batch_size=1, sampling="cyclic", **sgd)
    with pytest.raises(ValueError, match=r"sampling must be one of.*'with_replace"):
        simulate_sgd(key, X, y, th, batch_size=1, sampling="reshuffle", **sgd)


def test_small_d_warns():
    X = jnp.ones((20, 10)) / 10
    with pytest.warns(UserWarning, match="finite-size effects dominate"):
        simulate_sgf(
            jax.random.key(0),
            X,
            jnp.zeros(20),
            jnp.zeros((10, 1)),
            loss=square,
            tau=0.0,
            grid=TimeGrid(1.0, 2),
        )

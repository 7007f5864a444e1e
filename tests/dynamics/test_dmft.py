"""Tests of mltheory.dynamics.dmft: the SGF-DMFT solvers and their special cases."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory.dynamics import _dmft_checks, _dmft_solve, dmft
from mltheory.exceptions import ConvergenceWarning
from mltheory.numerics import TimeGrid

SIGMA = 0.5
SQ = dmft.glm("square", noise_std=SIGMA)
GRID = TimeGrid(2.0, 20)
N_MC = 4000
CFG = dmft.DMFTConfig(n_samples=N_MC)


def mc_tolerance(res):
    """4 standard errors per time plus 2 % of the curve's scale.

    The 2 % floor is the bias of the Stein-regression kernels measured against
    the deterministic solution at N = 16000 (it does not shrink with N there).
    """
    return 4 * np.asarray(res.train_loss_se) + 0.02 * float(res.train_loss[0])


@pytest.fixture(scope="module")
def causal():
    return dmft.solve_dmft(
        SQ, delta=2.0, tau=0.5, grid=GRID, key=jax.random.key(0), config=CFG
    )


@pytest.fixture(scope="module")
def linear():
    return dmft.linear_regression_dmft(delta=2.0, tau=0.5, sigma=SIGMA, grid=GRID)


# --- linear regression: deterministic DMFT, MP quadrature, closed forms ---------


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_gradient_flow_dmft_equals_mp_quadrature(delta):
    """tau = 0: the DMFT is GD's large-d limit, the discrete-time MP formula exactly."""
    res = dmft.linear_regression_dmft(delta=delta, sigma=SIGMA, grid=GRID)
    ts = np.asarray(res.ts)
    train, test = dmft.linear_regression_mp(delta=delta, sigma=SIGMA, ts=ts, dt=GRID.dt)
    np.testing.assert_allclose(res.train_loss, train, atol=1e-10)
    np.testing.assert_allclose(res.test_loss, test, atol=1e-10)
    # Continuous-time MP: the grid's Euler error is first order in dt.
    errors = []
    for n_steps in (20, 40):
        fine = dmft.linear_regression_dmft(
            delta=delta, sigma=SIGMA, grid=TimeGrid(2.0, n_steps)
        )
        train_c, test_c = dmft.linear_regression_mp(
            delta=delta, sigma=SIGMA, ts=np.asarray(fine.ts)
        )
        errors.append(
            max(
                np.abs(np.asarray(fine.test_loss) - test_c).max(),
                np.abs(np.asarray(fine.train_loss) - train_c).max(),
            )
        )
    assert errors[1] < 0.5 * 2.0 / 40  # O(dt): at most 0.5 dt
    assert 1.6 < errors[0] / errors[1] < 2.4  # halving dt halves the error


@pytest.mark.parametrize(
    ("delta", "err_inf", "train_inf"),
    [
        (4.0, SIGMA**2 / 3, 0.5 * SIGMA**2 * (1 - 1 / 4)),
        (0.25, 0.75 + SIGMA**2 * 0.25 / 0.75, 0.0),
    ],
)
def test_long_time_limits(delta, err_inf, train_inf):
    """E(theta_inf - theta*)^2 and the train loss at t = 40 (spec §4.2)."""
    res = dmft.linear_regression_dmft(
        delta=delta, sigma=SIGMA, grid=TimeGrid(40.0, 200)
    )
    err = 2 * float(res.test_loss[-1]) - SIGMA**2
    assert err == pytest.approx(err_inf, abs=2e-3)
    assert float(res.train_loss[-1]) == pytest.approx(train_inf, abs=2e-3)
    _, test_mp = dmft.linear_regression_mp(delta=delta, sigma=SIGMA, ts=[400.0])
    assert 2 * float(test_mp[0]) - SIGMA**2 == pytest.approx(err_inf, abs=1e-6)


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_gradient_flow_dmft_matches_simulation(delta):
    """tau = 0, d = 1000, 8 seeds: within 4 standard errors of the seed mean plus
    2 % of the initial loss (finite-d bias)."""
    # The grid, seeds and records of the tau > 0 test below: one compilation.
    grid = TimeGrid(2.0, 20)
    res = dmft.linear_regression_dmft(delta=delta, sigma=SIGMA, grid=grid)
    sim = dmft.simulate(
        SQ,
        delta=delta,
        tau=0.0,
        grid=grid,
        d=1000,
        key=jax.random.key(1),
        n_seeds=8,
        record_every=5,
    )
    for theory, simulated in (
        (res.train_loss[::5], sim.train_loss),
        (res.test_loss[::5], sim.test_loss),
    ):
        mean = np.asarray(simulated.mean(0))
        se = np.asarray(simulated.std(0)) / np.sqrt(8)
        assert np.all(np.abs(np.asarray(theory) - mean) < 4 * se + 0.02 * 0.625)


@pytest.mark.slow
@pytest.mark.parametrize("delta", [2.0])
def test_sgf_dmft_matches_simulation_at_positive_temperature(delta):
    """tau = 0.5: the deterministic SGF-DMFT vs 8 seeds at d = 1000.

    Tolerance: 4 standard errors of the seed mean plus 3 % (finite d).
    """
    grid = TimeGrid(2.0, 20)
    res = dmft.linear_regression_dmft(delta=delta, tau=0.5, sigma=SIGMA, grid=grid)
    sim = dmft.simulate(
        SQ,
        delta=delta,
        tau=0.5,
        grid=grid,
        d=1000,
        key=jax.random.key(2),
        n_seeds=8,
        record_every=5,
    )
    for theory, simulated in (
        (res.train_loss[::5], sim.train_loss),
        (res.test_loss[::5], sim.test_loss),
    ):
        mean = np.asarray(simulated.mean(0))
        se = np.asarray(simulated.std(0)) / np.sqrt(8)
        tol = 4 * se + 0.03 * float(theory[0])
        assert np.all(np.abs(np.asarray(theory) - mean) < tol)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_sgd_with_replacement_follows_the_dmft_and_reshuffled_sgd_does_not(
    batch_size,
):
    """Linear regression, delta = 2, tau = 1, d = 240, 32 seeds, until T = 2.

    The SGF (hence its DMFT) models SGD whose batches are drawn with
    replacement, at any batch size: its seed-mean train loss stays within the
    tolerance of the DMFT at every record. Epoch-reshuffled SGD uses each
    sample once per epoch, so its noise cancels over an epoch (delta * tau = 2
    time units): at the epoch's end its train loss lies below the DMFT by more
    than the tolerance (measured: 2.1 tolerances at B = 1, 1.6 at B = 8, while
    with replacement stays within 0.3 of one).

    Tolerance: 4 standard errors of the seed mean plus the DMFT's
    time-discretisation error, estimated as |L(dt) - L(2 dt)| (first order in
    dt) with dt = 0.025; SGD's own steps are lr / d <= 1 / 30 time units.
    """
    d, seeds, tau, T = 240, 32, 1.0, 2.0
    fine, coarse = (
        np.asarray(
            dmft.linear_regression_dmft(
                delta=2.0, tau=tau, sigma=SIGMA, grid=TimeGrid(T, K)
            ).train_loss[:: K // 4]
        )
        for K in (80, 40)
    )
    tol_dt = np.abs(fine - coarse)
    curves = {}
    for sampling in ("with_replacement", "epoch_shuffle"):
        sim = dmft.simulate(
            SQ,
            delta=2.0,
            tau=tau,
            grid=TimeGrid(T, 4),  # records at t = 0, 0.5, ..., 2
            d=d,
            key=jax.random.key(3),
            n_seeds=seeds,
            algorithm="sgd",
            batch_size=batch_size,
            sampling=sampling,
        )
        loss = np.asarray(sim.train_loss)
        se = loss.std(0, ddof=1) / np.sqrt(seeds)
        curves[sampling] = (loss.mean(0) - fine) / (4 * se + tol_dt)
    assert np.all(np.abs(curves["with_replacement"]) < 1.0), curves
    assert curves["epoch_shuffle"][-1] < -1.0, curves


def test_second_moment_recursion_equals_monte_carlo(causal, linear):
    """tau > 0 linear regression: closed recursion vs the Monte Carlo solver."""
    gap = np.abs(np.asarray(causal.train_loss) - np.asarray(linear.train_loss))
    assert np.all(gap < mc_tolerance(causal))
    gap_test = np.abs(np.asarray(causal.test_loss) - np.asarray(linear.test_loss))
    assert np.all(gap_test < 4 * np.asarray(causal.test_loss_se) + 0.02 * 0.625)
    # The noise kernel: M's diagonal is (tau dt + dt^2 / delta) E[ell^2]; E[ell^2]
    # is heavy-tailed at tau > 0, so 20 % (about 4 standard errors at N = 4000).
    np.testing.assert_allclose(
        np.diagonal(causal.noise_cov[..., 0, 0]),
        np.diagonal(linear.noise_cov[..., 0, 0]),
        rtol=0.2,
    )


def test_independent_noise_variant_fails(linear):
    """Negative control: drawing the quenched field and the SGD noise independently
    (dropping their cross-correlation) misses the solution at tau = 1 by > 15 %,
    while the correct DMFT stays within Monte Carlo tolerance."""
    lin = dmft.linear_regression_dmft(delta=2.0, tau=1.0, sigma=SIGMA, grid=GRID)
    kw = dict(grid=GRID, key=jax.random.key(0), config=CFG)
    right = _dmft_solve._solve(SQ, 2.0, 1.0, independent=False, **kw)
    wrong = _dmft_solve._solve(SQ, 2.0, 1.0, independent=True, **kw)
    scale = float(lin.test_loss.max())
    assert np.abs(np.asarray(right.test_loss - lin.test_loss)).max() < 0.06 * scale
    assert np.abs(np.asarray(wrong.test_loss - lin.test_loss)).max() > 0.15 * scale


def test_linear_dmft_kernels_are_exact(linear):
    R = np.asarray(linear.R_theta[..., 0, 0])
    np.testing.assert_allclose(np.diagonal(R, -1), 1.0, atol=1e-12)
    assert np.all(np.triu(R) == 0)
    # D = (I + dt R / delta)^{-1}, G = -D 1.
    D = np.linalg.inv(np.eye(21) + GRID.dt / 2.0 * R)
    np.testing.assert_allclose(linear.R_ell[..., 0, 0], D, atol=1e-12)
    np.testing.assert_allclose(linear.Gamma[:, 0, 0], -D.sum(1), atol=1e-12)


def test_linear_dmft_is_jittable_and_vmaps_over_delta():
    deltas = jnp.array([0.5, 2.0, 4.0])
    curves = jax.vmap(
        lambda d: dmft.linear_regression_dmft(delta=d, sigma=SIGMA, grid=GRID).test_loss
    )(deltas)
    for i, d in enumerate([0.5, 2.0, 4.0]):
        one = dmft.linear_regression_dmft(delta=d, sigma=SIGMA, grid=GRID).test_loss
        np.testing.assert_allclose(curves[i], one, rtol=1e-12)


# --- online limit ---------------------------------------------------------------


def test_online_limit_is_the_closed_form_ode():
    """e = q - 2m + rho obeys e' = -2e + tau(e + sigma^2): explicit solution."""
    tau, grid = 0.5, TimeGrid(2.0, 400)
    res = dmft.online_limit(SQ, tau=tau, grid=grid, n_samples=100)
    rho = float(res.rho[0, 0])
    e_inf = tau * SIGMA**2 / (2 - tau)
    e = e_inf + (rho - e_inf) * np.exp(-(2 - tau) * np.asarray(res.ts))
    np.testing.assert_allclose(2 * np.asarray(res.test_loss) - SIGMA**2, e, atol=5e-3)


def test_dmft_approaches_the_online_limit_as_delta_grows():
    """Sup-norm gap to the online ODE shrinks monotonically, roughly like 1/delta."""
    grid = TimeGrid(4.0, 40)
    # Exact prior moments (rho = 1, theta_0 = 0) up to 1e-5 Monte Carlo error.
    online = dmft.online_limit(SQ, tau=0.5, grid=grid, n_samples=10**6)
    gaps = []
    for delta in (5.0, 20.0, 80.0):
        res = dmft.linear_regression_dmft(delta=delta, tau=0.5, sigma=SIGMA, grid=grid)
        gaps.append(float(jnp.abs(res.test_loss - online.test_loss).max()))
    assert gaps[0] > gaps[1] > gaps[2]
    assert 2.0 < gaps[0] / gaps[1] < 8.0 and 2.0 < gaps[1] / gaps[2] < 8.0


@pytest.mark.parametrize("solver", ["linear", "online"])
def test_divergence_above_critical_temperature_raises(solver):
    """tau = 4 > 2 - dt: the loss explodes and a DMFTDivergenceError says where."""
    grid = TimeGrid(20.0, 100)
    if solver == "linear":
        run = lambda: dmft.linear_regression_dmft(
            delta=2.0, tau=4.0, sigma=SIGMA, grid=grid
        )
    else:
        run = lambda: dmft.online_limit(SQ, tau=4.0, grid=grid, n_samples=100)
    with (
        pytest.warns(UserWarning, match="SGF may diverge"),
        pytest.raises(dmft.DMFTDivergenceError, match="diverged at time index") as info,
    ):
        run()
    assert info.value.time_index > 0
    # Below the critical temperature the same grid is fine.
    res = dmft.linear_regression_dmft(delta=2.0, tau=1.0, sigma=SIGMA, grid=grid)
    assert np.isfinite(np.asarray(res.train_loss)).all()


@pytest.mark.slow
def test_monte_carlo_divergence_raises():
    with (
        pytest.warns(UserWarning, match="SGF may diverge"),
        pytest.raises(dmft.DMFTDivergenceError),
    ):
        dmft.solve_dmft(
            SQ, delta=2.0, tau=30.0, grid=GRID, key=jax.random.key(0), config=CFG
        )


# --- Monte Carlo solver: invariants ---------------------------------------------


def test_kernels_are_causal_symmetric_and_psd(causal):
    R = np.asarray(causal.R_theta[..., 0, 0])
    D = np.asarray(causal.R_ell[..., 0, 0])
    assert np.all(np.triu(R) == 0)  # strictly causal
    assert np.all(np.triu(D, 1) == 0)  # causal, with a local (diagonal) part
    # R(s+, s) = 1 up to Monte Carlo error: the regression of theta on dU is
    # noisy entry by entry (about 0.2 at N = 4000), exact on average.
    assert abs(np.diagonal(R, -1).mean() - 1) < 0.05
    assert np.abs(np.diagonal(R, -1) - 1).max() < 0.4
    for name in ("C_theta", "C_ell", "noise_cov"):
        K = np.asarray(getattr(causal, name)[..., 0, 0])
        np.testing.assert_allclose(K, K.T, atol=1e-12, err_msg=name)
        assert np.linalg.eigvalsh(K).min() > -1e-10 * np.abs(K).max(), name


def test_fixed_point_and_causal_solvers_agree(causal):
    fp = dmft.solve_dmft(
        SQ,
        delta=2.0,
        tau=0.5,
        grid=GRID,
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=N_MC, method="fixed_point"),
    )
    assert fp.converged and fp.method == "fixed_point"
    assert fp.residuals[-1] < 1e-6
    np.testing.assert_allclose(fp.train_loss, causal.train_loss, atol=1e-6)
    np.testing.assert_allclose(fp.C_theta, causal.C_theta, atol=1e-5)
    np.testing.assert_allclose(fp.R_theta, causal.R_theta, atol=1e-3)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        short = dmft.solve_dmft(
            SQ,
            delta=2.0,
            tau=0.5,
            grid=GRID,
            key=jax.random.key(0),
            config=dmft.DMFTConfig(n_samples=N_MC, method="fixed_point", max_iter=2),
        )
    assert not short.converged and short.n_iter == 2


def test_same_key_same_result(causal):
    again = dmft.solve_dmft(
        SQ, delta=2.0, tau=0.5, grid=GRID, key=jax.random.key(0), config=CFG
    )
    other = dmft.solve_dmft(
        SQ, delta=2.0, tau=0.5, grid=GRID, key=jax.random.key(1), config=CFG
    )
    np.testing.assert_array_equal(again.train_loss, causal.train_loss)
    assert not np.allclose(other.train_loss, causal.train_loss)


def test_result_is_a_pytree_with_shapes(causal):
    K = GRID.n_steps
    assert causal.C_theta.shape == (K + 1, K + 1, 1, 1)
    assert causal.noise_cov.shape == (K, K, 1, 1)
    assert causal.theta_samples.shape == (N_MC, 1)
    leaves, tree = jax.tree_util.tree_flatten(causal)
    back = jax.tree_util.tree_unflatten(tree, leaves)
    assert isinstance(back, dmft.DMFTResult) and back.method == "causal"
    np.testing.assert_array_equal(back.test_loss, causal.test_loss)


# --- logistic regression and two-layer networks ----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("tau", [0.0, 1.0])
def test_logistic_dmft_tracks_simulation(tau):
    """T4: sign teacher, logistic loss, delta = 2; DMFT vs SGF at d = 800, and
    at tau = 1 vs mini-batch SGD with batches drawn with replacement (the SGD
    that SGF models) at B = 1 and B = 8.

    Tolerance 5 % of the initial loss (finite d, 4 seeds, N = 4000). Measured
    gaps: SGF and with-replacement SGD at most 2 % of it; SGD even at B = 1
    (lr = 1, an O(1) jump of the sampled prediction per step) follows the DMFT.
    Epoch-reshuffled SGD is the contrast: its noise cancels within an epoch and
    its train loss falls about 6 % of the initial loss below the DMFT at
    tau = 1 (see tests/optim/test_sgf.py and the dmft-sgf reproduction).
    """
    model = dmft.glm("logistic", teacher="sign", noise_std=0.1, ridge=0.01)
    # The grid and N of the dmft-sgf reproduction: one compiled solver for both.
    grid = TimeGrid(5.0, 50)
    res = dmft.solve_dmft(
        model, delta=2.0, tau=tau, grid=grid, key=jax.random.key(0), config=CFG
    )
    sim = dmft.simulate(
        model,
        delta=2.0,
        tau=tau,
        grid=grid,
        d=800,
        key=jax.random.key(1),
        n_seeds=4,
        record_every=5,
    )
    sims = [sim]
    if tau > 0:
        sims += [
            dmft.simulate(
                model,
                delta=2.0,
                tau=tau,
                grid=grid,
                d=800,
                key=jax.random.key(1),
                n_seeds=4,
                record_every=5,
                algorithm="sgd",
                batch_size=batch_size,
            )
            for batch_size in (1, 8)
        ]
    for s in sims:
        for theory, simulated in (
            (res.train_loss[::5], s.train_loss.mean(0)),
            (res.test_loss[::5], s.test_loss.mean(0)),
        ):
            assert np.abs(np.asarray(theory - simulated)).max() < 0.05 * np.log(2)


@pytest.mark.slow
def test_two_layer_dmft_matches_simulation_and_is_symmetric():
    """T5: k = 2 erf units, teacher k* = 1; loss curves within 5 % of the initial
    loss, and the two units' teacher overlaps agree (exchangeable initialisation)."""
    model = dmft.two_layer(2)
    grid = TimeGrid(4.0, 40)
    res = dmft.solve_dmft(
        model, delta=2.0, tau=0.5, grid=grid, key=jax.random.key(0), config=CFG
    )
    sim = dmft.simulate(
        model,
        delta=2.0,
        tau=0.5,
        grid=grid,
        d=800,
        key=jax.random.key(1),
        n_seeds=4,
        record_every=8,
    )
    scale = float(res.train_loss[0])
    assert (
        np.abs(np.asarray(res.train_loss[::8] - sim.train_loss.mean(0))).max()
        < 0.05 * scale
    )
    assert (
        np.abs(np.asarray(res.test_loss[::8] - sim.test_loss.mean(0))).max()
        < 0.05 * scale
    )
    m = np.asarray(res.m[:, :, 0])
    # 4 standard errors of an overlap estimate from N samples: 4 * sd / sqrt(N).
    sd = np.sqrt(np.asarray(res.C_theta[-1, -1, 0, 0]) * float(res.rho[0, 0]))
    assert np.abs(m[:, 0] - m[:, 1]).max() < 4 * np.sqrt(2) * sd / np.sqrt(N_MC)


def _mp_gd_losses(delta, steps, sigma=SIGMA):
    """Train/test loss of GD with the given step sizes on linear regression at
    d -> infinity: per eigenvalue s of X^T X / delta the error factor is
    f = prod_k (1 - dt_k s) and g = (1 - f) / s, averaged over the
    Marchenko-Pastur law (an implementation independent of the DMFT)."""
    from mltheory.dynamics._dmft_linear import _mp_nodes

    s, w, atom = _mp_nodes(1.0 / delta, 400)
    s, w = np.r_[s, 0.0], np.r_[w, atom]
    f = np.cumprod(np.vstack([np.ones(s.size), 1 - np.outer(steps, s)]), axis=0)
    t = np.r_[0.0, np.cumsum(steps)][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(s > 0, (1 - f) / np.where(s > 0, s, 1.0), t)
    err = (g * s - 1) ** 2
    test = 0.5 * ((w * (err + sigma**2 * g**2 * s / delta)).sum(1) + sigma**2)
    fit = (w * (g * s - 1) ** 2).sum(1) / delta + (1 - 1 / delta)
    train = 0.5 * ((w * s * err).sum(1) + sigma**2 * fit)
    return train, test


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_non_uniform_grid_equals_gd_with_those_steps(delta):
    """A grid given as increasing times (steps growing geometrically 1.15x) is
    the DMFT of GD with those steps: equal to the MP formula of that GD within
    the Monte Carlo tolerance, with both sample sides (Monte Carlo and closed
    form); a uniform grid with as many steps differs from it beyond that."""
    steps = 0.02 * 1.15 ** np.arange(20)
    ts = np.r_[0.0, np.cumsum(steps)]
    train, test = _mp_gd_losses(delta, steps)
    closed = dataclasses.replace(SQ, linear_noise_std=SIGMA)
    for model in (SQ, closed):
        res = dmft.solve_dmft(
            model, delta=delta, grid=ts, key=jax.random.key(0), config=CFG
        )
        np.testing.assert_allclose(res.ts, ts)
        assert (np.abs(np.asarray(res.train_loss) - train) <= mc_tolerance(res)).all()
        tol = 4 * np.asarray(res.test_loss_se) + 0.02 * test[0]
        assert (np.abs(np.asarray(res.test_loss) - test) <= tol).all()
    uniform_train, _ = _mp_gd_losses(delta, np.full(20, ts[-1] / 20))
    assert np.abs(uniform_train - train).max() > 3 * mc_tolerance(res).max()


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_closed_form_sample_side_matches_the_deterministic_recursion(tau, linear):
    """linear_noise_std: the causal solver computes the sample side of the square
    loss in closed form and samples only the parameter side; against the fully
    deterministic recursion it is within 4 SE + 2 % like the Monte Carlo side,
    and its noise kernel is within 3 % (the Monte Carlo side's is 20 %)."""
    model = dataclasses.replace(SQ, linear_noise_std=SIGMA)
    exact = (
        linear
        if tau == 0.5
        else dmft.linear_regression_dmft(delta=2.0, sigma=SIGMA, grid=GRID)
    )
    res = dmft.solve_dmft(
        model, delta=2.0, tau=tau, grid=GRID, key=jax.random.key(0), config=CFG
    )
    assert res.method == "causal"
    gap = np.abs(np.asarray(res.train_loss) - np.asarray(exact.train_loss))
    assert (gap <= mc_tolerance(res)).all()
    gap_test = np.abs(np.asarray(res.test_loss) - np.asarray(exact.test_loss))
    assert (gap_test <= 4 * np.asarray(res.test_loss_se) + 0.02 * 0.625).all()
    M, M_exact = np.asarray(res.noise_cov), np.asarray(exact.noise_cov)
    assert np.abs(M - M_exact).max() < 0.03 * np.abs(M_exact).max()
    # The train loss is 1/2 E[ell^2] of the closed form: C_ell's diagonal.
    np.testing.assert_allclose(
        res.train_loss, 0.5 * np.diagonal(res.C_ell[..., 0, 0]), rtol=1e-12
    )


def test_models_differing_only_in_priors_share_one_compilation():
    """The priors are drawn before the compiled solver, which sees only the
    dynamics (and traced step sizes): a second model with other priors and a
    grid with other times but as many steps compile nothing new."""
    from mltheory.dynamics import _dmft_solver

    dmft.solve_dmft(SQ, delta=2.0, grid=GRID, key=jax.random.key(0), config=CFG)
    before = _dmft_solver.solve_causal._cache_size()
    other = dataclasses.replace(
        SQ,
        sample_theta0=lambda key, n: 0.3 * jax.random.normal(key, (n, 1)),
        sample_theta_star=lambda key, n: jax.random.rademacher(key, (n, 1), float),
        name="other priors",
    )
    res = dmft.solve_dmft(
        other, delta=2.0, grid=TimeGrid(3.0, 20), key=jax.random.key(1), config=CFG
    )
    assert _dmft_solver.solve_causal._cache_size() == before
    # ... and it solved the other model: E theta_0^2 = 0.09, rho = 1 exactly.
    assert float(res.C_theta[0, 0, 0, 0]) == pytest.approx(0.09, rel=0.1)
    assert float(res.rho[0, 0]) == 1.0


def test_state_step_hook_solves_a_reparametrised_model(causal):
    """The hook for reparametrised models (diagonal linear networks, a later
    issue): theta = u + v with each half taking half the force is plain SGF, so
    the solver must return the plain model's solution through readout."""

    def half_force(t, state, force, dt):
        return state + 0.5 * jnp.concatenate([force, force])

    split = dataclasses.replace(
        SQ,
        sample_theta0=lambda key, n: jnp.zeros((n, 2)),
        state_step=half_force,
        readout=lambda state: state[:1] + state[1:],
    )
    res = dmft.solve_dmft(
        split, delta=2.0, tau=0.5, grid=GRID, key=jax.random.key(0), config=CFG
    )
    assert res.theta_samples.shape == (N_MC, 1)
    for name in ("train_loss", "test_loss", "C_theta", "R_theta", "noise_cov"):
        want = np.asarray(getattr(causal, name))
        np.testing.assert_allclose(
            getattr(res, name), want, rtol=0, atol=1e-9 * np.abs(want).max()
        )


@pytest.mark.slow
def test_time_blocks_do_not_change_the_solution():
    """Blocks only skip the unfilled part of the histories: k = 2 units, 3 blocks
    of unequal fill against one block, equal to rounding."""
    model = dmft.two_layer(2)
    grid = TimeGrid(1.0, 10)
    one, three = (
        dmft.solve_dmft(
            model,
            delta=2.0,
            tau=0.5,
            grid=grid,
            key=jax.random.key(3),
            config=dmft.DMFTConfig(n_samples=1000, time_blocks=blocks),
        )
        for blocks in (1, 3)
    )
    for name in ("C_theta", "R_theta", "R_ell", "noise_cov", "train_loss"):
        a, b = np.asarray(getattr(one, name)), np.asarray(getattr(three, name))
        assert np.abs(a).max() > 0, name
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10 * np.abs(a).max())


@pytest.mark.parametrize(
    ("teacher", "noise_std"), [("sign", 0.1), ("sign", 0.0), ("logistic", 0.0)]
)
@pytest.mark.parametrize("loss", ["logistic", "hinge_smooth"])
def test_binary_teacher_test_loss_matches_monte_carlo(teacher, noise_std, loss):
    """The label is averaged in closed form; the result must match a direct
    Monte Carlo average of the per-sample loss (4 standard errors, 10^6 draws),
    including a student aligned with the teacher, where the integrand steps."""
    model = dmft.glm(loss, teacher=teacher, noise_std=noise_std)
    draws = jax.random.normal(jax.random.key(7), (1_000_000, 3))
    for c, m in ((0.8, 0.5), (1.0, 0.99)):
        got = float(
            model.test_loss(jnp.full((1, 1), c), jnp.full((1, 1), m), jnp.ones((1, 1)))
        )
        r = np.sqrt(c) * draws[:, 0]
        rs = (m / np.sqrt(c)) * draws[:, 0] + np.sqrt(1 - m**2 / c) * draws[:, 1]
        values = jax.vmap(model.loss)(r[:, None], rs[:, None], draws[:, 2])
        se = float(values.std()) / np.sqrt(values.shape[0])
        assert abs(got - float(values.mean())) < 4 * se, (
            c,
            m,
            got,
            float(values.mean()),
        )
    # theta = 0: the student predicts 0 and the label is a fair coin
    zero = model.test_loss(jnp.zeros((1, 1)), jnp.zeros((1, 1)), jnp.ones((1, 1)))
    want = np.log(2.0) if loss == "logistic" else 0.5
    np.testing.assert_allclose(float(zero), want, rtol=1e-12)


# --- bad inputs ------------------------------------------------------------------


def test_bad_scalars_raise():
    kw = dict(grid=GRID, key=jax.random.key(0), config=CFG)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="delta must be a positive finite n/d"):
            dmft.solve_dmft(SQ, delta=bad, **kw)
    with pytest.raises(ValueError, match=r"tau \(=lr/batch\) must be >= 0"):
        dmft.solve_dmft(SQ, delta=2.0, tau=-0.1, **kw)
    with (
        pytest.warns(UserWarning, match="SGF may diverge"),
        pytest.raises(dmft.DMFTDivergenceError),
    ):
        dmft.linear_regression_dmft(delta=2.0, tau=3.0, grid=TimeGrid(40.0, 40))
    # A grid is a TimeGrid or increasing times from 0 (non-uniform grids).
    with pytest.raises(TypeError, match=r"grid must be a mltheory\.numerics\.TimeGrid"):
        dmft.solve_dmft(SQ, delta=2.0, grid="fine", key=jax.random.key(0))
    with pytest.raises(ValueError, match="grid as times must be strictly increasing"):
        dmft.solve_dmft(SQ, delta=2.0, grid=[0.0, 0.5, 0.5], key=jax.random.key(0))
    with pytest.raises(ValueError, match="grid as times must start at 0"):
        dmft.solve_dmft(SQ, delta=2.0, grid=[0.1, 0.5], key=jax.random.key(0))
    with pytest.raises(ValueError, match="grid as times must hold at least 2"):
        dmft.solve_dmft(SQ, delta=2.0, grid=[0.0], key=jax.random.key(0))
    with pytest.raises(ValueError, match="grid must be finite"):
        dmft.solve_dmft(SQ, delta=2.0, grid=[0.0, np.inf], key=jax.random.key(0))
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        TimeGrid(1.0, 0)
    with pytest.raises(ValueError, match="t_max must be > t0"):
        TimeGrid(0.0, 10)
    with pytest.raises(ValueError, match="grid must start at t0 = 0"):
        dmft.solve_dmft(
            SQ, delta=2.0, grid=TimeGrid(2.0, 4, t0=1.0), key=jax.random.key(0)
        )


def test_bad_config_raises():
    with pytest.raises(ValueError, match="n_samples must be >= 100"):
        dmft.DMFTConfig(n_samples=50)
    with pytest.warns(UserWarning, match=r"Monte Carlo error ~1/sqrt\(N\)"):
        dmft.DMFTConfig(n_samples=500)
    with pytest.raises(ValueError, match=r"damping must be <= 1\.0"):
        dmft.DMFTConfig(damping=1.5)
    with pytest.raises(ValueError, match=r"damping must be > 0\.0"):
        dmft.DMFTConfig(damping=0.0)
    with pytest.raises(ValueError, match=r"tol must be > 0\.0"):
        dmft.DMFTConfig(tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        dmft.DMFTConfig(max_iter=0)
    with pytest.raises(ValueError, match="method must be one of"):
        dmft.DMFTConfig(method="newton")
    with pytest.raises(ValueError, match="time_blocks must be >= 1"):
        dmft.DMFTConfig(time_blocks=0)
    with pytest.raises(TypeError, match="time_blocks"):
        dmft.DMFTConfig(time_blocks=2.5)


def _model(**changes):
    base = dict(
        k=1,
        k_star=1,
        loss=lambda r, rs, e: 0.5 * (r[0] - rs[0]) ** 2,
        sample_theta_star=lambda key, n: jax.random.normal(key, (n, 1)),
        sample_theta0=lambda key, n: jnp.zeros((n, 1)),
    )
    base.update(changes)
    return dmft.SGFModel(**base)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (dict(loss=lambda r, rs, e: r - rs), ValueError, "must return a scalar"),
        (
            dict(dloss=lambda t, r, rs, e: jnp.zeros(2)),
            ValueError,
            r"dloss \(ell\) must return shape \(1,\) = \(k,\); got shape \(2,\)",
        ),
        (
            dict(sample_theta_star=lambda key, n: jnp.zeros((n, 2))),
            ValueError,
            r"must return shape \(n, k_star\) = \(3, 1\); got shape \(3, 2\)",
        ),
        (
            dict(sample_theta0=lambda key, n: jnp.zeros(n)),
            ValueError,
            r"sample_theta0\(key, n\) must return shape \(n, k\)",
        ),
        (
            dict(loss=lambda r, rs, e: jnp.round(r[0]) * 1.0 + float(0)),
            None,
            None,
        ),
    ],
)
def test_callable_shape_mismatch_raises(changes, error, match):
    model = _model(**changes)
    if error is None:  # jnp.round is differentiable (zero gradient): no error
        _dmft_checks._check_callables(model)
        return
    with pytest.raises(error, match=match):
        dmft.solve_dmft(model, delta=2.0, grid=GRID, key=jax.random.key(0), config=CFG)


def test_non_differentiable_loss_without_dloss_is_a_type_error():
    model = _model(loss=lambda r, rs, e: jnp.asarray(float(r[0]) > 0, float))
    with pytest.raises(TypeError, match="cannot be traced by JAX"):
        dmft.solve_dmft(model, delta=2.0, grid=GRID, key=jax.random.key(0), config=CFG)


def test_model_and_constructor_validation():
    with pytest.raises(ValueError, match="k must be >= 1"):
        _model(k=0)
    with pytest.raises(TypeError, match="loss must be callable"):
        _model(loss=3)
    with pytest.raises(ValueError, match="teacher must be one of"):
        dmft.glm(teacher="tanh")
    with pytest.raises(ValueError, match="loss must be one of"):
        dmft.glm("hinge")
    with pytest.raises(ValueError, match="activation must be one of"):
        dmft.two_layer(2, activation="gelu")
    with pytest.raises(ValueError, match=r"second_layer must have shape \(k,\)"):
        dmft.two_layer(2, second_layer=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="model must be an SGFModel"):
        dmft.solve_dmft("glm", delta=2.0, grid=GRID, key=jax.random.key(0))
    with pytest.raises(ValueError, match="delta must differ from 1"):
        dmft.linear_regression_mp(delta=1.0, ts=[1.0])
    with pytest.raises(ValueError, match="rho must be > 0"):
        dmft.linear_regression_dmft(delta=2.0, rho=0.0, grid=GRID)
    with pytest.raises(ValueError, match="sampling must be one of 'with_replacement'"):
        dmft.simulate(
            SQ,
            delta=2.0,
            tau=0.5,
            grid=GRID,
            d=100,
            key=jax.random.key(0),
            algorithm="sgd",
            sampling="reshuffle",
        )


def test_psd_violation_is_reported():
    res = dmft.linear_regression_dmft(delta=2.0, sigma=SIGMA, grid=GRID)
    with pytest.raises(dmft.DMFTNumericalError, match="not positive semi-definite"):
        _dmft_solve._raise_if_diverged(res, bad_index=None, psd_bad=True)

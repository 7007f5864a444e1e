"""Tests of the diagonal-linear-network DMFT: model, finite-d network, theory.

Sizes are shared (N_MC samples, K steps, D dimensions, SEEDS) so that the
solver and the simulator compile once per parametrisation: the initial scale,
the prior and the grid's times are traced.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize

from mltheory.dynamics import _dmft_solver, dmft
from mltheory.exceptions import (
    ConvergenceWarning,
    DivergenceError,
    DivergenceWarning,
)
from mltheory.numerics import TimeGrid

N_MC = 4000
K = 40
D = 400
SEEDS = 4
CFG = dmft.DMFTConfig(n_samples=N_MC)
TWO_LEVELS = {0.0: 0.8, 1.5: 0.1, 3.0: 0.1}


def band(theory, sim):
    """Allowed |DMFT - simulation| per time: 4 combined standard errors plus 3 %
    of the initial loss (the finite-d bias at d = 400 and the Stein-regression
    bias of the response, about 2 % at N = 4000; see test_dmft.mc_tolerance)."""
    se_sim = np.asarray(sim.test_loss).std(0) / np.sqrt(sim.test_loss.shape[0])
    se = np.sqrt(se_sim**2 + np.asarray(theory.test_loss_se) ** 2)
    return 4 * se + 0.03 * float(theory.test_loss[0])


def solve(model, delta, grid, key=0, **kw):
    return dmft.solve_dmft(
        model, delta=delta, grid=grid, key=jax.random.key(key), config=CFG, **kw
    )


def simulate(model, delta, grid, key=1, **kw):
    return dmft.simulate_dln(
        model, delta=delta, grid=grid, d=D, key=jax.random.key(key), n_seeds=SEEDS, **kw
    )


# --- the finite-d network ------------------------------------------------------


@pytest.mark.parametrize(
    ("parametrization", "v0"), [("uv", "zero"), ("uv", "alpha"), ("u2-v2", "alpha")]
)
def test_invariant_is_conserved_along_simulate_dln(parametrization, v0):
    """u^2 - v^2 (uv) or u v (u2-v2) is conserved to 1e-10 by the exponential
    scheme in float64 (and decays exactly as exp(-2 lambda t) with weight decay);
    the Euler scheme does not conserve it (a negative control)."""
    grid = TimeGrid(4.0, K)
    prior = (
        {1.0: 0.5, 2.0: 0.5} if v0 == "alpha" and parametrization == "uv" else "sparse"
    )
    for ridge in (0.0, 0.3):
        model = dmft.dln(
            alpha=0.5, parametrization=parametrization, v0=v0, prior=prior, ridge=ridge
        )
        traj = simulate(model, 0.5, grid)
        assert traj.beta.dtype == jnp.float64
        assert float(traj.conservation_error.max()) < 1e-10
        assert float(traj.test_loss[:, -1].mean()) < float(traj.test_loss[:, 0].mean())
    euler = dmft.dln(
        alpha=0.5, parametrization=parametrization, v0=v0, prior=prior, scheme="euler"
    )
    if v0 == "zero":  # with u = v the Euler step keeps u^2 - v^2 = 0 too
        assert float(simulate(euler, 0.5, grid).conservation_error.max()) > 1e-6


def test_simulate_dln_same_key_same_runs_and_diverges_loudly():
    model = dmft.dln(alpha=0.5)
    grid = TimeGrid(2.0, K)
    a, b = simulate(model, 0.5, grid), simulate(model, 0.5, grid)
    np.testing.assert_array_equal(a.beta, b.beta)
    assert not bool(a.diverged)
    # A step far beyond the stability limit 2 / (phi lambda_max): raise, or flag.
    big = dmft.dln(alpha=3.0)
    with pytest.raises(DivergenceError, match="simulate_dln"):
        simulate(big, 0.5, TimeGrid(40.0, K))
    flagged = simulate(big, 0.5, TimeGrid(40.0, K), on_divergence="flag")
    assert bool(flagged.diverged)
    assert (np.asarray(flagged.first_bad_step) > 0).all()
    # warn: the records before the first bad step of any seed, all finite.
    with pytest.warns(DivergenceWarning, match="simulate_dln diverged"):
        cut = simulate(big, 0.5, TimeGrid(40.0, K), on_divergence="warn")
    n_keep = int(np.asarray(flagged.first_bad_step).min())
    assert cut.ts.shape == (n_keep,)
    assert cut.beta.shape[:2] == (SEEDS, n_keep)
    assert cut.test_loss.shape == cut.conservation_error.shape == (SEEDS, n_keep)
    assert np.isfinite(np.asarray(cut.beta)).all()


# --- the DMFT against the finite-d network (spec T6 a) -------------------------


@pytest.mark.parametrize(("alpha", "t_max"), [(0.1, 8.0), (1.0, 2.0)])
def test_dmft_matches_simulate_dln(alpha, t_max):
    """Sparse teacher (Bernoulli(0.1) x N(0, 1)), delta = 0.5: the test-loss
    curves of the DMFT and of the d = 400 network on the same grid agree."""
    grid = TimeGrid(t_max, K)
    model = dmft.dln(alpha=alpha)
    theory, sim = solve(model, 0.5, grid), simulate(model, 0.5, grid)
    gap = np.abs(np.asarray(theory.test_loss) - np.asarray(sim.test_loss).mean(0))
    assert (gap <= band(theory, sim)).all(), (gap / band(theory, sim)).max()
    # The train loss: closed-form sample side against the network.
    gap_tr = np.abs(np.asarray(theory.train_loss) - np.asarray(sim.train_loss).mean(0))
    se_tr = np.asarray(sim.train_loss).std(0) / np.sqrt(SEEDS)
    tol_tr = 4 * np.sqrt(se_tr**2 + np.asarray(theory.train_loss_se) ** 2)
    assert (gap_tr <= tol_tr + 0.03 * float(theory.train_loss[0])).all()
    # Learning happened: the loss fell by a factor.
    assert float(theory.test_loss[-1]) < 0.5 * float(theory.test_loss[0])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("alpha", "t_max", "parametrization", "v0"),
    [
        (0.01, 8.0, "uv", "zero"),
        (3.0, 1.0, "uv", "zero"),
        (0.2, 6.0, "u2-v2", "alpha"),
    ],
)
def test_dmft_matches_simulate_dln_extremes(alpha, t_max, parametrization, v0):
    """The rich (alpha = 0.01) and lazy (alpha = 3) ends, and the paper's
    (u^2 - v^2)/2 parametrisation, on the same footing."""
    grid = TimeGrid(t_max, K)
    model = dmft.dln(alpha=alpha, parametrization=parametrization, v0=v0)
    theory, sim = solve(model, 0.5, grid), simulate(model, 0.5, grid)
    gap = np.abs(np.asarray(theory.test_loss) - np.asarray(sim.test_loss).mean(0))
    assert (gap <= band(theory, sim)).all(), (gap / band(theory, sim)).max()


def test_non_uniform_grid_matches_the_network_on_that_grid():
    """A geometric grid (steps growing 1.08x) is solved as such: the DMFT equals
    the network stepped on the same times, and differs from a uniform grid."""
    steps = 0.02 * 1.08 ** np.arange(K)
    ts = np.concatenate([[0.0], np.cumsum(steps)])
    model = dmft.dln(alpha=0.3)
    theory, sim = solve(model, 0.5, ts), simulate(model, 0.5, ts)
    np.testing.assert_allclose(theory.ts, ts)
    gap = np.abs(np.asarray(theory.test_loss) - np.asarray(sim.test_loss).mean(0))
    assert (gap <= band(theory, sim)).all()


# --- the closed-form sample side and one compilation per dynamics --------------


def test_closed_form_sample_side_matches_monte_carlo_sample_side():
    """The same DLN with the sample side solved in closed form (and the tangent
    response, its default) and by Monte Carlo (the generic solver, Stein
    response): agreement within the Monte Carlo error of the latter (4 SE +
    2 % of the initial loss)."""
    grid = TimeGrid(4.0, K)
    model = dmft.dln(alpha=0.3, sigma=0.3)
    closed = solve(model, 0.5, grid)
    mc = solve(dataclasses.replace(model, linear_noise_std=None), 0.5, grid)
    for name in ("train_loss", "test_loss"):
        a, b = np.asarray(getattr(closed, name)), np.asarray(getattr(mc, name))
        tol = 4 * np.asarray(getattr(mc, name + "_se")) + 0.02 * b[0]
        assert (np.abs(a - b) <= tol).all(), name
    # The closed form's kernels are exact functions of R: D = (I + dt R / delta)^-1.
    R = np.asarray(closed.R_theta[..., 0, 0])
    S = np.linalg.inv(np.eye(K + 1) + grid.dt / 0.5 * R)
    np.testing.assert_allclose(closed.R_ell[..., 0, 0], S, atol=1e-9)
    np.testing.assert_allclose(closed.Gamma[:, 0, 0], -S.sum(1), atol=1e-9)


def test_one_compilation_for_every_initial_scale_prior_and_horizon():
    """The priors are drawn outside the compiled solver and the steps are
    traced: DLNs differing in alpha, teacher prior and horizon (same number of
    steps) add one compiled solver between them."""
    before = _dmft_solver.solve_causal._cache_size()
    for alpha, prior, t_max in ((0.05, "sparse", 3.0), (2.0, "gaussian", 1.0)):
        res = solve(dmft.dln(alpha=alpha, prior=prior), 2.0, TimeGrid(t_max, K))
        assert res.test_loss.shape == (K + 1,)
    assert _dmft_solver.solve_causal._cache_size() - before <= 1


def test_same_key_same_dmft_solution():
    model = dmft.dln(alpha=0.3)
    a, b = (solve(model, 0.5, TimeGrid(2.0, K)) for _ in range(2))
    np.testing.assert_array_equal(a.test_loss, b.test_loss)
    np.testing.assert_array_equal(a.C_theta, b.C_theta)
    c = solve(model, 0.5, TimeGrid(2.0, K), key=5)
    assert not np.array_equal(np.asarray(a.C_theta), np.asarray(c.C_theta))


# --- lazy limit ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("parametrization", "v0"), [("uv", "zero"), ("u2-v2", "alpha")]
)
def test_large_alpha_is_linear_regression_in_rescaled_time(parametrization, v0):
    """alpha = 4: the DLN's DMFT equals the deterministic linear-regression DMFT
    (an independent path: no Monte Carlo, no state hook) at time kappa t, with
    kappa = alpha^2 (uv) or 2 alpha^2 (u2-v2), within the Monte Carlo error."""
    model = dmft.dln(
        alpha=4.0, parametrization=parametrization, v0=v0, prior="gaussian", sigma=0.3
    )
    grid = TimeGrid(0.25 if v0 == "alpha" else 0.5, K)
    res = solve(model, 2.0, grid)
    lazy = dmft.dln_lazy_limit(model, delta=2.0, grid=grid)
    kappa = 16.0 if v0 == "zero" else 32.0
    direct = dmft.linear_regression_dmft(
        delta=2.0, sigma=0.3, grid=TimeGrid(kappa * grid.t_max, K)
    )
    np.testing.assert_allclose(lazy.test_loss, direct.test_loss, rtol=1e-12)
    np.testing.assert_allclose(lazy.ts, res.ts, rtol=1e-12)
    for name in ("train_loss", "test_loss"):
        a, b = np.asarray(getattr(res, name)), np.asarray(getattr(lazy, name))
        tol = 4 * np.asarray(getattr(res, name + "_se")) + 0.02 * b[0]
        assert (np.abs(a - b) <= tol).all(), (name, np.abs(a - b).max())
    # The loss fell by orders of magnitude: the comparison is not vacuous.
    assert float(lazy.train_loss[-1]) < 0.05 * float(lazy.train_loss[0])


# --- rich regime: incremental learning (spec T6 b) ------------------------------


def test_incremental_learning_follows_the_escape_times():
    """Teacher values 3 and 1.5 (10 % each), alpha = 0.01, delta = 10: the
    larger coordinates are learned first, the test loss rests on a plateau at
    the unlearned part (0.1 * 1.5^2 / 2) in between, and the DMFT's half-way
    times match dln_escape_times within 20 %."""
    model = dmft.dln(alpha=0.01, prior=TWO_LEVELS)
    grid = TimeGrid(6.0, 2 * K)
    res = dmft.solve_dmft(
        model, delta=10.0, grid=grid, key=jax.random.key(0), config=CFG
    )
    paths = dmft.dln_coefficient_paths(
        res, model, [3.0, 1.5], key=jax.random.key(1), n_samples=1000
    )
    got = paths.crossing_times(0.5)
    want = dmft.dln_escape_times([3.0, 1.5], alpha=0.01)
    np.testing.assert_allclose(got, want, rtol=0.2)
    assert got[0] < got[1]
    # Two plateaus: half-way between the escapes the loss rests near the
    # unlearned part 0.1 * 1.5^2 / 2 and falls several times slower there
    # than during either escape.
    ts, loss = np.asarray(res.ts), np.asarray(res.test_loss)
    rate = -np.gradient(np.log(loss), ts)
    mid = np.argmin(np.abs(ts - got.mean()))
    assert loss[mid] == pytest.approx(0.5 * 0.1 * 1.5**2, rel=0.25)
    for escape in got:
        near = np.abs(ts - escape) < 0.3
        assert rate[mid] < rate[near].max() / 3
    # Before the first escape nothing is learned; at the end everything is.
    assert float(res.test_loss[5]) > 0.95 * float(res.test_loss[0])
    assert float(res.test_loss[-1]) < 0.02 * float(res.test_loss[0])


def test_escape_times_exact_flow_and_asymptotics():
    """'exact' is the delta -> infinity flow: checked against a direct ODE solve;
    the asymptotic formula approaches it as alpha -> 0 (relative gap ~ 1/log)."""
    for parametrization, v0 in (("uv", "zero"), ("u2-v2", "alpha"), ("uv", "alpha")):
        alpha = 0.05
        phi = {
            ("uv", "zero"): lambda b, a=alpha: np.sqrt(a**4 + 4 * b**2),
            ("u2-v2", "alpha"): lambda b, a=alpha: 2 * np.sqrt(a**4 + b**2),
            ("uv", "alpha"): lambda b: 2 * b,
        }[(parametrization, v0)]
        beta0 = alpha**2 if v0 == "alpha" and parametrization == "uv" else 0.0
        for b_star in (2.0, 0.7):
            target = beta0 + 0.5 * (b_star - beta0)
            sol = integrate.solve_ivp(
                lambda t, y, b=b_star, f=phi: [-f(y[0]) * (y[0] - b)],
                (0.0, 100.0),
                [beta0],
                events=lambda t, y, tg=target: y[0] - tg,
                rtol=1e-10,
                atol=1e-14,
            )
            want = sol.t_events[0][0]
            got = dmft.dln_escape_times(
                [b_star],
                alpha=alpha,
                parametrization=parametrization,
                v0=v0,
                method="exact",
            )[0]
            assert abs(got - want) < 1e-6 * want
    gaps = []
    for alpha in (1e-2, 1e-4, 1e-8):
        exact = dmft.dln_escape_times([1.0], alpha=alpha, method="exact")[0]
        asym = dmft.dln_escape_times([1.0], alpha=alpha)[0]
        gaps.append(abs(asym - exact) / exact)
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.02
    # Symmetric in the sign for uv/zero; never for negative values with u = v.
    t = dmft.dln_escape_times([-2.0, 2.0], alpha=0.1)
    assert t[0] == pytest.approx(t[1])
    assert dmft.dln_escape_times([-1.0], alpha=0.1, v0="alpha")[0] == math.inf


# --- implicit bias (spec T6 c) -------------------------------------------------


def _basis_pursuit(X, y):
    """min ||b||_1 s.t. X b = y as an LP in (b+, b-) >= 0."""
    d = X.shape[1]
    res = optimize.linprog(
        np.ones(2 * d),
        A_eq=np.hstack([X, -X]),
        b_eq=y,
        bounds=(0, None),
        method="highs",
    )
    assert res.status == 0
    return res.x[:d] - res.x[d:]


@pytest.mark.parametrize(
    ("parametrization", "v0"), [("uv", "zero"), ("u2-v2", "alpha")]
)
def test_implicit_bias_solution_interpolates_between_l2_and_l1(parametrization, v0):
    rng = np.random.default_rng(0)
    n, d = 40, 100
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    star = np.zeros(d)
    star[:6] = rng.standard_normal(6) * 2
    y = X @ star + 0.05 * rng.standard_normal(n)
    min_l2 = np.linalg.lstsq(X, y, rcond=None)[0]
    min_l1 = _basis_pursuit(X, y)
    kw = dict(parametrization=parametrization, v0=v0)
    big = dmft.dln_implicit_bias_solution(X, y, alpha=30.0, **kw)
    mid = dmft.dln_implicit_bias_solution(X, y, alpha=0.3, **kw)
    smalls = [
        dmft.dln_implicit_bias_solution(X, y, alpha=a, **kw) for a in (1e-2, 1e-4)
    ]
    for beta in (big, mid, *smalls):  # interpolates exactly (to the tolerance)
        assert np.abs(X @ beta - y).max() < 1e-8 * np.linalg.norm(y)
    # Large alpha: min-l2 up to O(alpha^-4). Small alpha: min-l1, slowly (the
    # distance shrinks like 1/log(1/alpha)); its l1 norm within 0.5 %.
    assert np.linalg.norm(big - min_l2) < 1e-4 * np.linalg.norm(min_l2)
    dist = [np.linalg.norm(b - min_l1) / np.linalg.norm(min_l1) for b in (mid, *smalls)]
    assert dist[0] > dist[1] > dist[2] and dist[2] < 0.08
    l1 = [np.abs(b).sum() for b in (big, mid, *smalls)]
    assert l1[0] > l1[1] > l1[2] > l1[3] >= np.abs(min_l1).sum() - 1e-9
    assert l1[3] < 1.005 * np.abs(min_l1).sum()
    # Optimality: it minimises the hyperbolic entropy sum_j psi(beta_j), psi' =
    # B^{-1}, among interpolators, so moves along the null space of X (which
    # keep X beta = y) never lower it. psi written out: with B(F) = c sinh 2F,
    # psi(b) = (b arcsinh(b / c) - sqrt(b^2 + c^2) + c) / 2.
    c = 0.3**2 / 2 if parametrization == "uv" else 0.3**2

    def potential(beta):
        return 0.5 * np.sum(beta * np.arcsinh(beta / c) - np.sqrt(beta**2 + c**2) + c)

    null = np.linalg.svd(X)[2][n:]
    base = potential(mid)
    for v in null[:5]:
        for step in (-1e-3, 1e-3):
            assert potential(mid + step * v) > base


def geometric(t_max, n_steps, first, cap):
    """Times 0..t_max with steps growing geometrically from first, capped."""
    ratio = optimize.brentq(
        lambda r: np.minimum(first * r ** np.arange(n_steps), cap).sum() - t_max,
        1.0,
        10.0,
    )
    steps = np.minimum(first * ratio ** np.arange(n_steps), cap)
    return np.r_[0.0, np.cumsum(steps * t_max / steps.sum())]


@pytest.mark.slow
def test_dmft_long_time_test_loss_matches_the_convex_solve():
    """Spec T6 c. delta = 0.5, sparse +-1 teacher (5 % each sign), alpha in
    {0.1, 1}: the DMFT's test loss at t = 30 equals the test error of the
    implicit-bias interpolator at d = 400 (mean of 4 draws; 4 SE + 10 % for its
    finite-d bias), and falls below the min-l2 value (1 - delta) rho / 2 towards
    the min-l1 value (0: basis pursuit recovers this teacher) as alpha falls."""
    prior = {-1.0: 0.05, 0.0: 0.9, 1.0: 0.05}
    finals = []
    for alpha in (0.1, 1.0):
        model = dmft.dln(alpha=alpha, prior=prior)
        res = solve(model, 0.5, geometric(30.0, 5 * K, 0.02, 0.2))
        errs = []
        for seed in range(4):
            rng = np.random.default_rng(seed)
            X = rng.standard_normal((D // 2, D)) / np.sqrt(D)
            star = rng.permutation(np.r_[np.ones(20), -np.ones(20), np.zeros(D - 40)])
            beta = dmft.dln_implicit_bias_solution(X, X @ star, alpha=alpha)
            errs.append(0.5 * np.mean((beta - star) ** 2))
        want, se = np.mean(errs), np.std(errs) / 2
        got = float(res.test_loss[-1])
        assert abs(got - want) < 4 * se + 0.1 * want + 4 * float(res.test_loss_se[-1])
        finals.append(got)
    assert finals[0] < finals[1] < 0.5 * 0.5 * 0.1


@pytest.mark.slow
def test_trade_off_faster_tail_and_worse_test_loss_with_alpha():
    """Spec T6 d. Sparse Gaussian teacher, delta = 0.5: from alpha = 0.1 to 1 to
    3 the tail rate of the train loss (fitted where it falls from 10 % to 0.1 %
    of its start) rises and so does the final test loss."""
    rates, finals = [], []
    for alpha, t_max, cap in ((0.1, 24.0, 0.2), (1.0, 8.0, 0.1), (3.0, 2.0, 0.015)):
        res = solve(dmft.dln(alpha=alpha), 0.5, geometric(t_max, 5 * K, 0.002, cap))
        ts, loss = np.asarray(res.ts), np.asarray(res.train_loss)
        start = ts[np.argmax(loss < 0.1 * loss[0])]
        end = (
            ts[np.argmax(loss < 1e-3 * loss[0])]
            if (loss < 1e-3 * loss[0]).any()
            else ts[-1]
        )
        rates.append(dmft.tail_rate(res, t_min=start, t_max=end))
        finals.append(float(res.test_loss[-1]))
    assert rates[0] < rates[1] < rates[2]
    assert finals[0] < finals[1] < finals[2]


# --- tail rate -----------------------------------------------------------------


def test_tail_rate_recovers_a_known_exponential():
    ts = np.linspace(0.0, 10.0, 101)
    obj = type("R", (), {"ts": ts, "train_loss": 0.3 + 2.0 * np.exp(-0.7 * ts)})()
    assert dmft.tail_rate(obj, t_min=2.0, floor=0.3) == pytest.approx(0.7, rel=1e-10)
    seeds = type(
        "S", (), {"ts": ts, "test_loss": np.exp(-1.3 * ts)[None].repeat(3, 0)}
    )()
    assert dmft.tail_rate(seeds, t_min=1.0, which="test") == pytest.approx(1.3)


# --- per-value paths -----------------------------------------------------------


def test_coefficient_paths_reproduce_the_solver_moments():
    """The effective process rerun from the kernels, averaged over the prior's
    atoms, gives back the solver's overlap m_t = E[beta_t beta*] and second
    moment E[beta_t^2] (4 standard errors of the path means)."""
    model = dmft.dln(alpha=0.3, prior=TWO_LEVELS)
    res = solve(model, 2.0, TimeGrid(4.0, K))
    values = np.asarray(list(TWO_LEVELS))
    probs = np.asarray(list(TWO_LEVELS.values()))
    paths = dmft.dln_coefficient_paths(
        res, model, values, key=jax.random.key(3), n_samples=4000
    )
    mean, std = np.asarray(paths.mean), np.asarray(paths.std)
    m = (probs * values) @ mean
    q = probs @ (mean**2 + std**2)
    se_m = np.sqrt((probs**2 * values**2) @ np.asarray(paths.se) ** 2)
    m_solver = np.asarray(res.m[:, 0, 0])
    assert (np.abs(m - m_solver) <= 4 * se_m + 0.02 * m_solver.max()).all()
    q_solver = np.asarray(jnp.einsum("ttab->tab", res.C_theta)[:, 0, 0])
    assert (np.abs(q - q_solver) <= 0.03 * q_solver.max()).all()


# --- figures -------------------------------------------------------------------


def _stack(*results):
    """Results stacked leaf by leaf, as jax.vmap over the producer stacks them."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *results)


def _traced_plot(result):
    from matplotlib.figure import Figure

    def f(r):
        r.plot(ax=Figure().add_subplot())
        return 0.0

    return jax.jit(f)(result)


def test_dln_trajectory_plot_overlays_the_dmft():
    from matplotlib.figure import Figure

    theory = dmft.linear_regression_dmft(delta=2.0, grid=TimeGrid(2.0, 20))
    factors = (0.97, 1.0, 1.04)  # three "seeds" around the theory
    traj = dmft.DLNTrajectory(
        ts=theory.ts,
        train_loss=jnp.stack([theory.train_loss * f for f in factors]),
        test_loss=jnp.stack([theory.test_loss * f for f in factors]),
        beta=jnp.zeros((3, 21, 5)),
        beta_star=jnp.zeros((3, 5)),
        conservation_error=jnp.zeros((3, 21)),
        first_bad_step=jnp.full(3, -1),
    )
    ax = Figure().add_subplot()
    assert theory.plot(ax=ax) is ax
    assert traj.plot(ax=ax) is ax
    lines = ax.get_lines()
    assert len(lines) == 4  # 2 theory lines + 2 seed means
    assert ax.get_legend_handles_labels()[1] == [
        "train loss (DMFT)",
        "test loss (DMFT)",
        "train loss (network)",
        "test loss (network)",
    ]
    assert lines[0].get_color() == lines[2].get_color()
    assert lines[1].get_color() == lines[3].get_color()
    assert lines[2].get_marker() == "o"
    np.testing.assert_allclose(
        lines[3].get_ydata(), np.asarray(traj.test_loss).mean(0), rtol=1e-12
    )
    assert ax.get_xlabel() == "time t" and ax.get_ylabel() == "loss"
    ax2 = traj.plot(ax=Figure().add_subplot(), average=False, losses=("test",))
    assert len(ax2.get_lines()) == 3  # one per seed
    with pytest.raises(ValueError, match="losses must name 'train' and/or 'test'"):
        traj.plot(losses=("val",))
    assert len(_stack(traj, traj).plot(average=False).get_lines()) == 12
    assert len(_stack(traj, traj).plot().get_lines()) == 4  # seed means per member
    with pytest.raises(TypeError, match="traced value"):
        _traced_plot(traj)


def test_dln_paths_plot_one_normalised_line_per_value():
    from matplotlib.figure import Figure

    ts = jnp.linspace(0.0, 2.0, 5)
    values = jnp.asarray([0.0, 1.0, 2.0])
    mean = values[:, None] * (1.0 - jnp.exp(-ts))[None, :] + jnp.asarray(
        [[0.1], [0.0], [0.0]]
    )
    paths = dmft.DLNPaths(
        ts=ts, beta_star=values, mean=mean, std=jnp.ones((3, 5)), se=0.01 * mean
    )
    ax = Figure().add_subplot()
    assert paths.plot(ax=ax, lw=1.0) is ax
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        "beta* = 0",
        "beta* = 1",
        "beta* = 2",
    ]
    # beta* = 2 divided by 2; the zero value drawn unscaled.
    np.testing.assert_allclose(lines[2].get_ydata(), np.asarray(mean[2]) / 2.0)
    np.testing.assert_allclose(lines[0].get_ydata(), np.asarray(mean[0]))
    assert lines[1].get_linewidth() == 1.0
    assert ax.get_ylabel() == "E[beta_t | beta*] / beta*"
    raw = paths.plot(ax=Figure().add_subplot(), normalise=False)
    np.testing.assert_allclose(raw.get_lines()[2].get_ydata(), np.asarray(mean[2]))
    assert raw.get_ylabel() == "E[beta_t | beta*]"
    with pytest.raises(ValueError, match="batched result"):
        _stack(paths, paths).plot()
    with pytest.raises(TypeError, match="traced value"):
        _traced_plot(paths)


# --- bad inputs ----------------------------------------------------------------


def test_bad_model_inputs_raise():
    with pytest.raises(ValueError, match=r"alpha must be > 0\.0; got 0\.0"):
        dmft.dln(alpha=0.0)
    with pytest.raises(ValueError, match=r"alpha must be > 0\.0; got -1\.0"):
        dmft.dln(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        dmft.dln(alpha=float("nan"))
    with pytest.raises(
        ValueError, match="parametrization must be one of 'uv', 'u2-v2'"
    ):
        dmft.dln(alpha=1.0, parametrization="uvw")
    with pytest.raises(ValueError, match="v0 must be one of 'zero', 'alpha'"):
        dmft.dln(alpha=1.0, v0="one")
    with pytest.raises(ValueError, match="v0='zero' is degenerate"):
        dmft.dln(alpha=1.0, parametrization="u2-v2", v0="zero")
    with pytest.raises(ValueError, match="scheme must be one of"):
        dmft.dln(alpha=1.0, scheme="rk4")
    with pytest.raises(ValueError, match="prior must be one of"):
        dmft.dln(alpha=1.0, prior="laplace")
    with pytest.raises(ValueError, match=r"prior sampler must return shape \(n,\)"):
        dmft.dln(alpha=1.0, prior=lambda key, n: jnp.zeros((n, 2)))
    with pytest.raises(ValueError, match="probabilities must sum to 1"):
        dmft.dln(alpha=1.0, prior={0.0: 0.5, 1.0: 0.6})
    with pytest.raises(TypeError, match="prior must be one of"):
        dmft.dln(alpha=1.0, prior=3)
    with pytest.raises(ValueError, match=r"sparsity must be > 0\.0"):
        dmft.dln(alpha=1.0, sparsity=0.0)
    with pytest.raises(ValueError, match=r"sigma must be >= 0\.0"):
        dmft.dln(alpha=1.0, sigma=-0.1)
    with pytest.raises(ValueError, match=r"ridge must be >= 0\.0"):
        dmft.dln(alpha=1.0, ridge=-0.1)
    with pytest.raises(ValueError, match="linear_noise_std declares the loss"):
        dmft.solve_dmft(
            dataclasses.replace(
                dmft.glm("square", noise_std=0.5), linear_noise_std=0.2
            ),
            delta=2.0,
            grid=TimeGrid(1.0, 4),
            key=jax.random.key(0),
        )
    with pytest.raises(ValueError, match=r"linear_noise_std .* needs k = k_star = 1"):
        dataclasses.replace(dmft.two_layer(2), linear_noise_std=0.0)


def test_bad_simulation_and_theory_inputs_raise():
    model = dmft.dln(alpha=1.0)
    grid = TimeGrid(1.0, 4)
    kw = dict(delta=0.5, grid=grid, d=50, key=jax.random.key(0))
    with pytest.raises(TypeError, match="model must be a DLNModel"):
        dmft.simulate_dln(dmft.glm("square"), **kw)
    with pytest.raises(ValueError, match=r"tau = 0\.5 > 0 needs the Euler scheme"):
        dmft.simulate_dln(model, tau=0.5, **kw)
    with pytest.raises(ValueError, match="record_every must divide"):
        dmft.simulate_dln(model, record_every=3, **kw)
    with pytest.raises(ValueError, match=r"d must be >= 1"):
        dmft.simulate_dln(model, **{**kw, "d": 0})
    with pytest.raises(ValueError, match=r"n_seeds must be >= 1"):
        dmft.simulate_dln(model, n_seeds=0, **kw)
    with pytest.raises(ValueError, match="delta must be a positive finite"):
        dmft.simulate_dln(model, **{**kw, "delta": -1.0})
    with pytest.raises(ValueError, match="on_divergence must be one of"):
        dmft.simulate_dln(model, on_divergence="ignore", **kw)
    with pytest.raises(ValueError, match="grid as times must be strictly increasing"):
        dmft.simulate_dln(model, **{**kw, "grid": [0.0, 1.0, 0.5]})
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match=r"fewer rows than columns \(n < d\)"):
        dmft.dln_implicit_bias_solution(X, np.ones(5), alpha=1.0)
    with pytest.raises(ValueError, match="y must have length n"):
        dmft.dln_implicit_bias_solution(X.T, np.ones(5), alpha=1.0)
    with pytest.raises(ValueError, match="X must be 2-D"):
        dmft.dln_implicit_bias_solution(np.ones(3), np.ones(3), alpha=1.0)
    with pytest.raises(ValueError, match="y must be finite"):
        dmft.dln_implicit_bias_solution(X.T, [1.0, np.nan, 0.0], alpha=1.0)
    with pytest.raises(ValueError, match=r"alpha must be > 0\.0"):
        dmft.dln_implicit_bias_solution(X.T, np.ones(3), alpha=0.0)
    with pytest.raises(ValueError, match=r"fraction must be < 1\.0"):
        dmft.dln_escape_times([1.0], alpha=0.1, method="exact", fraction=1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        dmft.dln_escape_times([1.0], alpha=0.1, method="guess")
    with pytest.raises(ValueError, match="beta_star must be finite"):
        dmft.dln_escape_times([np.inf], alpha=0.1)
    with pytest.raises(TypeError, match="result must have ts and train_loss"):
        dmft.tail_rate(object(), t_min=0.0)
    short = type("R", (), {"ts": np.arange(3.0), "train_loss": np.ones(3)})()
    with pytest.raises(ValueError, match="at least 2 times"):
        dmft.tail_rate(short, t_min=0.0, floor=2.0)
    with pytest.raises(ValueError, match="without weight decay"):
        dmft.dln_lazy_limit(dmft.dln(alpha=1.0, ridge=0.1), delta=0.5, grid=grid)
    with pytest.raises(TypeError, match="model must be a DLNModel"):
        dmft.dln_lazy_limit(dmft.glm("square"), delta=0.5, grid=grid)
    lin = dmft.linear_regression_dmft(delta=2.0, grid=grid)
    with pytest.raises(TypeError, match="result must be a DMFTResult"):
        dmft.dln_coefficient_paths(object(), model, [1.0], key=jax.random.key(0))
    with pytest.raises(ValueError, match="beta_star must be 1-D"):
        dmft.dln_coefficient_paths(lin, model, [[1.0]], key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"n_samples must be >= 100"):
        dmft.dln_coefficient_paths(
            lin, model, [1.0], key=jax.random.key(0), n_samples=5
        )


def test_implicit_bias_warns_when_no_positive_interpolator_exists():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 30))
    y = -np.abs(X).sum(1)  # X b = y with b > 0 is infeasible
    X = np.abs(X)
    with pytest.warns(ConvergenceWarning, match="positive interpolator"):
        dmft.dln_implicit_bias_solution(X, y, alpha=0.1, v0="alpha", max_iter=30)

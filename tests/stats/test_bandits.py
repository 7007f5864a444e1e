"""mltheory.stats.bandits: environments, policies, runners, lenient regret."""

import concurrent.futures
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import numerics
from mltheory.exceptions import DivergenceError, DivergenceWarning
from mltheory.stats import bandits as B

T, K, D = 120, 3, 6  # one shape for most tests (one compile per policy)


@pytest.fixture(scope="module")
def inst():
    return B.make_instance(T, K, D, key=0, noise_sd=0.1)


def _step(policy, inst, key=1):
    """Step a policy by hand through its protocol; return the actions."""
    ctx = np.asarray(inst.contexts)
    mu, xi = np.asarray(inst.means), np.asarray(inst.noise)
    n, k, d = ctx.shape
    policy.reset(k, d, n, key)
    acts = []
    for t in range(n):
        a = policy.select(t, ctx[t])
        acts.append(a)
        policy.update(t, a, ctx[t, a], float(mu[t, a] + xi[t, a]))
    return np.asarray(acts)


LS = {"lengthscale": 2.0}
POLICIES = {
    "etc_ip": lambda: B.KernelInterpolationETC(),
    "etc_rbf": lambda: B.KernelInterpolationETC("rbf", explore="round_robin"),
    "etc_lin": lambda: B.LinearInterpolationETC(T0=30),
    "linucb": lambda: B.LinUCB(alpha=0.7),
    "kucb": lambda: B.KernelUCB(kernel_params=LS),
    "gpucb": lambda: B.GPUCB(kernel_params=LS),
    "greedy": lambda: B.EpsilonGreedy(kernel_params=LS, c=0.5),
    "random": lambda: B.RandomPolicy(),
}


# --------------------------------------------------------------------------- #
# environments
# --------------------------------------------------------------------------- #
def test_make_instance_shapes_and_same_key_same_instance(inst):
    again = B.make_instance(T, K, D, key=0, noise_sd=0.1)
    other = B.make_instance(T, K, D, key=1, noise_sd=0.1)
    assert inst.contexts.shape == (T, K, D) and inst.means.shape == (T, K)
    assert (inst.n_rounds, inst.n_arms, inst.n_features) == (T, K, D)
    np.testing.assert_array_equal(inst.contexts, again.contexts)
    np.testing.assert_array_equal(inst.noise, again.noise)
    assert not np.array_equal(inst.contexts, other.contexts)
    assert inst.means.dtype == jnp.float64


def test_instance_statistics_match_the_model():
    # contexts have the requested covariance, u = <w_i, X_i> has unit variance,
    # noise has sd noise_sd: each within 5 standard errors (Gaussian variance
    # estimates have relative SE sqrt(2/n)).
    n, d = 5000, 4
    lam = np.array([4.0, 2.0, 1.0, 0.5])
    inst = B.make_instance(
        n, 2, d, key=3, reward="linear", cov_spectrum=lam, noise_sd=0.3
    )
    X = np.asarray(inst.contexts).reshape(-1, d)
    var = X.var(axis=0)
    assert np.all(np.abs(var - lam) < 5 * lam * math.sqrt(2 / X.shape[0]))
    u = np.asarray(inst.means)  # linear link: means = u
    assert np.all(np.abs(u.var(axis=0) - 1.0) < 5 * math.sqrt(2 / n))
    assert abs(np.asarray(inst.noise).std() - 0.3) < 5 * 0.3 / math.sqrt(4 * n)


def test_decaying_spectrum_has_trace_d_and_rademacher_contexts():
    inst = B.make_instance(
        2000, 2, 8, key=0, cov_spectrum="decaying", context="rademacher"
    )
    lam = 1.0 / np.arange(1, 9)
    lam *= 8 / lam.sum()
    X = np.asarray(inst.contexts)
    # a Rademacher coordinate times sqrt(lambda_j) takes two values exactly
    np.testing.assert_allclose(np.abs(X[0, 0]), np.sqrt(lam), rtol=1e-12)


def test_reward_links_and_shared_weights():
    lin = B.make_instance(50, 3, 5, key=2, reward="linear", shared=True)
    quad = B.make_instance(50, 3, 5, key=2, reward="quadratic_tanh", shared=True)
    u = np.asarray(lin.means)
    np.testing.assert_allclose(quad.means, np.tanh(2 * u) + 0.5 * u**2, rtol=1e-12)
    # shared: one weight vector, so u_i(t) = <w, X_i(t)> with the same w
    X = np.asarray(lin.contexts)
    w = np.linalg.lstsq(X.reshape(-1, 5), u.reshape(-1), rcond=None)[0]
    np.testing.assert_allclose(X @ w, u, atol=1e-10)


def test_callable_reward_and_instance_from_arrays():
    inst = B.make_instance(30, 2, 3, key=0, reward=lambda c: c[..., 0] ** 2)
    np.testing.assert_allclose(inst.means, np.asarray(inst.contexts)[..., 0] ** 2)
    X = np.random.default_rng(0).standard_normal((10, 2, 3))
    own = B.instance_from_arrays(X, X[..., 1], noise_sd=0.5, key=4)
    assert own.noise_sd == 0.5 and float(np.std(own.noise)) > 0
    given = B.instance_from_arrays(X, X[..., 1], noise=np.ones((10, 2)))
    np.testing.assert_array_equal(given.noise, 1.0)
    quiet = B.instance_from_arrays(X, X[..., 1])
    np.testing.assert_array_equal(quiet.noise, 0.0)


# --------------------------------------------------------------------------- #
# policies: the vectorised run equals the protocol stepped by hand
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_run_bandit_equals_stepping_by_hand(name, inst):
    run = B.run_bandit(POLICIES[name](), inst, key=1)
    np.testing.assert_array_equal(run.actions, _step(POLICIES[name](), inst, key=1))
    assert run.actions.min() >= 0 and run.actions.max() < K
    assert np.all(run.regret >= 0)
    np.testing.assert_allclose(run.cumulative_regret, np.cumsum(run.regret))


@pytest.mark.parametrize("name", ["etc_ip", "linucb", "kucb", "random"])
def test_same_key_same_run_and_run_many_matches_run_bandit(name):
    pol = POLICIES[name]()
    batch = B.run_many(pol, n_reps=2, T=T, K=K, d=D, key=5, chunk_size=1)
    again = B.run_many(pol, n_reps=2, T=T, K=K, d=D, key=5, chunk_size=2)
    np.testing.assert_array_equal(batch.actions, again.actions)
    np.testing.assert_array_equal(batch.regret, again.regret)
    keys = numerics.split_keys(numerics.as_key(5), (2, 2))
    inst = B.make_instance(T, K, D, key=keys[1, 0])
    single = B.run_bandit(pol, inst, key=keys[1, 1])
    np.testing.assert_array_equal(single.actions, batch.actions[1])
    np.testing.assert_allclose(single.regret, batch.regret[1], rtol=1e-12)
    assert batch.actions.min() >= 0 and batch.actions.max() < K


def test_run_many_with_an_executor_is_deterministic():
    pol = B.KernelInterpolationETC()
    base = B.run_many(pol, n_reps=3, T=T, K=K, d=D, key=2, chunk_size=2)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        par = B.run_many(pol, n_reps=3, T=T, K=K, d=D, key=2, chunk_size=1, executor=ex)
    np.testing.assert_array_equal(base.actions, par.actions)


def test_oracle_regret_is_zero(inst):
    assert float(B.run_bandit(B.OraclePolicy(), inst).cumulative_regret[-1]) == 0.0
    batch = B.run_many(B.OraclePolicy, n_reps=2, T=T, K=K, d=D, chunk_size=1)
    assert float(np.abs(batch.cumulative_regret).max()) == 0.0


def test_random_regret_matches_its_expectation(inst):
    # Given the instance, E[R(T)] = sum_t (max_i mu_ti - mean_i mu_ti) exactly;
    # 150 independent runs, tolerance 4 standard errors of their mean.
    mu = np.asarray(inst.means)
    expected = float(np.sum(mu.max(axis=1) - mu.mean(axis=1)))
    totals = np.array(
        [
            B.run_bandit(B.RandomPolicy(), inst, key=k).cumulative_regret[-1]
            for k in range(150)
        ]
    )
    se = totals.std(ddof=1) / math.sqrt(totals.size)
    assert abs(totals.mean() - expected) < 4 * se
    # and T * E[max - mean] over fresh instances, from run_many (120 reps)
    batch = B.run_many(B.RandomPolicy(), n_reps=120, T=T, K=K, d=D, key=9)
    R = batch.cumulative_regret[:, -1]
    # E[max of 3 iid] for the quadratic_tanh link, by Monte Carlo (1e6 draws)
    z = np.random.default_rng(0).standard_normal((1_000_000, K))
    g = np.tanh(2 * z) + 0.5 * z**2
    gap = (g.max(axis=1) - g.mean(axis=1)).mean()
    assert abs(R.mean() - T * gap) < 4 * R.std(ddof=1) / math.sqrt(R.size)


def test_user_policy_out_of_range_arm_is_rejected(inst):
    class Bad:
        def reset(self, K, d, T, key):
            pass

        def select(self, t, contexts):
            return 7

        def update(self, t, arm, context, reward):
            pass

    with pytest.raises(ValueError, match=r"arm in \[0, 2\]; got 7"):
        B.run_bandit(Bad(), inst)

    class Greedy0(Bad):
        def select(self, t, contexts):
            return 0

    run = B.run_bandit(Greedy0(), inst)
    assert np.all(run.actions == 0)


# --------------------------------------------------------------------------- #
# the math of each policy against an independent computation
# --------------------------------------------------------------------------- #
def _fixed_stream(n=40, k=2, d=4, seed=0):
    rng = np.random.default_rng(seed)
    ctx = rng.standard_normal((n, k, d))
    arms = rng.integers(0, k, n)
    y = rng.standard_normal(n)
    return ctx, arms, y


def test_kernel_ucb_with_linear_kernel_equals_linucb_scores():
    # sigma^2(x) = lam x^T A^{-1} x, so (eta/sqrt(lam)) sigma = eta sqrt(x^T A^-1 x)
    ctx, arms, y = _fixed_stream()
    n, k, d = ctx.shape
    lin = B.LinUCB(alpha=0.8, lam=0.5)
    ker = B.KernelUCB("linear", lam=0.5, eta=0.8)
    lin.reset(k, d, n, 0)
    ker.reset(k, d, n, 0)
    for t in range(n):
        np.testing.assert_allclose(
            ker.scores(t, ctx[t]), lin.scores(t, ctx[t]), rtol=0, atol=1e-8
        )
        a = int(arms[t])
        lin.update(t, a, ctx[t, a], y[t])
        ker.update(t, a, ctx[t, a], y[t])


def test_gp_posterior_equals_dense_solve():
    ctx, arms, y = _fixed_stream(n=30, k=2, d=3, seed=1)
    n, k, d = ctx.shape
    gp = B.GPUCB("rbf", noise=0.05, kernel_params={"lengthscale": 1.5})
    gp.reset(k, d, n, 0)
    for t in range(n):
        mean, sd = gp.posterior(t, ctx[t])
        for i in range(k):
            past = [s for s in range(t) if arms[s] == i]
            Xi = ctx[past, i]
            x = ctx[t, i]
            kern = lambda A, Bm: np.exp(
                -0.5 * ((A[:, None] - Bm[None]) ** 2).sum(-1) / 1.5**2
            )
            if past:
                G = kern(Xi, Xi) + 0.05 * np.eye(len(past))
                kv = kern(x[None], Xi)[0]
                m = kv @ np.linalg.solve(G, y[past])
                v = 1.0 - kv @ np.linalg.solve(G, kv)
            else:
                m, v = 0.0, 1.0
            assert abs(mean[i] - m) < 1e-9 and abs(sd[i] - math.sqrt(v)) < 1e-9
        # and the score uses beta_t = 2 log(K t^2 pi^2 / (6 delta))
        beta = 2 * math.log(k * (t + 1) ** 2 * math.pi**2 / (6 * 0.1))
        np.testing.assert_allclose(
            gp.scores(t, ctx[t]), mean + math.sqrt(beta) * sd, rtol=1e-12
        )
        gp.update(t, int(arms[t]), ctx[t, arms[t]], y[t])


def test_linucb_width_scales_with_alpha():
    ctx, arms, y = _fixed_stream(seed=2)
    n, k, d = ctx.shape
    pols = {a: B.LinUCB(alpha=a) for a in (0.0, 1.0, 2.5)}
    for p in pols.values():
        p.reset(k, d, n, 0)
    for t in range(n):
        s = {a: p.scores(t, ctx[t]) for a, p in pols.items()}
        width = s[1.0] - s[0.0]
        assert np.all(width > 0)
        np.testing.assert_allclose(s[2.5] - s[0.0], 2.5 * width, rtol=1e-10)
        for p in pols.values():
            p.update(t, int(arms[t]), ctx[t, arms[t]], y[t])


def test_interpolant_reproduces_its_training_rewards(inst):
    # n_i = 4 <= d = 6: the kernel interpolant passes through every explored
    # reward.
    ctx = np.asarray(inst.contexts)
    y = np.asarray(inst.means + inst.noise)
    for kernel in ("inner_product", "rbf"):
        pol = B.KernelInterpolationETC(kernel, T0=12, explore="round_robin")
        acts = _step(pol, inst)
        for t in range(12):
            fhat = pol.scores(45, ctx[t])  # f_hat_i at the explored contexts
            assert abs(fhat[acts[t]] - y[t, acts[t]]) < 1e-6


def _sqdist(A, Bm):
    return ((A[:, None, :] - Bm[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize(
    ("kernel", "kfun"),
    [
        # the 1/d scaling of both kernel classes, written out here:
        # h(<x, x'>/d) with h = exp, and exp(-|x - x'|^2 / (l^2 d)) with l^2 = 3
        ("inner_product", lambda A, Bm: np.exp(A @ Bm.T / D)),
        ("rbf", lambda A, Bm: np.exp(-_sqdist(A, Bm) / (3.0 * D))),
    ],
)
def test_etc_estimates_equal_a_dense_interpolation(inst, kernel, kfun):
    pol = B.KernelInterpolationETC(kernel, lengthscale2=3.0, T0=30)
    acts = _step(pol, inst)
    ctx, y = np.asarray(inst.contexts), np.asarray(inst.means + inst.noise)
    x_new = ctx[70]
    for i in range(K):
        rows = [t for t in range(30) if acts[t] == i]
        Xi, yi = ctx[rows, i], y[rows, i]
        f = kfun(x_new[i][None], Xi)[0] @ np.linalg.solve(kfun(Xi, Xi), yi)
        assert abs(pol.scores(70, x_new)[i] - f) < 1e-7 * max(1, abs(f))


def test_linear_etc_is_min_norm_least_squares(inst):
    pol = B.LinearInterpolationETC(T0=12, explore="round_robin")
    acts = _step(pol, inst)
    ctx, y = np.asarray(inst.contexts), np.asarray(inst.means + inst.noise)
    for i in range(K):
        rows = [t for t in range(12) if acts[t] == i]
        theta = np.linalg.pinv(ctx[rows, i]) @ y[rows, i]  # n_i < d: min-norm
        np.testing.assert_allclose(
            pol.scores(20, ctx[20])[i], ctx[20, i] @ theta, rtol=1e-9
        )


def test_etc_commits_to_the_argmax_and_explores_t0_rounds(inst):
    run = B.run_bandit(B.KernelInterpolationETC(T0=30), inst, key=0)
    assert run.explore_rounds == 30
    default = B.KernelInterpolationETC()
    assert default.explore_length(1000, 3) == 3 * math.ceil(1000 ** (2 / 3) / 3)
    assert B.KernelInterpolationETC(explore_frac=0.25).explore_length(100, 3) == 27


def test_epsilon_greedy_explores_at_the_scheduled_rate():
    # With c K / t exploration, the number of random rounds has mean
    # sum_t min(1, cK/t); a random round picks a uniform arm.
    pol = B.EpsilonGreedy(kernel_params=LS, c=0.5)
    eps = np.minimum(1.0, 0.5 * K / np.arange(1, T + 1))
    counts = []
    for k in range(30):
        pol.reset(K, D, T, k)
        counts.append(int((pol._u < eps).sum()))
    se = math.sqrt((eps * (1 - eps)).sum() / len(counts))
    assert abs(np.mean(counts) - eps.sum()) < 4 * se


def test_epsilon_greedy_schedule_is_min_one_cK_over_t():
    # Round t (0-based) is the (t+1)-th: a uniform draw u just below
    # eps = min(1, c K / (t + 1)) takes the random arm, just above it the
    # greedy one. An off-by-one in t (c K / t) or a missing K fails here.
    from mltheory.stats import _bandit_engine as engine

    c, k = 0.7, 3
    mean, var, out = np.array([0.0, 1.0, 0.5]), np.ones(k), np.empty(k)
    for t in range(40):
        eps = min(1.0, c * k / (t + 1))
        below = engine.choose(2, t, mean, var, 0.0, 1.0, c, eps - 1e-9, 2, out)
        assert below == 2
        if eps < 1.0:
            above = engine.choose(2, t, mean, var, 0.0, 1.0, c, eps + 1e-9, 2, out)
            assert above == 1
        np.testing.assert_array_equal(out, mean)  # greedy ranks by the mean


def test_linucb_matches_mabwiser_arm_choices():
    mab = pytest.importorskip("mabwiser.mab")
    rng = np.random.default_rng(3)
    n, k, d = 60, 3, 4
    x = rng.standard_normal((n, d))
    ctx = np.repeat(x[:, None, :], k, axis=1)  # one shared context per round
    means = x @ rng.standard_normal((d, k))
    inst = B.instance_from_arrays(ctx, means, noise_sd=0.1, key=0)
    run = B.run_bandit(B.LinUCB(alpha=1.0, lam=1.0), inst)
    y = np.asarray(inst.means + inst.noise)
    model = mab.MAB(list(range(k)), mab.LearningPolicy.LinUCB(alpha=1.0, l2_lambda=1.0))
    first = int(run.actions[0])
    model.fit([first], [y[0, first]], x[:1])
    theirs = [first]
    for t in range(1, n):
        a = int(model.predict(x[t : t + 1]))
        theirs.append(a)
        model.partial_fit([a], [y[t, a]], x[t : t + 1])
    np.testing.assert_array_equal(run.actions, theirs)


# --------------------------------------------------------------------------- #
# lenient regret
# --------------------------------------------------------------------------- #
def test_lenient_regret_monotone_with_end_values():
    r = np.abs(np.random.default_rng(0).standard_normal((5, 200)))
    deltas = np.linspace(0, r.max() + 0.1, 40)
    for kind in ("indicator", "hinge"):
        L = B.lenient_regret(r, deltas, kind=kind)
        assert L.shape == (5, 40)
        assert np.all(np.diff(L, axis=1) <= 1e-12)
        np.testing.assert_allclose(L[:, 0], r.sum(axis=1), rtol=1e-12)
        assert np.all(L[:, -1] == 0)
        # 0 already at Delta = max_t r_t (a round with r_t = Delta is forgiven)
        at_max = B.lenient_regret(r, r.max(axis=1), kind=kind)
        np.testing.assert_array_equal(np.diagonal(at_max), 0.0)
    # a float32 regret keeps its dtype (Delta is compared in float32)
    r32 = r.astype(np.float32)
    L32 = B.lenient_regret(r32, deltas, kind="hinge")
    assert L32.dtype == np.float32
    # each of the 200 terms carries float32 rounding (~6e-8 x max r ~ 2e-7)
    np.testing.assert_allclose(
        L32, B.lenient_regret(r, deltas, kind="hinge"), rtol=1e-5, atol=1e-4
    )
    assert B.lenient_regret(r, deltas).dtype == np.float64
    ind = B.lenient_regret(r, deltas)
    hinge = B.lenient_regret(r, deltas, kind="hinge")
    assert np.all(hinge <= ind + 1e-12)
    # against the definition, one entry
    assert B.lenient_regret(r[0], 0.7) == pytest.approx(r[0][r[0] > 0.7].sum())
    assert B.lenient_regret(r[0], 0.7, kind="hinge") == pytest.approx(
        np.maximum(r[0] - 0.7, 0).sum()
    )


def test_lenient_regret_of_etc_is_dominated_by_exploration_for_large_delta(inst):
    run = B.run_bandit(B.KernelInterpolationETC(T0=30), inst, key=0)
    commit_max = run.regret[30:].max()
    explore = run.regret[:30]
    at = B.lenient_regret(run, commit_max)
    assert at == pytest.approx(explore[explore > commit_max].sum())


# --------------------------------------------------------------------------- #
# divergence, plots, reprs
# --------------------------------------------------------------------------- #
def test_non_finite_scores_raise_or_are_flagged():
    X = np.random.default_rng(0).standard_normal((20, 2, 3))
    X[10, 1, 0] = 1e200  # overflows the inner-product kernel exp(<x, x'>/d)
    inst = B.instance_from_arrays(X, X[..., 0] * 0)
    pol = B.KernelInterpolationETC(T0=4, explore="round_robin")
    with pytest.raises(DivergenceError, match=r"non-finite.*at round 10"):
        B.run_bandit(pol, inst)
    run = B.run_bandit(pol, inst, on_divergence="flag")
    assert run.first_bad_step == 10 and run.diverged
    with pytest.warns(DivergenceWarning, match="round 10"):
        cut = B.run_bandit(pol, inst, on_divergence="warn")
    assert cut.regret.shape == (10,) and cut.first_bad_step == 10
    # stepping the protocol by hand: the same round, as an error. The linear
    # kernel value k(x, x) = 1e400 overflows too: the posterior variance
    # inf - inf is NaN and must not be clipped to 0 (a finite, wrong score).
    for policy in (pol, B.LinUCB(), B.GPUCB("linear")):
        with pytest.raises(FloatingPointError, match="scores of round 10 are not"):
            _step(policy, inst)
    gp = B.run_bandit(B.GPUCB("linear"), inst, on_divergence="flag")
    assert gp.first_bad_step == 10


def test_plots_draw_labelled_curves(inst):
    from matplotlib.colors import to_rgb, to_rgba

    batch = B.run_many(B.RandomPolicy(), n_reps=3, T=T, K=K, d=D)
    ax = batch.plot()
    # the mean curve and its 2 SE band; no commit line for a non-ETC policy
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), batch.mean_regret())
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, T + 1))
    assert ax.get_xlabel() == "round t"
    assert ax.get_ylabel() == "mean cumulative regret R(t)"
    run = B.run_bandit(B.KernelInterpolationETC(T0=30), inst)
    ax = run.plot(ax)
    assert len(ax.lines) == 3 and len(ax.collections) == 1  # + curve, commit line
    curve, commit = ax.lines[1], ax.lines[2]
    np.testing.assert_allclose(curve.get_ydata(), run.cumulative_regret)
    assert list(commit.get_xdata()) == [30, 30]
    assert to_rgba(commit.get_color()) == to_rgba(curve.get_color())
    labels = [t.get_text() for t in ax.get_legend().texts]
    assert labels == ["RandomPolicy (3 reps)", "KernelInterpolationETC"]
    ax = run.plot(label="mine", color=(0.1, 0.2, 0.3))  # an RGB tuple colour
    assert ax.get_ylabel() == "cumulative regret R(t)"
    assert [t.get_text() for t in ax.get_legend().texts] == ["mine"]
    np.testing.assert_allclose(to_rgb(ax.lines[0].get_color()), (0.1, 0.2, 0.3))
    # the commit line takes the curve's colour (through hex: 1/255 rounding)
    np.testing.assert_allclose(
        to_rgb(ax.lines[1].get_color()), (0.1, 0.2, 0.3), atol=1 / 255
    )
    assert len(batch.plot(band=0).collections) == 0
    stacked = B.BanditRun(*(np.stack([getattr(run, f)] * 2) for f in _RUN_FIELDS))
    with pytest.raises(ValueError, match=r"BanditRun\.plot draws one run"):
        stacked.plot()
    assert batch[1].regret.shape == (T,)
    assert "RandomPolicy" in repr(batch)
    # every option that changes the policy shows in its repr
    assert repr(
        B.KernelInterpolationETC("rbf", lengthscale2=3.0, explore_frac=0.2)
    ) == (
        "KernelInterpolationETC(kernel='rbf', lengthscale2=3.0, explore_frac=0.2, "
        "explore='uniform', ridge=0.0, jitter=1e-10)"
    )
    assert repr(B.KernelInterpolationETC(T0=30, explore="round_robin")) == (
        "KernelInterpolationETC(kernel='inner_product', h=exp, T0=30, "
        "explore='round_robin', ridge=0.0, jitter=1e-10)"
    )
    assert repr(B.LinearInterpolationETC()) == (
        "LinearInterpolationETC(T0=None, explore='uniform')"
    )


_RUN_FIELDS = ("actions", "rewards", "regret", "cumulative_regret", "first_bad_step")


def test_policy_equality_shares_compiled_code(inst):
    assert B.LinUCB(alpha=1.0) == B.LinUCB(alpha=1.0)
    # LinUCB's alpha and lam are traced: a sweep over them compiles once
    from mltheory.stats import _bandit_policies as P

    B.run_bandit(B.LinUCB(alpha=0.3, lam=2.0), inst)
    size = P._linucb_simulate._cache_size()
    for alpha, lam in ((0.9, 1.0), (2.0, 0.5)):
        B.run_bandit(B.LinUCB(alpha=alpha, lam=lam), inst)
    assert P._linucb_simulate._cache_size() == size
    assert hash(B.KernelInterpolationETC()) == hash(B.KernelInterpolationETC())
    assert B.KernelUCB(kernel_params=LS) != B.GPUCB(kernel_params=LS)


# --------------------------------------------------------------------------- #
# bad inputs (each before any work)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"K": 1}, ValueError, "K must be >= 2; got 1"),
        ({"T": 0}, ValueError, "T must be >= 1; got 0"),
        ({"d": 0}, ValueError, "d must be >= 1; got 0"),
        ({"noise_sd": -1.0}, ValueError, "noise_sd must be >= 0.0; got -1.0"),
        ({"T": 2.5}, TypeError, "T must be an integer"),
        ({"reward": "cubic"}, ValueError, "reward must be one of"),
        ({"reward": 3}, TypeError, "reward must be callable"),
        ({"context": "laplace"}, ValueError, "context must be one of"),
        ({"cov_spectrum": "flat"}, ValueError, "cov_spectrum must be one of"),
        ({"cov_spectrum": np.ones(2)}, ValueError, r"shape \(4,\)"),
        ({"cov_spectrum": -np.ones(4)}, ValueError, "non-negative"),
        ({"shared": 1}, TypeError, "shared must be a bool"),
    ],
)
def test_make_instance_bad_inputs(kwargs, error, match):
    args = {"T": 10, "K": 2, "d": 4, **kwargs}
    with pytest.raises(error, match=match):
        B.make_instance(**args)


def test_make_instance_non_finite_reward():
    with pytest.raises(ValueError, match="non-finite mean rewards"):
        B.make_instance(5, 2, 2, reward=lambda c: jnp.log(c[..., 0] * 0))


def test_instance_from_arrays_bad_inputs():
    X = np.zeros((5, 2, 3))
    with pytest.raises(ValueError, match=r"contexts must be 3-D \(T, K, d\)"):
        B.instance_from_arrays(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="contexts must be finite"):
        B.instance_from_arrays(np.full((5, 2, 3), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 2 arms"):
        B.instance_from_arrays(np.zeros((5, 1, 3)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"means must have shape \(T, K\)"):
        B.instance_from_arrays(X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="noise must have shape"):
        B.instance_from_arrays(X, np.zeros((5, 2)), noise=np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"noise_sd must be >= 0.0"):
        B.instance_from_arrays(X, np.zeros((5, 2)), noise_sd=-0.1)
    with pytest.raises(TypeError, match="contexts must be array_like"):
        B.instance_from_arrays("x", np.zeros((5, 2)))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: B.LinUCB(alpha=-1.0), ValueError, "alpha must be >= 0.0"),
        (lambda: B.LinUCB(lam=0.0), ValueError, "lam must be > 0.0"),
        (lambda: B.KernelUCB(eta=0.0), ValueError, "eta must be > 0.0"),
        (lambda: B.KernelUCB(lam=-2.0), ValueError, "lam must be > 0.0"),
        (lambda: B.KernelUCB("gauss"), ValueError, "kernel must be one of"),
        (lambda: B.KernelUCB(3), TypeError, "kernel must be a kernel name"),
        (
            lambda: B.KernelUCB(kernel_params={"degree": 2}),
            TypeError,
            "does not accept",
        ),
        (
            lambda: B.KernelUCB(kernel_params={"lengthscale": -1.0}),
            ValueError,
            "lengthscale must be > 0",
        ),
        (lambda: B.GPUCB(noise=0.0), ValueError, "noise must be > 0.0"),
        (lambda: B.GPUCB(delta=1.0), ValueError, "delta must be < 1.0"),
        (lambda: B.EpsilonGreedy(c=0.0), ValueError, "c must be > 0.0"),
        (lambda: B.KernelInterpolationETC("laplace"), ValueError, "kernel must be"),
        (lambda: B.KernelInterpolationETC(h=2.0), TypeError, "h must be callable"),
        (
            lambda: B.KernelInterpolationETC(lengthscale2=0.0),
            ValueError,
            "lengthscale2 must be > 0.0",
        ),
        (lambda: B.KernelInterpolationETC(ridge=-1.0), ValueError, "ridge must be"),
        (
            lambda: B.KernelInterpolationETC(T0=10, explore_frac=0.1),
            ValueError,
            "at most one of T0 and explore_frac",
        ),
        (
            lambda: B.LinearInterpolationETC(explore="greedy"),
            ValueError,
            "explore must be one of",
        ),
        (
            lambda: B.LinearInterpolationETC(explore_frac=1.5),
            ValueError,
            "explore_frac must be <= 1.0",
        ),
    ],
)
def test_policy_bad_options(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_exploration_length_must_fit_the_horizon(inst):
    with pytest.raises(ValueError, match=r"K <= T0 <= T.*T0 = 500"):
        B.run_bandit(B.KernelInterpolationETC(T0=500), inst)
    with pytest.raises(ValueError, match=r"K <= T0 <= T.*T0 = 2 with K = 3"):
        B.run_many(B.LinearInterpolationETC(T0=2), n_reps=1, T=T, K=K, d=D)
    with pytest.raises(ValueError, match="T0 must satisfy"):
        B.KernelInterpolationETC(T0=500).reset(3, 4, 100)


def test_non_psd_gram_is_reported_with_its_min_eigenvalue(inst):
    pol = B.KernelInterpolationETC(h=jnp.sin, T0=30)  # sin: negative coefficients
    with pytest.raises(ValueError, match="positive semi-definite; got a minimum eigen"):
        B.run_bandit(pol, inst)


def _recorded(fn, *args, **kwargs):
    """fn's result and the messages of the RuntimeWarnings it raised.

    Each must point at the caller in this file (its stacklevel), not inside
    the library, whether fn is a runner or a protocol loop (_step).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    mine = [w for w in caught if w.category is RuntimeWarning]
    assert [w.filename for w in mine] == [__file__] * len(mine)
    return out, [str(w.message) for w in mine]


def test_unexplored_arm_warning_fires_exactly_when_an_arm_is_missed(inst):
    # T0 = K = 3 uniform draws miss an arm with probability 1 - 3!/3^3 = 7/9:
    # among 8 keys both outcomes occur (asserted). The warning must follow the
    # explored arms key by key, in run_bandit and when stepping the protocol,
    # and the missed arm's estimate must be 0.
    pol = B.LinearInterpolationETC(T0=3)
    ctx = np.asarray(inst.contexts)
    outcomes = set()
    for key in range(8):
        run, msgs = _recorded(B.run_bandit, pol, inst, key=key)
        missed = sorted(set(range(K)) - set(run.actions[:3].tolist()))
        outcomes.add(bool(missed))
        assert len(msgs) == (1 if missed else 0), (key, missed, msgs)
        if missed:
            assert "no explored point in 1 of 1 replication" in msgs[0]
            assert run.explore_rounds == 3
    assert outcomes == {True, False}
    # the protocol face, for a missing and a full exploration
    for key in (0, 1):
        acts, msgs = _recorded(_step, pol, inst, key=key)
        missed = sorted(set(range(K)) - set(acts[:3].tolist()))
        assert len(msgs) == (1 if missed else 0), (key, missed, msgs)
        if missed:
            np.testing.assert_array_equal(pol.scores(3, ctx[3])[missed], 0.0)
    # run_many counts the replications that missed an arm
    batch, msgs = _recorded(B.run_many, pol, n_reps=12, T=T, K=K, d=D, key=0)
    n_missed = sum(len(set(a[:3].tolist())) < K for a in batch.actions)
    assert 0 < n_missed < 12
    assert msgs == [msgs[0]] and f"in {n_missed} of 12 replication" in msgs[0]
    # round robin (T0 >= K) never warns
    robin = B.LinearInterpolationETC(T0=3, explore="round_robin")
    run, msgs = _recorded(B.run_bandit, robin, inst)
    assert run.actions[:3].tolist() == [0, 1, 2] and msgs == []


def test_ill_conditioned_gram_warns_and_falls_back_to_a_tiny_ridge():
    # every context the same: the Gram matrix is all ones (rank 1); without
    # jitter the factor is singular, the refit with jitter 1e-8 interpolates
    # the mean reward.
    X = np.ones((20, 2, 3))
    inst = B.instance_from_arrays(X, np.tile([0.0, 1.0], (20, 1)))
    pol = B.KernelInterpolationETC(T0=6, explore="round_robin", jitter=0.0)
    with pytest.warns(RuntimeWarning, match="ill-conditioned") as caught:
        run = B.run_bandit(pol, inst)
    assert np.all(run.actions[6:] == 1)
    assert caught[0].filename == __file__  # points at the caller
    # run_many: one warning for the whole batch, whatever the chunking (1-D
    # contexts make exp(x x') Grams of 10 points singular to rounding)
    etc = B.KernelInterpolationETC(T0=30, jitter=0.0)
    batch, msgs = _recorded(B.run_many, etc, n_reps=4, T=60, K=3, d=1, chunk_size=2)
    assert len(msgs) == 1 and "of 4 replication(s)" in msgs[0], msgs
    assert batch.actions.shape == (4, 60)


def test_runner_bad_inputs(inst):
    with pytest.raises(TypeError, match="instance must be a BanditInstance"):
        B.run_bandit(B.LinUCB(), np.zeros((3, 2, 2)))
    with pytest.raises(TypeError, match="callable 'reset'"):
        B.run_bandit(object(), inst)
    with pytest.raises(ValueError, match="on_divergence must be one of"):
        B.run_bandit(B.LinUCB(), inst, on_divergence="ignore")
    with pytest.raises(ValueError, match="n_reps must be >= 1"):
        B.run_many(B.LinUCB(), n_reps=0, T=T, K=K, d=D)
    with pytest.raises(ValueError, match="K must be >= 2"):
        B.run_many(B.LinUCB(), n_reps=1, T=T, K=1, d=D)
    with pytest.raises(TypeError, match="executor must be"):
        B.run_many(B.LinUCB(), n_reps=1, T=T, K=K, d=D, executor=4)
    with pytest.raises(TypeError, match="seed_or_key"):
        B.run_bandit(B.LinUCB(), inst, key="zero")
    with pytest.raises(TypeError, match=r"instance_kwargs may hold only .*got d, foo"):
        B.run_many(
            B.LinUCB(), n_reps=1, T=T, K=K, d=D, instance_kwargs={"foo": 1, "d": 2}
        )
    with pytest.raises(TypeError, match="instance_kwargs must be a dict"):
        B.run_many(
            B.LinUCB(), n_reps=1, T=T, K=K, d=D, instance_kwargs=[("shared", True)]
        )


def test_lenient_regret_bad_inputs():
    with pytest.raises(ValueError, match="delta must be >= 0"):
        B.lenient_regret(np.ones(3), -0.1)
    with pytest.raises(ValueError, match="regret must be non-negative"):
        B.lenient_regret(-np.ones(3), 0.1)
    with pytest.raises(ValueError, match="regret must be finite"):
        B.lenient_regret(np.array([np.nan, 1.0]), 0.1)
    with pytest.raises(ValueError, match="kind must be one of"):
        B.lenient_regret(np.ones(3), 0.1, kind="square")
    with pytest.raises(ValueError, match="delta must be 0-D or 1-D"):
        B.lenient_regret(np.ones(3), np.ones((2, 2)))


def test_protocol_bad_inputs():
    pol = B.LinUCB()
    with pytest.raises(RuntimeError, match="reset"):
        pol.select(0, np.zeros((2, 3)))
    pol.reset(2, 3, 10, 0)
    with pytest.raises(ValueError, match=r"contexts must have shape \(K, d\)"):
        pol.select(0, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="t must be <= 9"):
        pol.select(10, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="arm must be <= 1"):
        pol.update(0, 2, np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="reward must be finite"):
        pol.update(0, 1, np.zeros(3), float("nan"))
    gp = B.GPUCB()
    gp.reset(2, 3, 10, 0)
    with pytest.raises(ValueError, match="must follow select"):
        gp.update(0, 0, np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="OraclePolicy stepped by hand needs means"):
        B.OraclePolicy().reset(2, 3, 10)


def test_jit_compatible_keys():
    # a typed key and the equivalent int seed give the same run
    inst = B.make_instance(30, 2, 3, key=jax.random.key(3))
    again = B.make_instance(30, 2, 3, key=3)
    np.testing.assert_array_equal(inst.contexts, again.contexts)

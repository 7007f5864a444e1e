"""Shuffled linear regression: estimator, localisation, tests, coefficient sets.

Every statistical check has a fixed seed and a tolerance from the statistics;
the references are brute-force enumeration, SciPy's assignment solver, closed
forms (sort-matching, ridge normal equations) and Monte Carlo repetition.
"""

import itertools
import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from mltheory.exceptions import NotFittedError
from mltheory.stats import shuffled as sh

# --------------------------------------------------------------------------- #
# fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def design40():
    """A fixed design (n=40, p=3) shared by the repetition studies."""
    return np.random.default_rng(7).standard_normal((40, 3))


def _ls_objective(X, Y, perm, penalty=0.0):
    """Independent reference: penalised RSS of least squares by lstsq."""
    beta = np.linalg.lstsq(X[perm], Y, rcond=None)[0]
    rss = float(np.sum((Y - X[perm] @ beta) ** 2))
    return rss + penalty * int(np.sum(perm != np.arange(len(Y))))


# --------------------------------------------------------------------------- #
# simulator
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("shuffle", ["cycle", "random"])
def test_simulate_moves_exactly_k_rows(shuffle):
    data = sh.simulate_shuffled(50, 3, k=7, shuffle=shuffle, rng=1)
    assert int(np.sum(data.perm != np.arange(50))) == 7
    assert np.array_equal(np.sort(data.perm), np.arange(50))
    resid = data.Y - data.X[data.perm] @ data.beta
    assert np.std(resid) == pytest.approx(1.0, abs=0.3)


def test_simulate_frac_snr_and_movable():
    mask = np.zeros(30, dtype=bool)
    mask[10:20] = True
    data = sh.simulate_shuffled(30, 2, frac=0.2, sigma=0.5, snr=16.0, movable=mask)
    moved = data.perm != np.arange(30)
    assert moved.sum() == 6 and not moved[~mask].any()
    assert float(data.beta @ data.beta) / 0.5**2 == pytest.approx(16.0)


def test_simulate_same_seed_same_data():
    a = sh.simulate_shuffled(20, 2, k=4, rng=3)
    b = sh.simulate_shuffled(20, 2, k=4, rng=np.random.default_rng(3))
    assert np.array_equal(a.Y, b.Y) and np.array_equal(a.perm, b.perm)


# --------------------------------------------------------------------------- #
# assignment step
# --------------------------------------------------------------------------- #


def test_lap_assignment_is_sort_matching_without_penalty():
    """p = 1, beta > 0: the LS permutation matches the orders of Y and X."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((25, 1))
    y = rng.standard_normal(25)
    perm = sh.lap_assignment(x, y, [2.0])
    expected = np.empty(25, dtype=np.int64)
    expected[np.argsort(y)] = np.argsort(x[:, 0])
    assert np.array_equal(perm, expected)


def test_lap_assignment_matches_scipy_on_the_penalised_cost():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((15, 2))
    Y = rng.standard_normal(15)
    beta, offset, lam = np.array([1.0, -0.5]), 0.3 * rng.standard_normal(15), 0.2
    cost = (Y - offset)[:, None] - (X @ beta)[None, :]
    cost = cost**2 + lam * (1 - np.eye(15))
    expected = linear_sum_assignment(cost)[1]
    got = sh.lap_assignment(X, Y, beta, offset=offset, penalty=lam)
    assert np.array_equal(got, expected)


def test_lap_assignment_partial_designs():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 2))
    Y = rng.standard_normal(12)
    beta = np.array([1.0, 2.0])
    mask = np.arange(12) < 6
    perm = sh.lap_assignment(X, Y, beta, movable=mask)
    assert np.array_equal(perm[6:], np.arange(6, 12))
    # Column-partial: only column 1 is permuted; the cost keeps x_{A,i}.
    cost = (Y - X[:, 0] * beta[0])[:, None] - (X[:, 1] * beta[1])[None, :]
    expected = linear_sum_assignment(cost**2)[1]
    got = sh.lap_assignment(X, Y, beta, permuted_cols=[1])
    assert np.array_equal(got, expected)
    # All columns permuted = the full model.
    full = sh.lap_assignment(X, Y, beta, permuted_cols=[0, 1])
    assert np.array_equal(full, sh.lap_assignment(X, Y, beta))


# --------------------------------------------------------------------------- #
# brute force and LAP estimator
# --------------------------------------------------------------------------- #


def test_bruteforce_matches_lstsq_enumeration():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 2))
    Y = rng.standard_normal(5)
    for k_max, lam in [(None, 0.0), (2, 0.0), (None, 0.3)]:
        fit = sh.least_squares_bruteforce(X, Y, k_max=k_max, penalty=lam)
        perms = [np.array(q) for q in itertools.permutations(range(5))]
        if k_max is not None:
            perms = [q for q in perms if np.sum(q != np.arange(5)) <= k_max]
        objs = [_ls_objective(X, Y, q, lam) for q in perms]
        assert fit.objective == pytest.approx(min(objs), rel=1e-10)
        assert _ls_objective(X, Y, fit.perm, lam) == pytest.approx(min(objs))


@pytest.mark.parametrize("p", [1, 2])
def test_fit_lap_attains_bruteforce_minimum(p):
    """Spec A.5.1: >= 95% of 25 small instances at the exact optimum."""
    hits = 0
    for seed in range(25):
        data = sh.simulate_shuffled(7, p, k=3, sigma=0.3, rng=seed)
        lam = 0.0 if p == 1 else 0.05
        fit = sh.fit_lap(data.X, data.Y, penalty=lam, n_starts=20, rng=seed)
        exact = sh.least_squares_bruteforce(data.X, data.Y, penalty=lam)
        assert fit.objective >= exact.objective - 1e-9  # brute force is the min
        hits += fit.objective <= exact.objective + 1e-9
    if p == 1:
        assert hits == 25  # the two sign pilots make p = 1 exact
    else:
        assert hits >= 24


def test_fit_lap_auto_penalty_matches_bruteforce_at_its_penalty():
    hits = 0
    for seed in range(10):
        data = sh.simulate_shuffled(7, 2, k=3, sigma=0.2, rng=100 + seed)
        fit = sh.fit_lap(data.X, data.Y, rng=seed)
        exact = sh.least_squares_bruteforce(data.X, data.Y, penalty=fit.penalty)
        hits += fit.objective <= exact.objective + 1e-9
    assert hits >= 9


def test_fit_lap_recovers_the_permutation_at_high_snr():
    data = sh.simulate_shuffled(40, 3, k=6, sigma=0.01, rng=4)
    fit = sh.fit_lap(data.X, data.Y, rng=0)
    assert np.array_equal(fit.perm, data.perm)
    np.testing.assert_allclose(fit.beta, data.beta, atol=0.01)
    assert fit.converged
    assert fit.rss == pytest.approx(_ls_objective(data.X, data.Y, fit.perm))


def test_fit_lap_identity_data():
    """sigma -> 0 and no shuffle: the identity."""
    data = sh.simulate_shuffled(30, 2, k=0, sigma=1e-6, rng=5)
    assert np.array_equal(sh.fit_lap(data.X, data.Y).perm, np.arange(30))


def test_ridge_tends_to_ols_and_solves_its_normal_equations():
    data = sh.simulate_shuffled(30, 3, k=4, sigma=0.05, rng=6)
    ols = sh.fit_lap(data.X, data.Y, rng=0)
    tiny = sh.fit_lap(data.X, data.Y, ridge=1e-9, rng=0)
    assert np.array_equal(tiny.perm, ols.perm)
    np.testing.assert_allclose(tiny.beta, ols.beta, atol=1e-8)
    lam = 5.0
    fit = sh.fit_lap(data.X, data.Y, ridge=lam, rng=0)
    Xp = data.X[fit.perm]
    closed = np.linalg.solve(data.X.T @ data.X + lam * np.eye(3), Xp.T @ data.Y)
    np.testing.assert_allclose(fit.beta, closed, rtol=1e-10)
    assert np.linalg.norm(fit.beta) < np.linalg.norm(ols.beta)


def test_ridge_allows_more_columns_than_rows():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 10)), rng.standard_normal(6)
    fit = sh.fit_lap(X, Y, ridge=1.0, n_starts=3)
    assert fit.beta.shape == (10,)


def test_row_partial_design_is_respected():
    mask = np.zeros(40, dtype=bool)
    mask[:15] = True
    data = sh.simulate_shuffled(40, 2, k=5, sigma=0.05, movable=mask, rng=8)
    fit = sh.fit_lap(data.X, data.Y, movable=mask, rng=0)
    assert np.array_equal(fit.perm[~mask], np.flatnonzero(~mask))
    small = sh.simulate_shuffled(8, 2, k=3, sigma=0.3, movable=np.arange(8) < 6, rng=9)
    exact = sh.least_squares_bruteforce(
        small.X, small.Y, penalty=0.05, movable=np.arange(8) < 6
    )
    fit = sh.fit_lap(small.X, small.Y, penalty=0.05, movable=np.arange(8) < 6, rng=0)
    assert fit.objective == pytest.approx(exact.objective)


def test_column_partial_design():
    """Only column 1 is mismatched; column 0 stays with its row."""
    rng = np.random.default_rng(10)
    n = 40
    X = rng.standard_normal((n, 2))
    perm = np.arange(n)
    perm[[3, 11, 25, 30]] = [11, 25, 30, 3]
    Y = X[:, 0] * 1.5 + X[perm, 1] * 2.0 + 0.01 * rng.standard_normal(n)
    fit = sh.fit_lap(X, Y, permuted_cols=[1], rng=0)
    assert np.array_equal(fit.perm, perm)
    np.testing.assert_allclose(fit.beta, [1.5, 2.0], atol=0.01)
    full = sh.fit_lap(X, Y, permuted_cols=[0, 1], rng=0)
    same = sh.fit_lap(X, Y, rng=0)
    assert np.array_equal(full.perm, same.perm)


def test_fit_intercept():
    data = sh.simulate_shuffled(40, 2, k=4, sigma=0.01, rng=11)
    fit = sh.fit_lap(data.X, data.Y + 3.0, fit_intercept=True, rng=0)
    assert fit.intercept == pytest.approx(3.0, abs=0.01)
    np.testing.assert_allclose(fit.beta, data.beta, atol=0.01)


def test_relabelling_rows_permutes_the_estimate():
    """Relabel rows of (X, Y) by s: the estimate becomes s^-1 o perm o s."""
    data = sh.simulate_shuffled(30, 2, k=4, sigma=0.01, rng=12)
    s = np.random.default_rng(0).permutation(30)
    fit = sh.fit_lap(data.X, data.Y, n_starts=1)
    fit_s = sh.fit_lap(data.X[s], data.Y[s], n_starts=1)
    assert np.array_equal(fit_s.perm, np.argsort(s)[fit.perm[s]])


def test_scaling_y_scales_beta():
    data = sh.simulate_shuffled(30, 2, k=4, sigma=0.1, rng=13)
    a = sh.fit_lap(data.X, data.Y, rng=0)
    b = sh.fit_lap(data.X, 3.0 * data.Y, rng=0)
    assert np.array_equal(a.perm, b.perm)
    np.testing.assert_allclose(b.beta, 3.0 * a.beta, rtol=1e-10)


# --------------------------------------------------------------------------- #
# conditional Monte Carlo test
# --------------------------------------------------------------------------- #


@pytest.mark.slow
def test_type_one_error_by_repetition(design40):
    """Spec A.5.2: 200 null data sets, B = 99, rejection rate within the
    binomial 99% band above alpha (0.05 + 2.6 * sqrt(0.05 * 0.95 / 200)).
    One start per fit: exactness holds for any fixed statistic."""
    rng = np.random.default_rng(20)
    Ys = design40 @ np.ones(3) + rng.standard_normal((200, 40))
    res = sh.conditional_mc_test(design40, Ys, n_mc=99, n_starts=1, rng=1)
    rate = float(np.mean(res.p_value <= 0.05))
    assert rate <= 0.05 + 2.6 * math.sqrt(0.05 * 0.95 / 200)
    assert res.p_value.shape == (200,) and res.null_statistics.shape == (200, 99)


def test_type_one_error_for_a_non_identity_null(design40):
    """H0: pi* = pi0 with pi0 a 6-cycle: data drawn from pi0 are not rejected."""
    pi0 = np.arange(40)
    pi0[[1, 5, 9, 13, 17, 21]] = [5, 9, 13, 17, 21, 1]
    rng = np.random.default_rng(21)
    Ys = design40[pi0] @ np.ones(3) + 0.3 * rng.standard_normal((60, 40))
    res = sh.conditional_mc_test(
        design40, Ys, null_perm=pi0, n_mc=99, n_starts=1, rng=2
    )
    assert float(np.mean(res.p_value <= 0.05)) <= 0.05 + 2.6 * math.sqrt(
        0.05 * 0.95 / 60
    )
    wrong = sh.conditional_mc_test(design40, Ys[:20], n_mc=99, rng=2)
    assert float(np.mean(wrong.p_value <= 0.05)) >= 0.8


@pytest.mark.slow
def test_power_increases_with_shuffle_fraction(design40):
    """Spec A.5.3: power non-decreasing in rho (MC slack 2 s.e.), high at 0.2."""
    rng = np.random.default_rng(22)
    fracs, reps = [0.0, 0.05, 0.1, 0.2], 40
    Ys = []
    for frac in fracs:
        k = round(frac * 40)
        for _ in range(reps):
            perm = np.arange(40)
            if k:
                rows = rng.choice(40, k, replace=False)
                perm[rows] = np.roll(rows, -1)
            Ys.append(design40[perm] @ np.ones(3) + 0.5 * rng.standard_normal(40))
    res = sh.conditional_mc_test(design40, np.asarray(Ys), n_mc=99, n_starts=3, rng=3)
    power = (res.p_value <= 0.05).reshape(len(fracs), reps).mean(axis=1)
    slack = 2 * math.sqrt(0.25 / reps)
    assert np.all(np.diff(power) >= -slack)
    assert power[-1] >= 0.8 and power[0] <= 0.15


def test_p_value_range_scale_invariance_and_seed():
    data = sh.simulate_shuffled(30, 2, k=6, sigma=0.3, rng=23)
    a = sh.conditional_mc_test(data.X, data.Y, n_mc=49, rng=4)
    b = sh.conditional_mc_test(data.X, 10.0 * data.Y, n_mc=49, rng=4)
    c = sh.conditional_mc_test(data.X, data.Y, n_mc=49, rng=4)
    assert 1 / 50 <= a.p_value <= 1
    assert a.p_value == b.p_value
    assert a.statistic == pytest.approx(b.statistic, rel=1e-8)
    assert a.p_value == c.p_value and np.array_equal(
        a.null_statistics, c.null_statistics
    )


def test_max_resid_and_callable_statistics(design40):
    rng = np.random.default_rng(24)
    Ys = design40 @ np.ones(3) + rng.standard_normal((100, 40))
    res = sh.conditional_mc_test(design40, Ys, statistic="max_resid", n_mc=99, rng=5)
    assert float(np.mean(res.p_value <= 0.05)) <= 0.05 + 2.6 * math.sqrt(
        0.05 * 0.95 / 100
    )

    def spread(X0, Ys):
        q, _ = np.linalg.qr(X0)
        res = Ys - (Ys @ q) @ q.T
        return np.abs(res).max(axis=1) / np.abs(res).mean(axis=1)

    one = sh.conditional_mc_test(design40, Ys[0], statistic=spread, n_mc=99, rng=5)
    assert one.method == "callable" and 0 < one.p_value <= 1


def test_structure_test_block_null():
    block = np.zeros(30, dtype=bool)
    block[:10] = True
    inside = sh.simulate_shuffled(30, 2, k=4, sigma=0.05, movable=block, rng=25)
    res = sh.structure_test(inside.X, inside.Y, null_set=block, n_mc=49, n_draws=10)
    assert res.p_value > 0.05
    outside = sh.simulate_shuffled(30, 2, k=4, sigma=0.05, movable=~block, rng=25)
    res = sh.structure_test(
        outside.X,
        outside.Y,
        null_set=lambda q: bool(np.all(q[10:] == range(10, 30))),
        n_mc=49,
        n_draws=10,
    )
    assert res.p_value <= 0.05


# --------------------------------------------------------------------------- #
# candidate sets and confidence sets
# --------------------------------------------------------------------------- #


def test_candidate_set_coverage_grows_with_draws():
    """Spec A.5.4: n=30, p=2, a 4-cycle. The sets are nested in M, so coverage
    is non-decreasing; at the highest SNR it reaches 1 - alpha; with the
    penalty the set stays much smaller than M."""
    ms, reps = [0, 20, 100], 20
    cover = {s: np.zeros(len(ms)) for s in (0.1, 0.01)}
    sizes = []
    for sigma in cover:
        for seed in range(reps):
            data = sh.simulate_shuffled(30, 2, k=4, sigma=sigma, rng=seed)
            cands = sh.repro_candidate_set(data.X, data.Y, n_draws=100, rng=seed)
            for j, m in enumerate(ms):
                cover[sigma][j] += cands.first(m).contains(data.perm)
            sizes.append(len(cands.perms))
    for sigma in cover:
        assert np.all(np.diff(cover[sigma]) >= 0)
    assert cover[0.01][-1] / reps >= 0.95
    assert cover[0.1][-1] > cover[0.1][0]  # the draws add coverage
    assert np.mean(sizes) < 0.5 * 100


def test_candidate_set_first_equals_a_shorter_run():
    data = sh.simulate_shuffled(30, 2, k=4, sigma=0.3, rng=30)
    full = sh.repro_candidate_set(data.X, data.Y, n_draws=60, rng=1)
    short = sh.repro_candidate_set(data.X, data.Y, n_draws=25, rng=1)
    as_set = lambda c: {tuple(q) for q in c.perms}
    assert as_set(full.first(25)) == as_set(short)
    assert int(full.counts.sum()) == 60
    assert np.all(full.hamming == np.sum(full.perms != np.arange(30), axis=1))


def test_candidate_set_without_penalty_is_larger():
    data = sh.simulate_shuffled(30, 2, k=4, sigma=0.1, rng=31)
    pen = sh.repro_candidate_set(data.X, data.Y, n_draws=50, rng=0)
    free = sh.repro_candidate_set(data.X, data.Y, n_draws=50, penalty=0.0, rng=0)
    assert len(free.perms) > len(pen.perms)
    kmax = sh.repro_candidate_set(data.X, data.Y, n_draws=50, k_max=4, rng=0)
    assert np.all(kmax.hamming <= 4)


def test_fit_offset_variant_runs():
    data = sh.simulate_shuffled(30, 2, k=4, sigma=0.05, rng=32)
    cands = sh.repro_candidate_set(
        data.X, data.Y, n_draws=20, offset_scale="fit", rng=0
    )
    assert cands.contains(cands.point_estimate)


@pytest.mark.slow
def test_coefficient_set_coverage_and_naive_undercoverage():
    """Spec A.5.5: union region covers beta* at >= 1 - alpha - 2 s.e.; the
    region of least squares that ignores the mismatch does not."""
    reps, union, ignore = 40, 0, 0
    for seed in range(reps):
        data = sh.simulate_shuffled(100, 2, frac=0.2, sigma=0.3, rng=seed)
        cs = sh.coefficient_confidence_set(data.X, data.Y, n_draws=30, rng=seed)
        naive = sh.coefficient_confidence_set(
            data.X, data.Y, candidates=np.arange(100), alpha_loc=0.001
        )
        union += cs.contains(data.beta)
        ignore += naive.contains(data.beta)
    assert union / reps >= 0.95 - 2 * math.sqrt(0.05 * 0.95 / reps)
    assert ignore / reps < 0.5


def test_coefficient_set_matches_the_f_and_t_formulas():
    rng = np.random.default_rng(33)
    X, Y = rng.standard_normal((25, 2)), rng.standard_normal(25)
    from scipy import stats

    cs = sh.coefficient_confidence_set(X, Y, candidates=np.arange(25), alpha=0.1)
    beta, rss = np.linalg.lstsq(X, Y, rcond=None)[:2]
    s2 = float(rss[0]) / 23
    assert cs.radii2[0] == pytest.approx(2 * s2 * stats.f.ppf(0.95, 2, 23))
    se = np.sqrt(s2 * np.diag(np.linalg.inv(X.T @ X)))
    half = stats.t.ppf(1 - 0.025, 23) * se
    np.testing.assert_allclose(cs.intervals[:, 0], beta - half)
    np.testing.assert_allclose(cs.intervals[:, 1], beta + half)
    assert cs.contains(beta) and not cs.contains(beta + 10 * se)
    ridge = sh.coefficient_confidence_set(X, Y, candidates=np.arange(25), ridge=2.0)
    A = np.linalg.inv(X.T @ X + 2.0 * np.eye(2))
    np.testing.assert_allclose(ridge.centers[0], A @ X.T @ Y)
    np.testing.assert_allclose(ridge.gram, np.linalg.inv(A @ X.T @ X @ A))


def test_permutation_confidence_set_keeps_the_truth():
    data = sh.simulate_shuffled(20, 1, k=2, sigma=0.1, rng=1)
    cs = sh.permutation_confidence_set(data.X, data.Y, n_mc=39, n_draws=20, rng=0)
    assert cs.contains(data.perm)
    assert np.all(cs.p_values > 0.05)
    assert len(cs.candidate_perms) >= len(cs.perms)


# --------------------------------------------------------------------------- #
# estimator API
# --------------------------------------------------------------------------- #


def test_estimator_api():
    data = sh.simulate_shuffled(40, 2, k=6, sigma=0.05, rng=40)
    model = sh.ShuffledRegression(n_draws=20, fit_intercept=True)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(data.X)
    with pytest.raises(NotFittedError):
        model.conf_int()
    assert model.fit(data.X, data.Y + 1.0) is model
    assert model.intercept_ == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(model.coef_, data.beta, atol=0.05)
    assert model.permutation_.shape == (40,)
    np.testing.assert_allclose(
        model.predict(data.X[:3]), data.X[:3] @ model.coef_ + model.intercept_
    )
    assert model.test_no_mismatch(n_mc=99).p_value <= 0.05
    ci = model.conf_int()
    assert ci.intervals.shape == (3, 2)
    assert ci.contains(np.concatenate([[1.0], data.beta]))
    params = model.get_params()
    assert params["n_draws"] == 20 and params["fit_intercept"] is True
    assert model.set_params(ridge=0.5).ridge == 0.5
    with pytest.raises(ValueError, match="invalid parameter 'bogus'"):
        model.set_params(bogus=1)
    with pytest.raises(ValueError, match="X must have 2 columns"):
        model.predict(np.ones((2, 3)))


def test_estimator_stores_constructor_arguments_unchanged():
    model = sh.ShuffledRegression(penalty=-1.0)
    assert model.penalty == -1.0
    with pytest.raises(ValueError, match="penalty must be >= 0"):
        model.fit(np.random.default_rng(0).standard_normal((10, 2)), np.zeros(10))


# --------------------------------------------------------------------------- #
# results are pytrees
# --------------------------------------------------------------------------- #


def test_results_round_trip_as_pytrees():
    data = sh.simulate_shuffled(20, 2, k=4, sigma=0.1, rng=50)
    fit = sh.fit_lap(data.X, data.Y)
    cands = sh.repro_candidate_set(data.X, data.Y, n_draws=5)
    test = sh.conditional_mc_test(data.X, data.Y, n_mc=19)
    cs = sh.coefficient_confidence_set(data.X, data.Y, candidates=cands)
    for obj in (data, fit, cands, test, cs):
        leaves, tree = jax.tree_util.tree_flatten(obj)
        back = jax.tree_util.tree_unflatten(tree, leaves)
        assert type(back) is type(obj)
        for a, b in zip(jax.tree_util.tree_leaves(back), leaves, strict=True):
            assert np.array_equal(np.asarray(a), np.asarray(b))


# --------------------------------------------------------------------------- #
# bad inputs (spec A.6)
# --------------------------------------------------------------------------- #

_X = np.random.default_rng(60).standard_normal((10, 2))
_Y = _X @ np.ones(2) + np.random.default_rng(61).standard_normal(10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(X=np.ones(10), Y=_Y), "X must be 2-D"),
        (dict(X=_X, Y=_X), "Y must be 1-D"),
        (dict(X=_X, Y=_Y[:9]), "one entry per row of X"),
        (dict(X=np.where(np.eye(10, 2) > 0, np.nan, _X), Y=_Y), "X must be finite"),
        (dict(X=_X, Y=np.r_[_Y[:9], np.inf]), "Y must be finite"),
        (dict(X=_X[:2], Y=_Y[:2]), r"n > p.*n=2, p=2"),
        (dict(X=np.c_[_X, _X[:, 0]], Y=_Y), "rank 2 < p=3"),
        (dict(X=_X, Y=_Y, penalty=-1.0), "penalty must be >= 0"),
        (dict(X=_X, Y=_Y, penalty="big"), "penalty must be one of 'auto'"),
        (dict(X=_X, Y=_Y, n_starts=0), "n_starts must be >= 1"),
        (dict(X=_X, Y=_Y, movable=np.ones(9, bool)), "length n=10"),
        (dict(X=_X, Y=_Y, movable=np.eye(10, dtype=bool)[0]), "at least 2 rows"),
        (dict(X=_X, Y=_Y, ridge=-0.1), "ridge must be >= 0"),
    ],
)
def test_fit_lap_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sh.fit_lap(**kwargs)


def test_ridge_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        sh.fit_lap(_X[:1], _Y[:1], ridge=1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n=10, p=2, k=1), "k=1: a shuffle must move 0 or at least 2 rows"),
        (dict(n=10, p=2, frac=0.1), r"frac=0.1 gives k=round\(frac\*n\)=1"),
        (dict(n=10, p=2, k=11), "k=11 exceeds the number of rows that may move"),
        (dict(n=10, p=2, k=2, frac=0.2), "give k or frac, not both"),
        (dict(n=10, p=2, frac=1.5), "frac must be <= 1"),
        (dict(n=10, p=2, sigma=-1.0), "sigma must be >= 0"),
        (dict(n=10, p=2, design="t"), "design must be one of"),
        (dict(n=10, p=2, beta=[1.0]), r"beta must have shape \(2,\)"),
        (dict(n=10, p=2, snr=1.0, sigma=0.0), "snr needs sigma > 0"),
    ],
)
def test_simulate_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sh.simulate_shuffled(**kwargs)


def test_test_and_set_bad_inputs():
    with pytest.raises(ValueError, match="n_mc must be >= 1"):
        sh.conditional_mc_test(_X, _Y, n_mc=0)
    with pytest.raises(ValueError, match="null_perm must be a permutation of range"):
        sh.conditional_mc_test(_X, _Y, null_perm=np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="null_perm must be a permutation of range"):
        sh.conditional_mc_test(_X, _Y, null_perm=np.arange(9))
    with pytest.raises(ValueError, match="statistic must be one of"):
        sh.conditional_mc_test(_X, _Y, statistic="lr")
    with pytest.raises(ValueError, match="n_draws must be >= 0"):
        sh.repro_candidate_set(_X, _Y, n_draws=-1)
    with pytest.raises(ValueError, match="offset_scale must be one of"):
        sh.repro_candidate_set(_X, _Y, offset_scale="unit")
    for alpha in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"alpha must be > 0\.0|alpha must be < 1"):
            sh.coefficient_confidence_set(_X, _Y, alpha=alpha, n_draws=0)
    with pytest.raises(ValueError, match=r"alpha_loc must be < 0\.05"):
        sh.coefficient_confidence_set(_X, _Y, alpha=0.05, alpha_loc=0.05, n_draws=0)
    with pytest.raises(ValueError, match="alpha must be < 1"):
        sh.permutation_confidence_set(_X, _Y, alpha=1.0)
    with pytest.raises(ValueError, match="delta must be <= 1"):
        sh.structure_test(_X, _Y, null_set=np.ones(10, bool), delta=2.0)
    with pytest.raises(ValueError, match=r"candidates must be .* shape \(m, 10\)"):
        sh.coefficient_confidence_set(_X, _Y, candidates=np.zeros((2, 9), int))
    with pytest.raises(TypeError, match="statistic must be callable"):
        sh.conditional_mc_test(_X, _Y, statistic=3)
    with pytest.raises(TypeError, match="rng must be an int seed"):
        sh.fit_lap(_X, _Y, rng="seed")


def test_bruteforce_refuses_large_n():
    X = np.random.default_rng(0).standard_normal((10, 1))
    with pytest.raises(ValueError, match="n=10 exceeds max_n=9"):
        sh.least_squares_bruteforce(X, X[:, 0])


def test_warnings_for_small_b_and_perfect_fit():
    with pytest.warns(UserWarning, match="can never reject"):
        sh.conditional_mc_test(_X, _Y, n_mc=9)
    with pytest.warns(UserWarning, match="can never reject"):
        sh.permutation_confidence_set(
            _X, _Y, alpha=0.01, n_mc=49, candidates=np.arange(10)
        )
    with pytest.warns(UserWarning, match="fits Y exactly"):
        sh.conditional_mc_test(_X, _X @ np.ones(2), n_mc=19)


# --------------------------------------------------------------------------- #
# air-quality data
# --------------------------------------------------------------------------- #


def _write_csv(path, data, rows, na_row=None):
    header = ",".join(
        f'"{c}"' if c in ("wd", "station") else c for c in sh.AIR_QUALITY_COLUMNS
    )
    lines = [header]
    for i in range(rows):
        vals = []
        for c in sh.AIR_QUALITY_COLUMNS:
            v = data[c][i]
            vals.append("NA" if (i == na_row and c == "PM2.5") else str(v))
        lines.append(",".join(vals))
    path.write_text("\n".join(lines) + "\n")


def test_loader_reads_the_real_layout(tmp_path):
    data = sh.synthetic_air_quality(12, station="Dongsi", rng=1)
    _write_csv(tmp_path / "PRSA_Data_Dongsi_20130301-20170228.csv", data, 12, na_row=3)
    out = sh.load_beijing_air_quality(tmp_path, station="Dongsi")
    assert out["PM2.5"].shape == (11,) and out["station"][0] == "Dongsi"
    np.testing.assert_allclose(out["TEMP"], np.delete(data["TEMP"], 3))
    raw = sh.load_beijing_air_quality(
        tmp_path / "PRSA_Data_Dongsi_20130301-20170228.csv",
        columns=["PM2.5", "wd"],
        dropna=False,
    )
    assert sorted(raw) == ["PM2.5", "wd"] and np.isnan(raw["PM2.5"][3])
    every = sh.load_beijing_air_quality(tmp_path)  # the folder: all files found
    assert every["No"].shape == (11,)


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="UCI Machine Learning Repository"):
        sh.load_beijing_air_quality(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="PRSA_Data_<Station>"):
        sh.load_beijing_air_quality(tmp_path)
    with pytest.raises(FileNotFoundError, match="PRSA_Data_Tiantan"):
        sh.load_beijing_air_quality(tmp_path, station="Tiantan")
    with pytest.raises(ValueError, match="station must be one of"):
        sh.load_beijing_air_quality(tmp_path, station="Paris")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        sh.load_beijing_air_quality(bad)
    with pytest.raises(ValueError, match="columns entry must be one of"):
        sh.load_beijing_air_quality(bad, columns=["PM25"])


def test_synthetic_air_quality_is_the_documented_linear_model():
    data = sh.synthetic_air_quality(3000, rng=2)
    assert set(data) == set(sh.AIR_QUALITY_COLUMNS)
    Z = np.c_[
        np.ones(3000), data["DEWP"], data["TEMP"], data["PRES"] - 1012, data["WSPM"]
    ]
    beta = np.linalg.lstsq(Z, data["PM2.5"], rcond=None)[0]
    # Standard errors ~ 6 / sqrt(3000 * var(covariate)) < 0.25 for every slope.
    np.testing.assert_allclose(beta[1:], [2.5, -1.5, -0.8, -8.0], atol=0.5)
    assert np.array_equal(data["PM2.5"], sh.synthetic_air_quality(3000, rng=2)["PM2.5"])


# --------------------------------------------------------------------------- #
# property: the assignment step is an exact LAP solve
# --------------------------------------------------------------------------- #


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 9),
    seed=st.integers(0, 2**16),
    penalty=st.floats(0.0, 2.0),
)
def test_lap_assignment_total_cost_is_optimal(n, seed, penalty):
    """The returned permutation attains SciPy's optimal total cost."""
    rng = np.random.default_rng(seed)
    X, Y, beta = rng.standard_normal((n, 2)), rng.standard_normal(n), rng.normal(size=2)
    cost = (Y[:, None] - (X @ beta)[None, :]) ** 2 + penalty * (1 - np.eye(n))
    perm = sh.lap_assignment(X, Y, beta, penalty=penalty)
    best = cost[np.arange(n), linear_sum_assignment(cost)[1]].sum()
    assert cost[np.arange(n), perm].sum() == pytest.approx(best, rel=1e-12, abs=1e-12)
    assert np.array_equal(np.sort(perm), np.arange(n))

"""OT maps between measures on a Hilbert space: smoothness, closed forms, estimators."""

import itertools
import pickle
import warnings

import jax
import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import linear_sum_assignment

from mltheory.exceptions import NotFittedError
from mltheory.numerics import FunctionalData
from mltheory.stats import ot

# --- gamma smoothness and frequency sets ----------------------------------------


def _brute_force(a, T, kind, radius=20):
    a = np.asarray(a, float)
    d = int(np.sum(a <= T))
    out = []
    for ell in itertools.product(range(-radius, radius + 1), repeat=d):
        ell = np.asarray(ell)
        if not ell.any() or ell[ell != 0][0] < 0:
            continue
        s = np.ceil(np.log2(np.abs(ell) + 1) - 1e-12)
        price = (a[:d] * s).sum() if kind == "mixed" else (a[:d] * s).max()
        if price <= T + 1e-12:
            out.append(tuple(ell))
    return sorted(out)


def test_frequency_set_counts_by_hand():
    # a = (1, 2), T = 2.  Anisotropic: max(s1, 2 s2) <= 2 -> |l1| <= 3, |l2| <= 1:
    # 7 * 3 - 1 = 20 non-zero vectors, 10 up to sign.  Mixed: s1 + 2 s2 <= 2 ->
    # (s1, s2) in {(1, 0), (2, 0), (0, 1)}: 2 + 4 + 2 = 8 vectors, 4 up to sign.
    aniso = ot.GammaSmoothness([1.0, 2.0], kind="anisotropic")
    mixed = ot.GammaSmoothness([1.0, 2.0], kind="mixed")
    assert aniso.n_features(2.0) == 10
    assert mixed.n_features(2.0) == 4
    assert aniso.frequency_set(2.0).shape == (10, 2)
    assert sorted(map(tuple, mixed.frequency_set(2.0).tolist())) == [
        (0, 1),
        (1, 0),
        (2, 0),
        (3, 0),
    ]


@pytest.mark.parametrize(
    ("a", "T", "kind"),
    [
        ([1, 2, 3], 4, "mixed"),
        ([1, 2, 3], 3, "anisotropic"),
        ([0.7, 1.3, 2.2], 2.6, "anisotropic"),
        ([1.5, 2, 2.5], 5, "mixed"),
    ],
)
def test_frequency_set_equals_brute_force(a, T, kind):
    g = ot.GammaSmoothness(a, kind=kind)
    F = g.frequency_set(T)
    assert sorted(map(tuple, F.tolist())) == _brute_force(a, T, kind)
    assert g.n_features(T) == F.shape[0]
    assert np.all(np.diff(g.price(F)) >= 0)  # sorted by price


def test_frequency_sets_are_nested_prefixes():
    g = ot.GammaSmoothness(lambda i: i**1.5, kind="mixed", max_dim=16)
    small, large = g.frequency_set(4.0), g.frequency_set(7.0)
    k, d = small.shape
    np.testing.assert_array_equal(large[:k, :d], small)
    assert not large[:k, d:].any()
    budgets = g.budgets(200)
    counts = [g.n_features(T) for T in budgets]
    assert all(np.diff(counts) > 0) and counts[-1] <= 200


def test_gamma_and_effective_smoothness():
    g = ot.GammaSmoothness([1.0, 2.0, 4.0], kind="anisotropic")
    assert g.gamma([1, 1, 1]) == 4.0
    assert ot.GammaSmoothness([1.0, 2.0, 4.0], kind="mixed").gamma([1, 1, 1]) == 7.0
    assert g.effective_smoothness() == pytest.approx(1 / (1 + 0.5 + 0.25))
    assert ot.GammaSmoothness([3.0, 5.0], kind="mixed").effective_smoothness() == 3.0
    assert g.active_dim(2.5) == 2


def test_gamma_smoothness_bad_inputs():
    with pytest.raises(ValueError, match="finite weights > 0"):
        ot.GammaSmoothness([0.0, 1.0])
    with pytest.raises(ValueError, match="non-decreasing"):
        ot.GammaSmoothness([2.0, 1.0])
    with pytest.raises(ValueError, match="sum_i 1/a_i < infinity"):
        ot.GammaSmoothness(lambda i: float(i), kind="anisotropic")
    ot.GammaSmoothness(lambda i: float(i), kind="mixed")  # fine: no summability
    with pytest.raises(ValueError, match="kind must be one of"):
        ot.GammaSmoothness([1.0], kind="hyperbolic")
    with pytest.raises(TypeError, match="a must be array_like of numbers"):
        ot.GammaSmoothness("i^2")
    g = ot.GammaSmoothness(lambda i: i**2, max_dim=32)
    with pytest.raises(
        ValueError, match=r"T=12 has \|K_T\| = \d+ > max_features = 4096"
    ):
        g.frequency_set(12.0)
    with pytest.raises(ValueError, match="non-negative integer levels"):
        g.gamma([0.5])


# --- rates -------------------------------------------------------------------------


def test_rate_rules():
    g = ot.GammaSmoothness(lambda i: i**2, max_dim=64)
    a = g.effective_smoothness()
    n = np.array([100, 1000, 10_000, 100_000])
    np.testing.assert_allclose(ot.rate(n, g), n ** (-2 * a / (2 * a + 1)))
    np.testing.assert_allclose(ot.optimal_budget(n, g), a / (2 * a + 1) * np.log2(n))
    assert np.all(np.diff(ot.rate(n, g)) < 0)
    dims = ot.optimal_dim(np.array([2**k for k in range(4, 60, 4)]), g)
    assert np.all(np.diff(dims) >= 0) and dims[-1] > dims[0]
    assert ot.rate(100, g, kind=lambda n, a: 1 / n) == 0.01
    with pytest.raises(ValueError, match="n must be >= 1"):
        ot.rate(0, g)
    with pytest.raises(TypeError, match="gamma must be a GammaSmoothness"):
        ot.optimal_dim(10, [1.0])
    with pytest.raises(ValueError, match="kind must be one of"):
        ot.rate(10, g, kind="hutter")


# --- closed forms ----------------------------------------------------------------


def _random_spd(rng, d, cond=10.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Q * np.geomspace(1, cond, d)) @ Q.T


def test_gaussian_map_against_a_scipy_sqrtm_reference(rng):
    C1, C2 = _random_spd(rng, 6), _random_spd(rng, 6, 50.0)
    m1, m2 = rng.standard_normal(6), rng.standard_normal(6)
    A, b = ot.gaussian_ot_map(m1, C1, m2, C2)
    r = scipy.linalg.sqrtm(C1).real
    ri = np.linalg.inv(r)
    ref = ri @ scipy.linalg.sqrtm(r @ C2 @ r).real @ ri
    np.testing.assert_allclose(A, ref, atol=1e-10)
    np.testing.assert_allclose(np.asarray(A) @ C1 @ np.asarray(A), C2, atol=1e-10)
    np.testing.assert_allclose(b, m2 - ref @ m1, atol=1e-10)


def test_gaussian_map_and_distance_against_pot(rng):
    pot = pytest.importorskip("ot")
    C1, C2 = _random_spd(rng, 5), _random_spd(rng, 5, 30.0)
    m1, m2 = rng.standard_normal(5), rng.standard_normal(5)
    A, b = ot.gaussian_ot_map(m1, C1, m2, C2)
    A_ref, b_ref = pot.gaussian.bures_wasserstein_mapping(m1[None], m2[None], C1, C2)
    np.testing.assert_allclose(A, A_ref, atol=1e-8)
    np.testing.assert_allclose(b, b_ref[0], atol=1e-8)
    w2 = ot.gaussian_w2_squared(m1, C1, m2, C2)
    assert abs(w2 - pot.gaussian.bures_wasserstein_distance(m1, m2, C1, C2) ** 2) < 1e-8


def test_closed_forms_e1():
    # E1: lambda_j = j^-2a, kappa_j = lambda_j (1 + c j^-b)^2, J = 200, zero means
    a, b, c, J = 1.0, 1.0, 1.0, 200
    j = np.arange(1, J + 1.0)
    lam = j ** (-2 * a)
    kap = lam * (1 + c * j ** (-b)) ** 2
    tail = lam * (np.sqrt(kap / lam) - 1) ** 2
    assert abs(ot.gaussian_w2_squared(None, lam, None, kap) - tail.sum()) < 1e-10
    assert (
        abs(
            ot.gaussian_w2_squared(None, np.diag(lam[:20]), None, np.diag(kap[:20]))
            - tail[:20].sum()
        )
        < 1e-10
    )
    for D in (0, 1, 7, 200):
        assert abs(ot.truncation_bias(lam, kap / lam, D) - tail[D:].sum()) < 1e-12
    # identity error = W2^2 by Monte Carlo: relative sd of the mean over 20000
    # draws is sqrt(Var)/mean/sqrt(n) ~ 1%, so a wrong map fails 3%.
    pair = ot.datasets.make_gaussian_process_pair(
        20_000, n_coefficients=J, random_state=3
    )
    err = ot.l2_map_error(lambda x: x, pair.transport, pair.X)
    assert abs(err / tail.sum() - 1) < 0.03


def test_commuting_map_and_bad_closed_form_inputs():
    T = ot.commuting_gaussian_map([1.0, 4.0], [4.0, 1.0], [1.0, 0.0], [0.0, 2.0])
    np.testing.assert_allclose(T([[2.0, 2.0]]), [[2.0, 3.0]])
    T2 = pickle.loads(pickle.dumps(T))
    np.testing.assert_allclose(T2([[2.0, 2.0]]), [[2.0, 3.0]])
    with pytest.raises(ValueError, match="lam_src must be > 0"):
        ot.commuting_gaussian_map([0.0], [1.0])
    with pytest.raises(ValueError, match="positive definite"):
        ot.gaussian_ot_map(np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="positive semidefinite"):
        ot.gaussian_ot_map(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="same dimension"):
        ot.gaussian_w2_squared(None, np.eye(2), None, np.eye(3))
    with pytest.raises(TypeError, match="must be real"):
        ot.gaussian_w2_squared(None, np.eye(2) * 1j, None, np.eye(2))
    with pytest.raises(ValueError, match=r"D must be in \[0, 2\]"):
        ot.truncation_bias([1.0, 1.0], [1.0, 1.0], 3)
    with pytest.raises(ValueError, match="images of the shape of X_eval"):
        ot.l2_map_error(lambda x: x[:, :1], lambda x: x, np.ones((3, 2)))


# --- discrete and entropic baselines ------------------------------------------------


def test_assignment_matches_scipy_and_pot(rng):
    X, Y = rng.standard_normal((30, 3)), rng.standard_normal((30, 3)) + 1.0
    perm = ot.empirical_ot_assignment(X, Y)
    C = ((X[:, None] - Y[None]) ** 2).sum(-1)
    _, cols = linear_sum_assignment(C)
    np.testing.assert_array_equal(perm, cols)
    pot = pytest.importorskip("ot")
    plan = pot.emd(np.full(30, 1 / 30), np.full(30, 1 / 30), C)
    np.testing.assert_array_equal(perm, plan.argmax(axis=1))
    with pytest.raises(ValueError, match="same number of samples"):
        ot.empirical_ot_assignment(X, Y[:5])


def test_entropic_map_tends_to_the_emd_map(rng):
    X, Y = rng.standard_normal((12, 2)), rng.standard_normal((12, 2)) * 2.0
    target = Y[ot.empirical_ot_assignment(X, Y)]
    errs = []
    for eps in (1.0, 0.1, 0.01, 0.001):
        T = ot.entropic_map(X, Y, eps, max_iter=50_000, tol=1e-6)
        errs.append(np.max(np.abs(T(X) - target)))
    # the plan concentrates on the optimal matching at rate exp(-gap / eps)
    assert errs[0] > errs[1] > errs[2] > errs[3]
    assert errs[3] < 1e-3


def test_entropic_map_matches_pot_and_ott(rng):
    X, Y = rng.standard_normal((40, 2)), rng.standard_normal((40, 2)) + 2.0
    eps = 0.2
    T = ot.entropic_map(X, Y, eps, tol=1e-10, max_iter=20_000)
    pot = pytest.importorskip("ot")
    # POT's cost is |x - y|^2 (no 1/2): the same plan needs reg_e = 2 eps.
    st = pot.da.SinkhornTransport(reg_e=2 * eps, max_iter=20_000, tol=1e-12)
    st.fit(Xs=X, Xt=Y)
    np.testing.assert_allclose(T(X), st.transform(Xs=X), atol=1e-6)
    ott = pytest.importorskip("ott")
    from ott.geometry import pointcloud
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn

    Xn = rng.standard_normal((5, 2))
    with jax.numpy_rank_promotion("allow"):  # ott broadcasts implicitly
        geom = pointcloud.PointCloud(X, Y, epsilon=2 * eps)
        solver = sinkhorn.Sinkhorn(threshold=1e-10, max_iterations=20_000)
        out = solver(linear_problem.LinearProblem(geom))
        ref = np.asarray(out.to_dual_potentials().transport(Xn))
    np.testing.assert_allclose(T(Xn), ref, atol=1e-5)
    assert ott.__name__ == "ott"


# --- the Gaussian estimator ----------------------------------------------------------


@pytest.fixture(scope="module")
def gp_pair():
    return ot.datasets.make_gaussian_process_pair(
        400, n_coefficients=16, random_state=0
    )


def test_gaussian_estimator_matches_pot(gp_pair):
    pot = pytest.importorskip("ot")
    X, Y = gp_pair.X[:, :6], gp_pair.Y[:, :6]
    model = ot.GaussianOTMap(reg=1e-6).fit(X, Y)
    A, b = pot.gaussian.empirical_bures_wasserstein_mapping(X, Y, reg=model.ridge_)
    np.testing.assert_allclose(model.A_, A, atol=1e-8)
    np.testing.assert_allclose(model.transform(X), X @ A + b, atol=1e-8)


def test_gaussian_estimator_equivariance_and_order(gp_pair, rng):
    X, Y = gp_pair.X, gp_pair.Y
    h = rng.standard_normal(16)
    m = ot.GaussianOTMap(n_components=5).fit(X, Y)
    mh = ot.GaussianOTMap(n_components=5).fit(X, Y + h)
    np.testing.assert_allclose(
        mh.transform(X) - m.transform(X), np.broadcast_to(h, X.shape), atol=1e-6
    )
    shift = ot.GaussianOTMap().fit(X, X + h)
    np.testing.assert_allclose(shift.transform(X), X + h, atol=1e-6)
    perm = ot.GaussianOTMap(n_components=5).fit(
        X[rng.permutation(400)], Y[rng.permutation(400)]
    )
    np.testing.assert_allclose(perm.transform(X), m.transform(X), atol=1e-10)


def test_projected_gaussian_auto_beats_full_and_identity(gp_pair):
    X, Y, T = gp_pair.X, gp_pair.Y, gp_pair.transport
    Xe = ot.datasets.make_gaussian_process_pair(
        2000, n_coefficients=16, random_state=9
    ).X
    auto = ot.ProjectedOTMap(n_components="auto").fit(X, Y)
    err_auto = ot.l2_map_error(auto, T, Xe)
    assert err_auto < 0.3 * ot.l2_map_error(lambda x: x, T, Xe)
    assert (
        auto.cv_results_["mean_score"].shape == auto.cv_results_["n_components"].shape
    )
    assert 1 <= auto.n_components_ <= 16


def test_projected_baselines_run_and_extend(gp_pair):
    X, Y = gp_pair.X[:200], gp_pair.Y[:200]
    for ext in ("1nn", "knn", "kernel"):
        m = ot.ProjectedOTMap(4, inner="emd", extension=ext, k=3).fit(X, Y)
        out = m.transform(X[:7])
        assert out.shape == (7, 16) and np.isfinite(out).all()
    m = ot.ProjectedOTMap(4, inner="emd").fit(X, Y)
    perm = ot.empirical_ot_assignment(X[:, :4], Y[:, :4])
    np.testing.assert_allclose(m.transform(X)[:, :4], Y[perm, :4])  # in sample
    unequal = ot.ProjectedOTMap(2, inner="emd").fit(X[:30], Y[:20])
    assert unequal.transform(X[:3]).shape == (3, 16)
    ent = ot.ProjectedOTMap(4, inner="entropic").fit(X, Y)
    assert np.isfinite(ent.score(X, Y))
    with pytest.raises(ValueError, match=r"inner='emd'.*has none"):
        m.score(X, Y)


# --- the gamma-sieve estimator --------------------------------------------------------

G1 = ot.GammaSmoothness([1.0, 4.0, 9.0, 16.0])


@pytest.fixture(scope="module")
def gamma_pair():
    return ot.datasets.make_gamma_smooth_pair(
        256, J0=2, n_coefficients=6, random_state=1
    )


@pytest.fixture(scope="module")
def sieve(gamma_pair):
    return ot.GammaSieveOTMap(G1, T=2.0).fit(gamma_pair.X, gamma_pair.Y)


def test_sieve_fit_beats_identity_and_is_convex(sieve, gamma_pair):
    assert sieve.dim_ == 1 and sieve.n_features_ == 3
    assert sieve.convexity_violation_ == 0.0
    Xe = ot.datasets.make_gamma_smooth_pair(
        4000, J0=2, n_coefficients=6, random_state=7
    ).X
    T = gamma_pair.transport
    err = ot.l2_map_error(sieve, T, Xe)
    ident = ot.l2_map_error(lambda x: x, T, Xe)
    # the first coordinate carries 80% of W2^2 and is in the sieve
    assert err < 0.5 * ident
    assert sieve.result_.converged


def test_sieve_translation_equivariance(sieve, gamma_pair, rng):
    h = rng.standard_normal(6)
    shifted = ot.GammaSieveOTMap(G1, T=2.0).fit(gamma_pair.X, gamma_pair.Y + h)
    X = gamma_pair.X
    # exact in theory (the linear term absorbs h); the tolerance is the optimiser's
    # accuracy (gradient tol 1e-7 moves the map by ~4e-5), a broken equivariance
    # moves it by O(|h|) ~ 1
    np.testing.assert_allclose(
        shifted.transform(X) - sieve.transform(X),
        np.broadcast_to(h, X.shape),
        atol=2e-4,
    )


def test_sieve_sample_order_invariance(sieve, gamma_pair, rng):
    X, Y = gamma_pair.X, gamma_pair.Y
    perm = ot.GammaSieveOTMap(G1, T=2.0).fit(
        X[rng.permutation(256)], Y[rng.permutation(256)]
    )
    np.testing.assert_allclose(perm.transform(X), sieve.transform(X), atol=2e-4)


def test_sieve_identity_problem(gamma_pair):
    X = gamma_pair.X
    m = ot.GammaSieveOTMap(G1, T=2.0).fit(X, X.copy())
    # the smoothed conjugate biases by O(eps); eps = 1e-3 x median distance
    assert np.max(np.abs(m.transform(X) - X)) < 0.02


def test_sieve_matches_its_functional_form_and_potential_gradient(sieve, gamma_pair):
    res = ot.fit_gamma_sieve_map(gamma_pair.X, gamma_pair.Y, G1, T=2.0)
    np.testing.assert_allclose(
        res.transform(gamma_pair.X), sieve.transform(gamma_pair.X), atol=1e-12
    )
    x = gamma_pair.X[:3]
    h = 1e-6
    grad = np.stack(
        [
            (res.potential(x + h * e) - res.potential(x - h * e)) / (2 * h)
            for e in np.eye(6)
        ],
        1,
    )
    np.testing.assert_allclose(grad, res.transform(x), atol=1e-6)


def test_fused_semidual_equals_the_chunked_ctransform(rng):
    # the sieve's objective evaluates the c-transform in one block with a custom
    # gradient (one exponential per entry); it must equal the library's chunked
    # logsumexp_ctransform (autodiff) in value and gradient, zero-weight padding
    # rows included
    import jax.numpy as jnp

    from mltheory.numerics import logsumexp_ctransform
    from mltheory.stats.ot import _sieve

    n, m, d, p = 37, 29, 3, 11
    Phi = jnp.asarray(rng.standard_normal((n, p)))
    theta = jnp.asarray(0.1 * rng.standard_normal(p))
    X = jnp.asarray(rng.standard_normal((n, d)))
    Y = jnp.asarray(rng.standard_normal((m, d)))
    wx = jnp.asarray(np.r_[np.full(n - 3, 1.0 / (n - 3)), np.zeros(3)])
    wy = jnp.full(m, 1.0 / m)
    eps = jnp.asarray(0.05)

    def chunked(t):
        psi = Phi @ t
        g = logsumexp_ctransform(X, -psi, Y, eps, weights=wx, chunk_size=7)
        return wx @ psi - wy @ g

    def fused(t):
        return _sieve._objective(t, Phi, X, Y, wx, wy, eps, jnp.zeros(p))

    def held(t):  # the cost terms computed once, as a fit does
        cost = _sieve._cost_terms(X, Y)
        return _sieve._objective(t, Phi, X, Y, wx, wy, eps, jnp.zeros(p), cost)

    v_ref, g_ref = jax.value_and_grad(chunked)(theta)
    for fn in (fused, held):
        v, g = jax.jit(jax.value_and_grad(fn))(theta)
        np.testing.assert_allclose(float(v), float(v_ref), rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.asarray(g), np.asarray(g_ref), atol=1e-12)


def test_repair_hessians_from_held_trig_terms_equal_direct_ones(rng):
    # the convexity repair evaluates cos/sin at its points once and then the
    # Hessians linearly in the parameters; they must equal the direct closed
    # form (trig_series_hess), checked against the NumPy eigenvalue path too
    import jax.numpy as jnp

    from mltheory.stats.ot import _sieve

    d, k = 3, 7
    F = rng.integers(-5, 6, size=(k, d))
    Z = rng.uniform(-1, 1, (40, d))
    B = rng.standard_normal((d, d))
    B = B + B.T
    coef = rng.standard_normal(2 * k)
    scale, lower, width = rng.uniform(0.5, 2, d), -np.ones(d), rng.uniform(1.5, 3, d)
    j = [jnp.asarray(a) for a in (Z, B, coef, F, scale, lower, width)]
    direct = np.asarray(_sieve._hess_phi(*j))
    C, S, outer = _sieve._point_trig_terms(j[0], j[3], j[5], j[6])
    held = np.asarray(_sieve._hess_from_terms(C, S, outer, j[1], j[2], j[4]))
    np.testing.assert_allclose(held, direct, rtol=1e-12, atol=1e-9)
    lam = _sieve._min_eigs_np(Z, B, coef, F, scale, lower, width)
    np.testing.assert_allclose(np.linalg.eigvalsh(held)[:, 0], lam, atol=1e-8)


def _geometry_1d(res):
    return [
        np.asarray(a, float)
        for a in (res.center[0], res.scale[0], res.lower[0], res.width[0])
    ] + [np.asarray(res.frequencies[:, 0], float)]


def _features_1d(x, res):
    # psi's features for d = 1, written from the module docstring's formula:
    # u, u^2/2 with u = (x - c)/s, then cos and sin of 2 pi l (x - lower)/width
    center, scale, lower, width, ell = _geometry_1d(res)
    u = (x - center) / scale
    phase = 2 * np.pi * np.outer((x - lower) / width, ell)
    return np.column_stack([u, 0.5 * u**2, np.cos(phase), np.sin(phase)])


def _curvature_rows_1d(x, res):
    # phi''(x) = 1 + (row . theta): linear in theta = (beta, B, a, b)
    _, scale, lower, width, ell = _geometry_1d(res)
    phase = 2 * np.pi * np.outer((x - lower) / width, ell)
    c = (2 * np.pi * ell / width) ** 2
    zero = np.zeros((x.size, 1))
    B = np.full((x.size, 1), 1.0 / scale**2)
    return np.hstack([zero, B, -c * np.cos(phase), -c * np.sin(phase)])


def test_convexity_repair_reaches_the_constrained_optimum():
    # In one dimension phi'' >= 0 at the source points is a set of linear
    # constraints on theta, so the repaired fit must attain the minimum of
    # the semi-dual under them as found by a generic solver (SciPy SLSQP) on
    # an independent NumPy semi-dual. The barrier method stops within
    # D mu = 1e-6 x the cost scale of it (plus the last Newton decrement).
    from scipy.optimize import LinearConstraint, minimize
    from scipy.special import logsumexp

    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (64, 1))
    Y = 3.0 * np.sort(X, axis=0) ** 3
    g = ot.GammaSmoothness([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = ot.fit_gamma_sieve_map(X, Y, g, T=5.0, convexify=False)
    assert free.convexity_violation > 1.0  # the repair has work to do
    res = ot.fit_gamma_sieve_map(X, Y, g, T=5.0)
    assert float(res.convexity_violation) == 0.0
    x = X[:, 0]
    Phi = _features_1d(x, res)
    rows = _curvature_rows_1d(x, res)
    eps = float(res.epsilon)
    half = 0.5 * (Y - X.T) ** 2  # (m, n)

    def J(theta):
        psi = Phi @ theta
        s = -(half + psi[None, :]) / eps
        P = np.exp(s - logsumexp(s, axis=1, keepdims=True))
        value = psi.mean() + eps * np.mean(logsumexp(s, axis=1) - np.log(x.size))
        return value, Phi.T @ (1.0 / x.size - P.mean(axis=0))

    ours = np.concatenate(
        [
            np.asarray(res.linear),
            np.asarray(res.quadratic).ravel(),
            np.asarray(res.coef),
        ]
    )
    assert J(ours)[0] == pytest.approx(float(res.objective), abs=1e-12)
    assert (1.0 + rows @ ours).min() > 0.0  # strictly convex at the points
    ref = minimize(
        J,
        np.zeros_like(ours),
        jac=True,
        method="SLSQP",
        constraints=[LinearConstraint(rows, -1.0, np.inf)],
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    assert ref.success, ref.message
    assert (1.0 + rows @ ref.x).min() > -1e-9
    scale = float(np.median((X - Y.T) ** 2))
    gap = J(ours)[0] - ref.fun
    assert -1e-9 < gap < 3e-6 * scale, (gap, scale)
    # the constraints bind at the optimum (else an unconstrained solver
    # would pass too)
    assert (1.0 + rows @ ref.x).min() < 1e-6


def test_newton_matrix_of_the_repair_equals_autodiff_hessian(rng):
    # the barrier Newton matrix is assembled from closed forms (soft-min
    # weights of the semi-dual, eigenbasis rows of -log det H); it must equal
    # the Hessian of the barrier objective by autodiff (its products run in
    # float32: agreement to ~1e-5 relative)
    import jax.numpy as jnp

    from mltheory._src._x64 import float64_scope
    from mltheory.stats.ot import _sieve

    with float64_scope():
        d, k, n = 2, 6, 32
        F = np.array([[1, 0], [0, 1], [1, 1], [1, -1], [2, 0], [0, 2]])
        X = rng.uniform(-1, 1, (n, d))
        Y = X + 0.2 * rng.standard_normal((n, d))
        center, scale = X.mean(0), X.std(0)
        lower, width = X.min(0) - 0.1, X.max(0) - X.min(0) + 0.2
        Phi = jnp.asarray(_sieve._design_np(X, F, center, scale, lower, width, True))
        p = Phi.shape[1]
        theta = jnp.asarray(0.01 * rng.standard_normal(p))
        wx = wy = jnp.full(n, 1.0 / n)
        eps, mu = jnp.asarray(0.05), jnp.asarray(0.3)
        pen = jnp.asarray(np.r_[np.zeros(p - 2 * k), np.full(2 * k, 0.1)])
        trig = _sieve._point_trig_terms(
            jnp.asarray(X), jnp.asarray(F), jnp.asarray(lower), jnp.asarray(width)
        )
        Fs, sc = jnp.asarray(F / width[None, :]), jnp.asarray(scale)
        Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

        def barrier(t):
            _, B, coef = _sieve._unpack(t, d, k, True)
            H = _sieve._hess_from_terms(*trig, B, coef, sc)
            log_det = jnp.mean(jnp.linalg.slogdet(H)[1])
            return _sieve._objective(t, Phi, Xj, Yj, wx, wy, eps, pen) - mu * log_det

        # reference: central differences of the autodiff gradient (error
        # ~h^2 = 1e-10, far below the float32 tolerance; one compile, where
        # jax.hessian took ~10 s to compile)
        grad = jax.jit(jax.grad(barrier))
        h = 1e-5
        ref = np.stack(
            [
                (np.asarray(grad(theta + h * e)) - np.asarray(grad(theta - h * e)))
                / (2 * h)
                for e in np.eye(p)
            ]
        )
        ref = 0.5 * (ref + ref.T)
        ours = np.asarray(
            _sieve._barrier_newton_matrix(
                theta,
                mu,
                Phi,
                Xj,
                Yj,
                wx,
                wy,
                eps,
                pen,
                trig,
                Fs,
                sc,
                d=d,
                k=k,
                quad=True,
            )
        )
    assert np.abs(ref).max() > 1.0  # a non-trivial matrix
    np.testing.assert_allclose(ours, ref, rtol=0, atol=3e-5 * np.abs(ref).max())


def test_sieve_auto_budget_is_reproducible(gamma_pair):
    X, Y = gamma_pair.X, gamma_pair.Y
    g = ot.GammaSmoothness([1.0, 4.0])
    a = ot.GammaSieveOTMap(g, cv=2, random_state=3).fit(X, Y)
    b = ot.GammaSieveOTMap(g, cv=2, random_state=3).fit(X, Y)
    assert a.T_ == b.T_ and a.T_ in a.cv_results_["T"]
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_sieve_empty_budget_falls_back_to_the_tail(gamma_pair):
    with pytest.warns(UserWarning, match="sieve is empty"):
        m = ot.GammaSieveOTMap(G1, T=0.5).fit(gamma_pair.X, gamma_pair.Y)
    shift = gamma_pair.Y.mean(0) - gamma_pair.X.mean(0)
    np.testing.assert_allclose(m.transform(gamma_pair.X), gamma_pair.X + shift)


# --- curves, pickling, the scikit-learn protocol ---------------------------------


def test_curves_round_trip_and_agree_with_coefficients():
    pair = ot.datasets.make_gaussian_process_pair(
        300, n_coefficients=8, n_grid=64, random_state=2
    )
    assert isinstance(pair.X, FunctionalData)
    m = ot.GaussianOTMap(n_components=4, n_basis=8).fit(pair.X, pair.Y)
    out = m.transform(pair.X)
    assert isinstance(out, FunctionalData) and out.values.shape == pair.X.values.shape
    np.testing.assert_array_equal(out.grid, pair.X.grid)
    coef = pair.X.coefficients("sine", 8)
    mc = ot.GaussianOTMap(n_components=4).fit(coef, pair.Y.coefficients("sine", 8))
    back = out.coefficients("sine", 8)
    np.testing.assert_allclose(back, mc.transform(np.asarray(coef)), atol=1e-8)
    err = ot.l2_map_error(m, pair.transport, pair.X)
    assert err < ot.l2_map_error(lambda x: x, pair.transport, pair.X)
    with pytest.raises(TypeError, match="fitted on curves"):
        m.transform(np.asarray(coef))


def test_estimators_pickle_after_fit(sieve, gamma_pair, gp_pair):
    X = gamma_pair.X
    for model in (
        sieve,
        ot.GaussianOTMap().fit(gp_pair.X, gp_pair.Y),
        ot.ProjectedOTMap(3, inner="entropic").fit(gp_pair.X[:100], gp_pair.Y[:100]),
    ):
        clone = pickle.loads(pickle.dumps(model))
        data = X if model is sieve else gp_pair.X[:5]
        np.testing.assert_array_equal(clone.transform(data), model.transform(data))


def test_params_protocol_and_not_fitted():
    m = ot.ProjectedOTMap()
    assert m.get_params()["inner"] == "gaussian"
    assert m.set_params(inner="emd", n_components=3) is m and m.inner == "emd"
    with pytest.raises(ValueError, match="invalid parameter 'depth'"):
        m.set_params(depth=3)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ot.GammaSieveOTMap(G1).transform(np.zeros((2, 3)))
    assert "GaussianOTMap(" in repr(ot.GaussianOTMap())


def test_float32_in_float32_out(gp_pair):
    X = gp_pair.X.astype(np.float32)
    out = ot.GaussianOTMap().fit(X, gp_pair.Y.astype(np.float32)).transform(X)
    assert out.dtype == np.float32


# --- bad inputs (spec section 6) ------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "Y", "match"),
    [
        (np.zeros(5), np.zeros((5, 2)), "finite 2-D arrays with the same number"),
        (np.zeros((5, 2)), np.zeros((5, 3)), "same number of coefficients"),
        (np.full((5, 2), np.nan), np.zeros((5, 2)), "X must be finite"),
        (np.zeros((1, 2)), np.zeros((5, 2)), "at least 2 samples"),
    ],
)
def test_bad_samples(X, Y, match):
    for model in (
        ot.GaussianOTMap(),
        ot.GammaSieveOTMap(G1, T=1.0),
        ot.ProjectedOTMap(1, inner="emd"),
    ):
        with pytest.raises(ValueError, match=match):
            model.fit(X, Y)


def test_bad_options_and_inputs(gp_pair):
    X, Y = gp_pair.X[:50, :4], gp_pair.Y[:50, :4]
    with pytest.raises(TypeError, match="must be real"):
        ot.GaussianOTMap().fit(X.astype(complex), Y)
    with pytest.raises(
        ValueError, match="n_components must be <= the number of coefficients"
    ):
        ot.GaussianOTMap(n_components=5).fit(X, Y)
    with pytest.raises(ValueError, match=r"covariance .* is singular"):
        ot.GaussianOTMap(reg=0.0).fit(X[:3], Y[:3])
    with pytest.raises(ValueError, match="inner must be one of"):
        ot.ProjectedOTMap(2, inner="neural").fit(X, Y)
    with pytest.raises(ValueError, match="needs a potential to validate"):
        ot.ProjectedOTMap("auto", inner="emd").fit(X, Y)
    with pytest.raises(ValueError, match="tail must be one of"):
        ot.GaussianOTMap(tail="drop").fit(X, Y)
    with pytest.raises(TypeError, match="gamma must be a GammaSmoothness"):
        ot.GammaSieveOTMap([1.0, 2.0]).fit(X, Y)
    with pytest.raises(ValueError, match=r"\|K_T\| = \d+ > max_features = 10"):
        ot.GammaSieveOTMap(G1, T=8.0, max_features=10).fit(X, Y)
    with pytest.raises(ValueError, match="eps must be > 0"):
        ot.GammaSieveOTMap(G1, T=1.0, eps=0.0).fit(X, Y)
    m = ot.GaussianOTMap().fit(X, Y)
    with pytest.raises(ValueError, match="must have 4 coefficients per row"):
        m.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="tail='zero' has none"):
        ot.GaussianOTMap(n_components=2, tail="zero").fit(X, Y).score(X, Y)
    big = np.zeros((6000, 1))
    with pytest.raises(ValueError, match="use inner='entropic'"):
        ot.ProjectedOTMap(1, inner="emd").fit(
            big + np.arange(6000)[:, None], big[:5000] + 1.0
        )


def test_datasets_bad_inputs():
    with pytest.raises(ValueError, match="must be convex"):
        ot.datasets.make_gamma_smooth_pair(10, c=0.9, eta=0.1)
    with pytest.raises(ValueError, match="n_coefficients must be <= n_grid // 2"):
        ot.datasets.make_gaussian_process_pair(10, n_coefficients=40, n_grid=50)
    with pytest.raises(ValueError, match="n must be >= 2"):
        ot.datasets.make_gaussian_process_pair(1)


def test_gamma_pair_transport_is_a_convex_gradient():
    pair = ot.datasets.make_gamma_smooth_pair(
        50, J0=3, c=0.6, eta=0.05, n_coefficients=5
    )
    x = pair.X
    h = 1e-6
    # Jacobian of the map: symmetric PSD (a gradient of a convex potential)
    J = np.stack(
        [
            (pair.transport(x + h * e) - pair.transport(x - h * e)) / (2 * h)
            for e in np.eye(5)
        ],
        2,
    )
    np.testing.assert_allclose(J, np.swapaxes(J, 1, 2), atol=1e-6)
    assert np.linalg.eigvalsh(0.5 * (J + np.swapaxes(J, 1, 2))).min() > -1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pair.w2_squared is None


def test_non_convergence_and_non_convexity_warn(gamma_pair):
    """Spec bad inputs: L-BFGS/Sinkhorn non-convergence and convexity violation."""
    from mltheory.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match=r"L-BFGS stopped after maxiter=2"):
        m = ot.GammaSieveOTMap(G1, T=2.0, maxiter=2).fit(gamma_pair.X, gamma_pair.Y)
    assert m.result_.converged is False
    with pytest.warns(ConvergenceWarning, match="Sinkhorn stopped after 2 iterations"):
        res = ot.entropic_map(gamma_pair.X[:50], gamma_pair.Y[:50], 1e-3, max_iter=2)
    assert res.converged is False
    # a cubic, steep 1-D target fitted at a high budget without the convexity
    # guard: the trigonometric potential overshoots between sample points
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (64, 1))
    Y = 3.0 * np.sort(X, axis=0) ** 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match=r"not convex at \d+\.\d% of the source"):
            m = ot.GammaSieveOTMap(
                ot.GammaSmoothness([1.0]), T=5.0, convexify=False, maxiter=100
            ).fit(X, Y)
    assert m.convexity_violation_ > 0.0
    assert m.result_.violation_fraction > 0.0


def test_integer_input_is_cast_to_float64(gp_pair):
    Xi = np.round(100 * gp_pair.X).astype(np.int64)
    m = ot.GaussianOTMap(3).fit(Xi, Xi + 1)
    out = m.transform(Xi)
    assert out.dtype == np.float64
    # a translation by one: exact for the Gaussian map (no truncation of 1.0)
    np.testing.assert_allclose(out, Xi + 1.0, atol=1e-6)


# --- plots ----------------------------------------------------------------------


@pytest.fixture
def ax():
    from matplotlib.figure import Figure

    return Figure().add_subplot()


def test_sieve_result_plot(ax, sieve, gamma_pair):
    res = sieve.result_
    assert res.dim == 1
    out = res.plot(ax, truth=gamma_pair.transport)
    assert out is ax
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["x_1", "x_1 (true)"]
    assert (
        ax.get_xlabel().startswith("coordinate") and "displacement" in ax.get_ylabel()
    )
    # the fitted displacement follows the true one across the fitted box
    fitted, true = lines[0].get_ydata(), lines[1].get_ydata()
    rms = np.sqrt(np.mean((fitted - true) ** 2)) / np.sqrt(np.mean(true**2))
    # measured: relative RMS 0.23, correlation 0.985 (the box edges extrapolate)
    assert rms < 0.4 and np.corrcoef(fitted, true)[0, 1] > 0.95
    assert np.ptp(true) > 0.2  # a non-trivial map is drawn
    with pytest.raises(ValueError, match=r"coordinates must be active"):
        res.plot(ax, coordinates=[3])
    with pytest.raises(TypeError, match="truth must be callable"):
        res.plot(ax, truth=1.0)
    batched = jax.tree.map(lambda a: np.stack([a, a]), res)
    with pytest.raises(ValueError, match="batched result"):
        batched.plot(ax)
    with pytest.raises(TypeError, match="traced value"):
        jax.jit(lambda r: r.plot(ax))(res)


def test_functional_data_and_estimator_plots(ax):
    pair = ot.datasets.make_gaussian_process_pair(
        60, n_coefficients=6, n_grid=40, random_state=0
    )
    pair.X.plot(ax, max_curves=4, label="source")
    assert len(ax.get_lines()) == 4 and ax.get_xlabel() == "t"
    with pytest.raises(ValueError, match="max_curves must be >= 1"):
        pair.X.plot(ax, max_curves=0)

    from matplotlib.figure import Figure

    model = ot.GaussianOTMap(6).fit(pair.X, pair.Y)
    ax2 = Figure().add_subplot()
    model.plot(pair.X, pair.Y, ax=ax2, n_curves=3)
    labels = [ln.get_label() for ln in ax2.get_lines()]
    assert len(labels) == 9
    assert {"target sample", "source", "mapped"} <= set(labels)

    # coefficient arrays: a translation by 1 draws a displacement of 1
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    ax3 = Figure().add_subplot()
    ot.GaussianOTMap().fit(X, X + 1.0).plot(X, ax=ax3)
    lines = ax3.get_lines()
    assert [ln.get_label() for ln in lines] == ["x_1", "x_2", "x_3"]
    np.testing.assert_allclose(lines[0].get_ydata(), 1.0, atol=1e-6)
    with pytest.raises(TypeError, match="curves only"):
        ot.GaussianOTMap().fit(X, X + 1.0).plot(X, X, ax=ax3)

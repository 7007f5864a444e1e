"""Tests of mltheory.dynamics.fast_slow: the 2-D ODE, its geometry, unlearning."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
from scipy.optimize import brentq

from mltheory import numerics
from mltheory.dynamics import fast_slow as fs

K = 9


@pytest.fixture(scope="module")
def tanh():
    return numerics.activation_series("tanh", K)


def teacher_mu(mu, degree=K):
    """Teacher He_1 + mu He_3."""
    return numerics.HermiteSeries(jnp.zeros(degree + 1).at[1].set(1.0).at[3].set(mu))


@pytest.fixture(scope="module")
def problem(tanh):
    return fs.FastSlowProblem(tanh, teacher_mu(0.3), eps=0.1)


def numpy_field(c, cs, eps):
    """Independent NumPy RHS in (m, a) built from the loss by brute-force sums."""
    k = np.arange(c.size)
    fact = np.array([math.factorial(int(j)) for j in k], float)

    def rhs(t, y):
        m, a = y
        resid = a * c * m**k - cs
        dl_dm = np.sum(fact * resid * a * c * k * m ** np.maximum(k - 1, 0))
        dl_da = np.sum(fact * resid * c * m**k)
        return [-(1 - m * m) * dl_dm, -eps * dl_da]

    return rhs


# --- problem and validation ----------------------------------------------------


def test_problem_pads_the_shorter_series(tanh):
    p = fs.FastSlowProblem(tanh, numerics.HermiteSeries(jnp.array([0.0, 1.0])), eps=0.1)
    assert p.teacher.coeffs.shape == (K + 1,)
    assert p.degree == K


def test_problem_is_a_pytree(problem):
    leaves, treedef = jax.tree_util.tree_flatten(problem)
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert np.allclose(back.teacher.coeffs, problem.teacher.coeffs)
    assert float(back.eps) == pytest.approx(0.1)


@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan"), float("inf")])
def test_problem_rejects_bad_eps(tanh, eps):
    with pytest.raises(ValueError, match="eps"):
        fs.FastSlowProblem(tanh, tanh, eps=eps)


def test_problem_rejects_degree_zero_and_non_series(tanh):
    with pytest.raises(ValueError, match="degree >= 1"):
        fs.FastSlowProblem(numerics.HermiteSeries(jnp.array([1.0])), tanh, eps=0.1)
    with pytest.raises(TypeError, match="HermiteSeries"):
        fs.FastSlowProblem(jnp.tanh, tanh, eps=0.1)
    with pytest.raises(ValueError, match="finite"):
        fs.FastSlowProblem(
            numerics.HermiteSeries(jnp.array([0.0, jnp.nan])), tanh, eps=1
        )
    with pytest.raises(ValueError, match="noise_var"):
        fs.FastSlowProblem(tanh, tanh, eps=0.1, noise_var=-1.0)


# --- Hermite sums, loss, vector field -----------------------------------------


def test_hermite_sums_match_brute_force(problem):
    c, cs = (np.asarray(x) for x in (problem.student.coeffs, problem.teacher.coeffs))
    m = 0.37
    fact = np.array([math.factorial(k) for k in range(K + 1)], float)
    k = np.arange(K + 1)
    sums = fs.hermite_sums(problem, m)
    assert float(sums.S1) == pytest.approx(
        np.sum(k[1:] * fact[1:] * c[1:] * cs[1:] * m ** (k[1:] - 1)), rel=1e-12
    )
    assert float(sums.S2) == pytest.approx(
        np.sum(k * fact * c**2 * m ** (2 * k - 1.0)), rel=1e-12
    )
    assert float(sums.T1) == pytest.approx(np.sum(fact * c * cs * m**k), rel=1e-12)
    assert float(sums.T2) == pytest.approx(
        np.sum(fact * c**2 * m ** (2 * k)), rel=1e-12
    )


def test_loss_matches_monte_carlo_of_the_network(tanh):
    """L(m, a) = E[(a E_z tanh(m u + sqrt(1-m^2) z) - y(u))^2] / 2 by quadrature."""
    teacher = teacher_mu(0.3)
    p = fs.FastSlowProblem(tanh, teacher, eps=0.1)
    m, a = 0.6, 1.3

    def sq_residual(x):
        u, z = x[0], x[1]
        return (a * jnp.tanh(m * u + jnp.sqrt(1 - m * m) * z) - teacher(u)) ** 2

    # Inner expectation is not squared inside: E_u[(E_z f - g)^2] needs nesting.
    nodes, weights = numerics.gauss_hermite_rule(80)
    inner = jax.vmap(
        lambda u: jnp.sum(weights * a * jnp.tanh(m * u + jnp.sqrt(1 - m * m) * nodes))
    )(nodes)
    ref = 0.5 * jnp.sum(weights * (inner - teacher(nodes)) ** 2)
    # tanh truncated at K = 9 loses a tail of order 1e-7 in the loss.
    assert float(fs.population_loss(p, m, a)) == pytest.approx(float(ref), abs=1e-6)
    del sq_residual


def test_vector_field_is_the_metric_gradient_of_the_loss(problem):
    m, a = jnp.array([0.1, 0.5, 0.9]), jnp.array([0.7, 1.2, 2.0])
    dl_dm = jax.vmap(jax.grad(lambda mm, aa: fs.population_loss(problem, mm, aa), 0))(
        m, a
    )
    dl_da = jax.vmap(jax.grad(lambda mm, aa: fs.population_loss(problem, mm, aa), 1))(
        m, a
    )
    dm, da = fs.vector_field(problem, m, a)
    np.testing.assert_allclose(dm, -(1 - m**2) * dl_dm, atol=1e-12)
    np.testing.assert_allclose(da, -0.1 * dl_da, atol=1e-12)


def test_m_outside_unit_interval_is_rejected(problem):
    with pytest.raises(ValueError, match=r"\|m\| <= 1"):
        fs.vector_field(problem, 1.5, 1.0)
    with pytest.raises(ValueError, match="finite"):
        fs.population_loss(problem, jnp.nan, 1.0)


def test_float32_inputs_are_upcast(problem):
    dm, _ = fs.vector_field(problem, jnp.float32(0.5), jnp.float32(1.0))
    assert dm.dtype == jnp.float64


# --- integration ---------------------------------------------------------------


@pytest.fixture(scope="module")
def lsoda_traj(problem):
    return fs.integrate(problem, 1e-3, 1.0, 60.0)


def test_integrate_matches_scipy_solve_ivp_on_numpy_rhs(problem, lsoda_traj):
    c, cs = (np.asarray(x) for x in (problem.student.coeffs, problem.teacher.coeffs))
    t = np.asarray(lsoda_traj.t)
    ref = scipy.integrate.solve_ivp(
        numpy_field(c, cs, 0.1),
        (0, 60.0),
        [1e-3, 1.0],
        method="DOP853",
        t_eval=t,
        rtol=1e-11,
        atol=1e-13,
    )
    np.testing.assert_allclose(lsoda_traj.m, ref.y[0], atol=1e-6)
    np.testing.assert_allclose(lsoda_traj.a, ref.y[1], atol=1e-6)


def test_rk4_agrees_with_lsoda(problem, lsoda_traj):
    rk = fs.integrate(
        problem, 1e-3, 1.0, 60.0, method="rk4", n_steps=6000, record_every=6000
    )
    assert float(rk.m[-1]) == pytest.approx(float(lsoda_traj.m[-1]), abs=1e-7)
    assert float(rk.a[-1]) == pytest.approx(float(lsoda_traj.a[-1]), abs=1e-7)


def test_loss_is_non_increasing(lsoda_traj):
    diffs = np.diff(np.asarray(lsoda_traj.loss))
    assert diffs.max() <= 1e-10 * float(lsoda_traj.loss[0])


def test_rise_then_fall_of_the_alignment(lsoda_traj):
    st = fs.measure_unlearning(lsoda_traj.t, lsoda_traj.m)
    assert 0.5 < float(st.peak_m) < 1.0
    assert float(st.drop) > 0.01
    assert float(lsoda_traj.a[-1]) > 1.0  # a grows while m decays


def test_rk4_path_is_jittable_and_vmappable(tanh):
    def final_m(mu):
        p = fs.FastSlowProblem(tanh, teacher_mu(mu), eps=0.1)
        # The grid of test_population_with_identical_particles (one compile).
        return fs.integrate(
            p, 1e-3, 1.0, 20.0, method="rk4", n_steps=2000, record_every=200
        ).m[-1]

    mus = jnp.array([0.0, 0.3])
    batched = jax.jit(jax.vmap(final_m))(mus)
    eager = jnp.stack([final_m(mu) for mu in mus])
    np.testing.assert_allclose(batched, eager, rtol=1e-12)


def test_population_with_identical_particles_equals_2d_ode(problem):
    pop = fs.integrate_population(
        problem,
        jnp.full(4, 1e-3),
        jnp.full(4, 1.0),
        20.0,
        method="rk4",
        n_steps=2000,
        record_every=200,
    )
    two = fs.integrate(
        problem, 1e-3, 1.0, 20.0, method="rk4", n_steps=2000, record_every=200
    )
    np.testing.assert_allclose(
        pop.m, jnp.broadcast_to(two.m[:, None], pop.m.shape), atol=1e-10
    )
    np.testing.assert_allclose(
        pop.a, jnp.broadcast_to(two.a[:, None], pop.a.shape), atol=1e-10
    )
    np.testing.assert_allclose(pop.loss, two.loss, atol=1e-10)


def test_population_symmetric_pairs_and_larger_a0_is_lazier(tanh):
    """(m, a) -> (-m, -a) is a symmetry (odd activations); a larger a0 is lazier."""
    p = fs.FastSlowProblem(tanh, teacher_mu(0.3), eps=0.1)
    xi = jnp.array([1.0, -1.0, 1.0, -1.0])
    peaks = []
    for a0 in (0.5, 3.0):
        pop = fs.integrate_population(
            p, 1e-3 * xi, a0 * xi, 20.0, method="rk4", n_steps=2000, record_every=200
        )
        np.testing.assert_allclose(pop.m[:, 0], -pop.m[:, 1], atol=1e-12)
        peaks.append(float(jnp.max(pop.m[:, 0])))
    assert peaks[1] < peaks[0]


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"m0": 1.2}, ValueError, r"\|m0\| < 1"),
        ({"m0": 1.0}, ValueError, "1 - 1e-12"),
        ({"m0": -1.0}, ValueError, "1 - 1e-12"),
        ({"t_max": 0.0}, ValueError, "t_max"),
        ({"t_max": -3.0}, ValueError, "t_max"),
        ({"method": "euler"}, ValueError, "method"),
        (
            {"method": "rk4", "n_steps": 10, "record_every": 3},
            ValueError,
            "record_every",
        ),
        ({"a0": float("nan")}, ValueError, "a0"),
    ],
)
def test_integrate_bad_inputs(problem, kwargs, err, match):
    args = {"m0": 1e-3, "a0": 1.0, "t_max": 1.0}
    args.update(kwargs)
    m0, a0, t_max = args.pop("m0"), args.pop("a0"), args.pop("t_max")
    with pytest.raises(err, match=match):
        fs.integrate(problem, m0, a0, t_max, **args)


def test_information_exponent_above_one_needs_nonzero_m0(tanh):
    p = fs.FastSlowProblem(
        tanh, numerics.HermiteSeries(jnp.array([0.0, 0.0, 0.0, 1.0])), eps=0.1
    )
    with pytest.raises(ValueError, match="c_1 c\\*_1 = 0"):
        fs.integrate(p, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="b\\*"):
        fs.scaling_law(p)


def test_population_shape_errors(problem):
    with pytest.raises(ValueError, match="same shape"):
        fs.integrate_population(problem, jnp.zeros(3) + 0.01, jnp.ones(4), 1.0)
    with pytest.raises(ValueError, match="1-D"):
        fs.integrate_population(
            problem, jnp.zeros((2, 2)) + 0.01, jnp.ones((2, 2)), 1.0
        )


# --- critical manifold, slow flow, equilibria --------------------------------


def test_critical_manifold_branch_is_where_the_fast_flow_stops(problem):
    cm = fs.critical_manifold(problem, jnp.linspace(0.05, 0.95, 19))
    dm, _ = fs.vector_field(problem, cm.m, cm.a_branch)
    np.testing.assert_allclose(dm, 0.0, atol=1e-12)
    # attracting <=> d(dm/dt)/dm < 0 at the branch (finite difference check)
    h = 1e-6
    slope = (
        fs.vector_field(problem, cm.m + h, cm.a_branch)[0]
        - fs.vector_field(problem, cm.m - h, cm.a_branch)[0]
    ) / (2 * h)
    np.testing.assert_array_equal(np.asarray(cm.attracting), np.asarray(slope < 0))
    _, da = fs.vector_field(problem, cm.m, cm.a_nullcline)
    np.testing.assert_allclose(da, 0.0, atol=1e-12)


def test_slow_flow_matches_da_dtau_on_the_branch(problem):
    m = jnp.array([0.2, 0.5, 0.8])
    dm_dtau, da_dtau = fs.slow_flow(problem, m)
    cm = fs.critical_manifold(problem, m)
    _, da = fs.vector_field(problem, m, cm.a_branch)
    np.testing.assert_allclose(da_dtau, da / 0.1, rtol=1e-8)
    h = 1e-6
    a_prime = (
        fs.critical_manifold(problem, m + h).a_branch
        - fs.critical_manifold(problem, m - h).a_branch
    ) / (2 * h)
    np.testing.assert_allclose(dm_dtau, da_dtau / a_prime, rtol=1e-6)


@pytest.mark.slow
def test_small_eps_trajectory_tracks_the_slow_flow(tanh):
    """E2: with eps = 1e-3 the path hugs the branch and drifts as slow_flow says."""
    p = fs.FastSlowProblem(tanh, teacher_mu(0.3), eps=1e-3)
    traj = fs.integrate(p, 1e-3, 1.6, 2000.0, method="radau")
    late = np.asarray(traj.t) > 200.0
    m, a = traj.m[late], traj.a[late]
    a_branch = fs.critical_manifold(p, m).a_branch
    assert float(jnp.max(jnp.abs(a - a_branch))) < 1e-2  # O(eps) from the branch
    dm_dtau, _ = fs.slow_flow(p, m)
    assert bool(jnp.all(dm_dtau < 0)) and bool(jnp.all(jnp.diff(m) < 0))


@pytest.mark.parametrize("mu", [-0.3, -0.1])
def test_equilibria_solve_a_equals_b_and_boundary_rule(tanh, mu):
    p = fs.FastSlowProblem(tanh, teacher_mu(mu), eps=0.1)
    eq = fs.equilibria(p)
    for m_eq in np.asarray(eq.m):
        s = fs.hermite_sums(p, m_eq)
        assert float(s.S1 / s.S2 - s.T1 / s.T2) == pytest.approx(0.0, abs=1e-10)
    a1 = fs.critical_manifold(p, jnp.array([1.0])).a_branch[0]
    assert bool(eq.boundary_stable) == bool(eq.boundary_a < a1)


def test_interior_equilibrium_is_stable_and_attracts(tanh):
    p = fs.FastSlowProblem(tanh, teacher_mu(-0.1), eps=0.1)
    eq = fs.equilibria(p)
    assert eq.m.shape == (1,) and bool(eq.stable[0])
    traj = fs.integrate(p, 1e-3, 1.0, 5000.0)
    assert float(traj.m[-1]) == pytest.approx(float(eq.m[0]), abs=1e-5)
    assert float(traj.a[-1]) == pytest.approx(float(eq.a[0]), abs=1e-5)


# --- unlearning prediction ----------------------------------------------------


def test_critical_strength_is_root_of_b1_equals_a1(tanh):
    base = teacher_mu(0.0)
    mu_c = fs.critical_strength(tanh, base)

    def gap(mu):
        p = fs.FastSlowProblem(tanh, teacher_mu(mu), eps=0.1)
        s = fs.hermite_sums(p, 1.0)
        return float(s.T1 / s.T2 - s.S1 / s.S2)

    assert mu_c == pytest.approx(brentq(gap, -1.0, 1.0, xtol=1e-14), abs=1e-10)


def test_sign_of_slow_flow_decides_unlearning_across_the_threshold(tanh):
    """Both sides of c*_3 = mu_c, compared with integrated trajectories."""
    mu_c = fs.critical_strength(tanh, teacher_mu(0.0))
    for mu, expected in ((mu_c - 0.05, False), (mu_c + 0.05, True)):
        p = fs.FastSlowProblem(tanh, teacher_mu(mu), eps=0.1)
        d = fs.predict_unlearning(p, 0.5)
        assert bool(d.on_face)
        assert bool(d.occurs) is expected
        traj = fs.integrate(p, 1e-3, 0.5, 400.0)
        assert bool(fs.measure_unlearning(traj.t, traj.m).unlearned) is expected


@pytest.mark.slow
def test_prediction_matches_brute_force_on_a_grid(tanh):
    """E4, small grid: predicted flags equal simulated drops > 1e-3 off the boundary."""
    p = fs.FastSlowProblem(tanh, teacher_mu(0.0), eps=0.1)
    mus = jnp.array([-0.4, -0.25, 0.0, 0.2, 0.4])
    a0s = jnp.array([0.3, 1.0, 2.5])
    pd = fs.phase_diagram(p, mus, a0s, t_max=300.0, n_steps=6000)
    drop = np.asarray(pd.drop)
    sim = drop > 1e-3
    near = np.abs(np.asarray(mus) - float(pd.critical_strength)) <= 0.02
    clear = ~near[:, None] & ((drop > 5e-3) | (drop < 1e-6))
    assert np.all(np.asarray(pd.predicted)[clear] == sim[clear])
    assert np.any(sim) and not np.all(sim)
    for i, mu in enumerate(mus):  # the vmapped grid equals single calls
        single = fs.predict_unlearning(
            fs.FastSlowProblem(tanh, teacher_mu(mu), eps=0.1), a0s[1]
        )
        assert bool(pd.predicted[i, 1]) == bool(single.occurs)


@pytest.mark.slow
def test_larger_a0_mitigates_unlearning_monotonically(tanh):
    """E5: beyond the face (a0 > A(1)) the drop falls with a0; 0 for a0 >= a_eq."""
    p = fs.FastSlowProblem(tanh, teacher_mu(-0.1), eps=0.1)
    a_face = float(fs.critical_manifold(p, jnp.array([1.0])).face_switch)
    threshold = float(fs.predict_unlearning(p, 0.5).threshold_a0)
    assert a_face < threshold
    a0s = jnp.concatenate(
        [jnp.array([0.5]), jnp.linspace(a_face + 0.02, threshold + 0.5, 5)]
    )
    pd = fs.phase_diagram(p, jnp.array([-0.1]), a0s, t_max=600.0, n_steps=12000, k=3)
    drops = np.asarray(pd.drop[0])
    assert np.all(np.diff(drops[1:]) < 0) or drops[-1] < 1e-9
    assert np.all(np.diff(drops[1:]) <= 1e-9)
    assert drops[np.asarray(a0s) >= threshold].max() < 1e-9
    assert drops[0] > drops[1] > 0.01


def test_predict_is_jit_and_vmap_consistent(problem):
    a0s = jnp.array([0.5, 1.0, 2.0])
    batched = jax.jit(jax.vmap(lambda a0: fs.predict_unlearning(problem, a0)))(a0s)
    for i, a0 in enumerate(a0s):
        single = fs.predict_unlearning(problem, a0)
        assert float(batched.landing_m[i]) == pytest.approx(float(single.landing_m))
        assert bool(batched.occurs[i]) == bool(single.occurs)
    with pytest.raises(ValueError, match="single diagnosis"):
        _ = batched.asymptotic


def test_predict_bad_inputs(problem):
    with pytest.raises(ValueError, match="a0 = 0 is a fixed point"):
        fs.predict_unlearning(problem, 0.0)
    with pytest.raises(ValueError, match="1 - 1e-12"):
        fs.predict_unlearning(problem, 1.0, m0=1.0)
    with pytest.raises(TypeError, match="FastSlowProblem"):
        fs.predict_unlearning("problem", 1.0)


def test_diagnosis_pytree_round_trip(problem):
    d = fs.predict_unlearning(problem, 1.0)
    leaves, treedef = jax.tree_util.tree_flatten(d)
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert back.asymptotic == d.asymptotic == "power_law"


# --- scaling laws ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mu", "regime", "exponent"),
    [("tanh", 0.0, "absent", 1 / 6), ("erf", 0.3, "opposed", 1 / 4)],
)
@pytest.mark.slow
def test_fitted_exponents_match_scaling_law(name, mu, regime, exponent):
    """E3: log-log slopes on t in [1e6, 1e9] within 0.01; prefactor within 1%."""
    s = numerics.activation_series(name, 11)
    p = fs.FastSlowProblem(s, teacher_mu(mu, 11), eps=0.01)
    law = fs.scaling_law(p)
    assert law.regime == regime and float(law.exponent_a) == pytest.approx(exponent)
    traj = fs.integrate(p, 1e-3, 0.1, 1e9)
    fit_m = fs.fit_power_law(traj.t, traj.m, 1e6, 1e9)
    fit_a = fs.fit_power_law(traj.t, traj.a, 1e6, 1e9)
    assert float(fit_m.exponent) == pytest.approx(float(law.exponent_m), abs=0.01)
    assert float(fit_a.exponent) == pytest.approx(float(law.exponent_a), abs=0.01)
    i = int(np.searchsorted(np.asarray(traj.t), 1e8))
    ratio = float(traj.a[i] / (law.prefactor_a * traj.t[i] ** law.exponent_a))
    assert ratio == pytest.approx(1.0, abs=0.01)
    assert float(traj.a[-1] * traj.m[-1]) == pytest.approx(float(law.b_star), rel=1e-3)
    d = fs.predict_unlearning(p, 0.1)
    assert d.asymptotic == "power_law"
    assert float(d.exponent_m) == pytest.approx(float(law.exponent_m))


def test_relu_student_has_no_drift():
    relu = numerics.activation_series("relu", 8)
    p = fs.FastSlowProblem(relu, teacher_mu(0.3, 8), eps=0.1)
    law = fs.scaling_law(p)
    assert law.regime == "equilibrium" and np.isnan(float(law.exponent_a))
    assert law.p == 2


def test_fit_power_law_recovers_exponent_and_rejects_bad_windows():
    t = jnp.geomspace(1.0, 1e6, 60)
    fit = fs.fit_power_law(t, 2.0 * t**-0.3, 10.0)
    assert float(fit.exponent) == pytest.approx(-0.3, abs=1e-12)
    assert float(fit.prefactor) == pytest.approx(2.0, rel=1e-10)
    with pytest.raises(ValueError, match="t_min"):
        fs.fit_power_law(t, t, 0.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        fs.fit_power_law(t, t, 2e6, 3e6)
    with pytest.raises(ValueError, match="same shape"):
        fs.fit_power_law(t, t[:-1], 1.0)


def test_measure_unlearning_bad_inputs():
    with pytest.raises(ValueError, match="tol"):
        fs.measure_unlearning(jnp.arange(3.0), jnp.zeros(3), tol=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        fs.measure_unlearning(jnp.arange(3.0), jnp.zeros(4))

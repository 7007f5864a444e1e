"""Tests for mltheory.numerics._gaussian: Gauss–Hermite rule, expect, Hermite series.

Every quantity is checked against something computed independently: closed
forms, SciPy/NumPy references, ``scipy.integrate.quad``, or Monte Carlo with a
tolerance of 4 standard errors.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial import hermite_e as np_hermite_e
from scipy import integrate, special, stats

from mltheory import numerics as mn
from mltheory.numerics._gaussian import _rule_numpy

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def relu(z):
    return jnp.maximum(z, 0.0)


def relu_product(x):
    return relu(x[0]) * relu(x[1])


jerf = jax.scipy.special.erf


def erf_product_factory(a, b):
    return lambda x: jerf(a * x[0]) * jerf(b * x[1])


def arccos_kernel(rho):
    """E[relu(U) relu(V)] for standard (U, V) with correlation rho (Cho & Saul)."""
    return (np.sqrt(1.0 - rho**2) + (np.pi - np.arccos(rho)) * rho) / (2.0 * np.pi)


def erf_kernel(a, b, rho):
    """E[erf(a U) erf(b V)] for standard (U, V) with correlation rho."""
    return (2.0 / np.pi) * np.arcsin(
        2.0 * a * b * rho / np.sqrt((1.0 + 2.0 * a**2) * (1.0 + 2.0 * b**2))
    )


def cov2(rho, s1=1.0, s2=1.0):
    return jnp.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])


def quad_hermite_coefficient(fn, k, breakpoints=(0.0,)):
    """c_k = E[fn(Z) He_k(Z)] / k! by adaptive quadrature, split at the kinks."""
    unit = np.zeros(k + 1)
    unit[k] = 1.0

    def integrand(z):
        return fn(z) * np_hermite_e.hermeval(z, unit) * math.exp(-0.5 * z * z)

    def scaled(z):
        return integrand(z) * INV_SQRT_2PI

    # the Gaussian tail beyond |z| = 40 is below 1e-300
    edges = [-40.0, *breakpoints, 40.0]
    total = sum(
        integrate.quad(scaled, lo, hi, epsabs=1e-12, epsrel=1e-12, limit=200)[0]
        for lo, hi in itertools.pairwise(edges)
    )
    return total / math.factorial(k)


# --------------------------------------------------------------------------
# gauss_hermite_rule
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n_nodes", [1, 7, 64, 151, 400])
def test_rule_weights_sum_to_one(n_nodes):
    nodes, weights = mn.gauss_hermite_rule(n_nodes)
    assert nodes.shape == weights.shape == (n_nodes,)
    assert np.all(np.asarray(weights) >= 0.0)
    np.testing.assert_allclose(float(jnp.sum(weights)), 1.0, rtol=0, atol=1e-13)


@pytest.mark.parametrize("n_nodes", [3, 10, 40, 200])
def test_rule_integrates_even_moments_exactly(n_nodes):
    """E[Z^(2j)] = (2j - 1)!! for 2j <= 2n - 1, and odd moments vanish."""
    nodes, weights = (np.asarray(a) for a in mn.gauss_hermite_rule(n_nodes))
    for j in range(min(n_nodes, 16)):
        exact = float(math.prod(range(1, 2 * j, 2)))
        np.testing.assert_allclose(weights @ nodes ** (2 * j), exact, rtol=1e-11)
        assert abs(weights @ nodes ** (2 * j + 1)) <= 1e-11 * max(exact, 1.0) * 10


def test_rule_is_not_exact_beyond_its_degree():
    """A 3-node rule must miss E[Z^6] = 15 (degree 6 > 2n - 1 = 5)."""
    nodes, weights = mn.gauss_hermite_rule(3)
    assert abs(float(jnp.sum(weights * nodes**6)) - 15.0) > 1.0


@pytest.mark.parametrize("n_nodes", [1, 2, 10, 100, 150])
def test_rule_matches_scipy_roots_hermitenorm(n_nodes):
    nodes, weights = mn.gauss_hermite_rule(n_nodes)
    ref_nodes, ref_weights = special.roots_hermitenorm(n_nodes)
    np.testing.assert_allclose(nodes, ref_nodes, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        weights, ref_weights / math.sqrt(2 * math.pi), rtol=1e-9, atol=1e-15
    )


def test_rule_above_150_nodes_matches_numpy_hermegauss():
    """Beyond 150 nodes the SciPy path is checked against NumPy's algorithm."""
    nodes, weights = mn.gauss_hermite_rule(200)
    ref_nodes, ref_weights = np_hermite_e.hermegauss(200)
    np.testing.assert_allclose(nodes, ref_nodes, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        weights, ref_weights / math.sqrt(2 * math.pi), rtol=1e-8, atol=1e-15
    )


def test_rule_is_cached():
    _rule_numpy.cache_clear()
    mn.gauss_hermite_rule(33)
    mn.gauss_hermite_rule(33)
    assert _rule_numpy.cache_info().hits >= 1


def test_rule_bad_inputs():
    with pytest.raises(ValueError, match=r"n_nodes must be >= 1; got 0"):
        mn.gauss_hermite_rule(0)
    with pytest.raises(TypeError, match="n_nodes must be an integer"):
        mn.gauss_hermite_rule(2.5)
    with pytest.raises(TypeError, match="n_nodes must be a real number"):
        mn.gauss_hermite_rule("4")


# --------------------------------------------------------------------------
# expect: references
# --------------------------------------------------------------------------


def test_expect_relu_standard_converges_like_one_over_n():
    """E[relu(Z)] = 1/sqrt(2 pi); Gauss–Hermite is only O(1/n) on the kink."""
    for n_nodes in (64, 128, 256):
        value = float(mn.expect(relu, 0.0, 1.0, n_nodes=n_nodes))
        assert abs(value - INV_SQRT_2PI) <= 0.2 / n_nodes


def test_expect_relu_nonstandard_gaussian():
    """E[relu(X)] = mu Phi(mu/s) + s phi(mu/s); error bound 0.5 s / n_nodes (kink)."""
    mu, s = 0.3, 1.5
    exact = mu * stats.norm.cdf(mu / s) + s * stats.norm.pdf(mu / s)
    value = float(mn.expect(relu, mu, s**2, n_nodes=256))
    assert abs(value - exact) <= 0.5 * s / 256


@pytest.mark.parametrize(("a", "mu", "var"), [(1.0, 0.0, 1.0), (0.7, -0.4, 2.5)])
def test_expect_exponential_moment(a, mu, var):
    value = mn.expect(lambda x: jnp.exp(a * x), mu, var)
    np.testing.assert_allclose(value, np.exp(a * mu + a**2 * var / 2), rtol=1e-12)


def test_expect_erf_product_one_dimensional():
    a, b = 0.8, 1.7
    # steep but entire: 128 nodes reach 1e-15 (64 give 5e-9)
    value = mn.expect(lambda z: jerf(a * z) * jerf(b * z), 0.0, 1.0, n_nodes=128)
    np.testing.assert_allclose(value, erf_kernel(a, b, 1.0), rtol=1e-12)


erf_product = erf_product_factory(0.8, 1.7)  # one object: compiled once


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.45, 0.95])
def test_expect_erf_product_correlated_two_dimensional(rho):
    a, b = 0.8, 1.7
    # 64 nodes per axis: measured error <= 1.2e-9 at rho = 0.95 (32 give 1.4e-5)
    value = mn.expect(erf_product, jnp.zeros(2), cov2(rho), n_nodes=64)
    np.testing.assert_allclose(value, erf_kernel(a, b, rho), rtol=0, atol=5e-9)


@pytest.mark.parametrize("rho", [-0.9, -0.5, 0.0, 0.3, 0.9])
def test_expect_arccos_kernel(rho):
    """The kink limits Gauss–Hermite to O(1/n): measured error <= 0.14/n at n=64."""
    n_nodes = 64
    value = mn.expect(relu_product, jnp.zeros(2), cov2(rho), n_nodes=n_nodes)
    assert abs(float(value) - arccos_kernel(rho)) <= 0.2 / n_nodes


@pytest.mark.parametrize("rho", [1.0, -1.0])
def test_expect_singular_covariance(rho):
    """rho = +-1 is a singular cov: E[relu(U) relu(+-U)] = 1/2 or 0, exactly."""
    value = mn.expect(relu_product, jnp.zeros(2), cov2(rho))
    np.testing.assert_allclose(value, arccos_kernel(rho), atol=1e-12)
    # A singular cov of a non-trivial shape: X = (U, 2U) has E[X1^2 X2^2] = 4 E[U^4].
    singular = cov2(1.0, 1.0, 2.0)
    value = mn.expect(lambda x: x[0] ** 2 * x[1] ** 2, jnp.zeros(2), singular)
    np.testing.assert_allclose(value, 12.0, rtol=1e-12)


def test_expect_isserlis_three_dimensional():
    """Isserlis: E[X1^2 X2 X3] = S11 S23 + 2 S12 S13 (zero mean)."""
    cov = jnp.array([[2.0, 0.3, -0.5], [0.3, 1.0, 0.4], [-0.5, 0.4, 1.5]])
    value = mn.expect(lambda x: x[0] ** 2 * x[1] * x[2], jnp.zeros(3), cov)
    exact = cov[0, 0] * cov[1, 2] + 2 * cov[0, 1] * cov[0, 2]
    np.testing.assert_allclose(value, exact, rtol=1e-12)


def test_expect_third_moment_with_mean():
    """E[X1 X2 X3] = m1 m2 m3 + m1 S23 + m2 S13 + m3 S12."""
    cov = jnp.array([[2.0, 0.3, -0.5], [0.3, 1.0, 0.4], [-0.5, 0.4, 1.5]])
    m = jnp.array([0.5, -1.0, 2.0])
    value = mn.expect(lambda x: x[0] * x[1] * x[2], m, cov)
    exact = m[0] * m[1] * m[2] + m[0] * cov[1, 2] + m[1] * cov[0, 2] + m[2] * cov[0, 1]
    np.testing.assert_allclose(value, exact, rtol=1e-12)


def test_expect_quadrature_in_four_dimensions():
    """Explicit quadrature for k = 4: E[X1 X2 X3 X4] = S12 S34 + S13 S24 + S14 S23."""
    a = jnp.array([[1.0, 0.2, 0.0, 0.1], [0.0, 1.0, 0.3, 0.0], [0.2, 0.0, 1.0, 0.4]])
    cov = a.T @ a + 0.5 * jnp.eye(4)
    value = mn.expect(jnp.prod, jnp.zeros(4), cov, method="quadrature", n_nodes=4)
    exact = cov[0, 1] * cov[2, 3] + cov[0, 2] * cov[1, 3] + cov[0, 3] * cov[1, 2]
    np.testing.assert_allclose(value, exact, rtol=1e-12)


def test_expect_monte_carlo_five_dimensional(key):
    """E[|X|^2] = tr S + |m|^2 within 4 standard errors,
    Var |X|^2 = 2 tr(S^2) + 4 m^T S m (Gaussian quadratic form)."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 5))
    cov = jnp.asarray(a @ a.T / 5 + 0.1 * np.eye(5))
    m = jnp.asarray(rng.normal(size=5))
    n_samples = 20_000
    value = mn.expect(lambda x: jnp.sum(x**2), m, cov, key=key, n_samples=n_samples)
    exact = float(jnp.trace(cov) + m @ m)
    sd = float(jnp.sqrt(2 * jnp.trace(cov @ cov) + 4 * m @ cov @ m))
    assert abs(float(value) - exact) <= 4 * sd / math.sqrt(n_samples)


def test_expect_monte_carlo_one_dimensional(key):
    """E[exp X], X ~ N(0.2, 0.5): within 4 standard errors (lognormal variance)."""
    mu, var, n_samples = 0.2, 0.5, 20_000
    value = mn.expect(
        jnp.exp, mu, var, method="monte_carlo", key=key, n_samples=n_samples
    )
    exact = np.exp(mu + var / 2)
    sd = np.sqrt((np.exp(var) - 1) * np.exp(2 * mu + var))
    assert abs(float(value) - exact) <= 4 * sd / math.sqrt(n_samples)


def test_expect_monte_carlo_depends_on_key(key):
    f = lambda x: jnp.sum(x)
    kwargs = dict(key=key, n_samples=1000)
    a = mn.expect(f, jnp.zeros(4), jnp.eye(4), **kwargs)
    b = mn.expect(f, jnp.zeros(4), jnp.eye(4), **kwargs)
    c = mn.expect(f, jnp.zeros(4), jnp.eye(4), key=jax.random.key(1), n_samples=1000)
    assert float(a) == float(b)
    assert float(a) != float(c)


def test_expect_array_and_pytree_outputs():
    """The expectation has the shape (and tree) of one output of f."""
    value = mn.expect(lambda z: jnp.stack([z, z**2, z**3]), 1.0, 2.0)
    np.testing.assert_allclose(value, [1.0, 3.0, 7.0], rtol=1e-12)
    tree = mn.expect(
        lambda x: {"sum": x.sum(), "outer": jnp.outer(x, x)},
        jnp.array([1.0, -1.0]),
        cov2(0.5),
    )
    np.testing.assert_allclose(tree["sum"], 0.0, atol=1e-12)
    np.testing.assert_allclose(
        tree["outer"], cov2(0.5) + jnp.array([[1.0, -1.0], [-1.0, 1.0]]), rtol=1e-12
    )


# --------------------------------------------------------------------------
# expect: transformations and dtypes
# --------------------------------------------------------------------------


def test_expect_jit_equals_eager():
    cov = cov2(0.3, 1.0, 2.0)
    mean = jnp.array([0.1, -0.2])
    eager = mn.expect(relu_product, mean, cov)
    jitted = jax.jit(lambda m, c: mn.expect(relu_product, m, c))(mean, cov)
    np.testing.assert_allclose(jitted, eager, rtol=1e-13)


def test_expect_vmap_over_means_equals_loop():
    means = jnp.linspace(-1.0, 1.0, 5)
    batched = jax.vmap(lambda m: mn.expect(jnp.tanh, m, 0.7))(means)
    looped = jnp.stack([mn.expect(jnp.tanh, m, 0.7) for m in means])
    np.testing.assert_allclose(batched, looped, rtol=1e-13, atol=1e-15)


def test_expect_vmap_over_covariances_equals_closed_form():
    rhos = jnp.array([-0.5, 0.0, 0.5, 1.0])
    covs = jax.vmap(cov2)(rhos)
    f = erf_product_factory(1.0, 0.5)
    batched = jax.vmap(lambda c: mn.expect(f, jnp.zeros(2), c, n_nodes=64))(covs)
    np.testing.assert_allclose(
        batched, erf_kernel(1.0, 0.5, np.asarray(rhos)), rtol=1e-10, atol=1e-12
    )


def test_expect_closure_over_traced_parameter():
    """f may close over a traced parameter (vmap over w of E[tanh(w Z)])."""
    ws = jnp.array([0.5, 1.0])

    def expected_square(w):
        return mn.expect(lambda z: jnp.tanh(w * z) ** 2, 0.0, 1.0)

    batched = jax.vmap(expected_square)(ws)
    looped = [expected_square(float(w)) for w in ws]
    np.testing.assert_allclose(batched, looped, rtol=1e-13)


def test_expect_accepts_unhashable_callable_and_series():
    """f is static in the jitted core; unhashable callables and series still work."""

    class Square:
        __hash__ = None

        def __call__(self, z):
            return z**2

    np.testing.assert_allclose(mn.expect(Square(), 1.0, 2.0), 3.0, rtol=1e-13)
    series = mn.polynomial_series([0.0, 0.0, 1.0])
    np.testing.assert_allclose(mn.expect(series, 1.0, 2.0), 3.0, rtol=1e-13)


def test_expect_gradient_with_respect_to_mean():
    """d/dmu E[exp(X)] = E[exp(X)] for X ~ N(mu, s^2)."""
    grad = jax.grad(lambda m: mn.expect(jnp.exp, m, 0.5))(0.3)
    np.testing.assert_allclose(grad, np.exp(0.3 + 0.25), rtol=1e-12)


def test_expect_gradient_with_respect_to_covariance():
    """E[X1^2 X2^2] = S11 S22 + 2 S12^2; the gradient is split over S12 and S21."""
    cov = jnp.array([[1.0, 0.3], [0.3, 2.0]])  # distinct eigenvalues
    grad = jax.grad(
        lambda c: mn.expect(lambda x: x[0] ** 2 * x[1] ** 2, jnp.zeros(2), c)
    )(cov)
    np.testing.assert_allclose(grad, [[2.0, 0.6], [0.6, 1.0]], rtol=1e-10)


def test_expect_float32_preserved():
    value = mn.expect(jnp.tanh, jnp.float32(0.3), jnp.float32(0.8))
    assert value.dtype == jnp.float32
    reference = mn.expect(jnp.tanh, 0.3, 0.8)
    np.testing.assert_allclose(value, reference, rtol=1e-5)
    value2 = mn.expect(
        relu_product, jnp.zeros(2, jnp.float32), cov2(0.5).astype(jnp.float32)
    )
    assert value2.dtype == jnp.float32


# --------------------------------------------------------------------------
# expect: bad inputs
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "cov", "error", "match"),
    [
        (np.nan, 1.0, ValueError, "mean must be finite"),
        (0.0, np.inf, ValueError, "cov must be finite"),
        ("a", 1.0, TypeError, "mean must be array_like"),
        (jnp.zeros((2, 2)), jnp.eye(2), ValueError, r"mean must be 0-D or 1-D"),
        (jnp.zeros(2), jnp.eye(3), ValueError, r"cov must have shape \(2, 2\)"),
        (jnp.zeros(2), 1.0, ValueError, r"cov must have shape \(2, 2\)"),
        (0.0, jnp.eye(2), ValueError, "cov must be a scalar variance"),
        (0.0, -1.0, ValueError, "variance of a 1-D Gaussian\\) must be >= 0"),
        (jnp.zeros(2), jnp.array([[1.0, 0.5], [0.4, 1.0]]), ValueError, "symmetric"),
        (jnp.zeros(2), cov2(1.5), ValueError, "positive semi-definite"),
        (jnp.zeros(0), jnp.zeros((0, 0)), ValueError, "mean must not be empty"),
    ],
)
def test_expect_bad_gaussian(mean, cov, error, match):
    f = lambda x: jnp.sum(x)
    with pytest.raises(error, match=match):
        mn.expect(f, mean, cov)


def test_expect_accepts_rounding_asymmetry_and_tiny_negative_eigenvalue():
    cov = cov2(1.0) + jnp.array([[0.0, 1e-15], [0.0, -1e-15]])
    value = mn.expect(relu_product, jnp.zeros(2), cov)
    np.testing.assert_allclose(value, 0.5, atol=1e-12)


def test_expect_bad_options(key):
    f = lambda x: jnp.sum(x)
    with pytest.raises(TypeError, match="f must be callable"):
        mn.expect(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="method must be one of 'auto', 'quadrature'"):
        mn.expect(f, 0.0, 1.0, method="simpson")
    with pytest.raises(ValueError, match="n_nodes must be >= 1"):
        mn.expect(f, 0.0, 1.0, n_nodes=0)
    with pytest.raises(TypeError, match="n_nodes must be an integer"):
        mn.expect(f, 0.0, 1.0, n_nodes=3.5)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        mn.expect(f, 0.0, 1.0, method="monte_carlo", key=key, n_samples=0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        mn.expect(f, 0.0, 1.0, method="monte_carlo", key=0)
    with pytest.raises(ValueError, match="quadrature grid would have"):
        mn.expect(f, jnp.zeros(5), jnp.eye(5), method="quadrature", n_nodes=30)


def test_expect_monte_carlo_without_key_names_key_and_dimension():
    f = lambda x: jnp.sum(x)
    with pytest.raises(ValueError, match=r"needs a key .*dimension 5 > 3"):
        mn.expect(f, jnp.zeros(5), jnp.eye(5))
    with pytest.raises(ValueError, match=r"needs a key .*method=\"monte_carlo\""):
        mn.expect(f, 0.0, 1.0, method="monte_carlo")


# --------------------------------------------------------------------------
# hermite_e
# --------------------------------------------------------------------------


def test_hermite_e_matches_numpy(rng):
    z = rng.normal(size=(3, 4)) * 2
    values = mn.hermite_e(10, z)
    assert values.shape == (11, 3, 4)
    for k in range(11):
        unit = np.eye(11)[k]
        np.testing.assert_allclose(
            values[k], np_hermite_e.hermeval(z, unit), rtol=1e-12, atol=1e-12
        )


def test_hermite_e_orthogonality():
    """E[He_k He_l] = k! delta_kl, by an exact 20-node rule (independent of scan)."""
    nodes, weights = mn.gauss_hermite_rule(20)
    values = mn.hermite_e(8, nodes)
    gram = (values * weights[None, :]) @ values.T
    np.testing.assert_allclose(
        gram, np.diag([math.factorial(k) for k in range(9)]), atol=1e-9
    )


def test_hermite_e_low_degrees_and_scalar():
    np.testing.assert_allclose(mn.hermite_e(0, 3.0), [1.0])
    np.testing.assert_allclose(mn.hermite_e(1, 3.0), [1.0, 3.0])
    np.testing.assert_allclose(mn.hermite_e(3, -2.0), [1.0, -2.0, 3.0, -2.0])
    assert mn.hermite_e(4, jnp.zeros((0,))).shape == (5, 0)


def test_hermite_e_jit_and_dtype():
    z = jnp.linspace(-2.0, 2.0, 7)
    np.testing.assert_allclose(
        jax.jit(lambda x: mn.hermite_e(6, x))(z), mn.hermite_e(6, z), rtol=1e-14
    )
    assert mn.hermite_e(6, z.astype(jnp.float32)).dtype == jnp.float32
    assert mn.hermite_e(2, 1).dtype == jnp.result_type(float)


def test_hermite_e_bad_inputs():
    with pytest.raises(ValueError, match="k_max must be >= 0"):
        mn.hermite_e(-1, 0.0)
    with pytest.raises(TypeError, match="k_max must be an integer"):
        mn.hermite_e(2.5, 0.0)
    with pytest.raises(ValueError, match="z must be finite"):
        mn.hermite_e(3, jnp.array([0.0, jnp.nan]))
    with pytest.raises(TypeError, match="z must be array_like"):
        mn.hermite_e(3, "z")


# --------------------------------------------------------------------------
# HermiteSeries
# --------------------------------------------------------------------------


COEFFS = jnp.array([0.3, -1.0, 0.5, 0.25, -0.1, 0.05])


def test_series_call_matches_numpy(rng):
    z = rng.normal(size=(4, 3)) * 2
    np.testing.assert_allclose(
        mn.HermiteSeries(COEFFS)(z),
        np_hermite_e.hermeval(z, np.asarray(COEFFS)),
        rtol=1e-12,
    )
    assert mn.HermiteSeries(COEFFS)(1.5).shape == ()
    np.testing.assert_allclose(mn.HermiteSeries(jnp.array([2.0]))(z), 2.0)


def test_series_pytree_round_trip():
    series = mn.HermiteSeries(COEFFS)
    leaves, treedef = jax.tree.flatten(series)
    assert len(leaves) == 1
    rebuilt = jax.tree.unflatten(treedef, leaves)
    assert isinstance(rebuilt, mn.HermiteSeries)
    np.testing.assert_array_equal(rebuilt.coeffs, COEFFS)
    doubled = jax.jit(lambda s: s * 2.0)(series)
    np.testing.assert_allclose(doubled.coeffs, 2 * COEFFS)


def test_series_vmap_over_stacked_series():
    stacked = mn.HermiteSeries(jnp.stack([COEFFS, 2 * COEFFS]))
    out = jax.vmap(lambda s: s(0.7))(stacked)
    one = mn.HermiteSeries(COEFFS)(0.7)
    np.testing.assert_allclose(out, [one, 2 * one], rtol=1e-13)


def test_series_dtype_float32():
    series = mn.HermiteSeries(COEFFS.astype(jnp.float32))
    assert series(jnp.float32(0.5)).dtype == jnp.float32
    assert series.smooth(jnp.float32(0.5)).coeffs.dtype == jnp.float32


def test_series_smooth_identity_and_zero():
    series = mn.HermiteSeries(COEFFS)
    np.testing.assert_allclose(series.smooth(1.0).coeffs, COEFFS, rtol=0)
    np.testing.assert_allclose(
        series.smooth(0.0).coeffs, [COEFFS[0], 0, 0, 0, 0, 0], rtol=0
    )
    np.testing.assert_allclose(
        series.smooth(-1.0).coeffs, COEFFS * (-1.0) ** jnp.arange(6), rtol=0
    )


@pytest.mark.parametrize("m", [-0.8, 0.3, 0.95])
def test_series_smooth_is_mehler_expectation(m):
    """E_Z[sigma(m u + sqrt(1 - m^2) Z)] = smooth(m)(u), by (exact) quadrature."""
    series = mn.HermiteSeries(COEFFS)
    us = jnp.array([-1.5, 0.0, 0.4, 2.0])
    by_quadrature = jax.vmap(lambda u: mn.expect(series, m * u, 1.0 - m**2))(us)
    np.testing.assert_allclose(
        series.smooth(m)(us), by_quadrature, rtol=1e-12, atol=1e-13
    )


def test_series_smooth_of_erf_matches_closed_form():
    """E_Z[erf(b(m u + s Z))] = erf(b m u / sqrt(1 + 2 b^2 s^2)), s^2 = 1 - m^2."""
    beta, m = 1.0, 0.6
    series = mn.activation_series("erf", degree=41, beta=beta)
    us = jnp.linspace(-1.5, 1.5, 7)
    exact = special.erf(beta * m * us / np.sqrt(1 + 2 * beta**2 * (1 - m**2)))
    np.testing.assert_allclose(series.smooth(m)(us), exact, atol=1e-10)


def test_series_smooth_gradient_at_zero_is_finite():
    """d/dm smooth(m)(u) at m = 0 is c_1 He_1(u) (no NaN from 0**0)."""
    series = mn.HermiteSeries(COEFFS)
    grad = jax.grad(lambda m: series.smooth(m)(0.7))(0.0)
    np.testing.assert_allclose(grad, COEFFS[1] * 0.7, rtol=1e-13)


def test_series_derivative_matches_autodiff():
    series = mn.HermiteSeries(COEFFS)
    zs = jnp.linspace(-2.0, 2.0, 9)
    autodiff = jax.vmap(jax.grad(series))(zs)
    np.testing.assert_allclose(
        series.derivative()(zs), autodiff, rtol=1e-12, atol=1e-13
    )
    assert series.derivative().degree == series.degree - 1
    np.testing.assert_allclose(
        mn.HermiteSeries(jnp.array([3.0])).derivative().coeffs, [0.0]
    )


def test_series_norm_squared_is_exact_for_polynomials():
    series = mn.HermiteSeries(COEFFS)
    by_quadrature = mn.expect(lambda z: series(z) ** 2, 0.0, 1.0)
    np.testing.assert_allclose(series.norm_squared(), by_quadrature, rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "degree", "tol"), [("erf", 40, 1e-12), ("tanh", 60, 1e-9)]
)
def test_parseval_within_truncation(name, degree, tol):
    """sum_k k! c_k^2 -> E[sigma^2] from below; the tails at these degrees are small."""
    fn = {"erf": lambda z: jerf(z / math.sqrt(2)), "tanh": jnp.tanh}[name]
    target = float(mn.expect(lambda z: fn(z) ** 2, 0.0, 1.0, n_nodes=200))
    series = mn.activation_series(name, degree)
    partial = float(series.norm_squared())
    assert partial <= target + 1e-13
    assert target - partial <= tol
    assert target - float(series.truncate(5).norm_squared()) > 1e-6


def test_series_pad_truncate_and_arithmetic():
    s1 = mn.HermiteSeries(COEFFS)
    s2 = mn.HermiteSeries(jnp.array([1.0, 2.0]))
    z = jnp.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(s1.pad(9)(z), s1(z), rtol=1e-14)
    assert s1.pad(9).degree == 9
    np.testing.assert_allclose(s1.truncate(1).coeffs, COEFFS[:2])
    np.testing.assert_allclose((s1 + s2)(z), s1(z) + s2(z), rtol=1e-13)
    np.testing.assert_allclose((s2 - s1)(z), s2(z) - s1(z), rtol=1e-13)
    np.testing.assert_allclose((-s1)(z), -s1(z), rtol=1e-14)
    np.testing.assert_allclose((3.0 * s1)(z), 3.0 * s1(z), rtol=1e-14)


def test_series_bad_inputs():
    series = mn.HermiteSeries(COEFFS)
    with pytest.raises(ValueError, match=r"coeffs must be 1-D of shape \(K \+ 1,\)"):
        mn.HermiteSeries(jnp.ones((2, 2)))(0.0)
    with pytest.raises(ValueError, match="z must be finite"):
        series(jnp.inf)
    with pytest.raises(ValueError, match=r"m must satisfy \|m\| <= 1"):
        series.smooth(1.5)
    with pytest.raises(ValueError, match="m must be 0-D"):
        series.smooth(jnp.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="degree must be >= the current degree 5"):
        series.pad(3)
    with pytest.raises(ValueError, match="degree must be <= the current degree 5"):
        series.truncate(7)
    with pytest.raises(ValueError, match="degree must be >= 0"):
        series.truncate(-1)
    with pytest.raises(TypeError, match="unsupported operand"):
        series + 1.0
    with pytest.raises(ValueError, match="scalar must be 0-D"):
        series * jnp.ones(3)


# --------------------------------------------------------------------------
# hermite_coefficients and activation_series
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 4, 9])
def test_coefficients_of_hermite_polynomial_are_unit_vectors(k):
    series = mn.hermite_coefficients(lambda z: mn.hermite_e(k, z)[k], 10)
    np.testing.assert_allclose(series.coeffs, np.eye(11)[k], atol=1e-11)


@pytest.mark.parametrize("beta", [0.3, 1 / math.sqrt(2), 1.0, 2.5])
def test_erf_closed_form_matches_quadrature(beta):
    closed = mn.activation_series("erf", 25, beta=beta)
    # a NumPy function works too (called on the array of nodes)
    numeric = mn.hermite_coefficients(lambda z: special.erf(beta * np.asarray(z)), 25)
    np.testing.assert_allclose(closed.coeffs, numeric.coeffs, rtol=0, atol=1e-10)


def test_erf_spec_coefficients():
    beta = 0.9
    c = mn.activation_series("erf", 3, beta=beta).coeffs
    np.testing.assert_allclose(c[1], 2 * beta / np.sqrt(np.pi * (1 + 2 * beta**2)))
    np.testing.assert_allclose(
        c[3], -2 * beta**3 / (3 * np.sqrt(np.pi) * (1 + 2 * beta**2) ** 1.5)
    )
    assert float(c[0]) == float(c[2]) == 0.0


@pytest.mark.parametrize(
    ("name", "fn"),
    [("relu", lambda z: max(z, 0.0)), ("abs", abs), ("sign", np.sign)],
)
def test_kinked_closed_forms_match_adaptive_quadrature(name, fn):
    """Independent check: scipy.integrate.quad split at the kink (Gauss–Hermite
    converges only like 1/n there)."""
    series = mn.activation_series(name, 9)
    reference = [quad_hermite_coefficient(fn, k) for k in range(10)]
    np.testing.assert_allclose(series.coeffs, reference, rtol=0, atol=1e-10)


def test_relu_closed_form_large_degree_against_gauss_hermite():
    """At degree 30 the closed form agrees with a 400-node rule to its O(1/n) error."""
    closed = mn.activation_series("relu", 30)
    numeric = mn.hermite_coefficients(relu, 30, n_nodes=400)
    np.testing.assert_allclose(closed.coeffs, numeric.coeffs, atol=2e-3)
    assert float(closed.coeffs[3]) == 0.0


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "silu", "softplus"])
def test_quadrature_activations(name):
    """Against 400 nodes, and c_0, c_1 against adaptive quadrature."""
    fn = {
        "tanh": np.tanh,
        "sigmoid": special.expit,
        "gelu": lambda z: z * special.ndtr(z),
        "silu": lambda z: z * special.expit(z),
        "softplus": lambda z: np.logaddexp(0.0, z),
    }[name]
    series = mn.activation_series(name, 12)
    finer = mn.activation_series(name, 12, n_nodes=400)
    np.testing.assert_allclose(series.coeffs, finer.coeffs, rtol=0, atol=1e-13)
    for k in (0, 1, 2):
        np.testing.assert_allclose(
            series.coeffs[k], quad_hermite_coefficient(fn, k, ()), atol=1e-11
        )


def test_linear_series():
    np.testing.assert_allclose(mn.activation_series("linear", 3).coeffs, [0, 1, 0, 0])
    np.testing.assert_allclose(mn.activation_series("linear", 0).coeffs, [0])


def test_hermite_coefficients_under_jit():
    """Traced activations skip the host-side checks but give the same numbers."""

    def coefficients(w):
        return mn.hermite_coefficients(lambda z: jnp.tanh(w * z), 6).coeffs

    np.testing.assert_allclose(
        jax.jit(coefficients)(0.8), coefficients(0.8), rtol=1e-13, atol=1e-15
    )


def test_hermite_coefficients_bad_inputs():
    with pytest.raises(TypeError, match="fn must be callable"):
        mn.hermite_coefficients(3.0, 2)
    with pytest.raises(ValueError, match="degree must be >= 0"):
        mn.hermite_coefficients(jnp.tanh, -1)
    with pytest.raises(TypeError, match="degree must be an integer"):
        mn.hermite_coefficients(jnp.tanh, 2.5)
    with pytest.raises(TypeError, match="n_nodes must be an integer"):
        mn.hermite_coefficients(jnp.tanh, 2, n_nodes=20.5)
    with pytest.raises(ValueError, match=r"n_nodes must be > degree \(= 10\)"):
        mn.hermite_coefficients(jnp.tanh, 10, n_nodes=10)
    with pytest.raises(ValueError, match="elementwise to the same shape"):
        mn.hermite_coefficients(lambda z: z[:3], 2)
    with pytest.raises(ValueError, match="non-finite values"):
        mn.hermite_coefficients(jnp.log, 2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda z: jnp.exp(z**2),
        lambda z: jnp.exp(z**2 / 4),
        lambda z: jnp.exp(z**2 / 3.9),
    ],
)
def test_hermite_coefficients_rejects_activations_outside_l2(fn):
    with pytest.raises(ValueError, match="not in L²"):
        mn.hermite_coefficients(fn, 4)


def test_hermite_coefficients_accepts_fast_growing_l2_activation():
    """exp(z^2 / 5) is in L²(γ) (E = sqrt(5)); exp(3 z) too: no false alarm."""
    series = mn.hermite_coefficients(lambda z: jnp.exp(z**2 / 5), 4)
    np.testing.assert_allclose(series.coeffs[0], np.sqrt(5.0 / 3.0), rtol=1e-9)
    series = mn.hermite_coefficients(lambda z: jnp.exp(3 * z), 4)
    # exp(t z) = exp(t^2/2) sum_k t^k He_k / k!
    expected = np.exp(4.5) * 3.0 ** np.arange(5) / [math.factorial(k) for k in range(5)]
    np.testing.assert_allclose(series.coeffs, expected, rtol=1e-10)


def test_activation_series_bad_inputs():
    known = r"name must be one of 'abs', .*'relu'.*'tanh'"
    with pytest.raises(ValueError, match=known):
        mn.activation_series("swish")
    with pytest.raises(TypeError, match="'relu' takes no parameters"):
        mn.activation_series("relu", beta=1.0)
    with pytest.raises(TypeError, match=r"unexpected parameter\(s\) 'gamma'.*'beta'"):
        mn.activation_series("erf", gamma=1.0)
    with pytest.raises(ValueError, match="beta must be finite"):
        mn.activation_series("erf", beta=np.nan)
    with pytest.raises(ValueError, match="degree must be >= 0"):
        mn.activation_series("relu", -2)
    with pytest.raises(TypeError, match="degree must be an integer"):
        mn.activation_series("relu", 2.5)


# --------------------------------------------------------------------------
# polynomial_series
# --------------------------------------------------------------------------


def test_polynomial_series_matches_direct_evaluation(rng):
    monomials = rng.normal(size=8)
    z = rng.normal(size=10) * 2
    series = mn.polynomial_series(monomials)
    assert series.degree == 7
    direct = np.polynomial.polynomial.polyval(z, monomials)
    np.testing.assert_allclose(series(z), direct, rtol=1e-11, atol=1e-11)


def test_polynomial_series_from_mapping():
    series = mn.polynomial_series({1: 1.0, 3: 0.3, np.int64(4): -0.2})
    z = jnp.linspace(-2.0, 2.0, 5)
    np.testing.assert_allclose(series(z), z + 0.3 * z**3 - 0.2 * z**4, rtol=1e-12)
    np.testing.assert_allclose(mn.polynomial_series({2: 1.0}).coeffs, [1.0, 0.0, 1.0])


def test_polynomial_series_degree_pads_or_projects():
    padded = mn.polynomial_series([0.0, 1.0], degree=4)
    np.testing.assert_allclose(padded.coeffs, [0, 1, 0, 0, 0])
    # truncating = L²(γ) projection = quadrature coefficients up to that degree
    projected = mn.polynomial_series({5: 1.0}, degree=3)
    reference = mn.hermite_coefficients(lambda z: z**5, 3)
    np.testing.assert_allclose(projected.coeffs, reference.coeffs, atol=1e-11)


def test_polynomial_series_vmap_over_a_coefficient():
    mus = jnp.array([0.0, 0.3, 1.0])
    coeffs = jax.vmap(lambda mu: mn.polynomial_series({1: 1.0, 3: mu}).coeffs)(mus)
    np.testing.assert_allclose(coeffs[:, 1], 1.0 + 3 * mus)
    np.testing.assert_allclose(coeffs[:, 3], mus)


def test_polynomial_series_bad_inputs():
    with pytest.raises(ValueError, match="must not be empty"):
        mn.polynomial_series({})
    with pytest.raises(ValueError, match="must not be empty"):
        mn.polynomial_series([])
    with pytest.raises(ValueError, match="keys must be powers >= 0"):
        mn.polynomial_series({-1: 1.0})
    with pytest.raises(TypeError, match="keys must be integer powers"):
        mn.polynomial_series({1.5: 1.0})
    with pytest.raises(ValueError, match=r"monomial_coeffs\[2\] must be finite"):
        mn.polynomial_series({2: np.nan})
    with pytest.raises(ValueError, match="monomial_coeffs must be finite"):
        mn.polynomial_series([1.0, np.inf])
    with pytest.raises(ValueError, match="monomial_coeffs must be 1-D"):
        mn.polynomial_series(np.ones((2, 2)))
    with pytest.raises(ValueError, match="degree must be >= 0"):
        mn.polynomial_series([1.0], degree=-1)


# --------------------------------------------------------------------------
# hermite_inner
# --------------------------------------------------------------------------


S1 = mn.HermiteSeries(COEFFS)
S2 = mn.polynomial_series([0.5, -1.0, 0.0, 0.2])


def series_product(x):
    return S1(x[0]) * S2(x[1])


@pytest.mark.parametrize("rho", [-0.7, 0.0, 0.5, 1.0])
def test_hermite_inner_matches_expect_on_correlated_gaussian(rho):
    """For polynomial series the 2-D quadrature is exact: both sides agree to 1e-12."""
    s1, s2 = S1, S2
    by_quadrature = mn.expect(series_product, jnp.zeros(2), cov2(rho))
    np.testing.assert_allclose(
        mn.hermite_inner(s1, s2, rho), by_quadrature, rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize("rho", [-0.5, 0.3, 0.7])
def test_hermite_inner_arccos_kernel(rho):
    """Series of ReLU reproduce the arc-cosine kernel; tail ~ |rho|^K at K = 100."""
    relu_series = mn.activation_series("relu", 100)
    np.testing.assert_allclose(
        mn.hermite_inner(relu_series, relu_series, rho), arccos_kernel(rho), atol=1e-12
    )


def test_hermite_inner_erf_kernel():
    a, b = 0.8, 1.7
    rhos = jnp.array([-0.9, -0.2, 0.4, 0.8])
    sa = mn.activation_series("erf", 120, beta=a)
    sb = mn.activation_series("erf", 80, beta=b)  # different degrees: padded
    np.testing.assert_allclose(
        mn.hermite_inner(sa, sb, rhos), erf_kernel(a, b, np.asarray(rhos)), atol=1e-10
    )


def test_hermite_inner_shapes_defaults_and_gradient():
    s1 = mn.HermiteSeries(COEFFS)
    s2 = mn.HermiteSeries(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(mn.hermite_inner(s1, s1), s1.norm_squared(), rtol=1e-14)
    np.testing.assert_allclose(
        mn.hermite_inner(s1, s2, 0.5),
        COEFFS[0] * 1.0 + COEFFS[1] * 2.0 * 0.5,
        rtol=1e-14,
    )
    assert mn.hermite_inner(s1, s2, jnp.zeros((2, 3))).shape == (2, 3)
    # d/drho at rho = 0 is 1! c_1 c'_1, finite (powers by cumulative product)
    grad = jax.grad(lambda r: mn.hermite_inner(s1, s2, r))(0.0)
    np.testing.assert_allclose(grad, COEFFS[1] * 2.0, rtol=1e-14)
    batched = jax.jit(jax.vmap(lambda r: mn.hermite_inner(s1, s2, r)))(jnp.array([0.1]))
    np.testing.assert_allclose(batched, [mn.hermite_inner(s1, s2, 0.1)], rtol=1e-14)


def test_hermite_inner_bad_inputs():
    s = mn.HermiteSeries(COEFFS)
    with pytest.raises(ValueError, match=r"rho must satisfy \|rho\| <= 1"):
        mn.hermite_inner(s, s, 1.01)
    with pytest.raises(ValueError, match="rho must be finite"):
        mn.hermite_inner(s, s, np.nan)
    with pytest.raises(TypeError, match="s2 must be a HermiteSeries"):
        mn.hermite_inner(s, COEFFS)
    with pytest.raises(ValueError, match=r"s1.coeffs must be 1-D"):
        mn.hermite_inner(mn.HermiteSeries(jnp.ones((1, 2))), s)


# ---------------------------------------------------------------------------
# split_gaussian_rule
# ---------------------------------------------------------------------------


def test_split_rule_integrates_steps_and_kinks_at_zero():
    """Closed forms for functions that step or kink at 0, where Gauss–Hermite
    with as many nodes is far off."""
    nodes, weights = (np.asarray(a) for a in mn.split_gaussian_rule())
    assert nodes.shape == weights.shape == (256,)
    assert np.all(np.diff(nodes) > 0) and np.all(weights > 0)
    np.testing.assert_allclose(nodes, -nodes[::-1], rtol=0, atol=0)
    exact = {
        "mass": (np.ones_like(nodes), 1.0),
        "step": ((nodes > 0).astype(float), 0.5),
        "relu": (np.maximum(nodes, 0), 1 / math.sqrt(2 * math.pi)),
        "abs": (np.abs(nodes), math.sqrt(2 / math.pi)),
        "z4": (nodes**4, 3.0),
        # E[Phi(Z / s)] = 1/2; E[Z Phi(Z / s)] = phi(0) / sqrt(1 + s^2)
        "steep": (
            nodes * special.ndtr(nodes / 0.01),
            1 / math.sqrt(2 * math.pi * 1.0001),
        ),
    }
    for name, (values, want) in exact.items():
        assert abs(float(weights @ values) - want) < 1e-12, name
    gh_nodes, gh_weights = (np.asarray(a) for a in mn.gauss_hermite_rule(256))
    gh_error = abs(gh_weights @ np.maximum(gh_nodes, 0) - 1 / math.sqrt(2 * math.pi))
    assert gh_error > 1e-6  # why the split rule exists


def test_split_rule_rejects_bad_inputs():
    with pytest.raises(ValueError, match="n_per_side must be >= 1"):
        mn.split_gaussian_rule(0)
    with pytest.raises(TypeError, match="n_per_side"):
        mn.split_gaussian_rule(2.5)
    with pytest.raises(ValueError, match="z_max must be > 0"):
        mn.split_gaussian_rule(8, z_max=0.0)
    with pytest.raises(ValueError, match="z_max"):
        mn.split_gaussian_rule(8, z_max=float("inf"))


# --------------------------------------------------------------------------
# No overflow at high degree (issue 17): sum_k k! a_k b_k rho^k is formed from
# sqrt(k!)-scaled coefficients that the compiler cannot fold into k!.
# --------------------------------------------------------------------------


def _log_space_inner(a, b, rho=1.0):
    """sum_k k! a_k b_k rho^k in float64 via logs (an independent formula).

    Subnormal coefficients count as zero: XLA on CPU flushes them to zero.
    """
    tiny = np.finfo(np.asarray(a).dtype).tiny
    a = np.where(np.abs(a) < tiny, 0.0, np.asarray(a, np.float64))
    b = np.where(np.abs(b) < tiny, 0.0, np.asarray(b, np.float64))
    k = np.arange(a.size)
    with np.errstate(divide="ignore"):
        logs = np.log(np.abs(a)) + np.log(np.abs(b)) + special.gammaln(k + 1.0)
        logs = logs + k * np.log(abs(rho))
    signs = np.sign(a) * np.sign(b) * np.where(rho < 0, (-1.0) ** k, 1.0)
    return float(np.sum(signs * np.exp(logs)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("degree", [40, 171, 1000])
def test_hermite_norm_and_inner_have_no_overflow_at_high_degree(dtype, degree):
    relu = mn.activation_series("relu", degree)
    erf = mn.activation_series("erf", degree)
    s1 = mn.HermiteSeries(jnp.asarray(relu.coeffs, dtype))
    s2 = mn.HermiteSeries(jnp.asarray(erf.coeffs, dtype))
    # relative rounding of a sum of ~degree positive terms, in the dtype
    rtol = 50 * float(np.finfo(dtype).eps)
    for got, (a, b, rho) in [
        (s1.norm_squared(), (s1.coeffs, s1.coeffs, 1.0)),
        (jax.jit(mn.hermite_inner)(s1, s2, 0.7), (s1.coeffs, s2.coeffs, 0.7)),
        (mn.hermite_inner(s2, s2, -0.4), (s2.coeffs, s2.coeffs, -0.4)),
    ]:
        assert got.dtype == dtype
        assert np.isfinite(float(got))
        np.testing.assert_allclose(float(got), _log_space_inner(a, b, rho), rtol=rtol)
    # E[relu(Z)^2] = 1/2; the truncated series misses the tail sum_{k>K} k! c_k^2
    # (about 1.7e-4 at K = 40, and the float tails of c_k that underflow)
    assert 0.4998 < float(s1.norm_squared()) <= 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quadrature_series_are_finite_at_high_degree(dtype):
    # the Gauss-Hermite nodes reach |x| = 27; unweighted h_k(x) overflows there
    with jax.enable_x64(dtype == np.float64):
        tanh = mn.activation_series("tanh", 120)
        assert tanh.coeffs.dtype == dtype
        assert np.isfinite(np.asarray(tanh.coeffs)).all()
        norm = float(mn.hermite_inner(tanh, tanh))
    # E[tanh(Z)^2] = 0.394294490397841 (scipy quad); float32 keeps ~6 digits
    np.testing.assert_allclose(norm, 0.394294490397841, rtol=5e-6)


def test_hermite_inner_gradient_in_coefficients_is_exact():
    # d/dc_k sum_j j! c_j^2 = 2 k! c_k
    c = jnp.asarray([1.0, -0.5, 0.25, 2.0])
    grad = jax.grad(lambda x: mn.HermiteSeries(x).norm_squared())(c)
    np.testing.assert_allclose(grad, 2 * np.array([1, 1, 2, 6]) * c, rtol=1e-14)

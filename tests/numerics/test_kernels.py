"""Tests for mltheory.numerics kernels (Gram matrices).

Every kernel is compared with a direct double loop over pairs of rows in which
the formula is written out again, independently of the library code.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import numerics as mn

N, M, D = 6, 5, 3
SQ3, SQ5 = math.sqrt(3.0), math.sqrt(5.0)


@pytest.fixture
def data(rng):
    X = rng.normal(size=(N, D))
    Y = rng.normal(size=(M, D))
    return X, Y


# --- independent references: a double loop with the formulas written out ---


def loop(X, Y, k):
    return np.array([[k(x, y) for y in Y] for x in X])


def ref_sq_dist(x, y):
    return float(np.sum((x - y) ** 2))


def ref_rbf(ls=1.0, var=1.0):
    return lambda x, y: var * math.exp(-0.5 * np.sum(((x - y) / ls) ** 2))


def ref_matern32(ls=1.0, var=1.0):
    def k(x, y):
        r = math.sqrt(np.sum(((x - y) / ls) ** 2))
        return var * (1 + SQ3 * r) * math.exp(-SQ3 * r)

    return k


def ref_matern52(ls=1.0, var=1.0):
    def k(x, y):
        r = math.sqrt(np.sum(((x - y) / ls) ** 2))
        return var * (1 + SQ5 * r + 5 * r * r / 3) * math.exp(-SQ5 * r)

    return k


def ref_linear(x, y):
    return float(np.dot(x, y))


def ref_poly(degree, offset, scale):
    return lambda x, y: (offset + np.dot(x, y) / scale) ** degree


def ref_inner(h, scale):
    return lambda x, y: h(np.dot(x, y) / scale)


# every kernel: (name, our function with parameters, reference pair function)
CASES = [
    ("sq_dists", lambda X, Y=None: mn.pairwise_sq_dists(X, Y), ref_sq_dist),
    ("rbf", lambda X, Y=None: mn.rbf_kernel(X, Y), ref_rbf()),
    (
        "rbf_params",
        lambda X, Y=None: mn.rbf_kernel(X, Y, lengthscale=0.7, variance=2.5),
        ref_rbf(0.7, 2.5),
    ),
    (
        "matern32",
        lambda X, Y=None: mn.matern_kernel(X, Y, nu=1.5, lengthscale=1.3, variance=0.5),
        ref_matern32(1.3, 0.5),
    ),
    (
        "matern52",
        lambda X, Y=None: mn.matern_kernel(X, Y, nu=2.5, lengthscale=0.8, variance=1.7),
        ref_matern52(0.8, 1.7),
    ),
    ("linear", lambda X, Y=None: mn.linear_kernel(X, Y), ref_linear),
    (
        "poly_default",
        lambda X, Y=None: mn.polynomial_kernel(X, Y),
        ref_poly(2, 1.0, D),
    ),
    (
        "poly_params",
        lambda X, Y=None: mn.polynomial_kernel(X, Y, degree=3, offset=0.5, scale=2.0),
        ref_poly(3, 0.5, 2.0),
    ),
    (
        "inner_exp",
        lambda X, Y=None: mn.inner_product_kernel(X, Y),
        ref_inner(math.exp, D),
    ),
    (
        "inner_tanh",
        lambda X, Y=None: mn.inner_product_kernel(X, Y, fn=jnp.tanh, scale=4.0),
        ref_inner(math.tanh, 4.0),
    ),
]
IDS = [c[0] for c in CASES]
PSD_CASES = [c for c in CASES if c[0] not in ("sq_dists", "inner_tanh")]


@pytest.mark.parametrize(("name", "ours", "ref"), CASES, ids=IDS)
def test_matches_double_loop(data, name, ours, ref):
    X, Y = data
    np.testing.assert_allclose(ours(X, Y), loop(X, Y, ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours(X), loop(X, X, ref), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("kernel", "params", "ref"),
    [
        ("rbf", {"lengthscale": 2.0}, ref_rbf(2.0)),
        ("matern32", {"variance": 3.0}, ref_matern32(1.0, 3.0)),
        ("matern52", {}, ref_matern52()),
        ("linear", {}, ref_linear),
        ("polynomial", {"degree": 4, "offset": 0.0}, ref_poly(4, 0.0, D)),
        ("inner_product", {"fn": jnp.cosh, "scale": 1.5}, ref_inner(math.cosh, 1.5)),
    ],
)
def test_kernel_matrix_dispatches_to_named_kernel(data, kernel, params, ref):
    X, Y = data
    K = mn.kernel_matrix(X, Y, kernel=kernel, **params)
    np.testing.assert_allclose(K, loop(X, Y, ref), rtol=1e-12, atol=1e-12)


def test_kernel_matrix_default_is_rbf(data):
    X, _ = data
    np.testing.assert_array_equal(mn.kernel_matrix(X), mn.rbf_kernel(X))


@pytest.mark.parametrize(
    ("name", "ours", "ref"), PSD_CASES, ids=[c[0] for c in PSD_CASES]
)
def test_gram_is_symmetric_and_psd(rng, name, ours, ref):
    X = rng.normal(size=(40, D))
    K = np.asarray(ours(X))
    np.testing.assert_array_equal(K, K.T)  # exactly symmetric
    assert np.linalg.eigvalsh(K).min() >= -1e-10 * np.trace(K)


@pytest.mark.parametrize(("name", "ours", "ref"), CASES, ids=IDS)
def test_single_argument_equals_x_with_itself(data, name, ours, ref):
    X, _ = data
    np.testing.assert_allclose(ours(X), ours(X, X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kernel",
    [
        lambda X: mn.rbf_kernel(X, variance=2.5, lengthscale=0.3),
        lambda X: mn.matern_kernel(X, nu=1.5, variance=2.5, lengthscale=0.3),
        lambda X: mn.matern_kernel(X, nu=2.5, variance=2.5, lengthscale=0.3),
    ],
    ids=["rbf", "matern32", "matern52"],
)
def test_stationary_diagonal_is_variance(rng, kernel):
    X = rng.normal(size=(N, D)) + 100.0  # far from the origin
    np.testing.assert_array_equal(np.diag(kernel(X)), np.full(N, 2.5))


def test_sq_dists_diagonal_is_exactly_zero(rng):
    X = rng.normal(size=(N, D)) * 1e3 + 1e4
    assert np.all(np.diag(mn.pairwise_sq_dists(X)) == 0.0)


def test_sq_dists_accurate_far_from_origin_in_float32(rng):
    """Centring keeps the expansion accurate where |x|^2 >> |x - y|^2.

    Without centring the float32 error would be about eps * |x|^2 ~ 0.4 here.
    """
    X = rng.normal(size=(N, D)) + 1e3
    Y = rng.normal(size=(M, D)) + 1e3
    D2 = mn.pairwise_sq_dists(X.astype(np.float32), Y.astype(np.float32))
    exact = loop(
        X.astype(np.float32).astype(np.float64), Y.astype(np.float32), ref_sq_dist
    )
    np.testing.assert_allclose(D2, exact, atol=1e-3)


def test_ard_lengthscale_scales_each_feature(data):
    X, Y = data
    ls = np.array([0.5, 1.0, 2.0])
    for name, nu in [("rbf", None), ("m32", 1.5), ("m52", 2.5)]:
        if nu is None:
            K = mn.rbf_kernel(X, Y, lengthscale=ls, variance=1.3)
            ref = ref_rbf(ls, 1.3)
        else:
            K = mn.matern_kernel(X, Y, nu=nu, lengthscale=ls, variance=1.3)
            ref = (ref_matern32 if nu == 1.5 else ref_matern52)(ls, 1.3)
        np.testing.assert_allclose(K, loop(X, Y, ref), rtol=1e-12, err_msg=name)


def test_bandit_rbf_convention_maps_to_lengthscale(data):
    """exp(-|x - x'|^2 / (l^2 d)) is rbf_kernel with lengthscale = l sqrt(d / 2)."""
    X, Y = data
    ell = 1.7
    K = mn.rbf_kernel(X, Y, lengthscale=ell * math.sqrt(D / 2))
    want = loop(X, Y, lambda x, y: math.exp(-np.sum((x - y) ** 2) / (ell**2 * D)))
    np.testing.assert_allclose(K, want, rtol=1e-12)


def test_inner_product_default_scale_is_n_features(data):
    X, Y = data
    np.testing.assert_allclose(
        mn.inner_product_kernel(X, Y), mn.inner_product_kernel(X, Y, scale=float(D))
    )
    assert not np.allclose(
        mn.inner_product_kernel(X, Y), mn.inner_product_kernel(X, Y, scale=1.0)
    )


@pytest.mark.parametrize(("name", "ours", "ref"), CASES, ids=IDS)
def test_jit_equals_eager(data, name, ours, ref):
    X, Y = data
    np.testing.assert_allclose(jax.jit(ours)(X, Y), ours(X, Y), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize(("name", "ours", "ref"), CASES, ids=IDS)
def test_float32_in_float32_out(data, name, ours, ref):
    X, Y = data
    K32 = ours(X.astype(np.float32), Y.astype(np.float32))
    assert K32.dtype == jnp.float32
    np.testing.assert_allclose(K32, loop(X, Y, ref), rtol=2e-4, atol=2e-4)
    # a float64 parameter does not promote float32 data
    K = mn.rbf_kernel(X.astype(np.float32), lengthscale=np.float64(2.0))
    assert K.dtype == jnp.float32


def test_integer_data_become_default_float():
    K = mn.linear_kernel(np.array([[1, 2], [3, 4]]))
    assert K.dtype == jnp.float64
    np.testing.assert_array_equal(K, [[5.0, 11.0], [11.0, 25.0]])


def test_vmap_over_lengthscale(data):
    X, Y = data
    scales = jnp.array([0.5, 1.0, 2.0])
    for kern in (
        lambda ls: mn.rbf_kernel(X, Y, lengthscale=ls),
        lambda ls: mn.matern_kernel(X, Y, nu=1.5, lengthscale=ls),
        lambda ls: mn.kernel_matrix(X, Y, kernel="matern52", lengthscale=ls),
    ):
        batched = jax.vmap(kern)(scales)
        assert batched.shape == (3, N, M)
        for i, ls in enumerate([0.5, 1.0, 2.0]):
            np.testing.assert_allclose(batched[i], kern(ls), rtol=1e-14)


def test_vmap_over_variance_and_scale(data):
    X, _ = data
    v = jax.vmap(lambda s: mn.rbf_kernel(X, variance=s))(jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(v[1], 3.0 * v[0], rtol=1e-14)
    p = jax.vmap(lambda s: mn.polynomial_kernel(X, degree=1, offset=0.0, scale=s))(
        jnp.array([1.0, 2.0])
    )
    np.testing.assert_allclose(p[0], 2.0 * p[1], rtol=1e-14)


def test_works_inside_user_jit_with_traced_parameters(data):
    X, Y = data
    f = jax.jit(lambda X, ls, v: mn.matern_kernel(X, Y, lengthscale=ls, variance=v))
    np.testing.assert_allclose(
        f(X, 0.9, 1.1), loop(X, Y, ref_matern52(0.9, 1.1)), rtol=1e-12
    )


@pytest.mark.parametrize("nu", [1.5, 2.5])
def test_matern_gradient_finite_at_zero_distance(data, nu):
    """r = 0 (self-pairs and duplicated rows) must not give NaN gradients."""
    X, _ = data
    Xdup = jnp.asarray(np.concatenate([X, X[:2]]))

    def total(X, ls):
        gram = mn.matern_kernel(X, nu=nu, lengthscale=ls)
        cross = mn.matern_kernel(X, X, nu=nu, lengthscale=ls)
        return gram.sum() + cross.sum()

    gx, gl = jax.jit(jax.grad(total, argnums=(0, 1)))(Xdup, 1.0)
    assert np.all(np.isfinite(gx))
    assert np.isfinite(gl)


def test_rbf_gradient_matches_finite_difference(data):
    X, Y = data
    f = lambda ls: mn.rbf_kernel(X, Y, lengthscale=ls).sum()
    h = 1e-6
    fd = (f(1.2 + h) - f(1.2 - h)) / (2 * h)
    np.testing.assert_allclose(jax.jit(jax.grad(f))(1.2), fd, rtol=1e-7)


# --- bad inputs ---------------------------------------------------------------


ALL_KERNELS = [
    mn.pairwise_sq_dists,
    mn.rbf_kernel,
    mn.matern_kernel,
    mn.linear_kernel,
    mn.polynomial_kernel,
    mn.inner_product_kernel,
    mn.kernel_matrix,
]


@pytest.mark.parametrize("fn", ALL_KERNELS, ids=lambda f: f.__name__)
def test_rejects_bad_data(fn):
    good = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"X must be 2-D .*got shape \(3,\)"):
        fn(np.ones(3))
    with pytest.raises(ValueError, match=r"X must be 2-D .*got shape \(1, 3, 2\)"):
        fn(np.ones((1, 3, 2)))
    with pytest.raises(ValueError, match=r"Y must be 2-D"):
        fn(good, np.ones(2))
    with pytest.raises(
        ValueError,
        match=r"X and Y must have the same number of features.*\(3, 2\).*\(4, 3\)",
    ):
        fn(good, np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"X must be finite; got 1 non-finite"):
        fn(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"Y must be finite"):
        fn(good, np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match=r"X must not be empty"):
        fn(np.ones((0, 2)))
    with pytest.raises(TypeError, match=r"X must be array_like of numbers"):
        fn("abc")


@pytest.mark.parametrize(
    "fn",
    [mn.rbf_kernel, lambda X, **kw: mn.matern_kernel(X, nu=1.5, **kw)],
    ids=["rbf", "matern"],
)
def test_rejects_bad_lengthscale_and_variance(fn):
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"lengthscale must be > 0; got 0.0"):
        fn(X, lengthscale=0.0)
    with pytest.raises(ValueError, match=r"lengthscale must be > 0; got minimum -1.0"):
        fn(X, lengthscale=[1.0, -1.0])
    with pytest.raises(
        ValueError,
        match=r"lengthscale must be a scalar or have shape \(2,\).*got shape \(3,\)",
    ):
        fn(X, lengthscale=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"lengthscale must be 0-D or 1-D"):
        fn(X, lengthscale=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"lengthscale must be finite"):
        fn(X, lengthscale=np.inf)
    with pytest.raises(TypeError, match=r"lengthscale must be a positive real number"):
        fn(X, lengthscale=True)
    with pytest.raises(TypeError, match=r"lengthscale must be array_like"):
        fn(X, lengthscale="1")
    with pytest.raises(ValueError, match=r"variance must be > 0; got -2.0"):
        fn(X, variance=-2.0)
    with pytest.raises(
        ValueError, match=r"variance must be 0-D \(a scalar\); got shape \(2,\)"
    ):
        fn(X, variance=[1.0, 2.0])


def test_matern_rejects_other_nu():
    with pytest.raises(ValueError, match=r"nu must be one of 1.5, 2.5; got 0.5"):
        mn.matern_kernel(np.ones((2, 2)), nu=0.5)


def test_polynomial_rejects_bad_options():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"degree must be >= 1; got 0"):
        mn.polynomial_kernel(X, degree=0)
    with pytest.raises(TypeError, match=r"degree must be an integer; got 1.5"):
        mn.polynomial_kernel(X, degree=1.5)
    with pytest.raises(TypeError, match=r"degree must be a real number; got True"):
        mn.polynomial_kernel(X, degree=True)
    with pytest.raises(ValueError, match=r"offset must be >= 0.0; got -1.0"):
        mn.polynomial_kernel(X, offset=-1.0)
    with pytest.raises(ValueError, match=r"offset must be finite"):
        mn.polynomial_kernel(X, offset=np.nan)
    with pytest.raises(ValueError, match=r"scale must be > 0; got 0.0"):
        mn.polynomial_kernel(X, scale=0.0)


def test_inner_product_rejects_bad_fn_and_scale():
    X = np.ones((3, 2))
    with pytest.raises(TypeError, match=r"fn must be callable; got 3"):
        mn.inner_product_kernel(X, fn=3)
    with pytest.raises(ValueError, match=r"fn must act elementwise.*shape of t"):
        mn.inner_product_kernel(X, fn=jnp.sum)
    with pytest.raises(
        TypeError, match=r"fn must be an elementwise function written with jax.numpy"
    ):
        mn.inner_product_kernel(X, fn=math.exp)
    with pytest.raises(ValueError, match=r"scale must be > 0; got -1.0"):
        mn.inner_product_kernel(X, scale=-1.0)


def test_kernel_matrix_rejects_unknown_kernel_and_params():
    X = np.ones((3, 2))
    with pytest.raises(
        ValueError,
        match=r"kernel must be one of 'rbf', 'matern32', 'matern52', 'linear', "
        r"'polynomial', 'inner_product'; got 'gauss'",
    ):
        mn.kernel_matrix(X, kernel="gauss")
    with pytest.raises(
        TypeError,
        match=r"parameter\(s\) 'degree' that kernel='rbf' does not accept; "
        r"it accepts: lengthscale, variance",
    ):
        mn.kernel_matrix(X, kernel="rbf", degree=2)
    with pytest.raises(
        TypeError,
        match=r"'lengthscale' that kernel='linear' does not accept; "
        r"it accepts: no parameters",
    ):
        mn.kernel_matrix(X, kernel="linear", lengthscale=2.0)
    with pytest.raises(TypeError, match=r"'nu' that kernel='matern32'"):
        mn.kernel_matrix(X, kernel="matern32", nu=2.5)


def test_shape_checks_apply_under_jit():
    """Shapes are known to the tracer, so a feature mismatch still raises inside jit."""
    f = jax.jit(lambda X, Y: mn.rbf_kernel(X, Y))
    with pytest.raises(ValueError, match=r"same number of features"):
        f(jnp.ones((3, 2)), jnp.ones((3, 4)))

"""Functional data: grids, bases, projection, FPCA, trig kernels, the c-transform."""

import math
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.interpolate import BSpline
from scipy.special import logsumexp

from mltheory import numerics
from mltheory.numerics import FunctionalData

# --- grids and quadrature ---------------------------------------------------------


def test_make_grid_kinds():
    g = np.asarray(numerics.make_grid(5, domain=(1.0, 3.0)))
    np.testing.assert_allclose(g, [1.0, 1.5, 2.0, 2.5, 3.0], atol=1e-15)
    c = np.asarray(numerics.make_grid(5, kind="chebyshev"))
    np.testing.assert_allclose(
        c, (1 - np.cos(np.pi * np.arange(5) / 4)) / 2, atol=1e-15
    )
    m = np.asarray(numerics.make_grid(4, kind="midpoint"))
    np.testing.assert_allclose(m, [0.125, 0.375, 0.625, 0.875], atol=1e-15)


def test_trapezoid_matches_numpy_on_a_nonuniform_grid(rng):
    t = np.sort(rng.uniform(0, 2, 40))
    f = np.exp(t) * np.sin(3 * t)
    w = np.asarray(numerics.quadrature_weights(t))
    assert abs(w @ f - np.trapezoid(f, t)) < 1e-13
    assert abs(w.sum() - (t[-1] - t[0])) < 1e-14


def test_simpson_is_exact_for_cubics():
    t = np.asarray(numerics.make_grid(9, domain=(-1.0, 2.0)))
    w = np.asarray(numerics.quadrature_weights(t, rule="simpson"))
    f = 1 + t - 2 * t**2 + 0.5 * t**3
    exact = 3 + (4 - 1) / 2 - 2 * (8 + 1) / 3 + 0.5 * (16 - 1) / 4
    assert abs(w @ f - exact) < 1e-13


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grid": [0.0, 0.5, 0.5]}, "strictly increasing"),
        ({"grid": [0.0]}, "at least 2 points"),
        ({"grid": [0.0, np.nan, 1.0]}, "finite"),
        ({"grid": [[0.0, 1.0]]}, "1-D"),
        ({"grid": [0.0, 0.5, 1.0, 1.5], "rule": "simpson"}, "odd number"),
        ({"grid": [0.0, 0.1, 1.0], "rule": "simpson"}, "equally spaced"),
        ({"grid": [0.0, 1.0], "rule": "gauss"}, "rule must be one of"),
    ],
)
def test_quadrature_bad_inputs(kwargs, match):
    grid = kwargs.pop("grid")
    with pytest.raises(ValueError, match=match):
        numerics.quadrature_weights(grid, **kwargs)


def test_make_grid_bad_inputs():
    with pytest.raises(ValueError, match="n_points must be >= 2"):
        numerics.make_grid(1)
    with pytest.raises(ValueError, match="a < b"):
        numerics.make_grid(5, domain=(1.0, 0.0))
    with pytest.raises(ValueError, match="kind must be one of"):
        numerics.make_grid(5, kind="random")
    with pytest.raises(TypeError, match="complex"):
        numerics.quadrature_weights(np.array([0.0, 1.0], dtype=complex))


# --- bases ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sine", "fourier", "legendre", "bspline"])
def test_bases_are_orthonormal(kind):
    grid = numerics.make_grid(801, domain=(0.5, 2.5))
    w = numerics.quadrature_weights(grid, rule="simpson")
    B = np.asarray(numerics.make_basis(kind, grid, 7, weights=w))
    gram = B.T @ (np.asarray(w)[:, None] * B)
    # Simpson error at h = 1/400 on these smooth products is O(h^4) < 1e-7
    # (B-splines are orthonormalised in this very inner product)
    np.testing.assert_allclose(gram, np.eye(7), atol=1e-7)


def test_sine_and_fourier_match_their_formulas():
    t = np.linspace(0.0, 2.0, 11)
    S = np.asarray(numerics.sine_basis(t, 3))
    ref = np.stack([np.sin(j * np.pi * t / 2) for j in (1, 2, 3)], 1)
    np.testing.assert_allclose(S, ref, atol=1e-14)  # sqrt(2/L) = 1 for L = 2
    F = np.asarray(numerics.fourier_basis(t, 4))
    ref = np.stack(
        [
            np.full_like(t, 1 / np.sqrt(2)),
            np.sin(np.pi * t),
            np.cos(np.pi * t),
            np.sin(2 * np.pi * t),
        ],
        1,
    )
    np.testing.assert_allclose(F, ref, atol=1e-14)


def test_legendre_matches_numpy():
    t = np.linspace(-1.0, 1.0, 17)
    L = np.asarray(numerics.legendre_basis(t, 6))
    for j in range(6):
        ref = np.polynomial.legendre.Legendre.basis(j)(t) * np.sqrt((2 * j + 1) / 2)
        np.testing.assert_allclose(L[:, j], ref, atol=1e-13)


@pytest.mark.parametrize("order", [1, 2, 4])
def test_bspline_matches_scipy(order):
    t = np.linspace(0.0, 1.0, 37)
    n_basis = order + 6  # knots at multiples of 1/7, never on the grid i/36
    B = np.asarray(
        numerics.bspline_basis(t, n_basis, order=order, orthonormalize=False)
    )
    n_int = n_basis - order
    knots = np.concatenate(
        [np.zeros(order), np.arange(1, n_int + 1) / (n_int + 1), np.ones(order)]
    )
    ref = BSpline.design_matrix(t, knots, order - 1).toarray()
    np.testing.assert_allclose(B, ref, atol=1e-12)


def test_orthonormal_bspline_spans_the_same_space():
    t = np.asarray(numerics.make_grid(60))
    w = np.asarray(numerics.quadrature_weights(t))
    raw = np.asarray(numerics.bspline_basis(t, 8, orthonormalize=False))
    ortho = np.asarray(numerics.bspline_basis(t, 8))
    np.testing.assert_allclose(ortho.T @ (w[:, None] * ortho), np.eye(8), atol=1e-12)
    coef, *_ = np.linalg.lstsq(ortho, raw, rcond=None)
    np.testing.assert_allclose(ortho @ coef, raw, atol=1e-12)


def test_basis_bad_inputs():
    grid = numerics.make_grid(10)
    with pytest.raises(
        ValueError, match="n_basis must be <= the number of grid points"
    ):
        numerics.sine_basis(grid, 11)
    with pytest.raises(ValueError, match="n_basis must be >= 1"):
        numerics.fourier_basis(grid, 0)
    with pytest.raises(TypeError, match="n_basis must be an integer"):
        numerics.legendre_basis(grid, 2.5)
    with pytest.raises(ValueError, match="n_basis must be >= order"):
        numerics.bspline_basis(grid, 3)
    with pytest.raises(ValueError, match="singular"):
        numerics.bspline_basis([0.0, 0.1, 0.2, 1.0], 4, order=1)  # empty span
    with pytest.raises(ValueError, match="kind must be one of"):
        numerics.make_basis("wavelet", grid, 3)
    with pytest.raises(ValueError, match="lie inside domain"):
        numerics.sine_basis(grid, 3, domain=(0.2, 1.0))


# --- projection, reconstruction, FPCA --------------------------------------------


def test_project_reconstruct_round_trip(rng):
    grid = numerics.make_grid(101)
    w = numerics.quadrature_weights(grid)
    raw = numerics.bspline_basis(grid, 10, orthonormalize=False)  # not orthonormal
    coef = rng.standard_normal((5, 10))
    curves = numerics.reconstruct(coef, raw)
    np.testing.assert_allclose(numerics.project(curves, raw, w), coef, atol=1e-10)
    ortho = numerics.bspline_basis(grid, 10)
    c = numerics.project(curves, ortho, w)
    np.testing.assert_allclose(
        numerics.project(curves, ortho, w, method="quadrature"), c, atol=1e-12
    )


def test_project_bad_inputs():
    grid = numerics.make_grid(8)
    w = numerics.quadrature_weights(grid)
    B = numerics.sine_basis(grid, 3)
    with pytest.raises(ValueError, match="one row per grid point"):
        numerics.project(np.zeros((2, 7)), B, w)
    with pytest.raises(ValueError, match="weights must be > 0"):
        numerics.project(np.zeros((2, 8)), B, -w)
    with pytest.raises(ValueError, match="values must be finite"):
        numerics.project(np.full((2, 8), np.inf), B, w)
    with pytest.raises(TypeError, match="values must be real"):
        numerics.project(np.zeros((2, 8), complex), B, w)
    with pytest.raises(ValueError, match="one entry per basis function"):
        numerics.reconstruct(np.zeros((2, 4)), B)


def test_fpca_matches_the_discretised_operator(rng):
    grid = numerics.make_grid(40)
    w = np.asarray(numerics.quadrature_weights(grid))
    X = rng.standard_normal((30, 40)).cumsum(axis=1) * 0.1
    res = numerics.fpca(X, w, n_components=5)
    Xc = X - X.mean(0)
    C = Xc.T @ Xc / 29
    sw = np.sqrt(w)
    lam = np.linalg.eigvalsh(sw[:, None] * C * sw[None, :])
    np.testing.assert_allclose(res.eigenvalues, lam[::-1][:5], rtol=1e-10)
    phi = np.asarray(res.eigenfunctions)
    np.testing.assert_allclose(phi.T @ (w[:, None] * phi), np.eye(5), atol=1e-10)
    # operator equation: C W phi = lambda phi
    lam_k = np.asarray(res.eigenvalues)
    np.testing.assert_allclose(C @ (w[:, None] * phi), phi * lam_k[None, :], atol=1e-10)
    np.testing.assert_allclose(res.scores, Xc @ (w[:, None] * phi), atol=1e-10)


def test_fpca_recovers_brownian_motion_eigenvalues():
    # lambda_k = ((k - 1/2) pi)^-2 for Brownian motion on [0, 1]
    n, G = 4000, 201
    grid = np.asarray(numerics.make_grid(G))
    incr = np.random.default_rng(1).standard_normal((n, G - 1)) * np.sqrt(np.diff(grid))
    X = np.concatenate([np.zeros((n, 1)), incr.cumsum(axis=1)], axis=1)
    res = numerics.fpca(X, numerics.quadrature_weights(grid), n_components=3)
    k = np.arange(1, 4)
    truth = 1 / ((k - 0.5) * np.pi) ** 2
    # sample eigenvalues: sd ~ lambda sqrt(2/n) = 2.2% -> 4 sd = 9%, plus the
    # grid's discretisation error (< 1%)
    np.testing.assert_allclose(res.eigenvalues, truth, rtol=0.1)


def test_fpca_var_explained_and_bad_inputs(rng):
    grid = numerics.make_grid(30)
    w = numerics.quadrature_weights(grid)
    B = np.asarray(numerics.sine_basis(grid, 3))
    X = (rng.standard_normal((50, 3)) * [3.0, 1.0, 0.01]) @ B.T
    assert numerics.fpca(X, w, var_explained=0.95).eigenvalues.shape == (2,)
    with pytest.raises(ValueError, match="at most one of"):
        numerics.fpca(X, w, n_components=2, var_explained=0.9)
    with pytest.raises(ValueError, match="n_components must be <= min"):
        numerics.fpca(X, w, n_components=31)
    with pytest.raises(ValueError, match="var_explained must be > 0"):
        numerics.fpca(X, w, var_explained=0.0)
    with pytest.raises(ValueError, match="at least 2 curves"):
        numerics.fpca(X[:1], w)


# --- the container --------------------------------------------------------------


def test_functional_data_container_and_pytree(rng):
    grid = numerics.make_grid(33)
    X = FunctionalData(rng.standard_normal((4, 33)), grid)
    np.testing.assert_allclose(X.weights, numerics.quadrature_weights(grid))
    doubled = jax.jit(lambda fd: fd.with_values(2 * fd.values))(X)
    assert isinstance(doubled, FunctionalData)
    np.testing.assert_allclose(doubled.values, 2 * X.values)
    c = X.coefficients("legendre", 5)
    np.testing.assert_allclose(
        c, numerics.project(X.values, numerics.legendre_basis(grid, 5), X.weights)
    )
    back = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(back.values, X.values)


def test_functional_data_bad_inputs():
    grid = numerics.make_grid(5)
    with pytest.raises(ValueError, match="one column per grid point"):
        FunctionalData(np.zeros((2, 4)), grid)
    with pytest.raises(ValueError, match="strictly increasing"):
        FunctionalData(np.zeros((2, 3)), [0.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="values must be 2-D"):
        FunctionalData(np.zeros(5), grid)
    with pytest.raises(ValueError, match="weights must be > 0"):
        FunctionalData(np.zeros((2, 5)), grid, -np.ones(5))
    with pytest.raises(ValueError, match="n_basis is required"):
        FunctionalData(np.zeros((2, 5)), grid).coefficients("sine")


# --- trigonometric kernels ---------------------------------------------------------


@pytest.fixture
def trig_case(rng):
    z = rng.uniform(0, 1, (13, 3))
    F = rng.integers(-4, 5, (7, 3))
    coef = rng.standard_normal(14)
    return z, F, coef


def test_trig_kernels_match_numpy(trig_case):
    z, F, coef = trig_case
    ph = 2 * np.pi * z @ F.T
    feats = np.concatenate([np.cos(ph), np.sin(ph)], 1)
    np.testing.assert_allclose(numerics.trig_features(z, F), feats, atol=1e-12)
    a, b = coef[:7], coef[7:]
    np.testing.assert_allclose(
        numerics.trig_series(z, F, coef), feats @ coef, atol=1e-12
    )
    grad = 2 * np.pi * ((b * np.cos(ph) - a * np.sin(ph)) @ F)
    np.testing.assert_allclose(numerics.trig_series_grad(z, F, coef), grad, atol=1e-12)
    w = a * np.cos(ph) + b * np.sin(ph)
    hess = -((2 * np.pi) ** 2) * np.einsum("nk,kd,ke->nde", w, F, F)
    np.testing.assert_allclose(numerics.trig_series_hess(z, F, coef), hess, atol=1e-10)
    jac = np.concatenate(
        [
            -2 * np.pi * np.sin(ph)[:, :, None] * F[None],
            2 * np.pi * np.cos(ph)[:, :, None] * F[None],
        ],
        1,
    )
    np.testing.assert_allclose(numerics.trig_features_grad(z, F), jac, atol=1e-12)


def test_trig_gradient_is_the_autodiff_gradient(trig_case):
    z, F, coef = trig_case
    auto = jax.vmap(jax.grad(lambda x: numerics.trig_series(x[None], F, coef)[0]))(z)
    np.testing.assert_allclose(numerics.trig_series_grad(z, F, coef), auto, atol=1e-11)


def test_trig_bad_inputs(trig_case):
    z, F, coef = trig_case
    with pytest.raises(ValueError, match="one column per coordinate"):
        numerics.trig_features(z, F[:, :2])
    with pytest.raises(ValueError, match="freqs must hold integers"):
        numerics.trig_features(z, F + 0.5)
    with pytest.raises(ValueError, match="coef must have 2K = 14"):
        numerics.trig_series(z, F, coef[:3])
    with pytest.raises(ValueError, match="z must be finite"):
        numerics.trig_features(np.full_like(z, np.nan), F)


# --- the c-transform -----------------------------------------------------------


def _ctransform_reference(X, f, Y, eps, w=None):
    w = np.full(len(X), 1 / len(X)) if w is None else w
    C = 0.5 * ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    if eps == 0:
        return np.min(C - f[:, None], axis=0)
    return -eps * logsumexp((f[:, None] - C) / eps, b=w[:, None], axis=0)


def test_ctransform_matches_numpy_and_is_chunk_invariant(rng):
    X = rng.standard_normal((40, 3)) + 5.0
    Y = rng.standard_normal((23, 3)) + 5.0
    f = rng.standard_normal(40)
    w = rng.uniform(0.1, 1.0, 40)
    for eps in (0.0, 0.01, 0.5):
        ref = _ctransform_reference(X, f, Y, eps)
        np.testing.assert_allclose(
            numerics.logsumexp_ctransform(X, f, Y, eps), ref, atol=1e-12
        )
        got = numerics.logsumexp_ctransform(X, f, Y, eps, chunk_size=4)
        np.testing.assert_allclose(got, ref, atol=1e-12)
    ref = _ctransform_reference(X, f, Y, 0.1, w)
    got = numerics.logsumexp_ctransform(X, f, Y, 0.1, weights=w, chunk_size=5)
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_ctransform_gradient_is_minus_the_softmin_weights(rng):
    X, Y, f = (
        rng.standard_normal((9, 2)),
        rng.standard_normal((4, 2)),
        rng.standard_normal(9),
    )
    eps = 0.3
    J = jax.jacrev(lambda g: numerics.logsumexp_ctransform(X, g, Y, eps, chunk_size=3))(
        f
    )
    C = 0.5 * ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    logits = (f[:, None] - C) / eps
    P = np.exp(logits - logsumexp(logits, axis=0))
    np.testing.assert_allclose(J, -P.T, atol=1e-12)


def test_ctransform_chunks_bound_the_memory():
    # The compiled program never holds the full (m, n) cost matrix: its largest
    # temporary is of order chunk * n entries.
    n, m, chunk = 512, 4096, 64
    X, Y = jnp.zeros((n, 2)), jnp.zeros((m, 2))
    f = jnp.zeros(n)
    lowered = jax.jit(
        lambda f: jnp.sum(numerics.logsumexp_ctransform(X, f, Y, 0.1, chunk_size=chunk))
    ).lower(f)
    stats = lowered.compile().memory_analysis()
    if stats is None:
        pytest.skip("this jaxlib reports no memory analysis")
    assert stats.temp_size_in_bytes < 0.25 * n * m * 8


def test_ctransform_bad_inputs(rng):
    X, Y, f = rng.standard_normal((5, 2)), rng.standard_normal((3, 2)), np.zeros(5)
    with pytest.raises(ValueError, match="same number of columns"):
        numerics.logsumexp_ctransform(X, f, Y[:, :1], 0.1)
    with pytest.raises(ValueError, match="one value per row of X"):
        numerics.logsumexp_ctransform(X, f[:4], Y, 0.1)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        numerics.logsumexp_ctransform(X, f, Y, -1.0)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        numerics.logsumexp_ctransform(X, f, Y, 0.1, weights=-np.ones(5))
    with pytest.raises(ValueError, match="Y must be finite"):
        numerics.logsumexp_ctransform(X, f, np.full((3, 2), np.nan), 0.1)
    assert math.isfinite(float(numerics.logsumexp_ctransform(X, f, Y, 1e-9)[0]))

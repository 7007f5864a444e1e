"""Tests for mltheory.numerics linalg: polar factors, PSD tools, Cholesky updates."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings

from mltheory import numerics as mn

MUON = (3.4445, -4.7750, 2.0315)
DION = (
    (4.0848, -6.8946, 2.9270),
    (3.9505, -6.3029, 2.6377),
    (3.7418, -5.5913, 2.3037),
    (2.8769, -3.1427, 1.2046),
    (2.8366, -3.0525, 1.2012),
)


def gaussian(seed, shape, dtype=np.float64):
    """Host-side test data (NumPy), so that no test compiles a sampler."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def svd_polar_reference(G):
    """Independent NumPy reference: U V^T over the nonzero singular values."""
    U, s, Vt = np.linalg.svd(np.asarray(G, np.float64), full_matrices=False)
    r = int(np.sum(s > max(G.shape) * np.finfo(np.float64).eps * s[0]))
    return U[:, :r] @ Vt[:r]


def composed_polynomial(x, table):
    """The scalar map p_K that NS applies to each normalised singular value."""
    for a, b, c in table:
        x = a * x + b * x**3 + c * x**5
    return x


def well_conditioned(seed, shape, cond=20.0):
    """U diag(s) V^T with Haar U, V and singular values from 1 down to 1/cond."""
    rng = np.random.default_rng(seed)
    k = min(shape)
    U, _ = np.linalg.qr(rng.standard_normal((shape[0], k)))
    V, _ = np.linalg.qr(rng.standard_normal((shape[1], k)))
    return (U * np.geomspace(1.0, 1.0 / cond, k)) @ V.T


def random_spd(seed, n, cond=10.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.geomspace(1.0, cond, n)) @ Q.T


# --------------------------------------------------------------------------- #
# Newton-Schulz and SVD polar factor
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", [(64, 64), (128, 32), (32, 128)])
def test_cubic_newton_schulz_converges_to_svd_polar(shape):
    """30 cubic steps reach the exact polar factor (float64, condition number 20)."""
    G = well_conditioned(0, shape)
    ns = mn.newton_schulz(G, steps=30, coeffs="cubic")
    assert rel_err(ns, svd_polar_reference(G)) < 1e-6
    assert rel_err(mn.polar_svd(G), svd_polar_reference(G)) < 1e-12


@pytest.mark.parametrize("shape", [(64, 64), (128, 32), (32, 128)])
def test_newton_schulz_transpose_consistency(shape):
    G = gaussian(1, shape)
    np.testing.assert_allclose(
        mn.newton_schulz(G.T), mn.newton_schulz(G).T, rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("shape", [(64, 64), (128, 32), (32, 128), (16, 64)])
def test_muon_output_inside_documented_band(shape):
    """Fresh Gaussian inputs: the singular vectors of G are kept and each singular
    value maps into [0.68, 1.21] when sigma_i / ||G||_F >= 0.0015 (the band),
    and to at most 1.21 otherwise."""
    G = gaussian(100 + shape[0] + shape[1], shape)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    core = U.T @ np.asarray(mn.newton_schulz(G)) @ Vt.T
    out_s = np.diag(core)
    np.testing.assert_allclose(core - np.diag(out_s), 0, atol=1e-10)
    above = s / np.linalg.norm(G) >= 0.0015
    assert above.sum() >= min(shape) - 1
    assert np.all(out_s[above] >= 0.68)
    assert np.all(out_s <= 1.21)


@pytest.mark.parametrize(("coeffs", "table"), [("muon", (MUON,) * 5), ("dion", DION)])
def test_newton_schulz_maps_singular_values_by_composed_polynomial(coeffs, table):
    """NS acts on each singular value: sigma_out = p_K(sigma / ||G||_F), vectors kept.

    A 256 x 256 Gaussian has sigma_min / ||G||_F ~ 1e-4, below the muon band's
    threshold 0.0015: those map below 0.68, the others inside [0.68, 1.21].
    """
    G = np.asarray(gaussian(7, (256, 256)))
    U, s, Vt = np.linalg.svd(G)
    expected_s = composed_polynomial(s / (np.linalg.norm(G) + 1e-7), table)
    expected = (U * expected_s) @ Vt
    out = mn.newton_schulz(G, coeffs=coeffs)
    assert rel_err(out, expected) < 1e-9
    if coeffs == "muon":
        x = s / np.linalg.norm(G)
        assert np.all(expected_s[x >= 0.0015] >= 0.68)
        assert np.all(expected_s <= 1.21)
        assert expected_s.min() < 0.68  # the band really needs the threshold


def test_coefficient_array_forms_equal_presets():
    G = gaussian(2, (32, 128))
    by_name = mn.newton_schulz(G, coeffs="muon")
    np.testing.assert_allclose(mn.newton_schulz(G, coeffs=MUON), by_name, atol=1e-13)
    np.testing.assert_allclose(
        mn.newton_schulz(G, coeffs=np.tile(MUON, (5, 1))), by_name, atol=1e-13
    )
    np.testing.assert_allclose(
        mn.newton_schulz(G, coeffs=np.asarray(DION), steps=5),
        mn.newton_schulz(G, coeffs="dion"),
        atol=1e-13,
    )


def test_steps_default_is_five_for_a_triple_and_table_length_for_a_table():
    G = gaussian(3, (64, 64))
    np.testing.assert_allclose(
        mn.newton_schulz(G, coeffs="cubic"),
        mn.newton_schulz(G, coeffs="cubic", steps=5),
        atol=1e-14,
    )
    table = np.tile((1.5, -0.5, 0.0), (7, 1))
    np.testing.assert_allclose(
        mn.newton_schulz(G, coeffs=table),
        mn.newton_schulz(G, coeffs="cubic", steps=7),
        atol=1e-14,
    )
    assert (
        rel_err(
            mn.newton_schulz(G, coeffs="cubic", steps=7),
            mn.newton_schulz(G, coeffs="cubic", steps=5),
        )
        > 1e-3
    )


def test_batched_polar_equals_loop_over_matrices():
    G = gaussian(4, (3, 2, 32, 128))
    ns, svd = np.asarray(mn.newton_schulz(G)), np.asarray(mn.polar_svd(G))
    assert ns.shape == svd.shape == (3, 2, 32, 128)
    for i in range(3):
        for j in range(2):
            np.testing.assert_allclose(ns[i, j], mn.newton_schulz(G[i, j]), atol=1e-13)
            np.testing.assert_allclose(svd[i, j], mn.polar_svd(G[i, j]), atol=1e-13)


@pytest.mark.parametrize("method", ["svd", "ns"])
@pytest.mark.parametrize("c", [1e-6, 1.0, 1e6])
def test_polar_scale_invariance_and_oddness(method, c):
    """polar(cG) = polar(G) for c > 0 and polar(-G) = -polar(G).

    With eps=0 NS is exactly scale invariant; with the default eps=1e-7 only
    while ||cG||_F >> eps, so the check uses eps=0.
    """
    G = gaussian(5, (128, 32))
    base = mn.polar(G, method=method, eps=0.0)
    np.testing.assert_allclose(
        mn.polar(c * G, method=method, eps=0.0), base, atol=1e-10
    )
    np.testing.assert_allclose(mn.polar(-G, method=method, eps=0.0), -base, atol=1e-12)


def test_newton_schulz_normalisation_survives_float32_underflow():
    """||1e-30 G||_F^2 underflows in float32; the scaled norm must not."""
    G = gaussian(6, (16, 8), dtype=np.float32)
    tiny = mn.newton_schulz(G * 1e-30, eps=0.0)
    assert not np.isnan(tiny).any()
    np.testing.assert_allclose(tiny, mn.newton_schulz(G, eps=0.0), atol=2e-5)


def test_rank_one_polar_is_exact():
    u = np.array([1.0, -2.0, 2.0, 0.5])
    v = np.array([3.0, 0.0, -4.0])
    G = np.outer(u, v)
    expected = np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    np.testing.assert_allclose(mn.polar_svd(G), expected, atol=1e-14)
    # Cubic NS: sigma = 1 after normalisation is its fixed point.
    np.testing.assert_allclose(
        mn.newton_schulz(G, coeffs="cubic", eps=0.0), expected, atol=1e-13
    )
    # Muon NS keeps the direction and maps sigma = 1 to p_5(1).
    scale = composed_polynomial(1.0, (MUON,) * 5)
    np.testing.assert_allclose(
        mn.newton_schulz(G, eps=0.0), scale * expected, atol=1e-13
    )


def test_rank_deficient_polar_drops_null_directions():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((10, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((7, 3)))
    G = (U * [5.0, 2.0, 0.5]) @ V.T
    out = np.asarray(mn.polar_svd(G))
    np.testing.assert_allclose(out, U @ V.T, atol=1e-13)
    np.testing.assert_allclose(np.linalg.svd(out, compute_uv=False)[3:], 0, atol=1e-13)


def test_rank_tol_sets_the_threshold():
    G = np.diag(np.array([1.0, 0.1, 0.001]))
    np.testing.assert_allclose(mn.polar_svd(G), np.eye(3), atol=1e-15)
    np.testing.assert_allclose(
        mn.polar_svd(G, rank_tol=0.05), np.diag([1.0, 1.0, 0.0]), atol=1e-15
    )
    np.testing.assert_allclose(
        mn.polar_svd(G, rank_tol=0.5), np.diag([1.0, 0.0, 0.0]), atol=1e-15
    )


@pytest.mark.parametrize("method", ["svd", "ns"])
@pytest.mark.parametrize("eps", [0.0, 1e-7])
def test_polar_of_zero_is_zero(method, eps):
    out = mn.polar(np.zeros((5, 3)), method=method, eps=eps)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out, 0.0)


def test_polar_svd_has_orthonormal_columns_for_full_rank_tall_matrix():
    Q = np.asarray(mn.polar_svd(gaussian(8, (128, 32))))
    np.testing.assert_allclose(Q.T @ Q, np.eye(32), atol=1e-13)


def test_polar_svd_is_the_nearest_orthonormal_matrix():
    """No matrix with orthonormal columns is closer to G (Fan-Hoffman), near or far."""
    G = gaussian(9, (128, 32))
    P = np.asarray(mn.polar_svd(G))
    best = np.linalg.norm(G - P)
    rng = np.random.default_rng(1)
    for scale in (1e-3, 1e-1, 10.0):
        Q, R = np.linalg.qr(P + scale * rng.standard_normal(P.shape))
        Q = Q * np.sign(np.diag(R))  # the orthonormal matrix nearest P + noise
        assert np.linalg.norm(G - Q) > best


def test_bfloat16_compute_dtype_keeps_input_dtype():
    """bf16 keeps ~2-3 digits: measured 6% relative error, allowed 15%."""
    G = gaussian(10, (128, 32), dtype=np.float32)
    out = mn.newton_schulz(G, compute_dtype=jnp.bfloat16)
    assert out.dtype == jnp.float32
    assert rel_err(out, mn.newton_schulz(G)) < 0.15
    s = np.linalg.svd(np.asarray(out, np.float64), compute_uv=False)
    assert s.min() >= 0.55
    assert s.max() <= 1.3


@pytest.mark.parametrize("method", ["svd", "ns"])
def test_float32_in_float32_out(method):
    G = gaussian(11, (128, 32), dtype=np.float32)
    out = mn.polar(G, method=method)
    assert out.dtype == jnp.float32
    reference = mn.polar(G.astype(jnp.float64), method=method)
    np.testing.assert_allclose(out, reference, atol=1e-4)


def test_polar_svd_half_precision_input():
    G = gaussian(12, (6, 4)).astype(jnp.bfloat16)
    out = mn.polar_svd(G)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(out, np.float64),
        svd_polar_reference(np.asarray(G, np.float64)),
        atol=1e-2,
    )


def test_eigen_functions_accept_half_precision():
    """LAPACK has no bfloat16 eigh: computed in float32, returned in bfloat16."""
    A = random_spd(5, 3)
    A16 = A.astype(jnp.bfloat16)
    exact = scipy.linalg.sqrtm(np.asarray(A16, np.float64)).real
    for out, expected in [
        (mn.sqrtm_psd(A16), exact),
        (mn.project_psd(A16), np.asarray(A16, np.float64)),
    ]:
        assert out.dtype == jnp.bfloat16
        np.testing.assert_allclose(np.asarray(out, np.float64), expected, atol=5e-2)


def test_polar_jit_equals_eager():
    G = gaussian(13, (2, 9, 5))
    table = jnp.asarray(DION)
    np.testing.assert_allclose(
        jax.jit(lambda g: mn.newton_schulz(g))(G), mn.newton_schulz(G), atol=1e-13
    )
    # The coefficient table and eps may be traced too.
    np.testing.assert_allclose(
        jax.jit(lambda g, t, e: mn.newton_schulz(g, coeffs=t, eps=e))(G, table, 1e-7),
        mn.newton_schulz(G, coeffs="dion"),
        atol=1e-13,
    )
    np.testing.assert_allclose(
        jax.jit(lambda g: mn.polar_svd(g))(G), mn.polar_svd(G), atol=1e-13
    )


def test_newton_schulz_vmaps_over_coefficient_tables():
    G = gaussian(14, (32, 128))
    tables = np.stack([np.asarray(DION), np.tile(MUON, (5, 1))])
    out = jax.vmap(lambda t: mn.newton_schulz(G, coeffs=t))(tables)
    np.testing.assert_allclose(out[0], mn.newton_schulz(G, coeffs="dion"), atol=1e-13)
    np.testing.assert_allclose(out[1], mn.newton_schulz(G, coeffs="muon"), atol=1e-13)


def test_polar_matches_optax_orthogonalization():
    """optax's frobenius-preconditioned NS with the same eps is the same map."""
    muon = pytest.importorskip("optax.contrib._muon")
    G = gaussian(15, (32, 128))
    expected = muon.orthogonalize_via_newton_schulz(G, jnp.asarray(MUON), 5, eps=1e-7)
    np.testing.assert_allclose(mn.newton_schulz(G), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"G": np.ones(3)}, ValueError, r"G needs a matrix.*got shape \(3,\)"),
        ({"G": np.zeros((0, 3))}, ValueError, "G must not be empty"),
        ({"G": np.array([[1.0, np.nan]])}, ValueError, "G must be finite"),
        ({"G": "abc"}, TypeError, "G must be array_like"),
        (
            {"coeffs": "quintic"},
            ValueError,
            "coeffs must be one of 'cubic', 'dion', 'muon'",
        ),
        (
            {"coeffs": (1.0, 2.0)},
            ValueError,
            r"coeffs must have shape \(3,\).*got shape \(2,\)",
        ),
        ({"coeffs": np.ones((2, 4))}, ValueError, r"coeffs must have shape .*\(2, 4\)"),
        ({"coeffs": np.ones((1, 2, 3))}, ValueError, "coeffs must be 1-D or 2-D"),
        ({"coeffs": [1.0, np.inf, 0.0]}, ValueError, "coeffs must be finite"),
        ({"steps": 0}, ValueError, "steps must be >= 1; got 0"),
        ({"steps": 2.5}, TypeError, "steps must be an integer"),
        (
            {"coeffs": "dion", "steps": 6},
            ValueError,
            r"steps must equal .*\(5\).*steps=6",
        ),
        ({"eps": -1e-3}, ValueError, "eps must be >= 0.0"),
        ({"eps": float("nan")}, ValueError, "eps must be finite"),
        ({"compute_dtype": jnp.int32}, TypeError, "compute_dtype must be a floating"),
        ({"compute_dtype": "nonsense"}, TypeError, "compute_dtype must be a floating"),
    ],
)
def test_newton_schulz_rejects_bad_input(kwargs, error, match):
    args = {"G": np.ones((3, 2)), **kwargs}
    G = args.pop("G")
    with pytest.raises(error, match=match):
        mn.newton_schulz(G, **args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "qr"}, "method must be one of 'svd', 'ns'; got 'qr'"),
        ({"method": "ns", "rank_tol": 1e-3}, "rank_tol is only used by method='svd'"),
        ({"compute_dtype": jnp.bfloat16}, "compute_dtype is only used by method='ns'"),
        ({"rank_tol": -1.0}, "rank_tol must be >= 0.0; got -1.0"),
    ],
)
def test_polar_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mn.polar(np.ones((3, 2)), **kwargs)


def test_polar_svd_rejects_bad_input():
    with pytest.raises(ValueError, match=r"G needs a matrix.*got shape \(\)"):
        mn.polar_svd(1.0)
    with pytest.raises(ValueError, match="G must be finite"):
        mn.polar_svd(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match=r"rank_tol must be >= 0\.0"):
        mn.polar_svd(np.eye(2), rank_tol=-0.1)


# --------------------------------------------------------------------------- #
# PSD square root and projection
# --------------------------------------------------------------------------- #
def test_sqrtm_psd_squares_back_and_matches_scipy():
    A = random_spd(0, 8, cond=100.0)
    S = np.asarray(mn.sqrtm_psd(A))
    np.testing.assert_allclose(S @ S, A, atol=1e-12)
    np.testing.assert_allclose(S, scipy.linalg.sqrtm(A).real, atol=1e-11)
    np.testing.assert_allclose(S, S.T, atol=0)
    assert np.linalg.eigvalsh(S).min() > 0


def test_inverse_sqrtm_psd_matches_scipy_inverse():
    A = random_spd(1, 8, cond=100.0)
    R = np.asarray(mn.sqrtm_psd(A, inverse=True))
    np.testing.assert_allclose(R @ A @ R, np.eye(8), atol=1e-11)
    np.testing.assert_allclose(R, np.linalg.inv(scipy.linalg.sqrtm(A).real), atol=1e-10)


def test_sqrtm_psd_of_rank_deficient_matrix_has_no_nan():
    """Round-off makes some eigenvalues of X X^T slightly negative; they are clipped."""
    X = np.asarray(gaussian(16, (6, 3)))
    A = X @ X.T
    assert np.linalg.eigvalsh(A).min() < 0  # the round-off case really occurs
    S = np.asarray(mn.sqrtm_psd(A))
    assert not np.isnan(S).any()
    np.testing.assert_allclose(S @ S, A, atol=1e-12)


def test_sqrtm_psd_scales_like_a_square_root():
    A = random_spd(2, 5)
    for c in (1e-8, 3.0, 1e8):
        np.testing.assert_allclose(
            mn.sqrtm_psd(c * A), np.sqrt(c) * mn.sqrtm_psd(A), rtol=1e-11, atol=0
        )


def test_inverse_sqrtm_floor_is_relative_to_largest_eigenvalue():
    A = np.diag(np.array([4.0, 4e-12]))
    R = mn.sqrtm_psd(A, inverse=True, eps=1e-6)  # floor = 4e-6
    np.testing.assert_allclose(np.diag(R), [0.5, 1 / np.sqrt(4e-6)], rtol=1e-12)
    S = mn.sqrtm_psd(A, eps=1e-6)
    np.testing.assert_allclose(np.diag(S), [2.0, np.sqrt(4e-6)], rtol=1e-12)
    # the zero matrix has no inverse root: refused eagerly, finite under jit
    with pytest.raises(ValueError, match="A must have a positive eigenvalue"):
        mn.sqrtm_psd(np.zeros((3, 3)), inverse=True)
    jitted = jax.jit(lambda a: mn.sqrtm_psd(a, inverse=True))(np.zeros((3, 3)))
    assert np.isfinite(jitted).all()


def test_sqrtm_psd_batched_jit_vmap_and_float32():
    A = np.stack([random_spd(s, 4) for s in range(3)])
    batched = mn.sqrtm_psd(A)
    for i in range(3):
        np.testing.assert_allclose(batched[i], mn.sqrtm_psd(A[i]), atol=1e-14)
    np.testing.assert_allclose(
        jax.jit(lambda a: mn.sqrtm_psd(a))(A), batched, atol=1e-14
    )
    inv = jax.vmap(lambda e: mn.sqrtm_psd(A[0], inverse=True, eps=e))(
        jnp.array([0.0, 0.5])
    )
    np.testing.assert_allclose(
        inv[0], mn.sqrtm_psd(A[0], inverse=True, eps=0.0), atol=1e-14
    )
    np.testing.assert_allclose(
        inv[1], mn.sqrtm_psd(A[0], inverse=True, eps=0.5), atol=1e-14
    )
    out32 = mn.sqrtm_psd(A.astype(np.float32))
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, batched, atol=1e-5)


def test_sqrtm_psd_under_jit_gives_root_of_psd_projection():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3, -1
    out = jax.jit(lambda a: mn.sqrtm_psd(a))(A)
    np.testing.assert_allclose(out, mn.sqrtm_psd(mn.project_psd(A)), atol=1e-14)


def test_sqrtm_psd_rejects_bad_input():
    with pytest.raises(ValueError, match=r"A needs a matrix.*got shape \(3,\)"):
        mn.sqrtm_psd(np.ones(3))
    with pytest.raises(ValueError, match=r"A must be square.*got shape \(2, 3\)"):
        mn.sqrtm_psd(np.ones((2, 3)))
    with pytest.raises(ValueError, match="A must be finite"):
        mn.sqrtm_psd(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="A must be symmetric"):
        mn.sqrtm_psd(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"A must be positive semidefinite.*-1\.000e"):
        mn.sqrtm_psd(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"eps must be >= 0\.0"):
        mn.sqrtm_psd(np.eye(2), eps=-1.0)
    with pytest.raises(TypeError, match="inverse must be a bool"):
        mn.sqrtm_psd(np.eye(2), inverse="yes")


def eigen_clip_reference(A, floor):
    sym = (A + A.T) / 2
    w, V = np.linalg.eigh(sym)
    return (V * np.maximum(w, floor)) @ V.T


@pytest.mark.parametrize("floor", [0.0, 0.3, -0.5])
def test_project_psd_matches_eigen_clipping(floor):
    A = np.asarray(gaussian(17, (7, 7)))  # not symmetric on purpose
    P = np.asarray(mn.project_psd(A, min_eigenvalue=floor))
    np.testing.assert_allclose(P, eigen_clip_reference(A, floor), atol=1e-13)
    np.testing.assert_array_equal(P, P.T)
    assert np.linalg.eigvalsh(P).min() >= floor - 1e-12


def test_project_psd_closed_form_and_idempotence():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    P = mn.project_psd(A)
    np.testing.assert_allclose(P, 1.5 * np.ones((2, 2)), atol=1e-15)
    np.testing.assert_allclose(mn.project_psd(P), P, atol=1e-14)
    spd = random_spd(3, 5)
    np.testing.assert_allclose(mn.project_psd(spd), spd, atol=1e-13)


square_matrices = hnp.arrays(
    np.float64,
    st.integers(2, 5).map(lambda n: (n, n)),
    elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=25, deadline=None)
@given(A=square_matrices, seed=st.integers(0, 2**16))
def test_no_psd_matrix_is_closer_than_the_projection(A, seed):
    """Random PSD candidates (far ones and ones near P) are never closer to A."""
    P = np.asarray(mn.project_psd(A))
    best = np.linalg.norm(A - P)
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    for scale in (1e-3, 1e-1, 10.0):
        C = rng.standard_normal((n, n))
        candidates = [
            C @ C.T * scale,
            P + scale * (C @ C.T) / n,
            eigen_clip_reference(P + scale * C, 0.0),
        ]
        for B in candidates:
            assert np.linalg.norm(A - B) >= best - 1e-9 * (1 + best)


def test_project_psd_batched_jit_vmap_and_float32():
    A = np.asarray(gaussian(18, (2, 3, 4, 4)))
    batched = mn.project_psd(A)
    np.testing.assert_allclose(batched[1, 2], mn.project_psd(A[1, 2]), atol=1e-14)
    np.testing.assert_allclose(
        jax.jit(lambda a: mn.project_psd(a))(A), batched, atol=1e-14
    )
    floors = jnp.array([0.0, 0.5, 1.0])
    swept = jax.vmap(lambda f: mn.project_psd(A[0, 0], min_eigenvalue=f))(floors)
    for k, f in enumerate([0.0, 0.5, 1.0]):
        np.testing.assert_allclose(
            swept[k], eigen_clip_reference(A[0, 0], f), atol=1e-13
        )
    out32 = mn.project_psd(A.astype(np.float32))
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, batched, atol=1e-5)


def test_project_psd_rejects_bad_input():
    with pytest.raises(ValueError, match=r"A needs a matrix.*got shape \(4,\)"):
        mn.project_psd(np.ones(4))
    with pytest.raises(ValueError, match="A must be square"):
        mn.project_psd(np.ones((3, 2)))
    with pytest.raises(ValueError, match="A must be finite"):
        mn.project_psd(np.full((2, 2), np.inf))
    with pytest.raises(ValueError, match="min_eigenvalue must be finite"):
        mn.project_psd(np.eye(2), min_eigenvalue=np.nan)
    with pytest.raises(TypeError, match="min_eigenvalue must be a real number"):
        mn.project_psd(np.eye(2), min_eigenvalue="0")


# --------------------------------------------------------------------------- #
# Cholesky rank-one update and downdate
# --------------------------------------------------------------------------- #
@pytest.fixture
def spd_factor():
    A = random_spd(4, 12, cond=50.0)
    return A, np.linalg.cholesky(A)


def test_cholesky_update_equals_refactorisation(spd_factor):
    A, L = spd_factor
    x = np.asarray(gaussian(19, (12,)))
    new = np.asarray(mn.cholesky_update(L, x))
    np.testing.assert_allclose(new, np.linalg.cholesky(A + np.outer(x, x)), atol=1e-10)
    np.testing.assert_array_equal(np.triu(new, 1), 0)


def test_cholesky_downdate_equals_refactorisation(spd_factor):
    A, L = spd_factor
    p = np.asarray(gaussian(20, (12,)))
    x = L @ (0.9 * p / np.linalg.norm(p))  # ||L^{-1} x|| = 0.9 < 1
    new = np.asarray(mn.cholesky_downdate(L, x))
    np.testing.assert_allclose(new, np.linalg.cholesky(A - np.outer(x, x)), atol=1e-10)


def test_cholesky_update_then_downdate_round_trips(spd_factor):
    _, L = spd_factor
    x = np.asarray(gaussian(21, (12,)))
    back = mn.cholesky_downdate(mn.cholesky_update(L, x), x)
    np.testing.assert_allclose(back, L, atol=1e-10)


def test_indefinite_downdate_raises_eagerly_and_gives_nan_under_jit(spd_factor):
    _, L = spd_factor
    p = np.zeros(12)
    p[3] = 1.5
    x = L @ p  # ||L^{-1} x|| = 1.5: A - x x^T is indefinite
    with pytest.raises(
        ValueError, match=r"positive definite.*\|\|L\^\{-1\} x\|\|\^2 = 2.25"
    ):
        mn.cholesky_downdate(L, x)
    out = jax.jit(mn.cholesky_downdate)(L, x)
    assert np.isnan(out[:, 3:]).any()
    np.testing.assert_allclose(out[:, :3], L[:, :3], atol=1e-12)  # columns before k=3


def test_cholesky_batched_jit_vmap_and_float32(spd_factor):
    _, L = spd_factor
    Ls = np.stack([L, 2 * L])
    xs = np.asarray(gaussian(22, (2, 12)))
    batched = mn.cholesky_update(Ls, xs)
    for b in range(2):
        np.testing.assert_allclose(
            batched[b], mn.cholesky_update(Ls[b], xs[b]), atol=1e-13
        )
    np.testing.assert_allclose(jax.jit(mn.cholesky_update)(Ls, xs), batched, atol=1e-13)
    mapped = jax.vmap(mn.cholesky_update, in_axes=(None, 0))(L, xs)
    np.testing.assert_allclose(mapped[1], mn.cholesky_update(L, xs[1]), atol=1e-13)
    small = 0.1 * xs[0]
    np.testing.assert_allclose(
        jax.jit(mn.cholesky_downdate)(L, small),
        mn.cholesky_downdate(L, small),
        atol=1e-13,
    )
    out32 = mn.cholesky_update(L.astype(np.float32), xs[0].astype(np.float32))
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, batched[0], atol=1e-4)


@pytest.mark.parametrize("fn", [mn.cholesky_update, mn.cholesky_downdate])
@pytest.mark.parametrize(
    ("L", "x", "match"),
    [
        (np.ones(3), np.ones(3), r"L needs a matrix.*got shape \(3,\)"),
        (np.ones((3, 2)), np.ones(3), r"L must be square.*got shape \(3, 2\)"),
        (
            np.eye(3) + np.triu(np.ones((3, 3)), 1),
            np.zeros(3),
            "L must be lower triangular",
        ),
        (np.diag([1.0, -1.0, 1.0]), np.zeros(3), "L must have a positive diagonal"),
        (np.diag([1.0, 0.0, 1.0]), np.zeros(3), "L must have a positive diagonal"),
        (np.eye(3), np.zeros(4), r"x must have shape \(3,\).*got shape \(4,\)"),
        (np.eye(3), np.zeros((2, 3)), r"x must have shape \(3,\).*got shape \(2, 3\)"),
        (np.diag([1.0, np.nan, 1.0]), np.zeros(3), "L must be finite"),
        (np.eye(3), np.array([0.0, np.inf, 0.0]), "x must be finite"),
    ],
)
def test_cholesky_rejects_bad_input(fn, L, x, match):
    with pytest.raises(ValueError, match=match):
        fn(L, x)


def test_ns_coefficient_table_is_the_map_newton_schulz_applies():
    """Iterating the table's odd polynomials on the normalised singular values
    reproduces newton_schulz on a diagonal matrix."""
    sigma = jnp.array([1.0, 0.5, 0.1, 0.01])
    G = jnp.diag(sigma)
    for preset in ("muon", "cubic", "dion"):
        table = mn.ns_coefficient_table(preset)
        s = np.asarray(sigma) / np.linalg.norm(np.asarray(sigma))
        for a, b, c in table:
            s = a * s + b * s**3 + c * s**5
        out = mn.newton_schulz(G, coeffs=preset)
        np.testing.assert_allclose(np.diag(np.asarray(out)), s, rtol=1e-5)
    assert mn.ns_coefficient_table([1.5, -0.5, 0.0], steps=7).shape == (7, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coeffs": "nope"}, "coeffs"),
        ({"coeffs": np.ones((2, 4))}, "coeffs must have shape"),
        ({"coeffs": "muon", "steps": 0}, "steps"),
        ({"coeffs": np.ones((2, 3)), "steps": 3}, "steps must equal"),
    ],
)
def test_ns_coefficient_table_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mn.ns_coefficient_table(**kwargs)

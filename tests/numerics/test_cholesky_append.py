"""cholesky_append (bordered update) and the packed-row numba helpers."""

import jax
import numpy as np
import pytest

from mltheory import numerics as mn
from mltheory.numerics._numba import packed_append_row, packed_forward_solve


def _spd(n, seed=0):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    return B @ B.T + n * np.eye(n)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_append_equals_fresh_factorisation(n):
    A = _spd(n + 1)
    L = np.linalg.cholesky(A[:n, :n])
    got = np.asarray(mn.cholesky_append(L, A[n, :n], A[n, n]))
    np.testing.assert_allclose(got, np.linalg.cholesky(A), rtol=1e-13, atol=1e-13)


def test_append_to_empty_factor_is_sqrt():
    got = mn.cholesky_append(np.zeros((0, 0)), np.zeros(0), 9.0)
    np.testing.assert_allclose(np.asarray(got), [[3.0]])


def test_append_batched_and_jit_equal_loop():
    A = np.stack([_spd(5, s) for s in range(3)])
    L = np.linalg.cholesky(A[:, :4, :4])
    got = jax.jit(mn.cholesky_append)(L, A[:, 4, :4], A[:, 4, 4])
    for b in range(3):
        np.testing.assert_allclose(got[b], np.linalg.cholesky(A[b]), atol=1e-12)


def test_append_keeps_float32():
    A = _spd(3).astype(np.float32)
    L = np.linalg.cholesky(A[:2, :2])
    assert mn.cholesky_append(L, A[2, :2], A[2, 2]).dtype == np.float32


def test_append_not_positive_definite_raises_eagerly_and_is_nan_under_jit():
    A = _spd(3)
    L = np.linalg.cholesky(A[:2, :2])
    with pytest.raises(ValueError, match="must be positive definite"):
        mn.cholesky_append(L, A[2, :2], -1.0)
    out = jax.jit(mn.cholesky_append)(L, A[2, :2], -1.0)
    assert np.isnan(np.asarray(out)[2, 2])


def test_append_bad_shapes_and_values():
    L = np.eye(2)
    with pytest.raises(ValueError, match="a must have shape"):
        mn.cholesky_append(L, np.ones(3), 1.0)
    with pytest.raises(ValueError, match="c must have shape"):
        mn.cholesky_append(L, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="lower triangular"):
        mn.cholesky_append(np.ones((2, 2)), np.ones(2), 5.0)
    with pytest.raises(ValueError, match="L must be a square matrix"):
        mn.cholesky_append(np.ones((2, 3)), np.ones(2), 5.0)
    with pytest.raises(ValueError, match="must be finite"):
        mn.cholesky_append(L, np.array([np.nan, 0.0]), 5.0)
    with pytest.raises(TypeError, match="array_like of numbers"):
        mn.cholesky_append(L, "ab", 5.0)


def test_packed_rows_grow_a_factor_equal_to_cholesky():
    # Two factors interleaved in one pool, each grown point by point, against
    # numpy's Cholesky of the full matrices and against cholesky_append.
    n = 9
    mats = [_spd(n, 1), _spd(n, 2)]
    pool = np.empty(4)  # small on purpose: the pool must grow
    used = 0
    rows = np.zeros((2, n), dtype=np.int64)
    buf = np.empty(n)
    for r in range(n):
        for f, A in enumerate(mats):
            packed_forward_solve(pool, rows[f], r, A[r, :r].copy(), buf)
            pivot = A[r, r] - float(buf[:r] @ buf[:r])
            pool, start, diag = packed_append_row(pool, used, buf, r, pivot)
            rows[f, r] = start
            used = start + r + 1
            assert diag > 0
    for f, A in enumerate(mats):
        L = np.zeros((n, n))
        for r in range(n):
            L[r, : r + 1] = pool[rows[f, r] : rows[f, r] + r + 1]
        np.testing.assert_allclose(L, np.linalg.cholesky(A), rtol=1e-12, atol=1e-12)
        grown = np.asarray(mn.cholesky_append(L[:-1, :-1], A[-1, :-1], A[-1, -1]))
        np.testing.assert_allclose(L, grown, rtol=1e-12, atol=1e-12)
        # the forward solve agrees with a dense triangular solve
        b = np.arange(1.0, n + 1)
        out = np.empty(n)
        packed_forward_solve(pool, rows[f], n, b, out)
        np.testing.assert_allclose(L @ out, b, rtol=1e-12)


def test_packed_append_marks_non_positive_pivot_with_nan():
    pool, start, diag = packed_append_row(np.empty(2), 0, np.empty(1), 0, -1.0)
    assert start == 0 and np.isnan(diag) and np.isnan(pool[0])

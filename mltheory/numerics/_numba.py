"""numba kernels for host-side loops that do not vectorise.

Imported lazily by the functions that need them, so that importing
:mod:`mltheory` does not pay for numba. Never called inside :func:`jax.jit`.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


def _augment_free_rows_with(entry: Any) -> Any:
    """Compile the search core of the assignment solvers for one cost function.

    ``entry(data, i, j)`` (a numba function) is the cost of row ``i`` and
    column ``j``. Each solver gets its own compiled copy of the one core below
    with its ``entry`` called directly (and inlined), so it costs what a
    hand-specialised copy would. ``entry`` is a compile-time constant rather
    than an argument because numba cannot cache a function that passes a
    jitted function as a value; the copy's name carries ``entry``'s, which
    keeps the copies apart in numba's on-disk cache.
    """

    def augment_free_rows(
        data: Any,
        shift: float,
        u: np.ndarray,
        v: np.ndarray,
        col4row: np.ndarray,
        row4col: np.ndarray,
    ) -> None:
        """Add every unmatched row to the matching (Crouse 2016, Algorithm 4).

        ``shift`` is subtracted from every entry (it makes the entries of a cold
        start non-negative). The duals ``u``, ``v`` and the partial matching
        ``col4row``/``row4col`` (-1 for free) must make every reduced cost
        ``C[i, j] - shift - u[i] - v[j]`` non-negative and those of matched pairs
        zero: zeros for a cold start, or the row reduction of a warm start.

        Row ``cur_row`` joins by a Dijkstra search for the shortest augmenting
        path in reduced costs, kept non-negative by the dual updates, so each row
        costs ``O(n_rows n_cols)``. The tie-breaking follows SciPy's
        ``linear_sum_assignment`` (columns are scanned from the last one and,
        among equally short paths, a free column is preferred), so a cold start
        returns SciPy's assignment, ties included.
        """
        n_rows = col4row.shape[0]
        n_cols = row4col.shape[0]
        shortest = np.empty(n_cols)
        path = np.full(n_cols, -1, dtype=np.int64)
        row_seen = np.zeros(n_rows, dtype=np.bool_)
        col_seen = np.zeros(n_cols, dtype=np.bool_)
        remaining = np.empty(n_cols, dtype=np.int64)
        for cur_row in range(n_rows):
            if col4row[cur_row] != -1:
                continue
            # Reverse order: a constant cost matrix then gives the identity.
            for it in range(n_cols):
                remaining[it] = n_cols - it - 1
            n_remaining = n_cols
            row_seen[:] = False
            col_seen[:] = False
            shortest[:] = np.inf
            min_val = 0.0
            i = cur_row
            sink = -1
            while sink == -1:
                index = -1
                lowest = np.inf
                row_seen[i] = True
                # Hoisting the row constants out of the scan over columns makes
                # this loop ~10% faster than SciPy's; on integer costs the sums
                # are exact, so ties resolve as in SciPy.
                offset = min_val - u[i] - shift
                for it in range(n_remaining):
                    j = remaining[it]
                    reduced = offset + entry(data, i, j) - v[j]
                    dist = shortest[j]
                    if reduced < dist:
                        path[j] = i
                        shortest[j] = reduced
                        dist = reduced
                    # Among ties prefer a free column: it ends the search sooner,
                    # which matters for integer costs with many ties.
                    if dist < lowest or (dist == lowest and row4col[j] == -1):
                        lowest = dist
                        index = it
                min_val = lowest
                j = remaining[index]
                if row4col[j] == -1:
                    sink = j
                else:
                    i = row4col[j]
                col_seen[j] = True
                n_remaining -= 1
                remaining[index] = remaining[n_remaining]
            # Dual update keeps reduced costs non-negative for the next row.
            u[cur_row] += min_val
            for r in range(n_rows):
                if row_seen[r] and r != cur_row:
                    u[r] += min_val - shortest[col4row[r]]
            for c in range(n_cols):
                if col_seen[c]:
                    v[c] -= min_val - shortest[c]
            # Augment along the path back to cur_row.
            j = sink
            while True:
                i = path[j]
                row4col[j] = i
                previous = col4row[i]
                col4row[i] = j
                j = previous
                if i == cur_row:
                    break

    augment_free_rows.__name__ = f"_augment_free_rows_{entry.__name__}"
    augment_free_rows.__qualname__ = augment_free_rows.__name__
    return numba.njit(cache=True, nogil=True)(augment_free_rows)


@numba.njit(cache=True, nogil=True)
def _matrix_entry(cost: np.ndarray, i: int, j: int) -> float:
    return cost[i, j]


_augment_free_rows_matrix = _augment_free_rows_with(_matrix_entry)


@numba.njit(cache=True, nogil=True)
def _shortest_augmenting_path(cost: np.ndarray, col4row: np.ndarray) -> None:
    """Solve one rectangular LAP in place, from a cold start.

    ``cost`` is ``(n_rows, n_cols)`` with ``n_rows <= n_cols`` and finite
    entries; ``col4row`` (length ``n_rows``) receives the column of each row.
    The whole solve costs ``O(n_rows^2 n_cols)``; it returns SciPy's
    ``linear_sum_assignment`` on the same input, ties included.
    """
    n_rows, n_cols = cost.shape
    # Shifting by the minimum makes every cost non-negative, which the
    # Dijkstra step needs; it changes all totals by the same constant.
    shift = cost.min()
    col4row[:] = -1
    row4col = np.full(n_cols, -1, dtype=np.int64)
    _augment_free_rows_matrix(
        cost, shift, np.zeros(n_rows), np.zeros(n_cols), col4row, row4col
    )


@numba.njit(cache=True, parallel=True)
def _solve_batch_numba(costs: np.ndarray, out: np.ndarray) -> None:
    for b in numba.prange(costs.shape[0]):
        _shortest_augmenting_path(costs[b], out[b])


@numba.njit(cache=True, nogil=True)
def _solve_batch_serial(costs: np.ndarray, out: np.ndarray) -> None:
    # Waking numba's thread pool costs milliseconds (far more on a busy
    # machine), which dominates small batches; these run on one thread.
    for b in range(costs.shape[0]):
        _shortest_augmenting_path(costs[b], out[b])


@numba.njit(cache=True, nogil=True)
def _sq_diff_entry(data: tuple, i: int, j: int) -> float:
    """Entry (i, j) of (r_i - g_j)^2 + off [i != j], with ``data = (r, g, off)``.

    In the operation order of the NumPy construction (the square plus ``off``,
    then ``off`` subtracted again on the diagonal), so the entries, and hence
    any ties, are those of the explicit cost matrix.
    """
    r, g, off = data
    d = r[i] - g[j]
    c = d * d + off
    return c - off if i == j else c


_augment_free_rows_sq_diff = _augment_free_rows_with(_sq_diff_entry)


@numba.njit(cache=True, nogil=True)
def _sq_diff_assign(
    r: np.ndarray, g: np.ndarray, off: float, col4row: np.ndarray
) -> None:
    """Optimal assignment for C[i, j] = (r_i - g_j)^2 + off [i != j], no matrix.

    The search of :func:`_augment_free_rows_with` on entries computed when read (no
    n x n array is formed), started warm. Warm start (the row reduction of
    Jonker and Volgenant): ``u[i] = min_j C[i, j]``, ``v = 0``, and each row
    takes its cheapest column while that column is free; reduced costs are
    then non-negative and zero on every matched pair, which is all the search
    needs, so the result is still an optimal assignment, and only the rows
    left without a column run the O(n)-per-step search. Each row's cheapest
    column is found in O(log n) from the sorted ``g`` (the nearest prediction,
    against the diagonal). With a Hamming penalty most rows keep their own
    place, so a solve costs far less than the O(n^3) of a cold start, or even
    the O(n^2) of building the matrix. Among several optimal assignments
    (exact ties) it may pick a different one than SciPy.
    """
    n = r.shape[0]
    data = (r, g, off)
    order = np.argsort(g)
    sorted_g = g[order]
    u = np.empty(n)
    row4col = np.full(n, -1, dtype=np.int64)
    col4row[:] = -1
    for i in range(n):
        best = i
        best_val = _sq_diff_entry(data, i, i)
        k = np.searchsorted(sorted_g, r[i])
        # The nearest g on either side, skipping g_i itself (two per side).
        for kk in range(k - 2, k + 2):
            if kk < 0 or kk >= n:
                continue
            j = order[kk]
            if j == i:
                continue
            c = _sq_diff_entry(data, i, j)
            if c < best_val:
                best_val = c
                best = j
        u[i] = best_val
        if row4col[best] == -1:
            row4col[best] = i
            col4row[i] = best
    _augment_free_rows_sq_diff(data, 0.0, u, np.zeros(n), col4row, row4col)


@numba.njit(cache=True, parallel=True)
def _solve_sq_diff_batch(
    r: np.ndarray, g: np.ndarray, off: np.ndarray, out: np.ndarray
) -> None:
    for b in numba.prange(r.shape[0]):
        # No cost matrix at all: entries are computed when the search reads
        # them, so the work is that of the search alone.
        _sq_diff_assign(r[b], g[b], off[b], out[b])


@numba.njit(cache=True, nogil=True)
def _solve_sq_diff_serial(
    r: np.ndarray, g: np.ndarray, off: np.ndarray, out: np.ndarray
) -> None:
    for b in range(r.shape[0]):
        _sq_diff_assign(r[b], g[b], off[b], out[b])


# --------------------------------------------------------------------------- #
# Growing Cholesky factors stored row by row ("packed rows")
# --------------------------------------------------------------------------- #
# A lower triangular factor L whose rows are added one at a time (a kernel or
# Gaussian-process posterior that gains one point per step) is kept as rows in
# a 1-D pool: row r (length r + 1, diagonal last) starts at pool[rows[r]].
# Rows of several factors may interleave in one pool. The bordered update of
# ``numerics.cholesky_append`` then costs one forward substitution, O(n^2),
# and no copy of the factor.


@numba.njit(cache=True, nogil=True)
def packed_forward_solve(
    pool: np.ndarray, rows: np.ndarray, n: int, b: np.ndarray, out: np.ndarray
) -> None:
    """Forward substitution ``out[:n] = L^{-1} b[:n]`` for a packed-row factor.

    ``rows[r]`` is the offset in ``pool`` of row ``r`` of ``L``.
    """
    for r in range(n):
        off = rows[r]
        s = b[r]
        for c in range(r):
            s -= pool[off + c] * out[c]
        out[r] = s / pool[off + r]


@numba.njit(cache=True, nogil=True)
def packed_append_row(
    pool: np.ndarray, used: int, row: np.ndarray, n: int, pivot: float
) -> tuple[np.ndarray, int, float]:
    """Append row ``[row[:n], sqrt(pivot)]`` to the pool (bordered update).

    ``row[:n] = L^{-1} a`` comes from :func:`packed_forward_solve` and
    ``pivot = c - |row[:n]|^2``. The pool grows by doubling when full. Returns
    the (possibly new) pool, the offset of the new row and its diagonal entry,
    which is NaN when ``pivot <= 0`` (the bordered matrix is not positive
    definite).
    """
    need = used + n + 1
    if need > pool.shape[0]:
        size = max(2 * pool.shape[0], need)
        grown = np.empty(size)
        grown[:used] = pool[:used]
        pool = grown
    for c in range(n):
        pool[used + c] = row[c]
    diag = np.sqrt(pivot) if pivot > 0 else np.nan
    pool[used + n] = diag
    return pool, used, diag

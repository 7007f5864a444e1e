"""numba kernels for host-side loops that do not vectorise.

Imported lazily by the functions that need them, so that importing
:mod:`mltheory` does not pay for numba. Never called inside :func:`jax.jit`.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _shortest_augmenting_path(cost: np.ndarray, col4row: np.ndarray) -> None:
    """Solve one rectangular LAP in place (Crouse 2016, Algorithm 4).

    ``cost`` is ``(n_rows, n_cols)`` with ``n_rows <= n_cols`` and finite
    entries; ``col4row`` (length ``n_rows``) receives the column of each row.
    Row ``i`` is added to the matching by a Dijkstra search for the shortest
    augmenting path in reduced costs ``C[i, j] - u[i] - v[j]`` (kept
    non-negative by the dual updates), so each row costs ``O(n_rows n_cols)``
    and the whole solve ``O(n_rows^2 n_cols)``.

    The tie-breaking follows SciPy's ``linear_sum_assignment`` (columns are
    scanned from the last one and, among equally short paths, an unassigned
    column is preferred), so on the same input both return the same
    assignment, ties included.
    """
    n_rows, n_cols = cost.shape
    # Shifting by the minimum makes every cost non-negative, which the
    # Dijkstra step needs; it changes all totals by the same constant.
    shift = cost.min()
    u = np.zeros(n_rows)
    v = np.zeros(n_cols)
    shortest = np.empty(n_cols)
    path = np.full(n_cols, -1, dtype=np.int64)
    row4col = np.full(n_cols, -1, dtype=np.int64)
    row_seen = np.zeros(n_rows, dtype=np.bool_)
    col_seen = np.zeros(n_cols, dtype=np.bool_)
    remaining = np.empty(n_cols, dtype=np.int64)
    col4row[:] = -1
    for cur_row in range(n_rows):
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
            row = cost[i]
            for it in range(n_remaining):
                j = remaining[it]
                reduced = offset + row[j] - v[j]
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
def _sq_diff_cost(r: np.ndarray, g: np.ndarray, off: float, cost: np.ndarray) -> None:
    # Same operation order as (r_i - g_j)**2 + off, then the diagonal minus
    # off, so the costs (and hence ties) equal those built with NumPy.
    m = r.shape[0]
    for i in range(m):
        for j in range(m):
            d = r[i] - g[j]
            cost[i, j] = d * d + off
        cost[i, i] -= off


@numba.njit(cache=True, parallel=True)
def _solve_sq_diff_batch(
    r: np.ndarray, g: np.ndarray, off: np.ndarray, out: np.ndarray
) -> None:
    m = r.shape[1]
    for b in numba.prange(r.shape[0]):
        # Each problem builds its own m x m cost: no (batch, m, m) array ever
        # exists, so memory traffic stays in cache.
        cost = np.empty((m, m))
        _sq_diff_cost(r[b], g[b], off[b], cost)
        _shortest_augmenting_path(cost, out[b])


@numba.njit(cache=True, nogil=True)
def _solve_sq_diff_serial(
    r: np.ndarray, g: np.ndarray, off: np.ndarray, out: np.ndarray
) -> None:
    m = r.shape[1]
    cost = np.empty((m, m))
    for b in range(r.shape[0]):
        _sq_diff_cost(r[b], g[b], off[b], cost)
        _shortest_augmenting_path(cost, out[b])


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #


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

"""Validation and small shared helpers of shuffled regression (private)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_in,
    check_scalar,
)
from mltheory.stats import _shuffled_engine as engine
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_data import (
    _as_generator,
)
from mltheory.stats._shuffled_types import LAPFit

__all__: list[str] = []


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def _as_rng(rng: Any) -> np.random.Generator:
    return _as_generator(rng)


def _check_penalty(penalty: Any) -> float | None:
    if isinstance(penalty, str):
        check_in(penalty, name="penalty", options=("auto",))
        return None
    return float(check_scalar(penalty, name="penalty", lower=0.0))


def _check_xy(
    X: ArrayLike, Y: ArrayLike, *, ridge: float = 0.0, need_dof: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validate the data: shapes, finiteness, n > p (or ridge), full rank."""
    Xa = as_numpy(X, name="X", ndim=2, shape_hint="(n_samples, n_features)")
    Ya = as_numpy(Y, name="Y", ndim=1, shape_hint="(n_samples,)")
    n, p = Xa.shape
    if Ya.shape[0] != n:
        raise ValueError(
            f"Y must have one entry per row of X: len(Y) = {Ya.shape[0]} but "
            f"X has {n} rows."
        )
    # Costs are sums of n squared residuals (and X^T X sums n squared entries):
    # beyond this scale they overflow float64 and every message downstream
    # would blame an internal quantity.
    bound = float(np.sqrt(np.finfo(np.float64).max / (4.0 * max(n, 1))))
    for arr, label in ((Xa, "X"), (Ya, "Y")):
        worst = float(np.max(np.abs(arr))) if arr.size else 0.0
        if worst > bound:
            raise ValueError(
                f"{label} must have entries of magnitude below {bound:.3g} (the "
                "fit sums squared residuals, which overflow float64 beyond it); "
                f"got max |{label}| = {worst:.3g}. Rescale {label} (the "
                "estimators are scale-equivariant)."
            )
    if ridge == 0.0 or need_dof:
        if n <= p:
            raise ValueError(
                f"X must have more rows than columns (n > p) for least squares"
                f"{' and residual degrees of freedom' if need_dof else ''}; got "
                f"n={n}, p={p}. Use ridge > 0 for the point estimate when n <= p."
            )
        rank = int(np.linalg.matrix_rank(Xa))
        if rank < p and ridge == 0.0:
            raise ValueError(
                f"X must have full column rank for least squares; got rank {rank} "
                f"< p={p}. Drop collinear columns or use ridge > 0."
            )
    elif n < 2:
        raise ValueError(f"X must have at least 2 rows; got n={n}.")
    return Xa, Ya


def _check_ridge(ridge: Any) -> float:
    return float(check_scalar(ridge, name="ridge", lower=0.0))


def _check_movable(movable: Any, n: int, *, name: str = "movable") -> np.ndarray | None:
    if movable is None:
        return None
    mask = np.asarray(movable)
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.integer) or not np.isin(mask, (0, 1)).all():
            raise TypeError(
                f"{name} must be a boolean mask of length n={n}; got dtype "
                f"{mask.dtype}."
            )
        mask = mask.astype(bool)
    if mask.shape != (n,):
        raise ValueError(
            f"{name} must be a boolean mask of length n={n}; got shape {mask.shape}."
        )
    if int(mask.sum()) < 2:
        raise ValueError(
            f"{name} must mark at least 2 rows (one row cannot move alone); got "
            f"{int(mask.sum())}."
        )
    return mask


def _check_permuted_cols(permuted_cols: Any, p: int) -> np.ndarray:
    if permuted_cols is None:
        return np.ones(p, dtype=bool)
    cols = np.asarray(permuted_cols)
    if cols.dtype == bool:
        if cols.shape != (p,):
            raise ValueError(
                f"permuted_cols as a mask must have length p={p}; got shape "
                f"{cols.shape}."
            )
        mask = cols
    else:
        if not np.issubdtype(cols.dtype, np.integer) or cols.ndim != 1:
            raise TypeError(
                "permuted_cols must be a boolean mask or a 1-D array of column "
                f"indices; got {cols!r}."
            )
        if cols.size and (cols.min() < 0 or cols.max() >= p):
            raise ValueError(
                f"permuted_cols indices must lie in [0, {p}); got {cols.tolist()}."
            )
        mask = np.zeros(p, dtype=bool)
        mask[cols] = True
    if not mask.any():
        raise ValueError("permuted_cols must name at least one column.")
    return mask


def _check_perm(perm: Any, n: int, *, name: str) -> np.ndarray:
    arr = np.asarray(perm)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} must be a permutation of range({n}) (integers); got dtype "
            f"{arr.dtype}."
        )
    if arr.shape != (n,) or not np.array_equal(np.sort(arr), np.arange(n)):
        raise ValueError(
            f"{name} must be a permutation of range({n}); got "
            f"{np.array2string(arr, threshold=12)}."
        )
    return arr.astype(np.int64)


def _check_bool(value: Any, *, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool; got {value!r}.")
    return bool(value)


def _make_design(
    X: np.ndarray,
    *,
    ridge: float,
    movable: np.ndarray | None,
    permuted: np.ndarray,
    fit_intercept: bool,
) -> engine.Design:
    n, p = X.shape
    ridge_diag = np.full(p, ridge)
    if fit_intercept:
        X = np.concatenate([np.ones((n, 1)), X], axis=1)
        permuted = np.concatenate([[False], permuted])
        ridge_diag = np.concatenate([[0.0], ridge_diag])
    return engine.Design(
        X=np.ascontiguousarray(X),
        permuted=permuted,
        movable=movable,
        ridge=ridge_diag,
    )


def _subsets(gen: np.random.Generator, n: int, p: int, n_subsets: int) -> np.ndarray:
    """Random row subsets of sizes p+1 .. 2p for the RANSAC-style starts."""
    if n_subsets <= 0:
        return np.zeros((0, 1), dtype=np.int64)
    order = np.argsort(gen.random((n_subsets, n)), axis=1)
    lo, hi = min(p + 1, n), min(2 * p, n)
    sizes = gen.integers(lo, max(hi, lo) + 1, size=n_subsets)
    width = int(sizes.max())
    out = order[:, :width].copy()
    out[np.arange(width)[None, :] >= sizes[:, None]] = -1
    return out


def _pilots(
    design: engine.Design, Y: np.ndarray, gen: np.random.Generator, n_starts: int
) -> np.ndarray:
    subsets = _subsets(gen, design.n, design.p, n_starts - 1)
    pilots = engine.pilot_coefs(design, Y, subsets)
    if design.p == 1 and n_starts >= 3:
        # p = 1: the unpenalised LS permutation is sort-matching for beta > 0
        # or beta < 0; two sign pilots make the search exact.
        size = np.linalg.norm(Y, axis=1) / np.linalg.norm(design.X)
        pilots[:, 1, 0] = size
        pilots[:, 2, 0] = -size
    return pilots


def _to_fit(
    design: engine.Design,
    state: engine.Alternation,
    obj: np.ndarray,
    rss: np.ndarray,
    fit_intercept: bool,
) -> LAPFit:
    coef = state.coef[0]
    intercept = float(coef[0]) if fit_intercept else 0.0
    beta = coef[1:] if fit_intercept else coef
    return LAPFit(
        perm=state.perm[0].astype(np.int64),
        beta=beta.copy(),
        intercept=intercept,
        sigma2=float(rss[0] / design.dof),
        rss=float(rss[0]),
        objective=float(obj[0]),
        penalty=float(state.penalty[0]),
        n_iter=int(state.n_iter[0]),
        converged=bool(state.converged[0]),
    )

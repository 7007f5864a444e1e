"""Input checks shared by the OT-map estimators (host side, numpy float64)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mltheory._src._validation import as_numpy, describe

__all__ = ["check_bool", "check_pair", "check_samples", "reject_complex"]


def reject_complex(x: Any, name: str) -> None:
    """Raise TypeError for complex input (the OT maps here are real)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(x).dtype
        except (TypeError, ValueError):
            return
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(
            f"{name} must be real (optimal transport here is over a real Hilbert "
            f"space); got complex dtype {dtype}."
        )


def _plain_ok(X: Any, min_rows: int) -> bool:
    """True for a float64 ndarray that passes every check (the common case).

    A cheap pre-test only: anything else (or anything that fails) goes through
    the full checks, which raise the documented messages.
    """
    return (
        type(X) is np.ndarray
        and X.dtype == np.float64
        and X.ndim == 2
        and X.shape[0] >= min_rows
        and X.size > 0
        # a finite sum means finite entries (NaN/inf propagate); an overflowing
        # sum of finite entries only sends the array to the full check
        and bool(np.isfinite(X.sum()))
    )


def check_samples(X: Any, name: str, *, min_rows: int = 2) -> np.ndarray:
    """A finite real 2-D float64 array with at least ``min_rows`` rows."""
    if _plain_ok(X, min_rows):
        return X
    reject_complex(X, name)
    arr = as_numpy(X, name=name, ndim=2, shape_hint="(n_samples, n_coefficients)")
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{name} must hold at least {min_rows} samples; got shape {arr.shape}."
        )
    return arr


def check_pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Source and target samples: finite, 2-D, same number of coefficients."""
    if _plain_ok(X, 2) and _plain_ok(Y, 2) and X.shape[1] == Y.shape[1]:
        return X, Y
    for arr, name in ((X, "X"), (Y, "Y")):
        reject_complex(arr, name)
        a = np.asarray(arr) if not hasattr(arr, "shape") else arr
        kind = getattr(getattr(a, "dtype", None), "kind", "O")
        if kind not in "biuf":
            raise TypeError(
                f"{name} must be array_like of numbers; got {describe(arr)}."
            )
        if getattr(a, "ndim", 0) != 2:
            raise ValueError(
                "X and Y must be finite 2-D arrays with the same number of "
                f"coefficients; got {name} of shape {tuple(np.shape(a))}."
            )
    Xa = check_samples(X, "X")
    Ya = check_samples(Y, "Y")
    if Xa.shape[1] != Ya.shape[1]:
        raise ValueError(
            "X and Y must be finite 2-D arrays with the same number of "
            f"coefficients; got X of shape {Xa.shape} and Y of shape {Ya.shape}."
        )
    return Xa, Ya


def check_bool(value: Any, name: str) -> bool:
    """A Python or NumPy bool."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool; got {describe(value)}.")
    return bool(value)

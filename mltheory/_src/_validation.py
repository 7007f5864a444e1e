"""Input validation at the public boundary.

Every public function validates its inputs once, here, before any work, so
that a user gets a :class:`ValueError` or :class:`TypeError` that names the
argument, states what was expected and shows what came. Checks that need
concrete values (finiteness, ranges) are skipped for JAX tracers, so the same
public function can still be called inside a user's :func:`jax.jit`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "as_array",
    "as_numpy",
    "check_callable",
    "check_float_dtype",
    "check_in",
    "check_key",
    "check_on_divergence",
    "check_scalar",
    "check_shape",
    "describe",
    "is_traced",
]


def is_traced(x: Any) -> bool:
    """Return True when ``x`` is a JAX tracer (its values are unknown now)."""
    return isinstance(x, jax.core.Tracer)


def describe(x: Any) -> str:
    """A short description of a value for error messages."""
    if isinstance(x, np.ndarray | jax.Array) and not is_traced(x):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    if is_traced(x):
        return f"traced array of shape {tuple(x.shape)} and dtype {x.dtype}"
    text = repr(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (type {type(x).__name__})"


def _ndim_text(ndim: int | tuple[int, ...]) -> str:
    if isinstance(ndim, int):
        return f"{ndim}-D"
    return " or ".join(f"{n}-D" for n in ndim)


def _check_array_common(
    arr: Any,
    *,
    name: str,
    ndim: int | tuple[int, ...] | None,
    min_ndim: int | None,
    shape_hint: str | None,
    allow_nonfinite: bool,
    allow_empty: bool,
) -> None:
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            hint = f" {shape_hint}" if shape_hint else ""
            raise ValueError(
                f"{name} must be {_ndim_text(ndim)}{hint}; "
                f"got shape {tuple(arr.shape)}."
            )
    if min_ndim is not None and arr.ndim < min_ndim:
        hint = f" {shape_hint}" if shape_hint else ""
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions{hint}; "
            f"got shape {tuple(arr.shape)}."
        )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(arr.shape)}.")
    check_values = not allow_nonfinite and not is_traced(arr)
    if check_values and jnp.issubdtype(arr.dtype, jnp.inexact):
        finite = np.isfinite(np.asarray(arr))
        if not finite.all():
            bad = int(finite.size - finite.sum())
            raise ValueError(
                f"{name} must be finite; got {bad} non-finite (NaN or inf) "
                f"entr{'y' if bad == 1 else 'ies'} in an array of shape "
                f"{tuple(arr.shape)}."
            )


def _reject_non_numeric(x: Any, name: str) -> None:
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{name} must be array_like of numbers; got {describe(x)}.")


def as_array(
    x: Any,
    *,
    name: str,
    ndim: int | tuple[int, ...] | None = None,
    min_ndim: int | None = None,
    dtype: Any = None,
    shape_hint: str | None = None,
    allow_nonfinite: bool = False,
    allow_empty: bool = False,
) -> jax.Array:
    """Convert ``x`` to a :class:`jax.Array`, checking dimension and finiteness.

    Integer and boolean inputs are promoted to the default floating dtype
    unless ``dtype`` says otherwise; floating inputs keep their dtype.

    Raises
    ------
    TypeError
        If ``x`` is not array_like of numbers.
    ValueError
        If ``x`` has the wrong number of dimensions, is empty, or holds NaN/inf.
    """
    _reject_non_numeric(x, name)
    try:
        if dtype is not None:
            arr = jnp.asarray(x, dtype=dtype)
        else:
            arr = jnp.asarray(x)
            if not jnp.issubdtype(arr.dtype, jnp.inexact):
                arr = arr.astype(jnp.result_type(float))
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be array_like of numbers; got {describe(x)}."
        ) from err
    _check_array_common(
        arr,
        name=name,
        ndim=ndim,
        min_ndim=min_ndim,
        shape_hint=shape_hint,
        allow_nonfinite=allow_nonfinite,
        allow_empty=allow_empty,
    )
    return arr


def as_numpy(
    x: Any,
    *,
    name: str,
    ndim: int | tuple[int, ...] | None = None,
    min_ndim: int | None = None,
    dtype: Any = np.float64,
    shape_hint: str | None = None,
    allow_nonfinite: bool = False,
    allow_empty: bool = False,
) -> np.ndarray:
    """Like :func:`as_array` but returns a :class:`numpy.ndarray` (host code)."""
    _reject_non_numeric(x, name)
    if is_traced(x):
        raise TypeError(
            f"{name} must be a concrete array (this function runs on the host and "
            f"cannot be traced by jax.jit); got {describe(x)}."
        )
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be array_like of numbers; got {describe(x)}."
        ) from err
    _check_array_common(
        arr,
        name=name,
        ndim=ndim,
        min_ndim=min_ndim,
        shape_hint=shape_hint,
        allow_nonfinite=allow_nonfinite,
        allow_empty=allow_empty,
    )
    return arr


def check_scalar(
    x: Any,
    *,
    name: str,
    kind: type = float,
    lower: float | None = None,
    upper: float | None = None,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
) -> Any:
    """Check a Python scalar option and return it as ``kind`` (int or float).

    Booleans are rejected where a number is expected, non-finite floats are
    always rejected, and the bounds are checked with their inclusivity named
    in the message (``"dt must be > 0; got -0.1."``).

    Raises
    ------
    TypeError
        If ``x`` is not a real number (or not an integer when ``kind=int``).
    ValueError
        If ``x`` is NaN/inf or outside the bounds.
    """
    if isinstance(x, np.ndarray | jax.Array) and getattr(x, "ndim", 1) == 0:
        if is_traced(x):
            return x
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {describe(x)}.")
    if kind is int:
        if not isinstance(x, numbers.Integral):
            if isinstance(x, float) and x.is_integer():
                x = int(x)
            else:
                raise TypeError(f"{name} must be an integer; got {describe(x)}.")
        value: Any = int(x)
    else:
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value}.")
    if lower is not None:
        ok = value >= lower if lower_inclusive else value > lower
        if not ok:
            op = ">=" if lower_inclusive else ">"
            raise ValueError(f"{name} must be {op} {lower}; got {value}.")
    if upper is not None:
        ok = value <= upper if upper_inclusive else value < upper
        if not ok:
            op = "<=" if upper_inclusive else "<"
            raise ValueError(f"{name} must be {op} {upper}; got {value}.")
    return value


def check_in(value: Any, *, name: str, options: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``options``; the message lists them all."""
    opts = list(options)
    try:
        found = value in opts
    except TypeError:  # unhashable or incomparable values
        found = False
    if not found:
        listed = ", ".join(repr(o) for o in opts)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_callable(f: Any, *, name: str) -> Callable[..., Any]:
    """Check that ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{name} must be callable; got {describe(f)}.")
    return f


def check_key(key: Any, *, name: str = "key") -> jax.Array:
    """Check a JAX PRNG key: a typed key (``jax.random.key``) or a raw uint32[2] key.

    Raises
    ------
    TypeError
        If ``key`` is not a JAX PRNG key (an int seed, say).
    """
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim != 0:
            raise ValueError(
                f"{name} must be a single PRNG key; got a batch of shape {key.shape}."
            )
        return key
    if (
        isinstance(key, jax.Array | np.ndarray)
        and key.dtype == np.uint32
        and tuple(key.shape) == (2,)
    ):
        return jnp.asarray(key)
    raise TypeError(
        f"{name} must be a JAX PRNG key such as jax.random.key(0); got {describe(key)}."
    )


def check_shape(x: Any, *, name: str, shape: tuple[int | None, ...]) -> None:
    """Check ``x.shape`` against ``shape`` (``None`` entries match anything)."""
    got = tuple(x.shape)
    ok = len(got) == len(shape) and all(
        s is None or s == g for s, g in zip(shape, got, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}; got shape {got}.")


def check_float_dtype(dtype: Any, *, name: str, default: Any = None) -> Any:
    """Check a floating dtype option; ``None`` means ``default``.

    Without float64 enabled, a float64 request is canonicalised to float32,
    as everywhere in JAX. ``default=None`` means JAX's default float.

    Raises
    ------
    TypeError
        If ``dtype`` is not a dtype, or not a floating one.
    """
    if dtype is None:
        dtype = jnp.result_type(float) if default is None else default
    try:
        dt = jnp.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"{name} must be a floating dtype such as jnp.float32; "
            f"got {describe(dtype)}."
        ) from err
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(
            f"{name} must be a floating dtype such as jnp.float32; got dtype {dt}."
        )
    return jax.dtypes.canonicalize_dtype(dt)


ON_DIVERGENCE_OPTIONS = ("raise", "warn", "flag")


def check_on_divergence(value: Any, *, name: str = "on_divergence") -> str:
    """Check a divergence policy option: ``"raise"``, ``"warn"`` or ``"flag"``.

    See :func:`mltheory.numerics.handle_divergence` for what each one does.
    """
    return str(check_in(value, name=name, options=ON_DIVERGENCE_OPTIONS))

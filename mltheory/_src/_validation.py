"""Input validation at the public boundary.

Every public function validates its inputs once, here, before any work, so
that a user gets a :class:`ValueError` or :class:`TypeError` that names the
argument, states what was expected and shows what came. Checks that need
concrete values (finiteness, ranges) are skipped for JAX tracers, so the same
public function can still be called inside a user's :func:`jax.jit`.

Conventions every helper follows: complex input is rejected unless a caller
allows it (the mathematics of this library is real); finiteness is checked
after the cast to the working dtype, so a finite float64 that overflows
float32 is reported, not turned into inf; strings and ``None`` are not
numbers.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "as_array",
    "as_numpy",
    "check_callable",
    "check_finite_in_dtype",
    "check_float_dtype",
    "check_in",
    "check_key",
    "check_on_divergence",
    "check_probabilities",
    "check_scalar",
    "check_same_tree",
    "check_shape",
    "check_real",
    "describe",
    "is_traced",
    "renamed_arguments",
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


def _overflow_hint(source: Any, arr: Any) -> str:
    """Say so when finite input became inf by the cast to ``arr.dtype``."""
    if source is None or isinstance(source, jax.core.Tracer):
        return ""
    try:
        before = np.asarray(source)
        if not np.issubdtype(before.dtype, np.number):
            return ""
        if np.isfinite(before).all():
            return (
                f" (the input is finite but overflows {arr.dtype}, whose "
                f"largest value is {float(np.finfo(arr.dtype).max):.4g})"
            )
    except (TypeError, ValueError):
        return ""
    return ""


def _check_array_common(
    arr: Any,
    *,
    name: str,
    ndim: int | tuple[int, ...] | None,
    min_ndim: int | None,
    shape_hint: str | None,
    allow_nonfinite: bool,
    allow_empty: bool,
    source: Any = None,
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
                f"{tuple(arr.shape)} and dtype {arr.dtype}"
                f"{_overflow_hint(source, arr)}."
            )


def _reject_non_numeric(x: Any, name: str) -> None:
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{name} must be array_like of numbers; got {describe(x)}.")


def _is_complex_input(x: Any) -> bool:
    if isinstance(x, complex | np.complexfloating):
        return True
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        try:
            return bool(np.issubdtype(np.dtype(dtype), np.complexfloating))
        except TypeError:  # extended dtypes (PRNG keys)
            return False
    if isinstance(x, list | tuple):
        try:
            return bool(np.iscomplexobj(np.asarray(x)))
        except (TypeError, ValueError):
            return False
    return False


def check_real(x: Any, *, name: str) -> None:
    """Reject complex input where the mathematics is real.

    Raises
    ------
    TypeError
        If ``x`` is a complex number or an array of complex dtype.
    """
    if _is_complex_input(x):
        what = f"dtype {x.dtype}" if hasattr(x, "dtype") else describe(x)
        raise TypeError(
            f"{name} must be real (complex input would be truncated to its real "
            f"part); got {what}."
        )


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
    allow_complex: bool = False,
) -> jax.Array:
    """Convert ``x`` to a :class:`jax.Array`, checking dimension and finiteness.

    Integer and boolean inputs are promoted to the default floating dtype
    unless ``dtype`` says otherwise; floating inputs keep their dtype.
    Finiteness is checked after the cast, so a value that overflows ``dtype``
    is reported.

    Raises
    ------
    TypeError
        If ``x`` is not array_like of numbers, or is complex and
        ``allow_complex`` is False.
    ValueError
        If ``x`` has the wrong number of dimensions, is empty, or holds NaN/inf
        (after the cast to ``dtype``).
    """
    _reject_non_numeric(x, name)
    if not allow_complex:
        check_real(x, name=name)
    try:
        if dtype is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # checked below
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
        source=x,
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
    allow_complex: bool = False,
) -> np.ndarray:
    """Like :func:`as_array` but returns a :class:`numpy.ndarray` (host code)."""
    _reject_non_numeric(x, name)
    if not allow_complex:
        check_real(x, name=name)
    if is_traced(x):
        raise TypeError(
            f"{name} must be a concrete array (this function runs on the host and "
            f"cannot be traced by jax.jit); got {describe(x)}."
        )
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
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
        source=x,
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
    dtype: Any = None,
    dtype_of: str | None = None,
) -> Any:
    """Check a Python scalar option and return it as ``kind`` (int or float).

    Booleans are rejected where a number is expected, non-finite floats are
    always rejected, and the bounds are checked with their inclusivity named
    in the message (``"dt must be > 0; got -0.1."``). With ``dtype`` (a
    floating dtype the value will be cast to), a value that overflows it is
    rejected too (``1e39`` is inf in float32); ``dtype_of`` names where that
    dtype comes from (``"W"``) for the message.

    Raises
    ------
    TypeError
        If ``x`` is not a real number (or not an integer when ``kind=int``).
    ValueError
        If ``x`` is NaN/inf, outside the bounds, or overflows ``dtype``.
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
    if dtype is not None:
        check_finite_in_dtype(value, name=name, dtype=dtype, dtype_of=dtype_of)
    return value


def check_finite_in_dtype(
    x: Any, *, name: str, dtype: Any, dtype_of: str | None = None
) -> None:
    """Check that the concrete value(s) ``x`` stay finite when cast to ``dtype``.

    Non-floating dtypes and tracers are not checked.

    Raises
    ------
    ValueError
        If a finite value of ``x`` overflows ``dtype`` (or ``x`` is not finite).
    """
    if is_traced(x) or dtype is None:
        return
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        cast = np.asarray(x).astype(dt)
    if np.isfinite(cast).all():
        return
    source = f" (the dtype of {dtype_of})" if dtype_of else ""
    shown = describe(x) if np.ndim(x) else repr(np.asarray(x).item())
    raise ValueError(
        f"{name} must be finite in {dt}{source}, whose largest value is "
        f"{float(np.finfo(dt).max):.4g}; got {shown}, which overflows to inf."
    )


def check_same_tree(
    tree: Any, like: Any, *, name: str, like_name: str, check_shapes: bool = True
) -> None:
    """Check that pytree ``tree`` has the structure (and leaf shapes) of ``like``.

    For updates against parameters (gradients, moments): the message names
    the keys that differ, or the first leaf whose shape differs.

    Raises
    ------
    ValueError
        If the structures or leaf shapes differ.
    """
    leaves_t, def_t = jax.tree_util.tree_flatten_with_path(tree)
    leaves_l, def_l = jax.tree_util.tree_flatten_with_path(like)
    if str(def_t) != str(def_l):
        paths_t = {jax.tree_util.keystr(p) for p, _ in leaves_t}
        paths_l = {jax.tree_util.keystr(p) for p, _ in leaves_l}
        extra = sorted(paths_t - paths_l)
        missing = sorted(paths_l - paths_t)
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:5])}")
        if extra:
            detail.append(f"unexpected {', '.join(extra[:5])}")
        why = "; ".join(detail) if detail else f"got structure {def_t}"
        raise ValueError(
            f"{name} must have the pytree structure of {like_name} ({def_l}); {why}."
        )
    if not check_shapes:
        return
    for (path, a), (_, b) in zip(leaves_t, leaves_l, strict=True):
        if jnp.shape(a) != jnp.shape(b):
            raise ValueError(
                f"{name}{jax.tree_util.keystr(path)} must have the shape of "
                f"{like_name}{jax.tree_util.keystr(path)}, {jnp.shape(b)}; got "
                f"shape {jnp.shape(a)}."
            )


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


def check_float_dtype(
    dtype: Any, *, name: str, default: Any = None, stacklevel: int = 3
) -> Any:
    """Check a floating dtype option; ``None`` means ``default``.

    Without float64 enabled, a float64 request is canonicalised to float32,
    as everywhere in JAX, with a :class:`UserWarning` when the user asked
    for it explicitly. ``default=None`` means JAX's default float.

    Raises
    ------
    TypeError
        If ``dtype`` is not a dtype, or not a floating one.

    Warns
    -----
    UserWarning
        If an explicitly requested dtype is not available (float64 with
        x64 off).
    """
    explicit = dtype is not None
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
    canonical = jax.dtypes.canonicalize_dtype(dt)
    if canonical != dt and explicit:
        warnings.warn(
            f"{name}={dt} was requested but 64-bit floats are disabled in JAX "
            f"(jax_enable_x64 is off), so the result is {canonical}. Enable "
            "them with jax.config.update('jax_enable_x64', True) at start-up.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return canonical


ON_DIVERGENCE_OPTIONS = ("raise", "warn", "flag")


def check_on_divergence(value: Any, *, name: str = "on_divergence") -> str:
    """Check a divergence policy option: ``"raise"``, ``"warn"`` or ``"flag"``.

    See :func:`mltheory.numerics.handle_divergence` for what each one does.
    """
    return str(check_in(value, name=name, options=ON_DIVERGENCE_OPTIONS))


def _rename_in_message(text: str, mapping: Mapping[str, str]) -> str:
    for old, new in mapping.items():
        o = re.escape(old)
        text = re.sub(rf"^{o}\b(?!\.)", new, text)  # "steps must be ..."
        text = re.sub(rf"(?<![\w.]){o}(?==)", new, text)  # "got steps=5"
        text = re.sub(rf"(?<![\w.\[]){o}(?= must\b)", new, text)  # "...; steps must"
    return text


@contextlib.contextmanager
def renamed_arguments(mapping: Mapping[str, str]) -> Iterator[None]:
    """Re-raise validation errors of a delegated call under the caller's names.

    A public function that passes its ``ns_steps`` to another public function
    as ``steps`` wraps the call in ``with renamed_arguments({"steps":
    "ns_steps"}):`` so that the user reads the name they typed. Only plain
    :class:`ValueError` and :class:`TypeError` are rewritten (their class is
    kept and the original is chained); argument names are replaced where a
    message refers to them as arguments (at its start, before ``=`` or
    before ``must``).
    """
    try:
        yield
    except (ValueError, TypeError) as err:
        if type(err) not in (ValueError, TypeError) or len(err.args) != 1:
            raise
        text = str(err.args[0])
        new = _rename_in_message(text, mapping)
        if new == text:
            raise
        raise type(err)(new) from err


def check_probabilities(x: Any, *, name: str, axis: int = -1) -> None:
    """Check that concrete ``x`` holds probability vectors along ``axis``.

    Entries must be >= 0 and each vector must sum to 1 within
    ``sqrt(eps)`` of its dtype (1.5e-8 in float64, 3.5e-4 in float32).
    Skipped for tracers (the check needs values; under :func:`jax.jit` the
    caller's docstring says so).

    Raises
    ------
    ValueError
        If an entry is negative or a vector does not sum to 1; the message
        gives the worst value.
    """
    if is_traced(x):
        return
    arr = np.asarray(x)
    if arr.size == 0:
        return
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
    tol = float(np.sqrt(np.finfo(dtype).eps))
    low = float(arr.min())
    if low < 0:
        raise ValueError(
            f"{name} must be a probability vector (entries >= 0, summing to 1); "
            f"got a negative entry {low:.4g}."
        )
    sums = arr.sum(axis=axis, dtype=np.float64)
    worst = float(np.max(np.abs(sums - 1.0)))
    if worst > tol:
        raise ValueError(
            f"{name} must be a probability vector summing to 1 along axis {axis} "
            f"(within {tol:.1e}); got sums in [{float(sums.min()):.6g}, "
            f"{float(sums.max()):.6g}]."
        )

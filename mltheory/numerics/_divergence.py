r"""The divergence policy shared by every fixed-step integrator and simulator.

A time stepper that leaves its stability region, or a dynamics that blows up
in finite time, produces NaN or inf. mltheory never returns those silently.
The policy is written once, here, in two halves:

* **inside the compiled loop** (jittable, no Python control flow on values):
  the carry of a :func:`jax.lax.scan` holds ``first_bad_step`` (int32, ``-1``
  while every state is finite), updated each step by
  :func:`update_first_bad_step`; recorded arrays can also be searched
  afterwards with :func:`first_nonfinite_index`. The result exposes the field
  ``first_bad_step`` and the property ``diverged``;
* **at the eager boundary** (after the jitted call returns):
  :func:`handle_divergence` applies the user's ``on_divergence`` option:
  ``"raise"`` (the default everywhere) raises
  :class:`~mltheory.exceptions.DivergenceError` naming the first non-finite
  step, its time and the likely cause; ``"warn"`` warns
  :class:`~mltheory.exceptions.DivergenceWarning` and returns the finite
  records; ``"flag"`` returns the result as is. Under :func:`jax.jit` or
  :func:`jax.vmap` the field is a tracer and the result is returned unchanged:
  the caller reads ``result.diverged`` afterwards.

Step convention: ``first_bad_step = n`` means that the state after ``n``
steps (at time ``t0 + n * dt``) is the first non-finite one; ``n = 0`` is the
initial state (or its observation). Records are taken at steps ``0, r, 2r,
...`` (``r = record_every``), so the records before the first bad step are
the first ``ceil(n / r)``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import Array, PyTree
from mltheory._src._validation import (
    check_on_divergence,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.exceptions import DivergenceError, DivergenceWarning

__all__ = [
    "all_finite",
    "first_nonfinite_index",
    "handle_divergence",
    "update_first_bad_step",
]

OnDivergence = Literal["raise", "warn", "flag"]
R = TypeVar("R")

_NONE = -1
_BIG = np.iinfo(np.int32).max


def _numeric_leaves(tree: PyTree) -> list[Any]:
    """The leaves of ``tree``; a non-numeric leaf (a string, None) is an error."""
    leaves_with_path = jax.tree_util.tree_flatten_with_path(tree)[0]
    for path, leaf in leaves_with_path:
        ok = is_traced(leaf) or isinstance(leaf, bool | int | float | complex)
        if not ok:
            dtype = getattr(leaf, "dtype", None)
            if dtype is None:
                try:
                    dtype = np.asarray(leaf).dtype
                except (TypeError, ValueError):
                    dtype = np.dtype(object)
            ok = jax.dtypes.issubdtype(dtype, np.number) or dtype == np.bool_
        if not ok:
            raise TypeError(
                f"tree{jax.tree_util.keystr(path)} must be a numeric array or "
                f"number (every leaf is checked for NaN/inf); got {describe(leaf)}."
            )
    return [leaf for _, leaf in leaves_with_path]


def _finite_leaf(x: Any) -> Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.ones(x.shape, bool)
    return jnp.isfinite(x)


def _finite_np(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        return np.ones(x.shape, bool)
    return np.isfinite(x)


def all_finite(tree: PyTree) -> Array:
    """Return whether every entry of every leaf of ``tree`` is finite.

    Jittable: the answer is a boolean scalar array (a tracer under
    :func:`jax.jit`). Integer and boolean leaves are always finite; complex
    leaves are finite when both parts are; an empty tree is finite.

    Parameters
    ----------
    tree : pytree of array_like
        Any pytree of numeric arrays or scalars.

    Returns
    -------
    jax.Array of bool, shape ()
        ``True`` when no leaf holds NaN or inf.

    Raises
    ------
    TypeError
        If a leaf is not numeric (a string, ``None`` inside a container).

    See Also
    --------
    update_first_bad_step : The per-step update built on it.
    first_nonfinite_index : The first bad index along a record axis.

    Examples
    --------
    >>> from mltheory.numerics import all_finite
    >>> bool(all_finite({"w": jnp.ones(3), "b": 0.5}))
    True
    >>> bool(jax.jit(all_finite)([jnp.ones(2), jnp.asarray([1.0, jnp.inf])]))
    False
    """
    leaves = _numeric_leaves(tree)
    if not any(is_traced(leaf) for leaf in leaves):  # eager: no dispatches
        return jnp.asarray(all(bool(np.all(_finite_np(leaf))) for leaf in leaves))
    ok = jnp.asarray(True)
    for leaf in leaves:
        ok = ok & jnp.all(_finite_leaf(leaf))
    return ok


def update_first_bad_step(first_bad: Any, step: Any, tree: PyTree) -> Array:
    """Record ``step`` as the first bad step if none is recorded and ``tree`` is bad.

    The building block of the policy inside a :func:`jax.lax.scan` body: keep
    an int32 carry ``first_bad`` that starts at ``-1`` and update it with the
    state reached at ``step``. The first non-finite step is kept; later ones
    do not overwrite it. Jittable and vmappable.

    Parameters
    ----------
    first_bad : int or jax.Array of int
        The carry: ``-1`` while every state so far is finite, else the first
        step whose state was not.
    step : int or jax.Array of int
        The step index of ``tree`` (by the convention of this module, the
        number of steps taken to reach it).
    tree : pytree of array_like
        The state (or observation) reached at ``step``.

    Returns
    -------
    jax.Array of int32, shape ()
        ``step`` if ``first_bad < 0`` and ``tree`` holds a non-finite entry,
        else ``first_bad``.

    Raises
    ------
    TypeError
        If a leaf of ``tree`` is not numeric.

    See Also
    --------
    all_finite : The finiteness test.
    handle_divergence : What the eager caller does with the carry.

    Examples
    --------
    A scan whose state overflows at step 9 (``10.0**(2**9)`` is beyond float64):

    >>> from mltheory.numerics import update_first_bad_step
    >>> def body(carry, n):
    ...     y, bad = carry
    ...     y = y * y
    ...     return (y, update_first_bad_step(bad, n + 1, y)), None
    >>> (y, bad), _ = jax.lax.scan(body, (jnp.asarray(10.0), jnp.asarray(-1)),
    ...                            jnp.arange(12))
    >>> int(bad)
    9
    """
    first_bad = jnp.asarray(first_bad, jnp.int32)
    bad_now = jnp.logical_not(all_finite(tree))
    return jnp.where(
        (first_bad < 0) & bad_now, jnp.asarray(step, jnp.int32), first_bad
    ).astype(jnp.int32)


def first_nonfinite_index(tree: PyTree) -> Array:
    """Return the first index along the leading axis where ``tree`` is non-finite.

    For recorded arrays (leading axis = record or step index): the first
    index ``i`` such that some leaf has a NaN or inf in ``leaf[i]``; ``-1``
    when every entry is finite. Leaves may have different leading lengths
    (the smallest bad index wins). A rank-0 leaf has no leading axis: if it
    is non-finite it applies to every index, so the answer is 0. Integer
    leaves are always finite. Jittable and vmappable.

    Parameters
    ----------
    tree : pytree of array_like
        Arrays whose leading axis is the index to search.

    Returns
    -------
    jax.Array of int32, shape ()
        The first bad index, or ``-1``.

    Raises
    ------
    TypeError
        If a leaf of ``tree`` is not numeric.

    See Also
    --------
    update_first_bad_step : The same answer computed step by step in a scan.
    handle_divergence : Turns the index into the user's policy.

    Examples
    --------
    >>> from mltheory.numerics import first_nonfinite_index
    >>> losses = jnp.asarray([1.0, 0.5, jnp.nan, jnp.nan])
    >>> int(first_nonfinite_index({"loss": losses, "w": jnp.ones((4, 2))}))
    2
    >>> int(first_nonfinite_index(jnp.ones((3, 5))))
    -1
    """
    leaves = _numeric_leaves(tree)
    if not any(is_traced(leaf) for leaf in leaves):  # eager: no dispatches
        found = _BIG
        for leaf in leaves:
            ok = _finite_np(leaf)
            if ok.ndim == 0:
                found = found if ok else 0
            elif ok.shape[0] > 0:
                bad_rows = ~ok.reshape(ok.shape[0], -1).all(axis=1)
                if bad_rows.any():
                    found = min(found, int(np.argmax(bad_rows)))
        return jnp.asarray(_NONE if found == _BIG else found, jnp.int32)
    best = jnp.asarray(_BIG, jnp.int32)
    for leaf in leaves:
        finite = _finite_leaf(leaf)
        if finite.ndim == 0:
            idx = jnp.where(finite, _BIG, 0).astype(jnp.int32)
        elif finite.shape[0] == 0:
            continue
        else:
            bad = jnp.logical_not(finite.reshape(finite.shape[0], -1).all(axis=1))
            idx = jnp.where(bad.any(), jnp.argmax(bad), _BIG).astype(jnp.int32)
        best = jnp.minimum(best, idx)
    return jnp.where(best == _BIG, _NONE, best).astype(jnp.int32)


# --------------------------------------------------------------------------- #
# The eager half
# --------------------------------------------------------------------------- #


def _is_first_bad_path(path: tuple[Any, ...]) -> bool:
    return bool(path) and getattr(path[0], "name", None) == "first_bad_step"


def _default_truncate(result: Any, n_keep: int, axis: int, n_records: int) -> Any:
    """Cut every leaf whose ``axis`` has length ``n_records`` to ``n_keep``."""

    def cut(path: tuple[Any, ...], leaf: Any) -> Any:
        if _is_first_bad_path(path):
            return leaf
        shape = jnp.shape(leaf)
        if len(shape) > axis and shape[axis] == n_records:
            index = (slice(None),) * axis + (slice(0, n_keep),)
            return leaf[index]
        return leaf

    return jax.tree_util.tree_map_with_path(cut, result)


def _record_leaves(result: Any, n_records: int | None, axis: int) -> list[Any] | None:
    """The recorded arrays of ``result`` (record axis at ``axis``), or None."""
    hook = getattr(result, "_record_leaves", None)
    if hook is not None:
        return [leaf for leaf in jax.tree_util.tree_leaves(hook()) if leaf is not None]
    try:
        length = _n_records(result, n_records, axis)
    except TypeError:
        return None
    out = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(result)[0]:
        shape = jnp.shape(leaf)
        if not _is_first_bad_path(path) and len(shape) > axis and shape[axis] == length:
            out.append(leaf)
    return out


@functools.partial(jax.jit, static_argnames=("batch_ndim",))
def _first_bad_record_jit(leaves: tuple[Array, ...], batch_ndim: int) -> Array:
    """Per member, the first record index with NaN/inf (a big value if none)."""
    best: Array | None = None
    for leaf in leaves:
        ok = jnp.isfinite(leaf).reshape(*leaf.shape[: batch_ndim + 1], -1).all(axis=-1)
        bad = jnp.logical_not(ok)
        idx = jnp.where(bad.any(axis=-1), jnp.argmax(bad, axis=-1), _BIG)
        best = idx if best is None else jnp.minimum(best, idx)
    assert best is not None
    return best


def _first_bad_record(
    result: Any, batch_shape: tuple[int, ...], n_records: int | None
) -> np.ndarray | None:
    """Per member, the first record index holding a non-finite value (-1: none).

    Reduced on the device (one small jitted reduction per result layout), so
    only an integer per member comes back to the host.
    """
    axis = len(batch_shape)
    leaves = _record_leaves(result, n_records, axis)
    if leaves is None:
        return None
    usable = []
    for leaf in leaves:
        if is_traced(leaf):
            return None
        dtype = getattr(leaf, "dtype", None)
        shape = jnp.shape(leaf)
        if (
            dtype is None
            or not jnp.issubdtype(dtype, jnp.inexact)
            or len(shape) <= axis
            or tuple(shape[:axis]) != batch_shape
            or shape[axis] == 0
        ):
            continue
        usable.append(jnp.asarray(leaf))
    if not usable:
        return np.full(batch_shape, -1, np.int64)
    best = np.asarray(_first_bad_record_jit(tuple(usable), batch_ndim=axis))
    return np.where(best == _BIG, -1, best).astype(np.int64)


def _n_records(result: Any, n_records: int | None, axis: int) -> int:
    if n_records is not None:
        return int(n_records)
    ts = getattr(result, "ts", None)
    if ts is None or jnp.ndim(ts) <= axis:
        raise TypeError(
            f"handle_divergence cannot find the record axis of a "
            f"{type(result).__name__}: give it a ts field (record times), a "
            "_truncate_records(n_keep) method, or pass n_records."
        )
    return int(jnp.shape(ts)[axis])


def handle_divergence(
    result: R,
    *,
    on_divergence: OnDivergence,
    what: str,
    cause: str,
    record_every: int = 1,
    dt: float | None = None,
    t0: float = 0.0,
    n_steps: int | None = None,
    n_records: int | None = None,
    step_name: str = "step",
    member_label: Callable[[tuple[int, ...]], str] | None = None,
    stacklevel: int = 2,
) -> R:
    r"""Apply the divergence policy ``on_divergence`` to a computed result.

    The eager half of the library's one divergence policy: every fixed-step
    integrator, simulator and trainer runs its loop under :func:`jax.jit`
    while tracking ``first_bad_step`` (see :func:`update_first_bad_step`),
    then passes its result through this function before returning it.

    Parameters
    ----------
    result : pytree dataclass
        A result with a ``first_bad_step`` field: an int (or 0-d integer
        array), ``-1`` when every state was finite; or an integer array of
        shape ``batch_shape`` when the result is batched over seeds or
        parameters (then every record leaf has leading axes ``batch_shape``
        followed by the record axis).
    on_divergence : {"raise", "warn", "flag"}
        The user's choice. ``"raise"``: raise
        :class:`~mltheory.exceptions.DivergenceError` if the run diverged.
        ``"warn"``: warn :class:`~mltheory.exceptions.DivergenceWarning` and
        return the result truncated to the records before the first bad step
        (for a batched result, before the earliest bad step of any member, so
        that the members stay stacked). ``"flag"``: return ``result``
        unchanged.
    what : str
        The computation, as the user called it (``"solve_ode"``,
        ``"simulate_sgd"``), for the message.
    cause : str
        The likely cause, in words the user can act on (``"the step dt = 0.5
        is beyond the stability region of method 'euler', or the solution
        blows up in finite time"``).
    record_every : int, default=1
        Steps between records; records are taken at steps ``0, r, 2r, ...``.
    dt : float, optional
        Time per step; when given the message also names the time
        ``t0 + first_bad_step * dt``.
    t0 : float, default=0.0
        Time of step 0.
    n_steps : int, optional
        Total number of steps, for the message (``"at step 37 of 100"``).
    n_records : int, optional
        Length of the record axis for the default truncation; by default the
        length of ``result.ts`` along that axis.
    step_name : str, default="step"
        What one step is called in the message (``"step"``, ``"SGD step"``,
        ``"iteration"``).
    member_label : callable, optional
        For a batched result, ``member_label(index) -> str`` describes the
        member at ``index`` (a tuple over the batch axes) in the user's terms
        (``"strength 0.3, a0 1e9"``); default: the index.
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`; 2 points at the caller of this
        function, so public wrappers pass 3.

    Returns
    -------
    result
        ``result`` itself (no divergence, or a traced ``first_bad_step``);
        with ``"flag"``, ``result`` with ``first_bad_step`` lowered to the
        first non-finite record if that comes first; for ``"warn"`` a copy
        truncated to its finite records. ``first_bad_step`` is kept, so
        ``result.diverged`` still says that the run diverged.

    Raises
    ------
    ValueError
        If ``on_divergence`` is not one of the three options.
    mltheory.exceptions.DivergenceError
        With ``on_divergence="raise"`` when ``first_bad_step >= 0`` (any
        member of a batch): the message names the first bad step, its time
        when ``dt`` is given, the batch member, the likely cause and the two
        other options.

    Warns
    -----
    mltheory.exceptions.DivergenceWarning
        With ``on_divergence="warn"`` when the run diverged.

    See Also
    --------
    update_first_bad_step : The carry update in the compiled loop.
    first_nonfinite_index : The same index found in recorded arrays.

    Notes
    -----
    **Where the time axis is.** If the result class defines a method
    ``_truncate_records(n_keep)`` (``n_keep`` an int, the number of leading
    records to keep), it is used; results with records of different
    cadences use this hook. Otherwise every leaf other than
    ``first_bad_step`` whose axis ``first_bad_step.ndim`` (0 for a single
    run, 1 for a batch over seeds, ...) has the record-axis length
    ``n_records`` (default: ``result.ts``'s length on that axis) is cut to
    its first ``n_keep`` entries; other leaves (parameters, final states,
    summaries) are left alone.

    **Recorded values count.** A recorded value can become non-finite while
    the state is still finite (the loss of a huge state overflows), so the
    first record holding NaN/inf also counts, as the step of that record
    (record ``k`` is step ``k * record_every``): ``first_bad_step`` of the
    returned result is the earlier of the two, whatever the option. The
    recorded arrays are those of the optional hook ``_record_leaves()`` (a
    pytree), or else the leaves on the record axis, as for truncation.

    **From steps to records and times.** With first bad step :math:`n`,
    record cadence :math:`r` and step :math:`\Delta t`, the finite records
    are those at steps :math:`0, r, \dots < n`, so
    :math:`n_{\text{keep}} = \lceil n / r \rceil`, and the time named is
    :math:`t_0 + n \Delta t`. A simulator whose records are not at steps
    :math:`kr` passes the hook instead.

    **Under transformations.** A traced ``first_bad_step`` (inside
    :func:`jax.jit`, :func:`jax.vmap`, :func:`jax.grad`) cannot be inspected,
    so the result is returned unchanged whatever the option: callers that
    transform a solver read ``result.diverged`` afterwards, and may call this
    function on the concrete result themselves.

    Examples
    --------
    A result type that can diverge, and what each option does:

    >>> import warnings
    >>> from mltheory.numerics import handle_divergence, Trajectory
    >>> traj = Trajectory(ts=jnp.linspace(0.0, 1.0, 5),
    ...                   ys=jnp.asarray([1.0, 2.0, 4.0, jnp.inf, jnp.nan]),
    ...                   first_bad_step=6)  # records every 2 steps, dt = 0.125
    >>> bool(traj.diverged)
    True
    >>> try:
    ...     handle_divergence(traj, on_divergence="raise", what="my_solver",
    ...                       cause="the step is too large", record_every=2,
    ...                       dt=0.125)
    ... except ArithmeticError as err:
    ...     print(str(err).split("non-finite (NaN or inf) ")[1][:45])
    at step 6 (t = 0.75). Likely cause: the step
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     cut = handle_divergence(traj, on_divergence="warn", what="my_solver",
    ...                             cause="the step is too large", record_every=2)
    >>> print(np.asarray(cut.ys))
    [1. 2. 4.]
    >>> handle_divergence(traj, on_divergence="flag", what="my_solver",
    ...                   cause="").ys.shape
    (5,)

    Under :func:`jax.jit` nothing can be raised; the field carries the news:

    >>> @jax.jit
    ... def run(y0):
    ...     out = Trajectory(ts=jnp.zeros(2), ys=jnp.stack([y0, y0 / 0.0]),
    ...                      first_bad_step=jnp.asarray(1))
    ...     return handle_divergence(out, on_divergence="raise", what="run",
    ...                              cause="division by zero")
    >>> bool(run(jnp.asarray(1.0)).diverged)
    True
    """
    policy = check_on_divergence(on_divergence)
    first_bad = getattr(result, "first_bad_step", None)
    if first_bad is None:
        raise TypeError(
            f"handle_divergence needs a result with a first_bad_step field; got "
            f"a {type(result).__name__}."
        )
    if is_traced(first_bad):
        return result
    r = check_scalar(record_every, name="record_every", kind=int, lower=1)
    fb = np.asarray(first_bad).astype(np.int64)
    # A recorded value can overflow while the state is still finite (a loss
    # of a huge state): the first non-finite record counts as well.
    rec = _first_bad_record(result, fb.shape, n_records)
    if rec is not None:
        from_records = np.where(rec >= 0, rec * r, -1)
        both = np.where(fb < 0, from_records, fb)
        both = np.where(
            (fb >= 0) & (from_records >= 0), np.minimum(fb, from_records), both
        )
        if not np.array_equal(both, fb):
            fb = both
            result = dataclasses.replace(  # type: ignore[type-var]
                result, first_bad_step=jnp.asarray(fb, jnp.int32)
            )
    if policy == "flag" or fb.size == 0 or not (fb >= 0).any():
        return result

    bad = np.where(fb >= 0, fb, np.iinfo(np.int64).max)
    flat = int(np.argmin(bad))
    step = int(bad.reshape(-1)[flat])
    when = ""
    if dt is not None:
        when = f" (t = {t0 + step * float(dt):.6g})"
    of = f" of {n_steps}" if n_steps is not None else ""
    member = ""
    if fb.ndim > 0:
        index = tuple(int(i) for i in np.unravel_index(flat, fb.shape))
        label: Any = index[0] if len(index) == 1 else index
        if member_label is not None:
            label = f"{label} ({member_label(index)})"
        n_bad = int((fb >= 0).sum())
        member = f" in batch member {label} ({n_bad} of {fb.size} members diverged)"
    where = f"at {step_name} {step}{of}{when}{member}"

    if policy == "raise":
        raise DivergenceError(
            f"{what} diverged: a state or recorded value first became non-finite "
            f"(NaN or inf) {where}. Likely cause: {cause}. Pass "
            "on_divergence='warn' to get the finite records with a "
            "DivergenceWarning, or on_divergence="
            "'flag' to get the result as is (see result.first_bad_step and "
            "result.diverged)."
        )

    n_keep = math.ceil(step / r)
    hook: Callable[[int], Any] | None = getattr(result, "_truncate_records", None)
    if hook is not None:
        cut = hook(n_keep)
    else:
        axis = fb.ndim
        cut = _default_truncate(
            result, n_keep, axis, _n_records(result, n_records, axis)
        )
    warnings.warn(
        f"{what} diverged: a state or recorded value first became non-finite "
        f"(NaN or inf) {where}; returning the {n_keep} finite record"
        f"{'' if n_keep == 1 else 's'} before it. Likely cause: {cause}.",
        DivergenceWarning,
        stacklevel=stacklevel,
    )
    return cut

r"""Gumbel noise, Gumbel top-k selection with per-row counts, and key helpers.

The Gumbel-max trick turns sampling into an argmax: if
:math:`g_i \sim \mathrm{Gumbel}(0, 1)` i.i.d., then
:math:`\arg\max_i (\ell_i + g_i)` is distributed as
:math:`\mathrm{softmax}(\ell)`, and the :math:`k` largest of
:math:`\ell_i + g_i`, in decreasing order, are distributed as :math:`k`
sequential draws without replacement with probabilities proportional to
:math:`e^{\ell_i}` (the Plackett-Luce law). Masked-diffusion samplers use it to
choose which positions to reveal.

Conventions: randomness comes only from an explicit ``key``
(:func:`jax.random.key`, or a raw ``uint32[2]`` key), always the first
argument. In batched selections, row ``b`` (``b = 0`` for a single row) is
perturbed by noise drawn from ``jax.random.fold_in(key, b)``, so a row's
result depends only on the key, its row index and its own inputs — not on the
batch size or the other rows.
"""

from __future__ import annotations

import numbers
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._typing import Array, ArrayLike, DTypeLike, KeyArray
from mltheory._src._validation import (
    as_array,
    check_float_dtype,
    check_key,
    check_scalar,
    describe,
    is_traced,
)

__all__ = [
    "as_key",
    "gumbel_noise",
    "gumbel_topk",
    "gumbel_topk_indices",
    "split_keys",
]

_MAX_SEED = 2**63 - 1


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _is_integer(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool | np.bool_)


def _check_shape_arg(shape: Any) -> tuple[int, ...]:
    dims = (shape,) if _is_integer(shape) else shape
    if not isinstance(dims, tuple | list) or not all(_is_integer(s) for s in dims):
        raise TypeError(
            "shape must be an int or a tuple of ints (the output shape); got "
            f"{describe(shape)}."
        )
    if any(int(s) < 0 for s in dims):
        raise ValueError(f"shape must have non-negative entries; got {tuple(dims)}.")
    return tuple(int(s) for s in dims)


def _check_scores(x: Any, *, name: str, ndim: Any, shape_hint: str) -> Array:
    """Finite scores, except that -inf (a zero weight) is allowed."""
    arr = as_array(x, name=name, shape_hint=shape_hint, allow_nonfinite=True, **ndim)
    if not is_traced(arr):
        values = np.asarray(arr)
        n_nan = int(np.isnan(values).sum())
        n_posinf = int(np.isposinf(values).sum())
        if n_nan or n_posinf:
            raise ValueError(
                f"{name} must not contain NaN or +inf (-inf is allowed and means a "
                f"position of weight zero); got {n_nan} NaN and {n_posinf} +inf "
                f"entries in an array of shape {tuple(values.shape)}."
            )
    return arr


def _check_count(k: int, *, n_positions: int) -> None:
    if k < 0:
        raise ValueError(f"k must be >= 0; got {k}.")
    if k > n_positions:
        raise ValueError(
            f"k must be <= {n_positions} (the number of positions per row); got {k}."
        )


def _check_k_rows(k: Any, *, n_rows: int, n_positions: int, batched: bool) -> Array:
    """Per-row counts as an int32 array of shape (n_rows,)."""
    shapes = "an int or an integer array of shape () or " + (
        f"({n_rows},) (one count per row)" if batched else "() (scores is 1-D)"
    )
    if _is_integer(k):
        _check_count(int(k), n_positions=n_positions)
        arr = jnp.asarray(int(k), dtype=jnp.int32)
    else:
        if isinstance(k, bool | np.bool_ | str | bytes) or k is None:
            raise TypeError(f"k must be {shapes}; got {describe(k)}.")
        try:
            arr = jnp.asarray(k)
        except (TypeError, ValueError) as err:
            raise TypeError(f"k must be {shapes}; got {describe(k)}.") from err
        if not jnp.issubdtype(arr.dtype, jnp.integer):
            raise TypeError(f"k must be {shapes}; got {describe(k)}.")
    allowed = ((), (n_rows,)) if batched else ((),)
    if tuple(arr.shape) not in allowed:
        raise ValueError(f"k must be {shapes}; got shape {tuple(arr.shape)}.")
    if not is_traced(arr) and arr.size:
        values = np.asarray(arr)
        _check_count(int(values.min()), n_positions=n_positions)
        _check_count(int(values.max()), n_positions=n_positions)
    return jnp.broadcast_to(arr.astype(jnp.int32), (n_rows,))


def _check_eligible(eligible: Any, *, shape: tuple[int, ...]) -> Array:
    if eligible is None:
        return jnp.ones(shape, dtype=bool)
    try:
        arr = jnp.asarray(eligible)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"eligible must be a boolean array; got {describe(eligible)}."
        ) from err
    if arr.dtype != jnp.bool_:
        raise TypeError(f"eligible must be a boolean array; got dtype {arr.dtype}.")
    if tuple(arr.shape) != shape:
        raise ValueError(
            f"eligible must have the shape of scores {shape}; got shape "
            f"{tuple(arr.shape)}."
        )
    return arr


# --------------------------------------------------------------------------
# Jitted cores
# --------------------------------------------------------------------------


def _gumbel(key: KeyArray, shape: tuple[int, ...], dtype: Any) -> Array:
    # U in [tiny, 1): -log U > 0 and -log(-log U) is finite at both ends.
    u = jax.random.uniform(
        key, shape, dtype=dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0
    )
    return -jnp.log(-jnp.log(u))


@partial(jax.jit, static_argnames=("shape", "dtype"))
def _gumbel_core(key: KeyArray, shape: tuple[int, ...], dtype: Any) -> Array:
    return _gumbel(key, shape, dtype)


def _row_gumbel(key: KeyArray, n_rows: int, n_positions: int, dtype: Any) -> Array:
    """Noise of shape (n_rows, n_positions); row b from fold_in(key, b)."""
    rows = jnp.arange(n_rows, dtype=jnp.uint32)
    return jax.vmap(
        lambda b: _gumbel(jax.random.fold_in(key, b), (n_positions,), dtype)
    )(rows)


@partial(jax.jit, static_argnames=("max_k", "noise_dtype"))
def _gumbel_topk_core(
    key: KeyArray,
    scores: Array,
    k: Array,
    eligible: Array,
    noise_scale: Array,
    max_k: int | None,
    noise_dtype: Any,
) -> Array:
    n_rows, n_positions = scores.shape
    noise = _row_gumbel(key, n_rows, n_positions, noise_dtype)
    work = jnp.promote_types(scores.dtype, noise_dtype)
    perturbed = scores.astype(work) + noise_scale.astype(work) * noise.astype(work)
    valid = eligible & (scores > -jnp.inf)
    values = jnp.where(valid, perturbed, -jnp.inf)
    # invalid entries are -inf and valid ones finite, so the first n_valid
    # places of the order below are exactly the valid positions
    count = jnp.minimum(k, jnp.sum(valid, axis=1, dtype=jnp.int32))
    positions = jnp.arange(n_positions, dtype=jnp.int32)

    if max_k is None:

        def select_row(v: Array, c: Array) -> Array:
            # stable descending sort = order by (value desc, index asc); the
            # rank in that order, compared with the row's count, is the
            # per-row threshold with an exact index tie-break
            order = jnp.argsort(v, descending=True, stable=True)
            rank = jnp.zeros_like(positions).at[order].set(positions)
            return rank < c

    else:
        slots = jnp.arange(max_k, dtype=jnp.int32)

        def select_row(v: Array, c: Array) -> Array:
            # lax.top_k also puts the lower index first among equal values
            _, top = lax.top_k(v, max_k)
            return jnp.zeros(n_positions, dtype=bool).at[top].set(slots < c)

    return jax.vmap(select_row)(values, count) & valid


@partial(jax.jit, static_argnames=("k", "noise_dtype"))
def _gumbel_topk_indices_core(
    key: KeyArray, logits: Array, k: int, noise_dtype: Any
) -> Array:
    n_positions = logits.shape[-1]
    rows = jnp.reshape(logits, (-1, n_positions))
    noise = _row_gumbel(key, rows.shape[0], n_positions, noise_dtype)
    work = jnp.promote_types(logits.dtype, noise_dtype)
    _, top = lax.top_k(rows.astype(work) + noise.astype(work), k)
    return jnp.reshape(top, (*logits.shape[:-1], k))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def as_key(seed_or_key: int | ArrayLike) -> KeyArray:
    """Turn an int seed, a typed key or a raw ``uint32[2]`` key into a typed key.

    For public functions that accept either a seed or a key and then work
    with typed keys only.

    Parameters
    ----------
    seed_or_key : int or jax.Array
        A non-negative integer seed (a Python or NumPy integer, or a 0-d
        integer array), a typed key from :func:`jax.random.key`, or a raw
        ``uint32[2]`` key from :func:`jax.random.PRNGKey`.

    Returns
    -------
    jax.Array
        A scalar typed PRNG key. A typed key is returned unchanged; a raw key
        is wrapped (same bits); a seed gives ``jax.random.key(seed)``.

    Raises
    ------
    TypeError
        If ``seed_or_key`` is none of the above (a float, a string, a uint32
        array of another shape, a boolean, ...).
    ValueError
        If the seed is negative or does not fit in 63 bits, or a typed key is
        a batch of keys rather than one key.

    See Also
    --------
    split_keys : Many independent keys from one.

    Examples
    --------
    >>> from mltheory import numerics
    >>> key = numerics.as_key(0)
    >>> same = jax.random.key_data(key) == jax.random.key_data(jax.random.key(0))
    >>> bool(jnp.all(same))
    True
    >>> numerics.as_key(jax.random.PRNGKey(1)).shape
    ()
    """
    x: Any = seed_or_key
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return check_key(x, name="seed_or_key")
    if isinstance(x, jax.Array | np.ndarray) and x.dtype == np.uint32 and x.ndim == 1:
        return jax.random.wrap_key_data(check_key(x, name="seed_or_key"))
    is_array = isinstance(x, jax.Array | np.ndarray)
    if is_array and x.ndim == 0 and jnp.issubdtype(x.dtype, jnp.integer):
        if is_traced(x):
            return jax.random.key(x)
        x = x.item()
    if _is_integer(x):
        seed = check_scalar(x, name="seed_or_key", kind=int, lower=0, upper=_MAX_SEED)
        return jax.random.key(seed)
    raise TypeError(
        "seed_or_key must be a non-negative int seed, a typed key "
        "(jax.random.key) or a raw uint32[2] key (jax.random.PRNGKey); got "
        f"{describe(seed_or_key)}."
    )


def split_keys(key: KeyArray, num: int | tuple[int, ...]) -> KeyArray:
    """Split one key into an array of independent typed keys.

    A thin, validated wrapper of :func:`jax.random.split` that always returns
    typed keys, for example one key per replicate of a Monte Carlo batch.

    Parameters
    ----------
    key : jax.Array
        A typed key (:func:`jax.random.key`) or a raw ``uint32[2]`` key.
    num : int or tuple of int
        The shape of the key array to return; every entry must be >= 1.

    Returns
    -------
    jax.Array of shape num
        Typed keys, ``jax.random.split(key, num)`` (a raw key is wrapped first).

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key or ``num`` is not an int or a tuple of
        ints.
    ValueError
        If an entry of ``num`` is < 1, or ``key`` is a batch of keys.

    See Also
    --------
    as_key : Make a typed key from a seed.

    Examples
    --------
    >>> from mltheory import numerics
    >>> keys = numerics.split_keys(jax.random.key(0), (2, 3))
    >>> keys.shape
    (2, 3)
    """
    key = check_key(key)
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(key)
    shape: Any = (num,) if _is_integer(num) else num
    if not isinstance(shape, tuple | list) or not all(_is_integer(s) for s in shape):
        raise TypeError(f"num must be an int or a tuple of ints; got {describe(num)}.")
    if len(shape) == 0 or any(int(s) < 1 for s in shape):
        raise ValueError(
            f"num must be >= 1 (every entry of a shape); got {tuple(shape)}."
        )
    return jax.random.split(key, tuple(int(s) for s in shape))


def gumbel_noise(
    key: KeyArray, shape: int | tuple[int, ...], *, dtype: DTypeLike | None = None
) -> Array:
    r"""Draw standard Gumbel(0, 1) noise.

    The noise of the Gumbel-max trick: :math:`\arg\max_i (\ell_i + G_i)` is
    a draw from :math:`\mathrm{softmax}(\ell)`.

    Parameters
    ----------
    key : jax.Array
        A typed key (:func:`jax.random.key`) or a raw ``uint32[2]`` key.
    shape : int or tuple of int
        Shape of the output.
    dtype : dtype, default=None
        A floating dtype; ``None`` means JAX's default float (float64 when
        x64 is enabled, float32 otherwise).

    Returns
    -------
    jax.Array of shape ``shape``
        Independent draws :math:`G = -\log(-\log U)`, all finite.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, ``shape`` is not an int or a tuple of
        ints, or ``dtype`` is not a floating dtype.
    ValueError
        If ``shape`` has a negative entry.

    See Also
    --------
    gumbel_topk : Gumbel top-k selection.

    Notes
    -----
    :math:`U` is uniform on :math:`[\mathrm{tiny}, 1)` with :math:`\mathrm{tiny}`
    the smallest normal number of ``dtype``, so that :math:`-\log(-\log U)`
    is finite at both ends. The law has CDF :math:`\exp(-e^{-g})`, mean
    :math:`\gamma \approx 0.5772` (Euler-Mascheroni) and variance
    :math:`\pi^2/6`.

    The upper tail is truncated by the resolution of :math:`U` near 1: in
    float32, :math:`U \le 1 - 2^{-23}`, so :math:`G \le 15.94` and the event
    :math:`G > 15.94` (probability about :math:`1.2 \cdot 10^{-7}` per draw)
    never happens; over a large vocabulary or many steps this biases
    Gumbel-max sampling against rare outcomes [1]_. float64 noise
    (:math:`G \le 36.04`) removes the effect in practice; pass
    ``dtype=jnp.float64`` (x64 enabled) where it matters.

    References
    ----------
    .. [1] K. Zheng, Y. Chen, H. Mao, M.-Y. Liu, J. Zhu and Q. Zhang, "Masked
       diffusion models are secretly time-agnostic masked models and exploit
       inaccurate categorical sampling", arXiv:2409.02908, 2024.

    Examples
    --------
    >>> from mltheory import numerics
    >>> g = numerics.gumbel_noise(jax.random.key(0), (2, 3), dtype=jnp.float32)
    >>> g.shape, g.dtype
    ((2, 3), dtype('float32'))
    """
    key = check_key(key)
    dims = _check_shape_arg(shape)
    dt = check_float_dtype(dtype, name="dtype")
    return _gumbel_core(key, dims, dt)


def gumbel_topk(
    key: KeyArray,
    scores: ArrayLike,
    k: int | ArrayLike,
    *,
    eligible: ArrayLike | None = None,
    noise_scale: float | ArrayLike = 1.0,
    max_k: int | None = None,
    noise_dtype: DTypeLike | None = None,
) -> Array:
    r"""Select, per row, the ``k`` eligible positions with the largest noisy scores.

    Row by row, the positions with the largest
    ``scores + noise_scale * Gumbel`` among the eligible ones are selected,
    exactly :math:`\min(k, n_{\mathrm{eligible}})` of them. The count may
    differ between rows and may be a traced array: a new ``k`` does not
    recompile.

    Parameters
    ----------
    key : jax.Array
        A typed key (:func:`jax.random.key`) or a raw ``uint32[2]`` key.
    scores : array_like of shape (n_positions,) or (n_rows, n_positions)
        Scores (log-weights). ``-inf`` marks a position that is never
        selected; NaN and ``+inf`` are rejected.
    k : int or array_like of int of shape (n_rows,)
        How many positions to select in each row, ``0 <= k <= n_positions``.
    eligible : array_like of bool, default=None
        Same shape as ``scores``; ``False`` positions are never selected.
        ``None`` means all positions are eligible.
    noise_scale : float, default=1.0
        Scale :math:`\alpha \ge 0` of the Gumbel noise; ``0`` gives the
        deterministic top-k by score (ties go to the lower index).
    max_k : int, default=None
        A static upper bound on ``k``. If given, the selection uses
        :func:`jax.lax.top_k` with ``max_k`` (cheaper when ``max_k`` is much
        smaller than ``n_positions``); otherwise a full sort. The two give the
        same result.
    noise_dtype : dtype, default=None
        Floating dtype in which the Gumbel noise is drawn; ``None`` means the
        dtype of ``scores``. See :func:`gumbel_noise` for float32 tail
        truncation.

    Returns
    -------
    jax.Array of bool, shape of ``scores``
        The selection mask; row :math:`b` has exactly
        :math:`\min(k_b, n_b)` entries ``True``, where :math:`n_b` counts the
        eligible positions with a score above ``-inf``.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, ``k`` is not an integer or an integer
        array, ``eligible`` is not boolean, ``scores`` is not numeric, or
        ``noise_dtype`` is not a floating dtype.
    ValueError
        If ``scores`` is not 1-D or 2-D or holds NaN/``+inf``; ``k`` has the
        wrong shape or a value outside ``[0, n_positions]``; ``eligible`` has
        another shape than ``scores``; ``noise_scale < 0``; or ``max_k`` is
        outside ``[1, n_positions]`` or below a value of ``k``.

    See Also
    --------
    gumbel_topk_indices : The selected indices in order (fixed ``k``).
    gumbel_noise : The noise itself.

    Notes
    -----
    **Law.** With :math:`\alpha > 0`, the selected set of a row is the first
    :math:`\min(k, n)` draws of sequential sampling without replacement from
    the valid positions with probabilities proportional to
    :math:`w_i = e^{s_i / \alpha}`:

    .. math::

        P(i_\ell = i \mid i_1, \dots, i_{\ell-1})
        = \frac{w_i}{\sum_{j \notin \{i_1, \dots, i_{\ell-1}\}} w_j}.

    A score of ``-inf`` has weight zero, so such positions are treated like
    ineligible ones: never selected, and not counted in :math:`n`.

    **Algorithm** (MaskGIT's ``mask_by_random_topk`` with an exact tie
    break). The perturbed values of invalid positions are set to ``-inf``;
    each row is sorted by (value descending, index ascending), and a position
    is selected when its rank in that order is below the row's count
    :math:`\min(k, n)` — a per-row threshold at the :math:`k`-th value, with
    ties broken by index, so exactly the count is selected. With ``max_k``,
    :func:`jax.lax.top_k` (which also breaks ties by lower index) returns the
    first ``max_k`` positions of that order, and the first ``count`` of them
    are selected; both paths give identical masks. Under :func:`jax.jit`
    values of ``k`` above ``max_k`` cannot be checked and are clipped to
    ``max_k``.

    **Rows.** Row :math:`b` (:math:`b = 0` for 1-D ``scores``) uses the noise
    ``gumbel_noise(jax.random.fold_in(key, b), (n_positions,))``, so its
    selection depends only on the key, :math:`b` and its own inputs.

    Examples
    --------
    >>> from mltheory import numerics
    >>> scores = jnp.array([[0.0, 3.0, 1.0, 2.0], [5.0, 4.0, 3.0, 2.0]])
    >>> eligible = jnp.array([[True, True, True, True], [False, True, True, True]])
    >>> k = jnp.array([2, 1])
    >>> mask = numerics.gumbel_topk(
    ...     jax.random.key(0), scores, k, eligible=eligible, noise_scale=0.0
    ... )
    >>> print(mask.astype(int))
    [[0 1 0 1]
     [0 1 0 0]]
    """
    key = check_key(key)
    scores = _check_scores(
        scores,
        name="scores",
        ndim={"ndim": (1, 2)},
        shape_hint="(n_positions,) or (n_rows, n_positions)",
    )
    batched = scores.ndim == 2
    n_rows = scores.shape[0] if batched else 1
    n_positions = scores.shape[-1]
    k_rows = _check_k_rows(k, n_rows=n_rows, n_positions=n_positions, batched=batched)
    elig = _check_eligible(eligible, shape=tuple(scores.shape))
    alpha = check_scalar(noise_scale, name="noise_scale", lower=0.0)
    if max_k is not None:
        max_k = check_scalar(max_k, name="max_k", kind=int, lower=1, upper=n_positions)
        if not is_traced(k_rows):
            largest = int(np.asarray(k_rows).max())
            if largest > max_k:
                raise ValueError(
                    f"max_k must be >= every value of k; got max_k={max_k} and "
                    f"maximum k {largest}."
                )
    noise_dt = check_float_dtype(noise_dtype, name="noise_dtype", default=scores.dtype)
    mask = _gumbel_topk_core(
        key,
        jnp.reshape(scores, (n_rows, n_positions)),
        k_rows,
        jnp.reshape(elig, (n_rows, n_positions)),
        jnp.asarray(alpha, dtype=scores.dtype),
        max_k,
        noise_dt,
    )
    return jnp.reshape(mask, scores.shape)


def gumbel_topk_indices(
    key: KeyArray,
    logits: ArrayLike,
    k: int,
    *,
    noise_dtype: DTypeLike | None = None,
) -> Array:
    r"""Sample ``k`` indices without replacement, in order, by Gumbel top-k.

    Returns the indices of the ``k`` largest ``logits + Gumbel`` along the
    last axis, largest first: a draw of ``k`` sequential samples without
    replacement with probabilities proportional to ``exp(logits)``.

    Parameters
    ----------
    key : jax.Array
        A typed key (:func:`jax.random.key`) or a raw ``uint32[2]`` key.
    logits : array_like of shape (..., n_positions)
        Unnormalised log-probabilities along the last axis; ``-inf`` means
        probability zero. NaN and ``+inf`` are rejected.
    k : int
        Number of indices per row, ``0 <= k <= n_positions`` (static: each
        ``k`` compiles once).
    noise_dtype : dtype, default=None
        Floating dtype of the Gumbel noise; ``None`` means the dtype of
        ``logits``.

    Returns
    -------
    jax.Array of int32, shape (..., k)
        Indices in decreasing order of ``logits + Gumbel``.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, ``k`` is not an integer, ``logits`` is
        not numeric, or ``noise_dtype`` is not a floating dtype.
    ValueError
        If ``logits`` is 0-D or holds NaN/``+inf``, or ``k`` is outside
        ``[0, n_positions]``.

    See Also
    --------
    gumbel_topk : A selection mask with per-row, traced counts.

    Notes
    -----
    The output :math:`(i_1, \dots, i_k)` has the Plackett-Luce law of
    sequential sampling without replacement with weights
    :math:`w_i = e^{\ell_i}` [1]_:

    .. math::

        P(i_1, \dots, i_k) = \prod_{\ell=1}^{k}
        \frac{w_{i_\ell}}{\sum_{j \notin \{i_1, \dots, i_{\ell-1}\}} w_j}.

    If ``k`` exceeds the number of finite logits in a row, the remaining
    slots hold the ``-inf`` positions in increasing index order. Row
    :math:`b` of the flattened leading axes uses the noise of
    ``jax.random.fold_in(key, b)``, as in :func:`gumbel_topk`.

    References
    ----------
    .. [1] W. Kool, H. van Hoof and M. Welling, "Stochastic beams and where to
       find them: The Gumbel-top-k trick for sampling sequences without
       replacement", ICML 2019, arXiv:1903.06059.

    Examples
    --------
    >>> from mltheory import numerics
    >>> logits = jnp.log(jnp.array([0.1, 0.2, 0.3, 0.4]))
    >>> idx = numerics.gumbel_topk_indices(jax.random.key(0), logits, 2)
    >>> idx.shape, idx.dtype
    ((2,), dtype('int32'))
    """
    key = check_key(key)
    logits = _check_scores(
        logits,
        name="logits",
        ndim={"min_ndim": 1},
        shape_hint="(..., n_positions)",
    )
    n_positions = logits.shape[-1]
    if not _is_integer(k):
        raise TypeError(f"k must be an int (a static count); got {describe(k)}.")
    k = int(k)
    _check_count(k, n_positions=n_positions)
    noise_dt = check_float_dtype(noise_dtype, name="noise_dtype", default=logits.dtype)
    return _gumbel_topk_indices_core(key, logits, k, noise_dt)

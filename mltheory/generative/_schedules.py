r"""Mask schedules, per-step reveal counts and Gumbel-scale annealing.

A masked-diffusion sampler with ``num_steps`` steps starts from ``N_0``
masked positions and reveals ``k_t`` of them at step ``t``. How many stay
masked after step ``t`` follows a *mask schedule* :math:`\gamma(r)`, the
fraction of the initially masked positions still masked at progress
:math:`r = (t + 1) / T` (MaskGIT's ``mask_schedule.schedule``). MaskGIT's
Gumbel noise scale (its "choice temperature") is annealed along the same
progress variable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_in,
    check_scalar,
    describe,
    is_traced,
)

__all__ = [
    "gumbel_scale_schedule",
    "mask_schedule",
    "reveal_counts",
]

#: Names accepted by :func:`mask_schedule` (``"pow<a>"`` means any exponent).
SCHEDULE_NAMES = (
    "cosine",
    "linear",
    "uniform",
    "square",
    "cubic",
    "sqrt",
    "pow<a>",
    "log",
    "exp",
)

_POW = re.compile(r"^pow(\d+(\.\d*)?|\.\d+)$")

Schedule = str | Callable[[Array], Array]


def _check_schedule(schedule: Any) -> Schedule:
    if callable(schedule):
        return schedule
    if not isinstance(schedule, str):
        raise TypeError(
            "schedule must be a schedule name or a callable r -> gamma(r); got "
            f"{describe(schedule)}."
        )
    if _POW.match(schedule):
        return schedule
    fixed = [n for n in SCHEDULE_NAMES if n != "pow<a>"]
    if schedule not in fixed:
        check_in(schedule, name="schedule", options=list(SCHEDULE_NAMES))
    return schedule


def _gamma(schedule: Schedule, ratio: Array, total: Array) -> Array:
    """The unclipped mask ratio gamma(r) (MaskGIT's formulas)."""
    if callable(schedule):
        return jnp.asarray(schedule(ratio), dtype=ratio.dtype)
    if schedule == "cosine":
        return jnp.cos(math.pi / 2.0 * ratio)
    if schedule in ("linear", "uniform"):
        return 1.0 - ratio
    if schedule == "square":
        return 1.0 - ratio**2
    if schedule == "cubic":
        return 1.0 - ratio**3
    if schedule == "sqrt":
        return 1.0 - jnp.sqrt(ratio)
    if schedule == "log":
        # -log2(r)/log2(N0); N0 = 1 would divide by zero: gamma is irrelevant there
        return -jnp.log2(ratio) / jnp.log2(jnp.maximum(total, 2.0))
    if schedule == "exp":
        return 1.0 - jnp.exp2(-jnp.log2(jnp.maximum(total, 1.0)) * (1.0 - ratio))
    return 1.0 - ratio ** float(schedule[3:])  # "pow<a>"


def mask_schedule(
    ratio: ArrayLike, *, schedule: Schedule = "cosine", total: ArrayLike = 1.0
) -> Array:
    r"""Evaluate a mask schedule :math:`\gamma(r)`, clipped to :math:`[10^{-6}, 1]`.

    :math:`\gamma(r)` is the fraction of the initially masked positions that
    are still masked at progress :math:`r \in [0, 1]`.

    Parameters
    ----------
    ratio : array_like
        Progress values :math:`r`, usually :math:`(t + 1) / T`.
    schedule : str or callable, default="cosine"
        ``"cosine"`` :math:`\cos(\pi r / 2)`; ``"linear"`` (alias
        ``"uniform"``) :math:`1 - r`; ``"square"``, ``"cubic"``, ``"sqrt"``
        and ``"pow<a>"`` (e.g. ``"pow2.5"``) :math:`1 - r^a`; ``"log"``
        :math:`-\log_2 r / \log_2 N_0`; ``"exp"``
        :math:`1 - 2^{-\log_2(N_0)(1 - r)}`; or a callable ``r -> gamma(r)``
        on arrays.
    total : array_like, default=1.0
        :math:`N_0`, the number of initially masked positions (used by
        ``"log"`` and ``"exp"`` only).

    Returns
    -------
    jax.Array
        :math:`\gamma(r)` clipped to :math:`[10^{-6}, 1]`, shape of
        ``ratio`` (broadcast with ``total``).

    Raises
    ------
    ValueError
        If ``schedule`` is an unknown name (the valid ones are listed),
        ``ratio`` or ``total`` holds NaN/inf, or (eager calls; under
        :func:`jax.jit` values are not checked) ``ratio`` lies outside
        :math:`[0, 1]` or ``total <= 0``.
    TypeError
        If ``schedule`` is neither a string nor a callable, or ``ratio`` or
        ``total`` is not numeric.

    See Also
    --------
    reveal_counts : The per-step counts that follow from a schedule.

    Notes
    -----
    The formulas and the clipping are those of MaskGIT's
    ``mask_schedule.schedule`` [1]_.

    References
    ----------
    .. [1] H. Chang, H. Zhang, L. Jiang, C. Liu and W. T. Freeman, "MaskGIT:
       Masked generative image transformer", CVPR 2022, arXiv:2202.04200.

    Examples
    --------
    >>> from mltheory import generative
    >>> print(round(float(generative.mask_schedule(0.5)), 4))
    0.7071
    """
    schedule = _check_schedule(schedule)
    r = as_array(ratio, name="ratio", allow_empty=True)
    tot = as_array(total, name="total", dtype=r.dtype)
    if not is_traced(r) and r.size and (float(r.min()) < 0 or float(r.max()) > 1):
        raise ValueError(
            f"ratio must lie in [0, 1] (the progress of the sampler); got values "
            f"in [{float(r.min())}, {float(r.max())}]."
        )
    if not is_traced(tot) and tot.size and float(tot.min()) <= 0:
        raise ValueError(
            f"total must be > 0 (the number of masked positions); got "
            f"{float(tot.min())}."
        )
    return jnp.clip(_gamma(schedule, r, tot), 1e-6, 1.0)


def _counts_core(n0: Array, num_steps: int, schedule: Schedule, mode: str) -> Array:
    """Per-row reveal counts int32[B, T] from the initial masked counts n0[B]."""
    dtype = jnp.result_type(float)
    total = n0.astype(dtype)
    steps = jnp.arange(num_steps, dtype=jnp.int32)
    ratio = (steps + 1).astype(dtype) / num_steps
    gammas = jnp.clip(_gamma(schedule, ratio[:, None], total[None, :]), 1e-6, 1.0)

    def google(m: Array, inp: tuple[Array, Array]) -> tuple[Array, Array]:
        t, gamma = inp
        keep = jnp.floor(total * gamma).astype(jnp.int32)
        # MaskGIT: mask_len = max(1, min(unknown - 1, mask_len))
        keep = jnp.maximum(1, jnp.minimum(m - 1, keep))
        keep = jnp.where(t == num_steps - 1, 0, keep)  # the last step reveals all
        keep = jnp.minimum(keep, m)
        return keep, m - keep

    def exact(m: Array, inp: tuple[Array, Array]) -> tuple[Array, Array]:
        t, gamma = inp
        target = jnp.round(total * gamma).astype(jnp.int32)
        # reveal >= 1 while leaving >= 1 for each later step (a deficit is
        # carried forward: later targets are met once the schedule catches up)
        keep = jnp.clip(target, num_steps - 1 - t, m - 1)
        keep = jnp.where(t == num_steps - 1, 0, jnp.maximum(keep, 0))
        keep = jnp.minimum(keep, m)
        return keep, m - keep

    body = google if mode == "google" else exact
    _, k = lax.scan(body, n0.astype(jnp.int32), (steps, gammas))
    return k.T


_counts_jit = jax.jit(_counts_core, static_argnames=("num_steps", "schedule", "mode"))


def reveal_counts(
    num_masked: int | ArrayLike,
    num_steps: int,
    schedule: Schedule = "cosine",
    mode: Literal["google", "exact"] = "google",
) -> np.ndarray | Array:
    r"""How many masked positions each step reveals.

    Parameters
    ----------
    num_masked : int or array_like of int of shape (n_rows,)
        :math:`N_0`, the number of masked positions at the start (one per row
        for inpainting).
    num_steps : int
        Number of steps :math:`T \ge 1`.
    schedule : str or callable, default="cosine"
        A mask schedule (see :func:`mask_schedule`).
    mode : {"google", "exact"}, default="google"
        ``"google"`` reproduces MaskGIT's ``parallel_decode.decode``:
        ``keep_t = max(1, min(m_t - 1, floor(N_0 gamma(r_t))))`` with
        :math:`r_t = (t+1)/T`, and the last step reveals everything left.
        ``"exact"`` rounds instead of flooring,
        ``keep_t = round(N_0 gamma(r_t))``, clipped so that every step reveals
        at least one position while each later step still has one to reveal.

    Returns
    -------
    numpy.ndarray or jax.Array of int32
        Shape ``(num_steps,)`` for an int ``num_masked`` (a NumPy array), else
        ``(n_rows, num_steps)``; a :class:`jax.Array` when ``num_masked`` is
        traced. Each row sums to its :math:`N_0`.

    Raises
    ------
    TypeError
        If ``num_masked`` or ``num_steps`` is not an integer.
    ValueError
        If ``num_steps < 1``, ``num_masked < 0``, or ``schedule``/``mode`` is
        unknown.

    See Also
    --------
    mask_schedule : The schedule :math:`\gamma`.
    maskgit_sample : The sampler that uses these counts.

    Notes
    -----
    In ``"google"`` mode a step reveals nothing when a single masked
    position is left before the last step (MaskGIT keeps at least one
    masked); with ``num_steps <= N_0`` and the cosine schedule this does not
    happen. ``"exact"`` is our deviation from MaskGIT: it follows the schedule
    up to rounding and never wastes a step when ``num_steps <= N_0``.

    Examples
    --------
    >>> from mltheory import generative
    >>> print(generative.reveal_counts(16, 4))
    [2 3 5 6]
    >>> print(generative.reveal_counts(16, 4, mode="exact"))
    [1 4 5 6]
    """
    num_steps = check_scalar(num_steps, name="num_steps", kind=int, lower=1)
    schedule = _check_schedule(schedule)
    check_in(mode, name="mode", options=["google", "exact"])
    scalar = isinstance(num_masked, int | np.integer) and not isinstance(
        num_masked, bool
    )
    arr = jnp.asarray(num_masked)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(
            f"num_masked must be an integer or an integer array; got "
            f"{describe(num_masked)}."
        )
    if arr.ndim > 1:
        raise ValueError(
            f"num_masked must be 0-D or 1-D (one count per row); got shape {arr.shape}."
        )
    if not is_traced(arr) and arr.size and int(np.asarray(arr).min()) < 0:
        raise ValueError(f"num_masked must be >= 0; got {np.asarray(arr).min()}.")
    counts = _counts_jit(jnp.atleast_1d(arr), num_steps, schedule, mode)
    if is_traced(counts):
        return counts[0] if arr.ndim == 0 else counts
    out = np.asarray(counts)
    return out[0] if (scalar or arr.ndim == 0) else out


def gumbel_scale_schedule(
    tau0: float | ArrayLike,
    num_steps: int,
    anneal: Literal["linear", "constant"] | Callable[[int], float] = "linear",
) -> Array:
    r"""The Gumbel noise scale :math:`\alpha_t` of each step.

    Parameters
    ----------
    tau0 : float
        The initial scale :math:`\tau_0 \ge 0` (MaskGIT's
        ``choice_temperature``).
    num_steps : int
        Number of steps :math:`T \ge 1`.
    anneal : {"linear", "constant"} or callable, default="linear"
        ``"linear"``: :math:`\alpha_t = \tau_0 (1 - (t+1)/T)` (MaskGIT);
        ``"constant"``: :math:`\alpha_t = \tau_0`; a callable ``t -> alpha_t``
        is called with each Python int ``t`` (``tau0`` is then ignored).

    Returns
    -------
    jax.Array of shape (num_steps,)
        The scales :math:`\alpha_0, \dots, \alpha_{T-1}`.

    Raises
    ------
    ValueError
        If ``tau0 < 0`` or is NaN/inf, ``num_steps < 1``, ``anneal`` is an
        unknown name, or a callable returns a negative or non-finite value.
    TypeError
        If ``anneal`` is neither a name nor a callable.

    See Also
    --------
    mltheory.generative.theory.implicit_temperature : The token temperature
        that a scale implies.

    Examples
    --------
    >>> from mltheory import generative
    >>> print(generative.gumbel_scale_schedule(4.0, 4))
    [3. 2. 1. 0.]
    """
    num_steps = check_scalar(num_steps, name="num_steps", kind=int, lower=1)
    if callable(anneal):
        check_callable(anneal, name="anneal")
        values = [
            check_scalar(anneal(t), name=f"anneal({t})", lower=0.0)
            for t in range(num_steps)
        ]
        return jnp.asarray(values, dtype=jnp.result_type(float))
    if not isinstance(anneal, str):
        raise TypeError(
            "anneal must be 'linear', 'constant' or a callable; got "
            f"{describe(anneal)}."
        )
    check_in(anneal, name="anneal", options=["linear", "constant"])
    tau0 = check_scalar(tau0, name="tau0", lower=0.0)
    dtype = jnp.result_type(float)
    if anneal == "constant":
        return jnp.full((num_steps,), tau0, dtype=dtype)
    ratio = jnp.arange(1, num_steps + 1, dtype=dtype) / num_steps
    return jnp.asarray(tau0 * (1.0 - ratio))

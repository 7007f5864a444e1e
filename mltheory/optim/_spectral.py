r"""Spectral gradient descent (SpecGD, the update direction of Muon) for optax.

SpecGD replaces each gradient matrix :math:`G = U \operatorname{diag}(\sigma)
V^\top` by its polar factor :math:`U V^\top` (singular values discarded,
singular subspaces kept). The polar factor comes from
:func:`mltheory.numerics.polar_svd` (exact) or
:func:`mltheory.numerics.newton_schulz` (matmul-only); this module only routes
pytree leaves to them and wraps the result as optax transformations.

Axis convention (as optax and flax, opposite to PyTorch): a weight matrix of
shape ``(fan_in, fan_out)`` maps inputs ``x @ W``; rows are the reduction
axis, columns the output axis.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax.contrib import MuonDimensionNumbers

from mltheory import numerics
from mltheory._src._typing import Array, ArrayLike, DTypeLike, PyTree
from mltheory._src._validation import (
    as_array,
    check_finite_in_dtype,
    check_float_dtype,
    check_in,
    check_same_tree,
    check_scalar,
    describe,
    is_traced,
    renamed_arguments,
)

# The preset/table resolution of the numerics layer (validated exactly as
# newton_schulz validates it); not public there yet.

__all__ = ["scale_by_spectral", "specgd", "specgd_step"]

_METHODS = ("ns", "svd")
_SHAPE_SCALES = (None, "muon", "rms")
_NON_MATRIX = ("error", "passthrough")


# --------------------------------------------------------------------------- #
# one matrix (or a batch through dimension numbers)
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class _PolarConfig:
    """Hashable (static) configuration of the per-leaf kernel."""

    method: Literal["ns", "svd"]
    eps: float
    rank_tol: float | None
    compute_dtype: Any
    shape_scale: Literal["muon", "rms"] | None
    rms_target: float


def _matrix_message(shape: tuple[int, ...], *, batched: bool) -> str:
    hint = (
        "pass dimension_numbers=MuonDimensionNumbers(...) to orthogonalise "
        "each matrix of a batched leaf, or non_matrix='passthrough'"
        if batched
        else "pass non_matrix='passthrough' or reshape"
    )
    return f"spectral update needs a matrix, got shape {shape}; {hint}."


def _normalize_axes(
    ndim: int, dims: MuonDimensionNumbers
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    def norm(ax: Any) -> tuple[int, ...]:
        axes = (ax,) if isinstance(ax, int) else tuple(ax)
        out = []
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"dimension_numbers axis {a} is out of range for a leaf with "
                    f"{ndim} dimensions."
                )
            out.append(a % ndim)
        return tuple(out)

    red, outp = norm(dims.reduction_axis), norm(dims.output_axis)
    if not red or not outp or set(red) & set(outp):
        raise ValueError(
            "dimension_numbers must name non-empty, disjoint reduction and output "
            f"axes; got reduction_axis={dims.reduction_axis}, "
            f"output_axis={dims.output_axis}."
        )
    return red, outp


def _polar_matrices(x: Array, config: _PolarConfig, table: Array) -> Array:
    """Polar factor of a (batch, m, n) stack; x is traced here (no value checks)."""
    if config.method == "svd":
        return numerics.polar_svd(x, rank_tol=config.rank_tol)
    return numerics.newton_schulz(
        x, coeffs=table, eps=config.eps, compute_dtype=config.compute_dtype
    )


@functools.partial(jax.jit, static_argnames=("config", "axes"))
def _spectral_leaf(
    g: Array,
    table: Array,
    *,
    config: _PolarConfig,
    axes: tuple[tuple[int, ...], tuple[int, ...]] | None,
) -> Array:
    red: tuple[int, ...]
    outp: tuple[int, ...]
    if axes is None:  # a plain 2-D leaf, (fan_in, fan_out) = (rows, cols)
        red, outp = (0,), (1,)
    else:
        red, outp = axes
    batch = tuple(i for i in range(g.ndim) if i not in red + outp)
    perm = batch + red + outp
    fan_in = math.prod(g.shape[i] for i in red)
    fan_out = math.prod(g.shape[i] for i in outp)
    n_batch = math.prod(g.shape[i] for i in batch)
    flat = jnp.transpose(g, perm).reshape(n_batch, fan_in, fan_out)
    # A single matrix goes through plain 2-D GEMMs: XLA:CPU runs a batched
    # dot_general with batch size 1 markedly slower than the 2-D dot.
    if n_batch == 1:
        q = _polar_matrices(flat[0], config, table)[None]
    else:
        q = _polar_matrices(flat, config, table)
    # A matrix with a NaN/inf entry gets an all-NaN update (documented), so
    # optax.apply_if_finite can skip the step whatever the polar method.
    finite = jnp.all(jnp.isfinite(flat), axis=(-2, -1), keepdims=True)
    q = jnp.where(finite, q, jnp.asarray(jnp.nan, q.dtype))
    if config.shape_scale == "muon":
        q = q * math.sqrt(max(1.0, fan_out / fan_in))
    elif config.shape_scale == "rms":
        q = q * (config.rms_target * math.sqrt(max(fan_in, fan_out)))
    unflat = tuple(g.shape[i] for i in perm)
    inverse = tuple(int(i) for i in np.argsort(perm))
    return jnp.transpose(q.reshape(unflat), inverse).astype(g.dtype)


# --------------------------------------------------------------------------- #
# public functions
# --------------------------------------------------------------------------- #
def specgd_step(
    W: ArrayLike,
    G: ArrayLike,
    lr: float | ArrayLike,
    *,
    method: Literal["svd", "ns"] = "svd",
    ns_steps: int | None = None,
    ns_coeffs: str | ArrayLike = "muon",
    eps: float = 1e-7,
    rank_tol: float | None = None,
) -> Array:
    r"""Take one spectral gradient descent step, :math:`W - \eta\, \mathrm{polar}(G)`.

    Parameters
    ----------
    W : array_like of shape (..., m, n)
        Current weights; leading axes are batch axes. Must be finite.
    G : array_like of shape (..., m, n)
        Gradient at ``W`` (same shape). Must be finite.
    lr : float
        Step size :math:`\eta > 0` (spectral norm of the step for a full-rank
        ``G`` with the exact polar factor).
    method : {"svd", "ns"}, default="svd"
        Exact polar factor (:func:`mltheory.numerics.polar_svd`) or
        Newton–Schulz (:func:`mltheory.numerics.newton_schulz`).
    ns_steps : int or None, default=None
        Newton–Schulz steps (``None``: 5, or the table length).
    ns_coeffs : {"muon", "cubic", "dion"} or array_like, default="muon"
        Newton–Schulz coefficients: a preset, (3,) or (K, 3).
    eps : float, default=1e-7
        Added to the Frobenius norm in Newton–Schulz; must be ``> 0``.
    rank_tol : float or None, default=None
        Relative rank threshold of the SVD polar factor (``None``:
        :math:`\max(m,n)\,\epsilon_{\mathrm{dtype}}`).

    Returns
    -------
    jax.Array of shape (..., m, n)
        The updated weights, in the dtype of ``W`` (a parameter never
        changes dtype, whatever the dtype of ``G``).

    Raises
    ------
    ValueError
        If ``W`` or ``G`` has fewer than 2 dimensions, their shapes differ, or
        either holds NaN/inf; if ``lr <= 0``, ``lr`` overflows the dtype of
        ``W`` (``1e39`` in float32) or ``eps <= 0``; for any bad
        Newton–Schulz option (see :func:`mltheory.numerics.newton_schulz`;
        the message names ``ns_steps``/``ns_coeffs``).
    TypeError
        If an input is not numeric, or is complex.

    See Also
    --------
    specgd : The same step as an optax optimiser.
    mltheory.numerics.polar : The polar factor alone.

    Notes
    -----
    SpecGD [1]_ is steepest descent in the spectral norm:

    .. math::

        W_{k+1} &= W_k - \eta\, \mathrm{polar}(\nabla L(W_k)), \\
        \mathrm{polar}(U \operatorname{diag}(\sigma) V^\top)
        &= U \operatorname{diag}(\mathbb{1}[\sigma_i > \tau]) V^\top .

    It is invariant to positive rescaling of the gradient and odd in it;
    a zero gradient gives a zero step.

    References
    ----------
    .. [1] G. Braun, H. Bao, W. Huang, M. Imaizumi, "Spectral Gradient Descent
       Mitigates Anisotropy-Driven Misalignment: A Case Study in Phase
       Retrieval", arXiv:2601.22652, 2026.

    Examples
    --------
    >>> from mltheory import optim
    >>> W = jnp.zeros((3, 2))
    >>> G = jnp.array([[2.0, 0.0], [0.0, 0.5], [0.0, 0.0]])
    >>> np.asarray(optim.specgd_step(W, G, 0.1)).round(4).tolist()
    [[-0.1, 0.0], [0.0, -0.1], [0.0, 0.0]]
    """
    w = as_array(W, name="W", min_ndim=2, shape_hint="(..., m, n)")
    g = as_array(G, name="G", min_ndim=2, shape_hint="(..., m, n)")
    if w.shape != g.shape:
        raise ValueError(
            f"G must have the shape of W {tuple(w.shape)}; got shape {tuple(g.shape)}."
        )
    check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    check_finite_in_dtype(lr, name="lr", dtype=w.dtype, dtype_of="W")
    check_in(method, name="method", options=_METHODS)
    eps = check_scalar(eps, name="eps", lower=0.0, lower_inclusive=False)
    with renamed_arguments({"steps": "ns_steps", "coeffs": "ns_coeffs"}):
        numerics.ns_coefficient_table(ns_coeffs, steps=ns_steps)  # whatever method
    if method == "svd":
        q = numerics.polar_svd(g, rank_tol=rank_tol)
    else:
        with renamed_arguments({"steps": "ns_steps", "coeffs": "ns_coeffs"}):
            q = numerics.newton_schulz(g, steps=ns_steps, coeffs=ns_coeffs, eps=eps)
    # the parameter keeps its dtype whatever the gradient's
    return (w - jnp.asarray(lr, w.dtype) * q.astype(w.dtype)).astype(w.dtype)


def _resolve_dims(dimension_numbers: Any, updates: PyTree) -> PyTree:
    """A tree like ``updates`` with a MuonDimensionNumbers or None per leaf."""
    if dimension_numbers is None or isinstance(dimension_numbers, MuonDimensionNumbers):
        return jax.tree.map(lambda _: dimension_numbers, updates)
    tree = (
        dimension_numbers(updates) if callable(dimension_numbers) else dimension_numbers
    )

    def is_leaf(x: Any) -> bool:
        return x is None or isinstance(x, MuonDimensionNumbers)

    # A prefix tree: a spec (or None) at a node applies to its whole subtree.
    return jax.tree.map(
        lambda spec, sub: jax.tree.map(lambda _: spec, sub),
        tree,
        updates,
        is_leaf=is_leaf,
    )


def scale_by_spectral(
    *,
    method: Literal["ns", "svd"] = "ns",
    ns_steps: int | None = None,
    ns_coeffs: str | ArrayLike = "muon",
    eps: float = 1e-7,
    rank_tol: float | None = None,
    compute_dtype: DTypeLike | None = None,
    shape_scale: Literal["muon", "rms"] | None = None,
    rms_target: float = 0.2,
    non_matrix: Literal["error", "passthrough"] = "error",
    dimension_numbers: MuonDimensionNumbers | PyTree | Callable[..., Any] | None = None,
    check_finite: bool = False,
) -> optax.GradientTransformation:
    r"""Replace each gradient matrix by its polar factor (stateless optax transform).

    Each 2-D leaf :math:`g` becomes :math:`s \cdot \mathrm{polar}(g)` with an
    optional shape scale :math:`s`. Leaves of other ranks are rejected or
    passed through unchanged (``non_matrix``); leaves with batch axes are
    orthogonalised matrix by matrix through ``dimension_numbers``.

    Parameters
    ----------
    method : {"ns", "svd"}, default="ns"
        Newton–Schulz (fast, approximate with the ``"muon"`` preset) or the
        exact SVD polar factor.
    ns_steps : int or None, default=None
        Newton–Schulz steps, at least 1 (``None``: 5 for a coefficient
        triple, ``K`` for a (K, 3) table).
    ns_coeffs : {"muon", "cubic", "dion"} or array_like, default="muon"
        Newton–Schulz coefficients: a preset name, one (a, b, c) triple of
        shape (3,), or a per-step table of shape (K, 3).
    eps : float, default=1e-7
        Added to the Frobenius norm before the Newton–Schulz iteration; must
        be ``> 0`` (it makes a zero gradient map to a zero update).
    rank_tol : float or None, default=None
        Relative rank threshold of the SVD polar factor; only for
        ``method="svd"``.
    compute_dtype : dtype or None, default=None
        Dtype of the Newton–Schulz iteration (e.g. ``jnp.bfloat16``); the
        input is normalised in its own dtype first and the update is cast
        back. ``None`` iterates in the gradient's dtype (no forced cast).
    shape_scale : {None, "muon", "rms"}, default=None
        ``"muon"`` multiplies by :math:`\sqrt{\max(1, n_{out}/n_{in})}`
        (Keller Jordan's Muon); ``"rms"`` by
        ``rms_target`` :math:`\cdot \sqrt{\max(n_{in}, n_{out})}` (Moonlight,
        update RMS like AdamW's). ``None`` keeps the plain polar factor.
    rms_target : float, default=0.2
        Target update RMS for ``shape_scale="rms"``; must be ``> 0``.
    non_matrix : {"error", "passthrough"}, default="error"
        What to do with a leaf that is not a matrix (ndim != 2) and has no
        dimension numbers: raise, or return it unchanged.
    dimension_numbers : MuonDimensionNumbers, pytree, callable or None, default=None
        :class:`optax.contrib.MuonDimensionNumbers` giving the reduction
        (``fan_in``) and output (``fan_out``) axes; every other axis is a
        batch axis and each matrix is orthogonalised separately. One spec
        applies to every leaf with ``ndim >= 2``; a pytree (or a prefix of
        the updates' tree) gives one spec or ``None`` (default rule) per leaf;
        a callable maps the updates to such a tree.
    check_finite : bool, default=False
        If True, eager calls raise :class:`FloatingPointError` on a NaN/inf
        gradient (costs a device-to-host copy per step; skipped under jit).

    Returns
    -------
    optax.GradientTransformation
        Stateless (``optax.EmptyState``); chain it with any optax transform.

    Raises
    ------
    ValueError
        At construction: unknown ``method``, ``shape_scale`` or
        ``non_matrix``; ``eps <= 0``; ``rms_target <= 0``; ``rank_tol`` with
        ``method="ns"`` or ``rank_tol < 0``; ``ns_coeffs`` an unknown preset or
        not of shape (3,) or (K, 3), ``ns_steps < 1`` or different from the
        table length. At update: a non-matrix leaf with ``non_matrix="error"``
        (message "spectral update needs a matrix, got shape ..."), bad
        dimension numbers, or (when ``params`` is passed to ``update``)
        updates whose pytree structure or leaf shapes differ from ``params``.
    FloatingPointError
        At update, with ``check_finite=True`` in an eager call, if a gradient
        holds NaN/inf.
    TypeError
        If an option has the wrong type.

    See Also
    --------
    specgd : This transform chained with momentum and the learning rate.
    mltheory.numerics.newton_schulz : The Newton–Schulz polar factor.
    mltheory.numerics.polar_svd : The exact polar factor.

    Notes
    -----
    Defined behaviour at the edges:

    * a zero gradient matrix gives a zero update (never NaN), for both methods;
    * a matrix with any NaN/inf entry gives an all-NaN update (also with the
      SVD), so :func:`optax.apply_if_finite` skips the step; set
      ``check_finite=True`` to raise instead in eager code;
    * the update is invariant to multiplying the gradient by :math:`c > 0`
      (exactly for SVD, up to ``eps / ||g||_F`` for Newton–Schulz).

    With the ``"muon"`` preset the singular values of the update are not 1
    but in :math:`[0.68, 1.21]` for directions with
    :math:`\sigma_i/\|g\|_F \ge 0.0015` (smaller ones are shrunk towards 0);
    see :func:`mltheory.numerics.newton_schulz` for the measured band.
    Axis convention: ``(fan_in, fan_out) = (rows, cols)`` as in optax and
    flax (``x @ W``), the transpose of PyTorch's ``nn.Linear`` layout.

    References
    ----------
    .. [1] K. Jordan et al., "Muon: An optimizer for hidden layers in neural
       networks", 2024, https://kellerjordan.github.io/posts/muon/.
    .. [2] J. Liu et al., "Muon is Scalable for LLM Training",
       arXiv:2502.16982, 2025.

    Examples
    --------
    >>> import optax
    >>> from mltheory import optim
    >>> tx = optim.scale_by_spectral(method="svd")
    >>> g = {"W": jnp.array([[3.0, 0.0], [0.0, 0.1]])}
    >>> upd, _ = tx.update(g, tx.init(g))
    >>> np.asarray(upd["W"]).round(4).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    check_in(method, name="method", options=_METHODS)
    check_in(shape_scale, name="shape_scale", options=_SHAPE_SCALES)
    check_in(non_matrix, name="non_matrix", options=_NON_MATRIX)
    eps = check_scalar(eps, name="eps", lower=0.0, lower_inclusive=False)
    rms_target = check_scalar(
        rms_target, name="rms_target", lower=0.0, lower_inclusive=False
    )
    if rank_tol is not None:
        if method == "ns":
            raise ValueError(
                "rank_tol applies to method='svd' only; got rank_tol="
                f"{rank_tol!r} with method='ns'."
            )
        rank_tol = check_scalar(rank_tol, name="rank_tol", lower=0.0)
    if not isinstance(check_finite, bool):
        raise TypeError(f"check_finite must be a bool; got {describe(check_finite)}.")
    dtype = (
        None
        if compute_dtype is None
        else check_float_dtype(compute_dtype, name="compute_dtype")
    )
    with renamed_arguments({"steps": "ns_steps", "coeffs": "ns_coeffs"}):
        table_host = numerics.ns_coefficient_table(ns_coeffs, steps=ns_steps)
    config = _PolarConfig(method, eps, rank_tol, dtype, shape_scale, rms_target)

    def init_fn(params: PyTree) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def leaf_update(g: Array, spec: MuonDimensionNumbers | None) -> Array:
        g = jnp.asarray(g)
        if spec is not None and g.ndim >= 2:
            axes = _normalize_axes(g.ndim, spec)
        elif g.ndim == 2:
            axes = None
        elif non_matrix == "passthrough":
            return g
        else:
            raise ValueError(_matrix_message(tuple(g.shape), batched=g.ndim > 2))
        if check_finite and not is_traced(g) and not bool(jnp.all(jnp.isfinite(g))):
            raise FloatingPointError(
                f"the gradient of a leaf of shape {tuple(g.shape)} holds NaN/inf "
                "(check_finite=True)."
            )
        table = jnp.asarray(table_host, dtype=jnp.result_type(g.dtype, jnp.float32))
        return _spectral_leaf(g, table, config=config, axes=axes)

    def update_fn(
        updates: PyTree, state: optax.EmptyState, params: PyTree | None = None
    ) -> tuple[PyTree, optax.EmptyState]:
        if params is not None:
            check_same_tree(updates, params, name="updates", like_name="params")
        specs = _resolve_dims(dimension_numbers, updates)
        new = jax.tree.map(
            leaf_update,
            updates,
            specs,
            is_leaf=lambda x: x is None or isinstance(x, MuonDimensionNumbers),
        )
        return new, state

    return optax.GradientTransformation(init_fn, update_fn)


class _MomentumState(NamedTuple):
    """State of the (Muon-style, bias-corrected) momentum of :func:`specgd`."""

    step: Array
    mu: PyTree


def _muon_momentum(beta: float, nesterov: bool) -> optax.GradientTransformation:
    """optax.contrib.scale_by_muon's momentum, without the orthogonalisation."""

    def init_fn(params: PyTree) -> _MomentumState:
        return _MomentumState(
            step=jnp.zeros([], jnp.int32), mu=optax.tree.zeros_like(params)
        )

    def update_fn(
        updates: PyTree, state: _MomentumState, params: PyTree | None = None
    ) -> tuple[PyTree, _MomentumState]:
        if params is not None:
            check_same_tree(updates, params, name="updates", like_name="params")
        check_same_tree(
            updates,
            state.mu,
            name="updates",
            like_name="the momentum buffer (built by init(params))",
        )
        mu = optax.tree.update_moment(updates, state.mu, beta, 1)
        count = optax.safe_increment(state.step)
        if nesterov:
            # Same bias corrections as optax.contrib.scale_by_muon, so the two
            # give identical directions step by step.
            mu_hat = jax.tree.map(
                lambda m, g: beta * m + (1 - beta) * g,
                optax.tree.bias_correction(mu, beta, optax.safe_increment(count)),
                optax.tree.bias_correction(updates, beta, count),
            )
        else:
            mu_hat = optax.tree.bias_correction(mu, beta, count)
        return mu_hat, _MomentumState(step=count, mu=mu)

    return optax.GradientTransformation(init_fn, update_fn)


def specgd(
    learning_rate: float | optax.Schedule,
    *,
    momentum: float | None = None,
    nesterov: bool = False,
    **spectral_kw: Any,
) -> optax.GradientTransformation:
    r"""Spectral gradient descent as an optax optimiser (Muon with momentum).

    ``specgd(lr)`` is the SpecGD of arXiv:2601.22652, :math:`W \leftarrow W - \eta\,
    \mathrm{polar}(g)`; with ``momentum`` it orthogonalises a momentum buffer
    instead, as Muon does.

    Parameters
    ----------
    learning_rate : float or optax.Schedule
        Step size :math:`\eta > 0`, or a schedule ``step -> lr``.
    momentum : float or None, default=None
        ``None``: no momentum (plain SpecGD, stateless). A float
        :math:`\beta \in [0, 1)`: optax Muon's bias-corrected exponential
        moving average (see Notes), applied before orthogonalisation.
    nesterov : bool, default=False
        Nesterov form of the momentum; needs ``momentum``.
    **spectral_kw
        Options of :func:`scale_by_spectral` (``method``, ``ns_steps``,
        ``ns_coeffs``, ``eps``, ``rank_tol``, ``compute_dtype``,
        ``shape_scale``, ``rms_target``, ``non_matrix``,
        ``dimension_numbers``, ``check_finite``).

    Returns
    -------
    optax.GradientTransformation
        ``optax.chain(momentum?, scale_by_spectral(...),
        scale_by_learning_rate(learning_rate))``.

    Raises
    ------
    ValueError
        If ``learning_rate <= 0``; ``momentum`` outside ``[0, 1)``;
        ``nesterov=True`` without ``momentum``; for any reason of
        :func:`scale_by_spectral`. At update: if the updates (gradients)
        differ in pytree structure or leaf shapes from ``params`` or, with
        momentum, from the buffer that ``init(params)`` built.
    TypeError
        If ``learning_rate`` is neither a number nor callable, ``nesterov`` is
        not a bool, or ``spectral_kw`` has an unknown name.

    See Also
    --------
    scale_by_spectral : The orthogonalisation alone.
    specgd_step : One step on a single matrix.

    Notes
    -----
    With momentum :math:`\beta` the buffer is
    :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` and the orthogonalised
    direction is :math:`\hat m_t = m_t / (1-\beta^t)`, or with Nesterov
    :math:`\beta\, m_t / (1-\beta^{t+1}) + (1-\beta)\, g_t / (1-\beta^t)`,
    exactly as ``optax.contrib.scale_by_muon``.

    **Mapping to** ``optax.contrib.muon`` (optax 0.2.8) on a pytree whose
    leaves are all 2-D: ``muon(lr, ns_coeffs=(3.4445, -4.7750, 2.0315),
    ns_steps=5, beta=b, eps=e, nesterov=n)`` with the default
    ``preconditioning="frobenius"``, ``adaptive=False``, ``weight_decay=0``
    and ``consistent_rms=None`` gives the same updates as
    ``specgd(lr, momentum=b, nesterov=n, method="ns", ns_coeffs="muon",
    ns_steps=5, eps=e, shape_scale="muon")``; ``consistent_rms=r``
    corresponds to ``shape_scale="rms", rms_target=r``;
    ``muon_weight_dimension_numbers`` to ``dimension_numbers``. Note the
    different defaults: muon uses ``beta=0.95``, ``nesterov=True``,
    ``eps=1e-8`` and the muon shape scale; ``specgd`` defaults to no
    momentum, ``eps=1e-7`` and no scale (the SpecGD of arXiv:2601.22652). Not mirrored:
    muon's AdamW for non-2-D leaves (use ``optax.multi_transform`` or
    ``optax.partition``, see the gallery), its ``adaptive`` dual-norm
    scaling and the ``"spectral"``, ``"aol"``, ``"schatten"``
    preconditionings. Weight decay: chain ``optax.add_decayed_weights``
    between :func:`scale_by_spectral` and the learning rate.

    References
    ----------
    .. [1] G. Braun, H. Bao, W. Huang, M. Imaizumi, "Spectral Gradient Descent
       Mitigates Anisotropy-Driven Misalignment: A Case Study in Phase
       Retrieval", arXiv:2601.22652, 2026.
    .. [2] K. Jordan et al., "Muon: An optimizer for hidden layers in neural
       networks", 2024, https://kellerjordan.github.io/posts/muon/.

    Examples
    --------
    >>> import optax
    >>> from mltheory import optim
    >>> params = {"W": jnp.ones((4, 3))}
    >>> opt = optim.specgd(0.1, method="svd")
    >>> state = opt.init(params)
    >>> grads = {"W": jnp.outer(jnp.arange(1.0, 5.0), jnp.ones(3))}
    >>> upd, state = opt.update(grads, state)
    >>> print(round(float(jnp.linalg.norm(upd["W"], 2)), 4))
    0.1
    """
    if callable(learning_rate):
        lr: float | optax.Schedule = learning_rate
    else:
        lr = check_scalar(
            learning_rate, name="learning_rate", lower=0.0, lower_inclusive=False
        )
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool; got {describe(nesterov)}.")
    parts = []
    if momentum is not None:
        beta = check_scalar(
            momentum, name="momentum", lower=0.0, upper=1.0, upper_inclusive=False
        )
        parts.append(_muon_momentum(beta, nesterov))
    elif nesterov:
        raise ValueError(
            "nesterov=True needs a momentum coefficient; got momentum=None."
        )
    parts.append(scale_by_spectral(**spectral_kw))
    parts.append(optax.scale_by_learning_rate(lr))
    return optax.chain(*parts)

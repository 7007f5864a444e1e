r"""The SONA discriminator head and the projection-discriminator baselines.

The SONA head (Takida et al., arXiv:2510.04576) scores a feature vector
:math:`h = h(x) \in \mathbb{R}^D` and a condition :math:`y` as a sum of two
scalars on two orthogonal projections,

.. math::

   f(x, y) = \underbrace{\langle \omega, h \rangle}_{f^N(x)}
   + \underbrace{\langle \omega_y, \Pi^\perp_\omega h \rangle}_{f^A(x, y)},
   \qquad \Pi^\perp_\omega h = h - \langle \omega, h\rangle \omega ,

with :math:`\omega = u / \|u\|` and :math:`\omega_y` on the unit sphere. The
baselines are the projection discriminator of Miyato & Koyama
(:math:`\langle w_y, h\rangle + \langle w, h\rangle + b`) and its SAN version
(the absorbed direction :math:`w + w_y`, normalised, with the SAN
function/direction split).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike, KeyArray, PyTree
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_float_dtype,
    check_key,
    check_scalar,
    describe,
    is_traced,
)

__all__ = [
    "ProjectionHeadParams",
    "SanOutput",
    "SonaHeadParams",
    "SonaOutput",
    "projection_discriminator_apply",
    "projection_init",
    "san_projection_apply",
    "sona_apply",
    "sona_init",
]

CondEncoder = Callable[[Any, Array], Array]


class SonaHeadParams(NamedTuple):
    r"""Parameters of the SONA head (a pytree, trainable with optax).

    Parameters
    ----------
    u : jax.Array of shape (D,)
        Raw naturalness direction; :math:`\omega = u / \|u\|`.
    embed : pytree
        The condition embedding: a class table of shape ``(C, D)`` for
        integer conditions, a projection of shape ``(E, D)`` for continuous
        conditions of width ``E``, ``None`` for frozen condition vectors of
        width ``D``, or any pytree read by a ``cond_encoder``.

    See Also
    --------
    sona_init : Initialise them.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.sona_init(jax.random.key(0), 8, num_classes=3)
    >>> p.u.shape, p.embed.shape
    ((8,), (3, 8))
    """

    u: Array
    embed: PyTree


class ProjectionHeadParams(NamedTuple):
    r"""Parameters of the projection-discriminator head (a pytree).

    Parameters
    ----------
    w : jax.Array of shape (D,)
        The unconditional projection :math:`w`.
    embed : jax.Array of shape (C, D)
        The class embeddings :math:`w_y`.
    b : jax.Array of shape ()
        The bias.

    See Also
    --------
    projection_init : Initialise them.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.projection_init(jax.random.key(0), 8, num_classes=3)
    >>> p.w.shape, p.embed.shape, p.b.shape
    ((8,), (3, 8), ())
    """

    w: Array
    embed: Array
    b: Array


@pytree_dataclass
class SonaOutput:
    r"""The scores of the SONA head on a batch.

    Parameters
    ----------
    f : jax.Array of shape (B,)
        :math:`f(x, y) = f^N(x) + f^A(x, y)`.
    f_nat : jax.Array of shape (B,)
        Naturalness :math:`f^N(x) = \langle \omega, h\rangle` (times
        :math:`\|u\|` when ``keep_scale``); independent of the condition.
    f_align : jax.Array of shape (B,)
        Alignment :math:`f^A(x, y) = \langle \omega_y, \Pi^\perp_\omega h
        \rangle`, with :math:`\omega` held fixed (a stop-gradient) in the
        projection, so alignment losses never rotate :math:`\omega`.
    f_nat_fun : jax.Array of shape (B,)
        SAN "function" output :math:`\langle \mathrm{sg}(\omega), h\rangle`:
        its gradients reach the features (and the scale), not
        :math:`\omega`.
    f_nat_dir : jax.Array of shape (B,)
        SAN "direction" output :math:`\langle \omega, \mathrm{sg}(h)\rangle`:
        its gradients reach :math:`\omega` only.
    f_bt : jax.Array of shape (B,)
        The Bradley–Terry score :math:`\mathrm{sg}(f^N) + f^A`: the same value
        as ``f``, with the naturalness part held fixed.

    See Also
    --------
    sona_apply : Computes it.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.sona_init(jax.random.key(0), 4, num_classes=2)
    >>> out = sona.sona_apply(p, jnp.ones((3, 4)), jnp.array([0, 1, 1]))
    >>> bool(jnp.allclose(out.f, out.f_nat + out.f_align))
    True
    """

    f: Array
    f_nat: Array
    f_align: Array
    f_nat_fun: Array
    f_nat_dir: Array
    f_bt: Array

    def _summary_items(self) -> dict[str, Any]:
        return {"batch": int(np.shape(self.f)[-1]) if np.ndim(self.f) else 1}


@pytree_dataclass
class SanOutput:
    r"""The scores of a SAN discriminator head on a batch.

    Parameters
    ----------
    f : jax.Array of shape (B,)
        The score :math:`\langle \hat w_y, s\,h\rangle` (what the generator
        sees).
    f_fun : jax.Array of shape (B,)
        :math:`\langle \mathrm{sg}(\hat w_y), s\,h\rangle`: trains the
        features and the scale.
    f_dir : jax.Array of shape (B,)
        :math:`\langle \hat w_y, \mathrm{sg}(s\,h)\rangle`: trains the
        direction.

    See Also
    --------
    san_projection_apply : Computes it.
    san_naturalness_loss : The SAN loss on it.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.projection_init(jax.random.key(0), 4, num_classes=2)
    >>> out = sona.san_projection_apply(p, jnp.ones((3, 4)), jnp.array([0, 1, 1]))
    >>> bool(jnp.allclose(out.f, out.f_fun)) and bool(jnp.allclose(out.f, out.f_dir))
    True
    """

    f: Array
    f_fun: Array
    f_dir: Array


# --------------------------------------------------------------------------
# initialisation
# --------------------------------------------------------------------------


def sona_init(
    key: KeyArray,
    feature_dim: int,
    num_classes: int | None = None,
    *,
    cond_dim: int | None = None,
    init_scale: float = 1.0,
    dtype: Any = None,
) -> SonaHeadParams:
    r"""Initialise the SONA head.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    feature_dim : int
        :math:`D`, the width of the features :math:`h(x)`.
    num_classes : int, optional
        :math:`C \ge 1` for class-conditional heads (a ``(C, D)`` table).
    cond_dim : int, optional
        :math:`E` for continuous conditions (a ``(E, D)`` projection). Exactly
        one of ``num_classes`` and ``cond_dim`` is given.
    init_scale : float, default=1.0
        Standard deviation of the Gaussian entries of ``u`` and of the class
        table (the projection's entries get ``init_scale / sqrt(E)``). The
        directions are normalised in :func:`sona_apply`, so this sets only the
        Euclidean step size optax sees.
    dtype : dtype, optional
        Floating dtype of the parameters (default: JAX's default float).

    Returns
    -------
    SonaHeadParams
        ``u`` of shape ``(D,)`` and ``embed`` of shape ``(C, D)`` or
        ``(E, D)``.

    Raises
    ------
    ValueError
        If ``feature_dim < 2``, ``init_scale <= 0``, both or neither of
        ``num_classes`` and ``cond_dim`` are given, or either is < 1.
    TypeError
        If ``key`` is not a PRNG key or ``dtype`` is not a floating dtype.

    See Also
    --------
    sona_apply : Apply the head.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.sona_init(jax.random.key(0), 16, num_classes=10)
    >>> p.embed.shape
    (10, 16)
    >>> sona.sona_init(jax.random.key(0), 16, cond_dim=5).embed.shape
    (5, 16)
    """
    key = check_key(key)
    d = check_scalar(feature_dim, name="feature_dim", kind=int, lower=2)
    scale = check_scalar(
        init_scale, name="init_scale", lower=0.0, lower_inclusive=False
    )
    dt = check_float_dtype(dtype, name="dtype")
    if (num_classes is None) == (cond_dim is None):
        raise ValueError(
            "give exactly one of num_classes (class-conditional) and cond_dim "
            f"(continuous conditions); got num_classes={num_classes!r}, "
            f"cond_dim={cond_dim!r}."
        )
    ku, ke = jax.random.split(key)
    u = scale * jax.random.normal(ku, (d,), dt)
    if num_classes is not None:
        c = check_scalar(num_classes, name="num_classes", kind=int, lower=1)
        embed = scale * jax.random.normal(ke, (c, d), dt)
    else:
        e = check_scalar(cond_dim, name="cond_dim", kind=int, lower=1)
        embed = float(scale / np.sqrt(e)) * jax.random.normal(ke, (e, d), dt)
    return SonaHeadParams(u=u, embed=embed)


def projection_init(
    key: KeyArray,
    feature_dim: int,
    num_classes: int,
    *,
    init_scale: float = 1.0,
    dtype: Any = None,
) -> ProjectionHeadParams:
    r"""Initialise the projection-discriminator head (also used by SAN-PD).

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    feature_dim : int
        :math:`D \ge 2`.
    num_classes : int
        :math:`C \ge 1`.
    init_scale : float, default=1.0
        Standard deviation of the Gaussian entries of ``w`` and ``embed``,
        divided by :math:`\sqrt{D}` (so :math:`\|w\| \approx` ``init_scale``).
    dtype : dtype, optional
        Floating dtype of the parameters.

    Returns
    -------
    ProjectionHeadParams
        ``w`` ``(D,)``, ``embed`` ``(C, D)`` and ``b = 0``.

    Raises
    ------
    ValueError
        If ``feature_dim < 2``, ``num_classes < 1`` or ``init_scale <= 0``.
    TypeError
        If ``key`` is not a PRNG key.

    See Also
    --------
    projection_discriminator_apply, san_projection_apply : The two heads.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> sona.projection_init(jax.random.key(0), 16, 4).embed.shape
    (4, 16)
    """
    key = check_key(key)
    d = check_scalar(feature_dim, name="feature_dim", kind=int, lower=2)
    c = check_scalar(num_classes, name="num_classes", kind=int, lower=1)
    scale = check_scalar(
        init_scale, name="init_scale", lower=0.0, lower_inclusive=False
    )
    dt = check_float_dtype(dtype, name="dtype")
    kw, ke = jax.random.split(key)
    std = float(scale / np.sqrt(d))
    return ProjectionHeadParams(
        w=std * jax.random.normal(kw, (d,), dt),
        embed=std * jax.random.normal(ke, (c, d), dt),
        b=jnp.zeros((), dt),
    )


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------


def _check_features(features: Any, dim: int | None) -> Array:
    if jnp.iscomplexobj(features):
        raise TypeError(f"features must be real; got {describe(features)}.")
    h = as_array(features, name="features", ndim=2, shape_hint="(batch, feature_dim)")
    if dim is not None and h.shape[1] != dim:
        raise ValueError(
            f"features must have feature_dim = {dim} columns (the length of the "
            f"head's direction); got shape {tuple(h.shape)}."
        )
    return h


def _check_class_ids(cond: Any, batch: int, num_classes: int, name: str) -> Array:
    y = jnp.asarray(cond)
    if y.ndim != 1 or y.shape[0] != batch:
        raise ValueError(
            f"{name} must be 1-D of length batch = {batch} (one class id per "
            f"row); got shape {tuple(y.shape)}."
        )
    if not is_traced(y):
        yy = np.asarray(y)
        if yy.size and (yy.min() < 0 or yy.max() >= num_classes):
            raise ValueError(
                f"{name} holds class ids in [0, {num_classes}); got values in "
                f"[{int(yy.min())}, {int(yy.max())}]."
            )
    return y.astype(jnp.int32)


def _is_int_cond(cond: Any) -> bool:
    dt = jnp.asarray(cond).dtype if not hasattr(cond, "dtype") else cond.dtype
    return bool(jnp.issubdtype(dt, jnp.integer))


def _check_direction(u: Any) -> Array:
    u = jnp.asarray(u)
    if u.ndim != 1:
        raise ValueError(
            f"params.u must be 1-D of shape (feature_dim,); got shape {tuple(u.shape)}."
        )
    if not is_traced(u):
        norm = float(np.linalg.norm(np.asarray(u, dtype=np.float64)))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError(
                "params.u must have a finite, non-zero norm (omega = u / ||u|| is "
                f"undefined otherwise); got ||u|| = {norm}."
            )
    return u


def _normalize(v: Array, axis: int = -1) -> tuple[Array, Array]:
    norm = jnp.sqrt(jnp.sum(v * v, axis=axis, keepdims=True))
    tiny = jnp.finfo(v.dtype).tiny if jnp.issubdtype(v.dtype, jnp.floating) else 1e-30
    return v / jnp.maximum(norm, jnp.sqrt(tiny)), norm


def _condition_vectors(
    embed: PyTree,
    cond: Any,
    batch: int,
    dim: int,
    cond_encoder: CondEncoder | None,
    name: str = "cond",
) -> Array:
    """The un-normalised condition embeddings e_y, shape (B, D)."""
    if cond_encoder is not None:
        check_callable(cond_encoder, name="cond_encoder")
        c = jnp.asarray(cond)
        e = jnp.asarray(cond_encoder(embed, c))
    elif _is_int_cond(cond):
        table = jnp.asarray(embed)
        if table.ndim != 2 or table.shape[1] != dim:
            raise ValueError(
                f"params.embed must be a (num_classes, {dim}) class table for "
                f"integer {name}; got {describe(embed)}."
            )
        y = _check_class_ids(cond, batch, table.shape[0], name)
        e = table[y]
    else:
        if jnp.iscomplexobj(cond):
            raise TypeError(f"{name} must be real; got {describe(cond)}.")
        c = as_array(cond, name=name, ndim=2, shape_hint="(batch, cond_dim)")
        if c.shape[0] != batch:
            raise ValueError(
                f"{name} must have batch = {batch} rows; got shape {tuple(c.shape)}."
            )
        if embed is None:
            if c.shape[1] != dim:
                raise ValueError(
                    f"{name} vectors are used as the directions themselves when "
                    f"params.embed is None, so they need width {dim}; got shape "
                    f"{tuple(c.shape)}."
                )
            e = c
        else:
            proj = jnp.asarray(embed)
            if proj.ndim != 2 or proj.shape != (c.shape[1], dim):
                raise ValueError(
                    f"params.embed must be a ({c.shape[1]}, {dim}) projection for "
                    f"continuous {name} of width {c.shape[1]}; got "
                    f"{describe(embed)}."
                )
            e = c @ proj
    if e.shape != (batch, dim):
        raise ValueError(
            f"the condition embeddings must have shape ({batch}, {dim}); the "
            f"cond_encoder returned shape {tuple(e.shape)}."
        )
    return e


def _class_table(
    embed: PyTree,
    cond: Any,
    batch: int,
    dim: int,
    cond_encoder: CondEncoder | None,
    name: str = "cond",
) -> tuple[Array, Array] | None:
    """``(table, ids)`` when ``cond`` are class ids into a class table, else None."""
    if cond_encoder is not None or not _is_int_cond(cond):
        return None
    table = jnp.asarray(embed)
    if table.ndim != 2 or table.shape[1] != dim:
        raise ValueError(
            f"params.embed must be a (num_classes, {dim}) class table for "
            f"integer {name}; got {describe(embed)}."
        )
    return table, _check_class_ids(cond, batch, table.shape[0], name)


def _project_out(v: Array, om: Array) -> Array:
    r"""Unit rows of ``v`` projected orthogonally to ``om``: :math:`\Pi^\perp\hat v`.

    Since :math:`\Pi^\perp` is symmetric, :math:`f^A(x, y) = \langle
    \omega_y, \Pi^\perp h\rangle = \langle \Pi^\perp \omega_y, h\rangle`:
    the same value and the same gradients in :math:`h` and :math:`\omega_y`,
    with :math:`D` numbers per condition direction instead of per sample.
    """
    unit, _ = _normalize(v)
    return unit - (unit @ om)[:, None] * om[None, :]


# --------------------------------------------------------------------------
# the heads
# --------------------------------------------------------------------------


def sona_apply(
    params: SonaHeadParams,
    features: ArrayLike,
    cond: ArrayLike,
    *,
    keep_scale: bool = False,
    cond_encoder: CondEncoder | None = None,
) -> SonaOutput:
    r"""Apply the SONA head: naturalness plus orthogonal alignment.

    Parameters
    ----------
    params : SonaHeadParams
        The head (from :func:`sona_init`).
    features : array_like of shape (B, D)
        The features :math:`h(x)` of a batch (the output of your feature
        extractor ``phi_apply``).
    cond : array_like of int of shape (B,) or of float of shape (B, E)
        Class ids in ``[0, C)``, or continuous condition vectors (text
        embeddings, say).
    keep_scale : bool, default=False
        Multiply the naturalness term by :math:`s = \|u\|` (the "keep the
        scale" option of the SAN reference code). The paper's head has
        :math:`\omega, \omega_y \in S^{D-1}` and no scale, hence the default.
    cond_encoder : callable, optional
        ``cond_encoder(params.embed, cond) -> (B, D)``: the hook for your own
        condition encoder (a text projector, say); the result is normalised
        to give :math:`\omega_y`. Without it, integer ``cond`` indexes the
        class table and float ``cond`` is multiplied by the ``(E, D)``
        projection (or used as is when ``params.embed`` is ``None``).

    Returns
    -------
    SonaOutput
        ``f``, ``f_nat``, ``f_align``, the SAN split ``f_nat_fun`` /
        ``f_nat_dir`` and the Bradley–Terry score ``f_bt``.

    Raises
    ------
    ValueError
        If ``features`` is not 2-D or its width differs from ``u``'s length,
        ``u`` has zero norm, class ids are outside ``[0, C)``, or the
        condition has the wrong shape. Value checks (class range, zero norm,
        finiteness) are skipped when the inputs are traced (under
        :func:`jax.jit`): out-of-range ids are then clamped by JAX indexing.
    TypeError
        If ``features`` or a float ``cond`` is complex, or ``cond_encoder``
        is not callable.

    See Also
    --------
    sona_init, sona_discriminator_loss

    Notes
    -----
    With :math:`\omega = u/\|u\|` and :math:`\omega_y = e_y/\|e_y\|`,

    .. math::

       f^N = \langle \omega, h\rangle, \qquad
       f^A = \langle \omega_y, h - \langle \bar\omega, h\rangle \bar\omega
       \rangle, \qquad \bar\omega = \mathrm{sg}(\omega) .

    Since :math:`\langle \omega_y, \Pi^\perp_\omega h\rangle =
    \langle \Pi^\perp_\omega \omega_y, h\rangle`, :math:`f^A` is unchanged by
    :math:`h \to h + c\,\omega` and :math:`f(x, y) - f(x, y') = f^A(x, y) -
    f^A(x, y')`.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.sona_init(jax.random.key(0), 4, num_classes=3)
    >>> h = jax.random.normal(jax.random.key(1), (5, 4))
    >>> out = sona.sona_apply(p, h, jnp.array([0, 1, 2, 0, 1]))
    >>> out.f.shape
    (5,)
    >>> omega = p.u / jnp.linalg.norm(p.u)
    >>> shifted = sona.sona_apply(p, h + 3.0 * omega[None, :],
    ...                          jnp.array([0, 1, 2, 0, 1]))
    >>> bool(jnp.allclose(out.f_align, shifted.f_align))
    True
    """
    if not isinstance(params, SonaHeadParams):
        raise TypeError(
            f"params must be SonaHeadParams (see sona_init); got {describe(params)}."
        )
    u = _check_direction(params.u)
    d = u.shape[0]
    h = _check_features(features, d)
    e = _condition_vectors(params.embed, cond, h.shape[0], d, cond_encoder)
    return _sona_core(u, e, h, bool(keep_scale))


def _sona_core(u: Array, e: Array, h: Array, keep_scale: bool) -> SonaOutput:
    omega, norm_u = _normalize(u)
    omega_y, _ = _normalize(e)
    sg = jax.lax.stop_gradient
    sh = norm_u[0] * h if keep_scale else h
    f_nat = sh @ omega
    f_fun = sh @ sg(omega)
    f_dir = sg(sh) @ omega
    om = sg(omega)
    proj = h - (h @ om)[:, None] * om[None, :]
    f_align = jnp.sum(proj * omega_y, axis=-1)
    return SonaOutput(
        f=f_nat + f_align,
        f_nat=f_nat,
        f_align=f_align,
        f_nat_fun=f_fun,
        f_nat_dir=f_dir,
        f_bt=sg(f_nat) + f_align,
    )


def _check_projection_params(params: Any) -> ProjectionHeadParams:
    if not isinstance(params, ProjectionHeadParams):
        raise TypeError(
            "params must be ProjectionHeadParams (see projection_init); got "
            f"{describe(params)}."
        )
    return params


def projection_discriminator_apply(
    params: ProjectionHeadParams, features: ArrayLike, y: ArrayLike
) -> Array:
    r"""The projection discriminator :math:`\langle w_y + w, h\rangle + b`.

    Parameters
    ----------
    params : ProjectionHeadParams
        The head (from :func:`projection_init`).
    features : array_like of shape (B, D)
        Features :math:`h(x)`.
    y : array_like of int of shape (B,)
        Class ids in ``[0, C)``.

    Returns
    -------
    jax.Array of shape (B,)
        The scores.

    Raises
    ------
    ValueError
        If the shapes disagree or class ids are out of range (range checked
        only outside :func:`jax.jit`).
    TypeError
        If ``params`` is not :class:`ProjectionHeadParams`.

    See Also
    --------
    san_projection_apply : The SAN version.
    sona_apply : The SONA head.

    Notes
    -----
    The unconditional term can be absorbed: with :math:`\tilde w_y = w_y + w`
    the score is :math:`\langle \tilde w_y, h\rangle + b`, so the generator
    only ever sees a class-dependent direction (Miyato & Koyama 2018; the
    observation that motivates SONA).

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.projection_init(jax.random.key(0), 4, 3)
    >>> h = jnp.ones((2, 4))
    >>> f = sona.projection_discriminator_apply(p, h, jnp.array([0, 2]))
    >>> absorbed = p._replace(w=jnp.zeros(4), embed=p.embed + p.w[None, :])
    >>> g = sona.projection_discriminator_apply(absorbed, h, jnp.array([0, 2]))
    >>> bool(jnp.allclose(f, g))
    True
    """
    p = _check_projection_params(params)
    w = jnp.asarray(p.w)
    h = _check_features(features, w.shape[0])
    table = jnp.asarray(p.embed)
    yy = _check_class_ids(y, h.shape[0], table.shape[0], "y")
    return jnp.sum(table[yy] * h, axis=-1) + h @ w + p.b


def san_projection_apply(
    params: ProjectionHeadParams,
    features: ArrayLike,
    y: ArrayLike,
    *,
    keep_scale: bool = True,
) -> SanOutput:
    r"""The SAN-projection head: the absorbed direction, normalised, with the SAN split.

    Parameters
    ----------
    params : ProjectionHeadParams
        The head (from :func:`projection_init`); the bias is not used.
    features : array_like of shape (B, D)
        Features :math:`h(x)`.
    y : array_like of int of shape (B,)
        Class ids in ``[0, C)``.
    keep_scale : bool, default=True
        Multiply by :math:`s_y = \|w + w_y\|` (as the SAN reference code
        does).

    Returns
    -------
    SanOutput
        ``f``, ``f_fun`` and ``f_dir``.

    Raises
    ------
    ValueError
        If the shapes disagree or class ids are out of range (range checked
        only outside :func:`jax.jit`).
    TypeError
        If ``params`` is not :class:`ProjectionHeadParams`.

    See Also
    --------
    projection_discriminator_apply : Without SAN.
    san_naturalness_loss : Its loss.

    Notes
    -----
    With :math:`\hat w_y = (w + w_y)/\|w + w_y\|` and :math:`s_y = \|w +
    w_y\|`: ``f_fun`` :math:`= \langle \mathrm{sg}(\hat w_y), s_y h\rangle`,
    ``f_dir`` :math:`= \langle \hat w_y, \mathrm{sg}(s_y h)\rangle`, the
    class-conditional SAN discriminator of Takida et al. (arXiv:2301.12811)
    written over the projection discriminator's parameters.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.projection_init(jax.random.key(0), 4, 3)
    >>> out = sona.san_projection_apply(p, jnp.ones((2, 4)), jnp.array([0, 2]))
    >>> out.f.shape
    (2,)
    """
    p = _check_projection_params(params)
    w = jnp.asarray(p.w)
    h = _check_features(features, w.shape[0])
    table = jnp.asarray(p.embed)
    yy = _check_class_ids(y, h.shape[0], table.shape[0], "y")
    direction, scale = _normalize(table[yy] + w[None, :])
    sg = jax.lax.stop_gradient
    sh = scale * h if keep_scale else h
    return SanOutput(
        f=jnp.sum(direction * sh, axis=-1),
        f_fun=jnp.sum(sg(direction) * sh, axis=-1),
        f_dir=jnp.sum(direction * sg(sh), axis=-1),
    )

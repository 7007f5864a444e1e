r"""SONA's objectives: SAN naturalness, Bradley–Terry alignment, generator losses.

Discriminator (Takida et al., arXiv:2510.04576), written as losses to
minimise:

* **SAN** on the naturalness term :math:`f^N`: the logistic (or hinge) loss on
  the "function" output :math:`\langle \mathrm{sg}(\omega), h\rangle` trains
  the features, the Wasserstein term :math:`-\mathbb{E}_{\text{real}}
  \langle\omega, \mathrm{sg}(h)\rangle + \mathbb{E}_{\text{fake}}
  \langle\omega, \mathrm{sg}(h)\rangle` trains the direction;
* **BT-C**: :math:`-\log\sigma(\tilde f(x, y) - \tilde f(x_g, y))` with
  :math:`x_g \sim p_g(\cdot \mid y)`;
* **BT-M**: :math:`-\log\sigma(\tilde f(x, y) - \tilde f(x', y))` with
  :math:`x'` another real sample (the data marginal);

where :math:`\tilde f = \mathrm{sg}(f^N) + f^A` (the naturalness part held
fixed). Generator: :math:`J_{\mathrm{SAN}} + J_{\mathrm{BT\text{-}C}}`, the
latter BT-C with real and generated swapped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import Array, ArrayLike, KeyArray, PyTree
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_in,
    check_key,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.generative._sona_head import (
    CondEncoder,
    SanOutput,
    SonaHeadParams,
    SonaOutput,
    _check_direction,
    _check_features,
    _class_table,
    _condition_vectors,
    _is_int_cond,
    _normalize,
    _project_out,
)
from mltheory.generative._sona_weighting import LossWeighting, _check_weighting

__all__ = [
    "SonaDiscriminatorParams",
    "bt_conditional_loss",
    "bt_mismatch_loss",
    "san_naturalness_loss",
    "sample_mismatched",
    "sona_discriminator_loss",
    "sona_generator_loss",
]

PhiApply = Callable[[Any, Array], Array]

# Up to this many classes the losses score every class at once, a
# (rows, 1 + C) product, instead of gathering one direction per row: fewer,
# larger operations on small problems; the gathered form costs O(B D) for any C.
_DENSE_MAX_CLASSES = 32
SanKind = Literal["logistic", "hinge"]
Mismatch = Literal["marginal", "label"]


class SonaDiscriminatorParams(NamedTuple):
    r"""Everything a SONA discriminator trains (a pytree for optax).

    Parameters
    ----------
    phi : pytree
        Parameters of your feature extractor ``phi_apply(phi, x) -> (B, D)``.
    head : SonaHeadParams
        The head (from :func:`sona_init`).
    weighting : pytree
        The weighting rule's state (``weighting.init(3)``; the adaptive scales
        are trained with the discriminator).

    See Also
    --------
    sona_discriminator_loss : The loss over these parameters.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> params = sona.SonaDiscriminatorParams(
    ...     phi=jnp.eye(2, 4), head=sona.sona_init(jax.random.key(0), 4, 3),
    ...     weighting=sona.adaptive_scales().init(3))
    >>> params.head.embed.shape
    (3, 4)
    """

    phi: PyTree
    head: SonaHeadParams
    weighting: PyTree


# --------------------------------------------------------------------------
# elementary losses
# --------------------------------------------------------------------------


def _check_scale(scale: Any) -> Any:
    if is_traced(scale) or (isinstance(scale, jax.Array) and scale.ndim > 0):
        return scale
    return check_scalar(scale, name="scale", lower=0.0, lower_inclusive=False)


def _scores(x: Any, name: str) -> Array:
    if jnp.iscomplexobj(x):
        raise TypeError(f"{name} must be real; got {describe(x)}.")
    return as_array(x, name=name, ndim=1, shape_hint="(batch,)")


def _weighted_mean(values: Array, weights: Any, n: int) -> Array:
    if weights is None:
        return jnp.mean(values)
    w = as_array(weights, name="weights", ndim=1, shape_hint="(batch,)")
    if w.shape[0] != n:
        raise ValueError(
            f"weights must have one entry per pair, length {n}; got shape "
            f"{tuple(w.shape)}."
        )
    if not is_traced(w) and bool(np.any(np.asarray(w) < 0)):
        raise ValueError("weights must be non-negative; got a negative entry.")
    return jnp.sum(w * values) / jnp.sum(w)


def _bt(winner: Array, loser: Array, scale: Any, weights: Any) -> Array:
    if winner.shape != loser.shape:
        raise ValueError(
            "the winner and loser scores must have the same shape; got "
            f"{tuple(winner.shape)} and {tuple(loser.shape)}."
        )
    return _weighted_mean(
        jax.nn.softplus(-scale * (winner - loser)) / scale, weights, winner.shape[0]
    )


def bt_conditional_loss(
    f_real: ArrayLike,
    f_fake: ArrayLike,
    *,
    scale: Any = 1.0,
    weights: ArrayLike | None = None,
) -> Array:
    r"""BT-C: a real sample should beat a generated one under the same condition.

    Parameters
    ----------
    f_real : array_like of shape (B,)
        Scores :math:`\tilde f(x, y)` of real pairs (use ``SonaOutput.f_bt`` so
        that the naturalness part is held fixed).
    f_fake : array_like of shape (B,)
        Scores :math:`\tilde f(x_g, y)` of generated samples for the same
        conditions.
    scale : float, default=1.0
        The margin scale :math:`s > 0` (the adaptive weighting's
        :math:`s_{\mathrm{BT\text{-}C}}`).
    weights : array_like of shape (B,), optional
        Non-negative pair weights (a weighted mean; for exact expectations
        over an enumerated law).

    Returns
    -------
    jax.Array
        :math:`\mathbb{E}\,[-\log\sigma(s(\tilde f(x, y) - \tilde f(x_g,
        y)))]/s`.

    Raises
    ------
    ValueError
        If the scores are not 1-D of equal length, ``scale <= 0``, or the
        weights are negative or of the wrong length.
    TypeError
        If a score array is complex.

    See Also
    --------
    bt_mismatch_loss : The mismatch (BT-M) term.

    Notes
    -----
    Bradley–Terry: :math:`P(x_w \succ x_l \mid y) = \sigma(f(x_w, y) -
    f(x_l, y))`; the winner is always the real joint pair. The paper shows
    that at the optimum (with :math:`p_g(x) = p(x)`) the term measures a
    divergence between :math:`p(x\mid y)` and :math:`p_g(x \mid y)`.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> print(round(float(sona.bt_conditional_loss(jnp.zeros(4), jnp.zeros(4))), 6))
    0.693147
    """
    s = _check_scale(scale)
    return _bt(_scores(f_real, "f_real"), _scores(f_fake, "f_fake"), s, weights)


def bt_mismatch_loss(
    f_matched: ArrayLike,
    f_mismatched: ArrayLike,
    *,
    scale: Any = 1.0,
    weights: ArrayLike | None = None,
) -> Array:
    r"""BT-M: a matched real pair should beat a mismatched one.

    Parameters
    ----------
    f_matched : array_like of shape (B,)
        Scores :math:`\tilde f(x, y)` of real joint pairs.
    f_mismatched : array_like of shape (B,)
        Scores of the losers: :math:`\tilde f(x', y)` with :math:`x' \sim
        p(x)` another real sample (the paper's BT-M), or :math:`\tilde f(x,
        y')` with a mismatched label :math:`y' \ne y` (the label form).
    scale : float, default=1.0
        The margin scale :math:`s > 0`.
    weights : array_like of shape (B,), optional
        Non-negative pair weights.

    Returns
    -------
    jax.Array
        :math:`\mathbb{E}\,[-\log\sigma(s(\tilde f_{\text{matched}} -
        \tilde f_{\text{mismatched}}))]/s`.

    Raises
    ------
    ValueError
        If the scores are not 1-D of equal length, ``scale <= 0``, or the
        weights are negative or of the wrong length.
    TypeError
        If a score array is complex.

    See Also
    --------
    bt_conditional_loss, sample_mismatched

    Notes
    -----
    With the loser drawn from the data marginal, the population minimiser
    over free scores satisfies :math:`s\,f(x, y) = \log p(x\mid y) - \log
    p(x) + c(y)` (the paper's proposition; the per-condition constant cancels
    in every comparison). Our tests check this on an enumerated discrete law.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> # all class embeddings equal: matched and mismatched scores coincide
    >>> print(round(float(sona.bt_mismatch_loss(jnp.ones(3), jnp.ones(3))), 6))
    0.693147
    """
    s = _check_scale(scale)
    return _bt(
        _scores(f_matched, "f_matched"),
        _scores(f_mismatched, "f_mismatched"),
        s,
        weights,
    )


def san_naturalness_loss(
    out_real: SonaOutput | SanOutput,
    out_fake: SonaOutput | SanOutput,
    *,
    kind: SanKind = "logistic",
    scale: Any = 1.0,
) -> Array:
    r"""The SAN discriminator loss on the naturalness term.

    Parameters
    ----------
    out_real : SonaOutput or SanOutput
        Head outputs on real samples.
    out_fake : SonaOutput or SanOutput
        Head outputs on generated samples.
    kind : {"logistic", "hinge"}, default="logistic"
        The loss on the function output: logistic (SONA builds every term on
        the original GAN's :math:`\log\sigma`) or hinge (the SAN reference
        code's).
    scale : float, default=1.0
        Margin scale :math:`s > 0`: :math:`-\log\sigma(s t)/s` (and
        :math:`\mathrm{relu}(1 - s t)/s` for the hinge).

    Returns
    -------
    jax.Array
        The loss: function part plus direction part.

    Raises
    ------
    TypeError
        If the outputs are not :class:`SonaOutput` / :class:`SanOutput`.
    ValueError
        If ``kind`` is unknown or ``scale <= 0``.

    See Also
    --------
    sona_apply, san_projection_apply

    Notes
    -----
    For the logistic kind,

    .. math::

       L = \mathbb{E}_{\text{real}}[\mathrm{sp}(-s f^{\mathrm{fun}})]/s
       + \mathbb{E}_{\text{fake}}[\mathrm{sp}(s f^{\mathrm{fun}})]/s
       - \mathbb{E}_{\text{real}}[f^{\mathrm{dir}}]
       + \mathbb{E}_{\text{fake}}[f^{\mathrm{dir}}],

    :math:`\mathrm{sp}(t) = \log(1 + e^t)`. Because :math:`f^{\mathrm{fun}}`
    holds the direction fixed and :math:`f^{\mathrm{dir}}` the features, the
    features are trained by the first two terms only and the direction by the
    last two only (Takida et al., arXiv:2301.12811).

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> p = sona.sona_init(jax.random.key(0), 4, num_classes=2)
    >>> y = jnp.array([0, 1])
    >>> real = sona.sona_apply(p, jnp.ones((2, 4)), y)
    >>> loss = sona.san_naturalness_loss(real, real)
    >>> print(round(float(loss), 4) >= 2 * 0.6931)
    True
    """
    check_in(kind, name="kind", options=("logistic", "hinge"))
    s = _check_scale(scale)
    fr, dr = _san_parts(out_real, "out_real")
    ff, df = _san_parts(out_fake, "out_fake")
    return _san_loss(fr, dr, ff, df, kind, s)


def _san_parts(out: Any, name: str) -> tuple[Array, Array]:
    if isinstance(out, SonaOutput):
        return out.f_nat_fun, out.f_nat_dir
    if isinstance(out, SanOutput):
        return out.f_fun, out.f_dir
    raise TypeError(f"{name} must be a SonaOutput or SanOutput; got {describe(out)}.")


def _san_loss(
    fun_real: Array,
    dir_real: Array,
    fun_fake: Array,
    dir_fake: Array,
    kind: str,
    s: Any,
) -> Array:
    if kind == "logistic":
        fun = (
            jnp.mean(jax.nn.softplus(-s * fun_real))
            + jnp.mean(jax.nn.softplus(s * fun_fake))
        ) / s
    else:
        fun = (
            jnp.mean(jax.nn.relu(1.0 - s * fun_real))
            + jnp.mean(jax.nn.relu(1.0 + s * fun_fake))
        ) / s
    return fun - jnp.mean(dir_real) + jnp.mean(dir_fake)


def sample_mismatched(
    key: KeyArray, cond: ArrayLike, num_classes: int | None = None
) -> Array:
    r"""Mismatched conditions: :math:`y' \ne y` uniformly, or a shuffle of the batch.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    cond : array_like of int of shape (B,) or of float of shape (B, E)
        Class ids, or continuous condition vectors.
    num_classes : int, optional
        :math:`C \ge 2`; required for class ids. Each :math:`y'` is uniform
        over the :math:`C - 1` classes other than :math:`y`.

    Returns
    -------
    jax.Array
        Class ids of shape ``(B,)``, or the condition vectors rolled by a
        random shift in ``[1, B-1]`` (no row keeps its own vector; identical
        captions in a batch are not detected).

    Raises
    ------
    ValueError
        If ``num_classes < 2`` (or missing for class ids), class ids are out of
        range, or continuous conditions have ``B < 2``.
    TypeError
        If ``key`` is not a PRNG key.

    See Also
    --------
    bt_mismatch_loss

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> y = jnp.array([0, 1, 2, 3] * 8)
    >>> y2 = sona.sample_mismatched(jax.random.key(0), y, 4)
    >>> bool(jnp.all(y2 != y)), bool(jnp.all((y2 >= 0) & (y2 < 4)))
    (True, True)
    """
    key = check_key(key)
    if _is_int_cond(cond):
        if num_classes is None:
            raise ValueError(
                "num_classes must be given for class-id conditions (it sets the "
                "range of y'); got None."
            )
        c = check_scalar(num_classes, name="num_classes", kind=int)
        if c < 2:
            raise ValueError(
                f"num_classes must be >= 2 to draw a mismatched class; got {c}."
            )
        y = jnp.asarray(cond)
        if y.ndim != 1:
            raise ValueError(f"cond must be 1-D class ids; got shape {tuple(y.shape)}.")
        if not is_traced(y) and y.size:
            yy = np.asarray(y)
            if yy.min() < 0 or yy.max() >= c:
                raise ValueError(
                    f"cond holds class ids in [0, {c}); got values in "
                    f"[{int(yy.min())}, {int(yy.max())}]."
                )
        return _mismatch_labels(key, y.astype(jnp.int32), c)
    cvec = as_array(cond, name="cond", ndim=2, shape_hint="(batch, cond_dim)")
    if cvec.shape[0] < 2:
        raise ValueError(
            "cond must hold at least 2 rows to shuffle continuous conditions "
            f"into mismatched pairs; got shape {tuple(cvec.shape)}."
        )
    return cvec[_partner_index(key, cvec.shape[0])]


def _uniform_int(key: KeyArray, shape: tuple[int, ...], low: int, high: int) -> Array:
    """Integers uniform in [low, high) from one draw of 32 random bits each.

    The modulo bias is at most (high - low) / 2**32; one draw compiles to one
    generator where :func:`jax.random.randint` compiles three.
    """
    bits = jax.random.bits(key, shape, jnp.uint32)
    return (low + (bits % jnp.uint32(high - low))).astype(jnp.int32)


def _mismatch_labels(key: KeyArray, y: Array, num_classes: int) -> Array:
    shift = _uniform_int(key, y.shape, 1, num_classes)
    return ((y + shift) % num_classes).astype(y.dtype)


def _partner_shift(key: KeyArray, batch: int) -> Array:
    """The shift k, uniform in [1, B-1], of the partner pairing."""
    return _uniform_int(key, (), 1, batch)


def _partner_index(key: KeyArray, batch: int) -> Array:
    """Row i is paired with row (i + k) mod B, k uniform in [1, B-1]."""
    return (jnp.arange(batch) + _partner_shift(key, batch)) % batch


# --------------------------------------------------------------------------
# discriminator and generator losses
# --------------------------------------------------------------------------


def _check_params(params: Any) -> SonaDiscriminatorParams:
    if not isinstance(params, SonaDiscriminatorParams):
        raise TypeError(
            "params_D must be SonaDiscriminatorParams(phi, head, weighting); got "
            f"{describe(params)}."
        )
    if not isinstance(params.head, SonaHeadParams):
        raise TypeError(
            f"params_D.head must be SonaHeadParams; got {describe(params.head)}."
        )
    return params


def _features(phi_apply: PhiApply, phi: Any, x: Array, name: str) -> Array:
    h = jnp.asarray(phi_apply(phi, x))
    if h.ndim != 2 or h.shape[0] != x.shape[0]:
        raise ValueError(
            f"phi_apply(params_D.phi, {name}) must return features of shape "
            f"(batch, feature_dim) = ({x.shape[0]}, D); got shape {tuple(h.shape)}."
        )
    return h


def _check_batch(x: Any, name: str) -> Array:
    if jnp.iscomplexobj(x):
        raise TypeError(f"{name} must be real; got {describe(x)}.")
    return as_array(x, name=name, min_ndim=1)


def _check_pair(x_real: Array, x_fake: Array) -> None:
    n = x_real.shape[0]
    if x_fake.shape[1:] != x_real.shape[1:]:
        raise ValueError(
            "x_fake must have the sample shape of x_real "
            f"{tuple(x_real.shape[1:])}; got shape {tuple(x_fake.shape)}."
        )
    if x_fake.shape[0] != n:
        raise ValueError(
            f"x_fake must have one generated sample per condition, {n} rows; got "
            f"shape {tuple(x_fake.shape)}."
        )


def _joint_features(
    params: SonaDiscriminatorParams,
    phi_apply: PhiApply,
    x_real: Array,
    x_fake: Array,
    dim: int,
) -> Array:
    """Features of the stacked batch ``(x_real; x_fake)``, shape (2B, D).

    One phi call for the discriminator step, where both batches need
    gradients.
    """
    both = jnp.concatenate([x_real, x_fake.astype(x_real.dtype)], axis=0)
    h = _features(phi_apply, params.phi, both, "concat(x_real, x_fake)")
    return _check_features(h, dim)


def _separate_features(
    params: SonaDiscriminatorParams,
    phi_apply: PhiApply,
    x_real: Array,
    x_fake: Array,
    dim: int,
) -> tuple[Array, Array]:
    """Features of real and of generated samples by two phi calls.

    The generator step: differentiating with respect to ``x_fake`` then
    back-propagates through ``x_fake``'s rows only, and the real rows, which
    do not depend on the generator, get a forward pass only.
    """
    h_real = _check_features(_features(phi_apply, params.phi, x_real, "x_real"), dim)
    xf = x_fake.astype(x_real.dtype)
    return h_real, _check_features(_features(phi_apply, params.phi, xf, "x_fake"), dim)


def _rowdot(a: Array, b: Array) -> Array:
    return jnp.sum(a * b, axis=-1)


def sona_discriminator_loss(
    params_D: SonaDiscriminatorParams,
    phi_apply: PhiApply,
    x_real: ArrayLike,
    y: ArrayLike,
    x_fake: ArrayLike,
    key: KeyArray,
    *,
    weighting: LossWeighting | None = None,
    mismatch: Mismatch = "marginal",
    num_classes: int | None = None,
    san_loss: SanKind = "logistic",
    keep_scale: bool = False,
    cond_encoder: CondEncoder | None = None,
) -> tuple[Array, dict[str, Array]]:
    r"""The SONA discriminator loss: SAN + BT-C + BT-M, combined by a weighting rule.

    Parameters
    ----------
    params_D : SonaDiscriminatorParams
        Feature-extractor parameters, head and weighting state.
    phi_apply : callable
        ``phi_apply(params_D.phi, x) -> (B, D)`` features; any JAX callable
        (a plain function, a flax ``Module.apply``, an equinox model
        wrapper).
    x_real : array_like of shape (B, ...)
        Real samples.
    y : array_like of int of shape (B,) or float of shape (B, E)
        Their conditions.
    x_fake : array_like of shape (B, ...)
        Generated samples for the same conditions, :math:`x_g \sim
        p_g(\cdot \mid y)` (treat them as constants: pass
        ``jax.lax.stop_gradient`` of the generator output).
    key : jax.Array
        PRNG key for the mismatch pairing.
    weighting : LossWeighting, optional
        Default :func:`adaptive_scales`. Its state is ``params_D.weighting``.
    mismatch : {"marginal", "label"}, default="marginal"
        BT-M's loser: another real sample of the batch paired with ``y`` (the
        paper's data-marginal loser), or the same sample with a mismatched
        condition (:func:`sample_mismatched`).
    num_classes : int, optional
        Needed for ``mismatch="label"`` with class ids (default: the number
        of rows of the class table).
    san_loss : {"logistic", "hinge"}, default="logistic"
        The SAN function loss (see :func:`san_naturalness_loss`).
    keep_scale : bool, default=False
        See :func:`sona_apply`.
    cond_encoder : callable, optional
        See :func:`sona_apply`.

    Returns
    -------
    loss : jax.Array
        The scalar to minimise (with :func:`jax.value_and_grad`, ``has_aux``).
    aux : dict
        ``"san"``, ``"bt_c"``, ``"bt_m"`` (each at its scale), the
        weighting's ``"scales"`` or ``"weights"``, and the mean naturalness
        of real and fake samples (``"nat_real"``, ``"nat_fake"``).

    Raises
    ------
    ValueError
        On inconsistent shapes, unknown options, class ids out of range,
        ``mismatch="marginal"`` or shuffled continuous conditions with fewer
        than 2 rows, or ``num_classes < 2`` for label mismatches.
    TypeError
        If ``params_D`` is not :class:`SonaDiscriminatorParams`, ``phi_apply``
        is not callable, or ``weighting`` lacks the protocol's methods.

    See Also
    --------
    sona_generator_loss, sona_apply, adaptive_scales

    Notes
    -----
    Gradients: the SAN split sends the function loss to the features and the
    Wasserstein term to :math:`\omega` only; both BT terms use
    :math:`\tilde f = \mathrm{sg}(f^N) + f^A` with :math:`\omega` held fixed
    inside :math:`\Pi^\perp_\omega`, so they train the features and the
    condition embedding, never :math:`\omega`.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> phi = lambda W, x: jnp.tanh(x @ W)
    >>> params = sona.SonaDiscriminatorParams(
    ...     phi=jax.random.normal(jax.random.key(0), (2, 8)),
    ...     head=sona.sona_init(jax.random.key(1), 8, num_classes=3),
    ...     weighting=sona.adaptive_scales().init(3))
    >>> x = jax.random.normal(jax.random.key(2), (16, 2))
    >>> y = jnp.arange(16) % 3
    >>> loss, aux = sona.sona_discriminator_loss(params, phi, x, y, -x,
    ...                                          jax.random.key(3))
    >>> sorted(aux)
    ['bt_c', 'bt_m', 'losses', 'nat_fake', 'nat_real', 'san', 'scales']
    """
    params = _check_params(params_D)
    check_callable(phi_apply, name="phi_apply")
    key = check_key(key)
    check_in(mismatch, name="mismatch", options=("marginal", "label"))
    check_in(san_loss, name="san_loss", options=("logistic", "hinge"))
    w = _check_weighting(weighting)
    xr = _check_batch(x_real, "x_real")
    xf = _check_batch(x_fake, "x_fake")
    n = xr.shape[0]
    _check_pair(xr, xf)
    if mismatch == "marginal" and n < 2:
        raise ValueError(
            "x_real must hold at least 2 samples for mismatch='marginal' (the "
            f"loser is another real sample); got shape {tuple(xr.shape)}."
        )
    u = _check_direction(params.head.u)
    d = u.shape[0]
    sg = jax.lax.stop_gradient
    if mismatch == "marginal":
        # the loser of row i is the real row (i + k) mod n (see _partner_index)
        k = _partner_shift(key, n)
        y_mis = None
    elif cond_encoder is None and _is_int_cond(y):
        rows = jnp.shape(params.head.embed)[0]
        c = rows if num_classes is None else num_classes
        if isinstance(c, int | np.integer) and c > rows:
            raise ValueError(
                f"num_classes must be at most the {rows} rows of the class table "
                f"params.head.embed (mismatched labels index it); got {c}."
            )
        y_mis = sample_mismatched(key, y, c)
    else:
        y_mis = sample_mismatched(key, y)
    omega, norm_u = _normalize(u)
    om = sg(omega)
    # f^A(x, y) = <p_y, h(x)> with p_y = Pi_perp(omega) omega_y (see
    # _project_out): the condition directions are projected once and shared
    # by the real, generated and loser scores
    table = _class_table(params.head.embed, y, n, d, cond_encoder)
    dense = table is not None and table[0].shape[0] <= _DENSE_MAX_CLASSES
    if dense:
        tab, ids = table  # type: ignore[misc]
        num_c = tab.shape[0]
        dirs = _project_out(tab, om)  # (C, D)
        h = _joint_features(params, phi_apply, xr, xf, d)
        # one product gives f^N (column 0, omega held fixed) and f^A under
        # every class for all 2n rows
        scores = h @ jnp.concatenate([om[None, :], dirs]).T  # (2n, 1 + C)
        nat_fun = scores[:, 0]
        per_class = scores[:, 1:].reshape(2, n, num_c)
        f_align = jnp.sum(
            per_class * jax.nn.one_hot(ids, num_c, dtype=h.dtype)[None], -1
        )
        if y_mis is None:
            loser = jax.nn.one_hot(jnp.roll(ids, k), num_c, dtype=h.dtype)
        else:
            loser = jax.nn.one_hot(y_mis, num_c, dtype=h.dtype)
        f_align_loser = jnp.sum(per_class[0] * loser, axis=-1)
    else:
        if table is not None:
            p_tab = _project_out(table[0], om)
            p = p_tab[table[1]]
            p_mis = None if y_mis is None else p_tab[y_mis]
        else:
            e = _condition_vectors(params.head.embed, y, n, d, cond_encoder)
            p = _project_out(e, om)
            p_mis = (
                None
                if y_mis is None
                else _project_out(
                    _condition_vectors(params.head.embed, y_mis, n, d, cond_encoder),
                    om,
                )
            )
        # the loser rows' directions; marginal: q_j = p_{j - k}
        p_loser = jnp.roll(p, k, axis=0) if p_mis is None else p_mis
        h = _joint_features(params, phi_apply, xr, xf, d)
        nat_fun = h @ om
        f_align = jnp.sum(h.reshape(2, n, d) * p[None], axis=-1)  # (2, n)
        f_align_loser = _rowdot(p_loser, h[:n])
    if keep_scale:
        nat_fun = norm_u[0] * nat_fun
        sh = norm_u[0] * h
    else:
        sh = h
    # nat_fun: SAN "function" output <sg(omega), s h>, trains phi (and the
    # scale). The "direction" outputs <omega, sg(s h)> enter only through the
    # linear Wasserstein term E_fake - E_real, which is <omega, mean_fake
    # sg(s h) - mean_real sg(s h)>: it trains omega only
    mean_sh = jnp.mean(sg(sh).reshape(2, n, d), axis=1)
    wasserstein = (mean_sh[1] - mean_sh[0]) @ omega
    nat = sg(nat_fun).reshape(2, n)  # f^N, held fixed in both BT terms
    nat_real, nat_fake = nat[0], nat[1]
    # f~ = sg(f^N) + f^A of the real and generated rows under their own y
    f_real = nat_real + f_align[0]
    margin_c = f_real - (nat_fake + f_align[1])
    if y_mis is None:
        # f_align_loser[j] scores real row j under the condition of row
        # j - k, so row i's loser, real row i + k under y_i, sits at i + k
        margin_m = f_real - jnp.roll(nat_real + f_align_loser, -k)
    else:
        # same sample, two conditions: the naturalness parts cancel exactly
        margin_m = f_align[0] - f_align_loser

    fun = nat_fun.reshape(2, n)

    def term_losses(scales: Array) -> Array:
        s = scales.astype(margin_c.dtype)
        if san_loss == "logistic":
            # every -log sigma(s t)/s term in one pass: rows are the SAN real
            # and fake terms, BT-C and BT-M
            t = jnp.stack([fun[0], -fun[1], margin_c, margin_m])
            scale = jnp.stack([s[0], s[0], s[1], s[2]])
            m = jnp.mean(jax.nn.softplus(-scale[:, None] * t), axis=1) / scale
            return jnp.stack([m[0] + m[1] + wasserstein, m[2], m[3]])
        hinge = jnp.mean(jax.nn.relu(1.0 - s[0] * fun[0])) + jnp.mean(
            jax.nn.relu(1.0 + s[0] * fun[1])
        )
        san = hinge / s[0] + wasserstein
        t = jnp.stack([margin_c, margin_m])
        m = jnp.mean(jax.nn.softplus(-s[1:3, None] * t), axis=1) / s[1:3]
        return jnp.concatenate([san[None], m])

    total, aux = w.combine(term_losses, params.weighting)
    vals = aux["losses"]
    aux = {
        **aux,
        "san": vals[0],
        "bt_c": vals[1],
        "bt_m": vals[2],
        "nat_real": jnp.mean(nat_real),
        "nat_fake": jnp.mean(nat_fake),
    }
    return total, aux


def sona_generator_loss(
    params_D: SonaDiscriminatorParams,
    phi_apply: PhiApply,
    x_fake: ArrayLike,
    y: ArrayLike,
    x_real: ArrayLike,
    *,
    weighting: LossWeighting | None = None,
    align_weight: float = 1.0,
    san_loss: SanKind = "logistic",
    keep_scale: bool = False,
    cond_encoder: CondEncoder | None = None,
) -> tuple[Array, dict[str, Array]]:
    r"""The SONA generator loss :math:`J_{\mathrm{SAN}} + J_{\mathrm{BT\text{-}C}}`.

    Parameters
    ----------
    params_D : SonaDiscriminatorParams
        The discriminator (held fixed: differentiate with respect to the
        generator parameters that produced ``x_fake``).
    phi_apply : callable
        ``phi_apply(params_D.phi, x) -> (B, D)``.
    x_fake : array_like of shape (B, ...)
        Generated samples :math:`G(z, y)`.
    y : array_like of int of shape (B,) or float of shape (B, E)
        Their conditions.
    x_real : array_like of shape (B, ...)
        Real samples with the same conditions (BT-C compares the two).
    weighting : LossWeighting, optional
        The discriminator's rule (default :func:`adaptive_scales`); the
        generator uses its current scales, held fixed.
    align_weight : float, default=1.0
        Weight of :math:`J_{\mathrm{BT\text{-}C}}` (>= 0).
    san_loss : {"logistic", "hinge"}, default="logistic"
        Logistic: the non-saturating :math:`-\log\sigma(s f^N)/s`; hinge:
        :math:`-f^N` (the SAN reference code's generator loss).
    keep_scale : bool, default=False
        See :func:`sona_apply`.
    cond_encoder : callable, optional
        See :func:`sona_apply`.

    Returns
    -------
    loss : jax.Array
        The scalar to minimise.
    aux : dict
        ``"san"`` and ``"bt_c"``.

    Raises
    ------
    ValueError
        On inconsistent shapes, unknown options or ``align_weight < 0``.
    TypeError
        If ``params_D`` is not :class:`SonaDiscriminatorParams` or
        ``phi_apply`` is not callable.

    See Also
    --------
    sona_discriminator_loss

    Notes
    -----
    :math:`J_{\mathrm{BT\text{-}C}} = \mathbb{E}[-\log\sigma(s(\tilde f(x_g,
    y) - \tilde f(x, y)))]/s`, BT-C with real and generated swapped, with the
    naturalness part held fixed, so the generator's alignment gradient comes
    through :math:`f^A` only and its naturalness gradient through
    :math:`J_{\mathrm{SAN}}` only.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> phi = lambda W, x: jnp.tanh(x @ W)
    >>> params = sona.SonaDiscriminatorParams(
    ...     phi=jax.random.normal(jax.random.key(0), (2, 8)),
    ...     head=sona.sona_init(jax.random.key(1), 8, num_classes=3),
    ...     weighting=sona.adaptive_scales().init(3))
    >>> x = jax.random.normal(jax.random.key(2), (16, 2))
    >>> loss, aux = sona.sona_generator_loss(params, phi, -x, jnp.arange(16) % 3, x)
    >>> loss.shape
    ()
    """
    params = _check_params(params_D)
    check_callable(phi_apply, name="phi_apply")
    check_in(san_loss, name="san_loss", options=("logistic", "hinge"))
    aw = _check_align_weight(align_weight)
    w = _check_weighting(weighting)
    xf = _check_batch(x_fake, "x_fake")
    xr = _check_batch(x_real, "x_real")
    _check_pair(xr, xf)
    u = _check_direction(params.head.u)
    n, d = xr.shape[0], u.shape[0]
    sg = jax.lax.stop_gradient
    omega, norm_u = _normalize(u)
    om = sg(omega)
    table = _class_table(params.head.embed, y, n, d, cond_encoder)
    if table is not None and table[0].shape[0] <= _DENSE_MAX_CLASSES:
        tab, ids = table
        # f^N (column 0) and f^A under every class in one product per batch
        heads = jnp.concatenate([omega[None, :], _project_out(tab, om)]).T
        onehot = jax.nn.one_hot(ids, tab.shape[0], dtype=heads.dtype)
        h_real, h_fake = _separate_features(params, phi_apply, xr, xf, d)
        s_real, s_fake = h_real @ heads, h_fake @ heads
        nat_real, nat_fake = s_real[:, 0], s_fake[:, 0]
        align = jnp.sum((s_fake[:, 1:] - s_real[:, 1:]) * onehot, axis=-1)
    else:
        if table is not None:
            p = _project_out(table[0], om)[table[1]]
        else:
            e = _condition_vectors(params.head.embed, y, n, d, cond_encoder)
            p = _project_out(e, om)
        h_real, h_fake = _separate_features(params, phi_apply, xr, xf, d)
        nat_real, nat_fake = h_real @ omega, h_fake @ omega
        align = _rowdot(p, h_fake - h_real)
    if keep_scale:  # f^N = <omega, s h> with s = ||u||
        nat_real, nat_fake = norm_u[0] * nat_real, norm_u[0] * nat_fake
    # f~(x_g, y) - f~(x, y) with f~ = sg(f^N) + f^A
    margin = sg(nat_fake - nat_real) + align
    s = w.generator_scales(params.weighting).astype(nat_fake.dtype)
    if san_loss == "logistic":  # both -log sigma(s t)/s terms in one pass
        m = jnp.mean(jax.nn.softplus(-s[:2, None] * jnp.stack([nat_fake, margin])), 1)
        j_san, j_btc = m[0] / s[0], m[1] / s[1]
    else:
        j_san = -jnp.mean(nat_fake)
        j_btc = jnp.mean(jax.nn.softplus(-s[1] * margin)) / s[1]
    return j_san + aw * j_btc, {"san": j_san, "bt_c": j_btc}


def _check_align_weight(align_weight: Any) -> Any:
    if is_traced(align_weight):
        return align_weight
    return check_scalar(align_weight, name="align_weight", lower=0.0)

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
    _condition_vectors,
    _is_int_cond,
    _sona_core,
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


def _partner_index(key: KeyArray, batch: int) -> Array:
    """Row i is paired with row (i + k) mod B, k uniform in [1, B-1]."""
    k = _uniform_int(key, (), 1, batch)
    return (jnp.arange(batch) + k) % batch


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


def _features_and_conditions(
    params: SonaDiscriminatorParams,
    phi_apply: PhiApply,
    x_real: Array,
    x_fake: Array,
    y: Any,
    cond_encoder: CondEncoder | None,
    joint: bool = True,
) -> tuple[Array, Array, Array]:
    """Features of real and fake and the condition embeddings.

    ``joint``: one phi call on the stacked batches (the discriminator step,
    where both need gradients); otherwise two calls, so that differentiating
    with respect to ``x_fake`` back-propagates through ``x_fake``'s rows only
    (the generator step).
    """
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
    if joint:
        both = jnp.concatenate([x_real, x_fake.astype(x_real.dtype)], axis=0)
        h = _features(phi_apply, params.phi, both, "concat(x_real, x_fake)")
    else:
        h = jnp.concatenate(
            [
                _features(phi_apply, params.phi, x_real, "x_real"),
                _features(phi_apply, params.phi, x_fake.astype(x_real.dtype), "x_fake"),
            ],
            axis=0,
        )
    u = _check_direction(params.head.u)
    _check_features(h, u.shape[0])
    e = _condition_vectors(params.head.embed, y, n, u.shape[0], cond_encoder)
    return h[:n], h[n:], e


def _split(out: SonaOutput, parts: int) -> list[SonaOutput]:
    """Split a head output over stacked batches into ``parts`` outputs."""
    leaves = [jnp.split(v, parts) for v in jax.tree_util.tree_leaves(out)]
    tree = jax.tree_util.tree_structure(out)
    return [
        jax.tree_util.tree_unflatten(tree, [lv[i] for lv in leaves])
        for i in range(parts)
    ]


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
    h_real, h_fake, e = _features_and_conditions(
        params, phi_apply, xr, xf, y, cond_encoder
    )
    u = jnp.asarray(params.head.u)
    if mismatch == "marginal":
        if n < 2:
            raise ValueError(
                "x_real must hold at least 2 samples for mismatch='marginal' (the "
                f"loser is another real sample); got shape {tuple(xr.shape)}."
            )
        h_loser, e_loser = h_real[_partner_index(key, n)], e
    else:
        if cond_encoder is None and _is_int_cond(y):
            c = (
                num_classes
                if num_classes is not None
                else jnp.shape(params.head.embed)[0]
            )
            y_mis = sample_mismatched(key, y, c)
        else:
            y_mis = sample_mismatched(key, y)
        h_loser = h_real
        e_loser = _condition_vectors(
            params.head.embed, y_mis, n, u.shape[0], cond_encoder
        )
    # one pass of the head over the three stacked batches
    out_real, out_fake, loser = _split(
        _sona_core(
            u,
            jnp.concatenate([e, e, e_loser]),
            jnp.concatenate([h_real, h_fake, h_loser]),
            bool(keep_scale),
        ),
        3,
    )

    margin_c = out_real.f_bt - out_fake.f_bt
    margin_m = out_real.f_bt - loser.f_bt

    def term_losses(scales: Array) -> Array:
        s = scales.astype(margin_c.dtype)
        san = _san_loss(
            out_real.f_nat_fun,
            out_real.f_nat_dir,
            out_fake.f_nat_fun,
            out_fake.f_nat_dir,
            san_loss,
            s[0],
        )
        bt_c = jnp.mean(jax.nn.softplus(-s[1] * margin_c)) / s[1]
        bt_m = jnp.mean(jax.nn.softplus(-s[2] * margin_m)) / s[2]
        return jnp.stack([san, bt_c, bt_m])

    total, aux = w.combine(term_losses, params.weighting)
    vals = aux["losses"]
    aux = {
        **aux,
        "san": vals[0],
        "bt_c": vals[1],
        "bt_m": vals[2],
        "nat_real": jnp.mean(out_real.f_nat),
        "nat_fake": jnp.mean(out_fake.f_nat),
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
    h_real, h_fake, e = _features_and_conditions(
        params, phi_apply, xr, xf, y, cond_encoder, joint=False
    )
    out_real, out_fake = _split(
        _sona_core(
            jnp.asarray(params.head.u),
            jnp.concatenate([e, e]),
            jnp.concatenate([h_real, h_fake]),
            bool(keep_scale),
        ),
        2,
    )
    s = w.generator_scales(params.weighting).astype(out_fake.f.dtype)
    if san_loss == "logistic":
        j_san = jnp.mean(jax.nn.softplus(-s[0] * out_fake.f_nat)) / s[0]
    else:
        j_san = -jnp.mean(out_fake.f_nat)
    j_btc = jnp.mean(jax.nn.softplus(-s[1] * (out_fake.f_bt - out_real.f_bt))) / s[1]
    return j_san + aw * j_btc, {"san": j_san, "bt_c": j_btc}


def _check_align_weight(align_weight: Any) -> Any:
    if is_traced(align_weight):
        return align_weight
    return check_scalar(align_weight, name="align_weight", lower=0.0)

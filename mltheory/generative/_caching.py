r"""Partial caching: cheap sub-steps between full denoiser passes.

A choose-then-sample sampler decides *where* to reveal before it needs fresh
predictions, so between two full passes it can run extra sub-steps that only
recompute the positions revealed since the last full pass and the positions
about to be revealed, attending to cached keys/values for all others.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh

from mltheory._src._typing import Array, ArrayLike, KeyArray, PyTree
from mltheory._src._validation import check_callable, check_scalar, is_traced
from mltheory.generative._policies import (
    PositionPolicy,
    TemperatureTokens,
    TokenRule,
    select_positions,
)
from mltheory.generative._samplers import (
    CTSStep,
    SampleResult,
    cts_sample,
    join_callable,
    model_log_probs,
    prepare,
    split_callable,
)
from mltheory.generative._schedules import Schedule

__all__ = ["CachedDenoiser", "partial_cache_sample"]


@runtime_checkable
class CachedDenoiser(Protocol):
    """A denoiser that can reuse cached internals between passes.

    ``full(tokens, mask) -> (logits (B, L, V), cache)`` runs the whole
    network and returns a cache pytree; ``partial(cache, tokens, mask,
    recompute_idx (B, R), query_idx (B, Q)) -> (logits (B, Q, V), cache)``
    recomputes only the listed positions (``-1`` pads) against the cache and
    returns the logits at ``query_idx``. With every position recomputed,
    ``partial`` must equal ``full``. The object must also be a ``logits_fn``
    (``__call__(tokens, mask)``). :class:`~mltheory.generative.toy.TinyTransformer`
    is the reference implementation.

    Parameters
    ----------
    *args : Any
        Unused: a protocol describes an interface and is not instantiated.
    **kwargs : Any
        Unused.

    Examples
    --------
    >>> from mltheory import generative
    >>> from mltheory.generative import toy
    >>> cfg = toy.TransformerConfig(vocab=4, length=8, d_model=16, n_heads=2, d_ff=32)
    >>> isinstance(toy.TinyTransformer.init(jax.random.key(0), cfg),
    ...            generative.CachedDenoiser)
    True
    """

    def __call__(self, tokens: Array, mask: Array) -> Array:
        """Full-pass logits."""
        ...

    def full(self, tokens: Array, mask: Array) -> tuple[Array, PyTree]:
        """Full pass: logits and cache."""
        ...

    def partial(
        self,
        cache: PyTree,
        tokens: Array,
        mask: Array,
        recompute_idx: Array,
        query_idx: Array,
    ) -> tuple[Array, PyTree]:
        """Partial pass: logits at the query positions and the updated cache."""
        ...


def _pad_sizes(counts: Array, substeps: int, length: int) -> tuple[int, int]:
    """Static (R_max, Q_max): most positions recomputed / queried in a sub-step."""
    if substeps == 1:
        return 1, 1
    if is_traced(counts):
        return length, length
    k = np.asarray(counts).reshape(counts.shape[0], -1, substeps)
    since_full = np.cumsum(k, axis=2) - k  # revealed in the block before the sub-step
    r_max = int(since_full[:, :, 1:].max(initial=0))
    q_max = int(k[:, :, 1:].max(initial=0))
    return max(r_max, 1), max(q_max, 1)


def _indices(selected: Array, size: int) -> Array:
    """Indices of the True entries of each row, padded with -1 to ``size``."""
    return jax.vmap(lambda s: jnp.nonzero(s, size=size, fill_value=-1)[0])(selected)


def _cached_loop(
    rule_dynamic: tuple[Any, ...],
    den_dynamic: tuple[Any, ...],
    row_keys: Array,
    tokens: Array,
    masked: Array,
    counts: Array,
    *,
    rule_static: Any,
    den_static: Any,
    mask_id: int,
    vocab: int,
    num_full_steps: int,
    substeps: int,
    r_max: int,
    q_max: int,
    return_trajectory: bool,
) -> tuple[Array, Array, Any]:
    den = join_callable(den_dynamic, den_static)
    step_rule: CTSStep = join_callable(rule_dynamic, rule_static)
    n_rows, length = tokens.shape
    keys_at = jax.vmap(jax.random.fold_in, in_axes=(0, None))

    def apply(
        toks: Array, msk: Array, reveal: Array, selected: Array, drawn: Array, t: Array
    ) -> tuple[Array, Array, Array]:
        selected = selected & msk
        return (
            jnp.where(selected, drawn, toks),
            msk & ~selected,
            jnp.where(selected, t.astype(jnp.int32), reveal),
        )

    def block(carry: Any, f: Array) -> tuple[Any, Any]:
        toks, msk, reveal = carry
        t0 = f * substeps
        inputs = jnp.where(msk, mask_id, toks)
        logits, cache = den.full(inputs, msk)
        stale = model_log_probs(logits, msk, vocab)
        selected, drawn = jax.vmap(step_rule, in_axes=(0, 0, 0, 0, None))(
            keys_at(row_keys, t0), stale, msk, counts[:, t0], t0
        )
        toks, msk, reveal = apply(toks, msk, reveal, selected, drawn, t0)
        first_state = jnp.where(msk, mask_id, toks)

        def sub(carry: Any, s: Array) -> tuple[Any, Any]:
            toks, msk, reveal, since_full, cache = carry
            t = t0 + s
            keys = keys_at(row_keys, t)
            key_pos, key_tok = jax.vmap(jax.random.split, out_axes=1)(keys)
            # choose with the stale (cached) scores, then query fresh logits there
            chosen = (
                jax.vmap(
                    partial(select_positions, step_rule.policy, max_k=step_rule.max_k),
                    in_axes=(0, 0, 0, 0, None),
                )(key_pos, stale, msk, counts[:, t], t)
                & msk
            )
            r_idx = _indices(since_full, r_max)
            q_idx = _indices(chosen, q_max)
            inputs = jnp.where(msk, mask_id, toks)
            q_logits, cache = den.partial(cache, inputs, msk, r_idx, q_idx)
            q_lp = jax.nn.log_softmax(
                q_logits[..., :vocab].astype(
                    jnp.promote_types(q_logits.dtype, jnp.float32)
                ),
                axis=-1,
            )
            q_tok = jax.vmap(step_rule.token_rule, in_axes=(0, 0, None))(
                key_tok, q_lp, t
            )
            write = jnp.where(q_idx >= 0, q_idx, length)
            rows = jnp.arange(n_rows)[:, None]
            drawn = jnp.zeros_like(toks).at[rows, write].set(q_tok, mode="drop")
            toks, msk, reveal = apply(toks, msk, reveal, chosen, drawn, t)
            state = jnp.where(msk, mask_id, toks) if return_trajectory else None
            return (toks, msk, reveal, since_full | chosen, cache), state

        init = (toks, msk, reveal, selected, cache)
        (toks, msk, reveal, _, _), states = lax.scan(sub, init, jnp.arange(1, substeps))
        if return_trajectory:
            states = jnp.concatenate([first_state[None], states], axis=0)
        return (toks, msk, reveal), states

    start = jnp.full(tokens.shape, -1, dtype=jnp.int32)
    init = (jnp.where(masked, 0, tokens), masked, start)
    (toks, _, reveal), traj = lax.scan(block, init, jnp.arange(num_full_steps))
    if return_trajectory:
        # (T, S, B, L) -> (B, T * S, L), step index f * S + s
        traj = jnp.swapaxes(jnp.reshape(traj, (-1, n_rows, length)), 0, 1)
    return toks, reveal, traj


_cached_jit = jax.jit(
    _cached_loop,
    static_argnames=(
        "rule_static",
        "den_static",
        "mask_id",
        "vocab",
        "num_full_steps",
        "substeps",
        "r_max",
        "q_max",
        "return_trajectory",
    ),
)


def _cost(counts: Array, substeps: int, length: int) -> Array:
    """Full-pass equivalents: 1 per full pass, (|R| + |Q|) / L per sub-step."""
    k = jnp.reshape(counts, (counts.shape[0], -1, substeps)).astype(
        jnp.result_type(float)
    )
    since_full = jnp.cumsum(k, axis=2) - k
    sub = jnp.sum((since_full + k)[:, :, 1:], axis=(1, 2)) / length
    return k.shape[1] + jnp.mean(sub)


def partial_cache_sample(
    key: KeyArray,
    denoiser: Any,
    tokens: ArrayLike,
    *,
    mask_id: int,
    num_full_steps: int,
    substeps: int,
    position_policy: PositionPolicy,
    token_rule: TokenRule | None = None,
    schedule: Schedule = "cosine",
    mode: Literal["google", "exact"] = "google",
    return_trajectory: bool = False,
    mesh: Mesh | None = None,
) -> SampleResult:
    r"""Choose-then-sample decoding with partial caching between full passes.

    The trajectory has ``num_full_steps * substeps`` reveal steps (counts
    from ``schedule``). Each block starts with a full pass (fresh logits and
    a per-layer K/V cache) and a normal CTS step; each of the next
    ``substeps - 1`` sub-steps chooses positions with ``position_policy``
    applied to the block's (stale) logits, runs a partial pass that
    recomputes the positions revealed since the full pass and the chosen
    ones against the cache, and samples tokens from those fresh logits.

    Parameters
    ----------
    key : jax.Array
        A PRNG key, or an array of ``B`` keys (one per row).
    denoiser : CachedDenoiser or callable
        A :class:`CachedDenoiser` (e.g. ``toy.TinyTransformer``). A plain
        ``logits_fn`` has no cache: every sub-step then runs a full pass
        (exact CTS with ``num_full_steps * substeps`` steps, and that many
        NFE).
    tokens : array_like of int, shape (B, L) or (L,)
        The initial state, ``mask_id`` where masked.
    mask_id : int
        The mask token id, outside ``[0, V)``.
    num_full_steps : int
        Number of full passes :math:`T \ge 1`.
    substeps : int
        Reveal steps per full pass :math:`S \ge 1` (``1`` = no caching).
    position_policy : PositionPolicy
        The position policy (e.g. ``Moment(2.0)``).
    token_rule : TokenRule, default=None
        The token rule; ``None`` means ``TemperatureTokens(1.0)``.
    schedule : str or callable, default="cosine"
        The mask schedule over the ``T * S`` reveal steps.
    mode : {"google", "exact"}, default="google"
        Reveal-count rule.
    return_trajectory : bool, default=False
        Also return the state after each of the ``T * S`` steps.
    mesh : jax.sharding.Mesh, optional
        Split the batch of rows over the devices of this one-axis mesh
        (:func:`mltheory.numerics.make_mesh`): ``tokens`` must be 2-D with a
        number of rows that is a multiple of the number of devices. The
        result equals the one without a mesh.

    Returns
    -------
    SampleResult
        ``nfe`` is the number of full-pass equivalents:
        :math:`T + \sum_{\text{sub-steps}} (|R| + |Q|) / L` (row mean), with
        :math:`|R|` positions recomputed and :math:`|Q|` queried; ``info``
        has ``"k"``, ``"full_passes"`` and ``"padded_nfe"`` (the cost of the
        statically padded sizes actually computed).

    Raises
    ------
    ValueError
        If ``num_full_steps`` or ``substeps`` is < 1, ``T * S`` exceeds the
        number of masked positions (no clamping here), or any input error of
        :func:`~mltheory.generative.cts_sample`.
    TypeError
        If the policy, rule or denoiser is not callable or ``tokens`` is not
        an integer array.

    See Also
    --------
    mltheory.generative.cts_sample : The uncached loop (``substeps=1``
        gives the same result with the same key).
    mltheory.generative.toy.TinyTransformer : A denoiser with a K/V cache.

    Notes
    -----
    What is approximate: the keys/values of positions not recomputed have
    not seen the tokens revealed since the full pass, and the position
    scores of a sub-step are those of the full pass. The cost model counts
    a partial pass over :math:`U` of :math:`L` positions as :math:`U/L` of a
    full pass (projections and MLP scale with :math:`U`, attention with
    :math:`U L` instead of :math:`L^2`). This is our reconstruction of the
    paper's partial caching [1]_.

    References
    ----------
    .. [1] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory import generative
    >>> from mltheory.generative import toy
    >>> cfg = toy.TransformerConfig(vocab=4, length=8, d_model=16, n_layers=1,
    ...                             n_heads=2, d_ff=32)
    >>> model = toy.TinyTransformer.init(jax.random.key(0), cfg)
    >>> res = generative.partial_cache_sample(
    ...     jax.random.key(1), model, jnp.full((2, 8), 4), mask_id=4,
    ...     num_full_steps=2, substeps=2, position_policy=generative.Moment(2.0))
    >>> res.tokens.shape, round(float(res.nfe), 3)
    ((2, 8), 3.0)
    """
    n_full = check_scalar(num_full_steps, name="num_full_steps", kind=int, lower=1)
    n_sub = check_scalar(substeps, name="substeps", kind=int, lower=1)
    check_callable(position_policy, name="position_policy")
    rule = TemperatureTokens(1.0) if token_rule is None else token_rule
    check_callable(rule, name="token_rule")
    check_callable(denoiser, name="denoiser")
    if not isinstance(denoiser, CachedDenoiser):
        res = cts_sample(
            key,
            denoiser,
            tokens,
            mask_id=mask_id,
            num_steps=n_full * n_sub,
            position_policy=position_policy,
            token_rule=rule,
            schedule=schedule,
            mode=mode,
            return_trajectory=return_trajectory,
            strict=True,
            mesh=mesh,
        )
        return SampleResult(
            tokens=res.tokens,
            reveal_step=res.reveal_step,
            trajectory=res.trajectory,
            nfe=res.nfe,
            info={**res.info, "full_passes": res.nfe, "padded_nfe": res.nfe},
            num_steps=res.num_steps,
        )
    prep = prepare(
        key,
        denoiser,
        tokens,
        mask_id=mask_id,
        num_steps=n_full * n_sub,
        schedule=schedule,
        mode=mode,
        drop_mask_logit=False,
        strict=True,
        fn_name="denoiser",
        mesh=mesh,
    )
    length = prep.tokens.shape[1]
    r_max, q_max = _pad_sizes(prep.counts, n_sub, length)
    step = CTSStep(policy=position_policy, token_rule=rule, max_k=prep.max_k)
    den_dynamic, den_static = split_callable(denoiser, name="denoiser")
    rule_dynamic, rule_static = split_callable(step, name="position_policy")
    toks, reveal, traj = _cached_jit(
        rule_dynamic,
        den_dynamic,
        prep.row_keys,
        prep.tokens,
        prep.masked,
        prep.counts,
        rule_static=rule_static,
        den_static=den_static,
        mask_id=int(mask_id),
        vocab=prep.vocab,
        num_full_steps=n_full,
        substeps=n_sub,
        r_max=r_max,
        q_max=q_max,
        return_trajectory=return_trajectory,
    )
    if not prep.batched:
        toks, reveal = toks[0], reveal[0]
        traj = None if traj is None else traj[0]
    dtype = jnp.result_type(float)
    padded = n_full + n_full * (n_sub - 1) * min(r_max + q_max, length) / length
    return SampleResult(
        tokens=toks,
        reveal_step=reveal,
        trajectory=traj,
        nfe=_cost(prep.counts, n_sub, length).astype(dtype),
        info={
            "k": prep.counts if prep.batched else prep.counts[0],
            "full_passes": jnp.asarray(n_full, dtype=dtype),
            "padded_nfe": jnp.asarray(padded if n_sub > 1 else n_full, dtype=dtype),
        },
        num_steps=n_full * n_sub,
    )

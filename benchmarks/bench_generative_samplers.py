"""Masked-diffusion samplers on the tiny transformer (batch 64, L = 64, 12 steps).

The model is a float32 :class:`~mltheory.generative.toy.TinyTransformer`
(d = 64, 2 layers, 4 heads, V = 16), float32 as a JAX user would run it
(the runner enables float64, so the dtype is set explicitly).

* ``maskgit``: jitted ``maskgit_sample`` against the baseline
  :func:`eager_maskgit`: an eager (un-jitted) Python ``for`` loop over the 12
  steps with MaskGIT's reference semantics (google-research/maskgit
  ``parallel_decode.decode``: cosine schedule, ``floor`` counts, Gumbel scale
  annealed by ``1 - (t+1)/T``, known tokens at confidence ``+inf``, a sort
  threshold). The baseline's forward pass is NOT jitted: the model runs op by
  op under :func:`jax.disable_jit`; the per-step sampling ops are eager JAX
  ops (each dispatched on its own, as in any eager JAX loop). It uses the same
  random draws, so the tokens must agree exactly.
* ``moment``: jitted ``moment_sample`` against the same eager MaskGIT loop
  (same cost per step; the check is that every token is valid).
* ``linear_denoiser``: the same two comparisons with a trivial table-lookup
  denoiser, so the ratio shows the loop overhead alone.
* ``caching``: partial caching with 4 full passes x 4 sub-steps against full
  recomputation with 16 steps (same 16 reveal events), both jitted.
* ``forward``: one forward pass of the same model, eager (op by op) against
  jitted. Both decoders run this model once per step, so this ratio bounds
  the end-to-end one: the dense matmuls cost the same in both modes, and jit
  only saves the unfused element-wise passes and the per-op dispatch.

Both sides are timed after a warm-up call (``benchmarks/run.py``), so compile
time is excluded on the jitted side.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mltheory import generative as gen
from mltheory import numerics
from mltheory.generative import toy

VOCAB, STEPS, TAU0 = 16, 12, 4.5


def _setup(quick: bool) -> dict[str, Any]:
    batch, length = (16, 32) if quick else (64, 64)
    cfg = toy.TransformerConfig(
        vocab=VOCAB, length=length, d_model=64, n_layers=2, n_heads=4, d_ff=128
    )
    model = toy.TinyTransformer.init(jax.random.key(0), cfg, dtype=jnp.float32)
    return {
        "model": model,
        "start": jnp.full((batch, length), VOCAB),
        "key": jax.random.key(1),
    }


class LinearDenoiser:
    """A cheap dummy denoiser: a (V + 1, V) matrix row per token, per position."""

    def __init__(self, weight: jax.Array) -> None:
        self.weight = weight

    def __call__(self, tokens: jax.Array, mask: jax.Array) -> jax.Array:
        ids = jnp.where(mask, VOCAB, tokens)
        return self.weight[ids]


def _setup_linear(quick: bool) -> dict[str, Any]:
    batch, length = (16, 32) if quick else (64, 64)
    weight = jax.random.normal(jax.random.key(2), (VOCAB + 1, VOCAB), jnp.float32)
    return {
        "model": jax.tree_util.Partial(LinearDenoiser(weight)),
        "start": jnp.full((batch, length), VOCAB),
        "key": jax.random.key(1),
    }


def eager_maskgit(inp: dict[str, Any]) -> jax.Array:
    """MaskGIT's decode loop, op by op (no jit), with maskgit_sample's draws."""
    model, cur, key = inp["model"], inp["start"], inp["key"]
    n_rows, length = cur.shape
    row_keys = jax.random.split(key, n_rows)
    unknown0 = jnp.sum(cur == VOCAB, axis=1)
    for step in range(STEPS):
        unknown = cur == VOCAB
        with jax.disable_jit():
            logits = model(cur, unknown)
        log_p = jax.nn.log_softmax(logits, axis=-1)
        keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(row_keys, step)
        k_pos, k_tok = jax.vmap(jax.random.split, out_axes=1)(keys)
        sampled = jax.vmap(lambda k, lp: jax.random.categorical(k, lp, axis=-1))(
            k_tok, log_p
        ).astype(jnp.int32)
        sampled = jnp.where(unknown, sampled, cur)
        sel = jnp.take_along_axis(log_p, sampled[..., None], axis=-1)[..., 0]
        sel = jnp.where(unknown, sel, jnp.inf)
        ratio = (step + 1) / STEPS
        mask_ratio = min(max(math.cos(math.pi / 2 * ratio), 1e-6), 1.0)
        mask_len = jnp.floor(unknown0 * mask_ratio).astype(jnp.int32)
        mask_len = jnp.maximum(1, jnp.minimum(jnp.sum(unknown, axis=1) - 1, mask_len))
        noise_dtype = log_p.dtype
        gumbel = jax.vmap(
            lambda k, dt=noise_dtype: numerics.gumbel_noise(
                jax.random.fold_in(k, 0), (length,), dtype=dt
            )
        )(k_pos)
        confidence = sel + TAU0 * (1.0 - ratio) * gumbel
        sorted_conf = jnp.sort(confidence, axis=-1)
        cut_off = jnp.take_along_axis(sorted_conf, mask_len[:, None], axis=-1)
        masking = confidence < cut_off
        cur = sampled if step == STEPS - 1 else jnp.where(masking, VOCAB, sampled)
    return cur


def jitted_maskgit(inp: dict[str, Any]) -> jax.Array:
    return gen.maskgit_sample(
        inp["key"],
        inp["model"],
        inp["start"],
        mask_id=VOCAB,
        num_steps=STEPS,
        choice_temperature=TAU0,
    ).tokens


def jitted_moment(inp: dict[str, Any]) -> jax.Array:
    return gen.moment_sample(
        inp["key"],
        inp["model"],
        inp["start"],
        mask_id=VOCAB,
        num_steps=STEPS,
        alpha=TAU0,
    ).tokens


def full_16(inp: dict[str, Any]) -> jax.Array:
    return gen.cts_sample(
        inp["key"],
        inp["model"],
        inp["start"],
        mask_id=VOCAB,
        num_steps=16,
        position_policy=gen.Uniform(),
        mode="exact",
    ).tokens


def cached_4x4(inp: dict[str, Any]) -> jax.Array:
    return gen.partial_cache_sample(
        inp["key"],
        inp["model"],
        inp["start"],
        mask_id=VOCAB,
        num_full_steps=4,
        substeps=4,
        position_policy=gen.Uniform(),
        mode="exact",
    ).tokens


def eager_forward(inp: dict[str, Any]) -> jax.Array:
    """One forward pass of the model, op by op."""
    tokens = inp["start"]
    with jax.disable_jit():
        return inp["model"](tokens, tokens == VOCAB)


_forward_jit = jax.jit(lambda model, tokens: model(tokens, tokens == VOCAB))


def jitted_forward(inp: dict[str, Any]) -> jax.Array:
    return _forward_jit(inp["model"], inp["start"])


def _close_logits(base: jax.Array, ours: jax.Array) -> None:
    np.testing.assert_allclose(np.asarray(base), np.asarray(ours), atol=1e-4)


def _same_tokens(base: jax.Array, ours: jax.Array) -> None:
    np.testing.assert_array_equal(np.asarray(base), np.asarray(ours))


def _valid(base: jax.Array, ours: jax.Array) -> None:
    for x in (base, ours):
        arr = np.asarray(x)
        assert ((arr >= 0) & (arr < VOCAB)).all()


CASES = {
    "generative_maskgit_tiny_transformer": (
        _setup,
        eager_maskgit,
        jitted_maskgit,
        _same_tokens,
    ),
    "generative_moment_tiny_transformer": (
        _setup,
        eager_maskgit,
        jitted_moment,
        _valid,
    ),
    "generative_maskgit_linear_denoiser": (
        _setup_linear,
        eager_maskgit,
        jitted_maskgit,
        _same_tokens,
    ),
    "generative_moment_linear_denoiser": (
        _setup_linear,
        eager_maskgit,
        jitted_moment,
        _valid,
    ),
    "generative_caching_4x4_vs_16_full": (_setup, full_16, cached_4x4, _valid),
    "generative_forward_tiny_transformer": (
        _setup,
        eager_forward,
        jitted_forward,
        _close_logits,
    ),
}

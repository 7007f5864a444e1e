"""Partial caching: the K/V-cached transformer and the cached CTS sampler."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import generative as g
from mltheory.generative import toy

L, V = 16, 4
CFG = toy.TransformerConfig(
    vocab=V, length=L, d_model=32, n_layers=2, n_heads=4, d_ff=64
)


@pytest.fixture(scope="module")
def model():
    return toy.TinyTransformer.init(jax.random.key(0), CFG)


@pytest.fixture(scope="module")
def state():
    key = jax.random.key(1)
    tokens = jax.random.randint(key, (3, L), 0, V)
    mask = jax.random.uniform(jax.random.key(2), (3, L)) < 0.6
    return jnp.where(mask, V, tokens), mask


def test_partial_with_every_position_recomputed_equals_full(model, state):
    tokens, mask = state
    logits, cache = model.full(tokens, mask)
    # a stale cache from another state: every K/V gets overwritten
    _, stale = model.full(jnp.full_like(tokens, V), jnp.ones_like(mask))
    everything = jnp.tile(jnp.arange(L), (3, 1))
    got, new_cache = model.partial(
        stale, tokens, mask, everything[:, :5], everything[:, 5:]
    )
    np.testing.assert_allclose(got, logits[:, 5:], atol=1e-5)
    np.testing.assert_allclose(new_cache["k"], cache["k"], atol=1e-5)


def test_partial_with_a_fresh_cache_is_exact_at_queried_positions(model, state):
    tokens, mask = state
    logits, cache = model.full(tokens, mask)
    query = jnp.array([[0, 3, -1], [7, -1, -1], [15, 2, 9]])
    got, _ = model.partial(cache, tokens, mask, jnp.full((3, 1), -1), query)
    for b in range(3):
        for j, q in enumerate(np.asarray(query[b])):
            if q >= 0:
                np.testing.assert_allclose(got[b, j], logits[b, q], atol=1e-5)


def test_partial_with_stale_keys_differs_from_full(model, state):
    """Only the revealed position is recomputed: other K/V are stale (approximate)."""
    tokens, mask = state
    _, cache = model.full(tokens, mask)
    pos = int(np.argmax(np.asarray(mask[0])))
    revealed_tokens = tokens.at[:, pos].set(1)
    revealed_mask = mask.at[:, pos].set(False)
    fresh, _ = model.full(revealed_tokens, revealed_mask)
    others = [i for i in range(L) if i != pos][:4]
    query = jnp.tile(jnp.array(others), (3, 1))
    got, _ = model.partial(
        cache, revealed_tokens, revealed_mask, jnp.full((3, 1), pos), query
    )
    assert float(jnp.max(jnp.abs(got - fresh[:, others]))) > 1e-4


def test_one_substep_equals_cts_sample(model):
    start = jnp.full((4, L), V)
    key = jax.random.key(3)
    policy = g.Moment(2.0)
    cached = g.partial_cache_sample(
        key,
        model,
        start,
        mask_id=V,
        num_full_steps=4,
        substeps=1,
        position_policy=policy,
    )
    plain = g.cts_sample(
        key, model, start, mask_id=V, num_steps=4, position_policy=policy
    )
    np.testing.assert_array_equal(cached.tokens, plain.tokens)
    np.testing.assert_array_equal(cached.reveal_step, plain.reveal_step)
    assert float(cached.nfe) == 4.0


def test_substeps_cost_fewer_full_passes_and_reveal_everything(model):
    start = jnp.full((4, L), V)
    res = g.partial_cache_sample(
        jax.random.key(4),
        model,
        start,
        mask_id=V,
        num_full_steps=2,
        substeps=4,
        position_policy=g.Moment(2.0),
        mode="exact",
        return_trajectory=True,
    )
    counts = g.reveal_counts(L, 8, mode="exact")
    k = counts.reshape(2, 4)
    since = np.cumsum(k, axis=1) - k
    expected = 2 + ((since + k)[:, 1:]).sum() / L  # the documented cost model
    assert float(res.nfe) == pytest.approx(expected)
    assert 2 < float(res.nfe) < 8
    tokens = np.asarray(res.tokens)
    assert ((tokens >= 0) & (tokens < V)).all()
    for t in range(8):
        assert ((np.asarray(res.reveal_step) == t).sum(1) == counts[t]).all()
    assert res.trajectory.shape == (4, 8, L)
    np.testing.assert_array_equal(res.trajectory[:, -1], tokens)


def test_opaque_callable_falls_back_to_full_passes():
    chain = toy.random_markov(jax.random.key(5), V, length=L)
    start = jnp.full((2, L), V)
    res = g.partial_cache_sample(
        jax.random.key(6),
        chain,
        start,
        mask_id=V,
        num_full_steps=2,
        substeps=3,
        position_policy=g.Uniform(),
    )
    assert float(res.nfe) == 6.0


def test_caching_bad_inputs(model):
    start = jnp.full((2, L), V)
    with pytest.raises(ValueError, match="substeps must be >= 1"):
        g.partial_cache_sample(
            jax.random.key(0),
            model,
            start,
            mask_id=V,
            num_full_steps=2,
            substeps=0,
            position_policy=g.Uniform(),
        )
    with pytest.raises(ValueError, match="exceeds the number of masked positions"):
        g.partial_cache_sample(
            jax.random.key(0),
            model,
            start,
            mask_id=V,
            num_full_steps=5,
            substeps=4,
            position_policy=g.Uniform(),
        )
    with pytest.raises(TypeError, match="position_policy must be callable"):
        g.partial_cache_sample(
            jax.random.key(0),
            model,
            start,
            mask_id=V,
            num_full_steps=2,
            substeps=2,
            position_policy="moment",
        )

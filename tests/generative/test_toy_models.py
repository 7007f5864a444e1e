"""Toy denoisers: exact conditionals against brute-force marginalisation."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory.generative import toy


def brute_conditionals(table, tokens, mask):
    """p(x_i | unmasked) by summing an explicit table with Python loops."""
    length, vocab = table.ndim, table.shape[0]
    out = np.zeros((length, vocab))
    for seq in itertools.product(range(vocab), repeat=length):
        if all(mask[i] or seq[i] == tokens[i] for i in range(length)):
            for i in range(length):
                out[i, seq[i]] += table[seq]
    return out / out.sum(axis=1, keepdims=True)


def test_joint_table_conditionals_equal_brute_force():
    model = toy.random_joint(jax.random.key(0), 3, 3)
    table = np.asarray(model.probs)
    tokens = jnp.array([[2, 0, 1], [0, 0, 0]])
    mask = jnp.array([[False, True, True], [True, True, True]])
    got = np.exp(np.asarray(model(tokens, mask)))
    for b in range(2):
        expected = brute_conditionals(table, np.asarray(tokens[b]), np.asarray(mask[b]))
        rows = np.asarray(mask[b])
        np.testing.assert_allclose(got[b][rows], expected[rows], atol=1e-12)


def test_markov_conditionals_equal_the_table_of_its_joint():
    """Forward-backward with clamping == marginalising the chain's full joint."""
    chain = toy.random_markov(jax.random.key(1), 3, length=5, stickiness=0.4)
    seqs = toy.all_sequences(5, 3)
    table = np.exp(np.asarray(chain.log_prob(jnp.asarray(seqs)))).reshape((3,) * 5)
    assert table.sum() == pytest.approx(1.0, abs=1e-12)
    tokens = jnp.array([[0, 2, 1, 0, 1], [1, 1, 1, 1, 1]])
    mask = jnp.array([[True, False, True, True, False], [True] * 5])
    got = np.exp(np.asarray(chain(tokens, mask)))
    for b in range(2):
        expected = brute_conditionals(table, np.asarray(tokens[b]), np.asarray(mask[b]))
        rows = np.asarray(mask[b])
        np.testing.assert_allclose(got[b][rows], expected[rows], atol=1e-10)
    # the first row of an all-masked input is the marginal law
    np.testing.assert_allclose(got[1], np.asarray(chain.marginals()), atol=1e-10)


def test_markov_samples_match_exact_pair_marginals():
    """2e4 samples; each pair frequency has sd <= 0.0036, so 4 sd = 0.0142."""
    chain = toy.random_markov(jax.random.key(2), 3, length=6)
    x = np.asarray(chain.sample(jax.random.key(3), 20_000))
    pairs = np.asarray(chain.pair_marginals())
    for i in (0, 4):
        freq = np.zeros((3, 3))
        np.add.at(freq, (x[:, i], x[:, i + 1]), 1.0)
        np.testing.assert_allclose(freq / len(x), pairs[i], atol=0.0142)


def test_joint_table_sample_and_log_prob():
    model = toy.random_joint(jax.random.key(4), 2, 2)
    x = np.asarray(model.sample(jax.random.key(5), 20_000))
    freq = np.bincount(x[:, 0] * 2 + x[:, 1], minlength=4) / len(x)
    # 4 sd of a frequency: 4 * sqrt(0.25 / 2e4) = 0.0142
    np.testing.assert_allclose(freq, np.asarray(model.probs).ravel(), atol=0.0142)
    np.testing.assert_allclose(
        np.exp(model.log_prob(jnp.array([[1, 0]]))), [model.probs[1, 0]]
    )


def test_models_are_pytrees_and_work_under_jit():
    chain = toy.random_markov(jax.random.key(6), 2, length=4)
    leaves, tree = jax.tree_util.tree_flatten(chain)
    back = jax.tree_util.tree_unflatten(tree, leaves)
    tokens, mask = jnp.zeros((1, 4), jnp.int32), jnp.ones((1, 4), bool)
    np.testing.assert_allclose(
        jax.jit(lambda m: m(tokens, mask))(back), chain(tokens, mask)
    )


def test_toy_bad_inputs():
    with pytest.raises(ValueError, match=r"probs must have shape \(V,\) \* L"):
        toy.JointTableModel(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        toy.JointTableModel(jnp.array([[0.5, -0.1], [0.3, 0.3]]))
    with pytest.raises(ValueError, match=r"trans must have shape \(V, V\)"):
        toy.MarkovChainModel(jnp.ones(2), jnp.ones((3, 3)), length=3)
    with pytest.raises(ValueError, match="positive entries"):
        toy.MarkovChainModel(jnp.ones(2), jnp.array([[1.0, 0.0], [0.5, 0.5]]), length=3)
    with pytest.raises(ValueError, match=r"vocab\*\*length must be <= 10\*\*6"):
        toy.random_joint(jax.random.key(0), 13, 3)
    with pytest.raises(ValueError, match=r"stickiness must be < 1\.0"):
        toy.random_markov(jax.random.key(0), 3, stickiness=1.0)
    with pytest.raises(ValueError, match="n_heads must divide d_model"):
        toy.TransformerConfig(vocab=3, length=4, d_model=10, n_heads=3)
    chain = toy.random_markov(jax.random.key(0), 2, length=4)
    with pytest.raises(ValueError, match=r"must have shape \(B, 4\)"):
        chain(jnp.zeros((1, 3), jnp.int32), jnp.ones((1, 3), bool))

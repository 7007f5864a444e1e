"""Sampler API: schedules, the MaskGIT oracle, batching, jit, keys, bad inputs."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import generative as g
from mltheory import numerics
from mltheory._src._pytree import pytree_dataclass
from mltheory.generative import _samplers, toy

L, V, B = 8, 3, 6
MASK = V


@pytest.fixture(scope="module")
def chain():
    return toy.random_markov(jax.random.key(0), V, length=L, stickiness=0.3)


@pytest.fixture(scope="module")
def start():
    return jnp.full((B, L), MASK, dtype=jnp.int32)


# ------------------------------------------------------------------ schedules


def test_reveal_counts_google_matches_the_reference_formula():
    """keep_t = max(1, min(m_t - 1, floor(N0 cos(pi/2 (t+1)/T)))), last reveals all."""
    for n0, steps in [(16, 4), (64, 12), (7, 7), (10, 3)]:
        counts = g.reveal_counts(n0, steps)
        m, expected = n0, []
        for t in range(steps):
            if t == steps - 1:
                expected.append(m)
                break
            gamma = min(max(math.cos(math.pi / 2 * (t + 1) / steps), 1e-6), 1.0)
            keep = max(1, min(m - 1, math.floor(n0 * gamma)))
            expected.append(m - keep)
            m = keep
        np.testing.assert_array_equal(counts, expected)
        assert counts.sum() == n0


def test_reveal_counts_exact_mode_follows_the_rounded_schedule():
    counts = g.reveal_counts(16, 4, mode="exact")
    np.testing.assert_array_equal(counts, [1, 4, 5, 6])
    for n0, steps in [(5, 5), (64, 12), (9, 4)]:
        c = g.reveal_counts(n0, steps, mode="exact", schedule="linear")
        assert c.sum() == n0 and (c >= 1).all()
    rows = g.reveal_counts(jnp.array([4, 8]), 4)
    assert rows.shape == (2, 4)
    np.testing.assert_array_equal(rows.sum(axis=1), [4, 8])


def test_schedules_and_gumbel_scale():
    r = jnp.array([0.25, 0.5])
    np.testing.assert_allclose(g.mask_schedule(r, schedule="linear"), [0.75, 0.5])
    np.testing.assert_allclose(g.mask_schedule(r, schedule="pow3"), 1 - r**3)
    np.testing.assert_allclose(g.mask_schedule(r, schedule=lambda x: 1 - x), 1 - r)
    np.testing.assert_allclose(g.gumbel_scale_schedule(3.0, 3), [2.0, 1.0, 0.0])
    np.testing.assert_allclose(g.gumbel_scale_schedule(3.0, 3, "constant"), [3.0] * 3)
    np.testing.assert_allclose(
        g.gumbel_scale_schedule(0, 2, lambda t: t + 1.0), [1.0, 2.0]
    )


# --------------------------------------------------------- MaskGIT oracle


def google_decode(key, logits_fn, tokens, *, mask_id, num_iter, choice_temperature):
    """Eager port of parallel_decode.decode written from its description.

    The random draws are taken like maskgit_sample's (per-row keys, fold_in by
    step), so the two must agree exactly.
    """
    tokens = np.asarray(tokens)
    n_rows, length = tokens.shape
    row_keys = jax.random.split(key, n_rows)
    unknown0 = (tokens == mask_id).sum(axis=1)
    cur = tokens.copy()
    for step in range(num_iter):
        unknown = cur == mask_id
        logits = np.asarray(logits_fn(jnp.asarray(cur), jnp.asarray(unknown)))
        probs_log = np.asarray(jax.nn.log_softmax(jnp.asarray(logits), axis=-1))
        ratio = (step + 1) / num_iter
        mask_ratio = min(max(math.cos(math.pi / 2 * ratio), 1e-6), 1.0)
        new = cur.copy()
        for b in range(n_rows):
            k_pos, k_tok = jax.random.split(jax.random.fold_in(row_keys[b], step))
            sampled = np.asarray(
                jax.random.categorical(k_tok, jnp.asarray(probs_log[b]), axis=-1)
            )
            sampled = np.where(unknown[b], sampled, cur[b])
            selected_log_p = probs_log[b][np.arange(length), sampled]
            selected_log_p = np.where(unknown[b], selected_log_p, np.inf)
            mask_len = math.floor(unknown0[b] * mask_ratio)
            mask_len = max(1, min(int(unknown[b].sum()) - 1, mask_len))
            gumbel = np.asarray(
                numerics.gumbel_noise(jax.random.fold_in(k_pos, 0), (length,))
            )
            confidence = selected_log_p + choice_temperature * (1 - ratio) * gumbel
            cut_off = np.sort(confidence)[mask_len]
            masking = confidence < cut_off
            new[b] = (
                sampled if step == num_iter - 1 else np.where(masking, mask_id, sampled)
            )
        cur = new
    return cur


def test_maskgit_google_mode_equals_the_reference_decode(chain, start):
    key = jax.random.key(3)
    ours = g.maskgit_sample(
        key, chain, start, mask_id=MASK, num_steps=4, choice_temperature=4.5
    )
    ref = google_decode(
        key, chain, start, mask_id=MASK, num_iter=4, choice_temperature=4.5
    )
    np.testing.assert_array_equal(ours.tokens, ref)


# ------------------------------------------------------------ API properties


def test_result_invariants_and_reveal_steps(chain, start):
    res = g.moment_sample(
        jax.random.key(1),
        chain,
        start,
        mask_id=MASK,
        num_steps=4,
        alpha=4.5,
        return_trajectory=True,
    )
    tokens = np.asarray(res.tokens)
    assert tokens.shape == (B, L) and ((tokens >= 0) & (tokens < V)).all()
    counts = g.reveal_counts(L, 4)
    for t in range(4):  # reveal_step consistent with reveal_counts, every row
        np.testing.assert_array_equal(
            (np.asarray(res.reveal_step) == t).sum(1), counts[t]
        )
    traj = np.asarray(res.trajectory)
    assert traj.shape == (B, 4, L)
    np.testing.assert_array_equal(traj[:, -1], tokens)
    np.testing.assert_array_equal((traj == MASK).sum(-1)[0], L - np.cumsum(counts))
    assert float(res.nfe) == 4.0
    np.testing.assert_allclose(
        res.info["beta"][:3], 1 + 1 / (4.5 * (1 - np.arange(1, 4) / 4))
    )
    leaves, tree = jax.tree_util.tree_flatten(res)
    back = jax.tree_util.tree_unflatten(tree, leaves)
    np.testing.assert_array_equal(back.tokens, res.tokens)
    assert back.num_steps == 4


def test_given_tokens_are_never_changed(chain):
    tokens = jnp.array([[0, MASK, 2, MASK, MASK, 1, MASK, 0]] * B)
    tokens = tokens.at[1].set(jnp.array([0, 1, 2, 0, 1, 2, 0, 1]))  # nothing masked
    res = g.maskgit_sample(jax.random.key(2), chain, tokens, mask_id=MASK, num_steps=4)
    given = np.asarray(tokens) != MASK
    np.testing.assert_array_equal(
        np.asarray(res.tokens)[given], np.asarray(tokens)[given]
    )
    assert (np.asarray(res.reveal_step)[given] == -1).all()
    assert (np.asarray(res.reveal_step)[~given] >= 0).all()


def test_batch_rows_equal_unbatched_calls_with_split_keys(chain, start):
    key = jax.random.key(4)
    batched = g.cts_sample(
        key, chain, start, mask_id=MASK, num_steps=4, position_policy=g.Moment(2.0)
    )
    keys = jax.random.split(key, B)
    for b in (0, 3):
        single = g.cts_sample(
            keys[b],
            chain,
            start[b],
            mask_id=MASK,
            num_steps=4,
            position_policy=g.Moment(2.0),
        )
        np.testing.assert_array_equal(single.tokens, batched.tokens[b])
    again = g.cts_sample(
        key, chain, start, mask_id=MASK, num_steps=4, position_policy=g.Moment(2.0)
    )
    np.testing.assert_array_equal(again.tokens, batched.tokens)
    other = g.cts_sample(
        jax.random.key(5),
        chain,
        start,
        mask_id=MASK,
        num_steps=4,
        position_policy=g.Moment(2.0),
    )
    assert not np.array_equal(other.tokens, batched.tokens)


def test_jit_equals_eager_and_temperatures_do_not_recompile(chain, start):
    key = jax.random.key(6)

    def decode(k, tau):
        return g.maskgit_sample(
            k, chain, start, mask_id=MASK, num_steps=4, choice_temperature=tau
        ).tokens

    eager = decode(key, 2.0)
    np.testing.assert_array_equal(jax.jit(decode)(key, 2.0), eager)
    decode(key, 1.0)
    size = _samplers._loop_jit._cache_size()
    decode(key, 3.0)  # a traced temperature: no new compilation
    assert _samplers._loop_jit._cache_size() == size
    g.maskgit_sample(key, chain, start, mask_id=MASK, num_steps=3)  # static
    assert _samplers._loop_jit._cache_size() == size + 1


def test_vmap_over_keys(chain, start):
    keys = jax.random.split(jax.random.key(7), 3)
    out = jax.vmap(
        lambda k: (
            g.moment_sample(
                k, chain, start, mask_id=MASK, num_steps=4, alpha=4.5
            ).tokens
        )
    )(keys)
    assert out.shape == (3, B, L)
    first = g.moment_sample(
        keys[1], chain, start, mask_id=MASK, num_steps=4, alpha=4.5
    ).tokens
    np.testing.assert_array_equal(out[1], first)


def test_policies_choose_the_right_positions():
    lp = jnp.log(
        jnp.array(
            [[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.6, 0.2, 0.2], [0.34, 0.33, 0.33]]
        )
    )
    elig = jnp.ones(4, bool)
    key = jax.random.key(0)
    np.testing.assert_array_equal(g.Greedy()(key, lp, elig, 2, 0), [1, 0, 1, 0])
    np.testing.assert_array_equal(g.Moment(jnp.inf)(key, lp, elig, 1, 0), [1, 0, 0, 0])
    sel = g.Uniform()(key, lp, elig.at[0].set(False), 3, 0)
    np.testing.assert_array_equal(sel, [0, 1, 1, 1])
    hyb = g.Hybrid(1.0)(key, lp, elig, 2, 0)  # pure exploitation = greedy moment
    np.testing.assert_array_equal(hyb, [1, 0, 1, 0])
    np.testing.assert_array_equal(g.BetaTokens(jnp.inf)(key, lp, 0), [0, 0, 0, 0])
    # per-step parameters are indexed by the step counter
    pol = g.Tempered("max_prob", eta=jnp.array([1.0, 0.0]))
    np.testing.assert_array_equal(pol(key, lp, elig, 1, 1), [1, 0, 0, 0])


def test_hybrid_sample_reports_its_fraction(chain, start):
    res = g.hybrid_sample(
        jax.random.key(8),
        chain,
        start,
        mask_id=MASK,
        num_steps=4,
        exploit_fraction=lambda t: t / 3,
    )
    np.testing.assert_allclose(res.info["exploit_fraction"], [0, 1 / 3, 2 / 3, 1])


def test_drop_mask_logit_slices_the_mask_class(chain, start):
    def with_mask_head(tokens, mask):
        logits = chain(tokens, mask)
        return jnp.concatenate([logits, jnp.full((*logits.shape[:2], 1), 5.0)], -1)

    res = g.cts_sample(
        jax.random.key(9),
        with_mask_head,
        start,
        mask_id=V,
        num_steps=4,
        position_policy=g.Uniform(),
        drop_mask_logit=True,
    )
    ref = g.cts_sample(
        jax.random.key(9),
        chain,
        start,
        mask_id=V,
        num_steps=4,
        position_policy=g.Uniform(),
    )
    np.testing.assert_array_equal(res.tokens, ref.tokens)


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs_raise_before_any_work(chain, start):
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        g.maskgit_sample(key, chain, start, num_steps=0, mask_id=MASK)
    kw = {"mask_id": MASK, "num_steps": 4}
    with pytest.raises(ValueError, match="choice_temperature must be >= 0"):
        g.maskgit_sample(key, chain, start, choice_temperature=-1.0, **kw)
    with pytest.raises(ValueError, match="choice_temperature must be finite"):
        g.maskgit_sample(key, chain, start, choice_temperature=float("nan"), **kw)
    with pytest.raises(ValueError, match="token_temperature must be > 0"):
        g.maskgit_sample(key, chain, start, token_temperature=0.0, **kw)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        g.moment_sample(key, chain, start, alpha=-0.5, **kw)
    with pytest.raises(ValueError, match="beta must be >= 1"):
        g.moment_sample(key, chain, start, beta=0.5, **kw)
    with pytest.raises(ValueError, match="beta must not be NaN"):
        g.moment_sample(key, chain, start, beta=float("nan"), **kw)
    with pytest.raises(ValueError, match="exactly one of alpha"):
        g.moment_sample(key, chain, start, alpha=1.0, beta=2.0, **kw)
    with pytest.raises(ValueError, match="exactly one of alpha"):
        g.moment_sample(key, chain, start, **kw)
    with pytest.raises(ValueError, match="mask_id must lie outside"):
        g.maskgit_sample(key, chain, start, mask_id=1, num_steps=4)
    with pytest.raises(ValueError, match="tokens must lie in"):
        g.maskgit_sample(key, chain, start.at[0, 0].set(7), **kw)
    with pytest.raises(TypeError, match="tokens must be an integer array"):
        g.maskgit_sample(key, chain, start.astype(float), **kw)
    with pytest.raises(ValueError, match="exploit_fraction must be in"):
        g.hybrid_sample(key, chain, start, exploit_fraction=1.5, **kw)
    with pytest.raises(ValueError, match="schedule must be one of"):
        g.maskgit_sample(key, chain, start, schedule="zigzag", **kw)
    with pytest.raises(ValueError, match="score must be one of"):
        g.Greedy("confidence")
    with pytest.raises(ValueError, match="needs beta"):
        g.Greedy("moment")
    with pytest.raises(ValueError, match="eta must be >= 0"):
        g.Tempered("max_prob", eta=-1.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        g.TemperatureTokens(0.0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        g.maskgit_sample(0, chain, start, **kw)


def test_allow_beta_below_one(chain, start):
    res = g.moment_sample(
        jax.random.key(0),
        chain,
        start,
        mask_id=MASK,
        num_steps=4,
        beta=0.5,
        allow_beta_below_one=True,
    )
    assert res.tokens.shape == (B, L)


def test_bad_denoisers_are_reported(start):
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"must return logits of shape \(B, L, V\)"):
        g.maskgit_sample(key, lambda t, m: jnp.zeros(t.shape), start, mask_id=MASK)
    with pytest.raises(TypeError, match="must return floating logits"):
        g.maskgit_sample(
            key, lambda t, m: jnp.zeros((*t.shape, V), jnp.int32), start, mask_id=MASK
        )
    with pytest.raises(ValueError, match="drop_mask_logit=True"):
        g.maskgit_sample(
            key, lambda t, m: jnp.zeros((*t.shape, V + 1)), start, mask_id=MASK
        )

    def nan_logits(t, m):
        return jnp.where(m[..., None], jnp.nan, 0.0) * jnp.ones((*t.shape, V))

    with pytest.raises(ValueError, match="NaN/inf logits at masked positions"):
        g.cts_sample(
            key,
            nan_logits,
            start,
            mask_id=MASK,
            num_steps=2,
            position_policy=g.Uniform(),
            debug=True,
        )


def test_too_many_steps_warns_and_clamps_or_raises(chain):
    tokens = jnp.array([[0, MASK, 1, MASK, 2, 0, 1, 2]])
    with pytest.warns(UserWarning, match="clamping num_steps to 2"):
        res = g.cts_sample(
            jax.random.key(0),
            chain,
            tokens,
            mask_id=MASK,
            num_steps=5,
            position_policy=g.Uniform(),
        )
    assert res.num_steps == 2 and float(res.nfe) == 2.0
    with pytest.raises(ValueError, match="exceeds the number of masked positions"):
        g.cts_sample(
            jax.random.key(0),
            chain,
            tokens,
            mask_id=MASK,
            num_steps=5,
            position_policy=g.Uniform(),
            strict=True,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g.cts_sample(
            jax.random.key(0),
            chain,
            tokens,
            mask_id=MASK,
            num_steps=2,
            position_policy=g.Uniform(),
        )


# ------------------------------------------------- fast kernels, same draws


def test_categorical_and_first_argmax_draw_exactly_like_jax():
    """The CPU-friendly argmax/categorical give jnp.argmax/jax.random.categorical."""
    from mltheory.generative._policies import categorical, first_argmax

    # integer-valued logits make ties common; -inf entries have weight zero
    x = jnp.floor(jax.random.normal(jax.random.key(0), (5, 40, 6)) * 2.0)
    x = x.at[:, :, 2].set(-jnp.inf)
    np.testing.assert_array_equal(first_argmax(x), jnp.argmax(x, axis=-1))
    draws = jax.jit(
        lambda key: (categorical(key, x), jax.random.categorical(key, x, axis=-1))
    )
    for seed in range(3):
        ours, reference = draws(jax.random.key(seed))
        np.testing.assert_array_equal(ours, reference)
    assert first_argmax(jnp.full((2, 3), jnp.nan)).tolist() == [2, 2]  # in range


def test_static_count_bound_selects_exactly_like_the_full_sort():
    """max_k (a partial top-k) must not change which positions a policy picks."""
    from mltheory.generative._policies import select_positions

    assert _samplers._count_bound(g.reveal_counts(64, 12), 64) == 8
    assert _samplers._count_bound(jnp.array([[1, 3]]), 8) == 4
    assert _samplers._count_bound(jnp.array([[3, 5]]), 8) is None  # > L / 2
    lp = jax.nn.log_softmax(jax.random.normal(jax.random.key(1), (6, 32, V)))
    elig = jax.random.uniform(jax.random.key(2), (6, 32)) < 0.7
    counts = jnp.array([0, 1, 3, 4, 4, 2])
    keys = jax.random.split(jax.random.key(3), 6)

    @jax.jit
    def both(policy):
        def pick(max_k):
            return jax.vmap(
                lambda k, p, e, c: select_positions(policy, k, p, e, c, 0, max_k)
            )(keys, lp, elig, counts)

        return pick(None), pick(4)

    # Uniform; Hybrid runs Greedy (ignores the bound) then the Moment law
    for policy in (g.Uniform(), g.Hybrid(0.5, explore=g.Moment(3.0))):
        full_sort, partial_top_k = both(policy)
        np.testing.assert_array_equal(full_sort, partial_top_k)
        np.testing.assert_array_equal(full_sort.sum(axis=1), counts)


_TRACES = []


@pytree_dataclass
class _CountingDenoiser:
    """A pytree denoiser (like a model holding its weights) that counts traces."""

    weight: jax.Array

    def __call__(self, tokens, mask):
        _TRACES.append(1)  # runs only while JAX traces the call
        return self.weight[jnp.where(mask, V, tokens)]


def test_repeated_calls_do_not_retrace_the_denoiser(start):
    """The input checks reuse a cached trace of a pytree model, not a new one per call.

    ``jax.eval_shape(model, ...)`` re-traced a model instance on every call
    (~20 ms of Python for the tiny transformer, ~1.5 ms per decode step).
    """
    model = _CountingDenoiser(jnp.ones((V + 1, V)))
    _TRACES.clear()
    for _ in range(3):
        g.maskgit_sample(jax.random.key(0), model, start, mask_id=MASK, num_steps=2)
    # one trace for the shape check, one for the loop: the same for 1 or 3 calls
    assert len(_TRACES) == 2

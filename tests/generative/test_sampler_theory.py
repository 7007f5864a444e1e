"""Theory of masked samplers: implicit temperature, exact laws vs Monte Carlo."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mltheory import generative as g
from mltheory.generative import theory, toy

L, V = 4, 3


@pytest.fixture(scope="module")
def joint():
    return toy.random_joint(jax.random.key(0), L, V, concentration=0.5)


# ---------------------------------------------------------------- closed forms


def test_beta_and_implicit_temperature_closed_forms():
    alpha = jnp.array([0.0, 0.5, 1.0, 4.5, jnp.inf])
    beta = theory.beta_from_alpha(alpha)
    np.testing.assert_allclose(beta, [np.inf, 3.0, 2.0, 1 + 1 / 4.5, 1.0])
    temp = theory.implicit_temperature(alpha)
    np.testing.assert_allclose(temp, [0.0, 1 / 3, 0.5, 4.5 / 5.5, 1.0])
    # T_eff = 1 / beta wherever beta is finite
    np.testing.assert_allclose(temp[1:], 1.0 / beta[1:])


def test_moment_scores_match_numpy_norms():
    logits = jax.random.normal(jax.random.key(1), (5, 4))
    p = np.asarray(jax.nn.softmax(logits))
    for beta in (1.0, 2.0, 3.5):
        expected = np.log((p**beta).sum(axis=-1))
        np.testing.assert_allclose(
            theory.moment_scores(logits, beta), expected, rtol=1e-10, atol=1e-12
        )
    np.testing.assert_allclose(
        theory.moment_scores(logits, math.inf), np.log(p.max(axis=-1)), rtol=1e-12
    )
    masked = theory.moment_scores(logits, 2.0, mask=jnp.array([1, 0, 1, 1, 0], bool))
    assert np.isneginf(np.asarray(masked)[[1, 4]]).all()


def test_moment_step_law_product_form():
    """P(i, x) = [choose i] x [sample x at temperature 1/beta]."""
    p = np.random.default_rng(0).dirichlet([1.0] * 3, size=4)
    beta = 2.5
    law = theory.moment_step_law(p, beta=beta)
    norms = (p**beta).sum(axis=1)
    choose = norms / norms.sum()
    sample = p**beta / norms[:, None]
    np.testing.assert_allclose(law, choose[:, None] * sample, rtol=1e-12)
    np.testing.assert_allclose(theory.moment_step_law(p, alpha=1 / 1.5), law)


# ------------------------------------------------------------------------ T1


def test_gumbel_top1_law_matches_chi_square():
    """T1: argmax of log p + alpha g has law w_i / sum w, w_i = p_i^(1/alpha)."""
    p_sel = np.array([0.9, 0.5, 0.3, 0.05])
    alpha, n = 0.7, 200_000
    g_noise = jax.random.gumbel(jax.random.key(2), (n, 4))
    winners = np.asarray(jnp.argmax(jnp.log(p_sel)[None, :] + alpha * g_noise, axis=1))
    observed = np.bincount(winners, minlength=4)
    expected = theory.position_law_given_tokens(p_sel, alpha) * n
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_gumbel_ordered_top2_law_is_sequential_without_replacement():
    """T1: the ordered top-2 of log p + alpha g follows the Plackett-Luce formula."""
    p_sel = np.array([0.8, 0.4, 0.2])
    alpha, n = 1.3, 200_000
    g_noise = jax.random.gumbel(jax.random.key(3), (n, 3))
    order = np.asarray(
        jnp.argsort(-(jnp.log(p_sel)[None, :] + alpha * g_noise), axis=1)
    )
    pair = order[:, 0] * 3 + order[:, 1]
    observed = np.bincount(pair, minlength=9)
    w = p_sel ** (1 / alpha)
    expected = np.zeros(9)
    for i in range(3):
        for j in range(3):
            if i != j:
                expected[i * 3 + j] = w[i] / w.sum() * w[j] / (w.sum() - w[i])
    keep = expected > 0
    assert observed[~keep].sum() == 0
    assert stats.chisquare(observed[keep], expected[keep] * n).pvalue > 1e-3


def test_position_law_alpha_zero_is_argmax_with_uniform_ties():
    np.testing.assert_allclose(
        theory.position_law_given_tokens([0.5, 0.9, 0.9], 0.0), [0, 0.5, 0.5]
    )


# ------------------------------------------------------------------------ T2


def test_maskgit_step_law_single_position_is_the_model():
    p = np.array([[0.6, 0.3, 0.1]])
    np.testing.assert_allclose(theory.maskgit_step_law(p, 1.0), p, atol=1e-14)


@pytest.mark.parametrize("identical", [True, False])
def test_maskgit_step_law_exact_matches_monte_carlo(identical):
    """T2: enumeration (multinomial or V^m) vs 2e5 simulated Gumbel steps.

    Each cell is a frequency with sd <= sqrt(0.25 / 2e5) = 0.0011; 4 sd = 0.0045.
    """
    rng = np.random.default_rng(4)
    p = np.tile([0.6, 0.3, 0.1], (4, 1)) if identical else rng.dirichlet([1.0] * 3, 4)
    exact = theory.maskgit_step_law(p, 0.8)
    mc = theory.maskgit_step_law(p, 0.8, method="mc", key=jax.random.key(5))
    assert abs(exact.sum() - 1) < 1e-12
    np.testing.assert_allclose(mc, exact, atol=0.0045)


def test_maskgit_multinomial_route_equals_full_enumeration():
    p = np.tile([0.5, 0.3, 0.2], (5, 1))
    via_counts = theory.maskgit_step_law(p, 1.5)
    p_jitter = p.copy()
    p_jitter[0] = [0.5 + 1e-7, 0.3 - 1e-7, 0.2]  # defeats the identical-rows route
    via_configs = theory.maskgit_step_law(p_jitter, 1.5)
    np.testing.assert_allclose(via_counts, via_configs, atol=1e-6)


def test_implicit_temperature_tv_decays_like_one_over_m():
    """T2: TV(MaskGIT first token, p^beta/||p||^beta) decreases in m, slope ~ -1."""
    p = np.array([0.6, 0.3, 0.1])
    alpha = 1.0
    ms = [1, 2, 4, 16, 64]
    tvs = []
    for m in ms:
        law = theory.maskgit_step_law(np.tile(p, (m, 1)), alpha).sum(axis=0)
        target = theory.moment_step_law(p[None], alpha=alpha)[0]
        tvs.append(float(theory.total_variation(law, target)))
    assert tvs[0] > 0.1  # m = 1: MaskGIT is the model itself, not sharpened
    assert all(a > b for a, b in itertools.pairwise(tvs))
    slope = np.polyfit(np.log(ms[2:]), np.log(tvs[2:]), 1)[0]
    assert -1.25 < slope < -0.85


# ------------------------------------------------------------------------ T3


@pytest.mark.parametrize("alpha", [0.5, 1.0, 4.5])
def test_maskgit_and_moment_step_laws_approach_each_other(alpha):
    """T3: heterogeneous Dirichlet(0.7) rows, V=3: exact TV decreases with m."""
    rows = np.random.default_rng(0).dirichlet([0.7] * 3, size=8)
    tvs = [
        float(
            theory.total_variation(
                theory.maskgit_step_law(rows[:m], alpha).ravel(),
                theory.moment_step_law(rows[:m], alpha=alpha).ravel(),
            )
        )
        for m in (2, 4, 8)
    ]
    assert tvs[0] > tvs[1] > tvs[2]


# ------------------------------------------------------------------------ T4


def test_exact_law_of_unbiased_samplers_is_the_joint(joint):
    """T4: one position per step, tokens at temperature 1: the output is the joint."""
    truth = np.asarray(joint.probs).ravel()
    for sampler, kw in [
        ("moment", {"beta": 1.0}),
        ("cts", {"position_policy": g.Uniform()}),
        ("cts", {"position_policy": g.Greedy("margin")}),
    ]:
        law = theory.exact_output_distribution(sampler, joint, num_steps=L, **kw)
        assert float(theory.total_variation(law, truth)) < 1e-12, sampler
    law = theory.exact_output_distribution(
        "maskgit", joint, num_steps=L, choice_temperature=1e6, anneal="constant"
    )
    assert float(theory.total_variation(law, truth)) < 1e-4
    # and a sharpening sampler is biased
    biased = theory.exact_output_distribution(
        "moment", joint, num_steps=L, beta=3.0, final_token_beta="same"
    )
    assert float(theory.total_variation(biased, truth)) > 0.05


@pytest.mark.slow
def test_exact_output_law_from_a_markov_chain_matches_its_table():
    chain = toy.random_markov(jax.random.key(7), 2, length=5)
    seqs = toy.all_sequences(5, 2)
    truth = np.exp(np.asarray(chain.log_prob(jnp.asarray(seqs))))
    law = theory.exact_output_distribution(
        "cts", chain, num_steps=5, position_policy=g.Uniform()
    )
    np.testing.assert_allclose(law, truth, atol=1e-12)


# ------------------------------------------------------------------------ T5

N_MC = 16_384


def _histogram(tokens):
    idx = np.ravel_multi_index(tuple(np.asarray(tokens).T), (V,) * L)
    return np.bincount(idx, minlength=V**L) / len(idx)


def _iid_tv(law, seed):
    counts = np.random.default_rng(seed).multinomial(N_MC, law)
    return float(theory.total_variation(counts / N_MC, law))


CASES = {
    "maskgit": (
        lambda k, m, s: g.maskgit_sample(
            k, m, START, mask_id=V, num_steps=s, choice_temperature=2.0
        ),
        ("maskgit", {"choice_temperature": 2.0}),
    ),
    "moment_alpha": (
        lambda k, m, s: g.moment_sample(k, m, START, mask_id=V, num_steps=s, alpha=2.0),
        ("moment", {"alpha": 2.0}),
    ),
    "greedy": (
        lambda k, m, s: g.cts_sample(
            k, m, START, mask_id=V, num_steps=s, position_policy=g.Greedy("max_prob")
        ),
        ("cts", {"position_policy": g.Greedy("max_prob")}),
    ),
    "tempered": (
        lambda k, m, s: g.cts_sample(
            k,
            m,
            START,
            mask_id=V,
            num_steps=s,
            position_policy=g.Tempered("neg_entropy", 0.5),
            token_rule=g.TemperatureTokens(0.7),
        ),
        (
            "cts",
            {
                "position_policy": g.Tempered("neg_entropy", 0.5),
                "token_rule": g.TemperatureTokens(0.7),
            },
        ),
    ),
    "hybrid": (
        lambda k, m, s: g.hybrid_sample(
            k, m, START, mask_id=V, num_steps=s, exploit_fraction=0.5
        ),
        ("cts", {"position_policy": g.Hybrid(0.5), "token_rule": g.BetaTokens(1.0)}),
    ),
}
START = jnp.full((N_MC, L), V)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_sampler_histogram_matches_its_exact_law(joint, name):
    """T5: 16k jitted batched draws vs exact enumeration, TV < 3x the i.i.d. TV."""
    run, (sampler, kw) = CASES[name]
    steps = 2
    law = theory.exact_output_distribution(sampler, joint, num_steps=steps, **kw)
    emp = _histogram(run(jax.random.key(11), joint, steps).tokens)
    noise = _iid_tv(law, 0)
    assert float(theory.total_variation(emp, law)) < 3 * noise
    # the check can fail: the law of a different sampler is far away
    other = theory.exact_output_distribution(
        "cts", joint, num_steps=L, position_policy=g.Uniform()
    )
    assert float(theory.total_variation(law, other)) > 3 * noise


# ------------------------------------------------------------------ divergences


def test_total_variation_and_kl_closed_forms():
    p, q = np.array([0.2, 0.8, 0.0]), np.array([0.5, 0.25, 0.25])
    assert float(theory.total_variation(p, q)) == pytest.approx(0.55)
    kl = 0.2 * np.log(0.2 / 0.5) + 0.8 * np.log(0.8 / 0.25)
    assert float(theory.kl_divergence(p, q)) == pytest.approx(kl)
    assert np.isinf(float(theory.kl_divergence(q, p)))


# ------------------------------------------------------------------- bad inputs


def test_theory_bad_inputs():
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        theory.beta_from_alpha(-1.0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        theory.implicit_temperature(float("nan"))
    with pytest.raises(ValueError, match="beta must be >= 1"):
        theory.moment_scores(jnp.zeros((2, 3)), 0.5)
    with pytest.raises(ValueError, match="exactly one of alpha or beta"):
        theory.moment_step_law([[0.5, 0.5]], alpha=1.0, beta=2.0)
    with pytest.raises(ValueError, match="exactly one of alpha or beta"):
        theory.moment_step_law([[0.5, 0.5]])
    with pytest.raises(ValueError, match="must be a probability vector summing to 1"):
        theory.maskgit_step_law([[0.5, 0.6]], 1.0)
    with pytest.raises(ValueError, match="use method='mc'"):
        theory.maskgit_step_law(np.random.default_rng(0).dirichlet([1] * 4, 11), 1.0)
    with pytest.raises(ValueError, match="needs a key"):
        theory.maskgit_step_law([[0.5, 0.5]], 1.0, method="mc")
    with pytest.raises(ValueError, match="method must be one of"):
        theory.maskgit_step_law([[0.5, 0.5]], 1.0, method="sum")
    with pytest.raises(ValueError, match="same shape"):
        theory.total_variation([0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match="p_sel must have entries"):
        theory.position_law_given_tokens([0.0, 0.5], 1.0)


def test_exact_output_distribution_refuses_large_problems():
    big = toy.random_markov(jax.random.key(0), 4, length=11)
    with pytest.raises(ValueError, match=r"V\*\*L = 4\*\*11 > 10\*\*6"):
        theory.exact_output_distribution("moment", big, num_steps=2, beta=2.0)
    small = toy.random_joint(jax.random.key(0), 2, 2)
    with pytest.raises(ValueError, match="sampler must be one of"):
        theory.exact_output_distribution("llada", small, num_steps=2)
    with pytest.raises(TypeError, match="unknown option"):
        theory.exact_output_distribution(
            "moment", small, num_steps=2, beta=2.0, eta=1.0
        )

"""Tests for mltheory.numerics random helpers: Gumbel noise, Gumbel top-k, keys.

Laws are checked by Pearson chi-square tests at a fixed key against exact
probabilities computed here by enumeration; the critical value is the
chi-square quantile at level 1e-3, and each law test has a negative control
(a plausible wrong law that the same statistic must reject), so the tests can
fail.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mltheory import numerics as mn

EULER_GAMMA = 0.5772156649015329
N_DRAWS = 100_000


def chi_square(counts, probs):
    expected = counts.sum() * np.asarray(probs)
    return float(np.sum((counts - expected) ** 2 / expected))


def critical(n_categories):
    return stats.chi2.ppf(1 - 1e-3, df=n_categories - 1)


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def plackett_luce_pairs(logits):
    """Exact law of the ordered first two draws without replacement."""
    w = np.exp(logits)
    total = w.sum()
    return {
        (i, j): w[i] / total * w[j] / (total - w[i])
        for i, j in itertools.permutations(range(len(w)), 2)
    }


def row_noise(key, b, n_positions, dtype=jnp.float64):
    """The documented noise of row b: gumbel_noise(fold_in(key, b), (L,))."""
    return np.asarray(
        mn.gumbel_noise(jax.random.fold_in(key, b), (n_positions,), dtype=dtype)
    )


# --- gumbel_noise -------------------------------------------------------------


def test_gumbel_moments(key):
    n = 400_000
    g = np.asarray(mn.gumbel_noise(key, n))
    sd = math.pi / math.sqrt(6)
    # 4 standard errors of the mean: sd / sqrt(n)
    assert abs(g.mean() - EULER_GAMMA) < 4 * sd / math.sqrt(n)
    # 4 standard errors of the sample variance: sd^2 sqrt((kurtosis - 1) / n),
    # with the Gumbel kurtosis 3 + 12/5 = 5.4
    assert abs(g.var() - math.pi**2 / 6) < 4 * sd**2 * math.sqrt(4.4 / n)


def test_gumbel_distribution_matches_cdf(key):
    """Kolmogorov-Smirnov against scipy's gumbel_r (CDF exp(-exp(-g)))."""
    g = np.asarray(mn.gumbel_noise(key, 20_000))
    assert stats.kstest(g, stats.gumbel_r.cdf).pvalue > 1e-3
    # negative control: a shifted law is rejected
    assert stats.kstest(g + 0.05, stats.gumbel_r.cdf).pvalue < 1e-3


def test_gumbel_noise_dtype_shape_and_finiteness(key):
    g64 = mn.gumbel_noise(key, (3, 4))
    assert g64.shape == (3, 4)
    assert g64.dtype == jnp.float64  # default float under x64
    g32 = mn.gumbel_noise(key, 200_000, dtype=jnp.float32)
    assert g32.dtype == jnp.float32
    assert np.all(np.isfinite(g32))
    # the float32 upper tail is truncated at -log(-log(1 - 2**-23)) ~ 15.94
    assert float(g32.max()) <= 15.95
    assert mn.gumbel_noise(key, ()).shape == ()


def test_gumbel_noise_jit_and_raw_key(key):
    f = jax.jit(lambda k: mn.gumbel_noise(k, (5,)))
    np.testing.assert_array_equal(f(key), mn.gumbel_noise(key, (5,)))
    raw = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(
        mn.gumbel_noise(raw, 5), mn.gumbel_noise(jax.random.wrap_key_data(raw), 5)
    )


def test_gumbel_noise_vmap_over_keys(key):
    keys = mn.split_keys(key, 3)
    batched = jax.vmap(lambda k: mn.gumbel_noise(k, 4))(keys)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], mn.gumbel_noise(keys[i], 4))


# --- laws of Gumbel top-k -----------------------------------------------------


def test_top1_law_is_softmax(key):
    logits = np.array([0.3, -1.0, 1.2, 0.0, -0.5])
    rows = jnp.broadcast_to(jnp.asarray(logits), (N_DRAWS, logits.size))
    first = np.asarray(mn.gumbel_topk_indices(key, rows, 1))[:, 0]
    counts = np.bincount(first, minlength=logits.size)
    assert chi_square(counts, softmax(logits)) < critical(logits.size)
    # negative control: the statistic rejects softmax(2 * logits)
    assert chi_square(counts, softmax(2 * logits)) > critical(logits.size)


def test_top1_law_with_noise_scale_and_eligibility(key):
    """argmax of s + a*G over eligible positions ~ softmax(s / a) restricted."""
    scores = np.array([0.2, 1.0, -0.4, 0.6, 0.0])
    eligible = np.array([True, True, False, True, True])
    mask = mn.gumbel_topk(
        key,
        jnp.broadcast_to(jnp.asarray(scores), (N_DRAWS, 5)),
        1,
        eligible=jnp.broadcast_to(jnp.asarray(eligible), (N_DRAWS, 5)),
        noise_scale=0.5,
    )
    counts = np.asarray(mask).sum(axis=0)
    assert counts[2] == 0
    keep = eligible.nonzero()[0]
    probs = softmax(scores[keep] / 0.5)
    assert chi_square(counts[keep], probs) < critical(keep.size)
    # negative control: noise_scale ignored (softmax(s)) is rejected
    assert chi_square(counts[keep], softmax(scores[keep])) > critical(keep.size)


def test_ordered_top2_law_is_plackett_luce(key):
    logits = np.array([1.5, 0.5, 0.0, -1.0])
    rows = jnp.broadcast_to(jnp.asarray(logits), (N_DRAWS, 4))
    pairs = np.asarray(mn.gumbel_topk_indices(key, rows, 2))
    exact = plackett_luce_pairs(logits)
    cells = list(exact)
    # code the ordered pair (i, j) as 4 i + j
    counts = np.bincount(pairs[:, 0] * 4 + pairs[:, 1], minlength=16)
    counts = counts[[4 * i + j for i, j in cells]]
    assert chi_square(counts, [exact[c] for c in cells]) < critical(len(cells))
    # negative control: "two draws with replacement, conditioned on distinct"
    w = np.exp(logits)
    wrong = np.array([w[i] * w[j] for i, j in cells])
    assert chi_square(counts, wrong / wrong.sum()) > critical(len(cells))


def test_unordered_top2_set_law_is_plackett_luce(key):
    logits = np.array([1.5, 0.5, 0.0, -1.0])
    mask = np.asarray(
        mn.gumbel_topk(key, jnp.broadcast_to(jnp.asarray(logits), (N_DRAWS, 4)), 2)
    )
    exact = plackett_luce_pairs(logits)
    sets = list(itertools.combinations(range(4), 2))
    probs = [exact[(i, j)] + exact[(j, i)] for i, j in sets]
    assert (mask.sum(axis=1) == 2).all()
    # code the set {i, j} as 2**i + 2**j
    counts = np.bincount(mask @ (2 ** np.arange(4)), minlength=16)
    counts = counts[[2**i + 2**j for i, j in sets]]
    assert chi_square(counts, probs) < critical(len(sets))
    # negative control: the set law of i.i.d. draws conditioned on distinct
    w = np.exp(logits)
    wrong = np.array([w[i] * w[j] for i, j in sets])
    assert chi_square(counts, wrong / wrong.sum()) > critical(len(sets))


# --- gumbel_topk: exact behaviour ---------------------------------------------
# Most tests share the shape (ROWS, L) so that the selection compiles once.

ROWS, L = 6, 8


@pytest.fixture
def scores(rng):
    return rng.normal(size=(ROWS, L))


def test_selection_is_topk_of_documented_perturbation(key, scores):
    """Row b is scores + noise_scale * gumbel_noise(fold_in(key, b), (L,))."""
    k = np.array([0, 2, 3, 8, 1, 5])
    mask = np.asarray(mn.gumbel_topk(key, scores, k, noise_scale=0.7))
    for b in range(ROWS):
        values = scores[b] + 0.7 * row_noise(key, b, L)
        top = np.argsort(-values, kind="stable")[: k[b]]
        np.testing.assert_array_equal(np.flatnonzero(mask[b]), np.sort(top))


def test_indices_are_decreasing_order_of_documented_perturbation(key, scores):
    logits = scores.reshape(2, 3, L)
    idx = np.asarray(mn.gumbel_topk_indices(key, logits, 4))
    assert idx.shape == (2, 3, 4)
    assert idx.dtype == np.int32
    for b in range(ROWS):
        values = scores[b] + row_noise(key, b, L)
        np.testing.assert_array_equal(
            idx.reshape(ROWS, 4)[b], np.argsort(-values, kind="stable")[:4]
        )


def test_noise_scale_zero_is_topk_by_score_with_index_tiebreak(key, rng):
    scores = rng.integers(0, 3, size=(ROWS, L)).astype(float)  # many ties
    scores[0] = [1.0, 3.0, 3.0, 0.0, 3.0, 2.0, 0.0, 0.0]
    k = np.array([2, 4, 0, 8, 3, 1])
    mask = np.asarray(mn.gumbel_topk(key, scores, k, noise_scale=0.0))
    np.testing.assert_array_equal(mask[0], [0, 1, 1, 0, 0, 0, 0, 0])
    for b in range(ROWS):  # numpy's stable sort of -scores keeps lower index first
        top = np.argsort(-scores[b], kind="stable")[: k[b]]
        np.testing.assert_array_equal(np.flatnonzero(mask[b]), np.sort(top))


def test_per_row_counts_honoured_under_jit_without_retracing(key, rng, scores):
    n_traces = 0

    @jax.jit
    def select(key, scores, k, eligible):
        nonlocal n_traces
        n_traces += 1
        return mn.gumbel_topk(key, scores, k, eligible=eligible)

    for trial in range(8):
        k = rng.integers(0, L + 1, size=ROWS)
        eligible = rng.random((ROWS, L)) < 0.6
        trial_key = jax.random.fold_in(key, trial)
        mask = np.asarray(select(trial_key, scores, k, eligible))
        np.testing.assert_array_equal(
            mask.sum(axis=1), np.minimum(k, eligible.sum(axis=1))
        )
        assert not np.any(mask & ~eligible)
        # the eager public call agrees with the jitted one
        eager = mn.gumbel_topk(trial_key, scores, k, eligible=eligible)
        np.testing.assert_array_equal(eager, mask)
    assert n_traces == 1  # new k values reuse the compiled function


def test_ineligible_never_selected_even_with_huge_scores(key, scores):
    scores = scores.copy()
    scores[:, 0] = 100.0
    eligible = np.ones((ROWS, L), dtype=bool)
    eligible[:, 0] = False
    mask = np.asarray(mn.gumbel_topk(key, scores, 3, eligible=eligible))
    assert not mask[:, 0].any()
    assert (mask.sum(axis=1) == 3).all()


@pytest.mark.parametrize("max_k", [None, 8])
def test_minus_inf_scores_are_never_selected(key, scores, max_k):
    scores = scores.copy()
    scores[0, [1, 3, 4, 5, 6, 7]] = -np.inf
    scores[1] = -np.inf
    k = np.array([8, 2, 8, 0, 1, 1])
    mask = np.asarray(mn.gumbel_topk(key, scores, k, max_k=max_k))
    np.testing.assert_array_equal(mask[0], [1, 0, 1, 0, 0, 0, 0, 0])
    assert not mask[1].any()
    np.testing.assert_array_equal(mask.sum(axis=1), [2, 0, 8, 0, 1, 1])


@pytest.mark.parametrize("noise_scale", [0.0, 1.0])
def test_max_k_path_equals_sort_path(key, rng, noise_scale):
    scores = rng.integers(0, 3, size=(ROWS, L)).astype(float)  # many ties
    eligible = rng.random((ROWS, L)) < 0.7
    k = rng.integers(0, 5, size=ROWS)
    opts = {"eligible": eligible, "noise_scale": noise_scale}
    sort = mn.gumbel_topk(key, scores, k, **opts)
    top = mn.gumbel_topk(key, scores, k, max_k=4, **opts)
    np.testing.assert_array_equal(sort, top)


def test_rows_are_independent_of_other_rows(key, rng, scores):
    k = rng.integers(0, L + 1, size=ROWS)
    full = np.asarray(mn.gumbel_topk(key, scores, k))
    # a 1-D call is row 0 of the batch
    np.testing.assert_array_equal(mn.gumbel_topk(key, scores[0], int(k[0])), full[0])
    # the batch size does not matter
    np.testing.assert_array_equal(mn.gumbel_topk(key, scores[:3], k[:3]), full[:3])
    # changing the other rows does not change row 2
    other = rng.normal(size=(ROWS, L))
    other[2] = scores[2]
    k_other = rng.integers(0, L + 1, size=ROWS)
    k_other[2] = k[2]
    np.testing.assert_array_equal(mn.gumbel_topk(key, other, k_other)[2], full[2])


def test_gumbel_topk_jit_equals_eager_and_vmap_over_keys(key, scores):
    k = np.array([1, 2, 3, 0, 8, 4])
    f = jax.jit(lambda key, s, k: mn.gumbel_topk(key, s, k, noise_scale=2.0))
    np.testing.assert_array_equal(
        f(key, scores, k), mn.gumbel_topk(key, scores, k, noise_scale=2.0)
    )
    keys = mn.split_keys(key, 3)
    batched = jax.vmap(lambda kk: mn.gumbel_topk(kk, scores, k))(keys)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], mn.gumbel_topk(keys[i], scores, k))
    logits = scores.reshape(2, 3, L)
    g = jax.jit(lambda key, s: mn.gumbel_topk_indices(key, s, 4))
    np.testing.assert_array_equal(
        g(key, logits), mn.gumbel_topk_indices(key, logits, 4)
    )


def test_vmap_over_noise_scale(key, scores):
    alphas = [0.0, 0.5, 3.0]
    batched = jax.vmap(lambda a: mn.gumbel_topk(key, scores, 2, noise_scale=a))(
        jnp.array(alphas)
    )
    for i, a in enumerate(alphas):
        np.testing.assert_array_equal(
            batched[i], mn.gumbel_topk(key, scores, 2, noise_scale=a)
        )


def test_float32_inputs(key, scores):
    scores = scores.astype(np.float32)
    mask = mn.gumbel_topk(key, scores, 2)
    assert mask.dtype == jnp.bool_
    assert (np.asarray(mask).sum(axis=1) == 2).all()
    # float32 scores are perturbed with float32 noise of the documented draw
    for b in range(ROWS):
        values = scores[b] + row_noise(key, b, L, dtype=jnp.float32)
        top = np.sort(np.argsort(-values, kind="stable")[:2])
        np.testing.assert_array_equal(np.flatnonzero(mask[b]), top)
    # float64 noise is available for float32 scores
    mask64 = mn.gumbel_topk(key, scores, 2, noise_dtype=jnp.float64)
    assert (np.asarray(mask64).sum(axis=1) == 2).all()
    assert mn.gumbel_topk_indices(key, scores, 3).dtype == jnp.int32


# --- keys ---------------------------------------------------------------------


def test_as_key_accepts_seeds_typed_and_raw_keys():
    def same(a, b):
        return bool(np.all(jax.random.key_data(a) == jax.random.key_data(b)))

    assert same(mn.as_key(7), jax.random.key(7))
    assert same(mn.as_key(np.int64(7)), jax.random.key(7))
    assert same(mn.as_key(np.array(7)), jax.random.key(7))
    typed = jax.random.key(3)
    assert mn.as_key(typed) is typed
    raw = jax.random.PRNGKey(5)
    assert same(mn.as_key(raw), jax.random.wrap_key_data(raw))
    assert jnp.issubdtype(mn.as_key(raw).dtype, jax.dtypes.prng_key)
    traced = jax.jit(lambda s: jax.random.key_data(mn.as_key(s)))(jnp.int32(7))
    np.testing.assert_array_equal(traced, jax.random.key_data(jax.random.key(7)))


@pytest.mark.parametrize(
    "bad",
    [1.5, "0", None, True, np.ones(2), np.zeros(3, dtype=np.uint32), [0, 1]],
    ids=["float", "str", "None", "bool", "float-array", "uint32[3]", "list"],
)
def test_as_key_rejects_non_keys(bad):
    with pytest.raises(TypeError, match=r"seed_or_key must be"):
        mn.as_key(bad)


def test_as_key_rejects_bad_seeds_and_key_batches():
    with pytest.raises(ValueError, match=r"seed_or_key must be >= 0; got -1"):
        mn.as_key(-1)
    with pytest.raises(ValueError, match=r"seed_or_key must be <= "):
        mn.as_key(2**70)
    with pytest.raises(
        ValueError, match=r"seed_or_key must be a single PRNG key; got a batch"
    ):
        mn.as_key(jax.random.split(jax.random.key(0), 2))


def test_split_keys_shapes_and_values(key):
    keys = mn.split_keys(key, (2, 3))
    assert keys.shape == (2, 3)
    assert jnp.issubdtype(keys.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(
        jax.random.key_data(keys), jax.random.key_data(jax.random.split(key, (2, 3)))
    )
    data = jax.random.key_data(mn.split_keys(key, 4)).reshape(4, -1)
    assert len({tuple(row) for row in np.asarray(data)}) == 4  # all distinct
    raw = jax.random.PRNGKey(0)
    from_raw = mn.split_keys(raw, 2)
    assert jnp.issubdtype(from_raw.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(
        jax.random.key_data(from_raw), jax.random.split(raw, 2)
    )


def test_split_keys_rejects_bad_input(key):
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key"):
        mn.split_keys(0, 2)
    with pytest.raises(TypeError, match=r"num must be an int or a tuple of ints"):
        mn.split_keys(key, 2.0)
    with pytest.raises(TypeError, match=r"num must be an int or a tuple of ints"):
        mn.split_keys(key, "3")
    with pytest.raises(ValueError, match=r"num must be >= 1.*got \(0,\)"):
        mn.split_keys(key, 0)
    with pytest.raises(ValueError, match=r"num must be >= 1.*got \(2, -1\)"):
        mn.split_keys(key, (2, -1))
    with pytest.raises(ValueError, match=r"num must be >= 1.*got \(\)"):
        mn.split_keys(key, ())


# --- bad inputs -------------------------------------------------------------


def test_gumbel_noise_rejects_bad_input(key):
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key"):
        mn.gumbel_noise(0, 3)
    with pytest.raises(TypeError, match=r"shape must be an int or a tuple of ints"):
        mn.gumbel_noise(key, 2.5)
    with pytest.raises(
        ValueError, match=r"shape must have non-negative entries; got \(2, -1\)"
    ):
        mn.gumbel_noise(key, (2, -1))
    with pytest.raises(TypeError, match=r"dtype must be a floating dtype.*int32"):
        mn.gumbel_noise(key, 3, dtype=jnp.int32)
    with pytest.raises(TypeError, match=r"dtype must be a floating dtype"):
        mn.gumbel_noise(key, 3, dtype="nonsense")


def test_gumbel_topk_rejects_bad_input(key):
    s = np.zeros((2, 4))
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key"):
        mn.gumbel_topk(0, s, 1)
    with pytest.raises(ValueError, match=r"k must be >= 0; got -1"):
        mn.gumbel_topk(key, s, -1)
    with pytest.raises(
        ValueError, match=r"k must be <= 4 \(the number of positions per row\); got 5"
    ):
        mn.gumbel_topk(key, s, np.array([1, 5]))
    with pytest.raises(
        ValueError,
        match=r"k must be an int or an integer array of shape \(\) or \(2,\)"
        r".*got shape \(3,\)",
    ):
        mn.gumbel_topk(key, s, np.array([1, 1, 1]))
    with pytest.raises(
        ValueError, match=r"k must be .*\(\) \(scores is 1-D\); got shape \(2,\)"
    ):
        mn.gumbel_topk(key, s[0], np.array([1, 1]))
    with pytest.raises(TypeError, match=r"k must be .*dtype float64"):
        mn.gumbel_topk(key, s, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"k must be .*got 1.0"):
        mn.gumbel_topk(key, s, 1.0)
    with pytest.raises(TypeError, match=r"k must be .*got True"):
        mn.gumbel_topk(key, s, True)
    with pytest.raises(
        ValueError,
        match=r"eligible must have the shape of scores \(2, 4\); got shape \(4,\)",
    ):
        mn.gumbel_topk(key, s, 1, eligible=np.ones(4, dtype=bool))
    with pytest.raises(TypeError, match=r"eligible must be a boolean array; got dtype"):
        mn.gumbel_topk(key, s, 1, eligible=np.ones((2, 4)))
    with pytest.raises(
        ValueError, match=r"scores must not contain NaN or \+inf.*1 NaN and 0 \+inf"
    ):
        mn.gumbel_topk(key, np.array([0.0, np.nan]), 1)
    with pytest.raises(ValueError, match=r"0 NaN and 1 \+inf"):
        mn.gumbel_topk(key, np.array([0.0, np.inf]), 1)
    with pytest.raises(ValueError, match=r"scores must be 1-D or 2-D"):
        mn.gumbel_topk(key, np.zeros((2, 2, 2)), 1)
    with pytest.raises(ValueError, match=r"noise_scale must be >= 0.0; got -1.0"):
        mn.gumbel_topk(key, s, 1, noise_scale=-1.0)
    with pytest.raises(ValueError, match=r"noise_scale must be finite"):
        mn.gumbel_topk(key, s, 1, noise_scale=np.inf)
    with pytest.raises(ValueError, match=r"max_k must be <= 4; got 5"):
        mn.gumbel_topk(key, s, 1, max_k=5)
    with pytest.raises(ValueError, match=r"max_k must be >= 1; got 0"):
        mn.gumbel_topk(key, s, 0, max_k=0)
    with pytest.raises(
        ValueError,
        match=r"max_k must be >= every value of k; got max_k=2 and maximum k 3",
    ):
        mn.gumbel_topk(key, s, np.array([1, 3]), max_k=2)
    with pytest.raises(TypeError, match=r"noise_dtype must be a floating dtype"):
        mn.gumbel_topk(key, s, 1, noise_dtype=jnp.int32)


def test_gumbel_topk_indices_rejects_bad_input(key):
    logits = np.zeros((2, 4))
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key"):
        mn.gumbel_topk_indices(np.zeros(2), logits, 1)
    with pytest.raises(ValueError, match=r"k must be >= 0; got -1"):
        mn.gumbel_topk_indices(key, logits, -1)
    with pytest.raises(ValueError, match=r"k must be <= 4"):
        mn.gumbel_topk_indices(key, logits, 5)
    with pytest.raises(TypeError, match=r"k must be an int \(a static count\)"):
        mn.gumbel_topk_indices(key, logits, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"logits must not contain NaN"):
        mn.gumbel_topk_indices(key, np.array([np.nan, 0.0]), 1)
    with pytest.raises(ValueError, match=r"logits must have at least 1 dimensions"):
        mn.gumbel_topk_indices(key, 0.0, 1)


def test_shape_checks_apply_under_jit(key):
    f = jax.jit(lambda s, k: mn.gumbel_topk(key, s, k))
    with pytest.raises(ValueError, match=r"k must be an int or an integer array"):
        f(jnp.zeros((2, 4)), jnp.array([1, 2, 3]))

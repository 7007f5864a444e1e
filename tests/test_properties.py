"""Invariants that hold for all inputs, checked with hypothesis.

* the polar factor is scale invariant and odd;
* Hermite series round-trip through evaluation and projection;
* linear assignment is optimal (brute force over all permutations);
* the masked-diffusion samplers treat the rows of a batch independently.
"""

import itertools

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

from mltheory import generative, numerics
from mltheory.generative import toy

SETTINGS = settings(max_examples=25, deadline=None)

_ENTRY = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def matrices(draw, max_side=4):
    m = draw(st.integers(1, max_side))
    n = draw(st.integers(1, max_side))
    return draw(hnp.arrays(np.float64, (m, n), elements=_ENTRY))


def _well_separated(G):
    """Singular values apart from 0 and from each other's ties (a unique factor)."""
    s = np.linalg.svd(G, compute_uv=False)
    return s.size and s.min() > 1e-3 * max(s.max(), 1e-300)


# --------------------------------------------------------------------------
# Polar factor
# --------------------------------------------------------------------------


@SETTINGS
@given(G=matrices(), scale=st.floats(1e-3, 1e3))
def test_polar_is_scale_invariant_and_odd(G, scale):
    if not _well_separated(G):
        return  # the polar factor of a rank-deficient matrix is not unique
    Q = np.asarray(numerics.polar(G))
    # polar(c G) = polar(G) for c > 0 (both factors of the SVD are unchanged)
    np.testing.assert_allclose(numerics.polar(scale * G), Q, atol=1e-9)
    # polar(-G) = -polar(G)
    np.testing.assert_allclose(numerics.polar(-G), -Q, atol=1e-9)


@SETTINGS
@given(G=matrices(), scale=st.floats(1e-2, 1e2))
def test_newton_schulz_is_scale_invariant_and_odd(G, scale):
    if not np.any(G):
        return
    # NS iterates odd polynomials of G / (||G||_F + eps): with eps = 0 it is
    # exactly scale invariant, and odd for every eps.
    Q = np.asarray(numerics.newton_schulz(G, eps=0.0))
    np.testing.assert_allclose(numerics.newton_schulz(scale * G, eps=0.0), Q, atol=1e-9)
    np.testing.assert_allclose(
        numerics.newton_schulz(-G), -numerics.newton_schulz(G), atol=1e-12
    )


# --------------------------------------------------------------------------
# Hermite series round trip
# --------------------------------------------------------------------------


@SETTINGS
@given(coeffs=hnp.arrays(np.float64, 9, elements=st.floats(-3.0, 3.0)))
def test_hermite_series_round_trip(coeffs):
    # one degree (8) keeps one compilation; lower degrees are trailing zeros
    series = numerics.HermiteSeries(jnp.asarray(coeffs))
    degree = coeffs.size - 1
    # evaluate, then project back by quadrature: the coefficients return
    back = numerics.hermite_coefficients(series, degree, n_nodes=32)
    np.testing.assert_allclose(back.coeffs, coeffs, atol=1e-10)
    # and the norm is Parseval's sum k! c_k^2
    fact = np.array([float(np.prod(np.arange(1, k + 1))) for k in range(coeffs.size)])
    np.testing.assert_allclose(
        series.norm_squared(), np.sum(fact * coeffs**2), rtol=1e-12, atol=1e-12
    )


@SETTINGS
@given(
    monomials=hnp.arrays(np.float64, st.integers(1, 7), elements=st.floats(-2.0, 2.0))
)
def test_polynomial_series_evaluates_the_polynomial(monomials):
    series = numerics.polynomial_series(monomials)
    z = np.linspace(-2.0, 2.0, 7)
    np.testing.assert_allclose(
        series(z), np.polynomial.polynomial.polyval(z, monomials), atol=1e-9
    )


# --------------------------------------------------------------------------
# Assignment optimality
# --------------------------------------------------------------------------


@SETTINGS
@given(
    cost=st.integers(1, 5).flatmap(
        lambda n: hnp.arrays(np.float64, (n, n), elements=st.floats(-100.0, 100.0))
    ),
    maximize=st.booleans(),
)
def test_assignment_is_optimal_against_brute_force(cost, maximize):
    n = cost.shape[0]
    best = (max if maximize else min)(
        sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n))
    )
    assign = numerics.solve_assignment(cost, maximize=maximize)
    assert sorted(assign.tolist()) == list(range(n))  # a permutation
    np.testing.assert_allclose(numerics.assignment_cost(cost, assign), best, atol=1e-9)
    batched = numerics.solve_assignment_batched(
        np.stack([cost, cost]), maximize=maximize
    )
    np.testing.assert_allclose(
        numerics.assignment_cost(np.stack([cost, cost]), batched),
        [best, best],
        atol=1e-9,
    )


# --------------------------------------------------------------------------
# Sampler batch independence
# --------------------------------------------------------------------------

_V, _L = 3, 5
_CHAIN = toy.random_markov(jax.random.key(0), _V, length=_L)
_MASKED = np.full((3, _L), _V, np.int32)


@pytest.mark.slow  # four sampler compilations (batch of 3 and of 1)
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), row=st.integers(0, 2))
def test_samplers_treat_batch_rows_independently(seed, row):
    keys = jax.random.split(jax.random.key(seed), 3)
    for sample, options in (
        (generative.maskgit_sample, {}),
        (generative.moment_sample, {"beta": 2.0}),
    ):
        kw = dict(mask_id=_V, num_steps=3, **options)
        batch = sample(keys, _CHAIN, _MASKED, **kw)
        alone = sample(keys[row : row + 1], _CHAIN, _MASKED[:1], **kw)
        # row `row` of the batch is exactly the run of that row alone
        np.testing.assert_array_equal(batch.tokens[row], alone.tokens[0])
        np.testing.assert_array_equal(batch.reveal_step[row], alone.reveal_step[0])


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    other=hnp.arrays(np.float64, 6, elements=st.floats(-5.0, 5.0)),
)
def test_gumbel_topk_rows_do_not_see_each_other(seed, other):
    key = jax.random.key(seed)
    scores = np.stack([np.linspace(-1.0, 1.0, 6), np.zeros(6)])
    changed = scores.copy()
    changed[1] = other
    a = numerics.gumbel_topk(key, scores, jnp.array([2, 3]))
    b = numerics.gumbel_topk(key, changed, jnp.array([2, 3]))
    np.testing.assert_array_equal(a[0], b[0])  # row 0 ignores row 1's scores

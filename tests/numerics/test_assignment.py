"""Tests for mltheory.numerics assignment: single and batched linear assignment."""

import itertools

import numpy as np
import pytest
import scipy.optimize

from mltheory import numerics as mn

BACKENDS = ["numba", "threads", "auto"]


def brute_force(cost, maximize=False):
    """Optimal value and all optimal maps over every injective row -> column map."""
    n_rows, n_cols = cost.shape
    maps = np.array(list(itertools.permutations(range(n_cols), n_rows)))
    totals = cost[np.arange(n_rows), maps].sum(axis=1)
    best = totals.max() if maximize else totals.min()
    return best, maps[np.isclose(totals, best, rtol=0, atol=1e-12)]


def scipy_loop(costs, maximize=False):
    return np.stack(
        [scipy.optimize.linear_sum_assignment(c, maximize=maximize)[1] for c in costs]
    )


def is_injective(assignment):
    return len(set(assignment.tolist())) == len(assignment)


# --------------------------------------------------------------------------- #
# solve_assignment against brute force
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_random_float_costs_match_brute_force(n, rng):
    """Continuous costs have a unique optimum: the very assignment must match."""
    cost = rng.standard_normal((n, n))
    best, optimal_maps = brute_force(cost)
    assignment = mn.solve_assignment(cost)
    assert len(optimal_maps) == 1
    np.testing.assert_array_equal(assignment, optimal_maps[0])
    assert mn.assignment_cost(cost, assignment) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_integer_costs_with_ties_reach_the_optimal_value(seed):
    """Costs in {0, 1} have many optimal maps; any of them is fine."""
    cost = np.random.default_rng(seed).integers(0, 2, size=(6, 6))
    best, optimal_maps = brute_force(cost.astype(float))
    assert len(optimal_maps) > 1  # ties really occur
    assignment = mn.solve_assignment(cost)
    assert assignment.dtype == np.int64
    assert is_injective(assignment)
    assert mn.assignment_cost(cost, assignment) == best


@pytest.mark.parametrize("shape", [(2, 5), (3, 7), (5, 6), (4, 4)])
def test_maximize_matches_brute_force(shape, rng):
    cost = rng.random(shape)
    best, _ = brute_force(cost, maximize=True)
    assignment = mn.solve_assignment(cost, maximize=True)
    assert mn.assignment_cost(cost, assignment) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("shape", [(1, 4), (2, 7), (3, 5), (4, 7), (6, 7)])
def test_rectangular_costs_match_brute_force_over_injective_maps(shape, rng):
    cost = rng.standard_normal(shape)
    best, optimal_maps = brute_force(cost)
    assignment = mn.solve_assignment(cost)
    assert is_injective(assignment)
    np.testing.assert_array_equal(assignment, optimal_maps[0])
    assert mn.assignment_cost(cost, assignment) == pytest.approx(best, abs=1e-12)


def test_constant_cost_gives_the_identity():
    """SciPy's deterministic tie-breaking, kept by the numba backend."""
    np.testing.assert_array_equal(mn.solve_assignment(np.ones((4, 6))), np.arange(4))
    np.testing.assert_array_equal(
        mn.solve_assignment_batched(np.ones((2, 4, 6)), backend="numba"),
        np.tile(np.arange(4), (2, 1)),
    )


# --------------------------------------------------------------------------- #
# batched solver
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(40, 9, 9), (25, 6, 11), (3, 1, 1)])
def test_batched_equals_scipy_loop(backend, shape, rng):
    costs = rng.standard_normal(shape)
    expected = scipy_loop(costs)
    out = mn.solve_assignment_batched(costs, backend=backend)
    assert out.shape == shape[:2]
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(
        mn.assignment_cost(costs, out), mn.assignment_cost(costs, expected), rtol=1e-14
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_maximize_equals_scipy_loop(backend, rng):
    costs = rng.random((20, 5, 8))
    out = mn.solve_assignment_batched(costs, maximize=True, backend=backend)
    np.testing.assert_array_equal(out, scipy_loop(costs, maximize=True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_integer_ties_reach_brute_force_values(backend):
    costs = np.random.default_rng(3).integers(0, 3, size=(15, 5, 6))
    out = mn.solve_assignment_batched(costs, backend=backend)
    best = np.array([brute_force(c.astype(float))[0] for c in costs])
    np.testing.assert_array_equal(mn.assignment_cost(costs, out), best)
    assert all(is_injective(row) for row in out)
    # Deterministic: the same input gives the same assignment.
    np.testing.assert_array_equal(
        mn.solve_assignment_batched(costs, backend=backend), out
    )


@pytest.mark.parametrize(("high", "shape"), [(2, (200, 6, 6)), (4, (50, 5, 9))])
def test_numba_breaks_ties_exactly_like_scipy(high, shape):
    """Integer costs with many ties: not just the value, the very assignment."""
    costs = np.random.default_rng(high).integers(0, high, size=shape)
    out = mn.solve_assignment_batched(costs, backend="numba")
    np.testing.assert_array_equal(out, scipy_loop(costs))


@pytest.mark.parametrize("backend", ["numba", "threads"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_n_threads_does_not_change_the_result(backend, n_threads, rng):
    costs = rng.standard_normal((12, 7, 7))
    out = mn.solve_assignment_batched(costs, backend=backend, n_threads=n_threads)
    np.testing.assert_array_equal(out, scipy_loop(costs))


def test_batched_does_not_modify_its_input(rng):
    costs = rng.standard_normal((4, 3, 3))
    copy = costs.copy()
    mn.solve_assignment_batched(costs, maximize=True)
    np.testing.assert_array_equal(costs, copy)


# --------------------------------------------------------------------------- #
# assignment_cost
# --------------------------------------------------------------------------- #
def test_assignment_cost_sums_the_chosen_entries():
    cost = np.arange(12.0).reshape(3, 4)
    assert mn.assignment_cost(cost, np.array([3, 0, 1])) == 3.0 + 4.0 + 9.0
    batched = mn.assignment_cost(
        np.stack([cost, -cost]), np.array([[3, 0, 1], [0, 1, 2]])
    )
    np.testing.assert_array_equal(batched, [16.0, -(0.0 + 5.0 + 10.0)])


@pytest.mark.parametrize(
    ("cost", "assignment", "error", "match"),
    [
        (np.ones((3, 4)), np.array([0.0, 1.0, 2.0]), TypeError, "integer array"),
        (
            np.ones((3, 4)),
            np.array([0, 1]),
            ValueError,
            r"shape \(3,\).*got shape \(2,\)",
        ),
        (np.ones((3, 4)), np.array([0, 1, 4]), ValueError, r"in \[0, 4\).*0 to 4"),
        (np.ones((3, 4)), np.array([-1, 1, 2]), ValueError, r"in \[0, 4\)"),
        (np.ones((3, 4)), np.array([1, 1, 2]), ValueError, "its own column"),
        (np.ones(3), np.array([0]), ValueError, "cost must be 2-D or 3-D"),
        (np.full((2, 2), np.nan), np.array([0, 1]), ValueError, "cost must be finite"),
    ],
)
def test_assignment_cost_rejects_bad_input(cost, assignment, error, match):
    with pytest.raises(error, match=match):
        mn.assignment_cost(cost, assignment)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("cost", "kwargs", "error", "match"),
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), {}, ValueError, "cost must be finite"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), {}, ValueError, "cost must be finite"),
        (
            np.ones(3),
            {},
            ValueError,
            r"cost must be 2-D \(n_rows, n_cols\); got shape \(3,\)",
        ),
        (np.ones((2, 2, 2)), {}, ValueError, "cost must be 2-D"),
        (np.ones((3, 2)), {}, ValueError, r"n_rows <= n_cols.*got shape \(3, 2\)"),
        (np.ones((0, 3)), {}, ValueError, "cost must not be empty"),
        ("abc", {}, TypeError, "cost must be array_like"),
        (np.ones((2, 2)), {"maximize": "yes"}, TypeError, "maximize must be a bool"),
    ],
)
def test_solve_assignment_rejects_bad_input(cost, kwargs, error, match):
    with pytest.raises(error, match=match):
        mn.solve_assignment(cost, **kwargs)


@pytest.mark.parametrize(
    ("costs", "kwargs", "error", "match"),
    [
        (np.full((2, 2, 2), np.nan), {}, ValueError, "costs must be finite"),
        (
            np.ones((2, 2)),
            {},
            ValueError,
            r"costs must be 3-D \(n_problems, n_rows, n_cols\)",
        ),
        (np.ones((2, 3, 2)), {}, ValueError, r"n_rows <= n_cols.*\(2, 3, 2\)"),
        (np.ones((0, 2, 2)), {}, ValueError, "costs must not be empty"),
        (
            np.ones((2, 2, 2)),
            {"backend": "gpu"},
            ValueError,
            "backend must be one of 'auto', 'numba', 'threads'; got 'gpu'",
        ),
        (
            np.ones((2, 2, 2)),
            {"n_threads": 0},
            ValueError,
            "n_threads must be >= 1; got 0",
        ),
        (
            np.ones((2, 2, 2)),
            {"n_threads": 1.5},
            TypeError,
            "n_threads must be an integer",
        ),
        (np.ones((2, 2, 2)), {"maximize": 1}, TypeError, "maximize must be a bool"),
    ],
)
def test_solve_assignment_batched_rejects_bad_input(costs, kwargs, error, match):
    with pytest.raises(error, match=match):
        mn.solve_assignment_batched(costs, **kwargs)


@pytest.mark.parametrize("n_problems", [3, 300])  # serial and parallel kernels
def test_sq_diff_equals_the_batched_solver_on_explicit_costs(n_problems):
    """Same assignments as solving the stacked costs (unique optima here)."""
    gen = np.random.default_rng(3)
    n = 12
    r = gen.standard_normal((n_problems, n))
    g = r[:, gen.permutation(n)] + 0.3 * gen.standard_normal((n_problems, n))
    off = gen.uniform(0.0, 0.5, n_problems)
    costs = (r[:, :, None] - g[:, None, :]) ** 2 + off[:, None, None]
    costs.reshape(n_problems, n * n)[:, :: n + 1] -= off[:, None]
    expected = mn.solve_assignment_batched(costs)
    got = mn.solve_assignment_sq_diff(r, g, off_diagonal=off)
    np.testing.assert_array_equal(got, expected)
    # the penalty matters: with a huge one nobody moves
    stay = mn.solve_assignment_sq_diff(r, g, off_diagonal=1e9)
    np.testing.assert_array_equal(stay, np.broadcast_to(np.arange(n), r.shape))


def test_sq_diff_is_optimal_with_ties_and_any_penalty():
    """Optimal total cost against SciPy on 300 problems, many with exact ties.

    The solver starts every row at its cheapest column and searches only for
    the rest; on tied data it may return another optimal assignment than
    SciPy's, so the totals are compared (to rounding), not the assignments.
    """
    gen = np.random.default_rng(5)
    for trial in range(300):
        n = int(gen.integers(1, 30))
        r = gen.standard_normal(n)
        g = r[gen.permutation(n)] + gen.choice([0.0, 0.01, 0.3, 3.0]) * (
            gen.standard_normal(n)
        )
        if trial % 3 == 0:  # one decimal: many exactly equal costs
            r, g = np.round(r, 1), np.round(g, 1)
        off = float(gen.choice([0.0, 1e-3, 0.2, 5.0]))
        cost = (r[:, None] - g[None, :]) ** 2 + off
        cost[np.arange(n), np.arange(n)] -= off
        got = mn.solve_assignment_sq_diff(r[None], g[None], off_diagonal=off)[0]
        assert sorted(got) == list(range(n))
        ref = scipy.optimize.linear_sum_assignment(cost)[1]
        best = cost[np.arange(n), ref].sum()
        assert cost[np.arange(n), got].sum() == pytest.approx(
            best, rel=1e-12, abs=1e-12
        )


@pytest.mark.parametrize(
    ("r", "g", "off", "match"),
    [
        (np.zeros(3), np.zeros(3), 0.0, "r"),
        (np.zeros((2, 3)), np.zeros((2, 4)), 0.0, "g must have the shape"),
        (np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3), "off_diagonal"),
        (np.full((2, 3), np.nan), np.zeros((2, 3)), 0.0, "r"),
        (np.zeros((2, 3)), np.zeros((2, 3)), np.inf, "off_diagonal"),
    ],
)
def test_sq_diff_bad_inputs(r, g, off, match):
    with pytest.raises(ValueError, match=match):
        mn.solve_assignment_sq_diff(r, g, off_diagonal=off)

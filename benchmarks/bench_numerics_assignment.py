"""Batched linear assignment against a plain Python loop over SciPy.

Quick: 200 problems of size 100 x 100; full: 1000 problems of size 200 x 200
(the shuffled-regression workload), uniform float64 costs. The check: both give
the same optimal total cost for every problem.
"""

import numpy as np
import scipy.optimize

from mltheory import numerics as mn


def _scipy_loop(costs):
    return np.stack([scipy.optimize.linear_sum_assignment(c)[1] for c in costs])


def _batched(costs):
    return mn.solve_assignment_batched(costs)


def _make_case():
    inputs = {}

    def setup(quick):
        n_problems, n = (200, 100) if quick else (1000, 200)
        inputs["costs"] = np.random.default_rng(0).random((n_problems, n, n))
        return inputs["costs"]

    def check(baseline, ours):
        costs = inputs["costs"]
        np.testing.assert_allclose(
            mn.assignment_cost(costs, ours),
            mn.assignment_cost(costs, baseline),
            rtol=1e-12,
        )

    return (setup, _scipy_loop, _batched, check)


CASES = {"assignment_batched_vs_scipy_loop": _make_case()}

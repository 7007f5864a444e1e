r"""Inference for shuffled (permuted) linear regression.

Following Ota and Imaizumi [1]_, the model is
:math:`Y_i = x_{\pi^*(i)}^\top \beta^* + \sigma\varepsilon_i`,
:math:`\varepsilon \sim N(0, I_n)`: the responses and the rows of the design
were recorded separately and some of them were linked wrongly by an unknown
permutation :math:`\pi^*`, which moves few rows (a *sparse* permutation). The
module gives

* a simulator of such data (:func:`simulate_shuffled`);
* the LAP estimator (:func:`fit_lap`): a linear assignment problem with a
  Hamming penalty alternating with least squares, from many starts, and the
  exact brute force for tiny problems (:func:`least_squares_bruteforce`);
* repro-samples localisation of :math:`\pi^*` to a small candidate set
  (:func:`repro_candidate_set`);
* a conditional Monte Carlo test of a hypothesised permutation with exact
  finite-sample level (:func:`conditional_mc_test`, :func:`structure_test`)
  and the confidence set it gives (:func:`permutation_confidence_set`);
* confidence sets for :math:`\beta^*` valid under alignment uncertainty
  (:func:`coefficient_confidence_set`);
* a scikit-learn-style estimator (:class:`ShuffledRegression`) and the Beijing
  air-quality data (a local-file loader and a synthetic stand-in).

Everything runs on the host on NumPy arrays (JAX arrays are accepted as
input) and returns NumPy arrays; every assignment problem is solved by
:func:`mltheory.numerics.solve_assignment_sq_diff` (the batched solver of
:func:`mltheory.numerics.solve_assignment_batched` with the costs built in
place). Permutations are ``int64``
index arrays ``perm`` with :math:`(\Pi X)_i = X_{\mathrm{perm}[i]}`.
Randomness comes from ``rng``, an int seed or a
:class:`numpy.random.Generator`: the same seed gives the same result.

References
----------
.. [1] H. Ota and M. Imaizumi, "Finite-Sample Inference for Sparsely Permuted
   Linear Regression", arXiv:2601.14872, 2026.
"""

# The implementation lives in one private file per role (types, validation,
# simulator, point estimation, candidate sets, tests, coefficient sets,
# estimator, data loader); this module is the public namespace.
from mltheory.stats._shuffled_candidates import (
    repro_candidate_set,
)
from mltheory.stats._shuffled_coef import (
    coefficient_confidence_set,
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_COLUMNS as AIR_QUALITY_COLUMNS,  # column names, for the loader
)
from mltheory.stats._shuffled_data import (
    AIR_QUALITY_STATIONS as AIR_QUALITY_STATIONS,  # the 12 station names
)
from mltheory.stats._shuffled_data import (
    load_beijing_air_quality,
    synthetic_air_quality,
)
from mltheory.stats._shuffled_estimate import (
    fit_lap,
    lap_assignment,
    least_squares_bruteforce,
)
from mltheory.stats._shuffled_estimator import (
    ShuffledRegression,
)
from mltheory.stats._shuffled_simulate import (
    simulate_shuffled,
)
from mltheory.stats._shuffled_tests import (
    conditional_mc_test,
    permutation_confidence_set,
    structure_test,
)
from mltheory.stats._shuffled_types import (
    CandidateSet,
    CoefficientConfidenceSet,
    LAPFit,
    PermutationConfidenceSet,
    PermutationTestResult,
    ShuffledData,
)

__all__ = [
    "CandidateSet",
    "CoefficientConfidenceSet",
    "LAPFit",
    "PermutationConfidenceSet",
    "PermutationTestResult",
    "ShuffledData",
    "ShuffledRegression",
    "coefficient_confidence_set",
    "conditional_mc_test",
    "fit_lap",
    "lap_assignment",
    "least_squares_bruteforce",
    "load_beijing_air_quality",
    "permutation_confidence_set",
    "repro_candidate_set",
    "simulate_shuffled",
    "structure_test",
    "synthetic_air_quality",
]

"""Statistical inference tools.

* :mod:`mltheory.stats.shuffled`: inference for shuffled (permuted) linear
  regression — the LAP estimator, repro-samples candidate sets, a conditional
  Monte Carlo test for mismatches and confidence sets for the coefficients.

Each method lives in its own submodule; import the submodule, e.g.
``from mltheory.stats import shuffled``.
"""

from mltheory.stats import shuffled

__all__ = ["shuffled"]

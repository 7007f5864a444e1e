"""Statistical inference tools.

* :mod:`mltheory.stats.bandits`: high-dimensional kernel contextual bandits —
  kernel ridgeless interpolation inside explore-then-commit, UCB baselines
  with incremental Cholesky factors, and lenient regret.
* :mod:`mltheory.stats.shuffled`: inference for shuffled (permuted) linear
  regression — the LAP estimator, repro-samples candidate sets, a conditional
  Monte Carlo test for mismatches and confidence sets for the coefficients.

Each method lives in its own submodule; import the submodule, e.g.
``from mltheory.stats import shuffled``.
"""

from mltheory.stats import bandits, shuffled

__all__ = ["bandits", "shuffled"]

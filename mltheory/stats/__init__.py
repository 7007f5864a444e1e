"""Statistical inference tools.

* :mod:`mltheory.stats.bandits`: high-dimensional kernel contextual bandits —
  kernel ridgeless interpolation inside explore-then-commit, UCB baselines
  with incremental Cholesky factors, and lenient regret.
* :mod:`mltheory.stats.shuffled`: inference for shuffled (permuted) linear
  regression — the LAP estimator, repro-samples candidate sets, a conditional
  Monte Carlo test for mismatches and confidence sets for the coefficients.
* :mod:`mltheory.stats.ot`: optimal-transport maps between measures on a
  Hilbert space (functional data) — the gamma-sieve semi-dual estimator,
  truncated Gaussian/discrete/entropic baselines, closed forms and rates.

Each method lives in its own submodule; import the submodule, e.g.
``from mltheory.stats import shuffled``.
"""

from mltheory.stats import bandits, ot, shuffled

__all__ = ["bandits", "ot", "shuffled"]

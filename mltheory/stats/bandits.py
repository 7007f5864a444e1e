r"""High-dimensional kernel contextual bandits.

Following Iwazaki, Komiyama and Imaizumi [1]_, a learner faces :math:`K` arms
over :math:`T` rounds; at round :math:`t` arm :math:`i` shows a context
:math:`X_i(t) \in \mathbb{R}^d` and pays
:math:`Y(t) = f_i^*(X_i(t)) + \xi(t)` when pulled, with unknown nonlinear
:math:`f_i^*`. Information-gain analyses of kernel UCB methods give only
:math:`O(T)` regret once :math:`d = \Omega(\log T)`; the paper's method,
kernel ridgeless interpolation (a :math:`1/d`-scaled kernel) inside
explore-then-commit, learns even when :math:`d` grows with :math:`T` under
stochastic assumptions on the contexts. The module gives

* environments with pre-drawn randomness (:func:`make_instance`,
  :func:`instance_from_arrays`), so that every policy sees the same contexts
  and noise;
* the paper's :class:`KernelInterpolationETC`, its linear ancestor
  :class:`LinearInterpolationETC`, and the baselines :class:`LinUCB`,
  :class:`KernelUCB`, :class:`GPUCB` (incremental Cholesky factors,
  :math:`O(t^2)` a round), :class:`EpsilonGreedy`, :class:`RandomPolicy`,
  :class:`OraclePolicy`, all with one protocol (``reset`` / ``select`` /
  ``update``);
* runners: :func:`run_bandit` (one run), :func:`run_many` (replications,
  vectorised; explore-then-commit policies evaluate every committed round in
  one batched kernel product) and :func:`lenient_regret`.

Randomness comes from ``key`` (an int seed or a JAX key): the same key gives
the same run. Results are frozen dataclasses of NumPy arrays.

References
----------
.. [1] S. Iwazaki, J. Komiyama and M. Imaizumi, "High-dimensional
   Nonparametric Contextual Bandit Problem", arXiv:2505.14102, 2025.
"""

from __future__ import annotations

from mltheory.stats._bandit_env import (
    BanditInstance,
    instance_from_arrays,
    make_instance,
)
from mltheory.stats._bandit_policies import (
    GPUCB,
    EpsilonGreedy,
    KernelInterpolationETC,
    KernelUCB,
    LinearInterpolationETC,
    LinUCB,
    OraclePolicy,
    RandomPolicy,
)
from mltheory.stats._bandit_runner import (
    BanditRun,
    BanditRunBatch,
    lenient_regret,
    run_bandit,
    run_many,
)

__all__ = [
    "BanditInstance",
    "BanditRun",
    "BanditRunBatch",
    "EpsilonGreedy",
    "GPUCB",
    "KernelInterpolationETC",
    "KernelUCB",
    "LinUCB",
    "LinearInterpolationETC",
    "OraclePolicy",
    "RandomPolicy",
    "instance_from_arrays",
    "lenient_regret",
    "make_instance",
    "run_bandit",
    "run_many",
]

r"""Dynamical mean-field theory (DMFT) of stochastic gradient flow (SGF).

In the proportional limit :math:`n, d \to \infty`, :math:`n/d \to \delta`,
SGF (the SDE surrogate of multi-pass mini-batch SGD at temperature
:math:`\tau = \eta/B`, see :mod:`mltheory.optim.sgf`) on a generalised linear
model or a two-layer network is described by two coupled *effective
processes*: one parameter row and one sample, tied together by a handful of
two-time kernels (correlation :math:`C_\theta`, responses :math:`R_\theta`,
:math:`R_\ell`, the teacher force :math:`\Gamma` and the noise covariance
:math:`M`). This module

* describes a model by a small set of callables (:class:`SGFModel`), with
  ready constructors :func:`glm` and :func:`two_layer`;
* solves the DMFT by Monte Carlo over the effective processes
  (:func:`solve_dmft`: a causal single pass or a damped fixed point with
  common random numbers);
* gives the special cases: the online-SGD limit :math:`\delta \to \infty`
  (:func:`online_limit`), deterministic linear regression
  (:func:`linear_regression_dmft`) and, independently, its Marchenko–Pastur
  quadrature (:func:`linear_regression_mp`);
* simulates the finite-size system the theory describes (:func:`simulate`).

Conventions: :math:`x_i \sim N(0, I_d/d)`, parameters with :math:`O(1)`
coordinates, time in SGF units (one unit is :math:`d/\eta` SGD steps), and
the DMFT is that of the Euler–Maruyama recursion with the grid's step, so a
simulation on the same grid differs from it only by finite-:math:`d` error.
"""

# The implementation lives in one private file per role (model types, ready
# models, validation, solvers, online limit, linear regression, finite-size
# simulation); this module is the public namespace.
from mltheory.dynamics._dmft_dln import DLNModel, dln
from mltheory.dynamics._dmft_dln_sim import DLNTrajectory, simulate_dln
from mltheory.dynamics._dmft_dln_theory import (
    DLNPaths,
    dln_coefficient_paths,
    dln_escape_times,
    dln_implicit_bias_solution,
    dln_lazy_limit,
    tail_rate,
)
from mltheory.dynamics._dmft_models import glm, two_layer
from mltheory.dynamics._dmft_online import online_limit
from mltheory.dynamics._dmft_regression import (
    linear_regression_dmft,
    linear_regression_mp,
)
from mltheory.dynamics._dmft_simulate import simulate
from mltheory.dynamics._dmft_solve import solve_dmft
from mltheory.dynamics._dmft_types import (
    DMFTConfig,
    DMFTDivergenceError,
    DMFTNumericalError,
    DMFTResult,
    SGFModel,
)

__all__ = [
    "DLNModel",
    "DLNPaths",
    "DLNTrajectory",
    "DMFTConfig",
    "DMFTDivergenceError",
    "DMFTNumericalError",
    "DMFTResult",
    "SGFModel",
    "dln",
    "dln_coefficient_paths",
    "dln_escape_times",
    "dln_implicit_bias_solution",
    "dln_lazy_limit",
    "glm",
    "linear_regression_dmft",
    "linear_regression_mp",
    "online_limit",
    "simulate",
    "simulate_dln",
    "solve_dmft",
    "tail_rate",
    "two_layer",
]

r"""Fast–slow ODEs of an infinite-width two-layer network: feature (un)learning.

A two-layer network :math:`f(x) = \frac1n \sum_j a_j \sigma(\langle w_j, x\rangle)`
with unit-norm first-layer rows learns a single-index teacher
:math:`y = \sigma_*(\langle\theta_*, x\rangle) + \zeta` from Gaussian inputs by
large-batch SGD. In the infinite-width, large-batch limit each neuron is
described by its alignment :math:`m = \langle w, \theta_*\rangle` (the *fast*
variable) and its second-layer weight :math:`a` (the *slow* variable, its
learning rate is :math:`\varepsilon` times smaller). With Hermite coefficients
:math:`c_k` (student) and :math:`c^*_k` (teacher) the macroscopic flow is the
metric gradient flow

.. math::

    \dot m = -(1 - m^2)\, a\,[a S_2(m) - S_1(m)], \qquad
    \dot a = -\varepsilon\,[a T_2(m) - T_1(m)]

of :math:`L(m, a) = \tfrac12 \sum_k k!\,(a c_k m^k - c^*_k)^2`. This module
integrates it (and its N-particle version), computes its critical manifold,
the reduced slow flow, its equilibria, the criterion that decides whether the
network *unlearns* the feature (alignment rising, then decaying on the slow
time scale) and the power laws of that decay, following the fast–slow
analysis of [1]_.

Conventions: probabilists' Hermite polynomials with coefficients taken with
respect to the standard Gaussian (see :mod:`mltheory.numerics`); time ``t`` is
in units of the first-layer learning rate (``t = k * lr_w``); ``eps`` is
``lr_a / lr_w``. Everything is float64 when JAX's x64 mode is on (float32
inputs are upcast to the default float dtype). Functions marked *vmappable*
accept traced problems and parameters, so a whole phase diagram is one
:func:`jax.vmap`.

References
----------
.. [1] S. Imai, S. Nishiyama and M. Imaizumi, "Dichotomy of Feature Learning
   and Unlearning: Fast-Slow Analysis on Neural Networks with Stochastic
   Gradient Descent", arXiv:2602.07378, 2026.
"""

# The implementation lives in one private file per role (problem, vector field,
# integration, critical manifold, unlearning prediction, scaling laws, phase
# diagram); this module is the public namespace.
from mltheory.dynamics._fast_slow_field import (
    HermiteSums,
    hermite_sums,
    population_loss,
    vector_field,
)
from mltheory.dynamics._fast_slow_integrate import (
    FastSlowTrajectory,
    PopulationTrajectory,
    integrate,
    integrate_population,
)
from mltheory.dynamics._fast_slow_manifold import (
    CriticalManifold,
    Equilibria,
    critical_manifold,
    equilibria,
    slow_flow,
)
from mltheory.dynamics._fast_slow_phase import (
    PhaseDiagram,
    phase_diagram,
)
from mltheory.dynamics._fast_slow_problem import (
    FastSlowProblem,
)
from mltheory.dynamics._fast_slow_scaling import (
    PowerLawFit,
    ScalingLaw,
    UnlearningStats,
    fit_power_law,
    measure_unlearning,
    scaling_law,
)
from mltheory.dynamics._fast_slow_unlearning import (
    UnlearningDiagnosis,
    critical_strength,
    predict_unlearning,
)

__all__ = [
    "CriticalManifold",
    "Equilibria",
    "FastSlowProblem",
    "FastSlowTrajectory",
    "HermiteSums",
    "PhaseDiagram",
    "PopulationTrajectory",
    "PowerLawFit",
    "ScalingLaw",
    "UnlearningDiagnosis",
    "UnlearningStats",
    "critical_manifold",
    "critical_strength",
    "equilibria",
    "fit_power_law",
    "hermite_sums",
    "integrate",
    "integrate_population",
    "measure_unlearning",
    "phase_diagram",
    "population_loss",
    "predict_unlearning",
    "scaling_law",
    "slow_flow",
    "vector_field",
]

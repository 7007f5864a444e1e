r"""Optimal-transport maps between measures on a separable Hilbert space.

Estimators of the quadratic-cost OT map :math:`T_0 = \nabla\varphi_0` from
unpaired samples of two measures on :math:`L^2` (curves) or any separable
Hilbert space, given as basis coefficients or as
:class:`~mltheory.numerics.FunctionalData`:

* :class:`GammaSieveOTMap` (and :func:`fit_gamma_sieve_map`): the
  semi-dual estimator on a gamma-smooth trigonometric sieve, after Ponnoprat
  and Imaizumi (arXiv:2505.13570), whose minimax rates are polynomial for
  gamma-smooth maps even in infinite dimension;
* :class:`ProjectedOTMap` and :class:`GaussianOTMap`: truncate to :math:`D`
  coordinates and solve a finite-dimensional problem (Gaussian,
  exact discrete, entropic or sieve);
* closed forms for Gaussian measures (:func:`gaussian_ot_map`,
  :func:`commuting_gaussian_map`, :func:`gaussian_w2_squared`,
  :func:`truncation_bias`), the discrete and entropic baselines
  (:func:`empirical_ot_assignment`, :func:`entropic_map`), the error
  :func:`l2_map_error` and the rate rules (:func:`rate`,
  :func:`optimal_budget`, :func:`optimal_dim`);
* :mod:`mltheory.stats.ot.datasets`: pairs of measures with a known map.

The estimator of the paper is reconstructed from its abstract (the body could
not be read): see the theory page for what is derived here and what is
stated in the paper.
"""

from mltheory.stats.ot import datasets
from mltheory.stats.ot._closed_forms import (
    commuting_gaussian_map,
    gaussian_ot_map,
    gaussian_w2_squared,
    l2_map_error,
    truncation_bias,
)
from mltheory.stats.ot._discrete import (
    EntropicMap,
    empirical_ot_assignment,
    entropic_map,
)
from mltheory.stats.ot._estimators import (
    GammaSieveOTMap,
    GaussianOTMap,
    ProjectedOTMap,
)
from mltheory.stats.ot._rates import optimal_budget, optimal_dim, rate
from mltheory.stats.ot._sieve import OTMapResult, fit_gamma_sieve_map
from mltheory.stats.ot._smoothness import GammaSmoothness

__all__ = [
    "EntropicMap",
    "GammaSieveOTMap",
    "GammaSmoothness",
    "GaussianOTMap",
    "OTMapResult",
    "ProjectedOTMap",
    "commuting_gaussian_map",
    "datasets",
    "empirical_ot_assignment",
    "entropic_map",
    "fit_gamma_sieve_map",
    "gaussian_ot_map",
    "gaussian_w2_squared",
    "l2_map_error",
    "optimal_budget",
    "optimal_dim",
    "rate",
    "truncation_bias",
]

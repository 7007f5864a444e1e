"""Optimisers and the theories of their dynamics.

* Spectral gradient descent (SpecGD, the update direction of Muon) as optax
  gradient transformations: :func:`specgd`, :func:`scale_by_spectral`,
  :func:`specgd_step` (exported here).
* :mod:`mltheory.optim.phase_retrieval`: the phase-retrieval model in which GD
  and SpecGD provably differ, its reduced recursion and full simulation.
* :mod:`mltheory.optim.sgf`: stochastic gradient flow (SGF), the SDE limit of
  SGD, and the finite-size SGD/SGF simulators that the DMFT theory describes.
"""

from mltheory.optim import phase_retrieval, sgf
from mltheory.optim._spectral import *
from mltheory.optim._spectral import __all__ as _spectral_all

__all__ = sorted([*_spectral_all, "phase_retrieval", "sgf"])

"""Theories of training dynamics, each with the finite-size system it describes.

* :mod:`mltheory.dynamics.dmft`: dynamical mean-field theory (DMFT) of
  stochastic gradient flow on generalised linear models and two-layer networks.
* :mod:`mltheory.dynamics.fast_slow`: the fast–slow ODEs of an infinite-width
  two-layer network (feature learning and unlearning), its critical manifold,
  slow flow and scaling laws.
* :mod:`mltheory.dynamics.tensor_programs`: the finite-width network and
  large-batch SGD simulator whose width limit those ODEs are.
* :mod:`mltheory.dynamics.xor`: two-layer ReLU training on Gaussian XOR with
  zero margin, neuron blocks, the two phases and the error regions.

Each theory lives in its own submodule; import the submodule, e.g.
``from mltheory.dynamics import dmft``.
"""

from mltheory.dynamics import dmft, fast_slow, tensor_programs, xor

__all__ = ["dmft", "fast_slow", "tensor_programs", "xor"]

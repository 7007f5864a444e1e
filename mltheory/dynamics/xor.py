r"""Gaussian XOR with zero margin: two-layer training, neuron blocks, error regions.

A two-layer ReLU network :math:`f(x) = \sum_{j=1}^m a_j
\mathrm{ReLU}(\langle w_j, x\rangle)` is trained by online minibatch SGD on
the logistic loss, both layers at once, on the XOR problem
:math:`y = s\,\mathrm{sign}(x_1 x_2)` with Gaussian inputs
:math:`x \sim N(0, I_d)`, following [1]_ (which extends Glasgow's hypercube
analysis [2]_). The Bayes classifier has zero error but zero margin: a
positive fraction of the data lies arbitrarily close to the boundary.

The module gives the finite-size system (:func:`sample_xor`,
:func:`init_params`, :func:`forward`, :func:`logistic_loss`,
:func:`train_xor`, jitted and vmappable over keys) and the quantities of the
theory: the four cluster directions and the neuron blocks
(:func:`neuron_blocks`, :func:`block_signals`, :func:`cluster_diagnostics`),
the two phases of training (:func:`phase_split`), and the average-case view of
generalisation (:func:`error_regions`, :func:`ideal_xor_error`).

References
----------
.. [1] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR Classification
   with Zero-Margin", AISTATS 2026, arXiv:2602.00172.
.. [2] M. Glasgow, "SGD Finds then Tunes Features in Two-Layer Neural Networks
   with near-Optimal Sample Complexity: A Case Study in the XOR problem", ICLR
   2024, arXiv:2309.15111.
"""

# The implementation lives in one private file per role (data and network,
# training, block analysis, ideal-network theory); this module is the public
# namespace.
from mltheory.dynamics._xor_analysis import (
    BlockAssignment,
    BlockSignals,
    ClusterDiagnostics,
    ErrorRegionReport,
    block_signals,
    cluster_diagnostics,
    error_regions,
    neuron_blocks,
    phase_split,
)
from mltheory.dynamics._xor_data import (
    XORConfig,
    XORParams,
    forward,
    init_params,
    logistic_loss,
    sample_xor,
)
from mltheory.dynamics._xor_theory import ideal_xor_error
from mltheory.dynamics._xor_train import XORTrajectory, train_xor

__all__ = [
    "BlockAssignment",
    "BlockSignals",
    "ClusterDiagnostics",
    "ErrorRegionReport",
    "XORConfig",
    "XORParams",
    "XORTrajectory",
    "block_signals",
    "cluster_diagnostics",
    "error_regions",
    "forward",
    "ideal_xor_error",
    "init_params",
    "logistic_loss",
    "neuron_blocks",
    "phase_split",
    "sample_xor",
    "train_xor",
]

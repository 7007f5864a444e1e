"""The registry of reproductions: name -> module with ``run(*, size, key, out_dir)``.

Modules are imported lazily, so ``mltheory reproduce --list`` stays instant and
a paper's heavy imports are paid only when that paper runs.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["ENTRIES", "Entry", "load_runner"]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered reproduction."""

    name: str
    module: str
    title: str
    description: str


# One line per paper; each method issue adds its entry here.
ENTRIES: dict[str, Entry] = {
    entry.name: entry
    for entry in [
        Entry(
            name="numerics",
            module="mltheory.reproduce._numerics",
            title=(
                "The shared numerics layer: convergence orders and quadrature accuracy"
            ),
            description=(
                "measured orders of the ODE/SDE steppers and the accuracy of Gaussian "
                "expectations and Hermite coefficients against closed forms"
            ),
        ),
        Entry(
            name="fast-slow",
            module="mltheory.reproduce._fast_slow",
            title="Feature learning vs unlearning: fast–slow ODEs, two-layer network",
            description=(
                "the 2-D macroscopic ODE against finite-width large-batch SGD, the "
                "phase diagram of unlearning over (c*_p, a0) with its predicted "
                "boundary, and the scaling laws of unlearning"
            ),
        ),
        Entry(
            name="dmft-sgf",
            module="mltheory.reproduce._dmft_sgf",
            title="DMFT of stochastic gradient flow on GLMs",
            description=(
                "DMFT loss curves against simulated SGD/SGF for linear and logistic "
                "regression, and the approach to the online limit as delta grows"
            ),
        ),
        Entry(
            name="dmft-dln",
            module="mltheory.reproduce._dmft_dln",
            title=(
                "Diagonal linear networks by DMFT: lazy vs rich, incremental "
                "learning, implicit bias"
            ),
            description=(
                "DMFT loss curves against finite-d networks from alpha = 0.01 to 3, "
                "two-plateau incremental learning against the escape-time "
                "heuristic, the long-time test loss against the hyperbolic-entropy "
                "interpolator, and the rate/generalisation trade-off"
            ),
        ),
        Entry(
            name="specgd",
            module="mltheory.reproduce._specgd",
            title="Spectral gradient descent vs gradient descent in phase retrieval",
            description=(
                "the reduced three-variable recursion against full-matrix "
                "simulation; GD amplifies the spike above its threshold, SpecGD "
                "never does and contracts the bulk earlier"
            ),
        ),
        Entry(
            name="shuffled",
            module="mltheory.reproduce._shuffled",
            title="Inference for shuffled linear regression",
            description=(
                "Type-I error and power of the conditional Monte Carlo test, "
                "repro-samples candidate-set coverage, LAP against brute force, "
                "coefficient-set coverage"
            ),
        ),
        Entry(
            name="xor",
            module="mltheory.reproduce._xor",
            title=(
                "Gaussian XOR with zero margin: neuron blocks, two phases, error "
                "regions"
            ),
            description=(
                "two-layer ReLU training on Gaussian XOR: rho crosses 1 then grows, "
                "blocks (not neurons) move coherently, the errors sit near the "
                "boundary and follow the zero-margin law (2/pi) sigma/c; the same "
                "phases with hypercube and Student-t inputs"
            ),
        ),
        Entry(
            name="bandits",
            module="mltheory.reproduce._bandits",
            title="High-dimensional kernel contextual bandits",
            description=(
                "interpolation explore-then-commit has sublinear regret, stays well "
                "below the random policy as d grows while fixed-bandwidth GP-UCB and "
                "KernelUCB approach it, and its lenient regret comes from exploration"
            ),
        ),
        Entry(
            name="masked-samplers",
            module="mltheory.reproduce._masked_samplers",
            title="Masked-diffusion samplers: MaskGIT, moment sampler, caching",
            description=(
                "total variation to the exact law against the number of steps, the "
                "implicit-temperature relation of MaskGIT, and partial caching "
                "quality per full-pass equivalent"
            ),
        ),
        Entry(
            name="ot-maps",
            module="mltheory.reproduce._ot_maps",
            title="Optimal transport maps between infinite-dimensional spaces",
            description=(
                "closed forms of Gaussian OT maps, the polynomial rate and U-shape "
                "in the truncation dimension of the Gaussian estimator, the "
                "gamma-sieve semi-dual estimator on gamma-smooth non-Gaussian data, "
                "and EMD/entropic baselines degrading with dimension"
            ),
        ),
        Entry(
            name="sona",
            module="mltheory.reproduce._sona",
            title="SONA: naturalness, alignment and mismatch in one discriminator head",
            description=(
                "structure identities of the SONA head and losses, the BT-M optimum "
                "log p(x|y) - log p(x) on an enumerated law, and SONA against the "
                "projection discriminator and SAN-PD on a toy conditional GAN over "
                "5 seeds"
            ),
        ),
    ]
}


def load_runner(name: str) -> Callable[..., Any]:
    """Import the reproduction module of ``name`` and return its ``run``."""
    module = importlib.import_module(ENTRIES[name].module)
    return module.run  # type: ignore[no-any-return]

"""Shared numerical kernels: the one layer every subpackage builds on.

:mod:`mltheory.numerics` holds the computations that more than one theory
needs, written once, jitted and tested against independent references:

* Gaussian expectations and Hermite series (probabilists' convention);
* fixed-step ODE and SDE integrators on :func:`jax.lax.scan`, and a hand-off
  to SciPy's implicit solvers for stiff problems;
* the one divergence policy of every fixed-step integrator and simulator
  (``on_divergence="raise" | "warn" | "flag"``);
* the polar factor (SVD and Newton–Schulz), PSD square roots and projections,
  rank-one Cholesky updates;
* linear assignment, one problem or a batch;
* kernel (Gram) matrices;
* functional data on a grid: grids, quadrature weights, sine/Fourier/Legendre/
  B-spline bases, projection, FPCA, trigonometric features and the chunked
  log-sum-exp c-transform of optimal transport;
* Gumbel noise, Gumbel top-k with per-row counts, and key helpers;
* a fixed-step loop with records (:func:`scan_with_records`) for simulators
  and trainers;
* :mod:`mltheory.numerics.parallel`: a leading sample/seed axis sharded over a
  device mesh, and chunked sweeps on any :class:`concurrent.futures.Executor`.

Nothing in this module knows about a paper.
"""

from mltheory.numerics import parallel
from mltheory.numerics._assignment import *
from mltheory.numerics._assignment import __all__ as _assignment_all
from mltheory.numerics._divergence import *
from mltheory.numerics._divergence import __all__ as _divergence_all
from mltheory.numerics._functional import *
from mltheory.numerics._functional import __all__ as _functional_all
from mltheory.numerics._gaussian import *
from mltheory.numerics._gaussian import __all__ as _gaussian_all
from mltheory.numerics._integrate import *
from mltheory.numerics._integrate import __all__ as _integrate_all
from mltheory.numerics._kernels import *
from mltheory.numerics._kernels import __all__ as _kernels_all
from mltheory.numerics._linalg import *
from mltheory.numerics._linalg import __all__ as _linalg_all
from mltheory.numerics._random import *
from mltheory.numerics._random import __all__ as _random_all
from mltheory.numerics._scan import *
from mltheory.numerics._scan import __all__ as _scan_all
from mltheory.numerics.parallel import *
from mltheory.numerics.parallel import __all__ as _parallel_all

__all__ = sorted(
    [
        *_assignment_all,
        *_divergence_all,
        *_functional_all,
        *_gaussian_all,
        *_integrate_all,
        *_kernels_all,
        *_linalg_all,
        *_random_all,
        *_parallel_all,
        "parallel",
        *_scan_all,
    ]
)

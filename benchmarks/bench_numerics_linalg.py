"""Newton-Schulz polar factor (muon preset, 5 steps) against the exact SVD polar.

Input: a float32 Gaussian matrix (the dtype of optimiser gradients). Both sides
are wrapped in ``jax.jit`` so that neither pays the eager input validation; the
timing is the kernel. The check: NS maps every singular value with
sigma / ||G||_F >= 0.0015 into its documented band [0.68, 1.21] and none above
1.21, so its output is within the band's error of the exact polar factor.
"""

import jax
import numpy as np

from mltheory import numerics as mn

_svd_polar = jax.jit(mn.polar_svd)
_ns_polar = jax.jit(mn.newton_schulz)


def _make_case(n):
    inputs = {}

    def setup(quick):
        G = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
        inputs["G"] = G
        return jax.device_put(G)

    def check(exact, ours):
        G = inputs["G"].astype(np.float64)
        above = np.linalg.svd(G, compute_uv=False) / np.linalg.norm(G) >= 0.0015
        exact = np.asarray(exact, np.float64)
        ours = np.asarray(ours, np.float64)
        s = np.linalg.svd(ours, compute_uv=False)
        tol = 1e-3  # float32 round-off
        assert s.max() <= 1.21 + tol, s.max()
        in_band = (s >= 0.68 - tol) & (s <= 1.21 + tol)
        assert in_band.sum() >= above.sum(), (in_band.sum(), above.sum())
        rel = np.linalg.norm(ours - exact) / np.linalg.norm(exact)
        assert rel < 0.35, rel

    return (setup, _svd_polar, _ns_polar, check)


CASES = {f"ns_polar_vs_svd_{n}": _make_case(n) for n in (256, 1024)}

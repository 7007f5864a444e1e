"""SpecGD's optax transformation and the phase-retrieval simulators.

* ``spectral_vs_optax_muon_10mats``: one update of ``specgd`` configured as
  ``optax.contrib.muon`` (momentum 0.95 Nesterov, muon NS preset, 5 steps,
  eps 1e-8, muon shape scale) against ``optax.contrib.muon`` itself, on a
  pytree of ten float32 matrices from 64^2 to 1024^2. Check: same updates.
* ``scale_by_spectral_vs_muon_orthogonalize_10mats``: the stateless
  ``scale_by_spectral`` against ``optax.contrib``'s
  ``orthogonalize_via_newton_schulz`` mapped over the same pytree.
* ``specgd_ns_vs_svd_1024``: ``scale_by_spectral`` with Newton–Schulz against
  the exact SVD polar factor on one 1024^2 float32 gradient. Check: NS maps
  every singular direction into its documented band.
* ``pr_reduced_vs_full_d100``: ``simulate_reduced`` (10^4 steps, quick 2000)
  against ``simulate_full`` with population gradients at d = 100, GD
  (lr = 0.002, kappa = 4). Check: the same trajectory to round-off.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax.contrib import _muon

from mltheory import optim
from mltheory.optim import phase_retrieval as pr

_SHAPES = [
    (64, 64),
    (64, 256),
    (128, 128),
    (256, 64),
    (256, 256),
    (256, 1024),
    (512, 512),
    (1024, 256),
    (512, 1024),
    (1024, 1024),
]


def _tree(quick):
    shapes = (
        [(max(8, m // 4), max(8, n // 4)) for m, n in _SHAPES] if quick else _SHAPES
    )
    keys = jax.random.split(jax.random.key(0), len(shapes))
    return {
        f"w{i}": jax.random.normal(k, s, jnp.float32)
        for i, (k, s) in enumerate(zip(keys, shapes, strict=True))
    }


def _close(b, o, tol=1e-4):
    for x, y in zip(jax.tree.leaves(b), jax.tree.leaves(o), strict=True):
        err = float(jnp.max(jnp.abs(x - y)))
        assert err < tol, err


# --- full optimiser step vs optax.contrib.muon --------------------------------
_ours_opt = optim.specgd(
    0.02, momentum=0.95, nesterov=True, eps=1e-8, shape_scale="muon"
)
_muon_opt = optax.contrib.muon(0.02, beta=0.95, nesterov=True, eps=1e-8)


def _setup_step(quick):
    grads = _tree(quick)
    return grads, _ours_opt.init(grads), _muon_opt.init(grads)


_ours_step = jax.jit(lambda g, s: _ours_opt.update(g, s, g)[0])
_muon_step = jax.jit(lambda g, s: _muon_opt.update(g, s, g)[0])

# --- stateless orthogonalisation ----------------------------------------------
_ours_tx = optim.scale_by_spectral(eps=1e-8)
_coeffs = jnp.asarray(_muon._DEFAULT_NS_COEFFS)
_ours_orth = jax.jit(lambda g: _ours_tx.update(g, optax.EmptyState())[0])
_muon_orth = jax.jit(
    lambda g: jax.tree.map(
        lambda x: _muon.orthogonalize_via_newton_schulz(x, _coeffs, 5, eps=1e-8), g
    )
)

# --- NS vs SVD ----------------------------------------------------------------
_ns_tx = optim.scale_by_spectral(method="ns")
_svd_tx = optim.scale_by_spectral(method="svd")
_ns_one = jax.jit(lambda g: _ns_tx.update({"W": g}, optax.EmptyState())[0]["W"])
_svd_one = jax.jit(lambda g: _svd_tx.update({"W": g}, optax.EmptyState())[0]["W"])


def _setup_1024(quick):
    n = 256 if quick else 1024
    return jax.random.normal(jax.random.key(1), (n, n), jnp.float32)


def _check_band(exact, ours):
    ours = np.asarray(ours, np.float64)
    s = np.linalg.svd(ours, compute_uv=False)
    assert s.max() <= 1.21 + 1e-3, s.max()
    rel = np.linalg.norm(ours - np.asarray(exact)) / np.linalg.norm(np.asarray(exact))
    assert rel < 0.35, rel


# --- phase retrieval: reduced vs full -----------------------------------------
_PR = {}


def _setup_pr(quick):
    _PR["steps"] = 2000 if quick else 10_000
    return pr.spiked_covariance(100, 4.0)


def _pr_full(cov):
    return pr.simulate_full(
        jax.random.key(0),
        cov,
        method="gd",
        lr=0.002,
        steps=_PR["steps"],
        record_every=100,
    ).a


def _pr_reduced(cov):
    return pr.simulate_reduced(cov, method="gd", lr=0.002, steps=_PR["steps"]).a[::100]


def _check_pr(full, red):
    assert float(jnp.max(jnp.abs(full - red))) <= 1e-9


CASES = {
    "spectral_vs_optax_muon_10mats": (
        _setup_step,
        lambda i: _muon_step(i[0], i[2]),
        lambda i: _ours_step(i[0], i[1]),
        _close,
    ),
    "scale_by_spectral_vs_muon_orthogonalize_10mats": (
        _tree,
        _muon_orth,
        _ours_orth,
        _close,
    ),
    "specgd_ns_vs_svd_1024": (_setup_1024, _svd_one, _ns_one, _check_band),
    "pr_reduced_vs_full_d100": (_setup_pr, _pr_full, _pr_reduced, _check_pr),
}

# Issue 3: specgd configured as Muon no slower than optax.contrib.muon.
GOALS = {"spectral_vs_optax_muon_10mats": 1.0}

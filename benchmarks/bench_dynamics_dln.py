"""Benchmarks for the diagonal-linear-network DMFT (mltheory.dynamics.dmft).

* ``dln_dmft_vs_simulation`` (delta = 2) and ``dln_dmft_vs_simulation_delta05``
  (delta = 0.5): the test-loss curve of a DLN (``"uv"``, alpha = 0.1, sparse
  Bernoulli(0.1) x N(0, 1) teacher, T = 10). Ours: :func:`solve_dmft`, causal,
  K = 200 steps, N = 10^4 samples, closed-form sample side (K = 40, N = 2000
  with ``--quick``). Baseline: :func:`simulate_dln` producing the same curve,
  d = 2000, 4 seeds (d = 400 with ``--quick``), the same grid and step.
  ``check``: the curves agree to 5 % of the initial loss.
* ``dln_closed_form_vs_monte_carlo_sample_side``: the same DMFT with the sample
  side in closed form (ours) and by Monte Carlo (baseline, the generic
  solver); ``check``: train losses agree to 3 % of the initial loss.
* The grid and peak memory at the reproduction's largest setting (the rich
  regime's long horizon) are printed by ``python
  benchmarks/bench_dynamics_dln.py --memory`` (JAX's compiled memory
  analysis) and reported in RESULTS.md.
"""

from __future__ import annotations

import dataclasses
import sys

import jax
import numpy as np

from mltheory.dynamics import dmft
from mltheory.numerics import TimeGrid

MODEL = dmft.dln(alpha=0.1)


def _setup(quick, delta=2.0):
    K, N, d = (40, 2000, 400) if quick else (200, 10_000, 2000)
    return {"grid": TimeGrid(10.0, K), "N": N, "d": d, "delta": delta}


def _setup_05(quick):
    return _setup(quick, delta=0.5)


def _solve(inp, model=MODEL):
    res = dmft.solve_dmft(
        model,
        delta=inp["delta"],
        grid=inp["grid"],
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=inp["N"]),
    )
    return res.test_loss


def _simulation(inp):
    sim = dmft.simulate_dln(
        MODEL,
        delta=inp["delta"],
        grid=inp["grid"],
        d=inp["d"],
        key=jax.random.key(1),
        n_seeds=4,
    )
    return sim.test_loss.mean(0)


def _check_curves(b, o):
    gap = float(np.abs(np.asarray(b) - np.asarray(o)).max())
    assert gap < 0.05 * float(np.asarray(o)[0]), gap


def _monte_carlo_side(inp):
    return _train(inp, dataclasses.replace(MODEL, linear_noise_std=None))


def _closed_side(inp):
    return _train(inp, MODEL)


def _train(inp, model):
    return dmft.solve_dmft(
        model,
        delta=inp["delta"],
        grid=inp["grid"],
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=inp["N"]),
    ).train_loss


def _check_train(b, o):
    gap = float(np.abs(np.asarray(b) - np.asarray(o)).max())
    assert gap < 0.03 * float(np.asarray(b)[0]), gap


CASES = {
    "dln_dmft_vs_simulation": (_setup, _simulation, _solve, _check_curves),
    "dln_dmft_vs_simulation_delta05": (
        _setup_05,
        _simulation,
        _solve,
        _check_curves,
    ),
    "dln_closed_form_vs_monte_carlo_sample_side": (
        _setup,
        _monte_carlo_side,
        _closed_side,
        _check_train,
    ),
}

# The goal: the DMFT at least 10x faster than the networks (delta = 2).
GOALS = {"dln_dmft_vs_simulation": 0.1}


def _peak_memory(ts, N):
    """Compiled peak memory (bytes) of the causal solver for the DLN on ``ts``."""
    import jax.numpy as jnp

    from mltheory.dynamics import _dmft_solver

    key = jax.random.key(0)
    star, state0 = _dmft_solver.draw_priors(MODEL, key, N)
    K = len(ts) - 1
    blocks = 4 if (K + 1) ** 2 * N >= 4e8 else 1
    compiled = _dmft_solver.solve_causal.lower(
        key,
        0.5,
        0.0,
        star,
        state0,
        jnp.asarray(np.diff(ts)),
        model=_dmft_solver.core_model(MODEL),
        n_steps=K,
        n_samples=N,
        n_blocks=blocks,
    ).compile()
    stats = compiled.memory_analysis()
    total = stats.temp_size_in_bytes + stats.argument_size_in_bytes
    return total + stats.output_size_in_bytes, K, blocks


if __name__ == "__main__" and "--memory" in sys.argv:
    jax.config.update("jax_enable_x64", True)
    from mltheory.reproduce import _dmft_dln

    for size in ("quick", "full"):
        ts = _dmft_dln.rich_grid(size)
        N = _dmft_dln.SIZES[size]["n_samples"]
        peak, K, blocks = _peak_memory(ts, N)
        steps = np.diff(ts)
        print(
            f"{size}: rich-regime grid T = {ts[-1]:.1f}, K = {K} steps from "
            f"{steps[0]:.3g} to {steps.max():.3g} (a uniform grid at the first "
            f"step would need {int(np.ceil(ts[-1] / steps[0]))}); N = {N}, "
            f"time_blocks = {blocks}: peak {peak / 2**20:.0f} MiB"
        )

"""Benchmarks for mltheory.dynamics.dmft.

* ``dmft_causal_vs_simulation``: the SGF test-loss curve of logistic regression
  (sign teacher, delta = 2, tau = 0.5, T = 4). Ours: :func:`solve_dmft`,
  causal, K = 100 steps, N = 10^4 samples (K = 40, N = 2000 with ``--quick``),
  ``time_blocks=4`` (the loop in 4 blocks that each read only the histories
  filled so far; 10--25 % less run time for about 4 s more compilation, which
  a sweep over delta or tau pays once: they are traced). The ``auto`` choice
  keeps one block at this size, because for a single call the compilation
  costs more than it saves; ``dmft_causal_one_block_vs_simulation`` times it.
  Baseline: the finite-d simulation that produces the same curve, d = 2000,
  4 seeds (d = 400 with ``--quick``), Euler–Maruyama on the same grid.
  ``check``: the curves agree to 5 % of the initial loss.
* ``dmft_causal_vs_fixed_point``: the same DMFT solved by the damped fixed
  point (baseline) and the causal single pass (ours); ``check``: train losses
  agree to 1e-5.
* The peak memory of the causal solver at K = 200, N = 10^4 is measured by
  ``python benchmarks/bench_dynamics_dmft.py --memory`` (JAX's compiled
  memory analysis), reported in RESULTS.md.
"""

from __future__ import annotations

import sys

import jax
import numpy as np

from mltheory.dynamics import dmft
from mltheory.numerics import TimeGrid

MODEL = dmft.glm("logistic", teacher="sign", noise_std=0.1, ridge=0.01)


def _setup(quick):
    K, N, d = (40, 2000, 400) if quick else (100, 10_000, 2000)
    return {"grid": TimeGrid(4.0, K), "N": N, "d": d, "delta": 2.0, "tau": 0.5}


def _solve(inp, blocks):
    res = dmft.solve_dmft(
        MODEL,
        delta=inp["delta"],
        tau=inp["tau"],
        grid=inp["grid"],
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=inp["N"], time_blocks=blocks),
    )
    return res.test_loss


def _ours(inp):
    return _solve(inp, 4)


def _ours_one_block(inp):
    return _solve(inp, 1)


def _simulation(inp):
    sim = dmft.simulate(
        MODEL,
        delta=inp["delta"],
        tau=inp["tau"],
        grid=inp["grid"],
        d=inp["d"],
        key=jax.random.key(1),
        n_seeds=4,
    )
    return sim.test_loss.mean(0)


def _check_curves(b, o):
    gap = float(np.abs(np.asarray(b) - np.asarray(o)).max())
    assert gap < 0.05 * float(np.asarray(o)[0]), gap


def _setup_fp(quick):
    K, N = (20, 2000) if quick else (40, 4000)
    return {"grid": TimeGrid(4.0, K), "N": N}


def _fixed_point(inp):
    return dmft.solve_dmft(
        MODEL,
        delta=2.0,
        tau=0.5,
        grid=inp["grid"],
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=inp["N"], method="fixed_point"),
    ).train_loss


def _causal(inp):
    return dmft.solve_dmft(
        MODEL,
        delta=2.0,
        tau=0.5,
        grid=inp["grid"],
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=inp["N"]),
    ).train_loss


def _check_fp(b, o):
    assert float(np.abs(np.asarray(b) - np.asarray(o)).max()) < 1e-5


CASES = {
    "dmft_causal_vs_simulation": (_setup, _simulation, _ours, _check_curves),
    "dmft_causal_one_block_vs_simulation": (
        _setup,
        _simulation,
        _ours_one_block,
        _check_curves,
    ),
    "dmft_causal_vs_fixed_point": (_setup_fp, _fixed_point, _causal, _check_fp),
}


def _peak_memory(K=200, N=10_000, blocks=1):
    """Compiled peak memory of the causal solver (bytes) and the K*K*N size."""
    import jax.numpy as jnp

    from mltheory.dynamics import _dmft_solver

    key = jax.random.key(0)
    star, state0 = _dmft_solver.draw_priors(MODEL, key, N)
    compiled = _dmft_solver.solve_causal.lower(
        key,
        2.0,
        0.5,
        star,
        state0,
        jnp.full(K, 4.0 / K),
        model=_dmft_solver.core_model(MODEL),
        n_steps=K,
        n_samples=N,
        n_blocks=blocks,
    ).compile()
    stats = compiled.memory_analysis()
    total = stats.temp_size_in_bytes + stats.argument_size_in_bytes
    total += stats.output_size_in_bytes
    return total, K * K * N * 8


# The largest acceptable ratio ours_s / baseline_s (benchmarks/run.py flags a
# case whose rounds do not all meet it): issue 4's "at least 10x faster".
GOALS = {"dmft_causal_vs_simulation": 0.1}


if __name__ == "__main__" and "--memory" in sys.argv:
    jax.config.update("jax_enable_x64", True)
    for blocks in (1, 4):
        peak, dense = _peak_memory(blocks=blocks)
        print(
            f"causal K=200 N=1e4 time_blocks={blocks}: peak {peak / 2**20:.0f} MiB; "
            f"a K*K*N float64 array would be {dense / 2**30:.1f} GiB"
        )

"""Sharded ``solve_dmft`` on four CPU devices against the unsharded solve.

Usage::

    python benchmarks/sharded_dmft.py [--quick] [--rounds N] [--devices D]

Runs in its own process, because the number of CPU devices is fixed when JAX
starts (``jax_num_cpu_devices``). Measures, for the causal solver on the
logistic/sign-teacher model of ``bench_dynamics_dmft.py`` (K = 100 steps,
N = 10^4 samples; K = 40, N = 2,000 with ``--quick``):

* the wall time of the unsharded solve (one device) and of the solve with its
  N samples split over ``D`` devices (``mesh=make_mesh(D)``), timed in
  interleaved rounds as ``benchmarks/run.py`` does, and their ratio;
* the peak memory per device of both, from XLA's compiled memory analysis
  (arguments + outputs + temporaries of one device's program);
* from that memory at two sample sizes, the bytes per sample and the fixed
  part, hence the largest N whose solve fits in 24 GiB on one device, and on
  ``D`` devices of 24 GiB each (the memory per device is what bounds N when the
  devices are GPUs; on one CPU host the devices share the host's memory).

On one CPU host the four "devices" share the same cores, so the ratio shows
the cost of the cross-device reductions, not a speed-up; the speed-up needs
devices with their own compute (GPUs, or hosts joined by
``jax.distributed.initialize``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

GIB = 2**30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--devices", type=int, default=4)
    args = parser.parse_args()

    import jax

    jax.config.update("jax_num_cpu_devices", args.devices)
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np

    from mltheory.dynamics import _dmft_solver, dmft
    from mltheory.numerics import TimeGrid, make_mesh

    model = dmft.glm("logistic", teacher="sign", noise_std=0.1, ridge=0.01)
    K, N = (40, 2000) if args.quick else (100, 10_000)
    rounds = args.rounds or (3 if args.quick else 5)
    grid = TimeGrid(4.0, K)
    mesh = make_mesh(args.devices)

    def solve(mesh_or_none):
        return dmft.solve_dmft(
            model,
            delta=2.0,
            tau=0.5,
            grid=grid,
            key=jax.random.key(0),
            config=dmft.DMFTConfig(n_samples=N, time_blocks=1),
            mesh=mesh_or_none,
        )

    def peak_bytes(n, mesh_or_none):
        key = jax.random.key(0)
        star, state0 = _dmft_solver.draw_priors(model, key, n)
        compiled = _dmft_solver.solve_causal.lower(
            key,
            2.0,
            0.5,
            star,
            state0,
            jnp.full(K, grid.dt),
            model=_dmft_solver.core_model(model),
            n_steps=K,
            n_samples=n,
            n_blocks=1,
            mesh=mesh_or_none,
        ).compile()
        m = compiled.memory_analysis()
        return m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes

    plain, sharded = solve(None), solve(mesh)  # compile both
    gap = float(np.max(np.abs(np.asarray(plain.C_theta) - np.asarray(sharded.C_theta))))
    t_plain, t_sharded = [], []
    for _ in range(rounds):
        for store, m in ((t_sharded, mesh), (t_plain, None)):
            start = time.perf_counter()
            jax.block_until_ready(solve(m).test_loss)
            store.append(time.perf_counter() - start)
    ratios = [s / p for s, p in zip(t_sharded, t_plain, strict=True)]
    print(
        f"# {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; causal "
        f"solve_dmft K = {K}, N = {N}, {rounds} interleaved rounds; "
        f"max |C_sharded - C| = {gap:.1e}"
    )
    print(
        f"unsharded (1 device): {statistics.median(t_plain):.3f} s; sharded over "
        f"{args.devices} devices: {statistics.median(t_sharded):.3f} s; ratio "
        f"sharded/unsharded {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
    )
    sizes = (N // 2, N)
    one = [peak_bytes(n, None) for n in sizes]
    per = [peak_bytes(n, mesh) for n in sizes]
    slope1 = (one[1] - one[0]) / (sizes[1] - sizes[0])
    slopeD = (per[1] - per[0]) / (sizes[1] - sizes[0])
    n_max_1 = int((24 * GIB - (one[1] - slope1 * sizes[1])) / slope1)
    n_max_D = int((24 * GIB - (per[1] - slopeD * sizes[1])) / slopeD)
    print(
        f"peak memory per device at N = {N}: unsharded {one[1] / 2**20:.1f} MiB, "
        f"sharded {per[1] / 2**20:.1f} MiB on each of {args.devices} devices"
    )
    print(
        f"bytes per sample at K = {K}: {slope1:.0f} on one device, {slopeD:.0f} per "
        f"device when sharded over {args.devices}"
    )
    print(
        f"largest N in 24 GiB: {n_max_1:.3g} on one device; {n_max_D:.3g} with "
        f"{args.devices} devices of 24 GiB each"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

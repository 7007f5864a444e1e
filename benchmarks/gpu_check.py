"""The accelerator measurements of issue 19, ready to run on a GPU machine.

Usage (on a machine with a GPU and ``jax[cuda]`` installed)::

    python benchmarks/gpu_check.py [--json gpu.json]
    python benchmarks/gpu_check.py --smoke   # tiny sizes, any device (a dry run)

It measures, on ``jax.devices()[0]``, and prints Markdown rows for
benchmarks/RESULTS.md (with the device named):

1. **Matmul peak**: the best of several jitted ``n x n`` products at
   n = 8192, in bfloat16 and float32 (``2 n^3`` flops each), as TFLOP/s.
2. **Newton–Schulz polar** (:func:`mltheory.numerics.newton_schulz`, muon
   preset, 5 steps) at 4096^2 and 8192^2, bfloat16 (``compute_dtype``) and
   float32: achieved TFLOP/s (``5 (4 m^2 n + 2 m^3)`` flops) and the fraction
   of the measured matmul peak of the same dtype.
3. **DMFT at N = 10^6**: the causal ``solve_dmft`` (logistic model, sign
   teacher, K = 100) with 10^6 samples: seconds (after compilation) and the
   compiled peak memory.
4. **Samplers**: the jitted samplers against their eager loop
   (``benchmarks/run.py``'s ``generative_*`` cases), on the GPU.

float32 matrix products follow JAX's default precision for the platform (on
recent NVIDIA GPUs that may mean TF32 inside); the printout names it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _best_seconds(fn, *args, repeats=5):
    import jax

    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def matmul_peak(n, dtype):
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (n, n), dtype)
    b = jax.random.normal(jax.random.key(1), (n, n), dtype)
    best, _ = _best_seconds(jax.jit(jnp.matmul), a, b)
    return 2 * n**3 / best / 1e12


def ns_polar(n, dtype_name):
    import jax
    import jax.numpy as jnp

    from mltheory.numerics import newton_schulz

    g = jax.random.normal(jax.random.key(2), (n, n), jnp.float32)
    compute = jnp.bfloat16 if dtype_name == "bfloat16" else None
    fn = jax.jit(lambda x: newton_schulz(x, compute_dtype=compute))
    best, median = _best_seconds(fn, g)
    flops = 5 * (4 * n**3 + 2 * n**3)
    return {"seconds": median, "tflops": flops / best / 1e12}


def dmft_million(n_samples, n_steps):
    import jax
    import jax.numpy as jnp

    from mltheory.dynamics import _dmft_solver, dmft
    from mltheory.dynamics._dmft_solve import _time_blocks
    from mltheory.numerics import TimeGrid

    model = dmft.glm("logistic", teacher="sign", noise_std=0.1, ridge=0.01)
    grid = TimeGrid(4.0, n_steps)

    def solve():
        return dmft.solve_dmft(
            model,
            delta=2.0,
            tau=0.5,
            grid=grid,
            key=jax.random.key(0),
            config=dmft.DMFTConfig(n_samples=n_samples),
        ).test_loss

    start = time.perf_counter()
    jax.block_until_ready(solve())
    first = time.perf_counter() - start
    _, median = _best_seconds(solve, repeats=3)
    key = jax.random.key(0)
    star, state0 = _dmft_solver.draw_priors(model, key, n_samples)
    compiled = _dmft_solver.solve_causal.lower(
        key,
        2.0,
        0.5,
        star,
        state0,
        jnp.full(n_steps, grid.dt),
        model=_dmft_solver.core_model(model),
        n_steps=n_steps,
        n_samples=n_samples,
        n_blocks=_time_blocks(
            dmft.DMFTConfig(n_samples=n_samples), n_steps=n_steps, k=model.k
        ),
    ).compile()
    mem = compiled.memory_analysis()
    peak = mem.temp_size_in_bytes + mem.argument_size_in_bytes
    peak += mem.output_size_in_bytes
    return {"first_call_s": first, "seconds": median, "peak_bytes": peak}


def samplers(quick):
    sys.path.insert(0, str(HERE))
    import run  # benchmarks/run.py

    cases, _ = run._load_cases()
    rows = []
    for name, (setup, baseline, ours, *rest) in cases.items():
        if not name.startswith("generative_"):
            continue
        inputs = setup(quick)
        base_t, ours_t, base_out, ours_out = run.measure(baseline, ours, inputs, 3)
        if rest:
            rest[0](base_out, ours_out)
        rows.append(run.summarise(name, base_t, ours_t, None))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, any device")
    parser.add_argument("--json", dest="json_path", default=None)
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)  # the DMFT runs in float64
    import jax.numpy as jnp

    device = jax.devices()[0]
    name = f"{device.platform}: {device.device_kind}"
    if device.platform == "cpu" and not args.smoke:
        print(
            "gpu_check.py measures an accelerator; jax.devices()[0] is a CPU. Install "
            "jax[cuda] on a GPU machine, or pass --smoke to check the script here.",
            file=sys.stderr,
        )
        return 2
    sizes = (256, 512) if args.smoke else (4096, 8192)
    peak_n = 512 if args.smoke else 8192
    out = {"device": name, "jax": jax.__version__}
    out["matmul_peak_tflops"] = {
        "bfloat16": matmul_peak(peak_n, jnp.bfloat16),
        "float32": matmul_peak(peak_n, jnp.float32),
    }
    out["newton_schulz"] = {
        f"{n}x{n} {dt}": ns_polar(n, dt)
        for n in sizes
        for dt in ("bfloat16", "float32")
    }
    n_dmft, k_dmft = (20_000, 20) if args.smoke else (1_000_000, 100)
    out["dmft"] = {"N": n_dmft, "K": k_dmft, **dmft_million(n_dmft, k_dmft)}
    out["samplers"] = samplers(quick=args.smoke)

    print(f"### {name} (jax {jax.__version__})\n")
    print("| measurement | value |\n|---|---|")
    for dt, tf in out["matmul_peak_tflops"].items():
        print(f"| matmul peak {peak_n}^2 {dt} | {tf:.1f} TFLOP/s |")
    for key, r in out["newton_schulz"].items():
        peak = out["matmul_peak_tflops"][key.split()[1]]
        print(
            f"| NS polar (muon, 5 steps) {key} | {r['seconds'] * 1e3:.1f} ms, "
            f"{r['tflops']:.1f} TFLOP/s = {r['tflops'] / peak:.0%} of peak |"
        )
    d = out["dmft"]
    print(
        f"| solve_dmft causal N = {d['N']:.0e}, K = {d['K']} | "
        f"{d['seconds']:.2f} s (first call {d['first_call_s']:.1f} s), "
        f"peak {d['peak_bytes'] / 2**30:.2f} GiB |"
    )
    for r in out["samplers"]:
        print(
            f"| {r['case']} (ours / baseline) | ratio {r['ratio']:.3f} "
            f"({r['ratio_min']:.3f}-{r['ratio_max']:.3f}) |"
        )
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the time of ``sgf_em_vs_diffrax`` goes, and the floor it implies.

Run: ``python benchmarks/sgf_bandwidth.py [--rounds R]`` (about a minute).

The case (``bench_optim_sgf.py``): least squares, n = 2000, d = 1000, 200
Euler–Maruyama steps in float64; X is 16 MB. One step of
:func:`mltheory.optim.sgf.simulate_sgf` is ``r = X theta``, the per-sample
weights, and ``X^T v``: two O(nd) products that each read all of X. Measured
here, in one process, interleaved over rounds (median and min of wall and CPU
seconds):

* ``read X (X theta)``: ``X @ theta`` alone, 200 times in a ``lax.scan``: the
  rate at which the threads stream X from where it lives between steps (L3 or
  memory). XLA:CPU splits it among its threads by rows.
* ``X^T v, one product``: ``(v^T X)^T`` alone, 200 times; XLA:CPU splits it
  among its threads by columns, so each thread reads a strip of every row.
* ``X^T v, 4 row blocks``: the same sum as one batched product over 4 row
  blocks of X, then added (what ``simulate_sgf`` runs on CPU, ``_xt_dot``):
  each block is streamed row after row.
* ``read L2 block (matvec)``: the same bytes as a whole X, but one 98-row
  block (784 kB) read 21 times, so from a core's L2.
* ``draws``: the Brownian increments alone, drawn as ``simulate_sgf`` draws
  them (100 steps at a time; 200 x 2000 normals).
* ``ours (default)``: the whole :func:`simulate_sgf` call as the benchmark
  makes it; ``ours, one X^T v product``: the same with ``sgf._XT_PARTS = 1``
  (before 2026-12-05, session 4); ``ours, row-blocked``: with the row-blocked
  pass switched on (``sgf._BLOCK_BYTES``).
* ``diffrax``: the benchmark's baseline (Euler, ``UnsafeBrownianPath``).

The floor of the two-product step is two reads of X at the ``X theta`` rate
plus the draws: 200 steps of it give the fastest ``ours`` that these two XLA
products allow, and divided by diffrax's time, the best ratio the case can
show on this machine. The row-blocked floor (X once from its home, once from
L2) is printed too; XLA runs that pass on one thread, so it is a single-core
floor.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)  # a script, not the library

sys.path.insert(0, os.path.dirname(__file__))
import bench_optim_sgf as bench  # noqa: E402

from mltheory.optim import sgf  # noqa: E402

STEPS = 200


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@jax.jit
def _read_x(X, theta):
    def body(th, _):
        r = X @ th
        return th + 1e-30 * r[: th.shape[0]], None  # a dependence, no hoisting

    return lax.scan(body, theta, None, length=STEPS)[0]


@functools.partial(jax.jit, static_argnames=("parts",))
def _xt_product(X, v, parts):
    def body(u, _):
        g = sgf._xt_dot(X, u, parts)
        return u + 1e-30 * jnp.concatenate([g, g]), None  # a dependence

    return lax.scan(body, v, None, length=STEPS)[0]


@jax.jit
def _read_block(Xb, theta):
    reps = 2000 // Xb.shape[0]

    def body(th, _):
        for _ in range(reps):
            r = Xb @ th
            th = th + 1e-30 * r[0]
        return th, None

    return lax.scan(body, theta, None, length=STEPS)[0]


@functools.partial(jax.jit, static_argnames=("n", "dt"))
def _draws(key, n, dt):
    # As simulate_sgf draws them: the increments of 100 steps at a time,
    # vmapped over the steps (one fold_in each), the same values as
    # brownian_increments.
    def chunk(_, ns):
        draw = lambda m: jax.random.normal(jax.random.fold_in(key, m), (n,)) * dt**0.5
        return None, jax.vmap(draw)(ns)

    return lax.scan(chunk, None, jnp.arange(STEPS).reshape(2, STEPS // 2))[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    inp = bench._setup(False)
    X = inp["X"]
    n, d = X.shape
    theta = jnp.full((d, 1), 1e-3)
    block = X[:98]

    def ours(blocked=False, parts=None):
        def run():
            default = sgf._BLOCK_BYTES, sgf._XT_PARTS
            sgf._BLOCK_BYTES = 768 * 1024 if blocked else None
            sgf._XT_PARTS = default[1] if parts is None else parts
            try:
                return bench._ours(inp)[0]
            finally:
                sgf._BLOCK_BYTES, sgf._XT_PARTS = default

        return run

    v = jnp.full((n, 1), 1e-3)
    parts = sgf._xt_parts(n, d, X.dtype.itemsize, True)
    cases = {
        "read X (X theta)": lambda: _read_x(X, theta),
        "X^T v, one product": lambda: _xt_product(X, v, 1),
        f"X^T v, {parts} row blocks": lambda: _xt_product(X, v, parts),
        "read L2 block (matvec)": lambda: _read_block(block, theta),
        "draws": lambda: _draws(jax.random.key(1), n, inp["grid"].dt),
        "ours (default)": ours(),
        "ours, one X^T v product": ours(parts=1),
        "ours, row-blocked": ours(blocked=True),
        "diffrax": lambda: bench._baseline(inp)[0],
    }
    for f in cases.values():
        jax.block_until_ready(f())
    times = {k: [] for k in cases}
    load0 = os.getloadavg()[0]
    for _ in range(rounds):
        for k, f in cases.items():
            w0, c0 = time.perf_counter(), _cpu()
            jax.block_until_ready(f())
            times[k].append((time.perf_counter() - w0, _cpu() - c0))
    load1 = os.getloadavg()[0]
    med = {k: np.median(np.array(v), axis=0) for k, v in times.items()}
    low = {k: np.min(np.array(v), axis=0) for k, v in times.items()}
    print(f"# load {load0:.1f} -> {load1:.1f}; {rounds} rounds; X {n}x{d} float64")
    head = ("wall med", "wall min", "cpu med", "cpu min")
    print(f"{'case':28s} " + " ".join(f"{h:>9s}" for h in head))
    for k in cases:
        print(
            f"{k:28s} {med[k][0] * 1e3:8.1f}m {low[k][0] * 1e3:8.1f}m "
            f"{med[k][1] * 1e3:8.1f}m {low[k][1] * 1e3:8.1f}m"
        )
    x_bytes = X.size * X.dtype.itemsize
    for label, i in (("wall", 0), ("cpu", 1)):
        bw_x = STEPS * x_bytes / low["read X (X theta)"][i]
        bw_l2 = STEPS * x_bytes / low["read L2 block (matvec)"][i]
        floor_two = STEPS * 2 * x_bytes / bw_x + low["draws"][i]
        floor_one = STEPS * (x_bytes / bw_x + x_bytes / bw_l2) + low["draws"][i]
        base = low["diffrax"][i]
        print(
            f"# {label} (best round): X read at {bw_x / 1e9:.0f} GB/s, an L2 block at "
            f"{bw_l2 / 1e9:.0f} GB/s; diffrax {base / STEPS * 1e3:.2f} ms/step. "
            f"Floor (products + draws, nothing else): two products "
            f"{floor_two * 1e3:.1f} ms (ratio {floor_two / base:.3f}), row-blocked "
            f"{floor_one * 1e3:.1f} ms (ratio {floor_one / base:.3f}); measured "
            f"default {low['ours (default)'][i] * 1e3:.1f} ms (ratio "
            f"{low['ours (default)'][i] / base:.3f}), one X^T v product "
            f"{low['ours, one X^T v product'][i] * 1e3:.1f}, row-blocked "
            f"{low['ours, row-blocked'][i] * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()

"""Benchmarks for mltheory.numerics.parallel: the cost of running a sweep on Dask.

* ``sweep_dask_2workers_vs_local_64chunks``: one sweep of 4,096 grid points in
  64 chunks of 64 (16 and 8 with ``--quick``). Each point integrates a
  32-dimensional linear ODE, dy/dt = -(theta I + S) y with a fixed skew S, by
  RK4 for 1,000 steps (about 0.06 s of work per chunk on one core).
  Baseline: ``sweep`` in this process (the chunks one after another, XLA using
  both cores within each). Ours: the same 64 chunks as tasks of a
  ``distributed.LocalCluster`` with two single-threaded worker processes on
  loopback. On two cores there is nothing to gain; the case shows what the
  cluster costs (goal: at most 1.3x the one-process time). ``check``: the
  same numbers.
* ``python benchmarks/bench_numerics_parallel.py --overhead`` measures the
  per-task overhead of the same cluster (400 tasks that do nothing, through
  ``sweep``), from which the Scaling page projects a 100-worker cluster.

The cases need the ``cluster`` extra (``dask[distributed]``); without it they
are not registered.
"""

from __future__ import annotations

import atexit
import importlib.util
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from mltheory.numerics import sweep

_DIM, _STEPS, _DT = 32, 1000, 0.01
_CLUSTER: dict = {}


def _field(theta, y, skew):
    return -(theta * y + skew @ y)


def _one(theta, skew):
    def step(y, _):
        k1 = _field(theta, y, skew)
        k2 = _field(theta, y + 0.5 * _DT * k1, skew)
        k3 = _field(theta, y + 0.5 * _DT * k2, skew)
        k4 = _field(theta, y + _DT * k3, skew)
        return y + (_DT / 6) * (k1 + 2 * k2 + 2 * k3 + k4), None

    y, _ = jax.lax.scan(step, jnp.ones(_DIM, theta.dtype), None, length=_STEPS)
    return jnp.linalg.norm(y)


def _skew():
    a = np.random.default_rng(0).standard_normal((_DIM, _DIM)) / np.sqrt(_DIM)
    return jnp.asarray(a - a.T)


_CHUNK = jax.jit(jax.vmap(_one, in_axes=(0, None)))


def _chunk(thetas):
    return _CHUNK(thetas, _skew())


def _client():
    if "client" not in _CLUSTER:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
        _CLUSTER.update(cluster=cluster, client=client)
        atexit.register(lambda: (client.close(), cluster.close()))
    return _CLUSTER["client"]


def _setup(quick):
    chunk = 16 if quick else 64
    n_chunks = 8 if quick else 64
    thetas = jnp.linspace(0.1, 1.0, chunk * n_chunks)
    return {"grid": thetas, "chunk": chunk, "executor": _client().get_executor()}


def _local(inp):
    return sweep(_chunk, inp["grid"], chunk_size=inp["chunk"])


def _dask(inp):
    return sweep(_chunk, inp["grid"], chunk_size=inp["chunk"], executor=inp["executor"])


def _same(b, o):
    np.testing.assert_allclose(np.asarray(o), np.asarray(b), rtol=1e-12)


def _noop(x):
    return x


def task_overhead(n_tasks=400, rounds=3):
    """Seconds per task of ``sweep`` on the 2-worker cluster, tasks doing nothing."""
    executor = _client().get_executor()
    grid = np.arange(float(n_tasks))
    sweep(_noop, grid, chunk_size=1, executor=executor)  # workers warm
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        sweep(_noop, grid, chunk_size=1, executor=executor)
        times.append((time.perf_counter() - start) / n_tasks)
    return statistics.median(times), min(times), max(times)


if importlib.util.find_spec("distributed") is not None:
    CASES = {"sweep_dask_2workers_vs_local_64chunks": (_setup, _local, _dask, _same)}
    # ratio = dask / one process: at most 1.3 (issue 19).
    GOALS = {"sweep_dask_2workers_vs_local_64chunks": 1.3}
else:  # pragma: no cover - the cluster extra is not installed
    CASES = {}


if __name__ == "__main__" and "--overhead" in sys.argv:
    jax.config.update("jax_enable_x64", True)
    med, lo, hi = task_overhead()
    print(
        f"per-task overhead of sweep on a 2-worker LocalCluster: {med * 1e3:.2f} ms "
        f"(min {lo * 1e3:.2f}, max {hi * 1e3:.2f} over 3 rounds of 400 no-op tasks)"
    )

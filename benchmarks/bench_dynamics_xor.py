"""Benchmarks for mltheory.dynamics.xor.

* ``xor_train_vs_python_loop``: the default XOR run (d = 32, m = 256,
  B = 128, lr = 0.05, 2000 steps, a record every 100 steps with the test
  error on 20 000 points; 200 steps with ``--quick``), float32. Ours =
  :func:`train_xor` (one jitted ``lax.scan``). Baseline = the plain loop a
  user writes: a Python ``for`` over the steps that draws the same batch
  (same keys), takes ``jax.value_and_grad`` of the same loss eagerly and
  applies the same update, and evaluates the same test set at each record.
  ``check``: both runs follow the same trajectory, so their final test errors
  agree to 0.01 and their final weights to 1 % (float32 rounding differs
  between the fused and the eager program).
* ``xor_16_seeds_vmap_vs_sequential``: 16 seeds of the same run (200 steps
  with ``--quick``). Ours = one ``jax.jit(jax.vmap(train_xor))`` over the 16
  keys; baseline = 16 calls of the jitted :func:`train_xor`, one after the
  other. ``check``: the same 16 runs (final test errors equal up to a few
  boundary points flipped by float32 rounding, 3e-4).
* ``xor_16_seeds_2cpu_devices_vs_sequential``: the same 16 runs, with the
  CPU split into two JAX devices, as a user who wants both cores does: the
  process starts with ``jax.config.update("jax_num_cpu_devices", 2)`` (a
  start-up setting, so this case runs in a worker subprocess; both sides run
  there and the parent only sends "run" and reads the 16 final errors back).
  Ours = ``train_xor(keys, mesh=numerics.make_mesh(2))``: the vmapped seeds
  split 8 + 8 over the two devices, each device a thread of its own;
  baseline = the 16 sequential jitted runs on the default device, as in the
  case above. ``check`` as above.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from mltheory.dynamics import xor

_N_TEST = 20_000
_DTYPE = jnp.float32


def _config(quick):
    return xor.XORConfig(steps=200 if quick else 2000, record_every=100)


def _setup_loop(quick):
    return {"config": _config(quick), "key": jax.random.key(0)}


def _ours_loop(inp):
    traj = xor.train_xor(inp["key"], inp["config"], n_test=_N_TEST, dtype=_DTYPE)
    return traj.test_error, traj.final_params.W


_GRAD = jax.value_and_grad(
    lambda p, X, y: jnp.mean(jax.nn.softplus(-y * (jax.nn.relu(X @ p.W.T) @ p.a)))
)


def _labels(X):
    return jnp.where(X[:, 0] * X[:, 1] >= 0, 1.0, -1.0).astype(X.dtype)


def _baseline_loop(inp):
    cfg, key = inp["config"], inp["key"]
    # The documented key derivation of train_xor: init fold 0, batches fold 1
    # (then the step), test set fold 2.
    p = xor.init_params(jax.random.fold_in(key, 0), cfg.d, cfg.width, dtype=_DTYPE)
    k_batch = jax.random.fold_in(key, 1)
    X_test = jax.random.normal(jax.random.fold_in(key, 2), (_N_TEST, cfg.d), _DTYPE)
    y_test = _labels(X_test)
    errors = []
    for n in range(cfg.steps + 1):  # the plain eager loop, no compiled step
        if n % cfg.record_every == 0:
            f = jax.nn.relu(X_test @ p.W.T) @ p.a
            errors.append(jnp.mean(y_test * f < 0))
        if n == cfg.steps:
            break
        k = jax.random.fold_in(k_batch, n)
        X = jax.random.normal(k, (cfg.batch_size, cfg.d), _DTYPE)
        _, g = _GRAD(p, X, _labels(X))
        p = xor.XORParams(p.W - cfg.lr * g.W, p.a - cfg.lr * g.a)
    return jnp.stack(errors), p.W


_baseline_loop.needs_warmup = False  # nothing to compile: time the first run


def _check_loop(base, ours):
    np.testing.assert_allclose(base[0][-1], ours[0][-1], atol=0.01)
    rel = np.linalg.norm(base[1] - ours[1]) / np.linalg.norm(ours[1])
    assert rel < 0.01, rel


def _setup_seeds(quick):
    cfg = _config(quick)
    keys = jax.random.split(jax.random.key(1), 16)

    def one(k):
        return xor.train_xor(k, cfg, n_test=_N_TEST, dtype=_DTYPE, on_divergence="flag")

    return {"config": cfg, "keys": keys, "vmapped": jax.jit(jax.vmap(one))}


def _ours_seeds(inp):
    return inp["vmapped"](inp["keys"]).test_error[:, -1]


def _baseline_seeds(inp):
    return jnp.stack(
        [
            xor.train_xor(k, inp["config"], n_test=_N_TEST, dtype=_DTYPE).test_error[-1]
            for k in inp["keys"]
        ]
    )


def _check_seeds(base, ours):
    # The same 16 runs; float32 rounding of the batched products can flip a
    # few test points that sit on the boundary (1 point = 5e-5).
    np.testing.assert_allclose(base, ours, atol=3e-4)


# The two-device case: one worker process with jax_num_cpu_devices = 2 holds
# both sides (compiled once, like the in-process cases); each call of a side
# is one line on its stdin and one line (the final test errors) back.
_WORKER = r"""
import json, sys
import jax
jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
from mltheory import numerics
from mltheory.dynamics import xor

cfg = xor.XORConfig(steps=int(sys.argv[1]), record_every=100)
n_test, f32 = int(sys.argv[2]), jnp.float32
keys = jax.random.split(jax.random.key(1), 16)
mesh = numerics.make_mesh(2)


def ours():
    runs = xor.train_xor(keys, cfg, n_test=n_test, dtype=f32, mesh=mesh)
    return runs.test_error[:, -1]


def baseline():
    return jnp.stack(
        [
            xor.train_xor(k, cfg, n_test=n_test, dtype=f32).test_error[-1]
            for k in keys
        ]
    )


sides = {"ours": ours, "baseline": baseline}
print(json.dumps(len(jax.devices())), flush=True)
for line in sys.stdin:
    out = np.asarray(jax.block_until_ready(sides[line.strip()]()))
    print(json.dumps(out.tolist()), flush=True)
"""


def _setup_devices(quick):
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(_config(quick).steps), str(_N_TEST)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    atexit.register(worker.kill)
    n_devices = json.loads(worker.stdout.readline())
    assert n_devices == 2, f"the worker has {n_devices} CPU devices, not 2"
    return worker


def _ask(worker, side):
    worker.stdin.write(side + "\n")
    worker.stdin.flush()
    return np.asarray(json.loads(worker.stdout.readline()))


def _ours_devices(worker):
    return _ask(worker, "ours")


def _baseline_devices(worker):
    return _ask(worker, "baseline")


GOALS = {
    "xor_train_vs_python_loop": 0.1,
    "xor_16_seeds_vmap_vs_sequential": 1 / 1.5,
    "xor_16_seeds_2cpu_devices_vs_sequential": 1 / 1.5,
}

CASES = {
    "xor_train_vs_python_loop": (_setup_loop, _baseline_loop, _ours_loop, _check_loop),
    "xor_16_seeds_vmap_vs_sequential": (
        _setup_seeds,
        _baseline_seeds,
        _ours_seeds,
        _check_seeds,
    ),
    "xor_16_seeds_2cpu_devices_vs_sequential": (
        _setup_devices,
        _baseline_devices,
        _ours_devices,
        _check_seeds,
    ),
}

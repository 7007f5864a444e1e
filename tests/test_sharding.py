"""Results with a device mesh equal the results without one, on four CPU devices.

The checks live in ``tests/_sharding_checks.py`` and run in one fresh process,
because JAX fixes its device count when its backend starts
(``jax.config.update("jax_num_cpu_devices", 4)`` must come first).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("_sharding_checks.py")
ROOT = SCRIPT.parents[1]
EXPECTED = [
    "mesh_helpers",
    "map_keys",
    "solve_dmft",
    "sgf_simulators",
    "tensor_programs",
    "phase_diagram",
    "samplers",
]


@pytest.mark.slow
def test_sharded_results_equal_unsharded_on_four_cpu_devices():
    env = dict(os.environ, JAX_PLATFORMS="cpu", MLTHEORY_PROGRESS="0")
    # The checked-out package wins over an installed one, as in this process.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    for name in EXPECTED:
        assert f"ok {name} " in proc.stdout, report


# --------------------------------------------------------------------------
# The mesh= and executor= options in this process (one device): bad inputs,
# and a thread pool running the phase diagram as sweep tasks.
# --------------------------------------------------------------------------


def _phase_problem():
    from mltheory import numerics
    from mltheory.dynamics import fast_slow

    tanh = numerics.activation_series("tanh", 5)
    teacher = numerics.polynomial_series({1: 1.0}, degree=5)
    return fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)


def test_mesh_options_reject_a_non_mesh():
    import jax
    import jax.numpy as jnp

    from mltheory import generative
    from mltheory.dynamics import dmft, fast_slow
    from mltheory.dynamics import tensor_programs as tp
    from mltheory.generative import toy
    from mltheory.numerics import TimeGrid
    from mltheory.optim import sgf

    key = jax.random.key(0)
    keys = jax.random.split(key, 2)
    match = r"mesh must be a jax.sharding.Mesh"
    with pytest.raises(TypeError, match=match):
        dmft.solve_dmft(
            dmft.glm("square"), delta=2.0, grid=TimeGrid(1.0, 4), key=key, mesh="cpu"
        )
    X, y = jnp.ones((4, 2)), jnp.ones(4)
    sq = lambda r, yi: 0.5 * (r[0] - yi) ** 2
    with pytest.raises(TypeError, match=match):
        sgf.simulate_sgf(
            keys,
            X,
            y,
            jnp.zeros(2),
            loss=sq,
            tau=0.1,
            grid=TimeGrid(1.0, 4),
            mesh="cpu",
        )
    with pytest.raises(TypeError, match=r"key must be a typed PRNG key .* got 3"):
        sgf.simulate_sgd(
            3,
            X,
            y,
            jnp.zeros(2),
            loss=sq,
            lr=0.1,
            batch_size=2,
            n_steps=2,
            mesh=jax.sharding.Mesh(jax.devices()[:1], ("samples",)),
        )
    params = tp.init_params(key, 4, 3, 1.0)
    with pytest.raises(TypeError, match=match):
        tp.simulate_sgd(
            keys,
            params,
            jnp.tanh,
            jnp.tanh,
            lr_w=0.1,
            lr_a=0.0,
            batch_size=4,
            n_steps=2,
            record_every=1,
            mesh=1,
        )
    with pytest.raises(TypeError, match=match):
        fast_slow.phase_diagram(_phase_problem(), jnp.zeros(2), jnp.ones(1), mesh="cpu")
    chain = toy.random_markov(key, 3, length=4)
    with pytest.raises(TypeError, match=match):
        generative.maskgit_sample(
            key, chain, jnp.full((2, 4), 3), mask_id=3, num_steps=2, mesh="cpu"
        )


def test_phase_diagram_executor_options():
    import concurrent.futures as cf

    import jax.numpy as jnp
    import numpy as np

    from mltheory.dynamics import fast_slow
    from mltheory.numerics import make_mesh

    problem = _phase_problem()
    grid = (jnp.linspace(-0.3, 0.3, 5), jnp.array([0.5, 1.0]))
    opts = dict(t_max=20.0, n_steps=400)
    plain = fast_slow.phase_diagram(problem, *grid, **opts)
    with cf.ThreadPoolExecutor(2) as pool:
        tasks = fast_slow.phase_diagram(
            problem, *grid, executor=pool, chunk_size=2, **opts
        )
        with pytest.raises(ValueError, match=r"pass mesh .* or executor .*not both"):
            fast_slow.phase_diagram(
                problem, *grid, mesh=make_mesh(), executor=pool, **opts
            )
    np.testing.assert_array_equal(tasks.predicted, plain.predicted)
    np.testing.assert_allclose(tasks.drop, plain.drop, rtol=1e-12, atol=1e-15)
    assert tasks.drop.dtype == plain.drop.dtype
    with pytest.raises(ValueError, match=r"chunk_size needs an executor"):
        fast_slow.phase_diagram(problem, *grid, chunk_size=2, **opts)


@pytest.mark.slow
def test_dmft_sharded_across_two_jax_processes_on_loopback():
    """jax.distributed on CPU: two processes, two devices each, one global mesh."""
    import json
    import socket

    import jax
    import numpy as np

    from mltheory.dynamics import dmft
    from mltheory.numerics import TimeGrid

    with socket.socket() as sock:  # a free loopback port for the coordinator
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    worker = SCRIPT.with_name("_multihost_worker.py")
    env = dict(os.environ, JAX_PLATFORMS="cpu", MLTHEORY_PROGRESS="0")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), str(i), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    results = []
    for proc, text in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, text
        (line,) = [ln for ln in text.splitlines() if ln.startswith("RESULT ")]
        results.append(json.loads(line.removeprefix("RESULT ")))
    plain = dmft.solve_dmft(
        dmft.glm("square", noise_std=0.5),
        delta=2.0,
        tau=0.5,
        grid=TimeGrid(1.0, 6),
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=1000),
    )
    for res in results:
        assert res["local_rows"] == [250, 250]  # each process holds its half
        # Cross-process sums change only the order of summation.
        for name in ("train_loss", "test_loss", "C_theta"):
            want = np.asarray(getattr(plain, name)).ravel()
            np.testing.assert_allclose(res[name], want, rtol=1e-10, atol=1e-14)


@pytest.mark.filterwarnings("ignore:d = 4 < 100")
def test_a_batch_of_seeds_follows_the_divergence_policy():
    import jax
    import jax.numpy as jnp
    import numpy as np

    from mltheory.exceptions import DivergenceError
    from mltheory.optim.sgf import simulate_sgd

    X = jax.random.normal(jax.random.key(0), (32, 4))
    y = jnp.ones(32)
    sq = lambda r, yi: 0.5 * (r[0] - yi) ** 2
    keys = jax.random.split(jax.random.key(1), 3)
    run = dict(loss=sq, lr=1e4, batch_size=4, n_steps=200, record_every=50)
    with pytest.raises(DivergenceError, match="simulate_sgd"):
        simulate_sgd(keys, X, y, jnp.zeros(4), **run)
    flagged = simulate_sgd(keys, X, y, jnp.zeros(4), on_divergence="flag", **run)
    assert flagged.first_bad_step.shape == (3,)
    assert (np.asarray(flagged.first_bad_step) >= 0).all()

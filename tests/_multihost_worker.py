"""One of two JAX processes of the multi-host check (tests/test_sharding.py).

Run as ``python tests/_multihost_worker.py PROCESS_ID PORT``: joins a
two-process JAX runtime on loopback (CPU, Gloo collectives), two CPU devices
per process, and solves the DMFT with its samples split over the global
four-device mesh. Prints one line ``RESULT {json}`` with the replicated
outputs, for the test to compare with a single-process unsharded solve.
"""

import json
import sys


def main(process_id: int, port: int) -> int:
    import jax

    jax.config.update("jax_num_cpu_devices", 2)
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=process_id,
        initialization_timeout=300,
    )
    import numpy as np

    from mltheory.dynamics import dmft
    from mltheory.numerics import TimeGrid, make_mesh

    mesh = make_mesh()  # all four devices of both processes
    assert mesh.size == 4 and len(jax.local_devices()) == 2
    assert mesh.is_multi_process
    res = dmft.solve_dmft(
        dmft.glm("square", noise_std=0.5),
        delta=2.0,
        tau=0.5,
        grid=TimeGrid(1.0, 6),
        key=jax.random.key(0),
        config=dmft.DMFTConfig(n_samples=1000),
        mesh=mesh,
    )
    local = res.theta_samples.addressable_shards
    out = {
        "process": jax.process_index(),
        "local_rows": sorted(int(s.data.shape[0]) for s in local),
        "train_loss": np.asarray(res.train_loss).tolist(),
        "test_loss": np.asarray(res.test_loss).tolist(),
        "C_theta": np.asarray(res.C_theta).ravel().tolist(),
    }
    print("RESULT " + json.dumps(out), flush=True)
    jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]), int(sys.argv[2])))

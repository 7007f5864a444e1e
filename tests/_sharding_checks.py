"""Checks that need several devices, run in a fresh process with four CPU devices.

``tests/test_sharding.py`` runs this file as a script (``python
tests/_sharding_checks.py``): JAX's device count is fixed when its backend
starts, so the four CPU devices (``jax_num_cpu_devices``) need a process of
their own. One process runs every check, to pay JAX's start-up once. Each check
prints ``ok NAME``; a failed check raises and the process exits non-zero.
"""

import sys
import time

N_DEVICES = 4


def check_mesh_helpers():
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pytest

    from mltheory.numerics import make_mesh, shard_leading_axis

    mesh = make_mesh()
    assert mesh.size == N_DEVICES, mesh
    x = np.arange(8 * 3, dtype=np.float64).reshape(8, 3)
    keys = jax.random.split(jax.random.key(0), 8)
    placed = shard_leading_axis({"x": x, "k": keys}, mesh)
    # Device j holds rows 2j, 2j+1 of every leaf, all columns.
    for shard in placed["x"].addressable_shards:
        j = mesh.devices.tolist().index(shard.device)
        np.testing.assert_array_equal(np.asarray(shard.data), x[2 * j : 2 * j + 2])
    assert len({s.device for s in placed["k"].addressable_shards}) == N_DEVICES

    # A reduction over the sharded axis is a cross-device sum: equal to rounding.
    @jax.jit
    def moments(a):
        a = shard_leading_axis(a, mesh)
        return jnp.mean(a, axis=0), a.T @ a / a.shape[0]

    y = jax.random.normal(jax.random.key(1), (4096, 5))
    m_sharded, c_sharded = moments(y)
    np.testing.assert_allclose(m_sharded, jnp.mean(y, axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c_sharded, y.T @ y / 4096, rtol=1e-12, atol=1e-15)
    # Two devices of four, a named axis.
    half = make_mesh(2, axis_name="seeds")
    assert shard_leading_axis(x, half).sharding.spec == jax.sharding.PartitionSpec(
        "seeds"
    )
    with pytest.raises(ValueError, match=r"multiple of the 4 devices.*got 6 rows"):
        shard_leading_axis(np.zeros(6), mesh)


CHECKS = {
    "mesh_helpers": check_mesh_helpers,
}


def main(names: list[str]) -> int:
    import jax

    jax.config.update("jax_num_cpu_devices", N_DEVICES)
    jax.config.update("jax_enable_x64", True)
    assert len(jax.devices()) == N_DEVICES, jax.devices()
    for name in names or list(CHECKS):
        start = time.perf_counter()
        CHECKS[name]()
        print(f"ok {name} ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"all {len(names or CHECKS)} checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

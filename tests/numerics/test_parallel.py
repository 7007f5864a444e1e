"""numerics.parallel: the device mesh helpers and chunked sweeps.

In this process JAX has one CPU device, so the sharding over several devices is
checked in a fresh process with four (tests/test_sharding.py); here the mesh
helpers' single-device behaviour and bad inputs, and the sweep against the plain
vmapped computation — in process, on a thread pool and on a real two-worker
Dask cluster (``dask_client`` in tests/conftest.py).
"""

import concurrent.futures as cf
import shelve
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory.numerics import make_mesh, map_keys, shard_leading_axis, sweep


def _draws(key):
    """One row per key: a few normals, their sum and the key's own data."""
    z = jax.random.normal(key, (3,))
    return {"z": z, "s": jnp.sum(z**2)}


DRAWS = jax.jit(jax.vmap(_draws))


def _reference(keys):
    return jax.vmap(_draws)(keys)


def _assert_equal_trees(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# --------------------------------------------------------------------------
# make_mesh / shard_leading_axis on one device
# --------------------------------------------------------------------------


def test_make_mesh_uses_all_devices_by_default():
    mesh = make_mesh()
    assert mesh.axis_names == ("samples",)
    assert mesh.size == len(jax.devices())
    assert make_mesh(1, axis_name="seeds").axis_names == ("seeds",)


def test_make_mesh_bad_inputs():
    with pytest.raises(ValueError, match=r"n_devices must be >= 1; got 0"):
        make_mesh(0)
    with pytest.raises(TypeError, match=r"n_devices must be an integer"):
        make_mesh(1.5)
    n = len(jax.devices())
    with pytest.raises(ValueError, match=rf"n_devices must be <= {n}.*jax_num_cpu"):
        make_mesh(n + 1)
    with pytest.raises(TypeError, match=r"axis_name must be a non-empty string"):
        make_mesh(axis_name="")
    with pytest.raises(TypeError, match=r"devices must be a sequence of jax.Device"):
        make_mesh(devices=["cpu"])
    with pytest.raises(ValueError, match=r"devices must not be empty"):
        make_mesh(devices=[])
    with pytest.raises(ValueError, match=r"devices must not repeat"):
        make_mesh(devices=jax.devices()[:1] * 2)


def test_shard_leading_axis_keeps_values_and_works_under_jit():
    mesh = make_mesh(1)
    x = {"a": np.arange(6.0).reshape(3, 2), "k": jax.random.split(jax.random.key(1), 3)}
    placed = shard_leading_axis(x, mesh)
    assert placed["a"].sharding.spec == jax.sharding.PartitionSpec("samples")
    np.testing.assert_array_equal(placed["a"], x["a"])
    np.testing.assert_array_equal(
        jax.random.key_data(placed["k"]), jax.random.key_data(x["k"])
    )

    @jax.jit
    def mean_rows(a):
        return jnp.mean(shard_leading_axis(a, mesh), axis=0)

    np.testing.assert_allclose(mean_rows(x["a"]), [2.0, 3.0])


def test_shard_leading_axis_bad_inputs():
    mesh = make_mesh(1)
    with pytest.raises(TypeError, match=r"mesh must be a jax.sharding.Mesh"):
        shard_leading_axis(np.zeros(4), "cpu")
    with pytest.raises(ValueError, match=r"x\['b'\] has shape \(\)"):
        shard_leading_axis({"a": np.zeros(4), "b": 1.0}, mesh)
    with pytest.raises(ValueError, match=r"x\[0\] has 4 rows and x\[1\] has 3"):
        shard_leading_axis((np.zeros(4), np.zeros(3)), mesh)
    with pytest.raises(TypeError, match=r"x\[0\] must be an array; got 'a'"):
        shard_leading_axis(["a"], mesh)
    with pytest.raises(ValueError, match=r"x must hold at least one array"):
        shard_leading_axis({}, mesh)
    with pytest.raises(ValueError, match=r"axis_name must be one of"):
        shard_leading_axis(np.zeros(4), mesh, axis_name="seeds")


def test_map_keys_is_one_run_per_key():
    keys = jax.random.split(jax.random.key(5), 3)
    out = map_keys(_draws, keys)
    for i in range(3):
        np.testing.assert_allclose(out["z"][i], _draws(keys[i])["z"], rtol=1e-15)
    single = map_keys(_draws, keys[1])
    np.testing.assert_array_equal(single["z"], _draws(keys[1])["z"])
    with pytest.raises(TypeError, match=r"keys must be a typed PRNG key .*got 0"):
        map_keys(_draws, 0)
    with pytest.raises(TypeError, match=r"seeds must be a typed PRNG key"):
        map_keys(_draws, jax.random.split(keys[0], (2, 2)), name="seeds")
    with pytest.raises(ValueError, match=r"got a single key"):
        map_keys(_draws, keys[0], mesh=make_mesh(1))
    with pytest.raises(TypeError, match=r"fn must be callable"):
        map_keys(None, keys)


# --------------------------------------------------------------------------
# sweep in this process and on threads
# --------------------------------------------------------------------------


def test_sweep_matches_one_vmapped_call_for_any_chunking():
    keys = jax.random.split(jax.random.key(0), 11)
    ref = _reference(keys)
    for chunk_size in (None, 4, 50):
        out = sweep(DRAWS, keys, chunk_size=chunk_size)
        assert out["z"].shape == (11, 3)
        assert isinstance(out["z"], np.ndarray)
        np.testing.assert_allclose(out["z"], ref["z"], rtol=1e-15, atol=0)
        np.testing.assert_allclose(out["s"], ref["s"], rtol=1e-14, atol=0)


def test_sweep_grid_forms_pytree_and_seed_list():
    a = np.linspace(0.0, 1.0, 7)
    b = np.arange(14.0).reshape(7, 2)
    out = sweep(
        jax.jit(jax.vmap(lambda g: (g["a"] * g["b"][0], g["b"] + 1.0))),
        {"a": a, "b": b},
        chunk_size=3,
    )
    np.testing.assert_array_equal(out[0], a * b[:, 0])
    np.testing.assert_array_equal(out[1], b + 1.0)
    seeds = sweep(jax.jit(lambda s: 2 * s), [3, 1, 4, 1, 5], chunk_size=2)
    np.testing.assert_array_equal(seeds, [6, 2, 8, 2, 10])
    keys = list(jax.random.split(jax.random.key(2), 5))
    _assert_equal_trees(sweep(DRAWS, keys, chunk_size=2), _reference(jnp.stack(keys)))
    # keys returned by fn come back as keys
    split = sweep(jax.vmap(lambda k: jax.random.split(k)[0]), keys, chunk_size=2)
    assert jnp.issubdtype(split.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(
        jax.random.key_data(split),
        jax.random.key_data(
            jax.vmap(lambda k: jax.random.split(k)[0])(jnp.stack(keys))
        ),
    )


def test_sweep_pads_the_last_chunk_so_a_jitted_fn_compiles_once():
    traces = []

    @jax.jit
    def fn(x):
        traces.append(x.shape)
        return 3.0 * x

    grid = np.arange(10.0)
    np.testing.assert_array_equal(sweep(fn, grid, chunk_size=4), 3.0 * grid)
    assert traces == [(4,)]
    traces.clear()
    np.testing.assert_array_equal(sweep(fn, grid, chunk_size=4, pad=False), 3.0 * grid)
    assert traces == [(2,)]  # (4,) was compiled above; the short chunk adds one


def test_sweep_on_threads_gives_the_same_bits():
    keys = jax.random.split(jax.random.key(3), 13)
    local = sweep(DRAWS, keys, chunk_size=4)
    with cf.ThreadPoolExecutor(2) as pool:
        threaded = sweep(DRAWS, keys, executor=pool, chunk_size=4)
        default = sweep(DRAWS, keys, executor=pool)  # about 4 chunks per worker
    _assert_equal_trees(local, threaded)
    np.testing.assert_allclose(default["z"], local["z"], rtol=1e-15, atol=0)


class _FailOnce:
    """fn that raises on the chunk starting at ``bad`` until ``armed`` is off."""

    def __init__(self, bad, exc):
        self.bad, self.exc, self.armed, self.calls = bad, exc, True, []

    def __call__(self, x):
        self.calls.append(float(x[0]))
        if self.armed and float(x[0]) == self.bad:
            raise self.exc
        return x + 0.5


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_sweep_keeps_finished_chunks_and_resumes(exc):
    grid = np.arange(8.0)
    fn = _FailOnce(bad=4.0, exc=exc)
    store = {}
    with pytest.raises(type(exc)) as info:
        sweep(fn, grid, chunk_size=2, store=store)
    assert sorted(store) == ["0:2", "2:4"]
    if isinstance(exc, RuntimeError):
        assert "chunk 2 of 4: grid rows 4:6" in "".join(info.value.__notes__)
    fn.armed, fn.calls = False, []
    np.testing.assert_array_equal(
        sweep(fn, grid, chunk_size=2, store=store), grid + 0.5
    )
    assert fn.calls == [4.0, 6.0]  # only the missing chunks ran
    assert sorted(store) == ["0:2", "2:4", "4:6", "6:8"]


def test_sweep_store_on_disk(tmp_path):
    grid = np.arange(6.0)
    with shelve.open(str(tmp_path / "chunks")) as store:
        sweep(jax.vmap(jnp.sin), grid, chunk_size=4, store=store)
    with shelve.open(str(tmp_path / "chunks")) as store:
        assert sorted(store) == ["0:4", "4:6"]
        again = sweep(
            _FailOnce(bad=0.0, exc=RuntimeError()), grid, chunk_size=4, store=store
        )
    np.testing.assert_array_equal(again, np.sin(grid))


def test_sweep_progress_bar(capsys):
    sweep(
        jax.vmap(jnp.cos), np.arange(4.0), chunk_size=1, show_progress=True, desc="grid"
    )
    assert "grid" in capsys.readouterr().err


def test_sweep_bad_inputs():
    grid = np.arange(4.0)
    f = jax.vmap(jnp.sin)
    with pytest.raises(TypeError, match=r"fn must be callable"):
        sweep("sin", grid)
    with pytest.raises(TypeError, match=r"executor must be a concurrent.futures"):
        sweep(f, grid, executor=4)
    with pytest.raises(ValueError, match=r"chunk_size must be >= 1; got 0"):
        sweep(f, grid, chunk_size=0)
    with pytest.raises(TypeError, match=r"chunk_size must be an integer"):
        sweep(f, grid, chunk_size=2.5)
    with pytest.raises(TypeError, match=r"pad must be a bool"):
        sweep(f, grid, pad="yes")
    with pytest.raises(TypeError, match=r"store must be a mutable mapping"):
        sweep(f, grid, store=[])
    with pytest.raises(ValueError, match=r"grid must have at least one row"):
        sweep(f, np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"grid must hold at least one array"):
        sweep(f, {})
    with pytest.raises(ValueError, match=r"grid\['b'\] has shape \(\)"):
        sweep(f, {"a": grid, "b": 2.0})
    with pytest.raises(ValueError, match=r"grid\[0\] has 4 rows and grid\[1\] has 3"):
        sweep(f, (grid, grid[:3]))
    with pytest.raises(TypeError, match=r"grid mixes PRNG keys and numbers"):
        sweep(f, [jax.random.key(0), 1])
    with pytest.raises(TypeError, match=r"grid\[0\] must be an array; got 'x'"):
        sweep(f, ["x", "y"])
    with pytest.raises(ValueError, match=r"fn must return arrays with one row per"):
        sweep(jnp.sum, grid, chunk_size=2)
    with pytest.raises(TypeError, match=r"sweep runs outside jax.jit"):
        jax.jit(lambda g: sweep(f, g))(grid)


# --------------------------------------------------------------------------
# sweep on a real Dask cluster (two worker processes on loopback)
# --------------------------------------------------------------------------


def _register_this_module_by_value():
    # The workers cannot import this test module; ship its functions by value.
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.mark.slow
def test_sweep_on_a_dask_cluster_matches_the_local_run(dask_client):
    _register_this_module_by_value()
    keys = jax.random.split(jax.random.key(4), 19)
    executor = dask_client.get_executor()
    local = sweep(DRAWS, keys, chunk_size=5)
    remote = sweep(DRAWS, keys, executor=executor, chunk_size=5)
    # Same chunks, same bits, and float64 although the workers never enabled
    # x64 themselves: each task runs with the caller's setting.
    _assert_equal_trees(local, remote)
    assert remote["z"].dtype == np.float64
    default = sweep(DRAWS, keys, executor=executor)  # 4 chunks per worker thread
    np.testing.assert_allclose(default["z"], local["z"], rtol=1e-15, atol=0)
    store = {}
    with pytest.raises(RuntimeError, match="boom") as info:
        sweep(
            _FailOnce(bad=4.0, exc=RuntimeError("boom")),
            np.arange(8.0),
            executor=executor,
            chunk_size=2,
            store=store,
        )
    assert "grid rows 4:6" in "".join(info.value.__notes__)
    assert "4:6" not in store

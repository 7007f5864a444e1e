r"""Past one device and past one process: a 1-D device mesh and chunked sweeps.

Two mechanisms, both thin layers over existing engines:

* **Sharded Monte Carlo** (:func:`make_mesh`, :func:`shard_leading_axis`). A
  population of samples, a batch of seeds or a parameter grid is a leading
  axis; on several devices that axis is split over a one-dimensional
  :class:`jax.sharding.Mesh`. Computations written with :func:`jax.vmap` and
  reductions such as ``jnp.mean(x, axis=0)`` then run on every device, and XLA
  turns the reductions into cross-device sums. The same code runs across hosts
  after :func:`jax.distributed.initialize`, where :func:`jax.devices` lists
  every host's devices.
* **Sweeps on any executor** (:func:`sweep`). A grid (an array or a pytree of
  arrays with a leading axis) or a list of seeds is cut into chunks, each chunk
  is one call of a (vmapped, jitted) function on any
  :class:`concurrent.futures.Executor` — a thread or process pool, or a Dask
  cluster through ``distributed.Client(...).get_executor()`` — and the results
  are stacked in grid order.

Conventions: rows are independent. ``fn`` in :func:`sweep` must compute row
``i`` of its output from row ``i`` of its input only (as a vmapped function
does), so the chunking, the padding of the last chunk and the executor change
nothing but rounding; with the same ``chunk_size`` the results are the same
bits whatever the executor, on machines of one kind. Randomness enters through
keys in the grid (one per row, e.g. from :func:`jax.random.split`), never
through state.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import math
import pickle
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from mltheory._src._progress import progress
from mltheory._src._typing import PyTree
from mltheory._src._validation import (
    check_callable,
    check_scalar,
    describe,
    is_traced,
)

__all__ = ["make_mesh", "map_keys", "shard_leading_axis", "sweep"]

DEFAULT_AXIS = "samples"
_CHUNKS_PER_WORKER = 4
_FALLBACK_CHUNKS = 32


# --------------------------------------------------------------------------
# Device mesh
# --------------------------------------------------------------------------


def _more_devices_hint() -> str:
    return (
        "on a CPU, ask for more devices before JAX starts, with "
        'jax.config.update("jax_num_cpu_devices", N) or '
        "XLA_FLAGS=--xla_force_host_platform_device_count=N; across hosts, call "
        "jax.distributed.initialize() first"
    )


def make_mesh(
    n_devices: int | None = None,
    *,
    axis_name: str = DEFAULT_AXIS,
    devices: Sequence[Any] | None = None,
) -> Mesh:
    """A one-dimensional device mesh for sharding a leading sample/seed axis.

    Parameters
    ----------
    n_devices : int or None, default=None
        How many devices to use, the first ``n_devices`` of ``devices``;
        ``None`` uses all of them.
    axis_name : str, default="samples"
        The name of the mesh axis (the name a
        :class:`jax.sharding.PartitionSpec` refers to).
    devices : sequence of jax.Device or None, default=None
        The devices to choose from; ``None`` means :func:`jax.devices`, which
        after :func:`jax.distributed.initialize` lists every host's devices.

    Returns
    -------
    jax.sharding.Mesh
        A mesh of shape ``(n_devices,)`` with the single axis ``axis_name``.

    Raises
    ------
    TypeError
        If ``n_devices`` is not an integer, ``axis_name`` not a non-empty
        string, or ``devices`` holds something other than JAX devices.
    ValueError
        If ``n_devices < 1``, more devices are asked for than exist, or
        ``devices`` is empty or repeats a device.

    See Also
    --------
    shard_leading_axis : Place a leading axis on the mesh.

    Examples
    --------
    >>> from mltheory.numerics import make_mesh
    >>> mesh = make_mesh(1)
    >>> mesh.axis_names, mesh.size
    (('samples',), 1)
    """
    if not isinstance(axis_name, str) or not axis_name:
        raise TypeError(
            f"axis_name must be a non-empty string; got {describe(axis_name)}."
        )
    if devices is None:
        available = list(jax.devices())
    else:
        if isinstance(devices, str | bytes) or not isinstance(devices, Sequence):
            raise TypeError(
                f"devices must be a sequence of jax.Device; got {describe(devices)}."
            )
        available = list(devices)
        if not available:
            raise ValueError("devices must not be empty; got an empty sequence.")
        bad = [d for d in available if not isinstance(d, jax.Device)]
        if bad:
            raise TypeError(
                f"devices must be a sequence of jax.Device; got an entry "
                f"{describe(bad[0])}."
            )
        if len({d.id for d in available}) != len(available):
            raise ValueError(
                "devices must not repeat a device; got ids "
                f"{[d.id for d in available]}."
            )
    if n_devices is None:
        n = len(available)
    else:
        n = check_scalar(n_devices, name="n_devices", kind=int, lower=1)
        if n > len(available):
            raise ValueError(
                f"n_devices must be <= {len(available)} (the devices available: "
                f"{len(available)} {available[0].platform} device"
                f"{'s' if len(available) != 1 else ''}); got {n}. "
                f"{_more_devices_hint()[0].upper()}{_more_devices_hint()[1:]}."
            )
    return Mesh(np.array(available[:n], dtype=object), (axis_name,))


def _mesh_axis(mesh: Any, axis_name: str | None) -> str:
    if not isinstance(mesh, Mesh):
        raise TypeError(
            "mesh must be a jax.sharding.Mesh (see mltheory.numerics.make_mesh); "
            f"got {describe(mesh)}."
        )
    if axis_name is None:
        if len(mesh.axis_names) != 1:
            raise ValueError(
                f"mesh has the axes {tuple(mesh.axis_names)}; pass axis_name to say "
                "which one the leading axis is split over."
            )
        return str(mesh.axis_names[0])
    if axis_name not in mesh.axis_names:
        raise ValueError(
            f"axis_name must be one of the mesh's axes {tuple(mesh.axis_names)}; "
            f"got {axis_name!r}."
        )
    return axis_name


def _leaf_path(path: Any) -> str:
    text = jax.tree_util.keystr(path)
    return f"x{text}" if text else "x"


def shard_leading_axis(
    x: PyTree, mesh: Mesh, *, axis_name: str | None = None
) -> PyTree:
    """Split the leading axis of every leaf of ``x`` over the devices of ``mesh``.

    Device ``j`` of the mesh axis holds rows ``j*n/D ... (j+1)*n/D - 1`` of
    every leaf (``n`` rows, ``D`` devices); the other axes are not split.
    Outside :func:`jax.jit` the arrays are placed on the devices; inside, the
    placement is a sharding constraint
    (:func:`jax.lax.with_sharding_constraint`), so the same call serves both.
    With a mesh over several hosts (after :func:`jax.distributed.initialize`)
    every process passes the same global ``x`` and keeps its own rows.

    Parameters
    ----------
    x : pytree of array_like
        Arrays (NumPy, JAX, typed PRNG keys) that share a leading axis of
        length ``n``, a multiple of the number of devices on the mesh axis.
    mesh : jax.sharding.Mesh
        The device mesh, e.g. from :func:`make_mesh`.
    axis_name : str or None, default=None
        The mesh axis to split over; ``None`` for a one-axis mesh.

    Returns
    -------
    pytree of jax.Array
        ``x`` with every leaf sharded along its leading axis (same values,
        same dtypes).

    Raises
    ------
    TypeError
        If ``mesh`` is not a :class:`jax.sharding.Mesh` or a leaf is not an
        array of numbers.
    ValueError
        If ``x`` has no leaves, a leaf has no leading axis, the leaves'
        leading axes differ in length, or that length is not a multiple of the
        number of devices.

    See Also
    --------
    make_mesh : Build the one-dimensional mesh.

    Examples
    --------
    >>> from mltheory.numerics import make_mesh, shard_leading_axis
    >>> mesh = make_mesh(1)
    >>> xs = shard_leading_axis(jnp.arange(8.0), mesh)
    >>> xs.sharding.spec == jax.sharding.PartitionSpec("samples")
    True
    """
    axis = _mesh_axis(mesh, axis_name)
    n_shards = int(mesh.shape[axis])
    leaves, treedef = jax.tree_util.tree_flatten_with_path(x)
    if not leaves:
        raise ValueError(f"x must hold at least one array; got {describe(x)}.")
    arrays = []
    length: int | None = None
    first = ""
    for path, leaf in leaves:
        where = _leaf_path(path)
        if isinstance(leaf, jax.Array | np.ndarray):
            arr = leaf
        else:
            if isinstance(leaf, str | bytes) or leaf is None:
                raise TypeError(f"{where} must be an array; got {describe(leaf)}.")
            try:
                arr = np.asarray(leaf)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"{where} must be an array; got {describe(leaf)}."
                ) from err
            if arr.dtype == object:
                raise TypeError(
                    f"{where} must be an array of numbers; got {describe(leaf)}."
                )
        if arr.ndim == 0:
            raise ValueError(
                f"every leaf of x needs a leading axis to split; {where} has shape ()."
            )
        if length is None:
            length, first = int(arr.shape[0]), where
        elif int(arr.shape[0]) != length:
            raise ValueError(
                "the leaves of x must share their leading axis; "
                f"{first} has {length} rows and {where} has {arr.shape[0]}."
            )
        arrays.append(arr)
    assert length is not None
    if length % n_shards:
        up = -(-length // n_shards) * n_shards
        raise ValueError(
            f"the leading axis of x must be a multiple of the {n_shards} devices "
            f"on mesh axis {axis!r}; got {length} rows (use {up}, or "
            f"{length - length % n_shards or n_shards})."
        )
    sharding = NamedSharding(mesh, PartitionSpec(axis))
    placed = []
    for arr in arrays:
        if is_traced(arr):
            placed.append(jax.lax.with_sharding_constraint(arr, sharding))
        elif mesh.is_multi_process:
            # Every process holds the global array and keeps its own rows.
            placed.append(
                jax.make_array_from_callback(
                    tuple(arr.shape), sharding, functools.partial(_rows_of, arr)
                )
            )
        else:
            placed.append(jax.device_put(arr, sharding))
    return jax.tree_util.tree_unflatten(treedef, placed)


def _rows_of(arr: Any, index: Any) -> Any:
    return arr[index]


def _is_key_batch(keys: Any) -> bool:
    return _is_key_array(keys) and keys.ndim == 1


def map_keys(
    fn: Callable[[Any], Any],
    keys: Any,
    *,
    mesh: Mesh | None = None,
    name: str = "keys",
) -> PyTree:
    """Run ``fn`` once per PRNG key, as one vmapped computation over the keys.

    With a batch of keys, ``fn`` is :func:`jax.vmap`-ed over them, so the
    runs are one computation with a leading seed axis; with ``mesh`` that axis
    is first split over the mesh's devices (:func:`shard_leading_axis`), and
    every jitted computation inside ``fn`` then runs on all of them, each
    device computing its own seeds. With a single key and no mesh, this is
    just ``fn(keys)``.

    Parameters
    ----------
    fn : callable
        ``fn(key) -> pytree of arrays``, one run; JAX-traceable in the key
        (array values that depend on the key are traced under the vmap).
    keys : jax.Array
        One typed PRNG key, or a 1-D array of typed keys (e.g.
        ``jax.random.split(key, n_seeds)``).
    mesh : jax.sharding.Mesh or None, default=None
        A one-axis mesh to split the seeds over (:func:`make_mesh`); the
        number of keys must be a multiple of its size.
    name : str, default="keys"
        The name of ``keys`` in error messages (the caller's argument name).

    Returns
    -------
    pytree of jax.Array
        ``fn``'s result, with a leading axis of one row per key when ``keys``
        is a batch (sharded over ``mesh`` when given).

    Raises
    ------
    TypeError
        If ``fn`` is not callable, ``keys`` is not a typed PRNG key or a 1-D
        array of them, or ``mesh`` is not a mesh.
    ValueError
        If ``mesh`` is given with a single key, or the number of keys is not
        a multiple of the mesh's size.

    See Also
    --------
    shard_leading_axis : The placement it uses.
    sweep : Seeds in chunks on an executor instead (processes, clusters).

    Examples
    --------
    >>> from mltheory.numerics import map_keys
    >>> keys = jax.random.split(jax.random.key(0), 3)
    >>> map_keys(lambda k: jax.random.normal(k, (2,)), keys).shape
    (3, 2)
    """
    check_callable(fn, name="fn")
    if mesh is not None:
        _mesh_axis(mesh, None)  # a mesh, with one axis
    if not _is_key_array(keys) or keys.ndim > 1:
        raise TypeError(
            f"{name} must be a typed PRNG key (jax.random.key(0)) or a 1-D array of "
            f"them (jax.random.split(key, n)); got {describe(keys)}."
        )
    if keys.ndim == 0:
        if mesh is not None:
            raise ValueError(
                f"mesh splits a batch of seeds over devices; {name} must then be a "
                f"1-D array of keys (jax.random.split(key, n)); got a single key."
            )
        return fn(keys)
    if mesh is not None:
        axis = _mesh_axis(mesh, None)
        size = int(mesh.shape[axis])
        if keys.shape[0] % size:
            raise ValueError(
                f"the number of {name} must be a multiple of the {size} devices of "
                f"mesh; got {keys.shape[0]} keys."
            )
        keys = shard_leading_axis(keys, mesh)
    return jax.vmap(fn)(keys)


# --------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------


class _HostKeys(NamedTuple):
    """Typed PRNG keys on the host: their raw data and the implementation name."""

    data: np.ndarray
    impl: str


def _is_key_array(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_host(x: Any) -> np.ndarray | _HostKeys:
    if _is_key_array(x):
        return _HostKeys(
            np.asarray(jax.random.key_data(x)), str(jax.random.key_impl(x))
        )
    return np.asarray(x)


def _from_host(x: np.ndarray | _HostKeys) -> Any:
    if isinstance(x, _HostKeys):
        return jax.random.wrap_key_data(jnp.asarray(x.data), impl=x.impl)
    return jnp.asarray(x)


def _take(x: np.ndarray | _HostKeys, start: int, stop: int, size: int) -> Any:
    """Rows start:stop, padded to ``size`` rows by repeating the last one."""
    if isinstance(x, _HostKeys):
        return _HostKeys(_take(x.data, start, stop, size), x.impl)
    rows = x[start:stop]
    if size > stop - start:
        rows = np.concatenate([rows, np.repeat(rows[-1:], size - (stop - start), 0)])
    return rows


def _is_scalar_item(x: Any) -> bool:
    if isinstance(x, bool | int | float | np.integer | np.floating):
        return True
    return isinstance(x, jax.Array | np.ndarray) and x.ndim == 0


def _grid_to_host(grid: Any) -> tuple[Any, list[Any], int]:
    """Flatten the grid to host leaves sharing a leading axis of length n."""
    if isinstance(grid, list | tuple) and grid and all(map(_is_scalar_item, grid)):
        items = list(grid)
        if all(_is_key_array(k) for k in items):
            grid = jnp.stack(items)  # a list of keys
        elif any(_is_key_array(k) for k in items):
            raise TypeError(
                "grid mixes PRNG keys and numbers; pass one kind, e.g. a list of "
                "keys or an array of seeds."
            )
        else:
            grid = np.asarray(items)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(grid)
    if not leaves:
        raise ValueError(f"grid must hold at least one array; got {describe(grid)}.")
    host: list[Any] = []
    length: int | None = None
    first = ""
    for path, leaf in leaves:
        where = "grid" + jax.tree_util.keystr(path)
        if isinstance(leaf, str | bytes) or leaf is None:
            raise TypeError(f"{where} must be an array; got {describe(leaf)}.")
        if is_traced(leaf):
            raise TypeError(
                f"{where} is a traced array; sweep runs outside jax.jit (call it "
                "from plain Python)."
            )
        try:
            arr = _to_host(leaf)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{where} must be an array; got {describe(leaf)}.") from err
        shape = arr.data.shape[:-1] if isinstance(arr, _HostKeys) else arr.shape
        if not isinstance(arr, _HostKeys) and arr.dtype == object:
            raise TypeError(
                f"{where} must be an array of numbers; got {describe(leaf)}."
            )
        if len(shape) == 0:
            raise ValueError(
                f"every leaf of grid needs a leading axis (one row per grid point); "
                f"{where} has shape ()."
            )
        if length is None:
            length, first = int(shape[0]), where
        elif int(shape[0]) != length:
            raise ValueError(
                "the leaves of grid must share their leading axis; "
                f"{first} has {length} rows and {where} has {shape[0]}."
            )
        host.append(arr)
    assert length is not None
    if length == 0:
        raise ValueError("grid must have at least one row; got a leading axis of 0.")
    return treedef, host, length


class _Chunk(NamedTuple):
    treedef: Any
    leaves: list[Any]
    n_rows: int  # rows that belong to the grid (the rest is padding)


class _ChunkResult(NamedTuple):
    treedef: Any
    leaves: list[Any]


def _call_chunk(fn: Callable[[Any], Any], chunk: _Chunk, x64: bool) -> _ChunkResult:
    with jax.enable_x64(x64):
        args = jax.tree_util.tree_unflatten(
            chunk.treedef, [_from_host(a) for a in chunk.leaves]
        )
        out = fn(args)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(out)
        size = jax.tree_util.tree_leaves(args)[0].shape[0]
        host = []
        for path, leaf in leaves:
            shape: tuple[int, ...] = tuple(getattr(leaf, "shape", ()))
            if len(shape) == 0 or shape[0] != size:
                raise ValueError(
                    "fn must return arrays with one row per grid point (a leading "
                    f"axis of length {size}, the chunk's rows); fn(chunk)"
                    f"{jax.tree_util.keystr(path)} has shape {tuple(shape)}."
                )
            host.append(_take(_to_host(leaf), 0, chunk.n_rows, chunk.n_rows))
    return _ChunkResult(treedef, host)


@functools.lru_cache(maxsize=8)
def _load_function(blob: bytes) -> Callable[[Any], Any]:
    # One unpickled copy per worker process and function, so that jax.jit's
    # caches (which key on the function object) last across chunks.
    fn: Callable[[Any], Any] = pickle.loads(blob)
    return fn


def _call_chunk_pickled(blob: bytes, chunk: _Chunk, x64: bool) -> _ChunkResult:
    return _call_chunk(_load_function(blob), chunk, x64)


def _dumps(fn: Any) -> bytes:
    try:
        import cloudpickle  # a dependency of dask.distributed; pickles closures
    except ImportError:  # pragma: no cover - cloudpickle ships with the extra
        return pickle.dumps(fn)
    return bytes(cloudpickle.dumps(fn))


def _executor_workers(executor: Any) -> int | None:
    workers = getattr(executor, "_max_workers", None)  # the standard pools
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "_client", None)  # distributed.ClientExecutor
    try:
        threads = client.nthreads() if client is not None else None
    except Exception:  # a client that cannot answer: fall back
        return None
    if isinstance(threads, dict) and threads:
        return int(sum(threads.values()))
    return None


def _concatenate(parts: list[_ChunkResult]) -> PyTree:
    treedef = parts[0].treedef
    for part in parts[1:]:
        if part.treedef != treedef:
            raise ValueError(
                "fn must return the same structure for every chunk; got "
                f"{treedef} and {part.treedef}."
            )
    leaves = []
    for j, first in enumerate(parts[0].leaves):
        if isinstance(first, _HostKeys):
            data = np.concatenate([p.leaves[j].data for p in parts])
            leaves.append(_from_host(_HostKeys(data, first.impl)))
        else:
            leaves.append(np.concatenate([p.leaves[j] for p in parts]))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def sweep(
    fn: Callable[[Any], Any],
    grid: Any,
    *,
    executor: cf.Executor | None = None,
    chunk_size: int | None = None,
    pad: bool = True,
    store: MutableMapping[str, Any] | None = None,
    show_progress: bool | None = None,
    desc: str = "sweep",
) -> PyTree:
    """Run ``fn`` over a grid in chunks, on any executor, and stack the results.

    The grid's leading axis (one row per grid point, seed or key) is cut into
    consecutive chunks of ``chunk_size`` rows; ``fn`` is called once per chunk
    with that chunk (same structure as ``grid``, JAX arrays) and must return a
    pytree of arrays with one row per grid point of the chunk. The results are
    gathered on the host and concatenated in grid order. Write ``fn`` as a
    :func:`jax.jit` of a :func:`jax.vmap` over rows: it then compiles once per
    process, because every chunk has the same shape (see ``pad``).

    With an ``executor`` each chunk is one task. ``fn`` travels pickled (with
    cloudpickle when installed, so closures work) and is unpickled once per
    worker process; every task runs with the caller's float64 setting, so a
    worker computes in the dtypes the caller would.

    Parameters
    ----------
    fn : callable
        ``fn(chunk) -> pytree of arrays``; row ``i`` of the output must depend
        only on row ``i`` of ``chunk`` (a vmapped function does).
    grid : array_like, pytree of array_like, or list of numbers or keys
        The points: an array, or a pytree (tuple, dict, dataclass) of arrays
        that share a leading axis, or a flat list of seeds or of PRNG keys
        (stacked into one array).
    executor : concurrent.futures.Executor or None, default=None
        Where chunks run: ``None`` runs them one after another in this
        process; a :class:`~concurrent.futures.ThreadPoolExecutor`, a
        :class:`~concurrent.futures.ProcessPoolExecutor`, or a Dask cluster's
        ``distributed.Client(address).get_executor()``.
    chunk_size : int or None, default=None
        Rows per chunk. ``None``: the whole grid in one chunk when
        ``executor`` is ``None``; otherwise about four chunks per worker where
        the executor tells its number of workers (standard pools, Dask), else
        32 chunks.
    pad : bool, default=True
        Pad the last chunk to ``chunk_size`` rows by repeating its last row
        (the padding is dropped from the result), so every call has one shape
        and a jitted ``fn`` compiles once.
    store : mutable mapping or None, default=None
        Where finished chunks are kept, under the keys ``"start:stop"``: a
        dict, or ``shelve.open(path)`` to keep them on disk. A chunk already
        in ``store`` is not run again, so after an interruption (Ctrl-C) or a
        failed chunk, calling ``sweep`` again with the same ``fn``, ``grid``,
        ``chunk_size`` and ``store`` finishes only what is missing.
    show_progress : bool or None, default=None
        Draw a progress bar over chunks; ``None`` draws one only on a terminal
        (``MLTHEORY_PROGRESS=0`` silences it).
    desc : str, default="sweep"
        The progress bar's label.

    Returns
    -------
    pytree of numpy.ndarray
        ``fn``'s output structure with every leaf the concatenation of the
        chunks' leaves along the leading axis (one row per grid point, grid
        order); PRNG-key leaves come back as JAX key arrays.

    Raises
    ------
    TypeError
        If ``fn`` is not callable, ``executor`` has no ``submit`` method,
        ``chunk_size`` is not an integer, or a grid leaf is not an array of
        numbers or keys.
    ValueError
        If ``grid`` is empty, a leaf has no leading axis, the leaves' leading
        axes differ, ``chunk_size < 1``, or ``fn`` returns a leaf without one
        row per grid point.
    Exception
        Whatever ``fn`` raises, with a note naming the chunk's rows; the
        chunks that had finished stay in ``store``.

    Notes
    -----
    Determinism: the chunks depend only on ``grid`` and ``chunk_size``, so the
    same call gives the same bits on any executor whose workers run the same
    JAX build on the same kind of CPU. A different ``chunk_size`` can change
    the last bits of a vmapped matrix product (XLA may block a batch
    differently), nothing more. For random points, give each row its own key
    (``jax.random.split(key, n)`` as the grid) rather than drawing inside
    ``fn`` from one key.

    See Also
    --------
    make_mesh, shard_leading_axis : Split one computation's leading axis over
        devices instead of running chunks as separate tasks.

    Examples
    --------
    >>> from mltheory.numerics import sweep
    >>> f = jax.jit(jax.vmap(lambda a: a**2))
    >>> sweep(f, jnp.arange(5.0), chunk_size=2)
    array([ 0.,  1.,  4.,  9., 16.])
    """
    check_callable(fn, name="fn")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            "executor must be a concurrent.futures.Executor (something with a "
            f"submit method) or None; got {describe(executor)}."
        )
    if not isinstance(pad, bool | np.bool_):
        raise TypeError(f"pad must be a bool; got {describe(pad)}.")
    if store is not None and not isinstance(store, MutableMapping):
        raise TypeError(
            "store must be a mutable mapping (a dict, or shelve.open(path)) or None; "
            f"got {describe(store)}."
        )
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string; got {describe(desc)}.")
    if chunk_size is not None:
        chunk_size = check_scalar(chunk_size, name="chunk_size", kind=int, lower=1)
    treedef, host, n = _grid_to_host(grid)

    if chunk_size is None:
        if executor is None:
            size = n
        else:
            workers = _executor_workers(executor)
            n_chunks = _CHUNKS_PER_WORKER * workers if workers else _FALLBACK_CHUNKS
            size = math.ceil(n / min(n, n_chunks))
    else:
        size = min(int(chunk_size), n)
    bounds = [(s, min(s + size, n)) for s in range(0, n, size)]

    def chunk(i: int) -> _Chunk:
        start, stop = bounds[i]
        rows = size if pad else stop - start
        return _Chunk(
            treedef, [_take(a, start, stop, rows) for a in host], stop - start
        )

    x64 = bool(jax.config.read("jax_enable_x64"))
    results: list[_ChunkResult | None] = [None] * len(bounds)
    todo = []
    for i, (start, stop) in enumerate(bounds):
        tag = f"{start}:{stop}"
        if store is not None and tag in store:
            results[i] = store[tag]
        else:
            todo.append(i)

    def finish(i: int, result: _ChunkResult) -> None:
        results[i] = result
        if store is not None:
            start, stop = bounds[i]
            store[f"{start}:{stop}"] = result

    def note(err: BaseException, i: int) -> None:
        start, stop = bounds[i]
        err.add_note(
            f"(raised by sweep's chunk {i} of {len(bounds)}: grid rows {start}:{stop})"
        )

    disable = None if show_progress is None else not show_progress
    if executor is None:
        for i in progress(todo, total=len(todo), desc=desc, disable=disable):
            try:
                result = _call_chunk(fn, chunk(i), x64)
            except Exception as err:
                note(err, i)
                raise
            finish(i, result)
    else:
        if isinstance(executor, cf.ThreadPoolExecutor):
            futures = {executor.submit(_call_chunk, fn, chunk(i), x64): i for i in todo}
        else:
            blob = _dumps(fn)
            futures = {
                executor.submit(_call_chunk_pickled, blob, chunk(i), x64): i
                for i in todo
            }
        try:
            for fut in progress(
                cf.as_completed(futures), total=len(futures), desc=desc, disable=disable
            ):
                i = futures[fut]
                try:
                    result = fut.result()
                except Exception as err:
                    note(err, i)
                    raise
                finish(i, result)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    done = [r for r in results if r is not None]
    return _concatenate(done)

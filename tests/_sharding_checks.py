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


def _close(a, b, rtol):
    """Every leaf of ``a`` equals ``b``'s to rtol of the leaf's scale."""
    import jax
    import numpy as np

    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, (x.shape, y.shape)
        scale = max(float(np.max(np.abs(x), initial=0.0)), 1e-300)
        err = float(np.max(np.abs(x - y), initial=0.0)) / scale
        assert err <= rtol, f"relative difference {err:.2e} > {rtol:.0e}"


def check_map_keys():
    import jax
    import pytest

    from mltheory.numerics import make_mesh, map_keys

    keys = jax.random.split(jax.random.key(0), 8)
    fn = lambda k: jax.random.normal(k, (3,)).sum()
    out = map_keys(fn, keys, mesh=make_mesh())
    assert len({s.device for s in out.addressable_shards}) == N_DEVICES
    _close(out, map_keys(fn, keys), 0.0)  # per-seed work: the same bits
    with pytest.raises(ValueError, match=r"multiple of the 4 devices.*got 6 keys"):
        map_keys(fn, keys[:6], mesh=make_mesh())
    with pytest.raises(ValueError, match=r"got a single key"):
        map_keys(fn, keys[0], mesh=make_mesh())


def check_solve_dmft():
    import jax
    import pytest

    from mltheory.dynamics import dmft
    from mltheory.numerics import TimeGrid, make_mesh

    mesh = make_mesh()
    model = dmft.glm("square", noise_std=0.5)
    kwargs = dict(delta=2.0, tau=0.5, grid=TimeGrid(1.0, 6), key=jax.random.key(0))
    config = dmft.DMFTConfig(n_samples=1000)
    plain = dmft.solve_dmft(model, config=config, **kwargs)
    sharded = dmft.solve_dmft(model, config=config, mesh=mesh, **kwargs)
    # The samples are split over the devices (each holds N / 4 of them) ...
    shards = sharded.theta_samples.addressable_shards
    assert {s.data.shape[0] for s in shards} == {250}, [s.data.shape for s in shards]
    # ... and the kernels, built from cross-device averages, agree to rounding
    # (only the order of summation differs; rtol 1e-10 leaves room for the
    # regressions' triangular solves to amplify it a little).
    for name in ("C_theta", "R_theta", "R_ell", "Gamma", "noise_cov", "train_loss"):
        _close(getattr(plain, name), getattr(sharded, name), 1e-10)
    _close(plain.test_loss, sharded.test_loss, 1e-10)
    with pytest.raises(ValueError, match=r"n_samples must be a multiple of the 4"):
        dmft.solve_dmft(
            model, config=dmft.DMFTConfig(n_samples=1002), mesh=mesh, **kwargs
        )
    # A diagonal linear network: the state hook, the closed-form sample side and
    # the tangent response, on a non-uniform grid.
    dln = dmft.dln(alpha=0.3)
    dln_kwargs = dict(delta=0.5, grid=[0.0, 0.1, 0.3, 0.6, 1.0], key=jax.random.key(1))
    plain = dmft.solve_dmft(dln, config=config, **dln_kwargs)
    sharded = dmft.solve_dmft(dln, config=config, mesh=mesh, **dln_kwargs)
    for name in ("C_theta", "R_theta", "R_ell", "noise_cov", "train_loss", "test_loss"):
        _close(getattr(plain, name), getattr(sharded, name), 1e-10)


def check_sgf_simulators():
    import jax
    import jax.numpy as jnp
    import numpy as np

    from mltheory.numerics import TimeGrid, make_mesh
    from mltheory.optim.sgf import simulate_sgd, simulate_sgf

    mesh = make_mesh()
    kx, kt, kn = jax.random.split(jax.random.key(1), 3)
    d, n = 100, 200
    X = jax.random.normal(kx, (n, d)) / np.sqrt(d)
    y = (X @ jax.random.normal(kt, (d, 1)))[:, 0]
    sq = lambda r, yi: 0.5 * (r[0] - yi) ** 2
    keys = jax.random.split(kn, 4)
    theta0 = jnp.zeros((d, 1))
    sgf = dict(loss=sq, tau=0.5, grid=TimeGrid(1.0, 20), record_every=10)
    batched = simulate_sgf(keys, X, y, theta0, **sgf)
    sharded = simulate_sgf(keys, X, y, theta0, mesh=mesh, **sgf)
    one = simulate_sgf(keys[2], X, y, theta0, **sgf)
    assert batched.train_loss.shape == (4, 3)
    _close(batched.train_loss[2], one.train_loss, 1e-12)  # row s is seed s
    _close(batched, sharded, 1e-12)
    assert len({s.device for s in sharded.theta_final.addressable_shards}) == 4
    sgd = dict(loss=sq, lr=0.5, batch_size=4, n_steps=40, record_every=20)
    _close(
        simulate_sgd(keys, X, y, theta0, **sgd),
        simulate_sgd(keys, X, y, theta0, mesh=mesh, **sgd),
        1e-12,
    )


def check_tensor_programs():
    import jax
    import jax.numpy as jnp

    from mltheory import numerics
    from mltheory.dynamics import tensor_programs as tp
    from mltheory.numerics import make_mesh

    params = tp.init_params(jax.random.key(0), 16, 8, 1.0)
    teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
    keys = jax.random.split(jax.random.key(1), 4)
    run = dict(lr_w=0.05, lr_a=0.005, batch_size=64, n_steps=20, record_every=10)
    plain = tp.simulate_sgd(keys, params, teacher, jnp.tanh, **run)
    sharded = tp.simulate_sgd(keys, params, teacher, jnp.tanh, mesh=make_mesh(), **run)
    one = tp.simulate_sgd(keys[3], params, teacher, jnp.tanh, **run)
    _close(plain.m_mean[3], one.m_mean, 1e-12)
    _close(plain, sharded, 1e-12)


def check_phase_diagram():
    import jax.numpy as jnp
    import numpy as np
    import pytest

    from mltheory import numerics
    from mltheory.dynamics import fast_slow
    from mltheory.numerics import make_mesh

    tanh = numerics.activation_series("tanh", 5)
    teacher = numerics.polynomial_series({1: 1.0}, degree=5)
    problem = fast_slow.FastSlowProblem(tanh, teacher, eps=0.1)
    grid = dict(strengths=jnp.linspace(-0.3, 0.3, 8), a0s=jnp.array([0.5, 1.0]))
    plain = fast_slow.phase_diagram(problem, **grid, t_max=20.0, n_steps=400)
    sharded = fast_slow.phase_diagram(
        problem, **grid, t_max=20.0, n_steps=400, mesh=make_mesh()
    )
    np.testing.assert_array_equal(plain.predicted, sharded.predicted)
    _close(plain.drop, sharded.drop, 1e-12)
    with pytest.raises(ValueError, match=r"strengths must have a length that is a"):
        fast_slow.phase_diagram(
            problem, jnp.linspace(-0.3, 0.3, 6), grid["a0s"], mesh=make_mesh()
        )


def check_samplers():
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pytest

    from mltheory import generative as g
    from mltheory.generative import toy
    from mltheory.numerics import make_mesh

    mesh = make_mesh()
    L, V = 8, 4
    chain = toy.random_markov(jax.random.key(0), V, length=L)
    start = jnp.full((8, L), V)
    key = jax.random.key(1)
    # maskgit_sample goes through the loop every sampler shares (run_loop);
    # partial_cache_sample has a loop of its own.
    plain = g.maskgit_sample(key, chain, start, mask_id=V, num_steps=4)
    sharded = g.maskgit_sample(key, chain, start, mask_id=V, num_steps=4, mesh=mesh)
    np.testing.assert_array_equal(plain.tokens, sharded.tokens)
    np.testing.assert_array_equal(plain.reveal_step, sharded.reveal_step)
    assert len({s.device for s in sharded.tokens.addressable_shards}) == 4
    cfg = toy.TransformerConfig(
        vocab=V, length=L, d_model=16, n_layers=1, n_heads=2, d_ff=32
    )
    model = toy.TinyTransformer.init(jax.random.key(2), cfg)
    run = dict(mask_id=V, num_full_steps=2, substeps=2, position_policy=g.Moment(2.0))
    plain = g.partial_cache_sample(key, model, start, **run)
    sharded = g.partial_cache_sample(key, model, start, mesh=mesh, **run)
    np.testing.assert_array_equal(plain.tokens, sharded.tokens)
    with pytest.raises(
        ValueError, match=r"multiple of the 4 devices of mesh; got B = 6"
    ):
        g.maskgit_sample(key, chain, start[:6], mask_id=V, num_steps=4, mesh=mesh)
    with pytest.raises(ValueError, match=r"tokens must be 2-D"):
        g.maskgit_sample(key, chain, start[0], mask_id=V, num_steps=4, mesh=mesh)


CHECKS = {
    "mesh_helpers": check_mesh_helpers,
    "map_keys": check_map_keys,
    "solve_dmft": check_solve_dmft,
    "sgf_simulators": check_sgf_simulators,
    "tensor_programs": check_tensor_programs,
    "phase_diagram": check_phase_diagram,
    "samplers": check_samplers,
}


def main(names: list[str]) -> int:
    import jax

    jax.config.update("jax_num_cpu_devices", N_DEVICES)
    jax.config.update("jax_enable_x64", True)
    assert len(jax.devices()) == N_DEVICES, jax.devices()
    for name in names or list(CHECKS):
        start, cpu = time.perf_counter(), time.process_time()
        CHECKS[name]()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"ok {name} ({wall:.1f} s, {cpu:.1f} s CPU)", flush=True)
    print(f"all {len(names or CHECKS)} checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Every fixed-step simulator reports divergence the same way (issue 17).

For each simulator: the default raises DivergenceError naming the first bad
step, "warn" warns DivergenceWarning and returns only finite records, "flag"
returns the result with ``first_bad_step`` set, and under jit/vmap the field
carries the news. The exact integrators and the DMFT have their own tests.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory import numerics
from mltheory.dynamics import dmft
from mltheory.dynamics import tensor_programs as tp
from mltheory.exceptions import DivergenceError, DivergenceWarning
from mltheory.optim import phase_retrieval as pr
from mltheory.optim import sgf

KEY = jax.random.key(0)


def _finite(tree):
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(tree))


def _check_policy(run, records, *, message):
    """run(on_divergence) -> result; records(result) -> the recorded arrays."""
    with pytest.raises(DivergenceError, match=message):
        run("raise")
    flagged = run("flag")
    assert bool(np.any(flagged.diverged)) and int(np.max(flagged.first_bad_step)) >= 0
    assert not _finite(records(flagged))
    with pytest.warns(DivergenceWarning, match=message):
        cut = run("warn")
    assert _finite(records(cut))
    assert bool(np.any(cut.diverged))
    return flagged, cut


# --------------------------------------------------------------------------- #
# optim
# --------------------------------------------------------------------------- #

_D, _N = 100, 40
_X = jax.random.normal(KEY, (_N, _D)) / np.sqrt(_D) * 30.0  # large curvature
_Y = jnp.ones(_N)
_SQ = lambda r, y: 0.5 * jnp.sum((r - y) ** 2)


def test_simulate_sgd_with_a_too_large_step():
    def run(policy):
        return sgf.simulate_sgd(
            KEY,
            _X,
            _Y,
            jnp.zeros(_D),
            loss=_SQ,
            lr=5.0,
            batch_size=4,
            n_steps=400,
            record_every=20,
            on_divergence=policy,
        )

    flagged, cut = _check_policy(
        run,
        lambda t: (t.train_loss, t.overlaps),
        message=(
            r"simulate_sgd diverged: .* at SGD step \d+ of 400 \(t = .*"
            r"learning rate lr = 5"
        ),
    )
    n = int(flagged.first_bad_step)
    assert cut.ts.shape[0] == -(-n // 20)  # the records before step n
    np.testing.assert_allclose(cut.train_loss, flagged.train_loss[: cut.ts.shape[0]])


def test_simulate_sgf_with_a_too_large_step():
    def run(policy):
        return sgf.simulate_sgf(
            KEY,
            _X,
            _Y,
            jnp.zeros(_D),
            loss=_SQ,
            tau=0.1,
            grid=numerics.TimeGrid(400.0, 200),
            record_every=10,
            on_divergence=policy,
        )

    _check_policy(
        run,
        lambda t: t.train_loss,
        message=r"simulate_sgf\(method='euler_maruyama'\) diverged: .* of 200 \(t = ",
    )


def test_sgf_under_vmap_carries_per_seed_flags():
    def one(key):
        return sgf.simulate_sgf(
            key,
            _X,
            _Y,
            jnp.zeros(_D),
            loss=_SQ,
            tau=0.1,
            grid=numerics.TimeGrid(400.0, 200),
            record_every=10,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        batch = jax.vmap(one)(jax.random.split(KEY, 2))
    assert batch.first_bad_step.shape == (2,) and bool(jnp.all(batch.diverged))
    with pytest.raises(DivergenceError, match="batch member"):
        numerics.handle_divergence(batch, on_divergence="raise", what="w", cause="c")


@pytest.mark.parametrize("sim", ["reduced", "full"])
def test_phase_retrieval_with_a_large_lr(sim):
    cov = pr.spiked_covariance(8, 4.0)

    def run(policy):
        if sim == "reduced":
            return pr.simulate_reduced(
                cov, method="gd", lr=100.0, steps=50, on_divergence=policy
            )
        return pr.simulate_full(
            KEY,
            cov,
            method="gd",
            lr=100.0,
            steps=50,
            record_every=5,
            on_divergence=policy,
        )

    flagged, cut = _check_policy(
        run,
        lambda t: (t.a, t.b, t.c, t.loss),
        message=(
            rf"simulate_{sim}\(method='gd'\) diverged: .* at step \d+ of 50"
            r".*1/s_v\*\*2 = 0\.04"
        ),
    )
    # the loss ~ a**4 overflows before a does: the policy counts that record
    assert 0 < int(flagged.first_bad_step) <= 6
    assert cut.steps[-1] < int(flagged.first_bad_step)


def test_phase_retrieval_finite_runs_are_untouched():
    cov = pr.spiked_covariance(8, 4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = pr.simulate_reduced(cov, method="specgd", lr=0.01, steps=20)
    assert int(traj.first_bad_step) == -1 and traj.a.shape == (21,)


# --------------------------------------------------------------------------- #
# dynamics
# --------------------------------------------------------------------------- #


def test_tensor_programs_simulate_sgd_with_huge_steps():
    params = tp.init_params(KEY, 16, 8, 1.0)
    teacher = numerics.HermiteSeries(jnp.array([0.0, 1.0]))

    def run(policy):
        return tp.simulate_sgd(
            KEY,
            params,
            teacher,
            jnp.tanh,
            lr_w=0.05,
            lr_a=1e6,
            batch_size=32,
            n_steps=100,
            record_every=10,
            project=False,
            on_divergence=policy,
        )

    flagged, cut = _check_policy(
        run,
        lambda t: (t.m_mean, t.a_mean, t.loss),
        message=r"simulate_sgd diverged: .* at SGD step \d+ of 100 \(t = ",
    )
    assert cut.t.shape[0] == -(-int(flagged.first_bad_step) // 10)


def test_dmft_linear_regression_mp_with_dt_5():
    ts = np.linspace(0.0, 100.0, 21)
    with pytest.raises(DivergenceError, match=r"use dt < 0\.686"):
        dmft.linear_regression_mp(delta=2.0, ts=ts, dt=5.0)
    with pytest.warns(DivergenceWarning, match=r"returning the 6 losses"):
        train, test = dmft.linear_regression_mp(
            delta=2.0, ts=ts, dt=5.0, on_divergence="warn"
        )
    assert train.shape == test.shape == (6,) and np.isfinite(train).all()
    train, _ = dmft.linear_regression_mp(delta=2.0, ts=ts, dt=5.0, on_divergence="flag")
    assert train.shape == (21,) and train.max() > 1e40  # |1 - 5 s|**(2 t / 5)
    # a stable step is untouched
    train, _ = dmft.linear_regression_mp(delta=2.0, ts=ts, dt=0.5)
    assert np.isfinite(train).all() and train[-1] < train[0]


def test_dmft_simulate_names_the_diverged_seed():
    model = dmft.glm("square")

    def run(policy):
        return dmft.simulate(
            model,
            delta=2.0,
            tau=0.0,
            grid=numerics.TimeGrid(2000.0, 100),
            d=100,
            key=KEY,
            n_seeds=2,
            record_every=10,
            on_divergence=policy,
        )

    _check_policy(
        run,
        lambda t: t.train_loss,
        message=(
            r"dmft\.simulate\(algorithm='sgf'\) diverged: .* in batch member \d "
            r"\(seed \d of 2\)"
        ),
    )

"""The divergence policy: the jittable half (finiteness, first bad step) and the
eager half (raise / warn-and-truncate / flag), on single and batched results,
and its use by solve_ode and solve_sde."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory._src._pytree import DivergedMixin, pytree_dataclass
from mltheory.exceptions import DivergenceError, DivergenceWarning
from mltheory.numerics import (
    TimeGrid,
    Trajectory,
    all_finite,
    first_nonfinite_index,
    handle_divergence,
    solve_ode,
    solve_sde,
    update_first_bad_step,
)

# --------------------------------------------------------------------------- #
# The jittable half
# --------------------------------------------------------------------------- #


def test_all_finite_on_trees_and_dtypes():
    assert bool(all_finite({"a": jnp.ones(3), "b": (1.0, jnp.arange(4))}))
    assert not bool(all_finite([jnp.ones(2), jnp.asarray([jnp.nan])]))
    assert not bool(all_finite(jnp.asarray([1.0, -jnp.inf], jnp.float32)))
    assert not bool(all_finite(jnp.asarray([1.0 + 1j * jnp.inf])))
    assert bool(all_finite({}))
    assert bool(all_finite(jnp.arange(5)))  # integers are always finite
    out = jax.jit(all_finite)({"x": jnp.asarray([0.0, jnp.nan])})
    assert out.shape == () and out.dtype == jnp.bool_ and not bool(out)


def test_update_first_bad_step_keeps_the_first():
    bad = jnp.asarray(-1, jnp.int32)
    bad = update_first_bad_step(bad, 1, jnp.ones(2))
    assert int(bad) == -1
    bad = update_first_bad_step(bad, 4, jnp.asarray([1.0, jnp.nan]))
    assert int(bad) == 4 and bad.dtype == jnp.int32
    bad = update_first_bad_step(bad, 7, jnp.asarray([jnp.inf]))
    assert int(bad) == 4  # a later bad state does not overwrite
    bad = update_first_bad_step(bad, 9, jnp.ones(2))
    assert int(bad) == 4  # nor does a finite one reset it


def test_update_first_bad_step_in_a_scan_matches_a_python_loop():
    # y_{n+1} = 3 y_n overflows float64 after ceil(log(1.8e308 / 1) / log 3) steps
    def body(carry, n):
        y, bad = carry
        y = 3.0 * y
        return (y, update_first_bad_step(bad, n + 1, y)), None

    (_, bad), _ = jax.lax.scan(
        body, (jnp.asarray(1.0), jnp.asarray(-1, jnp.int32)), jnp.arange(1000)
    )
    y, expected = 1.0, None
    for n in range(1000):
        y = 3.0 * y
        if not math.isfinite(y):
            expected = n + 1
            break
    assert int(bad) == expected == 647


def test_update_first_bad_step_vmaps():
    trees = jnp.asarray([[1.0, 2.0], [jnp.nan, 1.0], [3.0, jnp.inf]])
    out = jax.vmap(lambda t: update_first_bad_step(-1, 5, t))(trees)
    np.testing.assert_array_equal(out, [-1, 5, 5])


def test_first_nonfinite_index():
    ys = jnp.ones((6, 3)).at[4, 1].set(jnp.nan)
    losses = jnp.ones(6).at[2].set(jnp.inf)
    assert int(first_nonfinite_index(ys)) == 4
    assert int(first_nonfinite_index({"ys": ys, "loss": losses})) == 2
    assert int(first_nonfinite_index(jnp.ones((5, 2)))) == -1
    # leaves of different leading lengths: the smallest bad index wins
    assert int(first_nonfinite_index([jnp.ones(3).at[1].set(jnp.nan), ys])) == 1
    # a non-finite rank-0 leaf applies to every index
    assert int(first_nonfinite_index([jnp.asarray(jnp.nan), jnp.ones(3)])) == 0
    assert int(first_nonfinite_index([jnp.asarray(1.0), jnp.ones(3)])) == -1
    assert int(first_nonfinite_index(jnp.ones((0, 2)))) == -1
    # jit and vmap (per-member indices)
    assert int(jax.jit(first_nonfinite_index)(ys)) == 4
    batch = jnp.stack([ys, jnp.ones((6, 3)), ys.at[0, 0].set(jnp.inf)])
    np.testing.assert_array_equal(jax.vmap(first_nonfinite_index)(batch), [4, -1, 0])


# --------------------------------------------------------------------------- #
# The eager half
# --------------------------------------------------------------------------- #


def _traj(first_bad=6):
    # records every 2 steps, dt = 0.125: records at steps 0, 2, 4, 6, 8
    ys = jnp.asarray([1.0, 2.0, 4.0, jnp.inf, jnp.nan])
    return Trajectory(ts=jnp.linspace(0.0, 1.0, 5), ys=ys, first_bad_step=first_bad)


def test_raise_names_step_time_cause_and_options():
    with pytest.raises(DivergenceError) as info:
        handle_divergence(
            _traj(),
            on_divergence="raise",
            what="my_solver",
            cause="the step is too large",
            record_every=2,
            dt=0.125,
            n_steps=8,
        )
    text = str(info.value)
    assert "my_solver diverged" in text
    assert "at step 6 of 8 (t = 0.75)" in text
    assert "Likely cause: the step is too large" in text
    assert "on_divergence='warn'" in text and "on_divergence='flag'" in text
    # DivergenceError is an ArithmeticError
    assert isinstance(info.value, ArithmeticError)


def test_raise_step_name_and_no_time_without_dt():
    with pytest.raises(DivergenceError, match=r"at SGD step 6\. Likely cause"):
        handle_divergence(
            _traj(),
            on_divergence="raise",
            what="sim",
            cause="c",
            step_name="SGD step",
            record_every=2,
        )


@pytest.mark.parametrize(
    ("first_bad", "record_every", "n_keep"),
    [(6, 2, 3), (5, 2, 3), (1, 1, 1), (0, 1, 0)],
)
def test_warn_truncates_to_the_finite_records(first_bad, record_every, n_keep):
    traj = _traj(first_bad)
    with pytest.warns(
        DivergenceWarning,
        match=rf"at step {first_bad}\b.*returning the {n_keep} finite record",
    ):
        cut = handle_divergence(
            traj, on_divergence="warn", what="s", cause="c", record_every=record_every
        )
    assert cut.ys.shape == (n_keep,) and cut.ts.shape == (n_keep,)
    np.testing.assert_array_equal(cut.ys, traj.ys[:n_keep])
    assert int(cut.first_bad_step) == first_bad and bool(cut.diverged)


def test_warn_points_at_the_caller():
    with pytest.warns(DivergenceWarning) as record:
        handle_divergence(_traj(), on_divergence="warn", what="s", cause="c")
    assert record[0].filename == __file__


def test_flag_and_finite_results_are_returned_as_is():
    traj = _traj()
    flagged = handle_divergence(
        traj, on_divergence="flag", what="s", cause="c", record_every=2
    )
    assert flagged is traj
    fine = Trajectory(ts=jnp.linspace(0.0, 1.0, 5), ys=jnp.ones(5), first_bad_step=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for policy in ("raise", "warn", "flag"):
            assert (
                handle_divergence(fine, on_divergence=policy, what="s", cause="c")
                is fine
            )


def test_bad_policy_is_a_value_error():
    with pytest.raises(
        ValueError,
        match=r"on_divergence must be one of 'raise', 'warn', 'flag'; got 'ignore'",
    ):
        handle_divergence(_traj(), on_divergence="ignore", what="s", cause="c")
    with pytest.raises(TypeError, match="first_bad_step field"):
        handle_divergence(jnp.ones(3), on_divergence="raise", what="s", cause="c")


def test_traced_results_pass_through_under_jit_and_vmap():
    @jax.jit
    def run(y0):
        ys = jnp.stack([y0, y0 / 0.0])
        out = Trajectory(ts=jnp.zeros(2), ys=ys, first_bad_step=jnp.asarray(1))
        return handle_divergence(out, on_divergence="raise", what="run", cause="c")

    out = run(jnp.asarray(1.0))
    assert bool(out.diverged) and int(out.first_bad_step) == 1

    def member(fb):
        out = Trajectory(ts=jnp.zeros(2), ys=jnp.zeros(2), first_bad_step=fb)
        return handle_divergence(out, on_divergence="raise", what="run", cause="c")

    outs = jax.vmap(member)(jnp.asarray([-1, 1], jnp.int32))
    np.testing.assert_array_equal(outs.diverged, [False, True])


def _batched():
    # 3 members, 5 records each at steps 0, 2, ..., 8; members 1 and 2 diverge
    ys = jnp.ones((3, 5, 2))
    ys = ys.at[1, 3:].set(jnp.nan).at[2, 2:].set(jnp.inf)
    ts = jnp.broadcast_to(jnp.linspace(0.0, 1.0, 5), (3, 5))
    return Trajectory(ts=ts, ys=ys, first_bad_step=jnp.asarray([-1, 5, 4], jnp.int32))


def test_batched_raise_names_the_member():
    with pytest.raises(
        DivergenceError,
        match=r"at step 4 \(t = 0\.5\) in batch member 2 \(2 of 3 members diverged\)",
    ):
        handle_divergence(
            _batched(),
            on_divergence="raise",
            what="s",
            cause="c",
            dt=0.125,
            record_every=2,
        )


def test_batched_warn_cuts_every_member_at_the_earliest_bad_record():
    res = _batched()
    with pytest.warns(DivergenceWarning, match="batch member 2"):
        cut = handle_divergence(
            res, on_divergence="warn", what="s", cause="c", record_every=2
        )
    assert cut.ys.shape == (3, 2, 2) and cut.ts.shape == (3, 2)
    assert bool(jnp.isfinite(cut.ys).all())
    np.testing.assert_array_equal(cut.first_bad_step, res.first_bad_step)


def test_batched_over_two_axes_names_the_index_tuple():
    res = Trajectory(
        ts=jnp.zeros((2, 2, 3)),
        ys=jnp.zeros((2, 2, 3)),
        first_bad_step=jnp.asarray([[-1, -1], [2, -1]], jnp.int32),
    )
    with pytest.raises(DivergenceError, match=r"batch member \(1, 0\)"):
        handle_divergence(res, on_divergence="raise", what="s", cause="c")


@pytree_dataclass
class _TwoCadences(DivergedMixin):
    """A result with per-step losses and per-record states: uses the hook."""

    losses: jax.Array
    states: jax.Array
    first_bad_step: jax.Array

    def _truncate_records(self, n_keep):
        return _TwoCadences(
            losses=self.losses[: 4 * n_keep],
            states=self.states[:n_keep],
            first_bad_step=self.first_bad_step,
        )


def test_truncation_hook_and_n_records():
    res = _TwoCadences(losses=jnp.ones(20), states=jnp.ones((5, 3)), first_bad_step=9)
    with pytest.warns(DivergenceWarning):
        cut = handle_divergence(
            res, on_divergence="warn", what="s", cause="c", record_every=4
        )
    assert cut.states.shape == (3, 3) and cut.losses.shape == (12,)

    @pytree_dataclass
    class NoTs(DivergedMixin):
        xs: jax.Array
        first_bad_step: jax.Array

    with pytest.warns(DivergenceWarning):
        cut = handle_divergence(
            NoTs(xs=jnp.ones((4, 2)), first_bad_step=2),
            on_divergence="warn",
            what="s",
            cause="c",
            n_records=4,
        )
    assert cut.xs.shape == (2, 2)
    no_ts = NoTs(xs=jnp.ones((4, 2)), first_bad_step=2)
    with pytest.raises(TypeError, match="cannot find the record axis"):
        handle_divergence(no_ts, on_divergence="warn", what="s", cause="c")


# --------------------------------------------------------------------------- #
# solve_ode / solve_sde
# --------------------------------------------------------------------------- #


def _square(t, y, args):
    return y * y


GRID = TimeGrid(2.0, 100)


def test_solve_ode_past_blow_up_raises_with_step_and_time():
    # y' = y^2, y(0) = 1 blows up at t = 1; RK4 with dt = 0.02 overflows shortly after
    with pytest.raises(
        DivergenceError,
        match=r"solve_ode diverged: .* at step (\d+) of 100 \(t = 1\.\d+\)",
    ) as info:
        solve_ode(_square, jnp.ones(()), grid=GRID)
    assert "dt = 0.02" in str(info.value) and "rk4" in str(info.value)


def test_solve_ode_flag_warn_and_first_bad_step_is_exact():
    flagged = solve_ode(_square, jnp.ones(()), grid=GRID, on_divergence="flag")
    n = int(flagged.first_bad_step)
    assert bool(flagged.diverged) and flagged.ys.shape == (101,)
    # exact: the state recorded at step n is the first non-finite one
    assert bool(jnp.isfinite(flagged.ys[:n]).all()) and not bool(
        jnp.isfinite(flagged.ys[n])
    )
    with pytest.warns(DivergenceWarning):
        cut = solve_ode(
            _square, jnp.ones(()), grid=GRID, on_divergence="warn", record_every=10
        )
    assert cut.ys.shape == (math.ceil(n / 10),) and bool(jnp.isfinite(cut.ys).all())
    np.testing.assert_allclose(cut.ys, flagged.ys[: 10 * len(cut.ys) : 10], rtol=1e-12)


def test_solve_ode_finite_run_has_no_flag_and_default_trajectory_field():
    traj = solve_ode(lambda t, y, a: -y, jnp.ones(2), grid=TimeGrid(1.0, 10))
    assert int(traj.first_bad_step) == -1 and not bool(traj.diverged)
    assert int(Trajectory(ts=jnp.zeros(1), ys=jnp.zeros(1)).first_bad_step) == -1


def test_solve_ode_under_vmap_carries_per_member_flags():
    batch = jax.vmap(lambda y0: solve_ode(_square, y0, grid=GRID))(
        jnp.asarray([0.1, 1.0, 2.0])
    )
    fb = np.asarray(batch.first_bad_step)
    assert fb[0] == -1 and fb[1] > fb[2] > 0  # y0 = 2 blows up at t = 0.5, earlier
    with pytest.raises(DivergenceError, match="batch member 2"):
        handle_divergence(batch, on_divergence="raise", what="sweep", cause="c")


def test_solve_ode_nan_observation_of_a_finite_state_is_flagged():
    obs = lambda t, y: jnp.log(y)  # log of a negative state is NaN
    traj = solve_ode(
        lambda t, y, a: -jnp.ones_like(y),
        jnp.ones(()),
        grid=TimeGrid(2.0, 20),
        observe=obs,
        record_every=2,
        on_divergence="flag",
    )
    # y = 1 - t, so log y is NaN from t > 1: the record at step 12 (t = 1.2)
    assert int(traj.first_bad_step) == 12


def test_solve_ode_rejects_a_bad_policy_before_work():
    with pytest.raises(ValueError, match="on_divergence must be one of"):
        solve_ode(_square, jnp.ones(()), grid=GRID, on_divergence="nan")


def test_solve_sde_cubic_drift_explodes_with_a_clear_error(key):
    drift = lambda t, y, a: y**3
    diffusion = lambda t, y, a, dw: dw
    grid = TimeGrid(5.0, 50)
    with pytest.raises(
        DivergenceError, match=r"solve_sde diverged: .* at step \d+ of 50 \(t = "
    ):
        solve_sde(drift, diffusion, jnp.full((3,), 2.0), grid=grid, key=key)
    flagged = solve_sde(
        drift, diffusion, jnp.full((3,), 2.0), grid=grid, key=key, on_divergence="flag"
    )
    n = int(flagged.first_bad_step)
    assert n > 0 and not bool(jnp.isfinite(flagged.ys[n]).all())
    assert bool(jnp.isfinite(flagged.ys[:n]).all())
    with pytest.raises(ValueError, match="on_divergence must be one of"):
        solve_sde(drift, diffusion, jnp.ones(3), grid=grid, key=key, on_divergence=None)


def test_a_non_finite_record_of_a_finite_state_counts():
    # the state never became non-finite (first_bad_step -1), but the record at
    # index 3 (step 6 with record_every=2) is inf: the policy sees it
    traj = Trajectory(
        ts=jnp.linspace(0.0, 1.0, 5),
        ys=jnp.asarray([1.0, 2.0, 4.0, jnp.inf, 1.0]),
        first_bad_step=-1,
    )
    flagged = handle_divergence(
        traj, on_divergence="flag", what="s", cause="c", record_every=2
    )
    assert int(flagged.first_bad_step) == 6 and bool(flagged.diverged)
    with pytest.raises(
        DivergenceError, match=r"recorded value first became non-finite .* at step 6"
    ):
        handle_divergence(
            traj, on_divergence="raise", what="s", cause="c", record_every=2
        )
    with pytest.warns(DivergenceWarning, match="returning the 3 finite records"):
        cut = handle_divergence(
            traj, on_divergence="warn", what="s", cause="c", record_every=2
        )
    np.testing.assert_array_equal(cut.ys, [1.0, 2.0, 4.0])
    # an earlier state divergence wins over a later bad record
    early = Trajectory(ts=traj.ts, ys=traj.ys, first_bad_step=3)
    assert (
        int(
            handle_divergence(
                early, on_divergence="flag", what="s", cause="c", record_every=2
            ).first_bad_step
        )
        == 3
    )

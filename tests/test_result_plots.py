"""``.plot()`` on every result type: draws on the given Axes, labels it,
returns what it documents, handles batched (vmap) results and refuses tracers.

Reference figures are compared with stored PNG baselines (text removed, Agg,
fixed dpi). After an intended change, regenerate them with
``python tests/test_result_plots.py --update-baselines`` and look at them.
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from matplotlib.testing.decorators import remove_ticks_and_titles

from mltheory import generative, numerics
from mltheory.dynamics import dmft, fast_slow
from mltheory.dynamics import tensor_programs as tp
from mltheory.numerics import TimeGrid
from mltheory.optim import phase_retrieval as pr
from mltheory.optim import sgf
from mltheory.stats import ot, shuffled

BASELINES = Path(__file__).parent / "baseline_images"
TOL = 2.0  # RMS on 0-255, text removed: a changed line, marker or colour fails


@pytest.fixture
def ax():
    return Figure().add_subplot()


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError(".plot() must never call pyplot.show()")

    monkeypatch.setattr(plt, "show", fail)
    yield
    plt.close("all")


def _labels(ax):
    return ax.get_legend_handles_labels()[1]


def _stack(*results):
    """Results stacked as jax.vmap stacks them (the same pytree, leading axis).

    Stacking leaf by leaf gives exactly what ``jax.vmap`` over the producer
    returns, without compiling the producer again.
    """
    return jax.tree.map(lambda *xs: jnp.stack(xs), *results)


def _traced_plot(result, **kwargs):
    def f(r):
        r.plot(ax=Figure().add_subplot(), **kwargs)
        return 0.0

    return jax.jit(f)(result)


# --------------------------------------------------------------------------- #
# numerics.Trajectory
# --------------------------------------------------------------------------- #


def _decay(y0):
    return numerics.solve_ode(
        lambda t, y, args: jax.tree.map(lambda v: -v, y), y0, grid=TimeGrid(1.0, 10)
    )


def test_trajectory_plot(ax):
    traj = _decay({"x": jnp.ones(2), "v": jnp.ones(())})
    out = traj.plot(ax=ax, label="decay")
    assert out is ax
    assert len(ax.get_lines()) == 3
    assert _labels(ax) == ["v, decay", "x[0], decay", "x[1], decay"]
    assert ax.get_xlabel() == "time t" and ax.get_ylabel() == "state"
    assert np.allclose(ax.get_lines()[0].get_ydata(), np.exp(-traj.ts), atol=1e-6)
    ax2 = Figure().add_subplot()
    _decay(jnp.ones(30)).plot(ax=ax2, max_lines=4)
    assert len(ax2.get_lines()) == 4
    ax3 = _decay(jnp.ones(())).plot(label="decay")  # a scalar state: label alone
    assert _labels(ax3) == ["decay"]


def test_trajectory_plot_batched_and_traced(ax):
    batched = jax.vmap(_decay)(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    assert batched.ts.shape == (3, 11)
    batched.plot(ax=ax)
    assert len(ax.get_lines()) == 6  # 2 components x 3 members
    assert _labels(ax) == ["y[0]", "y[1]"]
    with pytest.raises(TypeError, match=r"traced value inside jax\.jit/vmap"):
        _traced_plot(_decay(jnp.ones(2)))


# --------------------------------------------------------------------------- #
# DMFT and SGF: the overlay
# --------------------------------------------------------------------------- #


def _fake_simulation(theory, factors):
    """A batch of SGF runs around the theory, one per factor (no compile)."""
    ts = theory.ts[::2]
    n = len(factors)
    return (
        jax.vmap(
            lambda f: sgf.SGFTrajectory(
                ts=ts,
                train_loss=theory.train_loss[::2] * f,
                test_loss=theory.test_loss[::2] * (2.0 - f),
                overlaps=jnp.zeros((ts.size, 1, 1)),
                teacher_overlaps=None,
                theta_final=jnp.zeros((4, 1)),
                observed=None,
            )
        )(jnp.asarray(factors))
        if n
        else None
    )


@pytest.fixture(scope="module")
def dmft_pair():
    grid = TimeGrid(2.0, 20)
    theory = dmft.linear_regression_dmft(delta=2.0, tau=0.5, sigma=0.5, grid=grid)
    return theory, _fake_simulation(theory, [0.97, 1.0, 1.04])


def test_dmft_and_simulation_overlay(ax, dmft_pair):
    theory, sim = dmft_pair
    assert theory.plot(ax=ax) is ax
    assert sim.ts.shape[0] == 3  # a batch of seeds
    assert sim.plot(ax=ax) is ax
    # 2 theory lines + 2 losses x 3 seeds.
    assert len(ax.get_lines()) == 2 + 6
    assert _labels(ax) == [
        "train loss (DMFT)",
        "test loss (DMFT)",
        "train loss (simulation)",
        "test loss (simulation)",
    ]
    lines = ax.get_lines()
    # Theory and simulation of the same loss share a colour.
    assert lines[0].get_color() == lines[2].get_color()
    assert lines[1].get_color() == lines[5].get_color()
    assert lines[0].get_linestyle() == "-" and lines[2].get_marker() == "o"
    assert ax.get_xlabel() == "time t [SGF units]" and ax.get_ylabel() == "loss"
    assert ax.get_legend() is not None


def test_simulation_average_draws_mean_and_se_band(ax, dmft_pair):
    _, sim = dmft_pair
    sim.plot(ax=ax, average=True, losses=("test",))
    (line,) = ax.get_lines()
    test = np.asarray(sim.test_loss)
    assert np.allclose(line.get_ydata(), test.mean(0))
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    se = test.std(0, ddof=1) / np.sqrt(3)
    assert ys.max() == pytest.approx((test.mean(0) + se).max())


def test_dmft_kernels_figure(dmft_pair):
    theory, _ = dmft_pair
    fig = theory.plot(kernels=True)
    assert isinstance(fig, Figure)
    assert fig.number in plt.get_fignums()
    meshes = [c for a in fig.axes[1:3] for c in a.collections]
    assert len(meshes) == 2 and all(isinstance(m, QuadMesh) for m in meshes)
    k1 = len(theory.ts)
    assert meshes[0].get_array().size == k1 * k1
    assert fig.axes[1].get_xlabel() == "time t" and fig.axes[1].get_ylabel() == "time s"
    with pytest.raises(ValueError, match="component must index the 1x1"):
        theory.plot(component=(1, 0))
    with pytest.raises(ValueError, match="losses must name 'train' and/or 'test'"):
        theory.plot(losses=("val",))
    with pytest.raises(TypeError, match="a sequence of 3 matplotlib Axes"):
        theory.plot(ax=Figure().add_subplot(), kernels=True)


def test_dmft_batched_and_traced(dmft_pair):
    theory, _ = dmft_pair
    batched = _stack(theory, theory)
    ax = batched.plot()
    assert len(ax.get_lines()) == 4
    with pytest.raises(ValueError, match="batched result"):
        batched.plot(kernels=True)
    with pytest.raises(TypeError, match="traced value"):
        _traced_plot(theory)


def test_sgf_trajectory_without_test_loss(ax):
    traj = sgf.SGFTrajectory(
        ts=jnp.linspace(0, 1, 5),
        train_loss=jnp.ones(5),
        test_loss=None,
        overlaps=jnp.zeros((5, 1, 1)),
        teacher_overlaps=None,
        theta_final=jnp.zeros((4, 1)),
        observed=None,
    )
    traj.plot(ax=ax)
    assert _labels(ax) == ["train loss (simulation)"]
    with pytest.raises(ValueError, match="recorded no test loss"):
        traj.plot(losses=("test",))


# --------------------------------------------------------------------------- #
# Phase retrieval
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def pr_runs():
    cov = pr.spiked_covariance(8, 4.0)
    return (
        pr.simulate_reduced(cov, method="gd", lr=0.002, steps=30),
        pr.simulate_reduced(cov, method="specgd", lr=0.002, steps=30),
    )


def test_pr_trajectory_figure_and_overlay(pr_runs):
    gd, spec = pr_runs
    fig = gd.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert spec.plot(ax=fig.axes) is fig
    coords, align, ratio = fig.axes
    assert len(coords.get_lines()) == 6 and len(align.get_lines()) == 2
    assert _labels(align) == ["GD", "SpecGD"]
    assert [line.get_linestyle() for line in align.get_lines()] == ["-", "--"]
    assert coords.get_yscale() == "log" and ratio.get_yscale() == "log"
    assert align.get_ylabel() == "alignment rho"
    assert all(a.get_xlabel() == "step k" for a in fig.axes)


def test_pr_trajectory_panel_batched_traced(ax, pr_runs):
    gd, _ = pr_runs
    assert gd.plot(ax=ax, panel="loss", kind="simulation") is ax
    assert ax.get_lines()[0].get_marker() == "o"
    batched = _stack(gd, gd, gd)
    ax2 = batched.plot(panel="alignment")
    assert len(ax2.get_lines()) == 3 and _labels(ax2) == ["GD"]
    with pytest.raises(ValueError, match="batched result"):
        batched.plot(panel="coordinates")
    with pytest.raises(ValueError, match="panel must be one of"):
        gd.plot(panel="spike")
    with pytest.raises(TypeError, match="traced value"):
        _traced_plot(gd, panel="alignment")


def test_pr_trajectory_every_thins_the_records(ax, pr_runs):
    _, spec = pr_runs  # 31 records, first_bad_step a scalar leaf
    spec.plot(ax=ax, panel="spike_ratio", every=2)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.asarray(spec.steps)[::2])
    np.testing.assert_allclose(line.get_ydata(), np.asarray(spec.spike_ratio)[::2])
    batched = _stack(spec, spec)
    ax2 = batched.plot(panel="alignment", every=3)
    assert [len(ln.get_xdata()) for ln in ax2.get_lines()] == [11, 11]
    with pytest.raises(ValueError, match="every must be >= 1"):
        spec.plot(ax=ax, panel="alignment", every=0)


# --------------------------------------------------------------------------- #
# Fast-slow and finite-width SGD
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def fs_problem():
    s = numerics.activation_series("erf", 9)
    teacher = numerics.polynomial_series({1: 1.0}, degree=9)
    return fast_slow.FastSlowProblem(s, teacher, eps=0.01)


def test_fast_slow_and_sgd_overlay(ax):
    params = tp.init_params(jax.random.key(0), 16, 8, 1.0)
    ts = jnp.linspace(0.0, 2.0, 5)
    neurons = jnp.tanh(ts)[:, None] * jnp.linspace(0.8, 1.2, 16)[None, :]
    sgd = tp.SGDTrajectory(
        t=ts,
        m_mean=neurons.mean(1),
        a_mean=1 + 0.1 * ts,
        loss=0 * ts,
        m=neurons,
        a=jnp.ones((5, 16)),
        params=params,
    )
    t = jnp.linspace(0.0, 2.0, 9)
    ode = fast_slow.FastSlowTrajectory(t=t, m=jnp.tanh(t), a=1 + 0.1 * t, loss=0 * t)
    assert ode.plot(ax=ax) is ax
    assert sgd.plot(ax=ax) is ax
    assert _labels(ax) == ["m (ODE)", "a (ODE)", "m (SGD)", "a (SGD)"]
    lines = ax.get_lines()
    assert lines[0].get_color() == lines[2].get_color()
    assert lines[1].get_color() == lines[3].get_color()
    assert ax.get_xlabel() == "time t = step * lr_w" and ax.get_ylabel() == "value"
    ax2 = sgd.plot(neurons=True, variables=("m",))
    assert len(ax2.get_lines()) == 16 + 1  # every neuron + the mean
    assert ax2.get_ylabel() == "alignment m"
    no_neurons = tp.SGDTrajectory(
        t=sgd.t,
        m_mean=sgd.m_mean,
        a_mean=sgd.a_mean,
        loss=sgd.loss,
        m=None,
        a=None,
        params=sgd.params,
    )
    with pytest.raises(ValueError, match="store_neurons=True"):
        no_neurons.plot(neurons=True)
    with pytest.raises(ValueError, match="variables must be among"):
        ode.plot(variables=("b",))


def test_fast_slow_batched_and_traced():
    batched = jax.vmap(
        lambda m0: fast_slow.FastSlowTrajectory(
            t=jnp.linspace(0, 1, 5),
            m=m0 * jnp.ones(5),
            a=jnp.ones(5),
            loss=jnp.zeros(5),
        )
    )(jnp.array([0.1, 0.2, 0.3, 0.4]))
    ax = batched.plot(variables=("m",))
    assert len(ax.get_lines()) == 4 and _labels(ax) == ["m (ODE)"]
    with pytest.raises(TypeError, match="traced value"):
        _traced_plot(jax.tree.map(lambda x: x[0], batched))


@pytest.fixture(scope="module")
def fs_traj(fs_problem):
    return fast_slow.integrate(fs_problem, 0.5, 1.0, 100.0, n_steps=200)


def test_scaling_law_overlay(ax, fs_problem, fs_traj):
    law = fast_slow.scaling_law(fs_problem)
    traj = fs_traj
    traj.plot(ax=ax, variables=("m",), logx=True, logy=True)
    assert law.plot(ax=ax, t=traj.t[1:]) is ax
    law_line = ax.get_lines()[-1]
    t = np.asarray(traj.t[1:])
    expected = float(law.prefactor_m) * t ** float(law.exponent_m)
    assert np.allclose(law_line.get_ydata(), expected)
    assert law_line.get_linestyle() == "--"
    assert _labels(ax)[-1] == f"m ~ t^{float(law.exponent_m):.3g} (law)"
    assert ax.get_xscale() == ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="positive times"):
        law.plot(t=[0.0, 1.0])
    s = numerics.activation_series("tanh", 9)
    teacher = numerics.polynomial_series({1: 1.0, 3: -0.3}, degree=9)
    eq = fast_slow.scaling_law(fast_slow.FastSlowProblem(s, teacher, eps=0.01))
    assert eq.regime == "equilibrium"
    with pytest.raises(ValueError, match="no power law to plot"):
        eq.plot()


def _phase_diagram(simulated=True):
    mus = jnp.linspace(-0.3, 0.3, 7)
    a0s = jnp.linspace(0.5, 1.5, 5)
    predicted = mus[:, None] > -0.1 + 0.05 * a0s[None, :]
    drop = jnp.where(predicted, 0.3 * (mus[:, None] + 0.3), 0.0)
    if not simulated:
        drop = jnp.full_like(drop, jnp.nan)
    return fast_slow.PhaseDiagram(
        strengths=mus,
        a0s=a0s,
        predicted=predicted,
        drop=drop,
        critical_strength=jnp.asarray(-0.05),
        k=3,
    )


def test_phase_diagram_plot(ax):
    pd = _phase_diagram()
    assert pd.plot(ax=ax) is ax
    assert len([c for c in ax.collections if isinstance(c, QuadMesh)]) == 1
    assert _labels(ax) == ["predicted boundary", "critical c*_3"]
    assert ax.get_xlabel() == "teacher strength c*_3"
    assert ax.get_ylabel() == "initial scale a0"
    assert len(ax.figure.axes) == 2  # colour bar
    ax2 = _phase_diagram(simulated=False).plot()
    assert not [c for c in ax2.collections if isinstance(c, QuadMesh)]
    assert "predicted unlearning" in _labels(ax2)
    with pytest.raises(ValueError, match="batched result"):
        _stack(pd, pd).plot()


# --------------------------------------------------------------------------- #
# Shuffled regression
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def shuffled_data():
    return shuffled.simulate_shuffled(30, 2, k=4, sigma=0.2, rng=0)


def test_coefficient_set_plot(ax, shuffled_data):
    data = shuffled_data
    cs = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=10, rng=0)
    assert cs.plot(ax=ax, truth=data.beta, resolution=60) is ax
    labels = _labels(ax)
    assert labels[0].startswith("confidence region") and "truth" in labels
    assert ax.get_xlabel() == "beta_0" and ax.get_ylabel() == "beta_1"
    star = next(line for line in ax.get_lines() if line.get_label() == "truth")
    assert star.get_xdata()[0] == data.beta[0]
    with pytest.raises(ValueError, match="dims must be two distinct coordinates"):
        cs.plot(dims=(0, 0))
    one = shuffled.simulate_shuffled(20, 1, k=2, sigma=0.1, rng=0)
    cs1 = shuffled.coefficient_confidence_set(one.X, one.Y, n_draws=5, rng=0)
    with pytest.raises(ValueError, match="at least two needed"):
        cs1.plot()


def test_coefficient_region_matches_contains(shuffled_data):
    data = shuffled_data
    cs = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=10, rng=0)
    ax = cs.plot(resolution=40)
    filled = ax.collections[0]  # the contourf of the union
    # Points inside the drawn region are in the set and vice versa (p = 2, so
    # the projection is the set itself): check the centres and a far point.
    path = filled.get_paths()[0]
    for c in np.asarray(cs.centers):
        assert cs.contains(c) and path.contains_point(c)
    far = np.asarray(cs.centers[0]) + 100.0
    assert not cs.contains(far) and not path.contains_point(far)


def test_candidate_set_and_tests_plots(ax, shuffled_data):
    data = shuffled_data
    cands = shuffled.repro_candidate_set(data.X, data.Y, n_draws=20, rng=0)
    assert cands.plot(ax=ax, truth=data.perm) is ax
    curve = ax.get_lines()[0]
    sizes = curve.get_ydata()
    assert sizes[-1] == len(cands.perms) and np.all(np.diff(sizes) >= 0)
    assert ax.get_xlabel() == "Monte Carlo draws M"
    assert any(lab.startswith("truth found at M") for lab in _labels(ax))
    test = shuffled.conditional_mc_test(data.X, data.Y, n_mc=19, rng=0)
    ax2 = test.plot()
    assert len(ax2.patches) == 30 and ax2.get_ylabel() == "count"
    assert any(lab.startswith("observed, p = ") for lab in _labels(ax2))
    pcs = shuffled.permutation_confidence_set(data.X, data.Y, n_mc=19, n_draws=5, rng=0)
    ax3 = pcs.plot()
    n_points = sum(len(line.get_xdata()) for line in ax3.get_lines()[:2])
    assert n_points == len(pcs.candidate_p_values)
    assert ax3.get_ylabel() == "p-value"


# --------------------------------------------------------------------------- #
# Generative samplers
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def sample_result():
    # What a 3-step sampler returns for 4 sequences of length 6 (the samplers
    # are tested in tests/generative; building it directly saves a compile).
    reveal = jnp.array(
        [
            [0, 1, 2, 0, 1, 2],
            [1, 0, 2, 2, 0, 1],
            [2, 2, 1, 0, 0, 1],
            [0, 0, 1, 1, 2, 2],
        ],
        jnp.int32,
    )
    return generative.SampleResult(
        tokens=jnp.zeros((4, 6), jnp.int32),
        reveal_step=reveal,
        trajectory=None,
        nfe=jnp.asarray(3.0),
        info={"k": jnp.full((4, 3), 2, jnp.int32)},
        num_steps=3,
    )


def test_sample_result_plots(ax, sample_result):
    res = sample_result
    assert res.plot(ax=ax) is ax
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert np.array_equal(
        np.asarray(mesh.get_array()).reshape(4, 6), np.asarray(res.reveal_step)
    )
    assert ax.get_xlabel() == "position" and ax.get_ylabel() == "sequence"
    ax2 = res.plot(show="counts")
    assert len(ax2.patches) == 3
    heights = [p.get_height() for p in ax2.patches]
    assert sum(heights) == pytest.approx(6.0)  # every position revealed once
    with pytest.raises(ValueError, match="show"):
        res.plot(show="order")
    with pytest.raises(TypeError, match="traced value"):
        _traced_plot(res)


def test_real_results_print_short_summaries(dmft_pair, pr_runs):
    theory, sim = dmft_pair
    gd, _ = pr_runs
    for result, key in (
        (theory, "final test loss="),
        (sim, "final train loss=f64[3]"),
        (gd, "final alignment="),
    ):
        text = repr(result)
        assert key in text, text
        assert len(text) < 700 and "[[" not in text  # no array dumps
        assert result._repr_html_().startswith("<table")
    assert "C_theta=f64[21,21,1,1]" in repr(theory)


def test_every_listed_result_type_has_plot():
    import mltheory.dynamics.tensor_programs as tpm

    types = [
        numerics.Trajectory,
        sgf.SGFTrajectory,
        pr.PRTrajectory,
        dmft.DMFTResult,
        dmft.DLNTrajectory,
        dmft.DLNPaths,
        fast_slow.FastSlowTrajectory,
        fast_slow.PhaseDiagram,
        fast_slow.ScalingLaw,
        tpm.SGDTrajectory,
        shuffled.CandidateSet,
        shuffled.PermutationTestResult,
        shuffled.PermutationConfidenceSet,
        shuffled.CoefficientConfidenceSet,
        generative.SampleResult,
        numerics.FunctionalData,
        ot.OTMapResult,
        ot.GaussianOTMap,
        ot.GammaSieveOTMap,
        ot.ProjectedOTMap,
    ]
    for cls in types:
        assert callable(getattr(cls, "plot", None)), cls.__name__
        assert cls.plot.__doc__ and "Returns" in cls.plot.__doc__, cls.__name__


def test_new_figures_return_axes_on_pyplot(fs_traj):
    before = set(plt.get_fignums())
    ax = fs_traj.plot()
    assert isinstance(ax, Axes)
    assert set(plt.get_fignums()) - before == {ax.figure.number}
    assert matplotlib.get_backend().lower() == "agg"


# --------------------------------------------------------------------------- #
# Reference images
# --------------------------------------------------------------------------- #

RC = {"font.family": "DejaVu Sans", "axes.unicode_minus": False}


def _reference_dmft_overlay():
    grid = TimeGrid(2.0, 20)
    theory = dmft.linear_regression_dmft(delta=2.0, tau=0.5, sigma=0.5, grid=grid)
    ts = theory.ts[::2]
    # A fixed, deterministic stand-in for a simulation (no random numbers).
    sim = sgf.SGFTrajectory(
        ts=jnp.stack([ts, ts]),
        train_loss=jnp.stack([theory.train_loss[::2] * f for f in (0.97, 1.03)]),
        test_loss=jnp.stack([theory.test_loss[::2] * f for f in (1.02, 0.99)]),
        overlaps=jnp.zeros((2, ts.size, 1, 1)),
        teacher_overlaps=None,
        theta_final=jnp.zeros((2, 4, 1)),
        observed=None,
    )
    ax = Figure(figsize=(3.0, 2.4), layout="constrained").add_subplot()
    theory.plot(ax=ax)
    sim.plot(ax=ax, average=True)
    return ax.figure


def _reference_phase_diagram():
    ax = Figure(figsize=(3.0, 2.4), layout="constrained").add_subplot()
    _phase_diagram().plot(ax=ax, colorbar=False)
    return ax.figure


def _reference_coefficient_set():
    cs = shuffled.CoefficientConfidenceSet(
        centers=np.array([[1.0, 1.0], [1.2, 0.9], [0.9, 1.15]]),
        gram=np.array([[40.0, 10.0], [10.0, 30.0]]),
        radii2=np.array([1.0, 0.6, 0.8]),
        intervals=np.array([[0.7, 1.4], [0.7, 1.35]]),
        perms=np.tile(np.arange(5), (3, 1)),
        alpha_loc=0.025,
        alpha_coef=0.025,
    )
    ax = Figure(figsize=(3.0, 2.4), layout="constrained").add_subplot()
    cs.plot(ax=ax, truth=[1.05, 1.0], resolution=80)
    return ax.figure


REFERENCES = {
    "dmft_overlay": _reference_dmft_overlay,
    "phase_diagram": _reference_phase_diagram,
    "coefficient_set": _reference_coefficient_set,
}


def _render(make, path):
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        fig = make()
        remove_ticks_and_titles(fig)
        for a in fig.axes:
            a.set(xlabel="", ylabel="")
            if a.get_legend() is not None:
                a.get_legend().remove()
        fig.savefig(path, dpi=60, metadata={"Software": None})


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_figure_matches_baseline(name, tmp_path):
    expected = BASELINES / f"{name}.png"
    assert expected.exists(), "run this file with --update-baselines"
    actual = tmp_path / f"{name}.png"
    _render(REFERENCES[name], actual)
    assert compare_images(str(expected), str(actual), tol=TOL) is None


def test_reference_comparison_detects_a_change(tmp_path):
    # Draw the overlay with the simulation as lines instead of markers: the
    # comparison must fail, or it could not catch a style regression.
    def changed():
        fig = _reference_dmft_overlay()
        for line in fig.axes[0].get_lines()[2:]:
            line.set_marker("None")
            line.set_linestyle("-")
        return fig

    actual = tmp_path / "changed.png"
    _render(changed, actual)
    expected = BASELINES / "dmft_overlay.png"
    assert compare_images(str(expected), str(actual), tol=TOL) is not None


if __name__ == "__main__" and "--update-baselines" in sys.argv:
    jax.config.update("jax_enable_x64", True)
    BASELINES.mkdir(exist_ok=True)
    for name, make in REFERENCES.items():
        _render(make, BASELINES / f"{name}.png")
        print("wrote", BASELINES / f"{name}.png")

"""The shared plotting layer: house style, helpers, and a stored reference image.

Regenerate the baseline after an intended style change with
``python tests/_src/test_plotting.py --update-baselines`` and look at it.
"""

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from matplotlib.testing.decorators import remove_ticks_and_titles

from mltheory._src import _plotting as P

BASELINES = Path(__file__).parent / "baseline_images"
# RMS difference on the 0-255 scale; text is removed before comparing, so only
# lines, markers and bands count. A changed colour or marker gives RMS >> 2.
TOL = 2.0


@pytest.fixture
def ax():
    fig = Figure()
    return fig.add_subplot()


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plotting code must never call pyplot.show()")

    monkeypatch.setattr(plt, "show", fail)
    yield
    plt.close("all")


def test_import_mltheory_does_not_import_matplotlib():
    code = (
        "import sys, mltheory, mltheory._src._plotting, mltheory.dynamics, "
        "mltheory.optim, mltheory.stats, mltheory.generative; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_axes_or_new_returns_given_axes_or_a_pyplot_figure(ax):
    assert P.axes_or_new(ax) is ax
    before = set(plt.get_fignums())
    new = P.axes_or_new()
    assert set(plt.get_fignums()) - before == {new.figure.number}
    assert matplotlib.get_backend().lower() == "agg"
    # New axes cycle through the house palette.
    (line,) = new.plot([0, 1], [0, 1])
    assert matplotlib.colors.to_hex(line.get_color()) == P.PALETTE[0].lower()
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None"):
        P.axes_or_new("not an axes")


def test_user_axes_keep_their_own_colour_cycle(ax):
    ax.set_prop_cycle(color=["#123456"])
    line = P.plot_curve(ax, [0, 1], [1, 2])
    assert line.get_color() == "#123456"


def test_new_figure_is_bare_unless_pyplot_is_asked():
    before = set(plt.get_fignums())
    fig, axes = P.new_figure(3, 2)
    assert axes.shape == (2, 3) and isinstance(fig, Figure)
    assert set(plt.get_fignums()) == before
    fig2, _ = P.new_figure(1, 1, pyplot=True)
    assert fig2.number in plt.get_fignums()


def test_plot_curve_styles_by_kind(ax):
    x = np.linspace(0.0, 1.0, 200)
    theory = P.plot_curve(ax, x, x**2, label="theory")
    sim = P.plot_curve(
        ax, x, x**2 + 0.01, band=0.05 * np.ones_like(x), kind="simulation", label="sim"
    )
    data = P.plot_curve(ax, x[:10], x[:10], kind="data")
    assert theory.get_linestyle() == "-" and theory.get_marker() in ("None", None)
    assert sim.get_linestyle() == "None" and sim.get_marker() == "o"
    # Markers are thinned to at most ~60 per curve; the band is not.
    assert sim.get_markevery() == 200 // 60
    assert data.get_marker() == "." and data.get_alpha() == pytest.approx(0.6)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    assert np.allclose(
        bands[0].get_facecolor()[0][:3], matplotlib.colors.to_rgb(sim.get_color())
    )
    # The band is y +- half-width.
    ys = bands[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.01 - 0.05) and ys.max() == pytest.approx(1.06)
    assert len(ax.get_lines()) == 3


def test_plot_curve_explicit_band_and_overrides(ax):
    line = P.plot_curve(
        ax, [0, 1, 2], [1, 2, 3], band=([0, 1, 2], [2, 3, 4]), color="k", lw=3
    )
    assert line.get_color() == "k" and line.get_linewidth() == 3
    ys = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == 0 and ys.max() == 4


def test_plot_curve_rejects_bad_input(ax):
    with pytest.raises(ValueError, match="kind must be one of 'theory'"):
        P.plot_curve(ax, [0, 1], [0, 1], kind="model")
    with pytest.raises(ValueError, match=r"same length; got shapes \(2,\) and \(3,\)"):
        P.plot_curve(ax, [0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="a pair"):
        P.plot_curve(ax, [0, 1], [0, 1], band=(1, 2, 3))


def test_tracers_give_a_clear_error(ax):
    def f(y):
        P.plot_curve(ax, jnp.arange(3.0), y)
        return y

    with pytest.raises(TypeError, match=r"traced value inside jax\.jit/vmap"):
        jax.jit(f)(jnp.ones(3))


def test_plot_members_one_line_each_labelled_once(ax):
    t = np.linspace(0, 1, 5)
    ys = np.stack([t, 2 * t, 3 * t])
    lines = P.plot_members(ax, t, ys, label="members", kind="simulation")
    assert len(lines) == 3 == len(ax.get_lines())
    assert len({line.get_color() for line in lines}) == 1
    assert ax.get_legend_handles_labels()[1] == ["members"]
    assert lines[0].get_alpha() == pytest.approx(1 / np.sqrt(3))
    # Per-member x and nested batch axes are flattened.
    more = P.plot_members(ax, np.stack([ys, ys]), np.stack([ys, ys]))
    assert len(more) == 6
    single = P.plot_members(ax, t, t)
    assert len(single) == 1 and single[0].get_alpha() is None
    with pytest.raises(ValueError, match=r"x must have shape \(5,\) or the shape"):
        P.plot_members(ax, np.arange(4), ys)


def test_finish_axes_labels_scales_legend(ax):
    P.finish_axes(ax, xlabel="t [steps]", ylabel="loss", title="T")
    assert ax.get_legend() is None  # nothing labelled
    P.plot_curve(ax, [1, 10], [1, 100], label="c")
    out = P.finish_axes(ax, xlabel="t [steps]", ylabel="loss", logx=True, logy=True)
    assert out is ax
    assert ax.get_xlabel() == "t [steps]" and ax.get_ylabel() == "loss"
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["c"]


def test_heatmap_region_boundary_reference(ax):
    x, y = np.linspace(0, 1, 4), np.linspace(0, 2, 3)
    z = np.add.outer(x, y)
    mesh = P.heatmap(ax, x, y, z, label="value")
    assert isinstance(mesh, QuadMesh)
    # z[i, j] is at (x[i], y[j]): pcolormesh stores it transposed (rows = y).
    assert np.allclose(mesh.get_array().reshape(3, 4), z.T)
    assert len(ax.figure.axes) == 2  # the colour bar
    inside = z < 1.5
    P.plot_region(ax, x, y, inside, label="region")
    P.plot_boundary(ax, x, y, inside, label="predicted boundary", color="r")
    P.plot_reference(ax, 0.5, label="threshold")
    P.plot_reference(ax, 1.0, axis="y")
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["predicted boundary", "region", "threshold"]
    with pytest.raises(ValueError, match=r"z must have shape \(len\(x\), len\(y\)\)"):
        P.heatmap(ax, x, y, z.T)
    with pytest.raises(ValueError, match="axis must be 'x' or 'y'"):
        P.plot_reference(ax, 1.0, axis="z")


def test_members_or_error_and_panel_axes():
    assert P.members_or_error(np.ones(3), name="m").shape == (3,)
    with pytest.raises(
        ValueError, match=r"m has shape \(2, 3\): this looks like a batched"
    ):
        P.members_or_error(np.ones((2, 3)), name="m")
    fig, axes = P.panel_axes(None, 3)
    assert len(axes) == 3 and fig.number in plt.get_fignums()
    _, axes2 = P.new_figure(2, 1)
    assert P.panel_axes(list(axes2.flat), 2)[1] == list(axes2.flat)
    with pytest.raises(TypeError, match="a sequence of 3 matplotlib Axes"):
        P.panel_axes(list(axes2.flat), 3)


def test_save_figure_is_deterministic(tmp_path):
    paths = []
    for sub in ("a", "b"):  # the same figure built twice gives the same bytes
        fig, axes = P.new_figure(1, 1, width=2, height=2)
        P.plot_curve(axes[0, 0], [0, 1], [0, 1])
        paths.append(P.save_figure(fig, tmp_path / sub, "f", dpi=50))
    p1, p2 = paths
    assert p1.name == "f.png" and p1.read_bytes() == p2.read_bytes()
    assert b"Software" not in p1.read_bytes()


# --------------------------------------------------------------------------- #
# Reference image: the house style in one figure.
# --------------------------------------------------------------------------- #

RC = {
    "font.family": "DejaVu Sans",
    "axes.unicode_minus": False,
    "path.simplify": False,
}


def draw_house_style(kind="simulation"):
    """Theory line, simulation markers with a band, data points, two members."""
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        fig, axes = P.new_figure(1, 1, width=3.0, height=2.4)
        ax = axes[0, 0]
        t = np.linspace(0.0, 4.0, 41)
        P.plot_curve(ax, t, np.exp(-t), label="theory")
        P.plot_curve(
            ax, t, np.exp(-t) + 0.02 * np.sin(7 * t), band=0.05, kind=kind, label="sim"
        )
        P.plot_curve(ax, t[::4], np.exp(-t[::4]) + 0.1, kind="data", label="data")
        P.plot_members(ax, t, np.stack([0.5 * np.exp(-t), 0.3 * np.exp(-t)]))
        P.plot_reference(ax, 2.0)
        P.finish_axes(ax, xlabel="t", ylabel="y", title="house style")
        remove_ticks_and_titles(fig)
        ax.set(xlabel="", ylabel="")  # no text at all: fonts differ by machine
        ax.get_legend().remove()
    return fig


def _save(fig, path):
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        fig.savefig(path, dpi=60, metadata={"Software": None})


def test_house_style_matches_the_stored_baseline(tmp_path):
    expected = BASELINES / "house_style.png"
    assert expected.exists(), "run this file with --update-baselines"
    actual = tmp_path / "house_style.png"
    _save(draw_house_style(), actual)
    assert compare_images(str(expected), str(actual), tol=TOL) is None
    # The comparison can fail: drawing the simulation as a line does not match.
    changed = tmp_path / "changed.png"
    _save(draw_house_style(kind="theory"), changed)
    assert compare_images(str(expected), str(changed), tol=TOL) is not None


if __name__ == "__main__" and "--update-baselines" in sys.argv:
    BASELINES.mkdir(exist_ok=True)
    _save(draw_house_style(), BASELINES / "house_style.png")
    print("wrote", BASELINES / "house_style.png")

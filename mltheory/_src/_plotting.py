"""The house plotting layer: one look for every ``.plot`` method and reproduction.

matplotlib is imported lazily (inside the functions), so ``import mltheory``
never loads it. Nothing here calls ``pyplot.show()`` or changes the backend.

House style
-----------
- Colours: :data:`PALETTE`, the Okabe–Ito colour-blind-safe palette. Axes made
  here cycle through it; an Axes the user passes keeps the user's own cycle.
- ``kind="theory"``: a solid line (a prediction, an ODE, a DMFT curve).
- ``kind="simulation"``: markers (thinned to at most ~60 per curve) with an
  optional shaded band, normally +-1 standard error of the Monte Carlo mean.
- ``kind="data"``: small semi-transparent points (observations, samples).
- Axes: labels carry units in brackets where they apply
  (``"time t [SGF units]"``); a light grid; a small frameless legend drawn
  only when something is labelled.

Where a new figure comes from
-----------------------------
``.plot(ax=None)`` needs a figure to draw on. :func:`axes_or_new` makes it
with :func:`matplotlib.pyplot.figure`, so it shows inline in Jupyter and with
``plt.show()`` in a script, exactly as ``plt.plot`` would (close it with
``plt.close(fig)`` when making many in a loop). The reproductions instead use
:func:`new_figure` with ``pyplot=False`` (the default): a bare
:class:`~matplotlib.figure.Figure`, never registered with pyplot, so a long
run neither opens windows nor accumulates figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jax
import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.contour import QuadContourSet
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

__all__ = [
    "KINDS",
    "LOSS_COLORS",
    "PALETTE",
    "as_numpy",
    "axes_or_new",
    "finish_axes",
    "heatmap",
    "members_or_error",
    "new_figure",
    "panel_axes",
    "plot_boundary",
    "plot_curve",
    "plot_members",
    "plot_named_curves",
    "plot_reference",
    "plot_region",
    "save_figure",
]

#: Okabe–Ito colours (colour-blind safe), in the order curves take them.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Colours of the loss curves, shared by every theory/simulation pair.
LOSS_COLORS: dict[str, str] = {
    "train loss": PALETTE[0],
    "test loss": PALETTE[1],
    "loss": PALETTE[0],
}

Kind = Literal["theory", "simulation", "data"]
#: The kinds of curve and how each is drawn.
KINDS: dict[str, dict[str, Any]] = {
    "theory": {"linestyle": "-", "linewidth": 1.8, "marker": "None"},
    "simulation": {
        "linestyle": "None",
        "marker": "o",
        "markersize": 3.5,
        "markeredgewidth": 0.0,
    },
    "data": {
        "linestyle": "None",
        "marker": ".",
        "markersize": 4.0,
        "alpha": 0.6,
    },
}
_BAND_ALPHA = 0.22
_MAX_MARKERS = 60
DEFAULT_WIDTH = 4.8
DEFAULT_HEIGHT = 3.6


def as_numpy(x: Any, *, name: str = "array") -> np.ndarray:
    """``x`` as a NumPy array; a clear error for a tracer (inside jit/vmap).

    Raises
    ------
    TypeError
        If ``x`` (or a leaf of it) is a JAX tracer: figures are drawn from
        concrete values, outside :func:`jax.jit` and :func:`jax.vmap`.
    """
    if isinstance(x, jax.core.Tracer):
        raise TypeError(
            f"cannot plot {name}: it is a traced value inside jax.jit/vmap; "
            "return the result from the transformed function and call .plot() "
            "on it outside."
        )
    return np.asarray(x)


def _check_kind(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(
            f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}."
        )
    return KINDS[kind]


def _house_axes(ax: Axes) -> Axes:
    ax.set_prop_cycle(color=list(PALETTE))
    return ax


def axes_or_new(
    ax: Axes | None = None,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = DEFAULT_HEIGHT,
) -> Axes:
    """Return ``ax``, or a new Axes on a new pyplot figure.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw. Returned as is (its colour cycle and limits untouched).
    width, height : float
        Size in inches of a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, or the Axes of a new figure made by
        :func:`matplotlib.pyplot.figure` (so it shows in Jupyter and with
        ``plt.show()``), cycling through :data:`PALETTE`.

    Raises
    ------
    TypeError
        If ``ax`` is neither ``None`` nor a matplotlib Axes.
    """
    from matplotlib.axes import Axes as _Axes

    if ax is not None:
        if not isinstance(ax, _Axes):
            raise TypeError(
                f"ax must be a matplotlib Axes or None; got {type(ax).__name__}."
            )
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height), layout="constrained")
    return _house_axes(fig.add_subplot())


def new_figure(
    ncols: int = 1,
    nrows: int = 1,
    *,
    width: float = 4.2,
    height: float = 3.4,
    pyplot: bool = False,
) -> tuple[Figure, np.ndarray]:
    """A figure with a grid of axes (always a 2-D array of axes).

    Parameters
    ----------
    ncols, nrows : int
        The grid.
    width, height : float
        Size in inches of one panel.
    pyplot : bool, default=False
        Make the figure with :func:`matplotlib.pyplot.figure` (it then shows in
        Jupyter and with ``plt.show()``); by default a bare
        :class:`~matplotlib.figure.Figure` that pyplot never sees, as the
        reproductions want.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of Axes, shape (nrows, ncols)
    """
    size = (width * ncols, height * nrows)
    if pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, layout="constrained")
    else:
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        _house_axes(ax)
    return fig, axes


def save_figure(fig: Figure, out_dir: str | Path, name: str, *, dpi: int = 150) -> Path:
    """Save ``fig`` as ``out_dir/name.png`` and return the path.

    The PNG carries no software/version metadata, so the same figure gives the
    same bytes on every machine with the same fonts.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    return path


def _band_limits(y: np.ndarray, band: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(band, tuple):
        if len(band) != 2:
            raise ValueError(
                "band must be a half-width (array or number) or a pair "
                f"(lower, upper); got a tuple of length {len(band)}."
            )
        lo, hi = (np.broadcast_to(as_numpy(b, name="band"), y.shape) for b in band)
        return lo, hi
    half = np.broadcast_to(as_numpy(band, name="band"), y.shape)
    return y - half, y + half


def plot_curve(
    ax: Axes,
    x: Any,
    y: Any,
    *,
    band: Any = None,
    label: str | None = None,
    kind: Kind = "theory",
    color: str | None = None,
    **kwargs: Any,
) -> Line2D:
    """Draw one curve in the house style.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    x, y : array_like of shape (n,)
        The curve.
    band : array_like, float, or pair of array_like, optional
        A shaded band around ``y``: a half-width (``y +- band``, e.g. one
        standard error) or an explicit ``(lower, upper)`` tuple.
    label : str, optional
        Legend label.
    kind : {"theory", "simulation", "data"}, default="theory"
        Solid line, markers, or points (see the module docstring).
    color : str, optional
        Colour; by default the next colour of the Axes' cycle.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` (override the style).

    Returns
    -------
    matplotlib.lines.Line2D
        The curve (the band, if any, is a collection drawn beneath it).

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``x``/``y`` are not 1-D of the same length.
    TypeError
        If an array is a tracer (called inside jit/vmap).
    """
    style = dict(_check_kind(kind))
    xs, ys = as_numpy(x, name="x"), as_numpy(y, name="y")
    if xs.ndim != 1 or ys.shape != xs.shape:
        raise ValueError(
            f"x and y must be 1-D of the same length; got shapes {xs.shape} and "
            f"{ys.shape}."
        )
    if kind == "simulation" and xs.size > _MAX_MARKERS:
        style["markevery"] = max(1, xs.size // _MAX_MARKERS)
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D as _Line2D

    style.update(normalize_kwargs(kwargs, _Line2D))  # lw= overrides linewidth
    if color is not None:
        style["color"] = color
    (line,) = ax.plot(xs, ys, label=label, **style)
    if band is not None:
        lo, hi = _band_limits(ys, band)
        ax.fill_between(
            xs, lo, hi, color=line.get_color(), alpha=_BAND_ALPHA, linewidth=0
        )
    return line


def plot_members(
    ax: Axes,
    x: Any,
    ys: Any,
    *,
    label: str | None = None,
    kind: Kind = "theory",
    color: str | None = None,
    band: Any = None,
    **kwargs: Any,
) -> list[Line2D]:
    """Draw one curve per batch member, in one colour, labelled once.

    For results stacked by :func:`jax.vmap`: ``ys`` has shape
    ``(*batch, n)`` and every member is drawn (leading batch axes are
    flattened); ``x`` is shared (shape ``(n,)``) or per member (the shape of
    ``ys``). A 1-D ``ys`` is a single curve.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like of shape (n,) or (*batch, n)
    ys : array_like of shape (n,) or (*batch, n)
    label : str, optional
        Legend label, given to the first member only.
    kind : {"theory", "simulation", "data"}, default="theory"
    color : str, optional
        One colour for all members; by default the next of the cycle.
    band : array_like, optional
        Half-width per member, the shape of ``ys`` (or a broadcastable one).
    **kwargs
        Passed to :func:`plot_curve`. With more than one member lines are made
        semi-transparent unless ``alpha`` is given.

    Returns
    -------
    list of matplotlib.lines.Line2D
        One per member.
    """
    yarr = as_numpy(ys, name="ys")
    xarr = as_numpy(x, name="x")
    if yarr.ndim == 0:
        raise ValueError(f"ys must have at least one axis; got shape {yarr.shape}.")
    n = yarr.shape[-1]
    flat_y = yarr.reshape(-1, n)
    if xarr.shape == (n,):
        flat_x = np.broadcast_to(xarr, flat_y.shape)
    elif xarr.shape == yarr.shape:
        flat_x = xarr.reshape(-1, n)
    else:
        raise ValueError(
            f"x must have shape ({n},) or the shape of ys {yarr.shape}; got "
            f"{xarr.shape}."
        )
    if band is not None:
        flat_band = np.broadcast_to(as_numpy(band, name="band"), yarr.shape).reshape(
            -1, n
        )
    m = flat_y.shape[0]
    if m > 1 and "alpha" not in kwargs:
        kwargs["alpha"] = max(0.3, 1.0 / np.sqrt(m))
    lines: list[Line2D] = []
    for i in range(m):
        line = plot_curve(
            ax,
            flat_x[i],
            flat_y[i],
            band=None if band is None else flat_band[i],
            label=label if i == 0 else "_nolegend_",
            kind=kind,
            color=color,
            **kwargs,
        )
        color = line.get_color()  # type: ignore[assignment]
        lines.append(line)
    return lines


def plot_reference(
    ax: Axes,
    value: float,
    *,
    axis: Literal["x", "y"] = "x",
    label: str | None = None,
    color: str = "0.35",
    **kwargs: Any,
) -> Line2D:
    """A dotted reference line at ``x = value`` (or ``y = value``).

    For thresholds and predicted critical values (``axis="x"`` draws a
    vertical line). Returns the line.
    """
    style: dict[str, Any] = {"color": color, "linestyle": ":", "linewidth": 1.2}
    style |= kwargs
    if axis == "x":
        return ax.axvline(float(value), label=label, **style)
    if axis == "y":
        return ax.axhline(float(value), label=label, **style)
    raise ValueError(f"axis must be 'x' or 'y'; got {axis!r}.")


def _grid_values(x: Any, y: Any, z: Any, name: str) -> tuple[np.ndarray, ...]:
    xs, ys = as_numpy(x, name="x"), as_numpy(y, name="y")
    zs = as_numpy(z, name=name)
    if xs.ndim != 1 or ys.ndim != 1 or zs.shape != (xs.size, ys.size):
        raise ValueError(
            f"{name} must have shape (len(x), len(y)) = ({xs.size}, {ys.size}) "
            f"with 1-D x and y; got x {xs.shape}, y {ys.shape}, {name} {zs.shape}."
        )
    return xs, ys, zs


def heatmap(
    ax: Axes,
    x: Any,
    y: Any,
    z: Any,
    *,
    cmap: str = "viridis",
    colorbar: bool = True,
    label: str | None = None,
    log: bool = False,
    **kwargs: Any,
) -> QuadMesh:
    """A heatmap of ``z[i, j]`` at ``(x[i], y[j])`` (note: x varies along rows).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like of shape (nx,)
    y : array_like of shape (ny,)
    z : array_like of shape (nx, ny)
    cmap : str, default="viridis"
    colorbar : bool, default=True
        Add a colour bar labelled ``label``.
    label : str, optional
        What ``z`` is (with units), for the colour bar.
    log : bool, default=False
        Logarithmic colour scale (positive ``z`` only).
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.pcolormesh`.

    Returns
    -------
    matplotlib.collections.QuadMesh
    """
    from matplotlib.colors import LogNorm

    xs, ys, zs = _grid_values(x, y, z, "z")
    norm = LogNorm() if log else None
    mesh = ax.pcolormesh(
        xs, ys, zs.T, shading="auto", cmap=cmap, norm=norm, rasterized=True, **kwargs
    )
    if colorbar and ax.figure is not None:
        ax.figure.colorbar(mesh, ax=ax, label=label)
    return mesh


def plot_region(
    ax: Axes,
    x: Any,
    y: Any,
    inside: Any,
    *,
    label: str | None = None,
    color: str | None = None,
    alpha: float = 0.3,
) -> QuadContourSet:
    """Shade a 2-D region given as a boolean mask on a grid, with its outline.

    For confidence sets and predicted phases: ``inside[i, j]`` says whether
    ``(x[i], y[j])`` belongs to the region.

    Returns
    -------
    matplotlib.contour.QuadContourSet
        The filled region (a legend entry is added when ``label`` is given).
    """
    xs, ys, mask = _grid_values(x, y, inside, "inside")
    if color is None:
        color = PALETTE[0]
    filled = ax.contourf(
        xs, ys, mask.T.astype(float), levels=[0.5, 1.5], colors=[color], alpha=alpha
    )
    ax.contour(
        xs, ys, mask.T.astype(float), levels=[0.5], colors=[color], linewidths=1.2
    )
    if label is not None:  # a contour set has no legend entry of its own
        ax.fill_between([], [], [], color=color, alpha=alpha, label=label)
    return filled


def plot_boundary(
    ax: Axes,
    x: Any,
    y: Any,
    z: Any,
    *,
    level: float = 0.5,
    label: str | None = None,
    color: str = "white",
    linestyle: str = "-",
    linewidth: float = 2.0,
) -> QuadContourSet:
    """The contour ``z = level`` of ``z[i, j]`` at ``(x[i], y[j])``.

    For a predicted phase boundary drawn over a simulated heatmap (``z`` a
    0/1 prediction with ``level=0.5``). A legend entry is added when
    ``label`` is given. Returns the contour set.
    """
    xs, ys, zs = _grid_values(x, y, z, "z")
    cs = ax.contour(
        xs,
        ys,
        zs.T.astype(float),
        levels=[level],
        colors=[color],
        linestyles=[linestyle],
        linewidths=[linewidth],
    )
    if label is not None:
        ax.plot(
            [], [], color=color, linestyle=linestyle, linewidth=linewidth, label=label
        )
    return cs


def finish_axes(
    ax: Axes,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    legend: bool = True,
    grid: bool = True,
) -> Axes:
    """Label the axes, set log scales, add a light grid and the legend.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    xlabel, ylabel : str
        Axis labels, with units in brackets where they apply
        (``"time t [SGF units]"``).
    title : str, optional
    logx, logy : bool, default=False
        Logarithmic axes.
    legend : bool, default=True
        Draw a legend when at least one artist is labelled.
    grid : bool, default=True
        A light grid (off for heatmaps).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title, fontsize="medium")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if grid:
        ax.grid(True, alpha=0.3, linewidth=0.6)
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize="small", frameon=False)
    return ax


def members_or_error(y: Any, *, name: str, max_ndim: int = 1) -> np.ndarray:
    """``y`` as NumPy, checking it has at most ``max_ndim`` axes per member.

    Helper for ``.plot`` methods that cannot draw a batch: a result stacked
    by :func:`jax.vmap` has extra leading axes, and this raises a
    ``ValueError`` that says how to pick one member.
    """
    arr = as_numpy(y, name=name)
    if arr.ndim > max_ndim:
        raise ValueError(
            f"{name} has shape {arr.shape}: this looks like a batched result "
            f"(stacked by jax.vmap) and this plot draws one member; pick one with "
            "jax.tree.map(lambda a: a[i], result)."
        )
    return arr


def panel_axes(
    ax: Axes | Sequence[Axes] | None,
    n: int,
    *,
    width: float = 4.0,
    height: float = 3.2,
) -> tuple[Figure, list[Axes]]:
    """``n`` Axes for a multi-panel plot: ``ax`` (a sequence of ``n``) or new.

    Returns the figure and the list of Axes; a new figure is made with pyplot
    (it shows in Jupyter), one row of ``n`` panels.
    """
    if ax is None:
        fig, axes = new_figure(n, 1, width=width, height=height, pyplot=True)
        return fig, list(axes.flat)
    from matplotlib.axes import Axes as _Axes

    axes_list = [ax] if isinstance(ax, _Axes) else list(ax)
    if len(axes_list) != n or not all(isinstance(a, _Axes) for a in axes_list):
        raise TypeError(
            f"ax must be None or a sequence of {n} matplotlib Axes for this "
            f"{n}-panel plot; got {ax!r}."
        )
    root = axes_list[0].get_figure(root=True)
    assert root is not None  # an Axes in a list always sits on a figure
    return root, axes_list


def _mean_se(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = y.reshape(-1, y.shape[-1])
    n = flat.shape[0]
    mean = flat.mean(axis=0)
    se = flat.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    return mean, se


def plot_named_curves(
    ax: Axes,
    x: Any,
    curves: dict[str, Any],
    *,
    kind: Kind = "theory",
    label: str | None = None,
    colors: dict[str, str] | None = None,
    color: str | None = None,
    average: bool = False,
    **kwargs: Any,
) -> list[Line2D]:
    """Draw several named curves of one result, each in a fixed colour.

    The colour of a curve comes from its name (``colors[name]``), so that a
    theory result and its simulation drawn on one Axes pair up: the same
    colour, a line for the theory and markers for the simulation.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like of shape (n,) or (*batch, n)
        The shared abscissa.
    curves : dict of str to array_like or (array_like, array_like)
        Name to ``y`` or to ``(y, half_width)``; ``y`` of shape ``(n,)`` or
        ``(*batch, n)`` (a result stacked by :func:`jax.vmap`). A value of
        ``None`` is skipped.
    kind : {"theory", "simulation", "data"}, default="theory"
    label : str, optional
        Appended to every legend entry: ``"test loss (DMFT)"``.
    colors : dict of str to str, optional
        Colour per name; names not in it take the Axes' next colour.
    color : str, optional
        One colour for every curve (overrides ``colors``).
    average : bool, default=False
        For a batch: draw the mean over members with a +-1 standard-error
        band instead of one curve per member.
    **kwargs
        Passed to :func:`plot_curve`.

    Returns
    -------
    list of matplotlib.lines.Line2D
        Every line drawn.
    """
    lines: list[Line2D] = []
    for name, value in curves.items():
        if value is None:
            continue
        y, band = value if isinstance(value, tuple) else (value, None)
        y = as_numpy(y, name=name)
        text = f"{name} ({label})" if label else name
        col = color or (colors or {}).get(name)
        xs = as_numpy(x, name="x")
        if average and y.ndim > 1:
            if xs.ndim > 1:
                flat = xs.reshape(-1, xs.shape[-1])
                if not np.allclose(flat, flat[0]):
                    raise ValueError(
                        "average=True needs the same abscissa for every member; "
                        "the members' times differ."
                    )
                xs = flat[0]
            mean, se = _mean_se(y)
            lines.append(
                plot_curve(
                    ax, xs, mean, band=se, label=text, kind=kind, color=col, **kwargs
                )
            )
            continue
        if band is not None:
            band = as_numpy(band, name=f"{name} band")
            if not np.any(band):
                band = None
        lines += plot_members(
            ax, xs, y, band=band, label=text, kind=kind, color=col, **kwargs
        )
    return lines

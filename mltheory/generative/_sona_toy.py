r"""A toy conditional GAN on a ring of Gaussians: SONA against projection baselines.

Data: :math:`M = C \cdot k` Gaussian modes on a circle of radius :math:`r`
(standard deviation :math:`\sigma`); mode :math:`m` sits at angle
:math:`2\pi m / M` and belongs to class :math:`m \bmod C`, so each class owns
:math:`k` modes interleaved with the others' (with the defaults, 4 classes own
2 opposite modes each out of 8). Naturalness (being on some mode) does not
imply alignment (being on a mode of the right class).

Networks: an MLP generator :math:`G(z \oplus \mathrm{onehot}(y))` and an MLP
feature extractor :math:`h(x) \in \mathbb{R}^D` (leaky ReLU, slope 0.2), both
plain pytrees. Training alternates one discriminator and one generator Adam
step (:math:`\beta_1 = 0`, :math:`\beta_2 = 0.99`, as in the SAN reference
code) inside one :func:`jax.lax.scan`; several seeds run as one
:func:`jax.vmap`.
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, KeyArray, PyTree
from mltheory._src._validation import (
    as_array,
    check_float_dtype,
    check_in,
    check_key,
    check_on_divergence,
    check_scalar,
    describe,
)
from mltheory.generative._sona_head import (
    ProjectionHeadParams,
    SonaHeadParams,
    projection_discriminator_apply,
    san_projection_apply,
    sona_apply,
)
from mltheory.generative._sona_losses import (
    SonaDiscriminatorParams,
    _san_loss,
    sona_discriminator_loss,
    sona_generator_loss,
)
from mltheory.generative._sona_weighting import LossWeighting, _check_weighting
from mltheory.numerics import handle_divergence, update_first_bad_step

__all__ = [
    "ToyGANConfig",
    "ToyGANMetrics",
    "ToyGANResult",
    "evaluate",
    "feature_apply",
    "generate",
    "generator_apply",
    "init_feature_extractor",
    "init_generator",
    "mode_centers",
    "sample_data",
    "train",
]

Method = Literal["sona", "pd", "san_pd"]
METHODS: tuple[str, ...] = ("sona", "pd", "san_pd")


@dataclasses.dataclass(frozen=True)
class ToyGANConfig:
    r"""The toy task and its networks (all fields static; hashable).

    Parameters
    ----------
    num_classes : int, default=4
        :math:`C \ge 2`.
    modes_per_class : int, default=2
        :math:`k \ge 1` modes per class (:math:`M = Ck` modes in all).
    radius : float, default=2.0
        Radius of the ring.
    sigma : float, default=0.05
        Standard deviation of each mode.
    latent_dim : int, default=8
        Width of the generator's noise :math:`z \sim N(0, I)`.
    hidden : int, default=128
        Width of the hidden layers (generator and feature extractor).
    depth : int, default=2
        Number of hidden layers.
    feature_dim : int, default=64
        :math:`D`, the width of the features :math:`h(x)`.
    batch_size : int, default=256
        Real (and generated) samples per step.
    learning_rate : float, default=1e-3
        Adam step size of both players.
    b1 : float, default=0.0
        Adam :math:`\beta_1`.
    b2 : float, default=0.99
        Adam :math:`\beta_2`.
    ema_decay : float, default=0.0
        Decay of an exponential moving average of the generator's parameters
        (0: off). When on, the returned generator and every evaluation use
        the average, as is common for GAN generators.
    dtype : str or dtype, optional
        Floating dtype of the parameters and data (default: JAX's default
        float, float64 under ``jax_enable_x64``).

    Raises
    ------
    ValueError
        If a size is < 1 (``num_classes < 2``, ``feature_dim < 2``), a scale
        is not positive, or ``b1``/``b2`` is outside ``[0, 1)``.

    See Also
    --------
    train : Uses it.

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> cfg = sona_toy.ToyGANConfig(hidden=32)
    >>> cfg.num_classes * cfg.modes_per_class
    8
    """

    num_classes: int = 4
    modes_per_class: int = 2
    radius: float = 2.0
    sigma: float = 0.05
    latent_dim: int = 8
    hidden: int = 128
    depth: int = 2
    feature_dim: int = 64
    batch_size: int = 256
    learning_rate: float = 1e-3
    b1: float = 0.0
    b2: float = 0.99
    ema_decay: float = 0.0
    dtype: str | None = None

    def __post_init__(self) -> None:
        check_scalar(self.num_classes, name="num_classes", kind=int, lower=2)
        check_scalar(self.modes_per_class, name="modes_per_class", kind=int, lower=1)
        check_scalar(self.latent_dim, name="latent_dim", kind=int, lower=1)
        check_scalar(self.hidden, name="hidden", kind=int, lower=1)
        check_scalar(self.depth, name="depth", kind=int, lower=1)
        check_scalar(self.feature_dim, name="feature_dim", kind=int, lower=2)
        check_scalar(self.batch_size, name="batch_size", kind=int, lower=2)
        for name in ("radius", "sigma", "learning_rate"):
            check_scalar(
                getattr(self, name), name=name, lower=0.0, lower_inclusive=False
            )
        for name in ("b1", "b2"):
            check_scalar(
                getattr(self, name),
                name=name,
                lower=0.0,
                upper=1.0,
                upper_inclusive=False,
            )
        check_scalar(
            self.ema_decay,
            name="ema_decay",
            lower=0.0,
            upper=1.0,
            upper_inclusive=False,
        )
        if self.dtype is not None:
            dt = check_float_dtype(self.dtype, name="dtype")
            object.__setattr__(self, "dtype", str(np.dtype(dt)))

    @property
    def float_dtype(self) -> Any:
        """The floating dtype in use."""
        return jnp.result_type(float) if self.dtype is None else jnp.dtype(self.dtype)

    @property
    def num_modes(self) -> int:
        """:math:`M = C k`."""
        return self.num_classes * self.modes_per_class


@pytree_dataclass
class ToyGANMetrics:
    r"""Quality and alignment of a trained toy GAN (one value per seed when batched).

    Parameters
    ----------
    naturalness : jax.Array
        Fraction of generated points within :math:`3\sigma` of some mode.
    mode_coverage : jax.Array of int
        Number of modes hit by at least 1% of the generated points (a hit:
        within :math:`3\sigma`); at most :math:`M`.
    alignment_accuracy : jax.Array
        Fraction of :math:`G(z, y)` whose nearest mode belongs to class
        :math:`y`.
    discriminator_alignment_accuracy : jax.Array
        On fresh real points, the fraction with :math:`\arg\max_y f(x, y)`
        equal to the true class.
    mode_fraction : jax.Array of shape (..., M)
        Fraction of generated points within :math:`3\sigma` of each mode.

    See Also
    --------
    evaluate : Computes them.

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> m = sona_toy.ToyGANMetrics(jnp.array(1.0), jnp.array(8), jnp.array(1.0),
    ...                            jnp.array(1.0), jnp.full(8, 0.125))
    >>> int(m.mode_coverage)
    8
    """

    naturalness: Array
    mode_coverage: Array
    alignment_accuracy: Array
    discriminator_alignment_accuracy: Array
    mode_fraction: Array


@pytree_dataclass
class ToyGANResult:
    r"""A trained toy conditional GAN (a leading seed axis when batched).

    Parameters
    ----------
    generator : pytree
        Generator MLP parameters (list of ``(W, b)``).
    discriminator : pytree
        :class:`~mltheory.generative.sona.SonaDiscriminatorParams` for
        ``"sona"``; ``(phi, ProjectionHeadParams)`` for the baselines.
    history : dict of str to jax.Array
        Per step (shape ``(..., steps)``): ``"d_loss"``, ``"g_loss"``; for
        SONA also ``"san"``, ``"bt_c"``, ``"bt_m"`` and ``"scales"``
        (``(..., steps, 3)``). Per evaluation (shape ``(..., n_evals)``):
        ``"eval_step"`` and the four metrics of :class:`ToyGANMetrics`.
    first_bad_step : jax.Array of int
        The first step whose losses were not finite, ``-1`` if none (one per
        seed when batched).
    method : str
        ``"sona"``, ``"pd"`` or ``"san_pd"``.
    config : ToyGANConfig
        The task and networks.
    steps : int
        The number of training steps.

    See Also
    --------
    train : Produces it.
    evaluate : Its metrics.

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> cfg = sona_toy.ToyGANConfig(hidden=8, depth=1, feature_dim=4,
    ...                             batch_size=16, latent_dim=2)
    >>> res = sona_toy.train(jax.random.key(0), steps=6, config=cfg, eval_every=3)
    >>> res.history["d_loss"].shape, bool(res.diverged)
    ((6,), False)
    """

    generator: PyTree
    discriminator: PyTree
    history: dict[str, Array]
    first_bad_step: Array
    method: str = static_field(default="sona")
    config: ToyGANConfig = static_field(default_factory=ToyGANConfig)
    steps: int = static_field(default=0)

    @property
    def diverged(self) -> Array:
        """True where a seed's losses became non-finite."""
        return jnp.asarray(self.first_bad_step) >= 0

    @property
    def num_seeds(self) -> int | None:
        """The number of seeds of a batched result, ``None`` for a single run."""
        fb = jnp.asarray(self.first_bad_step)
        return None if fb.ndim == 0 else int(fb.shape[0])

    def _summary_items(self) -> dict[str, Any]:
        return {"method": self.method, "steps": self.steps, "seeds": self.num_seeds}

    def member(self, i: int) -> ToyGANResult:
        """Seed ``i`` of a batched result.

        Parameters
        ----------
        i : int
            The seed's index.

        Returns
        -------
        ToyGANResult
            The unbatched result of that seed.

        Raises
        ------
        ValueError
            If the result is not batched or ``i`` is out of range.
        """
        n = self.num_seeds
        if n is None:
            raise ValueError(
                "member() needs a batched result (train with a batch of keys)."
            )
        i = check_scalar(i, name="i", kind=int, lower=-n, upper=n - 1)
        return jax.tree_util.tree_map(lambda a: a[i], self)

    def _truncate_records(self, n_keep: int) -> ToyGANResult:
        """The divergence policy's hook: keep the first ``n_keep`` steps.

        Per-step records are cut to their first ``n_keep`` entries and the
        evaluations to those made before step ``n_keep``.
        """
        lead = (slice(None),) * jnp.ndim(self.first_bad_step)
        ev = np.asarray(self.history["eval_step"])
        k = int(np.sum(ev.reshape(-1, ev.shape[-1])[0] < n_keep))
        hist = {
            name: value[(*lead, slice(0, n_keep if name in _PER_STEP else k))]
            for name, value in self.history.items()
        }
        return dataclasses.replace(self, history=hist)

    def plot(
        self,
        ax: Any = None,
        *,
        what: Literal["samples", "history"] = "samples",
        key: KeyArray | None = None,
        n: int = 512,
        member: int = 0,
    ) -> Any:
        """Draw generated points by condition, or the metrics during training.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw (a new figure when omitted).
        what : {"samples", "history"}, default="samples"
            ``"samples"``: generated points coloured by their condition over
            the mode centres (crosses, coloured by owning class), for one
            seed. ``"history"``: the fraction of modes covered and the
            generator alignment accuracy at each evaluation, one line per
            seed.
        key : jax.Array, optional
            Key for the generated points (default ``jax.random.key(0)``).
        n : int, default=512
            Number of generated points.
        member : int, default=0
            Which seed of a batched result (``"samples"`` only).

        Returns
        -------
        matplotlib.axes.Axes
            The axes.

        Raises
        ------
        ValueError
            If ``what`` is unknown or ``member`` out of range.
        TypeError
            If the result holds traced values (inside :func:`jax.jit`).
        """
        from mltheory._src._plotting import (
            PALETTE,
            as_numpy,
            axes_or_new,
            finish_axes,
            plot_curve,
            plot_members,
        )

        check_in(what, name="what", options=("samples", "history"))
        cfg = self.config
        ax = axes_or_new(ax)
        if what == "history":
            t = as_numpy(self.history["eval_step"], name="eval_step").reshape(
                -1, np.shape(self.history["eval_step"])[-1]
            )[0]
            cov = as_numpy(self.history["mode_coverage"], name="mode_coverage")
            plot_members(
                ax,
                t,
                cov / cfg.num_modes,
                label="modes covered (fraction)",
                color=PALETTE[0],
                kind="simulation",
                linestyle="-",
            )
            plot_members(
                ax,
                t,
                as_numpy(self.history["alignment_accuracy"], name="alignment_accuracy"),
                label="generator alignment accuracy",
                color=PALETTE[1],
                kind="simulation",
                linestyle="-",
            )
            ax.set_ylim(-0.02, 1.02)
            return finish_axes(
                ax,
                xlabel="training step",
                ylabel="fraction",
                title=f"{self.method}: during training",
            )
        res = self if self.num_seeds is None else self.member(member)
        k = jax.random.key(0) if key is None else key
        xj, yj = generate(res, k, check_scalar(n, name="n", kind=int, lower=1))
        x, y = as_numpy(xj, name="x"), as_numpy(yj, name="y")
        centers = as_numpy(mode_centers(cfg), name="centers")
        owner = np.arange(cfg.num_modes) % cfg.num_classes
        for c in range(cfg.num_classes):
            color = PALETTE[c % len(PALETTE)]
            sel = y == c
            plot_curve(
                ax, x[sel, 0], x[sel, 1], kind="data", color=color, label=f"y = {c}"
            )
            ax.plot(
                centers[owner == c, 0],
                centers[owner == c, 1],
                "x",
                color=color,
                markersize=9,
                markeredgewidth=2,
            )
        lim = 1.3 * cfg.radius
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        return finish_axes(
            ax,
            xlabel="$x_1$",
            ylabel="$x_2$",
            title=f"{self.method}: generated points by condition",
        )


_PER_STEP = ("d_loss", "g_loss", "san", "bt_c", "bt_m", "scales")
_PER_EVAL = (
    "eval_step",
    "naturalness",
    "mode_coverage",
    "alignment_accuracy",
    "discriminator_alignment_accuracy",
)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


def _check_config(config: Any) -> ToyGANConfig:
    if config is None:
        return ToyGANConfig()
    if not isinstance(config, ToyGANConfig):
        raise TypeError(f"config must be a ToyGANConfig; got {describe(config)}.")
    return config


def mode_centers(config: ToyGANConfig | None = None) -> Array:
    r"""The mode centres on the ring; mode :math:`m` belongs to class :math:`m \bmod C`.

    Parameters
    ----------
    config : ToyGANConfig, optional
        The task (default :class:`ToyGANConfig`).

    Returns
    -------
    jax.Array of shape (M, 2)
        :math:`r(\cos 2\pi m/M, \sin 2\pi m/M)`.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`ToyGANConfig`.

    See Also
    --------
    sample_data

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> print(sona_toy.mode_centers()[2].round(6))
    [0. 2.]
    """
    cfg = _check_config(config)
    m = cfg.num_modes
    angles = 2.0 * jnp.pi * jnp.arange(m, dtype=cfg.float_dtype) / m
    return cfg.radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)


def sample_data(
    key: KeyArray, n: int, config: ToyGANConfig | None = None
) -> tuple[Array, Array]:
    r"""Draw labelled points: :math:`y`, then one of its modes, then Gaussian noise.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    n : int
        Number of points.
    config : ToyGANConfig, optional
        The task.

    Returns
    -------
    x : jax.Array of shape (n, 2)
        The points.
    y : jax.Array of int32, shape (n,)
        Their classes.

    Raises
    ------
    ValueError
        If ``n < 1``.
    TypeError
        If ``key`` is not a PRNG key or ``config`` not a :class:`ToyGANConfig`.

    See Also
    --------
    mode_centers

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> x, y = sona_toy.sample_data(jax.random.key(0), 5)
    >>> x.shape, y.shape
    ((5, 2), (5,))
    """
    key = check_key(key)
    n = check_scalar(n, name="n", kind=int, lower=1)
    cfg = _check_config(config)
    return _sample_data(key, n, cfg)


# Randomness: every compiled program draws its uniforms in one call (one
# counter-based generator per chunk of steps) and maps them to integers and
# Gaussians here; each draw of jax.random compiles its own generator loop, and
# these dominated the training program's compile time.


def _uniforms(key: KeyArray, shape: tuple[int, ...], dt: Any) -> Array:
    """Uniform draws on the open interval (-1, 1)."""
    # the float just above -1 in the target dtype (computed in float64 and
    # then cast it would round back to -1 in float32, and erf_inv(-1) = -inf)
    lo = np.nextafter(np.array(-1.0, dt), np.array(0.0, dt))
    return jax.random.uniform(key, shape, dt, minval=lo, maxval=1.0)


def _to_int(u: Array, n: int) -> Array:
    """A uniform on (-1, 1) to an integer uniform on {0, ..., n-1}."""
    return jnp.minimum(jnp.floor((u + 1.0) * (0.5 * n)), n - 1).astype(jnp.int32)


def _to_normal(u: Array) -> Array:
    """A uniform on (-1, 1) to a standard Gaussian (as jax.random.normal does)."""
    return jnp.sqrt(2.0).astype(u.dtype) * jax.lax.erf_inv(u)


def _data_from_uniforms(u: Array, cfg: ToyGANConfig) -> tuple[Array, Array]:
    """Labelled points from 4 uniforms per point, ``u`` of shape (n, 4)."""
    y = _to_int(u[:, 0], cfg.num_classes)
    j = _to_int(u[:, 1], cfg.modes_per_class)
    centers = mode_centers(cfg).astype(u.dtype)
    x = centers[y + cfg.num_classes * j] + cfg.sigma * _to_normal(u[:, 2:4])
    return x, y


def _sample_data(key: KeyArray, n: int, cfg: ToyGANConfig) -> tuple[Array, Array]:
    return _data_from_uniforms(_uniforms(key, (n, 4), cfg.float_dtype), cfg)


# --------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------


def _mlp_init(key: KeyArray, sizes: list[int], dt: Any) -> list[tuple[Array, Array]]:
    # one draw for all layers (see the note on randomness above)
    counts = [a * b for a, b in itertools.pairwise(sizes)]
    flat = jax.random.normal(key, (sum(counts),), dt)
    out, start = [], 0
    for a, b, n in zip(sizes[:-1], sizes[1:], counts, strict=True):
        w = flat[start : start + n].reshape(a, b) * float(np.sqrt(2.0 / a))
        out.append((w, jnp.zeros((b,), dt)))
        start += n
    return out


def _mlp_apply(params: Any, x: Array, final_activation: bool) -> Array:
    n = len(params)
    for i, (w, b) in enumerate(params):
        x = x @ w + b[None, :]
        if i < n - 1 or final_activation:
            x = jax.nn.leaky_relu(x, 0.2)
    return x


def _sn_init(key: KeyArray, sizes: list[int], dt: Any) -> list[dict[str, Array]]:
    kw, ku = jax.random.split(key)
    layers = _mlp_init(kw, sizes, dt)
    flat = jax.random.normal(ku, (sum(sizes[1:]),), dt)
    out, start = [], 0
    for w, b in layers:
        u = flat[start : start + w.shape[1]]
        out.append({"w": w, "b": b, "u": u / jnp.linalg.norm(u)})
        start += w.shape[1]
    return out


def _power_step(w: Array, u: Array) -> tuple[Array, Array]:
    """One power iteration for the top singular pair of w (a x b), u in R^b."""
    v = w @ u
    v = v / jnp.maximum(jnp.linalg.norm(v), 1e-12)
    u = w.T @ v
    return v, u / jnp.maximum(jnp.linalg.norm(u), 1e-12)


def _sn_apply(params: Any, x: Array) -> Array:
    n = len(params)
    sg = jax.lax.stop_gradient
    for i, layer in enumerate(params):
        w = layer["w"]
        v, u = _power_step(sg(w), sg(layer["u"]))
        sigma = v @ w @ u
        x = x @ (w / sigma) + layer["b"][None, :]
        if i < n - 1:
            x = jax.nn.leaky_relu(x, 0.2)
    return x


def _sn_refresh(params: Any) -> Any:
    """Advance each layer's stored power-iteration vector by one step."""
    return [{**layer, "u": _power_step(layer["w"], layer["u"])[1]} for layer in params]


def init_generator(key: KeyArray, config: ToyGANConfig | None = None) -> PyTree:
    r"""Initialise the generator MLP :math:`(z \oplus \mathrm{onehot}(y)) \mapsto x`.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    config : ToyGANConfig, optional
        Sizes.

    Returns
    -------
    list of (W, b)
        He-initialised layers ``latent_dim + C -> hidden (x depth) -> 2``.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key.

    See Also
    --------
    generator_apply

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> [w.shape for w, _ in sona_toy.init_generator(jax.random.key(0))]
    [(12, 128), (128, 128), (128, 2)]
    """
    cfg = _check_config(config)
    key = check_key(key)
    sizes = [cfg.latent_dim + cfg.num_classes, *[cfg.hidden] * cfg.depth, 2]
    return _mlp_init(key, sizes, cfg.float_dtype)


def init_feature_extractor(key: KeyArray, config: ToyGANConfig | None = None) -> PyTree:
    r"""Initialise the feature extractor MLP :math:`x \mapsto h(x) \in \mathbb{R}^D`.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    config : ToyGANConfig, optional
        Sizes.

    Returns
    -------
    list of (W, b)
        He-initialised layers ``2 -> hidden (x depth) -> feature_dim``.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key.

    See Also
    --------
    feature_apply

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> phi = sona_toy.init_feature_extractor(jax.random.key(0))
    >>> [layer["w"].shape for layer in phi]
    [(2, 128), (128, 128), (128, 64)]
    """
    cfg = _check_config(config)
    key = check_key(key)
    return _sn_init(
        key, [2, *[cfg.hidden] * cfg.depth, cfg.feature_dim], cfg.float_dtype
    )


def feature_apply(params: PyTree, x: ArrayLike) -> Array:
    r"""The feature extractor: a spectrally normalised leaky-ReLU MLP (a ``phi_apply``).

    Parameters
    ----------
    params : list of dict
        From :func:`init_feature_extractor`: per layer ``"w"``, ``"b"`` and
        the power-iteration vector ``"u"``. Each weight is divided by its
        largest singular value, estimated by one power-iteration step from
        ``"u"`` (held fixed: gradients do not flow through the estimate's
        vectors, as in spectral normalisation).
    x : array_like of shape (B, 2)
        Points.

    Returns
    -------
    jax.Array of shape (B, D)
        Features (the last layer is linear).

    Raises
    ------
    ValueError
        If ``x`` is not of shape ``(B, 2)``, or holds NaN/inf (checked only
        outside :func:`jax.jit`).
    TypeError
        If ``params`` is not a list of layer dicts or ``x`` is complex.

    See Also
    --------
    init_feature_extractor

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> phi = sona_toy.init_feature_extractor(jax.random.key(0))
    >>> sona_toy.feature_apply(phi, jnp.zeros((3, 2))).shape
    (3, 64)
    """
    if not isinstance(params, list | tuple) or not all(
        isinstance(layer, dict) and {"w", "b", "u"} <= set(layer) for layer in params
    ):
        raise TypeError(
            "params must be a list of layer dicts with keys 'w', 'b', 'u' (see "
            f"init_feature_extractor); got {describe(params)}."
        )
    return _sn_apply_jit(params, _check_points(x, "x", 2))


def _check_points(x: Any, name: str, width: int) -> Array:
    if jnp.iscomplexobj(x):
        raise TypeError(f"{name} must be real; got {describe(x)}.")
    arr = as_array(x, name=name, ndim=2, shape_hint=f"(batch, {width})")
    if arr.shape[1] != width:
        raise ValueError(
            f"{name} must have {width} columns; got shape {tuple(arr.shape)}."
        )
    return arr


_sn_apply_jit = jax.jit(lambda params, x: _sn_apply(params, x))


def generator_apply(
    params: PyTree, z: ArrayLike, y: ArrayLike, num_classes: int
) -> Array:
    r"""The generator :math:`G(z, y)`: an MLP on :math:`z \oplus \mathrm{onehot}(y)`.

    Parameters
    ----------
    params : list of (W, b)
        From :func:`init_generator`.
    z : array_like of shape (B, latent_dim)
        Noise.
    y : array_like of int of shape (B,)
        Conditions.
    num_classes : int
        :math:`C` (the width of the one-hot code).

    Returns
    -------
    jax.Array of shape (B, 2)
        Generated points.

    Raises
    ------
    ValueError
        If ``z`` is not 2-D, ``y`` not 1-D of the same length, ``num_classes
        < 1``, or ``z`` holds NaN/inf (checked only outside :func:`jax.jit`).
    TypeError
        If ``params`` is not a list of ``(W, b)`` pairs or ``z`` is complex.

    See Also
    --------
    init_generator, generate

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> g = sona_toy.init_generator(jax.random.key(0))
    >>> sona_toy.generator_apply(g, jnp.zeros((3, 8)), jnp.array([0, 1, 2]), 4).shape
    (3, 2)
    """
    if not isinstance(params, list | tuple) or not all(
        isinstance(layer, list | tuple) and len(layer) == 2 for layer in params
    ):
        raise TypeError(
            "params must be a list of (W, b) pairs (see init_generator); got "
            f"{describe(params)}."
        )
    c = check_scalar(num_classes, name="num_classes", kind=int, lower=1)
    if jnp.iscomplexobj(z):
        raise TypeError(f"z must be real; got {describe(z)}.")
    zz = as_array(z, name="z", ndim=2, shape_hint="(batch, latent_dim)")
    yy = jnp.asarray(y)
    if yy.ndim != 1 or yy.shape[0] != zz.shape[0]:
        raise ValueError(
            f"y must be 1-D with one condition per row of z ({zz.shape[0]}); got "
            f"shape {tuple(yy.shape)}."
        )
    return _generator_jit(params, zz, yy, c)


@partial(jax.jit, static_argnames=("num_classes",))
def _generator_jit(params: PyTree, z: Array, y: Array, num_classes: int) -> Array:
    onehot = jax.nn.one_hot(y, num_classes, dtype=z.dtype)
    return _mlp_apply(params, jnp.concatenate([z, onehot], axis=-1), False)


def generate(result: ToyGANResult, key: KeyArray, n: int) -> tuple[Array, Array]:
    """Generated points of a trained (unbatched) toy GAN, conditions uniform.

    Parameters
    ----------
    result : ToyGANResult
        An unbatched result (use :meth:`ToyGANResult.member`).
    key : jax.Array
        A PRNG key.
    n : int
        Number of points.

    Returns
    -------
    x : jax.Array of shape (n, 2)
        Generated points.
    y : jax.Array of int32, shape (n,)
        Their conditions.

    Raises
    ------
    ValueError
        If ``result`` is batched or ``n < 1``.
    TypeError
        If ``result`` is not a :class:`ToyGANResult`.

    See Also
    --------
    evaluate

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> cfg = sona_toy.ToyGANConfig(hidden=8, depth=1, feature_dim=4,
    ...                             batch_size=16, latent_dim=2)
    >>> res = sona_toy.train(jax.random.key(0), steps=6, config=cfg, eval_every=3)
    >>> sona_toy.generate(res, jax.random.key(1), 10)[0].shape
    (10, 2)
    """
    if not isinstance(result, ToyGANResult):
        raise TypeError(f"result must be a ToyGANResult; got {describe(result)}.")
    if result.num_seeds is not None:
        raise ValueError(
            "result is batched over seeds; pick one with result.member(i)."
        )
    key = check_key(key)
    n = check_scalar(n, name="n", kind=int, lower=1)
    return _generate(result.generator, key, n, result.config)


def _generate(
    gen: PyTree, key: KeyArray, n: int, cfg: ToyGANConfig
) -> tuple[Array, Array]:
    dt = jnp.asarray(gen[0][0]).dtype
    u = _uniforms(key, (n, 1 + cfg.latent_dim), dt)
    y = _to_int(u[:, 0], cfg.num_classes)
    return generator_apply(gen, _to_normal(u[:, 1:]), y, cfg.num_classes), y


# --------------------------------------------------------------------------
# discriminators per method
# --------------------------------------------------------------------------


def _cast_floats(tree: PyTree, dt: Any) -> PyTree:
    return jax.tree_util.tree_map(
        lambda a: (
            a.astype(dt) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else a
        ),
        tree,
    )


def _init_all(
    key: KeyArray, method: str, cfg: ToyGANConfig, weighting: LossWeighting
) -> tuple[PyTree, PyTree]:
    """Generator and discriminator from one Gaussian draw.

    The laws are those of the public initialisers (see the note on randomness).
    """
    dt = cfg.float_dtype
    g_sizes = [cfg.latent_dim + cfg.num_classes, *[cfg.hidden] * cfg.depth, 2]
    p_sizes = [2, *[cfg.hidden] * cfg.depth, cfg.feature_dim]
    d, c = cfg.feature_dim, cfg.num_classes
    shapes: list[tuple[int, ...]] = [
        *[(a, b) for a, b in itertools.pairwise(g_sizes)],
        *[(a, b) for a, b in itertools.pairwise(p_sizes)],
        *[(b,) for b in p_sizes[1:]],
        (d,),
        (c, d),
    ]
    flat = jax.random.normal(key, (sum(int(np.prod(s)) for s in shapes),), dt)
    parts, start = [], 0
    for s in shapes:
        n = int(np.prod(s))
        parts.append(flat[start : start + n].reshape(s))
        start += n
    ng, npl = len(g_sizes) - 1, len(p_sizes) - 1
    gen = [
        (w * float(np.sqrt(2.0 / w.shape[0])), jnp.zeros((w.shape[1],), dt))
        for w in parts[:ng]
    ]
    phi = [
        {
            "w": w * float(np.sqrt(2.0 / w.shape[0])),
            "b": jnp.zeros((w.shape[1],), dt),
            "u": u / jnp.linalg.norm(u),
        }
        for w, u in zip(
            parts[ng : ng + npl], parts[ng + npl : ng + 2 * npl], strict=True
        )
    ]
    head_u, head_embed = parts[-2], parts[-1]
    if method == "sona":
        # the laws of sona_init (init_scale = 1)
        disc: PyTree = SonaDiscriminatorParams(
            phi=phi,
            head=SonaHeadParams(u=head_u, embed=head_embed),
            weighting=_cast_floats(weighting.init(3), dt),
        )
    else:
        # the laws of projection_init (init_scale = 1)
        disc = (
            phi,
            ProjectionHeadParams(
                w=head_u / float(np.sqrt(d)),
                embed=head_embed / float(np.sqrt(d)),
                b=jnp.zeros((), dt),
            ),
        )
    return gen, disc


def _refresh_disc(disc: PyTree, method: str) -> PyTree:
    if method == "sona":
        return disc._replace(phi=_sn_refresh(disc.phi))
    return (_sn_refresh(disc[0]), disc[1])


def _scores(method: str, disc: PyTree, x: Array, y: Array, san: Any = False) -> Array:
    """The full score f(x, y) of each method's discriminator.

    ``method="projection"`` serves both baselines with a traced flag ``san``
    (one compiled program for the two).
    """
    if method == "sona":
        h = feature_apply(disc.phi, x)
        return sona_apply(disc.head, h, y).f
    phi, head = disc
    h = feature_apply(phi, x)
    if method == "pd":
        return projection_discriminator_apply(head, h, y)
    if method == "san_pd":
        return san_projection_apply(head, h, y).f
    return jax.lax.cond(
        san,
        lambda hh: san_projection_apply(head, hh, y).f,
        lambda hh: projection_discriminator_apply(head, hh, y),
        h,
    )


def _class_scores(method: str, disc: PyTree, x: Array, num_classes: int) -> Array:
    """f(x, c) for every class c, shape (B, C).

    The two baselines differ only by the class-independent bias here, so their
    argmax over classes is the same and the PD form serves both.
    """
    m = "pd" if method == "projection" else method
    ys = jnp.arange(num_classes, dtype=jnp.int32)
    return jax.vmap(lambda c: _scores(m, disc, x, jnp.full(x.shape[:1], c)))(ys).T


def _pd_loss(head: ProjectionHeadParams, h: Array, y2: Array, n: int) -> Array:
    f = projection_discriminator_apply(head, h, y2)
    return jnp.mean(jax.nn.relu(1.0 - f[:n])) + jnp.mean(jax.nn.relu(1.0 + f[n:]))


def _san_pd_loss(head: ProjectionHeadParams, h: Array, y2: Array, n: int) -> Array:
    out = san_projection_apply(head, h, y2)
    return _san_loss(
        out.f_fun[:n], out.f_dir[:n], out.f_fun[n:], out.f_dir[n:], "hinge", 1.0
    )


def _d_loss(
    disc: PyTree,
    gen: PyTree,
    x_real: Array,
    y: Array,
    z: Array,
    key: KeyArray,
    method: str,
    cfg: ToyGANConfig,
    weighting: LossWeighting,
    mismatch: str,
    san: Any = False,
) -> tuple[Array, dict[str, Array]]:
    """The discriminator loss at noise ``z`` (``key``: SONA's mismatch pairing)."""
    x_fake = jax.lax.stop_gradient(generator_apply(gen, z, y, cfg.num_classes))
    if method == "sona":
        return sona_discriminator_loss(
            disc,
            feature_apply,
            x_real,
            y,
            x_fake,
            key,
            weighting=weighting,
            mismatch=mismatch,  # type: ignore[arg-type]
        )
    phi, head = disc
    h = feature_apply(phi, jnp.concatenate([x_real, x_fake]))
    n = x_real.shape[0]
    y2 = jnp.concatenate([y, y])
    if method == "pd":
        return _pd_loss(head, h, y2, n), {}
    if method == "san_pd":
        return _san_pd_loss(head, h, y2, n), {}
    loss = jax.lax.cond(
        san,
        lambda hh: _san_pd_loss(head, hh, y2, n),
        lambda hh: _pd_loss(head, hh, y2, n),
        h,
    )
    return loss, {}


def _g_loss(
    gen: PyTree,
    disc: PyTree,
    x_real: Array,
    y: Array,
    z: Array,
    method: str,
    cfg: ToyGANConfig,
    weighting: LossWeighting,
    san: Any = False,
) -> Array:
    """The generator loss at noise ``z``."""
    x_fake = generator_apply(gen, z, y, cfg.num_classes)
    if method == "sona":
        loss, _ = sona_generator_loss(
            disc, feature_apply, x_fake, y, x_real, weighting=weighting
        )
        return loss
    return -jnp.mean(_scores(method, disc, x_fake, y, san))


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------


def _sample_metrics(
    x: Array, y: Array, cfg: ToyGANConfig
) -> tuple[Array, Array, Array, Array]:
    """Naturalness, per-mode fractions, coverage and alignment of labelled points."""
    centers = mode_centers(cfg).astype(x.dtype)
    d2 = jnp.sum((x[:, None, :] - centers[None, :, :]) ** 2, axis=-1)  # (n, M)
    near = d2 <= (3.0 * cfg.sigma) ** 2
    naturalness = jnp.mean(jnp.any(near, axis=1))
    mode_fraction = jnp.mean(near, axis=0)
    coverage = jnp.sum(mode_fraction >= 0.01)
    nearest = jnp.argmin(d2, axis=1)
    align = jnp.mean((nearest % cfg.num_classes) == y)
    return naturalness, mode_fraction, coverage, align


def _metrics(
    gen: PyTree, disc: PyTree, key: KeyArray, n: int, method: str, cfg: ToyGANConfig
) -> ToyGANMetrics:
    # one draw for both samples (see the note on randomness)
    dt = jnp.asarray(gen[0][0]).dtype
    u = _uniforms(key, (n, 5 + cfg.latent_dim), dt)
    y = _to_int(u[:, 0], cfg.num_classes)
    x = generator_apply(
        gen, _to_normal(u[:, 1 : 1 + cfg.latent_dim]), y, cfg.num_classes
    )
    naturalness, mode_fraction, coverage, align = _sample_metrics(x, y, cfg)
    xr, yr = _data_from_uniforms(u[:, 1 + cfg.latent_dim :], cfg)
    scores = _class_scores(method, disc, xr.astype(x.dtype), cfg.num_classes)
    d_align = jnp.mean(jnp.argmax(scores, axis=1) == yr)
    return ToyGANMetrics(
        naturalness=naturalness,
        mode_coverage=coverage,
        alignment_accuracy=align,
        discriminator_alignment_accuracy=d_align,
        mode_fraction=mode_fraction,
    )


def evaluate(result: ToyGANResult, key: KeyArray, *, n: int = 4096) -> ToyGANMetrics:
    r"""Naturalness, mode coverage and alignment of a trained toy GAN.

    Parameters
    ----------
    result : ToyGANResult
        A trained GAN, single or batched over seeds (the metrics are then
        batched too; every seed uses the same key, so seeds are compared on
        common noise).
    key : jax.Array
        A PRNG key.
    n : int, default=4096
        Number of generated (and of held-out real) points.

    Returns
    -------
    ToyGANMetrics
        The metrics (see there for the definitions).

    Raises
    ------
    ValueError
        If ``n < 1``.
    TypeError
        If ``result`` is not a :class:`ToyGANResult` or ``key`` not a key.

    See Also
    --------
    train

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> cfg = sona_toy.ToyGANConfig(hidden=8, depth=1, feature_dim=4,
    ...                             batch_size=16, latent_dim=2)
    >>> res = sona_toy.train(jax.random.key(0), steps=6, config=cfg, eval_every=3)
    >>> m = sona_toy.evaluate(res, jax.random.key(1), n=256)
    >>> 0 <= int(m.mode_coverage) <= 8
    True
    """
    if not isinstance(result, ToyGANResult):
        raise TypeError(f"result must be a ToyGANResult; got {describe(result)}.")
    key = check_key(key)
    n = check_scalar(n, name="n", kind=int, lower=1)
    family = "sona" if result.method == "sona" else "projection"
    fn = partial(_metrics_jit, n=n, method=family, cfg=result.config)
    if result.num_seeds is None:
        return fn(result.generator, result.discriminator, key)
    return jax.vmap(fn, in_axes=(0, 0, None))(
        result.generator, result.discriminator, key
    )


@partial(jax.jit, static_argnames=("n", "method", "cfg"))
def _metrics_jit(
    gen: PyTree, disc: PyTree, key: KeyArray, *, n: int, method: str, cfg: ToyGANConfig
) -> ToyGANMetrics:
    return _metrics(gen, disc, key, n, method, cfg)


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------


def _train_one(
    key: KeyArray,
    learning_rate: Array,
    san: Array,
    *,
    method: str,
    steps: int,
    eval_every: int,
    eval_samples: int,
    cfg: ToyGANConfig,
    weighting: LossWeighting,
    mismatch: str,
) -> tuple[PyTree, PyTree, dict[str, Array], Array]:
    ki, kt, ke = jax.random.split(key, 3)
    gen, disc = _init_all(ki, method, cfg, weighting)
    opt = optax.flatten(optax.adam(learning_rate, b1=cfg.b1, b2=cfg.b2))
    state = (gen, disc, opt.init(gen), opt.init(disc), jnp.asarray(-1, jnp.int32), gen)
    decay = cfg.ema_decay

    lat = cfg.latent_dim

    def step(
        carry: Any, xs: tuple[Array, Array, Array]
    ) -> tuple[Any, dict[str, Array]]:
        gen, disc, og, od, first_bad, ema = carry
        t, u, k = xs  # step index, its uniforms, its key for the mismatch pairing
        x_real, y = _data_from_uniforms(u[:, :4], cfg)
        z_d = _to_normal(u[:, 4 : 4 + lat])
        z_g = _to_normal(u[:, 4 + lat :])
        (d_loss, aux), gd = jax.value_and_grad(_d_loss, has_aux=True)(
            disc, gen, x_real, y, z_d, k, method, cfg, weighting, mismatch, san
        )
        upd, od = opt.update(gd, od, disc)
        disc = _refresh_disc(optax.apply_updates(disc, upd), method)
        g_loss, gg = jax.value_and_grad(_g_loss)(
            gen, disc, x_real, y, z_g, method, cfg, weighting, san
        )
        upd, og = opt.update(gg, og, gen)
        gen = optax.apply_updates(gen, upd)
        if decay > 0.0:
            ema = jax.tree_util.tree_map(
                lambda e, g: decay * e + (1.0 - decay) * g, ema, gen
            )
        else:
            ema = gen
        # record t holds the losses of step t; the first non-finite one is kept
        first_bad = update_first_bad_step(first_bad, t, (d_loss, g_loss))
        rec = {"d_loss": d_loss, "g_loss": g_loss}
        if method == "sona":
            rec.update(
                san=aux["san"], bt_c=aux["bt_c"], bt_m=aux["bt_m"], scales=aux["scales"]
            )
        return (gen, disc, og, od, first_bad, ema), rec

    def chunk(
        carry: Any, c: Array
    ) -> tuple[Any, tuple[dict[str, Array], ToyGANMetrics]]:
        ts = c * eval_every + jnp.arange(eval_every)
        # all the chunk's randomness in two draws (see the note on randomness)
        ku, kk = jax.random.split(jax.random.fold_in(kt, c))
        u = _uniforms(ku, (eval_every, cfg.batch_size, 4 + 2 * lat), cfg.float_dtype)
        carry, recs = jax.lax.scan(
            step, carry, (ts, u, jax.random.split(kk, eval_every))
        )
        m = _metrics(
            carry[5], carry[1], jax.random.fold_in(ke, c), eval_samples, method, cfg
        )
        return carry, (recs, m)

    n_chunks = steps // eval_every
    state, (recs, mets) = jax.lax.scan(chunk, state, jnp.arange(n_chunks))
    _, disc, _, _, first_bad, gen = state
    history = {k: v.reshape((steps, *v.shape[2:])) for k, v in recs.items()}
    history["eval_step"] = (jnp.arange(n_chunks) + 1) * eval_every
    history["naturalness"] = mets.naturalness
    history["mode_coverage"] = mets.mode_coverage
    history["alignment_accuracy"] = mets.alignment_accuracy
    history["discriminator_alignment_accuracy"] = mets.discriminator_alignment_accuracy
    return gen, disc, history, first_bad


@partial(
    jax.jit,
    static_argnames=(
        "method",
        "steps",
        "eval_every",
        "eval_samples",
        "cfg",
        "weighting",
        "mismatch",
        "batched",
    ),
)
def _train_jit(
    key: KeyArray, learning_rate: Array, san: Array, *, batched: bool, **kw: Any
) -> Any:
    fn: Any = partial(_train_one, **kw)
    if batched:
        return jax.vmap(fn, in_axes=(0, None, None))(key, learning_rate, san)
    return fn(key, learning_rate, san)


def train(
    key: KeyArray,
    *,
    method: Method = "sona",
    steps: int = 2000,
    config: ToyGANConfig | None = None,
    weighting: LossWeighting | None = None,
    mismatch: Literal["marginal", "label"] = "marginal",
    eval_every: int | None = None,
    eval_samples: int = 1024,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
) -> ToyGANResult:
    r"""Train the toy conditional GAN with SONA or a projection baseline.

    Parameters
    ----------
    key : jax.Array
        A PRNG key, or a 1-D array of keys (``jax.random.split(key, S)``):
        the seeds then train together as one :func:`jax.vmap` and every
        field of the result gets a leading seed axis.
    method : {"sona", "pd", "san_pd"}, default="sona"
        ``"sona"``: the SONA head with SAN + BT-C + BT-M and the weighting
        rule; ``"pd"``: the projection discriminator with the hinge loss;
        ``"san_pd"``: SAN over the projection discriminator (hinge function
        loss, Wasserstein direction loss). The baselines' generators minimise
        :math:`-f`.
    steps : int, default=2000
        Training steps (one discriminator and one generator update each).
    config : ToyGANConfig, optional
        Task, network sizes and optimiser (the same for every method).
    weighting : LossWeighting, optional
        SONA's weighting rule (default
        :func:`~mltheory.generative.sona.adaptive_scales`).
    mismatch : {"marginal", "label"}, default="marginal"
        SONA's BT-M loser (see
        :func:`~mltheory.generative.sona.sona_discriminator_loss`).
    eval_every : int, optional
        Evaluate the metrics every ``eval_every`` steps (must divide
        ``steps``); default: once, at the end.
    eval_samples : int, default=1024
        Points per evaluation.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        What to do when a loss becomes non-finite: raise
        :class:`~mltheory.exceptions.DivergenceError`, warn
        (:class:`RuntimeWarning`) and return, or only set
        ``first_bad_step``. Under :func:`jax.jit` nothing can be raised:
        ``first_bad_step`` carries it.

    Returns
    -------
    ToyGANResult
        Trained parameters, the per-step history, the periodic metrics and
        ``first_bad_step``.

    Raises
    ------
    ValueError
        If ``steps < 1``, ``eval_every`` does not divide ``steps``, an option
        is unknown, or the run diverged with ``on_divergence="raise"``
        (:class:`~mltheory.exceptions.DivergenceError` is an
        :class:`ArithmeticError`, raised instead).
    TypeError
        If ``key`` is not a key or ``config``/``weighting`` are of the wrong
        type.

    See Also
    --------
    evaluate, ToyGANConfig

    Notes
    -----
    One compiled program runs all steps (:func:`jax.lax.scan` over steps
    inside a scan over evaluation chunks). Each chunk draws its randomness
    from ``fold_in(key, chunk)`` in one call, so a seed's run depends only on
    its own key, never on the other seeds of the batch.

    Examples
    --------
    >>> from mltheory.generative import sona_toy
    >>> cfg = sona_toy.ToyGANConfig(hidden=8, depth=1, feature_dim=4,
    ...                             batch_size=16, latent_dim=2)
    >>> res = sona_toy.train(jax.random.key(0), steps=6, config=cfg, eval_every=3)
    >>> res.history["g_loss"].shape, res.history["alignment_accuracy"].shape
    ((6,), (2,))
    """
    check_in(method, name="method", options=METHODS)
    check_in(mismatch, name="mismatch", options=("marginal", "label"))
    check_on_divergence(on_divergence)
    steps = check_scalar(steps, name="steps", kind=int, lower=1)
    cfg = _check_config(config)
    w = _check_weighting(weighting)
    eval_samples = check_scalar(eval_samples, name="eval_samples", kind=int, lower=1)
    if eval_every is None:
        every = steps
    else:
        every = check_scalar(eval_every, name="eval_every", kind=int, lower=1)
        if steps % every:
            raise ValueError(
                f"eval_every must divide steps = {steps}; got eval_every = {every}."
            )
    batched = _is_key_batch(key)
    if not batched:
        key = check_key(key)
    gen, disc, history, first_bad = _train_jit(
        key,
        jnp.asarray(cfg.learning_rate, cfg.float_dtype),
        # the two baselines share one compiled program, told apart by a flag
        jnp.asarray(method == "san_pd"),
        batched=batched,
        method="sona" if method == "sona" else "projection",
        steps=steps,
        eval_every=every,
        eval_samples=eval_samples,
        # the step size is traced: configurations that differ only in it share
        # one compiled program
        cfg=dataclasses.replace(cfg, learning_rate=1.0),
        weighting=w,
        mismatch=mismatch,
    )
    result = ToyGANResult(
        generator=gen,
        discriminator=disc,
        history=history,
        first_bad_step=first_bad,
        method=method,
        config=cfg,
        steps=steps,
    )
    return handle_divergence(
        result,
        on_divergence=on_divergence,  # type: ignore[arg-type]
        what=f"sona_toy.train (method={method!r})",
        cause=(
            f"a learning rate too large for the networks (learning_rate = "
            f"{cfg.learning_rate}); try a smaller one"
        ),
        n_steps=steps,
        stacklevel=3,
    )


def _is_key_batch(key: Any) -> bool:
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim == 1:
            if key.shape[0] < 1:
                raise ValueError("key must hold at least one key; got an empty batch.")
            return True
        if key.ndim > 1:
            raise ValueError(
                f"key must be a key or a 1-D batch of keys; got shape {key.shape}."
            )
    return False

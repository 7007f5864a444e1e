"""Neuron blocks, block signals, cluster diagnostics, phases and error regions."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_key,
    check_scalar,
    describe,
)
from mltheory.dynamics._xor_data import (
    XORParams,
    check_label_sign,
    forward_chunked,
    xor_labels,
)
from mltheory.dynamics._xor_theory import band_error_core, ideal_error_core

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "BlockAssignment",
    "BlockSignals",
    "ClusterDiagnostics",
    "ErrorRegionReport",
    "block_signals",
    "cluster_diagnostics",
    "error_regions",
    "neuron_blocks",
    "phase_split",
]

# Cluster k sits at angle pi/4 + k pi/2 in the signal plane; its label is
# s * sign(cos psi_k sin psi_k) = s * (+1, -1, +1, -1)[k].
_PSI = jnp.pi / 4 + jnp.arange(4) * jnp.pi / 2
_CLUSTER_LABEL = (1.0, -1.0, 1.0, -1.0)


def check_params_batched(params: Any, *, name: str = "params") -> XORParams:
    """An :class:`XORParams` whose W is (..., m, d) and a (..., m)."""
    if not isinstance(params, XORParams):
        raise TypeError(f"{name} must be an XORParams; got {describe(params)}.")
    W = as_array(params.W, name=f"{name}.W", min_ndim=2, shape_hint="(..., m, d)")
    a = as_array(params.a, name=f"{name}.a", min_ndim=1, shape_hint="(..., m)")
    for arr, field in ((W, "W"), (a, "a")):
        if jnp.issubdtype(arr.dtype, jnp.complexfloating):
            raise TypeError(f"{name}.{field} must be real; got dtype {arr.dtype}.")
    if a.shape != W.shape[:-1]:
        raise ValueError(
            f"{name}.a must have shape W.shape[:-1] = {tuple(W.shape[:-1])}; got "
            f"{tuple(a.shape)}."
        )
    if W.shape[-1] < 2:
        raise ValueError(
            f"{name}.W must have d >= 2 columns (the signal plane is spanned by "
            f"the first two); got shape {tuple(W.shape)}."
        )
    return XORParams(W, a)


def over_leading_axes(fn: Callable[[Array, Array], Any], params: XORParams) -> Any:
    """Apply ``fn(W (m, d), a (m,))`` over every leading axis of ``params``."""
    lead = params.W.shape[:-2]
    if not lead:
        return fn(params.W, params.a)
    W = params.W.reshape(-1, *params.W.shape[-2:])
    a = params.a.reshape(-1, params.a.shape[-1])
    out = jax.vmap(fn)(W, a)
    return jax.tree_util.tree_map(lambda x: x.reshape(*lead, *x.shape[1:]), out)


def _safe_ratio(num: Array, den: Array) -> Array:
    """Num / den, NaN where den == 0 (documented sentinel, never 0/0 warnings)."""
    ok = den != 0
    return jnp.where(ok, num / jnp.where(ok, den, 1), jnp.nan)


# --------------------------------------------------------------------------- #
# Neuron blocks
# --------------------------------------------------------------------------- #


@pytree_dataclass
class BlockAssignment:
    r"""Each neuron's cluster, alignment, angle, signal and noise.

    Leading axes of the network (records, seeds) are kept.

    Parameters
    ----------
    block : jax.Array of shape (..., m)
        Nearest cluster direction :math:`k(j) \in \{0, 1, 2, 3\}` of the
        in-plane part, :math:`\psi_k = \pi/4 + k\pi/2`.
    aligned : jax.Array of shape (..., m)
        Whether :math:`\mathrm{sign}(a_j)` equals the cluster label
        :math:`\ell_{k(j)} = s\,(+1, -1, +1, -1)_{k(j)}`.
    angle : jax.Array of shape (..., m)
        :math:`\varphi_j = \mathrm{atan2}(w_{j2}, w_{j1}) \in (-\pi, \pi]`.
    signal : jax.Array of shape (..., m)
        :math:`s_j = \langle w_j^S, \mu_{k(j)}\rangle \ge \|w_j^S\|/\sqrt2`.
    noise : jax.Array of shape (..., m)
        :math:`n_j = \|w_j^\perp\|` (coordinates 3 to d).

    See Also
    --------
    neuron_blocks : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.XORParams(jnp.array([[1.0, 1.0, 0.0]]), jnp.array([2.0]))
    >>> blocks = xor.neuron_blocks(p)
    >>> int(blocks.block[0]), bool(blocks.aligned[0])
    (0, True)
    """

    block: Array
    aligned: Array
    angle: Array
    signal: Array
    noise: Array


def blocks_core(W: Array, a: Array, label_sign: int) -> BlockAssignment:
    """Block assignment of one network (no validation)."""
    angle = jnp.arctan2(W[:, 1], W[:, 0])
    k = jnp.mod(jnp.round((angle - jnp.pi / 4) / (jnp.pi / 2)), 4).astype(jnp.int32)
    psi = _PSI.astype(W.dtype)[k]
    label = label_sign * jnp.asarray(_CLUSTER_LABEL, W.dtype)[k]
    aligned = jnp.sign(a) == label
    signal = W[:, 0] * jnp.cos(psi) + W[:, 1] * jnp.sin(psi)
    noise = jnp.linalg.norm(W[:, 2:], axis=1)
    return BlockAssignment(k, aligned, angle, signal, noise)


@functools.partial(jax.jit, static_argnames=("label_sign",))
def _blocks_jit(params: XORParams, label_sign: int) -> BlockAssignment:
    return over_leading_axes(lambda W, a: blocks_core(W, a, label_sign), params)  # type: ignore[no-any-return]


def neuron_blocks(params: XORParams, *, label_sign: int = 1) -> BlockAssignment:
    r"""Assign every neuron to one of the four cluster directions and check its sign.

    The signal plane is :math:`S = \mathrm{span}(e_1, e_2)`. Neuron :math:`j`
    belongs to cluster :math:`k(j) = \mathrm{round}((\varphi_j - \pi/4) /
    (\pi/2)) \bmod 4` of the nearest diagonal direction :math:`\mu_k =
    (\cos\psi_k, \sin\psi_k)`, :math:`\psi_k = \pi/4 + k\pi/2`, and is
    *aligned* when its output weight has the sign of the label on that
    diagonal, :math:`\ell_k = s\,\mathrm{sign}(\cos\psi_k \sin\psi_k)`. The
    aligned neurons of cluster :math:`k` form the block :math:`B_k`.

    Parameters
    ----------
    params : XORParams
        The network; ``W`` of shape (..., m, d) and ``a`` of shape (..., m)
        (leading axes such as records or seeds are kept).
    label_sign : {1, -1}, default=1
        :math:`s` of the labels the network was trained on.

    Returns
    -------
    BlockAssignment
        Per-neuron block, alignment, angle, signal and noise.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`XORParams` or holds complex values.
    ValueError
        If the shapes of ``W`` and ``a`` do not match, ``d < 2``, a value is
        NaN/inf, or ``label_sign`` is not :math:`\pm 1`.

    See Also
    --------
    block_signals : Sums over the blocks.

    Notes
    -----
    Reconstructed from [1]_ (four clusters, blocks of neurons); ``label_sign=-1``
    swaps which clusters are aligned for a given sign of :math:`a_j`.

    References
    ----------
    .. [1] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR
       Classification with Zero-Margin", AISTATS 2026, arXiv:2602.00172.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> W = jnp.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    >>> p = xor.XORParams(W, jnp.array([1.0, -1.0, 1.0, 1.0]))
    >>> b = xor.neuron_blocks(p)
    >>> np.asarray(b.block).tolist(), np.asarray(b.aligned).tolist()
    ([0, 1, 2, 3], [True, True, True, False])
    """
    params = check_params_batched(params)
    label_sign = check_label_sign(label_sign)
    return _blocks_jit(params, label_sign)  # type: ignore[no-any-return]


@pytree_dataclass
class BlockSignals:
    r"""Signal, noise and size of the four aligned blocks, and their coherence.

    Leading axes of the network (records, seeds) are kept.

    Parameters
    ----------
    signal : jax.Array of shape (..., 4)
        Block signal :math:`S_k = \sum_{j \in B_k} a_j s_j` (signed;
        :math:`\ell_k S_k > 0`).
    noise : jax.Array of shape (..., 4)
        Block noise :math:`N_k = \sum_{j \in B_k} |a_j| n_j`.
    size : jax.Array of shape (..., 4)
        :math:`|B_k|`.
    misaligned_signal : jax.Array of shape (..., 4)
        :math:`\sum_{j \in \bar B_k} a_j s_j` over the misaligned neurons of
        cluster :math:`k` (it should decay).
    misaligned_size : jax.Array of shape (..., 4)
        :math:`|\bar B_k|`.
    spread : jax.Array of shape (...)
        Block spread :math:`\mathrm{std}_k |S_k| / \mathrm{mean}_k |S_k|`
        (population std over the four blocks); NaN if every :math:`S_k = 0`.
    within_block_spread : jax.Array of shape (..., 4)
        Neuron spread inside each block, :math:`\mathrm{std}(s_j) /
        \mathrm{mean}(s_j)` over :math:`j \in B_k` (unweighted, population
        std); NaN for a block with fewer than two neurons.
    rho : jax.Array of shape (...)
        Global signal-to-noise :math:`\rho = \sum_j |a_j| \|w_j^S\| / \sum_j
        |a_j| \|w_j^\perp\|` (inf when :math:`d = 2`).

    See Also
    --------
    block_signals : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.init_params(jax.random.key(0), 8, 64)
    >>> xor.block_signals(p).signal.shape
    (4,)
    """

    signal: Array
    noise: Array
    size: Array
    misaligned_signal: Array
    misaligned_size: Array
    spread: Array
    within_block_spread: Array
    rho: Array

    def _summary_items(self) -> dict[str, Any]:
        return {"spread": self.spread, "rho": self.rho}


def signals_core(W: Array, a: Array, label_sign: int) -> BlockSignals:
    """Block signals of one network (no validation)."""
    b = blocks_core(W, a, label_sign)
    dtype = W.dtype
    onehot = (b.block[:, None] == jnp.arange(4)[None, :]).astype(dtype)
    good = onehot * b.aligned[:, None].astype(dtype)
    bad = onehot - good
    contrib = a * b.signal
    signal = contrib @ good
    noise = (jnp.abs(a) * b.noise) @ good
    size = jnp.sum(good, axis=0)
    mean_s = _safe_ratio(b.signal @ good, size)
    var_s = _safe_ratio(b.signal**2 @ good, size) - mean_s**2
    within = jnp.where(size >= 2, jnp.sqrt(jnp.maximum(var_s, 0.0)) / mean_s, jnp.nan)
    mag = jnp.abs(signal)
    spread = _safe_ratio(jnp.std(mag), jnp.mean(mag))
    plane = jnp.linalg.norm(W[:, :2], axis=1)
    rho = jnp.sum(jnp.abs(a) * plane) / jnp.sum(jnp.abs(a) * b.noise)
    return BlockSignals(
        signal=signal,
        noise=noise,
        size=size,
        misaligned_signal=contrib @ bad,
        misaligned_size=jnp.sum(bad, axis=0),
        spread=spread,
        within_block_spread=within,
        rho=rho,
    )


@functools.partial(jax.jit, static_argnames=("label_sign",))
def _signals_jit(params: XORParams, label_sign: int) -> BlockSignals:
    return over_leading_axes(lambda W, a: signals_core(W, a, label_sign), params)  # type: ignore[no-any-return]


def block_signals(params: XORParams, *, label_sign: int = 1) -> BlockSignals:
    r"""Block signals :math:`S_k`, block noise, sizes, spreads and :math:`\rho`.

    Parameters
    ----------
    params : XORParams
        The network; ``W`` of shape (..., m, d) and ``a`` of shape (..., m)
        (leading axes such as records or seeds are kept).
    label_sign : {1, -1}, default=1
        :math:`s` of the labels the network was trained on.

    Returns
    -------
    BlockSignals
        Per-block sums over the aligned blocks :math:`B_k` (see
        :func:`neuron_blocks`), the block spread, the within-block neuron
        spread and the global signal-to-noise ratio.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`XORParams` or holds complex values.
    ValueError
        If the shapes of ``W`` and ``a`` do not match, ``d < 2``, a value is
        NaN/inf, or ``label_sign`` is not :math:`\pm 1`.

    See Also
    --------
    neuron_blocks : The per-neuron assignment.
    train_xor : Records these along training.

    Notes
    -----
    The point of [1]_ is that the *blocks* evolve coherently (small
    ``spread``, a few per cent once learned) while individual neurons do not
    (``within_block_spread`` of order 0.5 for Gaussian inputs).

    References
    ----------
    .. [1] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR
       Classification with Zero-Margin", AISTATS 2026, arXiv:2602.00172.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> W = jnp.array([[1.0, 1.0, 0.5], [-1.0, 1.0, 0.0]])
    >>> p = xor.XORParams(W, jnp.array([2.0, -1.0]))
    >>> sig = xor.block_signals(p)
    >>> print(np.round(np.asarray(sig.signal), 4))
    [ 2.8284 -1.4142  0.      0.    ]
    >>> print(round(float(sig.rho), 4))  # (2 sqrt2 + sqrt2) / (2 * 0.5)
    4.2426
    """
    params = check_params_batched(params)
    label_sign = check_label_sign(label_sign)
    return _signals_jit(params, label_sign)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- #
# Clusters
# --------------------------------------------------------------------------- #


@pytree_dataclass
class ClusterDiagnostics:
    r"""How well the neurons concentrate on the four diagonal directions.

    Weights are the output masses :math:`\omega_j = |a_j|\,\|w_j\|`. Leading
    axes of the network are kept.

    Parameters
    ----------
    diag_concentration : jax.Array of shape (...)
        :math:`\sum_j \omega_j |\cos 2\varphi_j| / \sum_j \omega_j`: 0 when all
        mass is on the diagonals, 1 when all of it is on the axes.
    plane_mass_fraction : jax.Array of shape (...)
        :math:`\sum_j |a_j| \|w_j^S\| / \sum_j |a_j| \|w_j\|`.
    aligned_mass_fraction : jax.Array of shape (...)
        Fraction of :math:`\sum_j \omega_j` carried by aligned neurons.
    angle_hist : jax.Array of shape (..., bins)
        Histogram of :math:`\varphi_j \bmod 2\pi` weighted by
        :math:`\omega_j`, normalised to sum to 1 (four peaks at 45, 135, 225
        and 315 degrees once learned).
    bin_edges : jax.Array of shape (bins + 1,)
        Edges of the angle bins, from 0 to :math:`2\pi`.

    See Also
    --------
    cluster_diagnostics : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.init_params(jax.random.key(0), 8, 64)
    >>> xor.cluster_diagnostics(p, bins=8).angle_hist.shape
    (8,)
    """

    diag_concentration: Array
    plane_mass_fraction: Array
    aligned_mass_fraction: Array
    angle_hist: Array
    bin_edges: Array

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the mass-weighted histogram of the neurons' in-plane angles.

        Bars over :math:`[0, 360)` degrees with dotted lines at the four
        diagonals (45, 135, 225, 315 degrees), where a trained network puts
        its mass.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.bar`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes.

        Raises
        ------
        ValueError
            If the diagnostics are batched.
        TypeError
            If ``ax`` is not an Axes or the result holds tracers.

        Examples
        --------
        >>> from mltheory.dynamics import xor
        >>> p = xor.init_params(jax.random.key(0), 8, 64)
        >>> ax = xor.cluster_diagnostics(p).plot()  # doctest: +SKIP
        """
        from mltheory.dynamics._xor_plots import plot_clusters

        return plot_clusters(self, ax, kwargs)


def _clusters_core(
    W: Array, a: Array, label_sign: int, edges: Array
) -> tuple[Array, Array, Array, Array]:
    b = blocks_core(W, a, label_sign)
    omega = jnp.abs(a) * jnp.linalg.norm(W, axis=1)
    total = jnp.sum(omega)
    diag = _safe_ratio(jnp.sum(omega * jnp.abs(jnp.cos(2 * b.angle))), total)
    plane = jnp.sum(jnp.abs(a) * jnp.linalg.norm(W[:, :2], axis=1))
    aligned = _safe_ratio(jnp.sum(omega * b.aligned), total)
    phi = jnp.mod(b.angle, 2 * jnp.pi)
    hist, _ = jnp.histogram(phi, bins=edges, weights=omega)
    return diag, _safe_ratio(plane, total), aligned, _safe_ratio(hist, total)


def cluster_diagnostics(
    params: XORParams, *, bins: int = 72, label_sign: int = 1
) -> ClusterDiagnostics:
    r"""Diagonal concentration, in-plane mass and angular histogram of the neurons.

    Parameters
    ----------
    params : XORParams
        The network; ``W`` of shape (..., m, d) and ``a`` of shape (..., m)
        (leading axes such as records or seeds are kept).
    bins : int, default=72
        Number of angle bins on :math:`[0, 2\pi)`, >= 1 (72 = 5 degrees).
    label_sign : {1, -1}, default=1
        :math:`s` of the labels (for the aligned mass).

    Returns
    -------
    ClusterDiagnostics
        Weighted diagonal concentration, in-plane mass fraction, aligned mass
        fraction and the angle histogram (NaN entries if every :math:`\omega_j
        = 0`).

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`XORParams`, holds complex values, or
        ``bins`` is not an integer.
    ValueError
        If the shapes of ``W`` and ``a`` do not match, ``d < 2``, a value is
        NaN/inf, ``bins < 1`` or ``label_sign`` is not :math:`\pm 1`.

    See Also
    --------
    neuron_blocks : The per-neuron angles.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> W = jnp.array([[1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    >>> p = xor.XORParams(W, jnp.array([1.0, -1.0]))
    >>> c = xor.cluster_diagnostics(p, bins=4)
    >>> print(round(float(c.diag_concentration), 6), float(c.plane_mass_fraction))
    0.0 1.0
    >>> print(np.asarray(c.angle_hist))
    [0.5 0.5 0.  0. ]
    """
    params = check_params_batched(params)
    bins = check_scalar(bins, name="bins", kind=int, lower=1)
    label_sign = check_label_sign(label_sign)
    return _clusters_jit(params, label_sign, bins)  # type: ignore[no-any-return]


@functools.partial(jax.jit, static_argnames=("label_sign", "bins"))
def _clusters_jit(params: XORParams, label_sign: int, bins: int) -> ClusterDiagnostics:
    edges = jnp.linspace(0.0, 2 * jnp.pi, bins + 1, dtype=params.W.dtype)
    diag, plane, aligned, hist = over_leading_axes(
        lambda W, a: _clusters_core(W, a, label_sign, edges), params
    )
    return ClusterDiagnostics(diag, plane, aligned, hist, edges)


# --------------------------------------------------------------------------- #
# Phases
# --------------------------------------------------------------------------- #


def phase_split_core(steps: Array, rho: Array, threshold: float) -> Array:
    """First step with rho >= threshold along the last axis, -1 if none."""
    hit = rho >= threshold
    first = jnp.argmax(hit, axis=-1)
    found = jnp.any(hit, axis=-1)
    steps = jnp.broadcast_to(steps, rho.shape)
    at = jnp.take_along_axis(steps, first[..., None], axis=-1)[..., 0]
    return jnp.where(found, at, -1)


def phase_split(traj: Any, *, rho_threshold: float = 1.0) -> Array:
    r"""The recorded step at which the signal-finding phase ends.

    Phase 1 (signal finding) lasts while the global signal-to-noise ratio
    :math:`\rho` of the network is below ``rho_threshold``; phase 2 (signal
    heavy) starts at the first record with :math:`\rho \ge` ``rho_threshold``.

    Parameters
    ----------
    traj : XORTrajectory
        A run of :func:`train_xor` (or a batch of runs, e.g. vmapped over
        keys).
    rho_threshold : float, default=1.0
        The threshold, > 0.

    Returns
    -------
    jax.Array
        Integer step of the first record with :math:`\rho \ge`
        ``rho_threshold`` (shape () for one run, (n_runs,) for a batch);
        -1 where it is never reached.

    Raises
    ------
    TypeError
        If ``traj`` is not an :class:`XORTrajectory`.
    ValueError
        If ``rho_threshold`` is not positive and finite.

    See Also
    --------
    train_xor : Records :math:`\rho`.

    Notes
    -----
    An operational definition of the two phases of [1]_ and [2]_; the
    threshold 1 means the in-plane output mass equals the out-of-plane mass.

    References
    ----------
    .. [1] M. Glasgow, "SGD Finds then Tunes Features in Two-Layer Neural
       Networks with near-Optimal Sample Complexity: A Case Study in the XOR
       problem", ICLR 2024, arXiv:2309.15111.
    .. [2] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR
       Classification with Zero-Margin", AISTATS 2026, arXiv:2602.00172.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> cfg = xor.XORConfig(d=8, width=32, steps=200, record_every=50)
    >>> traj = xor.train_xor(jax.random.key(0), cfg, n_test=512)
    >>> int(xor.phase_split(traj)) in (-1, 0, 50, 100, 150, 200)
    True
    """
    from mltheory.dynamics._xor_train import XORTrajectory

    if not isinstance(traj, XORTrajectory):
        raise TypeError(f"traj must be an XORTrajectory; got {describe(traj)}.")
    thr = check_scalar(
        rho_threshold, name="rho_threshold", lower=0.0, lower_inclusive=False
    )
    return phase_split_core(traj.steps, traj.rho, thr)


# --------------------------------------------------------------------------- #
# Error regions
# --------------------------------------------------------------------------- #


@pytree_dataclass
class ErrorRegionReport:
    r"""Test error by distance :math:`M = \min(|x_1|, |x_2|)` to the XOR boundary.

    Parameters
    ----------
    test_error : jax.Array
        Error on the ``n_test`` fresh Gaussian samples (a zero output counts
        as half an error).
    test_error_se : jax.Array
        Its binomial standard error :math:`\sqrt{e(1-e)/n}`.
    bin_edges : jax.Array of shape (B + 1,)
        Edges of the :math:`M` bins.
    err_by_bin : jax.Array of shape (B,)
        Error rate of the samples in each bin (NaN for an empty bin).
    mass_by_bin : jax.Array of shape (B,)
        Fraction of samples in each bin.
    c_hat : jax.Array
        Least-squares coefficient of :math:`f(x)` on :math:`g(x) = s\,
        \mathrm{sign}(x_1 x_2)\, M`.
    sigma_hat : jax.Array
        Standard deviation of the residual :math:`f - \hat c g`.
    predicted_error : jax.Array
        The linear law :math:`(2/\pi)\,\hat\sigma / \hat c`.
    predicted_error_exact : jax.Array
        :func:`ideal_xor_error` at ``noise_to_signal`` :math:`= \hat\sigma /
        \hat c` (the same model without the small-noise expansion).
    predicted_by_bin : jax.Array of shape (B,)
        The same model's error inside each bin,
        :math:`\int_{bin} 8\varphi(t)\Phi(-t)\Phi(-\hat c t/\hat\sigma)\,dt`
        over the bin's mass.

    See Also
    --------
    error_regions : Computes it.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.init_params(jax.random.key(0), 4, 16)
    >>> rep = xor.error_regions(jax.random.key(1), p, n_test=1000)
    >>> rep.err_by_bin.shape
    (6,)
    """

    test_error: Array
    test_error_se: Array
    bin_edges: Array
    err_by_bin: Array
    mass_by_bin: Array
    c_hat: Array
    sigma_hat: Array
    predicted_error: Array
    predicted_error_exact: Array
    predicted_by_bin: Array

    def _summary_items(self) -> dict[str, Any]:
        return {
            "test error": self.test_error,
            "predicted (2/pi) sigma/c": self.predicted_error,
            "sigma_hat / c_hat": self.sigma_hat / self.c_hat,
        }

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        r"""Plot the error rate per band of :math:`M` against the idealised model.

        Measured error rates (markers, with a +-1 standard-error band) and
        the prediction of the idealised network with the fitted
        :math:`\hat\sigma/\hat c` (steps), one point per band of
        :math:`M = \min(|x_1|, |x_2|)`: the errors sit in the bands closest to
        the boundary.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot` for the measured rates.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes.

        Raises
        ------
        ValueError
            If the report is batched.
        TypeError
            If ``ax`` is not an Axes or the report holds tracers.

        Examples
        --------
        >>> from mltheory.dynamics import xor
        >>> p = xor.init_params(jax.random.key(0), 4, 16)
        >>> ax = xor.error_regions(jax.random.key(1), p).plot()  # doctest: +SKIP
        """
        from mltheory.dynamics._xor_plots import plot_regions

        return plot_regions(self, ax, kwargs)


def _regions_core(
    key: KeyArray, W: Array, a: Array, edges: Array, n_test: int, label_sign: int
) -> ErrorRegionReport:
    dtype = W.dtype
    X = jax.random.normal(key, (n_test, W.shape[1]), dtype)
    y = xor_labels(X, label_sign)
    f = forward_chunked(XORParams(W, a), X)
    margin = y * f
    wrong = jnp.where(margin < 0, 1.0, jnp.where(margin == 0, 0.5, 0.0)).astype(dtype)
    err = jnp.mean(wrong)
    M = jnp.minimum(jnp.abs(X[:, 0]), jnp.abs(X[:, 1]))
    idx = jnp.searchsorted(edges, M, side="right") - 1
    nb = edges.shape[0] - 1
    inside = (idx >= 0) & (idx < nb)
    onehot = (idx[:, None] == jnp.arange(nb)[None, :]) & inside[:, None]
    onehot = onehot.astype(dtype)
    counts = jnp.sum(onehot, axis=0)
    g = y * M
    c_hat = jnp.sum(f * g) / jnp.sum(g * g)
    sigma_hat = jnp.std(f - c_hat * g)
    ratio = jnp.where(c_hat > 0, sigma_hat / c_hat, jnp.nan)
    return ErrorRegionReport(
        test_error=err,
        test_error_se=jnp.sqrt(err * (1 - err) / n_test),
        bin_edges=edges,
        err_by_bin=_safe_ratio(wrong @ onehot, counts),
        mass_by_bin=counts / n_test,
        c_hat=c_hat,
        sigma_hat=sigma_hat,
        predicted_error=(2 / math.pi) * ratio,
        predicted_error_exact=jnp.where(
            c_hat > 0, ideal_error_core(jnp.ones((), dtype), ratio), jnp.nan
        ),
        predicted_by_bin=jnp.where(
            c_hat > 0, band_error_core(edges[:-1], edges[1:], ratio), jnp.nan
        ),
    )


_regions_jit = jax.jit(_regions_core, static_argnames=("n_test", "label_sign"))


def error_regions(
    key: KeyArray,
    params: XORParams,
    *,
    n_test: int = 200_000,
    bin_edges: ArrayLike | tuple[float, ...] = (
        0.0,
        0.02,
        0.05,
        0.1,
        0.2,
        0.5,
        math.inf,
    ),
    label_sign: int = 1,
) -> ErrorRegionReport:
    r"""Where a trained network errs: error by distance to the boundary, and its law.

    On ``n_test`` fresh inputs :math:`x \sim N(0, I_d)` it measures the test
    error, the error inside bins of :math:`M = \min(|x_1|, |x_2|)` (the
    distance to the decision boundary), and fits the idealised model
    :math:`f(x) = c\, s\,\mathrm{sign}(x_1 x_2)\, M + \xi` by least squares
    (:math:`\hat c`, and :math:`\hat\sigma` the standard deviation of the
    residual). If :math:`\xi` were independent Gaussian noise the error would
    be :math:`\approx (2/\pi)\,\hat\sigma/\hat c`: it decays only linearly in
    the noise-to-signal ratio, because a fraction of the data lies arbitrarily
    close to the boundary (zero margin).

    Parameters
    ----------
    key : jax.Array
        PRNG key of the test inputs.
    params : XORParams
        One network (``W`` of shape (m, d), ``a`` of shape (m,)).
    n_test : int, default=200_000
        Number of test inputs, >= 2.
    bin_edges : array_like of shape (B + 1,), default=(0, .02, .05, .1, .2, .5, inf)
        Increasing edges of the :math:`M` bins, the first >= 0 (the last may
        be ``inf``); at least two.
    label_sign : {1, -1}, default=1
        :math:`s` of the labels.

    Returns
    -------
    ErrorRegionReport
        Test error and its standard error, the error and mass per bin,
        :math:`\hat c`, :math:`\hat\sigma` and both predicted errors.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key or ``params`` not an :class:`XORParams`.
    ValueError
        If ``params`` is not one network or holds NaN/inf, ``n_test < 2``,
        ``bin_edges`` is not increasing from >= 0 with at least two entries,
        or ``label_sign`` is not :math:`\pm 1`.

    See Also
    --------
    ideal_xor_error : The error of the idealised model.

    Notes
    -----
    The split into a reliable region :math:`\{M > \tau\}` and a persistent
    error band :math:`\{M \le \tau\}` with :math:`\tau` a few
    :math:`\hat\sigma/\hat c` is the average-case view of [1]_; the
    least-squares reading of it is derived here, not taken from the paper.
    Inputs are Gaussian whatever law the network was trained on.

    References
    ----------
    .. [1] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR
       Classification with Zero-Margin", AISTATS 2026, arXiv:2602.00172.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> W = jnp.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    >>> ideal = xor.XORParams(W / jnp.sqrt(2.0), jnp.array([1.0, -1.0, 1.0, -1.0]))
    >>> rep = xor.error_regions(jax.random.key(0), ideal, n_test=10_000)
    >>> float(rep.test_error), round(float(rep.c_hat), 6)  # Bayes-correct, c = sqrt(2)
    (0.0, 1.414214)
    """
    key = check_key(key)
    from mltheory.dynamics._xor_data import check_params

    params = check_params(params)
    n_test = check_scalar(n_test, name="n_test", kind=int, lower=2)
    label_sign = check_label_sign(label_sign)
    edges_np = as_numpy(bin_edges, name="bin_edges", ndim=1, allow_nonfinite=True)
    if np.isnan(edges_np).any() or np.isinf(edges_np[:-1]).any():
        raise ValueError(
            f"bin_edges must be finite except a last inf; got {edges_np.tolist()}."
        )
    if edges_np.size < 2 or edges_np[0] < 0 or not (edges_np[:-1] < edges_np[1:]).all():
        raise ValueError(
            "bin_edges must be increasing, start at >= 0 and have at least two "
            f"entries; got {edges_np.tolist()}."
        )
    edges = jnp.asarray(edges_np, dtype=params.W.dtype)
    return _regions_jit(key, params.W, params.a, edges, n_test, label_sign)  # type: ignore[no-any-return]

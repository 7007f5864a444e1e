"""Test error of the idealised four-block network: imbalance and output noise."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import as_array, is_traced

__all__ = ["ideal_xor_error"]

# The angular integral is split into three smooth pieces; on each piece a
# fixed rule on [0, 1] is graded geometrically toward both ends (ratio 1/4, 24
# levels, 16 Gauss-Legendre nodes per level), because the integrand of a
# small-noise error has a transition of width ~ noise/signal at the network's
# boundary. Measured against adaptive quadrature of the M-density formula:
# relative error < 1e-12 for noise/signal >= 1e-6, < 1e-8 down to 1e-10.
_GL_NODES, _GRADE, _LEVELS = 16, 0.25, 24


@functools.lru_cache(maxsize=1)
def _graded_rule() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rule on [0, 1] graded toward both ends: (distance, end, weight).

    Each node is given by its distance to the nearer end and which end (0 left,
    1 right), so that a node near the right end is placed from that end and
    never rounds onto it.
    """
    u, w = np.polynomial.legendre.leggauss(_GL_NODES)
    u, w = 0.5 * (u + 1.0), 0.5 * w
    edges = np.concatenate([[0.0], 0.5 * _GRADE ** np.arange(_LEVELS, -1, -1)])
    lo, width = edges[:-1, None], np.diff(edges)[:, None]
    x, wx = (lo + width * u).ravel(), (width * w).ravel()
    side = np.concatenate([np.zeros_like(x), np.ones_like(x)])
    return np.concatenate([x, x]), side, np.concatenate([wx, wx])


def ideal_error_core(ratio: Array, noise_to_signal: Array) -> Array:
    """The error of :func:`ideal_xor_error` for broadcast arrays, no validation.

    Without noise the closed form (exact; the quadrature agrees to ~1e-16).
    """
    dtype = jnp.result_type(ratio, noise_to_signal, float)
    r, ns = jnp.broadcast_arrays(
        jnp.asarray(ratio, dtype), jnp.asarray(noise_to_signal, dtype)
    )
    # arctan r - pi/4 = arctan((r - 1) / (r + 1)): exact 0 at r = 1.
    closed = (2 / jnp.pi) * jnp.abs(jnp.arctan((r - 1) / (r + 1)))
    return jnp.where(ns > 0, quadrature_error(r, ns), closed)


def quadrature_error(r: Array, ns: Array) -> Array:
    """The angular quadrature (any noise, zero included) for broadcast arrays."""
    dtype = r.dtype
    shape = (1,) * (r.ndim + 1) + (-1,)  # nodes along a new last axis
    dist, side, weights = (jnp.asarray(x, dtype).reshape(shape) for x in _graded_rule())
    tau2 = 2.0 * ns**2  # (sqrt(2) sigma / c)^2
    half = jnp.pi / 2
    # Breakpoints of the angle phi in [0, pi/2] between (|u|, |v|): the true
    # boundary |u| = |v| (pi/4) and the network's boundary |u| = r |v|.
    cross = jnp.arctan2(jnp.ones_like(r), r)
    lo = jnp.minimum(cross, jnp.pi / 4)
    hi = jnp.maximum(cross, jnp.pi / 4)
    ends = jnp.stack([jnp.zeros_like(r), lo, hi, jnp.full_like(r, half)], axis=-1)
    left, length = ends[..., :-1], jnp.diff(ends, axis=-1)  # (..., 3)
    right = left + length
    phi = jnp.where(  # (..., 3, n)
        side > 0,
        right[..., None] - length[..., None] * dist,
        left[..., None] + length[..., None] * dist,
    )
    g = jnp.cos(phi) - r[..., None, None] * jnp.sin(phi)
    # The true label is + below pi/4; decided per piece (not per node), so
    # that rounding of the nodes near pi/4 cannot flip it.
    truth = jnp.where(left + 0.5 * length < jnp.pi / 4, 1.0, -1.0)[..., None]
    # E_R[Phi(-a R)] = (1 - a / sqrt(1 + a^2)) / 2 for a Rayleigh radius R.
    t2 = tau2[..., None, None]
    den = jnp.sqrt(t2 + g**2)
    # A node within rounding of the boundary at zero noise: g = 0 there.
    z = jnp.where(den > 0, truth * g / jnp.where(den > 0, den, 1.0), 0.0)
    integrand = 0.5 * (1.0 - z)
    integral = jnp.sum(length[..., None] * weights * integrand, axis=(-2, -1))
    return integral / half


def band_error_core(lo: Array, hi: Array, noise_to_signal: Array) -> Array:
    r"""Error of balanced blocks with noise inside the band :math:`lo < M \le hi`.

    :math:`\int_{lo}^{hi} 8\varphi(t)\Phi(-t)\Phi(-t c/\sigma)\,dt` divided by
    the band's mass :math:`4\Phi(-lo)^2 - 4\Phi(-hi)^2` (NaN for an empty
    band); ``lo``, ``hi`` of shape (B,), ``noise_to_signal`` a scalar. The
    integral runs over :math:`[lo, \min(hi, lo + 12)]` (the rest has mass
    below 1e-32) on the graded rule, which resolves the transition at
    :math:`t \sim \sigma/c`.
    """
    dtype = jnp.result_type(lo, hi, noise_to_signal, float)
    lo, hi = jnp.asarray(lo, dtype), jnp.asarray(hi, dtype)
    ns = jnp.asarray(noise_to_signal, dtype)
    dist, side, weights = (jnp.asarray(x, dtype)[None, :] for x in _graded_rule())
    top = jnp.minimum(hi, lo + 12.0)
    length = (top - lo)[:, None]
    t = jnp.where(side > 0, top[:, None] - length * dist, lo[:, None] + length * dist)
    scaled = jnp.where(ns > 0, t / jnp.where(ns > 0, ns, 1.0), jnp.inf)
    density = 8 * jax.scipy.stats.norm.pdf(t) * jax.scipy.stats.norm.cdf(-t)
    num = jnp.sum(length * weights * density * jax.scipy.stats.norm.cdf(-scaled), -1)
    mass = (
        4 * jax.scipy.stats.norm.cdf(-lo) ** 2 - 4 * jax.scipy.stats.norm.cdf(-hi) ** 2
    )
    ok = mass > 0
    return jnp.where(ok, num / jnp.where(ok, mass, 1.0), jnp.nan)


@jax.jit
def _ideal_jit(ratio: Array, noise_to_signal: Array) -> Array:
    return ideal_error_core(ratio, noise_to_signal)


def ideal_xor_error(
    *, ratio: ArrayLike = 1.0, noise_to_signal: ArrayLike = 0.0
) -> Array:
    r"""Test error of the idealised four-block network on Gaussian XOR.

    The idealised learned network has one neuron per cluster direction
    :math:`\mu_k`, :math:`k = 0..3` (:math:`\pm(e_1+e_2)/\sqrt2`,
    :math:`\pm(e_1-e_2)/\sqrt2`), output weights of the right signs,
    strength :math:`A` on the pair :math:`\pm\mu_0` and :math:`rA` on the pair
    :math:`\pm\mu_1`, plus independent output noise:

    .. math::

        f(x) = s A\big(|\langle\mu_0, x\rangle| - r\,|\langle\mu_1, x\rangle|\big)
        + \xi, \qquad \xi \sim N(0, \sigma^2),

    with :math:`c = \sqrt2 A`. For :math:`r = 1` this is
    :math:`f(x) = c\, s\,\mathrm{sign}(x_1 x_2)\min(|x_1|, |x_2|) + \xi`:
    Bayes-correct, but with a signal that vanishes on the boundary.

    Parameters
    ----------
    ratio : array_like, default=1.0
        Imbalance :math:`r \ge 0` between the two pairs of blocks.
    noise_to_signal : array_like, default=0.0
        :math:`\sigma / c \ge 0`.

    Returns
    -------
    jax.Array
        :math:`P(\mathrm{sign} f(x) \ne y)` for :math:`x \sim N(0, I_2)`,
        broadcast over the two arguments.

    Raises
    ------
    TypeError
        If an argument is not real.
    ValueError
        If an argument is negative or NaN/inf (checked eagerly; under
        :func:`jax.jit` the values are not checked).

    See Also
    --------
    error_regions : Measures :math:`\hat\sigma / \hat c` of a trained network.

    Notes
    -----
    Without noise the boundary is rotated by :math:`|\arctan r - \pi/4|` and

    .. math:: \mathrm{err}(r) = \tfrac{2}{\pi}\,|\arctan r - \pi/4| ;

    for balanced blocks, with :math:`M = \min(|x_1|, |x_2|)` of density
    :math:`8\varphi(t)\Phi(-t)`,

    .. math::

        \mathrm{err}(\sigma/c) = \int_0^\infty 8\varphi(t)\Phi(-t)
        \Phi\!\big(-\tfrac{c\,t}{\sigma}\big)\,dt
        \approx \tfrac{2}{\pi}\,\tfrac{\sigma}{c} \quad (\sigma/c \to 0),

    linear in the noise-to-signal ratio (zero margin), not exponentially
    small. Both are derived here (the paper states the reliable/persistent
    error split, not these formulas). Computation: the output is positively
    homogeneous in :math:`x`, so in polar coordinates the radial integral is
    exact, :math:`\mathbb E[\Phi(-aR)] = \frac12(1 - a/\sqrt{1+a^2})` for a
    Rayleigh :math:`R`, and the angular integral is Gauss–Legendre on the
    three smooth pieces between the two boundaries, graded toward their
    ends (relative accuracy about 1e-12 for :math:`\sigma/c \ge 10^{-6}`);
    without noise the closed form is returned.

    References
    ----------
    .. [1] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR
       Classification with Zero-Margin", AISTATS 2026, arXiv:2602.00172.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> print(float(xor.ideal_xor_error()))
    0.0
    >>> r = 2.0  # closed form (2/pi) |arctan r - pi/4|
    >>> print(round(float(xor.ideal_xor_error(ratio=r)), 10),
    ...       round(2 / np.pi * abs(np.arctan(r) - np.pi / 4), 10))
    0.2048327647 0.2048327647
    >>> print(round(float(xor.ideal_xor_error(noise_to_signal=0.01)), 5))  # ~ 0.02/pi
    0.00633
    """
    r = as_array(ratio, name="ratio")
    ns = as_array(noise_to_signal, name="noise_to_signal")
    for arr, name in ((r, "ratio"), (ns, "noise_to_signal")):
        if jnp.issubdtype(arr.dtype, jnp.complexfloating):
            raise TypeError(f"{name} must be real; got dtype {arr.dtype}.")
        if not is_traced(arr) and bool(jnp.any(arr < 0)):
            raise ValueError(f"{name} must be >= 0; got min {float(jnp.min(arr)):.6g}.")
    return _ideal_jit(r, ns)  # type: ignore[no-any-return]

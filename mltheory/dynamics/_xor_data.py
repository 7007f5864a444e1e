"""Gaussian XOR data, the two-layer ReLU network and its logistic loss."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
from jax import lax

from mltheory._src._pytree import pytree_dataclass
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_array,
    check_float_dtype,
    check_in,
    check_key,
    check_scalar,
    describe,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "XORConfig",
    "XORParams",
    "forward",
    "init_params",
    "logistic_loss",
    "sample_xor",
]

Dist = Literal["gaussian", "hypercube", "student_t", "uniform_sphere"]
DISTS = ("gaussian", "hypercube", "student_t", "uniform_sphere")

# Test points are pushed through the network this many at a time, so memory
# stays O(chunk * width) whatever the test-set size. Small enough that a
# vmapped batch of seeds stays near the cache (measured on 2 CPU cores, width
# 256, 16 seeds: chunks of 512-1024 rows run 2-4x faster than 4096 rows).
_CHUNK = 1024


def check_label_sign(label_sign: Any) -> int:
    """``label_sign`` must be the integer +1 or -1."""
    if isinstance(label_sign, bool) or label_sign not in (1, -1):
        raise ValueError(f"label_sign must be +1 or -1; got {label_sign!r}.")
    return int(label_sign)


def check_df(df: Any) -> float:
    """Degrees of freedom of the Student-t inputs: > 2 (finite variance)."""
    return float(check_scalar(df, name="df", lower=2.0, lower_inclusive=False))


@dataclasses.dataclass(frozen=True)
class XORConfig:
    r"""Sizes and hyper-parameters of one XOR training run (validated, hashable).

    Parameters
    ----------
    d : int, default=32
        Input dimension, >= 2 (the signal plane is spanned by the first two
        coordinates).
    width : int, default=256
        Number of hidden neurons m, >= 1 (even when ``symmetric_init``).
    batch_size : int, default=128
        Fresh samples per SGD step (online SGD), >= 1.
    lr : float, default=0.05
        Learning rate of both layers, > 0.
    init_scale : float, default=0.01
        :math:`\theta`: initial first-layer rows have norm :math:`\theta`,
        initial second-layer weights are :math:`\pm\theta`; > 0.
    steps : int, default=2000
        Number of SGD steps, >= 1.
    record_every : int, default=100
        Record a snapshot every this many steps; divides ``steps``.
    label_sign : {1, -1}, default=1
        :math:`s` in the label :math:`y = s\,\mathrm{sign}(x_1 x_2)`.
    dist : {"gaussian", "hypercube", "student_t", "uniform_sphere"}, default="gaussian"
        Input law (see :func:`sample_xor`).
    df : float, default=5.0
        Degrees of freedom of ``dist="student_t"``, > 2.
    symmetric_init : bool, default=False
        Duplicate each initial neuron as :math:`(w_j, -a_j)` so that the
        initial network is identically 0 (up to the rounding of the sum).

    Raises
    ------
    TypeError
        If a size is not an integer or a rate not a real number.
    ValueError
        If a field is out of range, ``record_every`` does not divide
        ``steps``, ``dist`` is unknown, or ``width`` is odd with
        ``symmetric_init``.

    See Also
    --------
    train_xor : Runs the configuration.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> cfg = xor.XORConfig(d=8, width=32, steps=200, record_every=50)
    >>> cfg.steps // cfg.record_every + 1  # number of records
    5
    """

    d: int = 32
    width: int = 256
    batch_size: int = 128
    lr: float = 0.05
    init_scale: float = 0.01
    steps: int = 2000
    record_every: int = 100
    label_sign: int = 1
    dist: Dist = "gaussian"
    df: float = 5.0
    symmetric_init: bool = False

    def __post_init__(self) -> None:
        values = {
            "d": check_scalar(self.d, name="d", kind=int, lower=2),
            "width": check_scalar(self.width, name="width", kind=int, lower=1),
            "batch_size": check_scalar(
                self.batch_size, name="batch_size", kind=int, lower=1
            ),
            "lr": check_scalar(self.lr, name="lr", lower=0.0, lower_inclusive=False),
            "init_scale": check_scalar(
                self.init_scale, name="init_scale", lower=0.0, lower_inclusive=False
            ),
            "steps": check_scalar(self.steps, name="steps", kind=int, lower=1),
            "record_every": check_scalar(
                self.record_every, name="record_every", kind=int, lower=1
            ),
            "label_sign": check_label_sign(self.label_sign),
            "dist": check_in(self.dist, name="dist", options=DISTS),
            "df": check_df(self.df),
        }
        if not isinstance(self.symmetric_init, bool):
            raise TypeError(
                f"symmetric_init must be a bool; got {describe(self.symmetric_init)}."
            )
        if values["steps"] % values["record_every"] != 0:
            raise ValueError(
                f"record_every must divide steps (={values['steps']}); "
                f"got {values['record_every']}."
            )
        if self.symmetric_init and values["width"] % 2 != 0:
            raise ValueError(
                "width must be even with symmetric_init=True (neurons come in "
                f"pairs (w, a), (w, -a)); got {values['width']}."
            )
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def n_records(self) -> int:
        """Number of records, ``steps // record_every + 1`` (the first is step 0)."""
        return self.steps // self.record_every + 1


@pytree_dataclass
class XORParams:
    r"""Parameters of :math:`f(x) = \sum_j a_j \mathrm{ReLU}(\langle w_j, x\rangle)`.

    Parameters
    ----------
    W : jax.Array of shape (m, d)
        First-layer rows :math:`w_j` (neurons), no biases.
    a : jax.Array of shape (m,)
        Second-layer weights :math:`a_j`.

    See Also
    --------
    init_params : The small balanced initialisation.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.init_params(jax.random.key(0), 8, 16)
    >>> p.W.shape, p.a.shape
    ((16, 8), (16,))
    """

    W: Array
    a: Array

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        r"""Scatter the neurons in the signal plane, coloured by the sign of a_j.

        Each neuron is the point :math:`(w_{j1}, w_{j2})`, its size
        proportional to its output mass :math:`|a_j|\,\|w_j\|`; dotted lines
        mark the diagonals. After training the mass sits on four arms along
        the diagonals, whose colours alternate (the block labels).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes.

        Raises
        ------
        ValueError
            If the parameters are batched (e.g. a trajectory's snapshots).
        TypeError
            If ``ax`` is not an Axes or the parameters hold tracers.

        Examples
        --------
        >>> from mltheory.dynamics import xor
        >>> ax = xor.init_params(jax.random.key(0), 8, 64).plot()  # doctest: +SKIP
        """
        from mltheory.dynamics._xor_plots import plot_params

        return plot_params(self, ax, kwargs)


def check_params(params: Any, *, name: str = "params") -> XORParams:
    """Validate an :class:`XORParams` (one network: W 2-D, a 1-D, matching m)."""
    if not isinstance(params, XORParams):
        raise TypeError(f"{name} must be an XORParams; got {describe(params)}.")
    W = as_array(params.W, name=f"{name}.W", ndim=2, shape_hint="(m, d)")
    a = as_array(params.a, name=f"{name}.a", ndim=1, shape_hint="(m,)")
    if a.shape[0] != W.shape[0]:
        raise ValueError(
            f"{name}.a must have shape (m,) = ({W.shape[0]},); got {tuple(a.shape)}."
        )
    if W.shape[1] < 2:
        raise ValueError(
            f"{name}.W must have d >= 2 columns (the signal plane is spanned by "
            f"the first two); got shape {tuple(W.shape)}."
        )
    if jnp.issubdtype(W.dtype, jnp.complexfloating) or jnp.issubdtype(
        a.dtype, jnp.complexfloating
    ):
        raise TypeError(f"{name} must be real; got a complex W or a.")
    return XORParams(W, a)


def xor_labels(X: Array, label_sign: int) -> Array:
    """Labels s * sign(x1 x2), with the measure-zero tie x1 x2 = 0 sent to +s."""
    s = jnp.asarray(label_sign, X.dtype)
    return jnp.where(X[:, 0] * X[:, 1] >= 0, s, -s)


def sample_inputs(
    key: KeyArray, n: int, d: int, dist: str, df: float, dtype: Any
) -> Array:
    """Inputs of shape (n, d) from ``dist``; every law has identity covariance."""
    if dist == "gaussian":
        return jax.random.normal(key, (n, d), dtype)
    if dist == "hypercube":
        return jax.random.rademacher(key, (n, d), dtype)
    if dist == "student_t":
        t = jax.random.t(key, df, (n, d), dtype)
        return t * jnp.asarray(math.sqrt((df - 2.0) / df), dtype)
    z = jax.random.normal(key, (n, d), dtype)
    return z * (math.sqrt(d) / jnp.linalg.norm(z, axis=1, keepdims=True))


def sample_xor(
    key: KeyArray,
    n: int,
    d: int,
    *,
    dist: Dist = "gaussian",
    label_sign: int = 1,
    df: float = 5.0,
    dtype: Any = None,
) -> tuple[Array, Array]:
    r"""Draw ``n`` XOR samples :math:`(x, y)`, :math:`y = s\,\mathrm{sign}(x_1 x_2)`.

    Parameters
    ----------
    key : jax.Array
        PRNG key.
    n : int
        Number of samples, >= 1.
    d : int
        Input dimension, >= 2.
    dist : {"gaussian", "hypercube", "student_t", "uniform_sphere"}, default="gaussian"
        Input law, each with identity covariance: :math:`N(0, I_d)`;
        uniform on :math:`\{\pm 1\}^d`; i.i.d. Student-t coordinates with
        ``df`` degrees of freedom scaled to unit variance; uniform on the
        sphere of radius :math:`\sqrt d`.
    label_sign : {1, -1}, default=1
        :math:`s`. Glasgow's hypercube convention :math:`y = -x_1 x_2` is
        ``label_sign=-1``.
    df : float, default=5.0
        Degrees of freedom for ``dist="student_t"``, > 2.
    dtype : dtype, optional
        Floating dtype; default JAX's default float.

    Returns
    -------
    X : jax.Array of shape (n, d)
        Inputs.
    y : jax.Array of shape (n,)
        Labels in :math:`\{-1, +1\}` (balanced: :math:`P(y = 1) = 1/2`).

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, a size is not an integer or ``dtype``
        is not floating.
    ValueError
        If ``n < 1``, ``d < 2``, ``dist`` is unknown, ``label_sign`` is not
        :math:`\pm 1` or ``df <= 2``.

    See Also
    --------
    train_xor : Trains on fresh samples from this law.

    Notes
    -----
    Every law is symmetric under :math:`x_1 \mapsto -x_1`, which flips the
    label, so the labels are balanced. For continuous laws the Bayes
    classifier has zero error and zero margin: a fraction
    :math:`\approx 4t/\sqrt{2\pi}` of Gaussian inputs lies within distance
    :math:`t` of the decision boundary (the two axes). On the hypercube the
    margin is positive.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> X, y = xor.sample_xor(jax.random.key(0), 1000, 4)
    >>> X.shape, bool(jnp.all(y == jnp.sign(X[:, 0] * X[:, 1])))
    ((1000, 4), True)
    """
    key = check_key(key)
    n = check_scalar(n, name="n", kind=int, lower=1)
    d = check_scalar(d, name="d", kind=int, lower=2)
    check_in(dist, name="dist", options=DISTS)
    label_sign = check_label_sign(label_sign)
    df = check_df(df)
    dtype = check_float_dtype(dtype, name="dtype")
    return _sample_jit(key, n, d, dist, df, dtype, label_sign)  # type: ignore[no-any-return]


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _sample_jit(
    key: KeyArray, n: int, d: int, dist: str, df: float, dtype: Any, label_sign: int
) -> tuple[Array, Array]:
    X = sample_inputs(key, n, d, dist, df, dtype)
    return X, xor_labels(X, label_sign)


def init_params(
    key: KeyArray,
    d: int,
    width: int,
    *,
    init_scale: float = 0.01,
    symmetric: bool = False,
    dtype: Any = None,
) -> XORParams:
    r"""Small balanced initialisation: rows of norm theta, output weights +-theta.

    Parameters
    ----------
    key : jax.Array
        PRNG key.
    d : int
        Input dimension, >= 2.
    width : int
        Number of neurons m, >= 1 (even when ``symmetric``).
    init_scale : float, default=0.01
        :math:`\theta > 0`.
    symmetric : bool, default=False
        Draw m/2 neurons and append their twins :math:`(w_j, -a_j)`, so that
        :math:`f \equiv 0` at initialisation (up to the rounding of the sum
        over neurons).
    dtype : dtype, optional
        Floating dtype; default JAX's default float.

    Returns
    -------
    XORParams
        ``W`` of shape (width, d) with rows of norm ``init_scale``, ``a`` of
        shape (width,) with entries :math:`\pm` ``init_scale`` (independent
        fair signs).

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, a size is not an integer or ``dtype``
        not floating.
    ValueError
        If ``d < 2``, ``width < 1``, ``init_scale <= 0``, or ``width`` is
        odd with ``symmetric=True``.

    See Also
    --------
    train_xor : Trains from this initialisation.

    Notes
    -----
    This is the small, balanced (:math:`|a_j| = \|w_j\|`) initialisation of
    Glasgow's analysis [1]_, under which both layers grow together.

    References
    ----------
    .. [1] M. Glasgow, "SGD Finds then Tunes Features in Two-Layer Neural
       Networks with near-Optimal Sample Complexity: A Case Study in the XOR
       problem", ICLR 2024, arXiv:2309.15111.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.init_params(jax.random.key(0), 4, 6, symmetric=True)
    >>> X, _ = xor.sample_xor(jax.random.key(1), 3, 4)
    >>> bool(jnp.max(jnp.abs(xor.forward(p, X))) < 1e-12)
    True
    """
    key = check_key(key)
    d = check_scalar(d, name="d", kind=int, lower=2)
    width = check_scalar(width, name="width", kind=int, lower=1)
    init_scale = check_scalar(
        init_scale, name="init_scale", lower=0.0, lower_inclusive=False
    )
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be a bool; got {describe(symmetric)}.")
    if symmetric and width % 2 != 0:
        raise ValueError(
            "width must be even with symmetric=True (neurons come in pairs "
            f"(w, a), (w, -a)); got {width}."
        )
    dtype = check_float_dtype(dtype, name="dtype")
    return _init_jit(key, d, width, init_scale, symmetric, dtype)  # type: ignore[no-any-return]


def init_core(
    key: KeyArray, d: int, width: int, init_scale: float, symmetric: bool, dtype: Any
) -> XORParams:
    """The initialisation without validation (traceable in ``key``)."""
    n = width // 2 if symmetric else width
    kw, ka = jax.random.split(key)
    Z = jax.random.normal(kw, (n, d), dtype)
    W = jnp.asarray(init_scale, dtype) * Z / jnp.linalg.norm(Z, axis=1, keepdims=True)
    a = jnp.asarray(init_scale, dtype) * jax.random.rademacher(ka, (n,), dtype)
    if symmetric:
        W, a = jnp.concatenate([W, W]), jnp.concatenate([a, -a])
    return XORParams(W, a)


_init_jit = jax.jit(init_core, static_argnums=(1, 2, 3, 4, 5))


def forward_core(params: XORParams, X: Array) -> Array:
    """Network output on a batch, without validation."""
    return jax.nn.relu(X @ params.W.T) @ params.a


def forward_chunked(params: XORParams, X: Array) -> Array:
    """:func:`forward_core` on ``_CHUNK`` rows at a time (bounded memory)."""
    n = X.shape[0]
    if n <= _CHUNK:
        return forward_core(params, X)
    n_chunks = -(-n // _CHUNK)
    pad = n_chunks * _CHUNK - n
    Xp = jnp.concatenate([X, jnp.zeros((pad, X.shape[1]), X.dtype)])
    out = lax.map(
        lambda x: forward_core(params, x), Xp.reshape(n_chunks, _CHUNK, X.shape[1])
    )
    return out.reshape(-1)[:n]


def loss_core(params: XORParams, X: Array, y: Array) -> Array:
    """Mean logistic loss, without validation."""
    return jnp.mean(jax.nn.softplus(-y * forward_core(params, X)))


def _check_inputs(params: Any, X: Any) -> tuple[XORParams, Array]:
    params = check_params(params)
    X_arr = as_array(X, name="X", ndim=2, shape_hint="(n, d)")
    if jnp.issubdtype(X_arr.dtype, jnp.complexfloating):
        raise TypeError(f"X must be real; got dtype {X_arr.dtype}.")
    if X_arr.shape[1] != params.W.shape[1]:
        raise ValueError(
            f"X must have d = {params.W.shape[1]} columns (params.W has shape "
            f"{tuple(params.W.shape)}); got shape {tuple(X_arr.shape)}."
        )
    return params, X_arr


def forward(params: XORParams, X: ArrayLike) -> Array:
    r"""Network output :math:`f(x) = \sum_j a_j \mathrm{ReLU}(\langle w_j, x\rangle)`.

    Parameters
    ----------
    params : XORParams
        The network.
    X : array_like of shape (n, d)
        Inputs.

    Returns
    -------
    jax.Array of shape (n,)
        The outputs; the predicted label is their sign.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`XORParams` or an input is complex.
    ValueError
        If ``X`` is not 2-D with ``d`` columns or holds NaN/inf.

    See Also
    --------
    logistic_loss : The training loss on these outputs.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.XORParams(jnp.array([[1.0, 1.0], [1.0, -1.0]]), jnp.array([1.0, -1.0]))
    >>> print(np.asarray(xor.forward(p, jnp.array([[2.0, 1.0], [1.0, -3.0]]))))
    [ 2. -4.]
    """
    params, X_arr = _check_inputs(params, X)
    return _forward_jit(params, X_arr)  # type: ignore[no-any-return]


def logistic_loss(params: XORParams, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Mean logistic loss :math:`\frac1n \sum_i \log(1 + e^{-y_i f(x_i)})`.

    Parameters
    ----------
    params : XORParams
        The network.
    X : array_like of shape (n, d)
        Inputs.
    y : array_like of shape (n,)
        Labels (:math:`\pm 1`).

    Returns
    -------
    jax.Array
        The scalar loss (computed as ``softplus(-y f)``, stable for large
        margins).

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`XORParams` or an input is complex.
    ValueError
        If ``X`` is not 2-D with ``d`` columns, ``y`` does not have one entry
        per row of ``X``, or an input holds NaN/inf.

    See Also
    --------
    train_xor : Minimises it by online SGD.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> p = xor.init_params(jax.random.key(0), 4, 8, symmetric=True)
    >>> X, y = xor.sample_xor(jax.random.key(1), 10, 4)
    >>> print(round(float(xor.logistic_loss(p, X, y)), 6))  # log 2 at f = 0
    0.693147
    """
    params, X_arr = _check_inputs(params, X)
    y_arr = as_array(y, name="y", ndim=1, shape_hint="(n,)")
    if y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"y must have one label per row of X (n = {X_arr.shape[0]}); got "
            f"shape {tuple(y_arr.shape)}."
        )
    return _loss_jit(params, X_arr, y_arr)  # type: ignore[no-any-return]


_forward_jit = jax.jit(forward_core)
_loss_jit = jax.jit(loss_core)

"""Online minibatch SGD of the two-layer ReLU network on XOR, on ``lax.scan``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import (
    check_float_dtype,
    check_key,
    check_on_divergence,
    check_scalar,
    describe,
)
from mltheory.dynamics._xor_analysis import signals_core
from mltheory.dynamics._xor_data import (
    XORConfig,
    XORParams,
    check_params,
    forward_core,
    init_core,
    loss_core,
    sample_inputs,
    xor_labels,
)
from mltheory.numerics import (
    handle_divergence,
    map_keys,
    scan_with_records,
    update_first_bad_step,
)

if TYPE_CHECKING:
    from jax.sharding import Mesh
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["XORTrajectory", "train_xor"]


@pytree_dataclass
class XORTrajectory:
    r"""Snapshots and statistics of an XOR training run, every ``record_every`` steps.

    ``R = steps // record_every + 1`` records, the first at step 0. A run
    vmapped over keys has one more leading axis (the seed) on every field.

    Parameters
    ----------
    steps : jax.Array of shape (R,)
        Step of each record.
    params : XORParams
        Stacked snapshots: ``W`` of shape (R, m, d), ``a`` of shape (R, m).
    train_loss : jax.Array of shape (R,)
        Mean minibatch logistic loss over the ``record_every`` steps before
        each record (record 0: the loss of the initial network on the first
        batch).
    test_loss : jax.Array of shape (R,)
        Logistic loss on the fixed test set of the run.
    test_error : jax.Array of shape (R,)
        Test error (a zero output counts as half an error).
    rho : jax.Array of shape (R,)
        Global signal-to-noise ratio (see :class:`BlockSignals`).
    block_signal : jax.Array of shape (R, 4)
        Block signals :math:`S_k`.
    block_noise : jax.Array of shape (R, 4)
        Block noise :math:`N_k`.
    block_size : jax.Array of shape (R, 4)
        Block sizes :math:`|B_k|`.
    block_spread : jax.Array of shape (R,)
        :math:`\mathrm{std}_k |S_k| / \mathrm{mean}_k |S_k|`.
    within_block_spread : jax.Array of shape (R, 4)
        Neuron spread :math:`\mathrm{std}(s_j)/\mathrm{mean}(s_j)` inside each
        block.
    first_bad_step : jax.Array
        Integer step at which the parameters first became non-finite, -1 if
        they stayed finite (one per seed when vmapped).
    config : XORConfig
        The configuration of the run (static).

    See Also
    --------
    train_xor : Produces it.
    phase_split : The end of the signal-finding phase.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> cfg = xor.XORConfig(d=8, width=32, steps=200, record_every=50)
    >>> traj = xor.train_xor(jax.random.key(0), cfg, n_test=512)
    >>> traj.params.W.shape, traj.block_signal.shape, int(traj.first_bad_step)
    ((5, 32, 8), (5, 4), -1)
    """

    steps: Array
    params: XORParams
    train_loss: Array
    test_loss: Array
    test_error: Array
    rho: Array
    block_signal: Array
    block_noise: Array
    block_size: Array
    block_spread: Array
    within_block_spread: Array
    first_bad_step: Array
    config: XORConfig = static_field()

    @property
    def diverged(self) -> Array:
        """Whether the run became non-finite (per seed when vmapped)."""
        return self.first_bad_step >= 0

    def _record_leaves(self) -> tuple[Any, ...]:
        """Recorded values checked for NaN/inf by the divergence policy.

        The network and its losses only: the diagnostics use NaN/inf as
        documented sentinels (``rho`` is inf for ``d = 2``; a block spread is
        NaN for a block of fewer than two neurons), which are not divergence.
        """
        return (self.params, self.train_loss, self.test_loss)

    @property
    def final_params(self) -> XORParams:
        """The network at the last record (per seed when vmapped)."""
        return XORParams(self.params.W[..., -1, :, :], self.params.a[..., -1, :])

    def _summary_items(self) -> dict[str, Any]:
        return {
            "steps": self.steps[..., -1],
            "final test error": self.test_error[..., -1],
            "final rho": self.rho[..., -1],
            "final block spread": self.block_spread[..., -1],
            "diverged": self.diverged,
        }

    def plot(
        self,
        ax: Axes | Sequence[Axes] | None = None,
        *,
        panel: Literal["rho", "blocks", "error", "loss"] | None = None,
        label: str | None = None,
        kind: Literal["theory", "simulation", "data"] = "simulation",
        **kwargs: Any,
    ) -> Axes | Figure:
        r"""Plot the two phases: :math:`\rho`, the four block signals, the test error.

        With ``panel=None`` a figure of three panels against the SGD step:
        the signal-to-noise ratio :math:`\rho` (log scale, with the line
        :math:`\rho = 1`), the block signals :math:`|S_k|` (one colour per
        block; they overlap once the blocks move coherently) and the test
        error, each with a dotted vertical line at the phase split. A run
        vmapped over seeds draws one curve per seed (the block panel needs a
        single run).

        Parameters
        ----------
        ax : Axes, sequence of 3 Axes, or None, default=None
            Where to draw: one Axes with ``panel``, three without; ``None``
            makes a new figure (shown in Jupyter).
        panel : {"rho", "blocks", "error", "loss"}, optional
            Draw only this panel on one Axes (``"loss"``: train and test
            logistic loss).
        label : str, optional
            Appended to the legend entries; default ``"SGD"``.
        kind : {"theory", "simulation", "data"}, default="simulation"
            How the curves are drawn (markers for a simulation).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes or matplotlib.figure.Figure
            The Axes with ``panel``, the Figure without.

        Raises
        ------
        ValueError
            If ``panel`` is unknown, or the run is batched with
            ``panel="blocks"``.
        TypeError
            If ``ax`` does not match, or the run holds tracers.

        Examples
        --------
        >>> from mltheory.dynamics import xor
        >>> traj = xor.train_xor(jax.random.key(0))  # doctest: +SKIP
        >>> fig = traj.plot()  # doctest: +SKIP
        """
        from mltheory.dynamics._xor_plots import plot_trajectory

        return plot_trajectory(self, ax, panel, label, kind, kwargs)


# Rows of the test set per network evaluation in the records. 512 rows are
# enough for XLA's CPU backend to split the product over both cores (it splits
# along the rows, not along a vmapped seed axis), and 16 vmapped seeds, whose
# chunks are evaluated together, keep their (16, rows, m) hidden layers in the
# L3 cache (8 MiB each in float32 at m = 256); 1024 rows spill it.
_TEST_CHUNK = 512


def _test_chunks(X: Array) -> Array:
    """The test set zero-padded and cut into chunks, shape (n_chunks, rows, d).

    Made once per run, before the loop: under :func:`jax.vmap` the seed axis
    leads, and each record slices chunk ``i`` of every seed in place (no
    per-record copy or transpose of the whole test set).
    """
    n, d = X.shape
    n_chunks = -(-n // _TEST_CHUNK)
    Xp = jnp.concatenate([X, jnp.zeros((n_chunks * _TEST_CHUNK - n, d), X.dtype)])
    return Xp.reshape(n_chunks, _TEST_CHUNK, d)


def _forward_chunks(params: XORParams, chunks: Array, n: int) -> Array:
    """The network on the first ``n`` rows of :func:`_test_chunks`, chunk by chunk."""
    n_chunks, rows, _ = chunks.shape

    def body(i: Array, out: Array) -> Array:
        x = lax.dynamic_index_in_dim(chunks, i, keepdims=False)
        return lax.dynamic_update_index_in_dim(out, forward_core(params, x), i, 0)

    out = lax.fori_loop(0, n_chunks, body, jnp.zeros((n_chunks, rows), chunks.dtype))
    return out.reshape(-1)[:n]


def _step_loss(params: XORParams, X: Array, y: Array) -> Array:
    """:func:`loss_core` with the hidden layer laid out (m, B): the same sums.

    The forward product ``W X^T`` then makes the weight gradient of
    reverse-mode a plain (m, B) x (B, d) product, which XLA's CPU backend
    runs about twice as fast as the (B, m)^T x (B, d) product of the
    (B, m) layout.
    """
    f = params.a @ jax.nn.relu(params.W @ X.T)
    return jnp.mean(jax.nn.softplus(-y * f))


def _error_and_loss(params: XORParams, chunks: Array, y: Array) -> tuple[Array, Array]:
    margin = y * _forward_chunks(params, chunks, y.shape[0])
    wrong = jnp.where(margin < 0, 1.0, jnp.where(margin == 0, 0.5, 0.0))
    wrong = jnp.where(jnp.isnan(margin), jnp.nan, wrong)  # a diverged network
    return jnp.mean(wrong).astype(chunks.dtype), jnp.mean(jax.nn.softplus(-margin))


# Batches are drawn a chunk of steps at a time: one call of the generator
# instead of one per step (3-4x cheaper on CPU at B x d = 128 x 32), with at
# most this many input entries per chunk, so that a vmapped batch of seeds
# still draws in cache (measured at 16 seeds: chunks of 10 steps draw 7x
# faster than chunks of 100).
_DRAW_ELEMENTS = 1 << 16


def _draw_chunk(record_every: int, batch_elements: int) -> int:
    """The largest divisor of ``record_every`` whose batches fit the budget."""
    most = max(1, _DRAW_ELEMENTS // batch_elements)
    return max(
        c for c in range(1, min(record_every, most) + 1) if record_every % c == 0
    )


# Static: what fixes the shapes and the program; the learning rate is traced
# (a new lr reuses the compilation), the init options act outside.
_STATIC = ("batch_size", "steps", "record_every", "label_sign", "dist", "df", "n_test")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _train(
    key: KeyArray,
    k_test: KeyArray,
    params: XORParams,
    lr: Array,
    *,
    batch_size: int,
    steps: int,
    record_every: int,
    label_sign: int,
    dist: str,
    df: float,
    n_test: int,
) -> XORTrajectory:
    dtype = params.W.dtype
    d, B, s = params.W.shape[1], batch_size, label_sign
    k_batch = jax.random.fold_in(key, 1)
    grad = jax.value_and_grad(_step_loss)

    def batch(n: Array) -> tuple[Array, Array]:
        X = sample_inputs(jax.random.fold_in(k_batch, n), B, d, dist, df, dtype)
        return X, xor_labels(X, s)

    X_test = sample_inputs(k_test, n_test, d, dist, df, dtype)
    y_test = xor_labels(X_test, s)
    test_chunks = _test_chunks(X_test)

    def step(
        n: Array,
        carry: tuple[XORParams, Array, Array],
        xy: tuple[Array, Array],
    ) -> tuple[XORParams, Array, Array]:
        p, cum_loss, first_bad = carry
        loss, g = grad(p, *xy)
        new = jax.tree_util.tree_map(lambda w, gw: w - lr * gw, p, g)
        return new, cum_loss + loss, update_first_bad_step(first_bad, n + 1, new)

    def observe(carry: tuple[XORParams, Array, Array]) -> tuple[Any, ...]:
        p, cum_loss, _ = carry
        err, tloss = _error_and_loss(p, test_chunks, y_test)
        return p, cum_loss, err, tloss

    loss0 = loss_core(params, *batch(jnp.asarray(0, jnp.int32)))
    init = (params, jnp.zeros((), dtype), jnp.asarray(-1, jnp.int32))
    (_, _, first_bad), (snaps, cum, err, tloss) = scan_with_records(
        step,
        init,
        n_steps=steps,
        record_every=record_every,
        observe=observe,
        draw=jax.vmap(batch),  # the batches of a chunk of steps in one call
        draw_chunk=_draw_chunk(record_every, B * d),
    )
    window = jnp.diff(cum) / record_every
    train_loss = jnp.concatenate([loss0[None], window])
    sig = jax.vmap(lambda W, a: signals_core(W, a, s))(snaps.W, snaps.a)
    return XORTrajectory(
        steps=jnp.arange(steps // record_every + 1) * record_every,
        params=snaps,
        train_loss=train_loss,
        test_loss=tloss,
        test_error=err,
        rho=sig.rho,
        block_signal=sig.signal,
        block_noise=sig.noise,
        block_size=sig.size,
        block_spread=sig.spread,
        within_block_spread=sig.within_block_spread,
        first_bad_step=first_bad,
        config=None,  # type: ignore[arg-type]
    )


def train_xor(
    key: KeyArray,
    config: XORConfig | None = None,
    *,
    params: XORParams | None = None,
    n_test: int = 20_000,
    test_key: KeyArray | None = None,
    dtype: Any = None,
    on_divergence: Literal["raise", "warn", "flag"] = "raise",
    mesh: Mesh | None = None,
) -> XORTrajectory:
    r"""Train the two-layer ReLU network on XOR by online minibatch SGD (``lax.scan``).

    Each step draws a fresh batch :math:`(x_b, y_b)`, :math:`b = 1..B`, from
    the configured law (:func:`sample_xor`) and updates both layers with the
    same learning rate :math:`\eta`,

    .. math::

        (W, a) \leftarrow (W, a) - \eta\, \nabla_{W, a}\,
        \frac1B \sum_b \log\big(1 + e^{-y_b f(x_b)}\big),

        f(x) = \sum_j a_j \mathrm{ReLU}(\langle w_j, x\rangle).

    Every ``record_every`` steps it stores the network, the test loss and
    error on a fixed test set of ``n_test`` samples, and the block
    statistics of :func:`block_signals`.

    Parameters
    ----------
    key : jax.Array
        PRNG key; the initialisation, the batches and the test set are drawn
        from ``fold_in(key, 0)``, ``fold_in(key, 1)`` (step ``n`` from
        ``fold_in(fold_in(key, 1), n)``) and ``fold_in(key, 2)``. The same
        key gives the same run. A 1-D array of keys
        (``jax.random.split(key, S)``) trains ``S`` seeds as one vmapped
        computation (the same as ``jax.vmap`` over the keys); every field of
        the result then has a leading seed axis.
    config : XORConfig, optional
        Sizes and hyper-parameters; default ``XORConfig()`` (d = 32, m = 256,
        B = 128, lr = 0.05, 2000 steps).
    params : XORParams, optional
        Initial network of shape (config.width, config.d); default
        :func:`init_params` with ``config.init_scale`` and
        ``config.symmetric_init``.
    n_test : int, default=20_000
        Size of the fixed test set, >= 1.
    test_key : jax.Array, optional
        Key of the test set; default ``fold_in(key, 2)``. Pass one shared key
        when vmapping over seeds to score every seed on the same test set
        (common random numbers: differences between seeds are then not test
        noise).
    dtype : dtype, optional
        Working dtype; default the dtype of ``params``, else JAX's default
        float (use ``jnp.float32`` for speed when x64 is on).
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        What to do when the parameters become non-finite (too large a
        learning rate): raise :class:`~mltheory.exceptions.DivergenceError`,
        warn :class:`~mltheory.exceptions.DivergenceWarning` and keep the
        finite records, or only set ``first_bad_step``. Under :func:`jax.jit`
        or :func:`jax.vmap` nothing can be raised: the field carries it. For a
        batch of keys the policy applies to the whole batch (the first seed
        that diverged is named; ``"warn"`` keeps the records before the
        earliest bad step of any seed).
    mesh : jax.sharding.Mesh, optional
        Split the seeds of a batch of keys over the devices of this one-axis
        mesh (:func:`mltheory.numerics.make_mesh`); the number of keys must be
        a multiple of its size. The results equal those without a mesh.

    Returns
    -------
    XORTrajectory
        ``config.steps // config.record_every + 1`` records.

    Raises
    ------
    TypeError
        If ``key`` is not a PRNG key, ``config`` not an :class:`XORConfig`,
        ``params`` not an :class:`XORParams` or ``dtype`` not floating.
    ValueError
        If ``params`` does not have shape (width, d) or holds NaN/inf,
        ``n_test < 1`` or ``on_divergence`` is unknown.
    DivergenceError
        With ``on_divergence="raise"``, if the run becomes non-finite
        (eager calls only).

    See Also
    --------
    block_signals : The block statistics recorded here.
    phase_split : Where phase 1 ends.
    error_regions : Where the final network errs.

    Notes
    -----
    Many seeds at once (one compilation, the seed a vmapped axis; every field
    of the result gains a leading seed axis):

    .. code-block:: python

        keys = jax.random.split(jax.random.key(0), 16)
        runs = xor.train_xor(keys, cfg)  # = jax.vmap over the keys
        # one test set for every seed, the seeds split over the devices:
        runs = xor.train_xor(keys, cfg, test_key=jax.random.key(1),
                             mesh=numerics.make_mesh())

    On a CPU, one device runs the per-step products of all the vmapped seeds
    on one core (at the default sizes they are too small for XLA to split),
    so 16 vmapped seeds gain little wall time over 16 runs one after the other.
    To use several cores, split the CPU into devices when the program starts
    (``jax.config.update("jax_num_cpu_devices", 2)``, before any JAX
    computation) and pass ``mesh=numerics.make_mesh()``: each device then
    trains its share of the seeds on a core of its own.

    Cost per step: three products of sizes :math:`B \times d \times m`; per
    record: two with ``n_test`` rows (chunked, memory
    :math:`O(512\, m)`). The default configuration follows the
    experiments of [1]_ in size (online SGD on the logistic loss, both layers
    trained, small balanced initialisation as in [2]_); its exact
    hyper-parameters are a library choice.

    References
    ----------
    .. [1] G. Braun and M. Imaizumi, "Neuron Block Dynamics for XOR
       Classification with Zero-Margin", AISTATS 2026, arXiv:2602.00172.
    .. [2] M. Glasgow, "SGD Finds then Tunes Features in Two-Layer Neural
       Networks with near-Optimal Sample Complexity: A Case Study in the XOR
       problem", ICLR 2024, arXiv:2309.15111.

    Examples
    --------
    >>> from mltheory.dynamics import xor
    >>> cfg = xor.XORConfig(d=8, width=32, steps=200, record_every=50)
    >>> traj = xor.train_xor(jax.random.key(0), cfg, n_test=512)
    >>> bool(traj.test_error[-1] < traj.test_error[0])
    True
    """
    if config is None:
        config = XORConfig()
    if not isinstance(config, XORConfig):
        raise TypeError(f"config must be an XORConfig; got {describe(config)}.")
    if mesh is not None or _is_key_batch(key):
        check_on_divergence(on_divergence)
        batch = map_keys(
            lambda k: train_xor(
                k,
                config,
                params=params,
                n_test=n_test,
                test_key=test_key,
                dtype=dtype,
                on_divergence="flag",  # applied to the whole batch below
            ),
            key,
            mesh=mesh,
            name="key",
        )
        return _policy(batch, on_divergence)
    key = check_key(key)
    n_test = check_scalar(n_test, name="n_test", kind=int, lower=1)
    k_test = (
        jax.random.fold_in(key, 2)
        if test_key is None
        else check_key(test_key, name="test_key")
    )
    check_on_divergence(on_divergence)
    if params is None:
        dtype = check_float_dtype(dtype, name="dtype")
        params = init_core(
            jax.random.fold_in(key, 0),
            config.d,
            config.width,
            config.init_scale,
            config.symmetric_init,
            dtype,
        )
    else:
        params = check_params(params)
        if tuple(params.W.shape) != (config.width, config.d):
            raise ValueError(
                f"params.W must have shape (width, d) = ({config.width}, "
                f"{config.d}) of the config; got {tuple(params.W.shape)}."
            )
        dtype = check_float_dtype(dtype, name="dtype", default=params.W.dtype)
        params = XORParams(params.W.astype(dtype), params.a.astype(dtype))
    traj = _train(
        key,
        k_test,
        params,
        jnp.asarray(config.lr, dtype),
        batch_size=config.batch_size,
        steps=config.steps,
        record_every=config.record_every,
        label_sign=config.label_sign,
        dist=config.dist,
        df=config.df,
        n_test=n_test,
    )
    return _policy(dataclasses.replace(traj, config=config), on_divergence)


def _is_key_batch(key: Any) -> bool:
    return (
        isinstance(key, jax.Array)
        and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        and key.ndim == 1
    )


def _policy(traj: XORTrajectory, on_divergence: str) -> XORTrajectory:
    config = traj.config
    return handle_divergence(
        traj,
        on_divergence=on_divergence,  # type: ignore[arg-type]
        what="train_xor",
        cause=(
            f"the learning rate lr = {config.lr:g} is too large: the weights "
            "grow until they overflow; lower lr (or init_scale)"
        ),
        record_every=config.record_every,
        n_steps=config.steps,
        n_records=config.n_records,
        step_name="SGD step",
        stacklevel=4,
    )

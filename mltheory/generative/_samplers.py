r"""MaskGIT, the moment sampler and generic choose-then-sample (CTS) samplers.

All samplers share one jitted loop (:func:`jax.lax.scan` over the steps)
over any denoiser ``logits_fn(tokens, mask) -> logits`` with ``tokens``
int32 ``(B, L)``, ``mask`` bool ``(B, L)`` (True = masked) and ``logits``
float ``(B, L, V)``. A step calls the denoiser once on the whole batch, then
maps a per-row step rule over the rows with one key per row, so a row's
result depends only on its key and its own tokens.

Keys: a single key is split into one key per row
(``jax.random.split(key, B)``); an array of ``B`` keys is used as is. Row
``b`` at step ``t`` uses ``jax.random.fold_in(row_key_b, t)``. Hence row
``b`` of a batched call equals an unbatched call (tokens of shape ``(L,)``)
with key ``jax.random.split(key, B)[b]``.
"""

from __future__ import annotations

import inspect
import types
import warnings
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import checkify
from jax.sharding import Mesh

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    check_callable,
    check_in,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.generative._policies import (
    BetaTokens,
    Greedy,
    Hybrid,
    Moment,
    PositionPolicy,
    TemperatureTokens,
    TokenRule,
    Uniform,
    _at_step,
    _check_field,
    categorical,
    select_positions,
)
from mltheory.generative._schedules import (
    Schedule,
    _check_schedule,
    _counts_jit,
    gumbel_scale_schedule,
)
from mltheory.numerics import gumbel_topk, shard_leading_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "LogitsFn",
    "SampleResult",
    "cts_sample",
    "hybrid_sample",
    "maskgit_sample",
    "moment_sample",
]

LogitsFn = Callable[[Array, Array], Array]


@pytree_dataclass
class SampleResult:
    r"""The output of a masked-diffusion sampler.

    Parameters
    ----------
    tokens : jax.Array of int32, shape (B, L) or (L,)
        The generated sequences; no ``mask_id`` is left.
    reveal_step : jax.Array of int32, shape of ``tokens``
        The step at which each position was revealed; ``-1`` for positions
        given (unmasked) in the input.
    trajectory : jax.Array of int32, shape (B, T, L) or (T, L), or None
        The state after each step (``mask_id`` where still masked), when
        requested.
    nfe : jax.Array
        Denoiser calls, as full-pass equivalents (a float scalar): ``T`` for
        the uncached samplers, less than the number of steps under partial
        caching.
    info : dict of str to jax.Array
        Per-step quantities: ``"k"`` (reveal counts, ``(B, T)``), and where
        they apply ``"alpha"`` (Gumbel scale), ``"beta"`` (position
        :math:`\beta`) and ``"temperature"`` (MaskGIT's implicit token
        temperature :math:`\alpha/(1+\alpha)`).
    num_steps : int
        The number of steps run (after clamping).

    See Also
    --------
    maskgit_sample, moment_sample, cts_sample : Samplers returning it.

    Examples
    --------
    >>> from mltheory import generative
    >>> res = generative.SampleResult(
    ...     tokens=jnp.zeros((1, 2), jnp.int32),
    ...     reveal_step=jnp.zeros((1, 2), jnp.int32),
    ...     trajectory=None, nfe=jnp.asarray(1.0), info={}, num_steps=1)
    >>> leaves, tree = jax.tree_util.tree_flatten(res)
    >>> jax.tree_util.tree_unflatten(tree, leaves).num_steps
    1
    """

    tokens: Array
    reveal_step: Array
    trajectory: Array | None
    nfe: Array
    info: dict[str, Array]
    num_steps: int = static_field(default=0)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        show: Literal["reveal", "counts"] = "reveal",
        max_sequences: int = 64,
        label: str | None = None,
        **kwargs: Any,
    ) -> Axes:
        """Plot the reveal order, or the number of tokens revealed per step.

        ``show="reveal"``: a heatmap of ``reveal_step`` (sequence against
        position; positions given in the input are blank), the order in which
        the sampler unmasked. ``show="counts"``: the tokens revealed at each
        step, averaged over the sequences, as bars.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        show : {"reveal", "counts"}, default="reveal"
            Which picture.
        max_sequences : int, default=64
            At most this many sequences in the heatmap (the first ones).
        label : str, optional
            Legend label of the bars (``show="counts"``).
        **kwargs
            Passed to :meth:`~matplotlib.axes.Axes.pcolormesh` or
            :meth:`~matplotlib.axes.Axes.bar`.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If ``show`` is unknown, or ``show="counts"`` and the result has no
            per-step counts ``info["k"]``.
        TypeError
            If the result holds tracers (call ``.plot()`` outside jit).

        Examples
        --------
        >>> from mltheory import generative
        >>> from mltheory.generative import toy
        >>> model = toy.random_markov(jax.random.key(0), 3, length=6)
        >>> res = generative.maskgit_sample(jax.random.key(1), model,
        ...                                 jnp.full((2, 6), 3), mask_id=3, num_steps=3)
        >>> res.reveal_step.shape
        (2, 6)
        >>> ax = res.plot()  # doctest: +SKIP
        >>> ax = res.plot(show="counts")  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        check_in(show, name="show", options=("reveal", "counts"))
        m = check_scalar(max_sequences, name="max_sequences", kind=int, lower=1)
        ax = P.axes_or_new(ax)
        if show == "reveal":
            steps = P.as_numpy(self.reveal_step, name="reveal_step")
            steps = steps.reshape(-1, steps.shape[-1])[:m].astype(float)
            steps[steps < 0] = np.nan  # given in the input: never revealed
            n_seq, length = steps.shape
            P.heatmap(
                ax,
                np.arange(length),
                np.arange(n_seq),
                steps.T,
                cmap="viridis",
                label="reveal step",
                **kwargs,
            )
            if n_seq > 1:
                ax.invert_yaxis()  # sequence 0 on top, as printed
            return P.finish_axes(
                ax,
                xlabel="position",
                ylabel="sequence",
                title="reveal order",
                grid=False,
            )
        if "k" not in self.info:
            raise ValueError(
                "show='counts' needs the per-step reveal counts info['k'], which "
                "this sampler did not record."
            )
        k = P.as_numpy(self.info["k"], name="info['k']").astype(float)
        mean = k.reshape(-1, k.shape[-1]).mean(axis=0)
        bars: dict[str, Any] = {"color": P.PALETTE[0], "alpha": 0.8} | kwargs
        ax.bar(
            np.arange(1, mean.size + 1),
            mean,
            label=label or "tokens revealed (mean over sequences)",
            **bars,
        )
        return P.finish_axes(
            ax, xlabel="step", ylabel="tokens revealed", title="reveal schedule"
        )


# --------------------------------------------------------------------------
# Callables as (dynamic arrays, static rest) so that jit traces parameters
# --------------------------------------------------------------------------


def _is_array(x: Any) -> bool:
    return isinstance(x, jax.Array | np.ndarray)


def split_callable(fn: Any, *, name: str) -> tuple[tuple[Any, ...], Any]:
    """Split a callable into array leaves (traced) and a hashable static rest.

    A pytree callable (e.g. a model holding its parameters) or a bound method
    of one is flattened so that ``jax.jit`` traces its arrays instead of
    baking them in as constants (and recompiling for new parameters).
    """
    owner: Any = None
    func = fn
    if inspect.ismethod(fn):
        owner, func = fn.__self__, fn.__func__
        leaves, treedef = jax.tree_util.tree_flatten(owner)
    else:
        leaves, treedef = jax.tree_util.tree_flatten(fn)
    dynamic = tuple(leaf if _is_array(leaf) else None for leaf in leaves)
    fixed = tuple(None if _is_array(leaf) else leaf for leaf in leaves)
    static = (owner is not None, func if owner is not None else None, treedef, fixed)
    try:
        hash(static)
    except TypeError as err:
        raise TypeError(
            f"{name} must be hashable (a function) or a JAX pytree whose non-array "
            f"parts are hashable; got {describe(fn)}."
        ) from err
    return dynamic, static


def join_callable(dynamic: tuple[Any, ...], static: Any) -> Any:
    """Rebuild the callable split by :func:`split_callable`."""
    is_method, func, treedef, fixed = static
    leaves = [d if f is None else f for d, f in zip(dynamic, fixed, strict=True)]
    obj = jax.tree_util.tree_unflatten(treedef, leaves)
    return types.MethodType(func, obj) if is_method else obj


# --------------------------------------------------------------------------
# Validation at the public boundary
# --------------------------------------------------------------------------


def _check_tokens(tokens: Any) -> Array:
    if isinstance(tokens, str | bytes) or tokens is None:
        raise TypeError(f"tokens must be an integer array; got {describe(tokens)}.")
    arr = jnp.asarray(tokens)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(
            f"tokens must be an integer array (token ids and mask_id); got dtype "
            f"{arr.dtype}."
        )
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"tokens must be 1-D (L,) or 2-D (B, L); got shape {tuple(arr.shape)}."
        )
    if arr.shape[-1] == 0 or (arr.ndim == 2 and arr.shape[0] == 0):
        raise ValueError(f"tokens must not be empty; got shape {tuple(arr.shape)}.")
    return arr.astype(jnp.int32)


def _row_keys(key: Any, n_rows: int, batched: bool) -> Array:
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim == 0:
            return jax.random.split(key, n_rows) if batched else key[None]
        if key.shape == (n_rows,) and batched:
            return key
        raise ValueError(
            f"key must be one key or an array of {n_rows} keys (one per row); got "
            f"a key array of shape {key.shape}."
        )
    if _is_array(key) and key.dtype == np.uint32 and tuple(key.shape) == (2,):
        return _row_keys(jax.random.wrap_key_data(jnp.asarray(key)), n_rows, batched)
    raise TypeError(
        f"key must be a JAX PRNG key such as jax.random.key(0); got {describe(key)}."
    )


def _check_mask_id(mask_id: Any) -> int:
    if isinstance(mask_id, bool) or not isinstance(mask_id, int | np.integer):
        raise TypeError(f"mask_id must be an int; got {describe(mask_id)}.")
    return int(mask_id)


def _denoiser_output(
    dynamic: tuple[Any, ...], tokens: Array, mask: Array, *, static: Any
) -> Array:
    return join_callable(dynamic, static)(tokens, mask)


_denoiser_output_jit = jax.jit(_denoiser_output, static_argnames="static")


def _output_shape(logits_fn: Any, token_spec: Any, mask_spec: Any) -> Any:
    """The denoiser's output shape/dtype, from a cached trace where possible.

    ``jax.eval_shape`` re-traces the denoiser on every call (about 20 ms of
    Python for the tiny transformer, ~1.5 ms per step of a 12-step decode);
    through a module-level jit keyed by the callable's static part, a repeated
    call with the same kind of model reuses the trace.
    """
    try:
        dynamic, static = split_callable(logits_fn, name="logits_fn")
    except TypeError:  # unhashable: reported by the sampler with its own message
        return jax.eval_shape(logits_fn, token_spec, mask_spec)
    return _denoiser_output_jit.eval_shape(
        dynamic, token_spec, mask_spec, static=static
    )


def _logits_vocab(
    logits_fn: Any, tokens: Array, *, mask_id: int, drop_mask_logit: bool, name: str
) -> tuple[int, int]:
    """(V_out, V) from the traced output shape of the denoiser."""
    token_spec = jax.ShapeDtypeStruct(tokens.shape, jnp.int32)
    mask_spec = jax.ShapeDtypeStruct(tokens.shape, jnp.bool_)
    try:
        out = _output_shape(logits_fn, token_spec, mask_spec)
    except Exception as err:  # any failure while tracing the user's function
        raise TypeError(
            f"{name} must be a JAX-traceable callable (tokens int32[B, L], mask "
            f"bool[B, L]) -> logits float[B, L, V]; calling it failed with "
            f"{type(err).__name__}: {err}"
        ) from err
    shape = getattr(out, "shape", None)
    if shape is None or len(shape) != 3 or tuple(shape[:2]) != tuple(tokens.shape):
        raise ValueError(
            f"{name} must return logits of shape (B, L, V) = "
            f"({tokens.shape[0]}, {tokens.shape[1]}, V); got "
            f"{None if shape is None else tuple(shape)}."
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(f"{name} must return floating logits; got dtype {out.dtype}.")
    v_out = int(shape[2])
    if 0 <= mask_id < v_out:
        if drop_mask_logit and mask_id == v_out - 1:
            if v_out < 2:
                raise ValueError("drop_mask_logit=True needs at least 2 logits.")
            return v_out, v_out - 1
        raise ValueError(
            f"mask_id must lie outside [0, V) = [0, {v_out}) (the logits must not "
            f"put mass on the mask token); got mask_id={mask_id}. If the head has "
            f"V+1 outputs whose last one is the mask class, pass mask_id=V and "
            f"drop_mask_logit=True."
        )
    if drop_mask_logit:
        raise ValueError(
            f"drop_mask_logit=True needs mask_id == V_out - 1 = {v_out - 1} (the "
            f"last logit is the mask class); got mask_id={mask_id}."
        )
    return v_out, v_out


def _check_token_values(tokens: Array, *, vocab: int, mask_id: int) -> None:
    if is_traced(tokens):
        return
    values = np.asarray(tokens)
    bad = ~(((values >= 0) & (values < vocab)) | (values == mask_id))
    if bad.any():
        raise ValueError(
            f"tokens must lie in [0, {vocab}) or equal mask_id={mask_id}; got "
            f"{int(bad.sum())} other value(s), e.g. {int(values[bad][0])}."
        )


def _clamp_steps(num_steps: int, n_masked: Array, *, strict: bool) -> int:
    if is_traced(n_masked):
        return num_steps
    most = int(np.asarray(n_masked).max())
    if most >= 1 and num_steps > most:
        message = (
            f"num_steps={num_steps} exceeds the number of masked positions ({most}); "
        )
        if strict:
            raise ValueError(
                message + "use fewer steps (or strict=False, where offered, to clamp)."
            )
        warnings.warn(
            message + f"clamping num_steps to {most}.", UserWarning, stacklevel=4
        )
        return most
    return num_steps


def _count_bound(counts: Array, length: int) -> int | None:
    """A static bound on every per-step reveal count, for a partial top-k.

    The largest count rounded up to a power of two (so that other inputs
    rarely recompile), or ``None`` (a full sort) when the counts are traced
    or the bound exceeds ``length / 2``, where a partial top-k stops paying.
    """
    if is_traced(counts):
        return None
    most = int(np.asarray(counts).max(initial=0))
    bound = 1 << max(most - 1, 0).bit_length()
    return bound if 2 * bound <= length else None


def _check_mesh_rows(mesh: Any, tokens: Array) -> None:
    """A mesh splits rows: tokens must be 2-D with a multiple of its size."""
    if not isinstance(mesh, Mesh):
        raise TypeError(
            "mesh must be a jax.sharding.Mesh (see mltheory.numerics.make_mesh); "
            f"got {describe(mesh)}."
        )
    if tokens.ndim != 2:
        raise ValueError(
            "mesh splits the batch of rows over devices; tokens must be 2-D "
            f"(B, L); got shape {tuple(tokens.shape)}."
        )
    size = int(mesh.size)
    if tokens.shape[0] % size:
        raise ValueError(
            f"tokens must have a number of rows that is a multiple of the {size} "
            f"devices of mesh; got B = {tokens.shape[0]}."
        )


@pytree_dataclass
class Prepared:
    """Validated inputs shared by every sampler (internal)."""

    tokens: Array
    masked: Array
    row_keys: Array
    counts: Array
    batched: bool = static_field()
    num_steps: int = static_field()
    vocab_out: int = static_field()
    vocab: int = static_field()
    max_k: int | None = static_field(default=None)


def prepare(
    key: Any,
    logits_fn: Any,
    tokens: Any,
    *,
    mask_id: Any,
    num_steps: Any,
    schedule: Any,
    mode: str,
    drop_mask_logit: bool,
    strict: bool,
    fn_name: str = "logits_fn",
    vocab_fn: Any = None,
    mesh: Any = None,
) -> Prepared:
    """Validate the common sampler inputs, before any work.

    With ``mesh``, the per-row arrays (tokens, masks, keys, counts) are split
    over its devices, so the jitted loop runs each device's rows there.
    """
    num_steps = check_scalar(num_steps, name="num_steps", kind=int, lower=1)
    schedule = _check_schedule(schedule)
    check_in(mode, name="mode", options=["google", "exact"])
    mask_id = _check_mask_id(mask_id)
    check_callable(logits_fn, name=fn_name)
    toks = _check_tokens(tokens)
    if mesh is not None:
        _check_mesh_rows(mesh, toks)
    batched = toks.ndim == 2
    toks2 = toks if batched else toks[None]
    v_out, vocab = _logits_vocab(
        logits_fn if vocab_fn is None else vocab_fn,
        toks2,
        mask_id=mask_id,
        drop_mask_logit=drop_mask_logit,
        name=fn_name,
    )
    _check_token_values(toks2, vocab=vocab, mask_id=mask_id)
    masked = toks2 == mask_id
    n_masked = jnp.sum(masked, axis=1, dtype=jnp.int32)
    num_steps = _clamp_steps(num_steps, n_masked, strict=strict)
    row_keys = _row_keys(key, toks2.shape[0], batched)
    counts = _counts_jit(n_masked, num_steps, schedule, mode)
    max_k = _count_bound(counts, toks2.shape[1])
    if mesh is not None:  # each device decodes its own rows
        toks2, masked, row_keys, counts = shard_leading_axis(
            (toks2, masked, row_keys, counts), mesh
        )
    return Prepared(
        max_k=max_k,
        tokens=toks2,
        masked=masked,
        row_keys=row_keys,
        counts=counts,
        batched=batched,
        num_steps=num_steps,
        vocab_out=v_out,
        vocab=vocab,
    )


# --------------------------------------------------------------------------
# Step rules (one row) and the shared loop
# --------------------------------------------------------------------------


def model_log_probs(logits: Array, masked: Array, vocab: int) -> Array:
    """log_softmax of the first ``vocab`` logits, at least float32; 0 where unmasked.

    Logits at unmasked positions are ignored (set to a uniform law) so that
    whatever a model writes there (even NaN) cannot leak into the scores.
    """
    work = jnp.promote_types(logits.dtype, jnp.float32)
    lp = jax.nn.log_softmax(logits[..., :vocab].astype(work), axis=-1)
    return jnp.where(masked[..., None], lp, -jnp.log(float(vocab)))


@pytree_dataclass
class CTSStep:
    """Choose positions with a policy, then sample tokens with a rule (one row)."""

    policy: Any
    token_rule: Any
    max_k: int | None = static_field(default=None)

    def __call__(
        self, key: KeyArray, log_probs: Array, masked: Array, k: Array, step: Array
    ) -> tuple[Array, Array]:
        """Return (selected, tokens) for one row."""
        key_pos, key_tok = jax.random.split(key)
        selected = select_positions(
            self.policy, key_pos, log_probs, masked, k, step, self.max_k
        )
        return selected & masked, self.token_rule(key_tok, log_probs, step)


@pytree_dataclass
class MaskGITStep:
    """MaskGIT's sample-then-choose step (one row)."""

    alpha: Array
    token_temperature: ArrayLike
    confidence_from: str = static_field(default="model")
    max_k: int | None = static_field(default=None)

    def __call__(
        self, key: KeyArray, log_probs: Array, masked: Array, k: Array, step: Array
    ) -> tuple[Array, Array]:
        """Return (selected, tokens) for one row."""
        key_pos, key_tok = jax.random.split(key)
        temp = jnp.asarray(_at_step(self.token_temperature, step), log_probs.dtype)
        # a draw needs no normalised logits (softmax ignores a per-row shift);
        # only confidence_from="sampling" reads the tempered log-probabilities
        drawn = categorical(key_tok, log_probs / temp)
        if self.confidence_from == "model":
            source = log_probs
        else:
            source = jax.nn.log_softmax(log_probs / temp, axis=-1)
        confidence = jnp.take_along_axis(source, drawn[:, None], axis=-1)[:, 0]
        alpha = jnp.asarray(self.alpha, log_probs.dtype)[step]
        # log p(x~) + alpha * Gumbel; known positions are not eligible (google
        # gives them confidence +inf, which keeps them unmasked all the same)
        selected = gumbel_topk(
            key_pos, confidence, k, eligible=masked, noise_scale=alpha, max_k=self.max_k
        )
        return selected, drawn


def _loop(
    rule_dynamic: tuple[Any, ...],
    fn_dynamic: tuple[Any, ...],
    row_keys: Array,
    tokens: Array,
    masked: Array,
    counts: Array,
    *,
    fn_static: Any,
    rule_static: Any,
    mask_id: int,
    vocab: int,
    num_steps: int,
    return_trajectory: bool,
    debug: bool,
) -> tuple[Array, Array, Array | None]:
    logits_fn = join_callable(fn_dynamic, fn_static)
    step_rule = join_callable(rule_dynamic, rule_static)
    start = jnp.full(tokens.shape, -1, dtype=jnp.int32)

    def body(carry: tuple[Array, Array, Array], t: Array) -> tuple[Any, Any]:
        toks, msk, reveal = carry
        inputs = jnp.where(msk, mask_id, toks)
        logits = logits_fn(inputs, msk)
        if debug:
            finite = jnp.all(jnp.isfinite(logits[..., :vocab]) | ~msk[..., None])
            checkify.check(
                finite,
                "logits_fn returned NaN/inf logits at masked positions at step {t}",
                t=t,
            )
        log_probs = model_log_probs(logits, msk, vocab)
        keys_t = jax.vmap(jax.random.fold_in, in_axes=(0, None))(row_keys, t)
        selected, drawn = jax.vmap(step_rule, in_axes=(0, 0, 0, 0, None))(
            keys_t, log_probs, msk, counts[:, t], t
        )
        selected = selected & msk
        toks = jnp.where(selected, drawn, toks)
        msk = msk & ~selected
        reveal = jnp.where(selected, t.astype(jnp.int32), reveal)
        state = jnp.where(msk, mask_id, toks) if return_trajectory else None
        return (toks, msk, reveal), state

    init = (jnp.where(masked, 0, tokens), masked, start)
    (toks, _, reveal), traj = lax.scan(body, init, jnp.arange(num_steps))
    if return_trajectory:
        traj = jnp.swapaxes(traj, 0, 1)
    return toks, reveal, traj


_STATIC = (
    "fn_static",
    "rule_static",
    "mask_id",
    "vocab",
    "num_steps",
    "return_trajectory",
    "debug",
)
_loop_jit = jax.jit(_loop, static_argnames=_STATIC)
_loop_checked = jax.jit(
    checkify.checkify(partial(_loop, debug=True)), static_argnames=_STATIC[:-1]
)


def run_loop(
    step_rule: Any,
    logits_fn: Any,
    prep: Prepared,
    *,
    mask_id: int,
    return_trajectory: bool,
    debug: bool,
    info: dict[str, Array],
) -> SampleResult:
    """Run the shared jitted loop and package the result."""
    fn_dynamic, fn_static = split_callable(logits_fn, name="logits_fn")
    rule_dynamic, rule_static = split_callable(step_rule, name="position_policy")
    kwargs = dict(
        fn_static=fn_static,
        rule_static=rule_static,
        mask_id=mask_id,
        vocab=prep.vocab,
        num_steps=prep.num_steps,
        return_trajectory=return_trajectory,
    )
    args = (
        rule_dynamic,
        fn_dynamic,
        prep.row_keys,
        prep.tokens,
        prep.masked,
        prep.counts,
    )
    if debug:
        err, (toks, reveal, traj) = _loop_checked(*args, **kwargs)
        try:
            err.throw()
        except Exception as exc:  # checkify raises JaxRuntimeError
            raise ValueError(str(exc).split("\n")[0]) from exc
    else:
        toks, reveal, traj = _loop_jit(*args, debug=False, **kwargs)
    if not prep.batched:
        toks, reveal = toks[0], reveal[0]
        traj = None if traj is None else traj[0]
    dtype = jnp.result_type(float)
    return SampleResult(
        tokens=toks,
        reveal_step=reveal,
        trajectory=traj,
        nfe=jnp.asarray(prep.num_steps, dtype=dtype),
        info={"k": prep.counts if prep.batched else prep.counts[0], **info},
        num_steps=prep.num_steps,
    )


# --------------------------------------------------------------------------
# Public samplers
# --------------------------------------------------------------------------


def _check_nonneg(value: Any, name: str) -> Any:
    if is_traced(value):
        return value
    if _is_array(value) and np.ndim(value) == 0:
        value = np.asarray(value).item()
    return check_scalar(value, name=name, lower=0.0)


def maskgit_sample(
    key: KeyArray,
    logits_fn: LogitsFn,
    tokens: ArrayLike,
    *,
    mask_id: int,
    num_steps: int = 12,
    schedule: Schedule = "cosine",
    mode: Literal["google", "exact"] = "google",
    choice_temperature: float = 4.5,
    anneal: Literal["linear", "constant"] | Callable[[int], float] = "linear",
    token_temperature: float = 1.0,
    confidence_from: Literal["model", "sampling"] = "model",
    return_trajectory: bool = False,
    drop_mask_logit: bool = False,
    strict: bool = False,
    debug: bool = False,
    mesh: Mesh | None = None,
) -> SampleResult:
    r"""Decode with the MaskGIT sampler ("sample-then-choose").

    At step :math:`t`, a token :math:`\tilde x_i \sim
    \mathrm{softmax}(\mathrm{logits}_i / \tau_{\mathrm{tok}})` is drawn at
    every masked position; the :math:`k_t` masked positions with the largest
    confidence :math:`c_i = \log p_i(\tilde x_i) + \alpha_t g_i`,
    :math:`g_i \sim \mathrm{Gumbel}(0, 1)`, keep their token and the others
    are masked again. The last step reveals everything left.

    Parameters
    ----------
    key : jax.Array
        A PRNG key, or an array of ``B`` keys (one per row).
    logits_fn : callable
        The denoiser ``(tokens int32[B, L], mask bool[B, L]) -> logits
        float[B, L, V]``; traceable by JAX. A pytree callable (a model
        holding its parameters) has its arrays traced, not baked in.
    tokens : array_like of int, shape (B, L) or (L,)
        The initial state: ``mask_id`` where masked (all of it for
        generation, part of it for inpainting). Unmasked tokens are kept.
    mask_id : int
        The mask token id, outside ``[0, V)`` (e.g. ``V`` or ``-1``).
    num_steps : int, default=12
        Number of steps :math:`T` (static: each value compiles once).
    schedule : str or callable, default="cosine"
        The mask schedule (see :func:`mask_schedule`).
    mode : {"google", "exact"}, default="google"
        Reveal-count rule (see :func:`reveal_counts`).
    choice_temperature : float, default=4.5
        :math:`\tau_0 \ge 0`, the initial Gumbel scale (4.5 in MaskGIT's
        class-conditional config). Traced: a new value does not recompile.
    anneal : {"linear", "constant"} or callable, default="linear"
        Gumbel-scale annealing (see :func:`gumbel_scale_schedule`).
    token_temperature : float, default=1.0
        :math:`\tau_{\mathrm{tok}} > 0` of the token draw.
    confidence_from : {"model", "sampling"}, default="model"
        Compute :math:`\log p_i(\tilde x_i)` from the temperature-1 model law
        (MaskGIT) or from the tempered sampling law.
    return_trajectory : bool, default=False
        Also return the state after each step.
    drop_mask_logit : bool, default=False
        The model's head has ``V + 1`` outputs, the last being the mask class
        (``mask_id == V``): drop it.
    strict : bool, default=False
        Raise instead of warning and clamping when ``num_steps`` exceeds the
        number of masked positions.
    debug : bool, default=False
        Check (with :mod:`jax.experimental.checkify`) that the logits are
        finite at masked positions at every step.
    mesh : jax.sharding.Mesh, optional
        Split the batch of rows over the devices of this one-axis mesh
        (:func:`mltheory.numerics.make_mesh`): ``tokens`` must be 2-D with a
        number of rows that is a multiple of the number of devices. Each
        device decodes its own rows; the result equals the one without a mesh.

    Returns
    -------
    SampleResult
        Tokens, reveal steps, optional trajectory, ``nfe = T`` and ``info``
        with ``"k"``, ``"alpha"`` and ``"temperature"`` (the implicit token
        temperature :math:`\alpha_t/(1+\alpha_t)`).

    Raises
    ------
    ValueError
        If ``num_steps < 1`` (or, with ``strict``, exceeds the masked count);
        ``choice_temperature < 0`` or NaN; ``token_temperature <= 0`` or NaN;
        ``mask_id`` lies in ``[0, V)``; tokens lie outside
        ``[0, V) ∪ {mask_id}``; the logits do not have shape ``(B, L, V)``;
        an option name is unknown; or (``debug``) the logits are not finite.
    TypeError
        If ``tokens`` is not an integer array, ``logits_fn`` is not a
        traceable callable, or the logits are not floating.

    Warns
    -----
    UserWarning
        When ``num_steps`` exceeds the number of masked positions (clamped).

    See Also
    --------
    moment_sample : The choose-then-sample counterpart with an exact product
        law.
    mltheory.generative.theory.maskgit_step_law : The exact law of one step.

    Notes
    -----
    With ``mode="google"`` and the defaults this is MaskGIT's
    ``parallel_decode.decode`` [1]_ (cosine schedule, choice temperature
    annealed by :math:`1 - (t+1)/T`, known tokens never re-masked, tokens at
    temperature 1), with per-row keys. Conditionally on the tokens, the
    chosen positions are a Plackett-Luce draw with weights
    :math:`p_i(\tilde x_i)^{1/\alpha_t}`; marginally, as the number of masked
    positions grows, a step is equivalent to choosing positions in proportion
    to :math:`\|p_i\|_\beta^\beta` and sampling tokens at temperature
    :math:`1/\beta = \alpha/(1+\alpha)` [2]_.

    References
    ----------
    .. [1] H. Chang, H. Zhang, L. Jiang, C. Liu and W. T. Freeman, "MaskGIT:
       Masked generative image transformer", CVPR 2022, arXiv:2202.04200.
    .. [2] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory import generative
    >>> from mltheory.generative import toy
    >>> model = toy.random_markov(jax.random.key(0), 3, length=6)
    >>> start = jnp.full((2, 6), 3)
    >>> res = generative.maskgit_sample(jax.random.key(1), model, start, mask_id=3,
    ...                                 num_steps=3)
    >>> res.tokens.shape, float(res.nfe)
    ((2, 6), 3.0)
    """
    check_in(confidence_from, name="confidence_from", options=["model", "sampling"])
    tau0 = _check_nonneg(choice_temperature, "choice_temperature")
    temp = token_temperature
    if not is_traced(temp):
        temp = check_scalar(
            temp, name="token_temperature", lower=0.0, lower_inclusive=False
        )
    prep = prepare(
        key,
        logits_fn,
        tokens,
        mask_id=mask_id,
        num_steps=num_steps,
        schedule=schedule,
        mode=mode,
        drop_mask_logit=drop_mask_logit,
        strict=strict,
        mesh=mesh,
    )
    if is_traced(tau0) and not callable(anneal):
        ratio = jnp.arange(1, prep.num_steps + 1) / prep.num_steps
        alpha = (
            tau0 * (1.0 - ratio)
            if anneal == "linear"
            else jnp.full((prep.num_steps,), tau0)
        )
    else:
        alpha = gumbel_scale_schedule(tau0, prep.num_steps, anneal)
    step = MaskGITStep(
        alpha=alpha,
        token_temperature=temp,
        confidence_from=confidence_from,
        max_k=prep.max_k,
    )
    info = {"alpha": alpha, "temperature": alpha / (1.0 + alpha)}
    return run_loop(
        step,
        logits_fn,
        prep,
        mask_id=int(mask_id),
        return_trajectory=return_trajectory,
        debug=debug,
        info=info,
    )


def _beta_schedule(
    alpha: Any, beta: Any, num_steps: int, anneal: Any, allow_below_one: bool
) -> Array:
    """Per-step beta from exactly one of alpha (annealed) or beta."""
    if (alpha is None) == (beta is None):
        raise ValueError(
            "give exactly one of alpha (MaskGIT's Gumbel scale, beta = 1 + 1/alpha) "
            f"or beta (>= 1); got alpha={alpha!r} and beta={beta!r}."
        )
    dtype = jnp.result_type(float)
    if beta is not None:
        if callable(beta):
            values = [beta(t) for t in range(num_steps)]
            _check_field(
                np.asarray(values, dtype=float),
                name="beta",
                lower=0.0 if allow_below_one else 1.0,
                inclusive=not allow_below_one,
                allow_inf=True,
            )
            return jnp.asarray(values, dtype=dtype)
        _check_field(
            beta,
            name="beta",
            lower=0.0 if allow_below_one else 1.0,
            inclusive=not allow_below_one,
            allow_inf=True,
        )
        return jnp.broadcast_to(jnp.asarray(beta, dtype=dtype), (num_steps,))
    if callable(alpha):
        alphas = gumbel_scale_schedule(0.0, num_steps, alpha)
    else:
        alpha = _check_nonneg(alpha, "alpha")
        if is_traced(alpha):
            ratio = jnp.arange(1, num_steps + 1) / num_steps
            alphas = (
                alpha * (1.0 - ratio)
                if anneal == "linear"
                else jnp.full((num_steps,), alpha)
            )
        else:
            alphas = gumbel_scale_schedule(alpha, num_steps, anneal)
    safe = jnp.where(alphas > 0, alphas, 1.0)
    return jnp.where(alphas > 0, 1.0 + 1.0 / safe, jnp.inf).astype(dtype)


def moment_sample(
    key: KeyArray,
    logits_fn: LogitsFn,
    tokens: ArrayLike,
    *,
    mask_id: int,
    num_steps: int = 12,
    schedule: Schedule = "cosine",
    mode: Literal["google", "exact"] = "google",
    alpha: float | Callable[[int], float] | None = None,
    beta: float | Callable[[int], float] | None = None,
    anneal: Literal["linear", "constant"] = "linear",
    final_token_beta: float | Literal["same"] = 1.0,
    allow_beta_below_one: bool = False,
    return_trajectory: bool = False,
    drop_mask_logit: bool = False,
    strict: bool = False,
    debug: bool = False,
    mesh: Mesh | None = None,
) -> SampleResult:
    r"""Decode with the moment sampler ("choose-then-sample").

    At step :math:`t`, :math:`k_t` masked positions are drawn sequentially
    without replacement with probability proportional to
    :math:`\|p_i\|_{\beta_t}^{\beta_t} = \sum_x p_i(x)^{\beta_t}` (Gumbel
    top-k on :math:`\log\|p_i\|_\beta^\beta`), then tokens are drawn only
    there, from :math:`\mathrm{softmax}(\beta_t \log p_i)`. This is exactly
    the product law to which MaskGIT's step converges.

    Parameters
    ----------
    key : jax.Array
        A PRNG key, or an array of ``B`` keys (one per row).
    logits_fn : callable
        The denoiser (see :func:`maskgit_sample`).
    tokens : array_like of int, shape (B, L) or (L,)
        The initial state, ``mask_id`` where masked.
    mask_id : int
        The mask token id, outside ``[0, V)``.
    num_steps : int, default=12
        Number of steps :math:`T` (static).
    schedule : str or callable, default="cosine"
        The mask schedule.
    mode : {"google", "exact"}, default="google"
        Reveal-count rule.
    alpha : float or callable, default=None
        MaskGIT-compatible Gumbel scale :math:`\tau_0 \ge 0`, annealed like
        MaskGIT (``anneal``); :math:`\beta_t = 1 + 1/\alpha_t`
        (:math:`\alpha_t = 0 \Rightarrow \beta_t = \infty`). A callable gives
        :math:`\alpha_t` per step.
    beta : float or callable, default=None
        :math:`\beta \ge 1` (``inf`` = greedy position, argmax token), fixed
        over the steps, or a callable ``t -> beta_t``. Give exactly one of
        ``alpha`` and ``beta``.
    anneal : {"linear", "constant"}, default="linear"
        Annealing of ``alpha`` (ignored for ``beta``).
    final_token_beta : float or "same", default=1.0
        Token :math:`\beta` at the last step, which reveals everything left;
        1.0 mirrors MaskGIT's last step, ``"same"`` uses :math:`\beta_{T-1}`.
    allow_beta_below_one : bool, default=False
        Allow :math:`\beta < 1` (flatter than the model).
    return_trajectory : bool, default=False
        Also return the state after each step.
    drop_mask_logit : bool, default=False
        Drop a trailing mask-class logit (``mask_id == V``).
    strict : bool, default=False
        Raise instead of clamping ``num_steps``.
    debug : bool, default=False
        Check that the logits are finite at masked positions.
    mesh : jax.sharding.Mesh, optional
        Split the batch of rows over the devices of this one-axis mesh
        (:func:`mltheory.numerics.make_mesh`): ``tokens`` must be 2-D with a
        number of rows that is a multiple of the number of devices. Each
        device decodes its own rows; the result equals the one without a mesh.

    Returns
    -------
    SampleResult
        With ``info["beta"]`` (per-step :math:`\beta_t`) and, for ``alpha``,
        ``info["alpha"]``.

    Raises
    ------
    ValueError
        If both or neither of ``alpha`` and ``beta`` are given; ``alpha < 0``;
        ``beta < 1`` (without ``allow_beta_below_one``) or NaN; and every
        input error of :func:`maskgit_sample`.
    TypeError
        If ``tokens`` is not an integer array or ``logits_fn`` is not a
        traceable callable.

    See Also
    --------
    maskgit_sample : The sampler it emulates.
    cts_sample : The generic choose-then-sample loop.

    Notes
    -----
    The step law is, for the first revealed pair,

    .. math::

        P(i, x) = \frac{p_i(x)^\beta}{\sum_j \|p_j\|_\beta^\beta}
        = \underbrace{\frac{\|p_i\|_\beta^\beta}{\sum_j \|p_j\|_\beta^\beta}}
          _{\text{choose}}
          \times
          \underbrace{\frac{p_i(x)^\beta}{\|p_i\|_\beta^\beta}}_{\text{sample}},

    MaskGIT's asymptotic law with :math:`\beta = 1 + 1/\alpha` [1]_. It costs
    one denoiser call per step, like MaskGIT.

    References
    ----------
    .. [1] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory import generative
    >>> from mltheory.generative import toy
    >>> model = toy.random_markov(jax.random.key(0), 3, length=6)
    >>> res = generative.moment_sample(jax.random.key(1), model, jnp.full(6, 3),
    ...                                mask_id=3, num_steps=3, beta=2.0)
    >>> res.tokens.shape, res.info["beta"].tolist()
    ((6,), [2.0, 2.0, 2.0])
    """
    prep = prepare(
        key,
        logits_fn,
        tokens,
        mask_id=mask_id,
        num_steps=num_steps,
        schedule=schedule,
        mode=mode,
        drop_mask_logit=drop_mask_logit,
        strict=strict,
        mesh=mesh,
    )
    if not callable(anneal):
        check_in(anneal, name="anneal", options=["linear", "constant"])
    betas = _beta_schedule(alpha, beta, prep.num_steps, anneal, allow_beta_below_one)
    if isinstance(final_token_beta, str):
        check_in(final_token_beta, name="final_token_beta", options=["same"])
        token_betas = betas
    else:
        _check_field(
            final_token_beta,
            name="final_token_beta",
            lower=0.0,
            inclusive=False,
            allow_inf=True,
        )
        token_betas = betas.at[-1].set(final_token_beta)
    policy = Moment(betas, allow_beta_below_one=True)
    step = CTSStep(policy=policy, token_rule=BetaTokens(token_betas), max_k=prep.max_k)
    info: dict[str, Array] = {"beta": betas}
    if alpha is not None:
        finite = jnp.isfinite(betas)
        safe = jnp.where(finite & (betas > 1), betas - 1.0, 1.0)
        info["alpha"] = jnp.where(finite, 1.0 / safe, 0.0)
    return run_loop(
        step,
        logits_fn,
        prep,
        mask_id=int(mask_id),
        return_trajectory=return_trajectory,
        debug=debug,
        info=info,
    )


def cts_sample(
    key: KeyArray,
    logits_fn: LogitsFn,
    tokens: ArrayLike,
    *,
    mask_id: int,
    num_steps: int,
    position_policy: PositionPolicy,
    token_rule: TokenRule | None = None,
    schedule: Schedule = "cosine",
    mode: Literal["google", "exact"] = "google",
    return_trajectory: bool = False,
    drop_mask_logit: bool = False,
    strict: bool = False,
    debug: bool = False,
    mesh: Mesh | None = None,
) -> SampleResult:
    r"""Decode with a generic choose-then-sample (CTS) sampler.

    At step :math:`t` the ``position_policy`` chooses :math:`k_t` masked
    positions from the current log-probabilities, then the ``token_rule``
    samples tokens at them. The moment sampler is ``Moment(beta)`` with
    ``BetaTokens(beta)``; random-order ancestral sampling (MDLM) is
    ``Uniform()`` with ``TemperatureTokens(1.0)``; LLaDA's low-confidence
    remasking is ``Greedy("max_prob")``.

    Parameters
    ----------
    key : jax.Array
        A PRNG key, or an array of ``B`` keys (one per row).
    logits_fn : callable
        The denoiser (see :func:`maskgit_sample`).
    tokens : array_like of int, shape (B, L) or (L,)
        The initial state, ``mask_id`` where masked.
    mask_id : int
        The mask token id, outside ``[0, V)``.
    num_steps : int
        Number of steps :math:`T` (static).
    position_policy : PositionPolicy
        E.g. :class:`Uniform`, :class:`Moment`, :class:`Greedy`,
        :class:`Tempered`, :class:`Hybrid`, or your own callable (one row).
    token_rule : TokenRule, default=None
        E.g. :class:`TemperatureTokens`, :class:`BetaTokens`; ``None`` means
        ``TemperatureTokens(1.0)``.
    schedule : str or callable, default="cosine"
        The mask schedule.
    mode : {"google", "exact"}, default="google"
        Reveal-count rule.
    return_trajectory : bool, default=False
        Also return the state after each step.
    drop_mask_logit : bool, default=False
        Drop a trailing mask-class logit (``mask_id == V``).
    strict : bool, default=False
        Raise instead of clamping ``num_steps``.
    debug : bool, default=False
        Check that the logits are finite at masked positions.
    mesh : jax.sharding.Mesh, optional
        Split the batch of rows over the devices of this one-axis mesh
        (:func:`mltheory.numerics.make_mesh`): ``tokens`` must be 2-D with a
        number of rows that is a multiple of the number of devices. Each
        device decodes its own rows; the result equals the one without a mesh.

    Returns
    -------
    SampleResult
        Tokens, reveal steps, optional trajectory, ``nfe = T``.

    Raises
    ------
    ValueError
        On every input error of :func:`maskgit_sample`.
    TypeError
        If ``position_policy`` or ``token_rule`` is not callable, ``tokens``
        is not an integer array, or ``logits_fn`` is not traceable.

    See Also
    --------
    moment_sample, hybrid_sample : Ready-made CTS samplers.

    Examples
    --------
    >>> from mltheory import generative
    >>> from mltheory.generative import toy
    >>> model = toy.random_markov(jax.random.key(0), 3, length=6)
    >>> res = generative.cts_sample(jax.random.key(1), model, jnp.full((4, 6), 3),
    ...                             mask_id=3, num_steps=6,
    ...                             position_policy=generative.Uniform())
    >>> print(res.reveal_step[0].sort())
    [0 1 2 3 4 5]
    """
    check_callable(position_policy, name="position_policy")
    rule = TemperatureTokens(1.0) if token_rule is None else token_rule
    check_callable(rule, name="token_rule")
    prep = prepare(
        key,
        logits_fn,
        tokens,
        mask_id=mask_id,
        num_steps=num_steps,
        schedule=schedule,
        mode=mode,
        drop_mask_logit=drop_mask_logit,
        strict=strict,
        mesh=mesh,
    )
    step = CTSStep(policy=position_policy, token_rule=rule, max_k=prep.max_k)
    return run_loop(
        step,
        logits_fn,
        prep,
        mask_id=int(mask_id),
        return_trajectory=return_trajectory,
        debug=debug,
        info={},
    )


def hybrid_sample(
    key: KeyArray,
    logits_fn: LogitsFn,
    tokens: ArrayLike,
    *,
    mask_id: int,
    num_steps: int,
    exploit_fraction: float | Callable[[int], float] = 0.5,
    exploit_score: Literal["max_prob", "neg_entropy", "margin", "moment"] = "moment",
    explore: Literal["uniform", "moment"] = "uniform",
    beta: float = 2.0,
    token_beta: float = 1.0,
    schedule: Schedule = "cosine",
    mode: Literal["google", "exact"] = "google",
    return_trajectory: bool = False,
    drop_mask_logit: bool = False,
    strict: bool = False,
    debug: bool = False,
    mesh: Mesh | None = None,
) -> SampleResult:
    r"""Decode with hybrid exploration/exploitation unmasking.

    At a step revealing :math:`k` positions, :math:`\operatorname{round}(\rho
    k)` are taken greedily by ``exploit_score`` (exploitation: where the
    model is most certain) and the rest are drawn by ``explore`` among the
    remaining masked positions (exploration: uniform order, or the moment
    law with ``beta``); tokens are drawn at temperature ``1/token_beta``.

    Parameters
    ----------
    key : jax.Array
        A PRNG key, or an array of ``B`` keys (one per row).
    logits_fn : callable
        The denoiser (see :func:`maskgit_sample`).
    tokens : array_like of int, shape (B, L) or (L,)
        The initial state, ``mask_id`` where masked.
    mask_id : int
        The mask token id, outside ``[0, V)``.
    num_steps : int
        Number of steps :math:`T` (static).
    exploit_fraction : float or callable, default=0.5
        :math:`\rho \in [0, 1]`, or a callable ``t -> rho_t`` (e.g. explore
        early, exploit late).
    exploit_score : {"max_prob", "neg_entropy", "margin", "moment"}, default="moment"
        Score of the greedy part (``"moment"`` uses ``beta``).
    explore : {"uniform", "moment"}, default="uniform"
        The exploration policy.
    beta : float, default=2.0
        :math:`\beta \ge 1` of the moment score/law.
    token_beta : float, default=1.0
        :math:`\beta > 0` of the token draw (``inf`` = argmax).
    schedule : str or callable, default="cosine"
        The mask schedule.
    mode : {"google", "exact"}, default="google"
        Reveal-count rule.
    return_trajectory : bool, default=False
        Also return the state after each step.
    drop_mask_logit : bool, default=False
        Drop a trailing mask-class logit (``mask_id == V``).
    strict : bool, default=False
        Raise instead of clamping ``num_steps``.
    debug : bool, default=False
        Check that the logits are finite at masked positions.
    mesh : jax.sharding.Mesh, optional
        Split the batch of rows over the devices of this one-axis mesh
        (:func:`mltheory.numerics.make_mesh`): ``tokens`` must be 2-D with a
        number of rows that is a multiple of the number of devices. Each
        device decodes its own rows; the result equals the one without a mesh.

    Returns
    -------
    SampleResult
        With ``info["exploit_fraction"]`` per step.

    Raises
    ------
    ValueError
        If ``exploit_fraction`` is outside :math:`[0, 1]`, ``beta < 1``, an
        option name is unknown, or any input error of :func:`maskgit_sample`.
    TypeError
        If ``tokens`` is not an integer array or ``logits_fn`` is not
        traceable.

    See Also
    --------
    Hybrid : The position policy.
    cts_sample : The generic loop.

    Notes
    -----
    :math:`\rho = 0` is pure exploration (random order: unbiased for
    one-token steps with an exact denoiser), :math:`\rho = 1` pure
    exploitation (fast but mode-seeking). This parametrisation is our
    reconstruction of the paper's hybrid rule [1]_.

    References
    ----------
    .. [1] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory import generative
    >>> from mltheory.generative import toy
    >>> model = toy.random_markov(jax.random.key(0), 3, length=6)
    >>> res = generative.hybrid_sample(jax.random.key(1), model, jnp.full(6, 3),
    ...                                mask_id=3, num_steps=3, exploit_fraction=0.5)
    >>> res.tokens.shape
    (6,)
    """
    check_in(
        exploit_score,
        name="exploit_score",
        options=list(("max_prob", "neg_entropy", "margin", "moment")),
    )
    check_in(explore, name="explore", options=["uniform", "moment"])
    _check_field(beta, name="beta", lower=1.0, allow_inf=True)
    _check_field(
        token_beta, name="token_beta", lower=0.0, inclusive=False, allow_inf=True
    )
    n_steps = check_scalar(num_steps, name="num_steps", kind=int, lower=1)
    if callable(exploit_fraction):
        rho: Any = np.asarray(
            [exploit_fraction(t) for t in range(n_steps)], dtype=float
        )
    else:
        rho = exploit_fraction
    beta_field = None if exploit_score != "moment" else beta
    policy = Hybrid(
        exploit_fraction=rho,
        exploit=Greedy(exploit_score, beta=beta_field),
        explore=Uniform() if explore == "uniform" else Moment(beta),
    )
    res = cts_sample(
        key,
        logits_fn,
        tokens,
        mask_id=mask_id,
        num_steps=n_steps,
        position_policy=policy,
        token_rule=BetaTokens(token_beta),
        schedule=schedule,
        mode=mode,
        return_trajectory=return_trajectory,
        drop_mask_logit=drop_mask_logit,
        strict=strict,
        debug=debug,
        mesh=mesh,
    )
    if callable(exploit_fraction) and res.num_steps != n_steps:
        raise ValueError(
            "a callable exploit_fraction needs num_steps <= the number of masked "
            f"positions; got num_steps={n_steps}, clamped to {res.num_steps}."
        )
    rho_steps = jnp.broadcast_to(
        jnp.asarray(rho, dtype=jnp.result_type(float)), (res.num_steps,)
    )
    return SampleResult(
        tokens=res.tokens,
        reveal_step=res.reveal_step,
        trajectory=res.trajectory,
        nfe=res.nfe,
        info={**res.info, "exploit_fraction": rho_steps},
        num_steps=res.num_steps,
    )

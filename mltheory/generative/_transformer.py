r"""A tiny pure-JAX bidirectional transformer denoiser with a per-layer K/V cache.

Pre-LayerNorm blocks (multi-head self-attention without a causal mask, then
a GELU MLP), learned token embeddings with one extra row for the mask token,
learned positional embeddings and a linear head over the :math:`V` tokens.
:meth:`TinyTransformer.full` returns the logits and the keys/values of every
layer; :meth:`TinyTransformer.partial` recomputes only a set of positions
against the cached keys/values of the others.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    check_float_dtype,
    check_key,
    check_scalar,
    describe,
)

__all__ = ["TinyTransformer", "TransformerConfig", "train_tiny_transformer"]


@pytree_dataclass
class TransformerConfig:
    """Sizes of a :class:`TinyTransformer` (all static).

    Parameters
    ----------
    vocab : int
        Number of tokens :math:`V` (the mask token gets embedding row ``V``).
    length : int
        Sequence length :math:`L`.
    d_model : int, default=64
        Width :math:`d`.
    n_layers : int, default=2
        Number of blocks.
    n_heads : int, default=4
        Attention heads (must divide ``d_model``).
    d_ff : int, default=128
        Hidden width of the MLP.

    Raises
    ------
    ValueError
        If a size is < 1 or ``n_heads`` does not divide ``d_model``.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> toy.TransformerConfig(vocab=4, length=8).d_model
    64
    """

    vocab: int = static_field()
    length: int = static_field()
    d_model: int = static_field(default=64)
    n_layers: int = static_field(default=2)
    n_heads: int = static_field(default=4)
    d_ff: int = static_field(default=128)

    def __post_init__(self) -> None:
        """Validate the sizes."""
        for name in ("vocab", "length", "d_model", "n_layers", "n_heads", "d_ff"):
            check_scalar(getattr(self, name), name=name, kind=int, lower=1)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads must divide d_model; got d_model={self.d_model}, "
                f"n_heads={self.n_heads}."
            )


def _vec(b: Array, ndim: int) -> Array:
    """A last-axis vector shaped to broadcast explicitly against an ndim array."""
    return jnp.reshape(b, (1,) * (ndim - 1) + (-1,))


def _layer_norm(x: Array, scale: Array, bias: Array) -> Array:
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mean) ** 2, axis=-1, keepdims=True)
    return (x - mean) * lax.rsqrt(var + 1e-5) * _vec(scale, x.ndim) + _vec(bias, x.ndim)


def _init_params(key: KeyArray, cfg: TransformerConfig, dtype: Any) -> dict[str, Any]:
    d, f, n_layers = cfg.d_model, cfg.d_ff, cfg.n_layers
    shapes = [(d, d)] * 4 + [(d, f), (f, d)]
    sizes = [(cfg.vocab + 1) * d, cfg.length * d, d * cfg.vocab]
    sizes += [a * b for a, b in shapes] * n_layers
    # one draw, sliced in NumPy: one compile instead of one per weight shape
    flat = np.asarray(jax.random.normal(key, (sum(sizes),), dtype))
    parts = iter(np.split(flat, np.cumsum(sizes)[:-1]))

    def dense(n_in: int, n_out: int) -> Array:
        return jnp.asarray(next(parts).reshape(n_in, n_out) / math.sqrt(n_in))

    def const(value: float, n: int) -> Array:
        return jnp.asarray(np.full(n, value, dtype))

    embed = jnp.asarray(0.5 * next(parts).reshape(cfg.vocab + 1, d))
    pos = jnp.asarray(0.5 * next(parts).reshape(cfg.length, d))
    head = dense(d, cfg.vocab)
    layers = [
        {
            "ln1": (const(1.0, d), const(0.0, d)),
            "wq": dense(d, d),
            "wk": dense(d, d),
            "wv": dense(d, d),
            "wo": dense(d, d),
            "w1": dense(d, f),
            "w2": dense(f, d),
            "ln2": (const(1.0, d), const(0.0, d)),
            "b1": const(0.0, f),
            "b2": const(0.0, d),
        }
        for _ in range(n_layers)
    ]
    return {
        "embed": embed,
        "pos": pos,
        "layers": layers,
        "ln_f": (const(1.0, d), const(0.0, d)),
        "head": head,
        "head_b": const(0.0, cfg.vocab),
    }


def _embed(
    params: dict[str, Any], tokens: Array, mask: Array, pos: Array, vocab: int
) -> Array:
    ids = jnp.where(mask, vocab, jnp.clip(tokens, 0, vocab - 1))
    return params["embed"][ids] + params["pos"][pos]


def _split_heads(x: Array, n_heads: int) -> Array:
    """Split (B, N, d) into heads-leading (B, H, N, d/H).

    With heads leading, the attention dots are plain batched matmuls: no
    transposes inside them (about 3x faster on CPU than a (B, N, H, d/H)
    einsum).
    """
    b, n, d = x.shape
    return jnp.transpose(jnp.reshape(x, (b, n, n_heads, d // n_heads)), (0, 2, 1, 3))


def _merge_heads(x: Array) -> Array:
    """Merge heads-leading (B, H, N, d/H) back into (B, N, d)."""
    b, h, n, e = x.shape
    return jnp.reshape(jnp.transpose(x, (0, 2, 1, 3)), (b, n, h * e))


def _qkv(layer: dict[str, Any], h: Array, n_heads: int) -> tuple[Array, Array, Array]:
    """Queries (pre-scaled by 1/sqrt(d/H)), keys and values, heads leading.

    One matmul against the concatenated weights instead of three, and the
    softmax scale folded into the (d, d) query weight rather than applied to
    the (B, H, N, N) scores.
    """
    d = h.shape[-1]
    scale = 1.0 / math.sqrt(d // n_heads)
    weight = jnp.concatenate([layer["wq"] * scale, layer["wk"], layer["wv"]], axis=1)
    qkv = h @ weight
    q, k, v = (_split_heads(qkv[..., i * d : (i + 1) * d], n_heads) for i in range(3))
    return q, k, v


def _attend(q: Array, keys: Array, values: Array) -> Array:
    """softmax(q k^T) v for heads-leading (B, H, N, e) arrays.

    The normalisation is applied after the value matmul, to the (B, H, Q, e)
    output instead of the (B, H, Q, L) weights: one pass fewer over the
    largest array. The row max only stabilises the exponential (softmax does
    not depend on it), so its gradient is stopped.
    """
    scores = q @ jnp.swapaxes(keys, -1, -2)
    top = lax.stop_gradient(jnp.max(scores, axis=-1, keepdims=True))
    weights = jnp.exp(scores - top)
    return (weights @ values) / jnp.sum(weights, axis=-1, keepdims=True)


def _block(
    layer: dict[str, Any], x: Array, q: Array, keys: Array, values: Array
) -> Array:
    """One block for the inputs ``x`` (B, Q, d).

    Its queries ``q`` (B, H, Q, d/H) attend to keys/values (B, H, L, d/H).
    """
    x = x + _merge_heads(_attend(q, keys, values)) @ layer["wo"]
    h = _layer_norm(x, *layer["ln2"])
    return (
        x
        + jax.nn.gelu(h @ layer["w1"] + _vec(layer["b1"], h.ndim)) @ layer["w2"]
        + _vec(layer["b2"], x.ndim)
    )


def _head(params: dict[str, Any], x: Array) -> Array:
    return _layer_norm(x, *params["ln_f"]) @ params["head"] + _vec(
        params["head_b"], x.ndim
    )


def _forward(
    params: dict[str, Any], tokens: Array, mask: Array, cfg: TransformerConfig
) -> tuple[Array, list[Array], list[Array]]:
    """Logits and the per-layer keys/values (B, H, L, d/H) of a full pass."""
    positions = jnp.arange(tokens.shape[1])
    x = _embed(params, tokens, mask, positions[None, :], cfg.vocab)
    ks, vs = [], []
    for layer in params["layers"]:
        q, k, v = _qkv(layer, _layer_norm(x, *layer["ln1"]), cfg.n_heads)
        ks.append(k)
        vs.append(v)
        x = _block(layer, x, q, k, v)
    return _head(params, x), ks, vs


def _full(
    params: dict[str, Any], tokens: Array, mask: Array, cfg: TransformerConfig
) -> tuple[Array, dict[str, Array]]:
    logits, ks, vs = _forward(params, tokens, mask, cfg)
    return logits, {"k": jnp.stack(ks), "v": jnp.stack(vs)}


def _write_positions(cache: Array, write: Array, update: Array) -> Array:
    """Write ``update`` (B, H, R, e) into ``cache`` (B, H, L, e) at ``write`` (B, R).

    Slots with ``write == L`` (padding) fall out of bounds and are dropped.
    """
    return jax.vmap(lambda c, w, u: c.at[:, w].set(u, mode="drop"))(
        cache, write, update
    )


def _partial(
    params: dict[str, Any],
    cache: dict[str, Array],
    tokens: Array,
    mask: Array,
    recompute_idx: Array,
    query_idx: Array,
    cfg: TransformerConfig,
) -> tuple[Array, dict[str, Array]]:
    idx = jnp.concatenate([recompute_idx, query_idx], axis=1).astype(jnp.int32)
    valid = idx >= 0
    safe = jnp.where(valid, idx, 0)
    length = tokens.shape[1]
    # padded slots write out of bounds, where mode="drop" discards them
    write = jnp.where(valid, idx, length)
    toks = jnp.take_along_axis(tokens, safe, axis=1)
    msk = jnp.take_along_axis(mask, safe, axis=1)
    x = _embed(params, toks, msk, safe, cfg.vocab)
    new_k, new_v = [], []
    for layer_i, layer in enumerate(params["layers"]):
        q, k_u, v_u = _qkv(layer, _layer_norm(x, *layer["ln1"]), cfg.n_heads)
        keys = _write_positions(cache["k"][layer_i], write, k_u)
        values = _write_positions(cache["v"][layer_i], write, v_u)
        new_k.append(keys)
        new_v.append(values)
        x = _block(layer, x, q, keys, values)
    n_query = query_idx.shape[1]
    logits = _head(params, x[:, idx.shape[1] - n_query :])
    return logits, {"k": jnp.stack(new_k), "v": jnp.stack(new_v)}


@pytree_dataclass
class TinyTransformer:
    r"""A tiny bidirectional transformer denoiser implementing ``CachedDenoiser``.

    Parameters
    ----------
    params : dict
        The parameters (from :meth:`init` or :func:`train_tiny_transformer`).
    config : TransformerConfig
        The sizes (static).

    See Also
    --------
    train_tiny_transformer : Fit it with the masked-diffusion loss.
    mltheory.generative.partial_cache_sample : The sampler using its cache.

    Notes
    -----
    The cache holds, per layer, the keys and values of all :math:`L`
    positions: ``{"k": (n_layers, B, H, L, d/H), "v": ...}``, heads
    leading so that the attention dots need no transposes (memory
    :math:`2 \cdot n_{\mathrm{layers}} L d` floats per row). A partial pass
    over :math:`U` positions costs
    :math:`O(n_{\mathrm{layers}}(U d^2 + U L d))` instead of
    :math:`O(n_{\mathrm{layers}}(L d^2 + L^2 d))`; with every position
    recomputed it equals the full pass.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> cfg = toy.TransformerConfig(vocab=4, length=8, d_model=16, n_heads=2, d_ff=32)
    >>> model = toy.TinyTransformer.init(jax.random.key(0), cfg)
    >>> tokens = jnp.full((2, 8), 4)
    >>> model(tokens, tokens == 4).shape
    (2, 8, 4)
    """

    params: dict[str, Any]
    config: TransformerConfig = static_field()

    @classmethod
    def init(
        cls, key: KeyArray, config: TransformerConfig, *, dtype: Any = None
    ) -> TinyTransformer:
        """Randomly initialised model.

        Parameters
        ----------
        key : jax.Array
            A PRNG key.
        config : TransformerConfig
            The sizes.
        dtype : dtype, default=None
            Floating dtype of the parameters (and hence of the activations and
            logits); ``None`` means JAX's default float dtype. ``float32`` is
            several times faster on CPU than ``float64``.

        Returns
        -------
        TinyTransformer
            The model.

        Raises
        ------
        TypeError
            If ``config`` is not a :class:`TransformerConfig` or ``dtype`` is
            not a floating dtype.
        """
        key = check_key(key)
        if not isinstance(config, TransformerConfig):
            raise TypeError(f"config must be a TransformerConfig; got {config!r}.")
        dt = check_float_dtype(dtype, name="dtype")
        return cls(params=_init_params(key, config, dt), config=config)

    def __call__(self, tokens: ArrayLike, mask: ArrayLike) -> Array:
        """Logits of a full pass (the ``logits_fn`` interface).

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            True where masked.

        Returns
        -------
        jax.Array of shape (B, L, V)
            Logits.
        """
        # no K/V stacking here: run eagerly, it would be a copy nothing reads
        logits, _, _ = _forward(
            self.params, jnp.asarray(tokens), jnp.asarray(mask), self.config
        )
        return logits

    def full(
        self, tokens: ArrayLike, mask: ArrayLike
    ) -> tuple[Array, dict[str, Array]]:
        """Full pass: logits at every position and the per-layer K/V cache.

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            True where masked.

        Returns
        -------
        logits : jax.Array of shape (B, L, V)
            Logits.
        cache : dict
            ``{"k", "v"}`` of shape ``(n_layers, B, n_heads, L, d/n_heads)``.
        """
        return _full(self.params, jnp.asarray(tokens), jnp.asarray(mask), self.config)

    def partial(
        self,
        cache: dict[str, Array],
        tokens: ArrayLike,
        mask: ArrayLike,
        recompute_idx: ArrayLike,
        query_idx: ArrayLike,
    ) -> tuple[Array, dict[str, Array]]:
        """Partial pass: recompute some positions against the cached keys/values.

        Parameters
        ----------
        cache : dict
            The cache from :meth:`full` (or a previous :meth:`partial`).
        tokens : array_like of int, shape (B, L)
            Current tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            Current mask.
        recompute_idx : array_like of int, shape (B, R)
            Positions whose hidden states and K/V are recomputed (e.g. those
            revealed since the last full pass); ``-1`` pads.
        query_idx : array_like of int, shape (B, Q)
            Positions whose logits are wanted (also recomputed); ``-1`` pads.

        Returns
        -------
        logits : jax.Array of shape (B, Q, V)
            Logits at ``query_idx`` (garbage at padded slots).
        cache : dict
            The cache with the recomputed K/V written back.
        """
        return _partial(
            self.params,
            cache,
            jnp.asarray(tokens),
            jnp.asarray(mask),
            jnp.asarray(recompute_idx),
            jnp.asarray(query_idx),
            self.config,
        )


def _mdlm_loss(
    params: dict[str, Any], key: KeyArray, x: Array, cfg: TransformerConfig
) -> Array:
    """Masked-diffusion loss: mask a U(0,1) fraction, cross-entropy where masked."""
    k_t, k_m = jax.random.split(key)
    # in the parameters' dtype, so that a float32 model trains in float32
    dt = params["head"].dtype
    t = jax.random.uniform(k_t, (x.shape[0], 1), dt, minval=0.02, maxval=1.0)
    mask = jax.random.uniform(k_m, x.shape) < t
    logits, _, _ = _forward(params, x, mask, cfg)
    nll = -jnp.take_along_axis(jax.nn.log_softmax(logits), x[..., None], axis=-1)[
        ..., 0
    ]
    # the 1/t weight of the MDLM bound, averaged per masked token
    return jnp.sum(jnp.where(mask, nll, 0.0) / t) / (x.shape[0] * x.shape[1])


@partial(jax.jit, static_argnames=("cfg", "steps", "batch_size", "sampler"))
def _train(
    params: dict[str, Any],
    key: KeyArray,
    learning_rate: Array,
    cfg: TransformerConfig,
    steps: int,
    batch_size: int,
    sampler: Any,
) -> tuple[dict[str, Any], Array]:
    opt = optax.adam(learning_rate)
    state = opt.init(params)

    def step(carry: Any, k: KeyArray) -> tuple[Any, Array]:
        p, s = carry
        k_data, k_loss = jax.random.split(k)
        x = sampler(k_data, batch_size)
        loss, grads = jax.value_and_grad(_mdlm_loss)(p, k_loss, x, cfg)
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), loss

    (params, _), losses = lax.scan(step, (params, state), jax.random.split(key, steps))
    return params, losses


def train_tiny_transformer(
    key: KeyArray,
    model: TinyTransformer,
    data: Any,
    *,
    steps: int = 500,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
) -> tuple[TinyTransformer, Array]:
    r"""Train a :class:`TinyTransformer` with the masked-diffusion loss.

    Each step draws a batch from ``data``, masks each row at a fraction
    :math:`t \sim U(0.02, 1)` and minimises the cross-entropy at the masked
    positions weighted by :math:`1/t` (the MDLM bound), with Adam.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    model : TinyTransformer
        The initial model.
    data : object with a ``sample(key, n)`` method
        A data source such as :class:`MarkovChainModel`; ``sample`` must be
        traceable (it runs inside :func:`jax.lax.scan`).
    steps : int, default=500
        Optimiser steps.
    batch_size : int, default=64
        Sequences per step.
    learning_rate : float, default=3e-3
        Adam step size.

    Returns
    -------
    model : TinyTransformer
        The trained model.
    losses : jax.Array of shape (steps,)
        The loss per step.

    Raises
    ------
    ValueError
        If ``steps`` or ``batch_size`` is < 1, or ``learning_rate <= 0``.
    TypeError
        If ``model`` is not a :class:`TinyTransformer` or ``data`` has no
        ``sample`` method.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> chain = toy.random_markov(jax.random.key(0), 3, length=8)
    >>> cfg = toy.TransformerConfig(vocab=3, length=8, d_model=16, n_layers=1,
    ...                             n_heads=2, d_ff=32)
    >>> model = toy.TinyTransformer.init(jax.random.key(1), cfg)
    >>> model, losses = toy.train_tiny_transformer(jax.random.key(2), model, chain,
    ...                                            steps=20, batch_size=16)
    >>> losses.shape
    (20,)
    """
    key = check_key(key)
    steps = check_scalar(steps, name="steps", kind=int, lower=1)
    batch_size = check_scalar(batch_size, name="batch_size", kind=int, lower=1)
    lr = check_scalar(
        learning_rate, name="learning_rate", lower=0.0, lower_inclusive=False
    )
    if not isinstance(model, TinyTransformer):
        raise TypeError(
            "model must be a TinyTransformer (e.g. TinyTransformer.init(key, "
            f"config)); got {describe(model)}."
        )
    if not callable(getattr(data, "sample", None)):
        raise TypeError(
            f"data must have a sample(key, n) method; got {describe(data)}."
        )

    params, losses = _train(
        model.params,
        key,
        jnp.asarray(lr, model.params["head"].dtype),
        model.config,
        steps,
        batch_size,
        _Sampler(data),
    )
    return TinyTransformer(params=params, config=model.config), losses


class _Sampler:
    """Hashable wrapper of a data source for jit's static arguments (by identity)."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __call__(self, key: KeyArray, n: int) -> Array:
        # call the jitted core directly: the public sample() validates its key,
        # which is traced here
        if hasattr(self.data, "trans"):
            from mltheory.generative.toy import _markov_sample_core

            return _markov_sample_core(
                key, self.data.init, self.data.trans, n, self.data.length
            )
        return self.data.sample(key, n)

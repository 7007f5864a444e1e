r"""Toy denoisers with exact conditionals, and a tiny transformer with a K/V cache.

* :class:`JointTableModel`: an explicit joint law over :math:`V^L`
  sequences; the conditional of a masked position given the unmasked ones is
  computed by marginalising the table.
* :class:`MarkovChainModel`: :math:`p(x_1) \prod_i P(x_{i+1} \mid x_i)`;
  exact conditionals by forward-backward with the unmasked tokens clamped,
  :math:`O(L V^2)` per row.
* :class:`TinyTransformer`: a pure-JAX bidirectional transformer denoiser
  with a per-layer key/value cache implementing the
  :class:`~mltheory.generative.CachedDenoiser` protocol.

Every model is a pytree and a callable ``model(tokens, mask) -> logits``, so
it can be passed directly as ``logits_fn`` to the samplers (its arrays are
traced, not baked into the compiled code). Positions where ``mask`` is False
hold a token in ``[0, V)``; masked positions may hold anything.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_array,
    check_key,
    check_scalar,
    describe,
    is_traced,
)
from mltheory.generative._transformer import (
    TinyTransformer,
    TransformerConfig,
    train_tiny_transformer,
)

__all__ = [
    "JointTableModel",
    "MarkovChainModel",
    "TinyTransformer",
    "TransformerConfig",
    "all_sequences",
    "random_joint",
    "random_markov",
    "train_tiny_transformer",
]


def all_sequences(length: int, vocab: int) -> np.ndarray:
    r"""Every sequence of ``length`` tokens in ``[0, vocab)``, in table order.

    Row ``s`` is the sequence whose row-major index in a table of shape
    ``(vocab,) * length`` is ``s`` (the first position varies slowest).

    Parameters
    ----------
    length : int
        :math:`L \ge 1`.
    vocab : int
        :math:`V \ge 1`.

    Returns
    -------
    numpy.ndarray of int32, shape (vocab**length, length)
        The sequences.

    Raises
    ------
    ValueError
        If ``length < 1``, ``vocab < 1`` or ``vocab**length > 10**6``.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> print(toy.all_sequences(2, 2))
    [[0 0]
     [0 1]
     [1 0]
     [1 1]]
    """
    length = check_scalar(length, name="length", kind=int, lower=1)
    vocab = check_scalar(vocab, name="vocab", kind=int, lower=1)
    if vocab**length > 10**6:
        raise ValueError(
            f"vocab**length must be <= 10**6 for enumeration; got {vocab}**{length}."
        )
    grids = np.meshgrid(*([np.arange(vocab)] * length), indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int32)


def _check_tokens_mask(tokens: Any, mask: Any, length: int) -> tuple[Array, Array]:
    toks = jnp.asarray(tokens)
    msk = jnp.asarray(mask)
    if toks.ndim != 2 or toks.shape[1] != length or msk.shape != toks.shape:
        raise ValueError(
            f"tokens and mask must have shape (B, {length}); got {toks.shape} and "
            f"{msk.shape}."
        )
    return toks.astype(jnp.int32), msk.astype(bool)


def _check_sequences(x: Any, *, name: str, vocab: int, length: int | None) -> Array:
    """Integer sequences of shape (..., L) with tokens in [0, V)."""
    want = "L" if length is None else str(length)
    try:
        arr = None if isinstance(x, str | bytes) or x is None else jnp.asarray(x)
    except TypeError:
        arr = None
    if arr is None or not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(
            f"{name} must be an integer array of token ids, shape (..., {want}); "
            f"got {describe(x)}."
        )
    if (
        arr.ndim < 1
        or arr.shape[-1] == 0
        or (length is not None and arr.shape[-1] != length)
    ):
        raise ValueError(
            f"{name} must have shape (..., {want}) (sequences of length "
            f"{want}); got shape {tuple(arr.shape)}."
        )
    if not is_traced(arr) and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= vocab:
            raise ValueError(
                f"{name} must hold token ids in [0, {vocab}) (the vocabulary); got "
                f"values in [{lo}, {hi}]."
            )
    return arr


@pytree_dataclass
class JointTableModel:
    r"""An explicit joint law over :math:`V^L` sequences (tiny :math:`L, V`).

    Parameters
    ----------
    probs : array_like of shape (V,) * L
        Probabilities, non-negative, summing to 1 (normalised here).
    length : int, default=0
        :math:`L`; set from ``probs`` (leave it unset).
    vocab : int, default=0
        :math:`V`; set from ``probs`` (leave it unset).

    Raises
    ------
    ValueError
        If ``probs`` has negative or non-finite entries, a zero sum, unequal
        axis lengths, or more than :math:`10^6` entries; or ``length`` or
        ``vocab`` is given and disagrees with ``probs``.

    See Also
    --------
    random_joint : A random table.

    Notes
    -----
    For a masked position :math:`i`, the logits are
    :math:`\log p(x_i = v \mid x_{\bar M})`, the table marginalised over the
    other masked positions. Cost :math:`O(B V^L L)`.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> model = toy.JointTableModel(jnp.array([[0.4, 0.1], [0.2, 0.3]]))
    >>> logits = model(jnp.array([[0, 2]]), jnp.array([[False, True]]))
    >>> print(jax.nn.softmax(logits[0, 1]).round(2))
    [0.8 0.2]
    """

    probs: Array
    length: int = static_field(default=0)
    vocab: int = static_field(default=0)

    def __post_init__(self) -> None:
        """Validate and normalise the table."""
        if isinstance(self.probs, jax.core.Tracer) or not isinstance(
            self.probs, jax.Array | np.ndarray | list | tuple
        ):
            return  # pytree reconstruction
        arr = as_array(self.probs, name="probs", min_ndim=1)
        shape = arr.shape
        if len(set(shape)) != 1:
            raise ValueError(f"probs must have shape (V,) * L; got shape {shape}.")
        if arr.size > 10**6:
            raise ValueError(f"probs must have <= 10**6 entries; got {arr.size}.")
        values = np.asarray(arr)
        if (values < 0).any() or values.sum() <= 0:
            raise ValueError("probs must be non-negative with a positive sum.")
        for field_name, given, actual in (
            ("length", self.length, len(shape)),
            ("vocab", self.vocab, int(shape[0])),
        ):
            if given not in (0, actual):
                raise ValueError(
                    f"{field_name} must match probs (shape {shape} gives "
                    f"{field_name} = {actual}) or be left unset; got {given}."
                )
        object.__setattr__(self, "probs", arr / jnp.sum(arr))
        object.__setattr__(self, "length", len(shape))
        object.__setattr__(self, "vocab", int(shape[0]))

    def __call__(self, tokens: ArrayLike, mask: ArrayLike) -> Array:
        """Exact conditional logits (see :meth:`logits_fn`).

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            True where masked.

        Returns
        -------
        jax.Array of shape (B, L, V)
            Log conditional probabilities.
        """
        return self.logits_fn(tokens, mask)

    def logits_fn(self, tokens: ArrayLike, mask: ArrayLike) -> Array:
        r"""Log of the conditional law of each position given the unmasked tokens.

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            True where masked.

        Returns
        -------
        jax.Array of shape (B, L, V)
            :math:`\log p(x_i \mid x_{\bar M})` (at unmasked positions, the
            point mass on the given token).
        """
        toks, msk = _check_tokens_mask(tokens, mask, self.length)
        seqs = jnp.asarray(all_sequences(self.length, self.vocab))
        flat = jnp.reshape(self.probs, (-1,))
        agree = (seqs[None, :, :] == toks[:, None, :]) | msk[:, None, :]
        weights = jnp.where(jnp.all(agree, axis=-1), flat[None, :], 0.0)
        onehot = jax.nn.one_hot(seqs, self.vocab, dtype=flat.dtype)
        cond = jnp.einsum("bs,siv->biv", weights, onehot)
        return jnp.log(cond / jnp.sum(weights, axis=1)[:, None, None])

    def log_prob(self, x: ArrayLike) -> Array:
        r"""Log-probability of full sequences.

        Parameters
        ----------
        x : array_like of int, shape (..., L)
            Sequences.

        Returns
        -------
        jax.Array of shape (...)
            :math:`\log p(x)`.

        Raises
        ------
        TypeError
            If ``x`` is not an integer array.
        ValueError
            If ``x`` does not end in an axis of length :math:`L`, or (eager
            calls) holds a token outside :math:`[0, V)`.
        """
        x = _check_sequences(x, name="x", vocab=self.vocab, length=self.length)
        flat_index = jnp.ravel_multi_index(
            tuple(jnp.moveaxis(x, -1, 0)), (self.vocab,) * self.length, mode="clip"
        )
        return jnp.log(jnp.reshape(self.probs, (-1,))[flat_index])

    def sample(self, key: KeyArray, n: int) -> Array:
        """Draw ``n`` i.i.d. sequences from the table.

        Parameters
        ----------
        key : jax.Array
            A PRNG key.
        n : int
            Number of sequences.

        Returns
        -------
        jax.Array of int32, shape (n, L)
            Samples.
        """
        key = check_key(key)
        n = check_scalar(n, name="n", kind=int, lower=1)
        flat = jnp.reshape(self.probs, (-1,))
        idx = jax.random.choice(key, flat.shape[0], (n,), p=flat)
        return jnp.asarray(all_sequences(self.length, self.vocab))[idx]


@pytree_dataclass
class MarkovChainModel:
    r"""A Markov chain :math:`p(x_1)\prod_i P(x_{i+1} | x_i)` with exact conditionals.

    Parameters
    ----------
    init : array_like of shape (V,)
        Law of the first token (normalised here).
    trans : array_like of shape (V, V)
        Transition matrix, rows normalised here; entries must be positive.
    length : int
        Sequence length :math:`L`.

    Raises
    ------
    ValueError
        If the shapes disagree, an entry is not positive and finite, or
        ``length < 1``.

    See Also
    --------
    random_markov : A random chain.

    Notes
    -----
    The conditional of a masked position given the unmasked tokens is the
    smoothing marginal of a hidden Markov model whose emissions clamp the
    unmasked positions: forward messages
    :math:`a_{i+1}(y) = \sum_x a_i(x) P(x, y) e_{i+1}(y)`, backward
    messages :math:`b_i(x) = \sum_y P(x, y) e_{i+1}(y) b_{i+1}(y)`, and
    :math:`p(x_i \mid x_{\bar M}) \propto a_i(x_i) b_i(x_i)`, with
    :math:`e_i = 1` at masked and the indicator of the token at unmasked
    positions; computed in log space with :func:`jax.lax.scan`.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> chain = toy.MarkovChainModel(jnp.array([1.0, 1.0]),
    ...                              jnp.array([[0.9, 0.1], [0.1, 0.9]]), length=3)
    >>> logits = chain(jnp.array([[0, 0, 1]]), jnp.array([[False, True, False]]))
    >>> print(jax.nn.softmax(logits[0, 1]).round(2))
    [0.5 0.5]
    """

    init: Array
    trans: Array
    length: int = static_field(default=1)

    def __post_init__(self) -> None:
        """Validate and normalise."""
        if isinstance(self.init, jax.core.Tracer) or not isinstance(
            self.init, jax.Array | np.ndarray | list | tuple
        ):
            return  # pytree reconstruction
        init = as_array(self.init, name="init", ndim=1)
        trans = as_array(self.trans, name="trans", ndim=2)
        v = init.shape[0]
        if trans.shape != (v, v):
            raise ValueError(
                f"trans must have shape (V, V) = ({v}, {v}); got {trans.shape}."
            )
        if (np.asarray(init) <= 0).any() or (np.asarray(trans) <= 0).any():
            raise ValueError("init and trans must have positive entries.")
        check_scalar(self.length, name="length", kind=int, lower=1)
        object.__setattr__(self, "init", init / jnp.sum(init))
        object.__setattr__(self, "trans", trans / jnp.sum(trans, axis=1, keepdims=True))
        object.__setattr__(self, "length", int(self.length))

    @property
    def vocab(self) -> int:
        """The vocabulary size :math:`V`."""
        return int(self.init.shape[0])

    def __call__(self, tokens: ArrayLike, mask: ArrayLike) -> Array:
        """Exact conditional logits (see :meth:`logits_fn`).

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            True where masked.

        Returns
        -------
        jax.Array of shape (B, L, V)
            Log conditional probabilities.
        """
        return self.logits_fn(tokens, mask)

    def logits_fn(self, tokens: ArrayLike, mask: ArrayLike) -> Array:
        r"""Log conditional law of each position given the unmasked tokens.

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Tokens (ignored where masked).
        mask : array_like of bool, shape (B, L)
            True where masked.

        Returns
        -------
        jax.Array of shape (B, L, V)
            :math:`\log p(x_i \mid x_{\bar M})`, normalised per position.
        """
        toks, msk = _check_tokens_mask(tokens, mask, self.length)
        v = self.vocab
        log_init = jnp.log(self.init)
        log_trans = jnp.log(self.trans)
        onehot = jax.nn.one_hot(jnp.clip(toks, 0, v - 1), v, dtype=log_init.dtype)
        evidence = jnp.where(msk[..., None] | (onehot > 0), 0.0, -jnp.inf)
        ev = jnp.swapaxes(evidence, 0, 1)  # (L, B, V)

        def forward(a: Array, e: Array) -> tuple[Array, Array]:
            nxt = jax.nn.logsumexp(a[:, :, None] + log_trans[None], axis=1) + e
            return nxt, nxt

        a0 = log_init[None, :] + ev[0]
        _, a_rest = lax.scan(forward, a0, ev[1:])
        alphas = jnp.concatenate([a0[None], a_rest], axis=0)

        def backward(b: Array, e: Array) -> tuple[Array, Array]:
            prev = jax.nn.logsumexp(log_trans[None] + (e + b)[:, None, :], axis=2)
            return prev, prev

        b_last = jnp.zeros_like(a0)
        _, b_rest = lax.scan(backward, b_last, ev[1:], reverse=True)
        betas = jnp.concatenate([b_rest, b_last[None]], axis=0)
        post = alphas + betas
        post = post - jax.nn.logsumexp(post, axis=-1, keepdims=True)
        return jnp.swapaxes(post, 0, 1)

    def log_prob(self, x: ArrayLike) -> Array:
        r"""Log-probability of full sequences.

        Parameters
        ----------
        x : array_like of int, shape (..., L)
            Sequences.

        Returns
        -------
        jax.Array of shape (...)
            :math:`\log p(x)`.

        Raises
        ------
        TypeError
            If ``x`` is not an integer array.
        ValueError
            If ``x`` does not end in an axis of length :math:`L`, or (eager
            calls) holds a token outside :math:`[0, V)`.
        """
        x = _check_sequences(x, name="x", vocab=int(self.init.shape[-1]), length=None)
        lp = jnp.log(self.init)[x[..., 0]]
        return lp + jnp.sum(jnp.log(self.trans)[x[..., :-1], x[..., 1:]], axis=-1)

    def marginals(self) -> Array:
        """Exact one-position marginals :math:`p(x_i)`, shape ``(L, V)``.

        Returns
        -------
        jax.Array of shape (L, V)
            Row :math:`i` is ``init @ trans**i``.
        """

        def step(m: Array, _: None) -> tuple[Array, Array]:
            return m @ self.trans, m

        _, ms = lax.scan(step, self.init, None, length=self.length)
        return ms

    def pair_marginals(self) -> Array:
        """Exact adjacent-pair marginals :math:`p(x_i, x_{i+1})`, shape ``(L-1, V, V)``.

        Returns
        -------
        jax.Array of shape (L - 1, V, V)
            :math:`p(x_i = a, x_{i+1} = b) = p(x_i = a) P(a, b)`.
        """
        m = self.marginals()[:-1]
        return m[:, :, None] * self.trans[None]

    def sample(self, key: KeyArray, n: int) -> Array:
        """Draw ``n`` i.i.d. sequences from the chain.

        Parameters
        ----------
        key : jax.Array
            A PRNG key.
        n : int
            Number of sequences.

        Returns
        -------
        jax.Array of int32, shape (n, L)
            Samples.
        """
        key = check_key(key)
        n = check_scalar(n, name="n", kind=int, lower=1)
        return _markov_sample_jit(key, self.init, self.trans, n, self.length)


def _markov_sample_core(
    key: KeyArray, init: Array, trans: Array, n: int, length: int
) -> Array:
    k0, k1 = jax.random.split(key)
    x0 = jax.random.categorical(k0, jnp.log(init), shape=(n,))
    log_trans = jnp.log(trans)

    def step(x: Array, k: KeyArray) -> tuple[Array, Array]:
        nxt = jax.random.categorical(k, log_trans[x], axis=-1)
        return nxt, nxt

    _, rest = lax.scan(step, x0, jax.random.split(k1, length - 1))
    return jnp.concatenate([x0[None], rest], axis=0).T.astype(jnp.int32)


_markov_sample_jit = jax.jit(_markov_sample_core, static_argnames=("n", "length"))


def random_joint(
    key: KeyArray, length: int, vocab: int, concentration: float = 1.0
) -> JointTableModel:
    r"""A random joint table: Dirichlet(``concentration``) over :math:`V^L` sequences.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    length : int
        :math:`L \ge 1`.
    vocab : int
        :math:`V \ge 2`.
    concentration : float, default=1.0
        Dirichlet concentration (> 0); small values give peaked laws.

    Returns
    -------
    JointTableModel
        The model.

    Raises
    ------
    ValueError
        If ``vocab**length > 10**6`` or an argument is out of range.

    See Also
    --------
    JointTableModel : The model class.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> model = toy.random_joint(jax.random.key(0), 3, 2)
    >>> model.probs.shape
    (2, 2, 2)
    """
    key = check_key(key)
    length = check_scalar(length, name="length", kind=int, lower=1)
    vocab = check_scalar(vocab, name="vocab", kind=int, lower=2)
    conc = check_scalar(
        concentration, name="concentration", lower=0.0, lower_inclusive=False
    )
    if vocab**length > 10**6:
        raise ValueError(f"vocab**length must be <= 10**6; got {vocab}**{length}.")
    probs = jax.random.dirichlet(key, jnp.full((vocab**length,), conc))
    probs = jnp.maximum(probs, 1e-12)
    return JointTableModel(jnp.reshape(probs, (vocab,) * length))


@partial(jax.jit, static_argnames=("vocab", "flat"))
def _dirichlet_rows(key: KeyArray, conc: Array, vocab: int, flat: bool) -> Array:
    """``vocab + 1`` i.i.d. Dirichlet(conc) rows of length ``vocab``."""
    if flat:
        # Dirichlet(1, ..., 1) is a vector of i.i.d. Exp(1) draws normalised to
        # sum 1; this avoids compiling the gamma rejection sampler
        e = jax.random.exponential(key, (vocab + 1, vocab))
        return e / jnp.sum(e, axis=1, keepdims=True)
    return jax.random.dirichlet(key, jnp.full((vocab,), conc), shape=(vocab + 1,))


def random_markov(
    key: KeyArray,
    vocab: int,
    concentration: float = 1.0,
    *,
    length: int = 8,
    stickiness: float = 0.0,
) -> MarkovChainModel:
    r"""A random Markov chain: Dirichlet rows, optionally sticky.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    vocab : int
        :math:`V \ge 2`.
    concentration : float, default=1.0
        Dirichlet concentration (> 0) of the initial law and of each row.
    length : int, default=8
        Sequence length :math:`L`.
    stickiness : float, default=0.0
        :math:`s \in [0, 1)`: the transition matrix is
        :math:`(1 - s) D + s I` with :math:`D` the Dirichlet rows.

    Returns
    -------
    MarkovChainModel
        The chain.

    Raises
    ------
    ValueError
        If an argument is out of range.

    See Also
    --------
    MarkovChainModel : The model class.

    Examples
    --------
    >>> from mltheory.generative import toy
    >>> chain = toy.random_markov(jax.random.key(0), 4, length=16, stickiness=0.5)
    >>> chain.trans.shape, chain.length
    ((4, 4), 16)
    """
    key = check_key(key)
    vocab = check_scalar(vocab, name="vocab", kind=int, lower=2)
    conc = check_scalar(
        concentration, name="concentration", lower=0.0, lower_inclusive=False
    )
    length = check_scalar(length, name="length", kind=int, lower=1)
    stick = check_scalar(
        stickiness, name="stickiness", lower=0.0, upper=1.0, upper_inclusive=False
    )
    draws = _dirichlet_rows(key, jnp.asarray(conc), vocab, conc == 1.0)
    init, rows = draws[0], draws[1:]
    trans = (1.0 - stick) * rows + stick * jnp.eye(vocab)
    # strictly positive entries keep every conditional finite
    return MarkovChainModel(
        jnp.maximum(init, 1e-9), jnp.maximum(trans, 1e-9), length=length
    )

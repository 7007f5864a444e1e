"""Summary reprs of pytree dataclasses: short, informative, safe under jit/vmap."""

import dataclasses
from html.parser import HTMLParser

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._repr import MAX_REPR_CHARS, summary_html, summary_repr


@pytree_dataclass
class Run:
    t: jax.Array
    loss: jax.Array
    converged: jax.Array
    method: str = static_field(default="rk4")

    def _summary_items(self):
        return {"horizon": self.t[..., -1], "final loss": self.loss[..., -1]}


@pytree_dataclass
class Plain:
    values: jax.Array
    n: int = static_field(default=3)


@pytree_dataclass
class OwnRepr:
    x: jax.Array

    def __repr__(self):
        return "mine"


@pytree_dataclass
class BrokenHook:
    x: jax.Array

    def _summary_items(self):
        raise RuntimeError("boom")


@pytree_dataclass
class ManyFields:
    a0: jax.Array
    a1: jax.Array
    a2: jax.Array
    a3: jax.Array
    a4: jax.Array
    a5: jax.Array
    a6: jax.Array
    a7: jax.Array
    a8: jax.Array
    a9: jax.Array
    b0: jax.Array
    b1: jax.Array
    b2: jax.Array
    b3: jax.Array
    b4: jax.Array
    b5: jax.Array
    b6: jax.Array
    b7: jax.Array
    b8: jax.Array
    b9: jax.Array
    c0: jax.Array
    c1: jax.Array
    c2: jax.Array
    c3: jax.Array
    c4: jax.Array
    c5: jax.Array


def _run(n=11):
    t = jnp.linspace(0.0, 5.0, n)
    return Run(t=t, loss=jnp.exp(-t), converged=jnp.asarray(True))


def test_repr_shows_shapes_statics_and_key_numbers():
    text = repr(_run())
    assert text.startswith("Run(")
    assert "t=f64[11]" in text and "loss=f64[11]" in text
    assert "converged=True" in text and "method='rk4'" in text
    assert "horizon=5.0" in text
    assert f"final loss={float(jnp.exp(-5.0)):.4g}" in text
    # No array digits: the 11 time points are not printed.
    assert "0.5" not in text


def test_scalars_and_small_arrays_print_their_values():
    text = repr(Plain(values=np.array([1.5, -2.0]), n=4))
    assert "values=f64[2] [1.5, -2.0]" in text and "n=4" in text
    assert repr(Plain(values=np.float32(0.25))) == "Plain(values=0.25, n=3)"
    assert "values=i32[3,2]" in repr(Plain(values=np.zeros((3, 2), np.int32)))


def test_repr_is_bounded_for_large_results():
    big = _run(1_000_000)
    text = repr(big)
    assert len(text) < 200, text
    many = ManyFields(*[jnp.zeros((1000, 1000))] * 26)
    text = repr(many)
    assert len(text) <= MAX_REPR_CHARS
    assert "2 more fields" in text
    assert len(summary_html(many)) < 6000


def test_nested_and_long_values_are_clipped():
    p = Plain(values={"w": jnp.zeros((4, 3)), "b": jnp.zeros(3), "s": "x" * 500})
    text = repr(p)
    assert "w: f64[4,3]" in text
    assert len(text) < 250
    assert max(len(line) for line in text.splitlines()) <= 100


def test_own_repr_is_kept_and_dataclass_still_works():
    assert repr(OwnRepr(jnp.zeros(2))) == "mine"
    r = _run()
    assert dataclasses.is_dataclass(r)
    assert dataclasses.replace(r, method="euler").method == "euler"


def test_repr_under_jit_and_vmap_does_not_concretise():
    seen = []

    @jax.jit
    def f(r):
        seen.append(repr(r))
        seen.append(summary_html(r))
        return r

    f(_run())
    assert "t=f64[11] traced" in seen[0]
    assert "summary=not available under tracing" in seen[0]
    assert "traced" in seen[1]
    batched = jax.vmap(lambda s: Run(s * jnp.ones(5), s * jnp.ones(5), s > 0))(
        jnp.arange(3.0)
    )
    text = repr(batched)
    assert "t=f64[3,5]" in text
    # The hook sees batched arrays and still prints (a short array of values).
    assert "horizon=f64[3] [0.0, 1.0, 2.0]" in text


def test_broken_hook_never_breaks_the_repr():
    text = repr(BrokenHook(jnp.zeros(3)))
    assert "x=f64[3]" in text and "unavailable (RuntimeError)" in text


def test_deleted_buffer_is_reported_not_raised():
    x = jnp.arange(3.0)
    r = Plain(values=x)
    x.delete()
    assert "deleted" in repr(r)


class _Strict(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_a_balanced_table_with_every_field():
    html = _run()._repr_html_()
    parser = _Strict()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    text = " ".join(parser.text)
    for name in ("Run", "t", "loss", "converged", "method", "horizon", "final loss"):
        assert name in text
    assert html == summary_html(_run())


def test_html_escapes_values():
    html = summary_html(Plain(values="<script>", n=1))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_summary_repr_never_raises_on_odd_values():
    class Weird:
        def __repr__(self):
            raise ValueError("no repr")

    text = summary_repr(Plain(values=Weird()))
    assert "Weird" in text

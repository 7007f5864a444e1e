"""Frozen dataclasses as pytrees: array fields are leaves, static fields are not."""

import dataclasses

import jax
import jax.numpy as jnp
import pytest

from mltheory._src._pytree import pytree_dataclass, static_field


@pytree_dataclass
class Result:
    values: jax.Array
    n_iter: int = static_field()
    method: str = static_field(default="euler")


def test_leaves_are_the_array_fields_only():
    r = Result(jnp.arange(3.0), 7)
    leaves, treedef = jax.tree_util.tree_flatten(r)
    assert len(leaves) == 1
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert back.n_iter == 7 and back.method == "euler"
    assert jnp.array_equal(back.values, r.values)


def test_frozen():
    r = Result(jnp.zeros(2), 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n_iter = 2  # type: ignore[misc]


def test_crosses_jit_and_vmap():
    @jax.jit
    def double(r: Result) -> Result:
        return Result(2 * r.values, r.n_iter, r.method)

    out = double(Result(jnp.ones(2), 3, "rk4"))
    assert out.method == "rk4" and out.n_iter == 3
    assert jnp.allclose(out.values, 2.0)
    batched = jax.vmap(lambda v: Result(v, 1))(jnp.ones((4, 2)))
    assert batched.values.shape == (4, 2)


def test_static_fields_are_part_of_the_treedef():
    a = jax.tree_util.tree_structure(Result(jnp.zeros(1), 1))
    b = jax.tree_util.tree_structure(Result(jnp.zeros(1), 2))
    assert a != b

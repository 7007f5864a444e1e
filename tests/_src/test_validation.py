"""The validation helpers: every message names the argument, the rule and the value."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_callable,
    check_in,
    check_key,
    check_scalar,
    check_shape,
)


def test_as_array_promotes_integers_and_keeps_float32():
    assert as_array([1, 2], name="x").dtype == jnp.float64
    assert as_array(np.ones(3, np.float32), name="x").dtype == jnp.float32


def test_as_array_checks_ndim_with_shape_hint():
    with pytest.raises(
        ValueError, match=r"X must be 2-D \(n_samples, n_features\); got shape \(5,\)"
    ):
        as_array(np.ones(5), name="X", ndim=2, shape_hint="(n_samples, n_features)")
    with pytest.raises(ValueError, match="X must be 1-D or 2-D"):
        as_array(np.ones((2, 2, 2)), name="X", ndim=(1, 2))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        as_array(np.ones(3), name="G", min_ndim=2)


def test_as_array_rejects_nonfinite_and_counts_them():
    with pytest.raises(ValueError, match=r"x must be finite; got 2 non-finite"):
        as_array([1.0, np.nan, np.inf], name="x")
    assert as_array([1.0, np.inf], name="x", allow_nonfinite=True).shape == (2,)


def test_as_array_rejects_non_numbers_and_empty():
    with pytest.raises(TypeError, match="x must be array_like of numbers"):
        as_array("abc", name="x")
    with pytest.raises(TypeError, match="x must be array_like"):
        as_array(None, name="x")
    with pytest.raises(ValueError, match="x must not be empty"):
        as_array(np.ones((0, 3)), name="x")


def test_as_array_skips_value_checks_under_jit_but_not_shape_checks():
    @jax.jit
    def f(x):
        return as_array(x, name="x", ndim=1) * 2

    assert jnp.isnan(f(jnp.array([jnp.nan]))[0])  # values unknown while tracing
    with pytest.raises(ValueError, match="x must be 1-D"):
        f(jnp.ones((2, 2)))


def test_as_numpy_refuses_tracers():
    @jax.jit
    def f(x):
        return as_numpy(x, name="cost")

    with pytest.raises(TypeError, match="cost must be a concrete array"):
        f(jnp.ones(2))


@pytest.mark.parametrize(
    ("kwargs", "value", "match"),
    [
        ({"lower": 0, "lower_inclusive": False}, -0.1, r"dt must be > 0; got -0.1"),
        ({"upper": 1}, 2.0, r"dt must be <= 1; got 2.0"),
        ({}, float("nan"), "dt must be finite"),
        ({}, float("inf"), "dt must be finite"),
    ],
)
def test_check_scalar_bounds_and_finiteness(kwargs, value, match):
    with pytest.raises(ValueError, match=match):
        check_scalar(value, name="dt", **kwargs)


def test_check_scalar_types():
    assert check_scalar(3, name="n", kind=int) == 3
    assert check_scalar(np.int64(3), name="n", kind=int) == 3
    assert check_scalar(4.0, name="n", kind=int) == 4
    with pytest.raises(TypeError, match=r"n must be an integer; got 2\.5"):
        check_scalar(2.5, name="n", kind=int)
    with pytest.raises(TypeError, match="n must be a real number; got True"):
        check_scalar(True, name="n", kind=int)
    with pytest.raises(TypeError, match="lr must be a real number; got 'fast'"):
        check_scalar("fast", name="lr")
    assert check_scalar(jnp.asarray(0.5), name="lr") == 0.5


def test_check_in_lists_the_options():
    with pytest.raises(
        ValueError, match=r"method must be one of 'euler', 'rk4'; got 'rk5'"
    ):
        check_in("rk5", name="method", options=("euler", "rk4"))
    assert check_in("rk4", name="method", options=("euler", "rk4")) == "rk4"
    with pytest.raises(ValueError, match="method must be one of"):
        check_in(["unhashable"], name="method", options=("euler",))


def test_check_key_accepts_typed_and_raw_keys():
    assert check_key(jax.random.key(1)).shape == ()
    assert check_key(jax.random.PRNGKey(1)).shape == (2,)
    with pytest.raises(
        TypeError,
        match=r"key must be a JAX PRNG key such as jax.random.key\(0\); got 0",
    ):
        check_key(0)
    with pytest.raises(ValueError, match="single PRNG key"):
        check_key(jax.random.split(jax.random.key(0), 3))


def test_check_callable_and_shape():
    with pytest.raises(TypeError, match="f must be callable; got 3"):
        check_callable(3, name="f")
    check_shape(np.ones((2, 3)), name="A", shape=(2, None))
    with pytest.raises(
        ValueError, match=r"A must have shape \(3, \*\); got shape \(2, 3\)"
    ):
        check_shape(np.ones((2, 3)), name="A", shape=(3, None))

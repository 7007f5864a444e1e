"""Specification of numerics.scan_with_records against plain Python loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory.numerics import scan_with_records


def _noisy_step(key):
    def step(n, carry):
        x, total = carry
        z = jax.random.normal(jax.random.fold_in(key, n), x.shape, x.dtype)
        x = 0.9 * x + z
        return x, total + jnp.sum(x)

    return step


def test_matches_a_python_loop_with_records(key):
    step = _noisy_step(key)
    init = (jnp.ones(3), jnp.asarray(0.0))
    final, recs = scan_with_records(
        step, init, n_steps=12, record_every=4, observe=lambda c: c[0]
    )
    carry, expected = init, [np.asarray(init[0])]
    for n in range(12):
        carry = step(jnp.asarray(n, jnp.int32), carry)
        if (n + 1) % 4 == 0:
            expected.append(np.asarray(carry[0]))
    np.testing.assert_allclose(recs, np.stack(expected), rtol=1e-13)
    np.testing.assert_allclose(final[1], carry[1], rtol=1e-13)
    assert recs.shape == (4, 3)


def test_final_state_does_not_depend_on_record_every(key):
    step = _noisy_step(key)
    init = (jnp.zeros(2), jnp.asarray(0.0))
    finals = [
        scan_with_records(step, init, n_steps=12, record_every=r)[0] for r in (1, 3, 12)
    ]
    for f in finals[1:]:
        np.testing.assert_allclose(f[0], finals[0][0], rtol=1e-13)


def test_default_observe_records_the_carry_and_works_under_jit_and_vmap(key):
    def run(x0):
        return scan_with_records(lambda n, x: 2.0 * x, x0, n_steps=3)[1]

    out = jax.jit(jax.vmap(run))(jnp.array([1.0, -1.0]))
    np.testing.assert_array_equal(out, [[1.0, 2.0, 4.0, 8.0], [-1.0, -2.0, -4.0, -8.0]])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_steps": 0}, ValueError, "n_steps must be >= 1; got 0"),
        ({"n_steps": 10, "record_every": 3}, ValueError, "record_every must divide"),
        ({"n_steps": 10, "record_every": 0}, ValueError, "record_every must be >= 1"),
        ({"n_steps": 2.5}, TypeError, "n_steps must be an integer"),
        ({"n_steps": 2, "observe": 3}, TypeError, "observe must be callable"),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        scan_with_records(lambda n, x: x, jnp.zeros(1), **kwargs)


def test_draw_gives_the_per_step_inputs_whatever_the_chunk(key):
    def draw_one(n):
        return jax.random.normal(jax.random.fold_in(key, n), (3,))

    def step_drawing(n, x):
        return 0.5 * x + draw_one(n)

    def step_given(n, x, z):
        return 0.5 * x + z

    ref_final, ref = scan_with_records(
        step_drawing, jnp.zeros(3), n_steps=12, record_every=6
    )
    for chunk in (None, 1, 2, 6):
        final, recs = scan_with_records(
            step_given,
            jnp.zeros(3),
            n_steps=12,
            record_every=6,
            draw=jax.vmap(draw_one),
            draw_chunk=chunk,
        )
        # Same draws; the update may be fused differently (an FMA): 1 ulp.
        np.testing.assert_allclose(recs, ref, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(final, ref_final, rtol=1e-14)


def test_draw_bad_inputs():
    with pytest.raises(ValueError, match=r"draw_chunk must divide record_every \(=6\)"):
        scan_with_records(
            lambda n, x, z: x,
            jnp.zeros(1),
            n_steps=12,
            record_every=6,
            draw=lambda ns: ns,
            draw_chunk=4,
        )
    with pytest.raises(TypeError, match="draw must be callable"):
        scan_with_records(lambda n, x, z: x, jnp.zeros(1), n_steps=2, draw=1)


def test_step_must_be_callable():
    with pytest.raises(TypeError, match="step must be callable"):
        scan_with_records(None, jnp.zeros(1), n_steps=1)

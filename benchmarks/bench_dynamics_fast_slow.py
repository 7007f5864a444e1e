"""Benchmarks for mltheory.dynamics.fast_slow.

* ``fast_slow_phase_diagram_vs_solve_ivp``: the unlearning drop
  ``max_t |m| - |m(t_end)|`` of the 2-D ODE (tanh student, teacher
  He_1 + mu He_3, eps = 0.1, m0 = 1e-3, t = 200, recorded at the same 401
  times) on a 64 x 64 grid of (mu, a0) (16 x 16 with ``--quick``). Both sides
  compute exactly that array and nothing else. Ours = one jitted, doubly
  vmapped call of the public API (:func:`~mltheory.dynamics.fast_slow.integrate`
  with ``method="rk4"``, 4000 steps in ``s = artanh m``, then
  :func:`~mltheory.dynamics.fast_slow.measure_unlearning`); baseline = a Python
  loop of ``scipy.integrate.solve_ivp`` (RK45, rtol 1e-8, atol 1e-10) on a
  NumPy right-hand side in (artanh m, a), timed once without warm-up
  (nothing to compile). ``check``: drops agree to 1e-4.
* ``fast_slow_ode_vs_sgd``: the mean alignment to t = 30 from the ODE (ours,
  RK4) against the finite-width SGD at the width where they agree to 1e-2
  (baseline: n = 256, d = 64, B = 2048, float32). ``check``: max difference
  <= 2e-2.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from mltheory import numerics
from mltheory.dynamics import fast_slow as fs
from mltheory.dynamics import tensor_programs as tp

K = 11
TANH = numerics.activation_series("tanh", K)


def _teacher(mu):
    return numerics.HermiteSeries(jnp.zeros(K + 1).at[1].set(1.0).at[3].set(mu))


def _phase_setup(quick):
    n = 16 if quick else 64
    return {
        "mus": np.linspace(-0.5, 0.4, n),
        "a0s": np.linspace(0.2, 3.0, n),
    }


@jax.jit
def _phase_drops(mus, a0s):
    def one(mu, a0):
        problem = fs.FastSlowProblem(TANH, _teacher(mu), eps=0.1)
        traj = fs.integrate(
            problem, 1e-3, a0, 200.0, method="rk4", n_steps=4000, record_every=10
        )
        return fs.measure_unlearning(traj.t, traj.m).drop

    return jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None))(mus, a0s)


def _phase_ours(inputs):
    return _phase_drops(jnp.asarray(inputs["mus"]), jnp.asarray(inputs["a0s"]))


def _phase_baseline(inputs):
    c = np.asarray(TANH.coeffs)
    k = np.arange(K + 1)
    fact = np.array([math.factorial(int(j)) for j in k], float)
    drops = np.zeros((len(inputs["mus"]), len(inputs["a0s"])))
    for i, mu in enumerate(inputs["mus"]):
        cs = np.zeros(K + 1)
        cs[1], cs[3] = 1.0, mu
        cc, c2 = fact * c * cs, fact * c * c

        def rhs(t, y, cc=cc, c2=c2):
            m = math.tanh(y[0])
            pw = m ** np.arange(2 * K + 1)
            s1 = np.dot(k[1:] * cc[1:], pw[:K])
            s2 = np.dot(k[1:] * c2[1:], pw[1::2])
            t1, t2 = np.dot(cc, pw[: K + 1]), np.dot(c2, pw[0::2])
            return [-y[1] * (y[1] * s2 - s1), -0.1 * (y[1] * t2 - t1)]

        for j, a0 in enumerate(inputs["a0s"]):
            sol = scipy.integrate.solve_ivp(
                rhs,
                (0.0, 200.0),
                [math.atanh(1e-3), a0],
                t_eval=np.linspace(0, 200, 401),
                rtol=1e-8,
                atol=1e-10,
            )
            m = np.abs(np.tanh(sol.y[0]))
            drops[i, j] = m.max() - m[-1]
    return drops


_phase_baseline.needs_warmup = False


def _phase_check(b, o):
    np.testing.assert_allclose(np.asarray(o), b, atol=1e-4)


def _sgd_setup(quick):
    teacher = _teacher(0.3)
    return {
        "teacher": teacher,
        "params": tp.init_params(jax.random.key(0), 256, 64, 1.0),
        "problem": tp.to_problem(teacher, TANH, 0.05, 0.005),
    }


def _sgd_baseline(inputs):
    traj = tp.simulate_sgd(
        jax.random.key(1),
        inputs["params"],
        inputs["teacher"],
        jnp.tanh,
        lr_w=0.05,
        lr_a=0.005,
        batch_size=2048,
        n_steps=600,
        record_every=20,
        dtype=jnp.float32,
    )
    return traj.m_mean


def _sgd_ours(inputs):
    return fs.integrate(
        inputs["problem"],
        -0.009,
        1.0,
        30.0,
        method="rk4",
        n_steps=3000,
        record_every=100,
    ).m


def _sgd_check(b, o):
    assert float(jnp.max(jnp.abs(jnp.asarray(b, jnp.float64) - o))) <= 2e-2


CASES = {
    "fast_slow_phase_diagram_vs_solve_ivp": (
        _phase_setup,
        _phase_baseline,
        _phase_ours,
        _phase_check,
    ),
    "fast_slow_ode_vs_sgd": (_sgd_setup, _sgd_baseline, _sgd_ours, _sgd_check),
}

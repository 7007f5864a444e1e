"""
Feature unlearning: the fast–slow ODE against finite-width SGD
==============================================================

A tanh network learns the teacher :math:`He_1 + 0.3\\,He_3`. The alignment
:math:`m` rises fast, then decays on the slow time scale of the second-layer
weight :math:`a` (feature unlearning). The 2-D ODE of
:mod:`mltheory.dynamics.fast_slow` predicts it without simulation, and a
finite-width SGD run of :mod:`mltheory.dynamics.tensor_programs` follows it.
"""

# %%
# The problem and the prediction
# ------------------------------
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from mltheory import numerics
from mltheory.dynamics import fast_slow as fs
from mltheory.dynamics import tensor_programs as tp

jax.config.update("jax_enable_x64", True)

tanh = numerics.activation_series("tanh", 11)
teacher = numerics.HermiteSeries(jnp.zeros(12).at[1].set(1.0).at[3].set(0.3))
lr_w, lr_a = 0.05, 0.005
problem = tp.to_problem(teacher, tanh, lr_w, lr_a)  # eps = 0.1
diagnosis = fs.predict_unlearning(problem, 1.0)
print("unlearning predicted:", bool(diagnosis.occurs), "->", diagnosis.asymptotic)

# %%
# Finite-width SGD and the ODE
# ----------------------------
params = tp.init_params(jax.random.key(0), 128, 64, 1.0)
sgd = tp.simulate_sgd(
    jax.random.key(1),
    params,
    teacher,
    jnp.tanh,
    lr_w=lr_w,
    lr_a=lr_a,
    batch_size=2048,
    n_steps=400,
    record_every=10,
    dtype=jnp.float32,
)
ode = fs.integrate(
    problem,
    float(sgd.m_mean[0]),
    1.0,
    20.0,
    method="rk4",
    n_steps=2000,
    record_every=50,
)
print("max |m_SGD - m_ODE| =", float(jnp.max(jnp.abs(sgd.m_mean - ode.m))))

# The ODE as lines and the SGD means as markers, in matching colours.
ax = ode.plot()
sgd.plot(ax=ax, label="SGD, n=128")
plt.show()

"""
Hermite series of an activation
===============================

Theories of two-layer networks describe an activation by its Hermite
coefficients :math:`c_k` (probabilists' convention,
:math:`\\sigma = \\sum_k c_k \\mathrm{He}_k`). This example computes them for
ReLU in closed form and for tanh by quadrature, checks Parseval's identity
against a Gaussian expectation, and shows how truncation approximates the
activation and how Mehler smoothing acts on it.
"""

# %%
# Coefficients: closed form and quadrature
# ----------------------------------------
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mltheory import numerics

jax.config.update("jax_enable_x64", True)

relu = numerics.activation_series("relu", degree=16)
tanh = numerics.activation_series("tanh", degree=16)
print("relu c_0..c_4:", np.round(np.asarray(relu.coeffs[:5]), 5) + 0.0)
print("tanh c_0..c_5:", np.round(np.asarray(tanh.coeffs[:6]), 5) + 0.0)

# %%
# Parseval: the series carries the whole second moment
# ----------------------------------------------------
# :math:`\sum_k k!\,c_k^2 = \mathbb E[\sigma(Z)^2]`, up to the truncation.
second_moment = numerics.expect(lambda z: jnp.tanh(z) ** 2, 0.0, 1.0)
print(f"E[tanh(Z)^2] = {float(second_moment):.8f}")
print(f"sum k! c_k^2  = {float(tanh.norm_squared()):.8f}")

# %%
# Truncated series and Mehler smoothing
# -------------------------------------
# ``smooth(m)`` gives :math:`u \mapsto \mathbb E_Z[\sigma(m u + \sqrt{1-m^2} Z)]`:
# the expected activation of a neuron whose weight has overlap ``m`` with the
# direction ``u``.
z = jnp.linspace(-3, 3, 301)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
axes[0].plot(z, jax.nn.relu(z), "k", lw=3, alpha=0.3, label="relu")
for degree in (2, 4, 16):
    truncated = numerics.HermiteSeries(relu.coeffs[: degree + 1])
    axes[0].plot(z, truncated(z), label=f"degree {degree}")
axes[0].set_title("truncated Hermite series")
axes[0].legend()
for m in (1.0, 0.8, 0.5, 0.0):
    axes[1].plot(z, tanh.smooth(m)(z), label=f"m = {m}")
axes[1].set_title("Mehler smoothing of tanh")
axes[1].legend()
plt.show()

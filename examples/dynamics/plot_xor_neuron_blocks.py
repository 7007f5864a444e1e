"""
Neuron blocks on Gaussian XOR: two phases and errors at the boundary
====================================================================

A two-layer ReLU network learns :math:`y = \\mathrm{sign}(x_1 x_2)` from
Gaussian inputs by online SGD on the logistic loss. Its neurons gather into
four blocks along the diagonals of the signal plane; the blocks' signals grow
together once the signal-to-noise ratio :math:`\\rho` passes 1, and the
remaining errors sit in a thin band around the decision boundary, because the
data have zero margin (:mod:`mltheory.dynamics.xor`).
"""

# %%
# Train the default network
# -------------------------
# d = 32, m = 256, batch 128, lr 0.05, 2000 steps, a record every 100 steps.
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from mltheory.dynamics import xor

traj = xor.train_xor(jax.random.key(0), xor.XORConfig(), dtype=jnp.float32)
print("phase split at step", int(xor.phase_split(traj)))
print("final test error", float(traj.test_error[-1]), "rho", float(traj.rho[-1]))

# %%
# Two phases: rho crosses 1, then the four blocks grow together
# -------------------------------------------------------------
fig = traj.plot()

# %%
# The neurons in the signal plane, at the start and at the end
# ------------------------------------------------------------
# Point size is the output mass :math:`|a_j|\,\|w_j\|`; colour the sign of
# :math:`a_j`.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 4.2), layout="constrained")
start = xor.XORParams(traj.params.W[0], traj.params.a[0])
start.plot(ax=ax0)
ax0.set_title("step 0")
traj.final_params.plot(ax=ax1)
ax1.set_title("step 2000")
blocks = xor.block_signals(traj.final_params)
print("block spread", float(blocks.spread))
print("within-block spread", jnp.round(blocks.within_block_spread, 2))

# %%
# Where the network errs: error by distance to the boundary
# ---------------------------------------------------------
# The fit :math:`f \approx c\, y \min(|x_1|, |x_2|)` leaves a residual of size
# :math:`\sigma`; the idealised network with that :math:`\sigma/c` predicts the
# error per band.
rep = xor.error_regions(jax.random.key(1), traj.final_params)
print("test error", float(rep.test_error), "predicted", float(rep.predicted_error))
ax = rep.plot()
plt.show()

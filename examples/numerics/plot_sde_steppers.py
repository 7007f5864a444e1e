"""
SDE steppers and their convergence
==================================

:func:`mltheory.numerics.solve_sde` integrates an Itô SDE on a uniform grid
inside one :func:`jax.lax.scan`. This example simulates a batch of
Ornstein–Uhlenbeck paths with :func:`jax.vmap` over keys, compares the
empirical variance to the exact one, and measures Euler–Maruyama's strong order
on geometric Brownian motion by driving coarse and fine solves with the same
Brownian path.
"""

# %%
# A batch of Ornstein–Uhlenbeck paths
# -----------------------------------
# :math:`dY = -\lambda Y\,dt + s\,dW`. The diffusion is given as the *product*
# :math:`g(t, Y)\,dW`, so any noise structure costs only what it costs to apply.
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mltheory import numerics

jax.config.update("jax_enable_x64", True)

lam, s = 2.0, 0.5
grid = numerics.TimeGrid(3.0, 300)


def drift(t, y, args):
    return -lam * y


def diffusion(t, y, args, dw):
    return s * dw


keys = jax.random.split(jax.random.key(0), 2000)
ou = jax.vmap(
    lambda k: numerics.solve_sde(drift, diffusion, jnp.asarray(1.0), grid=grid, key=k)
)(keys)
paths = ou.ys
exact_var = s**2 / (2 * lam) * (1 - np.exp(-2 * lam * np.asarray(grid.ts)))
print(
    f"variance at T: empirical {float(paths[:, -1].var()):.4f}, "
    f"exact {exact_var[-1]:.4f}"
)

# %%
# Strong order of Euler–Maruyama
# ------------------------------
# :func:`mltheory.numerics.brownian_increments` returns the increments
# ``solve_sde`` would draw; summing them coarsens one path to any grid.
mu, sigma = 0.5, 1.0
fine = numerics.TimeGrid(1.0, 2**11)
dw = jax.vmap(lambda k: numerics.brownian_increments(k, grid=fine, shape=()))(keys)
exact = jnp.exp((mu - sigma**2 / 2) + sigma * dw.sum(axis=1))
dts, errors = [], []
for level in range(4, 10):
    n = 2**level
    coarse = dw.reshape(len(keys), n, -1).sum(axis=2)
    end = jax.vmap(
        lambda inc, n=n: numerics.solve_sde(
            lambda t, x, a: mu * x,
            lambda t, x, a, w: sigma * x * w,
            jnp.asarray(1.0),
            grid=numerics.TimeGrid(1.0, n),
            increments=inc,
        ).ys[-1]
    )(coarse)
    dts.append(1.0 / n)
    errors.append(float(jnp.mean(jnp.abs(end - exact))))
slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
print(f"measured strong order: {slope:.2f} (theory: 0.5)")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
first20 = jax.tree.map(lambda x: x[:20], ou)  # a batch of 20 trajectories
first20.plot(ax=axes[0], kind="theory", label="20 paths", lw=0.7)
axes[0].set_title("Ornstein–Uhlenbeck paths")
axes[1].loglog(dts, errors, "o-", label=f"Euler–Maruyama, slope {slope:.2f}")
axes[1].set_xlabel("dt")
axes[1].set_ylabel("E|X_N - X_T|")
axes[1].legend()
plt.show()

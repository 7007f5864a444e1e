"""
DMFT of SGF on linear regression: theory against simulation
============================================================

Solve the dynamical mean-field theory of stochastic gradient flow for linear
regression at two temperatures, check it against the Marchenko–Pastur formula
and a finite-size simulation, and watch the SGD noise raise the loss.
"""

# %%
# The deterministic DMFT (no Monte Carlo for the square loss) on a grid of
# step 0.1; the simulation uses the same Euler–Maruyama grid at d = 400.
import jax
import matplotlib.pyplot as plt
import numpy as np

from mltheory.dynamics import dmft
from mltheory.numerics import TimeGrid

grid = TimeGrid(4.0, 40)
model = dmft.glm("square", noise_std=0.5)
delta = 2.0

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True, layout="constrained")
for ax, tau in zip(axes, (0.0, 0.5), strict=True):
    theory = dmft.linear_regression_dmft(delta=delta, tau=tau, sigma=0.5, grid=grid)
    sim = dmft.simulate(
        model,
        delta=delta,
        tau=tau,
        grid=grid,
        d=400,
        key=jax.random.key(0),
        n_seeds=4,
        record_every=4,
    )
    # Theory as lines, the 4 simulated seeds as their mean +- 1 standard error.
    theory.plot(ax=ax)
    sim.plot(ax=ax, average=True, label="SGF, d=400")
    if tau == 0.0:
        ts = np.asarray(theory.ts)
        _, test_mp = dmft.linear_regression_mp(delta=delta, sigma=0.5, ts=ts)
        ax.plot(ts, test_mp, "k:", label="MP formula (gradient flow)")
        ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"delta = {delta}, tau = {tau}")

# %%
# The online limit: as delta grows the DMFT approaches the online-SGD ODEs.
online = dmft.online_limit(model, tau=0.5, grid=grid)
for d in (2.0, 8.0, 32.0):
    res = dmft.linear_regression_dmft(delta=d, tau=0.5, sigma=0.5, grid=grid)
    gap = float(np.abs(np.asarray(res.test_loss - online.test_loss)).max())
    print(f"delta = {d:4.0f}: sup gap to the online limit {gap:.4f}")

plt.show()

"""
Diagonal linear networks: lazy vs rich, by DMFT
===============================================

A diagonal linear network :math:`\\beta = u \\odot v` trained by gradient flow
from the scale :math:`\\alpha` learns a sparse teacher very differently at the
two ends of :math:`\\alpha`: lazily (all coordinates at once, to the
minimum-:math:`\\ell_2` interpolator) or richly (one magnitude after another,
towards the minimum-:math:`\\ell_1` one). The DMFT gives the loss curves at
any :math:`\\alpha` at a cost independent of the dimension; finite-d networks
on the same grids check them.
"""

# %%
# Test-loss curves for four initial scales, delta = n/d = 0.5, a sparse
# teacher (10 % of the coordinates N(0, 1)). Each alpha gets its own grid with
# the same number of steps (one compilation): fine steps for the stiff lazy
# regime, long horizons for the slow rich one.
import jax
import matplotlib.pyplot as plt
import numpy as np

from mltheory.dynamics import dmft

# The DMFT solver's Cholesky factors of smooth kernels need float64.
jax.config.update("jax_enable_x64", True)

config = dmft.DMFTConfig(n_samples=2000)
runs = {0.01: (20.0, 0.2), 0.1: (16.0, 0.2), 1.0: (6.0, 0.1), 3.0: (1.5, 0.015)}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for i, (alpha, (t_max, cap)) in enumerate(runs.items()):
    # geometric steps from 0.002, capped; the last ones fill up to t_max
    steps = np.minimum(0.002 * 1.08 ** np.arange(120), cap)
    ts = np.r_[0.0, np.cumsum(steps * t_max / steps.sum())]
    model = dmft.dln(alpha=alpha)
    res = dmft.solve_dmft(
        model, delta=0.5, grid=ts, key=jax.random.key(0), config=config
    )
    net = dmft.simulate_dln(
        model, delta=0.5, grid=ts, d=400, key=jax.random.key(1), n_seeds=2
    )
    color = f"C{i}"
    res.plot(ax=axes[0], losses=("test",), label=f"alpha={alpha:g}", color=color)
    net.plot(ax=axes[0], losses=("test",), label=None, color=color, markevery=6)
# one legend entry per alpha (the theory lines), one for the networks' markers
handles, labels = axes[0].get_legend_handles_labels()
keep = [(h, lab) for h, lab in zip(handles, labels, strict=True) if "alpha" in lab]
keep.append((handles[1], "networks, d = 400 (mean of 2)"))
axes[0].legend(*zip(*keep, strict=True), fontsize=7, frameon=False)
axes[0].set_xscale("log")
axes[0].set_yscale("log")
axes[0].set_xlim(1e-2, 25)
axes[0].set_title("test loss: DMFT (lines), d = 400 networks (markers)")

# %%
# Which coordinates are learned when: the DMFT's effective process rerun with
# the teacher value fixed. In the rich regime (alpha = 0.01, delta = 10) the
# value 3 is learned first, 1.5 later: the escape times of the small-alpha
# heuristic (dotted) are where the paths cross half-way.
model = dmft.dln(alpha=0.01, prior={0.0: 0.8, 1.5: 0.1, 3.0: 0.1})
res = dmft.solve_dmft(
    model,
    delta=10.0,
    grid=np.linspace(0.0, 6.0, 121),
    key=jax.random.key(0),
    config=config,
)
paths = dmft.dln_coefficient_paths(
    res, model, [3.0, 1.5], key=jax.random.key(2), n_samples=1000
)
paths.plot(ax=axes[1])
for t in dmft.dln_escape_times([3.0, 1.5], alpha=0.01):
    axes[1].axvline(t, color="0.4", linestyle=":")
axes[1].set_title("incremental learning (alpha = 0.01)")
print("half-way times (DMFT):", np.round(paths.crossing_times(0.5), 2))
print(
    "escape times (heuristic):",
    np.round(dmft.dln_escape_times([3.0, 1.5], alpha=0.01), 2),
)

plt.show()

"""Draw the figures of the user guide's plotting page (``plotting.rst``).

Each block below is the code printed on that page, run as is; the figures go
to ``docs/_static/plotting/``. Rerun after a change to a ``.plot`` method::

    python docs/user_guide/plotting_figures.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

jax.config.update("jax_enable_x64", True)
OUT = Path(__file__).resolve().parents[1] / "_static" / "plotting"


def save(fig, name):
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / f"{name}.png", dpi=80, metadata={"Software": None})
    plt.close(fig)


# --- numerics: an ODE for the mean over a batch of SDE paths ------------------
from mltheory import numerics  # noqa: E402

grid = numerics.TimeGrid(3.0, 300)
paths = jax.vmap(
    lambda k: numerics.solve_sde(
        lambda t, y, a: -2.0 * y,
        lambda t, y, a, dw: 0.5 * dw,
        jnp.asarray(1.0),
        grid=grid,
        key=k,
    )
)(jax.random.split(jax.random.key(0), 20))
mean = numerics.solve_ode(lambda t, y, a: -2.0 * y, jnp.asarray(1.0), grid=grid)
ax = paths.plot(label="20 SDE paths", lw=0.6)
mean.plot(ax=ax, label="mean (ODE)", color="k")
save(ax.figure, "numerics")

# --- dynamics: DMFT against simulated SGF --------------------------------------
from mltheory.dynamics import dmft  # noqa: E402

grid = numerics.TimeGrid(4.0, 40)
theory = dmft.linear_regression_dmft(delta=2.0, tau=0.5, sigma=0.5, grid=grid)
sim = dmft.simulate(
    dmft.glm("square", noise_std=0.5),
    delta=2.0,
    tau=0.5,
    grid=grid,
    d=400,
    key=jax.random.key(0),
    n_seeds=4,
    record_every=4,
)
ax = theory.plot()
sim.plot(ax=ax, average=True)
save(ax.figure, "dynamics")

# --- optim: the reduced recursion against full-matrix SpecGD ------------------
from mltheory.optim import phase_retrieval as pr  # noqa: E402

cov = pr.spiked_covariance(32, 4.0)
red = pr.simulate_reduced(cov, method="specgd", lr=0.01, steps=200)
full = pr.simulate_full(jax.random.key(0), cov, method="specgd", lr=0.01, steps=200)
fig = red.plot(label="reduced")
full.plot(ax=fig.axes, kind="simulation", label="full 32 x 32")
save(fig, "optim")

# --- stats: coefficient regions with and without the mismatch -----------------
from mltheory.stats import shuffled  # noqa: E402

data = shuffled.simulate_shuffled(100, 2, frac=0.2, sigma=0.3, rng=0)
union = shuffled.coefficient_confidence_set(data.X, data.Y, n_draws=30, rng=0)
naive = shuffled.coefficient_confidence_set(
    data.X, data.Y, candidates=np.arange(100), alpha_loc=1e-3
)
ax = naive.plot(color="0.5", label="OLS ignoring the mismatch", details=False)
union.plot(ax=ax, truth=data.beta, label="union over candidates")
save(ax.figure, "stats")

# --- generative: the reveal counts against the schedule -----------------------
from mltheory import generative  # noqa: E402
from mltheory.generative import toy  # noqa: E402

chain = toy.random_markov(jax.random.key(0), 3, length=16)
res = generative.maskgit_sample(
    jax.random.key(1), chain, jnp.full((32, 16), 3), mask_id=3, num_steps=6
)
ax = res.plot(show="counts", label="MaskGIT, 32 sequences")
counts = generative.reveal_counts(16, 6, "cosine")
ax.plot(np.arange(1, 7), counts, "ko", label="cosine schedule")
ax.legend(frameon=False, fontsize="small")
save(ax.figure, "generative")
print("wrote", sorted(p.name for p in OUT.glob("*.png")))

"""
Choosing positions with Gumbel top-k
====================================

Masked-diffusion samplers unmask, at each step, a different number of
positions in each sequence of a batch. :func:`mltheory.numerics.gumbel_topk`
selects, per row, the ``k`` eligible positions with the largest
``score + Gumbel noise``, with ``k`` an array (one count per row) that may
change between calls without recompiling. Its law is sampling without
replacement with probabilities proportional to ``exp(score)``; this example
checks that on a small case.
"""

# %%
# A batch with per-row counts
# ---------------------------
import itertools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mltheory import numerics

jax.config.update("jax_enable_x64", True)

scores = jnp.log(jnp.array([[0.4, 0.3, 0.2, 0.1, 0.0, 0.0]] * 3) + 1e-12)
eligible = jnp.array([[True] * 6, [True, True, True, False, True, True], [True] * 6])
k = jnp.array([1, 2, 3])
mask = numerics.gumbel_topk(jax.random.key(0), scores, k, eligible=eligible)
print(mask.astype(int))
print("selected per row:", mask.sum(axis=1))

# %%
# The law of the selected pair is Plackett–Luce
# ---------------------------------------------
# Draw k = 2 of 4 positions many times and compare the frequency of each
# unordered pair with the exact probability of sampling without replacement.
p = np.array([0.4, 0.3, 0.2, 0.1])
logits = jnp.log(jnp.asarray(p))
keys = jax.random.split(jax.random.key(1), 50_000)
draws = jax.vmap(lambda key: numerics.gumbel_topk(key, logits, 2))(keys)
pairs = list(itertools.combinations(range(4), 2))
empirical = [float(jnp.mean(draws[:, i] & draws[:, j])) for i, j in pairs]
exact = [p[i] * p[j] / (1 - p[i]) + p[j] * p[i] / (1 - p[j]) for i, j in pairs]
for (i, j), e, x in zip(pairs, empirical, exact, strict=True):
    print(f"pair {i}{j}: empirical {e:.4f}  exact {x:.4f}")

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
x = np.arange(len(pairs))
ax.bar(x - 0.2, exact, 0.4, label="exact (Plackett–Luce)")
ax.bar(x + 0.2, empirical, 0.4, label="gumbel_topk, 50,000 draws")
ax.set_xticks(x, [f"{i}{j}" for i, j in pairs])
ax.set_xlabel("selected pair")
ax.legend()
plt.show()

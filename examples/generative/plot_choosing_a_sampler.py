"""
Choosing a masked-diffusion sampler
===================================

Plug a denoiser into MaskGIT and the moment sampler, see MaskGIT's implicit
temperature, and compare the samplers' exact output laws on a toy chain.
"""

# %%
# Your own model is any ``logits_fn(tokens, mask) -> logits``. Here it is a
# sticky Markov chain with exact conditionals, wrapped in a plain function.
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mltheory import generative
from mltheory.generative import theory, toy

L, V = 4, 3
chain = toy.random_markov(jax.random.key(0), V, length=L, stickiness=0.5)


def logits_fn(tokens, mask):
    return chain(tokens, mask)


start = jnp.full((8, L), V)  # mask_id = V
res = generative.maskgit_sample(
    jax.random.key(1), logits_fn, start, mask_id=V, num_steps=3, choice_temperature=4.5
)
print(res.tokens[:2], "NFE:", float(res.nfe))
print("implicit token temperature per step:", res.info["temperature"].round(3))

# %%
# The order in which MaskGIT unmasked each of the 8 sequences.
ax = res.plot(show="reveal")

# %%
# MaskGIT's Gumbel scale alpha is a token temperature alpha / (1 + alpha): its
# one-step law approaches the moment sampler's as more positions are masked.
p = np.array([0.6, 0.3, 0.1])
ms = [1, 2, 4, 8, 16]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for alpha in (0.5, 1.0, 4.5):
    target = theory.moment_step_law(p[None], alpha=alpha)[0]
    tv = [
        float(
            theory.total_variation(
                theory.maskgit_step_law(np.tile(p, (m, 1)), alpha).sum(0), target
            )
        )
        for m in ms
    ]
    axes[0].loglog(ms, tv, "o-", label=f"alpha={alpha}")
axes[0].set(xlabel="masked positions m", ylabel="TV to p^beta / ||p||^beta")
axes[0].legend()

# %%
# Exact output laws on the chain: total variation to the chain's own law
# against the number of steps.
truth = np.exp(np.asarray(chain.log_prob(jnp.asarray(toy.all_sequences(L, V)))))
samplers = {
    "MaskGIT tau0=4.5": ("maskgit", {"choice_temperature": 4.5}),
    "moment alpha=4.5": ("moment", {"alpha": 4.5}),
    "uniform order": ("cts", {"position_policy": generative.Uniform()}),
}
for name, (kind, params) in samplers.items():
    tv = [
        float(
            theory.total_variation(
                theory.exact_output_distribution(kind, chain, num_steps=s, **params),
                truth,
            )
        )
        for s in range(1, L + 1)
    ]
    axes[1].plot(range(1, L + 1), tv, "o-", label=name)
axes[1].set(xlabel="number of steps", ylabel="TV(output law, chain)")
axes[1].legend()
fig.tight_layout()
plt.show()

"""
The polar factor: SVD and Newton–Schulz
=======================================

Spectral gradient descent and Muon replace a gradient matrix :math:`G` by its
polar factor :math:`UV^\\top`. :func:`mltheory.numerics.polar_svd` computes it
exactly; :func:`mltheory.numerics.newton_schulz` approximates it with matrix
products only. This example shows what each Newton–Schulz preset does to the
singular values: the classical cubic iteration converges to the exact factor,
Muon's quintic maps them into a band around one in five steps.
"""

# %%
# Singular values before and after
# --------------------------------
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mltheory import numerics

jax.config.update("jax_enable_x64", True)

G = jax.random.normal(jax.random.key(0), (128, 64))
exact = numerics.polar_svd(G)
muon = numerics.newton_schulz(G, coeffs="muon")  # 5 steps
cubic = numerics.newton_schulz(G, coeffs="cubic", steps=30)


def singular_values(M):
    return np.asarray(jnp.linalg.svd(M, compute_uv=False))


def relative_error(M):
    return float(jnp.linalg.norm(M - exact) / jnp.linalg.norm(exact))


print(f"cubic, 30 steps: relative error {relative_error(cubic):.1e}")
print(f"muon,   5 steps: relative error {relative_error(muon):.2f}")
sv = singular_values(muon)
print(f"muon singular values in [{sv.min():.2f}, {sv.max():.2f}]")

# %%
# The polynomial behind each preset
# ---------------------------------
# Newton–Schulz keeps the singular vectors and applies a fixed odd polynomial,
# step after step, to the singular values of :math:`G/\|G\|_F`. Feeding it a
# diagonal matrix reads that map off directly.
s = jnp.linspace(1e-3, 1.0, 400)
maps = {
    "muon (5 steps)": jnp.diag(numerics.newton_schulz(jnp.diag(s), coeffs="muon")),
    "cubic (30 steps)": jnp.diag(
        numerics.newton_schulz(jnp.diag(s), coeffs="cubic", steps=30)
    ),
}

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
axes[0].hist(singular_values(G) / float(jnp.linalg.norm(G)), bins=30, color="gray")
axes[0].set_title("singular values of G / ||G||_F")
norm = float(jnp.linalg.norm(jnp.diag(s)))
for label, values in maps.items():
    axes[1].plot(s / norm, values, label=label)
axes[1].axhline(1.0, color="k", lw=0.5)
axes[1].set_xscale("log")
axes[1].set_xlabel("normalised input singular value")
axes[1].set_ylabel("output singular value")
axes[1].legend()
plt.show()

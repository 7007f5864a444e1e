"""
Training an MLP with SpecGD on its matrices and Adam on the rest
================================================================

:func:`mltheory.optim.specgd` is an optax optimiser that replaces each
gradient matrix by its polar factor (Muon's update direction). Biases and other
non-matrix parameters have no polar factor, so the usual recipe routes them to
Adam with :func:`optax.multi_transform`. This example trains a small MLP on a
synthetic regression task both ways and compares with Adam everywhere.
"""

# %%
# Data and model
# --------------
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import optax

from mltheory import optim

kx, kt, k1, k2, k3 = jax.random.split(jax.random.key(0), 5)
X = jax.random.normal(kx, (512, 16))
teacher = jax.random.normal(kt, (16, 4)) / 4.0
y = jnp.sum(jnp.tanh(X @ teacher), axis=1)

params = {
    "W1": jax.random.normal(k1, (16, 64)) / 4.0,  # (fan_in, fan_out), x @ W
    "b1": jnp.zeros(64),
    "W2": jax.random.normal(k2, (64, 64)) / 8.0,
    "b2": jnp.zeros(64),
    "W3": jax.random.normal(k3, (64, 1)) / 8.0,
}


def loss_fn(p):
    h = jnp.tanh(X @ p["W1"] + p["b1"][None, :])
    h = jnp.tanh(h @ p["W2"] + p["b2"][None, :])
    return jnp.mean(jnp.square((h @ p["W3"])[:, 0] - y))


# %%
# SpecGD on matrices, Adam on the rest
# ------------------------------------
# The labels send every 2-D leaf to ``specgd`` (Muon-style: Nesterov momentum
# 0.95, the muon Newton–Schulz preset, the ``"muon"`` shape scale) and every
# other leaf to Adam.
steps = 400
labels = {k: "spectral" if v.ndim == 2 else "adam" for k, v in params.items()}
mixed = optax.multi_transform(
    {
        "spectral": optim.specgd(
            optax.cosine_decay_schedule(0.02, steps),
            momentum=0.95,
            nesterov=True,
            shape_scale="muon",
        ),
        "adam": optax.adam(optax.cosine_decay_schedule(3e-3, steps)),
    },
    labels,
)
adam = optax.adam(optax.cosine_decay_schedule(3e-3, steps))


def train(opt):
    @jax.jit
    def run(params):
        def step(carry, _):
            p, s = carry
            loss, g = jax.value_and_grad(loss_fn)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), loss

        return jax.lax.scan(step, (params, opt.init(params)), None, length=steps)[1]

    return run(params)


curves = {"SpecGD (matrices) + Adam (biases)": train(mixed), "Adam": train(adam)}
for name, losses in curves.items():
    print(f"{name}: loss {float(losses[0]):.3f} -> {float(losses[-1]):.2e}")

# %%
# Loss curves
# -----------
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
for name, losses in curves.items():
    ax.semilogy(losses, label=name)
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
plt.show()

"""
The geometry of unlearning: critical manifold and phase diagram
===============================================================

With a slow second layer (:math:`\\varepsilon \\ll 1`) the alignment :math:`m`
lands fast on the *critical manifold* — the face :math:`m = 1` or the branch
:math:`a = A(m)` where the first-layer flow stops — and then moves along it as
the second-layer weight :math:`a` drifts towards the nullcline :math:`a =
B(m)`. Where that slow drift points decides whether the learned feature is
kept or unlearned. This example draws the manifold with a trajectory on it,
then maps the dichotomy over the teacher's cubic strength :math:`c^*_3` and the
initial scale :math:`a_0`, without any time stepping.
"""

# %%
# The critical manifold and one trajectory
# ----------------------------------------
# Teacher :math:`He_1 - 0.1\,He_3`, tanh student, :math:`\varepsilon = 10^{-2}`.
# ``critical_manifold`` returns :math:`A(m)`, :math:`B(m)` and where the branch
# attracts; ``equilibria`` the fixed points :math:`A = B`; the stiff solver
# (``"lsoda"``) integrates the 2-D ODE.
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from mltheory import numerics
from mltheory.dynamics import fast_slow as fs

jax.config.update("jax_enable_x64", True)

K = 9
tanh = numerics.activation_series("tanh", K)


def teacher(mu):
    """He_1 + mu He_3."""
    return numerics.HermiteSeries(jnp.zeros(K + 1).at[1].set(1.0).at[3].set(mu))


problem = fs.FastSlowProblem(tanh, teacher(-0.1), eps=1e-2)
cm = fs.critical_manifold(problem, jnp.linspace(0.02, 1.0, 400))
eq = fs.equilibria(problem)
traj = fs.integrate(problem, 1e-3, 0.5, 2000.0)
diag = fs.predict_unlearning(problem, 0.5)
print("unlearning predicted:", bool(diag.occurs), "| ends at", diag.asymptotic)
stable = np.asarray(eq.stable)
print("stable equilibria m:", np.round(np.asarray(eq.m)[stable], 3))

fig, ax = plt.subplots(figsize=(5.5, 4))
m, a_branch = np.asarray(cm.m), np.asarray(cm.a_branch)
attracting = np.asarray(cm.attracting)
ax.plot(m, np.where(attracting, a_branch, np.nan), "k-", lw=2, label="A(m), attracting")
ax.plot(m, np.where(attracting, np.nan, a_branch), "k--", label="A(m), repelling")
ax.plot(m, np.asarray(cm.a_nullcline), "C1-", label="B(m): da/dt = 0")
ax.plot(traj.m, traj.a, "C0-", lw=1, label="trajectory, a0 = 0.5")
ax.plot(
    np.asarray(eq.m)[stable], np.asarray(eq.a)[stable], "r*", ms=12, label="stable eq."
)
ax.set(xlabel="alignment m", ylabel="second-layer weight a", ylim=(0, 3))
ax.legend(fontsize=8)
plt.tight_layout()

# %%
# The trajectory first climbs to the face :math:`m = 1` (fast), then rides up
# the face while :math:`a` grows (slow) until :math:`a = A(1)`, where the face
# loses stability; it then slides down the attracting branch to the
# equilibrium: the alignment peaks and then drops — feature unlearning.
#
# Phase diagram over :math:`(c^*_3, a_0)`
# ---------------------------------------
# ``phase_diagram`` evaluates ``predict_unlearning`` on the whole grid in one
# jitted, vmapped call (``simulate=True`` would also integrate every point).
# Left of ``critical_strength`` (:math:`B(1) < A(1)`: the face :math:`m = 1`
# holds an equilibrium) the feature is kept. Right of it a small :math:`a_0`
# lands on the face and unlearns (insight 1: the teacher's cubic term drives
# unlearning), while a large enough :math:`a_0` lands on the branch at or
# above the equilibrium and removes the drop (insight 2: a larger initial
# scale mitigates unlearning) — the boundary bends to the right.
pd = fs.phase_diagram(
    problem,
    jnp.linspace(-0.5, 0.4, 61),
    jnp.linspace(0.2, 3.0, 57),
    simulate=False,
)
print("critical c*_3 on the face:", round(float(pd.critical_strength), 4))

# The predicted unlearning region is shaded; the dotted line is the critical
# strength. With ``simulate=True`` the plot shows the simulated drop of the
# alignment as a heatmap with the predicted boundary over it.
ax = pd.plot()
plt.show()

"""
Optimal transport between two families of random curves
=======================================================

Two families of random functions on :math:`[0, 1]` are observed as unpaired
samples: a source family :math:`X(t) = \\sum_j j^{-1} U_j \\sqrt2\\sin(\\pi j
t)` with uniform :math:`U_j`, and a target family obtained by pushing fresh
source curves through a nonlinear, gamma-smooth optimal transport map
:math:`T_0` (each of the first two coefficients is bent by a sine). We
estimate :math:`T_0` from the two samples with the gamma-sieve semi-dual
estimator of :mod:`mltheory.stats.ot` (derived from the abstract of
Ponnoprat and Imaizumi, arXiv:2505.13570) and with the truncated Gaussian
(Bures) map, and compare both with the truth on new curves.
"""

# %%
# Two families of curves
# ----------------------
# ``make_gamma_smooth_pair`` returns the two samples as
# :class:`~mltheory.numerics.FunctionalData` (curves on a grid) with the true
# map. The target sample is independent of the source sample: nothing tells
# which target curve belongs to which source curve.
import warnings

import matplotlib.pyplot as plt

from mltheory.exceptions import ConvergenceWarning
from mltheory.stats import ot

opts = {"n_coefficients": 16, "n_grid": 100, "J0": 2, "c": 0.9}
pair = ot.datasets.make_gamma_smooth_pair(600, random_state=0, **opts)
test = ot.datasets.make_gamma_smooth_pair(2000, random_state=1, **opts)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True, layout="constrained")
pair.X.plot(axes[0], max_curves=12, label="source X")
pair.Y.plot(axes[1], max_curves=12, label="target Y (unpaired)")

# %%
# Fit the maps
# ------------
# Both estimators project the curves on 16 sine functions. The sieve prices
# coordinate :math:`i` by :math:`a_i = i^2` (anisotropic gamma smoothness),
# so a budget :math:`T` activates the coordinates with :math:`i^2 \le T`;
# ``T="auto"`` picks the budget by 3-fold cross-validation of the held-out
# semi-dual. The Gaussian map uses the first 8 coordinates.
#
# The unconstrained semi-dual optimum is not convex at some source points
# here; the fit is then repeated with a penalty on negative Hessian
# eigenvalues, whose L-BFGS run tends to stop at ``maxiter`` with a small
# gradient (a ``ConvergenceWarning``). We silence that warning: the repaired
# map is convex at every source point and its error differs from the
# unrepaired fit's by about 1%.
gamma = ot.GammaSmoothness(lambda i: float(i * i))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    sieve = ot.GammaSieveOTMap(gamma, cv=3, n_basis=16).fit(pair.X, pair.Y)
gauss = ot.GaussianOTMap(n_components=8, n_basis=16).fit(pair.X, pair.Y)

errors = {
    "identity": ot.l2_map_error(lambda x: x, pair.transport, test.X),
    "Gaussian map (D=8)": ot.l2_map_error(gauss, pair.transport, test.X),
    f"gamma-sieve (T={sieve.T_:g})": ot.l2_map_error(sieve, pair.transport, test.X),
}
for name, err in errors.items():
    print(f"{name:>22}: L2(mu) error {err:.2e}")
print(
    f"sieve: {sieve.dim_} active coordinates, {sieve.n_features_} frequencies, "
    f"convexity violation {sieve.convexity_violation_:.1e}"
)

# %%
# Mapped curves
# -------------
# ``plot`` draws source curves (solid), their images under the fitted map
# (dashed, same colour) and, for comparison, the true images (dotted grey).
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
sieve.plot(test.X, ax=ax, n_curves=4)
first = test.X.with_values(test.X.values[:4])
pair.transport(first).plot(ax, color="0.3", linestyle=":", label="true T0(X)")
ax.legend(fontsize="small", frameon=False)

# %%
# The fitted map, coordinate by coordinate
# ----------------------------------------
# The fitted result's ``plot`` shows the displacement
# :math:`\\hat T(x)_j - x_j` along each active coordinate (the others at the
# sample centre), here against the true displacement, which the coefficient
# version of the same dataset provides.
truth = ot.datasets.make_gamma_smooth_pair(2, n_coefficients=16, J0=2, c=0.9).transport
sieve.result_.plot(truth=truth)

plt.show()

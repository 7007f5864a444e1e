"""
Regression with mismatched records: fit, test, intervals
========================================================

When responses and covariates come from different files and are linked by an
imperfect key, some responses sit next to the wrong covariates: the model is
:math:`Y_i = x_{\\pi^*(i)}^\\top\\beta + \\sigma\\varepsilon_i` with an
unknown permutation :math:`\\pi^*` that moves a few rows.
:class:`mltheory.stats.shuffled.ShuffledRegression` estimates
:math:`\\pi^*` and :math:`\\beta`, tests whether any record is mismatched and
gives coefficient intervals that account for the uncertain alignment.

We use the synthetic stand-in of the Beijing air-quality data (same columns as
the UCI files, four years of hourly records); with the real files, replace it
by ``shuffled.load_beijing_air_quality(path, station="Aotizhongxin")``.
"""

# %%
# The data: PM2.5 against the weather
# -----------------------------------
# 200 hourly records drawn at random from the four years, so that the seasons
# are represented; the covariates are standardised.
import matplotlib.pyplot as plt
import numpy as np

from mltheory.stats import shuffled

data = shuffled.synthetic_air_quality(35064, rng=0)
rows = np.sort(np.random.default_rng(0).choice(35064, size=200, replace=False))
covariates = ["DEWP", "TEMP", "PRES", "WSPM"]
X = np.column_stack([data[c][rows] for c in covariates])
X = (X - X.mean(axis=0)) / X.std(axis=0)
Y = data["PM2.5"][rows]

# %%
# Are the records aligned?
# ------------------------
# The conditional Monte Carlo test of "no mismatch" is exact under Gaussian
# noise: when every record is correctly linked its p-value is uniform.
clean = shuffled.ShuffledRegression(fit_intercept=True, n_draws=50, random_state=0)
clean.fit(X, Y)
print(f"aligned records:    p = {clean.test_no_mismatch(n_mc=199).p_value:.3f}")

# %%
# Now mismatch 10% of the records: the responses of 20 random rows are
# passed around a cycle (``Y_obs[i]`` belongs to row ``true_perm[i]``).
rng = np.random.default_rng(1)
moved_rows = rng.choice(200, size=20, replace=False)
true_perm = np.arange(200)
true_perm[moved_rows] = np.roll(moved_rows, -1)
Y_obs = Y[true_perm]

model = shuffled.ShuffledRegression(fit_intercept=True, n_draws=50, random_state=0)
model.fit(X, Y_obs)
print(f"mismatched records: p = {model.test_no_mismatch(n_mc=199).p_value:.3f}")
agree = int(np.sum(model.permutation_ == true_perm))
print(f"estimated links that agree with the truth: {agree} of 200")
print(f"candidate permutations: {len(model.candidates_.perms)}")

# %%
# Coefficient intervals
# ---------------------
# Least squares on the mismatched records is pulled towards zero and its
# interval misses the coefficients of the clean fit; the union of the
# confidence regions over the candidate permutations accounts for the
# alignment uncertainty.
design = np.column_stack([np.ones(200), X])
naive = shuffled.coefficient_confidence_set(design, Y_obs, candidates=np.arange(200))
regions = [
    ("OLS ignoring the mismatch", naive),
    ("union over candidates", model.conf_int()),
    ("clean records", clean.conf_int()),
]
names = ["intercept", *covariates]
fig, ax = plt.subplots(figsize=(6.5, 3.5))
for shift, (label, region) in zip((-0.2, 0.0, 0.2), regions, strict=True):
    lo, hi = region.intervals[:, 0], region.intervals[:, 1]
    pos = np.arange(len(names)) + shift
    ax.errorbar(pos, (lo + hi) / 2, yerr=(hi - lo) / 2, fmt="o", capsize=3, label=label)
ax.set_xticks(np.arange(len(names)), names)
ax.set_ylabel("coefficient (PM2.5 per sd)")
ax.set_title("95% intervals")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The joint region of two coefficients
# ------------------------------------
# The coefficient set is a union of ellipses, one per candidate permutation;
# ``plot`` shades it for two coordinates (here DEWP and TEMP, columns 1 and 2
# after the intercept), with the per-coordinate intervals as a dashed box.
ax = model.conf_int().plot(dims=(1, 2), names=("DEWP", "TEMP"))

# %%
# Which records moved?
# --------------------
# Residuals of least squares that ignores the mismatch, and of the
# permutation-aware fit: the mismatched records stand out before the
# correction and mostly disappear after it.
naive_res = Y_obs - design @ naive.centers[0]
fixed_res = Y_obs - model.predict(X[model.permutation_])
moved = true_perm != np.arange(200)
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.scatter(np.flatnonzero(~moved), naive_res[~moved], s=8, label="aligned (OLS)")
ax.scatter(np.flatnonzero(moved), naive_res[moved], s=18, label="mismatched (OLS)")
ax.scatter(np.arange(200), fixed_res, s=4, c="k", alpha=0.4, label="after the LAP fit")
ax.set_xlabel("record")
ax.set_ylabel("residual")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

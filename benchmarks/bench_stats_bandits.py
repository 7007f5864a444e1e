"""Kernel contextual bandits: vectorised replications, LinUCB, O(t^2) kernel UCB.

* ``bandits_etc_run_many_vs_loop``: ``run_many(KernelInterpolationETC,
  n_reps=50, T=4000, K=3, d=50)`` (quick: 5 reps, T=1000) against the same
  policy stepped round by round through its protocol in a Python loop, the
  way SMPyBandits-style libraries run, on the same instances and policy keys;
  the check: the same arms.
* ``bandits_linucb_vs_mabwiser`` (scan) and ``bandits_linucb_step_vs_mabwiser``
  (our protocol stepped per round): LinUCB against mabwiser's
  ``LearningPolicy.LinUCB`` (predict + partial_fit per round) on the same
  stream of T=2000 rounds (quick: 500), K=3, d=20, one shared context per
  round; the check: the same arms. Needs ``mltheory[compare]``.
* ``bandits_gpucb_step_t{250,500,1000,2000,4000}``: the cost of one GP-UCB
  round (select + update, K=3, d=20) at history size t, ours (incremental
  Cholesky, O(t^2)) against refactorising each arm's Gram matrix every round
  (O(t^3)). ``python benchmarks/bench_stats_bandits.py --table`` prints the
  per-round times against t with their log-log slopes.
"""

import sys
import time

import numpy as np

from mltheory import numerics
from mltheory.stats import bandits

# --- run_many vs a Python loop ---------------------------------------------------


def _etc_setup(quick):
    n_reps, T, K, d = (5, 1000, 3, 50) if quick else (50, 4000, 3, 50)
    keys = numerics.split_keys(numerics.as_key(0), (n_reps, 2))
    instances = [bandits.make_instance(T, K, d, key=keys[r, 0]) for r in range(n_reps)]
    return {
        "sizes": (n_reps, T, K, d),
        "keys": keys,
        "contexts": [np.asarray(i.contexts) for i in instances],
        "observed": [np.asarray(i.means + i.noise) for i in instances],
    }


def _etc_loop(inputs):
    n_reps, T, K, d = inputs["sizes"]
    out = np.zeros((n_reps, T), dtype=np.int64)
    for r in range(n_reps):
        policy = bandits.KernelInterpolationETC()
        policy.reset(K, d, T, inputs["keys"][r, 1])
        ctx, y = inputs["contexts"][r], inputs["observed"][r]
        for t in range(T):
            a = policy.select(t, ctx[t])
            policy.update(t, a, ctx[t, a], y[t, a])
            out[r, t] = a
    return out


_etc_loop.needs_warmup = False  # minutes of Python; nothing to compile


def _etc_vectorised(inputs):
    n_reps, T, K, d = inputs["sizes"]
    batch = bandits.run_many(
        bandits.KernelInterpolationETC, n_reps=n_reps, T=T, K=K, d=d, key=0
    )
    return batch.actions


def _same_arms(base, ours):
    np.testing.assert_array_equal(np.asarray(base), np.asarray(ours))


# --- LinUCB vs mabwiser --------------------------------------------------------------


def _linucb_setup(quick):
    T, K, d = (500, 3, 20) if quick else (2000, 3, 20)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, d))
    means = x @ rng.standard_normal((d, K)) / np.sqrt(d)
    ctx = np.repeat(x[:, None, :], K, axis=1)
    inst = bandits.instance_from_arrays(ctx, means, noise_sd=0.1, key=0)
    return {"inst": inst, "x": x, "y": np.asarray(inst.means + inst.noise), "K": K}


def _mabwiser(inputs):
    from mabwiser.mab import MAB, LearningPolicy

    x, y, K = inputs["x"], inputs["y"], inputs["K"]
    model = MAB(list(range(K)), LearningPolicy.LinUCB(alpha=1.0, l2_lambda=1.0))
    model.fit([0], [y[0, 0]], x[:1])  # our first round: all-zero state picks arm 0
    arms = [0]
    for t in range(1, x.shape[0]):
        a = int(model.predict(x[t : t + 1]))
        model.partial_fit([a], [y[t, a]], x[t : t + 1])
        arms.append(a)
    return np.asarray(arms)


_mabwiser.needs_warmup = False


def _linucb_scan(inputs):
    return bandits.run_bandit(
        bandits.LinUCB(alpha=1.0, lam=1.0), inputs["inst"]
    ).actions


def _linucb_step(inputs):
    inst = inputs["inst"]
    ctx, y = np.asarray(inst.contexts), inputs["y"]
    T, K, d = ctx.shape
    policy = bandits.LinUCB(alpha=1.0, lam=1.0)
    policy.reset(K, d, T, 0)
    arms = np.zeros(T, dtype=np.int64)
    for t in range(T):
        a = policy.select(t, ctx[t])
        policy.update(t, a, ctx[t, a], y[t, a])
        arms[t] = a
    return arms


# --- GP-UCB: one round at history size t ---------------------------------------

_K, _D, _STEPS = 3, 20, 5


def _gp_setup(t):
    def setup(quick):
        inst = bandits.make_instance(t + 50 * _STEPS, _K, _D, key=1)
        ctx = np.asarray(inst.contexts)
        y = np.asarray(inst.means + inst.noise)
        policy = bandits.GPUCB(kernel_params={"lengthscale": 4.0})
        policy.reset(_K, _D, ctx.shape[0], 0)
        hist = [[] for _ in range(_K)]
        for s in range(t):  # round-robin history of t points (untimed)
            a = s % _K
            policy.select(s, ctx[s])
            policy.update(s, a, ctx[s, a], y[s, a])
            hist[a].append(s)
        return {"policy": policy, "ctx": ctx, "y": y, "t": [t], "hist": hist}

    return setup


def _gp_ours(inputs):
    policy, ctx, y = inputs["policy"], inputs["ctx"], inputs["y"]
    for _ in range(_STEPS):
        s = inputs["t"][0]
        a = policy.select(s, ctx[s])
        policy.update(s, a, ctx[s, a], y[s, a])
        inputs["t"][0] = s + 1
    return 0


def _rbf(A, B, ls=4.0):
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    return np.exp(-0.5 * np.maximum(d2, 0) / ls**2)


def _gp_refactorise(inputs):
    # The textbook round: factorise each arm's K_n + s^2 I from scratch.
    ctx, y, hist = inputs["ctx"], inputs["y"], inputs["hist"]
    t = sum(len(h) for h in hist)
    for _ in range(_STEPS):
        scores = np.empty(_K)
        for i in range(_K):
            Xi = ctx[hist[i], i]
            L = np.linalg.cholesky(_rbf(Xi, Xi) + 0.01 * np.eye(len(Xi)))
            kv = _rbf(ctx[t, i][None], Xi)[0]
            z = np.linalg.solve(L, kv)
            w = np.linalg.solve(L, y[hist[i], i])
            beta = 2 * np.log(_K * (t + 1) ** 2 * np.pi**2 / 0.6)
            scores[i] = z @ w + np.sqrt(beta * max(1 - z @ z, 0))
    return 0


_gp_refactorise.needs_warmup = False

_GP_TS = (250, 500, 1000, 2000, 4000)

CASES = {
    "bandits_etc_run_many_vs_loop": (
        _etc_setup,
        _etc_loop,
        _etc_vectorised,
        _same_arms,
    ),
    "bandits_linucb_vs_mabwiser": (_linucb_setup, _mabwiser, _linucb_scan, _same_arms),
    "bandits_linucb_step_vs_mabwiser": (
        _linucb_setup,
        _mabwiser,
        _linucb_step,
        _same_arms,
    ),
    **{
        f"bandits_gpucb_step_t{t}": (_gp_setup(t), _gp_refactorise, _gp_ours)
        for t in _GP_TS
    },
}


def _table(ts=_GP_TS, repeats=3):
    """Per-round time against t for both sides, and the log-log slopes."""
    rows = []
    for t in ts:
        inputs = _gp_setup(t)(False)
        times = {}
        for name, fn in (("refactorise", _gp_refactorise), ("incremental", _gp_ours)):
            fn(inputs)
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                fn(inputs)
                best = min(best, time.perf_counter() - start)
            times[name] = best / _STEPS
        rows.append((t, times["refactorise"], times["incremental"]))
        print(
            f"t={t:5d}  refactorise {rows[-1][1]:.3e} s  "
            f"incremental {rows[-1][2]:.3e} s"
        )
    ts_arr = np.log([r[0] for r in rows])
    for j, name in ((1, "refactorise"), (2, "incremental")):
        slope = np.polyfit(ts_arr, np.log([r[j] for r in rows]), 1)[0]
        print(f"log-log slope of the {name} round time: {slope:.2f}")


if __name__ == "__main__" and "--table" in sys.argv:
    _table()

"""Reproduction ``sona``: the SONA discriminator against projection baselines.

Takida et al., *SONA: Learning Conditional, Unconditional, and
Mismatching-Aware Discriminator* (arXiv:2510.04576). Three pieces:

1. Structure (exact, float64): the alignment term is blind to shifts of the
   features along the naturalness direction, the naturalness term ignores the
   condition, the Bradley–Terry terms send no gradient to the naturalness
   direction, the projection discriminator's unconditional part is absorbed
   by its class embeddings, equal class embeddings give a BT-M loss of
   log 2, and the SAN function/direction split equals finite differences of
   the two halves of the loss.
2. BT-M's optimum is ``log p(x|y) - log p(x)`` (the paper's proposition), on
   an enumerated discrete law: minimising the exact population loss over free
   scores and over a SONA head on learnt features (Adam, exact population loss).
3. The toy conditional GAN (8 Gaussian modes on a ring, 4 classes owning two
   opposite modes each): SONA, the projection discriminator (PD, hinge) and
   SAN over PD trained with the same networks and budget over 5 seeds at
   once (:func:`jax.vmap`). Pass conditions are on SONA only: generator
   alignment accuracy >= 0.9 and 8/8 modes covered on at least 3 of 5 seeds;
   the baselines' numbers are reported beside it.

Sizes: ``quick`` trains MLPs of width 32 (features 16), batch 64, 2000
steps, learning rate 2e-3, generator EMA 0.99 (float32); ``full`` width 128
(features 64), batch 256, 20000 steps, learning rate 1e-3, EMA 0.999. The
metrics are those of the last evaluation (4096 generated and 4096 fresh real
points). The paper's own experiments (BigGAN and
StyleGAN2 backbones on CIFAR-10, TinyImageNet, ImageNet; GALIP for text) are
far outside a CPU budget and are not reproduced.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mltheory._src._progress import progress
from mltheory.generative import sona, sona_toy
from mltheory.reproduce._plotting import new_figure, save_figure
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["run"]

_TITLE = "SONA: naturalness, alignment and mismatch in one discriminator head"
_METHODS = {"sona": "SONA", "pd": "PD (hinge)", "san_pd": "SAN-PD"}
_SEEDS = 5
_METRICS = {
    "alignment_accuracy": "generator alignment",
    "mode_coverage": "modes covered (of 8)",
    "naturalness": "naturalness",
    "discriminator_alignment_accuracy": "discriminator alignment",
}


def _sizes(size: str) -> tuple[sona_toy.ToyGANConfig, int, int]:
    if size == "quick":
        cfg = sona_toy.ToyGANConfig(
            hidden=32,
            feature_dim=16,
            batch_size=64,
            learning_rate=2e-3,
            ema_decay=0.99,
            dtype="float32",
        )
        return cfg, 2000, 250
    cfg = sona_toy.ToyGANConfig(
        hidden=128,
        feature_dim=64,
        batch_size=256,
        learning_rate=1e-3,
        ema_decay=0.999,
        dtype="float32",
    )
    return cfg, 20000, 1000


# --- 1. structure ------------------------------------------------------------


def _fd(fun: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (fun(x + e) - fun(x - e)) / (2 * eps)
    return g


@jax.jit
def _structure_values(
    key: jax.Array, xr: jax.Array, xf: jax.Array, w0: jax.Array
) -> dict[str, jax.Array]:
    """Every exact identity of the head in one compiled program."""
    d, c, b = 8, 4, 32
    k1, k2, k3, k4 = jax.random.split(key, 4)
    head = sona.sona_init(k1, d, num_classes=c)
    h = jax.random.normal(k2, (b, d))
    y = jnp.arange(b) % c
    omega = head.u / jnp.linalg.norm(head.u)
    out = sona.sona_apply(head, h, y)
    shift = jnp.max(
        jnp.stack(
            [
                jnp.max(
                    jnp.abs(
                        sona.sona_apply(head, h + s * omega[None, :], y).f_align
                        - out.f_align
                    )
                )
                for s in (-5.0, 0.3, 50.0)
            ]
        )
    )
    cond_dep = jnp.max(
        jnp.stack(
            [
                jnp.max(
                    jnp.abs(sona.sona_apply(head, h, jnp.full(b, k)).f_nat - out.f_nat)
                )
                for k in range(c)
            ]
        )
    )
    x_fake = jax.random.normal(k3, (b, d))
    partner = jnp.roll(h, 1, axis=0)
    y_mis = sona.sample_mismatched(k4, y, c)

    def bt(p: sona.SonaHeadParams) -> jax.Array:
        real = sona.sona_apply(p, h, y)
        return (
            sona.bt_conditional_loss(real.f_bt, sona.sona_apply(p, x_fake, y).f_bt)
            + sona.bt_mismatch_loss(real.f_bt, sona.sona_apply(p, partner, y).f_bt)
            + sona.bt_mismatch_loss(real.f_bt, sona.sona_apply(p, h, y_mis).f_bt)
        )

    grad_u = jnp.max(jnp.abs(jax.grad(bt)(head).u))
    pd = sona.projection_init(k1, d, c)
    absorbed = pd._replace(w=jnp.zeros(d), embed=pd.embed + pd.w[None, :])
    collapse = jnp.max(
        jnp.abs(
            sona.projection_discriminator_apply(pd, h, y)
            - sona.projection_discriminator_apply(absorbed, h, y)
        )
    )
    equal = head._replace(embed=jnp.tile(head.embed[:1], (c, 1)))
    log2_gap = jnp.abs(
        sona.bt_mismatch_loss(
            sona.sona_apply(equal, h, y).f_bt, sona.sona_apply(equal, h, y_mis).f_bt
        )
        - jnp.log(2.0)
    )
    # the SAN split on a linear phi: autodiff of the whole loss
    yy = jnp.arange(xr.shape[0]) % c

    def san(u: jax.Array, w: jax.Array) -> jax.Array:
        p = head._replace(u=u)
        return sona.san_naturalness_loss(
            sona.sona_apply(p, xr @ w, yy), sona.sona_apply(p, xf @ w, yy)
        )

    gu, gw = jax.grad(san, argnums=(0, 1))(head.u, w0)
    return {
        "shift": shift,
        "cond_dep": cond_dep,
        "grad_u": grad_u,
        "collapse": collapse,
        "log2_gap": log2_gap,
        "u": head.u,
        "gu": gu,
        "gw": gw,
    }


def _structure(key: jax.Array) -> tuple[list[Check], dict[str, float]]:
    rng = np.random.default_rng(0)
    xr, xf = rng.normal(size=(16, 3)), rng.normal(size=(16, 3)) + 0.5
    w0 = rng.normal(size=(3, 8)) * 0.3
    v = {
        k: np.asarray(a)
        for k, a in _structure_values(
            key, jnp.asarray(xr), jnp.asarray(xf), jnp.asarray(w0)
        ).items()
    }
    u0 = v["u"]
    om0 = u0 / np.linalg.norm(u0)

    # numpy oracle: each half of the SAN loss as a function of its own parameters
    def dir_half(u: np.ndarray) -> float:
        om = u / np.linalg.norm(u)
        return float(-np.mean((xr @ w0) @ om) + np.mean((xf @ w0) @ om))

    def fun_half(w: np.ndarray) -> float:
        return float(
            np.mean(np.logaddexp(0, -(xr @ w) @ om0))
            + np.mean(np.logaddexp(0, (xf @ w) @ om0))
        )

    fd_u, fd_w = _fd(dir_half, u0), _fd(fun_half, w0)
    err_u = float(np.max(np.abs(v["gu"] - fd_u)) / np.max(np.abs(fd_u)))
    err_w = float(np.max(np.abs(v["gw"] - fd_w)) / np.max(np.abs(fd_w)))
    checks = [
        Check.at_most(
            "T9: max |f_A(h + c omega) - f_A(h)| over c in {-5, 0.3, 50}",
            float(v["shift"]),
            1e-10,
        ),
        Check.at_most(
            "T9: max |f_N(x, y) - f_N(x, y')| (naturalness ignores y)",
            float(v["cond_dep"]),
            0.0,
        ),
        Check.at_most(
            "T9: max |d(BT-C + BT-M, both forms)/du| (stop-gradient: exactly 0)",
            float(v["grad_u"]),
            0.0,
        ),
        Check.at_most(
            "T9: projection discriminator = absorbed (w=0, w_y + w) form, max diff",
            float(v["collapse"]),
            1e-12,
        ),
        Check.at_most(
            "T9: |BT-M (label form), equal class embeddings - log 2|",
            float(v["log2_gap"]),
            1e-14,
        ),
        Check.at_most(
            "T10: SAN grad wrt u vs finite differences of the direction half (rel.)",
            err_u,
            1e-7,
        ),
        Check.at_most(
            "T10: SAN grad wrt features' weights vs finite differences of the function "
            "half (rel.)",
            err_w,
            1e-7,
        ),
    ]
    return checks, {
        "T10 relative FD error (u)": err_u,
        "T10 relative FD error (W)": err_w,
    }


# --- 2. BT-M optimum -----------------------------------------------------------


@partial(jax.jit, static_argnames=("ny", "nx", "steps"))
def _bt_m_fit(
    key: jax.Array, p: jax.Array, *, ny: int, nx: int, steps: int
) -> tuple[jax.Array, jax.Array]:
    """Minimise the exact population BT-M loss with Adam, in one program.

    Over (a) free scores and (b) a feature table read by a SONA head.
    """
    px = p.sum(0)
    yy, xw, xl = (
        a.ravel()
        for a in jnp.meshgrid(
            jnp.arange(ny), jnp.arange(nx), jnp.arange(nx), indexing="ij"
        )
    )
    wts = p[yy, xw] * px[xl]  # p(y) p(x_w | y) p(x_l)

    def loss_free(f: jax.Array) -> jax.Array:
        return sona.bt_mismatch_loss(f[yy, xw], f[yy, xl], weights=wts)

    # the head's scores are f~ = sg(f_N) + f_A: only the alignment part trains
    def loss_head(table: jax.Array, head: sona.SonaHeadParams) -> jax.Array:
        return sona.bt_mismatch_loss(
            sona.sona_apply(head, table[xw], yy).f_bt,
            sona.sona_apply(head, table[xl], yy).f_bt,
            weights=wts,
        )

    dim = nx + 2
    kh, kp = jax.random.split(key)
    params = (
        jnp.zeros((ny, nx), p.dtype),
        0.5 * jax.random.normal(kh, (nx, dim), p.dtype),
        sona.sona_init(kp, dim, num_classes=ny),
    )
    # a decaying step so that Adam settles on the optimum instead of hovering
    opt = optax.adam(optax.cosine_decay_schedule(0.02, steps))

    def step(carry: Any, _: Any) -> tuple[Any, None]:
        prm, st = carry
        g = jax.grad(lambda q: loss_free(q[0]) + loss_head(q[1], q[2]))(prm)
        upd, st = opt.update(g, st, prm)
        return (optax.apply_updates(prm, upd), st), None

    (prm, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    f_free, table, head = prm
    f_head = jax.vmap(lambda k: sona.sona_apply(head, table, jnp.full(nx, k)).f)(
        jnp.arange(ny)
    )
    return f_free, f_head


def _bt_m(
    key: jax.Array, size: str
) -> tuple[dict[str, Any], list[Check], dict[str, float]]:
    ny, nx = (3, 6) if size == "quick" else (5, 12)
    p = np.asarray(jax.random.dirichlet(key, jnp.ones(ny * nx))).reshape(ny, nx)
    truth = np.log(p / p.sum(1, keepdims=True)) - np.log(p.sum(0))[None, :]
    f_free, f_head = (
        np.asarray(a)
        for a in _bt_m_fit(
            jax.random.fold_in(key, 1),
            jnp.asarray(p),
            ny=ny,
            nx=nx,
            steps=3000 if size == "quick" else 10000,
        )
    )

    def centred(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=1, keepdims=True)

    err_free = float(np.max(np.abs(centred(f_free) - centred(truth))))
    err_head = float(np.max(np.abs(centred(f_head) - centred(truth))))
    spread = float(np.max(np.abs(centred(truth))))
    checks = [
        Check.at_most(
            f"BT-M optimum, free scores ({ny} conditions x {nx} values, Adam): "
            "max |f - (log p(x|y) - log p(x))|, centred per condition",
            err_free,
            1e-6,
        ),
        Check.at_most(
            "BT-M optimum through a SONA head on learnt features (Adam): same error, "
            f"relative to the spread {spread:.2f} of the truth",
            err_head / spread,
            0.02,
        ),
    ]
    data = {"truth": centred(truth), "free": centred(f_free), "head": centred(f_head)}
    return (
        data,
        checks,
        {"BT-M max error (free)": err_free, "BT-M max error (head)": err_head},
    )


# --- 3. the toy GAN --------------------------------------------------------------


def _toy(
    key: jax.Array, size: str
) -> tuple[dict[str, Any], list[Check], dict[str, float]]:
    cfg, steps, every = _sizes(size)
    keys = jax.random.split(key, _SEEDS)
    runs, metrics = {}, {}
    for method in progress(_METHODS, desc="sona: toy GAN", total=len(_METHODS)):
        res = sona_toy.train(
            keys,
            method=method,  # type: ignore[arg-type]
            steps=steps,
            config=cfg,
            eval_every=every,
            eval_samples=4096,
            on_divergence="flag",
        )
        runs[method] = res
        metrics[method] = {k: np.asarray(res.history[k])[:, -1] for k in _METRICS}
    m = metrics["sona"]
    good = int(
        np.sum((m["alignment_accuracy"] >= 0.9) & (m["mode_coverage"] == cfg.num_modes))
    )
    d_good = int(np.sum(m["discriminator_alignment_accuracy"] >= 0.9))
    diverged = sum(int(np.sum(np.asarray(r.diverged))) for r in runs.values())
    scales = np.asarray(runs["sona"].history["scales"], dtype=np.float64)
    sphere = float(np.max(np.abs(np.sum(scales**2, axis=-1) - 1.0)))
    checks = [
        Check.at_least(
            f"SONA: seeds (of {_SEEDS}) with generator alignment >= 0.9 and "
            f"{cfg.num_modes}/{cfg.num_modes} modes covered",
            good,
            3,
        ),
        Check.at_least(
            f"SONA: seeds (of {_SEEDS}) whose discriminator puts >= 90% of fresh real "
            "points in their class (argmax_y f(x, y))",
            d_good,
            3,
        ),
        Check.at_most(
            "SONA: max |s_SAN^2 + s_BT-C^2 + s_BT-M^2 - 1| over every step and seed "
            "(float32 training)",
            sphere,
            1e-5,
        ),
        Check.at_most(
            "seeds whose losses became non-finite (all three methods)", diverged, 0
        ),
    ]
    numbers: dict[str, float] = {}
    for method, name in _METHODS.items():
        mm = metrics[method]
        numbers[f"{name}: seeds with 8/8 modes and alignment >= 0.9"] = float(
            np.sum(
                (mm["alignment_accuracy"] >= 0.9)
                & (mm["mode_coverage"] == cfg.num_modes)
            )
        )
        for key_, label in _METRICS.items():
            numbers[f"{name}: {label} (mean of seeds)"] = float(np.mean(mm[key_]))
    return {"runs": runs, "metrics": metrics, "cfg": cfg}, checks, numbers


# --- figures -------------------------------------------------------------------


def _plot(toy: dict[str, Any], btm: dict[str, Any], out_dir: Path) -> tuple[str, ...]:
    runs, cfg = toy["runs"], toy["cfg"]
    fig, axes = new_figure(len(_METHODS), 1, width=3.8, height=3.8)
    for ax, (method, name) in zip(axes[0], _METHODS.items(), strict=True):
        runs[method].plot(ax, key=jax.random.key(7), n=1024, member=0)
        ax.set_title(f"{name}, seed 0", fontsize="medium")
        if method != "sona":
            ax.get_legend().remove()
    p1 = save_figure(fig, out_dir, "generated_points")

    fig, axes = new_figure(3, 1, width=3.8, height=3.2)
    colors = {"sona": "C0", "pd": "C1", "san_pd": "C2"}
    for method, name in _METHODS.items():
        hist = runs[method].history
        t = np.asarray(hist["eval_step"][0])
        for ax, field in zip(
            axes[0], ("mode_coverage", "alignment_accuracy", "naturalness"), strict=True
        ):
            vals = np.asarray(hist[field], dtype=float)
            for i in range(vals.shape[0]):
                ax.plot(t, vals[i], color=colors[method], alpha=0.25, lw=0.8)
            ax.plot(t, vals.mean(0), color=colors[method], lw=2, label=name)
    for ax, label in zip(
        axes[0],
        ("modes covered", "generator alignment accuracy", "naturalness"),
        strict=True,
    ):
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
    axes[0][0].axhline(cfg.num_modes, color="k", lw=0.8, ls="--")
    axes[0][1].axhline(0.9, color="k", lw=0.8, ls="--")
    axes[0][0].legend(fontsize="small")
    p2 = save_figure(fig, out_dir, "training_curves")

    fig, axes = new_figure(1, 1, width=4.2, height=3.8)
    ax = axes[0][0]
    truth = btm["truth"].ravel()
    ax.plot(truth, btm["free"].ravel(), "o", ms=5, label="free scores")
    ax.plot(truth, btm["head"].ravel(), "x", ms=6, label="SONA head on learnt features")
    lim = [truth.min() - 0.2, truth.max() + 0.2]
    ax.plot(lim, lim, "k-", lw=0.8, label="y = x")
    ax.set_xlabel("log p(x|y) - log p(x)  (centred per y)")
    ax.set_ylabel("learnt f(x, y)  (centred per y)")
    ax.set_title("BT-M optimum", fontsize="medium")
    ax.legend(fontsize="small")
    p3 = save_figure(fig, out_dir, "bt_m_optimum")
    return tuple(str(p) for p in (p1, p2, p3))


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the SONA reproduction (see the module docstring)."""
    k1, k2, k3 = jax.random.split(key, 3)
    c1, n1 = _structure(k1)
    btm, c2, n2 = _bt_m(k2, size)
    toy, c3, n3 = _toy(k3, size)
    figures = _plot(toy, btm, out_dir)
    cfg, steps, _ = _sizes(size)
    return Reproduction(
        name="sona",
        title=_TITLE,
        figures=figures,
        checks=(*c1, *c2, *c3),
        numbers={**n1, **n2, **n3},
        summary=(
            "Structure identities of the SONA head and losses (exact, float64); the "
            "BT-M optimum log p(x|y) - log p(x) on an enumerated law, by free scores "
            "and through a SONA head; and a toy conditional GAN (8 modes on a ring, "
            f"4 classes with 2 opposite modes each) trained with SONA, the projection "
            f"discriminator and SAN-PD, same networks (width {cfg.hidden}, spectral "
            f"norm), {steps} steps, {_SEEDS} seeds vmapped. SONA is checked; the "
            "baselines are reported."
        ),
    )

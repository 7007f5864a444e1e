"""The toy conditional GAN: data and metrics against numpy brute force, the
jitted trainer (batch independence, determinism, divergence policy), and T11
(slow): SONA aligns and covers every mode on most seeds; the projection
baselines' numbers are recorded next to it."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mltheory.exceptions import DivergenceError, DivergenceWarning
from mltheory.generative import sona, sona_toy
from mltheory.generative._sona_toy import _sample_metrics, _sn_refresh

# one tiny configuration for every default test: one compile per method
TINY = sona_toy.ToyGANConfig(
    hidden=8, depth=1, feature_dim=4, batch_size=16, latent_dim=2
)
TINY_STEPS = 6


@pytest.fixture(scope="module")
def tiny_pair():
    """Two batched SONA runs over overlapping seeds (one compiled program)."""
    keys = jax.random.split(jax.random.key(0), 3)
    a = sona_toy.train(keys[:2], steps=TINY_STEPS, config=TINY, eval_every=3)
    b = sona_toy.train(keys[1:], steps=TINY_STEPS, config=TINY, eval_every=3)
    return keys, a, b


def test_mode_centers_and_data_law():
    cfg = sona_toy.ToyGANConfig()
    c = np.asarray(sona_toy.mode_centers(cfg))
    ang = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(
        c, 2.0 * np.stack([np.cos(ang), np.sin(ang)], 1), atol=1e-15
    )
    x, y = sona_toy.sample_data(jax.random.key(0), 20000, cfg)
    x, y = np.asarray(x), np.asarray(y)
    # every point sits within 6 sigma of a mode of its own class (m % C == y)
    d = np.linalg.norm(x[:, None, :] - c[None], axis=-1)
    own = (np.arange(8)[None, :] % 4) == y[:, None]
    assert np.all(np.min(np.where(own, d, np.inf), axis=1) < 6 * cfg.sigma)
    # classes and modes uniform: each mode has p = 1/8 (4 binomial SE)
    nearest = np.argmin(d, axis=1)
    counts = np.bincount(nearest, minlength=8)
    se = np.sqrt(20000 * (1 / 8) * (7 / 8))
    np.testing.assert_allclose(counts, 20000 / 8, atol=4 * se)
    # spread around a mode: per-coordinate variance sigma^2 (4 SE of a variance)
    resid = x - c[nearest]
    np.testing.assert_allclose(
        resid.var(axis=0), cfg.sigma**2, rtol=4 * np.sqrt(2 / 20000)
    )


def test_sample_metrics_match_brute_force():
    cfg = sona_toy.ToyGANConfig()
    c = np.asarray(sona_toy.mode_centers(cfg))
    rng = np.random.default_rng(0)
    # half the points on modes 0..5 only (modes 6, 7 uncovered), half far off
    on = rng.integers(0, 6, 300)
    x = np.concatenate(
        [c[on] + 0.02 * rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) * 0.3]
    )
    y = rng.integers(0, 4, 600)
    y[:300] = on % 4  # on-mode points are aligned
    y[:30] = (on[:30] + 1) % 4  # except 30 of them
    nat, frac, cov, align = _sample_metrics(jnp.asarray(x), jnp.asarray(y), cfg)
    d = np.linalg.norm(x[:, None, :] - c[None], axis=-1)
    near = d <= 3 * cfg.sigma
    np.testing.assert_allclose(nat, near.any(1).mean())
    np.testing.assert_allclose(frac, near.mean(0))
    assert int(cov) == int(np.sum(near.mean(0) >= 0.01)) == 6
    np.testing.assert_allclose(align, np.mean(np.argmin(d, 1) % 4 == y))


def test_float32_config_keeps_float32_everywhere():
    """Under float64, a float32 configuration trains in float32 (init included)."""
    from mltheory.generative._sona_toy import _init_all

    cfg = sona_toy.ToyGANConfig(hidden=8, depth=1, feature_dim=4, dtype="float32")
    for method in ("sona", "pd"):
        tree = _init_all(jax.random.key(0), method, cfg, sona.adaptive_scales())
        assert {a.dtype for a in jax.tree_util.tree_leaves(tree)} == {
            jnp.dtype("float32")
        }
    for tree in (
        sona_toy.init_generator(jax.random.key(0), cfg),
        sona_toy.init_feature_extractor(jax.random.key(0), cfg),
        sona_toy.sample_data(jax.random.key(0), 4, cfg)[0],
    ):
        assert {a.dtype for a in jax.tree_util.tree_leaves(tree)} == {
            jnp.dtype("float32")
        }


def test_networks_shapes_and_feature_extractor_is_lipschitz():
    cfg = sona_toy.ToyGANConfig(hidden=16, feature_dim=8)
    g = sona_toy.init_generator(jax.random.key(0), cfg)
    out = sona_toy.generator_apply(g, jnp.zeros((3, 8)), jnp.array([0, 1, 3]), 4)
    assert out.shape == (3, 2)
    phi = sona_toy.init_feature_extractor(jax.random.key(1), cfg)
    x = jax.random.normal(jax.random.key(2), (200, 2))
    h = sona_toy.feature_apply(phi, x)
    assert h.shape == (200, 8)
    # spectral normalisation: ||h(a) - h(b)|| <= ||a - b|| up to the one-step
    # power-iteration error (the exact bound needs the converged top vector)
    for _ in range(30):
        phi = _sn_refresh(phi)
    h = np.asarray(sona_toy.feature_apply(phi, x))
    dx = np.linalg.norm(np.asarray(x)[:100] - np.asarray(x)[100:], axis=1)
    dh = np.linalg.norm(h[:100] - h[100:], axis=1)
    assert np.all(dh <= dx * (1 + 1e-3))


def test_a_seed_does_not_depend_on_its_batch(tiny_pair):
    """Seed keys[1] trains identically whether batched with keys[0] or keys[2]."""
    _, a, b = tiny_pair
    assert a.num_seeds == 2
    left, right = a.member(1), b.member(0)
    for x, y in zip(
        jax.tree_util.tree_leaves((left.generator, left.discriminator, left.history)),
        jax.tree_util.tree_leaves(
            (right.generator, right.discriminator, right.history)
        ),
        strict=True,
    ):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)
    assert a.history["d_loss"].shape == (2, TINY_STEPS)
    assert a.history["scales"].shape == (2, TINY_STEPS, 3)
    np.testing.assert_array_equal(a.history["eval_step"][0], [3, 6])
    np.testing.assert_array_equal(a.first_bad_step, [-1, -1])


def test_same_key_same_result_and_different_key_differs(tiny_pair):
    keys, a, b = tiny_pair
    again = sona_toy.train(keys[:2], steps=TINY_STEPS, config=TINY, eval_every=3)
    np.testing.assert_array_equal(again.history["d_loss"], a.history["d_loss"])
    assert not np.allclose(a.history["d_loss"][0], b.history["d_loss"][1])


def test_scales_stay_on_sphere_during_training(tiny_pair):
    _, batched, _ = tiny_pair
    s = np.asarray(batched.history["scales"])
    np.testing.assert_allclose(np.sum(s**2, axis=-1), 1.0, rtol=1e-12)


def test_divergence_policy():
    keys = jax.random.split(jax.random.key(0), 2)
    huge = sona_toy.ToyGANConfig(
        hidden=8,
        depth=1,
        feature_dim=4,
        batch_size=16,
        latent_dim=2,
        learning_rate=1e300,
    )
    with pytest.raises(
        DivergenceError, match=r"sona_toy.train.*non-finite.*learning rate"
    ):
        sona_toy.train(keys, steps=TINY_STEPS, config=huge, eval_every=3)
    with pytest.warns(DivergenceWarning, match="non-finite"):
        cut = sona_toy.train(
            keys, steps=TINY_STEPS, config=huge, eval_every=3, on_divergence="warn"
        )
    first = int(np.min(np.asarray(cut.first_bad_step)))
    assert first >= 0
    # truncated to the finite records (of the earliest bad member)
    assert cut.history["d_loss"].shape == (2, first)
    assert np.all(np.isfinite(np.asarray(cut.history["d_loss"])))
    assert cut.history["eval_step"].shape[1] == int(np.sum(np.array([3, 6]) < first))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sona_toy.train(
            keys, steps=TINY_STEPS, config=huge, eval_every=3, on_divergence="flag"
        )
    assert bool(np.all(res.diverged))
    bad = np.asarray(res.first_bad_step)
    d = np.asarray(res.history["d_loss"])
    g = np.asarray(res.history["g_loss"])
    for i in range(2):  # the flag names the first non-finite step exactly
        finite = np.isfinite(d[i]) & np.isfinite(g[i])
        assert bad[i] == np.flatnonzero(~finite)[0]


def test_evaluate_and_plot(tiny_pair):
    _, batched, _ = tiny_pair
    single = batched.member(1)
    m = sona_toy.evaluate(batched, jax.random.key(3), n=128)
    assert m.naturalness.shape == (2,) and m.mode_fraction.shape == (2, 8)
    m1 = sona_toy.evaluate(single, jax.random.key(3), n=128)
    np.testing.assert_allclose(m.alignment_accuracy[1], m1.alignment_accuracy)
    x, y = sona_toy.generate(single, jax.random.key(4), 64)
    assert x.shape == (64, 2) and int(y.max()) < 4
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = batched.plot(n=64, member=1)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    # one line of points and one of mode centres per class, points labelled
    assert len(ax.lines) == 2 * TINY.num_classes
    assert len(ax.get_legend().get_texts()) == TINY.num_classes
    ax = batched.plot(what="history")
    assert ax.get_xlabel() == "training step"
    assert len(ax.lines) == 2 * 2  # two metrics x two seeds
    assert len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match="what must be one of 'samples', 'history'"):
        single.plot(what="losses")
    plt.close("all")


def test_baseline_losses_match_numpy():
    """PD: hinge on <w_y + w, h> + b; SAN-PD: hinge on the function output plus
    the Wasserstein direction term; their generators minimise -f. Both through
    the shared program (method "projection" with the traced flag) too."""
    from mltheory.generative._sona_toy import _d_loss, _g_loss, _init_all

    cfg = TINY
    w = sona.adaptive_scales()
    x, y = sona_toy.sample_data(jax.random.key(1), 16, cfg)
    z = jax.random.normal(jax.random.key(2), (16, cfg.latent_dim))
    z2 = jax.random.normal(jax.random.key(4), (16, cfg.latent_dim))
    gen, (phi, head) = _init_all(jax.random.key(3), "pd", cfg, w)
    head = head._replace(b=jnp.asarray(0.2))
    fake = np.asarray(sona_toy.generator_apply(gen, z, y, 4))
    hr = np.asarray(sona_toy.feature_apply(phi, x))
    hf = np.asarray(sona_toy.feature_apply(phi, fake))
    hg = np.asarray(
        sona_toy.feature_apply(phi, sona_toy.generator_apply(gen, z2, y, 4))
    )
    wy = np.asarray(head.embed)[np.asarray(y)] + np.asarray(head.w)
    fr, ff, fg = np.sum(wy * hr, 1), np.sum(wy * hf, 1), np.sum(wy * hg, 1)
    want = {
        "pd": (
            np.mean(np.maximum(0, 1 - fr - 0.2)) + np.mean(np.maximum(0, 1 + ff + 0.2)),
            -np.mean(fg + 0.2),
        ),
        # SAN-PD: s_y <w_y/|w_y|, h> = <w_y, h>, no bias
        "san_pd": (
            np.mean(np.maximum(0, 1 - fr))
            + np.mean(np.maximum(0, 1 + ff))
            - np.mean(fr)
            + np.mean(ff),
            -np.mean(fg),
        ),
    }
    disc = (phi, head)
    for method, (want_d, want_g) in want.items():
        for name, flag in ((method, False), ("projection", method == "san_pd")):
            d, _ = _d_loss(
                disc, gen, x, y, z, jax.random.key(0), name, cfg, w, "marginal", flag
            )
            g = _g_loss(gen, disc, x, y, z2, name, cfg, w, flag)
            np.testing.assert_allclose(d, want_d, rtol=1e-10)
            np.testing.assert_allclose(g, want_g, rtol=1e-10)


def test_bad_inputs():
    k = jax.random.key(0)
    with pytest.raises(
        ValueError, match="method must be one of 'sona', 'pd', 'san_pd'"
    ):
        sona_toy.train(k, method="acgan", steps=2, config=TINY)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        sona_toy.train(k, steps=0, config=TINY)
    with pytest.raises(
        ValueError, match="eval_every must divide steps = 6; got eval_every = 4"
    ):
        sona_toy.train(k, steps=6, config=TINY, eval_every=4)
    with pytest.raises(ValueError, match="on_divergence must be one of"):
        sona_toy.train(k, steps=2, config=TINY, on_divergence="ignore")
    with pytest.raises(TypeError, match="config must be a ToyGANConfig"):
        sona_toy.train(k, steps=2, config={"hidden": 8})
    with pytest.raises(ValueError, match="key must be a key or a 1-D batch"):
        sona_toy.train(jax.random.split(k, (2, 2)), steps=2, config=TINY)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        sona_toy.train(0, steps=2, config=TINY)
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        sona_toy.ToyGANConfig(num_classes=1)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        sona_toy.ToyGANConfig(sigma=0.0)
    with pytest.raises(ValueError, match="b1 must be < 1"):
        sona_toy.ToyGANConfig(b1=1.0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sona_toy.sample_data(k, 0)


def test_bad_result_inputs(tiny_pair):
    _, batched, _ = tiny_pair
    single = batched.member(0)
    with pytest.raises(ValueError, match="batched over seeds"):
        sona_toy.generate(batched, jax.random.key(0), 4)
    with pytest.raises(ValueError, match="member\\(\\) needs a batched result"):
        single.member(0)
    with pytest.raises(ValueError, match="i must be <= 1"):
        batched.member(2)
    with pytest.raises(TypeError, match="result must be a ToyGANResult"):
        sona_toy.evaluate({"generator": None}, jax.random.key(0))
    with pytest.raises(ValueError, match="n must be >= 1"):
        sona_toy.evaluate(single, jax.random.key(0), n=0)


# --------------------------------------------------------------------------
# T11 (slow): SONA on the toy task, 5 seeds, baselines recorded
# --------------------------------------------------------------------------

T11_CONFIG = sona_toy.ToyGANConfig(
    hidden=32, feature_dim=16, batch_size=64, learning_rate=2e-3, ema_decay=0.99
)
T11_STEPS = 2000


@pytest.mark.slow
def test_t11_sona_aligns_and_covers_every_mode_on_most_seeds(record_property):
    keys = jax.random.split(jax.random.key(2026), 5)
    summary = {}
    for method in ("sona", "pd", "san_pd"):
        res = sona_toy.train(
            keys, method=method, steps=T11_STEPS, config=T11_CONFIG, eval_samples=4096
        )
        # the last evaluation (step 2000): 4096 generated and 4096 real points
        last = {k: np.asarray(v)[:, -1] for k, v in res.history.items()}
        summary[method] = {
            "alignment": last["alignment_accuracy"].round(3).tolist(),
            "coverage": last["mode_coverage"].tolist(),
            "naturalness": last["naturalness"].round(3).tolist(),
            "d_alignment": last["discriminator_alignment_accuracy"].round(3).tolist(),
        }
        record_property(method, summary[method])
        assert not np.any(np.asarray(res.diverged)), method
    s = summary["sona"]
    good = [
        a >= 0.9 and c == 8 for a, c in zip(s["alignment"], s["coverage"], strict=True)
    ]
    assert sum(good) >= 3, summary

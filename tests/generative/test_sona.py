"""SONA head, losses and weighting: structure identities, the SAN gradient split
against finite differences, the BT-M optimum on an enumerated law, optax
composition, and every bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mltheory.generative import sona

D, C, B = 6, 4, 16


@pytest.fixture
def head():
    return sona.sona_init(jax.random.key(1), D, num_classes=C)


@pytest.fixture
def feats():
    return jax.random.normal(jax.random.key(2), (B, D))


@pytest.fixture
def labels():
    return jnp.arange(B) % C


def unit(v):
    return np.asarray(v) / np.linalg.norm(np.asarray(v), axis=-1, keepdims=True)


# --------------------------------------------------------------------------
# the head against an independent numpy formula
# --------------------------------------------------------------------------


def test_head_matches_numpy_formula(head, feats, labels):
    out = sona.sona_apply(head, feats, labels)
    h = np.asarray(feats)
    om = unit(head.u)
    om_y = unit(np.asarray(head.embed)[np.asarray(labels)])
    proj = h - (h @ om)[:, None] * om[None, :]
    np.testing.assert_allclose(out.f_nat, h @ om, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.f_align, np.sum(om_y * proj, 1), atol=1e-12)
    np.testing.assert_allclose(out.f, h @ om + np.sum(om_y * proj, 1), atol=1e-12)
    # values of the SAN split and of the BT score equal the plain ones
    for field in ("f_nat_fun", "f_nat_dir"):
        np.testing.assert_allclose(getattr(out, field), out.f_nat, atol=1e-12)
    np.testing.assert_allclose(out.f_bt, out.f, atol=1e-12)


def test_keep_scale_multiplies_naturalness_by_norm_of_u(head, feats, labels):
    plain = sona.sona_apply(head, feats, labels)
    kept = sona.sona_apply(head, feats, labels, keep_scale=True)
    s = float(jnp.linalg.norm(head.u))
    np.testing.assert_allclose(kept.f_nat, s * plain.f_nat, rtol=1e-12)
    np.testing.assert_allclose(kept.f_align, plain.f_align, atol=1e-12)


def test_continuous_conditions_projection_and_frozen_and_encoder(feats):
    e = 3
    p = sona.sona_init(jax.random.key(3), D, cond_dim=e)
    cond = jax.random.normal(jax.random.key(4), (B, e))
    out = sona.sona_apply(p, feats, cond)
    om = unit(p.u)
    om_y = unit(np.asarray(cond) @ np.asarray(p.embed))
    h = np.asarray(feats)
    proj = h - (h @ om)[:, None] * om[None, :]
    np.testing.assert_allclose(out.f_align, np.sum(om_y * proj, 1), atol=1e-12)
    # frozen condition vectors (embed=None): used as directions themselves
    frozen = p._replace(embed=None)
    vecs = jax.random.normal(jax.random.key(5), (B, D))
    got = sona.sona_apply(frozen, feats, vecs).f_align
    np.testing.assert_allclose(got, np.sum(unit(vecs) * proj, 1), atol=1e-12)
    # an encoder hook receives (params.embed, cond)
    enc = lambda params, c: jnp.tanh(c @ params["W"])
    pe = p._replace(embed={"W": jnp.ones((e, D))})
    got = sona.sona_apply(pe, feats, cond, cond_encoder=enc).f_align
    want = np.sum(unit(np.tanh(np.asarray(cond) @ np.ones((e, D)))) * proj, 1)
    np.testing.assert_allclose(got, want, atol=1e-12)


# --------------------------------------------------------------------------
# T9: structure
# --------------------------------------------------------------------------


def test_t9_alignment_invariant_to_shift_along_omega(head, feats, labels):
    omega = head.u / jnp.linalg.norm(head.u)
    a = sona.sona_apply(head, feats, labels).f_align
    for c in (-3.0, 0.5, 40.0):
        b = sona.sona_apply(head, feats + c * omega[None, :], labels).f_align
        np.testing.assert_allclose(b, a, atol=1e-12)
    # a shift along another direction does change it (the test can fail)
    other = sona.sona_apply(head, feats + 3.0 * unit(head.embed[:1]), labels).f_align
    assert np.max(np.abs(np.asarray(other - a))) > 1e-3


def test_t9_naturalness_independent_of_condition(head, feats):
    outs = [sona.sona_apply(head, feats, jnp.full(B, c)) for c in range(C)]
    for o in outs[1:]:
        np.testing.assert_array_equal(o.f_nat, outs[0].f_nat)
    # f(x,y) - f(x,y') = f_A(x,y) - f_A(x,y')
    np.testing.assert_allclose(
        outs[1].f - outs[2].f, outs[1].f_align - outs[2].f_align, atol=1e-12
    )


def test_t9_bt_losses_give_exactly_zero_gradient_to_u(head, feats, labels):
    x_fake = feats[::-1] * 0.7
    partner = jnp.roll(feats, 3, axis=0)
    y_mis = sona.sample_mismatched(jax.random.key(9), labels, C)

    def bt(p):
        real = sona.sona_apply(p, feats, labels)
        fake = sona.sona_apply(p, x_fake, labels)
        marg = sona.sona_apply(p, partner, labels)
        lab = sona.sona_apply(p, feats, y_mis)
        return (
            sona.bt_conditional_loss(real.f_bt, fake.f_bt)
            + sona.bt_mismatch_loss(real.f_bt, marg.f_bt)
            + sona.bt_mismatch_loss(real.f_bt, lab.f_bt)
        )

    g = jax.jit(jax.grad(bt))(head)
    np.testing.assert_array_equal(g.u, np.zeros(D))
    assert np.max(np.abs(np.asarray(g.embed))) > 1e-4  # the embedding does learn
    # and the features receive gradient through f_align
    gh = jax.jit(
        jax.grad(
            lambda h: sona.bt_mismatch_loss(
                sona.sona_apply(head, h, labels).f_bt,
                sona.sona_apply(head, h, y_mis).f_bt,
            )
        )
    )(feats)
    assert np.max(np.abs(np.asarray(gh))) > 1e-4


def test_t9_full_discriminator_loss_without_san_gives_zero_gradient_to_u(head, labels):
    x = jax.random.normal(jax.random.key(3), (B, 2))
    params = sona.SonaDiscriminatorParams(
        phi=jax.random.normal(jax.random.key(4), (2, D)),
        head=head,
        weighting=optax.EmptyState(),
    )
    phi = lambda w, x: jnp.tanh(x @ w)
    for mismatch in ("marginal", "label"):
        g = jax.jit(
            jax.grad(
                lambda p, m=mismatch: sona.sona_discriminator_loss(
                    p,
                    phi,
                    x,
                    labels,
                    -x,
                    jax.random.key(5),
                    weighting=sona.fixed_weights((0.0, 1.0, 1.0)),
                    mismatch=m,
                )[0]
            )
        )(params)
        np.testing.assert_array_equal(g.head.u, np.zeros(D))
        assert np.max(np.abs(np.asarray(g.phi))) > 1e-4


def test_t9_projection_discriminator_collapse_identity():
    p = sona.projection_init(jax.random.key(0), D, C)
    p = p._replace(b=jnp.asarray(0.3))
    h = jax.random.normal(jax.random.key(1), (B, D))
    y = jnp.arange(B) % C
    f = sona.projection_discriminator_apply(p, h, y)
    absorbed = p._replace(w=jnp.zeros(D), embed=p.embed + p.w[None, :])
    np.testing.assert_allclose(
        sona.projection_discriminator_apply(absorbed, h, y), f, atol=1e-12
    )
    want = np.sum((np.asarray(p.embed)[np.asarray(y)] + np.asarray(p.w)) * h, 1) + 0.3
    np.testing.assert_allclose(f, want, atol=1e-12)
    # SAN-PD reads the same absorbed direction, normalised (times its norm)
    out = sona.san_projection_apply(p, h, y)
    np.testing.assert_allclose(out.f, want - 0.3, atol=1e-12)


def test_t9_bt_mismatch_with_equal_class_embeddings_is_log2(feats, labels):
    p = sona.sona_init(jax.random.key(0), D, num_classes=C)
    p = p._replace(embed=jnp.tile(p.embed[:1], (C, 1)))
    y_mis = sona.sample_mismatched(jax.random.key(1), labels, C)
    real = sona.sona_apply(p, feats, labels)
    mis = sona.sona_apply(p, feats, y_mis)
    np.testing.assert_allclose(
        sona.bt_mismatch_loss(real.f_bt, mis.f_bt), np.log(2.0), rtol=1e-14
    )
    # with distinct embeddings it is not log 2
    p2 = sona.sona_init(jax.random.key(0), D, num_classes=C)
    real2 = sona.sona_apply(p2, feats, labels)
    mis2 = sona.sona_apply(p2, feats, y_mis)
    assert abs(float(sona.bt_mismatch_loss(real2.f_bt, mis2.f_bt)) - np.log(2)) > 1e-3


# --------------------------------------------------------------------------
# T10: the SAN split against finite differences on a linear phi
# --------------------------------------------------------------------------


def _fd_grad(fun, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (fun(x + e) - fun(x - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("keep_scale", [False, True])
@pytest.mark.parametrize("kind", ["logistic", "hinge"])
def test_t10_san_split_matches_finite_differences(kind, keep_scale):
    rng = np.random.default_rng(0)
    xr, xf = rng.normal(size=(12, 3)), rng.normal(size=(12, 3)) + 0.5
    W0 = rng.normal(size=(3, D)) * 0.3
    y = np.arange(12) % C
    p0 = sona.sona_init(jax.random.key(7), D, num_classes=C)
    u0 = np.asarray(p0.u)

    def head_out(p, W, x):
        return sona.sona_apply(
            p, jnp.asarray(x) @ W, jnp.asarray(y), keep_scale=keep_scale
        )

    def loss(u, W):
        p = p0._replace(u=u)
        return sona.san_naturalness_loss(
            head_out(p, W, xr), head_out(p, W, xf), kind=kind, scale=0.7
        )

    gu, gW = jax.grad(loss, argnums=(0, 1))(jnp.asarray(u0), jnp.asarray(W0))

    # numpy oracle: the direction part alone as a function of u (features fixed)
    def scale_of(u):
        return np.linalg.norm(u) if keep_scale else 1.0

    s0 = scale_of(u0)

    def dir_part(u):
        om = u / np.linalg.norm(u)
        return -np.mean(s0 * (xr @ W0) @ om) + np.mean(s0 * (xf @ W0) @ om)

    def fun_part(W, u=u0):
        om, s = u0 / np.linalg.norm(u0), scale_of(u)
        fr, ff = s * (xr @ W) @ om, s * (xf @ W) @ om
        if kind == "logistic":
            return (
                np.mean(np.logaddexp(0, -0.7 * fr)) + np.mean(np.logaddexp(0, 0.7 * ff))
            ) / 0.7
        return (
            np.mean(np.maximum(0, 1 - 0.7 * fr)) + np.mean(np.maximum(0, 1 + 0.7 * ff))
        ) / 0.7

    np.testing.assert_allclose(gW, _fd_grad(fun_part, W0), rtol=1e-6, atol=1e-8)
    want_u = _fd_grad(dir_part, u0)
    if keep_scale:  # the scale ||u|| is trained by the function part
        want_u = want_u + _fd_grad(lambda u: fun_part(W0, u), u0)
    np.testing.assert_allclose(gu, want_u, rtol=1e-6, atol=1e-8)

    # the split matters: the gradient of the unsplit loss w.r.t. u differs
    def unsplit(u):
        om, s = u / np.linalg.norm(u), scale_of(u)
        fr, ff = s * (xr @ W0) @ om, s * (xf @ W0) @ om
        if kind == "logistic":
            fun = np.mean(np.logaddexp(0, -0.7 * fr)) + np.mean(
                np.logaddexp(0, 0.7 * ff)
            )
        else:
            fun = np.mean(np.maximum(0, 1 - 0.7 * fr)) + np.mean(
                np.maximum(0, 1 + 0.7 * ff)
            )
        return fun / 0.7 - np.mean(fr) + np.mean(ff)

    assert np.max(np.abs(_fd_grad(unsplit, u0) - np.asarray(gu))) > 1e-3


def test_san_projection_split_gradients():
    p = sona.projection_init(jax.random.key(0), D, C)
    h = jax.random.normal(jax.random.key(1), (B, D))
    y = jnp.arange(B) % C
    # direction output: no gradient to the features; function output: none to w
    gh = jax.grad(lambda h: sona.san_projection_apply(p, h, y).f_dir.sum())(h)
    np.testing.assert_array_equal(gh, np.zeros((B, D)))
    gp = jax.grad(
        lambda q: sona.san_projection_apply(q, h, y, keep_scale=False).f_fun.sum()
    )(p)
    np.testing.assert_array_equal(gp.w, np.zeros(D))


# --------------------------------------------------------------------------
# BT-M optimum = log p(x|y) - log p(x) on an enumerated discrete law
# --------------------------------------------------------------------------


def _bt_m_population(table):
    """Weights and index arrays enumerating (y, x_winner ~ p(x|y), x_loser ~ p(x))."""
    p = np.asarray(table) / np.sum(table)
    py, px = p.sum(1), p.sum(0)
    ny, nx = p.shape
    yy, xw, xl = np.meshgrid(np.arange(ny), np.arange(nx), np.arange(nx), indexing="ij")
    weights = py[yy] * (p[yy, xw] / py[yy]) * px[xl]
    return yy.ravel(), xw.ravel(), xl.ravel(), weights.ravel(), p


@jax.jit
def _fit_free_scores(yy, xw, xl, wts, scale):
    """Adam on the exact population BT-M loss over free scores f (3 x 5)."""

    def loss(f):
        return sona.bt_mismatch_loss(f[yy, xw], f[yy, xl], scale=scale, weights=wts)

    # a decaying step so that Adam settles on the optimum instead of hovering
    opt = optax.adam(optax.cosine_decay_schedule(0.05, 4000))

    def step(carry, _):
        f, st = carry
        upd, st = opt.update(jax.grad(loss)(f), st, f)
        return (optax.apply_updates(f, upd), st), None

    f0 = jnp.zeros((3, 5))
    (f, _), _ = jax.lax.scan(step, (f0, opt.init(f0)), None, length=4000)
    return f


def test_bt_mismatch_optimum_is_log_density_ratio():
    rng = np.random.default_rng(3)
    table = rng.dirichlet(np.ones(15)).reshape(3, 5)  # 3 conditions, 5 values of x
    yy, xw, xl, wts, p = _bt_m_population(table)
    args = tuple(map(jnp.asarray, (yy, xw, xl, wts)))
    truth = np.log(p / p.sum(1, keepdims=True)) - np.log(p.sum(0))[None, :]
    logc = np.log(p / p.sum(1, keepdims=True))
    for scale in (1.0, 0.4):  # traced: one compiled program
        got = scale * np.asarray(_fit_free_scores(*args, scale))
        # equal up to a per-condition constant
        np.testing.assert_allclose(got - got[:, :1], truth - truth[:, :1], atol=1e-6)
        # and not equal to the log conditional alone (the marginal matters here)
        assert np.max(np.abs((got - got[:, :1]) - (logc - logc[:, :1]))) > 0.1


def test_weighted_bt_loss_equals_repeated_pairs():
    a = jnp.array([0.3, -1.0, 2.0])
    b = jnp.array([0.1, 0.5, -0.4])
    w = jnp.array([1.0, 2.0, 3.0])
    rep = jnp.array([0, 1, 1, 2, 2, 2])
    np.testing.assert_allclose(
        sona.bt_conditional_loss(a, b, weights=w),
        sona.bt_conditional_loss(a[rep], b[rep]),
        rtol=1e-14,
    )
    want = np.mean(np.logaddexp(0, -0.5 * (np.asarray(a) - np.asarray(b)))) / 0.5
    np.testing.assert_allclose(
        sona.bt_conditional_loss(a, b, scale=0.5), want, rtol=1e-14
    )


# --------------------------------------------------------------------------
# weighting rules
# --------------------------------------------------------------------------


def test_adaptive_scales_formula_and_sphere():
    w = sona.adaptive_scales()
    state = sona.ScalesState(logits=jnp.array([0.3, -0.2, 1.1]))
    s = np.asarray(w.scales(state))
    np.testing.assert_allclose(np.sum(s**2), 1.0, rtol=1e-14)
    e = np.exp([0.3, -0.2, 1.1])
    np.testing.assert_allclose(s, e / np.linalg.norm(e), rtol=1e-14)
    t = np.array([0.5, -1.0, 2.0])
    total, _ = w.combine(lambda sc: jax.nn.softplus(-sc * jnp.asarray(t)) / sc, state)
    np.testing.assert_allclose(total, np.sum(np.logaddexp(0, -s * t) / s), rtol=1e-14)
    with pytest.raises(TypeError, match="callable"):
        w.combine(jnp.ones(3), state)


def test_fixed_and_uncertainty_weights():
    losses = jnp.array([1.0, 2.0, 4.0])
    fw = sona.fixed_weights((1.0, 0.5, 0.25))
    total, _ = fw.combine(losses, fw.init(3))
    np.testing.assert_allclose(total, 3.0)
    np.testing.assert_array_equal(fw.generator_scales(fw.init(3)), np.ones(3))
    uw = sona.uncertainty_weights(0.5, 2.0)
    st = sona.UncertaintyState(log_variance=jnp.array([-5.0, 0.0, 5.0]))
    total, aux = uw.combine(losses, st)
    sig = np.clip([-5.0, 0.0, 5.0], np.log(0.5), np.log(2.0))
    np.testing.assert_allclose(aux["weights"], np.exp(-sig), rtol=1e-14)
    np.testing.assert_allclose(total, np.sum(np.exp(-sig) * losses + sig), rtol=1e-14)
    # Kendall's learnable weights: gradient exp(-s) L - 1 inside the clip
    g = jax.grad(lambda s: uw.combine(losses, sona.UncertaintyState(s))[0])(
        jnp.zeros(3)
    )
    np.testing.assert_allclose(g, 1.0 - np.asarray(losses), rtol=1e-14)


# --------------------------------------------------------------------------
# T12: optax composition, jit, determinism, batch independence
# --------------------------------------------------------------------------


def test_t12_jitted_optax_step_decreases_loss_and_scales_stay_on_sphere():
    """A SONA discriminator (MLP phi + head + adaptive scales) on fixed real and
    fake laws: one jitted optax step; the loss falls over 200 steps, and the
    adaptive scales receive gradients, move, and stay on the unit sphere."""
    from mltheory.generative import sona_toy

    cfg = sona_toy.ToyGANConfig(hidden=16, feature_dim=8)
    phi = sona_toy.init_feature_extractor(jax.random.key(0), cfg)
    params = sona.SonaDiscriminatorParams(
        phi=phi,
        head=sona.sona_init(jax.random.key(1), 8, num_classes=4),
        weighting=sona.adaptive_scales().init(3),
    )
    opt = optax.adam(3e-3, b1=0.0, b2=0.99)
    state = opt.init(params)

    @jax.jit
    def step(p, s, k):
        kd, kf, km = jax.random.split(k, 3)
        x, y = sona_toy.sample_data(kd, 64, cfg)
        fake = 0.5 * jax.random.normal(kf, (64, 2))  # a fixed "generator"
        (loss, aux), g = jax.value_and_grad(sona.sona_discriminator_loss, has_aux=True)(
            p, sona_toy.feature_apply, x, y, fake, km
        )
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss, aux["scales"], g.weighting.logits

    losses, scales, grads = [], [], []
    for t in range(200):
        params, state, loss, sc, g = step(params, state, jax.random.key(t))
        losses.append(float(loss))
        scales.append(np.asarray(sc))
        grads.append(np.asarray(g))
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) - 0.2
    scales = np.asarray(scales)
    np.testing.assert_allclose(np.sum(scales**2, axis=1), 1.0, rtol=1e-12)
    assert np.all(scales > 0)
    assert np.max(np.abs(np.asarray(grads))) > 1e-3
    assert np.max(np.abs(scales[-1] - scales[0])) > 1e-2


def test_sona_apply_rows_are_independent(head, feats, labels):
    full = sona.sona_apply(head, feats, labels)
    for b in (0, 5, B - 1):
        row = sona.sona_apply(head, feats[b : b + 1], labels[b : b + 1])
        np.testing.assert_allclose(row.f, full.f[b : b + 1], rtol=1e-14)
    # and under vmap over rows
    vm = jax.vmap(lambda h, y: sona.sona_apply(head, h[None], y[None]).f[0])(
        feats, labels
    )
    np.testing.assert_allclose(vm, full.f, rtol=1e-14)


def test_same_key_same_loss_and_jit_equals_eager(head, labels):
    phi = lambda w, x: jnp.tanh(x @ w)
    params = sona.SonaDiscriminatorParams(
        phi=jax.random.normal(jax.random.key(4), (2, D)),
        head=head,
        weighting=sona.adaptive_scales().init(3),
    )
    x = jax.random.normal(jax.random.key(5), (B, 2))
    k = jax.random.key(6)
    a, _ = sona.sona_discriminator_loss(params, phi, x, labels, -x, k)
    b, _ = sona.sona_discriminator_loss(params, phi, x, labels, -x, k)
    c, _ = jax.jit(lambda p, k: sona.sona_discriminator_loss(p, phi, x, labels, -x, k))(
        params, k
    )
    assert float(a) == float(b)
    np.testing.assert_allclose(c, a, rtol=1e-12)
    d, _ = sona.sona_discriminator_loss(params, phi, x, labels, -x, jax.random.key(7))
    assert float(d) != float(a)  # the mismatch pairing depends on the key


def test_dtype_is_kept_in_float32(labels):
    p = sona.sona_init(jax.random.key(0), D, num_classes=C, dtype=jnp.float32)
    h = jnp.ones((B, D), jnp.float32)
    out = sona.sona_apply(p, h, labels)
    assert out.f.dtype == jnp.float32
    assert sona.adaptive_scales(dtype=jnp.float32).init(3).logits.dtype == jnp.float32
    # every initialiser keeps the requested dtype under float64 (no numpy scalars
    # promoting float32 parameters)
    pc = sona.sona_init(jax.random.key(0), D, cond_dim=3, dtype=jnp.float32)
    assert pc.embed.dtype == jnp.float32
    pd = sona.projection_init(jax.random.key(0), D, C, dtype=jnp.float32)
    assert {a.dtype for a in pd} == {jnp.dtype(jnp.float32)}
    assert sona.san_projection_apply(pd, h, labels).f.dtype == jnp.float32


def test_sample_mismatched_is_uniform_over_other_classes():
    y = jnp.zeros(40000, jnp.int32)
    y2 = np.asarray(sona.sample_mismatched(jax.random.key(0), y, 4))
    counts = np.bincount(y2, minlength=4)
    assert counts[0] == 0
    # each of 3 classes has p = 1/3: 4 binomial standard errors
    se = np.sqrt(40000 * (1 / 3) * (2 / 3))
    np.testing.assert_allclose(counts[1:], 40000 / 3, atol=4 * se)
    cont = jnp.arange(10.0)[:, None] * jnp.ones((1, 3))
    rolled = np.asarray(sona.sample_mismatched(jax.random.key(1), cont))
    assert np.all(rolled[:, 0] != np.arange(10.0))
    assert sorted(rolled[:, 0]) == list(np.arange(10.0))


def _losses_from_public_pieces(params, phi, x, y, x_fake, y_loser, partner, w, kw):
    """SONA's D and G losses assembled from sona_apply and the elementary losses
    (the per-sample form of the head, f^A = <omega_y, Pi_perp h>): the oracle for
    the fused losses, which score <Pi_perp omega_y, h> once per condition."""
    keep = kw["keep_scale"]
    h_r, h_f = phi(params.phi, x), phi(params.phi, x_fake)
    real = sona.sona_apply(params.head, h_r, y, keep_scale=keep)
    fake = sona.sona_apply(params.head, h_f, y, keep_scale=keep)
    if y_loser is None:  # marginal: real row `partner[i]` under y_i
        loser = sona.sona_apply(params.head, h_r[partner], y, keep_scale=keep)
    else:  # label: the same row under a mismatched condition
        loser = sona.sona_apply(params.head, h_r, y_loser, keep_scale=keep)

    def terms(s):
        return jnp.stack(
            [
                sona.san_naturalness_loss(real, fake, kind=kw["san_loss"], scale=s[0]),
                sona.bt_conditional_loss(real.f_bt, fake.f_bt, scale=s[1]),
                sona.bt_mismatch_loss(real.f_bt, loser.f_bt, scale=s[2]),
            ]
        )

    d_loss = w.combine(terms, params.weighting)[0]
    s = w.generator_scales(params.weighting)
    if kw["san_loss"] == "logistic":
        j_san = jnp.mean(jax.nn.softplus(-s[0] * fake.f_nat)) / s[0]
    else:  # the SAN reference code's generator loss
        j_san = -jnp.mean(fake.f_nat)
    g_loss = (
        j_san + 0.7 * jnp.mean(jax.nn.softplus(-s[1] * (fake.f_bt - real.f_bt))) / s[1]
    )
    return d_loss, g_loss


@pytest.mark.parametrize(
    ("num_classes", "mismatch", "keep_scale", "weighting"),
    [
        (4, "marginal", False, "adaptive"),  # class table scored densely
        (4, "label", True, "uncertainty"),
        (40, "marginal", True, "hinge"),  # > 32 classes: rows gathered
        pytest.param(40, "label", False, "fixed", marks=pytest.mark.slow),
        pytest.param(None, "marginal", False, "adaptive", marks=pytest.mark.slow),
        (None, "label", True, "adaptive"),  # continuous conditions
    ],
)
def test_fused_losses_equal_the_public_pieces(
    num_classes, mismatch, keep_scale, weighting
):
    w = {
        "adaptive": sona.adaptive_scales(),
        "uncertainty": sona.uncertainty_weights(),
        "fixed": sona.fixed_weights((1.0, 0.5, 2.0)),
        "hinge": sona.adaptive_scales(),  # with the hinge SAN loss
    }[weighting]
    if num_classes is None:
        head = sona.sona_init(jax.random.key(1), D, cond_dim=3)
        y = jax.random.normal(jax.random.key(7), (B, 3))
    else:
        head = sona.sona_init(jax.random.key(1), D, num_classes=num_classes)
        y = (jnp.arange(B) * 7) % num_classes
    state = jax.tree_util.tree_map(
        lambda a: a + 0.3 * jnp.arange(a.size).reshape(a.shape), w.init(3)
    )
    params = sona.SonaDiscriminatorParams(
        phi=jax.random.normal(jax.random.key(4), (2, D)), head=head, weighting=state
    )
    phi = lambda W, x: jnp.tanh(x @ W)
    x = jax.random.normal(jax.random.key(5), (B, 2))
    x_fake = jax.random.normal(jax.random.key(6), (B, 2)) + 0.3
    key = jax.random.key(8)
    # the pairing the library draws from `key` (see sample_mismatched)
    from mltheory.generative._sona_losses import _partner_index

    partner = _partner_index(key, B)
    if mismatch == "label":
        y_loser = (
            sona.sample_mismatched(key, y, num_classes)
            if num_classes
            else sona.sample_mismatched(key, y)
        )
    else:
        y_loser = None
    kw = {
        "keep_scale": keep_scale,
        "san_loss": "hinge" if weighting == "hinge" else "logistic",
    }

    def ours(p, xf):
        d = sona.sona_discriminator_loss(
            p,
            phi,
            x,
            y,
            jax.lax.stop_gradient(xf),
            key,
            weighting=w,
            mismatch=mismatch,
            **kw,
        )[0]
        g = sona.sona_generator_loss(
            jax.lax.stop_gradient(p),
            phi,
            xf,
            y,
            x,
            weighting=w,
            align_weight=0.7,
            **kw,
        )[0]
        return d, g

    def oracle(p, xf):
        d = _losses_from_public_pieces(
            p, phi, x, y, jax.lax.stop_gradient(xf), y_loser, partner, w, kw
        )[0]
        g = _losses_from_public_pieces(
            jax.lax.stop_gradient(p), phi, x, y, xf, y_loser, partner, w, kw
        )[1]
        return d, g

    @jax.jit
    def both(p, xf):
        # D loss w.r.t. params_D, G loss w.r.t. the generated points
        return [
            jax.value_and_grad(lambda p, f=f: f(p, xf)[0])(p) for f in (ours, oracle)
        ] + [
            jax.value_and_grad(lambda xf, f=f: f(p, xf)[1])(xf) for f in (ours, oracle)
        ]

    d_ours, d_oracle, g_ours, g_oracle = both(params, x_fake)
    for (a, ga), (b, gb) in ((d_ours, d_oracle), (g_ours, g_oracle)):
        # the same function: float64 rounding only
        np.testing.assert_allclose(a, b, rtol=1e-12)
        for la, lb in zip(
            jax.tree_util.tree_leaves(ga), jax.tree_util.tree_leaves(gb), strict=True
        ):
            np.testing.assert_allclose(la, lb, rtol=1e-10, atol=1e-13)
    # the pairing can tell a shift by +k from one by -k
    assert int(partner[0]) not in (0, B // 2)


def test_generator_loss_gradients_split_naturalness_and_alignment(head, labels):
    """J_SAN trains G through f_N only and J_BT-C through f_A only."""
    phi = lambda w, x: x @ w
    params = sona.SonaDiscriminatorParams(
        phi=jax.random.normal(jax.random.key(4), (2, D)),
        head=head,
        weighting=sona.fixed_weights((1.0, 1.0, 1.0)).init(3),
    )
    x_real = jax.random.normal(jax.random.key(5), (B, 2))
    x_fake = jax.random.normal(jax.random.key(6), (B, 2))
    w = sona.fixed_weights((1.0, 1.0, 1.0))
    g_align = jax.grad(
        lambda xf: sona.sona_generator_loss(
            params, phi, xf, labels, x_real, weighting=w
        )[1]["bt_c"]
    )(x_fake)
    # d f_A / dx = W (I - om om^T) om_y : orthogonal to W om (the naturalness gradient)
    W = np.asarray(params.phi)
    om = unit(head.u)
    nat_dir = W @ om
    om_y = unit(np.asarray(head.embed)[np.asarray(labels)])
    align_dir = (om_y - (om_y @ om)[:, None] * om[None, :]) @ W.T  # (B, 2)
    # each row of the BT-C gradient is parallel to that row's alignment direction
    cross = (
        np.asarray(g_align)[:, 0] * align_dir[:, 1]
        - np.asarray(g_align)[:, 1] * align_dir[:, 0]
    )
    np.testing.assert_allclose(cross, 0.0, atol=1e-12)
    g_nat = jax.grad(
        lambda xf: sona.sona_generator_loss(
            params, phi, xf, labels, x_real, weighting=w
        )[1]["san"]
    )(x_fake)
    cross = np.asarray(g_nat)[:, 0] * nat_dir[1] - np.asarray(g_nat)[:, 1] * nat_dir[0]
    np.testing.assert_allclose(cross, 0.0, atol=1e-12)
    total = jax.grad(
        lambda xf: sona.sona_generator_loss(
            params, phi, xf, labels, x_real, weighting=w, align_weight=0.5
        )[0]
    )(x_fake)
    np.testing.assert_allclose(total, g_nat + 0.5 * g_align, atol=1e-12)


# --------------------------------------------------------------------------
# a framework feature extractor works as phi_apply
# --------------------------------------------------------------------------


def test_equinox_feature_extractor_trains_through_phi_apply():
    eqx = pytest.importorskip("equinox")
    from mltheory.generative import sona_toy

    cfg = sona_toy.ToyGANConfig()
    mlp = eqx.nn.MLP(2, 8, 16, 2, activation=jax.nn.leaky_relu, key=jax.random.key(0))
    arrays, static = eqx.partition(mlp, eqx.is_array)

    def phi_apply(arrays, x):
        return jax.vmap(eqx.combine(arrays, static))(x)

    params = sona.SonaDiscriminatorParams(
        phi=arrays,
        head=sona.sona_init(jax.random.key(1), 8, num_classes=4),
        weighting=sona.adaptive_scales().init(3),
    )
    opt = optax.adam(3e-3)
    state = opt.init(params)

    @jax.jit
    def step(p, s, k):
        kd, km = jax.random.split(k)
        x, y = sona_toy.sample_data(kd, 64, cfg)
        fake = 0.5 * jax.random.normal(km, (64, 2))
        (_, aux), g = jax.value_and_grad(sona.sona_discriminator_loss, has_aux=True)(
            p, phi_apply, x, y, fake, km
        )
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, aux["bt_m"]

    bt_m = []
    for t in range(150):
        params, state, loss = step(params, state, jax.random.key(t))
        bt_m.append(float(loss))
    # the alignment term learns: BT-M falls well below its chance value
    assert np.mean(bt_m[-20:]) < np.mean(bt_m[:5]) - 0.1
    # the equinox weights did move
    moved = jax.tree_util.tree_map(
        lambda a, b: jnp.max(jnp.abs(a - b)), params.phi, arrays
    )
    assert max(float(v) for v in jax.tree_util.tree_leaves(moved)) > 1e-3


# --------------------------------------------------------------------------
# bad inputs (spec section 6: SONA)
# --------------------------------------------------------------------------


def test_bad_features(head, labels):
    with pytest.raises(ValueError, match=r"features must be 2-D"):
        sona.sona_apply(head, jnp.ones(D), labels[:1])
    with pytest.raises(
        ValueError, match=r"feature_dim = 6 columns.*got shape \(16, 5\)"
    ):
        sona.sona_apply(head, jnp.ones((B, D - 1)), labels)
    with pytest.raises(ValueError, match="features must be finite"):
        sona.sona_apply(head, jnp.full((B, D), jnp.nan), labels)
    with pytest.raises(TypeError, match="features must be real"):
        sona.sona_apply(head, jnp.ones((B, D), jnp.complex64), labels)


def test_bad_class_ids(head, feats):
    with pytest.raises(
        ValueError, match=r"class ids in \[0, 4\); got values in \[0, 4\]"
    ):
        sona.sona_apply(head, feats, jnp.arange(B) % 5)
    with pytest.raises(ValueError, match=r"got values in \[-1, 2\]"):
        sona.sona_apply(head, feats, (jnp.arange(B) % 4) - 1)
    with pytest.raises(ValueError, match="1-D of length batch = 16"):
        sona.sona_apply(head, feats, jnp.zeros((B, 1), jnp.int32))
    p = sona.projection_init(jax.random.key(0), D, C)
    with pytest.raises(ValueError, match=r"y holds class ids in \[0, 4\)"):
        sona.projection_discriminator_apply(p, feats, jnp.full(B, 7))


def test_zero_norm_direction_and_init_guards(feats, labels):
    p = sona.sona_init(jax.random.key(0), D, num_classes=C)
    with pytest.raises(ValueError, match=r"params.u must have a finite, non-zero norm"):
        sona.sona_apply(p._replace(u=jnp.zeros(D)), feats, labels)
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        sona.sona_init(jax.random.key(0), D, num_classes=C, init_scale=0.0)
    with pytest.raises(ValueError, match="exactly one of num_classes"):
        sona.sona_init(jax.random.key(0), D)
    with pytest.raises(ValueError, match="exactly one of num_classes"):
        sona.sona_init(jax.random.key(0), D, num_classes=3, cond_dim=2)
    with pytest.raises(ValueError, match="feature_dim must be >= 2"):
        sona.sona_init(jax.random.key(0), 1, num_classes=3)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        sona.sona_init(0, D, num_classes=3)
    with pytest.raises(TypeError, match="params must be SonaHeadParams"):
        sona.sona_apply({"u": jnp.ones(D)}, feats, labels)


def test_bad_continuous_conditions(feats):
    p = sona.sona_init(jax.random.key(0), D, cond_dim=3)
    with pytest.raises(ValueError, match=r"params.embed must be a \(2, 6\) projection"):
        sona.sona_apply(p, feats, jnp.ones((B, 2)))
    with pytest.raises(ValueError, match="cond must have batch = 16 rows"):
        sona.sona_apply(p, feats, jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="need width 6"):
        sona.sona_apply(p._replace(embed=None), feats, jnp.ones((B, 3)))
    with pytest.raises(TypeError, match="cond_encoder must be callable"):
        sona.sona_apply(p, feats, jnp.ones((B, 3)), cond_encoder=3)
    with pytest.raises(ValueError, match=r"cond_encoder returned shape \(16, 2\)"):
        sona.sona_apply(p, feats, jnp.ones((B, 3)), cond_encoder=lambda e, c: c[:, :2])


def test_bad_mismatch_sampling(labels):
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        sona.sample_mismatched(jax.random.key(0), jnp.zeros(4, jnp.int32), 1)
    with pytest.raises(ValueError, match="num_classes must be given"):
        sona.sample_mismatched(jax.random.key(0), labels)
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        sona.sample_mismatched(jax.random.key(0), labels, 3)
    with pytest.raises(ValueError, match="at least 2 rows to shuffle"):
        sona.sample_mismatched(jax.random.key(0), jnp.ones((1, 3)))


def test_bad_loss_inputs(head, feats, labels):
    out = sona.sona_apply(head, feats, labels)
    with pytest.raises(ValueError, match="scale must be > 0"):
        sona.bt_conditional_loss(out.f_bt, out.f_bt, scale=0.0)
    with pytest.raises(ValueError, match="same shape"):
        sona.bt_mismatch_loss(out.f_bt, out.f_bt[:3])
    with pytest.raises(ValueError, match="f_real must be 1-D"):
        sona.bt_conditional_loss(jnp.ones((2, 2)), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        sona.bt_conditional_loss(out.f_bt, out.f_bt, weights=-jnp.ones(B))
    with pytest.raises(ValueError, match="weights must have one entry per pair"):
        sona.bt_conditional_loss(out.f_bt, out.f_bt, weights=jnp.ones(3))
    with pytest.raises(ValueError, match="kind must be one of 'logistic', 'hinge'"):
        sona.san_naturalness_loss(out, out, kind="wgan")
    with pytest.raises(TypeError, match="out_real must be a SonaOutput or SanOutput"):
        sona.san_naturalness_loss(out.f, out)


def test_bad_discriminator_loss_inputs(head, labels):
    phi = lambda w, x: x @ w
    params = sona.SonaDiscriminatorParams(
        phi=jnp.ones((2, D)), head=head, weighting=sona.adaptive_scales().init(3)
    )
    x = jnp.ones((B, 2))
    k = jax.random.key(0)
    with pytest.raises(TypeError, match="params_D must be SonaDiscriminatorParams"):
        sona.sona_discriminator_loss((params.phi, head), phi, x, labels, x, k)
    with pytest.raises(TypeError, match="phi_apply must be callable"):
        sona.sona_discriminator_loss(params, None, x, labels, x, k)
    with pytest.raises(ValueError, match="mismatch must be one of 'marginal', 'label'"):
        sona.sona_discriminator_loss(params, phi, x, labels, x, k, mismatch="shuffle")
    with pytest.raises(ValueError, match="at least 2 samples for mismatch='marginal'"):
        sona.sona_discriminator_loss(params, phi, x[:1], labels[:1], x[:1], k)
    with pytest.raises(ValueError, match="x_fake must have one generated sample"):
        sona.sona_discriminator_loss(params, phi, x, labels, x[:3], k)
    with pytest.raises(ValueError, match="num_classes must be at most the 4 rows"):
        sona.sona_discriminator_loss(
            params, phi, x, labels, x, k, mismatch="label", num_classes=5
        )
    with pytest.raises(ValueError, match=r"must return features of shape"):
        sona.sona_discriminator_loss(params, lambda w, x: (x @ w)[0], x, labels, x, k)
    with pytest.raises(TypeError, match="weighting must have init, combine"):
        sona.sona_discriminator_loss(params, phi, x, labels, x, k, weighting="adaptive")
    with pytest.raises(ValueError, match="align_weight must be >= 0"):
        sona.sona_generator_loss(params, phi, x, labels, x, align_weight=-1.0)
    with pytest.raises(TypeError, match="x_real must be real"):
        sona.sona_generator_loss(params, phi, x, labels, x.astype(jnp.complex64))


def test_bad_weighting_options():
    with pytest.raises(ValueError, match=r"weights\[1\] must be >= 0"):
        sona.fixed_weights((1.0, -1.0))
    with pytest.raises(ValueError, match="at least one positive"):
        sona.fixed_weights((0.0, 0.0))
    with pytest.raises(TypeError, match="weights must be a sequence"):
        sona.fixed_weights(1.0)
    with pytest.raises(ValueError, match="num_losses must equal the number"):
        sona.fixed_weights((1.0, 1.0)).init(3)
    with pytest.raises(ValueError, match="w_min must be > 0"):
        sona.uncertainty_weights(0.0, 1.0)
    with pytest.raises(ValueError, match=r"w_max must be >= 0\.5"):
        sona.uncertainty_weights(0.5, 0.1)
    with pytest.raises(ValueError, match="num_losses must be >= 1"):
        sona.adaptive_scales().init(0)
    w = sona.adaptive_scales()
    with pytest.raises(ValueError, match=r"shape \(3,\); got shape \(2,\)"):
        w.combine(lambda s: s[:2], w.init(3))

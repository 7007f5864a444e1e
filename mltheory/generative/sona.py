r"""SONA: a conditional discriminator head with naturalness and orthogonal alignment.

The head, its losses and its weighting rules from Takida et al., *SONA:
Learning Conditional, Unconditional, and Mismatching-Aware Discriminator*
(`arXiv:2510.04576 <https://arxiv.org/abs/2510.04576>`_), over any JAX
feature extractor ``phi_apply(params, x) -> (B, D)``:

* the head :func:`sona_apply` (naturalness :math:`\langle\omega, h\rangle`
  plus alignment :math:`\langle\omega_y, \Pi^\perp_\omega h\rangle`) and the
  baselines :func:`projection_discriminator_apply` (Miyato & Koyama) and
  :func:`san_projection_apply` (SAN over the projection discriminator);
* the losses: :func:`san_naturalness_loss`, :func:`bt_conditional_loss`
  (BT-C), :func:`bt_mismatch_loss` (BT-M), and the full
  :func:`sona_discriminator_loss` / :func:`sona_generator_loss`;
* the weighting rules: :func:`adaptive_scales` (the paper's constrained
  adaptive scales, the default), :func:`fixed_weights` and
  :func:`uncertainty_weights` (baselines).

Everything is a plain pytree of arrays; the losses are scalars, so
:func:`jax.value_and_grad` and optax compose directly. The toy conditional
GAN that exercises it lives in :mod:`mltheory.generative.sona_toy`.
"""

from mltheory.generative._sona_head import (
    ProjectionHeadParams,
    SanOutput,
    SonaHeadParams,
    SonaOutput,
    projection_discriminator_apply,
    projection_init,
    san_projection_apply,
    sona_apply,
    sona_init,
)
from mltheory.generative._sona_losses import (
    SonaDiscriminatorParams,
    bt_conditional_loss,
    bt_mismatch_loss,
    sample_mismatched,
    san_naturalness_loss,
    sona_discriminator_loss,
    sona_generator_loss,
)
from mltheory.generative._sona_weighting import (
    AdaptiveScales,
    FixedWeights,
    LossWeighting,
    ScalesState,
    UncertaintyState,
    UncertaintyWeights,
    adaptive_scales,
    fixed_weights,
    uncertainty_weights,
)

__all__ = [
    "AdaptiveScales",
    "FixedWeights",
    "LossWeighting",
    "ProjectionHeadParams",
    "SanOutput",
    "ScalesState",
    "SonaDiscriminatorParams",
    "SonaHeadParams",
    "SonaOutput",
    "UncertaintyState",
    "UncertaintyWeights",
    "adaptive_scales",
    "bt_conditional_loss",
    "bt_mismatch_loss",
    "fixed_weights",
    "projection_discriminator_apply",
    "projection_init",
    "sample_mismatched",
    "san_naturalness_loss",
    "san_projection_apply",
    "sona_apply",
    "sona_discriminator_loss",
    "sona_generator_loss",
    "sona_init",
    "uncertainty_weights",
]

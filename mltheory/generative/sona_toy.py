r"""A toy conditional GAN for SONA: a ring of Gaussians, MLPs, a jitted trainer.

The task of the SONA reproduction (our design, not the paper's benchmark):
:math:`C` classes each owning :math:`k` of :math:`Ck` Gaussian modes on a
ring, interleaved so that naturalness does not imply alignment; an MLP
generator and a spectrally normalised MLP feature extractor; and
:func:`train`, which trains SONA (:mod:`mltheory.generative.sona`), the
projection discriminator or SAN over the projection discriminator with the
same networks and budget, several seeds at once, with the metrics of
:func:`evaluate` (naturalness, mode coverage, generator and discriminator
alignment accuracy).
"""

from mltheory.generative._sona_toy import (
    ToyGANConfig,
    ToyGANMetrics,
    ToyGANResult,
    evaluate,
    feature_apply,
    generate,
    generator_apply,
    init_feature_extractor,
    init_generator,
    mode_centers,
    sample_data,
    train,
)

__all__ = [
    "ToyGANConfig",
    "ToyGANMetrics",
    "ToyGANResult",
    "evaluate",
    "feature_apply",
    "generate",
    "generator_apply",
    "init_feature_extractor",
    "init_generator",
    "mode_centers",
    "sample_data",
    "train",
]

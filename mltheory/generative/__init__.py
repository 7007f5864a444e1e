"""Masked-diffusion samplers over any denoiser, and their exact theory.

Samplers (MaskGIT, the moment sampler, generic choose-then-sample with
position policies and token rules, hybrid unmasking, partial caching) work
with any ``logits_fn(tokens, mask) -> logits``; they are jit-compiled,
batched, and take an explicit key. The public submodules
:mod:`mltheory.generative.theory` (implicit temperature, exact one-step and
output laws, divergences) and :mod:`mltheory.generative.toy` (denoisers with
exact conditionals and a tiny transformer with a K/V cache) hold the theory
and the test models.
"""

from mltheory.generative import sona, sona_toy, theory, toy
from mltheory.generative._caching import CachedDenoiser, partial_cache_sample
from mltheory.generative._policies import (
    BetaTokens,
    Greedy,
    Hybrid,
    Moment,
    PositionPolicy,
    TemperatureTokens,
    Tempered,
    TokenRule,
    Uniform,
    position_scores,
)
from mltheory.generative._samplers import (
    SampleResult,
    cts_sample,
    hybrid_sample,
    maskgit_sample,
    moment_sample,
)
from mltheory.generative._schedules import (
    gumbel_scale_schedule,
    mask_schedule,
    reveal_counts,
)

__all__ = [
    "BetaTokens",
    "CachedDenoiser",
    "Greedy",
    "Hybrid",
    "Moment",
    "PositionPolicy",
    "SampleResult",
    "TemperatureTokens",
    "Tempered",
    "TokenRule",
    "Uniform",
    "cts_sample",
    "gumbel_scale_schedule",
    "hybrid_sample",
    "mask_schedule",
    "maskgit_sample",
    "moment_sample",
    "partial_cache_sample",
    "position_scores",
    "reveal_counts",
    "sona",
    "sona_toy",
    "theory",
    "toy",
]

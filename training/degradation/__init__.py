"""ARNIQA's image degradation model: 24 distortion types in 7 groups, 5 levels each.

- `registry`: the types, groups, level values and KADID-10k ids, as data.
- `sampler`: draws composed `DistortionSequence`s (``generate_parameters``).
- `reference`: applies them, one (3, H, W) float RGB image at a time (``apply_transform``
  in kornia's terms: `apply_distortion`, `apply_sequence`).

``python -m training.degradation --help`` draws galleries of the distortions.
"""

from .reference import REFERENCE_FUNCTIONS, apply_distortion, apply_sequence
from .registry import DISTORTIONS, GROUPS, NUM_LEVELS, DistortionSpec, get_spec
from .sampler import CompositionSampler, DistortionSequence, DistortionStep, level_probabilities

__all__ = [
    "DISTORTIONS",
    "GROUPS",
    "NUM_LEVELS",
    "REFERENCE_FUNCTIONS",
    "CompositionSampler",
    "DistortionSequence",
    "DistortionSpec",
    "DistortionStep",
    "apply_distortion",
    "apply_sequence",
    "get_spec",
    "level_probabilities",
]

"""ARNIQA's degradation model applied to whole batches, on the CPU or on CUDA.

Every image of a (B, 3, H, W) batch gets its own `DistortionSequence` (from
`CompositionSampler.generate_parameters`); the engine replays them step position by
step position, and at each position runs every distortion type once, over the
sub-batch of images whose sequence holds it there, with per-image parameters as
tensors. Output matches the one-image reference (`training.degradation.reference`):
exactly up to float rounding for the deterministic types, in distribution for the
noises (their pixels come from a counter-based generator, identical on CPU and CUDA).

- `engine`: `apply_sequences`, `apply_distortion`; grouping, validation, and the
  overlap of host-bound codecs with the rest of a step.
- `ops`: one batched function per distortion type (`BATCHED_OPS`).
- `steps`: `StepGroup`, the parameters of one type at one position, drawn from the
  steps' generators exactly as the reference draws them.
- `native`: the C++/CUDA kernels of ``arniqa_edge._C.distort``.
- `colorspace`, `filtering`, `curves`: batched forms of the reference's helpers.
"""

from .engine import apply_distortion, apply_sequences, as_float_batch
from .ops import BATCHED_OPS, BatchedOp

__all__ = ["BATCHED_OPS", "BatchedOp", "apply_distortion", "apply_sequences", "as_float_batch"]

"""Apply one `DistortionSequence` per image to a (B, 3, H, W) batch, grouped by type.

At step position p, the images whose sequence has a p-th step are grouped by its
type; each type runs once over its sub-batch (gathered, distorted, scattered back).
Images are independent and every random draw is keyed by its step's seed, so an
image's output does not depend on the rest of the batch: ``apply_sequences`` of a
batch equals applying each sequence to its image alone.

Host-bound types (JPEG 2000) are started first at their position and collected
last, so the device works on the other types meanwhile.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..registry import check_level, get_spec
from ..sampler import DistortionSequence, DistortionStep
from .ops import BATCHED_OPS
from .steps import StepGroup


def as_float_batch(images: torch.Tensor) -> torch.Tensor:
    """Validate a (B, 3, H, W) RGB batch and return a float32 contiguous copy in [0, 1].

    uint8 batches are scaled by 1/255; floating-point ones are taken to be in [0, 1].
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"expected a torch.Tensor of shape (B, 3, H, W), got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected an RGB batch of shape (B, 3, H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255).contiguous()
    if not images.dtype.is_floating_point:
        raise ValueError(f"expected a float batch in [0, 1] or a uint8 batch, got dtype {images.dtype}")
    return images.to(torch.float32, copy=True).contiguous()


def apply_sequences(
    images: torch.Tensor, sequences: Sequence[DistortionSequence], realization: int = 0
) -> torch.Tensor:
    """Distort image i of `images` by sequences[i]; step j of it draws from ``step.rng(realization)``.

    Args:
        images: (B, 3, H, W) float in [0, 1] or uint8, on the CPU or a CUDA device.
        sequences: B sequences; replaying the same ones (same realization) on other
            images of the same size gives the same distortions, noise included.
        realization: which draw of the steps' random parameters.

    Returns:
        A new (B, 3, H, W) float32 batch in [0, 1] on the device of `images`.
    """
    batch = as_float_batch(images)
    _check_sequences(sequences, batch)
    length = max((len(sequence) for sequence in sequences), default=0)
    for position in range(length):
        _apply_position(batch, [seq.steps[position] if position < len(seq) else None for seq in sequences],
                        realization)
    return batch


def apply_distortion(
    images: torch.Tensor, name: str, level: int, seeds: Sequence[int] | None = None, realization: int = 0
) -> torch.Tensor:
    """Distortion `name` at `level` (1..5) on every image; image i's draws are seeded by seeds[i] (default i)."""
    get_spec(name)
    check_level(level)
    count = len(images) if isinstance(images, torch.Tensor) and images.ndim == 4 else 0
    seeds = range(count) if seeds is None else seeds
    sequences = [DistortionSequence((DistortionStep(name, level, int(seed)),)) for seed in seeds]
    return apply_sequences(images, sequences, realization)


def _check_sequences(sequences: Sequence[DistortionSequence], batch: torch.Tensor) -> None:
    if len(sequences) != len(batch):
        raise ValueError(f"expected one sequence per image: {len(batch)} images, {len(sequences)} sequences")
    _, _, height, width = batch.shape
    for index, sequence in enumerate(sequences):
        if not isinstance(sequence, DistortionSequence):
            raise ValueError(f"sequences[{index}] is a {type(sequence).__name__}, not a DistortionSequence")
        for step in sequence:
            spec = get_spec(step.name)
            check_level(step.level)
            if min(height, width) < spec.min_size:
                raise ValueError(
                    f"{spec.name} (sequences[{index}]) needs images of at least {spec.min_size}x{spec.min_size} px, "
                    f"got {height}x{width}"
                )


def _apply_position(batch: torch.Tensor, steps: list[DistortionStep | None], realization: int) -> None:
    """Apply the step each image has at one position (None: it has none), type by type."""
    images_of: dict[str, list[int]] = {}
    for index, step in enumerate(steps):
        if step is not None:
            images_of.setdefault(step.name, []).append(index)
    # Host-bound types first, so their threads run while the rest is computed.
    names = sorted(images_of, key=lambda name: not BATCHED_OPS[name].host_bound)
    pending = []
    for name in names:
        index = torch.from_numpy(np.asarray(images_of[name], dtype=np.int64)).to(batch.device, non_blocking=True)
        group = StepGroup.from_steps([steps[i] for i in images_of[name]], realization)
        result = BATCHED_OPS[name].apply(batch.index_select(0, index), group)
        if BATCHED_OPS[name].host_bound:
            pending.append((index, result))
        else:
            batch.index_copy_(0, index, result.clamp_(0, 1))
    for index, result in pending:
        batch.index_copy_(0, index, result.result().clamp_(0, 1))

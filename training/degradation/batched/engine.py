"""Apply one `DistortionSequence` per image to a (B, 3, H, W) batch, grouped by type.

Work goes in rounds: the images that are free to take their next step are grouped
by its type, and each type runs once over its sub-batch (gathered, distorted,
scattered back). Images are independent and every random draw is keyed by its
step's seed, so an image's output does not depend on the rest of the batch or on
the order of the rounds: ``apply_sequences`` of a batch equals applying each
sequence to its image alone.

Host-bound types (JPEG 2000: one image on one core, the slowest type by far) are
handed to host threads and their images leave the rounds until the codec is done;
the other images go on with their later steps meanwhile, so the codec overlaps with
the rest of the batch instead of holding up every image at its step position. The
images with such a step ahead take their rounds first, so the codec starts early.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..registry import check_level, get_spec
from ..sampler import DistortionSequence, DistortionStep
from .ops import BATCHED_OPS
from .ops.compression import PendingImages
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
    next_step = [0] * len(sequences)  # per image: the index of its next step
    in_flight: list[tuple[list[int], PendingImages]] = []  # host-bound steps running, by their images
    while True:
        busy = {index for positions, _ in in_flight for index in positions}
        ready = [i for i, sequence in enumerate(sequences) if next_step[i] < len(sequence) and i not in busy]
        # Images with a host-bound step ahead go first, so that their codec starts early.
        ready = [i for i in ready if _host_bound_ahead(sequences[i], next_step[i])] or ready
        if ready:
            in_flight += _run_round(batch, {i: sequences[i].steps[next_step[i]] for i in ready}, realization)
            for i in ready:
                next_step[i] += 1
        elif not in_flight:
            return batch
        # Finished host work rejoins the rounds; with nothing else to run, wait for the oldest.
        finished = [job for job in in_flight if job[1].done()] or ([] if ready else in_flight[:1])
        for job in finished:
            _scatter_clamped(batch, job[0], job[1].result())
            in_flight.remove(job)


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


def _host_bound_ahead(sequence: DistortionSequence, start: int) -> bool:
    return any(BATCHED_OPS[step.name].host_bound for step in sequence.steps[start:])


def _run_round(
    batch: torch.Tensor, steps: dict[int, DistortionStep], realization: int
) -> list[tuple[list[int], PendingImages]]:
    """Apply each image's given step, type by type; returns the host-bound steps started (not yet applied)."""
    images_of: dict[str, list[int]] = {}
    for index, step in steps.items():
        images_of.setdefault(step.name, []).append(index)
    # Host-bound types first, so their threads run while the rest is computed.
    names = sorted(images_of, key=lambda name: not BATCHED_OPS[name].host_bound)
    started = []
    for name in names:
        positions = images_of[name]
        group = StepGroup.from_steps([steps[i] for i in positions], realization)
        result = BATCHED_OPS[name].apply(_gather(batch, positions), group)
        if BATCHED_OPS[name].host_bound:
            started.append((positions, result))
        else:
            _scatter_clamped(batch, positions, result)
    return started


def _gather(batch: torch.Tensor, positions: list[int]) -> torch.Tensor:
    """The sub-batch of the images at `positions`, for an op to own (and change).

    Consecutive positions (every single image among them) give a view of `batch`,
    which the op then distorts where it lies; others a contiguous copy.
    """
    first = positions[0]
    if positions == list(range(first, first + len(positions))):
        return batch[first : first + len(positions)]
    if batch.is_cuda:
        return batch.index_select(0, torch.tensor(positions, device=batch.device))
    # On the CPU, index_select over whole images is far slower than copying each one.
    return torch.stack([batch[i] for i in positions])


def _scatter_clamped(batch: torch.Tensor, positions: list[int], images: torch.Tensor) -> None:
    """batch[positions] = images clipped to [0, 1]."""
    first = positions[0]
    target = batch[first : first + len(positions)]
    if images.data_ptr() == target.data_ptr() and images.shape == target.shape:  # the op worked on the view
        images.clamp_(0, 1)
    elif batch.is_cuda:
        batch.index_copy_(0, torch.tensor(positions, device=batch.device), images.clamp_(0, 1))
    else:
        for image, position in zip(images, positions):  # one pass per image: clip while copying
            torch.clamp(image, 0, 1, out=batch[position])

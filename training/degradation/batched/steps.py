"""The parameters of one distortion type at one step position, for a sub-batch.

A `StepGroup` holds, for each image of the sub-batch, the level, its parameter value
and a fresh generator ``step.rng(realization)``. Ops draw geometric parameters from
those generators through `training.degradation.random_params`, in the reference's
order, so angles, shifts and patch positions equal the reference's; per-pixel noise
is keyed by a seed drawn after them (`noise_seeds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..registry import get_spec
from ..sampler import DistortionStep

_SEED_LIMIT = 2**63  # noise seeds are int64 for the kernels


@dataclass(frozen=True)
class StepGroup:
    name: str
    levels: tuple[int, ...]
    values: tuple[float, ...]
    generators: tuple[np.random.Generator, ...]

    @classmethod
    def from_steps(cls, steps: list[DistortionStep], realization: int) -> StepGroup:
        (name,) = {step.name for step in steps}
        spec = get_spec(name)
        return cls(
            name=name,
            levels=tuple(step.level for step in steps),
            values=tuple(spec.value(step.level) for step in steps),
            generators=tuple(step.rng(realization) for step in steps),
        )

    def __len__(self) -> int:
        return len(self.levels)

    def value_tensor(self, like: torch.Tensor) -> torch.Tensor:
        """The parameter values, shape (len, 1, 1, 1), to broadcast over images like `like`."""
        return torch.tensor(self.values, dtype=like.dtype).view(-1, 1, 1, 1).to(like.device, non_blocking=True)

    def by_value(self) -> dict[float, list[int]]:
        """Positions in the group of the images sharing each parameter value (for per-level kernels)."""
        positions: dict[float, list[int]] = {}
        for position, value in enumerate(self.values):
            positions.setdefault(value, []).append(position)
        return positions

    def noise_seeds(self) -> np.ndarray:
        """One int64 seed per image for the counter-based noise kernels, drawn from its generator."""
        return np.array([int(rng.integers(_SEED_LIMIT)) for rng in self.generators], dtype=np.int64)


def apply_per_value(
    images: torch.Tensor, group: StepGroup, apply: Callable[[torch.Tensor, float], torch.Tensor]
) -> torch.Tensor:
    """images with apply(sub_batch, value) run once per distinct parameter value of `group`.

    For distortions whose kernel or output size depends on the level only: at most
    five calls, each over all the images of that level.
    """
    groups = group.by_value()
    if len(groups) == 1:
        return apply(images, group.values[0])
    for value, positions in groups.items():
        index = torch.tensor(positions, device=images.device)
        images.index_copy_(0, index, apply(images.index_select(0, index), value))
    return images

"""Degrading the pair crops on the training device: sampler + engine.

One `DistortionSequence` is drawn per pair and applied to its four crops (A and B,
full and half scale), each view with its own realization of the random draws, as
ARNIQA draws noise anew for every view. The crops arrive as uint8 batches from the
DataLoader (`training.pairs`) and leave normalised, ready for the encoder.

The sequences of step `step` on process `rank` are drawn from a generator keyed by
(seed, rank, step): no generator state needs saving, and a resumed run draws the
same degradations as an uninterrupted one.

`degrade` is the one place that knows which engine applies the sequences: the
batched torch engine (`training.degradation.batched`) when it is installed, the
per-image reference (`training.degradation.reference`) otherwise.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np
import torch

from .degradation.reference import apply_sequence
from .degradation.sampler import CompositionSampler, DistortionSequence
from .pairs import VIEWS

log = logging.getLogger(__name__)

#: (B, 3, H, W) float images in [0, 1], one sequence per image, realization -> degraded images.
Engine = Callable[[torch.Tensor, Sequence[DistortionSequence], int], torch.Tensor]


def reference_engine(images: torch.Tensor, sequences: Sequence[DistortionSequence], realization: int) -> torch.Tensor:
    """Per-image CPU reference; slow, but always there."""
    cpu = images.detach().float().cpu()
    out = torch.stack([apply_sequence(image, sequence, realization) for image, sequence in zip(cpu, sequences)])
    return out.to(images.device, non_blocking=True)


def batched_engine() -> Engine | None:
    """The batched engine's entry point, or None where it is not installed."""
    try:
        from .degradation.batched import apply_sequences
    except ImportError:
        return None
    return apply_sequences


def resolve_engine(name: str = "auto") -> Engine:
    if name == "reference":
        return reference_engine
    engine = batched_engine()
    if engine is None:
        if name == "batched":
            raise RuntimeError("the batched degradation engine (training.degradation.batched) is not available")
        log.warning("batched degradation engine not available: using the per-image CPU reference")
        return reference_engine
    return engine


class PairSynthesizer:
    """uint8 pair crops on the device -> (views_a, views_b), each (2B, 3, S, S) normalised.

    Row i of views_a is A's view of pair i at full scale (i < B) or half scale (i >= B);
    its positive is row i of views_b: B's view under the same sequence at the same scale.
    """

    def __init__(self, sampler: CompositionSampler, mean: Sequence[float], std: Sequence[float], seed: int = 0,
                 rank: int = 0, engine: str | Engine = "auto"):
        self.sampler = sampler
        self.seed = seed
        self.rank = rank
        self.engine = resolve_engine(engine) if isinstance(engine, str) else engine
        self._mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def sequences(self, step: int, count: int) -> list[DistortionSequence]:
        rng = np.random.default_rng([self.seed, self.rank, step])
        return [self.sampler.generate_parameters(rng) for _ in range(count)]

    def degrade(self, crops: dict[str, torch.Tensor],
                sequences: Sequence[DistortionSequence]) -> dict[str, torch.Tensor]:
        """The four views, degraded: realization r for view VIEWS[r]."""
        return {name: self.engine(crops[name].float().div_(255), sequences, realization)
                for realization, name in enumerate(VIEWS)}

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        mean, std = self._mean.to(images.device), self._std.to(images.device)
        return (images - mean) / std

    def __call__(self, crops: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, torch.Tensor]:
        sequences = self.sequences(step, len(crops[VIEWS[0]]))
        views = self.degrade(crops, sequences)
        views_a = torch.cat([views["a_full"], views["a_half"]])
        views_b = torch.cat([views["b_full"], views["b_half"]])
        return self.normalize(views_a), self.normalize(views_b)

"""Degrading the pair crops on the training device: sampler + engine.

One `DistortionSequence` is drawn per pair and applied to its four crops (A and B,
full and half scale), each view with its own realization of the random draws, as
ARNIQA draws noise anew for every view. The crops arrive as uint8 batches from the
DataLoader (`training.pretraining.pairs`) and leave normalised, ready for the encoder.

The sequences of step `step` on process `rank` are drawn from a generator keyed by
(seed, rank, step): no generator state needs saving, and a resumed run draws the
same degradations as an uninterrupted one.

`degrade` is the one place that knows which engine applies the sequences: the
batched torch engine (`training.degradation.batched`) when it is installed, the
per-image reference (`training.degradation.reference`) otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..degradation.reference import apply_sequence
from ..degradation.sampler import DistortionSequence
from .pairs import HALF_SCALE_MODES, REGIONS, VIEWS

log = logging.getLogger(__name__)

#: (B, 3, H, W) float images in [0, 1], one sequence per image, realization -> degraded images.
Engine = Callable[[torch.Tensor, Sequence[DistortionSequence], int], torch.Tensor]


def reference_engine(images: torch.Tensor, sequences: Sequence[DistortionSequence], realization: int) -> torch.Tensor:
    """Per-image CPU reference; slow, but always there."""
    cpu = images.detach().float().cpu()
    out = torch.stack([apply_sequence(image, sequence, realization) for image, sequence in zip(cpu, sequences)])
    return out.to(images.device, non_blocking=True)


def load_batched_engine() -> Engine:
    """The batched engine's entry point; ImportError (saying why) where it cannot run."""
    from ..degradation.batched import apply_sequences
    from ..degradation.batched.native import kernels

    kernels()  # arniqa_edge._C with its distortion kernels (not in a build with ARNIQA_EDGE_DISTORTIONS=OFF)
    return apply_sequences


def batched_engine() -> Engine | None:
    """The batched engine's entry point, or None where it cannot run."""
    try:
        return load_batched_engine()
    except ImportError:
        return None


def resolve_engine(name: str = "auto") -> Engine:
    if name == "reference":
        return reference_engine
    try:
        return load_batched_engine()
    except ImportError as error:
        if name == "batched":
            raise RuntimeError(
                f"the batched degradation engine (training.degradation.batched) is not available: {error}"
            ) from error
        log.warning("batched degradation engine not available (%s): using the per-image CPU reference", error)
        return reference_engine


@dataclass
class SynthesizedBatch:
    """One step's degraded views and what the losses need to know about them.

    Row i of `views_a` is A's view of pair i at full scale (i < B) or half scale
    (i >= B); its positive is row i of `views_b`: B's view under the same sequence at
    the same scale. `labels[i]` is the KADID-proxy label of pair i's degradation (NaN
    where it has none). `groups` numbers the 2B rows by (degradation, scale): rows of
    other pairs that went through the very same degradation share a group, so the
    contrastive loss need not push them apart.
    """

    views_a: torch.Tensor
    views_b: torch.Tensor
    labels: torch.Tensor
    groups: torch.Tensor


def degradation_groups(sequences: Sequence[DistortionSequence]) -> torch.Tensor:
    """(2B,) group ids: equal for rows of equal (types, levels) at the same scale."""
    ids: dict[tuple, int] = {}
    pair_ids = [ids.setdefault(tuple(zip(s.names, s.levels)), len(ids)) for s in sequences]
    pair_ids_t = torch.tensor(pair_ids, dtype=torch.long)
    return torch.cat([2 * pair_ids_t, 2 * pair_ids_t + 1])


class PairSynthesizer:
    """uint8 pair crops on the device -> `SynthesizedBatch` of normalised (2B, 3, S, S) views.

    With ``half_scale="before"`` the crops are the four views (ARNIQA: the half scale
    is cut from the downscaled pristine image) and each is degraded with its own
    realization. With ``half_scale="after"`` they are one (3, 2S, 2S) region per image:
    each region is degraded once, then gives its center S x S (full scale) and the
    region downscaled by 2 (half scale), as the runtime's two scales of a frame.
    `labels` (e.g. `training.evaluation.kadid_proxy.ProxyLabels`) labels the pairs' sequences.
    """

    def __init__(
        self,
        sampler,
        mean: Sequence[float],
        std: Sequence[float],
        seed: int = 0,
        rank: int = 0,
        engine: str | Engine = "auto",
        half_scale: str = "before",
        labels=None,
    ):
        if half_scale not in HALF_SCALE_MODES:
            raise ValueError(f"half_scale must be one of {', '.join(HALF_SCALE_MODES)}, got {half_scale!r}")
        self.sampler = sampler
        self.seed = seed
        self.rank = rank
        self.half_scale = half_scale
        self.labels = labels
        self.engine = resolve_engine(engine) if isinstance(engine, str) else engine
        self._mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def sequences(self, step: int, count: int) -> list[DistortionSequence]:
        rng = np.random.default_rng([self.seed, self.rank, step])
        return [self.sampler.generate_parameters(rng) for _ in range(count)]

    def degrade(
        self, crops: dict[str, torch.Tensor], sequences: Sequence[DistortionSequence]
    ) -> dict[str, torch.Tensor]:
        """The four views, degraded: realization r for view VIEWS[r] (or region REGIONS[r])."""
        if self.half_scale == "before":
            return {
                name: self.engine(crops[name].float().div_(255), sequences, realization)
                for realization, name in enumerate(VIEWS)
            }
        views = {}
        for realization, name in enumerate(REGIONS):
            region = self.engine(crops[name].float().div_(255), sequences, realization)
            size = region.shape[-1] // 2
            offset = size // 2
            views[f"{name}_full"] = region[..., offset : offset + size, offset : offset + size]
            views[f"{name}_half"] = F.interpolate(
                region, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            ).clamp_(0, 1)
        return views

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        mean, std = self._mean.to(images.device), self._std.to(images.device)
        return (images - mean) / std

    def __call__(self, crops: dict[str, torch.Tensor], step: int) -> SynthesizedBatch:
        count = len(next(iter(crops.values())))
        sequences = self.sequences(step, count)
        views = self.degrade(crops, sequences)
        views_a = torch.cat([views["a_full"], views["a_half"]])
        views_b = torch.cat([views["b_full"], views["b_half"]])
        labels = torch.tensor(
            [self.labels.label(s) if self.labels is not None else float("nan") for s in sequences], dtype=torch.float32
        )
        device = views_a.device
        return SynthesizedBatch(
            self.normalize(views_a),
            self.normalize(views_b),
            labels.to(device),
            degradation_groups(sequences).to(device),
        )

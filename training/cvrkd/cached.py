"""Training and evaluating CVRKD networks from a pooled-levels cache (`training.cvrkd.cache`).

The cache holds each crop's frozen backbone levels already pooled to the grid; the
network's level projections (1x1 conv, then a pool that is the identity at grid
size) apply to them unchanged, so from there on the computation is exactly the
network's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from arniqa_edge.cvrkd.network import CVRKDNet, CVRKDOutput

from ..evaluation.protocols import Correlations, correlations
from .cache import PoolCache


def stacked_maps_from_pooled(net: CVRKDNet, pooled: torch.Tensor) -> torch.Tensor:
    """(B, P, sum(C_l), grid, grid) cached levels -> the (B, P * level_channels * L, grid, grid) stacked maps."""
    levels = pooled.flatten(0, 1).split(net.backbone.channels, dim=1)
    return net.project_levels(list(levels))


def cached_forward(net: CVRKDNet, lq: torch.Tensor, hq: torch.Tensor) -> CVRKDOutput:
    maps = stacked_maps_from_pooled(net, torch.cat([lq, hq]))
    lq_maps, hq_maps = maps.chunk(2)
    return net.score_maps(lq_maps, hq_maps)


class CachedTriplets(Dataset):
    """Sample i: a random LQ image of the cache, `crops` of its positions (the FR reference at the same
    positions) and `crops` pristine positions of another content (the NAR reference); float32 tensors."""

    def __init__(self, cache: PoolCache, crops: int, length: int, seed: int = 0):
        if cache.spec.layout != "train":
            raise ValueError(f"{cache.folder} is an {cache.spec.layout} cache; training needs a train cache")
        if cache.spec.images < 2:
            raise ValueError("CVRKD needs at least 2 content images (a reference of other content)")
        self.cache, self.crops, self.length, self.seed = cache, crops, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        spec = self.cache.spec
        x = int(rng.integers(spec.images))
        y = int(rng.integers(spec.images - 1))
        y += y >= x
        k = int(rng.integers(spec.distortions))
        aligned = np.sort(rng.choice(spec.positions, self.crops, replace=False))
        other = np.sort(rng.choice(spec.positions, self.crops, replace=False))
        return {
            "lq": torch.from_numpy(np.asarray(self.cache.lq[x, k, aligned], dtype=np.float32)),
            "fr": torch.from_numpy(np.asarray(self.cache.pristine[x, aligned], dtype=np.float32)),
            "nar": torch.from_numpy(np.asarray(self.cache.pristine[y, other], dtype=np.float32)),
            "score": torch.tensor(self.cache.labels[x, k], dtype=torch.float32),
        }


def predict_cached(
    net: CVRKDNet, cache: PoolCache, reference: str, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(predictions, labels, distortion types) of every LQ image of an eval cache.

    reference "fr": the aligned pristine image; "nar": the pristine image of the next
    content (cyclic), as `training.cvrkd.data.evaluation_items` pairs them.
    """
    if cache.spec.layout != "eval":
        raise ValueError(f"{cache.folder} is a {cache.spec.layout} cache; evaluation needs an eval cache")
    images, count = cache.spec.images, cache.spec.distortions
    pairs = [(i, k) for i in range(images) for k in range(count)]
    predictions = []
    net.eval()
    with torch.inference_mode():
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            lq = np.stack([cache.lq[i, k] for i, k in chunk])
            hq = np.stack([cache.pristine[i if reference == "fr" else (i + 1) % images] for i, _ in chunk])
            output = cached_forward(
                net, torch.from_numpy(lq.astype(np.float32)), torch.from_numpy(hq.astype(np.float32))
            )
            predictions.append(output.score.float().numpy())
    labels = np.array([cache.labels[i, k] for i, k in pairs])
    types = [cache.graded[cache.distortion_ids[i, k]].name for i, k in pairs]
    return np.concatenate(predictions), labels, types


def evaluate_cached(
    net: CVRKDNet, cache: PoolCache, references: Sequence[str] = ("fr", "nar")
) -> dict[str, Correlations]:
    return {reference: correlations(*predict_cached(net, cache, reference)[:2]) for reference in references}

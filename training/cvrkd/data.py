"""Training and evaluation triplets for CVRKD, built from pristine content and the KADID proxy.

One sample: content X distorted by one ARNIQA distortion at one level (the LQ
image, labelled with KADID-10k's mean MOS of that (type, level): see
`training.evaluation.kadid_proxy`), the pristine X (the FR teacher's aligned reference) and a
pristine Y != X (the NAR student's non-aligned reference).

Crops: in training, LQ and FR crops share random positions (aligned, as the paper)
and the NAR crops are drawn independently with random flips; in evaluation every
image is cut into the deterministic grid that inference uses
(`arniqa_edge.cvrkd.crops`). Every random choice of sample i comes from a
generator seeded with (seed, i), so a run is reproducible with any number of
DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from arniqa_edge.cvrkd.crops import grid_crops
from arniqa_edge.preprocess.spec import IMAGENET_MEAN, IMAGENET_STD

from ..data_root import list_images
from ..degradation.images import to_uint8
from ..degradation.reference import apply_distortion
from ..evaluation.kadid_proxy import DEFAULT_LABELS, kadid_level_mos, proxy_distortions
from ..photos import read_bgr, shrink_short_side

LEVELS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class GradedDistortion:
    """One distortion at one level, with the mean human opinion KADID-10k gives it."""

    name: str
    kadid_id: int
    level: int
    mos: float


def graded_distortions(
    labels_csv: str | Path = DEFAULT_LABELS, names: Sequence[str] | None = None, levels: Sequence[int] = LEVELS
) -> list[GradedDistortion]:
    """Every (distortion, level) of `names` (default: all 23 with a KADID counterpart) with its label."""
    mos = kadid_level_mos(labels_csv)
    specs = {spec.name: spec for spec in proxy_distortions()}
    names = list(specs) if names is None else list(names)
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise ValueError(f"no KADID label for {unknown}; choose from {', '.join(specs)}")
    return [
        GradedDistortion(name, specs[name].kadid_id, level, mos[(specs[name].kadid_id, level)])
        for name in names
        for level in levels
    ]


def load_content(folder: str | Path, short_side: int, limit: int | None = None) -> list[np.ndarray]:
    """Pristine images of `folder` (sorted by name, the first `limit`) as RGB uint8, whole.

    Images whose short side exceeds `short_side` are downscaled to it (area filter):
    KADID-10k, whose opinions label the samples, showed 512 x 384 images.
    """
    files = list_images(folder, recursive=True)[:limit]
    if len(files) < 2:
        raise ValueError(f"{folder}: CVRKD needs at least 2 pristine images (a reference of other content)")
    return [_read_rgb(path, short_side) for path in files]


def _read_rgb(path: Path, short_side: int) -> np.ndarray:
    return np.ascontiguousarray(shrink_short_side(read_bgr(path), short_side)[:, :, ::-1])


def distort(rgb: np.ndarray, distortion: GradedDistortion, rng: np.random.Generator) -> np.ndarray:
    """Apply one graded distortion to a uint8 RGB image; returns uint8 RGB, as a stored LQ image would be."""
    image = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    return to_uint8(apply_distortion(image, distortion.name, distortion.level, rng)).permute(1, 2, 0).numpy()


def random_origins(height: int, width: int, size: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    tops = rng.integers(0, height - size + 1, count)
    lefts = rng.integers(0, width - size + 1, count)
    return [(int(top), int(left)) for top, left in zip(tops, lefts)]


def cut(rgb: np.ndarray, origins: list[tuple[int, int]], size: int) -> np.ndarray:
    return np.stack([rgb[top : top + size, left : left + size] for top, left in origins])


def normalize_on_device(crops: torch.Tensor) -> torch.Tensor:
    """uint8 (B, P, S, S, 3) RGB crops -> float32 (B, P, 3, S, S), as `normalize_crops` (numpy) computes."""
    mean = torch.tensor(IMAGENET_MEAN, device=crops.device)
    std = torch.tensor(IMAGENET_STD, device=crops.device)
    return ((crops.float() / 255 - mean) / std).permute(0, 1, 4, 2, 3).contiguous()


def random_flips(crops: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip each crop horizontally and vertically at random (orientation says nothing about quality)."""
    flipped = [crop[:: rng.choice((1, -1)), :: rng.choice((1, -1))] for crop in crops]
    return np.ascontiguousarray(np.stack(flipped))


class TripletDataset(Dataset):
    """`length` random training triplets: dicts of lq, fr, nar uint8 crops (P, S, S, 3) RGB and score.

    A training run is one pass over it, so every sample is new: length = steps x batch.
    Crops stay uint8 until `normalize_on_device`: a quarter of the bytes through the
    DataLoader's shared memory and the host-to-device copy.
    """

    def __init__(
        self,
        content: Sequence[np.ndarray],
        distortions: Sequence[GradedDistortion],
        crops: int,
        crop_size: int,
        length: int,
        seed: int = 0,
    ):
        if len(content) < 2:
            raise ValueError("CVRKD needs at least 2 content images (a reference of other content)")
        if any(min(image.shape[:2]) < crop_size for image in content):
            raise ValueError(f"content images must be at least {crop_size} px on each side")
        if not distortions:
            raise ValueError("no distortions to train on")
        self.content, self.distortions = list(content), list(distortions)
        self.crops, self.crop_size, self.length, self.seed = crops, crop_size, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        x, y = self._content_pair(rng)
        distortion = self.distortions[int(rng.integers(len(self.distortions)))]
        pristine = self.content[x]
        lq = distort(pristine, distortion, rng)
        aligned = random_origins(*pristine.shape[:2], self.crop_size, self.crops, rng)
        other = self.content[y]
        nar = random_flips(
            cut(other, random_origins(*other.shape[:2], self.crop_size, self.crops, rng), self.crop_size), rng
        )
        return {
            "lq": torch.from_numpy(cut(lq, aligned, self.crop_size)),
            "fr": torch.from_numpy(cut(pristine, aligned, self.crop_size)),
            "nar": torch.from_numpy(nar),
            "score": torch.tensor(distortion.mos, dtype=torch.float32),
        }

    def _content_pair(self, rng: np.random.Generator) -> tuple[int, int]:
        x = int(rng.integers(len(self.content)))
        y = int(rng.integers(len(self.content) - 1))
        return x, y + (y >= x)  # any content but x


@dataclass(frozen=True)
class EvalItem:
    content: int  #: index of the distorted content
    reference: int  #: index of the non-aligned reference content
    distortion: GradedDistortion


def evaluation_items(content_count: int, distortions: Sequence[GradedDistortion]) -> list[EvalItem]:
    """Every content x every graded distortion; the NAR reference of content i is content i + 1 (cyclic)."""
    if content_count < 2:
        raise ValueError("evaluation needs at least 2 content images")
    return [EvalItem(i, (i + 1) % content_count, d) for i in range(content_count) for d in distortions]


def evaluation_batches(
    content: Sequence[np.ndarray], items: Sequence[EvalItem], crops: int, crop_size: int, batch_size: int, seed: int = 0
) -> Iterator[dict[str, torch.Tensor]]:
    """Deterministic grid crops of the items, normalised (as inference computes them), in batches."""
    pristine = [torch.from_numpy(grid_crops(image, crop_size, crops)) for image in content]
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        lq = [
            grid_crops(distort(content[item.content], item.distortion, item_rng(item, seed)), crop_size, crops)
            for item in chunk
        ]
        yield {
            "lq": torch.from_numpy(np.stack(lq)),
            "fr": torch.stack([pristine[item.content] for item in chunk]),
            "nar": torch.stack([pristine[item.reference] for item in chunk]),
            "score": torch.tensor([item.distortion.mos for item in chunk], dtype=torch.float32),
        }


def item_rng(item: EvalItem, seed: int = 0) -> np.random.Generator:
    """The generator of an evaluation item's distortion, keyed as `training.evaluation.kadid_proxy.build` keys
    its images."""
    return np.random.default_rng([seed, item.content, item.distortion.kadid_id, item.distortion.level])

"""The A/B pairs of ARNIQA's pretraining: decoding and cropping only.

A training sample is two *different* pristine images, A and B, each cropped at full
scale and at half scale: four uint8 (3, S, S) crops. Degrading them (the same
sequence on all four) happens later, batched on the training device
(`training.pretraining.synthesis`), so the DataLoader workers only decode and crop.

Crops follow ARNIQA's `resize_crop`: the half-scale view is a crop of the whole image
downscaled by 2 (PIL bilinear reduce, as the runtime's half scale), not a downscaled
crop, and every view draws its own crop position. Where an image (typically its half
scale) is smaller than the crop, the crop is padded with zeros at the bottom/right,
as torchvision's crop does in ARNIQA.

That is ARNIQA's layout (``half_scale="before"``: the half scale is taken from the
pristine image, then degraded). With ``half_scale="after"`` a sample is instead one
uint8 (3, 2S, 2S) region of A and one of B; the synthesizer degrades each region and
takes its full-scale view (the center S x S) and its half-scale view (the whole region
downscaled by 2) *after* the degradation, which is how the runtime sees a degraded
frame: its half scale is a downscale of the distorted image, so a distortion looks
milder there than at full resolution.

Which pairs come in which order is decided by `PairSampler`, as `PairKey`s that carry
their own crop seed: a sample is a pure function of its key, so a resumed or
multi-process run sees exactly the samples a single uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from ..data_root import list_images
from ..photos import shrink_short_side

VIEWS = ("a_full", "a_half", "b_full", "b_half")
REGIONS = ("a", "b")
HALF_SCALE_MODES = ("before", "after")


def pretraining_images(root: str | Path) -> list[Path]:
    """The image files under `root`, searched recursively; at least two (A and B)."""
    files = list_images(root, recursive=True)
    if len(files) < 2:
        raise ValueError(f"{root}: pretraining needs at least 2 images, found {len(files)}")
    return files


def decode(path: Path, max_short_side: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(full, half) uint8 HWC RGB arrays of one image file.

    With `max_short_side` > 0, larger images are first area-downscaled so that their
    short side is at most that (e.g. 384: the scale of KADID-10k's 512x384 images).
    """
    with Image.open(path) as image:
        image = image.convert("RGB")
        if max_short_side > 0:
            image = Image.fromarray(shrink_short_side(np.asarray(image), max_short_side))
        half = image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)
        return np.asarray(image), np.asarray(half)


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size x size crop at a uniform position, zero-padded where the image is smaller."""
    height, width = image.shape[:2]
    top = int(rng.integers(0, max(1, height - size + 1)))
    left = int(rng.integers(0, max(1, width - size + 1)))
    window = image[top : top + size, left : left + size]
    if window.shape[:2] == (size, size):
        return window
    padded = np.zeros((size, size, 3), dtype=image.dtype)
    padded[: window.shape[0], : window.shape[1]] = window
    return padded


class PairKey(NamedTuple):
    a: int
    b: int
    #: seed of the four crop positions.
    seed: int


class PairDataset(Dataset):
    """PairKey -> uint8 RGB tensors: {"a_full", "a_half", "b_full", "b_half"} of (3, S, S)
    (``half_scale="before"``) or {"a", "b"} of (3, 2S, 2S) (``half_scale="after"``)."""

    def __init__(
        self,
        files: list[Path],
        crop_size: int = 224,
        preload: bool = False,
        half_scale: str = "before",
        max_short_side: int = 0,
    ):
        if half_scale not in HALF_SCALE_MODES:
            raise ValueError(f"half_scale must be one of {', '.join(HALF_SCALE_MODES)}, got {half_scale!r}")
        self.files = list(files)
        self.crop_size = crop_size
        self.half_scale = half_scale
        self.max_short_side = max_short_side
        self._cache = [self._decode(path) for path in self.files] if preload else None

    def __len__(self) -> int:
        return len(self.files)

    @property
    def keys(self) -> tuple[str, ...]:
        return VIEWS if self.half_scale == "before" else REGIONS

    def _decode(self, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        full, half = decode(path, self.max_short_side)
        return full, (half if self.half_scale == "before" else None)

    def image(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self._cache[index] if self._cache is not None else self._decode(self.files[index])

    def __getitem__(self, key: PairKey) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(key.seed)
        a_full, a_half = self.image(key.a)
        b_full, b_half = self.image(key.b)
        if self.half_scale == "before":
            crops = [random_crop(view, self.crop_size, rng) for view in (a_full, a_half, b_full, b_half)]
        else:
            crops = [random_crop(view, 2 * self.crop_size, rng) for view in (a_full, b_full)]
        return {
            name: torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))
            for name, crop in zip(self.keys, crops)
        }


class PairSampler(Sampler[PairKey]):
    """An endless, reproducible stream of PairKeys, shared out among processes.

    Epoch e visits every image once as A, in an order drawn from (seed, e); B is drawn
    uniformly among the other images. The global stream is the same for any number of
    processes: process `rank` takes samples rank, rank + world_size, ... and a run
    resumed at global sample `start` continues the stream where it stopped.
    """

    def __init__(self, num_images: int, seed: int = 0, rank: int = 0, world_size: int = 1, start: int = 0):
        if num_images < 2:
            raise ValueError(f"need at least 2 images to form pairs, got {num_images}")
        self.num_images = num_images
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start = start

    def epoch_keys(self, epoch: int) -> list[PairKey]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.num_images)
        # b = a + offset (mod n) with offset in 1..n-1: uniform among the other images.
        offsets = rng.integers(1, self.num_images, size=self.num_images)
        seeds = rng.integers(0, 2**63, size=self.num_images)
        return [PairKey(int(a), int((a + o) % self.num_images), int(s)) for a, o, s in zip(order, offsets, seeds)]

    def __iter__(self) -> Iterator[PairKey]:
        position = self.start + self.rank
        while True:
            epoch, offset = divmod(position, self.num_images)
            keys = self.epoch_keys(epoch)
            while offset < self.num_images:
                yield keys[offset]
                offset += self.world_size
            position = epoch * self.num_images + offset

"""Reading a labelled IQA dataset: label rows, then the user's image folder.

`read_labels` parses a label file alone (no images needed); `load_dataset` also
locates every image under the folder the user owns, accepting either the folder
that contains the dataset's folder (``root/KADID-10k/images/...``) or the dataset's
folder itself (``root/images/...``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..data_root import labels_dir
from .registry import DatasetSpec, get_dataset_spec

DEFAULT_LABELS_DIR = labels_dir()


@dataclass(frozen=True)
class LabelledImages:
    """N labelled images. `groups` is the reference content (the image itself where there is none)."""

    spec: DatasetSpec
    paths: tuple[str, ...]
    scores: np.ndarray
    types: np.ndarray
    groups: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class IQADataset:
    labels: LabelledImages
    #: absolute paths of the images, in label order.
    images: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.images)


def read_labels(name: str, labels_csv: str | Path | None = None) -> LabelledImages:
    spec = get_dataset_spec(name)
    path = Path(labels_csv) if labels_csv else DEFAULT_LABELS_DIR / spec.label_file
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    required = {"dis_img_path", "dis_type", "score"}
    if not rows or not required <= set(rows[0]):
        raise ValueError(f"{path}: expected columns dis_img_path, dis_type, [ref_img_path,] score")
    has_reference = "ref_img_path" in rows[0]
    return LabelledImages(
        spec=spec,
        paths=tuple(row["dis_img_path"] for row in rows),
        scores=np.array([float(row["score"]) for row in rows]),
        types=np.array([row["dis_type"] for row in rows]),
        groups=np.array([row["ref_img_path"] if has_reference else row["dis_img_path"] for row in rows]),
    )


def load_dataset(name: str, root: str | Path, labels_csv: str | Path | None = None) -> IQADataset:
    """Labels + image paths under `root`; FileNotFoundError names the first missing image."""
    labels = read_labels(name, labels_csv)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{labels.spec.title} image folder not found: {root}")
    base = _dataset_base(root, labels)
    images = tuple(base / _inside_dataset(path) for path in labels.paths)
    missing = [image for image in images if not image.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{labels.spec.title}: {len(missing)} of {len(images)} images missing under {root}; "
            f"first missing: {missing[0]}"
        )
    return IQADataset(labels, images)


def _inside_dataset(path: str) -> PurePosixPath:
    """The label path without its leading dataset folder."""
    return PurePosixPath(*PurePosixPath(path).parts[1:])


def _dataset_base(root: Path, labels: LabelledImages) -> Path:
    """The folder the label paths are relative to, once their dataset folder is dropped."""
    first = _inside_dataset(labels.paths[0])
    for base in (root / labels.spec.folder, root):
        if (base / first).is_file():
            return base
    raise FileNotFoundError(
        f"{labels.spec.title}: first image {labels.paths[0]} not found as "
        f"{root / labels.spec.folder / first} nor as {root / first}"
    )

"""Where the project's shared data lives, and which files of a folder are images.

The shared data (pristine photos under ``pristine/train`` and ``pristine/val``,
label files under ``labels/``) sits beside the checkout as ``../shared/data``;
the environment variable ``ARNIQA_SHARED_DATA`` points elsewhere. The training,
export and benchmark tools take their defaults from here. Image files are those
the runtime reads (`arniqa_edge.imageio.IMAGE_SUFFIXES`). torch-free, so light
tools import it too. The runtime does not import it: `arniqa_edge.video.demo`
reads the same variable itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from arniqa_edge.imageio import IMAGE_SUFFIXES

__all__ = [
    "CHECKOUT",
    "DATA_ENV",
    "DEFAULT_DATA_ROOT",
    "IMAGE_SUFFIXES",
    "data_root",
    "from_checkout",
    "is_image_file",
    "labels_dir",
    "labels_file",
    "list_images",
    "pristine_dir",
]

#: Environment variable naming the shared data folder.
DATA_ENV = "ARNIQA_SHARED_DATA"
#: The checkout this module runs from.
CHECKOUT = Path(os.path.abspath(__file__)).parents[1]
#: Where the shared data is when the variable is not set: ``shared/data`` beside the checkout.
DEFAULT_DATA_ROOT = CHECKOUT.parent / "shared" / "data"


def data_root() -> Path:
    """The shared data folder: ``$ARNIQA_SHARED_DATA``, else ``../shared/data`` of the checkout."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else DEFAULT_DATA_ROOT


def pristine_dir(split: str = "train") -> Path:
    """The pristine photos of a split ("train" or "val")."""
    return data_root() / "pristine" / split


def labels_dir() -> Path:
    """The label files of the shared data (IQA-Dataset's CSVs)."""
    return data_root() / "labels"


def labels_file(name: str = "KADID-10k.csv") -> Path:
    """One label file of the shared data."""
    return labels_dir() / name


def from_checkout(path: str | Path) -> str:
    """`path` as written in files that ship: relative to the checkout (``../shared/data/...``) when it
    lies beside or in it, so no machine's absolute paths end up in metadata; else as given."""
    # abspath, not resolve: ../shared may be a symbolic link to a folder elsewhere
    absolute = Path(os.path.abspath(path))
    if not absolute.is_relative_to(CHECKOUT.parent):
        return str(path)
    return os.path.relpath(absolute, CHECKOUT)


def is_image_file(path: str | Path) -> bool:
    """A file name the runtime's reader takes as an image (hidden files are not)."""
    path = Path(path)
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """The image files of a folder, sorted; with `recursive`, of its subfolders too (hidden ones skipped).

    FileNotFoundError when `folder` is not a directory; an empty list when it holds no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in candidates
        if is_image_file(path)
        and not any(part.startswith(".") for part in path.relative_to(folder).parts[:-1])
        and path.is_file()
    )

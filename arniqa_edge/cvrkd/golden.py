"""Golden frames: a directory of known-good images that the video and camera tools score frames against.

    golden = GoldenReferences.open("cvrkd-student.safetensors", "golden/", backend="auto", device="auto")
    golden.predict(frame_bgr)   # ReferencePrediction: score in [0, 1], raw_score, per_reference

The references are read and encoded once (`ReferenceScorer.prepare_references`),
then every frame is scored against the same set. Every image file of the
directory is a reference; one that cannot be read stops the setup, named, since
every score depends on all of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputImageError
from ..imageio import IMAGE_SUFFIXES, read_image

log = logging.getLogger(__name__)


def reference_images(directory: str | Path) -> list[Path]:
    """The image files of `directory`, sorted by name, each checked to decode.

    Raises InputImageError when the directory is missing, holds no image file, or
    holds image files that cannot be read (all of them named).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputImageError(
            f"reference directory {directory}: " + ("not a directory" if directory.exists() else "no such directory")
        )
    files = sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise InputImageError(
            f"reference directory {directory}: no image files in it (JPEG, PNG, WebP, BMP, "
            "TIFF, ...); put a few known-good frames of the camera there"
        )
    problems = []
    for path in files:
        try:
            read_image(path)
        except InputImageError as exc:
            problems.append(str(exc))
    if problems:
        raise InputImageError(
            f"reference directory {directory}: {len(problems)} of {len(files)} images cannot be "
            "read; fix or remove them: " + "; ".join(problems)
        )
    return files


@dataclass
class GoldenReferences:
    """A reference scorer and the references it encoded once."""

    scorer: Any  #: arniqa_edge.cvrkd.ReferenceScorer
    references: Any  #: its ReferenceSet of `paths`
    model: Path
    paths: list[Path]

    @classmethod
    def open(
        cls, model: str | Path | None, directory: str | Path, backend: str = "auto", device: str = "auto"
    ) -> GoldenReferences:
        """Check the directory's images, load the CVRKD student (.safetensors or .maps.onnx; None:
        the shipped one), encode them."""
        paths = reference_images(directory)  # before loading the model: a wrong directory fails fast
        from .scorer import ReferenceScorer

        scorer = ReferenceScorer(model, backend=backend, device=device)
        references = scorer.prepare_references([str(p) for p in paths])
        log.info("scoring against %d references in %s with %r", len(paths), directory, scorer)
        return cls(scorer, references, scorer.weights_path, paths)

    def predict(self, image: np.ndarray):
        """ReferencePrediction of one uint8 BGR frame against the golden set."""
        return self.scorer.predict(image, self.references)

    def score(self, image: np.ndarray) -> float:
        return self.predict(image).score

    def describe(self) -> dict:
        """What the reports record about the references."""
        return {"model": str(self.model), "images": [str(p) for p in self.paths]}

"""Which model files an argument names: the file itself, the forms beside it under the same stem, their source.

A model comes in several forms under one stem: an encoder as lite0.safetensors
(torch), lite0.onnx / lite0.int8.onnx (onnxruntime) and lite0.engine (TensorRT);
a CVRKD student as student.safetensors, student.{maps,score}.onnx and
student.{maps,score}.engine. The argument may be one of these files, a folder
holding one model, or the bare stem; `selection` then looks for each backend's
form beside it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsError


@dataclass(frozen=True)
class NamedModel:
    """What a model argument names."""

    given: Path
    #: the common stem of the model's forms (a path without suffix)
    stem: Path
    #: the file the argument named; None for a folder or a bare stem
    file: Path | None

    def sibling(self, suffix: str) -> Path:
        # Appended, not Path.with_suffix: a stem such as "student-v1.2" has no suffix to replace.
        return self.stem.with_name(self.stem.name + suffix)


def name_model(given: str | os.PathLike, suffixes: Iterable[str]) -> NamedModel:
    """The stem and named file of `given`, where `suffixes` are every form's file suffix (longest wins:
    "lite0.int8.onnx" is the int8 form of "lite0"). Nothing is checked to exist but a folder's content."""
    given = Path(given)
    suffixes = sorted(set(suffixes), key=len, reverse=True)
    if given.is_dir():
        return NamedModel(given, _stem_in(given, suffixes), None)
    suffix = next((s for s in suffixes if given.name.endswith(s) and len(given.name) > len(s)), None)
    if suffix is None:
        return NamedModel(given, given, None)
    return NamedModel(given, given.with_name(given.name[: -len(suffix)]), given)


def _stem_in(folder: Path, suffixes: list[str]) -> Path:
    stems = set()
    for path in folder.iterdir():
        suffix = next((s for s in suffixes if path.name.endswith(s)), None)
        if suffix and path.is_file():
            stems.add(path.name[: -len(suffix)])
    stems = sorted(stems)
    if len(stems) != 1:
        found = f"{len(stems)}: {', '.join(stems)}" if stems else "none"
        raise WeightsError(
            f"{folder}: a model folder must hold the files of exactly one model, one stem "
            f"(found {found}); name the file instead"
        )
    return folder / stems[0]


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

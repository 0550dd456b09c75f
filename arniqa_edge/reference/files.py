"""Which files a reference-model argument names: the torch weights, the ONNX graph pair, or both.

A CVRKD student comes as `<stem>.safetensors` (torch) and, once exported, as
`<stem>.maps.onnx` + `<stem>.score.onnx` (onnxruntime). The argument may be any
of these files, the folder holding one pair, or the common stem; the other form
lying beside it under the same stem is found too, for --backend auto.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsError
from .onnx_graphs import MAPS_SUFFIX, SCORE_SUFFIX

TORCH_SUFFIX = ".safetensors"
#: Model files of other kinds: named as a reference model, they are a mistake worth explaining.
FOREIGN_SUFFIXES = (".onnx", ".pth", ".pt", ".engine", ".plan")


@dataclass(frozen=True)
class ModelFiles:
    given: Path
    #: the torch weights, when named or lying beside the graphs
    safetensors: Path | None
    #: (maps, score) graphs, when named or lying beside the weights; one of them may be missing
    graphs: tuple[Path, Path] | None
    #: the form the argument named, "torch" or "onnxruntime" (for a bare stem: torch when its weights exist);
    #: the other one is a sibling, used only when it comes from the same weights
    named: str

    def has(self, backend: str) -> bool:
        return (self.safetensors if backend == "torch" else self.graphs) is not None

    def require(self, backend: str):
        """The file(s) `backend` reads: a Path for torch, a (maps, score) pair for onnxruntime."""
        if backend == "torch":
            if self.safetensors is None:
                raise WeightsError(f"backend 'torch' reads a CVRKD {TORCH_SUFFIX} file; {self.given} is none, and "
                                   "none lies beside it (or use --backend onnxruntime for the exported graphs)")
            return self.safetensors
        if self.graphs is None:
            raise WeightsError(f"backend 'onnxruntime' reads the exported graphs <stem>{MAPS_SUFFIX} and "
                               f"<stem>{SCORE_SUFFIX}; none lie beside {self.given}. Export them with "
                               f"python -m training.cvrkd.export {self.given} --out {self.given.parent}")
        for path in self.graphs:
            if not path.is_file():
                raise WeightsError(f"{path} is missing: python -m training.cvrkd.export writes both graphs of a "
                                   f"pair, <stem>{MAPS_SUFFIX} and <stem>{SCORE_SUFFIX}, and both are needed")
        return self.graphs


def resolve(weights: str | os.PathLike) -> ModelFiles:
    """The files of the CVRKD model `weights` names; WeightsError when there are none."""
    given = Path(weights)
    if given.is_dir():
        stem, named = _stem_in(given), "onnxruntime"
    elif (graph_suffix := _graph_suffix(given.name)) is not None:
        stem, named = given.with_name(given.name[:-len(graph_suffix)]), "onnxruntime"
    elif given.suffix == TORCH_SUFFIX:
        stem, named = given.with_suffix(""), "torch"
    elif given.suffix in FOREIGN_SUFFIXES:
        raise WeightsError(f"{given} is not a CVRKD model: reference scoring reads a student's {TORCH_SUFFIX} "
                           f"(python -m training.cvrkd.train) or its exported <stem>{MAPS_SUFFIX} and "
                           f"<stem>{SCORE_SUFFIX} (python -m training.cvrkd.export); no-reference encoders go to "
                           "--weights, without --reference")
    else:
        stem, named = given, None  # a common stem: whichever forms exist
    if named is not None and not given.exists():
        raise WeightsError(f"CVRKD model not found: {given}")
    safetensors = _existing(stem, TORCH_SUFFIX)
    graphs = (_with(stem, MAPS_SUFFIX), _with(stem, SCORE_SUFFIX))
    if not any(path.is_file() for path in graphs):
        graphs = None
    if safetensors is None and graphs is None:
        raise WeightsError(f"CVRKD model not found: {given} (expected a {TORCH_SUFFIX} file, a <stem>{MAPS_SUFFIX} "
                           f"+ <stem>{SCORE_SUFFIX} pair, their folder or their common stem)")
    return ModelFiles(given, safetensors, graphs, named or ("torch" if safetensors is not None else "onnxruntime"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stem_in(folder: Path) -> Path:
    maps = sorted(folder.glob("*" + MAPS_SUFFIX))
    if len(maps) != 1:
        found = f"{len(maps)}: {', '.join(p.name for p in maps)}" if maps else "none"
        raise WeightsError(f"{folder}: a reference-model folder must hold exactly one <stem>{MAPS_SUFFIX} "
                           f"(found {found}); name the file instead")
    return maps[0].with_name(maps[0].name[:-len(MAPS_SUFFIX)])


def _graph_suffix(name: str) -> str | None:
    return next((suffix for suffix in (MAPS_SUFFIX, SCORE_SUFFIX) if name.endswith(suffix)), None)


def _with(stem: Path, suffix: str) -> Path:
    # Appended, not Path.with_suffix: a stem such as "student-v1.2" has no suffix to replace.
    return stem.with_name(stem.name + suffix)


def _existing(stem: Path, suffix: str) -> Path | None:
    path = _with(stem, suffix)
    return path if path.is_file() else None

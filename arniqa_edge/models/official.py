"""Readers for the files released with the ARNIQA paper.

- `ARNIQA.pth`: state dict of the paper's ResNet wrapper: `model.<i>.*` for the
  children of torchvision's resnet50 without fc (0 conv1, 1 bn1, 4..7 layer1..4)
  and `projector.{0,2}.*`. timm's resnet50 uses torchvision's tensor names, so the
  wrapper's child indices are all that needs renaming.
- `regressor_<dataset>.pth`: a TorchScript module mapping the 4096 concatenated
  features to a score in the dataset's units. A linear one is converted to our
  numpy `LinearRegressor` (so any backend can use it); the score range and
  direction are those the release maps it with (`DatasetSpec.released_scale`).

Nothing in either file is run: the encoder is read by
`torch.load(weights_only=True)`, which rebuilds tensors only, and the regressor
by `script_archive`, which reads the tensors of the TorchScript archive with the
same kind of allow-list instead of `torch.jit.load` (that would compile and run
the code stored in the file). The regressor reader needs no torch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..datasets import DATASETS
from ..errors import WeightsError
from ..regressor import LinearRegressor
from .registry import ModelConfig
from .script_archive import ArchiveError, read_script_tensors

if TYPE_CHECKING:
    import torch

_RESNET_CHILDREN = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}


def read_official_encoder(path: Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    import torch

    if config.architecture != "resnet50":
        raise WeightsError(f"{path}: official ARNIQA weights are a ResNet-50; use --model arniqa-r50")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: cannot read as a torch state dict ({exc})") from None
    if isinstance(state, dict) and "model_state_dict" in state:  # training checkpoints of the original code
        state = state["model_state_dict"]
    if not isinstance(state, dict) or not any(k.startswith("model.") for k in state):
        raise WeightsError(f"{path}: not an ARNIQA encoder state dict (no 'model.*' tensors)")
    converted = {}
    for key, tensor in state.items():
        key = key.removeprefix("encoder.")  # SimCLR wrapper prefix in training checkpoints
        match = re.match(r"model\.(\d+)\.(.*)", key)
        if match:
            child = _RESNET_CHILDREN.get(match.group(1))
            if child is None:
                raise WeightsError(f"{path}: unexpected tensor {key!r} for a ResNet-50 without fc")
            converted[f"backbone.{child}.{match.group(2)}"] = tensor
        elif key.startswith("projector."):
            converted[key] = tensor
        else:
            raise WeightsError(f"{path}: unexpected tensor {key!r} in an ARNIQA encoder file")
    return converted


def read_official_regressor(path: str | Path, dataset: str | None = None) -> LinearRegressor:
    """Convert a released `regressor_<dataset>.pth` to a `LinearRegressor`."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"regressor file not found: {path}")
    dataset = dataset or _dataset_from_name(path)
    if dataset not in DATASETS:
        raise WeightsError(
            f"{path}: cannot tell the regressor's dataset from its name; pass one of {', '.join(DATASETS)}"
        )
    try:
        params = read_script_tensors(path)
    except ArchiveError as exc:
        raise WeightsError(f"{path}: not a TorchScript regressor ({exc})") from None
    weights = [v for k, v in params.items() if k.endswith("weight")]
    biases = [v for k, v in params.items() if k.endswith("bias")]
    if len(weights) != 1 or len(biases) > 1 or weights[0].size % 2 or weights[0].squeeze().ndim != 1:
        raise WeightsError(f"{path}: expected a single linear layer to one score, found tensors {sorted(params)}")
    weight = weights[0].reshape(-1).astype(np.float32)
    if biases and biases[0].size != 1:
        raise WeightsError(f"{path}: expected one bias for one score, found {biases[0].size} values")
    bias = float(biases[0].reshape(-1)[0]) if biases else 0.0
    if not (np.isfinite(weight).all() and np.isfinite(bias)):
        raise WeightsError(f"{path}: damaged regressor: its weights hold NaN or infinite values")
    return LinearRegressor(
        weight,
        bias,
        DATASETS[dataset].released_scale,
        {"dataset": dataset, "source": f"official ARNIQA regressor {path.name}"},
    )


def _dataset_from_name(path: Path) -> str | None:
    match = re.match(r"regressor_(\w+)\.pth$", path.name)
    return match.group(1).lower() if match else None

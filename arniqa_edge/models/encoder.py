"""Torch modules of the ARNIQA encoders (needs torch and timm).

`ARNIQAEncoder` = timm backbone without classifier (global average pooling) +
the SimCLR projector used only in training. `forward` returns the L2-normalised
pooled features, which is what the quality regressor reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError
from ..safetensors_files import read_safetensors
from .registry import ModelConfig

ENCODER_FORMAT = "arniqa_edge.encoder.v1"


class ARNIQAEncoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        import timm

        self.config = config
        self.backbone = timm.create_model(config.architecture, pretrained=False, num_classes=0)
        if self.backbone.num_features != config.feature_dim:
            raise ValueError(
                f"{config.architecture} gives {self.backbone.num_features} features, config says {config.feature_dim}"
            )
        self.projector = nn.Sequential(
            nn.Linear(config.feature_dim, config.projector_hidden_dim),
            nn.ReLU(),
            nn.Linear(config.projector_hidden_dim, config.embedding_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, feature_dim) L2-normalised features."""
        return F.normalize(self.backbone(x), dim=1)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """L2-normalised features -> L2-normalised SimCLR embeddings (training)."""
        return F.normalize(self.projector(features), dim=1)


def build_encoder(config: ModelConfig) -> ARNIQAEncoder:
    return ARNIQAEncoder(config)


def save_encoder(encoder: ARNIQAEncoder, path: str | os.PathLike, **metadata: str) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in encoder.state_dict().items()}
    meta = {"format": ENCODER_FORMAT, "model": encoder.config.name, **{k: str(v) for k, v in metadata.items()}}
    save_file(state, str(path), metadata=meta)


def load_encoder(config: ModelConfig, path: str | os.PathLike) -> ARNIQAEncoder:
    """Build the encoder of `config` and load weights: ours (.safetensors) or the official ARNIQA.pth."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"encoder weights file not found: {path}")
    encoder = build_encoder(config)
    if path.suffix == ".safetensors":
        state = _read_our_weights(path, config)
    else:
        from .official import read_official_encoder

        state = read_official_encoder(path, config)
    _check_tensors(state, encoder.state_dict(), path, config)
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    # Released weights leave out the projector: it only serves pretraining.
    missing = [key for key in missing if not key.startswith("projector.")]
    if missing or unexpected:
        raise WeightsError(
            f"{path}: does not fit {config.name} ({len(missing)} missing tensors, e.g. {missing[:3]}; "
            f"{len(unexpected)} unexpected, e.g. {unexpected[:3]})"
        )
    return encoder.eval()


def _check_tensors(
    state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path, config: ModelConfig
) -> None:
    """Refuse tensors of the wrong shape (load_state_dict would raise a bare RuntimeError) or with NaN/inf values."""
    wrong = [
        f"{key} is {tuple(tensor.shape)}, {config.name} needs {tuple(expected[key].shape)}"
        for key, tensor in state.items()
        if key in expected and tensor.shape != expected[key].shape
    ]
    if wrong:
        raise WeightsError(
            f"{path}: does not fit {config.name}: {len(wrong)} tensor(s) of the wrong shape, e.g. "
            f"{'; '.join(wrong[:2])}"
        )
    broken = [
        key for key, tensor in state.items() if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if broken:
        raise WeightsError(
            f"{path}: damaged weights: {len(broken)} tensor(s) hold NaN or infinite values, e.g. "
            f"{', '.join(broken[:3])}"
        )


def _read_our_weights(path: Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    meta, state = read_safetensors(path, "encoder weights", ENCODER_FORMAT, framework="pt")
    if meta.get("model") != config.name:
        raise WeightsError(
            f"{path}: weights of model {meta.get('model')!r}, but model {config.name!r} was asked "
            f"for (pass --model {meta.get('model')})"
        )
    return state


def weights_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Metadata of one of our weights files (which model it is for), without loading tensors."""
    return read_safetensors(path, "encoder weights", tensors=False)[0]

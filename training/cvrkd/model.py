"""Building CVRKD networks for training, and the losses that train them.

The network itself lives in the runtime package (`arniqa_edge.cvrkd.network`),
which inference loads without this module; here its frozen backbone gets its initial
weights (ImageNet, or an ARNIQA encoder file).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from arniqa_edge.cvrkd.config import CVRKDConfig
from arniqa_edge.cvrkd.network import CVRKDNet, CVRKDOutput

from ..pretraining.imagenet_init import lite0_imagenet_state_dict

#: Backbones whose ImageNet weights are available offline.
IMAGENET_BACKBONES = {"efficientnet_lite0": lite0_imagenet_state_dict}
#: Registry models whose encoder files (`arniqa_edge.models.encoder`) can seed a backbone.
ENCODER_MODELS = {"efficientnet_lite0": "arniqa-lite0"}


def build_cvrkd(config: CVRKDConfig, init: str | Path = "imagenet") -> CVRKDNet:
    """A CVRKD network whose frozen backbone comes from `init`.

    init: "imagenet"; "random" (tests); or an ARNIQA encoder `.safetensors` of the
        same architecture (e.g. our SimCLR-pretrained lite0), whose backbone is taken.
    """
    net = CVRKDNet(config)
    if init == "random":
        return net
    if init == "imagenet":
        if config.backbone not in IMAGENET_BACKBONES:
            raise ValueError(
                f"no offline ImageNet weights for backbone {config.backbone!r}; "
                f"available: {', '.join(IMAGENET_BACKBONES)}"
            )
        source = IMAGENET_BACKBONES[config.backbone]()
    else:
        source = _encoder_backbone(config, Path(init))
    body = net.backbone.body
    wanted = body.state_dict()
    # features_only keeps the stem and the blocks; the head (conv_head, bn2) is dropped.
    state = {name: tensor for name, tensor in source.items() if name in wanted}
    missing = sorted(set(wanted) - set(state))
    if missing:
        raise ValueError(f"backbone weights ({init}) lack {len(missing)} tensors, e.g. {missing[:3]}")
    body.load_state_dict(state)
    return net


def _encoder_backbone(config: CVRKDConfig, path: Path) -> dict[str, torch.Tensor]:
    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import load_encoder

    if config.backbone not in ENCODER_MODELS:
        raise ValueError(f"no encoder model has backbone {config.backbone!r}")
    return load_encoder(get_model_config(ENCODER_MODELS[config.backbone]), path).backbone.state_dict()


def score_loss(output: CVRKDOutput, target: torch.Tensor) -> torch.Tensor:
    """L1 between predicted and labelled quality (the paper's score loss)."""
    return F.l1_loss(output.score, target)


def distillation_loss(student: CVRKDOutput, teacher: CVRKDOutput, layers: int) -> torch.Tensor:
    """Sum over the last `layers` difference-encoder blocks of the MSE between student and teacher.

    The paper distils the difference encoder only: that is where the aligned reference
    gives the teacher information the student has to learn to infer.
    """
    if not 1 <= layers <= len(teacher.diff_blocks):
        raise ValueError(f"distillation layers must be in 1..{len(teacher.diff_blocks)}, got {layers}")
    pairs = zip(student.diff_blocks[-layers:], teacher.diff_blocks[-layers:])
    return sum(F.mse_loss(s, t.detach()) for s, t in pairs)

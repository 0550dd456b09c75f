"""Freezing the early stages of an encoder's backbone.

Early convolutions see edges and textures, which ImageNet weights already describe
well, and at full resolution they cost most of a backward pass: freezing them
(no gradient, BatchNorm statistics kept) roughly halves the time of a CPU training
step while the later stages learn what quality needs.
"""

from __future__ import annotations

from torch import nn


def early_stages(backbone: nn.Module, count: int) -> list[nn.Module]:
    """The stem and the first `count` block stages of a timm EfficientNet/ResNet-style backbone."""
    if count <= 0:
        return []
    if hasattr(backbone, "blocks"):  # timm EfficientNet family
        stem = [backbone.conv_stem, backbone.bn1]
        stages = list(backbone.blocks)
    elif hasattr(backbone, "layer1"):  # ResNet
        stem = [backbone.conv1, backbone.bn1]
        stages = [backbone.layer1, backbone.layer2, backbone.layer3, backbone.layer4]
    else:
        raise ValueError(f"do not know the stages of {type(backbone).__name__}")
    if count > len(stages):
        raise ValueError(f"cannot freeze {count} stages: the backbone has {len(stages)}")
    return stem + stages[:count]


def freeze_early_stages(encoder: nn.Module, count: int) -> list[nn.Module]:
    """Freeze the stem and `count` stages of `encoder.backbone`; returns the frozen modules.

    The caller keeps them in eval mode (``module.eval()`` after every ``model.train()``).
    """
    frozen = early_stages(encoder.backbone, count)
    for module in frozen:
        module.requires_grad_(False)
        module.eval()
    return frozen
